/* test-ars.c: the ARS menu, end to end through onepin-phone
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A caller buys a card through a mobile operator's ARS, gets its number by
 * SMS, registers its password on the phone and pays with it online; cards
 * are recharged and inquired about by phone. onepin-phone is driven through
 * its stdin and stdout, the way a person uses it. The SMS goes through the
 * gateway's outbox worker to onepin-bank's SMS sink, where the test reads it.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "phone-test-util.h"

static OtGateway *gw;
static char *operator_key;
static char *mall_key;

/* Helpers */

/* Runs onepin-phone as @key's holder (ONEPIN_KEY) with @input on stdin;
 * returns its stdout, and its exit status in @status. */
static char *
phone_run (const char        *key,
           const char        *input,
           const char *const *args,
           int               *status)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  g_autofree char *input_path = NULL;
  char *out = NULL;
  int fd;

  g_ptr_array_add (argv, (char *) g_getenv ("ONEPIN_PHONE"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, "--url");
  g_ptr_array_add (argv, (char *) ot_gateway_url (gw));
  g_ptr_array_add (argv, NULL);

  /* stdin from a file, not a pipe: a call that ends before reading all
   * of it (a refusal) must not fail the write with EPIPE */
  fd = g_file_open_tmp ("onepin-ars-XXXXXX", &input_path, &error);
  g_assert_no_error (error);
  close (fd);
  g_file_set_contents_full (input_path, input, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_stdin_file_path (launcher, input_path);
  g_subprocess_launcher_setenv (launcher, "ONEPIN_KEY", key, TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error);
  g_unlink (input_path);
  g_assert_no_error (error);
  g_subprocess_wait (proc, NULL, &error);
  g_test_message ("onepin-phone said:\n%s%s", out, err);
  g_assert_true (g_subprocess_get_if_exited (proc));
  *status = g_subprocess_get_exit_status (proc);
  return out;
}

/* The same, which must succeed. */
static char *
phone (const char *key,
       const char *input,
       ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;
  char *out;
  int status;

  va_start (ap, input);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  out = phone_run (key, input, (const char * const *) args->pdata, &status);
  g_assert_cmpint (status, ==, 0);
  return out;
}

static char *
ars (const char *from,
     const char *locale,
     const char *input)
{
  return phone (operator_key, input, "ars", "--from", from, "--locale", locale, NULL);
}

static void
assert_said (const char *out,
             const char *text)
{
  if (strstr (out, text) == NULL)
    g_error ("onepin-phone did not say \"%s\":\n%s", text, out);
}

static void
audit (void)
{
  json_object_unref (ot_assert_audit_balanced (gw));
}

static OtResponse *
ars_post (const char *path,
          const char *body)
{
  return ot_request (gw, "POST", path, operator_key, NULL, body);
}

/* Answers the session's prompt of @step with @digits, as they come. */
static OtResponse *
input (const char *id,
       gint64      step,
       const char *digits)
{
  g_autofree char *path = g_strdup_printf ("/v1/ars/sessions/%s/input", id);
  g_autofree char *body = g_strdup_printf ("{\"step\": %" G_GINT64_FORMAT ", \"digits\": \"%s\"}",
                                           step, digits);

  return ars_post (path, body);
}

static JsonObject *
ars_step (const char *id,
          gint64      step,
          const char *digits)
{
  g_autoptr(OtResponse) r = input (id, step, digits);

  ot_assert_status (r, 200);
  return json_object_ref (ot_response_object (r));
}

/* Tests */

static void
test_purchase_end_to_end (void)
{
  g_autofree char *out = ars ("01055501234", "en", "1\n2\n1\n1\n2580#\n2580#\n0\n");
  g_autofree char *number = NULL;
  g_autoptr(JsonObject) paid = NULL;
  g_autofree char *statement = NULL;
  g_autoptr(OtResponse) s = NULL;

  assert_said (out, "Welcome to onepin.");
  assert_said (out, "The 10,000 won card will be charged to your phone bill.");
  assert_said (out, "The card number has been sent to you by text message.");
  assert_said (out, "The password is registered. The card is ready to use.");
  assert_said (out, "Goodbye.");
  assert_said (out, "[call ended]");

  /* The number came by SMS; with the password registered by phone, the
   * card pays online at once. */
  number = pt_sms_card_number (gw, "01055501234");
  g_assert_null (strstr (out, number));
  ot_assert_card_balance (gw, number, "2580", 10000, 10000);
  paid = ot_pay (gw, mall_key, number, "2580", 3000, TRUE);
  ot_assert_card_balance (gw, number, "2580", 7000, 7000);
  pt_assert_secret_absent (gw, number);

  statement = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\"}", number);
  s = ot_request (gw, "POST", "/v1/cards/statement", NULL, NULL, statement);
  ot_assert_status (s, 200);
  g_assert_cmpint (ot_json_int (ot_json_object (ot_response_object (s), "summary"),
                                "initial_amount"), ==, 10000);
  audit ();
}

