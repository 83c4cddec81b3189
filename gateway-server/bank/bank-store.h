/* bank-store.h: onepin-bank's SQLite database
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The sandbox bank is one thread: every request runs in one transaction on
 * the main thread (bank_store_begin … commit), which is plenty for a test
 * double and keeps each answer consistent with what was written.
 * Getters return NULL without an error when nothing matches.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BANK_STORE_ERROR (bank_store_error_quark ())

typedef enum
{
  BANK_STORE_ERROR_FAILED,
  BANK_STORE_ERROR_CONFLICT,        /* a unique value is taken */
} BankStoreError;

typedef struct _BankStore BankStore;

typedef struct
{
  char    last4[5];
  char   *behaviour;                /* "approve", "decline", "slow" */
  gint64  credit_limit;
  gint64  used;
} BankCard;

typedef struct
{
  char    *number;                  /* digits only */
  char    *holder;
  guint8   password_mac[32];
  gint64   balance;
  char    *state;                   /* "open", "closed" */
  char    *behaviour;               /* "normal", "slow" */
  gint64   failures;                /* wrong passwords in a row */
} BankAccount;

typedef struct
{
  char    *id;                      /* ch_… */
  char    *idempotency_key;
  char    *method;                  /* "card", "bank_account", "transfer" */
  char    *status;                  /* "approved", "declined", "pending", "canceled" */
  gint64   amount;
  char    *currency;
  char    *description;
  char    *decline_code;
  gboolean has_card;
  guint8   card_lookup[32];
  char    *card_last4;
  char    *account_number;          /* a debit's sandbox account, digits */
  char    *virtual_account;
  gint64   deadline;
  char    *depositor;
  char    *callback_url;
  gint64   created;
  gint64   paid_at;                 /* 0: not (yet) */
  gint64   canceled_at;
} BankCharge;

typedef struct
{
  char    *id;                      /* po_… */
  char    *idempotency_key;
  char    *status;                  /* "paid", "declined" */
  char    *decline_code;
  gint64   amount;
  char    *currency;
  char    *bank_code;
  char    *account_last4;
  char    *holder_name;
  char    *description;
  gint64   created;
} BankPayout;

typedef struct
{
  gint64   id;
  char    *charge_id;
  char    *url;
  char    *body;
  gint64   attempts;
} BankCallback;

/* A card payment a merchant made through the acquirer (POST
 * /v1/acquirer/payments): on the sandbox's own test cards, or routed over
 * the card network to the issuer of onepin's BIN range. */
typedef struct
{
  char    *id;                      /* ap_… */
  char    *idempotency_key;
  char    *network;                 /* "onepin" (routed to the issuer) or "sandbox" */
  char    *status;                  /* pending, authorized, captured, declined, canceled */
  gint64   amount;
  gint64   amount_captured;
  gint64   amount_refunded;
  char    *currency;
  gboolean capture;                 /* asked to be captured at once */
  gboolean has_card;                /* sandbox cards: @card_lookup is set */
  guint8   card_lookup[32];
  char    *card_last4;
  char    *merchant_id;             /* the merchant's own id at the acquirer (field 42) */
  char    *merchant_name;
  char    *mcc;                     /* merchant category code (field 18) */
  char    *merchant_city;
  char    *order_id;
  char    *description;
  char    *stan;                    /* of the authorization or purchase message */
  char    *transmitted;             /* its field 7 */
  char    *rrn;                     /* retrieval reference number (field 37) */
  char    *response_code;           /* field 39 of the answer */
  char    *decline_code;
  char    *auth_code;               /* field 38 of an approval */
  gint64   created;
  gint64   updated;
  guint8   fingerprint[32];         /* of the request, for its Idempotency-Key */
} BankAcquirerPayment;

