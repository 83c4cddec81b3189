/* test-connections.c: how many connections the gateway holds, and how long
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Raw sockets against the real gateway: running out of files, the cap on
 * connections, the idle, body and send deadlines, and TLS handshakes that
 * stall, stop halfway or come many at once from one address.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "onepin-test-gateway.h"

#define HEALTHZ "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"

static guint16
port_of (OtGateway *gw)
{
  const char *colon = strrchr (ot_gateway_url (gw), ':');

  g_assert_nonnull (colon);
  return (guint16) atoi (colon + 1);
}

/* A TCP connection to @gw on 127.0.0.1, from @from (another loopback
 * address, or NULL). */
static int
raw_connect (OtGateway  *gw,
             const char *from)
{
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (port_of (gw)) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  inet_pton (AF_INET, "127.0.0.1", &to.sin_addr);
  if (from != NULL)
    {
      struct sockaddr_in here = { .sin_family = AF_INET };

      inet_pton (AF_INET, from, &here.sin_addr);
      g_assert_cmpint (bind (fd, (struct sockaddr *) &here, sizeof here), ==, 0);
    }
  g_assert_cmpint (connect (fd, (struct sockaddr *) &to, sizeof to), ==, 0);
  return fd;
}

static void
raw_send (int         fd,
          const char *text)
{
  g_assert_cmpint (send (fd, text, strlen (text), MSG_NOSIGNAL), ==, (gssize) strlen (text));
}

/* What arrives within @ms (-1: the connection was closed, or reset, with
 * nothing; NULL for @out when nothing came). */
static gssize
raw_read (int    fd,
          int    ms,
          char **out)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  char buf[4096];
  gssize n;

  if (out != NULL)
    *out = NULL;
  if (poll (&p, 1, ms) <= 0)
    return 0;
  n = recv (fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  if (out != NULL)
    *out = g_strdup (buf);
  return n;
}

/* A whole answer to GET /healthz (its body ends the JSON), or NULL. */
static char *
read_healthz (int fd,
              int ms)
{
  g_autoptr(GString) all = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + ms * 1000;

  while (!g_str_has_suffix (all->str, "}"))
    {
      int left = (int) ((deadline - g_get_monotonic_time ()) / 1000);
      g_autofree char *part = NULL;

      if (left <= 0 || raw_read (fd, left, &part) <= 0)
        return NULL;
      g_string_append (all, part);
    }
  return g_string_free (g_steal_pointer (&all), FALSE);
}

/* Whether a GET /healthz on a new connection is answered 200 within @ms. */
static gboolean
healthz_within (OtGateway *gw,
                int        ms)
{
  int fd = raw_connect (gw, NULL);
  g_autofree char *answer = NULL;

  raw_send (fd, HEALTHZ);
  answer = read_healthz (fd, ms);
  close (fd);
  return answer != NULL && g_str_has_prefix (answer, "HTTP/1.1 200");
}

/* Whether the gateway closes @fd within @ms. */
static gboolean
closed_within (int fd,
               int ms)
{
  gint64 deadline = g_get_monotonic_time () + ms * 1000;

  for (;;)
    {
      int left = (int) ((deadline - g_get_monotonic_time ()) / 1000);
      gssize n;

      if (left <= 0)
        return FALSE;
      n = raw_read (fd, left, NULL);
      if (n < 0)
        return TRUE;
    }
}

static void
set_fd_limit (GPid  pid,
              rlim_t soft,
              rlim_t hard)
{
  struct rlimit limit = { .rlim_cur = soft, .rlim_max = hard };

  g_assert_cmpint (prlimit (pid, RLIMIT_NOFILE, &limit, NULL), ==, 0);
}

static rlim_t
soft_fd_limit (GPid pid)
{
  struct rlimit limit;

  g_assert_cmpint (prlimit (pid, RLIMIT_NOFILE, NULL, &limit), ==, 0);
  return limit.rlim_cur;
}

