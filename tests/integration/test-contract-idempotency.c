/* test-contract-idempotency.c: Idempotency-Key semantics
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <signal.h>
#include <sqlite3.h>
#include <string.h>

#include "onepin-shared.h"
#include "onepin-test-gateway.h"

static OtGateway *gw;

#define PW "idem-pass"

static char *
new_key (void)
{
  return g_strdup_printf ("key-%08x-%08x", g_random_int (), g_random_int ());
}

static char *
pay_body (const char *number,
          const char *password,
          gint64      amount,
          const char *order_id,
          gboolean    capture)
{
  return g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"%s\", "
                          "\"amount\": %" G_GINT64_FORMAT ", \"currency\": \"krw\", "
                          "\"order_id\": \"%s\", \"capture\": %s}", number, password,
                          amount, order_id, capture ? "true" : "false");
}

static void
assert_replay (OtResponse *first,
               OtResponse *again)
{
  g_assert_cmpuint (again->status, ==, first->status);
  g_assert_cmpuint (again->body_len, ==, first->body_len);
  g_assert_true (memcmp (again->body, first->body, first->body_len) == 0);
  g_assert_cmpstr (ot_response_header (again, "Idempotent-Replayed"), ==, "true");
}

static guint
count_payments (const char *secret)
{
  g_autoptr(OtResponse) r = ot_request (gw, "GET", "/v1/payments?limit=100", secret, NULL, NULL);

  ot_assert_status (r, 200);
  return json_array_get_length (ot_json_array (ot_response_object (r), "data"));
}

static void
test_replay_payment (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Replay Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, PW);
  g_autofree char *key = new_key ();
  g_autofree char *body = pay_body (card->number, PW, 1000, "r1", TRUE);
  g_autoptr(OtResponse) first = ot_request (gw, "POST", "/v1/payments", secret, key, body);
  guint i;

  ot_assert_status (first, 200);
  g_assert_null (ot_response_header (first, "Idempotent-Replayed"));
  for (i = 0; i < 3; i++)
    {
      g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/payments", secret, key, body);

      assert_replay (first, again);
    }
  ot_assert_card_balance (gw, card->number, PW, 9000, 9000);
  g_assert_cmpuint (count_payments (secret), ==, 1);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_key_reused (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Reuse Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, PW);
  g_autoptr(OtCard) card2 = ot_new_card (gw, 10000, PW);
  g_autofree char *key = new_key ();
  g_autofree char *body = pay_body (card->number, PW, 1000, "u1", FALSE);
  g_autoptr(OtResponse) first = ot_request (gw, "POST", "/v1/payments", secret, key, body);
  char *variants[] = {
    pay_body (card->number, PW, 1001, "u1", FALSE),
    pay_body (card->number, PW, 1000, "u2", FALSE),
    pay_body (card->number, PW, 1000, "u1", TRUE),
    pay_body (card2->number, PW, 1000, "u1", FALSE),
  };
  gsize i;

  ot_assert_status (first, 200);
  for (i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/payments", secret, key, variants[i]);

      g_test_message ("variant: %s", variants[i]);
      ot_assert_error (r, 422, "idempotency_error", "idempotency_key_reused");
      g_free (variants[i]);
    }
  ot_assert_card_balance (gw, card->number, PW, 10000, 9000);
  ot_assert_card_balance (gw, card2->number, PW, 10000, 10000);
  g_assert_cmpuint (count_payments (secret), ==, 1);

  /* and the original still replays */
  {
    g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/payments", secret, key, body);

    assert_replay (first, again);
  }
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_replay_decline (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Decline Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 5000, PW);
  g_autofree char *key = new_key ();
  g_autofree char *wrong = pay_body (card->number, "not-the-pw", 1000, "d1", TRUE);
  g_autoptr(OtResponse) first = ot_request (gw, "POST", "/v1/payments", secret, key, wrong);
  g_autofree char *key2 = new_key ();
  g_autofree char *big = pay_body (card->number, PW, 6000, "d2", TRUE);
  g_autoptr(OtResponse) first2 = ot_request (gw, "POST", "/v1/payments", secret, key2, big);
  guint i;

  ot_assert_error (first, 402, "card_error", "invalid_credentials");
  ot_assert_error (first2, 402, "card_error", "insufficient_funds");

  /* replays of a wrong password have no further effect: they do not count
   * towards the 5-failure lockout */
  for (i = 0; i < 6; i++)
    {
      g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/payments", secret, key, wrong);

      assert_replay (first, again);
    }
  ot_assert_card_balance (gw, card->number, PW, 5000, 5000);
  {
    g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/payments", secret, key2, big);

    assert_replay (first2, again);
  }
  {
    g_autoptr(JsonObject) p = ot_pay (gw, secret, card->number, PW, 5000, TRUE);
  }
  /* the stored outcome stands even though the card has changed since */
  {
    g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/payments", secret, key2, big);

    assert_replay (first2, again);
  }
  ot_assert_card_balance (gw, card->number, PW, 0, 0);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_replay_bad_request (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Bad Request Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 5000, PW);
  g_autofree char *key = new_key ();
  g_autofree char *zero = pay_body (card->number, PW, 0, "z1", TRUE);
  g_autofree char *good = pay_body (card->number, PW, 100, "z1", TRUE);
  g_autoptr(OtResponse) first = ot_request (gw, "POST", "/v1/payments", secret, key, zero);
  g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/payments", secret, key, zero);
  g_autoptr(OtResponse) other = ot_request (gw, "POST", "/v1/payments", secret, key, good);

  /* the first outcome is stored whatever it was */
  ot_assert_error (first, 400, "invalid_request_error", "parameter_invalid");
  assert_replay (first, again);
  ot_assert_error (other, 422, "idempotency_error", "idempotency_key_reused");
  ot_assert_card_balance (gw, card->number, PW, 5000, 5000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_key_length (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Length Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 5000, PW);
  g_autofree char *k255 = ot_repeat ("k", 255);
  g_autofree char *k256 = ot_repeat ("k", 256);
  g_autofree char *b1 = pay_body (card->number, PW, 100, "l1", TRUE);
  g_autofree char *b2 = pay_body (card->number, PW, 200, "l2", TRUE);
  g_autoptr(OtResponse) ok = ot_request (gw, "POST", "/v1/payments", secret, k255, b1);
  g_autoptr(OtResponse) ok2 = ot_request (gw, "POST", "/v1/payments", secret, k255, b1);
  g_autoptr(OtResponse) tl = ot_request (gw, "POST", "/v1/payments", secret, k256, b2);
  g_autoptr(OtResponse) empty = ot_request (gw, "POST", "/v1/payments", secret, "", b2);

  ot_assert_status (ok, 200);
  assert_replay (ok, ok2);
  ot_assert_error (tl, 400, "invalid_request_error", "parameter_invalid");
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (tl), "error"), "param"),
                   ==, "Idempotency-Key");
  ot_assert_error (empty, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_card_balance (gw, card->number, PW, 4900, 4900);

  /* also on the admin endpoints */
  {
    g_autoptr(JsonObject) a0 = ot_assert_audit_balanced (gw);
    g_autoptr(JsonObject) a1 = NULL;
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/card_batches",
                                          ot_gateway_admin_token (gw), k256,
                                          "{\"count\": 1, \"value\": 5000}");

    ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
    a1 = ot_assert_audit_balanced (gw);
    g_assert_cmpint (ot_json_int (a1, "cards_balance_total"), ==, ot_json_int (a0, "cards_balance_total"));
  }
}

