/* gw-ledger.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-ledger.h"

#include <string.h>

#include "gw-receipts.h"
#include "onepin-card.h"

#define CALL(txn, fn, ...) ((txn)->funcs->fn ((txn), __VA_ARGS__))
#define NOW(txn) ((txn)->funcs->now (txn))

const char *
gw_decline_to_string (GwDecline decline)
{
  switch (decline)
    {
    case GW_DECLINE_INVALID_CREDENTIALS: return "invalid_credentials";
    case GW_DECLINE_CARD_LOCKED:         return "card_locked";
    case GW_DECLINE_CARD_NOT_ACTIVE:     return "card_not_active";
    case GW_DECLINE_EXPIRED_CARD:        return "expired_card";
    case GW_DECLINE_INSUFFICIENT_FUNDS:  return "insufficient_funds";
    case GW_DECLINE_CURRENCY_MISMATCH:   return "currency_mismatch";
    case GW_DECLINE_BALANCE_LIMIT:       return "balance_limit";
    case GW_DECLINE_NONE:
    default:                             return "none";
    }
}

/* Locked and expired are not stored states: they follow from the clock. */
const char *
gw_card_display_state (const GwCard *card,
                       gint64        now)
{
  if (g_str_equal (card->state, "closed") || g_str_equal (card->state, "sold"))
    return card->state;
  if (card->locked_until > now)
    return "locked";
  if (card->expires_at <= now)
    return "expired";
  return card->state;
}

/* Ids that sort by creation time: 48 bits of microseconds, then 48 random
 * bits. New rows land at the right edge of the id index instead of on a
 * random page, which keeps each commit's dirty pages few. */
static char *
sortable_id (const char *prefix)
{
  g_autofree char *random = onepin_crypto_random_token ("", 6);
  guint64 now = (guint64) g_get_real_time () & G_GUINT64_CONSTANT (0xffffffffffff);

  return g_strdup_printf ("%s%012" G_GINT64_MODIFIER "x%s", prefix, now, random);
}

static void
decline (GwOutcome *outcome,
         GwDecline  reason)
{
  outcome->code = GW_RESULT_DECLINED;
  outcome->decline = reason;
  outcome->credential_failure = reason == GW_DECLINE_INVALID_CREDENTIALS;
}

void
gw_ledger_password_mac (const GwLedgerConfig *config,
                        const guint8          lookup[32],
                        const char           *password,
                        guint8                out[32])
{
  g_autoptr(GByteArray) input = g_byte_array_sized_new (32 + 65);

  /* Bound to the card through its lookup hash, so equal passwords on two
   * cards give unrelated MACs. */
  g_byte_array_append (input, lookup, 32);
  g_byte_array_append (input, (const guint8 *) password, strlen (password));
  onepin_key_hmac (config->password_key, input->data, input->len, out);
}

void
gw_ledger_credentials (const GwLedgerConfig *config,
                       const char           *number,
                       const char           *password,
                       GwCredentials        *out)
{
  memset (out, 0, sizeof *out);
  out->well_formed = onepin_card_number_is_valid (number);
  /* A malformed number costs the same hashing as a real one, so that its
   * refusal takes as long (it is then refused by the writer, like an
   * unknown number). */
  if (!out->well_formed)
    number = "0000000000000000";
  onepin_key_hmac (config->lookup_key, number, ONEPIN_CARD_NUMBER_LEN, out->lookup);
  if (password != NULL)
    gw_ledger_password_mac (config, out->lookup, password, out->password_mac);
}

static gboolean
find_card (GwTxn               *txn,
           const GwCredentials *credentials,
           GwCard              *card,
           GwOutcome           *outcome,
           GError             **error)
{
  GError *local = NULL;

  memset (outcome, 0, sizeof *outcome);
  if (credentials->well_formed && CALL (txn, card_by_lookup, credentials->lookup, card, &local))
    return TRUE;
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  decline (outcome, GW_DECLINE_INVALID_CREDENTIALS);
  return TRUE;
}

/* A wrong password: the fifth in a row locks the card for lockout_seconds.
 * The database counts them (failures + 1) and decides the lock, so that
 * guesses in two processes at once cannot both start from the same count. */
static gboolean
card_failed (GwTxn                *txn,
             const GwLedgerConfig *config,
             GwCard               *card,
             GError              **error)
{
  return CALL (txn, card_auth_failed, card->id, GW_LOCKOUT_FAILURES,
               NOW (txn) + config->lockout_seconds, error);
}

