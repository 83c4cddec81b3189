/* test-wallet-host.c: onepin-wallet-host between a browser and a wallet
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs the real onepin-wallet-host ($ONEPIN_WALLET_HOST) with pipes for
 * the browser's side and a temporary XDG_RUNTIME_DIR, where the test plays
 * the wallet: a Unix socket it listens on, accepts, reads and answers.
 */
#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TIMEOUT_MS 5000
#define FRAME_MAX (1024 * 1024)

typedef struct
{
  char        *runtime_dir;
  char        *socket_path;
  GSubprocess *host;
  int          to_host;
  int          from_host;
  GSocket     *listener;
} Fixture;

/* ---- Bytes on file descriptors, with a deadline ---- */

/* GSocket keeps its descriptors non-blocking: wait for room. */
static void
write_all (int           fd,
           const void   *data,
           gsize         len)
{
  const guint8 *p = data;

  while (len > 0)
    {
      struct pollfd pfd = { fd, POLLOUT, 0 };
      ssize_t n = write (fd, p, len);

      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          g_assert_cmpint (poll (&pfd, 1, TIMEOUT_MS), ==, 1);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      p += n;
      len -= (gsize) n;
    }
}

static void
send_frame (int         fd,
            const char *json,
            gsize       len)
{
  guint32 header = (guint32) len;

  write_all (fd, &header, sizeof header);
  write_all (fd, json, len);
}

static void
send_json (int         fd,
           const char *json)
{
  send_frame (fd, json, strlen (json));
}

