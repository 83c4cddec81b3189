/* gw-api-wallet.h: the e-wallet's HTTP resources (/v1/wallet/...)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-server-private.h"
#include "gw-wallet.h"

G_BEGIN_DECLS

/* Checks the bearer session token (ws_…) on the main thread. On success it
 * fills @request's user_id and session_id and sets its idempotency scope to
 * "user:<id>". */
gboolean gw_api_wallet_authenticate   (GwRequest   *request,
                                       const char  *token);
/* Starts the sweep that settles charges left pending (a lost answer, a
 * crash) by asking the financial system what became of them. */
void     gw_api_wallet_start_recovery (GwServer    *server);

void gw_api_wallet_register       (GwRequest *request);
void gw_api_wallet_login          (GwRequest *request);
void gw_api_wallet_logout         (GwRequest *request);
void gw_api_wallet_me             (GwRequest *request);
void gw_api_wallet_update         (GwRequest *request);
void gw_api_wallet_password       (GwRequest *request);
void gw_api_wallet_apply          (GwRequest *request);
void gw_api_wallet_card           (GwRequest *request);
void gw_api_wallet_card_password  (GwRequest *request);
void gw_api_wallet_add_calling_number    (GwRequest *request);
void gw_api_wallet_list_calling_numbers  (GwRequest *request);
void gw_api_wallet_remove_calling_number (GwRequest *request);
void gw_api_wallet_add_funding    (GwRequest *request);
void gw_api_wallet_list_funding   (GwRequest *request);
void gw_api_wallet_remove_funding (GwRequest *request);
void gw_api_wallet_charge         (GwRequest *request);
void gw_api_wallet_history        (GwRequest *request);

/* Parsing of untrusted bodies, on their own so the fuzzer reaches them. */

/* A profile's fields (registration when @creating, else an update): the
 * name of the field at fault with a message, or NULL when all are fine. */
const char *gw_api_wallet_check_profile (JsonObject   *body,
                                         gboolean      creating,
                                         const char  **message);

typedef struct
{
  char *type;                       /* credit_card, bank_account */
  char *number;                     /* digits only */
  int   exp_month;
  int   exp_year;                   /* four digits */
  char *bank_code;
  char *holder;
} GwFundingInput;

/* Wipes the number before freeing it. */
void     gw_funding_input_clear     (GwFundingInput        *input);
/* The body of POST /v1/wallet/funding-sources. On refusal, @param, @code
 * and @message say why (400). @now decides whether an expiry is past. */
gboolean gw_api_wallet_parse_funding (const GwWalletConfig *config,
                                      JsonObject           *body,
                                      gint64                now,
                                      GwFundingInput       *out,
                                      const char          **param,
                                      const char          **code,
                                      const char          **message);

G_END_DECLS
