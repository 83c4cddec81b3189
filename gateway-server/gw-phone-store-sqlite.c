/* gw-phone-store-sqlite.c: telephone charging's tables in SQLite
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-phone-store.h"
#include "gw-store-sqlite-private.h"

#include <string.h>

#define PREP(t, sql) gw_sqlite_prepare ((t), (sql), error)

void
gw_phone_rate_clear (gpointer data)
{
  GwPhoneRate *rate = data;

  g_clear_pointer (&rate->description, g_free);
}

void
gw_phone_rate_table_clear (GwPhoneRateTable *table)
{
  g_clear_pointer (&table->name, g_free);
  g_clear_pointer (&table->rates, g_array_unref);
  g_clear_pointer (&table->services, g_array_unref);
}

void
gw_phone_rate_table_free (GwPhoneRateTable *table)
{
  if (table == NULL)
    return;
  gw_phone_rate_table_clear (table);
  g_free (table);
}

/* Merchants */

static gboolean
p_merchant_is (GwTxn       *t,
               const char  *merchant_id,
               const char  *category,
               GError     **error)
{
  sqlite3_stmt *stmt = PREP (t, "SELECT 1 FROM merchants WHERE id = ? AND category = ?");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, merchant_id);
  gw_sqlite_bind_text (stmt, 2, category);
  return gw_sqlite_read_one (t, stmt, NULL, NULL, error);
}

/* Rate tables */

static gboolean
insert_rate (GwTxn              *t,
             const char         *table_id,
             const GwPhoneRate  *rate,
             GError            **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO phone_rates (table_id, prefix, category, country, description, per_minute,"
    " increment, connection_fee) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, table_id);
  gw_sqlite_bind_text (stmt, 2, rate->prefix);
  gw_sqlite_bind_text (stmt, 3, rate->category);
  gw_sqlite_bind_optional (stmt, 4, rate->country);
  gw_sqlite_bind_text (stmt, 5, rate->description);
  sqlite3_bind_int64 (stmt, 6, rate->per_minute);
  sqlite3_bind_int64 (stmt, 7, rate->increment);
  sqlite3_bind_int64 (stmt, 8, rate->connection_fee);
  return gw_sqlite_step_done (t, stmt, error);
}

static gboolean
insert_service (GwTxn                      *t,
                const char                 *table_id,
                const GwPhoneServicePrice  *service,
                GError                    **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO phone_services (table_id, service, price) VALUES (?, ?, ?)");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, table_id);
  gw_sqlite_bind_text (stmt, 2, service->service);
  sqlite3_bind_int64 (stmt, 3, service->price);
  return gw_sqlite_step_done (t, stmt, error);
}

static gboolean
p_rate_table_insert (GwTxn             *t,
                     GwPhoneRateTable  *table,
                     GError           **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO phone_rate_tables (id, version, name, currency, created)"
    " VALUES (?, (SELECT COALESCE(MAX(version), 0) + 1 FROM phone_rate_tables), ?, ?, ?)"
    " RETURNING version");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, table->id);
  gw_sqlite_bind_text (stmt, 2, table->name);
  gw_sqlite_bind_text (stmt, 3, table->currency);
  sqlite3_bind_int64 (stmt, 4, table->created);
  if (!gw_sqlite_step_row (t, stmt, error))
    {
      sqlite3_reset (stmt);
      return FALSE;
    }
  table->version = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  for (guint i = 0; table->rates != NULL && i < table->rates->len; i++)
    if (!insert_rate (t, table->id, &g_array_index (table->rates, GwPhoneRate, i), error))
      return FALSE;
  for (guint i = 0; table->services != NULL && i < table->services->len; i++)
    if (!insert_service (t, table->id, &g_array_index (table->services, GwPhoneServicePrice, i),
                         error))
      return FALSE;
  return TRUE;
}

#define TABLE_COLUMNS \
  "t.id, t.version, t.name, t.currency, t.created," \
  " (SELECT COUNT(*) FROM phone_rates r WHERE r.table_id = t.id) FROM phone_rate_tables t "

static void
read_table (sqlite3_stmt *stmt,
            gpointer      data)
{
  GwPhoneRateTable *out = data;

  gw_sqlite_copy_text (out->id, sizeof out->id, stmt, 0);
  out->version = sqlite3_column_int64 (stmt, 1);
  out->name = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  gw_sqlite_copy_text (out->currency, sizeof out->currency, stmt, 3);
  out->created = sqlite3_column_int64 (stmt, 4);
  out->n_rates = sqlite3_column_int64 (stmt, 5);
}

static gboolean
p_rate_table_active (GwTxn             *t,
                     GwPhoneRateTable  *out,
                     GError           **error)
{
  return gw_sqlite_read_one (t, PREP (t, "SELECT " TABLE_COLUMNS "ORDER BY t.version DESC LIMIT 1"),
                             read_table, out, error);
}

