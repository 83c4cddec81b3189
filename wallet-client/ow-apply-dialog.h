/* ow-apply-dialog.h: apply for the representative card
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Asks for the card password (which approves purchases later) and applies.
 * Emits "applied" with the issued OwCard (number and CVC included, valid
 * during the emission only), then closes.
 */
#pragma once

#include <adwaita.h>

#include "ow-client.h"

G_BEGIN_DECLS

#define OW_TYPE_APPLY_DIALOG (ow_apply_dialog_get_type ())

G_DECLARE_FINAL_TYPE (OwApplyDialog, ow_apply_dialog, OW, APPLY_DIALOG, AdwWindow)

OwApplyDialog *ow_apply_dialog_new (OwClient  *client,
                                    GtkWindow *parent);

G_END_DECLS
