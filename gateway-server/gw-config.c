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
  config->card_bin = g_strdup ("9410");
  config->validity_years = 5;
  config->points_rate = 100;                    /* 1 point per 100 won */
  config->capture_window = 7 * 24 * 3600;
  config->hold_sweep_interval = 60;
  config->lockout_seconds = 30 * 60;
  config->failures_per_minute = 20;
  config->wallet_bin_range = g_strdup ("942000-942999");
  config->wallet_session_lifetime = 24 * 3600;
  config->wallet_pbkdf2_iterations = 600000;
  config->wallet_recovery_interval = 60;
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
  g_free (config->tls_certificate);
  g_free (config->tls_key);
  g_free (config->log_level);
  g_free (config->card_bin);
  g_free (config->wallet_bin_range);
  g_free (config);
}

static void
load_string (GKeyFile    *file,
             const char  *group,
             const char  *key,
             char       **target)
{
  g_autofree char *value = g_key_file_get_string (file, group, key, NULL);

  if (value != NULL)
    {
      g_free (*target);
      *target = g_strstrip (g_steal_pointer (&value));
    }
}

static gboolean
load_int (GKeyFile    *file,
          const char  *group,
          const char  *key,
          gint64       min,
          gint64       max,
          gint64      *target,
          GError     **error)
{
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

gboolean
gw_config_load_file (GwConfig    *config,
                     const char  *path,
                     GError     **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  gint64 years = config->validity_years;
  gint64 sweep = config->hold_sweep_interval;
  gint64 per_minute = config->failures_per_minute;
  gint64 recovery = config->wallet_recovery_interval;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, error))
    return FALSE;

  load_string (file, "gateway", "listen", &config->listen);
  load_string (file, "gateway", "data_dir", &config->data_dir);
  load_string (file, "gateway", "key_file", &config->key_file);
  load_string (file, "gateway", "log_level", &config->log_level);
  config->access_log = g_key_file_get_boolean (file, "gateway", "access_log", NULL);
  load_string (file, "tls", "certificate", &config->tls_certificate);
  load_string (file, "tls", "key", &config->tls_key);
  load_string (file, "cards", "bin", &config->card_bin);
  load_string (file, "wallet", "bin_range", &config->wallet_bin_range);

  if (!load_int (file, "cards", "validity_years", 0, 50, &years, error) ||
      !load_int (file, "cards", "points_rate", 0, 10000, &config->points_rate, error) ||
      !load_int (file, "payments", "capture_window", 1, 90 * 24 * 3600, &config->capture_window,
                 error) ||
      !load_int (file, "payments", "hold_sweep_interval", 1, 3600, &sweep, error) ||
      !load_int (file, "limits", "lockout_seconds", 1, 7 * 24 * 3600, &config->lockout_seconds,
                 error) ||
      !load_int (file, "limits", "failures_per_minute", 1, 100000, &per_minute, error) ||
      !load_int (file, "wallet", "session_lifetime", 60, 30 * 24 * 3600,
                 &config->wallet_session_lifetime, error) ||
      !load_int (file, "wallet", "pbkdf2_iterations", 1, 10000000,
                 &config->wallet_pbkdf2_iterations, error) ||
      !load_int (file, "wallet", "charge_recovery_interval", 1, 3600, &recovery, error))
    return FALSE;

  config->validity_years = years;
  config->hold_sweep_interval = sweep;
  config->failures_per_minute = per_minute;
  config->wallet_recovery_interval = recovery;
  return TRUE;
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
  if ((config->tls_certificate == NULL) != (config->tls_key == NULL))
    return g_set_error_literal (error, GW_CONFIG_ERROR, GW_CONFIG_ERROR_INVALID,
                                "[tls] needs both certificate and key"), FALSE;
  if (config->key_file == NULL)
    config->key_file = g_build_filename (config->data_dir, "secret.key", NULL);
  return TRUE;
}
