/* test-settlement.c: merchants' daily settlement, and its files
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A day of internet payments, refunds and telephone charges is settled with
 * onepin-admin; the files add up, name no card holder, and reconcile to the
 * merchant's payments and to the journal to the won.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <sqlite3.h>

#include "phone-test-util.h"

static OtGateway *gw;

static char *
today (void)
{
  g_autoptr(GTimeZone) tz = g_time_zone_new_offset (9 * 3600);
  g_autoptr(GDateTime) now = g_date_time_new_now (tz);

  return g_date_time_format (now, "%Y-%m-%d");
}

static void
set_commission (const char *merchant,
                gint64      bps)
{
  g_autofree char *path = g_strdup_printf ("/v1/admin/merchants/%s/commission", merchant);
  g_autofree char *body = g_strdup_printf ("{\"commission_bps\": %" G_GINT64_FORMAT "}", bps);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", path, ot_gateway_admin_token (gw), NULL, body);

  ot_assert_status (r, 200);
}

/* Runs onepin-admin; returns its stdout. */
static char *
admin (const char *command,
       ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  const char *arg;
  int status = 0;
  va_list args;

  g_ptr_array_add (argv, (char *) g_getenv ("ONEPIN_ADMIN"));
  g_ptr_array_add (argv, (char *) command);
  g_ptr_array_add (argv, "--data-dir");
  g_ptr_array_add (argv, (char *) ot_gateway_data_dir (gw));
  va_start (args, command);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, 0, NULL, NULL, &out, &err,
                               &status, &error));
  g_test_message ("onepin-admin: %s%s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return out;
}

static JsonObject *
get_json (const char *path,
          const char *key)
{
  g_autoptr(OtResponse) r = ot_request (gw, "GET", path, key, NULL, NULL);

  ot_assert_status (r, 200);
  return json_object_ref (ot_response_object (r));
}

static JsonObject *
settlement_of (JsonArray  *data,
               const char *merchant)
{
  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonObject *s = json_array_get_object_element (data, i);

      if (g_str_equal (ot_json_string (s, "merchant"), merchant))
        return s;
    }
  return NULL;
}

