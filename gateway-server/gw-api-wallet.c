/* gw-api-wallet.c: the e-wallet's electronic payment web server
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Accounts, sessions, the representative card, funding sources, charges and
 * history. Passwords are slow-hashed on GTask worker threads, never on the
 * main thread or the writer; what the writer then does is quick. A charge
 * is written as pending before the financial system is asked, and settled
 * (credited, declined) in a second operation together with its idempotency
 * record and its message, so a lost answer is settled by asking again.
 */
#include "gw-api-wallet-private.h"

#include <string.h>

#include "gw-api-phone.h"
#include "onepin-card.h"
#include "onepin-contact.h"

#define LOGIN_MIN 4
#define LOGIN_MAX 64
#define PASSWORD_MIN 8
#define PASSWORD_MAX 128

typedef struct _Work Work;

static void work_free (Work *work);

static void
wallet_state_free (gpointer data)
{
  GwWalletState *state = data;

  /* Left only if the drain timed out with a hash still running. */
  g_queue_clear_full (&state->kdf_waiting, (GDestroyNotify) work_free);
  g_clear_handle_id (&state->recovery_source, g_source_remove);
  g_hash_table_unref (state->charging);
  g_free (state);
}

G_DEFINE_QUARK (gw-api-wallet-state, wallet_state)

GwWalletState *
gw_api_wallet_state (GwServer *server)
{
  GwWalletState *state = g_object_get_qdata (G_OBJECT (server), wallet_state_quark ());
  const GwConfig *config;

  if (state != NULL)
    return state;

  config = gw_server_get_config (server);
  state = g_new0 (GwWalletState, 1);
  state->server = server;
  state->config.ledger = gw_server_get_ledger_config (server);
  g_strlcpy (state->config.bin_low, config->wallet_bin_low, sizeof state->config.bin_low);
  g_strlcpy (state->config.bin_high, config->wallet_bin_high, sizeof state->config.bin_high);
  g_strlcpy (state->config.card_bin, config->card_bin, sizeof state->config.card_bin);
  state->config.session_lifetime = config->wallet_session_lifetime;
  state->config.pbkdf2_iterations = config->wallet_pbkdf2_iterations;
  state->kdf_per_minute = config->wallet_kdf_per_minute;
  state->kdf_workers = config->wallet_kdf_workers;
  state->kdf_queue = config->wallet_kdf_queue;
  state->charging = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_object_set_qdata_full (G_OBJECT (server), wallet_state_quark (), state, wallet_state_free);
  return state;
}

void
gw_api_wallet_wipe (char *secret)
{
  if (secret != NULL)
    explicit_bzero (secret, strlen (secret));
}

void
gw_api_wallet_wipe_free (char *secret)
{
  gw_api_wallet_wipe (secret);
  g_free (secret);
}

gint64
gw_api_wallet_now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* Answers */

void
gw_api_wallet_refuse (GwCall     *call,
                      guint       status,
                      const char *type,
                      const char *code,
                      const char *param,
                      const char *message)
{
  call->status = status;
  call->body = g_string_new (NULL);
  gw_error_render (call->body, type, code, NULL, param, message);
}

void
gw_api_wallet_created (GwCall  *call,
                       GString *body)
{
  gw_call_ok (call, body);
  call->status = 201;
}

/* The wallet's refusals, as the contract's error objects. */
static const struct
{
  GwWalletResult  result;
  guint           status;
  const char     *type;
  const char     *code;
  const char     *param;
  const char     *message;
} refusals[] = {
  { GW_WALLET_LOGIN_TAKEN, 409, "invalid_request_error", "login_id_taken", "login_id",
    "This login ID is taken." },
  { GW_WALLET_INVALID_LOGIN, 401, "authentication_error", "invalid_login", NULL,
    "The login ID or password is incorrect." },
  { GW_WALLET_LOGIN_LOCKED, 429, "rate_limit_error", "login_locked", NULL,
    "Too many wrong passwords for this login ID. Try again later." },
  { GW_WALLET_PASSWORD_INCORRECT, 400, "invalid_request_error", "password_incorrect",
    "current_password", "The current password is incorrect." },
  { GW_WALLET_CARD_ALREADY_ISSUED, 409, "invalid_request_error", "card_already_issued", NULL,
    "This account already has its representative card." },
  { GW_WALLET_CARD_NOT_ISSUED, 409, "invalid_request_error", "card_not_issued", NULL,
    "Apply for the representative card first (POST /v1/wallet/card)." },
  { GW_WALLET_CARD_NOT_USABLE, 409, "invalid_request_error", "card_not_usable", NULL,
    "The representative card is closed or expired." },
  { GW_WALLET_FUNDING_EXISTS, 409, "invalid_request_error", "funding_source_exists", NULL,
    "This card or account is already registered." },
  { GW_WALLET_FUNDING_LIMIT, 409, "invalid_request_error", "funding_source_limit", NULL,
    "A wallet holds at most 10 funding sources. Remove one first." },
  { GW_WALLET_CHARGE_IN_PROGRESS, 409, "invalid_request_error", "charge_in_progress", NULL,
    "A charge from this funding source is in progress. Try again shortly." },
};

void
gw_api_wallet_refuse_result (GwCall         *call,
                             GwWalletResult  result)
{
  if (result == GW_WALLET_BALANCE_LIMIT)
    {
      call->status = 402;
      call->body = g_string_new (NULL);
      gw_error_render (call->body, "card_error", "card_declined", "balance_limit", NULL,
                       "The card's balance would exceed its 1,000,000 KRW limit.");
      return;
    }
  /* A wrong password counts against the client address, where that is limited. */
  call->outcome.credential_failure = result == GW_WALLET_INVALID_LOGIN;
  for (guint i = 0; i < G_N_ELEMENTS (refusals); i++)
    if (refusals[i].result == result)
      return gw_api_wallet_refuse (call, refusals[i].status, refusals[i].type, refusals[i].code,
                                   refusals[i].param, refusals[i].message);
  gw_api_wallet_refuse (call, 404, "invalid_request_error", "resource_missing", "id",
                        "No such object.");
}

/* The same refusal, answered outside a call (a read). */
static void
reply_refusal (GwRequest      *request,
               GwWalletResult  result)
{
  for (guint i = 0; i < G_N_ELEMENTS (refusals); i++)
    if (refusals[i].result == result)
      return gw_request_error (request, refusals[i].status, refusals[i].type, refusals[i].code,
                               refusals[i].param, refusals[i].message);
  g_return_if_reached ();
}

void
gw_api_wallet_read_failed (GwRequest    *request,
                           const GError *error)
{
  g_warning ("wallet read failed: %s", error->message);
  gw_request_error (request, 500, "api_error", "internal", NULL, "The read failed.");
}

/* Rendering */

static void
render_user (GString               *out,
             const GwWalletUser    *user,
             const GwWalletProfile *profile)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "id", user->id);
  gw_json_str (out, "object", "wallet_user");
  gw_json_str (out, "login_id", user->login_id);
  gw_json_str (out, "name", profile->name);
  gw_json_str (out, "email", profile->email);
  gw_json_str (out, "phone", profile->phone);
  gw_json_str (out, "receipt_channel", user->receipt_channel);
  gw_json_str (out, "locale", user->locale);
  gw_json_str (out, "card", user->card_id[0] ? user->card_id : NULL);
  gw_json_int (out, "created", user->created);
  g_string_append_c (out, '}');
}

