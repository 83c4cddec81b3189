/* bank-server.c: routes, authentication, errors and idempotency
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Everything runs on the main thread: each request is one SQLite
 * transaction that holds its effects and its idempotency record together,
 * committed before the reply is sent. A "slow" test instrument commits
 * first and only then holds its reply back, which is what a bank that
 * times out after doing the work looks like to its client.
 */
#include "bank-server-private.h"
#include "bank-callbacks.h"
#include "onepin-soup-server.h"
#include "onepin-text.h"

#include <string.h>

#define MAX_BODY (64 * 1024)
#define TOO_LARGE "onepin-bank-body-too-large"   /* set on a message whose body was dropped */
#define JSON_TYPE "application/json; charset=utf-8"

/* Which keys a route takes (any one of them), as Authorization: Bearer <key>. */
typedef enum
{
  AUTH_NONE = 0,
  AUTH_API = 1 << 0,          /* the API key: the gateway */
  AUTH_SMS = 1 << 1,          /* the SMS key */
  AUTH_ACQUIRER = 1 << 2,     /* the acquirer key: the malls */
  AUTH_OPERATOR = 1 << 3,     /* the operator key: the bank's own staff */
} Auth;

typedef enum
{
  KEY_NONE,
  KEY_OPTIONAL,
  KEY_REQUIRED,
} KeyUse;

typedef struct
{
  const char  *method;
  const char  *pattern;
  Auth         auth;
  KeyUse       key;
  BankHandler  handler;
} Route;

static gboolean handle_healthz (BankRequest  *request,
                                GError      **error);

/* Idempotency keys are kept per route: the gateway may use one key for a
 * charge and for its void. The bank's operator reads the acquirer's
 * payments too, and alone closes their reconciliations. */
static const Route routes[] = {
  { "GET",  "/healthz",                              AUTH_NONE, KEY_NONE,     handle_healthz },
  { "POST", "/v1/charges",                           AUTH_API,  KEY_REQUIRED, bank_api_charges_create },
  { "GET",  "/v1/charges",                           AUTH_API,  KEY_NONE,     bank_api_charges_find },
  { "POST", "/v1/charges/void",                      AUTH_API,  KEY_REQUIRED, bank_api_charges_void },
  { "GET",  "/v1/charges/{id}",                      AUTH_API,  KEY_NONE,     bank_api_charges_get },
  { "POST", "/v1/virtual-accounts/{id}/deposit",     AUTH_NONE, KEY_OPTIONAL, bank_api_deposit },
  { "POST", "/v1/payouts",                           AUTH_API,  KEY_REQUIRED, bank_api_payouts_create },
  { "GET",  "/v1/payouts",                           AUTH_API,  KEY_NONE,     bank_api_payouts_find },
  { "GET",  "/v1/accounts/{id}",                     AUTH_API,  KEY_NONE,     bank_api_accounts_get },
  { "POST", "/v1/sms",                               AUTH_SMS,  KEY_OPTIONAL, bank_api_sms_create },
  { "GET",  "/v1/sms",                               AUTH_SMS,  KEY_NONE,     bank_api_sms_list },
  { "POST", "/v1/acquirer/payments",                 AUTH_ACQUIRER, KEY_REQUIRED, bank_api_acquirer_create },
  { "GET",  "/v1/acquirer/payments/{id}",            AUTH_ACQUIRER | AUTH_OPERATOR, KEY_NONE, bank_api_acquirer_get },
  { "POST", "/v1/acquirer/payments/{id}/capture",    AUTH_ACQUIRER, KEY_REQUIRED, bank_api_acquirer_capture },
  { "POST", "/v1/acquirer/payments/{id}/cancel",     AUTH_ACQUIRER, KEY_REQUIRED, bank_api_acquirer_cancel },
  { "POST", "/v1/acquirer/payments/{id}/refund",     AUTH_ACQUIRER, KEY_REQUIRED, bank_api_acquirer_refund },
  { "POST", "/v1/acquirer/payments/{id}/reconciliation", AUTH_OPERATOR, KEY_REQUIRED, bank_api_acquirer_reconcile },
};

struct _BankServer
{
  GObject           parent_instance;

  const BankConfig *config;
  const BankKeys   *keys;
  BankStore        *store;
  BankCallbacks    *callbacks;
  BankNetwork      *network;
  SoupServer       *soup;
  GHashTable       *held;        /* BankRequest* -> source id, replies held back */
  GHashTable       *suspended;   /* "route\nkey" of requests waiting for the card network */
};