static void
read_rate (sqlite3_stmt *stmt,
           gpointer      data)
{
  GwPhoneRate *out = data;

  gw_sqlite_copy_text (out->prefix, sizeof out->prefix, stmt, 0);
  gw_sqlite_copy_text (out->category, sizeof out->category, stmt, 1);
  gw_sqlite_copy_text (out->country, sizeof out->country, stmt, 2);
  out->description = gw_sqlite_column_strdup (stmt, 3);
  out->per_minute = sqlite3_column_int64 (stmt, 4);
  out->increment = sqlite3_column_int64 (stmt, 5);
  out->connection_fee = sqlite3_column_int64 (stmt, 6);
}

static void
read_service (sqlite3_stmt *stmt,
              gpointer      data)
{
  GwPhoneServicePrice *out = data;

  gw_sqlite_copy_text (out->service, sizeof out->service, stmt, 0);
  out->price = sqlite3_column_int64 (stmt, 1);
}

#define RATE_COLUMNS \
  "prefix, category, COALESCE(country, ''), description, per_minute, increment, connection_fee "

static gboolean
load_rates (GwTxn             *t,
            GwPhoneRateTable  *table,
            GError           **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT " RATE_COLUMNS "FROM phone_rates WHERE table_id = ? ORDER BY prefix");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, table->id);
  table->rates = gw_sqlite_read_array (t, stmt, sizeof (GwPhoneRate), read_rate,
                                       gw_phone_rate_clear, error);
  if (table->rates == NULL)
    return FALSE;

  stmt = PREP (t, "SELECT service, price FROM phone_services WHERE table_id = ? ORDER BY service");
  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, table->id);
  table->services = gw_sqlite_read_array (t, stmt, sizeof (GwPhoneServicePrice), read_service,
                                          NULL, error);
  return table->services != NULL;
}

static gboolean
p_rate_table_get (GwTxn             *t,
                  const char        *id,
                  gboolean           with_rates,
                  GwPhoneRateTable  *out,
                  GError           **error)
{
  gboolean found = gw_sqlite_get_by_text (t, "SELECT " TABLE_COLUMNS "WHERE t.id = ?", id,
                                          read_table, out, error);

  if (found && with_rates && !load_rates (t, out, error))
    return FALSE;
  return found;
}

static GPtrArray *
p_rate_tables_list (GwTxn   *t,
                    gint64   before,
                    guint    limit,
                    GError **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT " TABLE_COLUMNS "WHERE ?1 = 0 OR t.version < ?1 ORDER BY t.version DESC LIMIT ?2");

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, before);
  sqlite3_bind_int (stmt, 2, limit);
  return gw_sqlite_read_list (t, stmt, sizeof (GwPhoneRateTable), read_table,
                              (GDestroyNotify) gw_phone_rate_table_free, error);
}

/* The longest matching prefix: every leading part of the number is a
 * candidate, and the primary key finds each one. */
static gboolean
p_rate_lookup (GwTxn        *t,
               const char   *table_id,
               const char   *destination,
               GwPhoneRate  *out,
               GError      **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT " RATE_COLUMNS "FROM phone_rates WHERE table_id = ?1"
    " AND prefix IN (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
    " ORDER BY length(prefix) DESC LIMIT 1");
  char candidates[GW_PHONE_PREFIX_MAX][GW_PHONE_PREFIX_MAX + 1];
  gsize len = strlen (destination);

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, table_id);
  for (gsize i = 0; i < GW_PHONE_PREFIX_MAX; i++)
    {
      gsize n = MIN (i + 1, len);

      memcpy (candidates[i], destination, n);
      candidates[i][n] = '\0';
      gw_sqlite_bind_text (stmt, i + 2, candidates[i]);
    }
  return gw_sqlite_read_one (t, stmt, read_rate, out, error);
}

static gboolean
p_service_price (GwTxn       *t,
                 const char  *table_id,
                 const char  *service,
                 gint64      *price,
                 GError     **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT price FROM phone_services WHERE table_id = ? AND service = ?");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, table_id);
  gw_sqlite_bind_text (stmt, 2, service);
  return gw_sqlite_read_one (t, stmt, gw_sqlite_row_int, price, error);
}

/* Sessions */