/* Renders @user after opening its profile; FALSE with @error if it does not open. */
static gboolean
render_user_sealed (GString              *out,
                    const GwLedgerConfig *ledger,
                    const GwWalletUser   *user,
                    GError              **error)
{
  GwWalletProfile profile;

  if (!gw_wallet_profile_open (ledger, user->id, user->profile_sealed, &profile, error))
    return FALSE;
  render_user (out, user, &profile);
  gw_wallet_profile_clear (&profile);
  return TRUE;
}

char *
gw_api_wallet_masked (const char *last4,
                      gint        digits)
{
  GString *out = g_string_new (NULL);

  /* Groups of four, as on the card: "•••• •••• •••• 1234". */
  for (gint i = 0; i < digits - 4; i++)
    {
      if (i > 0 && i % 4 == 0 && digits == 16)
        g_string_append_c (out, ' ');
      g_string_append (out, "•");
    }
  if (digits == 16)
    g_string_append_c (out, ' ');
  g_string_append (out, last4);
  return g_string_free (out, FALSE);
}

static void
render_card (GString      *out,
             const GwCard *card,
             gint64        now)
{
  g_autoptr(GDateTime) end = g_date_time_new_from_unix_utc (card->expires_at - 1);
  g_autofree char *mask = gw_api_wallet_masked (card->last4, 16);

  gw_json_str (out, "id", card->id);
  gw_json_str (out, "object", "wallet_card");
  gw_json_str (out, "masked_number", mask);
  gw_json_str (out, "card_last4", card->last4);
  gw_json_int (out, "exp_month", end ? g_date_time_get_month (end) : 0);
  gw_json_int (out, "exp_year", end ? g_date_time_get_year (end) : 0);
  gw_json_str (out, "state", gw_card_display_state (card, now));
  gw_json_int (out, "balance", card->balance);
  gw_json_int (out, "held", card->held);
  gw_json_int (out, "available", card->balance - card->held);
  gw_json_str (out, "currency", card->currency);
  gw_json_int (out, "points", card->points);
  gw_json_int (out, "issued_at", card->created);
  gw_json_int (out, "expires_at", card->expires_at);
}

/* Authentication */

typedef struct
{
  guint8          hash[32];
  GwWalletSession session;
  gboolean        found;
} SessionLookup;

