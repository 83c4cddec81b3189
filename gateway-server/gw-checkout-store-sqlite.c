/* gw-checkout-store-sqlite.c: checkout sessions and merchant webhooks in
 * SQLite
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-checkout-store-sqlite.h"

#include <string.h>

#include "gw-store-sqlite-private.h"

#define PREP(txn, sql, error) gw_sqlite_prepare ((txn), (sql), (error))
#define DONE(txn, stmt, error) gw_sqlite_step_done ((txn), (stmt), (error))
#define ROW(txn, stmt, error) gw_sqlite_step_row ((txn), (stmt), (error))
#define TEXT(stmt, idx, text) gw_sqlite_bind_text ((stmt), (idx), (text))
#define COPY(dest, stmt, col) gw_sqlite_copy_text ((dest), sizeof (dest), (stmt), (col))
#define STRDUP(stmt, col) gw_sqlite_column_strdup ((stmt), (col))

/* The merchant events a webhook carries (the rule of is_merchant_event in
 * gw-store-sqlite.c, which queues them only while an endpoint exists). */
#define MERCHANT_EVENT \
  "o.delivered_at IS NULL AND o.failed_at IS NULL AND o.merchant_id IS NOT NULL " \
  "AND (o.type GLOB 'payment.*' OR o.type GLOB 'checkout.*' OR o.type GLOB 'phone_session.*') "

void
gw_checkout_session_clear (GwCheckoutSession *session)
{
  g_clear_pointer (&session->order_id, g_free);
  g_clear_pointer (&session->items, g_free);
  g_clear_pointer (&session->description, g_free);
  g_clear_pointer (&session->success_url, g_free);
  g_clear_pointer (&session->cancel_url, g_free);
}

void
gw_checkout_session_free (gpointer session)
{
  gw_checkout_session_clear (session);
  g_free (session);
}

void
gw_webhook_event_free (GwWebhookEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->payload);
  g_free (event->body);
  g_clear_pointer (&event->url_sealed, g_bytes_unref);
  g_clear_pointer (&event->secret_sealed, g_bytes_unref);
  g_clear_pointer (&event->previous_sealed, g_bytes_unref);
  g_free (event);
}

/* Sessions */

static gboolean
t_session_insert (GwTxn                    *txn,
                  const GwCheckoutSession  *s,
                  GError                  **error)
{
  sqlite3_stmt *stmt = PREP (txn, "INSERT INTO checkout_sessions (id, merchant_id, order_id, "
                                  "amount, currency, items, description, success_url, "
                                  "cancel_url, capture, status, expires_at, created) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, s->id);
  TEXT (stmt, 2, s->merchant_id);
  TEXT (stmt, 3, s->order_id);
  sqlite3_bind_int64 (stmt, 4, s->amount);
  TEXT (stmt, 5, s->currency);
  TEXT (stmt, 6, s->items);
  TEXT (stmt, 7, s->description);
  TEXT (stmt, 8, s->success_url);
  TEXT (stmt, 9, s->cancel_url);
  sqlite3_bind_int (stmt, 10, s->capture);
  sqlite3_bind_int64 (stmt, 11, s->expires_at);
  sqlite3_bind_int64 (stmt, 12, s->created);
  return DONE (txn, stmt, error);
}

static void
read_session (sqlite3_stmt *stmt,
              gpointer      data)
{
  GwCheckoutSession *out = data;

  gw_checkout_session_clear (out);
  out->seq = sqlite3_column_int64 (stmt, 0);
  COPY (out->id, stmt, 1);
  COPY (out->merchant_id, stmt, 2);
  out->order_id = STRDUP (stmt, 3);
  out->amount = sqlite3_column_int64 (stmt, 4);
  COPY (out->currency, stmt, 5);
  out->items = STRDUP (stmt, 6);
  out->description = STRDUP (stmt, 7);
  out->success_url = STRDUP (stmt, 8);
  out->cancel_url = STRDUP (stmt, 9);
  out->capture = sqlite3_column_int (stmt, 10) != 0;
  COPY (out->status, stmt, 11);
  out->expires_at = sqlite3_column_int64 (stmt, 12);
  COPY (out->payment_id, stmt, 13);
  COPY (out->paid_with, stmt, 14);
  out->created = sqlite3_column_int64 (stmt, 15);
  out->completed_at = sqlite3_column_int64 (stmt, 16);
}

static gboolean
t_session_get (GwTxn              *txn,
               const char         *id,
               GwCheckoutSession  *out,
               GError            **error)
{
  return gw_sqlite_get_by_text (txn, "SELECT seq, id, merchant_id, order_id, amount, currency, "
                                "items, description, success_url, cancel_url, capture, "
                                "status, expires_at, COALESCE(payment_id, ''), "
                                "COALESCE(paid_with, ''), created, COALESCE(completed_at, 0) "
                                "FROM checkout_sessions WHERE id = ?", id, read_session, out,
                                error);
}

static gboolean
t_session_complete (GwTxn       *txn,
                    const char  *id,
                    const char  *payment_id,
                    const char  *paid_with,
                    gint64       now,
                    GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "UPDATE checkout_sessions SET status = 'complete', "
                                  "payment_id = ?, paid_with = ?, completed_at = ? "
                                  "WHERE id = ? AND status = 'open'", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, payment_id);
  TEXT (stmt, 2, paid_with);
  sqlite3_bind_int64 (stmt, 3, now);
  TEXT (stmt, 4, id);
  return gw_sqlite_step_changes (txn, stmt, error) == 1;
}

