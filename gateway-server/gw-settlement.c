/* gw-settlement.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-settlement.h"

#include "onepin-crypto.h"

#define CALL(txn, fn, ...) ((txn)->funcs->fn ((txn), __VA_ARGS__))
#define NOW(txn) ((txn)->funcs->now (txn))
#define STORE(txn) ((const GwSettlementStoreFuncs *) gw_txn_extension ((txn), "settlement"))

gboolean
gw_settlement_set_rate (GwTxn       *txn,
                        const char  *merchant_id,
                        gint64       commission_bps,
                        gboolean    *found,
                        GError     **error)
{
  GwSettlementMerchant merchant;
  GError *local = NULL;

  *found = STORE (txn)->merchant_get (txn, merchant_id, &merchant, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  if (!*found)
    return TRUE;
  merchant.commission_bps = commission_bps;
  return STORE (txn)->merchant_put (txn, &merchant, error);
}

/* The issuer's commission account, opened on the first settlement. */
static gint64
commission_account (GwTxn   *txn,
                    GError **error)
{
  GError *local = NULL;
  gint64 account = STORE (txn)->account_of_role (txn, GW_SETTLEMENT_COMMISSION_ROLE, &local);

  if (local != NULL)
    return g_propagate_error (error, local), 0;
  if (account != 0)
    return account;
  account = CALL (txn, account_insert, "merchant_payable", -1, "krw", 0, error);
  if (account == 0 ||
      !STORE (txn)->account_set_role (txn, GW_SETTLEMENT_COMMISSION_ROLE, account, error))
    return 0;
  return account;
}

/* Adds a line moving @amount out of (positive) or into (negative) the
 * payable's side: a debit for the payable, a credit for the others. */
static void
add_line (GwLine   *lines,
          guint    *n,
          gint64    account_id,
          gint64    amount,
          gboolean  debit)
{
  if (amount == 0)
    return;
  lines[*n] = (GwLine) { .account_id = account_id };
  if ((amount > 0) == debit)
    lines[*n].debit = amount > 0 ? amount : -amount;
  else
    lines[*n].credit = amount > 0 ? amount : -amount;
  (*n)++;
}

static gboolean
post_settlement (GwTxn                      *txn,
                 const GwSettlementMerchant *merchant,
                 const GwSettlement         *s,
                 GError                    **error)
{
  gint64 commission_acct = commission_account (txn, error);
  g_autofree char *description = g_strdup_printf ("settlement of %s", s->date);
  GwLine lines[3];
  guint n = 0;
  GwEntry entry = {
    .kind = "settlement", .channel = NULL, .ref = s->id, .merchant_id = merchant->merchant_id,
    .description = description, .created = NOW (txn), .lines = lines,
  };

  if (commission_acct == 0)
    return FALSE;
  add_line (lines, &n, merchant->payable_account, s->captured - s->refunded, TRUE);
  add_line (lines, &n, merchant->settled_account, s->net, FALSE);
  add_line (lines, &n, commission_acct, s->commission, FALSE);
  entry.n_lines = n;
  return n < 2 || CALL (txn, entry_post, &entry, error);
}

/* The run's commission on @gross won: the whole won of gross × rate plus
 * what earlier runs left over, rounded down; the rest (0 to 9999
 * ten-thousandths) carries to the merchant's next run. Rounded apart, a
 * run's payments and a later run's refunds of them would leave the
 * merchant a won up. @gross is at most 2^62 / 10^4, which the ledger's
 * amounts are far below. */
static gint64
commission (GwSettlementMerchant *merchant,
            gint64                gross)
{
  gint64 exact = gross * merchant->commission_bps + merchant->commission_carry;
  gint64 whole = exact / 10000 - (exact % 10000 < 0 ? 1 : 0);

  merchant->commission_carry = exact - whole * 10000;
  return whole;
}

static gboolean
settle_merchant (GwTxn                *txn,
                 GwSettlementMerchant *merchant,
                 const char           *date,
                 gint64                end,
                 GArray               *settlements,
                 GError              **error)
{
  g_autofree char *id = onepin_crypto_random_token ("stl_", 12);
  GwSettlement s = { 0 };
  gint64 gross;

  if (!STORE (txn)->unsettled (txn, merchant->payable_account, merchant->watermark, end, &s,
                               error))
    return FALSE;
  if (s.last_line == 0)
    return TRUE;

  g_strlcpy (s.id, id, sizeof s.id);
  g_strlcpy (s.merchant_id, merchant->merchant_id, sizeof s.merchant_id);
  g_strlcpy (s.date, date, sizeof s.date);
  s.commission_bps = merchant->commission_bps;
  gross = s.captured - s.refunded;
  s.commission = commission (merchant, gross);
  s.net = gross - s.commission;
  s.created = NOW (txn);

  if (merchant->settled_account == 0)
    {
      merchant->settled_account = CALL (txn, account_insert, "merchant_payable", -1, "krw", 0,
                                        error);
      if (merchant->settled_account == 0)
        return FALSE;
    }
  merchant->watermark = s.last_line;
  if (!post_settlement (txn, merchant, &s, error) ||
      !STORE (txn)->merchant_put (txn, merchant, error) ||
      !STORE (txn)->settlement_insert (txn, &s, error))
    return FALSE;
  g_array_append_val (settlements, s);
  return TRUE;
}

gboolean
gw_settlement_run (GwTxn       *txn,
                   const char  *date,
                   gint64       end,
                   GArray      *settlements,
                   GError     **error)
{
  g_autoptr(GArray) merchants = STORE (txn)->merchants (txn, error);

  if (merchants == NULL)
    return FALSE;
  for (guint i = 0; i < merchants->len; i++)
    if (!settle_merchant (txn, &g_array_index (merchants, GwSettlementMerchant, i), date, end,
                          settlements, error))
      return FALSE;
  return TRUE;
}

static gint64
balance_of (GwTxn   *txn,
            gint64   account_id,
            GError **error)
{
  g_autoptr(GArray) last = NULL;

  /* The newest journal line carries the account's balance after it. */
  if (account_id == 0)
    return 0;
  last = CALL (txn, statement, account_id, 0, 1, error);
  if (last == NULL || last->len == 0)
    return 0;
  return g_array_index (last, GwStatementLine, 0).balance_after;
}

gboolean
gw_settlement_balances (GwTxn       *txn,
                        const char  *merchant_id,
                        gint64      *payable,
                        gint64      *settled,
                        GError     **error)
{
  GwSettlementMerchant merchant;
  GError *local = NULL;

  if (!STORE (txn)->merchant_get (txn, merchant_id, &merchant, &local))
    return local ? (g_propagate_error (error, local), FALSE) : FALSE;
  *payable = balance_of (txn, merchant.payable_account, &local);
  if (local == NULL)
    *settled = balance_of (txn, merchant.settled_account, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}
