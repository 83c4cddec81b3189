/* test-checkout.c: checkout sessions at affiliated malls, the wallet's
 * checkout, the hosted payment page and signed webhooks (suite checkout)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A real gateway, with a real onepin-bank to top up the wallets' cards. A
 * mall's server opens sessions with its merchant key; a wallet pays them
 * with what it approved and the card password, and only a purchase that
 * matches the mall's is paid, once, before it expires. The hosted page is
 * served with a strict policy and pays with a card number and password.
 * A libsoup server in the test is the mall's webhook endpoint: it checks
 * every signature, fails the first tries to make the gateway retry with
 * backoff, and the gateway is restarted with an event still owed, which
 * then arrives. Those endpoints are on loopback, so the gateways here set
 * [webhooks] allow_private=true, but for two tests: without it, internal
 * endpoints are refused, and the machine's own name, which registration
 * takes, gets no request.
 */
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "gw-keys.h"
#include "onepin-shared.h"
#include "onepin-test-bank.h"
#include "onepin-test-wallet.h"

static OtBank *bank;
static OtGateway *gw;

typedef struct
{
  char *id;
  char *secret_key;
  char *webhook_secret;
} Mall;

static void
mall_free (Mall *mall)
{
  g_free (mall->id);
  g_free (mall->secret_key);
  g_free (mall->webhook_secret);
  g_free (mall);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Mall, mall_free)

static Mall *
new_merchant (const char *name,
              const char *category)
{
  g_autofree char *body = g_strdup_printf ("{\"name\":\"%s\",\"category\":\"%s\"}", name,
                                           category);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/merchants",
                                        ot_gateway_admin_token (gw), NULL, body);
  Mall *mall = g_new0 (Mall, 1);

  ot_assert_status (r, 200);
  mall->id = g_strdup (ot_json_string (ot_response_object (r), "id"));
  mall->secret_key = g_strdup (ot_json_string (ot_response_object (r), "secret_key"));
  mall->webhook_secret = g_strdup (ot_json_string (ot_response_object (r), "webhook_secret"));
  return mall;
}

static Mall *
new_mall (const char *name)
{
  return new_merchant (name, "shopping");
}

static OtResponse *
open_session (Mall       *mall,
              const char *order_id,
              gint64      amount,
              const char *extra)
{
  g_autofree char *body = g_strdup_printf ("{\"order_id\":\"%s\",\"amount\":%" G_GINT64_FORMAT
                                           ",\"currency\":\"krw\"%s%s}", order_id, amount,
                                           extra ? "," : "", extra ? extra : "");

  return ot_request (gw, "POST", "/v1/checkout_sessions", mall->secret_key, NULL, body);
}

static char *
session_id (Mall       *mall,
            const char *order_id,
            gint64      amount)
{
  g_autofree char *items = g_strdup_printf ("\"items\":[{\"name\":\"Tea\",\"quantity\":2,"
                                            "\"amount\":%" G_GINT64_FORMAT "}],"
                                            "\"success_url\":\"https://mall.example/ok"
                                            "?s={CHECKOUT_SESSION_ID}\"", amount / 2);
  g_autoptr(OtResponse) r = open_session (mall, order_id, amount, items);

  ot_assert_status (r, 200);
  return g_strdup (ot_json_string (ot_response_object (r), "id"));
}

static OtResponse *
wallet_checkout (OtWallet   *w,
                 const char *key,
                 const char *session,
                 const char *merchant,
                 const char *order_id,
                 gint64      amount,
                 const char *password)
{
  g_autofree char *body = g_strdup_printf ("{\"checkout_session\":\"%s\",\"merchant\":\"%s\","
                                           "\"order_id\":\"%s\",\"amount\":%" G_GINT64_FORMAT
                                           ",\"currency\":\"krw\",\"password\":\"%s\"}",
                                           session, merchant, order_id, amount, password);

  return ot_request (gw, "POST", "/v1/wallet/checkout", w->token, key, body);
}

static JsonObject *
get_session (Mall       *mall,
             const char *id)
{
  g_autofree char *path = g_strconcat ("/v1/checkout_sessions/", id, NULL);
  g_autoptr(OtResponse) r = ot_request (gw, "GET", path, mall->secret_key, NULL, NULL);

  ot_assert_status (r, 200);
  return json_object_ref (ot_response_object (r));
}

/* ---- sessions ----------------------------------------------------------- */

static void
test_create_and_read (void)
{
  g_autoptr(Mall) mall = new_mall ("Create Mall");
  g_autoptr(Mall) other = new_mall ("Other Mall");
  const char *body = "{\"order_id\":\"A-1\",\"amount\":12000,\"currency\":\"krw\","
                     "\"items\":[{\"name\":\"녹차\",\"quantity\":3,\"amount\":4000}],"
                     "\"description\":\"Green tea\",\"cancel_url\":\"https://mall.example/c\","
                     "\"expires_in\":600}";
  g_autoptr(OtResponse) created = ot_request (gw, "POST", "/v1/checkout_sessions",
                                              mall->secret_key, "cs-key-1", body);
  g_autoptr(OtResponse) replay = ot_request (gw, "POST", "/v1/checkout_sessions",
                                             mall->secret_key, "cs-key-1", body);
  g_autoptr(OtResponse) foreign = NULL;
  g_autoptr(OtResponse) anonymous = NULL;
  g_autoptr(JsonObject) read = NULL;
  g_autofree char *path = NULL;
  JsonObject *s;

  ot_assert_status (created, 200);
  s = ot_response_object (created);
  g_assert_true (g_str_has_prefix (ot_json_string (s, "id"), "cs_"));
  g_assert_cmpstr (ot_json_string (s, "status"), ==, "open");
  g_assert_cmpstr (ot_json_string (s, "merchant"), ==, mall->id);
  g_assert_cmpint (ot_json_int (s, "expires_at") - ot_json_int (s, "created"), ==, 600);
  g_assert_true (g_str_has_suffix (ot_json_string (s, "url"), ot_json_string (s, "id")));
  g_assert_true (json_object_get_null_member (s, "payment"));
  g_assert_cmpstr (replay->body, ==, created->body);

  read = get_session (mall, ot_json_string (s, "id"));
  g_assert_cmpstr (ot_json_string (read, "order_id"), ==, "A-1");
  g_assert_cmpint (json_array_get_length (ot_json_array (read, "items")), ==, 1);
  path = g_strconcat ("/v1/checkout_sessions/", ot_json_string (s, "id"), NULL);
  foreign = ot_request (gw, "GET", path, other->secret_key, NULL, NULL);
  ot_assert_error (foreign, 404, "invalid_request_error", "resource_missing");
  anonymous = ot_request (gw, "GET", path, NULL, NULL, NULL);
  ot_assert_error (anonymous, 401, "authentication_error", "unauthorized");
}

static void
test_create_refusals (void)
{
  g_autoptr(Mall) mall = new_mall ("Strict Mall");
  struct { const char *extra; const char *code; const char *param; } cases[] = {
    { "\"items\":[{\"name\":\"Tea\",\"quantity\":2,\"amount\":4000}]", "items_total_mismatch",
      "items" },
    { "\"items\":[{\"name\":\"Tea\",\"quantity\":0,\"amount\":5000}]", "parameter_invalid",
      "items" },
    { "\"items\":[{\"name\":\"Tea\"}]", "parameter_invalid", "items" },
    { "\"success_url\":\"javascript:alert(1)\"", "parameter_invalid", "success_url" },
    { "\"cancel_url\":\"ftp://mall.example/\"", "parameter_invalid", "cancel_url" },
    /* no host, a space, user information, a line separator */
    { "\"success_url\":\"https://\"", "parameter_invalid", "success_url" },
    { "\"success_url\":\"http://a b/\"", "parameter_invalid", "success_url" },
    { "\"cancel_url\":\"https://user:pw@evil.example/\"", "parameter_invalid", "cancel_url" },
    { "\"success_url\":\"https://mall.example/\\u2028ok\"", "parameter_invalid",
      "success_url" },
    { "\"expires_in\":1", "parameter_invalid", "expires_in" },
    { "\"expires_in\":86401", "parameter_invalid", "expires_in" },
    { "\"colour\":\"red\"", "parameter_unknown", "colour" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(OtResponse) r = open_session (mall, "B-1", 10000, cases[i].extra);

      ot_assert_error (r, 400, "invalid_request_error", cases[i].code);
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"),
                                       "param"), ==, cases[i].param);
    }
  {
    /* A card number sent as a member's name is not repeated. */
    g_autoptr(OtResponse) r = open_session (mall, "B-3", 10000, "\"4111111111111111\":1");

    ot_assert_error (r, 400, "invalid_request_error", "parameter_unknown");
    g_assert_false (json_object_has_member (ot_json_object (ot_response_object (r), "error"),
                                            "param"));
    g_assert_null (strstr (r->body, "4111111111111111"));
  }
  {
    g_autoptr(OtResponse) zero = open_session (mall, "B-2", 0, NULL);
    g_autoptr(OtResponse) order = open_session (mall, "", 1000, NULL);

    ot_assert_error (zero, 400, "invalid_request_error", "parameter_invalid");
    ot_assert_error (order, 400, "invalid_request_error", "parameter_invalid");
  }
}

/* Item names, the order's reference and its description are the mall's
 * words on the shopper's checkout page: what hides, turns text around or
 * breaks lines is refused, and no session is written; names in any script,
 * with emoji, are not. */
static void
test_create_invisible (void)
{
  g_autoptr(Mall) mall = new_mall ("Plain Mall");
  struct { const char *order; const char *extra; const char *param; } refused[] = {
    { "C-1", "\"items\":[{\"name\":\"\\u202eaeT\",\"quantity\":1,\"amount\":10000}]", "items" },
    { "C-1", "\"items\":[{\"name\":\"Tea\\u2028Paid\",\"quantity\":1,\"amount\":10000}]",
      "items" },
    { "C-1", "\"items\":[{\"name\":\"Tea\\ue000\",\"quantity\":1,\"amount\":10000}]", "items" },
    { "C-1", "\"description\":\"\\u3164\"", "description" },
    { "C-1", "\"description\":\"Gift\\u2029card\"", "description" },
    { "C-1", "\"description\":\"Gift\\u200bcard\"", "description" },
    { "C-\\u2066", NULL, "order_id" },
  };
  gint64 before = ot_gateway_query_int (gw, "SELECT COUNT(*) FROM checkout_sessions");

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(OtResponse) r = open_session (mall, refused[i].order, 10000, refused[i].extra);

      g_test_message ("case %u", i);
      ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"),
                                       "param"), ==, refused[i].param);
    }
  g_assert_cmpint (ot_gateway_query_int (gw, "SELECT COUNT(*) FROM checkout_sessions"), ==,
                   before);
  {
    g_autoptr(OtResponse) r = open_session (mall, "C-2", 10000,
                                            "\"items\":[{\"name\":\"👩‍💻 스티커 Café\","
                                            "\"quantity\":1,\"amount\":10000}],"
                                            "\"description\":\"선물 🎁🏽 سوق\"");

    ot_assert_status (r, 200);
  }
}

/* ---- the wallet --------------------------------------------------------- */

