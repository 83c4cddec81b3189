/* test-card.c: unit tests for onepin-card
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-shared.h"

#include <string.h>

static void
test_luhn_basics (void)
{
  /* The textbook example: 7992739871 has check digit 3. */
  g_assert_cmpint (onepin_card_luhn_check_digit ("7992739871"), ==, '3');
  g_assert_true (onepin_card_luhn_valid ("79927398713"));
  for (char c = '0'; c <= '9'; c++)
    {
      char number[] = "7992739871X";

      number[10] = c;
      g_assert_cmpint (onepin_card_luhn_valid (number), ==, c == '3');
    }

  g_assert_cmpint (onepin_card_luhn_check_digit ("424242424242424"), ==, '2');
  g_assert_cmpint (onepin_card_luhn_check_digit (""), ==, '0');
  g_assert_cmpint (onepin_card_luhn_check_digit ("12a"), ==, 0);
  g_assert_cmpint (onepin_card_luhn_check_digit (NULL), ==, 0);

  g_assert_true (onepin_card_luhn_valid ("00"));
  g_assert_true (onepin_card_luhn_valid ("18"));
  g_assert_false (onepin_card_luhn_valid ("0"));
  g_assert_false (onepin_card_luhn_valid (""));
  g_assert_false (onepin_card_luhn_valid (NULL));
  g_assert_false (onepin_card_luhn_valid ("4242 4242 4242 4242"));
  g_assert_false (onepin_card_luhn_valid ("-18"));

  g_assert_true (onepin_card_number_is_valid ("4242424242424242"));
  g_assert_false (onepin_card_number_is_valid ("4242424242424241"));
  g_assert_false (onepin_card_number_is_valid ("378282246310005")); /* Luhn, 15 digits */
  g_assert_false (onepin_card_number_is_valid ("42424242424242420"));
  g_assert_false (onepin_card_number_is_valid (NULL));
}

static JsonNode *
load_corpus (const char *name)
{
  const char *dir = g_getenv ("ONEPIN_CORPORA");
  g_autofree char *path = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (dir == NULL)
    return NULL;

  path = g_build_filename (dir, "cards", name, NULL);
  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);

  return json_node_copy (json_parser_get_root (parser));
}

