/* gw-orders-store.h: what the card site's rules need from a database
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The orders module keeps its tables (orders, charges, gifts, recharges,
 * payouts; schema/gateway/003_orders.sql) behind this table of primitives.
 * gw-orders.c reaches it with gw_txn_extension (txn, "orders") and never
 * sees SQL. Lookups return FALSE without an error when nothing is found.
 *
 * Across processes: a state decided in C from a row read earlier is written
 * as a compare-and-set. Orders, charges, recharges and payouts remember in
 * read_status (and an order in read_charge_id) what they were when read,
 * inserted or last updated; their update changes the row only if it still
 * is that, and otherwise fails with GW_STORE_ERROR_CONFLICT and writes
 * nothing, so that the writer re-applies the operation from fresh reads. On
 * success the row's read_status becomes its new status. card_set_state
 * likewise takes the state the card was read in. The access code's attempts
 * are counted by the database, never written back from a count read before.
 */
#pragma once

#include "gw-store.h"

G_BEGIN_DECLS

typedef struct
{
  gint64  denomination;
  gint64  quantity;
} GwOrderItem;

typedef struct
{
  gint64    seq;
  char      id[40];
  char      status[12];           /* created, paying, pending, failed, allocated */
  guint8    token_hash[32];
  GBytes   *buyer_sealed;
  char      locale[4];
  char      currency[4];
  gint64    total;
  gint64    card_count;
  char      charge_id[40];        /* the latest charge, or empty */
  gboolean  cards_revealed;
  gint64    created;
  gint64    paid_at;              /* 0 until allocated */
  gint64    reopened_at;          /* 0, or when an access code first gave the order a new
                                     token after its numbers were shown (migration 024) */
  char      read_status[12];      /* status and charge_id as read or last written: */
  char      read_charge_id[40];   /* order_update's compare-and-set */
} GwOrderRow;

typedef struct
{
  char    card_id[40];
  gint64  position;
  gint64  denomination;
  char    purpose[8];             /* user, gift */
  /* from the card and its gift, when read */
  char    last4[5];
  gint64  expires_at;
  char    gift_id[40];
  char    gift_status[8];
} GwOrderCardRow;

typedef struct
{
  char    id[40];                 /* chg_…: the idempotency key the bank sees */
  char    purpose[12];            /* order, recharge */
  char    owner_id[40];
  char    method[16];             /* credit_card, bank_account, transfer */
  gint64  amount;
  char    currency[4];
  char    status[12];             /* processing, pending, approved, declined, failed,
                                     canceled, voiding, voided */
  char    reference[96];
  char    decline_code[32];
  char    virtual_bank[64];
  char    virtual_account[64];
  gint64  deposit_deadline;
  gint64  created;
  gint64  updated;
  gboolean has_key;               /* an order's, paid with an Idempotency-Key (migration 019) */
  guint8  key_hash[32];           /* the pay request's key (gw_keys_idempotency_hash) */
  guint8  fingerprint[32];        /* the keyed fingerprint of the request with that key */
  gint64  watch_until;            /* failed as never seen: asked about until then, 0 not */
  gint64  watch_next;             /* ... and when next (gw_orders_watch_next ()), 0 no more */
  gint64  voided_late;            /* when it turned up booked after all, and was voided */
  char    read_status[12];        /* as read or last written: charge_update's compare-and-set */
} GwChargeRow;

typedef struct
{
  char     id[40];
  char     card_id[40];
  char     order_id[40];
  guint8   claim_hash[32];
  GBytes  *details_sealed;
  char     status[8];             /* sent, claimed */
  gint64   created;
  gint64   claimed_at;
} GwGiftRow;

typedef struct
{
  char     id[40];
  char     card_id[40];
  gint64   amount;
  char     currency[4];
  char     status[12];            /* processing, pending, succeeded, failed */
  char     decline_code[32];
  char     charge_id[40];
  gboolean has_request_key;
  guint8   request_key[32];
  gboolean has_fingerprint;       /* FALSE in rows made before migration 012 */
  guint8   fingerprint[32];       /* the keyed fingerprint of the request with that key */
  GBytes  *contact_sealed;
  gint64   balance_after;
  gint64   expires_at;
  gint64   created;
  char     read_status[12];       /* as read or last written: recharge_update's compare-and-set */
} GwRechargeRow;

