/* test-contract-limits.c: card lockout and the per-address failure limit
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "onepin-test-gateway.h"

static OtGateway *gw;

#define PW "lock-pass"

static char *
creds (const char *number,
       const char *password)
{
  return g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\"}", number, password);
}

static OtResponse *
holder (OtGateway  *g,
        const char *endpoint,
        const char *number,
        const char *password)
{
  g_autofree char *path = g_strconcat ("/v1/cards/", endpoint, NULL);
  g_autofree char *body = NULL;

  if (g_str_equal (endpoint, "password"))
    body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\", "
                            "\"new_password\": \"%s\"}", number, password, password);
  else
    body = creds (number, password);
  return ot_request (g, "POST", path, NULL, NULL, body);
}

static OtResponse *
pay (OtGateway  *g,
     const char *secret,
     const char *number,
     const char *password,
     gint64      amount)
{
  g_autofree char *body = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"%s\", "
                                           "\"amount\": %" G_GINT64_FORMAT ", \"currency\": \"krw\", "
                                           "\"order_id\": \"lim\", \"capture\": true}",
                                           number, password, amount);

  return ot_request (g, "POST", "/v1/payments", secret, NULL, body);
}

static void
assert_locked_everywhere (OtGateway  *g,
                          const char *secret,
                          const char *number)
{
  const char *endpoints[] = { "balance", "statement", "password" };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (endpoints); i++)
    {
      g_autoptr(OtResponse) r = holder (g, endpoints[i], number, PW);
      g_autoptr(OtResponse) w = holder (g, endpoints[i], number, "still-wrong");

      g_test_message ("%s", endpoints[i]);
      ot_assert_error (r, 402, "card_error", "card_locked");
      ot_assert_error (w, 402, "card_error", "card_locked");
    }
  {
    g_autoptr(OtResponse) p = pay (g, secret, number, PW, 100);

    ot_assert_error (p, 402, "card_error", "card_locked");
  }
}

static void
test_lockout (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Lock Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, PW);
  g_autoptr(JsonObject) a0 = ot_assert_audit_balanced (gw);
  g_autoptr(JsonObject) a1 = NULL;
  guint i;

  for (i = 0; i < 5; i++)
    {
      g_autoptr(OtResponse) r = holder (gw, "balance", card->number, "wrong-pw");

      ot_assert_error (r, 402, "card_error", "invalid_credentials");
    }
  assert_locked_everywhere (gw, secret, card->number);

  /* the locked card's declined payment moved nothing */
  a1 = ot_assert_audit_balanced (gw);
  g_assert_cmpint (ot_json_int (a1, "cards_balance_total"), ==, ot_json_int (a0, "cards_balance_total"));
  g_assert_cmpint (ot_json_int (a1, "total_debits"), ==, ot_json_int (a0, "total_debits"));
}

