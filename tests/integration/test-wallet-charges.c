/* test-wallet-charges.c: topping up the representative card through a real
 * onepin-bank, and what merchants see of it (suite wallet-api)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A real gateway and a real onepin-bank on loopback. Charges from a credit
 * card and a bank account: approved, declined, replayed, refused by the
 * card's cap before the bank is asked; an answer lost to a timeout settled
 * by a query; a bank that dies after taking the money, settled by the
 * retry and by the recovery sweep, never charging twice; an approval of
 * another sum credits nothing and is given back, whether the charge or the
 * recovery sweep learns of it. Then the card pays
 * at a merchant through the core API, receipts reach a real SMTP server and
 * SMS sink on the chosen channel, the history pages, no merchant-facing
 * answer carries the user's identity or funding source, and the audit
 * balances.
 */
#include <string.h>

#include <sqlite3.h>

#include "onepin-shared.h"
#include "onepin-test-bank.h"
#include "onepin-test-proxy.h"
#include "onepin-test-sms.h"
#include "onepin-test-smtp.h"

#define SLOW_SECONDS "3"
#define MAIL_TIMEOUT 20

static OtBank *bank;
static OtSmtp *smtp;
static OtSmsSink *sms;
static OtGateway *gw;

typedef struct
{
  char *login_id;
  char *user_id;
  char *token;
  char *number;          /* the representative card's */
  char *card_id;
  char *card_source;     /* fs_… of OT_BANK_CARD_APPROVE */
} Wallet;

static void
wallet_free (Wallet *w)
{
  g_free (w->login_id);
  g_free (w->user_id);
  g_free (w->token);
  g_free (w->number);
  g_free (w->card_id);
  g_free (w->card_source);
  g_free (w);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Wallet, wallet_free)

static OtResponse *
wallet_request (const Wallet *w,
                const char   *method,
                const char   *path,
                const char   *key,
                const char   *body)
{
  return ot_request (gw, method, path, w->token, key, body);
}

static char *
add_source (const Wallet *w,
            const char   *body)
{
  g_autoptr(OtResponse) r = wallet_request (w, "POST", "/v1/wallet/funding-sources", NULL, body);

  ot_assert_status (r, 201);
  return g_strdup (ot_json_string (ot_response_object (r), "id"));
}

static char *
add_card_source (const Wallet *w,
                 const char   *number)
{
  g_autofree char *body = g_strdup_printf ("{\"type\":\"credit_card\",\"credit_card\":{"
                                           "\"number\":\"%s\",\"expiry\":\"12/30\","
                                           "\"holder\":\"FUNDING HOLDER\"}}", number);

  return add_source (w, body);
}

static char *
add_account_source (const Wallet *w,
                    const char   *account)
{
  g_autofree char *body = g_strdup_printf ("{\"type\":\"bank_account\",\"bank_account\":{"
                                           "\"bank_code\":\"%s\",\"account_number\":\"%s\","
                                           "\"holder\":\"Funding Holder\"}}",
                                           OT_BANK_CODE, account);

  return add_source (w, body);
}

/* A user with a representative card (password "2580") and the approving
 * test card as a funding source. */
static Wallet *
new_wallet (void)
{
  static guint serial;
  Wallet *w = g_new0 (Wallet, 1);
  g_autofree char *body = NULL;
  g_autoptr(OtResponse) user = NULL;
  g_autoptr(OtResponse) session = NULL;
  g_autoptr(OtResponse) card = NULL;

  w->login_id = g_strdup_printf ("payer%u-%04x", ++serial, g_random_int_range (0, 0xffff));
  body = g_strdup_printf ("{\"login_id\":\"%s\",\"password\":\"correct horse\","
                          "\"name\":\"Zelda Quixote %u\",\"email\":\"zq%u@wallet.example\","
                          "\"phone\":\"010-8765-43%02u\"}", w->login_id, serial, serial,
                          serial % 100);
  user = ot_request (gw, "POST", "/v1/wallet/users", NULL, NULL, body);
  ot_assert_status (user, 201);
  w->user_id = g_strdup (ot_json_string (ot_response_object (user), "id"));
  g_free (body);
  body = g_strdup_printf ("{\"login_id\":\"%s\",\"password\":\"correct horse\"}", w->login_id);
  session = ot_request (gw, "POST", "/v1/wallet/sessions", NULL, NULL, body);
  ot_assert_status (session, 201);
  w->token = g_strdup (ot_json_string (ot_response_object (session), "token"));
  card = wallet_request (w, "POST", "/v1/wallet/card", NULL, "{\"password\":\"2580\"}");
  ot_assert_status (card, 201);
  w->number = g_strdup (ot_json_string (ot_response_object (card), "number"));
  w->card_id = g_strdup (ot_json_string (ot_response_object (card), "id"));
  w->card_source = add_card_source (w, OT_BANK_CARD_APPROVE);
  return w;
}

static OtResponse *
charge (const Wallet *w,
        const char   *key,
        const char   *source,
        gint64        amount,
        const char   *secret)
{
  g_autofree char *body = g_strdup_printf ("{\"funding_source_id\":\"%s\",\"amount\":%"
                                           G_GINT64_FORMAT ",%s}", source, amount, secret);

  return wallet_request (w, "POST", "/v1/wallet/charges", key, body);
}

static gint64
card_balance (const Wallet *w)
{
  g_autoptr(OtResponse) r = wallet_request (w, "GET", "/v1/wallet/card", NULL, NULL);

  ot_assert_status (r, 200);
  return ot_json_int (ot_response_object (r), "balance");
}

/* Charges */