/* One message the acquirer sent over the card network. Follow-ups
 * (completions, reversals, refunds) keep their body, to be sent again
 * as it was; an authorization's body carries the card and is never
 * stored. Follow-ups have @next_at: the advice queue sends them then, and
 * again until answered (a capture or refund only if the mall's own retry
 * has not got an answer first), or until the bank gives up on them: then
 * @reconcile says why, and the message awaits reconciliation. */
typedef struct
{
  gint64   id;
  char    *payment_id;
  char    *request_key;             /* the acquirer call that made it, or NULL */
  char    *mti;
  char    *stan;
  char    *transmitted;
  gint64   amount;
  char    *body;
  char    *response_code;
  gint64   attempts;
  gint64   next_at;                 /* 0: never sent by the advice queue */
  gint64   answered_at;
  gint64   created;
  gboolean has_fingerprint;         /* a mall's request made it: */
  guint8   fingerprint[32];         /* that request's, for its Idempotency-Key */
  char    *reconcile;               /* NULL, "no_answer" (the bank stopped resending it) or
                                     * "duplicate" (a retransmission was answered 94) */
  gint64   reconcile_at;
} BankNetworkMessage;

/* A reconciliation an operator closed: what they learned from the issuer
 * that it did with the message @message_id, who recorded it, and when.
 * The message itself is then answered (its response_code says the same).
 * An answer from the issuer that arrives after that is never applied; it
 * is kept here (@issuer_code), beside the operator's word. */
typedef struct
{
  gint64   message_id;
  char    *payment_id;
  char    *outcome;                 /* "approved" or "declined" */
  char    *closed_by;               /* the operator's name, as they gave it */
  char    *note;
  gint64   closed_at;
  char    *issuer_code;             /* the issuer's late answer (field 39), or NULL */
  gint64   issuer_at;
} BankReconciliation;

typedef struct
{
  char    *id;                      /* sms_… */
  char    *to;
  char    *text;
  gint64   received_at;
} BankSms;

GQuark        bank_store_error_quark        (void);

BankStore    *bank_store_open               (const char          *path,
                                             GError             **error);
void          bank_store_free               (BankStore           *self);

gboolean      bank_store_begin              (BankStore           *self,
                                             GError             **error);
gboolean      bank_store_commit             (BankStore           *self,
                                             GError             **error);
void          bank_store_rollback           (BankStore           *self);

/* A value in the meta table (e.g. "seeded"), or NULL. */
char         *bank_store_meta_get           (BankStore           *self,
                                             const char          *name,
                                             GError             **error);
gboolean      bank_store_meta_set           (BankStore           *self,
                                             const char          *name,
                                             const char          *value,
                                             GError             **error);

/* Idempotency records, per scope (one per endpoint). */
gboolean      bank_store_idempotency_get    (BankStore           *self,
                                             const char          *scope,
                                             const char          *key,
                                             guint8               fingerprint[32],
                                             guint               *status,
                                             char               **body,
                                             gboolean            *found,
                                             GError             **error);
/* The record's fingerprint becomes @fingerprint. */
gboolean      bank_store_idempotency_pin    (BankStore           *self,
                                             const char          *scope,
                                             const char          *key,
                                             const guint8         fingerprint[32],
                                             GError             **error);
gboolean      bank_store_idempotency_put    (BankStore           *self,
                                             const char          *scope,
                                             const char          *key,
                                             const guint8         fingerprint[32],
                                             guint                status,
                                             const char          *body,
                                             GError             **error);

gboolean      bank_store_card_add           (BankStore           *self,
                                             const guint8         lookup[32],
                                             const BankCard      *card,
                                             GError             **error);
BankCard     *bank_store_card_get           (BankStore           *self,
                                             const guint8         lookup[32],
                                             GError             **error);
/* used += @delta, unless that leaves 0..credit_limit: then *@done is FALSE. */
gboolean      bank_store_card_use           (BankStore           *self,
                                             const guint8         lookup[32],
                                             gint64               delta,
                                             gboolean            *done,
                                             GError             **error);

gboolean      bank_store_account_add        (BankStore           *self,
                                             const BankAccount   *account,
                                             GError             **error);
