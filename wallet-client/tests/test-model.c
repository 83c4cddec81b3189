/* test-model.c: the API's answers as structs, money display, purchases
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <libintl.h>
#include <locale.h>
#include <string.h>

#include "onepin-json.h"
#include "ow-client.h"
#include "ow-model.h"
#include "ow-purchase.h"

static JsonObject *
parse (const char *json)
{
  g_autoptr(GError) error = NULL;
  JsonObject *object = onepin_json_parse_object (json, strlen (json), &error);

  g_assert_no_error (error);
  return object;
}

#define CARD_JSON \
  "{\"id\":\"card_1\",\"object\":\"wallet_card\",\"masked_number\":\"•••• •••• •••• 1234\"," \
  "\"card_last4\":\"1234\",\"exp_month\":11,\"exp_year\":2031,\"state\":\"active\"," \
  "\"balance\":50000,\"held\":3000,\"available\":47000,\"currency\":\"krw\",\"points\":12," \
  "\"issued_at\":1,\"expires_at\":2%s}"

static void
test_card (void)
{
  g_autofree char *plain = g_strdup_printf (CARD_JSON, "");
  g_autofree char *issued = g_strdup_printf (CARD_JSON, ",\"number\":\"9410123412341234\",\"cvc\":\"739\"");
  g_autoptr(JsonObject) o1 = parse (plain);
  g_autoptr(JsonObject) o2 = parse (issued);
  g_autoptr(GError) error = NULL;
  g_autoptr(OwCard) card = ow_card_parse (o1, &error);
  g_autoptr(OwCard) with_number = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (card->last4, ==, "1234");
  g_assert_cmpint (card->balance, ==, 50000);
  g_assert_cmpint (card->available, ==, 47000);
  g_assert_cmpint (card->exp_year, ==, 2031);
  g_assert_null (card->number);

  with_number = ow_card_parse (o2, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (with_number->number, ==, "9410123412341234");
  g_assert_cmpstr (with_number->cvc, ==, "739");
}

/* Each member the wallet relies on, missing or of the wrong type, is a
 * protocol error naming it, never a crash or a zero taken for real. */
static void
test_card_malformed (void)
{
  static const char *members[] = { "id", "masked_number", "card_last4", "exp_month", "exp_year",
                                   "state", "balance", "held", "available", "currency", "points" };
  g_autofree char *plain = g_strdup_printf (CARD_JSON, "");

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      g_autoptr(JsonObject) missing = parse (plain);
      g_autoptr(JsonObject) wrong = parse (plain);
      g_autoptr(GError) error = NULL;
      g_autoptr(OwCard) card = NULL;

      json_object_remove_member (missing, members[i]);
      card = ow_card_parse (missing, &error);
      g_assert_null (card);
      g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
      g_assert_nonnull (strstr (error->message, members[i]));
      g_clear_error (&error);

      json_object_set_boolean_member (wrong, members[i], TRUE);
      card = ow_card_parse (wrong, &error);
      g_assert_null (card);
      g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
    }

  {
    g_autoptr(JsonObject) month = parse (plain);
    g_autoptr(GError) error = NULL;
    g_autoptr(OwCard) card = NULL;

    json_object_set_int_member (month, "exp_month", 13);
    card = ow_card_parse (month, &error);
    g_assert_null (card);
    g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
  }
}

/* A card's telephone lines: by their last four digits and an id; one that
 * is not an object, or lacks its id, is refused. */
static void
test_calling_numbers (void)
{
  g_autoptr(JsonObject) list = parse (
    "{\"object\":\"list\",\"has_more\":false,\"data\":["
    "{\"id\":\"cn_0123456789abcdef01234567\",\"object\":\"calling_number\","
    " \"card_id\":\"card_1\",\"card_last4\":\"1234\",\"calling_number_last4\":\"5678\","
    " \"registered\":true,\"created\":7}]}");
  g_autoptr(JsonObject) removed = parse (
    "{\"id\":\"cn_0123456789abcdef01234567\",\"object\":\"calling_number\","
    " \"card_id\":\"card_1\",\"card_last4\":\"1234\",\"calling_number_last4\":\"5678\","
    " \"registered\":false}");
  g_autoptr(JsonObject) not_object = parse ("{\"object\":\"list\",\"data\":[\"5678\"]}");
  g_autoptr(JsonObject) no_id = parse (
    "{\"object\":\"list\",\"data\":[{\"calling_number_last4\":\"5678\",\"registered\":true}]}");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) lines = ow_calling_numbers_parse (list, &error);
  g_autoptr(OwCallingNumber) line = NULL;
  OwCallingNumber *first;

  g_assert_no_error (error);
  g_assert_cmpuint (lines->len, ==, 1);
  first = g_ptr_array_index (lines, 0);
  g_assert_cmpstr (first->id, ==, "cn_0123456789abcdef01234567");
  g_assert_cmpstr (first->last4, ==, "5678");
  g_assert_true (first->registered);
  g_assert_cmpint (first->created, ==, 7);

  line = ow_calling_number_parse (removed, &error);
  g_assert_no_error (error);
  g_assert_false (line->registered);
  g_assert_cmpint (line->created, ==, 0);

  g_assert_null (ow_calling_numbers_parse (not_object, &error));
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
  g_clear_error (&error);
  g_assert_null (ow_calling_numbers_parse (no_id, &error));
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "id"));
}

