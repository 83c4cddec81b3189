/* gw-config.h: the gateway's settings, from the command line and a GKeyFile
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "gw-listener.h"

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
  char    *metrics_token_file;   /* GET /metrics from beyond this machine; NULL: none */
  char    *tls_certificate;
  char    *tls_key;
  gboolean access_log;
  char    *log_level;            /* debug, info, warning */
  gint     http_threads;         /* threads that read and write HTTP; 0: the main thread */
  GwListenerLimits connections;  /* [gateway] max_connections (0: from the file limit),
                                    idle_timeout, body_timeout, send_timeout;
                                    [tls] handshake_timeout, handshakes_per_address */

  char    *card_bin;
  gint     validity_years;
  gint64   points_rate;
  gint64   capture_window;
  gint     hold_sweep_interval;
  gint64   lockout_seconds;
  gint     failures_per_minute;

  gint64   phone_quota_seconds;  /* [phone]: seconds granted to a call at a time */
  gint64   phone_session_grace;  /* seconds past a grant before a silent session expires */
  gint64   phone_max_call_seconds;
  gint64   phone_sweep_interval;
  gint     promotional_validity_years;
  char    *site_public_url;      /* where the card site is reached; NULL: the listening URL */
  char    *site_contact_email;   /* shown when an order is over the limits */
  char    *site_contact_phone;
  gint     site_sweep_interval;  /* seconds between asks about unresolved charges */
  gint64   site_payout_missing_after; /* seconds before a payout the bank says it never
                                       * saw is taken as never sent */
  gint64   site_charge_missing_after; /* the same, for a charge (also the wallet's) */
  gint64   site_charge_watch;         /* seconds a charge failed as never seen is still
                                       * asked about, to void it should it be booked late */
  gint64   site_allocation_attempts;  /* settlements of an approval before it is given back */
  gint64   site_allocation_retry;     /* seconds before the second one; doubled after each */

  char    *wallet_bin_range;     /* "LOW-HIGH": prefixes of representative cards */
  char     wallet_bin_low[11];
  char     wallet_bin_high[11];
  gint64   wallet_session_lifetime;
  gint64   wallet_pbkdf2_iterations;
  gint64   wallet_kdf_per_minute;  /* password hashes asked for per client address */
  gint64   wallet_kdf_workers;     /* password hashes running at once */
  gint64   wallet_kdf_queue;       /* and waiting for a worker; past that, 503 */
  gint     wallet_recovery_interval;

  /* [bank]: the financial system (onepin-bank); no url, no connector */
  char    *bank_url;
  char    *bank_api_key_file;
  char    *bank_callback_secret_file;
  char    *bank_callback_url;    /* a path ("/v1/…") is taken on the gateway's own URL */
  gint     bank_timeout;         /* seconds */
  gboolean bank_allow_http;      /* a bank on plain http beyond this machine */

  /* [network]: the card network's issuer endpoint; no secret_file, none */
  char    *network_secret_file;

  /* [checkout]: the hosted payment page */
  char    *checkout_page_url;    /* its base URL; default the gateway's own */
  gint     checkout_sweep_interval; /* seconds between sweeps of sessions past their time */

  /* [webhooks]: merchant event delivery */
  gboolean webhooks_enabled;
  gboolean webhooks_allow_http;  /* endpoints on plain http beyond this machine */
  gboolean webhooks_allow_private; /* endpoints on this machine or a private network */
  gint64   webhooks_poll_interval;
  gint64   webhooks_retry_base;  /* seconds before the first retry; doubled each time */
  gint64   webhooks_max_attempts;
  gint64   webhooks_timeout;     /* seconds a merchant's endpoint has to answer */
  /* [smtp]: e-mail through an SMTP server; off without a url */
  char    *smtp_url;             /* smtp://host:port or smtps://host:port */
  char    *smtp_from;            /* envelope sender and From: address */
  char    *smtp_from_name;
  char    *smtp_starttls;        /* none, try, required; NULL: see gw_config_smtp_starttls () */
  char    *smtp_username;
  char    *smtp_password_file;
  char    *smtp_ca_file;         /* trust this CA instead of the system's */
  gint64   smtp_timeout;         /* seconds for one message */

  /* [sms]: an HTTP SMS provider; off without a url */
  char    *sms_url;
  char    *sms_key_file;         /* the bearer key, in a file of its own */
  char    *sms_ca_file;
  gboolean sms_allow_http;       /* a provider on plain http beyond this machine */

  /* [outbox]: delivery of e-mail and SMS */
  gint64   outbox_retry_initial; /* seconds before the second attempt; doubles */
  gint64   outbox_retry_max;     /* the longest wait between attempts */
  gint64   outbox_give_up_after; /* seconds after which a message is given up */
  gint64   outbox_lease;         /* a claimed message waits this long for its sender */
  gint64   outbox_poll_interval;
} GwConfig;

GQuark    gw_config_error_quark  (void);
GwConfig *gw_config_new          (void);
gboolean  gw_config_load_file    (GwConfig    *config,
                                  const char  *path,
                                  GError     **error);
gboolean  gw_config_validate     (GwConfig    *config,
                                  GError     **error);
void      gw_config_free         (GwConfig    *config);
/* An http(s) URL with a host and no user information, on plain http only
 * to this machine (127.0.0.1, localhost, ::1) unless @allow_http. */
gboolean  gw_config_url_ok       (const char  *url,
                                  gboolean     allow_http);
/* [smtp] starttls as it applies: the configured value, or by default
 * "required" on an smtp:// url to another host, "try" to this machine (and
 * with smtps://, TLS from the start). */
const char *gw_config_smtp_starttls (const GwConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwConfig, gw_config_free)

G_END_DECLS
