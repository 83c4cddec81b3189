/* gw-connector-bank.c: the connector to onepin-bank, over HTTP
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-connector-bank-private.h"
#include "gw-wait.h"
#include "onepin-shared.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#define MAX_REPLY (256 * 1024)
#define READ_BLOCK 16384
#define SHUTDOWN_GRACE_SECONDS 5

typedef enum
{
  CALL_CHARGE,
  CALL_QUERY_CHARGE,
  CALL_QUERY_PAYOUT,       /* a query that found no charge asks for a payout */
  CALL_VOID,
  CALL_PAYOUT,
} CallKind;

struct _GwConnectorBank
{
  GObject       parent_instance;

  char         *url;
  char         *api_key;
  OnepinKey    *callback_key;
  char         *callback_url;
  SoupSession  *session;
  guint         timeout;
  GMainContext *context;
  GCancellable *stopping;          /* cancelled by shutdown: ends every call */
  guint         in_flight;         /* calls whose callback has not run yet */
  guint         owed;              /* callbacks libsoup and GIO owe calls, ended or not */
};

/* One call, from the caller's request to its callback; a query that finds
 * no charge asks for a payout within the same call. */
typedef struct
{
  CallKind      kind;
  char         *key;
  SoupMessage  *msg;
  GCancellable *cancellable;       /* the caller's, the deadline's and shutdown's */
  GCancellable *caller;
  gulong        caller_handler;
  gulong        stopping_handler;
  GCancellable *stopping;
  GSource      *deadline;
  GSource      *watch;             /* ends the call once its cancellable fires */
  gboolean      timed_out;
  gboolean      ended;             /* returned, though libsoup may still owe a callback */
  guint         timeout;
  GInputStream *stream;
  GByteArray   *reply;
} Call;

static void gw_connector_bank_iface_init (GwConnectorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GwConnectorBank, gw_connector_bank, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GW_TYPE_CONNECTOR,
                                                      gw_connector_bank_iface_init))

static void
stop_watching (Call *call)
{
  if (call->deadline != NULL)
    g_source_destroy (call->deadline);
  g_clear_pointer (&call->deadline, g_source_unref);
  if (call->watch != NULL)
    g_source_destroy (call->watch);
  g_clear_pointer (&call->watch, g_source_unref);
}

static void
call_free (Call *call)
{
  stop_watching (call);
  if (call->caller_handler != 0)
    g_cancellable_disconnect (call->caller, call->caller_handler);
  if (call->stopping_handler != 0)
    g_cancellable_disconnect (call->stopping, call->stopping_handler);
  g_clear_object (&call->caller);
  g_clear_object (&call->stopping);
  g_clear_object (&call->cancellable);
  g_clear_object (&call->stream);
  g_clear_pointer (&call->reply, g_byte_array_unref);
  g_free (call->key);
  g_clear_object (&call->msg);
  g_free (call);
}

/* ---- replies ------------------------------------------------------------ */

static GwChargeStatus
parse_status (const char *status)
{
  if (g_strcmp0 (status, "approved") == 0 || g_strcmp0 (status, "paid") == 0)
    return GW_CHARGE_APPROVED;
  if (g_strcmp0 (status, "pending") == 0)
    return GW_CHARGE_PENDING;
  if (g_strcmp0 (status, "canceled") == 0)
    return GW_CHARGE_CANCELED;
  return GW_CHARGE_DECLINED;
}

static gboolean
known_status (const char *status)
{
  static const char * const known[] = { "approved", "paid", "pending", "canceled", "declined",
                                        NULL };

  return status != NULL && g_strv_contains (known, status);
}

/* A charge or payout object. */
static GwChargeResult *
parse_object (JsonObject  *o,
              GError     **error)
{
  g_autoptr(GwChargeResult) result = g_new0 (GwChargeResult, 1);
  const char *status = onepin_json_get_string (o, "status", NULL);
  JsonNode *va = json_object_get_member (o, "virtual_account");

  if (!known_status (status) || onepin_json_get_string (o, "id", NULL) == NULL)
    return g_set_error_literal (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN,
                                "The bank's reply has no status or id"), NULL;
  result->status = parse_status (status);
  result->reference = g_strdup (onepin_json_get_string (o, "id", NULL));
  result->decline_code = g_strdup (onepin_json_get_string (o, "decline_code", NULL));
  result->amount = onepin_json_get_int (o, "amount", 0);
  result->currency = g_strdup (onepin_json_get_string (o, "currency", NULL));
  if (va != NULL && JSON_NODE_HOLDS_OBJECT (va))
    {
      JsonObject *v = json_node_get_object (va);

      result->virtual_bank = g_strdup (onepin_json_get_string (v, "bank_name", NULL));
      result->virtual_account = g_strdup (onepin_json_get_string (v, "account", NULL));
      result->deposit_deadline = onepin_json_get_int (v, "deadline", 0);
    }
  return g_steal_pointer (&result);
}

