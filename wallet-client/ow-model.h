/* ow-model.h: what the gateway's wallet API answers, as C structs
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The parsers check every member the wallet uses (presence and type) and
 * ignore members they do not know, so a newer gateway still works. Fields
 * that hold secrets (a session token, a full card number, a CVC) are wiped
 * when the struct is freed.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  char   *id;            /* wss_… */
  char   *token;         /* ws_…, secret */
  char   *user_id;       /* usr_… */
  gint64  created;
  gint64  expires_at;
} OwSession;

typedef struct
{
  char   *id;            /* usr_… */
  char   *login_id;
  char   *name;
  char   *email;
  char   *phone;         /* NULL when not given */
  char   *receipt_channel;   /* "email", "sms" or "none" */
  char   *locale;        /* "ko" or "en" */
  char   *card_id;       /* NULL before applying for the card */
  gint64  created;
} OwProfile;

typedef struct
{
  char   *id;            /* card_… */
  char   *masked_number;
  char   *last4;
  int     exp_month;
  int     exp_year;
  char   *state;
  gint64  balance;
  gint64  held;
  gint64  available;
  char   *currency;
  gint64  points;
  gint64  issued_at;
  gint64  expires_at;
  char   *number;        /* only in the answer that issues it; secret */
  char   *cvc;           /* likewise */
} OwCard;

typedef enum
{
  OW_FUNDING_CREDIT_CARD,
  OW_FUNDING_BANK_ACCOUNT,
} OwFundingType;

typedef struct
{
  char          *id;     /* fs_… */
  OwFundingType  type;
  char          *masked_number;
  char          *last4;
  char          *bank_code;   /* bank accounts only */
  int            exp_month;   /* credit cards only, else 0 */
  int            exp_year;
  gint64         created;
} OwFundingSource;

/* A telephone line that pays with the card (a calling number): the
 * gateway shows it by its last four digits only. */
typedef struct
{
  char     *id;          /* cn_… */
  char     *last4;
  gboolean  registered;  /* FALSE in the answer that removes it */
  gint64    created;     /* in a list; else 0 */
} OwCallingNumber;

typedef struct
{
  char   *id;            /* wch_… */
  char   *status;
  gint64  amount;
  char   *currency;
  char   *funding_source;
  char   *card_id;
  char   *card_last4;
  gint64  balance_after;
  gint64  created;
} OwCharge;

typedef struct
{
  char   *id;            /* ln_…, the cursor */
  char   *type;          /* charge, payment, refund, issue, recharge */
  gint64  amount;        /* signed */
  gint64  balance_after;
  char   *currency;
  char   *description;   /* may be NULL */
  char   *merchant_name; /* payments and refunds, else NULL */
  char   *funding_last4; /* charges, else NULL */
  OwFundingType funding_type;
  gint64  created;
} OwTransaction;

typedef struct
{
  GPtrArray *items;      /* of OwTransaction*, newest first */
  gboolean   has_more;
} OwHistoryPage;

/* GET /v1/checkout_sessions/{id}/public: what the mall asked the gateway for. */
typedef struct
{
  char   *id;            /* cs_… */
  char   *status;        /* open, complete, expired */
  char   *merchant_id;   /* mch_… */
  char   *merchant_name; /* as the gateway knows the merchant */
  char   *order_id;
  gint64  amount;
  char   *currency;
  gint64  expires_at;
  GPtrArray *items;      /* OwPurchaseItem*, line totals; empty if the mall gave none */
  char   *success_url;   /* where the mall's page sends the shopper; may be NULL */
  char   *cancel_url;    /* may be NULL */
} OwCheckoutSummary;

/* POST /v1/wallet/checkout: the paid session. */
typedef struct
{
  char   *checkout_session;
  char   *status;        /* complete */
  char   *payment;       /* pay_… */
  char   *payment_status;/* captured or authorized */
  char   *order_id;
  gint64  amount;
  char   *currency;
  char   *card_last4;
  gint64  available;     /* after paying; -1 if absent */
  char   *success_url;   /* may be NULL */
} OwCheckoutResult;

OwSession       *ow_session_parse          (JsonObject      *object,
                                            GError         **error);
OwProfile       *ow_profile_parse          (JsonObject      *object,
                                            GError         **error);
OwCard          *ow_card_parse             (JsonObject      *object,
                                            GError         **error);
OwFundingSource *ow_funding_source_parse   (JsonObject      *object,
                                            GError         **error);
GPtrArray       *ow_funding_sources_parse  (JsonObject      *object,
                                            GError         **error);
OwCallingNumber *ow_calling_number_parse   (JsonObject      *object,
                                            GError         **error);
GPtrArray       *ow_calling_numbers_parse  (JsonObject      *object,
                                            GError         **error);
OwCharge        *ow_charge_parse           (JsonObject      *object,
                                            GError         **error);
OwHistoryPage   *ow_history_page_parse     (JsonObject      *object,
                                            GError         **error);

OwCheckoutSummary *ow_checkout_summary_parse (JsonObject    *object,
                                            GError         **error);
/* Whether a purchase forwarded by a page on @origin (scheme://host[:port])
 * may be the mall's own: the session's success_url or cancel_url is on
 * that origin. A session that names neither is from no origin. */
gboolean         ow_checkout_summary_is_from (const OwCheckoutSummary *summary,
                                             const char              *origin);
/* The port of an http(s) URI, its scheme's default when none is given. */
int              ow_uri_port               (GUri           *uri);
OwCheckoutResult *ow_checkout_result_parse (JsonObject      *object,
                                            GError         **error);

void             ow_session_free           (OwSession       *session);
void             ow_checkout_summary_free  (OwCheckoutSummary *summary);
void             ow_checkout_result_free   (OwCheckoutResult *result);
void             ow_profile_free           (OwProfile       *profile);
void             ow_card_free              (OwCard          *card);
void             ow_funding_source_free    (OwFundingSource *source);
void             ow_calling_number_free    (OwCallingNumber *line);
void             ow_charge_free            (OwCharge        *charge);
void             ow_transaction_free       (OwTransaction   *transaction);
void             ow_history_page_free      (OwHistoryPage   *page);

/* "10,000 원" / "₩10,000"-style display of minor units, by the locale's
 * digit grouping; @currency is the lowercase ISO code. */
char            *ow_format_money           (gint64           amount,
                                            const char      *currency);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwSession, ow_session_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwProfile, ow_profile_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwCard, ow_card_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwFundingSource, ow_funding_source_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwCallingNumber, ow_calling_number_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwCharge, ow_charge_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwTransaction, ow_transaction_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwHistoryPage, ow_history_page_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwCheckoutSummary, ow_checkout_summary_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwCheckoutResult, ow_checkout_result_free)

G_END_DECLS