static char *
read_file (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static void
remove_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_dir (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
test_day (void)
{
  g_autofree char *mall_id = NULL, *switch_id = NULL, *idle_id = NULL;
  g_autofree char *mall = pt_create_merchant (gw, "Mall", "shopping", &mall_id);
  g_autofree char *sw = pt_create_merchant (gw, "Switch", "telephone", &switch_id);
  g_autofree char *idle = pt_create_merchant (gw, "Idle", "shopping", &idle_id);
  g_autoptr(OtCard) card = ot_new_card (gw, 50000, "2580");
  g_autofree char *date = today ();
  g_autofree char *out_dir = g_dir_make_tmp ("onepin-settle-XXXXXX", NULL);
  g_autofree char *day_dir = g_build_filename (out_dir, date, NULL);
  g_autoptr(JsonObject) p1 = NULL, p2 = NULL, p3 = NULL, auth = NULL, day = NULL, detail = NULL;
  g_autoptr(JsonObject) own = NULL, list = NULL;
  g_autoptr(OtResponse) cap = NULL, ref = NULL, rates = NULL, call = NULL, end = NULL;
  g_autoptr(OtResponse) vm = NULL, foreign = NULL;
  g_autofree char *said = NULL, *again = NULL, *summary = NULL, *file = NULL, *name = NULL;
  g_autofree char *path = NULL, *body = NULL, *refund_cell = NULL;
  const char *refund_id;
  JsonObject *m, *s;
  gint64 line_sum = 0, api_sum = 0;
  JsonArray *lines, *payments;

  set_commission (mall_id, 250);       /* 2.5% */
  set_commission (switch_id, 1000);    /* 10% */

  /* Internet: three captures, a partial capture of an authorization, a refund. */
  p1 = ot_pay (gw, mall, card->number, "2580", 10000, TRUE);
  p2 = ot_pay (gw, mall, card->number, "2580", 3333, TRUE);
  p3 = ot_pay (gw, mall, card->number, "2580", 1, TRUE);
  auth = ot_pay (gw, mall, card->number, "2580", 5000, FALSE);
  path = g_strdup_printf ("/v1/payments/%s/capture", ot_json_string (auth, "id"));
  cap = ot_request (gw, "POST", path, mall, NULL, "{\"amount\": 4000}");
  ot_assert_status (cap, 200);
  body = g_strdup_printf ("{\"payment\": \"%s\", \"amount\": 1000}", ot_json_string (p1, "id"));
  ref = ot_request (gw, "POST", "/v1/refunds", mall, NULL, body);
  ot_assert_status (ref, 200);
  refund_id = ot_json_string (ot_response_object (ref), "id");

  /* Telephone: a 215 s call at 60 won a minute (220 won) and a voicemail (50). */
  rates = ot_request (gw, "POST", "/v1/admin/phone/rate_tables", ot_gateway_admin_token (gw),
                      NULL, "{\"name\": \"t\", \"rates\": [{\"prefix\": \"02\", \"category\":"
                      " \"local\", \"per_minute\": 60, \"increment\": 10}], \"services\":"
                      " [{\"service\": \"voicemail\", \"price\": 50}]}");
  ot_assert_status (rates, 200);
  g_free (body);
  body = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"2580\", \"destination\":"
                          " \"0212345678\"}", card->number);
  call = ot_request (gw, "POST", "/v1/phone/sessions", sw, NULL, body);
  ot_assert_status (call, 200);
  g_free (path);
  path = g_strdup_printf ("/v1/phone/sessions/%s/terminate",
                          ot_json_string (ot_response_object (call), "id"));
  end = ot_request (gw, "POST", path, sw, NULL, "{\"request_number\": 1, \"used_seconds\": 215}");
  ot_assert_status (end, 200);
  g_free (body);
  body = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"2580\", \"service\":"
                          " \"voicemail\"}", card->number);
  vm = ot_request (gw, "POST", "/v1/phone/events", sw, NULL, body);
  ot_assert_status (vm, 200);

  /* The day's settlement and its files. */
  said = admin ("settle", "--date", date, "--out", out_dir, NULL);
  g_assert_nonnull (strstr (said, "Settled 2 merchants"));
  g_free (path);
  path = g_strdup_printf ("/v1/admin/settlements?date=%s", date);
  day = get_json (path, ot_gateway_admin_token (gw));
  g_assert_cmpuint (json_array_get_length (ot_json_array (day, "data")), ==, 2);
  g_assert_null (settlement_of (ot_json_array (day, "data"), idle_id));

  /* The mall: 17,334 captured, 1,000 refunded, 2.5% of 16,334 = 408.35,
   * rounded down to 408; 15,926 payable. */
  m = settlement_of (ot_json_array (day, "data"), mall_id);
  g_assert_nonnull (m);
  g_assert_cmpint (ot_json_int (m, "payments"), ==, 4);
  g_assert_cmpint (ot_json_int (m, "captured"), ==, 17334);
  g_assert_cmpint (ot_json_int (m, "refunds"), ==, 1);
  g_assert_cmpint (ot_json_int (m, "refunded"), ==, 1000);
  g_assert_cmpint (ot_json_int (m, "commission"), ==, 408);
  g_assert_cmpint (ot_json_int (m, "net"), ==, 15926);
  s = settlement_of (ot_json_array (day, "data"), switch_id);
  g_assert_cmpint (ot_json_int (s, "captured"), ==, 270);
  g_assert_cmpint (ot_json_int (s, "commission"), ==, 27);
  g_assert_cmpint (ot_json_int (s, "net"), ==, 243);

  /* Reconciled to the won: the lines add up; the merchant's payments say
   * the same; the payable is empty and the settled account holds the net. */
  g_free (path);
  path = g_strdup_printf ("/v1/admin/settlements/%s", ot_json_string (m, "id"));
  detail = get_json (path, ot_gateway_admin_token (gw));
  lines = ot_json_array (detail, "lines");
  g_assert_cmpuint (json_array_get_length (lines), ==, 5);
  for (guint i = 0; i < json_array_get_length (lines); i++)
    {
      JsonObject *line = json_array_get_object_element (lines, i);

      line_sum += ot_json_int (line, "amount");
      g_assert_cmpstr (json_object_get_string_member_with_default (line, "refund", NULL), ==,
                       g_str_equal (ot_json_string (line, "type"), "refund") ? refund_id : NULL);
    }
  g_assert_cmpint (line_sum, ==, 17334 - 1000);
  list = get_json ("/v1/payments?limit=100", mall);
  payments = ot_json_array (list, "data");
  for (guint i = 0; i < json_array_get_length (payments); i++)
    {
      JsonObject *p = json_array_get_object_element (payments, i);

      api_sum += ot_json_int (p, "amount_captured") - ot_json_int (p, "amount_refunded");
    }
  g_assert_cmpint (api_sum, ==, line_sum);
  g_assert_cmpint (ot_json_int (ot_json_object (detail, "balances"), "payable"), ==, 0);
  g_assert_cmpint (ot_json_int (ot_json_object (detail, "balances"), "settled"), ==, 15926);
  json_object_unref (ot_assert_audit_balanced (gw));

  /* The files: one per merchant and a summary; no card holder in them. */
  summary = read_file (day_dir, "summary.csv");
  g_assert_true (g_str_has_prefix (summary, "merchant,settlement,payments,captured,refunds,"
                                            "refunded,commission,net\r\n"));
  g_assert_nonnull (strstr (summary, ",4,17334,1,1000,408,15926\r\n"));
  name = g_strdup_printf ("%s-%s.csv", mall_id, ot_json_string (m, "id"));
  file = read_file (day_dir, name);
  g_assert_true (g_str_has_prefix (file, "date,type,reference,order_id,channel,amount,"
                                         "refund\r\n"));
  g_assert_nonnull (strstr (file, ot_json_string (p2, "id")));
  g_assert_nonnull (strstr (file, ot_json_string (p2, "order_id")));
  g_assert_nonnull (strstr (file, ",refund,"));
  /* A refund's row names the refund too: two of one payment in a day
   * are told apart. */
  refund_cell = g_strdup_printf (",%s\r\n", refund_id);
  g_assert_nonnull (strstr (file, refund_cell));
  g_assert_nonnull (strstr (file, "\r\nnet_payable,,,,,15926,\r\n"));
  g_assert_null (strstr (file, card->number));
  g_assert_null (strstr (file, "card"));

  /* Settling again settles nothing twice; a later payment is settled next. */
  again = admin ("settle", "--date", date, "--out", out_dir, NULL);
  g_assert_nonnull (strstr (again, "Settled 0 merchants"));
  {
    g_autoptr(JsonObject) late = ot_pay (gw, mall, card->number, "2580", 777, TRUE);
    g_autoptr(OtResponse) run = ot_request (gw, "POST", "/v1/admin/settlements",
                                            ot_gateway_admin_token (gw), NULL, NULL);
    g_autofree char *run_body = g_strdup_printf ("{\"date\": \"%s\"}", date);
    g_autoptr(OtResponse) run2 = ot_request (gw, "POST", "/v1/admin/settlements",
                                             ot_gateway_admin_token (gw), NULL, run_body);
    JsonArray *data;

    ot_assert_error (run, 400, "invalid_request_error", "parameter_missing");
    ot_assert_status (run2, 200);
    data = ot_json_array (ot_response_object (run2), "data");
    g_assert_cmpuint (json_array_get_length (data), ==, 1);
    g_assert_cmpint (ot_json_int (json_array_get_object_element (data, 0), "captured"), ==, 777);
    g_assert_cmpint (ot_json_int (json_array_get_object_element (data, 0), "commission"), ==, 19);
  }

  /* A day of refunds only: the commission comes back. Each run's commission
   * is rounded down with the rest carried to the next run, so over the
   * three runs it is the floor of the exact total, 2.5% of 16,112 = 402.8:
   * 408 + 19 - 25 = 402 (rounded apart, 408 + 19 - 24 = 403). */
  {
    g_autofree char *refund = g_strdup_printf ("{\"payment\": \"%s\", \"amount\": 999}",
                                               ot_json_string (p2, "id"));
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/refunds", mall, NULL, refund);
    g_autofree char *run_body = g_strdup_printf ("{\"date\": \"%s\"}", date);
    g_autoptr(OtResponse) run = NULL;
    JsonObject *neg;

    /* The payment was settled: its refund takes the payable below zero,
     * what the merchant owes back, and the books still balance. */
    ot_assert_status (r, 200);
    json_object_unref (ot_assert_audit_balanced (gw));
    run = ot_request (gw, "POST", "/v1/admin/settlements", ot_gateway_admin_token (gw), NULL,
                      run_body);
    ot_assert_status (run, 200);
    neg = json_array_get_object_element (ot_json_array (ot_response_object (run), "data"), 0);
    g_assert_cmpint (ot_json_int (neg, "refunded"), ==, 999);
    g_assert_cmpint (ot_json_int (neg, "commission"), ==, -25);    /* -24.975 + 0.775 */
    g_assert_cmpint (ot_json_int (neg, "net"), ==, -974);
  }
  json_object_unref (ot_assert_audit_balanced (gw));

  /* A merchant sees its own settlements and files, not another's. */
  g_free (path);
  path = g_strdup_printf ("/v1/settlements?date=%s", date);
  own = get_json (path, mall);
  g_assert_cmpuint (json_array_get_length (ot_json_array (own, "data")), ==, 3);
  g_free (path);
  path = g_strdup_printf ("/v1/settlements/%s?format=csv", ot_json_string (s, "id"));
  foreign = ot_request (gw, "GET", path, mall, NULL, NULL);
  ot_assert_error (foreign, 404, "invalid_request_error", "resource_missing");
  {
    const char *mine = ot_json_string (json_array_get_object_element (ot_json_array (own, "data"),
                                                                      0), "id");
    g_autofree char *csv_path = g_strdup_printf ("/v1/settlements/%s?format=csv", mine);
    g_autofree char *json_path = g_strdup_printf ("/v1/settlements/%s?format=json", mine);
    g_autoptr(OtResponse) csv = ot_request (gw, "GET", csv_path, mall, NULL, NULL);
    g_autoptr(OtResponse) json = ot_request (gw, "GET", json_path, mall, NULL, NULL);

    ot_assert_status (csv, 200);
    g_assert_true (g_str_has_prefix (csv->body, "date,type,reference,"));
    ot_assert_status (json, 200);
    g_assert_cmpstr (ot_json_string (ot_response_object (json), "id"), ==, mine);
  }

  (void) idle;
  (void) p3;
  remove_dir (out_dir);
}

