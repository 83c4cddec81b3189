/* gw-orders-store-sqlite.c: the card site's tables in SQLite
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-orders-store-sqlite.h"

#include <string.h>

#include "gw-store-sqlite-private.h"

#define prep gw_sqlite_prepare
#define done gw_sqlite_step_done
#define row gw_sqlite_step_row
#define bind_text gw_sqlite_bind_text
#define bind_bytes gw_sqlite_bind_bytes
#define copy_text gw_sqlite_copy_text

void
gw_order_row_clear (GwOrderRow *order)
{
  g_clear_pointer (&order->buyer_sealed, g_bytes_unref);
}

void
gw_gift_row_clear (GwGiftRow *gift)
{
  g_clear_pointer (&gift->details_sealed, g_bytes_unref);
}

void
gw_recharge_row_clear (GwRechargeRow *recharge)
{
  g_clear_pointer (&recharge->contact_sealed, g_bytes_unref);
}

void
gw_payout_row_clear (GwPayoutRow *payout)
{
  g_clear_pointer (&payout->contact_sealed, g_bytes_unref);
}

/* Orders */

#define ORDER_COLUMNS \
  "seq, id, status, token_hash, buyer_sealed, locale, currency, total, card_count," \
  " COALESCE(charge_id, ''), cards_revealed, created, COALESCE(paid_at, 0)," \
  " COALESCE(reopened_at, 0) FROM orders "

static void
read_order (sqlite3_stmt *stmt,
            gpointer      data)
{
  GwOrderRow *out = data;

  memset (out, 0, sizeof *out);
  out->seq = sqlite3_column_int64 (stmt, 0);
  copy_text (out->id, sizeof out->id, stmt, 1);
  copy_text (out->status, sizeof out->status, stmt, 2);
  gw_sqlite_copy_blob (out->token_hash, 32, stmt, 3);
  out->buyer_sealed = gw_sqlite_column_bytes (stmt, 4);
  copy_text (out->locale, sizeof out->locale, stmt, 5);
  copy_text (out->currency, sizeof out->currency, stmt, 6);
  out->total = sqlite3_column_int64 (stmt, 7);
  out->card_count = sqlite3_column_int64 (stmt, 8);
  copy_text (out->charge_id, sizeof out->charge_id, stmt, 9);
  out->cards_revealed = sqlite3_column_int (stmt, 10);
  out->created = sqlite3_column_int64 (stmt, 11);
  out->paid_at = sqlite3_column_int64 (stmt, 12);
  out->reopened_at = sqlite3_column_int64 (stmt, 13);
  g_strlcpy (out->read_status, out->status, sizeof out->read_status);
  g_strlcpy (out->read_charge_id, out->charge_id, sizeof out->read_charge_id);
}

static gboolean
t_order_insert (GwTxn       *txn,
                GwOrderRow  *order,
                GError     **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "INSERT INTO orders (id, status, token_hash, buyer_sealed, locale, currency, total,"
    " card_count, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, order->id);
  bind_text (stmt, 2, order->status);
  sqlite3_bind_blob (stmt, 3, order->token_hash, 32, SQLITE_STATIC);
  bind_bytes (stmt, 4, order->buyer_sealed);
  bind_text (stmt, 5, order->locale);
  bind_text (stmt, 6, order->currency);
  sqlite3_bind_int64 (stmt, 7, order->total);
  sqlite3_bind_int64 (stmt, 8, order->card_count);
  sqlite3_bind_int64 (stmt, 9, order->created);
  if (!done (txn, stmt, error))
    return FALSE;
  g_strlcpy (order->read_status, order->status, sizeof order->read_status);
  order->read_charge_id[0] = '\0';
  return TRUE;
}

static gboolean
t_order_get (GwTxn       *txn,
             const char  *id,
             GwOrderRow  *out,
             GError     **error)
{
  return gw_sqlite_get_by_text (txn, "SELECT " ORDER_COLUMNS "WHERE id = ?", id, read_order, out,
                                error);
}

/* The condition makes a second payment of an order (two requests that both
 * read it unpaid) a conflict instead of a second charge. */
static gboolean
t_order_update (GwTxn       *txn,
                GwOrderRow  *order,
                GError     **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "UPDATE orders SET status = ?, charge_id = ?, cards_revealed = ?, paid_at = ?"
    " WHERE id = ? AND status = ? AND COALESCE(charge_id, '') = ?", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, order->status);
  gw_sqlite_bind_optional (stmt, 2, order->charge_id);
  sqlite3_bind_int (stmt, 3, order->cards_revealed);
  gw_sqlite_bind_optional_int (stmt, 4, order->paid_at);
  bind_text (stmt, 5, order->id);
  bind_text (stmt, 6, order->read_status);
  bind_text (stmt, 7, order->read_charge_id);
  if (!gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_CONFLICT,
                             "The order changed since it was read", error))
    return FALSE;
  g_strlcpy (order->read_status, order->status, sizeof order->read_status);
  g_strlcpy (order->read_charge_id, order->charge_id, sizeof order->read_charge_id);
  return TRUE;
}

