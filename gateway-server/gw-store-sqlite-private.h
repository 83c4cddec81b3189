/* gw-store-sqlite-private.h: what a module's own SQLite primitives
 * (gw-*-store-sqlite.c) use of the SQLite store
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A module that keeps tables of its own declares its primitives as a table
 * of functions in its gw-*-store.h, implements them in gw-*-store-sqlite.c
 * with the helpers below, and adds one line to the extensions[] table in
 * gw-store-sqlite.c. Its logic then reaches them through
 * gw_txn_extension (), and never sees SQL.
 */
#pragma once

#include <sqlite3.h>

#include "gw-store-sqlite.h"

G_BEGIN_DECLS

/* Prepared once per connection and cached by the address of @sql, which
 * must be a string literal. The statement comes back reset, with no bindings. */
sqlite3_stmt *gw_sqlite_prepare    (GwTxn         *txn,
                                    const char    *sql,
                                    GError       **error);
/* Runs a statement that returns no rows, then resets it. Unique-key
 * violations come back as GW_STORE_ERROR_DUPLICATE. */
gboolean      gw_sqlite_step_done  (GwTxn         *txn,
                                    sqlite3_stmt  *stmt,
                                    GError       **error);
/* Runs an UPDATE meant to change exactly one row, whose WHERE also checks
 * what must not have changed: no row changed is GW_STORE_ERROR_NOT_FOUND. */
gboolean      gw_sqlite_update_one (GwTxn         *txn,
                                    sqlite3_stmt  *stmt,
                                    GError       **error);
/* Steps once: TRUE with a row; FALSE at the end, or on error with @error set.
 * The caller resets the statement when it is done with the rows. */
gboolean      gw_sqlite_step_row   (GwTxn         *txn,
                                    sqlite3_stmt  *stmt,
                                    GError       **error);
/* Bindings keep pointers (SQLITE_STATIC): keep the data alive until the
 * step. NULL binds SQL NULL. */
void          gw_sqlite_bind_text  (sqlite3_stmt  *stmt,
                                    int            idx,
                                    const char    *text);
void          gw_sqlite_bind_bytes (sqlite3_stmt  *stmt,
                                    int            idx,
                                    GBytes        *bytes);
void          gw_sqlite_copy_text  (char          *dest,
                                    gsize          size,
                                    sqlite3_stmt  *stmt,
                                    int            col);

/* Shared helpers of the modules' stores, for what every one of them did
 * by hand. */

/* Reads the current row of @stmt into @out. */
typedef void (*GwSqliteReadFunc) (sqlite3_stmt *stmt,
                                  gpointer      out);

/* Binds a 32-byte hash, or SQL NULL for a NULL @hash. */
void          gw_sqlite_bind_hash         (sqlite3_stmt  *stmt,
                                           int            idx,
                                           const guint8  *hash);
/* Binds @text, or SQL NULL when it is NULL or empty. */
void          gw_sqlite_bind_optional     (sqlite3_stmt  *stmt,
                                           int            idx,
                                           const char    *text);
/* Binds @value, or SQL NULL when it is 0. */
void          gw_sqlite_bind_optional_int (sqlite3_stmt  *stmt,
                                           int            idx,
                                           gint64         value);
/* A copy of a text column; NULL for SQL NULL. */
char         *gw_sqlite_column_strdup     (sqlite3_stmt  *stmt,
                                           int            col);
/* A blob column (a sealed one, say) as bytes; NULL for SQL NULL. */
GBytes       *gw_sqlite_column_bytes      (sqlite3_stmt  *stmt,
                                           int            col);
/* Copies a blob of exactly @size bytes into @dest and returns TRUE;
 * anything else leaves @dest zeroed and returns FALSE. */
gboolean      gw_sqlite_copy_blob         (guint8        *dest,
                                           gsize          size,
                                           sqlite3_stmt  *stmt,
                                           int            col);

/* Runs a statement that returns no rows, then resets it: how many rows it
 * changed, or -1 on error (a NULL @stmt, a failed prepare, is one). */
gint64        gw_sqlite_step_changes      (GwTxn         *txn,
                                           sqlite3_stmt  *stmt,
                                           GError       **error);
/* Runs an UPDATE meant to change exactly one row: no row changed fails with
 * @code and @message. */
gboolean      gw_sqlite_change_one        (GwTxn         *txn,
                                           sqlite3_stmt  *stmt,
                                           GwStoreError   code,
                                           const char    *message,
                                           GError       **error);

/* Steps @stmt once and reads a row into @out with @read (NULL to ask only
 * whether there is one), then resets it. FALSE with no row, or on error
 * with @error set; a NULL @stmt, a failed prepare, is FALSE too. */