typedef struct
{
  char     id[40];
  char     card_id[40];
  gint64   amount;
  char     currency[4];
  char     status[12];            /* pending, succeeded, failed */
  char     bank_code[8];
  char     account_last4[5];
  GBytes  *contact_sealed;
  char     decline_code[32];
  char     reference[96];
  gint64   created;
  gint64   updated;
  gboolean has_request_key;       /* FALSE: made without a key, or before migration 013 */
  guint8   request_key[32];       /* GwPayoutKey's */
  guint8   fingerprint[32];       /* the keyed fingerprint of the request with that key */
  char     read_status[12];       /* as read or last written: payout_update's compare-and-set */
} GwPayoutRow;

void gw_order_row_clear    (GwOrderRow    *row);
void gw_gift_row_clear     (GwGiftRow     *row);
void gw_recharge_row_clear (GwRechargeRow *row);
void gw_payout_row_clear   (GwPayoutRow   *row);

/* A one-time code that gives a buyer the order back (order_access_codes). */
typedef struct
{
  char      order_id[40];
  gboolean  has_code;             /* FALSE once used or used up */
  guint8    code_hash[32];
  gint64    expires_at;
  gint64    attempts;
  gint64    window_start;
  gint64    sent;
} GwOrderAccessCodeRow;

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwOrderRow, gw_order_row_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwGiftRow, gw_gift_row_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwRechargeRow, gw_recharge_row_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwPayoutRow, gw_payout_row_clear)

