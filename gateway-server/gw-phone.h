/* gw-phone.h: the rules of telephone charging
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The prepaid calling card system of the patent, as an online-charging
 * service for softswitches in the session model of Diameter Credit-Control
 * (RFC 4006): a call opens a session that reserves a quota of seconds the
 * card can pay for (a hold on its account), each update debits the seconds
 * used and reserves the next quota, and the end debits the rest and
 * releases what was left. These functions run on the store's writer thread
 * like those of gw-ledger.h, and know nothing of HTTP or SQL.
 */
#pragma once

#include "gw-ledger.h"
#include "gw-phone-store.h"

G_BEGIN_DECLS

typedef struct
{
  gint64 quota_seconds;             /* seconds granted at a time */
  gint64 session_grace;             /* seconds past a grant before a silent session expires */
  gint64 max_call_seconds;          /* no call is granted more in all */
} GwPhoneConfig;

typedef enum
{
  GW_PHONE_OK,
  GW_PHONE_DECLINED,                /* the card's: see the GwOutcome */
  GW_PHONE_NOT_A_SWITCH,            /* the merchant's category is not telephone */
  GW_PHONE_NO_RATE_TABLE,           /* nothing can be priced yet */
  GW_PHONE_NOT_RATED,               /* no prefix of the destination is in the rate table */
  GW_PHONE_SERVICE_NOT_RATED,       /* the service has no price in the rate table */
  GW_PHONE_SESSION_NOT_FOUND,
  GW_PHONE_SESSION_ENDED,           /* terminated or expired */
  GW_PHONE_STALE_REQUEST,           /* request_number not above the last one */
  GW_PHONE_NUMBER_TAKEN,            /* the calling number belongs to another card */
  GW_PHONE_NUMBER_NOT_FOUND,        /* not registered to this card */
  GW_PHONE_NOT_AN_OPERATOR,         /* the merchant's category is not mobile_operator */
  GW_PHONE_NOT_A_SELLER,            /* neither mobile_operator nor card_agent (for that pool) */
  GW_PHONE_NUMBER_USED,             /* a pool number already sold or voided */
} GwPhoneResult;

/* Who pays: a card number and password, or a calling number registered to
 * a card (the switch vouches for the caller's line). */
typedef struct
{
  gboolean      by_calling_number;
  GwCredentials credentials;
  guint8        calling_lookup[32];
} GwPhoneCaller;

typedef struct
{
  const char *service;              /* voice, mobile */
  const char *destination;          /* digits */
  gint64      requested_seconds;    /* 0: the configured quota */
} GwPhoneStart;

typedef struct
{
  gint64   request_number;
  gint64   used_seconds;            /* since the previous report */
  gint64   requested_seconds;       /* 0: the configured quota */
  gboolean terminate;
} GwPhoneReport;

/* The channel a service's charges are listed under in the statement. */
const char *gw_phone_service_channel       (const char           *service);

/* What @seconds of a call cost in all: the connection fee, then every
 * started increment at the per-minute rate, rounded up to the minor unit
 * once over the whole call (so no rounding accumulates). 0 for 0 seconds. */
gint64      gw_phone_cost                  (const GwPhoneRate    *rate,
                                            gint64                seconds);
/* The most seconds (a whole number of increments) whose cost fits in
 * @budget; G_MAXINT64 when the rate is free and the fee fits. */
gint64      gw_phone_affordable_seconds    (const GwPhoneRate    *rate,
                                            gint64                budget);

/* The keyed hash a calling number (digits) is found by. */
void        gw_phone_calling_lookup        (const GwLedgerConfig *config,
                                            const char           *number,
                                            guint8                out[32]);

/* Authenticates the caller's card and checks it can pay: active, not
 * locked, not expired. */
gboolean    gw_phone_find_card             (GwTxn                *txn,
                                            const GwLedgerConfig *config,
                                            const GwPhoneCaller  *caller,
                                            GwCard               *card,
                                            GwOutcome            *outcome,
                                            GError              **error);

/* Stores @table as the next version, which is active from now on. */
gboolean    gw_phone_load_rate_table       (GwTxn                *txn,
                                            GwPhoneRateTable     *table,
                                            GError              **error);

gboolean    gw_phone_session_start         (GwTxn                *txn,
                                            const GwLedgerConfig *ledger,
                                            const GwPhoneConfig  *config,
                                            const char           *merchant_id,
                                            const GwPhoneCaller  *caller,
                                            const GwPhoneStart   *start,
                                            GwPhoneSession       *session,
                                            GwPhoneResult        *result,
                                            GwOutcome            *outcome,
                                            GError              **error);
/* An update or, with @report->terminate, the end of a session. */
gboolean    gw_phone_session_report        (GwTxn                *txn,
                                            const GwPhoneConfig  *config,
                                            const char           *merchant_id,
                                            const char           *session_id,
                                            const GwPhoneReport  *report,
                                            GwPhoneSession       *session,
                                            GwPhoneResult        *result,
                                            GError              **error);
/* Ends open sessions whose switch has gone silent past their validity:
 * what was reported stays debited, the reservation is released. Returns
 * how many, or -1 on error. */
gint        gw_phone_expire_sessions       (GwTxn                *txn,
                                            GError              **error);
/* A per-use service (voicemail, information): priced from the active rate
 * table and debited at once. */
gboolean    gw_phone_charge_event          (GwTxn                *txn,
                                            const GwLedgerConfig *ledger,
                                            const char           *merchant_id,
                                            const GwPhoneCaller  *caller,
                                            const char           *service,
                                            gint64                quantity,
                                            GwPhoneEvent         *event,
                                            GwCard               *card,
                                            GwPhoneResult        *result,
                                            GwOutcome            *outcome,
                                            GError              **error);

/* Registers the calling number of @lookup to @card, which the caller
 * authenticated, or with @remove takes it off. */
gboolean    gw_phone_register_calling_number (GwTxn              *txn,
                                            const GwCard         *card,
                                            const guint8          lookup[32],
                                            const char           *last4,
                                            gboolean              remove,
                                            GwPhoneResult        *result,
                                            GError              **error);
/* Removes every calling number of the card: whoever changes or resets its
 * password calls this in the same operation (gw_ledger_set_password and
 * gw_ledger_reset_password leave it to them, the ledger knowing no module). */
gboolean    gw_phone_forget_calling_numbers (GwTxn               *txn,
                                            const char           *card_id,
                                            GError              **error);
/* The card's calling numbers, oldest first (GwPhoneCallingNumber). */
GArray     *gw_phone_calling_numbers       (GwTxn                *txn,
                                            const char           *card_id,
                                            GError              **error);

/* "cn_" and 24 hex digits: a calling number of a card named without its
 * digits, so that a URL can carry it (DELETE /v1/wallet/card/calling_numbers/{id}).
 * A keyed hash of the card and the number's keyed hash: the same line on
 * the same card always has the same id, on another card another one. */
#define GW_PHONE_LINE_ID_LEN 27
void        gw_phone_calling_number_id     (const GwLedgerConfig *config,
                                            const char           *card_id,
                                            const guint8          lookup[32],
                                            char                  out[GW_PHONE_LINE_ID_LEN + 1]);
/* Removes the calling number of @card whose id is @id, copied into
 * @removed; GW_PHONE_NUMBER_NOT_FOUND in @result if the card has none. */
gboolean    gw_phone_remove_calling_number_id (GwTxn              *txn,
                                            const GwLedgerConfig *config,
                                            const GwCard         *card,
                                            const char           *id,
                                            GwPhoneCallingNumber *removed,
                                            GwPhoneResult        *result,
                                            GError              **error);

G_END_DECLS