static void
test_scope (void)
{
  g_autofree char *s1 = NULL;
  g_autofree char *s2 = NULL;
  g_autofree char *m1 = ot_create_merchant (gw, "Scope One", &s1);
  g_autofree char *m2 = ot_create_merchant (gw, "Scope Two", &s2);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, PW);
  g_autofree char *key = new_key ();
  g_autofree char *body = pay_body (card->number, PW, 1000, "s1", TRUE);
  g_autoptr(OtResponse) r1 = ot_request (gw, "POST", "/v1/payments", s1, key, body);
  g_autoptr(OtResponse) r2 = ot_request (gw, "POST", "/v1/payments", s2, key, body);
  g_autoptr(OtResponse) r3 = ot_request (gw, "POST", "/v1/admin/card_batches",
                                         ot_gateway_admin_token (gw), key,
                                         "{\"count\": 1, \"value\": 5000}");

  ot_assert_status (r1, 200);
  ot_assert_status (r2, 200);
  ot_assert_status (r3, 200);
  g_assert_null (ot_response_header (r2, "Idempotent-Replayed"));
  g_assert_null (ot_response_header (r3, "Idempotent-Replayed"));
  g_assert_cmpstr (ot_json_string (ot_response_object (r1), "id"), !=,
                   ot_json_string (ot_response_object (r2), "id"));
  g_assert_cmpstr (ot_json_string (ot_response_object (r2), "merchant"), ==, m2);
  ot_assert_card_balance (gw, card->number, PW, 8000, 8000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

/* A holder whose answer was lost retries with the same key: the replay is
 * the first answer, not a 409 for registering twice, nor a wrong-password
 * failure that would count towards the card's lockout. */
static void
test_card_holder_replay (void)
{
  g_autoptr(GPtrArray) cards = ot_issue_cards (gw, 1, 10000);
  OtCard *card = g_ptr_array_index (cards, 0);
  g_autofree char *reg_key = new_key ();
  g_autofree char *pw_key = new_key ();
  g_autofree char *reg = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\"}",
                                          card->number, PW);
  g_autofree char *change = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\", "
                                             "\"new_password\": \"new-%s\"}",
                                             card->number, PW, PW);
  g_autofree char *new_pw = g_strconcat ("new-", PW, NULL);
  g_autoptr(OtResponse) first = ot_request (gw, "POST", "/v1/cards/register", NULL, reg_key, reg);
  g_autoptr(OtResponse) changed = NULL;

  ot_assert_status (first, 200);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/cards/register", NULL,
                                                reg_key, reg);

      assert_replay (first, again);
    }

  changed = ot_request (gw, "POST", "/v1/cards/password", NULL, pw_key, change);
  ot_assert_status (changed, 200);
  /* more replays than the 5 wrong passwords that would lock the card */
  for (guint i = 0; i < 6; i++)
    {
      g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/cards/password", NULL,
                                                pw_key, change);

      assert_replay (changed, again);
    }
  ot_assert_card_balance (gw, card->number, new_pw, 10000, 10000);

  /* The key reused with other parameters: 422 for the right password... */
  {
    g_autofree char *other = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\", "
                                              "\"new_password\": \"other-pw\"}",
                                              card->number, new_pw);
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/cards/password", NULL, pw_key, other);

    ot_assert_error (r, 422, "idempotency_error", "idempotency_key_reused");
  }
  /* ...but a wrong one is a wrong password, refused and counted: five
   * lock the card. Else the key would tell right passwords from wrong
   * ones past the lockout. */
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *guess = g_strdup_printf ("{\"number\": \"%s\", \"password\": "
                                                "\"guess-%u\", \"new_password\": \"x-%s\"}",
                                                card->number, i, PW);
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/cards/password", NULL, pw_key,
                                            guess);

      ot_assert_error (r, 402, "card_error", "invalid_credentials");
    }
  {
    g_autofree char *balance = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\"}",
                                                card->number, new_pw);
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/cards/balance", NULL, NULL, balance);
    g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/cards/password", NULL, pw_key,
                                              change);

    ot_assert_error (r, 402, "card_error", "card_locked");
    /* a locked card answers card_locked to everything, a replay too: else
     * the replay would tell the right password from wrong ones (all
     * card_locked, uncounted) while the lock holds */
    ot_assert_error (again, 402, "card_error", "card_locked");
    g_assert_null (ot_response_header (again, "Idempotent-Replayed"));
  }
}

