/* onepin-test-wallet.h: wallet users with a representative card, for tests
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Through the gateway's own wallet API: register, sign in, apply for the
 * representative card (card password OT_WALLET_CARD_PASSWORD), and top it
 * up from a sandbox test card (needs the gateway's [bank]; the gateway
 * should run with a low [wallet] pbkdf2_iterations).
 */
#pragma once

#include "onepin-test-gateway.h"

G_BEGIN_DECLS

#define OT_WALLET_CARD_PASSWORD "2580"

typedef struct
{
  char  *login_id;
  char  *user_id;
  char  *token;              /* the session's bearer token */
  char  *email;
  char  *phone;
  char  *card_id;
  char  *number;             /* the representative card's, shown once at issue */
  char  *cvc;
  char  *expiry;             /* "MM/YY", as a mall's form takes it */
  char  *expiry_yymm;        /* field 14 */
} OtWallet;

/* A new user with a card; receipts by @receipt_channel ("email", "sms", "none"). */
OtWallet *ot_wallet_new     (OtGateway   *gw,
                             const char  *receipt_channel);
/* Adds the sandbox's approving test card as a funding source and charges
 * @amount (a multiple of 10,000 won) onto the representative card. */
void      ot_wallet_fund    (OtGateway   *gw,
                             OtWallet    *wallet,
                             gint64       amount);
/* GET /v1/wallet/card: "balance" and "available". */
void      ot_wallet_balance (OtGateway   *gw,
                             OtWallet    *wallet,
                             gint64      *balance,
                             gint64      *available);
void      ot_wallet_free    (OtWallet    *wallet);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OtWallet, ot_wallet_free)

G_END_DECLS
