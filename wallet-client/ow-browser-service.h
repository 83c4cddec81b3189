/* ow-browser-service.h: what the wallet does for a paired browser
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Owns the browser socket (ow-bridge.h) while the application runs and
 * answers its calls with the user: the pairing dialog, the card for a
 * non-affiliated mall's form (after the user's confirmation for the site,
 * in the extension or here), and an affiliated mall's purchase, approved in
 * the approval dialog and paid through POST /v1/wallet/checkout. Nothing
 * comes from a browser while the wallet is locked (the bridge refuses it).
 */
#pragma once

#include "ow-application.h"
#include "ow-bridge.h"

G_BEGIN_DECLS

#define OW_TYPE_BROWSER_SERVICE (ow_browser_service_get_type ())

G_DECLARE_FINAL_TYPE (OwBrowserService, ow_browser_service, OW, BROWSER_SERVICE, GObject)

/* Starts listening; a socket that cannot be made is logged, and the wallet
 * runs without browsers. */
OwBrowserService *ow_browser_service_new        (OwApplication    *application);
OwBridge         *ow_browser_service_get_bridge (OwBrowserService *self);
/* Stops listening and refuses what is still open. */
void              ow_browser_service_stop       (OwBrowserService *self);

G_END_DECLS
