/* wh-host.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "wh-host.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>

#include "onepin-json.h"
#include "ow-secret.h"
#include "wh-frame.h"
#include "wh-relay.h"

#define READ_CHUNK 65536

struct _WhHost
{
  int             in_fd;
  int             out_fd;
  char           *browser;
  char           *caller;
  GMainLoop      *loop;
  WhFrameReader  *from_browser;
  WhFrameReader  *from_wallet;
  GSocket        *wallet;
  GSource        *wallet_source;
  guint           in_watch;
  int             status;
};

WhHost *
wh_host_new (int         in_fd,
             int         out_fd,
             const char *browser,
             const char *caller)
{
  WhHost *host = g_new0 (WhHost, 1);

  host->in_fd = in_fd;
  host->out_fd = out_fd;
  host->browser = g_strdup (browser);
  host->caller = g_strdup (caller);
  host->loop = g_main_loop_new (NULL, FALSE);
  host->from_browser = wh_frame_reader_new ();
  return host;
}

static void
disconnect_wallet (WhHost *host)
{
  if (host->wallet_source != NULL)
    {
      g_source_destroy (host->wallet_source);
      g_clear_pointer (&host->wallet_source, g_source_unref);
    }
  if (host->wallet != NULL)
    g_socket_close (host->wallet, NULL);
  g_clear_object (&host->wallet);
  g_clear_pointer (&host->from_wallet, wh_frame_reader_free);
}

void
wh_host_free (WhHost *host)
{
  if (host == NULL)
    return;
  disconnect_wallet (host);
  g_clear_handle_id (&host->in_watch, g_source_remove);
  wh_frame_reader_free (host->from_browser);
  g_main_loop_unref (host->loop);
  g_free (host->browser);
  g_free (host->caller);
  g_free (host);
}

/* ---- To the browser ---- */

static gboolean
write_all (int          fd,
           const guint8 *data,
           gsize         len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static void
to_browser (WhHost *host,
            GBytes *payload)
{
  g_autoptr(GBytes) frame = NULL;
  gsize len;
  const guint8 *data;

  frame = wh_frame_encode (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), NULL);
  data = g_bytes_get_data (frame, &len);
  if (!write_all (host->out_fd, data, len))
    {
      /* The browser is gone: nothing left to do. */
      g_warning ("cannot write to the browser: %s", g_strerror (errno));
      host->status = 1;
      g_main_loop_quit (host->loop);
    }
}

/* The request's "id", if it has a usable one, for in_reply_to. */
static JsonNode *
request_id (JsonObject *request)
{
  JsonNode *id = request != NULL ? json_object_get_member (request, "id") : NULL;

  if (id == NULL || !JSON_NODE_HOLDS_VALUE (id))
    return NULL;
  return json_node_copy (id);
}

/* Errors carry a code and our own text only: never the message's content,
 * which may hold a card number. */
static void
reply_error (WhHost     *host,
             const char *code,
             const char *text,
             JsonObject *request)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GBytes) payload = NULL;
  JsonNode *id = request_id (request);
  char *json;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "error");
  json_builder_set_member_name (builder, "source");
  json_builder_add_string_value (builder, "host");
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, text);
  if (id != NULL)
    {
      json_builder_set_member_name (builder, "in_reply_to");
      json_builder_add_value (builder, id);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json = json_generator_to_data (generator, NULL);
  payload = g_bytes_new_take (json, strlen (json));
  g_message ("answered the browser with %s", code);
  to_browser (host, payload);
}

/* ---- Frames in ---- */

typedef void (*MessageFunc) (WhHost     *host,
                             GBytes     *payload,
                             JsonObject *message);
typedef void (*InvalidFunc) (WhHost       *host,
                             const GError *error);

/* Hands every complete frame of @reader to @on_message, or its error to
 * @on_invalid. */
static void
drain (WhHost        *host,
       WhFrameReader *reader,
       MessageFunc    on_message,
       InvalidFunc    on_invalid)
{
  for (;;)
    {
      g_autoptr(GBytes) payload = NULL;
      g_autoptr(OwSecretJson) message = NULL;   /* the wallet's answers hold the card */
      g_autoptr(GError) error = NULL;
      WhFrameStatus status = wh_frame_reader_next (reader, &payload, &message, &error);

      if (status == WH_FRAME_NEED_MORE)
        return;
      if (status == WH_FRAME_MESSAGE)
        on_message (host, payload, message);
      else
        on_invalid (host, error);
    }
}

/* ---- From the wallet ---- */

static void
from_wallet_message (WhHost     *host,
                     GBytes     *payload,
                     JsonObject *message)
{
  to_browser (host, payload);
}