G_DEFINE_FINAL_TYPE (BankServer, bank_server, G_TYPE_OBJECT)

BankStore *
bank_server_get_store (BankServer *self)
{
  return self->store;
}

BankNetwork *
bank_server_get_network (BankServer *self)
{
  return self->network;
}

const BankKeys *
bank_server_get_keys (BankServer *self)
{
  return self->keys;
}

const BankConfig *
bank_server_get_config (BankServer *self)
{
  return self->config;
}

SoupServer *
bank_server_get_soup (BankServer *self)
{
  return self->soup;
}

gint64
bank_server_now (BankServer *self)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* ---- replies ------------------------------------------------------------ */

static char *
object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return json_to_string (node, FALSE);
}

static void
set_reply (BankRequest *request,
           guint        status,
           char        *body)
{
  g_free (request->reply);
  request->reply = body;
  request->status = status;
}

gboolean
bank_reply (BankRequest *request,
            guint        status,
            JsonObject  *object)
{
  set_reply (request, status, object_to_string (object));
  json_object_unref (object);
  return TRUE;
}

static gboolean
reply_error_full (BankRequest *request,
                  guint        status,
                  const char  *type,
                  const char  *code,
                  const char  *decline_code,
                  const char  *param,
                  const char  *message)
{
  JsonObject *root = json_object_new ();
  JsonObject *error = json_object_new ();

  json_object_set_string_member (error, "type", type);
  json_object_set_string_member (error, "code", code);
  if (decline_code != NULL)
    json_object_set_string_member (error, "decline_code", decline_code);
  json_object_set_string_member (error, "message", message);
  if (param != NULL)
    json_object_set_string_member (error, "param", param);
  json_object_set_object_member (root, "error", error);
  return bank_reply (request, status, root);
}

gboolean
bank_reply_error (BankRequest *request,
                  guint        status,
                  const char  *type,
                  const char  *code,
                  const char  *param,
                  const char  *message)
{
  return reply_error_full (request, status, type, code, NULL, param, message);
}

gboolean
bank_reply_bad_param (BankRequest *request,
                      const char  *param,
                      const char  *message)
{
  return reply_error_full (request, 400, "invalid_request_error", "parameter_invalid", NULL,
                           param, message);
}

gboolean
bank_reply_decline (BankRequest *request,
                    const char  *decline_code,
                    const char  *message)
{
  return reply_error_full (request, 402, "card_error", "card_declined", decline_code, NULL,
                           message);
}

/* "a, b or c": the members @fields allows. */
static char *
field_names (const OnepinJsonField *fields,
             gsize                  n_fields)
{
  GString *names = g_string_new (NULL);

  for (gsize i = 0; i < n_fields; i++)
    g_string_append_printf (names, "%s%s", i == 0 ? "" : i + 1 < n_fields ? ", " : " or ",
                            fields[i].name);
  return g_string_free (names, FALSE);
}

/* An unknown member's name is the client's, not one of ours: it may be a
 * card number or a password sent in the wrong place, or as the name. So
 * the answer (which is kept under the request's key) repeats neither it
 * nor its value: it names the object that holds it, if not the body, and
 * what that object takes. */
static void
reply_unknown_member (BankRequest           *request,
                      const char            *parent,
                      const OnepinJsonField *fields,
                      gsize                  n_fields)
{
  const char *holder = parent ? parent : "The body";
  g_autofree char *names = field_names (fields, n_fields);
  g_autofree char *message = NULL;

  if (n_fields == 0)
    message = g_strdup_printf ("%s takes no parameters; its members are not repeated here.",
                               holder);
  else
    message = g_strdup_printf ("%s has a member that is not one of %s; its name is not "
                               "repeated here.", holder, names);
  reply_error_full (request, 400, "invalid_request_error", "parameter_unknown", NULL, parent,
                    message);
}

