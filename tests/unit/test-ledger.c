/* test-ledger.c: the ledger and the SQLite store, driven directly
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The integration tests prove the HTTP contract. These prove what HTTP
 * cannot reach: that the database itself refuses an overdraft or an
 * unbalanced entry, that the audit notices tampering, and the exact
 * arithmetic of holds, caps, points and lockout.
 */
#define _GNU_SOURCE               /* memmem */

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "gw-keys.h"
#include "gw-ledger.h"
#include "gw-network-store.h"
#include "gw-outbox-store.h"
#include "gw-server-private.h"
#include "gw-wallet-store.h"
#include "gw-store-sqlite-private.h"
#include "onepin-shared.h"

#define MERCHANT_ID "mer_unit"
#define PASSWORD    "2468"
#define CURRENCY    "krw"

static OnepinKey *lookup_key;
static OnepinKey *password_key;
static OnepinKey *seal_key;
static OnepinKey *idempotency_key;

typedef struct
{
  char           *dir;
  char           *db_path;
  GwStoreSqlite  *store;
  GwLedgerConfig  config;
  gint64          merchant_account;
} Fixture;

typedef struct
{
  char           id[40];
  char          *number;
  gint64         account_id;
  GwCredentials  credentials;
} TestCard;

static void
test_card_clear (TestCard *card)
{
  g_clear_pointer (&card->number, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TestCard, test_card_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwPayment, gw_payment_clear)

/* Running work on the writer */

typedef struct
{
  GwStoreApplyFunc  apply;
  gpointer          data;
  gboolean          done;
  GError           *error;
} RunTxn;

static gboolean
run_txn_apply (GwTxn    *txn,
               gpointer  data,
               GError  **error)
{
  RunTxn *run = data;

  return run->apply (txn, run->data, error);
}

static void
run_txn_done (gpointer      data,
              const GError *error)
{
  RunTxn *run = data;

  run->error = error ? g_error_copy (error) : NULL;
  run->done = TRUE;
}

/* Submits @apply and blocks until the batch it ran in has committed (or not). */
static GError *
run_txn (GwStoreSqlite    *store,
         GwStoreApplyFunc  apply,
         gpointer          data)
{
  RunTxn run = { apply, data, FALSE, NULL };

  gw_store_submit (GW_STORE (store), run_txn_apply, run_txn_done, &run);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  return run.error;
}

/* One step of a test: inputs, and the outputs of whichever ledger call ran. */
typedef struct
{
  const GwLedgerConfig *config;
  const GwCredentials  *credentials;
  GwPayRequest          request;
  const char           *payment_id;
  gint64                amount;
  const GwEntry        *entry;

  GwPayment             payment;
  GwOutcome             outcome;
  GwCard                card;
  gboolean              found;
  char                  refund_id[40];
  gint64                refunded;
  gint                  expired;
  gint64                next_expiry;
  GwAudit               audit;
  GError               *inner_error;   /* what a primitive refused, the op itself succeeding */
} Step;

static void
step_clear (Step *step)
{
  gw_payment_clear (&step->payment);
  g_clear_error (&step->inner_error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Step, step_clear)

static void
run_ok (Fixture          *f,
        GwStoreApplyFunc  apply,
        Step             *step)
{
  g_autoptr(GError) error = run_txn (f->store, apply, step);

  g_assert_no_error (error);
}

static void
read_ok (Fixture          *f,
         GwStoreApplyFunc  apply,
         Step             *step)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (gw_store_read (GW_STORE (f->store), apply, step, &error));
  g_assert_no_error (error);
}

static gboolean
apply_pay (GwTxn    *txn,
           gpointer  data,
           GError  **error)
{
  Step *step = data;

  return gw_ledger_pay (txn, step->config, step->credentials, &step->request, &step->payment,
                        &step->outcome, error);
}

static gboolean
apply_capture (GwTxn    *txn,
               gpointer  data,
               GError  **error)
{
  Step *step = data;

  return gw_ledger_capture (txn, step->config, MERCHANT_ID, step->payment_id, step->amount,
                            &step->payment, &step->outcome, error);
}

static gboolean
apply_cancel (GwTxn    *txn,
              gpointer  data,
              GError  **error)
{
  Step *step = data;

  return gw_ledger_cancel (txn, MERCHANT_ID, step->payment_id, &step->payment, &step->outcome,
                           error);
}

static gboolean
apply_refund (GwTxn    *txn,
              gpointer  data,
              GError  **error)
{
  Step *step = data;

  return gw_ledger_refund (txn, MERCHANT_ID, step->payment_id, step->amount,
                           step->refund_id, &step->refunded, &step->payment, &step->outcome,
                           error);
}

static gboolean
apply_expire (GwTxn    *txn,
              gpointer  data,
              GError  **error)
{
  Step *step = data;

  step->expired = gw_ledger_expire_holds (txn, &step->next_expiry, error);
  return step->expired >= 0;
}

static gboolean
apply_authenticate (GwTxn    *txn,
                    gpointer  data,
                    GError  **error)
{
  Step *step = data;

  return gw_ledger_authenticate (txn, step->config, step->credentials, &step->card,
                                 &step->outcome, error);
}

/* Posts an entry and keeps the store's answer, committing whatever else happened. */
static gboolean
apply_entry (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  Step *step = data;

  txn->funcs->entry_post (txn, step->entry, &step->inner_error);
  return TRUE;
}

static gboolean
apply_card_by_id (GwTxn    *txn,
                  gpointer  data,
                  GError  **error)
{
  Step *step = data;
  GError *local = NULL;

  step->found = txn->funcs->card_by_id (txn, step->payment_id, &step->card, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

static gboolean
apply_payment_get (GwTxn    *txn,
                   gpointer  data,
                   GError  **error)
{
  Step *step = data;
  GError *local = NULL;

  step->found = txn->funcs->payment_get (txn, step->payment_id, &step->payment, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

static gboolean
apply_audit (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  Step *step = data;

  return txn->funcs->audit (txn, &step->audit, error);
}

static GwOutcome
pay (Fixture              *f,
     const GwLedgerConfig *config,
     const TestCard       *card,
     gint64                amount,
     gboolean              capture,
     GwPayment            *payment)
{
  g_auto(Step) step = { .config = config, .credentials = &card->credentials };

  step.request = (GwPayRequest) {
    .merchant_id = MERCHANT_ID, .amount = amount, .currency = CURRENCY,
    .order_id = "order-1", .description = "unit test", .channel = "internet",
    .capture = capture,
  };
  run_ok (f, apply_pay, &step);
  if (payment != NULL)
    {
      *payment = step.payment;
      memset (&step.payment, 0, sizeof step.payment);
    }
  return step.outcome;
}

static GwOutcome
capture (Fixture    *f,
         const char *payment_id,
         gint64      amount,
         GwPayment  *payment)
{
  g_auto(Step) step = { .config = &f->config, .payment_id = payment_id, .amount = amount };

  run_ok (f, apply_capture, &step);
  *payment = step.payment;
  memset (&step.payment, 0, sizeof step.payment);
  return step.outcome;
}

static GwOutcome
cancel (Fixture    *f,
        const char *payment_id)
{
  g_auto(Step) step = { .payment_id = payment_id };

  run_ok (f, apply_cancel, &step);
  return step.outcome;
}

static GwOutcome
refund (Fixture    *f,
        const char *payment_id,
        gint64      amount,
        gint64     *refunded)
{
  g_auto(Step) step = { .config = &f->config, .payment_id = payment_id, .amount = amount };

  run_ok (f, apply_refund, &step);
  *refunded = step.outcome.code == GW_RESULT_OK ? step.refunded : 0;
  return step.outcome;
}

static gint
expire_holds (Fixture *f,
              gint64  *next_expiry)
{
  g_auto(Step) step = { 0 };

  run_ok (f, apply_expire, &step);
  if (next_expiry != NULL)
    *next_expiry = step.next_expiry;
  return step.expired;
}

static GwOutcome
authenticate (Fixture             *f,
              const GwCredentials *credentials)
{
  g_auto(Step) step = { .config = &f->config, .credentials = credentials };

  run_ok (f, apply_authenticate, &step);
  return step.outcome;
}

/* Posts @lines as one entry; returns what entry_post refused, or NULL. */
static GError *
post_entry (Fixture *f,
            GwLine  *lines,
            guint    n_lines)
{
  GwEntry entry = {
    .kind = "adjustment", .channel = "test", .ref = "adj_unit",
    .created = g_get_real_time () / G_USEC_PER_SEC, .lines = lines, .n_lines = n_lines,
  };
  g_auto(Step) step = { .entry = &entry };

  run_ok (f, apply_entry, &step);
  return g_steal_pointer (&step.inner_error);
}

/* Credits a card account from the issuer's funding, past the ledger's rules. */
static void
fund_card (Fixture        *f,
           const TestCard *card,
           gint64          amount)
{
  GwLine lines[] = {
    { .account_id = GW_ACCOUNT_ISSUER_FUNDING, .debit = amount },
    { .account_id = card->account_id, .credit = amount },
  };
  g_autoptr(GError) error = post_entry (f, lines, G_N_ELEMENTS (lines));

  g_assert_no_error (error);
}

static GwCard
get_card (Fixture        *f,
          const TestCard *card)
{
  g_auto(Step) step = { .payment_id = card->id };

  read_ok (f, apply_card_by_id, &step);
  g_assert_true (step.found);
  return step.card;
}

static void
get_payment (Fixture    *f,
             const char *payment_id,
             GwPayment  *payment)
{
  g_auto(Step) step = { .payment_id = payment_id };

  read_ok (f, apply_payment_get, &step);
  g_assert_true (step.found);
  *payment = step.payment;
  memset (&step.payment, 0, sizeof step.payment);
}

static GwAudit
audit (Fixture *f)
{
  g_auto(Step) step = { 0 };

  read_ok (f, apply_audit, &step);
  return step.audit;
}

static void
assert_card_money (Fixture        *f,
                   const TestCard *card,
                   gint64          balance,
                   gint64          held)
{
  GwCard got = get_card (f, card);

  g_assert_cmpint (got.balance, ==, balance);
  g_assert_cmpint (got.held, ==, held);
  g_assert_cmpint (got.balance - got.held, >=, 0);
}

static void
assert_audit_balanced (Fixture *f)
{
  GwAudit a = audit (f);

  g_assert_cmpint (a.unbalanced_entries, ==, 0);
  g_assert_cmpint (a.mismatched_accounts, ==, 0);
  g_assert_cmpint (a.total_debits, ==, a.total_credits);
  g_assert_true (a.balanced);
}

static void
assert_declined (GwOutcome outcome,
                 GwDecline reason)
{
  g_assert_cmpint (outcome.code, ==, GW_RESULT_DECLINED);
  g_assert_cmpstr (gw_decline_to_string (outcome.decline), ==, gw_decline_to_string (reason));
}

#define assert_ok(outcome) g_assert_cmpint ((outcome).code, ==, GW_RESULT_OK)

/* Direct SQL, as someone with the database file but not the gateway would */

static void
exec_raw (Fixture    *f,
          const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;
  int rc;

  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  rc = sqlite3_exec (db, sql, NULL, NULL, &message);
  if (rc != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  g_assert_cmpint (sqlite3_changes (db), ==, 1);
  sqlite3_close (db);
}

/* Column 0 of @sql's first row, read beside the store. */
static gint64
db_int (Fixture    *f,
        const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

/* Fixture: a fresh database, a merchant, and the ledger's configuration */

static gboolean
apply_setup (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  Fixture *f = data;
  guint8 key_hash[32] = { 0 };

  memset (key_hash, 0x5a, sizeof key_hash);
  if (!gw_ledger_create_merchant (txn, &f->config, MERCHANT_ID, "Unit Shop", "retail", key_hash,
                                  "whsec_unit", error))
    return FALSE;
  f->merchant_account = txn->funcs->merchant_account (txn, MERCHANT_ID, error);
  return f->merchant_account != 0;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("onepin-ledger-XXXXXX", &error);
  g_assert_no_error (error);
  f->db_path = g_build_filename (f->dir, "onepin.db", NULL);
  f->store = gw_store_sqlite_new (f->db_path, seal_key, idempotency_key, lookup_key, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->store);

  f->config = (GwLedgerConfig) {
    .lookup_key = lookup_key, .password_key = password_key, .seal_key = seal_key,
    .bin = "9410", .validity_years = 5, .points_rate = 100, .capture_window = 3600,
    .lockout_seconds = 60,
  };

  g_clear_error (&error);
  error = run_txn (f->store, apply_setup, f);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  user_data)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  gw_store_shutdown (GW_STORE (f->store));
  g_clear_object (&f->store);

  dir = g_dir_open (f->dir, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);

      g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (f->dir), ==, 0);
  g_clear_pointer (&f->db_path, g_free);
  g_clear_pointer (&f->dir, g_free);
}

/* Issuing */

typedef struct
{
  Fixture *f;
  gint64   count;
  gint64   value;
  GArray  *cards;                 /* GwIssuedCard */
} IssueStep;

static gboolean
apply_issue (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  IssueStep *step = data;
  g_autofree char *batch_id = onepin_crypto_random_token ("batch_", 8);

  return gw_ledger_issue_batch (txn, &step->f->config, batch_id, step->count, step->value,
                                CURRENCY, "internet", step->cards, error);
}

static void
issued_card_clear (gpointer data)
{
  GwIssuedCard *card = data;

  g_clear_pointer (&card->number, g_free);
}

static GArray *
issue (Fixture *f,
       gint64   count,
       gint64   value)
{
  IssueStep step = { f, count, value, g_array_new (FALSE, TRUE, sizeof (GwIssuedCard)) };
  g_autoptr(GError) error = NULL;

  g_array_set_clear_func (step.cards, issued_card_clear);
  error = run_txn (f->store, apply_issue, &step);
  g_assert_no_error (error);
  g_assert_cmpuint (step.cards->len, ==, count);
  return step.cards;
}

static gboolean
apply_register (GwTxn    *txn,
                gpointer  data,
                GError  **error)
{
  Step *step = data;

  return gw_ledger_register (txn, step->config, step->credentials, NULL, &step->card,
                             &step->outcome, error);
}

/* Issues one card of @value and registers it with PASSWORD. */
static void
new_card (Fixture  *f,
          gint64    value,
          TestCard *card)
{
  g_autoptr(GArray) cards = issue (f, 1, value);
  GwIssuedCard *issued = &g_array_index (cards, GwIssuedCard, 0);
  g_auto(Step) step = { .config = &f->config, .credentials = &card->credentials };

  g_strlcpy (card->id, issued->id, sizeof card->id);
  card->number = g_strdup (issued->number);
  card->account_id = issued->account_id;
  gw_ledger_credentials (&f->config, card->number, PASSWORD, &card->credentials);
  g_assert_true (card->credentials.well_formed);

  run_ok (f, apply_register, &step);
  assert_ok (step.outcome);
  g_assert_cmpstr (step.card.state, ==, "active");
  assert_card_money (f, card, value, 0);
}

/* 1. A batch is one balanced entry. */
static void
test_issue_batch (Fixture       *f,
                  gconstpointer  user_data)
{
  g_autoptr(GArray) cards = issue (f, 3, 10000);
  GwAudit a = audit (f);

  g_assert_true (a.balanced);
  g_assert_cmpint (a.total_debits, ==, 30000);
  g_assert_cmpint (a.total_credits, ==, 30000);
  g_assert_cmpint (a.cards_balance_total, ==, 30000);
  g_assert_cmpint (a.pending_holds_total, ==, 0);
  g_assert_cmpint (a.unbalanced_entries, ==, 0);
  g_assert_cmpint (a.mismatched_accounts, ==, 0);
  g_assert_cmpint (a.accounts_checked, ==, 1 + 1 + 3);   /* funding, merchant, cards */
  g_assert_cmpint (a.entries_checked, ==, 1);

  for (guint i = 0; i < cards->len; i++)
    {
      GwIssuedCard *issued = &g_array_index (cards, GwIssuedCard, i);
      TestCard card = { 0 };

      g_strlcpy (card.id, issued->id, sizeof card.id);
      g_assert_true (g_str_has_prefix (issued->number, "9410"));
      g_assert_true (onepin_card_number_is_valid (issued->number));
      assert_card_money (f, &card, 10000, 0);
      g_assert_cmpstr (get_card (f, &card).state, ==, "sold");
    }
}

/* 2. A refund that would carry a card past the cap is declined, and moves nothing. */
static void
test_refund_balance_limit (Fixture       *f,
                           gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  g_auto(GwPayment) first = { 0 };
  g_auto(GwPayment) second = { 0 };
  g_auto(GwPayment) after = { 0 };
  g_autoptr(GError) error = NULL;
  gint64 refunded = -1;
  GwAudit a;
  GwLine past_cap[] = {
    { .account_id = GW_ACCOUNT_ISSUER_FUNDING, .debit = 1 },
    { .credit = 1 },
  };

  new_card (f, 10000, &card);
  fund_card (f, &card, 990000);
  assert_card_money (f, &card, 1000000, 0);

  /* The cap holds for a direct credit too. */
  past_cap[1].account_id = card.account_id;
  error = post_entry (f, past_cap, G_N_ELEMENTS (past_cap));
  g_assert_error (error, GW_STORE_ERROR, GW_STORE_ERROR_LIMIT);
  assert_card_money (f, &card, 1000000, 0);

  assert_ok (pay (f, &f->config, &card, 5000, TRUE, &first));
  assert_card_money (f, &card, 995000, 0);
  fund_card (f, &card, 5000);
  assert_card_money (f, &card, 1000000, 0);

  assert_declined (refund (f, first.id, 5000, &refunded), GW_DECLINE_BALANCE_LIMIT);
  g_assert_cmpint (refunded, ==, 0);
  assert_declined (refund (f, first.id, 1, &refunded), GW_DECLINE_BALANCE_LIMIT);
  assert_card_money (f, &card, 1000000, 0);
  get_payment (f, first.id, &after);
  g_assert_cmpint (after.amount_refunded, ==, 0);
  g_assert_cmpint (get_card (f, &card).points, ==, 50);

  a = audit (f);
  g_assert_true (a.balanced);
  g_assert_cmpint (a.total_debits, ==, 10000 + 990000 + 5000 + 5000);
  g_assert_cmpint (a.cards_balance_total, ==, 1000000);
  g_assert_cmpint (a.entries_checked, ==, 4);

  /* Once there is room the same refund goes through. */
  assert_ok (pay (f, &f->config, &card, 5000, TRUE, &second));
  assert_ok (refund (f, first.id, 5000, &refunded));
  g_assert_cmpint (refunded, ==, 5000);
  assert_card_money (f, &card, 1000000, 0);
  assert_audit_balanced (f);
}

/* 3. The database refuses an overdraft the ledger did not ask it to check. */
static void
test_store_refuses_overdraft (Fixture       *f,
                              gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  g_auto(GwPayment) hold = { 0 };
  GwAudit before;
  GwAudit a;
  /* The funding line comes first and succeeds: it must be rolled back too. */
  GwLine lines[] = {
    { .account_id = GW_ACCOUNT_ISSUER_FUNDING, .credit = 10001 },
    { .debit = 10001, .require_available = FALSE },
  };

  new_card (f, 10000, &card);
  lines[1].account_id = card.account_id;
  before = audit (f);

  {
    g_autoptr(GError) error = post_entry (f, lines, G_N_ELEMENTS (lines));

    g_assert_error (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "CHECK constraint failed"));
  }
  assert_card_money (f, &card, 10000, 0);

  /* Within the balance but over what is not held: the CHECK on held refuses it. */
  assert_ok (pay (f, &f->config, &card, 4000, FALSE, &hold));
  lines[0].credit = lines[1].debit = 7000;
  {
    g_autoptr(GError) error = post_entry (f, lines, G_N_ELEMENTS (lines));

    g_assert_error (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED);
  }
  /* With the condition asked for, the same debit is a clean "insufficient". */
  lines[1].require_available = TRUE;
  {
    g_autoptr(GError) error = post_entry (f, lines, G_N_ELEMENTS (lines));

    g_assert_error (error, GW_STORE_ERROR, GW_STORE_ERROR_INSUFFICIENT);
  }
  assert_card_money (f, &card, 10000, 4000);

  a = audit (f);
  g_assert_true (a.balanced);
  g_assert_cmpint (a.total_debits, ==, before.total_debits);
  g_assert_cmpint (a.total_credits, ==, before.total_credits);
  g_assert_cmpint (a.entries_checked, ==, before.entries_checked);
  g_assert_cmpint (a.cards_balance_total, ==, 10000);
  g_assert_cmpint (a.pending_holds_total, ==, 4000);
}

/* The statement lines of @account_id, newest first. */
typedef struct
{
  gint64  account_id;
  GArray *lines;
} StatementStep;

static gboolean
apply_statement (GwTxn    *txn,
                 gpointer  data,
                 GError  **error)
{
  StatementStep *step = data;

  step->lines = txn->funcs->statement (txn, step->account_id, 0, 100, error);
  return step->lines != NULL;
}

static GArray *
statement (Fixture *f,
           gint64   account_id)
{
  StatementStep step = { account_id, NULL };
  g_autoptr(GError) error = NULL;

  g_assert_true (gw_store_read (GW_STORE (f->store), apply_statement, &step, &error));
  g_assert_no_error (error);
  return step.lines;
}

/* Checks that the newest @n lines of @account_id moved it by @amounts (oldest
 * first) and that each line's balance_after runs from @start. */
static void
assert_running_balances (Fixture      *f,
                         gint64        account_id,
                         gint64        start,
                         const gint64 *amounts,
                         guint         n)
{
  g_autoptr(GArray) lines = statement (f, account_id);
  gint64 balance = start;

  g_assert_cmpuint (lines->len, >=, n);
  for (guint i = 0; i < n; i++)
    {
      GwStatementLine *line = &g_array_index (lines, GwStatementLine, n - 1 - i);

      balance += amounts[i];
      g_assert_cmpint (line->amount, ==, amounts[i]);
      g_assert_cmpint (line->balance_after, ==, balance);
    }
}

/* 3b. An entry that names an account twice: each line's balance_after is
 * the running balance, and a refused later line undoes the earlier ones. */
static void
test_store_running_balances (Fixture       *f,
                             gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  GwLine small[] = {
    { .account_id = GW_ACCOUNT_ISSUER_FUNDING, .debit = 300 },
    { .credit = 100 },
    { .debit = 30, .require_available = TRUE },
    { .credit = 230 },
  };
  const gint64 small_moves[] = { 100, -30, 230 };
  GwLine large[21] = { { .account_id = GW_ACCOUNT_ISSUER_FUNDING, .debit = 0 } };
  gint64 large_moves[20];
  GwLine refused[] = {
    { .account_id = GW_ACCOUNT_ISSUER_FUNDING, .debit = 100 },
    { .credit = 100 },
    { .debit = 1000000, .require_available = TRUE },
    { .account_id = GW_ACCOUNT_ISSUER_FUNDING, .credit = 1000000 },
  };
  GwAudit before;
  GwAudit a;

  new_card (f, 10000, &card);
  for (guint i = 1; i < G_N_ELEMENTS (small); i++)
    small[i].account_id = card.account_id;
  {
    g_autoptr(GError) error = post_entry (f, small, G_N_ELEMENTS (small));

    g_assert_no_error (error);
  }
  assert_card_money (f, &card, 10300, 0);
  assert_running_balances (f, card.account_id, 10000, small_moves, G_N_ELEMENTS (small_moves));

  /* Past the size where lines are compared pairwise. */
  for (guint i = 1; i < G_N_ELEMENTS (large); i++)
    {
      large[i] = (GwLine) { .account_id = card.account_id, .credit = i };
      large[0].debit += i;
      large_moves[i - 1] = i;
    }
  {
    g_autoptr(GError) error = post_entry (f, large, G_N_ELEMENTS (large));

    g_assert_no_error (error);
  }
  assert_card_money (f, &card, 10300 + 210, 0);
  assert_running_balances (f, card.account_id, 10300, large_moves, G_N_ELEMENTS (large_moves));

  /* The third line is refused: the first two are undone, nothing is written. */
  before = audit (f);
  refused[1].account_id = refused[2].account_id = card.account_id;
  {
    g_autoptr(GError) error = post_entry (f, refused, G_N_ELEMENTS (refused));

    g_assert_error (error, GW_STORE_ERROR, GW_STORE_ERROR_INSUFFICIENT);
  }
  assert_card_money (f, &card, 10510, 0);
  a = audit (f);
  g_assert_true (a.balanced);
  g_assert_cmpint (a.entries_checked, ==, before.entries_checked);
  g_assert_cmpint (a.total_debits, ==, before.total_debits);
  g_assert_cmpint (a.cards_balance_total, ==, before.cards_balance_total);
}

/* 4. Only balanced entries of positive, one-sided lines are accepted. */
static void
test_store_refuses_unbalanced (Fixture       *f,
                               gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  GwAudit before;
  GwAudit a;
  struct
  {
    const char *what;
    GwLine      lines[3];
    guint       n_lines;
  } cases[] = {
    { "debits exceed credits", { { 1, 100, 0 }, { 0, 0, 99 } }, 2 },
    { "credits exceed debits", { { 1, 99, 0 }, { 0, 0, 100 } }, 2 },
    { "debit and credit on one line", { { 1, 100, 50 }, { 0, 0, 50 } }, 2 },
    { "negative amounts", { { 1, -100, 0 }, { 0, 0, -100 } }, 2 },
    { "negative credit", { { 1, 100, 0 }, { 0, 0, 200 }, { 0, 0, -100 } }, 3 },
    { "an empty line", { { 1, 100, 0 }, { 0, 0, 100 }, { 0, 0, 0 } }, 3 },
    { "a single line", { { 1, 0, 0 } }, 1 },
    { "overflowing debits", { { 1, G_MAXINT64, 0 }, { 1, G_MAXINT64, 0 }, { 0, 0, 2 } }, 3 },
  };

  new_card (f, 10000, &card);
  before = audit (f);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", cases[i].what);
      for (guint j = 0; j < cases[i].n_lines; j++)
        if (cases[i].lines[j].account_id == 0)
          cases[i].lines[j].account_id = card.account_id;
      error = post_entry (f, cases[i].lines, cases[i].n_lines);
      g_assert_error (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED);
      g_assert_cmpstr (error->message, ==, "Unbalanced journal entry refused");
    }

  assert_card_money (f, &card, 10000, 0);
  a = audit (f);
  g_assert_true (a.balanced);
  g_assert_cmpint (a.entries_checked, ==, before.entries_checked);
  g_assert_cmpint (a.total_debits, ==, 10000);
}

/* 5. Holds: never more than available; cancel, partial capture and expiry. */
static void
test_holds (Fixture       *f,
            gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  g_auto(GwPayment) a_hold = { 0 };
  g_auto(GwPayment) b_hold = { 0 };
  g_auto(GwPayment) c_hold = { 0 };
  g_auto(GwPayment) d_hold = { 0 };
  g_auto(GwPayment) e_hold = { 0 };
  g_auto(GwPayment) f_hold = { 0 };
  g_auto(GwPayment) captured = { 0 };
  g_auto(GwPayment) expired = { 0 };
  g_auto(GwPayment) payment = { 0 };
  /* Authorizations under this one are already past their window, which
   * lasts through the second capture_before. */
  GwLedgerConfig instant = f->config;
  gint64 next_expiry = -1;
  GwAudit a;

  instant.capture_window = -1;
  new_card (f, 10000, &card);

  assert_ok (pay (f, &f->config, &card, 3000, FALSE, &a_hold));
  g_assert_cmpstr (a_hold.status, ==, "authorized");
  g_assert_cmpint (a_hold.capture_before, ==, a_hold.created + 3600);
  assert_card_money (f, &card, 10000, 3000);
  assert_ok (pay (f, &f->config, &card, 3000, FALSE, &b_hold));
  assert_card_money (f, &card, 10000, 6000);
  assert_ok (pay (f, &instant, &card, 3000, FALSE, &c_hold));
  assert_card_money (f, &card, 10000, 9000);
  assert_declined (pay (f, &f->config, &card, 3000, FALSE, NULL), GW_DECLINE_INSUFFICIENT_FUNDS);
  assert_declined (pay (f, &f->config, &card, 1001, TRUE, NULL), GW_DECLINE_INSUFFICIENT_FUNDS);
  assert_card_money (f, &card, 10000, 9000);
  assert_ok (pay (f, &instant, &card, 1000, FALSE, &d_hold));
  assert_card_money (f, &card, 10000, 10000);
  assert_declined (pay (f, &f->config, &card, 1, FALSE, NULL), GW_DECLINE_INSUFFICIENT_FUNDS);
  assert_card_money (f, &card, 10000, 10000);
  g_assert_cmpint (audit (f).pending_holds_total, ==, 10000);

  assert_ok (cancel (f, a_hold.id));
  g_assert_cmpint (cancel (f, a_hold.id).code, ==, GW_RESULT_ALREADY_RESOLVED);
  g_assert_cmpint (cancel (f, "pay_nonexistent").code, ==, GW_RESULT_NOT_FOUND);
  assert_card_money (f, &card, 10000, 7000);

  g_assert_cmpint (capture (f, b_hold.id, 3001, &payment).code, ==, GW_RESULT_AMOUNT_TOO_LARGE);
  gw_payment_clear (&payment);
  assert_card_money (f, &card, 10000, 7000);
  assert_ok (capture (f, b_hold.id, 2000, &captured));
  g_assert_cmpstr (captured.status, ==, "captured");
  g_assert_cmpint (captured.amount_captured, ==, 2000);
  g_assert_cmpint (captured.points, ==, 20);
  assert_card_money (f, &card, 8000, 4000);
  g_assert_cmpint (capture (f, b_hold.id, 0, &payment).code, ==, GW_RESULT_ALREADY_RESOLVED);
  gw_payment_clear (&payment);
  assert_card_money (f, &card, 8000, 4000);

  /* The sweep cancels the two authorizations whose window has passed, and only them. */
  g_assert_cmpint (expire_holds (f, &next_expiry), ==, 2);
  g_assert_cmpint (next_expiry, ==, 0);  /* no authorization left open */
  g_assert_cmpint (expire_holds (f, NULL), ==, 0);
  assert_card_money (f, &card, 8000, 0);
  get_payment (f, c_hold.id, &expired);
  g_assert_cmpstr (expired.status, ==, "canceled");
  /* kept, so that a late capture or cancel is told it expired */
  g_assert_cmpint (expired.capture_before, >, 0);
  g_assert_cmpint (capture (f, c_hold.id, 0, &payment).code, ==, GW_RESULT_PAYMENT_EXPIRED);
  gw_payment_clear (&payment);
  g_assert_cmpint (cancel (f, c_hold.id).code, ==, GW_RESULT_PAYMENT_EXPIRED);
  g_assert_cmpint (cancel (f, a_hold.id).code, ==, GW_RESULT_ALREADY_RESOLVED);
  g_assert_cmpint (expired.canceled_at, >, 0);

  /* Capturing an authorization past its window cancels it instead. */
  assert_ok (pay (f, &instant, &card, 500, FALSE, &e_hold));
  assert_card_money (f, &card, 8000, 500);
  g_assert_cmpint (capture (f, e_hold.id, 0, &payment).code, ==, GW_RESULT_PAYMENT_EXPIRED);
  g_assert_cmpstr (payment.status, ==, "canceled");
  assert_card_money (f, &card, 8000, 0);

  /* The sweep says when the next open authorization expires. */
  assert_ok (pay (f, &f->config, &card, 100, FALSE, &f_hold));
  g_assert_cmpint (expire_holds (f, &next_expiry), ==, 0);
  g_assert_cmpint (next_expiry, ==, f_hold.capture_before);
  assert_ok (cancel (f, f_hold.id));

  a = audit (f);
  g_assert_true (a.balanced);
  g_assert_cmpint (a.total_debits, ==, 10000 + 2000);
  g_assert_cmpint (a.cards_balance_total, ==, 8000);
  g_assert_cmpint (a.pending_holds_total, ==, 0);
}

/* 6. Five wrong passwords in a row lock the card; a right one resets the count. */
static void
test_lockout (Fixture       *f,
              gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  GwCredentials wrong;
  GwCredentials unknown;
  GwOutcome outcome;
  GwCard got;
  gint64 now;

  new_card (f, 10000, &card);
  gw_ledger_credentials (&f->config, card.number, "1357", &wrong);
  gw_ledger_credentials (&f->config, "9410000000000005", PASSWORD, &unknown);
  g_assert_true (unknown.well_formed);

  outcome = authenticate (f, &unknown);
  assert_declined (outcome, GW_DECLINE_INVALID_CREDENTIALS);
  g_assert_true (outcome.credential_failure);

  for (guint i = 0; i < 4; i++)
    assert_declined (authenticate (f, &wrong), GW_DECLINE_INVALID_CREDENTIALS);
  g_assert_cmpint (get_card (f, &card).failures, ==, 4);
  assert_ok (authenticate (f, &card.credentials));
  g_assert_cmpint (get_card (f, &card).failures, ==, 0);
  for (guint i = 0; i < 4; i++)
    assert_declined (authenticate (f, &wrong), GW_DECLINE_INVALID_CREDENTIALS);
  got = get_card (f, &card);
  g_assert_cmpint (got.failures, ==, 4);
  g_assert_cmpint (got.locked_until, ==, 0);
  assert_ok (authenticate (f, &card.credentials));

  for (guint i = 0; i < 4; i++)
    assert_declined (authenticate (f, &wrong), GW_DECLINE_INVALID_CREDENTIALS);
  now = g_get_real_time () / G_USEC_PER_SEC;
  outcome = authenticate (f, &wrong);
  assert_declined (outcome, GW_DECLINE_INVALID_CREDENTIALS);
  g_assert_true (outcome.credential_failure);
  got = get_card (f, &card);
  g_assert_cmpint (got.locked_until, >=, now + 60);
  g_assert_cmpint (got.locked_until, <=, g_get_real_time () / G_USEC_PER_SEC + 60);

  outcome = authenticate (f, &card.credentials);
  assert_declined (outcome, GW_DECLINE_CARD_LOCKED);
  g_assert_false (outcome.credential_failure);
  assert_declined (authenticate (f, &wrong), GW_DECLINE_CARD_LOCKED);
  assert_declined (pay (f, &f->config, &card, 1000, TRUE, NULL), GW_DECLINE_CARD_LOCKED);
  assert_card_money (f, &card, 10000, 0);
  g_assert_cmpint (get_card (f, &card).locked_until, ==, got.locked_until);
}

/* 7. The audit notices a stored balance or a journal line changed behind its back. */
static void
test_audit_detects_tampering (Fixture       *f,
                              gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  g_auto(TestCard) other = { 0 };
  g_auto(GwPayment) payment = { 0 };
  g_autofree char *sql = NULL;
  GwAudit a;

  new_card (f, 10000, &card);
  new_card (f, 20000, &other);
  assert_ok (pay (f, &f->config, &card, 2500, TRUE, NULL));
  assert_ok (pay (f, &f->config, &other, 7000, TRUE, &payment));
  assert_ok (pay (f, &f->config, &other, 1000, FALSE, NULL));
  assert_audit_balanced (f);

  sql = g_strdup_printf ("UPDATE accounts SET balance = balance + 1 WHERE id = %" G_GINT64_FORMAT,
                         card.account_id);
  exec_raw (f, sql);
  a = audit (f);
  g_assert_false (a.balanced);
  g_assert_cmpint (a.mismatched_accounts, ==, 1);
  g_assert_cmpint (a.unbalanced_entries, ==, 0);
  g_assert_cmpint (a.total_debits, ==, a.total_credits);
  g_clear_pointer (&sql, g_free);
  sql = g_strdup_printf ("UPDATE accounts SET balance = balance - 1 WHERE id = %" G_GINT64_FORMAT,
                         card.account_id);
  exec_raw (f, sql);
  assert_audit_balanced (f);

  /* A hold with no authorization behind it. */
  g_clear_pointer (&sql, g_free);
  sql = g_strdup_printf ("UPDATE accounts SET held = held + 1 WHERE id = %" G_GINT64_FORMAT,
                         other.account_id);
  exec_raw (f, sql);
  a = audit (f);
  g_assert_false (a.balanced);
  g_assert_cmpint (a.mismatched_accounts, ==, 1);
  g_clear_pointer (&sql, g_free);
  sql = g_strdup_printf ("UPDATE accounts SET held = held - 1 WHERE id = %" G_GINT64_FORMAT,
                         other.account_id);
  exec_raw (f, sql);
  assert_audit_balanced (f);

  /* The card's debit in the 7000 payment: its entry no longer balances, and
   * the card's stored balance no longer follows from its lines. */
  exec_raw (f, "UPDATE journal_lines SET debit = debit + 1 WHERE id ="
               " (SELECT l.id FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id"
               "  WHERE e.kind = 'payment' AND l.debit = 7000)");
  a = audit (f);
  g_assert_false (a.balanced);
  g_assert_cmpint (a.unbalanced_entries, ==, 1);
  g_assert_cmpint (a.mismatched_accounts, ==, 1);
  g_assert_cmpint (a.total_debits, ==, a.total_credits + 1);
  g_assert_cmpint (a.cards_balance_total, ==, 10000 - 2500 + 20000 - 7000);
}

/* 8. Points follow what was captured and what was refunded. */
static void
test_points (Fixture       *f,
             gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  g_auto(GwPayment) payment = { 0 };
  g_auto(GwPayment) hold = { 0 };
  g_auto(GwPayment) captured = { 0 };
  gint64 refunded = 0;

  new_card (f, 20000, &card);
  assert_ok (pay (f, &f->config, &card, 12345, TRUE, &payment));
  g_assert_cmpint (payment.points, ==, 123);
  g_assert_cmpint (get_card (f, &card).points, ==, 123);

  assert_ok (refund (f, payment.id, 5000, &refunded));
  g_assert_cmpint (refunded, ==, 5000);
  g_assert_cmpint (get_card (f, &card).points, ==, 73);
  assert_card_money (f, &card, 20000 - 12345 + 5000, 0);

  g_assert_cmpint (refund (f, payment.id, 7346, &refunded).code, ==, GW_RESULT_AMOUNT_TOO_LARGE);
  g_assert_cmpint (get_card (f, &card).points, ==, 73);
  assert_ok (refund (f, payment.id, 0, &refunded));
  g_assert_cmpint (refunded, ==, 7345);
  g_assert_cmpint (get_card (f, &card).points, ==, 0);
  assert_card_money (f, &card, 20000, 0);

  /* An authorization earns nothing until captured, then on the captured part only. */
  assert_ok (pay (f, &f->config, &card, 9999, FALSE, &hold));
  g_assert_cmpint (get_card (f, &card).points, ==, 0);
  assert_ok (capture (f, hold.id, 4321, &captured));
  g_assert_cmpint (captured.points, ==, 43);
  g_assert_cmpint (get_card (f, &card).points, ==, 43);
  assert_audit_balanced (f);
}

/* 8b. Refunds in pieces take back the points one refund of their sum would:
 * each piece below 100 won used to take none, so a payment refunded in
 * full that way kept all it had earned. */
static void
test_points_refunded_in_pieces (Fixture       *f,
                                gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  g_auto(GwPayment) payment = { 0 };
  gint64 refunded = 0;

  new_card (f, 20000, &card);
  assert_ok (pay (f, &f->config, &card, 10000, TRUE, &payment));
  g_assert_cmpint (get_card (f, &card).points, ==, 100);

  for (int i = 0; i < 3; i++)
    assert_ok (refund (f, payment.id, 99, &refunded));
  g_assert_cmpint (get_card (f, &card).points, ==, 100 * (10000 - 3 * 99) / 10000);

  assert_ok (refund (f, payment.id, 0, &refunded));
  g_assert_cmpint (refunded, ==, 10000 - 3 * 99);
  g_assert_cmpint (get_card (f, &card).points, ==, 0);
  assert_card_money (f, &card, 20000, 0);

  /* A rate changed since takes back what the payment earned, no more. */
  {
    g_auto(GwPayment) second = { 0 };

    f->config.points_rate = 100;
    assert_ok (pay (f, &f->config, &card, 5000, TRUE, &second));
    f->config.points_rate = 500;
    assert_ok (refund (f, second.id, 2500, &refunded));
    g_assert_cmpint (get_card (f, &card).points, ==, 25);
    assert_ok (refund (f, second.id, 0, &refunded));
    g_assert_cmpint (get_card (f, &card).points, ==, 0);
  }
  assert_audit_balanced (f);
}

/* 9. Sealed idempotency bodies are not stored in the clear, and open intact. */

#define SECRET_BODY "{\"number\":\"9410123412341234\",\"password_hint\":\"unit-secret-31415\"}"

typedef struct
{
  const char          *key;
  const char          *body;
  gboolean             seal;
  guint8               fingerprint[32];
  gboolean             found;
  GwIdempotencyRecord  record;
} IdempotencyStep;

/* What the store knows @key by, in the merchant's scope. */
static void
key_hash (const char *key,
          guint8      out[32])
{
  gw_keys_idempotency_hash (idempotency_key, MERCHANT_ID, key, out);
}

/* The same as an SQL blob literal. */
static char *
key_hash_sql (const char *key)
{
  guint8 hash[32];
  GString *sql = g_string_new ("X'");

  key_hash (key, hash);
  for (guint i = 0; i < 32; i++)
    g_string_append_printf (sql, "%02x", hash[i]);
  g_string_append_c (sql, '\'');
  return g_string_free (sql, FALSE);
}

static gboolean
apply_idempotency_put (GwTxn    *txn,
                       gpointer  data,
                       GError  **error)
{
  IdempotencyStep *step = data;
  guint8 hash[32];

  key_hash (step->key, hash);
  return txn->funcs->idempotency_put (txn, hash, step->fingerprint, 201, step->body,
                                      strlen (step->body), step->seal, error);
}

static gboolean
apply_idempotency_get (GwTxn    *txn,
                       gpointer  data,
                       GError  **error)
{
  IdempotencyStep *step = data;
  GError *local = NULL;
  guint8 hash[32];

  key_hash (step->key, hash);
  step->found = txn->funcs->idempotency_get (txn, hash, &step->record, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

static GBytes *
raw_body (Fixture    *f,
          const char *key,
          gboolean   *sealed)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  GBytes *body;
  guint8 hash[32];

  key_hash (key, hash);
  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT body, sealed FROM idempotency_keys"
                                           " WHERE key_hash = ?", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_blob (stmt, 1, hash, 32, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  body = g_bytes_new (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0));
  *sealed = sqlite3_column_int (stmt, 1);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return body;
}

static gboolean
bytes_contain (GBytes     *bytes,
               const char *needle)
{
  gsize len = 0;
  const void *data = g_bytes_get_data (bytes, &len);

  return memmem (data, len, needle, strlen (needle)) != NULL;
}

static void
idempotency_get (Fixture         *f,
                 IdempotencyStep *step,
                 GError         **error)
{
  g_autoptr(GError) local = run_txn (f->store, apply_idempotency_get, step);

  if (local != NULL)
    g_propagate_error (error, g_steal_pointer (&local));
}

static void
test_idempotency_sealed (Fixture       *f,
                         gconstpointer  user_data)
{
  IdempotencyStep sealed = { .key = "key-sealed", .body = SECRET_BODY, .seal = TRUE };
  IdempotencyStep plain = { .key = "key-plain", .body = SECRET_BODY, .seal = FALSE };
  IdempotencyStep got = { .key = "key-sealed" };
  IdempotencyStep moved = { .key = "key-moved" };
  IdempotencyStep missing = { .key = "key-missing" };
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *moved_hash = key_hash_sql ("key-moved");
  g_autofree char *sealed_hash = key_hash_sql ("key-sealed");
  g_autofree char *move = NULL;
  gboolean is_sealed = FALSE;
  gsize len = 0;

  memset (sealed.fingerprint, 0xa5, 32);
  memset (plain.fingerprint, 0x3c, 32);
  error = run_txn (f->store, apply_idempotency_put, &sealed);
  g_assert_no_error (error);
  error = run_txn (f->store, apply_idempotency_put, &plain);
  g_assert_no_error (error);

  raw = raw_body (f, sealed.key, &is_sealed);
  g_assert_true (is_sealed);
  g_assert_false (bytes_contain (raw, "9410123412341234"));
  g_assert_false (bytes_contain (raw, "unit-secret-31415"));
  g_assert_false (bytes_contain (raw, "number"));
  g_assert_cmpuint (g_bytes_get_size (raw), ==, strlen (SECRET_BODY) + 12 + 16);
  g_clear_pointer (&raw, g_bytes_unref);

  /* The control: the same body unsealed is there in the clear. */
  raw = raw_body (f, plain.key, &is_sealed);
  g_assert_false (is_sealed);
  g_assert_true (bytes_contain (raw, "unit-secret-31415"));

  idempotency_get (f, &got, &error);
  g_assert_no_error (error);
  g_assert_true (got.found);
  g_assert_cmpuint (got.record.status, ==, 201);
  g_assert_cmpmem (got.record.fingerprint, 32, sealed.fingerprint, 32);
  g_assert_cmpmem (g_bytes_get_data (got.record.body, &len), len, SECRET_BODY,
                   strlen (SECRET_BODY));
  g_clear_pointer (&got.record.body, g_bytes_unref);

  idempotency_get (f, &missing, &error);
  g_assert_no_error (error);
  g_assert_false (missing.found);

  /* A sealed body is bound to its key: moved to another key, it does not open. */
  move = g_strdup_printf ("INSERT INTO idempotency_keys (key_hash, fingerprint, status, body,"
                          " sealed, created) SELECT %s, fingerprint, status, body, sealed,"
                          " created FROM idempotency_keys WHERE key_hash = %s",
                          moved_hash, sealed_hash);
  exec_raw (f, move);
  idempotency_get (f, &moved, &error);
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_AUTH);
  g_assert_false (moved.found);
  g_clear_error (&error);

  /* A second record under the same key is refused, as a taken key (the
   * unique key's collision, not a generic failure). */
  error = run_txn (f->store, apply_idempotency_put, &sealed);
  g_assert_error (error, GW_STORE_ERROR, GW_STORE_ERROR_DUPLICATE);
  g_clear_error (&error);
  idempotency_get (f, &got, &error);
  g_assert_no_error (error);
  g_assert_true (got.found);
  g_assert_cmpmem (g_bytes_get_data (got.record.body, &len), len, SECRET_BODY,
                   strlen (SECRET_BODY));
  g_clear_pointer (&got.record.body, g_bytes_unref);
}

/* 10. Old idempotency records go, by the order they were written in. */

static void
put_record (Fixture    *f,
            const char *key,
            gint64      created)
{
  IdempotencyStep step = { .key = key, .body = "{}" };
  g_autoptr(GError) error = run_txn (f->store, apply_idempotency_put, &step);
  g_autofree char *hash = key_hash_sql (key);
  g_autofree char *sql = NULL;

  g_assert_no_error (error);
  sql = g_strdup_printf ("UPDATE idempotency_keys SET created = %" G_GINT64_FORMAT
                         " WHERE key_hash = %s", created, hash);
  exec_raw (f, sql);
}

static gboolean
has_record (Fixture    *f,
            const char *key)
{
  IdempotencyStep step = { .key = key };
  g_autoptr(GError) error = NULL;

  idempotency_get (f, &step, &error);
  g_assert_no_error (error);
  g_clear_pointer (&step.record.body, g_bytes_unref);
  return step.found;
}

static gboolean
apply_prune (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  return txn->funcs->idempotency_prune (txn, *(gint64 *) data, error);
}

static void
prune (Fixture *f,
       gint64   older_than)
{
  g_autoptr(GError) error = run_txn (f->store, apply_prune, &older_than);

  g_assert_no_error (error);
}

static void
test_idempotency_prune (Fixture       *f,
                        gconstpointer  user_data)
{
  put_record (f, "k1", 100);
  put_record (f, "k2", 200);
  put_record (f, "k3", 300);
  put_record (f, "k4", 150);          /* written after k3, with the clock set back */

  prune (f, 50);
  g_assert_true (has_record (f, "k1"));
  prune (f, 250);
  g_assert_false (has_record (f, "k1"));
  g_assert_false (has_record (f, "k2"));
  g_assert_true (has_record (f, "k3"));
  g_assert_true (has_record (f, "k4"));   /* kept a little longer, never less */

  prune (f, 400);                     /* all old: all go */
  g_assert_false (has_record (f, "k3"));
  g_assert_false (has_record (f, "k4"));
  prune (f, 400);                     /* and an empty table is no error */
  put_record (f, "k5", 500);
  prune (f, 400);
  g_assert_true (has_record (f, "k5"));
}

/* wallet_charges as it was before 018, with the key in the clear. */
/* What 028 and 029 added to charges, taken away so that they can run
 * again (029 replaced 028's index). */
#define CHARGES_BEFORE_028 \
  "DROP INDEX charges_voided_late;" \
  "DROP INDEX charges_by_created;" \
  "DROP INDEX charges_watch_next;" \
  "ALTER TABLE charges DROP COLUMN watch_next;" \
  "ALTER TABLE charges DROP COLUMN watch_until;" \
  "ALTER TABLE charges DROP COLUMN voided_late;"

#define WALLET_CHARGES_BEFORE_018 \
  "DROP TABLE wallet_charges;" \
  "CREATE TABLE wallet_charges (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE," \
  " user_id TEXT NOT NULL, funding_source_id TEXT NOT NULL, card_id TEXT NOT NULL," \
  " amount INTEGER NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL," \
  " idempotency_key TEXT, fingerprint BLOB, reference TEXT, decline_code TEXT," \
  " created INTEGER NOT NULL, settled INTEGER, UNIQUE (user_id, idempotency_key));" \
  "CREATE INDEX wallet_charges_open ON wallet_charges (created)" \
  " WHERE status IN ('pending', 'voiding');"

/* 11. Records written before 018 kept their scope and key in the clear,
 * and sealed their bodies with both as associated data: this is one, as
 * that code wrote it. */
static void
insert_old_record (sqlite3     *db,
                   const char  *key,
                   const char  *body,
                   gboolean     seal,
                   guint8       fill)
{
  g_autofree char *aad = g_strconcat ("idempotency\n", MERCHANT_ID, "\n", key, NULL);
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3_stmt *stmt = NULL;
  guint8 fingerprint[32];

  memset (fingerprint, fill, sizeof fingerprint);
  if (seal)
    {
      sealed = onepin_key_seal (seal_key, body, strlen (body), aad, strlen (aad), &error);
      g_assert_no_error (error);
    }
  else
    sealed = g_bytes_new (body, strlen (body));
  g_assert_cmpint (sqlite3_prepare_v2 (db, "INSERT INTO idempotency_keys (scope, key, fingerprint,"
                                           " status, body, sealed, created)"
                                           " VALUES (?, ?, ?, 201, ?, ?, 1000)", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, MERCHANT_ID, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, key, -1, SQLITE_STATIC);
  sqlite3_bind_blob (stmt, 3, fingerprint, 32, SQLITE_STATIC);
  sqlite3_bind_blob (stmt, 4, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed),
                     SQLITE_STATIC);
  sqlite3_bind_int (stmt, 5, seal);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
}

static void
assert_record (Fixture    *f,
               const char *key,
               const char *body,
               guint8      fill)
{
  IdempotencyStep got = { .key = key };
  g_autoptr(GError) error = NULL;
  guint8 fingerprint[32];
  gsize len = 0;

  memset (fingerprint, fill, sizeof fingerprint);
  idempotency_get (f, &got, &error);
  g_assert_no_error (error);
  g_assert_true (got.found);
  g_assert_cmpuint (got.record.status, ==, 201);
  g_assert_cmpmem (got.record.fingerprint, 32, fingerprint, 32);
  g_assert_cmpmem (g_bytes_get_data (got.record.body, &len), len, body, strlen (body));
  g_clear_pointer (&got.record.body, g_bytes_unref);
}

static void
reopen (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  if (f->store != NULL)
    gw_store_shutdown (GW_STORE (f->store));
  g_clear_object (&f->store);
  f->store = gw_store_sqlite_new (f->db_path, seal_key, idempotency_key, lookup_key, &error);
  g_assert_no_error (error);
}

/* A database from before 010_write_path.sql keeps its idempotency
 * records, whose keys stay unique, and its payments, whose status is still
 * checked. */
static void
test_write_path_migration (Fixture       *f,
                           gconstpointer  user_data)
{
  IdempotencyStep record = { .key = "key-before", .body = SECRET_BODY, .seal = TRUE };
  g_auto(TestCard) card = { 0 };
  g_auto(GwPayment) held = { 0 };
  g_auto(GwPayment) again = { 0 };
  g_auto(GwPayment) captured = { 0 };
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;
  char *message = NULL;

  new_card (f, 10000, &card);
  assert_ok (pay (f, &f->config, &card, 3000, FALSE, &held));
  memset (record.fingerprint, 0x42, 32);
  gw_store_shutdown (GW_STORE (f->store));
  g_clear_object (&f->store);
  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
    "DROP TABLE idempotency_keys;"
    "CREATE TABLE idempotency_keys (scope TEXT NOT NULL, key TEXT NOT NULL,"
    " fingerprint BLOB NOT NULL, status INTEGER NOT NULL, body BLOB NOT NULL,"
    " sealed INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
    " PRIMARY KEY (scope, key)) WITHOUT ROWID;"
    "CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created);"
    "CREATE TABLE payments_old AS SELECT * FROM payments; DROP TABLE payments;"
    "CREATE TABLE payments (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " merchant_id TEXT NOT NULL REFERENCES merchants (id),"
    " card_id TEXT NOT NULL REFERENCES cards (id),"
    " status TEXT NOT NULL CHECK (status IN ('authorized', 'captured', 'canceled')),"
    " amount INTEGER NOT NULL CHECK (amount > 0), amount_captured INTEGER NOT NULL DEFAULT 0,"
    " amount_refunded INTEGER NOT NULL DEFAULT 0, currency TEXT NOT NULL,"
    " order_id TEXT NOT NULL, description TEXT, channel TEXT NOT NULL,"
    " created INTEGER NOT NULL, capture_before INTEGER, canceled_at INTEGER,"
    " points INTEGER NOT NULL DEFAULT 0, CHECK (amount_captured BETWEEN 0 AND amount),"
    " CHECK (amount_refunded BETWEEN 0 AND amount_captured));"
    "INSERT INTO payments SELECT * FROM payments_old; DROP TABLE payments_old;"
    "CREATE INDEX payments_by_merchant ON payments (merchant_id, seq);"
    "CREATE INDEX payments_open_holds ON payments (capture_before)"
    " WHERE status = 'authorized';"
    WALLET_CHARGES_BEFORE_018
    "DELETE FROM schema_migrations WHERE version IN (10, 18);", NULL, NULL, NULL), ==, SQLITE_OK);
  /* A record written under that shape (sealed with its scope and key). */
  insert_old_record (db, record.key, SECRET_BODY, TRUE, 0x42);
  sqlite3_close (db);

  /* 010, then 018, which keys it. */
  reopen (f);
  assert_record (f, record.key, SECRET_BODY, 0x42);
  error = run_txn (f->store, apply_idempotency_put, &record);
  g_assert_error (error, GW_STORE_ERROR, GW_STORE_ERROR_DUPLICATE);
  g_clear_error (&error);

  /* The payment is there, still held, and capturable; a status outside
   * the three is refused as before. */
  get_payment (f, held.id, &again);
  g_assert_cmpstr (again.status, ==, "authorized");
  assert_card_money (f, &card, 10000, 3000);
  assert_ok (capture (f, held.id, 2000, &captured));
  assert_card_money (f, &card, 8000, 0);
  assert_audit_balanced (f);
  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "UPDATE payments SET status = 'refunded'", NULL, NULL,
                                 &message), ==, SQLITE_CONSTRAINT);
  g_assert_nonnull (strstr (message, "CHECK constraint failed"));
  sqlite3_free (message);
  sqlite3_close (db);

  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  {
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT COUNT(*) FROM sqlite_master WHERE name IN"
                                             " ('idempotency_keys_by_age',"
                                             "  'idempotency_records', 'payments_new')",
                                     -1, &stmt, NULL),
                     ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 0);
    sqlite3_finalize (stmt);
  }
  sqlite3_close (db);
}

