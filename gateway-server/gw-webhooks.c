/* gw-webhooks.c: the merchant webhook worker
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-webhooks.h"

#include <libsoup/soup.h>
#include <string.h>

#include "gw-api-checkout.h"
#include "gw-checkout-store.h"
#include "gw-net.h"
#include "gw-wait.h"
#include "onepin-signature.h"

#define CHECKOUT(txn) ((const GwCheckoutStoreFuncs *) gw_txn_extension ((txn), "checkout"))
#define BATCH 32
/* Tries under way at once, and of one merchant: a slow endpoint holds a
 * few places for at most [webhooks] timeout each, never the others'. The
 * limit per merchant is ours (the claim's): libsoup's per host would be
 * shared by every merchant on one host (shops on one hosted platform), and
 * a try waiting there for a connection would spend its timeout unsent. */
#define MAX_IN_FLIGHT 128
#define PER_MERCHANT 4
/* libsoup's limits, above ours: a try never waits for a connection but
 * behind one libsoup has not let go of yet. */
#define MAX_CONNECTIONS (2 * MAX_IN_FLIGHT)
#define ORPHAN_BATCH 2000
#define MAX_BACKOFF 3600
#define STOP_GRACE_SECONDS 5   /* tries under way at a stop may finish */
#define SIGNATURE_HEADER "Onepin-Signature"
#define ABANDONED "the last try's outcome was never recorded (the gateway stopped during it)"
#define NO_ENDPOINT "the merchant had no webhook endpoint"

struct _GwWebhooks
{
  GwServer             *server;
  GwStore              *store;
  const GwConfig       *config;
  const GwLedgerConfig *ledger;
  SoupSession          *session;
  GCancellable         *cancellable;
  guint                 timer;
  guint                 pending;       /* store operations and sends not finished */
  gboolean              claiming;      /* a claim is on the writer */
  gboolean              again;         /* look again once the claim on the writer is done */
  gboolean              stopping;
  gint64                grace_ends;       /* monotonic, from the stop's beginning */
  guint                 in_flight;     /* tries sent and not recorded yet */
  GHashTable           *by_merchant;   /* merchant id -> its tries in flight */
};

typedef struct
{
  GwWebhooks *self;
  GPtrArray  *events;                  /* of GwWebhookEvent */
  guint       no_endpoint;
  gint64      abandoned;
  gint64      now;
  guint       limit;
  char       *in_flight;               /* JSON: merchant id -> tries in flight */
} Claim;

typedef struct
{
  GwWebhooks     *self;
  GwWebhookEvent *event;
  guint           status;              /* the endpoint's HTTP status, 0 for none */
  char           *error;
  gboolean        unsent;              /* never got a connection: not a try */
} Outcome;

static void tick (GwWebhooks *self);

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static gint64
backoff (const GwWebhooks *self,
         gint64            attempts)
{
  gint64 delay = self->config->webhooks_retry_base;

  for (gint64 i = 1; i < attempts && delay < MAX_BACKOFF; i++)
    delay *= 2;
  return MIN (delay, MAX_BACKOFF);
}

/* ---- rendering, on the writer ------------------------------------------- */

/* A payment event's object: the payment, as it was when the event happened. */
static gboolean
render_payment_event (GwTxn          *txn,
                      JsonObject     *payload,
                      GString        *out,
                      GError        **error)
{
  GwPayment payment = { 0 };
  const char *status = onepin_json_get_string (payload, "status", NULL);
  GError *local = NULL;

  if (!txn->funcs->payment_get (txn, onepin_json_get_string (payload, "payment", ""), &payment,
                                &local))
    return local == NULL || (g_propagate_error (error, local), FALSE);
  if (status != NULL)
    g_strlcpy (payment.status, status, sizeof payment.status);
  payment.amount_captured = onepin_json_get_int (payload, "amount_captured",
                                                 payment.amount_captured);
  payment.amount_refunded = onepin_json_get_int (payload, "amount_refunded",
                                                 payment.amount_refunded);
  gw_render_payment (out, &payment);
  gw_payment_clear (&payment);
  return TRUE;
}

