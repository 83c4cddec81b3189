/* test-outbox.c: receipts by e-mail and SMS, through a real SMTP server and
 * an SMS provider on loopback; retries, restarts and exactly-once delivery
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sqlite3.h>
#include <string.h>

#include "onepin-test-bank.h"
#include "onepin-test-gateway.h"
#include "onepin-test-sms.h"
#include "onepin-test-smtp.h"

#define PASSWORD "s3cret"
#define MAIL_TIMEOUT 20
/* Fast retries, so the tests see several attempts; a short lease, so a
 * gateway killed while sending does not hold its message for long. */
#define OUTBOX_CONFIG "[outbox]\nretry_initial=1\nretry_max=2\nlease=3\n"

typedef struct
{
  OtSmtp    *smtp;
  OtSmsSink *sms;
  OtGateway *gw;
  char      *merchant_key;
} Fixture;

/* @smtp_extra goes into [smtp]; @outbox_config replaces the fast retries. */
static void
fixture_start_full (Fixture             *f,
                    const OtSmtpOptions *smtp_options,
                    gboolean             with_sms,
                    const char          *smtp_extra,
                    const char          *outbox_config)
{
  g_autofree char *smtp_config = NULL;
  g_autofree char *sms_config = NULL;
  g_autofree char *config = NULL;
  g_autofree char *merchant = NULL;

  f->smtp = ot_smtp_start (smtp_options);
  smtp_config = ot_smtp_gateway_config (f->smtp);
  if (with_sms)
    {
      f->sms = ot_sms_sink_start ();
      sms_config = ot_sms_sink_config (f->sms);
    }
  config = g_strconcat (smtp_config, smtp_extra ? smtp_extra : "",
                        sms_config ? sms_config : "",
                        outbox_config ? outbox_config : OUTBOX_CONFIG, NULL);
  f->gw = ot_gateway_start (config, FALSE);
  merchant = ot_create_merchant (f->gw, "데모 몰 <b>", &f->merchant_key);
}

static void
fixture_start (Fixture             *f,
               const OtSmtpOptions *smtp_options,
               gboolean             with_sms)
{
  fixture_start_full (f, smtp_options, with_sms, NULL, NULL);
}

static void
fixture_stop (Fixture *f)
{
  ot_gateway_stop (f->gw);
  ot_smtp_free (f->smtp);
  ot_sms_sink_free (f->sms);
  g_free (f->merchant_key);
}

static OtResponse *
set_profile (OtGateway  *gw,
             const char *number,
             const char *fields)
{
  g_autofree char *body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\"%s%s}", number,
                                           PASSWORD, fields ? "," : "", fields ? fields : "");

  return ot_request (gw, "POST", "/v1/cards/profile", NULL, NULL, body);
}

/* A registered 50,000-won card whose holder wants receipts as @fields say. */
static OtCard *
card_with_profile (OtGateway  *gw,
                   const char *fields)
{
  OtCard *card = ot_new_card (gw, 50000, PASSWORD);

  if (fields != NULL)
    {
      g_autoptr(OtResponse) r = set_profile (gw, card->number, fields);

      ot_assert_status (r, 200);
    }
  return card;
}

static char *
pay (Fixture    *f,
     OtCard     *card,
     gint64      amount,
     gboolean    capture)
{
  g_autoptr(JsonObject) payment = ot_pay (f->gw, f->merchant_key, card->number, PASSWORD,
                                          amount, capture);

  return g_strdup (ot_json_string (payment, "id"));
}

static JsonObject *
message_at (JsonArray *messages,
            guint      i)
{
  return json_array_get_object_element (messages, i);
}

static const char *
header (JsonObject *message,
        const char *name)
{
  JsonArray *values = ot_json_array (ot_json_object (message, "headers"), name);

  g_assert_cmpuint (json_array_get_length (values), ==, 1);
  return json_array_get_string_element (values, 0);
}

static void
assert_contains (const char *haystack,
                 const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_error ("expected \"%s\" in:\n%s", needle, haystack ? haystack : "(null)");
}

static void
assert_lacks (const char *haystack,
              const char *needle)
{
  if (haystack != NULL && strstr (haystack, needle) != NULL)
    g_error ("did not expect \"%s\" in:\n%s", needle, haystack);
}

/* What every message must be: MIME that Python's email package reads
 * without a defect, UTF-8 text and HTML in base64, short lines, CRLF. */
static void
assert_well_formed (JsonObject *m)
{
  JsonArray *types = ot_json_array (m, "part_types");

  g_assert_cmpstr (ot_json_string (m, "content_type"), ==, "multipart/alternative");
  g_assert_cmpuint (json_array_get_length (types), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (types, 0), ==, "text/plain");
  g_assert_cmpstr (json_array_get_string_element (types, 1), ==, "text/html");
  for (guint i = 0; i < 2; i++)
    {
      g_assert_cmpstr (json_array_get_string_element (ot_json_array (m, "charsets"), i), ==,
                       "utf-8");
      g_assert_cmpstr (json_array_get_string_element (ot_json_array (m, "encodings"), i), ==,
                       "base64");
    }
  g_assert_cmpint (ot_json_int (m, "max_line"), <=, 78);
  g_assert_false (ot_json_bool (m, "bare_lf"));
  g_assert_cmpuint (json_array_get_length (ot_json_array (m, "defects")), ==, 0);
  g_assert_true (g_str_has_prefix (ot_json_string (m, "message_id"), "<onepin.evt_"));
  g_assert_true (g_str_has_suffix (ot_json_string (m, "message_id"), "@onepin.test>"));
  g_assert_true (g_str_has_suffix (ot_json_string (m, "date"), "+0900"));
  g_assert_cmpstr (ot_json_string (m, "from"), ==, "onepin <receipts@onepin.test>");
  g_assert_cmpstr (header (m, "auto-submitted"), ==, "auto-generated");
}

/* Rows of the outbox's e-mail and SMS messages, read from the gateway's
 * database beside it. */
typedef struct
{
  gint64 attempts;
  gboolean delivered;
  gboolean failed;
  char *last_error;
} Row;

static void
row_free (gpointer data)
{
  Row *row = data;

  g_free (row->last_error);
  g_free (row);
}

/* The gateway's database, read beside it. */
static sqlite3 *
open_db (OtGateway *gw)
{
  g_autofree char *path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  return db;
}

static GPtrArray *
outbox_rows (OtGateway *gw)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func (row_free);
  sqlite3 *db = open_db (gw);
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db,
                     "SELECT attempts, delivered_at IS NOT NULL, failed_at IS NOT NULL, last_error"
                     " FROM outbox WHERE type IN ('email', 'sms') ORDER BY id", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      Row *row = g_new0 (Row, 1);

      row->attempts = sqlite3_column_int64 (stmt, 0);
      row->delivered = sqlite3_column_int (stmt, 1);
      row->failed = sqlite3_column_int (stmt, 2);
      row->last_error = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      g_ptr_array_add (rows, row);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return rows;
}

/* Receipts: content, in Korean and English */