/* 12. 018 keys what a database from before it kept of Idempotency-Key
 * values: records (plain and sealed) and wallet charges by their key,
 * recharges and payouts by a bare SHA-256 of it. Afterwards each is found
 * by its keyed hash, and no key is left in the file. */

#define OLD_KEY_PLAIN  "order-4711/jane.doe@example.com"
#define OLD_KEY_SEALED "order-4712/john.roe@example.com"
#define OLD_KEY_BROKEN "order-4713/broken@example.com"
#define OLD_KEY_WALLET "wallet-4714/jane.doe@example.com"

typedef struct
{
  const char     *user_id;
  guint8          key_hash[32];
  gboolean        found;
  GwWalletCharge  charge;
} WalletLookup;

static gboolean
apply_wallet_lookup (GwTxn    *txn,
                     gpointer  data,
                     GError  **error)
{
  const GwWalletStoreFuncs *wallet = gw_txn_extension (txn, "wallet");
  WalletLookup *lookup = data;
  GError *local = NULL;

  lookup->found = wallet->charge_by_key (txn, lookup->user_id, lookup->key_hash, &lookup->charge,
                                         &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

/* The database as 017 left it, with what the code of then wrote. */
static void
make_pre_018 (Fixture      *f,
              const guint8  recharge_sha[32],
              const guint8  payout_sha[32])
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  gw_store_shutdown (GW_STORE (f->store));
  g_clear_object (&f->store);
  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
    "DROP TABLE idempotency_keys;"
    "CREATE TABLE idempotency_keys (id INTEGER PRIMARY KEY, scope TEXT NOT NULL,"
    " key TEXT NOT NULL, fingerprint BLOB NOT NULL, status INTEGER NOT NULL,"
    " body BLOB NOT NULL, sealed INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
    " UNIQUE (scope, key));"
    WALLET_CHARGES_BEFORE_018
    "INSERT INTO wallet_charges (id, user_id, funding_source_id, card_id, amount, currency,"
    " status, idempotency_key, fingerprint, created) VALUES ('wch_old', 'usr_old', 'fs_old',"
    " 'card_old', 10000, 'krw', 'pending', '" OLD_KEY_WALLET "', zeroblob (32), 1000);"
    "INSERT INTO wallet_charges (id, user_id, funding_source_id, card_id, amount, currency,"
    " status, created) VALUES ('wch_keyless', 'usr_old', 'fs_old', 'card_old', 10000, 'krw',"
    " 'failed', 1000);"
    /* 026, 028 and 029 add columns to the wallet_charges 018 makes: they
     * run again, and 028's and 029's to charges go for that, and 030's
     * indexes (one on voided_late) with them. */
    CHARGES_BEFORE_028
    "DELETE FROM schema_migrations WHERE version IN (18, 26, 28, 29, 30);", NULL, NULL, NULL),
                   ==, SQLITE_OK);
  insert_old_record (db, OLD_KEY_PLAIN, "{\"plain\":true}", FALSE, 0x11);
  insert_old_record (db, OLD_KEY_SEALED, SECRET_BODY, TRUE, 0x22);
  insert_old_record (db, OLD_KEY_BROKEN, SECRET_BODY, TRUE, 0x33);
  /* A body that never opened (tampered with) before 018 either. */
  g_assert_cmpint (sqlite3_exec (db, "UPDATE idempotency_keys SET body = zeroblob (80)"
                                     " WHERE key = '" OLD_KEY_BROKEN "'", NULL, NULL, NULL),
                   ==, SQLITE_OK);

  g_assert_cmpint (sqlite3_prepare_v2 (db,
    "INSERT INTO recharges (id, card_id, amount, currency, status, charge_id, request_key,"
    " created) VALUES ('rch_old', 'card_old', 10000, 'krw', 'failed', 'chg_old', ?, 1000)",
    -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_blob (stmt, 1, recharge_sha, 32, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (db,
    "INSERT INTO payouts (id, card_id, amount, currency, status, bank_code, account_last4,"
    " created, updated, request_key) VALUES ('po_old', 'card_old', 10000, 'krw', 'failed',"
    " '004', '1234', 1000, 1000, ?)", -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_blob (stmt, 1, payout_sha, 32, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

static void
assert_request_key (Fixture      *f,
                    const char   *sql,
                    const guint8  sha[32])
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  guint8 keyed[32];

  gw_keys_request_key (idempotency_key, sha, keyed);
  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpmem (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0), keyed, 32);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

/* No key, as text, is in the database file or its WAL. */
static void
assert_no_old_keys (Fixture *f)
{
  const char *keys[] = { OLD_KEY_PLAIN, OLD_KEY_SEALED, OLD_KEY_BROKEN, OLD_KEY_WALLET };
  const char *suffixes[] = { "", "-wal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *path = g_strconcat (f->db_path, suffixes[i], NULL);
      g_autofree char *data = NULL;
      gsize len = 0;

      if (!g_file_get_contents (path, &data, &len, NULL))
        continue;
      for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
        if (memmem (data, len, keys[k], strlen (keys[k])) != NULL)
          g_error ("%s holds the key %s", path, keys[k]);
    }
}

static void
test_idempotency_key_hash_migration (Fixture       *f,
                                     gconstpointer  user_data)
{
  IdempotencyStep broken = { .key = OLD_KEY_BROKEN };
  WalletLookup wallet = { .user_id = "usr_old" };
  g_autoptr(GError) error = NULL;
  guint8 recharge_sha[32], payout_sha[32];

  memset (recharge_sha, 0x5c, sizeof recharge_sha);
  memset (payout_sha, 0x6d, sizeof payout_sha);
  make_pre_018 (f, recharge_sha, payout_sha);
  g_test_expect_message ("onepin-gateway", G_LOG_LEVEL_WARNING, "*sealed body does not open*");
  reopen (f);
  g_test_assert_expected_messages ();

  assert_record (f, OLD_KEY_PLAIN, "{\"plain\":true}", 0x11);
  assert_record (f, OLD_KEY_SEALED, SECRET_BODY, 0x22);
  /* As before 018: the lookup fails, rather than answering anything. */
  idempotency_get (f, &broken, &error);
  g_assert_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_AUTH);
  g_clear_error (&error);

  gw_keys_idempotency_hash (idempotency_key, "user:usr_old", OLD_KEY_WALLET, wallet.key_hash);
  error = run_txn (f->store, apply_wallet_lookup, &wallet);
  g_assert_no_error (error);
  g_assert_true (wallet.found);
  g_assert_cmpstr (wallet.charge.id, ==, "wch_old");
  g_assert_cmpint (wallet.charge.sent, ==, 1000);   /* 026: sent when created */
  g_assert_true (wallet.charge.keyed);
  gw_wallet_charge_clear (&wallet.charge);

  assert_request_key (f, "SELECT request_key FROM recharges WHERE id = 'rch_old'", recharge_sha);
  assert_request_key (f, "SELECT request_key FROM payouts WHERE id = 'po_old'", payout_sha);

  /* New records go after the converted ones, and the old keys are gone. */
  put_record (f, "key-after-018", 2000);
  g_assert_true (has_record (f, "key-after-018"));
  assert_no_old_keys (f);
  reopen (f);
  assert_no_old_keys (f);
}

/* Lines registered to a wallet's card with the number and password
 * every mall it paid at saw go with 021; other cards keep theirs, and a
 * card's lines are found by its id. */
static void
test_calling_numbers_migration (Fixture       *f,
                                gconstpointer  user_data)
{
  g_auto(TestCard) wallet_card = { 0 };
  g_auto(TestCard) card = { 0 };
  g_autofree char *sql = NULL;
  g_autofree char *count_wallet = NULL;
  g_autofree char *count_card = NULL;
  sqlite3 *db = NULL;

  new_card (f, 10000, &wallet_card);
  new_card (f, 10000, &card);
  gw_store_shutdown (GW_STORE (f->store));
  g_clear_object (&f->store);
  sql = g_strdup_printf (
    "DROP INDEX phone_calling_numbers_by_card;"
    "DELETE FROM schema_migrations WHERE version = 21;"
    "INSERT INTO wallet_users (id, login_id, password_salt, password_hash, password_iterations,"
    " profile_sealed, card_id, card_cvc_mac, created) VALUES"
    " ('usr_card', 'card', zeroblob (16), zeroblob (32), 1, zeroblob (1), '%s', zeroblob (32),"
    " 1000),"
    " ('usr_none', 'none', zeroblob (16), zeroblob (32), 1, zeroblob (1), NULL, NULL, 1000);"
    "INSERT INTO phone_calling_numbers (lookup, card_id, last4, created) VALUES"
    " (randomblob (32), '%s', '1111', 1000), (randomblob (32), '%s', '2222', 1000),"
    " (randomblob (32), '%s', '3333', 1000);",
    wallet_card.id, wallet_card.id, wallet_card.id, card.id);
  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  reopen (f);
  count_wallet = g_strdup_printf ("SELECT COUNT(*) FROM phone_calling_numbers"
                                  " WHERE card_id = '%s'", wallet_card.id);
  count_card = g_strdup_printf ("SELECT COUNT(*) FROM phone_calling_numbers"
                                " WHERE card_id = '%s'", card.id);
  g_assert_cmpint (db_int (f, count_wallet), ==, 0);
  g_assert_cmpint (db_int (f, count_card), ==, 1);
  g_assert_cmpint (db_int (f, "SELECT COUNT(*) FROM sqlite_master"
                              " WHERE name = 'phone_calling_numbers_by_card'"), ==, 1);
}

/* 13. A commit larger than the WAL's write buffer (gw-store-sqlite-vfs.c
 * writes it out in pieces) is all there for a reader. */
static void
test_store_large_commit (Fixture       *f,
                         gconstpointer  user_data)
{
  g_autoptr(GArray) cards = issue (f, 3000, 5000);
  TestCard last = { 0 };
  GwAudit a = audit (f);

  g_assert_cmpuint (cards->len, ==, 3000);
  g_assert_true (a.balanced);
  g_assert_cmpint (a.cards_balance_total, ==, 3000 * 5000);
  g_strlcpy (last.id, g_array_index (cards, GwIssuedCard, 2999).id, sizeof last.id);
  g_assert_cmpint (get_card (f, &last).balance, ==, 5000);
}

/* 12. What is submitted while the store is plugged waits, then goes to the
 * writer together and commits as one batch. */

typedef struct
{
  guint applied;
  guint done;
  guint batches[8];
  guint n_batches;
} PlugCounts;

static gboolean
apply_count (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  g_atomic_int_inc (&((PlugCounts *) data)->applied);
  return TRUE;
}

static void
done_count (gpointer      data,
            const GError *error)
{
  g_assert_no_error (error);
  ((PlugCounts *) data)->done++;
}

static void
observe_batch (guint    size,
               gdouble  seconds,
               gpointer data)
{
  PlugCounts *counts = data;

  if (counts->n_batches < G_N_ELEMENTS (counts->batches))
    counts->batches[counts->n_batches++] = size;
}

static void
test_store_plug (Fixture       *f,
                 gconstpointer  user_data)
{
  PlugCounts counts = { 0 };

  gw_store_sqlite_set_commit_observer (f->store, observe_batch, &counts);
  g_assert_true (g_main_context_acquire (NULL));
  gw_store_plug (GW_STORE (f->store));
  for (guint i = 0; i < 5; i++)
    gw_store_submit (GW_STORE (f->store), apply_count, done_count, &counts);
  g_usleep (100 * 1000);
  g_assert_cmpuint (g_atomic_int_get (&counts.applied), ==, 0);
  gw_store_unplug (GW_STORE (f->store));
  while (counts.done < 5)
    g_main_context_iteration (NULL, TRUE);
  g_main_context_release (NULL);

  g_assert_cmpuint (counts.applied, ==, 5);
  g_assert_cmpuint (counts.n_batches, ==, 1);
  g_assert_cmpuint (counts.batches[0], ==, 5);
  gw_store_sqlite_set_commit_observer (f->store, NULL, NULL);
}

/* 15. Repeatable operations share one savepoint; when one of them fails
 * after writing, the rest are applied again, each exactly once in the
 * end, and only the failed one's writes are gone. */

typedef struct
{
  Step      step;
  gboolean  fail;
  guint     calls;
} RepeatStep;

static gboolean
apply_repeatable_pay (GwTxn    *txn,
                      gpointer  data,
                      GError  **error)
{
  RepeatStep *op = data;

  op->calls++;
  gw_payment_clear (&op->step.payment);
  if (!apply_pay (txn, &op->step, error))
    return FALSE;
  if (op->fail)
    return g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED, "failed after writing"),
           FALSE;
  return TRUE;
}

static void
repeat_done (gpointer      data,
             const GError *error)
{
  RepeatStep *op = data;

  op->step.inner_error = error ? g_error_copy (error) : NULL;
  op->step.found = TRUE;   /* answered */
}

static void
test_store_repeatable_run (Fixture       *f,
                           gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  RepeatStep ops[3] = { 0 };
  PlugCounts counts = { 0 };

  new_card (f, 10000, &card);
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      ops[i].step.config = &f->config;
      ops[i].step.credentials = &card.credentials;
      ops[i].step.request = (GwPayRequest) {
        .merchant_id = MERCHANT_ID, .amount = 1000 * (i + 1), .currency = CURRENCY,
        .order_id = "order-1", .channel = "internet", .capture = TRUE,
      };
    }
  ops[1].fail = TRUE;

  gw_store_sqlite_set_commit_observer (f->store, observe_batch, &counts);
  g_assert_true (g_main_context_acquire (NULL));
  gw_store_plug (GW_STORE (f->store));
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    gw_store_submit_full (GW_STORE (f->store), apply_repeatable_pay, repeat_done, &ops[i],
                          GW_STORE_OP_REPEATABLE);
  gw_store_unplug (GW_STORE (f->store));
  while (!ops[0].step.found || !ops[1].step.found || !ops[2].step.found)
    g_main_context_iteration (NULL, TRUE);
  g_main_context_release (NULL);
  gw_store_sqlite_set_commit_observer (f->store, NULL, NULL);

  g_assert_cmpuint (counts.n_batches, ==, 1);
  g_assert_cmpuint (counts.batches[0], ==, 3);
  g_assert_cmpuint (ops[0].calls, ==, 2);
  g_assert_cmpuint (ops[1].calls, ==, 2);
  g_assert_cmpuint (ops[2].calls, ==, 1);
  g_assert_no_error (ops[0].step.inner_error);
  g_assert_error (ops[1].step.inner_error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED);
  g_assert_no_error (ops[2].step.inner_error);
  assert_ok (ops[0].step.outcome);
  assert_ok (ops[2].step.outcome);

  /* 1,000 and 3,000 were paid, once each; the 2,000 is not there. */
  assert_card_money (f, &card, 10000 - 1000 - 3000, 0);
  assert_audit_balanced (f);
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      g_auto(Step) stored = { .payment_id = ops[i].step.payment.id };

      read_ok (f, apply_payment_get, &stored);
      g_assert_true (stored.found == (i != 1));
    }
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    step_clear (&ops[i].step);
}

