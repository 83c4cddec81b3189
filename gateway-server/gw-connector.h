/* gw-connector.h: the financial system (a card company, a bank) behind one
 * interface
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Card purchases, recharges and wallet charges are paid with money from
 * outside onepin: a credit card, a bank account debit, or a transfer into a
 * virtual account. A connector is the gateway's client of such a system.
 * GwConnectorBank speaks to the onepin-bank sandbox; a real bank or card
 * company's API is plugged in by another implementation.
 *
 * Every call carries the gateway's idempotency key, stable across retries
 * of the same charge, so a repeated call never charges twice. When a call
 * times out or its outcome is unknown, the caller asks with
 * gw_connector_query_async () what happened before it does anything else.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define GW_CONNECTOR_ERROR (gw_connector_error_quark ())

typedef enum
{
  GW_CONNECTOR_ERROR_UNAVAILABLE,   /* the system cannot be reached: nothing happened */
  GW_CONNECTOR_ERROR_UNKNOWN,       /* a timeout or a broken reply: ask with query */
  GW_CONNECTOR_ERROR_NOT_FOUND,     /* query: the system never saw that key */
  GW_CONNECTOR_ERROR_INVALID,       /* the system refused the request as malformed */
} GwConnectorError;

typedef enum
{
  GW_FUNDING_CREDIT_CARD,
  GW_FUNDING_BANK_ACCOUNT,          /* a debit from an account, with its password */
  GW_FUNDING_TRANSFER,              /* a virtual account, paid by the customer later */
} GwFundingMethod;

/* What a charge takes. Secrets (numbers, CVC, passwords) are only passed
 * through to the system; a connector never logs them. */
typedef struct
{
  GwFundingMethod  method;
  const char      *idempotency_key;   /* required */
  gint64           amount;            /* minor units */
  const char      *currency;          /* ISO 4217 */
  const char      *description;       /* shown on the customer's statement */

  /* GW_FUNDING_CREDIT_CARD */
  const char      *card_number;
  const char      *card_expiry;       /* "MM/YY" */
  const char      *card_cvc;
  /* GW_FUNDING_BANK_ACCOUNT, and payouts */
  const char      *bank_code;
  const char      *account_number;
  const char      *account_password;  /* debits only */
  const char      *holder_name;       /* GW_FUNDING_TRANSFER: the depositor */
} GwChargeRequest;

typedef enum
{
  GW_CHARGE_APPROVED,               /* the money is ours */
  GW_CHARGE_DECLINED,               /* nothing was taken; see decline_code */
  GW_CHARGE_PENDING,                /* a virtual account awaits the deposit */
  GW_CHARGE_CANCELED,               /* voided or expired: nothing is taken */
} GwChargeStatus;

typedef struct
{
  GwChargeStatus  status;
  char           *reference;        /* the system's id of the charge */
  char           *decline_code;     /* "card_declined", "insufficient_funds", … */
  char           *message;          /* for people; never holds a secret */
  /* GW_CHARGE_PENDING */
  char           *virtual_bank;
  char           *virtual_account;
  gint64          deposit_deadline; /* unix seconds */
  /* what the bank says it took or asks for; 0 and NULL when it did not say */
  gint64          amount;
  char           *currency;
} GwChargeResult;

void            gw_charge_result_free (GwChargeResult *result);
gboolean        gw_charge_result_matches (const GwChargeResult *result,
                                          gint64                amount,
                                          const char           *currency);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwChargeResult, gw_charge_result_free)

#define GW_TYPE_CONNECTOR (gw_connector_get_type ())
G_DECLARE_INTERFACE (GwConnector, gw_connector, GW, CONNECTOR, GObject)

struct _GwConnectorInterface
{
  GTypeInterface parent_iface;