/* The right one: the count starts again. */
static gboolean
card_passed (GwTxn   *txn,
             GwCard  *card,
             GError **error)
{
  /* A count read as clean is left alone: at worst that keeps a failure
   * another process just counted, never loses one. */
  if (card->failures == 0 && card->locked_until == 0)
    return TRUE;
  card->failures = 0;
  card->locked_until = 0;
  return CALL (txn, card_auth_reset, card->id, error);
}

/* Checks the password of a found card, keeping count of consecutive
 * failures: the fifth locks the card. */
static gboolean
check_password (GwTxn                *txn,
                const GwLedgerConfig *config,
                const GwCredentials  *credentials,
                GwCard               *card,
                GwOutcome            *outcome,
                GError              **error)
{
  gint64 now = NOW (txn);

  if (card->locked_until > now)
    return decline (outcome, GW_DECLINE_CARD_LOCKED), TRUE;
  if (!card->has_password)
    return decline (outcome, GW_DECLINE_CARD_NOT_ACTIVE), TRUE;

  if (!onepin_crypto_equal (card->password_mac, credentials->password_mac, 32))
    {
      decline (outcome, GW_DECLINE_INVALID_CREDENTIALS);
      return card_failed (txn, config, card, error);
    }
  return card_passed (txn, card, error);
}

gboolean
gw_ledger_card_locked (GwTxn               *txn,
                       const GwCredentials *credentials,
                       gboolean            *locked,
                       GError             **error)
{
  GwCard card;
  GwOutcome outcome;

  *locked = FALSE;
  if (!find_card (txn, credentials, &card, &outcome, error))
    return FALSE;
  *locked = outcome.code == GW_RESULT_OK && card.locked_until > NOW (txn);
  return TRUE;
}

void
gw_ledger_line_id (const GwLedgerConfig *config,
                   gint64                account_id,
                   gint64                line_id,
                   char                  out[GW_LINE_ID_LEN + 1])
{
  guint64 plain[2] = { GUINT64_TO_BE (line_id), GUINT64_TO_BE (account_id) };
  guint8 block[16];

  if (!onepin_key_encrypt_block (config->ids_key, (const guint8 *) plain, block))
    g_error ("AES failed on a statement line id");
  memcpy (out, "ln_", 3);
  for (guint i = 0; i < 16; i++)
    g_snprintf (out + 3 + 2 * i, 3, "%02x", block[i]);
}

gboolean
gw_ledger_line_id_parse (const GwLedgerConfig *config,
                         const char           *text,
                         gint64               *account_id,
                         gint64               *line_id)
{
  guint8 block[16];
  guint64 plain[2];

  if (strlen (text) != GW_LINE_ID_LEN || !g_str_has_prefix (text, "ln_"))
    return FALSE;
  for (guint i = 0; i < 16; i++)
    {
      int hi = g_ascii_xdigit_value (text[3 + 2 * i]);
      int lo = g_ascii_xdigit_value (text[4 + 2 * i]);

      if (hi < 0 || lo < 0 || g_ascii_isupper (text[3 + 2 * i]) || g_ascii_isupper (text[4 + 2 * i]))
        return FALSE;
      block[i] = (guint8) (hi * 16 + lo);
    }
  if (!onepin_key_decrypt_block (config->ids_key, block, (guint8 *) plain))
    return FALSE;
  *line_id = (gint64) GUINT64_FROM_BE (plain[0]);
  *account_id = (gint64) GUINT64_FROM_BE (plain[1]);
  /* Anything else decrypts too, to noise: real ids are positive. */
  return *line_id > 0 && *account_id > 0;
}

gboolean
gw_ledger_count_refusal (GwTxn   *txn,
                         GError **error)
{
  return CALL (txn, credential_failure_add, NOW (txn) / (24 * 60 * 60), error);
}