gboolean
bank_check_object (BankRequest           *request,
                   JsonObject            *object,
                   const char            *parent,
                   const OnepinJsonField *fields,
                   gsize                  n_fields)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *param = NULL;
  g_autofree char *message = NULL;
  const char *name = NULL;
  const char *code = "parameter_invalid";

  if (onepin_json_check_fields (object, fields, n_fields, &name, &error))
    return TRUE;
  if (g_error_matches (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_UNKNOWN_FIELD))
    {
      reply_unknown_member (request, parent, fields, n_fields);
      return FALSE;
    }
  /* Missing or of the wrong type: one of @fields, ours to name. */
  if (g_error_matches (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_MISSING))
    code = "parameter_missing";
  param = parent ? g_strconcat (parent, ".", name, NULL) : g_strdup (name);
  message = g_strdup_printf ("%s: %s", g_str_equal (code, "parameter_missing")
                                         ? "Missing parameter" : "Invalid type for parameter",
                             param);
  reply_error_full (request, 400, "invalid_request_error", code, NULL, param, message);
  return FALSE;
}

gboolean
bank_check_body (BankRequest           *request,
                 const OnepinJsonField *fields,
                 gsize                  n_fields)
{
  return bank_check_object (request, request->body, NULL, fields, n_fields);
}

gboolean
bank_check_text (BankRequest *request,
                 JsonObject  *object,
                 const char  *name,
                 const char  *param,
                 glong        min,
                 glong        max)
{
  const char *value = onepin_json_get_string (object, name, NULL);
  g_autofree char *message = NULL;
  glong len = value ? g_utf8_strlen (value, -1) : 0;

  if (value == NULL && min == 0)
    return TRUE;
  /* Names and descriptions reach other parties (field 43, statements):
   * nothing that hides or turns text around, as the gateway asks. */
  if (value != NULL && len >= min && len <= max &&
      onepin_text_is_display_safe (value, ONEPIN_TEXT_ONE_LINE))
    return TRUE;
  message = g_strdup_printf ("%s is %ld to %ld printable characters", param, MAX (min, 1), max);
  bank_reply_bad_param (request, param, message);
  return FALSE;
}

gboolean
bank_url_valid (const char *url)
{
  g_autoptr(GUri) uri = url ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;
  const char *host = uri ? g_uri_get_host (uri) : NULL;

  return scheme != NULL && (g_str_equal (scheme, "http") || g_str_equal (scheme, "https")) &&
         host != NULL && *host != '\0';
}

void
bank_secret_free (char *secret)
{
  if (secret == NULL)
    return;
  explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

/* Allocated once at its final size, and wiped when refused: the digits may
 * be a card number, and a growing buffer would leave copies behind. */
char *
bank_digits (const char *text,
             gsize       min,
             gsize       max)
{
  g_autoptr(BankSecret) digits = NULL;
  gsize n = 0;

  if (text == NULL)
    return NULL;
  digits = g_malloc0 (strlen (text) + 1);
  for (const char *p = text; *p != '\0'; p++)
    {
      if (g_ascii_isdigit (*p))
        digits[n++] = *p;
      else if (*p != '-' && *p != ' ')
        return NULL;
      if (n > max)
        return NULL;
    }
  if (n < min)
    return NULL;
  return g_steal_pointer (&digits);
}

/* ---- requests ----------------------------------------------------------- */

static void
request_free (BankRequest *request)
{
  if (request->data_free != NULL)
    request->data_free (request->data);
  g_clear_object (&request->msg);
  g_free (request->path_id);
  /* Bodies carry card numbers, CVCs and passwords: the bank's copies of
   * them go with the request (libsoup's own, of the raw text, it keeps). */
  if (request->body != NULL)
    onepin_json_object_wipe (request->body);
  g_clear_pointer (&request->body, json_object_unref);
  g_clear_pointer (&request->query, g_hash_table_unref);
  g_free (request->idempotency_key);
  g_free (request->reply);
  g_free (request);
}

static void
send_reply (BankRequest *request)
{
  SoupServerMessage *msg = request->msg;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  gsize len = strlen (request->reply);

  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_server_message_set_status (msg, request->status, NULL);
  soup_server_message_set_response (msg, JSON_TYPE, SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&request->reply), len);
  soup_server_message_unpause (msg);
  request_free (request);
}

static gboolean
release_held (gpointer user_data)
{
  BankRequest *request = user_data;

  g_hash_table_steal (request->server->held, request);
  send_reply (request);
  return G_SOURCE_REMOVE;
}

static void
finish (BankRequest *request)
{
  BankServer *self = request->server;

  if (request->callbacks_added)
    bank_callbacks_kick (self->callbacks);
  if (request->advices_added)
    bank_network_kick (self->network);
  if (request->delay > 0)
    {
      guint id = g_timeout_add_seconds (request->delay, release_held, request);

      g_hash_table_insert (self->held, request, GUINT_TO_POINTER (id));
      return;
    }
  send_reply (request);
}