static char *
strip_separators (const char *number)
{
  GString *out = g_string_new (NULL);

  for (const char *p = number; *p != '\0'; p++)
    {
      if (*p != ' ' && *p != '-')
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

static gboolean
is_digits (const char *s)
{
  return *s != '\0' && strspn (s, "0123456789") == strlen (s);
}

/* braintree/card-validator's isValid also checks brand lengths and skips
 * Luhn for UnionPay, so only the cases where it reduces to Luhn are used:
 * 16-digit non-UnionPay numbers (valid or not), and any valid
 * non-UnionPay number, which must pass Luhn whatever its length. */
static void
test_luhn_braintree_corpus (void)
{
  g_autoptr(JsonNode) root = load_corpus ("braintree_card_validator_number_cases.json");
  JsonArray *cases;
  guint n_sixteen = 0, n_valid = 0;

  if (root == NULL)
    {
      g_test_skip ("ONEPIN_CORPORA is not set");
      return;
    }

  cases = json_object_get_array_member (json_node_get_object (root), "cases");
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      JsonNode *number_node = json_object_get_member (c, "number");
      const char *card = json_object_get_string_member_with_default (c, "card", NULL);
      gboolean expected = json_object_get_boolean_member (c, "isValid");
      g_autofree char *digits = NULL;

      if (!JSON_NODE_HOLDS_VALUE (number_node) ||
          json_node_get_value_type (number_node) != G_TYPE_STRING ||
          g_strcmp0 (card, "unionpay") == 0)
        continue;

      digits = strip_separators (json_node_get_string (number_node));
      if (!is_digits (digits))
        continue;

      if (strlen (digits) == ONEPIN_CARD_NUMBER_LEN)
        {
          g_test_message ("16 digits: %s expect %d", digits, expected);
          g_assert_cmpint (onepin_card_luhn_valid (digits), ==, expected);
          g_assert_cmpint (onepin_card_number_is_valid (digits), ==, expected);
          n_sixteen++;
        }
      if (expected)
        {
          g_assert_true (onepin_card_luhn_valid (digits));
          n_valid++;
        }
    }

  /* The corpus as shipped: 14 such 16-digit cases (3 of them invalid, 3
   * spaced or dashed) and 13 valid ones of 15 to 19 digits. A change in
   * these counts means the corpus or the filter above changed. */
  g_assert_cmpuint (n_sixteen, ==, 14);
  g_assert_cmpuint (n_valid, ==, 13);

  /* The UnionPay exception braintree documents, checked by hand. */
  g_assert_false (onepin_card_luhn_valid ("6221558812340000"));
}

static void
check_provider_cards (JsonObject *provider,
                      guint      *n_checked)
{
  JsonArray *cards = json_object_get_array_member (provider, "cards");

  for (guint i = 0; i < json_array_get_length (cards); i++)
    {
      JsonObject *card = json_array_get_object_element (cards, i);
      const char *number = json_object_get_string_member (card, "number");
      gboolean luhn = json_object_get_boolean_member (card, "luhn_valid");

      g_assert_cmpint (onepin_card_luhn_valid (number), ==, luhn);
      g_assert_cmpint (onepin_card_number_is_valid (number), ==,
                       luhn && strlen (number) == ONEPIN_CARD_NUMBER_LEN);
      (*n_checked)++;
    }
}

static void
test_luhn_provider_corpus (void)
{
  g_autoptr(JsonNode) root = load_corpus ("provider_sandbox_cards.json");
  JsonObject *object;
  guint n_checked = 0;

  if (root == NULL)
    {
      g_test_skip ("ONEPIN_CORPORA is not set");
      return;
    }

  object = json_node_get_object (root);
  check_provider_cards (json_object_get_object_member (object, "stripe"), &n_checked);
  check_provider_cards (json_object_get_object_member (object, "braintree"), &n_checked);
  g_assert_cmpuint (n_checked, ==, 37);
}

/* Enough numbers that the bias of an unrejected "byte % 10" (digits 0-5
 * drawn 26/256 of the time, 6-9 25/256) shows: with 11 random digits each,
 * it adds about 120 to the chi-squared statistic below. */
#define N_GENERATED 30000

static void
test_generate (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *prefix = "9410";
  gsize prefix_len = strlen (prefix);
  guint counts[10] = { 0 };
  double chi2 = 0, expected;
  guint n_digits = 0;

  for (int i = 0; i < N_GENERATED; i++)
    {
      g_autoptr(GError) error = NULL;
      char *number = onepin_card_number_generate (prefix, &error);

      g_assert_no_error (error);
      g_assert_nonnull (number);
      g_assert_cmpuint (strlen (number), ==, ONEPIN_CARD_NUMBER_LEN);
      g_assert_true (g_str_has_prefix (number, prefix));
      g_assert_true (onepin_card_number_is_valid (number));

      /* Only the digits drawn at random, not the prefix or check digit. */
      for (gsize j = prefix_len; j < ONEPIN_CARD_NUMBER_LEN - 1; j++)
        {
          counts[number[j] - '0']++;
          n_digits++;
        }

      g_assert_false (g_hash_table_contains (seen, number));
      g_hash_table_add (seen, number);
    }

  /* Chi-squared, 9 degrees of freedom: 40 is exceeded by chance with
   * probability about 1e-5. */
  expected = n_digits / 10.0;
  for (int d = 0; d < 10; d++)
    chi2 += (counts[d] - expected) * (counts[d] - expected) / expected;
  g_test_message ("chi-squared of %u digits: %.2f", n_digits, chi2);
  g_assert_cmpfloat (chi2, <, 40.0);
}

static void
test_generate_prefixes (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *none = NULL;
  g_autofree char *null_prefix = NULL;
  g_autofree char *full = NULL;
  char *bad;

  none = onepin_card_number_generate ("", &error);
  g_assert_no_error (error);
  g_assert_true (onepin_card_number_is_valid (none));

  null_prefix = onepin_card_number_generate (NULL, &error);
  g_assert_no_error (error);
  g_assert_true (onepin_card_number_is_valid (null_prefix));

  /* With 15 prefix digits only the check digit is left. */
  full = onepin_card_number_generate ("424242424242424", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (full, ==, "4242424242424242");

  bad = onepin_card_number_generate ("4242424242424242", &error);
  g_assert_error (error, ONEPIN_CARD_ERROR, ONEPIN_CARD_ERROR_INVALID_PREFIX);
  g_assert_null (bad);
  g_clear_error (&error);

  bad = onepin_card_number_generate ("42x", &error);
  g_assert_error (error, ONEPIN_CARD_ERROR, ONEPIN_CARD_ERROR_INVALID_PREFIX);
  g_assert_null (bad);
}

static void
test_format_mask (void)
{
  g_autofree char *formatted = onepin_card_number_format ("1234567890123456");
  g_autofree char *masked = onepin_card_number_mask ("1234567890123456");
  char last4[5] = "xxxx";

  g_assert_cmpstr (formatted, ==, "1234 5678 9012 3456");
  g_assert_cmpstr (masked, ==, "\u2022\u2022\u2022\u2022 \u2022\u2022\u2022\u2022 "
                               "\u2022\u2022\u2022\u2022 3456");
  g_assert_true (g_utf8_validate (masked, -1, NULL));
  g_assert_null (strstr (masked, "1234"));
  g_assert_null (onepin_card_number_format (NULL));
  g_assert_null (onepin_card_number_mask (NULL));

  onepin_card_number_last4 ("1234567890123456", last4);
  g_assert_cmpstr (last4, ==, "3456");
  onepin_card_number_last4 ("12", last4);
  g_assert_cmpstr (last4, ==, "12");
  onepin_card_number_last4 (NULL, last4);
  g_assert_cmpstr (last4, ==, "");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);

  if (!onepin_crypto_init (&error))
    g_error ("%s", error->message);

  g_test_add_func ("/card/luhn/basics", test_luhn_basics);
  g_test_add_func ("/card/luhn/braintree-corpus", test_luhn_braintree_corpus);
  g_test_add_func ("/card/luhn/provider-corpus", test_luhn_provider_corpus);
  g_test_add_func ("/card/generate/distribution", test_generate);
  g_test_add_func ("/card/generate/prefixes", test_generate_prefixes);
  g_test_add_func ("/card/format-mask", test_format_mask);

  return g_test_run ();
}
