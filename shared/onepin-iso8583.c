/* onepin-iso8583.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-iso8583.h"

#include <string.h>

#include "onepin-crypto.h"
#include "onepin-text.h"

G_DEFINE_QUARK (onepin-iso-error-quark, onepin_iso_error)

typedef enum
{
  DIGITS,                           /* n: decimal digits */
  ALNUM,                            /* an: ASCII letters and digits */
  TEXT,                             /* ans: display-safe UTF-8 (onepin-text.h) */
} Kind;

typedef struct
{
  const char *name;
  Kind        kind;
  guint       min;                  /* in characters */
  guint       max;
} FieldSpec;

static const FieldSpec specs[] = {
  { "mti",  DIGITS,  4,  4 },
  { "2",    DIGITS, 12, 19 },       /* primary account number */
  { "3",    DIGITS,  6,  6 },       /* processing code */
  { "4",    DIGITS, 12, 12 },       /* amount, minor units */
  { "7",    DIGITS, 10, 10 },       /* transmission date and time, MMDDhhmmss UTC */
  { "11",   DIGITS,  6,  6 },       /* system trace audit number */
  { "12",   DIGITS,  6,  6 },       /* local time, hhmmss */
  { "13",   DIGITS,  4,  4 },       /* local date, MMDD */
  { "14",   DIGITS,  4,  4 },       /* expiry, YYMM */
  { "18",   DIGITS,  4,  4 },       /* merchant category code */
  { "22",   DIGITS,  3,  3 },       /* point of service entry mode */
  { "32",   DIGITS,  1, 11 },       /* acquiring institution */
  { "37",   ALNUM,  12, 12 },       /* retrieval reference number */
  { "38",   ALNUM,   6,  6 },       /* authorization code */
  { "39",   ALNUM,   2,  2 },       /* response code */
  { "41",   TEXT,    1,  8 },       /* terminal */
  { "42",   TEXT,    1, 15 },       /* card acceptor (the merchant at its acquirer) */
  { "43",   TEXT,   40, 40 },       /* card acceptor name and location */
  { "49",   DIGITS,  3,  3 },       /* currency, ISO 4217 numeric */
  { "90",   DIGITS, 42, 42 },       /* original data elements */
  { "cvc2", DIGITS,  3,  4 },       /* card verification value, card not present */
};

static const char * const purchase_fields[] = {
  "2", "3", "4", "7", "11", "14", "18", "32", "37", "42", "43", "49", "cvc2", NULL
};
/* Completions, reversals and refunds find their original by field 90 and
 * carry no card number. */
static const char * const follow_up_fields[] = {
  "3", "4", "7", "11", "32", "37", "42", "49", "90", NULL
};
static const char * const response_fields[] = { "7", "11", "37", "39", NULL };

static const FieldSpec *
spec_for (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    if (g_str_equal (specs[i].name, name))
      return &specs[i];
  return NULL;
}

gboolean
onepin_iso_is_field (const char *name)
{
  return name != NULL && spec_for (name) != NULL;
}

static gboolean
value_fits (const FieldSpec *spec,
            const char      *value)
{
  glong chars = g_utf8_strlen (value, -1);

  if (chars < (glong) spec->min || chars > (glong) spec->max)
    return FALSE;
  /* Field 43 becomes a merchant's name on card holders' statements. */
  if (spec->kind == TEXT)
    return onepin_text_is_display_safe (value, ONEPIN_TEXT_ONE_LINE);
  for (const char *p = value; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (spec->kind == DIGITS && !g_ascii_isdigit (c))
        return FALSE;
      if (spec->kind == ALNUM && (c > 0x7f || !g_ascii_isalnum (c)))
        return FALSE;
    }
  return TRUE;
}

static gboolean
format_error (const char  *field,
              const char  *message,
              const char **bad_field,
              GError     **error)
{
  if (bad_field != NULL)
    *bad_field = field;
  g_set_error (error, ONEPIN_ISO_ERROR, ONEPIN_ISO_ERROR_FORMAT, "%s: %s", field, message);
  return FALSE;
}

static gboolean
check_members (JsonObject  *message,
               const char **bad_field,
               GError     **error)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  json_object_iter_init (&iter, message);
  while (json_object_iter_next (&iter, &name, &node))
    {
      const FieldSpec *spec = spec_for (name);

      if (spec == NULL)
        return format_error (name, "not a field of this network", bad_field, error);
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return format_error (name, "fields are strings", bad_field, error);
      if (!value_fits (spec, json_node_get_string (node)))
        return format_error (name, "ill-formed", bad_field, error);
    }
  return TRUE;
}

static gboolean
check_required (JsonObject          *message,
                const char * const  *required,
                const char         **bad_field,
                GError             **error)
{
  for (guint i = 0; required[i] != NULL; i++)
    if (!json_object_has_member (message, required[i]))
      return format_error (required[i], "missing", bad_field, error);
  return TRUE;
}

