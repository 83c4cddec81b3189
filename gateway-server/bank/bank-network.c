/* bank-network.c: the sandbox card network's switch
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "bank-network.h"
#include "onepin-iso8583.h"
#include "onepin-json.h"
#include "onepin-signature.h"

#include <libsoup/soup.h>
#include <string.h>

#define ADVICE_BATCH 16
#define MAX_BACKOFF 60
#define SIGNATURE_HEADER "Onepin-Signature"

typedef struct
{
  char  low[12];
  char  high[12];
} BinRange;

struct _BankNetwork
{
  BankStore         *store;
  OnepinKey         *key;
  char              *issuer_url;
  char              *issuer_url_file;
  GArray            *bins;             /* of BinRange */
  SoupSession       *session;
  GCancellable      *cancellable;
  GHashTable        *advices_in_flight;
  BankNetworkSettle  settle;
  gpointer           settle_data;
  gint64             give_up;          /* seconds after a message's first try */
  guint              idle;
  guint              timer;
};

typedef struct
{
  BankNetwork     *self;
  char            *mti;           /* the answer's expected type */
  char            *stan;
  char            *transmitted;
  BankNetworkDone  done;
  gpointer         user_data;
  gboolean         quiet;         /* a failure is not logged */
} Pending;

static void
pending_free (Pending *pending)
{
  g_free (pending->mti);
  g_free (pending->stan);
  g_free (pending->transmitted);
  g_free (pending);
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* ---- BIN ranges --------------------------------------------------------- */

static gboolean
parse_bins (BankNetwork  *self,
            const char   *text,
            GError      **error)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *part = g_strstrip (parts[i]);
      char *dash = strchr (part, '-');
      const char *high = dash ? dash + 1 : part;
      gsize low_len = dash ? (gsize) (dash - part) : strlen (part);
      BinRange range = { 0 };

      if (low_len < 1 || low_len > 11 || strlen (high) != low_len ||
          strspn (part, "0123456789") != low_len || strspn (high, "0123456789") != low_len ||
          strncmp (part, high, low_len) > 0)
        return g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "--issuer-bins: \"%s\" is not a prefix or a LOW-HIGH range of "
                            "prefixes of one length", part), FALSE;
      memcpy (range.low, part, low_len);
      memcpy (range.high, high, low_len);
      g_array_append_val (self->bins, range);
    }
  return TRUE;
}

gboolean
bank_network_routes (BankNetwork *self,
                     const char  *number)
{
  for (guint i = 0; i < self->bins->len; i++)
    {
      const BinRange *range = &g_array_index (self->bins, BinRange, i);
      gsize len = strlen (range->low);

      /* Prefixes of one length compare like numbers. */
      if (strlen (number) >= len && strncmp (number, range->low, len) >= 0 &&
          strncmp (number, range->high, len) <= 0)
        return TRUE;
    }
  return FALSE;
}

gboolean
bank_network_has_issuer (BankNetwork *self)
{
  return self->issuer_url != NULL || self->issuer_url_file != NULL;
}

/* NULL when the file names no issuer (yet). */
static char *
issuer_url (BankNetwork *self)
{
  g_autofree char *text = NULL;

  if (self->issuer_url != NULL)
    return g_strdup (self->issuer_url);
  if (self->issuer_url_file == NULL ||
      !g_file_get_contents (self->issuer_url_file, &text, NULL, NULL))
    return NULL;
  g_strstrip (text);
  while (g_str_has_suffix (text, "/"))
    text[strlen (text) - 1] = '\0';
  if (!g_str_has_prefix (text, "http://") && !g_str_has_prefix (text, "https://"))
    return NULL;
  return g_strconcat (text, BANK_NETWORK_ISSUER_PATH, NULL);
}