static void
test_charge_approved (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *key = g_strdup_printf ("top-%08x/jane.doe@example.com", g_random_int ());
  g_autoptr(OtResponse) r = charge (w, key, w->card_source, 50000, "\"cvc\":\"123\"");
  g_autoptr(OtResponse) replay = charge (w, key, w->card_source, 50000, "\"cvc\":\"123\"");
  g_autoptr(OtResponse) other = charge (w, key, w->card_source, 60000, "\"cvc\":\"123\"");
  g_autoptr(JsonObject) balance = NULL;
  JsonObject *o;

  ot_assert_status (r, 201);
  o = ot_response_object (r);
  g_assert_true (g_str_has_prefix (ot_json_string (o, "id"), "wch_"));
  g_assert_cmpstr (ot_json_string (o, "object"), ==, "wallet_charge");
  g_assert_cmpstr (ot_json_string (o, "status"), ==, "succeeded");
  g_assert_cmpint (ot_json_int (o, "amount"), ==, 50000);
  g_assert_cmpstr (ot_json_string (o, "funding_source"), ==, w->card_source);
  g_assert_cmpstr (ot_json_string (o, "card_id"), ==, w->card_id);
  g_assert_cmpint (ot_json_int (o, "balance_after"), ==, 50000);

  /* The same key replays; other parameters are refused; money moved once. */
  ot_assert_status (replay, 201);
  g_assert_cmpstr (replay->body, ==, r->body);
  g_assert_cmpstr (ot_response_header (replay, "Idempotent-Replayed"), ==, "true");
  ot_assert_error (other, 422, "idempotency_error", "idempotency_key_reused");
  g_assert_cmpint (card_balance (w), ==, 50000);
  /* The charge and the answer keep a keyed hash of the key, not the key. */
  g_assert_false (ot_gateway_database_holds (gw, key));

  /* The core card-holder API sees the same balance. */
  balance = ot_card_balance (gw, w->number, "2580");
  g_assert_cmpint (ot_json_int (balance, "balance"), ==, 50000);
}

static void
test_charge_bank_account (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *rich = add_account_source (w, OT_BANK_ACCOUNT_RICH);
  g_autofree char *poor = add_account_source (w, OT_BANK_ACCOUNT_POOR);
  gint64 before = ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH);
  g_autoptr(OtResponse) ok = charge (w, "acct-1", rich, 30000, "\"account_password\":\"1234\"");
  g_autoptr(OtResponse) wrong = charge (w, "acct-2", rich, 30000,
                                        "\"account_password\":\"9999\"");
  g_autoptr(OtResponse) broke = charge (w, "acct-3", poor, 10000, "\"account_password\":\"1234\"");
  g_autoptr(OtResponse) no_password = charge (w, "acct-4", rich, 10000, "\"cvc\":\"123\"");

  ot_assert_status (ok, 201);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH), ==, before - 30000);
  ot_assert_error (wrong, 402, "card_error", "invalid_credentials");
  ot_assert_error (broke, 402, "card_error", "insufficient_funds");
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (broke), "error"), "code"),
                   ==, "funding_declined");
  ot_assert_error (no_password, 400, "invalid_request_error", "parameter_missing");
  g_assert_cmpint (card_balance (w), ==, 30000);
}

static void
test_charge_declined (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *declining = add_card_source (w, OT_BANK_CARD_DECLINE);
  g_autofree char *empty = add_card_source (w, OT_BANK_CARD_NO_FUNDS);
  g_autoptr(OtResponse) declined = charge (w, "d-1", declining, 10000, "\"cvc\":\"123\"");
  g_autoptr(OtResponse) again = charge (w, "d-1", declining, 10000, "\"cvc\":\"123\"");
  g_autoptr(OtResponse) no_funds = charge (w, "d-2", empty, 10000, "\"cvc\":\"123\"");
  g_autoptr(OtResponse) no_cvc = charge (w, "d-3", w->card_source, 10000,
                                         "\"currency\":\"krw\"");
  g_autoptr(OtResponse) unknown = charge (w, "d-4", "fs_nothing", 10000, "\"cvc\":\"123\"");

  ot_assert_error (declined, 402, "card_error", "card_declined");
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (declined), "error"),
                                   "code"), ==, "funding_declined");
  g_assert_cmpstr (again->body, ==, declined->body);
  g_assert_cmpstr (ot_response_header (again, "Idempotent-Replayed"), ==, "true");
  ot_assert_error (no_funds, 402, "card_error", "insufficient_funds");
  ot_assert_error (no_cvc, 400, "invalid_request_error", "parameter_missing");
  ot_assert_error (unknown, 404, "invalid_request_error", "resource_missing");
  g_assert_cmpint (card_balance (w), ==, 0);
}

static void
test_charge_cap (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *rich = add_account_source (w, OT_BANK_ACCOUNT_RICH);
  g_autoptr(OtResponse) full = charge (w, "cap-1", rich, 1000000, "\"account_password\":\"1234\"");
  gint64 before = ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH);
  g_autoptr(OtResponse) over = charge (w, "cap-2", rich, 10000, "\"account_password\":\"1234\"");
  g_autoptr(OtResponse) too_big = charge (w, "cap-3", rich, 1010000,
                                          "\"account_password\":\"1234\"");

  ot_assert_status (full, 201);
  g_assert_cmpint (card_balance (w), ==, 1000000);
  /* Refused before the bank is asked: nothing is taken from the account. */
  ot_assert_error (over, 402, "card_error", "balance_limit");
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH), ==, before);
  ot_assert_error (too_big, 400, "invalid_request_error", "parameter_invalid");
  g_assert_cmpint (card_balance (w), ==, 1000000);
}