static gboolean
handle_healthz (BankRequest  *request,
                GError      **error)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "status", "ok");
  return bank_reply (request, 200, o);
}

/* ---- idempotency and transactions --------------------------------------- */

static void
fingerprint (BankRequest *request,
             guint8       out[32])
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), request->body);
  const char *path_id = request->path_id ? request->path_id : "";
  g_autoptr(GString) text = NULL;

  /* Sized once, and wiped: the body holds a card number or a password. */
  text = g_string_sized_new (strlen (request->route) + strlen (path_id) + 2 +
                             onepin_json_canonical_bound (node));
  g_string_append_printf (text, "%s %s\n", request->route, path_id);
  onepin_json_append_canonical_object (text, request->body, NULL);
  /* Keyed, because a bare hash of a short secret gives it away. */
  onepin_key_hmac (request->server->keys->fingerprint, text->str, text->len, out);
  explicit_bzero (text->str, text->len);
}

const guint8 BANK_FINGERPRINT_UNKNOWN[32] = { 0 };

gboolean
bank_request_replay (BankRequest  *request,
                     gboolean     *found,
                     GError      **error)
{
  guint8 stored_fp[32];
  guint status = 0;
  g_autofree char *body = NULL;

  if (!bank_store_idempotency_get (request->server->store, request->route,
                                   request->idempotency_key, stored_fp, &status, &body, found,
                                   error))
    return FALSE;
  if (*found && onepin_crypto_equal (stored_fp, BANK_FINGERPRINT_UNKNOWN, 32))
    *found = FALSE;
  if (!*found)
    return TRUE;
  request->replayed = TRUE;
  if (!onepin_crypto_equal (stored_fp, request->fingerprint, 32))
    return bank_reply_error (request, 422, "idempotency_error", "idempotency_key_reused", NULL,
                             "This Idempotency-Key was used with other parameters.");
  set_reply (request, status, g_steal_pointer (&body));
  soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                "Idempotent-Replayed", "true");
  return TRUE;
}

/* The outcome, whatever it was, is kept with the request's key; but not a
 * failure, nor a conflict that will pass, so that a retry gets the answer
 * the request would have had. */
static gboolean
record (BankRequest  *request,
        GError      **error)
{
  if (request->idempotency_key == NULL || request->status >= 500 || request->transient ||
      request->replayed)
    return TRUE;
  return bank_store_idempotency_put (request->server->store, request->route,
                                     request->idempotency_key, request->fingerprint,
                                     request->status, request->reply, error);
}

static gboolean
apply (BankRequest  *request,
       const Route  *route,
       GError      **error)
{
  gboolean found = FALSE;

  if (request->idempotency_key != NULL)
    {
      fingerprint (request, request->fingerprint);
      if (!bank_request_replay (request, &found, error))
        return FALSE;
      if (found)
        return TRUE;
    }
  if (!route->handler (request, error))
    return FALSE;
  return request->suspended || record (request, error);
}

#define FAILED_NOTHING_DONE \
  "The bank failed and did nothing. Retry with the same Idempotency-Key."
#define FAILED_ANSWER_LOST \
  "The bank could not record the card network's answer. Retry with the same " \
  "Idempotency-Key for the outcome."

static void fail          (BankRequest  *request,
                           const GError *error,
                           const char   *message);
static void start_waiting (BankRequest  *request);

static void
run_in_transaction (BankRequest *request,
                    const Route *route)
{
  BankStore *store = request->server->store;
  g_autoptr(GError) error = NULL;

  if (bank_store_begin (store, &error) && apply (request, route, &error) &&
      bank_store_commit (store, &error))
    {
      if (request->suspended)
        start_waiting (request);
      else
        finish (request);
      return;
    }
  fail (request, error, FAILED_NOTHING_DONE);
}

/* Nothing of the transaction stays; the client may retry with its key. */
static void
fail (BankRequest  *request,
      const GError *error,
      const char   *message)
{
  bank_store_rollback (request->server->store);
  g_warning ("%s failed: %s", request->route, error ? error->message : "?");
  request->delay = 0;
  request->callbacks_added = FALSE;
  request->advices_added = FALSE;
  bank_reply_error (request, 500, "api_error", "internal", NULL, message);
  send_reply (request);
}

static char *
suspended_key (BankRequest *request)
{
  return g_strconcat (request->route, "\n", request->idempotency_key, NULL);
}