const char *
bank_network_decline_code (const char *code)
{
  static const char * const codes[][2] = {
    { ONEPIN_ISO_DO_NOT_HONOR, "card_declined" },
    { ONEPIN_ISO_INVALID_AMOUNT, "invalid_amount" },
    { ONEPIN_ISO_INVALID_CARD, "incorrect_number" },
    { ONEPIN_ISO_INSUFFICIENT_FUNDS, "insufficient_funds" },
    { ONEPIN_ISO_EXPIRED_CARD, "expired_card" },
    { ONEPIN_ISO_INCORRECT_CVC, "incorrect_cvc" },
    { ONEPIN_ISO_TRIES_EXCEEDED, "card_locked" },
    { ONEPIN_ISO_ISSUER_UNAVAILABLE, "issuer_unavailable" },
  };

  for (guint i = 0; code != NULL && i < G_N_ELEMENTS (codes); i++)
    if (g_str_equal (codes[i][0], code))
      return codes[i][1];
  return "processing_error";
}

gboolean
bank_network_answer_final (const char *code)
{
  return g_strcmp0 (code, ONEPIN_ISO_ISSUER_UNAVAILABLE) != 0 &&
         g_strcmp0 (code, ONEPIN_ISO_SYSTEM_MALFUNCTION) != 0;
}

gboolean
bank_network_answer_unknown (const char *code)
{
  return g_strcmp0 (code, ONEPIN_ISO_DUPLICATE) == 0;
}

const char *
bank_network_outcome_code (const char *outcome)
{
  return g_str_equal (outcome, "approved") ? ONEPIN_ISO_APPROVED : ONEPIN_ISO_DO_NOT_HONOR;
}

gboolean
bank_network_outcome_agrees (const char *outcome,
                             const char *code)
{
  return g_str_equal (outcome, "approved") == (g_strcmp0 (code, ONEPIN_ISO_APPROVED) == 0);
}

char *
bank_network_serialize (JsonObject *message)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), message);

  return json_to_string (node, FALSE);
}

/* ---- sending ------------------------------------------------------------ */

/* The answer must be signed, well formed and about this very message. */
static JsonObject *
read_answer (BankNetwork *self,
             SoupMessage *msg,
             GBytes      *body,
             Pending     *pending)
{
  const char *signature = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                        SIGNATURE_HEADER);
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);
  g_autoptr(JsonObject) answer = NULL;

  if (soup_message_get_status (msg) != SOUP_STATUS_OK ||
      !onepin_signature_verify (self->key, signature, data, len, now_seconds (),
                                ONEPIN_SIGNATURE_TOLERANCE))
    return NULL;
  answer = onepin_json_parse_object (data, len, NULL);
  if (answer == NULL || !onepin_iso_check (answer, TRUE, NULL, NULL) ||
      g_strcmp0 (onepin_iso_get (answer, "mti"), pending->mti) != 0 ||
      g_strcmp0 (onepin_iso_get (answer, "11"), pending->stan) != 0 ||
      g_strcmp0 (onepin_iso_get (answer, "7"), pending->transmitted) != 0)
    return NULL;
  return g_steal_pointer (&answer);
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Pending *pending = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) answer = NULL;
  BankNetworkResult outcome;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      pending_free (pending);   /* shutting down */
      return;
    }
  if (body == NULL || soup_message_get_status (msg) == SOUP_STATUS_SERVICE_UNAVAILABLE)
    outcome = BANK_NETWORK_NO_ANSWER;
  else if ((answer = read_answer (pending->self, msg, body, pending)) != NULL)
    outcome = BANK_NETWORK_ANSWERED;
  else
    outcome = BANK_NETWORK_BAD_ANSWER;
  if (outcome != BANK_NETWORK_ANSWERED && !pending->quiet)
    g_message ("network: %s %s: %s", pending->mti, pending->stan,
               error ? error->message
                     : outcome == BANK_NETWORK_NO_ANSWER ? "issuer unavailable"
                                                         : "unusable answer");
  pending->done (outcome, answer, pending->user_data);
  pending_free (pending);
}