static void
test_charge_without_card (void)
{
  g_autofree char *body = g_strdup ("{\"login_id\":\"cardless\",\"password\":\"correct horse\","
                                    "\"name\":\"No Card\",\"email\":\"nc@example.com\"}");
  g_autoptr(OtResponse) user = ot_request (gw, "POST", "/v1/wallet/users", NULL, NULL, body);
  g_autoptr(OtResponse) session = ot_request (gw, "POST", "/v1/wallet/sessions", NULL, NULL,
                                              "{\"login_id\":\"cardless\","
                                              "\"password\":\"correct horse\"}");
  Wallet w = { .token = (char *) ot_json_string (ot_response_object (session), "token") };
  g_autofree char *source = add_card_source (&w, OT_BANK_CARD_APPROVE_2);
  g_autoptr(OtResponse) r = charge (&w, "nc-1", source, 10000, "\"cvc\":\"123\"");

  ot_assert_status (user, 201);
  ot_assert_error (r, 409, "invalid_request_error", "card_not_issued");
}

/* The gateway's row of the user's only charge: its id and status. */
static void
charge_row (const Wallet  *w,
            char         **id,
            char         **status,
            char         **decline_code)
{
  g_autofree char *path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT id, status, decline_code FROM wallet_charges"
                                       " WHERE user_id = ?", -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, w->user_id, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  *id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  *status = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  *decline_code = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

/* A charge of 500,000 won that onepin-bank approved for half: the card
 * keeps its balance (0), the user's only charge row ends voided as
 * do_not_honor (the void follows the answer; give it 15 s), and the bank's
 * charge of 250,000 won is canceled. */
static void
assert_half_given_back (const Wallet *w)
{
  g_autoptr(OtResponse) at_bank = NULL;
  g_autoptr(JsonObject) core = NULL;
  g_autofree char *query = NULL;
  g_autofree char *id = NULL;
  g_autofree char *status = NULL;
  g_autofree char *code = NULL;
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;

  for (;;)
    {
      charge_row (w, &id, &status, &code);
      if (g_str_equal (status, "voided") || g_get_monotonic_time () > deadline)
        break;
      g_clear_pointer (&id, g_free);
      g_clear_pointer (&status, g_free);
      g_clear_pointer (&code, g_free);
      g_usleep (100 * 1000);
    }
  g_assert_cmpstr (status, ==, "voided");
  g_assert_cmpstr (code, ==, "do_not_honor");
  g_assert_cmpint (card_balance (w), ==, 0);
  core = ot_card_balance (gw, w->number, "2580");
  g_assert_cmpint (ot_json_int (core, "balance"), ==, 0);
  query = g_strdup_printf ("/v1/charges?idempotency_key=%s", id);
  at_bank = ot_bank_request (bank, "GET", query, ot_bank_api_key (bank), NULL, NULL);
  ot_assert_status (at_bank, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (at_bank), "amount"), ==, 250000);
  g_assert_cmpstr (ot_json_string (ot_response_object (at_bank), "status"), ==, "canceled");
}

/* The bank approves half of what was asked (HACKING: an approval for
 * another sum credits nothing): the client gets a decline, the card keeps
 * its balance, the bank's charge is voided, and the key replays the
 * decline. */
static void
test_charge_other_amount (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *shorting = add_card_source (w, OT_BANK_CARD_SHORT);
  g_autoptr(OtResponse) r = charge (w, "short-1", shorting, 500000, "\"cvc\":\"123\"");
  g_autoptr(OtResponse) again = NULL;

  ot_assert_error (r, 402, "card_error", "do_not_honor");
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "code"),
                   ==, "funding_declined");
  assert_half_given_back (w);
  again = charge (w, "short-1", shorting, 500000, "\"cvc\":\"123\"");
  g_assert_cmpstr (again->body, ==, r->body);
  g_assert_cmpstr (ot_response_header (again, "Idempotent-Replayed"), ==, "true");
  g_assert_cmpint (card_balance (w), ==, 0);
}

/* The same approval of half, when the charge's answer and its query's are
 * lost (a relay to the bank drops them: the bank charged, the gateway
 * cannot tell) and the recovery sweep learns it: it settles the row as the
 * charge would, crediting nothing and giving the money back. A gateway of
 * its own, whose bank is behind the relay. */
static void
test_charge_other_amount_recovered (void)
{
  OtGateway *shared = gw;
  g_autoptr(OtProxy) relay = ot_proxy_start (ot_bank_url (bank));
  g_autofree char *config = NULL;
  g_autoptr(Wallet) w = NULL;
  g_autofree char *shorting = NULL;
  g_autoptr(OtResponse) lost = NULL;
  g_autoptr(OtResponse) again = NULL;

  config = g_strdup_printf ("[wallet]\npbkdf2_iterations=2000\nkdf_per_minute=100000\n"
                            "charge_recovery_interval=1\n"
                            "[bank]\nurl=%s\napi_key_file=%s\ncallback_secret_file=%s\n"
                            "timeout=1\n", ot_proxy_url (relay), ot_bank_api_key_path (bank),
                            ot_bank_callback_secret_path (bank));
  gw = ot_gateway_start (config, FALSE);
  w = new_wallet ();
  shorting = add_card_source (w, OT_BANK_CARD_SHORT);

  ot_proxy_set_mode (relay, OT_PROXY_DROP_ANSWERS);
  lost = charge (w, "short-lost", shorting, 500000, "\"cvc\":\"123\"");
  ot_assert_error (lost, 503, "api_error", "charge_pending");
  g_assert_cmpuint (ot_proxy_dropped (relay), >=, 2);     /* the charge and its query */
  ot_proxy_set_mode (relay, OT_PROXY_PASS);

  /* Nobody retries: the sweep (every second here) queries and voids. */
  assert_half_given_back (w);
  again = charge (w, "short-lost", shorting, 500000, "\"cvc\":\"123\"");
  ot_assert_error (again, 402, "card_error", "do_not_honor");
  g_assert_cmpstr (ot_response_header (again, "Idempotent-Replayed"), ==, "true");
  g_assert_cmpint (card_balance (w), ==, 0);

  g_clear_pointer (&w, wallet_free);
  json_object_unref (ot_assert_audit_balanced (gw));
  ot_gateway_stop (gw);
  gw = shared;
}