static void
bind_session (sqlite3_stmt         *stmt,
              const GwPhoneSession *s)
{
  gw_sqlite_bind_text (stmt, 1, s->id);
  gw_sqlite_bind_text (stmt, 2, s->merchant_id);
  gw_sqlite_bind_text (stmt, 3, s->card_id);
  sqlite3_bind_int64 (stmt, 4, s->account_id);
  gw_sqlite_bind_text (stmt, 5, s->service);
  gw_sqlite_bind_text (stmt, 6, s->channel);
  gw_sqlite_bind_text (stmt, 7, s->destination);
  gw_sqlite_bind_text (stmt, 8, s->rate.category);
  gw_sqlite_bind_text (stmt, 9, s->rate_table_id);
  gw_sqlite_bind_text (stmt, 10, s->rate.prefix);
  sqlite3_bind_int64 (stmt, 11, s->rate.per_minute);
  sqlite3_bind_int64 (stmt, 12, s->rate.increment);
  sqlite3_bind_int64 (stmt, 13, s->rate.connection_fee);
  gw_sqlite_bind_text (stmt, 14, s->currency);
  gw_sqlite_bind_text (stmt, 15, s->state);
  sqlite3_bind_int (stmt, 16, s->final);
  sqlite3_bind_int64 (stmt, 17, s->request_number);
  sqlite3_bind_int64 (stmt, 18, s->granted);
  sqlite3_bind_int64 (stmt, 19, s->last_grant);
  sqlite3_bind_int64 (stmt, 20, s->reported);
  sqlite3_bind_int64 (stmt, 21, s->billed);
  sqlite3_bind_int64 (stmt, 22, s->charged);
  sqlite3_bind_int64 (stmt, 23, s->held);
  sqlite3_bind_int64 (stmt, 24, s->created);
  sqlite3_bind_int64 (stmt, 25, s->updated);
  sqlite3_bind_int64 (stmt, 26, s->expires_at);
  if (s->ended_at > 0)
    sqlite3_bind_int64 (stmt, 27, s->ended_at);
}

static void
remember_session (GwPhoneSession *s)
{
  g_strlcpy (s->read_state, s->state, sizeof s->read_state);
  s->read_request_number = s->request_number;
  s->read_charged = s->charged;
  s->read_held = s->held;
}

static gboolean
p_session_insert (GwTxn           *t,
                  GwPhoneSession  *session,
                  GError         **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO phone_sessions (id, merchant_id, card_id, account_id, service, channel,"
    " destination, category, rate_table_id, prefix, per_minute, increment, connection_fee,"
    " currency, state, final, request_number, granted, last_grant, reported, billed, charged,"
    " held, created, updated, expires_at, ended_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
    " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26,"
    " ?27)");

  if (stmt == NULL)
    return FALSE;
  bind_session (stmt, session);
  if (!gw_sqlite_step_done (t, stmt, error))
    return FALSE;
  remember_session (session);
  return TRUE;
}

/* Only what a session's life changes; the rest is fixed at its start and
 * must still match, as a guard against writing over another session. The
 * money fields must still be what they were read as: a report or expiry
 * another process applied first makes this one a conflict, not a second
 * debit or release. */
static gboolean
p_session_update (GwTxn           *t,
                  GwPhoneSession  *session,
                  GError         **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "UPDATE phone_sessions SET state = ?15, final = ?16, request_number = ?17, granted = ?18,"
    " last_grant = ?19, reported = ?20, billed = ?21, charged = ?22, held = ?23, updated = ?25,"
    " expires_at = ?26, ended_at = ?27"
    " WHERE id = ?1 AND merchant_id = ?2 AND card_id = ?3 AND account_id = ?4 AND created = ?24"
    " AND state = ?28 AND request_number = ?29 AND charged = ?30 AND held = ?31");

  if (stmt == NULL)
    return FALSE;
  bind_session (stmt, session);
  gw_sqlite_bind_text (stmt, 28, session->read_state);
  sqlite3_bind_int64 (stmt, 29, session->read_request_number);
  sqlite3_bind_int64 (stmt, 30, session->read_charged);
  sqlite3_bind_int64 (stmt, 31, session->read_held);
  if (!gw_sqlite_change_one (t, stmt, GW_STORE_ERROR_CONFLICT,
                             "The session changed since it was read", error))
    return FALSE;
  remember_session (session);
  return TRUE;
}

