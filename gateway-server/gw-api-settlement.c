/* gw-api-settlement.c: merchants' daily settlement and their files
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A settlement file lists payments and refunds by the merchant's own
 * references (payment id, order id): no card number, no last four digits,
 * nothing about the card holder.
 */
#include "gw-api-settlement.h"

#include <string.h>

#include "gw-seoul.h"

#include "gw-settlement.h"

/* Rates */

typedef struct
{
  char    merchant_id[40];
  gint64  bps;
} RateData;

static gboolean
rate_apply (GwTxn   *txn,
            GwCall  *call,
            GError **error)
{
  RateData *data = call->data;
  gboolean found;
  GString *body;

  if (!gw_settlement_set_rate (txn, data->merchant_id, data->bps, &found, error))
    return FALSE;
  if (!found)
    {
      call->status = 404;
      call->body = g_string_new (NULL);
      gw_error_render (call->body, "invalid_request_error", "resource_missing", NULL, "id",
                       "No such merchant.");
      return TRUE;
    }
  body = g_string_new ("{");
  gw_json_str (body, "object", "merchant_commission");
  gw_json_str (body, "merchant", data->merchant_id);
  gw_json_int (body, "commission_bps", data->bps);
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  return TRUE;
}

void
gw_api_settlement_commission (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "commission_bps", ONEPIN_JSON_INT, TRUE },
  };
  RateData *data;
  gint64 bps;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  bps = onepin_json_get_int (request->body, "commission_bps", -1);
  if (bps < 0 || bps > 10000)
    return gw_request_bad_param (request, "commission_bps",
                                 "commission_bps must be from 0 to 10000 (100%).");
  data = g_new0 (RateData, 1);
  g_strlcpy (data->merchant_id, request->path_id, sizeof data->merchant_id);
  data->bps = bps;
  gw_call_submit (gw_call_new (request, rate_apply, data, g_free));
}

/* Days */

/* "2026-12-01" -> that day's first second and the next day's, in Seoul. */
static gboolean
parse_date (const char *text,
            gint64     *from,
            gint64     *to)
{
  g_autoptr(GTimeZone) tz = gw_seoul_zone ();
  g_autoptr(GDateTime) start = NULL;
  g_autoptr(GDateTime) end = NULL;
  int year, month, day;

  if (text == NULL || strlen (text) != 10 || text[4] != '-' || text[7] != '-')
    return FALSE;
  for (guint i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !g_ascii_isdigit (text[i]))
      return FALSE;
  year = g_ascii_digit_value (text[0]) * 1000 + g_ascii_digit_value (text[1]) * 100 +
         g_ascii_digit_value (text[2]) * 10 + g_ascii_digit_value (text[3]);
  month = g_ascii_digit_value (text[5]) * 10 + g_ascii_digit_value (text[6]);
  day = g_ascii_digit_value (text[8]) * 10 + g_ascii_digit_value (text[9]);
  if (year < 2000 || year > 9998 || month < 1 || month > 12 || day < 1 || day > 31)
    return FALSE;
  start = g_date_time_new (tz, year, month, day, 0, 0, 0);
  if (start == NULL || g_date_time_get_day_of_month (start) != day)
    return FALSE;
  end = g_date_time_add_days (start, 1);
  *from = g_date_time_to_unix (start);
  *to = g_date_time_to_unix (end);
  return TRUE;
}

static void
render_settlement (GString            *out,
                   const GwSettlement *s)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "id", s->id);
  gw_json_str (out, "object", "settlement");
  gw_json_str (out, "merchant", s->merchant_id);
  gw_json_str (out, "date", s->date);
  gw_json_str (out, "currency", "krw");
  gw_json_int (out, "payments", s->payments);
  gw_json_int (out, "captured", s->captured);
  gw_json_int (out, "refunds", s->refunds);
  gw_json_int (out, "refunded", s->refunded);
  gw_json_int (out, "commission_bps", s->commission_bps);
  gw_json_int (out, "commission", s->commission);
  gw_json_int (out, "net", s->net);
  gw_json_int (out, "first_line", s->first_line);
  gw_json_int (out, "last_line", s->last_line);
  gw_json_int (out, "created", s->created);
  g_string_append_c (out, '}');
}

static void
render_list (GString    *out,
             const char *date,
             GArray     *list)
{
  gint64 captured = 0, refunded = 0, commission = 0, net = 0;

  g_string_append (out, "{\"object\":\"list\"");
  gw_json_str (out, "date", date);
  g_string_append (out, ",\"data\":[");
  for (guint i = 0; i < list->len; i++)
    {
      const GwSettlement *s = &g_array_index (list, GwSettlement, i);

      if (i > 0)
        g_string_append_c (out, ',');
      render_settlement (out, s);
      captured += s->captured;
      refunded += s->refunded;
      commission += s->commission;
      net += s->net;
    }
  g_string_append (out, "],\"totals\":{");
  gw_json_int (out, "captured", captured);
  gw_json_int (out, "refunded", refunded);
  gw_json_int (out, "commission", commission);
  gw_json_int (out, "net", net);
  g_string_append (out, "}}");
}

