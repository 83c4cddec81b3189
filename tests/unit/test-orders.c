/* test-orders.c: the card site's rules and their SQLite store, driven directly
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The bank's answers are given to the rules as the connector would hand
 * them over (a GwChargeResult, or none when the bank never saw the
 * request), so every outcome and every order of events can be tried:
 * approvals, declines, a charge the bank never saw, a retried settlement,
 * late deposits, a recharge losing the race for the cap, a refused payout.
 * The integration tests (tests/integration/test-orders.c) run the same
 * paths over HTTP against the real onepin-bank.
 */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "gw-checkout-store.h"
#include "gw-notify.h"
#include "gw-orders.h"
#include "gw-orders-store.h"
#include "gw-outbox-store.h"
#include "gw-phone-store.h"
#include "gw-settlement-store.h"
#include "gw-store-sqlite.h"
#include "gw-wallet-store.h"
#include "onepin-shared.h"

#define MERCHANT_ID "mch_unit"
#define PASSWORD    "2468"

static OnepinKey *lookup_key;
static OnepinKey *password_key;
static OnepinKey *seal_key;
static OnepinKey *idempotency_key;

typedef struct
{
  char           *dir;
  char           *db_path;
  GwStoreSqlite  *store;
  GwLedgerConfig  ledger;
  GwOrdersConfig  config;
} Fixture;

/* One operation on the writer, its inputs and its outputs. */
typedef enum
{
  OP_CREATE, OP_PAY_BEGIN, OP_SETTLE, OP_PAY_ANSWER, OP_REVEAL, OP_LOAD, OP_GIVE, OP_OPEN_GIFT,
  OP_RECHARGE_BEGIN, OP_RECHARGE_ANSWER, OP_PAYOUT_BEGIN, OP_PAYOUT_SETTLE, OP_PAYOUT_ANSWER,
  OP_VERIFY, OP_SWEEP, OP_VOIDED, OP_ISSUE, OP_REGISTER, OP_REGISTER_GIFT, OP_CARD, OP_AUDIT, OP_FUND, OP_PAY,
  OP_CHECK_TOKEN, OP_SETTLE_UNDELIVERABLE, OP_CALL, OP_UNANSWERED,
} OpKind;

typedef struct _Op Op;
typedef gboolean (*OpCall) (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error);

struct _Op
{
  OpKind                kind;
  OpCall                call;           /* OP_CALL: a store primitive, on the rows below */
  GwOrderRow            order_row;
  GwChargeRow           charge_row;
  GwRechargeRow         recharge_row;
  GwPayoutRow           payout_row;
  GwWalletCharge        wallet_charge;
  GwPhoneSession        phone_session;
  GwSettlementMerchant  settlement_merchant;
  GPtrArray            *claimed;        /* of GwOutboxMessage */
  const GwOrdersConfig *config;
  /* inputs */
  const char           *id;
  GwFundingCheck        funding;
  const GwChargeResult *result;
  const GwCredentials  *credentials;
  gint64                amount;
  const GwRechargeKey  *key;
  const GwPayoutKey    *payout_key;
  const GwPayKey       *pay_key;
  GwContact             contact;
  GwGiftRequest         gift_request;
  gboolean              claim;
  gboolean              voided;
  gboolean              not_found;
  guint8                hash[32];
  gint64                value;
  gboolean              promotional;
  /* outputs */
  GwOrder               order;
  GwOrdersStep          step;
  GwOrdersOutcome       outcome;
  GwGift                gift;
  GwRecharge            recharge;
  GwPayout              payout;
  GwPayment             payment;
  char                 *merchant_name;
  GArray               *work;
  GwCard                card;
  GwOutcome             card_outcome;
  GwAudit               audit;
  char                 *number;
  gboolean              ok;
};

static void
op_clear (Op *op)
{
  gw_order_clear (&op->order);
  gw_order_row_clear (&op->order_row);
  gw_recharge_row_clear (&op->recharge_row);
  gw_payout_row_clear (&op->payout_row);
  gw_wallet_charge_clear (&op->wallet_charge);
  g_clear_pointer (&op->claimed, g_ptr_array_unref);
  gw_gift_clear (&op->gift);
  gw_recharge_row_clear (&op->recharge.row);
  gw_payout_row_clear (&op->payout.row);
  gw_payment_clear (&op->payment);
  g_clear_pointer (&op->merchant_name, g_free);
  g_clear_pointer (&op->work, g_array_unref);
  g_clear_pointer (&op->number, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Op, op_clear)

static gboolean
apply_issue (GwTxn    *txn,
             Op       *op,
             GError  **error)
{
  g_autofree char *batch_id = onepin_crypto_random_token ("batch_", 8);
  g_autoptr(GArray) cards = g_array_new (FALSE, TRUE, sizeof (GwIssuedCard));
  GwIssuedCard *issued;

  if (!gw_ledger_issue_batch (txn, op->config->ledger, batch_id, 1, op->value, "krw", "online",
                              cards, error))
    return FALSE;
  if (op->promotional && !gw_orders_promote_batch (txn, op->config, batch_id, &op->amount, error))
    return FALSE;
  issued = &g_array_index (cards, GwIssuedCard, 0);
  op->number = issued->number;
  return txn->funcs->card_by_id (txn, issued->id, &op->card, error);
}

/* Moves money onto a card past every rule, as another channel would. */
static gboolean
apply_fund (GwTxn    *txn,
            Op       *op,
            GError  **error)
{
  GwLine lines[] = {
    { .account_id = GW_ACCOUNT_ISSUER_FUNDING, .debit = op->amount },
    { .account_id = op->card.account_id, .credit = op->amount },
  };
  GwEntry entry = {
    .kind = "refund", .channel = "internet", .ref = "re_unit", .created = txn->funcs->now (txn),
    .lines = lines, .n_lines = 2,
  };

  return txn->funcs->entry_post (txn, &entry, error);
}

static gboolean
apply_pay (GwTxn    *txn,
           Op       *op,
           GError  **error)
{
  GwPayRequest request = {
    .merchant_id = MERCHANT_ID, .amount = op->amount, .currency = "krw", .order_id = "o-1",
    .description = "unit", .channel = "internet", .capture = op->claim,
  };

  return gw_ledger_pay (txn, op->config->ledger, op->credentials, &request, &op->payment,
                        &op->card_outcome, error);
}

static gboolean
apply_op (GwTxn    *txn,
          gpointer  data,
          GError  **error)
{
  Op *op = data;
  const GwOrdersConfig *c = op->config;

  switch (op->kind)
    {
    case OP_CREATE:
      return gw_orders_create (txn, c, &op->order, error);
    case OP_PAY_BEGIN:
      return gw_orders_pay_begin (txn, c, op->id, &op->funding, op->pay_key, &op->step,
                                  &op->outcome, error);
    case OP_SETTLE:
      return gw_orders_settle_charge (txn, c, op->id, op->result, op->not_found, &op->step,
                                      error);
    case OP_SETTLE_UNDELIVERABLE:
      return gw_orders_settle_undeliverable (txn, c, op->id, op->result, op->not_found,
                                             &op->step, error);
    case OP_PAY_ANSWER:
      return gw_orders_pay_answer (txn, c, op->id, &op->order, &op->outcome, error);
    case OP_REVEAL:
      return gw_orders_reveal (txn, c, op->id, &op->order, &op->outcome, error);
    case OP_LOAD:
      return gw_orders_load (txn, c, op->id, &op->order, error);
    case OP_GIVE:
      return gw_orders_give (txn, c, op->id, &op->gift_request, &op->gift, &op->outcome, error);
    case OP_OPEN_GIFT:
      return gw_orders_open_gift (txn, c, op->hash, op->claim ? PASSWORD : NULL, NULL, &op->gift,
                                  &op->outcome, error);
    case OP_RECHARGE_BEGIN:
      return gw_orders_recharge_begin (txn, c, op->credentials, op->amount, &op->funding,
                                       &op->contact, op->key, &op->recharge, &op->step,
                                       &op->outcome, error);
    case OP_RECHARGE_ANSWER:
      return gw_orders_recharge_answer (txn, op->id, &op->recharge, &op->outcome, error);
    case OP_PAYOUT_BEGIN:
      return gw_orders_payout_begin (txn, c, op->credentials, "004", "7890", &op->contact,
                                     op->payout_key,
                                     &op->payout, &op->step, &op->outcome, error);
    case OP_PAYOUT_SETTLE:
      return gw_orders_payout_settle (txn, c, op->id, op->result, op->not_found, error);
    case OP_PAYOUT_ANSWER:
      return gw_orders_payout_answer (txn, op->id, &op->payout, &op->outcome, error);
    case OP_VERIFY:
      return gw_orders_verify_payment (txn, c, op->credentials, op->id, &op->payment,
                                       &op->merchant_name, &op->outcome, error);
    case OP_SWEEP:
      return (op->work = gw_orders_sweep (txn, op->amount, error)) != NULL;
    case OP_VOIDED:
      return gw_orders_charge_voided (txn, c, op->id, op->voided, error);
    case OP_UNANSWERED:
      return gw_orders_charge_unanswered (txn, c, op->id, error);
    case OP_ISSUE:
      return apply_issue (txn, op, error);
    case OP_REGISTER:
      return gw_ledger_register (txn, c->ledger, op->credentials, NULL, &op->card,
                                 &op->card_outcome, error);
    case OP_REGISTER_GIFT:
      return gw_orders_register_card (txn, c->ledger, op->credentials, NULL, &op->card,
                                      &op->outcome, error);
    case OP_CARD:
      return txn->funcs->card_by_id (txn, op->id, &op->card, error);
    case OP_AUDIT:
      return txn->funcs->audit (txn, &op->audit, error);
    case OP_FUND:
      return apply_fund (txn, op, error);
    case OP_PAY:
      return apply_pay (txn, op, error);
    case OP_CHECK_TOKEN:
      op->ok = gw_orders_check_token (txn, op->id, op->hash, error);
      return error == NULL || *error == NULL;
    case OP_CALL:
      return op->call (txn, gw_txn_extension (txn, "orders"), op, error);
    default:
      g_assert_not_reached ();
    }
}

typedef struct
{
  gboolean  done;
  GError   *error;
} Wait;

static void
wait_done (gpointer      data,
           const GError *error)
{
  Wait *wait = ((gpointer *) data)[1];

  wait->error = error ? g_error_copy (error) : NULL;
  wait->done = TRUE;
}

static gboolean
wait_apply (GwTxn    *txn,
            gpointer  data,
            GError  **error)
{
  return apply_op (txn, ((gpointer *) data)[0], error);
}

/* Runs @op on the writer and waits for the commit; returns its error. */
static GError *
run_error (Fixture *f,
           Op      *op)
{
  Wait wait = { FALSE, NULL };
  gpointer pair[2] = { op, &wait };

  op->config = &f->config;
  gw_store_submit (GW_STORE (f->store), wait_apply, wait_done, pair);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  return wait.error;
}

static void
run (Fixture *f,
     Op      *op)
{
  g_autoptr(GError) error = run_error (f, op);

  g_assert_no_error (error);
}

/* Runs a store primitive with the rows @op holds. */
static void
run_call (Fixture *f,
          Op      *op,
          OpCall   call)
{
  op->kind = OP_CALL;
  op->call = call;
  run (f, op);
}

/* Runs a store primitive that must find its row changed by another process. */
static void
run_call_conflict (Fixture *f,
                   Op      *op,
                   OpCall   call)
{
  g_autoptr(GError) error = NULL;

  op->kind = OP_CALL;
  op->call = call;
  error = run_error (f, op);
  g_assert_error (error, GW_STORE_ERROR, GW_STORE_ERROR_CONFLICT);
}

/* Raw SQL, as someone holding the database file would read it. */
static gint64
sql_int (Fixture    *f,
         const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

/* Raw SQL that writes, as an older gateway would have. */
static void
sql_exec (Fixture    *f,
          const char *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

/* The opened payloads of the e-mails queued with @template, oldest first. */
static GPtrArray *
outbox (Fixture    *f,
        const char *template)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT type, payload FROM outbox WHERE type = 'email'"
                                       " ORDER BY id", -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) plain = gw_notify_open ((const char *) sqlite3_column_text (stmt, 0),
                                                (const char *) sqlite3_column_text (stmt, 1),
                                                &error);
      JsonObject *object;

      g_assert_no_error (error);
      object = onepin_json_parse_object (g_bytes_get_data (plain, NULL),
                                         g_bytes_get_size (plain), &error);
      g_assert_no_error (error);
      if (g_str_equal (onepin_json_get_string (object, "template", ""), template))
        g_ptr_array_add (found, object);
      else
        json_object_unref (object);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return g_steal_pointer (&found);
}

static JsonObject *
mail_data (JsonObject *mail)
{
  return json_object_get_object_member (mail, "data");
}

static void
assert_audit (Fixture *f,
              gint64   cards_total)
{
  g_auto(Op) op = { .kind = OP_AUDIT };

  run (f, &op);
  g_assert_true (op.audit.balanced);
  g_assert_cmpint (op.audit.unbalanced_entries, ==, 0);
  g_assert_cmpint (op.audit.mismatched_accounts, ==, 0);
  if (cards_total >= 0)
    g_assert_cmpint (op.audit.cards_balance_total, ==, cards_total);
}

/* Fixture */

static void
fixture_setup (Fixture       *f,
               gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("onepin-orders-XXXXXX", &error);
  g_assert_no_error (error);
  f->db_path = g_build_filename (f->dir, "onepin.db", NULL);
  f->store = gw_store_sqlite_new (f->db_path, seal_key, idempotency_key, lookup_key, &error);
  g_assert_no_error (error);
  f->ledger = (GwLedgerConfig) {
    .lookup_key = lookup_key, .password_key = password_key, .seal_key = seal_key,
    .bin = "9410", .validity_years = 5, .points_rate = 100, .capture_window = 3600,
    .lockout_seconds = 60,
  };
  f->config = (GwOrdersConfig) {
    .ledger = &f->ledger, .public_url = "https://cards.example", .promotional_years = 1,
  };
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
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);

      g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (f->dir), ==, 0);
  g_clear_pointer (&f->db_path, g_free);
  g_clear_pointer (&f->dir, g_free);
}