  void             (*charge_async)   (GwConnector            *self,
                                      const GwChargeRequest  *request,
                                      GCancellable           *cancellable,
                                      GAsyncReadyCallback     callback,
                                      gpointer                user_data);
  GwChargeResult  *(*charge_finish)  (GwConnector            *self,
                                      GAsyncResult           *result,
                                      GError                **error);
  /* What became of the charge made with @idempotency_key. */
  void             (*query_async)    (GwConnector            *self,
                                      const char             *idempotency_key,
                                      GCancellable           *cancellable,
                                      GAsyncReadyCallback     callback,
                                      gpointer                user_data);
  GwChargeResult  *(*query_finish)   (GwConnector            *self,
                                      GAsyncResult           *result,
                                      GError                **error);
  /* Gives an approved charge back in full (e.g. cards could not be
   * allocated), or cancels a pending virtual account. */
  void             (*void_async)     (GwConnector            *self,
                                      const char             *idempotency_key,
                                      GCancellable           *cancellable,
                                      GAsyncReadyCallback     callback,
                                      gpointer                user_data);
  GwChargeResult  *(*void_finish)    (GwConnector            *self,
                                      GAsyncResult           *result,
                                      GError                **error);
  /* Pays @request->amount out to the bank account in @request (a balance
   * refund). method is GW_FUNDING_BANK_ACCOUNT; no password. */
  void             (*payout_async)   (GwConnector            *self,
                                      const GwChargeRequest  *request,
                                      GCancellable           *cancellable,
                                      GAsyncReadyCallback     callback,
                                      gpointer                user_data);
  GwChargeResult  *(*payout_finish)  (GwConnector            *self,
                                      GAsyncResult           *result,
                                      GError                **error);
  /* Checks the signature of a callback the system sent us (a transfer's
   * deposit), in constant time. */
  gboolean         (*verify_callback) (GwConnector           *self,
                                       GBytes                *body,
                                       const char            *signature);
  /* Reads a verified callback: which charge it is about (@idempotency_key,
   * the key the charge was made with) and what became of it. */
  GwChargeResult  *(*parse_callback)  (GwConnector           *self,
                                       GBytes                *body,
                                       char                 **idempotency_key,
                                       GError               **error);
  /* Optional: ends every call in flight and refuses new ones. */
  void             (*shutdown)        (GwConnector           *self);
};

GQuark          gw_connector_error_quark      (void);

void            gw_connector_charge_async     (GwConnector            *self,
                                               const GwChargeRequest  *request,
                                               GCancellable           *cancellable,
                                               GAsyncReadyCallback     callback,
                                               gpointer                user_data);
GwChargeResult *gw_connector_charge_finish    (GwConnector            *self,
                                               GAsyncResult           *result,
                                               GError                **error);
void            gw_connector_query_async      (GwConnector            *self,
                                               const char             *idempotency_key,
                                               GCancellable           *cancellable,
                                               GAsyncReadyCallback     callback,
                                               gpointer                user_data);
GwChargeResult *gw_connector_query_finish     (GwConnector            *self,
                                               GAsyncResult           *result,
                                               GError                **error);
void            gw_connector_void_async       (GwConnector            *self,
                                               const char             *idempotency_key,
                                               GCancellable           *cancellable,
                                               GAsyncReadyCallback     callback,
                                               gpointer                user_data);
GwChargeResult *gw_connector_void_finish      (GwConnector            *self,
                                               GAsyncResult           *result,
                                               GError                **error);
void            gw_connector_payout_async     (GwConnector            *self,
                                               const GwChargeRequest  *request,
                                               GCancellable           *cancellable,
                                               GAsyncReadyCallback     callback,
                                               gpointer                user_data);
GwChargeResult *gw_connector_payout_finish    (GwConnector            *self,
                                               GAsyncResult           *result,
                                               GError                **error);
gboolean        gw_connector_verify_callback  (GwConnector            *self,
                                               GBytes                 *body,
                                               const char             *signature);
/* Only after gw_connector_verify_callback () said TRUE. INVALID when the body
 * is not a callback this connector understands. */
GwChargeResult *gw_connector_parse_callback   (GwConnector            *self,
                                               GBytes                 *body,
                                               char                  **idempotency_key,
                                               GError                **error);

/* At a stop, before the store shuts down: every call in flight ends with
 * GW_CONNECTOR_ERROR_UNKNOWN (it may have reached the system, so its caller
 * records it as unknown and queries after the restart), and later calls
 * fail with GW_CONNECTOR_ERROR_UNAVAILABLE without being sent. Returns once
 * the callbacks of the calls in flight have run (iterating the thread's
 * main context for that), or after 5 s. */
void            gw_connector_shutdown         (GwConnector            *self);

G_END_DECLS
