/* wh-relay.h: the connection from the host to the running desktop wallet
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The wallet listens on $XDG_RUNTIME_DIR/onepin-wallet.sock. The host only
 * connects to a socket that is owned by the user and closed to everyone
 * else (mode 0600, in a runtime directory of mode 0700), and only talks to
 * a peer running as the same user.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define WH_RELAY_SOCKET_NAME "onepin-wallet.sock"
/* What the host's hello says it speaks: the wallet's OW_BRIDGE_PROTOCOL,
 * which refuses any other ("version"). */
#define WH_RELAY_PROTOCOL 3
/* Seconds a message may wait for the wallet to take it. */
#define WH_RELAY_SEND_TIMEOUT 5
#define WH_RELAY_ERROR (wh_relay_error_quark ())

typedef enum
{
  WH_RELAY_ERROR_NO_RUNTIME_DIR,   /* XDG_RUNTIME_DIR unset, or not ours and private */
  WH_RELAY_ERROR_UNSAFE,           /* the socket is not ours, not a socket, or open to others */
  WH_RELAY_ERROR_UNAVAILABLE,      /* no wallet listening */
  WH_RELAY_ERROR_PEER,             /* the listening process is another user */
} WhRelayError;

GQuark    wh_relay_error_quark  (void);

/* $XDG_RUNTIME_DIR/onepin-wallet.sock, after checking the directory. */
char     *wh_relay_socket_path  (GError     **error);

/* Connects to the wallet's socket at @path after the checks above. */
GSocket  *wh_relay_connect      (const char  *path,
                                 GError     **error);

/* Writes all of @bytes to @socket (blocking). */
gboolean  wh_relay_send         (GSocket     *socket,
                                 GBytes      *bytes,
                                 GError     **error);

G_END_DECLS
