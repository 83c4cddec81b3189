/* gw-main.c: onepin-gateway, the prepaid ledger and payment API
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "gw-api-network.h"
#include "gw-api-wallet.h"
#include "gw-connector-bank.h"
#include "gw-keys.h"
#include "gw-listener.h"
#include "gw-log.h"
#include "gw-notify.h"
#include "gw-outbox.h"
#include "gw-ars.h"
#include "gw-checkout.h"
#include "gw-server.h"
#include "gw-site.h"
#include "gw-store-sqlite.h"
#include "gw-webhooks.h"
#include "onepin-shared.h"

#define IDEMPOTENCY_RETENTION (72 * 3600)   /* the contract promises at least 24 h */

typedef struct
{
  GwConfig       *config;
  GwKeys         *keys;
  GwLedgerConfig  ledger;
  GwStore        *store;
  GwMetrics      *metrics;
  GwServer       *server;
  GwOutbox       *outbox;
  GwConnector    *connector;
  GwWebhooks     *webhooks;
  GMainLoop      *loop;
} Gateway;

static gboolean
parse_options (int        *argc,
               char     ***argv,
               GwConfig   *config,
               GError    **error)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *config_file = NULL;
  gboolean version = FALSE;
  GOptionEntry entries[] = {
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Where the database, keys and admin token live", "DIR" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
      "Address to listen on (default 127.0.0.1:8080; port 0 picks one)", "HOST:PORT" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file, "A GKeyFile configuration", "FILE" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- the onepin prepaid card gateway");

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Configuration groups: [gateway] listen, data_dir, key_file, log_level (debug, info,\n"
    "warning), access_log, metrics_token_file (GET /metrics for callers beyond this\n"
    "machine, with Authorization: Bearer and the file's token),\n"
    "http_threads (threads reading and writing HTTP; 0: the main thread),\n"
    "max_connections (0: from the open-file limit), connections_per_address (0: an\n"
    "eighth of max_connections, at least 256), idle_timeout, body_timeout,\n"
    "send_timeout;\n"
    "[tls] certificate, key, handshake_timeout, handshakes_per_address;\n"
    "[cards] bin, validity_years, points_rate;\n"
    "[payments] capture_window, hold_sweep_interval; [limits] lockout_seconds,\n"
    "failures_per_minute; [wallet] bin_range, session_lifetime, pbkdf2_iterations,\n"
    "kdf_per_minute, kdf_workers, kdf_queue, charge_recovery_interval; [bank] url,\n"
    "api_key_file, callback_secret_file, timeout, allow_http,\n"
    "callback_url (the financial system, onepin-bank); [smtp] url, from, from_name,\n"
    "starttls (none, try, required), username, password_file, ca_file, timeout;\n"
    "[sms] url, key_file, ca_file, allow_http; [outbox] retry_initial, retry_max, give_up_after,\n"
    "lease, poll_interval; [cards] promotional_validity_years; [site] public_url,\n"
    "contact_email, contact_phone, sweep_interval, payout_missing_after,\n"
    "charge_missing_after, charge_watch, allocation_attempts, allocation_retry;\n"
    "[phone] quota_seconds, session_grace, max_call_seconds, sweep_interval; [network]\n"
    "secret_file (the card network's issuer endpoint); [checkout] page_url,\n"
    "sweep_interval; [webhooks] enabled, allow_http, allow_private (endpoints on\n"
    "this machine or a private network), poll_interval, retry_base, max_attempts,\n"
    "timeout. Booleans are true or false; a group or key not listed here is refused.\n"
    "Command-line options win over the file.");
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  if (version)
    {
      g_print ("onepin-gateway %s\n", ONEPIN_VERSION);
      exit (0);
    }
  if (config_file != NULL && !gw_config_load_file (config, config_file, error))
    return FALSE;
  if (data_dir != NULL)
    g_free (config->data_dir), config->data_dir = g_steal_pointer (&data_dir);
  if (listen != NULL)
    g_free (config->listen), config->listen = g_steal_pointer (&listen);
  return gw_config_validate (config, error);
}