/* Helpers */

/* Creates an order of @n lines given as (denomination, quantity) pairs. */
static char *
create_order (Fixture *f,
              guint    n,
              ...)
{
  g_auto(Op) op = { .kind = OP_CREATE };
  g_autofree char *id = onepin_crypto_random_token ("ord_", 12);
  va_list args;

  g_strlcpy (op.order.row.id, id, sizeof op.order.row.id);
  memset (op.order.row.token_hash, 0x33, 32);
  g_strlcpy (op.order.row.locale, "ko", sizeof op.order.row.locale);
  op.order.buyer = (GwBuyer) {
    g_strdup ("홍길동"), g_strdup ("010-1234-5678"), g_strdup ("hong@example.com"),
    g_strdup ("04524"), g_strdup ("Sejong-daero 110, Seoul"),
  };
  op.order.items = g_array_new (FALSE, TRUE, sizeof (GwOrderItem));
  va_start (args, n);
  for (guint i = 0; i < n; i++)
    {
      GwOrderItem item;

      item.denomination = va_arg (args, gint64);
      item.quantity = va_arg (args, gint64);
      g_array_append_val (op.order.items, item);
    }
  va_end (args);
  run (f, &op);
  return g_steal_pointer (&id);
}

static GwFundingCheck
credit_card (void)
{
  return (GwFundingCheck) { GW_FUNDING_CREDIT_CARD, FALSE, { 0 } };
}

/* Begins paying the order; asserts a charge is to be made and returns its id. */
static char *
begin_charge (Fixture              *f,
              const char           *order_id,
              const GwFundingCheck *funding)
{
  g_auto(Op) op = { .kind = OP_PAY_BEGIN, .id = order_id, .funding = *funding };

  run (f, &op);
  g_assert_cmpint (op.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (op.step.next, ==, GW_ORDERS_NEXT_CHARGE);
  g_assert_true (g_str_has_prefix (op.step.id, "chg_"));
  return g_strdup (op.step.id);
}

static GwOrdersNext
settle (Fixture              *f,
        const char           *charge_id,
        const GwChargeResult *result)
{
  g_auto(Op) op = { .kind = OP_SETTLE, .id = charge_id, .result = result };

  run (f, &op);
  return op.step.next;
}

/* A query that found no record of the charge. */
static void
settle_not_found (Fixture    *f,
                  const char *charge_id)
{
  g_auto(Op) op = { .kind = OP_SETTLE, .id = charge_id, .not_found = TRUE };

  run (f, &op);
  g_assert_cmpint (op.step.next, ==, GW_ORDERS_NEXT_ANSWER);
}

/* The site's last settlement of an approval that kept failing. */
static GwOrdersNext
settle_undeliverable (Fixture              *f,
                      const char           *charge_id,
                      const GwChargeResult *result)
{
  g_auto(Op) op = { .kind = OP_SETTLE_UNDELIVERABLE, .id = charge_id, .result = result };

  run (f, &op);
  return op.step.next;
}

static GwChargeResult approved = { .status = GW_CHARGE_APPROVED, .reference = "bank_ref_1" };
static GwChargeResult declined = {
  .status = GW_CHARGE_DECLINED, .decline_code = "insufficient_funds",
};

static void
load (Fixture    *f,
      const char *order_id,
      Op         *op)
{
  op->kind = OP_LOAD;
  op->id = order_id;
  run (f, op);
}

static gint64
order_cards (Fixture    *f,
             const char *order_id)
{
  g_autofree char *sql = g_strdup_printf ("SELECT COUNT(*) FROM order_cards WHERE order_id = '%s'",
                                          order_id);

  return sql_int (f, sql);
}

/* Issues a registered card of @value; @credentials gets its number and password. */
static GwCard
new_card (Fixture       *f,
          gint64         value,
          gboolean       promotional,
          GwCredentials *credentials,
          char         **number)
{
  g_auto(Op) issue = { .kind = OP_ISSUE, .value = value, .promotional = promotional };
  g_auto(Op) reg = { .kind = OP_REGISTER, .credentials = credentials };

  run (f, &issue);
  gw_ledger_credentials (&f->ledger, issue.number, PASSWORD, credentials);
  run (f, &reg);
  g_assert_cmpint (reg.card_outcome.code, ==, GW_RESULT_OK);
  if (number != NULL)
    *number = g_steal_pointer (&issue.number);
  return reg.card;
}

static GwCard
get_card (Fixture    *f,
          const char *card_id)
{
  g_auto(Op) op = { .kind = OP_CARD, .id = card_id };

  run (f, &op);
  return op.card;
}

/* Orders */

static void
test_order_create (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *id = create_order (f, 2, (gint64) 5000, (gint64) 3, (gint64) 30000, (gint64) 2);
  g_auto(Op) op = { 0 };
  g_auto(Op) token = { .kind = OP_CHECK_TOKEN };

  load (f, id, &op);
  g_assert_cmpstr (op.order.row.status, ==, "created");
  g_assert_cmpint (op.order.row.total, ==, 75000);
  g_assert_cmpint (op.order.row.card_count, ==, 5);
  g_assert_cmpuint (op.order.items->len, ==, 2);
  g_assert_cmpuint (op.order.cards->len, ==, 0);
  g_assert_cmpstr (op.order.buyer.email, ==, "hong@example.com");
  g_assert_cmpstr (op.order.buyer.name, ==, "홍길동");
  /* The buyer is sealed: the database holds no trace of it. */
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM orders WHERE CAST(buyer_sealed AS TEXT)"
                               " LIKE '%example.com%'"), ==, 0);

  token.id = id;
  memset (token.hash, 0x33, 32);
  run (f, &token);
  g_assert_true (token.ok);
  token.hash[31] ^= 1;
  run (f, &token);
  g_assert_false (token.ok);
  token.id = "ord_nope";
  run (f, &token);
  g_assert_false (token.ok);
}

static void
test_pay_approved (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *id = create_order (f, 2, (gint64) 5000, (gint64) 3, (gint64) 10000, (gint64) 2);
  GwFundingCheck funding = credit_card ();
  g_autofree char *charge = begin_charge (f, id, &funding);
  g_auto(Op) paying = { 0 };
  g_auto(Op) answer = { .kind = OP_PAY_ANSWER, .id = id };
  g_auto(Op) again = { .kind = OP_PAY_ANSWER, .id = id };
  g_auto(Op) reveal = { .kind = OP_REVEAL, .id = id };
  g_autoptr(GPtrArray) mails = NULL;
  JsonObject *mail;

  load (f, id, &paying);
  g_assert_cmpstr (paying.order.row.status, ==, "paying");
  g_assert_cmpstr (paying.order.charge.status, ==, "processing");
  g_assert_cmpint (paying.order.charge.amount, ==, 35000);
  assert_audit (f, 0);

  g_assert_cmpint (settle (f, charge, &approved), ==, GW_ORDERS_NEXT_ANSWER);
  assert_audit (f, 35000);

  /* The numbers, once. */
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpstr (answer.order.row.status, ==, "allocated");
  g_assert_true (answer.order.row.cards_revealed);
  g_assert_cmpuint (answer.order.cards->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      GwOrderCard *card = &g_array_index (answer.order.cards, GwOrderCard, i);

      g_assert_true (onepin_card_number_is_valid (card->number));
      g_assert_true (g_str_has_suffix (card->number, card->row.last4));
      g_assert_cmpint (card->row.denomination, ==, i < 3 ? 5000 : 10000);
      g_assert_cmpstr (card->row.purpose, ==, "user");
      g_assert_cmpint (get_card (f, card->row.card_id).balance, ==, card->row.denomination);
    }
  run (f, &again);
  g_assert_cmpint (again.outcome.result, ==, GW_ORDERS_CONFLICT);
  g_assert_cmpstr (again.outcome.code, ==, "order_already_paid");
  run (f, &reveal);
  g_assert_cmpstr (reveal.outcome.code, ==, "cards_already_revealed");

  /* The bank's answer told twice allocates nothing twice. */
  g_assert_cmpint (settle (f, charge, &approved), ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpint (order_cards (f, id), ==, 5);
  assert_audit (f, 35000);

  mails = outbox (f, "purchase_statement");
  g_assert_cmpuint (mails->len, ==, 1);
  mail = g_ptr_array_index (mails, 0);
  g_assert_cmpstr (onepin_json_get_string (mail, "to", ""), ==, "hong@example.com");
  g_assert_cmpint (onepin_json_get_int (mail_data (mail), "total", 0), ==, 35000);
  g_assert_cmpstr (onepin_json_get_string (mail_data (mail), "paid_by", ""), ==, "credit_card");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (mail_data (mail),
                                                                         "cards")), ==, 5);
}

static void
test_pay_declined_then_again (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 50000, (gint64) 1);
  GwFundingCheck funding = credit_card ();
  g_autofree char *first = begin_charge (f, id, &funding);
  g_autofree char *second = NULL;
  g_auto(Op) answer = { .kind = OP_PAY_ANSWER, .id = id };
  g_auto(Op) paid = { .kind = OP_PAY_ANSWER, .id = id };

  settle (f, first, &declined);
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_FUNDING_DECLINED);
  g_assert_cmpstr (answer.outcome.bank_decline, ==, "insufficient_funds");
  g_assert_cmpstr (answer.order.row.status, ==, "failed");
  g_assert_cmpint (order_cards (f, id), ==, 0);
  assert_audit (f, 0);

  /* A failed order may be paid again, with a new charge. */
  second = begin_charge (f, id, &funding);
  g_assert_cmpstr (first, !=, second);
  settle (f, second, &approved);
  run (f, &paid);
  g_assert_cmpint (paid.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpuint (paid.order.cards->len, ==, 1);
  /* The declined charge approved after all (it cannot be, but say it is)
   * finds the order paid: it goes back. */
  g_assert_cmpint (settle (f, first, &approved), ==, GW_ORDERS_NEXT_VOID);
  g_assert_cmpint (order_cards (f, id), ==, 1);
  assert_audit (f, 50000);
}

static void
test_pay_bank_never_saw_it (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 20000, (gint64) 1);
  GwFundingCheck funding = credit_card ();
  g_autofree char *charge = begin_charge (f, id, &funding);
  g_autofree char *again = NULL;
  g_auto(Op) answer = { .kind = OP_PAY_ANSWER, .id = id };

  settle (f, charge, NULL);
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_BANK_UNAVAILABLE);
  g_assert_cmpstr (answer.order.row.status, ==, "created");
  again = begin_charge (f, id, &funding);
  g_assert_cmpstr (again, !=, charge);
  assert_audit (f, 0);
}

/* "Never seen" from a bank whose books may lag: the order stays paying
 * until its charge is charge_missing_after old, and the charge is settled
 * as the bank says when it shows up after all. */
static void
test_pay_not_found (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 20000, (gint64) 1);
  g_autofree char *late = create_order (f, 1, (gint64) 10000, (gint64) 1);
  GwFundingCheck funding = credit_card ();
  g_autofree char *charge = begin_charge (f, id, &funding);
  g_autofree char *late_charge = begin_charge (f, late, &funding);
  g_auto(Op) answer = { .kind = OP_PAY_ANSWER, .id = id };
  g_auto(Op) late_answer = { .kind = OP_PAY_ANSWER, .id = late };
  g_auto(Op) failed = { .kind = OP_PAY_ANSWER, .id = id };
  g_auto(Op) sweep = { .kind = OP_SWEEP, .amount = G_MAXINT64 };

  f->config.charge_missing_after = 3600;
  settle_not_found (f, charge);
  settle_not_found (f, late_charge);
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_BANK_UNKNOWN);
  g_assert_cmpstr (answer.order.row.status, ==, "paying");
  g_assert_cmpstr (answer.order.charge.status, ==, "processing");
  run (f, &sweep);
  g_assert_cmpuint (sweep.work->len, ==, 2);

  /* Booked a moment later: paid. */
  settle (f, late_charge, &approved);
  run (f, &late_answer);
  g_assert_cmpint (late_answer.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (order_cards (f, late), ==, 1);

  /* Old enough now: it never arrived. */
  f->config.charge_missing_after = 1;
  g_usleep (1100 * 1000);
  settle_not_found (f, charge);
  run (f, &failed);
  g_assert_cmpint (failed.outcome.result, ==, GW_ORDERS_BANK_UNAVAILABLE);
  g_assert_cmpstr (failed.order.row.status, ==, "created");
  g_assert_cmpstr (failed.order.charge.decline_code, ==, "not_sent");
  g_assert_cmpint (order_cards (f, id), ==, 0);
  assert_audit (f, 10000);
}

/* The number of charges whose status and watch are as given. */
static gint64
charges_where (Fixture    *f,
               const char *id,
               const char *condition)
{
  g_autofree char *sql = g_strdup_printf ("SELECT COUNT(*) FROM charges WHERE id = '%s' AND %s",
                                          id, condition);

  return sql_int (f, sql);
}

/* A charge failed as never seen is still watched ([site] charge_watch):
 * listed by the sweep when its next ask is due (watch_next: a sweep
 * interval after it failed, then ever later) while the watch lasts, the
 * last time at its end; approved late (by a query or a deposit callback,
 * within the watch or after it) it is voided and never pays the order,
 * which stays payable; a decline ends the watch. Never seen again, or no
 * answer, the next ask is later. */
