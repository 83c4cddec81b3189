/* gw-outbox.c: the delivery worker for queued e-mail and SMS messages
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Exactly once, as far as it can be: a message is queued in the transaction
 * of the money movement it reports, so it exists if and only if the movement
 * committed. The worker claims it (a lease: its next attempt moves into the
 * future and the attempt is counted, durably) before sending, and marks it
 * delivered only after the server accepted it. A crash between the two sends
 * it again once the lease has run out; its Message-ID, derived from the
 * outbox id, is the same both times, so the copy is recognisable. A failure
 * schedules the next attempt, with a doubling wait up to a cap, until the
 * message is older than give_up_after.
 *
 * Each channel (e-mail, SMS) has a thread of its own, a lane, so that a mail
 * server that hangs delays no SMS. A lane that finds its server unreachable,
 * or refusing us (not a recipient), holds the rest of its claims back,
 * untried, for retry_initial, instead of trying each in vain.
 */
#include "gw-outbox.h"

#include <string.h>

#include "gw-mime.h"
#include "gw-notify.h"
#include "gw-outbox-store.h"
#include "gw-templates.h"
#include "gw-transport.h"
#include "onepin-json.h"

#define CLAIM_LIMIT 16
#define STOP_GRACE_SECONDS 5        /* a message being sent at a stop may finish */

typedef struct
{
  GwOutbox *self;
  gboolean  done;
  GError   *error;
} Sync;

typedef struct
{
  GwOutbox   *self;
  const char *type;                 /* "email" or "sms" */
  GThread    *thread;
  gboolean    wake;                 /* under self->lock */
  gint64      held_until;           /* the server unreachable: try nothing before */
  char       *held_because;
} Lane;

struct _GwOutbox
{
  GwStore      *store;
  GMainContext *context;
  GwSmtp       *smtp;
  GwSms        *sms;
  char         *mail_domain;        /* of the sender address, for Message-IDs */
  char         *starttls;           /* the effective [smtp] starttls, for the log */
  gint64        retry_initial;
  gint64        retry_max;
  gint64        give_up_after;
  gint64        lease;
  gint64        poll_interval;

  Lane          lanes[2];
  guint         n_lanes;
  GMutex        lock;
  GCond         cond;
  gboolean      stopping;
  GSource      *grace;              /* from the stop's beginning, then cancels sends */
  GCancellable *cancellable;
  gint          finished;           /* lanes whose thread has finished */
};

/* Store operations, run synchronously from the worker thread */

static void
sync_done (gpointer      data,
           const GError *error)
{
  Sync *sync = data;
  GwOutbox *self = sync->self;

  g_mutex_lock (&self->lock);
  sync->error = error ? g_error_copy (error) : NULL;
  sync->done = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* The completion comes on the main context, so gw_outbox_stop () keeps that
 * context running until the worker has finished. */
static gboolean
run_sync (GwOutbox          *self,
          GwStoreApplyFunc   apply,
          Sync              *sync,
          GError           **error)
{
  sync->self = self;
  gw_store_submit (self->store, apply, sync_done, sync);
  g_mutex_lock (&self->lock);
  while (!sync->done)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);
  if (sync->error != NULL)
    return g_propagate_error (error, sync->error), FALSE;
  return TRUE;
}

/* Claiming */

typedef struct
{
  Sync        sync;
  const char *type;
  gint64      lease;
  GPtrArray  *messages;             /* GwOutboxMessage * */
  gint64      next_due;             /* the earliest next attempt left, or 0 */
} ClaimOp;

