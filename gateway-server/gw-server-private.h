/* gw-server-private.h: what the resource files (gw-api-*.c) get from the
 * HTTP layer: parsed, authenticated requests, replies, and calls into the
 * store's writer with idempotency handled for them.
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-server.h"
#include "onepin-json.h"
#include "onepin-money.h"

G_BEGIN_DECLS

typedef struct _GwRequest GwRequest;
typedef struct _GwCall GwCall;

struct _GwRequest
{
  GwServer          *server;
  SoupServerMessage *msg;
  const char        *route;          /* the route's pattern, for metrics */
  char              *path_id;        /* the {id} in the path, if any */
  char               merchant_id[40];/* the authenticated merchant, if any */
  char               user_id[40];    /* the signed-in wallet user, if any */
  char               session_id[40]; /* and the session the token opened */
  char               scope[48];      /* whose idempotency keys: "admin", a merchant id, a card, … */
  gboolean           limit_failures; /* credential failures count against the address */
  gboolean           holds_address;  /* admitted among its address's requests being answered */
  JsonObject        *body;           /* POST bodies, already known to be an object */
  GHashTable        *query;
  char              *remote;         /* the client, as the per-address limits key it
                                        (gw_net_address_key: IPv6 by its /64) */
  char              *limit_key;      /* what failures count against instead of @remote
                                        (gw_request_admit_limited), or NULL */
  char              *idempotency_key;
  guint8             fingerprint[32];
  guint8             bare_fingerprint[32]; /* its SHA-256 before keying (gw_server_fingerprint_matches) */
  gboolean           has_holder;     /* a card-scoped key (gw_request_scope_to_card): */
  GwCredentials      holder;         /* its card's credentials */
  gint64             started;
};

/* Work for the writer thread. It fills call->status and call->body. */
typedef gboolean (*GwCallApply) (GwTxn   *txn,
                                 GwCall  *call,
                                 GError **error);
typedef void     (*GwCallDone)  (GwCall  *call,
                                 gpointer user_data);

struct _GwCall
{
  GwServer      *server;
  GwRequest     *request;            /* NULL for a batch item */
  gboolean       keyed;              /* it has an Idempotency-Key, known by: */
  guint8         key_hash[32];       /* gw_server_hash_idempotency_key () */
  guint8         fingerprint[32];
  guint8         bare_fingerprint[32];
  gboolean       seal;               /* the body carries secrets */
  /* @apply may run again after a rollback (GW_STORE_OP_REPEATABLE): it
   * reads only its inputs and sets the outputs below afresh. */
  gboolean       repeatable;
  /* A card-scoped key: reused with other parameters, it answers 422 only
   * to the card's right password (gw_request_scope_to_card). */
  gboolean       has_holder;
  GwCredentials  holder;
  /* Runs when the key's record answered (a replay, or a 422 for other
   * parameters), for a route whose body carries a credential that a
   * replay must not let anyone test uncounted; it may refuse instead. */
  GwCallApply    check_answered;

  GwCallApply    apply;
  gpointer       data;
  GDestroyNotify data_free;
  GwCallDone     done;               /* instead of replying to @request */
  gpointer       done_data;

  guint          status;
  GString       *body;
  gboolean       replayed;
  GwOutcome      outcome;
  gboolean       is_payment;         /* counts as an approval or a decline */
  gboolean       counts_as_failure;  /* against the address even when it succeeds */
};

const GwConfig       *gw_server_get_config        (GwServer    *self);
const GwLedgerConfig *gw_server_get_ledger_config (GwServer    *self);
gboolean              gw_server_is_draining       (GwServer    *self);
GwStore              *gw_server_get_store         (GwServer    *self);
GwMetrics            *gw_server_get_metrics       (GwServer    *self);
/* The keyed hash under which an API key (a merchant's secret key) is stored. */
void                  gw_server_hash_api_key      (GwServer    *self,
                                                   const char  *key,
                                                   guint8       out[32]);

/* Counts one request for slow work (a password hash) against @remote's
 * minute, in the per-address limiter; FALSE once it has had @limit, with
 * the seconds until its minute is over in @retry_after. */
gboolean              gw_server_count_slow_work   (GwServer    *self,
                                                   const char  *remote,
                                                   guint        limit,
                                                   guint       *retry_after);

/* Counts @request's credential failures against @key (one caller of the
 * ARS, say) rather than its address, with the per-address limit; FALSE
 * after answering 429 (@message) when the key's failures plus its requests
 * being answered have reached it. */
gboolean              gw_request_admit_limited    (GwRequest   *request,
                                                   const char  *key,
                                                   const char  *message);