static void
test_purchase_korean_register_online (void)
{
  g_autofree char *out = ars ("+821055505678", "ko", "1\n1\n1\n9\n0\n");
  g_autofree char *number = NULL;
  g_autofree char *body = NULL;
  g_autoptr(OtResponse) reg = NULL;

  assert_said (out, "원핀 자동응답 서비스입니다.");
  assert_said (out, "5,000원 카드의 대금은 휴대폰 요금과 함께 청구됩니다.");
  assert_said (out, "카드 번호를 문자 메시지로 보내 드렸습니다.");
  assert_said (out, "안녕히 계십시오.");

  /* +82 10… is the line 010…; the caller registers the password online. */
  number = pt_sms_card_number (gw, "01055505678");
  body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"s3cret\"}", number);
  reg = ot_request (gw, "POST", "/v1/cards/register", NULL, NULL, body);
  ot_assert_status (reg, 200);
  ot_assert_card_balance (gw, number, "s3cret", 5000, 5000);
  audit ();
}

static void
test_cancel_buys_nothing (void)
{
  gint64 before = pt_count_sms (gw);
  g_autofree char *out = ars ("01055500000", "en", "1\n6\n2\n0\n");

  assert_said (out, "Cancelled.");
  g_assert_cmpint (pt_count_sms (gw), ==, before);
  audit ();
}

static void
test_recharge_and_inquiry (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "2580");
  g_autofree char *input = g_strdup_printf ("2\n%s\n2580#\n1\n1\n3\n%s\n2580\n0\n", card->number,
                                            card->number);
  g_autofree char *out = NULL;

  json_object_unref (ot_pay (gw, mall_key, card->number, "2580", 1200, TRUE));
  out = ars ("01055501111", "en", input);
  assert_said (out, "5,000 won will be added to the card");
  assert_said (out, "Done. The balance is now 13,800 won.");
  assert_said (out, "The balance is 13,800 won, of which 13,800 won can be used.");
  assert_said (out, "So far you have paid 1,200 won on the internet, 0 won for telephone calls");
  g_assert_null (strstr (out, card->number + 4));
  ot_assert_card_balance (gw, card->number, "2580", 13800, 13800);
  audit ();
}

static void
test_register_by_phone (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 20000, NULL);
  g_autofree char *input = g_strdup_printf ("4\n%s\n1234#\n4321#\n7777#\n7777#\n4\n%s\n1111\n"
                                            "1111\n0\n", card->number, card->number);
  g_autofree char *out = ars ("01055502222", "en", input);

  assert_said (out, "The two passwords were not the same.");
  assert_said (out, "The password is registered.");
  assert_said (out, "The card number is incorrect, or the card already has a password.");
  ot_assert_card_balance (gw, card->number, "7777", 20000, 20000);
  audit ();
}