static gboolean
claim_apply (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  ClaimOp *op = data;
  const GwOutboxFuncs *outbox = gw_txn_extension (txn, GW_OUTBOX_STORE);
  GError *local = NULL;

  /* The batch is sent in this order, one message after another, so each
   * message's lease covers the sends before it (see claim). */
  g_clear_pointer (&op->messages, g_ptr_array_unref);
  op->messages = outbox->claim (txn, op->type, op->lease, 0, CLAIM_LIMIT, error);
  if (op->messages == NULL)
    return FALSE;
  op->next_due = outbox->next_due (txn, op->type, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

/* Settling one message */

typedef enum
{
  OUTCOME_DELIVERED,
  OUTCOME_RETRY,
  OUTCOME_GIVE_UP,
  OUTCOME_NOT_TRIED,                /* released untried: the attempt is not counted */
} Outcome;

typedef struct
{
  Sync        sync;
  gint64      id;
  gint64      attempt;            /* the claim's (GwOutboxMessage.attempts) */
  Outcome     outcome;
  gint64      next_attempt;
  const char *error;
} SettleOp;

static gboolean
settle_apply (GwTxn    *txn,
              gpointer  data,
              GError  **error)
{
  SettleOp *op = data;
  const GwOutboxFuncs *outbox = gw_txn_extension (txn, GW_OUTBOX_STORE);

  switch (op->outcome)
    {
    case OUTCOME_DELIVERED:
      return outbox->delivered (txn, op->id, error);
    case OUTCOME_RETRY:
      return outbox->retry (txn, op->id, op->attempt, op->next_attempt, op->error, error);
    case OUTCOME_NOT_TRIED:
      return outbox->release (txn, op->id, op->attempt, op->next_attempt, op->error, error);
    case OUTCOME_GIVE_UP:
    default:
      return outbox->give_up (txn, op->id, op->attempt, op->error, error);
    }
}

/* Sending */

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* retry_initial, doubled for every further attempt, at most retry_max,
 * plus up to a tenth more so that messages failed together spread out. */
static gint64
backoff (GwOutbox *self,
         gint64    attempts)
{
  gint64 delay = self->retry_initial;

  for (gint64 i = 1; i < attempts && delay < self->retry_max; i++)
    delay *= 2;
  delay = MIN (delay, self->retry_max);
  return delay + g_random_int_range (0, (gint32) (delay / 10) + 1);
}

static gboolean
send_email (GwOutbox              *self,
            const GwOutboxMessage *message,
            JsonObject            *payload,
            GError               **error)
{
  const char *locale = onepin_json_get_string (payload, "locale", "ko");
  JsonNode *data = json_object_get_member (payload, "data");
  g_auto(GwEmailContent) content = { 0 };
  g_autofree char *message_id = NULL;
  g_autoptr(GBytes) bytes = NULL;
  GwMimeMessage mime = { 0 };

  if (data == NULL || !JSON_NODE_HOLDS_OBJECT (data) ||
      !gw_template_render_email (onepin_json_get_string (payload, "template", NULL), locale,
                                 json_node_get_object (data), &content, error))
    return FALSE;

  /* The same id at every attempt, so a copy sent twice is recognisable. */
  message_id = g_strdup_printf ("onepin.evt_%" G_GINT64_MODIFIER "x.%" G_GINT64_FORMAT "@%s",
                                message->id, message->created, self->mail_domain);
  mime.from_name = gw_smtp_get_from_name (self->smtp);
  mime.from_address = gw_smtp_get_from (self->smtp);
  mime.to_address = onepin_json_get_string (payload, "to", NULL);
  mime.subject = content.subject;
  mime.message_id = message_id;
  mime.date = message->created;
  mime.language = g_str_equal (locale, "en") ? "en" : "ko";
  mime.text = content.text;
  mime.html = content.html;
  bytes = gw_mime_build (&mime, error);
  return bytes != NULL &&
         gw_smtp_send (self->smtp, mime.to_address, bytes, self->cancellable, error);
}

static gboolean
send_sms (GwOutbox              *self,
          const GwOutboxMessage *message,
          JsonObject            *payload,
          GError               **error)
{
  const char *to = onepin_json_get_string (payload, "to", NULL);
  JsonNode *data = json_object_get_member (payload, "data");
  g_autofree char *text = NULL;
  g_autofree char *key = NULL;

  if (data == NULL || !JSON_NODE_HOLDS_OBJECT (data))
    return g_set_error_literal (error, GW_TEMPLATE_ERROR, GW_TEMPLATE_ERROR_DATA,
                                "The message has no data"), FALSE;
  text = gw_template_render_sms (onepin_json_get_string (payload, "template", NULL),
                                 onepin_json_get_string (payload, "locale", "ko"),
                                 json_node_get_object (data), error);
  if (text == NULL)
    return FALSE;
  if (to == NULL || *to == '\0' || strlen (to) > 32)
    return g_set_error_literal (error, GW_TEMPLATE_ERROR, GW_TEMPLATE_ERROR_DATA,
                                "The phone number is not valid"), FALSE;
  key = g_strdup_printf ("evt_%" G_GINT64_MODIFIER "x", message->id);
  return gw_sms_send (self->sms, to, text, key, self->cancellable, error);
}

static gboolean
send_message (GwOutbox              *self,
              const GwOutboxMessage *message,
              GError               **error)
{
  g_autoptr(GBytes) plain = gw_notify_open (message->type, message->payload, error);
  g_autoptr(JsonObject) payload = NULL;
  gsize len;
  const char *text;

  if (plain == NULL)
    return FALSE;
  text = g_bytes_get_data (plain, &len);
  payload = onepin_json_parse_object (text, len, error);
  if (payload == NULL)
    return FALSE;
  if (g_str_equal (message->type, "email"))
    return send_email (self, message, payload, error);
  return send_sms (self, message, payload, error);
}

static void
log_outcome (const GwOutboxMessage *message,
             const SettleOp        *op,
             gint64                 now)
{
  switch (op->outcome)
    {
    case OUTCOME_DELIVERED:
      g_info ("outbox: delivered %s evt_%" G_GINT64_MODIFIER "x (attempt %" G_GINT64_FORMAT ")",
              message->type, message->id, message->attempts);
      break;
    case OUTCOME_RETRY:
      g_warning ("outbox: %s evt_%" G_GINT64_MODIFIER "x, attempt %" G_GINT64_FORMAT
                 ": %s; next in %" G_GINT64_FORMAT " s", message->type, message->id,
                 message->attempts, op->error, op->next_attempt - now);
      break;
    case OUTCOME_GIVE_UP:
      g_warning ("outbox: gave up %s evt_%" G_GINT64_MODIFIER "x after %" G_GINT64_FORMAT
                 " attempts: %s", message->type, message->id, message->attempts, op->error);
      break;
    case OUTCOME_NOT_TRIED:
      break;
    }
}

static void
settle (GwOutbox              *self,
        const GwOutboxMessage *message,
        SettleOp              *op)
{
  g_autoptr(GError) error = NULL;

  if (!run_sync (self, settle_apply, &op->sync, &error))
    g_warning ("outbox: cannot record the outcome of evt_%" G_GINT64_MODIFIER "x: %s",
               message->id, error->message);
}

/* Sends @message and records the outcome. Returns the time until which the
 * lane should hold its other messages back, the server being unreachable or
 * refusing us, or 0. */
static gint64
deliver (GwOutbox              *self,
         const GwOutboxMessage *message)
{
  g_autoptr(GError) error = NULL;
  SettleOp op = { .id = message->id, .attempt = message->attempts };
  gint64 now;

  if (send_message (self, message, &error))
    op.outcome = OUTCOME_DELIVERED;
  now = now_seconds ();
  if (error != NULL)
    {
      op.error = error->message;
      if (g_error_matches (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_CANCELLED))
        op.outcome = OUTCOME_RETRY, op.next_attempt = now;
      else if (gw_transport_error_is_transient (error) &&
               now < message->created + self->give_up_after)
        op.outcome = OUTCOME_RETRY, op.next_attempt = now + backoff (self, message->attempts);
      else
        op.outcome = OUTCOME_GIVE_UP;
    }

  log_outcome (message, &op, now);
  settle (self, message, &op);
  /* A server that refuses us would refuse every message the same way: a
   * configuration to fix, not messages to give up. */
  if (g_error_matches (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_REFUSED_US))
    g_warning ("outbox: the %s server refuses to take messages; they stay queued and are "
               "retried until given up after %" G_GINT64_FORMAT " s: %s", message->type,
               self->give_up_after, error->message);
  /* Not the message's own backoff, which grows to retry_max while the
   * server is down: new messages would wait that long after it is back. */
  if (g_error_matches (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_UNREACHABLE) ||
      g_error_matches (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_REFUSED_US))
    return now + MAX (self->retry_initial, 1);
  return 0;
}

/* A claimed message not sent, because of a stop (due again at once) or
 * because its server was just found unreachable (due when the lane's hold
 * ends): its attempt is not counted. One that has waited for longer
 * than give_up_after is given up. */
static void
release (GwOutbox              *self,
         const GwOutboxMessage *message,
         gint64                 next_attempt,
         const char            *reason)
{
  SettleOp op = { .id = message->id, .attempt = message->attempts,
                  .outcome = OUTCOME_NOT_TRIED, .next_attempt = next_attempt, .error = reason };

  if (reason != NULL && now_seconds () >= message->created + self->give_up_after)
    {
      op.outcome = OUTCOME_GIVE_UP;
      log_outcome (message, &op, now_seconds ());
    }
  settle (self, message, &op);
}

/* The worker */

static gboolean
stopping (GwOutbox *self)
{
  gboolean stop;

  g_mutex_lock (&self->lock);
  stop = self->stopping;
  g_mutex_unlock (&self->lock);
  return stop;
}

/* Sleeps until @due (unix seconds; 0 for none), a wake-up or a stop, and at
 * most poll_interval, which picks up messages queued by other processes. */
static void
wait_until (Lane   *lane,
            gint64  due)
{
  GwOutbox *self = lane->self;
  gint64 seconds = self->poll_interval;
  gint64 end;

  if (due > 0)
    seconds = CLAMP (due - now_seconds (), 0, seconds);
  end = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  g_mutex_lock (&self->lock);
  while (!lane->wake && !self->stopping)
    if (!g_cond_wait_until (&self->cond, &self->lock, end))
      break;
  lane->wake = FALSE;
  g_mutex_unlock (&self->lock);
}

/* Sends a claimed batch one message after another. After a message found
 * the server unreachable, the lane tries no other for a while: each would
 * wait out the same connect or read timeout. */
static void
send_batch (Lane      *lane,
            GPtrArray *messages)
{
  GwOutbox *self = lane->self;

  for (guint i = 0; i < messages->len; i++)
    {
      const GwOutboxMessage *message = g_ptr_array_index (messages, i);
      gint64 held_until;

      if (stopping (self))
        release (self, message, now_seconds (), NULL);
      else if (lane->held_until > now_seconds ())
        release (self, message, lane->held_until, lane->held_because);
      else if ((held_until = deliver (self, message)) > 0)
        {
          lane->held_until = held_until;
          g_free (lane->held_because);
          lane->held_because = g_strdup_printf ("not tried: evt_%" G_GINT64_MODIFIER "x found "
                                                "the server unreachable or refusing", message->id);
        }
    }
}

static gpointer
lane_main (gpointer data)
{
  Lane *lane = data;
  GwOutbox *self = lane->self;

  while (!stopping (self))
    {
      g_autoptr(GError) error = NULL;
      ClaimOp op = { .type = lane->type, .lease = self->lease };

      if (!run_sync (self, claim_apply, &op.sync, &error))
        {
          if (!g_error_matches (error, GW_STORE_ERROR, GW_STORE_ERROR_SHUTTING_DOWN))
            g_warning ("outbox: cannot claim %s messages: %s", lane->type, error->message);
          /* Nothing of a failed claim was committed. */
          g_clear_pointer (&op.messages, g_ptr_array_unref);
          op.next_due = now_seconds () + self->retry_initial;
        }
      if (op.messages != NULL && op.messages->len > 0)
        send_batch (lane, op.messages);
      else
        wait_until (lane, op.next_due);
      g_clear_pointer (&op.messages, g_ptr_array_unref);
    }

  g_atomic_int_inc (&self->finished);
  g_main_context_wakeup (self->context);
  return NULL;
}

static void
on_enqueue (const char *type,
            gpointer    data)
{
  GwOutbox *self = data;

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->n_lanes; i++)
    if (g_str_equal (self->lanes[i].type, type))
      self->lanes[i].wake = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static char *
address_domain (const char *address)
{
  const char *at = strrchr (address, '@');

  return g_ascii_strdown (at ? at + 1 : "onepin.invalid", -1);
}

GwOutbox *
gw_outbox_new (const GwConfig  *config,
               GwStore         *store,
               GError         **error)
{
  g_autoptr(GwOutbox) self = g_new0 (GwOutbox, 1);

  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->store = g_object_ref (store);
  self->context = g_main_context_ref_thread_default ();
  self->cancellable = g_cancellable_new ();
  self->retry_initial = config->outbox_retry_initial;
  self->retry_max = config->outbox_retry_max;
  self->give_up_after = config->outbox_give_up_after;
  self->lease = config->outbox_lease;
  self->poll_interval = config->outbox_poll_interval;

  if (config->smtp_url != NULL && !gw_mime_address_valid (config->smtp_from))
    return g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                "[smtp] from is not a valid e-mail address"), NULL;
  self->mail_domain = address_domain (config->smtp_from);
  self->starttls = g_strdup (gw_config_smtp_starttls (config));
  gw_transport_init ();
  self->smtp = gw_smtp_new (config, error);
  if (self->smtp == NULL && config->smtp_url != NULL)
    return NULL;
  self->sms = gw_sms_new (config, error);
  if (self->sms == NULL && config->sms_url != NULL)
    return NULL;
  return g_steal_pointer (&self);
}

static void
lane_start (GwOutbox   *self,
            const char *type)
{
  Lane *lane = &self->lanes[self->n_lanes++];
  g_autofree char *name = g_strconcat ("gw-outbox-", type, NULL);

  lane->self = self;
  lane->type = type;
  lane->thread = g_thread_new (name, lane_main, lane);
}

void
gw_outbox_start (GwOutbox *self)
{
  g_info ("outbox: e-mail %s%s%s, SMS %s", self->smtp ? "on (starttls " : "off (no [smtp] url)",
          self->smtp ? self->starttls : "", self->smtp ? ")" : "",
          self->sms ? "on" : "off (no [sms] url)");
  if (self->n_lanes > 0 || (self->smtp == NULL && self->sms == NULL))
    return;
  if (self->smtp != NULL)
    lane_start (self, "email");
  if (self->sms != NULL)
    lane_start (self, "sms");
  /* After the lanes exist: each claims at once what is already queued. */
  gw_notify_set_wakeup (on_enqueue, self);
}

static gboolean
cancel_sending (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

void
gw_outbox_stop_begin (GwOutbox *self)
{
  if (self == NULL || self->n_lanes == 0 || self->grace != NULL)
    return;
  gw_notify_set_wakeup (NULL, NULL);
  g_mutex_lock (&self->lock);
  self->stopping = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  /* Fires on whoever turns the main context meanwhile: the other stops'
   * waits do, so the graces run side by side. */
  self->grace = g_timeout_source_new_seconds (STOP_GRACE_SECONDS);
  g_source_set_callback (self->grace, cancel_sending, self->cancellable, NULL);
  g_source_attach (self->grace, self->context);
}

void
gw_outbox_stop (GwOutbox *self)
{
  if (self->n_lanes == 0)
    return;
  gw_outbox_stop_begin (self);
  while ((guint) g_atomic_int_get (&self->finished) < self->n_lanes)
    g_main_context_iteration (self->context, TRUE);
  g_source_destroy (self->grace);
  g_clear_pointer (&self->grace, g_source_unref);
  for (guint i = 0; i < self->n_lanes; i++)
    {
      g_thread_join (g_steal_pointer (&self->lanes[i].thread));
      g_clear_pointer (&self->lanes[i].held_because, g_free);
    }
  self->n_lanes = 0;
}

void
gw_outbox_free (GwOutbox *self)
{
  if (self == NULL)
    return;
  gw_outbox_stop (self);
  g_clear_object (&self->store);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->smtp, gw_smtp_free);
  g_clear_pointer (&self->sms, gw_sms_free);
  g_free (self->mail_domain);
  g_free (self->starttls);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self);
}
