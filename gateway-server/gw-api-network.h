/* gw-api-network.h: the issuer endpoint of the card network
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-server-private.h"

G_BEGIN_DECLS

#define GW_NETWORK_SIGNATURE_HEADER "Onepin-Signature"

/* Reads [network] secret_file, if set; without it the endpoint answers 404. */
gboolean gw_api_network_start     (GwServer   *server,
                                   GError    **error);

/* POST /v1/network/messages: ISO 8583 fields in JSON, signed both ways. */
void     gw_api_network_messages  (GwRequest  *request);

G_END_DECLS
