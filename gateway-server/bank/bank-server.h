/* bank-server.h: onepin-bank's HTTP front
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "bank-keys.h"
#include "bank-store.h"

G_BEGIN_DECLS

#define BANK_CODE "990"
#define BANK_NAME "onepin Sandbox Bank"

typedef struct
{
  char   *data_dir;
  char   *listen;                 /* host:port */
  char   *callback_url;           /* where deposit callbacks go, unless a charge names one */
  char   *api_key_file;
  char   *sms_key_file;
  char   *callback_secret_file;
  gint64  slow_seconds;           /* how long "slow" instruments hold their reply */
  gint64  deposit_window;         /* seconds a virtual account waits for its deposit */

  /* The card network: onepin's cards are the issuer's, the gateway's */
  char   *acquirer_key_file;
  char   *operator_key_file;      /* the bank's staff: reconciliations */
  char   *network_secret_file;
  char   *issuer_url;             /* the gateway's POST /v1/network/messages, or NULL */
  char   *issuer_url_file;        /* or a file with the gateway's URL (its gateway.url) */
  char   *issuer_bins;            /* "9410,942000-942999" */
  gint64  issuer_timeout;         /* seconds before an answer counts as none */
  gint64  resend_after;           /* seconds a capture or refund the issuer did not answer
                                   * waits for the mall's retry before the bank sends it */
  gint64  resend_give_up;         /* seconds after its first try the bank stops sending a
                                   * message with no answer; it awaits reconciliation */
} BankConfig;

#define BANK_TYPE_SERVER (bank_server_get_type ())
G_DECLARE_FINAL_TYPE (BankServer, bank_server, BANK, SERVER, GObject)

/* @config, @keys and @store must outlive the server. */
BankServer  *bank_server_new      (const BankConfig  *config,
                                   const BankKeys    *keys,
                                   BankStore         *store,
                                   GError           **error);
/* Listens and returns the URL, e.g. "http://127.0.0.1:8081". */
char        *bank_server_listen   (BankServer        *self,
                                   GError           **error);
/* An http(s) URL with a host: one a callback can be delivered to. */
gboolean     bank_url_valid       (const char        *url);
/* Serves one connection that is already open (the fuzz harness's). */
gboolean     bank_server_accept   (BankServer        *self,
                                   GSocketConnection *connection,
                                   GError           **error);

G_END_DECLS
