/* test-orders.c: the card site's API without a financial system
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The real gateway, with no [bank] configured: orders are taken and checked,
 * order tokens guard them, and every payment answers bank_unavailable with
 * nothing allocated. The payments themselves, against the real onepin-bank,
 * are in test-orders-bank.c.
 */
#include <sqlite3.h>
#include <string.h>

#include "onepin-test-gateway.h"

#define CONTACT "help@cards.test"

static OtGateway *gw;

static const char buyer[] =
  "{\"name\": \"홍길동\", \"phone\": \"010-1234-5678\", \"email\": \"hong@example.com\","
  " \"postal_code\": \"04524\", \"address\": \"서울특별시 중구 세종대로 110\"}";

static char *
order_body (const char *items)
{
  return g_strdup_printf ("{\"buyer\": %s, \"items\": %s}", buyer, items);
}

static const char *
error_param (OtResponse *r)
{
  JsonObject *error = ot_json_object (ot_response_object (r), "error");

  return json_object_has_member (error, "param") ? ot_json_string (error, "param") : NULL;
}

/* Creates an order; returns its answer, and its id and token. */
static OtResponse *
create_order (const char  *items,
              char       **id,
              char       **token)
{
  g_autofree char *body = order_body (items);
  OtResponse *r = ot_request (gw, "POST", "/v1/orders", NULL, NULL, body);
  JsonObject *o;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  if (id != NULL)
    *id = g_strdup (ot_json_string (o, "id"));
  if (token != NULL)
    *token = g_strdup (ot_json_string (o, "access_token"));
  return r;
}

static void
test_create (void)
{
  g_autofree char *body = order_body ("[{\"denomination\": 5000, \"quantity\": 3},"
                                      " {\"denomination\": 30000, \"quantity\": 2}]");
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/orders", NULL, NULL, body);
  g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/orders", NULL, NULL, body);
  g_autoptr(OtResponse) got = NULL;
  g_autofree char *path = NULL;
  JsonObject *o;
  JsonArray *items;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_assert_true (g_str_has_prefix (ot_json_string (o, "id"), "ord_"));
  g_assert_cmpstr (ot_json_string (o, "object"), ==, "order");
  g_assert_cmpstr (ot_json_string (o, "status"), ==, "created");
  g_assert_cmpint (ot_json_int (o, "total"), ==, 75000);
  g_assert_cmpint (ot_json_int (o, "card_count"), ==, 5);
  g_assert_true (g_str_has_prefix (ot_json_string (o, "access_token"), "otk_"));
  g_assert_cmpuint (json_array_get_length (ot_json_array (o, "cards")), ==, 0);
  g_assert_true (json_node_is_null (json_object_get_member (o, "payment")));
  items = ot_json_array (o, "items");
  g_assert_cmpuint (json_array_get_length (items), ==, 2);
  g_assert_cmpint (ot_json_int (json_array_get_object_element (items, 1), "amount"), ==, 60000);
  g_assert_cmpstr (ot_json_string (ot_json_object (o, "buyer"), "name"), ==, "홍길동");

  /* The same request again is another order, with a token of its own:
   * nothing is deduplicated, so nothing is replayed. */
  ot_assert_status (again, 200);
  g_assert_null (ot_response_header (again, "Idempotent-Replayed"));
  g_assert_cmpstr (ot_json_string (ot_response_object (again), "id"), !=,
                   ot_json_string (o, "id"));
  g_assert_cmpstr (ot_json_string (ot_response_object (again), "access_token"), !=,
                   ot_json_string (o, "access_token"));

  path = g_strconcat ("/v1/orders/", ot_json_string (o, "id"), NULL);
  got = ot_request (gw, "GET", path, ot_json_string (o, "access_token"), NULL, NULL);
  ot_assert_status (got, 200);
  g_assert_false (json_object_has_member (ot_response_object (got), "access_token"));
  g_assert_cmpstr (ot_json_string (ot_response_object (got), "status"), ==, "created");
  g_assert_false (ot_json_bool (ot_response_object (got), "cards_revealed"));
}

/* The id of the newest order, or NULL. */
static char *
newest_order (void)
{
  g_autoptr(OtResponse) r = ot_request (gw, "GET", "/v1/admin/orders?limit=1",
                                        ot_gateway_admin_token (gw), NULL, NULL);
  JsonArray *data;

  ot_assert_status (r, 200);
  data = ot_json_array (ot_response_object (r), "data");
  if (json_array_get_length (data) == 0)
    return NULL;
  return g_strdup (ot_json_string (json_array_get_object_element (data, 0), "id"));
}

