/* gw-network-store.h: what the card network's issuer side needs from a
 * database
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The network's tables (its merchants and the messages it was sent) behind
 * a table of functions, reached with gw_txn_extension (txn, "network").
 * Like GwTxnFuncs, each returns FALSE with @error set on failure, and
 * lookups return FALSE without an error when nothing is found.
 */
#pragma once

#include "gw-store.h"

G_BEGIN_DECLS

typedef struct
{
  char    acquirer[12];
  char    stan[7];
  char    transmitted[11];
  char    mti[5];
  char    processing[7];
  gint64  amount;
  char    payment_id[40];             /* "" when none */
  char    response[3];
  char    approval[7];                /* "" when none */
  gint64  reversed_at;                /* 0 when not reversed */
  gint64  created;
} GwNetworkMessage;

typedef struct
{
  gboolean (*merchant_get)    (GwTxn *txn, const char *acquirer, const char *acceptor,
                               char merchant_id[40], GError **error);
  gboolean (*merchant_insert) (GwTxn *txn, const char *acquirer, const char *acceptor,
                               const char *merchant_id, const char *mcc, gint64 created,
                               GError **error);
  gboolean (*message_get)     (GwTxn *txn, const char *acquirer, const char *stan,
                               const char *transmitted, GwNetworkMessage *out, GError **error);
  /* Fails with GW_STORE_ERROR_DUPLICATE when the acquirer, STAN and time are taken. */
  gboolean (*message_insert)  (GwTxn *txn, const GwNetworkMessage *message, GError **error);
  gboolean (*message_reversed) (GwTxn *txn, const char *acquirer, const char *stan,
                               const char *transmitted, gint64 at, GError **error);
  /* Consecutive wrong expiry dates or CVCs for a card, apart from its
   * password failures. */
  gboolean (*cvc_failures_get) (GwTxn *txn, const char *card_id, gint64 *failures,
                                GError **error);
  /* One more, added by the database (failures + 1), so that two processes
   * guessing at once both count; @failures is the count stored after it. */
  gboolean (*cvc_failure_add)  (GwTxn *txn, const char *card_id, gint64 *failures,
                                GError **error);
  /* Forgets the card's count. */
  gboolean (*cvc_failures_clear) (GwTxn *txn, const char *card_id, GError **error);
} GwNetworkStoreFuncs;

G_END_DECLS
