/* test-iso8583.c: unit tests for onepin-iso8583, the card network's format
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "onepin-shared.h"

static JsonObject *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonObject *object = onepin_json_parse_object (text, strlen (text), &error);

  g_assert_no_error (error);
  return object;
}

#define PURCHASE \
  "\"mti\":\"0100\",\"2\":\"9420001234567897\",\"3\":\"000000\",\"4\":\"000000012000\"," \
  "\"7\":\"1121214530\",\"11\":\"000123\",\"14\":\"3111\",\"18\":\"5999\",\"32\":\"990\"," \
  "\"37\":\"511221000123\",\"42\":\"plain-shop\"," \
  "\"43\":\"Plain Shop               Seoul        KR\",\"49\":\"410\""

static void
assert_refused (const char *text,
                const char *field)
{
  g_autoptr(JsonObject) message = parse (text);
  g_autoptr(GError) error = NULL;
  const char *bad = NULL;

  g_assert_false (onepin_iso_check (message, FALSE, &bad, &error));
  g_assert_error (error, ONEPIN_ISO_ERROR, ONEPIN_ISO_ERROR_FORMAT);
  g_assert_cmpstr (bad, ==, field);
}

static void
test_check_requests (void)
{
  g_autoptr(JsonObject) ok = parse ("{" PURCHASE ",\"cvc2\":\"123\"}");
  g_autoptr(JsonObject) refund = parse ("{\"mti\":\"0200\",\"3\":\"200000\","
                                        "\"4\":\"000000001000\",\"7\":\"1121214530\","
                                        "\"11\":\"000124\",\"32\":\"990\","
                                        "\"37\":\"511221000124\",\"42\":\"plain-shop\","
                                        "\"49\":\"410\",\"90\":\"010000012311212145300000000"
                                        "099000000000000\"}");
  g_autoptr(GError) error = NULL;

  g_assert_true (onepin_iso_check (ok, FALSE, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (onepin_iso_check (refund, FALSE, NULL, &error));
  g_assert_no_error (error);

  assert_refused ("{" PURCHASE "}", "cvc2");
  assert_refused ("{" PURCHASE ",\"cvc2\":\"12\"}", "cvc2");
  assert_refused ("{" PURCHASE ",\"cvc2\":\"123\",\"99\":\"x\"}", "99");
  assert_refused ("{" PURCHASE ",\"cvc2\":123}", "cvc2");
  assert_refused ("{" PURCHASE ",\"cvc2\":\"123\",\"39\":\"00\"}", "39");
  assert_refused ("{\"mti\":\"0110\",\"3\":\"000000\"}", "mti");
  assert_refused ("{\"mti\":\"0800\"}", "mti");
  assert_refused ("{\"2\":\"9420001234567897\"}", "mti");
  /* Amounts are twelve digits; names and locations forty characters. */
  assert_refused ("{\"mti\":\"0100\",\"4\":\"12000\"}", "4");
  assert_refused ("{\"mti\":\"0100\",\"43\":\"short\"}", "43");
  assert_refused ("{\"mti\":\"0100\",\"42\":\"tab\\there\"}", "42");
  /* The acceptor's name becomes a merchant's name on statements: nothing
   * that hides or turns text around (onepin-text.c), 40 characters all the same. */
  assert_refused ("{\"mti\":\"0100\",\"43\":\"\\u202eesuoH nikiN             Seoul        KR\"}", "43");
  assert_refused ("{\"mti\":\"0100\",\"43\":\"Plain\\u2028Shop               Seoul        KR\"}", "43");
  assert_refused ("{\"mti\":\"0100\",\"43\":\"\\u3164                        Seoul        KR\"}", "43");
  assert_refused ("{\"mti\":\"0100\",\"37\":\"51122100012-\"}", "37");
  /* A refund is not an authorization; only purchases carry the CVC. */
  assert_refused ("{\"mti\":\"0100\",\"3\":\"200000\"}", "3");
  assert_refused ("{\"mti\":\"0100\",\"3\":\"310000\"}", "3");
  assert_refused ("{\"mti\":\"0400\",\"3\":\"000000\",\"cvc2\":\"123\"}", "cvc2");
  /* A follow-up needs the original's data elements. */
  assert_refused ("{\"mti\":\"0220\",\"3\":\"000000\",\"4\":\"000000001000\","
                  "\"7\":\"1121214530\",\"11\":\"000124\",\"32\":\"990\","
                  "\"37\":\"511221000124\",\"42\":\"plain-shop\",\"49\":\"410\"}", "90");
}

static void
test_check_response (void)
{
  g_autoptr(JsonObject) ok = parse ("{\"mti\":\"0110\",\"7\":\"1121214530\",\"11\":\"000123\","
                                    "\"37\":\"511221000123\",\"38\":\"A1B2C3\",\"39\":\"00\"}");
  g_autoptr(JsonObject) bad = parse ("{\"mti\":\"0110\",\"7\":\"1121214530\","
                                     "\"11\":\"000123\",\"37\":\"511221000123\"}");
  const char *field = NULL;

  g_assert_true (onepin_iso_check (ok, TRUE, NULL, NULL));
  g_assert_false (onepin_iso_check (bad, TRUE, &field, NULL));
  g_assert_cmpstr (field, ==, "39");
}