/* A malformed number and an unknown one get the same answers under a key,
 * reused or not: 402 invalid_credentials, never a 422 that would tell
 * them apart. */
static void
test_card_holder_key_malformed (void)
{
  g_autofree char *unknown = ot_random_card_number ("9410");
  const char *numbers[] = { "1234567890123456", unknown };
  char *bodies[2][2] = { { NULL } };

  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      g_autofree char *key = new_key ();

      for (guint j = 0; j < 2; j++)
        {
          g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": "
                                                   "\"guess-%u\", \"new_password\": \"n-%s\"}",
                                                   numbers[i], j, PW);
          g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/cards/password", NULL, key, body);

          ot_assert_error (r, 402, "card_error", "invalid_credentials");
          bodies[i][j] = g_strndup (r->body, r->body_len);
        }
    }
  g_assert_cmpstr (bodies[0][0], ==, bodies[1][0]);
  g_assert_cmpstr (bodies[0][1], ==, bodies[1][1]);
  for (guint i = 0; i < 2; i++)
    for (guint j = 0; j < 2; j++)
      g_free (bodies[i][j]);
}

/* The routes without an API key scope a key to the credential the request
 * carries, so that a stored answer (a card number, a token) is replayed
 * only to that credential's holder, and two callers' keys never meet: a
 * gift's claim token, a card's number. Two claims of different gifts and
 * two registrations of different cards under one key are each their own,
 * never 422 for the other's; each is replayed to its own retry. */
