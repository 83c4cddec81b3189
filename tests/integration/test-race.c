/* test-race.c: concurrent payments never take more than a card holds
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every request here runs in its own thread with its own connection, warmed
 * up beforehand, and all of them are released at once, so that they reach
 * the gateway together. Each test starts its own gateway so that the audit
 * totals belong to the test alone.
 */
#include <string.h>

#include "onepin-test-gateway.h"
#include "robust-http.h"

#define PASSWORD "race-pass-4821"

typedef struct
{
  const char *method;
  char       *path;
  const char *bearer;
  char       *key;
  char       *body;
  RhResult    result;
  gboolean    answered;
} Job;

typedef struct
{
  const char *url;
  RhGate     *gate;
  Job        *job;
} JobThread;

static void
job_clear (Job *job)
{
  g_free (job->path);
  g_free (job->key);
  g_free (job->body);
  rh_result_clear (&job->result);
}

static gpointer
job_thread (gpointer data)
{
  JobThread *jt = data;
  g_autoptr(SoupSession) session = rh_session_new (60, 2);
  RhResult warm;

  /* open the connection before the start signal */
  if (rh_send (session, jt->url, "GET", "/healthz", NULL, NULL, NULL, 0, &warm))
    g_assert_cmpuint (warm.status, ==, 200);
  rh_result_clear (&warm);

  rh_gate_wait (jt->gate);
  jt->job->answered = rh_send (session, jt->url, jt->job->method, jt->job->path,
                               jt->job->bearer, jt->job->key, jt->job->body, -1,
                               &jt->job->result);
  return NULL;
}

/* Runs all @jobs at once, one thread each, and asserts each got an answer. */
static void
run_jobs (OtGateway *gw,
          Job       *jobs,
          guint      n)
{
  RhGate gate;
  g_autofree JobThread *jts = g_new0 (JobThread, n);
  g_autofree GThread **threads = g_new0 (GThread *, n);
  gint64 start;

  rh_gate_init (&gate);
  for (guint i = 0; i < n; i++)
    {
      jts[i].url = ot_gateway_url (gw);
      jts[i].gate = &gate;
      jts[i].job = &jobs[i];
      threads[i] = g_thread_new ("race", job_thread, &jts[i]);
    }
  rh_gate_open (&gate, n);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    g_thread_join (threads[i]);
  g_test_message ("%u concurrent requests answered in %.1f ms", n,
                  (g_get_monotonic_time () - start) / 1000.0);
  rh_gate_clear (&gate);

  for (guint i = 0; i < n; i++)
    if (!jobs[i].answered)
      g_error ("%s %s got no answer: %s", jobs[i].method, jobs[i].path,
               jobs[i].result.error->message);
}

static void
payment_job (Job        *job,
             const char *bearer,
             const char *key,
             const char *number,
             gint64      amount,
             gboolean    capture)
{
  job->method = "POST";
  job->path = g_strdup ("/v1/payments");
  job->bearer = bearer;
  job->key = g_strdup (key);
  job->body = rh_payment_body (number, PASSWORD, amount, capture, key);
}

static void
action_job (Job        *job,
            const char *bearer,
            const char *key,
            const char *payment_id,
            const char *action)
{
  job->method = "POST";
  job->path = g_strdup_printf ("/v1/payments/%s/%s", payment_id, action);
  job->bearer = bearer;
  job->key = g_strdup (key);
  job->body = g_strdup ("{}");
}

static gboolean
is_insufficient_funds (RhResult *r)
{
  return r->status == 402
         && g_strcmp0 (rh_error_field (r, "type"), "card_error") == 0
         && g_strcmp0 (rh_error_field (r, "decline_code"), "insufficient_funds") == 0;
}

static gboolean
is_state_conflict (RhResult *r)
{
  return r->status == 409
         && g_strcmp0 (rh_error_field (r, "type"), "invalid_request_error") == 0;
}

