/* gw-api-phone.c: online charging for softswitches, rate tables, and the
 * calling numbers card holders register
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The shapes are checked here on the main thread, and card numbers,
 * passwords and calling numbers are reduced to keyed hashes; the rules run
 * on the writer (gw-phone.c).
 */
#include "gw-api-phone.h"
#include "gw-api-wallet-private.h"

#include <string.h>

#include "gw-wallet.h"
#include "onepin-contact.h"
#include "onepin-text.h"
#include "onepin-money.h"

#define MAX_PRICE 1000000
#define MAX_RATES 10000
#define MAX_USED_SECONDS (24 * 3600)
#define MAX_REQUEST_NUMBER G_MAXINT32

void
gw_api_phone_config (const GwConfig *config,
                     GwPhoneConfig  *out)
{
  out->quota_seconds = config->phone_quota_seconds;
  out->session_grace = config->phone_session_grace;
  out->max_call_seconds = config->phone_max_call_seconds;
}

static gboolean
all_digits (const char *text,
            gsize       min,
            gsize       max)
{
  gsize len = strlen (text);

  return len >= min && len <= max && strspn (text, "0123456789") == len;
}

char *
gw_api_phone_read_calling_number (GwRequest *request)
{
  /* onepin-contact.c: the desktop wallet checks the same rule before it sends. */
  char *digits = onepin_contact_calling_number (
    onepin_json_get_string (request->body, "calling_number", ""));

  if (digits == NULL)
    gw_request_bad_param (request, "calling_number",
                          "calling_number must be 4 to 20 digits, optionally after a +.");
  return digits;
}

void
gw_api_phone_reply_result (GwCall          *call,
              GwPhoneResult    result,
              const GwOutcome *outcome)
{
  static const struct
  {
    guint       status;
    const char *type;
    const char *code;
    const char *param;
    const char *message;
  } errors[] = {
    [GW_PHONE_NOT_A_SWITCH] = { 401, "authentication_error", "not_a_switch", NULL,
                                "This key does not belong to a telephone switch." },
    [GW_PHONE_NO_RATE_TABLE] = { 409, "invalid_request_error", "no_rate_table", NULL,
                                 "No rate table has been loaded yet." },
    [GW_PHONE_NOT_RATED] = { 400, "invalid_request_error", "destination_not_rated",
                             "destination", "The rate table has no rate for this destination." },
    [GW_PHONE_SERVICE_NOT_RATED] = { 400, "invalid_request_error", "service_not_rated",
                                     "service", "The rate table has no price for this service." },
    [GW_PHONE_SESSION_NOT_FOUND] = { 404, "invalid_request_error", "resource_missing", "id",
                                     "No such session." },
    [GW_PHONE_SESSION_ENDED] = { 409, "invalid_request_error", "session_ended", NULL,
                                 "The session has ended or expired." },
    [GW_PHONE_STALE_REQUEST] = { 409, "invalid_request_error", "request_number_stale", NULL,
                                 "This request_number or step is not the next one." },
    [GW_PHONE_NUMBER_TAKEN] = { 409, "invalid_request_error", "calling_number_taken",
                                "calling_number",
                                "This calling number is registered to another card." },
    [GW_PHONE_NUMBER_NOT_FOUND] = { 404, "invalid_request_error", "resource_missing",
                                    "calling_number",
                                    "This calling number is not registered to this card." },
    [GW_PHONE_NOT_AN_OPERATOR] = { 401, "authentication_error", "not_an_operator", NULL,
                                   "This key does not belong to a mobile operator." },
    [GW_PHONE_NOT_A_SELLER] = { 400, "invalid_request_error", "not_a_seller", NULL,
                                "The merchant is not a mobile operator or card agent (of the"
                                " category this needs)." },
    [GW_PHONE_NUMBER_USED] = { 409, "invalid_request_error", "card_number_used", "number",
                               "This card was already sold or voided." },
  };

  if (result == GW_PHONE_DECLINED)
    return gw_call_fail (call, outcome, NULL);
  call->status = errors[result].status;
  call->body = g_string_sized_new (200);
  gw_error_render (call->body, errors[result].type, errors[result].code, NULL,
                   errors[result].param, errors[result].message);
}

/* Who pays */

/* Reads card_number and password, or calling_number; FALSE after replying. */
static gboolean
parse_caller (GwRequest     *request,
              GwPhoneCaller *caller)
{
  const char *number = onepin_json_get_string (request->body, "card_number", NULL);
  const char *password = onepin_json_get_string (request->body, "password", NULL);
  const char *calling = onepin_json_get_string (request->body, "calling_number", NULL);
  g_autofree char *normalized = NULL;
  const GwLedgerConfig *ledger = gw_server_get_ledger_config (request->server);

  memset (caller, 0, sizeof *caller);
  if ((calling != NULL) == (number != NULL || password != NULL) ||
      (calling == NULL && (number == NULL || password == NULL)))
    {
      gw_request_bad_param (request, "card_number",
                            "Give either card_number and password, or calling_number.");
      return FALSE;
    }
  if (calling == NULL)
    {
      gw_ledger_credentials (ledger, number, password, &caller->credentials);
      return TRUE;
    }
  normalized = gw_api_phone_read_calling_number (request);
  if (normalized == NULL)
    return FALSE;
  caller->by_calling_number = TRUE;
  gw_phone_calling_lookup (ledger, normalized, caller->calling_lookup);
  return TRUE;
}