gboolean
onepin_iso_check (JsonObject  *message,
                  gboolean     response,
                  const char **bad_field,
                  GError     **error)
{
  const char *mti;
  const char *code;
  gboolean purchase;

  if (!check_members (message, bad_field, error))
    return FALSE;
  mti = onepin_iso_get (message, "mti");
  if (mti == NULL)
    return format_error ("mti", "missing", bad_field, error);
  if (response)
    return check_required (message, response_fields, bad_field, error);

  if (onepin_iso_response_type (mti) == NULL)
    return format_error ("mti", "not a request type of this network", bad_field, error);
  code = onepin_iso_get (message, "3");
  if (code != NULL && !g_str_equal (code, ONEPIN_ISO_PURCHASE) &&
      !g_str_equal (code, ONEPIN_ISO_REFUND))
    return format_error ("3", "only purchases (000000) and refunds (200000)", bad_field, error);
  if (json_object_has_member (message, "39"))
    return format_error ("39", "a response code in a request", bad_field, error);

  purchase = (g_str_equal (mti, ONEPIN_ISO_AUTH) || g_str_equal (mti, ONEPIN_ISO_FINANCIAL)) &&
             g_strcmp0 (code, ONEPIN_ISO_REFUND) != 0;
  if (g_str_equal (mti, ONEPIN_ISO_AUTH) && g_strcmp0 (code, ONEPIN_ISO_REFUND) == 0)
    return format_error ("3", "an authorization is a purchase", bad_field, error);
  if (!purchase && json_object_has_member (message, "cvc2"))
    return format_error ("cvc2", "only a purchase carries the card's CVC", bad_field, error);
  return check_required (message, purchase ? purchase_fields : follow_up_fields, bad_field,
                         error);
}

const char *
onepin_iso_get (JsonObject *message,
                const char *field)
{
  JsonNode *node = json_object_get_member (message, field);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

const char *
onepin_iso_response_type (const char *mti)
{
  static const char * const pairs[][2] = {
    { ONEPIN_ISO_AUTH, ONEPIN_ISO_AUTH_RESPONSE },
    { ONEPIN_ISO_FINANCIAL, ONEPIN_ISO_FINANCIAL_RESPONSE },
    { ONEPIN_ISO_COMPLETION, ONEPIN_ISO_COMPLETION_RESPONSE },
    { ONEPIN_ISO_REVERSAL, ONEPIN_ISO_REVERSAL_RESPONSE },
    { ONEPIN_ISO_REVERSAL_ADVICE, ONEPIN_ISO_REVERSAL_ADVICE_RESPONSE },
  };

  for (guint i = 0; mti != NULL && i < G_N_ELEMENTS (pairs); i++)
    if (g_str_equal (pairs[i][0], mti))
      return pairs[i][1];
  return NULL;
}

const char *
onepin_iso_response_text (const char *code)
{
  static const char * const texts[][2] = {
    { "00", "approved" },
    { "05", "do not honor" },
    { "12", "invalid transaction" },
    { "13", "invalid amount" },
    { "14", "invalid card number" },
    { "25", "unable to locate the original" },
    { "30", "format error" },
    { "51", "insufficient funds" },
    { "54", "expired card" },
    { "55", "incorrect card verification" },
    { "75", "verification tries exceeded" },
    { "91", "issuer unavailable" },
    { "96", "system malfunction" },
  };

  for (guint i = 0; code != NULL && i < G_N_ELEMENTS (texts); i++)
    if (g_str_equal (texts[i][0], code))
      return texts[i][1];
  return "unknown response";
}

void
onepin_iso_approval_code (char out[7])
{
  static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  guint8 random[6];

  if (!onepin_crypto_random (random, sizeof random, NULL))
    g_error ("onepin_iso_approval_code: no randomness");
  for (guint i = 0; i < 6; i++)
    out[i] = alphabet[random[i] % 32];
  out[6] = '\0';
}

char *
onepin_iso_amount_format (gint64 amount)
{
  g_return_val_if_fail (amount >= 0 && amount <= G_GINT64_CONSTANT (999999999999), NULL);
  return g_strdup_printf ("%012" G_GINT64_FORMAT, amount);
}

gboolean
onepin_iso_amount_parse (const char *field,
                         gint64     *amount)
{
  guint64 value;

  if (field == NULL || strlen (field) != 12 || strspn (field, "0123456789") != 12 ||
      !g_ascii_string_to_unsigned (field, 10, 0, G_GUINT64_CONSTANT (999999999999), &value,
                                   NULL))
    return FALSE;
  *amount = (gint64) value;
  return TRUE;
}

char *
onepin_iso_time_format (gint64 unix_time)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (unix_time);

  return g_date_time_format (time, "%m%d%H%M%S");
}

