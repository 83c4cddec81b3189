/* ow-account-page.h: sign in to the gateway, or register there
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define OW_TYPE_ACCOUNT_PAGE (ow_account_page_get_type ())

G_DECLARE_FINAL_TYPE (OwAccountPage, ow_account_page, OW, ACCOUNT_PAGE, AdwBin)

/* Empties the password fields, hides errors, shows the gateway setting. */
void  ow_account_page_reset  (OwAccountPage *self);

G_END_DECLS
