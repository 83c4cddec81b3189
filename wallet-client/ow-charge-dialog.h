/* ow-charge-dialog.h: top up the representative card from a funding source
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One Idempotency-Key per dialog: trying again after a network error or a
 * charge the bank has not confirmed settles the first attempt, never
 * charges twice. Emits "charged" with the OwCharge (valid during the
 * emission), then closes.
 */
#pragma once

#include <adwaita.h>

#include "ow-client.h"

G_BEGIN_DECLS

#define OW_TYPE_CHARGE_DIALOG (ow_charge_dialog_get_type ())

G_DECLARE_FINAL_TYPE (OwChargeDialog, ow_charge_dialog, OW, CHARGE_DIALOG, AdwWindow)

/* @sources: OwFundingSource*, at least one; the dialog keeps a reference. */
OwChargeDialog *ow_charge_dialog_new (OwClient  *client,
                                      GPtrArray *sources,
                                      GtkWindow *parent);

G_END_DECLS
