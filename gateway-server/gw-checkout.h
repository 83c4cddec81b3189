/* gw-checkout.h: checkout sessions at affiliated malls
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A mall's server opens a session for an order (claims 1 and 7: the
 * payment approval request). The shopper's wallet sends what the shopper
 * approved, with the card password; the session is paid only when that
 * matches it (the same merchant, order, amount and currency), before it
 * expires, and once. A shopper without the wallet pays it on the hosted
 * page with a card number and password. Either way the payment is an
 * ordinary ledger payment (gw_ledger_pay), the session completes in the
 * same operation, and a "checkout.session.completed" event for the mall's
 * webhook and the wallet's receipt are queued with it. Writer thread.
 */
#pragma once

#include "gw-checkout-store.h"
#include "gw-ledger.h"

G_BEGIN_DECLS

#define GW_CHECKOUT_COMPLETED_EVENT "checkout.session.completed"
#define GW_CHECKOUT_EXPIRED_EVENT "checkout.session.expired"

typedef enum
{
  GW_CHECKOUT_OK,
  GW_CHECKOUT_NOT_FOUND,
  GW_CHECKOUT_EXPIRED,
  GW_CHECKOUT_COMPLETED,
  GW_CHECKOUT_MISMATCH,             /* see @mismatch: which field differs */
  GW_CHECKOUT_DECLINED,             /* the ledger's outcome says why */
  GW_CHECKOUT_NO_CARD,              /* the wallet user has no representative card */
} GwCheckoutResult;

/* What the shopper approved in the wallet. */
typedef struct
{
  const char *merchant_id;
  const char *order_id;
  gint64      amount;
  const char *currency;
} GwCheckoutPurchase;

/* "open", "complete" or "expired": an open session past its time is expired. */
const char *gw_checkout_status   (const GwCheckoutSession  *session,
                                  gint64                    now);

gboolean    gw_checkout_create   (GwTxn                    *txn,
                                  const GwCheckoutSession  *session,
                                  GError                  **error);

/* Pays @session_id with @credentials. @approved is what the wallet
 * approved, or NULL on the hosted page (the session's own purchase). On
 * GW_CHECKOUT_OK @session is complete and @payment made. */
gboolean    gw_checkout_pay      (GwTxn                    *txn,
                                  const GwLedgerConfig     *ledger,
                                  const char               *session_id,
                                  const GwCheckoutPurchase *approved,
                                  const GwCredentials      *credentials,
                                  const char               *paid_with,
                                  GwCheckoutSession        *session,
                                  GwPayment                *payment,
                                  GwOutcome                *outcome,
                                  GwCheckoutResult         *result,
                                  const char              **mismatch,
                                  GError                  **error);

/* The credentials of the representative card of wallet user @user_id, with
 * @password as its card password: GW_CHECKOUT_NO_CARD when it has none. */
gboolean    gw_checkout_wallet_credentials (GwTxn                *txn,
                                  const GwLedgerConfig     *ledger,
                                  const char               *user_id,
                                  const char               *password,
                                  GwCredentials            *out,
                                  GwCheckoutResult         *result,
                                  GError                  **error);

/* The mall gives up on an open session: it can no longer be paid. */
gboolean    gw_checkout_expire   (GwTxn                    *txn,
                                  const char               *merchant_id,
                                  const char               *session_id,
                                  GwCheckoutSession        *session,
                                  GwCheckoutResult         *result,
                                  GError                  **error);

G_END_DECLS