/* An order's answer holds its access token, and nothing before the order
 * tells one caller from another: a stored answer would be replayed to
 * anyone sending the same key and body (the buyer's details, which others
 * may know), and give them the buyer's details, payment, cards and gifts.
 * So the route takes no Idempotency-Key, and creates nothing with one. */
static void
test_create_key_refused (void)
{
  g_autofree char *body = order_body ("[{\"denomination\": 10000, \"quantity\": 2}]");
  g_autofree char *before = newest_order ();
  g_autoptr(OtResponse) buyer_call = ot_request (gw, "POST", "/v1/orders", NULL, "site-0001",
                                                 body);
  g_autoptr(OtResponse) other_call = ot_request (gw, "POST", "/v1/orders", NULL, "site-0001",
                                                 body);
  g_autofree char *after = newest_order ();

  ot_assert_error (buyer_call, 400, "invalid_request_error", "parameter_unknown");
  g_assert_cmpstr (error_param (buyer_call), ==, "Idempotency-Key");
  /* the second caller gets the same refusal, never the first one's token */
  ot_assert_error (other_call, 400, "invalid_request_error", "parameter_unknown");
  g_assert_null (ot_response_header (other_call, "Idempotent-Replayed"));
  g_assert_null (strstr (other_call->body, "otk_"));
  g_assert_cmpstr (after, ==, before);
}

static void
test_token (void)
{
  g_autofree char *id = NULL, *token = NULL, *other_id = NULL, *other_token = NULL;
  g_autoptr(OtResponse) a = create_order ("[{\"denomination\": 10000, \"quantity\": 1}]", &id,
                                          &token);
  g_autoptr(OtResponse) b = create_order ("[{\"denomination\": 10000, \"quantity\": 1}]",
                                          &other_id, &other_token);
  g_autofree char *path = g_strconcat ("/v1/orders/", id, NULL);
  g_autofree char *pay = g_strconcat (path, "/pay", NULL);
  const char *bad[] = { NULL, "otk_nope", "sk_whatever", NULL };

  bad[3] = other_token;
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(OtResponse) get = ot_request (gw, "GET", path, bad[i], NULL, NULL);
      g_autoptr(OtResponse) post = ot_request (gw, "POST", pay, bad[i], "k-401",
                                               "{\"method\": \"transfer\", \"transfer\":"
                                               " {\"depositor_name\": \"홍길동\"}}");

      ot_assert_error (get, 401, "authentication_error", "unauthorized");
      ot_assert_error (post, 401, "authentication_error", "unauthorized");
    }
  {
    g_autoptr(OtResponse) unknown = ot_request (gw, "GET", "/v1/orders/ord_nope", token, NULL,
                                                NULL);

    ot_assert_error (unknown, 401, "authentication_error", "unauthorized");
  }
  {
    /* An order takes no query parameter. */
    g_autofree char *odd = g_strconcat (path, "?expand=cards", NULL);
    g_autoptr(OtResponse) get = ot_request (gw, "GET", odd, token, NULL, NULL);

    ot_assert_error (get, 400, "invalid_request_error", "parameter_unknown");
    g_assert_cmpstr (error_param (get), ==, "expand");
  }
}

static void
assert_refused (const char *items,
                const char *code,
                const char *param)
{
  g_autofree char *body = order_body (items);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/orders", NULL, NULL, body);

  ot_assert_error (r, 400, "invalid_request_error", code);
  g_assert_cmpstr (error_param (r), ==, param);
}

static void
test_limits (void)
{
  g_autofree char *body = order_body ("[{\"denomination\": 100000, \"quantity\": 11}]");
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/orders", NULL, NULL, body);
  g_autoptr(OtResponse) at_limit = NULL;
  const char *message;

  /* Over 1,000,000 won: refused, pointing to the contact address. */
  ot_assert_error (r, 400, "invalid_request_error", "order_limit_exceeded");
  g_assert_cmpstr (error_param (r), ==, "items");
  message = ot_json_string (ot_json_object (ot_response_object (r), "error"), "message");
  g_assert_nonnull (strstr (message, CONTACT));
  /* Over 100 cards. */
  assert_refused ("[{\"denomination\": 5000, \"quantity\": 99},"
                  " {\"denomination\": 10000, \"quantity\": 2}]", "order_limit_exceeded", "items");
  /* Exactly 1,000,000 won, or exactly 100 cards, is fine. */
  g_free (body);
  body = order_body ("[{\"denomination\": 100000, \"quantity\": 9},"
                     " {\"denomination\": 50000, \"quantity\": 1},"
                     " {\"denomination\": 5000, \"quantity\": 10}]");
  at_limit = ot_request (gw, "POST", "/v1/orders", NULL, NULL, body);
  ot_assert_status (at_limit, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (at_limit), "total"), ==, 1000000);
  g_clear_pointer (&at_limit, ot_response_free);
  g_free (body);
  body = order_body ("[{\"denomination\": 5000, \"quantity\": 99},"
                     " {\"denomination\": 10000, \"quantity\": 1}]");
  at_limit = ot_request (gw, "POST", "/v1/orders", NULL, NULL, body);
  ot_assert_status (at_limit, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (at_limit), "card_count"), ==, 100);

  assert_refused ("[{\"denomination\": 10000, \"quantity\": 1},"
                  " {\"denomination\": 10000, \"quantity\": 1}]", "parameter_invalid",
                  "items[1].denomination");
  assert_refused ("[{\"denomination\": 7000, \"quantity\": 1}]", "parameter_invalid",
                  "items[0].denomination");
  assert_refused ("[{\"denomination\": 5000, \"quantity\": 0}]", "parameter_invalid",
                  "items[0].quantity");
  assert_refused ("[{\"denomination\": 5000, \"quantity\": 100}]", "parameter_invalid",
                  "items[0].quantity");
  assert_refused ("[]", "parameter_invalid", "items");
  assert_refused ("[{\"denomination\": 5000}]", "parameter_invalid", "items[0]");
  assert_refused ("[{\"denomination\": 5000, \"quantity\": 1, \"x\": 1}]", "parameter_invalid",
                  "items[0]");
}