/* 16. A claim whose lease ran out, and which another claim overtook, can no
 * longer book a retry or a give-up over the newer claim's. */

typedef struct
{
  gint64      lease;
  GPtrArray  *claimed;
  gint64      attempt;
  gboolean    give_up;
  gint64      next_attempt;
  gint64      attempts;
  gboolean    failed;
} OutboxStep;

static gboolean
apply_outbox_put (GwTxn    *txn,
                  gpointer  data,
                  GError  **error)
{
  return txn->funcs->outbox_put (txn, "email", NULL, "{}", error);
}

static gboolean
apply_outbox_claim (GwTxn    *txn,
                    gpointer  data,
                    GError  **error)
{
  OutboxStep *step = data;
  const GwOutboxFuncs *outbox = gw_txn_extension (txn, GW_OUTBOX_STORE);

  g_clear_pointer (&step->claimed, g_ptr_array_unref);
  step->claimed = outbox->claim (txn, "email", step->lease, 0, 10, error);
  return step->claimed != NULL;
}

static gboolean
apply_outbox_settle (GwTxn    *txn,
                     gpointer  data,
                     GError  **error)
{
  OutboxStep *step = data;
  const GwOutboxFuncs *outbox = gw_txn_extension (txn, GW_OUTBOX_STORE);
  GwOutboxMessage *message = g_ptr_array_index (step->claimed, 0);

  if (step->give_up)
    return outbox->give_up (txn, message->id, step->attempt, "stale", error);
  return outbox->retry (txn, message->id, step->attempt, 4102444800, "stale", error);
}

