/* gw-site.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-site.h"
#include "gw-connector-bank-private.h"

#include <string.h>

#define SWEEP_AFTER 10            /* seconds a charge may wait before the sweep asks */
#define RETRY_MAX   3600          /* seconds at most between tries of a failed settlement */
/* The sweep's asks at once: a quarter of the bank connector's connections,
 * the rest for customers (sweep_more ()). */
#define GW_SITE_SWEEP_AT_ONCE (GW_CONNECTOR_BANK_CONNECTIONS / 4)

/* An approved charge whose settlement failed: its cards or credit could
 * not be issued, so the transaction was rolled back and the money is at
 * the bank with nothing to show for it. */
typedef struct
{
  gint64  attempts;               /* settlements that failed */
  gint64  due;                    /* monotonic µs: no new try before */
} Retry;

struct _GwSite
{
  GObject          parent_instance;

  GwServer        *server;
  GwStore         *store;
  const GwConfig  *config;
  GwOrdersConfig   orders;
  char            *public_url;
  GCancellable    *cancellable;
  GHashTable      *locks;         /* objects a flow works on: order ids */
  GHashTable      *busy;          /* charges and payouts a flow waits on the bank for */
  GHashTable      *retries;       /* charge id -> Retry */
  guint            sweep_source;
  guint            sweeps;        /* sweep flows still running */
  GQueue           sweep_waiting; /* SweepItem: the sweep's work not started yet */
};

/* A charge or payout the sweep is to ask the bank about. */
typedef struct
{
  char          id[G_SIZEOF_MEMBER (GwOrdersWork, id)];
  GwOrdersNext  next;
} SweepItem;

G_DEFINE_FINAL_TYPE (GwSite, gw_site, G_TYPE_OBJECT)

static void flow_ask_bank (GwSiteFlow *flow);
static void flow_settle   (GwSiteFlow *flow);
static void sweep_more    (GwSite     *self);

/* Errors */

static const char *
conflict_message (const char *code)
{
  static const struct { const char *code, *message; } messages[] = {
    { "order_already_paid", "This order is paid and its cards were allocated." },
    { "order_payment_pending", "This order waits for its transfer. Pay into the virtual account "
                               "before its deadline." },
    { "order_not_allocated", "This order's cards are not allocated yet." },
    { "cards_already_revealed", "The card numbers of this order were shown already." },
    { "payment_in_progress", "A payment for this is being processed. Check again in a moment." },
    { "card_already_registered", "The card already has a password, so it can no longer be "
                                 "given." },
    { "card_already_gifted", "This card was given already." },
    { "gift_not_allowed", "This order was opened again with a code after its card numbers "
                          "were shown, so its cards can no longer be given. Register them "
                          "with the numbers you saw." },
    { "card_gifted", "This card was given as a gift: its recipient registers it when opening "
                     "the gift." },
    { "gift_card_registered", "The sender has set a password on this card since giving it, "
                              "so it can no longer be claimed. Ask them to send it again." },
    { "gift_already_claimed", "This gift was claimed already." },
    { "card_has_open_authorizations", "The card has payments that are not captured yet. Refund "
                                      "it once they are settled." },
    { "balance_zero", "The card's balance is zero: there is nothing to refund." },
    { "card_managed_by_wallet", "This card belongs to an e-wallet; its balance stays in the "
                                "wallet." },
  };

  for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
    if (g_str_equal (messages[i].code, code))
      return messages[i].message;
  return "The request conflicts with the state of the object.";
}

static void
set_error (GwCall     *call,
           guint       status,
           const char *type,
           const char *code,
           const char *decline_code,
           const char *param,
           const char *message)
{
  call->status = status;
  call->body = g_string_sized_new (200);
  gw_error_render (call->body, type, code, decline_code, param, message);
}

