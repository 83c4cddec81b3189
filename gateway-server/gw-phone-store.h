/* gw-phone-store.h: what telephone charging needs from a database
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The module's own primitives, reached with gw_txn_extension (txn, "phone").
 * Like GwTxnFuncs they return FALSE and set @error on failure; lookups
 * return FALSE without an error when nothing is found. Money still moves
 * only through entry_post, account_hold and account_release of GwTxnFuncs.
 */
#pragma once

#include "gw-store.h"

G_BEGIN_DECLS

#define GW_PHONE_PREFIX_MAX 15      /* digits */
#define GW_PHONE_NUMBER_MAX 32      /* digits of a dialled or calling number */

/* How a destination is priced. */
typedef struct
{
  char    prefix[GW_PHONE_PREFIX_MAX + 1];
  char    category[16];             /* local, long_distance, mobile, international, special */
  char    country[3];
  char   *description;
  gint64  per_minute;               /* minor units per minute */
  gint64  increment;                /* seconds per billing unit */
  gint64  connection_fee;           /* charged once a call has used any time */
} GwPhoneRate;

typedef struct
{
  char    service[16];              /* voicemail, information */
  gint64  price;                    /* per use */
} GwPhoneServicePrice;

typedef struct
{
  char    id[40];
  gint64  version;
  char   *name;
  char    currency[4];
  gint64  created;
  GArray *rates;                    /* GwPhoneRate, or NULL when not loaded */
  GArray *services;                 /* GwPhoneServicePrice, or NULL */
  gint64  n_rates;
} GwPhoneRateTable;

void gw_phone_rate_clear        (gpointer          rate);
void gw_phone_rate_table_clear  (GwPhoneRateTable *table);
void gw_phone_rate_table_free   (GwPhoneRateTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwPhoneRateTable, gw_phone_rate_table_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwPhoneRateTable, gw_phone_rate_table_clear)

typedef struct
{
  char    id[40];
  char    merchant_id[40];
  char    card_id[40];
  char    card_last4[5];
  gint64  account_id;
  char    service[16];              /* voice, mobile */
  char    channel[24];              /* telephone, prepaid_mobile */
  char    destination[GW_PHONE_NUMBER_MAX + 1];
  char    rate_table_id[40];
  GwPhoneRate rate;                 /* description unused */
  char    currency[4];
  char    state[12];                /* open, terminated, expired */
  gboolean final;                   /* the last grant the card can pay for */
  gint64  request_number;
  gint64  granted;                  /* seconds granted in all, current grant included */
  gint64  last_grant;               /* seconds of the current grant */
  gint64  reported;                 /* seconds the switch reported */
  gint64  billed;                   /* seconds debited for: min (reported, granted) */
  gint64  charged;                  /* debited from the card */
  gint64  held;                     /* reserved on the card for the current grant */
  gint64  created;
  gint64  updated;
  gint64  expires_at;
  gint64  ended_at;                 /* 0 while open */
  /* What the money fields were when read, inserted or last updated:
   * session_update's compare-and-set. */
  char    read_state[12];
  gint64  read_request_number;
  gint64  read_charged;
  gint64  read_held;
} GwPhoneSession;

typedef struct
{
  char    id[40];
  char    merchant_id[40];
  char    card_id[40];
  char    service[16];
  gint64  quantity;
  gint64  amount;
  char    currency[4];
  gint64  created;
} GwPhoneEvent;

typedef struct
{
  char    id[40];
  char    merchant_id[40];          /* the operator */
  char    kind[12];                 /* purchase, recharge */
  char    card_id[40];
  char    card_last4[5];            /* filled by sales_between */
  gint64  amount;
  gint64  commission;               /* the seller's share */
  char    currency[4];
  char    pool_id[40];              /* "" when not drawn from a pool */
  gint64  created;
} GwPhoneSale;

typedef struct
{
  char    id[40];
  char    kind[12];                 /* operator, agent */
  char    merchant_id[40];
  gint64  value;
  gint64  count;
  gint64  created;
  gint64  available;                /* counted by pool_get */
  gint64  sold;
  gint64  voided;
} GwPhonePool;

