/* gw-settlement-store.h: what merchant settlement needs from a database
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reached with gw_txn_extension (txn, "settlement"). Money moves only
 * through entry_post of GwTxnFuncs.
 */
#pragma once

#include "gw-store.h"

G_BEGIN_DECLS

typedef struct
{
  char    merchant_id[40];
  gint64  payable_account;
  gint64  commission_bps;
  gint64  settled_account;          /* 0 until the first settlement */
  gint64  watermark;                /* the last journal line settled */
  gint64  commission_carry;         /* ten-thousandths of a won not charged yet, 0-9999 */
  gint64  read_watermark;           /* as read or last put: merchant_put's compare-and-set */
} GwSettlementMerchant;

typedef struct
{
  char    id[40];
  char    merchant_id[40];
  char    date[11];                 /* YYYY-MM-DD */
  gint64  first_line;
  gint64  last_line;
  gint64  payments;
  gint64  captured;
  gint64  refunds;
  gint64  refunded;
  gint64  commission_bps;
  gint64  commission;
  gint64  net;
  gint64  created;
} GwSettlement;

/* A payment or refund line of a settlement, as a merchant sees it. */
typedef struct
{
  gint64  line_id;
  char    kind[16];                 /* payment, refund */
  char    channel[24];
  char    reference[40];            /* pay_, re_, cs_, ce_ … */
  char    payment_id[40];
  char   *order_id;                 /* the merchant's own reference, if a payment */
  gint64  amount;                   /* positive: captured; negative: refunded */
  gint64  created;
} GwSettlementLine;

void gw_settlement_line_clear (gpointer line);

typedef struct
{
  /* Every merchant with its payable account and settlement state. */
  GArray   *(*merchants)           (GwTxn *txn, GError **error);
  gboolean  (*merchant_get)        (GwTxn *txn, const char *merchant_id,
                                    GwSettlementMerchant *out, GError **error);
  /* Inserts or updates the merchant's row, only if its watermark is still
   * read_watermark (0 for a merchant without a row): GW_STORE_ERROR_CONFLICT
   * otherwise. Across processes, two runs that read the same watermark
   * cannot both settle the lines after it; settlements are also unique per
   * merchant and first line (migration 025). */
  gboolean  (*merchant_put)        (GwTxn *txn, GwSettlementMerchant *merchant,
                                    GError **error);
  /* The account of @role, 0 (no error) if it has none yet. */
  gint64    (*account_of_role)     (GwTxn *txn, const char *role, GError **error);
  gboolean  (*account_set_role)    (GwTxn *txn, const char *role, gint64 account_id,
                                    GError **error);
  /* Sums the payment and refund lines of @account after line @after, in
   * entries created before @before; @out's line range and counts. */
  gboolean  (*unsettled)           (GwTxn *txn, gint64 account_id, gint64 after, gint64 before,
                                    GwSettlement *out, GError **error);
  gboolean  (*settlement_insert)   (GwTxn *txn, const GwSettlement *settlement, GError **error);
  gboolean  (*settlement_get)      (GwTxn *txn, const char *id, GwSettlement *out,
                                    GError **error);
  /* Settlements of @date (all merchants if @merchant_id is NULL). */
  GArray   *(*settlements_of_date) (GwTxn *txn, const char *date, const char *merchant_id,
                                    GError **error);
  /* The payment and refund lines of @account in [@first, @last]. */
  GArray   *(*lines)               (GwTxn *txn, gint64 account_id, gint64 first, gint64 last,
                                    GError **error);
} GwSettlementStoreFuncs;

/* The SQLite backend's table (gw-settlement-store-sqlite.c). */
extern const GwSettlementStoreFuncs gw_settlement_store_sqlite;

G_END_DECLS
