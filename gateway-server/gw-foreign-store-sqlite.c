/* gw-foreign-store-sqlite.c: foreign partners' tables in SQLite
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-foreign-store.h"
#include "gw-store-sqlite-private.h"

#include <string.h>

#define PREP(t, sql) gw_sqlite_prepare ((t), (sql), error)

void
gw_foreign_pin_clear (GwForeignPin *pin)
{
  g_clear_pointer (&pin->pin_sealed, g_bytes_unref);
}

static gboolean
f_partner_insert (GwTxn                   *t,
                  const GwForeignPartner  *p,
                  GError                 **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO foreign_partners (id, name, currency, rate_e6, account_id, merchant_id, created)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, p->id);
  gw_sqlite_bind_text (stmt, 2, p->name);
  gw_sqlite_bind_text (stmt, 3, p->currency);
  sqlite3_bind_int64 (stmt, 4, p->rate_e6);
  sqlite3_bind_int64 (stmt, 5, p->account_id);
  gw_sqlite_bind_optional (stmt, 6, p->merchant_id);
  sqlite3_bind_int64 (stmt, 7, p->created);
  return gw_sqlite_step_done (t, stmt, error);
}

#define PARTNER_COLUMNS \
  "p.id, p.name, p.currency, p.rate_e6, p.account_id, COALESCE(p.merchant_id, ''), p.created," \
  " (SELECT COUNT(*) FROM foreign_pins f WHERE f.partner_id = p.id AND f.state = 'available')" \
  " FROM foreign_partners p "

static void
read_partner (sqlite3_stmt *stmt,
              gpointer      data)
{
  GwForeignPartner *out = data;

  memset (out, 0, sizeof *out);
  gw_sqlite_copy_text (out->id, sizeof out->id, stmt, 0);
  gw_sqlite_copy_text (out->name, sizeof out->name, stmt, 1);
  gw_sqlite_copy_text (out->currency, sizeof out->currency, stmt, 2);
  out->rate_e6 = sqlite3_column_int64 (stmt, 3);
  out->account_id = sqlite3_column_int64 (stmt, 4);
  gw_sqlite_copy_text (out->merchant_id, sizeof out->merchant_id, stmt, 5);
  out->created = sqlite3_column_int64 (stmt, 6);
  out->available = sqlite3_column_int64 (stmt, 7);
}

static gboolean
f_partner_get (GwTxn             *t,
               const char        *id,
               GwForeignPartner  *out,
               GError           **error)
{
  return gw_sqlite_get_by_text (t, "SELECT " PARTNER_COLUMNS "WHERE p.id = ?", id, read_partner,
                                out, error);
}

static gboolean
f_partner_by_merchant (GwTxn             *t,
                       const char        *merchant_id,
                       GwForeignPartner  *out,
                       GError           **error)
{
  return gw_sqlite_get_by_text (t, "SELECT " PARTNER_COLUMNS "WHERE p.merchant_id = ?", merchant_id,
                                read_partner, out, error);
}

static gboolean
f_partner_set_rate (GwTxn       *t,
                    const char  *id,
                    gint64       rate_e6,
                    GError     **error)
{
  sqlite3_stmt *stmt = PREP (t, "UPDATE foreign_partners SET rate_e6 = ? WHERE id = ?");

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, rate_e6);
  gw_sqlite_bind_text (stmt, 2, id);
  return gw_sqlite_update_one (t, stmt, error);
}

static gint64
f_pin_next_seq (GwTxn       *t,
                const char  *partner_id,
                GError     **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT COALESCE(MAX(seq), 0) + 1 FROM foreign_pins WHERE partner_id = ?");

  if (stmt == NULL)
    return 0;
  gw_sqlite_bind_text (stmt, 1, partner_id);
  return gw_sqlite_read_int (t, stmt, error);
}

static gboolean
f_pin_insert (GwTxn               *t,
              const GwForeignPin  *pin,
              GError             **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO foreign_pins (partner_id, seq, face_value, pin_sealed, last4, state, lookup)"
    " VALUES (?, ?, ?, ?, ?, 'available', ?)");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, pin->partner_id);
  sqlite3_bind_int64 (stmt, 2, pin->seq);
  sqlite3_bind_int64 (stmt, 3, pin->face_value);
  gw_sqlite_bind_bytes (stmt, 4, pin->pin_sealed);
  gw_sqlite_bind_text (stmt, 5, pin->last4);
  gw_sqlite_bind_hash (stmt, 6, pin->lookup);
  return gw_sqlite_step_done (t, stmt, error);
}

static gboolean
f_pin_known (GwTxn         *t,
             const char    *partner_id,
             const guint8   lookup[32],
             gboolean      *found,
             GError       **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT EXISTS (SELECT 1 FROM foreign_pins WHERE partner_id = ? AND lookup = ?)");
  GError *local = NULL;

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, partner_id);
  gw_sqlite_bind_hash (stmt, 2, lookup);
  *found = gw_sqlite_read_int (t, stmt, &local) == 1;
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

static void
read_pin (sqlite3_stmt *stmt,
          gpointer      data)
{
  GwForeignPin *out = data;

  memset (out, 0, sizeof *out);
  gw_sqlite_copy_text (out->partner_id, sizeof out->partner_id, stmt, 0);
  out->seq = sqlite3_column_int64 (stmt, 1);
  out->face_value = sqlite3_column_int64 (stmt, 2);
  out->pin_sealed = g_bytes_new (sqlite3_column_blob (stmt, 3), sqlite3_column_bytes (stmt, 3));
  gw_sqlite_copy_text (out->last4, sizeof out->last4, stmt, 4);
}

static gboolean
f_pin_next (GwTxn         *t,
            const char    *partner_id,
            gint64         face_value,
            GwForeignPin  *out,
            GError       **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT partner_id, seq, face_value, pin_sealed, last4 FROM foreign_pins"
    " WHERE partner_id = ? AND face_value = ? AND state = 'available' ORDER BY seq LIMIT 1");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, partner_id);
  sqlite3_bind_int64 (stmt, 2, face_value);
  return gw_sqlite_read_one (t, stmt, read_pin, out, error);
}

static gboolean
f_pin_sell (GwTxn       *t,
            const char  *partner_id,
            gint64       seq,
            const char  *card_id,
            gint64       krw,
            GError     **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "UPDATE foreign_pins SET state = 'sold', pin_sealed = NULL, card_id = ?, krw_amount = ?,"
    " sold_at = ? WHERE partner_id = ? AND seq = ? AND state = 'available'");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, card_id);
  sqlite3_bind_int64 (stmt, 2, krw);
  sqlite3_bind_int64 (stmt, 3, t->funcs->now (t));
  gw_sqlite_bind_text (stmt, 4, partner_id);
  sqlite3_bind_int64 (stmt, 5, seq);
  return gw_sqlite_update_one (t, stmt, error);
}

static gboolean
f_entry_annotate (GwTxn       *t,
                  const char  *ref,
                  gint64       foreign_amount,
                  const char  *currency,
                  gint64       rate_e6,
                  GError     **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "UPDATE journal_entries SET foreign_amount = ?, foreign_currency = ?, fx_rate_e6 = ?"
    " WHERE id = (SELECT MAX(id) FROM journal_entries) AND ref = ? AND kind = 'payment'");

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, foreign_amount);
  gw_sqlite_bind_text (stmt, 2, currency);
  sqlite3_bind_int64 (stmt, 3, rate_e6);
  gw_sqlite_bind_text (stmt, 4, ref);
  return gw_sqlite_update_one (t, stmt, error);
}

const GwForeignStoreFuncs gw_foreign_store_sqlite = {
  .partner_insert = f_partner_insert,
  .partner_get = f_partner_get,
  .partner_by_merchant = f_partner_by_merchant,
  .partner_set_rate = f_partner_set_rate,
  .pin_next_seq = f_pin_next_seq,
  .pin_insert = f_pin_insert,
  .pin_known = f_pin_known,
  .pin_next = f_pin_next,
  .pin_sell = f_pin_sell,
  .entry_annotate = f_entry_annotate,
};
