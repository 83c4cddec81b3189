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
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "bench-server.h"

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

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  server = soup_server_new ("server-header", "bench-empty", NULL);
  soup_server_add_handler (server, NULL, handle, NULL, NULL);
  bench_server_listen (server, listen);
  bench_server_run ();
  return 0;
}