static gboolean
session_lookup_apply (GwTxn    *txn,
                      gpointer  data,
                      GError  **error)
{
  SessionLookup *lookup = data;
  const GwWalletStoreFuncs *wallet = gw_txn_extension (txn, "wallet");
  GError *local = NULL;

  lookup->found = wallet->session_by_token (txn, lookup->hash, txn->funcs->now (txn),
                                            &lookup->session, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

gboolean
gw_api_wallet_authenticate (GwRequest  *request,
                            const char *token)
{
  SessionLookup lookup = { 0 };
  g_autoptr(GError) error = NULL;

  if (!g_str_has_prefix (token, "ws_"))
    return FALSE;
  /* Sessions can be revoked at any moment, so they are looked up on every
   * request (a read connection, beside the writer) rather than cached. */
  gw_server_hash_api_key (request->server, token, lookup.hash);
  if (!gw_store_read (gw_server_get_store (request->server), session_lookup_apply, &lookup,
                      &error))
    {
      g_warning ("session lookup failed: %s", error->message);
      return FALSE;
    }
  if (!lookup.found)
    return FALSE;
  g_strlcpy (request->user_id, lookup.session.user_id, sizeof request->user_id);
  g_strlcpy (request->session_id, lookup.session.id, sizeof request->session_id);
  g_snprintf (request->scope, sizeof request->scope, "user:%s", lookup.session.user_id);
  return TRUE;
}

/* Field checks */

static gboolean
valid_login_id (const char *login_id)
{
  gsize len = strlen (login_id);

  return len >= LOGIN_MIN && len <= LOGIN_MAX &&
         strspn (login_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789._-@") == len;
}

gboolean
gw_api_wallet_length_between (const char *text,
                              glong       min,
                              glong       max)
{
  glong len = g_utf8_strlen (text, -1);

  return len >= min && len <= max;
}

gboolean
gw_api_wallet_one_of (const char *value,
                      const char *a,
                      const char *b,
                      const char *c)
{
  return g_strcmp0 (value, a) == 0 || g_strcmp0 (value, b) == 0 ||
         (c != NULL && g_strcmp0 (value, c) == 0);
}

const char *
gw_api_wallet_check_profile (JsonObject  *body,
                             gboolean     creating,
                             const char **message)
{
  const char *login_id = onepin_json_get_string (body, "login_id", NULL);
  const char *password = onepin_json_get_string (body, "password", NULL);
  const char *name = onepin_json_get_string (body, "name", NULL);
  const char *email = onepin_json_get_string (body, "email", NULL);
  const char *phone = onepin_json_get_string (body, "phone", NULL);
  const char *channel = onepin_json_get_string (body, "receipt_channel", NULL);
  const char *locale = onepin_json_get_string (body, "locale", NULL);

  if (creating && (login_id == NULL || !valid_login_id (login_id)))
    return *message = "login_id must be 4 to 64 characters: letters, digits, . _ - @",
           "login_id";
  if (creating && (password == NULL ||
                   !gw_api_wallet_length_between (password, PASSWORD_MIN, PASSWORD_MAX)))
    return *message = "password must be 8 to 128 characters.", "password";
  /* onepin-contact.c: the desktop wallet checks the same rules before it sends. */
  if ((creating || name != NULL) && !onepin_contact_name_valid (name))
    return *message = "name must be 1 to 100 characters.", "name";
  /* The outbox must be able to send to it: the same rule as its own. */
  if ((creating || email != NULL) && !onepin_contact_email_valid (email))
    return *message = "email must be an e-mail address of at most 254 bytes.", "email";
  if (phone != NULL && !(phone[0] == '\0' && !creating) && !onepin_contact_phone_valid (phone))
    return *message = "phone must be 7 to 20 digits and hyphens, with an optional leading +.",
           "phone";
  if (channel != NULL && !gw_api_wallet_one_of (channel, "email", "sms", "none"))
    return *message = "receipt_channel must be email, sms or none.", "receipt_channel";
  if (locale != NULL && !gw_api_wallet_one_of (locale, "ko", "en", NULL))
    return *message = "locale must be ko or en.", "locale";
  return NULL;
}

/* Checks the body's fields and their values; FALSE after replying 400. */
static gboolean
check_profile_body (GwRequest             *request,
                    const OnepinJsonField *fields,
                    gsize                  n_fields,
                    gboolean               creating)
{
  const char *message = NULL;
  const char *param;

  if (!gw_request_check_body (request, fields, n_fields))
    return FALSE;
  if ((param = gw_api_wallet_check_profile (request->body, creating, &message)) == NULL)
    return TRUE;
  gw_request_bad_param (request, param, message);
  return FALSE;
}

/* Slow work: PBKDF2 on a worker thread */

typedef enum
{
  WORK_REGISTER,
  WORK_LOGIN,
  WORK_PASSWORD,
  WORK_CARD_PASSWORD,               /* checks the login's password, hashes nothing new */
  WORK_CALLING_NUMBER,              /* likewise, to register a line to the card */
} WorkKind;

struct _Work
{
  WorkKind      kind;
  GwRequest    *request;
  GwWalletState  *state;
  GwStore      *store;
  char         *login_id;         /* WORK_LOGIN */
  char         *user_id;          /* all but WORK_REGISTER and WORK_LOGIN */
  char         *password;
  char         *new_password;     /* WORK_REGISTER's only one, or WORK_PASSWORD's new one */
  char         *card_password;    /* WORK_CARD_PASSWORD's new one */
  GwApiPhoneLine line;            /* WORK_CALLING_NUMBER's */

  guint8        login_hash[32];   /* what attempts are counted under */
  /* A password change with an Idempotency-Key holds the key from the
   * handler to its answer (gw_server_claim_key), and looks its record up
   * and stores its outcome itself (password_key_claim ()). */
  gboolean      keyed;
  guint8        key_hash[32];
  guint8        fingerprint[32];
  guint8        bare_fingerprint[32];
  GwCall       *replay;           /* the key's stored answer, if it had one */
  GwWalletUser  user;
  gboolean      found;
  gboolean      locked;
  gboolean      verified;
  guint8        new_salt[GW_WALLET_SALT_LEN];
  guint8        new_hash[32];
  GError       *error;
};

static void
work_free (Work *work)
{
  /* the request may be answered and gone: the state outlives it */
  if (work->keyed)
    gw_server_release_key (work->state->server, work->key_hash);
  g_clear_pointer (&work->replay, gw_call_free);
  g_free (work->login_id);
  g_free (work->user_id);
  gw_api_wallet_wipe_free (work->password);
  gw_api_wallet_wipe_free (work->new_password);
  gw_api_wallet_wipe_free (work->card_password);
  gw_wallet_user_clear (&work->user);
  explicit_bzero (work->new_hash, sizeof work->new_hash);
  g_clear_error (&work->error);
  g_free (work);
}

typedef struct
{
  Work *work;
} WorkLookup;

static gboolean
work_lookup_apply (GwTxn    *txn,
                   gpointer  data,
                   GError  **error)
{
  Work *work = data;
  const GwWalletStoreFuncs *wallet = gw_txn_extension (txn, "wallet");
  GError *local = NULL;

  if (work->login_id != NULL)
    work->found = wallet->user_by_login (txn, work->login_id, &work->user, &local);
  else
    work->found = wallet->user_by_id (txn, work->user_id, &work->user, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

/* Checks work->password against the stored hash. An unknown login is
 * hashed against a random salt all the same, so the answer takes as long. */
static gboolean
work_verify (Work    *work,
             GError **error)
{
  const GwWalletConfig *config = &work->state->config;
  guint8 salt[GW_WALLET_SALT_LEN];
  guint8 hash[32];
  guint iterations = config->pbkdf2_iterations;

  if (!gw_store_read (work->store, work_lookup_apply, work, error))
    return FALSE;
  if (work->found)
    {
      memcpy (salt, work->user.salt, sizeof salt);
      iterations = work->user.iterations;
    }
  else if (!onepin_crypto_random (salt, sizeof salt, error))
    return FALSE;
  if (!gw_wallet_hash_password (config, work->password, salt, iterations, hash, error))
    return FALSE;
  work->verified = work->found && onepin_crypto_equal (hash, work->user.hash, 32);
  return TRUE;
}

static gboolean
work_new_hash (Work    *work,
               GError **error)
{
  return onepin_crypto_random (work->new_salt, sizeof work->new_salt, error) &&
         gw_wallet_hash_password (&work->state->config, work->new_password, work->new_salt,
                                  work->state->config.pbkdf2_iterations, work->new_hash, error);
}

static void
work_run (GTask        *task,
          gpointer      source,
          gpointer      data,
          GCancellable *cancellable)
{
  Work *work = data;
  gboolean ok = TRUE;

  if (work->kind != WORK_REGISTER)
    ok = work_verify (work, &work->error);
  if (ok && work->new_password != NULL && (work->kind == WORK_REGISTER || work->verified))
    work_new_hash (work, &work->error);
  g_task_return_boolean (task, TRUE);
}

static void work_done (GObject      *source,
                       GAsyncResult *result,
                       gpointer      data);

static void
work_run_in_thread (Work *work)
{
  g_autoptr(GTask) task = g_task_new (NULL, NULL, work_done, work);

  work->state->kdf_running++;
  g_task_set_task_data (task, work, NULL);
  g_task_run_in_thread (task, work_run);
}

static void
refuse_busy (GwRequest  *request,
             guint       status,
             guint       retry_after,
             const char *type,
             const char *code,
             const char *message)
{
  g_autofree char *seconds = g_strdup_printf ("%u", retry_after);

  soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                "Retry-After", seconds);
  gw_request_error (request, status, type, code, NULL, message);
}

static void
work_enqueue (Work *work)
{
  GwWalletState *state = work->state;

  if (state->kdf_running < state->kdf_workers)
    return work_run_in_thread (work);
  g_queue_push_tail (&state->kdf_waiting, work);
}

/* On the writer, before the password is hashed: the attempt is counted
 * first, so that guesses sent together cannot pass the limit. A signed-in
 * user's (a password change, the login's or the card's; a calling number)
 * counts under their login ID. */
static gboolean
attempt_begin_apply (GwTxn    *txn,
                     gpointer  data,
                     GError  **error)
{
  Work *work = data;
  const GwWalletStoreFuncs *wallet = gw_txn_extension (txn, "wallet");
  g_auto(GwWalletUser) user = { 0 };
  GError *local = NULL;
  gboolean answered = FALSE;

  /* A retry of a change whose answer was lost sends the old password as the
   * current one: its outcome is looked up before anything is counted. */
  if (work->keyed &&
      !gw_idempotency_replay (txn, work->replay, work->key_hash, work->fingerprint,
                              work->bare_fingerprint, &answered, error))
    return FALSE;
  if (work->kind != WORK_LOGIN)
    {
      if (!wallet->user_by_id (txn, work->user_id, &user, &local))
        return local == NULL || (g_propagate_error (error, local), FALSE);
      gw_wallet_login_hash (&work->state->config, user.login_id, work->login_hash);
    }
  /* Other parameters under the key are a guess at the current password
   * that is never checked (the 422 of a key reused): counted as a failure
   * all the same, or the key would test passwords past the lock. And while
   * the login is locked the replay is refused too, or its stored answer
   * would still tell the right pair from a guess. */
  if (answered && work->replay->replayed)
    return gw_wallet_login_locked (txn, &work->state->config, work->login_hash, &work->locked,
                                   error);
  return gw_wallet_attempt_begin (txn, &work->state->config, work->login_hash, &work->locked,
                                  error);
}

/* The answer stored under the request's key, sent again. */
static void
reply_stored (Work *work)
{
  GwCall *replay = work->replay;

  if (replay->replayed)
    soup_message_headers_replace (soup_server_message_get_response_headers (work->request->msg),
                                  "Idempotent-Replayed", "true");
  gw_request_reply (work->request, replay->status, g_steal_pointer (&replay->body));
}

static void
attempt_begin_done (gpointer      data,
                    const GError *error)
{
  Work *work = data;

  work->state->kdf_counting--;
  /* As for work still in line (work_start_next): a stop waits for no hash. */
  if (g_error_matches (error, GW_STORE_ERROR, GW_STORE_ERROR_SHUTTING_DOWN) ||
      gw_server_is_draining (work->state->server))
    gw_request_error (work->request, 503, "api_error", "unavailable", NULL,
                      "The gateway is shutting down.");
  else if (error != NULL)
    gw_api_wallet_read_failed (work->request, error);
  else if (work->locked)
    gw_request_error (work->request, 429, "rate_limit_error", "login_locked", NULL,
                      "Too many wrong passwords for this login ID. Try again later.");
  else if (work->replay != NULL && work->replay->body != NULL)
    reply_stored (work);
  else
    return work_enqueue (work);
  work_free (work);
}

/* Each PBKDF2 costs a core most of a second, and anyone can ask for one
 * (registration, sign-in), so they are bounded twice: per client address
 * in the server's limiter, and in all by kdf_workers running on GTask
 * threads (whose pool would otherwise grow with the flood) and kdf_queue
 * waiting their turn, in order. Past either, the request is refused at
 * once, with the seconds to wait, rather than starving everything else.
 * Only work that will run counts against the address: a client turned
 * away as busy has cost nothing and may retry after the second it is
 * told to wait. */
static void
work_start (Work *work)
{
  GwRequest *request = work->request;
  GwWalletState *state = gw_api_wallet_state (request->server);
  gboolean can_run;
  guint retry_after;

  work->state = state;
  work->store = gw_server_get_store (request->server);
  /* Work whose attempt is being counted will want a worker too. */
  can_run = state->kdf_running + state->kdf_counting < state->kdf_workers;
  if (!can_run && state->kdf_waiting.length + state->kdf_counting >= state->kdf_queue)
    {
      refuse_busy (request, 503, 1, "api_error", "busy",
                   "The gateway is busy checking passwords. Try again in a moment.");
      return work_free (work);
    }
  if (!gw_server_count_slow_work (request->server, request->remote, state->kdf_per_minute,
                                  &retry_after))
    {
      refuse_busy (request, 429, retry_after, "rate_limit_error", "rate_limited",
                   "Too many sign-ins and registrations from this address. Wait a minute.");
      return work_free (work);
    }
  if (work->kind == WORK_REGISTER)
    return work_enqueue (work);
  if (work->kind == WORK_LOGIN)
    gw_wallet_login_hash (&state->config, work->login_id, work->login_hash);
  state->kdf_counting++;
  gw_store_submit (work->store, attempt_begin_apply, attempt_begin_done, work);
}

/* While the gateway stops, work still waiting for a worker is answered as
 * any new request is then, rather than holding the shutdown for a password
 * hash per place in line. */
static void
work_start_next (GwWalletState *state)
{
  Work *work;

  while ((work = g_queue_pop_head (&state->kdf_waiting)) != NULL)
    {
      if (!gw_server_is_draining (state->server))
        return work_run_in_thread (work);
      gw_request_error (work->request, 503, "api_error", "unavailable", NULL,
                        "The gateway is shutting down.");
      work_free (work);
    }
}

/* Writer operations, and the data they carry */

typedef struct
{
  GwWalletState     *state;
  char             user_id[40];
  char             session_id[40];
  GwWalletUser     user;             /* registration */
  guint8           verified_hash[32];
  guint8           login_hash[32];   /* sign-in and password change */
  guint8           token_hash[32];
  char            *token;
  guint8           new_salt[GW_WALLET_SALT_LEN];
  guint8           new_hash[32];
  char            *password;         /* the new card's */
  gboolean         keyed;            /* a password change's claimed key (Work) */
  guint8           key_hash[32];
  guint8           fingerprint[32];
  JsonObject      *changes;          /* profile update */
  GwFundingSource  funding;
  char            *source_id;
  GwApiPhoneLine   line;             /* a calling number to register */
  char            *line_id;          /* one to remove */
} Op;

static void
op_free (gpointer data)
{
  Op *op = data;

  if (op->keyed)
    gw_server_release_key (op->state->server, op->key_hash);
  gw_wallet_user_clear (&op->user);
  gw_api_wallet_wipe_free (op->token);
  gw_api_wallet_wipe_free (op->password);
  g_clear_pointer (&op->changes, json_object_unref);
  gw_funding_source_clear (&op->funding);
  g_free (op->source_id);
  g_free (op->line_id);
  g_free (op);
}

static Op *
op_new (GwRequest *request)
{
  Op *op = g_new0 (Op, 1);

  op->state = gw_api_wallet_state (request->server);
  g_strlcpy (op->user_id, request->user_id, sizeof op->user_id);
  g_strlcpy (op->session_id, request->session_id, sizeof op->session_id);
  return op;
}

#define WALLET(txn) GW_WALLET_STORE (txn)

/* Renders the user @id into @call with @status. */
static gboolean
reply_user (GwTxn       *txn,
            GwCall      *call,
            const char  *id,
            guint        status,
            GError     **error)
{
  Op *op = call->data;
  GwWalletUser user = { 0 };
  GString *body;
  gboolean ok;

  if (!WALLET (txn)->user_by_id (txn, id, &user, error))
    return error != NULL && *error != NULL
             ? FALSE
             : (gw_api_wallet_refuse_result (call, GW_WALLET_NOT_FOUND), TRUE);
  body = g_string_sized_new (400);
  ok = render_user_sealed (body, op->state->config.ledger, &user, error);
  gw_wallet_user_clear (&user);
  if (!ok)
    return g_string_free (body, TRUE), FALSE;
  gw_call_ok (call, body);
  call->status = status;
  return TRUE;
}

/* Registration */

static gboolean
register_apply (GwTxn   *txn,
                GwCall  *call,
                GError **error)
{
  Op *op = call->data;
  GwWalletResult result;

  op->user.created = txn->funcs->now (txn);
  if (!gw_wallet_register (txn, &op->state->config, &op->user, &result, error))
    return FALSE;
  if (result != GW_WALLET_OK)
    return gw_api_wallet_refuse_result (call, result), TRUE;
  return reply_user (txn, call, op->user.id, 201, error);
}

static void
register_continue (Work *work)
{
  GwRequest *request = work->request;
  JsonObject *body = request->body;
  const GwLedgerConfig *ledger = work->state->config.ledger;
  g_autofree char *id = onepin_crypto_random_token ("usr_", 12);
  g_autofree char *login = g_ascii_strdown (work->login_id, -1);
  GwWalletProfile profile = {
    .name = (char *) onepin_json_get_string (body, "name", ""),
    .email = (char *) onepin_json_get_string (body, "email", ""),
    .phone = (char *) onepin_json_get_string (body, "phone", NULL),
  };
  Op *op = op_new (request);
  GwWalletUser *user = &op->user;
  g_autoptr(GError) error = NULL;

  g_strlcpy (user->id, id, sizeof user->id);
  g_strlcpy (user->login_id, login, sizeof user->login_id);
  memcpy (user->salt, work->new_salt, sizeof user->salt);
  memcpy (user->hash, work->new_hash, sizeof user->hash);
  user->iterations = work->state->config.pbkdf2_iterations;
  g_strlcpy (user->receipt_channel,
             onepin_json_get_string (body, "receipt_channel", "email"),
             sizeof user->receipt_channel);
  g_strlcpy (user->locale, onepin_json_get_string (body, "locale", "ko"), sizeof user->locale);
  user->profile_sealed = gw_wallet_profile_seal (ledger, user->id, &profile, &error);
  if (user->profile_sealed == NULL)
    {
      op_free (op);
      return gw_api_wallet_read_failed (request, error);
    }
  gw_call_submit (gw_call_new (request, register_apply, op, op_free));
}

void
gw_api_wallet_register (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "login_id", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
    { "name", ONEPIN_JSON_STRING, TRUE },
    { "email", ONEPIN_JSON_STRING, TRUE },
    { "phone", ONEPIN_JSON_STRING, FALSE },
    { "receipt_channel", ONEPIN_JSON_STRING, FALSE },
    { "locale", ONEPIN_JSON_STRING, FALSE },
  };
  Work *work;

  if (!check_profile_body (request, fields, G_N_ELEMENTS (fields), TRUE))
    return;
  if (g_strcmp0 (onepin_json_get_string (request->body, "receipt_channel", NULL), "sms") == 0 &&
      onepin_json_get_string (request->body, "phone", NULL) == NULL)
    return gw_request_bad_param (request, "receipt_channel",
                                 "Receipts by SMS need a phone number.");

  work = g_new0 (Work, 1);
  work->kind = WORK_REGISTER;
  work->request = request;
  work->login_id = g_strdup (onepin_json_get_string (request->body, "login_id", ""));
  work->new_password = g_strdup (onepin_json_get_string (request->body, "password", ""));
  work_start (work);
}

/* Sign-in and sign-out */

static gboolean
login_failed_apply (GwTxn   *txn,
                    GwCall  *call,
                    GError **error)
{
  Op *op = call->data;

  /* An unknown login ID is counted (and locked) like a known one. */
  if (!gw_wallet_attempt_failed (txn, &op->state->config, op->login_hash, error))
    return FALSE;
  gw_api_wallet_refuse_result (call, GW_WALLET_INVALID_LOGIN);
  return TRUE;
}

static gboolean
session_apply (GwTxn   *txn,
               GwCall  *call,
               GError **error)
{
  Op *op = call->data;
  GwWalletSession session;
  GwWalletResult result;
  GString *body;

  if (!gw_wallet_open_session (txn, &op->state->config, op->user_id, op->verified_hash,
                               op->token_hash, &session, &result, error))
    return FALSE;
  if (result != GW_WALLET_OK)
    return gw_api_wallet_refuse_result (call, result), TRUE;

  body = g_string_new ("{");
  gw_json_str (body, "id", session.id);
  gw_json_str (body, "object", "wallet_session");
  gw_json_str (body, "token", op->token);
  gw_json_str (body, "user", session.user_id);
  gw_json_int (body, "created", session.created);
  gw_json_int (body, "expires_at", session.expires_at);
  gw_json_close (body, '}');
  gw_api_wallet_created (call, body);
  return TRUE;
}

static void
login_continue (Work *work)
{
  GwRequest *request = work->request;
  Op *op;

  op = op_new (request);
  memcpy (op->login_hash, work->login_hash, sizeof op->login_hash);
  if (work->found)
    g_strlcpy (op->user_id, work->user.id, sizeof op->user_id);
  if (!work->verified)
    return gw_call_submit (gw_call_new (request, login_failed_apply, op, op_free));

  memcpy (op->verified_hash, work->user.hash, 32);
  op->token = onepin_crypto_random_token ("ws_", 32);
  gw_server_hash_api_key (request->server, op->token, op->token_hash);
  gw_call_submit (gw_call_new (request, session_apply, op, op_free));
}

void
gw_api_wallet_login (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "login_id", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
  };
  const char *login_id;
  Work *work;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  login_id = onepin_json_get_string (request->body, "login_id", "");

  work = g_new0 (Work, 1);
  work->kind = WORK_LOGIN;
  work->request = request;
  /* A login ID that could not exist is looked up all the same (and not
   * found), so it is answered like any wrong password. */
  work->login_id = strlen (login_id) <= LOGIN_MAX ? g_ascii_strdown (login_id, -1)
                                                  : g_strdup ("");
  work->password = g_strdup (onepin_json_get_string (request->body, "password", ""));
  work_start (work);
}

static gboolean
logout_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  Op *op = call->data;
  GString *body;

  if (!gw_wallet_close_session (txn, op->session_id, error))
    return FALSE;
  body = g_string_new ("{");
  gw_json_str (body, "id", op->session_id);
  gw_json_str (body, "object", "wallet_session");
  gw_json_bool (body, "revoked", TRUE);
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  return TRUE;
}

void
gw_api_wallet_logout (GwRequest *request)
{
  gw_call_submit (gw_call_new (request, logout_apply, op_new (request), op_free));
}

/* Profile */

typedef struct
{
  const char   *user_id;
  GwWalletUser  user;
  gboolean      found;
  GwCard        card;
  gboolean      has_card;
  GPtrArray    *funding;
  GArray       *history;
  gboolean      with_lines;     /* the card's calling numbers too */
  GArray       *lines;
  gint64        starting_after;
  gint64        after_account;  /* the account starting_after's line is on */
  guint         limit;
} ReadData;

static void
read_data_clear (ReadData *data)
{
  gw_wallet_user_clear (&data->user);
  g_clear_pointer (&data->funding, g_ptr_array_unref);
  g_clear_pointer (&data->history, g_array_unref);
  g_clear_pointer (&data->lines, g_array_unref);
}

static gboolean
read_user_apply (GwTxn    *txn,
                 gpointer  user_data,
                 GError  **error)
{
  ReadData *data = user_data;
  GError *local = NULL;

  data->found = WALLET (txn)->user_by_id (txn, data->user_id, &data->user, &local);
  if (data->found && data->user.card_id[0] != '\0')
    data->has_card = txn->funcs->card_by_id (txn, data->user.card_id, &data->card, &local);
  if (data->has_card && data->limit > 0)
    data->history = WALLET (txn)->history (txn, data->card.account_id, data->starting_after,
                                           data->limit + 1, &local);
  if (data->has_card && data->with_lines && local == NULL)
    data->lines = gw_phone_calling_numbers (txn, data->card.id, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

/* Reads the signed-in user (and card); FALSE after replying on failure. */
static gboolean
read_user (GwRequest *request,
           ReadData  *data)
{
  g_autoptr(GError) error = NULL;

  data->user_id = request->user_id;
  if (!gw_store_read (gw_server_get_store (request->server), read_user_apply, data, &error))
    {
      read_data_clear (data);
      gw_api_wallet_read_failed (request, error);
      return FALSE;
    }
  if (!data->found)
    {
      read_data_clear (data);
      gw_request_error (request, 401, "authentication_error", "unauthorized", NULL,
                        "The session's account no longer exists.");
      return FALSE;
    }
  return TRUE;
}

void
gw_api_wallet_me (GwRequest *request)
{
  ReadData data = { 0 };
  GString *body;
  g_autoptr(GError) error = NULL;

  if (!read_user (request, &data))
    return;
  body = g_string_sized_new (400);
  if (!render_user_sealed (body, gw_api_wallet_state (request->server)->config.ledger, &data.user,
                           &error))
    {
      g_string_free (body, TRUE);
      read_data_clear (&data);
      return gw_api_wallet_read_failed (request, error);
    }
  read_data_clear (&data);
  gw_request_reply (request, 200, body);
}

static void
take_change (JsonObject  *changes,
             const char  *name,
             char       **target)
{
  const char *value = onepin_json_get_string (changes, name, NULL);

  if (value == NULL)
    return;
  g_free (*target);
  *target = value[0] != '\0' ? g_strdup (value) : NULL;
}

static gboolean
update_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  Op *op = call->data;
  const GwLedgerConfig *ledger = op->state->config.ledger;
  GwWalletUser user = { 0 };
  GwWalletProfile profile;
  g_autoptr(GBytes) sealed = NULL;
  const char *channel, *locale;
  gboolean ok;

  if (!WALLET (txn)->user_by_id (txn, op->user_id, &user, error))
    return error != NULL && *error != NULL
             ? FALSE
             : (gw_api_wallet_refuse_result (call, GW_WALLET_NOT_FOUND), TRUE);
  if (!gw_wallet_profile_open (ledger, user.id, user.profile_sealed, &profile, error))
    return gw_wallet_user_clear (&user), FALSE;

  take_change (op->changes, "name", &profile.name);
  take_change (op->changes, "email", &profile.email);
  take_change (op->changes, "phone", &profile.phone);
  channel = onepin_json_get_string (op->changes, "receipt_channel", NULL);
  locale = onepin_json_get_string (op->changes, "locale", NULL);
  if (channel != NULL)
    g_strlcpy (user.receipt_channel, channel, sizeof user.receipt_channel);
  if (locale != NULL)
    g_strlcpy (user.locale, locale, sizeof user.locale);

  /* Checked against the stored profile, which a concurrent update may have changed. */
  if (g_str_equal (user.receipt_channel, "sms") && profile.phone == NULL)
    {
      gw_api_wallet_refuse (call, 400, "invalid_request_error", "parameter_invalid",
                            "receipt_channel", "Receipts by SMS need a phone number.");
      ok = TRUE;
    }
  else
    {
      sealed = gw_wallet_profile_seal (ledger, user.id, &profile, error);
      ok = sealed != NULL &&
           WALLET (txn)->user_set_profile (txn, user.id, sealed, user.receipt_channel,
                                           user.locale, error) &&
           gw_wallet_sync_receipts (txn, ledger, &user, &profile, error) &&
           reply_user (txn, call, user.id, 200, error);
    }
  gw_wallet_profile_clear (&profile);
  gw_wallet_user_clear (&user);
  return ok;
}

void
gw_api_wallet_update (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "name", ONEPIN_JSON_STRING, FALSE },
    { "email", ONEPIN_JSON_STRING, FALSE },
    { "phone", ONEPIN_JSON_STRING, FALSE },
    { "receipt_channel", ONEPIN_JSON_STRING, FALSE },
    { "locale", ONEPIN_JSON_STRING, FALSE },
  };
  Op *op;

  if (!check_profile_body (request, fields, G_N_ELEMENTS (fields), FALSE))
    return;
  op = op_new (request);
  op->changes = json_object_ref (request->body);
  gw_call_submit (gw_call_new (request, update_apply, op, op_free));
}