/* Running a day's settlement */

typedef struct
{
  char   date[11];
  gint64 end;
} RunData;

static gboolean
run_apply (GwTxn   *txn,
           GwCall  *call,
           GError **error)
{
  RunData *data = call->data;
  g_autoptr(GArray) list = g_array_new (FALSE, TRUE, sizeof (GwSettlement));
  GString *body;

  if (!gw_settlement_run (txn, data->date, data->end, list, error))
    return FALSE;
  body = g_string_sized_new (256 + list->len * 400);
  render_list (body, data->date, list);
  gw_call_ok (call, body);
  return TRUE;
}

void
gw_api_settlement_run (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "date", ONEPIN_JSON_STRING, TRUE },
  };
  const char *date;
  gint64 from, to;
  RunData *data;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  date = onepin_json_get_string (request->body, "date", "");
  if (!parse_date (date, &from, &to))
    return gw_request_bad_param (request, "date", "date must be a day, YYYY-MM-DD.");
  if (from > g_get_real_time () / G_USEC_PER_SEC)
    return gw_request_bad_param (request, "date", "date must not be in the future.");
  data = g_new0 (RunData, 1);
  g_strlcpy (data->date, date, sizeof data->date);
  data->end = to;
  gw_call_submit (gw_call_new (request, run_apply, data, g_free));
}

/* Reading them */

typedef struct
{
  const char   *date;
  const char   *merchant_id;       /* NULL: all (admin) */
  const char   *id;
  GArray       *list;
  GwSettlement  one;
  gboolean      found;
  GArray       *lines;
  gint64        payable;
  gint64        settled;
} ReadData;

