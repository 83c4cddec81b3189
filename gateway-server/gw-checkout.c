/* gw-checkout.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-checkout.h"

#include <string.h>

#include "gw-wallet.h"

#define CALL(txn, fn, ...) ((txn)->funcs->fn ((txn), __VA_ARGS__))
#define NOW(txn) ((txn)->funcs->now (txn))
#define CHECKOUT(txn) ((const GwCheckoutStoreFuncs *) gw_txn_extension ((txn), "checkout"))
#define WALLET(txn) ((const GwWalletStoreFuncs *) gw_txn_extension ((txn), "wallet"))

const char *
gw_checkout_status (const GwCheckoutSession *session,
                    gint64                   now)
{
  if (g_str_equal (session->status, "open") && session->expires_at <= now)
    return "expired";
  return session->status;
}

gboolean
gw_checkout_create (GwTxn                    *txn,
                    const GwCheckoutSession  *session,
                    GError                  **error)
{
  return CHECKOUT (txn)->session_insert (txn, session, error);
}

/* Merchant events carry ids only; the webhook renders the objects. */
static gboolean
notify (GwTxn                   *txn,
        const char              *type,
        const GwCheckoutSession *session,
        GError                 **error)
{
  g_autofree char *payload = g_strdup_printf ("{\"checkout_session\":\"%s\"}", session->id);

  return CALL (txn, outbox_put, type, session->merchant_id, payload, error);
}

static gboolean
find (GwTxn              *txn,
      const char         *session_id,
      GwCheckoutSession  *session,
      GwCheckoutResult   *result,
      GError            **error)
{
  GError *local = NULL;

  *result = GW_CHECKOUT_OK;
  if (CHECKOUT (txn)->session_get (txn, session_id, session, &local))
    return TRUE;
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  *result = GW_CHECKOUT_NOT_FOUND;
  return TRUE;
}

/* An open session past its time is stored as expired the first time
 * someone tries it, and the mall hears of it. */
static gboolean
check_open (GwTxn              *txn,
            GwCheckoutSession  *session,
            GwCheckoutResult   *result,
            GError            **error)
{
  const char *status = gw_checkout_status (session, NOW (txn));

  if (g_str_equal (status, "complete"))
    return *result = GW_CHECKOUT_COMPLETED, TRUE;
  if (g_str_equal (status, "open"))
    return TRUE;
  *result = GW_CHECKOUT_EXPIRED;
  if (g_str_equal (session->status, "expired"))
    return TRUE;
  g_strlcpy (session->status, "expired", sizeof session->status);
  return CHECKOUT (txn)->session_expire (txn, session->id, error) &&
         notify (txn, GW_CHECKOUT_EXPIRED_EVENT, session, error);
}

static const char *
first_difference (const GwCheckoutSession  *session,
                  const GwCheckoutPurchase *approved)
{
  if (!g_str_equal (approved->merchant_id, session->merchant_id))
    return "merchant";
  if (!g_str_equal (approved->order_id, session->order_id))
    return "order_id";
  if (approved->amount != session->amount)
    return "amount";
  if (!g_str_equal (approved->currency, session->currency))
    return "currency";
  return NULL;
}

gboolean
gw_checkout_pay (GwTxn                     *txn,
                 const GwLedgerConfig      *ledger,
                 const char                *session_id,
                 const GwCheckoutPurchase  *approved,
                 const GwCredentials       *credentials,
                 const char                *paid_with,
                 GwCheckoutSession         *session,
                 GwPayment                 *payment,
                 GwOutcome                 *outcome,
                 GwCheckoutResult          *result,
                 const char               **mismatch,
                 GError                   **error)
{
  GwPayRequest request;

  memset (outcome, 0, sizeof *outcome);
  *mismatch = NULL;
  if (!find (txn, session_id, session, result, error) || *result != GW_CHECKOUT_OK ||
      !check_open (txn, session, result, error) || *result != GW_CHECKOUT_OK)
    return error == NULL || *error == NULL;
  if (approved != NULL && (*mismatch = first_difference (session, approved)) != NULL)
    return *result = GW_CHECKOUT_MISMATCH, TRUE;

  request = (GwPayRequest) {
    .merchant_id = session->merchant_id, .amount = session->amount,
    .currency = session->currency, .order_id = session->order_id,
    .description = session->description, .channel = "internet",
    .capture = session->capture,
  };
  if (!gw_ledger_pay (txn, ledger, credentials, &request, payment, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return *result = GW_CHECKOUT_DECLINED, TRUE;

  /* Used once: the writer runs one operation at a time, and the update is
   * conditional on the session still being open all the same. */
  if (!CHECKOUT (txn)->session_complete (txn, session->id, payment->id, paid_with, NOW (txn),
                                         error))
    return error != NULL && *error == NULL
             ? (g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                                     "A checkout session was paid twice"), FALSE)
             : FALSE;
  g_strlcpy (session->status, "complete", sizeof session->status);
  g_strlcpy (session->payment_id, payment->id, sizeof session->payment_id);
  g_strlcpy (session->paid_with, paid_with, sizeof session->paid_with);
  session->completed_at = NOW (txn);
  return notify (txn, GW_CHECKOUT_COMPLETED_EVENT, session, error);
}

gboolean
gw_checkout_wallet_credentials (GwTxn                 *txn,
                                const GwLedgerConfig  *ledger,
                                const char            *user_id,
                                const char            *password,
                                GwCredentials         *out,
                                GwCheckoutResult      *result,
                                GError               **error)
{
  GwWalletUser user = { 0 };
  GError *local = NULL;
  gboolean has_card;

  memset (out, 0, sizeof *out);
  *result = GW_CHECKOUT_NO_CARD;
  if (!WALLET (txn)->user_by_id (txn, user_id, &user, &local))
    return local ? (g_propagate_error (error, local), FALSE) : TRUE;
  has_card = user.card_id[0] != '\0' &&
             CHECKOUT (txn)->card_lookup (txn, user.card_id, out->lookup, &local);
  gw_wallet_user_clear (&user);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  if (!has_card)
    return TRUE;
  out->well_formed = TRUE;
  gw_ledger_password_mac (ledger, out->lookup, password, out->password_mac);
  *result = GW_CHECKOUT_OK;
  return TRUE;
}

gboolean
gw_checkout_expire (GwTxn              *txn,
                    const char         *merchant_id,
                    const char         *session_id,
                    GwCheckoutSession  *session,
                    GwCheckoutResult   *result,
                    GError            **error)
{
  if (!find (txn, session_id, session, result, error))
    return FALSE;
  if (*result == GW_CHECKOUT_OK && !g_str_equal (session->merchant_id, merchant_id))
    *result = GW_CHECKOUT_NOT_FOUND;
  if (*result != GW_CHECKOUT_OK)
    return TRUE;
  if (!check_open (txn, session, result, error))
    return FALSE;
  if (*result != GW_CHECKOUT_OK)
    return TRUE;
  g_strlcpy (session->status, "expired", sizeof session->status);
  return CHECKOUT (txn)->session_expire (txn, session->id, error) &&
         notify (txn, GW_CHECKOUT_EXPIRED_EVENT, session, error);
}