/* A slow bank: the answer is lost to the gateway's timeout (1 s), and a
 * query finds the charge approved. */
static void
test_charge_timeout_queried (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *slow = add_card_source (w, OT_BANK_CARD_SLOW);
  g_autoptr(OtResponse) r = charge (w, "slow-1", slow, 20000, "\"cvc\":\"123\"");

  ot_assert_status (r, 201);
  g_assert_cmpstr (ot_json_string (ot_response_object (r), "status"), ==, "succeeded");
  g_assert_cmpint (card_balance (w), ==, 20000);
}

typedef struct
{
  const Wallet *wallet;
  const char   *source;
  const char   *key;
  OtResponse   *response;
} Pending;

static gpointer
charge_thread (gpointer data)
{
  Pending *p = data;

  p->response = charge (p->wallet, p->key, p->source, 40000, "\"account_password\":\"1234\"");
  return NULL;
}

/* Starts a charge on the slow account and kills the bank while it holds
 * the reply: the money is taken, the gateway cannot learn it. */
static OtResponse *
charge_with_bank_dying (const Wallet *w,
                        const char   *source,
                        const char   *key)
{
  Pending p = { w, source, key, NULL };
  GThread *thread = g_thread_new ("charge", charge_thread, &p);

  g_usleep (G_USEC_PER_SEC / 2);
  ot_bank_kill (bank);
  g_thread_join (thread);
  return p.response;
}

/* Until the recovery sweep (every second here) credits the card, or 15 s. */
static void
wait_for_credit (const Wallet *w)
{
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;

  while (card_balance (w) == 0 && g_get_monotonic_time () < deadline)
    g_usleep (200 * 1000);
}

static void
test_charge_pending_retry (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *slow = add_account_source (w, OT_BANK_ACCOUNT_SLOW);
  gint64 before = ot_bank_account_balance (bank, OT_BANK_ACCOUNT_SLOW);
  g_autoptr(OtResponse) lost = charge_with_bank_dying (w, slow, "dying-1");
  g_autoptr(OtResponse) settled = NULL;
  g_autoptr(OtResponse) replay = NULL;

  ot_assert_error (lost, 503, "api_error", "charge_pending");
  g_assert_cmpint (card_balance (w), ==, 0);

  /* The retry asks before anything else, and credits what was taken, once. */
  ot_bank_restart (bank);
  settled = charge (w, "dying-1", slow, 40000, "\"account_password\":\"1234\"");
  ot_assert_status (settled, 201);
  g_assert_cmpint (card_balance (w), ==, 40000);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_SLOW), ==, before - 40000);
  replay = charge (w, "dying-1", slow, 40000, "\"account_password\":\"1234\"");
  g_assert_cmpstr (replay->body, ==, settled->body);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_SLOW), ==, before - 40000);
}

static void
test_charge_pending_recovered (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *slow = add_account_source (w, OT_BANK_ACCOUNT_SLOW);
  gint64 before = ot_bank_account_balance (bank, OT_BANK_ACCOUNT_SLOW);
  g_autoptr(OtResponse) lost = charge_with_bank_dying (w, slow, "dying-2");
  g_autoptr(OtResponse) replay = NULL;

  ot_assert_error (lost, 503, "api_error", "charge_pending");
  ot_bank_restart (bank);

  /* Nobody retries: the recovery sweep (every second here) settles it. */
  wait_for_credit (w);
  g_assert_cmpint (card_balance (w), ==, 40000);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_SLOW), ==, before - 40000);

  /* Its answer is stored under the client's key. */
  replay = charge (w, "dying-2", slow, 40000, "\"account_password\":\"1234\"");
  ot_assert_status (replay, 201);
  g_assert_cmpstr (ot_response_header (replay, "Idempotent-Replayed"), ==, "true");
  g_assert_cmpint (card_balance (w), ==, 40000);
}

/* The bank took the money and died; before the sweep settles the charge,
 * a request on another route takes its key (nothing runs the charge, so
 * nothing holds the key). The card is credited all the same: the sweep
 * settles whatever is stored under the key, which keeps its first answer. */
static void
test_charge_key_taken_while_pending (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *slow = add_account_source (w, OT_BANK_ACCOUNT_SLOW);
  gint64 before = ot_bank_account_balance (bank, OT_BANK_ACCOUNT_SLOW);
  g_autoptr(OtResponse) lost = charge_with_bank_dying (w, slow, "dying-3");
  g_autoptr(OtResponse) taken = NULL;
  g_autoptr(OtResponse) again = NULL;

  ot_assert_error (lost, 503, "api_error", "charge_pending");
  taken = wallet_request (w, "POST", "/v1/wallet/funding-sources", "dying-3",
                          "{\"type\":\"credit_card\",\"credit_card\":{"
                          "\"number\":\"" OT_BANK_CARD_DECLINE "\",\"expiry\":\"12/30\","
                          "\"holder\":\"FUNDING HOLDER\"}}");
  ot_assert_status (taken, 201);
  ot_bank_restart (bank);

  wait_for_credit (w);
  g_assert_cmpint (card_balance (w), ==, 40000);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_SLOW), ==, before - 40000);
  again = charge (w, "dying-3", slow, 40000, "\"account_password\":\"1234\"");
  ot_assert_error (again, 422, "idempotency_error", "idempotency_key_reused");
  g_assert_cmpint (card_balance (w), ==, 40000);
}