/* Reads exactly @len bytes; FALSE on end of stream or after TIMEOUT_MS. */
static gboolean
read_exact (int    fd,
            void  *buf,
            gsize  len)
{
  guint8 *p = buf;

  while (len > 0)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      ssize_t n;

      if (poll (&pfd, 1, TIMEOUT_MS) <= 0)
        return FALSE;
      n = read (fd, p, len);
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        continue;
      if (n <= 0)
        return FALSE;
      p += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* The next frame's payload, NUL-terminated; NULL at end or timeout. */
static char *
read_frame (int    fd,
            gsize *out_len)
{
  guint32 len;
  g_autofree char *payload = NULL;

  if (!read_exact (fd, &len, sizeof len))
    return NULL;
  g_assert_cmpuint (len, <=, FRAME_MAX);
  payload = g_malloc (len + 1);
  if (!read_exact (fd, payload, len))
    return NULL;
  payload[len] = '\0';
  if (out_len != NULL)
    *out_len = len;
  return g_steal_pointer (&payload);
}

static JsonObject *
parse (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (json);
  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* The host's next message to the browser must be an error with @code. */
static JsonObject *
expect_error (Fixture    *f,
              const char *code)
{
  g_autofree char *json = read_frame (f->from_host, NULL);
  JsonObject *error;

  g_assert_nonnull (json);
  error = parse (json);
  g_assert_cmpstr (json_object_get_string_member (error, "type"), ==, "error");
  g_assert_cmpstr (json_object_get_string_member (error, "source"), ==, "host");
  g_assert_cmpstr (json_object_get_string_member (error, "error"), ==, code);
  return error;
}

/* ---- The wallet's side ---- */

static void
listen_wallet (Fixture *f,
               int      mode)
{
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (f->socket_path);
  g_autoptr(GError) error = NULL;

  f->listener = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                              G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_socket_bind (f->listener, address, FALSE, &error);
  g_assert_no_error (error);
  g_socket_listen (f->listener, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (f->socket_path, mode), ==, 0);
}

static gboolean
wallet_has_caller (Fixture *f,
                   int      timeout_ms)
{
  return g_socket_condition_timed_wait (f->listener, G_IO_IN, (gint64) timeout_ms * 1000,
                                        NULL, NULL);
}

/* Accepts the host's connection and checks its hello frame. */
static GSocket *
accept_host (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) hello = NULL;
  g_autofree char *json = NULL;
  GSocket *peer;

  g_assert_true (wallet_has_caller (f, TIMEOUT_MS));
  peer = g_socket_accept (f->listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (peer, TRUE);
  json = read_frame (g_socket_get_fd (peer), NULL);
  hello = parse (json);
  g_assert_cmpstr (json_object_get_string_member (hello, "type"), ==, "hello");
  g_assert_cmpint (json_object_get_int_member (hello, "protocol"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (hello, "browser"), ==, "chromium");
  g_assert_cmpstr (json_object_get_string_member (hello, "caller"), ==,
                   "chrome-extension://abcdefghijklmnopabcdefghijklmnop/");
  return peer;
}

/* ---- Fixture ---- */

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  const char *host = g_getenv ("ONEPIN_WALLET_HOST");

  g_assert_nonnull (host);
  f->runtime_dir = g_dir_make_tmp ("onepin-host-XXXXXX", &error);
  g_assert_no_error (error);
  f->socket_path = g_build_filename (f->runtime_dir, "onepin-wallet.sock", NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", f->runtime_dir, TRUE);
  f->host = g_subprocess_launcher_spawn (launcher, &error, host,
                                         "chrome-extension://abcdefghijklmnopabcdefghijklmnop/",
                                         "--parent-window=0", NULL);
  g_assert_no_error (error);
  f->to_host = g_unix_output_stream_get_fd (G_UNIX_OUTPUT_STREAM (g_subprocess_get_stdin_pipe (f->host)));
  f->from_host = g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (g_subprocess_get_stdout_pipe (f->host)));
}

static void
close_browser (Fixture *f)
{
  g_output_stream_close (g_subprocess_get_stdin_pipe (f->host), NULL, NULL);
}

/* Closes the browser's end and returns the host's exit status; it must
 * exit by itself, never by a signal. */
static int
host_exit_status (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  close_browser (f);
  g_subprocess_wait (f->host, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (f->host));
  return g_subprocess_get_exit_status (f->host);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (!g_subprocess_get_if_exited (f->host) && !g_subprocess_get_if_signaled (f->host))
    {
      g_subprocess_force_exit (f->host);
      g_subprocess_wait (f->host, NULL, NULL);
    }
  g_clear_object (&f->host);
  if (f->listener != NULL)
    g_socket_close (f->listener, NULL);
  g_clear_object (&f->listener);
  g_unlink (f->socket_path);
  g_rmdir (f->runtime_dir);
  g_free (f->socket_path);
  g_free (f->runtime_dir);
}

/* ---- Tests ---- */

static void
test_relay (Fixture       *f,
            gconstpointer  data)
{
  const char *request = "{\"type\":\"card.request\",\"id\":1,\"site\":\"https://shop.example\",\"note\":\"\xea\xb2\xb0\xec\xa0\x9c\"}";
  const char *reply = "{\"type\":\"card.response\",\"id\":1,\"status\":\"locked\"}";
  g_autoptr(GSocket) peer = NULL;
  g_autofree char *relayed = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *event = NULL;

  listen_wallet (f, 0600);
  send_json (f->to_host, request);
  peer = accept_host (f);
  relayed = read_frame (g_socket_get_fd (peer), NULL);
  g_assert_cmpstr (relayed, ==, request);   /* byte for byte */

  send_json (g_socket_get_fd (peer), reply);
  answer = read_frame (f->from_host, NULL);
  g_assert_cmpstr (answer, ==, reply);

  /* The wallet may speak first, e.g. when it locks. */
  send_json (g_socket_get_fd (peer), "{\"type\":\"wallet.locked\"}");
  event = read_frame (f->from_host, NULL);
  g_assert_cmpstr (event, ==, "{\"type\":\"wallet.locked\"}");

  g_assert_cmpint (host_exit_status (f), ==, 0);
}

/* A message of exactly the cap passes both ways; one byte more does not. */
static void
test_size_limit (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GSocket) peer = NULL;
  g_autofree char *big = g_malloc (FRAME_MAX + 2);
  g_autofree char *relayed = NULL;
  g_autofree char *back = NULL;
  g_autoptr(JsonObject) error = NULL;
  gsize len = 0;

  memset (big, 'x', FRAME_MAX + 1);
  memcpy (big, "{\"pad\":\"", 8);
  memcpy (big + FRAME_MAX - 2, "\"}", 2);
  listen_wallet (f, 0600);
  send_frame (f->to_host, big, FRAME_MAX);
  peer = accept_host (f);
  relayed = read_frame (g_socket_get_fd (peer), &len);
  g_assert_cmpuint (len, ==, FRAME_MAX);
  g_assert_cmpmem (relayed, len, big, FRAME_MAX);

  send_frame (g_socket_get_fd (peer), big, FRAME_MAX);
  back = read_frame (f->from_host, &len);
  g_assert_cmpuint (len, ==, FRAME_MAX);

  /* One byte over, from each side: refused, and the stream goes on. */
  big[FRAME_MAX - 2] = 'x';
  memcpy (big + FRAME_MAX - 1, "\"}", 2);
  send_frame (f->to_host, big, FRAME_MAX + 1);
  error = expect_error (f, "frame_too_large");
  send_frame (g_socket_get_fd (peer), big, FRAME_MAX + 1);
  g_clear_pointer (&error, json_object_unref);
  error = expect_error (f, "wallet_reply_invalid");
  send_json (g_socket_get_fd (peer), "{\"after\":true}");
  g_clear_pointer (&back, g_free);
  back = read_frame (f->from_host, NULL);
  g_assert_cmpstr (back, ==, "{\"after\":true}");
  g_assert_cmpint (host_exit_status (f), ==, 0);
}

static void
test_malformed (Fixture       *f,
                gconstpointer  data)
{
  static const char *bad[] = {
    "not json",
    "[1,2,3]",
    "\"a string\"",
    "{\"a\":\"\xff\xfe\"}",          /* not UTF-8 */
    "{\"a\":1,\"a\":2}",            /* duplicate member */
    "{\"a\":1",                     /* cut inside the frame */
  };
  g_autoptr(GSocket) peer = NULL;
  g_autofree char *relayed = NULL;

  listen_wallet (f, 0600);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonObject) error = NULL;

      send_json (f->to_host, bad[i]);
      error = expect_error (f, "malformed_message");
      /* The error never repeats the message (it may hold a card number). */
      g_assert_null (strstr (json_object_get_string_member (error, "message"), bad[i]));
    }
  send_frame (f->to_host, "{\"x\":\"\0\"}", 9);            /* NUL inside */
  json_object_unref (expect_error (f, "malformed_message"));
  send_frame (f->to_host, "", 0);                           /* empty frame */
  json_object_unref (expect_error (f, "malformed_message"));

  /* Nothing reached the wallet; the next good message does. */
  g_assert_false (wallet_has_caller (f, 200));
  send_json (f->to_host, "{\"id\":2}");
  peer = accept_host (f);
  relayed = read_frame (g_socket_get_fd (peer), NULL);
  g_assert_cmpstr (relayed, ==, "{\"id\":2}");
  g_assert_cmpint (host_exit_status (f), ==, 0);
}

