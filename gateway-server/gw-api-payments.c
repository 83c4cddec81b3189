/* gw-api-payments.c: merchant payments: authorize, capture, cancel, list
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-server-private.h"

#include <string.h>

#include "onepin-text.h"

#define MAX_AMOUNT 1000000
#define MAX_BATCH 1000

struct _GwPaymentParams
{
  GwCredentials credentials;
  GwPayRequest  request;
  char          merchant_id[40];
  char          currency[4];
  char         *order_id;
  char         *description;
  char         *idempotency_key;      /* batch items only */
  guint8        fingerprint[32];
};

void
gw_payment_params_free (GwPaymentParams *params)
{
  g_free (params->order_id);
  g_free (params->description);
  g_free (params->idempotency_key);
  g_free (params);
}

void
gw_render_payment (GString         *out,
                   const GwPayment *payment)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "id", payment->id);
  gw_json_str (out, "object", "payment");
  gw_json_str (out, "status", payment->status);
  gw_json_int (out, "amount", payment->amount);
  gw_json_int (out, "amount_captured", payment->amount_captured);
  gw_json_int (out, "amount_refunded", payment->amount_refunded);
  gw_json_str (out, "currency", payment->currency);
  gw_json_str (out, "card_id", payment->card_id);
  gw_json_str (out, "card_last4", payment->card_last4);
  gw_json_str (out, "order_id", payment->order_id);
  gw_json_str (out, "description", payment->description);
  gw_json_str (out, "merchant", payment->merchant_id);
  gw_json_int (out, "created", payment->created);
  /* Kept on an authorization that expired, but shown only while open. */
  if (payment->capture_before > 0 && g_str_equal (payment->status, "authorized"))
    gw_json_int (out, "capture_before", payment->capture_before);
  if (payment->canceled_at > 0)
    gw_json_int (out, "canceled_at", payment->canceled_at);
  g_string_append_c (out, '}');
}

static const OnepinJsonField payment_fields[] = {
  { "card_number", ONEPIN_JSON_STRING, TRUE },
  { "password", ONEPIN_JSON_STRING, TRUE },
  { "amount", ONEPIN_JSON_INT, TRUE },
  { "currency", ONEPIN_JSON_STRING, TRUE },
  { "order_id", ONEPIN_JSON_STRING, TRUE },
  { "description", ONEPIN_JSON_STRING, FALSE },
  { "capture", ONEPIN_JSON_BOOL, TRUE },
  { "idempotency_key", ONEPIN_JSON_STRING, TRUE },   /* batch items only: keep last */
};

static const char *
check_values (JsonObject  *object,
              const char **message)
{
  gint64 amount = onepin_json_get_int (object, "amount", 0);
  const char *currency = onepin_json_get_string (object, "currency", "");
  const char *order_id = onepin_json_get_string (object, "order_id", "");
  const char *description = onepin_json_get_string (object, "description", NULL);
  glong order_len = g_utf8_strlen (order_id, -1);

  if (amount < 1 || amount > MAX_AMOUNT)
    return *message = "amount must be an integer from 1 to 1000000.", "amount";
  if (!onepin_currency_is_known (currency))
    return *message = "currency must be a lowercase ISO 4217 code such as krw.", "currency";
  if (order_len < 1 || order_len > 255)
    return *message = "order_id must be 1 to 255 characters.", "order_id";
  /* The card holder's statement shows it: see onepin-text.c. The
   * contract sets no shape for it, so a merchant's several lines are
   * taken. */
  if (description != NULL && (g_utf8_strlen (description, -1) > 1000 ||
                              !onepin_text_is_display_safe (description, ONEPIN_TEXT_LINES)))
    return *message = "description must be at most 1000 characters, without control or "
                      "invisible formatting characters.", "description";
  return NULL;
}

static const char *
check_item_key (JsonObject  *object,
                const char **message)
{
  const char *key = onepin_json_get_string (object, "idempotency_key", "");
  gsize len = strlen (key);

  for (gsize i = 0; i < len; i++)
    if (key[i] < 0x20 || key[i] > 0x7e)
      len = 0;
  if (len < 1 || len > 255)
    return *message = "idempotency_key must be 1 to 255 printable ASCII characters.",
           "idempotency_key";
  return NULL;
}