gboolean      gw_sqlite_read_one          (GwTxn            *txn,
                                           sqlite3_stmt     *stmt,
                                           GwSqliteReadFunc  read,
                                           gpointer          out,
                                           GError          **error);
/* One row by a text key, the only parameter of @sql (a string literal). */
gboolean      gw_sqlite_get_by_text       (GwTxn            *txn,
                                           const char       *sql,
                                           const char       *key,
                                           GwSqliteReadFunc  read,
                                           gpointer          out,
                                           GError          **error);
/* One row by a 32-byte hash, the only parameter of @sql. */
gboolean      gw_sqlite_get_by_hash       (GwTxn            *txn,
                                           const char       *sql,
                                           const guint8      key[32],
                                           GwSqliteReadFunc  read,
                                           gpointer          out,
                                           GError          **error);
/* Column 0 of the first row as an integer: 0 with no row or on error. */
gint64        gw_sqlite_read_int          (GwTxn            *txn,
                                           sqlite3_stmt     *stmt,
                                           GError          **error);
/* Every row, each read by @read into a zeroed element of @size bytes
 * (cleared with @clear, if not NULL); NULL on error. */
GArray       *gw_sqlite_read_array        (GwTxn            *txn,
                                           sqlite3_stmt     *stmt,
                                           guint             size,
                                           GwSqliteReadFunc  read,
                                           GDestroyNotify    clear,
                                           GError          **error);
/* Every row, each read by @read into a new zeroed block of @size bytes
 * (freed with @free_func); NULL on error. */
GPtrArray    *gw_sqlite_read_list         (GwTxn            *txn,
                                           sqlite3_stmt     *stmt,
                                           gsize             size,
                                           GwSqliteReadFunc  read,
                                           GDestroyNotify    free_func,
                                           GError          **error);
/* Column 0 of every row, as strings (ids, most often); NULL on error. */
GPtrArray    *gw_sqlite_read_ids          (GwTxn            *txn,
                                           sqlite3_stmt     *stmt,
                                           GError          **error);

/* GwSqliteReadFuncs for the first column: into a gint64, into a new string
 * (a char *), into an id (a char[40]) */
void          gw_sqlite_row_int           (sqlite3_stmt     *stmt,
                                           gpointer          out);
void          gw_sqlite_row_strdup        (sqlite3_stmt     *stmt,
                                           gpointer          out);
void          gw_sqlite_row_id            (sqlite3_stmt     *stmt,
                                           gpointer          out);

/* A merchant's name, from the core's table; NULL without one. */
char         *gw_sqlite_merchant_name     (GwTxn            *txn,
                                           const char       *merchant_id,
                                           GError          **error);

/* The name of the VFS every connection of the store opens with: the default
 * one, with each commit's WAL frames written in one piece
 * (gw-store-sqlite-vfs.c). Registers it the first time; call it only after
 * sqlite3_config (). */
const char   *gw_sqlite_vfs        (void);

/* Checks @lookup_key and @seal_key against the database before anything
 * is written: GW_STORE_ERROR_WRONG_KEY if they are not the ones it was
 * written with (gw-store-sqlite-keycheck.c). */
gboolean      gw_sqlite_key_check       (sqlite3       *db,
                                         OnepinKey     *lookup_key,
                                         OnepinKey     *seal_key,
                                         GError       **error);
/* The value migration 023 records, through gw_key_check_value (). */
void          gw_sqlite_key_check_value (OnepinKey     *lookup_key,
                                         guint8         out[32]);

/* For tests: the WAL length that asks for a checkpoint (16,000 frames
 * otherwise); the commits so far, and those after which the WAL was twice
 * that long; the checkpoint rounds done that the writer asked for, and the
 * restart rounds (those that hold the writer off) tried. */
void          gw_store_sqlite_set_checkpoint_frames (GwStoreSqlite *self,
                                                     int            frames);
void          gw_store_sqlite_wal_commits           (GwStoreSqlite *self,
                                                     int           *commits,
                                                     int           *long_wal);
void          gw_store_sqlite_checkpoint_rounds     (GwStoreSqlite *self,
                                                     int           *asked,
                                                     int           *restarts);

/* Puts the page cache of gw-store-sqlite-pcache.c in front of SQLite's
 * own, for every connection of the process. Call it before SQLite is
 * initialised; FALSE if it was too late. */
gboolean      gw_sqlite_pcache_install (void);

/* How many truncations of a page cache were passed on to SQLite's own
 * cache, how many had nothing to remove, and how many pages were moved to
 * the locking page's number (for tests). */
void          gw_sqlite_pcache_counts  (guint *passed,
                                        guint *skipped,
                                        guint *parked);

G_END_DECLS