static void
test_pay_booked_late (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 20000, (gint64) 1);
  g_autofree char *other = create_order (f, 1, (gint64) 10000, (gint64) 1);
  g_autofree char *last = create_order (f, 1, (gint64) 10000, (gint64) 1);
  GwFundingCheck funding = credit_card ();
  g_autofree char *charge = begin_charge (f, id, &funding);
  g_autofree char *other_charge = begin_charge (f, other, &funding);
  g_autofree char *last_charge = begin_charge (f, last, &funding);
  g_auto(Op) early = { .kind = OP_SWEEP, .amount = 0 };
  g_auto(Op) watching = { .kind = OP_SWEEP, .amount = 0 };
  g_auto(Op) voiding = { .kind = OP_SWEEP, .amount = G_MAXINT64 };
  g_auto(Op) at_end = { .kind = OP_SWEEP, .amount = 0 };
  g_auto(Op) ended = { .kind = OP_SWEEP, .amount = 0 };
  g_auto(Op) answer = { .kind = OP_PAY_ANSWER, .id = id };
  g_auto(Op) unanswered = { .kind = OP_UNANSWERED, .id = other_charge };

  f->config.charge_missing_after = 1;
  f->config.charge_watch = 3600;
  f->config.sweep_interval = 30;
  g_usleep (1100 * 1000);
  settle_not_found (f, charge);
  settle_not_found (f, other_charge);
  g_assert_cmpint (charges_where (f, charge, "status = 'failed' AND watch_until = updated + 3600"
                                             " AND watch_next = updated + 30"), ==, 1);
  run (f, &early);
  g_assert_cmpuint (early.work->len, ==, 0);
  sql_exec (f, "UPDATE charges SET watch_next = updated WHERE watch_next IS NOT NULL");
  run (f, &watching);
  g_assert_cmpuint (watching.work->len, ==, 2);
  g_assert_cmpint (g_array_index (watching.work, GwOrdersWork, 0).next, ==, GW_ORDERS_NEXT_QUERY);

  /* Still never seen: asked again later. Then booked: given back. */
  settle_not_found (f, charge);
  g_assert_cmpint (charges_where (f, charge, "status = 'failed' AND watch_next >= updated + 30"),
                   ==, 1);
  g_test_expect_message ("onepin-gateway", G_LOG_LEVEL_WARNING, "*after it failed as never seen*");
  g_assert_cmpint (settle (f, charge, &approved), ==, GW_ORDERS_NEXT_VOID);
  g_test_assert_expected_messages ();
  g_assert_cmpint (charges_where (f, charge, "status = 'voiding' AND watch_until IS NULL"
                                             " AND watch_next IS NULL AND voided_late > 0"
                                             " AND decline_code IS NULL"), ==, 1);
  run (f, &answer);
  g_assert_cmpstr (answer.order.row.status, ==, "created");
  g_assert_cmpint (order_cards (f, id), ==, 0);
  run (f, &voiding);
  /* The void, the other (watched, due) and the last (still processing). */
  g_assert_cmpuint (voiding.work->len, ==, 3);
  for (guint i = 0; i < voiding.work->len; i++)
    {
      GwOrdersWork *item = &g_array_index (voiding.work, GwOrdersWork, i);

      g_assert_cmpint (item->next, ==, g_str_equal (item->id, charge) ? GW_ORDERS_NEXT_VOID
                                                                       : GW_ORDERS_NEXT_QUERY);
    }

  /* No answer is an ask too. A decline ends the watch. */
  run (f, &unanswered);
  g_assert_cmpint (charges_where (f, other_charge, "watch_next >= updated + 30"), ==, 1);
  g_assert_cmpint (settle (f, other_charge, &declined), ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpint (charges_where (f, other_charge, "status = 'failed' AND watch_until IS NULL"
                                                   " AND watch_next IS NULL"), ==, 1);

  /* The last ask is at the watch's end; past it the sweep no longer asks,
   * but an approval that comes all the same (a deposit callback) is given
   * back too. */
  f->config.charge_watch = 1;
  settle_not_found (f, last_charge);
  g_assert_cmpint (charges_where (f, last_charge, "watch_next = watch_until"), ==, 1);
  g_usleep (1100 * 1000);
  run (f, &at_end);
  g_assert_cmpuint (at_end.work->len, ==, 1);
  settle_not_found (f, last_charge);
  g_assert_cmpint (charges_where (f, last_charge, "status = 'failed' AND watch_next IS NULL"
                                                  " AND watch_until > 0"), ==, 1);
  run (f, &ended);
  g_assert_cmpuint (ended.work->len, ==, 0);
  g_test_expect_message ("onepin-gateway", G_LOG_LEVEL_WARNING, "*after it failed as never seen*");
  g_assert_cmpint (settle (f, last_charge, &approved), ==, GW_ORDERS_NEXT_VOID);
  g_test_assert_expected_messages ();
  g_assert_cmpint (order_cards (f, last), ==, 0);
  assert_audit (f, 0);
}

/* When a watched charge is asked about next: a sweep interval after it
 * failed, then twice the gap before, at most an hour, the last ask at the
 * watch's end; then none. */
static void
test_watch_next (void)
{
  const gint64 day = 24 * 3600;
  gint64 ask = 1000;
  gint64 gap = 0;
  guint asks = 0;

  g_assert_cmpint (gw_orders_watch_next (1000, 1000, 1000 + day, 30), ==, 1030);
  g_assert_cmpint (gw_orders_watch_next (1030, 1000, 1000 + day, 30), ==, 1090);
  g_assert_cmpint (gw_orders_watch_next (1090, 1000, 1000 + day, 30), ==, 1210);
  /* A sweep that came late: the gap counts from the ask. */
  g_assert_cmpint (gw_orders_watch_next (1100, 1000, 1000 + day, 30), ==, 1230);
  /* At most an hour. */
  g_assert_cmpint (gw_orders_watch_next (6000, 1000, 1000 + day, 30), ==, 6000 + 3600);
  /* Never after the watch's end: the last ask is at it, then none. */
  g_assert_cmpint (gw_orders_watch_next (1090, 1000, 1100, 30), ==, 1100);
  g_assert_cmpint (gw_orders_watch_next (1100, 1000, 1100, 30), ==, 0);
  g_assert_cmpint (gw_orders_watch_next (1105, 1000, 1100, 30), ==, 0);
  /* Not watched at all; an interval of 0 counts as one second. */
  g_assert_cmpint (gw_orders_watch_next (1000, 1000, 0, 30), ==, 0);
  g_assert_cmpint (gw_orders_watch_next (1000, 1000, 1000 + day, 0), ==, 1001);

  /* A day's watch, each ask on time: 30 asks (every 30 s sweep: 2,880). */
  for (gint64 next; (next = gw_orders_watch_next (ask, 1000, 1000 + day, 30)) != 0; ask = next)
    {
      if (gap > 0 && next != 1000 + day)
        g_assert_cmpint (next - ask, ==, MIN (2 * gap, GW_ORDERS_WATCH_GAP_MAX));
      gap = next - ask;
      asks++;
    }
  g_assert_cmpint (ask, ==, 1000 + day);
  g_assert_cmpuint (asks, ==, 30);
}

static void
test_pay_unknown_outcome (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 20000, (gint64) 2);
  GwFundingCheck funding = credit_card ();
  g_autofree char *charge = begin_charge (f, id, &funding);
  g_auto(Op) retry = { .kind = OP_PAY_BEGIN, .id = id, .funding = funding };
  g_auto(Op) answer = { .kind = OP_PAY_ANSWER, .id = id };
  g_auto(Op) sweep = { .kind = OP_SWEEP, .amount = G_MAXINT64 };
  g_auto(Op) recent = { .kind = OP_SWEEP, .amount = 0 };

  /* Still paying: the answer says the outcome is unknown. */
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_BANK_UNKNOWN);

  /* Another pay request asks about the same charge; it makes no new one. */
  run (f, &retry);
  g_assert_cmpint (retry.step.next, ==, GW_ORDERS_NEXT_QUERY);
  g_assert_cmpstr (retry.step.id, ==, charge);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges"), ==, 1);

  /* The sweep finds it too, once it is old enough. */
  run (f, &recent);
  g_assert_cmpuint (recent.work->len, ==, 0);
  run (f, &sweep);
  g_assert_cmpuint (sweep.work->len, ==, 1);
  g_assert_cmpstr (g_array_index (sweep.work, GwOrdersWork, 0).id, ==, charge);
  g_assert_cmpint (g_array_index (sweep.work, GwOrdersWork, 0).next, ==, GW_ORDERS_NEXT_QUERY);

  settle (f, charge, &approved);
  g_assert_cmpint (order_cards (f, id), ==, 2);
  assert_audit (f, 40000);
}

static void
test_pay_transfer (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 100000, (gint64) 1);
  GwFundingCheck funding = { GW_FUNDING_TRANSFER, FALSE, { 0 } };
  g_autofree char *charge = begin_charge (f, id, &funding);
  GwChargeResult pending = {
    .status = GW_CHARGE_PENDING, .virtual_bank = "onepin sandbox bank",
    .virtual_account = "99901234567",
    .deposit_deadline = g_get_real_time () / G_USEC_PER_SEC + 3600,
  };
  g_auto(Op) answer = { .kind = OP_PAY_ANSWER, .id = id };
  g_auto(Op) another = { .kind = OP_PAY_BEGIN, .id = id, .funding = funding };
  g_auto(Op) reveal = { .kind = OP_REVEAL, .id = id };
  g_auto(Op) early = { .kind = OP_REVEAL, .id = id };
  g_autoptr(GPtrArray) mails = NULL;

  settle (f, charge, &pending);
  settle (f, charge, &pending);
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpstr (answer.order.row.status, ==, "pending");
  g_assert_cmpstr (answer.order.charge.virtual_account, ==, "99901234567");
  mails = outbox (f, "virtual_account");
  g_assert_cmpuint (mails->len, ==, 1);
  g_assert_cmpstr (onepin_json_get_string (mail_data (g_ptr_array_index (mails, 0)), "account",
                                           ""), ==, "99901234567");

  run (f, &another);
  g_assert_cmpstr (another.outcome.code, ==, "order_payment_pending");
  run (f, &early);
  g_assert_cmpstr (early.outcome.code, ==, "order_not_allocated");

  /* The deposit arrives. */
  settle (f, charge, &approved);
  run (f, &reveal);
  g_assert_cmpint (reveal.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpuint (reveal.order.cards->len, ==, 1);
  g_assert_nonnull (g_array_index (reveal.order.cards, GwOrderCard, 0).number);
  assert_audit (f, 100000);
}

static void
test_pay_transfer_expires (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 10000, (gint64) 1);
  GwFundingCheck funding = { GW_FUNDING_TRANSFER, FALSE, { 0 } };
  g_autofree char *charge = begin_charge (f, id, &funding);
  GwChargeResult pending = {
    .status = GW_CHARGE_PENDING, .virtual_bank = "b", .virtual_account = "1",
    .deposit_deadline = g_get_real_time () / G_USEC_PER_SEC - 10,
  };
  g_auto(Op) voided = { .kind = OP_VOIDED, .id = charge, .voided = TRUE };
  g_auto(Op) voided_again = { .kind = OP_VOIDED, .id = charge, .voided = TRUE };
  g_auto(Op) order = { 0 };
  g_auto(Op) stale = { 0 };
  g_auto(Op) given_back = { 0 };

  /* Past its deadline, a pending transfer is canceled at the bank first. */
  g_assert_cmpint (settle (f, charge, &pending), ==, GW_ORDERS_NEXT_VOID);
  run (f, &voided);
  load (f, id, &order);
  g_assert_cmpstr (order.order.row.status, ==, "failed");
  g_assert_cmpstr (order.order.charge.status, ==, "canceled");
  /* An approval after that (the bank's callback of a deposit made in the
   * deadline's last moment, queued before our void gave it back, resent)
   * is given back again, never cards: the bank holds nothing. */
  g_assert_cmpint (settle (f, charge, &approved), ==, GW_ORDERS_NEXT_VOID);
  g_assert_cmpint (order_cards (f, id), ==, 0);
  load (f, id, &stale);
  g_assert_cmpstr (stale.order.row.status, ==, "failed");
  g_assert_cmpstr (stale.order.charge.status, ==, "voiding");
  run (f, &voided_again);
  load (f, id, &given_back);
  g_assert_cmpstr (given_back.order.charge.status, ==, "voided");
  g_assert_cmpstr (given_back.order.row.status, ==, "failed");
  g_assert_cmpint (order_cards (f, id), ==, 0);
  assert_audit (f, 0);
}

/* The bank approves another sum than the order's, or in another currency:
 * nothing is issued, the money goes back, the order fails. */
static void
test_pay_amount_mismatch (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 10000, (gint64) 1);
  GwFundingCheck funding = credit_card ();
  g_autofree char *charge = begin_charge (f, id, &funding);
  GwChargeResult short_sum = { .status = GW_CHARGE_APPROVED, .reference = "bank_ref_1",
                               .amount = 9999, .currency = "KRW" };
  GwChargeResult other_currency = { .status = GW_CHARGE_APPROVED, .reference = "bank_ref_1",
                                    .amount = 10000, .currency = "USD" };
  g_autofree char *other_id = create_order (f, 1, (gint64) 10000, (gint64) 1);
  g_autofree char *other_charge = begin_charge (f, other_id, &funding);
  g_auto(Op) order = { 0 };
  g_auto(Op) other = { 0 };

  g_test_expect_message ("onepin-gateway", G_LOG_LEVEL_WARNING, "*another amount or currency*");
  g_assert_cmpint (settle (f, charge, &short_sum), ==, GW_ORDERS_NEXT_VOID);
  g_test_expect_message ("onepin-gateway", G_LOG_LEVEL_WARNING, "*another amount or currency*");
  g_assert_cmpint (settle (f, other_charge, &other_currency), ==, GW_ORDERS_NEXT_VOID);
  g_test_assert_expected_messages ();
  load (f, id, &order);
  load (f, other_id, &other);
  g_assert_cmpint (order.order.charge.amount, ==, 10000);
  g_assert_cmpstr (order.order.charge.status, ==, "voiding");
  g_assert_cmpstr (order.order.row.status, ==, "failed");
  g_assert_cmpstr (other.order.charge.status, ==, "voiding");
  g_assert_cmpstr (other.order.row.status, ==, "failed");
  g_assert_cmpint (order_cards (f, id), ==, 0);
  g_assert_cmpint (order_cards (f, other_id), ==, 0);
  assert_audit (f, 0);
}

/* An approval whose cards could not be issued however often the site
 * tried is given back: the order fails (payable again), nothing is in the
 * ledger, and the answer says the money goes back, not that the bank
 * declined. Another result is settled as usual. */
