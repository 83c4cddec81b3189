/* gw-checkout-store.h: what checkout sessions and merchant webhooks need
 * from a database
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reached with gw_txn_extension (txn, "checkout"). Like GwTxnFuncs, each
 * returns FALSE with @error set on failure, and lookups return FALSE
 * without an error when nothing is found.
 */
#pragma once

#include "gw-store.h"

G_BEGIN_DECLS

typedef struct
{
  gint64   seq;
  char     id[40];                  /* cs_… */
  char     merchant_id[40];
  char    *order_id;
  gint64   amount;
  char     currency[4];
  char    *items;                   /* a JSON array */
  char    *description;
  char    *success_url;
  char    *cancel_url;
  gboolean capture;
  char     status[12];              /* open, complete, expired (as stored) */
  gint64   expires_at;
  char     payment_id[40];          /* "" until paid */
  char     paid_with[8];            /* wallet, card; "" until paid */
  gint64   created;
  gint64   completed_at;
} GwCheckoutSession;

void gw_checkout_session_clear (GwCheckoutSession *session);
void gw_checkout_session_free  (gpointer           session);

/* A merchant event (an outbox row) on its way to the merchant's endpoint. */
typedef struct
{
  gint64   id;                      /* the outbox row; the event is "evt_" and its hex */
  char     type[48];
  char     merchant_id[40];
  char    *payload;
  gint64   created;
  gint64   attempts;                /* counting the one it is claimed for */
  GBytes  *url_sealed;
  GBytes  *secret_sealed;           /* the merchant's webhook secret */
  GBytes  *previous_sealed;         /* the one it replaced, while it still signs, or NULL */
  char    *body;                    /* the event as sent, rendered by the claimer */
} GwWebhookEvent;

void gw_webhook_event_free (GwWebhookEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwWebhookEvent, gw_webhook_event_free)

typedef struct
{
  gboolean   (*session_insert)    (GwTxn *txn, const GwCheckoutSession *session, GError **error);
  gboolean   (*session_get)       (GwTxn *txn, const char *id, GwCheckoutSession *out,
                                   GError **error);
  /* Open -> complete, once: FALSE without an error if it was not open. */
  gboolean   (*session_complete)  (GwTxn *txn, const char *id, const char *payment_id,
                                   const char *paid_with, gint64 now, GError **error);
  gboolean   (*session_expire)    (GwTxn *txn, const char *id, GError **error);
  /* Up to @limit sessions still open at @now past their expires_at, the
   * longest expired first (GwCheckoutSession *, with id and merchant_id);
   * NULL on error. */
  GPtrArray *(*sessions_due)      (GwTxn *txn, gint64 now, guint limit, GError **error);
  /* The card's lookup hash, which its password MAC is bound to. */
  gboolean   (*card_lookup)       (GwTxn *txn, const char *card_id, guint8 out[32],
                                   GError **error);

  gboolean   (*webhook_get)       (GwTxn *txn, const char *merchant_id, GBytes **url_sealed,
                                   gint64 *created, gint64 *updated, GError **error);
  gboolean   (*webhook_put)       (GwTxn *txn, const char *merchant_id, GBytes *url_sealed,
                                   gint64 now, GError **error);
  gboolean   (*webhook_delete)    (GwTxn *txn, const char *merchant_id, GError **error);
  /* The merchant's webhook secret becomes @secret_sealed; the one it
   * replaces keeps signing until @previous_expires, unless that is not
   * after @now (then it ends at once, as does any older one). */
  gboolean   (*webhook_secret_roll) (GwTxn *txn, const char *merchant_id, GBytes *secret_sealed,
                                     gint64 previous_expires, gint64 now, GError **error);

  /* Merchant events due at @now that may still be tried (fewer than
   * @max_attempts tries), or that have no try left and were due by
   * @spent_before (for events_abandon), how many: a read, to skip idle
   * claims. */
  gint64     (*events_due)        (GwTxn *txn, gint64 now, gint64 max_attempts,
                                   gint64 spent_before, GError **error);
  /* Gives up the events with @max_attempts tries or more that were due by
   * @spent_before: their last try was leased and its outcome never recorded
   * (a stop or a crash cut it), or max_attempts was lowered since. A try
   * that has no row in the log gets one, status 0 and @message, which is
   * also the event's last_error. Returns how many, or -1. */
  gint64     (*events_abandon)    (GwTxn *txn, gint64 now, gint64 max_attempts,
                                   gint64 spent_before, const char *message, GError **error);
  /* Up to @limit due events whose merchant has no endpoint now
   * (GwWebhookEvent *, attempts counting this try, no endpoint or secret),
   * the longest due first; NULL on error. */
  GPtrArray *(*events_no_endpoint) (GwTxn *txn, gint64 now, gint64 max_attempts, guint limit,
                                    GError **error);
  /* Up to @limit due events whose merchant has an endpoint, oldest first
   * (GwWebhookEvent *, not yet leased), at most @per_merchant of a merchant
   * less what @in_flight (a JSON object, merchant id -> tries under way)
   * says it already has. */
  GPtrArray *(*events_claim)      (GwTxn *txn, gint64 now, gint64 max_attempts, guint limit,
                                   guint per_merchant, const char *in_flight, GError **error);
  /* Counts a try and books the next one, a lease against a worker that dies:
   * sets attempts to @attempts only if the event still has @from_attempts
   * (@attempts - 1 for a claim, @attempts for that claim's outcome), and
   * fails with GW_STORE_ERROR_CONFLICT otherwise. Across processes, of two
   * claims that selected the same event only one leases (and sends) it. */
  gboolean   (*event_lease)       (GwTxn *txn, gint64 id, gint64 from_attempts, gint64 attempts,
                                   gint64 next_attempt, GError **error);
  gboolean   (*event_delivered)   (GwTxn *txn, gint64 id, gint64 now, GError **error);
  /* Given up: failed_at and last_error, as the outbox's other worker does. */
  gboolean   (*event_failed)      (GwTxn *txn, gint64 id, gint64 now, const char *message,
                                   GError **error);
  gboolean   (*event_attempt_log) (GwTxn *txn, gint64 id, gint64 attempt, guint status,
                                   const char *message, gint64 now, GError **error);
} GwCheckoutStoreFuncs;

G_END_DECLS
