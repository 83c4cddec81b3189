/* bank-callbacks.c: delivery of signed deposit callbacks, with retries
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "bank-callbacks.h"
#include "onepin-signature.h"

#include <libsoup/soup.h>
#include <string.h>

#define BATCH 16
#define MAX_BACKOFF 60
#define SEND_TIMEOUT 10

struct _BankCallbacks
{
  BankStore    *store;
  OnepinKey    *key;
  SoupSession  *session;
  GCancellable *cancellable;
  GHashTable   *in_flight;        /* callback ids being sent */
  guint         idle;
  guint         timer;
};

typedef struct
{
  BankCallbacks *self;
  gint64         id;
  gint64         attempts;
} Delivery;

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* 1, 2, 4, … seconds after the first, second, third failed attempt. */
static gint64
backoff (gint64 attempts)
{
  return attempts >= 7 ? MAX_BACKOFF : MIN ((gint64) 1 << (attempts - 1), MAX_BACKOFF);
}

/* Why an attempt failed, for the log: the receiver's HTTP status, or the
 * kind of network failure. Not GIO's message, which names the host: the
 * URL came in a request (a charge's callback_url), and the log repeats no
 * request's values. */
static char *
failure_text (const GError *error,
              guint         status)
{
  if (error == NULL)
    return g_strdup_printf ("HTTP %u %s", status, soup_status_get_phrase (status));
  if (error->domain == G_RESOLVER_ERROR)
    return g_strdup ("the host name did not resolve");
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_strdup ("connection refused");
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_strdup ("timed out");
  return g_strdup_printf ("%s %d", g_quark_to_string (error->domain), error->code);
}

static gboolean on_timer (gpointer user_data);

static void
schedule (BankCallbacks *self)
{
  g_autoptr(GError) error = NULL;
  gint64 next = bank_store_callbacks_next (self->store, &error);
  gint64 wait;

  g_clear_handle_id (&self->timer, g_source_remove);
  if (error != NULL)
    g_warning ("callbacks: %s", error->message);
  if (next == 0)
    return;
  /* At least a second: a callback still in flight may already be due. */
  wait = CLAMP (next - now_seconds (), 1, MAX_BACKOFF);
  self->timer = g_timeout_add_seconds ((guint) wait, on_timer, self);
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autofree Delivery *delivery = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  BankCallbacks *self;
  guint status;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* shutting down: @self may be gone; the row is retried next start */

  self = delivery->self;
  g_hash_table_remove (self->in_flight, &delivery->id);
  status = body != NULL ? soup_message_get_status (msg) : 0;
  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_autoptr(GError) local = NULL;

      if (!bank_store_callback_done (self->store, delivery->id, delivery->attempts, 0,
                                     now_seconds (), status, &local))
        g_warning ("callbacks: %s", local->message);
      g_info ("callback %" G_GINT64_FORMAT " delivered", delivery->id);
    }
  else
    {
      g_autofree char *why = failure_text (error, status);

      g_message ("callback %" G_GINT64_FORMAT " attempt %" G_GINT64_FORMAT " failed (%s); "
                 "retrying in %" G_GINT64_FORMAT " s", delivery->id, delivery->attempts, why,
                 backoff (delivery->attempts));
    }
  schedule (self);
}

static void
send_one (BankCallbacks *self,
          BankCallback  *cb)
{
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", cb->url);
  g_autoptr(GBytes) body = g_bytes_new (cb->body, strlen (cb->body));
  g_autoptr(GError) error = NULL;
  g_autofree char *signature = NULL;
  gint64 now = now_seconds ();
  gint64 attempts = cb->attempts + 1;
  Delivery *delivery;

  /* The next attempt is booked before this one leaves: a crash in between
   * retries it later rather than never. */
  if (!bank_store_callback_done (self->store, cb->id, attempts, now + backoff (attempts), 0, 0,
                                 &error))
    {
      g_warning ("callbacks: %s", error->message);
      return;
    }
  if (msg == NULL)
    {
      g_warning ("callback %" G_GINT64_FORMAT ": invalid URL", cb->id);
      return;
    }
  signature = onepin_signature_header (self->key, now, cb->body, strlen (cb->body));
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Onepin-Bank-Signature",
                                signature);
  soup_message_set_request_body_from_bytes (msg, "application/json; charset=utf-8", body);

  delivery = g_new0 (Delivery, 1);
  delivery->self = self;
  delivery->id = cb->id;
  delivery->attempts = attempts;
  g_hash_table_add (self->in_flight, g_memdup2 (&cb->id, sizeof cb->id));
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    on_sent, delivery);
}

static void
run (BankCallbacks *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) due = NULL;

  due = bank_store_callbacks_due (self->store, now_seconds (), BATCH, &error);
  if (due == NULL)
    g_warning ("callbacks: %s", error->message);
  for (guint i = 0; due != NULL && i < due->len; i++)
    {
      BankCallback *cb = due->pdata[i];

      if (!g_hash_table_contains (self->in_flight, &cb->id))
        send_one (self, cb);
    }
  schedule (self);
}

static gboolean
on_timer (gpointer user_data)
{
  BankCallbacks *self = user_data;

  self->timer = 0;
  run (self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_idle (gpointer user_data)
{
  BankCallbacks *self = user_data;

  self->idle = 0;
  run (self);
  return G_SOURCE_REMOVE;
}

BankCallbacks *
bank_callbacks_new (BankStore *store,
                    OnepinKey *key)
{
  BankCallbacks *self = g_new0 (BankCallbacks, 1);

  self->store = store;
  self->key = key;
  self->session = soup_session_new_with_options ("timeout", SEND_TIMEOUT,
                                                 "user-agent", "onepin-bank", NULL);
  self->cancellable = g_cancellable_new ();
  self->in_flight = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  return self;
}

void
bank_callbacks_kick (BankCallbacks *self)
{
  if (self->idle == 0)
    self->idle = g_idle_add (on_idle, self);
}

void
bank_callbacks_free (BankCallbacks *self)
{
  if (self == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->idle, g_source_remove);
  g_clear_handle_id (&self->timer, g_source_remove);
  soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->in_flight, g_hash_table_unref);
  g_free (self);
}
