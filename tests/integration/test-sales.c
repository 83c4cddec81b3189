/* test-sales.c: PIN pools, operator settlement and card-selling agents
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A mobile operator is handed pools of inactive numbers; its ARS sells from
 * them, the caller activates the card online, and the month's statement
 * reconciles to the journal. An agent sells physical cards whose scratch
 * secret, not the printed number, opens them.
 */
#include <string.h>

#include "phone-test-util.h"

static OtGateway *gw;
static char *mall_key;

static JsonObject *
admin_post (const char *path,
            const char *body)
{
  g_autoptr(OtResponse) r = ot_request (gw, "POST", path, ot_gateway_admin_token (gw), NULL, body);

  ot_assert_status (r, 200);
  return json_object_ref (ot_response_object (r));
}

static JsonObject *
make_pool (const char *seller,
           const char *kind,
           gint64      value,
           gint64      count)
{
  g_autofree char *body = g_strdup_printf ("{\"seller\": \"%s\", \"kind\": \"%s\", \"value\": %"
                                           G_GINT64_FORMAT ", \"count\": %" G_GINT64_FORMAT "}",
                                           seller, kind, value, count);

  return admin_post ("/v1/admin/phone/pools", body);
}

static void
set_commission (const char *seller,
                gint64      bps)
{
  g_autofree char *body = g_strdup_printf ("{\"merchant\": \"%s\", \"commission_bps\": %"
                                           G_GINT64_FORMAT "}", seller, bps);

  json_object_unref (admin_post ("/v1/admin/phone/sellers", body));
}

static const char *
pool_number (JsonObject *pool,
             guint       i,
             const char *member)
{
  return ot_json_string (json_array_get_object_element (ot_json_array (pool, "numbers"), i),
                         member);
}

static OtResponse *
card_post (const char *what,
           const char *number,
           const char *password)
{
  g_autofree char *path = g_strconcat ("/v1/cards/", what, NULL);
  g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\"}", number,
                                           password);

  return ot_request (gw, "POST", path, NULL, NULL, body);
}

/* Buys a card of the amount at @choice (1 = 5,000 won …) through the ARS;
 * returns what was said. */
static char *
buy (const char *key,
     const char *from,
     const char *choice)
{
  g_autofree char *id = pt_ars_start (gw, key, from, "en");
  g_autoptr(JsonObject) a = pt_ars_press (gw, key, id, "1");
  g_autoptr(JsonObject) b = pt_ars_press (gw, key, id, choice);
  g_autoptr(JsonObject) c = pt_ars_press (gw, key, id, "1");
  g_autoptr(JsonObject) d = pt_ars_press (gw, key, id, "0");

  return g_strdup (ot_json_string (ot_json_object (c, "prompt"), "text"));
}

static JsonObject *
statement (const char *seller,
           const char *month)
{
  g_autofree char *path = g_strdup_printf ("/v1/admin/phone/statements?seller=%s&month=%s",
                                           seller, month);
  g_autoptr(OtResponse) r = ot_request (gw, "GET", path, ot_gateway_admin_token (gw), NULL, NULL);

  ot_assert_status (r, 200);
  return json_object_ref (ot_response_object (r));
}