static gboolean
render_session_event (GwTxn       *txn,
                      GwServer    *server,
                      JsonObject  *payload,
                      GString     *out,
                      GError     **error)
{
  GwCheckoutSession session = { 0 };
  GwPayment payment = { 0 };
  GError *local = NULL;
  gboolean ok = TRUE;

  if (!CHECKOUT (txn)->session_get (txn, onepin_json_get_string (payload, "checkout_session", ""),
                                    &session, &local))
    return local == NULL || (g_propagate_error (error, local), FALSE);
  if (session.payment_id[0] != '\0')
    ok = txn->funcs->payment_get (txn, session.payment_id, &payment, error);
  if (ok)
    gw_checkout_render (out, server, &session, payment.id[0] ? &payment : NULL,
                        txn->funcs->now (txn));
  gw_checkout_session_clear (&session);
  gw_payment_clear (&payment);
  return ok;
}

static gboolean
render_event (GwTxn           *txn,
              GwServer        *server,
              GwWebhookEvent  *event,
              GError         **error)
{
  g_autoptr(JsonObject) payload = onepin_json_parse_object (event->payload,
                                                            strlen (event->payload), NULL);
  GString *out = g_string_sized_new (1024);
  gsize mark;
  gboolean ok = TRUE;

  g_string_append_printf (out, "{\"id\":\"evt_%" G_GINT64_MODIFIER "x\",\"object\":\"event\","
                          "\"type\":", event->id);
  onepin_json_append_string (out, event->type);
  g_string_append_printf (out, ",\"created\":%" G_GINT64_FORMAT ",\"data\":{\"object\":",
                          event->created);
  mark = out->len;
  if (payload != NULL && g_str_has_prefix (event->type, "payment."))
    ok = render_payment_event (txn, payload, out, error);
  else if (payload != NULL && g_str_has_prefix (event->type, "checkout."))
    ok = render_session_event (txn, server, payload, out, error);
  /* An object that is gone (or a payload we do not know): the payload itself. */
  if (ok && out->len == mark)
    g_string_append (out, payload != NULL ? event->payload : "null");
  g_string_append (out, "}}");
  event->body = g_string_free (out, !ok);
  return ok;
}

/* ---- recording a try ---------------------------------------------------- */

/* A try's outcome: @status the endpoint's (0 for none), @message why it
 * failed. */
static gboolean
record_outcome (GwTxn           *txn,
                GwWebhooks      *self,
                GwWebhookEvent  *event,
                guint            status,
                const char      *message,
                GError         **error)
{
  GError *local = NULL;
  gint64 now = txn->funcs->now (txn);

  if (!CHECKOUT (txn)->event_attempt_log (txn, event->id, event->attempts, status, message, now,
                                          error))
    return FALSE;
  if (status >= 200 && status < 300)
    return CHECKOUT (txn)->event_delivered (txn, event->id, now, error);
  if (event->attempts >= self->config->webhooks_max_attempts)
    return CHECKOUT (txn)->event_failed (txn, event->id, now, message, error);
  if (CHECKOUT (txn)->event_lease (txn, event->id, event->attempts, event->attempts,
                                   now + backoff (self, event->attempts), &local))
    return TRUE;
  /* Its lease ran out and a newer claim (maybe another process's) counted
   * another try: the next attempt is that claim's to book, as the outbox's
   * retry from an overtaken claim changes nothing. Re-applying this outcome
   * from fresh reads would find the same. */
  if (g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_CONFLICT))
    return g_clear_error (&local), TRUE;
  return g_propagate_error (error, local), FALSE;
}

/* A try that never got a connection told the endpoint nothing: it is
 * given back uncounted, due at once. */
