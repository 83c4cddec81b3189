/* gw-config.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-config.h"

#include <string.h>

G_DEFINE_QUARK (gw-config-error-quark, gw_config_error)

GwConfig *
gw_config_new (void)
{
  GwConfig *config = g_new0 (GwConfig, 1);

  config->listen = g_strdup ("127.0.0.1:8080");
  config->log_level = g_strdup ("info");
  config->http_threads = 0;
  config->connections.max_connections = 0;     /* gw_listener_default_max () at start */
  config->connections.connections_per_address = 0; /* gw_listener_default_per_address () */
  config->connections.idle_timeout = 30;
  config->connections.body_timeout = 30;
  config->connections.send_timeout = 30;
  config->connections.handshake_timeout = 5;
  config->connections.handshakes_per_address = 4;
  config->card_bin = g_strdup ("9410");
  config->validity_years = 5;
  config->points_rate = 100;                    /* 1 point per 100 won */
  config->capture_window = 7 * 24 * 3600;
  config->hold_sweep_interval = 60;
  config->lockout_seconds = 30 * 60;
  config->failures_per_minute = 20;
  config->phone_quota_seconds = 300;
  config->phone_session_grace = 60;
  config->phone_max_call_seconds = 4 * 3600;
  config->phone_sweep_interval = 10;
  config->promotional_validity_years = 1;
  config->site_contact_email = g_strdup ("center@onepin.example");
  config->site_contact_phone = g_strdup ("02-2220-1999");
  config->site_sweep_interval = 30;
  config->site_payout_missing_after = 15 * 60;
  config->site_charge_missing_after = 15 * 60;
  config->site_charge_watch = 24 * 3600;
  config->site_allocation_attempts = 5;
  config->site_allocation_retry = 30;
  config->checkout_sweep_interval = 30;
  config->wallet_bin_range = g_strdup ("942000-942999");
  config->wallet_session_lifetime = 24 * 3600;
  config->wallet_pbkdf2_iterations = 600000;
  config->wallet_kdf_per_minute = 30;
  /* A core is left to the main thread and the writer. */
  config->wallet_kdf_workers = MAX (1, (gint64) g_get_num_processors () - 1);
  config->wallet_kdf_queue = 32;
  config->wallet_recovery_interval = 60;
  config->bank_timeout = 20;
  config->webhooks_enabled = TRUE;
  config->webhooks_poll_interval = 1;
  config->webhooks_retry_base = 5;
  config->webhooks_max_attempts = 20;
  config->webhooks_timeout = 10;
  config->smtp_from = g_strdup ("no-reply@onepin.example");
  config->smtp_from_name = g_strdup ("onepin");
  /* smtp_starttls stays NULL: its default depends on the url
   * (gw_config_smtp_starttls ()). */
  config->smtp_timeout = 60;
  config->outbox_retry_initial = 30;
  config->outbox_retry_max = 3600;
  config->outbox_give_up_after = 3 * 24 * 3600;
  config->outbox_lease = 300;
  config->outbox_poll_interval = 30;
  return config;
}

void
gw_config_free (GwConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->data_dir);
  g_free (config->listen);
  g_free (config->key_file);
  g_free (config->metrics_token_file);
  g_free (config->tls_certificate);
  g_free (config->tls_key);
  g_free (config->log_level);
  g_free (config->card_bin);
  g_free (config->site_public_url);
  g_free (config->site_contact_email);
  g_free (config->site_contact_phone);
  g_free (config->wallet_bin_range);
  g_free (config->bank_url);
  g_free (config->bank_api_key_file);
  g_free (config->bank_callback_secret_file);
  g_free (config->bank_callback_url);
  g_free (config->network_secret_file);
  g_free (config->checkout_page_url);
  g_free (config->smtp_url);
  g_free (config->smtp_from);
  g_free (config->smtp_from_name);
  g_free (config->smtp_starttls);
  g_free (config->smtp_username);
  g_free (config->smtp_password_file);
  g_free (config->smtp_ca_file);
  g_free (config->sms_url);
  g_free (config->sms_key_file);
  g_free (config->sms_ca_file);
  g_free (config);
}