/* Password change */

static gboolean
password_failed_apply (GwTxn   *txn,
                       GwCall  *call,
                       GError **error)
{
  Op *op = call->data;

  if (!gw_wallet_attempt_failed (txn, &op->state->config, op->login_hash, error))
    return FALSE;
  gw_api_wallet_refuse_result (call, GW_WALLET_PASSWORD_INCORRECT);
  return !op->keyed || gw_idempotency_remember (txn, call, op->key_hash, op->fingerprint, error);
}

static gboolean
password_apply (GwTxn   *txn,
                GwCall  *call,
                GError **error)
{
  Op *op = call->data;
  GwWalletResult result;

  if (!gw_wallet_change_password (txn, &op->state->config, op->user_id, op->session_id,
                                  op->verified_hash, op->new_salt, op->new_hash, &result, error))
    return FALSE;
  /* locked since the hash began: it passes, as a lock found before does */
  if (result == GW_WALLET_LOGIN_LOCKED)
    return gw_api_wallet_refuse_result (call, result), TRUE;
  if (result != GW_WALLET_OK)
    gw_api_wallet_refuse_result (call, result);
  else if (!reply_user (txn, call, op->user_id, 200, error))
    return FALSE;
  call->seal = TRUE;      /* the profile: name, e-mail address, phone */
  return !op->keyed || gw_idempotency_remember (txn, call, op->key_hash, op->fingerprint, error);
}

