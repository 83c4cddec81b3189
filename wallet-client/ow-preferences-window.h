/* ow-preferences-window.h: the gateway, its CA, the idle lock, the master password
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "ow-application.h"

G_BEGIN_DECLS

#define OW_TYPE_PREFERENCES_WINDOW (ow_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (OwPreferencesWindow, ow_preferences_window, OW, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

OwPreferencesWindow *ow_preferences_window_new (OwApplication *application);

G_END_DECLS
