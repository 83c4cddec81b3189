/* gw-network-store-sqlite.h: the SQLite backend's card network table
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-network-store.h"

G_BEGIN_DECLS

extern const GwNetworkStoreFuncs gw_network_store_sqlite;

G_END_DECLS