static gint64
count_pools (void)
{
  g_autofree char *path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 n;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT COUNT(*) FROM phone_pools", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

/* Writes @sql into the gateway's database beside it (WAL: the gateway's
 * writer waits for it like for any other). */
static void
db_exec (const char *sql)
{
  g_autofree char *path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

/* What the settlements of @date hold for @merchant_id: 0 if none. */
static gint64
settled_on (const char *date,
            const char *merchant_id)
{
  g_autofree char *body = g_strdup_printf ("{\"date\": \"%s\"}", date);
  g_autoptr(OtResponse) run = ot_request (gw, "POST", "/v1/admin/settlements",
                                          ot_gateway_admin_token (gw), NULL, body);
  g_autofree char *path = g_strdup_printf ("/v1/admin/settlements?date=%s", date);
  g_autoptr(JsonObject) day = NULL;
  JsonObject *mine;

  ot_assert_status (run, 200);
  day = get_json (path, ot_gateway_admin_token (gw));
  mine = settlement_of (ot_json_array (day, "data"), merchant_id);
  return mine != NULL ? ot_json_int (mine, "captured") : 0;
}

/* A payment whose entry is dated a day before the one written just before
 * it (the wall clock stepped back between them) is settled, late rather
 * than never: each run settles lines up to the first one past its day. */
static void
test_clock_stepped_back (void)
{
  g_autofree char *mall_id = NULL;
  g_autofree char *mall = pt_create_merchant (gw, "Clock Mall", "shopping", &mall_id);
  g_autoptr(OtCard) card = ot_new_card (gw, 50000, "2580");
  g_autoptr(JsonObject) first = ot_pay (gw, mall, card->number, "2580", 1000, TRUE);
  g_autoptr(JsonObject) second = ot_pay (gw, mall, card->number, "2580", 2000, TRUE);
  g_autoptr(GTimeZone) tz = g_time_zone_new_offset (9 * 3600);
  g_autoptr(GDateTime) now = g_date_time_new_now (tz);
  g_autoptr(GDateTime) before = g_date_time_add_days (now, -1);
  g_autofree char *yesterday = g_date_time_format (before, "%Y-%m-%d");
  g_autofree char *date = today ();
  g_autofree char *sql = g_strdup_printf ("UPDATE journal_entries SET created = created - 86400"
                                          " WHERE payment_id = '%s'",
                                          ot_json_string (second, "id"));
  gint64 on_yesterday, on_today;

  db_exec (sql);
  on_yesterday = settled_on (yesterday, mall_id);
  on_today = settled_on (date, mall_id);
  g_test_message ("settled %" G_GINT64_FORMAT " on %s, %" G_GINT64_FORMAT " on %s",
                  on_yesterday, yesterday, on_today, date);
  g_assert_cmpint (on_yesterday + on_today, ==, 3000);
  g_assert_cmpint (on_today, ==, 3000);
  (void) first;
}

/* A file that cannot be written is found out before the pool is made:
 * its numbers and secrets would be lost for good. */
static void
pool_file_unwritable (const char *agent_id)
{
  const char *argv[] = {
    g_getenv ("ONEPIN_ADMIN"), "pool", "--data-dir", ot_gateway_data_dir (gw),
    "--seller", agent_id, "--kind", "agent", "--value", "20000", "--count", "2",
    "--out", "/nonexistent-onepin-dir/print.csv", NULL,
  };
  gint64 before = count_pools ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err,
                               &status, NULL));
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpint (count_pools (), ==, before);
}

/* The printed form of a number or secret: digits in groups of 4, which a
 * spreadsheet keeps as text. */
static char *
digits_of (const char *grouped)
{
  GString *digits = g_string_new (NULL);

  for (guint i = 0; grouped[i] != '\0'; i++)
    {
      if (i % 5 == 4)
        g_assert_cmpint (grouped[i], ==, ' ');
      else
        {
          g_assert_true (g_ascii_isdigit (grouped[i]));
          g_string_append_c (digits, grouped[i]);
        }
    }
  return g_string_free (digits, FALSE);
}

/* Sells the card of the pool file's @row and checks its secret and value. */
static void
assert_row_sells (const char *agent,
                  const char *row,
                  gint64      value)
{
  g_auto(GStrv) cells = g_strsplit (row, ",", -1);
  g_autofree char *number = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *body = NULL;
  g_autofree char *value_text = g_strdup_printf ("%" G_GINT64_FORMAT, value);
  g_autoptr(OtResponse) sale = NULL;

  g_assert_cmpuint (g_strv_length (cells), ==, 4);
  /* Grouped by 4: a spreadsheet neither rounds 16 digits nor drops a
   * secret's leading zeros. */
  g_assert_cmpuint (strlen (cells[1]), ==, 19);
  g_assert_cmpuint (strlen (cells[2]), ==, 14);
  number = digits_of (cells[1]);
  secret = digits_of (cells[2]);
  body = g_strdup_printf ("{\"number\": \"%s\"}", number);
  sale = ot_request (gw, "POST", "/v1/agent/cards/activate", agent, NULL, body);
  g_assert_true (ot_luhn_valid (number));
  g_assert_cmpstr (cells[3], ==, value_text);
  ot_assert_status (sale, 200);
  ot_assert_card_balance (gw, number, secret, value, value);
}