static void
read_session (sqlite3_stmt *stmt,
              gpointer      data)
{
  GwPhoneSession *out = data;

  memset (out, 0, sizeof *out);
  gw_sqlite_copy_text (out->id, sizeof out->id, stmt, 0);
  gw_sqlite_copy_text (out->merchant_id, sizeof out->merchant_id, stmt, 1);
  gw_sqlite_copy_text (out->card_id, sizeof out->card_id, stmt, 2);
  gw_sqlite_copy_text (out->card_last4, sizeof out->card_last4, stmt, 3);
  out->account_id = sqlite3_column_int64 (stmt, 4);
  gw_sqlite_copy_text (out->service, sizeof out->service, stmt, 5);
  gw_sqlite_copy_text (out->channel, sizeof out->channel, stmt, 6);
  gw_sqlite_copy_text (out->destination, sizeof out->destination, stmt, 7);
  gw_sqlite_copy_text (out->rate.category, sizeof out->rate.category, stmt, 8);
  gw_sqlite_copy_text (out->rate_table_id, sizeof out->rate_table_id, stmt, 9);
  gw_sqlite_copy_text (out->rate.prefix, sizeof out->rate.prefix, stmt, 10);
  out->rate.per_minute = sqlite3_column_int64 (stmt, 11);
  out->rate.increment = sqlite3_column_int64 (stmt, 12);
  out->rate.connection_fee = sqlite3_column_int64 (stmt, 13);
  gw_sqlite_copy_text (out->currency, sizeof out->currency, stmt, 14);
  gw_sqlite_copy_text (out->state, sizeof out->state, stmt, 15);
  out->final = sqlite3_column_int (stmt, 16);
  out->request_number = sqlite3_column_int64 (stmt, 17);
  out->granted = sqlite3_column_int64 (stmt, 18);
  out->last_grant = sqlite3_column_int64 (stmt, 19);
  out->reported = sqlite3_column_int64 (stmt, 20);
  out->billed = sqlite3_column_int64 (stmt, 21);
  out->charged = sqlite3_column_int64 (stmt, 22);
  out->held = sqlite3_column_int64 (stmt, 23);
  out->created = sqlite3_column_int64 (stmt, 24);
  out->updated = sqlite3_column_int64 (stmt, 25);
  out->expires_at = sqlite3_column_int64 (stmt, 26);
  out->ended_at = sqlite3_column_int64 (stmt, 27);
  remember_session (out);
}

static gboolean
p_session_get (GwTxn           *t,
               const char      *id,
               GwPhoneSession  *out,
               GError         **error)
{
  return gw_sqlite_get_by_text (t,
    "SELECT s.id, s.merchant_id, s.card_id, c.last4, s.account_id, s.service, s.channel,"
    " s.destination, s.category, s.rate_table_id, s.prefix, s.per_minute, s.increment,"
    " s.connection_fee, s.currency, s.state, s.final, s.request_number, s.granted,"
    " s.last_grant, s.reported, s.billed, s.charged, s.held, s.created, s.updated,"
    " s.expires_at, COALESCE(s.ended_at, 0)"
    " FROM phone_sessions s JOIN cards c ON c.id = s.card_id WHERE s.id = ?",
    id, read_session, out, error);
}

static GPtrArray *
p_sessions_expiring (GwTxn   *t,
                     gint64   now,
                     guint    limit,
                     GError **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT id FROM phone_sessions WHERE state = 'open' AND expires_at <= ?"
    " ORDER BY expires_at LIMIT ?");

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int (stmt, 2, limit);
  return gw_sqlite_read_ids (t, stmt, error);
}

/* Events */

static gboolean
p_event_insert (GwTxn               *t,
                const GwPhoneEvent  *event,
                GError             **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO phone_events (id, merchant_id, card_id, service, quantity, amount, currency,"
    " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, event->id);
  gw_sqlite_bind_text (stmt, 2, event->merchant_id);
  gw_sqlite_bind_text (stmt, 3, event->card_id);
  gw_sqlite_bind_text (stmt, 4, event->service);
  sqlite3_bind_int64 (stmt, 5, event->quantity);
  sqlite3_bind_int64 (stmt, 6, event->amount);
  gw_sqlite_bind_text (stmt, 7, event->currency);
  sqlite3_bind_int64 (stmt, 8, event->created);
  return gw_sqlite_step_done (t, stmt, error);
}

/* Calling numbers */

static gboolean
p_calling_number_put (GwTxn         *t,
                      const guint8   lookup[32],
                      const char    *card_id,
                      const char    *last4,
                      GError       **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO phone_calling_numbers (lookup, card_id, last4, created) VALUES (?, ?, ?, ?)");

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, lookup, 32, SQLITE_STATIC);
  gw_sqlite_bind_text (stmt, 2, card_id);
  gw_sqlite_bind_text (stmt, 3, last4);
  sqlite3_bind_int64 (stmt, 4, t->funcs->now (t));
  return gw_sqlite_step_done (t, stmt, error);
}

static gboolean
p_calling_number_card (GwTxn         *t,
                       const guint8   lookup[32],
                       char           card_id[40],
                       GError       **error)
{
  return gw_sqlite_get_by_hash (t, "SELECT card_id FROM phone_calling_numbers WHERE lookup = ?",
                                lookup, gw_sqlite_row_id, card_id, error);
}

static gboolean
p_calling_number_delete (GwTxn         *t,
                         const guint8   lookup[32],
                         const char    *card_id,
                         GError       **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "DELETE FROM phone_calling_numbers WHERE lookup = ? AND card_id = ?");

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, lookup, 32, SQLITE_STATIC);
  gw_sqlite_bind_text (stmt, 2, card_id);
  return gw_sqlite_step_changes (t, stmt, error) == 1;
}

static gboolean
p_calling_numbers_forget (GwTxn         *t,
                          const char    *card_id,
                          GError       **error)
{
  sqlite3_stmt *stmt = PREP (t, "DELETE FROM phone_calling_numbers WHERE card_id = ?");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, card_id);
  return gw_sqlite_step_changes (t, stmt, error) >= 0;
}

