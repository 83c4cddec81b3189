/* gw-site.h: the card site's service: requests whose money comes from
 * outside, the connector they wait for, and the sweep
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Paying an order, recharging a card and refunding a balance each take two
 * transactions with the bank between them. A GwSiteFlow carries such a
 * request through: the first transaction (begin) records what is asked of
 * the bank; then the connector is called with the record's id as its
 * idempotency key; the second transaction settles what the bank said and
 * renders the answer. When the bank's answer is lost, the connector is
 * asked (query) before anything else; what nobody is waiting for any more
 * (a restart, a timeout) is picked up by the sweep. The request's own
 * Idempotency-Key stays in flight from the first step to the reply.
 */
#pragma once

#include "gw-orders.h"
#include "gw-server-private.h"

G_BEGIN_DECLS

#define GW_TYPE_SITE (gw_site_get_type ())
G_DECLARE_FINAL_TYPE (GwSite, gw_site, GW, SITE, GObject)

typedef struct _GwSiteFlow GwSiteFlow;

/* On the writer. Begin records the request's intent and sets @flow->step;
 * it may answer at once by filling call->status and call->body. Answer
 * renders the final answer from the state, after the bank was heard. */
typedef gboolean (*GwSiteFlowFunc) (GwTxn       *txn,
                                    GwSiteFlow  *flow,
                                    GwCall      *call,
                                    GError     **error);

struct _GwSiteFlow
{
  GwSite          *site;
  GwRequest       *request;         /* NULL for the sweep */
  GwSiteFlowFunc   begin;
  GwSiteFlowFunc   answer;
  gpointer         data;            /* the handler's */
  GDestroyNotify   data_free;
  char             lock[48];        /* an object only one flow may work on at a time */
  GwOrdersStep     step;            /* what begin asks of the bank */
  GwChargeRequest  charge;          /* what is sent; the strings belong to @data */
  gboolean         unstored;        /* begin's answer is not kept under the key
                                       (GwOrdersOutcome.unstored) */

  /* private */
  gboolean         keyed;           /* the request has a key, known by: */
  guint8           key_hash[32];    /* gw_server_hash_idempotency_key () */
  guint8           fingerprint[32];
  guint8           bare_fingerprint[32];
  gboolean         has_holder;      /* a card-scoped key: its card's credentials */
  GwCredentials    holder;
  gboolean         replayed;
  GwChargeResult  *result;          /* what the bank said, for the settlement */
  gboolean         heard;           /* the bank said something (even "never saw it") */
  gboolean         not_found;       /* the bank's answer to a query: no such request */
  gboolean         unanswered;      /* a query the bank did not answer (not stopping) */
  gboolean         void_after;
  gboolean         booked_late;     /* the void is of a charge booked after it failed */
  gboolean         from_sweep;
  gboolean         holds_busy;      /* @step.id is marked busy by this flow */
  gboolean         settled;         /* what the bank said was settled (set on the writer) */
  gboolean         settle_failed;   /* the settlement of an approval failed (likewise) */
  char            *failure;         /* why, for the log */
  gboolean         undeliverable;   /* settle the approval as given back, not issued */
};

/* The site uses @server's connector (gw_server_get_connector ()); without
 * one, every payment answers 503 bank_unavailable. */
GwSite               *gw_site_new                (GwServer             *server,
                                                  GwStore              *store,
                                                  const GwLedgerConfig *ledger,
                                                  const GwConfig       *config);
/* The site serving @server's card-site routes. */
GwSite               *gw_site_get                (GwServer             *server);
/* The URL of claim links, when [site] public_url is not set. */
void                  gw_site_set_public_url     (GwSite               *self,
                                                  const char           *url);
const GwOrdersConfig *gw_site_get_orders_config  (GwSite               *self);
const GwConfig       *gw_site_get_config         (GwSite               *self);
GwConnector          *gw_site_get_connector      (GwSite               *self);
/* Asks the bank about every charge and payout nobody waits for, and about
 * approvals whose settlement failed once their next try is due; also runs
 * at start and every [site] sweep_interval seconds. */
void                  gw_site_sweep              (GwSite               *self);

GwSiteFlow           *gw_site_flow_new           (GwRequest            *request,
                                                  GwSiteFlowFunc        begin,
                                                  GwSiteFlowFunc        answer,
                                                  gpointer              data,
                                                  GDestroyNotify        data_free);
/* Runs the flow to its end; the request is answered and the flow freed. */
void                  gw_site_flow_run           (GwSiteFlow           *flow);
/* A verified deposit callback said @result (taken) about charge
 * @charge_id: settle it and answer @request after the commit. */
void                  gw_site_deposit_reported   (GwSite               *self,
                                                  GwRequest            *request,
                                                  const char           *charge_id,
                                                  GwChargeResult       *result);

/* Sets @call's answer from a non-OK outcome of the rules. */
void                  gw_site_outcome_error      (GwSite               *self,
                                                  GwCall               *call,
                                                  const GwOrdersOutcome *outcome);

G_END_DECLS
