/* bank-api-reconciliation.c: an operator closes a reconciliation
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A capture, refund or reversal the issuer never answered (or answered 94
 * to a retransmission) awaits reconciliation: the bank cannot know what
 * the issuer did with it, and guesses nothing. The bank's operator, who
 * learned it out of band (from the issuer on the phone, or its settlement
 * file), records it here, and the bank applies it as that answer from the
 * issuer would have been applied: the message answered, the payment
 * settled and released, the outcome kept under the mall's key, and who
 * closed it, when and why, in the request's one transaction.
 */
#include "bank-server-private.h"

#include <string.h>

#define MAX_OPERATOR 64
#define MAX_NOTE 500
#define STAN_DIGITS 6

/* The STAN is required: a 409 is not kept under the operator's key, so
 * without it a stale retry of a close would close whatever message of the
 * payment awaits reconciliation by then, not the one the operator meant. */
static const OnepinJsonField close_fields[] = {
  { "outcome",  ONEPIN_JSON_STRING, TRUE },
  { "operator", ONEPIN_JSON_STRING, TRUE },
  { "note",     ONEPIN_JSON_STRING, TRUE },
  { "stan",     ONEPIN_JSON_STRING, TRUE },
};

/* ---- rendering ---------------------------------------------------------- */

/* What every reconciliation shows: the message, and why it awaited one. */
static JsonObject *
describe_message (const BankNetworkMessage *m,
                  const char               *status)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "status", status);
  json_object_set_string_member (o, "operation", bank_acquirer_operation (m));
  json_object_set_int_member (o, "amount", m->amount);
  json_object_set_string_member (o, "reason", m->reconcile);
  json_object_set_string_member (o, "stan", m->stan);
  json_object_set_string_member (o, "transmitted", m->transmitted);
  json_object_set_int_member (o, "since", m->reconcile_at);
  return o;
}

/* "disputed" when the issuer answered after all, and not what the
 * operator recorded. Who closed it and the note are the bank's own
 * business: shown to its operators (@staff) only, not to the malls. */
static JsonObject *
describe_closed (const BankNetworkMessage *m,
                 const BankReconciliation *r,
                 gboolean                  staff)
{
  gboolean agrees = r->issuer_code == NULL ||
                    bank_network_outcome_agrees (r->outcome, r->issuer_code);
  JsonObject *o = describe_message (m, agrees ? "closed" : "disputed");
  JsonObject *answer;

  json_object_set_string_member (o, "outcome", r->outcome);
  if (staff)
    {
      json_object_set_string_member (o, "operator", r->closed_by);
      json_object_set_string_member (o, "note", r->note);
    }
  json_object_set_int_member (o, "closed_at", r->closed_at);
  if (r->issuer_code == NULL)
    return o;
  answer = json_object_new ();
  json_object_set_string_member (answer, "response_code", r->issuer_code);
  json_object_set_boolean_member (answer, "agrees", agrees);
  json_object_set_int_member (answer, "at", r->issuer_at);
  json_object_set_object_member (o, "issuer_answer", answer);
  return o;
}

gboolean
bank_reconciliation_reply (BankRequest                *request,
                           const BankAcquirerPayment  *p,
                           GError                    **error)
{
  BankStore *store = bank_server_get_store (request->server);
  g_autoptr(BankNetworkMessage) m = NULL;
  g_autoptr(BankReconciliation) r = NULL;
  g_autoptr(GError) local = NULL;
  JsonObject *o;

  m = bank_store_message_reconciling (store, p->id, &local);
  if (m == NULL && local == NULL)
    {
      r = bank_store_reconciliation_last (store, p->id, &local);
      if (r != NULL)
        m = bank_store_message_get (store, r->message_id, &local);
    }
  if (local != NULL)
    return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
  o = bank_acquirer_render (p);
  if (m != NULL)
    json_object_set_object_member (o, "reconciliation",
                                   r != NULL ? describe_closed (m, r, request->as_operator)
                                             : describe_message (m, "open"));
  return bank_reply (request, 200, o);
}

/* ---- closing ------------------------------------------------------------ */

/* As the bank sends it (field 11), and shows it on the reconciliation. */
static gboolean
stan_valid (const char *stan)
{
  if (strlen (stan) != STAN_DIGITS)
    return FALSE;
  for (const char *c = stan; *c != '\0'; c++)
    if (!g_ascii_isdigit (*c))
      return FALSE;
  return TRUE;
}

