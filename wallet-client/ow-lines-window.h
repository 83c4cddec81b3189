/* ow-lines-window.h: the telephone lines that pay with the representative card
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Lists the card's calling numbers by their last four digits, adds one
 * (with the password the user signs in with) and removes one. Emits
 * "session-ended" (and closes) when the gateway says the session is over;
 * the main window then asks for a sign-in.
 */
#pragma once

#include <adwaita.h>

#include "ow-client.h"

G_BEGIN_DECLS

#define OW_TYPE_LINES_WINDOW (ow_lines_window_get_type ())

G_DECLARE_FINAL_TYPE (OwLinesWindow, ow_lines_window, OW, LINES_WINDOW, AdwWindow)

/* Loads the lines from the gateway at once, with @client's session. */
OwLinesWindow *ow_lines_window_new (OwClient  *client,
                                    GtkWindow *parent);

G_END_DECLS