/* systemd's soft limit (1024) is below the hard one: the gateway takes the
 * hard one. */
static void
test_fd_limit_raised (void)
{
  struct rlimit mine;
  OtGateway *gw;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &mine), ==, 0);
  if (mine.rlim_max <= 256)
    {
      g_test_skip ("the hard limit on open files is too low");
      return;
    }
  set_fd_limit (0, 256, mine.rlim_max);
  gw = ot_gateway_start (NULL, FALSE);
  set_fd_limit (0, mine.rlim_cur, mine.rlim_max);
  g_assert_cmpuint (soft_fd_limit (ot_gateway_pid (gw)), ==, mine.rlim_max);
  ot_gateway_stop (gw);
}

/* Out of files: accept () fails (EMFILE) while the clients hold them; once
 * they let go, the gateway accepts and serves again. libsoup 3.2's own
 * listener stopped accepting for good at the first failure. */
static void
test_out_of_files_recovers (void)
{
  OtGateway *gw = ot_gateway_start (NULL, FALSE);
  int fds[120];

  /* Lowered once it runs, under its default max_connections: so accept ()
   * itself fails. */
  set_fd_limit (ot_gateway_pid (gw), 64, 64);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    fds[i] = raw_connect (gw, NULL);
  g_usleep (500 * 1000);
  g_assert_false (healthz_within (gw, 300));
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    close (fds[i]);
  g_assert_true (healthz_within (gw, 3000));
  g_assert_true (healthz_within (gw, 3000));
  ot_gateway_stop (gw);
}

/* At max_connections, a newcomer waits (the kernel holds it) and is served
 * once others close. */
static void
test_cap_delays (void)
{
  OtGateway *gw = ot_gateway_start ("[gateway]\nmax_connections=4", FALSE);
  g_autofree char *answer = NULL;
  int held[4];
  int late;

  for (guint i = 0; i < G_N_ELEMENTS (held); i++)
    held[i] = raw_connect (gw, NULL);
  g_usleep (300 * 1000);
  late = raw_connect (gw, NULL);
  raw_send (late, HEALTHZ);
  g_assert_cmpint (raw_read (late, 700, NULL), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (held); i++)
    close (held[i]);
  answer = read_healthz (late, 3000);
  g_assert_nonnull (answer);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 200"));
  close (late);
  g_assert_true (healthz_within (gw, 3000));
  ot_gateway_stop (gw);
}

/* A connection that says nothing, one whose request head stops halfway, a
 * body that stops, and a kept-alive connection after its answer: each is
 * closed after its deadline; a request being handled is not. */
static void
test_idle_closed (void)
{
  OtGateway *gw = ot_gateway_start ("[gateway]\nidle_timeout=1\nbody_timeout=1", FALSE);
  int silent = raw_connect (gw, NULL);
  int head = raw_connect (gw, NULL);
  int body = raw_connect (gw, NULL);
  int kept = raw_connect (gw, NULL);
  g_autofree char *answer = NULL;

  raw_send (head, "GET /healthz HTTP/1.1\r\nHost: t\r\n");
  raw_send (body, "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc");
  raw_send (kept, HEALTHZ);
  answer = read_healthz (kept, 2000);
  g_assert_nonnull (answer);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 200"));
  /* Within the deadline it is still served, on the same connection. */
  g_usleep (300 * 1000);
  g_clear_pointer (&answer, g_free);
  raw_send (kept, HEALTHZ);
  answer = read_healthz (kept, 2000);
  g_assert_nonnull (answer);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 200"));

  g_assert_true (closed_within (silent, 3000));
  g_assert_true (closed_within (head, 3000));
  g_assert_true (closed_within (body, 3000));
  g_assert_true (closed_within (kept, 3000));
  close (silent);
  close (head);
  close (body);
  close (kept);
  g_assert_true (healthz_within (gw, 3000));
  ot_gateway_stop (gw);
}

