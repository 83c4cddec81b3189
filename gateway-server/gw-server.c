/* gw-server.c: routes, authentication, errors, idempotency and rate limits
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Handlers parse and authenticate here on the main thread; the money work
 * runs on the store's writer thread (see gw_call_submit), and the reply goes
 * out only when the writer reports a durable commit.
 */
#include "gw-server-private.h"
#include "gw-io-threads.h"
#include "gw-keys.h"
#include "gw-net.h"
#include "gw-http-fallback.h"
#include "gw-listener.h"
#include "gw-pages.h"
#include "gw-tls-check.h"
#include "gw-wait.h"
#include "gw-api-profile.h"

#include <string.h>

#include "gw-api-checkout.h"
#include "gw-api-network.h"
#include "gw-api-foreign.h"
#include "gw-api-phone.h"
#include "gw-api-settlement.h"
#include "gw-api-orders.h"
#include "gw-api-wallet.h"

#define MAX_BODY (4 * 1024 * 1024)
#define BODY_DROPPED "onepin-body-dropped"   /* on a message whose body was not kept */
#define JSON_TYPE "application/json; charset=utf-8"
/* The idempotency scope of a route without an API key until its handler
 * narrows it to the credential the request carries (authenticate ()). */
#define SHARED_SCOPE "public"

typedef enum
{
  AUTH_NONE,
  AUTH_ADMIN,
  AUTH_MERCHANT,
  AUTH_CARD_HOLDER,     /* no key, but failures are limited per address */
  AUTH_WALLET,          /* a wallet session token (ws_…) */
  AUTH_METRICS,         /* this machine, or the metrics token (gw_metrics_may_read) */
} AuthKind;

typedef void (*Handler) (GwRequest *request);

typedef struct
{
  const char         *method;
  const char         *pattern;
  AuthKind            auth;
  gboolean            idempotent;   /* takes an Idempotency-Key */
  Handler             handler;
  const char * const *query;        /* a GET under /v1/: the query parameters its handler
                                     * reads (NULL: none); see query_allowed () */
} Route;

static void handle_healthz (GwRequest *request);
static void handle_metrics (GwRequest *request);

/* The query parameters of the GET routes that take some. */
static const char * const page_query[] = { "limit", "starting_after", NULL };
static const char * const charges_query[] = { "limit", "starting_after", "status", "purpose",
                                              "voided_late", NULL };
static const char * const statements_query[] = { "seller", "month", "format", NULL };
static const char * const own_statement_query[] = { "month", "format", NULL };
static const char * const date_query[] = { "date", NULL };
static const char * const format_query[] = { "format", NULL };

static const Route routes[] = {
  { "GET",  "/healthz",                   AUTH_NONE,        FALSE, handle_healthz },
  { "GET",  "/metrics",                   AUTH_METRICS,     FALSE, handle_metrics },
  { "POST", "/v1/admin/merchants",        AUTH_ADMIN,       TRUE,  gw_api_admin_merchants },
  { "POST", "/v1/admin/card_batches",     AUTH_ADMIN,       TRUE,  gw_api_admin_card_batches },
  { "GET",  "/v1/admin/audit",            AUTH_ADMIN,       FALSE, gw_api_admin_audit },
  { "POST", "/v1/cards/register",         AUTH_CARD_HOLDER, TRUE,  gw_api_cards_register },
  { "POST", "/v1/cards/password",         AUTH_CARD_HOLDER, TRUE,  gw_api_cards_password },
  { "POST", "/v1/cards/balance",          AUTH_CARD_HOLDER, FALSE, gw_api_cards_balance },
  { "POST", "/v1/cards/hint",             AUTH_CARD_HOLDER, FALSE, gw_api_cards_hint },
  { "POST", "/v1/cards/statement",        AUTH_CARD_HOLDER, FALSE, gw_api_cards_statement },
  { "POST", "/v1/cards/profile",          AUTH_CARD_HOLDER, FALSE, gw_api_cards_profile },
  { "POST", "/v1/payments",               AUTH_MERCHANT,    TRUE,  gw_api_payments_create },
  { "GET",  "/v1/payments",               AUTH_MERCHANT,    FALSE, gw_api_payments_list,
    page_query },
  { "POST", "/v1/payments/batch",         AUTH_MERCHANT,    FALSE, gw_api_payments_batch },
  { "GET",  "/v1/payments/{id}",          AUTH_MERCHANT,    FALSE, gw_api_payments_get },
  { "POST", "/v1/payments/{id}/capture",  AUTH_MERCHANT,    TRUE,  gw_api_payments_capture },
  { "POST", "/v1/payments/{id}/cancel",   AUTH_MERCHANT,    TRUE,  gw_api_payments_cancel },
  { "POST", "/v1/refunds",                AUTH_MERCHANT,    TRUE,  gw_api_refunds_create },
  /* telephone charging (gw-api-phone.c) */
  { "POST", "/v1/admin/phone/rate_tables", AUTH_ADMIN,      TRUE,  gw_api_phone_rate_tables_create },
  { "GET",  "/v1/admin/phone/rate_tables", AUTH_ADMIN,      FALSE, gw_api_phone_rate_tables_list,
    page_query },
  { "GET",  "/v1/admin/phone/rate_tables/{id}", AUTH_ADMIN, FALSE, gw_api_phone_rate_tables_get },
  { "POST", "/v1/phone/sessions",         AUTH_MERCHANT,    TRUE,  gw_api_phone_sessions_create },
  { "GET",  "/v1/phone/sessions/{id}",    AUTH_MERCHANT,    FALSE, gw_api_phone_sessions_get },
  { "POST", "/v1/phone/sessions/{id}/update", AUTH_MERCHANT, TRUE, gw_api_phone_sessions_update },
  { "POST", "/v1/phone/sessions/{id}/terminate", AUTH_MERCHANT, TRUE,
    gw_api_phone_sessions_terminate },
  { "POST", "/v1/phone/events",           AUTH_MERCHANT,    TRUE,  gw_api_phone_events_create },
  { "POST", "/v1/ars/sessions",           AUTH_MERCHANT,    TRUE,  gw_api_ars_sessions_create },
  { "POST", "/v1/ars/sessions/{id}/input", AUTH_MERCHANT,   TRUE,  gw_api_ars_sessions_input },
  { "POST", "/v1/admin/phone/sellers",    AUTH_ADMIN,       TRUE,  gw_api_phone_sellers_create },
  { "POST", "/v1/admin/phone/pools",      AUTH_ADMIN,       TRUE,  gw_api_phone_pools_create },
  { "GET",  "/v1/admin/phone/pools/{id}", AUTH_ADMIN,       FALSE, gw_api_phone_pools_get },
  { "GET",  "/v1/admin/phone/statements", AUTH_ADMIN,       FALSE, gw_api_phone_statements_get,
    statements_query },
  { "GET",  "/v1/phone/statement",        AUTH_MERCHANT,    FALSE, gw_api_phone_own_statement,
    own_statement_query },
  { "POST", "/v1/agent/cards/activate",   AUTH_MERCHANT,    TRUE,  gw_api_agent_cards_activate },
  { "POST", "/v1/agent/cards/void",       AUTH_MERCHANT,    TRUE,  gw_api_agent_cards_void },
  /* merchant settlement (gw-api-settlement.c) */
  { "POST", "/v1/admin/merchants/{id}/commission", AUTH_ADMIN, TRUE, gw_api_settlement_commission },
  { "POST", "/v1/admin/settlements",      AUTH_ADMIN,       TRUE,  gw_api_settlement_run },
  { "GET",  "/v1/admin/settlements",      AUTH_ADMIN,       FALSE, gw_api_settlement_list,
    date_query },
  { "GET",  "/v1/admin/settlements/{id}", AUTH_ADMIN,       FALSE, gw_api_settlement_get,
    format_query },
  { "GET",  "/v1/settlements",            AUTH_MERCHANT,    FALSE, gw_api_settlement_own_list,
    date_query },
  { "GET",  "/v1/settlements/{id}",       AUTH_MERCHANT,    FALSE, gw_api_settlement_own_get,
    format_query },
  /* foreign partners (gw-api-foreign.c) */
  { "POST", "/v1/admin/foreign/partners", AUTH_ADMIN,       TRUE,  gw_api_foreign_partners_create },
  { "GET",  "/v1/admin/foreign/partners/{id}", AUTH_ADMIN,  FALSE, gw_api_foreign_partners_get },
  { "POST", "/v1/admin/foreign/partners/{id}/rate", AUTH_ADMIN, TRUE, gw_api_foreign_partners_rate },
  { "POST", "/v1/admin/foreign/partners/{id}/pins", AUTH_ADMIN, TRUE, gw_api_foreign_pins_load },
  { "POST", "/v1/cards/foreign_pins",     AUTH_CARD_HOLDER, TRUE,  gw_api_foreign_switch },
  { "POST", "/v1/foreign/payments",       AUTH_MERCHANT,    TRUE,  gw_api_foreign_payments_create },
  { "POST", "/v1/cards/calling_numbers",  AUTH_CARD_HOLDER, FALSE, gw_api_phone_calling_numbers_add },
  { "POST", "/v1/cards/calling_numbers/delete", AUTH_CARD_HOLDER, FALSE,
    gw_api_phone_calling_numbers_delete },
  { "POST", "/v1/cards/calling_numbers/list", AUTH_CARD_HOLDER, FALSE,
    gw_api_phone_calling_numbers_list },
  /* the card site (gw-api-orders.c); order calls check the order's own token */
  /* no key: nothing names the caller before the order exists (gw_api_orders_create) */
  { "POST", "/v1/orders",                 AUTH_NONE,        FALSE, gw_api_orders_create },
  { "GET",  "/v1/orders/{id}",            AUTH_NONE,        FALSE, gw_api_orders_get },
  { "POST", "/v1/orders/{id}/pay",        AUTH_NONE,        TRUE,  gw_api_orders_pay },
  { "POST", "/v1/orders/{id}/reveal",     AUTH_NONE,        TRUE,  gw_api_orders_reveal },
  { "POST", "/v1/orders/{id}/access_codes", AUTH_CARD_HOLDER, FALSE, gw_api_orders_access_codes },
  { "POST", "/v1/orders/{id}/access_tokens", AUTH_CARD_HOLDER, FALSE, gw_api_orders_access_tokens },
  { "POST", "/v1/orders/{id}/gifts",      AUTH_NONE,        TRUE,  gw_api_orders_give },
  { "POST", "/v1/gifts/preview",          AUTH_NONE,        FALSE, gw_api_gifts_preview },
  { "POST", "/v1/gifts/claim",            AUTH_NONE,        TRUE,  gw_api_gifts_claim },
  { "POST", "/v1/cards/recharge",         AUTH_CARD_HOLDER, TRUE,  gw_api_cards_recharge },
  { "POST", "/v1/cards/refund",           AUTH_CARD_HOLDER, TRUE,  gw_api_cards_refund },
  { "POST", "/v1/cards/verify_payment",   AUTH_CARD_HOLDER, FALSE, gw_api_cards_verify_payment },
  { "POST", "/v1/bank/callbacks/deposit", AUTH_NONE,        FALSE, gw_api_bank_deposit },
  { "GET",  "/v1/admin/orders",           AUTH_ADMIN,       FALSE, gw_api_admin_orders,
    page_query },
  /* both the card site's charges and the wallet's (gw-api-admin-charges.c) */
  { "GET",  "/v1/admin/charges",          AUTH_ADMIN,       FALSE, gw_api_admin_charges,
    charges_query },
  { "POST",   "/v1/wallet/users",               AUTH_NONE,        FALSE, gw_api_wallet_register },
  { "POST",   "/v1/wallet/sessions",            AUTH_CARD_HOLDER, FALSE, gw_api_wallet_login },
  { "DELETE", "/v1/wallet/sessions/current",    AUTH_WALLET,      FALSE, gw_api_wallet_logout },
  { "GET",    "/v1/wallet/me",                  AUTH_WALLET,      FALSE, gw_api_wallet_me },
  { "POST",   "/v1/wallet/me",                  AUTH_WALLET,      FALSE, gw_api_wallet_update },
  { "POST",   "/v1/wallet/me/password",         AUTH_WALLET,      TRUE,  gw_api_wallet_password },
  { "POST",   "/v1/wallet/card",                AUTH_WALLET,      TRUE,  gw_api_wallet_apply },
  { "GET",    "/v1/wallet/card",                AUTH_WALLET,      FALSE, gw_api_wallet_card },
  { "POST",   "/v1/wallet/card/password",       AUTH_WALLET,      TRUE,  gw_api_wallet_card_password },
  { "POST",   "/v1/wallet/card/calling_numbers", AUTH_WALLET,     FALSE,
    gw_api_wallet_add_calling_number },
  { "GET",    "/v1/wallet/card/calling_numbers", AUTH_WALLET,     FALSE,
    gw_api_wallet_list_calling_numbers },
  { "DELETE", "/v1/wallet/card/calling_numbers/{id}", AUTH_WALLET, FALSE,
    gw_api_wallet_remove_calling_number },
  { "POST",   "/v1/wallet/funding-sources",     AUTH_WALLET,      TRUE,  gw_api_wallet_add_funding },
  { "GET",    "/v1/wallet/funding-sources",     AUTH_WALLET,      FALSE, gw_api_wallet_list_funding },
  { "DELETE", "/v1/wallet/funding-sources/{id}", AUTH_WALLET,     FALSE, gw_api_wallet_remove_funding },
  { "POST",   "/v1/wallet/charges",             AUTH_WALLET,      TRUE,  gw_api_wallet_charge },
  { "GET",    "/v1/wallet/history",             AUTH_WALLET,      FALSE, gw_api_wallet_history,
    page_query },
  /* signed with the network secret, checked by the handler */
  { "POST",   "/v1/network/messages",           AUTH_NONE,        FALSE, gw_api_network_messages },
  { "POST",   "/v1/checkout_sessions",          AUTH_MERCHANT,    TRUE,  gw_api_checkout_create },
  { "GET",    "/v1/checkout_sessions/{id}",     AUTH_MERCHANT,    FALSE, gw_api_checkout_get },
  { "POST",   "/v1/checkout_sessions/{id}/expire", AUTH_MERCHANT, TRUE,  gw_api_checkout_expire },
  { "GET",    "/v1/checkout_sessions/{id}/public", AUTH_NONE,     FALSE, gw_api_checkout_public },
  { "POST",   "/v1/checkout_sessions/{id}/pay", AUTH_CARD_HOLDER, TRUE,  gw_api_checkout_pay },
  { "POST",   "/v1/wallet/checkout",            AUTH_WALLET,      TRUE,  gw_api_checkout_wallet },
  { "GET",    "/v1/webhook_endpoint",           AUTH_MERCHANT,    FALSE, gw_api_webhook_endpoint_get },
  { "POST",   "/v1/webhook_endpoint",           AUTH_MERCHANT,    TRUE,  gw_api_webhook_endpoint_set },
  { "DELETE", "/v1/webhook_endpoint",           AUTH_MERCHANT,    FALSE, gw_api_webhook_endpoint_delete },
  { "POST",   "/v1/webhook_secret/roll",        AUTH_MERCHANT,    TRUE,  gw_api_webhook_secret_roll },
  { "GET",    "/pay/assets/{id}",               AUTH_NONE,        FALSE, gw_api_checkout_asset },
  { "GET",    "/pay/{id}",                      AUTH_NONE,        FALSE, gw_api_checkout_page },
};