/* Reads an optional integer member in [min, max]; FALSE after replying. */
static gboolean
read_int (GwRequest  *request,
          const char *name,
          gint64      min,
          gint64      max,
          gint64      fallback,
          gint64     *out)
{
  *out = onepin_json_get_int (request->body, name, fallback);
  if (*out >= min && *out <= max)
    return TRUE;
  {
    g_autofree char *message = g_strdup_printf ("%s must be from %" G_GINT64_FORMAT " to %"
                                                G_GINT64_FORMAT ".", name, min, max);

    gw_request_bad_param (request, name, message);
  }
  return FALSE;
}

/* Sessions */

static void
render_session (GString              *out,
                const GwPhoneSession *s,
                gint64                grace)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "id", s->id);
  gw_json_str (out, "object", "phone_session");
  gw_json_str (out, "status", s->state);
  gw_json_str (out, "service", s->service);
  gw_json_str (out, "channel", s->channel);
  gw_json_str (out, "card_id", s->card_id);
  gw_json_str (out, "card_last4", s->card_last4);
  gw_json_str (out, "destination", s->destination);
  g_string_append (out, ",\"rate\":{");
  gw_json_str (out, "rate_table", s->rate_table_id);
  gw_json_str (out, "prefix", s->rate.prefix);
  gw_json_str (out, "category", s->rate.category);
  gw_json_int (out, "per_minute", s->rate.per_minute);
  gw_json_int (out, "increment", s->rate.increment);
  gw_json_int (out, "connection_fee", s->rate.connection_fee);
  g_string_append_c (out, '}');
  gw_json_int (out, "request_number", s->request_number);
  gw_json_int (out, "granted_seconds", s->last_grant);
  gw_json_bool (out, "final_grant", s->final);
  if (g_str_equal (s->state, "open"))
    gw_json_int (out, "validity_seconds", s->last_grant + grace);
  gw_json_int (out, "used_seconds", s->reported);
  gw_json_int (out, "billed_seconds", s->billed);
  gw_json_int (out, "amount_charged", s->charged);
  gw_json_int (out, "amount_reserved", s->held);
  gw_json_str (out, "currency", s->currency);
  gw_json_int (out, "created", s->created);
  gw_json_int (out, "expires_at", s->expires_at);
  if (s->ended_at > 0)
    gw_json_int (out, "ended_at", s->ended_at);
  g_string_append_c (out, '}');
}

typedef struct
{
  GwPhoneConfig  config;
  char           merchant_id[40];
  GwPhoneCaller  caller;
  char          *service;
  char          *destination;
  char          *session_id;
  GwPhoneReport  report;
  gint64         requested;
} SessionData;

static void
session_data_free (gpointer data)
{
  SessionData *session = data;

  g_free (session->service);
  g_free (session->destination);
  g_free (session->session_id);
  g_free (session);
}

static SessionData *
session_data_new (GwRequest *request)
{
  SessionData *data = g_new0 (SessionData, 1);

  gw_api_phone_config (gw_server_get_config (request->server), &data->config);
  g_strlcpy (data->merchant_id, request->merchant_id, sizeof data->merchant_id);
  return data;
}

static gboolean
session_reply (GwCall               *call,
               gboolean              ok,
               GwPhoneResult         result,
               const GwOutcome      *outcome,
               const GwPhoneSession *session)
{
  SessionData *data = call->data;
  GString *body;

  if (!ok)
    return FALSE;
  if (result != GW_PHONE_OK)
    return gw_api_phone_reply_result (call, result, outcome), TRUE;
  body = g_string_sized_new (700);
  render_session (body, session, data->config.session_grace);
  gw_call_ok (call, body);
  return TRUE;
}

static gboolean
start_apply (GwTxn   *txn,
             GwCall  *call,
             GError **error)
{
  SessionData *data = call->data;
  GwPhoneStart start = {
    .service = data->service, .destination = data->destination,
    .requested_seconds = data->requested,
  };
  GwPhoneSession session;
  GwPhoneResult result;
  GwOutcome outcome;
  gboolean ok;

  ok = gw_phone_session_start (txn, gw_server_get_ledger_config (call->server), &data->config,
                               data->merchant_id, &data->caller, &start, &session, &result,
                               &outcome, error);
  return session_reply (call, ok, result, &outcome, &session);
}

