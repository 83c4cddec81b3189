/* bench-server.c: what the benchmark's servers share
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Both listen on 127.0.0.1 only and print "listening on
 * http://127.0.0.1:PORT", like the gateway, for run-bench to read.
 */
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-server.h"

static guint
parse_listen (const char *listen)
{
  const char *colon = listen != NULL ? strrchr (listen, ':') : NULL;

  if (listen == NULL)
    return 0;
  if (colon == NULL || colon - listen != 9 || strncmp (listen, "127.0.0.1", 9) != 0)
    {
      g_printerr ("--listen must be 127.0.0.1:PORT\n");
      exit (2);
    }
  return (guint) g_ascii_strtoull (colon + 1, NULL, 10);
}

/* Listens on @listen (127.0.0.1:PORT, or NULL for any free port) and
 * prints where; exits if it cannot. */
void
bench_server_listen (SoupServer *server,
                     const char *listen)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) sockaddr = g_inet_socket_address_new (address,
                                                                  parse_listen (listen));
  g_autoptr(GError) error = NULL;
  GSList *uris;

  if (!soup_server_listen (server, sockaddr, 0, &error))
    {
      g_printerr ("listen: %s\n", error->message);
      exit (1);
    }
  uris = soup_server_get_uris (server);
  printf ("listening on http://127.0.0.1:%u\n", g_uri_get_port (uris->data));
  fflush (stdout);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static gboolean
on_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;     /* bench_server_run () removes both */
}

/* Turns the main loop until SIGTERM or SIGINT. */
void
bench_server_run (void)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  guint term = g_unix_signal_add (SIGTERM, on_signal, loop);
  guint interrupt = g_unix_signal_add (SIGINT, on_signal, loop);

  g_main_loop_run (loop);
  g_source_remove (term);
  g_source_remove (interrupt);
}