static void
test_pay_undeliverable (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 30000, (gint64) 2);
  GwFundingCheck funding = credit_card ();
  g_autofree char *charge = begin_charge (f, id, &funding);
  g_autofree char *again = NULL;
  g_autofree char *other_id = create_order (f, 1, (gint64) 10000, (gint64) 1);
  g_autofree char *other_charge = begin_charge (f, other_id, &funding);
  g_auto(Op) answer = { .kind = OP_PAY_ANSWER, .id = id };
  g_auto(Op) voided = { .kind = OP_VOIDED, .id = charge, .voided = TRUE };
  g_auto(Op) paid = { .kind = OP_PAY_ANSWER, .id = id };
  g_auto(Op) other = { .kind = OP_PAY_ANSWER, .id = other_id };
  g_autoptr(GPtrArray) statements = NULL;

  g_test_expect_message ("onepin-gateway", G_LOG_LEVEL_WARNING, "*could not be issued*");
  g_assert_cmpint (settle_undeliverable (f, charge, &approved), ==, GW_ORDERS_NEXT_VOID);
  g_test_assert_expected_messages ();
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_GIVEN_BACK);
  g_assert_cmpstr (answer.outcome.bank_decline, ==, "allocation_failed");
  g_assert_cmpstr (answer.order.row.status, ==, "failed");
  g_assert_cmpstr (answer.order.charge.status, ==, "voiding");
  g_assert_cmpstr (answer.order.charge.decline_code, ==, "allocation_failed");
  g_assert_cmpint (order_cards (f, id), ==, 0);
  statements = outbox (f, "purchase_statement");
  g_assert_cmpuint (statements->len, ==, 0);
  assert_audit (f, 0);

  /* Told again, the approval changes nothing: the charge is being voided. */
  g_assert_cmpint (settle (f, charge, &approved), ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpint (order_cards (f, id), ==, 0);
  run (f, &voided);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges WHERE status = 'voided'"), ==, 1);

  /* Once issuing works, the order is paid with a new charge. */
  again = begin_charge (f, id, &funding);
  g_assert_cmpstr (again, !=, charge);
  settle (f, again, &approved);
  run (f, &paid);
  g_assert_cmpint (paid.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpuint (paid.order.cards->len, ==, 2);
  assert_audit (f, 60000);

  /* A decline is a decline, however the site settles it. */
  g_assert_cmpint (settle_undeliverable (f, other_charge, &declined), ==, GW_ORDERS_NEXT_ANSWER);
  run (f, &other);
  g_assert_cmpint (other.outcome.result, ==, GW_ORDERS_FUNDING_DECLINED);
  g_assert_cmpstr (other.outcome.bank_decline, ==, "insufficient_funds");
}

/* The request whose charge was given back, retried with its key, learns
 * that, however the give-back was settled, and is not charged again;
 * another request with that key is refused, unstored; a new key pays. */
static void
test_pay_key_after_give_back (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 30000, (gint64) 1);
  GwFundingCheck funding = credit_card ();
  GwPayKey key = { { 1 }, { 2 } };
  GwPayKey other_body = { { 1 }, { 3 } };
  GwPayKey new_key = { { 4 }, { 2 } };
  g_auto(Op) first = { .kind = OP_PAY_BEGIN, .id = id, .funding = funding, .pay_key = &key };
  g_auto(Op) retry = { .kind = OP_PAY_BEGIN, .id = id, .funding = funding, .pay_key = &key };
  g_auto(Op) reused = { .kind = OP_PAY_BEGIN, .id = id, .funding = funding,
                        .pay_key = &other_body };
  g_auto(Op) paid = { .kind = OP_PAY_BEGIN, .id = id, .funding = funding, .pay_key = &new_key };

  run (f, &first);
  g_assert_cmpint (first.step.next, ==, GW_ORDERS_NEXT_CHARGE);
  g_test_expect_message ("onepin-gateway", G_LOG_LEVEL_WARNING, "*could not be issued*");
  g_assert_cmpint (settle_undeliverable (f, first.step.id, &approved), ==, GW_ORDERS_NEXT_VOID);
  g_test_assert_expected_messages ();

  run (f, &retry);
  g_assert_cmpint (retry.outcome.result, ==, GW_ORDERS_GIVEN_BACK);
  g_assert_cmpstr (retry.outcome.bank_decline, ==, "allocation_failed");
  g_assert_false (retry.outcome.unstored);
  g_assert_cmpint (retry.step.next, ==, GW_ORDERS_NEXT_ANSWER);
  run (f, &reused);
  g_assert_cmpint (reused.outcome.result, ==, GW_ORDERS_KEY_REUSED);
  g_assert_true (reused.outcome.unstored);
  g_assert_cmpint (reused.step.next, ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges"), ==, 1);

  run (f, &paid);
  g_assert_cmpint (paid.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (paid.step.next, ==, GW_ORDERS_NEXT_CHARGE);
  g_assert_cmpstr (paid.step.id, !=, first.step.id);
}

/* The first answer to a pay request did not carry the bank's word (it was
 * slow: 409 payment_in_progress, not stored), and the sweep learned it
 * later: a decline. The same request again gets that decline (stored), not
 * a second charge; a charge the bank never saw leaves the order payable
 * with the same key. */
static void
test_pay_key_after_late_decline (Fixture       *f,
                                 gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 30000, (gint64) 1);
  g_autofree char *unsent_id = create_order (f, 1, (gint64) 30000, (gint64) 1);
  GwFundingCheck funding = credit_card ();
  GwPayKey key = { { 1 }, { 2 } };
  GwPayKey unsent_key = { { 5 }, { 6 } };
  g_auto(Op) first = { .kind = OP_PAY_BEGIN, .id = id, .funding = funding, .pay_key = &key };
  g_auto(Op) retry = { .kind = OP_PAY_BEGIN, .id = id, .funding = funding, .pay_key = &key };
  g_auto(Op) unsent = { .kind = OP_PAY_BEGIN, .id = unsent_id, .funding = funding,
                        .pay_key = &unsent_key };
  g_auto(Op) unsent_retry = { .kind = OP_PAY_BEGIN, .id = unsent_id, .funding = funding,
                              .pay_key = &unsent_key };
  g_autofree char *short_id = create_order (f, 1, (gint64) 30000, (gint64) 1);
  GwPayKey short_key = { { 7 }, { 8 } };
  GwChargeResult short_approval = { .status = GW_CHARGE_APPROVED, .reference = "bank_ref_2",
                                    .amount = 20000 };
  g_auto(Op) short_paid = { .kind = OP_PAY_BEGIN, .id = short_id, .funding = funding,
                            .pay_key = &short_key };
  g_auto(Op) short_retry = { .kind = OP_PAY_BEGIN, .id = short_id, .funding = funding,
                             .pay_key = &short_key };
  g_autofree char *canceled_id = create_order (f, 1, (gint64) 30000, (gint64) 1);
  GwPayKey canceled_key = { { 9 }, { 10 } };
  GwChargeResult canceled = { .status = GW_CHARGE_CANCELED, .reference = "bank_ref_3" };
  GwChargeResult late = { .status = GW_CHARGE_APPROVED, .reference = "bank_ref_3",
                          .amount = 30000 };
  g_auto(Op) canceled_paid = { .kind = OP_PAY_BEGIN, .id = canceled_id, .funding = funding,
                               .pay_key = &canceled_key };
  g_auto(Op) canceled_retry = { .kind = OP_PAY_BEGIN, .id = canceled_id, .funding = funding,
                                .pay_key = &canceled_key };
  g_auto(Op) voided_retry = { .kind = OP_PAY_BEGIN, .id = canceled_id, .funding = funding,
                              .pay_key = &canceled_key };

  run (f, &first);
  g_assert_cmpint (first.step.next, ==, GW_ORDERS_NEXT_CHARGE);
  settle (f, first.step.id, &declined);

  run (f, &retry);
  g_assert_cmpint (retry.outcome.result, ==, GW_ORDERS_FUNDING_DECLINED);
  g_assert_cmpstr (retry.outcome.bank_decline, ==, "insufficient_funds");
  g_assert_true (retry.outcome.unstored);       /* it may yet be approved */
  g_assert_cmpint (retry.step.next, ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges"), ==, 1);

  /* approved for another sum: given back, a decline too */
  run (f, &short_paid);
  g_assert_cmpint (short_paid.step.next, ==, GW_ORDERS_NEXT_CHARGE);
  g_test_expect_message ("onepin-gateway", G_LOG_LEVEL_WARNING, "*another amount*");
  g_assert_cmpint (settle (f, short_paid.step.id, &short_approval), ==, GW_ORDERS_NEXT_VOID);
  g_test_assert_expected_messages ();
  run (f, &short_retry);
  g_assert_cmpint (short_retry.outcome.result, ==, GW_ORDERS_FUNDING_DECLINED);
  g_assert_cmpstr (short_retry.outcome.bank_decline, ==, "do_not_honor");
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges"), ==, 2);

  /* canceled at the bank, then approved after all: the money goes back,
   * and the retry still learns of a decline, before and after */
  run (f, &canceled_paid);
  g_assert_cmpint (canceled_paid.step.next, ==, GW_ORDERS_NEXT_CHARGE);
  settle (f, canceled_paid.step.id, &canceled);
  run (f, &canceled_retry);
  g_assert_cmpint (canceled_retry.outcome.result, ==, GW_ORDERS_FUNDING_DECLINED);
  g_assert_cmpstr (canceled_retry.outcome.bank_decline, ==, "do_not_honor");
  g_assert_cmpint (settle (f, canceled_paid.step.id, &late), ==, GW_ORDERS_NEXT_VOID);
  run (f, &voided_retry);
  g_assert_cmpint (voided_retry.outcome.result, ==, GW_ORDERS_FUNDING_DECLINED);
  g_assert_cmpstr (voided_retry.outcome.bank_decline, ==, "do_not_honor");
  g_assert_true (voided_retry.outcome.unstored);
  g_assert_cmpint (voided_retry.step.next, ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges"), ==, 3);

  run (f, &unsent);
  g_assert_cmpint (unsent.step.next, ==, GW_ORDERS_NEXT_CHARGE);
  settle (f, unsent.step.id, NULL);                /* the bank was down */
  run (f, &unsent_retry);
  g_assert_cmpint (unsent_retry.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (unsent_retry.step.next, ==, GW_ORDERS_NEXT_CHARGE);
  g_assert_cmpstr (unsent_retry.step.id, !=, unsent.step.id);
}

/* An approval wipes the charge's earlier decline or `not_sent`: a charge
 * the bank never saw, approved late after another key paid the order, goes
 * back with no code, and its key's retry gets the order's answer, not a
 * 402 `not_sent`; a decline approved late that pays the order is no
 * decline either. */
static void
test_pay_key_approved_late (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 30000, (gint64) 1);
  g_autofree char *declined_id = create_order (f, 1, (gint64) 30000, (gint64) 1);
  GwFundingCheck funding = credit_card ();
  GwPayKey key = { { 11 }, { 12 } };
  GwPayKey other_key = { { 13 }, { 14 } };
  g_auto(Op) first = { .kind = OP_PAY_BEGIN, .id = id, .funding = funding, .pay_key = &key };
  g_auto(Op) other = { .kind = OP_PAY_BEGIN, .id = id, .funding = funding,
                       .pay_key = &other_key };
  g_auto(Op) retry = { .kind = OP_PAY_BEGIN, .id = id, .funding = funding, .pay_key = &key };
  g_autofree char *declined_charge = NULL;
  g_autofree char *sql = NULL;

  run (f, &first);
  settle (f, first.step.id, NULL);                 /* the bank was down */
  run (f, &other);
  g_assert_cmpint (other.step.next, ==, GW_ORDERS_NEXT_CHARGE);
  g_assert_cmpint (settle (f, other.step.id, &approved), ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpint (settle (f, first.step.id, &approved), ==, GW_ORDERS_NEXT_VOID);
  run (f, &retry);
  g_assert_cmpint (retry.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (retry.step.next, ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges WHERE decline_code IS NOT NULL "
                               "AND decline_code != ''"), ==, 0);

  declined_charge = begin_charge (f, declined_id, &funding);
  settle (f, declined_charge, &declined);
  g_assert_cmpint (settle (f, declined_charge, &approved), ==, GW_ORDERS_NEXT_ANSWER);
  sql = g_strdup_printf ("SELECT COUNT(*) FROM charges WHERE id = '%s' AND status = 'approved' "
                         "AND COALESCE (decline_code, '') = ''", declined_charge);
  g_assert_cmpint (sql_int (f, sql), ==, 1);
  g_assert_cmpint (order_cards (f, declined_id), ==, 1);
}

static void
test_onepin_card_refused (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 10000, (gint64) 1);
  GwCredentials credentials;
  g_autofree char *number = NULL;
  g_auto(Op) op = { .kind = OP_PAY_BEGIN, .id = id };

  new_card (f, 10000, FALSE, &credentials, &number);
  op.funding.method = GW_FUNDING_CREDIT_CARD;
  op.funding.card_well_formed = TRUE;
  memcpy (op.funding.card_lookup, credentials.lookup, 32);
  run (f, &op);
  g_assert_cmpint (op.outcome.result, ==, GW_ORDERS_REFUSED);
  g_assert_cmpstr (op.outcome.code, ==, "payment_method_not_accepted");
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges"), ==, 0);
}

/* Gifts */

static void
test_gift_and_claim (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *id = create_order (f, 1, (gint64) 30000, (gint64) 2);
  GwFundingCheck funding = credit_card ();
  g_autofree char *charge = begin_charge (f, id, &funding);
  g_auto(Op) answer = { .kind = OP_PAY_ANSWER, .id = id };
  g_auto(Op) give = { .kind = OP_GIVE, .id = id };
  g_auto(Op) twice = { .kind = OP_GIVE, .id = id };
  g_auto(Op) preview = { .kind = OP_OPEN_GIFT };
  g_auto(Op) claim = { .kind = OP_OPEN_GIFT, .claim = TRUE };
  g_auto(Op) claim_again = { .kind = OP_OPEN_GIFT, .claim = TRUE };
  g_auto(Op) unknown = { .kind = OP_OPEN_GIFT };
  g_auto(Op) registered = { .kind = OP_GIVE, .id = id };
  g_auto(Op) foreign = { .kind = OP_GIVE, .id = id };
  g_auto(Op) reg = { .kind = OP_REGISTER };
  g_auto(Op) order = { 0 };
  g_autoptr(GPtrArray) mails = NULL;
  JsonObject *gift_data;
  GwCredentials credentials;
  GwOrderCard *gifted, *kept;

  settle (f, charge, &approved);
  run (f, &answer);
  gifted = &g_array_index (answer.order.cards, GwOrderCard, 0);
  kept = &g_array_index (answer.order.cards, GwOrderCard, 1);

  give.gift_request = (GwGiftRequest) {
    .card_id = gifted->row.card_id, .design = "christmas", .recipient_name = "김철수",
    .recipient_email = "kim@example.com", .sender_name = "홍길동",
    .message = "Merry Christmas!", .font_color = "#c0392b", .font_size = 12,
    .music = "jingle_bell", .locale = "en", .claim_token = "gct_secret_token",
  };
  memset (give.gift_request.claim_hash, 0x44, 32);
  run (f, &give);
  g_assert_cmpint (give.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpstr (give.gift.row.status, ==, "sent");
  g_assert_cmpint (give.gift.amount, ==, 30000);
  g_assert_null (give.gift.card_number);

  mails = outbox (f, "gift");
  g_assert_cmpuint (mails->len, ==, 1);
  g_assert_cmpstr (onepin_json_get_string (g_ptr_array_index (mails, 0), "to", ""), ==,
                   "kim@example.com");
  g_assert_cmpstr (onepin_json_get_string (g_ptr_array_index (mails, 0), "locale", ""), ==, "en");
  gift_data = mail_data (g_ptr_array_index (mails, 0));
  g_assert_cmpstr (onepin_json_get_string (gift_data, "claim_url", ""), ==,
                   "https://cards.example/claim#gct_secret_token");
  g_assert_cmpint (onepin_json_get_int (gift_data, "font_size", 0), ==, 12);
  /* The e-mail never carries the number. */
  {
    g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), gift_data);
    g_autofree char *text = json_to_string (node, FALSE);

    g_assert_null (strstr (text, gifted->number));
  }

  twice.gift_request = give.gift_request;
  memset (twice.gift_request.claim_hash, 0x45, 32);
  run (f, &twice);
  g_assert_cmpstr (twice.outcome.code, ==, "card_already_gifted");

  load (f, id, &order);
  g_assert_cmpstr (g_array_index (order.order.cards, GwOrderCard, 0).row.purpose, ==, "gift");
  g_assert_cmpstr (g_array_index (order.order.cards, GwOrderCard, 0).row.gift_status, ==, "sent");
  g_assert_cmpstr (g_array_index (order.order.cards, GwOrderCard, 1).row.purpose, ==, "user");

  memset (preview.hash, 0x44, 32);
  run (f, &preview);
  g_assert_cmpint (preview.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpstr (preview.gift.message, ==, "Merry Christmas!");
  g_assert_null (preview.gift.card_number);

  memset (claim.hash, 0x44, 32);
  run (f, &claim);
  g_assert_cmpint (claim.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpstr (claim.gift.card_number, ==, gifted->number);
  g_assert_cmpstr (claim.gift.row.status, ==, "claimed");
  memset (claim_again.hash, 0x44, 32);
  run (f, &claim_again);
  g_assert_cmpstr (claim_again.outcome.code, ==, "gift_already_claimed");
  g_assert_null (claim_again.gift.card_number);
  memset (unknown.hash, 0x99, 32);
  run (f, &unknown);
  g_assert_cmpint (unknown.outcome.result, ==, GW_ORDERS_NOT_FOUND);
  g_assert_cmpstr (unknown.outcome.param, ==, "token");

  /* A card with a password cannot be given; a card of another order is not found. */
  gw_ledger_credentials (&f->ledger, kept->number, PASSWORD, &credentials);
  reg.credentials = &credentials;
  run (f, &reg);
  registered.gift_request = give.gift_request;
  registered.gift_request.card_id = kept->row.card_id;
  memset (registered.gift_request.claim_hash, 0x46, 32);
  run (f, &registered);
  g_assert_cmpstr (registered.outcome.code, ==, "card_already_registered");
  foreign.gift_request = registered.gift_request;
  foreign.gift_request.card_id = "card_000000000000000000000000";
  run (f, &foreign);
  g_assert_cmpint (foreign.outcome.result, ==, GW_ORDERS_NOT_FOUND);
  g_assert_cmpstr (foreign.outcome.param, ==, "card");
}

/* Buys a card of 10,000 and gives it, its claim hash all @hash: the
 * card's number (the giver saw it). */
static char *
give_a_card (Fixture *f,
             guint8   hash)
{
  g_autofree char *id = create_order (f, 1, (gint64) 10000, (gint64) 1);
  GwFundingCheck funding = credit_card ();
  g_autofree char *charge = begin_charge (f, id, &funding);
  g_auto(Op) answer = { .kind = OP_PAY_ANSWER, .id = id };
  g_auto(Op) give = { .kind = OP_GIVE, .id = id };
  GwOrderCard *gifted;

  settle (f, charge, &approved);
  run (f, &answer);
  gifted = &g_array_index (answer.order.cards, GwOrderCard, 0);
  give.gift_request = (GwGiftRequest) {
    .card_id = gifted->row.card_id, .design = "christmas", .recipient_name = "김철수",
    .recipient_email = "kim@example.com", .sender_name = "홍길동", .message = "",
    .font_color = "#000000", .font_size = 12, .music = "", .locale = "ko",
    .claim_token = "gct_secret_token",
  };
  memset (give.gift_request.claim_hash, hash, 32);
  run (f, &give);
  g_assert_cmpint (give.outcome.result, ==, GW_ORDERS_OK);
  return g_strdup (gifted->number);
}

/* A card given before registration was refused for given cards, and
 * registered by its buyer since: the recipient's claim is refused and
 * reveals nothing. */
static void
test_gift_registered_before_claim (Fixture       *f,
                                   gconstpointer  data)
{
  g_autofree char *number = give_a_card (f, 0x47);
  g_auto(Op) reg = { .kind = OP_REGISTER };
  g_auto(Op) claim = { .kind = OP_OPEN_GIFT, .claim = TRUE };
  GwCredentials credentials;

  gw_ledger_credentials (&f->ledger, number, PASSWORD, &credentials);
  reg.credentials = &credentials;
  run (f, &reg);

  memset (claim.hash, 0x47, 32);
  run (f, &claim);
  g_assert_cmpint (claim.outcome.result, ==, GW_ORDERS_CONFLICT);
  g_assert_cmpstr (claim.outcome.code, ==, "gift_card_registered");
  g_assert_null (claim.gift.card_number);
  g_assert_cmpstr (claim.gift.row.status, ==, "sent");
}

/* The buyer cannot register a card they gave: the recipient's claim
 * registers it, with the recipient's password. */
static void
test_gift_register_refused (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *number = give_a_card (f, 0x48);
  g_auto(Op) reg = { .kind = OP_REGISTER_GIFT };
  g_auto(Op) claim = { .kind = OP_OPEN_GIFT, .claim = TRUE };
  g_auto(Op) again = { .kind = OP_REGISTER_GIFT };
  GwCredentials credentials;

  gw_ledger_credentials (&f->ledger, number, "giver", &credentials);
  reg.credentials = &credentials;
  run (f, &reg);
  g_assert_cmpint (reg.outcome.result, ==, GW_ORDERS_CONFLICT);
  g_assert_cmpstr (reg.outcome.code, ==, "card_gifted");

  memset (claim.hash, 0x48, 32);
  run (f, &claim);
  g_assert_cmpint (claim.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpstr (claim.gift.card_number, ==, number);
  again.credentials = &credentials;
  run (f, &again);
  g_assert_cmpint (again.outcome.result, ==, GW_ORDERS_CARD_DECLINED);
  g_assert_cmpint (again.outcome.card.code, ==, GW_RESULT_ALREADY_REGISTERED);
}

/* Recharges */

static GwRecharge
recharge (Fixture             *f,
          const GwCredentials *credentials,
          gint64               amount,
          const GwRechargeKey *key,
          GwOrdersOutcome     *outcome,
          GwOrdersStep        *step)
{
  g_auto(Op) op = {
    .kind = OP_RECHARGE_BEGIN, .credentials = credentials, .amount = amount,
    .funding = credit_card (), .contact = { "hong@example.com", "ko" },
    .key = key,
  };
  GwRecharge out;

  run (f, &op);
  *outcome = op.outcome;
  *step = op.step;
  out = op.recharge;
  out.row.contact_sealed = NULL;
  return out;
}

static void
test_recharge (Fixture       *f,
               gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 50000, FALSE, &credentials, NULL);
  GwOrdersOutcome outcome;
  GwOrdersStep step;
  GwRecharge r = recharge (f, &credentials, 30000, NULL, &outcome, &step);
  g_auto(Op) answer = { .kind = OP_RECHARGE_ANSWER, .id = r.row.id };
  g_autoptr(GPtrArray) mails = NULL;

  g_assert_cmpint (outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_CHARGE);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 50000);
  settle (f, step.id, &approved);
  settle (f, step.id, &approved);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 80000);
  g_assert_cmpint (get_card (f, card.id).expires_at, ==, card.expires_at);
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpstr (answer.recharge.row.status, ==, "succeeded");
  g_assert_cmpint (answer.recharge.row.balance_after, ==, 80000);
  mails = outbox (f, "recharge");
  g_assert_cmpuint (mails->len, ==, 1);
  g_assert_cmpint (onepin_json_get_int (mail_data (g_ptr_array_index (mails, 0)),
                                        "balance_after", 0), ==, 80000);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM journal_entries WHERE kind = 'recharge'"),
                   ==, 1);
  assert_audit (f, 80000);
}

static void
test_recharge_promotional (Fixture       *f,
                           gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 10000, TRUE, &credentials, NULL);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  GwOrdersOutcome outcome;
  GwOrdersStep step;
  GwCard after;

  /* Valid one year at issue, and one more from its expiry on each recharge. */
  g_assert_true (card.promotional);
  g_assert_cmpint (card.expires_at, >=, now + 364 * 86400);
  g_assert_cmpint (card.expires_at, <=, now + 367 * 86400);
  recharge (f, &credentials, 10000, NULL, &outcome, &step);
  settle (f, step.id, &approved);
  after = get_card (f, card.id);
  g_assert_cmpint (after.expires_at, >=, card.expires_at + 365 * 86400);
  g_assert_cmpint (after.expires_at, <=, card.expires_at + 366 * 86400);
}

