/* fuzz-host-replay.c: runs the host frame harness over its seeds, as a test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Builds without libFuzzer. Replays tests/fuzz/host-frames/ (the seed
 * corpus, and any crash reproducer kept there) with three chunkings each,
 * and every JSONTestSuite parsing case wrapped in a frame, so the reader's
 * JSON checks meet the same inputs as the gateway's.
 */
#include <glib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* The harness takes its chunk size from the first byte. */
static void
replay (const guint8 *data,
        gsize         len)
{
  static const guint8 chunkings[] = { 0x80, 0x00, 0x06 };

  for (guint i = 0; i < G_N_ELEMENTS (chunkings); i++)
    {
      g_autofree guint8 *input = g_malloc (len + 1);

      input[0] = chunkings[i];
      memcpy (input + 1, data, len);
      LLVMFuzzerTestOneInput (input, len + 1);
    }
}

static guint
replay_dir (const char *path,
            gboolean    as_frames)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint count = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);
      g_autofree char *contents = NULL;
      gsize len;

      if (!g_file_get_contents (file, &contents, &len, NULL))
        continue;
      if (as_frames)
        {
          g_autofree guint8 *frame = g_malloc (len + 4);
          guint32 header = (guint32) len;

          memcpy (frame, &header, 4);
          memcpy (frame + 4, contents, len);
          replay (frame, len + 4);
        }
      else
        replay ((const guint8 *) contents, len);
      count++;
    }
  return count;
}

static void
test_seeds (void)
{
  guint count = replay_dir (g_test_get_filename (G_TEST_DIST, "host-frames", NULL), FALSE);

  g_test_message ("%u seeds replayed", count);
  g_assert_cmpuint (count, >=, 14);
}

static void
test_json_suite (void)
{
  const char *corpora = g_getenv ("ONEPIN_CORPORA");
  g_autofree char *suite = NULL;
  guint count;

  g_assert_nonnull (corpora);
  suite = g_build_filename (corpora, "JSONTestSuite", "test_parsing", NULL);
  count = replay_dir (suite, TRUE);
  g_test_message ("%u JSONTestSuite cases replayed as frames", count);
  g_assert_cmpuint (count, >=, 318);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fuzz/host-frame/seeds", test_seeds);
  g_test_add_func ("/fuzz/host-frame/json-suite", test_json_suite);
  return g_test_run ();
}