void
gw_site_outcome_error (GwSite                *self,
                       GwCall                *call,
                       const GwOrdersOutcome *outcome)
{
  switch (outcome->result)
    {
    case GW_ORDERS_NOT_FOUND:
      set_error (call, 404, "invalid_request_error", "resource_missing", NULL, outcome->param,
                 g_str_equal (outcome->param, "token") ? "No such gift."
                 : g_str_equal (outcome->param, "card") ? "No such card in this order."
                 : g_str_equal (outcome->param, "payment") ? "No such payment on this card."
                 : "No such object.");
      break;
    case GW_ORDERS_REFUSED:
      set_error (call, 400, "invalid_request_error", outcome->code, NULL, outcome->param,
                 g_str_equal (outcome->code, "payment_method_not_accepted")
                 ? "A onepin card cannot pay for cards or recharges. Use a credit card, a bank "
                   "account or a transfer."
                 : "amount must be a multiple of 10,000 from 10,000 to 1,000,000.");
      break;
    case GW_ORDERS_CONFLICT:
      set_error (call, 409, "invalid_request_error", outcome->code, NULL, NULL,
                 conflict_message (outcome->code));
      break;
    case GW_ORDERS_CARD_DECLINED:
      gw_call_fail (call, &outcome->card, NULL);
      break;
    case GW_ORDERS_FUNDING_DECLINED:
      set_error (call, 402, "card_error", "funding_declined", outcome->bank_decline, NULL,
                 "The bank declined the payment. Nothing was charged; try another card or "
                 "account.");
      break;
    case GW_ORDERS_PAYOUT_DECLINED:
      set_error (call, 402, "card_error", "payout_declined", outcome->bank_decline, NULL,
                 "The bank refused the payout to this account. The balance is back on the "
                 "card, which stays open.");
      break;
    case GW_ORDERS_KEY_REUSED:
      /* As gw_idempotency_replay () words it, and nothing of the first. */
      set_error (call, 422, "idempotency_error", "idempotency_key_reused", NULL, NULL,
                 "This Idempotency-Key was used with other parameters.");
      break;
    case GW_ORDERS_GIVEN_BACK:
      /* For the buyer, like a decline: nothing paid, and they may pay again. */
      set_error (call, 402, "card_error", "funding_declined", outcome->bank_decline, NULL,
                 g_str_equal (outcome->bank_decline, GW_ORDERS_CREDIT_FAILED)
                 ? "The bank approved the payment, but the card could not be credited, so the "
                   "payment is canceled and the money given back in full. The balance is as "
                   "it was; try again later."
                 : "The bank approved the payment, but the cards could not be issued, so the "
                   "payment is canceled and the money given back in full. The order may be "
                   "paid again later.");
      break;
    case GW_ORDERS_BANK_UNKNOWN:
      set_error (call, 503, "api_error", "bank_outcome_unknown", NULL, NULL,
                 "The bank has not confirmed the outcome yet. Nothing is charged twice: retry "
                 "with the same Idempotency-Key in a moment.");
      break;
    case GW_ORDERS_BANK_UNAVAILABLE:
    case GW_ORDERS_OK:
    default:
      set_error (call, 503, "api_error", "bank_unavailable", NULL, NULL,
                 "The bank cannot be reached. Nothing was charged and nothing changed; try "
                 "again in a few minutes.");
      break;
    }
}

/* Flows */

GwSiteFlow *
gw_site_flow_new (GwRequest      *request,
                  GwSiteFlowFunc  begin,
                  GwSiteFlowFunc  answer,
                  gpointer        data,
                  GDestroyNotify  data_free)
{
  GwSiteFlow *flow = g_new0 (GwSiteFlow, 1);

  flow->site = g_object_ref (gw_site_get (request->server));
  flow->request = request;
  flow->begin = begin;
  flow->answer = answer;
  flow->data = data;
  flow->data_free = data_free;
  if (request->idempotency_key != NULL)
    {
      flow->keyed = TRUE;
      gw_server_hash_idempotency_key (request->server, request->scope, request->idempotency_key,
                                      flow->key_hash);
      memcpy (flow->fingerprint, request->fingerprint, 32);
      memcpy (flow->bare_fingerprint, request->bare_fingerprint, 32);
      flow->has_holder = request->has_holder;
      flow->holder = request->holder;
    }
  return flow;
}

static void
flow_free (GwSiteFlow *flow)
{
  if (flow->data_free != NULL)
    flow->data_free (flow->data);
  g_clear_pointer (&flow->result, gw_charge_result_free);
  g_free (flow->failure);
  explicit_bzero (&flow->holder, sizeof flow->holder);
  g_object_unref (flow->site);
  g_free (flow);
}

