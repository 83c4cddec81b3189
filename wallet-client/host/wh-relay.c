/* wh-relay.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "wh-relay.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK (wh-relay-error-quark, wh_relay_error)

char *
wh_relay_socket_path (GError **error)
{
  const char *dir = g_getenv ("XDG_RUNTIME_DIR");
  GStatBuf st;

  /* No fallback to /tmp: a socket there could be anyone's. */
  if (dir == NULL || !g_path_is_absolute (dir) || g_lstat (dir, &st) != 0 ||
      !S_ISDIR (st.st_mode) || st.st_uid != getuid () || (st.st_mode & 0077) != 0)
    {
      g_set_error_literal (error, WH_RELAY_ERROR, WH_RELAY_ERROR_NO_RUNTIME_DIR,
                           "XDG_RUNTIME_DIR is not set to a private directory of this user");
      return NULL;
    }
  return g_build_filename (dir, WH_RELAY_SOCKET_NAME, NULL);
}

static gboolean
check_socket_file (const char  *path,
                   GError     **error)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, WH_RELAY_ERROR, WH_RELAY_ERROR_UNAVAILABLE,
                   "the wallet is not running (%s)", g_strerror (saved));
      return FALSE;
    }
  if (!S_ISSOCK (st.st_mode) || st.st_uid != getuid () || (st.st_mode & 0077) != 0)
    {
      g_set_error_literal (error, WH_RELAY_ERROR, WH_RELAY_ERROR_UNSAFE,
                           "the wallet socket is not a socket of this user with mode 0600");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_peer (GSocket  *socket,
            GError  **error)
{
  g_autoptr(GCredentials) credentials = NULL;
  g_autoptr(GError) local = NULL;
  uid_t uid;

  credentials = g_socket_get_credentials (socket, &local);
  if (credentials == NULL)
    {
      g_set_error (error, WH_RELAY_ERROR, WH_RELAY_ERROR_PEER,
                   "cannot tell who runs the wallet: %s", local->message);
      return FALSE;
    }
  uid = g_credentials_get_unix_user (credentials, NULL);
  if (uid != getuid ())
    {
      g_set_error_literal (error, WH_RELAY_ERROR, WH_RELAY_ERROR_PEER,
                           "the wallet socket is served by another user");
      return FALSE;
    }
  return TRUE;
}

GSocket *
wh_relay_connect (const char  *path,
                  GError     **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) local = NULL;

  if (!check_socket_file (path, error))
    return NULL;
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return NULL;
  address = g_unix_socket_address_new (path);
  if (!g_socket_connect (socket, address, NULL, &local))
    {
      g_set_error (error, WH_RELAY_ERROR, WH_RELAY_ERROR_UNAVAILABLE,
                   "the wallet is not running (%s)", local->message);
      return NULL;
    }
  if (!check_peer (socket, error))
    return NULL;
  return g_steal_pointer (&socket);
}

gboolean
wh_relay_send (GSocket  *socket,
               GBytes   *bytes,
               GError  **error)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  gboolean sent = TRUE;

  /* Sends block while the wallet is not reading; a wallet that stops must
   * not stop the host with it. Only sends: the wallet may take minutes to
   * answer (the user confirms a site, or reads a purchase), and a socket's
   * timeout also ends a wait for its answer. */
  g_socket_set_timeout (socket, WH_RELAY_SEND_TIMEOUT);
  while (sent && len > 0)
    {
      gssize n = g_socket_send (socket, data, len, NULL, error);

      sent = n >= 0;
      if (sent)
        {
          data += n;
          len -= (gsize) n;
        }
    }
  g_socket_set_timeout (socket, 0);
  return sent;
}
