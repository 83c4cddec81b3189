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
  return gw_wait_until_time (context, g_get_monotonic_time () + seconds * G_USEC_PER_SEC,
                             done, data);
}

gboolean
gw_wait_until_time (GMainContext *context,
                    gint64        deadline,
                    GwWaitDone    done,
                    gpointer      data)
{
  /* Owned while we sleep between turns: the store's writer hands its
   * completions over with g_main_context_invoke (), which runs them on the
   * writer's own thread when nobody owns the context. A webhook completion
   * run there could start a claim and a send on the wrong thread. (Only the
   * main context: another is turned by its own thread, which it keeps.) */
  gboolean owner = (context == NULL || context == g_main_context_default ()) &&
                   g_main_context_acquire (context);
  gboolean ok;

  while (!done (data) && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (context, FALSE))
      g_usleep (1000);
  ok = done (data);
  if (owner)
    g_main_context_release (context);
  return ok;
}