static gboolean
t_session_expire (GwTxn       *txn,
                  const char  *id,
                  GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "UPDATE checkout_sessions SET status = 'expired' "
                                  "WHERE id = ? AND status = 'open'", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, id);
  return DONE (txn, stmt, error);
}

/* The index checkout_sessions_open_by_expiry (008) holds only open ones. */
static GPtrArray *
t_sessions_due (GwTxn   *txn,
                gint64   now,
                guint    limit,
                GError **error)
{
  sqlite3_stmt *stmt = PREP (txn, "SELECT id, merchant_id FROM checkout_sessions "
                                  "WHERE status = 'open' AND expires_at <= ? "
                                  "ORDER BY expires_at LIMIT ?", error);
  g_autoptr(GPtrArray) due = NULL;
  GError *local = NULL;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int64 (stmt, 2, limit);
  due = g_ptr_array_new_with_free_func (gw_checkout_session_free);
  while (ROW (txn, stmt, &local))
    {
      GwCheckoutSession *session = g_new0 (GwCheckoutSession, 1);

      COPY (session->id, stmt, 0);
      COPY (session->merchant_id, stmt, 1);
      g_strlcpy (session->status, "open", sizeof session->status);
      g_ptr_array_add (due, session);
    }
  sqlite3_reset (stmt);
  if (local != NULL)
    return g_propagate_error (error, local), NULL;
  return g_steal_pointer (&due);
}

static gboolean
t_card_lookup (GwTxn       *txn,
               const char  *card_id,
               guint8       out[32],
               GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "SELECT lookup FROM cards WHERE id = ?", error);
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, card_id);
  found = ROW (txn, stmt, error) && sqlite3_column_bytes (stmt, 0) == 32;
  if (found)
    memcpy (out, sqlite3_column_blob (stmt, 0), 32);
  sqlite3_reset (stmt);
  return found;
}

/* Endpoints */

static gboolean
t_webhook_get (GwTxn       *txn,
               const char  *merchant_id,
               GBytes     **url_sealed,
               gint64      *created,
               gint64      *updated,
               GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "SELECT url_sealed, created, updated FROM merchant_webhooks "
                                  "WHERE merchant_id = ?", error);
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, merchant_id);
  found = ROW (txn, stmt, error);
  if (found)
    {
      *url_sealed = gw_sqlite_column_bytes (stmt, 0);
      *created = sqlite3_column_int64 (stmt, 1);
      *updated = sqlite3_column_int64 (stmt, 2);
    }
  sqlite3_reset (stmt);
  return found;
}

static gboolean
t_webhook_put (GwTxn       *txn,
               const char  *merchant_id,
               GBytes      *url_sealed,
               gint64       now,
               GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "INSERT INTO merchant_webhooks (merchant_id, url_sealed, "
                                  "created, updated) VALUES (?1, ?2, ?3, ?3) "
                                  "ON CONFLICT (merchant_id) DO UPDATE SET "
                                  "url_sealed = excluded.url_sealed, updated = excluded.updated",
                             error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, merchant_id);
  gw_sqlite_bind_bytes (stmt, 2, url_sealed);
  sqlite3_bind_int64 (stmt, 3, now);
  return DONE (txn, stmt, error);
}

static gboolean
t_webhook_delete (GwTxn       *txn,
                  const char  *merchant_id,
                  GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "DELETE FROM merchant_webhooks WHERE merchant_id = ?", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, merchant_id);
  return DONE (txn, stmt, error);
}

static gboolean
t_webhook_secret_roll (GwTxn       *txn,
                       const char  *merchant_id,
                       GBytes      *secret_sealed,
                       gint64       previous_expires,
                       gint64       now,
                       GError     **error)
{
  /* The right side reads the row as it was: the previous secret is the
   * one being replaced. */
  sqlite3_stmt *stmt = PREP (txn, "UPDATE merchants SET "
                                  "webhook_secret_previous_sealed = CASE WHEN ?3 > ?4 "
                                  "THEN webhook_secret_sealed END, "
                                  "webhook_secret_previous_expires = CASE WHEN ?3 > ?4 "
                                  "THEN ?3 END, webhook_secret_sealed = ?2 WHERE id = ?1",
                             error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, merchant_id);
  gw_sqlite_bind_bytes (stmt, 2, secret_sealed);
  sqlite3_bind_int64 (stmt, 3, previous_expires);
  sqlite3_bind_int64 (stmt, 4, now);
  return gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_NOT_FOUND, "No such merchant", error);
}

