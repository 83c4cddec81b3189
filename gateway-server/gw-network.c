/* gw-network.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-network.h"

#include <string.h>

#include "gw-network-store.h"
#include "gw-wallet.h"
#include "onepin-card.h"
#include "onepin-iso8583.h"

#define CALL(txn, fn, ...) ((txn)->funcs->fn ((txn), __VA_ARGS__))
#define NOW(txn) ((txn)->funcs->now (txn))
#define NETWORK(txn) ((const GwNetworkStoreFuncs *) gw_txn_extension ((txn), "network"))
#define WALLET(txn) ((const GwWalletStoreFuncs *) gw_txn_extension ((txn), "wallet"))

void
gw_network_request_clear (GwNetworkRequest *request)
{
  g_clear_pointer (&request->merchant_name, g_free);
  explicit_bzero (request->lookup, sizeof request->lookup);
  explicit_bzero (request->cvc_mac, sizeof request->cvc_mac);
}

/* ---- parsing ------------------------------------------------------------ */

static void
copy_field (char       *dest,
            gsize       size,
            JsonObject *message,
            const char *field)
{
  const char *value = onepin_iso_get (message, field);

  g_strlcpy (dest, value ? value : "", size);
}

static gboolean
refuse (const char  *field,
        const char  *message,
        const char **bad_field,
        GError     **error)
{
  if (bad_field != NULL)
    *bad_field = field;
  g_set_error (error, ONEPIN_ISO_ERROR, ONEPIN_ISO_ERROR_FORMAT, "%s: %s", field, message);
  return FALSE;
}

/* The card number and CVC become keyed hashes here and go no further. */
static void
reduce_card (const GwLedgerConfig *ledger,
             JsonObject           *message,
             GwNetworkRequest     *out)
{
  const char *number = onepin_iso_get (message, "2");
  const char *cvc = onepin_iso_get (message, "cvc2");

  copy_field (out->expiry, sizeof out->expiry, message, "14");
  out->well_formed = onepin_card_number_is_valid (number);
  if (!out->well_formed)
    return;
  onepin_key_hmac (ledger->lookup_key, number, ONEPIN_CARD_NUMBER_LEN, out->lookup);
  gw_wallet_cvc_mac (ledger, number, cvc, out->cvc_mac);
}

gboolean
gw_network_parse (const GwLedgerConfig  *ledger,
                  JsonObject            *message,
                  gint64                 now,
                  GwNetworkRequest      *out,
                  const char           **bad_field,
                  GError               **error)
{
  const char *currency;
  gint64 sent = 0;

  memset (out, 0, sizeof *out);
  if (!onepin_iso_check (message, FALSE, bad_field, error))
    return FALSE;

  copy_field (out->mti, sizeof out->mti, message, "mti");
  copy_field (out->processing, sizeof out->processing, message, "3");
  copy_field (out->stan, sizeof out->stan, message, "11");
  copy_field (out->transmitted, sizeof out->transmitted, message, "7");
  copy_field (out->acquirer, sizeof out->acquirer, message, "32");
  copy_field (out->rrn, sizeof out->rrn, message, "37");
  copy_field (out->acceptor, sizeof out->acceptor, message, "42");
  copy_field (out->mcc, sizeof out->mcc, message, "18");
  currency = onepin_iso_currency_alpha (onepin_iso_get (message, "49"));
  g_strlcpy (out->currency, currency ? currency : "", sizeof out->currency);
  onepin_iso_amount_parse (onepin_iso_get (message, "4"), &out->amount);
  if (!onepin_iso_time_parse (out->transmitted, now, &sent))
    return refuse ("7", "not a date and time", bad_field, error);

  if (json_object_has_member (message, "90"))
    {
      out->has_original = TRUE;
      onepin_iso_original_parse (onepin_iso_get (message, "90"), out->original_mti,
                                 out->original_stan, out->original_transmitted,
                                 out->original_acquirer);
    }
  if (json_object_has_member (message, "2"))
    {
      /* A purchase carries a card: it must be fresh, so a copy of one
       * cannot be sent again later. */
      if (ABS (sent - now) > GW_NETWORK_WINDOW)
        return refuse ("7", "outside the transmission window", bad_field, error);
      out->merchant_name = onepin_iso_merchant_name (onepin_iso_get (message, "43"));
      reduce_card (ledger, message, out);
    }
  return TRUE;
}

