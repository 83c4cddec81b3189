/* test-money.c: unit tests for onepin-money
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-shared.h"

static void
test_checked_add (void)
{
  gint64 r = 42;

  g_assert_true (onepin_int64_add_checked (1, 2, &r));
  g_assert_cmpint (r, ==, 3);
  g_assert_true (onepin_int64_add_checked (G_MAXINT64 - 1, 1, &r));
  g_assert_cmpint (r, ==, G_MAXINT64);
  g_assert_true (onepin_int64_add_checked (G_MININT64, G_MAXINT64, &r));
  g_assert_cmpint (r, ==, -1);

  /* On overflow the output is left alone. */
  r = 42;
  g_assert_false (onepin_int64_add_checked (G_MAXINT64, 1, &r));
  g_assert_false (onepin_int64_add_checked (G_MAXINT64, G_MAXINT64, &r));
  g_assert_false (onepin_int64_add_checked (G_MININT64, -1, &r));
  g_assert_cmpint (r, ==, 42);
}

static void
test_checked_sub (void)
{
  gint64 r = 42;

  g_assert_true (onepin_int64_sub_checked (5, 7, &r));
  g_assert_cmpint (r, ==, -2);
  g_assert_true (onepin_int64_sub_checked (-1, G_MAXINT64, &r));
  g_assert_cmpint (r, ==, G_MININT64);

  r = 42;
  g_assert_false (onepin_int64_sub_checked (G_MININT64, 1, &r));
  g_assert_false (onepin_int64_sub_checked (0, G_MININT64, &r));
  g_assert_false (onepin_int64_sub_checked (G_MAXINT64, -1, &r));
  g_assert_cmpint (r, ==, 42);
}

static void
test_checked_mul (void)
{
  gint64 r = 42;

  g_assert_true (onepin_int64_mul_checked (-3, 7, &r));
  g_assert_cmpint (r, ==, -21);
  g_assert_true (onepin_int64_mul_checked (G_MAXINT64, -1, &r));
  g_assert_cmpint (r, ==, -G_MAXINT64);
  g_assert_true (onepin_int64_mul_checked (G_GINT64_CONSTANT (3037000499),
                                           G_GINT64_CONSTANT (3037000499), &r));
  g_assert_cmpint (r, ==, G_GINT64_CONSTANT (9223372030926249001));

  r = 42;
  g_assert_false (onepin_int64_mul_checked (G_MININT64, -1, &r));
  g_assert_false (onepin_int64_mul_checked (G_MAXINT64, 2, &r));
  g_assert_false (onepin_int64_mul_checked (G_GINT64_CONSTANT (3037000500),
                                            G_GINT64_CONSTANT (3037000500), &r));
  g_assert_cmpint (r, ==, 42);
}

