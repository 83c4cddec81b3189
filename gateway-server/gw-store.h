/* gw-store.h: what the ledger needs from a database, and nothing more
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A store applies batches of operations atomically. Each operation runs
 * inside the batch's transaction, in a savepoint of its own, through the
 * GwTxn primitives below; the store commits the whole batch durably and only
 * then reports every operation's completion on the submitting thread's main
 * context. An operation that fails with a GError is rolled back alone, and
 * the others in the batch still commit.
 *
 * Nothing here assumes that one process owns the data: every money movement
 * is a conditional update that the database itself checks, so several
 * gateway processes can share one database once a backend allows it.
 *
 * What a backend must give an apply, for that to hold:
 *
 *  - Reads see committed data, at least READ COMMITTED, plus the apply's own
 *    writes. They need not be a snapshot: nothing read is trusted for a
 *    write. Every write that depends on what was read says so in its own
 *    statement: balances by `balance - held >= ?` and CHECK constraints,
 *    counters by `x = x + 1`, a payment's state by comparing the status and
 *    amounts it was read with (payment_update). The database evaluates these
 *    on the row as it is when written (PostgreSQL re-checks the WHERE of an
 *    UPDATE that waited for another writer's lock), so they, and not the
 *    reads, are what stop a double effect.
 *  - A conditional update that finds its row changed fails with
 *    GW_STORE_ERROR_CONFLICT. Nothing of the operation may then persist: the
 *    store rolls its savepoint back and, for an operation submitted with
 *    GW_STORE_OP_REPEATABLE, applies it again from fresh reads, a few times,
 *    before it reports the conflict.
 *  - A primitive that fails with GW_STORE_ERROR_DUPLICATE (or INSUFFICIENT,
 *    LIMIT, NOT_FOUND, CONFLICT) leaves the transaction usable: the ledger
 *    goes on after them in the same operation (issue_card draws another
 *    number). A backend whose database aborts the transaction on a
 *    constraint violation (PostgreSQL) uses INSERT … ON CONFLICT DO NOTHING
 *    and counts the rows, or an inner savepoint around the statement.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define GW_STORE_ERROR (gw_store_error_quark ())

typedef enum
{
  GW_STORE_ERROR_FAILED,
  GW_STORE_ERROR_NOT_FOUND,
  GW_STORE_ERROR_DUPLICATE,         /* a unique key is taken */
  GW_STORE_ERROR_INSUFFICIENT,      /* a debit would take more than is available */
  GW_STORE_ERROR_LIMIT,             /* a credit would pass the account's cap */
  GW_STORE_ERROR_SHUTTING_DOWN,
  GW_STORE_ERROR_WRONG_KEY,         /* the key file is not the database's */
  GW_STORE_ERROR_CONFLICT,          /* a row changed since the operation read it */
} GwStoreError;

typedef enum
{
  GW_ACCOUNT_ISSUER_FUNDING = 1,    /* the fixed account id of the issuer's funding */
} GwWellKnownAccount;

typedef struct
{
  char    id[40];
  gint64  account_id;
  char    last4[5];
  char    state[8];                 /* sold, active, closed */
  guint8  password_mac[32];
  gboolean has_password;
  gint64  failures;
  gint64  locked_until;
  gint64  points;
  gint64  initial_value;
  char    channel[16];
  gboolean promotional;
  gint64  created;
  gint64  expires_at;
  gint64  balance;                  /* from the card's account */
  gint64  held;
  char    currency[4];
  gboolean wants_receipts;          /* the holder left a contact for payment receipts */
} GwCard;

typedef struct
{
  char    id[40];
  char    merchant_id[40];
  char    card_id[40];
  char    card_last4[5];
  char    status[12];               /* authorized, captured, canceled */
  gint64  amount;
  gint64  amount_captured;
  gint64  amount_refunded;
  char    currency[4];
  char   *order_id;
  char   *description;
  char    channel[24];
  gint64  created;
  gint64  capture_before;           /* 0 when not authorized */
  gint64  canceled_at;              /* 0 when not canceled */
  gint64  points;
  gint64  seq;
} GwPayment;

