/* bank-api-acquirer.c: the acquirer: malls' card payments, on the sandbox's
 * own test cards or over the card network to onepin's issuer
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A mall that knows nothing of onepin takes a card like any other and sends
 * it here. A number in onepin's BIN range is the issuer's to decide: the
 * payment is written as pending, the authorization leaves after that
 * commit, and the issuer's answer settles it in a second transaction. No
 * answer means the issuer may or may not have approved: the payment is
 * declined and the authorization reversed (store and forward), so the card
 * is never charged for a payment the mall was told failed.
 */
#include "bank-server-private.h"
#include "onepin-card.h"
#include "onepin-iso8583.h"

#include <string.h>

#define MAX_AMOUNT 1000000000
#define COUNTRY "KR"
#define PAYMENTS_ROUTE "/v1/acquirer/payments"

static const OnepinJsonField payment_fields[] = {
  { "amount",      ONEPIN_JSON_INT,    TRUE },
  { "currency",    ONEPIN_JSON_STRING, TRUE },
  { "capture",     ONEPIN_JSON_BOOL,   FALSE },
  { "card_number", ONEPIN_JSON_STRING, TRUE },
  { "card_expiry", ONEPIN_JSON_STRING, TRUE },
  { "card_cvc",    ONEPIN_JSON_STRING, TRUE },
  { "merchant",    ONEPIN_JSON_OBJECT, TRUE },
  { "order_id",    ONEPIN_JSON_STRING, FALSE },
  { "description", ONEPIN_JSON_STRING, FALSE },
};

static const OnepinJsonField merchant_fields[] = {
  { "id",       ONEPIN_JSON_STRING, TRUE },
  { "name",     ONEPIN_JSON_STRING, TRUE },
  { "category", ONEPIN_JSON_STRING, TRUE },
  { "city",     ONEPIN_JSON_STRING, FALSE },
};

/* What a payment waits for while its message is on the network. */
typedef struct
{
  char              *payment_id;
  JsonObject        *message;       /* sent once, then dropped: it may carry the card */
  BankNetworkMessage *follow_up;    /* a completion or refund, stored */
  BankHandler        settle;        /* what the answer does, in a new transaction */
  gboolean           retransmission; /* @follow_up was sent before */
  BankNetworkResult  result;
  JsonObject        *response;
} Waiting;

static void
waiting_free (gpointer data)
{
  Waiting *waiting = data;

  g_free (waiting->payment_id);
  if (waiting->message != NULL)     /* never sent: a failed commit */
    onepin_json_object_wipe (waiting->message);
  g_clear_pointer (&waiting->message, json_object_unref);
  g_clear_pointer (&waiting->follow_up, bank_network_message_free);
  g_clear_pointer (&waiting->response, json_object_unref);
  g_free (waiting);
}

/* ---- rendering ---------------------------------------------------------- */

static void
set_string (JsonObject *o,
            const char *name,
            const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, name, value);
}

JsonObject *
bank_acquirer_render (const BankAcquirerPayment *p)
{
  JsonObject *o = json_object_new ();
  JsonObject *merchant = json_object_new ();

  json_object_set_string_member (o, "id", p->id);
  json_object_set_string_member (o, "object", "acquirer_payment");
  json_object_set_string_member (o, "status", p->status);
  json_object_set_string_member (o, "network", p->network);
  json_object_set_int_member (o, "amount", p->amount);
  json_object_set_int_member (o, "amount_captured", p->amount_captured);
  json_object_set_int_member (o, "amount_refunded", p->amount_refunded);
  json_object_set_string_member (o, "currency", p->currency);
  json_object_set_string_member (o, "card_last4", p->card_last4);
  json_object_set_string_member (merchant, "id", p->merchant_id);
  json_object_set_string_member (merchant, "name", p->merchant_name);
  json_object_set_string_member (merchant, "category", p->mcc);
  json_object_set_string_member (merchant, "city", p->merchant_city);
  json_object_set_object_member (o, "merchant", merchant);
  set_string (o, "order_id", p->order_id);
  set_string (o, "description", p->description);
  set_string (o, "response_code", p->response_code);
  set_string (o, "decline_code", p->decline_code);
  set_string (o, "auth_code", p->auth_code);
  json_object_set_string_member (o, "retrieval_reference", p->rrn);
  json_object_set_int_member (o, "created", p->created);
  return o;
}

static const char *
decline_message (const char *code)
{
  if (g_str_equal (code, "insufficient_funds"))
    return "The card's available balance is too low for this amount.";
  if (g_str_equal (code, "expired_card"))
    return "The card has expired, or its expiry date is wrong.";
  if (g_str_equal (code, "incorrect_number"))
    return "The card number is incorrect.";
  if (g_str_equal (code, "incorrect_cvc"))
    return "The card's security code is incorrect.";
  if (g_str_equal (code, "card_locked"))
    return "The card is locked after too many wrong security codes.";
  if (g_str_equal (code, "issuer_unavailable"))
    return "The card's issuer did not answer. Nothing was charged; try again later.";
  if (g_str_equal (code, "invalid_amount"))
    return "The issuer refused the amount.";
  if (g_str_equal (code, "card_declined"))
    return "The card's issuer declined the payment.";
  return "The payment could not be processed. Nothing was charged.";
}