static void
test_funding_and_history (void)
{
  g_autoptr(JsonObject) list = parse (
    "{\"object\":\"list\",\"has_more\":false,\"data\":["
    "{\"id\":\"fs_1\",\"object\":\"funding_source\",\"type\":\"credit_card\",\"created\":1,"
    " \"credit_card\":{\"masked_number\":\"•••• 1111\",\"last4\":\"1111\",\"exp_month\":12,\"exp_year\":2039}},"
    "{\"id\":\"fs_2\",\"object\":\"funding_source\",\"type\":\"bank_account\",\"created\":2,"
    " \"bank_account\":{\"bank_code\":\"004\",\"masked_number\":\"••9012\",\"last4\":\"9012\"}}]}");
  g_autoptr(JsonObject) bad = parse (
    "{\"object\":\"list\",\"has_more\":false,\"data\":["
    "{\"id\":\"fs_1\",\"type\":\"paypal\",\"created\":1}]}");
  g_autoptr(JsonObject) history = parse (
    "{\"object\":\"list\",\"has_more\":true,\"data\":["
    "{\"id\":\"ln_9\",\"object\":\"wallet_transaction\",\"type\":\"payment\",\"amount\":-3000,"
    " \"balance_after\":47000,\"currency\":\"krw\",\"description\":null,"
    " \"merchant\":{\"id\":\"mch_1\",\"name\":\"Demo Mall\"},\"payment\":\"pay_1\",\"refund\":null,"
    " \"charge\":null,\"funding_source\":null,\"created\":5},"
    "{\"id\":\"ln_8\",\"object\":\"wallet_transaction\",\"type\":\"charge\",\"amount\":50000,"
    " \"balance_after\":50000,\"currency\":\"krw\",\"description\":null,\"merchant\":null,"
    " \"payment\":null,\"refund\":null,\"charge\":\"wch_1\","
    " \"funding_source\":{\"id\":\"fs_2\",\"type\":\"bank_account\",\"last4\":\"9012\"},\"created\":4}]}");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sources = ow_funding_sources_parse (list, &error);
  g_autoptr(OwHistoryPage) page = NULL;
  OwFundingSource *bank;
  OwTransaction *t;

  g_assert_no_error (error);
  g_assert_cmpuint (sources->len, ==, 2);
  bank = g_ptr_array_index (sources, 1);
  g_assert_cmpint (bank->type, ==, OW_FUNDING_BANK_ACCOUNT);
  g_assert_cmpstr (bank->bank_code, ==, "004");

  g_assert_null (ow_funding_sources_parse (bad, &error));
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
  g_clear_error (&error);

  page = ow_history_page_parse (history, &error);
  g_assert_no_error (error);
  g_assert_true (page->has_more);
  g_assert_cmpuint (page->items->len, ==, 2);
  t = g_ptr_array_index (page->items, 0);
  g_assert_cmpstr (t->merchant_name, ==, "Demo Mall");
  g_assert_cmpint (t->amount, ==, -3000);
  t = g_ptr_array_index (page->items, 1);
  g_assert_cmpstr (t->funding_last4, ==, "9012");
  g_assert_cmpint (t->funding_type, ==, OW_FUNDING_BANK_ACCOUNT);
}

#define SUMMARY_JSON \
  "{\"id\":\"cs_1\",\"object\":\"checkout_session_summary\",\"status\":\"open\"," \
  "\"merchant\":{\"id\":\"mch_1\",\"name\":\"Onepin Tea House\"},\"order_id\":\"o-1\"," \
  "\"amount\":9000,\"currency\":\"krw\",\"items\":%s,\"description\":null," \
  "\"success_url\":%s,\"cancel_url\":null,\"expires_at\":2}"

/* The session as the gateway holds it, items (unit prices) as line totals;
 * what the approval dialog shows. */
