/* ow-charge-dialog.h: top up the representative card from a funding source
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One Idempotency-Key per request: trying again after a network error or a
 * charge the bank has not confirmed settles the first attempt, never
 * charges twice. Before a request is sent, it (source, amount, key; never
 * the secret) is sealed in the vault as the signed-in user's pending charge
 * (ow_application_save_pending_charge), and nothing is sent if it cannot
 * be; it is cleared once the outcome is known (charged, or definitely
 * refused). A dialog opened with a pending charge (after closing one, a
 * lock, a quit or a crash) resumes it instead of starting a second charge.
 * The request is frozen once sent: a retry and the record are the source
 * and amount sent, whatever the fields show.
 * The amount is taken as shown, never rounded or clamped: one off the
 * ₩10,000 steps or outside ₩10,000–₩1,000,000 is refused in the dialog.
 * Emits "charged" with the OwCharge (valid during the emission), then
 * closes.
 */
#pragma once

#include <adwaita.h>

#include "ow-client.h"
#include "ow-pending-charge.h"

G_BEGIN_DECLS

#define OW_TYPE_CHARGE_DIALOG (ow_charge_dialog_get_type ())

G_DECLARE_FINAL_TYPE (OwChargeDialog, ow_charge_dialog, OW, CHARGE_DIALOG, AdwWindow)

/* @sources: OwFundingSource*, at least one; the dialog keeps a reference.
 * @pending: the unsettled charge to resume, or NULL. */
OwChargeDialog *ow_charge_dialog_new (OwClient              *client,
                                      GPtrArray             *sources,
                                      const OwPendingCharge *pending,
                                      GtkWindow             *parent);

G_END_DECLS
