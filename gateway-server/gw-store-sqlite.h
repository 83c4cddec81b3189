/* gw-store-sqlite.h: the embedded SQLite store
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-store.h"
#include "onepin-crypto.h"

G_BEGIN_DECLS

/* Called on the writer thread after every commit. */
typedef void (*GwCommitObserver) (guint    batch_size,
                                  gdouble  seconds,
                                  gpointer user_data);

#define GW_TYPE_STORE_SQLITE (gw_store_sqlite_get_type ())
G_DECLARE_FINAL_TYPE (GwStoreSqlite, gw_store_sqlite, GW, STORE_SQLITE, GObject)

/* Opens (creating if needed) the database at @path, applies the migrations,
 * and starts the writer thread. Completions are dispatched to the
 * thread-default main context of the caller. @seal_key seals secret-bearing
 * idempotency bodies; @idempotency_key (GwKeys.idempotency) is what the
 * migrations hash the Idempotency-Key values of older rows with, and
 * @lookup_key (GwKeys.lookup) the funding sources' fingerprints. */
GwStoreSqlite *gw_store_sqlite_new                 (const char       *path,
                                                    OnepinKey        *seal_key,
                                                    OnepinKey        *idempotency_key,
                                                    OnepinKey        *lookup_key,
                                                    GError          **error);
void           gw_store_sqlite_set_commit_observer (GwStoreSqlite    *self,
                                                    GwCommitObserver  observer,
                                                    gpointer          user_data);

G_END_DECLS
