/* gw-api-profile.h: POST /v1/cards/profile, the card holder's contact
 * details and receipt choice ("change user information")
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-server-private.h"

G_BEGIN_DECLS

void gw_api_cards_profile (GwRequest *request);

G_END_DECLS