/* A number of a pool. */
typedef struct
{
  char     pool_id[40];
  gint64   seq;
  char     kind[12];                /* the pool's */
  char     merchant_id[40];         /* the pool's */
  gint64   value;                   /* the pool's */
  guint8   lookup[32];
  GBytes  *number_sealed;
  char     last4[5];
  gboolean has_secret;
  guint8   secret_mac[32];
  char     state[12];               /* available, sold, void */
  char     card_id[40];
} GwPhonePin;

void gw_phone_pin_clear (GwPhonePin *pin);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwPhonePin, gw_phone_pin_clear)

/* A calling number of a card: what its holder sees, and the keyed hash it
 * is found by (gw_phone_calling_number_id makes its id of it). */
typedef struct
{
  guint8  lookup[32];
  char    last4[5];
  gint64  created;
} GwPhoneCallingNumber;

typedef struct
{
  char    merchant_id[40];
  gint64  account_id;               /* what it owes for the cards it sold */
  gint64  commission_bps;           /* its share of what it sells, in 1/10,000 */
  gint64  created;
} GwPhoneOperator;

/* A call to the ARS menu. */
typedef struct
{
  char     id[40];
  char     merchant_id[40];         /* the operator whose IVR drives it */
  GBytes  *calling_sealed;          /* the caller's number, sealed; NULL once ended */
  char     calling_last4[5];
  char     locale[3];               /* ko, en */
  char     state[24];
  gint64   step;                    /* of the prompt the next input answers */
  gint64   retries;
  gboolean has_lookup;              /* a well-formed card number was keyed in */
  guint8   card_lookup[32];
  char     card_id[40];
  gint64   value;                   /* the amount chosen */
  gboolean has_pin;                 /* a new password's first entry */
  guint8   pin_mac[32];
  gint64   created;
  gint64   updated;
  gint64   expires_at;
} GwArsSession;

void gw_ars_session_clear (GwArsSession *session);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwArsSession, gw_ars_session_clear)

