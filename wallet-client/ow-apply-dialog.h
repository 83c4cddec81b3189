/* ow-apply-dialog.h: apply for the representative card, or change its password
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Asks for the card password (which approves purchases later) and applies,
 * after keeping the request's Idempotency-Key in the vault
 * (ow_application_save_pending_card). Emits "applied" with the issued
 * OwCard (number and CVC included, valid during the emission only, wiped
 * after it), then closes; the emission may come after a lock took the
 * dialog away. Made by ow_apply_dialog_new_change(), it asks for the
 * account's password and a new card password instead, and emits "changed"
 * with the card (no number). Made by ow_apply_dialog_new_finish(), it sends
 * an earlier application again with the card password typed once, and
 * emits "applied", or "unrecoverable" (no arguments) when the gateway no
 * longer holds the answer.
 */
#pragma once

#include <adwaita.h>

#include "ow-client.h"

G_BEGIN_DECLS

#define OW_TYPE_APPLY_DIALOG (ow_apply_dialog_get_type ())

G_DECLARE_FINAL_TYPE (OwApplyDialog, ow_apply_dialog, OW, APPLY_DIALOG, AdwWindow)

OwApplyDialog *ow_apply_dialog_new        (OwClient   *client,
                                           const char *idempotency_key,
                                           GtkWindow  *parent);
OwApplyDialog *ow_apply_dialog_new_change (OwClient   *client,
                                           GtkWindow  *parent);
OwApplyDialog *ow_apply_dialog_new_finish (OwClient   *client,
                                           const char *idempotency_key,
                                           GtkWindow  *parent);

G_END_DECLS