static void
test_recharge_cap (Fixture       *f,
                   gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 100000, FALSE, &credentials, NULL);
  GwOrdersOutcome outcome;
  GwOrdersStep step;
  GwRecharge r;
  g_auto(Op) fund = { .kind = OP_FUND, .amount = 850000 };
  g_auto(Op) more = { .kind = OP_FUND, .amount = 40000 };
  g_auto(Op) answer = { .kind = OP_RECHARGE_ANSWER };
  g_auto(Op) voided = { .kind = OP_VOIDED, .voided = TRUE };

  fund.card = card;
  run (f, &fund);                                  /* 950,000 */
  recharge (f, &credentials, 60000, NULL, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_CARD_DECLINED);
  g_assert_cmpint (outcome.card.decline, ==, GW_DECLINE_BALANCE_LIMIT);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges"), ==, 0);

  /* It fits when asked, but another credit lands before the bank answers:
   * the database refuses the credit and the charge is given back. */
  r = recharge (f, &credentials, 50000, NULL, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_OK);
  more.card = card;
  run (f, &more);                                  /* 990,000 */
  g_assert_cmpint (settle (f, step.id, &approved), ==, GW_ORDERS_NEXT_VOID);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 990000);
  answer.id = r.row.id;
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_CARD_DECLINED);
  g_assert_cmpint (answer.outcome.card.decline, ==, GW_DECLINE_BALANCE_LIMIT);
  g_assert_cmpstr (answer.recharge.charge.status, ==, "voiding");
  voided.id = step.id;
  run (f, &voided);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges WHERE status = 'voided'"), ==, 1);
  assert_audit (f, 990000);
}

/* A recharge that could not be credited however often the site tried:
 * the card keeps its balance, the recharge fails as credit_failed and its
 * charge is given back. */
static void
test_recharge_undeliverable (Fixture       *f,
                             gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 50000, FALSE, &credentials, NULL);
  GwOrdersOutcome outcome;
  GwOrdersStep step;
  GwRecharge r = recharge (f, &credentials, 30000, NULL, &outcome, &step);
  g_auto(Op) answer = { .kind = OP_RECHARGE_ANSWER, .id = r.row.id };
  g_autoptr(GPtrArray) mails = NULL;

  g_assert_cmpint (outcome.result, ==, GW_ORDERS_OK);
  g_test_expect_message ("onepin-gateway", G_LOG_LEVEL_WARNING, "*could not be credited*");
  g_assert_cmpint (settle_undeliverable (f, step.id, &approved), ==, GW_ORDERS_NEXT_VOID);
  g_test_assert_expected_messages ();
  g_assert_cmpint (settle (f, step.id, &approved), ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 50000);
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_GIVEN_BACK);
  g_assert_cmpstr (answer.outcome.bank_decline, ==, "credit_failed");
  g_assert_cmpstr (answer.recharge.row.status, ==, "failed");
  g_assert_cmpstr (answer.recharge.charge.status, ==, "voiding");
  g_assert_cmpstr (answer.recharge.charge.decline_code, ==, "credit_failed");
  mails = outbox (f, "recharge");
  g_assert_cmpuint (mails->len, ==, 0);
  assert_audit (f, 50000);
}

