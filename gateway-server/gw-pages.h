/* gw-pages.h: the cyber card site's static pages, served from a GResource
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Whether a request that matched no API route is the site's to answer: a GET
 * or HEAD outside /v1, so the site never shadows the API or /metrics. */
gboolean gw_pages_claims (const char        *method,
                         const char        *path);
/* Sets @msg's status, headers and body for @path: the page, 304 when the
 * client's copy is current, or the site's 404 page. Returns the status. */
guint    gw_pages_serve  (SoupServerMessage *msg,
                         const char        *path,
                         gboolean           https);

/* The headers every page of ours carries: @policy as its
 * Content-Security-Policy, no framing, no sniffing, no referrer, and a
 * browsing context of its own, so the window that opened a page can
 * neither read it nor navigate it somewhere else. */
void     gw_pages_set_headers (SoupMessageHeaders *headers,
                              const char         *policy,
                              gboolean            https);

G_END_DECLS
