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

/* The name of the VFS every connection of the store opens with: the default
 * one, with each commit's WAL frames written in one piece
 * (gw-store-sqlite-vfs.c). Registers it the first time; call it only after
 * sqlite3_config (). */
const char   *gw_sqlite_vfs        (void);

G_END_DECLS
