/* test-card-network.c: the representative card at malls that know nothing
 * of onepin, through onepin-bank's card network (suite network)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A real onepin-bank plays the malls' acquirer and routes onepin's BIN
 * range to a real gateway's issuer endpoint; a wallet user's card is topped
 * up through the same bank. Every response code the issuer gives is made to
 * happen: approvals that hold, capture, refund and reverse money on the
 * same ledger as the merchant API, declines for a wrong CVC or expiry, an
 * unknown or non-network card, too little money, too large an amount, a
 * card locked by wrong CVCs, a reversal that overtakes its original, a
 * gateway that stops answering (the acquirer declines 91 and reverses, or
 * sends a capture or refund again itself once the mall gave up on it), and
 * one whose answers cannot be trusted (96). Messages signed by the test
 * itself check the signature, the replay window, retransmissions and
 * duplicate STANs. The audit balances throughout.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "onepin-shared.h"
#include "onepin-test-bank.h"
#include "onepin-test-wallet.h"

#define ISSUER_TIMEOUT "2"

static OtBank *bank;
static OtGateway *gw;
static char *issuer_file;
static OnepinKey *network_key;
static SoupSession *session;

/* ---- the acquirer, as a mall calls it ---------------------------------- */

static OtResponse *
acquire_full (const char *number,
              const char *expiry,
              const char *cvc,
              gint64      amount,
              gboolean    capture,
              const char *shop)
{
  g_autofree char *key = g_strdup_printf ("pay-%08x", g_random_int ());
  g_autofree char *body =
    g_strdup_printf ("{\"amount\":%" G_GINT64_FORMAT ",\"currency\":\"krw\",\"capture\":%s,"
                     "\"card_number\":\"%s\",\"card_expiry\":\"%s\",\"card_cvc\":\"%s\","
                     "\"merchant\":{\"id\":\"%s\",\"name\":\"%s Shop\",\"category\":\"5999\","
                     "\"city\":\"Seoul\"},\"order_id\":\"order-%s\"}",
                     amount, capture ? "true" : "false", number, expiry, cvc, shop, shop, key);

  return ot_bank_request (bank, "POST", "/v1/acquirer/payments", ot_bank_acquirer_key (bank),
                          key, body);
}

static OtResponse *
acquire (OtWallet *w,
         gint64    amount,
         gboolean  capture)
{
  return acquire_full (w->number, w->expiry, w->cvc, amount, capture, "plain");
}

static OtResponse *
follow_up (const char *payment,
           const char *action,
           const char *key,
           const char *body)
{
  g_autofree char *path = g_strdup_printf ("/v1/acquirer/payments/%s/%s", payment, action);

  return ot_bank_request (bank, "POST", path, ot_bank_acquirer_key (bank), key, body);
}

static void
assert_declined (OtResponse *r,
                 const char *decline_code,
                 const char *response_code)
{
  JsonObject *error;

  ot_assert_status (r, 402);
  error = ot_json_object (ot_response_object (r), "error");
  g_assert_cmpstr (ot_json_string (error, "type"), ==, "card_error");
  g_assert_cmpstr (ot_json_string (error, "decline_code"), ==, decline_code);
  g_assert_cmpstr (ot_json_string (error, "network_response_code"), ==, response_code);
}

static void
assert_wallet (OtWallet *w,
               gint64    balance,
               gint64    available)
{
  gint64 b, a;

  ot_wallet_balance (gw, w, &b, &a);
  g_assert_cmpint (b, ==, balance);
  g_assert_cmpint (a, ==, available);
}

/* Reversals are store and forward: wait for the acquirer to deliver one. */
static void
wait_available (OtWallet *w,
                gint64    available)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  gint64 b = 0, a = 0;

  while (g_get_monotonic_time () < deadline)
    {
      ot_wallet_balance (gw, w, &b, &a);
      if (a == available)
        return;
      g_usleep (100 * 1000);
    }
  g_assert_cmpint (a, ==, available);
}

/* Reversal advices the gateway has taken, from its database. */
static gint64
reversals_taken (void)
{
  g_autofree char *path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 count;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM network_messages "
                                       "WHERE mti = '0420'", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  count = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return count;
}

static void
wait_reversals (gint64 count)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (reversals_taken () < count && g_get_monotonic_time () < deadline)
    g_usleep (100 * 1000);
  g_assert_cmpint (reversals_taken (), >=, count);
}

static OtWallet *
funded_wallet (gint64 amount)
{
  OtWallet *w = ot_wallet_new (gw, "email");

  ot_wallet_fund (gw, w, amount);
  return w;
}

/* ---- messages the test signs itself ------------------------------------ */