static void
test_checkout_summary (void)
{
  g_autofree char *full = g_strdup_printf (SUMMARY_JSON,
                                           "[{\"name\":\"Tea cup\",\"quantity\":2,\"amount\":4000},"
                                           "{\"name\":\"Wrapping\",\"quantity\":1,\"amount\":1000}]",
                                           "\"https://mall.example/done\"");
  g_autofree char *bare = g_strdup_printf (SUMMARY_JSON, "null", "null");
  g_autofree char *bad_items = g_strdup_printf (SUMMARY_JSON, "[{\"name\":\"x\"}]", "null");
  g_autoptr(JsonObject) o1 = parse (full);
  g_autoptr(JsonObject) o2 = parse (bare);
  g_autoptr(JsonObject) o3 = parse (bad_items);
  g_autoptr(GError) error = NULL;
  g_autoptr(OwCheckoutSummary) summary = ow_checkout_summary_parse (o1, &error);
  g_autoptr(OwCheckoutSummary) no_items = NULL;
  g_autoptr(OwCheckoutSummary) refused = NULL;
  OwPurchaseItem *item;

  g_assert_no_error (error);
  g_assert_cmpstr (summary->merchant_name, ==, "Onepin Tea House");
  g_assert_cmpstr (summary->success_url, ==, "https://mall.example/done");
  g_assert_null (summary->cancel_url);
  g_assert_cmpuint (summary->items->len, ==, 2);
  item = g_ptr_array_index (summary->items, 0);
  g_assert_cmpstr (item->name, ==, "Tea cup");
  g_assert_cmpuint (item->quantity, ==, 2);
  g_assert_cmpint (item->amount, ==, 8000);

  no_items = ow_checkout_summary_parse (o2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (no_items->items->len, ==, 0);
  g_assert_null (no_items->success_url);

  refused = ow_checkout_summary_parse (o3, &error);
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
  g_assert_null (refused);
}

/* A relayed checkout is refused: the page forwarding it must be on the
 * origin of a URL the session names, and a session naming none is taken
 * from no page. */
static void
test_checkout_origin (void)
{
  OwCheckoutSummary summary = { .success_url = "https://mall.example/done?s=1" };
  OwCheckoutSummary cancel_only = { .cancel_url = "http://127.0.0.1:8084/cart" };
  OwCheckoutSummary none = { 0 };

  g_assert_true (ow_checkout_summary_is_from (&summary, "https://mall.example"));
  g_assert_true (ow_checkout_summary_is_from (&summary, "https://MALL.example:443"));
  g_assert_false (ow_checkout_summary_is_from (&summary, "https://mall.example:8443"));
  g_assert_false (ow_checkout_summary_is_from (&summary, "http://mall.example"));
  g_assert_false (ow_checkout_summary_is_from (&summary, "https://relay.example"));
  g_assert_true (ow_checkout_summary_is_from (&cancel_only, "http://127.0.0.1:8084"));
  g_assert_false (ow_checkout_summary_is_from (&cancel_only, "http://127.0.0.1:8085"));
  g_assert_false (ow_checkout_summary_is_from (&none, "https://mall.example"));
  g_assert_false (ow_checkout_summary_is_from (&none, "https://relay.example"));
}

static void
test_format_money (void)
{
  const struct
  {
    gint64      amount;
    const char *currency;
    const char *expected;
  } cases[] = {
    { 0, "krw", "₩0" },
    { 10000, "krw", "₩10,000" },
    { 1000000, "krw", "₩1,000,000" },
    { -3000, "krw", "−₩3,000" },
    { 999, "krw", "₩999" },
    { 1234, "usd", "USD 12.34" },
    { -5, "usd", "−USD 0.05" },
    { G_MININT64, "krw", "−₩9,223,372,036,854,775,808" },
    { G_MAXINT64, "krw", "₩9,223,372,036,854,775,807" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = ow_format_money (cases[i].amount, cases[i].currency);

      g_assert_cmpstr (text, ==, cases[i].expected);
    }
}

static void
test_purchase (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwPurchase) purchase = ow_purchase_new_from_json (
    "{\"merchant\":\"데모 몰\",\"order_id\":\"A-1\",\"amount\":35000,\"currency\":\"krw\","
    "\"items\":[{\"name\":\"책\",\"quantity\":2,\"amount\":35000}]}", &error);
  g_autoptr(OwPurchase) copy = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (purchase->merchant, ==, "데모 몰");
  g_assert_cmpint (purchase->amount, ==, 35000);
  g_assert_cmpuint (purchase->items->len, ==, 1);
  copy = ow_purchase_copy (purchase);
  g_assert_cmpstr (((OwPurchaseItem *) g_ptr_array_index (copy->items, 0))->name, ==, "책");
}

static void
test_purchase_refused (void)
{
  static const struct
  {
    const char *json;
    const char *field;
  } cases[] = {
    { "{\"order_id\":\"1\",\"amount\":1,\"currency\":\"krw\"}", "merchant" },
    { "{\"merchant\":\"\",\"order_id\":\"1\",\"amount\":1,\"currency\":\"krw\"}", "merchant" },
    { "{\"merchant\":\"a\\nb\",\"order_id\":\"1\",\"amount\":1,\"currency\":\"krw\"}", "merchant" },
    /* the dialog shows what the mall sent: nothing hidden or turned around */
    { "{\"merchant\":\"\\u202ellaM\",\"order_id\":\"1\",\"amount\":1,\"currency\":\"krw\"}",
      "merchant" },
    { "{\"merchant\":\"M\\u200bM\",\"order_id\":\"1\",\"amount\":1,\"currency\":\"krw\"}",
      "merchant" },
    { "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":5,\"currency\":\"krw\","
      "\"items\":[{\"name\":\"\\u2066x\",\"quantity\":1,\"amount\":5}]}", "items" },
    { "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":0,\"currency\":\"krw\"}", "amount" },
    { "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":-5,\"currency\":\"krw\"}", "amount" },
    { "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":\"5\",\"currency\":\"krw\"}", "amount" },
    { "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":5,\"currency\":\"KRW\"}", "currency" },
    { "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":5,\"currency\":\"xxx\"}", "currency" },
    { "{\"merchant\":\"M\",\"order_id\":\"\",\"amount\":5,\"currency\":\"krw\"}", "order_id" },
    { "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":5,\"currency\":\"krw\",\"card\":\"x\"}", "card" },
    { "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":5,\"currency\":\"krw\","
      "\"items\":[{\"name\":\"x\",\"quantity\":0,\"amount\":5}]}", "items" },
    { "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":5,\"currency\":\"krw\","
      "\"items\":[{\"name\":\"x\",\"quantity\":1,\"amount\":5,\"extra\":1}]}", "items" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(OwPurchase) purchase = ow_purchase_new_from_json (cases[i].json, &error);

      g_test_message ("%s", cases[i].json);
      g_assert_null (purchase);
      g_assert_error (error, OW_PURCHASE_ERROR, OW_PURCHASE_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, cases[i].field));
    }

  /* more items than a dialog should list */
  {
    g_autoptr(GString) json = g_string_new ("{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":5,"
                                            "\"currency\":\"krw\",\"items\":[");
    g_autoptr(GError) error = NULL;
    g_autoptr(OwPurchase) purchase = NULL;

    for (guint i = 0; i <= OW_PURCHASE_MAX_ITEMS; i++)
      g_string_append_printf (json, "%s{\"name\":\"x\",\"quantity\":1,\"amount\":0}", i ? "," : "");
    g_string_append (json, "]}");
    purchase = ow_purchase_new_from_json (json->str, &error);
    g_assert_null (purchase);
    g_assert_error (error, OW_PURCHASE_ERROR, OW_PURCHASE_ERROR_INVALID);
  }

  /* not JSON at all */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(OwPurchase) purchase = ow_purchase_new_from_json ("{\"merchant\":", &error);

    g_assert_null (purchase);
    g_assert_nonnull (error);
  }
}