static void
send_bytes (BankNetwork     *self,
            GBytes          *body,
            const char      *mti,
            const char      *stan,
            const char      *transmitted,
            gboolean         quiet,
            BankNetworkDone  done,
            gpointer         user_data)
{
  g_autofree char *url = issuer_url (self);
  g_autoptr(SoupMessage) msg = url ? soup_message_new ("POST", url) : NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);
  g_autofree char *signature = onepin_signature_header (self->key, now_seconds (), data, len);
  Pending *pending;

  if (msg == NULL)
    {
      if (!quiet)
        g_message ("network: no issuer to send %s %s to", mti, stan);
      done (BANK_NETWORK_NO_ANSWER, NULL, user_data);
      return;
    }
  pending = g_new0 (Pending, 1);

  pending->self = self;
  pending->mti = g_strdup (onepin_iso_response_type (mti));
  pending->stan = g_strdup (stan);
  pending->transmitted = g_strdup (transmitted);
  pending->done = done;
  pending->user_data = user_data;
  pending->quiet = quiet;
  soup_message_headers_replace (soup_message_get_request_headers (msg), SIGNATURE_HEADER,
                                signature);
  soup_message_set_request_body_from_bytes (msg, "application/json; charset=utf-8", body);
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    on_sent, pending);
}

static void
wipe_free (gpointer text)
{
  explicit_bzero (text, strlen (text));
  g_free (text);
}

/* The message as sent, written once into a buffer of its final size (a
 * growing one, or json-glib's generator, leaves copies behind), and wiped
 * when libsoup lets go of it: it may carry a card number and CVC. */
static GBytes *
secret_body (JsonObject *message)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), message);
  GString *out = g_string_sized_new (onepin_json_canonical_bound (node));
  gsize len;
  char *text;

  onepin_json_append_canonical_object (out, message, NULL);
  len = out->len;
  text = g_string_free (out, FALSE);
  return g_bytes_new_with_free_func (text, len, wipe_free, text);
}

void
bank_network_send (BankNetwork     *self,
                   JsonObject      *message,
                   BankNetworkDone  done,
                   gpointer         user_data)
{
  g_autoptr(GBytes) body = secret_body (message);

  send_bytes (self, body, onepin_iso_get (message, "mti"), onepin_iso_get (message, "11"),
              onepin_iso_get (message, "7"), FALSE, done, user_data);
  onepin_json_object_wipe (message);
}

/* ---- the advice queue: store and forward -------------------------------- */

typedef struct
{
  BankNetwork *self;
  gint64       id;
  gint64       attempts;      /* this one's number */
  gint64       created;       /* the message's first try */
  gboolean     retransmission;
} Advice;

/* 1, 2, 4, … seconds after the first, second, third failed attempt. */
static gint64
backoff (gint64 attempts)
{
  return attempts >= 7 ? MAX_BACKOFF : MIN ((gint64) 1 << (attempts - 1), MAX_BACKOFF);
}

static gboolean on_timer (gpointer user_data);

static void
schedule (BankNetwork *self)
{
  g_autoptr(GError) error = NULL;
  gint64 next = bank_store_advices_next (self->store, &error);

  g_clear_handle_id (&self->timer, g_source_remove);
  if (error != NULL)
    g_warning ("network: %s", error->message);
  if (next == 0)
    return;
  self->timer = g_timeout_add_seconds ((guint) CLAMP (next - now_seconds (), 1, MAX_BACKOFF),
                                       on_timer, self);
}

gboolean
bank_network_apply_answer (BankNetwork               *self,
                           const BankNetworkMessage  *message,
                           const char                *code,
                           GError                   **error)
{
  if (message->request_key != NULL)
    return self->settle (message, code, self->settle_data, error);
  return bank_store_message_answered (self->store, message->id, code, now_seconds (), error);
}