/* ---- answering ---------------------------------------------------------- */

static void
respond (GwNetworkAnswer *answer,
         const char      *code)
{
  g_strlcpy (answer->response, code, sizeof answer->response);
}

static void
approve (GwNetworkAnswer *answer,
         const char      *approval)
{
  respond (answer, ONEPIN_ISO_APPROVED);
  if (approval != NULL && approval[0] != '\0')
    g_strlcpy (answer->approval, approval, sizeof answer->approval);
  else
    onepin_iso_approval_code (answer->approval);
}

static const char *
decline_code (GwDecline decline)
{
  switch (decline)
    {
    case GW_DECLINE_INSUFFICIENT_FUNDS: return ONEPIN_ISO_INSUFFICIENT_FUNDS;
    case GW_DECLINE_EXPIRED_CARD:       return ONEPIN_ISO_EXPIRED_CARD;
    case GW_DECLINE_CARD_LOCKED:        return ONEPIN_ISO_TRIES_EXCEEDED;
    case GW_DECLINE_INVALID_CREDENTIALS: return ONEPIN_ISO_INVALID_CARD;
    default:                            return ONEPIN_ISO_DO_NOT_HONOR;
    }
}

/* What the ledger said about a follow-up on a payment, as a response code. */
static const char *
outcome_code (const GwOutcome *outcome)
{
  switch (outcome->code)
    {
    case GW_RESULT_OK:               return ONEPIN_ISO_APPROVED;
    case GW_RESULT_NOT_FOUND:        return ONEPIN_ISO_NO_ORIGINAL;
    case GW_RESULT_AMOUNT_TOO_LARGE:
    case GW_RESULT_NOTHING_TO_REFUND: return ONEPIN_ISO_INVALID_AMOUNT;
    case GW_RESULT_DECLINED:         return decline_code (outcome->decline);
    default:                         return ONEPIN_ISO_DO_NOT_HONOR;
    }
}

/* Answers with what the ledger said: approved (keeping the original's
 * approval code, if any) or its refusal. */
static void
answer_outcome (GwNetworkAnswer *answer,
                const GwOutcome *outcome,
                const char      *approval)
{
  if (outcome->code == GW_RESULT_OK)
    approve (answer, approval);
  else
    respond (answer, outcome_code (outcome));
}

/* ---- purchases ---------------------------------------------------------- */

/* Each mall at each acquirer is a ledger merchant, made on its first
 * payment. It has no API key: its key hash and webhook secret are random. */
static gboolean
network_merchant (GwTxn                  *txn,
                  const GwLedgerConfig   *ledger,
                  const GwNetworkRequest *request,
                  char                    merchant_id[40],
                  GError                **error)
{
  g_autofree char *id = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *category = NULL;
  const char *name = request->merchant_name && request->merchant_name[0]
                       ? request->merchant_name : request->acceptor;
  guint8 key_hash[32];
  GError *local = NULL;

  if (NETWORK (txn)->merchant_get (txn, request->acquirer, request->acceptor, merchant_id,
                                   &local))
    return TRUE;
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;

  id = onepin_crypto_random_token ("mch_", 12);
  secret = onepin_crypto_random_token ("whsec_", 24);
  category = g_strdup_printf ("mcc:%s", request->mcc);
  if (!onepin_crypto_random (key_hash, sizeof key_hash, error) ||
      !gw_ledger_create_merchant (txn, ledger, id, name, category, key_hash, secret, error) ||
      !NETWORK (txn)->merchant_insert (txn, request->acquirer, request->acceptor, id,
                                       request->mcc, NOW (txn), error))
    return FALSE;
  g_strlcpy (merchant_id, id, 40);
  return TRUE;
}