void gw_payment_free (GwPayment *payment);
void gw_payment_clear (GwPayment *payment);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwPayment, gw_payment_free)

typedef struct
{
  gint64  account_id;
  gint64  debit;
  gint64  credit;
  gboolean require_available;       /* a debit that must fit in balance - held */
} GwLine;

typedef struct
{
  const char *kind;                 /* issue, payment, refund, … */
  const char *channel;
  const char *ref;
  const char *payment_id;
  const char *merchant_id;
  const char *description;
  gint64      created;
  GwLine     *lines;
  guint       n_lines;
} GwEntry;

typedef struct
{
  guint8      fingerprint[32];
  guint       status;
  GBytes     *body;                 /* opened, if it was sealed */
} GwIdempotencyRecord;

typedef struct
{
  gint64  id;
  char    kind[16];
  char    channel[24];
  char    ref[40];
  char    payment_id[40];
  char    merchant_id[40];
  char   *merchant_name;            /* NULL without a merchant */
  char   *description;
  gint64  amount;                   /* signed: credits to the account are positive */
  gint64  balance_after;
  gint64  created;
} GwStatementLine;

typedef struct
{
  gboolean balanced;
  gint64   total_debits;
  gint64   total_credits;
  gint64   cards_balance_total;
  gint64   pending_holds_total;
  gint64   unbalanced_entries;
  gint64   mismatched_accounts;   /* stored balance or hold differs from the journal */
  gint64   accounts_checked;
  gint64   entries_checked;
} GwAudit;

/* A page of the charges sent (or meant to be sent) to the financial system,
 * newest first: created, then id, descending (GET /v1/admin/charges). The
 * card site's and the wallet's stores each read theirs; the handler merges
 * them. */
typedef struct
{
  gint64       before_created;    /* only those before (before_created, before_id): */
  const char  *before_id;         /* G_MAXINT64 and "" for the newest */
  const char  *purpose;           /* order or recharge, or NULL (the card site's only) */
  const char  *status;            /* or NULL: any */
  gboolean     voided_late;       /* only those booked late and voided */
  guint        limit;
} GwChargesPage;

typedef struct _GwTxn GwTxn;

/* The primitives a backend implements. Each returns FALSE and sets @error on
 * failure; lookups return FALSE without an error when nothing is found. */
