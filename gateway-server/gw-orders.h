/* gw-orders.h: the card site's rules: orders, allocation, gifts, recharges
 * and balance refunds
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Like gw-ledger.c these run on the store's writer thread inside a
 * transaction, and know nothing of HTTP or SQL. Money from outside (a credit
 * card, a bank account, a transfer) is taken by the connector between two
 * transactions: the first records the charge (or payout) under an id that is
 * also the bank's idempotency key, the second settles what the bank said.
 * So whatever happens in between, the outcome is learned by asking the bank
 * about that id, and a charge is never made, nor a card issued, twice.
 */
#pragma once

#include "gw-connector.h"
#include "gw-ledger.h"
#include "gw-orders-store.h"

G_BEGIN_DECLS

#define GW_ORDERS_MAX_TOTAL      1000000   /* won per order */
#define GW_ORDERS_MAX_CARDS      100
#define GW_ORDERS_MAX_QUANTITY   99
#define GW_RECHARGE_UNIT         10000

typedef struct
{
  const GwLedgerConfig *ledger;
  const char           *public_url;         /* claim links: <public_url>/claim#<token> */
  gint                  promotional_years;  /* validity of a promotional card at issue */
  gint64                payout_missing_after; /* seconds: see gw_orders_payout_settle() */
  gint64                charge_missing_after; /* seconds: see gw_orders_settle_charge() */
  gint64                charge_watch;         /* seconds: the same, after that */
  gint64                sweep_interval;       /* seconds between sweeps ([site]) */
} GwOrdersConfig;

/* The longest gap between two asks about a watched charge. */
#define GW_ORDERS_WATCH_GAP_MAX  3600

typedef struct
{
  char *name;
  char *phone;
  char *email;
  char *postal_code;
  char *address;
} GwBuyer;

void gw_buyer_clear (GwBuyer *buyer);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwBuyer, gw_buyer_clear)

typedef struct
{
  GwOrderCardRow  row;
  char           *number;           /* set only when revealed */
} GwOrderCard;

typedef struct
{
  GwOrderRow   row;
  GwBuyer      buyer;
  GArray      *items;               /* GwOrderItem */
  GArray      *cards;               /* GwOrderCard */
  gboolean     has_charge;
  GwChargeRow  charge;              /* the latest */
} GwOrder;

void gw_order_clear (GwOrder *order);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwOrder, gw_order_clear)

typedef struct
{
  GwGiftRow  row;
  char      *design;
  char      *recipient_name;
  char      *recipient_email;
  char      *sender_name;
  char      *message;
  char      *font_color;
  gint64     font_size;
  char      *music;
  char      *locale;
  char       card_last4[5];
  gint64     amount;
  char       currency[4];
  char      *card_number;           /* set only by a claim */
} GwGift;

void gw_gift_clear (GwGift *gift);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwGift, gw_gift_clear)

typedef struct
{
  GwRechargeRow  row;
  GwChargeRow    charge;
  char           card_last4[5];
} GwRecharge;

typedef struct
{
  GwPayoutRow  row;
  char         card_last4[5];
} GwPayout;

/* Where someone is told about a recharge or a payout. */
typedef struct
{
  const char *email;                /* may be NULL: no message */
  const char *locale;
} GwContact;

/* What a request comes to. */
typedef enum
{
  GW_ORDERS_OK,
  GW_ORDERS_NOT_FOUND,              /* 404, about @param */
  GW_ORDERS_REFUSED,                /* 400 @code, about @param */
  GW_ORDERS_CONFLICT,               /* 409 @code */
  GW_ORDERS_CARD_DECLINED,          /* 402 card_declined: the onepin card (@decline) */
  GW_ORDERS_FUNDING_DECLINED,       /* 402 funding_declined: the bank (@bank_decline) */
  GW_ORDERS_PAYOUT_DECLINED,        /* 402 payout_declined: the bank (@bank_decline) */
  GW_ORDERS_BANK_UNAVAILABLE,       /* 503: nothing happened, retry */
  GW_ORDERS_BANK_UNKNOWN,           /* 503: the bank has not told yet */
  GW_ORDERS_KEY_REUSED,             /* 422 idempotency_key_reused */
  GW_ORDERS_GIVEN_BACK,             /* 402 funding_declined (@bank_decline): approved, but
                                       what it paid for could not be issued, so the money
                                       goes back */
} GwOrdersResult;

