/* onepin-soup-server.c: closing the connections libsoup 3.2 forgets
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Once libsoup 3.2's server has answered a request on a kept-alive
 * connection, it waits for the next one with a message of its own that no
 * signal tells us about. When the client closes the connection instead (curl
 * at exit, any client that does not reuse connections), that message fails
 * quietly and nobody closes the socket: it stays in CLOSE-WAIT, one file
 * descriptor for good, until the process can accept no one. (A connection
 * closed before its first request, or answered with "Connection: close", is
 * closed by libsoup itself.)
 *
 * So every connection that has started a request is remembered, and every
 * ONEPIN_SOUP_REAP_INTERVAL seconds those with no request in hand are looked
 * at without reading from them: one whose client has closed it (a read
 * would see the end) or that failed is closed here. Nothing else is touched:
 * bytes waiting are a next request, which libsoup will read.
 */
#include "onepin-soup-server.h"

#include <errno.h>
#include <sys/socket.h>

typedef struct
{
  GHashTable *requests;   /* GSocket (a ref) → requests in hand on it */
  GSource    *timer;
} Reaper;

static void
reaper_free (gpointer data)
{
  Reaper *reaper = data;

  g_source_destroy (reaper->timer);
  g_source_unref (reaper->timer);
  g_hash_table_unref (reaper->requests);
  g_free (reaper);
}

static void
on_request_started (SoupServer        *soup,
                    SoupServerMessage *msg,
                    gpointer           user_data)
{
  Reaper *reaper = user_data;
  GSocket *socket = soup_server_message_get_socket (msg);
  guint in_hand;

  if (socket == NULL)
    return;
  in_hand = GPOINTER_TO_UINT (g_hash_table_lookup (reaper->requests, socket));
  /* The table unrefs the key passed in when it holds that key already. */
  g_hash_table_insert (reaper->requests, g_object_ref (socket), GUINT_TO_POINTER (in_hand + 1));
}

static void
on_request_over (SoupServer        *soup,
                 SoupServerMessage *msg,
                 gpointer           user_data)
{
  Reaper *reaper = user_data;
  GSocket *socket = soup_server_message_get_socket (msg);
  gpointer value;

  if (socket == NULL || !g_hash_table_lookup_extended (reaper->requests, socket, NULL, &value))
    return;
  if (GPOINTER_TO_UINT (value) > 0)
    g_hash_table_insert (reaper->requests, g_object_ref (socket),
                         GUINT_TO_POINTER (GPOINTER_TO_UINT (value) - 1));
}

/**
 * onepin_soup_socket_gone:
 * @socket: a connected socket with nothing being read from it
 *
 * Whether the client has closed an idle connection, or it failed: looked at
 * with MSG_PEEK, so a next request's bytes stay for libsoup.
 */
gboolean
onepin_soup_socket_gone (GSocket *socket)
{
  char byte;
  gssize n = recv (g_socket_get_fd (socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT);

  if (n > 0)
    return FALSE;
  return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static gboolean
reap (gpointer user_data)
{
  Reaper *reaper = user_data;
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, reaper->requests);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GSocket *socket = key;

      if (g_socket_is_closed (socket))
        {
          g_hash_table_iter_remove (&iter);
          continue;
        }
      if (GPOINTER_TO_UINT (value) > 0 || !onepin_soup_socket_gone (socket))
        continue;
      g_socket_shutdown (socket, TRUE, TRUE, NULL);
      g_socket_close (socket, NULL);
      g_hash_table_iter_remove (&iter);
    }
  return G_SOURCE_CONTINUE;
}

/**
 * onepin_soup_server_reap_closed:
 * @soup: a server, with the context it runs in as the thread default
 *
 * Closes, from then on, the kept-alive connections of @soup whose clients
 * have closed them. The work stops when @soup is finalized.
 */
void
onepin_soup_server_reap_closed (SoupServer *soup)
{
  Reaper *reaper = g_new0 (Reaper, 1);
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  reaper->requests = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref, NULL);
  reaper->timer = g_timeout_source_new_seconds (ONEPIN_SOUP_REAP_INTERVAL);
  g_source_set_callback (reaper->timer, reap, reaper, NULL);
  g_source_attach (reaper->timer, context);
  g_signal_connect (soup, "request-started", G_CALLBACK (on_request_started), reaper);
  g_signal_connect (soup, "request-finished", G_CALLBACK (on_request_over), reaper);
  g_signal_connect (soup, "request-aborted", G_CALLBACK (on_request_over), reaper);
  g_object_set_data_full (G_OBJECT (soup), "onepin-soup-reaper", reaper, reaper_free);
}
