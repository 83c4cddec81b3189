/* ow-setup-page.h: the first-run page: create the vault
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define OW_TYPE_SETUP_PAGE (ow_setup_page_get_type ())

G_DECLARE_FINAL_TYPE (OwSetupPage, ow_setup_page, OW, SETUP_PAGE, AdwBin)

G_END_DECLS