/* The decline codes of a charge given back because what it paid for could
 * not be issued (gw_orders_settle_undeliverable): an order's cards, a
 * recharge's credit. */
#define GW_ORDERS_ALLOCATION_FAILED "allocation_failed"
#define GW_ORDERS_CREDIT_FAILED     "credit_failed"

typedef struct
{
  GwOrdersResult  result;
  const char     *code;             /* static */
  const char     *param;            /* static */
  GwOutcome       card;             /* GW_ORDERS_CARD_DECLINED, and credential failures */
  char            bank_decline[32];
  /* An answer about what an earlier request with the Idempotency-Key did
   * (a 422, or that request's card refusing this one), not this request's
   * outcome: it is not stored under the key. */
  gboolean        unstored;
} GwOrdersOutcome;

/* What the caller must ask of the connector next. */
typedef enum
{
  GW_ORDERS_NEXT_ANSWER,            /* nothing: answer from the state */
  GW_ORDERS_NEXT_CHARGE,            /* charge @id */
  GW_ORDERS_NEXT_QUERY,             /* ask what became of charge or payout @id */
  GW_ORDERS_NEXT_PAYOUT,            /* pay out @id */
  GW_ORDERS_NEXT_VOID,              /* give charge @id back */
} GwOrdersNext;

typedef struct
{
  GwOrdersNext next;
  char         id[40];              /* chg_… or po_… */
  gint64       amount;              /* what to charge or pay out */
  char         owner_id[40];        /* the recharge or payout it is for */
  gboolean     booked_late;         /* the void is of a charge failed as never seen */
} GwOrdersStep;

/* What the request says about the money from outside. The secrets stay
 * with the caller; the rules only need to know it is not a onepin card. */
typedef struct
{
  GwFundingMethod method;
  gboolean        card_well_formed; /* a 16-digit Luhn number: @card_lookup is set */
  guint8          card_lookup[32];
} GwFundingCheck;

/* Orders newest first, after order @starting_after (NULL: from the newest);
 * an array of GwOrder*. @cursor_found tells whether @starting_after exists
 * (if not, the array is empty). */
GPtrArray *gw_orders_list        (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  const char           *starting_after,
                                  guint                 limit,
                                  gboolean             *cursor_found,
                                  GError              **error);

/* The charge @charge_id, if there is one (a callback names it). */
gboolean gw_orders_find_charge   (GwTxn                *txn,
                                  const char           *charge_id,
                                  GwChargeRow          *charge,
                                  GError              **error);

/* Work the sweep found: a charge or payout whose outcome is still to learn. */
typedef struct
{
  char         id[40];
  GwOrdersNext next;                /* QUERY or VOID */
} GwOrdersWork;

const char *gw_funding_method_to_string (GwFundingMethod method);
gboolean    gw_orders_is_denomination   (gint64          value);
/* The name of a Korean bank code, or NULL. */
const char *gw_orders_bank_name         (const char     *bank_code);
/* The bank's decline code reduced to the documented set. */
const char *gw_orders_decline_code      (const char     *bank_code);

/* Orders */
gboolean gw_orders_create        (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  GwOrder              *order,
                                  GError              **error);
gboolean gw_orders_load          (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  const char           *order_id,
                                  GwOrder              *order,
                                  GError              **error);
/* Whether @token_hash is the order's; FALSE (no error) for an unknown order. */
gboolean gw_orders_check_token   (GwTxn                *txn,
                                  const char           *order_id,
                                  const guint8          token_hash[32],
                                  GError              **error);
