/* gw-http-fallback.c: an error body for requests libsoup refuses itself
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libsoup parses the request line and headers before any handler runs, and
 * when they are malformed (a broken request line, an undecodable URI, a
 * Content-Length that is not a number, an unknown Transfer-Encoding or HTTP
 * version) it writes the status and closes, with no signal in between for
 * us to set a body. What it writes is the message's response as it stands,
 * so each message starts out holding our error object and loses it once it
 * has been read ("request-read", before any handler runs), unless libsoup
 * has already refused it by then (a path that decodes to a NUL byte, or a
 * scheme that does not match the connection: 400 from its got-headers).
 */
#include "gw-http-fallback.h"
#include "gw-listener.h"

#include <string.h>

#define FALLBACK_TYPE "application/json; charset=utf-8"

static const char fallback_body[] =
  "{\"error\":{\"type\":\"invalid_request_error\",\"code\":\"request_malformed\","
  "\"message\":\"The request line, its URL or the headers could not be read as HTTP/1.1.\"}}";

static const char unknown_url_body[] =
  "{\"error\":{\"type\":\"invalid_request_error\",\"code\":\"resource_missing\","
  "\"message\":\"Unrecognized request URL.\"}}";

static void
on_request_started (SoupServer        *soup,
                    SoupServerMessage *msg,
                    gpointer           user_data)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Cache-Control", "no-store");
  soup_server_message_set_response (msg, FALLBACK_TYPE, SOUP_MEMORY_STATIC, fallback_body,
                                    sizeof fallback_body - 1);
}

static void
on_request_read (SoupServer        *soup,
                 SoupServerMessage *msg,
                 gpointer           user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  /* A status already set here is libsoup's refusal: no handler will run. */
  if (soup_server_message_get_status (msg) != 0)
    return;
  /* "OPTIONS *" names no path, so no handler, not even the default one,
   * runs for it, and libsoup would answer an empty 404. */
  if (soup_server_message_is_options_ping (msg))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      soup_message_body_truncate (soup_server_message_get_response_body (msg));
      soup_server_message_set_response (msg, FALLBACK_TYPE, SOUP_MEMORY_STATIC, unknown_url_body,
                                        sizeof unknown_url_body - 1);
      return;
    }
  /* libsoup answers a GET with a Range header by cutting our 200's body
   * into a 206 with a slice of the JSON; every answer here is whole. */
  soup_message_headers_remove (soup_server_message_get_request_headers (msg), "Range");
  soup_message_body_truncate (soup_server_message_get_response_body (msg));
  soup_message_headers_remove (headers, "Content-Type");
  soup_message_headers_remove (headers, "Cache-Control");
}

void
gw_http_fallback_attach (SoupServer *soup)
{
  g_signal_connect (soup, "request-started", G_CALLBACK (on_request_started), NULL);
  g_signal_connect (soup, "request-read", G_CALLBACK (on_request_read), NULL);
}

/* Refusing a request whose framing is lost */

/* Shared by the idle that starts the answer and the write that finishes it,
 * so whichever ends last frees it, and a source destroyed without running
 * (its context torn down at a stop) frees it too. */
typedef struct
{
  SoupServerMessage *msg;
  GIOStream         *stream;
  char              *answer;
} Refusal;

static void
refusal_clear (gpointer data)
{
  Refusal *refusal = data;

  g_clear_object (&refusal->msg);
  g_clear_object (&refusal->stream);
  g_free (refusal->answer);
}

static void
refusal_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, refusal_clear);
}

static void
on_refusal_written (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Refusal *refusal = user_data;

  /* A client that went away meanwhile gets nothing; there is nothing to add. */
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL);
  g_io_stream_close_async (refusal->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  refusal_release (refusal);
}

static gboolean
write_refusal (gpointer user_data)
{
  Refusal *refusal = user_data;

  /* A connection the server already dropped (a stop) has nothing to take. */
  if (!gw_listener_message_connected (refusal->msg))
    return G_SOURCE_REMOVE;
  /* The message is paused, so libsoup neither reads nor answers it; taking
   * its connection ends libsoup's part in it. */
  refusal->stream = soup_server_message_steal_connection (refusal->msg);
  if (refusal->stream == NULL)
    return G_SOURCE_REMOVE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (refusal->stream),
                                   refusal->answer, strlen (refusal->answer),
                                   G_PRIORITY_DEFAULT, NULL, on_refusal_written,
                                   g_atomic_rc_box_acquire (refusal));
  return G_SOURCE_REMOVE;
}

void
gw_http_refuse_and_close (SoupServerMessage *msg,
                          const char        *json_body)
{
  Refusal *refusal = g_atomic_rc_box_new0 (Refusal);
  g_autoptr(GSource) idle = g_idle_source_new ();
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  refusal->msg = g_object_ref (msg);
  refusal->answer = g_strdup_printf ("HTTP/1.1 400 Bad Request\r\n"
                                     "Server: onepin-gateway\r\n"
                                     "Connection: close\r\n"
                                     "Cache-Control: no-store\r\n"
                                     "Content-Type: " FALLBACK_TYPE "\r\n"
                                     "Content-Length: %zu\r\n\r\n%s",
                                     strlen (json_body), json_body);
  soup_server_message_pause (msg);
  /* Not idle priority: under load that would leave the client waiting. */
  g_source_set_priority (idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (idle, write_refusal, refusal, refusal_release);
  g_source_attach (idle, context);
}