/* A repeat while the charge runs gets 409 idempotency_in_flight, and a
 * second charge of the wallet 409 charge_in_progress. Both pass, so
 * neither is stored: under the running charge's key the 409 would be the
 * answer to that charge's own settlement, which would never credit the
 * card with the money taken. */
static void
test_charge_in_flight (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *slow = add_account_source (w, OT_BANK_ACCOUNT_SLOW);
  gint64 before = ot_bank_account_balance (bank, OT_BANK_ACCOUNT_SLOW);
  Pending p = { w, slow, "busy-1", NULL };
  GThread *thread = g_thread_new ("charge", charge_thread, &p);
  g_autoptr(OtResponse) same = NULL;
  g_autoptr(OtResponse) other = NULL;
  g_autoptr(OtResponse) elsewhere = NULL;
  g_autoptr(OtResponse) removed_early = NULL;
  g_autoptr(OtResponse) removed = NULL;
  g_autofree char *source_path = g_strconcat ("/v1/wallet/funding-sources/", slow, NULL);
  g_autoptr(OtResponse) first = NULL;
  g_autoptr(OtResponse) replay = NULL;
  g_autoptr(OtResponse) later = NULL;

  g_usleep (G_USEC_PER_SEC / 2);     /* the bank holds the slow account's reply */
  same = charge (w, "busy-1", slow, 40000, "\"account_password\":\"1234\"");
  other = charge (w, "busy-2", w->card_source, 10000, "\"cvc\":\"123\"");
  /* The key on another route: had it been stored there, the charge's
   * answer could not be, and the money taken would not reach the card. */
  elsewhere = wallet_request (w, "POST", "/v1/wallet/funding-sources", "busy-1",
                              "{\"type\":\"credit_card\",\"credit_card\":{"
                              "\"number\":\"" OT_BANK_CARD_DECLINE "\",\"expiry\":\"12/30\","
                              "\"holder\":\"FUNDING HOLDER\"}}");
  /* Gone from the list while the bank still takes money from it: no. */
  removed_early = wallet_request (w, "DELETE", source_path, NULL, NULL);
  g_thread_join (thread);
  first = g_steal_pointer (&p.response);
  ot_assert_error (removed_early, 409, "invalid_request_error", "charge_in_progress");
  ot_assert_error (same, 409, "idempotency_error", "idempotency_in_flight");
  ot_assert_error (other, 409, "invalid_request_error", "charge_in_progress");
  ot_assert_error (elsewhere, 409, "idempotency_error", "idempotency_in_flight");

  ot_assert_status (first, 201);
  g_assert_cmpint (card_balance (w), ==, 40000);
  replay = charge (w, "busy-1", slow, 40000, "\"account_password\":\"1234\"");
  ot_assert_status (replay, 201);
  g_assert_cmpstr (replay->body, ==, first->body);
  later = charge (w, "busy-2", w->card_source, 10000, "\"cvc\":\"123\"");
  ot_assert_status (later, 201);
  g_assert_null (ot_response_header (later, "Idempotent-Replayed"));
  g_assert_cmpint (card_balance (w), ==, 50000);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_SLOW), ==, before - 40000);
  removed = wallet_request (w, "DELETE", source_path, NULL, NULL);
  ot_assert_status (removed, 200);
}

static void
test_charge_bank_down (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autoptr(OtResponse) down = NULL;
  g_autoptr(OtResponse) back = NULL;

  ot_bank_kill (bank);
  down = charge (w, "down-1", w->card_source, 10000, "\"cvc\":\"123\"");
  ot_assert_error (down, 503, "api_error", "bank_unavailable");
  ot_bank_restart (bank);
  /* Nothing happened, so the same key may try again. */
  back = charge (w, "down-1", w->card_source, 10000, "\"cvc\":\"123\"");
  ot_assert_status (back, 201);
  g_assert_cmpint (card_balance (w), ==, 10000);
}

/* The card at a merchant, receipts, and what merchants see */

static char *
email_of (const Wallet *w)
{
  g_autoptr(OtResponse) me = wallet_request (w, "GET", "/v1/wallet/me", NULL, NULL);

  ot_assert_status (me, 200);
  return g_strdup (ot_json_string (ot_response_object (me), "email"));
}

/* The e-mails sent to @address so far, once there are @n of them. */
static JsonArray *
wait_mail_to (const char *address,
              guint       n)
{
  gint64 deadline = g_get_monotonic_time () + MAIL_TIMEOUT * G_USEC_PER_SEC;

  for (;;)
    {
      guint total = ot_smtp_count (smtp);
      JsonArray *mine = json_array_new ();

      if (total > 0)
        {
          g_autoptr(JsonArray) all = ot_smtp_wait (smtp, total, MAIL_TIMEOUT);

          for (guint i = 0; i < json_array_get_length (all); i++)
            {
              JsonObject *mail = json_array_get_object_element (all, i);

              if (strstr (ot_json_string (mail, "to"), address) != NULL)
                json_array_add_object_element (mine, json_object_ref (mail));
            }
        }
      if (json_array_get_length (mine) >= n)
        return mine;
      json_array_unref (mine);
      if (g_get_monotonic_time () > deadline)
        g_error ("fewer than %u e-mails reached %s within %d s", n, address, MAIL_TIMEOUT);
      g_usleep (200 * 1000);
    }
}

static const char *
mail_subject (JsonArray *mails,
              guint      i)
{
  return ot_json_string (json_array_get_object_element (mails, i), "subject");
}