typedef struct
{
  gint64   window_start;
  guint    failures;
  guint    slow_work;   /* password hashes asked for (gw_server_count_slow_work) */
  guint    pending;     /* card-holder requests let through and not yet answered */
  GQueue   waiting;     /* Parked: card-holder requests held until one of those is */
  gboolean releasing;
} AddressFailures;

struct _GwServer
{
  GObject               parent_instance;

  const GwConfig       *config;
  GwStore              *store;
  const GwLedgerConfig *ledger;
  GwMetrics            *metrics;
  OnepinKey            *apikey_key;
  OnepinKey            *idempotency_key;
  guint8                admin_token_hash[32];
  char                 *metrics_token;  /* NULL: GET /metrics from this machine only */
  GwConnector          *connector;

  SoupServer           *soup;
  GwListener           *listener;   /* with soup (http_threads = 0) */
  GwIoThreads          *io_threads;
  char                 *url;
  GHashTable           *merchants;      /* key hash (32 bytes, as GBytes) -> merchant id */
  GHashTable           *in_flight;      /* key hashes (gw_key_hash_set_new) */
  GHashTable           *failures;       /* gw_net_address_key -> AddressFailures */
  guint                 requests_in_flight;
  guint                 answers_unwritten;  /* handed to self->soup, not yet sent */
  gboolean              draining;
};

G_DEFINE_FINAL_TYPE (GwServer, gw_server, G_TYPE_OBJECT)

/* JSON writing: members are appended after '{' or a previous member. */

static void
json_member (GString    *out,
             const char *name)
{
  char last = out->len ? out->str[out->len - 1] : 0;

  if (last != '{' && last != '[' && last != 0)
    g_string_append_c (out, ',');
  g_string_append_c (out, '"');
  g_string_append (out, name);
  g_string_append (out, "\":");
}

void
gw_json_str (GString    *out,
             const char *name,
             const char *value)
{
  json_member (out, name);
  if (value == NULL)
    g_string_append (out, "null");
  else
    onepin_json_append_string (out, value);
}

void
gw_json_int (GString    *out,
             const char *name,
             gint64      value)
{
  json_member (out, name);
  onepin_json_append_int (out, value);
}

void
gw_json_bool (GString    *out,
              const char *name,
              gboolean    value)
{
  json_member (out, name);
  g_string_append (out, value ? "true" : "false");
}

void
gw_json_optional_int (GString    *out,
                      const char *name,
                      gint64      value)
{
  if (value != 0)
    gw_json_int (out, name, value);
  else
    gw_json_str (out, name, NULL);
}

void
gw_json_optional_str (GString    *out,
                      const char *name,
                      const char *value)
{
  gw_json_str (out, name, value != NULL && value[0] != '\0' ? value : NULL);
}

void
gw_json_close (GString *out,
               char     closer)
{
  g_string_append_c (out, closer);
}

void
gw_json_raw (GString    *out,
             const char *name,
             const char *json)
{
  json_member (out, name);
  g_string_append (out, json);
}

void
gw_error_render (GString    *out,
                 const char *type,
                 const char *code,
                 const char *decline_code,
                 const char *param,
                 const char *message)
{
  g_string_append (out, "{\"error\":{");
  gw_json_str (out, "type", type);
  gw_json_str (out, "code", code);
  if (decline_code != NULL)
    gw_json_str (out, "decline_code", decline_code);
  gw_json_str (out, "message", message);
  if (param != NULL)
    gw_json_str (out, "param", param);
  g_string_append (out, "}}");
}

/* Accessors */

const GwConfig *
gw_server_get_config (GwServer *self)
{
  return self->config;
}

const GwLedgerConfig *
gw_server_get_ledger_config (GwServer *self)
{
  return self->ledger;
}

gboolean
gw_server_is_draining (GwServer *self)
{
  return self->draining;
}

GwStore *
gw_server_get_store (GwServer *self)
{
  return self->store;
}

GwMetrics *
gw_server_get_metrics (GwServer *self)
{
  return self->metrics;
}

void
gw_server_set_connector (GwServer    *self,
                         GwConnector *connector)
{
  g_set_object (&self->connector, connector);
}

GwConnector *
gw_server_get_connector (GwServer *self)
{
  return self->connector;
}

const char *
gw_server_get_url (GwServer *self)
{
  return self->url;
}

void
gw_server_hash_api_key (GwServer   *self,
                        const char *key,
                        guint8      out[32])
{
  onepin_key_hmac (self->apikey_key, key, strlen (key), out);
}

void
gw_server_hash_idempotency_key (GwServer   *self,
                                const char *scope,
                                const char *key,
                                guint8      out[32])
{
  gw_keys_idempotency_hash (self->idempotency_key, scope, key, out);
}