static void
assert_buyer_refused (const char *buyer_json,
                      const char *code,
                      const char *param)
{
  g_autofree char *body = g_strdup_printf ("{\"buyer\": %s, \"items\":"
                                           " [{\"denomination\": 5000, \"quantity\": 1}]}",
                                           buyer_json);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/orders", NULL, NULL, body);

  ot_assert_error (r, 400, "invalid_request_error", code);
  g_assert_cmpstr (error_param (r), ==, param);
}

static void
test_buyer (void)
{
  /* No resident registration number is asked for, and none is taken. */
  assert_buyer_refused ("{\"name\": \"홍길동\", \"phone\": \"010-1234-5678\","
                        " \"email\": \"hong@example.com\", \"postal_code\": \"04524\","
                        " \"address\": \"Seoul\", \"resident_number\": \"800101-1234567\"}",
                        "parameter_unknown", "buyer.resident_number");
  assert_buyer_refused ("{\"name\": \"홍길동\", \"phone\": \"010-1234-5678\","
                        " \"postal_code\": \"04524\", \"address\": \"Seoul\"}",
                        "parameter_missing", "buyer.email");
  assert_buyer_refused ("{\"name\": \"홍길동\", \"phone\": \"010-1234-5678\","
                        " \"email\": \"hong@example.com\\r\\nBcc: all@example.com\","
                        " \"postal_code\": \"04524\", \"address\": \"Seoul\"}",
                        "parameter_invalid", "buyer.email");
  assert_buyer_refused ("{\"name\": \"홍길동\", \"phone\": \"010-1234-5678\","
                        " \"email\": \"not-an-address\", \"postal_code\": \"04524\","
                        " \"address\": \"Seoul\"}", "parameter_invalid", "buyer.email");
  assert_buyer_refused ("{\"name\": \"홍길동\", \"phone\": \"call me\","
                        " \"email\": \"hong@example.com\", \"postal_code\": \"04524\","
                        " \"address\": \"Seoul\"}", "parameter_invalid", "buyer.phone");
  assert_buyer_refused ("{\"name\": \"\", \"phone\": \"010-1234-5678\","
                        " \"email\": \"hong@example.com\", \"postal_code\": \"04524\","
                        " \"address\": \"Seoul\"}", "parameter_invalid", "buyer.name");
  assert_buyer_refused ("{\"name\": \"홍길동\", \"phone\": \"010-1234-5678\","
                        " \"email\": \"hong@example.com\", \"postal_code\": \"04 524\","
                        " \"address\": \"Seoul\"}", "parameter_invalid", "buyer.postal_code");
  assert_buyer_refused ("\"홍길동\"", "parameter_invalid", "buyer");
}

/* How many rows the card site's tables and the outbox hold, as one line. */
static char *
rows_written (void)
{
  static const char *tables[] = { "orders", "gifts", "recharges", "payouts", "outbox" };
  g_autofree char *path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  GString *counts = g_string_new (NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", tables[i]);
      sqlite3_stmt *stmt = NULL;

      g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
      g_string_append_printf (counts, "%s=%d ", tables[i], sqlite3_column_int (stmt, 0));
      sqlite3_finalize (stmt);
    }
  sqlite3_close (db);
  return g_string_free (counts, FALSE);
}