static void
test_key_less_scopes (void)
{
  g_autoptr(GPtrArray) cards = ot_issue_cards (gw, 2, 5000);
  g_autofree char *key = new_key ();
  char *claim_bodies[2], *register_bodies[2];
  OtResponse *claims[2], *registered[2];

  for (guint i = 0; i < 2; i++)
    {
      claim_bodies[i] = g_strdup_printf ("{\"token\": \"gct_unknown%u\", \"password\": \"%s\"}",
                                         i, PW);
      register_bodies[i] = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\"}",
                                            ((OtCard *) g_ptr_array_index (cards, i))->number,
                                            PW);
      claims[i] = ot_request (gw, "POST", "/v1/gifts/claim", NULL, key, claim_bodies[i]);
      ot_assert_error (claims[i], 404, "invalid_request_error", "resource_missing");
      registered[i] = ot_request (gw, "POST", "/v1/cards/register", NULL, key,
                                  register_bodies[i]);
      ot_assert_status (registered[i], 200);
    }
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(OtResponse) claim = ot_request (gw, "POST", "/v1/gifts/claim", NULL, key,
                                                claim_bodies[i]);
      g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/cards/register", NULL, key,
                                                register_bodies[i]);

      assert_replay (claims[i], claim);
      assert_replay (registered[i], again);
      ot_response_free (claims[i]);
      ot_response_free (registered[i]);
      g_free (claim_bodies[i]);
      g_free (register_bodies[i]);
    }
}

