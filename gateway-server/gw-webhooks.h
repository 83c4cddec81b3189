/* gw-webhooks.h: delivery of merchant events to the merchants' endpoints
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Merchant events (payment.*, checkout.session.*) are outbox rows written
 * with the movement they report. This worker, on the main context, claims
 * due ones through the store's writer (counting the try and booking the
 * next one before it leaves, so a crash means a later retry, never a lost
 * event), POSTs each to its merchant's endpoint as
 *
 *     {"id": "evt_…", "object": "event", "type": "payment.captured",
 *      "created": …, "data": {"object": { …the payment or session… }}}
 *
 * with the header Onepin-Signature: t=<unix>,v1=<hex HMAC-SHA256(webhook
 * secret, "<t>." + body)>, signed afresh at each try, and marks it
 * delivered on a 2xx. Other answers are retried after retry_base, twice as
 * long each time, at most an hour apart, max_attempts times in all. Every
 * try is logged in webhook_attempts. Events of merchants without an
 * endpoint (or older than it) are marked done without a try. Unless
 * [webhooks] allow_private, a try whose connection reached an address that
 * is not public (gw-net.h) fails before anything is sent to it.
 */
#pragma once

#include "gw-server.h"

G_BEGIN_DECLS

typedef struct _GwWebhooks GwWebhooks;

GwWebhooks *gw_webhooks_start (GwServer    *server);
/* Stops claiming, and starts the few seconds tries under way have to
 * finish; returns at once. */
void        gw_webhooks_stop_begin (GwWebhooks *self);
/* Begins the stop if that was not done and waits for the tries under way
 * until the grace ends; those still going then are cut, and their events
 * sent again at the next start. */
void        gw_webhooks_stop  (GwWebhooks  *self);

G_END_DECLS
