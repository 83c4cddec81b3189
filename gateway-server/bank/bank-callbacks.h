/* bank-callbacks.h: delivery of signed deposit callbacks, with retries
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A callback is a row written in the same transaction as the deposit it
 * reports, so it survives a restart. The deliverer POSTs it with an
 * Onepin-Bank-Signature header (see onepin-signature.h), signed afresh at
 * each attempt, until the receiver answers 2xx: the first retry after 1 s,
 * then twice as long each time, at most 60 s apart.
 */
#pragma once

#include "bank-store.h"
#include "onepin-crypto.h"

G_BEGIN_DECLS

typedef struct _BankCallbacks BankCallbacks;

BankCallbacks *bank_callbacks_new    (BankStore      *store,
                                      OnepinKey      *key);
/* Looks for due callbacks now (after a commit that added one). */
void           bank_callbacks_kick   (BankCallbacks  *self);
void           bank_callbacks_free   (BankCallbacks  *self);

G_END_DECLS
