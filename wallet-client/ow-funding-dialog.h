/* ow-funding-dialog.h: register a credit card or a bank account
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Emits "added" with the masked OwFundingSource and the details as entered
 * (JSON, secret: the caller seals it), both valid during the emission only.
 */
#pragma once

#include <adwaita.h>

#include "ow-client.h"

G_BEGIN_DECLS

#define OW_TYPE_FUNDING_DIALOG (ow_funding_dialog_get_type ())

G_DECLARE_FINAL_TYPE (OwFundingDialog, ow_funding_dialog, OW, FUNDING_DIALOG, AdwWindow)

OwFundingDialog *ow_funding_dialog_new     (OwClient      *client,
                                            OwFundingType  type,
                                            GtkWindow     *parent);

/* The bank's name for a 3-digit Korean bank code, or NULL. */
const char      *ow_funding_bank_name      (const char    *code);

G_END_DECLS