static void
read_calling_number (sqlite3_stmt *stmt,
                     gpointer      data)
{
  GwPhoneCallingNumber *line = data;

  gw_sqlite_copy_text (line->last4, sizeof line->last4, stmt, 0);
  line->created = sqlite3_column_int64 (stmt, 1);
  if (sqlite3_column_bytes (stmt, 2) == sizeof line->lookup)
    memcpy (line->lookup, sqlite3_column_blob (stmt, 2), sizeof line->lookup);
}

static GArray *
p_calling_numbers_of_card (GwTxn         *t,
                           const char    *card_id,
                           GError       **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT last4, created, lookup FROM phone_calling_numbers WHERE card_id = ?"
    " ORDER BY created, last4");

  if (stmt == NULL)
    return NULL;
  gw_sqlite_bind_text (stmt, 1, card_id);
  return gw_sqlite_read_array (t, stmt, sizeof (GwPhoneCallingNumber), read_calling_number,
                               NULL, error);
}

/* Sales */

static gboolean
p_sale_insert (GwTxn              *t,
               const GwPhoneSale  *sale,
               GError            **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO phone_sales (id, merchant_id, kind, card_id, amount, commission, currency,"
    " pool_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, sale->id);
  gw_sqlite_bind_text (stmt, 2, sale->merchant_id);
  gw_sqlite_bind_text (stmt, 3, sale->kind);
  gw_sqlite_bind_text (stmt, 4, sale->card_id);
  sqlite3_bind_int64 (stmt, 5, sale->amount);
  sqlite3_bind_int64 (stmt, 6, sale->commission);
  gw_sqlite_bind_text (stmt, 7, sale->currency);
  gw_sqlite_bind_optional (stmt, 8, sale->pool_id);
  sqlite3_bind_int64 (stmt, 9, sale->created);
  return gw_sqlite_step_done (t, stmt, error);
}

static void
read_sale (sqlite3_stmt *stmt,
           gpointer      data)
{
  GwPhoneSale *sale = data;

  gw_sqlite_copy_text (sale->id, sizeof sale->id, stmt, 0);
  gw_sqlite_copy_text (sale->merchant_id, sizeof sale->merchant_id, stmt, 1);
  gw_sqlite_copy_text (sale->kind, sizeof sale->kind, stmt, 2);
  gw_sqlite_copy_text (sale->card_id, sizeof sale->card_id, stmt, 3);
  gw_sqlite_copy_text (sale->card_last4, sizeof sale->card_last4, stmt, 4);
  sale->amount = sqlite3_column_int64 (stmt, 5);
  sale->commission = sqlite3_column_int64 (stmt, 6);
  gw_sqlite_copy_text (sale->currency, sizeof sale->currency, stmt, 7);
  gw_sqlite_copy_text (sale->pool_id, sizeof sale->pool_id, stmt, 8);
  sale->created = sqlite3_column_int64 (stmt, 9);
}

static GArray *
p_sales_between (GwTxn       *t,
                 const char  *merchant_id,
                 gint64       from,
                 gint64       to,
                 GError     **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT s.id, s.merchant_id, s.kind, s.card_id, c.last4, s.amount, s.commission,"
    " s.currency, COALESCE(s.pool_id, ''), s.created"
    " FROM phone_sales s JOIN cards c ON c.id = s.card_id"
    " WHERE s.merchant_id = ? AND s.created >= ? AND s.created < ? ORDER BY s.created, s.id");

  if (stmt == NULL)
    return NULL;
  gw_sqlite_bind_text (stmt, 1, merchant_id);
  sqlite3_bind_int64 (stmt, 2, from);
  sqlite3_bind_int64 (stmt, 3, to);
  return gw_sqlite_read_array (t, stmt, sizeof (GwPhoneSale), read_sale, NULL, error);
}

static gboolean
p_account_flow (GwTxn   *t,
                gint64   account_id,
                gint64   from,
                gint64   to,
                gint64  *debits,
                gint64  *credits,
                GError **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT COALESCE(SUM(l.debit), 0), COALESCE(SUM(l.credit), 0)"
    " FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id"
    " WHERE l.account_id = ? AND e.created >= ? AND e.created < ?");
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, account_id);
  sqlite3_bind_int64 (stmt, 2, from);
  sqlite3_bind_int64 (stmt, 3, to);
  found = gw_sqlite_step_row (t, stmt, error);
  if (found)
    {
      *debits = sqlite3_column_int64 (stmt, 0);
      *credits = sqlite3_column_int64 (stmt, 1);
    }
  sqlite3_reset (stmt);
  return found;
}

