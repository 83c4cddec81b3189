/* fuzz-bank.c: libFuzzer harness for onepin-bank's request handling
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The input is raw bytes on one HTTP connection to a fresh bank: libsoup
 * parses them, and the bank's routing, authentication, idempotency, body
 * checks, handlers and SQLite store (in memory, seeded with the test data)
 * answer. Every answer the bank writes must be a JSON object, an error
 * must be a 4xx with the error object, and nothing may be a 5xx, hold a
 * key, leak or crash. The keys are fixed, so the seeds in bank-requests/
 * carry valid keys for the fuzzer to copy. There is no card network
 * issuer: payments with onepin's cards find it unavailable.
 *
 * The bank runs on a main context of its own, pushed as thread-default
 * while it serves. Deposit callbacks are queued on the global default
 * context, which the harness never runs: nothing is ever sent anywhere.
 */
#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bank-server-private.h"
#include "bank-testdata.h"

#define FUZZ_API_KEY "bk_fuzz0123456789abcdef0123456789"
#define FUZZ_SMS_KEY "sms_fuzz0123456789abcdef012345678"
#define FUZZ_ACQUIRER_KEY "acq_fuzz0123456789abcdef01234567"
#define FUZZ_OPERATOR_KEY "op_fuzz0123456789abcdef012345678"
#define SERVE_SECONDS 10

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static const BankKeys *
fuzz_keys (void)
{
  static BankKeys keys;
  static const guint8 raw[32] = { 7, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

  if (keys.api_key != NULL)
    return &keys;
  g_assert_true (onepin_crypto_init (NULL));
  keys.lookup = onepin_key_new_hmac (raw, sizeof raw, NULL);
  keys.password = onepin_key_new_hmac (raw, sizeof raw, NULL);
  keys.fingerprint = onepin_key_new_hmac (raw, sizeof raw, NULL);
  keys.callback = onepin_key_new_hmac (raw, sizeof raw, NULL);
  keys.network = onepin_key_new_hmac (raw, sizeof raw, NULL);
  keys.api_key = g_strdup (FUZZ_API_KEY);
  keys.sms_key = g_strdup (FUZZ_SMS_KEY);
  keys.acquirer_key = g_strdup (FUZZ_ACQUIRER_KEY);
  keys.operator_key = g_strdup (FUZZ_OPERATOR_KEY);
  return &keys;
}

static GSocket *
listening_socket (void)
{
  static guint serial;
  g_autofree char *name = g_strdup_printf ("onepin-fuzz-bank-%d-%u", (int) getpid (), serial++);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  GSocket *socket;

  address = g_unix_socket_address_new_with_type (name, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                         &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, address, FALSE, &error));
  g_assert_true (g_socket_listen (socket, &error));
  return socket;
}

/* Every message the bank finished: what it answered. */
static void
on_request_finished (SoupServer        *soup,
                     SoupServerMessage *msg,
                     gpointer           user_data)
{
  SoupMessageBody *body = soup_server_message_get_response_body (msg);
  guint status = soup_server_message_get_status (msg);
  g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;
  const char *text = g_bytes_get_data (bytes, &len);
  JsonObject *err;

  /* libsoup's own refusals of malformed HTTP (400, 501, 505 …) have no
   * body; everything with one is the bank's. */
  if (len == 0)
    return;
  object = onepin_json_parse_object (text, len, &error);
  if (object == NULL)
    g_error ("the bank answered %u with something not a JSON object: %s", status,
             error->message);
  if (g_strstr_len (text, len, FUZZ_API_KEY) || g_strstr_len (text, len, FUZZ_SMS_KEY) ||
      g_strstr_len (text, len, FUZZ_ACQUIRER_KEY) || g_strstr_len (text, len, FUZZ_OPERATOR_KEY))
    g_error ("the bank's answer holds a key");
  /* 503 issuer_unavailable is the acquirer's documented "retry": the card
   * network's issuer (none here) did not answer. */
  if ((status >= 500 || status < 200) &&
      !(status == 503 && g_strstr_len (text, len, "\"issuer_unavailable\"")))
    g_error ("the bank answered %u: %.*s", status, (int) len, text);
  if (status < 400)
    return;
  err = json_object_has_member (object, "error")
          ? json_object_get_object_member (object, "error") : NULL;
  if (err == NULL || onepin_json_get_string (err, "type", NULL) == NULL ||
      onepin_json_get_string (err, "code", NULL) == NULL ||
      onepin_json_get_string (err, "message", NULL) == NULL)
    g_error ("the bank answered %u without its error object: %.*s", status, (int) len, text);
}

