/* test-net.c: which addresses the gateway may reach on a merchant's behalf,
 * and whose a client's address is
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-net.h"

static gboolean
is_public (const char *text)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (text);

  g_assert_nonnull (address);
  return gw_net_address_is_public (address);
}

/* That @judge says @expected of each of the @n @texts. */
static void
assert_each (gboolean          (*judge) (const char *text),
             const char *const  *texts,
             guint               n,
             gboolean            expected)
{
  for (guint i = 0; i < n; i++)
    {
      g_test_message ("\"%s\"", texts[i]);
      g_assert_cmpint (judge (texts[i]), ==, expected);
    }
}

/* Every kind of internal address, the IPv6 forms of IPv4 ones, and the
 * public neighbours of each block's edges. */
static void
test_address_is_public (void)
{
  static const char *internal[] = {
    "127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255",
    "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "100.127.255.255", "192.0.0.8", "192.0.2.1", "198.18.0.1", "198.19.255.255",
    "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
    "255.255.255.255",
    "::", "::1", "fe80::1", "febf::1", "fec0::1", "fc00::1", "fd12:3456::1", "ff02::1",
    "ff0e::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
    "::ffff:0.0.0.0", "::127.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::1", "2002:a9fe:a9fe::",
    "2001:db8::1", "3fff::1", "3fff:fff::1", "100::1", "4000::1",
  };
  static const char *public[] = {
    "93.184.216.34", "8.8.8.8", "1.1.1.1", "11.0.0.1", "9.255.255.255", "172.15.255.255",
    "172.32.0.1", "192.167.255.255", "192.169.0.1", "169.253.255.255", "169.255.0.1",
    "100.63.255.255", "100.128.0.1", "126.255.255.255", "128.0.0.1", "198.17.255.255",
    "198.20.0.0", "223.255.255.254",
    "2606:2800:220:1:248:1893:25c8:1946", "2001:4860:4860::8888", "::ffff:93.184.216.34",
    "64:ff9b::5db8:d822", "2002:5db8:d822::1", "2a00:1450:4001::1", "3fff:1000::1",
  };

  assert_each (is_public, internal, G_N_ELEMENTS (internal), FALSE);
  assert_each (is_public, public, G_N_ELEMENTS (public), TRUE);
}

/* A URL's host: localhost by name, literals in every spelling the resolver
 * reads; other names pass (their addresses are checked on connecting). */
static void
test_host_may_be_public (void)
{
  static const char *internal[] = {
    "", "localhost", "LocalHost", "localhost.", "api.localhost", "a.b.LOCALHOST.",
    "127.0.0.1", "127.1", "0x7f.0.0.1", "0177.0.0.1", "2130706433", "0", "10.1",
    "169.254.169.254", "100.64.0.1", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "fe80::1",
    "fe80::1%eth0", "fd00::1", "0:0:0:0:0:0:0:1",
    /* Folded by IDNA before the resolver sees them. */
    "ｌｏｃａｌｈｏｓｔ", "１２７.０.０.１", "127。0。0。1", "api．localhost",
  };
  static const char *maybe[] = {
    "example.com", "mall.example", "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946",
    "localhost.example.com", "mylocalhost", "localhost-mall.example", "1e100.net",
    "bücher.example", "한국.example",
  };

  g_assert_false (gw_net_host_may_be_public (NULL));
  assert_each (gw_net_host_may_be_public, internal, G_N_ELEMENTS (internal), FALSE);
  assert_each (gw_net_host_may_be_public, maybe, G_N_ELEMENTS (maybe), TRUE);
}

/* A URL's host and port: a DNS name, a dotted quad or an IPv6 literal
 * (zone as RFC 6874 spells it), a port of 1 to 65535 or none. */
