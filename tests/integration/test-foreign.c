/* test-foreign.c: foreign partners' PINs and charges in foreign currencies
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The won a card pays for a foreign amount is always rounded up, the same
 * integer lands on the partner's side, and both amounts are on the journal
 * entry; the audit balances after every step.
 */
#include <sqlite3.h>
#include <string.h>

#include "onepin-test-wallet.h"
#include "phone-test-util.h"

static OtGateway *gw;

static JsonObject *
admin_post (const char *path,
            const char *body,
            guint       status)
{
  g_autoptr(OtResponse) r = ot_request (gw, "POST", path, ot_gateway_admin_token (gw), NULL, body);

  ot_assert_status (r, status);
  return json_object_ref (ot_response_object (r));
}

static JsonObject *
partner (const char *name,
         const char *currency,
         const char *rate,
         const char *merchant)
{
  g_autofree char *body = g_strdup_printf ("{\"name\": \"%s\", \"currency\": \"%s\", \"rate\":"
                                           " \"%s\"%s%s%s}", name, currency, rate,
                                           merchant ? ", \"merchant\": \"" : "",
                                           merchant ? merchant : "", merchant ? "\"" : "");

  return admin_post ("/v1/admin/foreign/partners", body, 200);
}

static void
load (const char *partner_id,
      gint64      face,
      const char *pins)
{
  g_autofree char *path = g_strdup_printf ("/v1/admin/foreign/partners/%s/pins", partner_id);
  g_autofree char *body = g_strdup_printf ("{\"face_value\": %" G_GINT64_FORMAT ", \"pins\": [%s]}",
                                           face, pins);

  json_object_unref (admin_post (path, body, 200));
}

static OtResponse *
switch_over (const OtCard *card,
             const char   *partner_id,
             gint64        face,
             const char   *key)
{
  g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\","
                                           " \"partner\": \"%s\", \"face_value\": %"
                                           G_GINT64_FORMAT "}", card->number, partner_id, face);

  return ot_request (gw, "POST", "/v1/cards/foreign_pins", NULL, key, body);
}

/* The won for @amount minor units at @rate_e6, rounded up, computed apart
 * from the gateway. */
static gint64
expected_krw (gint64 amount,
              gint64 scale,
              gint64 rate_e6)
{
  gint64 product = amount * rate_e6;

  return product / (scale * 1000000) + (product % (scale * 1000000) != 0);
}