static void
test_currency_table (void)
{
  static const struct
  {
    const char *code;
    int         exponent;
  } known[] = {
    { "krw", 0 }, { "jpy", 0 }, { "usd", 2 }, { "eur", 2 }, { "cny", 2 },
    { "gbp", 2 }, { "aud", 2 }, { "cad", 2 }, { "chf", 2 }, { "hkd", 2 },
    { "sgd", 2 }, { "twd", 2 }, { "thb", 2 }, { "inr", 2 }, { "vnd", 0 },
    { "isk", 0 }, { "clp", 0 }, { "kwd", 3 }, { "bhd", 3 }, { "omr", 3 },
    { "jod", 3 }, { "tnd", 3 },
  };
  static const char *const unknown[] = {
    "", "k", "kr", "KRW", "Krw", "krwx", "xxx", "abc", "usd ", " usd", "us",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    {
      g_assert_true (onepin_currency_is_known (known[i].code));
      g_assert_cmpint (onepin_currency_exponent (known[i].code), ==, known[i].exponent);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      g_assert_false (onepin_currency_is_known (unknown[i]));
      g_assert_cmpint (onepin_currency_exponent (unknown[i]), ==, -1);
    }
  g_assert_false (onepin_currency_is_known (NULL));
  g_assert_cmpint (onepin_currency_exponent (NULL), ==, -1);
}

static void
test_init (void)
{
  OnepinMoney m = { 7, "usd" };
  g_autoptr(GError) error = NULL;

  g_assert_true (onepin_money_init (&m, 5000, "krw", &error));
  g_assert_no_error (error);
  g_assert_cmpint (m.amount, ==, 5000);
  g_assert_cmpstr (m.currency, ==, "krw");

  g_assert_false (onepin_money_init (&m, 1, "KRW", &error));
  g_assert_error (error, ONEPIN_MONEY_ERROR, ONEPIN_MONEY_ERROR_INVALID_CURRENCY);
  g_clear_error (&error);
  g_assert_false (onepin_money_init (&m, 1, NULL, &error));
  g_assert_error (error, ONEPIN_MONEY_ERROR, ONEPIN_MONEY_ERROR_INVALID_CURRENCY);
  /* A failed init leaves the value as it was. */
  g_assert_cmpint (m.amount, ==, 5000);
  g_assert_cmpstr (m.currency, ==, "krw");
}

static void
test_add_sub (void)
{
  OnepinMoney a, b, c, out = { 99, "eur" };
  g_autoptr(GError) error = NULL;

  g_assert_true (onepin_money_init (&a, 5000, "krw", NULL));
  g_assert_true (onepin_money_init (&b, 1500, "krw", NULL));
  g_assert_true (onepin_money_init (&c, 1500, "usd", NULL));

  g_assert_true (onepin_money_add (&a, &b, &out, &error));
  g_assert_no_error (error);
  g_assert_cmpint (out.amount, ==, 6500);
  g_assert_cmpstr (out.currency, ==, "krw");

  g_assert_true (onepin_money_sub (&b, &a, &out, &error));
  g_assert_cmpint (out.amount, ==, -3500);

  /* The output may alias an input. */
  g_assert_true (onepin_money_add (&a, &a, &a, &error));
  g_assert_cmpint (a.amount, ==, 10000);

  out.amount = 99;
  g_assert_false (onepin_money_add (&a, &c, &out, &error));
  g_assert_error (error, ONEPIN_MONEY_ERROR, ONEPIN_MONEY_ERROR_CURRENCY_MISMATCH);
  g_clear_error (&error);
  g_assert_false (onepin_money_sub (&c, &a, &out, &error));
  g_assert_error (error, ONEPIN_MONEY_ERROR, ONEPIN_MONEY_ERROR_CURRENCY_MISMATCH);
  g_clear_error (&error);
  g_assert_cmpint (out.amount, ==, 99);
}

static void
test_overflow (void)
{
  OnepinMoney max, one, min, out = { 99, "usd" };
  g_autoptr(GError) error = NULL;

  g_assert_true (onepin_money_init (&max, G_MAXINT64, "usd", NULL));
  g_assert_true (onepin_money_init (&one, 1, "usd", NULL));
  g_assert_true (onepin_money_init (&min, G_MININT64, "usd", NULL));

  g_assert_false (onepin_money_add (&max, &one, &out, &error));
  g_assert_error (error, ONEPIN_MONEY_ERROR, ONEPIN_MONEY_ERROR_OVERFLOW);
  g_clear_error (&error);
  g_assert_false (onepin_money_sub (&min, &one, &out, &error));
  g_assert_error (error, ONEPIN_MONEY_ERROR, ONEPIN_MONEY_ERROR_OVERFLOW);
  g_clear_error (&error);
  g_assert_cmpint (out.amount, ==, 99);

  g_assert_true (onepin_money_sub (&max, &one, &out, &error));
  g_assert_cmpint (out.amount, ==, G_MAXINT64 - 1);
  g_assert_true (onepin_money_add (&min, &max, &out, &error));
  g_assert_cmpint (out.amount, ==, -1);
}

static void
test_equal (void)
{
  OnepinMoney a, b, c, d;

  g_assert_true (onepin_money_init (&a, 1234, "usd", NULL));
  g_assert_true (onepin_money_init (&b, 1234, "usd", NULL));
  g_assert_true (onepin_money_init (&c, 1234, "eur", NULL));
  g_assert_true (onepin_money_init (&d, 1235, "usd", NULL));

  g_assert_true (onepin_money_equal (&a, &b));
  g_assert_false (onepin_money_equal (&a, &c));
  g_assert_false (onepin_money_equal (&a, &d));
}

static void
assert_format (gint64      amount,
               const char *currency,
               const char *expected)
{
  OnepinMoney m;
  g_autofree char *text = NULL;

  g_assert_true (onepin_money_init (&m, amount, currency, NULL));
  text = onepin_money_format (&m);
  g_assert_cmpstr (text, ==, expected);
}

static void
test_format (void)
{
  assert_format (5000, "krw", "5,000 KRW");
  assert_format (0, "krw", "0 KRW");
  assert_format (999, "krw", "999 KRW");
  assert_format (1000000, "jpy", "1,000,000 JPY");
  assert_format (-5000, "krw", "-5,000 KRW");
  assert_format (1234, "usd", "12.34 USD");
  assert_format (5, "usd", "0.05 USD");
  assert_format (-5, "usd", "-0.05 USD");
  assert_format (-1234, "eur", "-12.34 EUR");
  assert_format (123456789, "usd", "1,234,567.89 USD");
  assert_format (100, "gbp", "1.00 GBP");
  assert_format (1234, "kwd", "1.234 KWD");
  assert_format (5, "bhd", "0.005 BHD");
  assert_format (G_MAXINT64, "krw", "9,223,372,036,854,775,807 KRW");
  assert_format (G_MININT64, "usd", "-92,233,720,368,547,758.08 USD");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/money/checked/add", test_checked_add);
  g_test_add_func ("/money/checked/sub", test_checked_sub);
  g_test_add_func ("/money/checked/mul", test_checked_mul);
  g_test_add_func ("/money/currency-table", test_currency_table);
  g_test_add_func ("/money/init", test_init);
  g_test_add_func ("/money/add-sub", test_add_sub);
  g_test_add_func ("/money/overflow", test_overflow);
  g_test_add_func ("/money/equal", test_equal);
  g_test_add_func ("/money/format", test_format);

  return g_test_run ();
}
