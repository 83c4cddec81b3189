/* onepin-test-sms.c: an SMS provider on loopback, inside the test process
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-test-sms.h"
#include "onepin-test-gateway.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

struct _OtSmsSink
{
  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;
  SoupServer   *server;
  char         *dir;
  char         *key;
  char         *key_file;
  char         *url;

  GMutex        lock;
  GCond         cond;
  GPtrArray    *messages;           /* OtSms * */
  guint         requests;
  guint         fail_count;
  guint         fail_status;
  gboolean      ready;
};

static void
sms_free (gpointer data)
{
  OtSms *sms = data;

  g_free (sms->to);
  g_free (sms->text);
  g_free (sms->idempotency_key);
  g_free (sms);
}

static OtSms *
sms_copy (const OtSms *sms)
{
  OtSms *copy = g_new0 (OtSms, 1);

  copy->to = g_strdup (sms->to);
  copy->text = g_strdup (sms->text);
  copy->idempotency_key = g_strdup (sms->idempotency_key);
  return copy;
}

static gboolean
authorized (OtSmsSink         *sink,
            SoupServerMessage *msg)
{
  const char *header = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                     "Authorization");
  g_autofree char *expected = g_strconcat ("Bearer ", sink->key, NULL);

  return g_strcmp0 (header, expected) == 0;
}

/* POST: records {"to", "text"}; answers 202 {"id"}. */
static void
handle_post (OtSmsSink         *sink,
             SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *answer = NULL;
  JsonObject *object;
  OtSms *sms;
  guint fail = 0;

  g_mutex_lock (&sink->lock);
  sink->requests++;
  if (sink->fail_count > 0)
    sink->fail_count--, fail = sink->fail_status;
  g_mutex_unlock (&sink->lock);
  if (fail != 0)
    return ot_reply_json (msg, fail, "{\"error\":{\"type\":\"api_error\",\"message\":\"down\"}}");

  if (!json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                   g_bytes_get_size (bytes), NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return ot_reply_json (msg, 400, "{\"error\":{\"type\":\"invalid_request_error\"}}");
  object = json_node_get_object (json_parser_get_root (parser));
  if (!json_object_has_member (object, "to") || !json_object_has_member (object, "text"))
    return ot_reply_json (msg, 400, "{\"error\":{\"type\":\"invalid_request_error\"}}");

  sms = g_new0 (OtSms, 1);
  sms->to = g_strdup (json_object_get_string_member (object, "to"));
  sms->text = g_strdup (json_object_get_string_member (object, "text"));
  sms->idempotency_key = g_strdup (soup_message_headers_get_one (
    soup_server_message_get_request_headers (msg), "Idempotency-Key"));
  g_mutex_lock (&sink->lock);
  g_ptr_array_add (sink->messages, sms);
  answer = g_strdup_printf ("{\"id\":\"sms_%u\"}", sink->messages->len);
  g_cond_broadcast (&sink->cond);
  g_mutex_unlock (&sink->lock);
  ot_reply_json (msg, 202, answer);
}

/* GET ?to=: the messages to that number, newest first. */
static void
handle_get (OtSmsSink         *sink,
            SoupServerMessage *msg,
            GHashTable        *query)
{
  const char *to = query ? g_hash_table_lookup (query, "to") : NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "data");
  json_builder_begin_array (builder);
  g_mutex_lock (&sink->lock);
  for (guint i = sink->messages->len; i > 0; i--)
    {
      OtSms *sms = g_ptr_array_index (sink->messages, i - 1);
      g_autofree char *id = g_strdup_printf ("sms_%u", i);

      if (to != NULL && g_strcmp0 (sms->to, to) != 0)
        continue;
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, id);
      json_builder_set_member_name (builder, "to");
      json_builder_add_string_value (builder, sms->to);
      json_builder_set_member_name (builder, "text");
      json_builder_add_string_value (builder, sms->text);
      json_builder_end_object (builder);
    }
  g_mutex_unlock (&sink->lock);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);
  ot_reply_json (msg, 200, body);
}

static void
handle (SoupServer        *server,
        SoupServerMessage *msg,
        const char        *path,
        GHashTable        *query,
        gpointer           user_data)
{
  OtSmsSink *sink = user_data;
  const char *method = soup_server_message_get_method (msg);

  if (!authorized (sink, msg))
    return ot_reply_json (msg, 401, "{\"error\":{\"type\":\"authentication_error\"}}");
  if (g_str_equal (method, "POST"))
    handle_post (sink, msg);
  else if (g_str_equal (method, "GET"))
    handle_get (sink, msg, query);
  else
    ot_reply_json (msg, 405, "{\"error\":{\"type\":\"invalid_request_error\"}}");
}