static void
test_wallet_pays (void)
{
  g_autoptr(Mall) mall = new_mall ("Wallet Mall");
  g_autoptr(OtWallet) w = ot_wallet_new (gw, "email");
  g_autofree char *id = session_id (mall, "W-1", 8000);
  g_autoptr(OtResponse) paid = NULL;
  g_autoptr(OtResponse) replay = NULL;
  g_autoptr(OtResponse) again = NULL;
  g_autoptr(JsonObject) read = NULL;
  JsonObject *result;
  JsonObject *payment;
  gint64 balance, available;

  ot_wallet_fund (gw, w, 20000);
  paid = wallet_checkout (w, "checkout-1", id, mall->id, "W-1", 8000, OT_WALLET_CARD_PASSWORD);
  ot_assert_status (paid, 200);
  result = ot_response_object (paid);
  g_assert_cmpstr (ot_json_string (result, "status"), ==, "complete");
  {
    /* where the browser goes next, the session named in it */
    g_autofree char *next = g_strconcat ("https://mall.example/ok?s=", id, NULL);

    g_assert_cmpstr (ot_json_string (result, "success_url"), ==, next);
  }
  g_assert_cmpstr (ot_json_string (result, "payment_status"), ==, "captured");
  g_assert_cmpint (ot_json_int (result, "available"), ==, 12000);
  g_assert_cmpstr (ot_json_string (result, "card_last4"), ==, w->number + 12);
  replay = wallet_checkout (w, "checkout-1", id, mall->id, "W-1", 8000,
                            OT_WALLET_CARD_PASSWORD);
  g_assert_cmpstr (replay->body, ==, paid->body);
  g_assert_cmpstr (ot_response_header (replay, "Idempotent-Replayed"), ==, "true");
  again = wallet_checkout (w, NULL, id, mall->id, "W-1", 8000, OT_WALLET_CARD_PASSWORD);
  ot_assert_error (again, 409, "invalid_request_error", "checkout_session_completed");

  /* The mall's server reads the result. */
  read = get_session (mall, id);
  g_assert_cmpstr (ot_json_string (read, "status"), ==, "complete");
  g_assert_cmpstr (ot_json_string (read, "paid_with"), ==, "wallet");
  payment = ot_json_object (read, "payment");
  g_assert_cmpstr (ot_json_string (payment, "status"), ==, "captured");
  g_assert_cmpint (ot_json_int (payment, "amount"), ==, 8000);
  g_assert_cmpstr (ot_json_string (payment, "order_id"), ==, "W-1");
  g_assert_cmpstr (ot_json_string (payment, "merchant"), ==, mall->id);
  ot_wallet_balance (gw, w, &balance, &available);
  g_assert_cmpint (balance, ==, 12000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_mismatch (void)
{
  g_autoptr(Mall) mall = new_mall ("Exact Mall");
  g_autoptr(Mall) other = new_mall ("Impostor Mall");
  g_autoptr(OtWallet) w = ot_wallet_new (gw, "none");
  g_autofree char *id = session_id (mall, "M-1", 6000);
  struct { const char *merchant; const char *order; gint64 amount; const char *param; } cases[] = {
    { other->id, "M-1", 6000, "merchant" },
    { mall->id, "M-2", 6000, "order_id" },
    { mall->id, "M-1", 5999, "amount" },
    { mall->id, "M-1", 60000, "amount" },
  };
  g_autoptr(OtResponse) fine = NULL;
  gint64 balance, available;

  ot_wallet_fund (gw, w, 10000);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(OtResponse) r = wallet_checkout (w, NULL, id, cases[i].merchant, cases[i].order,
                                                 cases[i].amount, OT_WALLET_CARD_PASSWORD);

      ot_assert_error (r, 409, "invalid_request_error", "checkout_mismatch");
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"),
                                       "param"), ==, cases[i].param);
    }
  ot_wallet_balance (gw, w, &balance, &available);
  g_assert_cmpint (available, ==, 10000);
  /* Nothing was used up: the matching purchase still pays. */
  fine = wallet_checkout (w, NULL, id, mall->id, "M-1", 6000, OT_WALLET_CARD_PASSWORD);
  ot_assert_status (fine, 200);
}

static void
test_expiry (void)
{
  g_autoptr(Mall) mall = new_mall ("Slow Mall");
  g_autoptr(OtWallet) w = ot_wallet_new (gw, "none");
  g_autoptr(OtResponse) short_lived = open_session (mall, "E-1", 1000, "\"expires_in\":5");
  g_autofree char *id = g_strdup (ot_json_string (ot_response_object (short_lived), "id"));
  g_autofree char *open_id = session_id (mall, "E-2", 2000);
  g_autofree char *paid_id = session_id (mall, "E-3", 2000);
  g_autofree char *expire = g_strdup_printf ("/v1/checkout_sessions/%s/expire", open_id);
  g_autofree char *expire_paid = g_strdup_printf ("/v1/checkout_sessions/%s/expire", paid_id);
  g_autoptr(OtResponse) expired = NULL;
  g_autoptr(OtResponse) manual = NULL;
  g_autoptr(OtResponse) after_manual = NULL;
  g_autoptr(OtResponse) paid = NULL;
  g_autoptr(OtResponse) too_late = NULL;
  g_autoptr(JsonObject) read = NULL;

  ot_wallet_fund (gw, w, 10000);
  paid = wallet_checkout (w, NULL, paid_id, mall->id, "E-3", 2000, OT_WALLET_CARD_PASSWORD);
  ot_assert_status (paid, 200);
  too_late = ot_request (gw, "POST", expire_paid, mall->secret_key, NULL, "{}");
  ot_assert_error (too_late, 409, "invalid_request_error", "checkout_session_completed");

  manual = ot_request (gw, "POST", expire, mall->secret_key, NULL, "{}");
  ot_assert_status (manual, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (manual), "status"), ==, "expired");
  after_manual = wallet_checkout (w, NULL, open_id, mall->id, "E-2", 2000,
                                  OT_WALLET_CARD_PASSWORD);
  ot_assert_error (after_manual, 409, "invalid_request_error", "checkout_session_expired");

  g_usleep (6 * G_USEC_PER_SEC);
  expired = wallet_checkout (w, NULL, id, mall->id, "E-1", 1000, OT_WALLET_CARD_PASSWORD);
  ot_assert_error (expired, 409, "invalid_request_error", "checkout_session_expired");
  read = get_session (mall, id);
  g_assert_cmpstr (ot_json_string (read, "status"), ==, "expired");
}

static void
test_wallet_refusals (void)
{
  g_autoptr(Mall) mall = new_mall ("Careful Mall");
  g_autoptr(OtWallet) w = ot_wallet_new (gw, "none");
  g_autofree char *id = session_id (mall, "P-1", 4000);
  g_autoptr(OtResponse) poor = NULL;
  g_autoptr(OtResponse) locked = NULL;
  g_autoptr(OtResponse) unknown = NULL;
  g_autoptr(OtResponse) no_card = NULL;
  g_autoptr(OtResponse) user = NULL;
  g_autoptr(OtResponse) session = NULL;
  g_autoptr(OtResponse) anonymous = NULL;

  poor = wallet_checkout (w, NULL, id, mall->id, "P-1", 4000, OT_WALLET_CARD_PASSWORD);
  ot_assert_error (poor, 402, "card_error", "insufficient_funds");
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(OtResponse) r = wallet_checkout (w, NULL, id, mall->id, "P-1", 4000, "0000");

      ot_assert_error (r, 402, "card_error", "invalid_credentials");
    }
  locked = wallet_checkout (w, NULL, id, mall->id, "P-1", 4000, OT_WALLET_CARD_PASSWORD);
  ot_assert_error (locked, 402, "card_error", "card_locked");
  unknown = wallet_checkout (w, NULL, "cs_00000000000000000000000000000000", mall->id, "P-1",
                             4000, OT_WALLET_CARD_PASSWORD);
  ot_assert_error (unknown, 404, "invalid_request_error", "resource_missing");
  anonymous = ot_request (gw, "POST", "/v1/wallet/checkout", NULL, NULL, "{}");
  ot_assert_error (anonymous, 401, "authentication_error", "unauthorized");

  /* What was approved must be a purchase as the mall could have made it,
   * checked whole: a currency is not cut to its first three letters. */
  {
    g_autofree char *long_order = g_strnfill (256, 'x');
    struct { const char *merchant; const char *order; const char *amount;
             const char *currency; const char *param; } cases[] = {
      { mall->id, "P-1", "4000", "krw-anything", "currency" },
      { mall->id, "P-1", "4000", "KRW", "currency" },
      { mall->id, "P-1", "0", "krw", "amount" },
      { mall->id, "P-1", "1000001", "krw", "amount" },
      { mall->id, "", "4000", "krw", "order_id" },
      { mall->id, long_order, "4000", "krw", "order_id" },
      { "", "P-1", "4000", "krw", "merchant" },
      { "mer_\\u00e9", "P-1", "4000", "krw", "merchant" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autofree char *body = g_strdup_printf (
          "{\"checkout_session\":\"%s\",\"merchant\":\"%s\",\"order_id\":\"%s\","
          "\"amount\":%s,\"currency\":\"%s\",\"password\":\"%s\"}", id, cases[i].merchant,
          cases[i].order, cases[i].amount, cases[i].currency, OT_WALLET_CARD_PASSWORD);
        g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/wallet/checkout", w->token, NULL,
                                              body);

        ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
        g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"),
                                         "param"), ==, cases[i].param);
      }
  }

  /* A user who has not applied for the card. */
  user = ot_request (gw, "POST", "/v1/wallet/users", NULL, NULL,
                     "{\"login_id\":\"cardless-1\",\"password\":\"correct horse\","
                     "\"name\":\"No Card\",\"email\":\"nc@wallet.example\"}");
  ot_assert_status (user, 201);
  session = ot_request (gw, "POST", "/v1/wallet/sessions", NULL, NULL,
                        "{\"login_id\":\"cardless-1\",\"password\":\"correct horse\"}");
  ot_assert_status (session, 201);
  {
    OtWallet cardless = { .token = (char *) ot_json_string (ot_response_object (session),
                                                            "token") };

    no_card = wallet_checkout (&cardless, NULL, id, mall->id, "P-1", 4000, "2580");
  }
  ot_assert_error (no_card, 409, "invalid_request_error", "card_not_issued");
}

static void
test_receipt (void)
{
  g_autoptr(Mall) mall = new_mall ("Receipt Mall");
  g_autoptr(OtWallet) w = ot_wallet_new (gw, "sms");
  g_autofree char *id = session_id (mall, "R-1", 3000);
  g_autofree char *db_path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  g_autoptr(OtResponse) paid = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 before, after;

  ot_wallet_fund (gw, w, 10000);
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM outbox WHERE type = 'sms'", -1,
                                       &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  before = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  paid = wallet_checkout (w, NULL, id, mall->id, "R-1", 3000, OT_WALLET_CARD_PASSWORD);
  ot_assert_status (paid, 200);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  after = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  /* The transaction details, by the channel the user chose (claim 10). */
  g_assert_cmpint (after, ==, before + 1);
}

/* ---- the hosted page ---------------------------------------------------- */