static void
test_receipt_email (void)
{
  Fixture f = { 0 };
  g_autoptr(OtCard) card = NULL;
  g_autoptr(JsonArray) messages = NULL;
  g_autofree char *payment = NULL;
  g_autofree char *second = NULL;
  g_autofree char *masked = NULL;
  g_autoptr(OtResponse) en = NULL;
  JsonObject *m;
  const char *text;
  const char *html;

  fixture_start (&f, NULL, FALSE);
  card = card_with_profile (f.gw, "\"name\":\"김철수\",\"email\":\"kim@example.com\","
                                  "\"receipts\":\"email\"");
  masked = g_strconcat ("**** **** **** ", card->number + 12, NULL);
  payment = pay (&f, card, 12345, TRUE);

  messages = ot_smtp_wait (f.smtp, 1, MAIL_TIMEOUT);
  m = message_at (messages, 0);
  assert_well_formed (m);
  g_assert_cmpstr (ot_json_string (m, "subject"), ==, "[onepin] 데모 몰 <b> 결제 12,345원");
  assert_contains (header (m, "subject"), "=?UTF-8?B?");
  g_assert_cmpstr (ot_json_string (m, "to"), ==, "kim@example.com");
  g_assert_cmpstr (header (m, "x-envelope-to"), ==, "kim@example.com");
  g_assert_cmpstr (header (m, "content-language"), ==, "ko");

  text = ot_json_string (m, "text");
  assert_contains (text, "결제 영수증");
  assert_contains (text, "가맹점: 데모 몰 <b>");
  assert_contains (text, "결제 금액: 12,345원");
  assert_contains (text, "결제 후 잔액: 37,655원");
  assert_contains (text, masked);
  assert_contains (text, payment);
  assert_contains (text, " KST");
  assert_lacks (text, card->number);

  html = ot_json_string (m, "html");
  assert_contains (html, "<html lang=\"ko\">");
  assert_contains (html, "데모 몰 &lt;b&gt;");
  assert_lacks (html, "데모 몰 <b>");
  assert_contains (html, "37,655원");
  assert_lacks (html, card->number);

  /* The same card holder switches to English. */
  en = set_profile (f.gw, card->number, "\"locale\":\"en\"");
  ot_assert_status (en, 200);
  second = pay (&f, card, 1000, TRUE);
  g_clear_pointer (&messages, json_array_unref);
  messages = ot_smtp_wait (f.smtp, 2, MAIL_TIMEOUT);
  m = message_at (messages, 1);
  assert_well_formed (m);
  g_assert_cmpstr (ot_json_string (m, "subject"), ==, "[onepin] Receipt: ₩1,000 at 데모 몰 <b>");
  g_assert_cmpstr (header (m, "content-language"), ==, "en");
  text = ot_json_string (m, "text");
  assert_contains (text, "Payment receipt");
  assert_contains (text, "Amount: ₩1,000");
  assert_contains (text, "Balance after: ₩36,655");
  assert_contains (text, second);
  assert_contains (ot_json_string (m, "html"), "<html lang=\"en\">");
  g_assert_cmpstr (ot_json_string (m, "message_id"), !=,
                   ot_json_string (message_at (messages, 0), "message_id"));

  fixture_stop (&f);
}

/* POST /v1/cards/hint: the hint goes to the holder's own e-mail address,
 * never into an answer. Every number, known or not, with or without a hint
 * or an address, gets the same answer; a card's hint is sent at most once in
 * a while; every request counts against the address like a wrong password. */
static void
test_password_hint (void)
{
  const char *hint = "할머니 생신 + 강아지 이름";
  Fixture f = { 0 };
  g_autoptr(OtCard) card = NULL;
  g_autoptr(OtCard) no_email = NULL;
  g_autoptr(OtCard) other = NULL;
  g_autoptr(JsonArray) messages = NULL;
  g_autoptr(OtResponse) first = NULL;
  g_autofree char *log = NULL;
  g_autofree char *masked = NULL;
  OtCard *registered[2];
  const char *numbers[5];
  JsonObject *m;

  fixture_start (&f, NULL, FALSE);
  card = ot_new_card (f.gw, 50000, NULL);
  no_email = ot_new_card (f.gw, 50000, NULL);
  other = card_with_profile (f.gw, "\"email\":\"other@example.com\"");
  registered[0] = card;
  registered[1] = no_email;
  for (guint i = 0; i < G_N_ELEMENTS (registered); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\","
                                               "\"hint\":\"%s\"}", registered[i]->number,
                                               PASSWORD, hint);
      g_autoptr(OtResponse) r = ot_request (f.gw, "POST", "/v1/cards/register", NULL, NULL, body);

      ot_assert_status (r, 200);
    }
  {
    g_autoptr(OtResponse) r = set_profile (f.gw, card->number,
                                           "\"email\":\"kim@example.com\",\"locale\":\"ko\"");

    ot_assert_status (r, 200);
  }

  numbers[0] = card->number;          /* a hint and an address: sent */
  numbers[1] = card->number;          /* again at once: not sent again */
  numbers[2] = no_email->number;      /* nowhere to send it */
  numbers[3] = "9410000000000001";    /* malformed */
  numbers[4] = other->number;         /* no hint: nothing to send */
  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"number\":\"%s\"}", numbers[i]);
      g_autoptr(OtResponse) r = ot_request (f.gw, "POST", "/v1/cards/hint", NULL, NULL, body);

      ot_assert_status (r, 202);
      assert_lacks (r->body, "생신");
      if (first == NULL)
        first = g_steal_pointer (&r);
      else
        g_assert_cmpstr (r->body, ==, first->body);
    }
  g_assert_cmpstr (ot_json_string (ot_response_object (first), "object"), ==, "password_hint");
  g_assert_cmpstr (ot_json_string (ot_response_object (first), "status"), ==, "requested");

  /* One e-mail, to the profile's address, with the hint and no number. */
  messages = ot_smtp_wait (f.smtp, 1, MAIL_TIMEOUT);
  g_usleep (G_USEC_PER_SEC);
  g_clear_pointer (&messages, json_array_unref);
  messages = ot_smtp_wait (f.smtp, 1, MAIL_TIMEOUT);
  g_assert_cmpuint (json_array_get_length (messages), ==, 1);
  m = message_at (messages, 0);
  assert_well_formed (m);
  g_assert_cmpstr (ot_json_string (m, "to"), ==, "kim@example.com");
  g_assert_cmpstr (ot_json_string (m, "subject"), ==, "[onepin] 비밀번호 힌트");
  masked = g_strconcat ("**** **** **** ", card->number + 12, NULL);
  assert_contains (ot_json_string (m, "text"), hint);
  assert_contains (ot_json_string (m, "text"), masked);
  assert_lacks (ot_json_string (m, "text"), card->number);
  assert_contains (ot_json_string (m, "html"), "할머니 생신 + 강아지 이름");
  assert_lacks (ot_json_string (m, "html"), card->number);

  /* Each request counted against the address: 20 a minute, then 429. */
  for (guint i = G_N_ELEMENTS (numbers); i < 20; i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"number\":\"%s\"}", other->number);
      g_autoptr(OtResponse) r = ot_request (f.gw, "POST", "/v1/cards/hint", NULL, NULL, body);

      ot_assert_status (r, 202);
    }
  {
    g_autofree char *body = g_strdup_printf ("{\"number\":\"%s\"}", card->number);
    g_autoptr(OtResponse) r = ot_request (f.gw, "POST", "/v1/cards/hint", NULL, NULL, body);

    ot_assert_error (r, 429, "rate_limit_error", "rate_limited");
  }

  g_file_get_contents (ot_gateway_log_path (f.gw), &log, NULL, NULL);
  g_assert_nonnull (log);
  assert_lacks (log, "생신");
  fixture_stop (&f);
}

