/* fuzz-replay.c: runs the fuzz harness over a corpus, as an ordinary test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Builds without clang's libFuzzer, so every build checks that the inputs
 * the fuzzer starts from (and any crash reproducers kept in tests/fuzz/
 * crashes/) go through the parser without a crash, a leak or an assertion.
 */
#include <glib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
replay_dir (const char *path,
            guint      *count)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);
      g_autofree char *contents = NULL;
      gsize len;

      if (g_file_test (file, G_FILE_TEST_IS_DIR) ||
          !g_file_get_contents (file, &contents, &len, NULL))
        continue;
      LLVMFuzzerTestOneInput ((const guint8 *) contents, len);
      (*count)++;
    }
}

static void
test_corpus (void)
{
  const char *corpora = g_getenv ("ONEPIN_CORPORA");
  g_autofree char *suite = NULL;
  guint count = 0;

  g_assert_nonnull (corpora);
  suite = g_build_filename (corpora, "JSONTestSuite", "test_parsing", NULL);
  replay_dir (suite, &count);
  replay_dir (g_test_get_filename (G_TEST_DIST, "crashes", NULL), &count);
  g_test_message ("%u inputs replayed", count);
  g_assert_cmpuint (count, >=, 318);
}

static void
test_payment_shapes (void)
{
  static const char *inputs[] = {
    "{\"card_number\":\"9410000000000000\",\"password\":\"1234\",\"amount\":1,"
    "\"currency\":\"krw\",\"order_id\":\"o\",\"capture\":true}",
    "{\"card_number\":\"9410000000000000\",\"password\":\"1234\",\"amount\":1e3,"
    "\"currency\":\"krw\",\"order_id\":\"o\",\"idempotency_key\":\"k\"}",
    "{\"card_number\":5,\"amount\":99999999999999999999999}",
    "{\"order_id\":\"\\ud800\"}",
    "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
    /* the wallet's bodies */
    "{\"type\":\"credit_card\",\"credit_card\":{\"number\":\"4111111111111111\","
    "\"expiry\":\"12/39\",\"holder\":\"A\"}}",
    "{\"type\":\"credit_card\",\"credit_card\":{\"number\":\"9420001234567890\","
    "\"expiry\":\"00/00\",\"holder\":\"\"}}",
    "{\"type\":\"bank_account\",\"bank_account\":{\"bank_code\":\"004\","
    "\"account_number\":\"---\",\"holder\":\"A\"},\"credit_card\":null}",
    "{\"type\":\"bank_account\",\"bank_account\":[],\"credit_card\":{}}",
    "{\"login_id\":\"abcd\",\"password\":\"correct horse\",\"name\":\"A\","
    "\"email\":\"a@b.c\",\"phone\":\"+\",\"receipt_channel\":\"sms\"}",
    "{\"email\":\"@.\",\"phone\":\"\",\"name\":\"\\u0001\"}",
    /* checkout sessions and webhook endpoints */
    "{\"order_id\":\"A-1\",\"amount\":12000,\"currency\":\"krw\",\"items\":[{\"name\":"
    "\"Tea\",\"quantity\":3,\"amount\":4000}],\"success_url\":\"https://m.example/"
    "?s={CHECKOUT_SESSION_ID}\",\"expires_in\":600}",
    "{\"order_id\":\"A\",\"amount\":1,\"currency\":\"krw\",\"items\":[{\"name\":\"x\","
    "\"quantity\":9223372036854775807,\"amount\":1000000}]}",
    "{\"url\":\"http://[::1]:80/\",\"cancel_url\":\"https://u:p@h/\"}",
    /* card network messages */
    "{\"mti\":\"0100\",\"2\":\"9420001234567897\",\"3\":\"000000\","
    "\"4\":\"000000012000\",\"7\":\"1121214530\",\"11\":\"000123\",\"14\":\"3111\","
    "\"18\":\"5999\",\"32\":\"990\",\"37\":\"511221000123\",\"42\":\"shop\","
    "\"43\":\"Plain Shop               Seoul        KR\",\"49\":\"410\","
    "\"cvc2\":\"123\"}",
    "{\"mti\":\"0420\",\"3\":\"000000\",\"4\":\"000000002000\",\"7\":\"0229120000\","
    "\"11\":\"100004\",\"32\":\"99999999999\",\"37\":\"632522100003\",\"42\":\"d\","
    "\"49\":\"999\",\"90\":\"999999999999999999999999999999999999999999\"}",
    "{\"mti\":\"0110\",\"7\":\"1121214530\",\"11\":\"000123\",\"37\":\"511221000123\","
    "\"39\":\"00\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    LLVMFuzzerTestOneInput ((const guint8 *) inputs[i], strlen (inputs[i]));
}

static void
test_signature_shapes (void)
{
  static const char *inputs[] = {
    "t=1700000000,v1=9f5e37cdc7ea587c7c02062d93283cad000d66a831b2a1676418696db47ed6c2\n{}",
    "t=1700000000,v1=,v1=zz,v2=0\n",
    "t=99999999999999999999999,v1=00\n",
    "t=,t=,t=\n",
    ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    LLVMFuzzerTestOneInput ((const guint8 *) inputs[i], strlen (inputs[i]));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fuzz/replay/corpus", test_corpus);
  g_test_add_func ("/fuzz/replay/payment-shapes", test_payment_shapes);
  g_test_add_func ("/fuzz/replay/signature-shapes", test_signature_shapes);
  return g_test_run ();
}
