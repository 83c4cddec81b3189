/* ow-approval-dialog.h: approve or reject a purchase with the card password
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The public API the browser integration (issue 5) uses. Show a purchase;
 * the user approves it with the representative card's password or rejects
 * it. "decided" is emitted exactly once:
 *
 *   void decided (OwApprovalDialog *dialog, gboolean approved,
 *                 const char *card_password, gpointer user_data);
 *
 * @card_password is NULL on rejection and is wiped when the handler
 * returns. Closing the window any other way (Escape, the close button, the
 * wallet locking) is a rejection. The dialog only asks; sending the
 * approval to the gateway is the caller's work.
 *
 * For tests and trying it out: `gapplication action org.onepin.Wallet
 * approve-purchase "'<purchase JSON>'"` (see ow-purchase.h) shows it and
 * logs "approval: approved" or "approval: rejected" (a g_message).
 */
#pragma once

#include <adwaita.h>

#include "ow-model.h"
#include "ow-purchase.h"

G_BEGIN_DECLS

#define OW_TYPE_APPROVAL_DIALOG (ow_approval_dialog_get_type ())

G_DECLARE_FINAL_TYPE (OwApprovalDialog, ow_approval_dialog, OW, APPROVAL_DIALOG, AdwWindow)

OwApprovalDialog *ow_approval_dialog_new      (const OwPurchase *purchase);
/* Shows which card pays and what it has; with too little available the
 * dialog says so and cannot approve. */
void              ow_approval_dialog_set_card (OwApprovalDialog *self,
                                               const OwCard     *card);
/* Says where the purchase came from ("Forwarded by Work laptop from
 * https://mall.example"); a site's text, shown as it is. */
void              ow_approval_dialog_set_source (OwApprovalDialog *self,
                                               const char       *source);
/* Presents it modal over @parent (may be NULL). */
void              ow_approval_dialog_present  (OwApprovalDialog *self,
                                               GtkWindow        *parent);

G_END_DECLS