static void
test_hosted_page (void)
{
  g_autoptr(Mall) mall = new_mall ("Hosted Mall");
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "4321");
  g_autofree char *id = session_id (mall, "H-1", 7000);
  g_autofree char *page = g_strconcat ("/pay/", id, NULL);
  g_autofree char *public = g_strdup_printf ("/v1/checkout_sessions/%s/public", id);
  g_autofree char *pay = g_strdup_printf ("/v1/checkout_sessions/%s/pay", id);
  g_autofree char *wrong = g_strdup_printf ("{\"card_number\":\"%s\",\"password\":\"0000\"}",
                                            card->number);
  g_autofree char *right = g_strdup_printf ("{\"card_number\":\"%s\",\"password\":\"4321\"}",
                                            card->number);
  g_autoptr(OtResponse) html = ot_request (gw, "GET", page, NULL, NULL, NULL);
  g_autoptr(OtResponse) script = ot_request (gw, "GET", "/pay/assets/pay.js", NULL, NULL, NULL);
  g_autoptr(OtResponse) style = ot_request (gw, "GET", "/pay/assets/pay.css", NULL, NULL, NULL);
  g_autoptr(OtResponse) nothing = ot_request (gw, "GET", "/pay/assets/secret.key", NULL, NULL,
                                              NULL);
  g_autoptr(OtResponse) summary = ot_request (gw, "GET", public, NULL, NULL, NULL);
  g_autoptr(OtResponse) declined = ot_request (gw, "POST", pay, NULL, NULL, wrong);
  g_autoptr(OtResponse) paid = NULL;
  g_autoptr(OtResponse) twice = NULL;
  g_autoptr(JsonObject) read = NULL;
  const char *policy;

  ot_assert_status (html, 200);
  g_assert_true (g_str_has_prefix (ot_response_header (html, "Content-Type"), "text/html"));
  policy = ot_response_header (html, "Content-Security-Policy");
  g_assert_nonnull (strstr (policy, "default-src 'none'"));
  g_assert_nonnull (strstr (policy, "script-src 'self'"));
  g_assert_nonnull (strstr (policy, "frame-ancestors 'none'"));
  g_assert_cmpstr (ot_response_header (html, "X-Frame-Options"), ==, "DENY");
  /* The mall that opened the page must not be able to swap it for a
   * look-alike asking for the password again. */
  g_assert_cmpstr (ot_response_header (html, "Cross-Origin-Opener-Policy"), ==, "same-origin");
  g_assert_cmpstr (ot_response_header (script, "Cross-Origin-Resource-Policy"), ==,
                   "same-origin");
  g_assert_null (strstr (html->body, "<script>"));
  g_assert_null (strstr (html->body, "style="));
  ot_assert_status (script, 200);
  g_assert_true (g_str_has_prefix (ot_response_header (script, "Content-Type"),
                                   "text/javascript"));
  ot_assert_status (style, 200);
  ot_assert_error (nothing, 404, "invalid_request_error", "resource_missing");
  {
    /* The page and its assets take any query string (a mall's tags, a
     * cache buster); the page's API call takes none. */
    g_autofree char *tagged = g_strconcat (page, "?utm_source=mall&utm_source", NULL);
    g_autofree char *public_tagged = g_strconcat (public, "?utm_source=mall", NULL);
    g_autoptr(OtResponse) tagged_html = ot_request (gw, "GET", tagged, NULL, NULL, NULL);
    g_autoptr(OtResponse) busted = ot_request (gw, "GET", "/pay/assets/pay.js?v=2&v=3", NULL,
                                               NULL, NULL);
    g_autoptr(OtResponse) public_odd = ot_request (gw, "GET", public_tagged, NULL, NULL, NULL);

    ot_assert_status (tagged_html, 200);
    ot_assert_status (busted, 200);
    ot_assert_error (public_odd, 400, "invalid_request_error", "parameter_unknown");
  }

  ot_assert_status (summary, 200);
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (summary), "merchant"),
                                   "name"), ==, "Hosted Mall");
  g_assert_cmpint (ot_json_int (ot_response_object (summary), "amount"), ==, 7000);
  g_assert_null (strstr (summary->body, "secret"));

  ot_assert_error (declined, 402, "card_error", "invalid_credentials");
  /* A refusal of the fields is kept in the card's scope as well: another
   * card's refusal under the same key is its own, not a 422. */
  {
    g_autofree char *unknown = ot_random_card_number ("9410");
    g_autofree char *partial = g_strdup_printf ("{\"card_number\":\"%s\"}", card->number);
    g_autofree char *other = g_strdup_printf ("{\"card_number\":\"%s\"}", unknown);
    g_autoptr(OtResponse) refused = ot_request (gw, "POST", pay, NULL, "hosted-0", partial);
    g_autoptr(OtResponse) refused_other = ot_request (gw, "POST", pay, NULL, "hosted-0", other);

    ot_assert_error (refused, 400, "invalid_request_error", "parameter_missing");
    ot_assert_error (refused_other, 400, "invalid_request_error", "parameter_missing");
  }
  paid = ot_request (gw, "POST", pay, NULL, "hosted-1", right);
  ot_assert_status (paid, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (paid), "status"), ==, "complete");
  {
    g_autofree char *next = g_strconcat ("https://mall.example/ok?s=", id, NULL);

    g_assert_cmpstr (ot_json_string (ot_response_object (paid), "success_url"), ==, next);
  }
  /* The answer lost, the same request again learns it was paid; the key
   * is the card's, so another password learns nothing of it. */
  {
    g_autoptr(OtResponse) replay = ot_request (gw, "POST", pay, NULL, "hosted-1", right);
    g_autoptr(OtResponse) other = ot_request (gw, "POST", pay, NULL, "hosted-1", wrong);

    ot_assert_status (replay, 200);
    g_assert_cmpstr (replay->body, ==, paid->body);
    g_assert_cmpstr (ot_response_header (replay, "Idempotent-Replayed"), ==, "true");
    ot_assert_error (other, 402, "card_error", "invalid_credentials");
  }
  twice = ot_request (gw, "POST", pay, NULL, NULL, right);
  ot_assert_error (twice, 409, "invalid_request_error", "checkout_session_completed");
  read = get_session (mall, id);
  g_assert_cmpstr (ot_json_string (read, "paid_with"), ==, "card");
  ot_assert_card_balance (gw, card->number, "4321", 3000, 3000);
}

/* ---- webhooks ----------------------------------------------------------- */

typedef struct
{
  SoupServer *server;
  char       *url;
  GPtrArray  *bodies;          /* of char*, everything that arrived */
  GPtrArray  *signatures;
  guint       fail_first;      /* answer 500 to this many first */
  guint       redirect_first;  /* or send this many first elsewhere */
  guint       seen;
  guint       elsewhere;       /* requests that followed a redirect */
  guint       delay_ms;        /* answer this late */
  gint64      answered;        /* when the last late answer went (monotonic) */
  const char *stall_path;      /* requests to this path are never answered */
  GPtrArray  *stalled;         /* of SoupServerMessage, held */
} Endpoint;

typedef struct
{
  Endpoint          *endpoint;
  SoupServerMessage *msg;
} LateAnswer;

static gboolean
answer_late (gpointer data)
{
  LateAnswer *late = data;

  late->endpoint->answered = g_get_monotonic_time ();
  soup_server_message_unpause (late->msg);
  g_object_unref (late->msg);
  g_free (late);
  return G_SOURCE_REMOVE;
}

static void
endpoint_handler (SoupServer        *server,
                  SoupServerMessage *msg,
                  const char        *path,
                  GHashTable        *query,
                  gpointer           user_data)
{
  Endpoint *endpoint = user_data;
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  const char *signature = soup_message_headers_get_one (
    soup_server_message_get_request_headers (msg), "Onepin-Signature");

  if (g_str_equal (path, "/elsewhere"))
    {
      endpoint->elsewhere++;
      soup_server_message_set_status (msg, 200, NULL);
      return;
    }
  if (endpoint->seen < endpoint->redirect_first)
    {
      endpoint->seen++;
      soup_server_message_set_redirect (msg, 302, "/elsewhere");
      return;
    }
  if (g_strcmp0 (path, endpoint->stall_path) == 0)
    {
      g_ptr_array_add (endpoint->stalled, g_object_ref (msg));
      soup_server_message_pause (msg);
      return;
    }
  g_ptr_array_add (endpoint->bodies, g_strndup (body->data, body->length));
  g_ptr_array_add (endpoint->signatures, g_strdup (signature ? signature : ""));
  soup_server_message_set_status (msg, endpoint->seen++ < endpoint->fail_first ? 500 : 200,
                                  NULL);
  if (endpoint->delay_ms > 0)
    {
      LateAnswer *late = g_new0 (LateAnswer, 1);

      late->endpoint = endpoint;
      late->msg = g_object_ref (msg);
      soup_server_message_pause (msg);
      g_timeout_add (endpoint->delay_ms, answer_late, late);
    }
}

/* An endpoint listening on @address alone, its URL http://@host:port/hooks. */
static Endpoint *
endpoint_start_at (GInetAddress *address,
                   const char   *host,
                   guint         fail_first)
{
  Endpoint *endpoint = g_new0 (Endpoint, 1);
  g_autoptr(GSocketAddress) listen = g_inet_socket_address_new (address, 0);
  g_autoptr(GError) error = NULL;
  GSList *uris;

  endpoint->server = soup_server_new (NULL, NULL);
  endpoint->bodies = g_ptr_array_new_with_free_func (g_free);
  endpoint->signatures = g_ptr_array_new_with_free_func (g_free);
  endpoint->stalled = g_ptr_array_new_with_free_func (g_object_unref);
  endpoint->fail_first = fail_first;
  soup_server_add_handler (endpoint->server, NULL, endpoint_handler, endpoint, NULL);
  g_assert_true (soup_server_listen (endpoint->server, listen, 0, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (endpoint->server);
  endpoint->url = g_strdup_printf ("http://%s:%d/hooks", host, g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return endpoint;
}

static Endpoint *
endpoint_start (guint fail_first)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  return endpoint_start_at (loopback, "127.0.0.1", fail_first);
}

static void
endpoint_free (Endpoint *endpoint)
{
  soup_server_disconnect (endpoint->server);
  g_object_unref (endpoint->server);
  g_ptr_array_unref (endpoint->stalled);
  g_ptr_array_unref (endpoint->bodies);
  g_ptr_array_unref (endpoint->signatures);
  g_free (endpoint->url);
  g_free (endpoint);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Endpoint, endpoint_free)

static void
set_endpoint (Mall       *mall,
              const char *url)
{
  g_autofree char *body = g_strdup_printf ("{\"url\":\"%s\"}", url);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/webhook_endpoint", mall->secret_key,
                                        NULL, body);
  g_autoptr(OtResponse) read = ot_request (gw, "GET", "/v1/webhook_endpoint", mall->secret_key,
                                           NULL, NULL);

  ot_assert_status (r, 200);
  ot_assert_status (read, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (read), "url"), ==, url);
}

/* The event of @type whose object has @field @value, once delivered (2xx);
 * NULL after 30 s. */
static JsonObject *
wait_event (Endpoint   *endpoint,
            const char *type,
            const char *field,
            const char *value,
            guint      *tries)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      *tries = 0;
      for (guint i = 0; i < endpoint->bodies->len; i++)
        {
          g_autoptr(JsonNode) node = json_from_string (endpoint->bodies->pdata[i], NULL);
          JsonObject *event = node ? json_node_get_object (node) : NULL;
          JsonObject *object;

          if (event == NULL || g_strcmp0 (json_object_get_string_member (event, "type"), type))
            continue;
          object = json_object_get_object_member (json_object_get_object_member (event, "data"),
                                                  "object");
          if (g_strcmp0 (json_object_get_string_member (object, field), value) != 0)
            continue;
          (*tries)++;
          if (i >= endpoint->fail_first)
            return json_object_ref (event);
        }
      g_main_context_iteration (NULL, FALSE) || (g_usleep (10 * 1000), TRUE);
    }
  return NULL;
}

static void
assert_signed (Endpoint   *endpoint,
               Mall       *mall)
{
  g_autoptr(OnepinKey) key = onepin_key_new_hmac ((const guint8 *) mall->webhook_secret,
                                                  strlen (mall->webhook_secret), NULL);
  g_autoptr(OnepinKey) wrong = onepin_key_new_hmac ((const guint8 *) "whsec_wrong", 11, NULL);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_assert_cmpuint (endpoint->bodies->len, >, 0);
  for (guint i = 0; i < endpoint->bodies->len; i++)
    {
      const char *body = endpoint->bodies->pdata[i];
      const char *signature = endpoint->signatures->pdata[i];

      g_assert_true (g_str_has_prefix (signature, "t="));
      g_assert_true (onepin_signature_verify (key, signature, body, strlen (body), now, 300));
      g_assert_false (onepin_signature_verify (wrong, signature, body, strlen (body), now, 300));
      g_assert_false (onepin_signature_verify (key, signature, body, strlen (body), now + 301,
                                               300));
    }
}

/* The first column of @sql's first row (@param its one parameter, if
 * any) in the gateway's database beside it, or -1 for no row. */
static gint64
db_count (const char *sql,
          const char *param)
{
  g_autofree char *db_path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 count = -1;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 10000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, param, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    count = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return count;
}

/* The merchant's events in the outbox, sent or not. */
static gint64
count_merchant_events (const char *merchant_id)
{
  return db_count ("SELECT count(*) FROM outbox WHERE merchant_id = ?"
                   " AND (type GLOB 'payment.*' OR type GLOB 'checkout.*')", merchant_id);
}