/* A call to the writer on the flow's behalf, answered to @done. */
static GwCall *
flow_call (GwSiteFlow  *flow,
           GwCallApply  apply,
           GwCallDone   done)
{
  GwCall *call = g_new0 (GwCall, 1);

  call->server = flow->site->server;
  call->request = flow->request;
  call->apply = apply;
  call->data = flow;
  call->done = done;
  call->done_data = flow;
  call->has_holder = flow->has_holder;
  call->holder = flow->holder;
  return call;
}

static void
flow_unbusy (GwSiteFlow *flow)
{
  if (flow->holds_busy)
    g_hash_table_remove (flow->site->busy, flow->step.id);
  flow->holds_busy = FALSE;
}

static void
flow_release (GwSiteFlow *flow)
{
  GwSite *self = flow->site;

  if (flow->keyed)
    gw_server_release_key (self->server, flow->key_hash);
  flow->keyed = FALSE;
  if (flow->lock[0] != '\0')
    g_hash_table_remove (self->locks, flow->lock);
  flow->lock[0] = '\0';
}

/* Answers the request, if any. The flow may go on without it (a void). */
static void
flow_reply (GwSiteFlow *flow,
            GwCall     *call)
{
  GwRequest *request = flow->request;

  flow_release (flow);
  if (request == NULL)
    return;
  flow->request = NULL;
  if (call->replayed)
    soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                  "Idempotent-Replayed", "true");
  gw_request_reply (request, call->status, g_steal_pointer (&call->body));
}

static void
flow_reply_error (GwSiteFlow            *flow,
                  const GwOrdersOutcome *outcome)
{
  GwCall *call = flow_call (flow, NULL, NULL);

  gw_site_outcome_error (flow->site, call, outcome);
  flow_reply (flow, call);
  gw_call_free (call);
}

static void
flow_end (GwSiteFlow *flow)
{
  flow_release (flow);
  if (flow->void_after)
    {
      /* The request is answered; giving the money back goes on alone. */
      flow->void_after = FALSE;
      flow->step.next = GW_ORDERS_NEXT_VOID;
      flow_ask_bank (flow);
      return;
    }
  if (flow->from_sweep)
    {
      g_autoptr(GwSite) site = g_object_ref (flow->site);

      site->sweeps--;
      flow_unbusy (flow);
      flow_free (flow);
      sweep_more (site);
      return;
    }
  flow_unbusy (flow);
  flow_free (flow);
}

/* On the writer: the first step, after the request's key was looked up. */
static gboolean
begin_apply (GwTxn   *txn,
             GwCall  *call,
             GError **error)
{
  GwSiteFlow *flow = call->data;
  gboolean answered = FALSE;

  if (flow->keyed &&
      !gw_idempotency_replay (txn, call, flow->key_hash, flow->fingerprint,
                              flow->bare_fingerprint, &answered, error))
    return FALSE;
  /* A card's refusal here is counted by call_apply, as any. */
  if (answered && flow->has_holder)
    return gw_idempotency_check_holder (txn, call, error);
  if (answered)
    return TRUE;
  if (!flow->begin (txn, flow, call, error))
    return FALSE;
  if (call->body == NULL && flow->step.next == GW_ORDERS_NEXT_ANSWER &&
      !flow->answer (txn, flow, call, error))
    return FALSE;
  if (call->body != NULL && flow->keyed && !flow->unstored)
    return gw_idempotency_remember (txn, call, flow->key_hash, flow->fingerprint, error);
  return TRUE;
}

static void
begin_done (GwCall   *call,
            gpointer  user_data)
{
  GwSiteFlow *flow = user_data;

  if (call->body != NULL)
    {
      flow_reply (flow, call);
      flow_end (flow);
    }
  else
    flow_ask_bank (flow);
  gw_call_free (call);
}