static void
outbox_row (Fixture    *f,
            OutboxStep *step)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT next_attempt, attempts, failed_at IS NOT NULL"
                                       " FROM outbox WHERE type = 'email'", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  step->next_attempt = sqlite3_column_int64 (stmt, 0);
  step->attempts = sqlite3_column_int64 (stmt, 1);
  step->failed = sqlite3_column_int (stmt, 2);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

static void
test_outbox_stale_settle (Fixture       *f,
                          gconstpointer  user_data)
{
  OutboxStep step = { .lease = 0 };
  g_autoptr(GError) error = NULL;

  error = run_txn (f->store, apply_outbox_put, &step);
  g_assert_no_error (error);
  /* A lease of 0: due again at once, as if the first sender had hung. */
  error = run_txn (f->store, apply_outbox_claim, &step);
  g_assert_no_error (error);
  g_assert_cmpuint (step.claimed->len, ==, 1);
  error = run_txn (f->store, apply_outbox_claim, &step);
  g_assert_no_error (error);
  g_assert_cmpuint (step.claimed->len, ==, 1);
  g_assert_cmpint (((GwOutboxMessage *) g_ptr_array_index (step.claimed, 0))->attempts, ==, 2);

  /* The first claim's outcome comes last: it changes nothing. */
  step.attempt = 1;
  error = run_txn (f->store, apply_outbox_settle, &step);
  g_assert_no_error (error);
  step.give_up = TRUE;
  error = run_txn (f->store, apply_outbox_settle, &step);
  g_assert_no_error (error);
  outbox_row (f, &step);
  g_assert_cmpint (step.attempts, ==, 2);
  g_assert_cmpint (step.next_attempt, <, 4102444800);
  g_assert_false (step.failed);

  /* The current claim's does. */
  step.attempt = 2;
  step.give_up = FALSE;
  error = run_txn (f->store, apply_outbox_settle, &step);
  g_assert_no_error (error);
  outbox_row (f, &step);
  g_assert_cmpint (step.next_attempt, ==, 4102444800);
  step.give_up = TRUE;
  error = run_txn (f->store, apply_outbox_settle, &step);
  g_assert_no_error (error);
  outbox_row (f, &step);
  g_assert_true (step.failed);
  g_clear_pointer (&step.claimed, g_ptr_array_unref);
}

