/* onepin-soup-server.h: what the project's libsoup 3.2 servers need beyond libsoup
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* How often idle connections are looked at, in seconds. */
#define ONEPIN_SOUP_REAP_INTERVAL 2

void     onepin_soup_server_reap_closed (SoupServer *soup);
gboolean onepin_soup_socket_gone        (GSocket    *socket);

G_END_DECLS
