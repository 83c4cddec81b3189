/* gw-settlement-store-sqlite.c: merchant settlement's tables in SQLite
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-settlement-store.h"
#include "gw-store-sqlite-private.h"

#include <string.h>

#define PREP(t, sql) gw_sqlite_prepare ((t), (sql), error)

void
gw_settlement_line_clear (gpointer data)
{
  GwSettlementLine *line = data;

  g_clear_pointer (&line->order_id, g_free);
}

static void
read_merchant (sqlite3_stmt *stmt,
               gpointer      data)
{
  GwSettlementMerchant *out = data;

  memset (out, 0, sizeof *out);
  gw_sqlite_copy_text (out->merchant_id, sizeof out->merchant_id, stmt, 0);
  out->payable_account = sqlite3_column_int64 (stmt, 1);
  out->commission_bps = sqlite3_column_int64 (stmt, 2);
  out->settled_account = sqlite3_column_int64 (stmt, 3);
  out->watermark = sqlite3_column_int64 (stmt, 4);
  out->commission_carry = sqlite3_column_int64 (stmt, 5);
  out->read_watermark = out->watermark;
}

#define MERCHANT_COLUMNS \
  "m.id, m.account_id, COALESCE(s.commission_bps, 0), COALESCE(s.settled_account, 0)," \
  " COALESCE(s.watermark, 0), COALESCE(s.commission_carry, 0) FROM merchants m" \
  " LEFT JOIN settlement_merchants s ON s.merchant_id = m.id "

static GArray *
s_merchants (GwTxn   *t,
             GError **error)
{
  return gw_sqlite_read_array (t, PREP (t, "SELECT " MERCHANT_COLUMNS "ORDER BY m.id"),
                               sizeof (GwSettlementMerchant), read_merchant, NULL, error);
}

static gboolean
s_merchant_get (GwTxn                 *t,
                const char            *merchant_id,
                GwSettlementMerchant  *out,
                GError               **error)
{
  return gw_sqlite_get_by_text (t, "SELECT " MERCHANT_COLUMNS "WHERE m.id = ?", merchant_id,
                                read_merchant, out, error);
}

static gboolean
s_merchant_put (GwTxn                 *t,
                GwSettlementMerchant  *merchant,
                GError               **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO settlement_merchants (merchant_id, commission_bps, settled_account, watermark,"
    " commission_carry) VALUES (?1, ?2, NULLIF (?3, 0), ?4, ?5) ON CONFLICT (merchant_id)"
    " DO UPDATE SET commission_bps = ?2, settled_account = NULLIF (?3, 0), watermark = ?4,"
    " commission_carry = ?5 WHERE settlement_merchants.watermark = ?6");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, merchant->merchant_id);
  sqlite3_bind_int64 (stmt, 2, merchant->commission_bps);
  sqlite3_bind_int64 (stmt, 3, merchant->settled_account);
  sqlite3_bind_int64 (stmt, 4, merchant->watermark);
  sqlite3_bind_int64 (stmt, 5, merchant->commission_carry);
  sqlite3_bind_int64 (stmt, 6, merchant->read_watermark);
  if (!gw_sqlite_change_one (t, stmt, GW_STORE_ERROR_CONFLICT,
                             "The merchant was settled since it was read", error))
    return FALSE;
  merchant->read_watermark = merchant->watermark;
  return TRUE;
}

static gint64
s_account_of_role (GwTxn       *t,
                   const char  *role,
                   GError     **error)
{
  sqlite3_stmt *stmt = PREP (t, "SELECT account_id FROM settlement_accounts WHERE role = ?");

  if (stmt == NULL)
    return 0;
  gw_sqlite_bind_text (stmt, 1, role);
  return gw_sqlite_read_int (t, stmt, error);
}

static gboolean
s_account_set_role (GwTxn       *t,
                    const char  *role,
                    gint64       account_id,
                    GError     **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO settlement_accounts (role, account_id) VALUES (?, ?)");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, role);
  sqlite3_bind_int64 (stmt, 2, account_id);
  return gw_sqlite_step_done (t, stmt, error);
}

static void
read_unsettled (sqlite3_stmt *stmt,
                gpointer      data)
{
  GwSettlement *out = data;

  out->first_line = sqlite3_column_int64 (stmt, 0);
  out->last_line = sqlite3_column_int64 (stmt, 1);
  out->payments = sqlite3_column_int64 (stmt, 2);
  out->captured = sqlite3_column_int64 (stmt, 3);
  out->refunds = sqlite3_column_int64 (stmt, 4);
  out->refunded = sqlite3_column_int64 (stmt, 5);
}

static gboolean
s_unsettled (GwTxn         *t,
             gint64         account_id,
             gint64         after,
             gint64         before,
             GwSettlement  *out,
             GError       **error)
{
  /* The run settles lines up to the first one dated @before or later, and
   * none past it: the next run starts after the highest line settled, so a
   * line dated later than one after it (the wall clock stepped back between
   * their entries) would otherwise be passed over for good. */
  sqlite3_stmt *stmt = PREP (t,
    "WITH mine AS (SELECT l.id, l.debit, l.credit, e.kind, e.created"
    "  FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id"
    "  WHERE l.account_id = ?1 AND l.id > ?2 AND e.kind IN ('payment', 'refund')),"
    " due AS (SELECT * FROM mine WHERE id < COALESCE("
    "  (SELECT MIN(id) FROM mine WHERE created >= ?3), 9223372036854775807))"
    " SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0),"
    " COUNT(*) FILTER (WHERE kind = 'payment'),"
    " COALESCE(SUM(credit - debit) FILTER (WHERE kind = 'payment'), 0),"
    " COUNT(*) FILTER (WHERE kind = 'refund'),"
    " COALESCE(SUM(debit - credit) FILTER (WHERE kind = 'refund'), 0)"
    " FROM due");

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, account_id);
  sqlite3_bind_int64 (stmt, 2, after);
  sqlite3_bind_int64 (stmt, 3, before);
  return gw_sqlite_read_one (t, stmt, read_unsettled, out, error);
}