/* Asserts a 200 payment answer of @amount and @status, and returns its id. */
static const char *
check_payment (Job        *job,
               gint64      amount,
               const char *status)
{
  const char *id = rh_string (&job->result, "id");

  if (id == NULL || !g_str_has_prefix (id, "pay_"))
    g_error ("%s %s: no payment id: %s", job->method, job->path,
             rh_body_text (&job->result));
  g_assert_cmpstr (rh_string (&job->result, "object"), ==, "payment");
  g_assert_cmpstr (rh_string (&job->result, "status"), ==, status);
  g_assert_cmpint (rh_int (&job->result, "amount", -1), ==, amount);
  g_assert_cmpint (rh_int (&job->result, "amount_captured", -1), ==,
                   g_str_equal (status, "captured") ? amount : 0);
  return id;
}

static void
unexpected (Job *job)
{
  g_error ("%s %s (key %s): unexpected %u %s", job->method, job->path,
           job->key != NULL ? job->key : "-", job->result.status,
           rh_body_text (&job->result));
}

static OtCard *
new_card (OtGateway *gw,
          gint64     value)
{
  return ot_new_card (gw, value, PASSWORD);
}

static gint64
card_balance (OtGateway *gw,
              OtCard    *card,
              gint64    *available)
{
  g_autoptr(SoupSession) session = rh_session_new (30, 1);

  return rh_card_balance (session, ot_gateway_url (gw), card->number, PASSWORD,
                          available);
}

/* Pages through GET /v1/payments and returns how many the merchant sees. */
static guint
count_listed_payments (OtGateway  *gw,
                       const char *secret_key,
                       GHashTable *expected_ids)
{
  g_autofree char *after = NULL;
  guint count = 0;

  for (;;)
    {
      g_autofree char *path = after == NULL
        ? g_strdup ("/v1/payments?limit=100")
        : g_strdup_printf ("/v1/payments?limit=100&starting_after=%s", after);
      g_autoptr(OtResponse) r = ot_request (gw, "GET", path, secret_key, NULL, NULL);
      JsonObject *o;
      JsonArray *data;
      guint n;

      g_assert_cmpuint (r->status, ==, 200);
      o = ot_response_object (r);
      g_assert_nonnull (o);
      data = json_object_get_array_member (o, "data");
      n = json_array_get_length (data);
      for (guint i = 0; i < n; i++)
        {
          const char *id = json_object_get_string_member (json_array_get_object_element (data, i), "id");

          if (expected_ids != NULL && !g_hash_table_contains (expected_ids, id))
            g_error ("listed payment %s was never acknowledged to this merchant", id);
          g_free (after);
          after = g_strdup (id);
        }
      count += n;
      if (!json_object_get_boolean_member (o, "has_more") || n == 0)
        break;
    }
  return count;
}

static void
assert_audit (OtGateway *gw,
              gint64     cards_balance_total,
              gint64     pending_holds_total)
{
  JsonObject *audit = ot_assert_audit_balanced (gw);

  g_assert_cmpint (json_object_get_int_member (audit, "cards_balance_total"), ==,
                   cards_balance_total);
  g_assert_cmpint (json_object_get_int_member (audit, "pending_holds_total"), ==,
                   pending_holds_total);
  g_assert_cmpint (json_object_get_int_member (audit, "total_debits"), ==,
                   json_object_get_int_member (audit, "total_credits"));
  json_object_unref (audit);
}

/* 150 payments of 1,000 won race for a card of 100,000 won: exactly 100 win.
 * Run with the default configuration (HTTP on the main thread), and with one
 * and four I/O threads ([gateway] http_threads). */