static void
test_truncated (Fixture       *f,
                gconstpointer  data)
{
  guint32 header = 100;

  write_all (f->to_host, &header, sizeof header);
  write_all (f->to_host, "{\"cut\":", 7);
  close_browser (f);
  json_object_unref (expect_error (f, "truncated_frame"));
  g_assert_cmpint (host_exit_status (f), ==, 1);
}

static void
test_truncated_header (Fixture       *f,
                       gconstpointer  data)
{
  write_all (f->to_host, "\x05\x00", 2);
  close_browser (f);
  json_object_unref (expect_error (f, "truncated_frame"));
  g_assert_cmpint (host_exit_status (f), ==, 1);
}

/* The browser may start the host before the wallet runs. */
static void
test_wallet_starts_later (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(JsonObject) error = NULL;
  g_autoptr(GSocket) peer = NULL;
  g_autofree char *relayed = NULL;

  send_json (f->to_host, "{\"type\":\"status\",\"id\":\"r-3\"}");
  error = expect_error (f, "wallet_unavailable");
  g_assert_cmpstr (json_object_get_string_member (error, "in_reply_to"), ==, "r-3");

  listen_wallet (f, 0600);
  send_json (f->to_host, "{\"type\":\"status\",\"id\":\"r-4\"}");
  peer = accept_host (f);
  relayed = read_frame (g_socket_get_fd (peer), NULL);
  g_assert_cmpstr (relayed, ==, "{\"type\":\"status\",\"id\":\"r-4\"}");
  g_assert_cmpint (host_exit_status (f), ==, 0);
}

