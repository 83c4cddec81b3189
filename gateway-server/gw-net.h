/* gw-net.h: which addresses the gateway may reach on a merchant's behalf,
 * whose a client's address is, and what credential it sends
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A merchant names the URL its webhooks are POSTed to. Unless the operator
 * says otherwise ([webhooks] allow_private), that URL must not lead the
 * gateway back to itself or into the network it stands in (its admin API,
 * a cloud's metadata service, a database): only to addresses the internet
 * routes. The same test serves the endpoint's registration and the
 * address its connection actually reached.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Whether @address is a public unicast address: not loopback, unspecified,
 * private (RFC 1918), link-local, CGNAT (100.64/10), ULA (fc00::/7),
 * multicast, broadcast, reserved or documentation, nor an IPv6 form of
 * such an IPv4 address (mapped, NAT64, 6to4). */
gboolean gw_net_address_is_public   (GInetAddress *address);

/* Whether a client at @address is on this machine: 127.0.0.0/8, ::1, or
 * such an IPv4 address as a dual-stack socket shows it (::ffff:127.0.0.1).
 * Not NAT64 or 6to4 forms: a relay elsewhere brings those. */
gboolean gw_net_address_is_loopback (GInetAddress *address);

/* Whether a URL's @host may name a public address: FALSE for localhost and
 * names under it, and for an address literal that is not public (also the
 * numeric forms the resolver reads as IPv4, "127.1", "2130706433"); TRUE
 * for any other name, whose addresses only a connection reveals. */
gboolean gw_net_host_may_be_public  (const char   *host);

/* Whether the host and port of @url (scheme://host[:port]/…, user
 * information refused before) are plain: a DNS name of letters, digits and
 * hyphens (labels of 1 to 63, at most 253 in all, one trailing dot at
 * most), an IPv4 dotted quad or a bracketed IPv6 address, then no port or
 * one of 1 to 65535. Nothing percent-encoded, no IDN U-label (its
 * "xn--" form is a DNS name), no "127.1" or "0x7f.0.0.1". */
gboolean gw_net_url_authority_ok    (const char   *url);

/* The key under which the per-address limits count a client whose address
 * is @host (as text): an IPv4 address itself; an IPv6 address by its /64,
 * "2001:db8:1:2::/64", since one subscriber is handed a whole /64 and can
 * send from any address in it; an IPv4-mapped one (::ffff:a.b.c.d, how a
 * dual-stack socket shows an IPv4 client) as the IPv4 address. Anything
 * else, as it is ("" for NULL). */
char    *gw_net_address_key         (const char   *host);

/* Whether a browser's Origin header @origin names this gateway: the origin
 * of @public_url (the site's configured address, may be NULL), or the
 * scheme-less authority the request was sent to, its Host header @host. */
gboolean gw_net_origin_is_own       (const char   *origin,
                                     const char   *host,
                                     const char   *public_url);

/* The token of an Authorization header @value, "Bearer <token>" (the
 * scheme in any case), pointing into @value; NULL for none, another
 * scheme, or several headers (libsoup joins them with ", ": no token has
 * a comma, so two headers are no token rather than whichever one wins). */
const char *gw_net_bearer_token     (const char   *value);

G_END_DECLS
