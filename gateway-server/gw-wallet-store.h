/* gw-wallet-store.h: what the wallet needs from a database
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The wallet's tables (accounts, sessions, funding sources, charges) behind a
 * table of functions, reached with gw_txn_extension (txn, "wallet"). Like
 * GwTxnFuncs, each returns FALSE with @error set on failure, and lookups
 * return FALSE without an error when nothing is found. Secrets arrive here
 * already hashed or sealed.
 */
#pragma once

#include "gw-store.h"

G_BEGIN_DECLS

#define GW_WALLET_SALT_LEN 16

typedef struct
{
  char     id[40];
  char     login_id[72];
  guint8   salt[GW_WALLET_SALT_LEN];
  guint8   hash[32];
  gint64   iterations;
  GBytes  *profile_sealed;
  char     receipt_channel[8];        /* email, sms, none */
  char     locale[4];                 /* ko, en */
  char     card_id[40];               /* "" before the card is applied for */
  guint8   cvc_mac[32];
  gint64   created;
} GwWalletUser;

void gw_wallet_user_clear (GwWalletUser *user);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwWalletUser, gw_wallet_user_clear)

typedef struct
{
  gint64  failures;                   /* attempts since the last success or lock */
  gint64  locked_until;
  gint64  updated;
} GwWalletAttempts;

typedef struct
{
  char    id[40];
  char    user_id[40];
  gint64  created;
  gint64  expires_at;
} GwWalletSession;

typedef struct
{
  char     id[40];
  char     user_id[40];
  char     type[16];                  /* credit_card, bank_account */
  guint8   fingerprint[32];
  GBytes  *details_sealed;            /* NULL once removed */
  char     last4[5];
  gint     digits;
  gint     exp_month;                 /* credit cards */
  gint     exp_year;
  char     bank_code[4];              /* bank accounts */
  gint64   created;
  gint64   removed_at;
} GwFundingSource;

void gw_funding_source_clear (GwFundingSource *source);
void gw_funding_source_free  (GwFundingSource *source);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwFundingSource, gw_funding_source_free)

typedef struct
{
  char     id[40];                    /* wch_…, also the connector's key */
  char     user_id[40];
  char     funding_source_id[40];
  char     card_id[40];
  gint64   amount;
  char     currency[4];
  char     status[12];                /* pending, succeeded, declined, failed, voiding, voided */
  gboolean keyed;                     /* made with the client's Idempotency-Key, whose */
  guint8   key_hash[32];              /* hash (gw_server_hash_idempotency_key) this is */
  guint8   fingerprint[32];
  char    *reference;
  char     decline_code[48];
  gint64   created;
  gint64   sent;                      /* last sent to the financial system */
  gint64   settled;
  gint64   watch_until;               /* failed as never seen: asked about until then */
  gint64   watch_next;                /* ... and when next (gw_orders_watch_next ()), 0 no more */
  gint64   voided_late;               /* when it turned up booked after all, and was voided */
  char     read_status[12];           /* as read or last written: charge_update's
                                         compare-and-set */
} GwWalletCharge;

void gw_wallet_charge_clear (GwWalletCharge *charge);
void gw_wallet_charge_free  (GwWalletCharge *charge);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwWalletCharge, gw_wallet_charge_free)

/* One line of the representative card's account, with what it refers to. */
typedef struct
{
  gint64  id;
  char    kind[16];
  char    channel[24];
  char    ref[40];
  char    payment_id[40];
  char    merchant_id[40];
  char   *merchant_name;
  char   *description;
  gint64  amount;                     /* signed: credits to the card are positive */
  gint64  balance_after;
  gint64  created;
  char    funding_id[40];             /* for a wallet charge */
  char    funding_type[16];
  char    funding_last4[5];
} GwWalletHistoryItem;

