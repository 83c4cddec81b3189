/* gw-wallet-store-sqlite.h: the SQLite backend's wallet table
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-wallet-store.h"

G_BEGIN_DECLS

extern const GwWalletStoreFuncs gw_wallet_store_sqlite;

G_END_DECLS
