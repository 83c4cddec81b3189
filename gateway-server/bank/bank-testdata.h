/* bank-testdata.h: the sandbox's documented test cards and accounts
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Seeded once, at the first start on a data dir. The same table is in
 * gateway-server/bank/README.md; change both together.
 */
#pragma once

#include "bank-keys.h"
#include "bank-store.h"

G_BEGIN_DECLS

/* Refuses a bank.key that is not the one bank.db was written with; on a
 * database that has no record of its key yet, records this one. Before
 * bank_testdata_seed (). */
gboolean  bank_testdata_check_key (BankStore       *store,
                                   const BankKeys  *keys,
                                   GError         **error);

/* Writes the test cards and accounts unless an earlier start did. */
gboolean  bank_testdata_seed   (BankStore       *store,
                                const BankKeys  *keys,
                                GError         **error);

G_END_DECLS
