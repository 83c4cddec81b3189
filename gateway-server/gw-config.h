/* gw-config.h: the gateway's settings, from the command line and a GKeyFile
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GW_CONFIG_ERROR (gw_config_error_quark ())

typedef enum
{
  GW_CONFIG_ERROR_INVALID,
} GwConfigError;

typedef struct
{
  char    *data_dir;
  char    *listen;               /* host:port */
  char    *key_file;             /* secret.key, by default under data_dir */
  char    *tls_certificate;
  char    *tls_key;
  gboolean access_log;
  char    *log_level;            /* debug, info, warning */

  char    *card_bin;
  gint     validity_years;
  gint64   points_rate;
  gint64   capture_window;
  gint     hold_sweep_interval;
  gint64   lockout_seconds;
  gint     failures_per_minute;

  char    *wallet_bin_range;     /* "LOW-HIGH": prefixes of representative cards */
  char     wallet_bin_low[11];
  char     wallet_bin_high[11];
  gint64   wallet_session_lifetime;
  gint64   wallet_pbkdf2_iterations;
  gint     wallet_recovery_interval;
} GwConfig;

GQuark    gw_config_error_quark  (void);
GwConfig *gw_config_new          (void);
gboolean  gw_config_load_file    (GwConfig    *config,
                                  const char  *path,
                                  GError     **error);
gboolean  gw_config_validate     (GwConfig    *config,
                                  GError     **error);
void      gw_config_free         (GwConfig    *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwConfig, gw_config_free)

G_END_DECLS
