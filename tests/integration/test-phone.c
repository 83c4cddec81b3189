/* test-phone.c: online charging for softswitches, against the real gateway
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A switch opens a session per call, reports the seconds used and ends it;
 * the card pays through holds and journal entries. Every test ends with the
 * ledger audit.
 */
#include <sqlite3.h>
#include <string.h>

#include "onepin-test-bank.h"
#include "onepin-test-gateway.h"
#include "onepin-test-wallet.h"

/* Quick wallet passwords: the calling-number tests make wallet users. */
#define PHONE_CONFIG "[wallet]\npbkdf2_iterations=2000\nkdf_per_minute=100000\n"

static OtBank *bank;      /* wallets charge their cards from it */
static OtGateway *gw;
static char *switch_key;
static char *mall_key;

/* 60 won a minute in 10-second units is 10 won per unit; 100 won a minute
 * is 16.67 won per unit, rounded up once over the whole call. */
static const char *rate_table =
  "{\"name\": \"test rates\", \"rates\": ["
  " {\"prefix\": \"0\", \"category\": \"long_distance\", \"per_minute\": 50, \"increment\": 30},"
  " {\"prefix\": \"02\", \"category\": \"local\", \"description\": \"Seoul\","
  "  \"per_minute\": 60, \"increment\": 10},"
  " {\"prefix\": \"031\", \"category\": \"long_distance\", \"per_minute\": 100,"
  "  \"increment\": 10},"
  " {\"prefix\": \"033\", \"category\": \"long_distance\", \"per_minute\": 70,"
  "  \"increment\": 10},"
  " {\"prefix\": \"051\", \"category\": \"long_distance\", \"per_minute\": 600,"
  "  \"increment\": 10},"
  " {\"prefix\": \"010\", \"category\": \"mobile\", \"per_minute\": 100, \"increment\": 10,"
  "  \"connection_fee\": 20},"
  " {\"prefix\": \"0011\", \"category\": \"international\", \"country\": \"US\","
  "  \"per_minute\": 200, \"increment\": 60},"
  " {\"prefix\": \"00181\", \"category\": \"international\", \"country\": \"JP\","
  "  \"per_minute\": 250, \"increment\": 60},"
  " {\"prefix\": \"080\", \"category\": \"special\", \"per_minute\": 0, \"increment\": 1}],"
  " \"services\": [{\"service\": \"voicemail\", \"price\": 50},"
  "  {\"service\": \"information\", \"price\": 200}]}";

/* Helpers */

static char *
create_switch (OtGateway  *g,
               const char *name)
{
  g_autofree char *body = g_strdup_printf ("{\"name\": \"%s\", \"category\": \"telephone\"}",
                                           name);
  g_autoptr(OtResponse) r = ot_request (g, "POST", "/v1/admin/merchants",
                                        ot_gateway_admin_token (g), NULL, body);

  ot_assert_status (r, 200);
  return g_strdup (ot_json_string (ot_response_object (r), "secret_key"));
}

static JsonObject *
load_rates (OtGateway  *g,
            const char *body)
{
  g_autoptr(OtResponse) r = ot_request (g, "POST", "/v1/admin/phone/rate_tables",
                                        ot_gateway_admin_token (g), NULL, body);

  ot_assert_status (r, 200);
  return json_object_ref (ot_response_object (r));
}

static OtResponse *
start_call (const char *key,
            const char *number,
            const char *password,
            const char *destination,
            const char *extra)
{
  g_autofree char *body = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"%s\", "
                                           "\"destination\": \"%s\"%s}", number, password,
                                           destination, extra ? extra : "");

  return ot_request (gw, "POST", "/v1/phone/sessions", key, NULL, body);
}

/* Starts a call that must be granted; returns the session. */
static JsonObject *
start_ok (const char *number,
          const char *destination)
{
  g_autoptr(OtResponse) r = start_call (switch_key, number, "2580", destination, NULL);
  JsonObject *o;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_assert_cmpstr (ot_json_string (o, "status"), ==, "open");
  g_assert_cmpstr (ot_json_string (o, "object"), ==, "phone_session");
  return json_object_ref (o);
}

static OtResponse *
report_call (const char *session,
             const char *what,
             gint64      request_number,
             gint64      used)
{
  g_autofree char *path = g_strdup_printf ("/v1/phone/sessions/%s/%s", session, what);
  g_autofree char *body = g_strdup_printf ("{\"request_number\": %" G_GINT64_FORMAT
                                           ", \"used_seconds\": %" G_GINT64_FORMAT "}",
                                           request_number, used);

  return ot_request (gw, "POST", path, switch_key, NULL, body);
}

static JsonObject *
report_ok (const char *session,
           const char *what,
           gint64      request_number,
           gint64      used)
{
  g_autoptr(OtResponse) r = report_call (session, what, request_number, used);

  ot_assert_status (r, 200);
  return json_object_ref (ot_response_object (r));
}

static OtCard *
new_card (gint64 value)
{
  return ot_new_card (gw, value, "2580");
}

static void
audit (void)
{
  json_object_unref (ot_assert_audit_balanced (gw));
}

static JsonObject *
statement_summary (const char *number)
{
  g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\"}",
                                           number);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/cards/statement", NULL, NULL, body);

  ot_assert_status (r, 200);
  return json_object_ref (ot_json_object (ot_response_object (r), "summary"));
}

/* Tests */

static void
test_normal_call (void)
{
  g_autoptr(OtCard) card = new_card (10000);
  g_autoptr(JsonObject) s = start_ok (card->number, "0212345678");
  g_autoptr(JsonObject) u = NULL;
  g_autoptr(JsonObject) t = NULL;
  g_autoptr(JsonObject) summary = NULL;
  g_autoptr(OtResponse) replay = NULL;
  g_autoptr(OtResponse) late = NULL;
  g_autoptr(OtResponse) get = NULL;
  g_autofree char *path = NULL;
  const char *id = ot_json_string (s, "id");
  JsonObject *rate = ot_json_object (s, "rate");

  g_assert_true (g_str_has_prefix (id, "cs_"));
  g_assert_cmpstr (ot_json_string (rate, "prefix"), ==, "02");
  g_assert_cmpstr (ot_json_string (rate, "category"), ==, "local");
  g_assert_cmpint (ot_json_int (s, "granted_seconds"), ==, 300);
  g_assert_false (ot_json_bool (s, "final_grant"));
  g_assert_cmpint (ot_json_int (s, "amount_reserved"), ==, 300);
  g_assert_cmpint (ot_json_int (s, "amount_charged"), ==, 0);
  ot_assert_card_balance (gw, card->number, "2580", 10000, 9700);
  audit ();

  /* 120 s used: 120 won debited, the next 300 s reserved (to 420 s). */
  u = report_ok (id, "update", 1, 120);
  g_assert_cmpint (ot_json_int (u, "amount_charged"), ==, 120);
  g_assert_cmpint (ot_json_int (u, "granted_seconds"), ==, 300);
  g_assert_cmpint (ot_json_int (u, "amount_reserved"), ==, 300);
  ot_assert_card_balance (gw, card->number, "2580", 9880, 9580);
  audit ();

  /* 95 s more: 215 s started 22 units of 10 s, 220 won in all. */
  t = report_ok (id, "terminate", 2, 95);
  g_assert_cmpstr (ot_json_string (t, "status"), ==, "terminated");
  g_assert_cmpint (ot_json_int (t, "used_seconds"), ==, 215);
  g_assert_cmpint (ot_json_int (t, "billed_seconds"), ==, 215);
  g_assert_cmpint (ot_json_int (t, "amount_charged"), ==, 220);
  g_assert_cmpint (ot_json_int (t, "amount_reserved"), ==, 0);
  ot_assert_card_balance (gw, card->number, "2580", 9780, 9780);

  /* A retried terminate gets the same answer and charges nothing more. */
  replay = report_call (id, "terminate", 2, 95);
  ot_assert_status (replay, 200);
  g_assert_cmpstr (ot_response_header (replay, "Idempotent-Replayed"), ==, "true");
  ot_assert_card_balance (gw, card->number, "2580", 9780, 9780);
  late = report_call (id, "update", 3, 10);
  ot_assert_error (late, 409, "invalid_request_error", "session_ended");

  path = g_strdup_printf ("/v1/phone/sessions/%s", id);
  get = ot_request (gw, "GET", path, switch_key, NULL, NULL);
  ot_assert_status (get, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (get), "status"), ==, "terminated");
  g_assert_cmpint (ot_json_int (ot_response_object (get), "amount_charged"), ==, 220);

  /* Telephone and internet payments side by side in the statement. */
  json_object_unref (ot_pay (gw, mall_key, card->number, "2580", 1000, TRUE));
  summary = statement_summary (card->number);
  g_assert_cmpint (ot_json_int (ot_json_object (summary, "total_paid"), "telephone"), ==, 220);
  g_assert_cmpint (ot_json_int (ot_json_object (summary, "total_paid"), "internet"), ==, 1000);
  g_assert_cmpint (ot_json_int (summary, "balance"), ==, 8780);
  audit ();
}