/* Clients that open a TLS record and stop: a real HTTPS request is served
 * meanwhile, and they are closed after the handshake's deadline. */
static void
test_tls_stall (void)
{
  OtGateway *gw = ot_gateway_start ("[tls]\nhandshake_timeout=2", TRUE);
  int stalled[120];
  gint64 start;
  OtResponse *r;

  for (guint i = 0; i < G_N_ELEMENTS (stalled); i++)
    {
      g_autofree char *from = g_strdup_printf ("127.0.0.%u", 2 + i % 60);

      stalled[i] = raw_connect (gw, from);
      g_assert_cmpint (send (stalled[i], "\x16\x03\x01\x00\x50", 5, MSG_NOSIGNAL), ==, 5);
    }
  g_usleep (200 * 1000);
  start = g_get_monotonic_time ();
  r = ot_request (gw, "GET", "/healthz", NULL, NULL, NULL);
  ot_assert_status (r, 200);
  ot_response_free (r);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  for (guint i = 0; i < G_N_ELEMENTS (stalled); i++)
    {
      g_assert_true (closed_within (stalled[i], 4000));
      close (stalled[i]);
    }
  ot_gateway_stop (gw);
}

/* The CPU time (utime + stime, in clock ticks) @pid has used so far. */
static guint64
cpu_ticks (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  g_auto(GStrv) fields = NULL;

  g_assert_true (g_file_get_contents (path, &stat, NULL, NULL));
  /* After the command's name, in parentheses: field 3 (state) on. */
  fields = g_strsplit (strrchr (stat, ')') + 2, " ", 0);
  g_assert_cmpuint (g_strv_length (fields), >, 12);
  return g_ascii_strtoull (fields[11], NULL, 10) + g_ascii_strtoull (fields[12], NULL, 10);
}

/* A client that sends part of a TLS record and then shuts its side: the
 * socket reads its end with bytes still missing. It is closed at once, and
 * the gateway does not spin on it meanwhile (it did, until the deadline). */
static void
test_tls_half_record_shut (void)
{
  OtGateway *gw = ot_gateway_start ("[tls]\nhandshake_timeout=5", TRUE);
  GPid pid = ot_gateway_pid (gw);
  const char *shapes[] = { "\x16\x03\x01\x02\x00" "0123456789", "\x16\x03" };
  int fds[G_N_ELEMENTS (shapes)];
  guint64 before;
  OtResponse *r;

  g_usleep (200 * 1000);
  before = cpu_ticks (pid);
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      fds[i] = raw_connect (gw, NULL);
      raw_send (fds[i], shapes[i]);
      g_assert_cmpint (shutdown (fds[i], SHUT_WR), ==, 0);
    }
  g_usleep (G_USEC_PER_SEC);
  /* A spinning loop takes about 100 ticks a second. */
  g_assert_cmpuint (cpu_ticks (pid) - before, <, 30);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    g_assert_true (closed_within (fds[i], 100));
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    close (fds[i]);
  r = ot_request (gw, "GET", "/healthz", NULL, NULL, NULL);
  ot_assert_status (r, 200);
  ot_response_free (r);
  ot_gateway_stop (gw);
}

typedef struct
{
  guint pending;
  guint done;
} Burst;

static gboolean
accept_any (GTlsConnection       *tls,
            GTlsCertificate      *certificate,
            GTlsCertificateFlags  errors)
{
  return TRUE;
}