/* The Korean catalogue, as built: money reads the Korean way. */
static void
test_korean (void)
{
  const char *dir = g_getenv ("ONEPIN_LOCALEDIR");
  g_autofree char *money = NULL;
  g_autofree char *negative = NULL;

  if (dir == NULL)
    {
      g_test_skip ("ONEPIN_LOCALEDIR is not set");
      return;
    }
  bindtextdomain ("onepin-wallet", dir);
  bind_textdomain_codeset ("onepin-wallet", "UTF-8");
  g_setenv ("LANGUAGE", "ko", TRUE);
  money = ow_format_money (10000, "krw");
  negative = ow_format_money (-3000, "krw");
  g_setenv ("LANGUAGE", "C", TRUE);

  g_assert_cmpstr (money, ==, "10,000원");
  g_assert_cmpstr (negative, ==, "−3,000원");
}

int
main (int    argc,
      char **argv)
{
  /* the English texts; translations are checked by msgfmt */
  g_setenv ("LANGUAGE", "C", TRUE);
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/model/card", test_card);
  g_test_add_func ("/model/card-malformed", test_card_malformed);
  g_test_add_func ("/model/funding-and-history", test_funding_and_history);
  g_test_add_func ("/model/calling-numbers", test_calling_numbers);
  g_test_add_func ("/model/checkout-summary", test_checkout_summary);
  g_test_add_func ("/model/checkout-origin", test_checkout_origin);
  g_test_add_func ("/model/format-money", test_format_money);
  g_test_add_func ("/model/korean", test_korean);
  g_test_add_func ("/purchase/parse", test_purchase);
  g_test_add_func ("/purchase/refused", test_purchase_refused);

  return g_test_run ();
}