/* 17. When SQLite rolls the batch's transaction back by itself (as after a
 * full disk), nothing after it may run, and commit, on its own: every
 * operation of the batch is told it failed, and none of it is there. */

static gboolean
apply_lose_transaction (GwTxn    *txn,
                        gpointer  data,
                        GError  **error)
{
  RepeatStep *op = data;
  sqlite3_stmt *stmt = gw_sqlite_prepare (txn, "ROLLBACK", error);

  op->calls++;
  if (stmt == NULL || !gw_sqlite_step_done (txn, stmt, error))
    return FALSE;
  return g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED, "disk full"), FALSE;
}

static void
lose_transaction (Fixture        *f,
                  const TestCard *card,
                  GwStoreOpFlags  middle)
{
  RepeatStep ops[3] = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      ops[i].step.config = &f->config;
      ops[i].step.credentials = &card->credentials;
      ops[i].step.request = (GwPayRequest) {
        .merchant_id = MERCHANT_ID, .amount = 1000 * (i + 1), .currency = CURRENCY,
        .order_id = "order-1", .channel = "internet", .capture = TRUE,
      };
    }

  g_test_expect_message ("onepin-gateway", G_LOG_LEVEL_WARNING, "*transaction was rolled back*");
  g_assert_true (g_main_context_acquire (NULL));
  gw_store_plug (GW_STORE (f->store));
  gw_store_submit_full (GW_STORE (f->store), apply_repeatable_pay, repeat_done, &ops[0],
                        GW_STORE_OP_REPEATABLE);
  gw_store_submit_full (GW_STORE (f->store), apply_lose_transaction, repeat_done, &ops[1],
                        middle);
  gw_store_submit_full (GW_STORE (f->store), apply_repeatable_pay, repeat_done, &ops[2],
                        GW_STORE_OP_REPEATABLE);
  gw_store_unplug (GW_STORE (f->store));
  while (!ops[0].step.found || !ops[1].step.found || !ops[2].step.found)
    g_main_context_iteration (NULL, TRUE);
  g_main_context_release (NULL);
  g_test_assert_expected_messages ();

  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      g_assert_nonnull (ops[i].step.inner_error);
      step_clear (&ops[i].step);
    }
  g_assert_cmpuint (ops[1].calls, ==, 1);
  g_assert_cmpuint (ops[2].calls, ==, 0);
}

