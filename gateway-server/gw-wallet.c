/* gw-wallet.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-wallet.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "gw-notify.h"
#include "gw-phone.h"
#include "gw-receipts.h"
#include "onepin-card.h"
#include "onepin-json.h"

#define CALL(txn, fn, ...) ((txn)->funcs->fn ((txn), __VA_ARGS__))
#define NOW(txn) ((txn)->funcs->now (txn))
#define WALLET(txn) ((const GwWalletStoreFuncs *) gw_txn_extension ((txn), "wallet"))

G_DEFINE_QUARK (gw-wallet-error-quark, gw_wallet_error)

void
gw_wallet_profile_clear (GwWalletProfile *profile)
{
  g_clear_pointer (&profile->name, g_free);
  g_clear_pointer (&profile->email, g_free);
  g_clear_pointer (&profile->phone, g_free);
}

/* Sealed records: the profile */

static char *
profile_aad (const char *user_id)
{
  return g_strconcat ("wallet-profile\n", user_id, NULL);
}

GBytes *
gw_wallet_profile_seal (const GwLedgerConfig   *ledger,
                        const char             *user_id,
                        const GwWalletProfile  *profile,
                        GError                **error)
{
  g_autoptr(GString) json = g_string_new ("{");
  g_autofree char *aad = profile_aad (user_id);
  GBytes *sealed;

  g_string_append (json, "\"name\":");
  onepin_json_append_string (json, profile->name);
  g_string_append (json, ",\"email\":");
  onepin_json_append_string (json, profile->email);
  if (profile->phone != NULL)
    {
      g_string_append (json, ",\"phone\":");
      onepin_json_append_string (json, profile->phone);
    }
  g_string_append_c (json, '}');
  sealed = onepin_key_seal (ledger->seal_key, json->str, json->len, aad, strlen (aad), error);
  explicit_bzero (json->str, json->len);
  return sealed;
}

gboolean
gw_wallet_profile_open (const GwLedgerConfig  *ledger,
                        const char            *user_id,
                        GBytes                *sealed,
                        GwWalletProfile       *out,
                        GError               **error)
{
  g_autofree char *aad = profile_aad (user_id);
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(JsonObject) object = NULL;
  gsize len = 0;
  const char *data;

  memset (out, 0, sizeof *out);
  if (sealed == NULL)
    return g_set_error_literal (error, GW_WALLET_ERROR, GW_WALLET_ERROR_CORRUPT,
                                "No profile"), FALSE;
  plain = onepin_key_open (ledger->seal_key, g_bytes_get_data (sealed, NULL),
                           g_bytes_get_size (sealed), aad, strlen (aad), error);
  if (plain == NULL)
    return FALSE;
  data = g_bytes_get_data (plain, &len);
  object = onepin_json_parse_object (data, len, NULL);
  if (object == NULL)
    return g_set_error_literal (error, GW_WALLET_ERROR, GW_WALLET_ERROR_CORRUPT,
                                "Unreadable profile"), FALSE;
  out->name = g_strdup (onepin_json_get_string (object, "name", ""));
  out->email = g_strdup (onepin_json_get_string (object, "email", ""));
  out->phone = g_strdup (onepin_json_get_string (object, "phone", NULL));
  return TRUE;
}

/* Secrets */

gboolean
gw_wallet_hash_password (const GwWalletConfig  *config,
                         const char            *password,
                         const guint8          *salt,
                         guint                  iterations,
                         guint8                 out[32],
                         GError               **error)
{
  static const char domain[] = "wallet-login\n";
  guint8 input[sizeof domain - 1 + 32];

  /* The slow hash makes guessing costly; the MAC on top, under a key that
   * lives in the key file, makes a stolen database alone useless. */
  memcpy (input, domain, sizeof domain - 1);
  if (!onepin_crypto_pbkdf2_sha256 (password, salt, GW_WALLET_SALT_LEN, iterations,
                                    input + sizeof domain - 1, 32, error))
    return FALSE;
  onepin_key_hmac (config->ledger->password_key, input, sizeof input, out);
  explicit_bzero (input, sizeof input);
  return TRUE;
}

void
gw_wallet_cvc_mac (const GwLedgerConfig *ledger,
                   const char           *number,
                   const char           *cvc,
                   guint8                out[32])
{
  g_autofree char *input = g_strconcat ("cvc\n", number, "\n", cvc, NULL);

  onepin_key_hmac (ledger->password_key, input, strlen (input), out);
  explicit_bzero (input, strlen (input));
}