static gboolean
t_order_set_token (GwTxn         *txn,
                   const char    *id,
                   const guint8   token_hash[32],
                   gint64         reopened_at,
                   GError       **error)
{
  sqlite3_stmt *stmt = prep (txn, "UPDATE orders SET token_hash = ?, reopened_at = ? WHERE id = ?",
                             error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, token_hash, 32, SQLITE_STATIC);
  gw_sqlite_bind_optional_int (stmt, 2, reopened_at);
  bind_text (stmt, 3, id);
  return done (txn, stmt, error);
}

/* Access codes */

static void
read_access_code (sqlite3_stmt *stmt,
                  gpointer      data)
{
  GwOrderAccessCodeRow *out = data;

  memset (out, 0, sizeof *out);
  copy_text (out->order_id, sizeof out->order_id, stmt, 0);
  out->has_code = sqlite3_column_bytes (stmt, 1) == 32;
  gw_sqlite_copy_blob (out->code_hash, 32, stmt, 1);
  out->expires_at = sqlite3_column_int64 (stmt, 2);
  out->attempts = sqlite3_column_int64 (stmt, 3);
  out->window_start = sqlite3_column_int64 (stmt, 4);
  out->sent = sqlite3_column_int64 (stmt, 5);
}

static gboolean
t_access_code_get (GwTxn                 *txn,
                   const char            *order_id,
                   GwOrderAccessCodeRow  *out,
                   GError               **error)
{
  return gw_sqlite_get_by_text (txn,
                                "SELECT order_id, code_hash, expires_at, attempts, window_start,"
                                " sent FROM order_access_codes WHERE order_id = ?",
                                order_id, read_access_code, out, error);
}

/* The counts are the database's: a send or a wrong try adds one to what is
 * there, not to what was read, so parallel requests cannot undercount. */
static gboolean
t_access_code_send (GwTxn         *txn,
                    const char    *order_id,
                    const guint8   code_hash[32],
                    gint64         expires_at,
                    gint64         now,
                    gint64         window,
                    gint64         max_sent,
                    GError       **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "INSERT INTO order_access_codes (order_id, code_hash, expires_at, attempts, window_start,"
    " sent) VALUES (?1, ?2, ?3, 0, ?4, 1) ON CONFLICT (order_id) DO UPDATE SET"
    " code_hash = ?2, expires_at = ?3, attempts = 0,"
    " sent = CASE WHEN ?4 - window_start >= ?5 THEN 1 ELSE sent + 1 END,"
    " window_start = CASE WHEN ?4 - window_start >= ?5 THEN ?4 ELSE window_start END"
    " WHERE ?4 - window_start >= ?5 OR sent < ?6", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, order_id);
  sqlite3_bind_blob (stmt, 2, code_hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, expires_at);
  sqlite3_bind_int64 (stmt, 4, now);
  sqlite3_bind_int64 (stmt, 5, window);
  sqlite3_bind_int64 (stmt, 6, max_sent);
  return gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_CONFLICT,
                               "Another access code was sent since the count was read", error);
}

static gboolean
t_access_code_fail (GwTxn       *txn,
                    const char  *order_id,
                    gint64       max_attempts,
                    GError     **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "UPDATE order_access_codes SET attempts = attempts + 1,"
    " code_hash = CASE WHEN attempts + 1 >= ?2 THEN NULL ELSE code_hash END"
    " WHERE order_id = ?1 AND code_hash IS NOT NULL", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, order_id);
  sqlite3_bind_int64 (stmt, 2, max_attempts);
  return done (txn, stmt, error);
}

static gboolean
t_access_code_use (GwTxn         *txn,
                   const char    *order_id,
                   const guint8   code_hash[32],
                   GError       **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "UPDATE order_access_codes SET code_hash = NULL WHERE order_id = ? AND code_hash = ?", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, order_id);
  sqlite3_bind_blob (stmt, 2, code_hash, 32, SQLITE_STATIC);
  return gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_CONFLICT,
                               "The access code was used since it was read", error);
}

static void
order_row_free (gpointer data)
{
  gw_order_row_clear (data);
  g_free (data);
}

static GPtrArray *
t_orders_list (GwTxn   *txn,
               gint64   before_seq,
               guint    limit,
               GError **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "SELECT " ORDER_COLUMNS "WHERE (?1 = 0 OR seq < ?1) ORDER BY seq DESC LIMIT ?2", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, before_seq);
  sqlite3_bind_int (stmt, 2, limit);
  return gw_sqlite_read_list (txn, stmt, sizeof (GwOrderRow), read_order, order_row_free, error);
}

