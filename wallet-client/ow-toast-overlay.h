/* ow-toast-overlay.h: the main window's toasts, one at a time
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A message over the window's content for five seconds, or until the user
 * closes it; the ones added meanwhile wait their turn. Clearing takes the
 * one showing and those waiting away at once, with no fade.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define OW_TYPE_TOAST_OVERLAY (ow_toast_overlay_get_type ())

G_DECLARE_FINAL_TYPE (OwToastOverlay, ow_toast_overlay, OW, TOAST_OVERLAY, GtkWidget)

GtkWidget *ow_toast_overlay_get_child (OwToastOverlay *self);
void       ow_toast_overlay_set_child (OwToastOverlay *self,
                                       GtkWidget      *child);
void       ow_toast_overlay_add       (OwToastOverlay *self,
                                       const char     *message);
void       ow_toast_overlay_clear     (OwToastOverlay *self);

G_END_DECLS