/* Events */

static gint64
t_events_due (GwTxn    *txn,
              gint64    now,
              gint64    max_attempts,
              gint64    spent_before,
              GError  **error)
{
  sqlite3_stmt *stmt = PREP (txn, "SELECT count(*) FROM outbox o WHERE " MERCHANT_EVENT
                                  "AND o.next_attempt <= ?1 "
                                  "AND (o.attempts < ?2 OR o.next_attempt <= ?3)", error);
  gint64 count;

  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int64 (stmt, 2, max_attempts);
  sqlite3_bind_int64 (stmt, 3, spent_before);
  if (!ROW (txn, stmt, error))
    return -1;
  count = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return count;
}

#define SPENT_EVENTS \
  "SELECT o.id FROM outbox o WHERE " MERCHANT_EVENT "AND o.next_attempt <= ?1 " \
  "AND o.attempts >= ?2"

static gint64
t_events_abandon (GwTxn       *txn,
                  gint64       now,
                  gint64       max_attempts,
                  gint64       spent_before,
                  const char  *message,
                  GError     **error)
{
  sqlite3_stmt *log = PREP (txn, "INSERT INTO webhook_attempts (event_id, attempt, status, "
                                 "error, at) SELECT o.id, o.attempts, 0, ?3, ?4 FROM outbox o "
                                 "WHERE o.id IN (" SPENT_EVENTS ") AND NOT EXISTS (SELECT 1 "
                                 "FROM webhook_attempts a WHERE a.event_id = o.id "
                                 "AND a.attempt = o.attempts)", error);
  sqlite3_stmt *fail;

  if (log == NULL)
    return -1;
  sqlite3_bind_int64 (log, 1, spent_before);
  sqlite3_bind_int64 (log, 2, max_attempts);
  TEXT (log, 3, message);
  sqlite3_bind_int64 (log, 4, now);
  if (!DONE (txn, log, error))
    return -1;
  /* The last error is the last try's, as when a try's outcome gives up:
   * the cut one's just logged, or a recorded one's (max_attempts lowered). */
  fail = PREP (txn, "UPDATE outbox SET failed_at = ?4, last_error = coalesce ((SELECT a.error "
                    "FROM webhook_attempts a WHERE a.event_id = outbox.id "
                    "ORDER BY a.id DESC LIMIT 1), ?3) WHERE id IN (" SPENT_EVENTS ")", error);
  if (fail == NULL)
    return -1;
  sqlite3_bind_int64 (fail, 1, spent_before);
  sqlite3_bind_int64 (fail, 2, max_attempts);
  TEXT (fail, 3, message);
  sqlite3_bind_int64 (fail, 4, now);
  return gw_sqlite_step_changes (txn, fail, error);
}

static void
read_event (sqlite3_stmt *stmt,
            gpointer      data)
{
  GwWebhookEvent *event = data;

  event->id = sqlite3_column_int64 (stmt, 0);
  COPY (event->type, stmt, 1);
  COPY (event->merchant_id, stmt, 2);
  event->payload = STRDUP (stmt, 3);
  event->created = sqlite3_column_int64 (stmt, 4);
  event->attempts = sqlite3_column_int64 (stmt, 5) + 1;
  event->url_sealed = gw_sqlite_column_bytes (stmt, 6);
  event->secret_sealed = gw_sqlite_column_bytes (stmt, 7);
  if (sqlite3_column_type (stmt, 8) != SQLITE_NULL)
    event->previous_sealed = gw_sqlite_column_bytes (stmt, 8);
}

