/* onepin-test-smtp.c: a real SMTP server (aiosmtpd) on loopback for a test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-test-smtp.h"
#include "onepin-test-process.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "onepin-test-gateway.h"

#define START_TIMEOUT_S 20

struct _OtSmtp
{
  OtSmtpOptions  options;
  char          *auth_user;
  char          *host;
  char          *dir;
  char          *maildir;
  char          *ca_path;
  char          *cert_path;
  char          *key_path;
  char          *password_file;
  char          *url;
  guint          port;
  GSubprocess   *proc;
};

/* Debian's interpreter, where apt puts python3-aiosmtpd, even when another
 * python3 comes first on PATH. */
static const char *
python (void)
{
  return g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE) ? "/usr/bin/python3"
                                                                       : "python3";
}

static void
spawn (OtSmtp *smtp)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *log_path = g_build_filename (smtp->dir, "smtp.log", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  g_ptr_array_add (argv, g_strdup (python ()));
  g_ptr_array_add (argv, g_build_filename (OT_LIB_DIR, "onepin-smtp-server.py", NULL));
  g_ptr_array_add (argv, g_strdup_printf ("--host=%s", smtp->host));
  g_ptr_array_add (argv, g_strdup_printf ("--port=%u", smtp->port));
  g_ptr_array_add (argv, g_strdup_printf ("--maildir=%s", smtp->maildir));
  if (smtp->options.tls)
    {
      g_ptr_array_add (argv, g_strdup_printf ("--tls-cert=%s", smtp->cert_path));
      g_ptr_array_add (argv, g_strdup_printf ("--tls-key=%s", smtp->key_path));
    }
  if (smtp->options.require_starttls)
    g_ptr_array_add (argv, g_strdup ("--require-starttls"));
  if (smtp->options.refuse != NULL)
    g_ptr_array_add (argv, g_strdup_printf ("--refuse=%s", smtp->options.refuse));
  if (smtp->auth_user != NULL)
    {
      g_ptr_array_add (argv, g_strdup_printf ("--auth-user=%s", smtp->auth_user));
      g_ptr_array_add (argv, g_strdup_printf ("--auth-password-file=%s", smtp->password_file));
    }
  g_ptr_array_add (argv, NULL);

  /* Its log goes to a file: a pipe nobody reads would stop it once full. */
  g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  g_subprocess_launcher_set_child_setup (launcher, ot_child_setup, NULL, NULL);
  smtp->proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                             &error);
  g_assert_no_error (error);

  /* The server prints "ready PORT" once it is bound, or dies. */
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (smtp->proc));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  if (line == NULL || !g_str_has_prefix (line, "ready "))
    {
      g_autofree char *log = NULL;

      g_subprocess_wait (smtp->proc, NULL, NULL);
      g_file_get_contents (log_path, &log, NULL, NULL);
      g_error ("the SMTP server did not start (is python3-aiosmtpd installed?): %s",
               log ? log : "");
    }
  smtp->port = atoi (line + strlen ("ready "));
  g_clear_pointer (&smtp->url, g_free);
  smtp->url = g_strdup_printf ("smtp://%s:%u", smtp->host, smtp->port);
  g_test_message ("SMTP server at %s, maildir %s", smtp->url, smtp->maildir);
}

OtSmtp *
ot_smtp_start (const OtSmtpOptions *options)
{
  OtSmtp *smtp = g_new0 (OtSmtp, 1);
  g_autoptr(GError) error = NULL;

  if (options != NULL)
    smtp->options = *options;
  smtp->auth_user = g_strdup (smtp->options.auth_user);
  smtp->host = g_strdup (smtp->options.host ? smtp->options.host : "127.0.0.1");
  smtp->dir = g_dir_make_tmp ("onepin-smtp-XXXXXX", &error);
  g_assert_no_error (error);
  smtp->maildir = g_build_filename (smtp->dir, "mail", NULL);
  if (smtp->options.tls)
    {
      ot_make_certificates (smtp->dir);
      smtp->ca_path = g_build_filename (smtp->dir, "ca.pem", NULL);
      smtp->cert_path = g_build_filename (smtp->dir, "server.pem", NULL);
      smtp->key_path = g_build_filename (smtp->dir, "server.key", NULL);
    }
  if (smtp->auth_user != NULL)
    {
      g_autofree char *password = g_strdup_printf ("pw-%08x%08x", g_random_int (),
                                                   g_random_int ());

      smtp->password_file = g_build_filename (smtp->dir, "smtp.password", NULL);
      g_file_set_contents_full (smtp->password_file, password, -1,
                                G_FILE_SET_CONTENTS_NONE, 0600, &error);
      g_assert_no_error (error);
    }
  spawn (smtp);
  return smtp;
}

