/* ow-window.h: the wallet's main window
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "ow-application.h"

G_BEGIN_DECLS

#define OW_TYPE_WINDOW (ow_window_get_type ())

G_DECLARE_FINAL_TYPE (OwWindow, ow_window, OW, WINDOW, AdwApplicationWindow)

OwWindow     *ow_window_new            (OwApplication *application);
/* The representative card the main view shows, or NULL. */
const OwCard *ow_window_get_card       (OwWindow      *self);
/* Shows @message as a toast. While the wallet is locked, nothing on the
 * screen may name a purchase, a card or a merchant: the window shows
 * @while_locked instead (nothing if NULL), and @message after the unlock.
 * Either may be NULL. */
void          ow_window_toast          (OwWindow      *self,
                                        const char    *message,
                                        const char    *while_locked);

G_END_DECLS