static void
audit (void)
{
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_switch_over (void)
{
  g_autoptr(JsonObject) p = partner ("Visa Prepaid US", "usd", "1350.25", NULL);
  const char *id = ot_json_string (p, "id");
  g_autoptr(OtCard) card = ot_new_card (gw, 50000, "2580");
  g_autoptr(OtResponse) first = NULL, replay = NULL, second = NULL, big = NULL;
  g_autoptr(OtResponse) third = NULL, none = NULL, unknown = NULL;
  g_autofree char *db_path = NULL;
  JsonObject *o;

  g_assert_true (g_str_has_prefix (id, "fp_"));
  g_assert_cmpstr (ot_json_string (p, "rate"), ==, "1350.25");
  load (id, 1000, "\"US-PIN-0001-AAAA\", \"US-PIN-0002-BBBB\", \"US-PIN-0003-CCCC\"");
  load (id, 2500, "\"US-PIN-0004-DDDD\"");

  /* $10.00 at 1,350.25 won is 13,502.5 won: the card pays 13,503. */
  first = switch_over (card, id, 1000, "fx-1");
  ot_assert_status (first, 200);
  o = ot_response_object (first);
  g_assert_cmpstr (ot_json_string (o, "pin"), ==, "US-PIN-0001-AAAA");
  g_assert_cmpstr (ot_json_string (o, "pin_last4"), ==, "AAAA");
  g_assert_cmpint (ot_json_int (o, "amount"), ==, 13503);
  g_assert_cmpint (ot_json_int (o, "amount"), ==, expected_krw (1000, 100, 1350250000));
  g_assert_cmpint (ot_json_int (o, "balance"), ==, 50000 - 13503);
  ot_assert_card_balance (gw, card->number, "2580", 36497, 36497);

  /* A retry with the key gets the same answer, and no second PIN. */
  replay = switch_over (card, id, 1000, "fx-1");
  ot_assert_status (replay, 200);
  g_assert_cmpstr (replay->body, ==, first->body);
  ot_assert_card_balance (gw, card->number, "2580", 36497, 36497);

  second = switch_over (card, id, 1000, NULL);
  ot_assert_status (second, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (second), "pin"), ==, "US-PIN-0002-BBBB");

  /* $25 is 33,756.25 won, 33,757 rounded up: more than is left. */
  big = switch_over (card, id, 2500, NULL);
  ot_assert_error (big, 402, "card_error", "insufficient_funds");
  ot_assert_card_balance (gw, card->number, "2580", 22994, 22994);

  third = switch_over (card, id, 1000, NULL);
  ot_assert_status (third, 200);
  none = switch_over (card, id, 1000, NULL);
  ot_assert_error (none, 409, "invalid_request_error", "foreign_pins_sold_out");
  unknown = switch_over (card, "fp_nosuch", 1000, NULL);
  ot_assert_error (unknown, 404, "invalid_request_error", "resource_missing");
  ot_assert_card_balance (gw, card->number, "2580", 22994 - 13503, 22994 - 13503);

  /* The PIN was shown once: the gateway kept only its last four. */
  pt_assert_secret_absent (gw, "US-PIN-0001-AAAA");
  pt_assert_secret_absent (gw, "US-PIN-0003-CCCC");
  db_path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  {
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    sqlite3_prepare_v2 (db, "SELECT COUNT(*) FROM foreign_pins WHERE state = 'sold'"
                            " AND pin_sealed IS NULL AND krw_amount = 13503", -1, &stmt, NULL);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int64 (stmt, 0), ==, 3);
    sqlite3_finalize (stmt);
    sqlite3_prepare_v2 (db, "SELECT COUNT(*) FROM journal_entries WHERE channel = 'foreign'"
                            " AND foreign_amount = 1000 AND foreign_currency = 'usd'"
                            " AND fx_rate_e6 = 1350250000", -1, &stmt, NULL);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int64 (stmt, 0), ==, 3);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
  }
  audit ();
}

/* Awkward rates and amounts: every conversion rounds up, by less than a
 * won, and the books still balance to the won. */
static void
test_no_rounding_leak (void)
{
  g_autoptr(JsonObject) usd = partner ("Odd dollars", "usd", "1234.567891", NULL);
  g_autoptr(JsonObject) jpy = partner ("Yen cards", "jpy", "9.123456", NULL);
  g_autoptr(OtCard) card = ot_new_card (gw, 100000, "2580");
  const gint64 faces[] = { 1, 3, 7, 99, 101, 999 };
  gint64 paid = 0;

  for (guint i = 0; i < G_N_ELEMENTS (faces); i++)
    {
      g_autoptr(GString) pins = g_string_new (NULL);

      for (guint j = 0; j < 4; j++)
        g_string_append_printf (pins, "%s\"ODD-%u-%u\"", j ? ", " : "", i, j);
      load (ot_json_string (usd, "id"), faces[i], pins->str);
    }
  load (ot_json_string (jpy, "id"), 1000, "\"JP-00001\", \"JP-00002\"");

  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < G_N_ELEMENTS (faces); i++)
      {
        g_autoptr(OtResponse) r = switch_over (card, ot_json_string (usd, "id"), faces[i], NULL);
        gint64 krw = expected_krw (faces[i], 100, 1234567891);

        ot_assert_status (r, 200);
        g_assert_cmpint (ot_json_int (ot_response_object (r), "amount"), ==, krw);
        /* Rounded up, by less than one won. */
        g_assert_cmpint (krw * 100 * 1000000, >=, faces[i] * 1234567891);
        g_assert_cmpint (krw * 100 * 1000000 - faces[i] * 1234567891, <, 100 * 1000000);
        paid += krw;
      }
  {
    /* 1,000 yen at 9.123456 won is 9,123.456 won: 9,124. */
    g_autoptr(OtResponse) r = switch_over (card, ot_json_string (jpy, "id"), 1000, NULL);

    ot_assert_status (r, 200);
    g_assert_cmpint (ot_json_int (ot_response_object (r), "amount"), ==, 9124);
    paid += 9124;
  }
  ot_assert_card_balance (gw, card->number, "2580", 100000 - paid, 100000 - paid);
  audit ();
}