static void
test_webhooks (void)
{
  g_autoptr(Mall) mall = new_mall ("Hooked Mall");
  g_autoptr(Endpoint) endpoint = endpoint_start (2);
  g_autoptr(OtWallet) w = ot_wallet_new (gw, "none");
  g_autofree char *id = NULL;
  g_autoptr(OtResponse) paid = NULL;
  g_autoptr(JsonObject) completed = NULL;
  g_autoptr(JsonObject) captured = NULL;
  JsonObject *session;
  guint tries = 0;

  ot_wallet_fund (gw, w, 10000);
  /* Before the endpoint: never sent. */
  {
    g_autofree char *early = session_id (mall, "K-0", 1000);
    g_autoptr(OtResponse) r = wallet_checkout (w, NULL, early, mall->id, "K-0", 1000,
                                               OT_WALLET_CARD_PASSWORD);

    ot_assert_status (r, 200);
  }
  /* Nobody would receive them, so they were not even queued. */
  g_assert_cmpint (count_merchant_events (mall->id), ==, 0);
  g_usleep (1100 * 1000);
  set_endpoint (mall, endpoint->url);
  id = session_id (mall, "K-1", 4000);
  paid = wallet_checkout (w, NULL, id, mall->id, "K-1", 4000, OT_WALLET_CARD_PASSWORD);
  ot_assert_status (paid, 200);

  completed = wait_event (endpoint, "checkout.session.completed", "id", id, &tries);
  g_assert_nonnull (completed);
  session = ot_json_object (ot_json_object (completed, "data"), "object");
  g_assert_cmpstr (ot_json_string (session, "status"), ==, "complete");
  g_assert_cmpstr (ot_json_string (session, "order_id"), ==, "K-1");
  g_assert_cmpint (ot_json_int (ot_json_object (session, "payment"), "amount"), ==, 4000);
  g_assert_true (g_str_has_prefix (ot_json_string (completed, "id"), "evt_"));
  captured = wait_event (endpoint, "payment.captured", "order_id", "K-1", &tries);
  g_assert_nonnull (captured);
  g_assert_cmpint (count_merchant_events (mall->id), >=, 2);
  g_assert_cmpint (ot_json_int (ot_json_object (ot_json_object (captured, "data"), "object"),
                                "amount_captured"), ==, 4000);
  /* The first two tries got a 500 and were retried: the same event id each time. */
  g_assert_cmpuint (endpoint->bodies->len, >=, 4);
  assert_signed (endpoint, mall);
  for (guint i = 0; i < endpoint->bodies->len; i++)
    g_assert_null (strstr (endpoint->bodies->pdata[i], "K-0"));
}

/* A redirect is not followed (libsoup would re-send it as a GET, perhaps
 * to another host, and take that answer as delivery): it is a failed try,
 * retried at the endpoint itself. */
static void
test_webhook_no_redirect (void)
{
  g_autoptr(Mall) mall = new_mall ("Moved Mall");
  g_autoptr(Endpoint) endpoint = endpoint_start (0);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "4321");
  g_autoptr(JsonObject) payment = NULL;
  g_autoptr(JsonObject) event = NULL;
  guint tries = 0;

  endpoint->redirect_first = 1;
  set_endpoint (mall, endpoint->url);
  payment = ot_pay (gw, mall->secret_key, card->number, "4321", 1500, TRUE);
  event = wait_event (endpoint, "payment.captured", "id", ot_json_string (payment, "id"),
                      &tries);
  g_assert_nonnull (event);
  g_assert_cmpuint (endpoint->elsewhere, ==, 0);
  g_assert_cmpuint (endpoint->seen, >=, 2);
}

static void
test_webhook_survives_restart (void)
{
  g_autoptr(Mall) mall = new_mall ("Patient Mall");
  g_autoptr(Endpoint) endpoint = endpoint_start (1000);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "4321");
  g_autoptr(JsonObject) payment = NULL;
  g_autoptr(JsonObject) event = NULL;
  guint tries = 0;
  const char *payment_id;

  set_endpoint (mall, endpoint->url);
  payment = ot_pay (gw, mall->secret_key, card->number, "4321", 2500, TRUE);
  payment_id = ot_json_string (payment, "id");
  /* Refused until the gateway is stopped and started again. */
  while (endpoint->bodies->len < 2)
    g_main_context_iteration (NULL, TRUE);
  ot_gateway_terminate (gw, SIGTERM);
  endpoint->fail_first = endpoint->bodies->len;
  ot_gateway_restart (gw);
  event = wait_event (endpoint, "payment.captured", "id", payment_id, &tries);
  g_assert_nonnull (event);
  g_assert_cmpuint (tries, >=, 3);
  assert_signed (endpoint, mall);
}

/* A session nobody touches after its time is expired by the sweep, and
 * the mall hears it once: trying it later sends nothing more. */
static void
test_expiry_sweep (void)
{
  g_autoptr(Mall) mall = new_mall ("Forgetful Mall");
  g_autoptr(Endpoint) endpoint = endpoint_start (0);
  g_autoptr(OtWallet) w = ot_wallet_new (gw, "none");
  g_autoptr(OtResponse) r = NULL;
  g_autoptr(OtResponse) late = NULL;
  g_autoptr(JsonObject) event = NULL;
  g_autoptr(JsonObject) read = NULL;
  g_autofree char *id = NULL;
  g_autofree char *open_id = NULL;
  JsonObject *session;
  guint tries = 0;
  guint expired_events = 0;

  set_endpoint (mall, endpoint->url);
  r = open_session (mall, "S-1", 1500, "\"expires_in\":5");
  ot_assert_status (r, 200);
  id = g_strdup (ot_json_string (ot_response_object (r), "id"));
  open_id = session_id (mall, "S-2", 1500);

  event = wait_event (endpoint, "checkout.session.expired", "id", id, &tries);
  g_assert_nonnull (event);
  session = ot_json_object (ot_json_object (event, "data"), "object");
  g_assert_cmpstr (ot_json_string (session, "status"), ==, "expired");
  g_assert_cmpstr (ot_json_string (session, "order_id"), ==, "S-1");
  g_assert_cmpint (ot_json_int (session, "expires_at"), <=, g_get_real_time () / G_USEC_PER_SEC);

  /* Stored as expired, not only shown so: paying it is refused and sends no second event. */
  read = get_session (mall, id);
  g_assert_cmpstr (ot_json_string (read, "status"), ==, "expired");
  ot_wallet_fund (gw, w, 10000);
  late = wallet_checkout (w, NULL, id, mall->id, "S-1", 1500, OT_WALLET_CARD_PASSWORD);
  ot_assert_error (late, 409, "invalid_request_error", "checkout_session_expired");
  {
    g_autoptr(OtResponse) s2 = wallet_checkout (w, NULL, open_id, mall->id, "S-2", 1500,
                                                OT_WALLET_CARD_PASSWORD);
    g_autoptr(JsonObject) paid = NULL;

    /* The other session (30 minutes) was left open by the sweep. */
    ot_assert_status (s2, 200);
    paid = wait_event (endpoint, "checkout.session.completed", "id", open_id, &tries);
    g_assert_nonnull (paid);
  }
  for (guint i = 0; i < endpoint->bodies->len; i++)
    if (strstr (endpoint->bodies->pdata[i], "checkout.session.expired") != NULL)
      expired_events++;
  g_assert_cmpuint (expired_events, ==, 1);
  assert_signed (endpoint, mall);
}

/* An endpoint that never answers 2xx: the event is given up after
 * max_attempts tries, marked failed in the outbox, and tried no more. */
static void
test_webhook_gives_up (void)
{
  g_autofree char *config = g_strdup ("[webhooks]\nallow_private=true\nretry_base=1\ntimeout=2\n"
                                      "max_attempts=2\n");
  OtGateway *saved = gw;
  g_autoptr(Endpoint) endpoint = endpoint_start (1000);
  g_autoptr(Mall) mall = NULL;
  g_autoptr(OtCard) card = NULL;
  g_autoptr(JsonObject) payment = NULL;
  g_autofree char *db_path = NULL;
  gint64 deadline;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  guint tries;

  gw = ot_gateway_start (config, FALSE);
  mall = new_mall ("Unreachable Mall");
  card = ot_new_card (gw, 10000, "4321");
  set_endpoint (mall, endpoint->url);
  payment = ot_pay (gw, mall->secret_key, card->number, "4321", 1000, TRUE);
  deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  while (endpoint->bodies->len < 2 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (10 * 1000), TRUE);
  g_assert_cmpuint (endpoint->bodies->len, ==, 2);
  /* Long enough for a third try, were there one. */
  deadline = g_get_monotonic_time () + 4 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (10 * 1000), TRUE);
  tries = endpoint->bodies->len;
  db_path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM outbox WHERE type = "
                                       "'payment.captured' AND failed_at IS NOT NULL "
                                       "AND last_error = 'HTTP 500' AND attempts = 2", -1, &stmt,
                                       NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int64 (stmt, 0), ==, 1);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM webhook_attempts", -1, &stmt,
                                       NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int64 (stmt, 0), ==, 2);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  ot_gateway_stop (gw);
  gw = saved;
  g_assert_cmpuint (tries, ==, 2);
}

/* An endpoint that answers one header byte at a time, for ever: libsoup's
 * timeout (for silence) never fires on it. */
typedef struct
{
  GSocketService *service;
  char           *url;
  GPtrArray      *connections;   /* of GSocketConnection */
  guint           timer;
} Trickler;

static gboolean
trickle (gpointer data)
{
  Trickler *t = data;

  for (guint i = 0; i < t->connections->len; i++)
    {
      GOutputStream *out = g_io_stream_get_output_stream (t->connections->pdata[i]);
      const char *next = g_object_get_data (t->connections->pdata[i], "sent") ? "a"
                                                                               : "HTTP/1.1 200 OK\r\nX-Slow: ";

      g_output_stream_write (out, next, strlen (next), NULL, NULL);
      g_object_set_data (t->connections->pdata[i], "sent", GINT_TO_POINTER (1));
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_trickler_incoming (GSocketService    *service,
                      GSocketConnection *connection,
                      GObject           *source,
                      gpointer           data)
{
  Trickler *t = data;

  g_ptr_array_add (t->connections, g_object_ref (connection));
  return TRUE;
}

static Trickler *
trickler_start (void)
{
  Trickler *t = g_new0 (Trickler, 1);
  g_autoptr(GError) error = NULL;
  guint16 port;

  t->service = g_socket_service_new ();
  t->connections = g_ptr_array_new_with_free_func (g_object_unref);
  port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (t->service), NULL, &error);
  g_assert_no_error (error);
  t->url = g_strdup_printf ("http://127.0.0.1:%u/hooks", port);
  g_signal_connect (t->service, "incoming", G_CALLBACK (on_trickler_incoming), t);
  t->timer = g_timeout_add (300, trickle, t);
  return t;
}

static void
trickler_free (Trickler *t)
{
  g_source_remove (t->timer);
  g_socket_service_stop (t->service);
  g_socket_listener_close (G_SOCKET_LISTENER (t->service));
  g_object_unref (t->service);
  g_ptr_array_unref (t->connections);
  g_free (t->url);
  g_free (t);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Trickler, trickler_free)

/* One merchant's endpoint trickles its answer: its tries end at the
 * [webhooks] timeout, counted from the send, and another merchant's events
 * go out meanwhile, not after them. */
static void
test_webhook_trickling_endpoint (void)
{
  OtGateway *saved = gw;
  g_autoptr(Trickler) slow = trickler_start ();
  g_autoptr(Endpoint) fine = endpoint_start (0);
  g_autoptr(Mall) a = NULL;
  g_autoptr(Mall) b = NULL;
  g_autoptr(OtCard) card = NULL;
  g_autoptr(JsonObject) paid = NULL;
  g_autoptr(JsonObject) event = NULL;
  g_autofree char *db_path = NULL;
  gint64 started;
  gint64 deadline;
  guint tries;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 timed_out = 0;

  gw = ot_gateway_start ("[webhooks]\nallow_private=true\nretry_base=600\ntimeout=2\n", FALSE);
  a = new_mall ("Trickling Mall");
  b = new_mall ("Prompt Mall");
  card = ot_new_card (gw, 100000, "4321");
  set_endpoint (a, slow->url);
  set_endpoint (b, fine->url);
  for (guint i = 0; i < 6; i++)
    json_object_unref (ot_pay (gw, a->secret_key, card->number, "4321", 1000, TRUE));
  /* A's tries are under way before B's event exists. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (slow->connections->len == 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (10 * 1000), TRUE);
  g_assert_cmpuint (slow->connections->len, >, 0);

  started = g_get_monotonic_time ();
  paid = ot_pay (gw, b->secret_key, card->number, "4321", 2000, TRUE);
  event = wait_event (fine, "payment.captured", "id", ot_json_string (paid, "id"), &tries);
  g_assert_nonnull (event);
  g_test_message ("B's event after %.1f s", (g_get_monotonic_time () - started) / 1e6);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 5 * G_USEC_PER_SEC);

  /* A's tries were cut at their deadline and recorded as failed. */
  db_path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM webhook_attempts "
                                       "WHERE error = 'no answer within 2 s'", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (timed_out == 0 && g_get_monotonic_time () < deadline)
    {
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
      timed_out = sqlite3_column_int64 (stmt, 0);
      sqlite3_reset (stmt);
      g_main_context_iteration (NULL, FALSE) || (g_usleep (50 * 1000), TRUE);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  g_assert_cmpint (timed_out, >, 0);
  ot_gateway_stop (gw);
  gw = saved;
}

static void
iterate_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (10 * 1000), TRUE);
}

