/* gw-log.h: structured logging, one logfmt line per record, on stderr
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* @level: "debug", "info" or "warning". */
void gw_log_init (const char *level);

G_END_DECLS
