/* gw-server.h: the gateway's HTTP front
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "gw-config.h"
#include "gw-connector.h"
#include "gw-ledger.h"
#include "gw-metrics.h"
#include "gw-store.h"

G_BEGIN_DECLS

#define GW_TYPE_SERVER (gw_server_get_type ())
G_DECLARE_FINAL_TYPE (GwServer, gw_server, GW, SERVER, GObject)

/* Takes ownership of nothing: @config, @ledger, @metrics, @apikey_key and
 * @idempotency_key must outlive the server. @admin_token_hash is
 * HMAC(apikey_key, admin token). */
GwServer   *gw_server_new          (const GwConfig        *config,
                                    GwStore               *store,
                                    const GwLedgerConfig  *ledger,
                                    GwMetrics             *metrics,
                                    OnepinKey             *apikey_key,
                                    OnepinKey             *idempotency_key,
                                    const guint8           admin_token_hash[32]);
/* Reads [gateway] metrics_token_file, if set; fails if the file is not a
 * secret file (onepin_secret_file_load). */
gboolean    gw_server_load_metrics_token (GwServer          *self,
                                          GError           **error);
/* Listens and returns the URL, e.g. "http://127.0.0.1:8080". */
char       *gw_server_listen       (GwServer              *self,
                                    GError               **error);
/* The financial system, or NULL when none is configured ([bank] url).
 * The server keeps a reference. */
void         gw_server_set_connector (GwServer            *self,
                                      GwConnector         *connector);
GwConnector *gw_server_get_connector (GwServer            *self);
/* Stops taking requests and returns once none is in flight. */
void        gw_server_drain        (GwServer              *self);

G_END_DECLS
