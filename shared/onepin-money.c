/* onepin-money.c: amounts as int64 minor units plus an ISO 4217 currency
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-money.h"

#include <string.h>

G_DEFINE_QUARK (onepin-money-error-quark, onepin_money_error)

typedef struct
{
  const char *code;
  int         exponent;
} CurrencyInfo;

/* ISO 4217 minor-unit exponents. Kept sorted by code so a reader can check
 * it against the standard's list at a glance; the lookup is linear because
 * the table is small. Add to it only with the exponent from ISO 4217 itself:
 * a wrong exponent silently scales every amount in that currency. */
static const CurrencyInfo currencies[] = {
  { "aed", 2 }, { "aud", 2 }, { "bhd", 3 }, { "brl", 2 }, { "cad", 2 },
  { "chf", 2 }, { "clp", 0 }, { "cny", 2 }, { "czk", 2 }, { "dkk", 2 },
  { "eur", 2 }, { "gbp", 2 }, { "hkd", 2 }, { "huf", 2 }, { "idr", 2 },
  { "ils", 2 }, { "inr", 2 }, { "isk", 0 }, { "jod", 3 }, { "jpy", 0 },
  { "krw", 0 }, { "kwd", 3 }, { "mxn", 2 }, { "myr", 2 }, { "nok", 2 },
  { "nzd", 2 }, { "omr", 3 }, { "php", 2 }, { "pln", 2 }, { "sar", 2 },
  { "sek", 2 }, { "sgd", 2 }, { "thb", 2 }, { "tnd", 3 }, { "try", 2 },
  { "twd", 2 }, { "usd", 2 }, { "vnd", 0 }, { "zar", 2 },
};

static const CurrencyInfo *
currency_lookup (const char *code)
{
  if (code == NULL)
    return NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (currencies); i++)
    {
      /* strcmp also rejects longer strings and other cases ("KRW", "krwx"). */
      if (strcmp (currencies[i].code, code) == 0)
        return &currencies[i];
    }

  return NULL;
}

gboolean
onepin_currency_is_known (const char *code)
{
  return currency_lookup (code) != NULL;
}

/* Returns the number of minor-unit digits, or -1 for an unknown code. */
int
onepin_currency_exponent (const char *code)
{
  const CurrencyInfo *info = currency_lookup (code);

  return info != NULL ? info->exponent : -1;
}

gboolean
onepin_int64_add_checked (gint64  a,
                          gint64  b,
                          gint64 *out)
{
  gint64 r;

  if (__builtin_add_overflow (a, b, &r))
    return FALSE;
  *out = r;
  return TRUE;
}

gboolean
onepin_int64_sub_checked (gint64  a,
                          gint64  b,
                          gint64 *out)
{
  gint64 r;

  if (__builtin_sub_overflow (a, b, &r))
    return FALSE;
  *out = r;
  return TRUE;
}

gboolean
onepin_int64_mul_checked (gint64  a,
                          gint64  b,
                          gint64 *out)
{
  gint64 r;

  if (__builtin_mul_overflow (a, b, &r))
    return FALSE;
  *out = r;
  return TRUE;
}

static gboolean
check_currency (const char  *currency,
                GError     **error)
{
  if (onepin_currency_is_known (currency))
    return TRUE;

  /* The code comes from requests, so it may be anything: don't echo it. */
  g_set_error_literal (error, ONEPIN_MONEY_ERROR, ONEPIN_MONEY_ERROR_INVALID_CURRENCY,
                       "Unknown or malformed currency code");
  return FALSE;
}

gboolean
onepin_money_init (OnepinMoney  *money,
                   gint64        amount,
                   const char   *currency,
                   GError      **error)
{
  g_return_val_if_fail (money != NULL, FALSE);

  if (!check_currency (currency, error))
    return FALSE;

  money->amount = amount;
  memcpy (money->currency, currency, sizeof money->currency);
  return TRUE;
}

