/* gw-orders-store-sqlite.h: the SQLite implementation of gw-orders-store.h
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-orders-store.h"

G_BEGIN_DECLS

extern const GwOrdersStoreFuncs gw_orders_store_sqlite_funcs;

G_END_DECLS