/* The representative card's password */

static gboolean
card_password_apply (GwTxn   *txn,
                     GwCall  *call,
                     GError **error)
{
  Op *op = call->data;
  GwCard card;
  GwWalletResult result;
  GString *body;

  if (!gw_wallet_change_card_password (txn, &op->state->config, op->user_id, op->verified_hash,
                                       op->password, &card, &result, error))
    return FALSE;
  /* As the login's password change (password_apply): a lock passes, any
   * other outcome is what a retry with the key gets back. */
  if (result == GW_WALLET_LOGIN_LOCKED)
    return gw_api_wallet_refuse_result (call, result), TRUE;
  if (result != GW_WALLET_OK)
    gw_api_wallet_refuse_result (call, result);
  else
    {
      body = g_string_sized_new (400);
      g_string_append_c (body, '{');
      render_card (body, &card, txn->funcs->now (txn));
      g_string_append_c (body, '}');
      gw_call_ok (call, body);
      call->seal = TRUE;  /* the card's balance and the last digits of its number */
    }
  return !op->keyed || gw_idempotency_remember (txn, call, op->key_hash, op->fingerprint, error);
}

/* The card's calling numbers */

static gboolean
add_calling_number_apply (GwTxn   *txn,
                          GwCall  *call,
                          GError **error)
{
  Op *op = call->data;
  GwCard card;
  GwWalletResult result;

  if (!gw_wallet_verified_card (txn, &op->state->config, op->user_id, op->verified_hash, &card,
                                &result, error))
    return FALSE;
  if (result != GW_WALLET_OK)
    return gw_api_wallet_refuse_result (call, result), TRUE;
  return gw_api_phone_change_line (txn, call, &card, &op->line, FALSE, error);
}