/* The file being read, and every group and "group\nkey" read from it: what
 * is left over afterwards is a key no one reads, a typo (capture_windw)
 * that would silently leave its default in force. */
typedef struct
{
  GKeyFile   *file;
  GHashTable *known;
} Loader;

static GKeyFile *
loader_file (Loader     *loader,
             const char *group,
             const char *key)
{
  g_hash_table_add (loader->known, g_strdup (group));
  g_hash_table_add (loader->known, g_strconcat (group, "\n", key, NULL));
  return loader->file;
}

static void
load_string (Loader      *loader,
             const char  *group,
             const char  *key,
             char       **target)
{
  g_autofree char *value = g_key_file_get_string (loader_file (loader, group, key), group, key,
                                                  NULL);

  if (value != NULL)
    {
      g_free (*target);
      *target = g_strstrip (g_steal_pointer (&value));
    }
}

/* A boolean left out keeps its default; one that is neither true nor false
 * (enabled=yes) is refused rather than read as false. */
static gboolean
load_bool (Loader      *loader,
           const char  *group,
           const char  *key,
           gboolean    *target,
           GError     **error)
{
  GKeyFile *file = loader_file (loader, group, key);
  g_autoptr(GError) local = NULL;
  gboolean value;

  if (!g_key_file_has_key (file, group, key, NULL))
    return TRUE;
  value = g_key_file_get_boolean (file, group, key, &local);
  if (local != NULL)
    {
      g_set_error (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                   "[%s] %s must be true or false", group, key);
      return FALSE;
    }
  *target = value;
  return TRUE;
}