/* A pay request's Idempotency-Key, as the order's charge keeps it. */
typedef struct
{
  guint8 key_hash[32];              /* the request's key (gw_server_hash_idempotency_key) */
  guint8 fingerprint[32];           /* the request's keyed fingerprint: its parameters */
} GwPayKey;

/* A new charge (NEXT_CHARGE) kept with @key, a query of the order's open
 * one (NEXT_QUERY), or an answer: for a request whose key made a charge
 * that was given back, that it was (GW_ORDERS_GIVEN_BACK), never a second
 * charge; for another request with that key, GW_ORDERS_KEY_REUSED. */
gboolean gw_orders_pay_begin     (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  const char           *order_id,
                                  const GwFundingCheck *funding,
                                  const GwPayKey       *key,         /* or NULL */
                                  GwOrdersStep         *step,
                                  GwOrdersOutcome      *outcome,
                                  GError              **error);
/* The answer to the request that paid (or tried to pay) the order, from its
 * state: the numbers, revealed once, for an allocated order. */
gboolean gw_orders_pay_answer    (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  const char           *order_id,
                                  GwOrder              *order,
                                  GwOrdersOutcome      *outcome,
                                  GError              **error);
gboolean gw_orders_reveal        (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  const char           *order_id,
                                  GwOrder              *order,
                                  GwOrdersOutcome      *outcome,
                                  GError              **error);

/* The way back to an order whose page is lost (the token lived only in
 * it): the buyer gives the order id and the phone or e-mail of the order,
 * and gets a code by e-mail to the order's address; the code, once, buys a
 * new access token, and the old one stops working. */
#define GW_ORDERS_ACCESS_CODE_LIFETIME   600    /* seconds a code works */
#define GW_ORDERS_ACCESS_CODE_ATTEMPTS   5      /* wrong codes before it is used up */
#define GW_ORDERS_ACCESS_CODES_PER_HOUR  5      /* codes sent for one order */

typedef enum
{
  GW_ORDERS_ACCESS_SENT,
  GW_ORDERS_ACCESS_MISMATCH,        /* no such order, or not its phone or e-mail */
  GW_ORDERS_ACCESS_TOO_MANY,        /* the order's codes for this hour are sent */
} GwOrdersAccess;

/* Sends @code (six digits; @code_hash its keyed hash with the order id) to
 * the order's e-mail address if @contact is the order's phone (the same
 * digits) or e-mail (ignoring case). */
gboolean gw_orders_access_code_send   (GwTxn                *txn,
                                       const GwOrdersConfig *config,
                                       const char           *order_id,
                                       const char           *contact,
                                       const char           *code,
                                       const guint8          code_hash[32],
                                       GwOrdersAccess       *result,
                                       GError              **error);
/* When @code_hash is the order's live code, uses it up, sets the order's
 * token to @token_hash, loads @order and sets @redeemed; a wrong code
 * counts against the code. */
gboolean gw_orders_access_code_redeem (GwTxn                *txn,
                                       const GwOrdersConfig *config,
                                       const char           *order_id,
                                       const guint8          code_hash[32],
                                       const guint8          token_hash[32],
                                       GwOrder              *order,
                                       gboolean             *redeemed,
                                       GError              **error);

/* Charges, of orders and recharges. @result NULL means the bank never saw
 * the charge: it refused the call unseen (@not_found FALSE), and nothing
 * was taken, or a query found no record of it (@not_found TRUE), which
 * counts only once the charge is @config's charge_missing_after old:
 * until then it stays unresolved, since a bank's books can lag. Failed
 * so, it is watched for @config's charge_watch: should the bank answer it
 * approved (or pending) after all, it is voided, never credited, and
 * @step's booked_late is set. Settling
 * twice, or settling a charge already resolved, is harmless. On return
 * @step says whether the charge must be voided. */
gboolean gw_orders_settle_charge (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  const char           *charge_id,
                                  const GwChargeResult *result,
                                  gboolean              not_found,
                                  GwOrdersStep         *step,
                                  GError              **error);
