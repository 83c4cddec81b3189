/* bench-empty.c: the baseline for the gateway benchmark
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The least a libsoup 3 + json-glib server can do per request: parse the
 * JSON request body with a JsonParser and answer a small fixed JSON object.
 * It listens on 127.0.0.1:PORT (0 by default) and prints
 * "listening on http://127.0.0.1:PORT", like the gateway. run-bench
 * compares the gateway's throughput and latency with this.
 *
 *     bench-empty [--listen 127.0.0.1:PORT]
 */
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char ok_body[] = "{\"object\":\"ok\",\"status\":\"captured\",\"amount\":1}";
static const char bad_body[] =
  "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Invalid JSON.\"}}";

static void
handle (SoupServer        *server,
        SoupServerMessage *msg,
        const char        *path,
        GHashTable        *query,
        gpointer           user_data)
{
  SoupMessageBody *request = soup_server_message_get_request_body (msg);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  gboolean ok;

  if (g_str_equal (soup_server_message_get_method (msg), "GET"))
    ok = TRUE;
  else
    ok = request->length > 0
         && json_parser_load_from_data (parser, request->data, request->length, NULL)
         && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser));

  soup_server_message_set_status (msg, ok ? 200 : 400, NULL);
  if (ok)
    soup_server_message_set_response (msg, "application/json; charset=utf-8",
                                      SOUP_MEMORY_STATIC, ok_body, strlen (ok_body));
  else
    soup_server_message_set_response (msg, "application/json; charset=utf-8",
                                      SOUP_MEMORY_STATIC, bad_body, strlen (bad_body));
}

static gboolean
on_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *listen = NULL;
  GOptionEntry entries[] = {
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Address to listen on", "127.0.0.1:PORT" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- benchmark baseline server");
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) sockaddr = NULL;
  GSList *uris;
  guint port = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (listen != NULL)
    {
      const char *colon = strrchr (listen, ':');

      if (colon == NULL || colon - listen != 9 || strncmp (listen, "127.0.0.1", 9) != 0)
        {
          g_printerr ("--listen must be 127.0.0.1:PORT\n");
          return 2;
        }
      port = (guint) g_ascii_strtoull (colon + 1, NULL, 10);
    }

  server = soup_server_new ("server-header", "bench-empty", NULL);
  soup_server_add_handler (server, NULL, handle, NULL, NULL);

  address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  sockaddr = g_inet_socket_address_new (address, port);
  if (!soup_server_listen (server, sockaddr, 0, &error))
    {
      g_printerr ("listen: %s\n", error->message);
      return 1;
    }

  uris = soup_server_get_uris (server);
  g_assert_nonnull (uris);
  port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  printf ("listening on http://127.0.0.1:%u\n", port);
  fflush (stdout);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_main_loop_run (loop);

  return 0;
}