static gboolean
p_operator_set_commission (GwTxn       *t,
                           const char  *merchant_id,
                           gint64       bps,
                           GError     **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "UPDATE phone_operators SET commission_bps = ? WHERE merchant_id = ?");

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, bps);
  gw_sqlite_bind_text (stmt, 2, merchant_id);
  return gw_sqlite_update_one (t, stmt, error);
}

/* Pools */

void
gw_phone_pin_clear (GwPhonePin *pin)
{
  g_clear_pointer (&pin->number_sealed, g_bytes_unref);
}

static gboolean
p_pool_insert (GwTxn              *t,
               const GwPhonePool  *pool,
               GError            **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO phone_pools (id, kind, merchant_id, value, count, created)"
    " VALUES (?, ?, ?, ?, ?, ?)");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, pool->id);
  gw_sqlite_bind_text (stmt, 2, pool->kind);
  gw_sqlite_bind_text (stmt, 3, pool->merchant_id);
  sqlite3_bind_int64 (stmt, 4, pool->value);
  sqlite3_bind_int64 (stmt, 5, pool->count);
  sqlite3_bind_int64 (stmt, 6, pool->created);
  return gw_sqlite_step_done (t, stmt, error);
}

static gboolean
p_pin_insert (GwTxn             *t,
              const GwPhonePin  *pin,
              GError           **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO phone_pool_pins (pool_id, seq, lookup, number_sealed, last4, secret_mac, state)"
    " VALUES (?, ?, ?, ?, ?, ?, 'available')");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, pin->pool_id);
  sqlite3_bind_int64 (stmt, 2, pin->seq);
  sqlite3_bind_blob (stmt, 3, pin->lookup, 32, SQLITE_STATIC);
  gw_sqlite_bind_bytes (stmt, 4, pin->number_sealed);
  gw_sqlite_bind_text (stmt, 5, pin->last4);
  gw_sqlite_bind_hash (stmt, 6, pin->has_secret ? pin->secret_mac : NULL);
  return gw_sqlite_step_done (t, stmt, error);
}

static void
read_pool (sqlite3_stmt *stmt,
           gpointer      data)
{
  GwPhonePool *out = data;

  gw_sqlite_copy_text (out->id, sizeof out->id, stmt, 0);
  gw_sqlite_copy_text (out->kind, sizeof out->kind, stmt, 1);
  gw_sqlite_copy_text (out->merchant_id, sizeof out->merchant_id, stmt, 2);
  out->value = sqlite3_column_int64 (stmt, 3);
  out->count = sqlite3_column_int64 (stmt, 4);
  out->created = sqlite3_column_int64 (stmt, 5);
  out->available = sqlite3_column_int64 (stmt, 6);
  out->sold = sqlite3_column_int64 (stmt, 7);
  out->voided = sqlite3_column_int64 (stmt, 8);
}

static gboolean
p_pool_get (GwTxn         *t,
            const char    *id,
            GwPhonePool   *out,
            GError       **error)
{
  return gw_sqlite_get_by_text (t,
    "SELECT p.id, p.kind, p.merchant_id, p.value, p.count, p.created,"
    " (SELECT COUNT(*) FROM phone_pool_pins WHERE pool_id = p.id AND state = 'available'),"
    " (SELECT COUNT(*) FROM phone_pool_pins WHERE pool_id = p.id AND state = 'sold'),"
    " (SELECT COUNT(*) FROM phone_pool_pins WHERE pool_id = p.id AND state = 'void')"
    " FROM phone_pools p WHERE p.id = ?",
    id, read_pool, out, error);
}

static gboolean
p_pools_exist (GwTxn       *t,
               const char  *merchant_id,
               const char  *kind,
               GError     **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT 1 FROM phone_pools WHERE merchant_id = ? AND kind = ? LIMIT 1");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, merchant_id);
  gw_sqlite_bind_text (stmt, 2, kind);
  return gw_sqlite_read_one (t, stmt, NULL, NULL, error);
}

#define PIN_COLUMNS \
  "n.pool_id, n.seq, p.kind, p.merchant_id, p.value, n.lookup, n.number_sealed, n.last4," \
  " n.secret_mac, n.state, COALESCE(n.card_id, '')" \
  " FROM phone_pool_pins n JOIN phone_pools p ON p.id = n.pool_id "

static void
read_pin (sqlite3_stmt *stmt,
          gpointer      data)
{
  GwPhonePin *out = data;

  memset (out, 0, sizeof *out);
  gw_sqlite_copy_text (out->pool_id, sizeof out->pool_id, stmt, 0);
  out->seq = sqlite3_column_int64 (stmt, 1);
  gw_sqlite_copy_text (out->kind, sizeof out->kind, stmt, 2);
  gw_sqlite_copy_text (out->merchant_id, sizeof out->merchant_id, stmt, 3);
  out->value = sqlite3_column_int64 (stmt, 4);
  gw_sqlite_copy_blob (out->lookup, 32, stmt, 5);
  out->number_sealed = gw_sqlite_column_bytes (stmt, 6);
  gw_sqlite_copy_text (out->last4, sizeof out->last4, stmt, 7);
  out->has_secret = gw_sqlite_copy_blob (out->secret_mac, 32, stmt, 8);
  gw_sqlite_copy_text (out->state, sizeof out->state, stmt, 9);
  gw_sqlite_copy_text (out->card_id, sizeof out->card_id, stmt, 10);
}

