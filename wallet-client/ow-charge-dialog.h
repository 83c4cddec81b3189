/* ow-charge-dialog.h: top up the representative card from a funding source
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One Idempotency-Key per request: trying again after a network error or a
 * charge the bank has not confirmed settles the first attempt, never
 * charges twice. While such a charge is unsettled, the dialog emits
 * "pending" with an OwPendingCharge (valid during the emission; NULL once it
 * is settled either way), so that a dialog opened later resumes it instead
 * of starting a second charge; a dialog closed or destroyed (a lock) with
 * its request out emits it too. The request is frozen once sent: a retry
 * and the record are the source and amount sent, whatever the fields show.
 * The amount is taken as shown, never rounded or clamped: one off the
 * ₩10,000 steps or outside ₩10,000–₩1,000,000 is refused in the dialog.
 * Emits "charged" with the OwCharge (valid during the emission), then
 * closes.
 */
#pragma once

#include <adwaita.h>

#include "ow-client.h"

G_BEGIN_DECLS

#define OW_TYPE_CHARGE_DIALOG (ow_charge_dialog_get_type ())

G_DECLARE_FINAL_TYPE (OwChargeDialog, ow_charge_dialog, OW, CHARGE_DIALOG, AdwWindow)

/* A charge sent whose outcome the wallet has not learnt. Its secret (the
 * CVC or account password) is not kept: the user types it again. */
typedef struct
{
  char   *source_id;
  gint64  amount;
  char   *idempotency_key;
} OwPendingCharge;

OwPendingCharge *ow_pending_charge_copy (const OwPendingCharge *pending);
void             ow_pending_charge_free (OwPendingCharge       *pending);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwPendingCharge, ow_pending_charge_free)

/* @sources: OwFundingSource*, at least one; the dialog keeps a reference.
 * @pending: the unsettled charge to resume, or NULL. */
OwChargeDialog *ow_charge_dialog_new (OwClient              *client,
                                      GPtrArray             *sources,
                                      const OwPendingCharge *pending,
                                      GtkWindow             *parent);

G_END_DECLS
