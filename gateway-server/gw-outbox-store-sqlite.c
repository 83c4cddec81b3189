/* gw-outbox-store-sqlite.c: the outbox module's primitives on SQLite
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-outbox-store.h"
#include "gw-store-sqlite-private.h"

#include <string.h>

void
gw_outbox_message_free (GwOutboxMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->payload);
  g_free (message);
}

void
gw_card_contact_clear (GwCardContact *contact)
{
  g_clear_pointer (&contact->contact_sealed, g_bytes_unref);
  g_clear_pointer (&contact->merchant_name, g_free);
}

static void
read_message (sqlite3_stmt *stmt,
              gpointer      data)
{
  GwOutboxMessage *message = data;

  message->id = sqlite3_column_int64 (stmt, 0);
  message->payload = gw_sqlite_column_strdup (stmt, 1);
  message->attempts = sqlite3_column_int64 (stmt, 2) + 1;
  message->created = sqlite3_column_int64 (stmt, 3);
}

static GPtrArray *
t_claim (GwTxn       *txn,
         const char  *type,
         gint64       lease,
         guint        queued,
         guint        limit,
         GError     **error)
{
  sqlite3_stmt *select = gw_sqlite_prepare (txn,
    "SELECT id, payload, attempts, created FROM outbox"
    " WHERE type = ?1 AND next_attempt <= ?2 AND delivered_at IS NULL AND failed_at IS NULL"
    " ORDER BY next_attempt, id LIMIT ?3", error);
  sqlite3_stmt *update;
  g_autoptr(GPtrArray) messages = NULL;

  if (select == NULL)
    return NULL;
  gw_sqlite_bind_text (select, 1, type);
  sqlite3_bind_int64 (select, 2, txn->funcs->now (txn));
  sqlite3_bind_int (select, 3, limit);
  messages = gw_sqlite_read_list (txn, select, sizeof (GwOutboxMessage), read_message,
                                  (GDestroyNotify) gw_outbox_message_free, error);
  if (messages == NULL)
    return NULL;

  /* The lease is a compare-and-set on the count read: a message that
   * another process claimed since the select is left to it, not sent twice. */
  update = gw_sqlite_prepare (txn,
    "UPDATE outbox SET next_attempt = ?2, attempts = attempts + 1 WHERE id = ?1"
    " AND attempts = ?3 AND next_attempt <= ?4 AND delivered_at IS NULL AND failed_at IS NULL",
    error);
  if (update == NULL)
    return NULL;
  for (guint i = 0, leased = 0; i < messages->len; )
    {
      GwOutboxMessage *message = g_ptr_array_index (messages, i);
      gint64 changes;

      g_strlcpy (message->type, type, sizeof message->type);
      sqlite3_bind_int64 (update, 1, message->id);
      sqlite3_bind_int64 (update, 2, txn->funcs->now (txn) + (queued + leased + 1) * lease);
      sqlite3_bind_int64 (update, 3, message->attempts - 1);
      sqlite3_bind_int64 (update, 4, txn->funcs->now (txn));
      changes = gw_sqlite_step_changes (txn, update, error);
      if (changes < 0)
        return NULL;
      if (changes == 0)
        g_ptr_array_remove_index (messages, i);
      else
        i++, leased++;
    }
  return g_steal_pointer (&messages);
}