static void
test_request_numbers (void)
{
  g_autoptr(OtCard) card = new_card (10000);
  g_autoptr(JsonObject) s = start_ok (card->number, "0212345678");
  const char *id = ot_json_string (s, "id");
  g_autoptr(JsonObject) u = report_ok (id, "update", 1, 30);
  g_autoptr(OtResponse) again = report_call (id, "update", 1, 30);
  g_autoptr(OtResponse) other = report_call (id, "update", 1, 60);
  g_autoptr(OtResponse) zero = report_call (id, "update", 0, 60);
  g_autoptr(JsonObject) skip = report_ok (id, "update", 5, 30);
  g_autoptr(OtResponse) stale = NULL;
  g_autoptr(OtResponse) nobody = NULL;
  g_autoptr(OtResponse) foreign = NULL;
  g_autofree char *mall_switch = NULL;

  ot_assert_status (again, 200);
  g_assert_cmpstr (ot_response_header (again, "Idempotent-Replayed"), ==, "true");
  ot_assert_error (other, 422, "idempotency_error", "idempotency_key_reused");
  {
    /* A switch that puts a fresh Idempotency-Key on every attempt: the
     * request number still makes the retry. */
    g_autofree char *path = g_strdup_printf ("/v1/phone/sessions/%s/update", id);
    g_autoptr(OtResponse) keyed = ot_request (gw, "POST", path, switch_key, "attempt-2",
                                              "{\"request_number\": 1, \"used_seconds\": 30}");

    ot_assert_status (keyed, 200);
    g_assert_cmpstr (ot_response_header (keyed, "Idempotent-Replayed"), ==, "true");
    g_assert_cmpstr (keyed->body, ==, again->body);
  }
  ot_assert_error (zero, 400, "invalid_request_error", "parameter_invalid");
  g_assert_cmpint (ot_json_int (skip, "amount_charged"), ==, 60);

  /* A number below the last one, never seen before. */
  stale = report_call (id, "update", 3, 0);
  ot_assert_error (stale, 409, "invalid_request_error", "request_number_stale");
  nobody = report_call ("cs_nosuchsession", "update", 1, 0);
  ot_assert_error (nobody, 404, "invalid_request_error", "resource_missing");

  /* Another switch cannot see or touch this session. */
  mall_switch = create_switch (gw, "Other switch");
  {
    g_autofree char *path = g_strdup_printf ("/v1/phone/sessions/%s/update", id);

    foreign = ot_request (gw, "POST", path, mall_switch, NULL,
                          "{\"request_number\": 9, \"used_seconds\": 0}");
    ot_assert_error (foreign, 404, "invalid_request_error", "resource_missing");
  }
  json_object_unref (report_ok (id, "terminate", 6, 0));
  ot_assert_card_balance (gw, card->number, "2580", 9940, 9940);
  audit ();
}

/* Runs a call to @destination to its end: every grant used in full, the
 * switch ending the call when the grant was the last. Returns the seconds. */
static gint64
talk_until_cut (const char *number,
                const char *destination,
                gint64      overrun)
{
  g_autoptr(JsonObject) s = start_ok (number, destination);
  g_autofree char *id = g_strdup (ot_json_string (s, "id"));
  gint64 granted = ot_json_int (s, "granted_seconds");
  gboolean final = ot_json_bool (s, "final_grant");
  gint64 total = 0;
  gint64 n = 1;

  while (!final)
    {
      g_autoptr(JsonObject) u = report_ok (id, "update", n++, granted);

      total += granted;
      granted = ot_json_int (u, "granted_seconds");
      final = ot_json_bool (u, "final_grant");
      g_assert_cmpint (ot_json_int (u, "amount_charged"), >=, 0);
    }
  {
    /* The switch cuts the call at the end of the last grant; one that
     * overruns it is not billed for the overrun. */
    g_autoptr(JsonObject) t = report_ok (id, "terminate", n, granted + overrun);

    total += granted;
    g_assert_cmpint (ot_json_int (t, "billed_seconds"), ==, total);
    g_assert_cmpint (ot_json_int (t, "used_seconds"), ==, total + overrun);
  }
  return total;
}

static void
test_cut_at_zero (void)
{
  g_autoptr(OtCard) card = new_card (5000);
  g_autoptr(OtCard) odd = new_card (5000);
  g_autoptr(OtResponse) after = NULL;

  /* 100 won a minute: 5,000 won are exactly 3,000 s, 300 units. */
  g_assert_cmpint (talk_until_cut (card->number, "0311234567", 45), ==, 3000);
  ot_assert_card_balance (gw, card->number, "2580", 0, 0);
  after = start_call (switch_key, card->number, "2580", "0311234567", NULL);
  ot_assert_error (after, 402, "card_error", "insufficient_funds");
  audit ();

  /* 70 won a minute: 428 units (4,280 s) cost 4,993.33, so 4,994 won;
   * the 6 won left cannot pay for another unit (11.67 won). */
  g_assert_cmpint (talk_until_cut (odd->number, "0331234567", 0), ==, 4280);
  ot_assert_card_balance (gw, odd->number, "2580", 6, 6);
  audit ();
}

static void
test_concurrent_calls (void)
{
  g_autoptr(OtCard) card = new_card (5000);
  g_autoptr(JsonObject) a = start_ok (card->number, "0212345678");
  g_autoptr(JsonObject) b = start_ok (card->number, "0219876543");
  const char *ids[2] = { ot_json_string (a, "id"), ot_json_string (b, "id") };
  gint64 granted[2] = { ot_json_int (a, "granted_seconds"), ot_json_int (b, "granted_seconds") };
  gboolean done[2] = { FALSE, FALSE };
  gint64 n[2] = { 1, 1 };
  gint64 charged[2] = { 0, 0 };

  /* Both reserve from the same balance: 10 won per 10 s each. */
  ot_assert_card_balance (gw, card->number, "2580", 5000, 4400);
  while (!done[0] || !done[1])
    for (guint i = 0; i < 2; i++)
      {
        g_autoptr(JsonObject) u = NULL;
        g_autoptr(JsonObject) bal = NULL;

        if (done[i])
          continue;
        u = report_ok (ids[i], granted[i] > 0 ? "update" : "terminate", n[i]++, granted[i]);
        charged[i] = ot_json_int (u, "amount_charged");
        done[i] = g_str_equal (ot_json_string (u, "status"), "terminated");
        granted[i] = done[i] ? 0 : ot_json_int (u, "granted_seconds");

        /* What both calls took and reserved never passes what the card held. */
        bal = ot_card_balance (gw, card->number, "2580");
        g_assert_cmpint (ot_json_int (bal, "available"), >=, 0);
        g_assert_cmpint (ot_json_int (bal, "balance"), ==, 5000 - charged[0] - charged[1]);
      }
  g_assert_cmpint (charged[0] + charged[1], ==, 5000);
  ot_assert_card_balance (gw, card->number, "2580", 0, 0);
  audit ();
}

static void
test_parallel_starts (void)
{
  g_autoptr(OtCard) card = new_card (5000);
  g_autofree char *body = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"2580\", "
                                           "\"destination\": \"0511234567\"}", card->number);
  g_autoptr(GPtrArray) rs = NULL;
  gint64 reserved = 0;
  guint granted = 0;

  /* 600 won a minute: a 300 s grant reserves 3,000 won. Eight calls at once
   * on 5,000 won: one gets 300 s, one the 200 s left, the rest nothing. */
  rs = ot_request_parallel (gw, 8, "POST", "/v1/phone/sessions", switch_key, NULL, body);
  for (guint i = 0; i < rs->len; i++)
    {
      OtResponse *r = g_ptr_array_index (rs, i);

      if (r->status == 200)
        {
          granted++;
          reserved += ot_json_int (ot_response_object (r), "amount_reserved");
        }
      else
        ot_assert_error (r, 402, "card_error", "insufficient_funds");
    }
  g_assert_cmpuint (granted, ==, 2);
  g_assert_cmpint (reserved, ==, 5000);
  ot_assert_card_balance (gw, card->number, "2580", 5000, 0);
  audit ();
}

/* Runs @sql on the gateway's database beside it (the gateway re-reads
 * its schema when it changes). */
static void
exec_on_database (const char *sql)
{
  ot_gateway_exec_sql (gw, sql);
}

#define NEIGHBOURS 8
#define POISONED 3

/* Session starts and reports share one savepoint per run in the writer.
 * Eight of each at once, one of which the database refuses after its hold
 * or charge was written (a trigger): that one is answered 500 and leaves
 * nothing, and each of the others is applied exactly once, as answered. */