void
gw_api_phone_sessions_create (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "card_number", ONEPIN_JSON_STRING, FALSE },
    { "password", ONEPIN_JSON_STRING, FALSE },
    { "calling_number", ONEPIN_JSON_STRING, FALSE },
    { "destination", ONEPIN_JSON_STRING, TRUE },
    { "service", ONEPIN_JSON_STRING, FALSE },
    { "requested_seconds", ONEPIN_JSON_INT, FALSE },
  };
  static const char *services[] = { "voice", "mobile", NULL };
  g_autofree SessionData *data = NULL;
  const char *destination, *service;
  GwCall *call;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  destination = onepin_json_get_string (request->body, "destination", "");
  service = onepin_json_get_string (request->body, "service", "voice");
  if (!all_digits (destination, 1, GW_PHONE_NUMBER_MAX))
    return gw_request_bad_param (request, "destination",
                                 "destination must be the dialled number: 1 to 32 digits.");
  if (!g_strv_contains (services, service))
    return gw_request_bad_param (request, "service", "service must be voice or mobile.");

  data = session_data_new (request);
  if (json_object_has_member (request->body, "requested_seconds") &&
      !read_int (request, "requested_seconds", 1, MAX_USED_SECONDS, 0, &data->requested))
    return;
  if (!parse_caller (request, &data->caller))
    return;
  data->service = g_strdup (service);
  data->destination = g_strdup (destination);
  call = gw_call_new (request, start_apply, g_steal_pointer (&data), session_data_free);
  call->repeatable = TRUE;   /* reads only its SessionData, answers through the call */
  gw_call_submit (call);
}

static gboolean
report_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  SessionData *data = call->data;
  GwPhoneSession session;
  GwPhoneResult result;
  gboolean ok;

  ok = gw_phone_session_report (txn, &data->config, data->merchant_id, data->session_id,
                                &data->report, &session, &result, error);
  return session_reply (call, ok, result, NULL, &session);
}

static void
report (GwRequest *request,
        gboolean   terminate)
{
  static const OnepinJsonField fields[] = {
    { "request_number", ONEPIN_JSON_INT, TRUE },
    { "used_seconds", ONEPIN_JSON_INT, TRUE },
    { "requested_seconds", ONEPIN_JSON_INT, FALSE },
  };
  SessionData *data;
  g_autofree char *key = NULL;
  gint64 number, used, requested = 0;
  GwCall *call;

  /* A terminate takes no new grant. */
  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields) - (terminate ? 1 : 0)))
    return;
  if (!read_int (request, "request_number", 1, MAX_REQUEST_NUMBER, 0, &number) ||
      !read_int (request, "used_seconds", 0, MAX_USED_SECONDS, 0, &used))
    return;
  if (json_object_has_member (request->body, "requested_seconds") &&
      !read_int (request, "requested_seconds", 1, MAX_USED_SECONDS, 0, &requested))
    return;

  /* A repeated request_number is a retry (RFC 4006): it gets the first
   * answer back, even without an Idempotency-Key. */
  key = g_strdup_printf ("phone-session\n%s\n%" G_GINT64_FORMAT, request->path_id, number);
  gw_request_use_idempotency_key (request, key);

  data = session_data_new (request);
  data->session_id = g_strdup (request->path_id);
  data->report.request_number = number;
  data->report.used_seconds = used;
  data->report.requested_seconds = requested;
  data->report.terminate = terminate;
  call = gw_call_new (request, report_apply, data, session_data_free);
  call->repeatable = TRUE;
  gw_call_submit (call);
}

void
gw_api_phone_sessions_update (GwRequest *request)
{
  report (request, FALSE);
}

void
gw_api_phone_sessions_terminate (GwRequest *request)
{
  report (request, TRUE);
}

typedef struct
{
  const char     *merchant_id;
  const char     *session_id;
  GwPhoneSession  session;
  gboolean        found;
} SessionRead;

