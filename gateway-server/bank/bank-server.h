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
} BankConfig;

#define BANK_TYPE_SERVER (bank_server_get_type ())
G_DECLARE_FINAL_TYPE (BankServer, bank_server, BANK, SERVER, GObject)

/* @config, @keys and @store must outlive the server. */
BankServer  *bank_server_new      (const BankConfig  *config,
                                   const BankKeys    *keys,
                                   BankStore         *store);
/* Listens and returns the URL, e.g. "http://127.0.0.1:8081". */
char        *bank_server_listen   (BankServer        *self,
                                   GError           **error);

G_END_DECLS