static gboolean
t_order_item_insert (GwTxn              *txn,
                     const char         *order_id,
                     const GwOrderItem  *item,
                     GError            **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "INSERT INTO order_items (order_id, denomination, quantity) VALUES (?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, order_id);
  sqlite3_bind_int64 (stmt, 2, item->denomination);
  sqlite3_bind_int64 (stmt, 3, item->quantity);
  return done (txn, stmt, error);
}

static void
read_order_item (sqlite3_stmt *stmt,
                 gpointer      data)
{
  GwOrderItem *item = data;

  item->denomination = sqlite3_column_int64 (stmt, 0);
  item->quantity = sqlite3_column_int64 (stmt, 1);
}

static GArray *
t_order_items (GwTxn       *txn,
               const char  *order_id,
               GError     **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "SELECT denomination, quantity FROM order_items WHERE order_id = ? ORDER BY denomination",
    error);

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, order_id);
  return gw_sqlite_read_array (txn, stmt, sizeof (GwOrderItem), read_order_item, NULL, error);
}

static gboolean
t_order_card_insert (GwTxn                 *txn,
                     const char            *order_id,
                     const GwOrderCardRow  *card,
                     GError               **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "INSERT INTO order_cards (card_id, order_id, position, denomination, purpose)"
    " VALUES (?, ?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, card->card_id);
  bind_text (stmt, 2, order_id);
  sqlite3_bind_int64 (stmt, 3, card->position);
  sqlite3_bind_int64 (stmt, 4, card->denomination);
  bind_text (stmt, 5, card->purpose);
  return done (txn, stmt, error);
}

static void
read_order_card (sqlite3_stmt *stmt,
                 gpointer      data)
{
  GwOrderCardRow *card = data;

  copy_text (card->card_id, sizeof card->card_id, stmt, 0);
  card->position = sqlite3_column_int64 (stmt, 1);
  card->denomination = sqlite3_column_int64 (stmt, 2);
  copy_text (card->purpose, sizeof card->purpose, stmt, 3);
  copy_text (card->last4, sizeof card->last4, stmt, 4);
  card->expires_at = sqlite3_column_int64 (stmt, 5);
  copy_text (card->gift_id, sizeof card->gift_id, stmt, 6);
  copy_text (card->gift_status, sizeof card->gift_status, stmt, 7);
}

static GArray *
t_order_cards (GwTxn       *txn,
               const char  *order_id,
               GError     **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "SELECT o.card_id, o.position, o.denomination, o.purpose, c.last4, c.expires_at,"
    " COALESCE(g.id, ''), COALESCE(g.status, '')"
    " FROM order_cards o JOIN cards c ON c.id = o.card_id"
    " LEFT JOIN gifts g ON g.card_id = o.card_id"
    " WHERE o.order_id = ? ORDER BY o.position", error);

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, order_id);
  return gw_sqlite_read_array (txn, stmt, sizeof (GwOrderCardRow), read_order_card, NULL, error);
}

static gboolean
t_order_card_set_purpose (GwTxn       *txn,
                          const char  *card_id,
                          const char  *purpose,
                          GError     **error)
{
  sqlite3_stmt *stmt = prep (txn, "UPDATE order_cards SET purpose = ? WHERE card_id = ?", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, purpose);
  bind_text (stmt, 2, card_id);
  return done (txn, stmt, error);
}

/* Charges */

#define CHARGE_COLUMNS \
  "id, purpose, owner_id, method, amount, currency, status, COALESCE(reference, '')," \
  " COALESCE(decline_code, ''), COALESCE(virtual_bank, ''), COALESCE(virtual_account, '')," \
  " COALESCE(deposit_deadline, 0), created, updated, key_hash, fingerprint," \
  " COALESCE(watch_until, 0), COALESCE(voided_late, 0), COALESCE(watch_next, 0) FROM charges "

static void
read_charge (sqlite3_stmt *stmt,
             gpointer      data)
{
  GwChargeRow *out = data;

  memset (out, 0, sizeof *out);
  copy_text (out->id, sizeof out->id, stmt, 0);
  copy_text (out->purpose, sizeof out->purpose, stmt, 1);
  copy_text (out->owner_id, sizeof out->owner_id, stmt, 2);
  copy_text (out->method, sizeof out->method, stmt, 3);
  out->amount = sqlite3_column_int64 (stmt, 4);
  copy_text (out->currency, sizeof out->currency, stmt, 5);
  copy_text (out->status, sizeof out->status, stmt, 6);
  copy_text (out->reference, sizeof out->reference, stmt, 7);
  copy_text (out->decline_code, sizeof out->decline_code, stmt, 8);
  copy_text (out->virtual_bank, sizeof out->virtual_bank, stmt, 9);
  copy_text (out->virtual_account, sizeof out->virtual_account, stmt, 10);
  out->deposit_deadline = sqlite3_column_int64 (stmt, 11);
  out->created = sqlite3_column_int64 (stmt, 12);
  out->updated = sqlite3_column_int64 (stmt, 13);
  out->has_key = gw_sqlite_copy_blob (out->key_hash, 32, stmt, 14) &&
                 gw_sqlite_copy_blob (out->fingerprint, 32, stmt, 15);
  out->watch_until = sqlite3_column_int64 (stmt, 16);
  out->voided_late = sqlite3_column_int64 (stmt, 17);
  out->watch_next = sqlite3_column_int64 (stmt, 18);
  g_strlcpy (out->read_status, out->status, sizeof out->read_status);
}