static void
test_failed_neighbour (void)
{
  OtCard *cards[NEIGHBOURS];
  char *paths[NEIGHBOURS + 1] = { NULL };
  char *bodies[NEIGHBOURS + 1] = { NULL };
  char *sessions[NEIGHBOURS] = { NULL };
  g_autoptr(GPtrArray) started = NULL;
  g_autoptr(GPtrArray) ended = NULL;
  g_autoptr(OtResponse) retry = NULL;

  for (guint i = 0; i < NEIGHBOURS; i++)
    {
      cards[i] = new_card (5000);
      paths[i] = g_strdup ("/v1/phone/sessions");
      bodies[i] = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"2580\", "
                                   "\"destination\": \"%s\"}", cards[i]->number,
                                   i == POISONED ? "0519999999" : "0511234567");
    }
  exec_on_database ("CREATE TRIGGER poison_start BEFORE INSERT ON phone_sessions "
                    "WHEN NEW.destination = '0519999999' BEGIN SELECT RAISE (ABORT, 'no'); END");
  started = ot_request_parallel_each (gw, "POST", switch_key, (const char *const *) paths,
                                      (const char *const *) bodies);
  exec_on_database ("DROP TRIGGER poison_start");
  for (guint i = 0; i < NEIGHBOURS; i++)
    {
      OtResponse *r = g_ptr_array_index (started, i);

      if (i == POISONED)
        {
          ot_assert_error (r, 500, "api_error", NULL);
          ot_assert_card_balance (gw, cards[i]->number, "2580", 5000, 5000);
          continue;
        }
      ot_assert_status (r, 200);
      g_assert_cmpint (ot_json_int (ot_response_object (r), "amount_reserved"), ==, 3000);
      sessions[i] = g_strdup (ot_json_string (ot_response_object (r), "id"));
      ot_assert_card_balance (gw, cards[i]->number, "2580", 5000, 2000);
    }
  audit ();

  /* 120 s at 600 won a minute: 1,200 won each; the poisoned call is one of
   * the seven now, by its session. */
  for (guint i = 0, n = 0; i < NEIGHBOURS; i++)
    {
      g_free (paths[i]);
      g_free (bodies[i]);
      paths[i] = bodies[i] = NULL;
      if (sessions[i] == NULL)
        continue;
      paths[n] = g_strdup_printf ("/v1/phone/sessions/%s/terminate", sessions[i]);
      bodies[n++] = g_strdup ("{\"request_number\": 1, \"used_seconds\": 120}");
    }
  {
    g_autofree char *sql = g_strdup_printf ("CREATE TRIGGER poison_end BEFORE UPDATE ON "
                                            "phone_sessions WHEN NEW.id = '%s' AND "
                                            "NEW.state = 'terminated' BEGIN "
                                            "SELECT RAISE (ABORT, 'no'); END",
                                            sessions[POISONED + 1]);
    exec_on_database (sql);
  }
  ended = ot_request_parallel_each (gw, "POST", switch_key, (const char *const *) paths,
                                    (const char *const *) bodies);
  exec_on_database ("DROP TRIGGER poison_end");
  for (guint i = 0, n = 0; i < NEIGHBOURS; i++)
    {
      OtResponse *r;

      if (sessions[i] == NULL)
        continue;
      r = g_ptr_array_index (ended, n++);
      if (i == POISONED + 1)
        {
          ot_assert_error (r, 500, "api_error", NULL);
          ot_assert_card_balance (gw, cards[i]->number, "2580", 5000, 2000);
          continue;
        }
      ot_assert_status (r, 200);
      g_assert_cmpint (ot_json_int (ot_response_object (r), "amount_charged"), ==, 1200);
      ot_assert_card_balance (gw, cards[i]->number, "2580", 3800, 3800);
    }
  audit ();

  /* The refused report left no record: the same request is applied now. */
  retry = report_call (sessions[POISONED + 1], "terminate", 1, 120);
  ot_assert_status (retry, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (retry), "amount_charged"), ==, 1200);
  ot_assert_card_balance (gw, cards[POISONED + 1]->number, "2580", 3800, 3800);
  audit ();

  for (guint i = 0; i < NEIGHBOURS; i++)
    {
      ot_card_free (cards[i]);
      g_free (paths[i]);
      g_free (bodies[i]);
      g_free (sessions[i]);
    }
}

static void
test_rates_by_prefix (void)
{
  const struct
  {
    const char *destination;
    const char *prefix;
    const char *category;
    gint64      used;
    gint64      charged;
  } cases[] = {
    { "0212345678", "02", "local", 25, 30 },              /* 3 units of 10 won */
    { "0311234567", "031", "long_distance", 25, 50 },     /* 3 × 16.67 = 50 */
    { "0311234567", "031", "long_distance", 1, 17 },      /* 16.67 rounded up */
    { "0421234567", "0", "long_distance", 31, 50 },       /* 2 units of 30 s at 50/min */
    { "01012345678", "010", "mobile", 1, 37 },            /* fee 20 + 16.67 */
    { "01012345678", "010", "mobile", 0, 0 },             /* never answered: no fee */
    { "0011212555", "0011", "international", 61, 400 },  /* 2 minutes at 200 */
    { "00181312345", "00181", "international", 60, 250 },
    { "0801234567", "080", "special", 500, 0 },           /* free */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(OtCard) card = new_card (10000);
      g_autoptr(JsonObject) s = start_ok (card->number, cases[i].destination);
      g_autoptr(JsonObject) t = NULL;
      JsonObject *rate = ot_json_object (s, "rate");

      g_test_message ("%s, %" G_GINT64_FORMAT " s", cases[i].destination, cases[i].used);
      g_assert_cmpstr (ot_json_string (rate, "prefix"), ==, cases[i].prefix);
      g_assert_cmpstr (ot_json_string (rate, "category"), ==, cases[i].category);
      t = report_ok (ot_json_string (s, "id"), "terminate", 1, cases[i].used);
      g_assert_cmpint (ot_json_int (t, "amount_charged"), ==, cases[i].charged);
      ot_assert_card_balance (gw, card->number, "2580", 10000 - cases[i].charged,
                              10000 - cases[i].charged);
    }

  {
    g_autoptr(OtCard) card = new_card (10000);
    g_autoptr(OtResponse) none = start_call (switch_key, card->number, "2580", "9999", NULL);

    ot_assert_error (none, 400, "invalid_request_error", "destination_not_rated");
    ot_assert_card_balance (gw, card->number, "2580", 10000, 10000);
  }
  audit ();
}

static void
test_rate_versions (void)
{
  g_autoptr(OtCard) card = new_card (10000);
  g_autoptr(JsonObject) old = start_ok (card->number, "0212345678");
  g_autoptr(JsonObject) table = load_rates (gw,
    "{\"name\": \"dearer\", \"rates\": [{\"prefix\": \"02\", \"category\": \"local\","
    " \"per_minute\": 120, \"increment\": 60}]}");
  g_autoptr(JsonObject) fresh = start_ok (card->number, "0212345678");
  g_autoptr(JsonObject) t1 = report_ok (ot_json_string (old, "id"), "terminate", 1, 60);
  g_autoptr(JsonObject) t2 = report_ok (ot_json_string (fresh, "id"), "terminate", 1, 60);
  g_autoptr(OtResponse) list = NULL;
  g_autoptr(OtResponse) get = NULL;
  g_autoptr(OtResponse) mobile = NULL;
  g_autofree char *path = NULL;
  JsonArray *data;

  /* The session keeps the rate it started with. */
  g_assert_cmpint (ot_json_int (t1, "amount_charged"), ==, 60);
  g_assert_cmpint (ot_json_int (t2, "amount_charged"), ==, 120);
  g_assert_cmpint (ot_json_int (table, "version"), ==, 2);
  g_assert_true (ot_json_bool (table, "active"));

  list = ot_request (gw, "GET", "/v1/admin/phone/rate_tables", ot_gateway_admin_token (gw),
                     NULL, NULL);
  ot_assert_status (list, 200);
  data = ot_json_array (ot_response_object (list), "data");
  g_assert_cmpuint (json_array_get_length (data), ==, 2);
  g_assert_true (ot_json_bool (json_array_get_object_element (data, 0), "active"));
  g_assert_false (ot_json_bool (json_array_get_object_element (data, 1), "active"));
  g_assert_cmpint (ot_json_int (json_array_get_object_element (data, 1), "rate_count"), ==, 9);
  {
    /* A page at a time; the list's two parameters once each, with a value,
     * and nothing else. */
    const char *newest = ot_json_string (json_array_get_object_element (data, 0), "id");
    const char *oldest = ot_json_string (json_array_get_object_element (data, 1), "id");
    g_autofree char *next = g_strdup_printf ("/v1/admin/phone/rate_tables?limit=1&"
                                             "starting_after=%s", newest);
    g_autoptr(OtResponse) first = ot_request (gw, "GET", "/v1/admin/phone/rate_tables?limit=1",
                                              ot_gateway_admin_token (gw), NULL, NULL);
    g_autoptr(OtResponse) second = ot_request (gw, "GET", next, ot_gateway_admin_token (gw), NULL,
                                               NULL);
    const struct { const char *query; const char *code; const char *param; } odd[] = {
      { "limit", "parameter_invalid", "limit" },
      { "limit=1&limit=2", "parameter_invalid", "limit" },
      { "active=true", "parameter_unknown", "active" },
    };
    JsonArray *page;

    ot_assert_status (first, 200);
    page = ot_json_array (ot_response_object (first), "data");
    g_assert_cmpuint (json_array_get_length (page), ==, 1);
    g_assert_cmpstr (ot_json_string (json_array_get_object_element (page, 0), "id"), ==, newest);
    g_assert_true (ot_json_bool (ot_response_object (first), "has_more"));
    ot_assert_status (second, 200);
    page = ot_json_array (ot_response_object (second), "data");
    g_assert_cmpuint (json_array_get_length (page), ==, 1);
    g_assert_cmpstr (ot_json_string (json_array_get_object_element (page, 0), "id"), ==, oldest);
    for (guint i = 0; i < G_N_ELEMENTS (odd); i++)
      {
        g_autofree char *odd_path = g_strconcat ("/v1/admin/phone/rate_tables?", odd[i].query,
                                                 NULL);
        g_autoptr(OtResponse) r = ot_request (gw, "GET", odd_path, ot_gateway_admin_token (gw),
                                              NULL, NULL);

        g_test_message ("GET %s", odd_path);
        ot_assert_error (r, 400, "invalid_request_error", odd[i].code);
        g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"),
                                         "param"), ==, odd[i].param);
      }
  }

  path = g_strdup_printf ("/v1/admin/phone/rate_tables/%s",
                          ot_json_string (json_array_get_object_element (data, 1), "id"));
  get = ot_request (gw, "GET", path, ot_gateway_admin_token (gw), NULL, NULL);
  ot_assert_status (get, 200);
  g_assert_cmpuint (json_array_get_length (ot_json_array (ot_response_object (get), "rates")),
                    ==, 9);

  /* The new table has no mobile rate. */
  mobile = start_call (switch_key, card->number, "2580", "01012345678", NULL);
  ot_assert_error (mobile, 400, "invalid_request_error", "destination_not_rated");

  /* Back to the first prices for the tests that follow. */
  json_object_unref (load_rates (gw, rate_table));
  audit ();
}

