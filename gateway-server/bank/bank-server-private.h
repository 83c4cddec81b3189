/* bank-server-private.h: what the handlers (bank-api-*.c) get from the HTTP
 * layer: an authenticated, parsed request inside an open transaction, with
 * idempotency handled for them.
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "bank-network.h"
#include "bank-server.h"
#include "onepin-json.h"

G_BEGIN_DECLS

typedef struct _BankRequest BankRequest;

struct _BankRequest
{
  BankServer        *server;
  SoupServerMessage *msg;
  const char        *route;
  char              *path_id;        /* the {id} in the path */
  JsonObject        *body;           /* POST bodies, already an object */
  GHashTable        *query;
  char              *idempotency_key;
  guint8             fingerprint[32];
  gboolean           as_operator;    /* authenticated with the operator key */

  /* Set by the handler */
  guint              status;
  char              *reply;
  guint              delay;          /* seconds to hold the reply back */
  gboolean           callbacks_added;
  gboolean           advices_added;  /* follow-ups were stored: the advice queue looks */
  gboolean           transient;      /* a conflict that passes: not kept under the key */
  gboolean           replayed;       /* the key's stored outcome (or 422): nothing to keep */

  /* A request waiting for the card network (bank_request_suspend ()) */
  gboolean           suspended;
  void             (*on_commit)  (struct _BankRequest *request);
  gpointer           data;
  GDestroyNotify     data_free;
};

/* A handler runs inside the request's transaction. It sets the reply (any
 * status) and returns TRUE, or returns FALSE on a store failure: then the
 * transaction is rolled back and the client gets a 500. */
typedef gboolean (*BankHandler) (BankRequest  *request,
                                 GError      **error);

BankStore        *bank_server_get_store      (BankServer  *self);
BankNetwork      *bank_server_get_network    (BankServer  *self);
const BankKeys   *bank_server_get_keys       (BankServer  *self);
const BankConfig *bank_server_get_config     (BankServer  *self);
gint64            bank_server_now            (BankServer  *self);
/* For the fuzz harness, which watches what the server answers. */
SoupServer       *bank_server_get_soup       (BankServer  *self);

/* Replies; each returns TRUE so a handler can end with `return bank_reply (…)`. */
gboolean  bank_reply            (BankRequest  *request,
                                 guint         status,
                                 JsonObject   *object);   /* consumed */
gboolean  bank_reply_error      (BankRequest  *request,
                                 guint         status,
                                 const char   *type,
                                 const char   *code,
                                 const char   *param,
                                 const char   *message);
gboolean  bank_reply_bad_param  (BankRequest  *request,
                                 const char   *param,
                                 const char   *message);
/* 402 card_error with @decline_code. */
gboolean  bank_reply_decline    (BankRequest  *request,
                                 const char   *decline_code,
                                 const char   *message);
/* From a handler that must ask the card network: its transaction commits
 * what it wrote, then @on_commit (@request) sends the message. The reply
 * waits for bank_request_resume (); meanwhile a repeat of the request's
 * Idempotency-Key gets 409. @data belongs to the request. */
void      bank_request_suspend  (BankRequest  *request,
                                 void        (*on_commit) (BankRequest *request),
                                 gpointer      data,
                                 GDestroyNotify data_free);
/* Runs @handler in a transaction of its own, records its reply under the
 * request's Idempotency-Key, commits and replies, as for any request. */
void      bank_request_resume   (BankRequest  *request,
                                 BankHandler   handler);
/* The outcome stored under the request's Idempotency-Key, if *@found:
 * replied byte for byte, or 422 when it was stored for other parameters.
 * An outcome stored with BANK_FINGERPRINT_UNKNOWN is not *@found: the
 * handler compares the request itself (bank-api-acquirer.c). */
gboolean  bank_request_replay   (BankRequest  *request,
                                 gboolean     *found,
                                 GError      **error);
/* All zeros: the outcome of a request whose parameters were not kept (a
 * capture or refund stored before schema 4, settled by the bank itself). */
extern const guint8 BANK_FINGERPRINT_UNKNOWN[32];
/* Checks the body against @fields; FALSE after replying 400. A member
 * not in @fields is refused without its name (parameter_unknown, no
 * param): the bank repeats only names of its own. */
