/* gw-store-sqlite-keycheck.c: the database knows its key file
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every card number in the database is sealed, and every password checked,
 * with keys derived from secret.key, which is not in the database. Started
 * with another key file (a restore that missed it, a wrong path in the
 * config), the gateway would look up no card, refuse every password, count
 * those refusals towards lockouts, and let migrations that re-hash sealed
 * data keep the old hashes. So before anything is written, the key is
 * checked against the database:
 *
 * - key_check holds HMAC(lookup key, "onepin key check v1"): equal in
 *   constant time, or the start fails;
 * - a database from before that table (or before any migration) is checked
 *   by opening one card's sealed number with the seal key; AES-GCM fails on
 *   any other key. With no card there is nothing the key could have sealed.
 *
 * The value is written after the migrations, in their transaction's wake,
 * and only when it is missing. It tells nothing of the key: it is one MAC of
 * a public text.
 */
#include "gw-store-sqlite-private.h"

#include <string.h>

#define CHECK_TEXT "onepin key check v1"

static gboolean
wrong_key (GError **error)
{
  g_set_error (error, GW_STORE_ERROR, GW_STORE_ERROR_WRONG_KEY,
               "The key file is not the one this database was written with: restore the "
               "database's own secret.key (no card number or password in it can be used "
               "without it)");
  return FALSE;
}

static gboolean
table_exists (sqlite3    *db,
              const char *name)
{
  sqlite3_stmt *stmt = NULL;
  gboolean found = FALSE;

  if (sqlite3_prepare_v2 (db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                          -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
      found = sqlite3_step (stmt) == SQLITE_ROW;
    }
  sqlite3_finalize (stmt);
  return found;
}

/* Runs @sql, which selects at most one row of (blob[, text]); calls @func
 * on it. No row: TRUE without a call. */
static gboolean
select_one (sqlite3     *db,
            const char  *sql,
            gboolean   (*func) (sqlite3_stmt *, OnepinKey *, GError **),
            OnepinKey   *key,
            GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok = TRUE;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    ok = func (stmt, key, error);
  else if (rc != SQLITE_DONE)
    {
      g_set_error (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED, "sqlite: %s",
                   sqlite3_errmsg (db));
      ok = FALSE;
    }
  sqlite3_finalize (stmt);
  return ok;
}

static void
check_value (OnepinKey *lookup_key,
             guint8     out[32])
{
  onepin_key_hmac (lookup_key, CHECK_TEXT, strlen (CHECK_TEXT), out);
}

static gboolean
compare_check (sqlite3_stmt  *stmt,
               OnepinKey     *lookup_key,
               GError       **error)
{
  guint8 expected[32];
  gboolean same;

  check_value (lookup_key, expected);
  same = sqlite3_column_bytes (stmt, 0) == sizeof expected &&
         onepin_crypto_equal (sqlite3_column_blob (stmt, 0), expected, sizeof expected);
  return same || wrong_key (error);
}

/* A card's number is sealed with its id as associated data (gw-ledger.c). */
static gboolean
open_card (sqlite3_stmt  *stmt,
           OnepinKey     *seal_key,
           GError       **error)
{
  const char *id = (const char *) sqlite3_column_text (stmt, 1);
  g_autoptr(GBytes) number = NULL;

  number = onepin_key_open (seal_key, sqlite3_column_blob (stmt, 0),
                            sqlite3_column_bytes (stmt, 0), id, id ? strlen (id) : 0, NULL);
  if (number == NULL)
    return wrong_key (error);
  /* the only reference: nobody else reads these bytes */
  explicit_bzero ((gpointer) g_bytes_get_data (number, NULL), g_bytes_get_size (number));
  return TRUE;
}

gboolean
gw_sqlite_key_check (sqlite3    *db,
                     OnepinKey  *lookup_key,
                     OnepinKey  *seal_key,
                     GError    **error)
{
  if (table_exists (db, "key_check"))
    {
      gboolean recorded = FALSE;
      sqlite3_stmt *stmt = NULL;

      if (sqlite3_prepare_v2 (db, "SELECT 1 FROM key_check", -1, &stmt, NULL) == SQLITE_OK)
        recorded = sqlite3_step (stmt) == SQLITE_ROW;
      sqlite3_finalize (stmt);
      if (recorded)
        return select_one (db, "SELECT mac FROM key_check WHERE id = 1", compare_check,
                           lookup_key, error);
    }
  if (!table_exists (db, "cards"))
    return TRUE;
  return select_one (db, "SELECT number_sealed, id FROM cards ORDER BY rowid LIMIT 1", open_card,
                     seal_key, error);
}

gboolean
gw_sqlite_key_record (sqlite3    *db,
                      OnepinKey  *lookup_key,
                      GError    **error)
{
  sqlite3_stmt *stmt = NULL;
  guint8 value[32];
  int rc;

  check_value (lookup_key, value);
  rc = sqlite3_prepare_v2 (db, "INSERT OR IGNORE INTO key_check (id, mac) VALUES (1, ?)", -1,
                           &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_blob (stmt, 1, value, sizeof value, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      g_set_error (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED, "sqlite: %s",
                   sqlite3_errmsg (db));
      return FALSE;
    }
  return TRUE;
}