/* A keyed hash is spread evenly, and no client can choose it: its last
 * bytes are as good a hash as any, and cannot be flooded. Not its first:
 * those come from the key's stem (gw_keys_idempotency_hash), the same for
 * a thousand keys made in sequence, which would all share one bucket. */
guint
gw_key_hash_hash (gconstpointer key)
{
  guint h;

  memcpy (&h, (const guint8 *) key + 32 - sizeof h, sizeof h);
  return h;
}

static gboolean
key_hash_equal (gconstpointer a,
                gconstpointer b)
{
  return memcmp (a, b, 32) == 0;
}

GHashTable *
gw_key_hash_set_new (void)
{
  return g_hash_table_new_full (gw_key_hash_hash, key_hash_equal, g_free, NULL);
}

/* Requests */

static void
request_free (GwRequest *request)
{
  g_clear_pointer (&request->msg, gw_io_threads_release);
  g_clear_pointer (&request->path_id, g_free);
  g_clear_pointer (&request->body, json_object_unref);
  g_clear_pointer (&request->query, g_hash_table_unref);
  g_clear_pointer (&request->remote, g_free);
  g_clear_pointer (&request->limit_key, g_free);
  g_clear_pointer (&request->idempotency_key, g_free);
  explicit_bzero (&request->holder, sizeof request->holder);
  g_free (request);
}

static void
log_access (GwRequest *request,
            guint      status)
{
  char status_text[16];
  char duration[24];
  /* Only the route pattern is logged: paths and bodies may carry ids and
   * the bodies secrets, so neither is written. (An array: in
   * g_log_structured () only MESSAGE is a format, and it ends the list.) */
  const GLogField fields[] = {
    { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
    { "MESSAGE", "request", -1 },
    { "METHOD", soup_server_message_get_method (request->msg), -1 },
    { "ROUTE", request->route, -1 },
    { "STATUS", status_text, -1 },
    { "DURATION_US", duration, -1 },
  };

  if (!request->server->config->access_log)
    return;
  g_snprintf (status_text, sizeof status_text, "%u", status);
  g_snprintf (duration, sizeof duration, "%" G_GINT64_FORMAT,
              g_get_monotonic_time () - request->started);
  g_log_structured_array (G_LOG_LEVEL_INFO, fields, G_N_ELEMENTS (fields));
}

G_DEFINE_QUARK (gw-server-unwritten, unwritten)

/* An answer handed back is written on later turns of the loop, so the drain
 * waits for those of the main server too (gw-io-threads waits for its own):
 * counted here, and again when libsoup is done with the message. */
static void
note_unwritten (GwServer          *self,
                SoupServerMessage *msg)
{
  if (self->io_threads != NULL)
    return;
  g_object_set_qdata (G_OBJECT (msg), unwritten_quark (), self);
  self->answers_unwritten++;
}

/* "request-finished" and "request-aborted" */
static void
on_request_over (SoupServer        *soup,
                 SoupServerMessage *msg,
                 gpointer           user_data)
{
  GwServer *self = user_data;

  if (g_object_steal_qdata (G_OBJECT (msg), unwritten_quark ()) != NULL)
    self->answers_unwritten--;
}

static void address_release (GwRequest *request);

static void
request_done (GwRequest *request,
              guint      status)
{
  gw_metrics_request (request->server->metrics, request->route, status);
  log_access (request, status);
  if (request->holds_address)
    address_release (request);
  request->server->requests_in_flight--;
  note_unwritten (request->server, request->msg);
  gw_io_threads_resume (g_steal_pointer (&request->msg));
  request_free (request);
}

static void
reply_typed (GwRequest  *request,
             guint       status,
             const char *content_type,
             GString    *body)
{
  SoupServerMessage *msg = request->msg;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  gsize len = body->len;

  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  /* RFC 9110 (11.6.1): a 401 names the scheme that would be accepted. */
  if (status == 401)
    soup_message_headers_replace (headers, "WWW-Authenticate", "Bearer realm=\"onepin\"");
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, content_type, SOUP_MEMORY_TAKE,
                                    g_string_free (body, FALSE), len);
  request_done (request, status);
}

void
gw_request_reply (GwRequest *request,
                  guint      status,
                  GString   *body)
{
  reply_typed (request, status, JSON_TYPE, body);
}

void
gw_request_reply_text (GwRequest  *request,
                       const char *content_type,
                       GString    *body)
{
  reply_typed (request, 200, content_type, body);
}

/* A refusal is an outcome too: for a keyed request it is recorded like any
 * other, so the same key and parameters get the same answer back. */
typedef struct
{
  guint    status;
  GString *body;
} Refusal;

static void
refusal_free (gpointer data)
{
  Refusal *refusal = data;

  g_string_free (refusal->body, TRUE);
  g_free (refusal);
}

static gboolean
refusal_apply (GwTxn   *txn,
               GwCall  *call,
               GError **error)
{
  Refusal *refusal = call->data;

  call->status = refusal->status;
  call->body = g_string_new_len (refusal->body->str, refusal->body->len);
  return TRUE;
}

void
gw_request_error (GwRequest  *request,
                  guint       status,
                  const char *type,
                  const char *code,
                  const char *param,
                  const char *message)
{
  GString *body = g_string_sized_new (160);

  gw_error_render (body, type, code, NULL, param, message);
  if (request->idempotency_key != NULL && status >= 400 && status < 500)
    {
      Refusal *refusal = g_new0 (Refusal, 1);

      refusal->status = status;
      refusal->body = body;
      gw_call_submit (gw_call_new (request, refusal_apply, refusal, refusal_free));
      return;
    }
  gw_request_reply (request, status, body);
}

void
gw_request_bad_param (GwRequest  *request,
                      const char *param,
                      const char *message)
{
  gw_request_error (request, 400, "invalid_request_error", "parameter_invalid", param, message);
}

const char *
gw_plain_word (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > 64 || name[strspn (name, "abcdefghijklmnopqrstuvwxyz_")] != '\0')
    return NULL;
  return name;
}

void
gw_request_field_error (GwRequest    *request,
                        const GError *error,
                        const char   *parent,
                        const char   *field)
{
  g_autofree char *param = NULL;
  g_autofree char *message = NULL;
  const char *code = "parameter_invalid";
  const char *format = "Invalid type for parameter: %s";

  if (g_error_matches (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_UNKNOWN_FIELD))
    code = "parameter_unknown", format = "Unknown parameter: %s";
  else if (g_error_matches (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_MISSING))
    code = "parameter_missing", format = "Missing parameter: %s";
  /* Our own fields' names are safe to echo, values never; an unknown name
   * is the caller's, and only a plain word is repeated. Otherwise the
   * answer names at most the object that holds it. */
  if (field != NULL && (!g_str_equal (code, "parameter_unknown") || gw_plain_word (field) != NULL))
    {
      param = parent != NULL ? g_strdup_printf ("%s.%s", parent, field) : g_strdup (field);
      message = g_strdup_printf (format, param);
    }
  else
    {
      param = g_strdup (parent);
      message = parent != NULL ? g_strdup_printf ("Unknown or invalid parameter in %s.", parent)
                               : g_strdup ("Unknown or invalid parameter.");
    }
  gw_request_error (request, 400, "invalid_request_error", code, param, message);
}

gboolean
gw_request_check_body (GwRequest             *request,
                       const OnepinJsonField *fields,
                       gsize                  n_fields)
{
  g_autoptr(GError) error = NULL;
  const char *param = NULL;

  if (onepin_json_check_fields (request->body, fields, n_fields, &param, &error))
    return TRUE;
  gw_request_field_error (request, error, NULL, param);
  return FALSE;
}

static gboolean
query_piece_ok (GwRequest          *request,
                const char         *piece,
                const char * const *allowed,
                GHashTable         *seen)
{
  const char *equals = strchr (piece, '=');
  g_autofree char *name = g_uri_unescape_segment (piece, equals ? equals : piece + strlen (piece),
                                                  NULL);

  if (name == NULL || allowed == NULL || !g_strv_contains (allowed, name))
    {
      gw_request_error (request, 400, "invalid_request_error", "parameter_unknown",
                        name ? gw_plain_word (name) : NULL, "Unknown query parameter.");
      return FALSE;
    }
  if (equals == NULL || g_hash_table_contains (seen, name))
    {
      gw_request_error (request, 400, "invalid_request_error", "parameter_invalid", name,
                        equals == NULL ? "A query parameter needs a value: NAME=VALUE."
                                       : "A query parameter may be given once only.");
      return FALSE;
    }
  g_hash_table_add (seen, g_steal_pointer (&name));
  return TRUE;
}

/* Every piece NAME=VALUE, NAME one of @allowed (NULL allows none), none
 * twice. The raw query is read: the parsed table drops pieces without "="
 * and keeps only the last of two. FALSE after replying 400. */
static gboolean
check_query (GwRequest          *request,
             const char * const *allowed)
{
  const char *query = g_uri_get_query (soup_server_message_get_uri (request->msg));
  g_auto(GStrv) pieces = NULL;
  g_autoptr(GHashTable) seen = NULL;

  if (query == NULL || *query == '\0')
    return TRUE;
  pieces = g_strsplit (query, "&", -1);
  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; pieces[i] != NULL; i++)
    if (*pieces[i] != '\0' && !query_piece_ok (request, pieces[i], allowed, seen))
      return FALSE;
  return TRUE;
}

gboolean
gw_request_limit (GwRequest *request,
                  guint      fallback,
                  guint     *limit)
{
  const char *text = request->query ? g_hash_table_lookup (request->query, "limit") : NULL;
  guint64 value;

  *limit = fallback;
  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, 1, 100, &value, NULL))
    {
      gw_request_bad_param (request, "limit", "limit must be an integer from 1 to 100");
      return FALSE;
    }
  *limit = value;
  return TRUE;
}

/* Per-address failure limit for the card-holder endpoints. */

/* What @request's failures count against: its address, or another key. */
static const char *
limit_key (GwRequest *request)
{
  return request->limit_key != NULL ? request->limit_key : request->remote;
}

