/* gw-api-phone.h: the telephone charging resources
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gw-server-private.h"
#include "gw-phone.h"

G_BEGIN_DECLS

/* admin */
void gw_api_phone_rate_tables_create     (GwRequest *request);
void gw_api_phone_rate_tables_list       (GwRequest *request);
void gw_api_phone_rate_tables_get        (GwRequest *request);
/* softswitches (a switch's merchant key) */
void gw_api_phone_sessions_create        (GwRequest *request);
void gw_api_phone_sessions_get           (GwRequest *request);
void gw_api_phone_sessions_update        (GwRequest *request);
void gw_api_phone_sessions_terminate     (GwRequest *request);
void gw_api_phone_events_create          (GwRequest *request);
/* card holders */
void gw_api_phone_calling_numbers_add    (GwRequest *request);
void gw_api_phone_calling_numbers_delete (GwRequest *request);
void gw_api_phone_calling_numbers_list   (GwRequest *request);

/* the ARS menu (a mobile operator's merchant key), gw-api-ars.c */
void gw_api_ars_sessions_create          (GwRequest *request);
void gw_api_ars_sessions_input           (GwRequest *request);

/* sellers, pools, statements, agents (gw-api-sales.c) */
void gw_api_phone_sellers_create         (GwRequest *request);
void gw_api_phone_pools_create           (GwRequest *request);
void gw_api_phone_pools_get              (GwRequest *request);
void gw_api_phone_statements_get         (GwRequest *request);
void gw_api_phone_own_statement          (GwRequest *request);
void gw_api_agent_cards_activate         (GwRequest *request);
void gw_api_agent_cards_void             (GwRequest *request);

/* Sets the call's status and body for a result other than GW_PHONE_OK;
 * @outcome is read for GW_PHONE_DECLINED. */
void gw_api_phone_reply_result           (GwCall          *call,
                                          GwPhoneResult    result,
                                          const GwOutcome *outcome);

/* The module's settings, from the gateway's [phone] group. */
void gw_api_phone_config                 (const GwConfig *config,
                                          GwPhoneConfig  *out);
/* Checks a rate table's body and builds it (with a fresh id); NULL with
 * @param (to free) and @message naming the fault. Untrusted input: fuzzed. */
GwPhoneRateTable *gw_api_phone_parse_rate_table (JsonObject  *body,
                                                 char       **param,
                                                 const char **message);
/* Calling numbers, shared by the card holder's routes and a wallet's
 * signed-in user's (gw-api-wallet.c), each of which finds the card its own
 * way first. */

/* A calling number a request names: its keyed hash and last four digits. */
typedef struct
{
  guint8 lookup[32];
  char   last4[5];
} GwApiPhoneLine;

/* Reads the body's calling_number into @line; FALSE after replying 400. */
gboolean gw_api_phone_read_line          (GwRequest            *request,
                                          GwApiPhoneLine       *line);
/* Registers @line to @card (or with @remove takes it off) and answers the
 * call: the line, or why not (409 calling_number_taken, 404). */
gboolean gw_api_phone_change_line        (GwTxn                *txn,
                                          GwCall               *call,
                                          const GwCard         *card,
                                          const GwApiPhoneLine *line,
                                          gboolean              remove,
                                          GError              **error);
/* Removes @card's line whose id (gw_phone_calling_number_id) is @id and
 * answers the call: the line, or 404 resource_missing. */
gboolean gw_api_phone_remove_line_id     (GwTxn                *txn,
                                          GwCall               *call,
                                          const GwCard         *card,
                                          const char           *id,
                                          GError              **error);
/* The list object of @card's @lines (GwPhoneCallingNumber), masked. */
void     gw_api_phone_render_lines       (GString              *body,
                                          const GwLedgerConfig *config,
                                          const GwCard         *card,
                                          GArray               *lines);

/* The body's calling_number ("010…", "+8210…": onepin_contact_calling_number)
 * as national digits, to free; NULL after replying 400. */
char *gw_api_phone_read_calling_number   (GwRequest      *request);

G_END_DECLS