static void
test_one_card (gconstpointer config)
{
  OtGateway *gw = ot_gateway_start (config, FALSE);
  g_autofree char *sk = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Race Mall", &sk);
  OtCard *card = new_card (gw, 100000);
  const guint n = 150;
  g_autofree Job *jobs = g_new0 (Job, n);
  g_autoptr(GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint ok = 0, declined = 0;
  gint64 available = -1;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *key = g_strdup_printf ("race-one-%u", i);
      payment_job (&jobs[i], sk, key, card->number, 1000, TRUE);
    }
  run_jobs (gw, jobs, n);

  for (guint i = 0; i < n; i++)
    {
      if (jobs[i].result.status == 200)
        {
          const char *id = check_payment (&jobs[i], 1000, "captured");

          g_assert_cmpstr (rh_string (&jobs[i].result, "card_id"), ==, card->id);
          g_assert_cmpstr (rh_string (&jobs[i].result, "merchant"), ==, mch);
          g_assert_true (g_hash_table_add (ids, g_strdup (id)));
          ok++;
        }
      else if (is_insufficient_funds (&jobs[i].result))
        declined++;
      else
        unexpected (&jobs[i]);
    }
  g_test_message ("one card: %u approved, %u declined", ok, declined);
  g_assert_cmpuint (ok, ==, 100);
  g_assert_cmpuint (declined, ==, 50);

  g_assert_cmpint (card_balance (gw, card, &available), ==, 0);
  g_assert_cmpint (available, ==, 0);
  assert_audit (gw, 0, 0);

  /* every approval is there, and nothing else */
  g_assert_cmpuint (count_listed_payments (gw, sk, ids), ==, 100);
  {
    GHashTableIter iter;
    gpointer id;

    g_hash_table_iter_init (&iter, ids);
    while (g_hash_table_iter_next (&iter, &id, NULL))
      {
        g_autofree char *path = g_strdup_printf ("/v1/payments/%s", (char *) id);
        g_autoptr(OtResponse) r = ot_request (gw, "GET", path, sk, NULL, NULL);

        g_assert_cmpuint (r->status, ==, 200);
        g_assert_cmpstr (json_object_get_string_member (ot_response_object (r), "status"),
                         ==, "captured");
      }
  }

  for (guint i = 0; i < n; i++)
    job_clear (&jobs[i]);
  ot_card_free (card);
  ot_gateway_stop (gw);
}

/* Holds (capture: false) and direct captures race with each other and with
 * double captures of earlier holds; then captures race with cancels. */