/* The last allowed try is cut by a stop: it has no outcome, so it was
 * neither tried again nor given up, for ever. Now, once its lease has run
 * out, it is given up and the cut try logged. Its deadline (timeout=8) is
 * after the stop's grace (5 s), which would otherwise record it. */
static void
test_webhook_last_try_cut (void)
{
  OtGateway *saved = gw;
  g_autoptr(Trickler) slow = trickler_start ();
  g_autoptr(Mall) mall = NULL;
  g_autoptr(OtCard) card = NULL;
  gint64 deadline;

  gw = ot_gateway_start ("[webhooks]\nallow_private=true\nretry_base=1\ntimeout=8\n"
                         "max_attempts=2\n", FALSE);
  mall = new_mall ("Cut Mall");
  card = ot_new_card (gw, 10000, "4321");
  set_endpoint (mall, slow->url);
  json_object_unref (ot_pay (gw, mall->secret_key, card->number, "4321", 1000, TRUE));
  /* The first try ends at its deadline; the gateway stops during the second. */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (slow->connections->len < 2 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (10 * 1000), TRUE);
  g_assert_cmpuint (slow->connections->len, ==, 2);
  ot_gateway_terminate (gw, SIGTERM);
  ot_gateway_restart (gw);

  /* The lease is timeout + 5 s from the second claim, and given up
   * timeout s after that. */
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (db_count ("SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL", NULL) == 0 &&
         g_get_monotonic_time () < deadline)
    iterate_for (200);
  g_assert_cmpint (db_count ("SELECT count(*) FROM outbox WHERE type = 'payment.captured' "
                           "AND failed_at IS NOT NULL AND attempts = 2 "
                           "AND last_error GLOB '*never recorded*'", NULL), ==, 1);
  g_assert_cmpint (db_count ("SELECT count(*) FROM webhook_attempts", NULL), ==, 2);
  g_assert_cmpint (db_count ("SELECT count(*) FROM webhook_attempts WHERE attempt = 2 "
                           "AND status = 0 AND error GLOB '*never recorded*'", NULL), ==, 1);
  g_assert_cmpuint (slow->connections->len, ==, 2);
  ot_gateway_stop (gw);
  gw = saved;
}

/* CPU time the gateway's process has used, in clock ticks. */
static gint64
gateway_cpu_ticks (void)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) ot_gateway_pid (gw));
  g_autofree char *stat = NULL;
  g_auto(GStrv) fields = NULL;

  g_assert_true (g_file_get_contents (path, &stat, NULL, NULL));
  /* Fields after the command's closing parenthesis: state is the first,
   * utime the 12th and stime the 13th. */
  fields = g_strsplit (strrchr (stat, ')') + 2, " ", 0);
  return g_ascii_strtoll (fields[11], NULL, 10) + g_ascii_strtoll (fields[12], NULL, 10);
}

/* Outbox rows no worker will finish (e-mail given up, SMS for a channel
 * not configured) are not walked by the webhook poll: an idle gateway over
 * a million of them stays idle. They were in the poll's index, which took
 * ~140 ms a second. */
static void
test_webhook_poll_skips_finished (void)
{
  OtGateway *saved = gw;
  gint64 before;
  gint64 used;

  gw = ot_gateway_start ("[webhooks]\npoll_interval=1\n", FALSE);
  ot_gateway_terminate (gw, SIGTERM);
  g_assert_cmpint (db_count ("WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 1000000) INSERT INTO outbox (type, payload, created, "
                           "attempts, failed_at, last_error) SELECT CASE i % 2 WHEN 0 THEN "
                           "'email' ELSE 'sms' END, 'x', 1, 1, CASE i % 2 WHEN 0 THEN 1 END, "
                           "'given up' FROM n", NULL), ==, -1);
  ot_gateway_restart (gw);
  iterate_for (1500);
  before = gateway_cpu_ticks ();
  iterate_for (4000);
  used = gateway_cpu_ticks () - before;
  g_test_message ("idle gateway over 1,000,000 finished rows: %" G_GINT64_FORMAT " ticks "
                  "in 4 s", used);
  /* 5% of a core (20 ticks at 100 Hz). */
  g_assert_cmpint (used * 100 / sysconf (_SC_CLK_TCK), <, 20);
  ot_gateway_stop (gw);
  gw = saved;
}

/* A telephone merchant hears of each call's end at its endpoint: the
 * session's closing figures, signed like every event. The event was
 * written to the outbox before and never sent. */
static void
test_webhook_phone_session_ended (void)
{
  g_autoptr(Mall) operator = new_merchant ("Phone Co", "telephone");
  g_autoptr(Endpoint) endpoint = endpoint_start (0);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "4321");
  g_autoptr(OtResponse) rates = NULL;
  g_autoptr(OtResponse) call = NULL;
  g_autoptr(OtResponse) end = NULL;
  g_autoptr(JsonObject) event = NULL;
  g_autofree char *start = g_strdup_printf ("{\"card_number\":\"%s\",\"password\":\"4321\","
                                            "\"destination\":\"0212345678\"}", card->number);
  g_autofree char *path = NULL;
  JsonObject *session;
  guint tries = 0;

  rates = ot_request (gw, "POST", "/v1/admin/phone/rate_tables", ot_gateway_admin_token (gw),
                      NULL, "{\"name\":\"hook rates\",\"rates\":[{\"prefix\":\"02\","
                      "\"category\":\"local\",\"per_minute\":60,\"increment\":10}]}");
  ot_assert_status (rates, 200);
  set_endpoint (operator, endpoint->url);
  call = ot_request (gw, "POST", "/v1/phone/sessions", operator->secret_key, NULL, start);
  ot_assert_status (call, 200);
  path = g_strdup_printf ("/v1/phone/sessions/%s/terminate",
                          ot_json_string (ot_response_object (call), "id"));
  end = ot_request (gw, "POST", path, operator->secret_key, NULL,
                    "{\"request_number\":1,\"used_seconds\":95}");
  ot_assert_status (end, 200);

  event = wait_event (endpoint, "phone_session.ended", "id",
                      ot_json_string (ot_response_object (call), "id"), &tries);
  g_assert_nonnull (event);
  session = ot_json_object (ot_json_object (event, "data"), "object");
  g_assert_cmpstr (ot_json_string (session, "object"), ==, "phone_session");
  g_assert_cmpstr (ot_json_string (session, "status"), ==, "terminated");
  g_assert_cmpint (ot_json_int (session, "used_seconds"), ==, 95);
  g_assert_cmpint (ot_json_int (session, "billed_seconds"), ==,
                   ot_json_int (ot_response_object (end), "billed_seconds"));
  g_assert_cmpint (ot_json_int (session, "amount_charged"), ==, 100);
  g_assert_cmpint (ot_json_int (session, "amount_charged"), ==,
                   ot_json_int (ot_response_object (end), "amount_charged"));
  g_assert_cmpstr (ot_json_string (session, "currency"), ==, "krw");
  assert_signed (endpoint, operator);
}

/* Waits, iterating, until @endpoint got @n requests; FALSE after @seconds. */
static gboolean
wait_requests (Endpoint *endpoint,
               guint     n,
               guint     seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  while (endpoint->bodies->len < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (5 * 1000), TRUE);
  return endpoint->bodies->len >= n;
}

/* One merchant's backlog goes out as fast as its endpoint answers: a try
 * that ends makes room for the next at once. It went out 4 events per
 * poll_interval, whatever the endpoint's pace (40 events: 30 s here). */
static void
test_webhook_backlog_drains (void)
{
  OtGateway *saved = gw;
  g_autoptr(Endpoint) endpoint = endpoint_start (0);
  g_autoptr(Mall) mall = NULL;
  g_autoptr(OtCard) card = NULL;
  gint64 events;
  gint64 started;

  /* The first look comes after the backlog is written. */
  gw = ot_gateway_start ("[webhooks]\nallow_private=true\npoll_interval=3\n", FALSE);
  mall = new_mall ("Busy Mall");
  card = ot_new_card (gw, 100000, "4321");
  set_endpoint (mall, endpoint->url);
  for (guint i = 0; i < 40; i++)
    json_object_unref (ot_pay (gw, mall->secret_key, card->number, "4321", 1000, TRUE));
  events = count_merchant_events (mall->id);
  g_assert_cmpint (events, >=, 40);
  started = g_get_monotonic_time ();
  g_assert_true (wait_requests (endpoint, events, 60));
  g_test_message ("%" G_GINT64_FORMAT " events in %.1f s", events,
                  (g_get_monotonic_time () - started) / 1e6);
  /* 3 s until the first look, then the writer's pace. */
  g_assert_cmpint (g_get_monotonic_time () - started, <, 10 * G_USEC_PER_SEC);
  /* The last answers' outcomes are still on their way to the writer. */
  started = g_get_monotonic_time ();
  while (db_count ("SELECT count(*) FROM outbox WHERE merchant_id = ? AND delivered_at IS NULL",
                   mall->id) > 0 && g_get_monotonic_time () - started < 5 * G_USEC_PER_SEC)
    iterate_for (50);
  g_assert_cmpint (db_count ("SELECT count(*) FROM outbox WHERE merchant_id = ? "
                             "AND delivered_at IS NULL", mall->id), ==, 0);
  ot_gateway_stop (gw);
  gw = saved;
}

/* Merchants whose endpoints share a host (shops on one hosted platform)
 * do not wait for each other: one whose endpoint never answers holds its
 * own few places, and the other's events go out at once. libsoup's limit
 * per host was theirs together, and a try's time spent waiting for a
 * connection counted against it: the quick merchant's tries failed as
 * "no answer" and were given up, none of them having reached the host. */