static void
test_recharge_same_request (Fixture       *f,
                            gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 10000, FALSE, &credentials, NULL);
  GwRechargeKey key;
  GwOrdersOutcome outcome;
  GwOrdersStep first, second, third;
  GwRecharge r1, r2;

  memset (&key, 0x21, sizeof key);
  r1 = recharge (f, &credentials, 10000, &key, &outcome, &first);
  g_assert_cmpint (first.next, ==, GW_ORDERS_NEXT_CHARGE);
  /* Unknown outcome, the request repeated: ask about the same charge. */
  r2 = recharge (f, &credentials, 10000, &key, &outcome, &second);
  g_assert_cmpint (second.next, ==, GW_ORDERS_NEXT_QUERY);
  g_assert_cmpstr (second.id, ==, first.id);
  g_assert_cmpstr (r2.row.id, ==, r1.row.id);
  settle (f, first.id, &approved);
  recharge (f, &credentials, 10000, &key, &outcome, &third);
  g_assert_cmpint (third.next, ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges"), ==, 1);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 20000);
}

/* The key's recharge goes only to the same parameters on the same card,
 * after the card's password; neither refusal is stored (unstored). */
static void
test_recharge_key_reused (Fixture       *f,
                          gconstpointer  data)
{
  GwCredentials credentials, wrong, theirs;
  g_autofree char *number = NULL;
  GwCard card = new_card (f, 10000, FALSE, &credentials, &number);
  GwCard other = new_card (f, 10000, FALSE, &theirs, NULL);
  GwRechargeKey key, changed;
  GwOrdersOutcome outcome;
  GwOrdersStep first, step;

  memset (&key, 0x31, sizeof key);
  changed = key;
  changed.fingerprint[0] ^= 1;
  gw_ledger_credentials (&f->ledger, number, "0000", &wrong);
  recharge (f, &credentials, 10000, &key, &outcome, &first);
  g_assert_cmpint (first.next, ==, GW_ORDERS_NEXT_CHARGE);

  /* Other parameters: 422, nothing of the recharge. */
  recharge (f, &credentials, 20000, &changed, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_KEY_REUSED);
  g_assert_true (outcome.unstored);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpstr (step.owner_id, ==, "");

  /* A wrong password: refused and counted before the key is looked at. */
  recharge (f, &wrong, 10000, &key, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_CARD_DECLINED);
  g_assert_true (outcome.card.credential_failure);
  g_assert_true (outcome.unstored);
  g_assert_cmpstr (step.owner_id, ==, "");
  g_assert_cmpint (get_card (f, card.id).failures, ==, 1);

  /* Another card whose request (in this test) hashes to the same key. */
  recharge (f, &theirs, 10000, &key, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_KEY_REUSED);

  /* The same request still learns its own. */
  recharge (f, &credentials, 10000, &key, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_OK);
  g_assert_false (outcome.unstored);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_QUERY);
  g_assert_cmpstr (step.id, ==, first.id);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges"), ==, 1);
  g_assert_cmpint (get_card (f, other.id).balance, ==, 10000);
}

/* "Never seen" from a bank whose books may lag: the recharge stays
 * processing until its charge was sent charge_missing_after ago, counted
 * from the last send: a retry sends it again under the same id. */
static void
test_recharge_not_found (Fixture       *f,
                         gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 10000, FALSE, &credentials, NULL);
  GwRechargeKey key;
  GwOrdersOutcome outcome;
  GwOrdersStep first, step;
  GwRecharge r;
  g_auto(Op) answer = { .kind = OP_RECHARGE_ANSWER };

  memset (&key, 0x52, sizeof key);
  f->config.charge_missing_after = 1;
  r = recharge (f, &credentials, 10000, &key, &outcome, &first);
  answer.id = r.row.id;
  settle (f, first.id, NULL);                      /* the bank was down */
  g_usleep (1100 * 1000);

  /* Sent again long after the recharge began: young again. */
  recharge (f, &credentials, 10000, &key, &outcome, &step);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_CHARGE);
  g_assert_cmpstr (step.id, ==, first.id);
  settle_not_found (f, step.id);
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_BANK_UNKNOWN);
  g_assert_cmpstr (answer.recharge.row.status, ==, "processing");
  g_assert_cmpint (get_card (f, card.id).balance, ==, 10000);

  /* Booked a moment later: credited. */
  settle (f, step.id, &approved);
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpstr (answer.recharge.row.status, ==, "succeeded");
  g_assert_cmpint (get_card (f, card.id).balance, ==, 20000);

  /* Never booked: failed once old enough, and nothing credited. */
  r = recharge (f, &credentials, 10000, NULL, &outcome, &step);
  answer.id = r.row.id;
  settle_not_found (f, step.id);
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_BANK_UNKNOWN);
  g_usleep (1100 * 1000);
  settle_not_found (f, step.id);
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_BANK_UNAVAILABLE);
  g_assert_cmpstr (answer.recharge.row.status, ==, "failed");
  g_assert_cmpint (get_card (f, card.id).balance, ==, 20000);
  assert_audit (f, 20000);
}

/* A recharge whose charge never reached the bank did nothing: the same
 * request charges again, under the same charge id, and only it. */
static void
test_recharge_retry_unsent (Fixture       *f,
                            gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 10000, FALSE, &credentials, NULL);
  GwRechargeKey key, changed;
  GwOrdersOutcome outcome;
  GwOrdersStep first, step;
  GwRecharge r;
  g_auto(Op) answer = { .kind = OP_RECHARGE_ANSWER };

  memset (&key, 0x51, sizeof key);
  changed = key;
  changed.fingerprint[31] ^= 1;
  r = recharge (f, &credentials, 10000, &key, &outcome, &first);
  settle (f, first.id, NULL);                      /* the bank was down */
  answer.id = r.row.id;
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_BANK_UNAVAILABLE);

  recharge (f, &credentials, 10000, &changed, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_KEY_REUSED);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_ANSWER);

  recharge (f, &credentials, 10000, &key, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_CHARGE);
  g_assert_cmpstr (step.id, ==, first.id);
  g_assert_cmpint (step.amount, ==, 10000);
  g_assert_cmpstr (step.owner_id, ==, r.row.id);
  settle (f, step.id, &approved);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 20000);

  recharge (f, &credentials, 10000, &key, &outcome, &step);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges"), ==, 1);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 20000);
  assert_audit (f, 20000);
}

/* A row made before migration 012 is keyed in the shared scope "public"
 * and has no fingerprint: its own card's request finds it there, another
 * card's request does not. */
static void
test_recharge_legacy_key (Fixture       *f,
                          gconstpointer  data)
{
  GwCredentials credentials, theirs;
  GwCard card = new_card (f, 10000, FALSE, &credentials, NULL);
  GwCard other = new_card (f, 10000, FALSE, &theirs, NULL);
  GwRechargeKey old, mine, their;
  GwOrdersOutcome outcome;
  GwOrdersStep first, step;
  GwRecharge r;

  memset (&old, 0x41, sizeof old);
  recharge (f, &credentials, 10000, &old, &outcome, &first);
  sql_exec (f, "UPDATE recharges SET request_fingerprint = NULL");
  memset (&mine, 0x42, sizeof mine);
  memcpy (mine.legacy_key, old.request_key, 32);
  memset (&their, 0x43, sizeof their);
  memcpy (their.legacy_key, old.request_key, 32);

  r = recharge (f, &credentials, 10000, &mine, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_QUERY);
  g_assert_cmpstr (step.id, ==, first.id);

  r = recharge (f, &theirs, 10000, &their, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_CHARGE);
  g_assert_cmpstr (r.row.card_id, ==, other.id);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM charges"), ==, 2);
  g_assert_cmpstr (card.id, !=, other.id);
}

static void
test_recharge_declines (Fixture       *f,
                        gconstpointer  data)
{
  GwCredentials credentials, wrong;
  g_autofree char *number = NULL;
  GwOrdersOutcome outcome;
  GwOrdersStep step;
  GwRecharge r;
  g_auto(Op) answer = { .kind = OP_RECHARGE_ANSWER };

  new_card (f, 10000, FALSE, &credentials, &number);
  gw_ledger_credentials (&f->ledger, number, "0000", &wrong);
  recharge (f, &wrong, 10000, NULL, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_CARD_DECLINED);
  g_assert_true (outcome.card.credential_failure);
  recharge (f, &credentials, 15000, NULL, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_REFUSED);
  g_assert_cmpstr (outcome.param, ==, "amount");

  r = recharge (f, &credentials, 10000, NULL, &outcome, &step);
  settle (f, step.id, &declined);
  answer.id = r.row.id;
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_FUNDING_DECLINED);
  g_assert_cmpstr (answer.recharge.row.status, ==, "failed");
  assert_audit (f, 10000);
}

/* Balance refunds */

static GwPayout
keyed_payout (Fixture             *f,
              const GwCredentials *credentials,
              const GwPayoutKey   *key,
              GwOrdersOutcome     *outcome,
              GwOrdersStep        *step)
{
  g_auto(Op) op = {
    .kind = OP_PAYOUT_BEGIN, .credentials = credentials, .payout_key = key,
    .contact = { "hong@example.com", "ko" },
  };
  GwPayout out;

  run (f, &op);
  *outcome = op.outcome;
  *step = op.step;
  out = op.payout;
  out.row.contact_sealed = NULL;
  return out;
}

static GwPayout
payout (Fixture             *f,
        const GwCredentials *credentials,
        GwOrdersOutcome     *outcome,
        GwOrdersStep        *step)
{
  return keyed_payout (f, credentials, NULL, outcome, step);
}

static void
payout_settle (Fixture              *f,
               const char           *payout_id,
               const GwChargeResult *result)
{
  g_auto(Op) op = { .kind = OP_PAYOUT_SETTLE, .id = payout_id, .result = result };

  run (f, &op);
}

/* A query's answer: the bank has no record of the payout. */
static void
payout_not_found (Fixture    *f,
                  const char *payout_id)
{
  g_auto(Op) op = { .kind = OP_PAYOUT_SETTLE, .id = payout_id, .not_found = TRUE };

  run (f, &op);
}

static void
test_payout (Fixture       *f,
             gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 30000, FALSE, &credentials, NULL);
  GwOrdersOutcome outcome;
  GwOrdersStep step, retry;
  GwPayout p;
  g_auto(Op) answer = { .kind = OP_PAYOUT_ANSWER };
  g_autoptr(GPtrArray) mails = NULL;
  GwChargeResult refused = { .status = GW_CHARGE_DECLINED, .decline_code = "no_such_account" };

  /* The card is emptied and closed while the bank works. */
  p = payout (f, &credentials, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_PAYOUT);
  g_assert_cmpint (p.row.amount, ==, 30000);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 0);
  g_assert_cmpstr (get_card (f, card.id).state, ==, "closed");
  assert_audit (f, 0);

  /* Asked again before the outcome is known: the same payout is queried. */
  payout (f, &credentials, &outcome, &retry);
  g_assert_cmpint (retry.next, ==, GW_ORDERS_NEXT_QUERY);
  g_assert_cmpstr (retry.id, ==, step.id);

  /* Refused: everything goes back. */
  payout_settle (f, step.id, &refused);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 30000);
  g_assert_cmpstr (get_card (f, card.id).state, ==, "active");
  answer.id = step.id;
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_PAYOUT_DECLINED);
  g_assert_cmpstr (answer.outcome.bank_decline, ==, "invalid_account");
  assert_audit (f, 30000);

  /* Again, paid out this time: closed for good, and never paid twice. */
  p = payout (f, &credentials, &outcome, &step);
  payout_settle (f, step.id, &approved);
  payout_settle (f, step.id, &refused);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 0);
  g_assert_cmpstr (get_card (f, card.id).state, ==, "closed");
  /* Asked again, the holder learns of that payout (a retry whose 503
   * was never stored), and nothing more is paid. */
  payout (f, &credentials, &outcome, &retry);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (retry.next, ==, GW_ORDERS_NEXT_QUERY);
  g_assert_cmpstr (retry.id, ==, step.id);
  mails = outbox (f, "refund");
  g_assert_cmpuint (mails->len, ==, 1);
  g_assert_cmpstr (onepin_json_get_string (mail_data (g_ptr_array_index (mails, 0)), "bank_name",
                                           ""), ==, "KB국민은행");
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM journal_entries WHERE kind = 'payout'"),
                   ==, 2);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM journal_entries"
                               " WHERE kind = 'payout_reversal'"), ==, 1);
  assert_audit (f, 0);
}

static void
test_payout_not_sent (Fixture       *f,
                      gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 20000, FALSE, &credentials, NULL);
  GwOrdersOutcome outcome;
  GwOrdersStep step;
  g_auto(Op) answer = { .kind = OP_PAYOUT_ANSWER };
  g_auto(Op) sweep = { .kind = OP_SWEEP, .amount = G_MAXINT64 };

  payout (f, &credentials, &outcome, &step);
  run (f, &sweep);
  g_assert_cmpuint (sweep.work->len, ==, 1);
  g_assert_cmpstr (g_array_index (sweep.work, GwOrdersWork, 0).id, ==, step.id);
  payout_settle (f, step.id, NULL);
  answer.id = step.id;
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_BANK_UNAVAILABLE);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 20000);
  g_assert_cmpstr (get_card (f, card.id).state, ==, "active");
  assert_audit (f, 20000);
}

/* A key made a payout: a retry with the same parameters learns its outcome,
 * settled meanwhile by someone else, and never pays again; other
 * parameters under the key are refused, unstored, as is a wrong password. */