static void
test_services_and_channels (void)
{
  g_autoptr(OtCard) card = new_card (10000);
  g_autofree char *vm = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"2580\", "
                                         "\"service\": \"voicemail\"}", card->number);
  g_autofree char *info = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"2580\", "
                                           "\"service\": \"information\", \"quantity\": 2}",
                                           card->number);
  g_autoptr(OtResponse) r1 = ot_request (gw, "POST", "/v1/phone/events", switch_key, "vm-1", vm);
  g_autoptr(OtResponse) r1again = ot_request (gw, "POST", "/v1/phone/events", switch_key,
                                              "vm-1", vm);
  g_autoptr(OtResponse) r2 = ot_request (gw, "POST", "/v1/phone/events", switch_key, NULL, info);
  g_autoptr(JsonObject) mobile = NULL;
  g_autoptr(JsonObject) t = NULL;
  g_autoptr(JsonObject) summary = NULL;
  g_autoptr(OtResponse) s = NULL;
  JsonObject *paid;

  ot_assert_status (r1, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (r1), "amount"), ==, 50);
  g_assert_cmpstr (ot_json_string (ot_response_object (r1), "channel"), ==, "telephone");
  ot_assert_status (r1again, 200);
  g_assert_cmpstr (r1again->body, ==, r1->body);
  ot_assert_status (r2, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (r2), "amount"), ==, 400);
  g_assert_cmpint (ot_json_int (ot_response_object (r2), "available"), ==, 9550);

  /* A prepaid mobile call: 30 s at 100 won a minute plus the fee. */
  s = start_call (switch_key, card->number, "2580", "01012345678",
                  ", \"service\": \"mobile\"");
  ot_assert_status (s, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (s), "channel"), ==, "prepaid_mobile");
  mobile = json_object_ref (ot_response_object (s));
  t = report_ok (ot_json_string (mobile, "id"), "terminate", 1, 30);
  g_assert_cmpint (ot_json_int (t, "amount_charged"), ==, 70);

  json_object_unref (ot_pay (gw, mall_key, card->number, "2580", 500, TRUE));
  summary = statement_summary (card->number);
  paid = ot_json_object (summary, "total_paid");
  g_assert_cmpint (ot_json_int (paid, "telephone"), ==, 50);
  g_assert_cmpint (ot_json_int (paid, "telephone_information"), ==, 400);
  g_assert_cmpint (ot_json_int (paid, "prepaid_mobile"), ==, 70);
  g_assert_cmpint (ot_json_int (paid, "internet"), ==, 500);
  g_assert_cmpint (ot_json_int (summary, "balance"), ==, 10000 - 50 - 400 - 70 - 500);
  audit ();
}

static OtResponse *
calling_number_as (const char *what,
                   const char *number,
                   const char *password,
                   const char *calling)
{
  g_autofree char *path = g_strconcat ("/v1/cards/calling_numbers", what, NULL);
  g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\", "
                                           "\"calling_number\": \"%s\"}", number, password,
                                           calling);

  return ot_request (gw, "POST", path, NULL, NULL, body);
}

static OtResponse *
calling_number (const char *what,
                const char *number,
                const char *calling)
{
  return calling_number_as (what, number, "2580", calling);
}

/* POST /v1/cards/calling_numbers/list on @g. */
static OtResponse *
list_lines (OtGateway  *g,
            const char *number,
            const char *password)
{
  g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\"}",
                                           number, password);

  return ot_request (g, "POST", "/v1/cards/calling_numbers/list", NULL, NULL, body);
}

/* A switch's call from the line @calling, with no card number keyed in. */
static OtResponse *
call_from (const char *calling)
{
  g_autofree char *body = g_strdup_printf ("{\"calling_number\": \"%s\", "
                                           "\"destination\": \"0212345678\"}", calling);

  return ot_request (gw, "POST", "/v1/phone/sessions", switch_key, NULL, body);
}

/* A call from @calling, ended at once: it must be charged to @card_id. */
static void
assert_line_pays (const char *calling,
                  const char *card_id)
{
  g_autoptr(OtResponse) r = call_from (calling);
  g_autoptr(JsonObject) t = NULL;

  ot_assert_status (r, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (r), "card_id"), ==, card_id);
  t = report_ok (ot_json_string (ot_response_object (r), "id"), "terminate", 1, 0);
}

/* What a switch hears for a line nobody registered. */
static void
assert_line_unknown (const char *calling)
{
  g_autoptr(OtResponse) r = call_from (calling);

  ot_assert_error (r, 402, "card_error", "invalid_credentials");
}

static void
test_calling_number (void)
{
  g_autoptr(OtCard) card = new_card (10000);
  g_autoptr(OtCard) other = new_card (10000);
  g_autoptr(OtResponse) reg = calling_number ("", card->number, "+821055512345");
  g_autoptr(OtResponse) again = calling_number ("", card->number, "01055512345");
  g_autoptr(OtResponse) taken = calling_number ("", other->number, "01055512345");
  g_autoptr(OtResponse) by_ani = NULL;
  g_autoptr(OtResponse) removed = NULL;
  g_autoptr(OtResponse) gone = NULL;
  g_autoptr(OtResponse) unknown = NULL;
  g_autoptr(JsonObject) t = NULL;

  ot_assert_status (reg, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (reg), "calling_number_last4"), ==,
                   "2345");
  ot_assert_status (again, 200);
  ot_assert_error (taken, 409, "invalid_request_error", "calling_number_taken");

  by_ani = call_from ("01055512345");
  ot_assert_status (by_ani, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (by_ani), "card_id"), ==, card->id);
  t = report_ok (ot_json_string (ot_response_object (by_ani), "id"), "terminate", 1, 60);
  ot_assert_card_balance (gw, card->number, "2580", 9940, 9940);

  removed = calling_number ("/delete", card->number, "01055512345");
  ot_assert_status (removed, 200);
  gone = call_from ("01055512345");
  ot_assert_error (gone, 402, "card_error", "invalid_credentials");
  unknown = calling_number ("/delete", card->number, "01055512345");
  ot_assert_error (unknown, 404, "invalid_request_error", "resource_missing");
  audit ();
}

/* A line registered to a card that was closed since (its balance paid
 * out) no longer pays, and could be removed by nobody; another card may
 * take it over. */
