/* gw-log.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Records look like:
 *   time=2026-11-21T20:00:00.123Z level=info msg="request" route=/v1/payments status=200
 * Callers pass only routes, ids, counts and error messages of our own;
 * never a body, a header or a path, which is where secrets would be.
 */
#include "gw-log.h"

#include <stdio.h>
#include <string.h>

static GLogLevelFlags threshold = G_LOG_LEVEL_INFO;

static const char *
level_name (GLogLevelFlags level)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return "error";
  if (level & G_LOG_LEVEL_WARNING)
    return "warning";
  if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
    return "info";
  return "debug";
}

static void
append_value (GString    *line,
              const char *value,
              gssize      len)
{
  gsize n = len < 0 ? strlen (value) : (gsize) len;
  gboolean quote = n == 0 || memchr (value, ' ', n) || memchr (value, '"', n) ||
                   memchr (value, '=', n);

  if (quote)
    g_string_append_c (line, '"');
  for (gsize i = 0; i < n; i++)
    {
      char c = value[i];

      if (c == '"' || c == '\\')
        g_string_append_c (line, '\\');
      if (c == '\n')
        g_string_append (line, "\\n");
      else
        g_string_append_c (line, c);
    }
  if (quote)
    g_string_append_c (line, '"');
}

static GLogWriterOutput
writer (GLogLevelFlags   level,
        const GLogField *fields,
        gsize            n_fields,
        gpointer         user_data)
{
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *stamp = NULL;
  g_autoptr(GString) line = NULL;

  if ((level & G_LOG_LEVEL_MASK) > threshold)
    return G_LOG_WRITER_HANDLED;

  now = g_date_time_new_now_utc ();
  stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
  line = g_string_new ("time=");
  g_string_append (line, stamp);
  g_string_append (line, " level=");
  g_string_append (line, level_name (level));

  for (gsize i = 0; i < n_fields; i++)
    {
      const GLogField *field = &fields[i];
      g_autofree char *key = NULL;

      if (field->length < 0 && field->value == NULL)
        continue;
      if (g_str_equal (field->key, "PRIORITY") || g_str_equal (field->key, "GLIB_DOMAIN") ||
          g_str_equal (field->key, "GLIB_OLD_LOG_API") ||
          g_str_has_prefix (field->key, "CODE_"))
        continue;
      key = g_str_equal (field->key, "MESSAGE") ? g_strdup ("msg")
                                                : g_ascii_strdown (field->key, -1);
      g_string_append_printf (line, " %s=", key);
      append_value (line, field->value, field->length);
    }
  g_string_append_c (line, '\n');
  fputs (line->str, stderr);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
gw_log_init (const char *level)
{
  if (g_strcmp0 (level, "debug") == 0)
    threshold = G_LOG_LEVEL_DEBUG;
  else if (g_strcmp0 (level, "warning") == 0)
    threshold = G_LOG_LEVEL_WARNING;
  else
    threshold = G_LOG_LEVEL_INFO;
  g_log_set_writer_func (writer, NULL, NULL);
}