gboolean
gw_ledger_authenticate (GwTxn                *txn,
                        const GwLedgerConfig *config,
                        const GwCredentials  *credentials,
                        GwCard               *card,
                        GwOutcome            *outcome,
                        GError              **error)
{
  if (!find_card (txn, credentials, card, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return TRUE;
  if (!check_password (txn, config, credentials, card, outcome, error))
    return FALSE;
  if (outcome->code == GW_RESULT_OK && g_str_equal (card->state, "closed"))
    decline (outcome, GW_DECLINE_CARD_NOT_ACTIVE);
  return TRUE;
}

/* gw_ledger_authenticate(), but a closed card (its balance refunded) with
 * the right password passes: declined everywhere else, its holder still
 * reads its history (FIG. 10H), and reading moves nothing. A card with no
 * password never passes, so the number alone still opens nothing. */
gboolean
gw_ledger_authenticate_reader (GwTxn                *txn,
                               const GwLedgerConfig *config,
                               const GwCredentials  *credentials,
                               GwCard               *card,
                               GwOutcome            *outcome,
                               GError              **error)
{
  if (!gw_ledger_authenticate (txn, config, credentials, card, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK && outcome->decline == GW_DECLINE_CARD_NOT_ACTIVE &&
      card->has_password && g_str_equal (card->state, "closed"))
    memset (outcome, 0, sizeof *outcome);
  return TRUE;
}

/* Issuing */

static gint64
expiry_from (gint64 now,
             gint   years)
{
  g_autoptr(GDateTime) start = g_date_time_new_from_unix_utc (now);
  g_autoptr(GDateTime) end = g_date_time_add_years (start, years);

  return end ? g_date_time_to_unix (end) : now;
}

static gboolean
issue_card (GwTxn                *txn,
            const GwLedgerConfig *config,
            const char           *batch_id,
            const char           *bin,
            const char           *currency,
            const char           *channel,
            gint64                value,
            gint64                expires_at,
            GwIssuedCard         *issued,
            GError              **error)
{
  GwCard card = { 0 };

  card.account_id = CALL (txn, account_insert, "card", -1, currency, GW_CARD_BALANCE_CAP, error);
  if (card.account_id == 0)
    return FALSE;

  card.initial_value = value;
  card.created = NOW (txn);
  card.expires_at = expires_at ? expires_at : expiry_from (card.created, config->validity_years);
  g_strlcpy (card.state, "sold", sizeof card.state);
  g_strlcpy (card.channel, channel, sizeof card.channel);

  /* A fresh number may, however rarely, collide with one issued before;
   * the unique lookup hash tells, and we draw again. */
  for (guint attempt = 0; attempt < 8; attempt++)
    {
      g_autofree char *card_id = onepin_crypto_random_token ("card_", 12);
      g_autofree char *number = onepin_card_number_generate (bin, error);
      g_autoptr(GBytes) sealed = NULL;
      guint8 lookup[32];
      GError *local = NULL;

      if (number == NULL)
        return FALSE;
      g_strlcpy (card.id, card_id, sizeof card.id);
      onepin_card_number_last4 (number, card.last4);
      onepin_key_hmac (config->lookup_key, number, ONEPIN_CARD_NUMBER_LEN, lookup);
      sealed = onepin_key_seal (config->seal_key, number, ONEPIN_CARD_NUMBER_LEN,
                                card.id, strlen (card.id), error);
      if (sealed == NULL)
        return FALSE;
      if (CALL (txn, card_insert, &card, lookup, sealed, batch_id, &local))
        {
          g_strlcpy (issued->id, card.id, sizeof issued->id);
          issued->number = g_steal_pointer (&number);
          issued->expires_at = card.expires_at;
          issued->account_id = card.account_id;
          return TRUE;
        }
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_DUPLICATE))
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      g_clear_error (&local);
    }

  g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                       "Could not draw a unique card number");
  return FALSE;
}

/* A batch is one journal entry: the issuer's funding is debited with the
 * batch's value, and every card credited with its own. */
gboolean
gw_ledger_issue_batch (GwTxn                *txn,
                       const GwLedgerConfig *config,
                       const char           *batch_id,
                       gint64                count,
                       gint64                value,
                       const char           *currency,
                       const char           *channel,
                       GArray               *cards,
                       GError              **error)
{
  g_autofree GwLine *lines = g_new0 (GwLine, count + 1);
  GwEntry entry = {
    .kind = "issue", .channel = channel, .ref = batch_id, .created = NOW (txn),
    .lines = lines, .n_lines = count + 1,
  };

  if (!CALL (txn, batch_insert, batch_id, count, value, currency, channel, NOW (txn), error))
    return FALSE;

  lines[0].account_id = GW_ACCOUNT_ISSUER_FUNDING;
  lines[0].debit = count * value;   /* count <= 10,000 and value <= 100,000: no overflow */
  for (gint64 i = 0; i < count; i++)
    {
      GwIssuedCard issued = { 0 };

      if (!issue_card (txn, config, batch_id, config->bin, currency, channel, value, 0, &issued,
                       error))
        return FALSE;
      g_array_append_val (cards, issued);
      lines[i + 1].account_id = issued.account_id;
      lines[i + 1].credit = value;
    }

  return CALL (txn, entry_post, &entry, error);
}

static gboolean set_password (GwTxn                *txn,
                              const GwLedgerConfig *config,
                              GwCard               *card,
                              const guint8          mac[32],
                              const char           *hint,
                              GError              **error);