static void
card_expiry (const GwCard *card,
             char          out[5])
{
  g_autoptr(GDateTime) end = g_date_time_new_from_unix_utc (card->expires_at - 1);
  g_autofree char *text = end ? onepin_iso_expiry_format (g_date_time_get_year (end),
                                                          g_date_time_get_month (end))
                              : g_strdup ("");

  g_strlcpy (out, text, 5);
}

/* Wrong expiry dates and CVCs have a count of their own: if the right ones
 * cleared the password's count, anyone with them could guess passwords
 * four at a time between authorizations and never be locked out (and the
 * right password must not clear theirs). Five of either lock the card. */
static gboolean
cvc_failed (GwTxn                *txn,
            const GwLedgerConfig *ledger,
            GwCard               *card,
            GError              **error)
{
  gint64 failures;

  /* Counted by the database, so that guesses in two processes both count. */
  if (!NETWORK (txn)->cvc_failure_add (txn, card->id, &failures, error))
    return FALSE;
  if (failures < GW_LOCKOUT_FAILURES)
    return TRUE;
  card->locked_until = NOW (txn) + ledger->lockout_seconds;
  return NETWORK (txn)->cvc_failures_clear (txn, card->id, error) &&
         CALL (txn, card_lock, card->id, card->locked_until, error);
}

static gboolean
cvc_passed (GwTxn   *txn,
            GwCard  *card,
            GError **error)
{
  gint64 failures;

  if (!NETWORK (txn)->cvc_failures_get (txn, card->id, &failures, error))
    return FALSE;
  return failures == 0 || NETWORK (txn)->cvc_failures_clear (txn, card->id, error);
}

/* The card proves itself by its expiry and CVC, not its password. */
static gboolean
authenticate (GwTxn                  *txn,
              const GwLedgerConfig   *ledger,
              const GwNetworkRequest *request,
              GwCard                 *card,
              GwNetworkAnswer        *answer,
              GError                **error)
{
  GwWalletUser user = { 0 };
  GError *local = NULL;
  char expected[5];
  gboolean cvc_ok;

  if (!request->well_formed ||
      !CALL (txn, card_by_lookup, request->lookup, card, &local))
    return local ? (g_propagate_error (error, local), FALSE)
                 : (respond (answer, ONEPIN_ISO_INVALID_CARD), TRUE);
  /* Only a representative card has a CVC: other cards are not on the network. */
  if (!WALLET (txn)->user_by_card (txn, card->id, &user, &local))
    return local ? (g_propagate_error (error, local), FALSE)
                 : (respond (answer, ONEPIN_ISO_INVALID_CARD), TRUE);
  cvc_ok = onepin_crypto_equal (user.cvc_mac, request->cvc_mac, 32);
  gw_wallet_user_clear (&user);

  card_expiry (card, expected);
  if (card->locked_until > NOW (txn))
    return respond (answer, ONEPIN_ISO_TRIES_EXCEEDED), TRUE;
  if (g_str_equal (card->state, "closed") || !card->has_password)
    return respond (answer, ONEPIN_ISO_DO_NOT_HONOR), TRUE;
  if (card->expires_at <= NOW (txn))
    return respond (answer, ONEPIN_ISO_EXPIRED_CARD), TRUE;
  if (!g_str_equal (expected, request->expiry))
    return respond (answer, ONEPIN_ISO_EXPIRED_CARD), cvc_failed (txn, ledger, card, error);
  if (!cvc_ok)
    return respond (answer, ONEPIN_ISO_INCORRECT_CVC), cvc_failed (txn, ledger, card, error);
  return cvc_passed (txn, card, error);
}