static JsonObject *
error_object (JsonObject *root)
{
  JsonNode *node = root ? json_object_get_member (root, "error") : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* The bank's error code, for our errors, which are logged: its code only
 * when it looks like one ([a-z_]), and never its message or param, which
 * could repeat what it was sent (a bank that echoed an unknown member's
 * name did), card numbers included. */
static const char *
error_code (JsonObject *root)
{
  JsonObject *err = error_object (root);
  const char *code = err ? onepin_json_get_string (err, "code", NULL) : NULL;

  if (code == NULL || *code == '\0' || strlen (code) > 64 ||
      code[strspn (code, "abcdefghijklmnopqrstuvwxyz_")] != '\0')
    return "no error code";
  return code;
}

static GwChargeResult *
parse_decline (JsonObject  *root,
               GError     **error)
{
  JsonObject *err = error_object (root);
  const char *decline = err ? onepin_json_get_string (err, "decline_code", NULL) : NULL;
  GwChargeResult *result;

  if (decline == NULL)
    return g_set_error_literal (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN,
                                "The bank's 402 has no decline_code"), NULL;
  result = g_new0 (GwChargeResult, 1);
  result->status = GW_CHARGE_DECLINED;
  result->decline_code = g_strdup (decline);
  result->message = g_strdup (onepin_json_get_string (err, "message", NULL));
  return result;
}

static GwChargeResult *
parse_reply (guint        status,
             GBytes      *body,
             GError     **error)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);
  g_autoptr(JsonObject) root = len > 0 && len <= MAX_REPLY
                                 ? onepin_json_parse_object (data, len, NULL) : NULL;
  JsonObject *err = error_object (root);
  const char *type = err ? onepin_json_get_string (err, "type", "") : "";

  if (status == 200 && root != NULL)
    return parse_object (root, error);
  if (status == 402 && root != NULL)
    return parse_decline (root, error);
  if (status == 404)
    return g_set_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_NOT_FOUND,
                        "The bank has no such charge (%s)", error_code (root)), NULL;
  if (status == 401 || status == 503)
    {
      if (status == 401)
        g_warning ("onepin-bank refused the gateway's API key: check [bank] api_key_file");
      return g_set_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNAVAILABLE,
                          "The bank is unavailable (HTTP %u)", status), NULL;
    }
  if (status >= 400 && status < 500 && !g_str_equal (type, "idempotency_error"))
    return g_set_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_INVALID,
                        "The bank refused the request (HTTP %u, %s)", status,
                        error_code (root)), NULL;
  /* The key was used before with other parameters: that earlier request
   * may have been carried out (a payout paid, a card charged), so this is
   * no decline; the query says what the bank did under the key. */
  if (status == 422)
    return g_set_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN,
                        "The bank saw this key with other parameters (%s)",
                        error_code (root)), NULL;
  return g_set_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN,
                      "The bank's reply (HTTP %u) says nothing certain", status), NULL;
}

/* Only a failure to connect (a refusal, no route, no name, a TLS handshake
 * that failed) proves the request never left. A TLS error while the reply
 * is read, an unclean close say, comes after the bank may have acted. */
gboolean
gw_connector_bank_never_sent (const GError *error,
                              gboolean      reading)
{
  if (reading)
    return FALSE;
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_NOT_FOUND) ||
         error->domain == G_RESOLVER_ERROR ||
         g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE) ||
         g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS) ||
         g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_HANDSHAKE) ||
         g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED) ||
         g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_UNAVAILABLE);
}

