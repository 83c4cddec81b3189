/* gw-ars.h: the ARS (automatic response service) menu
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A DTMF menu for callers of a mobile operator's ARS number (claim 7 of the
 * patent): purchase of a card, whose number is sent by SMS; recharge;
 * inquiry of the balance and usage; registration of a password. Any IVR
 * platform drives it one step at a time: it plays the prompt's text, collects
 * the digits the prompt expects, and sends them back. The state lives in the
 * database, so a session survives a restart and every step is a transaction
 * of its own. Runs on the writer, like gw-ledger.h.
 */
#pragma once

#include "gw-phone.h"

G_BEGIN_DECLS

#define GW_ARS_IDLE_SECONDS 600     /* a session not driven for this long is over */
#define GW_ARS_MAX_DIGITS   64

typedef struct
{
  char    *text;                    /* what to say, in the session's language */
  gint     min_digits;              /* what to collect next; 0 and 0 when done */
  gint     max_digits;
  gboolean terminator;              /* the caller ends the digits with # */
  gboolean secret;                  /* the digits are a password: not to be shown */
  gboolean done;                    /* say @text, then hang up */
  gboolean credential_failure;      /* the input's card number or password was refused */
} GwArsPrompt;

void     gw_ars_prompt_clear  (GwArsPrompt          *prompt);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwArsPrompt, gw_ars_prompt_clear)

/* Opens a session for a call from @calling_number (national digits) to
 * @operator_id's ARS, and gives the main menu. */
gboolean gw_ars_start         (GwTxn                *txn,
                               const GwLedgerConfig *config,
                               const char           *operator_id,
                               const char           *calling_number,
                               const char           *locale,
                               GwArsSession         *session,
                               GwArsPrompt          *prompt,
                               GwPhoneResult        *result,
                               GError              **error);
/* The caller's answer to the prompt of @step: @digits are 0 to 64 of
 * 0-9, * and # ("" when the caller keyed nothing in time). */
gboolean gw_ars_input         (GwTxn                *txn,
                               const GwLedgerConfig *config,
                               const char           *operator_id,
                               const char           *session_id,
                               gint64                step,
                               const char           *digits,
                               GwArsSession         *session,
                               GwArsPrompt          *prompt,
                               GwPhoneResult        *result,
                               GError              **error);

/* Deletes sessions idle for longer than GW_ARS_IDLE_SECONDS, and with them
 * whatever a caller had keyed in. */
gboolean gw_ars_prune         (GwTxn                *txn,
                               GError              **error);

G_END_DECLS
