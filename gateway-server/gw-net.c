/* gw-net.c: which addresses the gateway may reach on a merchant's behalf,
 * whose a client's address is, and what credential it sends
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GLib classifies loopback, the unspecified address, link-local,
 * site-local (RFC 1918 for IPv4, fec0::/10 for IPv6) and multicast; the
 * rest of IANA's special-purpose registries that matters here is below.
 */
#include "gw-net.h"

#include <arpa/inet.h>
#include <string.h>

typedef struct
{
  guint32 network;
  guint   bits;
} Block;

/* IPv4 blocks no one on the internet can be reached at, beyond GLib's. */
static const Block v4_reserved[] = {
  { 0x00000000, 8 },    /* 0.0.0.0/8: "this network"; Linux takes 0.0.0.0 for itself */
  { 0x64400000, 10 },   /* 100.64.0.0/10: carrier-grade NAT, a provider's inside */
  { 0xc0000000, 24 },   /* 192.0.0.0/24: IETF protocol assignments */
  { 0xc0000200, 24 },   /* 192.0.2.0/24: documentation */
  { 0xc6120000, 15 },   /* 198.18.0.0/15: benchmarking */
  { 0xc6336400, 24 },   /* 198.51.100.0/24: documentation */
  { 0xcb007100, 24 },   /* 203.0.113.0/24: documentation */
  { 0xf0000000, 4 },    /* 240.0.0.0/4: reserved, and the broadcast 255.255.255.255 */
};

/* ::ffff:a.b.c.d, an IPv4 address as a dual-stack socket shows it. */
static const guint8 v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static gboolean
v4_reserved_block (const guint8 *bytes)
{
  guint32 value = (guint32) bytes[0] << 24 | (guint32) bytes[1] << 16 |
                  (guint32) bytes[2] << 8 | bytes[3];

  for (guint i = 0; i < G_N_ELEMENTS (v4_reserved); i++)
    if (((value ^ v4_reserved[i].network) >> (32 - v4_reserved[i].bits)) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
v4_bytes_are_public (const guint8 *bytes)
{
  g_autoptr(GInetAddress) v4 = g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV4);

  return gw_net_address_is_public (v4);
}

static gboolean
v6_is_public (const guint8 *bytes)
{
  static const guint8 nat64[12] = { 0x00, 0x64, 0xff, 0x9b };

  /* An IPv4 address dressed as IPv6 leads where the IPv4 address does: a
   * dual-stack socket connects ::ffff:127.0.0.1 to 127.0.0.1, and NAT64
   * (64:ff9b::/96) and 6to4 (2002::/16) relays carry the embedded one. */
  if (memcmp (bytes, v4_mapped, 12) == 0 || memcmp (bytes, nat64, 12) == 0)
    return v4_bytes_are_public (bytes + 12);
  if (bytes[0] == 0x20 && bytes[1] == 0x02)
    return v4_bytes_are_public (bytes + 2);
  /* Only global unicast, 2000::/3, is routed: not ULA (fc00::/7), nor
   * ::/8 (IPv4-compatible, unspecified, loopback), 100::/64 (discard), … */
  if ((bytes[0] & 0xe0) != 0x20)
    return FALSE;
  /* Documentation: 2001:db8::/32 and 3fff::/20. */
  return memcmp (bytes, "\x20\x01\x0d\xb8", 4) != 0 &&
         !(bytes[0] == 0x3f && bytes[1] == 0xff && bytes[2] < 0x10);
}

gboolean
gw_net_address_is_public (GInetAddress *address)
{
  const guint8 *bytes = g_inet_address_to_bytes (address);

  if (g_inet_address_get_is_any (address) || g_inet_address_get_is_loopback (address) ||
      g_inet_address_get_is_link_local (address) || g_inet_address_get_is_site_local (address) ||
      g_inet_address_get_is_multicast (address))
    return FALSE;
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
    return !v4_reserved_block (bytes);
  return v6_is_public (bytes);
}

gboolean
gw_net_address_is_loopback (GInetAddress *address)
{
  const guint8 *bytes = g_inet_address_to_bytes (address);

  if (g_inet_address_get_is_loopback (address))
    return TRUE;
  return g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 &&
         memcmp (bytes, v4_mapped, sizeof v4_mapped) == 0 && bytes[12] == 127;
}

gboolean
gw_net_host_may_be_public (const char *host)
{
  /* Judged as the resolver will see it: IDNA folds "ｌｏｃａｌｈｏｓｔ",
   * "１２７.０.０.１" and "127。0。0。1" into their ASCII forms. */
  g_autofree char *ascii = host ? g_hostname_to_ascii (host) : NULL;
  g_autofree char *name = ascii ? g_ascii_strdown (ascii, -1) : NULL;
  g_autoptr(GInetAddress) address = NULL;
  struct in_addr v4;
  gsize len = name ? strlen (name) : 0;

  if (len == 0)
    return FALSE;
  /* A fully qualified "localhost." is the same machine. */
  if (len > 1 && name[len - 1] == '.')
    name[len - 1] = '\0';
  /* RFC 6761: localhost and every name under it are loopback, whatever DNS says. */
  if (g_str_equal (name, "localhost") || g_str_has_suffix (name, ".localhost"))
    return FALSE;
  address = g_inet_address_new_from_string (name);
  /* The resolver (getaddrinfo) also reads inet_aton's forms, "127.1",
   * "0x7f.0.0.1" or "2130706433", as IPv4 addresses. */
  if (address == NULL && inet_aton (name, &v4) != 0)
    address = g_inet_address_new_from_bytes ((const guint8 *) &v4.s_addr, G_SOCKET_FAMILY_IPV4);
  if (address != NULL)
    return gw_net_address_is_public (address);
  /* An IPv6 literal GLib does not read, with a zone ("fe80::1%eth0"), is
   * link-local; any other name is known only once resolved. */
  return strchr (name, ':') == NULL && strchr (name, '%') == NULL;
}

/* A label of a DNS name (RFC 1123): 1 to 63 letters, digits and hyphens,
 * neither first nor last a hyphen. */
static gboolean
ldh_label_ok (const char *label,
              gsize       len)
{
  if (len < 1 || len > 63 || label[0] == '-' || label[len - 1] == '-')
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (label[i]) && label[i] != '-')
      return FALSE;
  return TRUE;
}