static void
test_calling_number_of_closed_card (void)
{
  g_autoptr(OtCard) card = new_card (10000);
  g_autoptr(OtCard) other = new_card (10000);
  g_autoptr(OtResponse) reg = calling_number ("", card->number, "01055598765");
  g_autoptr(OtResponse) taken = calling_number ("", other->number, "01055598765");
  g_autoptr(OtResponse) moved = NULL;
  g_autoptr(OtResponse) closed = NULL;
  g_autoptr(OtResponse) by_ani = NULL;
  g_autofree char *close = g_strdup_printf ("UPDATE cards SET state = 'closed' WHERE id = '%s'",
                                            card->id);
  g_autoptr(JsonObject) t = NULL;

  ot_assert_status (reg, 200);
  ot_assert_error (taken, 409, "invalid_request_error", "calling_number_taken");
  exec_on_database (close);
  closed = call_from ("01055598765");
  ot_assert_error (closed, 402, "card_error", "card_not_active");
  moved = calling_number ("", other->number, "01055598765");
  ot_assert_status (moved, 200);
  by_ani = call_from ("01055598765");
  ot_assert_status (by_ani, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (by_ani), "card_id"), ==, other->id);
  t = report_ok (ot_json_string (ot_response_object (by_ani), "id"), "terminate", 1, 60);
  audit ();
}

/* Every mall a wallet's card paid at knows its number and password: those
 * attach no line to it, which would then pay with neither. The password is
 * checked first, so the 409 tells nobody without it whose card it is. */
static void
test_calling_number_wallet_card (void)
{
  g_autoptr(OtWallet) wallet = ot_wallet_new (gw, "none");
  g_autoptr(OtResponse) guess = calling_number_as ("", wallet->number, "9999", "01055511111");
  g_autoptr(OtResponse) add = calling_number ("", wallet->number, "01055511111");
  g_autoptr(OtResponse) remove = calling_number ("/delete", wallet->number, "01055511111");
  g_autoptr(OtResponse) list = list_lines (gw, wallet->number, "2580");

  ot_assert_error (guess, 402, "card_error", "invalid_credentials");
  ot_assert_error (add, 409, "invalid_request_error", "card_managed_by_wallet");
  ot_assert_error (remove, 409, "invalid_request_error", "card_managed_by_wallet");
  ot_assert_error (list, 409, "invalid_request_error", "card_managed_by_wallet");
  assert_line_unknown ("01055511111");
  audit ();
}

/* Whoever once knew a card's password keeps no line on it past a change. */
static void
test_calling_number_password_change (void)
{
  g_autoptr(OtCard) card = new_card (10000);
  g_autoptr(OtResponse) reg = calling_number ("", card->number, "01055522222");
  g_autoptr(OtResponse) changed = NULL;
  g_autoptr(OtResponse) listed = NULL;
  g_autoptr(OtResponse) again = NULL;
  g_autofree char *change = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\", "
                                             "\"new_password\": \"1357\"}", card->number);

  ot_assert_status (reg, 200);
  assert_line_pays ("01055522222", card->id);
  changed = ot_request (gw, "POST", "/v1/cards/password", NULL, NULL, change);
  ot_assert_status (changed, 200);
  assert_line_unknown ("01055522222");
  listed = list_lines (gw, card->number, "1357");
  ot_assert_status (listed, 200);
  g_assert_cmpuint (json_array_get_length (ot_json_array (ot_response_object (listed), "data")),
                    ==, 0);

  /* The holder registers it again with the new password. */
  again = calling_number_as ("", card->number, "1357", "01055522222");
  ot_assert_status (again, 200);
  assert_line_pays ("01055522222", card->id);
  audit ();
}

/* A line a wallet's card got by its number and password (before those
 * were refused) goes when its owner resets the card's password. */
static void
test_calling_number_wallet_reset (void)
{
  g_autoptr(OtWallet) wallet = ot_wallet_new (gw, "none");
  g_autoptr(OtCard) card = new_card (10000);
  g_autoptr(OtResponse) reg = calling_number ("", card->number, "01055533333");
  g_autoptr(OtResponse) empty = NULL;
  g_autoptr(OtResponse) reset = NULL;
  g_autofree char *move = g_strdup_printf ("UPDATE phone_calling_numbers SET card_id = '%s'"
                                           " WHERE card_id = '%s'", wallet->card_id, card->id);

  ot_assert_status (reg, 200);
  exec_on_database (move);
  /* The wallet's card pays for it (it holds nothing yet). */
  empty = call_from ("01055533333");
  ot_assert_error (empty, 402, "card_error", "insufficient_funds");

  reset = ot_request (gw, "POST", "/v1/wallet/card/password", wallet->token, NULL,
                      "{\"current_password\": \"correct horse\", \"new_password\": \"7913\"}");
  ot_assert_status (reset, 200);
  assert_line_unknown ("01055533333");
  audit ();
}

static void
assert_listed (JsonArray  *data,
               guint       index,
               const char *card,
               const char *last4)
{
  JsonObject *line = json_array_get_object_element (data, index);

  g_assert_true (g_str_has_prefix (ot_json_string (line, "id"), "cn_"));
  g_assert_cmpstr (ot_json_string (line, "object"), ==, "calling_number");
  g_assert_cmpstr (ot_json_string (line, "card_id"), ==, card);
  g_assert_cmpstr (ot_json_string (line, "calling_number_last4"), ==, last4);
  g_assert_true (ot_json_bool (line, "registered"));
  g_assert_cmpint (ot_json_int (line, "created"), >, 0);
}

/* The holder sees exactly the card's lines, by their last four digits. */
static void
test_calling_number_list (void)
{
  g_autoptr(OtCard) card = new_card (10000);
  g_autoptr(OtCard) other = new_card (10000);
  g_autoptr(OtResponse) first = calling_number ("", card->number, "01055544441");
  g_autoptr(OtResponse) second = calling_number ("", card->number, "+821055544442");
  g_autoptr(OtResponse) others = calling_number ("", other->number, "01055544443");
  g_autoptr(OtResponse) listed = list_lines (gw, card->number, "2580");
  g_autoptr(OtResponse) other_listed = list_lines (gw, other->number, "2580");
  g_autoptr(OtResponse) wrong = list_lines (gw, card->number, "0000");
  g_autoptr(OtResponse) in_url = NULL;
  g_autoptr(OtResponse) removed = NULL;
  g_autoptr(OtResponse) after = NULL;
  JsonArray *data;

  ot_assert_status (first, 200);
  ot_assert_status (second, 200);
  ot_assert_status (others, 200);
  ot_assert_status (listed, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (listed), "object"), ==, "list");
  data = ot_json_array (ot_response_object (listed), "data");
  g_assert_cmpuint (json_array_get_length (data), ==, 2);
  assert_listed (data, 0, card->id, "4441");
  assert_listed (data, 1, card->id, "4442");
  g_assert_null (strstr (listed->body, "55544441"));
  g_assert_null (strstr (listed->body, "55544442"));
  g_assert_null (strstr (listed->body, card->number));
  data = ot_json_array (ot_response_object (other_listed), "data");
  g_assert_cmpuint (json_array_get_length (data), ==, 1);
  assert_listed (data, 0, other->id, "4443");
  ot_assert_error (wrong, 402, "card_error", "invalid_credentials");
  in_url = ot_request (gw, "GET", "/v1/cards/calling_numbers/list", NULL, NULL, NULL);
  g_assert_cmpuint (in_url->status, ==, 404);

  removed = calling_number ("/delete", card->number, "01055544441");
  ot_assert_status (removed, 200);
  after = list_lines (gw, card->number, "2580");
  data = ot_json_array (ot_response_object (after), "data");
  g_assert_cmpuint (json_array_get_length (data), ==, 1);
  assert_listed (data, 0, card->id, "4442");
  audit ();
}

/* A wallet's card: its owner's lines, signed in */

/* A call from @calling finds a card that holds nothing yet (a wallet's
 * before its first charge): the line is registered, and to a card. */
static void
assert_line_of_empty_card (const char *calling)
{
  g_autoptr(OtResponse) r = call_from (calling);

  ot_assert_error (r, 402, "card_error", "insufficient_funds");
}

#define WALLET_PASSWORD "correct horse"

/* POST /v1/wallet/card/calling_numbers, re-authenticated by @password
 * (none when NULL). */
static OtResponse *
wallet_line_add (const char *token,
                 const char *calling,
                 const char *password)
{
  g_autofree char *body = password != NULL
    ? g_strdup_printf ("{\"calling_number\": \"%s\", \"current_password\": \"%s\"}", calling,
                       password)
    : g_strdup_printf ("{\"calling_number\": \"%s\"}", calling);

  return ot_request (gw, "POST", "/v1/wallet/card/calling_numbers", token, NULL, body);
}

static OtResponse *
wallet_lines (const char *token)
{
  return ot_request (gw, "GET", "/v1/wallet/card/calling_numbers", token, NULL, NULL);
}

static OtResponse *
wallet_line_remove (const char *token,
                    const char *id)
{
  g_autofree char *path = g_strconcat ("/v1/wallet/card/calling_numbers/", id, NULL);

  return ot_request (gw, "DELETE", path, token, NULL, NULL);
}