static void
test_types_and_texts (void)
{
  g_assert_cmpstr (onepin_iso_response_type ("0100"), ==, "0110");
  g_assert_cmpstr (onepin_iso_response_type ("0200"), ==, "0210");
  g_assert_cmpstr (onepin_iso_response_type ("0220"), ==, "0230");
  g_assert_cmpstr (onepin_iso_response_type ("0400"), ==, "0410");
  g_assert_cmpstr (onepin_iso_response_type ("0420"), ==, "0430");
  g_assert_null (onepin_iso_response_type ("0110"));
  g_assert_null (onepin_iso_response_type (NULL));
  g_assert_cmpstr (onepin_iso_response_text ("51"), ==, "insufficient funds");
  g_assert_cmpstr (onepin_iso_response_text ("XX"), ==, "unknown response");
}

static void
test_amount (void)
{
  g_autofree char *text = onepin_iso_amount_format (12000);
  gint64 amount = 0;

  g_assert_cmpstr (text, ==, "000000012000");
  g_assert_true (onepin_iso_amount_parse (text, &amount));
  g_assert_cmpint (amount, ==, 12000);
  g_assert_true (onepin_iso_amount_parse ("999999999999", &amount));
  g_assert_cmpint (amount, ==, G_GINT64_CONSTANT (999999999999));
  g_assert_false (onepin_iso_amount_parse ("12000", &amount));
  g_assert_false (onepin_iso_amount_parse ("-00000012000", &amount));
  g_assert_false (onepin_iso_amount_parse ("+00000012000", &amount));
  g_assert_false (onepin_iso_amount_parse (NULL, &amount));
}

static void
test_time (void)
{
  /* 2026-11-21 21:45:30 UTC */
  gint64 now = 1795297530;
  g_autofree char *text = onepin_iso_time_format (now);
  gint64 parsed = 0;

  g_assert_cmpstr (text, ==, "1121214530");
  g_assert_true (onepin_iso_time_parse (text, now + 100, &parsed));
  g_assert_cmpint (parsed, ==, now);
  /* Sent on 31 December, read on 1 January: last year's. */
  g_assert_true (onepin_iso_time_parse ("1231235959", 1798761600 + 5, &parsed));
  g_assert_cmpint (parsed, ==, 1798761599);
  g_assert_false (onepin_iso_time_parse ("1321214530", now, &parsed));
  g_assert_false (onepin_iso_time_parse ("1121244530", now, &parsed));
  g_assert_false (onepin_iso_time_parse ("112121453", now, &parsed));
}

static void
test_name_location (void)
{
  g_autofree char *field = onepin_iso_name_location ("Plain Shop", "Seoul", "KR");
  g_autofree char *korean = onepin_iso_name_location ("한국 상점 이름이 아주 아주 아주 긴 가게입니다",
                                                      "서울특별시 강남구 역삼동", "KR");
  g_autofree char *name = onepin_iso_merchant_name (field);
  g_autofree char *korean_name = onepin_iso_merchant_name (korean);

  g_assert_cmpint (strlen (field), ==, 40);
  g_assert_cmpstr (field, ==, "Plain Shop               Seoul        KR");
  g_assert_cmpint (g_utf8_strlen (korean, -1), ==, 40);
  g_assert_cmpstr (name, ==, "Plain Shop");
  g_assert_cmpint (g_utf8_strlen (korean_name, -1), ==, 25);
  g_assert_true (g_str_has_prefix (korean_name, "한국 상점"));
}

static void
test_original (void)
{
  g_autofree char *field = onepin_iso_original_format ("0100", "000123", "1121214530", "990");
  char mti[5], stan[7], transmitted[11], acquirer[12];

  g_assert_cmpstr (field, ==, "010000012311212145300000000099000000000000");
  g_assert_true (onepin_iso_original_parse (field, mti, stan, transmitted, acquirer));
  g_assert_cmpstr (mti, ==, "0100");
  g_assert_cmpstr (stan, ==, "000123");
  g_assert_cmpstr (transmitted, ==, "1121214530");
  g_assert_cmpstr (acquirer, ==, "990");
  g_assert_false (onepin_iso_original_parse ("0100", mti, stan, transmitted, acquirer));
}

static void
test_currency (void)
{
  g_autofree char *expiry = onepin_iso_expiry_format (2031, 1);

  g_assert_cmpstr (onepin_iso_currency_alpha ("410"), ==, "krw");
  g_assert_cmpstr (onepin_iso_currency_numeric ("krw"), ==, "410");
  g_assert_null (onepin_iso_currency_alpha ("999"));
  g_assert_null (onepin_iso_currency_numeric ("xts"));
  g_assert_cmpstr (expiry, ==, "3101");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/iso8583/check-requests", test_check_requests);
  g_test_add_func ("/iso8583/check-response", test_check_response);
  g_test_add_func ("/iso8583/types-and-texts", test_types_and_texts);
  g_test_add_func ("/iso8583/amount", test_amount);
  g_test_add_func ("/iso8583/time", test_time);
  g_test_add_func ("/iso8583/name-location", test_name_location);
  g_test_add_func ("/iso8583/original", test_original);
  g_test_add_func ("/iso8583/currency", test_currency);
  return g_test_run ();
}