static OtResponse *
send_signed (const char *body,
             gint64      timestamp)
{
  g_autofree char *uri = g_strconcat (ot_gateway_url (gw), "/v1/network/messages", NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *signature = onepin_signature_header (network_key, timestamp, body,
                                                        strlen (body));
  OtResponse *r = g_new0 (OtResponse, 1);
  gsize len = 0;

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Onepin-Signature",
                                signature);
  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  answer = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  r->status = soup_message_get_status (msg);
  r->body = g_strndup (g_bytes_get_data (answer, &len), g_bytes_get_size (answer));
  r->body_len = len;
  r->json = json_from_string (r->body, NULL);
  r->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  return r;
}

static gint64
now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* An authorization as the acquirer would send it, under a STAN of ours. */
static char *
authorization (OtWallet   *w,
               const char *stan,
               const char *transmitted,
               gint64      amount)
{
  return g_strdup_printf ("{\"mti\":\"0100\",\"2\":\"%s\",\"3\":\"000000\","
                          "\"4\":\"%012" G_GINT64_FORMAT "\",\"7\":\"%s\",\"11\":\"%s\","
                          "\"14\":\"%s\",\"18\":\"5999\",\"32\":\"777\","
                          "\"37\":\"%s%s\",\"42\":\"direct-shop\","
                          "\"43\":\"Direct Shop              Busan        KR\","
                          "\"49\":\"410\",\"cvc2\":\"%s\"}",
                          w->number, amount, transmitted, stan, w->expiry_yymm, "632522",
                          stan, w->cvc);
}

static void
assert_answer (OtResponse *r,
               const char *mti,
               const char *code)
{
  const char *signature = ot_response_header (r, "Onepin-Signature");

  ot_assert_status (r, 200);
  g_assert_true (onepin_signature_verify (network_key, signature, r->body, r->body_len, now (),
                                          ONEPIN_SIGNATURE_TOLERANCE));
  g_assert_cmpstr (ot_json_string (ot_response_object (r), "mti"), ==, mti);
  g_assert_cmpstr (ot_json_string (ot_response_object (r), "39"), ==, code);
  g_assert_null (strstr (r->body, "\"2\""));
}

/* A completion, refund or reversal of @original (field 90), under @stan. */
static char *
follow_up_message_at (const char *mti,
                      const char *processing,
                      const char *stan,
                      gint64      amount,
                      const char *original,
                      const char *t)
{
  return g_strdup_printf ("{\"mti\":\"%s\",\"3\":\"%s\",\"4\":\"%012" G_GINT64_FORMAT "\","
                          "\"7\":\"%s\",\"11\":\"%s\",\"32\":\"777\","
                          "\"37\":\"632522%s\",\"42\":\"direct-shop\",\"49\":\"410\","
                          "\"90\":\"%s\"}", mti, processing, amount, t, stan, stan, original);
}

static char *
follow_up_message (const char *mti,
                   const char *processing,
                   const char *stan,
                   gint64      amount,
                   const char *original)
{
  g_autofree char *t = onepin_iso_time_format (now ());

  return follow_up_message_at (mti, processing, stan, amount, original, t);
}

static OtResponse *
send_follow_up (const char *mti,
                const char *processing,
                const char *stan,
                gint64      amount,
                const char *original)
{
  g_autofree char *body = follow_up_message (mti, processing, stan, amount, original);

  return send_signed (body, now ());
}

/* ---- tests -------------------------------------------------------------- */

static void
test_sandbox_cards (void)
{
  g_autoptr(OtResponse) auth = acquire_full ("4242424242424242", "12/30", "123", 30000, FALSE,
                                             "sandbox");
  g_autoptr(OtResponse) capture = NULL;
  g_autoptr(OtResponse) refund = NULL;
  g_autoptr(OtResponse) too_much = NULL;
  g_autoptr(OtResponse) no_funds = acquire_full ("4000000000009995", "12/30", "123", 1000, TRUE,
                                                 "sandbox");
  g_autoptr(OtResponse) declined = acquire_full ("4000000000000002", "12/30", "123", 1000, TRUE,
                                                 "sandbox");
  g_autoptr(OtResponse) expired = acquire_full ("4242424242424242", "01/20", "123", 1000, TRUE,
                                                "sandbox");
  g_autoptr(OtResponse) unknown = acquire_full ("4111111111111111", "12/30", "123", 1000, TRUE,
                                                "sandbox");
  const char *id;

  ot_assert_status (auth, 200);
  id = ot_json_string (ot_response_object (auth), "id");
  g_assert_cmpstr (ot_json_string (ot_response_object (auth), "status"), ==, "authorized");
  g_assert_cmpstr (ot_json_string (ot_response_object (auth), "network"), ==, "sandbox");
  g_assert_cmpstr (ot_json_string (ot_response_object (auth), "response_code"), ==, "00");
  capture = follow_up (id, "capture", "cap-sandbox", "{\"amount\":25000}");
  ot_assert_status (capture, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (capture), "amount_captured"), ==, 25000);
  refund = follow_up (id, "refund", "ref-sandbox", "{\"amount\":5000}");
  ot_assert_status (refund, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (refund), "amount_refunded"), ==, 5000);
  too_much = follow_up (id, "refund", "ref-sandbox-2", "{\"amount\":20001}");
  ot_assert_error (too_much, 400, "invalid_request_error", "amount_too_large");

  assert_declined (no_funds, "insufficient_funds", "51");
  assert_declined (declined, "card_declined", "05");
  assert_declined (expired, "expired_card", "54");
  assert_declined (unknown, "incorrect_number", "14");
}