static void
test_lockout_across_endpoints (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Across Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, PW);
  const char *endpoints[] = { "balance", "statement", "password", "balance" };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (endpoints); i++)
    {
      g_autoptr(OtResponse) r = holder (gw, endpoints[i], card->number, "wrong-pw");

      ot_assert_error (r, 402, "card_error", "invalid_credentials");
    }
  {
    g_autoptr(OtResponse) p = pay (gw, secret, card->number, "wrong-pw", 100);

    ot_assert_error (p, 402, "card_error", "invalid_credentials");
  }
  assert_locked_everywhere (gw, secret, card->number);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_lockout_payments_only (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Pay Lock Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, PW);
  guint i;

  for (i = 0; i < 5; i++)
    {
      g_autoptr(OtResponse) p = pay (gw, secret, card->number, "wrong-pw", 100);

      ot_assert_error (p, 402, "card_error", "invalid_credentials");
    }
  assert_locked_everywhere (gw, secret, card->number);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_success_resets (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Reset Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, PW);
  guint round, i;

  for (round = 0; round < 3; round++)
    {
      for (i = 0; i < 4; i++)
        {
          g_autoptr(OtResponse) r = i % 2 ? holder (gw, "statement", card->number, "wrong-pw")
                                          : pay (gw, secret, card->number, "wrong-pw", 100);

          ot_assert_error (r, 402, "card_error", "invalid_credentials");
        }
      /* the correct password, on any endpoint, resets the counter */
      if (round == 1)
        {
          g_autoptr(OtResponse) p = pay (gw, secret, card->number, PW, 100);

          ot_assert_status (p, 200);
        }
      else
        {
          g_autoptr(OtResponse) r = holder (gw, "balance", card->number, PW);

          ot_assert_status (r, 200);
        }
    }
  ot_assert_card_balance (gw, card->number, PW, 9900, 9900);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_unlock_after_lockout_seconds (void)
{
  OtGateway *g2 = ot_gateway_start ("[limits]\nlockout_seconds=2\nfailures_per_minute=100000\n", FALSE);
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (g2, "Unlock Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (g2, 10000, PW);
  guint i;

  for (i = 0; i < 5; i++)
    {
      g_autoptr(OtResponse) r = holder (g2, "balance", card->number, "wrong-pw");

      ot_assert_error (r, 402, "card_error", "invalid_credentials");
    }
  {
    g_autoptr(OtResponse) r = holder (g2, "balance", card->number, PW);

    ot_assert_error (r, 402, "card_error", "card_locked");
  }
  g_usleep (3500 * 1000);
  {
    g_autoptr(OtResponse) r = holder (g2, "balance", card->number, PW);
    g_autoptr(OtResponse) p = pay (g2, secret, card->number, PW, 1000);

    ot_assert_status (r, 200);
    ot_assert_status (p, 200);
  }
  /* a fresh count after the unlock */
  for (i = 0; i < 4; i++)
    {
      g_autoptr(OtResponse) r = holder (g2, "balance", card->number, "wrong-pw");

      ot_assert_error (r, 402, "card_error", "invalid_credentials");
    }
  ot_assert_card_balance (g2, card->number, PW, 9000, 9000);
  json_object_unref (ot_assert_audit_balanced (g2));
  ot_gateway_stop (g2);
}

static void
test_per_address (void)
{
  OtGateway *g2 = ot_gateway_start (NULL, FALSE);
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (g2, "Address Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (g2, 100000, PW);
  g_autoptr(OtCard) other = ot_new_card (g2, 10000, PW);
  g_autoptr(OtCard) fresh = ot_new_card (g2, 10000, NULL);
  gint64 sec;
  guint i, failures = 0;

  /* keep the whole burst inside one wall-clock minute, in case the window
   * is a fixed one */
  sec = (g_get_real_time () / G_USEC_PER_SEC) % 60;
  if (sec > 40)
    g_usleep ((60 - sec + 1) * G_USEC_PER_SEC);

  /* merchant endpoints are not limited per address, and do not count */
  for (i = 0; i < 30; i++)
    {
      g_autofree char *unknown = ot_random_card_number ("9410");
      g_autoptr(OtResponse) p = pay (g2, secret, unknown, PW, 100);

      ot_assert_error (p, 402, "card_error", "invalid_credentials");
    }
  {
    g_autoptr(OtResponse) r = holder (g2, "balance", card->number, PW);

    ot_assert_status (r, 200);
  }

  /* 10 failures (unknown numbers and wrong passwords on a real card) */
  for (i = 0; i < 10; i++, failures++)
    {
      g_autofree char *unknown = ot_random_card_number ("9410");
      g_autoptr(OtResponse) r = i < 3 ? holder (g2, "statement", other->number, "wrong-pw")
                                      : holder (g2, "balance", unknown, PW);

      ot_assert_error (r, 402, "card_error", "invalid_credentials");
      if (i == 2)
        {
          g_autoptr(OtResponse) ok = holder (g2, "balance", other->number, PW);

          ot_assert_status (ok, 200);
        }
    }
  /* successes never count */
  for (i = 0; i < 25; i++)
    {
      g_autoptr(OtResponse) r = holder (g2, i % 2 ? "balance" : "statement", card->number, PW);

      ot_assert_status (r, 200);
    }
  /* up to 20 failures are answered normally */
  for (i = 0; i < 10; i++, failures++)
    {
      g_autofree char *unknown = ot_random_card_number ("9410");
      g_autoptr(OtResponse) r = holder (g2, "balance", unknown, PW);

      g_test_message ("failure %u", failures + 1);
      ot_assert_error (r, 402, "card_error", "invalid_credentials");
    }
  g_assert_cmpuint (failures, ==, 20);

  /* past that, every card-holder request gets 429, right password or not */
  {
    g_autofree char *unknown = ot_random_card_number ("9410");
    g_autoptr(OtResponse) r = holder (g2, "balance", unknown, PW);

    ot_assert_error (r, 429, "rate_limit_error", "rate_limited");
    /* when the address's minute is over */
    g_assert_nonnull (ot_response_header (r, "Retry-After"));
    g_assert_cmpint (g_ascii_strtoll (ot_response_header (r, "Retry-After"), NULL, 10), >=, 1);
    g_assert_cmpint (g_ascii_strtoll (ot_response_header (r, "Retry-After"), NULL, 10), <=, 60);
  }
  {
    g_autoptr(OtResponse) r1 = holder (g2, "balance", card->number, PW);
    g_autoptr(OtResponse) r2 = holder (g2, "balance", card->number, "wrong-pw");
    g_autoptr(OtResponse) r3 = holder (g2, "statement", card->number, PW);
    g_autoptr(OtResponse) r4 = holder (g2, "password", card->number, PW);
    g_autoptr(OtResponse) r5 = holder (g2, "register", fresh->number, "new-pass");

    ot_assert_error (r1, 429, "rate_limit_error", "rate_limited");
    ot_assert_error (r2, 429, "rate_limit_error", "rate_limited");
    ot_assert_error (r3, 429, "rate_limit_error", "rate_limited");
    ot_assert_error (r4, 429, "rate_limit_error", "rate_limited");
    ot_assert_error (r5, 429, "rate_limit_error", "rate_limited");
    /* a 429 reveals nothing */
    g_assert_cmpstr (r1->body, ==, r2->body);
  }

  /* merchants are not limited: payments still work and decline normally */
  {
    g_autoptr(OtResponse) ok = pay (g2, secret, card->number, PW, 1000);
    g_autofree char *unknown = ot_random_card_number ("9410");
    g_autoptr(OtResponse) bad = pay (g2, secret, unknown, PW, 1000);

    ot_assert_status (ok, 200);
    ot_assert_error (bad, 402, "card_error", "invalid_credentials");
  }
  /* and the admin API neither */
  json_object_unref (ot_assert_audit_balanced (g2));

  /* the rate limit does not lock the card: the 429s were not wrong passwords
   * on it (the wrong one above was never checked) */
  {
    g_autoptr(OtResponse) ok = pay (g2, secret, card->number, PW, 1000);

    ot_assert_status (ok, 200);
  }
  ot_gateway_stop (g2);
}

/* Waits, if needed, so that what follows stays in one wall-clock minute, in
 * case the window is a fixed one. */
static void
start_of_a_minute (void)
{
  gint64 sec = (g_get_real_time () / G_USEC_PER_SEC) % 60;

  if (sec > 40)
    g_usleep ((60 - sec + 1) * G_USEC_PER_SEC);
}

/* Failures are counted when their answers commit, after the requests were
 * let through: sent together, more than 20 could fail before the first was
 * counted. Exactly 20 fail; the rest get 429. */
static void
test_per_address_concurrent (void)
{
  OtGateway *g2 = ot_gateway_start (NULL, FALSE);
  g_autofree char *unknown = ot_random_card_number ("9410");
  g_autofree char *body = creds (unknown, PW);
  g_autoptr(GPtrArray) rs = NULL;
  guint failed = 0, limited = 0;

  start_of_a_minute ();
  rs = ot_request_parallel (g2, 60, "POST", "/v1/cards/balance", NULL, NULL, body);
  for (guint i = 0; i < rs->len; i++)
    {
      OtResponse *r = g_ptr_array_index (rs, i);

      if (r->status == 402)
        ot_assert_error (r, 402, "card_error", "invalid_credentials"), failed++;
      else
        ot_assert_error (r, 429, "rate_limit_error", "rate_limited"), limited++;
    }
  g_assert_cmpuint (failed, ==, 20);
  g_assert_cmpuint (limited, ==, 40);
  ot_gateway_stop (g2);
}

/* Held back is not refused: with 19 failures counted, two right passwords
 * sent together both succeed (the second waits for the first's answer). */
static void
test_per_address_near_limit (void)
{
  OtGateway *g2 = ot_gateway_start (NULL, FALSE);
  g_autoptr(OtCard) card = ot_new_card (g2, 10000, PW);
  g_autofree char *good = creds (card->number, PW);
  g_autoptr(GPtrArray) rs = NULL;

  start_of_a_minute ();
  for (guint i = 0; i < 19; i++)
    {
      g_autofree char *unknown = ot_random_card_number ("9410");
      g_autoptr(OtResponse) r = holder (g2, "balance", unknown, PW);

      ot_assert_error (r, 402, "card_error", "invalid_credentials");
    }
  rs = ot_request_parallel (g2, 2, "POST", "/v1/cards/balance", NULL, NULL, good);
  for (guint i = 0; i < rs->len; i++)
    ot_assert_status (g_ptr_array_index (rs, i), 200);
  {
    g_autofree char *unknown = ot_random_card_number ("9410");
    g_autoptr(OtResponse) twentieth = holder (g2, "balance", unknown, PW);
    g_autoptr(OtResponse) after = holder (g2, "balance", card->number, PW);

    ot_assert_error (twentieth, 402, "card_error", "invalid_credentials");
    ot_assert_error (after, 429, "rate_limit_error", "rate_limited");
  }
  ot_gateway_stop (g2);
}

/* An IPv6 client is limited by its /64: a gateway on ::1 counts its
 * failures and answers 429 past the limit. Loopback has one IPv6 address,
 * so other addresses of the same /64 are the unit test's
 * (/net/address-key); so are IPv4-mapped ones, which GLib already turns
 * into IPv4 addresses when a dual-stack socket accepts an IPv4 client. */
static void
test_per_address_ipv6 (void)
{
  OtGateway *g2;

  if (!ot_ipv6_loopback ())
    {
      g_test_skip ("no IPv6 loopback");
      return;
    }
  g2 = ot_gateway_start_on ("[limits]\nfailures_per_minute=3\n", "[::1]:0");
  g_assert_true (g_str_has_prefix (ot_gateway_url (g2), "http://[::1]:"));
  start_of_a_minute ();
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *unknown = ot_random_card_number ("9410");
      g_autoptr(OtResponse) r = holder (g2, "balance", unknown, PW);

      if (i < 3)
        ot_assert_error (r, 402, "card_error", "invalid_credentials");
      else
        ot_assert_error (r, 429, "rate_limit_error", "rate_limited");
    }
  ot_gateway_stop (g2);
}

/* A card-holder POST as a page at @origin sends it: text/plain, so a
 * browser needs no preflight. */
static OtResponse *
post_from_page (OtGateway  *g,
                const char *origin)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *uri = g_strconcat (ot_gateway_url (g), "/v1/cards/balance", NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  g_autofree char *unknown = ot_random_card_number ("9410");
  g_autofree char *body = creds (unknown, PW);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Origin", origin);
  soup_message_set_request_body_from_bytes (msg, "text/plain", bytes);
  return ot_http_exchange (session, msg, NULL);
}

/* A page on another site cannot make its visitors' browsers send card-holder
 * requests: they are refused before anything is checked, and so never count
 * against the visitor's address. The site's own pages, at the address the
 * request was sent to or at [site] public_url, are served. */
static void
test_cross_site (void)
{
  OtGateway *g2 = ot_gateway_start ("[limits]\nfailures_per_minute=3\n"
                                    "[site]\npublic_url=https://cards.example.test/\n", FALSE);
  const char *foreign[] = { "https://evil.example", "null", "http://127.0.0.1",
                            "https://cards.example.test:8443", "file://" };
  const char *own[] = { ot_gateway_url (g2), "https://cards.example.test" };

  start_of_a_minute ();
  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < G_N_ELEMENTS (foreign); i++)
      {
        g_autoptr(OtResponse) r = post_from_page (g2, foreign[i]);

        g_test_message ("%s", foreign[i]);
        ot_assert_error (r, 400, "invalid_request_error", "cross_site_request");
      }
  for (guint i = 0; i < G_N_ELEMENTS (own); i++)
    {
      g_autoptr(OtResponse) r = post_from_page (g2, own[i]);

      g_test_message ("%s", own[i]);
      ot_assert_error (r, 402, "card_error", "invalid_credentials");
    }
  {
    /* Two failures so far: the ten refusals counted none. */
    g_autofree char *unknown = ot_random_card_number ("9410");
    g_autoptr(OtResponse) third = holder (g2, "balance", unknown, PW);
    g_autoptr(OtResponse) fourth = holder (g2, "balance", unknown, PW);

    ot_assert_error (third, 402, "card_error", "invalid_credentials");
    ot_assert_error (fourth, 429, "rate_limit_error", "rate_limited");
  }
  ot_gateway_stop (g2);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/contract/limits/lockout", test_lockout);
  g_test_add_func ("/contract/limits/lockout-across-endpoints", test_lockout_across_endpoints);
  g_test_add_func ("/contract/limits/lockout-payments-only", test_lockout_payments_only);
  g_test_add_func ("/contract/limits/success-resets", test_success_resets);
  g_test_add_func ("/contract/limits/unlock-after-lockout-seconds", test_unlock_after_lockout_seconds);
  g_test_add_func ("/contract/limits/per-address", test_per_address);
  g_test_add_func ("/contract/limits/per-address-concurrent", test_per_address_concurrent);
  g_test_add_func ("/contract/limits/per-address-near-limit", test_per_address_near_limit);
  g_test_add_func ("/contract/limits/per-address-ipv6", test_per_address_ipv6);
  g_test_add_func ("/contract/limits/cross-site", test_cross_site);

  /* lockout tests must not trip the per-address limit; that one gets a
   * gateway of its own with the defaults */
  gw = ot_gateway_start ("[limits]\nfailures_per_minute=100000\n", FALSE);
  ret = g_test_run ();
  ot_gateway_stop (gw);
  return ret;
}
