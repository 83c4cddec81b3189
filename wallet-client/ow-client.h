/* ow-client.h: the wallet's client of the gateway's wallet API
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libsoup 3 and json-glib; no GTK. The rules it enforces:
 *   - HTTPS with a verified certificate (the system's CAs, or one CA file);
 *     plain HTTP only to a loopback address written as an IP literal;
 *   - no redirects are followed, and an answer is at most 1 MiB;
 *   - the session token goes only in the Authorization header; no secret is
 *     logged or put in a URL or an error message.
 */
#pragma once

#include <gio/gio.h>

#include "ow-model.h"
#include "ow-purchase.h"

G_BEGIN_DECLS

#define OW_CLIENT_ERROR (ow_client_error_quark ())

typedef enum
{
  OW_CLIENT_ERROR_INVALID_URL,    /* not an http(s) URL of a host */
  OW_CLIENT_ERROR_INSECURE_URL,   /* plain HTTP to a host that is not loopback */
  OW_CLIENT_ERROR_NETWORK,        /* could not connect, or the connection broke */
  OW_CLIENT_ERROR_TLS,            /* the certificate is not trusted */
  OW_CLIENT_ERROR_PROTOCOL,       /* an answer the wallet cannot use */
  OW_CLIENT_ERROR_NOT_SIGNED_IN,  /* a session call without a token */
} OwClientError;

/* A 4xx or 5xx answer with the gateway's error object. The GError message is
 * the gateway's; ow_api_error_get_*() give its fields. */
#define OW_API_ERROR (ow_api_error_quark ())

typedef enum
{
  OW_API_ERROR_FAILED,            /* any other */
  OW_API_ERROR_INVALID_REQUEST,   /* 400 */
  OW_API_ERROR_UNAUTHORIZED,      /* 401 unauthorized: the session is over */
  OW_API_ERROR_INVALID_LOGIN,     /* 401 invalid_login */
  OW_API_ERROR_DECLINED,          /* 402 card_error */
  OW_API_ERROR_NOT_FOUND,         /* 404 */
  OW_API_ERROR_CONFLICT,          /* 409 */
  OW_API_ERROR_RATE_LIMITED,      /* 429, login_locked included */
  OW_API_ERROR_UNAVAILABLE,       /* 503: bank_unavailable, charge_pending, … */
  OW_API_ERROR_SERVER,            /* other 5xx */
} OwApiError;

GQuark       ow_client_error_quark        (void);
GQuark       ow_api_error_quark           (void);

/* The error object's members, or NULL/0 when @error is not an OW_API_ERROR
 * or the member was absent. */
guint        ow_api_error_get_status      (const GError *error);
const char  *ow_api_error_get_code        (const GError *error);
const char  *ow_api_error_get_decline_code (const GError *error);
const char  *ow_api_error_get_param       (const GError *error);

/* TRUE for http://127.x.x.x, http://[::1] and any https URL of a host. */
gboolean     ow_client_check_url          (const char   *url,
                                           GError      **error);

#define OW_TYPE_CLIENT (ow_client_get_type ())

G_DECLARE_FINAL_TYPE (OwClient, ow_client, OW, CLIENT, GObject)

/* @ca_file: a PEM file of the one CA to trust instead of the system's, or
 * NULL. Fails on a URL ow_client_check_url() refuses or an unreadable CA. */
OwClient    *ow_client_new                (const char   *base_url,
                                           const char   *ca_file,
                                           GError      **error);
const char  *ow_client_get_base_url       (OwClient     *self);

/* The bearer token of the session (copied; NULL forgets it). */
void         ow_client_set_token          (OwClient     *self,
                                           const char   *token);
gboolean     ow_client_has_token          (OwClient     *self);

/* Every call has an _async and a _finish; the finish functions return NULL
 * or FALSE with @error set on failure. */