static void
test_wrong_password_and_retries (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "2580");
  g_autofree char *input = g_strdup_printf ("3\n%s\n9999#\n3\n1234567890123456\n1111\n7\n\n"
                                            "12\n", card->number);
  g_autofree char *out = ars ("01055503333", "en", input);
  g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\"}",
                                           card->number);
  g_autoptr(OtResponse) r = NULL;

  /* A wrong password, a malformed number (refused only with the password,
   * as online), then three answers that are not choices end the call. */
  assert_said (out, "The card number or password is incorrect.");
  assert_said (out, "That was not one of the choices.");
  assert_said (out, "Nothing was entered.");
  assert_said (out, "Goodbye.");
  assert_said (out, "[call ended]");

  /* The wrong password counted towards the card's lockout. */
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *wrong = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"x%u\"}",
                                                card->number, i);
      g_autoptr(OtResponse) w = ot_request (gw, "POST", "/v1/cards/balance", NULL, NULL, wrong);

      ot_assert_error (w, 402, "card_error", "invalid_credentials");
    }
  r = ot_request (gw, "POST", "/v1/cards/balance", NULL, NULL, body);
  ot_assert_error (r, 402, "card_error", "card_locked");
  audit ();
}

static void
test_api (void)
{
  g_autoptr(OtResponse) start = ars_post ("/v1/ars/sessions",
                                          "{\"calling_number\": \"01055504444\","
                                          " \"locale\": \"en\"}");
  g_autoptr(OtResponse) mall = ot_request (gw, "POST", "/v1/ars/sessions", mall_key, NULL,
                                           "{\"calling_number\": \"01055504444\"}");
  g_autoptr(OtResponse) bad_locale = ars_post ("/v1/ars/sessions",
                                               "{\"calling_number\": \"0105550\","
                                               " \"locale\": \"fr\"}");
  g_autoptr(OtResponse) bad_number = ars_post ("/v1/ars/sessions",
                                               "{\"calling_number\": \"phone\"}");
  g_autoptr(JsonObject) s1 = NULL;
  g_autoptr(JsonObject) s2 = NULL;
  g_autoptr(JsonObject) s3 = NULL;
  g_autoptr(OtResponse) again = NULL;
  g_autoptr(OtResponse) stale = NULL;
  g_autoptr(OtResponse) letters = NULL;
  g_autoptr(OtResponse) ended = NULL;
  g_autoptr(OtResponse) missing = NULL;
  g_autofree char *path = NULL;
  JsonObject *o, *prompt;
  const char *id;
  gint64 sms_before = pt_count_sms (gw);

  ot_assert_status (start, 200);
  o = ot_response_object (start);
  id = ot_json_string (o, "id");
  g_assert_true (g_str_has_prefix (id, "ars_"));
  g_assert_cmpint (ot_json_int (o, "step"), ==, 1);
  g_assert_cmpstr (ot_json_string (o, "state"), ==, "menu");
  g_assert_cmpstr (ot_json_string (o, "calling_number_last4"), ==, "4444");
  g_assert_false (ot_json_bool (o, "done"));
  prompt = ot_json_object (o, "prompt");
  g_assert_cmpint (ot_json_int (prompt, "min_digits"), ==, 1);
  g_assert_cmpint (ot_json_int (prompt, "max_digits"), ==, 1);
  g_assert_true (json_node_is_null (json_object_get_member (prompt, "terminator")));
  g_assert_false (ot_json_bool (prompt, "secret"));
  ot_assert_error (mall, 401, "authentication_error", "not_an_operator");
  ot_assert_error (bad_locale, 400, "invalid_request_error", "parameter_invalid");
  ot_assert_error (bad_number, 400, "invalid_request_error", "parameter_invalid");

  s1 = ars_step (id, 1, "1");
  g_assert_cmpstr (ot_json_string (s1, "state"), ==, "buy.amount");
  s2 = ars_step (id, 2, "1");
  s3 = ars_step (id, 3, "1");
  g_assert_cmpstr (ot_json_string (s3, "state"), ==, "buy.done");
  g_assert_cmpint (pt_count_sms (gw), ==, sms_before + 1);

  /* The IVR retries the purchase step: the same answer, no second card. */
  path = g_strdup_printf ("/v1/ars/sessions/%s/input", id);
  again = ars_post (path, "{\"step\": 3, \"digits\": \"1\"}");
  ot_assert_status (again, 200);
  g_assert_cmpstr (ot_response_header (again, "Idempotent-Replayed"), ==, "true");
  g_assert_cmpint (pt_count_sms (gw), ==, sms_before + 1);

  stale = ars_post (path, "{\"step\": 9, \"digits\": \"1\"}");
  ot_assert_error (stale, 409, "invalid_request_error", "request_number_stale");
  letters = ars_post (path, "{\"step\": 4, \"digits\": \"1a\"}");
  ot_assert_error (letters, 400, "invalid_request_error", "parameter_invalid");
  json_object_unref (ars_step (id, 4, "9"));
  {
    g_autoptr(JsonObject) bye = ars_step (id, 5, "0");

    g_assert_true (ot_json_bool (bye, "done"));
    g_assert_cmpstr (ot_json_string (bye, "state"), ==, "ended");
    g_assert_cmpint (ot_json_int (ot_json_object (bye, "prompt"), "max_digits"), ==, 0);
  }
  ended = ars_post (path, "{\"step\": 6, \"digits\": \"1\"}");
  ot_assert_error (ended, 409, "invalid_request_error", "session_ended");
  missing = ars_post ("/v1/ars/sessions/ars_nosuch/input", "{\"step\": 1, \"digits\": \"1\"}");
  ot_assert_error (missing, 404, "invalid_request_error", "resource_missing");
  audit ();
}