static GPtrArray *
t_events_no_endpoint (GwTxn    *txn,
                      gint64    now,
                      gint64    max_attempts,
                      guint     limit,
                      GError  **error)
{
  /* read_event ()'s columns, without an endpoint or a secret. */
  sqlite3_stmt *stmt = PREP (txn, "SELECT o.id, o.type, o.merchant_id, o.payload, o.created, "
                                  "o.attempts, NULL, NULL, NULL FROM outbox o WHERE "
                                  MERCHANT_EVENT "AND o.next_attempt <= ?1 AND o.attempts < ?2 "
                                  "AND NOT EXISTS (SELECT 1 FROM merchant_webhooks w "
                                  "WHERE w.merchant_id = o.merchant_id) "
                                  "ORDER BY o.next_attempt LIMIT ?3", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int64 (stmt, 2, max_attempts);
  sqlite3_bind_int64 (stmt, 3, limit);
  return gw_sqlite_read_list (txn, stmt, sizeof (GwWebhookEvent), read_event,
                              (GDestroyNotify) gw_webhook_event_free, error);
}

/* Each merchant's due events are numbered oldest first, so that one whose
 * endpoint is slow (or trickles) takes a few places and the others get the
 * rest. */
static GPtrArray *
t_events_claim (GwTxn       *txn,
                gint64       now,
                gint64       max_attempts,
                guint        limit,
                guint        per_merchant,
                const char  *in_flight,
                GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "SELECT o.id, o.type, o.merchant_id, o.payload, o.created, "
                                  "o.attempts, w.url_sealed, m.webhook_secret_sealed, "
                                  "CASE WHEN m.webhook_secret_previous_expires > ?1 "
                                  "THEN m.webhook_secret_previous_sealed END "
                                  "FROM (SELECT o.*, row_number () OVER "
                                  "(PARTITION BY o.merchant_id ORDER BY o.id) AS nth "
                                  "FROM outbox o WHERE " MERCHANT_EVENT
                                  "AND o.next_attempt <= ?1 AND o.attempts < ?2) o "
                                  "JOIN merchant_webhooks w ON w.merchant_id = o.merchant_id "
                                  "JOIN merchants m ON m.id = o.merchant_id "
                                  "WHERE o.nth <= ?4 - coalesce (?5 ->> o.merchant_id, 0) "
                                  "ORDER BY o.id LIMIT ?3", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int64 (stmt, 2, max_attempts);
  sqlite3_bind_int64 (stmt, 3, limit);
  sqlite3_bind_int64 (stmt, 4, per_merchant);
  gw_sqlite_bind_text (stmt, 5, in_flight);
  return gw_sqlite_read_list (txn, stmt, sizeof (GwWebhookEvent), read_event,
                              (GDestroyNotify) gw_webhook_event_free, error);
}

static gboolean
t_event_lease (GwTxn    *txn,
               gint64    id,
               gint64    from_attempts,
               gint64    attempts,
               gint64    next_attempt,
               GError  **error)
{
  sqlite3_stmt *stmt = PREP (txn, "UPDATE outbox SET attempts = ?, next_attempt = ? "
                                  "WHERE id = ? AND attempts = ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, attempts);
  sqlite3_bind_int64 (stmt, 2, next_attempt);
  sqlite3_bind_int64 (stmt, 3, id);
  sqlite3_bind_int64 (stmt, 4, from_attempts);
  return gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_CONFLICT,
                               "The event was claimed since it was read", error);
}

static gboolean
t_event_delivered (GwTxn    *txn,
                   gint64    id,
                   gint64    now,
                   GError  **error)
{
  sqlite3_stmt *stmt = PREP (txn, "UPDATE outbox SET delivered_at = ? WHERE id = ? "
                                  "AND delivered_at IS NULL AND failed_at IS NULL", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int64 (stmt, 2, id);
  return DONE (txn, stmt, error);
}

static gboolean
t_event_failed (GwTxn       *txn,
                gint64       id,
                gint64       now,
                const char  *message,
                GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "UPDATE outbox SET failed_at = ?, last_error = ? WHERE id = ? "
                                  "AND delivered_at IS NULL AND failed_at IS NULL", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now);
  TEXT (stmt, 2, message);
  sqlite3_bind_int64 (stmt, 3, id);
  return DONE (txn, stmt, error);
}

static gboolean
t_event_attempt_log (GwTxn       *txn,
                     gint64       id,
                     gint64       attempt,
                     guint        status,
                     const char  *message,
                     gint64       now,
                     GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn, "INSERT INTO webhook_attempts (event_id, attempt, status, "
                                  "error, at) VALUES (?, ?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, attempt);
  sqlite3_bind_int (stmt, 3, status);
  TEXT (stmt, 4, message);
  sqlite3_bind_int64 (stmt, 5, now);
  return DONE (txn, stmt, error);
}

const GwCheckoutStoreFuncs gw_checkout_store_sqlite = {
  .session_insert = t_session_insert,
  .session_get = t_session_get,
  .session_complete = t_session_complete,
  .session_expire = t_session_expire,
  .sessions_due = t_sessions_due,
  .card_lookup = t_card_lookup,
  .webhook_get = t_webhook_get,
  .webhook_put = t_webhook_put,
  .webhook_delete = t_webhook_delete,
  .webhook_secret_roll = t_webhook_secret_roll,
  .events_due = t_events_due,
  .events_abandon = t_events_abandon,
  .events_no_endpoint = t_events_no_endpoint,
  .events_claim = t_events_claim,
  .event_lease = t_event_lease,
  .event_delivered = t_event_delivered,
  .event_failed = t_event_failed,
  .event_attempt_log = t_event_attempt_log,
};
