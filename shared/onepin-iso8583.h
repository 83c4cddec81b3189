/* onepin-iso8583.h: the card network's messages, ISO 8583 fields in JSON
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * onepin-bank's card network (the acquirer's switch) and the gateway's
 * issuer endpoint speak ISO 8583 data elements carried as one flat JSON
 * object of strings, signed like every callback between onepin's programs
 * (onepin-signature.h):
 *
 *     {"mti": "0100", "2": "9420001234567897", "3": "000000",
 *      "4": "000000012000", "7": "1121214530", "11": "000123", "14": "3111",
 *      "18": "5999", "32": "990", "37": "511221000123", "42": "plain-shop",
 *      "43": "Plain Shop               Seoul        KR", "49": "410",
 *      "cvc2": "123"}
 *
 * Members are the message type ("mti"), data elements named by their
 * number in their ISO 8583 format (numeric ones zero-padded to their fixed
 * length), and "cvc2", the card verification value of a card-not-present
 * purchase. Anything else is a format error. This file is the one place
 * that knows the formats; the bank builds and the gateway parses with it.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define ONEPIN_ISO_ERROR (onepin_iso_error_quark ())

typedef enum
{
  ONEPIN_ISO_ERROR_FORMAT,          /* a member is unknown, missing or ill-formed */
} OnepinIsoError;

/* Message types */
#define ONEPIN_ISO_AUTH               "0100"   /* authorization: a hold */
#define ONEPIN_ISO_AUTH_RESPONSE      "0110"
#define ONEPIN_ISO_FINANCIAL          "0200"   /* purchase (captured at once) or refund */
#define ONEPIN_ISO_FINANCIAL_RESPONSE "0210"
#define ONEPIN_ISO_COMPLETION         "0220"   /* capture of an earlier authorization */
#define ONEPIN_ISO_COMPLETION_RESPONSE "0230"
#define ONEPIN_ISO_REVERSAL           "0400"   /* undo an earlier message in full */
#define ONEPIN_ISO_REVERSAL_RESPONSE  "0410"
#define ONEPIN_ISO_REVERSAL_ADVICE    "0420"   /* the same, sent again until answered */
#define ONEPIN_ISO_REVERSAL_ADVICE_RESPONSE "0430"

/* Processing codes (field 3) */
#define ONEPIN_ISO_PURCHASE           "000000"
#define ONEPIN_ISO_REFUND             "200000"

/* Response codes (field 39) */
#define ONEPIN_ISO_APPROVED           "00"
#define ONEPIN_ISO_DO_NOT_HONOR       "05"
#define ONEPIN_ISO_INVALID_TRANSACTION "12"
#define ONEPIN_ISO_INVALID_AMOUNT     "13"
#define ONEPIN_ISO_INVALID_CARD       "14"
#define ONEPIN_ISO_NO_ORIGINAL        "25"
#define ONEPIN_ISO_FORMAT_ERROR       "30"
#define ONEPIN_ISO_INSUFFICIENT_FUNDS "51"
#define ONEPIN_ISO_EXPIRED_CARD       "54"
#define ONEPIN_ISO_INCORRECT_CVC      "55"
#define ONEPIN_ISO_TRIES_EXCEEDED     "75"
#define ONEPIN_ISO_ISSUER_UNAVAILABLE "91"
#define ONEPIN_ISO_DUPLICATE          "94"   /* duplicate transmission */
#define ONEPIN_ISO_SYSTEM_MALFUNCTION "96"

#define ONEPIN_ISO_NAME_LOCATION_LEN  40   /* field 43: name 25, city 13, country 2 */

GQuark       onepin_iso_error_quark         (void);

/* Checks every member of @message against its format, and that the fields
 * its message type needs are there (a response when @response). On failure
 * @bad_field (if not NULL) names the member at fault. */
gboolean     onepin_iso_check               (JsonObject   *message,
                                             gboolean      response,
                                             const char  **bad_field,
                                             GError      **error);
/* The member @field ("2", "mti", …), or NULL. */
/* Whether @name is a field of this network (so safe to repeat back). */
gboolean     onepin_iso_is_field            (const char   *name);
const char  *onepin_iso_get                 (JsonObject   *message,
                                             const char   *field);
/* The type that answers @mti ("0100" -> "0110"), or NULL for a type that is
 * not a request we know. */
const char  *onepin_iso_response_type       (const char   *mti);
/* What a response code means, in a few words. */
const char  *onepin_iso_response_text       (const char   *code);

/* Field 38: a fresh approval code, six letters and digits. */
void         onepin_iso_approval_code       (char          out[7]);
/* Field 4: twelve digits of minor units. */
char        *onepin_iso_amount_format       (gint64        amount);
gboolean     onepin_iso_amount_parse        (const char   *field,
                                             gint64       *amount);
/* Field 7, MMDDhhmmss in UTC. It has no year: parsing takes the instant
 * nearest @now. */
char        *onepin_iso_time_format         (gint64        unix_time);
gboolean     onepin_iso_time_parse          (const char   *field,
                                             gint64        now,
                                             gint64       *unix_time);
/* Field 14, YYMM: the month a card is valid through. */
char        *onepin_iso_expiry_format       (gint          year,
                                             gint          month);
/* Field 43: @name (25), @city (13) and @country (2), padded with spaces and
 * cut to length in characters (UTF-8 is allowed). */
char        *onepin_iso_name_location       (const char   *name,
                                             const char   *city,
                                             const char   *country);
/* The merchant's name from field 43, without the padding. */
char        *onepin_iso_merchant_name       (const char   *field);
/* Field 90, the original data elements of the message a completion,
 * reversal or refund refers to: its type, STAN, transmission time and
 * acquirer, 42 digits. */
char        *onepin_iso_original_format     (const char   *mti,
                                             const char   *stan,
                                             const char   *transmitted,
                                             const char   *acquirer);
gboolean     onepin_iso_original_parse      (const char   *field,
                                             char          mti[5],
                                             char          stan[7],
                                             char          transmitted[11],
                                             char          acquirer[12]);
/* Field 49: ISO 4217 numeric <-> our lowercase alphabetic codes. NULL when
 * the currency is not one the network carries. */
const char  *onepin_iso_currency_alpha      (const char   *numeric);
const char  *onepin_iso_currency_numeric    (const char   *alpha);

G_END_DECLS