static void
test_no_key_no_dedup (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "No Key Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, PW);
  g_autofree char *body = pay_body (card->number, PW, 1000, "n1", TRUE);
  g_autoptr(OtResponse) r1 = ot_request (gw, "POST", "/v1/payments", secret, NULL, body);
  g_autoptr(OtResponse) r2 = ot_request (gw, "POST", "/v1/payments", secret, NULL, body);

  ot_assert_status (r1, 200);
  ot_assert_status (r2, 200);
  g_assert_null (ot_response_header (r2, "Idempotent-Replayed"));
  g_assert_cmpstr (ot_json_string (ot_response_object (r1), "id"), !=,
                   ot_json_string (ot_response_object (r2), "id"));
  ot_assert_card_balance (gw, card->number, PW, 8000, 8000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_capture_cancel_replay (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Capture Replay Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, PW);
  g_autoptr(JsonObject) p = ot_pay (gw, secret, card->number, PW, 3000, FALSE);
  g_autoptr(JsonObject) q = ot_pay (gw, secret, card->number, PW, 1000, FALSE);
  g_autofree char *cap = g_strdup_printf ("/v1/payments/%s/capture", ot_json_string (p, "id"));
  g_autofree char *can = g_strdup_printf ("/v1/payments/%s/cancel", ot_json_string (p, "id"));
  g_autofree char *can_q = g_strdup_printf ("/v1/payments/%s/cancel", ot_json_string (q, "id"));
  g_autofree char *k1 = new_key ();
  g_autofree char *k2 = new_key ();
  g_autofree char *k3 = new_key ();
  g_autoptr(OtResponse) c1 = ot_request (gw, "POST", cap, secret, k1, "{\"amount\": 2000}");
  g_autoptr(OtResponse) c2 = ot_request (gw, "POST", cap, secret, k1, "{\"amount\": 2000}");
  g_autoptr(OtResponse) c3 = ot_request (gw, "POST", cap, secret, k1, "{\"amount\": 2500}");
  g_autoptr(OtResponse) c4 = ot_request (gw, "POST", cap, secret, NULL, "{\"amount\": 500}");
  g_autoptr(OtResponse) x1 = ot_request (gw, "POST", can, secret, k2, NULL);
  g_autoptr(OtResponse) x2 = ot_request (gw, "POST", can, secret, k2, NULL);
  g_autoptr(OtResponse) y1 = ot_request (gw, "POST", can_q, secret, k3, NULL);
  g_autoptr(OtResponse) y2 = ot_request (gw, "POST", can_q, secret, k3, NULL);

  ot_assert_status (c1, 200);
  /* a replay is not a second capture */
  assert_replay (c1, c2);
  ot_assert_error (c3, 422, "idempotency_error", "idempotency_key_reused");
  ot_assert_error (c4, 409, "invalid_request_error", "payment_already_resolved");
  ot_assert_error (x1, 409, "invalid_request_error", "payment_already_resolved");
  assert_replay (x1, x2);
  ot_assert_status (y1, 200);
  assert_replay (y1, y2);
  ot_assert_card_balance (gw, card->number, PW, 8000, 8000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_refund_replay (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Refund Replay Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, PW);
  g_autoptr(JsonObject) p = ot_pay (gw, secret, card->number, PW, 5000, TRUE);
  g_autofree char *body = g_strdup_printf ("{\"payment\": \"%s\", \"amount\": 1000}",
                                           ot_json_string (p, "id"));
  g_autofree char *body2 = g_strdup_printf ("{\"payment\": \"%s\", \"amount\": 1001}",
                                            ot_json_string (p, "id"));
  g_autofree char *key = new_key ();
  g_autoptr(OtResponse) r1 = ot_request (gw, "POST", "/v1/refunds", secret, key, body);
  g_autoptr(OtResponse) r2 = ot_request (gw, "POST", "/v1/refunds", secret, key, body);
  g_autoptr(OtResponse) r3 = ot_request (gw, "POST", "/v1/refunds", secret, key, body2);

  ot_assert_status (r1, 200);
  assert_replay (r1, r2);
  ot_assert_error (r3, 422, "idempotency_error", "idempotency_key_reused");
  ot_assert_card_balance (gw, card->number, PW, 6000, 6000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_card_batch_replay (void)
{
  g_autoptr(JsonObject) a0 = ot_assert_audit_balanced (gw);
  g_autoptr(JsonObject) a1 = NULL;
  g_autofree char *key = new_key ();
  const char *body = "{\"count\": 2, \"value\": 10000}";
  g_autoptr(OtResponse) r1 = ot_request (gw, "POST", "/v1/admin/card_batches",
                                         ot_gateway_admin_token (gw), key, body);
  g_autoptr(OtResponse) r2 = ot_request (gw, "POST", "/v1/admin/card_batches",
                                         ot_gateway_admin_token (gw), key, body);
  g_autoptr(OtResponse) r3 = ot_request (gw, "POST", "/v1/admin/card_batches",
                                         ot_gateway_admin_token (gw), key,
                                         "{\"count\": 3, \"value\": 10000}");

  ot_assert_status (r1, 200);
  assert_replay (r1, r2);
  ot_assert_error (r3, 422, "idempotency_error", "idempotency_key_reused");
  a1 = ot_assert_audit_balanced (gw);
  g_assert_cmpint (ot_json_int (a1, "cards_balance_total"), ==,
                   ot_json_int (a0, "cards_balance_total") + 20000);
}

static void
test_in_flight (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "In Flight Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 100000, PW);
  guint round, in_flight = 0, replayed = 0, originals = 0;
  gint64 balance = 100000;

  for (round = 0; round < 5; round++)
    {
      g_autofree char *key = new_key ();
      g_autofree char *body = pay_body (card->number, PW, 1000, "f", TRUE);
      g_autoptr(GPtrArray) rs = ot_request_parallel (gw, 16, "POST", "/v1/payments", secret, key, body);
      const char *first_body = NULL;
      guint i;

      for (i = 0; i < rs->len; i++)
        {
          OtResponse *r = rs->pdata[i];

          if (r->status == 409)
            {
              ot_assert_error (r, 409, "idempotency_error", "idempotency_in_flight");
              in_flight++;
              continue;
            }
          ot_assert_status (r, 200);
          if (first_body == NULL)
            first_body = r->body;
          else
            g_assert_cmpstr (r->body, ==, first_body);
          if (g_strcmp0 (ot_response_header (r, "Idempotent-Replayed"), "true") == 0)
            replayed++;
          else
            originals++;
        }
      /* exactly one took effect */
      balance -= 1000;
      ot_assert_card_balance (gw, card->number, PW, balance, balance);

      /* afterwards it replays */
      {
        g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/payments", secret, key, body);

        ot_assert_status (again, 200);
        g_assert_cmpstr (ot_response_header (again, "Idempotent-Replayed"), ==, "true");
        if (first_body != NULL)
          g_assert_cmpstr (again->body, ==, first_body);
      }
    }

  g_test_message ("16 concurrent requests x 5 rounds: %u in flight (409), %u replayed, "
                  "%u originals", in_flight, replayed, originals);
  g_assert_cmpuint (originals, <=, 5);
  g_assert_cmpuint (count_payments (secret), ==, 5);
  if (in_flight == 0)
    g_test_message ("could not provoke idempotency_in_flight: every repeat arrived "
                    "after the first had finished");
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_batch_shares_scope (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Batch Scope Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, PW);
  g_autofree char *key = new_key ();
  g_autofree char *body = pay_body (card->number, PW, 1000, "bs", TRUE);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/payments", secret, key, body);
  g_autofree char *batch = g_strdup_printf ("{\"payments\": [{\"idempotency_key\": \"%s\", "
                                            "\"card_number\": \"%s\", \"password\": \"" PW "\", "
                                            "\"amount\": 1000, \"currency\": \"krw\", "
                                            "\"order_id\": \"bs\", \"capture\": true}]}",
                                            key, card->number);
  g_autoptr(OtResponse) b = ot_request (gw, "POST", "/v1/payments/batch", secret, NULL, batch);
  JsonObject *item;

  ot_assert_status (r, 200);
  ot_assert_status (b, 200);
  item = json_array_get_object_element (ot_json_array (ot_response_object (b), "data"), 0);
  g_assert_cmpint (ot_json_int (item, "status"), ==, 200);
  g_assert_true (ot_json_bool (item, "replayed"));
  g_assert_cmpstr (ot_json_string (ot_json_object (item, "payment"), "id"), ==,
                   ot_json_string (ot_response_object (r), "id"));
  ot_assert_card_balance (gw, card->number, PW, 9000, 9000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_survives_restart (void)
{
  OtGateway *g2 = ot_gateway_start (NULL, FALSE);
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (g2, "Restart Mall", &secret);
  g_autoptr(GPtrArray) cards = ot_issue_cards (g2, 1, 10000);
  OtCard *card = cards->pdata[0];
  g_autofree char *key = new_key ();
  g_autofree char *body = pay_body (card->number, PW, 1000, "rs", TRUE);
  g_autoptr(OtResponse) first = NULL;
  g_autoptr(OtResponse) again = NULL;
  g_autoptr(OtResponse) again2 = NULL;

  ot_register_card (g2, card->number, PW);
  first = ot_request (g2, "POST", "/v1/payments", secret, key, body);
  ot_assert_status (first, 200);

  ot_gateway_terminate (g2, SIGTERM);
  ot_gateway_restart (g2);
  again = ot_request (g2, "POST", "/v1/payments", secret, key, body);
  assert_replay (first, again);

  ot_gateway_kill (g2);
  ot_gateway_restart (g2);
  again2 = ot_request (g2, "POST", "/v1/payments", secret, key, body);
  assert_replay (first, again2);

  ot_assert_card_balance (g2, card->number, PW, 9000, 9000);
  json_object_unref (ot_assert_audit_balanced (g2));
  ot_gateway_stop (g2);
}

/* The fingerprint kept with a record is keyed: a bare SHA-256 of a body
 * that holds a four-digit card password would give the password away to
 * anyone with the database file. Here a body that is not JSON, whose
 * fingerprint is taken over its bytes, is stored under the key. */
static void
test_fingerprint_keyed (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Fingerprint Mall", &secret);
  g_autofree char *key = new_key ();
  const char *body = "{\"password\": \"1234\"";
  g_autofree char *text = g_strconcat ("raw /v1/payments\n", body, NULL);
  g_autofree char *db_path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/payments", secret, key, body);
  guint8 bare[32];
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  ot_assert_status (r, 400);
  g_assert_true (onepin_crypto_sha256 (text, strlen (text), bare));
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  /* The latest record is this request's: the key itself is not kept. */
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT fingerprint FROM idempotency_keys"
                                       " ORDER BY id DESC LIMIT 1", -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_bytes (stmt, 0), ==, 32);
  g_assert_true (memcmp (sqlite3_column_blob (stmt, 0), bare, 32) != 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  g_assert_nonnull (mch);
}

/* A record as the gateway kept it before migration 018: its scope and key
 * in the clear. The test's own payment's record is put back in that shape
 * (the key is the only thing the old code wrote differently), with the
 * tables 018 changes as 017 left them. */
static void
rewind_to_017 (OtGateway  *on,
               const char *merchant_id,
               const char *key,
               const char *payment_id)
{
  g_autofree char *db_path = g_build_filename (ot_gateway_data_dir (on), "onepin.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
    "ALTER TABLE idempotency_keys RENAME TO records_018;"
    "CREATE TABLE idempotency_keys (id INTEGER PRIMARY KEY, scope TEXT NOT NULL,"
    " key TEXT NOT NULL, fingerprint BLOB NOT NULL, status INTEGER NOT NULL,"
    " body BLOB NOT NULL, sealed INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
    " UNIQUE (scope, key));"
    "DROP TABLE wallet_charges;"
    "CREATE TABLE wallet_charges (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " user_id TEXT NOT NULL, funding_source_id TEXT NOT NULL, card_id TEXT NOT NULL,"
    " amount INTEGER NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL,"
    " idempotency_key TEXT, fingerprint BLOB, reference TEXT, decline_code TEXT,"
    " created INTEGER NOT NULL, settled INTEGER, UNIQUE (user_id, idempotency_key));"
    "CREATE INDEX wallet_charges_open ON wallet_charges (created)"
    " WHERE status IN ('pending', 'voiding');"
    "DELETE FROM schema_migrations WHERE version = 18;", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db,
    "INSERT INTO idempotency_keys (scope, key, fingerprint, status, body, sealed, created)"
    " SELECT ?, ?, fingerprint, status, body, sealed, created FROM records_018"
    " WHERE instr (CAST (body AS TEXT), ?) > 0", -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, merchant_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, payment_id, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  g_assert_cmpint (sqlite3_changes (db), ==, 1);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_exec (db, "DROP TABLE records_018;", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

/* A key stored by a gateway from before 018 is still replayed after the
 * upgrade (018 hashes it), is still refused with other parameters, and
 * is no longer in the file. */
static void
test_records_from_before_018 (void)
{
  OtGateway *g2 = ot_gateway_start (NULL, FALSE);
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (g2, "Upgrade Mall", &secret);
  g_autoptr(GPtrArray) cards = ot_issue_cards (g2, 1, 10000);
  OtCard *card = cards->pdata[0];
  g_autofree char *key = g_strdup_printf ("order-%08x/jane.doe@example.com", g_random_int ());
  g_autofree char *body = pay_body (card->number, PW, 1000, "up", TRUE);
  g_autofree char *other = pay_body (card->number, PW, 2000, "up", TRUE);
  g_autoptr(OtResponse) first = NULL;
  g_autoptr(OtResponse) again = NULL;
  g_autoptr(OtResponse) reused = NULL;

  ot_register_card (g2, card->number, PW);
  first = ot_request (g2, "POST", "/v1/payments", secret, key, body);
  ot_assert_status (first, 200);
  ot_gateway_terminate (g2, SIGTERM);
  rewind_to_017 (g2, mch, key, ot_json_string (ot_response_object (first), "id"));
  g_assert_true (ot_gateway_database_holds (g2, key));

  ot_gateway_restart (g2);
  again = ot_request (g2, "POST", "/v1/payments", secret, key, body);
  assert_replay (first, again);
  reused = ot_request (g2, "POST", "/v1/payments", secret, key, other);
  ot_assert_error (reused, 422, "idempotency_error", "idempotency_key_reused");
  ot_assert_card_balance (g2, card->number, PW, 9000, 9000);
  g_assert_false (ot_gateway_database_holds (g2, key));
  ot_gateway_terminate (g2, SIGTERM);
  g_assert_false (ot_gateway_database_holds (g2, key));
  ot_gateway_stop (g2);
}

/* Gateways before commit 8a68d94 kept most fingerprints as the bare
 * SHA-256 of the request's canonical text; no migration could key them.
 * The test's payment's record is given the fingerprint the old code
 * wrote, which must still be replayed after the upgrade, and still
 * refused with other parameters. */
static void
unkey_fingerprint (OtGateway  *on,
                   const char *payment_id,
                   const char *body)
{
  g_autofree char *db_path = g_build_filename (ot_gateway_data_dir (on), "onepin.db", NULL);
  g_autoptr(JsonNode) node = json_from_string (body, NULL);
  g_autofree char *canonical = onepin_json_canonical (node);
  g_autofree char *text = g_strconcat ("POST /v1/payments \n", canonical, NULL);
  guint8 bare[32];
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_true (onepin_crypto_sha256 (text, strlen (text), bare));
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "UPDATE idempotency_keys SET fingerprint = ?"
                                       " WHERE instr (CAST (body AS TEXT), ?) > 0", -1, &stmt,
                                       NULL), ==, SQLITE_OK);
  sqlite3_bind_blob (stmt, 1, bare, 32, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, payment_id, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  g_assert_cmpint (sqlite3_changes (db), ==, 1);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

static void
test_records_with_bare_fingerprints (void)
{
  OtGateway *g2 = ot_gateway_start (NULL, FALSE);
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (g2, "Bare Fingerprint Mall", &secret);
  g_autoptr(GPtrArray) cards = ot_issue_cards (g2, 1, 10000);
  OtCard *card = cards->pdata[0];
  g_autofree char *key = new_key ();
  g_autofree char *body = pay_body (card->number, PW, 1000, "bare", TRUE);
  g_autofree char *other = pay_body (card->number, PW, 2000, "bare", TRUE);
  g_autoptr(OtResponse) first = NULL;
  g_autoptr(OtResponse) again = NULL;
  g_autoptr(OtResponse) reused = NULL;

  ot_register_card (g2, card->number, PW);
  first = ot_request (g2, "POST", "/v1/payments", secret, key, body);
  ot_assert_status (first, 200);
  ot_gateway_terminate (g2, SIGTERM);
  unkey_fingerprint (g2, ot_json_string (ot_response_object (first), "id"), body);

  ot_gateway_restart (g2);
  again = ot_request (g2, "POST", "/v1/payments", secret, key, body);
  assert_replay (first, again);
  reused = ot_request (g2, "POST", "/v1/payments", secret, key, other);
  ot_assert_error (reused, 422, "idempotency_error", "idempotency_key_reused");
  ot_assert_card_balance (g2, card->number, PW, 9000, 9000);
  g_assert_nonnull (mch);
  ot_gateway_stop (g2);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/contract/idempotency/replay-payment", test_replay_payment);
  g_test_add_func ("/contract/idempotency/key-reused", test_key_reused);
  g_test_add_func ("/contract/idempotency/replay-decline", test_replay_decline);
  g_test_add_func ("/contract/idempotency/replay-bad-request", test_replay_bad_request);
  g_test_add_func ("/contract/idempotency/fingerprint-keyed", test_fingerprint_keyed);
  g_test_add_func ("/contract/idempotency/key-length", test_key_length);
  g_test_add_func ("/contract/idempotency/scope", test_scope);
  g_test_add_func ("/contract/idempotency/card-holder-replay", test_card_holder_replay);
  g_test_add_func ("/contract/idempotency/card-holder-key-malformed", test_card_holder_key_malformed);
  g_test_add_func ("/contract/idempotency/key-less-scopes", test_key_less_scopes);
  g_test_add_func ("/contract/idempotency/no-key-no-dedup", test_no_key_no_dedup);
  g_test_add_func ("/contract/idempotency/capture-cancel-replay", test_capture_cancel_replay);
  g_test_add_func ("/contract/idempotency/refund-replay", test_refund_replay);
  g_test_add_func ("/contract/idempotency/card-batch-replay", test_card_batch_replay);
  g_test_add_func ("/contract/idempotency/in-flight", test_in_flight);
  g_test_add_func ("/contract/idempotency/batch-shares-scope", test_batch_shares_scope);
  g_test_add_func ("/contract/idempotency/survives-restart", test_survives_restart);
  g_test_add_func ("/contract/idempotency/records-from-before-018", test_records_from_before_018);
  g_test_add_func ("/contract/idempotency/records-with-bare-fingerprints",
                   test_records_with_bare_fingerprints);

  gw = ot_gateway_start ("[limits]\nfailures_per_minute=100000\n", FALSE);
  ret = g_test_run ();
  ot_gateway_stop (gw);
  return ret;
}