static void
test_payout_key (Fixture       *f,
                 gconstpointer  data)
{
  GwCredentials credentials, wrong;
  g_autofree char *number = NULL;
  GwCard card = new_card (f, 30000, FALSE, &credentials, &number);
  GwPayoutKey key, other;
  GwOrdersOutcome outcome;
  GwOrdersStep first, step;
  GwChargeResult refused = { .status = GW_CHARGE_DECLINED, .decline_code = "no_such_account" };

  memset (&key, 0x51, sizeof key);
  memset (&other, 0x51, sizeof other);
  other.fingerprint[0] = 0x52;
  gw_ledger_credentials (&f->ledger, number, "0000", &wrong);

  keyed_payout (f, &credentials, &key, &outcome, &first);
  g_assert_cmpint (first.next, ==, GW_ORDERS_NEXT_PAYOUT);
  keyed_payout (f, &credentials, &key, &outcome, &step);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_QUERY);
  g_assert_cmpstr (step.id, ==, first.id);
  payout_settle (f, first.id, &refused);
  g_assert_cmpstr (get_card (f, card.id).state, ==, "active");

  keyed_payout (f, &credentials, &key, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_ANSWER);
  g_assert_cmpstr (step.owner_id, ==, first.id);
  keyed_payout (f, &credentials, &other, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_KEY_REUSED);
  g_assert_true (outcome.unstored);
  keyed_payout (f, &wrong, &key, &outcome, &step);
  g_assert_cmpint (outcome.result, ==, GW_ORDERS_CARD_DECLINED);
  g_assert_true (outcome.unstored);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM payouts"), ==, 1);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 30000);

  /* Never sent: the same request tries again as a new payout, which
   * takes the key over. */
  memset (&key, 0x61, sizeof key);
  keyed_payout (f, &credentials, &key, &outcome, &first);
  payout_settle (f, first.id, NULL);
  keyed_payout (f, &credentials, &key, &outcome, &step);
  g_assert_cmpint (step.next, ==, GW_ORDERS_NEXT_PAYOUT);
  g_assert_cmpstr (step.id, !=, first.id);
  keyed_payout (f, &credentials, &key, &outcome, &first);
  g_assert_cmpint (first.next, ==, GW_ORDERS_NEXT_QUERY);
  g_assert_cmpstr (first.id, ==, step.id);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM payouts WHERE request_key IS NOT NULL"),
                   ==, 2);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 0);
  assert_audit (f, 0);
}

/* "Never seen" from a bank whose books may lag: the payout stays pending
 * until it is payout_missing_after old, then everything goes back. */
static void
test_payout_not_found (Fixture       *f,
                       gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 20000, FALSE, &credentials, NULL);
  GwOrdersOutcome outcome;
  GwOrdersStep step;
  g_auto(Op) answer = { .kind = OP_PAYOUT_ANSWER };

  f->config.payout_missing_after = 3600;
  payout (f, &credentials, &outcome, &step);
  payout_not_found (f, step.id);
  answer.id = step.id;
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_BANK_UNKNOWN);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 0);
  g_assert_cmpstr (get_card (f, card.id).state, ==, "closed");
  assert_audit (f, 0);

  /* Old enough now: it never arrived. */
  f->config.payout_missing_after = 1;
  g_usleep (1100 * 1000);
  payout_not_found (f, step.id);
  run (f, &answer);
  g_assert_cmpint (answer.outcome.result, ==, GW_ORDERS_BANK_UNAVAILABLE);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 20000);
  g_assert_cmpstr (get_card (f, card.id).state, ==, "active");
  assert_audit (f, 20000);
}

/* Verification of an online payment */

typedef struct
{
  Fixture  *f;
  gboolean  done;
} MerchantSetup;

static gboolean
apply_merchant (GwTxn    *txn,
                gpointer  data,
                GError  **error)
{
  MerchantSetup *setup = data;
  guint8 key_hash[32];

  memset (key_hash, 0x5a, sizeof key_hash);
  return gw_ledger_create_merchant (txn, &setup->f->ledger, MERCHANT_ID, "e-lotto", "lottery",
                                    key_hash, "whsec_unit", error);
}

static void
merchant_done (gpointer      data,
               const GError *error)
{
  g_assert_no_error (error);
  ((MerchantSetup *) data)->done = TRUE;
}

static void
create_merchant (Fixture *f)
{
  MerchantSetup setup = { f, FALSE };

  gw_store_submit (GW_STORE (f->store), apply_merchant, merchant_done, &setup);
  while (!setup.done)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_payout_refusals (Fixture       *f,
                      gconstpointer  data)
{
  GwCredentials held, spent;
  GwCard card = new_card (f, 10000, FALSE, &held, NULL);
  GwOrdersOutcome outcome;
  GwOrdersStep step;
  g_auto(Op) hold = { .kind = OP_PAY, .credentials = &held, .amount = 10000 };
  g_auto(Op) pay = { .kind = OP_PAY, .credentials = &spent, .amount = 10000, .claim = TRUE };

  create_merchant (f);
  run (f, &hold);          /* an authorization, not captured */
  g_assert_cmpint (hold.card_outcome.code, ==, GW_RESULT_OK);
  payout (f, &held, &outcome, &step);
  g_assert_cmpstr (outcome.code, ==, "card_has_open_authorizations");
  g_assert_cmpint (get_card (f, card.id).balance, ==, 10000);
  g_assert_cmpstr (get_card (f, card.id).state, ==, "active");

  new_card (f, 10000, FALSE, &spent, NULL);
  run (f, &pay);
  g_assert_cmpint (pay.card_outcome.code, ==, GW_RESULT_OK);
  payout (f, &spent, &outcome, &step);
  g_assert_cmpstr (outcome.code, ==, "balance_zero");
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM payouts"), ==, 0);
  assert_audit (f, 10000);
}

static void
test_verify_payment (Fixture       *f,
                     gconstpointer  data)
{
  GwCredentials mine, other;
  g_auto(Op) pay = { .kind = OP_PAY, .credentials = &mine, .amount = 5000, .claim = TRUE };
  g_auto(Op) verify = { .kind = OP_VERIFY, .credentials = &mine };
  g_auto(Op) stranger = { .kind = OP_VERIFY, .credentials = &other };
  g_auto(Op) nothing = { .kind = OP_VERIFY, .credentials = &mine, .id = "pay_nope" };

  create_merchant (f);
  new_card (f, 10000, FALSE, &mine, NULL);
  new_card (f, 10000, FALSE, &other, NULL);
  run (f, &pay);
  g_assert_cmpint (pay.card_outcome.code, ==, GW_RESULT_OK);

  verify.id = pay.payment.id;
  run (f, &verify);
  g_assert_cmpint (verify.outcome.result, ==, GW_ORDERS_OK);
  g_assert_cmpint (verify.payment.amount, ==, 5000);
  g_assert_cmpstr (verify.merchant_name, ==, "e-lotto");
  /* Another card's payment is answered like no payment at all. */
  stranger.id = pay.payment.id;
  run (f, &stranger);
  g_assert_cmpint (stranger.outcome.result, ==, GW_ORDERS_NOT_FOUND);
  g_assert_cmpstr (stranger.outcome.param, ==, "payment");
  run (f, &nothing);
  g_assert_cmpint (nothing.outcome.result, ==, GW_ORDERS_NOT_FOUND);
}

/* A database that got later modules' migrations before this one (the
 * numbers are handed out ahead, the branches land in any order) still gets
 * the orders tables when it is opened next. (A migration this gateway does
 * not know is a newer gateway's, and refused: /contract/operations/
 * database-newer.) */
static void
test_migration_out_of_order (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;

  gw_store_shutdown (GW_STORE (f->store));
  g_clear_object (&f->store);
  g_assert_cmpint (sqlite3_open_v2 (f->db_path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "DROP TABLE payouts; DROP TABLE recharges; DROP TABLE gifts;"
                                     " DROP TABLE charges; DROP TABLE order_cards;"
                                     " DROP TABLE order_items; DROP TABLE orders;"
                                     " DELETE FROM schema_migrations WHERE version = 3;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'orders'"), ==, 0);

  f->store = gw_store_sqlite_new (f->db_path, seal_key, idempotency_key, lookup_key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'orders'"), ==, 1);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM schema_migrations WHERE version = 3"), ==, 1);
  g_free (create_order (f, 1, (gint64) 5000, (gint64) 1));
}

static OnepinKey *
fixed_key (guint8   fill,
           gboolean aes)
{
  guint8 raw[32];
  g_autoptr(GError) error = NULL;
  OnepinKey *key;

  memset (raw, fill, sizeof raw);
  key = aes ? onepin_key_new_aes (raw, sizeof raw, &error)
            : onepin_key_new_hmac (raw, sizeof raw, &error);
  g_assert_no_error (error);
  return key;
}

#define ADD(path, func) \
  g_test_add ("/orders/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

/* Another process between a read and a write. Each test reads a row with
 * the store's own primitive, lets "another process" commit a change to it,
 * then writes from the stale row: the write must be a conflict the writer
 * re-applies from fresh reads, never a second effect. */

static gboolean
call_order_get (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  gw_order_row_clear (&op->order_row);
  return store->order_get (txn, op->id, &op->order_row, error);
}

static gboolean
call_order_update (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  return store->order_update (txn, &op->order_row, error);
}

static gboolean
call_charge_get (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  return store->charge_get (txn, op->id, &op->charge_row, error);
}

static gboolean
call_charge_update (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  return store->charge_update (txn, &op->charge_row, error);
}

static gboolean
call_recharge_get (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  gw_recharge_row_clear (&op->recharge_row);
  return store->recharge_get (txn, op->id, &op->recharge_row, error);
}

static gboolean
call_recharge_update (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  return store->recharge_update (txn, &op->recharge_row, error);
}

static gboolean
call_payout_get (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  gw_payout_row_clear (&op->payout_row);
  return store->payout_get (txn, op->id, &op->payout_row, error);
}

static gboolean
call_payout_update (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  return store->payout_update (txn, &op->payout_row, error);
}

static gboolean
call_card_reopen (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  return store->card_set_state (txn, op->id, "closed", "active", error);
}

static gboolean
call_card_close_empty (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  return store->card_close_empty (txn, op->id, "active", error);
}

static gboolean
call_access_send (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  return store->access_code_send (txn, op->id, op->hash, 2000000000, txn->funcs->now (txn),
                                  3600, GW_ORDERS_ACCESS_CODES_PER_HOUR, error);
}

static gboolean
call_access_fail (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  return store->access_code_fail (txn, op->id, GW_ORDERS_ACCESS_CODE_ATTEMPTS, error);
}

static gboolean
call_access_use (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  return store->access_code_use (txn, op->id, op->hash, error);
}

/* Two payments that both read the order unpaid: the second is a conflict,
 * not a second charge; two settlements of one bank answer act once. */
static void
test_cas_order_paid_once (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *order_id = create_order (f, 1, 10000, 1);
  GwFundingCheck funding = credit_card ();
  g_autofree char *charge_id = NULL;
  g_auto(Op) stale = { .id = order_id };
  g_auto(Op) stale_charge = { 0 };
  g_autofree char *sql = NULL;

  run_call (f, &stale, call_order_get);
  g_assert_cmpstr (stale.order_row.status, ==, "created");
  charge_id = begin_charge (f, order_id, &funding);
  g_strlcpy (stale.order_row.status, "paying", sizeof stale.order_row.status);
  g_strlcpy (stale.order_row.charge_id, "chg_second", sizeof stale.order_row.charge_id);
  run_call_conflict (f, &stale, call_order_update);
  sql = g_strdup_printf ("SELECT COUNT(*) FROM orders WHERE id = '%s' AND charge_id = '%s'",
                         order_id, charge_id);
  g_assert_cmpint (sql_int (f, sql), ==, 1);

  stale_charge.id = charge_id;
  run_call (f, &stale_charge, call_charge_get);
  settle (f, charge_id, &approved);
  g_strlcpy (stale_charge.charge_row.status, "declined", sizeof stale_charge.charge_row.status);
  run_call_conflict (f, &stale_charge, call_charge_update);
  g_clear_pointer (&sql, g_free);
  sql = g_strdup_printf ("SELECT COUNT(*) FROM charges WHERE id = '%s' AND status = 'approved'",
                         charge_id);
  g_assert_cmpint (sql_int (f, sql), ==, 1);
}

/* A refused payout puts the money back once, and the card is reopened from
 * the state it was read in. */
static void
test_cas_payout_reversed_once (Fixture       *f,
                               gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 30000, FALSE, &credentials, NULL);
  GwOrdersOutcome outcome;
  GwOrdersStep step;
  GwChargeResult refused = { .status = GW_CHARGE_DECLINED, .decline_code = "no_such_account" };
  g_auto(Op) stale = { 0 };
  g_auto(Op) reopen = { .id = card.id };

  payout (f, &credentials, &outcome, &step);
  stale.id = step.id;
  run_call (f, &stale, call_payout_get);
  g_assert_cmpstr (stale.payout_row.status, ==, "pending");
  payout_settle (f, step.id, &refused);
  g_assert_cmpint (get_card (f, card.id).balance, ==, 30000);
  g_strlcpy (stale.payout_row.status, "failed", sizeof stale.payout_row.status);
  run_call_conflict (f, &stale, call_payout_update);
  run_call_conflict (f, &reopen, call_card_reopen);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM journal_entries"
                               " WHERE kind = 'payout_reversal'"), ==, 1);
  assert_audit (f, 30000);
}

/* A recharge does not succeed on a card closed since it was read, and a
 * card whose balance a credit raised after it was read is not closed. */
static void
test_cas_recharge_closed_card (Fixture       *f,
                               gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 50000, FALSE, &credentials, NULL);
  GwOrdersOutcome outcome;
  GwOrdersStep step;
  GwRecharge r = recharge (f, &credentials, 30000, NULL, &outcome, &step);
  g_auto(Op) stale = { .id = r.row.id };
  g_auto(Op) close = { .id = card.id };
  g_autofree char *sql = NULL;

  run_call (f, &stale, call_recharge_get);
  /* Another process paid the card out and closed it. */
  sql = g_strdup_printf ("UPDATE cards SET state = 'closed' WHERE id = '%s'", card.id);
  sql_exec (f, sql);
  g_strlcpy (stale.recharge_row.status, "succeeded", sizeof stale.recharge_row.status);
  run_call_conflict (f, &stale, call_recharge_update);
  g_clear_pointer (&sql, g_free);
  sql = g_strdup_printf ("SELECT COUNT(*) FROM recharges WHERE id = '%s' AND status = 'succeeded'",
                         r.row.id);
  g_assert_cmpint (sql_int (f, sql), ==, 0);

  /* Open again with its 50000: a payout that read 0 left cannot close it. */
  g_clear_pointer (&sql, g_free);
  sql = g_strdup_printf ("UPDATE cards SET state = 'active' WHERE id = '%s'", card.id);
  sql_exec (f, sql);
  run_call_conflict (f, &close, call_card_close_empty);
  g_assert_cmpstr (get_card (f, card.id).state, ==, "active");
}

