/* test-metrics.c: who may read GET /metrics (gw_metrics_may_read)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The gateway under test listens on 127.0.0.1 only, so no request of the
 * integration tests comes from beyond this machine: the decision is
 * tested here, with the peers such a request would have.
 */
#include "gw-metrics.h"

#define TOKEN "mt_0123456789abcdef0123456789"

static gboolean
may_read (const char *peer,
          const char *authorization,
          const char *token)
{
  g_autoptr(GInetAddress) address = peer ? g_inet_address_new_from_string (peer) : NULL;

  g_assert_true (peer == NULL || address != NULL);
  return gw_metrics_may_read (address, authorization, token);
}

static const char *loopback[] = {
  "127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "::ffff:127.0.0.1", "::ffff:127.9.9.9",
};

/* Beyond this machine, private networks included: a proxy, a mall's
 * server or a NAT64 relay of a loopback address are all someone else. */
static const char *remote[] = {
  "93.184.216.34", "10.0.0.1", "192.168.1.1", "172.16.0.1", "0.0.0.0", "128.0.0.1",
  "126.255.255.255", "::", "::2", "fe80::1", "fd00::1", "2001:db8::1", "::ffff:10.0.0.1",
  "::ffff:128.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1",
};

/* Without credentials: this machine only, token or none; an unknown peer
 * (not an IP socket) is not this machine. */
static void
test_no_credentials (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (loopback); i++)
    {
      g_test_message ("%s", loopback[i]);
      g_assert_true (may_read (loopback[i], NULL, NULL));
      g_assert_true (may_read (loopback[i], NULL, TOKEN));
    }
  for (guint i = 0; i < G_N_ELEMENTS (remote); i++)
    {
      g_test_message ("%s", remote[i]);
      g_assert_false (may_read (remote[i], NULL, NULL));
      g_assert_false (may_read (remote[i], NULL, TOKEN));
    }
  g_assert_false (may_read (NULL, NULL, TOKEN));
  g_assert_false (may_read (NULL, NULL, NULL));
}

/* With the token, from anywhere; the scheme's name in any case. */
static void
test_token (void)
{
  const char *peers[] = { "93.184.216.34", "10.0.0.1", "2001:db8::1", "127.0.0.1", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    {
      g_assert_true (may_read (peers[i], "Bearer " TOKEN, TOKEN));
      g_assert_true (may_read (peers[i], "bearer " TOKEN, TOKEN));
      g_assert_true (may_read (peers[i], "Bearer   " TOKEN, TOKEN));
    }
}

/* A credential that is not the token is refused wherever it comes from,
 * this machine too; with no token configured, every credential is. */
static void
test_wrong_credentials (void)
{
  const char *wrong[] = {
    "Bearer", "Bearer ", "Bearer mt_0123456789abcdef012345678",  /* one short */
    "Bearer " TOKEN "0", "Bearer " TOKEN " ", "Bearer x" TOKEN, "Basic bXQ6eA==", TOKEN,
    "", "Bearer " TOKEN ", Bearer " TOKEN,   /* two headers, joined by libsoup */
    "Bearer MT_0123456789ABCDEF0123456789",
  };
  const char *peers[] = { "93.184.216.34", "127.0.0.1", "::1", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (wrong); i++)
    for (guint j = 0; j < G_N_ELEMENTS (peers); j++)
      {
        g_test_message ("\"%s\" from %s", wrong[i], peers[j] ? peers[j] : "(unknown)");
        g_assert_false (may_read (peers[j], wrong[i], TOKEN));
        g_assert_false (may_read (peers[j], wrong[i], NULL));
      }
  g_assert_false (may_read ("127.0.0.1", "Bearer " TOKEN, NULL));
  g_assert_false (may_read ("93.184.216.34", "Bearer " TOKEN, NULL));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/metrics/may-read/no-credentials", test_no_credentials);
  g_test_add_func ("/metrics/may-read/token", test_token);
  g_test_add_func ("/metrics/may-read/wrong-credentials", test_wrong_credentials);
  return g_test_run ();
}