static void
ledger_config_init (Gateway *gw)
{
  GwLedgerConfig *ledger = &gw->ledger;

  ledger->lookup_key = gw->keys->lookup;
  ledger->password_key = gw->keys->password;
  ledger->seal_key = gw->keys->seal;
  ledger->ids_key = gw->keys->ids;
  gw_notify_set_key (gw->keys->seal);
  g_strlcpy (ledger->bin, gw->config->card_bin, sizeof ledger->bin);
  ledger->validity_years = gw->config->validity_years;
  ledger->points_rate = gw->config->points_rate;
  ledger->capture_window = gw->config->capture_window;
  ledger->lockout_seconds = gw->config->lockout_seconds;
}

/* The sweep: expired authorizations are canceled, old idempotency keys
 * dropped. It runs at start (holds may have expired while we were down),
 * then as soon as the next open authorization expires, so that its hold
 * stops counting against the card on time, and at least every
 * min(hold_sweep_interval, capture_window): a hold placed in between
 * expires no sooner than capture_window from its placing. */

typedef struct
{
  Gateway *gw;
  gint     expired;
  gint64   next_expiry;
} HoldSweep;

static gboolean sweep (gpointer user_data);

static gboolean
sweep_apply (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  HoldSweep *hs = data;

  hs->expired = gw_ledger_expire_holds (txn, &hs->next_expiry, error);
  return hs->expired >= 0 &&
         txn->funcs->idempotency_prune (txn, txn->funcs->now (txn) - IDEMPOTENCY_RETENTION,
                                        error);
}

static guint
sweep_delay_ms (const HoldSweep *hs)
{
  const GwConfig *config = hs->gw->config;
  gint64 longest = MIN (config->hold_sweep_interval, config->capture_window) * 1000;
  gint64 due;

  if (hs->expired == GW_LEDGER_EXPIRE_BATCH)
    return 0;  /* more are waiting */
  if (hs->next_expiry == 0)
    return longest;
  /* The writer's clock is whole seconds of the real time, and a hold
   * lasts through its capture_before: from (next_expiry + 1) * 1000 ms on,
   * the clock reads past it and the hold has expired. */
  due = (hs->next_expiry + 1) * 1000 - g_get_real_time () / 1000 + 5;
  return CLAMP (due, 0, longest);
}

static void
sweep_done (gpointer      data,
            const GError *error)
{
  g_autofree HoldSweep *hs = data;

  if (error != NULL)
    {
      g_warning ("hold sweep failed: %s", error->message);
      hs->expired = 0;
      hs->next_expiry = 0;
    }
  else if (hs->expired > 0)
    g_info ("canceled %d expired authorizations", hs->expired);
  g_timeout_add_full (G_PRIORITY_DEFAULT, sweep_delay_ms (hs), sweep, hs->gw, NULL);
}

static gboolean
sweep (gpointer user_data)
{
  Gateway *gw = user_data;
  HoldSweep *hs;

  /* Not while stopping: the drain still runs the main context. */
  if (!g_main_loop_is_running (gw->loop))
    return G_SOURCE_REMOVE;
  hs = g_new0 (HoldSweep, 1);
  hs->gw = gw;
  /* Repeatable: it sets both its outputs afresh, and is applied again if a
   * capture or cancel in another process got to a payment first. */
  gw_store_submit_full (gw->store, sweep_apply, sweep_done, hs, GW_STORE_OP_REPEATABLE);
  return G_SOURCE_REMOVE;
}

/* Telephone sessions whose switch went silent are settled at what was
 * reported; ARS calls left idle are forgotten. */

static gboolean
phone_sweep_apply (GwTxn    *txn,
                   gpointer  data,
                   GError  **error)
{
  gint *expired = data;

  *expired = gw_phone_expire_sessions (txn, error);
  return *expired >= 0 && gw_ars_prune (txn, error);
}

static void
phone_sweep_done (gpointer      data,
                  const GError *error)
{
  g_autofree gint *expired = data;

  if (error != NULL)
    g_warning ("phone session sweep failed: %s", error->message);
  else if (*expired > 0)
    g_info ("expired %d silent phone sessions", *expired);
}

