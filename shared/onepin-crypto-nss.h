/* onepin-crypto-nss.h: OnepinKey over a key NSS already holds
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For callers that keep their key in an NSS token of their own (the wallet's
 * key database) and want onepin_key_seal/open over it. Separate from
 * onepin-crypto.h so that only they see NSS types.
 */
#pragma once

#include <pk11pub.h>

#include "onepin-crypto.h"

G_BEGIN_DECLS

/* Wraps a 256-bit AES key object (session or token); takes its own
 * reference, so the caller may free @sym afterwards. */
OnepinKey  *onepin_key_new_aes_from_nss    (PK11SymKey   *sym,
                                            GError      **error);

G_END_DECLS