/* A line pays with no password at all, so registering one is proved by
 * the login's password, as a change of the card's (the card's own is
 * known to every mall it paid at): checked on a KDF worker and counted
 * towards the login's lockout. The number is checked first, so a wrong
 * one costs no hash. */
void
gw_api_wallet_add_calling_number (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "calling_number", ONEPIN_JSON_STRING, TRUE },
    { "current_password", ONEPIN_JSON_STRING, TRUE },
  };
  GwApiPhoneLine line;
  Work *work;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)) ||
      !gw_api_phone_read_line (request, &line))
    return;

  work = g_new0 (Work, 1);
  work->kind = WORK_CALLING_NUMBER;
  work->request = request;
  work->user_id = g_strdup (request->user_id);
  work->password = g_strdup (onepin_json_get_string (request->body, "current_password", ""));
  work->line = line;
  work_start (work);
}

static gboolean
remove_calling_number_apply (GwTxn   *txn,
                             GwCall  *call,
                             GError **error)
{
  Op *op = call->data;
  GwCard card;
  GwWalletResult result;

  if (!gw_wallet_user_card (txn, op->user_id, &card, &result, error))
    return FALSE;
  if (result != GW_WALLET_OK)
    return gw_api_wallet_refuse_result (call, result), TRUE;
  return gw_api_phone_remove_line_id (txn, call, &card, op->line_id, error);
}