static gboolean
load_int (Loader      *loader,
          const char  *group,
          const char  *key,
          gint64       min,
          gint64       max,
          gint64      *target,
          GError     **error)
{
  GKeyFile *file = loader_file (loader, group, key);
  g_autoptr(GError) local = NULL;
  gint64 value;

  if (!g_key_file_has_key (file, group, key, NULL))
    return TRUE;
  value = g_key_file_get_int64 (file, group, key, &local);
  if (local != NULL || value < min || value > max)
    {
      g_set_error (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                   "[%s] %s must be an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                   group, key, min, max);
      return FALSE;
    }
  *target = value;
  return TRUE;
}

static gboolean
load_phone (Loader    *loader,
            GwConfig  *config,
            GError   **error)
{
  return load_int (loader, "phone", "quota_seconds", 1, 3600, &config->phone_quota_seconds,
                   error) &&
         load_int (loader, "phone", "session_grace", 1, 3600, &config->phone_session_grace,
                   error) &&
         load_int (loader, "phone", "max_call_seconds", 1, 24 * 3600,
                   &config->phone_max_call_seconds, error) &&
         load_int (loader, "phone", "sweep_interval", 1, 3600, &config->phone_sweep_interval,
                   error);
}

static gboolean
load_connections (Loader    *loader,
                  GwConfig  *config,
                  GError   **error)
{
  GwListenerLimits *limits = &config->connections;

  return load_int (loader, "gateway", "max_connections", 0, 1000000, &limits->max_connections,
                   error) &&
         load_int (loader, "gateway", "connections_per_address", 0, 1000000,
                   &limits->connections_per_address, error) &&
         load_int (loader, "gateway", "idle_timeout", 1, 3600, &limits->idle_timeout, error) &&
         load_int (loader, "gateway", "body_timeout", 1, 3600, &limits->body_timeout, error) &&
         load_int (loader, "gateway", "send_timeout", 1, 3600, &limits->send_timeout, error) &&
         load_int (loader, "tls", "handshake_timeout", 1, 300, &limits->handshake_timeout,
                   error) &&
         load_int (loader, "tls", "handshakes_per_address", 1, 10000,
                   &limits->handshakes_per_address, error);
}

static gboolean
load_all (Loader    *loader,
          GwConfig  *config,
          GError   **error)
{
  gint64 years = config->validity_years;
  gint64 sweep = config->hold_sweep_interval;
  gint64 per_minute = config->failures_per_minute;
  gint64 promotional = config->promotional_validity_years;
  gint64 site_sweep = config->site_sweep_interval;
  gint64 checkout_sweep = config->checkout_sweep_interval;
  gint64 recovery = config->wallet_recovery_interval;
  gint64 bank_timeout = config->bank_timeout;
  gint64 http_threads = config->http_threads;

  load_string (loader, "gateway", "listen", &config->listen);
  load_string (loader, "gateway", "data_dir", &config->data_dir);
  load_string (loader, "gateway", "key_file", &config->key_file);
  load_string (loader, "gateway", "metrics_token_file", &config->metrics_token_file);
  load_string (loader, "gateway", "log_level", &config->log_level);
  load_string (loader, "tls", "certificate", &config->tls_certificate);
  load_string (loader, "tls", "key", &config->tls_key);
  load_string (loader, "cards", "bin", &config->card_bin);
  load_string (loader, "site", "public_url", &config->site_public_url);
  load_string (loader, "site", "contact_email", &config->site_contact_email);
  load_string (loader, "site", "contact_phone", &config->site_contact_phone);
  load_string (loader, "wallet", "bin_range", &config->wallet_bin_range);
  load_string (loader, "bank", "url", &config->bank_url);
  load_string (loader, "bank", "api_key_file", &config->bank_api_key_file);
  load_string (loader, "bank", "callback_secret_file", &config->bank_callback_secret_file);
  load_string (loader, "bank", "callback_url", &config->bank_callback_url);
  load_string (loader, "network", "secret_file", &config->network_secret_file);
  load_string (loader, "checkout", "page_url", &config->checkout_page_url);
  load_string (loader, "smtp", "url", &config->smtp_url);
  load_string (loader, "smtp", "from", &config->smtp_from);
  load_string (loader, "smtp", "from_name", &config->smtp_from_name);
  load_string (loader, "smtp", "starttls", &config->smtp_starttls);
  load_string (loader, "smtp", "username", &config->smtp_username);
  load_string (loader, "smtp", "password_file", &config->smtp_password_file);
  load_string (loader, "smtp", "ca_file", &config->smtp_ca_file);
  load_string (loader, "sms", "url", &config->sms_url);
  load_string (loader, "sms", "key_file", &config->sms_key_file);
  load_string (loader, "sms", "ca_file", &config->sms_ca_file);

  if (!load_bool (loader, "gateway", "access_log", &config->access_log, error) ||
      !load_bool (loader, "bank", "allow_http", &config->bank_allow_http, error) ||
      !load_bool (loader, "webhooks", "enabled", &config->webhooks_enabled, error) ||
      !load_bool (loader, "webhooks", "allow_http", &config->webhooks_allow_http, error) ||
      !load_bool (loader, "webhooks", "allow_private", &config->webhooks_allow_private,
                  error) ||
      !load_bool (loader, "sms", "allow_http", &config->sms_allow_http, error) ||
      !load_int (loader, "gateway", "http_threads", 0, 64, &http_threads, error) ||
      !load_int (loader, "cards", "validity_years", 0, 50, &years, error) ||
      !load_int (loader, "cards", "points_rate", 0, 10000, &config->points_rate, error) ||
      !load_int (loader, "payments", "capture_window", 1, 90 * 24 * 3600, &config->capture_window,
                 error) ||
      !load_int (loader, "payments", "hold_sweep_interval", 1, 3600, &sweep, error) ||
      !load_int (loader, "limits", "lockout_seconds", 1, 7 * 24 * 3600, &config->lockout_seconds,
                 error) ||
      !load_int (loader, "limits", "failures_per_minute", 1, 100000, &per_minute, error) ||
      !load_int (loader, "cards", "promotional_validity_years", 1, 50, &promotional, error) ||
      !load_int (loader, "site", "sweep_interval", 1, 3600, &site_sweep, error) ||
      !load_int (loader, "site", "payout_missing_after", 1, 7 * 24 * 3600,
                 &config->site_payout_missing_after, error) ||
      !load_int (loader, "site", "charge_missing_after", 1, 7 * 24 * 3600,
                 &config->site_charge_missing_after, error) ||
      !load_int (loader, "site", "charge_watch", 0, 90 * 24 * 3600, &config->site_charge_watch,
                 error) ||
      !load_int (loader, "site", "allocation_attempts", 1, 100, &config->site_allocation_attempts,
                 error) ||
      !load_int (loader, "site", "allocation_retry", 1, 3600, &config->site_allocation_retry,
                 error) ||
      !load_int (loader, "checkout", "sweep_interval", 1, 3600, &checkout_sweep, error) ||
      !load_int (loader, "wallet", "session_lifetime", 1, 30 * 24 * 3600,
                 &config->wallet_session_lifetime, error) ||
      !load_int (loader, "wallet", "pbkdf2_iterations", 1, 10000000,
                 &config->wallet_pbkdf2_iterations, error) ||
      !load_int (loader, "wallet", "kdf_per_minute", 1, 100000, &config->wallet_kdf_per_minute,
                 error) ||
      !load_int (loader, "wallet", "kdf_workers", 1, 256, &config->wallet_kdf_workers, error) ||
      !load_int (loader, "wallet", "kdf_queue", 0, 100000, &config->wallet_kdf_queue, error) ||
      !load_int (loader, "wallet", "charge_recovery_interval", 1, 3600, &recovery, error) ||
      !load_int (loader, "bank", "timeout", 1, 300, &bank_timeout, error) ||
      !load_int (loader, "webhooks", "poll_interval", 1, 3600, &config->webhooks_poll_interval,
                 error) ||
      !load_int (loader, "webhooks", "retry_base", 1, 3600, &config->webhooks_retry_base, error) ||
      !load_int (loader, "webhooks", "max_attempts", 1, 100, &config->webhooks_max_attempts,
                 error) ||
      !load_int (loader, "webhooks", "timeout", 1, 300, &config->webhooks_timeout, error) ||
      !load_int (loader, "smtp", "timeout", 1, 600, &config->smtp_timeout, error) ||
      !load_int (loader, "outbox", "retry_initial", 1, 24 * 3600, &config->outbox_retry_initial,
                 error) ||
      !load_int (loader, "outbox", "retry_max", 1, 7 * 24 * 3600, &config->outbox_retry_max,
                 error) ||
      !load_int (loader, "outbox", "give_up_after", 60, 365 * 24 * 3600,
                 &config->outbox_give_up_after, error) ||
      !load_int (loader, "outbox", "lease", 1, 24 * 3600, &config->outbox_lease, error) ||
      !load_int (loader, "outbox", "poll_interval", 1, 3600, &config->outbox_poll_interval, error) ||
      !load_phone (loader, config, error) ||
      !load_connections (loader, config, error))
    return FALSE;

  config->validity_years = years;
  config->hold_sweep_interval = sweep;
  config->failures_per_minute = per_minute;
  config->promotional_validity_years = promotional;
  config->site_sweep_interval = site_sweep;
  config->checkout_sweep_interval = checkout_sweep;
  config->wallet_recovery_interval = recovery;
  config->bank_timeout = bank_timeout;
  config->http_threads = http_threads;
  return TRUE;
}

/* A group or key the gateway does not read is refused by name: a typo
 * (capture_windw, [webhook]) would otherwise leave the default in force
 * with nothing said. */
static gboolean
check_unknown (Loader  *loader,
               GError **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (loader->file, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_auto(GStrv) keys = g_key_file_get_keys (loader->file, groups[i], NULL, NULL);

      if (!g_hash_table_contains (loader->known, groups[i]))
        {
          g_set_error (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                       "[%s] is not a group of the gateway's settings (onepin-gateway --help "
                       "lists them)", groups[i]);
          return FALSE;
        }
      for (guint j = 0; keys != NULL && keys[j] != NULL; j++)
        {
          g_autofree char *name = g_strconcat (groups[i], "\n", keys[j], NULL);

          if (g_hash_table_contains (loader->known, name))
            continue;
          g_set_error (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                       "[%s] %s is not a setting of the gateway (onepin-gateway --help lists "
                       "them)", groups[i], keys[j]);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
gw_config_load_file (GwConfig    *config,
                     const char  *path,
                     GError     **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GHashTable) known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Loader loader = { file, known };

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, error))
    return FALSE;
  return load_all (&loader, config, error) && check_unknown (&loader, error);
}

static gboolean
is_digits (const char *text,
           gsize       len)
{
  return len > 0 && strspn (text, "0123456789") >= len;
}

/* "942000-942999": two prefixes of one length, the first not above the second. */
static gboolean
parse_bin_range (GwConfig  *config,
                 GError   **error)
{
  const char *range = config->wallet_bin_range;
  const char *dash = strchr (range, '-');
  gsize low_len = dash ? (gsize) (dash - range) : strlen (range);
  const char *high = dash ? dash + 1 : range;
  gsize high_len = strlen (high);

  if (low_len > 10 || low_len != high_len || !is_digits (range, low_len) ||
      !is_digits (high, high_len) || strncmp (range, high, low_len) > 0)
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[wallet] bin_range must be LOW-HIGH, two prefixes of 1 to 10 "
                                "digits of the same length, LOW <= HIGH"), FALSE;
  memcpy (config->wallet_bin_low, range, low_len);
  config->wallet_bin_low[low_len] = '\0';
  memcpy (config->wallet_bin_high, high, high_len);
  config->wallet_bin_high[high_len] = '\0';
  return TRUE;
}