/* Shared by add and sub: both operands must be in the same known currency. */
static gboolean
check_same_currency (const OnepinMoney  *a,
                     const OnepinMoney  *b,
                     GError            **error)
{
  if (!check_currency (a->currency, error))
    return FALSE;

  if (strcmp (a->currency, b->currency) != 0)
    {
      g_set_error_literal (error, ONEPIN_MONEY_ERROR, ONEPIN_MONEY_ERROR_CURRENCY_MISMATCH,
                           "Cannot combine amounts in different currencies");
      return FALSE;
    }

  return TRUE;
}

static gboolean
set_overflow (GError **error)
{
  g_set_error_literal (error, ONEPIN_MONEY_ERROR, ONEPIN_MONEY_ERROR_OVERFLOW,
                       "Amount out of range");
  return FALSE;
}

/* @out may alias @a or @b: it is written only once the result is known. */
gboolean
onepin_money_add (const OnepinMoney  *a,
                  const OnepinMoney  *b,
                  OnepinMoney        *out,
                  GError            **error)
{
  gint64 sum;

  g_return_val_if_fail (a != NULL && b != NULL && out != NULL, FALSE);

  if (!check_same_currency (a, b, error))
    return FALSE;
  if (!onepin_int64_add_checked (a->amount, b->amount, &sum))
    return set_overflow (error);

  memmove (out->currency, a->currency, sizeof out->currency);
  out->amount = sum;
  return TRUE;
}

gboolean
onepin_money_sub (const OnepinMoney  *a,
                  const OnepinMoney  *b,
                  OnepinMoney        *out,
                  GError            **error)
{
  gint64 diff;

  g_return_val_if_fail (a != NULL && b != NULL && out != NULL, FALSE);

  if (!check_same_currency (a, b, error))
    return FALSE;
  if (!onepin_int64_sub_checked (a->amount, b->amount, &diff))
    return set_overflow (error);

  memmove (out->currency, a->currency, sizeof out->currency);
  out->amount = diff;
  return TRUE;
}

gboolean
onepin_money_equal (const OnepinMoney *a,
                    const OnepinMoney *b)
{
  if (a == NULL || b == NULL)
    return a == b;

  return a->amount == b->amount &&
         strncmp (a->currency, b->currency, sizeof a->currency) == 0;
}

/* Appends the decimal digits of @value with a comma every three digits. */
static void
append_grouped (GString *out,
                guint64  value)
{
  char digits[32];
  int n = g_snprintf (digits, sizeof digits, "%" G_GUINT64_FORMAT, value);

  for (int i = 0; i < n; i++)
    {
      if (i > 0 && (n - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }
}

/* "5,000 KRW", "-12.34 USD", "1.234 KWD". An unknown currency (only possible
 * if the struct was filled by hand) is shown with no minor units. */
char *
onepin_money_format (const OnepinMoney *money)
{
  GString *out;
  guint64 magnitude, scale = 1;
  int exponent;
  g_autofree char *upper = NULL;

  g_return_val_if_fail (money != NULL, NULL);

  exponent = MAX (onepin_currency_exponent (money->currency), 0);
  for (int i = 0; i < exponent; i++)
    scale *= 10;

  /* Negate in unsigned arithmetic so G_MININT64 does not overflow. */
  magnitude = money->amount < 0 ? -(guint64) money->amount : (guint64) money->amount;

  out = g_string_new (NULL);
  if (money->amount < 0)
    g_string_append_c (out, '-');
  append_grouped (out, magnitude / scale);
  if (exponent > 0)
    g_string_append_printf (out, ".%0*" G_GUINT64_FORMAT, exponent, magnitude % scale);

  upper = g_ascii_strup (money->currency, strnlen (money->currency, sizeof money->currency));
  g_string_append_printf (out, " %s", upper);

  return g_string_free (out, FALSE);
}