/* onepin-admin pool: the agent's cards to print, with their secrets. */
static void
test_pool_file (void)
{
  g_autofree char *agent_id = NULL;
  g_autofree char *agent = pt_create_merchant (gw, "Kiosk", "card_agent", &agent_id);
  g_autofree char *dir = g_dir_make_tmp ("onepin-pool-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "print.csv", NULL);
  g_autofree char *said = admin ("pool", "--seller", agent_id, "--kind", "agent", "--value",
                                 "20000", "--count", "3", "--out", file, NULL);
  g_autofree char *csv = NULL;
  g_auto(GStrv) rows = NULL;
  GStatBuf st;

  g_assert_nonnull (strstr (said, "3 numbers of 20000 won"));
  g_assert_true (g_file_get_contents (file, &csv, NULL, NULL));
  g_assert_cmpint (g_stat (file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  rows = g_strsplit (csv, "\r\n", -1);
  g_assert_cmpstr (rows[0], ==, "seq,number,secret,value");
  for (guint i = 1; i <= 3; i++)
    assert_row_sells (agent, rows[i], 20000);
  g_unlink (file);
  g_rmdir (dir);
  pool_file_unwritable (agent_id);
}

static void
no_xfsz (gpointer data)
{
  struct rlimit limit = { 64, 64 };

  (void) data;
  signal (SIGXFSZ, SIG_IGN);
  setrlimit (RLIMIT_FSIZE, &limit);
}

/* Runs onepin-admin with @argv (after the program), through /bin/sh when
 * @shell_tail is given; returns its exit code. */
static int
admin_run (const char  *const *args,
           GSpawnChildSetupFunc setup,
           char       **out,
           char       **err)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_ptr_array_add (argv, (char *) g_getenv ("ONEPIN_ADMIN"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, 0, setup, NULL, out, err,
                               &status, &error));
  g_test_message ("onepin-admin: %s%s", *out, *err);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

/* A pool file is never written over (its secrets are nowhere else), and a
 * refused pool leaves no file behind. */
static void
test_pool_no_overwrite (void)
{
  g_autofree char *agent_id = NULL;
  g_autofree char *agent = pt_create_merchant (gw, "Kiosk 2", "card_agent", &agent_id);
  g_autofree char *dir = g_dir_make_tmp ("onepin-pool-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "print.csv", NULL);
  g_autofree char *other = g_build_filename (dir, "other.csv", NULL);
  const char *again[] = { "pool", "-d", ot_gateway_data_dir (gw), "--seller", agent_id,
                          "--kind", "agent", "--value", "7000", "--count", "2", "--out", file,
                          NULL };
  const char *refused[] = { "pool", "-d", ot_gateway_data_dir (gw), "--seller", agent_id,
                            "--kind", "nosuch", "--value", "7000", "--count", "2", "--out",
                            other, NULL };
  g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL, *text = NULL;
  gint64 before = count_pools ();

  g_assert_true (g_file_set_contents (file, "the earlier pool\r\n", -1, NULL));
  g_assert_cmpint (admin_run (again, NULL, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "exists"));
  g_assert_true (g_file_get_contents (file, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "the earlier pool\r\n");
  g_assert_cmpint (count_pools (), ==, before);

  g_assert_cmpint (admin_run (refused, NULL, &out2, &err2), ==, 2);
  g_assert_false (g_file_test (other, G_FILE_TEST_EXISTS));
  g_assert_cmpint (count_pools (), ==, before);
  g_unlink (file);
  g_rmdir (dir);
}

/* The pool is made but its file cannot be written: the tool says the pool's
 * id and its Idempotency-Key, and the same key fetches the same pool again
 * into a new file. */
static void
test_pool_lost_answer (void)
{
  g_autofree char *agent_id = NULL;
  g_autofree char *agent = pt_create_merchant (gw, "Kiosk 3", "card_agent", &agent_id);
  g_autofree char *dir = g_dir_make_tmp ("onepin-pool-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "print.csv", NULL);
  g_autofree char *again = g_build_filename (dir, "again.csv", NULL);
  const char *first[] = { "pool", "-d", ot_gateway_data_dir (gw), "--seller", agent_id,
                          "--kind", "agent", "--value", "5000", "--count", "3", "--out", file,
                          NULL };
  g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL, *csv = NULL;
  g_autofree char *key = NULL;
  g_auto(GStrv) rows = NULL;
  const char *at;
  gint64 before = count_pools ();

  g_assert_cmpint (admin_run (first, no_xfsz, &out, &err), ==, 1);
  g_assert_cmpint (count_pools (), ==, before + 1);
  g_assert_nonnull (strstr (err, "pool_"));
  at = strstr (err, "--idempotency-key ");
  g_assert_nonnull (at);
  at += strlen ("--idempotency-key ");
  key = g_strndup (at, strcspn (at, " \n"));
  g_assert_cmpuint (strlen (key), >, 16);
  {
    const char *recover[] = { "pool", "-d", ot_gateway_data_dir (gw), "--seller", agent_id,
                              "--kind", "agent", "--value", "5000", "--count", "3",
                              "--idempotency-key", key, "--out", again, NULL };

    g_assert_cmpint (admin_run (recover, NULL, &out2, &err2), ==, 0);
  }
  g_assert_cmpint (count_pools (), ==, before + 1);
  g_assert_true (g_file_get_contents (again, &csv, NULL, NULL));
  rows = g_strsplit (csv, "\r\n", -1);
  g_assert_cmpuint (g_strv_length (rows), ==, 5);
  assert_row_sells (agent, rows[1], 5000);
  g_unlink (file);
  g_unlink (again);
  g_rmdir (dir);
}

/* Arguments are checked before the gateway is reached; the gateway's refusal
 * of an argument is a usage error too (2); stdout that cannot be written is
 * a failure (1). */
static void
test_admin_arguments (void)
{
  g_autofree char *agent_id = NULL;
  g_autofree char *agent = pt_create_merchant (gw, "Kiosk 4", "card_agent", &agent_id);
  g_autofree char *token = g_build_filename (ot_gateway_data_dir (gw), "admin.token", NULL);
  g_autofree char *url_file = g_build_filename (ot_gateway_data_dir (gw), "gateway.url", NULL);
  g_autofree char *url = NULL;
  g_autofree char *slash = NULL;
  g_autofree char *month = pt_this_month ();
  g_autofree char *odd_seller = g_strdup_printf ("%s&month=2020-01", agent_id);
  const char *bare[] = { "settle", NULL };
  const char *nodir[] = { "settle", "-d", "/nonexistent-onepin", "--date", "2026-01-01", NULL };
  const char *bad_date[] = { "settle", "-d", ot_gateway_data_dir (gw), "--date", "2026-02-30",
                             NULL };
  const char *odd[] = { "statement", "-d", ot_gateway_data_dir (gw), "--seller", odd_seller,
                        "--month", month, NULL };
  g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL, *o3 = NULL, *e3 = NULL;
  g_autofree char *o4 = NULL, *e4 = NULL, *o5 = NULL, *e5 = NULL, *o6 = NULL, *e6 = NULL;
  g_autofree char *script = NULL;
  int status = 0;

  g_assert_cmpint (admin_run (bare, NULL, &o1, &e1), ==, 2);
  g_assert_nonnull (strstr (e1, "settle needs --date"));
  g_assert_cmpint (admin_run (nodir, NULL, &o2, &e2), ==, 2);
  g_assert_nonnull (strstr (e2, "gateway.url"));
  g_assert_null (strstr (e2, "Give --data-dir"));
  g_assert_cmpint (admin_run (bad_date, NULL, &o3, &e3), ==, 2);
  /* The seller is one parameter, '&' and all: no such seller. */
  g_assert_cmpint (admin_run (odd, NULL, &o4, &e4), ==, 2);
  g_assert_null (strstr (e4, "parameter_invalid"));

  {
    g_autofree char *body = g_strdup_printf ("{\"merchant\": \"%s\", \"commission_bps\": 500}",
                                             agent_id);
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/phone/sellers",
                                          ot_gateway_admin_token (gw), NULL, body);

    ot_assert_status (r, 200);
  }
  g_assert_true (g_file_get_contents (url_file, &url, NULL, NULL));
  slash = g_strconcat (g_strstrip (url), "/", NULL);
  {
    const char *with_slash[] = { "statement", "--url", slash, "--token-file", token,
                                 "--seller", agent_id, "--month", month, NULL };

    g_assert_cmpint (admin_run (with_slash, NULL, &o5, &e5), ==, 0);
  }
  script = g_strdup_printf ("exec '%s' statement -d '%s' --seller %s --month %s > /dev/full",
                            g_getenv ("ONEPIN_ADMIN"), ot_gateway_data_dir (gw), agent_id, month);
  {
    const char *sh[] = { "/bin/sh", "-c", script, NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) sh, NULL, 0, NULL, NULL, &o6, &e6, &status,
                                 NULL));
  }
  g_test_message ("onepin-admin > /dev/full: %s", e6);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
}

static void
test_refusals (void)
{
  g_autoptr(OtResponse) bad = ot_request (gw, "POST", "/v1/admin/settlements",
                                          ot_gateway_admin_token (gw), NULL,
                                          "{\"date\": \"2026-02-30\"}");
  g_autoptr(OtResponse) future = ot_request (gw, "POST", "/v1/admin/settlements",
                                             ot_gateway_admin_token (gw), NULL,
                                             "{\"date\": \"2999-01-01\"}");
  g_autoptr(OtResponse) rate = ot_request (gw, "POST", "/v1/admin/merchants/mch_nosuch/commission",
                                           ot_gateway_admin_token (gw), NULL,
                                           "{\"commission_bps\": 10}");
  g_autoptr(OtResponse) too_much = ot_request (gw, "POST",
                                               "/v1/admin/merchants/mch_nosuch/commission",
                                               ot_gateway_admin_token (gw), NULL,
                                               "{\"commission_bps\": 10001}");
  g_autoptr(OtResponse) list = ot_request (gw, "GET", "/v1/admin/settlements?date=yesterday",
                                           ot_gateway_admin_token (gw), NULL, NULL);
  g_autoptr(OtResponse) none = ot_request (gw, "GET", "/v1/admin/settlements/stl_nosuch",
                                           ot_gateway_admin_token (gw), NULL, NULL);

  ot_assert_error (bad, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (future, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (rate, 404, "invalid_request_error", "resource_missing");
  ot_assert_error (too_much, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (list, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (none, 404, "invalid_request_error", "resource_missing");
}

/* The lists take date, a settlement format, each once with a value, and
 * nothing else: not the last of two dates, nor ?format read as JSON. */
static void
test_query (void)
{
  g_autofree char *mall = pt_create_merchant (gw, "Query Mall", "shopping", NULL);
  const char *admin_token = ot_gateway_admin_token (gw);
  const struct { const char *path; gboolean admin; const char *code; const char *param; } odd[] = {
    { "/v1/settlements?date", FALSE, "parameter_invalid", "date" },
    { "/v1/settlements?date=2026-01-01&date=2026-01-02", FALSE, "parameter_invalid", "date" },
    { "/v1/settlements?date=2026-01-01&merchant=mch_x", FALSE, "parameter_unknown", "merchant" },
    { "/v1/settlements/stl_x?date=2026-01-01", FALSE, "parameter_unknown", "date" },
    { "/v1/settlements/stl_x?format", FALSE, "parameter_invalid", "format" },
    { "/v1/admin/settlements?date=2026-01-01&format=csv", TRUE, "parameter_unknown", "format" },
    { "/v1/admin/settlements/stl_x?format=csv&format=json", TRUE, "parameter_invalid", "format" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (odd); i++)
    {
      g_autoptr(OtResponse) r = ot_request (gw, "GET", odd[i].path,
                                            odd[i].admin ? admin_token : mall, NULL, NULL);

      g_test_message ("GET %s", odd[i].path);
      ot_assert_error (r, 400, "invalid_request_error", odd[i].code);
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                       ==, odd[i].param);
    }
  {
    g_autoptr(OtResponse) day = ot_request (gw, "GET", "/v1/settlements?date=2026-01-01", mall,
                                            NULL, NULL);

    ot_assert_status (day, 200);
  }
}

/* A CSV file's rows and cells, read as RFC 4180 says: a quoted cell may hold
 * commas, CR, LF and doubled quotes. Each row ends in CRLF. */
static GPtrArray *
csv_rows (const char *text)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GPtrArray *row = NULL;
  const char *p = text;

  while (*p != '\0')
    {
      g_autoptr(GString) cell = g_string_new (NULL);

      if (row == NULL)
        row = g_ptr_array_new_with_free_func (g_free);
      if (*p == '"')
        {
          for (p++; !(*p == '"' && p[1] != '"'); p++)
            {
              g_assert_cmpint (*p, !=, '\0');
              if (*p == '"')
                p++;
              g_string_append_c (cell, *p);
            }
          p++;
        }
      else
        for (; *p != ',' && *p != '\r' && *p != '\0'; p++)
          {
            g_assert_cmpint (*p, !=, '"');
            g_assert_cmpint (*p, !=, '\n');
            g_string_append_c (cell, *p);
          }
      g_ptr_array_add (row, g_string_free (g_steal_pointer (&cell), FALSE));
      if (*p == ',')
        p++;
      else
        {
          g_assert_true (g_str_has_prefix (p, "\r\n"));
          p += 2;
          g_ptr_array_add (rows, g_steal_pointer (&row));
        }
    }
  g_assert_null (row);
  return rows;
}

static const char *
csv_cell (GPtrArray *rows,
          guint      row,
          guint      column)
{
  GPtrArray *cells = g_ptr_array_index (rows, row);

  g_assert_cmpuint (column, <, cells->len);
  return g_ptr_array_index (cells, column);
}

/* A merchant's order ids are its own text: a spreadsheet opening the file
 * must not take one for a formula (OWASP, CSV injection), and the cell must
 * still read back as what was sent. The amounts, negative ones included,
 * stay plain numbers. */
static void
test_csv_formulas (void)
{
  const struct { const char *order_id; const char *cell; } orders[] = {
    { "=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")" },
    { "+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0" },
    { "-2+3", "'-2+3" },
    { "@SUM(1,2)", "'@SUM(1,2)" },
    { "\t=1", "'\t=1" },
    { "\r=1", "'\r=1" },
    { "a,b \"c\"\r\nd", "a,b \"c\"\r\nd" },
    { "order 17", "order 17" },
  };
  g_autofree char *mall_id = NULL;
  g_autofree char *mall = pt_create_merchant (gw, "Formula Mall", "shopping", &mall_id);
  g_autoptr(OtCard) card = ot_new_card (gw, 50000, "2580");
  g_autofree char *date = today ();
  g_autofree char *run_body = g_strdup_printf ("{\"date\": \"%s\"}", date);
  g_autofree char *refund = NULL, *path = NULL;
  g_autoptr(JsonObject) first = NULL;
  g_autoptr(OtResponse) ref = NULL, run = NULL, csv = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  JsonObject *s;
  guint n = G_N_ELEMENTS (orders);

  set_commission (mall_id, 1000);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JsonObject) p = ot_pay_order (gw, mall, card->number, "2580", 1000 + i, TRUE,
                                              orders[i].order_id);

      if (i == 0)
        first = json_object_ref (p);
    }
  refund = g_strdup_printf ("{\"payment\": \"%s\", \"amount\": 300}",
                            ot_json_string (first, "id"));
  ref = ot_request (gw, "POST", "/v1/refunds", mall, NULL, refund);
  ot_assert_status (ref, 200);
  run = ot_request (gw, "POST", "/v1/admin/settlements", ot_gateway_admin_token (gw), NULL,
                    run_body);
  ot_assert_status (run, 200);
  s = settlement_of (ot_json_array (ot_response_object (run), "data"), mall_id);
  g_assert_nonnull (s);
  path = g_strdup_printf ("/v1/settlements/%s?format=csv", ot_json_string (s, "id"));
  csv = ot_request (gw, "GET", path, mall, NULL, NULL);
  ot_assert_status (csv, 200);
  g_test_message ("%s", csv->body);

  /* The header, a line per payment in order, the refund, four totals. */
  rows = csv_rows (csv->body);
  g_assert_cmpuint (rows->len, ==, 1 + n + 1 + 4);
  g_assert_cmpstr (csv_cell (rows, 0, 3), ==, "order_id");
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *amount = g_strdup_printf ("%u", 1000 + i);

      g_test_message ("order id %u", i);
      g_assert_cmpstr (csv_cell (rows, 1 + i, 1), ==, "payment");
      g_assert_cmpstr (csv_cell (rows, 1 + i, 3), ==, orders[i].cell);
      g_assert_cmpstr (csv_cell (rows, 1 + i, 5), ==, amount);
    }
  g_assert_cmpstr (csv_cell (rows, 1 + n, 1), ==, "refund");
  g_assert_cmpstr (csv_cell (rows, 1 + n, 3), ==, orders[0].cell);
  g_assert_cmpstr (csv_cell (rows, 1 + n, 5), ==, "-300");
  g_assert_cmpstr (csv_cell (rows, 2 + n, 0), ==, "captured");
  g_assert_cmpstr (csv_cell (rows, 3 + n, 0), ==, "refunded");
  g_assert_cmpstr (csv_cell (rows, 3 + n, 5), ==, "-300");
  g_assert_cmpstr (csv_cell (rows, 4 + n, 0), ==, "commission");
  g_assert_true (g_str_has_prefix (csv_cell (rows, 4 + n, 5), "-"));
  g_assert_cmpstr (csv_cell (rows, 5 + n, 0), ==, "net_payable");
  /* No cell that is not a number or our own word starts a formula. */
  for (guint i = 1; i < rows->len; i++)
    for (guint j = 0; j < 5; j++)
      g_assert_null (strchr ("=+-@\t\r", csv_cell (rows, i, j)[0] ? csv_cell (rows, i, j)[0] : 'x'));
}

/* --value and --count are decimal digits only: "010" is not 8 (octal) nor
 * 10 (a typo, or a number from a spreadsheet that kept its padding), and
 * "0x10" is not 16. Each is refused as a usage error before any pool is
 * made or any file created. */
static void
test_admin_numbers (void)
{
  g_autofree char *agent_id = NULL;
  g_autofree char *agent = pt_create_merchant (gw, "Kiosk 5", "card_agent", &agent_id);
  g_autofree char *dir = g_dir_make_tmp ("onepin-pool-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "print.csv", NULL);
  const struct { const char *value; const char *count; } odd[] = {
    { "5000", "010" }, { "5000", "0x3" }, { "5000", "+3" }, { "5000", "-3" }, { "5000", " 3" },
    { "5000", "3 " }, { "5000", "3x" }, { "5000", "" }, { "5000", "0" },
    { "05000", "3" }, { "0x1388", "3" }, { "5e3", "3" }, { "5000.0", "3" },
    { "5000", "99999999999999999999" },
  };
  gint64 before = count_pools ();

  for (guint i = 0; i < G_N_ELEMENTS (odd); i++)
    {
      const char *args[] = { "pool", "-d", ot_gateway_data_dir (gw), "--seller", agent_id,
                             "--kind", "agent", "--value", odd[i].value, "--count",
                             odd[i].count, "--out", file, NULL };
      g_autofree char *out = NULL, *err = NULL;

      g_test_message ("--value '%s' --count '%s'", odd[i].value, odd[i].count);
      g_assert_cmpint (admin_run (args, NULL, &out, &err), ==, 2);
      g_assert_nonnull (strstr (err, "decimal"));
      g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));
      g_assert_cmpint (count_pools (), ==, before);
    }
  g_rmdir (dir);
}

/* A token file must hold one token, as the gateway's own admin.token does: a
 * second line, a control character or nothing at all is refused (2), before
 * any request, without its text in the message; so is a file others can
 * read. A final line break is the file's, not the token's. */
static void
test_admin_token_file (void)
{
  g_autofree char *agent_id = NULL;
  g_autofree char *agent = pt_create_merchant (gw, "Kiosk 6", "card_agent", &agent_id);
  g_autofree char *url_file = g_build_filename (ot_gateway_data_dir (gw), "gateway.url", NULL);
  g_autofree char *month = pt_this_month ();
  g_autofree char *dir = g_dir_make_tmp ("onepin-token-XXXXXX", NULL);
  g_autofree char *token_file = g_build_filename (dir, "token", NULL);
  g_autofree char *url = NULL;
  g_autofree char *good = g_strdup_printf ("%s\n", ot_gateway_admin_token (gw));
  g_autofree char *two_lines = g_strdup_printf ("%s\nsecondline", ot_gateway_admin_token (gw));
  g_autofree char *cr = g_strdup_printf ("%s\rsecondline\n", ot_gateway_admin_token (gw));
  g_autofree char *tab = g_strdup_printf ("%s\tsecondline", ot_gateway_admin_token (gw));
  const char *bad[] = { two_lines, cr, tab, "", "\n", "adm_\x1b[2Jsecondline" };

  g_assert_true (g_file_get_contents (url_file, &url, NULL, NULL));
  g_strstrip (url);
  {
    g_autofree char *body = g_strdup_printf ("{\"merchant\": \"%s\", \"commission_bps\": 500}",
                                             agent_id);
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/phone/sellers",
                                          ot_gateway_admin_token (gw), NULL, body);

    ot_assert_status (r, 200);
  }
  {
    const char *args[] = { "statement", "--url", url, "--token-file", token_file,
                           "--seller", agent_id, "--month", month, NULL };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autofree char *out = NULL, *err = NULL;

        g_test_message ("token file %u", i);
        g_assert_true (g_file_set_contents_full (token_file, bad[i], -1,
                                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
        g_assert_cmpint (admin_run (args, NULL, &out, &err), ==, 2);
        g_assert_nonnull (strstr (err, token_file));
        g_assert_nonnull (strstr (err, "one line"));
        g_assert_null (strstr (err, "secondline"));
        g_assert_null (strstr (err, "CRITICAL"));
        g_assert_null (strstr (err, ot_gateway_admin_token (gw)));
      }
    {
      g_autofree char *out = NULL, *err = NULL;

      g_assert_true (g_file_set_contents_full (token_file, good, -1,
                                               G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
      g_assert_cmpint (admin_run (args, NULL, &out, &err), ==, 0);
    }
  {
    const char *args[] = { "statement", "--url", url, "--token-file", token_file,
                           "--seller", agent_id, "--month", month, NULL };
    g_autofree char *out = NULL, *err = NULL;

    /* A token others can read is no longer the admin's alone. */
    g_assert_cmpint (g_chmod (token_file, 0644), ==, 0);
    g_assert_cmpint (admin_run (args, NULL, &out, &err), ==, 2);
    g_assert_nonnull (strstr (err, "0600"));
    }
  }
  g_unlink (token_file);
  g_rmdir (dir);
}

/* A server that answers every request 200 with one body: the gateway gone
 * wrong, or a --url that names another server. With @handler, it plays a
 * gateway that fails on its own terms. */
typedef struct
{
  GMainContext       *context;
  GMainLoop          *loop;
  SoupServer         *server;
  GThread            *thread;
  const char         *body;
  SoupServerCallback  handler;
  const char         *fail_path;   /* the path the handler answers 500 */
  gboolean            redirected;  /* a request followed a redirect */
  char               *url;
  GMutex              lock;
  GCond               ready;
} OddServer;

static void
odd_handle (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           data)
{
  OddServer *odd = data;

  ot_reply_json (msg, 200, odd->body);
}

static gpointer
odd_run (gpointer data)
{
  OddServer *odd = data;
  g_autoptr(GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (odd->context);
  odd->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (odd->server, NULL, odd->handler ? odd->handler : odd_handle, odd,
                           NULL);
  g_assert_true (soup_server_listen_local (odd->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  uris = soup_server_get_uris (odd->server);
  g_mutex_lock (&odd->lock);
  odd->url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_cond_signal (&odd->ready);
  g_mutex_unlock (&odd->lock);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  g_main_loop_run (odd->loop);
  soup_server_disconnect (odd->server);
  g_clear_object (&odd->server);
  g_main_context_pop_thread_default (odd->context);
  return NULL;
}

static void
odd_start (OddServer  *odd,
           const char *body)
{
  g_mutex_init (&odd->lock);
  g_cond_init (&odd->ready);
  if (body != NULL)
    odd->body = body;
  odd->context = g_main_context_new ();
  odd->loop = g_main_loop_new (odd->context, FALSE);
  g_mutex_lock (&odd->lock);
  odd->thread = g_thread_new ("odd-server", odd_run, odd);
  while (odd->url == NULL)
    g_cond_wait (&odd->ready, &odd->lock);
  g_mutex_unlock (&odd->lock);
}

static gboolean
odd_quit (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
odd_stop (OddServer *odd)
{
  g_main_context_invoke (odd->context, odd_quit, odd->loop);
  g_thread_join (odd->thread);
  g_main_loop_unref (odd->loop);
  g_main_context_unref (odd->context);
  g_free (odd->url);
  g_mutex_clear (&odd->lock);
  g_cond_clear (&odd->ready);
}

/* An answer of the wrong shape is a failure (1) with a plain message: no
 * "Settled 0 merchants", no empty summary, no header-only pool file, and no
 * file named after what the server said. */
static void
test_admin_odd_answer (void)
{
  static const char *bodies[] = {
    "{}",
    "{\"data\": {}}",
    "{\"data\": [1]}",
    "{\"data\": [{\"id\": \"../../escape\", \"merchant\": \"mch_x\", \"payments\": 1, "
    "\"captured\": 1, \"refunds\": 0, \"refunded\": 0, \"commission\": 0, \"net\": 1}]}",
    "{\"data\": [{\"id\": \"stl_x\", \"merchant\": \"mch_x\", \"payments\": \"1\"}]}",
    "{\"id\": \"pool_x\", \"numbers\": [{\"seq\": 1}]}",
    "{\"id\": \"pool_x\", \"numbers\": [{\"seq\": 1, \"number\": \"=1+2\"}]}",
    "{\"id\": \"pool_x\", \"numbers\": [{\"seq\": 1, \"number\": \"941067556918\", "
    "\"secret\": \"1 2\"}]}",
    "{\"id\": \"pool_x\", \"numbers\": [{\"seq\": 1, \"number\": \"941067556918\"}, "
    "{\"seq\": 2, \"number\": \"941067556919\"}]}",
  };
  g_autofree char *token = g_build_filename (ot_gateway_data_dir (gw), "admin.token", NULL);
  g_autofree char *dir = g_dir_make_tmp ("onepin-odd-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "print.csv", NULL);
  g_autofree char *day = g_build_filename (dir, "2026-01-01", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      OddServer odd = { 0 };
      g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL;

      g_test_message ("answer %s", bodies[i]);
      odd_start (&odd, bodies[i]);
      {
        const char *settle[] = { "settle", "--url", odd.url, "--token-file", token, "--date",
                                 "2026-01-01", "--out", dir, NULL };
        const char *pool[] = { "pool", "--url", odd.url, "--token-file", token, "--seller",
                               "mch_x", "--value", "5000", "--count", "1", "--out", file, NULL };

        g_assert_cmpint (admin_run (settle, NULL, &o1, &e1), ==, 1);
        g_assert_nonnull (strstr (e1, "unexpected answer"));
        g_assert_null (strstr (e1, "CRITICAL"));
        g_assert_null (strstr (o1, "Settled"));
        g_assert_false (g_file_test (day, G_FILE_TEST_EXISTS));
        g_assert_cmpint (admin_run (pool, NULL, &o2, &e2), ==, 1);
        g_assert_nonnull (strstr (e2, "unexpected answer"));
        g_assert_null (strstr (e2, "CRITICAL"));
        g_assert_null (strstr (o2, "Pool"));
        g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));
      }
      odd_stop (&odd);
    }
  g_assert_true (g_rmdir (dir) == 0);
}

/* The admin token goes in the clear only to this computer: a plain http://
 * URL of any other host, a name even ("localhost" is what the resolver
 * says), is refused (2) before anything is sent, without the token in the
 * message; http://127.0.0.1 and https:// are let be. */
static void
test_admin_plain_http (void)
{
  g_autofree char *token = g_build_filename (ot_gateway_data_dir (gw), "admin.token", NULL);
  g_autofree char *url_file = g_build_filename (ot_gateway_data_dir (gw), "gateway.url", NULL);
  g_autofree char *url = NULL;
  g_autofree char *localhost = NULL;
  g_autofree char *month = pt_this_month ();
  g_autofree char *agent_id = NULL;
  g_autofree char *agent = pt_create_merchant (gw, "Kiosk 7", "card_agent", &agent_id);
  g_autofree char *body = g_strdup_printf ("{\"merchant\": \"%s\", \"commission_bps\": 500}",
                                           agent_id);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/phone/sellers",
                                        ot_gateway_admin_token (gw), NULL, body);
  g_autoptr(GUri) uri = NULL;

  ot_assert_status (r, 200);
  g_assert_true (g_file_get_contents (url_file, &url, NULL, NULL));
  g_strstrip (url);
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  localhost = g_strdup_printf ("http://localhost:%d", g_uri_get_port (uri));
  {
    const char *refused[] = { "http://example.invalid:1/", "HTTP://example.invalid:1",
                              "http://10.0.0.1:1", "http://[fe80::1]:1", localhost,
                              "ftp://127.0.0.1:1", "http://user:pw@127.0.0.1:1",
                              "127.0.0.1:1", "http://:1" };

    for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
      {
        const char *args[] = { "statement", "--url", refused[i], "--token-file", token,
                               "--seller", agent_id, "--month", month, NULL };
        g_autofree char *out = NULL, *err = NULL;

        g_test_message ("--url %s", refused[i]);
        g_assert_cmpint (admin_run (args, NULL, &out, &err), ==, 2);
        g_assert_nonnull (strstr (err, "https://"));
        g_assert_null (strstr (err, ot_gateway_admin_token (gw)));
        g_assert_null (strstr (err, "pw"));
        g_assert_cmpstr (out, ==, "");
      }
  }
  {
    const char *args[] = { "statement", "--url", url, "--token-file", token,
                           "--seller", agent_id, "--month", month, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (admin_run (args, NULL, &out, &err), ==, 0);
  }
  {
    /* Allowed, so tried: nothing listens there, a failure (1), not a refusal. */
    const char *args[] = { "statement", "--url", "http://[::1]:1", "--token-file", token,
                           "--seller", agent_id, "--month", month, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (admin_run (args, NULL, &out, &err), ==, 1);
  }
}

/* Plays a gateway whose day has two settlements, and answers 500 for
 * @fail_path, if set. */
static void
day_handle (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           data)
{
  OddServer *odd = data;
  static const char list[] =
    "{\"data\": [{\"id\": \"stl_a\", \"merchant\": \"mch_a\", \"payments\": 1, \"captured\": "
    "1000, \"refunds\": 0, \"refunded\": 0, \"commission\": 10, \"net\": 990}, {\"id\": "
    "\"stl_b\", \"merchant\": \"mch_b\", \"payments\": 1, \"captured\": 2000, \"refunds\": 0, "
    "\"refunded\": 0, \"commission\": 20, \"net\": 1980}]}";

  if (odd->fail_path != NULL && g_str_equal (path, odd->fail_path))
    ot_reply_json (msg, 500, "{}");
  else if (g_str_equal (path, "/v1/admin/settlements"))
    ot_reply_json (msg, 200, list);
  else
    soup_server_message_set_response (msg, "text/csv", SOUP_MEMORY_STATIC, "date,amount\r\n",
                                      strlen ("date,amount\r\n")),
    soup_server_message_set_status (msg, 200, NULL);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* @path's entries, sorted, one space apart. */
static char *
dir_names (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

/* settle writes the day's files all or none: a gateway that fails on the
 * second settlement's CSV, or on the summary's list, leaves the day's dir as
 * it was (here, an earlier run's summary), with no partial file and no
 * temporary one; a whole run leaves the files and nothing else. */
static void
test_admin_settle_partial (void)
{
  const char *fail_paths[] = { "/v1/admin/settlements/stl_b", "/v1/admin/settlements/stl_a" };
  g_autofree char *token = g_build_filename (ot_gateway_data_dir (gw), "admin.token", NULL);
  g_autofree char *dir = g_dir_make_tmp ("onepin-settle-XXXXXX", NULL);
  g_autofree char *day = g_build_filename (dir, "2026-01-01", NULL);
  g_autofree char *summary = g_build_filename (day, "summary.csv", NULL);

  g_assert_cmpint (g_mkdir (day, 0700), ==, 0);
  g_assert_true (g_file_set_contents (summary, "earlier\r\n", -1, NULL));
  for (guint i = 0; i <= G_N_ELEMENTS (fail_paths); i++)
    {
      OddServer odd = { .handler = day_handle };
      g_autofree char *out = NULL, *err = NULL, *names = NULL, *text = NULL;

      odd.fail_path = i < G_N_ELEMENTS (fail_paths) ? fail_paths[i] : NULL;
      g_test_message ("failing %s", odd.fail_path);
      odd_start (&odd, NULL);
      {
        const char *settle[] = { "settle", "--url", odd.url, "--token-file", token, "--date",
                                 "2026-01-01", "--out", dir, NULL };

        g_assert_cmpint (admin_run (settle, NULL, &out, &err), ==, odd.fail_path ? 1 : 0);
      }
      odd_stop (&odd);
      names = dir_names (day);
      g_assert_true (g_file_get_contents (summary, &text, NULL, NULL));
      if (odd.fail_path != NULL)
        {
          g_assert_cmpstr (names, ==, "summary.csv");
          g_assert_cmpstr (text, ==, "earlier\r\n");
        }
      else
        {
          g_assert_cmpstr (names, ==, "mch_a-stl_a.csv mch_b-stl_b.csv summary.csv");
          g_assert_nonnull (strstr (text, "mch_b,stl_b,1,2000,0,0,20,1980\r\n"));
        }
    }
  remove_dir (dir);
}

/* Runs settle for 2026-01-01 into @dir against the played gateway @url;
 * returns its exit status and its stdout and stderr joined. */
static int
settle_day (const char  *url,
            const char  *dir,
            char       **output)
{
  g_autofree char *token = g_build_filename (ot_gateway_data_dir (gw), "admin.token", NULL);
  const char *settle[] = { "settle", "--url", url, "--token-file", token, "--date",
                           "2026-01-01", "--out", dir, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = admin_run (settle, NULL, &out, &err);

  *output = g_strconcat (out, err, NULL);
  return status;
}

/* A run killed between writing its temporary files and renaming them
 * leaves them in the day's dir: the next run removes them (and only
 * them: an operator's own files, hidden or not, stay, even one named as
 * mkstemp would, as the temporary files were before). A second run for
 * the same day while one holds the day's lock is refused at once, and
 * writes nothing. */
static void
test_admin_settle_leftovers (void)
{
  g_autofree char *dir = g_dir_make_tmp ("onepin-settle-XXXXXX", NULL);
  g_autofree char *day = g_build_filename (dir, "2026-01-01", NULL);
  const char *kept[] = { "notes.txt", ".notes.txt", ".summary.csv.bak", ".summary.csv.Ab12Cd",
                         ".summary.csv.partial-Ab12C" };
  const char *leftovers[] = { ".summary.csv.partial-Ab12Cd", ".mch_a-stl_a.csv.partial-XyZ987" };
  OddServer odd = { .handler = day_handle };
  g_autofree char *output = NULL;
  g_autofree char *names = NULL;
  int fd;

  g_assert_cmpint (g_mkdir (day, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (kept); i++)
    {
      g_autofree char *path = g_build_filename (day, kept[i], NULL);

      g_assert_true (g_file_set_contents (path, "mine\n", -1, NULL));
    }
  for (guint i = 0; i < G_N_ELEMENTS (leftovers); i++)
    {
      g_autofree char *path = g_build_filename (day, leftovers[i], NULL);

      g_assert_true (g_file_set_contents (path, "half", -1, NULL));
    }
  odd_start (&odd, NULL);

  fd = g_open (day, O_RDONLY | O_DIRECTORY, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (flock (fd, LOCK_EX | LOCK_NB), ==, 0);
  g_assert_cmpint (settle_day (odd.url, dir, &output), ==, 1);
  g_assert_nonnull (strstr (output, "Another onepin-admin settle is writing"));
  names = dir_names (day);
  g_assert_cmpstr (names, ==, ".mch_a-stl_a.csv.partial-XyZ987 .notes.txt .summary.csv.Ab12Cd "
                   ".summary.csv.bak .summary.csv.partial-Ab12C .summary.csv.partial-Ab12Cd "
                   "notes.txt");
  close (fd);
  g_clear_pointer (&output, g_free);
  g_clear_pointer (&names, g_free);

  g_assert_cmpint (settle_day (odd.url, dir, &output), ==, 0);
  g_assert_nonnull (strstr (output, "Removed 2 unfinished files"));
  names = dir_names (day);
  g_assert_cmpstr (names, ==, ".notes.txt .summary.csv.Ab12Cd .summary.csv.bak "
                   ".summary.csv.partial-Ab12C mch_a-stl_a.csv mch_b-stl_b.csv notes.txt "
                   "summary.csv");
  odd_stop (&odd);
  remove_dir (dir);
}

/* Plays a gateway that redirects: the admin token is not taken anywhere
 * else, even on the same server. */
static void
redirect_handle (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           data)
{
  OddServer *odd = data;

  if (g_str_equal (path, "/elsewhere/v1/admin/phone/statements"))
    {
      odd->redirected = TRUE;
      soup_server_message_set_response (msg, "text/csv", SOUP_MEMORY_STATIC, "x\r\n", 3);
      soup_server_message_set_status (msg, 200, NULL);
      return;
    }
  soup_server_message_set_redirect (msg, 307, "/elsewhere/v1/admin/phone/statements?seller=x");
}

static void
test_admin_redirect (void)
{
  g_autofree char *token = g_build_filename (ot_gateway_data_dir (gw), "admin.token", NULL);
  OddServer odd = { .handler = redirect_handle };
  g_autofree char *out = NULL, *err = NULL;

  odd_start (&odd, NULL);
  {
    const char *args[] = { "statement", "--url", odd.url, "--token-file", token,
                           "--seller", "mch_x", "--month", "2026-01", NULL };

    g_assert_cmpint (admin_run (args, NULL, &out, &err), ==, 1);
  }
  odd_stop (&odd);
  g_assert_false (odd.redirected);
  g_assert_nonnull (strstr (err, "307"));
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  gw = pt_start ();
  g_test_add_func ("/settlement/day", test_day);
  g_test_add_func ("/settlement/pool-file", test_pool_file);
  g_test_add_func ("/settlement/pool-no-overwrite", test_pool_no_overwrite);
  g_test_add_func ("/settlement/pool-lost-answer", test_pool_lost_answer);
  g_test_add_func ("/settlement/admin-arguments", test_admin_arguments);
  g_test_add_func ("/settlement/admin-numbers", test_admin_numbers);
  g_test_add_func ("/settlement/admin-token-file", test_admin_token_file);
  g_test_add_func ("/settlement/admin-odd-answer", test_admin_odd_answer);
  g_test_add_func ("/settlement/admin-plain-http", test_admin_plain_http);
  g_test_add_func ("/settlement/admin-settle-partial", test_admin_settle_partial);
  g_test_add_func ("/settlement/admin-settle-leftovers", test_admin_settle_leftovers);
  g_test_add_func ("/settlement/admin-redirect", test_admin_redirect);
  g_test_add_func ("/settlement/refusals", test_refusals);
  g_test_add_func ("/settlement/query", test_query);
  g_test_add_func ("/settlement/csv-formulas", test_csv_formulas);
  g_test_add_func ("/settlement/clock-stepped-back", test_clock_stepped_back);
  status = g_test_run ();
  pt_stop (gw);
  return status;
}
