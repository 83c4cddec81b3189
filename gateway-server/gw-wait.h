/* gw-wait.h: turning a main context until something has ended
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef gboolean (*GwWaitDone) (gpointer data);

/* Dispatches what is ready on @context until @done returns TRUE or @seconds
 * have passed, and returns what @done says then. It never blocks in poll:
 * what it waits for may end on another thread, which does not wake the
 * context, so between turns with nothing to dispatch it sleeps a millisecond. */
gboolean gw_wait_until (GMainContext *context,
                        guint         seconds,
                        GwWaitDone    done,
                        gpointer      data);
/* The same until @deadline, on the monotonic clock: for a grace that began
 * earlier, while something else was waited for. */
gboolean gw_wait_until_time (GMainContext *context,
                             gint64        deadline,
                             GwWaitDone    done,
                             gpointer      data);

G_END_DECLS