void
gw_site_flow_run (GwSiteFlow *flow)
{
  GwSite *self = flow->site;
  GwOrdersOutcome busy = { .result = GW_ORDERS_CONFLICT, .code = "payment_in_progress" };
  GwOrdersOutcome down = { .result = GW_ORDERS_BANK_UNAVAILABLE };

  if (flow->keyed && !gw_server_claim_key (self->server, flow->key_hash))
    {
      GwCall *call = flow_call (flow, NULL, NULL);

      flow->keyed = FALSE;
      set_error (call, 409, "idempotency_error", "idempotency_in_flight", NULL, NULL,
                 "A request with this Idempotency-Key is still in progress.");
      flow_reply (flow, call);
      gw_call_free (call);
      return flow_end (flow);
    }
  if (flow->lock[0] != '\0')
    {
      if (g_hash_table_contains (self->locks, flow->lock))
        {
          flow->lock[0] = '\0';
          flow_reply_error (flow, &busy);
          return flow_end (flow);
        }
      g_hash_table_add (self->locks, g_strdup (flow->lock));
    }
  if (gw_site_get_connector (self) == NULL)
    {
      flow_reply_error (flow, &down);
      return flow_end (flow);
    }
  gw_call_submit (flow_call (flow, begin_apply, begin_done));
}

/* Approvals whose settlement failed. The bank has the money and nothing
 * was issued for it: it is settled again, a bounded number of times
 * ([site] allocation_attempts) and further apart each time, since a
 * failure may pass (the disk, a lock, a key being rotated) or stay (a
 * constraint, a closed stock, a bug): nothing tells which. Then it is
 * given back. The count lives in this process: a restart begins it again,
 * which bounds it all the same, and the money's state is in the database. */

static gboolean
is_approval (const GwSiteFlow *flow)
{
  return flow->heard && flow->result != NULL && flow->result->status == GW_CHARGE_APPROVED &&
         g_str_has_prefix (flow->step.id, "chg_");
}

/* Seconds before the try after @attempts failed ones. */
static gint64
retry_delay (GwSite *self,
             gint64  attempts)
{
  return MIN (self->config->site_allocation_retry << MIN (attempts - 1, 20), RETRY_MAX);
}

/* Whether @id failed to settle a moment ago and its next try is not due. */
static gboolean
retry_waiting (GwSite     *self,
               const char *id)
{
  Retry *retry = g_hash_table_lookup (self->retries, id);

  return retry != NULL && g_get_monotonic_time () < retry->due;
}

/* On the main thread, once the settlement of an approval was rolled back:
 * the next try is booked, or, after the last, the approval is settled as
 * given back (which also answers the request). */
static void
after_failed_settlement (GwSiteFlow *flow)
{
  GwSite *self = flow->site;
  GwOrdersOutcome later = { .result = GW_ORDERS_CONFLICT, .code = "payment_in_progress" };
  gint64 attempts = self->config->site_allocation_attempts;
  Retry *retry = g_hash_table_lookup (self->retries, flow->step.id);

  if (retry == NULL)
    {
      retry = g_new0 (Retry, 1);
      g_hash_table_insert (self->retries, g_strdup (flow->step.id), retry);
    }
  flow->settle_failed = FALSE;
  if (flow->undeliverable)
    {
      /* Even giving it back failed: the database itself is in trouble. */
      g_warning ("giving back %s failed: %s; trying again in %" G_GINT64_FORMAT " s",
                 flow->step.id, flow->failure, retry_delay (self, retry->attempts));
    }
  else
    {
      retry->attempts++;
      gw_metrics_allocation_failed (gw_server_get_metrics (self->server));
      if (retry->attempts >= attempts)
        {
          g_warning ("the approval of %s could not be settled in %" G_GINT64_FORMAT
                     " attempts (the last: %s); giving the money back", flow->step.id,
                     retry->attempts, flow->failure);
          flow->undeliverable = TRUE;
          flow_settle (flow);
          return;
        }
      g_warning ("settling the approval of %s failed, attempt %" G_GINT64_FORMAT " of %"
                 G_GINT64_FORMAT ": %s; trying again in %" G_GINT64_FORMAT " s", flow->step.id,
                 retry->attempts, attempts, flow->failure, retry_delay (self, retry->attempts));
    }
  retry->due = g_get_monotonic_time () + retry_delay (self, retry->attempts) * G_USEC_PER_SEC;

  /* Not "nothing happened": the payment is taken and its outcome will
   * come. A deposit callback gets it too, and the bank sends it again. */
  flow_unbusy (flow);
  flow_reply_error (flow, &later);
  flow_end (flow);
}

/* Talking to the bank */

static GwChargeResult *
invalid_as_declined (void)
{
  GwChargeResult *result = g_new0 (GwChargeResult, 1);

  /* The bank refused the request's details as malformed: a decline. */
  result->status = GW_CHARGE_DECLINED;
  result->decline_code = g_strdup ("invalid_request");
  return result;
}

