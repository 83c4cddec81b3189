/* ow-test-wiped.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE  /* memmem */
#include "ow-test-wiped.h"

#include <string.h>

#include "ow-secret.h"

static GPtrArray *seen;
static GBytes *needle;

static void
on_wipe (gconstpointer data,
         gsize         len,
         gpointer      user_data)
{
  gsize n;
  gconstpointer what = g_bytes_get_data (needle, &n);

  if (memmem (data, len, what, n) != NULL)
    g_ptr_array_add (seen, g_bytes_new (data, len));
}

void
ow_test_wiped_watch (const char *what)
{
  g_return_if_fail (what != NULL);

  ow_test_wiped_watch_bytes (what, strlen (what));
}

void
ow_test_wiped_watch_bytes (gconstpointer what,
                           gsize         len)
{
  g_return_if_fail (what != NULL && len > 0);

  g_clear_pointer (&needle, g_bytes_unref);
  needle = g_bytes_new (what, len);
  if (seen == NULL)
    seen = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_ptr_array_set_size (seen, 0);
  ow_secret_set_wipe_hook (on_wipe, NULL);
}

GPtrArray *
ow_test_wiped_seen (void)
{
  g_return_val_if_fail (seen != NULL, NULL);
  return seen;
}

GPtrArray *
ow_test_wiped_stop (void)
{
  ow_secret_set_wipe_hook (NULL, NULL);
  return ow_test_wiped_seen ();
}

guint
ow_test_wiped_count (gconstpointer data,
                     gsize         len)
{
  guint count = 0;

  for (guint i = 0; seen != NULL && i < seen->len; i++)
    {
      gsize n;
      gconstpointer region = g_bytes_get_data (g_ptr_array_index (seen, i), &n);

      count += n == len && memcmp (region, data, len) == 0;
    }
  return count;
}

gboolean
ow_test_wiped_exactly (gconstpointer data,
                       gsize         len)
{
  return ow_test_wiped_count (data, len) > 0;
}

gboolean
ow_test_wiped_any (gboolean (*match) (const guint8 *data,
                                      gsize         len))
{
  for (guint i = 0; seen != NULL && i < seen->len; i++)
    {
      gsize n;
      const guint8 *region = g_bytes_get_data (g_ptr_array_index (seen, i), &n);

      if (match (region, n))
        return TRUE;
    }
  return FALSE;
}
