/* gw-tls-check.c: the configured TLS key belongs to its certificate
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * g_tls_certificate_new_from_files () takes any private key with any
 * certificate. With a key that is not the certificate's, the gateway would
 * say it listens on https:// and every handshake would fail, the server
 * logging nothing. So at startup the certificate is served once to a
 * client of our own over a socket pair, on a private context: the server
 * signs the handshake with the key, the client checks the signature with
 * the certificate's public key. The client accepts the certificate itself
 * (it is the operator's to choose); only the handshake is judged.
 */
#include "gw-tls-check.h"
#include "gw-wait.h"

#include <sys/socket.h>

#define HANDSHAKE_SECONDS 10

typedef struct
{
  guint         pending;
  GError       *error;          /* the first side's failure */
  GCancellable *cancellable;
} Handshakes;

static gboolean
accept_any (GTlsConnection       *conn,
            GTlsCertificate      *peer_cert,
            GTlsCertificateFlags  errors,
            gpointer              user_data)
{
  return TRUE;
}

static void
handshake_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Handshakes *handshakes = user_data;
  GError *error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      /* The other side would wait for the next message for ever. */
      g_cancellable_cancel (handshakes->cancellable);
      if (handshakes->error == NULL)
        handshakes->error = error;
      else
        g_error_free (error);
    }
  handshakes->pending--;
}

static gboolean
handshakes_over (gpointer data)
{
  Handshakes *handshakes = data;

  return handshakes->pending == 0;
}

static GIOStream *
socket_stream (int      fd,
               GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);

  if (socket == NULL)
    {
      close (fd);
      return NULL;
    }
  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

/* Runs both ends' handshakes on @context; FALSE with @error if either failed. */
static gboolean
handshake (GMainContext     *context,
           GTlsConnection   *server,
           GTlsConnection   *client,
           GError          **error)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Handshakes handshakes = { .pending = 2, .cancellable = cancellable };

  g_tls_connection_handshake_async (server, G_PRIORITY_DEFAULT, cancellable, handshake_done,
                                    &handshakes);
  g_tls_connection_handshake_async (client, G_PRIORITY_DEFAULT, cancellable, handshake_done,
                                    &handshakes);
  if (!gw_wait_until (context, HANDSHAKE_SECONDS, handshakes_over, &handshakes))
    {
      /* Both callbacks must run before @handshakes goes out of scope. */
      g_cancellable_cancel (cancellable);
      while (handshakes.pending > 0)
        g_main_context_iteration (context, TRUE);
      g_clear_error (&handshakes.error);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "a TLS handshake with the certificate did not finish");
      return FALSE;
    }
  if (handshakes.error != NULL)
    {
      g_propagate_error (error, handshakes.error);
      return FALSE;
    }
  return TRUE;
}

gboolean
gw_tls_check_key (GTlsCertificate  *certificate,
                  GError          **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GIOStream) server_stream = NULL;
  g_autoptr(GIOStream) client_stream = NULL;
  g_autoptr(GIOStream) server = NULL;
  g_autoptr(GIOStream) client = NULL;
  gboolean ok;
  int fds[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "socketpair: %s",
                   g_strerror (saved));
      return FALSE;
    }
  server_stream = socket_stream (fds[0], error);
  if (server_stream == NULL)
    {
      close (fds[1]);
      return FALSE;
    }
  client_stream = socket_stream (fds[1], error);
  if (client_stream == NULL)
    return FALSE;

  g_main_context_push_thread_default (context);
  server = g_tls_server_connection_new (server_stream, certificate, error);
  if (server != NULL)
    client = g_tls_client_connection_new (client_stream, NULL, error);
  if (client != NULL)
    {
      g_signal_connect (client, "accept-certificate", G_CALLBACK (accept_any), NULL);
      ok = handshake (context, G_TLS_CONNECTION (server), G_TLS_CONNECTION (client), error);
    }
  else
    ok = FALSE;
  g_main_context_pop_thread_default (context);
  return ok;
}