/* 402 card_error: the payment was recorded, declined. */
static gboolean
reply_declined (BankRequest               *request,
                const BankAcquirerPayment *p)
{
  JsonObject *root = json_object_new ();
  JsonObject *error = json_object_new ();

  json_object_set_string_member (error, "type", "card_error");
  json_object_set_string_member (error, "code", "card_declined");
  json_object_set_string_member (error, "decline_code", p->decline_code);
  json_object_set_string_member (error, "message", decline_message (p->decline_code));
  json_object_set_string_member (error, "network_response_code", p->response_code);
  json_object_set_string_member (error, "payment", p->id);
  json_object_set_object_member (root, "error", error);
  return bank_reply (request, 402, root);
}

static gboolean
reply_payment (BankRequest               *request,
               const BankAcquirerPayment *p)
{
  if (g_str_equal (p->status, "declined"))
    return reply_declined (request, p);
  return bank_reply (request, 200, bank_acquirer_render (p));
}

/* ---- helpers ------------------------------------------------------------ */

/* Field 37: the year's last digit, the day of the year, the hour, the STAN. */
static char *
retrieval_reference (gint64      now,
                     const char *stan)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (now);

  return g_strdup_printf ("%d%03d%02d%s", g_date_time_get_year (time) % 10,
                          g_date_time_get_day_of_year (time), g_date_time_get_hour (time), stan);
}