static gboolean
p_pin_next (GwTxn        *t,
            const char   *merchant_id,
            const char   *kind,
            gint64        value,
            GwPhonePin   *out,
            GError      **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "SELECT " PIN_COLUMNS "WHERE p.merchant_id = ? AND p.kind = ? AND p.value = ?"
    " AND n.state = 'available' ORDER BY p.created, p.id, n.seq LIMIT 1");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, merchant_id);
  gw_sqlite_bind_text (stmt, 2, kind);
  sqlite3_bind_int64 (stmt, 3, value);
  return gw_sqlite_read_one (t, stmt, read_pin, out, error);
}

static gboolean
p_pin_by_lookup (GwTxn         *t,
                 const guint8   lookup[32],
                 GwPhonePin    *out,
                 GError       **error)
{
  return gw_sqlite_get_by_hash (t, "SELECT " PIN_COLUMNS "WHERE n.lookup = ?", lookup, read_pin,
                                out, error);
}

static gboolean
p_pin_settle (GwTxn       *t,
              const char  *pool_id,
              gint64       seq,
              const char  *state,
              const char  *card_id,
              GError     **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "UPDATE phone_pool_pins SET state = ?, card_id = ?, sold_at = ?"
    " WHERE pool_id = ? AND seq = ? AND state = 'available'");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, state);
  gw_sqlite_bind_text (stmt, 2, card_id);
  sqlite3_bind_int64 (stmt, 3, t->funcs->now (t));
  gw_sqlite_bind_text (stmt, 4, pool_id);
  sqlite3_bind_int64 (stmt, 5, seq);
  return gw_sqlite_update_one (t, stmt, error);
}

static void
read_operator (sqlite3_stmt *stmt,
               gpointer      data)
{
  GwPhoneOperator *out = data;

  gw_sqlite_copy_text (out->merchant_id, sizeof out->merchant_id, stmt, 0);
  out->account_id = sqlite3_column_int64 (stmt, 1);
  out->commission_bps = sqlite3_column_int64 (stmt, 2);
  out->created = sqlite3_column_int64 (stmt, 3);
}

static gboolean
p_operator_get (GwTxn            *t,
                const char       *merchant_id,
                GwPhoneOperator  *out,
                GError          **error)
{
  return gw_sqlite_get_by_text (t,
    "SELECT merchant_id, account_id, commission_bps, created FROM phone_operators"
    " WHERE merchant_id = ?", merchant_id, read_operator, out, error);
}

static gboolean
p_operator_insert (GwTxn                  *t,
                   const GwPhoneOperator  *op,
                   GError                **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO phone_operators (merchant_id, account_id, commission_bps, created)"
    " VALUES (?, ?, ?, ?)");

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, op->merchant_id);
  sqlite3_bind_int64 (stmt, 2, op->account_id);
  sqlite3_bind_int64 (stmt, 3, op->commission_bps);
  sqlite3_bind_int64 (stmt, 4, op->created);
  return gw_sqlite_step_done (t, stmt, error);
}

/* ARS sessions */

void
gw_ars_session_clear (GwArsSession *session)
{
  g_clear_pointer (&session->calling_sealed, g_bytes_unref);
}

static void
bind_ars (sqlite3_stmt       *stmt,
          const GwArsSession *s)
{
  gw_sqlite_bind_text (stmt, 1, s->id);
  gw_sqlite_bind_text (stmt, 2, s->merchant_id);
  gw_sqlite_bind_bytes (stmt, 3, s->calling_sealed);
  gw_sqlite_bind_text (stmt, 4, s->calling_last4);
  gw_sqlite_bind_text (stmt, 5, s->locale);
  gw_sqlite_bind_text (stmt, 6, s->state);
  sqlite3_bind_int64 (stmt, 7, s->step);
  sqlite3_bind_int64 (stmt, 8, s->retries);
  gw_sqlite_bind_hash (stmt, 9, s->has_lookup ? s->card_lookup : NULL);
  gw_sqlite_bind_optional (stmt, 10, s->card_id);
  sqlite3_bind_int64 (stmt, 11, s->value);
  gw_sqlite_bind_hash (stmt, 12, s->has_pin ? s->pin_mac : NULL);
  sqlite3_bind_int64 (stmt, 13, s->created);
  sqlite3_bind_int64 (stmt, 14, s->updated);
  sqlite3_bind_int64 (stmt, 15, s->expires_at);
}