static gboolean
session_read_apply (GwTxn    *txn,
                    gpointer  user_data,
                    GError  **error)
{
  SessionRead *read = user_data;
  const GwPhoneStoreFuncs *phone = gw_txn_extension (txn, "phone");
  GError *local = NULL;

  read->found = phone->session_get (txn, read->session_id, &read->session, &local) &&
                g_str_equal (read->session.merchant_id, read->merchant_id);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

void
gw_api_phone_sessions_get (GwRequest *request)
{
  SessionRead read = { .merchant_id = request->merchant_id, .session_id = request->path_id };
  g_autoptr(GError) error = NULL;
  GString *body;

  if (!gw_store_read (gw_server_get_store (request->server), session_read_apply, &read, &error))
    {
      g_warning ("session read failed: %s", error->message);
      return gw_request_error (request, 500, "api_error", "internal", NULL, "The read failed.");
    }
  if (!read.found)
    return gw_request_error (request, 404, "invalid_request_error", "resource_missing", "id",
                             "No such session.");
  body = g_string_sized_new (700);
  render_session (body, &read.session, gw_server_get_config (request->server)->phone_session_grace);
  gw_request_reply (request, 200, body);
}

/* Per-use services */

static gboolean
event_apply (GwTxn   *txn,
             GwCall  *call,
             GError **error)
{
  SessionData *data = call->data;
  GwPhoneEvent event;
  GwCard card;
  GwPhoneResult result;
  GwOutcome outcome;
  GString *body;

  if (!gw_phone_charge_event (txn, gw_server_get_ledger_config (call->server),
                              data->merchant_id, &data->caller, data->service, data->requested,
                              &event, &card, &result, &outcome, error))
    return FALSE;
  if (result != GW_PHONE_OK)
    return gw_api_phone_reply_result (call, result, &outcome), TRUE;

  body = g_string_new ("{");
  gw_json_str (body, "id", event.id);
  gw_json_str (body, "object", "phone_event");
  gw_json_str (body, "service", event.service);
  gw_json_str (body, "channel", gw_phone_service_channel (event.service));
  gw_json_int (body, "quantity", event.quantity);
  gw_json_int (body, "amount", event.amount);
  gw_json_str (body, "currency", event.currency);
  gw_json_str (body, "card_id", event.card_id);
  gw_json_str (body, "card_last4", card.last4);
  gw_json_int (body, "available", card.balance - card.held);
  gw_json_int (body, "created", event.created);
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  return TRUE;
}

void
gw_api_phone_events_create (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "card_number", ONEPIN_JSON_STRING, FALSE },
    { "password", ONEPIN_JSON_STRING, FALSE },
    { "calling_number", ONEPIN_JSON_STRING, FALSE },
    { "service", ONEPIN_JSON_STRING, TRUE },
    { "quantity", ONEPIN_JSON_INT, FALSE },
  };
  static const char *services[] = { "voicemail", "information", NULL };
  g_autofree SessionData *data = NULL;
  const char *service;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  service = onepin_json_get_string (request->body, "service", "");
  if (!g_strv_contains (services, service))
    return gw_request_bad_param (request, "service", "service must be voicemail or information.");
  data = session_data_new (request);
  if (!read_int (request, "quantity", 1, 100, 1, &data->requested) ||
      !parse_caller (request, &data->caller))
    return;
  data->service = g_strdup (service);
  gw_call_submit (gw_call_new (request, event_apply, g_steal_pointer (&data), session_data_free));
}

/* Rate tables */

static void
render_rate_table (GString                *out,
                   const GwPhoneRateTable *table,
                   gboolean                active)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "id", table->id);
  gw_json_str (out, "object", "rate_table");
  gw_json_int (out, "version", table->version);
  gw_json_str (out, "name", table->name);
  gw_json_str (out, "currency", table->currency);
  gw_json_bool (out, "active", active);
  gw_json_int (out, "rate_count", table->rates ? table->rates->len : table->n_rates);
  gw_json_int (out, "created", table->created);
  if (table->rates != NULL)
    {
      g_string_append (out, ",\"rates\":[");
      for (guint i = 0; i < table->rates->len; i++)
        {
          const GwPhoneRate *rate = &g_array_index (table->rates, GwPhoneRate, i);

          g_string_append (out, i > 0 ? ",{" : "{");
          gw_json_str (out, "prefix", rate->prefix);
          gw_json_str (out, "category", rate->category);
          gw_json_str (out, "country", rate->country[0] ? rate->country : NULL);
          gw_json_str (out, "description", rate->description);
          gw_json_int (out, "per_minute", rate->per_minute);
          gw_json_int (out, "increment", rate->increment);
          gw_json_int (out, "connection_fee", rate->connection_fee);
          g_string_append_c (out, '}');
        }
      g_string_append_c (out, ']');
    }
  if (table->services != NULL)
    {
      g_string_append (out, ",\"services\":[");
      for (guint i = 0; i < table->services->len; i++)
        {
          const GwPhoneServicePrice *service = &g_array_index (table->services,
                                                               GwPhoneServicePrice, i);

          g_string_append (out, i > 0 ? ",{" : "{");
          gw_json_str (out, "service", service->service);
          gw_json_int (out, "price", service->price);
          g_string_append_c (out, '}');
        }
      g_string_append_c (out, ']');
    }
  g_string_append_c (out, '}');
}

/* Checks one member of the rates or services array; on failure sets
 * @param (e.g. "rates[3].prefix") and @message. */
typedef struct
{
  char       *param;
  const char *message;
} ItemError;

static gboolean
item_fail (ItemError  *err,
           const char *array,
           guint       index,
           const char *field,
           const char *message)
{
  /* A member's name is repeated only if it is a plain word: an unknown one
   * may be anything the client sent, a card number included. */
  field = field != NULL ? gw_plain_word (field) : NULL;
  err->param = field ? g_strdup_printf ("%s[%u].%s", array, index, field)
                     : g_strdup_printf ("%s[%u]", array, index);
  err->message = message;
  return FALSE;
}

