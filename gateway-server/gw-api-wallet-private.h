/* gw-api-wallet-private.h: what the wallet's resource files share
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-api-wallet.h"

G_BEGIN_DECLS

#define GW_WALLET_STORE(txn) ((const GwWalletStoreFuncs *) gw_txn_extension ((txn), "wallet"))

/* The wallet's state in a server, made on first use. */
typedef struct
{
  GwServer       *server;
  GwWalletConfig  config;
  GHashTable     *charging;        /* user id: one of their charges is running */
  guint           recovery_source;
  gboolean        recovering;
  guint           kdf_per_minute;  /* per client address */
  guint           kdf_workers;     /* password hashes at once */
  guint           kdf_queue;       /* and waiting */
  guint           kdf_running;
  guint           kdf_counting;   /* admitted, their attempt being counted on the writer */
  GQueue          kdf_waiting;     /* of Work, waiting for a worker */
} GwWalletState;

GwWalletState *gw_api_wallet_state          (GwServer        *server);

void           gw_api_wallet_refuse         (GwCall          *call,
                                             guint            status,
                                             const char      *type,
                                             const char      *code,
                                             const char      *param,
                                             const char      *message);
void           gw_api_wallet_refuse_result  (GwCall          *call,
                                             GwWalletResult   result);
/* Sets a 201 answer. */
void           gw_api_wallet_created        (GwCall          *call,
                                             GString         *body);
void           gw_api_wallet_read_failed    (GwRequest       *request,
                                             const GError    *error);

/* "•••• •••• •••• 1234" for 16 digits, "••••••1234" otherwise. */
char          *gw_api_wallet_masked         (const char      *last4,
                                             gint             digits);
gboolean       gw_api_wallet_length_between (const char      *text,
                                             glong            min,
                                             glong            max);
gboolean       gw_api_wallet_one_of         (const char      *value,
                                             const char      *a,
                                             const char      *b,
                                             const char      *c);
gint64         gw_api_wallet_now            (void);
void           gw_api_wallet_wipe           (char            *secret);
void           gw_api_wallet_wipe_free      (char            *secret);

G_END_DECLS