static gboolean
p_ars_insert (GwTxn               *t,
              const GwArsSession  *session,
              GError             **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "INSERT INTO ars_sessions (id, merchant_id, calling_sealed, calling_last4, locale, state,"
    " step, retries, card_lookup, card_id, value, pin_mac, created, updated, expires_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");

  if (stmt == NULL)
    return FALSE;
  bind_ars (stmt, session);
  return gw_sqlite_step_done (t, stmt, error);
}

static gboolean
p_ars_update (GwTxn               *t,
              const GwArsSession  *session,
              GError             **error)
{
  sqlite3_stmt *stmt = PREP (t,
    "UPDATE ars_sessions SET calling_sealed = ?3, state = ?6, step = ?7, retries = ?8,"
    " card_lookup = ?9, card_id = ?10, value = ?11, pin_mac = ?12, updated = ?14,"
    " expires_at = ?15 WHERE id = ?1 AND merchant_id = ?2 AND created = ?13");

  if (stmt == NULL)
    return FALSE;
  bind_ars (stmt, session);
  return gw_sqlite_update_one (t, stmt, error);
}

static void
read_ars (sqlite3_stmt *stmt,
          gpointer      data)
{
  GwArsSession *out = data;

  memset (out, 0, sizeof *out);
  gw_sqlite_copy_text (out->id, sizeof out->id, stmt, 0);
  gw_sqlite_copy_text (out->merchant_id, sizeof out->merchant_id, stmt, 1);
  out->calling_sealed = gw_sqlite_column_bytes (stmt, 2);
  gw_sqlite_copy_text (out->calling_last4, sizeof out->calling_last4, stmt, 3);
  gw_sqlite_copy_text (out->locale, sizeof out->locale, stmt, 4);
  gw_sqlite_copy_text (out->state, sizeof out->state, stmt, 5);
  out->step = sqlite3_column_int64 (stmt, 6);
  out->retries = sqlite3_column_int64 (stmt, 7);
  out->has_lookup = gw_sqlite_copy_blob (out->card_lookup, 32, stmt, 8);
  gw_sqlite_copy_text (out->card_id, sizeof out->card_id, stmt, 9);
  out->value = sqlite3_column_int64 (stmt, 10);
  out->has_pin = gw_sqlite_copy_blob (out->pin_mac, 32, stmt, 11);
  out->created = sqlite3_column_int64 (stmt, 12);
  out->updated = sqlite3_column_int64 (stmt, 13);
  out->expires_at = sqlite3_column_int64 (stmt, 14);
}

static gboolean
p_ars_get (GwTxn         *t,
           const char    *id,
           GwArsSession  *out,
           GError       **error)
{
  return gw_sqlite_get_by_text (t,
    "SELECT id, merchant_id, calling_sealed, calling_last4, locale, state, step, retries,"
    " card_lookup, COALESCE(card_id, ''), value, pin_mac, created, updated, expires_at"
    " FROM ars_sessions WHERE id = ?", id, read_ars, out, error);
}

static gboolean
p_ars_prune (GwTxn   *t,
             gint64   older_than,
             GError **error)
{
  sqlite3_stmt *stmt = PREP (t, "DELETE FROM ars_sessions WHERE updated < ?");

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, older_than);
  return gw_sqlite_step_done (t, stmt, error);
}

const GwPhoneStoreFuncs gw_phone_store_sqlite = {
  .merchant_is = p_merchant_is,
  .rate_table_insert = p_rate_table_insert,
  .rate_table_active = p_rate_table_active,
  .rate_table_get = p_rate_table_get,
  .rate_tables_list = p_rate_tables_list,
  .rate_lookup = p_rate_lookup,
  .service_price = p_service_price,
  .session_insert = p_session_insert,
  .session_get = p_session_get,
  .session_update = p_session_update,
  .sessions_expiring = p_sessions_expiring,
  .event_insert = p_event_insert,
  .calling_number_put = p_calling_number_put,
  .calling_number_card = p_calling_number_card,
  .calling_number_delete = p_calling_number_delete,
  .calling_numbers_forget = p_calling_numbers_forget,
  .calling_numbers_of_card = p_calling_numbers_of_card,
  .sale_insert = p_sale_insert,
  .operator_get = p_operator_get,
  .operator_insert = p_operator_insert,
  .operator_set_commission = p_operator_set_commission,
  .sales_between = p_sales_between,
  .account_flow = p_account_flow,
  .pool_insert = p_pool_insert,
  .pin_insert = p_pin_insert,
  .pool_get = p_pool_get,
  .pools_exist = p_pools_exist,
  .pin_next = p_pin_next,
  .pin_by_lookup = p_pin_by_lookup,
  .pin_settle = p_pin_settle,
  .ars_insert = p_ars_insert,
  .ars_get = p_ars_get,
  .ars_update = p_ars_update,
  .ars_prune = p_ars_prune,
};