/* An account number is its bank's: the same digits at two banks are two
 * accounts. Both are digits only, so no two inputs run together. */
void
gw_wallet_funding_fingerprint (OnepinKey   *lookup_key,
                               const char  *type,
                               const char  *number,
                               const char  *bank_code,
                               guint8       out[32])
{
  g_autofree char *input = NULL;

  if (g_str_equal (type, "bank_account"))
    input = g_strconcat ("funding\n", type, "\n", bank_code, "\n", number, NULL);
  else
    input = g_strconcat ("funding\n", type, "\n", number, NULL);
  onepin_key_hmac (lookup_key, input, strlen (input), out);
  explicit_bzero (input, strlen (input));
}

/* The funding source's id and its user's: details moved to another source
 * do not open. */
static char *
funding_aad (const char *id,
             const char *user_id)
{
  return g_strconcat ("wallet-funding\n", id, "\n", user_id, NULL);
}

GBytes *
gw_wallet_funding_seal (OnepinKey   *seal_key,
                        const char  *id,
                        const char  *user_id,
                        const char  *json,
                        gsize        len,
                        GError     **error)
{
  g_autofree char *aad = funding_aad (id, user_id);

  return onepin_key_seal (seal_key, json, len, aad, strlen (aad), error);
}

GwFundingDetails *
gw_wallet_funding_open (OnepinKey   *seal_key,
                        const char  *id,
                        const char  *user_id,
                        GBytes      *sealed,
                        GError     **error)
{
  g_autofree char *aad = funding_aad (id, user_id);
  g_autoptr(GBytes) plain = NULL;
  JsonObject *details;
  gsize len = 0;
  const char *data;

  if (sealed == NULL)
    return g_set_error_literal (error, GW_WALLET_ERROR, GW_WALLET_ERROR_CORRUPT,
                                "The funding source was removed"), NULL;
  plain = onepin_key_open (seal_key, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed),
                           aad, strlen (aad), error);
  if (plain == NULL)
    return NULL;
  data = g_bytes_get_data (plain, &len);
  details = onepin_json_parse_object (data, len, error);
  explicit_bzero ((gpointer) data, len);       /* our own copy: the parsed object has its own */
  return details;
}

void
gw_wallet_funding_details_free (GwFundingDetails *details)
{
  if (details == NULL)
    return;
  onepin_json_object_wipe (details);
  json_object_unref (details);
}

gboolean
gw_wallet_funding_fingerprint_sealed (OnepinKey   *seal_key,
                                      OnepinKey   *lookup_key,
                                      const char  *id,
                                      const char  *user_id,
                                      const char  *type,
                                      GBytes      *sealed,
                                      guint8       out[32],
                                      GError     **error)
{
  g_autoptr(GwFundingDetails) details = gw_wallet_funding_open (seal_key, id, user_id, sealed,
                                                                error);

  if (details == NULL)
    return FALSE;
  gw_wallet_funding_fingerprint (lookup_key, type, onepin_json_get_string (details, "number", ""),
                                 onepin_json_get_string (details, "bank_code", ""), out);
  return TRUE;
}

gboolean
gw_wallet_is_onepin_number (const GwWalletConfig *config,
                            const char           *number)
{
  gsize len = strlen (config->bin_low);

  if (config->card_bin[0] != '\0' && g_str_has_prefix (number, config->card_bin))
    return TRUE;
  /* Prefixes of one length compare like numbers. */
  return len > 0 && strlen (number) >= len && strncmp (number, config->bin_low, len) >= 0 &&
         strncmp (number, config->bin_high, len) <= 0;
}

void
gw_wallet_login_hash (const GwWalletConfig *config,
                      const char           *login_id,
                      guint8                out[32])
{
  g_autofree char *input = g_strconcat ("wallet-login-id\n", login_id, NULL);

  onepin_key_hmac (config->ledger->lookup_key, input, strlen (input), out);
}

/* An insert refused for a taken unique key is the outcome @taken, not an error. */
static gboolean
taken_is_result (GError          *local,
                 GwWalletResult   taken,
                 GwWalletResult  *result,
                 GError         **error)
{
  if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_DUPLICATE))
    return g_propagate_error (error, local), FALSE;
  g_error_free (local);
  *result = taken;
  return TRUE;
}