static void
test_inbound_charge (void)
{
  g_autofree char *site_id = NULL;
  g_autofree char *site = pt_create_merchant (gw, "US web shop", "shopping", &site_id);
  g_autofree char *plain = pt_create_merchant (gw, "Home shop", "shopping", NULL);
  g_autoptr(JsonObject) p = partner ("US acquirer", "usd", "1350.25", site_id);
  g_autoptr(OtCard) card = ot_new_card (gw, 50000, "2580");
  g_autofree char *body = NULL, *eur = NULL, *rate_path = NULL, *refund = NULL;
  g_autoptr(OtResponse) r = NULL, wrong = NULL, other = NULL, after = NULL, re = NULL;
  g_autoptr(JsonObject) rated = NULL;
  JsonObject *o;

  g_assert_cmpstr (ot_json_string (p, "merchant"), ==, site_id);
  /* $12.34 is 16,662.085 won: 16,663 charged, both amounts on the line. */
  body = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"2580\", \"amount\": 1234,"
                          " \"currency\": \"usd\", \"order_id\": \"us-1\"}", card->number);
  r = ot_request (gw, "POST", "/v1/foreign/payments", site, "us-1", body);
  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_assert_cmpstr (ot_json_string (o, "status"), ==, "captured");
  g_assert_cmpint (ot_json_int (o, "amount"), ==, 16663);
  g_assert_cmpstr (ot_json_string (o, "currency"), ==, "krw");
  g_assert_cmpint (ot_json_int (o, "original_amount"), ==, 1234);
  g_assert_cmpstr (ot_json_string (o, "original_currency"), ==, "usd");
  g_assert_cmpstr (ot_json_string (o, "fx_rate"), ==, "1350.25");
  ot_assert_card_balance (gw, card->number, "2580", 50000 - 16663, 50000 - 16663);
  {
    g_autofree char *db_path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;

    sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL);
    sqlite3_prepare_v2 (db, "SELECT foreign_amount, foreign_currency, fx_rate_e6,"
                            " (SELECT SUM(debit) FROM journal_lines WHERE entry_id = e.id)"
                            " FROM journal_entries e WHERE ref = ?", -1, &stmt, NULL);
    sqlite3_bind_text (stmt, 1, ot_json_string (o, "id"), -1, SQLITE_STATIC);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int64 (stmt, 0), ==, 1234);
    g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 1), ==, "usd");
    g_assert_cmpint (sqlite3_column_int64 (stmt, 2), ==, 1350250000);
    g_assert_cmpint (sqlite3_column_int64 (stmt, 3), ==, 16663);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
  }

  eur = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"2580\", \"amount\": 100,"
                         " \"currency\": \"eur\", \"order_id\": \"eu-1\"}", card->number);
  wrong = ot_request (gw, "POST", "/v1/foreign/payments", site, NULL, eur);
  ot_assert_error (wrong, 400, "invalid_request_error", "currency_mismatch");
  other = ot_request (gw, "POST", "/v1/foreign/payments", plain, NULL, body);
  ot_assert_error (other, 404, "invalid_request_error", "resource_missing");

  /* A new rate applies to what follows; refunds are in won. */
  rate_path = g_strdup_printf ("/v1/admin/foreign/partners/%s/rate", ot_json_string (p, "id"));
  rated = admin_post (rate_path, "{\"rate\": \"1400\"}", 200);
  g_assert_cmpstr (ot_json_string (rated, "rate"), ==, "1400");
  after = ot_request (gw, "POST", "/v1/foreign/payments", site, NULL, body);
  ot_assert_status (after, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (after), "amount"), ==, 17276);  /* 17,276 */
  refund = g_strdup_printf ("{\"payment\": \"%s\", \"amount\": 1000}", ot_json_string (o, "id"));
  re = ot_request (gw, "POST", "/v1/refunds", site, NULL, refund);
  ot_assert_status (re, 200);
  ot_assert_card_balance (gw, card->number, "2580", 50000 - 16663 - 17276 + 1000,
                          50000 - 16663 - 17276 + 1000);
  audit ();
}