static gboolean
s_settlement_insert (GwTxn               *t,
                     const GwSettlement  *s,
                     GError             **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO settlements (id, merchant_id, date, first_line, last_line, payments, captured,"
    " refunds, refunded, commission_bps, commission, net, created)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, s->id);
  gw_sqlite_bind_text (stmt, 2, s->merchant_id);
  gw_sqlite_bind_text (stmt, 3, s->date);
  sqlite3_bind_int64 (stmt, 4, s->first_line);
  sqlite3_bind_int64 (stmt, 5, s->last_line);
  sqlite3_bind_int64 (stmt, 6, s->payments);
  sqlite3_bind_int64 (stmt, 7, s->captured);
  sqlite3_bind_int64 (stmt, 8, s->refunds);
  sqlite3_bind_int64 (stmt, 9, s->refunded);
  sqlite3_bind_int64 (stmt, 10, s->commission_bps);
  sqlite3_bind_int64 (stmt, 11, s->commission);
  sqlite3_bind_int64 (stmt, 12, s->net);
  sqlite3_bind_int64 (stmt, 13, s->created);
  return gw_sqlite_step_done (t, stmt, error);
}

#define SETTLEMENT_COLUMNS \
  "id, merchant_id, date, first_line, last_line, payments, captured, refunds, refunded," \
  " commission_bps, commission, net, created FROM settlements "

static void
read_settlement (sqlite3_stmt *stmt,
                 gpointer      data)
{
  GwSettlement *out = data;

  memset (out, 0, sizeof *out);
  gw_sqlite_copy_text (out->id, sizeof out->id, stmt, 0);
  gw_sqlite_copy_text (out->merchant_id, sizeof out->merchant_id, stmt, 1);
  gw_sqlite_copy_text (out->date, sizeof out->date, stmt, 2);
  out->first_line = sqlite3_column_int64 (stmt, 3);
  out->last_line = sqlite3_column_int64 (stmt, 4);
  out->payments = sqlite3_column_int64 (stmt, 5);
  out->captured = sqlite3_column_int64 (stmt, 6);
  out->refunds = sqlite3_column_int64 (stmt, 7);
  out->refunded = sqlite3_column_int64 (stmt, 8);
  out->commission_bps = sqlite3_column_int64 (stmt, 9);
  out->commission = sqlite3_column_int64 (stmt, 10);
  out->net = sqlite3_column_int64 (stmt, 11);
  out->created = sqlite3_column_int64 (stmt, 12);
}

static gboolean
s_settlement_get (GwTxn         *t,
                  const char    *id,
                  GwSettlement  *out,
                  GError       **error)
{
  return gw_sqlite_get_by_text (t, "SELECT " SETTLEMENT_COLUMNS "WHERE id = ?", id,
                                read_settlement, out, error);
}

static GArray *
s_settlements_of_date (GwTxn       *t,
                       const char  *date,
                       const char  *merchant_id,
                       GError     **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT " SETTLEMENT_COLUMNS "WHERE date = ?1 AND (?2 IS NULL OR merchant_id = ?2)"
    " ORDER BY merchant_id, created, id");

  if (stmt == NULL)
    return NULL;
  gw_sqlite_bind_text (stmt, 1, date);
  gw_sqlite_bind_text (stmt, 2, merchant_id);
  return gw_sqlite_read_array (t, stmt, sizeof (GwSettlement), read_settlement, NULL, error);
}

