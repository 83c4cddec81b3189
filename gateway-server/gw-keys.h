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
} GwKeys;

/* Loads the master key from @path (creating it, mode 0600, on first start)
 * and derives one key per purpose, so no key serves two. */
GwKeys   *gw_keys_load           (const char  *path,
                                  GError     **error);
void      gw_keys_free           (GwKeys      *keys);
/* Reads DIR/admin.token, creating it (mode 0600) with a fresh token. */
char     *gw_admin_token_load    (const char  *data_dir,
                                  GError     **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwKeys, gw_keys_free)

G_END_DECLS