/* Only a capture sends a receipt, and only to who asked for one. */
static void
test_receipt_rules (void)
{
  Fixture f = { 0 };
  g_autoptr(OtCard) nobody = NULL;
  g_autoptr(OtCard) none = NULL;
  g_autoptr(OtCard) wants = NULL;
  g_autoptr(JsonArray) messages = NULL;
  g_autoptr(OtResponse) capture = NULL;
  g_autoptr(OtResponse) declined = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *held = NULL;
  g_autofree char *path = NULL;
  g_autofree char *big = NULL;

  fixture_start (&f, NULL, FALSE);
  nobody = card_with_profile (f.gw, NULL);
  none = card_with_profile (f.gw, "\"email\":\"none@example.com\",\"receipts\":\"none\"");
  wants = card_with_profile (f.gw, "\"email\":\"wants@example.com\",\"receipts\":\"email\"");

  a = pay (&f, nobody, 1000, TRUE);
  b = pay (&f, none, 1000, TRUE);
  held = pay (&f, wants, 5000, FALSE);
  big = g_strdup_printf ("{\"card_number\":\"%s\",\"password\":\"%s\",\"amount\":999999,"
                         "\"currency\":\"krw\",\"order_id\":\"too-big\",\"capture\":true}",
                         wants->number, PASSWORD);
  declined = ot_request (f.gw, "POST", "/v1/payments", f.merchant_key, NULL, big);
  ot_assert_error (declined, 402, "card_error", "insufficient_funds");

  path = g_strdup_printf ("/v1/payments/%s/capture", held);
  capture = ot_request (f.gw, "POST", path, f.merchant_key, NULL, "{\"amount\":3000}");
  ot_assert_status (capture, 200);

  messages = ot_smtp_wait (f.smtp, 1, MAIL_TIMEOUT);
  g_assert_cmpstr (ot_json_string (message_at (messages, 0), "to"), ==, "wants@example.com");
  assert_contains (ot_json_string (message_at (messages, 0), "text"), "결제 금액: 3,000원");
  assert_contains (ot_json_string (message_at (messages, 0), "text"), "결제 후 잔액: 47,000원");
  assert_contains (ot_json_string (message_at (messages, 0), "text"), held);

  g_usleep (1500 * 1000);
  g_assert_cmpuint (ot_smtp_count (f.smtp), ==, 1);
  rows = outbox_rows (f.gw);
  g_assert_cmpuint (rows->len, ==, 1);
  json_object_unref (ot_assert_audit_balanced (f.gw));
  fixture_stop (&f);
}

static void
test_receipt_sms (void)
{
  Fixture f = { 0 };
  g_autoptr(OtCard) card = NULL;
  g_autoptr(GPtrArray) sms = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *tail = NULL;
  OtSms *s;

  fixture_start (&f, NULL, TRUE);
  card = card_with_profile (f.gw, "\"phone\":\"010-1234-5678\",\"receipts\":\"sms\","
                                  "\"locale\":\"en\"");
  first = pay (&f, card, 2500, TRUE);
  sms = ot_sms_sink_wait (f.sms, 1, MAIL_TIMEOUT);
  s = g_ptr_array_index (sms, 0);
  tail = g_strdup_printf ("(card *%s)", card->number + 12);
  g_assert_cmpstr (s->to, ==, "01012345678");
  g_assert_true (g_str_has_prefix (s->text, "[onepin] Paid ₩2,500 at 데모 몰 <b>"));
  assert_contains (s->text, "Balance ₩47,500");
  assert_contains (s->text, tail);
  assert_lacks (s->text, card->number);
  g_assert_true (g_str_has_prefix (s->idempotency_key, "evt_"));

  /* The provider is down for two requests: the third attempt delivers, once. */
  ot_sms_sink_fail_next (f.sms, 2, 503);
  second = pay (&f, card, 500, TRUE);
  g_clear_pointer (&sms, g_ptr_array_unref);
  sms = ot_sms_sink_wait (f.sms, 2, MAIL_TIMEOUT);
  s = g_ptr_array_index (sms, 1);
  assert_contains (s->text, "Paid ₩500");
  g_assert_cmpuint (ot_sms_sink_requests (f.sms), ==, 4);
  g_assert_cmpstr (s->idempotency_key, !=,
                   ((OtSms *) g_ptr_array_index (sms, 0))->idempotency_key);

  g_usleep (2500 * 1000);
  g_assert_cmpuint (ot_sms_sink_requests (f.sms), ==, 4);
  rows = outbox_rows (f.gw);
  g_assert_cmpuint (rows->len, ==, 2);
  g_assert_cmpint (((Row *) g_ptr_array_index (rows, 1))->attempts, ==, 3);
  g_assert_true (((Row *) g_ptr_array_index (rows, 1))->delivered);
  fixture_stop (&f);
}

/* The same through onepin-bank's SMS sink, the development SMS provider. */
static void
test_receipt_sms_bank (void)
{
  OtBank *bank = ot_bank_start (NULL);
  g_autofree char *key_file = g_build_filename (ot_bank_data_dir (bank), "sms.key", NULL);
  g_autofree char *config = g_strdup_printf ("[sms]\nurl=%s/v1/sms\nkey_file=%s\n" OUTBOX_CONFIG,
                                             ot_bank_url (bank), key_file);
  OtGateway *gw = ot_gateway_start (config, FALSE);
  g_autofree char *merchant_key = NULL;
  g_autofree char *merchant = ot_create_merchant (gw, "Mall & Co", &merchant_key);
  g_autoptr(OtCard) card = card_with_profile (gw, "\"phone\":\"010-2222-3333\","
                                                  "\"receipts\":\"sms\"");
  g_autoptr(JsonObject) payment = ot_pay (gw, merchant_key, card->number, PASSWORD, 7000, TRUE);
  gint64 deadline = g_get_monotonic_time () + MAIL_TIMEOUT * G_USEC_PER_SEC;
  JsonArray *data = NULL;
  OtResponse *r = NULL;
  const char *text;

  for (;;)
    {
      g_clear_pointer (&r, ot_response_free);
      r = ot_bank_request (bank, "GET", "/v1/sms?to=01022223333", ot_bank_sms_key (bank), NULL,
                           NULL);
      ot_assert_status (r, 200);
      data = ot_json_array (ot_response_object (r), "data");
      if (json_array_get_length (data) > 0 || g_get_monotonic_time () > deadline)
        break;
      g_usleep (100 * 1000);
    }
  g_assert_cmpuint (json_array_get_length (data), ==, 1);
  text = ot_json_string (json_array_get_object_element (data, 0), "text");
  g_assert_true (g_str_has_prefix (text, "[onepin] Mall & Co 7,000원 결제, 잔액 43,000원"));
  assert_lacks (text, card->number);
  ot_response_free (r);

  ot_gateway_stop (gw);
  ot_bank_stop (bank);
}

/* POST /v1/cards/profile */

