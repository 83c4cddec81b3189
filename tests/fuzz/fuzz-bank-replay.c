/* fuzz-bank-replay.c: runs fuzz-bank.c's harness as an ordinary test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Over the seeds in bank-requests/ (raw HTTP, CRLF line ends), over every
 * JSONTestSuite file sent as the body of each POST route, and over random
 * mutations of the seeds that splice in what breaks HTTP and JSON: CR, LF,
 * NUL, huge and negative lengths, duplicate headers, long runs, multi-byte
 * characters. The seed of g_test_rand is printed, so a failure can be
 * replayed with --seed.
 */
#include <glib.h>
#include <string.h>

#define MUTATIONS 1500
#define API_KEY "bk_fuzz0123456789abcdef0123456789"
#define SMS_KEY "sms_fuzz0123456789abcdef012345678"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static GPtrArray *
load_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  GPtrArray *files = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);
      g_autofree char *contents = NULL;
      gsize len;

      if (!g_file_test (file, G_FILE_TEST_IS_DIR) &&
          g_file_get_contents (file, &contents, &len, NULL))
        g_ptr_array_add (files, g_bytes_new_take (g_steal_pointer (&contents), len));
    }
  return files;
}

static GPtrArray *
load_seeds (void)
{
  g_autoptr(GPtrArray) seeds = load_dir (BANK_SEEDS);

  g_assert_cmpuint (seeds->len, >=, 6);
  return g_steal_pointer (&seeds);
}

static void
feed (const void *data,
      gsize       len)
{
  LLVMFuzzerTestOneInput (data, len);
}

static void
test_seeds (void)
{
  g_autoptr(GPtrArray) seeds = load_seeds ();

  for (guint i = 0; i < seeds->len; i++)
    {
      gsize len;
      const void *data = g_bytes_get_data (g_ptr_array_index (seeds, i), &len);

      feed (data, len);
    }
}

/* A POST of @body to @path with the right key for the route. */
static GString *
post (const char *path,
      const char *key,
      const void *body,
      gsize       len)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "POST %s HTTP/1.1\r\nHost: bank\r\n"
                               "Authorization: Bearer %s\r\nIdempotency-Key: k-%u\r\n"
                               "Content-Type: application/json\r\nContent-Length: %"
                               G_GSIZE_FORMAT "\r\n\r\n", path, key, g_test_rand_int (), len);
  g_string_append_len (out, body, len);
  return out;
}

static void
test_json_suite (void)
{
  static const char *routes[][2] = {
    { "/v1/charges", API_KEY }, { "/v1/charges/void", API_KEY }, { "/v1/payouts", API_KEY },
    { "/v1/sms", SMS_KEY }, { "/v1/virtual-accounts/7990000000000/deposit", "" },
  };
  const char *corpora = g_getenv ("ONEPIN_CORPORA");
  g_autofree char *path = NULL;
  g_autoptr(GPtrArray) files = NULL;

  g_assert_nonnull (corpora);
  path = g_build_filename (corpora, "JSONTestSuite", "test_parsing", NULL);
  files = load_dir (path);
  g_assert_cmpuint (files->len, >=, 318);
  for (guint i = 0; i < files->len; i++)
    {
      gsize len;
      const void *body = g_bytes_get_data (g_ptr_array_index (files, i), &len);
      g_autoptr(GString) request = post (routes[i % G_N_ELEMENTS (routes)][0],
                                         routes[i % G_N_ELEMENTS (routes)][1], body, len);

      feed (request->str, request->len);
    }
}

/* Splices a piece that breaks HTTP or JSON in at a random place. */
static GString *
mutate (GBytes *seed)
{
  static const char *pieces[] = {
    "\r\n", "\n", "\r", "\0", "\"", "\\", "{", "}", "[", ",", ":", "-1", "0", "1e999",
    "99999999999999999999", "-9223372036854775808", "\r\nContent-Length: 0",
    "\r\nContent-Length: 99999999999", "\r\nTransfer-Encoding: chunked",
    "\r\nIdempotency-Key: ", "\r\nAuthorization: Bearer " API_KEY, "\r\nExpect: 100-continue",
    "%00", "%2F", "/..", "?idempotency_key=", "&to=", "가나다", "\xff\xfe", "😀",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "\"card_number\":\"4242424242424242\",", "\"amount\":", "\"method\":\"transfer\",",
  };
  gsize len;
  const char *data = g_bytes_get_data (seed, &len);
  GString *out = g_string_new_len (data, len);
  guint n = g_test_rand_int_range (1, 5);

  for (guint k = 0; k < n; k++)
    {
      const char *piece = pieces[g_test_rand_int_range (0, G_N_ELEMENTS (pieces))];
      gsize at = g_test_rand_int_range (0, out->len + 1);

      gsize cut = g_test_rand_int_range (0, 8);

      if (g_test_rand_bit ())
        g_string_insert_len (out, at, piece, piece[0] == '\0' ? 1 : strlen (piece));
      else
        g_string_erase (out, at, MIN (out->len - at, cut));
    }
  return out;
}

static void
test_mutations (void)
{
  g_autoptr(GPtrArray) seeds = load_seeds ();

  for (guint i = 0; i < MUTATIONS; i++)
    {
      g_autoptr(GString) input = mutate (g_ptr_array_index (seeds, i % seeds->len));

      feed (input->str, input->len);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* libsoup 3.2 passes a negative Content-Length on to a GObject property,
   * which warns (the bank then refuses the request). Warnings are not
   * fatal here: the bank's own failures show as 500s, which the harness
   * catches; criticals still abort. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_test_add_func ("/fuzz-bank/seeds", test_seeds);
  g_test_add_func ("/fuzz-bank/json-suite", test_json_suite);
  g_test_add_func ("/fuzz-bank/mutations", test_mutations);
  return g_test_run ();
}
