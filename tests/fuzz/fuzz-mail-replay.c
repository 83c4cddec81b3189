/* fuzz-mail-replay.c: runs fuzz-mail.c's harness over its seeds and over
 * random mutations of them, as an ordinary test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The mutations splice in what breaks mail: CR, LF, NUL, quotes, angle
 * brackets, "=?", long runs and multi-byte characters. The seed of
 * g_test_rand is printed, so a failure can be replayed with --seed.
 */
#include <glib.h>
#include <string.h>

#define MUTATIONS 20000

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static GPtrArray *
load_seeds (void)
{
  const char *path = MAIL_SEEDS;
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  GPtrArray *seeds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);
      g_autofree char *contents = NULL;
      gsize len;

      if (g_file_get_contents (file, &contents, &len, NULL))
        g_ptr_array_add (seeds, g_bytes_new_take (g_steal_pointer (&contents), len));
    }
  return seeds;
}

static void
test_seeds (void)
{
  g_autoptr(GPtrArray) seeds = load_seeds ();

  g_assert_cmpuint (seeds->len, >=, 6);
  for (guint i = 0; i < seeds->len; i++)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (g_ptr_array_index (seeds, i), &len);

      LLVMFuzzerTestOneInput (data, len);
    }
}

/* Replaces a random stretch inside a JSON string of @seed with a nasty piece. */
static GString *
mutate (GBytes *seed)
{
  static const char *pieces[] = {
    "\\r\\n", "\\n", "\\r", "\\u0000", "\\\"", "<", ">", "&", "=?", "?=", "=?UTF-8?B?QQ==?=",
    "\\r\\nBcc: evil@example.com", "가나다라마바사", "😀", "\\t", " ", ".", "\\\\",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "한국어한국어한국어한국어한국어한국어한국어한국어한국어한국어한국어한국어한국어한국어",
  };
  gsize len;
  const char *data = g_bytes_get_data (seed, &len);
  GString *out = g_string_new_len (data, len);
  guint n = g_test_rand_int_range (1, 6);

  for (guint k = 0; k < n; k++)
    {
      gsize start = g_test_rand_int_range (0, out->len);
      const char *quote = memchr (out->str + start, '"', out->len - start);
      gsize at;

      if (quote == NULL || quote >= out->str + out->len - 1)
        continue;
      at = quote - out->str + 1;
      g_string_insert (out, at, pieces[g_test_rand_int_range (0, G_N_ELEMENTS (pieces))]);
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

      LLVMFuzzerTestOneInput ((const guint8 *) input->str, input->len);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fuzz-mail/seeds", test_seeds);
  g_test_add_func ("/fuzz-mail/mutations", test_mutations);
  return g_test_run ();
}