static OtResponse *
pay (const char   *sk,
     const Wallet *w,
     const char   *key,
     gint64        amount,
     gboolean      capture)
{
  g_autofree char *body = g_strdup_printf ("{\"card_number\":\"%s\",\"password\":\"2580\","
                                           "\"amount\":%" G_GINT64_FORMAT ",\"currency\":\"krw\","
                                           "\"order_id\":\"order-%s\",\"capture\":%s}",
                                           w->number, amount, key, capture ? "true" : "false");

  return ot_request (gw, "POST", "/v1/payments", sk, key, body);
}

static void
test_pays_with_receipts (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *address = email_of (w);
  g_autofree char *sk = NULL;
  g_autofree char *merchant = ot_create_merchant (gw, "Receipt Mall", &sk);
  g_autoptr(OtResponse) top = charge (w, "r-top", w->card_source, 100000, "\"cvc\":\"123\"");
  g_autoptr(OtResponse) paid = NULL;
  g_autoptr(OtResponse) held = NULL;
  g_autoptr(OtResponse) captured = NULL;
  g_autoptr(OtResponse) to_sms = NULL;
  g_autoptr(OtResponse) by_sms = NULL;
  g_autoptr(OtResponse) to_none = NULL;
  g_autoptr(OtResponse) quiet = NULL;
  g_autoptr(OtResponse) to_email = NULL;
  g_autoptr(OtResponse) last = NULL;
  g_autoptr(JsonArray) mails = NULL;
  g_autoptr(GPtrArray) texts = NULL;
  g_autofree char *capture_path = NULL;
  const char *payment_id;
  OtSms *text;

  /* The charge's message, then a receipt for a payment captured at once. */
  ot_assert_status (top, 201);
  paid = pay (sk, w, "r-pay-1", 12000, TRUE);
  ot_assert_status (paid, 200);
  payment_id = ot_json_string (ot_response_object (paid), "id");
  g_clear_pointer (&mails, json_array_unref);
  mails = wait_mail_to (address, 2);
  g_assert_nonnull (strstr (mail_subject (mails, 0), "100,000"));
  g_assert_nonnull (strstr (mail_subject (mails, 1), "Receipt Mall"));
  g_assert_nonnull (strstr (ot_json_string (json_array_get_object_element (mails, 1), "text"),
                            payment_id));

  /* A hold sends nothing; its capture does. */
  held = pay (sk, w, "r-pay-2", 3000, FALSE);
  ot_assert_status (held, 200);
  capture_path = g_strconcat ("/v1/payments/", ot_json_string (ot_response_object (held), "id"),
                              "/capture", NULL);
  captured = ot_request (gw, "POST", capture_path, sk, NULL, NULL);
  ot_assert_status (captured, 200);
  g_clear_pointer (&mails, json_array_unref);
  mails = wait_mail_to (address, 3);
  g_assert_cmpuint (json_array_get_length (mails), ==, 3);

  /* By SMS to the profile's phone, then none, then e-mail again. */
  to_sms = wallet_request (w, "POST", "/v1/wallet/me", NULL, "{\"receipt_channel\":\"sms\"}");
  ot_assert_status (to_sms, 200);
  by_sms = pay (sk, w, "r-pay-3", 1000, TRUE);
  ot_assert_status (by_sms, 200);
  texts = ot_sms_sink_wait (sms, 1, MAIL_TIMEOUT);
  text = g_ptr_array_index (texts, texts->len - 1);
  g_assert_nonnull (strstr (text->text, "Receipt Mall"));
  g_assert_cmpstr (text->to, ==, ot_json_string (ot_response_object (to_sms), "phone"));

  to_none = wallet_request (w, "POST", "/v1/wallet/me", NULL, "{\"receipt_channel\":\"none\"}");
  ot_assert_status (to_none, 200);
  quiet = pay (sk, w, "r-pay-4", 1000, TRUE);
  ot_assert_status (quiet, 200);
  to_email = wallet_request (w, "POST", "/v1/wallet/me", NULL,
                             "{\"receipt_channel\":\"email\",\"locale\":\"en\"}");
  ot_assert_status (to_email, 200);
  last = pay (sk, w, "r-pay-5", 2000, TRUE);
  ot_assert_status (last, 200);
  g_clear_pointer (&mails, json_array_unref);
  mails = wait_mail_to (address, 4);
  /* Nothing went out for the payment made with receipts off. */
  g_assert_cmpuint (json_array_get_length (mails), ==, 4);
  g_assert_nonnull (strstr (mail_subject (mails, 3), "Receipt: "));   /* in English now */
  g_assert_cmpuint (ot_sms_sink_requests (sms), ==, 1);
}

static void
assert_no_identity (OtResponse   *r,
                    const Wallet *w,
                    const char   *what)
{
  const char *needles[] = {
    w->login_id, w->user_id, "Zelda Quixote", "@wallet.example", "010-8765-", "010876543",
    OT_BANK_CARD_APPROVE, OT_BANK_ACCOUNT_RICH, "FUNDING HOLDER", "Funding Holder",
    "fs_", "usr_", "wch_",
  };

  for (guint i = 0; i < G_N_ELEMENTS (needles); i++)
    if (r->body != NULL && strstr (r->body, needles[i]) != NULL)
      g_error ("the merchant's %s answer carries \"%s\": %s", what, needles[i], r->body);
}

