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
static char *needle;

static void
on_wipe (gconstpointer data,
         gsize         len,
         gpointer      user_data)
{
  if (memmem (data, len, needle, strlen (needle)) != NULL)
    g_ptr_array_add (seen, g_bytes_new (data, len));
}

void
ow_test_wiped_watch (const char *what)
{
  g_return_if_fail (what != NULL && what[0] != '\0');

  g_free (needle);
  needle = g_strdup (what);
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

gboolean
ow_test_wiped_exactly (gconstpointer data,
                       gsize         len)
{
  for (guint i = 0; seen != NULL && i < seen->len; i++)
    {
      gsize n;
      gconstpointer region = g_bytes_get_data (g_ptr_array_index (seen, i), &n);

      if (n == len && memcmp (region, data, len) == 0)
        return TRUE;
    }
  return FALSE;
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