/* The lines the wallet lists, asserting 200. */
static JsonArray *
wallet_lines_ok (OtWallet *wallet)
{
  g_autoptr(OtResponse) r = wallet_lines (wallet->token);
  JsonObject *o;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_assert_cmpstr (ot_json_string (o, "object"), ==, "list");
  g_assert_false (ot_json_bool (o, "has_more"));
  return json_array_ref (ot_json_array (o, "data"));
}

static void
assert_param (OtResponse *r,
              const char *param)
{
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                   ==, param);
}

/* Another session of @wallet's user, as another device signs in. */
static char *
wallet_sign_in (OtWallet   *wallet,
                const char *password)
{
  g_autofree char *body = g_strdup_printf ("{\"login_id\": \"%s\", \"password\": \"%s\"}",
                                           wallet->login_id, password);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/wallet/sessions", NULL, NULL, body);

  ot_assert_status (r, 201);
  return g_strdup (ot_json_string (ot_response_object (r), "token"));
}

/* The log and the database hold none of @numbers' digits, in any form the
 * requests gave them. */
static void
assert_numbers_not_kept (const char * const *numbers)
{
  g_autofree char *log = NULL;

  g_assert_true (g_file_get_contents (ot_gateway_log_path (gw), &log, NULL, NULL));
  for (guint i = 0; numbers[i] != NULL; i++)
    {
      const char *national = numbers[i] + (numbers[i][0] == '+' ? 3 : 1);

      g_assert_null (strstr (log, national));
      g_assert_false (ot_gateway_database_holds (gw, national));
    }
  g_assert_null (strstr (log, WALLET_PASSWORD));
}

/* The owner of a wallet's card registers a line signed in, with the
 * sign-in password; the list shows it by its last four digits; a switch's
 * call from it is charged to the card; removed by its id, it pays no more. */
static void
test_wallet_line (void)
{
  const char *const numbers[] = { "01055577001", "+821055577002", NULL };
  g_autoptr(OtWallet) wallet = ot_wallet_new (gw, "none");
  g_autoptr(OtResponse) reg = NULL;
  g_autoptr(OtResponse) again = NULL;
  g_autoptr(OtResponse) second = NULL;
  g_autoptr(OtResponse) removed = NULL;
  g_autoptr(OtResponse) gone = NULL;
  g_autoptr(OtResponse) listed = NULL;
  g_autoptr(JsonArray) lines = NULL;
  g_autoptr(JsonArray) after = NULL;
  g_autoptr(JsonObject) t = NULL;
  g_autoptr(OtResponse) by_ani = NULL;
  g_autofree char *id = NULL;
  JsonObject *o;
  gint64 balance, available;

  ot_wallet_fund (gw, wallet, 10000);
  reg = wallet_line_add (wallet->token, numbers[0], WALLET_PASSWORD);
  ot_assert_status (reg, 200);
  o = ot_response_object (reg);
  g_assert_cmpstr (ot_json_string (o, "object"), ==, "calling_number");
  g_assert_cmpstr (ot_json_string (o, "card_id"), ==, wallet->card_id);
  g_assert_cmpstr (ot_json_string (o, "calling_number_last4"), ==, "7001");
  g_assert_true (ot_json_bool (o, "registered"));
  id = g_strdup (ot_json_string (o, "id"));
  g_assert_true (g_str_has_prefix (id, "cn_"));
  g_assert_null (strstr (reg->body, "55577001"));
  /* the same line again: nothing changes, and it keeps its id */
  again = wallet_line_add (wallet->token, "+821055577001", WALLET_PASSWORD);
  ot_assert_status (again, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (again), "id"), ==, id);
  second = wallet_line_add (wallet->token, numbers[1], WALLET_PASSWORD);
  ot_assert_status (second, 200);

  lines = wallet_lines_ok (wallet);
  g_assert_cmpuint (json_array_get_length (lines), ==, 2);
  assert_listed (lines, 0, wallet->card_id, "7001");
  assert_listed (lines, 1, wallet->card_id, "7002");
  g_assert_cmpstr (ot_json_string (json_array_get_object_element (lines, 0), "id"), ==, id);
  listed = wallet_lines (wallet->token);
  g_assert_null (strstr (listed->body, "55577001"));
  g_assert_null (strstr (listed->body, "55577002"));
  g_assert_null (strstr (listed->body, wallet->number));

  /* a minute to Seoul at 60 won a minute, paid by the wallet's card */
  by_ani = call_from (numbers[0]);
  ot_assert_status (by_ani, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (by_ani), "card_id"), ==, wallet->card_id);
  t = report_ok (ot_json_string (ot_response_object (by_ani), "id"), "terminate", 1, 60);
  g_assert_cmpint (ot_json_int (t, "amount_charged"), ==, 60);
  ot_wallet_balance (gw, wallet, &balance, &available);
  g_assert_cmpint (balance, ==, 10000 - 60);
  g_assert_cmpint (available, ==, 10000 - 60);
  assert_line_pays ("01055577002", wallet->card_id);

  removed = wallet_line_remove (wallet->token, id);
  ot_assert_status (removed, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (removed), "id"), ==, id);
  g_assert_false (ot_json_bool (ot_response_object (removed), "registered"));
  assert_line_unknown (numbers[0]);
  assert_line_pays ("01055577002", wallet->card_id);
  after = wallet_lines_ok (wallet);
  g_assert_cmpuint (json_array_get_length (after), ==, 1);
  assert_listed (after, 0, wallet->card_id, "7002");
  gone = wallet_line_remove (wallet->token, id);
  ot_assert_error (gone, 404, "invalid_request_error", "resource_missing");
  assert_param (gone, "id");

  assert_numbers_not_kept (numbers);
  audit ();
}

/* What the wallet's routes refuse, each as the card holder's would, and
 * without the sign-in password nothing is registered. */
static void
test_wallet_line_refusals (void)
{
  g_autoptr(OtWallet) wallet = ot_wallet_new (gw, "none");
  g_autoptr(OtWallet) other = ot_wallet_new (gw, "none");
  g_autoptr(OtCard) card = new_card (10000);
  g_autoptr(OtResponse) held = calling_number ("", card->number, "01055577101");
  g_autoptr(OtResponse) mine = wallet_line_add (other->token, "01055577102", WALLET_PASSWORD);
  g_autoptr(JsonArray) lines = NULL;
  const char *bad[] = { "010-5557-7103", "010", "+", "", "01055577103x", "821055577103 ",
                        "123456789012345678901" };

  ot_assert_status (held, 200);
  ot_assert_status (mine, 200);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      /* the number is refused before the password is looked at */
      g_autoptr(OtResponse) r = wallet_line_add (wallet->token, bad[i], "wrong password");

      ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
      assert_param (r, "calling_number");
    }
  {
    g_autoptr(OtResponse) taken = wallet_line_add (wallet->token, "+821055577101",
                                                   WALLET_PASSWORD);
    g_autoptr(OtResponse) theirs = wallet_line_add (wallet->token, "01055577102",
                                                    WALLET_PASSWORD);
    g_autoptr(OtResponse) wrong = wallet_line_add (wallet->token, "01055577104", "not it");
    g_autoptr(OtResponse) none = wallet_line_add (wallet->token, "01055577104", NULL);
    g_autoptr(OtResponse) card_password = wallet_line_add (wallet->token, "01055577104",
                                                           OT_WALLET_CARD_PASSWORD);
    g_autoptr(OtResponse) unknown = wallet_line_remove (wallet->token,
                                                        "cn_0123456789abcdef01234567");
    g_autoptr(OtResponse) not_mine = NULL;
    g_autoptr(JsonArray) theirs_listed = wallet_lines_ok (other);

    ot_assert_error (taken, 409, "invalid_request_error", "calling_number_taken");
    assert_param (taken, "calling_number");
    ot_assert_error (theirs, 409, "invalid_request_error", "calling_number_taken");
    ot_assert_error (wrong, 400, "invalid_request_error", "password_incorrect");
    assert_param (wrong, "current_password");
    ot_assert_error (none, 400, "invalid_request_error", "parameter_missing");
    ot_assert_error (card_password, 400, "invalid_request_error", "password_incorrect");
    ot_assert_error (unknown, 404, "invalid_request_error", "resource_missing");
    /* another wallet's line, by its id: not this card's */
    not_mine = wallet_line_remove (wallet->token,
                                   ot_json_string (json_array_get_object_element (theirs_listed,
                                                                                  0), "id"));
    ot_assert_error (not_mine, 404, "invalid_request_error", "resource_missing");
  }
  lines = wallet_lines_ok (wallet);
  g_assert_cmpuint (json_array_get_length (lines), ==, 0);
  assert_line_pays ("01055577101", card->id);
  assert_line_of_empty_card ("01055577102");
  assert_line_unknown ("01055577104");
  audit ();
}

