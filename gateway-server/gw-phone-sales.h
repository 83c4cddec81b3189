/* gw-phone-sales.h: cards and recharges sold through a mobile operator
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The operator (a merchant of category "mobile_operator") bills its
 * subscriber for the card on the phone bill and owes the issuer its value:
 * a sale debits the operator's receivable account and credits the card, and
 * is recorded against the operator for its settlement. Runs on the writer,
 * like gw-ledger.h.
 */
#pragma once

#include "gw-ledger.h"
#include "gw-phone-store.h"

G_BEGIN_DECLS

#define GW_PHONE_OPERATOR_CATEGORY "mobile_operator"

/* Issues a new card of @value, sold by @operator_id. @issued gets its
 * number (for the SMS), and @lookup the number's lookup hash. */
gboolean gw_phone_sell_card     (GwTxn                *txn,
                                 const GwLedgerConfig *config,
                                 const char           *operator_id,
                                 gint64                value,
                                 GwIssuedCard         *issued,
                                 guint8                lookup[32],
                                 char                  sale_id[40],
                                 GError              **error);
/* Adds @amount to the card, sold by @operator_id. A card that would pass
 * its cap is declined (balance_limit) and nothing is sold. */
gboolean gw_phone_sell_recharge (GwTxn                *txn,
                                 const char           *operator_id,
                                 const char           *card_id,
                                 gint64                amount,
                                 GwCard               *card,
                                 GwOutcome            *outcome,
                                 GError              **error);

G_END_DECLS