/* One empty card, outside any batch, with its password already set: the
 * wallet's representative card. Its money comes later, by recharges. */
gboolean
gw_ledger_issue_card (GwTxn                *txn,
                      const GwLedgerConfig *config,
                      const GwIssueRequest *request,
                      GwIssuedCard         *issued,
                      GError              **error)
{
  GwCard card = { 0 };
  guint8 lookup[32];
  guint8 mac[32];

  if (!issue_card (txn, config, NULL, request->bin, request->currency, request->channel, 0,
                   request->expires_at, issued, error))
    return FALSE;
  g_strlcpy (card.id, issued->id, sizeof card.id);
  onepin_key_hmac (config->lookup_key, issued->number, ONEPIN_CARD_NUMBER_LEN, lookup);
  gw_ledger_password_mac (config, lookup, request->password, mac);
  return set_password (txn, config, &card, mac, NULL, error);
}

gboolean
gw_ledger_create_merchant (GwTxn                *txn,
                           const GwLedgerConfig *config,
                           const char           *id,
                           const char           *name,
                           const char           *category,
                           const guint8          key_hash[32],
                           const char           *webhook_secret,
                           GError              **error)
{
  g_autoptr(GBytes) sealed = NULL;
  gint64 account;

  account = CALL (txn, account_insert, "merchant_payable", -1, "krw", 0, error);
  if (account == 0)
    return FALSE;
  sealed = onepin_key_seal (config->seal_key, webhook_secret, strlen (webhook_secret),
                            id, strlen (id), error);
  if (sealed == NULL)
    return FALSE;
  return CALL (txn, merchant_insert, id, name, category, key_hash, sealed, account, NOW (txn),
               error);
}

/* Card holders */

static GBytes *
seal_hint (const GwLedgerConfig *config,
           const GwCard         *card,
           const char           *hint,
           GError              **error)
{
  if (hint == NULL)
    return g_bytes_new (NULL, 0);
  return onepin_key_seal (config->seal_key, hint, strlen (hint), card->id, strlen (card->id),
                          error);
}

static gboolean
set_password (GwTxn                *txn,
              const GwLedgerConfig *config,
              GwCard               *card,
              const guint8          mac[32],
              const char           *hint,
              GError              **error)
{
  g_autoptr(GBytes) hint_sealed = seal_hint (config, card, hint, error);

  if (hint_sealed == NULL)
    return FALSE;
  if (g_bytes_get_size (hint_sealed) == 0)
    g_clear_pointer (&hint_sealed, g_bytes_unref);
  if (!CALL (txn, card_set_password, card->id, mac, hint_sealed, "active", error))
    return FALSE;
  g_strlcpy (card->state, "active", sizeof card->state);
  card->has_password = TRUE;
  card->failures = 0;
  return TRUE;
}

gboolean
gw_ledger_password_valid (const char *password)
{
  glong len = g_utf8_strlen (password, -1);

  return len >= 4 && len <= 64;
}

/* Counted in characters, as the pages' maxlength="100" counts them, so that
 * a Korean hint the page accepts is not refused here; 100 characters of
 * UTF-8 are at most 400 bytes, the bound on what is sealed. */
gboolean
gw_ledger_hint_valid (const char *hint)
{
  return strlen (hint) <= 4 * GW_LEDGER_MAX_HINT_CHARS && g_utf8_validate (hint, -1, NULL) &&
         g_utf8_strlen (hint, -1) <= GW_LEDGER_MAX_HINT_CHARS;
}

gboolean
gw_ledger_card_hint (GwTxn                *txn,
                     const GwLedgerConfig *config,
                     const GwCredentials  *credentials,
                     GwCard               *card,
                     char                **hint,
                     GError              **error)
{
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GBytes) opened = NULL;
  GError *local = NULL;
  GwOutcome outcome;

  *hint = NULL;
  if (!find_card (txn, credentials, card, &outcome, error))
    return FALSE;
  if (outcome.code != GW_RESULT_OK)
    return TRUE;
  if (!CALL (txn, card_hint, card->id, &sealed, &local))
    return local == NULL || (g_propagate_error (error, local), FALSE);
  opened = onepin_key_open (config->seal_key, g_bytes_get_data (sealed, NULL),
                            g_bytes_get_size (sealed), card->id, strlen (card->id), error);
  if (opened == NULL)
    return FALSE;
  *hint = g_strndup (g_bytes_get_data (opened, NULL), g_bytes_get_size (opened));
  return TRUE;
}