static void
test_webhook_shared_host (void)
{
  OtGateway *saved = gw;
  g_autoptr(Endpoint) endpoint = endpoint_start (0);
  g_autoptr(Mall) stuck = NULL;
  g_autoptr(Mall) quick = NULL;
  g_autoptr(OtCard) card = NULL;
  g_autofree char *stuck_url = g_strconcat (endpoint->url, "-stuck", NULL);
  gint64 events;
  gint64 started;

  gw = ot_gateway_start ("[webhooks]\nallow_private=true\nretry_base=1\nmax_attempts=3\n"
                         "timeout=3\n", FALSE);
  stuck = new_mall ("Stuck Mall");
  quick = new_mall ("Quick Mall");
  card = ot_new_card (gw, 100000, "4321");
  endpoint->stall_path = "/hooks-stuck";
  set_endpoint (stuck, stuck_url);
  set_endpoint (quick, endpoint->url);
  for (guint i = 0; i < 6; i++)
    json_object_unref (ot_pay (gw, stuck->secret_key, card->number, "4321", 1000, TRUE));
  started = g_get_monotonic_time ();
  while (endpoint->stalled->len < 4 && g_get_monotonic_time () - started < 5 * G_USEC_PER_SEC)
    iterate_for (20);
  g_assert_cmpuint (endpoint->stalled->len, >=, 4);

  for (guint i = 0; i < 3; i++)
    json_object_unref (ot_pay (gw, quick->secret_key, card->number, "4321", 1000, TRUE));
  events = count_merchant_events (quick->id);
  g_assert_cmpint (events, >=, 3);
  /* Well within a try's timeout. */
  g_assert_true (wait_requests (endpoint, events, 2));
  started = g_get_monotonic_time ();
  while (db_count ("SELECT count(*) FROM outbox WHERE merchant_id = ? AND delivered_at IS NULL",
                   quick->id) > 0 && g_get_monotonic_time () - started < 5 * G_USEC_PER_SEC)
    iterate_for (50);
  g_assert_cmpint (db_count ("SELECT count(*) FROM outbox WHERE merchant_id = ? "
                             "AND delivered_at IS NULL", quick->id), ==, 0);
  g_assert_cmpint (db_count ("SELECT count(*) FROM webhook_attempts a JOIN outbox o "
                             "ON o.id = a.event_id WHERE o.merchant_id = ? AND a.status <> 200",
                             quick->id), ==, 0);
  /* The stuck one still holds no more than its own places. */
  g_assert_cmpuint (endpoint->stalled->len, <=, 4 * 3);
  ot_gateway_stop (gw);
  gw = saved;
}

/* The signature of the delivered payment.captured event of @payment (a
 * payment object), once it arrived. */
static const char *
captured_signature (Endpoint   *endpoint,
                    JsonObject *payment,
                    const char **body)
{
  guint tries = 0;
  g_autoptr(JsonObject) event = wait_event (endpoint, "payment.captured", "id",
                                            ot_json_string (payment, "id"), &tries);
  const char *evt;

  g_assert_nonnull (event);
  evt = ot_json_string (event, "id");
  for (guint i = endpoint->bodies->len; i-- > 0;)
    if (strstr (endpoint->bodies->pdata[i], evt) != NULL)
      {
        *body = endpoint->bodies->pdata[i];
        return endpoint->signatures->pdata[i];
      }
  g_assert_not_reached ();
}

static gboolean
signed_with (const char *secret,
             const char *signature,
             const char *body)
{
  g_autoptr(OnepinKey) key = onepin_key_new_hmac ((const guint8 *) secret, strlen (secret), NULL);

  return onepin_signature_verify (key, signature, body, strlen (body),
                                  g_get_real_time () / G_USEC_PER_SEC, 300);
}

static guint
count_v1 (const char *signature)
{
  guint n = 0;

  for (const char *p = signature; (p = strstr (p, "v1=")) != NULL; p++)
    n++;
  return n;
}

static char *
roll_secret (Mall       *mall,
             const char *key,
             const char *body,
             gint64     *previous_expires_at)
{
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/webhook_secret/roll", mall->secret_key,
                                        key, body);
  JsonObject *o;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_assert_cmpstr (ot_json_string (o, "object"), ==, "webhook_secret");
  *previous_expires_at = json_object_get_null_member (o, "previous_expires_at") ? 0
                         : ot_json_int (o, "previous_expires_at");
  g_assert_true (g_str_has_prefix (ot_json_string (o, "secret"), "whsec_"));
  return g_strdup (ot_json_string (o, "secret"));
}

/* A merchant rolls its webhook secret: the new one, shown once, signs at
 * once; the old one signs beside it (a second v1) until expires_in has
 * passed, then no more; expires_in=0 ends it at once. Only the merchant's
 * key may roll it, and no secret reaches the log. */
static void
test_webhook_secret_roll (void)
{
  g_autoptr(Mall) mall = new_mall ("Rolling Mall");
  g_autoptr(Mall) other = new_mall ("Other Mall");
  g_autoptr(Endpoint) endpoint = endpoint_start (0);
  g_autoptr(OtCard) card = ot_new_card (gw, 100000, "4321");
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;
  g_autofree char *log = NULL;
  const char *signature, *body;
  gint64 expires_at = 0;
  gint64 created;

  {
    g_autoptr(OtResponse) none = ot_request (gw, "POST", "/v1/webhook_secret/roll", NULL, NULL,
                                             "{}");
    g_autoptr(OtResponse) wrong = ot_request (gw, "POST", "/v1/webhook_secret/roll",
                                              "sk_not_a_merchant_key", NULL, "{}");
    g_autoptr(OtResponse) negative = ot_request (gw, "POST", "/v1/webhook_secret/roll",
                                                 mall->secret_key, NULL,
                                                 "{\"expires_in\":-1}");
    g_autoptr(OtResponse) too_long = ot_request (gw, "POST", "/v1/webhook_secret/roll",
                                                 mall->secret_key, NULL,
                                                 "{\"expires_in\":604801}");

    ot_assert_status (none, 401);
    ot_assert_status (wrong, 401);
    ot_assert_error (negative, 400, "invalid_request_error", "parameter_invalid");
    ot_assert_error (too_long, 400, "invalid_request_error", "parameter_invalid");
  }
  set_endpoint (mall, endpoint->url);
  {
    g_autoptr(JsonObject) payment = ot_pay (gw, mall->secret_key, card->number, "4321", 1000,
                                            TRUE);

    signature = captured_signature (endpoint, payment, &body);
    g_assert_true (signed_with (mall->webhook_secret, signature, body));
    g_assert_cmpuint (count_v1 (signature), ==, 1);
  }

  created = g_get_real_time () / G_USEC_PER_SEC;
  second = roll_secret (mall, "roll-1", "{\"expires_in\":4}", &expires_at);
  g_assert_cmpstr (second, !=, mall->webhook_secret);
  g_assert_cmpint (expires_at, >=, created + 4);
  g_assert_cmpint (expires_at, <=, created + 5);
  {
    /* A retry under the same key gets the same secret, not another roll. */
    gint64 again_at = 0;
    g_autofree char *again = roll_secret (mall, "roll-1", "{\"expires_in\":4}", &again_at);

    g_assert_cmpstr (again, ==, second);
    g_assert_cmpint (again_at, ==, expires_at);
  }
  {
    g_autoptr(JsonObject) payment = ot_pay (gw, mall->secret_key, card->number, "4321", 1000,
                                            TRUE);

    signature = captured_signature (endpoint, payment, &body);
    g_assert_true (signed_with (second, signature, body));
    g_assert_true (signed_with (mall->webhook_secret, signature, body));
    g_assert_false (signed_with (other->webhook_secret, signature, body));
    g_assert_cmpuint (count_v1 (signature), ==, 2);
  }
  while (g_get_real_time () / G_USEC_PER_SEC <= expires_at)
    iterate_for (100);
  {
    g_autoptr(JsonObject) payment = ot_pay (gw, mall->secret_key, card->number, "4321", 1000,
                                            TRUE);

    signature = captured_signature (endpoint, payment, &body);
    g_assert_true (signed_with (second, signature, body));
    g_assert_false (signed_with (mall->webhook_secret, signature, body));
    g_assert_cmpuint (count_v1 (signature), ==, 1);
  }

  /* expires_in=0: the one replaced stops signing at once. */
  third = roll_secret (mall, NULL, "{\"expires_in\":0}", &expires_at);
  g_assert_cmpint (expires_at, ==, 0);
  {
    g_autoptr(JsonObject) payment = ot_pay (gw, mall->secret_key, card->number, "4321", 1000,
                                            TRUE);

    signature = captured_signature (endpoint, payment, &body);
    g_assert_true (signed_with (third, signature, body));
    g_assert_false (signed_with (second, signature, body));
    g_assert_cmpuint (count_v1 (signature), ==, 1);
  }
  /* Another merchant's secret did not move. */
  {
    g_autoptr(Endpoint) theirs = endpoint_start (0);
    g_autoptr(JsonObject) payment = NULL;

    set_endpoint (other, theirs->url);
    payment = ot_pay (gw, other->secret_key, card->number, "4321", 1000, TRUE);
    signature = captured_signature (theirs, payment, &body);
    g_assert_true (signed_with (other->webhook_secret, signature, body));
  }

  g_assert_true (g_file_get_contents (ot_gateway_log_path (gw), &log, NULL, NULL));
  g_assert_null (strstr (log, second));
  g_assert_null (strstr (log, third));
  g_assert_null (strstr (log, mall->webhook_secret));
}

static void
delete_endpoint (Mall *mall)
{
  g_autoptr(OtResponse) r = ot_request (gw, "DELETE", "/v1/webhook_endpoint", mall->secret_key,
                                        NULL, NULL);

  ot_assert_status (r, 200);
}

/* The events of a merchant with no endpoint at @now tries: rows of
 * webhook_attempts saying so. */
static gint64
count_no_endpoint_tries (const char *merchant_id)
{
  return db_count ("SELECT count(*) FROM webhook_attempts a JOIN outbox o ON o.id = a.event_id "
                   "WHERE o.merchant_id = ? AND a.status = 0 "
                   "AND a.error GLOB '*no webhook endpoint*'", merchant_id);
}

/* An endpoint replaced by DELETE then POST: what was owed goes to the new
 * one. It was marked delivered, unsent, once due without an endpoint or
 * with one younger than the event. Now a try due while the merchant has
 * no endpoint fails, is logged and retried; an event whose merchant never
 * sets one again is given up, visibly. */
static void
test_webhook_endpoint_replaced (void)
{
  OtGateway *saved = gw;
  g_autoptr(Endpoint) failing = endpoint_start (1000);
  g_autoptr(Endpoint) fixed = endpoint_start (0);
  g_autoptr(Mall) mall = NULL;
  g_autoptr(Mall) gone = NULL;
  g_autoptr(OtCard) card = NULL;
  g_autoptr(JsonObject) payment = NULL;
  g_autoptr(JsonObject) event = NULL;
  g_autoptr(JsonObject) left = NULL;
  gboolean deleted = FALSE;
  gint64 deadline;
  guint tries = 0;

  gw = ot_gateway_start ("[webhooks]\nallow_private=true\nretry_base=1\nmax_attempts=4\n",
                         FALSE);
  mall = new_mall ("Replacing Mall");
  gone = new_mall ("Leaving Mall");
  card = ot_new_card (gw, 100000, "4321");
  set_endpoint (mall, failing->url);
  set_endpoint (gone, failing->url);
  left = ot_pay (gw, gone->secret_key, card->number, "4321", 1000, TRUE);
  delete_endpoint (gone);
  payment = ot_pay (gw, mall->secret_key, card->number, "4321", 1000, TRUE);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (count_no_endpoint_tries (mall->id) == 0 && g_get_monotonic_time () < deadline)
    {
      /* Its first try failed: the merchant removes the endpoint. */
      if (failing->bodies->len > 0 && !deleted)
        delete_endpoint (mall), deleted = TRUE;
      iterate_for (50);
    }
  g_assert_cmpint (count_no_endpoint_tries (mall->id), >, 0);
  g_assert_cmpint (db_count ("SELECT count(*) FROM outbox WHERE merchant_id = ? "
                             "AND delivered_at IS NOT NULL", mall->id), ==, 0);
  set_endpoint (mall, fixed->url);
  event = wait_event (fixed, "payment.captured", "id", ot_json_string (payment, "id"), &tries);
  g_assert_nonnull (event);

  /* The other never set one again: given up after max_attempts, not delivered. */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (db_count ("SELECT count(*) FROM outbox WHERE merchant_id = ? AND failed_at IS NULL "
                   "AND delivered_at IS NULL", gone->id) > 0 && g_get_monotonic_time () < deadline)
    iterate_for (100);
  g_assert_cmpint (count_merchant_events (gone->id), >, 0);
  g_assert_cmpint (db_count ("SELECT count(*) FROM outbox WHERE merchant_id = ? AND attempts = 4 "
                             "AND failed_at IS NOT NULL AND delivered_at IS NULL "
                             "AND last_error GLOB '*no webhook endpoint*'", gone->id), ==,
                   count_merchant_events (gone->id));
  g_assert_cmpint (count_no_endpoint_tries (gone->id), >=, 3);
  for (guint i = 0; i < fixed->bodies->len; i++)
    g_assert_null (strstr (fixed->bodies->pdata[i], ot_json_string (left, "id")));
  ot_gateway_stop (gw);
  gw = saved;
}