static void
assert_profile (OtResponse *r,
                const char *name,
                const char *email,
                const char *phone,
                const char *receipts,
                const char *locale)
{
  JsonObject *o;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_assert_cmpstr (ot_json_string (o, "object"), ==, "card_profile");
  g_assert_cmpstr (json_object_get_string_member_with_default (o, "name", NULL), ==, name);
  g_assert_cmpstr (json_object_get_string_member_with_default (o, "email", NULL), ==, email);
  g_assert_cmpstr (json_object_get_string_member_with_default (o, "phone", NULL), ==, phone);
  g_assert_cmpstr (ot_json_string (o, "receipts"), ==, receipts);
  g_assert_cmpstr (ot_json_string (o, "locale"), ==, locale);
}

static void
assert_bad_param (OtResponse *r,
                  const char *param)
{
  ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                   ==, param);
}

/* The database holds the contact sealed: no address or number in clear. */
static void
assert_not_stored (OtGateway  *gw,
                   const char *secret)
{
  if (ot_gateway_database_holds (gw, secret))
    g_error ("the database holds \"%s\" in clear", secret);
}

/* The language a card is registered in (the site sends its page's) is
 * its profile's until the holder chooses one: the hint e-mail of a card
 * registered on the English site is in English. */
static void
test_profile_first_locale (void)
{
  Fixture f = { 0 };
  struct { const char *locale; guint status; const char *stored; } cases[] = {
    { "\"en\"", 200, "en" }, { NULL, 200, "ko" }, { "\"ko\"", 200, "ko" }, { "\"fr\"", 400, NULL },
  };

  fixture_start (&f, NULL, FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(OtCard) card = ot_new_card (f.gw, 50000, NULL);
      g_autofree char *body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\"%s%s}",
                                               card->number, PASSWORD,
                                               cases[i].locale ? ",\"locale\":" : "",
                                               cases[i].locale ? cases[i].locale : "");
      g_autoptr(OtResponse) r = ot_request (f.gw, "POST", "/v1/cards/register", NULL, NULL, body);
      g_autoptr(OtResponse) profile = NULL;

      ot_assert_status (r, cases[i].status);
      if (cases[i].stored == NULL)
        continue;
      profile = set_profile (f.gw, card->number, NULL);
      ot_assert_status (profile, 200);
      g_assert_cmpstr (ot_json_string (ot_response_object (profile), "locale"), ==,
                       cases[i].stored);
    }
  fixture_stop (&f);
}

static void
test_profile (void)
{
  Fixture f = { 0 };
  g_autoptr(OtCard) card = NULL;
  g_autoptr(OtCard) sold = NULL;
  g_autofree char *wrong = NULL;
  g_autofree char *unregistered = NULL;
  g_autofree char *long_name = ot_repeat ("가", 65);
  g_autofree char *name_field = NULL;
  OtResponse *r;

  fixture_start (&f, NULL, FALSE);
  card = card_with_profile (f.gw, NULL);

  r = set_profile (f.gw, card->number, NULL);
  assert_profile (r, NULL, NULL, NULL, "none", "ko");
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (ot_response_object (r),
                                                               "updated")));
  ot_response_free (r);

  r = set_profile (f.gw, card->number, "\"name\":\"김영희\",\"email\":\"young@example.com\","
                                       "\"phone\":\"+82 10-9876-5432\",\"receipts\":\"email\"");
  assert_profile (r, "김영희", "young@example.com", "+821098765432", "email", "ko");
  ot_response_free (r);

  /* A change keeps what it does not name; "" clears a field. */
  r = set_profile (f.gw, card->number, "\"receipts\":\"sms\",\"locale\":\"en\",\"name\":\"\"");
  assert_profile (r, NULL, "young@example.com", "+821098765432", "sms", "en");
  ot_response_free (r);
  r = set_profile (f.gw, card->number, NULL);
  assert_profile (r, NULL, "young@example.com", "+821098765432", "sms", "en");
  g_assert_cmpint (ot_json_int (ot_response_object (r), "updated"), >, 0);
  ot_response_free (r);

  /* Receipts need somewhere to go. */
  r = set_profile (f.gw, card->number, "\"phone\":\"\"");
  assert_bad_param (r, "receipts");
  ot_response_free (r);
  r = set_profile (f.gw, card->number, "\"receipts\":\"none\",\"phone\":\"\",\"email\":\"\"");
  assert_profile (r, NULL, NULL, NULL, "none", "en");
  ot_response_free (r);

  r = set_profile (f.gw, card->number, "\"email\":\"not an address\"");
  assert_bad_param (r, "email");
  ot_response_free (r);
  r = set_profile (f.gw, card->number, "\"email\":\"a@b.com\\r\\nBcc: x@y.com\"");
  assert_bad_param (r, "email");
  ot_response_free (r);
  r = set_profile (f.gw, card->number, "\"phone\":\"12ab5678\"");
  assert_bad_param (r, "phone");
  ot_response_free (r);
  r = set_profile (f.gw, card->number, "\"phone\":\"1234\"");
  assert_bad_param (r, "phone");
  ot_response_free (r);
  r = set_profile (f.gw, card->number, "\"receipts\":\"fax\"");
  assert_bad_param (r, "receipts");
  ot_response_free (r);
  r = set_profile (f.gw, card->number, "\"locale\":\"fr\"");
  assert_bad_param (r, "locale");
  ot_response_free (r);
  name_field = g_strdup_printf ("\"name\":\"%s\"", long_name);
  r = set_profile (f.gw, card->number, name_field);
  assert_bad_param (r, "name");
  ot_response_free (r);
  r = set_profile (f.gw, card->number, "\"name\":\"a\\nb\"");
  assert_bad_param (r, "name");
  ot_response_free (r);
  /* merchants' receipts and mail show the name: nothing hidden or turned around */
  r = set_profile (f.gw, card->number, "\"name\":\"\\u202eeeL miK\"");
  assert_bad_param (r, "name");
  ot_response_free (r);
  r = set_profile (f.gw, card->number, "\"name\":\"Kim\\u200bLee\"");
  assert_bad_param (r, "name");
  ot_response_free (r);
  r = set_profile (f.gw, card->number, "\"nickname\":\"x\"");
  ot_assert_error (r, 400, "invalid_request_error", NULL);
  ot_response_free (r);
  r = set_profile (f.gw, card->number, "\"email\":5");
  ot_assert_error (r, 400, "invalid_request_error", NULL);
  ot_response_free (r);

  /* Card-holder authentication, as on every /v1/cards route. */
  wrong = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"wrong\",\"receipts\":\"none\"}",
                           card->number);
  r = ot_request (f.gw, "POST", "/v1/cards/profile", NULL, NULL, wrong);
  ot_assert_error (r, 402, "card_error", "invalid_credentials");
  ot_response_free (r);
  sold = ot_new_card (f.gw, 10000, NULL);
  unregistered = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\"}", sold->number,
                                  PASSWORD);
  r = ot_request (f.gw, "POST", "/v1/cards/profile", NULL, NULL, unregistered);
  g_assert_cmpuint (r->status, ==, 402);
  assert_lacks (r->body, sold->number);
  ot_response_free (r);

  r = set_profile (f.gw, card->number, "\"email\":\"young@example.com\","
                                       "\"phone\":\"01055556666\"");
  ot_assert_status (r, 200);
  ot_response_free (r);
  assert_not_stored (f.gw, "young@example.com");
  assert_not_stored (f.gw, "01055556666");
  assert_not_stored (f.gw, "김영희");
  fixture_stop (&f);
}