BankAccount  *bank_store_account_get        (BankStore           *self,
                                             const char          *number,
                                             GError             **error);
/* balance += @delta, unless it would go below 0: then *@done is FALSE. */
gboolean      bank_store_account_move       (BankStore           *self,
                                             const char          *number,
                                             gint64               delta,
                                             gboolean            *done,
                                             GError             **error);
gboolean      bank_store_account_failures   (BankStore           *self,
                                             const char          *number,
                                             gint64               failures,
                                             GError             **error);

/* BANK_STORE_ERROR_CONFLICT when the id or virtual account is taken. */
gboolean      bank_store_charge_insert      (BankStore           *self,
                                             const BankCharge    *charge,
                                             GError             **error);
/* @by is "id", "idempotency_key" or "virtual_account". */
BankCharge   *bank_store_charge_get         (BankStore           *self,
                                             const char          *by,
                                             const char          *value,
                                             GError             **error);
/* Writes status, decline_code, depositor, paid_at and canceled_at. */
gboolean      bank_store_charge_update      (BankStore           *self,
                                             const BankCharge    *charge,
                                             GError             **error);

gboolean      bank_store_payout_insert      (BankStore           *self,
                                             const BankPayout    *payout,
                                             GError             **error);
BankPayout   *bank_store_payout_get         (BankStore           *self,
                                             const char          *by,
                                             const char          *value,
                                             GError             **error);

gboolean      bank_store_callback_add       (BankStore           *self,
                                             const char          *charge_id,
                                             const char          *url,
                                             const char          *body,
                                             gint64               next_at,
                                             GError             **error);
/* Undelivered callbacks due at @now (of BankCallback*), at most @limit. */
GPtrArray    *bank_store_callbacks_due      (BankStore           *self,
                                             gint64               now,
                                             guint                limit,
                                             GError             **error);
/* The earliest next attempt of an undelivered callback, or 0. */
gint64        bank_store_callbacks_next     (BankStore           *self,
                                             GError             **error);
gboolean      bank_store_callback_done      (BankStore           *self,
                                             gint64               id,
                                             gint64               attempts,
                                             gint64               next_at,
                                             gint64               delivered_at,
                                             guint                last_status,
                                             GError             **error);

gboolean      bank_store_sms_add            (BankStore           *self,
                                             const BankSms       *sms,
                                             GError             **error);
/* Newest first; @to NULL lists every recipient. Of BankSms*. */
GPtrArray    *bank_store_sms_list           (BankStore           *self,
                                             const char          *to,
                                             guint                limit,
                                             GError             **error);

/* The next system trace audit number, "000001" … "999999", then again. */
char         *bank_store_next_stan          (BankStore           *self,
                                             GError             **error);
/* BANK_STORE_ERROR_CONFLICT when the idempotency key is taken. */
gboolean      bank_store_acquirer_insert    (BankStore                 *self,
                                             const BankAcquirerPayment *payment,
                                             GError                   **error);
/* @by is "id" or "idempotency_key". */
BankAcquirerPayment *bank_store_acquirer_get (BankStore          *self,
                                             const char          *by,
                                             const char          *value,
                                             GError             **error);
/* Writes status, the amounts, the codes and updated. */
gboolean      bank_store_acquirer_update    (BankStore                 *self,
                                             const BankAcquirerPayment *payment,
                                             GError                   **error);
/* Payments still waiting for the issuer's answer (of BankAcquirerPayment*). */
GPtrArray    *bank_store_acquirer_pending   (BankStore           *self,
                                             GError             **error);
/* Sets @message->id. BANK_STORE_ERROR_CONFLICT when its request_key is taken. */
gboolean      bank_store_message_add        (BankStore           *self,
                                             BankNetworkMessage  *message,
                                             GError             **error);
BankNetworkMessage *bank_store_message_by_key (BankStore         *self,
                                             const char          *request_key,
                                             GError             **error);