/* A one-card order from a buyer with @email. */
static char *
order_with_email (const char *email)
{
  return g_strdup_printf ("{\"buyer\": {\"name\": \"홍길동\", \"phone\": \"010-1234-5678\","
                          " \"email\": \"%s\", \"postal_code\": \"04524\", \"address\":"
                          " \"Seoul\"}, \"items\": [{\"denomination\": 5000, \"quantity\": 1}]}",
                          email);
}

/* @r refused @address in @param, without repeating it. */
static void
assert_address_refused (OtResponse *r,
                        const char *param,
                        const char *address)
{
  ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
  g_assert_cmpstr (error_param (r), ==, param);
  g_assert_null (strstr (r->body, address));
}

/* An address the mailer would refuse (gw_mime_address_valid) is refused
 * when it is given, and nothing is written: taken, the purchase statement,
 * the transfer instructions, the access codes or a gift's claim link would
 * be given up in the outbox after a 200. */
static void
test_undeliverable_email (void)
{
  static const char *refused[] = { "hong..gil@example.com", "hong@ex-.example.com" };
  g_autofree char *id = NULL, *token = NULL;
  g_autoptr(OtResponse) order = create_order ("[{\"denomination\": 5000, \"quantity\": 1}]",
                                              &id, &token);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "2580");
  g_autofree char *gifts = g_strconcat ("/v1/orders/", id, "/gifts", NULL);
  g_autofree char *before = rows_written ();
  g_autofree char *after = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      const char *address = refused[i];
      g_autofree char *buyer_json = order_with_email (address);
      g_autofree char *gift = g_strdup_printf ("{\"card\": \"card_x\", \"design\": \"plain\","
                                               " \"recipient_name\": \"김철수\","
                                               " \"recipient_email\": \"%s\","
                                               " \"sender_name\": \"홍길동\"}", address);
      g_autofree char *recharge = g_strdup_printf ("{\"number\": \"%s\", \"password\":"
                                                   " \"2580\", \"amount\": 10000,"
                                                   " \"method\": \"transfer\", \"transfer\":"
                                                   " {\"depositor_name\": \"홍길동\"},"
                                                   " \"email\": \"%s\"}", card->number, address);
      g_autofree char *refund = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\","
                                                 " \"bank_code\": \"990\", \"account_number\":"
                                                 " \"110000000001\", \"account_holder\":"
                                                 " \"홍길동\", \"email\": \"%s\"}", card->number,
                                                 address);
      g_autoptr(OtResponse) o = ot_request (gw, "POST", "/v1/orders", NULL, NULL, buyer_json);
      g_autoptr(OtResponse) g = ot_request (gw, "POST", gifts, token, NULL, gift);
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/cards/recharge", NULL, NULL,
                                            recharge);
      g_autoptr(OtResponse) p = ot_request (gw, "POST", "/v1/cards/refund", NULL, NULL, refund);

      g_test_message ("%s", address);
      assert_address_refused (o, "buyer.email", address);
      assert_address_refused (g, "recipient_email", address);
      assert_address_refused (r, "email", address);
      assert_address_refused (p, "email", address);
    }
  after = rows_written ();
  g_assert_cmpstr (after, ==, before);

  /* What the mailer takes is taken. */
  {
    g_autofree char *body = order_with_email ("hong.gil@ex-1.example.com");
    g_autoptr(OtResponse) o = ot_request (gw, "POST", "/v1/orders", NULL, NULL, body);

    g_autofree char *recharge = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\","
                                                 " \"amount\": 10000, \"method\": \"transfer\","
                                                 " \"transfer\": {\"depositor_name\": \"홍길동\"},"
                                                 " \"email\": \"hong.gil@ex-1.example.com\"}",
                                                 card->number);
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/cards/recharge", NULL, NULL,
                                          recharge);

    ot_assert_status (o, 200);
    g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (o), "buyer"), "email"),
                     ==, "hong.gil@ex-1.example.com");
    /* Past every check, to the bank this gateway has not. */
    ot_assert_error (r, 503, "api_error", "bank_unavailable");
  }
}

static OtResponse *
pay (const char *id,
     const char *token,
     const char *key,
     const char *body)
{
  g_autofree char *path = g_strconcat ("/v1/orders/", id, "/pay", NULL);

  return ot_request (gw, "POST", path, token, key, body);
}

