/* test-crash.c: nothing acknowledged is lost when the gateway is SIGKILLed
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Several clients post payments (each with its own Idempotency-Key) over
 * many cards, and refunds of payments they were told succeeded, while the
 * gateway is SIGKILLed at random moments and restarted on the same data dir.
 * Afterwards every request that got no answer is repeated with its key and
 * body, which settles whether it took effect. Then:
 *
 *  - every payment acknowledged with a 200 exists, with its refunds;
 *  - a repeat of an acknowledged request is a byte-for-byte replay;
 *  - for every card, balance = issued - acknowledged captures + refunds;
 *  - the list of payments holds exactly the acknowledged ones;
 *  - the audit is balanced and its totals match.
 */
#include <string.h>

#include "onepin-test-gateway.h"
#include "robust-http.h"

#define N_CARDS    50
#define CARD_VALUE 100000
#define N_CLIENTS  4
#define N_KILLS    6

typedef struct
{
  gboolean  refund;
  char     *key;
  char     *path;
  char     *body;
  guint     card;            /* index into cards */
  gint64    amount;
  gint64    refund_reserved; /* payments: refunds asked for so far */
  char     *payment_id;      /* payments: from the answer; refunds: the target */
  guint     status;          /* 0 while unanswered */
  GBytes   *answer;
  gboolean  replayed_later;  /* settled only by the final repeat */
} Req;

typedef struct
{
  GMutex    lock;
  GCond     cond;
  char     *url;
  guint     generation;
  gboolean  down;
  gboolean  stop;
} Shared;

typedef struct
{
  guint      index;
  Shared    *shared;
  GPtrArray *reqs;           /* of Req*, owned */
  GPtrArray *refundable;     /* of Req*, payments answered 200 */
  GRand     *rand;
  guint      seq;
  guint      answered;
  guint      unanswered;
  GString   *unexpected;
} Client;

static char *sk;
static char *card_numbers[N_CARDS];
static char *card_passwords[N_CARDS];

static void
req_free (Req *req)
{
  g_free (req->key);
  g_free (req->path);
  g_free (req->body);
  g_free (req->payment_id);
  g_clear_pointer (&req->answer, g_bytes_unref);
  g_free (req);
}

/* Records an answer; returns FALSE if it is not one this load can get. */
static gboolean
req_settle (Req      *req,
            RhResult *r)
{
  req->status = r->status;
  g_clear_pointer (&req->answer, g_bytes_unref);
  req->answer = g_bytes_ref (r->body);

  if (r->status == 200)
    {
      const char *id = rh_string (r, "id");

      if (req->refund)
        return id != NULL && g_str_has_prefix (id, "re_")
               && g_strcmp0 (rh_string (r, "payment"), req->payment_id) == 0
               && rh_int (r, "amount", -1) == req->amount
               && g_strcmp0 (rh_string (r, "status"), "succeeded") == 0;
      if (id == NULL || !g_str_has_prefix (id, "pay_")
          || rh_int (r, "amount", -1) != req->amount
          || g_strcmp0 (rh_string (r, "status"), "captured") != 0)
        return FALSE;
      g_free (req->payment_id);
      req->payment_id = g_strdup (id);
      return TRUE;
    }
  /* a card can run dry in principle; nothing else is expected */
  return !req->refund && r->status == 402
         && g_strcmp0 (rh_error_field (r, "decline_code"), "insufficient_funds") == 0;
}

static Req *
client_next_request (Client *c)
{
  Req *req = g_new0 (Req, 1);

  c->seq++;
  if (c->refundable->len > 0 && g_rand_int_range (c->rand, 0, 10) == 0)
    {
      guint i = g_rand_int_range (c->rand, 0, c->refundable->len);
      Req *pay = g_ptr_array_index (c->refundable, i);
      gint64 left = pay->amount - pay->refund_reserved;

      req->refund = TRUE;
      req->key = g_strdup_printf ("crash-re-%u-%u", c->index, c->seq);
      req->path = g_strdup ("/v1/refunds");
      req->card = pay->card;
      req->payment_id = g_strdup (pay->payment_id);
      /* a full refund now and then, partial ones otherwise */
      req->amount = g_rand_boolean (c->rand) ? left : g_rand_int_range (c->rand, 1, left + 1);
      req->body = g_strdup_printf ("{\"payment\":\"%s\",\"amount\":%" G_GINT64_FORMAT "}",
                                   pay->payment_id, req->amount);
      pay->refund_reserved += req->amount;
      if (pay->refund_reserved == pay->amount)
        g_ptr_array_remove_index_fast (c->refundable, i);
    }
  else
    {
      g_autofree char *order = g_strdup_printf ("order-%u-%u", c->index, c->seq);

      req->key = g_strdup_printf ("crash-pay-%u-%u", c->index, c->seq);
      req->path = g_strdup ("/v1/payments");
      req->card = g_rand_int_range (c->rand, 0, N_CARDS);
      req->amount = g_rand_int_range (c->rand, 1, 101);
      req->body = rh_payment_body (card_numbers[req->card], card_passwords[req->card],
                                   req->amount, TRUE, order);
    }
  g_ptr_array_add (c->reqs, req);
  return req;
}