static gboolean
check_close (BankRequest *request)
{
  const char *outcome = onepin_json_get_string (request->body, "outcome", "");

  if (!bank_check_body (request, close_fields, G_N_ELEMENTS (close_fields)))
    return FALSE;
  if (!g_str_equal (outcome, "approved") && !g_str_equal (outcome, "declined"))
    return !bank_reply_bad_param (request, "outcome",
                                  "outcome is what the issuer did with the message: "
                                  "\"approved\" or \"declined\"");
  if (!stan_valid (onepin_json_get_string (request->body, "stan", "")))
    return !bank_reply_bad_param (request, "stan",
                                  "stan is the six digits of the message's system trace "
                                  "audit number, as the payment's reconciliation shows it");
  return bank_check_text (request, request->body, "operator", "operator", 1, MAX_OPERATOR) &&
         bank_check_text (request, request->body, "note", "note", 1, MAX_NOTE);
}

/* The message of @p that awaits reconciliation, or NULL: a store failure
 * (in @error), or none, or not the one the operator named by its STAN,
 * after replying 409. Either 409 may pass (the message is still being
 * sent, or another awaits reconciliation first), so neither is kept under
 * the operator's key (request->transient): a retry of it gets a fresh
 * answer, and closes only the message it names: STANs are the bank's
 * own counter, which comes back to a number only after 999999 messages. */
static BankNetworkMessage *
find_open (BankRequest                *request,
           const BankAcquirerPayment  *p,
           GError                    **error)
{
  const char *stan = onepin_json_get_string (request->body, "stan", "");
  g_autoptr(BankNetworkMessage) m = NULL;
  g_autofree char *message = NULL;

  m = bank_store_message_reconciling (bank_server_get_store (request->server), p->id, error);
  if (m == NULL && error != NULL && *error != NULL)
    return NULL;
  if (m == NULL)
    {
      request->transient = TRUE;
      bank_reply_error (request, 409, "invalid_request_error", "nothing_to_reconcile", NULL,
                        "Nothing of this payment awaits reconciliation.");
      return NULL;
    }
  if (g_str_equal (stan, m->stan))
    return g_steal_pointer (&m);
  /* The bank's STAN, not the one asked for: a request's values are not
   * repeated. */
  message = g_strdup_printf ("The message of this payment that awaits reconciliation is STAN "
                             "%s, not the one named: see the payment's reconciliation.",
                             m->stan);
  request->transient = TRUE;
  bank_reply_error (request, 409, "invalid_request_error", "reconciliation_mismatch", "stan",
                    message);
  return NULL;
}

/* The issuer's answer, as the operator learned it, does what it would have
 * done had it come over the network; and who recorded it, when and why is
 * kept with it. */
static gboolean
close_reconciliation (BankRequest               *request,
                      const BankNetworkMessage  *m,
                      GError                   **error)
{
  JsonObject *body = request->body;
  g_autoptr(BankReconciliation) r = g_new0 (BankReconciliation, 1);

  r->message_id = m->id;
  r->payment_id = g_strdup (m->payment_id);
  r->outcome = g_strdup (onepin_json_get_string (body, "outcome", NULL));
  r->closed_by = g_strdup (onepin_json_get_string (body, "operator", NULL));
  r->note = g_strdup (onepin_json_get_string (body, "note", NULL));
  r->closed_at = bank_server_now (request->server);
  if (!bank_network_apply_answer (bank_server_get_network (request->server), m,
                                  bank_network_outcome_code (r->outcome), error) ||
      !bank_store_reconciliation_add (bank_server_get_store (request->server), r, error))
    return FALSE;
  g_message ("reconciliation: message %" G_GINT64_FORMAT " (the %s of %s) closed by an "
             "operator: %s", m->id, bank_acquirer_operation (m), m->payment_id, r->outcome);
  return TRUE;
}

gboolean
bank_api_acquirer_reconcile (BankRequest  *request,
                             GError      **error)
{
  g_autoptr(BankAcquirerPayment) p = bank_acquirer_find (request, error);
  g_autoptr(BankAcquirerPayment) settled = NULL;
  g_autoptr(BankNetworkMessage) m = NULL;

  if (p == NULL)
    return error == NULL || *error == NULL;
  if (!check_close (request))
    return TRUE;
  m = find_open (request, p, error);
  if (m == NULL)
    return error == NULL || *error == NULL;
  if (!close_reconciliation (request, m, error))
    return FALSE;
  settled = bank_store_acquirer_get (bank_server_get_store (request->server), "id", p->id,
                                     error);
  return settled != NULL && bank_reconciliation_reply (request, settled, error);
}