static void
test_recharge_cap (void)
{
  g_autoptr(GPtrArray) cards = ot_issue_cards (gw, 1, 100000);
  OtCard *card = g_ptr_array_index (cards, 0);
  g_autoptr(GString) input = g_string_new (NULL);
  g_autofree char *out = NULL;

  ot_register_card (gw, card->number, "2580");
  /* Nine recharges of 100,000 won reach the 1,000,000-won cap; the tenth
   * is refused and sells nothing. */
  for (guint i = 0; i < 10; i++)
    g_string_append_printf (input, "2\n%s\n2580\n6\n1\n", card->number);
  g_string_append (input, "0\n");
  out = ars ("01055506666", "en", input->str);
  assert_said (out, "Done. The balance is now 1,000,000 won.");
  assert_said (out, "A card cannot hold more than 1,000,000 won.");
  ot_assert_card_balance (gw, card->number, "2580", 1000000, 1000000);
  audit ();
}

/* The card's id, from its balance. */
static char *
card_id (OtCard *card)
{
  g_autofree char *creds = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"2580\"}",
                                            card->number);
  g_autoptr(OtResponse) balance = ot_request (gw, "POST", "/v1/cards/balance", NULL, NULL, creds);

  ot_assert_status (balance, 200);
  return g_strdup (ot_json_string (ot_response_object (balance), "card_id"));
}

/* Sets the card's state in the gateway's database, behind its back. */
static void
set_card_state (const char *id,
                const char *state)
{
  g_autofree char *sql = g_strdup_printf ("UPDATE cards SET state = '%s' WHERE id = '%s'",
                                          state, id);

  ot_gateway_exec_sql (gw, sql);
}

/* The card given at the password step was closed before the caller
 * confirmed: nothing is sold, the caller is told why. */