/* A partner's name and a charge's description are shown to others (the
 * card holder's statement, the admin's pages): what hides or turns text
 * around is refused, and nothing is written. */
static void
test_invisible (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Invisible Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "2580");
  const char *names[] = { "\\u202eyknaB", "Bank\\u200b", "\\ufeffBank", "Bank\\u2066", "Ba\\nnk" };
  gint64 before = ot_gateway_query_int (gw, "SELECT COUNT(*) FROM foreign_partners");

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"name\": \"%s\", \"currency\": \"usd\","
                                               " \"rate\": \"1\"}", names[i]);
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/foreign/partners",
                                            ot_gateway_admin_token (gw), NULL, body);

      ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                       ==, "name");
    }
  g_assert_cmpint (ot_gateway_query_int (gw, "SELECT COUNT(*) FROM foreign_partners"), ==, before);
  json_object_unref (partner ("東京 Partner 🇯🇵 Café", "jpy", "9.5", NULL));

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"2580\","
                                               " \"amount\": 100, \"currency\": \"usd\","
                                               " \"order_id\": \"o\", \"description\": \"%s\"}",
                                               card->number, i == 0 ? "\\u202ekoob" : "책 📚");
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/foreign/payments", secret, NULL,
                                            body);

      /* the good one passes the checks: only this merchant is no partner's */
      if (i == 0)
        {
          ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
          g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"),
                                           "param"), ==, "description");
        }
      else
        ot_assert_error (r, 404, "invalid_request_error", "resource_missing");
    }
  ot_assert_card_balance (gw, card->number, "2580", 10000, 10000);
}

static void
test_refusals (void)
{
  g_autoptr(JsonObject) p = partner ("Refusals", "usd", "1", NULL);
  g_autofree char *pins_path = g_strdup_printf ("/v1/admin/foreign/partners/%s/pins",
                                                ot_json_string (p, "id"));
  const char *bad_partners[] = {
    "{\"name\": \"x\", \"currency\": \"krw\", \"rate\": \"1\"}",
    "{\"name\": \"x\", \"currency\": \"xyz\", \"rate\": \"1\"}",
    "{\"name\": \"x\", \"currency\": \"usd\", \"rate\": \"0\"}",
    "{\"name\": \"x\", \"currency\": \"usd\", \"rate\": \"1.1234567\"}",
    "{\"name\": \"x\", \"currency\": \"usd\", \"rate\": \"-5\"}",
    "{\"name\": \"x\", \"currency\": \"usd\", \"rate\": \"100001\"}",
    "{\"name\": \"x\", \"currency\": \"usd\", \"rate\": \"1e3\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad_partners); i++)
    json_object_unref (admin_post ("/v1/admin/foreign/partners", bad_partners[i], 400));
  json_object_unref (admin_post (pins_path, "{\"face_value\": 100, \"pins\": [\"ab\"]}", 400));
  json_object_unref (admin_post (pins_path, "{\"face_value\": 100, \"pins\": [1234]}", 400));
  json_object_unref (admin_post (pins_path, "{\"face_value\": 0, \"pins\": [\"abcd\"]}", 400));
  json_object_unref (admin_post ("/v1/admin/foreign/partners/fp_nosuch/pins",
                                 "{\"face_value\": 100, \"pins\": [\"abcd\"]}", 404));
}

/* The statement's summary names the won switched over, and adds up to
 * the balance. */
static void
assert_summary_adds_up (const OtCard *card,
                        gint64        foreign)
{
  g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\"}",
                                           card->number);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/cards/statement", NULL, NULL, body);
  JsonObject *summary;
  JsonObject *paid;
  gint64 spent = 0;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  ot_assert_status (r, 200);
  summary = ot_json_object (ot_response_object (r), "summary");
  paid = ot_json_object (summary, "total_paid");
  g_assert_cmpint (ot_json_int (paid, "foreign"), ==, foreign);
  json_object_iter_init (&iter, paid);
  while (json_object_iter_next (&iter, &name, &value))
    spent += json_node_get_int (value);
  g_assert_cmpint (ot_json_int (summary, "initial_amount") + ot_json_int (summary, "total_recharged")
                   + ot_json_int (summary, "total_refunded") - spent
                   - ot_json_int (summary, "total_paid_out"), ==, ot_json_int (summary, "balance"));
}

