/* ow-browser.h: the browsers paired with the wallet, sealed in the vault
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One vault record (kind "browser", id "br_" + 32 hex digits) per paired
 * browser: the name the user gave it, which extension the host said was
 * calling, the key agreed at pairing, and the sites the user allowed to be
 * filled without asking. Reading needs the vault unlocked; listing ids
 * does not.
 */
#pragma once

#include "ow-bridge-crypto.h"
#include "ow-vault.h"

G_BEGIN_DECLS

#define OW_BROWSER_MAX_NAME 64       /* characters */
#define OW_BROWSER_MAX_SITES 500

typedef struct
{
  char       *id;          /* br_… */
  char       *name;        /* the user's name for it */
  char       *kind;        /* "chromium", "firefox" or "unknown", from the host */
  char       *caller;      /* the extension's origin or id, from the host */
  guint8      key[OW_BRIDGE_KEY_LEN];
  gint64      created;     /* unix seconds */
  GPtrArray  *sites;       /* origins (char*) filled without asking */
} OwBrowser;

OwBrowser   *ow_browser_new          (const char       *name,
                                      const char       *kind,
                                      const char       *caller,
                                      const guint8      key[OW_BRIDGE_KEY_LEN]);
void         ow_browser_free         (OwBrowser        *browser);

/* TRUE for ids this module makes: "br_" and 32 lowercase hex digits. */
gboolean     ow_browser_id_valid     (const char       *id);

/* OW_VAULT_ERROR_NOT_FOUND when there is no such browser (or @id is not an
 * id); OW_VAULT_ERROR_TAMPERED when its record does not read back. */
OwBrowser   *ow_browser_load         (OwVault          *vault,
                                      const char       *id,
                                      GError          **error);
gboolean     ow_browser_save         (OwVault          *vault,
                                      const OwBrowser  *browser,
                                      GError          **error);
gboolean     ow_browser_remove       (OwVault          *vault,
                                      const char       *id,
                                      GError          **error);
/* Every paired browser, oldest first (a GPtrArray of OwBrowser*). */
GPtrArray   *ow_browser_list         (OwVault          *vault,
                                      GError          **error);

gboolean     ow_browser_has_site     (const OwBrowser  *browser,
                                      const char       *origin);
/* Adds or removes @origin; FALSE if the list is full. */
gboolean     ow_browser_set_site     (OwBrowser        *browser,
                                      const char       *origin,
                                      gboolean          allowed);

/* An origin the wallet fills or pays for: https://HOST[:PORT], or http://
 * to localhost or a loopback address; no path, user, query or fragment. */
gboolean     ow_browser_origin_valid (const char       *origin);

/* Whether a card.response may carry @member ("number", "csc", "name",
 * "exp_month", "exp_year", "brand") for a form whose fields are @fields
 * (the extension's types: "cc-number", "cc-csc", …): only what the form
 * asks for leaves the wallet. */
gboolean     ow_browser_card_member_wanted (const char * const *fields,
                                            const char         *member);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwBrowser, ow_browser_free)

G_END_DECLS