static gboolean
two_digits (const char *text,
            guint       min,
            guint       max,
            gint       *out)
{
  if (!g_ascii_isdigit (text[0]) || !g_ascii_isdigit (text[1]))
    return FALSE;
  *out = (text[0] - '0') * 10 + (text[1] - '0');
  return (guint) *out >= min && (guint) *out <= max;
}

gboolean
onepin_iso_time_parse (const char *field,
                       gint64      now,
                       gint64     *unix_time)
{
  g_autoptr(GDateTime) today = g_date_time_new_from_unix_utc (now);
  gint month, day, hour, minute, second;
  gint64 best = 0;
  gint64 best_distance = G_MAXINT64;

  if (field == NULL || strlen (field) != 10 ||
      !two_digits (field, 1, 12, &month) || !two_digits (field + 2, 1, 31, &day) ||
      !two_digits (field + 4, 0, 23, &hour) || !two_digits (field + 6, 0, 59, &minute) ||
      !two_digits (field + 8, 0, 59, &second) || today == NULL)
    return FALSE;

  /* The year is not sent: of last year, this year and the next, the one
   * nearest to now (a message sent on 31 December may arrive in January). */
  for (gint delta = -1; delta <= 1; delta++)
    {
      g_autoptr(GDateTime) candidate =
        g_date_time_new_utc (g_date_time_get_year (today) + delta, month, day, hour, minute,
                             second);
      gint64 distance;

      if (candidate == NULL)
        continue;   /* 29 February of a year that has none */
      distance = ABS (g_date_time_to_unix (candidate) - now);
      if (distance < best_distance)
        {
          best_distance = distance;
          best = g_date_time_to_unix (candidate);
        }
    }
  if (best_distance == G_MAXINT64)
    return FALSE;
  *unix_time = best;
  return TRUE;
}

char *
onepin_iso_expiry_format (gint year,
                          gint month)
{
  return g_strdup_printf ("%02d%02d", year % 100, month);
}

static void
append_padded (GString    *out,
               const char *text,
               glong       width)
{
  glong len = text ? g_utf8_strlen (text, -1) : 0;
  glong take = MIN (len, width);

  if (take > 0)
    g_string_append_len (out, text, g_utf8_offset_to_pointer (text, take) - text);
  for (glong i = take; i < width; i++)
    g_string_append_c (out, ' ');
}

char *
onepin_iso_name_location (const char *name,
                          const char *city,
                          const char *country)
{
  GString *out = g_string_sized_new (64);

  append_padded (out, name, 25);
  append_padded (out, city, 13);
  append_padded (out, country, 2);
  return g_string_free (out, FALSE);
}

char *
onepin_iso_merchant_name (const char *field)
{
  g_autofree char *name = NULL;

  if (field == NULL || g_utf8_strlen (field, -1) < 25)
    return g_strdup ("");
  name = g_strndup (field, g_utf8_offset_to_pointer (field, 25) - field);
  return g_strdup (g_strstrip (name));
}

char *
onepin_iso_original_format (const char *mti,
                            const char *stan,
                            const char *transmitted,
                            const char *acquirer)
{
  g_return_val_if_fail (strlen (mti) == 4 && strlen (stan) == 6 && strlen (transmitted) == 10 &&
                        strlen (acquirer) <= 11, NULL);
  return g_strdup_printf ("%s%s%s%011" G_GUINT64_FORMAT "00000000000", mti, stan, transmitted,
                          g_ascii_strtoull (acquirer, NULL, 10));
}

gboolean
onepin_iso_original_parse (const char *field,
                           char        mti[5],
                           char        stan[7],
                           char        transmitted[11],
                           char        acquirer[12])
{
  char digits[12];

  if (field == NULL || strlen (field) != 42 || strspn (field, "0123456789") != 42)
    return FALSE;
  memcpy (mti, field, 4);
  mti[4] = '\0';
  memcpy (stan, field + 4, 6);
  stan[6] = '\0';
  memcpy (transmitted, field + 10, 10);
  transmitted[10] = '\0';
  /* Leading zeros are padding: "00000000990" is acquirer "990". */
  memcpy (digits, field + 20, 11);
  digits[11] = '\0';
  g_snprintf (acquirer, 12, "%" G_GUINT64_FORMAT, g_ascii_strtoull (digits, NULL, 10));
  return TRUE;
}

static const char * const currencies[][2] = {
  { "410", "krw" },
  { "840", "usd" },
  { "978", "eur" },
  { "392", "jpy" },
};

const char *
onepin_iso_currency_alpha (const char *numeric)
{
  for (guint i = 0; numeric != NULL && i < G_N_ELEMENTS (currencies); i++)
    if (g_str_equal (currencies[i][0], numeric))
      return currencies[i][1];
  return NULL;
}

const char *
onepin_iso_currency_numeric (const char *alpha)
{
  for (guint i = 0; alpha != NULL && i < G_N_ELEMENTS (currencies); i++)
    if (g_str_equal (currencies[i][1], alpha))
      return currencies[i][0];
  return NULL;
}
