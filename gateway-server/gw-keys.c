/* gw-keys.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-keys.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static OnepinKey *
derive (OnepinKey   *master,
        const char  *label,
        gboolean     aes,
        GError     **error)
{
  guint8 raw[32];
  OnepinKey *key;

  onepin_key_hmac (master, label, strlen (label), raw);
  key = aes ? onepin_key_new_aes (raw, sizeof raw, error)
            : onepin_key_new_hmac (raw, sizeof raw, error);
  memset (raw, 0, sizeof raw);
  return key;
}

GwKeys *
gw_keys_load (const char  *path,
              GError     **error)
{
  g_autoptr(GwKeys) keys = g_new0 (GwKeys, 1);
  g_autoptr(OnepinKey) master = NULL;
  guint8 raw[32];

  if (!onepin_key_file_load_or_create (path, raw, sizeof raw, error))
    return NULL;
  master = onepin_key_new_hmac (raw, sizeof raw, error);
  memset (raw, 0, sizeof raw);
  if (master == NULL)
    return NULL;

  if (!(keys->lookup = derive (master, "onepin card lookup v1", FALSE, error)) ||
      !(keys->password = derive (master, "onepin card password v1", FALSE, error)) ||
      !(keys->apikey = derive (master, "onepin api key v1", FALSE, error)) ||
      !(keys->seal = derive (master, "onepin seal v1", TRUE, error)))
    return NULL;
  return g_steal_pointer (&keys);
}

void
gw_keys_free (GwKeys *keys)
{
  if (keys == NULL)
    return;
  g_clear_pointer (&keys->lookup, onepin_key_free);
  g_clear_pointer (&keys->password, onepin_key_free);
  g_clear_pointer (&keys->apikey, onepin_key_free);
  g_clear_pointer (&keys->seal, onepin_key_free);
  g_free (keys);
}

static gboolean
write_new_token (const char  *path,
                 GError     **error)
{
  g_autofree char *token = onepin_crypto_random_token ("adm_", 24);
  g_autofree char *line = g_strconcat (token, "\n", NULL);
  int fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  gsize len = strlen (line);

  if (fd < 0)
    {
      if (errno == EEXIST)
        return TRUE;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   "Cannot create the admin token file: %s", g_strerror (errno));
      return FALSE;
    }
  if (write (fd, line, len) != (gssize) len || fsync (fd) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   "Cannot write the admin token file: %s", g_strerror (errno));
      close (fd);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

char *
gw_admin_token_load (const char  *data_dir,
                     GError     **error)
{
  g_autofree char *path = g_build_filename (data_dir, "admin.token", NULL);
  g_autofree char *contents = NULL;

  if (!write_new_token (path, error) || !g_file_get_contents (path, &contents, NULL, error))
    return NULL;
  g_strstrip (contents);
  if (strlen (contents) < 16)
    {
      g_set_error_literal (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                           "The admin token file is too short");
      return NULL;
    }
  return g_steal_pointer (&contents);
}