static void
set_code (char       **field,
          const char  *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

static void
decline (BankAcquirerPayment *p,
         const char          *response_code)
{
  set_code (&p->status, "declined");
  set_code (&p->response_code, response_code);
  set_code (&p->decline_code, bank_network_decline_code (response_code));
}

static void
approve (BankAcquirerPayment *p,
         const char          *code)
{
  set_code (&p->status, p->capture ? "captured" : "authorized");
  set_code (&p->response_code, ONEPIN_ISO_APPROVED);
  set_code (&p->auth_code, code);
  p->amount_captured = p->capture ? p->amount : 0;
}

static char *
original_data (const BankAcquirerPayment *p)
{
  return onepin_iso_original_format (p->capture ? ONEPIN_ISO_FINANCIAL : ONEPIN_ISO_AUTH,
                                     p->stan, p->transmitted, BANK_NETWORK_ACQUIRER_ID);
}

/* The fields every message about @p carries. */
static JsonObject *
message_base (const BankAcquirerPayment *p,
              const char                *mti,
              const char                *processing,
              gint64                     amount,
              const char                *stan,
              const char                *transmitted)
{
  JsonObject *m = json_object_new ();
  g_autofree char *field4 = onepin_iso_amount_format (amount);

  json_object_set_string_member (m, "mti", mti);
  json_object_set_string_member (m, "3", processing);
  json_object_set_string_member (m, "4", field4);
  json_object_set_string_member (m, "7", transmitted);
  json_object_set_string_member (m, "11", stan);
  json_object_set_string_member (m, "32", BANK_NETWORK_ACQUIRER_ID);
  json_object_set_string_member (m, "37", p->rrn);
  json_object_set_string_member (m, "42", p->merchant_id);
  json_object_set_string_member (m, "49", onepin_iso_currency_numeric (p->currency));
  return m;
}

/* When the advice queue sends a capture or refund that @request stores or
 * retries, should no answer to it be recorded by then: after the try, and
 * --resend-after seconds for the mall to retry it. Until the issuer's
 * answer is recorded the payment is held (check_idle ()), so a mall that
 * gave up would otherwise hold it for good. */
static gint64
resend_at (BankRequest *request)
{
  const BankConfig *config = bank_server_get_config (request->server);

  return bank_server_now (request->server) + config->issuer_timeout + config->resend_after;
}

/* A completion, reversal or refund of @p, stored to be sent (and, for a
 * reversal, sent again) as it was. */
static BankNetworkMessage *
follow_up_add (BankRequest                *request,
               const BankAcquirerPayment  *p,
               const char                 *mti,
               const char                 *processing,
               gint64                      amount,
               const char                 *request_key,
               GError                    **error)
{
  BankStore *store = bank_server_get_store (request->server);
  gint64 now = bank_server_now (request->server);
  g_autoptr(BankNetworkMessage) m = g_new0 (BankNetworkMessage, 1);
  g_autoptr(JsonObject) message = NULL;
  g_autofree char *original = original_data (p);

  m->stan = bank_store_next_stan (store, error);
  if (m->stan == NULL)
    return NULL;
  m->transmitted = onepin_iso_time_format (now);
  message = message_base (p, mti, processing, amount, m->stan, m->transmitted);
  json_object_set_string_member (message, "90", original);
  if (g_str_equal (mti, ONEPIN_ISO_COMPLETION))
    json_object_set_string_member (message, "38", p->auth_code);
  m->payment_id = g_strdup (p->id);
  m->request_key = g_strdup (request_key);
  m->mti = g_strdup (mti);
  m->amount = amount;
  m->body = bank_network_serialize (message);
  m->created = now;
  if (request_key == NULL)
    m->next_at = now;     /* reversals go out through the advice queue */
  else
    {
      m->next_at = resend_at (request);
      m->has_fingerprint = TRUE;
      memcpy (m->fingerprint, request->fingerprint, 32);
    }
  if (!bank_store_message_add (store, m, error))
    return NULL;
  request->advices_added = TRUE;
  return g_steal_pointer (&m);
}

static gboolean
queue_reversal (BankRequest                *request,
                const BankAcquirerPayment  *p,
                const char                 *mti,
                GError                    **error)
{
  g_autoptr(BankNetworkMessage) m = NULL;

  m = follow_up_add (request, p, mti, ONEPIN_ISO_PURCHASE, p->amount, NULL, error);
  return m != NULL;
}

static gboolean
save (BankRequest          *request,
      BankAcquirerPayment  *p,
      GError              **error)
{
  p->updated = bank_server_now (request->server);
  return bank_store_acquirer_update (bank_server_get_store (request->server), p, error);
}

/* A pending payment whose issuer's answer is lost (a stop, or a failed
 * transaction while recording it) may have been approved: it is declined,
 * and its authorization reversed. */
static gboolean
abandon (BankRequest          *request,
         BankAcquirerPayment  *p,
         GError              **error)
{
  decline (p, ONEPIN_ISO_SYSTEM_MALFUNCTION);
  return queue_reversal (request, p, ONEPIN_ISO_REVERSAL_ADVICE, error) &&
         save (request, p, error) && reply_declined (request, p);
}

/* ---- checks ------------------------------------------------------------- */

static gboolean
check_merchant (BankRequest *request,
                JsonObject  *merchant)
{
  const char *category = onepin_json_get_string (merchant, "category", "");

  if (!bank_check_object (request, merchant, "merchant", merchant_fields,
                          G_N_ELEMENTS (merchant_fields)))
    return FALSE;
  if (strlen (category) != 4 || strspn (category, "0123456789") != 4)
    return !bank_reply_bad_param (request, "merchant.category",
                                  "merchant.category is the 4-digit merchant category code");
  return bank_check_text (request, merchant, "id", "merchant.id", 1, 15) &&
         bank_check_text (request, merchant, "name", "merchant.name", 1, 25) &&
         bank_check_text (request, merchant, "city", "merchant.city", 0, 13);
}

static gboolean
check_payment (BankRequest *request)
{
  JsonObject *body = request->body;
  gint64 amount = onepin_json_get_int (body, "amount", 0);
  const char *cvc = onepin_json_get_string (body, "card_cvc", "");
  gsize cvc_len = strlen (cvc);

  if (!bank_check_body (request, payment_fields, G_N_ELEMENTS (payment_fields)))
    return FALSE;
  if (amount < 1 || amount > MAX_AMOUNT)
    return !bank_reply_bad_param (request, "amount",
                                  "amount is an integer from 1 to 1000000000 (minor units)");
  if (!g_str_equal (onepin_json_get_string (body, "currency", ""), "krw"))
    return !bank_reply_bad_param (request, "currency",
                                  "The sandbox acquirer takes Korean won only: \"krw\"");
  if (bank_card_expiry_state (onepin_json_get_string (body, "card_expiry", NULL), 0) < 0)
    return !bank_reply_bad_param (request, "card_expiry", "card_expiry is \"MM/YY\"");
  if ((cvc_len != 3 && cvc_len != 4) || strspn (cvc, "0123456789") != cvc_len)
    return !bank_reply_bad_param (request, "card_cvc", "card_cvc is 3 or 4 digits");
  return check_merchant (request, json_object_get_object_member (body, "merchant")) &&
         bank_check_text (request, body, "order_id", "order_id", 0, 255) &&
         bank_check_text (request, body, "description", "description", 0, 200);
}

/* ---- authorizing -------------------------------------------------------- */

static BankAcquirerPayment *
payment_new (BankRequest  *request,
             const char   *number,
             GError      **error)
{
  JsonObject *body = request->body;
  JsonObject *merchant = json_object_get_object_member (body, "merchant");
  BankStore *store = bank_server_get_store (request->server);
  g_autoptr(BankAcquirerPayment) p = g_new0 (BankAcquirerPayment, 1);

  p->id = onepin_crypto_random_token ("ap_", 12);
  p->idempotency_key = g_strdup (request->idempotency_key);
  p->amount = onepin_json_get_int (body, "amount", 0);
  p->currency = g_strdup ("krw");
  p->capture = onepin_json_get_bool (body, "capture", TRUE);
  p->card_last4 = g_strdup (number + strlen (number) - 4);
  p->merchant_id = g_strdup (onepin_json_get_string (merchant, "id", ""));
  p->merchant_name = g_strdup (onepin_json_get_string (merchant, "name", ""));
  p->mcc = g_strdup (onepin_json_get_string (merchant, "category", ""));
  p->merchant_city = g_strdup (onepin_json_get_string (merchant, "city", "Seoul"));
  p->order_id = g_strdup (onepin_json_get_string (body, "order_id", NULL));
  p->description = g_strdup (onepin_json_get_string (body, "description", NULL));
  p->created = p->updated = bank_server_now (request->server);
  memcpy (p->fingerprint, request->fingerprint, 32);
  p->stan = bank_store_next_stan (store, error);
  if (p->stan == NULL)
    return NULL;
  p->transmitted = onepin_iso_time_format (p->created);
  p->rrn = retrieval_reference (p->created, p->stan);
  return g_steal_pointer (&p);
}

/* The sandbox's own test cards, decided here and now. */
static gboolean
authorize_sandbox (BankRequest          *request,
                   BankAcquirerPayment  *p,
                   const char           *number,
                   GError              **error)
{
  BankStore *store = bank_server_get_store (request->server);
  const char *expiry = onepin_json_get_string (request->body, "card_expiry", NULL);
  g_autoptr(BankCard) card = NULL;
  char code[7];
  gboolean done = FALSE;

  p->network = g_strdup ("sandbox");
  bank_keys_card_lookup (bank_server_get_keys (request->server), number, p->card_lookup);
  p->has_card = TRUE;
  card = bank_store_card_get (store, p->card_lookup, error);
  if (card == NULL && error != NULL && *error != NULL)
    return FALSE;
  if (card == NULL)
    decline (p, ONEPIN_ISO_INVALID_CARD);
  else if (bank_card_expiry_state (expiry, p->created) > 0)
    decline (p, ONEPIN_ISO_EXPIRED_CARD);
  else if (g_str_equal (card->behaviour, "decline"))
    decline (p, ONEPIN_ISO_DO_NOT_HONOR);
  else if (!bank_store_card_use (store, p->card_lookup, p->amount, &done, error))
    return FALSE;
  else if (!done)
    decline (p, ONEPIN_ISO_INSUFFICIENT_FUNDS);
  else
    {
      onepin_iso_approval_code (code);
      approve (p, code);
    }

  if (!bank_store_acquirer_insert (store, p, error))
    return FALSE;
  if (card != NULL && g_str_equal (card->behaviour, "slow") && done)
    request->delay = bank_server_get_config (request->server)->slow_seconds;
  return reply_payment (request, p);
}

static JsonObject *
authorization_message (BankRequest               *request,
                       const BankAcquirerPayment *p,
                       const char                *number)
{
  JsonObject *body = request->body;
  const char *expiry = onepin_json_get_string (body, "card_expiry", "");
  g_autofree char *field43 = onepin_iso_name_location (p->merchant_name, p->merchant_city,
                                                       COUNTRY);
  g_autofree char *field14 = g_strdup_printf ("%.2s%.2s", expiry + 3, expiry);
  JsonObject *m = message_base (p, p->capture ? ONEPIN_ISO_FINANCIAL : ONEPIN_ISO_AUTH,
                                ONEPIN_ISO_PURCHASE, p->amount, p->stan, p->transmitted);

  json_object_set_string_member (m, "2", number);
  json_object_set_string_member (m, "14", field14);
  json_object_set_string_member (m, "18", p->mcc);
  json_object_set_string_member (m, "22", "812");   /* e-commerce, card not present */
  json_object_set_string_member (m, "43", field43);
  json_object_set_string_member (m, "cvc2", onepin_json_get_string (body, "card_cvc", ""));
  return m;
}

static gboolean
authorization_settle (BankRequest  *request,
                      GError      **error)
{
  Waiting *waiting = request->data;
  BankStore *store = bank_server_get_store (request->server);
  g_autoptr(BankAcquirerPayment) p = bank_store_acquirer_get (store, "id", waiting->payment_id,
                                                              error);
  const char *code;

  if (p == NULL)
    return FALSE;
  if (waiting->result == BANK_NETWORK_ANSWERED)
    {
      code = onepin_iso_get (waiting->response, "39");
      if (g_str_equal (code, ONEPIN_ISO_APPROVED))
        approve (p, onepin_iso_get (waiting->response, "38"));
      else
        decline (p, code);
    }
  else
    {
      /* The issuer may have approved: reverse it, and tell the mall no. */
      decline (p, waiting->result == BANK_NETWORK_NO_ANSWER ? ONEPIN_ISO_ISSUER_UNAVAILABLE
                                                            : ONEPIN_ISO_SYSTEM_MALFUNCTION);
      if (!queue_reversal (request, p, ONEPIN_ISO_REVERSAL_ADVICE, error))
        return FALSE;
    }
  return save (request, p, error) && reply_payment (request, p);
}

static void
network_answered (BankNetworkResult  result,
                  JsonObject        *response,
                  gpointer           user_data)
{
  BankRequest *request = user_data;
  Waiting *waiting = request->data;

  waiting->result = result;
  waiting->response = response ? json_object_ref (response) : NULL;
  bank_request_resume (request, waiting->settle);
}

/* After the commit that recorded the payment: the message leaves. */
static void
send_waiting (BankRequest *request)
{
  Waiting *waiting = request->data;
  /* A card number and CVC go no further than this message, which
   * bank_network_send () wipes. */
  g_autoptr(JsonObject) message = g_steal_pointer (&waiting->message);

  bank_network_send (bank_server_get_network (request->server), message, network_answered,
                     request);
}

static void
wait_for_issuer (BankRequest        *request,
                 const char         *payment_id,
                 JsonObject         *message,
                 BankNetworkMessage *follow_up,
                 BankHandler         settle)
{
  Waiting *waiting = g_new0 (Waiting, 1);

  waiting->payment_id = g_strdup (payment_id);
  waiting->message = message;
  waiting->follow_up = follow_up;
  waiting->settle = settle;
  bank_request_suspend (request, send_waiting, waiting, waiting_free);
}

static gboolean
authorize_onepin (BankRequest          *request,
                  BankAcquirerPayment  *p,
                  const char           *number,
                  GError              **error)
{
  BankStore *store = bank_server_get_store (request->server);
  BankNetwork *network = bank_server_get_network (request->server);

  p->network = g_strdup ("onepin");
  if (!bank_network_has_issuer (network))
    {
      decline (p, ONEPIN_ISO_ISSUER_UNAVAILABLE);
      return bank_store_acquirer_insert (store, p, error) && reply_payment (request, p);
    }

  p->status = g_strdup ("pending");
  if (!bank_store_acquirer_insert (store, p, error))
    return FALSE;
  wait_for_issuer (request, p->id, authorization_message (request, p, number), NULL,
                   authorization_settle);
  return TRUE;
}

/* A payment this key made whose outcome was never stored under the key:
 * the transaction that was to record the issuer's answer failed (a request
 * still waiting for it is refused 409 before this, and every other outcome
 * is stored with the payment). The answer is gone, so the payment is
 * settled as the next start would: declined, and reversed at the issuer.
 * Nothing else may be stored under the key first, or that settlement
 * could not store its own. */
static gboolean
payment_again (BankRequest          *request,
               BankAcquirerPayment  *p,
               GError              **error)
{
  if (!onepin_crypto_equal (p->fingerprint, request->fingerprint, 32))
    {
      request->transient = TRUE;
      return bank_reply_error (request, 422, "idempotency_error", "idempotency_key_reused",
                               NULL, "This Idempotency-Key was used with other parameters.");
    }
  if (!g_str_equal (p->status, "pending"))
    return reply_payment (request, p);
  return abandon (request, p, error);
}

gboolean
bank_api_acquirer_create (BankRequest  *request,
                          GError      **error)
{
  BankStore *store = bank_server_get_store (request->server);
  g_autoptr(BankSecret) number = NULL;
  g_autoptr(BankAcquirerPayment) p = NULL;
  g_autoptr(GError) local = NULL;

  p = bank_store_acquirer_get (store, "idempotency_key", request->idempotency_key, &local);
  if (local != NULL)
    return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
  if (p != NULL)
    return payment_again (request, p, error);
  if (!check_payment (request))
    return TRUE;
  number = bank_digits (onepin_json_get_string (request->body, "card_number", NULL), 12, 19);
  if (number == NULL)
    return bank_reply_bad_param (request, "card_number", "card_number is 12 to 19 digits");
  p = payment_new (request, number, error);
  if (p == NULL)
    return FALSE;

  if (!onepin_card_luhn_valid (number))
    {
      p->network = g_strdup ("sandbox");
      decline (p, ONEPIN_ISO_INVALID_CARD);
      return bank_store_acquirer_insert (bank_server_get_store (request->server), p, error) &&
             reply_payment (request, p);
    }
  if (bank_network_routes (bank_server_get_network (request->server), number))
    return authorize_onepin (request, p, number, error);
  return authorize_sandbox (request, p, number, error);
}

/* ---- reading ------------------------------------------------------------ */

BankAcquirerPayment *
bank_acquirer_find (BankRequest  *request,
                    GError      **error)
{
  BankAcquirerPayment *p = bank_store_acquirer_get (bank_server_get_store (request->server),
                                                    "id", request->path_id, error);

  if (p == NULL && (error == NULL || *error == NULL))
    bank_reply_error (request, 404, "invalid_request_error", "resource_missing", "id",
                      "No such payment.");
  return p;
}

const char *
bank_acquirer_operation (const BankNetworkMessage *m)
{
  if (g_str_equal (m->mti, ONEPIN_ISO_COMPLETION))
    return "capture";
  return m->request_key != NULL ? "refund" : "reversal";
}

/* The payment, and what about it awaits reconciliation with the issuer (or
 * was reconciled last). */
gboolean
bank_api_acquirer_get (BankRequest  *request,
                       GError      **error)
{
  g_autoptr(BankAcquirerPayment) p = bank_acquirer_find (request, error);

  if (p == NULL)
    return error == NULL || *error == NULL;
  return bank_reconciliation_reply (request, p, error);
}

/* ---- capture, cancel, refund -------------------------------------------- */

static gboolean
refuse_state (BankRequest               *request,
              const BankAcquirerPayment *p,
              const char                *wanted)
{
  g_autofree char *message = g_strdup_printf ("The payment is %s; only an %s payment can be "
                                              "this.", p->status, wanted);

  return bank_reply_error (request, 409, "invalid_request_error", "payment_state", NULL, message);
}

static char *
request_key (BankRequest *request)
{
  return g_strconcat (request->route, "\n", request->idempotency_key, NULL);
}

/* One operation at a time on a payment. A capture or refund holds it from
 * the transaction that checked its state and stored the message to the
 * one that records the issuer's answer (or, while the issuer has not
 * answered, until a retry of that request or the bank's own resending of
 * the message gets one): anything else meanwhile would decide on a state
 * the issuer is about to change. (A cancel let through while a completion
 * was on its way left the bank saying "captured" of a payment the issuer
 * had reversed.) Only that very request may go on; the 409 is not kept
 * under the key, since it passes.
 * FALSE on a store failure; *@idle FALSE when this replied 409. */
static gboolean
check_idle (BankRequest               *request,
            const BankAcquirerPayment *p,
            gboolean                  *idle,
            GError                   **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(BankNetworkMessage) open = NULL;
  g_autofree char *key = request_key (request);
  g_autofree char *message = NULL;

  open = bank_store_message_open (bank_server_get_store (request->server), p->id, &local);
  if (local != NULL)
    return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
  *idle = open == NULL || g_str_equal (open->request_key, key);
  if (*idle)
    return TRUE;
  if (open->reconcile != NULL)
    message = g_strdup_printf ("A %s of this payment awaits reconciliation with the issuer "
                               "(its outcome is unknown): see the payment's reconciliation. "
                               "The bank's operator closes it with what the issuer did.",
                               bank_acquirer_operation (open));
  else
    message = g_strdup_printf ("A %s of this payment is waiting for the issuer's answer. Retry "
                               "once it is settled.", bank_acquirer_operation (open));
  request->transient = TRUE;
  return bank_reply_error (request, 409, "invalid_request_error", "payment_in_progress", NULL,
                           message);
}

static gboolean
read_amount (BankRequest *request,
             gint64       limit,
             gint64      *amount)
{
  static const OnepinJsonField fields[] = { { "amount", ONEPIN_JSON_INT, FALSE } };

  if (!bank_check_body (request, fields, G_N_ELEMENTS (fields)))
    return FALSE;
  *amount = onepin_json_get_int (request->body, "amount", limit);
  if (*amount < 1 || *amount > limit)
    {
      g_autofree char *message = g_strdup_printf ("amount is 1 to %" G_GINT64_FORMAT, limit);

      bank_reply_error (request, 400, "invalid_request_error", "amount_too_large", "amount",
                        message);
      return FALSE;
    }
  return TRUE;
}

/* Records the issuer's answer @code to the capture or refund @m and what
 * it does to the payment, and replies what the mall's request gets. */
static gboolean
settle_answer (BankRequest               *request,
               const BankNetworkMessage  *m,
               const char                *code,
               GError                   **error)
{
  BankStore *store = bank_server_get_store (request->server);
  g_autoptr(BankAcquirerPayment) p = bank_store_acquirer_get (store, "id", m->payment_id, error);

  if (p == NULL)
    return FALSE;
  if (!bank_store_message_answered (store, m->id, code, bank_server_now (request->server),
                                    error))
    return FALSE;
  if (!g_str_equal (code, ONEPIN_ISO_APPROVED))
    {
      g_autofree char *message = g_strdup_printf ("The issuer answered %s (%s).", code,
                                                  onepin_iso_response_text (code));

      return bank_reply_decline (request, bank_network_decline_code (code), message);
    }
  if (g_str_equal (m->mti, ONEPIN_ISO_COMPLETION))
    {
      set_code (&p->status, "captured");
      p->amount_captured = m->amount;
    }
  else
    p->amount_refunded += m->amount;
  return save (request, p, error) && reply_payment (request, p);
}

/* A retransmission answered 94: the issuer no longer knows what it
 * answered the first try, which it may have applied. Neither a decline
 * nor an approval: the message awaits reconciliation (as after
 * --resend-give-up), the payment held, and the mall gets a 503 that is
 * not kept. */
static gboolean
outcome_unknown (BankRequest               *request,
                 const BankNetworkMessage  *m,
                 GError                   **error)
{
  gboolean marked = FALSE;

  if (!bank_store_message_reconcile (bank_server_get_store (request->server), m->id,
                                     "duplicate", bank_server_now (request->server), &marked,
                                     error))
    return FALSE;
  if (marked)
    g_warning ("network: message %" G_GINT64_FORMAT " was answered 94 (a duplicate) to a "
               "retransmission, whose first try the issuer may have applied: marked for "
               "reconciliation (duplicate)", m->id);
  return bank_reply_error (request, 503, "api_error", "reconciliation_required", NULL,
                           "The issuer no longer has its answer to this message (94, a "
                           "duplicate): whether it applied it is unknown. The payment awaits "
                           "reconciliation.");
}

/* The message @waiting sent was answered meanwhile: the advice queue sent
 * it too and its answer was recorded first, or an operator closed its
 * reconciliation; either way the outcome is under this key, the mall's,
 * applied once. An answer the issuer gave this try (@code, or NULL) is
 * kept beside an operator's (bank_network_late_answer ()). */
static gboolean
settled_before (BankRequest               *request,
                const BankNetworkMessage  *m,
                const char                *code,
                GError                   **error)
{
  gboolean found = FALSE;

  if (code != NULL &&
      !bank_network_late_answer (bank_server_get_network (request->server), m, code, error))
    return FALSE;
  if (!bank_request_replay (request, &found, error))
    return FALSE;
  if (!found)
    g_set_error_literal (error, BANK_STORE_ERROR, BANK_STORE_ERROR_FAILED,
                         "A capture or refund was settled without its outcome");
  return found;
}

static gboolean
follow_up_settle (BankRequest  *request,
                  GError      **error)
{
  Waiting *waiting = request->data;
  g_autoptr(BankNetworkMessage) m = NULL;
  const char *code;
  gboolean answered;

  m = bank_store_message_get (bank_server_get_store (request->server), waiting->follow_up->id,
                              error);
  if (m == NULL)
    return FALSE;
  code = waiting->response ? onepin_iso_get (waiting->response, "39") : NULL;
  /* 91 and 96 say nothing, nor does 94 to a retransmission. */
  answered = waiting->result == BANK_NETWORK_ANSWERED && bank_network_answer_final (code) &&
             !(waiting->retransmission && bank_network_answer_unknown (code));
  if (m->answered_at != 0)
    return settled_before (request, m, answered ? code : NULL, error);
  if (waiting->result == BANK_NETWORK_ANSWERED && waiting->retransmission &&
      bank_network_answer_unknown (code))
    return outcome_unknown (request, m, error);
  if (!answered)
    /* Not recorded: the mall retries with its key, or else the advice
     * queue sends it (resend_at ()), and the same message goes out again,
     * so the issuer sees one completion, not two. */
    return bank_reply_error (request, 503, "api_error", "issuer_unavailable", NULL,
                             "The card's issuer did not answer. Retry with the same "
                             "Idempotency-Key; if you do not, the bank sends it again itself "
                             "and keeps the outcome for the key.");
  return settle_answer (request, m, code, error);
}

/* A completion or a refund on the card network: the message this request's
 * key sent before, if a try timed out, or a new one. */
static gboolean
onepin_follow_up (BankRequest          *request,
                  BankAcquirerPayment  *p,
                  const char           *mti,
                  const char           *processing,
                  gint64                amount,
                  GError              **error)
{
  BankStore *store = bank_server_get_store (request->server);
  g_autofree char *key = request_key (request);
  g_autoptr(BankNetworkMessage) m = bank_store_message_by_key (store, key, error);
  gboolean retransmission = m != NULL;
  JsonObject *message;

  if (m == NULL && error != NULL && *error != NULL)
    return FALSE;
  if (m != NULL && (!g_str_equal (m->payment_id, p->id) || m->amount != amount))
    {
      /* Not kept: the key's own outcome is still to come. */
      request->transient = TRUE;
      return bank_reply_error (request, 422, "idempotency_error", "idempotency_key_reused",
                               NULL, "This Idempotency-Key was used with other parameters.");
    }
  /* Before a message is stored: one never sent would hold the payment. */
  if (!bank_network_has_issuer (bank_server_get_network (request->server)))
    return bank_reply_error (request, 503, "api_error", "issuer_unavailable", NULL,
                             "The card network has no issuer. Retry later.");
  if (m == NULL)
    m = follow_up_add (request, p, mti, processing, amount, key, error);
  else if (!bank_store_message_resend_at (store, m->id, resend_at (request), request->fingerprint,
                                         error))
    g_clear_pointer (&m, bank_network_message_free);
  if (m == NULL)
    return FALSE;

  /* The same message, however many tries it takes. */
  message = onepin_json_parse_object (m->body, strlen (m->body), NULL);
  wait_for_issuer (request, p->id, message, g_steal_pointer (&m), follow_up_settle);
  ((Waiting *) request->data)->retransmission = retransmission;
  return TRUE;
}

/* The outcome the bank stored, settling it itself, for a capture or refund
 * kept before schema 4, whose request's fingerprint it never had
 * (BANK_FINGERPRINT_UNKNOWN): a retry of the key is compared with the
 * message instead, as such a bank compared retries, by what it asks. The
 * same payment and the same amount (named, or left out: all there was,
 * which is what the message was for, since the payment was held since)
 * and no other member get the outcome, and pin the key to this request's
 * fingerprint, so that later retries are compared byte for byte as ever;
 * anything else gets 422, not kept. *@done when this replied. */
static gboolean
replay_unknown (BankRequest                *request,
                const BankAcquirerPayment  *p,
                gboolean                   *done,
                GError                    **error)
{
  BankStore *store = bank_server_get_store (request->server);
  g_autofree char *key = request_key (request);
  g_autofree char *body = NULL;
  g_autoptr(BankNetworkMessage) m = NULL;
  JsonObject *asked = request->body;
  guint8 stored[32];
  guint status = 0;
  gboolean found = FALSE;
  guint members;

  *done = FALSE;
  if (request->idempotency_key == NULL ||
      !bank_store_idempotency_get (store, request->route, request->idempotency_key, stored,
                                   &status, &body, &found, error))
    return request->idempotency_key == NULL;
  if (!found || !onepin_crypto_equal (stored, BANK_FINGERPRINT_UNKNOWN, 32))
    return TRUE;
  *done = TRUE;
  m = bank_store_message_by_key (store, key, error);
  if (m == NULL)
    return g_set_error_literal (error, BANK_STORE_ERROR, BANK_STORE_ERROR_FAILED,
                                "An outcome without its request has no message"), FALSE;
  members = asked ? json_object_get_size (asked) : 0;
  if (g_str_equal (m->payment_id, p->id) &&
      (members == 0 ||
       (members == 1 && onepin_json_get_int (asked, "amount", -1) == m->amount)))
    return bank_store_idempotency_pin (store, request->route, request->idempotency_key,
                                       request->fingerprint, error) &&
           bank_request_replay (request, &found, error);
  request->transient = TRUE;
  return bank_reply_error (request, 422, "idempotency_error", "idempotency_key_reused", NULL,
                           "This Idempotency-Key was used with other parameters.");
}

/* A sandbox card's credit: what was held or taken comes back. */
static gboolean
release_credit (BankRequest          *request,
                BankAcquirerPayment  *p,
                gint64                amount,
                GError              **error)
{
  gboolean done = FALSE;

  if (amount == 0)
    return TRUE;
  if (!bank_store_card_use (bank_server_get_store (request->server), p->card_lookup, -amount,
                            &done, error))
    return FALSE;
  if (!done)
    return g_set_error_literal (error, BANK_STORE_ERROR, BANK_STORE_ERROR_FAILED,
                                "A card's credit does not cover its own payment"), FALSE;
  return TRUE;
}

gboolean
bank_api_acquirer_capture (BankRequest  *request,
                           GError      **error)
{
  g_autoptr(BankAcquirerPayment) p = bank_acquirer_find (request, error);
  gboolean idle;
  gboolean done;
  gint64 amount;

  if (p == NULL)
    return error == NULL || *error == NULL;
  if (!replay_unknown (request, p, &done, error) || done)
    return error == NULL || *error == NULL;
  if (!g_str_equal (p->status, "authorized"))
    return refuse_state (request, p, "authorized");
  if (!check_idle (request, p, &idle, error))
    return FALSE;
  if (!idle)
    return TRUE;
  if (!read_amount (request, p->amount, &amount))
    return TRUE;
  if (g_str_equal (p->network, "onepin"))
    return onepin_follow_up (request, p, ONEPIN_ISO_COMPLETION, ONEPIN_ISO_PURCHASE, amount,
                             error);

  if (!release_credit (request, p, p->amount - amount, error))
    return FALSE;
  set_code (&p->status, "captured");
  p->amount_captured = amount;
  return save (request, p, error) && reply_payment (request, p);
}

gboolean
bank_api_acquirer_cancel (BankRequest  *request,
                          GError      **error)
{
  g_autoptr(BankAcquirerPayment) p = bank_acquirer_find (request, error);
  gboolean idle;

  if (p == NULL)
    return error == NULL || *error == NULL;
  if (g_str_equal (p->status, "canceled"))
    return reply_payment (request, p);
  if (!g_str_equal (p->status, "authorized"))
    return refuse_state (request, p, "authorized");
  if (!check_idle (request, p, &idle, error))
    return FALSE;
  if (!idle)
    return TRUE;
  if (!bank_check_body (request, NULL, 0))
    return TRUE;

  /* The card network's reversal is store and forward: the acquirer owns
   * its delivery, so the mall's cancel is done now. */
  if (g_str_equal (p->network, "onepin") ?
      !queue_reversal (request, p, ONEPIN_ISO_REVERSAL, error) :
      !release_credit (request, p, p->amount, error))
    return FALSE;
  set_code (&p->status, "canceled");
  return save (request, p, error) && reply_payment (request, p);
}

gboolean
bank_api_acquirer_refund (BankRequest  *request,
                          GError      **error)
{
  g_autoptr(BankAcquirerPayment) p = bank_acquirer_find (request, error);
  gboolean idle;
  gboolean done;
  gint64 amount;

  if (p == NULL)
    return error == NULL || *error == NULL;
  if (!replay_unknown (request, p, &done, error) || done)
    return error == NULL || *error == NULL;
  if (!g_str_equal (p->status, "captured"))
    return refuse_state (request, p, "captured");
  if (!check_idle (request, p, &idle, error))
    return FALSE;
  if (!idle)
    return TRUE;
  if (p->amount_captured == p->amount_refunded)
    return bank_reply_error (request, 409, "invalid_request_error", "payment_refunded", NULL,
                             "The payment is refunded in full.");
  if (!read_amount (request, p->amount_captured - p->amount_refunded, &amount))
    return TRUE;
  if (g_str_equal (p->network, "onepin"))
    return onepin_follow_up (request, p, ONEPIN_ISO_FINANCIAL, ONEPIN_ISO_REFUND, amount,
                             error);

  if (!release_credit (request, p, amount, error))
    return FALSE;
  p->amount_refunded += amount;
  return save (request, p, error) && reply_payment (request, p);
}

/* ---- recovery ----------------------------------------------------------- */

/* Keeps what @request replied under its key, as the server does after a
 * handler, for an outcome settled with no request of the mall's waiting.
 * Never over another outcome: that is the mall reusing the key for other
 * parameters meanwhile, and a retry of the first would get 422 anyway. */
static gboolean
keep_outcome (BankRequest   *request,
              const guint8   fingerprint[32],
              GError       **error)
{
  BankStore *store = bank_server_get_store (request->server);
  g_autofree char *body = NULL;
  guint8 stored[32];
  guint status = 0;
  gboolean found = FALSE;

  if (!bank_store_idempotency_get (store, request->route, request->idempotency_key, stored,
                                   &status, &body, &found, error))
    return FALSE;
  return found ||
         bank_store_idempotency_put (store, request->route, request->idempotency_key,
                                     fingerprint, request->status, request->reply, error);
}

/* A payment left pending by a stop may have been approved by the issuer:
 * it is declined and reversed, and its outcome kept for its key. */
static gboolean
recover_one (BankServer           *server,
             BankAcquirerPayment  *p,
             GError              **error)
{
  BankRequest request = { .server = server, .route = PAYMENTS_ROUTE,
                          .idempotency_key = p->idempotency_key };
  gboolean ok;

  ok = abandon (&request, p, error) && keep_outcome (&request, p->fingerprint, error);
  g_free (request.reply);
  return ok;
}

gboolean
bank_acquirer_recover (BankServer  *server,
                       GError     **error)
{
  BankStore *store = bank_server_get_store (server);
  g_autoptr(GPtrArray) pending = NULL;

  if (!bank_store_begin (store, error))
    return FALSE;
  pending = bank_store_acquirer_pending (store, error);
  if (pending == NULL)
    goto failed;
  for (guint i = 0; i < pending->len; i++)
    if (!recover_one (server, pending->pdata[i], error))
      goto failed;
  if (pending->len > 0)
    g_message ("reversed %u card payments a stop left waiting for the issuer", pending->len);
  if (bank_store_commit (store, error))
    return TRUE;

failed:
  bank_store_rollback (store);
  return FALSE;
}

/* A capture or refund whose mall gave up on it (or whose request a stop
 * cut short) was sent by the advice queue, the same message, and the
 * issuer answered: the payment is settled as the mall's retry would have,
 * and that outcome is what a late retry of its key gets. */
gboolean
bank_acquirer_settle_resent (const BankNetworkMessage  *m,
                             const char                *code,
                             gpointer                   user_data,
                             GError                   **error)
{
  /* request_key () is "<route>\n<the mall's key>". */
  g_auto(GStrv) names = g_strsplit (m->request_key, "\n", 2);
  BankRequest request = { .server = user_data, .route = names[0],
                          .idempotency_key = names[1] };
  gboolean ok;

  if (names[1] == NULL)
    return g_set_error (error, BANK_STORE_ERROR, BANK_STORE_ERROR_FAILED,
                        "Follow-up %" G_GINT64_FORMAT " has no mall's request", m->id), FALSE;
  /* Stored before schema 4, and no retry since gave it a fingerprint: the
   * outcome is kept all the same, and a retry is compared by what it asks
   * (replay_unknown ()). */
  ok = settle_answer (&request, m, code, error) &&
       keep_outcome (&request, m->has_fingerprint ? m->fingerprint : BANK_FINGERPRINT_UNKNOWN,
                     error);
  g_free (request.reply);
  return ok;
}