gboolean
bank_network_late_answer (BankNetwork               *self,
                          const BankNetworkMessage  *message,
                          const char                *code,
                          GError                   **error)
{
  g_autoptr(BankReconciliation) r = NULL;
  gboolean agrees;

  r = bank_store_reconciliation_get (self->store, message->id, error);
  if (r == NULL)
    return error == NULL || *error == NULL;
  agrees = bank_network_outcome_agrees (r->outcome, code);
  if (agrees)
    g_message ("network: message %" G_GINT64_FORMAT " (payment %s): the issuer's late answer "
               "%s agrees with the reconciliation an operator closed (%s); not applied again",
               message->id, message->payment_id, code, r->outcome);
  else
    g_warning ("network: message %" G_GINT64_FORMAT " (payment %s): the issuer answered %s (%s) "
               "after an operator closed its reconciliation as %s: they disagree. Not applied; "
               "kept on the payment's reconciliation for an operator to resolve",
               message->id, message->payment_id, code, onepin_iso_response_text (code),
               r->outcome);
  /* A disagreement stays in view: a later answer that agrees does not hide it. */
  if (agrees && r->issuer_code != NULL)
    return TRUE;
  return bank_store_reconciliation_issuer (self->store, message->id, code, now_seconds (),
                                           error);
}

/* Records the answer, unless one was recorded while it travelled: a
 * capture's or refund's, by the mall's retry, which settled it then, or
 * by the operator who closed its reconciliation. */
static gboolean
record_answer (BankNetwork  *self,
               gint64        id,
               const char   *code,
               GError      **error)
{
  g_autoptr(BankNetworkMessage) message = bank_store_message_get (self->store, id, error);

  if (message == NULL)
    return error == NULL || *error == NULL;
  if (message->answered_at != 0)
    return bank_network_late_answer (self, message, code, error);
  return bank_network_apply_answer (self, message, code, error);
}

/* The bank is one thread and each request its own transaction, so a
 * write from here never lands inside a request's. */
static gboolean
write_answered (BankNetwork  *self,
                gint64        id,
                const char   *code,
                GError      **error)
{
  if (!bank_store_begin (self->store, error))
    return FALSE;
  if (record_answer (self, id, code, error) && bank_store_commit (self->store, error))
    return TRUE;
  bank_store_rollback (self->store);
  return FALSE;
}

/* Each try of a message is logged only on its 1st, 2nd, 4th, 8th … (at
 * most 60 s apart, a day of tries is 11 lines, not 1,440). */
static gboolean
loud (gint64 attempts)
{
  return (attempts & (attempts - 1)) == 0;
}

/* The message stops, awaiting reconciliation for @reason: the issuer may
 * or may not have applied it, and the bank guesses neither. A capture or
 * refund keeps its payment held (bank_store_message_open ()). */
static void
give_up (BankNetwork *self,
         Advice      *advice,
         const char  *reason,
         const char  *why)
{
  g_autoptr(GError) error = NULL;
  gboolean marked = FALSE;

  if (!bank_store_begin (self->store, &error) ||
      !bank_store_message_reconcile (self->store, advice->id, reason, now_seconds (), &marked,
                                     &error) ||
      !bank_store_commit (self->store, &error))
    {
      bank_store_rollback (self->store);
      g_warning ("network: %s", error->message);
      return;
    }
  if (marked)
    g_warning ("network: message %" G_GINT64_FORMAT " %s: no longer sent, marked for "
               "reconciliation (%s)", advice->id, why, reason);
}

static void
advice_done (BankNetworkResult  result,
             JsonObject        *response,
             gpointer           user_data)
{
  g_autofree Advice *advice = user_data;
  BankNetwork *self = advice->self;
  g_autoptr(GError) error = NULL;
  g_autofree char *why = NULL;
  const char *code;

  g_hash_table_remove (self->advices_in_flight, &advice->id);
  code = response ? onepin_iso_get (response, "39") : NULL;
  if (result == BANK_NETWORK_ANSWERED && advice->retransmission &&
      bank_network_answer_unknown (code))
    give_up (self, advice, "duplicate",
             "was answered 94 (a duplicate) to a retransmission, whose first try the issuer "
             "may have applied");
  else if (result == BANK_NETWORK_ANSWERED && bank_network_answer_final (code))
    {
      if (!write_answered (self, advice->id, code, &error))
        g_warning ("network: %s", error->message);
    }
  else if (now_seconds () - advice->created >= self->give_up)
    {
      why = g_strdup_printf ("got no answer in %" G_GINT64_FORMAT " tries over %" G_GINT64_FORMAT
                             " s (--resend-give-up)", advice->attempts,
                             now_seconds () - advice->created);
      give_up (self, advice, "no_answer", why);
    }
  else if (loud (advice->attempts))
    g_message ("network: message %" G_GINT64_FORMAT ", try %" G_GINT64_FORMAT ": %s; sent "
               "again later", advice->id, advice->attempts,
               result != BANK_NETWORK_ANSWERED ? "no answer"
                                              : "the issuer recorded nothing (91 or 96)");
  schedule (self);
}