static void
test_holds_and_captures (void)
{
  OtGateway *gw = ot_gateway_start (NULL, FALSE);
  g_autofree char *sk = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Hold Mall", &sk);
  OtCard *card = new_card (gw, 100000);
  const guint n_pre = 30, n_new = 100;
  const guint n = 2 * n_pre + n_new;
  g_autofree Job *jobs = g_new0 (Job, n);
  g_autoptr(GPtrArray) pre_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) new_holds = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(SoupSession) session = rh_session_new (30, 1);
  guint new_captured = 0, new_held = 0, new_declined = 0;
  gint64 balance, available = -1;

  /* 30 holds of 1,000, one by one: balance 100,000, available 70,000 */
  for (guint i = 0; i < n_pre; i++)
    {
      g_autofree char *key = g_strdup_printf ("race-pre-%u", i);
      g_autofree char *body = rh_payment_body (card->number, PASSWORD, 1000, FALSE, key);
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/payments", sk, key, body);
      JsonObject *o;

      g_assert_cmpuint (r->status, ==, 200);
      o = ot_response_object (r);
      g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "authorized");
      g_ptr_array_add (pre_ids, g_strdup (json_object_get_string_member (o, "id")));
    }
  g_assert_cmpint (card_balance (gw, card, &available), ==, 100000);
  g_assert_cmpint (available, ==, 70000);
  assert_audit (gw, 100000, 30000);

  /* each hold captured twice at once, and 100 new payments of 1,000 (half
   * holds, half captures) racing for the 70,000 left */
  for (guint i = 0; i < n_pre; i++)
    for (guint j = 0; j < 2; j++)
      {
        g_autofree char *key = g_strdup_printf ("race-cap-%u-%u", i, j);
        action_job (&jobs[2 * i + j], sk, key, g_ptr_array_index (pre_ids, i), "capture");
      }
  for (guint i = 0; i < n_new; i++)
    {
      g_autofree char *key = g_strdup_printf ("race-new-%u", i);
      payment_job (&jobs[2 * n_pre + i], sk, key, card->number, 1000, i % 2 == 0);
    }
  run_jobs (gw, jobs, n);

  for (guint i = 0; i < n_pre; i++)
    {
      Job *a = &jobs[2 * i], *b = &jobs[2 * i + 1];
      Job *winner = a->result.status == 200 ? a : b;
      Job *loser = winner == a ? b : a;

      if (winner->result.status != 200)
        unexpected (winner);
      if (!is_state_conflict (&loser->result))
        unexpected (loser);
      g_assert_cmpstr (check_payment (winner, 1000, "captured"), ==,
                       g_ptr_array_index (pre_ids, i));
    }
  for (guint i = 2 * n_pre; i < n; i++)
    {
      Job *job = &jobs[i];

      if (job->result.status == 200)
        {
          gboolean capture = (i - 2 * n_pre) % 2 == 0;
          const char *id = check_payment (job, 1000, capture ? "captured" : "authorized");

          if (capture)
            new_captured++;
          else
            {
              new_held++;
              g_ptr_array_add (new_holds, g_strdup (id));
            }
        }
      else if (is_insufficient_funds (&job->result))
        new_declined++;
      else
        unexpected (job);
    }
  g_test_message ("holds race: %u captured, %u held, %u declined",
                  new_captured, new_held, new_declined);
  g_assert_cmpuint (new_captured + new_held, ==, 70);
  g_assert_cmpuint (new_declined, ==, 30);

  balance = card_balance (gw, card, &available);
  g_assert_cmpint (balance, ==, 100000 - 30000 - 1000 * (gint64) new_captured);
  g_assert_cmpint (available, ==, 0);
  assert_audit (gw, balance, 1000 * (gint64) new_held);

  for (guint i = 0; i < n; i++)
    job_clear (&jobs[i]);

  /* now each open hold is captured and canceled at the same moment */
  if (new_holds->len > 0)
    {
      const guint m = 2 * new_holds->len;
      g_autofree Job *jobs2 = g_new0 (Job, m);
      guint captured = 0, canceled = 0;

      for (guint i = 0; i < new_holds->len; i++)
        {
          g_autofree char *k1 = g_strdup_printf ("race-end-cap-%u", i);
          g_autofree char *k2 = g_strdup_printf ("race-end-cancel-%u", i);

          action_job (&jobs2[2 * i], sk, k1, g_ptr_array_index (new_holds, i), "capture");
          action_job (&jobs2[2 * i + 1], sk, k2, g_ptr_array_index (new_holds, i), "cancel");
        }
      run_jobs (gw, jobs2, m);

      for (guint i = 0; i < new_holds->len; i++)
        {
          Job *cap = &jobs2[2 * i], *can = &jobs2[2 * i + 1];
          const char *id = g_ptr_array_index (new_holds, i);
          g_autofree char *path = g_strdup_printf ("/v1/payments/%s", id);
          g_autoptr(OtResponse) r = NULL;
          const char *final;

          if (cap->result.status == 200 && is_state_conflict (&can->result))
            {
              g_assert_cmpstr (check_payment (cap, 1000, "captured"), ==, id);
              captured++;
            }
          else if (can->result.status == 200 && is_state_conflict (&cap->result))
            {
              g_assert_cmpstr (rh_string (&can->result, "status"), ==, "canceled");
              g_assert_cmpstr (rh_string (&can->result, "id"), ==, id);
              canceled++;
            }
          else
            g_error ("hold %s: capture got %u %s, cancel got %u %s", id,
                     cap->result.status, rh_body_text (&cap->result),
                     can->result.status, rh_body_text (&can->result));

          r = ot_request (gw, "GET", path, sk, NULL, NULL);
          g_assert_cmpuint (r->status, ==, 200);
          final = json_object_get_string_member (ot_response_object (r), "status");
          g_assert_cmpstr (final, ==, cap->result.status == 200 ? "captured" : "canceled");
        }
      g_test_message ("capture/cancel race: %u captured, %u canceled", captured, canceled);

      balance -= 1000 * (gint64) captured;
      for (guint i = 0; i < m; i++)
        job_clear (&jobs2[i]);
    }

  g_assert_cmpint (rh_card_balance (session, ot_gateway_url (gw), card->number,
                                    PASSWORD, &available), ==, balance);
  g_assert_cmpint (available, ==, balance);
  assert_audit (gw, balance, 0);

  (void) mch;
  ot_card_free (card);
  ot_gateway_stop (gw);
}

