/* gw-seoul.h: days, months and times as Korea counts them
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Settlement days, statement months and the dates read out by the ARS are
 * those of Seoul (UTC+9, no daylight saving).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

GTimeZone *gw_seoul_zone    (void);
/* @when (unix seconds) in Seoul, formatted with g_date_time_format (). */
char      *gw_seoul_format  (gint64       when,
                             const char  *format);

G_END_DECLS