static void
send_advice (BankNetwork        *self,
             BankNetworkMessage *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  gint64 attempts = message->attempts + 1;
  Advice *advice;

  /* The next attempt is booked before this one leaves: a crash in between
   * sends it again later rather than never. */
  if (!bank_store_begin (self->store, &error) ||
      !bank_store_advice_attempted (self->store, message->id, attempts,
                                    now_seconds () + backoff (attempts), &error) ||
      !bank_store_commit (self->store, &error))
    {
      bank_store_rollback (self->store);
      g_warning ("network: %s", error->message);
      return;
    }
  advice = g_new0 (Advice, 1);
  advice->self = self;
  advice->id = message->id;
  advice->attempts = attempts;
  advice->created = message->created;
  /* A capture's or refund's first try was the mall's. */
  advice->retransmission = message->request_key != NULL || attempts > 1;
  g_hash_table_add (self->advices_in_flight, g_memdup2 (&message->id, sizeof message->id));
  body = g_bytes_new (message->body, strlen (message->body));
  send_bytes (self, body, message->mti, message->stan, message->transmitted, !loud (attempts),
              advice_done, advice);
}

static void
run (BankNetwork *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) due = NULL;

  if (!bank_network_has_issuer (self))
    return;
  due = bank_store_advices_due (self->store, now_seconds (), ADVICE_BATCH, &error);
  if (due == NULL)
    g_warning ("network: %s", error->message);
  for (guint i = 0; due != NULL && i < due->len; i++)
    {
      BankNetworkMessage *message = due->pdata[i];

      if (!g_hash_table_contains (self->advices_in_flight, &message->id))
        send_advice (self, message);
    }
  schedule (self);
}

static gboolean
on_timer (gpointer user_data)
{
  BankNetwork *self = user_data;

  self->timer = 0;
  run (self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_idle (gpointer user_data)
{
  BankNetwork *self = user_data;

  self->idle = 0;
  run (self);
  return G_SOURCE_REMOVE;
}

void
bank_network_kick (BankNetwork *self)
{
  if (self->idle == 0)
    self->idle = g_idle_add (on_idle, self);
}

/* ---- lifecycle ---------------------------------------------------------- */

BankNetwork *
bank_network_new (BankStore          *store,
                  OnepinKey          *key,
                  const char         *issuer_url,
                  const char         *issuer_url_file,
                  const char         *bins,
                  guint               timeout,
                  gint64              resend_give_up,
                  BankNetworkSettle   settle,
                  gpointer            settle_data,
                  GError            **error)
{
  BankNetwork *self = g_new0 (BankNetwork, 1);

  self->store = store;
  self->key = key;
  self->settle = settle;
  self->settle_data = settle_data;
  self->give_up = resend_give_up;
  self->issuer_url = g_strdup (issuer_url);
  self->issuer_url_file = g_strdup (issuer_url_file);
  self->bins = g_array_new (FALSE, TRUE, sizeof (BinRange));
  self->session = soup_session_new_with_options ("timeout", timeout,
                                                 "user-agent", "onepin-bank card network",
                                                 NULL);
  self->cancellable = g_cancellable_new ();
  self->advices_in_flight = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  if (!parse_bins (self, bins, error))
    {
      bank_network_free (self);
      return NULL;
    }
  return self;
}

void
bank_network_free (BankNetwork *self)
{
  if (self == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->idle, g_source_remove);
  g_clear_handle_id (&self->timer, g_source_remove);
  soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->advices_in_flight, g_hash_table_unref);
  g_clear_pointer (&self->bins, g_array_unref);
  g_free (self->issuer_url);
  g_free (self->issuer_url_file);
  g_free (self);
}