/* Whether a name's last label is a number, decimal or "0x…": resolvers
 * (and browsers) then read the whole name as an IPv4 address. */
static gboolean
label_is_number (const char *label,
                 gsize       len)
{
  gsize i = 0;

  if (len >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X'))
    {
      for (i = 2; i < len && g_ascii_isxdigit (label[i]); i++)
        ;
      return i == len;
    }
  for (; i < len && g_ascii_isdigit (label[i]); i++)
    ;
  return i == len;
}

/* a.b.c.d, each 0 to 255 in decimal without a leading zero (which some
 * resolvers read as octal). */
static gboolean
dotted_quad_ok (const char *host,
                gsize       len)
{
  const char *p = host;
  const char *end = host + len;

  for (guint part = 0; part < 4; part++)
    {
      guint value = 0;
      gsize digits = 0;

      if (part > 0 && (p == end || *p++ != '.'))
        return FALSE;
      for (; p < end && g_ascii_isdigit (*p) && digits < 4; p++, digits++)
        value = value * 10 + (guint) (*p - '0');
      if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && p[-digits] == '0'))
        return FALSE;
    }
  return p == end;
}

/* A DNS name of at most 253 characters, with one trailing dot at most;
 * one that ends in a number only as a dotted quad. */
static gboolean
dns_name_ok (const char *host,
             gsize       len)
{
  const char *label = host;
  const char *end = host + len;
  const char *dot;

  if (len > 1 && host[len - 1] == '.')
    end--;
  if (end == host || end - host > 253)
    return FALSE;
  for (;;)
    {
      dot = memchr (label, '.', (gsize) (end - label));
      if (!ldh_label_ok (label, (gsize) ((dot ? dot : end) - label)))
        return FALSE;
      if (dot == NULL)
        break;
      label = dot + 1;
    }
  if (label_is_number (label, (gsize) (end - label)))
    return dotted_quad_ok (host, len);
  return TRUE;
}

/* [IPv6], with a zone at most as RFC 6874 spells it: "%25" and unreserved
 * characters. */
static gboolean
ipv6_literal_ok (const char *inside,
                 gsize       len)
{
  const char *zone = g_strstr_len (inside, (gssize) len, "%");
  gsize address_len = zone ? (gsize) (zone - inside) : len;
  g_autofree char *address = g_strndup (inside, address_len);
  g_autoptr(GInetAddress) parsed = g_inet_address_new_from_string (address);

  if (parsed == NULL || g_inet_address_get_family (parsed) != G_SOCKET_FAMILY_IPV6)
    return FALSE;
  if (zone == NULL)
    return TRUE;
  if (len - address_len < 4 || strncmp (zone, "%25", 3) != 0)
    return FALSE;
  for (const char *c = zone + 3; c < inside + len; c++)
    if (!g_ascii_isalnum (*c) && strchr ("-._~", *c) == NULL)
      return FALSE;
  return TRUE;
}