/* Two merchants race for one card, with the same idempotency keys: a key's
 * scope is the caller's API key, so they do not collide. */
static void
test_two_merchants (void)
{
  OtGateway *gw = ot_gateway_start (NULL, FALSE);
  g_autofree char *sk1 = NULL, *sk2 = NULL;
  g_autofree char *m1 = ot_create_merchant (gw, "Race Mall One", &sk1);
  g_autofree char *m2 = ot_create_merchant (gw, "Race Mall Two", &sk2);
  OtCard *card = new_card (gw, 100000);
  const guint n = 150;
  g_autofree Job *jobs = g_new0 (Job, n);
  g_autoptr(GHashTable) ids1 = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) ids2 = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint declined = 0;
  gint64 available = -1;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *key = g_strdup_printf ("race-two-%u", i / 2);
      payment_job (&jobs[i], i % 2 == 0 ? sk1 : sk2, key, card->number, 1000, TRUE);
    }
  run_jobs (gw, jobs, n);

  for (guint i = 0; i < n; i++)
    {
      if (jobs[i].result.status == 200)
        {
          const char *id = check_payment (&jobs[i], 1000, "captured");

          g_assert_false (jobs[i].result.replayed);
          g_assert_cmpstr (rh_string (&jobs[i].result, "merchant"), ==, i % 2 == 0 ? m1 : m2);
          g_assert_true (g_hash_table_add (i % 2 == 0 ? ids1 : ids2, g_strdup (id)));
        }
      else if (is_insufficient_funds (&jobs[i].result))
        declined++;
      else
        unexpected (&jobs[i]);
    }
  g_test_message ("two merchants: %u + %u approved, %u declined",
                  g_hash_table_size (ids1), g_hash_table_size (ids2), declined);
  g_assert_cmpuint (g_hash_table_size (ids1) + g_hash_table_size (ids2), ==, 100);
  g_assert_cmpuint (declined, ==, 50);

  g_assert_cmpint (card_balance (gw, card, &available), ==, 0);
  g_assert_cmpint (available, ==, 0);
  assert_audit (gw, 0, 0);

  /* each sees its own payments only */
  g_assert_cmpuint (count_listed_payments (gw, sk1, ids1), ==, g_hash_table_size (ids1));
  g_assert_cmpuint (count_listed_payments (gw, sk2, ids2), ==, g_hash_table_size (ids2));
  {
    GHashTableIter iter;
    gpointer id;

    g_hash_table_iter_init (&iter, ids1);
    while (g_hash_table_iter_next (&iter, &id, NULL))
      {
        g_autofree char *path = g_strdup_printf ("/v1/payments/%s", (char *) id);
        g_autoptr(OtResponse) mine = ot_request (gw, "GET", path, sk1, NULL, NULL);
        g_autoptr(OtResponse) theirs = ot_request (gw, "GET", path, sk2, NULL, NULL);

        g_assert_cmpuint (mine->status, ==, 200);
        ot_assert_error (theirs, 404, "invalid_request_error", NULL);
      }
  }

  for (guint i = 0; i < n; i++)
    job_clear (&jobs[i]);
  ot_card_free (card);
  ot_gateway_stop (gw);
}