static void
test_merchant_sees_only_the_card (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *rich = add_account_source (w, OT_BANK_ACCOUNT_RICH);
  g_autofree char *sk = NULL;
  g_autofree char *merchant = ot_create_merchant (gw, "Curious Mall", &sk);
  g_autoptr(OtResponse) top = charge (w, "m-top", rich, 200000, "\"account_password\":\"1234\"");
  g_autoptr(OtResponse) held = pay (sk, w, "m-1", 30000, FALSE);
  g_autoptr(OtResponse) captured = pay (sk, w, "m-2", 20000, TRUE);
  g_autoptr(OtResponse) declined = pay (sk, w, "m-3", 900000, TRUE);
  g_autofree char *held_id = g_strdup (ot_json_string (ot_response_object (held), "id"));
  g_autofree char *captured_id = g_strdup (ot_json_string (ot_response_object (captured), "id"));
  g_autofree char *get_path = g_strconcat ("/v1/payments/", captured_id, NULL);
  g_autofree char *capture_path = g_strconcat ("/v1/payments/", held_id, "/capture", NULL);
  g_autofree char *refund = g_strdup_printf ("{\"payment\":\"%s\",\"amount\":5000}", captured_id);
  g_autofree char *batch = g_strdup_printf ("{\"payments\":[{\"card_number\":\"%s\","
                                            "\"password\":\"2580\",\"amount\":1000,"
                                            "\"currency\":\"krw\",\"order_id\":\"b-1\",\"capture\":true,"
                                            "\"idempotency_key\":\"m-batch-1\"},"
                                            "{\"card_number\":\"%s\",\"password\":\"0000\","
                                            "\"amount\":1000,\"currency\":\"krw\","
                                            "\"order_id\":\"b-2\",\"capture\":true,\"idempotency_key\":"
                                            "\"m-batch-2\"}]}", w->number, w->number);
  g_autofree char *held2_id = NULL;
  g_autofree char *cancel_path = NULL;
  OtResponse *answers[8] = { NULL };
  const char *names[8] = {
    "authorize", "capture at once", "decline", "retrieve", "list", "capture", "refund", "batch",
  };
  g_autoptr(OtResponse) held2 = NULL;
  g_autoptr(OtResponse) canceled = NULL;
  g_autoptr(OtResponse) profile = NULL;
  g_autoptr(OtResponse) payout = NULL;
  g_autofree char *credentials = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"2580\"}",
                                                  w->number);
  g_autofree char *payout_body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"2580\","
                                                  "\"bank_code\":\"004\","
                                                  "\"account_number\":\"110000000001\","
                                                  "\"account_holder\":\"Mallory\"}", w->number);

  ot_assert_status (top, 201);
  ot_assert_status (held, 200);
  ot_assert_status (captured, 200);
  answers[0] = held;
  answers[1] = captured;
  answers[2] = declined;
  answers[3] = ot_request (gw, "GET", get_path, sk, NULL, NULL);
  answers[4] = ot_request (gw, "GET", "/v1/payments?limit=100", sk, NULL, NULL);
  answers[5] = ot_request (gw, "POST", capture_path, sk, "m-cap", "{\"amount\":25000}");
  answers[6] = ot_request (gw, "POST", "/v1/refunds", sk, "m-refund", refund);
  answers[7] = ot_request (gw, "POST", "/v1/payments/batch", sk, NULL, batch);
  ot_assert_status (answers[3], 200);
  ot_assert_status (answers[5], 200);
  ot_assert_status (answers[6], 200);
  ot_assert_status (answers[7], 200);
  for (guint i = 0; i < G_N_ELEMENTS (answers); i++)
    assert_no_identity (answers[i], w, names[i]);
  for (guint i = 3; i < G_N_ELEMENTS (answers); i++)
    ot_response_free (answers[i]);

  held2 = pay (sk, w, "m-4", 1000, FALSE);
  held2_id = g_strdup (ot_json_string (ot_response_object (held2), "id"));
  cancel_path = g_strconcat ("/v1/payments/", held2_id, "/cancel", NULL);
  canceled = ot_request (gw, "POST", cancel_path, sk, "m-cancel", NULL);
  ot_assert_status (canceled, 200);
  assert_no_identity (canceled, w, "cancel");

  /* The number and password a merchant saw do not open the card's contact. */
  profile = ot_request (gw, "POST", "/v1/cards/profile", NULL, NULL, credentials);
  ot_assert_error (profile, 409, "invalid_request_error", "card_managed_by_wallet");
  assert_no_identity (profile, w, "card profile");
  /* Nor do they pay the wallet's money out to an account of their choice. */
  payout = ot_request (gw, "POST", "/v1/cards/refund", NULL, "m-payout", payout_body);
  ot_assert_error (payout, 409, "invalid_request_error", "card_managed_by_wallet");
  /* 200,000 − 20,000 − 25,000 + 5,000 − 1,000 (the batch) */
  g_assert_cmpint (card_balance (w), ==, 159000);
}

/* History */

