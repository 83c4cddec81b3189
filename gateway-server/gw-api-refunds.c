/* gw-api-refunds.c: refunds of captured payments, back onto the card
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-server-private.h"

typedef struct
{
  char    merchant_id[40];
  char   *payment_id;
  gint64  amount;
} RefundData;

static void
refund_data_free (gpointer data)
{
  RefundData *refund = data;

  g_free (refund->payment_id);
  g_free (refund);
}

static GString *
render_refund (const char      *id,
               const GwPayment *payment,
               gint64           amount,
               gint64           created)
{
  GString *body = g_string_new ("{");

  gw_json_str (body, "id", id);
  gw_json_str (body, "object", "refund");
  gw_json_str (body, "payment", payment->id);
  gw_json_int (body, "amount", amount);
  gw_json_str (body, "currency", payment->currency);
  gw_json_str (body, "status", "succeeded");
  gw_json_int (body, "created", created);
  gw_json_close (body, '}');
  return body;
}

static gboolean
refund_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  RefundData *data = call->data;
  GwPayment payment = { 0 };
  GwOutcome outcome;
  char refund_id[40] = "";
  gint64 refunded = 0;
  gboolean ok;

  ok = gw_ledger_refund (txn, data->merchant_id, data->payment_id, data->amount, refund_id,
                         &refunded, &payment, &outcome, error);
  if (ok && outcome.code != GW_RESULT_OK)
    gw_call_fail (call, &outcome, "payment");
  else if (ok)
    gw_call_ok (call, render_refund (refund_id, &payment, refunded, txn->funcs->now (txn)));
  gw_payment_clear (&payment);
  return ok;
}

void
gw_api_refunds_create (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "payment", ONEPIN_JSON_STRING, TRUE },
    { "amount", ONEPIN_JSON_INT, FALSE },
  };
  RefundData *data;
  GwCall *call;
  gint64 amount = 0;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  if (json_object_has_member (request->body, "amount") &&
      !json_node_is_null (json_object_get_member (request->body, "amount")))
    {
      amount = onepin_json_get_int (request->body, "amount", 0);
      if (amount < 1 || amount > 1000000)
        return gw_request_bad_param (request, "amount", "amount must be from 1 to 1000000.");
    }

  data = g_new0 (RefundData, 1);
  g_strlcpy (data->merchant_id, request->merchant_id, sizeof data->merchant_id);
  data->payment_id = g_strdup (onepin_json_get_string (request->body, "payment", ""));
  data->amount = amount;
  call = gw_call_new (request, refund_apply, data, refund_data_free);
  /* It reads only its data and sets its answer afresh: it may be applied
   * again after a conflict with another writer (see gw-store.h). */
  call->repeatable = TRUE;
  gw_call_submit (call);
}