static gboolean
phone_sweep (gpointer user_data)
{
  Gateway *gw = user_data;

  gw_store_submit (gw->store, phone_sweep_apply, phone_sweep_done, g_new0 (gint, 1));
  return G_SOURCE_CONTINUE;
}

/* Checkout sessions past their time are expired and their malls told, a
 * batch at a time; a full batch sends the next one at once. */

#define CHECKOUT_SWEEP_BATCH 500

typedef struct
{
  Gateway *gw;
  gint     expired;
} CheckoutSweep;

static gboolean
checkout_sweep_apply (GwTxn    *txn,
                      gpointer  data,
                      GError  **error)
{
  CheckoutSweep *sweep = data;

  sweep->expired = gw_checkout_expire_due (txn, CHECKOUT_SWEEP_BATCH, error);
  return sweep->expired >= 0;
}

static gboolean checkout_sweep (gpointer user_data);

static gboolean
checkout_sweep_again (gpointer user_data)
{
  checkout_sweep (user_data);
  return G_SOURCE_REMOVE;
}

static void
checkout_sweep_done (gpointer      data,
                     const GError *error)
{
  g_autofree CheckoutSweep *sweep = data;

  if (error != NULL)
    {
      if (!g_error_matches (error, GW_STORE_ERROR, GW_STORE_ERROR_SHUTTING_DOWN))
        g_warning ("checkout session sweep failed: %s", error->message);
      return;
    }
  if (sweep->expired > 0)
    g_info ("expired %d checkout sessions past their time", sweep->expired);
  if (sweep->expired == CHECKOUT_SWEEP_BATCH)
    g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, checkout_sweep_again, sweep->gw, NULL);
}