/* Like gw_orders_settle_charge (), for an approval whose settlement kept
 * failing: nothing is issued or credited; the order or recharge fails with
 * GW_ORDERS_ALLOCATION_FAILED or GW_ORDERS_CREDIT_FAILED (also the charge's
 * decline_code) and @step says to void the charge. Any other result is
 * settled as gw_orders_settle_charge () would. */
gboolean gw_orders_settle_undeliverable (GwTxn                *txn,
                                         const GwOrdersConfig *config,
                                         const char           *charge_id,
                                         const GwChargeResult *result,
                                         gboolean              not_found,
                                         GwOrdersStep         *step,
                                         GError              **error);
/* A void the bank confirmed (@voided) or refused. */
gboolean gw_orders_charge_voided (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  const char           *charge_id,
                                  gboolean              voided,
                                  GError              **error);

/* Gifts */
typedef struct
{
  const char *card_id;
  const char *design;
  const char *recipient_name;
  const char *recipient_email;
  const char *sender_name;
  const char *message;
  const char *font_color;
  gint64      font_size;
  const char *music;
  const char *locale;
  const char *claim_token;          /* for the e-mail's link only */
  guint8      claim_hash[32];
} GwGiftRequest;

gboolean gw_orders_give          (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  const char           *order_id,
                                  const GwGiftRequest  *request,
                                  GwGift               *gift,
                                  GwOrdersOutcome      *outcome,
                                  GError              **error);
/* Looks a gift up by its claim token's hash; with a @password, claims it,
 * once: registers the card with @password and @hint and reveals its number. */
gboolean gw_orders_open_gift     (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  const guint8          claim_hash[32],
                                  const char           *password,
                                  const char           *hint,
                                  GwGift               *gift,
                                  GwOrdersOutcome      *outcome,
                                  GError              **error);
/* gw_ledger_register(), but a card given as a gift is refused (409
 * card_gifted): only its claim registers it. GW_ORDERS_CARD_DECLINED
 * carries the ledger's refusal in outcome->card. */
gboolean gw_orders_register_card (GwTxn                *txn,
                                  const GwLedgerConfig *ledger,
                                  const GwCredentials  *credentials,
                                  const char           *hint,
                                  GwCard               *card,
                                  GwOrdersOutcome      *outcome,
                                  GError              **error);

/* Recharges */

/* A recharge request's Idempotency-Key, as its recharge keeps it. */
typedef struct
{
  guint8 request_key[32];           /* keyed hash of "recharge", the key's scope (the card) and
                                       key (gw_server_key_request_key) */
  guint8 legacy_key[32];            /* the same in the scope "public", of rows before 012 */
  guint8 fingerprint[32];           /* the request's keyed fingerprint: its parameters */
} GwRechargeKey;

/* Authenticates the card, then: a new recharge (NEXT_CHARGE), or, when
 * @key made one already, that one (its answer, or NEXT_QUERY) for the same
 * parameters on the same card and GW_ORDERS_KEY_REUSED for any other. */
/* After a recharge of @card has been posted: a promotional card's validity
 * is extended by a year (@card's expires_at too). */
gboolean gw_orders_recharged       (GwTxn                *txn,
                                    GwCard               *card,
                                    GError              **error);
gboolean gw_orders_recharge_begin  (GwTxn                *txn,
                                    const GwOrdersConfig *config,
                                    const GwCredentials  *credentials,
                                    gint64                amount,
                                    const GwFundingCheck *funding,
                                    const GwContact      *contact,
                                    const GwRechargeKey  *key,          /* or NULL */
                                    GwRecharge           *recharge,
                                    GwOrdersStep         *step,
                                    GwOrdersOutcome      *outcome,
                                    GError              **error);
gboolean gw_orders_recharge_answer (GwTxn                *txn,
                                    const char           *recharge_id,
                                    GwRecharge           *recharge,
                                    GwOrdersOutcome      *outcome,
                                    GError              **error);

/* Balance refunds */

