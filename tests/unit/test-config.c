/* test-config.c: the gateway's configuration checks
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "gw-config.h"

/* Loads @text as a configuration file and validates it. */
static gboolean
load (const char  *text,
      GError     **error)
{
  g_autoptr(GwConfig) config = gw_config_new ();
  g_autofree char *path = NULL;
  gboolean ok;
  int fd = g_file_open_tmp ("onepin-config-XXXXXX", &path, NULL);

  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_free (config->data_dir);
  config->data_dir = g_strdup ("/nonexistent");
  ok = gw_config_load_file (config, path, error) && gw_config_validate (config, error);
  g_unlink (path);
  return ok;
}

/* The SMTP password never crosses the network in the clear: AUTH needs
 * TLS from the start (smtps) or STARTTLS that cannot be skipped. */
static void
test_smtp_auth_needs_tls (void)
{
  static const char *refused[] = { "none", "try" };
  static const char *base = "[smtp]\nfrom=r@onepin.test\nusername=onepin\n"
                            "password_file=/etc/onepin/smtp.password\n";

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *text = g_strdup_printf ("%surl=smtp://mail.example:587\nstarttls=%s\n",
                                               base, refused[i]);
      g_autoptr(GError) error = NULL;

      g_assert_false (load (text, &error));
      g_assert_error (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "starttls"));
    }
  {
    g_autofree char *required = g_strdup_printf ("%surl=smtp://mail.example:587\n"
                                                 "starttls=required\n", base);
    g_autofree char *smtps = g_strdup_printf ("%surl=smtps://mail.example:465\n"
                                              "starttls=none\n", base);
    g_autoptr(GError) error = NULL;

    g_assert_true (load (required, &error));
    g_assert_no_error (error);
    g_assert_true (load (smtps, &error));
    g_assert_no_error (error);
    /* Without AUTH, no password to protect. */
    g_assert_true (load ("[smtp]\nurl=smtp://127.0.0.1:2525\nfrom=r@onepin.test\n"
                         "starttls=none\n", &error));
    g_assert_no_error (error);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/smtp-auth-needs-tls", test_smtp_auth_needs_tls);
  return g_test_run ();
}