/* GET /healthz: is a gateway there, over a connection the rules allow? */
void         ow_client_ping_async         (OwClient            *self,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean     ow_client_ping_finish        (OwClient            *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* POST /v1/wallet/users. @phone may be NULL. */
void         ow_client_register_async     (OwClient            *self,
                                           const char          *login_id,
                                           const char          *password,
                                           const char          *name,
                                           const char          *email,
                                           const char          *phone,
                                           const char          *locale,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
OwProfile   *ow_client_register_finish    (OwClient            *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* POST /v1/wallet/sessions. On success the client also uses the token. */
void         ow_client_sign_in_async      (OwClient            *self,
                                           const char          *login_id,
                                           const char          *password,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
OwSession   *ow_client_sign_in_finish     (OwClient            *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* DELETE /v1/wallet/sessions/current; the client forgets the token either way. */
void         ow_client_sign_out_async     (OwClient            *self,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean     ow_client_sign_out_finish    (OwClient            *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* GET /v1/wallet/me */
void         ow_client_get_profile_async  (OwClient            *self,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
OwProfile   *ow_client_get_profile_finish (OwClient            *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* POST /v1/wallet/me; NULL members stay as they are ("" removes the phone). */
void         ow_client_update_profile_async (OwClient          *self,
                                           const char          *name,
                                           const char          *email,
                                           const char          *phone,
                                           const char          *receipt_channel,
                                           const char          *locale,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
OwProfile   *ow_client_update_profile_finish (OwClient         *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* POST /v1/wallet/me/password. After a network error, send it again with
 * the same @idempotency_key (and passwords): the gateway answers how the
 * first ended, and counts no wrong password though the current one has
 * changed meanwhile. */
void         ow_client_change_password_async (OwClient         *self,
                                           const char          *current_password,
                                           const char          *new_password,
                                           const char          *idempotency_key,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
OwProfile   *ow_client_change_password_finish (OwClient        *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* POST /v1/wallet/card/password: the account's password proves the card the
 * user's; the answer is the card, without its number. After a network error,
 * send it again with the same @idempotency_key (and passwords): the gateway
 * answers how the first ended, and changes nothing twice. */
void         ow_client_change_card_password_async (OwClient            *self,
                                                   const char          *account_password,
                                                   const char          *new_card_password,
                                                   const char          *idempotency_key,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
OwCard      *ow_client_change_card_password_finish (OwClient           *self,
                                                    GAsyncResult       *result,
                                                    GError            **error);

/* POST /v1/wallet/card: the answer carries the number and CVC, once. */
void         ow_client_apply_card_async   (OwClient            *self,
                                           const char          *card_password,
                                           const char          *idempotency_key,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
OwCard      *ow_client_apply_card_finish  (OwClient            *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* GET /v1/wallet/card (OW_API_ERROR_NOT_FOUND before applying) */
void         ow_client_get_card_async     (OwClient            *self,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
OwCard      *ow_client_get_card_finish    (OwClient            *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* POST /v1/wallet/funding-sources, a credit card; @expiry is "MM/YY". */
void         ow_client_add_credit_card_async (OwClient         *self,
                                           const char          *number,
                                           const char          *expiry,
                                           const char          *holder,
                                           const char          *idempotency_key,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
/* POST /v1/wallet/funding-sources, a bank account. */
void         ow_client_add_bank_account_async (OwClient        *self,
                                           const char          *bank_code,
                                           const char          *account_number,
                                           const char          *holder,
                                           const char          *idempotency_key,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
/* Finishes either of the two above. */
OwFundingSource *ow_client_add_funding_source_finish (OwClient *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* GET /v1/wallet/funding-sources: a GPtrArray of OwFundingSource*. */
void         ow_client_list_funding_sources_async (OwClient    *self,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
GPtrArray   *ow_client_list_funding_sources_finish (OwClient   *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* DELETE /v1/wallet/funding-sources/{id} */
void         ow_client_delete_funding_source_async (OwClient   *self,
                                           const char          *id,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean     ow_client_delete_funding_source_finish (OwClient  *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* GET /v1/wallet/card/calling_numbers: a GPtrArray of OwCallingNumber*,
 * oldest first (OW_API_ERROR_CONFLICT card_not_issued before applying). */
void         ow_client_list_calling_numbers_async (OwClient    *self,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
GPtrArray   *ow_client_list_calling_numbers_finish (OwClient   *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* POST /v1/wallet/card/calling_numbers: a telephone line that pays with
 * the card, proved the user's by the account's password. */
void         ow_client_add_calling_number_async (OwClient      *self,
                                           const char          *calling_number,
                                           const char          *account_password,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
OwCallingNumber *ow_client_add_calling_number_finish (OwClient *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* DELETE /v1/wallet/card/calling_numbers/{id}, by the line's cn_ id */
void         ow_client_remove_calling_number_async (OwClient   *self,
                                           const char          *id,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean     ow_client_remove_calling_number_finish (OwClient  *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* POST /v1/wallet/charges. Give @cvc for a credit card or @account_password
 * for a bank account. Repeat with the same @idempotency_key after a network
 * error or charge_pending: the gateway then settles, never charges twice. */
void         ow_client_charge_async       (OwClient            *self,
                                           const char          *funding_source_id,
                                           gint64               amount,
                                           const char          *cvc,
                                           const char          *account_password,
                                           const char          *idempotency_key,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
OwCharge    *ow_client_charge_finish      (OwClient            *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* GET /v1/wallet/history; @starting_after (an ln_ id) may be NULL. */
void         ow_client_history_async      (OwClient            *self,
                                           guint                limit,
                                           const char          *starting_after,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
OwHistoryPage *ow_client_history_finish   (OwClient            *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* GET /v1/checkout_sessions/{id}/public: no session needed. */
void         ow_client_get_checkout_summary_async (OwClient    *self,
                                           const char          *checkout_session,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
OwCheckoutSummary *ow_client_get_checkout_summary_finish (OwClient *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* POST /v1/wallet/checkout: pays @purchase's session (an affiliated mall's,
 * with checkout_session and merchant_id set) with the card password. The
 * gateway pays only if merchant, order, amount and currency match what the
 * mall asked for (else OW_API_ERROR_CONFLICT, code checkout_mismatch). */
void         ow_client_wallet_checkout_async (OwClient         *self,
                                           const OwPurchase    *purchase,
                                           const char          *card_password,
                                           const char          *idempotency_key,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
OwCheckoutResult *ow_client_wallet_checkout_finish (OwClient   *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* A fresh random Idempotency-Key. */
char        *ow_client_new_idempotency_key (void);

G_END_DECLS