BankNetworkMessage *bank_store_message_get (BankStore           *self,
                                             gint64               id,
                                             GError             **error);
/* The follow-up (a completion or refund, made by a mall's request) of
 * @payment_id that the issuer has not answered yet, or NULL. */
BankNetworkMessage *bank_store_message_open (BankStore           *self,
                                             const char          *payment_id,
                                             GError             **error);
gboolean      bank_store_message_answered   (BankStore           *self,
                                             gint64               id,
                                             const char          *response_code,
                                             gint64               answered_at,
                                             GError             **error);
/* A mall's retry of a capture or refund (@fingerprint: its request's)
 * sends it now: the advice queue's turn moves to @next_at (none, if the
 * message awaits reconciliation). A message
 * stored before schema 4 gets the fingerprint, to keep its outcome. */
gboolean      bank_store_message_resend_at  (BankStore           *self,
                                             gint64               id,
                                             gint64               next_at,
                                             const guint8         fingerprint[32],
                                             GError             **error);
/* The bank stops sending the unanswered message @id, which awaits
 * reconciliation for @reason ("no_answer" or "duplicate"): *@marked unless
 * it was answered, or marked, before. One marked before is taken out of
 * the advice queue all the same. */
gboolean      bank_store_message_reconcile  (BankStore           *self,
                                             gint64               id,
                                             const char          *reason,
                                             gint64               at,
                                             gboolean            *marked,
                                             GError             **error);
/* The unanswered message of @payment_id that awaits reconciliation, or NULL. */
BankNetworkMessage *bank_store_message_reconciling (BankStore     *self,
                                             const char          *payment_id,
                                             GError             **error);
/* Records that an operator closed the reconciliation of @r->message_id.
 * BANK_STORE_ERROR_CONFLICT when it was closed before. */
gboolean      bank_store_reconciliation_add (BankStore                 *self,
                                             const BankReconciliation  *r,
                                             GError                   **error);
/* The closed reconciliation of message @message_id, or NULL. */
BankReconciliation *bank_store_reconciliation_get (BankStore       *self,
                                             gint64               message_id,
                                             GError             **error);
/* The reconciliation of @payment_id closed last, or NULL. */
BankReconciliation *bank_store_reconciliation_last (BankStore      *self,
                                             const char          *payment_id,
                                             GError             **error);
/* Keeps @issuer_code, the issuer's answer that came after the close. */
gboolean      bank_store_reconciliation_issuer (BankStore         *self,
                                             gint64               message_id,
                                             const char          *issuer_code,
                                             gint64               at,
                                             GError             **error);
/* Follow-ups due at @now and not yet answered (of BankNetworkMessage*). */
GPtrArray    *bank_store_advices_due        (BankStore           *self,
                                             gint64               now,
                                             guint                limit,
                                             GError             **error);
/* The earliest next attempt of an unanswered follow-up, or 0. */
gint64        bank_store_advices_next       (BankStore           *self,
                                             GError             **error);
gboolean      bank_store_advice_attempted   (BankStore           *self,
                                             gint64               id,
                                             gint64               attempts,
                                             gint64               next_at,
                                             GError             **error);

void          bank_card_free                (BankCard            *card);
void          bank_account_free             (BankAccount         *account);
void          bank_charge_free              (BankCharge          *charge);
void          bank_payout_free              (BankPayout          *payout);
void          bank_callback_free            (BankCallback        *callback);
void          bank_sms_free                 (BankSms             *sms);
void          bank_acquirer_payment_free    (BankAcquirerPayment *payment);
void          bank_network_message_free     (BankNetworkMessage  *message);
void          bank_reconciliation_free      (BankReconciliation  *reconciliation);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BankCard, bank_card_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BankAccount, bank_account_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BankCharge, bank_charge_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BankPayout, bank_payout_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BankSms, bank_sms_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BankAcquirerPayment, bank_acquirer_payment_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BankNetworkMessage, bank_network_message_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BankReconciliation, bank_reconciliation_free)

G_END_DECLS