static gboolean
parse_rate (JsonNode    *node,
            guint        index,
            GwPhoneRate *rate,
            ItemError   *err)
{
  static const OnepinJsonField fields[] = {
    { "prefix", ONEPIN_JSON_STRING, TRUE },
    { "category", ONEPIN_JSON_STRING, TRUE },
    { "country", ONEPIN_JSON_STRING, FALSE },
    { "description", ONEPIN_JSON_STRING, FALSE },
    { "per_minute", ONEPIN_JSON_INT, TRUE },
    { "increment", ONEPIN_JSON_INT, TRUE },
    { "connection_fee", ONEPIN_JSON_INT, FALSE },
  };
  static const char *categories[] = {
    "local", "long_distance", "mobile", "international", "special", NULL
  };
  JsonObject *object;
  const char *bad = NULL, *prefix, *category, *country, *description;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return item_fail (err, "rates", index, NULL, "Each rate must be an object.");
  object = json_node_get_object (node);
  if (!onepin_json_check_fields (object, fields, G_N_ELEMENTS (fields), &bad, NULL))
    return item_fail (err, "rates", index, bad, "Unknown, missing or ill-typed member.");

  prefix = onepin_json_get_string (object, "prefix", "");
  category = onepin_json_get_string (object, "category", "");
  country = onepin_json_get_string (object, "country", "");
  description = onepin_json_get_string (object, "description", NULL);
  rate->per_minute = onepin_json_get_int (object, "per_minute", -1);
  rate->increment = onepin_json_get_int (object, "increment", 0);
  rate->connection_fee = onepin_json_get_int (object, "connection_fee", 0);

  if (!all_digits (prefix, 1, GW_PHONE_PREFIX_MAX))
    return item_fail (err, "rates", index, "prefix", "prefix must be 1 to 15 digits.");
  if (!g_strv_contains (categories, category))
    return item_fail (err, "rates", index, "category",
                      "category must be local, long_distance, mobile, international or special.");
  if (country[0] != '\0' && (strlen (country) != 2 || !g_ascii_isupper (country[0]) ||
                             !g_ascii_isupper (country[1])))
    return item_fail (err, "rates", index, "country",
                      "country must be an ISO 3166 alpha-2 code, e.g. \"US\".");
  if (description != NULL && (strlen (description) > 255 ||
                              !onepin_text_is_display_safe (description, ONEPIN_TEXT_ONE_LINE)))
    return item_fail (err, "rates", index, "description",
                      "description must be at most 255 bytes, without control or invisible "
                      "formatting characters.");
  if (rate->per_minute < 0 || rate->per_minute > MAX_PRICE)
    return item_fail (err, "rates", index, "per_minute", "per_minute must be from 0 to 1000000.");
  if (rate->increment < 1 || rate->increment > 3600)
    return item_fail (err, "rates", index, "increment", "increment must be from 1 to 3600.");
  if (rate->connection_fee < 0 || rate->connection_fee > MAX_PRICE)
    return item_fail (err, "rates", index, "connection_fee",
                      "connection_fee must be from 0 to 1000000.");

  g_strlcpy (rate->prefix, prefix, sizeof rate->prefix);
  g_strlcpy (rate->category, category, sizeof rate->category);
  g_strlcpy (rate->country, country, sizeof rate->country);
  rate->description = g_strdup (description);
  return TRUE;
}

static gboolean
parse_service (JsonNode            *node,
               guint                index,
               GwPhoneServicePrice *service,
               ItemError           *err)
{
  static const OnepinJsonField fields[] = {
    { "service", ONEPIN_JSON_STRING, TRUE },
    { "price", ONEPIN_JSON_INT, TRUE },
  };
  static const char *names[] = { "voicemail", "information", NULL };
  JsonObject *object;
  const char *bad = NULL, *name;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return item_fail (err, "services", index, NULL, "Each service must be an object.");
  object = json_node_get_object (node);
  if (!onepin_json_check_fields (object, fields, G_N_ELEMENTS (fields), &bad, NULL))
    return item_fail (err, "services", index, bad, "Unknown, missing or ill-typed member.");
  name = onepin_json_get_string (object, "service", "");
  service->price = onepin_json_get_int (object, "price", 0);
  if (!g_strv_contains (names, name))
    return item_fail (err, "services", index, "service",
                      "service must be voicemail or information.");
  if (service->price < 1 || service->price > MAX_PRICE)
    return item_fail (err, "services", index, "price", "price must be from 1 to 1000000.");
  g_strlcpy (service->service, name, sizeof service->service);
  return TRUE;
}

static gboolean
parse_rates (JsonArray        *array,
             GwPhoneRateTable *table,
             ItemError        *err)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint n = json_array_get_length (array);

  if (n < 1 || n > MAX_RATES)
    return err->param = g_strdup ("rates"), err->message = "rates must hold 1 to 10000 rates.",
           FALSE;
  table->rates = g_array_sized_new (FALSE, TRUE, sizeof (GwPhoneRate), n);
  g_array_set_clear_func (table->rates, gw_phone_rate_clear);
  for (guint i = 0; i < n; i++)
    {
      GwPhoneRate rate = { 0 };

      if (!parse_rate (json_array_get_element (array, i), i, &rate, err))
        return FALSE;
      g_array_append_val (table->rates, rate);
      if (!g_hash_table_add (seen, g_array_index (table->rates, GwPhoneRate, i).prefix))
        return item_fail (err, "rates", i, "prefix", "Each prefix may appear once.");
    }
  return TRUE;
}

