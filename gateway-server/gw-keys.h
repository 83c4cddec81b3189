/* gw-keys.h: the gateway's keys, derived from one 0600 key file
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "onepin-crypto.h"

G_BEGIN_DECLS

typedef struct
{
  OnepinKey *lookup;       /* card number -> lookup hash */
  OnepinKey *password;     /* card password MAC */
  OnepinKey *apikey;       /* API keys and the admin token -> stored hash */
  OnepinKey *seal;         /* AES-256-GCM */
  OnepinKey *ids;          /* AES-256, one block: statement line ids */
  OnepinKey *idempotency;  /* Idempotency-Key values -> stored hash */
} GwKeys;

/* Loads the master key from @path (creating it, mode 0600, on first start)
 * and derives one key per purpose, so no key serves two. */
GwKeys   *gw_keys_load           (const char  *path,
                                  GError     **error);
void      gw_keys_free           (GwKeys      *keys);
/* The hash an Idempotency-Key is stored and looked up by, under @key
 * (GwKeys.idempotency): 8 bytes of the HMAC-SHA256 of @scope, a 0x01 and
 * @idempotency_key without its last three characters, then 24 of the
 * HMAC-SHA256 of @scope, a NUL and the whole key (so that keys made in
 * sequence stay side by side in the index; gw-keys.c). Merchants' keys hold
 * order numbers and customers' details, and the database must not show
 * them. */
void      gw_keys_idempotency_hash (OnepinKey    *key,
                                    const char   *scope,
                                    const char   *idempotency_key,
                                    guint8        out[32]);
/* What a recharge or a balance refund keeps of its request's key: the
 * HMAC under the same key of a NUL, "request", a NUL and @digest, the
 * SHA-256 these rows kept before migration 018 (so that those convert). */
void      gw_keys_request_key    (OnepinKey    *key,
                                  const guint8  digest[32],
                                  guint8        out[32]);
/* Reads DIR/admin.token, creating it (mode 0600) with a fresh token. */
char     *gw_admin_token_load    (const char  *data_dir,
                                  GError     **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwKeys, gw_keys_free)

G_END_DECLS
