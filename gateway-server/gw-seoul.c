/* gw-seoul.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-seoul.h"

GTimeZone *
gw_seoul_zone (void)
{
  GTimeZone *zone = g_time_zone_new_identifier ("Asia/Seoul");

  /* Without tzdata, the fixed offset is the same thing. */
  return zone ? zone : g_time_zone_new_offset (9 * 3600);
}

char *
gw_seoul_format (gint64      when,
                 const char *format)
{
  g_autoptr(GTimeZone) zone = gw_seoul_zone ();
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (when);
  g_autoptr(GDateTime) local = g_date_time_to_timezone (utc, zone);

  return g_date_time_format (local, format);
}