static AddressFailures *
address_failures (GwServer   *self,
                  const char *remote,
                  gboolean    create)
{
  AddressFailures *entry = g_hash_table_lookup (self->failures, remote);
  gint64 now = g_get_monotonic_time () / G_USEC_PER_SEC;

  if (entry != NULL && now - entry->window_start >= 60)
    {
      entry->window_start = now;
      entry->failures = 0;
      entry->slow_work = 0;
    }
  if (entry == NULL && create)
    {
      entry = g_new0 (AddressFailures, 1);
      entry->window_start = now;
      g_hash_table_insert (self->failures, g_strdup (remote), entry);
    }
  return entry;
}


gboolean
gw_server_count_slow_work (GwServer   *self,
                           const char *remote,
                           guint       limit,
                           guint      *retry_after)
{
  AddressFailures *entry = address_failures (self, remote, TRUE);
  gint64 now = g_get_monotonic_time () / G_USEC_PER_SEC;

  *retry_after = MAX (1, 60 - (now - entry->window_start));
  if (entry->slow_work >= limit)
    return FALSE;
  entry->slow_work++;
  return TRUE;
}

static gboolean
prune_failures (gpointer user_data)
{
  GwServer *self = user_data;
  GHashTableIter iter;
  gpointer value;
  gint64 now = g_get_monotonic_time () / G_USEC_PER_SEC;

  g_hash_table_iter_init (&iter, self->failures);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      AddressFailures *entry = value;

      if (now - entry->window_start >= 60 && entry->pending == 0 &&
          g_queue_is_empty (&entry->waiting))
        g_hash_table_iter_remove (&iter);
    }
  return G_SOURCE_CONTINUE;
}

/* Calls */

GwCall *
gw_call_new (GwRequest      *request,
             GwCallApply     apply,
             gpointer        data,
             GDestroyNotify  data_free)
{
  GwCall *call = g_new0 (GwCall, 1);

  call->server = request->server;
  call->request = request;
  call->apply = apply;
  call->data = data;
  call->data_free = data_free;
  if (request->idempotency_key != NULL)
    {
      /* The scope is final here: handlers narrow it before they make a call. */
      call->keyed = TRUE;
      gw_server_hash_idempotency_key (request->server, request->scope, request->idempotency_key,
                                      call->key_hash);
      memcpy (call->fingerprint, request->fingerprint, 32);
      memcpy (call->bare_fingerprint, request->bare_fingerprint, 32);
      call->has_holder = request->has_holder;
      call->holder = request->holder;
    }
  return call;
}

void
gw_call_free (GwCall *call)
{
  if (call->data_free != NULL)
    call->data_free (call->data);
  if (call->body != NULL)
    g_string_free (call->body, TRUE);
  explicit_bzero (&call->holder, sizeof call->holder);
  g_free (call);
}

void
gw_call_ok (GwCall  *call,
            GString *body)
{
  call->status = 200;
  call->body = body;
}

static const char *
decline_message (GwDecline decline)
{
  switch (decline)
    {
    case GW_DECLINE_CARD_LOCKED:
      return "The card is locked after too many wrong passwords. Try again later.";
    case GW_DECLINE_CARD_NOT_ACTIVE:
      return "The card is not active: it has no password yet, or it was closed.";
    case GW_DECLINE_EXPIRED_CARD:
      return "The card has expired.";
    case GW_DECLINE_INSUFFICIENT_FUNDS:
      return "The card's available balance is too low for this amount.";
    case GW_DECLINE_CURRENCY_MISMATCH:
      return "The card does not hold this currency.";
    case GW_DECLINE_BALANCE_LIMIT:
      return "The card's balance would exceed its 1,000,000 KRW limit.";
    case GW_DECLINE_INVALID_CREDENTIALS:
    case GW_DECLINE_NONE:
    default:
      return "The card number or password is incorrect.";
    }
}

void
gw_call_fail (GwCall          *call,
              const GwOutcome *outcome,
              const char      *param)
{
  GString *body = g_string_sized_new (200);

  call->outcome = *outcome;
  call->body = body;
  switch (outcome->code)
    {
    case GW_RESULT_DECLINED:
      call->status = 402;
      gw_error_render (body, "card_error", "card_declined",
                       gw_decline_to_string (outcome->decline), NULL,
                       decline_message (outcome->decline));
      break;
    case GW_RESULT_NOT_FOUND:
      call->status = 404;
      gw_error_render (body, "invalid_request_error", "resource_missing", NULL, param,
                       "No such payment.");
      break;
    case GW_RESULT_ALREADY_RESOLVED:
      call->status = 409;
      gw_error_render (body, "invalid_request_error", "payment_already_resolved", NULL, NULL,
                       "The payment was already captured or canceled.");
      break;
    case GW_RESULT_ALREADY_REGISTERED:
      call->status = 409;
      gw_error_render (body, "invalid_request_error", "card_already_registered", NULL, NULL,
                       "The card already has a password.");
      break;
    case GW_RESULT_PAYMENT_EXPIRED:
      call->status = 409;
      gw_error_render (body, "invalid_request_error", "payment_expired", NULL, NULL,
                       "The authorization expired and was canceled.");
      break;
    case GW_RESULT_NOTHING_TO_REFUND:
      /* The same code as an amount above what is left, but no amount was
       * given, so no parameter is at fault. */
      call->status = 400;
      gw_error_render (body, "invalid_request_error", "amount_too_large", NULL, NULL,
                       "The payment has nothing captured left to refund.");
      break;
    case GW_RESULT_AMOUNT_TOO_LARGE:
    case GW_RESULT_OK:
    default:
      call->status = 400;
      gw_error_render (body, "invalid_request_error", "amount_too_large", NULL, "amount",
                       "The amount is more than the payment has left to capture or refund.");
      break;
    }
}

gboolean
gw_server_claim_key (GwServer     *self,
                     const guint8  key_hash[32])
{
  if (g_hash_table_contains (self->in_flight, key_hash))
    return FALSE;
  g_hash_table_add (self->in_flight, g_memdup2 (key_hash, 32));
  return TRUE;
}

void
gw_server_release_key (GwServer     *self,
                       const guint8  key_hash[32])
{
  g_hash_table_remove (self->in_flight, key_hash);
}

gboolean
gw_idempotency_replay (GwTxn         *txn,
                       GwCall        *call,
                       const guint8   key_hash[32],
                       const guint8   fingerprint[32],
                       const guint8   bare_fingerprint[32],
                       gboolean      *answered,
                       GError       **error)
{
  GwIdempotencyRecord record = { 0 };
  GError *local = NULL;

  *answered = FALSE;
  if (!txn->funcs->idempotency_get (txn, key_hash, &record, &local))
    return local ? (g_propagate_error (error, local), FALSE) : TRUE;

  *answered = TRUE;
  call->replayed = gw_server_fingerprint_matches (call->server, record.fingerprint, fingerprint,
                                                  bare_fingerprint);
  call->body = g_string_sized_new (256);
  if (call->replayed)
    {
      call->status = record.status;
      g_string_append_len (call->body, g_bytes_get_data (record.body, NULL),
                           g_bytes_get_size (record.body));
    }
  else
    {
      call->status = 422;
      gw_error_render (call->body, "idempotency_error", "idempotency_key_reused", NULL,
                       NULL, "This Idempotency-Key was used with other parameters.");
    }
  g_bytes_unref (record.body);
  return TRUE;
}

gboolean
gw_idempotency_remember (GwTxn         *txn,
                         GwCall        *call,
                         const guint8   key_hash[32],
                         const guint8   fingerprint[32],
                         GError       **error)
{
  if (call->status >= 500)
    return TRUE;
  return txn->funcs->idempotency_put (txn, key_hash, fingerprint, call->status,
                                      call->body->str, call->body->len, call->seal, error);
}

/* A card-scoped key reused with other parameters: the password is checked
 * first, as any request on the card would, and a wrong one is refused (and
 * counted by call_apply). Otherwise anyone with the number and the key could
 * tell a right password (422) from a wrong one, past the lockout and the
 * address limit. */
static gboolean
holder_key_reused (GwTxn   *txn,
                   GwCall  *call,
                   GError **error)
{
  GwCard card;
  GwOutcome outcome;

  if (!gw_ledger_authenticate (txn, gw_server_get_ledger_config (call->server), &call->holder,
                               &card, &outcome, error))
    return FALSE;
  /* A card with no password yet has none to guess: the 422 stands. */
  if (outcome.code == GW_RESULT_OK ||
      (outcome.code == GW_RESULT_DECLINED && outcome.decline == GW_DECLINE_CARD_NOT_ACTIVE))
    return TRUE;
  g_string_free (g_steal_pointer (&call->body), TRUE);
  gw_call_fail (call, &outcome, NULL);
  return TRUE;
}

/* A card-scoped key's replay: a locked card answers card_locked to every
 * request, a replay included, or the stored answer would tell the right
 * password (its fingerprint's) from wrong ones while the lock holds. */
static gboolean
holder_replay (GwTxn   *txn,
               GwCall  *call,
               GError **error)
{
  GwOutcome outcome = { .code = GW_RESULT_DECLINED, .decline = GW_DECLINE_CARD_LOCKED };
  gboolean locked;

  if (!gw_ledger_card_locked (txn, &call->holder, &locked, error))
    return FALSE;
  if (!locked)
    return TRUE;
  call->replayed = FALSE;
  g_string_free (g_steal_pointer (&call->body), TRUE);
  gw_call_fail (call, &outcome, NULL);
  return TRUE;
}

gboolean
gw_idempotency_check_holder (GwTxn   *txn,
                             GwCall  *call,
                             GError **error)
{
  return call->replayed ? holder_replay (txn, call, error) : holder_key_reused (txn, call, error);
}

/* Runs on the writer thread, in a savepoint; perhaps more than once, when
 * the call is repeatable, which then starts with no outputs. */