/* Only failures before the request could leave make "nothing happened". */
static GError *
transport_error (Call         *call,
                 const GError *error,
                 gboolean      reading)
{
  if (gw_connector_bank_never_sent (error, reading))
    return g_error_new (GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNAVAILABLE,
                        "The bank cannot be reached: %s", error->message);
  if (call->timed_out)
    return g_error_new (GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN,
                        "No answer from the bank within %u s; ask what happened",
                        call->timeout);
  if (g_cancellable_is_cancelled (call->stopping))
    return g_error_new_literal (GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN,
                                "The gateway stopped while the bank was asked; ask what "
                                "happened");
  return g_error_new (GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN,
                      "No answer from the bank (%s); ask what happened", error->message);
}

/* ---- sending ------------------------------------------------------------ */

static void send_call (GwConnectorBank *self,
                       GTask           *task,
                       const char      *method,
                       const char      *path,
                       const char      *body);

static void
query_payout (GwConnectorBank *self,
              GTask           *task)
{
  Call *call = g_task_get_task_data (task);
  g_autofree char *escaped = g_uri_escape_string (call->key, NULL, FALSE);
  g_autofree char *path = g_strconcat ("/v1/payouts?idempotency_key=", escaped, NULL);

  call->kind = CALL_QUERY_PAYOUT;
  send_call (self, task, "GET", path, NULL);
}

static void     read_more     (GTask           *task);
static gboolean check_running (GwConnectorBank *self,
                               GTask           *task);

/* Ends the call with @result, or with @error when @result is NULL (taking
 * either), once. A reply's stream left unread goes: libsoup then closes
 * its connection rather than reuse it. */
static void
call_return (GTask          *task,
             GwChargeResult *result,
             GError         *error)
{
  Call *call = g_task_get_task_data (task);

  g_assert (!call->ended);
  call->ended = TRUE;
  stop_watching (call);
  g_clear_object (&call->stream);
  if (result != NULL)
    g_task_return_pointer (task, result, (GDestroyNotify) gw_charge_result_free);
  else
    g_task_return_error (task, error);
}

/* Each step asked of libsoup or GIO holds @task until its callback, which
 * comes even after the call has ended (on_cancelled); the stop waits for
 * them all. */
static void
step_begin (GTask *task)
{
  GwConnectorBank *self = g_task_get_source_object (task);

  self->owed++;
}

/* In a step's callback: FALSE when the call has ended meanwhile. */
static gboolean
step_end (GTask *task)
{
  GwConnectorBank *self = g_task_get_source_object (task);
  Call *call = g_task_get_task_data (task);

  self->owed--;
  return !call->ended;
}

/* The reply is whole, and its stream closed. */
static void
on_closed (GObject      *source,
           GAsyncResult *res,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GwConnectorBank *self = g_task_get_source_object (task);
  Call *call = g_task_get_task_data (task);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  GwChargeResult *result;

  /* Every byte is read: a close that failed (the deadline, say) only
   * keeps the connection out of the pool, and the reply still stands. */
  g_input_stream_close_finish (G_INPUT_STREAM (source), res, NULL);
  g_clear_object (&call->stream);
  if (!step_end (task))
    return;
  body = g_byte_array_free_to_bytes (g_steal_pointer (&call->reply));
  result = parse_reply (soup_message_get_status (call->msg), body, &error);
  if (result == NULL && call->kind == CALL_QUERY_CHARGE &&
      g_error_matches (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_NOT_FOUND))
    {
      query_payout (self, g_steal_pointer (&task));
      return;
    }
  call_return (task, result, g_steal_pointer (&error));
}

/* libsoup lends a message its connection until the body's stream is
 * closed, not merely read to its end, and opens only so many connections
 * to a host. Closed before anything else is sent, the reply hands its
 * connection back: a look-up that asks again after a 404, kept waiting
 * for a second connection while it held the first, made two such
 * look-ups wait for each other for ever. Takes @task. */
static void
close_reply (GTask *task)
{
  Call *call = g_task_get_task_data (task);

  step_begin (task);
  g_input_stream_close_async (call->stream, G_PRIORITY_DEFAULT, call->cancellable, on_closed,
                              task);
}