/* A balance refund request's Idempotency-Key, as its payout keeps it. */
typedef struct
{
  guint8 request_key[32];           /* keyed hash of "payout", the key's scope (the card) and
                                       key (gw_server_key_request_key) */
  guint8 fingerprint[32];           /* the request's keyed fingerprint: its parameters */
} GwPayoutKey;

/* Authenticates the card, then: a new payout of its whole balance
 * (NEXT_PAYOUT), or, when @key made one already, that one (its answer, or
 * NEXT_QUERY) for the same parameters and GW_ORDERS_KEY_REUSED for any
 * other; a payout that never reached the bank gives the key to a new one. */
gboolean gw_orders_payout_begin  (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  const GwCredentials  *credentials,
                                  const char           *bank_code,
                                  const char           *account_last4,
                                  const GwContact      *contact,
                                  const GwPayoutKey    *key,          /* or NULL */
                                  GwPayout             *payout,
                                  GwOrdersStep         *step,
                                  GwOrdersOutcome      *outcome,
                                  GError              **error);
/* @result NULL: the bank refused the call unseen (@not_found FALSE), or
 * a query found no record of it (@not_found TRUE). A decline or either of
 * those puts the money back on the card and reopens it, except a "not
 * found" within @config's payout_missing_after of the payout's start,
 * which leaves it pending. */
gboolean gw_orders_payout_settle (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  const char           *payout_id,
                                  const GwChargeResult *result,
                                  gboolean              not_found,
                                  GError              **error);
gboolean gw_orders_payout_answer (GwTxn                *txn,
                                  const char           *payout_id,
                                  GwPayout             *payout,
                                  GwOrdersOutcome      *outcome,
                                  GError              **error);

/* Verification of an online payment: was @payment_id made with this card? */
gboolean gw_orders_verify_payment (GwTxn                *txn,
                                   const GwOrdersConfig *config,
                                   const GwCredentials  *credentials,
                                   const char           *payment_id,
                                   GwPayment            *payment,
                                   char                **merchant_name,
                                   GwOrdersOutcome      *outcome,
                                   GError              **error);

/* Promotional cards: a batch just issued becomes promotional, valid for
 * config->promotional_years (until @expires_at). */
gboolean gw_orders_promote_batch (GwTxn                *txn,
                                  const GwOrdersConfig *config,
                                  const char           *batch_id,
                                  gint64               *expires_at,
                                  GError              **error);

/* When a charge failed as never seen, and watched until @watch_until
 * ([site] charge_watch), is asked about next, having been asked (or
 * having begun its watch) at @now; @started is when its watch began, when
 * it failed. The first ask is one @sweep_interval after that, then each
 * gap is twice the one before (1, 2, 4... intervals: asks 1, 3, 7...
 * intervals after it failed, growing with the time it has been watched if
 * a sweep came late), at most GW_ORDERS_WATCH_GAP_MAX, and the last ask is
 * at @watch_until, never after. 0 once that last one is done (@now is
 * @watch_until or later): no more asks. Wallet charges use it too, with
 * their recovery sweep's interval. */
gint64   gw_orders_watch_next    (gint64                now,
                                  gint64                started,
                                  gint64                watch_until,
                                  gint64                sweep_interval);
/* A query about @charge_id that the bank did not answer: if the charge is
 * watched, that was an ask all the same, and the next one backs off
 * (gw_orders_watch_next ()); otherwise nothing changes. */
gboolean gw_orders_charge_unanswered (GwTxn                *txn,
                                      const GwOrdersConfig *config,
                                      const char           *charge_id,
                                      GError              **error);

/* The sweep: charges and payouts whose outcome is still to learn (last
 * touched before @before), transfers past their deadline, and charges
 * failed as never seen still watched ([site] charge_watch) in case the
 * bank books them late, those due to be asked about (watch_next) now,
 * due longest first. An array of GwOrdersWork. */
GArray  *gw_orders_sweep         (GwTxn                *txn,
                                  gint64                before,
                                  GError              **error);

G_END_DECLS