static gboolean
call_apply (GwTxn    *txn,
            gpointer  data,
            GError  **error)
{
  GwCall *call = data;
  gboolean answered = FALSE;

  if (call->repeatable)
    {
      call->status = 0;
      if (call->body != NULL)
        g_string_free (g_steal_pointer (&call->body), TRUE);
      call->replayed = FALSE;
      memset (&call->outcome, 0, sizeof call->outcome);
      call->is_payment = FALSE;
    }

  if (call->keyed &&
      !gw_idempotency_replay (txn, call, call->key_hash, call->fingerprint,
                              call->bare_fingerprint, &answered, error))
    return FALSE;
  if (answered && call->has_holder && !gw_idempotency_check_holder (txn, call, error))
    return FALSE;
  if (answered && call->check_answered != NULL && !call->check_answered (txn, call, error))
    return FALSE;
  if (answered)
    return !call->outcome.credential_failure || gw_ledger_count_refusal (txn, error);

  if (!call->apply (txn, call, error))
    return FALSE;
  if (call->outcome.credential_failure && !gw_ledger_count_refusal (txn, error))
    return FALSE;

  if (call->keyed)
    return gw_idempotency_remember (txn, call, call->key_hash, call->fingerprint, error);
  return TRUE;
}

static void
count_outcome (GwCall *call)
{
  GwServer *self = call->server;

  if (call->request != NULL &&
      (call->outcome.credential_failure || call->counts_as_failure) &&
      call->request->limit_failures)
    address_failures (self, limit_key (call->request), TRUE)->failures++;

  if (!call->is_payment || call->replayed)
    return;
  if (call->status == 200)
    gw_metrics_approved (self->metrics);
  else if (call->outcome.code == GW_RESULT_DECLINED)
    gw_metrics_declined (self->metrics, gw_decline_to_string (call->outcome.decline));
}

/* Back on the main thread, after the commit. */
static void
call_done (gpointer      data,
           const GError *error)
{
  GwCall *call = data;
  GwRequest *request = call->request;

  if (call->keyed)
    gw_server_release_key (call->server, call->key_hash);

  if (error != NULL)
    {
      gboolean down = g_error_matches (error, GW_STORE_ERROR, GW_STORE_ERROR_SHUTTING_DOWN);
      /* Another writer kept changing what it read, through every retry:
       * nothing of it was stored, so the same request may simply come again. */
      gboolean busy = g_error_matches (error, GW_STORE_ERROR, GW_STORE_ERROR_CONFLICT);

      /* The cause stays in our log; the client learns only that it failed. */
      if (!down)
        g_warning ("operation failed: %s", error->message);
      if (call->body != NULL)
        g_string_free (call->body, TRUE);
      call->body = g_string_new (NULL);
      call->status = down || busy ? 503 : 500;
      call->replayed = FALSE;
      /* Nothing was committed: no refusal to count against the address. */
      memset (&call->outcome, 0, sizeof call->outcome);
      gw_error_render (call->body, "api_error", down || busy ? "unavailable" : "internal", NULL,
                       NULL,
                       down ? "The gateway is shutting down. Retry with the same Idempotency-Key."
                       : busy ? "The payment was changing under another request; this one had "
                                "no effect. Retry with the same Idempotency-Key."
                              : "The operation failed and had no effect. Retry with the same "
                                "Idempotency-Key.");
    }

  count_outcome (call);

  if (call->done != NULL)
    {
      call->done (call, call->done_data);
      return;
    }

  if (call->replayed)
    soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                  "Idempotent-Replayed", "true");
  gw_request_reply (request, call->status, g_steal_pointer (&call->body));
  call->request = NULL;
  gw_call_free (call);
}

static gboolean
refuse_unscoped (GwTxn   *txn,
                 GwCall  *call,
                 GError **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "a keyed call in the shared idempotency scope");
  return FALSE;
}

void
gw_call_submit (GwCall *call)
{
  GwServer *self = call->server;
  GwRequest *request = call->request;

  /* Any answer but a refusal of the request's form, stored in the shared
   * scope, would be replayed to whoever repeats the request, secrets and
   * all. A handler that makes such a call before narrowing the scope is a
   * bug: the call fails (500) with nothing looked up, done or stored. */
  if (request != NULL && request->idempotency_key != NULL && call->apply != refusal_apply &&
      g_str_equal (request->scope, SHARED_SCOPE))
    {
      g_critical ("%s: a keyed call left in the shared idempotency scope", request->route);
      call->keyed = FALSE;
      call->apply = refuse_unscoped;
    }

  if (call->keyed && !gw_server_claim_key (self, call->key_hash))
    {
      call->status = 409;
      call->body = g_string_new (NULL);
      gw_error_render (call->body, "idempotency_error", "idempotency_in_flight", NULL, NULL,
                       "A request with this Idempotency-Key is still in progress.");
      if (call->done != NULL)
        {
          call->done (call, call->done_data);
          return;
        }
      gw_request_reply (call->request, 409, g_steal_pointer (&call->body));
      call->request = NULL;
      gw_call_free (call);
      return;
    }

  gw_store_submit_full (self->store, call_apply, call_done, call,
                        call->repeatable ? GW_STORE_OP_REPEATABLE : GW_STORE_OP_NONE);
}

/* Built-in routes */

static void
handle_healthz (GwRequest *request)
{
  gw_request_reply (request, 200, g_string_new ("{\"status\":\"ok\"}"));
}

static gboolean
failures_today_read (GwTxn    *txn,
                     gpointer  data,
                     GError  **error)
{
  return txn->funcs->credential_failures (txn, txn->funcs->now (txn) / (24 * 60 * 60), data,
                                          error);
}

/* Finishes a request whose answer is already set on its message. */
static void
handle_metrics (GwRequest *request)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *counters = gw_metrics_render (request->server->metrics);
  g_autoptr(GError) error = NULL;
  SoupServerMessage *msg = request->msg;
  gint64 failures = 0;
  gsize len;

  g_string_append (text, counters);
  g_string_append_printf (text,
                          "# HELP onepin_connections_open Client connections open now.\n"
                          "# TYPE onepin_connections_open gauge\n"
                          "onepin_connections_open %u\n"
                          "# HELP onepin_connections_refused_total Client connections closed "
                          "as accepted: their address had connections_per_address open.\n"
                          "# TYPE onepin_connections_refused_total counter\n"
                          "onepin_connections_refused_total %u\n",
                          gw_listener_open_connections (), gw_listener_refused_connections ());
  /* Counted by the writer in the database (gw_ledger_count_refusal), so
   * every gateway process on one database shows the same figure. */
  if (gw_store_read (request->server->store, failures_today_read, &failures, &error))
    g_string_append_printf (text,
                            "# HELP onepin_credential_failures_today Credentials refused today "
                            "(UTC): card numbers and passwords, wallet sign-ins, order access "
                            "codes.\n"
                            "# TYPE onepin_credential_failures_today gauge\n"
                            "onepin_credential_failures_today %" G_GINT64_FORMAT "\n", failures);
  else
    g_warning ("metrics: %s", error->message);
  len = text->len;
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4; charset=utf-8",
                                    SOUP_MEMORY_TAKE, g_string_free (g_steal_pointer (&text), FALSE),
                                    len);
  request_done (request, 200);
}

/* The site's pages: only for GETs that no API route claims (gw_pages_claims). */
static void
handle_pages (GwRequest  *request,
              const char *path)
{
  gboolean https = request->server->config->tls_certificate != NULL;

  request->route = "site";
  request_done (request, gw_pages_serve (request->msg, path, https));
}

/* Dispatch */

/* Matches @path against @pattern, where "{id}" stands for one non-empty
 * segment; no allocation, as this runs for every request. */
static gboolean
match_pattern (const char  *pattern,
               const char  *path,
               const char **id,
               gsize       *id_len)
{
  while (*pattern != '\0' && *path != '\0')
    {
      if (g_str_has_prefix (pattern, "{id}"))
        {
          gsize len = strcspn (path, "/");

          if (len == 0)
            return FALSE;
          *id = path;
          *id_len = len;
          path += len;
          pattern += 4;
          continue;
        }
      if (*pattern++ != *path++)
        return FALSE;
    }
  return *pattern == '\0' && *path == '\0';
}

/* HEAD is answered as GET: libsoup then sends the headers only (RFC 9110
 * 9.3.2 asks that of every resource that answers GET). */
static gboolean
method_serves (const char *route_method,
               const char *method)
{
  return g_str_equal (route_method, method) ||
         (g_str_equal (method, "HEAD") && g_str_equal (route_method, "GET"));
}

static const Route *
match_route (const char  *method,
             const char  *path,
             char       **path_id,
             gboolean    *path_known)
{
  *path_known = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      const char *id = NULL;
      gsize id_len = 0;

      if (!match_pattern (routes[i].pattern, path, &id, &id_len))
        continue;
      *path_known = TRUE;
      if (!method_serves (routes[i].method, method))
        continue;
      *path_id = id ? g_strndup (id, id_len) : NULL;
      return &routes[i];
    }
  return NULL;
}

/* All the request's Authorization headers, joined with ", ", or NULL. */
static const char *
request_authorization (GwRequest *request)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->msg);

  return soup_message_headers_get_list (headers, "Authorization");
}

const char *
gw_request_bearer (GwRequest *request)
{
  return gw_net_bearer_token (request_authorization (request));
}

static gboolean
authenticate_merchant (GwServer     *self,
                       const char   *token,
                       const guint8  hash[32],
                       char          merchant_id[40]);

/* The counters tell volumes and decline patterns: a monitor on this
 * machine reads them, anyone else needs the metrics token. The peer is the
 * accepted socket's (gw-listener.c hands it to libsoup, TLS or not); with
 * I/O threads its text was cached there before the hand-over
 * (worker_request), so that here it is only read, as in serve (). */
static gboolean
authenticate_metrics (GwRequest *request)
{
  const char *host = soup_server_message_get_remote_host (request->msg);
  g_autoptr(GInetAddress) peer = host ? g_inet_address_new_from_string (host) : NULL;

  if (gw_metrics_may_read (peer, request_authorization (request),
                           request->server->metrics_token))
    {
      g_strlcpy (request->scope, SHARED_SCOPE, sizeof request->scope);
      return TRUE;
    }
  gw_request_error (request, 401, "authentication_error", "unauthorized", NULL,
                    "Missing or invalid metrics token. Send it as: "
                    "Authorization: Bearer <token>.");
  return FALSE;
}