/* Removing takes nothing but the session, as removing a funding source
 * does: it only takes a way to pay away. */
void
gw_api_wallet_remove_calling_number (GwRequest *request)
{
  Op *op = op_new (request);

  op->line_id = g_strdup (request->path_id);
  gw_call_submit (gw_call_new (request, remove_calling_number_apply, op, op_free));
}

/* The login's password checked, for a change of it or of the card's, or
 * for a calling number. */
static void
password_continue (Work *work)
{
  GwRequest *request = work->request;
  Op *op;

  op = op_new (request);
  memcpy (op->login_hash, work->login_hash, sizeof op->login_hash);
  /* the key's claim goes with the call that answers it */
  op->keyed = work->keyed;
  work->keyed = FALSE;
  memcpy (op->key_hash, work->key_hash, sizeof op->key_hash);
  memcpy (op->fingerprint, work->fingerprint, sizeof op->fingerprint);
  if (!work->verified)
    return gw_call_submit (gw_call_new (request, password_failed_apply, op, op_free));
  memcpy (op->verified_hash, work->user.hash, 32);
  if (work->kind == WORK_CARD_PASSWORD)
    {
      op->password = g_strdup (work->card_password);
      return gw_call_submit (gw_call_new (request, card_password_apply, op, op_free));
    }
  if (work->kind == WORK_CALLING_NUMBER)
    {
      op->line = work->line;
      return gw_call_submit (gw_call_new (request, add_calling_number_apply, op, op_free));
    }
  memcpy (op->new_salt, work->new_salt, sizeof op->new_salt);
  memcpy (op->new_hash, work->new_hash, sizeof op->new_hash);
  gw_call_submit (gw_call_new (request, password_apply, op, op_free));
}

/* The key of a password change, in the user's scope, is held from here to
 * the answer; FALSE after answering 409 when it is already. Its record is
 * looked up before the attempt is counted, and only the check's outcome (a
 * change, or a wrong password, counted once) is stored under it: the
 * refusals on the way (busy, rate_limited, login_locked) pass, and are not
 * what a retry should get back. */
static gboolean
password_key_claim (Work *work)
{
  GwRequest *request = work->request;

  gw_server_hash_idempotency_key (request->server, request->scope, request->idempotency_key,
                                  work->key_hash);
  g_clear_pointer (&request->idempotency_key, g_free);
  if (!gw_server_claim_key (request->server, work->key_hash))
    {
      gw_request_error (request, 409, "idempotency_error", "idempotency_in_flight", NULL,
                        "A request with this Idempotency-Key is still in progress.");
      return FALSE;
    }
  work->keyed = TRUE;
  work->state = gw_api_wallet_state (request->server);
  memcpy (work->fingerprint, request->fingerprint, sizeof work->fingerprint);
  memcpy (work->bare_fingerprint, request->bare_fingerprint, sizeof work->bare_fingerprint);
  work->replay = g_new0 (GwCall, 1);
  work->replay->server = request->server;
  return TRUE;
}

/* Both changes check the login's password: the card's own number and
 * password are known to every mall it paid at. */
static void
password_start (GwRequest  *request,
                WorkKind    kind,
                glong       min,
                glong       max,
                const char *message)
{
  static const OnepinJsonField fields[] = {
    { "current_password", ONEPIN_JSON_STRING, TRUE },
    { "new_password", ONEPIN_JSON_STRING, TRUE },
  };
  const char *new_password;
  Work *work;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  new_password = onepin_json_get_string (request->body, "new_password", "");
  if (!gw_api_wallet_length_between (new_password, min, max))
    return gw_request_bad_param (request, "new_password", message);

  work = g_new0 (Work, 1);
  work->kind = kind;
  work->request = request;
  if (request->idempotency_key != NULL && !password_key_claim (work))
    return work_free (work);
  work->user_id = g_strdup (request->user_id);
  work->password = g_strdup (onepin_json_get_string (request->body, "current_password", ""));
  if (kind == WORK_CARD_PASSWORD)
    work->card_password = g_strdup (new_password);
  else
    work->new_password = g_strdup (new_password);
  work_start (work);
}

void
gw_api_wallet_password (GwRequest *request)
{
  password_start (request, WORK_PASSWORD, PASSWORD_MIN, PASSWORD_MAX,
                  "new_password must be 8 to 128 characters.");
}

void
gw_api_wallet_card_password (GwRequest *request)
{
  password_start (request, WORK_CARD_PASSWORD, 4, 64, "new_password must be 4 to 64 characters.");
}

static void
work_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  Work *work = data;
  GwWalletState *state = work->state;

  state->kdf_running--;
  work_start_next (state);

  if (work->error != NULL)
    gw_api_wallet_read_failed (work->request, work->error);
  else if (work->kind == WORK_REGISTER)
    register_continue (work);
  else if (work->kind == WORK_LOGIN)
    login_continue (work);
  else
    password_continue (work);
  work_free (work);
}

/* The representative card */

static gboolean
apply_card_apply (GwTxn   *txn,
                  GwCall  *call,
                  GError **error)
{
  Op *op = call->data;
  GwIssuedCard issued = { 0 };
  GwCard card;
  GwWalletResult result;
  char cvc[4] = "";
  GString *body;

  if (!gw_wallet_issue_card (txn, &op->state->config, op->user_id, op->password, &issued, cvc,
                             &card, &result, error))
    return gw_api_wallet_wipe_free (issued.number), FALSE;
  if (result != GW_WALLET_OK)
    return gw_api_wallet_refuse_result (call, result), TRUE;

  body = g_string_sized_new (512);
  g_string_append_c (body, '{');
  render_card (body, &card, txn->funcs->now (txn));
  gw_json_str (body, "number", issued.number);
  gw_json_str (body, "cvc", cvc);
  gw_json_close (body, '}');
  gw_api_wallet_created (call, body);
  call->seal = TRUE;      /* the only copy of the number and CVC */
  gw_api_wallet_wipe_free (issued.number);
  explicit_bzero (cvc, sizeof cvc);
  return TRUE;
}

