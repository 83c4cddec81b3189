/* gw-network-store-sqlite.c: the card network's tables in SQLite
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-network-store-sqlite.h"

#include "gw-store-sqlite-private.h"

#define PREP(txn, sql, error) gw_sqlite_prepare ((txn), (sql), (error))
#define DONE(txn, stmt, error) gw_sqlite_step_done ((txn), (stmt), (error))
#define TEXT(stmt, idx, text) gw_sqlite_bind_text ((stmt), (idx), (text))
#define COPY(dest, stmt, col) gw_sqlite_copy_text ((dest), sizeof (dest), (stmt), (col))

static gboolean
t_merchant_get (GwTxn       *txn,
                const char  *acquirer,
                const char  *acceptor,
                char         merchant_id[40],
                GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "SELECT merchant_id FROM network_merchants "
                                  "WHERE acquirer = ? AND acceptor = ?", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, acquirer);
  TEXT (stmt, 2, acceptor);
  return gw_sqlite_read_one (txn, stmt, gw_sqlite_row_id, merchant_id, error);
}

static gboolean
t_merchant_insert (GwTxn       *txn,
                   const char  *acquirer,
                   const char  *acceptor,
                   const char  *merchant_id,
                   const char  *mcc,
                   gint64       created,
                   GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "INSERT INTO network_merchants (acquirer, acceptor, "
                                  "merchant_id, mcc, created) VALUES (?, ?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, acquirer);
  TEXT (stmt, 2, acceptor);
  TEXT (stmt, 3, merchant_id);
  TEXT (stmt, 4, mcc);
  sqlite3_bind_int64 (stmt, 5, created);
  return DONE (txn, stmt, error);
}

static void
read_message (sqlite3_stmt *stmt,
              gpointer      data)
{
  GwNetworkMessage *out = data;

  COPY (out->acquirer, stmt, 0);
  COPY (out->stan, stmt, 1);
  COPY (out->transmitted, stmt, 2);
  COPY (out->mti, stmt, 3);
  COPY (out->processing, stmt, 4);
  out->amount = sqlite3_column_int64 (stmt, 5);
  COPY (out->payment_id, stmt, 6);
  COPY (out->response, stmt, 7);
  COPY (out->approval, stmt, 8);
  out->reversed_at = sqlite3_column_int64 (stmt, 9);
  out->created = sqlite3_column_int64 (stmt, 10);
}

static gboolean
t_message_get (GwTxn             *txn,
               const char        *acquirer,
               const char        *stan,
               const char        *transmitted,
               GwNetworkMessage  *out,
               GError           **error)
{
  sqlite3_stmt *stmt = PREP (txn, "SELECT acquirer, stan, transmitted, mti, processing, amount, "
                                  "COALESCE(payment_id, ''), response, COALESCE(approval, ''), "
                                  "COALESCE(reversed_at, 0), created FROM network_messages "
                                  "WHERE acquirer = ? AND stan = ? AND transmitted = ?", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, acquirer);
  TEXT (stmt, 2, stan);
  TEXT (stmt, 3, transmitted);
  return gw_sqlite_read_one (txn, stmt, read_message, out, error);
}

static gboolean
t_message_insert (GwTxn                   *txn,
                  const GwNetworkMessage  *m,
                  GError                 **error)
{
  sqlite3_stmt *stmt = PREP (txn, "INSERT INTO network_messages (acquirer, stan, transmitted, "
                                  "mti, processing, amount, payment_id, response, approval, "
                                  "reversed_at, created) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, m->acquirer);
  TEXT (stmt, 2, m->stan);
  TEXT (stmt, 3, m->transmitted);
  TEXT (stmt, 4, m->mti);
  TEXT (stmt, 5, m->processing);
  sqlite3_bind_int64 (stmt, 6, m->amount);
  gw_sqlite_bind_optional (stmt, 7, m->payment_id);
  TEXT (stmt, 8, m->response);
  gw_sqlite_bind_optional (stmt, 9, m->approval);
  gw_sqlite_bind_optional_int (stmt, 10, m->reversed_at);
  sqlite3_bind_int64 (stmt, 11, m->created);
  return DONE (txn, stmt, error);
}

static gboolean
t_message_reversed (GwTxn       *txn,
                    const char  *acquirer,
                    const char  *stan,
                    const char  *transmitted,
                    gint64       at,
                    GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "UPDATE network_messages SET reversed_at = ? "
                                  "WHERE acquirer = ? AND stan = ? AND transmitted = ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, at);
  TEXT (stmt, 2, acquirer);
  TEXT (stmt, 3, stan);
  TEXT (stmt, 4, transmitted);
  return DONE (txn, stmt, error);
}

static gboolean
t_cvc_failures_get (GwTxn       *txn,
                    const char  *card_id,
                    gint64      *failures,
                    GError     **error)
{
  GError *local = NULL;

  *failures = 0;
  if (!gw_sqlite_get_by_text (txn, "SELECT failures FROM network_card_failures WHERE card_id = ?",
                              card_id, gw_sqlite_row_int, failures, &local) &&
      local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

/* RETURNING is avoided on the payment path (see HACKING.md, "Money"); a
 * wrong CVC is not on it. */
static gboolean
t_cvc_failure_add (GwTxn       *txn,
                   const char  *card_id,
                   gint64      *failures,
                   GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "INSERT INTO network_card_failures (card_id, failures)"
                                  " VALUES (?1, 1) ON CONFLICT (card_id)"
                                  " DO UPDATE SET failures = failures + 1 RETURNING failures",
                             error);
  GError *local = NULL;
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, card_id);
  found = gw_sqlite_step_row (txn, stmt, &local);
  if (found)
    {
      *failures = sqlite3_column_int64 (stmt, 0);
      /* Steps to the end, so that the statement is done with the row. */
      gw_sqlite_step_row (txn, stmt, &local);
    }
  sqlite3_reset (stmt);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  if (!found)
    return g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                                "No failure count came back"), FALSE;
  return TRUE;
}

static gboolean
t_cvc_failures_clear (GwTxn       *txn,
                      const char  *card_id,
                      GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "DELETE FROM network_card_failures WHERE card_id = ?1", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, card_id);
  return DONE (txn, stmt, error);
}

const GwNetworkStoreFuncs gw_network_store_sqlite = {
  .merchant_get = t_merchant_get,
  .merchant_insert = t_merchant_insert,
  .message_get = t_message_get,
  .message_insert = t_message_insert,
  .message_reversed = t_message_reversed,
  .cvc_failures_get = t_cvc_failures_get,
  .cvc_failure_add = t_cvc_failure_add,
  .cvc_failures_clear = t_cvc_failures_clear,
};