static gpointer
sink_main (gpointer data)
{
  OtSmsSink *sink = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSList) uris = NULL;

  g_main_context_push_thread_default (sink->context);
  sink->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (sink->server, "/v1/sms", handle, sink, NULL);
  soup_server_listen_local (sink->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (sink->server);
  g_mutex_lock (&sink->lock);
  sink->url = g_strdup_printf ("http://127.0.0.1:%d/v1/sms", g_uri_get_port (uris->data));
  sink->ready = TRUE;
  g_cond_broadcast (&sink->cond);
  g_mutex_unlock (&sink->lock);
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify) g_uri_unref);

  g_main_loop_run (sink->loop);
  soup_server_disconnect (sink->server);
  g_clear_object (&sink->server);
  g_main_context_pop_thread_default (sink->context);
  return NULL;
}

OtSmsSink *
ot_sms_sink_start (void)
{
  OtSmsSink *sink = g_new0 (OtSmsSink, 1);
  g_autoptr(GError) error = NULL;

  g_mutex_init (&sink->lock);
  g_cond_init (&sink->cond);
  sink->messages = g_ptr_array_new_with_free_func (sms_free);
  sink->key = g_strdup_printf ("smskey_%08x%08x", g_random_int (), g_random_int ());
  sink->dir = g_dir_make_tmp ("onepin-sms-XXXXXX", &error);
  g_assert_no_error (error);
  sink->key_file = g_build_filename (sink->dir, "sms.key", NULL);
  g_file_set_contents_full (sink->key_file, sink->key, -1, G_FILE_SET_CONTENTS_NONE, 0600,
                            &error);
  g_assert_no_error (error);

  sink->context = g_main_context_new ();
  sink->loop = g_main_loop_new (sink->context, FALSE);
  sink->thread = g_thread_new ("ot-sms-sink", sink_main, sink);
  g_mutex_lock (&sink->lock);
  while (!sink->ready)
    g_cond_wait (&sink->cond, &sink->lock);
  g_mutex_unlock (&sink->lock);
  g_test_message ("SMS sink at %s", sink->url);
  return sink;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
ot_sms_sink_free (OtSmsSink *sink)
{
  if (sink == NULL)
    return;
  g_main_context_invoke (sink->context, quit_loop, sink->loop);
  g_thread_join (sink->thread);
  g_main_loop_unref (sink->loop);
  g_main_context_unref (sink->context);
  g_unlink (sink->key_file);
  g_rmdir (sink->dir);
  g_ptr_array_unref (sink->messages);
  g_mutex_clear (&sink->lock);
  g_cond_clear (&sink->cond);
  g_free (sink->dir);
  g_free (sink->key);
  g_free (sink->key_file);
  g_free (sink->url);
  g_free (sink);
}

const char *
ot_sms_sink_url (OtSmsSink *sink)
{
  return sink->url;
}

const char *
ot_sms_sink_key_file (OtSmsSink *sink)
{
  return sink->key_file;
}

char *
ot_sms_sink_config (OtSmsSink *sink)
{
  return g_strdup_printf ("[sms]\nurl=%s\nkey_file=%s\n", sink->url, sink->key_file);
}

void
ot_sms_sink_fail_next (OtSmsSink *sink,
                       guint      n,
                       guint      status)
{
  g_mutex_lock (&sink->lock);
  sink->fail_count = n;
  sink->fail_status = status;
  g_mutex_unlock (&sink->lock);
}

guint
ot_sms_sink_requests (OtSmsSink *sink)
{
  guint n;

  g_mutex_lock (&sink->lock);
  n = sink->requests;
  g_mutex_unlock (&sink->lock);
  return n;
}

GPtrArray *
ot_sms_sink_wait (OtSmsSink *sink,
                  guint      n,
                  guint      timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  GPtrArray *copy = g_ptr_array_new_with_free_func (sms_free);

  g_mutex_lock (&sink->lock);
  while (sink->messages->len < n)
    if (!g_cond_wait_until (&sink->cond, &sink->lock, deadline))
      break;
  for (guint i = 0; i < sink->messages->len; i++)
    g_ptr_array_add (copy, sms_copy (g_ptr_array_index (sink->messages, i)));
  g_mutex_unlock (&sink->lock);
  if (copy->len < n)
    g_error ("waited %u s for %u SMS; %u arrived", timeout_s, n, copy->len);
  return copy;
}
