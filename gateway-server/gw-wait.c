/* gw-wait.c: turning a main context until something has ended
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The stops (server drain, HTTP threads, bank calls, webhooks) each wait,
 * for a bounded time, for their work in flight to be answered.
 */
#include "gw-wait.h"

gboolean
gw_wait_until (GMainContext *context,
               guint         seconds,
               GwWaitDone    done,
               gpointer      data)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  while (!done (data) && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (context, FALSE))
      g_usleep (1000);
  return done (data);
}