static gboolean
t_charge_insert (GwTxn        *txn,
                 GwChargeRow  *charge,
                 GError      **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "INSERT INTO charges (id, purpose, owner_id, method, amount, currency, status, created,"
    " updated, key_hash, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, charge->id);
  bind_text (stmt, 2, charge->purpose);
  bind_text (stmt, 3, charge->owner_id);
  bind_text (stmt, 4, charge->method);
  sqlite3_bind_int64 (stmt, 5, charge->amount);
  bind_text (stmt, 6, charge->currency);
  bind_text (stmt, 7, charge->status);
  sqlite3_bind_int64 (stmt, 8, charge->created);
  sqlite3_bind_int64 (stmt, 9, charge->updated);
  gw_sqlite_bind_hash (stmt, 10, charge->has_key ? charge->key_hash : NULL);
  gw_sqlite_bind_hash (stmt, 11, charge->has_key ? charge->fingerprint : NULL);
  if (!done (txn, stmt, error))
    return FALSE;
  g_strlcpy (charge->read_status, charge->status, sizeof charge->read_status);
  return TRUE;
}

static gboolean
t_charge_by_key (GwTxn         *txn,
                 const guint8   key_hash[32],
                 GwChargeRow   *out,
                 GError       **error)
{
  return gw_sqlite_get_by_hash (txn, "SELECT " CHARGE_COLUMNS
                                "WHERE key_hash = ? ORDER BY rowid DESC LIMIT 1",
                                key_hash, read_charge, out, error);
}

static gboolean
t_charge_get (GwTxn        *txn,
              const char   *id,
              GwChargeRow  *out,
              GError      **error)
{
  return gw_sqlite_get_by_text (txn, "SELECT " CHARGE_COLUMNS "WHERE id = ?", id, read_charge, out,
                                error);
}

/* A compare-and-set on the status the outcome was decided from: two
 * processes learning one bank answer act on it once. */
static gboolean
t_charge_update (GwTxn        *txn,
                 GwChargeRow  *charge,
                 GError      **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "UPDATE charges SET status = ?, reference = ?, decline_code = ?, virtual_bank = ?,"
    " virtual_account = ?, deposit_deadline = ?, updated = ?, watch_until = ?, voided_late = ?,"
    " watch_next = ? WHERE id = ? AND status = ?", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, charge->status);
  gw_sqlite_bind_optional (stmt, 2, charge->reference);
  gw_sqlite_bind_optional (stmt, 3, charge->decline_code);
  gw_sqlite_bind_optional (stmt, 4, charge->virtual_bank);
  gw_sqlite_bind_optional (stmt, 5, charge->virtual_account);
  gw_sqlite_bind_optional_int (stmt, 6, charge->deposit_deadline);
  sqlite3_bind_int64 (stmt, 7, charge->updated);
  gw_sqlite_bind_optional_int (stmt, 8, charge->watch_until);
  gw_sqlite_bind_optional_int (stmt, 9, charge->voided_late);
  gw_sqlite_bind_optional_int (stmt, 10, charge->watch_next);
  bind_text (stmt, 11, charge->id);
  bind_text (stmt, 12, charge->read_status);
  if (!gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_CONFLICT,
                             "The charge changed since it was read", error))
    return FALSE;
  g_strlcpy (charge->read_status, charge->status, sizeof charge->read_status);
  return TRUE;
}

static GPtrArray *
t_charges_open (GwTxn   *txn,
                gint64   before,
                guint    limit,
                GError **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "SELECT id FROM charges WHERE status IN ('processing', 'pending', 'voiding')"
    " AND (status = 'pending' OR updated < ?) ORDER BY updated LIMIT ?", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, before);
  sqlite3_bind_int (stmt, 2, limit);
  return gw_sqlite_read_ids (txn, stmt, error);
}

static GPtrArray *
t_charges_watched (GwTxn   *txn,
                   gint64   now,
                   guint    limit,
                   GError **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "SELECT id FROM charges INDEXED BY charges_watch_next WHERE watch_next IS NOT NULL"
    " AND status = 'failed' AND watch_next <= ? ORDER BY watch_next LIMIT ?", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int (stmt, 2, limit);
  return gw_sqlite_read_ids (txn, stmt, error);
}