static void
on_read (GObject      *source,
         GAsyncResult *res,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, &error);
  if (!step_end (task))
    return;
  if (bytes == NULL)
    {
      call_return (task, NULL, transport_error (call, error, TRUE));
      return;
    }
  if (g_bytes_get_size (bytes) > 0)
    {
      if (call->reply->len + g_bytes_get_size (bytes) > MAX_REPLY)
        {
          call_return (task, NULL,
                       g_error_new (GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN,
                                    "The bank's reply is larger than %u KB; ask what happened",
                                    MAX_REPLY / 1024));
          return;
        }
      g_byte_array_append (call->reply, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      read_more (g_steal_pointer (&task));
      return;
    }
  close_reply (g_steal_pointer (&task));
}

/* Takes @task. The reply is read block by block, never past MAX_REPLY. */
static void
read_more (GTask *task)
{
  Call *call = g_task_get_task_data (task);

  step_begin (task);
  g_input_stream_read_bytes_async (call->stream, READ_BLOCK, G_PRIORITY_DEFAULT,
                                   call->cancellable, on_read, task);
}

static void
on_sent (GObject      *source,
         GAsyncResult *res,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (task);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;

  stream = soup_session_send_finish (SOUP_SESSION (source), res, &error);
  if (!step_end (task))
    return;
  if (stream == NULL)
    {
      call_return (task, NULL, transport_error (call, error, FALSE));
      return;
    }
  g_assert (call->stream == NULL);
  call->stream = g_steal_pointer (&stream);
  g_clear_pointer (&call->reply, g_byte_array_unref);
  call->reply = g_byte_array_new ();
  read_more (g_steal_pointer (&task));
}

/* Takes @task. */
static void
send_call (GwConnectorBank *self,
           GTask           *task,
           const char      *method,
           const char      *path,
           const char      *body)
{
  Call *call = g_task_get_task_data (task);
  g_autofree char *uri = g_strconcat (self->url, path, NULL);
  g_autofree char *auth = g_strconcat ("Bearer ", self->api_key, NULL);
  SoupMessageHeaders *headers;

  if (!check_running (self, task))
    return;
  g_clear_object (&call->msg);
  call->msg = soup_message_new (method, uri);
  if (call->msg == NULL)
    {
      call_return (task, NULL,
                   g_error_new_literal (GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_INVALID,
                                        "Cannot make a bank URL of this idempotency key"));
      g_object_unref (task);
      return;
    }
  headers = soup_message_get_request_headers (call->msg);
  soup_message_headers_replace (headers, "Authorization", auth);
  soup_message_headers_replace (headers, "Accept", "application/json");
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_headers_replace (headers, "Idempotency-Key", call->key);
      soup_message_set_request_body_from_bytes (call->msg, "application/json; charset=utf-8",
                                                bytes);
    }
  step_begin (task);
  soup_session_send_async (self->session, call->msg, G_PRIORITY_DEFAULT, call->cancellable,
                           on_sent, task);
}

static void
cancel_call (GCancellable *cancellable,
             gpointer      data)
{
  g_cancellable_cancel (data);
}

static gboolean
on_deadline (gpointer data)
{
  Call *call = data;

  call->timed_out = TRUE;
  g_clear_pointer (&call->deadline, g_source_unref);
  g_cancellable_cancel (call->cancellable);
  return G_SOURCE_REMOVE;
}

/* The deadline, the caller or the stop cancelled the call: it ends now,
 * UNKNOWN, whatever libsoup is doing. libsoup 3.2 leaves a message that
 * waits for a connection in its queue when its cancellable fires, and
 * calls back only once a connection is free for it: after the deadline,
 * or never while the connections stay busy. The callback it still owes
 * finds the call ended; libsoup checks the cancellable before it writes a
 * request, so nothing is sent after this. */
static gboolean
on_cancelled (GCancellable *cancellable,
              gpointer      data)
{
  GTask *task = data;
  Call *call = g_task_get_task_data (task);
  /* The caller's words: transport_error () names the deadline and the stop. */
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 "cancelled by the caller");

  g_clear_pointer (&call->watch, g_source_unref);
  call_return (task, NULL, transport_error (call, error, TRUE));
  return G_SOURCE_REMOVE;
}

/* The caller's callback has run: the call no longer counts for shutdown. */
static void
on_completed (GTask      *task,
              GParamSpec *pspec,
              gpointer    data)
{
  GwConnectorBank *self = data;

  self->in_flight--;
}

/* A call's cancellable fires for the caller's, for the deadline (the whole
 * call, however slowly the bank trickles its bytes, or however long it
 * waits for a connection) and for shutdown; the call then ends at once. */