static void
test_store_lost_transaction (Fixture       *f,
                             gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };

  new_card (f, 10000, &card);
  lose_transaction (f, &card, GW_STORE_OP_NONE);
  assert_card_money (f, &card, 10000, 0);
  lose_transaction (f, &card, GW_STORE_OP_REPEATABLE);
  assert_card_money (f, &card, 10000, 0);
  assert_audit_balanced (f);
  /* and the store goes on */
  assert_ok (pay (f, &f->config, &card, 500, TRUE, NULL));
  assert_card_money (f, &card, 9500, 0);
}

static OnepinKey *
fixed_key (guint8   fill,
           gboolean aes)
{
  g_autoptr(GError) error = NULL;
  guint8 raw[32];
  OnepinKey *key;

  for (guint i = 0; i < sizeof raw; i++)
    raw[i] = fill + i;
  key = aes ? onepin_key_new_aes (raw, sizeof raw, &error)
            : onepin_key_new_hmac (raw, sizeof raw, &error);
  g_assert_no_error (error);
  return key;
}

/* Writes that never pause: the passive checkpoints chase the writer, and
 * the WAL only starts over once a round has left little and holds the
 * writer off for it. Without that, it grew far past the length that asks
 * for a checkpoint, and stayed there for most commits. 6,000 operations of
 * 40 rows, 16 in flight, so that the writer always has the next batch
 * waiting. */