static gboolean
give_back (GwTxn           *txn,
           GwWebhookEvent  *event,
           GError         **error)
{
  GError *local = NULL;

  if (CHECKOUT (txn)->event_lease (txn, event->id, event->attempts, event->attempts - 1,
                                   txn->funcs->now (txn), &local))
    return TRUE;
  /* Claimed again since (its lease ran out): that claim's now. */
  if (g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_CONFLICT))
    return g_clear_error (&local), TRUE;
  return g_propagate_error (error, local), FALSE;
}

static gboolean
outcome_apply (GwTxn    *txn,
               gpointer  data,
               GError  **error)
{
  Outcome *outcome = data;

  if (outcome->unsent)
    return give_back (txn, outcome->event, error);
  return record_outcome (txn, outcome->self, outcome->event, outcome->status, outcome->error,
                         error);
}

/* ---- claiming ----------------------------------------------------------- */

/* A try's lease runs out timeout + 5 s after its claim. An event with no
 * try left whose lease ran out at least timeout seconds before @now is
 * given up (events_abandon): a try of this process would have been recorded
 * by then, however late (its deadline fires up to a second late, and its
 * outcome waits its turn at the writer). */
static gint64
spent_before (GwWebhooks *self,
              gint64      now)
{
  return now - self->config->webhooks_timeout;
}

static gboolean
claim_apply (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  Claim *claim = data;
  GwWebhooks *self = claim->self;
  /* Longer than a try can take, so no other claim sends it meanwhile. */
  gint64 lease = self->config->webhooks_timeout + 5;
  g_autoptr(GPtrArray) orphans = NULL;

  claim->now = txn->funcs->now (txn);
  /* The merchant removed its endpoint: a failed try, retried with backoff
   * like any other, so that the events go to the endpoint it sets again
   * (they are owed to the merchant, not to a URL), and fail visibly if it
   * never does. They were marked delivered, unsent. */
  orphans = CHECKOUT (txn)->events_no_endpoint (txn, claim->now,
                                                self->config->webhooks_max_attempts, ORPHAN_BATCH,
                                                error);
  if (orphans == NULL)
    return FALSE;
  for (guint i = 0; i < orphans->len; i++)
    {
      GwWebhookEvent *event = orphans->pdata[i];

      /* Counted, as a claimed event's try is, before its outcome. */
      if (!CHECKOUT (txn)->event_lease (txn, event->id, event->attempts - 1, event->attempts,
                                        claim->now, error) ||
          !record_outcome (txn, self, event, 0, NO_ENDPOINT, error))
        return FALSE;
    }
  claim->no_endpoint = orphans->len;
  /* Its last try stopped by a stop or a crash, an event would be neither
   * tried again nor given up. */
  claim->abandoned = CHECKOUT (txn)->events_abandon (txn, claim->now,
                                                     self->config->webhooks_max_attempts,
                                                     spent_before (self, claim->now),
                                                     ABANDONED, error);
  if (claim->abandoned < 0)
    return FALSE;
  claim->events = CHECKOUT (txn)->events_claim (txn, claim->now,
                                                self->config->webhooks_max_attempts,
                                                claim->limit, PER_MERCHANT, claim->in_flight,
                                                error);
  if (claim->events == NULL)
    return FALSE;
  for (guint i = 0; i < claim->events->len; i++)
    {
      GwWebhookEvent *event = claim->events->pdata[i];

      if (!CHECKOUT (txn)->event_lease (txn, event->id, event->attempts - 1, event->attempts,
                                        claim->now + lease, error) ||
          !render_event (txn, self->server, event, error))
        return FALSE;
    }
  return TRUE;
}

static void
count_in_flight (GwWebhooks           *self,
                 const GwWebhookEvent *event,
                 gint                  delta)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->by_merchant, event->merchant_id));

  n += delta;
  self->in_flight += delta;
  if (n == 0)
    g_hash_table_remove (self->by_merchant, event->merchant_id);
  else
    g_hash_table_insert (self->by_merchant, g_strdup (event->merchant_id), GUINT_TO_POINTER (n));
}