static gpointer
client_thread (gpointer data)
{
  Client *c = data;
  Shared *s = c->shared;
  g_autoptr(SoupSession) session = NULL;
  guint session_generation = G_MAXUINT;

  for (;;)
    {
      g_autofree char *url = NULL;
      guint generation;
      Req *req;
      RhResult r;

      g_mutex_lock (&s->lock);
      while (s->down && !s->stop)
        g_cond_wait (&s->cond, &s->lock);
      if (s->stop)
        {
          g_mutex_unlock (&s->lock);
          break;
        }
      url = g_strdup (s->url);
      generation = s->generation;
      g_mutex_unlock (&s->lock);

      if (session_generation != generation)
        {
          g_clear_object (&session);
          session = rh_session_new (10, 1);
          session_generation = generation;
        }

      req = client_next_request (c);
      if (rh_send (session, url, "POST", req->path, sk, req->key, req->body, -1, &r))
        {
          c->answered++;
          if (!req_settle (req, &r))
            g_string_append_printf (c->unexpected, "%s %s -> %u %s\n", req->path,
                                    req->key, r.status, rh_body_text (&r));
          else if (!req->refund && req->status == 200)
            g_ptr_array_add (c->refundable, req);
          rh_result_clear (&r);
          continue;
        }

      /* no answer: it stays unanswered until the final repeat; wait for
       * the gateway to come back (or for the end) */
      c->unanswered++;
      rh_result_clear (&r);
      g_mutex_lock (&s->lock);
      while (s->generation == generation && !s->stop)
        g_cond_wait (&s->cond, &s->lock);
      g_mutex_unlock (&s->lock);
    }
  return NULL;
}

static void
set_up_cards (OtGateway *gw)
{
  g_autoptr(GPtrArray) cards = ot_issue_cards (gw, N_CARDS, CARD_VALUE);

  g_assert_cmpuint (cards->len, ==, N_CARDS);
  for (guint i = 0; i < N_CARDS; i++)
    {
      OtCard *card = g_ptr_array_index (cards, i);

      card_numbers[i] = g_strdup (card->number);
      card_passwords[i] = g_strdup_printf ("crash-pw-%02u-%08x", i, g_random_int ());
      ot_register_card (gw, card_numbers[i], card_passwords[i]);
    }
}