static gboolean
parse_services (JsonArray        *array,
                GwPhoneRateTable *table,
                ItemError        *err)
{
  guint n = array ? json_array_get_length (array) : 0;

  table->services = g_array_new (FALSE, TRUE, sizeof (GwPhoneServicePrice));
  for (guint i = 0; i < n; i++)
    {
      GwPhoneServicePrice service = { 0 };

      if (!parse_service (json_array_get_element (array, i), i, &service, err))
        return FALSE;
      for (guint j = 0; j < table->services->len; j++)
        if (g_str_equal (g_array_index (table->services, GwPhoneServicePrice, j).service,
                         service.service))
          return item_fail (err, "services", i, "service", "Each service may appear once.");
      g_array_append_val (table->services, service);
    }
  return TRUE;
}

static gboolean
rate_table_apply (GwTxn   *txn,
                  GwCall  *call,
                  GError **error)
{
  GwPhoneRateTable *table = call->data;
  GString *body;

  if (!gw_phone_load_rate_table (txn, table, error))
    return FALSE;
  body = g_string_sized_new (256 + table->rates->len * 120);
  render_rate_table (body, table, TRUE);
  gw_call_ok (call, body);
  return TRUE;
}

GwPhoneRateTable *
gw_api_phone_parse_rate_table (JsonObject  *body,
                               char       **param,
                               const char **message)
{
  static const OnepinJsonField fields[] = {
    { "name", ONEPIN_JSON_STRING, TRUE },
    { "currency", ONEPIN_JSON_STRING, FALSE },
    { "rates", ONEPIN_JSON_ARRAY, TRUE },
    { "services", ONEPIN_JSON_ARRAY, FALSE },
  };
  g_autoptr(GwPhoneRateTable) table = NULL;
  g_autofree char *id = NULL;
  ItemError err = { 0 };
  const char *name, *currency, *bad = NULL;

  if (!onepin_json_check_fields (body, fields, G_N_ELEMENTS (fields), &bad, NULL))
    return *param = g_strdup (bad), *message = "Unknown, missing or ill-typed member.", NULL;
  name = onepin_json_get_string (body, "name", "");
  currency = onepin_json_get_string (body, "currency", "krw");
  if (g_utf8_strlen (name, -1) < 1 || strlen (name) > 255)
    return *param = g_strdup ("name"), *message = "name must be 1 to 255 characters.", NULL;
  if (!onepin_text_is_display_safe (name, ONEPIN_TEXT_ONE_LINE))
    return *param = g_strdup ("name"),
           *message = "name must not contain control or invisible formatting characters.", NULL;
  if (!g_str_equal (currency, "krw"))
    return *param = g_strdup ("currency"), *message = "Cards hold krw only.", NULL;

  table = g_new0 (GwPhoneRateTable, 1);
  if (!parse_rates (json_object_get_array_member (body, "rates"), table, &err) ||
      !parse_services (json_object_has_member (body, "services") &&
                         !json_node_is_null (json_object_get_member (body, "services"))
                         ? json_object_get_array_member (body, "services") : NULL,
                       table, &err))
    return *param = err.param, *message = err.message, NULL;
  id = onepin_crypto_random_token ("rt_", 12);
  g_strlcpy (table->id, id, sizeof table->id);
  table->name = g_strdup (name);
  g_strlcpy (table->currency, currency, sizeof table->currency);
  return g_steal_pointer (&table);
}

void
gw_api_phone_rate_tables_create (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "name", ONEPIN_JSON_STRING, TRUE },
    { "currency", ONEPIN_JSON_STRING, FALSE },
    { "rates", ONEPIN_JSON_ARRAY, TRUE },
    { "services", ONEPIN_JSON_ARRAY, FALSE },
  };
  g_autofree char *param = NULL;
  const char *message = NULL;
  GwPhoneRateTable *table;

  /* The generic check first, for its codes (parameter_unknown, _missing). */
  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  table = gw_api_phone_parse_rate_table (request->body, &param, &message);
  if (table == NULL)
    return gw_request_bad_param (request, param, message);
  gw_call_submit (gw_call_new (request, rate_table_apply, table,
                               (GDestroyNotify) gw_phone_rate_table_free));
}

typedef struct
{
  const char       *id;             /* get; or the list's cursor */
  guint             limit;
  GwPhoneRateTable  table;
  gboolean          found;
  char              active_id[40];
  GPtrArray        *list;
} TableRead;

