/* bench-server.h: what the benchmark's servers share
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

void bench_server_listen (SoupServer *server,
                          const char *listen);
void bench_server_run    (void);

G_END_DECLS
