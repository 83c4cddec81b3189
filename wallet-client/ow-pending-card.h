/* ow-pending-card.h: an application for the representative card whose
 * number the vault does not hold yet
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The gateway shows the card's number and CVC once, in its answer to the
 * application, and keeps that answer (sealed) under the request's
 * Idempotency-Key for three days: the same request again, with the same key
 * and card password, answers them again. The wallet keeps the key of an
 * application until the number and CVC are in the vault, so that an answer
 * lost (a lock, a network error, a crash) can be asked for again.
 *
 * One record per user and gateway, sealed like every record (the key, with
 * the user's session, lets anyone who guesses the card password see the
 * number): kind OW_VAULT_KIND_APPLICATION, id the gateway's user id.
 */
#pragma once

#include "ow-vault.h"

G_BEGIN_DECLS

gboolean     ow_pending_card_save         (OwVault     *vault,
                                           const char  *user_id,
                                           const char  *gateway,
                                           const char  *idempotency_key,
                                           GError     **error);
/* The key of @user_id's application on @gateway, or NULL with
 * OW_VAULT_ERROR_NOT_FOUND when there is none (or one for another gateway).
 * Free it with ow_secret_free. */
char        *ow_pending_card_lookup       (OwVault     *vault,
                                           const char  *user_id,
                                           const char  *gateway,
                                           GError     **error);
/* Once the number and CVC are stored. Clearing none is not an error. */
gboolean     ow_pending_card_clear        (OwVault     *vault,
                                           const char  *user_id,
                                           GError     **error);

G_END_DECLS
