/* gw-listener.h: accepting connections for a SoupServer, within limits
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct
{
  gint64 max_connections;        /* open client connections, process-wide */
  gint64 connections_per_address; /* of them from one address (IPv6: /64);
                                     more are closed at once */
  gint64 idle_timeout;           /* s until a complete request head, from the
                                    connection or the previous answer */
  gint64 body_timeout;           /* s a request body may go without a byte */
  gint64 send_timeout;           /* s an answer's bytes may wait for the
                                    client without one taken */
  gint64 handshake_timeout;      /* s for a TLS handshake */
  gint64 handshakes_per_address; /* TLS handshakes at once from one address
                                    (more wait for a place) */
} GwListenerLimits;

typedef struct _GwListener GwListener;

/* Raises the soft limit on open files to the hard one; returns the soft
 * limit then in force. */
guint64     gw_listener_raise_fd_limit      (void);
/* The default of [gateway] max_connections under @fd_limit. */
gint64      gw_listener_default_max         (guint64                 fd_limit);
/* The default of [gateway] connections_per_address under @max_connections. */
gint64      gw_listener_default_per_address (gint64                  max_connections);
/* Client connections open now, and refused over connections_per_address
 * since the start, in the whole process. */
guint       gw_listener_open_connections    (void);
guint       gw_listener_refused_connections (void);

/* Accepts on @socket (listening) for @soup, on the thread-default main
 * context; with @certificate, over TLS. @limits must outlive the listener.
 * Fails only when out of files. */
GwListener *gw_listener_new                 (SoupServer             *soup,
                                             GSocket                *socket,
                                             GTlsCertificate        *certificate,
                                             const GwListenerLimits *limits,
                                             GError                **error);
/* Stops accepting and ends handshakes under way; on the listener's context. */
void        gw_listener_free                (GwListener             *self);
/* "http://127.0.0.1:PORT" (or https, or an IPv6 literal in brackets). */
char       *gw_listener_url                 (GSocket                *socket,
                                             gboolean                tls,
                                             GError                **error);
/* Whether @msg's connection is still open (libsoup has not dropped it). */
gboolean    gw_listener_message_connected   (SoupServerMessage      *msg);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwListener, gw_listener_free)

G_END_DECLS