/* Accounts and sessions */

gboolean
gw_wallet_register (GwTxn                 *txn,
                    const GwWalletConfig  *config,
                    const GwWalletUser    *user,
                    GwWalletResult        *result,
                    GError               **error)
{
  GError *local = NULL;

  *result = GW_WALLET_OK;
  if (WALLET (txn)->user_insert (txn, user, &local))
    return TRUE;
  return taken_is_result (local, GW_WALLET_LOGIN_TAKEN, result, error);
}

/* The attempts counted for a login. A lock that has run out is forgotten,
 * and so are failures a lockout's length old. */
static gboolean
read_attempts (GwTxn                 *txn,
               const GwWalletConfig  *config,
               const guint8           login_hash[32],
               GwWalletAttempts      *out,
               GError               **error)
{
  gint64 lockout = config->ledger->lockout_seconds;
  GError *local = NULL;

  memset (out, 0, sizeof *out);
  if (!WALLET (txn)->attempts_get (txn, login_hash, out, &local))
    return local == NULL || (g_propagate_error (error, local), FALSE);
  if (out->locked_until != 0 ? out->locked_until <= NOW (txn)
                             : out->updated + lockout <= NOW (txn))
    memset (out, 0, sizeof *out);
  return TRUE;
}

static gboolean
lock_login (GwTxn                 *txn,
            const GwWalletConfig  *config,
            const guint8           login_hash[32],
            GError               **error)
{
  GwWalletAttempts locked = {
    .failures = 0,
    .locked_until = NOW (txn) + config->ledger->lockout_seconds,
    .updated = NOW (txn),
  };

  return WALLET (txn)->attempts_put (txn, login_hash, &locked, error);
}

gboolean
gw_wallet_attempt_begin (GwTxn                 *txn,
                         const GwWalletConfig  *config,
                         const guint8           login_hash[32],
                         gboolean              *locked,
                         GError               **error)
{
  GwWalletAttempts attempts;

  *locked = FALSE;
  if (!WALLET (txn)->attempts_prune (txn, NOW (txn) - config->ledger->lockout_seconds,
                                     NOW (txn), error) ||
      !read_attempts (txn, config, login_hash, &attempts, error))
    return FALSE;
  if (attempts.locked_until > NOW (txn))
    return *locked = TRUE, TRUE;
  /* The limit's worth of guesses are being checked or failed: one more
   * would be one too many. */
  if (attempts.failures >= GW_LOCKOUT_FAILURES)
    return *locked = TRUE, lock_login (txn, config, login_hash, error);

  return WALLET (txn)->attempts_count (txn, login_hash, NOW (txn),
                                      config->ledger->lockout_seconds, GW_LOCKOUT_FAILURES,
                                      error);
}

gboolean
gw_wallet_login_locked (GwTxn                 *txn,
                        const GwWalletConfig  *config,
                        const guint8           login_hash[32],
                        gboolean              *locked,
                        GError               **error)
{
  GwWalletAttempts attempts;

  if (!read_attempts (txn, config, login_hash, &attempts, error))
    return FALSE;
  *locked = attempts.locked_until > NOW (txn);
  return TRUE;
}

gboolean
gw_wallet_attempt_failed (GwTxn                 *txn,
                          const GwWalletConfig  *config,
                          const guint8           login_hash[32],
                          GError               **error)
{
  GwWalletAttempts attempts;

  if (!read_attempts (txn, config, login_hash, &attempts, error))
    return FALSE;
  if (attempts.locked_until > NOW (txn))
    return TRUE;      /* a locked login counts nothing further */
  if (attempts.failures >= GW_LOCKOUT_FAILURES)
    return lock_login (txn, config, login_hash, error);
  /* Counted when it began, unless a success since cleared the count. */
  if (attempts.failures > 0)
    return TRUE;
  return WALLET (txn)->attempts_count (txn, login_hash, NOW (txn),
                                      config->ledger->lockout_seconds, 1, error);
}

/* Re-reads the user on the writer: the password was checked off it, and
 * the login may have been locked or its password changed since. */
