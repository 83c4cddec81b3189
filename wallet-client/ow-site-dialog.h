/* ow-site-dialog.h: may a browser fill the card on a site?
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The wallet's own confirmation, for a site the user has not just
 * confirmed in the extension and not allowed for good. "decided" is
 * emitted once:
 *
 *   void decided (OwSiteDialog *dialog, gboolean fill, gboolean remember,
 *                 gpointer user_data);
 *
 * Closing the window any other way is a no.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define OW_TYPE_SITE_DIALOG (ow_site_dialog_get_type ())

G_DECLARE_FINAL_TYPE (OwSiteDialog, ow_site_dialog, OW, SITE_DIALOG, AdwWindow)

OwSiteDialog *ow_site_dialog_new (const char *browser_name,
                                  const char *origin);

G_END_DECLS