static gboolean
checkout_sweep (gpointer user_data)
{
  CheckoutSweep *sweep = g_new0 (CheckoutSweep, 1);

  sweep->gw = user_data;
  gw_store_submit (sweep->gw->store, checkout_sweep_apply, checkout_sweep_done, sweep);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal (gpointer user_data)
{
  Gateway *gw = user_data;

  g_info ("stopping");
  g_main_loop_quit (gw->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
announce (Gateway     *gw,
          const char  *url,
          GError     **error)
{
  g_autofree char *path = g_build_filename (gw->config->data_dir, "gateway.url", NULL);

  /* The URL alone, no newline: the contract calls it "the same URL", and
   * whoever reads it may not strip. */
  if (!g_file_set_contents_full (path, url, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return FALSE;
  g_print ("listening on %s\n", url);
  fflush (stdout);
  return TRUE;
}

/* The financial system, when [bank] names one. A callback URL given as a
 * path is completed with our own URL, known only once we listen. */
static gboolean
connect_bank (Gateway     *gw,
              const char  *own_url,
              GError     **error)
{
  GwConfig *config = gw->config;
  GwConnectorBank *bank;

  if (config->bank_url == NULL)
    return TRUE;
  bank = gw_connector_bank_new (config->bank_url, config->bank_api_key_file,
                                config->bank_callback_secret_file, config->bank_timeout, error);
  if (bank == NULL)
    return FALSE;
  gw->connector = GW_CONNECTOR (bank);
  if (config->bank_callback_url != NULL)
    {
      g_autofree char *callback = g_str_has_prefix (config->bank_callback_url, "/")
                                    ? g_strconcat (own_url, config->bank_callback_url, NULL)
                                    : g_strdup (config->bank_callback_url);

      gw_connector_bank_set_callback_url (bank, callback);
    }
  gw_server_set_connector (gw->server, gw->connector);
  g_info ("financial system: onepin-bank at %s", config->bank_url);
  return TRUE;
}

/* A database an older version left readable by others (it was made under
 * the operator's umask) is made its owner's alone before it is opened:
 * SQLite gives the -wal and -shm it creates the database's own mode. */
static void
restrict_database (const char *db_path)
{
  static const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *path = g_strconcat (db_path, suffixes[i], NULL);
      GStatBuf st;

      if (g_lstat (path, &st) != 0 || !S_ISREG (st.st_mode) || (st.st_mode & 0077) == 0)
        continue;
      if (g_chmod (path, st.st_mode & 0700) != 0)
        g_warning ("cannot make %s its owner's alone: %s", path, g_strerror (errno));
      else
        g_message ("%s was readable by others; it is now its owner's alone", path);
    }
}

static gboolean
start (Gateway  *gw,
       GError  **error)
{
  g_autofree char *db_path = g_build_filename (gw->config->data_dir, "onepin.db", NULL);
  g_autofree char *token = NULL;
  g_autofree char *url = NULL;
  GwStoreSqlite *store;
  GwSite *site;
  guint8 token_hash[32];

  if (g_mkdir_with_parents (gw->config->data_dir, 0700) != 0)
    return g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "Cannot create the data dir"), FALSE;
  if (!onepin_key_file_expected (gw->config->key_file, db_path, error) ||
      !onepin_crypto_init (error) ||
      !(gw->keys = gw_keys_load (gw->config->key_file, error)) ||
      !(token = gw_admin_token_load (gw->config->data_dir, error)))
    return FALSE;
  ledger_config_init (gw);
  if (gw->config->wallet_pbkdf2_iterations < 600000)
    g_warning ("[wallet] pbkdf2_iterations is below 600,000: for tests only");
  onepin_key_hmac (gw->keys->apikey, token, strlen (token), token_hash);

  restrict_database (db_path);
  store = gw_store_sqlite_new (db_path, gw->keys->seal, gw->keys->idempotency,
                               gw->keys->lookup, error);
  if (store == NULL)
    return FALSE;
  gw->store = GW_STORE (store);
  gw->metrics = gw_metrics_new ();
  gw_store_sqlite_set_commit_observer (store, gw_metrics_commit, gw->metrics);
  gw->outbox = gw_outbox_new (gw->config, gw->store, error);
  if (gw->outbox == NULL)
    return FALSE;
  gw_outbox_start (gw->outbox);

  gw->server = gw_server_new (gw->config, gw->store, &gw->ledger, gw->metrics, gw->keys->apikey,
                              gw->keys->idempotency, token_hash);
  if (!gw_server_load_metrics_token (gw->server, error) ||
      !gw_api_network_start (gw->server, error))
    return FALSE;
  /* The card site; without a financial system configured ([bank]) it takes
   * orders but answers every payment with bank_unavailable. */
  site = gw_site_new (gw->server, gw->store, &gw->ledger, gw->config);
  /* Before the "listening on" line: whoever waits for it may send SIGTERM
   * at once, and the default action would kill us mid-start. */
  g_unix_signal_add (SIGTERM, on_signal, gw);
  g_unix_signal_add (SIGINT, on_signal, gw);
  url = gw_server_listen (gw->server, error);
  if (url == NULL || !connect_bank (gw, url, error) || !announce (gw, url, error))
    return FALSE;
  if (gw->config->site_public_url == NULL)
    gw_site_set_public_url (site, url);

  g_idle_add (sweep, gw);
  g_timeout_add_seconds (gw->config->phone_sweep_interval, phone_sweep, gw);
  checkout_sweep (gw);
  g_timeout_add_seconds (gw->config->checkout_sweep_interval, checkout_sweep, gw);
  gw_api_wallet_start_recovery (gw->server);
  if (gw->config->webhooks_enabled)
    gw->webhooks = gw_webhooks_start (gw->server);
  return TRUE;
}

static void
stop (Gateway *gw)
{
  /* The e-mail, SMS and webhook sends under way get their graces at once,
   * side by side and while the requests drain: waited for one after the
   * other, a stop with all of them stuck took the sum. */
  gw_webhooks_stop_begin (gw->webhooks);
  gw_outbox_stop_begin (gw->outbox);
  if (gw->server != NULL)
    gw_server_drain (gw->server);
  /* Calls to the bank still open end as unknown, and their callers record
   * that through the store, which is still running. */
  if (gw->connector != NULL)
    gw_connector_shutdown (gw->connector);
  g_clear_pointer (&gw->webhooks, gw_webhooks_stop);
  /* Before the store: the worker records what it sent last through it. */
  g_clear_pointer (&gw->outbox, gw_outbox_free);
  if (gw->store != NULL)
    gw_store_shutdown (gw->store);
  g_clear_object (&gw->server);
  g_clear_object (&gw->connector);
  g_clear_object (&gw->store);
  g_clear_pointer (&gw->metrics, gw_metrics_free);
  g_clear_pointer (&gw->keys, gw_keys_free);
  g_clear_pointer (&gw->config, gw_config_free);
  g_clear_pointer (&gw->loop, g_main_loop_unref);
}

/* TLS 1.2 is the least we speak; glib-networking reads this before its
 * first handshake. An operator's own priority string is kept (ciphers,
 * curves, @SYSTEM), but the older versions are removed after it, so that
 * nothing it adds (+VERS-TLS1.1) goes below the floor README promises. */
static void
set_tls_priority (void)
{
  const char *inherited = g_getenv ("G_TLS_GNUTLS_PRIORITY");
  g_autofree char *priority = NULL;

  if (inherited == NULL || *inherited == '\0')
    priority = g_strdup ("NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
  else
    priority = g_strconcat (inherited, ":-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1", NULL);
  g_setenv ("G_TLS_GNUTLS_PRIORITY", priority, TRUE);
}

/* The files the gateway holds before its first client, about 20 (the
 * database thrice over, the threads' wake-up descriptors, the listening
 * socket), with room for the bank, SMTP, webhooks and a few clients. Below
 * it, GLib would abort making a thread's main context. */
#define MIN_OPEN_FILES 64

/* systemd's soft limit on open files is 1024: taken up to the hard limit,
 * and the connections kept well below it, so that the database, the bank,
 * SMTP and the webhooks always find a file. */
static gboolean
limit_files (GwConfig  *config,
             GError   **error)
{
  guint64 files = gw_listener_raise_fd_limit ();

  if (files < MIN_OPEN_FILES)
    {
      g_set_error (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                   "the open-file limit is %" G_GUINT64_FORMAT " (ulimit -Hn); "
                   "onepin-gateway needs at least %d", files, MIN_OPEN_FILES);
      return FALSE;
    }
  if (config->connections.max_connections == 0)
    config->connections.max_connections = gw_listener_default_max (files);
  if (config->connections.connections_per_address == 0)
    config->connections.connections_per_address =
      gw_listener_default_per_address (config->connections.max_connections);
  g_info ("open files: %" G_GUINT64_FORMAT "; client connections: %" G_GINT64_FORMAT
          ", %" G_GINT64_FORMAT " from one address", files,
          config->connections.max_connections, config->connections.connections_per_address);
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  Gateway gw = { 0 };
  g_autoptr(GError) error = NULL;

  /* Every file we create is ours alone: the database (SQLite makes it
   * 0644 less the umask, and gives its -wal and -shm the database's mode),
   * the keys, the admin token, gateway.url. A umask rather than a chmod of
   * each file or a hook in our VFS: it also covers the -shm, which SQLite's
   * unix VFS opens itself rather than through xOpen, and any file a later
   * change or a library adds; no file is ever open to others, not even
   * between its creation and a chmod. Set first, before any thread. The
   * gateway makes no file meant for anyone else. */
  umask (0077);
  signal (SIGPIPE, SIG_IGN);
  set_tls_priority ();

  gw.config = gw_config_new ();
  if (!parse_options (&argc, &argv, gw.config, &error))
    {
      g_printerr ("onepin-gateway: %s\n", error->message);
      stop (&gw);
      return 2;
    }
  gw_log_init (gw.config->log_level);
  gw.loop = g_main_loop_new (NULL, FALSE);

  if (!limit_files (gw.config, &error) || !start (&gw, &error))
    {
      g_critical ("cannot start: %s", error->message);
      stop (&gw);
      return 1;
    }

  g_main_loop_run (gw.loop);
  stop (&gw);
  g_info ("stopped");
  return 0;
}