static gboolean
recheck_user (GwTxn                *txn,
              const GwWalletConfig *config,
              const char           *user_id,
              const guint8          verified_hash[32],
              GwWalletUser         *user,
              GwWalletResult       *result,
              GError              **error)
{
  GwWalletAttempts attempts;
  guint8 login_hash[32];
  GError *local = NULL;

  *result = GW_WALLET_OK;
  if (!WALLET (txn)->user_by_id (txn, user_id, user, &local))
    {
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      *result = GW_WALLET_INVALID_LOGIN;
      return TRUE;
    }
  gw_wallet_login_hash (config, user->login_id, login_hash);
  if (!read_attempts (txn, config, login_hash, &attempts, error))
    return FALSE;
  if (attempts.locked_until > NOW (txn))
    *result = GW_WALLET_LOGIN_LOCKED;
  else if (!onepin_crypto_equal (user->hash, verified_hash, 32))
    *result = GW_WALLET_INVALID_LOGIN;
  /* The right password: the count starts again. */
  else if (attempts.failures > 0)
    return WALLET (txn)->attempts_clear (txn, login_hash, error);
  return TRUE;
}

/* The same for a signed-in user's password, given again to change
 * something: a wrong one is GW_WALLET_PASSWORD_INCORRECT. */
static gboolean
recheck_password (GwTxn                *txn,
                  const GwWalletConfig *config,
                  const char           *user_id,
                  const guint8          verified_hash[32],
                  GwWalletUser         *user,
                  GwWalletResult       *result,
                  GError              **error)
{
  if (!recheck_user (txn, config, user_id, verified_hash, user, result, error))
    return FALSE;
  if (*result == GW_WALLET_INVALID_LOGIN)
    *result = GW_WALLET_PASSWORD_INCORRECT;
  return TRUE;
}

gboolean
gw_wallet_open_session (GwTxn                 *txn,
                        const GwWalletConfig  *config,
                        const char            *user_id,
                        const guint8           verified_hash[32],
                        const guint8           token_hash[32],
                        GwWalletSession       *session,
                        GwWalletResult        *result,
                        GError               **error)
{
  g_autofree char *id = onepin_crypto_random_token ("wss_", 12);
  GwWalletUser user = { 0 };

  if (!recheck_user (txn, config, user_id, verified_hash, &user, result, error))
    return FALSE;
  gw_wallet_user_clear (&user);
  if (*result != GW_WALLET_OK)
    return TRUE;

  memset (session, 0, sizeof *session);
  g_strlcpy (session->id, id, sizeof session->id);
  g_strlcpy (session->user_id, user_id, sizeof session->user_id);
  session->created = NOW (txn);
  session->expires_at = session->created + config->session_lifetime;
  return WALLET (txn)->session_insert (txn, session, token_hash, error);
}

gboolean
gw_wallet_close_session (GwTxn       *txn,
                         const char  *session_id,
                         GError     **error)
{
  return WALLET (txn)->session_revoke (txn, session_id, NOW (txn), error);
}

gboolean
gw_wallet_change_password (GwTxn                 *txn,
                           const GwWalletConfig  *config,
                           const char            *user_id,
                           const char            *session_id,
                           const guint8           verified_hash[32],
                           const guint8          *new_salt,
                           const guint8           new_hash[32],
                           GwWalletResult        *result,
                           GError               **error)
{
  g_auto(GwWalletUser) user = { 0 };

  if (!recheck_password (txn, config, user_id, verified_hash, &user, result, error))
    return FALSE;
  if (*result != GW_WALLET_OK)
    return TRUE;

  /* The login's password is what registers the card's calling numbers
   * (POST /v1/wallet/card/calling_numbers): whoever knew the old one keeps
   * no line, as no session. */
  return WALLET (txn)->user_set_password (txn, user_id, new_salt, new_hash,
                                          config->pbkdf2_iterations, error) &&
         WALLET (txn)->sessions_revoke_others (txn, user_id, session_id, NOW (txn), error) >= 0 &&
         (user.card_id[0] == '\0' || gw_phone_forget_calling_numbers (txn, user.card_id, error));
}

/* The card of @user in @card; GW_WALLET_CARD_NOT_ISSUED in @result if
 * there is none. */
static gboolean
card_of (GwTxn              *txn,
         const GwWalletUser *user,
         GwCard             *card,
         GwWalletResult     *result,
         GError            **error)
{
  GError *local = NULL;

  *result = GW_WALLET_OK;
  if (user->card_id[0] != '\0' && CALL (txn, card_by_id, user->card_id, card, &local))
    return TRUE;
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  *result = GW_WALLET_CARD_NOT_ISSUED;
  return TRUE;
}

