/* gw-api-sales.c: sellers (mobile operators, card-selling agents), their
 * pools of inactive numbers, their statements, and an agent's sale of a
 * physical card
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-api-phone.h"

#include <string.h>

#include "gw-seoul.h"

#include "gw-phone-sales.h"
#include "onepin-card.h"

/* Sellers */

typedef struct
{
  char    merchant_id[40];
  gint64  commission_bps;
} SellerData;

static gboolean
seller_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  SellerData *data = call->data;
  GwPhoneOperator seller;
  GwPhoneResult result;
  GString *body;

  if (!gw_phone_set_seller (txn, data->merchant_id, data->commission_bps, &seller, &result,
                            error))
    return FALSE;
  if (result != GW_PHONE_OK)
    return gw_api_phone_reply_result (call, result, NULL), TRUE;
  body = g_string_new ("{");
  gw_json_str (body, "object", "seller");
  gw_json_str (body, "merchant", seller.merchant_id);
  gw_json_int (body, "commission_bps", seller.commission_bps);
  gw_json_int (body, "created", seller.created);
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  return TRUE;
}

void
gw_api_phone_sellers_create (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "merchant", ONEPIN_JSON_STRING, TRUE },
    { "commission_bps", ONEPIN_JSON_INT, TRUE },
  };
  SellerData *data;
  const char *merchant;
  gint64 bps;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  merchant = onepin_json_get_string (request->body, "merchant", "");
  bps = onepin_json_get_int (request->body, "commission_bps", -1);
  if (strlen (merchant) < 1 || strlen (merchant) >= 40)
    return gw_request_bad_param (request, "merchant", "merchant must be a merchant id.");
  if (bps < 0 || bps > 10000)
    return gw_request_bad_param (request, "commission_bps",
                                 "commission_bps must be from 0 to 10000 (100%).");
  data = g_new0 (SellerData, 1);
  g_strlcpy (data->merchant_id, merchant, sizeof data->merchant_id);
  data->commission_bps = bps;
  gw_call_submit (gw_call_new (request, seller_apply, data, g_free));
}

/* Pools */

static void
render_pool (GString           *out,
             const GwPhonePool *pool)
{
  gw_json_str (out, "id", pool->id);
  gw_json_str (out, "object", "pin_pool");
  gw_json_str (out, "kind", pool->kind);
  gw_json_str (out, "seller", pool->merchant_id);
  gw_json_int (out, "value", pool->value);
  gw_json_str (out, "currency", "krw");
  gw_json_int (out, "count", pool->count);
  gw_json_int (out, "available", pool->available);
  gw_json_int (out, "sold", pool->sold);
  gw_json_int (out, "void", pool->voided);
  gw_json_int (out, "created", pool->created);
}

typedef struct
{
  char    kind[12];
  char    merchant_id[40];
  gint64  value;
  gint64  count;
} PoolData;

static gboolean
pool_apply (GwTxn   *txn,
            GwCall  *call,
            GError **error)
{
  PoolData *data = call->data;
  g_autoptr(GArray) numbers = g_array_new (FALSE, TRUE, sizeof (GwPoolNumber));
  GwPhonePool pool;
  GwPhoneResult result;
  GString *body;

  g_array_set_clear_func (numbers, gw_pool_number_clear);
  if (!gw_phone_create_pool (txn, gw_server_get_ledger_config (call->server), data->kind,
                             data->merchant_id, data->value, data->count, &pool, numbers,
                             &result, error))
    return FALSE;
  if (result != GW_PHONE_OK)
    return gw_api_phone_reply_result (call, result, NULL), TRUE;

  body = g_string_sized_new (256 + numbers->len * 90);
  g_string_append_c (body, '{');
  render_pool (body, &pool);
  g_string_append (body, ",\"numbers\":[");
  for (guint i = 0; i < numbers->len; i++)
    {
      const GwPoolNumber *number = &g_array_index (numbers, GwPoolNumber, i);

      g_string_append (body, i > 0 ? ",{" : "{");
      gw_json_int (body, "seq", i + 1);
      gw_json_str (body, "number", number->number);
      if (number->secret != NULL)
        gw_json_str (body, "secret", number->secret);
      g_string_append_c (body, '}');
    }
  g_string_append (body, "]}");
  gw_call_ok (call, body);
  call->seal = TRUE;     /* card numbers and scratch secrets, shown only here */
  return TRUE;
}