/* The rest of GET /v1/admin/charges' query: the cursor as a row value, so
 * that charges_by_created (migration 030) is walked from it, newest first. */
#define CHARGES_PAGE_WHERE \
  "(created, id) < (?1, ?2) AND (?3 IS NULL OR purpose = ?3) AND (?4 IS NULL OR status = ?4)" \
  " ORDER BY created DESC, id DESC LIMIT ?5"

static GPtrArray *
t_charges_page (GwTxn                *txn,
                const GwChargesPage  *page,
                GError              **error)
{
  /* Those voided late are few: their partial index holds only them. */
  sqlite3_stmt *stmt = prep (txn, page->voided_late
    ? "SELECT " CHARGE_COLUMNS "INDEXED BY charges_voided_late WHERE voided_late IS NOT NULL"
      " AND " CHARGES_PAGE_WHERE
    : "SELECT " CHARGE_COLUMNS "INDEXED BY charges_by_created WHERE " CHARGES_PAGE_WHERE,
    error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, page->before_created);
  bind_text (stmt, 2, page->before_id);
  bind_text (stmt, 3, page->purpose);
  bind_text (stmt, 4, page->status);
  sqlite3_bind_int (stmt, 5, page->limit);
  return gw_sqlite_read_list (txn, stmt, sizeof (GwChargeRow), read_charge, g_free, error);
}

/* Gifts */

#define GIFT_COLUMNS \
  "id, card_id, order_id, claim_hash, details_sealed, status, created," \
  " COALESCE(claimed_at, 0) FROM gifts "

static void
read_gift (sqlite3_stmt *stmt,
           gpointer      data)
{
  GwGiftRow *out = data;

  memset (out, 0, sizeof *out);
  copy_text (out->id, sizeof out->id, stmt, 0);
  copy_text (out->card_id, sizeof out->card_id, stmt, 1);
  copy_text (out->order_id, sizeof out->order_id, stmt, 2);
  gw_sqlite_copy_blob (out->claim_hash, 32, stmt, 3);
  out->details_sealed = gw_sqlite_column_bytes (stmt, 4);
  copy_text (out->status, sizeof out->status, stmt, 5);
  out->created = sqlite3_column_int64 (stmt, 6);
  out->claimed_at = sqlite3_column_int64 (stmt, 7);
}

static gboolean
t_gift_insert (GwTxn            *txn,
               const GwGiftRow  *gift,
               GError          **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "INSERT INTO gifts (id, card_id, order_id, claim_hash, details_sealed, status, created)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, gift->id);
  bind_text (stmt, 2, gift->card_id);
  bind_text (stmt, 3, gift->order_id);
  sqlite3_bind_blob (stmt, 4, gift->claim_hash, 32, SQLITE_STATIC);
  bind_bytes (stmt, 5, gift->details_sealed);
  bind_text (stmt, 6, gift->status);
  sqlite3_bind_int64 (stmt, 7, gift->created);
  return done (txn, stmt, error);
}

static gboolean
t_gift_by_claim (GwTxn         *txn,
                 const guint8   claim_hash[32],
                 GwGiftRow     *out,
                 GError       **error)
{
  return gw_sqlite_get_by_hash (txn, "SELECT " GIFT_COLUMNS "WHERE claim_hash = ?",
                                claim_hash, read_gift, out, error);
}

static gboolean
t_gift_by_card (GwTxn       *txn,
                const char  *card_id,
                GwGiftRow   *out,
                GError     **error)
{
  return gw_sqlite_get_by_text (txn, "SELECT " GIFT_COLUMNS "WHERE card_id = ?",
                                card_id, read_gift, out, error);
}

/* The condition makes a second claim change nothing, even one racing the first. */
static gboolean
t_gift_set_claimed (GwTxn       *txn,
                    const char  *id,
                    gint64       claimed_at,
                    GError     **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "UPDATE gifts SET status = 'claimed', claimed_at = ? WHERE id = ? AND status = 'sent'",
    error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, claimed_at);
  bind_text (stmt, 2, id);
  return gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_DUPLICATE, "The gift was claimed already",
                               error);
}

/* Recharges */

#define RECHARGE_COLUMNS \
  "id, card_id, amount, currency, status, COALESCE(decline_code, ''), charge_id, request_key," \
  " contact_sealed, COALESCE(balance_after, 0), COALESCE(expires_at, 0), created," \
  " request_fingerprint FROM recharges "