static void
test_acquirer_refusals (void)
{
  const char *good = "{\"amount\":1000,\"currency\":\"krw\",\"card_number\":\"4242424242424242\","
                     "\"card_expiry\":\"12/30\",\"card_cvc\":\"123\",\"merchant\":{\"id\":\"m\","
                     "\"name\":\"M\",\"category\":\"5999\"}}";
  g_autoptr(OtResponse) no_key = ot_bank_request (bank, "POST", "/v1/acquirer/payments", NULL,
                                                  "k-1", good);
  g_autoptr(OtResponse) api_key = ot_bank_request (bank, "POST", "/v1/acquirer/payments",
                                                   ot_bank_api_key (bank), "k-1", good);
  g_autoptr(OtResponse) no_idem = ot_bank_request (bank, "POST", "/v1/acquirer/payments",
                                                   ot_bank_acquirer_key (bank), NULL, good);
  g_autoptr(OtResponse) first = ot_bank_request (bank, "POST", "/v1/acquirer/payments",
                                                 ot_bank_acquirer_key (bank), "k-2", good);
  g_autoptr(OtResponse) replay = ot_bank_request (bank, "POST", "/v1/acquirer/payments",
                                                  ot_bank_acquirer_key (bank), "k-2", good);
  g_autoptr(OtResponse) mcc = ot_bank_request (bank, "POST", "/v1/acquirer/payments",
                                               ot_bank_acquirer_key (bank), "k-3",
                                               "{\"amount\":1000,\"currency\":\"krw\","
                                               "\"card_number\":\"4242424242424242\","
                                               "\"card_expiry\":\"12/30\",\"card_cvc\":\"123\","
                                               "\"merchant\":{\"id\":\"m\",\"name\":\"M\","
                                               "\"category\":\"shop\"}}");
  g_autoptr(OtResponse) cvc = ot_bank_request (bank, "POST", "/v1/acquirer/payments",
                                               ot_bank_acquirer_key (bank), "k-4",
                                               "{\"amount\":1000,\"currency\":\"krw\","
                                               "\"card_number\":\"4242424242424242\","
                                               "\"card_expiry\":\"12/30\",\"card_cvc\":\"12a\","
                                               "\"merchant\":{\"id\":\"m\",\"name\":\"M\","
                                               "\"category\":\"5999\"}}");
  /* the mall's name goes into field 43 and onto card holders' statements */
  g_autoptr(OtResponse) hidden = ot_bank_request (bank, "POST", "/v1/acquirer/payments",
                                                  ot_bank_acquirer_key (bank), "k-5",
                                                  "{\"amount\":1000,\"currency\":\"krw\","
                                                  "\"card_number\":\"4242424242424242\","
                                                  "\"card_expiry\":\"12/30\",\"card_cvc\":\"123\","
                                                  "\"merchant\":{\"id\":\"m\",\"name\":\"M\\u2028\","
                                                  "\"category\":\"5999\"}}");
  g_autoptr(OtResponse) missing = ot_bank_request (bank, "GET", "/v1/acquirer/payments/ap_nope",
                                                   ot_bank_acquirer_key (bank), NULL, NULL);

  ot_assert_error (no_key, 401, "authentication_error", "unauthorized");
  ot_assert_error (api_key, 401, "authentication_error", "unauthorized");
  ot_assert_error (no_idem, 400, "invalid_request_error", "parameter_missing");
  ot_assert_status (first, 200);
  ot_assert_status (replay, 200);
  g_assert_cmpstr (first->body, ==, replay->body);
  g_assert_cmpstr (ot_response_header (replay, "Idempotent-Replayed"), ==, "true");
  ot_assert_error (mcc, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (cvc, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (hidden, 400, "invalid_request_error", "parameter_invalid");
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (hidden), "error"),
                                   "param"), ==, "merchant.name");
  ot_assert_error (missing, 404, "invalid_request_error", "resource_missing");
}

