/* ow-bridge-private.h: the bridge's limits, and what tests see of them
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Any process of this user can connect to the socket, so what one
 * connection may hold is bounded: at most OW_BRIDGE_MAX_CONNECTIONS are
 * open; a connection stops reading while OW_BRIDGE_OUT_MAX_FRAMES answers
 * or OW_BRIDGE_OUT_MAX_BYTES wait to be written (a peer that sends and
 * never reads), until the peer has read them; one that has not said the
 * host's hello and the extension's begin within the handshake's time, or
 * stays idle with no call open, is closed.
 */
#pragma once

#include "ow-bridge.h"

G_BEGIN_DECLS

#define OW_BRIDGE_MAX_CONNECTIONS 32
#define OW_BRIDGE_OUT_MAX_FRAMES 16
#define OW_BRIDGE_OUT_MAX_BYTES (64 * 1024)

/* The handshake's time (10 s) and an idle connection's (60 s). */
void   ow_bridge_set_timeouts       (OwBridge *self,
                                     guint     handshake_ms,
                                     guint     idle_ms);
guint  ow_bridge_count_connections  (OwBridge *self);
/* What the connections' answers not yet written hold, in all. */
gsize  ow_bridge_get_queued_bytes   (OwBridge *self);

G_END_DECLS
