/* gw-network.h: the issuer's rules for card network messages
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A mall that knows nothing of onepin takes the representative card like
 * any card; its acquirer routes the messages for onepin's BIN range here.
 * The card is proved by its expiry and CVC instead of its password, and
 * then settles against the same ledger, with the same holds, captures,
 * cancellations and refunds as a payment through the merchant API
 * (gw-ledger.h). Like the ledger, these rules know nothing of HTTP or SQL;
 * gw_network_apply () runs on the store's writer thread.
 *
 * Answers are ISO 8583 response codes (onepin-iso8583.h):
 *   00 approved; 05 do not honor (closed card, other currency, or an
 *   original that was reversed before it arrived); 12 a transaction the
 *   original does not allow; 13 an amount out of range or above what is
 *   left; 14 not one of our network cards (unknown, malformed, or a card
 *   that has no CVC); 25 no such original; 30 a format error; 51
 *   insufficient funds; 54 expired, or a wrong expiry; 55 a wrong CVC; 75
 *   locked after five wrong CVCs, expiries or passwords in a row; 94 a STAN
 *   used twice; 91 and 96 when we cannot answer.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "gw-ledger.h"

G_BEGIN_DECLS

#define GW_NETWORK_DUPLICATE "94"           /* duplicate transmission */
#define GW_NETWORK_WINDOW 300               /* seconds a purchase's field 7 may be off */

typedef struct
{
  char     mti[5];
  char     processing[7];
  gint64   amount;
  char     currency[4];                     /* ours, e.g. "krw"; "" when not one we know */
  char     stan[7];
  char     transmitted[11];
  char     acquirer[12];
  char     rrn[13];
  char     acceptor[16];
  char     mcc[5];
  char    *merchant_name;
  /* A purchase's card, reduced to keyed hashes on arrival */
  char     expiry[5];                       /* YYMM as presented */
  gboolean well_formed;                     /* 16 digits that pass Luhn */
  guint8   lookup[32];
  guint8   cvc_mac[32];
  /* A follow-up's original (field 90) */
  gboolean has_original;
  char     original_mti[5];
  char     original_stan[7];
  char     original_transmitted[11];
  char     original_acquirer[12];
} GwNetworkRequest;

typedef struct
{
  char     response[3];
  char     approval[7];                     /* field 38, "" unless approved */
  char     payment_id[40];                  /* the payment it made or changed, or "" */
} GwNetworkAnswer;

void      gw_network_request_clear  (GwNetworkRequest      *request);

/* Any thread. Checks @message (onepin_iso_check ()) and reduces it to
 * @out; the card number and CVC go no further. A purchase whose field 7 is
 * more than GW_NETWORK_WINDOW from @now is refused too. On failure
 * @bad_field names the member at fault. */
gboolean  gw_network_parse          (const GwLedgerConfig  *ledger,
                                     JsonObject            *message,
                                     gint64                 now,
                                     GwNetworkRequest      *out,
                                     const char           **bad_field,
                                     GError               **error);

/* Writer thread. */
gboolean  gw_network_apply          (GwTxn                 *txn,
                                     const GwLedgerConfig  *ledger,
                                     const GwNetworkRequest *request,
                                     GwNetworkAnswer       *answer,
                                     GError               **error);

G_END_DECLS