/* The same, GW_WALLET_CARD_NOT_USABLE when it is closed or expired. */
static gboolean
usable_card_of (GwTxn              *txn,
                const GwWalletUser *user,
                GwCard             *card,
                GwWalletResult     *result,
                GError            **error)
{
  if (!card_of (txn, user, card, result, error))
    return FALSE;
  if (*result == GW_WALLET_OK &&
      (g_str_equal (card->state, "closed") || card->expires_at <= NOW (txn)))
    *result = GW_WALLET_CARD_NOT_USABLE;
  return TRUE;
}

gboolean
gw_wallet_user_card (GwTxn           *txn,
                     const char      *user_id,
                     GwCard          *card,
                     GwWalletResult  *result,
                     GError         **error)
{
  g_auto(GwWalletUser) user = { 0 };
  GError *local = NULL;

  if (!WALLET (txn)->user_by_id (txn, user_id, &user, &local))
    {
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      return *result = GW_WALLET_NOT_FOUND, TRUE;
    }
  return card_of (txn, &user, card, result, error);
}

gboolean
gw_wallet_verified_card (GwTxn                *txn,
                         const GwWalletConfig *config,
                         const char           *user_id,
                         const guint8          verified_hash[32],
                         GwCard               *card,
                         GwWalletResult       *result,
                         GError              **error)
{
  g_auto(GwWalletUser) user = { 0 };

  if (!recheck_password (txn, config, user_id, verified_hash, &user, result, error))
    return FALSE;
  if (*result != GW_WALLET_OK)
    return TRUE;
  return usable_card_of (txn, &user, card, result, error);
}

/* The card's number and password are all a mall needs to charge it, and
 * every mall it paid at has seen them; so only its owner, signed in with
 * the login's password, changes its password (POST /v1/cards/password
 * refuses a wallet's card). Calling numbers registered before go with the
 * old password, as for any card. */
gboolean
gw_wallet_change_card_password (GwTxn                *txn,
                                const GwWalletConfig *config,
                                const char           *user_id,
                                const guint8          verified_hash[32],
                                const char           *new_password,
                                GwCard               *card,
                                GwWalletResult       *result,
                                GError              **error)
{
  if (!gw_wallet_verified_card (txn, config, user_id, verified_hash, card, result, error))
    return FALSE;
  if (*result != GW_WALLET_OK)
    return TRUE;
  return gw_ledger_reset_password (txn, config->ledger, card, new_password, error) &&
         gw_phone_forget_calling_numbers (txn, card->id, error);
}

/* The card's receipt contact, from a sealed profile. */
static gboolean
sync_receipts_sealed (GwTxn                *txn,
                      const GwLedgerConfig *ledger,
                      const GwWalletUser   *user,
                      GError              **error)
{
  GwWalletProfile profile;
  gboolean ok;

  if (!gw_wallet_profile_open (ledger, user->id, user->profile_sealed, &profile, error))
    return FALSE;
  ok = gw_wallet_sync_receipts (txn, ledger, user, &profile, error);
  gw_wallet_profile_clear (&profile);
  return ok;
}

/* The representative card */

/* A prefix drawn at random from the BIN range; the rest of the number is
 * drawn by onepin_card_number_generate (). */
static gboolean
draw_bin (const GwWalletConfig  *config,
          char                   out[11],
          GError               **error)
{
  guint64 low = g_ascii_strtoull (config->bin_low, NULL, 10);
  guint64 high = g_ascii_strtoull (config->bin_high, NULL, 10);
  guint64 random;

  if (!onepin_crypto_random ((guint8 *) &random, sizeof random, error))
    return FALSE;
  /* The range holds at most 10^10 prefixes: the modulo's bias is below 10^-9. */
  g_snprintf (out, 11, "%0*" G_GUINT64_FORMAT, (int) strlen (config->bin_low),
              low + random % (high - low + 1));
  return TRUE;
}

static gboolean
draw_cvc (char     cvc[4],
          GError **error)
{
  guint16 random;

  do
    if (!onepin_crypto_random ((guint8 *) &random, sizeof random, error))
      return FALSE;
  while (random >= 65000);      /* 65 × 1000: no bias */
  g_snprintf (cvc, 4, "%03u", random % 1000);
  return TRUE;
}

/* Valid through the end of the month, @years from now (UTC), as cards print
 * it: the card expires at the first second of the next month. */