static void
test_purchase (void)
{
  g_autoptr(OtWallet) w = funded_wallet (50000);
  g_autoptr(OtResponse) r = acquire (w, 12000, TRUE);
  g_autoptr(OtResponse) history = NULL;
  g_autoptr(JsonObject) audit = NULL;
  JsonObject *p;

  ot_assert_status (r, 200);
  p = ot_response_object (r);
  g_assert_cmpstr (ot_json_string (p, "status"), ==, "captured");
  g_assert_cmpstr (ot_json_string (p, "network"), ==, "onepin");
  g_assert_cmpstr (ot_json_string (p, "response_code"), ==, "00");
  g_assert_cmpint (strlen (ot_json_string (p, "auth_code")), ==, 6);
  g_assert_cmpstr (ot_json_string (p, "card_last4"), ==, w->number + 12);
  assert_wallet (w, 38000, 38000);

  /* The holder's history names the shop; the ledger balances. */
  history = ot_request (gw, "GET", "/v1/wallet/history", w->token, NULL, NULL);
  ot_assert_status (history, 200);
  g_assert_nonnull (strstr (history->body, "plain Shop"));
  audit = ot_assert_audit_balanced (gw);
}

static void
test_authorize_capture_refund (void)
{
  g_autoptr(OtWallet) w = funded_wallet (50000);
  g_autoptr(OtResponse) auth = acquire (w, 20000, FALSE);
  g_autoptr(OtResponse) capture = NULL;
  g_autoptr(OtResponse) again = NULL;
  g_autoptr(OtResponse) refund = NULL;
  g_autoptr(OtResponse) refund_replay = NULL;
  g_autoptr(OtResponse) rest = NULL;
  g_autoptr(OtResponse) over = NULL;
  g_autoptr(JsonObject) audit = NULL;
  const char *id;

  ot_assert_status (auth, 200);
  id = ot_json_string (ot_response_object (auth), "id");
  g_assert_cmpstr (ot_json_string (ot_response_object (auth), "status"), ==, "authorized");
  assert_wallet (w, 50000, 30000);

  capture = follow_up (id, "capture", "cap-1", "{\"amount\":15000}");
  ot_assert_status (capture, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (capture), "status"), ==, "captured");
  g_assert_cmpint (ot_json_int (ot_response_object (capture), "amount_captured"), ==, 15000);
  assert_wallet (w, 35000, 35000);
  again = follow_up (id, "capture", "cap-2", "{}");
  ot_assert_error (again, 409, "invalid_request_error", "payment_state");

  refund = follow_up (id, "refund", "ref-1", "{\"amount\":5000}");
  ot_assert_status (refund, 200);
  refund_replay = follow_up (id, "refund", "ref-1", "{\"amount\":5000}");
  g_assert_cmpstr (refund->body, ==, refund_replay->body);
  assert_wallet (w, 40000, 40000);
  over = follow_up (id, "refund", "ref-2", "{\"amount\":10001}");
  ot_assert_error (over, 400, "invalid_request_error", "amount_too_large");
  rest = follow_up (id, "refund", "ref-3", "{}");
  ot_assert_status (rest, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (rest), "amount_refunded"), ==, 15000);
  assert_wallet (w, 50000, 50000);
  audit = ot_assert_audit_balanced (gw);
  g_assert_cmpint (ot_json_int (audit, "pending_holds_total"), ==, 0);
}