static gboolean
authorize (GwTxn                  *txn,
           const GwLedgerConfig   *ledger,
           const GwNetworkRequest *request,
           GwNetworkAnswer        *answer,
           GError                **error)
{
  GwCard card;
  GwPayment payment = { 0 };
  GwOutcome outcome;
  char merchant_id[40];
  GwPayRequest pay = {
    .merchant_id = merchant_id, .amount = request->amount, .currency = request->currency,
    .order_id = request->rrn, .channel = "internet",
    .capture = g_str_equal (request->mti, ONEPIN_ISO_FINANCIAL),
  };
  gboolean ok;

  if (!authenticate (txn, ledger, request, &card, answer, error))
    return FALSE;
  if (answer->response[0] != '\0')
    return TRUE;
  if (request->amount < 1 || request->amount > GW_CARD_BALANCE_CAP)
    return respond (answer, ONEPIN_ISO_INVALID_AMOUNT), TRUE;
  if (!g_str_equal (request->currency, card.currency))
    return respond (answer, ONEPIN_ISO_DO_NOT_HONOR), TRUE;
  if (!network_merchant (txn, ledger, request, merchant_id, error))
    return FALSE;

  ok = gw_ledger_charge_card (txn, ledger, &card, &pay, &payment, &outcome, error);
  if (ok)
    answer_outcome (answer, &outcome, NULL);
  if (ok && outcome.code == GW_RESULT_OK)
    g_strlcpy (answer->payment_id, payment.id, sizeof answer->payment_id);
  gw_payment_clear (&payment);
  return ok;
}

/* ---- follow-ups --------------------------------------------------------- */

/* The message a follow-up names in field 90; an acquirer refers only to
 * its own. */