static gboolean
authenticate (GwRequest *request,
              AuthKind   auth)
{
  GwServer *self = request->server;
  const char *token;
  guint8 hash[32];

  /* Idempotency keys live in the caller's scope. A route without an API
   * key has no caller yet: it starts in the shared scope, which keeps only
   * refusals of a request's form (the same answer for anyone who sends
   * it), and its handler narrows it to the credential the request carries
   * (a card, an order's token, a gift's claim token) before anything else
   * is stored under the key (gw_call_submit). */
  if (auth == AUTH_NONE || auth == AUTH_CARD_HOLDER)
    {
      g_strlcpy (request->scope, SHARED_SCOPE, sizeof request->scope);
      request->limit_failures = auth == AUTH_CARD_HOLDER;
      return TRUE;
    }

  if (auth == AUTH_METRICS)
    return authenticate_metrics (request);
  token = gw_request_bearer (request);
  if (auth == AUTH_WALLET)
    {
      if (token != NULL && gw_api_wallet_authenticate (request, token))
        return TRUE;
      gw_request_error (request, 401, "authentication_error", "unauthorized", NULL,
                        "Sign in first and send the session token as: "
                        "Authorization: Bearer <token>.");
      return FALSE;
    }
  if (token != NULL)
    {
      onepin_key_hmac (self->apikey_key, token, strlen (token), hash);
      if (auth == AUTH_ADMIN && onepin_crypto_equal (hash, self->admin_token_hash, 32))
        {
          g_strlcpy (request->scope, "admin", sizeof request->scope);
          return TRUE;
        }
      if (auth == AUTH_MERCHANT &&
          authenticate_merchant (self, token, hash, request->merchant_id))
        {
          g_strlcpy (request->scope, request->merchant_id, sizeof request->scope);
          return TRUE;
        }
    }

  gw_request_error (request, 401, "authentication_error", "unauthorized", NULL,
                    "Missing or invalid API key. Send it as: Authorization: Bearer <key>.");
  return FALSE;
}

typedef struct
{
  guint8 hash[32];
  char   id[40];
  gboolean found;
} MerchantLookup;

static gboolean
merchant_lookup_apply (GwTxn    *txn,
                       gpointer  data,
                       GError  **error)
{
  MerchantLookup *lookup = data;

  lookup->found = txn->funcs->merchant_by_key (txn, lookup->hash, lookup->id, error);
  return error == NULL || *error == NULL;
}

/* @hash is the token's keyed hash, already computed by the caller. */
static gboolean
authenticate_merchant (GwServer     *self,
                       const char   *token,
                       const guint8  hash[32],
                       char          merchant_id[40])
{
  MerchantLookup lookup = { 0 };
  g_autoptr(GBytes) key = NULL;
  const char *cached;
  g_autoptr(GError) error = NULL;

  if (!g_str_has_prefix (token, "sk_"))
    return FALSE;
  memcpy (lookup.hash, hash, 32);
  key = g_bytes_new (lookup.hash, 32);
  cached = g_hash_table_lookup (self->merchants, key);
  if (cached == NULL)
    {
      if (!gw_store_read (self->store, merchant_lookup_apply, &lookup, &error))
        g_warning ("merchant lookup failed: %s", error->message);
      if (!lookup.found)
        return FALSE;
      cached = g_strdup (lookup.id);
      g_hash_table_insert (self->merchants, g_bytes_ref (key), (char *) cached);
    }
  g_strlcpy (merchant_id, cached, 40);
  return TRUE;
}

static gboolean
read_idempotency_key (GwRequest   *request,
                      const Route *route)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->msg);
  const char *key = soup_message_headers_get_one (headers, "Idempotency-Key");
  gsize len;

  if (key == NULL || !route->idempotent)
    return TRUE;
  len = strlen (key);
  for (gsize i = 0; i < len; i++)
    if (key[i] < 0x20 || key[i] > 0x7e)
      len = 0;
  if (len < 1 || len > 255)
    {
      gw_request_error (request, 400, "invalid_request_error", "parameter_invalid",
                        "Idempotency-Key",
                        "Idempotency-Key must be 1 to 255 printable ASCII characters.");
      return FALSE;
    }
  request->idempotency_key = g_strdup (key);
  return TRUE;
}

static void
fingerprint (GwRequest *request)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), request->body);
  g_autofree char *canonical = onepin_json_canonical (node);
  g_autofree char *text = g_strconcat (soup_server_message_get_method (request->msg), " ",
                                       request->route, " ",
                                       request->path_id ? request->path_id : "", "\n",
                                       canonical, NULL);

  onepin_crypto_sha256 (text, strlen (text), request->fingerprint);
  gw_server_key_fingerprint (request->server, request->fingerprint, request->bare_fingerprint);
}

/* Every fingerprint kept with an idempotency record is keyed: bodies hold
 * card passwords and PINs too short to leave as a bare SHA-256 in the
 * database, where anyone with the file could try them all. */
void
gw_server_key_fingerprint (GwServer *self,
                           guint8    fingerprint[32],
                           guint8   *bare)
{
  if (bare != NULL)
    memcpy (bare, fingerprint, 32);
  onepin_key_hmac (self->apikey_key, fingerprint, 32, fingerprint);
}

/* Versions before commit 8a68d94 kept most fingerprints as the bare
 * SHA-256, and no migration can key them: a row does not say which it
 * holds. Records live 72 hours, so this matters only across an upgrade,
 * where a retry must still get its stored answer, not a 422. A bare
 * fingerprint matches only the SHA-256 of the same canonical request,
 * so accepting it lets nothing else through; it is taken only when it is
 * what @fingerprint keys. */
gboolean
gw_server_fingerprint_matches (GwServer     *self,
                               const guint8  stored[32],
                               const guint8  fingerprint[32],
                               const guint8  bare[32])
{
  guint8 keyed[32];

  if (onepin_crypto_equal (stored, fingerprint, 32))
    return TRUE;
  if (bare == NULL)
    return FALSE;
  onepin_key_hmac (self->apikey_key, bare, 32, keyed);
  return onepin_crypto_equal (keyed, fingerprint, 32) && onepin_crypto_equal (stored, bare, 32);
}

void
gw_server_key_request_key (GwServer *self,
                           guint8    digest[32])
{
  gw_keys_request_key (self->idempotency_key, digest, digest);
}

void
gw_request_scope_to_hash (GwRequest    *request,
                          const char   *kind,
                          const guint8  hash[32])
{
  /* Ten bytes of the keyed hash: unique enough, and nothing of the
   * credential. */
  gsize len = g_snprintf (request->scope, sizeof request->scope, "%s:", kind);

  for (guint i = 0; i < 10 && len < sizeof request->scope; i++)
    len += g_snprintf (request->scope + len, sizeof request->scope - len, "%02x", hash[i]);
}

void
gw_request_scope_to_card (GwRequest           *request,
                          const GwCredentials *credentials)
{
  request->has_holder = TRUE;
  request->holder = *credentials;
  /* A malformed number names no card, and must be answered as an unknown
   * one is: its keys share one scope, checked the same way. */
  if (!credentials->well_formed)
    {
      g_strlcpy (request->scope, "card:malformed", sizeof request->scope);
      return;
    }
  gw_request_scope_to_hash (request, "card", credentials->lookup);
}

void
gw_request_use_idempotency_key (GwRequest  *request,
                                const char *key)
{
  g_free (request->idempotency_key);
  request->idempotency_key = g_strdup (key);
  fingerprint (request);
}

/* A body we cannot read is fingerprinted as bytes, so that its refusal is
 * recorded under the key like any other outcome. */
static void
fingerprint_raw (GwRequest       *request,
                 SoupMessageBody *body)
{
  g_autoptr(GByteArray) text = g_byte_array_sized_new (body->length + 64);

  g_byte_array_append (text, (const guint8 *) "raw ", 4);
  g_byte_array_append (text, (const guint8 *) request->route, strlen (request->route));
  g_byte_array_append (text, (const guint8 *) "\n", 1);
  g_byte_array_append (text, (const guint8 *) body->data, body->length);
  onepin_crypto_sha256 (text->data, text->len, request->fingerprint);
  gw_server_key_fingerprint (request->server, request->fingerprint, request->bare_fingerprint);
}

static gboolean
read_body (GwRequest *request)
{
  SoupMessageBody *body = soup_server_message_get_request_body (request->msg);
  g_autoptr(GError) error = NULL;

  if (body->length > MAX_BODY || g_object_get_data (G_OBJECT (request->msg), BODY_DROPPED))
    {
      fingerprint_raw (request, body);
      gw_request_error (request, 400, "invalid_request_error", "body_too_large", NULL,
                        "The request body is larger than 4 MB.");
      return FALSE;
    }

  if (body->length == 0)
    request->body = json_object_new ();
  else
    request->body = onepin_json_parse_object (body->data, body->length, &error);

  if (request->body == NULL)
    {
      fingerprint_raw (request, body);
      gw_request_error (request, 400, "invalid_request_error", "body_invalid", NULL,
                        "The body must be a JSON object in UTF-8.");
      return FALSE;
    }
  return TRUE;
}

/* A GET or DELETE takes no body. One sent anyway must still be a JSON
 * object, and an empty one, since its fields would be silently ignored. */
static gboolean
body_absent (GwRequest *request)
{
  SoupMessageBody *body = soup_server_message_get_request_body (request->msg);

  if (body->length == 0 && g_object_get_data (G_OBJECT (request->msg), BODY_DROPPED) == NULL)
    return TRUE;
  if (!read_body (request))
    return FALSE;
  /* Its first member is unknown; the answer may free @request. */
  if (json_object_get_size (request->body) > 0)
    return gw_request_check_body (request, NULL, 0);
  g_clear_pointer (&request->body, json_object_unref);
  return TRUE;
}