static void
read_recharge (sqlite3_stmt *stmt,
               gpointer      data)
{
  GwRechargeRow *out = data;

  memset (out, 0, sizeof *out);
  copy_text (out->id, sizeof out->id, stmt, 0);
  copy_text (out->card_id, sizeof out->card_id, stmt, 1);
  out->amount = sqlite3_column_int64 (stmt, 2);
  copy_text (out->currency, sizeof out->currency, stmt, 3);
  copy_text (out->status, sizeof out->status, stmt, 4);
  copy_text (out->decline_code, sizeof out->decline_code, stmt, 5);
  copy_text (out->charge_id, sizeof out->charge_id, stmt, 6);
  out->has_request_key = gw_sqlite_copy_blob (out->request_key, 32, stmt, 7);
  out->contact_sealed = gw_sqlite_column_bytes (stmt, 8);
  out->balance_after = sqlite3_column_int64 (stmt, 9);
  out->expires_at = sqlite3_column_int64 (stmt, 10);
  out->created = sqlite3_column_int64 (stmt, 11);
  out->has_fingerprint = gw_sqlite_copy_blob (out->fingerprint, 32, stmt, 12);
  g_strlcpy (out->read_status, out->status, sizeof out->read_status);
}

static gboolean
t_recharge_insert (GwTxn          *txn,
                   GwRechargeRow  *recharge,
                   GError        **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "INSERT INTO recharges (id, card_id, amount, currency, status, charge_id, request_key,"
    " contact_sealed, created, request_fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, recharge->id);
  bind_text (stmt, 2, recharge->card_id);
  sqlite3_bind_int64 (stmt, 3, recharge->amount);
  bind_text (stmt, 4, recharge->currency);
  bind_text (stmt, 5, recharge->status);
  bind_text (stmt, 6, recharge->charge_id);
  gw_sqlite_bind_hash (stmt, 7, recharge->has_request_key ? recharge->request_key : NULL);
  bind_bytes (stmt, 8, recharge->contact_sealed);
  sqlite3_bind_int64 (stmt, 9, recharge->created);
  gw_sqlite_bind_hash (stmt, 10, recharge->has_fingerprint ? recharge->fingerprint : NULL);
  if (!done (txn, stmt, error))
    return FALSE;
  g_strlcpy (recharge->read_status, recharge->status, sizeof recharge->read_status);
  return TRUE;
}

static gboolean
t_recharge_get (GwTxn          *txn,
                const char     *id,
                GwRechargeRow  *out,
                GError        **error)
{
  return gw_sqlite_get_by_text (txn, "SELECT " RECHARGE_COLUMNS "WHERE id = ?",
                                id, read_recharge, out, error);
}

static gboolean
t_recharge_by_request (GwTxn          *txn,
                       const guint8    request_key[32],
                       GwRechargeRow  *out,
                       GError        **error)
{
  return gw_sqlite_get_by_hash (txn, "SELECT " RECHARGE_COLUMNS "WHERE request_key = ?",
                                request_key, read_recharge, out, error);
}

/* Succeeded only on a card still open: the card's state is read in the
 * statement, after the credit, not from the card the caller read before. */
static gboolean
t_recharge_update (GwTxn          *txn,
                   GwRechargeRow  *recharge,
                   GError        **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "UPDATE recharges SET status = ?1, decline_code = ?2, balance_after = ?3, expires_at = ?4"
    " WHERE id = ?5 AND status = ?6 AND (?1 <> 'succeeded' OR"
    " (SELECT state FROM cards WHERE id = recharges.card_id) <> 'closed')", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, recharge->status);
  gw_sqlite_bind_optional (stmt, 2, recharge->decline_code);
  gw_sqlite_bind_optional_int (stmt, 3, recharge->balance_after);
  gw_sqlite_bind_optional_int (stmt, 4, recharge->expires_at);
  bind_text (stmt, 5, recharge->id);
  bind_text (stmt, 6, recharge->read_status);
  if (!gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_CONFLICT,
                             "The recharge or its card changed since it was read", error))
    return FALSE;
  g_strlcpy (recharge->read_status, recharge->status, sizeof recharge->read_status);
  return TRUE;
}

static gboolean
t_recharge_release_key (GwTxn       *txn,
                        const char  *id,
                        GError     **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "UPDATE recharges SET request_key = NULL, request_fingerprint = NULL WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, id);
  return done (txn, stmt, error);
}

/* Payouts */

#define PAYOUT_COLUMNS \
  "id, card_id, amount, currency, status, bank_code, account_last4, contact_sealed," \
  " COALESCE(decline_code, ''), COALESCE(reference, ''), created, updated, request_key," \
  " request_fingerprint FROM payouts "