static void
test_pay_without_bank (void)
{
  g_autofree char *id = NULL, *token = NULL;
  g_autoptr(OtResponse) order = create_order ("[{\"denomination\": 50000, \"quantity\": 2}]",
                                              &id, &token);
  const char *card = "{\"method\": \"credit_card\", \"credit_card\":"
                     " {\"number\": \"4242424242424242\", \"expiry\": \"12/30\", \"cvc\": \"123\"}}";
  g_autoptr(OtResponse) r = pay (id, token, "pay-1", card);
  g_autoptr(OtResponse) again = pay (id, token, "pay-1", card);
  g_autofree char *path = g_strconcat ("/v1/orders/", id, NULL);
  g_autoptr(OtResponse) got = ot_request (gw, "GET", path, token, NULL, NULL);
  g_autoptr(JsonObject) audit = ot_assert_audit_balanced (gw);

  /* Nothing was charged and nothing allocated; a 503 is not stored. */
  ot_assert_error (r, 503, "api_error", "bank_unavailable");
  ot_assert_error (again, 503, "api_error", "bank_unavailable");
  g_assert_null (ot_response_header (again, "Idempotent-Replayed"));
  ot_assert_status (got, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (got), "status"), ==, "created");
  g_assert_cmpuint (json_array_get_length (ot_json_array (ot_response_object (got), "cards")),
                    ==, 0);
  g_assert_cmpint (ot_json_int (audit, "cards_balance_total"), ==, 0);
}

static void
assert_pay_refused (const char *body,
                    const char *code,
                    const char *param)
{
  g_autofree char *id = NULL, *token = NULL;
  g_autoptr(OtResponse) order = create_order ("[{\"denomination\": 5000, \"quantity\": 1}]", &id,
                                              &token);
  g_autoptr(OtResponse) r = pay (id, token, "refused", body);
  g_autoptr(OtResponse) replay = pay (id, token, "refused", body);

  ot_assert_error (r, 400, "invalid_request_error", code);
  g_assert_cmpstr (error_param (r), ==, param);
  /* A refusal under a key is stored like any outcome. */
  g_assert_cmpstr (replay->body, ==, r->body);
  g_assert_cmpstr (ot_response_header (replay, "Idempotent-Replayed"), ==, "true");
}

static void
test_pay_refusals (void)
{
  g_autofree char *onepin = ot_random_card_number ("9410");
  g_autofree char *with_onepin = g_strdup_printf ("{\"method\": \"credit_card\", \"credit_card\":"
                                                  " {\"number\": \"%s\", \"expiry\": \"12/30\","
                                                  " \"cvc\": \"123\"}}", onepin);
  g_autofree char *wallet = ot_random_card_number ("942500");
  g_autofree char *with_wallet = g_strdup_printf ("{\"method\": \"credit_card\", \"credit_card\":"
                                                  " {\"number\": \"%s\", \"expiry\": \"12/30\","
                                                  " \"cvc\": \"123\"}}", wallet);

  /* A onepin card never pays for cards, nor a wallet's representative card. */
  assert_pay_refused (with_onepin, "payment_method_not_accepted", "credit_card.number");
  assert_pay_refused (with_wallet, "payment_method_not_accepted", "credit_card.number");
  assert_pay_refused ("{\"method\": \"credit_card\", \"credit_card\": {\"number\":"
                      " \"4242424242424241\", \"expiry\": \"12/30\", \"cvc\": \"123\"}}",
                      "parameter_invalid", "credit_card.number");
  assert_pay_refused ("{\"method\": \"credit_card\", \"credit_card\": {\"number\":"
                      " \"4242424242424242\", \"expiry\": \"13/30\", \"cvc\": \"123\"}}",
                      "parameter_invalid", "credit_card.expiry");
  assert_pay_refused ("{\"method\": \"credit_card\", \"credit_card\": {\"number\":"
                      " \"4242424242424242\", \"expiry\": \"12/30\"}}",
                      "parameter_missing", "credit_card.cvc");
  assert_pay_refused ("{\"method\": \"credit_card\", \"transfer\": {\"depositor_name\": \"a\"}}",
                      "parameter_unknown", "transfer");
  assert_pay_refused ("{\"method\": \"cash\"}", "parameter_invalid", "method");
  assert_pay_refused ("{\"method\": \"bank_account\", \"bank_account\": {\"bank_code\": \"99\","
                      " \"account_number\": \"110000000001\", \"password\": \"1234\"}}",
                      "parameter_invalid", "bank_account.bank_code");
  assert_pay_refused ("{\"method\": \"transfer\", \"transfer\": {\"depositor_name\": \"\"}}",
                      "parameter_invalid", "transfer.depositor_name");
}