/* Empty, or ":" and a port of 1 to 65535. */
static gboolean
port_ok (const char *text,
         gsize       len)
{
  guint value = 0;

  if (len == 0)
    return TRUE;
  if (text[0] != ':' || len < 2 || len > 6)
    return FALSE;
  for (gsize i = 1; i < len; i++)
    {
      if (!g_ascii_isdigit (text[i]))
        return FALSE;
      value = value * 10 + (guint) (text[i] - '0');
    }
  return value >= 1 && value <= 65535;
}

gboolean
gw_net_url_authority_ok (const char *url)
{
  const char *authority = url ? strstr (url, "://") : NULL;
  const char *close;
  gsize len;

  if (authority == NULL)
    return FALSE;
  authority += 3;
  len = strcspn (authority, "/?#");
  if (authority[0] == '[')
    {
      close = memchr (authority, ']', len);
      return close != NULL && ipv6_literal_ok (authority + 1, (gsize) (close - authority - 1)) &&
             port_ok (close + 1, len - (gsize) (close + 1 - authority));
    }
  close = memchr (authority, ':', len);
  if (close == NULL)
    close = authority + len;
  return dns_name_ok (authority, (gsize) (close - authority)) &&
         port_ok (close, len - (gsize) (close - authority));
}

char *
gw_net_address_key (const char *host)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GInetAddress) prefix = NULL;
  g_autofree char *text = NULL;
  guint8 bytes[16];

  /* Every request asks: an IPv4 peer (libsoup's text is already the
   * canonical dotted quad) costs a copy, not a parse. */
  if (host == NULL || strchr (host, ':') == NULL)
    return g_strdup (host ? host : "");
  address = g_inet_address_new_from_string (host);
  if (address == NULL)
    return g_strdup (host);
  memcpy (bytes, g_inet_address_to_bytes (address), sizeof bytes);
  if (memcmp (bytes, v4_mapped, sizeof v4_mapped) == 0)
    {
      g_autoptr(GInetAddress) v4 = g_inet_address_new_from_bytes (bytes + 12,
                                                                  G_SOCKET_FAMILY_IPV4);

      return g_inet_address_to_string (v4);
    }
  /* The interface identifier, the last 64 bits, is the subscriber's to pick. */
  memset (bytes + 8, 0, 8);
  prefix = g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV6);
  text = g_inet_address_to_string (prefix);
  return g_strconcat (text, "/64", NULL);
}

/* "scheme://host[:port]", as a browser serializes the origin of @url. */
static char *
origin_of (const char *url)
{
  g_autoptr(GUri) uri = url ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;
  const char *host = uri ? g_uri_get_host (uri) : NULL;
  g_autofree char *lower = NULL;
  const char *open = "", *close = "";
  int port, default_port;

  if (host == NULL)
    return NULL;
  lower = g_ascii_strdown (host, -1);
  if (strchr (lower, ':') != NULL)
    open = "[", close = "]";
  port = g_uri_get_port (uri);
  default_port = g_str_equal (g_uri_get_scheme (uri), "https") ? 443 : 80;
  if (port == -1 || port == default_port)
    return g_strdup_printf ("%s://%s%s%s", g_uri_get_scheme (uri), open, lower, close);
  return g_strdup_printf ("%s://%s%s%s:%d", g_uri_get_scheme (uri), open, lower, close,
                          port);
}

gboolean
gw_net_origin_is_own (const char *origin,
                      const char *host,
                      const char *public_url)
{
  g_autofree char *public_origin = origin_of (public_url);
  const char *authority;

  if (public_origin != NULL && g_str_equal (origin, public_origin))
    return TRUE;
  /* The scheme is left out: behind a proxy that ends TLS, the page was
   * https while the gateway itself is reached over http. */
  if (g_str_has_prefix (origin, "http://"))
    authority = origin + strlen ("http://");
  else if (g_str_has_prefix (origin, "https://"))
    authority = origin + strlen ("https://");
  else
    return FALSE;
  return host != NULL && *authority != '\0' && g_ascii_strcasecmp (authority, host) == 0;
}

const char *
gw_net_bearer_token (const char *value)
{
  if (value == NULL || g_ascii_strncasecmp (value, "Bearer ", 7) != 0 || strchr (value, ','))
    return NULL;
  value += 7;
  while (*value == ' ')
    value++;
  return *value ? value : NULL;
}
