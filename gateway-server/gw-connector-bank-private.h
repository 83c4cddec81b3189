/* gw-connector-bank-private.h: what the bank connector's tests look at
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-connector-bank.h"

G_BEGIN_DECLS

/* How many connections the connector opens to the bank at most: that many
 * calls are sent at once, and the others wait for a connection. */
#define GW_CONNECTOR_BANK_CONNECTIONS 16

/* TRUE when @error proves the request never reached the bank, so that
 * nothing happened there (GW_CONNECTOR_ERROR_UNAVAILABLE); FALSE when it may
 * have (GW_CONNECTOR_ERROR_UNKNOWN: ask). @reading: the request had been
 * sent and its reply was being read. */
gboolean gw_connector_bank_never_sent  (const GError    *error,
                                        gboolean         reading);
/* Calls asked from now on end after @timeout seconds; the session's own
 * timeout (each wait for a byte) stays as it was. */
void     gw_connector_bank_set_timeout (GwConnectorBank *self,
                                        guint            timeout);

G_END_DECLS