static void
test_recharge_and_refund_without_bank (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "2580");
  g_autofree char *recharge = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\","
                                               " \"amount\": %s, \"method\": \"transfer\","
                                               " \"transfer\": {\"depositor_name\": \"홍길동\"}}",
                                               card->number, "%" G_GINT64_FORMAT);
  g_autofree char *good = g_strdup_printf (recharge, (gint64) 10000);
  g_autofree char *odd = g_strdup_printf (recharge, (gint64) 15000);
  g_autofree char *refund = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\","
                                             " \"bank_code\": \"990\", \"account_number\":"
                                             " \"110000000001\", \"account_holder\": \"홍길동\"}",
                                             card->number);
  g_autoptr(OtResponse) r1 = ot_request (gw, "POST", "/v1/cards/recharge", NULL, NULL, good);
  g_autoptr(OtResponse) r2 = ot_request (gw, "POST", "/v1/cards/recharge", NULL, NULL, odd);
  g_autoptr(OtResponse) r3 = ot_request (gw, "POST", "/v1/cards/refund", NULL, NULL, refund);

  ot_assert_error (r1, 503, "api_error", "bank_unavailable");
  ot_assert_error (r2, 400, "invalid_request_error", "parameter_invalid");
  g_assert_cmpstr (error_param (r2), ==, "amount");
  ot_assert_error (r3, 503, "api_error", "bank_unavailable");
  ot_assert_card_balance (gw, card->number, "2580", 10000, 10000);
}

static void
test_verify_payment (void)
{
  g_autofree char *sk = NULL;
  g_autofree char *merchant = ot_create_merchant (gw, "e-lotto", &sk);
  g_autoptr(OtCard) mine = ot_new_card (gw, 10000, "2580");
  g_autoptr(OtCard) other = ot_new_card (gw, 10000, "2580");
  g_autoptr(JsonObject) payment = ot_pay (gw, sk, mine->number, "2580", 5000, TRUE);
  const char *pay_id = ot_json_string (payment, "id");
  g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\","
                                           " \"payment\": \"%s\"}", mine->number, pay_id);
  g_autofree char *stranger = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\","
                                               " \"payment\": \"%s\"}", other->number, pay_id);
  g_autofree char *wrong = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"0000\","
                                            " \"payment\": \"%s\"}", mine->number, pay_id);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/cards/verify_payment", NULL, NULL,
                                        body);
  g_autoptr(OtResponse) not_mine = ot_request (gw, "POST", "/v1/cards/verify_payment", NULL, NULL,
                                               stranger);
  g_autoptr(OtResponse) declined = ot_request (gw, "POST", "/v1/cards/verify_payment", NULL,
                                               NULL, wrong);
  g_autofree char *statement = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\"}",
                                                mine->number);
  g_autoptr(OtResponse) s = ot_request (gw, "POST", "/v1/cards/statement", NULL, NULL,
                                        statement);
  JsonObject *o;
  JsonObject *line;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_assert_true (ot_json_bool (o, "verified"));
  g_assert_cmpstr (ot_json_string (o, "payment"), ==, pay_id);
  g_assert_cmpint (ot_json_int (o, "amount"), ==, 5000);
  g_assert_cmpstr (ot_json_string (o, "merchant"), ==, merchant);
  g_assert_cmpstr (ot_json_string (o, "merchant_name"), ==, "e-lotto");
  g_assert_null (strstr (r->body, mine->number));
  ot_assert_error (not_mine, 404, "invalid_request_error", "resource_missing");
  g_assert_cmpstr (error_param (not_mine), ==, "payment");
  ot_assert_error (declined, 402, "card_error", "invalid_credentials");

  /* The usage inquiry names the merchant of each line (FIG. 10I). */
  ot_assert_status (s, 200);
  line = json_array_get_object_element (ot_json_array (ot_response_object (s), "data"), 0);
  g_assert_cmpstr (ot_json_string (line, "merchant_name"), ==, "e-lotto");
  g_assert_cmpint (ot_json_int (ot_json_object (ot_response_object (s), "summary"),
                                "total_paid_out"), ==, 0);
}

static void
test_promotional_batch (void)
{
  g_autoptr(OtResponse) promo = ot_request (gw, "POST", "/v1/admin/card_batches",
                                            ot_gateway_admin_token (gw), NULL,
                                            "{\"count\": 1, \"value\": 10000,"
                                            " \"promotional\": true}");
  g_autoptr(OtResponse) plain = ot_request (gw, "POST", "/v1/admin/card_batches",
                                            ot_gateway_admin_token (gw), NULL,
                                            "{\"count\": 1, \"value\": 10000}");
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 promo_expiry, plain_expiry;

  ot_assert_status (promo, 200);
  ot_assert_status (plain, 200);
  g_assert_true (ot_json_bool (ot_response_object (promo), "promotional"));
  promo_expiry = ot_json_int (json_array_get_object_element (
    ot_json_array (ot_response_object (promo), "cards"), 0), "expires_at");
  plain_expiry = ot_json_int (json_array_get_object_element (
    ot_json_array (ot_response_object (plain), "cards"), 0), "expires_at");
  g_assert_cmpint (promo_expiry, >=, now + 364 * 86400);
  g_assert_cmpint (promo_expiry, <=, now + 367 * 86400);
  g_assert_cmpint (plain_expiry, >=, now + 5 * 365 * 86400);
}

