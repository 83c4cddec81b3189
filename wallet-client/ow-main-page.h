/* ow-main-page.h: the representative card, funding sources, receipts, history
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "ow-model.h"

G_BEGIN_DECLS

#define OW_TYPE_MAIN_PAGE (ow_main_page_get_type ())

G_DECLARE_FINAL_TYPE (OwMainPage, ow_main_page, OW, MAIN_PAGE, AdwBin)

/* Fetches the card, funding sources, profile and history afresh. */
void          ow_main_page_refresh    (OwMainPage *self);
/* Forgets and blanks everything shown (on a lock, an ended session or a
 * sign-out). A charge sent whose outcome is unknown is the vault's
 * (ow-pending-charge.h): it stays there until its outcome is known, or the
 * sign-out clears the vault. */
void          ow_main_page_clear      (OwMainPage *self);
/* The card as last fetched, or NULL. */
const OwCard *ow_main_page_get_card   (OwMainPage *self);

G_END_DECLS