/* This machine, where nobody on the network can listen in or tamper. */
static gboolean
host_is_loopback (const char *host)
{
  return g_str_equal (host, "127.0.0.1") || g_str_equal (host, "localhost") ||
         g_str_equal (host, "::1");
}

gboolean
gw_config_url_ok (const char *url,
                  gboolean    allow_http)
{
  g_autoptr(GUri) uri = url ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;
  const char *host = uri ? g_uri_get_host (uri) : NULL;

  if (host == NULL || *host == '\0' || g_uri_get_userinfo (uri) != NULL)
    return FALSE;
  if (g_str_equal (g_uri_get_scheme (uri), "https"))
    return TRUE;
  /* Plain http only where nobody can listen in: this machine. */
  return g_str_equal (g_uri_get_scheme (uri), "http") && (allow_http || host_is_loopback (host));
}

/* @url, which [@group] sends secrets to, is refused unless over TLS or
 * within this machine, or the operator said otherwise. */
static gboolean
secret_url_ok (const char  *group,
               const char  *url,
               gboolean     allow_http,
               GError     **error)
{
  if (gw_config_url_ok (url, allow_http))
    return TRUE;
  g_set_error (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
               "[%s] url must be an https URL (plain http only to this machine, or with "
               "allow_http=true), without user information", group);
  return FALSE;
}

