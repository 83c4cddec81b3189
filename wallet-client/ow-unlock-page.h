/* ow-unlock-page.h: the locked page: unlock the vault
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define OW_TYPE_UNLOCK_PAGE (ow_unlock_page_get_type ())

G_DECLARE_FINAL_TYPE (OwUnlockPage, ow_unlock_page, OW, UNLOCK_PAGE, AdwBin)

/* Empties the password field and hides any error. */
void  ow_unlock_page_reset  (OwUnlockPage *self);

G_END_DECLS