static void
start_waiting (BankRequest *request)
{
  if (request->idempotency_key != NULL)
    g_hash_table_add (request->server->suspended, suspended_key (request));
  if (request->advices_added)
    bank_network_kick (request->server->network);
  request->advices_added = FALSE;
  request->on_commit (request);
}

void
bank_request_suspend (BankRequest    *request,
                      void          (*on_commit) (BankRequest *request),
                      gpointer        data,
                      GDestroyNotify  data_free)
{
  request->suspended = TRUE;
  request->on_commit = on_commit;
  request->data = data;
  request->data_free = data_free;
}

void
bank_request_resume (BankRequest *request,
                     BankHandler  handler)
{
  BankStore *store = request->server->store;
  g_autoptr(GError) error = NULL;

  if (request->idempotency_key != NULL)
    {
      g_autofree char *key = suspended_key (request);

      g_hash_table_remove (request->server->suspended, key);
    }
  request->suspended = FALSE;
  if (bank_store_begin (store, &error) && handler (request, &error) && !request->suspended &&
      record (request, &error) && bank_store_commit (store, &error))
    {
      finish (request);
      return;
    }
  /* What the first transaction wrote stays (a payment still pending, a
   * message not answered): a retry of the key settles it. */
  fail (request, error, FAILED_ANSWER_LOST);
}

/* ---- dispatch ----------------------------------------------------------- */

/* Matches path segments; "{id}" stands for one non-empty segment. */
static gboolean
match_pattern (const char  *pattern,
               const char  *path,
               char       **id)
{
  g_auto(GStrv) want = g_strsplit (pattern, "/", -1);
  g_auto(GStrv) have = g_strsplit (path, "/", -1);
  guint n = g_strv_length (want);

  if (g_strv_length (have) != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      if (g_str_equal (want[i], "{id}"))
        {
          if (*have[i] == '\0')
            return FALSE;
          g_free (*id);
          *id = g_uri_unescape_string (have[i], NULL);
          if (*id == NULL)
            return FALSE;
        }
      else if (!g_str_equal (want[i], have[i]))
        return FALSE;
    }
  return TRUE;
}

static const Route *
match_route (const char  *method,
             const char  *path,
             char       **id,
             gboolean    *path_known)
{
  *path_known = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      g_autofree char *found = NULL;

      if (!match_pattern (routes[i].pattern, path, &found))
        continue;
      *path_known = TRUE;
      if (g_str_equal (routes[i].method, method))
        {
          *id = g_steal_pointer (&found);
          return &routes[i];
        }
    }
  return NULL;
}

static const char *
auth_key (const BankKeys *keys,
          guint           one)
{
  switch (one)
    {
    case AUTH_API:
      return keys->api_key;
    case AUTH_SMS:
      return keys->sms_key;
    case AUTH_ACQUIRER:
      return keys->acquirer_key;
    default:
      return keys->operator_key;
    }
}

static const char *
auth_name (Auth auth)
{
  switch ((guint) auth)
    {
    case AUTH_API:
      return "API key";
    case AUTH_SMS:
      return "SMS key";
    case AUTH_ACQUIRER:
      return "acquirer key";
    case AUTH_OPERATOR:
      return "operator key";
    default:
      return "acquirer or operator key";
    }
}

static gboolean
authenticate (BankRequest *request,
              Auth         auth)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->msg);
  const char *value = soup_message_headers_get_one (headers, "Authorization");
  g_autofree char *message = NULL;

  if (auth == AUTH_NONE)
    return TRUE;
  if (value != NULL && g_ascii_strncasecmp (value, "Bearer ", 7) == 0)
    for (guint one = AUTH_API; one <= AUTH_OPERATOR; one <<= 1)
      if ((auth & one) != 0 &&
          onepin_crypto_str_equal (value + 7, auth_key (request->server->keys, one)))
        {
          request->as_operator = one == AUTH_OPERATOR;
          return TRUE;
        }
  message = g_strdup_printf ("Missing or invalid %s. Send it as: Authorization: Bearer <key>.",
                             auth_name (auth));
  bank_reply_error (request, 401, "authentication_error", "unauthorized", NULL, message);
  return FALSE;
}