static GTask *
new_task (GwConnectorBank     *self,
          CallKind             kind,
          const char          *key,
          GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data,
          gpointer             tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Call *call = g_new0 (Call, 1);

  call->kind = kind;
  call->key = g_strdup (key);
  call->timeout = self->timeout;
  call->cancellable = g_cancellable_new ();
  call->stopping = g_object_ref (self->stopping);
  call->stopping_handler = g_cancellable_connect (self->stopping, G_CALLBACK (cancel_call),
                                                  call->cancellable, NULL);
  if (cancellable != NULL)
    {
      call->caller = g_object_ref (cancellable);
      call->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (cancel_call),
                                                    call->cancellable, NULL);
    }
  call->deadline = g_timeout_source_new_seconds (self->timeout);
  g_source_set_callback (call->deadline, on_deadline, call, NULL);
  g_source_attach (call->deadline, g_main_context_get_thread_default ());
  /* The task itself, not a reference: the call stops watching when it ends. */
  call->watch = g_cancellable_source_new (call->cancellable);
  g_source_set_callback (call->watch, G_SOURCE_FUNC (on_cancelled), task, NULL);
  g_source_attach (call->watch, g_main_context_get_thread_default ());
  /* A cancelled call is UNKNOWN, never GIO's plain "cancelled". */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_source_tag (task, tag);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  self->in_flight++;
  g_signal_connect (task, "notify::completed", G_CALLBACK (on_completed), self);
  return task;
}

/* FALSE after failing @task (and taking it) when the connector has stopped. */
static gboolean
check_running (GwConnectorBank *self,
               GTask           *task)
{
  if (!g_cancellable_is_cancelled (self->stopping))
    return TRUE;
  call_return (task, NULL,
               g_error_new_literal (GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNAVAILABLE,
                                    "The gateway is stopping; nothing was sent to the bank"));
  g_object_unref (task);
  return FALSE;
}

static GwChargeResult *
task_finish (GAsyncResult  *result,
             GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- the connector ------------------------------------------------------ */

static const char *
method_name (GwFundingMethod method)
{
  switch (method)
    {
    case GW_FUNDING_CREDIT_CARD:
      return "card";
    case GW_FUNDING_BANK_ACCOUNT:
      return "bank_account";
    case GW_FUNDING_TRANSFER:
    default:
      return "transfer";
    }
}

static void
add_string (JsonBuilder *b,
            const char  *name,
            const char  *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static char *
builder_text (JsonBuilder *b)
{
  g_autoptr(JsonNode) root = NULL;

  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static char *
charge_body (GwConnectorBank       *self,
             const GwChargeRequest *request)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  add_string (b, "method", method_name (request->method));
  json_builder_set_member_name (b, "amount");
  json_builder_add_int_value (b, request->amount);
  add_string (b, "currency", request->currency);
  add_string (b, "description", request->description);
  switch (request->method)
    {
    case GW_FUNDING_CREDIT_CARD:
      add_string (b, "card_number", request->card_number);
      add_string (b, "card_expiry", request->card_expiry);
      add_string (b, "card_cvc", request->card_cvc);
      break;
    case GW_FUNDING_BANK_ACCOUNT:
      add_string (b, "bank_code", request->bank_code);
      add_string (b, "account_number", request->account_number);
      add_string (b, "account_password", request->account_password);
      break;
    case GW_FUNDING_TRANSFER:
    default:
      add_string (b, "holder_name", request->holder_name);
      add_string (b, "callback_url", self->callback_url);
      break;
    }
  return builder_text (b);
}

static void
bank_charge_async (GwConnector           *connector,
                   const GwChargeRequest *request,
                   GCancellable          *cancellable,
                   GAsyncReadyCallback    callback,
                   gpointer               user_data)
{
  GwConnectorBank *self = GW_CONNECTOR_BANK (connector);
  GTask *task = new_task (self, CALL_CHARGE, request->idempotency_key, cancellable, callback,
                          user_data, bank_charge_async);
  g_autofree char *body = charge_body (self, request);

  send_call (self, task, "POST", "/v1/charges", body);
  /* The body held the card number or password: wipe our copy. */
  explicit_bzero (body, strlen (body));
}

static void
bank_query_async (GwConnector         *connector,
                  const char          *idempotency_key,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  GwConnectorBank *self = GW_CONNECTOR_BANK (connector);
  GTask *task = new_task (self, CALL_QUERY_CHARGE, idempotency_key, cancellable, callback,
                          user_data, bank_query_async);
  g_autofree char *escaped = g_uri_escape_string (idempotency_key, NULL, FALSE);
  g_autofree char *path = g_strconcat ("/v1/charges?idempotency_key=", escaped, NULL);

  send_call (self, task, "GET", path, NULL);
}

static void
bank_void_async (GwConnector         *connector,
                 const char          *idempotency_key,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  GwConnectorBank *self = GW_CONNECTOR_BANK (connector);
  GTask *task = new_task (self, CALL_VOID, idempotency_key, cancellable, callback, user_data,
                          bank_void_async);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *body = NULL;

  /* The bank keeps keys per endpoint, so the void reuses the charge's. */
  json_builder_begin_object (b);
  add_string (b, "idempotency_key", idempotency_key);
  body = builder_text (b);
  send_call (self, task, "POST", "/v1/charges/void", body);
}

static void
bank_payout_async (GwConnector           *connector,
                   const GwChargeRequest *request,
                   GCancellable          *cancellable,
                   GAsyncReadyCallback    callback,
                   gpointer               user_data)
{
  GwConnectorBank *self = GW_CONNECTOR_BANK (connector);
  GTask *task = new_task (self, CALL_PAYOUT, request->idempotency_key, cancellable, callback,
                          user_data, bank_payout_async);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *body = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "amount");
  json_builder_add_int_value (b, request->amount);
  add_string (b, "currency", request->currency);
  add_string (b, "bank_code", request->bank_code);
  add_string (b, "account_number", request->account_number);
  add_string (b, "holder_name", request->holder_name);
  add_string (b, "description", request->description);
  body = builder_text (b);
  send_call (self, task, "POST", "/v1/payouts", body);
}

static GwChargeResult *
bank_finish (GwConnector   *connector,
             GAsyncResult  *result,
             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, connector), NULL);
  return task_finish (result, error);
}

