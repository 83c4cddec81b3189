/* gw-foreign.h: foreign partners' PINs and charges in foreign currencies
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * FIG. 9 of the patent: the issuer holds foreign prepaid PINs, bought for
 * value, and a card holder switches part of a balance into one; a foreign
 * site may also charge a card in its own currency. A partner's rate is won
 * per major unit of its currency, in millionths. Every conversion rounds
 * the won up (ceiling): a card never pays less than the exact value, and
 * both sides of the entry carry the same integer, so rounding creates or
 * loses nothing. Runs on the writer, like gw-ledger.h.
 */
#pragma once

#include "gw-foreign-store.h"
#include "gw-ledger.h"

G_BEGIN_DECLS

#define GW_FOREIGN_MAX_RATE_E6 (G_GINT64_CONSTANT (100000) * 1000000)   /* 100,000 won a unit */
#define GW_FOREIGN_MAX_AMOUNT  G_GINT64_CONSTANT (100000000)            /* minor units */

typedef enum
{
  GW_FOREIGN_OK,
  GW_FOREIGN_DECLINED,              /* see the GwOutcome */
  GW_FOREIGN_NO_PARTNER,
  GW_FOREIGN_SOLD_OUT,              /* no PIN of that face value left */
  GW_FOREIGN_WRONG_CURRENCY,        /* not the partner's currency */
  GW_FOREIGN_TOO_LARGE,             /* the won would pass a card's cap */
  GW_FOREIGN_PIN_LOADED,            /* a PIN of a load is there already, or twice in it */
  GW_FOREIGN_WALLET_CARD,           /* a wallet's representative card */
  GW_FOREIGN_NO_MERCHANT,           /* the partner's merchant does not exist */
  GW_FOREIGN_MERCHANT_TAKEN,        /* the merchant is another partner's already */
} GwForeignResult;

/* ceil (@amount x @rate_e6 / (10^@exponent x 10^6)); FALSE past the bounds. */
gboolean gw_foreign_to_krw      (gint64                 amount,
                                 int                    exponent,
                                 gint64                 rate_e6,
                                 gint64                *krw);
/* "1350.25" -> 1350250000; FALSE unless a positive decimal of at most six
 * decimals, within GW_FOREIGN_MAX_RATE_E6. */
gboolean gw_foreign_parse_rate  (const char            *text,
                                 gint64                *rate_e6);
char    *gw_foreign_format_rate (gint64                 rate_e6);

/* GW_FOREIGN_NO_MERCHANT or GW_FOREIGN_MERCHANT_TAKEN in @result, and
 * nothing created, when the partner's merchant is unknown or taken. */
gboolean gw_foreign_create_partner (GwTxn              *txn,
                                 GwForeignPartner      *partner,
                                 GwForeignResult       *result,
                                 GError               **error);
/* Loads PINs of @face_value, sealed, each with its lookup hash; all or
 * none: GW_FOREIGN_PIN_LOADED, with its index in @bad_pin, when one is
 * there already or repeated. */
gboolean gw_foreign_load_pins   (GwTxn                 *txn,
                                 const GwLedgerConfig  *config,
                                 const char            *partner_id,
                                 gint64                 face_value,
                                 GStrv                  pins,
                                 guint                 *bad_pin,
                                 GwForeignResult       *result,
                                 GError               **error);
/* Switches @face_value of the partner's currency out of the card: debits
 * the won, allocates the oldest PIN of that value and returns it in @pin
 * (the only time it is shown). */
gboolean gw_foreign_switch      (GwTxn                 *txn,
                                 const GwLedgerConfig  *config,
                                 const GwCredentials   *credentials,
                                 const char            *partner_id,
                                 gint64                 face_value,
                                 GwForeignPartner      *partner,
                                 GwCard                *card,
                                 char                 **pin,
                                 char                   pin_last4[5],
                                 gint64                *krw,
                                 GwForeignResult       *result,
                                 GwOutcome             *outcome,
                                 GError               **error);
/* A foreign site's charge of @amount in @currency, captured in won. */
gboolean gw_foreign_charge      (GwTxn                 *txn,
                                 const GwLedgerConfig  *config,
                                 const GwCredentials   *credentials,
                                 const GwPayRequest    *request,
                                 gint64                 foreign_amount,
                                 const char            *foreign_currency,
                                 GwForeignPartner      *partner,
                                 GwPayment             *payment,
                                 GwForeignResult       *result,
                                 GwOutcome             *outcome,
                                 GError               **error);

G_END_DECLS
