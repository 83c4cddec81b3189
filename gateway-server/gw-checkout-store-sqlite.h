/* gw-checkout-store-sqlite.h: the SQLite backend's checkout table
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-checkout-store.h"

G_BEGIN_DECLS

extern const GwCheckoutStoreFuncs gw_checkout_store_sqlite;

G_END_DECLS