/* The URL the server listens on, e.g. "http://127.0.0.1:8080", once it does. */
const char           *gw_server_get_url           (GwServer    *self);

/* Each of these finishes the request and frees it. */
void      gw_request_reply        (GwRequest   *request,
                                   guint        status,
                                   GString     *body);
/* A 200 that is not JSON (a CSV file, say); for reads only, as keyed
 * requests replay their bodies as JSON. */
void      gw_request_reply_text   (GwRequest   *request,
                                   const char  *content_type,
                                   GString     *body);
void      gw_request_error        (GwRequest   *request,
                                   guint        status,
                                   const char  *type,
                                   const char  *code,
                                   const char  *param,
                                   const char  *message);
/* @name if it is a plain word (lowercase letters and "_", at most 64),
 * else NULL: a name echoed as `param` must be one. A query or a body could
 * name anything, a card number sent there by mistake included. */
const char *gw_plain_word         (const char   *name);
/* 400 for a field @error (of onepin_json_check_fields) names: @field,
 * inside the member @parent when not NULL. */
void      gw_request_field_error  (GwRequest    *request,
                                   const GError *error,
                                   const char   *parent,
                                   const char   *field);
void      gw_request_bad_param    (GwRequest   *request,
                                   const char  *param,
                                   const char  *message);
/* Checks the body against @fields; on failure replies 400 and returns FALSE. */
gboolean  gw_request_check_body   (GwRequest             *request,
                                   const OnepinJsonField *fields,
                                   gsize                  n_fields);
/* The hash an Idempotency-Key is kept and looked up by, in the store and
 * in the in-flight tables: the HMAC of @scope and @key under a key of its
 * own (gw_keys_idempotency_hash). Merchants' keys hold order numbers and
 * customers' details, so nothing past the HTTP layer keeps the key. */
void      gw_server_hash_idempotency_key (GwServer   *self,
                                          const char *scope,
                                          const char *key,
                                          guint8      out[32]);
/* A set of such hashes (32-byte keys, freed with g_free). */
GHashTable *gw_key_hash_set_new   (void);
/* The set's hash function: from the bytes of the whole key's HMAC. */
guint       gw_key_hash_hash      (gconstpointer key);
/* Keys the request by @key, for routes whose requests carry their own
 * sequence number: a retry is found by that number whatever
 * Idempotency-Key the client sent with it (a fresh one per attempt, say),
 * and the client's key, if any, is set aside. */
void      gw_request_use_idempotency_key (GwRequest  *request,
                                          const char *key);
/* Scopes the Idempotency-Key of a request without an API key to the
 * credential it carries, by @hash, a keyed hash of it, under "<@kind>:":
 * only that credential's holder gets the stored answer back, and two
 * callers' keys never meet. */
void      gw_request_scope_to_hash (GwRequest    *request,
                                    const char   *kind,
                                    const guint8  hash[32]);
/* Scopes a key-less card-holder request's Idempotency-Key to the card its
 * @credentials name (when well formed), so holders never share keys. */
void      gw_request_scope_to_card (GwRequest           *request,
                                    const GwCredentials *credentials);
/* Replaces a SHA-256 fingerprint by an HMAC of it under the API-key key,
 * as every fingerprint stored with an idempotency record is; @bare, if
 * not NULL, gets the SHA-256 (for gw_server_fingerprint_matches). */
void      gw_server_key_fingerprint      (GwServer   *self,
                                          guint8      fingerprint[32],
                                          guint8     *bare);
/* Whether a @stored fingerprint is the request's: its keyed @fingerprint,
 * or @bare, the SHA-256 that @fingerprint keys, as records kept before
 * every fingerprint was keyed hold it. */
gboolean  gw_server_fingerprint_matches  (GwServer     *self,
                                          const guint8  stored[32],
                                          const guint8  fingerprint[32],
                                          const guint8  bare[32]);
/* Replaces the SHA-256 of a recharge's or payout's request key (its kind,
 * scope and Idempotency-Key) by the HMAC its row keeps (gw_keys_request_key). */
void      gw_server_key_request_key      (GwServer   *self,
                                          guint8      digest[32]);
/* The token of an "Authorization: Bearer" header, or NULL. */
const char *gw_request_bearer     (GwRequest   *request);
/* Reads a query parameter "limit" (1..100, default @fallback); FALSE after replying 400. */
gboolean  gw_request_limit        (GwRequest   *request,
                                   guint        fallback,
                                   guint       *limit);

GwCall   *gw_call_new             (GwRequest      *request,
                                   GwCallApply     apply,
                                   gpointer        data,
                                   GDestroyNotify  data_free);