/* A place is free: its merchant (or another) may have events waiting for
 * it, and waiting for the timer held a merchant to PER_MERCHANT events per
 * poll_interval however fast its endpoint answered. tick () reads first,
 * so with nothing due this costs a count and never wakes the writer; it
 * runs once per finished try, so it cannot spin. */
static void
look_again (GwWebhooks *self)
{
  if (self->claiming)
    self->again = TRUE;
  else
    tick (self);
}

/* A try is over (recorded, or dropped at a stop). */
static void
try_finished (GwWebhooks     *self,
              GwWebhookEvent *event)
{
  count_in_flight (self, event, -1);
  gw_webhook_event_free (event);
  look_again (self);
  /* Last: a stop frees us once nothing is pending, and while it waits the
   * writer may run this on its own thread (g_main_context_invoke_full). */
  self->pending--;
}

static void
outcome_done (gpointer      data,
              const GError *error)
{
  Outcome *outcome = data;
  GwWebhooks *self = outcome->self;
  GwWebhookEvent *event = outcome->event;
  gboolean delivered = outcome->status >= 200 && outcome->status < 300;

  if (error != NULL)
    g_warning ("webhook evt_%" G_GINT64_MODIFIER "x: %s", event->id, error->message);
  else if (outcome->unsent)
    g_message ("webhook evt_%" G_GINT64_MODIFIER "x: no connection to its endpoint within %"
               G_GINT64_FORMAT " s; not counted as a try, again at once", event->id,
               self->config->webhooks_timeout);
  else if (delivered)
    g_info ("webhook evt_%" G_GINT64_MODIFIER "x delivered", event->id);
  else if (event->attempts >= self->config->webhooks_max_attempts)
    g_warning ("webhook evt_%" G_GINT64_MODIFIER "x: giving up after %" G_GINT64_FORMAT
               " tries", event->id, event->attempts);
  else
    g_message ("webhook evt_%" G_GINT64_MODIFIER "x try %" G_GINT64_FORMAT " failed (%s); "
               "again in %" G_GINT64_FORMAT " s", event->id, event->attempts,
               outcome->error ? outcome->error : "?", backoff (self, event->attempts));
  g_free (outcome->error);
  g_free (outcome);
  try_finished (self, event);
}

static void
submit_outcome (GwWebhooks     *self,
                GwWebhookEvent *event,
                guint           status,
                const char     *message,
                gboolean        unsent)
{
  Outcome *outcome = g_new0 (Outcome, 1);

  outcome->self = self;
  outcome->event = event;
  outcome->status = status;
  outcome->error = g_strdup (message);
  outcome->unsent = unsent;
  gw_store_submit (self->store, outcome_apply, outcome_done, outcome);
}

static void
record_try (GwWebhooks     *self,
            GwWebhookEvent *event,
            guint           status,
            const char     *message)
{
  submit_outcome (self, event, status, message, FALSE);
}

/* ---- sending ------------------------------------------------------------ */

typedef struct
{
  GwWebhooks     *self;
  GwWebhookEvent *event;
  GCancellable   *cancellable;   /* this try's: at its deadline, or at a stop */
  guint           deadline;
  gulong          stop_handler;
  gboolean        timed_out;
  gboolean        stopped;       /* cut by a stop, after its grace */
  gboolean        not_public;    /* its connection reached an internal address */
  gboolean        connecting;    /* libsoup began a connection for it */
} Send;

static void
send_free (Send *send)
{
  g_clear_handle_id (&send->deadline, g_source_remove);
  g_cancellable_disconnect (send->self->cancellable, send->stop_handler);
  g_clear_object (&send->cancellable);
  g_free (send);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Send, send_free)

/* libsoup's timeout is for silence: an endpoint that sends a byte now and
 * then would hold its try (and its place) for ever. Each try has the
 * whole [webhooks] timeout, from sending to the answer's status line. */