/* What a charge or payout call returned; anything but an answer or a sure
 * "nothing happened" is asked about before anything else. */
static void
heard_from_bank (GwSiteFlow     *flow,
                 GwChargeResult *result,
                 const GError   *error)
{
  flow->result = result;
  flow->heard = result != NULL ||
                g_error_matches (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNAVAILABLE) ||
                g_error_matches (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_INVALID);
  if (g_error_matches (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_INVALID))
    flow->result = invalid_as_declined ();
  /* Also while the gateway stops: the stopped connector refuses the query
   * at once, the state stays as it is, and the next start's sweep asks. */
  if (!flow->heard)
    {
      g_info ("outcome of %s unknown (%s); asking the bank", flow->step.id, error->message);
      flow->step.next = GW_ORDERS_NEXT_QUERY;
      flow_ask_bank (flow);
      return;
    }
  flow_settle (flow);
}

static void
charged (GObject      *source,
         GAsyncResult *res,
         gpointer      user_data)
{
  GwSiteFlow *flow = user_data;
  g_autoptr(GError) error = NULL;
  GwChargeResult *result = gw_connector_charge_finish (GW_CONNECTOR (source), res, &error);

  heard_from_bank (flow, result, error);
}

static void
paid_out (GObject      *source,
          GAsyncResult *res,
          gpointer      user_data)
{
  GwSiteFlow *flow = user_data;
  g_autoptr(GError) error = NULL;
  GwChargeResult *result = gw_connector_payout_finish (GW_CONNECTOR (source), res, &error);

  heard_from_bank (flow, result, error);
}

static void
queried (GObject      *source,
         GAsyncResult *res,
         gpointer      user_data)
{
  GwSiteFlow *flow = user_data;
  g_autoptr(GError) error = NULL;

  flow->result = gw_connector_query_finish (GW_CONNECTOR (source), res, &error);
  /* The bank never saw it: nothing happened (for a young payout or
   * charge, not yet: gw_orders_payout_settle, gw_orders_settle_charge).
   * Otherwise, if it cannot say, the state stays as it is and the sweep
   * asks again later. */
  flow->not_found = g_error_matches (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_NOT_FOUND);
  flow->heard = flow->result != NULL || flow->not_found;
  if (!flow->heard)
    g_info ("the bank could not tell about %s: %s", flow->step.id, error->message);
  flow_settle (flow);
}

static gboolean
voided_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  GwSiteFlow *flow = call->data;

  return gw_orders_charge_voided (txn, &flow->site->orders, flow->step.id, flow->heard, error);
}

static void
voided_done (GwCall   *call,
             gpointer  user_data)
{
  GwSiteFlow *flow = user_data;

  flow_unbusy (flow);
  if (call->status >= 500)
    g_warning ("recording the void of %s failed", flow->step.id);
  gw_call_free (call);
  flow_end (flow);
}

static void
voided (GObject      *source,
        GAsyncResult *res,
        gpointer      user_data)
{
  GwSiteFlow *flow = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) result = gw_connector_void_finish (GW_CONNECTOR (source), res,
                                                               &error);

  flow->heard = result != NULL;
  if (result == NULL)
    g_warning ("void of %s failed: %s", flow->step.id, error->message);
  gw_call_submit (flow_call (flow, voided_apply, voided_done));
}

static void
flow_ask_bank (GwSiteFlow *flow)
{
  GwSite *self = flow->site;
  GwConnector *connector = gw_site_get_connector (self);
  GwOrdersOutcome busy = { .result = GW_ORDERS_CONFLICT, .code = "payment_in_progress" };
  const char *id = flow->step.id;

  /* Someone else is waiting on the bank about this already, or its
   * approval failed to settle a moment ago: let them finish, or wait. */
  if (!flow->holds_busy && (g_hash_table_contains (self->busy, id) || retry_waiting (self, id)))
    {
      flow_reply_error (flow, &busy);
      return flow_end (flow);
    }
  if (!flow->holds_busy)
    g_hash_table_add (self->busy, g_strdup (id));
  flow->holds_busy = TRUE;
  g_clear_pointer (&flow->result, gw_charge_result_free);
  flow->heard = FALSE;
  flow->not_found = FALSE;
  flow->charge.idempotency_key = id;

  switch (flow->step.next)
    {
    case GW_ORDERS_NEXT_CHARGE:
      gw_connector_charge_async (connector, &flow->charge, self->cancellable, charged, flow);
      break;
    case GW_ORDERS_NEXT_PAYOUT:
      gw_connector_payout_async (connector, &flow->charge, self->cancellable, paid_out, flow);
      break;
    case GW_ORDERS_NEXT_VOID:
      gw_connector_void_async (connector, id, self->cancellable, voided, flow);
      break;
    case GW_ORDERS_NEXT_QUERY:
    case GW_ORDERS_NEXT_ANSWER:
    default:
      gw_connector_query_async (connector, id, self->cancellable, queried, flow);
      break;
    }
}

