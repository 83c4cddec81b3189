/* bank-main.c: onepin-bank, the sandbox card company and bank
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bank-server.h"
#include "bank-testdata.h"
#include "onepin-crypto.h"

typedef struct
{
  BankConfig  config;
  BankKeys   *keys;
  BankStore  *store;
  BankServer *server;
  GMainLoop  *loop;
} Bank;

static gboolean
parse_options (int         *argc,
               char      ***argv,
               BankConfig  *config,
               GError     **error)
{
  gboolean version = FALSE;
  GOptionEntry entries[] = {
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &config->data_dir,
      "Where the database and keys live (required)", "DIR" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &config->listen,
      "Address to listen on (default 127.0.0.1:8081; port 0 picks one)", "HOST:PORT" },
    { "callback-url", 0, 0, G_OPTION_ARG_STRING, &config->callback_url,
      "Where deposit callbacks go, unless a charge names its own callback_url", "URL" },
    { "api-key-file", 0, 0, G_OPTION_ARG_FILENAME, &config->api_key_file,
      "The API key (default DIR/api.key, created 0600)", "FILE" },
    { "sms-key-file", 0, 0, G_OPTION_ARG_FILENAME, &config->sms_key_file,
      "The SMS sink's key (default DIR/sms.key, created 0600)", "FILE" },
    { "callback-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &config->callback_secret_file,
      "The secret that signs callbacks (default DIR/callback.secret, created 0600)", "FILE" },
    { "slow-seconds", 0, 0, G_OPTION_ARG_INT64, &config->slow_seconds,
      "How long the \"slow\" test card and account hold their reply (default 60)", "SECONDS" },
    { "deposit-window", 0, 0, G_OPTION_ARG_INT64, &config->deposit_window,
      "How long a virtual account waits for its deposit (default 86400)", "SECONDS" },
    { "acquirer-key-file", 0, 0, G_OPTION_ARG_FILENAME, &config->acquirer_key_file,
      "The malls' key for /v1/acquirer/… (default DIR/acquirer.key, created 0600)", "FILE" },
    { "operator-key-file", 0, 0, G_OPTION_ARG_FILENAME, &config->operator_key_file,
      "The bank's operators' key, to close reconciliations (default DIR/operator.key, "
      "created 0600)", "FILE" },
    { "network-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &config->network_secret_file,
      "The secret that signs card network messages (default DIR/network.secret, created 0600)",
      "FILE" },
    { "issuer-url", 0, 0, G_OPTION_ARG_STRING, &config->issuer_url,
      "Where authorizations of onepin's cards go: the gateway's /v1/network/messages", "URL" },
    { "issuer-url-file", 0, 0, G_OPTION_ARG_FILENAME, &config->issuer_url_file,
      "Or a file with the gateway's URL (its DIR/gateway.url), read for every message",
      "FILE" },
    { "issuer-bins", 0, 0, G_OPTION_ARG_STRING, &config->issuer_bins,
      "onepin's BIN range: prefixes or LOW-HIGH ranges (default 9410,942000-942999)", "BINS" },
    { "issuer-timeout", 0, 0, G_OPTION_ARG_INT64, &config->issuer_timeout,
      "Seconds before the issuer's answer counts as none and the message is reversed "
      "(default 10)", "SECONDS" },
    { "resend-after", 0, 0, G_OPTION_ARG_INT64, &config->resend_after,
      "Seconds a capture or refund the issuer did not answer waits for the mall's retry "
      "before the bank sends it again itself (default 60)", "SECONDS" },
    { "resend-give-up", 0, 0, G_OPTION_ARG_INT64, &config->resend_give_up,
      "Seconds after its first try that the bank stops sending a capture, refund or reversal "
      "the issuer never answered, and marks it for reconciliation (default 86400)",
      "SECONDS" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("- the onepin sandbox card company, bank and SMS sink");

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Test cards and accounts: see gateway-server/bank/README.md. Never use real data.");
  config->slow_seconds = 60;
  config->deposit_window = 86400;
  config->issuer_timeout = 10;
  config->resend_after = 60;
  config->resend_give_up = 86400;
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  if (version)
    {
      g_print ("onepin-bank %s\n", ONEPIN_VERSION);
      exit (0);
    }
  if (config->data_dir == NULL)
    return g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                "--data-dir is required"), FALSE;
  if (config->slow_seconds < 1 || config->slow_seconds > 3600 ||
      config->deposit_window < 1 || config->deposit_window > 30 * 86400)
    return g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                "--slow-seconds is 1 to 3600, --deposit-window 1 to 2592000"),
           FALSE;
  if (config->callback_url != NULL && !bank_url_valid (config->callback_url))
    return g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                "--callback-url is not an http(s) URL with a host"), FALSE;
  if (config->issuer_url != NULL && !bank_url_valid (config->issuer_url))
    return g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                "--issuer-url is not an http(s) URL with a host"), FALSE;
  if (config->issuer_timeout < 1 || config->issuer_timeout > 300 ||
      config->resend_after < 1 || config->resend_after > 86400 ||
      config->resend_give_up < 1 || config->resend_give_up > 259200)
    return g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                "--issuer-timeout is 1 to 300, --resend-after 1 to 86400, "
                                "--resend-give-up 1 to 259200 (the issuer's 72 h)"),
           FALSE;
  if (config->issuer_bins == NULL)
    config->issuer_bins = g_strdup ("9410,942000-942999");
  if (config->listen == NULL)
    config->listen = g_strdup ("127.0.0.1:8081");
  if (config->api_key_file == NULL)
    config->api_key_file = g_build_filename (config->data_dir, "api.key", NULL);
  if (config->sms_key_file == NULL)
    config->sms_key_file = g_build_filename (config->data_dir, "sms.key", NULL);
  if (config->callback_secret_file == NULL)
    config->callback_secret_file = g_build_filename (config->data_dir, "callback.secret", NULL);
  if (config->acquirer_key_file == NULL)
    config->acquirer_key_file = g_build_filename (config->data_dir, "acquirer.key", NULL);
  if (config->operator_key_file == NULL)
    config->operator_key_file = g_build_filename (config->data_dir, "operator.key", NULL);
  if (config->network_secret_file == NULL)
    config->network_secret_file = g_build_filename (config->data_dir, "network.secret", NULL);
  return TRUE;
}

static gboolean
on_signal (gpointer user_data)
{
  Bank *bank = user_data;

  g_main_loop_quit (bank->loop);
  return G_SOURCE_REMOVE;
}

/* The key files' paths first, then the line tests wait for, last. */
static gboolean
announce (Bank        *bank,
          const char  *url,
          GError     **error)
{
  g_autofree char *path = g_build_filename (bank->config.data_dir, "bank.url", NULL);
  g_autofree char *line = g_strconcat (url, "\n", NULL);

  if (!g_file_set_contents_full (path, line, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return FALSE;
  g_print ("API key in %s\n", bank->config.api_key_file);
  g_print ("SMS key in %s\n", bank->config.sms_key_file);
  g_print ("callback secret in %s\n", bank->config.callback_secret_file);
  g_print ("acquirer key in %s\n", bank->config.acquirer_key_file);
  g_print ("operator key in %s\n", bank->config.operator_key_file);
  g_print ("network secret in %s\n", bank->config.network_secret_file);
  if (bank->config.callback_url != NULL)
    g_print ("deposit callbacks go to %s\n", bank->config.callback_url);
  if (bank->config.issuer_url != NULL || bank->config.issuer_url_file != NULL)
    g_print ("cards %s go to the issuer at %s\n", bank->config.issuer_bins,
             bank->config.issuer_url ? bank->config.issuer_url : bank->config.issuer_url_file);
  g_print ("listening on %s\n", url);
  fflush (stdout);
  return TRUE;
}

static gboolean
start (Bank    *bank,
       GError **error)
{
  BankConfig *config = &bank->config;
  g_autofree char *master = g_build_filename (config->data_dir, "bank.key", NULL);
  g_autofree char *db_path = g_build_filename (config->data_dir, "bank.db", NULL);
  g_autofree char *url = NULL;
  BankKeyPaths paths = {
    .master = master, .api_key = config->api_key_file, .sms_key = config->sms_key_file,
    .callback_secret = config->callback_secret_file,
    .acquirer_key = config->acquirer_key_file, .operator_key = config->operator_key_file,
    .network_secret = config->network_secret_file,
  };

  if (g_mkdir_with_parents (config->data_dir, 0700) != 0)
    return g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "Cannot create the data dir"), FALSE;
  if (!onepin_crypto_init (error) ||
      !onepin_key_file_expected (master, db_path, error) ||
      !(bank->keys = bank_keys_load (&paths, error)) ||
      !(bank->store = bank_store_open (db_path, error)) ||
      !bank_testdata_check_key (bank->store, bank->keys, error) ||
      !bank_testdata_seed (bank->store, bank->keys, error) ||
      !(bank->server = bank_server_new (config, bank->keys, bank->store, error)))
    return FALSE;

  url = bank_server_listen (bank->server, error);
  if (url == NULL || !announce (bank, url, error))
    return FALSE;
  g_unix_signal_add (SIGTERM, on_signal, bank);
  g_unix_signal_add (SIGINT, on_signal, bank);
  return TRUE;
}

static void
stop (Bank *bank)
{
  BankConfig *config = &bank->config;

  g_clear_object (&bank->server);
  g_clear_pointer (&bank->store, bank_store_free);
  g_clear_pointer (&bank->keys, bank_keys_free);
  g_clear_pointer (&bank->loop, g_main_loop_unref);
  g_free (config->data_dir);
  g_free (config->listen);
  g_free (config->callback_url);
  g_free (config->api_key_file);
  g_free (config->sms_key_file);
  g_free (config->callback_secret_file);
  g_free (config->acquirer_key_file);
  g_free (config->operator_key_file);
  g_free (config->network_secret_file);
  g_free (config->issuer_url);
  g_free (config->issuer_url_file);
  g_free (config->issuer_bins);
}

int
main (int   argc,
      char *argv[])
{
  Bank bank = { 0 };
  g_autoptr(GError) error = NULL;

  /* Every file the bank makes is its owner's alone, bank.db and the -wal
   * and -shm SQLite gives its mode included, as in onepin-gateway. */
  umask (0077);
  signal (SIGPIPE, SIG_IGN);
  if (!parse_options (&argc, &argv, &bank.config, &error))
    {
      g_printerr ("onepin-bank: %s\n", error->message);
      stop (&bank);
      return 2;
    }
  bank.loop = g_main_loop_new (NULL, FALSE);
  if (!start (&bank, &error))
    {
      g_printerr ("onepin-bank: cannot start: %s\n", error->message);
      stop (&bank);
      return 1;
    }
  g_main_loop_run (bank.loop);
  stop (&bank);
  return 0;
}