static gboolean
on_deadline (gpointer user_data)
{
  Send *send = user_data;

  send->deadline = 0;
  send->timed_out = TRUE;
  g_cancellable_cancel (send->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_stop (GCancellable *stop,
         gpointer      user_data)
{
  Send *send = user_data;

  send->stopped = TRUE;
  g_cancellable_cancel (send->cancellable);
}

/* libsoup began to connect for the try: it left libsoup's queue. Every try
 * is a POST, which libsoup sends on a connection of its own (not
 * idempotent), so every try that is sent passes here.
 *
 * Registration refuses internal addresses it can see, but a name may
 * resolve to one, or resolve to another one by the time of a try (DNS
 * rebinding): what counts is the address connected to. At CONNECTED the
 * TCP connection is made and nothing is written on it; cancelling there
 * fails GSocketClient's connect before libsoup starts TLS or writes the
 * request. */
static void
on_network_event (SoupMessage        *msg,
                  GSocketClientEvent  event,
                  GIOStream          *connection,
                  gpointer            user_data)
{
  Send *send = user_data;
  g_autoptr(GSocketAddress) peer = NULL;

  send->connecting = TRUE;
  if (event != G_SOCKET_CLIENT_CONNECTED || send->self->config->webhooks_allow_private)
    return;
  if (G_IS_SOCKET_CONNECTION (connection))
    peer = g_socket_connection_get_remote_address (G_SOCKET_CONNECTION (connection), NULL);
  /* An address that cannot be read is not known to be public. */
  if (G_IS_INET_SOCKET_ADDRESS (peer) &&
      gw_net_address_is_public (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (peer))))
    return;
  send->not_public = TRUE;
  g_cancellable_cancel (send->cancellable);
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(Send) send = user_data;
  GwWebhooks *self = send->self;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  guint status;

  g_signal_handlers_disconnect_by_data (msg, send);
  /* Only the status counts: the answer's body is never read, so an
   * endpoint cannot make us hold or wait for one. */
  stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (stream != NULL)
    g_input_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  if (send->stopped)
    /* Its lease brings it back at the next start. An answer that came
     * within the stop's grace is recorded like any other. */
    return try_finished (self, send->event);
  /* Still waiting for a connection at its deadline: nothing was sent. */
  if (send->timed_out && !send->connecting)
    return submit_outcome (self, send->event, 0, NULL, TRUE);
  status = stream != NULL ? soup_message_get_status (msg) : 0;
  if (send->not_public)
    reason = g_strdup ("the endpoint's address is not public");
  else if (send->timed_out)
    reason = g_strdup_printf ("no answer within %" G_GINT64_FORMAT " s",
                              self->config->webhooks_timeout);
  else if (error != NULL)
    reason = g_strdup (error->message);
  else if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    reason = g_strdup_printf ("HTTP %u", status);
  record_try (self, send->event, status, reason);
}

static GBytes *
open_sealed (GwWebhooks *self,
             GBytes     *sealed,
             const char *aad)
{
  return onepin_key_open (self->ledger->seal_key, g_bytes_get_data (sealed, NULL),
                          g_bytes_get_size (sealed), aad, strlen (aad), NULL);
}

static char *
bytes_text (GBytes *bytes)
{
  return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* Onepin-Signature: t=…,v1=… under the secret, and while the one it
 * replaced still signs, a second v1 under that one (an endpoint checks
 * each v1 it knows, so it may switch secrets when it likes). */
static char *
sign_event (GwWebhooks     *self,
            GwWebhookEvent *event,
            GBytes         *secret)
{
  g_autoptr(GBytes) previous = event->previous_sealed ?
                               open_sealed (self, event->previous_sealed, event->merchant_id) :
                               NULL;
  gint64 now = now_seconds ();
  gsize len = strlen (event->body);
  g_autoptr(OnepinKey) key = onepin_key_new_hmac (g_bytes_get_data (secret, NULL),
                                                  g_bytes_get_size (secret), NULL);
  g_autoptr(OnepinKey) old = NULL;
  g_autofree char *second = NULL;
  g_autofree char *header = onepin_signature_header (key, now, event->body, len);

  if (previous == NULL)
    return g_steal_pointer (&header);
  old = onepin_key_new_hmac (g_bytes_get_data (previous, NULL), g_bytes_get_size (previous),
                             NULL);
  second = onepin_signature_header (old, now, event->body, len);
  return g_strconcat (header, strstr (second, ",v1="), NULL);
}

static void
send_event (GwWebhooks     *self,
            GwWebhookEvent *event)
{
  g_autofree char *url_aad = g_strconcat ("webhook-url\n", event->merchant_id, NULL);
  g_autoptr(GBytes) url = open_sealed (self, event->url_sealed, url_aad);
  g_autoptr(GBytes) secret = open_sealed (self, event->secret_sealed, event->merchant_id);
  g_autofree char *url_text = url ? bytes_text (url) : NULL;
  g_autoptr(SoupMessage) msg = url_text ? soup_message_new ("POST", url_text) : NULL;
  g_autofree char *signature = NULL;
  g_autoptr(GBytes) body = NULL;
  Send *send;

  if (msg == NULL || secret == NULL)
    return record_try (self, event, 0, "the endpoint or the secret does not open");
  /* Stored before registration checked it so: not looked up nor tried. */
  if (!gw_net_url_authority_ok (url_text))
    return record_try (self, event, 0, "the endpoint's URL is not valid");
  signature = sign_event (self, event, secret);
  body = g_bytes_new (event->body, strlen (event->body));
  soup_message_headers_replace (soup_message_get_request_headers (msg), SIGNATURE_HEADER,
                                signature);
  soup_message_set_request_body_from_bytes (msg, "application/json; charset=utf-8", body);
  /* A redirect is a failed try: followed, it would be re-sent as a GET,
   * perhaps elsewhere, and its answer taken for delivery. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  send = g_new0 (Send, 1);
  send->self = self;
  send->event = event;
  send->cancellable = g_cancellable_new ();
  send->stop_handler = g_cancellable_connect (self->cancellable, G_CALLBACK (on_stop), send,
                                              NULL);
  send->deadline = g_timeout_add_seconds (self->config->webhooks_timeout, on_deadline, send);
  g_signal_connect (msg, "network-event", G_CALLBACK (on_network_event), send);
  soup_session_send_async (self->session, msg, G_PRIORITY_DEFAULT, send->cancellable,
                           on_sent, send);
}

static void
claim_done (gpointer      data,
            const GError *error)
{
  g_autofree Claim *claim = data;
  GwWebhooks *self = claim->self;
  g_autoptr(GPtrArray) events = claim->events;

  if (error != NULL)
    g_warning ("webhooks: claiming failed: %s", error->message);
  else if (claim->abandoned > 0)
    g_warning ("webhooks: gave up %" G_GINT64_FORMAT " events whose last try was cut short",
               claim->abandoned);
  /* A full claim leaves more due; a try that finished meanwhile a place. */
  self->again = self->again ||
                (error == NULL && (claim->no_endpoint == ORPHAN_BATCH ||
                                   (events != NULL && events->len == claim->limit)));
  /* When stopping, the claimed events' leases bring them back next time. */
  while (error == NULL && !self->stopping && events != NULL && events->len > 0)
    {
      GwWebhookEvent *event = g_ptr_array_steal_index (events, 0);

      self->pending++;
      count_in_flight (self, event, +1);
      send_event (self, event);
    }
  g_free (claim->in_flight);
  self->claiming = FALSE;
  self->pending--;
  if (self->again && !self->stopping)
    tick (self);
}

/* ---- polling ------------------------------------------------------------ */

typedef struct
{
  GwWebhooks *self;
  gint64      due;
} DueRead;

static gboolean
due_apply (GwTxn    *txn,
           gpointer  data,
           GError  **error)
{
  DueRead *read = data;

  gint64 now = txn->funcs->now (txn);

  read->due = CHECKOUT (txn)->events_due (txn, now, read->self->config->webhooks_max_attempts,
                                          spent_before (read->self, now), error);
  return read->due >= 0;
}

static char *
in_flight_json (GwWebhooks *self)
{
  GString *out = g_string_new ("{");
  GHashTableIter iter;
  gpointer id, n;

  g_hash_table_iter_init (&iter, self->by_merchant);
  while (g_hash_table_iter_next (&iter, &id, &n))
    {
      if (out->len > 1)
        g_string_append_c (out, ',');
      onepin_json_append_string (out, id);
      g_string_append_printf (out, ":%u", GPOINTER_TO_UINT (n));
    }
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/* A cheap read first, so an idle gateway does not wake its writer. */
static void
tick (GwWebhooks *self)
{
  DueRead read = { .self = self };
  g_autoptr(GError) error = NULL;
  Claim *claim;

  if (self->claiming || self->stopping || self->in_flight >= MAX_IN_FLIGHT)
    return;
  self->again = FALSE;
  if (!gw_store_read (self->store, due_apply, &read, &error))
    {
      g_warning ("webhooks: %s", error->message);
      return;
    }
  if (read.due == 0)
    return;
  claim = g_new0 (Claim, 1);
  claim->self = self;
  claim->limit = MIN (BATCH, MAX_IN_FLIGHT - self->in_flight);
  claim->in_flight = in_flight_json (self);
  self->claiming = TRUE;
  self->pending++;
  gw_store_submit (self->store, claim_apply, claim_done, claim);
}

static gboolean
on_timer (gpointer user_data)
{
  tick (user_data);
  return G_SOURCE_CONTINUE;
}

GwWebhooks *
gw_webhooks_start (GwServer *server)
{
  GwWebhooks *self = g_new0 (GwWebhooks, 1);

  self->server = server;
  self->store = gw_server_get_store (server);
  self->config = gw_server_get_config (server);
  self->ledger = gw_server_get_ledger_config (server);
  self->session = soup_session_new_with_options ("timeout", self->config->webhooks_timeout,
                                                 "user-agent", "onepin-webhooks/1",
                                                 "max-conns", MAX_CONNECTIONS,
                                                 "max-conns-per-host", MAX_CONNECTIONS, NULL);
  /* Through a proxy the address connected to would be the proxy's, and
   * where the request goes the proxy's to decide: direct, or no check. */
  if (!self->config->webhooks_allow_private)
    soup_session_set_proxy_resolver (self->session, NULL);
  self->by_merchant = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->cancellable = g_cancellable_new ();
  /* The first look is the timer's, once the main loop runs. */
  self->timer = g_timeout_add_seconds (self->config->webhooks_poll_interval, on_timer, self);
  return self;
}

static gboolean
nothing_pending (gpointer data)
{
  GwWebhooks *self = data;

  return self->pending == 0;
}

void
gw_webhooks_stop_begin (GwWebhooks *self)
{
  if (self == NULL || self->stopping)
    return;
  self->stopping = TRUE;
  g_clear_handle_id (&self->timer, g_source_remove);
  self->grace_ends = g_get_monotonic_time () + STOP_GRACE_SECONDS * G_USEC_PER_SEC;
}

void
gw_webhooks_stop (GwWebhooks *self)
{
  if (self == NULL)
    return;
  gw_webhooks_stop_begin (self);
  /* Tries under way get a grace, as the e-mail and SMS lanes' sends: cut
   * at once, an answer already on its way was lost, the event sent again
   * after the restart and its try missing from webhook_attempts. Their
   * outcomes, and what the writer still owes us, come back on this
   * context; the writer runs until we return. */
  gw_wait_until_time (NULL, self->grace_ends, nothing_pending, self);
  g_cancellable_cancel (self->cancellable);
  if (!gw_wait_until (NULL, 5, nothing_pending, self))
    {
      g_warning ("webhooks: stopping with %u tries unrecorded", self->pending);
      return;   /* their completions still point here: leave it */
    }
  soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->by_merchant, g_hash_table_unref);
  g_free (self);
}