static gboolean
read_idempotency_key (BankRequest *request,
                      KeyUse       use)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->msg);
  const char *key = soup_message_headers_get_one (headers, "Idempotency-Key");
  gsize len;

  if (use == KEY_NONE)
    return TRUE;
  if (key == NULL)
    {
      if (use == KEY_OPTIONAL)
        return TRUE;
      bank_reply_error (request, 400, "invalid_request_error", "parameter_missing",
                        "Idempotency-Key", "Every call that moves money needs an Idempotency-Key.");
      return FALSE;
    }
  len = strlen (key);
  for (gsize i = 0; i < len; i++)
    if (key[i] < 0x20 || key[i] > 0x7e)
      len = 0;
  if (len < 1 || len > 255)
    {
      bank_reply_bad_param (request, "Idempotency-Key",
                            "Idempotency-Key must be 1 to 255 printable ASCII characters.");
      return FALSE;
    }
  request->idempotency_key = g_strdup (key);
  return TRUE;
}

static gboolean
read_body (BankRequest *request)
{
  SoupMessageBody *body = soup_server_message_get_request_body (request->msg);

  if (body->length > MAX_BODY || g_object_get_data (G_OBJECT (request->msg), TOO_LARGE))
    {
      bank_reply_error (request, 413, "invalid_request_error", "body_too_large", NULL,
                        "The request body is larger than 64 KB.");
      return FALSE;
    }
  request->body = body->length == 0 ? json_object_new ()
                                    : onepin_json_parse_object (body->data, body->length, NULL);
  if (request->body == NULL)
    {
      bank_reply_error (request, 400, "invalid_request_error", "body_invalid", NULL,
                        "The body must be a JSON object in UTF-8.");
      return FALSE;
    }
  return TRUE;
}

/* A request with this key is still waiting for the card network. */
static gboolean
still_waiting (BankRequest *request)
{
  g_autofree char *key = NULL;

  if (request->idempotency_key == NULL)
    return FALSE;
  key = suspended_key (request);
  if (!g_hash_table_contains (request->server->suspended, key))
    return FALSE;
  bank_reply_error (request, 409, "idempotency_error", "idempotency_in_flight", NULL,
                    "A request with this Idempotency-Key is still in progress.");
  return TRUE;
}

static void
dispatch (BankRequest *request,
          const Route *route)
{
  if (authenticate (request, route->auth) &&
      read_idempotency_key (request, route->key) && !still_waiting (request) &&
      (!g_str_equal (route->method, "POST") || read_body (request)))
    {
      if (request->body == NULL)
        request->body = json_object_new ();
      run_in_transaction (request, route);
      return;
    }
  send_reply (request);
}

static void
handle_request (SoupServer        *soup,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  BankServer *self = user_data;
  BankRequest *request = g_new0 (BankRequest, 1);
  const Route *route;
  gboolean path_known;

  request->server = self;
  request->msg = g_object_ref (msg);
  request->query = query ? g_hash_table_ref (query) : NULL;
  soup_server_message_pause (msg);

  route = match_route (soup_server_message_get_method (msg), path, &request->path_id,
                       &path_known);
  request->route = route ? route->pattern : "unmatched";
  if (route != NULL)
    {
      dispatch (request, route);
      return;
    }
  if (path_known)
    bank_reply_error (request, 405, "invalid_request_error", "method_not_allowed", NULL,
                      "This method is not allowed on this path.");
  else
    bank_reply_error (request, 404, "invalid_request_error", "resource_missing", NULL,
                      "Unrecognized request URL.");
  send_reply (request);
}

/* Bodies over MAX_BODY are refused, and never held in memory on the way:
 * libsoup reads a request's whole body before the handler runs. */
static void
on_got_chunk (SoupServerMessage *msg,
              GBytes            *chunk,
              gpointer           user_data)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  if (body->length <= MAX_BODY)
    return;
  soup_message_body_set_accumulate (body, FALSE);
  soup_message_body_truncate (body);
  g_object_set_data (G_OBJECT (msg), TOO_LARGE, GINT_TO_POINTER (TRUE));
}

/* Runs once the headers are read, before the body. A length we refuse
 * anyway (too long, or negative) is answered here: the body is then read and dropped (or, if the
 * client waits for "100 Continue", never sent). A body of unknown length
 * is counted as it comes. */
