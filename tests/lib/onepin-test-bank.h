/* onepin-test-bank.h: run the real onepin-bank binary for a test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Like onepin-test-gateway.h: the binary (ONEPIN_BANK, set by meson) runs on
 * 127.0.0.1:0 with a fresh temporary data dir and is stopped, and the dir
 * removed, before the test exits. It dies with the test if the test dies.
 *
 * The sandbox's test data (gateway-server/bank/README.md) is below.
 */
#pragma once

#include "onepin-test-gateway.h"

G_BEGIN_DECLS

/* Cards: any future expiry ("12/30") and any CVC ("123"). */
#define OT_BANK_CARD_APPROVE       "4242424242424242"
#define OT_BANK_CARD_APPROVE_2     "5555555555554444"
#define OT_BANK_CARD_DECLINE       "4000000000000002"   /* card_declined */
#define OT_BANK_CARD_NO_FUNDS      "4000000000009995"   /* insufficient_funds */
#define OT_BANK_CARD_SLOW          "4000000000000119"   /* approved, reply held back */
#define OT_BANK_CARD_SHORT         "4000000000000051"   /* charges approved for half */
/* Accounts at bank code 990, password "1234". */
#define OT_BANK_CODE               "990"
#define OT_BANK_ACCOUNT_RICH       "110000000001"       /* 10,000,000 won */
#define OT_BANK_ACCOUNT_POOR       "110000000002"       /* 5,000 won */
#define OT_BANK_ACCOUNT_CLOSED     "110000000003"
#define OT_BANK_ACCOUNT_SLOW       "110000000004"       /* approved, reply held back */
#define OT_BANK_ACCOUNT_PASSWORD   "1234"

typedef struct _OtBank OtBank;

/* @args: extra options, NULL-terminated (e.g. "--slow-seconds", "5"), or NULL. */
OtBank      *ot_bank_start                 (const char * const *args);
/* The same, with @env ("NAME=value", NULL-terminated) set for the bank, on
 * restarts too. */
OtBank      *ot_bank_start_with_env        (const char * const *args,
                                            const char * const *env);
/* SIGTERM, wait, assert exit 0, delete the data dir. */
void         ot_bank_stop                  (OtBank      *bank);
/* SIGKILL and reap; the data dir stays, for ot_bank_restart (). */
void         ot_bank_kill                  (OtBank      *bank);
/* Start again on the same data dir, options and port. */
void         ot_bank_restart               (OtBank      *bank);

const char  *ot_bank_url                   (OtBank      *bank);
const char  *ot_bank_data_dir              (OtBank      *bank);
const char  *ot_bank_log_path              (OtBank      *bank);
const char  *ot_bank_api_key               (OtBank      *bank);
const char  *ot_bank_sms_key               (OtBank      *bank);
const char  *ot_bank_api_key_path          (OtBank      *bank);
const char  *ot_bank_callback_secret_path  (OtBank      *bank);
/* The running bank's process id, 0 when it is not running. */
GPid         ot_bank_pid                   (OtBank      *bank);
/* The card network: the malls' key for /v1/acquirer/…, and the secret the
 * gateway's [network] secret_file names. */
const char  *ot_bank_acquirer_key          (OtBank      *bank);
/* The bank's operators' key: closing reconciliations. */
const char  *ot_bank_operator_key          (OtBank      *bank);
const char  *ot_bank_network_secret_path   (OtBank      *bank);

/* A blocking request to the bank; @bearer, @idempotency_key and @body may
 * be NULL. Fails the test if no HTTP answer comes. */
OtResponse  *ot_bank_request               (OtBank      *bank,
                                            const char  *method,
                                            const char  *path,
                                            const char  *bearer,
                                            const char  *idempotency_key,
                                            const char  *body);
/* GET /v1/accounts/@number: its balance. */
gint64       ot_bank_account_balance       (OtBank      *bank,
                                            const char  *number);
/* The [bank] group for ot_gateway_start (): url, key files, @timeout and,
 * unless NULL, callback_url (a path on the gateway, e.g. "/v1/…"). */
char        *ot_bank_gateway_config        (OtBank      *bank,
                                            guint        timeout,
                                            const char  *callback_url);

G_END_DECLS