static void
on_client_handshake (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Burst *burst = user_data;
  g_autoptr(GError) error = NULL;

  if (g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    burst->done++;
  else
    g_test_message ("handshake: %s", error->message);
  burst->pending--;
}

/* A pool of connections from one address handshaking at once (more than
 * handshakes_per_address): the ones past the limit wait their turn; none
 * is closed. */
static void
tls_burst_one_address (void)
{
  OtGateway *gw = ot_gateway_start ("[tls]\nhandshake_timeout=5\nhandshakes_per_address=4",
                                    TRUE);
  g_autoptr(GMainContext) context = g_main_context_new ();
  GIOStream *clients[12];
  Burst burst = { 0 };

  g_main_context_push_thread_default (context);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      g_autoptr(GSocket) socket = g_socket_new_from_fd (raw_connect (gw, NULL), NULL);
      g_autoptr(GSocketConnection) plain = g_socket_connection_factory_create_connection (socket);
      g_autoptr(GError) error = NULL;

      clients[i] = g_tls_client_connection_new (G_IO_STREAM (plain), NULL, &error);
      g_assert_no_error (error);
      g_signal_connect (clients[i], "accept-certificate", G_CALLBACK (accept_any), NULL);
    }
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      burst.pending++;
      g_tls_connection_handshake_async (G_TLS_CONNECTION (clients[i]), G_PRIORITY_DEFAULT, NULL,
                                        on_client_handshake, &burst);
    }
  while (burst.pending > 0)
    g_main_context_iteration (context, TRUE);
  g_assert_cmpuint (burst.done, ==, G_N_ELEMENTS (clients));
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      g_io_stream_close (clients[i], NULL, NULL);
      g_object_unref (clients[i]);
    }
  g_main_context_pop_thread_default (context);
  ot_gateway_stop (gw);
}

/* Runs @test, a TLS client's, in a child that leaves with _exit (): after
 * a dozen GnuTLS client handshakes in this process, LeakSanitizer's
 * exit-time tracer faulted every time (as it does in an HTTPS gateway, see
 * onepin-test-gateway.c). The assertions, and ASan's other checks, still
 * run in the child. */