static void
test_history_pages (void)
{
  g_autoptr(Wallet) w = new_wallet ();
  g_autofree char *sk = NULL;
  g_autofree char *merchant = ot_create_merchant (gw, "History Mall", &sk);
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *refund_body = NULL;
  g_autoptr(OtResponse) refund = NULL;
  g_autofree char *cursor = NULL;
  const char *expected[] = { "refund", "payment", "payment", "charge", "charge", "charge" };
  char *pay_id = NULL;
  guint pages = 0;

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *key = g_strdup_printf ("h-top-%u", i);
      g_autoptr(OtResponse) r = charge (w, key, w->card_source, 10000 * (i + 1),
                                        "\"cvc\":\"123\"");

      ot_assert_status (r, 201);
    }
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *key = g_strdup_printf ("h-pay-%u", i);
      g_autoptr(OtResponse) r = pay (sk, w, key, 7000, TRUE);

      ot_assert_status (r, 200);
      g_free (pay_id);
      pay_id = g_strdup (ot_json_string (ot_response_object (r), "id"));
    }
  refund_body = g_strdup_printf ("{\"payment\":\"%s\",\"amount\":2000}", pay_id);
  refund = ot_request (gw, "POST", "/v1/refunds", sk, NULL, refund_body);
  ot_assert_status (refund, 200);

  /* Pages of two, newest first, each cursor the last id of the page before. */
  for (;;)
    {
      g_autofree char *path = cursor ? g_strdup_printf ("/v1/wallet/history?limit=2&"
                                                        "starting_after=%s", cursor)
                                     : g_strdup ("/v1/wallet/history?limit=2");
      g_autoptr(OtResponse) page = wallet_request (w, "GET", path, NULL, NULL);
      JsonArray *data;

      ot_assert_status (page, 200);
      data = ot_json_array (ot_response_object (page), "data");
      g_assert_cmpuint (json_array_get_length (data), <=, 2);
      for (guint i = 0; i < json_array_get_length (data); i++)
        {
          JsonObject *item = json_array_get_object_element (data, i);
          const char *type = ot_json_string (item, "type");

          g_assert_cmpstr (ot_json_string (item, "object"), ==, "wallet_transaction");
          g_assert_cmpstr (type, ==, expected[seen->len]);
          if (g_str_equal (type, "charge"))
            {
              JsonObject *source = ot_json_object (item, "funding_source");

              g_assert_cmpstr (ot_json_string (source, "id"), ==, w->card_source);
              g_assert_cmpstr (ot_json_string (source, "last4"), ==, OT_BANK_CARD_APPROVE + 12);
              g_assert_true (g_str_has_prefix (ot_json_string (item, "charge"), "wch_"));
            }
          if (g_str_equal (type, "payment"))
            {
              g_assert_cmpint (ot_json_int (item, "amount"), ==, -7000);
              g_assert_cmpstr (ot_json_string (ot_json_object (item, "merchant"), "name"), ==,
                               "History Mall");
            }
          g_ptr_array_add (seen, g_strdup (ot_json_string (item, "id")));
        }
      pages++;
      if (!ot_json_bool (ot_response_object (page), "has_more"))
        break;
      g_free (cursor);
      cursor = g_strdup (g_ptr_array_index (seen, seen->len - 1));
    }
  g_assert_cmpuint (seen->len, ==, G_N_ELEMENTS (expected));
  g_assert_cmpuint (pages, ==, 3);
  g_free (pay_id);

  /* A cursor works only in the history that gave it: another user's line id,
   * however real, is refused. */
  {
    g_autoptr(Wallet) other = new_wallet ();
    g_autofree char *path = g_strdup_printf ("/v1/wallet/history?starting_after=%s",
                                             (char *) g_ptr_array_index (seen, 1));
    g_autoptr(OtResponse) theirs = wallet_request (other, "GET", path, NULL, NULL);
    g_autoptr(OtResponse) mine = wallet_request (w, "GET", path, NULL, NULL);

    ot_assert_error (theirs, 400, "invalid_request_error", "parameter_invalid");
    ot_assert_status (mine, 200);
  }
}

static void
test_audit (void)
{
  json_object_unref (ot_assert_audit_balanced (gw));
}

int
main (int   argc,
      char *argv[])
{
  const char *bank_args[] = { "--slow-seconds", SLOW_SECONDS, NULL };
  g_autofree char *bank_config = NULL;
  g_autofree char *smtp_config = NULL;
  g_autofree char *sms_config = NULL;
  g_autofree char *config = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  bank = ot_bank_start (bank_args);
  smtp = ot_smtp_start (NULL);
  sms = ot_sms_sink_start ();
  bank_config = ot_bank_gateway_config (bank, 1, NULL);
  smtp_config = ot_smtp_gateway_config (smtp);
  sms_config = ot_sms_sink_config (sms);
  config = g_strconcat ("[wallet]\npbkdf2_iterations=2000\nkdf_per_minute=100000\n"
                        "charge_recovery_interval=1\n",
                        bank_config, smtp_config, sms_config,
                        "[outbox]\nretry_initial=1\nretry_max=2\nlease=3\n", NULL);
  gw = ot_gateway_start (config, FALSE);

  g_test_add_func ("/wallet-charges/approved", test_charge_approved);
  g_test_add_func ("/wallet-charges/bank-account", test_charge_bank_account);
  g_test_add_func ("/wallet-charges/declined", test_charge_declined);
  g_test_add_func ("/wallet-charges/cap", test_charge_cap);
  g_test_add_func ("/wallet-charges/other-amount", test_charge_other_amount);
  g_test_add_func ("/wallet-charges/other-amount-recovered", test_charge_other_amount_recovered);
  g_test_add_func ("/wallet-charges/without-card", test_charge_without_card);
  g_test_add_func ("/wallet-charges/timeout-queried", test_charge_timeout_queried);
  g_test_add_func ("/wallet-charges/pending-retry", test_charge_pending_retry);
  g_test_add_func ("/wallet-charges/pending-recovered", test_charge_pending_recovered);
  g_test_add_func ("/wallet-charges/in-flight", test_charge_in_flight);
  g_test_add_func ("/wallet-charges/key-taken-while-pending", test_charge_key_taken_while_pending);
  g_test_add_func ("/wallet-charges/bank-down", test_charge_bank_down);
  g_test_add_func ("/wallet-charges/pays-with-receipts", test_pays_with_receipts);
  g_test_add_func ("/wallet-charges/merchant-sees-only-the-card",
                   test_merchant_sees_only_the_card);
  g_test_add_func ("/wallet-charges/history-pages", test_history_pages);
  g_test_add_func ("/wallet-charges/zz-audit", test_audit);

  status = g_test_run ();
  ot_gateway_stop (gw);
  ot_bank_stop (bank);
  ot_smtp_free (smtp);
  ot_sms_sink_free (sms);
  return status;
}