static void
test_recharge_card_closed_meanwhile (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "2580");
  g_autoptr(OtResponse) start = ars_post ("/v1/ars/sessions",
                                          "{\"calling_number\": \"01055507777\","
                                          " \"locale\": \"en\"}");
  g_autoptr(JsonObject) menu = NULL, number = NULL, password = NULL, amount = NULL;
  g_autoptr(JsonObject) done = NULL;
  g_autofree char *card_row = card_id (card);
  const char *id;

  ot_assert_status (start, 200);
  id = ot_json_string (ot_response_object (start), "id");
  menu = ars_step (id, 1, "2");
  number = ars_step (id, 2, card->number);
  /* A client with a screen shows no password as it is keyed in. */
  g_assert_false (ot_json_bool (ot_json_object (menu, "prompt"), "secret"));
  g_assert_true (ot_json_bool (ot_json_object (number, "prompt"), "secret"));
  password = ars_step (id, 3, "2580");
  g_assert_false (ot_json_bool (ot_json_object (password, "prompt"), "secret"));
  amount = ars_step (id, 4, "1");
  g_assert_cmpstr (ot_json_string (amount, "state"), ==, "recharge.confirm");
  set_card_state (card_row, "closed");
  done = ars_step (id, 5, "1");
  g_assert_cmpstr (ot_json_string (done, "state"), ==, "menu");
  g_assert_null (strstr (ot_json_string (ot_json_object (done, "prompt"), "text"), "Done."));
  set_card_state (card_row, "active");
  ot_assert_card_balance (gw, card->number, "2580", 10000, 10000);
  audit ();
}

/* A promotional card recharged by phone is valid a year longer, as one
 * recharged on the card site is. */
static void
test_recharge_promotional (void)
{
  g_autoptr(OtResponse) batch = ot_request (gw, "POST", "/v1/admin/card_batches",
                                            ot_gateway_admin_token (gw), NULL,
                                            "{\"count\": 1, \"value\": 10000,"
                                            " \"promotional\": true}");
  g_autoptr(OtResponse) start = ars_post ("/v1/ars/sessions",
                                          "{\"calling_number\": \"01055508888\","
                                          " \"locale\": \"en\"}");
  g_autoptr(JsonObject) menu = NULL, number = NULL, password = NULL, amount = NULL;
  g_autoptr(JsonObject) done = NULL, after = NULL;
  JsonObject *issued;
  const char *card, *id;
  gint64 expires_at;

  ot_assert_status (batch, 200);
  issued = json_array_get_object_element (ot_json_array (ot_response_object (batch), "cards"), 0);
  card = ot_json_string (issued, "number");
  expires_at = ot_json_int (issued, "expires_at");
  ot_register_card (gw, card, "2580");
  ot_assert_status (start, 200);
  id = ot_json_string (ot_response_object (start), "id");
  menu = ars_step (id, 1, "2");
  number = ars_step (id, 2, card);
  password = ars_step (id, 3, "2580#");
  amount = ars_step (id, 4, "1");
  done = ars_step (id, 5, "1");
  g_assert_nonnull (strstr (ot_json_string (ot_json_object (done, "prompt"), "text"), "Done."));
  after = ot_card_balance (gw, card, "2580");
  g_assert_cmpint (ot_json_int (after, "balance"), >, 10000);
  g_assert_cmpint (ot_json_int (after, "expires_at"), >=, expires_at + 365 * 86400);
  g_assert_cmpint (ot_json_int (after, "expires_at"), <=, expires_at + 366 * 86400);
  audit ();
}