/* On the writer: what the bank said about a charge. A failure to settle
 * an approval is noted for after_failed_settlement (). */
static gboolean
settle_charge_apply (GwTxn         *txn,
                     GwSiteFlow    *flow,
                     GwOrdersStep  *step,
                     GError       **error)
{
  const GwOrdersConfig *orders = &flow->site->orders;
  GError *local = NULL;
  gboolean ok;

  if (flow->undeliverable)
    ok = gw_orders_settle_undeliverable (txn, orders, flow->step.id, flow->result,
                                         flow->not_found, step, &local);
  else
    ok = gw_orders_settle_charge (txn, orders, flow->step.id, flow->result, flow->not_found, step,
                                  &local);
  if (ok)
    return TRUE;
  if (is_approval (flow))
    {
      flow->settle_failed = TRUE;
      g_free (flow->failure);
      flow->failure = g_strdup (local->message);
    }
  g_propagate_error (error, local);
  return FALSE;
}

/* On the writer: what the bank said, then the answer from the state. */
static gboolean
settle_and_answer (GwTxn   *txn,
                   GwCall  *call,
                   GError **error)
{
  GwSiteFlow *flow = call->data;
  const GwOrdersConfig *orders = &flow->site->orders;
  GwOrdersStep step = { GW_ORDERS_NEXT_ANSWER, "" };

  if (flow->heard)
    {
      if (g_str_has_prefix (flow->step.id, "po_"))
        {
          if (!gw_orders_payout_settle (txn, orders, flow->step.id, flow->result,
                                        flow->not_found, error))
            return FALSE;
        }
      else if (!settle_charge_apply (txn, flow, &step, error))
        return FALSE;
      flow->void_after = step.next == GW_ORDERS_NEXT_VOID;
      flow->booked_late = step.booked_late;
    }
  /* Asked all the same: a watched charge's next ask backs off. */
  else if (flow->unanswered && !g_str_has_prefix (flow->step.id, "po_") &&
           !gw_orders_charge_unanswered (txn, orders, flow->step.id, error))
    return FALSE;
  if (flow->request == NULL || flow->answer == NULL)
    return TRUE;
  if (!flow->answer (txn, flow, call, error))
    return FALSE;
  if (flow->keyed)
    return gw_idempotency_remember (txn, call, flow->key_hash, flow->fingerprint, error);
  return TRUE;
}

static gboolean
settle_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  GwSiteFlow *flow = call->data;

  if (!settle_and_answer (txn, call, error))
    return FALSE;
  flow->settled = flow->heard;
  return TRUE;
}

static void
settle_done (GwCall   *call,
             gpointer  user_data)
{
  GwSiteFlow *flow = user_data;

  if (flow->settle_failed)
    {
      gw_call_free (call);
      return after_failed_settlement (flow);
    }
  /* Settled at last, one way or the other (unless the commit failed,
   * which begins the count again: the database is in trouble then). */
  if (flow->settled)
    {
      g_hash_table_remove (flow->site->retries, flow->step.id);
      if (flow->undeliverable && flow->void_after)
        gw_metrics_allocation_abandoned (gw_server_get_metrics (flow->site->server));
      if (flow->booked_late)
        gw_metrics_late_charge_voided (gw_server_get_metrics (flow->site->server));
    }
  flow_unbusy (flow);
  if (call->status >= 500 && call->body != NULL && flow->request == NULL)
    g_warning ("settling %s failed", flow->step.id);
  if (call->body != NULL)
    flow_reply (flow, call);
  gw_call_free (call);
  flow_end (flow);
}

