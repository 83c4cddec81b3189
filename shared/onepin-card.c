/* onepin-card.c: 16-digit card numbers: Luhn, generation, masking
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-card.h"
#include "onepin-crypto.h"

#include <string.h>

G_DEFINE_QUARK (onepin-card-error-quark, onepin_card_error)

static gboolean
all_digits (const char *s)
{
  for (; *s != '\0'; s++)
    {
      if (!g_ascii_isdigit (*s))
        return FALSE;
    }
  return TRUE;
}

/* The Luhn sum of @digits, doubling every second digit counted from the
 * right; @double_last says whether the rightmost digit is doubled (it is
 * when computing a check digit that will be appended after it). */
static guint
luhn_sum (const char *digits,
          gsize       len,
          gboolean    double_last)
{
  guint sum = 0;
  gboolean dbl = double_last;

  for (gsize i = len; i > 0; i--)
    {
      guint d = (guint) (digits[i - 1] - '0');

      if (dbl)
        d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
      dbl = !dbl;
    }

  return sum;
}

gboolean
onepin_card_luhn_valid (const char *digits)
{
  gsize len;

  if (digits == NULL || !all_digits (digits))
    return FALSE;

  len = strlen (digits);
  if (len < 2)
    return FALSE;

  return luhn_sum (digits, len, FALSE) % 10 == 0;
}

char
onepin_card_luhn_check_digit (const char *digits)
{
  if (digits == NULL || !all_digits (digits))
    return 0;

  return (char) ('0' + (10 - luhn_sum (digits, strlen (digits), TRUE) % 10) % 10);
}

gboolean
onepin_card_number_is_valid (const char *number)
{
  return number != NULL &&
         strlen (number) == ONEPIN_CARD_NUMBER_LEN &&
         onepin_card_luhn_valid (number);
}

/* Fills @out[0..n) with uniformly distributed ASCII digits. A random byte
 * is used only if it is below 250, the largest multiple of 10 that fits in
 * a byte, so that "byte % 10" favours no digit. */
static gboolean
random_digits (char     *out,
               gsize     n,
               GError  **error)
{
  guint8 pool[32];
  gsize used = sizeof pool, filled = 0;
  gboolean ok = TRUE;

  while (filled < n)
    {
      if (used == sizeof pool)
        {
          g_autoptr(GError) local_error = NULL;

          if (!onepin_crypto_random (pool, sizeof pool, &local_error))
            {
              g_set_error (error, ONEPIN_CARD_ERROR, ONEPIN_CARD_ERROR_RANDOM,
                           "Cannot draw random digits: %s", local_error->message);
              ok = FALSE;
              break;
            }
          used = 0;
        }

      if (pool[used] < 250)
        out[filled++] = (char) ('0' + pool[used] % 10);
      used++;
    }

  /* The pool held digits of a card number. */
  explicit_bzero (pool, sizeof pool);
  return ok;
}

char *
onepin_card_number_generate (const char  *prefix,
                             GError     **error)
{
  g_autofree char *number = NULL;
  gsize prefix_len;

  if (prefix == NULL)
    prefix = "";

  prefix_len = strlen (prefix);
  if (prefix_len >= ONEPIN_CARD_NUMBER_LEN || !all_digits (prefix))
    {
      g_set_error (error, ONEPIN_CARD_ERROR, ONEPIN_CARD_ERROR_INVALID_PREFIX,
                   "A card prefix is 0 to %d digits", ONEPIN_CARD_NUMBER_LEN - 1);
      return NULL;
    }

  number = g_malloc0 (ONEPIN_CARD_NUMBER_LEN + 1);
  memcpy (number, prefix, prefix_len);

  if (!random_digits (number + prefix_len, ONEPIN_CARD_NUMBER_LEN - 1 - prefix_len, error))
    return NULL;

  number[ONEPIN_CARD_NUMBER_LEN - 1] = onepin_card_luhn_check_digit (number);

  return g_steal_pointer (&number);
}

/* Groups @number in fours from the left, showing only the last four
 * characters unless @show_all. Works for any length so that a malformed
 * number is still rendered (and masked) rather than dropped. */
static char *
group_in_fours (const char *number,
                gboolean    show_all)
{
  GString *out;
  gsize len;

  if (number == NULL)
    return NULL;

  len = strlen (number);
  out = g_string_sized_new (len * 4);

  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && i % 4 == 0)
        g_string_append_c (out, ' ');
      if (show_all || i + 4 >= len)
        g_string_append_c (out, number[i]);
      else
        g_string_append (out, "\u2022");
    }

  return g_string_free (out, FALSE);
}

char *
onepin_card_number_format (const char *number)
{
  return group_in_fours (number, TRUE);
}

char *
onepin_card_number_mask (const char *number)
{
  return group_in_fours (number, FALSE);
}

void
onepin_card_number_last4 (const char *number,
                          char        out[5])
{
  gsize len = number != NULL ? strlen (number) : 0;
  gsize n = MIN (len, 4);

  if (n > 0)
    memcpy (out, number + len - n, n);
  out[n] = '\0';
}