typedef struct
{
  gint64    (*now)                (GwTxn *txn);
  gboolean  (*card_by_lookup)     (GwTxn *txn, const guint8 lookup[32], GwCard *out, GError **error);
  gboolean  (*card_by_id)         (GwTxn *txn, const char *id, GwCard *out, GError **error);
  /* The keyed hash of the card's number, for a password set without the number. */
  gboolean  (*card_lookup)        (GwTxn *txn, const char *id, guint8 out[32], GError **error);
  gboolean  (*card_insert)        (GwTxn *txn, const GwCard *card, const guint8 lookup[32],
                                   GBytes *number_sealed, const char *batch_id, GError **error);
  /* One more wrong password, counted by the database (failures + 1, not a
   * count read earlier): when the stored count reaches @limit, the card is
   * locked until @locked_until and the count starts again. */
  gboolean  (*card_auth_failed)   (GwTxn *txn, const char *id, gint64 limit, gint64 locked_until,
                                   GError **error);
  /* The right password: no failures counted, and no lock. */
  gboolean  (*card_auth_reset)    (GwTxn *txn, const char *id, GError **error);
  /* Locks the card until @locked_until, or later if it already is. */
  gboolean  (*card_lock)          (GwTxn *txn, const char *id, gint64 locked_until, GError **error);
  gboolean  (*card_set_password)  (GwTxn *txn, const char *id, const guint8 mac[32],
                                   GBytes *hint_sealed, const char *state, GError **error);
  /* The card's sealed password hint in @out; FALSE without an error when it has none. */
  gboolean  (*card_hint)          (GwTxn *txn, const char *id, GBytes **out, GError **error);
  gboolean  (*card_add_points)    (GwTxn *txn, const char *id, gint64 delta, GError **error);
  /* One more refused card credential on UTC day @day (Unix time / 86400). */
  gboolean  (*credential_failure_add) (GwTxn *txn, gint64 day, GError **error);
  /* The refused card credentials counted on @day (0 when none). */
  gboolean  (*credential_failures)    (GwTxn *txn, gint64 day, gint64 *count, GError **error);
  gint64    (*account_insert)     (GwTxn *txn, const char *kind, int normal, const char *currency,
                                   gint64 cap, GError **error);
  gboolean  (*account_hold)       (GwTxn *txn, gint64 account_id, gint64 amount, GError **error);
  gboolean  (*account_release)    (GwTxn *txn, gint64 account_id, gint64 amount, GError **error);
  gboolean  (*entry_post)         (GwTxn *txn, const GwEntry *entry, GError **error);
  gboolean  (*merchant_insert)    (GwTxn *txn, const char *id, const char *name, const char *category,
                                   const guint8 key_hash[32], GBytes *webhook_sealed,
                                   gint64 account_id, gint64 created, GError **error);
  gint64    (*merchant_account)   (GwTxn *txn, const char *merchant_id, GError **error);
  gboolean  (*batch_insert)       (GwTxn *txn, const char *id, gint64 count, gint64 value,
                                   const char *currency, const char *channel, gint64 created,
                                   GError **error);
  gboolean  (*payment_insert)     (GwTxn *txn, const GwPayment *payment, GError **error);
  gboolean  (*payment_get)        (GwTxn *txn, const char *id, GwPayment *out, GError **error);
  /* Writes @after's status, amounts, capture_before, canceled_at and points
   * over the payment, only if it still has @before's status,
   * amount_captured and amount_refunded (read in this operation);
   * GW_STORE_ERROR_CONFLICT when it does not. amount_refunded only grows,
   * by the difference, so the CHECK (amount_refunded <= amount_captured)
   * also refuses a second refund of the same money. */
  gboolean  (*payment_update)     (GwTxn *txn, const GwPayment *before, const GwPayment *after,
                                   GError **error);
  /* Open authorizations whose capture_before is over at @now (is before it). */
  GPtrArray *(*payments_expiring) (GwTxn *txn, gint64 now, guint limit, GError **error);
  /* The earliest capture_before of an open authorization, 0 if none. */
  gboolean  (*payments_next_expiry) (GwTxn *txn, gint64 *when, GError **error);
  gboolean  (*refund_insert)      (GwTxn *txn, const char *id, const char *payment_id, gint64 amount,
                                   const char *currency, gint64 created, GError **error);
  /* Records are found by the keyed hash of their scope and key
   * (gw_keys_idempotency_hash); the key itself is never stored. */
  gboolean  (*idempotency_get)    (GwTxn *txn, const guint8 key_hash[32],
                                   GwIdempotencyRecord *out, GError **error);
  gboolean  (*idempotency_put)    (GwTxn *txn, const guint8 key_hash[32],
                                   const guint8 fingerprint[32], guint status, const char *body,
                                   gsize len, gboolean seal, GError **error);
  gboolean  (*idempotency_prune)  (GwTxn *txn, gint64 older_than, GError **error);
  /* Queues an event. A merchant's own events (payment.*, checkout.*) are
   * dropped while it has no webhook endpoint: nobody would receive them. */
  gboolean  (*outbox_put)         (GwTxn *txn, const char *type, const char *merchant_id,
                                   const char *payload, GError **error);
  /* Up to @limit journal lines of an account, newest first, older than
   * line @starting_after (0 for the newest); an array of GwStatementLine. */
  GArray   *(*statement)          (GwTxn *txn, gint64 account_id, gint64 starting_after,
                                   guint limit, GError **error);
  /* Sums of the account's net credits by "kind:channel" (gint64 * values). */
  GHashTable *(*account_totals)   (GwTxn *txn, gint64 account_id, GError **error);
  /* Payments of a merchant, newest first, before sequence @before_seq (0: newest). */
  GPtrArray *(*payments_list)     (GwTxn *txn, const char *merchant_id, gint64 before_seq,
                                   guint limit, GError **error);
  gboolean  (*merchant_by_key)    (GwTxn *txn, const guint8 key_hash[32], char id[40],
                                   GError **error);
  gboolean  (*audit)              (GwTxn *txn, GwAudit *out, GError **error);
  /* Modules beyond the core ledger (orders, wallet, telephone, …) keep their
   * primitives in a table of their own, declared in their gw-*-store.h. A
   * backend hands out its implementation of the table called @name, or NULL
   * if it has none. */
  gconstpointer (*extension)      (GwTxn *txn, const char *name);
} GwTxnFuncs;