static gint64
month_end_expiry (gint64  now,
                  gint    years)
{
  g_autoptr(GDateTime) start = g_date_time_new_from_unix_utc (now);
  g_autoptr(GDateTime) month = NULL;
  g_autoptr(GDateTime) next = NULL;

  month = g_date_time_new_utc (g_date_time_get_year (start) + years,
                               g_date_time_get_month (start), 1, 0, 0, 0);
  next = month ? g_date_time_add_months (month, 1) : NULL;
  return next ? g_date_time_to_unix (next) : now;
}

gboolean
gw_wallet_issue_card (GwTxn                 *txn,
                      const GwWalletConfig  *config,
                      const char            *user_id,
                      const char            *password,
                      GwIssuedCard          *issued,
                      char                   cvc[4],
                      GwCard                *card,
                      GwWalletResult        *result,
                      GError               **error)
{
  g_auto(GwWalletUser) user = { 0 };
  char bin[11];
  guint8 mac[32];
  GwIssueRequest request = {
    .bin = bin, .currency = "krw", .channel = "wallet", .password = password,
    .expires_at = month_end_expiry (NOW (txn), config->ledger->validity_years),
  };
  gboolean found;

  *result = GW_WALLET_OK;
  found = WALLET (txn)->user_by_id (txn, user_id, &user, error);
  if (!found)
    return error != NULL && *error != NULL ? FALSE : (*result = GW_WALLET_NOT_FOUND, TRUE);
  if (user.card_id[0] != '\0')
    return *result = GW_WALLET_CARD_ALREADY_ISSUED, TRUE;

  if (!draw_bin (config, bin, error) || !draw_cvc (cvc, error) ||
      !gw_ledger_issue_card (txn, config->ledger, &request, issued, error))
    return FALSE;
  gw_wallet_cvc_mac (config->ledger, issued->number, cvc, mac);
  if (!WALLET (txn)->user_set_card (txn, user_id, issued->id, mac, error) ||
      !CALL (txn, card_by_id, issued->id, card, error))
    return FALSE;
  g_strlcpy (user.card_id, issued->id, sizeof user.card_id);
  return sync_receipts_sealed (txn, config->ledger, &user, error);
}

/* Funding sources */

gboolean
gw_wallet_add_funding (GwTxn                  *txn,
                       const GwWalletConfig   *config,
                       const GwFundingSource  *source,
                       GwWalletResult         *result,
                       GError                **error)
{
  g_autoptr(GPtrArray) live = WALLET (txn)->funding_list (txn, source->user_id, error);
  GError *local = NULL;

  *result = GW_WALLET_OK;
  if (live == NULL)
    return FALSE;
  if (live->len >= GW_WALLET_MAX_FUNDING_SOURCES)
    return *result = GW_WALLET_FUNDING_LIMIT, TRUE;
  if (WALLET (txn)->funding_insert (txn, source, &local))
    return TRUE;
  return taken_is_result (local, GW_WALLET_FUNDING_EXISTS, result, error);
}