typedef struct
{
  gboolean   (*order_insert)        (GwTxn *txn, GwOrderRow *order, GError **error);
  gboolean   (*order_get)           (GwTxn *txn, const char *id, GwOrderRow *out, GError **error);
  /* Writes status, charge_id, cards_revealed and paid_at, if the order still
   * has read_status and read_charge_id; GW_STORE_ERROR_CONFLICT if not. */
  gboolean   (*order_update)        (GwTxn *txn, GwOrderRow *order, GError **error);
  /* Writes token_hash and reopened_at. */
  gboolean   (*order_set_token)     (GwTxn *txn, const char *id, const guint8 token_hash[32],
                                     gint64 reopened_at, GError **error);
  gboolean   (*access_code_get)     (GwTxn *txn, const char *order_id,
                                     GwOrderAccessCodeRow *out, GError **error);
  /* A new code for the order, its attempts at 0, counted as one more sent
   * in the window that began at window_start (a new window, at @now, once
   * @window has passed). GW_STORE_ERROR_CONFLICT, writing nothing, when the
   * window already has @max_sent: the count is the database's, so two
   * senders that read the same count cannot both send the last code. */
  gboolean   (*access_code_send)    (GwTxn *txn, const char *order_id, const guint8 code_hash[32],
                                     gint64 expires_at, gint64 now, gint64 window,
                                     gint64 max_sent, GError **error);
  /* One more wrong attempt, counted in the database; the code is dropped at
   * @max_attempts. Nothing when the order has no code any more. */
  gboolean   (*access_code_fail)    (GwTxn *txn, const char *order_id, gint64 max_attempts,
                                     GError **error);
  /* Uses the code up if it still is @code_hash; GW_STORE_ERROR_CONFLICT if
   * another request used (or replaced) it since it was read. */
  gboolean   (*access_code_use)     (GwTxn *txn, const char *order_id, const guint8 code_hash[32],
                                     GError **error);
  /* Orders newest first, before sequence @before_seq (0: newest); of GwOrderRow*. */
  GPtrArray *(*orders_list)         (GwTxn *txn, gint64 before_seq, guint limit, GError **error);
  gboolean   (*order_item_insert)   (GwTxn *txn, const char *order_id, const GwOrderItem *item,
                                     GError **error);
  GArray    *(*order_items)         (GwTxn *txn, const char *order_id, GError **error);
  gboolean   (*order_card_insert)   (GwTxn *txn, const char *order_id, const GwOrderCardRow *card,
                                     GError **error);
  /* The order's cards in position order, with their last digits, expiry and gift. */
  GArray    *(*order_cards)         (GwTxn *txn, const char *order_id, GError **error);
  gboolean   (*order_card_set_purpose) (GwTxn *txn, const char *card_id, const char *purpose,
                                     GError **error);

  gboolean   (*charge_insert)       (GwTxn *txn, GwChargeRow *charge, GError **error);
  gboolean   (*charge_get)          (GwTxn *txn, const char *id, GwChargeRow *out, GError **error);
  /* The newest charge the request with @key_hash made. */
  gboolean   (*charge_by_key)       (GwTxn *txn, const guint8 key_hash[32], GwChargeRow *out,
                                     GError **error);
  /* Writes what the bank said, never the key; a compare-and-set on read_status. */
  gboolean   (*charge_update)       (GwTxn *txn, GwChargeRow *charge, GError **error);
  /* Ids of charges whose outcome the gateway still has to learn or act on:
   * processing or voiding and last updated before @before, and every pending
   * one. */
  GPtrArray *(*charges_open)        (GwTxn *txn, gint64 before, guint limit, GError **error);
  /* Ids of charges failed as never seen whose next ask (watch_next) is due
   * by @now, due longest first. */
  GPtrArray *(*charges_watched)     (GwTxn *txn, gint64 now, guint limit, GError **error);
  /* A page of charges, newest first (GwChargeRow *); read only, for the admins. */
  GPtrArray *(*charges_page)        (GwTxn *txn, const GwChargesPage *page, GError **error);

  gboolean   (*gift_insert)         (GwTxn *txn, const GwGiftRow *gift, GError **error);
  gboolean   (*gift_by_claim)       (GwTxn *txn, const guint8 claim_hash[32], GwGiftRow *out,
                                     GError **error);
  gboolean   (*gift_by_card)        (GwTxn *txn, const char *card_id, GwGiftRow *out,
                                     GError **error);
  gboolean   (*gift_set_claimed)    (GwTxn *txn, const char *id, gint64 claimed_at, GError **error);

  gboolean   (*recharge_insert)     (GwTxn *txn, GwRechargeRow *recharge, GError **error);
  gboolean   (*recharge_get)        (GwTxn *txn, const char *id, GwRechargeRow *out,
                                     GError **error);
  gboolean   (*recharge_by_request) (GwTxn *txn, const guint8 request_key[32], GwRechargeRow *out,
                                     GError **error);
  /* Writes status, decline_code, balance_after and expires_at: a compare-and-set
   * on read_status. A recharge becomes succeeded only on a card not closed
   * (GW_STORE_ERROR_CONFLICT otherwise), so that a credit cannot land on a
   * card a payout has just emptied and closed. */
  gboolean   (*recharge_update)     (GwTxn *txn, GwRechargeRow *recharge, GError **error);
  /* Takes the request's key (and fingerprint) off the recharge @id, for
   * another recharge to be made under it. */
  gboolean   (*recharge_release_key) (GwTxn *txn, const char *id, GError **error);

  gboolean   (*payout_insert)       (GwTxn *txn, GwPayoutRow *payout, GError **error);
  gboolean   (*payout_get)          (GwTxn *txn, const char *id, GwPayoutRow *out, GError **error);
  gboolean   (*payout_by_request)   (GwTxn *txn, const guint8 request_key[32], GwPayoutRow *out,
                                     GError **error);
  /* Clears the payout's request key, for a retry of a payout never sent. */
  gboolean   (*payout_release_key)  (GwTxn *txn, const char *id, GError **error);
  gboolean   (*payout_open_for_card) (GwTxn *txn, const char *card_id, GwPayoutRow *out,
                                     GError **error);
  /* The card's latest succeeded payout (the one that emptied and closed it). */
  gboolean   (*payout_paid_for_card) (GwTxn *txn, const char *card_id, GwPayoutRow *out,
                                     GError **error);
  /* Writes status, decline_code, reference and updated: a compare-and-set on
   * read_status, so that a payout fails (and its money goes back) once. */
  gboolean   (*payout_update)       (GwTxn *txn, GwPayoutRow *payout, GError **error);
  /* Ids of pending payouts last updated before @before. */
  GPtrArray *(*payouts_open)        (GwTxn *txn, gint64 before, guint limit, GError **error);

  /* On the core's cards table */
  GBytes    *(*card_number_sealed)  (GwTxn *txn, const char *card_id, GError **error);
  /* From @from, the state the card was read in; GW_STORE_ERROR_CONFLICT if
   * it has another now. */
  gboolean   (*card_set_state)      (GwTxn *txn, const char *card_id, const char *from,
                                     const char *state, GError **error);
  /* Closes the card from @from only if its account is empty (a payout's
   * debit took it all): GW_STORE_ERROR_CONFLICT if a credit came between
   * reading the balance and the debit. */
  gboolean   (*card_close_empty)    (GwTxn *txn, const char *card_id, const char *from,
                                     GError **error);
  gboolean   (*card_set_expiry)     (GwTxn *txn, const char *card_id, gint64 expires_at,
                                     GError **error);
  gboolean   (*batch_promote)       (GwTxn *txn, const char *batch_id, gint64 expires_at,
                                     GError **error);
  /* The merchant's name, or NULL (no error) if there is no such merchant. */
  char      *(*merchant_name)       (GwTxn *txn, const char *merchant_id, GError **error);
} GwOrdersStoreFuncs;

G_END_DECLS