/* A POST takes its parameters in the body only: a query string beside it
 * (POST /v1/refunds?amount=5) would be silently ignored, so it is refused,
 * and, like any refusal, kept under its Idempotency-Key. The raw query is
 * looked at, since the parsed table drops pieces without "=". */
static gboolean
query_absent (GwRequest *request)
{
  const char *query = g_uri_get_query (soup_server_message_get_uri (request->msg));
  SoupMessageBody *body = soup_server_message_get_request_body (request->msg);
  g_autoptr(GByteArray) text = NULL;
  g_autofree char *param = NULL;

  if (query == NULL || *query == '\0')
    return TRUE;
  text = g_byte_array_new ();
  g_byte_array_append (text, (const guint8 *) "query ", 6);
  g_byte_array_append (text, (const guint8 *) request->route, strlen (request->route));
  g_byte_array_append (text, (const guint8 *) "\n", 1);
  g_byte_array_append (text, (const guint8 *) query, strlen (query) + 1);
  g_byte_array_append (text, (const guint8 *) body->data, body->length);
  onepin_crypto_sha256 (text->data, text->len, request->fingerprint);
  gw_server_key_fingerprint (request->server, request->fingerprint, request->bare_fingerprint);
  param = g_uri_unescape_segment (query, query + strcspn (query, "=&"), NULL);
  gw_request_error (request, 400, "invalid_request_error", "parameter_unknown",
                    param ? gw_plain_word (param) : NULL,
                    "A POST takes its parameters in the JSON body, not in the query string.");
  return FALSE;
}

/* A GET under /v1/ takes the query parameters its route names and no
 * others: one ignored (a typo, ?limit without a value, the first of two)
 * would answer another question than the one asked. The pages, probes and
 * /pay/ are left alone: browsers and monitors add cache busters there. */
static gboolean
query_allowed (GwRequest   *request,
               const Route *route)
{
  /* POST has query_absent; a DELETE is checked like a GET. */
  if (g_str_equal (route->method, "POST") || !g_str_has_prefix (route->pattern, "/v1/"))
    return TRUE;
  return check_query (request, route->query);
}

static void
dispatch_admitted (GwRequest   *request,
                   const Route *route)
{
  gboolean is_post = g_str_equal (route->method, "POST");

  if (!authenticate (request, route->auth))
    return;
  if (!read_idempotency_key (request, route))
    return;
  if (is_post && !query_absent (request))
    return;
  if (!query_allowed (request, route))
    return;
  if (is_post ? !read_body (request) : !body_absent (request))
    return;
  if (request->idempotency_key != NULL)
    fingerprint (request);

  route->handler (request);
}

/* The per-address failure limit, exact under concurrency: a failure is
 * counted only once its answer is committed, so requests already on their
 * way could otherwise all fail past the limit. A card-holder request goes
 * ahead only while the failures counted plus the requests still being
 * answered stay under the limit; past that it waits for one of those
 * answers, and once the failures reach the limit it gets 429. */

typedef struct
{
  GwRequest   *request;
  const Route *route;
} Parked;

#define MAX_PARKED 1000

static void
refuse_draining (GwRequest *request)
{
  gw_request_error (request, 503, "api_error", "unavailable", NULL,
                    "The gateway is shutting down.");
}

static void
refuse_rate_limited (GwRequest  *request,
                     const char *message)
{
  AddressFailures *entry = address_failures (request->server, limit_key (request), FALSE);
  gint64 now = g_get_monotonic_time () / G_USEC_PER_SEC;
  gint64 wait = entry != NULL ? MAX (1, 60 - (now - entry->window_start)) : 60;
  char seconds[24];

  /* When the address's minute is over; the 429 itself reveals nothing more. */
  g_snprintf (seconds, sizeof seconds, "%" G_GINT64_FORMAT, wait);
  soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                "Retry-After", seconds);
  gw_request_error (request, 429, "rate_limit_error", "rate_limited", NULL, message);
}

#define ADDRESS_LIMITED "Too many failed attempts from this address. Wait a minute."

static gboolean
address_admit (GwRequest   *request,
               const Route *route)
{
  GwServer *self = request->server;
  AddressFailures *entry = address_failures (self, request->remote, TRUE);
  guint limit = self->config->failures_per_minute;

  /* MAX_PARKED bounds what one address can leave waiting (each request
   * holds its body, up to MAX_BODY). */
  if (entry->failures >= limit || g_queue_get_length (&entry->waiting) >= MAX_PARKED)
    return refuse_rate_limited (request, ADDRESS_LIMITED), FALSE;
  /* Behind those already waiting, in the order they came. */
  if (entry->failures + entry->pending >= limit || !g_queue_is_empty (&entry->waiting))
    {
      Parked *parked = g_new (Parked, 1);

      parked->request = request;
      parked->route = route;
      g_queue_push_tail (&entry->waiting, parked);
      return FALSE;
    }
  entry->pending++;
  request->holds_address = TRUE;
  return TRUE;
}

/* @request, admitted, is answered: what waited behind it goes ahead, or gets
 * 429 if the failures reached the limit meanwhile. */
static void
address_release (GwRequest *request)
{
  GwServer *self = request->server;
  AddressFailures *entry = address_failures (self, limit_key (request), FALSE);
  guint limit = self->config->failures_per_minute;
  Parked *parked;

  entry->pending--;
  /* Answering a released request can release another: one loop does it. */
  if (entry->releasing)
    return;
  entry->releasing = TRUE;
  while ((parked = g_queue_peek_head (&entry->waiting)) != NULL &&
         (entry->failures >= limit || entry->failures + entry->pending < limit))
    {
      g_queue_pop_head (&entry->waiting);
      if (self->draining)
        refuse_draining (parked->request);
      else if (entry->failures >= limit)
        refuse_rate_limited (parked->request, ADDRESS_LIMITED);
      else
        {
          entry->pending++;
          parked->request->holds_address = TRUE;
          dispatch_admitted (parked->request, parked->route);
        }
      g_free (parked);
    }
  entry->releasing = FALSE;
}

/* No request waits here: one caller's inputs come one at a time, so past
 * the limit (counting those being answered, as address_admit does) the
 * answer is 429 at once. */
gboolean
gw_request_admit_limited (GwRequest  *request,
                          const char *key,
                          const char *message)
{
  guint limit = request->server->config->failures_per_minute;
  AddressFailures *entry;

  g_return_val_if_fail (!request->holds_address, FALSE);
  g_free (request->limit_key);
  request->limit_key = g_strdup (key);
  request->limit_failures = TRUE;
  entry = address_failures (request->server, key, TRUE);
  if (entry->failures + entry->pending >= limit)
    return refuse_rate_limited (request, message), FALSE;
  entry->pending++;
  request->holds_address = TRUE;
  return TRUE;
}

/* A browser sends "simple" POSTs (text/plain, no preflight) to any site, so
 * a page anywhere could make its visitors fire card-holder requests: each
 * failure counts against the visitor's address, and a shared address (an
 * office, a carrier's NAT) would be locked out for everyone. Browsers name
 * the page's origin on every such request; API clients send none. */
static gboolean
refuse_cross_site (GwRequest   *request,
                   const Route *route)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->msg);
  const char *origin = soup_message_headers_get_one (headers, "Origin");

  if (origin == NULL || g_str_equal (route->method, "GET") ||
      gw_net_origin_is_own (origin, soup_message_headers_get_one (headers, "Host"),
                            request->server->config->site_public_url))
    return FALSE;
  gw_request_error (request, 400, "invalid_request_error", "cross_site_request", NULL,
                    "Requests from other sites' pages are not accepted.");
  return TRUE;
}

static void
dispatch (GwRequest   *request,
          const Route *route)
{
  if (refuse_cross_site (request, route))
    return;
  if (route->auth == AUTH_CARD_HOLDER && !address_admit (request, route))
    return;
  dispatch_admitted (request, route);
}

static gboolean
allow_names (const char *allow,
             const char *method)
{
  g_auto(GStrv) names = g_strsplit (allow, ", ", -1);

  return g_strv_contains ((const char * const *) names, method);
}

/* A known path asked with another method: 404, as for an unrecognized URL
 * (the contract's invalid_request_error goes with 400, 404 and 409, and the
 * payment APIs it follows answer so), with the path's methods in Allow. */
static void
refuse_method (GwRequest  *request,
               const char *path)
{
  g_autoptr(GString) allow = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      const char *id;
      gsize id_len;

      if (!match_pattern (routes[i].pattern, path, &id, &id_len) ||
          allow_names (allow->str, routes[i].method))
        continue;
      if (allow->len > 0)
        g_string_append (allow, ", ");
      g_string_append (allow, routes[i].method);
      if (g_str_equal (routes[i].method, "GET"))
        g_string_append (allow, ", HEAD");
    }
  soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                "Allow", allow->str);
  gw_request_error (request, 404, "invalid_request_error", "method_not_allowed", NULL,
                    "This path does not take this method: see the Allow header.");
}

/* A request, already paused, on the main context. */
static void
serve (SoupServerMessage *msg,
       const char        *path,
       GHashTable        *query,
       gpointer           user_data)
{
  GwServer *self = user_data;
  GwRequest *request;
  const Route *route;
  gboolean path_known;
  char *path_id = NULL;

  request = g_new0 (GwRequest, 1);
  request->server = self;
  request->msg = g_object_ref (msg);
  request->started = g_get_monotonic_time ();
  request->remote = gw_net_address_key (soup_server_message_get_remote_host (msg));
  request->query = query ? g_hash_table_ref (query) : NULL;
  self->requests_in_flight++;

  route = match_route (soup_server_message_get_method (msg), path, &path_id, &path_known);
  request->path_id = path_id;
  request->route = route ? route->pattern : "unmatched";

  if (self->draining)
    refuse_draining (request);
  else if (route != NULL)
    dispatch (request, route);
  else if (!path_known && gw_pages_claims (soup_server_message_get_method (msg), path))
    handle_pages (request, path);
  else if (path_known)
    refuse_method (request, path);
  else
    gw_request_error (request, 404, "invalid_request_error", "resource_missing", NULL,
                      "Unrecognized request URL.");
}

