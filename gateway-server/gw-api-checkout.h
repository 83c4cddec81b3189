/* gw-api-checkout.h: checkout sessions, the wallet's checkout, the hosted
 * payment page and merchants' webhook endpoints
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-checkout.h"
#include "gw-server-private.h"

G_BEGIN_DECLS

/* Merchant API */
void gw_api_checkout_create        (GwRequest *request);
void gw_api_checkout_get           (GwRequest *request);
void gw_api_checkout_expire        (GwRequest *request);
void gw_api_webhook_endpoint_get   (GwRequest *request);
void gw_api_webhook_endpoint_set   (GwRequest *request);
void gw_api_webhook_endpoint_delete (GwRequest *request);
void gw_api_webhook_secret_roll    (GwRequest *request);
/* The shopper's side */
void gw_api_checkout_public        (GwRequest *request);
void gw_api_checkout_pay           (GwRequest *request);
void gw_api_checkout_wallet        (GwRequest *request);
void gw_api_checkout_page          (GwRequest *request);
void gw_api_checkout_asset         (GwRequest *request);

/* A session as its merchant sees it (also a webhook's data.object). */
void gw_checkout_render            (GString                 *out,
                                    GwServer                *server,
                                    const GwCheckoutSession *session,
                                    const GwPayment         *payment,
                                    gint64                   now);

/* The checks a session's body gets on arrival (fuzzed): NULL when it is
 * fine, else the field at fault with @code and @message. On success
 * @items_out is the items' canonical JSON. */
const char *gw_checkout_check_body (JsonObject   *body,
                                    char        **items_out,
                                    const char  **code,
                                    const char  **message);
/* Whether a merchant may give @url as its endpoint: NULL if so, else why
 * not (never quoting it). https, or http to a loopback host unless
 * @allow_http; unless @allow_private, not to localhost nor to an address
 * literal that is not public. */
const char *gw_checkout_webhook_url_check (const char *url,
                                           gboolean    allow_http,
                                           gboolean    allow_private);

G_END_DECLS