/* A user who has not applied for the card has no lines to show or take. */
static void
test_wallet_line_no_card (void)
{
  g_autoptr(OtResponse) user = ot_request (gw, "POST", "/v1/wallet/users", NULL, NULL,
                                           "{\"login_id\": \"cardless\", \"password\": \""
                                           WALLET_PASSWORD "\", \"name\": \"No Card\","
                                           " \"email\": \"cardless@wallet.example\"}");
  g_autoptr(OtResponse) session = ot_request (gw, "POST", "/v1/wallet/sessions", NULL, NULL,
                                              "{\"login_id\": \"cardless\", \"password\": \""
                                              WALLET_PASSWORD "\"}");
  const char *token;

  ot_assert_status (user, 201);
  ot_assert_status (session, 201);
  token = ot_json_string (ot_response_object (session), "token");
  {
    g_autoptr(OtResponse) add = wallet_line_add (token, "01055577201", WALLET_PASSWORD);
    g_autoptr(OtResponse) wrong = wallet_line_add (token, "01055577201", "not it");
    g_autoptr(OtResponse) list = wallet_lines (token);
    g_autoptr(OtResponse) remove = wallet_line_remove (token, "cn_0123456789abcdef01234567");

    ot_assert_error (add, 409, "invalid_request_error", "card_not_issued");
    ot_assert_error (wrong, 400, "invalid_request_error", "password_incorrect");
    ot_assert_error (list, 409, "invalid_request_error", "card_not_issued");
    ot_assert_error (remove, 409, "invalid_request_error", "card_not_issued");
  }
  assert_line_unknown ("01055577201");
}

/* Without a session, or with one that was revoked, every route is 401;
 * the session itself proves nothing more: five wrong passwords lock the
 * login, as on every route that asks for it. */
static void
test_wallet_line_sessions (void)
{
  g_autoptr(OtWallet) wallet = ot_wallet_new (gw, "none");
  g_autofree char *other = wallet_sign_in (wallet, WALLET_PASSWORD);
  g_autoptr(OtResponse) reg = wallet_line_add (wallet->token, "01055577301", WALLET_PASSWORD);
  g_autoptr(OtResponse) out = NULL;
  g_autoptr(OtResponse) locked = NULL;
  g_autoptr(JsonArray) lines = NULL;
  const char *id;
  const char *tokens[] = { NULL, "ws_not_a_session", NULL };

  ot_assert_status (reg, 200);
  id = ot_json_string (ot_response_object (reg), "id");
  out = ot_request (gw, "DELETE", "/v1/wallet/sessions/current", wallet->token, NULL, NULL);
  ot_assert_status (out, 200);
  tokens[2] = wallet->token;
  for (guint i = 0; i < G_N_ELEMENTS (tokens); i++)
    {
      g_autoptr(OtResponse) add = wallet_line_add (tokens[i], "01055577302", WALLET_PASSWORD);
      g_autoptr(OtResponse) list = wallet_lines (tokens[i]);
      g_autoptr(OtResponse) remove = wallet_line_remove (tokens[i], id);

      ot_assert_error (add, 401, "authentication_error", NULL);
      ot_assert_error (list, 401, "authentication_error", NULL);
      ot_assert_error (remove, 401, "authentication_error", NULL);
    }
  /* signing out forgets no line: the other session still sees it */
  assert_line_of_empty_card ("01055577301");
  g_free (wallet->token);
  wallet->token = g_steal_pointer (&other);
  lines = wallet_lines_ok (wallet);
  g_assert_cmpuint (json_array_get_length (lines), ==, 1);
  assert_line_unknown ("01055577302");

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(OtResponse) r = wallet_line_add (wallet->token, "01055577302", "not it");

      ot_assert_error (r, 400, "invalid_request_error", "password_incorrect");
    }
  locked = wallet_line_add (wallet->token, "01055577302", WALLET_PASSWORD);
  ot_assert_error (locked, 429, "rate_limit_error", "login_locked");
  assert_line_unknown ("01055577302");
  audit ();
}

/* A new sign-in password takes the card's lines with it, as a new card
 * password does: whoever knew the old one registered them. */
static void
test_wallet_line_password_changes (void)
{
  g_autoptr(OtWallet) wallet = ot_wallet_new (gw, "none");
  g_autoptr(OtResponse) reg = wallet_line_add (wallet->token, "01055577401", WALLET_PASSWORD);
  g_autoptr(OtResponse) changed = NULL;
  g_autoptr(OtResponse) again = NULL;
  g_autoptr(OtResponse) card_changed = NULL;
  g_autoptr(JsonArray) after_sign_in = NULL;
  g_autoptr(JsonArray) after_card = NULL;

  ot_assert_status (reg, 200);
  assert_line_of_empty_card ("01055577401");
  changed = ot_request (gw, "POST", "/v1/wallet/me/password", wallet->token, NULL,
                        "{\"current_password\": \"" WALLET_PASSWORD "\","
                        " \"new_password\": \"battery staple\"}");
  ot_assert_status (changed, 200);
  assert_line_unknown ("01055577401");
  after_sign_in = wallet_lines_ok (wallet);
  g_assert_cmpuint (json_array_get_length (after_sign_in), ==, 0);

  again = wallet_line_add (wallet->token, "01055577401", "battery staple");
  ot_assert_status (again, 200);
  assert_line_of_empty_card ("01055577401");
  card_changed = ot_request (gw, "POST", "/v1/wallet/card/password", wallet->token, NULL,
                             "{\"current_password\": \"battery staple\", \"new_password\":"
                             " \"7913\"}");
  ot_assert_status (card_changed, 200);
  assert_line_unknown ("01055577401");
  after_card = wallet_lines_ok (wallet);
  g_assert_cmpuint (json_array_get_length (after_card), ==, 0);
  audit ();
}

/* Wrong passwords on the list count towards the card's lockout and the
 * address's limit, like on every card-holder route: a gateway of its own,
 * with a low limit. */
static void
test_calling_number_list_lockout (void)
{
  OtGateway *own = ot_gateway_start ("[limits]\nfailures_per_minute=6\n", FALSE);
  g_autoptr(OtCard) card = ot_new_card (own, 10000, "2580");
  g_autoptr(OtCard) other = ot_new_card (own, 10000, "2580");
  g_autoptr(OtResponse) locked = NULL;
  g_autoptr(OtResponse) sixth = NULL;
  g_autoptr(OtResponse) limited = NULL;

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(OtResponse) r = list_lines (own, card->number, "0000");

      ot_assert_error (r, 402, "card_error", "invalid_credentials");
    }
  locked = list_lines (own, card->number, "2580");
  ot_assert_error (locked, 402, "card_error", "card_locked");
  sixth = list_lines (own, other->number, "0000");
  ot_assert_error (sixth, 402, "card_error", "invalid_credentials");
  limited = list_lines (own, other->number, "2580");
  ot_assert_error (limited, 429, "rate_limit_error", "rate_limited");
  json_object_unref (ot_assert_audit_balanced (own));
  ot_gateway_stop (own);
}

/* A rate table's name and its rates' descriptions are shown to the lines'
 * merchants and on statements: what hides or turns text around is
 * refused, and no table is written. */
static void
test_rate_table_invisible (void)
{
  const struct { const char *name, *description, *param; } refused[] = {
    { "\\u202elacoL", "Seoul", "name" },
    { "Local\\u200b", "Seoul", "name" },
    { "Local\\n", "Seoul", "name" },
    { "Local", "Seoul\\u2066", "rates[0].description" },
    { "Local", "\\ufeffSeoul", "rates[0].description" },
    { "Local", "Seo\\u0007ul", "rates[0].description" },
  };
  static const char *table = "{\"name\": \"%s\", \"rates\": [{\"prefix\": \"02\", \"category\":"
                             " \"local\", \"per_minute\": 10, \"increment\": 1,"
                             " \"description\": \"%s\"}]}";
  gint64 before = ot_gateway_query_int (gw, "SELECT COUNT(*) FROM phone_rate_tables");

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *body = g_strdup_printf (table, refused[i].name, refused[i].description);
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/phone/rate_tables",
                                            ot_gateway_admin_token (gw), NULL, body);

      g_test_message ("body: %s", body);
      ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                       ==, refused[i].param);
    }
  g_assert_cmpint (ot_gateway_query_int (gw, "SELECT COUNT(*) FROM phone_rate_tables"), ==,
                   before);
  {
    g_autofree char *body = g_strdup_printf (table, "시내 요금 📞", "서울 Café");
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/phone/rate_tables",
                                          ot_gateway_admin_token (gw), NULL, body);

    ot_assert_status (r, 200);
  }
}