/* Exactly once, through failures */

/* @n cards whose receipts go to <@local>N@example.com. */
static GPtrArray *
cards_mailing (Fixture    *f,
               const char *local,
               guint       n)
{
  GPtrArray *cards = g_ptr_array_new_with_free_func ((GDestroyNotify) ot_card_free);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *fields = g_strdup_printf ("\"email\":\"%s%u@example.com\","
                                                 "\"receipts\":\"email\"", local, i);

      g_ptr_array_add (cards, card_with_profile (f->gw, fields));
    }
  return cards;
}

static GPtrArray *
cards_with_receipts (Fixture *f,
                     guint    n)
{
  return cards_mailing (f, "holder", n);
}

/* Every payment's receipt arrived once, and nothing else did. */
static void
assert_each_once (JsonArray *messages,
                  GPtrArray *payments)
{
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  g_assert_cmpuint (json_array_get_length (messages), ==, payments->len);
  for (guint i = 0; i < json_array_get_length (messages); i++)
    g_assert_true (g_hash_table_add (ids, (gpointer) ot_json_string (message_at (messages, i),
                                                                     "message_id")));
  for (guint p = 0; p < payments->len; p++)
    {
      guint found = 0;

      for (guint i = 0; i < json_array_get_length (messages); i++)
        if (strstr (ot_json_string (message_at (messages, i), "text"),
                    g_ptr_array_index (payments, p)) != NULL)
          found++;
      g_assert_cmpuint (found, ==, 1);
    }
}

/* Until @n_rows messages have failed or been held back (a message that found
 * the server unreachable holds back the rest of its batch untried), one of
 * them after @attempts tries. */
static void
wait_for_failed_attempts (OtGateway *gw,
                          guint      n_rows,
                          gint64     attempts)
{
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GPtrArray) rows = outbox_rows (gw);
      gint64 most = 0;
      guint ready = 0;

      for (guint i = 0; i < rows->len; i++)
        {
          Row *row = g_ptr_array_index (rows, i);

          g_assert_false (row->delivered);
          if (row->last_error != NULL)
            ready++;
          most = MAX (most, row->attempts);
        }
      if (rows->len == n_rows && ready == n_rows && most >= attempts)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("the outbox did not retry %u messages %" G_GINT64_FORMAT " times", n_rows,
                 attempts);
      g_usleep (100 * 1000);
    }
}

static void
assert_all_delivered (OtGateway *gw,
                      guint      n)
{
  g_autoptr(GPtrArray) rows = outbox_rows (gw);

  g_assert_cmpuint (rows->len, ==, n);
  for (guint i = 0; i < rows->len; i++)
    g_assert_true (((Row *) g_ptr_array_index (rows, i))->delivered);
}

static void
test_smtp_down (void)
{
  Fixture f = { 0 };
  g_autoptr(GPtrArray) cards = NULL;
  g_autoptr(GPtrArray) payments = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonArray) messages = NULL;

  fixture_start (&f, NULL, FALSE);
  cards = cards_with_receipts (&f, 5);
  ot_smtp_stop (f.smtp);
  for (guint i = 0; i < cards->len; i++)
    g_ptr_array_add (payments, pay (&f, g_ptr_array_index (cards, i), 1000 + i, TRUE));

  /* Nothing gets through, and the server is tried again and again. */
  wait_for_failed_attempts (f.gw, 5, 2);
  g_assert_cmpuint (ot_smtp_count (f.smtp), ==, 0);

  ot_smtp_restart (f.smtp);
  messages = ot_smtp_wait (f.smtp, 5, MAIL_TIMEOUT);
  /* Longer than the longest wait between attempts: no second copy comes. */
  g_usleep (4500 * 1000);
  g_clear_pointer (&messages, json_array_unref);
  messages = ot_smtp_wait (f.smtp, 5, 0);
  assert_each_once (messages, payments);
  assert_all_delivered (f.gw, 5);
  json_object_unref (ot_assert_audit_balanced (f.gw));
  fixture_stop (&f);
}

static void
test_gateway_restart (void)
{
  Fixture f = { 0 };
  g_autoptr(GPtrArray) cards = NULL;
  g_autoptr(GPtrArray) payments = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonArray) messages = NULL;

  fixture_start (&f, NULL, FALSE);
  cards = cards_with_receipts (&f, 4);
  ot_smtp_stop (f.smtp);

  /* Queued while the mail server is down, then a clean stop (SIGTERM). */
  g_ptr_array_add (payments, pay (&f, g_ptr_array_index (cards, 0), 1100, TRUE));
  g_ptr_array_add (payments, pay (&f, g_ptr_array_index (cards, 1), 1200, TRUE));
  wait_for_failed_attempts (f.gw, 2, 1);
  ot_gateway_terminate (f.gw, SIGTERM);
  ot_gateway_restart (f.gw);

  /* Two more, then the gateway is killed outright. */
  g_ptr_array_add (payments, pay (&f, g_ptr_array_index (cards, 2), 1300, TRUE));
  g_ptr_array_add (payments, pay (&f, g_ptr_array_index (cards, 3), 1400, TRUE));
  wait_for_failed_attempts (f.gw, 4, 1);
  ot_gateway_kill (f.gw);
  g_assert_cmpuint (ot_smtp_count (f.smtp), ==, 0);

  /* Mail server back first, gateway after: everything arrives, once. */
  ot_smtp_restart (f.smtp);
  ot_gateway_restart (f.gw);
  messages = ot_smtp_wait (f.smtp, 4, MAIL_TIMEOUT);
  g_usleep (4500 * 1000);
  g_clear_pointer (&messages, json_array_unref);
  messages = ot_smtp_wait (f.smtp, 4, 0);
  assert_each_once (messages, payments);
  assert_all_delivered (f.gw, 4);
  fixture_stop (&f);
}

/* How many undelivered messages another gateway on the same database would
 * claim now: due, neither delivered nor given up. */