static gboolean
find_original (GwTxn                  *txn,
               const GwNetworkRequest *request,
               GwNetworkMessage       *original,
               gboolean               *found,
               GError                **error)
{
  GError *local = NULL;

  *found = g_str_equal (request->original_acquirer, request->acquirer) &&
           NETWORK (txn)->message_get (txn, request->acquirer, request->original_stan,
                                       request->original_transmitted, original, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

static gboolean
find_payment (GwTxn                  *txn,
              const GwNetworkRequest *request,
              GwNetworkMessage       *original,
              GwPayment              *payment,
              GwNetworkAnswer        *answer,
              GError                **error)
{
  GError *local = NULL;
  gboolean found;

  if (!find_original (txn, request, original, &found, error))
    return FALSE;
  if (!found || original->payment_id[0] == '\0')
    return respond (answer, ONEPIN_ISO_NO_ORIGINAL), TRUE;
  if (!CALL (txn, payment_get, original->payment_id, payment, &local))
    return local ? (g_propagate_error (error, local), FALSE)
                 : (respond (answer, ONEPIN_ISO_NO_ORIGINAL), TRUE);
  g_strlcpy (answer->payment_id, payment->id, sizeof answer->payment_id);
  if (!g_str_equal (payment->currency, request->currency))
    respond (answer, ONEPIN_ISO_INVALID_TRANSACTION);
  else if (original->reversed_at != 0)
    respond (answer, ONEPIN_ISO_DO_NOT_HONOR);
  else if (g_str_equal (original->processing, ONEPIN_ISO_REFUND))
    respond (answer, ONEPIN_ISO_INVALID_TRANSACTION);
  return TRUE;
}

/* The ledger's calls read the payment again into @payment: it is emptied
 * first, keeping what names it. */
static void
payment_names (GwPayment *payment,
               char       merchant_id[40],
               char       payment_id[40])
{
  g_strlcpy (merchant_id, payment->merchant_id, 40);
  g_strlcpy (payment_id, payment->id, 40);
  gw_payment_clear (payment);
}

static gboolean
complete (GwTxn                  *txn,
          const GwLedgerConfig   *ledger,
          const GwNetworkRequest *request,
          GwNetworkAnswer        *answer,
          GError                **error)
{
  GwNetworkMessage original;
  GwPayment payment = { 0 };
  GwOutcome outcome = { 0 };
  char merchant_id[40], payment_id[40];
  gboolean ok;

  ok = find_payment (txn, request, &original, &payment, answer, error);
  if (ok && answer->response[0] == '\0')
    {
      payment_names (&payment, merchant_id, payment_id);
      if (!g_str_equal (original.mti, ONEPIN_ISO_AUTH))
        respond (answer, ONEPIN_ISO_INVALID_TRANSACTION);
      else if (request->amount < 1)
        respond (answer, ONEPIN_ISO_INVALID_AMOUNT);
      else if ((ok = gw_ledger_capture (txn, ledger, merchant_id, payment_id,
                                        request->amount, &payment, &outcome, error)))
        answer_outcome (answer, &outcome, original.approval);
    }
  gw_payment_clear (&payment);
  return ok;
}

static gboolean
refund (GwTxn                  *txn,
        const GwNetworkRequest *request,
        GwNetworkAnswer        *answer,
        GError                **error)
{
  GwNetworkMessage original;
  GwPayment payment = { 0 };
  GwOutcome outcome = { 0 };
  char refund_id[40];
  char merchant_id[40], payment_id[40];
  gint64 refunded = 0;
  gboolean ok;

  ok = find_payment (txn, request, &original, &payment, answer, error);
  if (ok && answer->response[0] == '\0')
    {
      payment_names (&payment, merchant_id, payment_id);
      if (request->amount < 1)
        respond (answer, ONEPIN_ISO_INVALID_AMOUNT);
      else if ((ok = gw_ledger_refund (txn, merchant_id, payment_id, request->amount, refund_id,
                                        &refunded, &payment, &outcome, error)))
        answer_outcome (answer, &outcome, NULL);
    }
  gw_payment_clear (&payment);
  return ok;
}

/* A row of the network's messages, named by @stan and @transmitted. */
static void
message_init (GwNetworkMessage       *m,
              const GwNetworkRequest *request,
              const char             *mti,
              const char             *stan,
              const char             *transmitted,
              const char             *response,
              gint64                  now)
{
  memset (m, 0, sizeof *m);
  g_strlcpy (m->acquirer, request->acquirer, sizeof m->acquirer);
  g_strlcpy (m->stan, stan, sizeof m->stan);
  g_strlcpy (m->transmitted, transmitted, sizeof m->transmitted);
  g_strlcpy (m->mti, mti, sizeof m->mti);
  g_strlcpy (m->processing, request->processing, sizeof m->processing);
  g_strlcpy (m->response, response, sizeof m->response);
  m->amount = request->amount;
  m->created = now;
}

/* A reversal that arrives before its original leaves a row in the
 * original's place: when the original comes, it is declined. */
static gboolean
reverse_unknown (GwTxn                  *txn,
                 const GwNetworkRequest *request,
                 GError                **error)
{
  GwNetworkMessage place;

  message_init (&place, request, request->original_mti, request->original_stan,
                request->original_transmitted, ONEPIN_ISO_DO_NOT_HONOR, NOW (txn));
  place.reversed_at = place.created;
  return NETWORK (txn)->message_insert (txn, &place, error);
}

/* Undoes an approved original in full: a hold is released, a captured
 * payment refunded for whatever was not refunded yet. */
static gboolean
undo (GwTxn                 *txn,
      GwPayment             *payment,
      GwOutcome             *outcome,
      GError               **error)
{
  gint64 remaining = payment->amount_captured - payment->amount_refunded;
  gboolean authorized = g_str_equal (payment->status, "authorized");
  gboolean captured = g_str_equal (payment->status, "captured");
  char merchant_id[40], payment_id[40];
  char refund_id[40];
  gint64 refunded;

  memset (outcome, 0, sizeof *outcome);
  payment_names (payment, merchant_id, payment_id);
  if (authorized)
    return gw_ledger_cancel (txn, merchant_id, payment_id, payment, outcome, error);
  if (captured && remaining > 0)
    return gw_ledger_refund (txn, merchant_id, payment_id, remaining, refund_id,
                             &refunded, payment, outcome, error);
  return TRUE;
}

static gboolean
reverse (GwTxn                  *txn,
         const GwNetworkRequest *request,
         GwNetworkAnswer        *answer,
         GError                **error)
{
  GwNetworkMessage original;
  GwPayment payment = { 0 };
  GwOutcome outcome = { 0 };
  GError *local = NULL;
  gboolean found;
  gboolean ok;

  if (!find_original (txn, request, &original, &found, error))
    return FALSE;
  if (!found)
    return respond (answer, ONEPIN_ISO_APPROVED), reverse_unknown (txn, request, error);
  if (g_str_equal (original.processing, ONEPIN_ISO_REFUND))
    return respond (answer, ONEPIN_ISO_INVALID_TRANSACTION), TRUE;
  respond (answer, ONEPIN_ISO_APPROVED);
  if (original.reversed_at != 0)
    return TRUE;
  if (!NETWORK (txn)->message_reversed (txn, original.acquirer, original.stan,
                                        original.transmitted, NOW (txn), error))
    return FALSE;
  if (original.payment_id[0] == '\0' || !g_str_equal (original.response, ONEPIN_ISO_APPROVED))
    return TRUE;

  if (!CALL (txn, payment_get, original.payment_id, &payment, &local))
    return local ? (g_propagate_error (error, local), FALSE) : TRUE;
  g_strlcpy (answer->payment_id, payment.id, sizeof answer->payment_id);
  ok = undo (txn, &payment, &outcome, error);
  if (ok && outcome.code != GW_RESULT_OK)
    respond (answer, outcome_code (&outcome));
  gw_payment_clear (&payment);
  return ok;
}

/* ---- one message -------------------------------------------------------- */

static gboolean
record (GwTxn                  *txn,
        const GwNetworkRequest *request,
        const GwNetworkAnswer  *answer,
        GError                **error)
{
  GwNetworkMessage m;

  message_init (&m, request, request->mti, request->stan, request->transmitted,
                answer->response, NOW (txn));
  g_strlcpy (m.payment_id, answer->payment_id, sizeof m.payment_id);
  g_strlcpy (m.approval, answer->approval, sizeof m.approval);
  return NETWORK (txn)->message_insert (txn, &m, error);
}

gboolean
gw_network_apply (GwTxn                  *txn,
                  const GwLedgerConfig   *ledger,
                  const GwNetworkRequest *request,
                  GwNetworkAnswer        *answer,
                  GError                **error)
{
  GwNetworkMessage seen;
  GError *local = NULL;
  gboolean ok;

  memset (answer, 0, sizeof *answer);
  /* Named before: either its reversal came first, or the acquirer sent two
   * messages under one STAN and time. Exact repeats never get here: they
   * are answered from the idempotency record. */
  if (NETWORK (txn)->message_get (txn, request->acquirer, request->stan, request->transmitted,
                                  &seen, &local))
    {
      respond (answer, seen.reversed_at != 0 && seen.payment_id[0] == '\0'
                         ? ONEPIN_ISO_DO_NOT_HONOR : GW_NETWORK_DUPLICATE);
      return TRUE;
    }
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;

  if (g_str_has_prefix (request->mti, "04"))
    ok = reverse (txn, request, answer, error);
  else if (g_str_equal (request->mti, ONEPIN_ISO_COMPLETION))
    ok = complete (txn, ledger, request, answer, error);
  else if (g_str_equal (request->processing, ONEPIN_ISO_REFUND))
    ok = refund (txn, request, answer, error);
  else
    ok = authorize (txn, ledger, request, answer, error);
  return ok && record (txn, request, answer, error);
}