static void
test_kill_and_replay (void)
{
  OtGateway *gw = ot_gateway_start (NULL, FALSE);
  g_autofree char *mch = NULL;
  Shared s = { 0 };
  Client clients[N_CLIENTS];
  GThread *threads[N_CLIENTS];
  g_autoptr(SoupSession) session = rh_session_new (30, 1);
  g_autoptr(GHashTable) payments = g_hash_table_new (g_str_hash, g_str_equal);  /* id -> Req* */
  g_autoptr(GString) failures = g_string_new (NULL);
  gint64 expected_balance[N_CARDS];
  gint64 expected_total = 0;
  guint n_unanswered = 0, n_replayed = 0, n_fresh = 0, n_checked_replays = 0;
  gint64 start = g_get_monotonic_time ();

  mch = ot_create_merchant (gw, "Crash Mall", &sk);
  set_up_cards (gw);

  g_mutex_init (&s.lock);
  g_cond_init (&s.cond);
  s.url = g_strdup (ot_gateway_url (gw));

  for (guint i = 0; i < N_CLIENTS; i++)
    {
      clients[i] = (Client) {
        .index = i,
        .shared = &s,
        .reqs = g_ptr_array_new_with_free_func ((GDestroyNotify) req_free),
        .refundable = g_ptr_array_new (),
        .rand = g_rand_new_with_seed (g_test_rand_int ()),
        .unexpected = g_string_new (NULL),
      };
      threads[i] = g_thread_new ("crash-client", client_thread, &clients[i]);
    }

  for (guint k = 0; k < N_KILLS; k++)
    {
      g_usleep (1000 * g_test_rand_int_range (300, 1500));
      ot_gateway_kill (gw);
      g_mutex_lock (&s.lock);
      s.down = TRUE;
      g_mutex_unlock (&s.lock);

      ot_gateway_restart (gw);

      g_mutex_lock (&s.lock);
      g_free (s.url);
      s.url = g_strdup (ot_gateway_url (gw));
      s.generation++;
      s.down = FALSE;
      g_cond_broadcast (&s.cond);
      g_mutex_unlock (&s.lock);
      g_test_message ("kill %u done at %.1f s", k + 1,
                      (g_get_monotonic_time () - start) / 1e6);
    }
  g_usleep (500 * 1000);

  g_mutex_lock (&s.lock);
  s.stop = TRUE;
  g_cond_broadcast (&s.cond);
  g_mutex_unlock (&s.lock);
  for (guint i = 0; i < N_CLIENTS; i++)
    g_thread_join (threads[i]);

  for (guint i = 0; i < N_CLIENTS; i++)
    {
      g_test_message ("client %u: %u answered, %u without an answer", i,
                      clients[i].answered, clients[i].unanswered);
      g_string_append (failures, clients[i].unexpected->str);
    }
  if (failures->len > 0)
    g_error ("unexpected answers under load:\n%s", failures->str);

  /* repeat every request that got no answer, with its key and body, in the
   * order each client sent them */
  for (guint i = 0; i < N_CLIENTS; i++)
    for (guint j = 0; j < clients[i].reqs->len; j++)
      {
        Req *req = g_ptr_array_index (clients[i].reqs, j);
        RhResult r;
        guint tries = 0;

        if (req->status != 0)
          continue;
        n_unanswered++;
        for (;;)
          {
            if (!rh_send (session, ot_gateway_url (gw), "POST", req->path, sk,
                          req->key, req->body, -1, &r))
              g_error ("repeat of %s: %s", req->key, r.error->message);
            /* a first attempt lost in the crash must not stay "in flight" */
            if (r.status == 409
                && g_strcmp0 (rh_error_field (&r, "code"), "idempotency_in_flight") == 0
                && ++tries < 50)
              {
                rh_result_clear (&r);
                g_usleep (100 * 1000);
                continue;
              }
            break;
          }
        if (!req_settle (req, &r))
          g_error ("repeat of %s %s: %u %s", req->path, req->key, r.status,
                   rh_body_text (&r));
        req->replayed_later = TRUE;
        if (r.replayed)
          n_replayed++;
        else
          n_fresh++;
        rh_result_clear (&r);
      }
  g_test_message ("%u requests without an answer: %u had taken effect (replayed), "
                  "%u had not (done now)", n_unanswered, n_replayed, n_fresh);

  /* expected balances, from acknowledged outcomes only */
  for (guint c = 0; c < N_CARDS; c++)
    expected_balance[c] = CARD_VALUE;
  for (guint i = 0; i < N_CLIENTS; i++)
    for (guint j = 0; j < clients[i].reqs->len; j++)
      {
        Req *req = g_ptr_array_index (clients[i].reqs, j);

        if (req->status != 200)
          continue;
        if (req->refund)
          expected_balance[req->card] += req->amount;
        else
          {
            expected_balance[req->card] -= req->amount;
            if (!g_hash_table_insert (payments, req->payment_id, req))
              g_error ("two requests answered with payment %s", req->payment_id);
          }
      }

  /* every acknowledged payment is there, with the refunds acknowledged on it */
  {
    g_autoptr(GHashTable) refunded = g_hash_table_new (g_str_hash, g_str_equal);
    GHashTableIter iter;
    gpointer id, value;

    for (guint i = 0; i < N_CLIENTS; i++)
      for (guint j = 0; j < clients[i].reqs->len; j++)
        {
          Req *req = g_ptr_array_index (clients[i].reqs, j);
          gint64 sum;

          if (!req->refund || req->status != 200)
            continue;
          sum = GPOINTER_TO_SIZE (g_hash_table_lookup (refunded, req->payment_id));
          g_hash_table_insert (refunded, req->payment_id,
                               GSIZE_TO_POINTER ((gsize) (sum + req->amount)));
        }

    g_hash_table_iter_init (&iter, payments);
    while (g_hash_table_iter_next (&iter, &id, &value))
      {
        Req *req = value;
        g_autofree char *path = g_strdup_printf ("/v1/payments/%s", (char *) id);
        RhResult r;

        if (!rh_send (session, ot_gateway_url (gw), "GET", path, sk, NULL, NULL, 0, &r))
          g_error ("GET %s: %s", path, r.error->message);
        if (r.status != 200)
          g_error ("acknowledged payment %s (key %s%s) is gone: %u %s", (char *) id,
                   req->key, req->replayed_later ? ", settled by the repeat" : "",
                   r.status, rh_body_text (&r));
        g_assert_cmpint (rh_int (&r, "amount", -1), ==, req->amount);
        g_assert_cmpint (rh_int (&r, "amount_captured", -1), ==, req->amount);
        g_assert_cmpint (rh_int (&r, "amount_refunded", -1), ==,
                         (gint64) GPOINTER_TO_SIZE (g_hash_table_lookup (refunded, id)));
        rh_result_clear (&r);
      }
  }

  /* a repeat of an acknowledged request is a replay, byte for byte */
  for (guint i = 0; i < N_CLIENTS; i++)
    for (guint j = 0; j < clients[i].reqs->len; j += 7)
      {
        Req *req = g_ptr_array_index (clients[i].reqs, j);
        RhResult r;

        if (req->status != 200)
          continue;
        if (!rh_send (session, ot_gateway_url (gw), "POST", req->path, sk, req->key,
                      req->body, -1, &r))
          g_error ("repeat of %s: %s", req->key, r.error->message);
        if (r.status != 200 || !r.replayed || !g_bytes_equal (r.body, req->answer))
          g_error ("repeat of acknowledged %s %s: %u (replayed %d) %s\nfirst answer was %.*s",
                   req->path, req->key, r.status, r.replayed, rh_body_text (&r),
                   (int) g_bytes_get_size (req->answer),
                   (const char *) g_bytes_get_data (req->answer, NULL));
        n_checked_replays++;
        rh_result_clear (&r);
      }
  g_test_message ("%u acknowledged requests repeated: all byte-for-byte replays",
                  n_checked_replays);

  /* balances, exactly */
  for (guint c = 0; c < N_CARDS; c++)
    {
      gint64 available = -1;
      gint64 balance = rh_card_balance (session, ot_gateway_url (gw), card_numbers[c],
                                        card_passwords[c], &available);

      if (balance != expected_balance[c])
        g_error ("card %u: balance %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT
                 " (issued - acknowledged captures + acknowledged refunds)",
                 c, balance, expected_balance[c]);
      g_assert_cmpint (available, ==, balance);
      expected_total += expected_balance[c];
    }

  /* no payment beyond the acknowledged ones */
  {
    g_autofree char *after = NULL;
    guint listed = 0;

    for (;;)
      {
        g_autofree char *path = after == NULL
          ? g_strdup ("/v1/payments?limit=100")
          : g_strdup_printf ("/v1/payments?limit=100&starting_after=%s", after);
        RhResult r;
        JsonArray *data;
        guint n;

        g_assert_true (rh_send (session, ot_gateway_url (gw), "GET", path, sk, NULL,
                                NULL, 0, &r));
        g_assert_cmpuint (r.status, ==, 200);
        data = json_object_get_array_member (rh_object (&r), "data");
        n = json_array_get_length (data);
        for (guint i = 0; i < n; i++)
          {
            const char *id = json_object_get_string_member (json_array_get_object_element (data, i), "id");

            if (!g_hash_table_contains (payments, id))
              g_error ("payment %s exists but was never acknowledged", id);
            g_free (after);
            after = g_strdup (id);
          }
        listed += n;
        if (n == 0 || !json_object_get_boolean_member (rh_object (&r), "has_more"))
          {
            rh_result_clear (&r);
            break;
          }
        rh_result_clear (&r);
      }
    g_test_message ("%u payments listed, %u acknowledged", listed,
                    g_hash_table_size (payments));
    g_assert_cmpuint (listed, ==, g_hash_table_size (payments));
  }

  {
    JsonObject *audit = ot_assert_audit_balanced (gw);

    g_assert_cmpint (json_object_get_int_member (audit, "cards_balance_total"), ==,
                     expected_total);
    g_assert_cmpint (json_object_get_int_member (audit, "pending_holds_total"), ==, 0);
    json_object_unref (audit);
  }
  g_test_message ("done in %.1f s", (g_get_monotonic_time () - start) / 1e6);

  for (guint i = 0; i < N_CLIENTS; i++)
    {
      g_ptr_array_unref (clients[i].refundable);
      g_ptr_array_unref (clients[i].reqs);
      g_rand_free (clients[i].rand);
      g_string_free (clients[i].unexpected, TRUE);
    }
  g_free (s.url);
  g_mutex_clear (&s.lock);
  g_cond_clear (&s.cond);
  for (guint c = 0; c < N_CARDS; c++)
    {
      g_free (card_numbers[c]);
      g_free (card_passwords[c]);
    }
  g_clear_pointer (&sk, g_free);
  ot_gateway_stop (gw);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/crash/kill-and-replay", test_kill_and_replay);

  return g_test_run ();
}