static void
test_cancel (void)
{
  g_autoptr(OtWallet) w = funded_wallet (20000);
  g_autoptr(OtResponse) auth = acquire (w, 7000, FALSE);
  g_autoptr(OtResponse) cancel = NULL;
  g_autoptr(OtResponse) capture = NULL;
  const char *id;

  ot_assert_status (auth, 200);
  id = ot_json_string (ot_response_object (auth), "id");
  assert_wallet (w, 20000, 13000);
  cancel = follow_up (id, "cancel", "cancel-1", "{}");
  ot_assert_status (cancel, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (cancel), "status"), ==, "canceled");
  wait_available (w, 20000);
  capture = follow_up (id, "capture", "cap-after-cancel", "{}");
  ot_assert_error (capture, 409, "invalid_request_error", "payment_state");
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_declines (void)
{
  g_autoptr(OtWallet) w = funded_wallet (10000);
  g_autofree char *stranger = ot_random_card_number ("942");
  g_autoptr(OtCard) prepaid = ot_new_card (gw, 10000, "1234");
  g_autofree char *wrong_cvc = g_strdup_printf ("%03d", (atoi (w->cvc) + 1) % 1000);
  g_autoptr(OtResponse) cvc = acquire_full (w->number, w->expiry, wrong_cvc, 1000, TRUE, "d");
  g_autoptr(OtResponse) expiry = acquire_full (w->number, "01/40", w->cvc, 1000, TRUE, "d");
  g_autoptr(OtResponse) funds = acquire (w, 10001, TRUE);
  g_autoptr(OtResponse) large = acquire (w, 1000001, TRUE);
  g_autoptr(OtResponse) unknown = acquire_full (stranger, "12/30", "123", 1000, TRUE, "d");
  g_autoptr(OtResponse) not_network = acquire_full (prepaid->number, "12/30", "123", 1000, TRUE,
                                                    "d");
  g_autoptr(OtResponse) fine = acquire (w, 10000, TRUE);

  assert_declined (cvc, "incorrect_cvc", "55");
  assert_declined (expiry, "expired_card", "54");
  assert_declined (funds, "insufficient_funds", "51");
  assert_declined (large, "invalid_amount", "13");
  assert_declined (unknown, "incorrect_number", "14");
  assert_declined (not_network, "incorrect_number", "14");
  /* Two wrong credentials, then a right one: the count starts again. */
  ot_assert_status (fine, 200);
  assert_wallet (w, 0, 0);
}

static void
test_lockout (void)
{
  g_autoptr(OtWallet) w = funded_wallet (10000);
  g_autofree char *wrong = g_strdup_printf ("%03d", (atoi (w->cvc) + 7) % 1000);
  g_autoptr(OtResponse) locked = NULL;
  g_autoptr(OtResponse) password = NULL;
  g_autoptr(OtResponse) balance = NULL;
  g_autofree char *body = NULL;

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(OtResponse) r = acquire_full (w->number, w->expiry, wrong, 1000, TRUE, "lock");

      assert_declined (r, "incorrect_cvc", "55");
    }
  locked = acquire (w, 1000, TRUE);
  assert_declined (locked, "card_locked", "75");
  /* The lock is the card's: its password is refused too. */
  body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\"}", w->number,
                          OT_WALLET_CARD_PASSWORD);
  balance = ot_request (gw, "POST", "/v1/cards/balance", NULL, NULL, body);
  ot_assert_error (balance, 402, "card_error", "card_locked");
  assert_wallet (w, 10000, 10000);
}

/* A wrong card password at a merchant, by the merchant API. */
static void
pay_wrong_password (const char *secret_key,
                    OtWallet   *w)
{
  g_autofree char *body =
    g_strdup_printf ("{\"card_number\":\"%s\",\"password\":\"%s9\",\"amount\":1000,"
                     "\"currency\":\"krw\",\"order_id\":\"guess\",\"capture\":true}",
                     w->number, OT_WALLET_CARD_PASSWORD);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/payments", secret_key, NULL, body);

  ot_assert_status (r, 402);
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"),
                                   "decline_code"), ==, "invalid_credentials");
}

/* Wrong passwords and wrong CVCs are counted apart: the right CVC (in an
 * authorization declined for want of funds, which moves nothing) does not
 * clear the password's count, nor the right password the CVC's. */
static void
test_counts_apart (void)
{
  g_autoptr(OtWallet) w = funded_wallet (10000);
  g_autofree char *secret_key = NULL;
  g_autofree char *merchant = ot_create_merchant (gw, "Guessing Mall", &secret_key);
  g_autoptr(OtResponse) locked = NULL;

  for (guint i = 0; i < 4; i++)
    pay_wrong_password (secret_key, w);
  {
    g_autoptr(OtResponse) r = acquire (w, 10001, TRUE);

    assert_declined (r, "insufficient_funds", "51");
  }
  pay_wrong_password (secret_key, w);  /* the fifth in a row */
  locked = acquire (w, 1000, TRUE);
  assert_declined (locked, "card_locked", "75");
  assert_wallet (w, 10000, 10000);

  /* the other way: four wrong CVCs, the right password, a fifth wrong CVC */
  {
    g_autoptr(OtWallet) v = funded_wallet (10000);
    g_autoptr(OtResponse) last = NULL;
    g_autoptr(OtResponse) after = NULL;
    g_autofree char *wrong = g_strdup_printf ("%03d", (atoi (v->cvc) + 3) % 1000);

    for (guint i = 0; i < 4; i++)
      {
        g_autoptr(OtResponse) r = acquire_full (v->number, v->expiry, wrong, 1000, TRUE, "g");

        assert_declined (r, "incorrect_cvc", "55");
      }
    json_object_unref (ot_card_balance (gw, v->number, OT_WALLET_CARD_PASSWORD));
    last = acquire_full (v->number, v->expiry, wrong, 1000, TRUE, "g");
    assert_declined (last, "incorrect_cvc", "55");
    after = acquire (v, 1000, TRUE);
    assert_declined (after, "card_locked", "75");
  }
}