static gboolean
read_apply (GwTxn    *txn,
            gpointer  user_data,
            GError  **error)
{
  ReadData *read = user_data;
  const GwSettlementStoreFuncs *store = gw_txn_extension (txn, "settlement");
  GwSettlementMerchant merchant;
  GError *local = NULL;

  if (read->date != NULL)
    return (read->list = store->settlements_of_date (txn, read->date, read->merchant_id,
                                                     error)) != NULL;
  read->found = store->settlement_get (txn, read->id, &read->one, &local) &&
                (read->merchant_id == NULL || g_str_equal (read->one.merchant_id,
                                                           read->merchant_id));
  if (local == NULL && read->found &&
      store->merchant_get (txn, read->one.merchant_id, &merchant, &local))
    read->lines = store->lines (txn, merchant.payable_account, read->one.first_line,
                                read->one.last_line, &local);
  if (local == NULL && read->found)
    gw_settlement_balances (txn, read->one.merchant_id, &read->payable, &read->settled, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

static gboolean
read_settlements (GwRequest *request,
                  ReadData  *read)
{
  g_autoptr(GError) error = NULL;

  if (gw_store_read (gw_server_get_store (request->server), read_apply, read, &error))
    return TRUE;
  g_clear_pointer (&read->list, g_array_unref);
  g_clear_pointer (&read->lines, g_array_unref);
  g_warning ("settlement read failed: %s", error->message);
  gw_request_error (request, 500, "api_error", "internal", NULL, "The read failed.");
  return FALSE;
}

static const char *
query (GwRequest  *request,
       const char *name)
{
  return request->query ? g_hash_table_lookup (request->query, name) : NULL;
}

static void
list (GwRequest  *request,
      const char *merchant_id)
{
  ReadData read = { .date = query (request, "date"), .merchant_id = merchant_id };
  gint64 from, to;
  GString *body;

  if (!parse_date (read.date, &from, &to))
    return gw_request_bad_param (request, "date", "date must be a day, YYYY-MM-DD.");
  if (!read_settlements (request, &read))
    return;
  body = g_string_new (NULL);
  render_list (body, read.date, read.list);
  g_array_unref (read.list);
  gw_request_reply (request, 200, body);
}

/* A cell of someone else's text, quoted with its quotes doubled (RFC 4180:
 * commas, CR and LF stay inside it). A spreadsheet takes a cell that starts
 * with = + - @ TAB or CR for a formula, which can run commands or send the
 * file's data away when the file is opened: such a cell starts with a
 * single quote, which spreadsheets show as text (OWASP, "CSV Injection").
 * Our own numbers (negative amounts included) are never written through
 * this, so they stay numbers. */
static void
append_text_cell (GString    *out,
                  const char *text)
{
  g_string_append_c (out, '"');
  if (text[0] != '\0' && strchr ("=+-@\t\r", text[0]) != NULL)
    g_string_append_c (out, '\'');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

/* The id a line is known by: its payment's, else the call's session or
 * event. A refund's own id is in the refund column (`refund_of`): one
 * payment's two partial refunds of a day are told apart by it. */
static const char *
reference_of (const GwSettlementLine *line)
{
  return line->payment_id[0] ? line->payment_id : line->reference;
}

static const char *
refund_of (const GwSettlementLine *line)
{
  return g_str_equal (line->kind, "refund") && line->payment_id[0] ? line->reference : "";
}

/* The merchant's file: its payments and refunds, then the totals. Only the
 * order id is the merchant's own text; the rest is ours. The refund column
 * came last, after the others, so readers by position still work. */
static GString *
render_csv (const GwSettlement *s,
            GArray             *lines)
{
  GString *out = g_string_new ("date,type,reference,order_id,channel,amount,refund\r\n");

  for (guint i = 0; i < lines->len; i++)
    {
      const GwSettlementLine *line = &g_array_index (lines, GwSettlementLine, i);
      g_autofree char *date = gw_seoul_format (line->created, "%Y-%m-%dT%H:%M:%S%:z");

      g_string_append_printf (out, "%s,%s,%s,", date, line->kind, reference_of (line));
      if (line->order_id != NULL)
        append_text_cell (out, line->order_id);
      g_string_append_printf (out, ",%s,%" G_GINT64_FORMAT ",%s\r\n", line->channel,
                              line->amount, refund_of (line));
    }
  g_string_append_printf (out, "captured,,,,,%" G_GINT64_FORMAT ",\r\n", s->captured);
  g_string_append_printf (out, "refunded,,,,,%" G_GINT64_FORMAT ",\r\n", -s->refunded);
  g_string_append_printf (out, "commission,,,,,%" G_GINT64_FORMAT ",\r\n", -s->commission);
  g_string_append_printf (out, "net_payable,,,,,%" G_GINT64_FORMAT ",\r\n", s->net);
  return out;
}

static void
render_lines (GString *out,
              GArray  *lines)
{
  g_string_append (out, ",\"lines\":[");
  for (guint i = 0; i < lines->len; i++)
    {
      const GwSettlementLine *line = &g_array_index (lines, GwSettlementLine, i);

      g_string_append (out, i > 0 ? ",{" : "{");
      gw_json_str (out, "type", line->kind);
      gw_json_str (out, "reference", reference_of (line));
      if (refund_of (line)[0] != '\0')
        gw_json_str (out, "refund", refund_of (line));
      gw_json_str (out, "order_id", line->order_id);
      gw_json_str (out, "channel", line->channel);
      gw_json_int (out, "amount", line->amount);
      gw_json_int (out, "created", line->created);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
}

static void
get (GwRequest  *request,
     const char *merchant_id)
{
  ReadData read = { .id = request->path_id, .merchant_id = merchant_id };
  const char *format = query (request, "format");
  gboolean csv = g_strcmp0 (format, "csv") == 0;
  GString *body;

  if (format != NULL && !csv && !g_str_equal (format, "json"))
    return gw_request_bad_param (request, "format", "format must be json or csv.");
  if (!read_settlements (request, &read))
    return;
  if (!read.found || read.lines == NULL)
    {
      g_clear_pointer (&read.lines, g_array_unref);
      return gw_request_error (request, 404, "invalid_request_error", "resource_missing", "id",
                               "No such settlement.");
    }
  if (csv)
    body = render_csv (&read.one, read.lines);
  else
    {
      body = g_string_new (NULL);
      render_settlement (body, &read.one);
      g_string_truncate (body, body->len - 1);
      render_lines (body, read.lines);
      g_string_append (body, ",\"balances\":{");
      gw_json_int (body, "payable", read.payable);
      gw_json_int (body, "settled", read.settled);
      g_string_append (body, "}}");
    }
  g_array_unref (read.lines);
  if (csv)
    return gw_request_reply_text (request, "text/csv; charset=utf-8", body);
  gw_request_reply (request, 200, body);
}

void
gw_api_settlement_list (GwRequest *request)
{
  list (request, NULL);
}

void
gw_api_settlement_get (GwRequest *request)
{
  get (request, NULL);
}

void
gw_api_settlement_own_list (GwRequest *request)
{
  list (request, request->merchant_id);
}

void
gw_api_settlement_own_get (GwRequest *request)
{
  get (request, request->merchant_id);
}
