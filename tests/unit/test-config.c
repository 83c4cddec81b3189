/* test-config.c: the gateway's configuration checks
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "gw-config.h"
#include "gw-listener.h"
#include "gw-transport.h"

/* Loads @text as a configuration file into @config and validates it. */
static gboolean
load_into (GwConfig    *config,
           const char  *text,
           GError     **error)
{
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

/* The configuration @text makes, or NULL. */
static GwConfig *
load_config (const char  *text,
             GError     **error)
{
  g_autoptr(GwConfig) config = gw_config_new ();

  return load_into (config, text, error) ? g_steal_pointer (&config) : NULL;
}

static gboolean
load (const char  *text,
      GError     **error)
{
  g_autoptr(GwConfig) config = load_config (text, error);

  return config != NULL;
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
    g_autofree char *unset = g_strdup_printf ("%surl=smtp://mail.example:587\n", base);
    g_autofree char *unset_here = g_strdup_printf ("%surl=smtp://127.0.0.1:2525\n", base);
    g_autoptr(GError) error = NULL;

    g_assert_true (load (required, &error));
    g_assert_no_error (error);
    g_assert_true (load (smtps, &error));
    g_assert_no_error (error);
    /* Unset, starttls is "required" to another host, "try" to this machine. */
    g_assert_true (load (unset, &error));
    g_assert_no_error (error);
    g_assert_false (load (unset_here, &error));
    g_assert_error (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID);
    g_clear_error (&error);
    /* Without AUTH, no password to protect. */
    g_assert_true (load ("[smtp]\nurl=smtp://127.0.0.1:2525\nfrom=r@onepin.test\n"
                         "starttls=none\n", &error));
    g_assert_no_error (error);
  }
}

/* A GwSmtp with AUTH whose password is in @path. */
static GwSmtp *
smtp_with_password_file (const char  *path,
                         GError     **error)
{
  g_autoptr(GwConfig) config = gw_config_new ();

  config->smtp_url = g_strdup ("smtps://mail.example:465");
  config->smtp_username = g_strdup ("onepin");
  config->smtp_password_file = g_strdup (path);
  return gw_smtp_new (config, error);
}

/* The password file is read like the keys: the file itself (no symlink),
 * checked on the descriptor that is read, private to its owner. */
static void
test_smtp_password_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("onepin-config-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "smtp.password", NULL);
  g_autofree char *link = g_build_filename (dir, "link.password", NULL);
  g_autoptr(GError) error = NULL;
  GwSmtp *smtp;

  gw_transport_init ();
  g_assert_true (g_file_set_contents (path, "  correct horse battery  \n", -1, NULL));
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  smtp = smtp_with_password_file (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (smtp);
  gw_smtp_free (smtp);

  g_assert_cmpint (symlink (path, link), ==, 0);
  g_assert_null (smtp_with_password_file (link, &error));
  g_assert_nonnull (strstr (error->message, "[smtp] password_file"));
  g_clear_error (&error);

  g_assert_cmpint (g_chmod (path, 0640), ==, 0);
  g_assert_null (smtp_with_password_file (path, &error));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (path, "two\nlines\n", -1, NULL));
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  g_assert_null (smtp_with_password_file (path, &error));
  g_clear_error (&error);

  g_unlink (link);
  g_unlink (path);
  g_rmdir (dir);
}

typedef struct
{
  const char *url;
  const char *extra;
  gboolean    ok;
} UrlCase;

/* Each of @cases as [@group] url, with @keys and the case's own. */
static void
check_urls (const char    *group,
            const char    *keys,
            const UrlCase *cases,
            guint          n_cases)
{
  for (guint i = 0; i < n_cases; i++)
    {
      g_autofree char *text = g_strdup_printf ("[%s]\nurl=%s\n%s%s", group, cases[i].url, keys,
                                               cases[i].extra);
      g_autoptr(GError) error = NULL;

      g_test_message ("[%s] %s %s", group, cases[i].url, cases[i].extra);
      g_assert_true (load (text, &error) == cases[i].ok);
      if (!cases[i].ok)
        g_assert_error (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID);
    }
}