gboolean  bank_check_body       (BankRequest            *request,
                                 const OnepinJsonField  *fields,
                                 gsize                   n_fields);
/* The same for @object, the member @parent of the body: errors name
 * "@parent.field", or @parent alone for a member not in @fields. */
gboolean  bank_check_object     (BankRequest            *request,
                                 JsonObject             *object,
                                 const char             *parent,
                                 const OnepinJsonField  *fields,
                                 gsize                   n_fields);
/* @object's string @name (@param in errors) is @min to @max printable
 * characters, or absent when @min is 0; FALSE after replying 400. */
gboolean  bank_check_text       (BankRequest            *request,
                                 JsonObject             *object,
                                 const char             *name,
                                 const char             *param,
                                 glong                   min,
                                 glong                   max);
/* Digits of @text without dashes or spaces, if it has @min to @max of them.
 * Free a card number's with bank_secret_free (). */
char     *bank_digits           (const char   *text,
                                 gsize         min,
                                 gsize         max);
/* Wipes, then frees, a string that held a secret. */
void      bank_secret_free      (char         *secret);

typedef char BankSecret;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BankSecret, bank_secret_free)

JsonObject *bank_charge_render     (const BankCharge *charge);
/* A card's "MM/YY": 0 when valid and current, 1 when past, -1 when malformed. */
int         bank_card_expiry_state (const char       *expiry,
                                    gint64            now);

/* The handlers */
gboolean  bank_api_charges_create   (BankRequest *request, GError **error);
gboolean  bank_api_charges_get      (BankRequest *request, GError **error);
gboolean  bank_api_charges_find     (BankRequest *request, GError **error);
gboolean  bank_api_charges_void     (BankRequest *request, GError **error);
gboolean  bank_api_deposit          (BankRequest *request, GError **error);
gboolean  bank_api_payouts_create   (BankRequest *request, GError **error);
gboolean  bank_api_payouts_find     (BankRequest *request, GError **error);
gboolean  bank_api_accounts_get     (BankRequest *request, GError **error);
gboolean  bank_api_sms_create       (BankRequest *request, GError **error);
gboolean  bank_api_sms_list         (BankRequest *request, GError **error);
gboolean  bank_api_acquirer_create  (BankRequest *request, GError **error);
gboolean  bank_api_acquirer_get     (BankRequest *request, GError **error);
gboolean  bank_api_acquirer_capture (BankRequest *request, GError **error);
gboolean  bank_api_acquirer_cancel  (BankRequest *request, GError **error);
gboolean  bank_api_acquirer_refund  (BankRequest *request, GError **error);
gboolean  bank_api_acquirer_reconcile (BankRequest *request, GError **error);

/* The acquirer's payments (bank-api-acquirer.c) */
JsonObject          *bank_acquirer_render    (const BankAcquirerPayment  *p);
/* The payment the path names, or NULL: a store failure (in @error), or
 * none, after replying 404. */
BankAcquirerPayment *bank_acquirer_find      (BankRequest                *request,
                                              GError                    **error);
/* "capture", "refund" or "reversal": what the follow-up @m is. */
const char          *bank_acquirer_operation (const BankNetworkMessage   *m);
/* 200 and @p as it is, with its "reconciliation": the one it awaits, else
 * the one an operator closed last, if any (bank-api-reconciliation.c);
 * who closed it and the note only to the operator key. */
gboolean             bank_reconciliation_reply (BankRequest               *request,
                                              const BankAcquirerPayment  *p,
                                              GError                    **error);

/* At startup: payments whose authorization was in flight when the bank
 * stopped are declined and reversed. */
gboolean  bank_acquirer_recover     (BankServer  *server,
                                     GError     **error);
/* A BankNetworkSettle (@user_data: the server): the issuer's answer to a
 * capture or refund the bank sent again itself settles it, and is stored
 * under the mall's key. */
gboolean  bank_acquirer_settle_resent (const BankNetworkMessage  *message,
                                       const char                *response_code,
                                       gpointer                   user_data,
                                       GError                   **error);

G_END_DECLS