static void
test_issuer_stops_answering (void)
{
  g_autoptr(OtWallet) w = funded_wallet (30000);
  g_autoptr(OtResponse) r = NULL;
  gint64 before = reversals_taken ();

  /* The gateway takes the message but answers only after the acquirer
   * gave up: the mall is told 91, and the reversal undoes the hold, or
   * overtakes the authorization and has it declined. */
  g_assert_cmpint (kill (ot_gateway_pid (gw), SIGSTOP), ==, 0);
  r = acquire (w, 9000, FALSE);
  g_assert_cmpint (kill (ot_gateway_pid (gw), SIGCONT), ==, 0);
  assert_declined (r, "issuer_unavailable", "91");
  wait_reversals (before + 1);
  assert_wallet (w, 30000, 30000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

/* Mall's call @action on @payment that reaches the issuer while it is
 * stopped: the acquirer gives up on it (503), and the mall never retries.
 * The gateway, let go, applies the message and answers nobody. */
static void
give_up (const char *payment,
         const char *action,
         const char *key,
         const char *body)
{
  g_autoptr(OtResponse) r = NULL;

  g_assert_cmpint (kill (ot_gateway_pid (gw), SIGSTOP), ==, 0);
  r = follow_up (payment, action, key, body);
  g_assert_cmpint (kill (ot_gateway_pid (gw), SIGCONT), ==, 0);
  ot_assert_error (r, 503, "api_error", "issuer_unavailable");
}

/* Until the acquirer's @payment has @field at @value: the bank sent the
 * message again itself and recorded the issuer's answer. */
static void
wait_payment (const char *payment,
              const char *field,
              gint64      value)
{
  g_autofree char *path = g_strconcat ("/v1/acquirer/payments/", payment, NULL);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  gint64 now_value;

  for (;;)
    {
      g_autoptr(OtResponse) r = ot_bank_request (bank, "GET", path,
                                                 ot_bank_acquirer_key (bank), NULL, NULL);

      now_value = ot_json_int (ot_response_object (r), field);
      if (now_value == value || g_get_monotonic_time () > deadline)
        break;
      g_usleep (100 * 1000);
    }
  g_assert_cmpint (now_value, ==, value);
}

/* The late retry gets what the bank stored when it settled the call. */
static void
assert_replayed (OtResponse *late,
                 const char *field,
                 gint64      value)
{
  ot_assert_status (late, 200);
  g_assert_cmpstr (ot_response_header (late, "Idempotent-Replayed"), ==, "true");
  g_assert_cmpint (ot_json_int (ot_response_object (late), field), ==, value);
}

/* A capture and then a refund the issuer applied but answered too late,
 * which the mall never retries: the bank sends each again itself, the
 * issuer answers the retransmission from its record, and the bank's word
 * and the card's balance agree, each moved once. */
static void
test_follow_ups_given_up (void)
{
  g_autoptr(OtWallet) w = funded_wallet (40000);
  g_autoptr(OtResponse) auth = acquire (w, 12000, FALSE);
  g_autoptr(OtResponse) late_capture = NULL;
  g_autoptr(OtResponse) late_refund = NULL;
  g_autoptr(OtResponse) rest = NULL;
  g_autoptr(JsonObject) audit = NULL;
  const char *id;

  ot_assert_status (auth, 200);
  id = ot_json_string (ot_response_object (auth), "id");
  give_up (id, "capture", "cap-gone", "{}");
  wait_payment (id, "amount_captured", 12000);
  assert_wallet (w, 28000, 28000);
  late_capture = follow_up (id, "capture", "cap-gone", "{}");
  assert_replayed (late_capture, "amount_captured", 12000);

  give_up (id, "refund", "ref-gone", "{\"amount\":5000}");
  wait_payment (id, "amount_refunded", 5000);
  assert_wallet (w, 33000, 33000);
  late_refund = follow_up (id, "refund", "ref-gone", "{\"amount\":5000}");
  assert_replayed (late_refund, "amount_refunded", 5000);

  rest = follow_up (id, "refund", "ref-rest", "{}");
  ot_assert_status (rest, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (rest), "amount_refunded"), ==, 12000);
  assert_wallet (w, 40000, 40000);
  audit = ot_assert_audit_balanced (gw);
  g_assert_cmpint (ot_json_int (audit, "pending_holds_total"), ==, 0);
}

static void
test_untrusted_answer (void)
{
  g_autoptr(OtWallet) w = funded_wallet (10000);
  g_autoptr(OtResponse) r = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GError) error = NULL;

  /* An "issuer" that does not sign: the bank's own 404. */
  g_assert_true (g_file_set_contents (issuer_file, ot_bank_url (bank), -1, &error));
  r = acquire (w, 1000, TRUE);
  url = g_strconcat (ot_gateway_url (gw), "\n", NULL);
  g_assert_true (g_file_set_contents (issuer_file, url, -1, &error));
  assert_declined (r, "processing_error", "96");
  assert_wallet (w, 10000, 10000);
}