/* onepin-phone as a softswitch: a call cut off when the card runs dry. */
static void
test_call_until_dry (void)
{
  g_autofree char *switch_key = pt_create_merchant (gw, "Softswitch", "telephone", NULL);
  g_autoptr(OtResponse) rates = ot_request (gw, "POST", "/v1/admin/phone/rate_tables",
                                            ot_gateway_admin_token (gw), NULL,
                                            "{\"name\": \"t\", \"rates\": [{\"prefix\": \"02\","
                                            " \"category\": \"local\", \"per_minute\": 100,"
                                            " \"increment\": 10}]}");
  g_autoptr(OtCard) card = ot_new_card (gw, 5000, "2580");
  g_autoptr(OtCard) other = ot_new_card (gw, 5000, "2580");
  g_autofree char *card_input = g_strconcat (card->number, "\n2580\n", NULL);
  g_autofree char *other_input = g_strconcat (other->number, "\n2580\n", NULL);
  g_autofree char *out = NULL;
  g_autofree char *short_call = NULL;

  ot_assert_status (rates, 200);
  out = phone (switch_key, card_input, "call", "--card-stdin", "--to", "0212345678", NULL);
  assert_said (out, "Calling 0212345678 (local, prefix 02): 100 won a minute in 10 s units");
  assert_said (out, "granted 300 s (500 won reserved), the last the card can pay for");
  assert_said (out, "The card ran dry; the call was cut after 3000 s: 5000 won.");
  ot_assert_card_balance (gw, card->number, "2580", 0, 0);

  short_call = phone (switch_key, other_input, "call", "--card-stdin", "--to", "0212345678",
                      "--talk", "95", NULL);
  assert_said (short_call, "Hung up after 95 s: 167 won.");   /* 10 units, 166.67 */
  ot_assert_card_balance (gw, other->number, "2580", 4833, 4833);

  /* No secret on the command line, where every user of the machine reads
   * it: the card, its password and the key are refused there. */
  {
    const char *const with_card[] = { "call", "--card", card->number, "--password", "2580",
                                      "--to", "0212345678", NULL };
    const char *const with_key[] = { "call", "--key", switch_key, "--card-stdin", "--to",
                                     "0212345678", NULL };
    const char *const negative[] = { "call", "--card-stdin", "--to", "0212345678",
                                     "--talk", "-5", NULL };
    g_autofree char *refused = NULL;
    g_autofree char *refused_key = NULL;
    g_autofree char *refused_talk = NULL;
    int status;

    /* A negative talk time is a mistake, not "talk until the card is dry". */
    refused_talk = phone_run (switch_key, other_input, negative, &status);
    g_assert_cmpint (status, ==, 2);
    ot_assert_card_balance (gw, other->number, "2580", 4833, 4833);

    refused = phone_run (switch_key, "", with_card, &status);
    g_assert_cmpint (status, ==, 2);
    refused_key = phone_run ("", card_input, with_key, &status);
    g_assert_cmpint (status, ==, 2);
    ot_assert_card_balance (gw, other->number, "2580", 4833, 4833);
  }
  audit ();
}

/* Today's count of refused card credentials, from GET /metrics. */
static gint64
credential_failures (void)
{
  g_autoptr(OtResponse) r = ot_request (gw, "GET", "/metrics", NULL, NULL, NULL);
  const char *needle = "\nonepin_credential_failures_today ";
  const char *line;

  ot_assert_status (r, 200);
  line = strstr (r->body, needle);
  g_assert_nonnull (line);
  return g_ascii_strtoll (line + strlen (needle), NULL, 10);
}

/* A well-formed number of the same BIN that no card has. */
static char *
unknown_number (const OtCard *card)
{
  char *number = g_strdup (card->number);

  number[10] = number[10] == '9' ? '0' : number[10] + 1;
  for (char d = '0'; d <= '9'; d++)
    {
      number[15] = d;
      if (ot_luhn_valid (number))
        return number;
    }
  g_assert_not_reached ();
}

/* What the session says after @digits, each pressed in turn. */
static char *
press_all (const char        *id,
           const char *const *digits)
{
  char *said = NULL;

  for (guint i = 0; digits[i] != NULL; i++)
    {
      g_autoptr(JsonObject) o = pt_ars_press (gw, operator_key, id, digits[i]);

      g_free (said);
      said = g_strdup (ot_json_string (ot_json_object (o, "prompt"), "text"));
    }
  return said;
}

/* Every refusal on the phone counts like one online: a wrong password, an
 * unknown number, a malformed one. Registering says the same for an
 * unknown number as for a card that has a password. */
