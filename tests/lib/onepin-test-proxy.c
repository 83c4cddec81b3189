/* onepin-test-proxy.c: a TCP relay to the gateway that can lose its way
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-test-proxy.h"

#include <gio/gio.h>

#define CHUNK 16384

struct _OtProxy
{
  GThread         *thread;
  GMainContext    *context;
  GMainLoop       *loop;
  GSocketService  *service;
  GSocketClient   *connector;
  GCancellable    *cancellable;  /* of every relay, cancelled as it stops */
  GHashTable      *links;        /* Link*: the connections being relayed */
  char            *target_host;
  guint16          target_port;
  char            *url;

  GMutex           lock;
  GCond            cond;
  gboolean         ready;
  gint             mode;       /* OtProxyMode, atomic */
  gint             dropped;    /* atomic */
  gint             held;       /* atomic */
  GString         *answers;    /* since the last hold, NULL before; under lock */
};

/* One client connection and the gateway's at the other end, with a pump
 * each way; the last pump to end frees it. */
typedef struct
{
  OtProxy           *proxy;
  GSocketConnection *client;
  GSocketConnection *upstream;
  guint              pumps;
} Link;

typedef struct
{
  Link    *link;
  gboolean answers;            /* the gateway's way to the client */
  gsize    length;             /* of what the buffer holds */
  guint8   buffer[CHUNK];
} Pump;

static OtProxyMode
mode (OtProxy *proxy)
{
  return g_atomic_int_get (&proxy->mode);
}

/* Closing either end makes the other pump's read fail, so both end. */
static void
link_close (Link *link)
{
  g_io_stream_close (G_IO_STREAM (link->client), NULL, NULL);
  if (link->upstream != NULL)
    g_io_stream_close (G_IO_STREAM (link->upstream), NULL, NULL);
}

static void
link_unref (Link *link)
{
  if (--link->pumps > 0)
    return;
  g_hash_table_remove (link->proxy->links, link);
  g_clear_object (&link->client);
  g_clear_object (&link->upstream);
  g_free (link);
}

static void pump_read (Pump *pump);

static void
pump_end (Pump *pump)
{
  link_close (pump->link);
  link_unref (pump->link);
  g_free (pump);
}

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Pump *pump = data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL))
    return pump_end (pump);
  pump_read (pump);
}

static void relay (Pump *pump);

/* The mode is set from the test's thread: a held answer looks at it now
 * and then, and goes as the mode says once it holds no more. */
static gboolean
on_hold_tick (gpointer data)
{
  Pump *pump = data;
  OtProxy *proxy = pump->link->proxy;

  if ((mode (proxy) == OT_PROXY_HOLD_ANSWERS || mode (proxy) == OT_PROXY_KEEP_HELD) &&
      !g_cancellable_is_cancelled (proxy->cancellable))
    return G_SOURCE_CONTINUE;
  g_atomic_int_add (&proxy->held, -1);
  if (g_cancellable_is_cancelled (proxy->cancellable))
    pump_end (pump);
  else
    relay (pump);
  return G_SOURCE_REMOVE;
}

static void
hold (Pump *pump)
{
  OtProxy *proxy = pump->link->proxy;
  g_autoptr(GSource) tick = g_timeout_source_new (10);

  g_atomic_int_inc (&proxy->held);
  g_source_set_callback (tick, on_hold_tick, pump, NULL);
  g_source_attach (tick, proxy->context);
}

/* Passes on what the buffer holds, as the mode says. */
static void
relay (Pump *pump)
{
  Link *link = pump->link;
  OtProxy *proxy = link->proxy;
  GIOStream *to = G_IO_STREAM (pump->answers ? link->client : link->upstream);

  if (!pump->answers && mode (proxy) == OT_PROXY_REFUSE)
    return pump_end (pump);
  if (pump->answers && mode (proxy) == OT_PROXY_DROP_ANSWERS)
    {
      g_atomic_int_inc (&proxy->dropped);
      return pump_end (pump);
    }
  if (pump->answers && mode (proxy) == OT_PROXY_HOLD_ANSWERS)
    return hold (pump);
  g_mutex_lock (&proxy->lock);
  if (pump->answers && proxy->answers != NULL)
    g_string_append_len (proxy->answers, (const char *) pump->buffer, pump->length);
  g_mutex_unlock (&proxy->lock);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (to), pump->buffer,
                                   pump->length, G_PRIORITY_DEFAULT, proxy->cancellable,
                                   on_written, pump);
}

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  Pump *pump = data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (n <= 0)
    return pump_end (pump);
  pump->length = n;
  relay (pump);
}

static void
pump_read (Pump *pump)
{
  Link *link = pump->link;
  GIOStream *from = G_IO_STREAM (pump->answers ? link->upstream : link->client);

  g_input_stream_read_async (g_io_stream_get_input_stream (from), pump->buffer, CHUNK,
                             G_PRIORITY_DEFAULT, link->proxy->cancellable, on_read, pump);
}