static gint64
t_next_due (GwTxn       *txn,
            const char  *type,
            GError     **error)
{
  sqlite3_stmt *stmt = gw_sqlite_prepare (txn,
    "SELECT MIN(next_attempt) FROM outbox"
    " WHERE type = ? AND delivered_at IS NULL AND failed_at IS NULL", error);
  gint64 due = 0;

  if (stmt == NULL)
    return 0;
  gw_sqlite_bind_text (stmt, 1, type);
  if (gw_sqlite_step_row (txn, stmt, error) && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
    due = MAX (sqlite3_column_int64 (stmt, 0), 1);
  sqlite3_reset (stmt);
  return due;
}

static gboolean
t_delivered (GwTxn   *txn,
             gint64   id,
             GError **error)
{
  sqlite3_stmt *stmt = gw_sqlite_prepare (txn,
    "UPDATE outbox SET delivered_at = ?2, last_error = NULL"
    " WHERE id = ?1 AND delivered_at IS NULL", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, txn->funcs->now (txn));
  return gw_sqlite_step_done (txn, stmt, error);
}

static gboolean
t_retry (GwTxn       *txn,
         gint64       id,
         gint64       attempt,
         gint64       next_attempt,
         const char  *last_error,
         GError     **error)
{
  sqlite3_stmt *stmt = gw_sqlite_prepare (txn,
    "UPDATE outbox SET next_attempt = ?2, last_error = ?3"
    " WHERE id = ?1 AND attempts = ?4 AND delivered_at IS NULL AND failed_at IS NULL", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, next_attempt);
  gw_sqlite_bind_text (stmt, 3, last_error);
  sqlite3_bind_int64 (stmt, 4, attempt);
  return gw_sqlite_step_done (txn, stmt, error);
}

static gboolean
t_give_up (GwTxn       *txn,
           gint64       id,
           gint64       attempt,
           const char  *last_error,
           GError     **error)
{
  sqlite3_stmt *stmt = gw_sqlite_prepare (txn,
    "UPDATE outbox SET failed_at = ?2, last_error = ?3"
    " WHERE id = ?1 AND attempts = ?4 AND delivered_at IS NULL AND failed_at IS NULL", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, txn->funcs->now (txn));
  gw_sqlite_bind_text (stmt, 3, last_error);
  sqlite3_bind_int64 (stmt, 4, attempt);
  return gw_sqlite_step_done (txn, stmt, error);
}

static gboolean
t_release (GwTxn       *txn,
           gint64       id,
           gint64       attempt,
           gint64       next_attempt,
           const char  *reason,
           GError     **error)
{
  sqlite3_stmt *stmt = gw_sqlite_prepare (txn,
    "UPDATE outbox SET next_attempt = ?2, attempts = ?4 - 1,"
    " last_error = coalesce (?3, last_error)"
    " WHERE id = ?1 AND attempts = ?4 AND delivered_at IS NULL AND failed_at IS NULL", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, next_attempt);
  gw_sqlite_bind_text (stmt, 3, reason);
  sqlite3_bind_int64 (stmt, 4, attempt);
  return gw_sqlite_step_done (txn, stmt, error);
}

static void
read_contact (sqlite3_stmt *stmt,
              gpointer      data)
{
  GwCardContact *out = data;

  memset (out, 0, sizeof *out);
  out->contact_sealed = gw_sqlite_column_bytes (stmt, 0);
  gw_sqlite_copy_text (out->receipts, sizeof out->receipts, stmt, 1);
  gw_sqlite_copy_text (out->locale, sizeof out->locale, stmt, 2);
  out->updated = sqlite3_column_int64 (stmt, 3);
}

static gboolean
t_contact_get (GwTxn          *txn,
               const char     *card_id,
               GwCardContact  *out,
               GError        **error)
{
  return gw_sqlite_get_by_text (txn,
    "SELECT contact_sealed, receipts, locale, updated FROM card_contacts WHERE card_id = ?",
    card_id, read_contact, out, error);
}

static gboolean
t_contact_put (GwTxn                *txn,
               const char           *card_id,
               const GwCardContact  *contact,
               GError              **error)
{
  sqlite3_stmt *stmt = gw_sqlite_prepare (txn,
    "INSERT INTO card_contacts (card_id, contact_sealed, receipts, locale, updated)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (card_id) DO UPDATE SET"
    " contact_sealed = ?2, receipts = ?3, locale = ?4, updated = ?5", error);

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, card_id);
  gw_sqlite_bind_bytes (stmt, 2, contact->contact_sealed);
  gw_sqlite_bind_text (stmt, 3, contact->receipts);
  gw_sqlite_bind_text (stmt, 4, contact->locale);
  sqlite3_bind_int64 (stmt, 5, contact->updated);
  return gw_sqlite_step_done (txn, stmt, error);
}

static void
read_receipt_contact (sqlite3_stmt *stmt,
                      gpointer      data)
{
  GwCardContact *out = data;

  read_contact (stmt, out);
  out->merchant_name = gw_sqlite_column_strdup (stmt, 4);
}

static gboolean
t_receipt_contact (GwTxn          *txn,
                   const char     *card_id,
                   const char     *merchant_id,
                   GwCardContact  *out,
                   GError        **error)
{
  /* Only for a card whose lookup said it wants receipts (GwCard.wants_receipts). */
  sqlite3_stmt *stmt = gw_sqlite_prepare (txn,
    "SELECT c.contact_sealed, c.receipts, c.locale, c.updated,"
    " (SELECT name FROM merchants WHERE id = ?2)"
    " FROM card_contacts c WHERE c.card_id = ?1 AND c.receipts <> 'none'", error);

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, card_id);
  gw_sqlite_bind_text (stmt, 2, merchant_id);
  return gw_sqlite_read_one (txn, stmt, read_receipt_contact, out, error);
}

const GwOutboxFuncs gw_outbox_sqlite_funcs = {
  .claim = t_claim,
  .next_due = t_next_due,
  .delivered = t_delivered,
  .retry = t_retry,
  .give_up = t_give_up,
  .release = t_release,
  .contact_get = t_contact_get,
  .contact_put = t_contact_put,
  .receipt_contact = t_receipt_contact,
};