/* Wrong codes and sends are counted by the database: two requests that
 * read the same counts both count. */
static void
test_cas_access_code_counts (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *order_id = create_order (f, 1, 10000, 1);
  g_autofree char *sql = NULL;
  g_auto(Op) op = { .id = order_id };
  guint8 other[32];

  memset (op.hash, 0x51, 32);
  memset (other, 0x52, 32);
  run_call (f, &op, call_access_send);
  run_call (f, &op, call_access_fail);
  run_call (f, &op, call_access_fail);
  sql = g_strdup_printf ("SELECT attempts * 10 + sent FROM order_access_codes"
                         " WHERE order_id = '%s'", order_id);
  g_assert_cmpint (sql_int (f, sql), ==, 21);

  /* The hour's last sends: the count in the table, not one read before, decides. */
  for (guint i = 1; i < GW_ORDERS_ACCESS_CODES_PER_HOUR; i++)
    run_call (f, &op, call_access_send);
  run_call_conflict (f, &op, call_access_send);
  g_assert_cmpint (sql_int (f, sql), ==, GW_ORDERS_ACCESS_CODES_PER_HOUR);

  /* Used once: a second request holding the same code finds it gone. */
  run_call (f, &op, call_access_use);
  run_call_conflict (f, &op, call_access_use);
  memcpy (op.hash, other, 32);
  run_call_conflict (f, &op, call_access_use);
}

static gboolean
call_wallet_charge_get (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  const GwWalletStoreFuncs *wallet = gw_txn_extension (txn, "wallet");

  gw_wallet_charge_clear (&op->wallet_charge);
  return wallet->charge_get (txn, op->id, &op->wallet_charge, error);
}

static gboolean
call_wallet_charge_update (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  const GwWalletStoreFuncs *wallet = gw_txn_extension (txn, "wallet");

  return wallet->charge_update (txn, &op->wallet_charge, error);
}

/* A failure of a login, by a request that read its count before the
 * others below were counted. */
static gboolean
call_wallet_attempt (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  const GwWalletStoreFuncs *wallet = gw_txn_extension (txn, "wallet");

  return wallet->attempts_count (txn, op->hash, txn->funcs->now (txn), 60,
                                 GW_LOCKOUT_FAILURES, error);
}

/* A wallet charge's outcome is acted on once. */
static void
test_cas_wallet_charge (Fixture       *f,
                        gconstpointer  data)
{
  g_auto(Op) stale = { .id = "wch_cas" };

  sql_exec (f, "INSERT INTO wallet_charges (id, user_id, funding_source_id, card_id, amount,"
               " currency, status, created) VALUES ('wch_cas', 'wu_1', 'fs_1', 'card_1', 10000,"
               " 'krw', 'pending', 1)");
  run_call (f, &stale, call_wallet_charge_get);
  g_assert_cmpstr (stale.wallet_charge.status, ==, "pending");
  sql_exec (f, "UPDATE wallet_charges SET status = 'succeeded' WHERE id = 'wch_cas'");
  g_strlcpy (stale.wallet_charge.status, "failed", sizeof stale.wallet_charge.status);
  run_call_conflict (f, &stale, call_wallet_charge_update);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM wallet_charges WHERE status = 'succeeded'"),
                   ==, 1);
}

/* Two guesses that read the same count both count; the limit's last one
 * is taken once. */
static void
test_cas_wallet_attempts (Fixture       *f,
                          gconstpointer  data)
{
  g_auto(Op) guess = { 0 };

  memset (guess.hash, 0x61, 32);
  run_call (f, &guess, call_wallet_attempt);
  run_call (f, &guess, call_wallet_attempt);
  g_assert_cmpint (sql_int (f, "SELECT failures FROM wallet_login_attempts"), ==, 2);
  for (guint i = 2; i < GW_LOCKOUT_FAILURES; i++)
    run_call (f, &guess, call_wallet_attempt);
  run_call_conflict (f, &guess, call_wallet_attempt);
  g_assert_cmpint (sql_int (f, "SELECT failures FROM wallet_login_attempts"), ==,
                   GW_LOCKOUT_FAILURES);
}

static gboolean
call_phone_session_get (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  const GwPhoneStoreFuncs *phone = gw_txn_extension (txn, "phone");

  return phone->session_get (txn, op->id, &op->phone_session, error);
}

static gboolean
call_phone_session_update (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  const GwPhoneStoreFuncs *phone = gw_txn_extension (txn, "phone");

  return phone->session_update (txn, &op->phone_session, error);
}

/* A call's report applied by another process first: this one, read before
 * it, neither debits nor releases the session's money again. */
static void
test_cas_phone_session (Fixture       *f,
                        gconstpointer  data)
{
  GwCredentials credentials;
  GwCard card = new_card (f, 30000, FALSE, &credentials, NULL);
  g_auto(Op) stale = { .id = "ps_cas" };
  g_autofree char *sql = g_strdup_printf (
    "INSERT INTO phone_sessions (id, merchant_id, card_id, account_id, service, channel,"
    " destination, category, rate_table_id, prefix, per_minute, increment, connection_fee,"
    " currency, state, held, created, updated, expires_at) VALUES ('ps_cas', 'mch_phone',"
    " '%s', %" G_GINT64_FORMAT ", 'voice', 'telephone', '0212345678', 'local', 'rt_1', '02',"
    " 100, 60, 0, 'krw', 'open', 500, 1, 1, 4000000000)", card.id, card.account_id);

  sql_exec (f, sql);
  run_call (f, &stale, call_phone_session_get);
  g_assert_cmpint (stale.phone_session.held, ==, 500);
  sql_exec (f, "UPDATE phone_sessions SET request_number = 1, charged = 100, held = 0"
               " WHERE id = 'ps_cas'");
  stale.phone_session.request_number = 1;
  stale.phone_session.charged = 100;
  stale.phone_session.held = 0;
  run_call_conflict (f, &stale, call_phone_session_update);
  g_assert_cmpint (sql_int (f, "SELECT charged FROM phone_sessions WHERE id = 'ps_cas'"), ==, 100);
}

static gboolean
call_settlement_merchant_get (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op,
                              GError **error)
{
  const GwSettlementStoreFuncs *settlement = gw_txn_extension (txn, "settlement");

  return settlement->merchant_get (txn, op->id, &op->settlement_merchant, error);
}

static gboolean
call_settlement_merchant_put (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op,
                              GError **error)
{
  const GwSettlementStoreFuncs *settlement = gw_txn_extension (txn, "settlement");

  return settlement->merchant_put (txn, &op->settlement_merchant, error);
}

static gboolean
call_settlement_insert (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  const GwSettlementStoreFuncs *settlement = gw_txn_extension (txn, "settlement");
  GwSettlement s = {
    .merchant_id = "mch_cas", .date = "2026-11-24", .first_line = 1, .last_line = 10,
    .payments = 1, .captured = 10000, .commission = 0, .net = 10000, .created = 1,
  };

  g_strlcpy (s.id, op->id, sizeof s.id);
  return settlement->settlement_insert (txn, &s, error);
}

/* Two settlement runs that read the same watermark: the second settles
 * nothing, neither by moving the watermark nor by a second settlement of
 * the same lines. */
static void
test_cas_settlement_once (Fixture       *f,
                          gconstpointer  data)
{
  g_auto(Op) first = { .id = "mch_cas" };
  g_auto(Op) second = { .id = "mch_cas" };
  g_auto(Op) again = { .id = "stl_cas2" };
  g_autoptr(GError) error = NULL;

  sql_exec (f, "INSERT INTO merchants (id, name, key_hash, webhook_secret_sealed, account_id,"
               " created) VALUES ('mch_cas', 'Cas', x'01', x'02', 1, 1)");
  run_call (f, &first, call_settlement_merchant_get);
  run_call (f, &second, call_settlement_merchant_get);
  g_assert_cmpint (second.settlement_merchant.watermark, ==, 0);

  first.settlement_merchant.watermark = 10;
  run_call (f, &first, call_settlement_merchant_put);
  first.id = "stl_cas1";
  run_call (f, &first, call_settlement_insert);

  second.settlement_merchant.watermark = 10;
  run_call_conflict (f, &second, call_settlement_merchant_put);
  again.kind = OP_CALL;
  again.call = call_settlement_insert;
  error = run_error (f, &again);
  g_assert_nonnull (error);
  g_assert_cmpint (sql_int (f, "SELECT COUNT(*) FROM settlements"), ==, 1);
}

static gboolean
call_outbox_claim (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  const GwOutboxFuncs *outbox = gw_txn_extension (txn, GW_OUTBOX_STORE);

  op->claimed = outbox->claim (txn, "sms", 60, 0, 16, error);
  return op->claimed != NULL;
}

static gboolean
call_event_lease (GwTxn *txn, const GwOrdersStoreFuncs *store, Op *op, GError **error)
{
  const GwCheckoutStoreFuncs *checkout = gw_txn_extension (txn, "checkout");

  return checkout->event_lease (txn, 9101, 0, 1, txn->funcs->now (txn) + 60, error);
}

/* Another process claims the second of two due messages after this claim
 * selected both (a trigger on this claim's first lease stands in for it):
 * this claim leaves it out, and it is claimed, and sent, once. */
static void
test_cas_outbox_claim (Fixture       *f,
                       gconstpointer  data)
{
  g_auto(Op) claim = { 0 };
  GwOutboxMessage *message;

  sql_exec (f, "INSERT INTO outbox (id, type, payload, created) VALUES"
               " (9001, 'sms', 'a', 1), (9002, 'sms', 'b', 1);"
               "CREATE TRIGGER other_claim AFTER UPDATE OF attempts ON outbox WHEN NEW.id = 9001"
               " BEGIN UPDATE outbox SET attempts = attempts + 1, next_attempt = 4000000000"
               " WHERE id = 9002; END;");
  run_call (f, &claim, call_outbox_claim);
  g_assert_cmpuint (claim.claimed->len, ==, 1);
  message = g_ptr_array_index (claim.claimed, 0);
  g_assert_cmpint (message->id, ==, 9001);
  g_assert_cmpint (sql_int (f, "SELECT attempts FROM outbox WHERE id = 9002"), ==, 1);
}

/* A merchant event another process leased since this claim read it. */
static void
test_cas_event_lease (Fixture       *f,
                      gconstpointer  data)
{
  g_auto(Op) lease = { 0 };

  sql_exec (f, "INSERT INTO outbox (id, type, merchant_id, payload, created)"
               " VALUES (9101, 'payment.captured', 'mch_unit', '{}', 1);"
               "UPDATE outbox SET attempts = 1, next_attempt = 4000000000 WHERE id = 9101");
  run_call_conflict (f, &lease, call_event_lease);
  g_assert_cmpint (sql_int (f, "SELECT attempts FROM outbox WHERE id = 9101"), ==, 1);
}

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
  gw_notify_set_key (seal_key);

  ADD ("create", test_order_create);
  ADD ("pay-approved", test_pay_approved);
  ADD ("pay-declined-then-again", test_pay_declined_then_again);
  ADD ("pay-bank-never-saw-it", test_pay_bank_never_saw_it);
  ADD ("pay-not-found", test_pay_not_found);
  ADD ("pay-booked-late", test_pay_booked_late);
  g_test_add_func ("/orders/watch-next", test_watch_next);
  ADD ("pay-unknown-outcome", test_pay_unknown_outcome);
  ADD ("pay-transfer", test_pay_transfer);
  ADD ("pay-transfer-expires", test_pay_transfer_expires);
  ADD ("pay-amount-mismatch", test_pay_amount_mismatch);
  ADD ("pay-undeliverable", test_pay_undeliverable);
  ADD ("pay-key-after-give-back", test_pay_key_after_give_back);
  ADD ("pay-key-after-late-decline", test_pay_key_after_late_decline);
  ADD ("pay-key-approved-late", test_pay_key_approved_late);
  ADD ("onepin-card-refused", test_onepin_card_refused);
  ADD ("gift-and-claim", test_gift_and_claim);
  ADD ("gift-registered-before-claim", test_gift_registered_before_claim);
  ADD ("gift-register-refused", test_gift_register_refused);
  ADD ("recharge", test_recharge);
  ADD ("recharge-promotional", test_recharge_promotional);
  ADD ("recharge-cap", test_recharge_cap);
  ADD ("recharge-undeliverable", test_recharge_undeliverable);
  ADD ("recharge-same-request", test_recharge_same_request);
  ADD ("recharge-key-reused", test_recharge_key_reused);
  ADD ("recharge-not-found", test_recharge_not_found);
  ADD ("recharge-retry-unsent", test_recharge_retry_unsent);
  ADD ("recharge-legacy-key", test_recharge_legacy_key);
  ADD ("recharge-declines", test_recharge_declines);
  ADD ("payout", test_payout);
  ADD ("cas/order-paid-once", test_cas_order_paid_once);
  ADD ("cas/payout-reversed-once", test_cas_payout_reversed_once);
  ADD ("cas/recharge-closed-card", test_cas_recharge_closed_card);
  ADD ("cas/access-code-counts", test_cas_access_code_counts);
  ADD ("cas/wallet-charge", test_cas_wallet_charge);
  ADD ("cas/wallet-attempts", test_cas_wallet_attempts);
  ADD ("cas/phone-session", test_cas_phone_session);
  ADD ("cas/settlement-once", test_cas_settlement_once);
  ADD ("cas/outbox-claim", test_cas_outbox_claim);
  ADD ("cas/event-lease", test_cas_event_lease);
  ADD ("payout-refusals", test_payout_refusals);
  ADD ("payout-not-sent", test_payout_not_sent);
  ADD ("payout-not-found", test_payout_not_found);
  ADD ("payout-key", test_payout_key);
  ADD ("verify-payment", test_verify_payment);
  ADD ("migration-out-of-order", test_migration_out_of_order);

  ret = g_test_run ();

  g_clear_pointer (&lookup_key, onepin_key_free);
  g_clear_pointer (&password_key, onepin_key_free);
  g_clear_pointer (&seal_key, onepin_key_free);
  g_clear_pointer (&idempotency_key, onepin_key_free);
  return ret;
}