/* libsoup reports a 500 as aborted, and so is a request whose connection
 * broke (a body cut short): then libsoup sets 500 over whatever the bank
 * had answered early, and nothing is sent. Only the bank's own 500 says
 * api_error. */
static void
on_request_aborted (SoupServer        *soup,
                    SoupServerMessage *msg,
                    gpointer           user_data)
{
  g_autoptr(GBytes) bytes = soup_message_body_flatten (soup_server_message_get_response_body (msg));
  gsize len;
  const char *text = g_bytes_get_data (bytes, &len);

  if (g_strstr_len (text, len, "\"api_error\"") != NULL)
    g_error ("the bank answered %u: %.*s", soup_server_message_get_status (msg), (int) len,
             text);
}

/* Writes @data to the connection and reads every answer until the bank
 * has nothing more to do; then closes the write side (a request cut
 * short) and lets the bank go quiet again. libsoup keeps an idle
 * connection open after its client's end of stream, so quiet it is, not
 * the end of the bank's stream. */
static void
talk (GMainContext *context,
      int           fd,
      const guint8 *data,
      gsize         size)
{
  gint64 deadline = g_get_monotonic_time () + SERVE_SECONDS * G_USEC_PER_SEC;
  gsize sent = 0;
  guint quiet = 0;
  gboolean shut = FALSE;

  g_assert_true (g_unix_set_fd_nonblocking (fd, TRUE, NULL));
  for (;;)
    {
      guint8 buf[16384];
      gboolean progress = g_main_context_iteration (context, FALSE);
      ssize_t n;

      if (sent < size)
        {
          n = write (fd, data + sent, size - sent);
          if (n > 0)
            sent += n, progress = TRUE;
          else if (n < 0 && errno != EAGAIN && errno != EINTR)
            sent = size;          /* the bank closed the connection early */
        }
      n = read (fd, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return;
      quiet = progress || n > 0 ? 0 : quiet + 1;
      if (sent == size && quiet > 3)
        {
          if (shut)
            return;
          shutdown (fd, SHUT_WR);
          shut = TRUE;
          quiet = 0;
        }
      if (g_get_monotonic_time () > deadline)
        g_error ("the bank did not finish with the input in %d s", SERVE_SECONDS);
      if (quiet > 0)
        g_usleep (50);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  const BankKeys *keys = fuzz_keys ();
  BankConfig config = { .slow_seconds = 0, .deposit_window = 86400,
                        .issuer_bins = (char *) "9410,942000-942999", .issuer_timeout = 1 };
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GSocket) listener = NULL;
  BankServer *server;
  BankStore *store;
  int fds[2];

  g_main_context_push_thread_default (context);
  store = bank_store_open (":memory:", &error);
  g_assert_no_error (error);
  g_assert_true (bank_testdata_seed (store, keys, &error));
  server = bank_server_new (&config, keys, store, &error);
  g_assert_no_error (error);
  /* libsoup keeps a connection alive for the next request only when the
   * server listens somewhere: an abstract socket nobody connects to. */
  listener = listening_socket ();
  g_assert_true (soup_server_listen_socket (bank_server_get_soup (server), listener, 0, &error));
  g_signal_connect (bank_server_get_soup (server), "request-finished",
                    G_CALLBACK (on_request_finished), NULL);
  g_signal_connect (bank_server_get_soup (server), "request-aborted",
                    G_CALLBACK (on_request_aborted), NULL);

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  socket = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  connection = g_socket_connection_factory_create_connection (socket);
  g_assert_true (bank_server_accept (server, connection, &error));
  talk (context, fds[1], data, size);
  close (fds[1]);

  g_object_unref (server);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_clear_object (&connection);
  g_clear_object (&socket);
  g_clear_object (&listener);
  while (g_main_context_iteration (context, FALSE))
    ;
  bank_store_free (store);
  g_main_context_pop_thread_default (context);
  return 0;
}