static guint
claimable_now (OtGateway *gw)
{
  sqlite3 *db = open_db (gw);
  sqlite3_stmt *stmt = NULL;
  guint n = 0;

  g_assert_cmpint (sqlite3_prepare_v2 (db,
                     "SELECT COUNT(*) FROM outbox WHERE type = 'email' AND next_attempt <= ?"
                     " AND delivered_at IS NULL AND failed_at IS NULL", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, g_get_real_time () / G_USEC_PER_SEC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    n = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

/* A claimed batch is sent one message after another; the last ones must
 * still be leased when their turn comes, or a second gateway on the same
 * database claims and sends them too. With a lease of 3 s and 1.2 s per
 * message, the third and fourth of a batch of four are sent after 3 s. */
static void
test_batch_lease (void)
{
  Fixture f = { 0 };
  g_autoptr(GPtrArray) cards = g_ptr_array_new_with_free_func ((GDestroyNotify) ot_card_free);
  g_autoptr(GPtrArray) payments = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonArray) messages = NULL;

  fixture_start (&f, NULL, FALSE);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *fields = g_strdup_printf ("\"email\":\"slow%u@example.com\","
                                                 "\"receipts\":\"email\"", i);

      g_ptr_array_add (cards, card_with_profile (f.gw, fields));
    }
  /* The first occupies the worker; the next four are claimed together. */
  g_ptr_array_add (payments, pay (&f, g_ptr_array_index (cards, 0), 1000, TRUE));
  g_usleep (300 * 1000);
  for (guint i = 1; i < cards->len; i++)
    g_ptr_array_add (payments, pay (&f, g_ptr_array_index (cards, i), 1000 + i, TRUE));
  g_clear_pointer (&messages, json_array_unref);
  messages = ot_smtp_wait (f.smtp, 1, MAIL_TIMEOUT);

  g_usleep (3300 * 1000);
  g_assert_cmpuint (ot_smtp_count (f.smtp), <, 5);
  g_assert_cmpuint (claimable_now (f.gw), ==, 0);

  g_clear_pointer (&messages, json_array_unref);
  messages = ot_smtp_wait (f.smtp, 5, MAIL_TIMEOUT);
  assert_each_once (messages, payments);
  assert_all_delivered (f.gw, 5);
  fixture_stop (&f);
}

/* A mail server that takes connections and never says a word: libcurl
 * waits for its greeting until [smtp] timeout. */
typedef struct
{
  GSocket      *listener;
  GCancellable *cancellable;
  GThread      *thread;
  GPtrArray    *accepted;          /* GSocket *, held open */
  gint          n_accepted;        /* the same count, read while it runs */
} Silent;

static gpointer
silent_accept (gpointer data)
{
  Silent *silent = data;
  GSocket *client;

  while ((client = g_socket_accept (silent->listener, silent->cancellable, NULL)) != NULL)
    {
      g_ptr_array_add (silent->accepted, client);
      g_atomic_int_inc (&silent->n_accepted);
    }
  return NULL;
}

static Silent *
silent_start (guint port)
{
  Silent *silent = g_new0 (Silent, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);

  silent->listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                   G_SOCKET_PROTOCOL_TCP, NULL);
  g_assert_nonnull (silent->listener);
  g_assert_true (g_socket_bind (silent->listener, address, TRUE, NULL));
  g_assert_true (g_socket_listen (silent->listener, NULL));
  silent->cancellable = g_cancellable_new ();
  silent->accepted = g_ptr_array_new_with_free_func (g_object_unref);
  silent->thread = g_thread_new ("silent-smtp", silent_accept, silent);
  return silent;
}

/* Connections taken so far; read only after silent_stop. */
static guint
silent_stop (Silent *silent)
{
  guint n;

  g_cancellable_cancel (silent->cancellable);
  g_thread_join (silent->thread);
  n = silent->accepted->len;
  g_ptr_array_unref (silent->accepted);
  g_object_unref (silent->listener);
  g_object_unref (silent->cancellable);
  g_free (silent);
  return n;
}

static guint
url_port (const char *url)
{
  return (guint) g_ascii_strtoull (strrchr (url, ':') + 1, NULL, 10);
}

/* A mail server that hangs holds neither the SMS nor its own other
 * messages: the first e-mail waits out the timeout and the rest of its
 * batch is put back untried, with the SMS sent meanwhile on a lane of its
 * own. Then every e-mail still arrives, once. */
static void
assert_one_tried (GPtrArray  *rows,
                  guint       n,
                  const char *error)
{
  guint tried = 0;

  for (guint i = 0; i < n; i++)
    {
      Row *row = g_ptr_array_index (rows, i);

      g_assert_false (row->delivered);
      g_assert_false (row->failed);
      if (row->attempts == 1)
        {
          assert_contains (row->last_error, error);
          tried++;
          continue;
        }
      g_assert_cmpint (row->attempts, ==, 0);
      assert_contains (row->last_error, "not tried");
    }
  g_assert_cmpuint (tried, ==, 1);
}

static void
test_smtp_hangs (void)
{
  Fixture f = { 0 };
  g_autoptr(GPtrArray) cards = NULL;
  g_autoptr(GPtrArray) payments = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) sms = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(JsonArray) messages = NULL;
  g_autoptr(OtCard) texted = NULL;
  g_autofree char *sms_payment = NULL;
  Silent *silent;
  gint64 start;

  /* One round while the server hangs: the messages are due again 8 s
   * after the timeout. */
  fixture_start_full (&f, NULL, TRUE, "timeout=3\n",
                      "[outbox]\nretry_initial=8\nretry_max=8\nlease=30\n");
  cards = cards_with_receipts (&f, 4);
  texted = card_with_profile (f.gw, "\"phone\":\"010-5555-0000\",\"receipts\":\"sms\"");

  ot_smtp_stop (f.smtp);
  silent = silent_start (url_port (ot_smtp_url (f.smtp)));
  for (guint i = 0; i < cards->len; i++)
    g_ptr_array_add (payments, pay (&f, g_ptr_array_index (cards, i), 1000 + i, TRUE));
  /* Queued after the e-mails, delivered before the first of them times out. */
  start = g_get_monotonic_time ();
  sms_payment = pay (&f, texted, 900, TRUE);
  sms = ot_sms_sink_wait (f.sms, 1, MAIL_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2500 * 1000);

  /* One connection timed out; the three others were not tried. */
  g_usleep (4500 * 1000);
  g_assert_cmpuint (silent_stop (silent), ==, 1);
  rows = outbox_rows (f.gw);
  g_assert_cmpuint (rows->len, ==, 5);
  assert_one_tried (rows, 4, "smtp: Timeout");

  ot_smtp_restart (f.smtp);
  messages = ot_smtp_wait (f.smtp, 4, MAIL_TIMEOUT);
  assert_each_once (messages, payments);
  assert_all_delivered (f.gw, 5);
  fixture_stop (&f);
}

/* While a server is down the probing message's backoff grows (here to 8 s
 * after four tries); a message queued once it is back goes out within
 * retry_initial, not at the probe's next attempt. */
static void
test_smtp_back_soon (void)
{
  Fixture f = { 0 };
  g_autoptr(GPtrArray) cards = NULL;
  g_autoptr(JsonArray) messages = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  gint64 deadline;
  gint64 queued;

  fixture_start_full (&f, NULL, FALSE, NULL,
                      "[outbox]\nretry_initial=1\nretry_max=60\nlease=3\n");
  cards = cards_with_receipts (&f, 2);
  ot_smtp_stop (f.smtp);
  first = pay (&f, g_ptr_array_index (cards, 0), 1000, TRUE);
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr(GPtrArray) rows = outbox_rows (f.gw);

      if (rows->len == 1 && ((Row *) rows->pdata[0])->attempts >= 4)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
  /* The fourth try has failed (a refused connection fails at once). */
  g_usleep (300 * 1000);
  ot_smtp_restart (f.smtp);
  g_usleep (1200 * 1000);
  queued = g_get_monotonic_time ();
  second = pay (&f, g_ptr_array_index (cards, 1), 2000, TRUE);
  messages = ot_smtp_wait (f.smtp, 1, MAIL_TIMEOUT);
  g_test_message ("the new message after %.1f s", (g_get_monotonic_time () - queued) / 1e6);
  g_assert_cmpint (g_get_monotonic_time () - queued, <, 3 * G_USEC_PER_SEC);
  g_assert_nonnull (strstr (ot_json_string (message_at (messages, 0), "text"), second));
  g_clear_pointer (&messages, json_array_unref);
  messages = ot_smtp_wait (f.smtp, 2, MAIL_TIMEOUT);
  fixture_stop (&f);
}