static void
run_in_child (void (*test) (void))
{
  if (g_test_subprocess ())
    {
      test ();
      _exit (0);
    }
  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDOUT |
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_tls_burst_one_address (void)
{
  run_in_child (tls_burst_one_address);
}

/* One client, one connection at a time, each closed after its answer: the
 * cap counts only the connections really open, so it is never reached. */
static void
test_cap_counts_closed (void)
{
  OtGateway *gw = ot_gateway_start ("[gateway]\nmax_connections=4", FALSE);
  gint64 end = g_get_monotonic_time () + G_USEC_PER_SEC;
  guint served = 0;

  while (g_get_monotonic_time () < end)
    {
      int fd = raw_connect (gw, NULL);
      g_autofree char *answer = NULL;

      raw_send (fd, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
      answer = read_healthz (fd, 3000);
      g_assert_nonnull (answer);
      close (fd);
      served++;
    }
  g_test_message ("%u requests in 1 s", served);
  g_assert_cmpuint (served, >=, 50);
  ot_gateway_stop (gw);
}

/* A counter or gauge from GET /metrics. */
static gint64
metric (OtGateway  *gw,
        const char *name)
{
  g_autoptr(OtResponse) r = ot_request (gw, "GET", "/metrics", NULL, NULL, NULL);
  g_autofree char *prefix = g_strdup_printf ("\n%s ", name);
  const char *line;

  ot_assert_status (r, 200);
  line = strstr (r->body, prefix);
  g_assert_nonnull (line);
  return g_ascii_strtoll (line + strlen (prefix), NULL, 10);
}

/* Whether a GET /healthz from @from on a new connection is answered 200. */
static gboolean
healthz_from (OtGateway  *gw,
              const char *from,
              gboolean    close_after)
{
  int fd = raw_connect (gw, from);
  g_autofree char *answer = NULL;

  raw_send (fd, close_after ? "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                            : HEALTHZ);
  answer = read_healthz (fd, 3000);
  close (fd);
  return answer != NULL && g_str_has_prefix (answer, "HTTP/1.1 200");
}

/* One address holds at most connections_per_address: one more is closed
 * unread, while other addresses are served; a place freed is taken again,
 * and a client opening a connection per request is not held to it. */
static void
test_per_address_cap (void)
{
  OtGateway *gw = ot_gateway_start ("[gateway]\nconnections_per_address=4", FALSE);
  int held[4];
  int over;

  for (guint i = 0; i < G_N_ELEMENTS (held); i++)
    {
      g_autofree char *answer = NULL;

      held[i] = raw_connect (gw, "127.0.0.2");
      raw_send (held[i], HEALTHZ);
      answer = read_healthz (held[i], 3000);
      g_assert_nonnull (answer);
    }
  over = raw_connect (gw, "127.0.0.2");
  g_assert_true (closed_within (over, 2000));
  close (over);
  g_assert_cmpint (metric (gw, "onepin_connections_refused_total"), ==, 1);
  g_assert_cmpint (metric (gw, "onepin_connections_open"), >=, 4);
  g_assert_true (healthz_from (gw, "127.0.0.3", FALSE));

  /* a place freed is another's, whichever HTTP thread had it */
  close (held[0]);
  {
    gint64 deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;

    while (!healthz_from (gw, "127.0.0.2", FALSE))
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_usleep (100 * 1000);
      }
  }
  for (guint i = 1; i < G_N_ELEMENTS (held); i++)
    close (held[i]);

  /* A connection per request, closed after its answer, never meets the
   * cap: its place is given back as libsoup lets it go, on whichever HTTP
   * thread accepted it. */
  {
    gint64 refused = metric (gw, "onepin_connections_refused_total");

    g_usleep (600 * 1000);
    for (guint i = 0; i < 40; i++)
      g_assert_true (healthz_from (gw, "127.0.0.2", TRUE));
    g_assert_cmpint (metric (gw, "onepin_connections_refused_total"), ==, refused);
    /* none of them still counted: only the metrics' own connection */
    g_assert_cmpint (metric (gw, "onepin_connections_open"), ==, 1);
  }
  ot_gateway_stop (gw);
}

/* A large answer: the card site's biggest script (about 57 KB). */
#define BIG_GET "GET /js/strings.js HTTP/1.1\r\nHost: t\r\n\r\n"
#define BIG_GETS 64

/* A connection with a small receive buffer. */
static int
connect_small (OtGateway *gw)
{
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (port_of (gw)) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int size = 4096;

  g_assert_cmpint (fd, >=, 0);
  /* Before connect (), so that the window it announces is small too. */
  g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size), ==, 0);
  inet_pton (AF_INET, "127.0.0.1", &to.sin_addr);
  g_assert_cmpint (connect (fd, (struct sockaddr *) &to, sizeof to), ==, 0);
  return fd;
}

/* One that has asked for BIG_GETS large answers at once (over 3 MB, more
 * than the kernel buffers). */
static int
connect_greedy (OtGateway *gw)
{
  int fd = connect_small (gw);

  for (guint i = 0; i < BIG_GETS; i++)
    raw_send (fd, BIG_GET);
  return fd;
}

/* Whether @fd ends (closed or reset) within @ms, its buffered bytes read. */
static gboolean
drained_to_end (int fd,
                int ms)
{
  gint64 deadline = g_get_monotonic_time () + ms * 1000;
  gsize total = 0;

  for (;;)
    {
      int left = (int) ((deadline - g_get_monotonic_time ()) / 1000);
      gssize n;

      if (left <= 0)
        {
          g_test_message ("still open after %" G_GSIZE_FORMAT " bytes", total);
          return FALSE;
        }
      n = raw_read (fd, left, NULL);
      if (n < 0)
        return TRUE;
      total += n;
    }
}

/* A client that asks for large answers and never reads them holds its
 * connection (a place under max_connections, a file, the answers) only
 * send_timeout seconds; other clients are served meanwhile and after. */