GwPaymentParams *
gw_payment_params_parse (GwServer    *server,
                         JsonObject  *object,
                         const char  *merchant_id,
                         gboolean     with_key,
                         const char **param,
                         const char **message,
                         const char **code)
{
  g_autoptr(GError) error = NULL;
  GwPaymentParams *params;
  gsize n_fields = G_N_ELEMENTS (payment_fields) - (with_key ? 0 : 1);

  *code = "parameter_invalid";
  if (!onepin_json_check_fields (object, payment_fields, n_fields, param, &error))
    {
      if (g_error_matches (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_UNKNOWN_FIELD))
        *code = "parameter_unknown", *message = "Unknown parameter.",
        *param = gw_plain_word (*param);
      else if (g_error_matches (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_MISSING))
        *code = "parameter_missing", *message = "Missing required parameter.";
      else
        *message = "Invalid type for parameter.";
      return NULL;
    }
  if ((*param = check_values (object, message)) != NULL ||
      (with_key && (*param = check_item_key (object, message)) != NULL))
    return NULL;

  params = g_new0 (GwPaymentParams, 1);
  g_strlcpy (params->merchant_id, merchant_id, sizeof params->merchant_id);
  g_strlcpy (params->currency, onepin_json_get_string (object, "currency", ""),
             sizeof params->currency);
  params->order_id = g_strdup (onepin_json_get_string (object, "order_id", ""));
  params->description = g_strdup (onepin_json_get_string (object, "description", NULL));
  params->request = (GwPayRequest) {
    .merchant_id = params->merchant_id,
    .amount = onepin_json_get_int (object, "amount", 0),
    .currency = params->currency,
    .order_id = params->order_id,
    .description = params->description,
    .channel = "internet",
    .capture = onepin_json_get_bool (object, "capture", FALSE),
  };
  gw_ledger_credentials (gw_server_get_ledger_config (server),
                         onepin_json_get_string (object, "card_number", ""),
                         onepin_json_get_string (object, "password", ""),
                         &params->credentials);
  if (with_key)
    params->idempotency_key = g_strdup (onepin_json_get_string (object, "idempotency_key", ""));
  return params;
}

gboolean
gw_payment_apply (GwTxn   *txn,
                  GwCall  *call,
                  GError **error)
{
  GwPaymentParams *params = call->data;
  GwPayment payment = { 0 };
  GwOutcome outcome;
  GString *body;

  call->is_payment = TRUE;
  if (!gw_ledger_pay (txn, gw_server_get_ledger_config (call->server), &params->credentials,
                      &params->request, &payment, &outcome, error))
    return gw_payment_clear (&payment), FALSE;

  if (outcome.code != GW_RESULT_OK)
    gw_call_fail (call, &outcome, NULL);
  else
    {
      body = g_string_sized_new (400);
      gw_render_payment (body, &payment);
      gw_call_ok (call, body);
    }
  gw_payment_clear (&payment);
  return TRUE;
}

void
gw_api_payments_create (GwRequest *request)
{
  const char *param = NULL, *message = NULL, *code = NULL;
  GwPaymentParams *params;
  GwCall *call;

  params = gw_payment_params_parse (request->server, request->body, request->merchant_id, FALSE,
                                    &param, &message, &code);
  if (params == NULL)
    return gw_request_error (request, 400, "invalid_request_error", code, param, message);

  call = gw_call_new (request, gw_payment_apply, params, (GDestroyNotify) gw_payment_params_free);
  call->repeatable = TRUE;
  gw_call_submit (call);
}

/* Batch approvals: many payments in one request, each with its own key. */

typedef struct
{
  GwRequest *request;
  GwCall   **calls;
  guint      n_items;
  guint      pending;
} BatchState;

static void
batch_finish (BatchState *batch)
{
  GString *body = g_string_sized_new (batch->n_items * 420 + 64);

  g_string_append (body, "{\"object\":\"list\",\"data\":[");
  for (guint i = 0; i < batch->n_items; i++)
    {
      GwCall *call = batch->calls[i];
      gboolean ok = call->status == 200;

      if (i > 0)
        g_string_append_c (body, ',');
      g_string_append_printf (body, "{\"status\":%u,", call->status);
      if (call->replayed)
        g_string_append (body, "\"replayed\":true,");
      if (ok)
        {
          g_string_append (body, "\"payment\":");
          g_string_append_len (body, call->body->str, call->body->len);
          g_string_append_c (body, '}');
        }
      else   /* the body is {"error":{…}}: splice its member in */
        g_string_append_len (body, call->body->str + 1, call->body->len - 1);
      gw_call_free (call);
    }
  g_string_append (body, "]}");
  gw_request_reply (batch->request, 200, body);
  g_free (batch->calls);
  g_free (batch);
}

static void
batch_item_done (GwCall  *call,
                 gpointer user_data)
{
  BatchState *batch = user_data;

  if (--batch->pending == 0)
    batch_finish (batch);
}