/* A replay of the application carries a card password, the card's first:
 * the right one gets the stored answer, any other the 422 of a key reused.
 * Whoever held the session and the key could so try passwords past the
 * card's lockout. So another password is checked against the card as any
 * route checks one, a wrong one counted towards the lock (the 422 stays, as
 * the contract answers a key reused), and while the card is locked both
 * answer card_locked, as every request on it does. */
static gboolean
apply_card_answered (GwTxn   *txn,
                     GwCall  *call,
                     GError **error)
{
  Op *op = call->data;
  GwOutcome locked = { .code = GW_RESULT_DECLINED, .decline = GW_DECLINE_CARD_LOCKED };
  GwCard card;
  GwWalletResult result;

  if (!gw_wallet_user_card (txn, op->user_id, &card, &result, error))
    return FALSE;
  if (result != GW_WALLET_OK)
    return TRUE;
  if (call->replayed && card.locked_until <= txn->funcs->now (txn))
    return TRUE;
  if (!call->replayed)
    {
      /* call_apply counts a wrong one's refusal, as for any route's. */
      if (!gw_ledger_check_password (txn, op->state->config.ledger, &card, op->password,
                                     &call->outcome, error))
        return FALSE;
      if (call->outcome.decline != GW_DECLINE_CARD_LOCKED)
        return TRUE;
    }
  call->replayed = FALSE;
  g_string_free (g_steal_pointer (&call->body), TRUE);
  gw_call_fail (call, &locked, NULL);
  return TRUE;
}

void
gw_api_wallet_apply (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "password", ONEPIN_JSON_STRING, TRUE },
  };
  const char *password;
  GwCall *call;
  Op *op;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  password = onepin_json_get_string (request->body, "password", "");
  if (!gw_api_wallet_length_between (password, 4, 64))
    return gw_request_bad_param (request, "password", "password must be 4 to 64 characters.");
  op = op_new (request);
  op->password = g_strdup (password);
  call = gw_call_new (request, apply_card_apply, op, op_free);
  call->check_answered = apply_card_answered;
  gw_call_submit (call);
}

void
gw_api_wallet_card (GwRequest *request)
{
  ReadData data = { 0 };
  GString *body;

  if (!read_user (request, &data))
    return;
  if (!data.has_card)
    {
      read_data_clear (&data);
      return gw_request_error (request, 404, "invalid_request_error", "resource_missing", NULL,
                               "No representative card yet. Apply with POST /v1/wallet/card.");
    }
  body = g_string_sized_new (400);
  g_string_append_c (body, '{');
  render_card (body, &data.card, gw_api_wallet_now ());
  g_string_append_c (body, '}');
  read_data_clear (&data);
  gw_request_reply (request, 200, body);
}

void
gw_api_wallet_list_calling_numbers (GwRequest *request)
{
  ReadData data = { .with_lines = TRUE };
  GString *body;

  if (!read_user (request, &data))
    return;
  if (!data.has_card)
    {
      read_data_clear (&data);
      return reply_refusal (request, GW_WALLET_CARD_NOT_ISSUED);
    }
  body = g_string_new (NULL);
  gw_api_phone_render_lines (body, gw_server_get_ledger_config (request->server), &data.card,
                             data.lines);
  read_data_clear (&data);
  gw_request_reply (request, 200, body);
}

/* History */

static const char *
history_type (const GwWalletHistoryItem *item)
{
  if (g_str_equal (item->kind, "recharge") && g_str_equal (item->channel, "wallet"))
    return "charge";
  return item->kind;
}

static void
render_history_item (GString                   *out,
                     const GwLedgerConfig      *config,
                     const GwCard              *card,
                     const GwWalletHistoryItem *item)
{
  const char *currency = card->currency;
  char id[GW_LINE_ID_LEN + 1];
  gboolean charge = g_str_equal (history_type (item), "charge");

  gw_ledger_line_id (config, card->account_id, item->id, id);
  g_string_append_c (out, '{');
  gw_json_str (out, "id", id);
  gw_json_str (out, "object", "wallet_transaction");
  gw_json_str (out, "type", history_type (item));
  gw_json_int (out, "amount", item->amount);
  gw_json_int (out, "balance_after", item->balance_after);
  gw_json_str (out, "currency", currency);
  gw_json_str (out, "description", item->description);
  if (item->merchant_id[0] != '\0')
    {
      g_string_append (out, ",\"merchant\":{");
      gw_json_str (out, "id", item->merchant_id);
      gw_json_str (out, "name", item->merchant_name ? item->merchant_name : item->merchant_id);
      g_string_append_c (out, '}');
    }
  else
    gw_json_str (out, "merchant", NULL);
  gw_json_str (out, "payment", item->payment_id[0] ? item->payment_id : NULL);
  gw_json_str (out, "refund", g_str_has_prefix (item->ref, "re_") ? item->ref : NULL);
  gw_json_str (out, "charge", charge ? item->ref : NULL);
  if (charge && item->funding_id[0] != '\0')
    {
      g_string_append (out, ",\"funding_source\":{");
      gw_json_str (out, "id", item->funding_id);
      gw_json_str (out, "type", item->funding_type);
      gw_json_str (out, "last4", item->funding_last4);
      g_string_append_c (out, '}');
    }
  else
    gw_json_str (out, "funding_source", NULL);
  gw_json_int (out, "created", item->created);
  g_string_append_c (out, '}');
}

/* limit and starting_after (the route refused any other); FALSE after
 * replying 400. */
static gboolean
history_query (GwRequest *request,
               ReadData  *data)
{
  const char *after = request->query ? g_hash_table_lookup (request->query, "starting_after")
                                     : NULL;
  gint64 line = 0, account = 0;

  if (!gw_request_limit (request, 20, &data->limit))
    return FALSE;
  if (after != NULL &&
      !gw_ledger_line_id_parse (gw_server_get_ledger_config (request->server), after,
                                &account, &line))
    {
      gw_request_bad_param (request, "starting_after",
                            "starting_after must be one of your history item ids.");
      return FALSE;
    }
  data->starting_after = line;
  data->after_account = account;
  return TRUE;
}

void
gw_api_wallet_history (GwRequest *request)
{
  ReadData data = { 0 };
  GString *body;
  guint n;

  if (!history_query (request, &data) || !read_user (request, &data))
    return;
  if (data.after_account != 0 && (!data.has_card || data.card.account_id != data.after_account))
    {
      read_data_clear (&data);
      return gw_request_bad_param (request, "starting_after",
                                   "starting_after must be one of your history item ids.");
    }
  n = data.history ? MIN (data.history->len, data.limit) : 0;
  body = g_string_new ("{\"object\":\"list\",\"data\":[");
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (body, ',');
      render_history_item (body, gw_server_get_ledger_config (request->server), &data.card,
                           &g_array_index (data.history, GwWalletHistoryItem, i));
    }
  g_string_append_c (body, ']');
  gw_json_bool (body, "has_more", data.history != NULL && data.history->len > data.limit);
  gw_json_close (body, '}');
  read_data_clear (&data);
  gw_request_reply (request, 200, body);
}