/* The port a Silent server took, for one started on port 0. */
static guint
silent_port (Silent *silent)
{
  g_autoptr(GSocketAddress) address = g_socket_get_local_address (silent->listener, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
}

/* A stop gives a receipt and a webhook that are both under way one grace,
 * not one each after the other: each hangs on a server that never answers,
 * and the stop ends about 5 s after SIGTERM, not 10. */
static void
test_stop_graces_overlap (void)
{
  Fixture f = { 0 };
  g_autoptr(GPtrArray) cards = NULL;
  g_autofree char *hook = NULL;
  g_autofree char *paid = NULL;
  Silent *mail;
  Silent *hooks;
  gint64 start;
  gint64 took;

  fixture_start_full (&f, NULL, FALSE, "timeout=30\n",
                      OUTBOX_CONFIG "[webhooks]\nallow_private=true\ntimeout=30\n");
  cards = cards_with_receipts (&f, 1);
  ot_smtp_stop (f.smtp);
  mail = silent_start (url_port (ot_smtp_url (f.smtp)));
  hooks = silent_start (0);
  hook = g_strdup_printf ("{\"url\":\"http://127.0.0.1:%u/hooks\"}", silent_port (hooks));
  {
    g_autoptr(OtResponse) set = ot_request (f.gw, "POST", "/v1/webhook_endpoint",
                                            f.merchant_key, NULL, hook);
    ot_assert_status (set, 200);
  }
  paid = pay (&f, g_ptr_array_index (cards, 0), 1000, TRUE);
  /* SIGTERM as soon as both sends are under way; the mail one would end
   * by itself at libcurl's connect timeout, 10 s after it began. */
  start = g_get_monotonic_time ();
  while (g_atomic_int_get (&mail->n_accepted) == 0 || g_atomic_int_get (&hooks->n_accepted) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
      g_usleep (10 * 1000);
    }

  start = g_get_monotonic_time ();
  ot_gateway_terminate (f.gw, SIGTERM);
  took = g_get_monotonic_time () - start;
  g_test_message ("the stop took %.1f s", took / 1e6);
  g_assert_cmpuint (silent_stop (mail), ==, 1);
  g_assert_cmpuint (silent_stop (hooks), ==, 1);
  g_assert_cmpint (took, >=, 4 * G_USEC_PER_SEC);
  g_assert_cmpint (took, <, 8 * G_USEC_PER_SEC);
  ot_smtp_restart (f.smtp);
  fixture_stop (&f);
}

/* A recipient the server refuses for good is given up; the rest flow. */
static void
test_permanent_refusal (void)
{
  Fixture f = { 0 };
  g_autoptr(OtCard) refused = NULL;
  g_autoptr(OtCard) fine = NULL;
  g_autoptr(JsonArray) messages = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *log = NULL;
  Row *row;

  fixture_start (&f, NULL, FALSE);
  refused = card_with_profile (f.gw, "\"email\":\"reject-me@example.com\",\"receipts\":\"email\"");
  fine = card_with_profile (f.gw, "\"email\":\"fine@example.com\",\"receipts\":\"email\"");
  a = pay (&f, refused, 1000, TRUE);
  b = pay (&f, fine, 1000, TRUE);

  messages = ot_smtp_wait (f.smtp, 1, MAIL_TIMEOUT);
  g_assert_cmpstr (ot_json_string (message_at (messages, 0), "to"), ==, "fine@example.com");
  g_usleep (2500 * 1000);
  g_assert_cmpuint (ot_smtp_count (f.smtp), ==, 1);

  rows = outbox_rows (f.gw);
  g_assert_cmpuint (rows->len, ==, 2);
  row = g_ptr_array_index (rows, 0);
  g_assert_true (row->failed);
  g_assert_false (row->delivered);
  g_assert_cmpint (row->attempts, ==, 1);
  assert_contains (row->last_error, "550");
  assert_lacks (row->last_error, "reject-me");
  g_assert_true (g_file_get_contents (ot_gateway_log_path (f.gw), &log, NULL, NULL));
  assert_contains (log, "gave up email");
  assert_lacks (log, "reject-me@example.com");
  assert_lacks (log, "fine@example.com");
  fixture_stop (&f);
}

/* A server that refuses us rather than a recipient: its greeting (a client
 * it will not serve), MAIL FROM (our sender) or RCPT TO with 5.7.1 (relaying
 * denied, AUTH missing). Every message would be refused the same way: none
 * is given up, the lane holds back like for an unreachable server, the
 * operator is told, and once the server is fixed every message arrives. */
typedef struct
{
  const char *refuse;            /* the server's --refuse */
  const char *local;             /* recipients' local parts */
  const char *reply;             /* in last_error */
  gboolean    fixable;           /* restarting the server without --refuse fixes it */
} RefusalCase;

static const RefusalCase refusal_greeting = { "greeting", "holder", "greeting (reply 554", TRUE };
static const RefusalCase refusal_sender = { "sender", "holder", "MAIL FROM (reply 553 5.7.1)", TRUE };
static const RefusalCase refusal_relay = { NULL, "relay", "RCPT TO (reply 554 5.7.1)", FALSE };

static void
test_server_refuses (gconstpointer data)
{
  const RefusalCase *c = data;
  OtSmtpOptions options = { .refuse = c->refuse };
  Fixture f = { 0 };
  g_autoptr(GPtrArray) cards = NULL;
  g_autoptr(GPtrArray) payments = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *log = NULL;

  fixture_start_full (&f, &options, FALSE, NULL,
                      "[outbox]\nretry_initial=3\nretry_max=3\nlease=10\n");
  cards = cards_mailing (&f, c->local, 3);
  for (guint i = 0; i < cards->len; i++)
    g_ptr_array_add (payments, pay (&f, g_ptr_array_index (cards, i), 1000 + i, TRUE));
  wait_for_failed_attempts (f.gw, 3, 1);

  rows = outbox_rows (f.gw);
  g_assert_cmpuint (rows->len, ==, 3);
  assert_one_tried (rows, 3, c->reply);
  for (guint i = 0; i < rows->len; i++)
    assert_lacks (((Row *) g_ptr_array_index (rows, i))->last_error, "@example.com");
  g_assert_true (g_file_get_contents (ot_gateway_log_path (f.gw), &log, NULL, NULL));
  assert_contains (log, "server refuses to take messages");
  assert_lacks (log, "@example.com");
  assert_lacks (log, "gave up");

  if (c->fixable)
    {
      g_autoptr(JsonArray) messages = NULL;

      ot_smtp_stop (f.smtp);
      ot_smtp_set_refuse (f.smtp, NULL);
      ot_smtp_restart (f.smtp);
      messages = ot_smtp_wait (f.smtp, 3, MAIL_TIMEOUT);
      assert_each_once (messages, payments);
      assert_all_delivered (f.gw, 3);
    }
  fixture_stop (&f);
}

/* A server slower to answer the end of a message than [smtp] timeout took
 * it all the same: waiting for that answer is not timed out like the rest
 * (RFC 5321 gives it ten minutes), or the message would be sent again. */
static void
test_slow_end_of_data (void)
{
  Fixture f = { 0 };
  g_autoptr(OtCard) card = NULL;
  g_autoptr(JsonArray) messages = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *paid = NULL;
  Row *row;

  fixture_start_full (&f, NULL, FALSE, "timeout=1\n", NULL);
  card = card_with_profile (f.gw, "\"email\":\"slow@example.com\",\"receipts\":\"email\"");
  paid = pay (&f, card, 1000, TRUE);
  messages = ot_smtp_wait (f.smtp, 1, MAIL_TIMEOUT);
  /* A retry would come retry_initial (1 s) after a timeout, 1.2 s later. */
  g_usleep (3500 * 1000);
  g_assert_cmpuint (ot_smtp_count (f.smtp), ==, 1);
  rows = outbox_rows (f.gw);
  g_assert_cmpuint (rows->len, ==, 1);
  row = g_ptr_array_index (rows, 0);
  g_assert_true (row->delivered);
  g_assert_cmpint (row->attempts, ==, 1);
  fixture_stop (&f);
}

/* A message refused after its data leaves libcurl's connection in a state
 * it may keep; the next message starts on a new connection, so that no
 * reply to one is ever read as the reply to another. */
static void
test_fresh_connection_after_failure (void)
{
  Fixture f = { 0 };
  g_autoptr(OtCard) flaky = NULL;
  g_autoptr(OtCard) fine = NULL;
  g_autoptr(JsonArray) messages = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  JsonObject *first;

  fixture_start (&f, NULL, FALSE);
  flaky = card_with_profile (f.gw, "\"email\":\"flaky@example.com\",\"receipts\":\"email\"");
  fine = card_with_profile (f.gw, "\"email\":\"fine@example.com\",\"receipts\":\"email\"");
  a = pay (&f, flaky, 1000, TRUE);
  b = pay (&f, fine, 2000, TRUE);
  messages = ot_smtp_wait (f.smtp, 2, MAIL_TIMEOUT);
  first = message_at (messages, 0);
  g_assert_cmpstr (ot_json_string (first, "to"), ==, "fine@example.com");
  /* flaky@ was refused on connection 1. */
  g_assert_cmpstr (header (first, "x-connection"), !=, "1");
  assert_all_delivered (f.gw, 2);
  fixture_stop (&f);
}

/* STARTTLS required, certificate checked against the configured CA, AUTH. */
static void
test_starttls_auth (void)
{
  Fixture f = { 0 };
  OtSmtpOptions options = { .tls = TRUE, .require_starttls = TRUE, .auth_user = "onepin" };
  g_autoptr(OtCard) card = NULL;
  g_autoptr(JsonArray) messages = NULL;
  g_autofree char *payment = NULL;
  g_autofree char *log = NULL;
  g_autofree char *password = NULL;
  JsonObject *m;

  fixture_start (&f, &options, FALSE);
  card = card_with_profile (f.gw, "\"email\":\"tls@example.com\",\"receipts\":\"email\"");
  payment = pay (&f, card, 4321, TRUE);
  messages = ot_smtp_wait (f.smtp, 1, MAIL_TIMEOUT);
  m = message_at (messages, 0);
  assert_well_formed (m);
  g_assert_cmpstr (header (m, "x-starttls"), ==, "yes");
  g_assert_cmpstr (header (m, "x-auth-login"), ==, "onepin");
  assert_contains (ot_json_string (m, "text"), "4,321원");

  g_assert_true (g_file_get_contents (ot_smtp_password_file (f.smtp), &password, NULL, NULL));
  g_assert_true (g_file_get_contents (ot_gateway_log_path (f.gw), &log, NULL, NULL));
  assert_lacks (log, password);
  fixture_stop (&f);
}

/* Starts @f with @options, the gateway's [smtp] starttls left to its
 * default, and pays with a card whose holder wants e-mail receipts. */
static void
pay_with_default_starttls (Fixture       *f,
                           OtSmtpOptions *options)
{
  g_autoptr(OtCard) card = NULL;
  g_autofree char *payment = NULL;

  options->default_starttls = TRUE;
  fixture_start (f, options, FALSE);
  card = card_with_profile (f->gw, "\"email\":\"plain@example.com\",\"receipts\":\"email\"");
  payment = pay (f, card, 1000, TRUE);
}

/* Without [smtp] starttls, a server on this machine gets its mail even
 * without STARTTLS (the default there is try: the demo's plain server). */
static void
test_starttls_default_loopback (void)
{
  Fixture f = { 0 };
  OtSmtpOptions options = { 0 };
  g_autoptr(JsonArray) messages = NULL;

  pay_with_default_starttls (&f, &options);
  messages = ot_smtp_wait (f.smtp, 1, MAIL_TIMEOUT);
  g_assert_cmpstr (header (message_at (messages, 0), "x-starttls"), ==, "no");
  assert_all_delivered (f.gw, 1);
  fixture_stop (&f);
}

/* ...but to any other host the default is required: a server that offers
 * no STARTTLS, or a man in the middle who strips it, is sent nothing in the
 * clear. 127.0.0.2 stands for that host: it is not 127.0.0.1, localhost or
 * ::1, the addresses the rule takes as this machine. */
static void
test_starttls_default_remote (void)
{
  Fixture f = { 0 };
  OtSmtpOptions options = { .host = "127.0.0.2" };
  g_autoptr(GPtrArray) rows = NULL;

  pay_with_default_starttls (&f, &options);
  wait_for_failed_attempts (f.gw, 1, 2);
  g_assert_cmpuint (ot_smtp_count (f.smtp), ==, 0);
  rows = outbox_rows (f.gw);
  assert_contains (((Row *) g_ptr_array_index (rows, 0))->last_error, "SSL");
  fixture_stop (&f);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/outbox/receipt/email", test_receipt_email);
  g_test_add_func ("/outbox/receipt/rules", test_receipt_rules);
  g_test_add_func ("/outbox/receipt/sms", test_receipt_sms);
  g_test_add_func ("/outbox/receipt/sms-bank", test_receipt_sms_bank);
  g_test_add_func ("/outbox/profile", test_profile);
  g_test_add_func ("/outbox/profile-first-locale", test_profile_first_locale);
  g_test_add_func ("/outbox/password-hint", test_password_hint);
  g_test_add_func ("/outbox/smtp-down", test_smtp_down);
  g_test_add_func ("/outbox/smtp-hangs", test_smtp_hangs);
  g_test_add_func ("/outbox/smtp-back-soon", test_smtp_back_soon);
  g_test_add_func ("/outbox/gateway-restart", test_gateway_restart);
  g_test_add_func ("/outbox/batch-lease", test_batch_lease);
  g_test_add_func ("/outbox/permanent-refusal", test_permanent_refusal);
  g_test_add_data_func ("/outbox/server-refuses/greeting", &refusal_greeting, test_server_refuses);
  g_test_add_data_func ("/outbox/server-refuses/sender", &refusal_sender, test_server_refuses);
  g_test_add_data_func ("/outbox/server-refuses/relay", &refusal_relay, test_server_refuses);
  g_test_add_func ("/outbox/slow-end-of-data", test_slow_end_of_data);
  g_test_add_func ("/outbox/fresh-connection-after-failure", test_fresh_connection_after_failure);
  g_test_add_func ("/outbox/stop-graces-overlap", test_stop_graces_overlap);
  g_test_add_func ("/outbox/starttls-auth", test_starttls_auth);
  g_test_add_func ("/outbox/starttls-default/loopback", test_starttls_default_loopback);
  g_test_add_func ("/outbox/starttls-default/remote", test_starttls_default_remote);

  return g_test_run ();
}