static void
test_refusals (void)
{
  g_autoptr(OtCard) card = new_card (10000);
  g_autoptr(OtCard) fresh = ot_new_card (gw, 10000, NULL);
  g_autoptr(OtResponse) mall = start_call (mall_key, card->number, "2580", "0212345678", NULL);
  g_autoptr(OtResponse) nokey = ot_request (gw, "POST", "/v1/phone/sessions", NULL, NULL, "{}");
  g_autoptr(OtResponse) wrong = start_call (switch_key, card->number, "0000", "0212345678", NULL);
  g_autoptr(OtResponse) inactive = start_call (switch_key, fresh->number, "2580", "0212345678",
                                               NULL);
  g_autoptr(OtResponse) letters = start_call (switch_key, card->number, "2580", "02-123", NULL);
  g_autoptr(OtResponse) unknown = start_call (switch_key, card->number, "2580", "0212345678",
                                              ", \"tariff\": 1");
  g_autoptr(OtResponse) both = ot_request (gw, "POST", "/v1/phone/sessions", switch_key, NULL,
                                           "{\"calling_number\": \"01012345678\", \"password\":"
                                           " \"2580\", \"destination\": \"02\"}");
  g_autoptr(OtResponse) service = start_call (switch_key, card->number, "2580", "0212345678",
                                              ", \"service\": \"fax\"");
  g_autoptr(OtResponse) bad_rates = ot_request (gw, "POST", "/v1/admin/phone/rate_tables",
                                                ot_gateway_admin_token (gw), NULL,
                                                "{\"name\": \"x\", \"rates\": [{\"prefix\":"
                                                " \"02\", \"category\": \"local\", \"per_minute\":"
                                                " 10, \"increment\": 0}]}");
  g_autoptr(OtResponse) dup_rates = ot_request (gw, "POST", "/v1/admin/phone/rate_tables",
                                                ot_gateway_admin_token (gw), NULL,
                                                "{\"name\": \"x\", \"rates\": ["
                                                "{\"prefix\": \"02\", \"category\": \"local\","
                                                " \"per_minute\": 10, \"increment\": 1},"
                                                "{\"prefix\": \"02\", \"category\": \"local\","
                                                " \"per_minute\": 10, \"increment\": 1}]}");

  ot_assert_error (mall, 401, "authentication_error", "not_a_switch");
  ot_assert_error (nokey, 401, "authentication_error", NULL);
  ot_assert_error (wrong, 402, "card_error", "invalid_credentials");
  ot_assert_error (inactive, 402, "card_error", "card_not_active");
  ot_assert_error (letters, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (unknown, 400, "invalid_request_error", "parameter_unknown");
  ot_assert_error (both, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (service, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (bad_rates, 400, "invalid_request_error", "parameter_invalid");
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (bad_rates), "error"),
                                   "param"), ==, "rates[0].increment");
  ot_assert_error (dup_rates, 400, "invalid_request_error", "parameter_invalid");
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (dup_rates), "error"),
                                   "param"), ==, "rates[1].prefix");
  {
    /* a card number as a member's name is not repeated */
    g_autoptr(OtResponse) number_member = ot_request (
      gw, "POST", "/v1/admin/phone/rate_tables", ot_gateway_admin_token (gw), NULL,
      "{\"name\": \"x\", \"rates\": [{\"prefix\": \"02\", \"category\": \"local\","
      " \"per_minute\": 10, \"increment\": 1, \"9410275367198721\": 1}]}");

    ot_assert_error (number_member, 400, "invalid_request_error", "parameter_invalid");
    g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (number_member), "error"),
                                     "param"), ==, "rates[0]");
    g_assert_null (strstr (number_member->body, "9410275367198721"));
  }
  ot_assert_card_balance (gw, card->number, "2580", 10000, 10000);
  audit ();
}

/* A switch that vanishes mid-call: its own gateway, with short grants. */
static void
test_switch_vanishes (void)
{
  OtGateway *short_gw = ot_gateway_start ("[phone]\nquota_seconds=5\nsession_grace=1\n"
                                          "sweep_interval=1\n", FALSE);
  OtGateway *saved = gw;
  g_autofree char *saved_key = switch_key;
  g_autoptr(OtCard) card = NULL;
  g_autoptr(JsonObject) s = NULL;
  g_autoptr(JsonObject) u = NULL;
  g_autoptr(OtResponse) late = NULL;
  g_autofree char *path = NULL;
  gint64 deadline;
  const char *status = "open";

  gw = short_gw;
  switch_key = create_switch (gw, "Vanishing switch");
  json_object_unref (load_rates (gw, rate_table));
  card = new_card (10000);

  /* Grants end on a whole 10 s unit: 5 s asked, 10 s granted. */
  s = start_ok (card->number, "0212345678");
  g_assert_cmpint (ot_json_int (s, "granted_seconds"), ==, 10);
  u = report_ok (ot_json_string (s, "id"), "update", 1, 7);
  g_assert_cmpint (ot_json_int (u, "amount_charged"), ==, 10);
  g_assert_cmpint (ot_json_int (u, "granted_seconds"), ==, 13);   /* to 20 s */
  ot_assert_card_balance (gw, card->number, "2580", 9990, 9980);

  /* Nothing more from the switch: 13 s and 1 s of grace later the sweep ends
   * the session at what was reported and gives the reservation back. */
  path = g_strdup_printf ("/v1/phone/sessions/%s", ot_json_string (s, "id"));
  deadline = g_get_monotonic_time () + 40 * G_USEC_PER_SEC;
  while (g_str_equal (status, "open") && g_get_monotonic_time () < deadline)
    {
      g_autoptr(OtResponse) get = NULL;

      g_usleep (G_USEC_PER_SEC / 2);
      get = ot_request (gw, "GET", path, switch_key, NULL, NULL);
      ot_assert_status (get, 200);
      status = g_intern_string (ot_json_string (ot_response_object (get), "status"));
    }
  g_assert_cmpstr (status, ==, "expired");
  ot_assert_card_balance (gw, card->number, "2580", 9990, 9990);
  late = report_call (ot_json_string (s, "id"), "terminate", 2, 20);
  ot_assert_error (late, 409, "invalid_request_error", "session_ended");
  audit ();

  g_free (switch_key);
  switch_key = g_steal_pointer (&saved_key);
  gw = saved;
  ot_gateway_stop (short_gw);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *bank_config = NULL;
  g_autofree char *config = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  bank = ot_bank_start (NULL);
  bank_config = ot_bank_gateway_config (bank, 5, NULL);
  config = g_strconcat (PHONE_CONFIG, bank_config, NULL);
  gw = ot_gateway_start (config, FALSE);
  g_free (ot_create_merchant (gw, "Mall", &mall_key));
  switch_key = create_switch (gw, "Test switch");
  {
    g_autoptr(OtCard) card = new_card (10000);
    g_autoptr(OtResponse) early = start_call (switch_key, card->number, "2580", "0212345678",
                                              NULL);

    ot_assert_error (early, 409, "invalid_request_error", "no_rate_table");
  }
  json_object_unref (load_rates (gw, rate_table));

  g_test_add_func ("/phone/normal-call", test_normal_call);
  g_test_add_func ("/phone/request-numbers", test_request_numbers);
  g_test_add_func ("/phone/cut-at-zero", test_cut_at_zero);
  g_test_add_func ("/phone/concurrent-calls", test_concurrent_calls);
  g_test_add_func ("/phone/parallel-starts", test_parallel_starts);
  g_test_add_func ("/phone/failed-neighbour", test_failed_neighbour);
  g_test_add_func ("/phone/rates-by-prefix", test_rates_by_prefix);
  g_test_add_func ("/phone/rate-versions", test_rate_versions);
  g_test_add_func ("/phone/services-and-channels", test_services_and_channels);
  g_test_add_func ("/phone/calling-number", test_calling_number);
  g_test_add_func ("/phone/calling-number-of-closed-card", test_calling_number_of_closed_card);
  g_test_add_func ("/phone/calling-number-wallet-card", test_calling_number_wallet_card);
  g_test_add_func ("/phone/calling-number-password-change", test_calling_number_password_change);
  g_test_add_func ("/phone/calling-number-wallet-reset", test_calling_number_wallet_reset);
  g_test_add_func ("/phone/calling-number-list", test_calling_number_list);
  g_test_add_func ("/phone/calling-number-list-lockout", test_calling_number_list_lockout);
  g_test_add_func ("/phone/wallet-line", test_wallet_line);
  g_test_add_func ("/phone/wallet-line-refusals", test_wallet_line_refusals);
  g_test_add_func ("/phone/wallet-line-no-card", test_wallet_line_no_card);
  g_test_add_func ("/phone/wallet-line-sessions", test_wallet_line_sessions);
  g_test_add_func ("/phone/wallet-line-password-changes", test_wallet_line_password_changes);
  g_test_add_func ("/phone/refusals", test_refusals);
  g_test_add_func ("/phone/rate-table-invisible", test_rate_table_invisible);
  g_test_add_func ("/phone/switch-vanishes", test_switch_vanishes);
  status = g_test_run ();

  ot_gateway_stop (gw);
  ot_bank_stop (bank);
  g_free (switch_key);
  g_free (mall_key);
  return status;
}