gboolean
gw_ledger_register (GwTxn                *txn,
                    const GwLedgerConfig *config,
                    const GwCredentials  *credentials,
                    const char           *hint,
                    GwCard               *card,
                    GwOutcome            *outcome,
                    GError              **error)
{
  if (!find_card (txn, credentials, card, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return TRUE;
  if (card->locked_until > NOW (txn))
    return decline (outcome, GW_DECLINE_CARD_LOCKED), TRUE;
  /* A closed card has its password (it was refunded by it): the
   * contract's 409 for a card that already has one, not a decline. */
  if (card->has_password)
    return outcome->code = GW_RESULT_ALREADY_REGISTERED, TRUE;
  if (g_str_equal (card->state, "closed"))
    return decline (outcome, GW_DECLINE_CARD_NOT_ACTIVE), TRUE;
  if (card->expires_at <= NOW (txn))
    return decline (outcome, GW_DECLINE_EXPIRED_CARD), TRUE;
  return set_password (txn, config, card, credentials->password_mac, hint, error);
}

/* gw_ledger_authenticate(), and a card that has not expired: what changing
 * the password or switching a foreign PIN's value onto the card needs. */
gboolean
gw_ledger_authenticate_usable (GwTxn                *txn,
                               const GwLedgerConfig *config,
                               const GwCredentials  *credentials,
                               GwCard               *card,
                               GwOutcome            *outcome,
                               GError              **error)
{
  if (!gw_ledger_authenticate (txn, config, credentials, card, outcome, error))
    return FALSE;
  if (outcome->code == GW_RESULT_OK && card->expires_at <= NOW (txn))
    decline (outcome, GW_DECLINE_EXPIRED_CARD);
  return TRUE;
}

gboolean
gw_ledger_set_password (GwTxn                *txn,
                        const GwLedgerConfig *config,
                        GwCard               *card,
                        const guint8          lookup[32],
                        const char           *new_password,
                        const char           *hint,
                        GError              **error)
{
  guint8 mac[32];
  gboolean ok;

  gw_ledger_password_mac (config, lookup, new_password, mac);
  ok = set_password (txn, config, card, mac, hint, error);
  explicit_bzero (mac, sizeof mac);
  return ok;
}

/* The lookup hash of a card found by its id, which every card has. */
static gboolean
card_lookup (GwTxn         *txn,
             const GwCard  *card,
             guint8         lookup[32],
             GError       **error)
{
  if (CALL (txn, card_lookup, card->id, lookup, error))
    return TRUE;
  if (error != NULL && *error == NULL)
    g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                         "The card has no number.");
  return FALSE;
}

gboolean
gw_ledger_check_password (GwTxn                *txn,
                          const GwLedgerConfig *config,
                          GwCard               *card,
                          const char           *password,
                          GwOutcome            *outcome,
                          GError              **error)
{
  GwCredentials credentials = { .well_formed = TRUE };
  gboolean ok;

  memset (outcome, 0, sizeof *outcome);
  if (!card_lookup (txn, card, credentials.lookup, error))
    return FALSE;
  gw_ledger_password_mac (config, credentials.lookup, password, credentials.password_mac);
  ok = check_password (txn, config, &credentials, card, outcome, error);
  explicit_bzero (&credentials, sizeof credentials);
  return ok;
}

/* A new password from someone who proved the card theirs another way (its
 * wallet's login), for a card the holder may have forgotten the password
 * of, or someone else learned it: the failures, any lock and the hint go
 * with the old password. */
gboolean
gw_ledger_reset_password (GwTxn                *txn,
                          const GwLedgerConfig *config,
                          GwCard               *card,
                          const char           *new_password,
                          GError              **error)
{
  guint8 lookup[32];
  gboolean ok;

  if (!card_lookup (txn, card, lookup, error))
    return FALSE;
  ok = gw_ledger_set_password (txn, config, card, lookup, new_password, NULL, error);
  explicit_bzero (lookup, sizeof lookup);
  if (!ok)
    return FALSE;
  card->locked_until = 0;
  return CALL (txn, card_auth_reset, card->id, error);
}

/* Payments */

static gint64
points_for (const GwLedgerConfig *config,
            gint64                amount)
{
  /* amount <= 1,000,000 and the rate is a small integer: no overflow. */
  return amount * config->points_rate / 10000;
}

/* The points a payment still earns once @refunded of it is refunded: its
 * own points in proportion, rounded down, so that refunds in pieces take
 * back as many as one refund of their sum, a full refund all of them, and
 * a later change of the rate nothing it did not give. */
static gint64
points_kept (const GwPayment *payment,
             gint64           refunded)
{
  if (payment->amount_captured <= 0)
    return 0;
  /* points and amounts are at most 1,000,000: no overflow. */
  return payment->points * (payment->amount_captured - refunded) / payment->amount_captured;
}

static char *
payment_event (const GwPayment *payment)
{
  return g_strdup_printf ("{\"payment\":\"%s\",\"status\":\"%s\",\"amount\":%" G_GINT64_FORMAT
                          ",\"amount_captured\":%" G_GINT64_FORMAT
                          ",\"amount_refunded\":%" G_GINT64_FORMAT ",\"currency\":\"%s\"}",
                          payment->id, payment->status, payment->amount,
                          payment->amount_captured, payment->amount_refunded, payment->currency);
}

static gboolean
notify (GwTxn           *txn,
        const char      *type,
        const GwPayment *payment,
        GError         **error)
{
  g_autofree char *payload = payment_event (payment);

  return CALL (txn, outbox_put, type, payment->merchant_id, payload, error);
}

/* Debits the card and credits the merchant. An overdraft is refused by the
 * store's conditional update, which we report as a decline. */
static gboolean
post_capture (GwTxn                *txn,
              const GwLedgerConfig *config,
              gint64                card_account,
              GwPayment            *payment,
              gint64                amount,
              GwOutcome            *outcome,
              GError              **error)
{
  GwLine lines[2] = {
    { .account_id = card_account, .debit = amount, .require_available = TRUE },
    { .credit = amount },
  };
  GwEntry entry = {
    .kind = "payment", .channel = payment->channel, .ref = payment->id,
    .payment_id = payment->id,
    .merchant_id = payment->merchant_id, .description = payment->description,
    .created = NOW (txn), .lines = lines, .n_lines = 2,
  };
  GError *local = NULL;

  lines[1].account_id = CALL (txn, merchant_account, payment->merchant_id, error);
  if (lines[1].account_id == 0)
    return FALSE;

  if (!CALL (txn, entry_post, &entry, &local))
    {
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_INSUFFICIENT))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
      return decline (outcome, GW_DECLINE_INSUFFICIENT_FUNDS), TRUE;
    }

  payment->amount_captured = amount;
  payment->points = points_for (config, amount);
  g_strlcpy (payment->status, "captured", sizeof payment->status);
  payment->capture_before = 0;
  return payment->points == 0 || CALL (txn, card_add_points, payment->card_id, payment->points,
                                       error);
}