typedef struct
{
  gboolean   (*user_insert)          (GwTxn *txn, const GwWalletUser *user, GError **error);
  gboolean   (*user_by_id)           (GwTxn *txn, const char *id, GwWalletUser *out,
                                      GError **error);
  gboolean   (*user_by_login)        (GwTxn *txn, const char *login_id, GwWalletUser *out,
                                      GError **error);
  gboolean   (*user_by_card)         (GwTxn *txn, const char *card_id, GwWalletUser *out,
                                      GError **error);
  gboolean   (*user_set_password)    (GwTxn *txn, const char *id, const guint8 *salt,
                                      const guint8 hash[32], gint64 iterations, GError **error);
  gboolean   (*user_set_profile)     (GwTxn *txn, const char *id, GBytes *profile_sealed,
                                      const char *receipt_channel, const char *locale,
                                      GError **error);
  /* Fails with GW_STORE_ERROR_DUPLICATE when the user already has a card. */
  gboolean   (*user_set_card)        (GwTxn *txn, const char *id, const char *card_id,
                                      const guint8 cvc_mac[32], GError **error);

  /* Password attempts per login ID, by its keyed hash (gw_wallet_login_hash). */
  gboolean   (*attempts_get)         (GwTxn *txn, const guint8 login_hash[32],
                                      GwWalletAttempts *out, GError **error);
  gboolean   (*attempts_put)         (GwTxn *txn, const guint8 login_hash[32],
                                      const GwWalletAttempts *attempts, GError **error);
  /* One more failure, added by the database to the count it holds (a row
   * whose lock ran out, or untouched for @lockout seconds, starts again
   * from 0), so that parallel guesses cannot overwrite each other's count.
   * GW_STORE_ERROR_CONFLICT, counting nothing, when the login is locked or
   * already has @max failures: another request counted since it was read. */
  gboolean   (*attempts_count)       (GwTxn *txn, const guint8 login_hash[32], gint64 now,
                                      gint64 lockout, gint64 max, GError **error);
  gboolean   (*attempts_clear)       (GwTxn *txn, const guint8 login_hash[32], GError **error);
  /* Some of the rows untouched since @before and not locked at @now. */
  gboolean   (*attempts_prune)       (GwTxn *txn, gint64 before, gint64 now, GError **error);

  gboolean   (*session_insert)       (GwTxn *txn, const GwWalletSession *session,
                                      const guint8 token_hash[32], GError **error);
  /* Only a session that is neither revoked nor expired at @now. */
  gboolean   (*session_by_token)     (GwTxn *txn, const guint8 token_hash[32], gint64 now,
                                      GwWalletSession *out, GError **error);
  gboolean   (*session_revoke)       (GwTxn *txn, const char *id, gint64 now, GError **error);
  /* Revokes every live session of @user_id but @keep_id; returns how many, or -1. */
  gint64     (*sessions_revoke_others) (GwTxn *txn, const char *user_id, const char *keep_id,
                                      gint64 now, GError **error);
  gboolean   (*sessions_prune)       (GwTxn *txn, gint64 expired_before, GError **error);

  /* Fails with GW_STORE_ERROR_DUPLICATE when the user has a live source
   * with the same fingerprint. */
  gboolean   (*funding_insert)       (GwTxn *txn, const GwFundingSource *source, GError **error);
  gboolean   (*funding_get)          (GwTxn *txn, const char *id, GwFundingSource *out,
                                      GError **error);
  /* The user's live sources, newest first (GwFundingSource *). */
  GPtrArray *(*funding_list)         (GwTxn *txn, const char *user_id, GError **error);
  gboolean   (*funding_remove)       (GwTxn *txn, const char *id, gint64 now, GError **error);

  gboolean   (*charge_insert)        (GwTxn *txn, GwWalletCharge *charge, GError **error);
  gboolean   (*charge_get)           (GwTxn *txn, const char *id, GwWalletCharge *out,
                                      GError **error);
  gboolean   (*charge_by_key)        (GwTxn *txn, const char *user_id, const guint8 key_hash[32],
                                      GwWalletCharge *out, GError **error);
  /* Writes status, reference, decline_code, sent and settled if the charge still
   * has read_status (then read_status becomes the new status), and fails
   * with GW_STORE_ERROR_CONFLICT otherwise: across processes, a charge's
   * outcome is acted on once. */
  gboolean   (*charge_update)        (GwTxn *txn, GwWalletCharge *charge, GError **error);
  /* Takes the client's Idempotency-Key (and the request's fingerprint) off
   * the charge @id, for another charge to be made under it. */
  gboolean   (*charge_release_key)   (GwTxn *txn, const char *id, GError **error);
  /* How many charges from the source are still pending: taking money from it. */
  gint64     (*charges_pending_from) (GwTxn *txn, const char *source_id, GError **error);
  /* Ids of charges still pending (created before @pending_before) or being voided. */
  GPtrArray *(*charges_open)         (GwTxn *txn, gint64 pending_before, guint limit,
                                      GError **error);
  /* Ids of charges failed as never seen whose next ask (watch_next) is due
   * by @now, due longest first. */
  GPtrArray *(*charges_watched)      (GwTxn *txn, gint64 now, guint limit, GError **error);
  /* A page of charges, newest first (GwWalletCharge *), page->purpose aside;
   * read only, for the admins. */
  GPtrArray *(*charges_page)         (GwTxn *txn, const GwChargesPage *page, GError **error);

  /* Lines of the card account, newest first, older than line @starting_after
   * (0: the newest); an array of GwWalletHistoryItem. */
  GArray    *(*history)              (GwTxn *txn, gint64 account_id, gint64 starting_after,
                                      guint limit, GError **error);
  /* The merchant's display name, newly allocated, or NULL if unknown. */
  char      *(*merchant_name)        (GwTxn *txn, const char *merchant_id, GError **error);
} GwWalletStoreFuncs;

G_END_DECLS