static void
test_refusals_counted (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "2580");
  g_autofree char *unknown = unknown_number (card);
  g_autofree char *id = pt_ars_start (gw, operator_key, "01055509001", "en");
  const char *const wrong[] = { "2", card->number, "0000#", NULL };
  const char *const nobody[] = { "4", unknown, "5678#", "5678#", NULL };
  const char *const malformed[] = { "3", "1234567890123456", "1111#", NULL };
  const char *const registered[] = { "4", card->number, "5678#", "5678#", NULL };
  gint64 before = credential_failures ();
  g_autofree char *said_wrong = NULL, *said_nobody = NULL, *said_malformed = NULL;
  g_autofree char *said_registered = NULL;

  said_wrong = press_all (id, wrong);
  g_assert_nonnull (strstr (said_wrong, "The card number or password is incorrect."));
  g_assert_cmpint (credential_failures (), ==, before + 1);
  said_nobody = press_all (id, nobody);
  g_assert_cmpint (credential_failures (), ==, before + 2);
  said_malformed = press_all (id, malformed);
  g_assert_cmpint (credential_failures (), ==, before + 3);
  said_registered = press_all (id, registered);
  g_assert_cmpint (credential_failures (), ==, before + 3);
  g_assert_cmpstr (said_nobody, ==, said_registered);
  ot_assert_card_balance (gw, card->number, "2580", 10000, 10000);
  audit ();
}

/* One calling number gets the address limit's 20 refusals a minute however
 * many calls it makes; then every input of its calls gets 429, and other
 * callers of the same IVR (one address) go on. */
static void
test_caller_limit (void)
{
  g_autofree char *id = pt_ars_start (gw, operator_key, "01055509002", "en");
  g_autofree char *again = pt_ars_start (gw, operator_key, "01055509002", "en");
  g_autofree char *other = pt_ars_start (gw, operator_key, "01055509003", "en");
  const char *const guess[] = { "3", "1234567890123456", "1111#", NULL };
  g_autoptr(OtResponse) limited = NULL, limited_again = NULL, fine = NULL;

  /* Ten guesses on each call, three inputs each: both are at step 31. */
  for (guint i = 0; i < 20; i++)
    g_free (press_all (i % 2 ? again : id, guess));
  limited = input (id, 31, "3");
  ot_assert_error (limited, 429, "rate_limit_error", "rate_limited");
  g_assert_nonnull (soup_message_headers_get_one (limited->headers, "Retry-After"));
  limited_again = input (again, 31, "3");
  ot_assert_error (limited_again, 429, "rate_limit_error", "rate_limited");
  fine = input (other, 1, "3");
  ot_assert_status (fine, 200);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  gw = pt_start ();
  operator_key = pt_create_merchant (gw, "KT mobile", "mobile_operator", NULL);
  mall_key = pt_create_merchant (gw, "Mall", "shopping", NULL);

  g_test_add_func ("/ars/purchase-end-to-end", test_purchase_end_to_end);
  g_test_add_func ("/ars/purchase-korean-register-online", test_purchase_korean_register_online);
  g_test_add_func ("/ars/cancel-buys-nothing", test_cancel_buys_nothing);
  g_test_add_func ("/ars/recharge-and-inquiry", test_recharge_and_inquiry);
  g_test_add_func ("/ars/register-by-phone", test_register_by_phone);
  g_test_add_func ("/ars/wrong-password-and-retries", test_wrong_password_and_retries);
  g_test_add_func ("/ars/api", test_api);
  g_test_add_func ("/ars/recharge-cap", test_recharge_cap);
  g_test_add_func ("/ars/recharge-card-closed-meanwhile", test_recharge_card_closed_meanwhile);
  g_test_add_func ("/ars/recharge-promotional", test_recharge_promotional);
  g_test_add_func ("/ars/call-until-dry", test_call_until_dry);
  g_test_add_func ("/ars/refusals-counted", test_refusals_counted);
  g_test_add_func ("/ars/caller-limit", test_caller_limit);
  status = g_test_run ();

  pt_stop (gw);
  g_free (operator_key);
  g_free (mall_key);
  return status;
}