static gboolean
place_hold (GwTxn                *txn,
            const GwLedgerConfig *config,
            gint64                card_account,
            GwPayment            *payment,
            GwOutcome            *outcome,
            GError              **error)
{
  GError *local = NULL;

  if (!CALL (txn, account_hold, card_account, payment->amount, &local))
    {
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_INSUFFICIENT))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
      return decline (outcome, GW_DECLINE_INSUFFICIENT_FUNDS), TRUE;
    }
  g_strlcpy (payment->status, "authorized", sizeof payment->status);
  payment->capture_before = payment->created + config->capture_window;
  return TRUE;
}

static void
payment_init (GwPayment          *payment,
              const GwPayRequest *request,
              const GwCard       *card,
              gint64              now)
{
  g_autofree char *id = sortable_id ("pay_");

  memset (payment, 0, sizeof *payment);
  g_strlcpy (payment->id, id, sizeof payment->id);
  g_strlcpy (payment->merchant_id, request->merchant_id, sizeof payment->merchant_id);
  g_strlcpy (payment->card_id, card->id, sizeof payment->card_id);
  g_strlcpy (payment->card_last4, card->last4, sizeof payment->card_last4);
  g_strlcpy (payment->currency, card->currency, sizeof payment->currency);
  g_strlcpy (payment->channel, request->channel, sizeof payment->channel);
  payment->amount = request->amount;
  payment->order_id = g_strdup (request->order_id);
  payment->description = g_strdup (request->description);
  payment->created = now;
}