/* A request read on the main context itself (no I/O threads). */
static void
handle_request (SoupServer        *soup,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  soup_server_message_pause (msg);
  serve (msg, path, query, user_data);
}

/* Bodies over MAX_BODY are never held: libsoup reads a request's whole
 * body before the handler runs, and would keep gigabytes if sent them. A
 * body declared too long is not kept at all, one of unknown length is
 * dropped once it passes the cap; read_body () then answers 400 (and
 * records it under the Idempotency-Key like any other outcome). */
static void
on_got_chunk (SoupServerMessage *msg,
              GBytes            *chunk,
              gpointer           user_data)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  if (body->length <= MAX_BODY)
    return;
  soup_message_body_set_accumulate (body, FALSE);
  soup_message_body_truncate (body);
  g_object_set_data (G_OBJECT (msg), BODY_DROPPED, GINT_TO_POINTER (TRUE));
}

static void
refuse_framing (SoupServerMessage *msg,
                const char        *message)
{
  g_autoptr(GString) body = g_string_sized_new (160);

  gw_error_render (body, "invalid_request_error", "body_invalid", NULL, NULL, message);
  gw_http_refuse_and_close (msg, body->str);
}

/* Two Content-Length headers (libsoup would take the last), or one beside
 * Transfer-Encoding: a proxy in front may frame the body otherwise than
 * libsoup does, so the request is refused and the connection closed
 * (RFC 9112, 6.1 and 6.3). */
static gboolean
framing_ambiguous (SoupMessageHeaders *headers,
                   SoupEncoding        encoding)
{
  const char *length = soup_message_headers_get_list (headers, "Content-Length");

  if (length == NULL)
    return FALSE;
  return encoding != SOUP_ENCODING_CONTENT_LENGTH || strchr (length, ',') != NULL;
}

static void
handle_early (SoupServer        *soup,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);

  if (encoding == SOUP_ENCODING_NONE)
    return;
  /* libsoup 3.2 takes a negative Content-Length and reads no body, so the
   * bytes after the headers would be parsed as the next request. Answer now,
   * before any handler, and close the connection: its framing is lost. */
  if (encoding == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (headers) < 0)
    {
      refuse_framing (msg, "Content-Length must be a length.");
      return;
    }
  if (framing_ambiguous (headers, encoding))
    {
      refuse_framing (msg, "The body's length is given twice (Content-Length and "
                           "Transfer-Encoding, or two Content-Lengths).");
      return;
    }
  if (encoding == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (headers) > MAX_BODY)
    {
      soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
      g_object_set_data (G_OBJECT (msg), BODY_DROPPED, GINT_TO_POINTER (TRUE));
      return;
    }
  /* A declared length within the cap is all libsoup reads; only a body of
   * unknown length (chunked) is watched as it comes. */
  if (encoding != SOUP_ENCODING_CONTENT_LENGTH)
    g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), NULL);
}

/* Lifecycle */

static void
gw_server_finalize (GObject *object)
{
  GwServer *self = GW_SERVER (object);

  g_clear_pointer (&self->io_threads, gw_io_threads_stop);
  g_clear_pointer (&self->listener, gw_listener_free);
  g_clear_object (&self->soup);
  g_clear_object (&self->connector);
  g_clear_pointer (&self->url, g_free);
  g_clear_pointer (&self->merchants, g_hash_table_unref);
  g_clear_pointer (&self->in_flight, g_hash_table_unref);
  g_clear_pointer (&self->failures, g_hash_table_unref);
  if (self->metrics_token != NULL)
    explicit_bzero (self->metrics_token, strlen (self->metrics_token));
  g_clear_pointer (&self->metrics_token, g_free);

  G_OBJECT_CLASS (gw_server_parent_class)->finalize (object);
}

static void
gw_server_class_init (GwServerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gw_server_finalize;
}

static void
gw_server_init (GwServer *self)
{
  self->merchants = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                           (GDestroyNotify) g_bytes_unref, g_free);
  self->in_flight = gw_key_hash_set_new ();
  self->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

GwServer *
gw_server_new (const GwConfig       *config,
               GwStore              *store,
               const GwLedgerConfig *ledger,
               GwMetrics            *metrics,
               OnepinKey            *apikey_key,
               OnepinKey            *idempotency_key,
               const guint8          admin_token_hash[32])
{
  GwServer *self = g_object_new (GW_TYPE_SERVER, NULL);

  self->config = config;
  self->store = store;
  self->ledger = ledger;
  self->metrics = metrics;
  self->apikey_key = apikey_key;
  self->idempotency_key = idempotency_key;
  memcpy (self->admin_token_hash, admin_token_hash, 32);
  g_timeout_add_seconds (60, prune_failures, self);
  return self;
}

gboolean
gw_server_load_metrics_token (GwServer  *self,
                              GError   **error)
{
  const char *path = self->config->metrics_token_file;

  if (path == NULL)
    return TRUE;
  self->metrics_token = onepin_secret_file_load (path, error);
  if (self->metrics_token == NULL)
    return g_prefix_error (error, "[gateway] metrics_token_file: "), FALSE;
  return TRUE;
}

/* The configured certificate, or NULL (and no error) without TLS. */
static GTlsCertificate *
load_certificate (GwServer  *self,
                  GError   **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;

  if (self->config->tls_certificate == NULL)
    return NULL;
  /* Held to the rule of our own key files: GIO would read it whatever its mode. */
  if (self->config->tls_key != NULL && !onepin_private_file_check (self->config->tls_key, error))
    return NULL;
  certificate = g_tls_certificate_new_from_files (self->config->tls_certificate,
                                                  self->config->tls_key, error);
  if (certificate == NULL)
    return NULL;
  if (!gw_tls_check_key (certificate, error))
    {
      g_prefix_error (error, "The TLS key does not serve the certificate %s: ",
                      self->config->tls_certificate);
      return NULL;
    }
  return g_steal_pointer (&certificate);
}

/* Our own socket, for a deep accept queue: GSocket's default of 10 resets
 * connections when a crowd of clients arrives at once. */
static GSocket *
listening_socket (GSocketAddress  *address,
                  GError         **error)
{
  g_autoptr(GSocket) socket = g_socket_new (g_socket_address_get_family (address),
                                            G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);

  if (socket == NULL)
    return NULL;
  g_socket_set_listen_backlog (socket, 1024);
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error))
    return NULL;
  return g_steal_pointer (&socket);
}

/* Reading and writing on the main context itself (http_threads = 0). */
static char *
listen_here (GwServer         *self,
             GSocketAddress   *address,
             GTlsCertificate  *certificate,
             GError          **error)
{
  g_autoptr(GSocket) socket = listening_socket (address, error);
  char *url;

  if (socket == NULL)
    return NULL;
  url = gw_listener_url (socket, certificate != NULL, error);
  if (url == NULL)
    return NULL;
  self->soup = soup_server_new ("server-header", "onepin-gateway", NULL);
  gw_http_fallback_attach (self->soup);
  soup_server_add_early_handler (self->soup, NULL, handle_early, self, NULL);
  soup_server_add_handler (self->soup, NULL, handle_request, self, NULL);
  g_signal_connect (self->soup, "request-finished", G_CALLBACK (on_request_over), self);
  g_signal_connect (self->soup, "request-aborted", G_CALLBACK (on_request_over), self);
  /* Accepted by us, not by libsoup (gw-listener.c). */
  self->listener = gw_listener_new (self->soup, socket, certificate, &self->config->connections,
                                    error);
  if (self->listener == NULL)
    g_clear_pointer (&url, g_free);
  return url;
}

char *
gw_server_listen (GwServer  *self,
                  GError   **error)
{
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketConnectable) connectable = NULL;
  g_autoptr(GSocketAddressEnumerator) enumerator = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  GError *local = NULL;
  char *url = NULL;

  connectable = g_network_address_parse (self->config->listen, 8080, error);
  if (connectable == NULL)
    return NULL;
  enumerator = g_socket_connectable_enumerate (connectable);
  address = g_socket_address_enumerator_next (enumerator, NULL, error);
  if (address == NULL)
    return NULL;
  certificate = load_certificate (self, &local);
  if (local != NULL)
    return g_propagate_error (error, local), NULL;

  if (self->config->http_threads == 0)
    url = listen_here (self, address, certificate, error);
  else
    /* Threads that read and write HTTP (handle_early runs there too: it
     * looks at nothing but the message); the handlers still run here. */
    self->io_threads = gw_io_threads_start (self->config->http_threads, address, certificate,
                                            &self->config->connections,
                                            handle_early, serve, self, &url, error);
  if (url == NULL)
    return NULL;
  g_free (self->url);
  self->url = g_strdup (url);
  return url;
}

static gboolean
drained (gpointer data)
{
  GwServer *self = data;

  return self->requests_in_flight == 0 && self->answers_unwritten == 0;
}

/* Requests held back by the per-address limit have not started: like new
 * ones, they get 503 rather than holding the stop. */
static void
refuse_parked (GwServer *self)
{
  GHashTableIter iter;
  gpointer value;
  g_autoptr(GPtrArray) parked = g_ptr_array_new_with_free_func (g_free);

  g_hash_table_iter_init (&iter, self->failures);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      AddressFailures *entry = value;
      Parked *one;

      while ((one = g_queue_pop_head (&entry->waiting)) != NULL)
        g_ptr_array_add (parked, one);
    }
  /* Answered after the walk, so that nothing an answer does can touch the
   * table while it is being walked. */
  for (guint i = 0; i < parked->len; i++)
    refuse_draining (((Parked *) g_ptr_array_index (parked, i))->request);
}

void
gw_server_drain (GwServer *self)
{
  /* New requests now get 503; those already in the writer finish and are
   * answered, so nothing acknowledged is lost and nothing is cut short. */
  self->draining = TRUE;
  refuse_parked (self);
  gw_wait_until (g_main_context_default (), 30, drained, self);
  g_clear_pointer (&self->listener, gw_listener_free);
  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
  g_clear_pointer (&self->io_threads, gw_io_threads_stop);
}
