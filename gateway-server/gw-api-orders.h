/* gw-api-orders.h: the card site's resources: orders, gifts, recharges,
 * balance refunds, payment verification and the bank's callbacks
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-server-private.h"

G_BEGIN_DECLS

void gw_api_orders_create         (GwRequest *request);
void gw_api_orders_get            (GwRequest *request);
void gw_api_orders_pay            (GwRequest *request);
void gw_api_orders_reveal         (GwRequest *request);
void gw_api_orders_access_codes   (GwRequest *request);
void gw_api_orders_access_tokens  (GwRequest *request);
void gw_api_orders_give           (GwRequest *request);
void gw_api_gifts_preview         (GwRequest *request);
void gw_api_gifts_claim           (GwRequest *request);
void gw_api_cards_recharge        (GwRequest *request);
void gw_api_cards_refund          (GwRequest *request);
void gw_api_cards_verify_payment  (GwRequest *request);
void gw_api_bank_deposit          (GwRequest *request);
void gw_api_admin_orders          (GwRequest *request);

G_END_DECLS
