/* ow-account-window.h: the account on the gateway, its profile and sign-in password
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Shows the login ID, edits the name, e-mail and mobile number, and
 * changes the password one signs in with. Emits "session-ended" (and
 * closes) when the gateway says the session is over; the main window then
 * asks for a sign-in.
 */
#pragma once

#include <adwaita.h>

#include "ow-client.h"

G_BEGIN_DECLS

#define OW_TYPE_ACCOUNT_WINDOW (ow_account_window_get_type ())

G_DECLARE_FINAL_TYPE (OwAccountWindow, ow_account_window, OW, ACCOUNT_WINDOW, AdwWindow)

/* Loads the profile from the gateway at once, with @client's session. */
OwAccountWindow *ow_account_window_new (OwClient  *client,
                                        GtkWindow *parent);

G_END_DECLS
