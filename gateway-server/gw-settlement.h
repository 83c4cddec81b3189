/* gw-settlement.h: daily settlement of merchants (FIG. 8)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A merchant's payable account collects its captured payments (telephone
 * charges included) and gives back its refunds. Settling a day takes, per
 * merchant, the payment and refund lines not yet settled and dated before
 * the day's end, charges the commission at the merchant's rate, and moves
 * what is left to the merchant's settled account, in one balanced entry:
 * after it, the payable holds only what came later. Runs on the writer.
 */
#pragma once

#include "gw-settlement-store.h"

G_BEGIN_DECLS

#define GW_SETTLEMENT_COMMISSION_ROLE "commission"

/* Sets the merchant's commission rate (1/10,000) for settlements to come;
 * *@found is FALSE if there is no such merchant. */
gboolean gw_settlement_set_rate  (GwTxn                 *txn,
                                  const char            *merchant_id,
                                  gint64                 commission_bps,
                                  gboolean              *found,
                                  GError               **error);
/* Settles every merchant's unsettled lines dated before @end, as of
 * @date; @settlements (GwSettlement) gets one per merchant that had any.
 * The commission is rounded toward zero: down on a day of sales, and a
 * day whose refunds exceed its sales gets back less than the exact share. */
gboolean gw_settlement_run       (GwTxn                 *txn,
                                  const char            *date,
                                  gint64                 end,
                                  GArray                *settlements,
                                  GError               **error);
/* The balances of the merchant's payable and settled accounts. */
gboolean gw_settlement_balances  (GwTxn                 *txn,
                                  const char            *merchant_id,
                                  gint64                *payable,
                                  gint64                *settled,
                                  GError               **error);

G_END_DECLS