static void
assert_pin_refused (const char *path,
                    const char *body,
                    const char *param)
{
  g_autoptr(JsonObject) o = admin_post (path, body, 409);
  JsonObject *error = ot_json_object (o, "error");

  g_assert_cmpstr (ot_json_string (error, "code"), ==, "foreign_pin_already_loaded");
  g_assert_cmpstr (ot_json_string (error, "param"), ==, param);
}

/* A PIN is loaded once: a retried load, or one naming a PIN twice, is
 * refused whole, and no PIN is ever sold to two card holders. */
static void
test_pin_loaded_once (void)
{
  g_autoptr(JsonObject) p = partner ("Once", "usd", "1350", NULL);
  const char *id = ot_json_string (p, "id");
  g_autofree char *path = g_strdup_printf ("/v1/admin/foreign/partners/%s/pins", id);
  g_autoptr(OtCard) a = ot_new_card (gw, 50000, "2580");
  g_autoptr(OtCard) b = ot_new_card (gw, 50000, "2580");
  g_autoptr(OtResponse) first = NULL;
  g_autoptr(OtResponse) second = NULL;
  g_autoptr(JsonObject) after = NULL;

  load (id, 1000, "\"ONCE-0001\"");
  assert_pin_refused (path, "{\"face_value\": 1000, \"pins\": [\"ONCE-0002\", \"ONCE-0001\"]}",
                      "pins[1]");
  assert_pin_refused (path, "{\"face_value\": 1000, \"pins\": [\"ONCE-0003\", \"ONCE-0003\"]}",
                      "pins[1]");
  after = admin_post (path, "{\"face_value\": 1000, \"pins\": [\"ONCE-0004\"]}", 200);
  g_assert_cmpint (ot_json_int (after, "available"), ==, 2);

  first = switch_over (a, id, 1000, NULL);
  second = switch_over (b, id, 1000, NULL);
  ot_assert_status (first, 200);
  ot_assert_status (second, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (first), "pin"), !=,
                   ot_json_string (ot_response_object (second), "pin"));
  assert_summary_adds_up (a, 13500);
  audit ();
}

/* Tops @number up by 10,000 won through the ARS, charged to a phone bill. */
static void
ars_recharge (const char *number)
{
  g_autofree char *op = pt_create_merchant (gw, "Operator", "mobile_operator", NULL);
  g_autofree char *id = pt_ars_start (gw, op, "01055507777", "en");
  const char *digits[] = { "2", number, "2580#", "2" };
  g_autoptr(JsonObject) done = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (digits); i++)
    json_object_unref (pt_ars_press (gw, op, id, digits[i]));
  done = pt_ars_press (gw, op, id, "1");
  g_assert_nonnull (strstr (ot_json_string (ot_json_object (done, "prompt"), "text"),
                            "balance is now 10,000 won"));
}