static void
test_operator_pools_and_settlement (void)
{
  g_autofree char *op_id = NULL;
  g_autofree char *op_key = pt_create_merchant (gw, "SK mobile", "mobile_operator", &op_id);
  g_autofree char *month = pt_this_month ();
  g_autoptr(JsonObject) tens = NULL;
  g_autoptr(JsonObject) fives = NULL;
  g_autoptr(JsonObject) st = NULL;
  g_autoptr(JsonObject) empty = NULL;
  g_autoptr(OtResponse) csv = NULL;
  g_autoptr(OtResponse) inactive = NULL;
  g_autoptr(OtResponse) reg = NULL;
  g_autoptr(OtResponse) pool_state = NULL;
  g_autofree char *said = NULL;
  g_autofree char *sold_out = NULL;
  g_autofree char *n1 = NULL, *n2 = NULL, *n3 = NULL;
  g_autofree char *path = NULL;
  g_autofree char *recharge = NULL;
  JsonObject *ledger;

  /* 3.33% commission: 333 won on 10,000, 166.5 rounded down on 5,000. */
  set_commission (op_id, 333);
  tens = make_pool (op_id, "operator", 10000, 2);
  fives = make_pool (op_id, "operator", 5000, 1);
  g_assert_cmpint (ot_json_int (tens, "available"), ==, 2);
  g_assert_true (ot_luhn_valid (pool_number (tens, 0, "number")));
  g_assert_false (json_object_has_member (
    json_array_get_object_element (ot_json_array (tens, "numbers"), 0), "secret"));

  /* A pool number is no card before it is sold. */
  inactive = card_post ("register", pool_number (tens, 0, "number"), "2580");
  ot_assert_error (inactive, 402, "card_error", "invalid_credentials");

  said = buy (op_key, "01077700001", "2");
  g_assert_nonnull (strstr (said, "sent to you by text message"));
  n1 = pt_sms_card_number (gw, "01077700001");
  g_assert_cmpstr (n1, ==, pool_number (tens, 0, "number"));
  g_free (buy (op_key, "01077700002", "2"));
  n2 = pt_sms_card_number (gw, "01077700002");
  g_assert_cmpstr (n2, ==, pool_number (tens, 1, "number"));
  sold_out = buy (op_key, "01077700003", "2");
  g_assert_nonnull (strstr (sold_out, "Sorry, cards of this amount are sold out."));
  g_free (buy (op_key, "01077700003", "1"));
  n3 = pt_sms_card_number (gw, "01077700003");
  g_assert_cmpstr (n3, ==, pool_number (fives, 0, "number"));

  /* The caller registers the password online, which activates the card. */
  reg = card_post ("register", n1, "2580");
  ot_assert_status (reg, 200);
  json_object_unref (ot_pay (gw, mall_key, n1, "2580", 2500, TRUE));
  ot_assert_card_balance (gw, n1, "2580", 7500, 7500);

  /* A recharge of 5,000 won through the ARS, on the operator's bill. */
  ot_register_card (gw, n3, "1357");
  {
    g_autofree char *id = pt_ars_start (gw, op_key, "01077700003", "en");
    const char *presses[] = { "2", n3, "1357", "1", "1" };

    for (guint i = 0; i < G_N_ELEMENTS (presses); i++)
      {
        g_autoptr(JsonObject) o = pt_ars_press (gw, op_key, id, presses[i]);

        g_free (recharge);
        recharge = g_strdup (ot_json_string (ot_json_object (o, "prompt"), "text"));
      }
  }
  g_assert_nonnull (strstr (recharge, "The balance is now 10,000 won."));

  path = g_strdup_printf ("/v1/admin/phone/pools/%s", ot_json_string (tens, "id"));
  pool_state = ot_request (gw, "GET", path, ot_gateway_admin_token (gw), NULL, NULL);
  ot_assert_status (pool_state, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (pool_state), "available"), ==, 0);
  g_assert_cmpint (ot_json_int (ot_response_object (pool_state), "sold"), ==, 2);
  g_assert_false (json_object_has_member (ot_response_object (pool_state), "numbers"));

  /* The month's statement: 3 cards (25,000 won), 1 recharge (5,000), and
   * the commission of each sale at 3.33%, rounded down. */
  st = statement (op_id, month);
  g_assert_cmpint (ot_json_int (st, "cards_sold"), ==, 3);
  g_assert_cmpint (ot_json_int (st, "cards_value"), ==, 25000);
  g_assert_cmpint (ot_json_int (st, "recharges"), ==, 1);
  g_assert_cmpint (ot_json_int (st, "recharges_value"), ==, 5000);
  g_assert_cmpint (ot_json_int (st, "gross"), ==, 30000);
  g_assert_cmpint (ot_json_int (st, "commission"), ==, 333 + 333 + 166 + 166);
  g_assert_cmpint (ot_json_int (st, "net_due"), ==, 30000 - 998);
  ledger = ot_json_object (st, "ledger");
  g_assert_cmpint (ot_json_int (ledger, "debits"), ==, 30000);
  g_assert_true (ot_json_bool (ledger, "reconciled"));
  g_assert_cmpuint (json_array_get_length (ot_json_array (st, "sales")), ==, 4);

  g_free (path);
  path = g_strdup_printf ("/v1/admin/phone/statements?seller=%s&month=%s&format=csv", op_id,
                          month);
  csv = ot_request (gw, "GET", path, ot_gateway_admin_token (gw), NULL, NULL);
  ot_assert_status (csv, 200);
  g_assert_true (g_str_has_prefix (ot_response_header (csv, "Content-Type"), "text/csv"));
  g_assert_true (g_str_has_prefix (csv->body, "date,sale,kind,card_last4,amount,commission,net\r\n"));
  g_assert_nonnull (strstr (csv->body, "\r\ntotal,,,,30000,998,29002\r\n"));
  g_assert_null (strstr (csv->body, n1));
  g_assert_nonnull (strstr (csv->body, n1 + 12));

  /* The operator sees its own statement; another month is empty. */
  {
    g_autofree char *own = g_strdup_printf ("/v1/phone/statement?month=%s", month);
    g_autoptr(OtResponse) r = ot_request (gw, "GET", own, op_key, NULL, NULL);

    ot_assert_status (r, 200);
    g_assert_cmpint (ot_json_int (ot_response_object (r), "net_due"), ==, 29002);
  }
  {
    g_autofree char *own = g_strdup_printf ("/v1/phone/statement?month=%s&format=csv", month);
    g_autoptr(OtResponse) r = ot_request (gw, "GET", own, op_key, NULL, NULL);

    ot_assert_status (r, 200);
    g_assert_nonnull (strstr (r->body, "\r\ntotal,,,,30000,998,29002\r\n"));
  }
  empty = statement (op_id, "2001-01");
  g_assert_cmpint (ot_json_int (empty, "gross"), ==, 0);
  g_assert_true (ot_json_bool (ot_json_object (empty, "ledger"), "reconciled"));
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_agent_cards (void)
{
  g_autofree char *agent_id = NULL;
  g_autofree char *agent_key = pt_create_merchant (gw, "Corner shop", "card_agent", &agent_id);
  g_autofree char *other_key = pt_create_merchant (gw, "Other shop", "card_agent", NULL);
  g_autofree char *month = pt_this_month ();
  g_autoptr(JsonObject) pool = NULL;
  g_autoptr(JsonObject) st = NULL;
  g_autofree char *n0 = NULL, *s0 = NULL, *n1 = NULL, *n2 = NULL;
  g_autofree char *b0 = NULL, *b1 = NULL, *b2 = NULL, *random = NULL;

  set_commission (agent_id, 1000);
  pool = make_pool (agent_id, "agent", 10000, 3);
  n0 = g_strdup (pool_number (pool, 0, "number"));
  s0 = g_strdup (pool_number (pool, 0, "secret"));
  n1 = g_strdup (pool_number (pool, 1, "number"));
  n2 = g_strdup (pool_number (pool, 2, "number"));
  g_assert_cmpuint (strlen (s0), ==, 12);
  pt_assert_secret_absent (gw, n0);
  pt_assert_secret_absent (gw, s0);
  b0 = g_strdup_printf ("{\"number\": \"%s\"}", n0);
  b1 = g_strdup_printf ("{\"number\": \"%s\"}", n1);
  b2 = g_strdup_printf ("{\"number\": \"%s\"}", n2);

  /* Unsold, the card is nothing, even with its secret. */
  {
    g_autoptr(OtResponse) r = card_post ("balance", n0, s0);

    ot_assert_error (r, 402, "card_error", "invalid_credentials");
  }

  /* Sold: the agent activates it; the secret, not the number, opens it. */
  {
    g_autoptr(OtResponse) other = ot_request (gw, "POST", "/v1/agent/cards/activate", other_key,
                                              NULL, b0);
    g_autoptr(OtResponse) sale = ot_request (gw, "POST", "/v1/agent/cards/activate", agent_key,
                                             "sale-1", b0);
    g_autoptr(OtResponse) again = ot_request (gw, "POST", "/v1/agent/cards/activate", agent_key,
                                              NULL, b0);
    g_autoptr(OtResponse) number_only = card_post ("register", n0, "2580");
    g_autoptr(OtResponse) wrong = card_post ("balance", n0, "000000000000");
    g_autoptr(OtResponse) change = NULL;
    g_autofree char *body = NULL;

    ot_assert_error (other, 404, "invalid_request_error", "resource_missing");
    ot_assert_status (sale, 200);
    g_assert_cmpstr (ot_json_string (ot_response_object (sale), "state"), ==, "active");
    g_assert_cmpint (ot_json_int (ot_response_object (sale), "balance"), ==, 10000);
    g_assert_null (strstr (sale->body, n0));
    ot_assert_error (again, 409, "invalid_request_error", "card_number_used");
    ot_assert_error (number_only, 409, "invalid_request_error", "card_already_registered");
    ot_assert_error (wrong, 402, "card_error", "invalid_credentials");
    ot_assert_card_balance (gw, n0, s0, 10000, 10000);

    /* The holder sets a password of their own with the secret. */
    body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\", \"new_password\":"
                            " \"my-pass\"}", n0, s0);
    change = ot_request (gw, "POST", "/v1/cards/password", NULL, NULL, body);
    ot_assert_status (change, 200);
    json_object_unref (ot_pay (gw, mall_key, n0, "my-pass", 4000, TRUE));
    ot_assert_card_balance (gw, n0, "my-pass", 6000, 6000);
  }

  /* Unsold cards can be voided, and then never sold. */
  {
    g_autoptr(OtResponse) v = ot_request (gw, "POST", "/v1/agent/cards/void", agent_key, NULL, b1);
    g_autoptr(OtResponse) sell = ot_request (gw, "POST", "/v1/agent/cards/activate", agent_key,
                                             NULL, b1);
    g_autoptr(OtResponse) sold = ot_request (gw, "POST", "/v1/agent/cards/void", agent_key, NULL,
                                             b0);
    g_autoptr(OtResponse) nosuch = NULL;
    g_autofree char *nobody = NULL;

    ot_assert_status (v, 200);
    g_assert_cmpstr (ot_json_string (ot_response_object (v), "state"), ==, "void");
    ot_assert_error (sell, 409, "invalid_request_error", "card_number_used");
    ot_assert_error (sold, 409, "invalid_request_error", "card_number_used");
    random = ot_random_card_number ("9410");
    nobody = g_strdup_printf ("{\"number\": \"%s\"}", random);
    nosuch = ot_request (gw, "POST", "/v1/agent/cards/activate", agent_key, NULL, nobody);
    ot_assert_error (nosuch, 404, "invalid_request_error", "resource_missing");
  }

  /* Sales and commission per agent. */
  st = statement (agent_id, month);
  g_assert_cmpint (ot_json_int (st, "cards_sold"), ==, 1);
  g_assert_cmpint (ot_json_int (st, "gross"), ==, 10000);
  g_assert_cmpint (ot_json_int (st, "commission"), ==, 1000);
  g_assert_cmpint (ot_json_int (st, "net_due"), ==, 9000);
  g_assert_true (ot_json_bool (ot_json_object (st, "ledger"), "reconciled"));
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_refusals (void)
{
  g_autofree char *agent_id = NULL;
  g_autofree char *agent_key = pt_create_merchant (gw, "Kiosk", "card_agent", &agent_id);
  g_autofree char *shop_id = NULL;
  g_autofree char *shop_key = pt_create_merchant (gw, "Shop", "shopping", &shop_id);
  g_autofree char *wrong_kind = g_strdup_printf ("{\"seller\": \"%s\", \"kind\": \"operator\","
                                                 " \"value\": 5000, \"count\": 1}", agent_id);
  g_autofree char *not_seller = g_strdup_printf ("{\"merchant\": \"%s\", \"commission_bps\": 5}",
                                                 shop_id);
  g_autoptr(OtResponse) r1 = ot_request (gw, "POST", "/v1/admin/phone/pools",
                                         ot_gateway_admin_token (gw), NULL, wrong_kind);
  g_autoptr(OtResponse) r2 = ot_request (gw, "POST", "/v1/admin/phone/sellers",
                                         ot_gateway_admin_token (gw), NULL, not_seller);
  g_autoptr(OtResponse) r3 = ot_request (gw, "POST", "/v1/admin/phone/pools",
                                         ot_gateway_admin_token (gw), NULL,
                                         "{\"seller\": \"x\", \"value\": 7000, \"count\": 1}");
  g_autoptr(OtResponse) r4 = ot_request (gw, "GET", "/v1/admin/phone/statements?seller=x&month=2026-13",
                                         ot_gateway_admin_token (gw), NULL, NULL);
  g_autoptr(OtResponse) r5 = ot_request (gw, "GET", "/v1/admin/phone/statements?seller=x&month=2026-12",
                                         ot_gateway_admin_token (gw), NULL, NULL);
  g_autoptr(OtResponse) r6 = ot_request (gw, "POST", "/v1/agent/cards/activate", agent_key, NULL,
                                         "{\"number\": \"1234\"}");

  ot_assert_error (r1, 400, "invalid_request_error", "not_a_seller");
  ot_assert_error (r2, 400, "invalid_request_error", "not_a_seller");
  ot_assert_error (r3, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (r4, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (r5, 404, "invalid_request_error", "resource_missing");
  ot_assert_error (r6, 404, "invalid_request_error", "resource_missing");
  (void) shop_key;
}

/* The operator's statements take seller, month and format, the seller's
 * own month and format, each once with a value: a seller named on the own
 * statement is refused, not answered with the caller's own. */
static void
test_query (void)
{
  g_autofree char *op_id = NULL;
  g_autofree char *op_key = pt_create_merchant (gw, "Query Telecom", "mobile_operator", &op_id);
  g_autofree char *other = g_strdup_printf ("/v1/phone/statement?month=2026-12&seller=%s", op_id);
  const struct { const char *path; gboolean admin; const char *code; const char *param; } odd[] = {
    { other, FALSE, "parameter_unknown", "seller" },
    { "/v1/phone/statement?month", FALSE, "parameter_invalid", "month" },
    { "/v1/admin/phone/statements?seller=x&month=2026-12&format", TRUE, "parameter_invalid",
      "format" },
    { "/v1/admin/phone/statements?seller=x&seller=y&month=2026-12", TRUE, "parameter_invalid",
      "seller" },
    { "/v1/admin/phone/statements?seller=x&month=2026-12&kind=card", TRUE, "parameter_unknown",
      "kind" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (odd); i++)
    {
      g_autoptr(OtResponse) r = ot_request (gw, "GET", odd[i].path,
                                            odd[i].admin ? ot_gateway_admin_token (gw) : op_key,
                                            NULL, NULL);

      g_test_message ("GET %s", odd[i].path);
      ot_assert_error (r, 400, "invalid_request_error", odd[i].code);
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                       ==, odd[i].param);
    }
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  gw = pt_start ();
  mall_key = pt_create_merchant (gw, "Mall", "shopping", NULL);

  g_test_add_func ("/sales/operator-pools-and-settlement", test_operator_pools_and_settlement);
  g_test_add_func ("/sales/agent-cards", test_agent_cards);
  g_test_add_func ("/sales/refusals", test_refusals);
  g_test_add_func ("/sales/query", test_query);
  status = g_test_run ();

  pt_stop (gw);
  g_free (mall_key);
  return status;
}
