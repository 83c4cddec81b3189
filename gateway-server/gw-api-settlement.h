/* gw-api-settlement.h: the merchant settlement resources
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-server-private.h"

G_BEGIN_DECLS

/* admin */
void gw_api_settlement_commission  (GwRequest *request);
void gw_api_settlement_run         (GwRequest *request);
void gw_api_settlement_list        (GwRequest *request);
void gw_api_settlement_get         (GwRequest *request);
/* a merchant's own */
void gw_api_settlement_own_list    (GwRequest *request);
void gw_api_settlement_own_get     (GwRequest *request);

G_END_DECLS