/* The bank gets our API key and card numbers: TLS, or this machine only,
 * unless allow_http says otherwise. */
static void
test_bank_url (void)
{
  static const UrlCase cases[] = {
    { "http://127.0.0.1:8081", "", TRUE },
    { "http://localhost:8081/bank", "", TRUE },
    { "http://[::1]:8081", "", TRUE },
    { "https://bank.example", "", TRUE },
    { "http://bank.example", "", FALSE },
    { "http://10.0.0.7:8081", "", FALSE },
    { "http://bank.example", "allow_http=true\n", TRUE },
    { "https://user:secret@bank.example", "", FALSE },
    { "ftp://bank.example", "", FALSE },
    { "bank.example", "", FALSE },
  };

  check_urls ("bank", "api_key_file=/k\ncallback_secret_file=/s\n", cases,
              G_N_ELEMENTS (cases));
}

/* The SMS provider gets whole card numbers and our bearer key: the bank's
 * rule, with an allow_http of its own. */
static void
test_sms_url (void)
{
  static const UrlCase cases[] = {
    { "http://127.0.0.1:8081/v1/sms", "", TRUE },
    { "http://localhost:8081/v1/sms", "", TRUE },
    { "http://[::1]:8081/v1/sms", "", TRUE },
    { "https://sms.example.com/send", "", TRUE },
    { "http://sms.example.com/send", "", FALSE },
    { "http://10.0.0.7/send", "", FALSE },
    { "http://sms.example.com/send", "allow_http=true\n", TRUE },
    { "http://sms.example.com/send", "allow_http=false\n", FALSE },
    { "https://user:secret@sms.example.com/send", "", FALSE },
    { "ftp://sms.example.com", "", FALSE },
  };

  check_urls ("sms", "key_file=/k\n", cases, G_N_ELEMENTS (cases));
}

/* Webhooks reach this machine and private networks only when the
 * operator says so. */
static void
test_webhooks_allow_private (void)
{
  g_autoptr(GwConfig) unset = gw_config_new ();
  g_autoptr(GwConfig) set = gw_config_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (load_into (unset, "[webhooks]\nallow_http=true\n", &error));
  g_assert_no_error (error);
  g_assert_false (unset->webhooks_allow_private);
  g_assert_true (load_into (set, "[webhooks]\nallow_private=true\n", &error));
  g_assert_no_error (error);
  g_assert_true (set->webhooks_allow_private);
  g_assert_false (set->webhooks_allow_http);
}

/* STARTTLS that an attacker on the path could strip (try) is the default
 * only to this machine; an explicit value always wins. */
static void
test_smtp_starttls_default (void)
{
  static const struct
  {
    const char *url;
    const char *starttls;      /* NULL: not set */
    const char *effective;
  } cases[] = {
    { "smtp://mail.example.com:587", NULL, "required" },
    { "smtp://10.0.0.7:25", NULL, "required" },
    { "smtp://127.0.0.1:2525", NULL, "try" },
    { "smtp://localhost:25", NULL, "try" },
    { "smtp://[::1]:25", NULL, "try" },
    { "smtps://mail.example.com:465", NULL, "try" },
    { "smtp://mail.example.com:587", "try", "try" },
    { "smtp://mail.example.com:587", "none", "none" },
    { "smtp://127.0.0.1:2525", "required", "required" },
    { NULL, NULL, "try" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *url = cases[i].url ? g_strdup_printf ("url=%s\n", cases[i].url) : NULL;
      g_autofree char *starttls = cases[i].starttls ?
                                  g_strdup_printf ("starttls=%s\n", cases[i].starttls) : NULL;
      g_autofree char *text = g_strconcat ("[smtp]\nfrom=r@onepin.test\n", url ? url : "",
                                           starttls ? starttls : "", NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(GwConfig) config = load_config (text, &error);

      g_test_message ("%s", text);
      g_assert_no_error (error);
      g_assert_cmpstr (gw_config_smtp_starttls (config), ==, cases[i].effective);
    }
}

/* Refuses @text, with an error that says @needle. */
static void
assert_refused (const char *text,
                const char *needle)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (load (text, &error));
  g_assert_error (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, needle));
}