static void
test_wallet_disconnects (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GSocket) peer = NULL;
  g_autoptr(GSocket) again = NULL;
  g_autofree char *relayed = NULL;

  listen_wallet (f, 0600);
  send_json (f->to_host, "{\"id\":5}");
  peer = accept_host (f);
  relayed = read_frame (g_socket_get_fd (peer), NULL);
  g_socket_close (peer, NULL);
  json_object_unref (expect_error (f, "wallet_disconnected"));

  /* The next message connects again. */
  send_json (f->to_host, "{\"id\":6}");
  again = accept_host (f);
  g_clear_pointer (&relayed, g_free);
  relayed = read_frame (g_socket_get_fd (again), NULL);
  g_assert_cmpstr (relayed, ==, "{\"id\":6}");
  g_assert_cmpint (host_exit_status (f), ==, 0);
}

/* A wallet that stops reading (hung, or stopped in a debugger) must not
 * hang the host: a message it cannot take within the send timeout is
 * answered wallet_unavailable, and the host goes on. */
static void
test_wallet_stalls (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *pad = g_strnfill (900 * 1024, 'a');
  g_autofree char *big = g_strdup_printf ("{\"id\":11,\"pad\":\"%s\"}", pad);
  g_autoptr(GSocket) peer = NULL;
  g_autoptr(JsonObject) error = NULL;
  g_autofree char *relayed = NULL;
  struct pollfd pfd = { 0, POLLIN, 0 };

  listen_wallet (f, 0600);
  send_json (f->to_host, "{\"id\":10}");
  peer = accept_host (f);
  relayed = read_frame (g_socket_get_fd (peer), NULL);
  g_assert_cmpstr (relayed, ==, "{\"id\":10}");

  /* The wallet reads nothing more; a large message fills the socket. */
  send_json (f->to_host, big);
  pfd.fd = f->from_host;
  g_assert_cmpint (poll (&pfd, 1, 15000), ==, 1);
  error = expect_error (f, "wallet_unavailable");
  g_assert_cmpint (json_object_get_int_member (error, "in_reply_to"), ==, 11);
  g_assert_cmpint (host_exit_status (f), ==, 0);
}

/* A socket others could connect to, or something else at its path, is not
 * the wallet's: the host refuses it without connecting. */
/* The wallet may take its time to answer (the user unlocks it, or reads a
 * purchase before approving it): the send timeout is for sends only. */
static void
test_wallet_answers_late (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GSocket) peer = NULL;
  g_autofree char *relayed = NULL;
  g_autofree char *answer = NULL;

  listen_wallet (f, 0600);
  send_json (f->to_host, "{\"id\":20}");
  peer = accept_host (f);
  relayed = read_frame (g_socket_get_fd (peer), NULL);
  g_assert_cmpstr (relayed, ==, "{\"id\":20}");

  g_usleep (7 * G_USEC_PER_SEC);   /* past the host's 5 s send timeout */
  send_json (g_socket_get_fd (peer), "{\"id\":20,\"type\":\"late\"}");
  answer = read_frame (f->from_host, NULL);
  g_assert_cmpstr (answer, ==, "{\"id\":20,\"type\":\"late\"}");
  g_assert_cmpint (host_exit_status (f), ==, 0);
}