static void
read_payout (sqlite3_stmt *stmt,
             gpointer      data)
{
  GwPayoutRow *out = data;

  memset (out, 0, sizeof *out);
  copy_text (out->id, sizeof out->id, stmt, 0);
  copy_text (out->card_id, sizeof out->card_id, stmt, 1);
  out->amount = sqlite3_column_int64 (stmt, 2);
  copy_text (out->currency, sizeof out->currency, stmt, 3);
  copy_text (out->status, sizeof out->status, stmt, 4);
  copy_text (out->bank_code, sizeof out->bank_code, stmt, 5);
  copy_text (out->account_last4, sizeof out->account_last4, stmt, 6);
  out->contact_sealed = gw_sqlite_column_bytes (stmt, 7);
  copy_text (out->decline_code, sizeof out->decline_code, stmt, 8);
  copy_text (out->reference, sizeof out->reference, stmt, 9);
  out->created = sqlite3_column_int64 (stmt, 10);
  out->updated = sqlite3_column_int64 (stmt, 11);
  out->has_request_key = gw_sqlite_copy_blob (out->request_key, 32, stmt, 12) &&
                         gw_sqlite_copy_blob (out->fingerprint, 32, stmt, 13);
  g_strlcpy (out->read_status, out->status, sizeof out->read_status);
}

static gboolean
t_payout_insert (GwTxn        *txn,
                 GwPayoutRow  *payout,
                 GError      **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "INSERT INTO payouts (id, card_id, amount, currency, status, bank_code, account_last4,"
    " contact_sealed, created, updated, request_key, request_fingerprint)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, payout->id);
  bind_text (stmt, 2, payout->card_id);
  sqlite3_bind_int64 (stmt, 3, payout->amount);
  bind_text (stmt, 4, payout->currency);
  bind_text (stmt, 5, payout->status);
  bind_text (stmt, 6, payout->bank_code);
  bind_text (stmt, 7, payout->account_last4);
  bind_bytes (stmt, 8, payout->contact_sealed);
  sqlite3_bind_int64 (stmt, 9, payout->created);
  sqlite3_bind_int64 (stmt, 10, payout->updated);
  gw_sqlite_bind_hash (stmt, 11, payout->has_request_key ? payout->request_key : NULL);
  gw_sqlite_bind_hash (stmt, 12, payout->has_request_key ? payout->fingerprint : NULL);
  if (!done (txn, stmt, error))
    return FALSE;
  g_strlcpy (payout->read_status, payout->status, sizeof payout->read_status);
  return TRUE;
}

static gboolean
t_payout_get (GwTxn        *txn,
              const char   *id,
              GwPayoutRow  *out,
              GError      **error)
{
  return gw_sqlite_get_by_text (txn, "SELECT " PAYOUT_COLUMNS "WHERE id = ?", id, read_payout, out,
                                error);
}

static gboolean
t_payout_by_request (GwTxn         *txn,
                     const guint8   request_key[32],
                     GwPayoutRow   *out,
                     GError       **error)
{
  return gw_sqlite_get_by_hash (txn, "SELECT " PAYOUT_COLUMNS "WHERE request_key = ?",
                                request_key, read_payout, out, error);
}

static gboolean
t_payout_release_key (GwTxn       *txn,
                      const char  *id,
                      GError     **error)
{
  sqlite3_stmt *stmt = prep (txn, "UPDATE payouts SET request_key = NULL WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, id);
  return done (txn, stmt, error);
}

static gboolean
t_payout_open_for_card (GwTxn        *txn,
                        const char   *card_id,
                        GwPayoutRow  *out,
                        GError      **error)
{
  return gw_sqlite_get_by_text (txn,
                                "SELECT " PAYOUT_COLUMNS "WHERE card_id = ? AND status = 'pending'",
                                card_id, read_payout, out, error);
}

static gboolean
t_payout_paid_for_card (GwTxn        *txn,
                        const char   *card_id,
                        GwPayoutRow  *out,
                        GError      **error)
{
  return gw_sqlite_get_by_text (txn,
                                "SELECT " PAYOUT_COLUMNS "WHERE card_id = ? AND status = 'succeeded' "
                                "ORDER BY created DESC, id DESC LIMIT 1",
                                card_id, read_payout, out, error);
}

/* A payout fails, and its money goes back to the card, once. */
static gboolean
t_payout_update (GwTxn        *txn,
                 GwPayoutRow  *payout,
                 GError      **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "UPDATE payouts SET status = ?, decline_code = ?, reference = ?, updated = ?"
    " WHERE id = ? AND status = ?", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, payout->status);
  gw_sqlite_bind_optional (stmt, 2, payout->decline_code);
  gw_sqlite_bind_optional (stmt, 3, payout->reference);
  sqlite3_bind_int64 (stmt, 4, payout->updated);
  bind_text (stmt, 5, payout->id);
  bind_text (stmt, 6, payout->read_status);
  if (!gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_CONFLICT,
                             "The payout changed since it was read", error))
    return FALSE;
  g_strlcpy (payout->read_status, payout->status, sizeof payout->read_status);
  return TRUE;
}

static GPtrArray *
t_payouts_open (GwTxn   *txn,
                gint64   before,
                guint    limit,
                GError **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "SELECT id FROM payouts WHERE status = 'pending' AND updated < ? ORDER BY updated LIMIT ?",
    error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, before);
  sqlite3_bind_int (stmt, 2, limit);
  return gw_sqlite_read_ids (txn, stmt, error);
}