typedef struct
{
  /* Whether the merchant's category is @category: "telephone" for a switch,
   * "mobile_operator" for an operator running the ARS menu. */
  gboolean  (*merchant_is)         (GwTxn *txn, const char *merchant_id, const char *category,
                                    GError **error);

  /* Inserts the table with its rates and services; the version is the next
   * one, written back into @table. */
  gboolean  (*rate_table_insert)   (GwTxn *txn, GwPhoneRateTable *table, GError **error);
  /* The newest table's id and version, without its rates. */
  gboolean  (*rate_table_active)   (GwTxn *txn, GwPhoneRateTable *out, GError **error);
  /* A table by id; with @with_rates its rates and services too. */
  gboolean  (*rate_table_get)      (GwTxn *txn, const char *id, gboolean with_rates,
                                    GwPhoneRateTable *out, GError **error);
  /* Tables older than version @before (0: from the newest), newest first;
   * an array of GwPhoneRateTable * without rates. */
  GPtrArray *(*rate_tables_list)   (GwTxn *txn, gint64 before, guint limit, GError **error);
  /* The rate of the longest prefix of @destination in table @table_id. */
  gboolean  (*rate_lookup)         (GwTxn *txn, const char *table_id, const char *destination,
                                    GwPhoneRate *out, GError **error);
  gboolean  (*service_price)       (GwTxn *txn, const char *table_id, const char *service,
                                    gint64 *price, GError **error);

  gboolean  (*session_insert)      (GwTxn *txn, GwPhoneSession *session, GError **error);
  gboolean  (*session_get)         (GwTxn *txn, const char *id, GwPhoneSession *out,
                                    GError **error);
  /* Writes what a session's life changes, only if its state, request
   * number, charged and held are still the read_* ones (then those become
   * the new values); GW_STORE_ERROR_CONFLICT otherwise, so that across
   * processes a report or an expiry debits and releases a session's money
   * once. */
  gboolean  (*session_update)      (GwTxn *txn, GwPhoneSession *session, GError **error);
  /* Ids of open sessions whose validity ended before @now, oldest first. */
  GPtrArray *(*sessions_expiring)  (GwTxn *txn, gint64 now, guint limit, GError **error);

  gboolean  (*event_insert)        (GwTxn *txn, const GwPhoneEvent *event, GError **error);

  gboolean  (*calling_number_put)  (GwTxn *txn, const guint8 lookup[32], const char *card_id,
                                    const char *last4, GError **error);
  /* The card a calling number belongs to. */
  gboolean  (*calling_number_card) (GwTxn *txn, const guint8 lookup[32], char card_id[40],
                                    GError **error);
  /* Removes it if it belongs to @card_id; FALSE (no error) if it did not. */
  gboolean  (*calling_number_delete) (GwTxn *txn, const guint8 lookup[32], const char *card_id,
                                    GError **error);
  /* Removes every calling number of @card_id (none is no error). */
  gboolean  (*calling_numbers_forget) (GwTxn *txn, const char *card_id, GError **error);
  /* The calling numbers of @card_id, oldest first (GwPhoneCallingNumber). */
  GArray   *(*calling_numbers_of_card) (GwTxn *txn, const char *card_id, GError **error);

  gboolean  (*sale_insert)         (GwTxn *txn, const GwPhoneSale *sale, GError **error);
  gboolean  (*operator_get)        (GwTxn *txn, const char *merchant_id, GwPhoneOperator *out,
                                    GError **error);
  gboolean  (*operator_insert)     (GwTxn *txn, const GwPhoneOperator *op, GError **error);
  gboolean  (*operator_set_commission) (GwTxn *txn, const char *merchant_id, gint64 bps,
                                    GError **error);
  /* Sales of a seller created in [@from, @to), oldest first (GwPhoneSale). */
  GArray   *(*sales_between)       (GwTxn *txn, const char *merchant_id, gint64 from, gint64 to,
                                    GError **error);
  /* Sums of the account's journal lines in entries created in [@from, @to). */
  gboolean  (*account_flow)        (GwTxn *txn, gint64 account_id, gint64 from, gint64 to,
                                    gint64 *debits, gint64 *credits, GError **error);

  gboolean  (*pool_insert)         (GwTxn *txn, const GwPhonePool *pool, GError **error);
  gboolean  (*pin_insert)          (GwTxn *txn, const GwPhonePin *pin, GError **error);
  /* The pool with its numbers counted by state. */
  gboolean  (*pool_get)            (GwTxn *txn, const char *id, GwPhonePool *out,
                                    GError **error);
  /* Whether the seller has any pool of @kind. */
  gboolean  (*pools_exist)         (GwTxn *txn, const char *merchant_id, const char *kind,
                                    GError **error);
  /* The oldest available number of @value in the seller's pools of @kind. */
  gboolean  (*pin_next)            (GwTxn *txn, const char *merchant_id, const char *kind,
                                    gint64 value, GwPhonePin *out, GError **error);
  gboolean  (*pin_by_lookup)       (GwTxn *txn, const guint8 lookup[32], GwPhonePin *out,
                                    GError **error);
  /* Moves an available number to @state (sold, with its card; or void). */
  gboolean  (*pin_settle)          (GwTxn *txn, const char *pool_id, gint64 seq,
                                    const char *state, const char *card_id, GError **error);

  gboolean  (*ars_insert)          (GwTxn *txn, const GwArsSession *session, GError **error);
  gboolean  (*ars_get)             (GwTxn *txn, const char *id, GwArsSession *out,
                                    GError **error);
  gboolean  (*ars_update)          (GwTxn *txn, const GwArsSession *session, GError **error);
  /* Deletes sessions idle since before @older_than. */
  gboolean  (*ars_prune)           (GwTxn *txn, gint64 older_than, GError **error);
} GwPhoneStoreFuncs;

/* The SQLite backend's table (gw-phone-store-sqlite.c). */
extern const GwPhoneStoreFuncs gw_phone_store_sqlite;

G_END_DECLS
