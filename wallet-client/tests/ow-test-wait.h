/* ow-test-wait.h: run the main loop until an async call has finished
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A GAsyncReadyCallback whose user data is a GAsyncResult** to fill. */
static inline void
ow_test_store_result (GObject      *source,
                      GAsyncResult *result,
                      gpointer      data)
{
  GAsyncResult **out = data;

  *out = g_object_ref (result);
}

/* Iterates the default context until *@slot is set (at most 60 s). */
static inline GAsyncResult *
ow_test_wait (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (*slot == NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("an asynchronous call did not finish within 60 s");
      g_main_context_iteration (NULL, TRUE);
    }
  return *slot;
}

G_END_DECLS