void
gw_api_phone_pools_create (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "seller", ONEPIN_JSON_STRING, TRUE },
    { "kind", ONEPIN_JSON_STRING, FALSE },
    { "value", ONEPIN_JSON_INT, TRUE },
    { "count", ONEPIN_JSON_INT, TRUE },
  };
  static const char *kinds[] = { "operator", "agent", NULL };
  const char *seller, *kind;
  gint64 value, count;
  PoolData *data;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  seller = onepin_json_get_string (request->body, "seller", "");
  kind = onepin_json_get_string (request->body, "kind", "operator");
  value = onepin_json_get_int (request->body, "value", 0);
  count = onepin_json_get_int (request->body, "count", 0);
  if (strlen (seller) < 1 || strlen (seller) >= 40)
    return gw_request_bad_param (request, "seller", "seller must be a merchant id.");
  if (!g_strv_contains (kinds, kind))
    return gw_request_bad_param (request, "kind", "kind must be operator or agent.");
  if (!gw_is_denomination (value))
    return gw_request_bad_param (request, "value",
                                 "value must be one of 5000, 10000, 20000, 30000, 50000, 100000.");
  if (count < 1 || count > 10000)
    return gw_request_bad_param (request, "count", "count must be from 1 to 10000.");

  data = g_new0 (PoolData, 1);
  g_strlcpy (data->kind, kind, sizeof data->kind);
  g_strlcpy (data->merchant_id, seller, sizeof data->merchant_id);
  data->value = value;
  data->count = count;
  gw_call_submit (gw_call_new (request, pool_apply, data, g_free));
}

typedef struct
{
  const char  *id;
  GwPhonePool  pool;
  gboolean     found;
} PoolRead;