gboolean
gw_wallet_remove_funding (GwTxn           *txn,
                          const char      *user_id,
                          const char      *source_id,
                          GwWalletResult  *result,
                          GError         **error)
{
  GwFundingSource source;
  GError *local = NULL;
  gboolean mine;
  gint64 pending;

  *result = GW_WALLET_OK;
  if (!WALLET (txn)->funding_get (txn, source_id, &source, &local))
    {
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      return *result = GW_WALLET_NOT_FOUND, TRUE;
    }
  mine = g_str_equal (source.user_id, user_id) && source.removed_at == 0;
  gw_funding_source_clear (&source);
  if (!mine)
    return *result = GW_WALLET_NOT_FOUND, TRUE;
  /* The user would see the source gone and still have money taken from
   * it: it goes once the financial system has answered. */
  pending = WALLET (txn)->charges_pending_from (txn, source_id, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  if (pending > 0)
    return *result = GW_WALLET_CHARGE_IN_PROGRESS, TRUE;
  return WALLET (txn)->funding_remove (txn, source_id, NOW (txn), error);
}

/* Charges */

gboolean
gw_wallet_check_charge (GwTxn               *txn,
                        const GwWalletUser  *user,
                        gint64               amount,
                        GwCard              *card,
                        GwWalletResult      *result,
                        GError             **error)
{
  if (!usable_card_of (txn, user, card, result, error))
    return FALSE;
  if (*result == GW_WALLET_OK && card->balance + amount > GW_CARD_BALANCE_CAP)
    *result = GW_WALLET_BALANCE_LIMIT;     /* the database would refuse it too */
  return TRUE;
}

/* Queues @template with @data for @user on their receipt channel, if any. */
static gboolean
notify_user (GwTxn                *txn,
             const GwLedgerConfig *ledger,
             const GwWalletUser   *user,
             const char           *template,
             const char           *data,
             const char           *ref,
             GError              **error)
{
  GwWalletProfile profile;
  GwNotification notification = {
    .locale = user->locale, .template = template, .data = data, .ref = ref,
  };
  gboolean ok;

  if (g_str_equal (user->receipt_channel, "none"))
    return TRUE;
  if (!gw_wallet_profile_open (ledger, user->id, user->profile_sealed, &profile, error))
    return FALSE;
  notification.channel = g_str_equal (user->receipt_channel, "sms") ? GW_NOTIFY_SMS
                                                                    : GW_NOTIFY_EMAIL;
  notification.to = notification.channel == GW_NOTIFY_SMS ? profile.phone : profile.email;
  ok = notification.to == NULL || gw_notify_enqueue (txn, &notification, error);
  gw_wallet_profile_clear (&profile);
  return ok;
}

gboolean
gw_wallet_credit_charge (GwTxn                 *txn,
                         const GwWalletConfig  *config,
                         const GwWalletCharge  *charge,
                         gint64                *balance_after,
                         GwWalletResult        *result,
                         GError               **error)
{
  GwCard card;
  GwWalletUser user = { 0 };
  GwLine lines[2] = {
    { .account_id = GW_ACCOUNT_ISSUER_FUNDING, .debit = charge->amount },
    { .credit = charge->amount },
  };
  GwEntry entry = {
    .kind = "recharge", .channel = "wallet", .ref = charge->id, .created = NOW (txn),
    .lines = lines, .n_lines = 2,
  };
  g_autoptr(GString) data = g_string_new ("{");
  GError *local = NULL;
  gboolean ok;

  *result = GW_WALLET_OK;
  if (!CALL (txn, card_by_id, charge->card_id, &card, error) ||
      !WALLET (txn)->user_by_id (txn, charge->user_id, &user, error))
    return error != NULL && *error != NULL ? FALSE : (*result = GW_WALLET_NOT_FOUND, TRUE);
  lines[1].account_id = card.account_id;

  if (!CALL (txn, entry_post, &entry, &local))
    {
      gw_wallet_user_clear (&user);
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_LIMIT))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
      return *result = GW_WALLET_BALANCE_LIMIT, TRUE;
    }

  *balance_after = card.balance + charge->amount;
  g_string_append_printf (data, "\"card_last4\":\"%s\",\"amount\":%" G_GINT64_FORMAT
                          ",\"balance_after\":%" G_GINT64_FORMAT ",\"currency\":\"%s\""
                          ",\"expires_at\":%" G_GINT64_FORMAT ",\"created\":%" G_GINT64_FORMAT "}",
                          card.last4, charge->amount, *balance_after, card.currency,
                          card.expires_at, NOW (txn));
  ok = notify_user (txn, config->ledger, &user, "recharge", data->str, charge->id, error);
  gw_wallet_user_clear (&user);
  return ok;
}

/* Receipts */

gboolean
gw_wallet_sync_receipts (GwTxn                 *txn,
                         const GwLedgerConfig  *ledger,
                         const GwWalletUser    *user,
                         const GwWalletProfile *profile,
                         GError               **error)
{
  /* Only the address the channel needs: the name stays in the wallet. */
  GwCardProfile contact = {
    .exists = TRUE,
    .email = profile->email,
    .phone = profile->phone,
  };

  if (user->card_id[0] == '\0')
    return TRUE;
  g_strlcpy (contact.receipts, user->receipt_channel, sizeof contact.receipts);
  g_strlcpy (contact.locale, user->locale, sizeof contact.locale);
  return gw_card_profile_put (txn, ledger->seal_key, user->card_id, &contact, error);
}

gboolean
gw_wallet_owns_card (GwTxn       *txn,
                     const char  *card_id,
                     gboolean    *owned,
                     GError     **error)
{
  GwWalletUser user = { 0 };
  GError *local = NULL;

  *owned = WALLET (txn)->user_by_card (txn, card_id, &user, &local);
  gw_wallet_user_clear (&user);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}