const char *
gw_config_smtp_starttls (const GwConfig *config)
{
  g_autoptr(GUri) uri = NULL;
  const char *host;

  if (config->smtp_starttls != NULL)
    return config->smtp_starttls;
  if (config->smtp_url == NULL || !g_str_has_prefix (config->smtp_url, "smtp://"))
    return "try";
  /* On the path to another host, "try" lets anyone strip STARTTLS and read
   * the access codes and card numbers the e-mails carry. */
  uri = g_uri_parse (config->smtp_url, G_URI_FLAGS_NONE, NULL);
  host = uri ? g_uri_get_host (uri) : NULL;
  return host != NULL && host_is_loopback (host) ? "try" : "required";
}

/* The bank is sent our API key and card numbers: over TLS, or within this
 * machine, unless the operator says otherwise. */
static gboolean
validate_bank (GwConfig  *config,
               GError   **error)
{
  const char *callback = config->bank_callback_url;

  if (config->bank_url == NULL)
    return TRUE;
  if (!secret_url_ok ("bank", config->bank_url, config->bank_allow_http, error))
    return FALSE;
  if (config->bank_api_key_file == NULL || config->bank_callback_secret_file == NULL)
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[bank] needs api_key_file and callback_secret_file with url"),
           FALSE;
  if (callback != NULL && !g_str_has_prefix (callback, "/") &&
      !g_str_has_prefix (callback, "http://") && !g_str_has_prefix (callback, "https://"))
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[bank] callback_url is an http(s) URL or a path"), FALSE;
  return TRUE;
}