static void
test_unsafe_socket (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(JsonObject) error = NULL;

  listen_wallet (f, 0666);
  send_json (f->to_host, "{\"id\":7}");
  error = expect_error (f, "wallet_unavailable");
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), "0600"));
  g_assert_false (wallet_has_caller (f, 200));

  g_assert_cmpint (g_chmod (f->socket_path, 0600), ==, 0);
  g_assert_cmpint (g_chmod (f->runtime_dir, 0755), ==, 0);
  send_json (f->to_host, "{\"id\":8}");
  g_clear_pointer (&error, json_object_unref);
  error = expect_error (f, "wallet_unavailable");
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), "XDG_RUNTIME_DIR"));
  g_assert_false (wallet_has_caller (f, 200));
  g_assert_cmpint (g_chmod (f->runtime_dir, 0700), ==, 0);
  g_assert_cmpint (host_exit_status (f), ==, 0);
}

static void
test_not_a_socket (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) gerror = NULL;
  g_autoptr(JsonObject) error = NULL;

  g_file_set_contents (f->socket_path, "", 0, &gerror);
  g_assert_no_error (gerror);
  g_assert_cmpint (g_chmod (f->socket_path, 0600), ==, 0);
  send_json (f->to_host, "{\"id\":9}");
  error = expect_error (f, "wallet_unavailable");
  g_assert_cmpint (json_object_get_int_member (error, "in_reply_to"), ==, 9);
  g_assert_cmpint (host_exit_status (f), ==, 0);
}

/* The field of /proc/PID/limits named @name: "soft hard". */
static char *
limit_of (GPid        pid,
          const char *name)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/limits", (int) pid);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], name))
      {
        g_auto(GStrv) words = g_strsplit_set (lines[i] + strlen (name), " ", -1);
        g_autoptr(GPtrArray) kept = g_ptr_array_new ();

        for (guint j = 0; words[j] != NULL; j++)
          if (words[j][0] != '\0')
            g_ptr_array_add (kept, words[j]);
        g_assert_cmpuint (kept->len, >=, 2);
        return g_strdup_printf ("%s %s", (char *) kept->pdata[0], (char *) kept->pdata[1]);
      }
  g_assert_not_reached ();
}

/* Card numbers pass through the host: it leaves no core dump, and no
 * other process of the user may read its memory. */
static void
test_no_dumps (Fixture       *f,
               gconstpointer  data)
{
  GPid pid = atoi (g_subprocess_get_identifier (f->host));
  g_autofree char *core = NULL;
  g_autofree char *mem = g_strdup_printf ("/proc/%d/mem", (int) pid);
  g_autoptr(JsonObject) error = NULL;
  GStatBuf st;

  /* Past main()'s first lines: the host answers a frame. */
  send_json (f->to_host, "{\"id\":9}");
  error = expect_error (f, "wallet_unavailable");
  core = limit_of (pid, "Max core file size");
  g_assert_cmpstr (core, ==, "0 0");
  /* A process that is not dumpable has its /proc files owned by root
   * (which tells nothing when the test runs as root). */
  g_assert_cmpint (g_stat (mem, &st), ==, 0);
  if (getuid () != 0)
    g_assert_cmpint (st.st_uid, ==, 0);
  g_assert_cmpint (host_exit_status (f), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  umask (0077);
#define ADD(path, fn) \
  g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/wallet-host/relay", test_relay);
  ADD ("/wallet-host/wallet-stalls", test_wallet_stalls);
  ADD ("/wallet-host/wallet-answers-late", test_wallet_answers_late);
  ADD ("/wallet-host/size-limit", test_size_limit);
  ADD ("/wallet-host/malformed", test_malformed);
  ADD ("/wallet-host/truncated", test_truncated);
  ADD ("/wallet-host/truncated-header", test_truncated_header);
  ADD ("/wallet-host/wallet-starts-later", test_wallet_starts_later);
  ADD ("/wallet-host/wallet-disconnects", test_wallet_disconnects);
  ADD ("/wallet-host/unsafe-socket", test_unsafe_socket);
  ADD ("/wallet-host/not-a-socket", test_not_a_socket);
  ADD ("/wallet-host/no-dumps", test_no_dumps);
#undef ADD
  return g_test_run ();
}