static void
from_wallet_invalid (WhHost       *host,
                     const GError *error)
{
  reply_error (host, "wallet_reply_invalid", error->message, NULL);
}

static gboolean
on_wallet_readable (GSocket      *socket,
                    GIOCondition  condition,
                    gpointer      data)
{
  WhHost *host = data;
  guint8 buf[READ_CHUNK];
  g_autoptr(GError) error = NULL;
  gssize n = g_socket_receive (socket, (char *) buf, sizeof buf, NULL, &error);

  if (n <= 0)
    {
      gboolean cut = host->from_wallet != NULL && !wh_frame_reader_end (host->from_wallet, NULL);

      g_clear_pointer (&host->wallet_source, g_source_unref);
      disconnect_wallet (host);
      reply_error (host, "wallet_disconnected",
                   cut ? "the wallet closed the connection inside a message"
                       : "the wallet closed the connection", NULL);
      return G_SOURCE_REMOVE;
    }
  wh_frame_reader_feed (host->from_wallet, buf, (gsize) n);
  ow_secret_wipe (buf, (gsize) n);
  drain (host, host->from_wallet, from_wallet_message, from_wallet_invalid);
  return G_SOURCE_CONTINUE;
}

/* The first frame on a new connection says who is calling. */
static GBytes *
hello_frame (WhHost *host)
{
  g_autoptr(GString) json = g_string_new ("{\"type\":\"hello\",\"protocol\":");

  g_string_append_printf (json, "%d,\"browser\":", WH_RELAY_PROTOCOL);
  onepin_json_append_string (json, host->browser);
  g_string_append (json, ",\"caller\":");
  onepin_json_append_string (json, host->caller);
  g_string_append_printf (json, ",\"host_pid\":%d}", (int) getpid ());
  return wh_frame_encode (json->str, json->len, NULL);
}

static gboolean
connect_wallet (WhHost  *host,
                GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GBytes) hello = NULL;

  if (host->wallet != NULL)
    return TRUE;
  path = wh_relay_socket_path (error);
  if (path == NULL || !(socket = wh_relay_connect (path, error)))
    return FALSE;
  hello = hello_frame (host);
  if (!wh_relay_send (socket, hello, error))
    return FALSE;
  host->wallet = g_steal_pointer (&socket);
  host->from_wallet = wh_frame_reader_new ();
  host->wallet_source = g_socket_create_source (host->wallet, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (host->wallet_source, G_SOURCE_FUNC (on_wallet_readable), host, NULL);
  g_source_attach (host->wallet_source, NULL);
  return TRUE;
}

/* ---- From the browser ---- */

static void
to_wallet (WhHost     *host,
           GBytes     *payload,
           JsonObject *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) frame = NULL;

  if (!connect_wallet (host, &error))
    {
      reply_error (host, "wallet_unavailable", error->message, message);
      return;
    }
  frame = wh_frame_encode (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), NULL);
  if (!wh_relay_send (host->wallet, frame, &error))
    {
      disconnect_wallet (host);
      reply_error (host, "wallet_unavailable", "the connection to the wallet broke", message);
    }
}

static const char *
error_code (const GError *error)
{
  if (g_error_matches (error, WH_FRAME_ERROR, WH_FRAME_ERROR_TOO_LARGE))
    return "frame_too_large";
  if (g_error_matches (error, WH_FRAME_ERROR, WH_FRAME_ERROR_TRUNCATED))
    return "truncated_frame";
  return "malformed_message";
}

static void
browser_ended (WhHost *host)
{
  g_autoptr(GError) error = NULL;

  if (!wh_frame_reader_end (host->from_browser, &error))
    {
      reply_error (host, error_code (error), error->message, NULL);
      host->status = 1;
    }
  g_main_loop_quit (host->loop);
}

static void
from_browser_invalid (WhHost       *host,
                      const GError *error)
{
  reply_error (host, error_code (error), error->message, NULL);
}

static gboolean
on_browser_readable (int           fd,
                     GIOCondition  condition,
                     gpointer      data)
{
  WhHost *host = data;
  guint8 buf[READ_CHUNK];
  ssize_t n;

  do
    n = read (fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    {
      host->in_watch = 0;
      browser_ended (host);
      return G_SOURCE_REMOVE;
    }
  wh_frame_reader_feed (host->from_browser, buf, (gsize) n);
  ow_secret_wipe (buf, (gsize) n);
  drain (host, host->from_browser, to_wallet, from_browser_invalid);
  return G_SOURCE_CONTINUE;
}

int
wh_host_run (WhHost *host)
{
  host->in_watch = g_unix_fd_add (host->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                  on_browser_readable, host);
  g_main_loop_run (host->loop);
  return host->status;
}