/* An order of one card and the path of its gifts, for the checks of a
 * gift's fields: no card is allocated, so a gift that passes them gets 409. */
static char *
gift_order (char **token)
{
  g_autofree char *id = NULL;
  g_autoptr(OtResponse) order = create_order ("[{\"denomination\": 5000, \"quantity\": 1}]",
                                              &id, token);

  ot_assert_status (order, 200);
  return g_strconcat ("/v1/orders/", id, "/gifts", NULL);
}

static OtResponse *
post_gift (const char *path,
           const char *token,
           const char *recipient,
           const char *sender,
           const char *message)
{
  g_autofree char *body = g_strdup_printf ("{\"card\": \"card_x\", \"design\": \"plain\","
                                           " \"recipient_name\": \"%s\", \"recipient_email\":"
                                           " \"r@example.com\", \"sender_name\": \"%s\","
                                           " \"message\": \"%s\"}", recipient, sender, message);

  g_test_message ("body: %s", body);
  return ot_request (gw, "POST", path, token, NULL, body);
}

/* A gift's message is text: control characters are refused like in the
 * names, but it may have several lines. */
static void
test_gift_message (void)
{
  g_autofree char *token = NULL;
  g_autofree char *gifts = gift_order (&token);
  g_autoptr(OtResponse) refused = post_gift (gifts, token, "R", "S", "big\\u001b[2J\\u0007");
  g_autoptr(OtResponse) taken = post_gift (gifts, token, "R", "S", "Dear R,\\nhappy birthday!");

  ot_assert_error (refused, 400, "invalid_request_error", "parameter_invalid");
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (refused), "error"),
                                   "param"), ==, "message");
  /* Past the checks of the body: only the card is not this order's. */
  ot_assert_status (taken, 409);
}

/* A gift's names and message are the buyer's words shown to the recipient
 * (mail, the claim page): what hides or turns text around is refused. */
static void
test_gift_invisible (void)
{
  g_autofree char *token = NULL;
  g_autofree char *gifts = gift_order (&token);
  const struct
  {
    const char *recipient, *sender, *message, *param;
  } refused[] = {
    { "R", "\\u202eeeL miK", "Hi", "sender_name" },
    { "R", "Kim\\u200bLee", "Hi", "sender_name" },
    { "R\\u2066", "S", "Hi", "recipient_name" },
    { "\\ufeffR", "S", "Hi", "recipient_name" },
    { "R", "S", "Dear R,\\n\\u202egnihton em dnes", "message" },
    { "R", "S", "Hi\\u2060there", "message" },
    { "R", "S", "Hi\\u2028there", "message" },
  };
  gint64 before = ot_gateway_query_int (gw, "SELECT COUNT(*) FROM gifts");

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(OtResponse) r = post_gift (gifts, token, refused[i].recipient, refused[i].sender,
                                           refused[i].message);

      ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
      g_assert_cmpstr (error_param (r), ==, refused[i].param);
    }
  g_assert_cmpint (ot_gateway_query_int (gw, "SELECT COUNT(*) FROM gifts"), ==, before);

  /* Korean, accents, emoji (joined ones too) and right-to-left letters
   * pass the checks: only the card is not this order's. */
  {
    g_autoptr(OtResponse) r = post_gift (gifts, token, "김철수 José", "홍길동 👩‍💻",
                                         "생일 축하해요 🎂🏽\\nשלום, Renée!");

    ot_assert_status (r, 409);
  }
}

static void
test_gift_tokens (void)
{
  g_autoptr(OtResponse) preview = ot_request (gw, "POST", "/v1/gifts/preview", NULL, NULL,
                                              "{\"token\": \"gct_0123456789abcdef\"}");
  g_autoptr(OtResponse) claim = ot_request (gw, "POST", "/v1/gifts/claim", NULL, NULL,
                                            "{\"token\": \"gct_0123456789abcdef\","
                                            " \"password\": \"2580\"}");
  g_autoptr(OtResponse) odd = ot_request (gw, "POST", "/v1/gifts/claim", NULL, NULL,
                                          "{\"token\": \"<script>\", \"password\": \"2580\"}");
  g_autoptr(OtResponse) passwordless = ot_request (gw, "POST", "/v1/gifts/claim", NULL, NULL,
                                                   "{\"token\": \"gct_0123456789abcdef\"}");

  ot_assert_error (preview, 404, "invalid_request_error", "resource_missing");
  g_assert_cmpstr (error_param (preview), ==, "token");
  ot_assert_error (claim, 404, "invalid_request_error", "resource_missing");
  ot_assert_error (odd, 400, "invalid_request_error", "parameter_invalid");
  /* The claim registers the card: it takes the recipient's password. */
  ot_assert_error (passwordless, 400, "invalid_request_error", "parameter_missing");
  g_assert_cmpstr (error_param (passwordless), ==, "password");
}

