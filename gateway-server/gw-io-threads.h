/* gw-io-threads.h: HTTP input and output on threads of their own
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each thread runs a SoupServer on a main context of its own, all watching
 * one listening socket (a connection goes to the thread that accepts it
 * first). A thread reads a request whole, pauses it and hands it to
 * the main context, where every handler runs as before; the answer set
 * there goes back to the thread that read the request, which writes it.
 * Only the HTTP parsing and writing move; no handler runs anywhere but on
 * the main thread.
 */
#pragma once

#include <libsoup/soup.h>

#include "gw-listener.h"

G_BEGIN_DECLS

typedef struct _GwIoThreads GwIoThreads;

/* Called on the main context for each request, already paused: the
 * handler unpauses it once the answer is set, from the main context. */
typedef void (*GwIoRequestFunc) (SoupServerMessage *msg,
                                 const char        *path,
                                 GHashTable        *query,
                                 gpointer           user_data);

/* Listens on @address with @n_threads threads. @certificate, if not NULL,
 * makes them serve HTTPS only. @early, if not NULL, is each server's early
 * handler: it runs on the I/O threads and must look at nothing but the
 * message. The URL they listen on is in @url. */
GwIoThreads *gw_io_threads_start (guint               n_threads,
                                  GSocketAddress     *address,
                                  GTlsCertificate    *certificate,
                                  const GwListenerLimits *limits,
                                  SoupServerCallback  early,
                                  GwIoRequestFunc     func,
                                  gpointer            user_data,
                                  char              **url,
                                  GError            **error);
/* Gives back the main context's reference to @msg. A message read by an
 * I/O thread is finalized there (see gw-io-threads.c); any other is simply
 * unreferenced. */
void         gw_io_threads_release (SoupServerMessage *msg);
/* Gives back the main context's reference to @msg, whose answer is set:
 * the message is unpaused on its own thread (or here, if it has none). */
void         gw_io_threads_resume  (SoupServerMessage *msg);
/* Waits (up to five seconds, serving the main context) until every request
 * read has been answered and its answer written, then closes the listening
 * sockets and the connections and joins the threads. */
void         gw_io_threads_stop  (GwIoThreads      *self);

G_END_DECLS