static void
test_url_authority_ok (void)
{
  static const char *bad[] = {
    "mall.example", "https://", "https:///x", "https://:443/x", "https://mall example/x",
    "https://mall.example:0/x", "https://mall.example:/x", "https://mall.example:65536/x",
    "https://mall.example:000443/x", "https://mall.example:44a/x", "https://mall.example:1:2/x",
    "https://mall\\example/x", "https://mall\\.example/x", "https://mall..example/x",
    "https://.mall.example/x", "https://mall.example../x", "https://./x", "https://-a.example/x",
    "https://a-.example/x", "https://a_b.example/x", "https://m%61ll.example/x",
    "https://user@mall.example/x", "https://bücher.example/x", "https://127.1/x",
    "https://2130706433/x", "https://0x7f.0.0.1/x", "https://0177.0.0.1/x", "https://1.2.3.4./x",
    "https://256.1.1.1/x", "https://1.2.3.4.5/x", "https://1.2.3.0x4/x", "https://a.0x/x",
    "https://[1.2.3.4]/x", "https://[v1.x]/x", "https://[::1/x", "https://[::1]x/x",
    "https://[::1]:0/x", "https://[fe80::1%eth0]/x", "https://[fe80::1%25]/x",
    "https://[fe80::1%25e/h]/x",
    "https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example/x",
  };
  static const char *good[] = {
    "https://mall.example", "https://mall.example/x", "https://MALL-1.example.:1/x?a#b",
    "https://mall.example:65535/x", "https://mall.example:0443/x", "https://e#x",
    "https://xn--bcher-kva.example/x", "https://1e100.net/x", "https://123.example/x",
    "https://93.184.216.34/x", "https://0.0.0.0:8443/x", "https://[::1]/x",
    "https://[2606:2800:220:1:248:1893:25c8:1946]:443/x", "https://[::ffff:127.0.0.1]/x",
    "https://[fe80::1%25eth0]/x", "http://localhost:8080/x",
    "https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example/x",
  };
  g_autoptr(GString) longest = g_string_new ("https://");
  g_autofree char *a63 = g_strnfill (63, 'a');

  g_assert_false (gw_net_url_authority_ok (NULL));
  assert_each (gw_net_url_authority_ok, bad, G_N_ELEMENTS (bad), FALSE);
  assert_each (gw_net_url_authority_ok, good, G_N_ELEMENTS (good), TRUE);
  /* 253 characters, one trailing dot more; 254 are too many. */
  for (guint i = 0; i < 4; i++)
    g_string_append_printf (longest, "%.*s.", i == 1 || i == 2 ? 63 : 62, a63);
  g_string_truncate (longest, longest->len - 1);
  g_assert_cmpuint (longest->len - strlen ("https://"), ==, 253);
  g_assert_true (gw_net_url_authority_ok (longest->str));
  g_string_append (longest, "./x");
  g_assert_true (gw_net_url_authority_ok (longest->str));
  g_string_insert_c (longest, strlen ("https://"), 'a');
  g_assert_false (gw_net_url_authority_ok (longest->str));
}

/* Keys of the per-address limits: IPv4 addresses apart, IPv6 ones by /64,
 * an IPv4-mapped address with its IPv4 one. */
static void
test_address_key (void)
{
  static const struct { const char *host; const char *key; } keys[] = {
    { "192.0.2.1", "192.0.2.1" },
    { "192.0.2.2", "192.0.2.2" },
    { "127.0.0.1", "127.0.0.1" },
    { "::ffff:192.0.2.1", "192.0.2.1" },
    { "::FFFF:127.0.0.1", "127.0.0.1" },
    { "::ffff:c000:201", "192.0.2.1" },
    { "2001:db8:1:2::1", "2001:db8:1:2::/64" },
    { "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64" },
    { "2001:0DB8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64" },
    { "2001:db8:1:3::1", "2001:db8:1:3::/64" },
    { "2001:db8::1", "2001:db8::/64" },
    { "::1", "::/64" },
    { "::", "::/64" },
    { "fe80::1", "fe80::/64" },
    { "not an address", "not an address" },
    { NULL, "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autofree char *key = gw_net_address_key (keys[i].host);

      g_test_message ("\"%s\"", keys[i].host);
      g_assert_cmpstr (key, ==, keys[i].key);
    }
}

static void
test_origin_is_own (void)
{
  static const struct { const char *origin, *host, *public_url; gboolean own; } cases[] = {
    { "http://127.0.0.1:8080", "127.0.0.1:8080", NULL, TRUE },
    { "https://127.0.0.1:8080", "127.0.0.1:8080", NULL, TRUE },      /* behind a TLS proxy */
    { "http://CARDS.example:8080", "cards.example:8080", NULL, TRUE },
    { "http://[::1]:8080", "[::1]:8080", NULL, TRUE },
    { "http://127.0.0.1", "127.0.0.1:8080", NULL, FALSE },
    { "http://127.0.0.1:8081", "127.0.0.1:8080", NULL, FALSE },
    { "http://127.0.0.1:8080", NULL, NULL, FALSE },
    { "https://evil.example", "cards.example", NULL, FALSE },
    { "null", "cards.example", NULL, FALSE },
    { "file://", "", NULL, FALSE },
    { "https://", "", NULL, FALSE },
    { "ftp://cards.example", "cards.example", NULL, FALSE },
    { "https://cards.example", "10.0.0.2:8080", "https://cards.example/", TRUE },
    { "https://cards.example", "10.0.0.2:8080", "https://Cards.Example:443/site", TRUE },
    { "http://cards.example", "10.0.0.2:8080", "https://cards.example/", FALSE },
    { "https://cards.example:8443", "10.0.0.2:8080", "https://cards.example:8443", TRUE },
    { "https://cards.example", "10.0.0.2:8080", "https://cards.example:8443", FALSE },
    { "http://[2001:db8::1]", "10.0.0.2:8080", "http://[2001:DB8::1]:80/", TRUE },
    { "https://cards.example", "10.0.0.2:8080", "not a url", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s %s %s", cases[i].origin, cases[i].host, cases[i].public_url);
      g_assert_cmpint (gw_net_origin_is_own (cases[i].origin, cases[i].host,
                                             cases[i].public_url), ==, cases[i].own);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/address-is-public", test_address_is_public);
  g_test_add_func ("/net/host-may-be-public", test_host_may_be_public);
  g_test_add_func ("/net/url-authority-ok", test_url_authority_ok);
  g_test_add_func ("/net/address-key", test_address_key);
  g_test_add_func ("/net/origin-is-own", test_origin_is_own);
  return g_test_run ();
}