static gboolean
bank_verify_callback (GwConnector *connector,
                      GBytes      *body,
                      const char  *signature)
{
  GwConnectorBank *self = GW_CONNECTOR_BANK (connector);
  gsize len = 0;
  const void *data = g_bytes_get_data (body, &len);

  return onepin_signature_verify (self->callback_key, signature, data, len,
                                  g_get_real_time () / G_USEC_PER_SEC,
                                  ONEPIN_SIGNATURE_TOLERANCE);
}

/* {"id": "evt_…", "type": "charge.deposited", "data": {the charge}} */
static GwChargeResult *
bank_parse_callback (GwConnector  *connector,
                     GBytes       *body,
                     char        **idempotency_key,
                     GError      **error)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);
  g_autoptr(JsonObject) event = len <= MAX_REPLY ? onepin_json_parse_object (data, len, NULL)
                                                 : NULL;
  JsonNode *charge = event ? json_object_get_member (event, "data") : NULL;
  const char *key;
  GwChargeResult *result;

  if (charge == NULL || !JSON_NODE_HOLDS_OBJECT (charge) ||
      g_strcmp0 (onepin_json_get_string (event, "type", NULL), "charge.deposited") != 0 ||
      (key = onepin_json_get_string (json_node_get_object (charge), "idempotency_key",
                                     NULL)) == NULL)
    return g_set_error_literal (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_INVALID,
                                "Not a charge.deposited event"), NULL;
  result = parse_object (json_node_get_object (charge), NULL);
  if (result == NULL)
    return g_set_error_literal (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_INVALID,
                                "The event's charge has no status or id"), NULL;
  *idempotency_key = g_strdup (key);
  return result;
}

/* Every callback has run, the callers' and those libsoup owed calls that
 * ended before it answered: after the stop, libsoup holds no call. */
static gboolean
no_calls_left (gpointer data)
{
  GwConnectorBank *self = data;

  return self->in_flight == 0 && self->owed == 0;
}

static void
bank_shutdown (GwConnector *connector)
{
  GwConnectorBank *self = GW_CONNECTOR_BANK (connector);

  g_cancellable_cancel (self->stopping);
  if (!gw_wait_until (self->context, SHUTDOWN_GRACE_SECONDS, no_calls_left, self))
    g_warning ("%u calls to the bank did not end at the stop, and libsoup still holds %u",
               self->in_flight, self->owed);
}