/* Every mall a wallet's card paid has seen its number and password: those
 * must not turn the wallet's money into a PIN the caller takes away. The
 * password is checked first, so a wrong one still counts. */
static void
test_wallet_card (void)
{
  g_autoptr(OtWallet) wallet = ot_wallet_new (gw, "none");
  g_autoptr(JsonObject) p = partner ("Wallet drain", "usd", "1350", NULL);
  const char *id = ot_json_string (p, "id");
  g_autofree char *path = g_strdup_printf ("/v1/admin/foreign/partners/%s", id);
  g_autofree char *wrong = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"9999\","
                                            " \"partner\": \"%s\", \"face_value\": 500}",
                                            wallet->number, id);
  OtCard card = { .number = wallet->number };
  g_autoptr(OtResponse) refused = NULL, guess = NULL, after = NULL;

  ars_recharge (wallet->number);
  load (id, 500, "\"WALLET-PIN-0001\"");
  refused = switch_over (&card, id, 500, "fx-wallet");
  ot_assert_error (refused, 409, "invalid_request_error", "card_managed_by_wallet");
  guess = ot_request (gw, "POST", "/v1/cards/foreign_pins", NULL, NULL, wrong);
  ot_assert_error (guess, 402, "card_error", "invalid_credentials");
  ot_assert_card_balance (gw, wallet->number, "2580", 10000, 10000);
  after = ot_request (gw, "GET", path, ot_gateway_admin_token (gw), NULL, NULL);
  ot_assert_status (after, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (after), "available"), ==, 1);
  audit ();
}

/* A partner's merchant must exist, and be no other partner's. */
static void
test_partner_merchant (void)
{
  g_autofree char *site_id = NULL;
  g_autofree char *site = pt_create_merchant (gw, "Abroad", "shopping", &site_id);
  g_autoptr(JsonObject) first = partner ("First", "usd", "1350", site_id);
  g_autofree char *again = g_strdup_printf ("{\"name\": \"Second\", \"currency\": \"usd\","
                                            " \"rate\": \"1350\", \"merchant\": \"%s\"}",
                                            site_id);
  const char *nobody = "{\"name\": \"Nobody's\", \"currency\": \"usd\", \"rate\": \"1350\","
                       " \"merchant\": \"m_doesnotexist\"}";
  g_autoptr(OtResponse) taken = NULL, missing = NULL;

  taken = ot_request (gw, "POST", "/v1/admin/foreign/partners", ot_gateway_admin_token (gw),
                      NULL, again);
  ot_assert_error (taken, 409, "invalid_request_error", "merchant_has_foreign_partner");
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (taken), "error"),
                                   "param"), ==, "merchant");
  missing = ot_request (gw, "POST", "/v1/admin/foreign/partners", ot_gateway_admin_token (gw),
                        NULL, nobody);
  ot_assert_error (missing, 404, "invalid_request_error", "resource_missing");
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (missing), "error"),
                                   "param"), ==, "merchant");
  audit ();
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  gw = pt_start ();
  g_test_add_func ("/foreign/switch-over", test_switch_over);
  g_test_add_func ("/foreign/no-rounding-leak", test_no_rounding_leak);
  g_test_add_func ("/foreign/inbound-charge", test_inbound_charge);
  g_test_add_func ("/foreign/refusals", test_refusals);
  g_test_add_func ("/foreign/invisible", test_invisible);
  g_test_add_func ("/foreign/pin-loaded-once", test_pin_loaded_once);
  g_test_add_func ("/foreign/wallet-card", test_wallet_card);
  g_test_add_func ("/foreign/partner-merchant", test_partner_merchant);
  status = g_test_run ();
  pt_stop (gw);
  return status;
}