static gboolean
pool_read_apply (GwTxn    *txn,
                 gpointer  user_data,
                 GError  **error)
{
  PoolRead *read = user_data;
  const GwPhoneStoreFuncs *phone = gw_txn_extension (txn, "phone");
  GError *local = NULL;

  read->found = phone->pool_get (txn, read->id, &read->pool, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

static void
read_failed (GwRequest    *request,
             const GError *error)
{
  g_warning ("read failed: %s", error->message);
  gw_request_error (request, 500, "api_error", "internal", NULL, "The read failed.");
}

void
gw_api_phone_pools_get (GwRequest *request)
{
  PoolRead read = { .id = request->path_id };
  g_autoptr(GError) error = NULL;
  GString *body;

  if (!gw_store_read (gw_server_get_store (request->server), pool_read_apply, &read, &error))
    return read_failed (request, error);
  if (!read.found)
    return gw_request_error (request, 404, "invalid_request_error", "resource_missing", "id",
                             "No such pool.");
  body = g_string_new ("{");
  render_pool (body, &read.pool);
  gw_json_close (body, '}');
  gw_request_reply (request, 200, body);
}

/* Statements */

/* "2026-12" -> the month's first second and the next month's, in Seoul. */
static gboolean
parse_month (const char *text,
             gint64     *from,
             gint64     *to)
{
  g_autoptr(GTimeZone) tz = gw_seoul_zone ();
  g_autoptr(GDateTime) start = NULL;
  g_autoptr(GDateTime) end = NULL;
  guint64 year, month;

  if (text == NULL || strlen (text) != 7 || text[4] != '-' ||
      !g_ascii_string_to_unsigned (text + 5, 10, 1, 12, &month, NULL))
    return FALSE;
  {
    g_autofree char *y = g_strndup (text, 4);

    if (!g_ascii_string_to_unsigned (y, 10, 2000, 9998, &year, NULL))
      return FALSE;
  }
  start = g_date_time_new (tz, year, month, 1, 0, 0, 0);
  end = g_date_time_add_months (start, 1);
  *from = g_date_time_to_unix (start);
  *to = g_date_time_to_unix (end);
  return TRUE;
}

static GString *
render_statement_json (const char             *seller,
                       const char             *month,
                       const GwPhoneStatement *s)
{
  GString *body = g_string_sized_new (512 + s->sales->len * 160);
  gint64 gross = s->cards_value + s->recharges_value;

  g_string_append_c (body, '{');
  gw_json_str (body, "object", "seller_statement");
  gw_json_str (body, "seller", seller);
  gw_json_str (body, "month", month);
  gw_json_int (body, "period_start", s->from);
  gw_json_int (body, "period_end", s->to);
  gw_json_str (body, "currency", "krw");
  gw_json_int (body, "cards_sold", s->cards_sold);
  gw_json_int (body, "cards_value", s->cards_value);
  gw_json_int (body, "recharges", s->recharges);
  gw_json_int (body, "recharges_value", s->recharges_value);
  gw_json_int (body, "gross", gross);
  gw_json_int (body, "commission", s->commission);
  gw_json_int (body, "net_due", gross - s->commission);
  gw_json_int (body, "commission_bps", s->commission_bps);
  g_string_append (body, ",\"ledger\":{");
  gw_json_int (body, "debits", s->ledger_debits);
  gw_json_int (body, "credits", s->ledger_credits);
  gw_json_bool (body, "reconciled", s->ledger_debits == gross);
  g_string_append (body, "},\"sales\":[");
  for (guint i = 0; i < s->sales->len; i++)
    {
      const GwPhoneSale *sale = &g_array_index (s->sales, GwPhoneSale, i);

      g_string_append (body, i > 0 ? ",{" : "{");
      gw_json_str (body, "id", sale->id);
      gw_json_str (body, "kind", sale->kind);
      gw_json_str (body, "card_last4", sale->card_last4);
      gw_json_int (body, "amount", sale->amount);
      gw_json_int (body, "commission", sale->commission);
      gw_json_str (body, "pool", sale->pool_id[0] ? sale->pool_id : NULL);
      gw_json_int (body, "created", sale->created);
      g_string_append_c (body, '}');
    }
  g_string_append (body, "]}");
  return body;
}

/* One line per sale, then the totals; times in Seoul. No card holder is
 * named: a card shows as its last four digits. */
static GString *
render_statement_csv (const GwPhoneStatement *s)
{
  GString *body = g_string_new ("date,sale,kind,card_last4,amount,commission,net\r\n");
  gint64 gross = s->cards_value + s->recharges_value;

  for (guint i = 0; i < s->sales->len; i++)
    {
      const GwPhoneSale *sale = &g_array_index (s->sales, GwPhoneSale, i);
      g_autofree char *date = gw_seoul_format (sale->created, "%Y-%m-%dT%H:%M:%S%:z");

      g_string_append_printf (body, "%s,%s,%s,%s,%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                              ",%" G_GINT64_FORMAT "\r\n", date, sale->id, sale->kind,
                              sale->card_last4, sale->amount, sale->commission,
                              sale->amount - sale->commission);
    }
  g_string_append_printf (body, "total,,,,%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%"
                          G_GINT64_FORMAT "\r\n", gross, s->commission, gross - s->commission);
  return body;
}

typedef struct
{
  const char       *seller;
  gint64            from;
  gint64            to;
  GwPhoneStatement  statement;
  GwPhoneResult     result;
} StatementRead;

static gboolean
statement_read_apply (GwTxn    *txn,
                      gpointer  user_data,
                      GError  **error)
{
  StatementRead *read = user_data;

  return gw_phone_seller_statement (txn, read->seller, read->from, read->to, &read->statement,
                                    &read->result, error);
}

static const char *
query (GwRequest  *request,
       const char *name)
{
  return request->query ? g_hash_table_lookup (request->query, name) : NULL;
}

static void
statement (GwRequest  *request,
           const char *seller)
{
  StatementRead read = { .seller = seller };
  g_autoptr(GError) error = NULL;
  const char *month = query (request, "month");
  const char *format = query (request, "format");
  gboolean csv = g_strcmp0 (format, "csv") == 0;
  GString *body;

  if (!parse_month (month, &read.from, &read.to))
    return gw_request_bad_param (request, "month", "month must be YYYY-MM.");
  if (format != NULL && !csv && !g_str_equal (format, "json"))
    return gw_request_bad_param (request, "format", "format must be json or csv.");
  if (!gw_store_read (gw_server_get_store (request->server), statement_read_apply, &read,
                      &error))
    {
      gw_phone_statement_clear (&read.statement);
      return read_failed (request, error);
    }
  if (read.result != GW_PHONE_OK)
    return gw_request_error (request, 404, "invalid_request_error", "resource_missing", "seller",
                             "No such seller: it has not sold anything or been set up.");
  body = csv ? render_statement_csv (&read.statement)
             : render_statement_json (seller, month, &read.statement);
  gw_phone_statement_clear (&read.statement);
  if (csv)
    return gw_request_reply_text (request, "text/csv; charset=utf-8", body);
  gw_request_reply (request, 200, body);
}

void
gw_api_phone_statements_get (GwRequest *request)
{
  const char *seller = query (request, "seller");

  if (seller == NULL)
    return gw_request_error (request, 400, "invalid_request_error", "parameter_missing",
                             "seller", "Missing parameter: seller");
  statement (request, seller);
}

void
gw_api_phone_own_statement (GwRequest *request)
{
  statement (request, request->merchant_id);
}

/* An agent's sale of a physical card, and voiding an unsold one */

typedef struct
{
  char     merchant_id[40];
  gboolean well_formed;
  guint8   lookup[32];
  gboolean void_it;
} AgentData;

static gboolean
agent_apply (GwTxn   *txn,
             GwCall  *call,
             GError **error)
{
  AgentData *data = call->data;
  GwPhoneResult result = GW_PHONE_NUMBER_NOT_FOUND;
  g_auto(GwPhonePin) pin = { 0 };
  GwCard card;
  char sale_id[40];
  GString *body;
  gboolean ok = TRUE;

  if (data->well_formed && data->void_it)
    ok = gw_phone_void_number (txn, data->merchant_id, data->lookup, &pin, &result, error);
  else if (data->well_formed)
    ok = gw_phone_activate_card (txn, gw_server_get_ledger_config (call->server),
                                 data->merchant_id, data->lookup, &card, sale_id, &result, error);
  if (!ok)
    return FALSE;
  if (result != GW_PHONE_OK)
    {
      gw_api_phone_reply_result (call, result, NULL);
      if (result == GW_PHONE_NUMBER_NOT_FOUND)
        {
          g_string_truncate (call->body, 0);
          gw_error_render (call->body, "invalid_request_error", "resource_missing", NULL, "number",
                           "No unsold card of yours has this number.");
        }
      return TRUE;
    }

  body = g_string_new ("{");
  gw_json_str (body, "object", "agent_card");
  if (data->void_it)
    {
      gw_json_str (body, "card_last4", pin.last4);
      gw_json_str (body, "pool", pin.pool_id);
      gw_json_str (body, "state", "void");
    }
  else
    {
      gw_json_str (body, "card_id", card.id);
      gw_json_str (body, "card_last4", card.last4);
      gw_json_str (body, "state", card.state);
      gw_json_int (body, "balance", card.balance);
      gw_json_str (body, "currency", card.currency);
      gw_json_int (body, "expires_at", card.expires_at);
      gw_json_str (body, "sale", sale_id);
    }
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  return TRUE;
}

static void
agent_card (GwRequest *request,
            gboolean   void_it)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
  };
  const char *number;
  AgentData *data;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  number = onepin_json_get_string (request->body, "number", "");
  data = g_new0 (AgentData, 1);
  g_strlcpy (data->merchant_id, request->merchant_id, sizeof data->merchant_id);
  data->void_it = void_it;
  data->well_formed = onepin_card_number_is_valid (number);
  if (data->well_formed)
    onepin_key_hmac (gw_server_get_ledger_config (request->server)->lookup_key, number,
                     ONEPIN_CARD_NUMBER_LEN, data->lookup);
  gw_call_submit (gw_call_new (request, agent_apply, data, g_free));
}

void
gw_api_agent_cards_activate (GwRequest *request)
{
  agent_card (request, FALSE);
}

void
gw_api_agent_cards_void (GwRequest *request)
{
  agent_card (request, TRUE);
}