/* Sends the call to the writer, unless its key is in flight (409). */
void      gw_call_submit          (GwCall      *call);
void      gw_call_free            (GwCall      *call);

/* Idempotency over several calls, for a request that waits for the bank
 * between two transactions: its key stays in flight from the claim to the
 * release, and its outcome is looked up and stored explicitly. */
gboolean  gw_server_claim_key     (GwServer      *self,
                                   const guint8   key_hash[32]);
void      gw_server_release_key   (GwServer      *self,
                                   const guint8   key_hash[32]);
/* On the writer: when @key_hash has a stored outcome, @call gets it (or a 422
 * for other parameters) and @answered is TRUE. */
gboolean  gw_idempotency_replay   (GwTxn         *txn,
                                   GwCall        *call,
                                   const guint8   key_hash[32],
                                   const guint8   fingerprint[32],
                                   const guint8   bare_fingerprint[32],
                                   gboolean      *answered,
                                   GError       **error);
/* After gw_idempotency_replay () answered a card-scoped key (@call's
 * holder): a key reused with other parameters gets its 422 only with the
 * card's right password, else the card's refusal (in @call->outcome, for
 * the caller to count); a replay on a locked card gets card_locked. */
gboolean  gw_idempotency_check_holder (GwTxn   *txn,
                                       GwCall  *call,
                                       GError **error);
/* Stores @call's status and body under @key_hash, unless it is a 5xx. */
gboolean  gw_idempotency_remember (GwTxn         *txn,
                                   GwCall        *call,
                                   const guint8   key_hash[32],
                                   const guint8   fingerprint[32],
                                   GError       **error);

/* Rendering helpers for apply functions (any thread). */
void      gw_error_render         (GString     *out,
                                   const char  *type,
                                   const char  *code,
                                   const char  *decline_code,
                                   const char  *param,
                                   const char  *message);
/* Sets the call's status and body from a non-OK ledger outcome. @param names
 * the request field a 404 or 400 is about. */
void      gw_call_fail            (GwCall          *call,
                                   const GwOutcome *outcome,
                                   const char      *param);
void      gw_call_ok              (GwCall      *call,
                                   GString     *body);

/* JSON writing */
void      gw_json_str             (GString     *out,
                                   const char  *name,
                                   const char  *value);
void      gw_json_int             (GString     *out,
                                   const char  *name,
                                   gint64       value);
void      gw_json_bool            (GString     *out,
                                   const char  *name,
                                   gboolean     value);
/* @value, or null when it is 0 (a time not set) or empty (or NULL). */
void      gw_json_optional_int    (GString     *out,
                                   const char  *name,
                                   gint64       value);
void      gw_json_optional_str    (GString     *out,
                                   const char  *name,
                                   const char  *value);
void      gw_json_close           (GString     *out,
                                   char         closer);
/* A member whose value is JSON already (an object, an array, null). */
void      gw_json_raw             (GString     *out,
                                   const char  *name,
                                   const char  *json);

/* A card value onepin issues: 5,000 to 100,000 won (gw-api-admin.c). */
gboolean  gw_is_denomination      (gint64       value);

/* The resources */
void gw_api_admin_merchants     (GwRequest *request);
void gw_api_admin_card_batches  (GwRequest *request);
void gw_api_admin_audit         (GwRequest *request);
void gw_api_admin_charges       (GwRequest *request);
void gw_api_cards_register      (GwRequest *request);
void gw_api_cards_password      (GwRequest *request);
void gw_api_cards_balance       (GwRequest *request);
void gw_api_cards_hint          (GwRequest *request);
void gw_api_cards_statement     (GwRequest *request);
void gw_api_payments_create     (GwRequest *request);
void gw_api_payments_batch      (GwRequest *request);
void gw_api_payments_list       (GwRequest *request);
void gw_api_payments_get        (GwRequest *request);
void gw_api_payments_capture    (GwRequest *request);
void gw_api_payments_cancel     (GwRequest *request);
void gw_api_refunds_create      (GwRequest *request);

void gw_render_payment          (GString         *out,
                                 const GwPayment *payment);
/* Parses and checks one payment request object (from POST /v1/payments or a
 * batch item) on the main thread; on failure sets @param and @message. */
typedef struct _GwPaymentParams GwPaymentParams;
GwPaymentParams *gw_payment_params_parse (GwServer    *server,
                                          JsonObject  *object,
                                          const char  *merchant_id,
                                          gboolean     with_key,
                                          const char **param,
                                          const char **message,
                                          const char **code);
void             gw_payment_params_free  (GwPaymentParams *params);
gboolean         gw_payment_apply        (GwTxn   *txn,
                                          GwCall  *call,
                                          GError **error);

G_END_DECLS
