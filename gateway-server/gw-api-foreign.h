/* gw-api-foreign.h: the foreign partner resources
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-server-private.h"

G_BEGIN_DECLS

/* admin */
void gw_api_foreign_partners_create (GwRequest *request);
void gw_api_foreign_partners_get    (GwRequest *request);
void gw_api_foreign_partners_rate   (GwRequest *request);
void gw_api_foreign_pins_load       (GwRequest *request);
/* card holders */
void gw_api_foreign_switch          (GwRequest *request);
/* a foreign site (a merchant linked to a partner) */
void gw_api_foreign_payments_create (GwRequest *request);

G_END_DECLS