void
ot_smtp_stop (OtSmtp *smtp)
{
  g_autoptr(GError) error = NULL;

  if (smtp->proc == NULL)
    return;
  g_subprocess_send_signal (smtp->proc, SIGTERM);
  g_subprocess_wait (smtp->proc, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&smtp->proc);
  g_test_message ("SMTP server stopped");
}

void
ot_smtp_restart (OtSmtp *smtp)
{
  g_assert_null (smtp->proc);
  spawn (smtp);
}

void
ot_smtp_set_refuse (OtSmtp     *smtp,
                    const char *refuse)
{
  smtp->options.refuse = refuse;
}

void
ot_smtp_free (OtSmtp *smtp)
{
  if (smtp == NULL)
    return;
  ot_smtp_stop (smtp);
  ot_rm_rf (smtp->dir);
  g_free (smtp->auth_user);
  g_free (smtp->host);
  g_free (smtp->dir);
  g_free (smtp->maildir);
  g_free (smtp->ca_path);
  g_free (smtp->cert_path);
  g_free (smtp->key_path);
  g_free (smtp->password_file);
  g_free (smtp->url);
  g_free (smtp);
}

const char *
ot_smtp_url (OtSmtp *smtp)
{
  return smtp->url;
}

const char *
ot_smtp_maildir (OtSmtp *smtp)
{
  return smtp->maildir;
}

const char *
ot_smtp_ca_path (OtSmtp *smtp)
{
  return smtp->ca_path;
}

const char *
ot_smtp_password_file (OtSmtp *smtp)
{
  return smtp->password_file;
}

char *
ot_smtp_gateway_config (OtSmtp *smtp)
{
  GString *config = g_string_new ("[smtp]\n");

  g_string_append_printf (config, "url=%s\nfrom=receipts@onepin.test\n", smtp->url);
  if (!smtp->options.default_starttls)
    g_string_append_printf (config, "starttls=%s\n", smtp->options.tls ? "required" : "none");
  if (smtp->ca_path != NULL)
    g_string_append_printf (config, "ca_file=%s\n", smtp->ca_path);
  if (smtp->auth_user != NULL)
    g_string_append_printf (config, "username=%s\npassword_file=%s\n", smtp->auth_user,
                            smtp->password_file);
  return g_string_free (config, FALSE);
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

/* The delivered files, oldest first (their names start with the arrival time). */
static GPtrArray *
list_messages (OtSmtp *smtp)
{
  g_autofree char *new_dir = g_build_filename (smtp->maildir, "new", NULL);
  g_autoptr(GDir) dir = g_dir_open (new_dir, 0, NULL);
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (paths, g_build_filename (new_dir, name, NULL));
  g_ptr_array_sort (paths, compare_paths);
  return paths;
}

guint
ot_smtp_count (OtSmtp *smtp)
{
  g_autoptr(GPtrArray) paths = list_messages (smtp);

  return paths->len;
}

JsonArray *
ot_mail_parse_files (const char * const *paths)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_ptr_array_add (argv, g_strdup (python ()));
  g_ptr_array_add (argv, g_build_filename (OT_LIB_DIR, "onepin-mail-json.py", NULL));
  for (guint i = 0; paths[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (paths[i]));
  g_ptr_array_add (argv, NULL);

  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("onepin-mail-json.py failed: %s", err);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  return json_array_ref (json_node_get_array (json_parser_get_root (parser)));
}

JsonArray *
ot_smtp_wait (OtSmtp *smtp,
              guint   n,
              guint   timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  g_autoptr(GPtrArray) paths = NULL;

  for (;;)
    {
      g_clear_pointer (&paths, g_ptr_array_unref);
      paths = list_messages (smtp);
      if (paths->len >= n)
        break;
      if (g_get_monotonic_time () > deadline)
        g_error ("waited %u s for %u messages; %u arrived", timeout_s, n, paths->len);
      g_usleep (50 * 1000);
    }
  g_ptr_array_add (paths, NULL);
  return ot_mail_parse_files ((const char * const *) paths->pdata);
}
