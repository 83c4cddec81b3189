/* robust-http.h: a small thread-safe HTTP client for the robustness tests
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The harness's ot_request() asserts that the request reached the gateway.
 * The race and crash tests need requests from many threads at once and must
 * survive the gateway dying under them, so they use this instead: one
 * SoupSession per thread, transport errors reported, never asserted.
 *
 * Header-only (static functions) so that each test program stays one .c file.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

typedef struct
{
  guint     status;          /* 0 when there was no answer */
  GBytes   *body;
  JsonNode *json;            /* NULL unless the body parsed as JSON */
  gboolean  replayed;        /* Idempotent-Replayed: true */
  GError   *error;           /* the transport error when status == 0 */
} RhResult;

static inline void
rh_result_clear (RhResult *r)
{
  g_clear_pointer (&r->body, g_bytes_unref);
  g_clear_pointer (&r->json, json_node_unref);
  g_clear_error (&r->error);
  r->status = 0;
  r->replayed = FALSE;
}

static inline SoupSession *
rh_session_new (guint timeout_seconds,
                guint max_conns)
{
  return soup_session_new_with_options ("timeout", timeout_seconds,
                                        "idle-timeout", 0,
                                        "max-conns", max_conns,
                                        "max-conns-per-host", max_conns,
                                        NULL);
}

/* Sends one request; returns TRUE when an HTTP answer came back (whatever its
 * status), FALSE on a transport error (then r->error is set). */
static inline gboolean
rh_send (SoupSession *session,
         const char  *base_url,
         const char  *method,
         const char  *path,
         const char  *bearer,
         const char  *idempotency_key,
         const char  *body,
         gssize       len,
         RhResult    *r)
{
  g_autofree char *uri = g_strconcat (base_url, path, NULL);
  g_autoptr(SoupMessage) msg = NULL;
  SoupMessageHeaders *hdrs;
  const char *replayed;

  memset (r, 0, sizeof *r);

  msg = soup_message_new (method, uri);
  g_assert_nonnull (msg);
  hdrs = soup_message_get_request_headers (msg);
  if (bearer != NULL)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", bearer, NULL);
      soup_message_headers_replace (hdrs, "Authorization", auth);
    }
  if (idempotency_key != NULL)
    soup_message_headers_replace (hdrs, "Idempotency-Key", idempotency_key);
  if (body != NULL)
    {
      g_autoptr(GBytes) b = g_bytes_new (body, len < 0 ? strlen (body) : (gsize) len);
      soup_message_set_request_body_from_bytes (msg, "application/json; charset=utf-8", b);
    }

  r->body = soup_session_send_and_read (session, msg, NULL, &r->error);
  if (r->body == NULL)
    return FALSE;

  r->status = soup_message_get_status (msg);
  replayed = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                           "Idempotent-Replayed");
  r->replayed = replayed != NULL && g_ascii_strcasecmp (replayed, "true") == 0;

  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    gsize blen = 0;
    const char *data = g_bytes_get_data (r->body, &blen);

    if (blen > 0 && json_parser_load_from_data (parser, data, blen, NULL))
      r->json = json_node_ref (json_parser_get_root (parser));
  }

  return TRUE;
}

static inline JsonObject *
rh_object (RhResult *r)
{
  if (r->json == NULL || !JSON_NODE_HOLDS_OBJECT (r->json))
    return NULL;
  return json_node_get_object (r->json);
}

static inline const char *
rh_body_text (RhResult *r)
{
  gsize len = 0;
  const char *data;

  if (r->body == NULL)
    return "";
  data = g_bytes_get_data (r->body, &len);
  return data != NULL ? data : "";
}

/* The error object's member @field ("type", "code", "decline_code"), or NULL. */
static inline const char *
rh_error_field (RhResult   *r,
                const char *field)
{
  JsonObject *o = rh_object (r);
  JsonObject *err;
  JsonNode *n;

  if (o == NULL || !json_object_has_member (o, "error"))
    return NULL;
  n = json_object_get_member (o, "error");
  if (!JSON_NODE_HOLDS_OBJECT (n))
    return NULL;
  err = json_node_get_object (n);
  n = json_object_get_member (err, field);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
      || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static inline const char *
rh_string (RhResult   *r,
           const char *member)
{
  JsonObject *o = rh_object (r);
  JsonNode *n;

  if (o == NULL)
    return NULL;
  n = json_object_get_member (o, member);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
      || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static inline gint64
rh_int (RhResult   *r,
        const char *member,
        gint64      fallback)
{
  JsonObject *o = rh_object (r);
  JsonNode *n;

  if (o == NULL)
    return fallback;
  n = json_object_get_member (o, member);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
      || json_node_get_value_type (n) != G_TYPE_INT64)
    return fallback;
  return json_node_get_int (n);
}

/* A payment request body; numbers and passwords in these tests are plain
 * ASCII without quotes or backslashes, so no escaping is needed. */
static inline char *
rh_payment_body (const char *number,
                 const char *password,
                 gint64      amount,
                 gboolean    capture,
                 const char *order_id)
{
  return g_strdup_printf ("{\"card_number\":\"%s\",\"password\":\"%s\","
                          "\"amount\":%" G_GINT64_FORMAT ",\"currency\":\"krw\","
                          "\"order_id\":\"%s\",\"capture\":%s}",
                          number, password, amount, order_id,
                          capture ? "true" : "false");
}

/* POST /v1/cards/balance; returns the balance and sets *available. Asserts. */
static inline gint64
rh_card_balance (SoupSession *session,
                 const char  *base_url,
                 const char  *number,
                 const char  *password,
                 gint64      *available)
{
  g_autofree char *body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\"}",
                                           number, password);
  RhResult r;
  gint64 balance;

  if (!rh_send (session, base_url, "POST", "/v1/cards/balance", NULL, NULL,
                body, -1, &r))
    g_error ("balance: %s", r.error->message);
  if (r.status != 200)
    g_error ("balance: %u %s", r.status, rh_body_text (&r));
  balance = rh_int (&r, "balance", G_MININT64);
  g_assert_cmpint (balance, !=, G_MININT64);
  if (available != NULL)
    {
      *available = rh_int (&r, "available", G_MININT64);
      g_assert_cmpint (*available, !=, G_MININT64);
    }
  rh_result_clear (&r);
  return balance;
}

/* A start line for threads: they all block in rh_gate_wait() until
 * rh_gate_open(), so that their requests leave together. */
typedef struct
{
  GMutex   lock;
  GCond    cond;
  guint    waiting;
  gboolean open;
} RhGate;

static inline void
rh_gate_init (RhGate *g)
{
  g_mutex_init (&g->lock);
  g_cond_init (&g->cond);
  g->waiting = 0;
  g->open = FALSE;
}

static inline void
rh_gate_clear (RhGate *g)
{
  g_mutex_clear (&g->lock);
  g_cond_clear (&g->cond);
}

static inline void
rh_gate_wait (RhGate *g)
{
  g_mutex_lock (&g->lock);
  g->waiting++;
  g_cond_broadcast (&g->cond);
  while (!g->open)
    g_cond_wait (&g->cond, &g->lock);
  g_mutex_unlock (&g->lock);
}

/* Waits until @n threads are at the gate, then lets them all go. */
static inline void
rh_gate_open (RhGate *g,
              guint   n)
{
  g_mutex_lock (&g->lock);
  while (g->waiting < n)
    g_cond_wait (&g->cond, &g->lock);
  g->open = TRUE;
  g_cond_broadcast (&g->cond);
  g_mutex_unlock (&g->lock);
}
