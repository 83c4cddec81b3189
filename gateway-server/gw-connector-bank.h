/* gw-connector-bank.h: the connector to onepin-bank, over HTTP
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Speaks onepin-bank's JSON API (gateway-server/bank/README.md) with a
 * SoupSession. The timeout bounds each call as a whole (a bank that keeps
 * the connection busy byte by byte too), and a reply is read up to 256 KB,
 * never further. Errors follow the rule of
 * gw-connector.h: GW_CONNECTOR_ERROR_UNAVAILABLE only when the request
 * certainly did not reach the bank (refused connection, unreachable host,
 * a 503, a refused API key); a timeout, a cut connection or a reply we
 * cannot read is GW_CONNECTOR_ERROR_UNKNOWN, to be settled with a query.
 * A cancelled call counts as unknown too: it may have reached the bank.
 */
#pragma once

#include "gw-connector.h"

G_BEGIN_DECLS

#define GW_TYPE_CONNECTOR_BANK (gw_connector_bank_get_type ())
G_DECLARE_FINAL_TYPE (GwConnectorBank, gw_connector_bank, GW, CONNECTOR_BANK, GObject)

/* @url is the bank's base URL ("http://127.0.0.1:8081"); the two files are
 * the ones onepin-bank created (mode 0600): its API key, and the secret
 * that signs its callbacks. Every call gives up after @timeout seconds. */
GwConnectorBank *gw_connector_bank_new              (const char       *url,
                                                     const char       *api_key_file,
                                                     const char       *callback_secret_file,
                                                     guint             timeout,
                                                     GError          **error);
/* Where the bank sends a transfer's deposit callback; sent with each
 * transfer charge. NULL leaves it to the bank's --callback-url. */
void             gw_connector_bank_set_callback_url (GwConnectorBank  *self,
                                                     const char       *url);
const char      *gw_connector_bank_get_callback_url (GwConnectorBank  *self);

G_END_DECLS