/* The same key sent four times at once: one effect per key; the others are
 * replays (byte for byte) or 409 idempotency_in_flight. */
static void
test_same_key (void)
{
  OtGateway *gw = ot_gateway_start (NULL, FALSE);
  g_autofree char *sk = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Same Key Mall", &sk);
  OtCard *card = new_card (gw, 100000);
  const guint n_keys = 25, copies = 4, n = n_keys * copies;
  g_autofree Job *jobs = g_new0 (Job, n);
  g_autoptr(SoupSession) session = rh_session_new (30, 1);
  guint in_flight = 0, replays = 0;
  gint64 available = -1;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *key = g_strdup_printf ("race-same-%u", i / copies);
      payment_job (&jobs[i], sk, key, card->number, 1000, TRUE);
    }
  run_jobs (gw, jobs, n);

  for (guint k = 0; k < n_keys; k++)
    {
      Job *first = NULL;
      RhResult again;

      for (guint c = 0; c < copies; c++)
        {
          Job *job = &jobs[k * copies + c];

          if (job->result.status == 200 && !job->result.replayed)
            {
              if (first != NULL)
                g_error ("key %s took effect twice: %s and %s", job->key,
                         rh_body_text (&first->result), rh_body_text (&job->result));
              first = job;
              check_payment (job, 1000, "captured");
            }
        }
      if (first == NULL)
        g_error ("key race-same-%u: no first answer among the copies", k);
      for (guint c = 0; c < copies; c++)
        {
          Job *job = &jobs[k * copies + c];

          if (job == first)
            continue;
          if (job->result.status == 200 && job->result.replayed)
            {
              g_assert_true (g_bytes_equal (job->result.body, first->result.body));
              replays++;
            }
          else if (job->result.status == 409
                   && g_strcmp0 (rh_error_field (&job->result, "type"), "idempotency_error") == 0
                   && g_strcmp0 (rh_error_field (&job->result, "code"), "idempotency_in_flight") == 0)
            in_flight++;
          else
            unexpected (job);
        }

      /* settled now: a repeat is a replay of the first answer, byte for byte */
      g_assert_true (rh_send (session, ot_gateway_url (gw), "POST", "/v1/payments", sk,
                              first->key, first->body, -1, &again));
      g_assert_cmpuint (again.status, ==, 200);
      g_assert_true (again.replayed);
      g_assert_true (g_bytes_equal (again.body, first->result.body));
      rh_result_clear (&again);
    }
  g_test_message ("same key: %u replays, %u in flight", replays, in_flight);

  g_assert_cmpint (card_balance (gw, card, &available), ==, 100000 - 1000 * (gint64) n_keys);
  g_assert_cmpint (available, ==, 100000 - 1000 * (gint64) n_keys);
  assert_audit (gw, 100000 - 1000 * (gint64) n_keys, 0);

  (void) mch;
  for (guint i = 0; i < n; i++)
    job_clear (&jobs[i]);
  ot_card_free (card);
  ot_gateway_stop (gw);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/race/one-card", NULL, test_one_card);
  g_test_add_data_func ("/race/one-card/http-threads-1", "[gateway]\nhttp_threads=1\n",
                        test_one_card);
  g_test_add_data_func ("/race/one-card/http-threads-4", "[gateway]\nhttp_threads=4\n",
                        test_one_card);
  g_test_add_func ("/race/holds-and-captures", test_holds_and_captures);
  g_test_add_func ("/race/two-merchants", test_two_merchants);
  g_test_add_func ("/race/same-key", test_same_key);

  return g_test_run ();
}