static void
pump_start (Link     *link,
            gboolean  answers)
{
  Pump *pump = g_new0 (Pump, 1);

  pump->link = link;
  pump->answers = answers;
  link->pumps++;
  pump_read (pump);
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Link *link = data;

  link->upstream = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, NULL);
  if (link->upstream == NULL)
    {
      link_close (link);
      link_unref (link);
      return;
    }
  pump_start (link, FALSE);
  pump_start (link, TRUE);
  link_unref (link);           /* the connecting one */
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             gpointer           data)
{
  OtProxy *proxy = data;
  Link *link;

  if (mode (proxy) == OT_PROXY_REFUSE)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return TRUE;
    }
  link = g_new0 (Link, 1);
  link->proxy = proxy;
  link->client = g_object_ref (connection);
  link->pumps = 1;             /* until connected */
  g_hash_table_add (proxy->links, link);
  g_socket_client_connect_to_host_async (proxy->connector, proxy->target_host,
                                         proxy->target_port, proxy->cancellable, on_connected,
                                         link);
  return TRUE;
}

static gpointer
proxy_main (gpointer data)
{
  OtProxy *proxy = data;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (proxy->context);
  proxy->connector = g_socket_client_new ();
  proxy->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (proxy->service), any_port,
                                 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &bound,
                                 &error);
  g_assert_no_error (error);
  g_signal_connect (proxy->service, "incoming", G_CALLBACK (on_incoming), proxy);
  g_socket_service_start (proxy->service);

  g_mutex_lock (&proxy->lock);
  proxy->url = g_strdup_printf ("http://127.0.0.1:%u",
                                g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  proxy->ready = TRUE;
  g_cond_broadcast (&proxy->cond);
  g_mutex_unlock (&proxy->lock);

  g_main_loop_run (proxy->loop);
  g_socket_service_stop (proxy->service);
  g_socket_listener_close (G_SOCKET_LISTENER (proxy->service));
  /* every relay ends, its memory with it */
  g_cancellable_cancel (proxy->cancellable);
  while (g_hash_table_size (proxy->links) > 0)
    g_main_context_iteration (proxy->context, TRUE);
  g_clear_object (&proxy->service);
  g_clear_object (&proxy->connector);
  g_main_context_pop_thread_default (proxy->context);
  return NULL;
}

OtProxy *
ot_proxy_start (const char *target_url)
{
  OtProxy *proxy = g_new0 (OtProxy, 1);
  g_autoptr(GUri) target = g_uri_parse (target_url, G_URI_FLAGS_NONE, NULL);

  g_assert_nonnull (target);
  g_assert_cmpstr (g_uri_get_scheme (target), ==, "http");
  proxy->target_host = g_strdup (g_uri_get_host (target));
  proxy->target_port = g_uri_get_port (target);
  g_mutex_init (&proxy->lock);
  g_cond_init (&proxy->cond);
  proxy->cancellable = g_cancellable_new ();
  proxy->links = g_hash_table_new (NULL, NULL);
  proxy->context = g_main_context_new ();
  proxy->loop = g_main_loop_new (proxy->context, FALSE);
  proxy->thread = g_thread_new ("ot-proxy", proxy_main, proxy);
  g_mutex_lock (&proxy->lock);
  while (!proxy->ready)
    g_cond_wait (&proxy->cond, &proxy->lock);
  g_mutex_unlock (&proxy->lock);
  g_test_message ("proxy at %s to %s", proxy->url, target_url);
  return proxy;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
ot_proxy_free (OtProxy *proxy)
{
  if (proxy == NULL)
    return;
  g_main_context_invoke (proxy->context, quit_loop, proxy->loop);
  g_thread_join (proxy->thread);
  g_main_loop_unref (proxy->loop);
  g_main_context_unref (proxy->context);
  g_object_unref (proxy->cancellable);
  g_hash_table_unref (proxy->links);
  if (proxy->answers != NULL)
    g_string_free (proxy->answers, TRUE);
  g_mutex_clear (&proxy->lock);
  g_cond_clear (&proxy->cond);
  g_free (proxy->target_host);
  g_free (proxy->url);
  g_free (proxy);
}

const char *
ot_proxy_url (OtProxy *proxy)
{
  return proxy->url;
}

void
ot_proxy_set_mode (OtProxy     *proxy,
                   OtProxyMode  new_mode)
{
  if (new_mode == OT_PROXY_HOLD_ANSWERS)
    {
      g_mutex_lock (&proxy->lock);
      if (proxy->answers != NULL)
        g_string_free (proxy->answers, TRUE);
      proxy->answers = g_string_new (NULL);
      g_mutex_unlock (&proxy->lock);
    }
  g_atomic_int_set (&proxy->mode, new_mode);
}

guint
ot_proxy_dropped (OtProxy *proxy)
{
  return g_atomic_int_get (&proxy->dropped);
}

guint
ot_proxy_held (OtProxy *proxy)
{
  return g_atomic_int_get (&proxy->held);
}

char *
ot_proxy_dup_answers (OtProxy *proxy)
{
  char *answers;

  g_mutex_lock (&proxy->lock);
  answers = proxy->answers != NULL ? g_strndup (proxy->answers->str, proxy->answers->len)
                                   : g_strdup ("");
  g_mutex_unlock (&proxy->lock);
  return answers;
}