static void
test_signed_messages (void)
{
  g_autoptr(OtWallet) w = funded_wallet (10000);
  g_autofree char *t = onepin_iso_time_format (now ());
  g_autofree char *auth = authorization (w, "100001", t, 4000);
  g_autofree char *stale_time = onepin_iso_time_format (now () - 600);
  g_autofree char *stale = authorization (w, "100002", stale_time, 4000);
  g_autofree char *other = authorization (w, "100001", t, 4001);
  g_autofree char *reversal = NULL;
  g_autofree char *late = authorization (w, "100003", t, 2000);
  g_autofree char *original = onepin_iso_original_format ("0100", "100003", t, "777");
  g_autoptr(OtResponse) approved = send_signed (auth, now ());
  g_autoptr(OtResponse) again = send_signed (auth, now ());
  g_autoptr(OtResponse) duplicate = send_signed (other, now ());
  g_autoptr(OtResponse) old_signature = send_signed (auth, now () - 301);
  g_autoptr(OtResponse) stale_message = send_signed (stale, now ());
  g_autoptr(OtResponse) format = send_signed ("{\"mti\":\"0100\",\"2\":\"12\"}", now ());
  g_autoptr(OtResponse) unknown_type = send_signed ("{\"mti\":\"0800\"}", now ());
  /* a card number as a member's name, with no type: not repeated */
  g_autoptr(OtResponse) number_member = send_signed ("{\"9410275367198721\":\"1\"}", now ());
  g_autoptr(OtResponse) overtaken = NULL;
  g_autoptr(OtResponse) late_answer = NULL;
  g_autoptr(OtResponse) unsigned_r = NULL;

  assert_answer (approved, "0110", "00");
  g_assert_cmpint (strlen (ot_json_string (ot_response_object (approved), "38")), ==, 6);
  g_assert_cmpstr (approved->body, ==, again->body);
  assert_wallet (w, 10000, 6000);
  assert_answer (duplicate, "0110", "94");
  ot_assert_error (old_signature, 401, "authentication_error", "invalid_signature");
  assert_answer (stale_message, "0110", "30");
  assert_answer (format, "0110", "30");
  ot_assert_error (unknown_type, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (number_member, 400, "invalid_request_error", "parameter_invalid");
  g_assert_null (strstr (number_member->body, "9410275367198721"));

  /* A reversal that overtakes its original: the original is then declined. */
  reversal = g_strdup_printf ("{\"mti\":\"0420\",\"3\":\"000000\",\"4\":\"000000002000\","
                              "\"7\":\"%s\",\"11\":\"100004\",\"32\":\"777\","
                              "\"37\":\"632522100003\",\"42\":\"direct-shop\",\"49\":\"410\","
                              "\"90\":\"%s\"}", t, original);
  overtaken = send_signed (reversal, now ());
  assert_answer (overtaken, "0430", "00");
  late_answer = send_signed (late, now ());
  assert_answer (late_answer, "0110", "05");
  assert_wallet (w, 10000, 6000);

  unsigned_r = ot_request (gw, "POST", "/v1/network/messages", NULL, NULL, auth);
  ot_assert_error (unsigned_r, 401, "authentication_error", "invalid_signature");

  /* Follow-ups of the approved authorization 100001 (4,000 won held). */
  {
    g_autofree char *held = onepin_iso_original_format ("0100", "100001", t, "777");
    g_autofree char *nowhere = onepin_iso_original_format ("0100", "999999", t, "777");
    g_autofree char *purchase = NULL;
    g_autoptr(OtResponse) unknown = send_follow_up ("0220", "000000", "100010", 1000, nowhere);
    g_autoptr(OtResponse) too_much = send_follow_up ("0220", "000000", "100011", 4001, held);
    g_autoptr(OtResponse) captured = send_follow_up ("0220", "000000", "100012", 3000, held);
    /* Sent at t, which the reversal below names it by, whatever the clock
     * says by then. */
    g_autofree char *refund = follow_up_message_at ("0200", "200000", "100013", 1000, held, t);
    g_autoptr(OtResponse) refunded = send_signed (refund, now ());
    g_autoptr(OtResponse) over = send_follow_up ("0200", "200000", "100014", 2001, held);
    g_autoptr(OtResponse) undo_refund = NULL;

    assert_answer (unknown, "0230", "25");
    assert_answer (too_much, "0230", "13");
    assert_answer (captured, "0230", "00");
    g_assert_cmpstr (ot_json_string (ot_response_object (captured), "38"), ==,
                     ot_json_string (ot_response_object (approved), "38"));
    assert_answer (refunded, "0210", "00");
    assert_answer (over, "0210", "13");
    /* 10,000 − 3,000 captured + 1,000 refunded; nothing held. */
    assert_wallet (w, 8000, 8000);
    /* A refund is not undone by a reversal. */
    purchase = onepin_iso_original_format ("0200", "100013", t, "777");
    undo_refund = send_follow_up ("0400", "200000", "100015", 1000, purchase);
    assert_answer (undo_refund, "0410", "12");
    assert_wallet (w, 8000, 8000);
    json_object_unref (ot_assert_audit_balanced (gw));
  }
}

static void
test_receipt_queued (void)
{
  g_autoptr(OtWallet) w = funded_wallet (10000);
  g_autoptr(OtResponse) r = NULL;
  g_autofree char *db_path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 before, after;
  const char *count = "SELECT count(*) FROM outbox WHERE type = 'email'";

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, count, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  before = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  r = acquire (w, 3000, TRUE);
  ot_assert_status (r, 200);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  after = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  /* The wallet's payment_receipt, on the channel the user chose. */
  g_assert_cmpint (after, ==, before + 1);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *dir = NULL;
  g_autofree char *args_file = NULL;
  g_autofree char *bank_config = NULL;
  g_autofree char *config = NULL;
  g_autofree char *secret = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  g_assert_true (onepin_crypto_init (NULL));
  dir = g_dir_make_tmp ("onepin-network-XXXXXX", &error);
  g_assert_no_error (error);
  issuer_file = g_build_filename (dir, "issuer.url", NULL);
  {
    const char *args[] = { "--issuer-url-file", issuer_file, "--issuer-timeout", ISSUER_TIMEOUT,
                           "--resend-after", "1", NULL };

    bank = ot_bank_start (args);
  }
  bank_config = ot_bank_gateway_config (bank, 5, NULL);
  config = g_strdup_printf ("[wallet]\npbkdf2_iterations=2000\n[network]\nsecret_file=%s\n%s",
                            ot_bank_network_secret_path (bank), bank_config);
  gw = ot_gateway_start (config, FALSE);
  g_assert_true (g_file_set_contents (issuer_file, ot_gateway_url (gw), -1, &error));
  g_assert_true (g_file_get_contents (ot_bank_network_secret_path (bank), &secret, NULL, NULL));
  g_strstrip (secret);
  network_key = onepin_key_new_hmac ((const guint8 *) secret, strlen (secret), NULL);
  session = soup_session_new_with_options ("timeout", 30, NULL);

  g_test_add_func ("/network/sandbox-cards", test_sandbox_cards);
  g_test_add_func ("/network/acquirer-refusals", test_acquirer_refusals);
  g_test_add_func ("/network/purchase", test_purchase);
  g_test_add_func ("/network/authorize-capture-refund", test_authorize_capture_refund);
  g_test_add_func ("/network/cancel", test_cancel);
  g_test_add_func ("/network/declines", test_declines);
  g_test_add_func ("/network/lockout", test_lockout);
  g_test_add_func ("/network/counts-apart", test_counts_apart);
  g_test_add_func ("/network/issuer-stops-answering", test_issuer_stops_answering);
  g_test_add_func ("/network/follow-ups-given-up", test_follow_ups_given_up);
  g_test_add_func ("/network/untrusted-answer", test_untrusted_answer);
  g_test_add_func ("/network/signed-messages", test_signed_messages);
  g_test_add_func ("/network/receipt-queued", test_receipt_queued);
  status = g_test_run ();

  g_clear_object (&session);
  g_clear_pointer (&network_key, onepin_key_free);
  ot_gateway_stop (gw);
  ot_bank_stop (bank);
  g_remove (issuer_file);
  g_rmdir (dir);
  g_free (issuer_file);
  return status;
}