static void
read_line (sqlite3_stmt *stmt,
           gpointer      data)
{
  GwSettlementLine *line = data;

  line->line_id = sqlite3_column_int64 (stmt, 0);
  gw_sqlite_copy_text (line->kind, sizeof line->kind, stmt, 1);
  gw_sqlite_copy_text (line->channel, sizeof line->channel, stmt, 2);
  gw_sqlite_copy_text (line->reference, sizeof line->reference, stmt, 3);
  gw_sqlite_copy_text (line->payment_id, sizeof line->payment_id, stmt, 4);
  line->order_id = gw_sqlite_column_strdup (stmt, 5);
  line->amount = sqlite3_column_int64 (stmt, 6);
  line->created = sqlite3_column_int64 (stmt, 7);
}

static GArray *
s_lines (GwTxn   *t,
         gint64   account_id,
         gint64   first,
         gint64   last,
         GError **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT l.id, e.kind, COALESCE(e.channel, ''), COALESCE(e.ref, ''),"
    " COALESCE(e.payment_id, ''), p.order_id, l.credit - l.debit, e.created"
    " FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id"
    " LEFT JOIN payments p ON p.id = e.payment_id"
    " WHERE l.account_id = ? AND l.id BETWEEN ? AND ? AND e.kind IN ('payment', 'refund')"
    " ORDER BY l.id");

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, account_id);
  sqlite3_bind_int64 (stmt, 2, first);
  sqlite3_bind_int64 (stmt, 3, last);
  return gw_sqlite_read_array (t, stmt, sizeof (GwSettlementLine), read_line,
                               gw_settlement_line_clear, error);
}

const GwSettlementStoreFuncs gw_settlement_store_sqlite = {
  .merchants = s_merchants,
  .merchant_get = s_merchant_get,
  .merchant_put = s_merchant_put,
  .account_of_role = s_account_of_role,
  .account_set_role = s_account_set_role,
  .unsettled = s_unsettled,
  .settlement_insert = s_settlement_insert,
  .settlement_get = s_settlement_get,
  .settlements_of_date = s_settlements_of_date,
  .lines = s_lines,
};