gboolean
gw_ledger_pay (GwTxn                *txn,
               const GwLedgerConfig *config,
               const GwCredentials  *credentials,
               const GwPayRequest   *request,
               GwPayment            *payment,
               GwOutcome            *outcome,
               GError              **error)
{
  GwCard card;

  if (!gw_ledger_authenticate (txn, config, credentials, &card, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return TRUE;
  return gw_ledger_charge_card (txn, config, &card, request, payment, outcome, error);
}

gboolean
gw_ledger_charge_card (GwTxn                *txn,
                       const GwLedgerConfig *config,
                       const GwCard         *card,
                       const GwPayRequest   *request,
                       GwPayment            *payment,
                       GwOutcome            *outcome,
                       GError              **error)
{
  gboolean ok;

  memset (outcome, 0, sizeof *outcome);
  if (card->expires_at <= NOW (txn))
    return decline (outcome, GW_DECLINE_EXPIRED_CARD), TRUE;
  if (!g_str_equal (card->currency, request->currency))
    return decline (outcome, GW_DECLINE_CURRENCY_MISMATCH), TRUE;

  payment_init (payment, request, card, NOW (txn));
  if (request->capture)
    ok = post_capture (txn, config, card->account_id, payment, request->amount, outcome, error);
  else
    ok = place_hold (txn, config, card->account_id, payment, outcome, error);
  if (!ok || outcome->code != GW_RESULT_OK)
    return ok;

  if (!CALL (txn, payment_insert, payment, error) ||
      !notify (txn, request->capture ? "payment.captured" : "payment.authorized", payment,
               error))
    return FALSE;
  return !request->capture || !card->wants_receipts ||
         gw_receipts_queue (txn, config->seal_key, payment, card->balance - request->amount,
                            error);
}

static gboolean
find_payment (GwTxn       *txn,
              const char  *merchant_id,
              const char  *payment_id,
              GwPayment   *payment,
              GwOutcome   *outcome,
              GError     **error)
{
  GError *local = NULL;

  memset (outcome, 0, sizeof *outcome);
  if (CALL (txn, payment_get, payment_id, payment, &local) &&
      g_str_equal (payment->merchant_id, merchant_id))
    return TRUE;
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  outcome->code = GW_RESULT_NOT_FOUND;
  return TRUE;
}

static gboolean
release_hold (GwTxn      *txn,
              GwPayment  *payment,
              GError    **error)
{
  GwCard card;

  if (!CALL (txn, card_by_id, payment->card_id, &card, error))
    return FALSE;
  return CALL (txn, account_release, card.account_id, payment->amount, error);
}

/* An authorization the gateway canceled at the end of its window keeps its
 * capture_before, so that a late capture or cancel can be told it expired;
 * one the merchant canceled loses it. */
static gboolean
cancel_payment (GwTxn      *txn,
                GwPayment  *payment,
                gboolean    expired,
                GError    **error)
{
  /* A shallow copy, only compared with: the payment keeps its strings. */
  GwPayment before = *payment;

  if (!release_hold (txn, payment, error))
    return FALSE;
  g_strlcpy (payment->status, "canceled", sizeof payment->status);
  if (!expired)
    payment->capture_before = 0;
  payment->canceled_at = NOW (txn);
  /* Released only if the payment is still authorized when written: else
   * the update conflicts and the release is rolled back with it. */
  return CALL (txn, payment_update, &before, payment, error) &&
         notify (txn, "payment.canceled", payment, error);
}

/* Whether a capture or cancel may go ahead: the payment is authorized and
 * within its window. One past its window is canceled here, whatever the
 * sweep has done yet, and the answer is payment_expired (also for one the
 * sweep canceled); FALSE only on a store error.
 *
 * The window runs to the end of the second capture_before: created is
 * the authorization's second rounded down, so ending it at the start of
 * that second would take up to a second off it. */
static gboolean
resolvable (GwTxn      *txn,
            GwPayment  *payment,
            GwOutcome  *outcome,
            GError    **error)
{
  if (g_str_equal (payment->status, "canceled") && payment->capture_before > 0)
    return outcome->code = GW_RESULT_PAYMENT_EXPIRED, TRUE;
  if (!g_str_equal (payment->status, "authorized"))
    return outcome->code = GW_RESULT_ALREADY_RESOLVED, TRUE;
  if (payment->capture_before < NOW (txn))
    {
      outcome->code = GW_RESULT_PAYMENT_EXPIRED;
      return cancel_payment (txn, payment, TRUE, error);
    }
  return TRUE;
}

gboolean
gw_ledger_capture (GwTxn                *txn,
                   const GwLedgerConfig *config,
                   const char           *merchant_id,
                   const char           *payment_id,
                   gint64                amount,
                   GwPayment            *payment,
                   GwOutcome            *outcome,
                   GError              **error)
{
  GwPayment before;
  GwCard card;

  if (!find_payment (txn, merchant_id, payment_id, payment, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return TRUE;
  if (!resolvable (txn, payment, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return TRUE;
  before = *payment;
  if (amount == 0)
    amount = payment->amount;
  if (amount > payment->amount)
    return outcome->code = GW_RESULT_AMOUNT_TOO_LARGE, TRUE;

  /* The whole hold is released and the captured part debited in the same
   * savepoint: the remainder goes back to available. */
  if (!release_hold (txn, payment, error) ||
      !CALL (txn, card_by_id, payment->card_id, &card, error) ||
      !post_capture (txn, config, card.account_id, payment, amount, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    {
      /* Cannot happen while holds and balances agree; refuse loudly. */
      return g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                                  "Captured hold was not covered"), FALSE;
    }
  return CALL (txn, payment_update, &before, payment, error) &&
         notify (txn, "payment.captured", payment, error) &&
         (!card.wants_receipts ||
          gw_receipts_queue (txn, config->seal_key, payment, card.balance - amount, error));
}

gboolean
gw_ledger_cancel (GwTxn       *txn,
                  const char  *merchant_id,
                  const char  *payment_id,
                  GwPayment   *payment,
                  GwOutcome   *outcome,
                  GError     **error)
{
  if (!find_payment (txn, merchant_id, payment_id, payment, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return TRUE;
  if (!resolvable (txn, payment, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return TRUE;
  return cancel_payment (txn, payment, FALSE, error);
}

static gboolean
post_refund (GwTxn                *txn,
             GwPayment            *payment,
             const char           *refund_id,
             gint64                amount,
             GwOutcome            *outcome,
             GError              **error)
{
  GwCard card;
  GwLine lines[2] = { { .debit = amount }, { .credit = amount } };
  GwEntry entry = {
    .kind = "refund", .channel = payment->channel, .ref = refund_id,
    .payment_id = payment->id,
    .merchant_id = payment->merchant_id, .description = payment->description,
    .created = NOW (txn), .lines = lines, .n_lines = 2,
  };
  GError *local = NULL;

  lines[0].account_id = CALL (txn, merchant_account, payment->merchant_id, error);
  if (lines[0].account_id == 0 || !CALL (txn, card_by_id, payment->card_id, &card, error))
    return FALSE;
  /* A card closed since (its balance paid out) can no longer be used or
   * paid out again: money credited to it would be stranded. */
  if (g_str_equal (card.state, "closed"))
    return decline (outcome, GW_DECLINE_CARD_NOT_ACTIVE), TRUE;
  lines[1].account_id = card.account_id;

  if (!CALL (txn, entry_post, &entry, &local))
    {
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_LIMIT))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
      return decline (outcome, GW_DECLINE_BALANCE_LIMIT), TRUE;
    }
  return CALL (txn, card_add_points, card.id,
               points_kept (payment, payment->amount_refunded + amount) -
               points_kept (payment, payment->amount_refunded), error);
}

gboolean
gw_ledger_refund (GwTxn                *txn,
                  const char           *merchant_id,
                  const char           *payment_id,
                  gint64                amount,
                  char                  refund_id[40],
                  gint64               *refunded,
                  GwPayment            *payment,
                  GwOutcome            *outcome,
                  GError              **error)
{
  g_autofree char *id = sortable_id ("re_");
  GwPayment before;
  gint64 remaining;

  if (!find_payment (txn, merchant_id, payment_id, payment, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return TRUE;
  before = *payment;

  remaining = payment->amount_captured - payment->amount_refunded;
  if (amount == 0 && remaining <= 0)
    return outcome->code = GW_RESULT_NOTHING_TO_REFUND, TRUE;
  if (amount == 0)
    amount = remaining;
  if (amount < 0 || amount > remaining)
    return outcome->code = GW_RESULT_AMOUNT_TOO_LARGE, TRUE;

  g_strlcpy (refund_id, id, 40);
  if (!post_refund (txn, payment, refund_id, amount, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return TRUE;

  payment->amount_refunded += amount;
  *refunded = amount;
  return CALL (txn, refund_insert, refund_id, payment->id, amount, payment->currency, NOW (txn),
               error) &&
         CALL (txn, payment_update, &before, payment, error) &&
         notify (txn, "payment.refunded", payment, error);
}

gint
gw_ledger_expire_holds (GwTxn   *txn,
                        gint64  *next_expiry,
                        GError **error)
{
  g_autoptr(GPtrArray) ids = CALL (txn, payments_expiring, NOW (txn), GW_LEDGER_EXPIRE_BATCH,
                                   error);

  if (ids == NULL)
    return -1;

  for (guint i = 0; i < ids->len; i++)
    {
      GwPayment payment = { 0 };
      gboolean ok;

      if (!CALL (txn, payment_get, g_ptr_array_index (ids, i), &payment, error))
        return -1;
      ok = cancel_payment (txn, &payment, TRUE, error);
      gw_payment_clear (&payment);
      if (!ok)
        return -1;
    }

  if (!CALL (txn, payments_next_expiry, next_expiry, error))
    return -1;
  return ids->len;
}