/* A stop lets a try under way finish, for a few seconds, and records its
 * outcome: it was cut at once, the endpoint's 2xx lost, and the event sent
 * again after the restart. */
static void
test_webhook_stop_grace (void)
{
  OtGateway *saved = gw;
  g_autoptr(Endpoint) endpoint = endpoint_start (0);
  g_autoptr(Mall) mall = NULL;
  g_autoptr(OtCard) card = NULL;
  gint64 exited;
  guint sent;
  GPid pid;

  gw = ot_gateway_start ("[webhooks]\nallow_private=true\ntimeout=3\n", FALSE);
  mall = new_mall ("Slow Mall");
  card = ot_new_card (gw, 10000, "4321");
  endpoint->delay_ms = 1000;
  set_endpoint (mall, endpoint->url);
  json_object_unref (ot_pay (gw, mall->secret_key, card->number, "4321", 1000, TRUE));
  g_assert_true (wait_requests (endpoint, 1, 10));
  /* Not ot_gateway_terminate (): it waits without iterating, and the
   * endpoint answers here. */
  pid = ot_gateway_pid (gw);
  sent = endpoint->bodies->len;
  g_assert_cmpint (kill (pid, SIGTERM), ==, 0);
  exited = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  while (kill (pid, 0) == 0 && g_get_monotonic_time () < exited)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (5 * 1000), TRUE);
  exited = g_get_monotonic_time ();
  ot_gateway_terminate (gw, SIGTERM);
  g_assert_cmpint (endpoint->answered, >, 0);
  g_assert_cmpint (exited, >=, endpoint->answered);
  /* What was under way at the stop is recorded as delivered. */
  g_assert_cmpint (db_count ("SELECT count(*) FROM webhook_attempts WHERE status = 200", NULL),
                   ==, sent);
  g_assert_cmpint (db_count ("SELECT count(*) FROM outbox WHERE merchant_id = ? "
                             "AND delivered_at IS NOT NULL", mall->id), ==, sent);
  endpoint->delay_ms = 0;
  ot_gateway_restart (gw);
  /* The rest, once each. */
  g_assert_true (wait_requests (endpoint, count_merchant_events (mall->id), 10));
  iterate_for (1500);
  g_assert_cmpuint (endpoint->bodies->len, ==, count_merchant_events (mall->id));
  ot_gateway_stop (gw);
  gw = saved;
}

static void
test_endpoint_refusals (void)
{
  g_autoptr(Mall) mall = new_mall ("Endpoint Mall");
  const char *bad[] = { "{\"url\":\"http://mall.example/hooks\"}",
                        "{\"url\":\"ftp://127.0.0.1/hooks\"}",
                        "{\"url\":\"https://user:pw@mall.example/hooks\"}",
                        "{\"url\":\"not a url\"}", "{}",
                        /* A percent-encoded host hides what it names ("localhost"). */
                        "{\"url\":\"https://%6c%6fcalhost/hooks\"}",
                        "{\"url\":\"https://m%61ll.example/hooks\"}" };
  /* Hosts that are neither a DNS name nor an address literal, and ports
   * outside 1 to 65535: refused as the url, whatever allow_private says. */
  const char *odd[] = { "https://mall example/hooks", "https://mall.example:0/hooks",
                        "https://mall.example:/hooks", "https://mall.example:65536/hooks",
                        "https://mall.example:443:1/hooks", "https://mall\\\\example/hooks",
                        "https://mall\\\\.example/hooks",
                        "https://mall..example/hooks", "https://.mall.example/hooks",
                        "https://mall.example../hooks", "https://-mall.example/hooks",
                        "https://mall-.example/hooks", "https://mall_shop.example/hooks",
                        "https://mall;shop.example/hooks", "https://mall!.example/hooks",
                        "https://mall\\\"shop.example/hooks", "https://\xeb\xaa\xb0.example/hooks",
                        "https://999.1.1.1/hooks", "https://1.2.3.4.5/hooks",
                        "https://93.184.216.034/hooks", "https://93.184.216.34./hooks",
                        "https://0x5d.0xb8.0xd8.0x22/hooks", "https://1.2.3.0x22/hooks",
                        /* the resolver reads these as 127.0.0.1 */
                        "https://127.1/x", "https://2130706433/x", "https://0x7f.0.0.1/x",
                        "https://[93.184.216.34]/hooks", "https://[v1.mall]/hooks",
                        "https://[2606:2800::1/hooks", "https://[2606:2800::1]x/hooks",
                        "https://[2606:2800::1]:0/hooks", "https://[2606:2800::1%]/hooks",
                        /* one label of 64, and a name of 254 */
                        "https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
                        "example/x",
                        "https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example/x" };
  /* What the same rules take. */
  const char *plain[] = { "https://mall.example:1/hooks", "https://mall.example:65535/hooks",
                          "https://MALL-1.example./hooks", "https://xn--bcher-kva.example/x",
                          "https://93.184.216.34:8443/hooks", "https://e/hooks",
                          "https://1e100.net/hooks", "https://mall.example#frag",
                          "https://[2606:2800:220:1:248:1893:25c8:1946]:443/hooks",
                          "https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example./x" };
  g_autoptr(OtResponse) none = ot_request (gw, "GET", "/v1/webhook_endpoint", mall->secret_key,
                                           NULL, NULL);
  g_autoptr(OtResponse) set = NULL;
  g_autoptr(OtResponse) removed = NULL;
  g_autoptr(OtResponse) gone = NULL;

  ot_assert_error (none, 404, "invalid_request_error", "resource_missing");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/webhook_endpoint",
                                            mall->secret_key, NULL, bad[i]);

      g_assert_cmpuint (r->status, ==, 400);
    }
  for (guint i = 0; i < G_N_ELEMENTS (odd); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"url\":\"%s\"}", odd[i]);
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/webhook_endpoint",
                                            mall->secret_key, NULL, body);

      g_test_message ("%s", body);
      ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"),
                                       "param"), ==, "url");
    }
  for (guint i = 0; i < G_N_ELEMENTS (plain); i++)
    set_endpoint (mall, plain[i]);
  set = ot_request (gw, "POST", "/v1/webhook_endpoint", mall->secret_key, NULL,
                    "{\"url\":\"https://mall.example/hooks?token=abc\"}");
  ot_assert_status (set, 200);
  removed = ot_request (gw, "DELETE", "/v1/webhook_endpoint", mall->secret_key, NULL, NULL);
  ot_assert_status (removed, 200);
  gone = ot_request (gw, "GET", "/v1/webhook_endpoint", mall->secret_key, NULL, NULL);
  ot_assert_error (gone, 404, "invalid_request_error", "resource_missing");
}

/* Endpoints inside: the gateway itself, the machine, its networks, a
 * cloud's metadata service, in the spellings a resolver reads. */
static const char *internal_urls[] = {
  "https://127.0.0.1/x", "https://0.0.0.0/x", "https://10.0.0.1/hook", "https://172.16.5.4/x",
  "https://192.168.0.10/x", "https://169.254.169.254/latest/meta-data", "https://100.64.0.1/x",
  "https://224.0.0.1/x", "https://255.255.255.255/x", "https://localhost/x",
  "https://LOCALHOST./x", "https://admin.localhost/x", "https://[::1]:9/x", "https://[::]/x",
  "https://[fe80::1]/x", "https://[fd00::1]/x", "https://[::ffff:127.0.0.1]/x",
  "https://[::ffff:a9fe:a9fe]/x", "https://[64:ff9b::a00:1]/x",
  "http://127.0.0.1:8080/v1/admin/merchants", "http://localhost:8080/x",
  "http://[::1]:8080/x",
};

/* Without [webhooks] allow_private, an endpoint whose host is localhost or
 * an internal address literal is refused like any other bad url (and the
 * answer does not repeat it); public ones and names are taken. With it,
 * the internal ones are taken as before. */
static void
test_endpoint_internal_refused (void)
{
  const char *public_urls[] = { "https://93.184.216.34/x", "https://example.com/x",
                                "https://[2606:2800:220:1:248:1893:25c8:1946]/x",
                                "https://localhost.example.com/x" };
  OtGateway *saved = gw;
  g_autoptr(Mall) mall = NULL;
  g_autoptr(Mall) trusting = new_mall ("Trusting Mall");

  gw = ot_gateway_start ("[webhooks]\nretry_base=1\n", FALSE);
  mall = new_mall ("Inward Mall");
  for (guint i = 0; i < G_N_ELEMENTS (internal_urls); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"url\":\"%s\"}", internal_urls[i]);
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/webhook_endpoint",
                                            mall->secret_key, NULL, body);
      g_autoptr(GUri) uri = g_uri_parse (internal_urls[i], G_URI_FLAGS_NONE, NULL);

      g_test_message ("%s", internal_urls[i]);
      ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"),
                                       "param"), ==, "url");
      g_assert_null (strstr (r->body, g_uri_get_host (uri)));
    }
  for (guint i = 0; i < G_N_ELEMENTS (public_urls); i++)
    set_endpoint (mall, public_urls[i]);
  ot_gateway_stop (gw);
  gw = saved;

  for (guint i = 0; i < G_N_ELEMENTS (internal_urls); i++)
    set_endpoint (trusting, internal_urls[i]);
}

/* Turns the main context (the endpoints are served on it) until @sql
 * counts a row, for at most 20 s; the count. */
static gint64
wait_count (const char *sql,
            const char *param)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  gint64 count = 0;

  while (count == 0 && g_get_monotonic_time () < deadline)
    {
      count = db_count (sql, param);
      g_main_context_iteration (NULL, FALSE) || (g_usleep (20 * 1000), TRUE);
    }
  return count;
}

/* This machine's name, when it resolves to one of its own or a private
 * address (Debian's /etc/hosts: 127.0.1.1; containers: their private
 * address): a name registration cannot judge. NULL, and the test skipped,
 * otherwise. */
static GInetAddress *
internal_host_name (const char **host)
{
  g_autoptr(GResolver) resolver = g_resolver_get_default ();
  g_autoptr(GInetAddress) literal = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *why = NULL;
  GInetAddress *address;
  GList *addresses;

  *host = g_get_host_name ();
  literal = g_inet_address_new_from_string (*host);
  if (literal != NULL || g_ascii_strcasecmp (*host, "localhost") == 0)
    why = g_strdup_printf ("the host name \"%s\" is refused at registration already", *host);
  else if ((addresses = g_resolver_lookup_by_name (resolver, *host, NULL, &error)) == NULL)
    why = g_strdup_printf ("the host name \"%s\" does not resolve: %s", *host, error->message);
  else
    {
      address = g_object_ref (addresses->data);
      g_resolver_free_addresses (addresses);
      if (g_inet_address_get_is_loopback (address) || g_inet_address_get_is_site_local (address))
        return address;
      why = g_strdup_printf ("the host name \"%s\" resolves to a public address", *host);
      g_object_unref (address);
    }
  g_test_skip (why);
  return NULL;
}

