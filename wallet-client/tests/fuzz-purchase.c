/* fuzz-purchase.c: libFuzzer harness for the purchase a browser forwards
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * ow_purchase_new_from_json() and ow_purchase_new_from_checkout() read
 * bytes that come from a web page through the browser extension. With -Dfuzzing=true this is a libFuzzer binary;
 * every other build compiles it with OW_FUZZ_REPLAY and runs it over the
 * JSONTestSuite corpus and the inputs below as an ordinary test.
 */
#include <string.h>

#include "onepin-json.h"
#include "ow-purchase.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(OwPurchase) purchase = NULL;
  g_autoptr(OwPurchase) checkout = NULL;
  g_autoptr(JsonObject) object = NULL;

  /* a NUL inside is refused like any other malformed input */
  if (strlen (text) != size)
    return 0;

  /* the affiliated mall's form, as the wallet's socket parses it */
  object = onepin_json_parse_object (text, size, NULL);
  if (object != NULL)
    {
      g_autoptr(GError) checkout_error = NULL;

      checkout = ow_purchase_new_from_checkout (object, &checkout_error);
      g_assert ((checkout == NULL) != (checkout_error == NULL));
      if (checkout != NULL)
        {
          g_assert_cmpint (checkout->amount, >, 0);
          g_assert_true (g_str_has_prefix (checkout->checkout_session, "cs_"));
          g_assert_true (g_str_has_prefix (checkout->merchant_id, "mch_"));
          for (guint i = 0; i < checkout->items->len; i++)
            g_assert_cmpint (((OwPurchaseItem *) g_ptr_array_index (checkout->items, i))->amount,
                             >=, 0);
        }
    }

  purchase = ow_purchase_new_from_json (text, &error);
  g_assert ((purchase == NULL) != (error == NULL));
  if (purchase != NULL)
    {
      g_assert_cmpint (purchase->amount, >, 0);
      g_assert_true (g_utf8_validate (purchase->merchant, -1, NULL));
      g_assert_cmpuint (purchase->items->len, <=, OW_PURCHASE_MAX_ITEMS);
    }
  return 0;
}

#ifdef OW_FUZZ_REPLAY

static guint
replay_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint count = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);
      g_autofree char *contents = NULL;
      gsize len;

      if (g_file_get_contents (file, &contents, &len, NULL))
        {
          LLVMFuzzerTestOneInput ((const guint8 *) contents, len);
          count++;
        }
    }
  return count;
}

static void
test_corpus (void)
{
  const char *corpora = g_getenv ("ONEPIN_CORPORA");
  g_autofree char *suite = NULL;
  guint count;

  g_assert_nonnull (corpora);
  suite = g_build_filename (corpora, "JSONTestSuite", "test_parsing", NULL);
  count = replay_dir (suite);
  count += replay_dir (g_test_get_filename (G_TEST_DIST, "purchase-seeds", NULL));
  g_test_message ("%u inputs replayed", count);
  g_assert_cmpuint (count, >=, 318 + 2);
}

static void
test_shapes (void)
{
  static const char *inputs[] = {
    "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":1,\"currency\":\"krw\"}",
    "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":1,\"currency\":\"krw\",\"items\":null}",
    "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":1,\"currency\":\"krw\",\"items\":[{}]}",
    "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":1,\"currency\":\"krw\",\"items\":[[]]}",
    "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":1,\"currency\":\"krw\",\"items\":[1]}",
    "{\"merchant\":\"\\u0000\",\"order_id\":\"1\",\"amount\":1,\"currency\":\"krw\"}",
    "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":9223372036854775807,\"currency\":\"krw\"}",
    "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":-9223372036854775808,\"currency\":\"krw\"}",
    "{\"merchant\":\"M\",\"order_id\":\"1\",\"amount\":1.5,\"currency\":\"krw\"}",
    "{\"merchant\":\"M\",\"merchant\":\"N\",\"order_id\":\"1\",\"amount\":1,\"currency\":\"krw\"}",
    "[]", "", "{", "null",
    "{\"checkout_session\":\"cs_1\",\"merchant\":\"mch_1\",\"merchant_name\":\"M\",\"order_id\":\"1\","
    "\"amount\":1,\"currency\":\"krw\",\"gateway\":\"https://g.example\",\"items\":[{\"name\":\"x\","
    "\"quantity\":10000,\"amount\":1000000}]}",
    "{\"checkout_session\":\"cs_1\",\"merchant\":\"mch_1\",\"merchant_name\":\"M\",\"order_id\":\"1\","
    "\"amount\":1,\"currency\":\"krw\",\"gateway\":\"javascript:1\"}",
    "{\"checkout_session\":\"cs_\",\"merchant\":\"mch_1\",\"merchant_name\":\"M\",\"order_id\":\"1\","
    "\"amount\":1,\"currency\":\"krw\",\"gateway\":\"https://g.example\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    LLVMFuzzerTestOneInput ((const guint8 *) inputs[i], strlen (inputs[i]));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fuzz-purchase/corpus", test_corpus);
  g_test_add_func ("/fuzz-purchase/shapes", test_shapes);
  return g_test_run ();
}

#endif