/* A boolean that is neither true nor false is refused, not read as false
 * (enabled=yes turned webhooks off); one left out keeps its default. */
static void
test_booleans (void)
{
  g_autoptr(GwConfig) config = gw_config_new ();
  g_autoptr(GError) error = NULL;

  assert_refused ("[webhooks]\nenabled=yes\n", "[webhooks] enabled must be true or false");
  assert_refused ("[gateway]\naccess_log=on\n", "[gateway] access_log must be true or false");
  assert_refused ("[sms]\nallow_http=1x\n", "[sms] allow_http must be true or false");
  g_assert_true (load_into (config, "[webhooks]\nallow_http=true\n[gateway]\naccess_log=true\n",
                            &error));
  g_assert_no_error (error);
  g_assert_true (config->webhooks_enabled);
  g_assert_true (config->webhooks_allow_http);
  g_assert_true (config->access_log);
  g_assert_true (load_into (config, "[webhooks]\nenabled=false\n", &error));
  g_assert_true (!config->webhooks_enabled);
}

/* A log level the gateway does not know would silently mean info. */
static void
test_log_level (void)
{
  g_autoptr(GError) error = NULL;

  assert_refused ("[gateway]\nlog_level=verbose\n",
                  "[gateway] log_level must be debug, info or warning");
  g_assert_true (load ("[gateway]\nlog_level=debug\n", &error));
  g_assert_no_error (error);
  g_assert_true (load ("[gateway]\nlog_level=warning\n", &error));
  g_assert_no_error (error);
}

/* A key or group the gateway does not read (a typo) is refused by name,
 * rather than leaving the default in force. */
static void
test_unknown_keys (void)
{
  g_autoptr(GError) error = NULL;

  assert_refused ("[payments]\ncapture_windw=60\n", "[payments] capture_windw is not a setting");
  assert_refused ("[webhook]\nenabled=false\n", "[webhook] is not a group");
  g_assert_true (load ("[payments]\ncapture_window=60\n# a comment\n", &error));
  g_assert_no_error (error);
}

/* The connection limits' defaults: the places the open-file limit leaves,
 * and an eighth of them for one address, but never fewer than 256 (a race
 * of 150 payments from one client must fit) nor more than there are. */
static void
test_connection_defaults (void)
{
  g_assert_cmpint (gw_listener_default_max (20000), ==, 10000);
  g_assert_cmpint (gw_listener_default_max (1024), ==, 768);
  g_assert_cmpint (gw_listener_default_max (64), ==, 32);
  g_assert_cmpint (gw_listener_default_per_address (10000), ==, 1250);
  g_assert_cmpint (gw_listener_default_per_address (768), ==, 256);
  g_assert_cmpint (gw_listener_default_per_address (32), ==, 32);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/smtp-auth-needs-tls", test_smtp_auth_needs_tls);
  g_test_add_func ("/config/smtp-password-file", test_smtp_password_file);
  g_test_add_func ("/config/bank-url", test_bank_url);
  g_test_add_func ("/config/webhooks-allow-private", test_webhooks_allow_private);
  g_test_add_func ("/config/sms-url", test_sms_url);
  g_test_add_func ("/config/smtp-starttls-default", test_smtp_starttls_default);
  g_test_add_func ("/config/booleans", test_booleans);
  g_test_add_func ("/config/log-level", test_log_level);
  g_test_add_func ("/config/unknown-keys", test_unknown_keys);
  g_test_add_func ("/config/connection-defaults", test_connection_defaults);
  return g_test_run ();
}