static void
test_send_stall_closed (void)
{
  OtGateway *gw = ot_gateway_start ("[gateway]\nsend_timeout=1\nmax_connections=2", FALSE);
  int greedy = connect_greedy (gw);
  int other;

  g_assert_true (healthz_within (gw, 1000));
  g_usleep (3 * G_USEC_PER_SEC);
  /* The greedy one's place is free again: with another held, a third
   * client is served. */
  other = raw_connect (gw, NULL);
  g_assert_true (healthz_within (gw, 2000));
  close (other);
  /* Of over 3 MB asked, what was buffered, and then the end. */
  g_assert_true (drained_to_end (greedy, 2000));
  close (greedy);
  ot_gateway_stop (gw);
}

/* The same over TLS, where GnuTLS holds what the kernel does not take. */
static void
send_stall_closed_tls (void)
{
  OtGateway *gw = ot_gateway_start ("[gateway]\nsend_timeout=1\nmax_connections=2\n"
                                    "[tls]\nhandshake_timeout=60", TRUE);
  g_autoptr(GSocket) socket = g_socket_new_from_fd (connect_small (gw), NULL);
  g_autoptr(GSocketConnection) plain = g_socket_connection_factory_create_connection (socket);
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) error = NULL;
  OtResponse *r;
  char buf[65536];
  gssize n;
  int other;

  tls = g_tls_client_connection_new (G_IO_STREAM (plain), NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_any), NULL);
  for (guint i = 0; i < BIG_GETS; i++)
    g_output_stream_write_all (g_io_stream_get_output_stream (tls), BIG_GET, strlen (BIG_GET),
                               NULL, NULL, &error);
  g_assert_no_error (error);
  g_usleep (3 * G_USEC_PER_SEC);
  /* Held for the handshake's deadline, longer than the test. */
  other = raw_connect (gw, NULL);
  r = ot_request (gw, "GET", "/healthz", NULL, NULL, NULL);
  ot_assert_status (r, 200);
  ot_response_free (r);
  close (other);
  /* What was buffered, then the end (or a reset), not a wait. */
  g_socket_set_timeout (socket, 2);
  while ((n = g_input_stream_read (g_io_stream_get_input_stream (tls), buf, sizeof buf, NULL,
                                   &error)) > 0)
    ;
  if (error != NULL)
    g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
  g_io_stream_close (tls, NULL, NULL);
  ot_gateway_stop (gw);
}

static void
test_send_stall_closed_tls (void)
{
  run_in_child (send_stall_closed_tls);
}

/* A client that reads slowly, what it has every half second (a few KB),
 * is never cut: its answer moves, however slowly. (One that takes less than
 * its window's worth each time may leave TCP itself standing still for a
 * while: its kernel announces no window that small.) */
static void
test_slow_reader_kept (void)
{
  OtGateway *gw = ot_gateway_start ("[gateway]\nsend_timeout=1", FALSE);
  int slow = connect_greedy (gw);

  for (guint i = 0; i < 8; i++)
    {
      char buf[65536];

      g_usleep (G_USEC_PER_SEC / 2);
      g_assert_cmpint (recv (slow, buf, sizeof buf, MSG_DONTWAIT), >, 0);
    }
  close (slow);
  ot_gateway_stop (gw);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/connections/fd-limit-raised", test_fd_limit_raised);
  g_test_add_func ("/connections/out-of-files-recovers", test_out_of_files_recovers);
  g_test_add_func ("/connections/cap-delays", test_cap_delays);
  g_test_add_func ("/connections/idle-closed", test_idle_closed);
  g_test_add_func ("/connections/tls-stall", test_tls_stall);
  g_test_add_func ("/connections/tls-half-record-shut", test_tls_half_record_shut);
  g_test_add_func ("/connections/tls-burst-one-address", test_tls_burst_one_address);
  g_test_add_func ("/connections/cap-counts-closed", test_cap_counts_closed);
  g_test_add_func ("/connections/per-address-cap", test_per_address_cap);
  g_test_add_func ("/connections/send-stall-closed", test_send_stall_closed);
  g_test_add_func ("/connections/send-stall-closed-tls", test_send_stall_closed_tls);
  g_test_add_func ("/connections/slow-reader-kept", test_slow_reader_kept);
  return g_test_run ();
}