static void
item_fingerprint (GwServer   *server,
                  JsonObject *item,
                  guint8      out[32],
                  guint8      bare[32])
{
  g_autoptr(GString) text = g_string_sized_new (256);

  /* The same parameters as POST /v1/payments, so a key means one payment
   * whichever way it came. */
  g_string_append (text, "POST /v1/payments \n");
  onepin_json_append_canonical_object (text, item, "idempotency_key");
  onepin_crypto_sha256 (text->str, text->len, out);
  gw_server_key_fingerprint (server, out, bare);
}

static GwCall *
batch_item (BatchState *batch,
            JsonNode   *node)
{
  GwRequest *request = batch->request;
  GwCall *call = g_new0 (GwCall, 1);
  const char *param = NULL, *message = NULL, *code = NULL;
  GwPaymentParams *params;

  call->server = request->server;
  call->done = batch_item_done;
  call->done_data = batch;
  params = gw_payment_params_parse (request->server, json_node_get_object (node),
                                    request->merchant_id, TRUE, &param, &message, &code);
  if (params == NULL)
    {
      call->status = 400;
      call->body = g_string_new (NULL);
      gw_error_render (call->body, "invalid_request_error", code, NULL, param, message);
      return call;
    }

  call->apply = gw_payment_apply;
  call->repeatable = TRUE;
  call->data = params;
  call->data_free = (GDestroyNotify) gw_payment_params_free;
  call->keyed = TRUE;
  gw_server_hash_idempotency_key (request->server, request->merchant_id, params->idempotency_key,
                                  call->key_hash);
  item_fingerprint (request->server, json_node_get_object (node), call->fingerprint,
                    call->bare_fingerprint);
  return call;
}

void
gw_api_payments_batch (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "payments", ONEPIN_JSON_ARRAY, TRUE },
  };
  JsonArray *items;
  BatchState *batch;
  guint n;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  items = json_object_get_array_member (request->body, "payments");
  n = json_array_get_length (items);
  if (n < 1 || n > MAX_BATCH)
    return gw_request_bad_param (request, "payments", "payments must hold 1 to 1000 items.");
  for (guint i = 0; i < n; i++)
    if (!JSON_NODE_HOLDS_OBJECT (json_array_get_element (items, i)))
      return gw_request_bad_param (request, "payments", "Each payment must be a JSON object.");

  batch = g_new0 (BatchState, 1);
  batch->request = request;
  batch->n_items = n;
  batch->pending = n + 1;     /* released below, once every item is on its way */
  batch->calls = g_new0 (GwCall *, n);
  /* The items reach the writer together, to share its transactions rather
   * than trickle in one by one as they are read. */
  gw_store_plug (gw_server_get_store (request->server));
  for (guint i = 0; i < n; i++)
    {
      GwCall *call = batch->calls[i] = batch_item (batch, json_array_get_element (items, i));

      if (call->apply != NULL)
        gw_call_submit (call);
      else
        batch->pending--;
    }
  gw_store_unplug (gw_server_get_store (request->server));
  batch_item_done (NULL, batch);
}

/* Reads: on a read connection, never behind the writer. */

typedef struct
{
  const char *merchant_id;
  const char *payment_id;
  GwPayment   payment;
  gboolean    found;
  const char *starting_after;
  guint       limit;
  GPtrArray  *list;
  gboolean    cursor_found;
} ReadData;