struct _GwTxn
{
  const GwTxnFuncs *funcs;
};

/* An operation's work, run on the store's writer thread inside the batch
 * transaction. Return FALSE with @error to have just this operation rolled back. */
typedef gboolean (*GwStoreApplyFunc) (GwTxn *txn, gpointer data, GError **error);

typedef enum
{
  GW_STORE_OP_NONE       = 0,
  /* The operation's apply may run again after its effects were rolled back
   * (because another operation near it failed): it starts from its inputs
   * each time and overwrites every output. The store may then apply a run of
   * such operations under one savepoint rather than one each, which spares
   * SQLite a copy of every page each of them touches. Such an operation is
   * also applied again when it fails with GW_STORE_ERROR_CONFLICT. */
  GW_STORE_OP_REPEATABLE = 1 << 0,
} GwStoreOpFlags;
/* Called on the submitter's main context after the batch committed durably
 * (@error NULL) or failed (@error set, nothing of it persisted). */
typedef void (*GwStoreDoneFunc) (gpointer data, const GError *error);

#define GW_TYPE_STORE (gw_store_get_type ())
G_DECLARE_INTERFACE (GwStore, gw_store, GW, STORE, GObject)

struct _GwStoreInterface
{
  GTypeInterface parent_iface;

  void       (*submit)    (GwStore          *self,
                           GwStoreApplyFunc  apply,
                           GwStoreDoneFunc   done,
                           gpointer          data,
                           GwStoreOpFlags    flags);
  /* Runs @apply in a read-only snapshot on the calling thread, without
   * waiting for the writer. */
  gboolean   (*read)      (GwStore          *self,
                           GwStoreApplyFunc  apply,
                           gpointer          data,
                           GError          **error);
  /* Blocks until everything submitted so far has completed, then stops the writer. */
  void       (*shutdown)  (GwStore          *self);
  /* Optional. Between plug and unplug, what the calling thread submits is
   * held back and then handed over at once, so that it can share one
   * transaction (and one fsync) instead of trickling into several. */
  void       (*plug)      (GwStore          *self);
  void       (*unplug)    (GwStore          *self);
};

GQuark    gw_store_error_quark  (void);
/* The module table @name of @txn's backend; a backend without it is a
 * programming error, so this never returns NULL. */
gconstpointer gw_txn_extension  (GwTxn            *txn,
                                 const char       *name);
void      gw_store_submit       (GwStore          *self,
                                 GwStoreApplyFunc  apply,
                                 GwStoreDoneFunc   done,
                                 gpointer          data);
void      gw_store_submit_full  (GwStore          *self,
                                 GwStoreApplyFunc  apply,
                                 GwStoreDoneFunc   done,
                                 gpointer          data,
                                 GwStoreOpFlags    flags);
gboolean  gw_store_read         (GwStore          *self,
                                 GwStoreApplyFunc  apply,
                                 gpointer          data,
                                 GError          **error);
void      gw_store_shutdown     (GwStore          *self);
void      gw_store_plug         (GwStore          *self);
void      gw_store_unplug       (GwStore          *self);

G_END_DECLS