static void
flow_settle (GwSiteFlow *flow)
{
  GwSite *self = flow->site;
  Retry *retry = g_hash_table_lookup (self->retries, flow->step.id);
  gboolean stopping = g_cancellable_is_cancelled (self->cancellable);

  /* Cancelled: the gateway is stopping; the sweep takes it up next time. */
  if (stopping)
    {
      flow_unbusy (flow);
      flow->heard = FALSE;
    }
  flow->unanswered = !flow->heard && !stopping;
  /* Tried often enough (giving it back failed last time). */
  if (retry != NULL && retry->attempts >= self->config->site_allocation_attempts)
    flow->undeliverable = TRUE;
  flow->settle_failed = FALSE;
  flow->settled = FALSE;
  gw_call_submit (flow_call (flow, settle_apply, settle_done));
}

/* Deposit callbacks */

static gboolean
ack_answer (GwTxn       *txn,
            GwSiteFlow  *flow,
            GwCall      *call,
            GError     **error)
{
  GwOrdersOutcome stopping = { .result = GW_ORDERS_BANK_UNAVAILABLE };

  /* Not settled (the gateway is stopping): a 2xx would tell the bank it
   * was, and it would not send it again. */
  if (!flow->heard)
    {
      gw_site_outcome_error (flow->site, call, &stopping);
      return TRUE;
    }
  gw_call_ok (call, g_string_new ("{\"received\":true}"));
  return TRUE;
}

void
gw_site_deposit_reported (GwSite         *self,
                          GwRequest      *request,
                          const char     *charge_id,
                          GwChargeResult *result)
{
  GwSiteFlow *flow = gw_site_flow_new (request, NULL, ack_answer, NULL, NULL);
  GwOrdersOutcome busy = { .result = GW_ORDERS_CONFLICT, .code = "payment_in_progress" };

  flow->keyed = FALSE;
  flow->step.next = GW_ORDERS_NEXT_QUERY;
  g_strlcpy (flow->step.id, charge_id, sizeof flow->step.id);
  /* A request still waiting on this charge settles it, or its approval
   * failed to settle a moment ago; either way the bank retries. */
  if (g_hash_table_contains (self->busy, charge_id) || retry_waiting (self, charge_id))
    {
      gw_charge_result_free (result);
      flow_reply_error (flow, &busy);
      return flow_end (flow);
    }
  g_hash_table_add (self->busy, g_strdup (charge_id));
  flow->holds_busy = TRUE;
  flow->result = result;
  flow->heard = TRUE;
  flow_settle (flow);
}

/* The sweep */

static gboolean
sweep_read (GwTxn    *txn,
            gpointer  data,
            GError  **error)
{
  GArray **work = data;

  *work = gw_orders_sweep (txn, txn->funcs->now (txn) - SWEEP_AFTER, error);
  return *work != NULL;
}

/* A flow of the sweep's, unless one waits on the bank for @id already. */
static void
sweep_start (GwSite          *self,
             const SweepItem *item)
{
  GwSiteFlow *flow;

  if (g_hash_table_contains (self->busy, item->id) || retry_waiting (self, item->id))
    return;
  flow = g_new0 (GwSiteFlow, 1);
  flow->site = g_object_ref (self);
  flow->from_sweep = TRUE;
  flow->step.next = item->next;
  g_strlcpy (flow->step.id, item->id, sizeof flow->step.id);
  self->sweeps++;
  flow_ask_bank (flow);
}

/* Starts the sweep's waiting work while fewer than GW_SITE_SWEEP_AT_ONCE of
 * its flows run. Each holds one of the bank connector's connections while
 * it asks, and a call that finds them all busy waits with its deadline
 * running: 200 asks at once left customers' calls queued behind them, and
 * ran most of the asks themselves out of the [bank] timeout (backing their
 * charges' next asks off). */
static void
sweep_more (GwSite *self)
{
  while (self->sweeps < GW_SITE_SWEEP_AT_ONCE && !g_cancellable_is_cancelled (self->cancellable))
    {
      g_autofree SweepItem *item = g_queue_pop_head (&self->sweep_waiting);

      if (item == NULL)
        return;
      sweep_start (self, item);
    }
}