static gboolean
get_apply (GwTxn    *txn,
           gpointer  user_data,
           GError  **error)
{
  ReadData *data = user_data;
  GError *local = NULL;

  data->found = txn->funcs->payment_get (txn, data->payment_id, &data->payment, &local) &&
                g_str_equal (data->payment.merchant_id, data->merchant_id);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

static void
reply_read_error (GwRequest    *request,
                  const GError *error)
{
  g_warning ("read failed: %s", error->message);
  gw_request_error (request, 500, "api_error", "internal", NULL, "The read failed.");
}

void
gw_api_payments_get (GwRequest *request)
{
  ReadData data = { .merchant_id = request->merchant_id, .payment_id = request->path_id };
  g_autoptr(GError) error = NULL;
  GString *body;

  if (!gw_store_read (gw_server_get_store (request->server), get_apply, &data, &error))
    return reply_read_error (request, error);
  if (!data.found)
    {
      gw_payment_clear (&data.payment);
      return gw_request_error (request, 404, "invalid_request_error", "resource_missing", "id",
                               "No such payment.");
    }

  body = g_string_sized_new (400);
  gw_render_payment (body, &data.payment);
  gw_payment_clear (&data.payment);
  gw_request_reply (request, 200, body);
}

static gboolean
list_apply (GwTxn    *txn,
            gpointer  user_data,
            GError  **error)
{
  ReadData *data = user_data;
  gint64 before = 0;

  if (data->starting_after != NULL)
    {
      data->payment_id = data->starting_after;
      if (!get_apply (txn, data, error))
        return FALSE;
      data->cursor_found = data->found;
      if (!data->found)
        return TRUE;
      before = data->payment.seq;
    }
  data->list = txn->funcs->payments_list (txn, data->merchant_id, before, data->limit + 1, error);
  return data->list != NULL;
}

void
gw_api_payments_list (GwRequest *request)
{
  ReadData data = { .merchant_id = request->merchant_id };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  GString *body;

  if (!gw_request_limit (request, 10, &data.limit))
    return;
  data.starting_after = request->query ? g_hash_table_lookup (request->query, "starting_after")
                                       : NULL;
  if (!gw_store_read (gw_server_get_store (request->server), list_apply, &data, &error))
    return gw_payment_clear (&data.payment), reply_read_error (request, error);
  gw_payment_clear (&data.payment);
  if (data.starting_after != NULL && !data.cursor_found)
    return gw_request_bad_param (request, "starting_after",
                                 "starting_after must be one of your payment ids.");

  list = data.list;
  body = g_string_new ("{\"object\":\"list\",\"data\":[");
  for (guint i = 0; i < MIN (list->len, data.limit); i++)
    {
      if (i > 0)
        g_string_append_c (body, ',');
      gw_render_payment (body, g_ptr_array_index (list, i));
    }
  g_string_append_c (body, ']');
  gw_json_bool (body, "has_more", list->len > data.limit);
  gw_json_close (body, '}');
  gw_request_reply (request, 200, body);
}

/* Capture and cancel */

typedef struct
{
  char    merchant_id[40];
  char   *payment_id;
  gint64  amount;
  gboolean cancel;
} ResolveData;

static void
resolve_data_free (gpointer data)
{
  ResolveData *resolve = data;

  g_free (resolve->payment_id);
  g_free (resolve);
}

static gboolean
resolve_apply (GwTxn   *txn,
               GwCall  *call,
               GError **error)
{
  ResolveData *data = call->data;
  GwPayment payment = { 0 };
  GwOutcome outcome;
  gboolean ok;

  if (data->cancel)
    ok = gw_ledger_cancel (txn, data->merchant_id, data->payment_id, &payment, &outcome, error);
  else
    ok = gw_ledger_capture (txn, gw_server_get_ledger_config (call->server), data->merchant_id,
                            data->payment_id, data->amount, &payment, &outcome, error);

  if (ok && outcome.code != GW_RESULT_OK)
    gw_call_fail (call, &outcome, "id");
  else if (ok)
    {
      GString *body = g_string_sized_new (400);

      gw_render_payment (body, &payment);
      gw_call_ok (call, body);
    }
  gw_payment_clear (&payment);
  return ok;
}

static void
resolve (GwRequest *request,
         gboolean   cancel)
{
  static const OnepinJsonField capture_fields[] = {
    { "amount", ONEPIN_JSON_INT, FALSE },
  };
  ResolveData *data;
  GwCall *call;
  gint64 amount = 0;

  if (!gw_request_check_body (request, capture_fields, cancel ? 0 : 1))
    return;
  if (!cancel && json_object_has_member (request->body, "amount") &&
      !json_node_is_null (json_object_get_member (request->body, "amount")))
    {
      amount = onepin_json_get_int (request->body, "amount", 0);
      if (amount < 1 || amount > MAX_AMOUNT)
        return gw_request_bad_param (request, "amount", "amount must be from 1 to 1000000.");
    }

  data = g_new0 (ResolveData, 1);
  g_strlcpy (data->merchant_id, request->merchant_id, sizeof data->merchant_id);
  data->payment_id = g_strdup (request->path_id);
  data->amount = amount;
  data->cancel = cancel;
  call = gw_call_new (request, resolve_apply, data, resolve_data_free);
  /* It reads only its data and sets its answer afresh: it may be applied
   * again after a conflict with another writer (see gw-store.h). */
  call->repeatable = TRUE;
  gw_call_submit (call);
}

void
gw_api_payments_capture (GwRequest *request)
{
  resolve (request, FALSE);
}

void
gw_api_payments_cancel (GwRequest *request)
{
  resolve (request, TRUE);
}