/* Cards and merchants of the core */

static GBytes *
t_card_number_sealed (GwTxn       *txn,
                      const char  *card_id,
                      GError     **error)
{
  sqlite3_stmt *stmt = prep (txn, "SELECT number_sealed FROM cards WHERE id = ?", error);
  GBytes *sealed = NULL;

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, card_id);
  if (row (txn, stmt, error))
    sealed = gw_sqlite_column_bytes (stmt, 0);
  else if (error == NULL || *error == NULL)
    g_set_error (error, GW_STORE_ERROR, GW_STORE_ERROR_NOT_FOUND, "No card %s", card_id);
  sqlite3_reset (stmt);
  return sealed;
}

static gboolean
update_card (GwTxn         *txn,
             sqlite3_stmt  *stmt,
             GError       **error)
{
  return gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_NOT_FOUND, "No such card", error);
}

static gboolean
t_card_set_state (GwTxn       *txn,
                  const char  *card_id,
                  const char  *from,
                  const char  *state,
                  GError     **error)
{
  sqlite3_stmt *stmt = prep (txn, "UPDATE cards SET state = ? WHERE id = ? AND state = ?", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, state);
  bind_text (stmt, 2, card_id);
  bind_text (stmt, 3, from);
  return gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_CONFLICT,
                               "The card changed since it was read", error);
}

/* The balance is the one after the payout's debit, read in the statement:
 * a credit that came after the caller read the balance leaves it above 0. */
static gboolean
t_card_close_empty (GwTxn       *txn,
                    const char  *card_id,
                    const char  *from,
                    GError     **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "UPDATE cards SET state = 'closed' WHERE id = ? AND state = ?"
    " AND (SELECT balance FROM accounts WHERE id = cards.account_id) = 0", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, card_id);
  bind_text (stmt, 2, from);
  return gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_CONFLICT,
                               "The card changed since it was read", error);
}

static gboolean
t_card_set_expiry (GwTxn       *txn,
                   const char  *card_id,
                   gint64       expires_at,
                   GError     **error)
{
  sqlite3_stmt *stmt = prep (txn, "UPDATE cards SET expires_at = ? WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, expires_at);
  bind_text (stmt, 2, card_id);
  return update_card (txn, stmt, error);
}

static gboolean
t_batch_promote (GwTxn       *txn,
                 const char  *batch_id,
                 gint64       expires_at,
                 GError     **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "UPDATE cards SET promotional = 1, expires_at = ? WHERE batch_id = ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, expires_at);
  bind_text (stmt, 2, batch_id);
  return done (txn, stmt, error);
}

const GwOrdersStoreFuncs gw_orders_store_sqlite_funcs = {
  .order_insert = t_order_insert,
  .order_get = t_order_get,
  .order_update = t_order_update,
  .order_set_token = t_order_set_token,
  .access_code_get = t_access_code_get,
  .access_code_send = t_access_code_send,
  .access_code_fail = t_access_code_fail,
  .access_code_use = t_access_code_use,
  .orders_list = t_orders_list,
  .order_item_insert = t_order_item_insert,
  .order_items = t_order_items,
  .order_card_insert = t_order_card_insert,
  .order_cards = t_order_cards,
  .order_card_set_purpose = t_order_card_set_purpose,
  .charge_insert = t_charge_insert,
  .charge_get = t_charge_get,
  .charge_by_key = t_charge_by_key,
  .charge_update = t_charge_update,
  .charges_open = t_charges_open,
  .charges_watched = t_charges_watched,
  .charges_page = t_charges_page,
  .gift_insert = t_gift_insert,
  .gift_by_claim = t_gift_by_claim,
  .gift_by_card = t_gift_by_card,
  .gift_set_claimed = t_gift_set_claimed,
  .recharge_insert = t_recharge_insert,
  .recharge_get = t_recharge_get,
  .recharge_by_request = t_recharge_by_request,
  .recharge_update = t_recharge_update,
  .recharge_release_key = t_recharge_release_key,
  .payout_insert = t_payout_insert,
  .payout_get = t_payout_get,
  .payout_by_request = t_payout_by_request,
  .payout_release_key = t_payout_release_key,
  .payout_open_for_card = t_payout_open_for_card,
  .payout_paid_for_card = t_payout_paid_for_card,
  .payout_update = t_payout_update,
  .payouts_open = t_payouts_open,
  .card_number_sealed = t_card_number_sealed,
  .card_set_state = t_card_set_state,
  .card_close_empty = t_card_close_empty,
  .card_set_expiry = t_card_set_expiry,
  .batch_promote = t_batch_promote,
  .merchant_name = gw_sqlite_merchant_name,
};