static void
gw_connector_bank_iface_init (GwConnectorInterface *iface)
{
  iface->charge_async = bank_charge_async;
  iface->charge_finish = bank_finish;
  iface->query_async = bank_query_async;
  iface->query_finish = bank_finish;
  iface->void_async = bank_void_async;
  iface->void_finish = bank_finish;
  iface->payout_async = bank_payout_async;
  iface->payout_finish = bank_finish;
  iface->verify_callback = bank_verify_callback;
  iface->parse_callback = bank_parse_callback;
  iface->shutdown = bank_shutdown;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void
gw_connector_bank_finalize (GObject *object)
{
  GwConnectorBank *self = GW_CONNECTOR_BANK (object);

  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_object (&self->stopping);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->callback_key, onepin_key_free);
  if (self->api_key != NULL)
    explicit_bzero (self->api_key, strlen (self->api_key));
  g_free (self->api_key);
  g_free (self->url);
  g_free (self->callback_url);

  G_OBJECT_CLASS (gw_connector_bank_parent_class)->finalize (object);
}

static void
gw_connector_bank_class_init (GwConnectorBankClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gw_connector_bank_finalize;
}

static void
gw_connector_bank_init (GwConnectorBank *self)
{
  self->stopping = g_cancellable_new ();
  self->context = g_main_context_ref_thread_default ();
}

GwConnectorBank *
gw_connector_bank_new (const char  *url,
                       const char  *api_key_file,
                       const char  *callback_secret_file,
                       guint        timeout,
                       GError     **error)
{
  g_autoptr(GwConnectorBank) self = g_object_new (GW_TYPE_CONNECTOR_BANK, NULL);
  g_autofree char *secret = NULL;

  g_return_val_if_fail (url != NULL && api_key_file != NULL && callback_secret_file != NULL,
                        NULL);

  if (!g_str_has_prefix (url, "http://") && !g_str_has_prefix (url, "https://"))
    return g_set_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_INVALID,
                        "The bank URL must be http(s): %s", url), NULL;
  self->url = g_strdup (url);
  while (g_str_has_suffix (self->url, "/"))
    self->url[strlen (self->url) - 1] = '\0';
  if (!(self->api_key = onepin_secret_file_load (api_key_file, error)) ||
      !(secret = onepin_secret_file_load (callback_secret_file, error)))
    return NULL;
  self->callback_key = onepin_key_new_hmac ((const guint8 *) secret, strlen (secret), error);
  explicit_bzero (secret, strlen (secret));
  if (self->callback_key == NULL)
    return NULL;

  self->timeout = timeout;
  /* libsoup's defaults, two connections a host and ten in all, are a
   * browser's manners. Every call here goes to the one bank and holds its
   * connection until the bank answers: with two, two slow calls (a slow
   * account, a slow card) made every other customer's call wait behind
   * them, and run out of its [bank] timeout there. A call that finds all
   * GW_CONNECTOR_BANK_CONNECTIONS busy waits in the session's queue, its
   * deadline running. */
  self->session = soup_session_new_with_options ("timeout", timeout,
                                                 "idle-timeout", 60,
                                                 "max-conns", GW_CONNECTOR_BANK_CONNECTIONS,
                                                 "max-conns-per-host",
                                                 GW_CONNECTOR_BANK_CONNECTIONS,
                                                 "user-agent", "onepin-gateway", NULL);
  return g_steal_pointer (&self);
}

void
gw_connector_bank_set_callback_url (GwConnectorBank *self,
                                    const char      *url)
{
  g_return_if_fail (GW_IS_CONNECTOR_BANK (self));
  g_free (self->callback_url);
  self->callback_url = g_strdup (url);
}

const char *
gw_connector_bank_get_callback_url (GwConnectorBank *self)
{
  g_return_val_if_fail (GW_IS_CONNECTOR_BANK (self), NULL);
  return self->callback_url;
}

void
gw_connector_bank_set_timeout (GwConnectorBank *self,
                               guint            timeout)
{
  g_return_if_fail (GW_IS_CONNECTOR_BANK (self));
  self->timeout = timeout;
}