static void
test_admin_list (void)
{
  const char *admin = ot_gateway_admin_token (gw);
  g_autofree char *first = NULL, *second = NULL, *third = NULL;
  g_autoptr(OtResponse) a = create_order ("[{\"denomination\": 5000, \"quantity\": 1}]", &first,
                                          NULL);
  g_autoptr(OtResponse) b = create_order ("[{\"denomination\": 5000, \"quantity\": 2}]", &second,
                                          NULL);
  g_autoptr(OtResponse) c = create_order ("[{\"denomination\": 5000, \"quantity\": 3}]", &third,
                                          NULL);
  g_autoptr(OtResponse) page = ot_request (gw, "GET", "/v1/admin/orders?limit=2", admin, NULL,
                                           NULL);
  g_autofree char *next_path = NULL;
  g_autoptr(OtResponse) next = NULL;
  g_autoptr(OtResponse) anonymous = ot_request (gw, "GET", "/v1/admin/orders", NULL, NULL, NULL);
  JsonArray *data;

  ot_assert_status (page, 200);
  data = ot_json_array (ot_response_object (page), "data");
  g_assert_cmpuint (json_array_get_length (data), ==, 2);
  g_assert_true (ot_json_bool (ot_response_object (page), "has_more"));
  g_assert_cmpstr (ot_json_string (json_array_get_object_element (data, 0), "id"), ==, third);
  g_assert_cmpstr (ot_json_string (json_array_get_object_element (data, 1), "id"), ==, second);
  /* No personal data in the operator's list. */
  g_assert_false (json_object_has_member (json_array_get_object_element (data, 0), "buyer"));
  g_assert_null (strstr (page->body, "hong@example.com"));

  next_path = g_strdup_printf ("/v1/admin/orders?limit=1&starting_after=%s", second);
  next = ot_request (gw, "GET", next_path, admin, NULL, NULL);
  ot_assert_status (next, 200);
  data = ot_json_array (ot_response_object (next), "data");
  g_assert_cmpstr (ot_json_string (json_array_get_object_element (data, 0), "id"), ==, first);
  ot_assert_error (anonymous, 401, "authentication_error", "unauthorized");
  {
    /* Its two parameters once each, with a value, and nothing else: not
     * ?limit read as no limit, nor the last of two taken. */
    const struct { const char *query; const char *code; const char *param; } odd[] = {
      { "limit", "parameter_invalid", "limit" },
      { "limit=1&starting_after", "parameter_invalid", "starting_after" },
      { "limit=1&limit=2", "parameter_invalid", "limit" },
      { "status=paid", "parameter_unknown", "status" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (odd); i++)
      {
        g_autofree char *path = g_strconcat ("/v1/admin/orders?", odd[i].query, NULL);
        g_autoptr(OtResponse) r = ot_request (gw, "GET", path, admin, NULL, NULL);

        g_test_message ("GET %s", path);
        ot_assert_error (r, 400, "invalid_request_error", odd[i].code);
        g_assert_cmpstr (error_param (r), ==, odd[i].param);
      }
  }
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/orders/create", test_create);
  g_test_add_func ("/orders/create-key-refused", test_create_key_refused);
  g_test_add_func ("/orders/token", test_token);
  g_test_add_func ("/orders/limits", test_limits);
  g_test_add_func ("/orders/buyer", test_buyer);
  g_test_add_func ("/orders/pay/without-bank", test_pay_without_bank);
  g_test_add_func ("/orders/pay/refusals", test_pay_refusals);
  g_test_add_func ("/orders/cards/without-bank", test_recharge_and_refund_without_bank);
  g_test_add_func ("/orders/email/undeliverable", test_undeliverable_email);
  g_test_add_func ("/orders/cards/verify-payment", test_verify_payment);
  g_test_add_func ("/orders/admin/promotional-batch", test_promotional_batch);
  g_test_add_func ("/orders/gifts/tokens", test_gift_tokens);
  g_test_add_func ("/orders/gifts/message", test_gift_message);
  g_test_add_func ("/orders/gifts/invisible", test_gift_invisible);
  g_test_add_func ("/orders/admin/list", test_admin_list);

  gw = ot_gateway_start ("[limits]\nfailures_per_minute=100000\n"
                         "[site]\ncontact_email=" CONTACT "\n", FALSE);
  ret = g_test_run ();
  ot_gateway_stop (gw);
  return ret;
}