#define FLOOD_OPS      6000
#define FLOOD_INFLIGHT 16
#define FLOOD_ROWS     40

typedef struct
{
  GwStoreSqlite *store;
  guint          submitted;
  guint          done;
  guint          total;
  GError        *error;
} Flood;

static gboolean
flood_apply (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  for (int i = 0; i < FLOOD_ROWS; i++)
    if (txn->funcs->account_insert (txn, "card", -1, CURRENCY, 0, error) == 0)
      return FALSE;
  return TRUE;
}

static void
flood_done (gpointer      data,
            const GError *error)
{
  Flood *flood = data;

  flood->done++;
  if (error != NULL && flood->error == NULL)
    flood->error = g_error_copy (error);
  if (flood->submitted < flood->total)
    {
      flood->submitted++;
      gw_store_submit (GW_STORE (flood->store), flood_apply, flood_done, flood);
    }
}

static void
test_store_wal_starts_over (Fixture       *f,
                            gconstpointer  data)
{
  Flood flood = { f->store, 0, 0, FLOOD_OPS, NULL };
  int commits, long_wal;

  gw_store_sqlite_set_checkpoint_frames (f->store, 400);
  for (; flood.submitted < FLOOD_INFLIGHT; flood.submitted++)
    gw_store_submit (GW_STORE (f->store), flood_apply, flood_done, &flood);
  while (flood.done < flood.total)
    g_main_context_iteration (NULL, TRUE);

  g_assert_no_error (flood.error);
  gw_store_sqlite_wal_commits (f->store, &commits, &long_wal);
  g_test_message ("%d commits, %d of them with the WAL over 800 frames", commits, long_wal);
  g_assert_cmpint (commits, >, 100);
  /* A starved checkpointer may fall behind for a while (up to 7% of the
   * commits seen here), not for good (75-80% without the restart round). */
  g_assert_cmpint (long_wal, <, commits / 4);
}

/* A reader that keeps a snapshot open while the WAL is over the threshold
 * keeps frames from being copied; the restart round, which holds the writer
 * off, would only wait for it (20 ms and more, every commit), so it is not
 * tried then. Once the reader is gone, it is. The rounds are counted, not
 * timed: a commit's time says more about the disk and the machine's load
 * (75 ms under ASan in CI) than about the checkpointer. */
static void
note_slowest (guint    batch_size,
              gdouble  seconds,
              gpointer user_data)
{
  gdouble *slowest = user_data;

  *slowest = MAX (*slowest, seconds);
}

/* Waits (at most 10 s) until the checkpointer has done more rounds the
 * writer asked for than @asked (or, with @restart, tried more restart rounds
 * than @restarts), and gives the counts then. */
static void
wait_for_round (GwStoreSqlite *store,
                gboolean       restart,
                int           *asked,
                int           *restarts)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  int then_asked = *asked, then_restarts = *restarts;

  for (;;)
    {
      gw_store_sqlite_checkpoint_rounds (store, asked, restarts);
      if ((restart ? *restarts > then_restarts : *asked > then_asked) ||
          g_get_monotonic_time () > deadline)
        break;
      g_usleep (1000);
    }
  if (restart)
    g_assert_cmpint (*restarts, >, then_restarts);
  else
    g_assert_cmpint (*asked, >, then_asked);
}

static void
test_store_reader_pins_wal (Fixture       *f,
                            gconstpointer  data)
{
  Flood flood = { f->store, 0, 0, 200, NULL };
  sqlite3 *reader = NULL;
  gdouble slowest = 0;
  int asked, restarts, before;

  /* a long WAL, with no round asked for yet */
  gw_store_sqlite_set_checkpoint_frames (f->store, G_MAXINT / 4);
  for (; flood.submitted < FLOOD_INFLIGHT; flood.submitted++)
    gw_store_submit (GW_STORE (f->store), flood_apply, flood_done, &flood);
  while (flood.done < flood.total)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (flood.error);

  /* a snapshot of now, held while the writer goes on and asks for rounds */
  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &reader, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (reader, "BEGIN; SELECT count(*) FROM accounts;", NULL, NULL, NULL),
                   ==, SQLITE_OK);
  gw_store_sqlite_checkpoint_rounds (f->store, &asked, &restarts);
  /* Every commit asks: the checkpointer's idle round may have copied the
   * whole WAL, and SQLite started it over, so its length says nothing. */
  gw_store_sqlite_set_checkpoint_frames (f->store, 1);
  gw_store_sqlite_set_commit_observer (f->store, note_slowest, &slowest);
  for (int i = 0; i < 20; i++)
    g_assert_no_error (run_txn (f->store, flood_apply, NULL));
  gw_store_sqlite_set_commit_observer (f->store, NULL, NULL);
  before = restarts;
  wait_for_round (f->store, FALSE, &asked, &restarts);
  g_assert_cmpint (restarts, ==, before);
  g_test_message ("the slowest batch: %.1f ms", slowest * 1000);

  /* the reader gone, the next round the writer asks for starts over */
  sqlite3_exec (reader, "COMMIT", NULL, NULL, NULL);
  sqlite3_close (reader);
  g_assert_no_error (run_txn (f->store, flood_apply, NULL));
  wait_for_round (f->store, TRUE, &asked, &restarts);
}

/* An HMAC that NSS refuses (here: a key that is not an HMAC key) stops the
 * gateway rather than hash every scope's key to the same zeros. */
static void
test_idempotency_hash_refused (void)
{
  if (g_test_subprocess ())
    {
      guint8 out[32];

      gw_keys_idempotency_hash (seal_key, "merchant:mer_a", "k1", out);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*Cannot compute an HMAC*");
}

/* Keys made in sequence share their hash's first 8 bytes (and so a stretch
 * of the unique index); the rest, and keys that differ earlier, do not. */
static void
test_idempotency_hash_stem (void)
{
  guint8 a[32], b[32], c[32], d[32], e[32];

  gw_keys_idempotency_hash (lookup_key, "merchant:mer_a", "order-2026-000100", a);
  gw_keys_idempotency_hash (lookup_key, "merchant:mer_a", "order-2026-000199", b);
  gw_keys_idempotency_hash (lookup_key, "merchant:mer_a", "order-2026-001100", c);
  gw_keys_idempotency_hash (lookup_key, "merchant:mer_b", "order-2026-000100", d);
  gw_keys_idempotency_hash (lookup_key, "merchant:mer_a", "order-2026-000", e);

  g_assert_cmpmem (a, 8, b, 8);
  g_assert_false (memcmp (a + 8, b + 8, 24) == 0);
  g_assert_false (memcmp (a, c, 8) == 0);
  g_assert_false (memcmp (a, d, 8) == 0);
  /* a key that is another's stem shows nothing of it */
  g_assert_false (memcmp (a, e + 8, 8) == 0);
  g_assert_false (memcmp (a, e, 8) == 0);
}

/* The in-flight sets hold key hashes whose first bytes a thousand keys in
 * sequence share (the stem); the sets' hash must still tell them apart, or
 * each claim of a batch walks all the others in one bucket. */
static void
test_key_hash_set_spread (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);

  for (int i = 0; i < 1000; i++)
    {
      g_autofree char *key = g_strdup_printf ("batch-7-%06d", i);
      guint8 hash[32];

      gw_keys_idempotency_hash (lookup_key, "merchant:mer_a", key, hash);
      g_hash_table_add (seen, GUINT_TO_POINTER (gw_key_hash_hash (hash)));
    }
  g_assert_cmpuint (g_hash_table_size (seen), >, 990);
}

/* 23. Another process's committed change between an operation's read and
 * its write. SQLite has one writer, so a stale read is staged: the
 * operation's payment_get (or card_by_lookup) answers with a copy taken
 * before the change, the way a second gateway on a shared database could
 * have read it. */

typedef struct
{
  Step              step;
  GwStoreApplyFunc  apply;
  GwPayment         stale_payment;
  GwCard            stale_card;
  guint             stale_reads;  /* how many reads still answer the stale copy */
  guint             calls;
  gboolean          done;
} StaleStep;

static StaleStep *stale_current;
static const GwTxnFuncs *stale_real;

static gboolean
stale_payment_get (GwTxn       *txn,
                   const char  *id,
                   GwPayment   *out,
                   GError     **error)
{
  StaleStep *op = stale_current;

  if (op->stale_reads == 0 || !g_str_equal (id, op->stale_payment.id))
    return stale_real->payment_get (txn, id, out, error);
  op->stale_reads--;
  *out = op->stale_payment;
  out->order_id = g_strdup (op->stale_payment.order_id);
  out->description = g_strdup (op->stale_payment.description);
  return TRUE;
}

static gboolean
stale_card_by_lookup (GwTxn        *txn,
                      const guint8  lookup[32],
                      GwCard       *out,
                      GError      **error)
{
  StaleStep *op = stale_current;

  if (op->stale_reads == 0)
    return stale_real->card_by_lookup (txn, lookup, out, error);
  op->stale_reads--;
  *out = op->stale_card;
  return TRUE;
}

/* The sweep's list, read before the payment was resolved. */
static GPtrArray *
stale_payments_expiring (GwTxn   *txn,
                         gint64   now,
                         guint    limit,
                         GError **error)
{
  StaleStep *op = stale_current;
  GPtrArray *ids;

  if (op->stale_reads == 0 || op->apply != apply_expire)
    return stale_real->payments_expiring (txn, now, limit, error);
  ids = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (ids, g_strdup (op->stale_payment.id));
  return ids;
}

/* Runs the step's apply with the stale reads in place of the real ones. */
static gboolean
apply_stale (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  StaleStep *op = data;
  const GwTxnFuncs *real = txn->funcs;
  GwTxnFuncs hooked = *real;
  gboolean ok;

  op->calls++;
  gw_payment_clear (&op->step.payment);
  memset (&op->step.outcome, 0, sizeof op->step.outcome);
  hooked.payment_get = stale_payment_get;
  hooked.card_by_lookup = stale_card_by_lookup;
  hooked.payments_expiring = stale_payments_expiring;
  stale_current = op;
  stale_real = real;
  txn->funcs = &hooked;
  ok = op->apply (txn, &op->step, error);
  txn->funcs = real;
  stale_current = NULL;
  return ok;
}

static void
stale_done (gpointer      data,
            const GError *error)
{
  StaleStep *op = data;

  op->step.inner_error = error ? g_error_copy (error) : NULL;
  op->done = TRUE;
}

static void
run_stale (Fixture        *f,
           StaleStep      *op,
           GwStoreOpFlags  flags)
{
  gw_store_submit_full (GW_STORE (f->store), apply_stale, stale_done, op, flags);
  while (!op->done)
    g_main_context_iteration (NULL, TRUE);
}

static void
stale_step_clear (StaleStep *op)
{
  step_clear (&op->step);
  gw_payment_clear (&op->stale_payment);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StaleStep, stale_step_clear)

static gint64
journal_count (Fixture    *f,
               const char *kind,
               const char *payment_id)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM journal_entries WHERE kind = '%s'"
                                          " AND payment_id = '%s'", kind, payment_id);

  return db_int (f, sql);
}

/* The store's own compare-and-set: a payment changed since it was read is
 * not written over. */
