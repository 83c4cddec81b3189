/* ow-pair-dialog.h: approve and name a browser that asks to pair
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Shows the code the browser's extension shows too, and a name for the
 * browser (the extension's suggestion at first). "decided" is emitted
 * once:
 *
 *   void decided (OwPairDialog *dialog, gboolean approved, const char *name,
 *                 gpointer user_data);
 *
 * @name is NULL on refusal. Closing the window any other way refuses.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define OW_TYPE_PAIR_DIALOG (ow_pair_dialog_get_type ())

G_DECLARE_FINAL_TYPE (OwPairDialog, ow_pair_dialog, OW, PAIR_DIALOG, AdwWindow)

/* @repairing: the browser replaces its pairing named @suggested_name. */
OwPairDialog *ow_pair_dialog_new (const char *code,
                                  const char *suggested_name,
                                  gboolean    repairing);

G_END_DECLS
