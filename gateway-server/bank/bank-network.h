/* bank-network.h: the sandbox card network between the acquirer and the
 * issuer of onepin's cards
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Card numbers in onepin's BIN range are not the sandbox's own: their
 * authorizations, completions, reversals and refunds go to the issuer (the
 * gateway's POST /v1/network/messages) as ISO 8583 fields in JSON
 * (onepin-iso8583.h), signed with the shared network secret in an
 * Onepin-Signature header. The issuer signs its answers the same way; an
 * answer that is late, unsigned or unreadable counts as none.
 *
 * Reversals are store-and-forward: a row written in the transaction that
 * decided on them, sent until the issuer answers, 1 s, 2 s, 4 s … at most
 * 60 s apart, across restarts. So is a capture or refund that a mall's
 * request sent and no answer to it was recorded a while later (the mall
 * gave up, or the bank stopped): the same message, which the issuer
 * answers once, so its answer is what the issuer did. Not for ever: after
 * --resend-give-up seconds the message stops and awaits reconciliation
 * (bank_store_message_reconcile ()), the payment held or as declared.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "bank-store.h"
#include "onepin-crypto.h"

G_BEGIN_DECLS

#define BANK_NETWORK_ACQUIRER_ID "990"   /* field 32: the sandbox bank's code */
#define BANK_NETWORK_ISSUER_PATH "/v1/network/messages"

typedef enum
{
  BANK_NETWORK_ANSWERED,        /* a signed, well-formed answer to this very message */
  BANK_NETWORK_NO_ANSWER,       /* no issuer, refused, cut or late: the outcome is unknown */
  BANK_NETWORK_BAD_ANSWER,      /* an answer that is not signed or cannot be read */
} BankNetworkResult;

typedef struct _BankNetwork BankNetwork;

/* @response is the issuer's message when ANSWERED, else NULL. */
typedef void (*BankNetworkDone) (BankNetworkResult  result,
                                 JsonObject        *response,
                                 gpointer           user_data);

/* The issuer answered @response_code to @message, a capture or refund the
 * advice queue sent in the mall's stead: records that and what it does to
 * the payment, inside the transaction the network opened. */
typedef gboolean (*BankNetworkSettle) (const BankNetworkMessage  *message,
                                       const char                *response_code,
                                       gpointer                   user_data,
                                       GError                   **error);

/* Where the issuer is: @issuer_url, or the base URL written in
 * @issuer_url_file (the gateway's DIR/gateway.url, read again for every
 * message, so the gateway may move) with ISSUER_PATH appended. Both NULL:
 * every onepin card is answered 91. @bins: "9410,942000-942999", prefixes
 * or ranges of prefixes of one length. @settle records the answers to the
 * captures and refunds it sends. A message with no answer
 * @resend_give_up seconds after its first try (after one more try, at
 * least) is sent no more and awaits reconciliation. */
BankNetwork *bank_network_new          (BankStore         *store,
                                        OnepinKey         *key,
                                        const char        *issuer_url,
                                        const char        *issuer_url_file,
                                        const char        *bins,
                                        guint              timeout,
                                        gint64             resend_give_up,
                                        BankNetworkSettle  settle,
                                        gpointer           settle_data,
                                        GError           **error);
void         bank_network_free         (BankNetwork       *self);

/* TRUE when @number is in onepin's BIN range. */
gboolean     bank_network_routes       (BankNetwork       *self,
                                        const char        *number);
gboolean     bank_network_has_issuer   (BankNetwork       *self);
/* Signs and sends @message (a checked request) to the issuer, then wipes
 * its strings: it may carry a card number and CVC, and the bytes sent are
 * wiped once libsoup lets go of them. @done is called on the main context,
 * once, unless the network is freed first. */
void         bank_network_send         (BankNetwork       *self,
                                        JsonObject        *message,
                                        BankNetworkDone    done,
                                        gpointer           user_data);
/* Sends the follow-ups that are due now, and books a wake-up for the next
 * (after a commit that added one). */
void         bank_network_kick         (BankNetwork       *self);

/* FALSE for the answers an issuer gives when it recorded nothing: 91 (it
 * is stopping) and 96 (its store failed). To an authorization that is a
 * decline; but a stored message may be a retransmission of one the issuer
 * did apply, whose answer was lost, so it is sent again instead. */
gboolean     bank_network_answer_final (const char        *response_code);
/* TRUE for 94, a duplicate: the issuer saw the message's STAN and time
 * before and no longer has its answer (its record is kept 72 h). To a
 * retransmission that means the outcome is unknown, not a decline: the
 * first try may have been applied. */
gboolean     bank_network_answer_unknown (const char      *response_code);
/* The response code recorded for a reconciliation an operator closed with
 * @outcome, "approved" (00) or "declined" (05). */
const char  *bank_network_outcome_code (const char        *outcome);
/* Whether the issuer's answer @response_code says what @outcome says. */
gboolean     bank_network_outcome_agrees (const char      *outcome,
                                        const char        *response_code);
/* Records the issuer's answer @response_code to @message, unanswered, and
 * what it does: a capture's or refund's through the settle function (its
 * payment, the mall's key), a reversal's is only recorded. The caller's
 * transaction holds it. */
gboolean     bank_network_apply_answer (BankNetwork               *self,
                                        const BankNetworkMessage  *message,
                                        const char                *response_code,
                                        GError                   **error);
/* The issuer's @response_code came for @message after its answer was
 * recorded. If that was an operator closing its reconciliation, it is
 * never applied: kept beside the operator's word (the first one, or the
 * last that disagrees), and a disagreement is logged as a warning. */
gboolean     bank_network_late_answer  (BankNetwork               *self,
                                        const BankNetworkMessage  *message,
                                        const char                *response_code,
                                        GError                   **error);
/* The acquirer's decline code for an issuer's response code. */
const char  *bank_network_decline_code (const char        *response_code);
/* The message in the wire format. */
char        *bank_network_serialize    (JsonObject        *message);

G_END_DECLS