static gboolean
url_has_scheme (const char  *url,
                const char  *first,
                const char  *second)
{
  return g_str_has_prefix (url, first) || g_str_has_prefix (url, second);
}

static gboolean
validate_outbox (GwConfig  *config,
                 GError   **error)
{
  const char *starttls = gw_config_smtp_starttls (config);

  if (config->smtp_url != NULL && !url_has_scheme (config->smtp_url, "smtp://", "smtps://"))
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[smtp] url must start with smtp:// or smtps://"), FALSE;
  if (!g_str_equal (starttls, "none") && !g_str_equal (starttls, "try") &&
      !g_str_equal (starttls, "required"))
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[smtp] starttls must be none, try or required"), FALSE;
  if ((config->smtp_username == NULL) != (config->smtp_password_file == NULL))
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[smtp] needs both username and password_file"), FALSE;
  /* With "try", a server (or anyone in between) that does not offer
   * STARTTLS gets the password in the clear. */
  if (config->smtp_username != NULL && config->smtp_url != NULL &&
      !g_str_has_prefix (config->smtp_url, "smtps://") && !g_str_equal (starttls, "required"))
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[smtp] username needs starttls=required or an smtps:// url"),
           FALSE;
  /* SMS texts carry whole card numbers, and every request our bearer key. */
  if (config->sms_url != NULL &&
      !secret_url_ok ("sms", config->sms_url, config->sms_allow_http, error))
    return FALSE;
  if (config->sms_url != NULL && config->sms_key_file == NULL)
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[sms] needs key_file"), FALSE;
  if (config->outbox_retry_max < config->outbox_retry_initial)
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[outbox] retry_max must be at least retry_initial"), FALSE;
  return TRUE;
}

gboolean
gw_config_validate (GwConfig  *config,
                    GError   **error)
{
  gsize bin_len = strlen (config->card_bin);

  if (config->data_dir == NULL)
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "--data-dir is required"), FALSE;
  if (bin_len == 0 || bin_len > 10 || strspn (config->card_bin, "0123456789") != bin_len)
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[cards] bin must be 1 to 10 digits"), FALSE;
  if (!parse_bin_range (config, error))
    return FALSE;
  /* Anything else would silently log at info. */
  if (!g_str_equal (config->log_level, "debug") && !g_str_equal (config->log_level, "info") &&
      !g_str_equal (config->log_level, "warning"))
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[gateway] log_level must be debug, info or warning"), FALSE;
  if ((config->tls_certificate == NULL) != (config->tls_key == NULL))
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[tls] needs both certificate and key"), FALSE;
  if (!validate_bank (config, error) || !validate_outbox (config, error))
    return FALSE;
  if (config->checkout_page_url != NULL)
    {
      char *url = config->checkout_page_url;

      while (g_str_has_suffix (url, "/"))
        url[strlen (url) - 1] = '\0';
      if (!g_str_has_prefix (url, "http://") && !g_str_has_prefix (url, "https://"))
        return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                    "[checkout] page_url must be an http(s) URL"), FALSE;
    }
  if (config->key_file == NULL)
    config->key_file = g_build_filename (config->data_dir, "secret.key", NULL);
  return TRUE;
}
