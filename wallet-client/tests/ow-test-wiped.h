/* ow-test-wiped.h: which copies of a secret went through ow_secret_wipe
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Through the wipe hook (ow-secret.h): between ow_test_wiped_watch and
 * ow_test_wiped_stop, every region wiped that holds the needle is copied
 * (before it is zeroed) into a list the test can look at.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void        ow_test_wiped_watch       (const char     *needle);
/* The same for a needle of bytes (a key may hold NULs). */
void        ow_test_wiped_watch_bytes (gconstpointer   needle,
                                       gsize           len);
/* The regions seen so far (GBytes), still watching. */
GPtrArray  *ow_test_wiped_seen        (void);
/* Stops watching; the regions seen stay until the next watch. */
GPtrArray  *ow_test_wiped_stop        (void);
/* Whether one region seen was exactly @len bytes of @data. */
gboolean    ow_test_wiped_exactly     (gconstpointer   data,
                                       gsize           len);
/* How many regions seen were exactly @len bytes of @data. */
guint       ow_test_wiped_count       (gconstpointer   data,
                                       gsize           len);
/* Whether one region seen satisfies @match. */
gboolean    ow_test_wiped_any         (gboolean      (*match) (const guint8 *data,
                                                               gsize         len));

G_END_DECLS
