/* ow-test-scan.c: search every file the wallet wrote for the secrets it holds
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE  /* memmem */
#include "ow-test-scan.h"

#include <string.h>

#include <glib/gstdio.h>

typedef struct
{
  char *what;
  char *value;
} Needle;

struct _OwScan
{
  GPtrArray *needles;
};

static void
needle_free (Needle *n)
{
  g_free (n->what);
  g_free (n->value);
  g_free (n);
}

OwScan *
ow_scan_new (void)
{
  OwScan *scan = g_new0 (OwScan, 1);

  scan->needles = g_ptr_array_new_with_free_func ((GDestroyNotify) needle_free);
  return scan;
}

void
ow_scan_free (OwScan *scan)
{
  g_ptr_array_unref (scan->needles);
  g_free (scan);
}

static void
add_needle (OwScan     *scan,
            const char *what,
            const char *encoding,
            char       *value)
{
  Needle *n = g_new0 (Needle, 1);

  n->what = encoding != NULL ? g_strdup_printf ("%s, %s", what, encoding) : g_strdup (what);
  n->value = value;
  g_ptr_array_add (scan->needles, n);
}

static void
add_encodings (OwScan     *scan,
               const char *what,
               const char *value)
{
  gsize len = strlen (value);
  GString *hex = g_string_new (NULL);

  add_needle (scan, what, NULL, g_strdup (value));
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (hex, "%02x", (guchar) value[i]);
  add_needle (scan, what, "as HEX", g_ascii_strup (hex->str, hex->len));
  add_needle (scan, what, "as hex", g_string_free (hex, FALSE));
  /* only whole groups of three bytes: the padding depends on what follows */
  add_needle (scan, what, "as base64", g_base64_encode ((const guchar *) value, len - len % 3));
}

void
ow_scan_add_secret (OwScan     *scan,
                    const char *what,
                    const char *value)
{
  g_assert_nonnull (value);
  /* shorter needles match by chance in binary files */
  g_assert_cmpuint (strlen (value), >=, 6);
  add_encodings (scan, what, value);

  if (strlen (value) == 16 && strspn (value, "0123456789") == 16)
    {
      g_autofree char *spaced = g_strdup_printf ("%.4s %.4s %.4s %.4s", value, value + 4,
                                                 value + 8, value + 12);
      g_autofree char *dashed = g_strdup_printf ("%.4s-%.4s-%.4s-%.4s", value, value + 4,
                                                 value + 8, value + 12);

      add_encodings (scan, what, spaced);
      add_encodings (scan, what, dashed);
    }
}

static gboolean
contains (const char *data,
          gsize       len,
          const char *needle)
{
  gsize n = strlen (needle);

  return n > 0 && len >= n && memmem (data, len, needle, n) != NULL;
}

void
ow_scan_file (OwScan     *scan,
              const char *path,
              GString    *found)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, &error))
    {
      /* a -journal file can vanish while we look */
      if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return;
      g_error ("%s: %s", path, error->message);
    }

  for (guint i = 0; i < scan->needles->len; i++)
    {
      Needle *n = g_ptr_array_index (scan->needles, i);

      if (contains (data, len, n->value))
        g_string_append_printf (found, "  %s: %s\n", path, n->what);
    }
}

guint
ow_scan_dir (OwScan     *scan,
             const char *dir_path,
             GString    *found)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  guint n = 0;

  dir = g_dir_open (dir_path, 0, &error);
  if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    return 0;
  g_assert_no_error (error);

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        n += ow_scan_dir (scan, path, found);
      else if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          ow_scan_file (scan, path, found);
          n++;
        }
    }
  return n;
}

void
ow_scan_assert_clean (OwScan            *scan,
                      const char *const *dirs,
                      guint              min_files)
{
  g_autoptr(GString) found = g_string_new (NULL);
  guint n = 0;

  for (guint i = 0; dirs[i] != NULL; i++)
    n += ow_scan_dir (scan, dirs[i], found);

  g_test_message ("searched %u files for %u needles", n, scan->needles->len);
  g_assert_cmpuint (n, >=, min_files);
  if (found->len > 0)
    g_error ("secrets found on disk:\n%s", found->str);
}

void
ow_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        ow_test_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}