static void
sweep_add (GwSite       *self,
           const char   *id,
           GwOrdersNext  next)
{
  SweepItem *item = g_new0 (SweepItem, 1);

  g_strlcpy (item->id, id, sizeof item->id);
  item->next = next;
  g_queue_push_tail (&self->sweep_waiting, item);
}

void
gw_site_sweep (GwSite *self)
{
  g_autoptr(GArray) work = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) retried = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer id;

  if (gw_site_get_connector (self) == NULL || self->sweeps > 0 ||
      !g_queue_is_empty (&self->sweep_waiting))
    return;
  if (!gw_store_read (self->store, sweep_read, &work, &error))
    {
      g_warning ("sweep: %s", error->message);
      return;
    }
  for (guint i = 0; i < work->len; i++)
    {
      GwOrdersWork *item = &g_array_index (work, GwOrdersWork, i);

      sweep_add (self, item->id, item->next);
    }
  /* A failed settlement's next try is due on its own schedule, whatever
   * the charge's age; one the list had is busy by now. */
  g_hash_table_iter_init (&iter, self->retries);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    g_ptr_array_add (retried, g_strdup (id));
  for (guint i = 0; i < retried->len; i++)
    sweep_add (self, g_ptr_array_index (retried, i), GW_ORDERS_NEXT_QUERY);
  sweep_more (self);
}

static gboolean
sweep_tick (gpointer user_data)
{
  gw_site_sweep (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
sweep_first (gpointer user_data)
{
  gw_site_sweep (user_data);
  return G_SOURCE_REMOVE;
}

/* The object */

static void
gw_site_dispose (GObject *object)
{
  GwSite *self = GW_SITE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->sweep_source, g_source_remove);

  G_OBJECT_CLASS (gw_site_parent_class)->dispose (object);
}

static void
gw_site_finalize (GObject *object)
{
  GwSite *self = GW_SITE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->locks, g_hash_table_unref);
  g_clear_pointer (&self->busy, g_hash_table_unref);
  g_clear_pointer (&self->retries, g_hash_table_unref);
  g_clear_pointer (&self->public_url, g_free);
  g_queue_clear_full (&self->sweep_waiting, g_free);

  G_OBJECT_CLASS (gw_site_parent_class)->finalize (object);
}

static void
gw_site_class_init (GwSiteClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = gw_site_dispose;
  G_OBJECT_CLASS (klass)->finalize = gw_site_finalize;
}

static void
gw_site_init (GwSite *self)
{
  self->cancellable = g_cancellable_new ();
  self->locks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->busy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->retries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

GwSite *
gw_site_new (GwServer             *server,
             GwStore              *store,
             const GwLedgerConfig *ledger,
             const GwConfig       *config)
{
  GwSite *self = g_object_new (GW_TYPE_SITE, NULL);

  self->server = server;
  self->store = store;
  self->config = config;
  self->orders.ledger = ledger;
  self->orders.promotional_years = config->promotional_validity_years;
  self->orders.payout_missing_after = config->site_payout_missing_after;
  self->orders.charge_missing_after = config->site_charge_missing_after;
  self->orders.charge_watch = config->site_charge_watch;
  self->orders.sweep_interval = config->site_sweep_interval;
  gw_site_set_public_url (self, config->site_public_url);
  /* The server owns the site; flows in progress hold references of their own. */
  g_object_set_data_full (G_OBJECT (server), "gw-site", self, g_object_unref);
  /* The connector is set once the server listens: the first sweep waits
   * for the main loop. */
  self->sweep_source = g_timeout_add_seconds (config->site_sweep_interval, sweep_tick, self);
  g_idle_add_full (G_PRIORITY_LOW, sweep_first, g_object_ref (self), g_object_unref);
  return self;
}

GwSite *
gw_site_get (GwServer *server)
{
  return g_object_get_data (G_OBJECT (server), "gw-site");
}

void
gw_site_set_public_url (GwSite     *self,
                        const char *url)
{
  g_free (self->public_url);
  self->public_url = g_strdup (url);
  self->orders.public_url = self->public_url;
}

const GwOrdersConfig *
gw_site_get_orders_config (GwSite *self)
{
  return &self->orders;
}

const GwConfig *
gw_site_get_config (GwSite *self)
{
  return self->config;
}

GwConnector *
gw_site_get_connector (GwSite *self)
{
  return gw_server_get_connector (self->server);
}