static gboolean
apply_update_behind (GwTxn    *txn,
                     gpointer  data,
                     GError  **error)
{
  Step *step = data;
  GwPayment after;
  sqlite3_stmt *stmt;

  if (!txn->funcs->payment_get (txn, step->payment_id, &step->payment, error))
    return FALSE;
  /* another process refunds it all and commits */
  stmt = gw_sqlite_prepare (txn, "UPDATE payments SET amount_refunded = amount_captured"
                                 " WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_text (stmt, 1, step->payment_id);
  if (!gw_sqlite_step_done (txn, stmt, error))
    return FALSE;

  after = step->payment;
  after.amount_refunded += 1000;
  txn->funcs->payment_update (txn, &step->payment, &after, &step->inner_error);
  return TRUE;
}

static void
test_payment_update_conflict (Fixture       *f,
                              gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  g_auto(GwPayment) paid = { 0 };
  g_auto(GwPayment) stored = { 0 };
  g_auto(Step) step = { 0 };

  new_card (f, 10000, &card);
  assert_ok (pay (f, &f->config, &card, 5000, TRUE, &paid));
  step.payment_id = paid.id;
  run_ok (f, apply_update_behind, &step);
  g_assert_error (step.inner_error, GW_STORE_ERROR, GW_STORE_ERROR_CONFLICT);
  get_payment (f, paid.id, &stored);
  g_assert_cmpint (stored.amount_refunded, ==, 5000);
}

typedef enum
{
  RACE_REFUND_REFUND,
  RACE_CANCEL_CAPTURE,
  RACE_CAPTURE_CANCEL,
  RACE_CANCEL_SWEEP,
} Race;

/* Another process resolves the payment first; ours acts on what it read
 * before: it must fail as a conflict and leave no trace. */
static void
test_stale_payment (Fixture       *f,
                    gconstpointer  user_data)
{
  Race race = GPOINTER_TO_INT (user_data);
  gboolean captured = race == RACE_REFUND_REFUND;
  g_auto(TestCard) card = { 0 };
  g_auto(GwPayment) other = { 0 };
  g_auto(GwPayment) done = { 0 };
  g_auto(GwPayment) stored = { 0 };
  g_auto(StaleStep) op = { .step.config = &f->config };
  GwLedgerConfig instant = f->config;
  gint64 refunded = 0;

  instant.capture_window = -1;
  new_card (f, 10000, &card);
  /* a second authorization that must stay held whatever happens to the first */
  assert_ok (pay (f, &f->config, &card, 3000, FALSE, &other));
  assert_ok (pay (f, race == RACE_CANCEL_SWEEP ? &instant : &f->config, &card, 2000, captured,
                  &op.stale_payment));
  op.step.payment_id = op.stale_payment.id;
  op.stale_reads = 1;

  switch (race)
    {
    case RACE_REFUND_REFUND:
      assert_ok (refund (f, op.stale_payment.id, 0, &refunded));
      op.apply = apply_refund;
      break;
    case RACE_CANCEL_CAPTURE:
      assert_ok (cancel (f, op.stale_payment.id));
      op.apply = apply_capture;
      break;
    case RACE_CAPTURE_CANCEL:
      assert_ok (capture (f, op.stale_payment.id, 0, &done));
      op.apply = apply_cancel;
      break;
    case RACE_CANCEL_SWEEP:
      g_assert_cmpint (cancel (f, op.stale_payment.id).code, ==, GW_RESULT_PAYMENT_EXPIRED);
      op.apply = apply_expire;
      break;
    }

  run_stale (f, &op, GW_STORE_OP_NONE);
  g_assert_error (op.step.inner_error, GW_STORE_ERROR, GW_STORE_ERROR_CONFLICT);
  g_assert_cmpuint (op.calls, ==, 1);

  /* Only the other process's change is there. */
  get_payment (f, op.stale_payment.id, &stored);
  switch (race)
    {
    case RACE_REFUND_REFUND:
      g_assert_cmpint (stored.amount_refunded, ==, 2000);
      g_assert_cmpint (journal_count (f, "refund", stored.id), ==, 1);
      assert_card_money (f, &card, 10000, 3000);
      break;
    case RACE_CANCEL_CAPTURE:
    case RACE_CANCEL_SWEEP:
      g_assert_cmpstr (stored.status, ==, "canceled");
      g_assert_cmpint (journal_count (f, "payment", stored.id), ==, 0);
      assert_card_money (f, &card, 10000, 3000);
      break;
    case RACE_CAPTURE_CANCEL:
      g_assert_cmpstr (stored.status, ==, "captured");
      assert_card_money (f, &card, 8000, 3000);
      break;
    }
  assert_audit_balanced (f);
  g_assert_cmpint (audit (f).pending_holds_total, ==, 3000);
}

/* A repeatable operation that conflicts is applied again from fresh reads,
 * and answers from them; one that keeps conflicting fails as a conflict. */
static void
test_conflict_retried (Fixture       *f,
                       gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  g_auto(StaleStep) op = { .step.config = &f->config, .apply = apply_refund };
  g_auto(StaleStep) stubborn = { .step.config = &f->config, .apply = apply_refund };
  g_auto(GwPayment) stored = { 0 };
  gint64 refunded = 0;

  new_card (f, 10000, &card);
  assert_ok (pay (f, &f->config, &card, 5000, TRUE, &op.stale_payment));
  assert_ok (refund (f, op.stale_payment.id, 3000, &refunded));

  /* Read before that refund, ours asks for all that was left then. */
  op.step.payment_id = op.stale_payment.id;
  op.step.amount = 5000;
  op.stale_reads = 1;
  run_stale (f, &op, GW_STORE_OP_REPEATABLE);
  g_assert_no_error (op.step.inner_error);
  g_assert_cmpuint (op.calls, ==, 2);
  g_assert_cmpint (op.step.outcome.code, ==, GW_RESULT_AMOUNT_TOO_LARGE);

  stubborn.stale_payment = op.stale_payment;
  stubborn.stale_payment.order_id = g_strdup (op.stale_payment.order_id);
  stubborn.stale_payment.description = g_strdup (op.stale_payment.description);
  stubborn.step.payment_id = stubborn.stale_payment.id;
  stubborn.step.amount = 1000;
  stubborn.stale_reads = 100;
  run_stale (f, &stubborn, GW_STORE_OP_REPEATABLE);
  g_assert_error (stubborn.step.inner_error, GW_STORE_ERROR, GW_STORE_ERROR_CONFLICT);
  g_assert_cmpuint (stubborn.calls, ==, 4);

  get_payment (f, op.stale_payment.id, &stored);
  g_assert_cmpint (stored.amount_refunded, ==, 3000);
  g_assert_cmpint (journal_count (f, "refund", stored.id), ==, 1);
  assert_card_money (f, &card, 10000 - 5000 + 3000, 0);
  assert_audit_balanced (f);
}

/* Wrong passwords read from the same count, as two processes could, still
 * count once each, and the fifth locks the card. */
static void
test_lockout_counted_in_sql (Fixture       *f,
                             gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  GwCredentials wrong;
  GwCard got;

  new_card (f, 10000, &card);
  gw_ledger_credentials (&f->config, card.number, "1357", &wrong);
  for (guint i = 0; i < GW_LOCKOUT_FAILURES; i++)
    {
      g_auto(StaleStep) op = { .step.config = &f->config, .step.credentials = &wrong,
                               .apply = apply_authenticate, .stale_reads = 1 };

      op.stale_card = get_card (f, &card);   /* read as it was before any guess */
      op.stale_card.failures = 0;
      run_stale (f, &op, GW_STORE_OP_NONE);
      g_assert_no_error (op.step.inner_error);
      assert_declined (op.step.outcome, GW_DECLINE_INVALID_CREDENTIALS);
      got = get_card (f, &card);
      if (i + 1 < GW_LOCKOUT_FAILURES)
        {
          g_assert_cmpint (got.failures, ==, i + 1);
          g_assert_cmpint (got.locked_until, ==, 0);
        }
    }
  g_assert_cmpint (got.failures, ==, 0);
  g_assert_cmpint (got.locked_until, >, g_get_real_time () / G_USEC_PER_SEC);
  assert_declined (authenticate (f, &card.credentials), GW_DECLINE_CARD_LOCKED);
}

/* Wrong CVCs are counted by the database too: two processes that both read
 * no failures yet still leave two, and the count comes back as stored. */
static gboolean
apply_cvc_guesses (GwTxn    *txn,
                   gpointer  data,
                   GError  **error)
{
  Step *step = data;
  const GwNetworkStoreFuncs *network = gw_txn_extension (txn, "network");
  gint64 seen[2], after[2];

  for (guint i = 0; i < 2; i++)
    if (!network->cvc_failures_get (txn, step->payment_id, &seen[i], error))
      return FALSE;
  for (guint i = 0; i < 2; i++)
    if (!network->cvc_failure_add (txn, step->payment_id, &after[i], error))
      return FALSE;
  g_assert_cmpint (seen[0], ==, 0);
  g_assert_cmpint (seen[1], ==, 0);
  g_assert_cmpint (after[0], ==, 1);
  g_assert_cmpint (after[1], ==, 2);
  return network->cvc_failures_get (txn, step->payment_id, &step->amount, error);
}

static void
test_cvc_counted_in_sql (Fixture       *f,
                         gconstpointer  user_data)
{
  g_auto(TestCard) card = { 0 };
  g_auto(Step) step = { 0 };

  new_card (f, 10000, &card);
  step.payment_id = card.id;
  run_ok (f, apply_cvc_guesses, &step);
  g_assert_cmpint (step.amount, ==, 2);
}

#define ADD(path, func) \
  g_test_add ("/ledger/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (!onepin_crypto_init (&error))
    g_error ("%s", error->message);
  lookup_key = fixed_key (0x10, FALSE);
  password_key = fixed_key (0x40, FALSE);
  seal_key = fixed_key (0x70, TRUE);
  idempotency_key = fixed_key (0x71, FALSE);

  ADD ("issue-batch", test_issue_batch);
  ADD ("refund-balance-limit", test_refund_balance_limit);
  ADD ("store-refuses-overdraft", test_store_refuses_overdraft);
  ADD ("store-running-balances", test_store_running_balances);
  ADD ("store-refuses-unbalanced", test_store_refuses_unbalanced);
  ADD ("holds", test_holds);
  ADD ("lockout", test_lockout);
  ADD ("audit-detects-tampering", test_audit_detects_tampering);
  ADD ("points", test_points);
  ADD ("points-refunded-in-pieces", test_points_refunded_in_pieces);
  ADD ("idempotency-sealed", test_idempotency_sealed);
  ADD ("idempotency-prune", test_idempotency_prune);
  ADD ("write-path-migration", test_write_path_migration);
  ADD ("idempotency-key-hash-migration", test_idempotency_key_hash_migration);
  ADD ("calling-numbers-migration", test_calling_numbers_migration);
  ADD ("store-plug", test_store_plug);
  ADD ("store-large-commit", test_store_large_commit);
  ADD ("store-repeatable-run", test_store_repeatable_run);
  ADD ("outbox-stale-settle", test_outbox_stale_settle);
  ADD ("store-lost-transaction", test_store_lost_transaction);
  ADD ("store-wal-starts-over", test_store_wal_starts_over);
  ADD ("store-reader-pins-wal", test_store_reader_pins_wal);
  ADD ("payment-update-conflict", test_payment_update_conflict);
  g_test_add ("/ledger/stale-payment/refund-refund", Fixture, GINT_TO_POINTER (RACE_REFUND_REFUND),
              fixture_setup, test_stale_payment, fixture_teardown);
  g_test_add ("/ledger/stale-payment/cancel-capture", Fixture,
              GINT_TO_POINTER (RACE_CANCEL_CAPTURE), fixture_setup, test_stale_payment,
              fixture_teardown);
  g_test_add ("/ledger/stale-payment/capture-cancel", Fixture,
              GINT_TO_POINTER (RACE_CAPTURE_CANCEL), fixture_setup, test_stale_payment,
              fixture_teardown);
  g_test_add ("/ledger/stale-payment/cancel-sweep", Fixture, GINT_TO_POINTER (RACE_CANCEL_SWEEP),
              fixture_setup, test_stale_payment, fixture_teardown);
  ADD ("conflict-retried", test_conflict_retried);
  ADD ("lockout-counted-in-sql", test_lockout_counted_in_sql);
  ADD ("cvc-counted-in-sql", test_cvc_counted_in_sql);
  g_test_add_func ("/ledger/idempotency-hash-refused", test_idempotency_hash_refused);
  g_test_add_func ("/ledger/idempotency-hash-stem", test_idempotency_hash_stem);
  g_test_add_func ("/ledger/key-hash-set-spread", test_key_hash_set_spread);

  ret = g_test_run ();

  g_clear_pointer (&lookup_key, onepin_key_free);
  g_clear_pointer (&password_key, onepin_key_free);
  g_clear_pointer (&seal_key, onepin_key_free);
  g_clear_pointer (&idempotency_key, onepin_key_free);
  return ret;
}
