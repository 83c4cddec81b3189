/* ow-pending-charge.h: a top-up sent whose outcome the wallet has not learnt
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A charge (ow-charge-dialog.h) is settled by the same request under the
 * same Idempotency-Key: another key would be another charge, from the
 * user's bank or card. So the request goes into the vault before it is
 * sent, and leaves it once its outcome is known (charged, or definitely
 * refused): an answer lost to a network error, a lock, a quit or a crash is
 * asked for again, from the next dialog, after the next unlock.
 *
 * One record per user and gateway, sealed like every record: kind
 * OW_VAULT_KIND_CHARGE, id the gateway's user id, the gateway, the
 * funding source's id, the amount and the key. Never the CVC or the account
 * password: the user types it again.
 */
#pragma once

#include "ow-vault.h"

G_BEGIN_DECLS

typedef struct
{
  char   *source_id;
  gint64  amount;           /* minor units (KRW) */
  char   *idempotency_key;
} OwPendingCharge;

OwPendingCharge *ow_pending_charge_copy   (const OwPendingCharge *pending);
void             ow_pending_charge_free   (OwPendingCharge       *pending);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwPendingCharge, ow_pending_charge_free)

/* Replaces @user_id's record, if any. */
gboolean         ow_pending_charge_save   (OwVault               *vault,
                                           const char            *user_id,
                                           const char            *gateway,
                                           const OwPendingCharge *pending,
                                           GError               **error);
/* @user_id's charge on @gateway, or NULL with OW_VAULT_ERROR_NOT_FOUND when
 * there is none (or one for another gateway, or one unreadable). */
OwPendingCharge *ow_pending_charge_lookup (OwVault               *vault,
                                           const char            *user_id,
                                           const char            *gateway,
                                           GError               **error);
/* Once its outcome is known. Clearing none is not an error. */
gboolean         ow_pending_charge_clear  (OwVault               *vault,
                                           const char            *user_id,
                                           GError               **error);

G_END_DECLS