static gboolean
table_read_apply (GwTxn    *txn,
                  gpointer  user_data,
                  GError  **error)
{
  TableRead *read = user_data;
  const GwPhoneStoreFuncs *phone = gw_txn_extension (txn, "phone");
  g_auto(GwPhoneRateTable) active = { 0 };
  GError *local = NULL;

  if (phone->rate_table_active (txn, &active, &local))
    g_strlcpy (read->active_id, active.id, sizeof read->active_id);
  if (local == NULL && read->id != NULL)
    read->found = phone->rate_table_get (txn, read->id, read->list == NULL, &read->table, &local);
  if (local == NULL && read->list != NULL && (read->id == NULL || read->found))
    {
      g_ptr_array_unref (read->list);
      read->list = phone->rate_tables_list (txn, read->id ? read->table.version : 0,
                                            read->limit + 1, &local);
    }
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

static gboolean
read_tables (GwRequest *request,
             TableRead *read)
{
  g_autoptr(GError) error = NULL;

  if (gw_store_read (gw_server_get_store (request->server), table_read_apply, read, &error))
    return TRUE;
  g_warning ("rate table read failed: %s", error->message);
  gw_request_error (request, 500, "api_error", "internal", NULL, "The read failed.");
  return FALSE;
}

void
gw_api_phone_rate_tables_get (GwRequest *request)
{
  TableRead read = { .id = request->path_id };
  GString *body;

  if (!read_tables (request, &read))
    return gw_phone_rate_table_clear (&read.table);
  if (!read.found)
    return gw_request_error (request, 404, "invalid_request_error", "resource_missing", "id",
                             "No such rate table.");
  body = g_string_sized_new (1024);
  render_rate_table (body, &read.table, g_str_equal (read.table.id, read.active_id));
  gw_phone_rate_table_clear (&read.table);
  gw_request_reply (request, 200, body);
}

void
gw_api_phone_rate_tables_list (GwRequest *request)
{
  TableRead read = { 0 };
  g_autoptr(GPtrArray) list = NULL;
  GString *body;

  if (!gw_request_limit (request, 10, &read.limit))
    return;
  read.id = request->query ? g_hash_table_lookup (request->query, "starting_after") : NULL;
  read.list = g_ptr_array_new ();
  if (!read_tables (request, &read))
    {
      gw_phone_rate_table_clear (&read.table);
      g_clear_pointer (&read.list, g_ptr_array_unref);
      return;
    }
  gw_phone_rate_table_clear (&read.table);
  list = read.list;
  if (read.id != NULL && !read.found)
    return gw_request_bad_param (request, "starting_after",
                                 "starting_after must be a rate table id.");

  body = g_string_new ("{\"object\":\"list\",\"data\":[");
  for (guint i = 0; i < MIN (list->len, read.limit); i++)
    {
      const GwPhoneRateTable *table = g_ptr_array_index (list, i);

      if (i > 0)
        g_string_append_c (body, ',');
      render_rate_table (body, table, g_str_equal (table->id, read.active_id));
    }
  g_string_append_c (body, ']');
  gw_json_bool (body, "has_more", list->len > read.limit);
  gw_json_close (body, '}');
  gw_request_reply (request, 200, body);
}

/* Calling numbers */

typedef enum
{
  NUMBER_ADD,
  NUMBER_DELETE,
  NUMBER_LIST,
} NumberAction;

typedef struct
{
  GwCredentials  credentials;
  GwApiPhoneLine line;
  NumberAction   action;
} NumberData;

/* The card a holder's request names by its number and password, in @card;
 * FALSE in @usable after the call was answered otherwise. */
static gboolean
holder_card (GwTxn               *txn,
             GwCall              *call,
             const GwCredentials *credentials,
             GwCard              *card,
             gboolean            *usable,
             GError             **error)
{
  GwOutcome outcome;
  gboolean wallet_card;

  *usable = FALSE;
  if (!gw_ledger_authenticate (txn, gw_server_get_ledger_config (call->server), credentials,
                               card, &outcome, error))
    return FALSE;
  if (outcome.code != GW_RESULT_OK)
    return gw_call_fail (call, &outcome, NULL), TRUE;
  /* Every mall a wallet's card paid at has seen its number and password:
   * those must not attach a line to it, which then pays with neither. Its
   * owner registers lines signed in (gw-api-wallet.c). */
  if (!gw_wallet_owns_card (txn, card->id, &wallet_card, error))
    return FALSE;
  if (wallet_card)
    return gw_api_wallet_refuse (call, 409, "invalid_request_error", "card_managed_by_wallet",
                                 NULL, "A wallet's card takes no calling numbers."), TRUE;
  *usable = TRUE;
  return TRUE;
}

/* A calling number of @card as the holder's routes show it, its object
 * left open for more members. */
static void
render_number (GString              *body,
               const GwLedgerConfig *config,
               const GwCard         *card,
               const guint8          lookup[32],
               const char           *last4,
               gboolean              registered)
{
  char id[GW_PHONE_LINE_ID_LEN + 1];

  gw_phone_calling_number_id (config, card->id, lookup, id);
  g_string_append_c (body, '{');
  gw_json_str (body, "id", id);
  gw_json_str (body, "object", "calling_number");
  gw_json_str (body, "card_id", card->id);
  gw_json_str (body, "card_last4", card->last4);
  gw_json_str (body, "calling_number_last4", last4);
  gw_json_bool (body, "registered", registered);
}

static void
reply_number (GwCall       *call,
              const GwCard *card,
              const guint8  lookup[32],
              const char   *last4,
              gboolean      registered)
{
  GString *body = g_string_new (NULL);

  render_number (body, gw_server_get_ledger_config (call->server), card, lookup, last4,
                 registered);
  gw_json_close (body, '}');
  gw_call_ok (call, body);
}

gboolean
gw_api_phone_read_line (GwRequest      *request,
                        GwApiPhoneLine *line)
{
  g_autofree char *digits = gw_api_phone_read_calling_number (request);

  if (digits == NULL)
    return FALSE;
  gw_phone_calling_lookup (gw_server_get_ledger_config (request->server), digits, line->lookup);
  g_strlcpy (line->last4, digits + strlen (digits) - 4, sizeof line->last4);
  return TRUE;
}

gboolean
gw_api_phone_change_line (GwTxn                *txn,
                          GwCall               *call,
                          const GwCard         *card,
                          const GwApiPhoneLine *line,
                          gboolean              remove,
                          GError              **error)
{
  GwPhoneResult result;

  if (!gw_phone_register_calling_number (txn, card, line->lookup, line->last4, remove, &result,
                                         error))
    return FALSE;
  if (result != GW_PHONE_OK)
    gw_api_phone_reply_result (call, result, NULL);
  else
    reply_number (call, card, line->lookup, line->last4, !remove);
  return TRUE;
}

gboolean
gw_api_phone_remove_line_id (GwTxn         *txn,
                             GwCall        *call,
                             const GwCard  *card,
                             const char    *id,
                             GError       **error)
{
  GwPhoneCallingNumber removed = { 0 };
  GwPhoneResult result;

  if (!gw_phone_remove_calling_number_id (txn, gw_server_get_ledger_config (call->server), card,
                                          id, &removed, &result, error))
    return FALSE;
  if (result == GW_PHONE_NUMBER_NOT_FOUND)
    gw_api_wallet_refuse (call, 404, "invalid_request_error", "resource_missing", "id",
                          "No such calling number on this card.");
  else if (result != GW_PHONE_OK)
    gw_api_phone_reply_result (call, result, NULL);
  else
    reply_number (call, card, removed.lookup, removed.last4, FALSE);
  return TRUE;
}

/* Each line by its last four digits only: the holder knows the rest, and
 * the answer passes through whatever the holder's client keeps. */
void
gw_api_phone_render_lines (GString              *body,
                           const GwLedgerConfig *config,
                           const GwCard         *card,
                           GArray               *lines)
{
  g_string_append (body, "{\"object\":\"list\",\"data\":[");
  for (guint i = 0; i < lines->len; i++)
    {
      const GwPhoneCallingNumber *line = &g_array_index (lines, GwPhoneCallingNumber, i);

      if (i > 0)
        g_string_append_c (body, ',');
      render_number (body, config, card, line->lookup, line->last4, TRUE);
      gw_json_int (body, "created", line->created);
      gw_json_close (body, '}');
    }
  g_string_append (body, "],\"has_more\":false}");
}

static gboolean
list_numbers (GwTxn         *txn,
              GwCall        *call,
              const GwCard  *card,
              GError       **error)
{
  g_autoptr(GArray) lines = gw_phone_calling_numbers (txn, card->id, error);
  GString *body;

  if (lines == NULL)
    return FALSE;
  body = g_string_new (NULL);
  gw_api_phone_render_lines (body, gw_server_get_ledger_config (call->server), card, lines);
  gw_call_ok (call, body);
  return TRUE;
}

static gboolean
number_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  NumberData *data = call->data;
  GwCard card;
  gboolean usable;

  if (!holder_card (txn, call, &data->credentials, &card, &usable, error))
    return FALSE;
  if (!usable)
    return TRUE;
  if (data->action == NUMBER_LIST)
    return list_numbers (txn, call, &card, error);
  return gw_api_phone_change_line (txn, call, &card, &data->line,
                                   data->action == NUMBER_DELETE, error);
}

/* Reads the number and password, and for a change the calling number;
 * submits the call, or replies. */
static void
calling_number (GwRequest    *request,
                NumberAction  action)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
    { "calling_number", ONEPIN_JSON_STRING, TRUE },
  };
  gboolean with_line = action != NUMBER_LIST;
  NumberData *data;

  if (!gw_request_check_body (request, fields, with_line ? G_N_ELEMENTS (fields) : 2))
    return;
  data = g_new0 (NumberData, 1);
  if (with_line && !gw_api_phone_read_line (request, &data->line))
    return g_free (data);
  gw_ledger_credentials (gw_server_get_ledger_config (request->server),
                         onepin_json_get_string (request->body, "number", ""),
                         onepin_json_get_string (request->body, "password", ""),
                         &data->credentials);
  data->action = action;
  gw_call_submit (gw_call_new (request, number_apply, data, g_free));
}

void
gw_api_phone_calling_numbers_add (GwRequest *request)
{
  calling_number (request, NUMBER_ADD);
}

void
gw_api_phone_calling_numbers_delete (GwRequest *request)
{
  calling_number (request, NUMBER_DELETE);
}

void
gw_api_phone_calling_numbers_list (GwRequest *request)
{
  calling_number (request, NUMBER_LIST);
}