/* A gateway of @config (left in gw), a merchant whose endpoint is
 * @endpoint, and a payment, whose events go there. */
static void
pay_with_endpoint (const char  *config,
                   Endpoint    *endpoint,
                   Mall       **mall,
                   char       **payment_id)
{
  g_autoptr(OtCard) card = NULL;
  g_autoptr(JsonObject) payment = NULL;

  gw = ot_gateway_start (config, FALSE);
  *mall = new_mall ("Rebound Mall");
  card = ot_new_card (gw, 10000, "4321");
  set_endpoint (*mall, endpoint->url);
  payment = ot_pay (gw, (*mall)->secret_key, card->number, "4321", 1000, TRUE);
  *payment_id = g_strdup (ot_json_string (payment, "id"));
}

/* That @merchant_id's one event had one try, which sent nothing (status
 * 0), and was given up, both for @reason. */
static void
assert_failed_unsent (const char *merchant_id,
                      const char *reason)
{
  char *tried = sqlite3_mprintf ("SELECT count(*) FROM webhook_attempts JOIN outbox ON "
                                 "outbox.id = event_id WHERE merchant_id = ? AND status = 0 "
                                 "AND error = %Q", reason);
  char *failed = sqlite3_mprintf ("SELECT count(*) FROM outbox WHERE merchant_id = ? AND "
                                  "failed_at IS NOT NULL AND delivered_at IS NULL AND "
                                  "last_error = %Q", reason);

  g_assert_cmpint (db_count (tried, merchant_id), ==, 1);
  g_assert_cmpint (db_count (failed, merchant_id), ==, 1);
  sqlite3_free (tried);
  sqlite3_free (failed);
}

/* A name registration takes may still lead inside (DNS can answer
 * anything, and differently later): each try checks the address it
 * connected to, and sends nothing there. With allow_private it is sent. */
static void
test_webhook_internal_address (void)
{
  OtGateway *saved = gw;
  const char *host = NULL;
  g_autoptr(GInetAddress) address = internal_host_name (&host);
  g_autoptr(Endpoint) endpoint = NULL;
  g_autoptr(Mall) refused_mall = NULL;
  g_autoptr(Mall) trusting_mall = NULL;
  g_autofree char *refused = NULL;
  g_autofree char *sent = NULL;
  g_autoptr(JsonObject) event = NULL;
  g_autofree char *text = NULL;
  gint64 deadline;
  guint tries;

  if (address == NULL)
    return;
  endpoint = endpoint_start_at (address, host, 0);
  text = g_inet_address_to_string (address);
  g_test_message ("%s, at %s", endpoint->url, text);
  pay_with_endpoint ("[webhooks]\nallow_http=true\nretry_base=1\ntimeout=2\nmax_attempts=1\n",
                     endpoint, &refused_mall, &refused);
  /* Its one try is recorded (a moment more for a request that would come late)… */
  g_assert_cmpint (wait_count ("SELECT count(*) FROM webhook_attempts JOIN outbox ON "
                               "outbox.id = event_id WHERE merchant_id = ?", refused_mall->id),
                   >, 0);
  deadline = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (10 * 1000), TRUE);
  /* …and nothing reached the endpoint. */
  g_assert_cmpuint (endpoint->seen, ==, 0);
  g_assert_cmpuint (endpoint->bodies->len, ==, 0);
  assert_failed_unsent (refused_mall->id, "the endpoint's address is not public");
  ot_gateway_stop (gw);

  pay_with_endpoint ("[webhooks]\nallow_http=true\nallow_private=true\nretry_base=1\n"
                     "timeout=2\n", endpoint, &trusting_mall, &sent);
  event = wait_event (endpoint, "payment.captured", "id", sent, &tries);
  g_assert_nonnull (event);
  ot_gateway_stop (gw);
  gw = saved;
}

/* The same check, whatever the machine's name: an endpoint registered on
 * 127.0.0.1 while the gateway allowed private endpoints gets nothing once
 * it no longer does. */
static void
test_webhook_private_no_longer (void)
{
  OtGateway *saved = gw;
  g_autoptr(Endpoint) endpoint = endpoint_start (0);
  g_autoptr(Mall) mall = NULL;
  g_autoptr(OtCard) card = NULL;
  g_autoptr(JsonObject) payment = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *stricter = NULL;
  g_auto(GStrv) parts = NULL;

  gw = ot_gateway_start ("[webhooks]\nallow_private=true\nretry_base=1\ntimeout=2\n"
                         "max_attempts=1\n", FALSE);
  mall = new_mall ("Formerly Trusted Mall");
  card = ot_new_card (gw, 10000, "4321");
  set_endpoint (mall, endpoint->url);
  ot_gateway_terminate (gw, SIGTERM);
  path = g_build_filename (ot_gateway_data_dir (gw), "gateway.conf", NULL);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "allow_private=true"));
  parts = g_strsplit (text, "allow_private=true", 2);
  stricter = g_strjoinv ("allow_private=false", parts);
  g_assert_true (g_file_set_contents (path, stricter, -1, NULL));
  ot_gateway_restart (gw);

  payment = ot_pay (gw, mall->secret_key, card->number, "4321", 1000, TRUE);
  g_assert_cmpint (wait_count ("SELECT count(*) FROM webhook_attempts JOIN outbox ON "
                               "outbox.id = event_id WHERE merchant_id = ?", mall->id), >, 0);
  iterate_for (1000);
  g_assert_cmpuint (endpoint->seen, ==, 0);
  g_assert_cmpint (db_count ("SELECT count(*) FROM webhook_attempts JOIN outbox ON outbox.id = "
                             "event_id WHERE merchant_id = ? AND status = 0 AND error = "
                             "'the endpoint''s address is not public'", mall->id), ==, 1);
  ot_gateway_stop (gw);
  gw = saved;
}

/* Seals @url as @merchant_id's endpoint, in place of the one it set, as
 * a gateway that took such a URL at registration would have stored it. */
static void
store_endpoint (const char *merchant_id,
                const char *url)
{
  g_autofree char *key_path = g_build_filename (ot_gateway_data_dir (gw), "secret.key", NULL);
  g_autofree char *db_path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  g_autofree char *aad = g_strconcat ("webhook-url\n", merchant_id, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GwKeys) keys = gw_keys_load (key_path, &error);
  g_autoptr(GBytes) sealed = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_no_error (error);
  sealed = onepin_key_seal (keys->seal, url, strlen (url), aad, strlen (aad), &error);
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 10000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "UPDATE merchant_webhooks SET url_sealed = ?1 "
                                       "WHERE merchant_id = ?2", -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_blob (stmt, 1, g_bytes_get_data (sealed, NULL), (int) g_bytes_get_size (sealed),
                     SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, merchant_id, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  g_assert_cmpint (sqlite3_changes (db), ==, 1);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

/* An endpoint registration now refuses, stored before: each event's try
 * fails unsent, its reason recorded, and the gateway goes on. ("127.1"
 * reaches the test's endpoint, and did before the send checked it.) */
static void
test_webhook_odd_stored_url (void)
{
  OtGateway *saved = gw;
  g_autoptr(Endpoint) endpoint = endpoint_start (0);
  g_autoptr(GUri) uri = g_uri_parse (endpoint->url, G_URI_FLAGS_NONE, NULL);
  g_autofree char *numeric = g_strdup_printf ("http://127.1:%d/hooks", g_uri_get_port (uri));
  g_autofree char *backslash = g_strdup_printf ("http://127.0.0.1\\:%d/hooks",
                                                g_uri_get_port (uri));
  const char *urls[] = { numeric, backslash, "http://127.0.0.1:0/hooks",
                         "https://mall example/hooks", "https://-mall.example/hooks" };
  g_autoptr(OtCard) card = NULL;
  g_autoptr(OtResponse) health = NULL;

  gw = ot_gateway_start ("[webhooks]\nallow_private=true\nallow_http=true\nretry_base=1\n"
                         "timeout=2\nmax_attempts=1\n", FALSE);
  card = ot_new_card (gw, 100000, "4321");
  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autoptr(Mall) mall = new_mall ("Odd Endpoint Mall");
      g_autoptr(JsonObject) payment = NULL;

      g_test_message ("%s", urls[i]);
      set_endpoint (mall, endpoint->url);
      store_endpoint (mall->id, urls[i]);
      payment = ot_pay (gw, mall->secret_key, card->number, "4321", 1000, TRUE);
      g_assert_cmpint (wait_count ("SELECT count(*) FROM outbox WHERE merchant_id = ? AND "
                                   "failed_at IS NOT NULL", mall->id), ==, 1);
      assert_failed_unsent (mall->id, "the endpoint's URL is not valid");
    }
  iterate_for (500);
  g_assert_cmpuint (endpoint->seen, ==, 0);
  health = ot_request (gw, "GET", "/healthz", NULL, NULL, NULL);
  ot_assert_status (health, 200);
  ot_gateway_stop (gw);
  gw = saved;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *bank_config = NULL;
  g_autofree char *config = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  g_assert_true (onepin_crypto_init (NULL));
  bank = ot_bank_start (NULL);
  bank_config = ot_bank_gateway_config (bank, 5, NULL);
  config = g_strdup_printf ("[wallet]\npbkdf2_iterations=2000\n"
                            "[webhooks]\nallow_private=true\nretry_base=1\ntimeout=2\n"
                            "[checkout]\nsweep_interval=1\n%s", bank_config);
  gw = ot_gateway_start (config, FALSE);

  g_test_add_func ("/checkout/create-and-read", test_create_and_read);
  g_test_add_func ("/checkout/create-refusals", test_create_refusals);
  g_test_add_func ("/checkout/create-invisible", test_create_invisible);
  g_test_add_func ("/checkout/wallet-pays", test_wallet_pays);
  g_test_add_func ("/checkout/mismatch", test_mismatch);
  g_test_add_func ("/checkout/expiry", test_expiry);
  g_test_add_func ("/checkout/wallet-refusals", test_wallet_refusals);
  g_test_add_func ("/checkout/receipt", test_receipt);
  g_test_add_func ("/checkout/hosted-page", test_hosted_page);
  g_test_add_func ("/checkout/endpoint-refusals", test_endpoint_refusals);
  g_test_add_func ("/checkout/endpoint-internal-refused", test_endpoint_internal_refused);
  g_test_add_func ("/checkout/webhook-internal-address", test_webhook_internal_address);
  g_test_add_func ("/checkout/webhook-private-no-longer", test_webhook_private_no_longer);
  g_test_add_func ("/checkout/webhook-odd-stored-url", test_webhook_odd_stored_url);
  g_test_add_func ("/checkout/webhooks", test_webhooks);
  g_test_add_func ("/checkout/webhook-survives-restart", test_webhook_survives_restart);
  g_test_add_func ("/checkout/webhook-no-redirect", test_webhook_no_redirect);
  g_test_add_func ("/checkout/expiry-sweep", test_expiry_sweep);
  g_test_add_func ("/checkout/webhook-gives-up", test_webhook_gives_up);
  g_test_add_func ("/checkout/webhook-trickling-endpoint", test_webhook_trickling_endpoint);
  g_test_add_func ("/checkout/webhook-last-try-cut", test_webhook_last_try_cut);
  g_test_add_func ("/checkout/webhook-poll-skips-finished", test_webhook_poll_skips_finished);
  g_test_add_func ("/checkout/webhook-phone-session-ended", test_webhook_phone_session_ended);
  g_test_add_func ("/checkout/webhook-backlog-drains", test_webhook_backlog_drains);
  g_test_add_func ("/checkout/webhook-endpoint-replaced", test_webhook_endpoint_replaced);
  g_test_add_func ("/checkout/webhook-shared-host", test_webhook_shared_host);
  g_test_add_func ("/checkout/webhook-secret-roll", test_webhook_secret_roll);
  g_test_add_func ("/checkout/webhook-stop-grace", test_webhook_stop_grace);
  status = g_test_run ();

  ot_gateway_stop (gw);
  ot_bank_stop (bank);
  return status;
}