static void
handle_early (SoupServer        *soup,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);
  goffset length = soup_message_headers_get_content_length (headers);
  BankRequest request = { .server = user_data, .msg = msg };
  gsize len;

  if (encoding == SOUP_ENCODING_NONE ||
      (encoding == SOUP_ENCODING_CONTENT_LENGTH && length >= 0 && length <= MAX_BODY))
    return;
  if (encoding != SOUP_ENCODING_CONTENT_LENGTH)
    {
      g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), NULL);
      return;
    }
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  /* libsoup 3.2 takes a negative Content-Length and reads no body. */
  if (length < 0)
    bank_reply_error (&request, 400, "invalid_request_error", "body_invalid", NULL,
                      "Content-Length must be a length.");
  else
    bank_reply_error (&request, 413, "invalid_request_error", "body_too_large", NULL,
                      "The request body is larger than 64 KB.");
  len = strlen (request.reply);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Cache-Control", "no-store");
  soup_server_message_set_status (msg, request.status, NULL);
  soup_server_message_set_response (msg, JSON_TYPE, SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&request.reply), len);
}

/* ---- lifecycle ---------------------------------------------------------- */

static void
bank_server_finalize (GObject *object)
{
  BankServer *self = BANK_SERVER (object);
  GHashTableIter iter;
  gpointer request;
  gpointer id;

  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
  /* Replies still held back are dropped with their connections. */
  g_hash_table_iter_init (&iter, self->held);
  while (g_hash_table_iter_next (&iter, &request, &id))
    {
      g_source_remove (GPOINTER_TO_UINT (id));
      request_free (request);
    }
  g_clear_pointer (&self->held, g_hash_table_unref);
  g_clear_pointer (&self->suspended, g_hash_table_unref);
  g_clear_pointer (&self->callbacks, bank_callbacks_free);
  g_clear_pointer (&self->network, bank_network_free);
  g_clear_object (&self->soup);

  G_OBJECT_CLASS (bank_server_parent_class)->finalize (object);
}

static void
bank_server_class_init (BankServerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bank_server_finalize;
}

static void
bank_server_init (BankServer *self)
{
  self->held = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->suspended = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

BankServer *
bank_server_new (const BankConfig  *config,
                 const BankKeys    *keys,
                 BankStore         *store,
                 GError           **error)
{
  g_autoptr(BankServer) self = g_object_new (BANK_TYPE_SERVER, NULL);

  self->config = config;
  self->keys = keys;
  self->store = store;
  self->callbacks = bank_callbacks_new (store, keys->callback);
  self->network = bank_network_new (store, keys->network, config->issuer_url,
                                    config->issuer_url_file, config->issuer_bins,
                                    config->issuer_timeout, config->resend_give_up,
                                    bank_acquirer_settle_resent, self,
                                    error);
  if (self->network == NULL)
    return NULL;
  self->soup = soup_server_new ("server-header", "onepin-bank", NULL);
  onepin_soup_server_reap_closed (self->soup);
  soup_server_add_early_handler (self->soup, NULL, handle_early, self, NULL);
  soup_server_add_handler (self->soup, NULL, handle_request, self, NULL);
  return g_steal_pointer (&self);
}

gboolean
bank_server_accept (BankServer         *self,
                    GSocketConnection  *connection,
                    GError            **error)
{
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, error);
  g_autoptr(GSocketAddress) remote = NULL;

  if (local == NULL ||
      !(remote = g_socket_connection_get_remote_address (connection, error)))
    return FALSE;
  return soup_server_accept_iostream (self->soup, G_IO_STREAM (connection), local, remote,
                                      error);
}

char *
bank_server_listen (BankServer  *self,
                    GError     **error)
{
  g_autoptr(GSocketConnectable) connectable = NULL;
  g_autoptr(GSocketAddressEnumerator) enumerator = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  GSList *uris;
  char *url;

  connectable = g_network_address_parse (self->config->listen, 8081, error);
  if (connectable == NULL)
    return NULL;
  enumerator = g_socket_connectable_enumerate (connectable);
  address = g_socket_address_enumerator_next (enumerator, NULL, error);
  if (address == NULL)
    return NULL;

  if (!soup_server_listen (self->soup, address, 0, error))
    return NULL;

  uris = soup_server_get_uris (self->soup);
  url = g_strdup_printf ("http://%s:%d", g_uri_get_host (uris->data),
                         g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  /* Deliveries left over from a previous run go out now, and card payments
   * a stop interrupted are reversed. */
  bank_callbacks_kick (self->callbacks);
  if (!bank_acquirer_recover (self, error))
    return g_free (url), NULL;
  bank_network_kick (self->network);
  return url;
}
