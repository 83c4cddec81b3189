/* test-wallet.c: the e-wallet's API on a real gateway (suite wallet-api)
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Registration, sign-in and sign-out, lockout per login and per address,
 * password changes revoking the other sessions, the representative card
 * (its number and CVC shown once, and usable as an ordinary onepin card),
 * funding sources kept sealed and shown masked, history, and the audit.
 * The main gateway hashes with few PBKDF2 iterations ([wallet]
 * pbkdf2_iterations) to keep the suite quick; one test runs the default
 * 600,000 and checks the main thread stays responsive meanwhile; two
 * check the bounds on those hashes, per address and in all.
 */
#include <sqlite3.h>
#include <string.h>

#include "gw-keys.h"
#include "gw-wallet.h"
#include "onepin-shared.h"
#include "onepin-test-gateway.h"

/* This suite signs in far more than a person would, all from 127.0.0.1. */
#define FAST_CONFIG "[wallet]\npbkdf2_iterations=2000\nkdf_per_minute=100000\n"

static OtGateway *gw;

/* Helpers */

static char *
unique (const char *prefix)
{
  static guint serial;

  return g_strdup_printf ("%s%u%04x", prefix, ++serial, g_random_int_range (0, 0xffff));
}

static OtResponse *
wallet (OtGateway  *gateway,
        const char *method,
        const char *path,
        const char *token,
        const char *key,
        const char *body)
{
  return ot_request (gateway, method, path, token, key, body);
}

static char *
register_user (OtGateway  *gateway,
               const char *login,
               const char *password)
{
  g_autofree char *body = g_strdup_printf ("{\"login_id\":\"%s\",\"password\":\"%s\","
                                           "\"name\":\"Kim %s\",\"email\":\"%s@example.com\","
                                           "\"phone\":\"010-1234-5678\"}",
                                           login, password, login, login);
  g_autoptr(OtResponse) r = wallet (gateway, "POST", "/v1/wallet/users", NULL, NULL, body);

  ot_assert_status (r, 201);
  return g_strdup (ot_json_string (ot_response_object (r), "id"));
}

static OtResponse *
sign_in (OtGateway  *gateway,
         const char *login,
         const char *password)
{
  g_autofree char *body = g_strdup_printf ("{\"login_id\":\"%s\",\"password\":\"%s\"}",
                                           login, password);

  return wallet (gateway, "POST", "/v1/wallet/sessions", NULL, NULL, body);
}

static char *
login (OtGateway  *gateway,
       const char *login,
       const char *password)
{
  g_autoptr(OtResponse) r = sign_in (gateway, login, password);

  ot_assert_status (r, 201);
  return g_strdup (ot_json_string (ot_response_object (r), "token"));
}

/* A new user, signed in; returns the token. */
static char *
new_user (char **login_out)
{
  g_autofree char *login_id = unique ("user");
  g_autofree char *user_id = register_user (gw, login_id, "correct horse");

  if (login_out != NULL)
    *login_out = g_strdup (login_id);
  return login (gw, login_id, "correct horse");
}

static JsonObject *
apply_card (const char *token,
            const char *password)
{
  g_autofree char *body = g_strdup_printf ("{\"password\":\"%s\"}", password);
  g_autoptr(OtResponse) r = wallet (gw, "POST", "/v1/wallet/card", token, NULL, body);

  ot_assert_status (r, 201);
  return json_object_ref (ot_response_object (r));
}

static void
assert_absent (OtResponse *r,
               const char *what,
               const char *secret)
{
  if (r->body != NULL && strstr (r->body, secret) != NULL)
    g_error ("a response (HTTP %u) contains the %s: %s", r->status, what, r->body);
}

static void
assert_param (OtResponse *r,
              const char *param)
{
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                   ==, param);
}

/* Registration */

static void
test_register (void)
{
  g_autofree char *login_id = unique ("Alice");
  g_autofree char *lower = g_ascii_strdown (login_id, -1);
  g_autofree char *body = g_strdup_printf ("{\"login_id\":\"%s\",\"password\":\"correct horse\","
                                           "\"name\":\"Kim Alice\",\"email\":\"a@example.com\","
                                           "\"phone\":\"+82-10-1234-5678\",\"locale\":\"en\"}",
                                           login_id);
  g_autofree char *again = g_strdup_printf ("{\"login_id\":\"%s\",\"password\":\"other horse\","
                                            "\"name\":\"Other\",\"email\":\"b@example.com\"}",
                                            lower);
  g_autoptr(OtResponse) r = wallet (gw, "POST", "/v1/wallet/users", NULL, NULL, body);
  g_autoptr(OtResponse) taken = wallet (gw, "POST", "/v1/wallet/users", NULL, NULL, again);
  JsonObject *o;

  ot_assert_status (r, 201);
  o = ot_response_object (r);
  g_assert_true (g_str_has_prefix (ot_json_string (o, "id"), "usr_"));
  g_assert_cmpstr (ot_json_string (o, "object"), ==, "wallet_user");
  g_assert_cmpstr (ot_json_string (o, "login_id"), ==, lower);
  g_assert_cmpstr (ot_json_string (o, "name"), ==, "Kim Alice");
  g_assert_cmpstr (ot_json_string (o, "email"), ==, "a@example.com");
  g_assert_cmpstr (ot_json_string (o, "phone"), ==, "+82-10-1234-5678");
  g_assert_cmpstr (ot_json_string (o, "receipt_channel"), ==, "email");
  g_assert_cmpstr (ot_json_string (o, "locale"), ==, "en");
  g_assert_true (json_object_get_null_member (o, "card"));
  assert_absent (r, "password", "correct horse");

  /* Login IDs are compared without regard to case. */
  ot_assert_error (taken, 409, "invalid_request_error", "login_id_taken");
  assert_param (taken, "login_id");
}

static void
test_register_fields (void)
{
  const struct
  {
    const char *body;
    const char *param;
    const char *code;
  } cases[] = {
    { "{\"login_id\":\"ab\",\"password\":\"correct horse\",\"name\":\"A\",\"email\":\"a@b.co\"}",
      "login_id", "parameter_invalid" },
    { "{\"login_id\":\"a b c d\",\"password\":\"correct horse\",\"name\":\"A\",\"email\":\"a@b.co\"}",
      "login_id", "parameter_invalid" },
    { "{\"login_id\":\"abcd\",\"password\":\"short\",\"name\":\"A\",\"email\":\"a@b.co\"}",
      "password", "parameter_invalid" },
    { "{\"login_id\":\"abcd\",\"password\":\"correct horse\",\"name\":\"\",\"email\":\"a@b.co\"}",
      "name", "parameter_invalid" },
    /* a name merchants and mail show: nothing hidden or turned around */
    { "{\"login_id\":\"abcd\",\"password\":\"correct horse\",\"name\":\"\\u202eeeL\","
      "\"email\":\"a@b.co\"}", "name", "parameter_invalid" },
    { "{\"login_id\":\"abcd\",\"password\":\"correct horse\",\"name\":\"K\\u200bim\","
      "\"email\":\"a@b.co\"}", "name", "parameter_invalid" },
    { "{\"login_id\":\"abcd\",\"password\":\"correct horse\",\"name\":\"A\",\"email\":\"nope\"}",
      "email", "parameter_invalid" },
    { "{\"login_id\":\"abcd\",\"password\":\"correct horse\",\"name\":\"A\",\"email\":\"a@b.co\","
      "\"phone\":\"12\"}", "phone", "parameter_invalid" },
    { "{\"login_id\":\"abcd\",\"password\":\"correct horse\",\"name\":\"A\",\"email\":\"a@b.co\","
      "\"receipt_channel\":\"sms\"}", "receipt_channel", "parameter_invalid" },
    { "{\"login_id\":\"abcd\",\"password\":\"correct horse\",\"name\":\"A\",\"email\":\"a@b.co\","
      "\"receipt_channel\":\"fax\"}", "receipt_channel", "parameter_invalid" },
    { "{\"login_id\":\"abcd\",\"password\":\"correct horse\",\"name\":\"A\",\"email\":\"a@b.co\","
      "\"locale\":\"fr\"}", "locale", "parameter_invalid" },
    { "{\"login_id\":\"abcd\",\"password\":\"correct horse\",\"name\":\"A\"}",
      "email", "parameter_missing" },
    { "{\"login_id\":\"abcd\",\"password\":\"correct horse\",\"name\":\"A\",\"email\":\"a@b.co\","
      "\"admin\":true}", "admin", "parameter_unknown" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(OtResponse) r = wallet (gw, "POST", "/v1/wallet/users", NULL, NULL,
                                        cases[i].body);

      ot_assert_error (r, 400, "invalid_request_error", cases[i].code);
      assert_param (r, cases[i].param);
    }
}

/* Sessions */

static void
test_login_logout (void)
{
  g_autofree char *login_id = unique ("bob");
  g_autofree char *user_id = register_user (gw, login_id, "correct horse");
  g_autofree char *upper = g_ascii_strup (login_id, -1);
  g_autoptr(OtResponse) wrong = sign_in (gw, login_id, "wrong horse");
  g_autoptr(OtResponse) unknown = sign_in (gw, "nobody-at-all", "wrong horse");
  g_autoptr(OtResponse) ok = sign_in (gw, upper, "correct horse");
  g_autoptr(OtResponse) me = NULL;
  g_autoptr(OtResponse) out = NULL;
  g_autoptr(OtResponse) after = NULL;
  g_autoptr(OtResponse) none = NULL;
  g_autoptr(OtResponse) forged = NULL;
  JsonObject *session;
  const char *token;

  /* A wrong password and an unknown login are answered alike. */
  ot_assert_error (wrong, 401, "authentication_error", "invalid_login");
  ot_assert_error (unknown, 401, "authentication_error", "invalid_login");
  g_assert_cmpstr (wrong->body, ==, unknown->body);

  ot_assert_status (ok, 201);
  session = ot_response_object (ok);
  token = ot_json_string (session, "token");
  g_assert_true (g_str_has_prefix (token, "ws_"));
  g_assert_cmpuint (strlen (token), ==, 3 + 64);
  g_assert_true (g_str_has_prefix (ot_json_string (session, "id"), "wss_"));
  g_assert_cmpstr (ot_json_string (session, "user"), ==, user_id);
  g_assert_cmpint (ot_json_int (session, "expires_at") - ot_json_int (session, "created"), ==,
                   24 * 3600);

  me = wallet (gw, "GET", "/v1/wallet/me", token, NULL, NULL);
  ot_assert_status (me, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (me), "id"), ==, user_id);

  out = wallet (gw, "DELETE", "/v1/wallet/sessions/current", token, NULL, NULL);
  ot_assert_status (out, 200);
  g_assert_true (ot_json_bool (ot_response_object (out), "revoked"));
  after = wallet (gw, "GET", "/v1/wallet/me", token, NULL, NULL);
  ot_assert_error (after, 401, "authentication_error", "unauthorized");

  none = wallet (gw, "GET", "/v1/wallet/me", NULL, NULL, NULL);
  ot_assert_error (none, 401, "authentication_error", "unauthorized");
  forged = wallet (gw, "GET", "/v1/wallet/me", "ws_0000000000000000000000000000000000000000000000000000000000000000", NULL, NULL);
  ot_assert_error (forged, 401, "authentication_error", "unauthorized");
}

/* A gateway of its own, whose sessions last two seconds. */
static void
test_session_expiry (void)
{
  OtGateway *brief = ot_gateway_start (FAST_CONFIG "session_lifetime=2\n", FALSE);
  g_autofree char *user_id = register_user (brief, "frank", "correct horse");
  g_autoptr(OtResponse) session = sign_in (brief, "frank", "correct horse");
  const char *token = ot_json_string (ot_response_object (session), "token");
  g_autoptr(OtResponse) fresh = NULL;
  g_autoptr(OtResponse) stale = NULL;

  ot_assert_status (session, 201);
  g_assert_cmpint (ot_json_int (ot_response_object (session), "expires_at") -
                   ot_json_int (ot_response_object (session), "created"), ==, 2);
  fresh = wallet (brief, "GET", "/v1/wallet/me", token, NULL, NULL);
  ot_assert_status (fresh, 200);
  g_usleep (3100 * 1000);
  stale = wallet (brief, "GET", "/v1/wallet/me", token, NULL, NULL);
  ot_assert_error (stale, 401, "authentication_error", "unauthorized");
  ot_gateway_stop (brief);
}

static void
test_login_lockout (void)
{
  g_autofree char *login_id = unique ("carol");
  g_autofree char *user_id = register_user (gw, login_id, "correct horse");
  g_autofree char *token = NULL;
  g_autoptr(OtResponse) locked = NULL;
  g_autoptr(OtResponse) change = NULL;

  /* Four failures, then a success resets the count. */
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(OtResponse) r = sign_in (gw, login_id, "wrong horse");

      ot_assert_error (r, 401, "authentication_error", "invalid_login");
    }
  token = login (gw, login_id, "correct horse");
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(OtResponse) r = sign_in (gw, login_id, "wrong horse");

      ot_assert_error (r, 401, "authentication_error", "invalid_login");
    }
  /* The fifth locked it: even the right password is refused now. */
  locked = sign_in (gw, login_id, "correct horse");
  ot_assert_error (locked, 429, "rate_limit_error", "login_locked");
  change = wallet (gw, "POST", "/v1/wallet/me/password", token, NULL,
                   "{\"current_password\":\"correct horse\",\"new_password\":\"other horse\"}");
  ot_assert_error (change, 429, "rate_limit_error", "login_locked");
}

/* An unknown login ID is locked like a known one (429 after five wrong
 * passwords), so the lockout does not tell which IDs exist; and a locked
 * ID, known or not, is answered without a hash. A gateway of its own, so
 * the failures do not count against the others' address. */
static void
test_lockout_unknown_id (void)
{
  OtGateway *own = ot_gateway_start (FAST_CONFIG "[limits]\nfailures_per_minute=1000\n", FALSE);
  g_autofree char *known = register_user (own, "erin", "correct horse");
  const char *logins[] = { "erin", "nobody-by-this-name" };

  for (guint l = 0; l < G_N_ELEMENTS (logins); l++)
    {
      g_autoptr(OtResponse) locked = NULL;

      for (guint i = 0; i < 5; i++)
        {
          g_autoptr(OtResponse) r = sign_in (own, logins[l], "wrong horse");

          ot_assert_error (r, 401, "authentication_error", "invalid_login");
        }
      locked = sign_in (own, logins[l], "wrong horse");
      ot_assert_error (locked, 429, "rate_limit_error", "login_locked");
    }
  /* A login ID's case is not another ID. */
  {
    g_autoptr(OtResponse) upper = sign_in (own, "NOBODY-by-this-name", "wrong horse");

    ot_assert_error (upper, 429, "rate_limit_error", "login_locked");
  }
  ot_gateway_stop (own);
}

typedef struct
{
  OtGateway  *gw;
  const char *login;
  const char *password;
  OtResponse *response;
} Guess;

static gpointer
guess_thread (gpointer data)
{
  Guess *guess = data;

  guess->response = sign_in (guess->gw, guess->login, guess->password);
  return NULL;
}

/* Wrong passwords sent together: five are checked, every other one is
 * refused as locked, and a right password once it is locked too. The
 * hashes are slow here (and one at a time), as they are in production, so
 * that every guess is admitted before the first is answered. */
static void
test_lockout_parallel (void)
{
  OtGateway *own = ot_gateway_start ("[wallet]\npbkdf2_iterations=100000\nkdf_per_minute=100000\n"
                                     "kdf_workers=1\n[limits]\nfailures_per_minute=1000\n", FALSE);
  g_autofree char *user_id = register_user (own, "frank", "correct horse");
  Guess guesses[12];
  GThread *threads[G_N_ELEMENTS (guesses)];
  guint wrong = 0;
  guint locked = 0;

  for (guint i = 0; i < G_N_ELEMENTS (guesses); i++)
    {
      guesses[i] = (Guess) { own, "frank", "wrong horse", NULL };
      threads[i] = g_thread_new ("guess", guess_thread, &guesses[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (guesses); i++)
    {
      OtResponse *r;

      g_thread_join (threads[i]);
      r = guesses[i].response;
      if (r->status == 401)
        wrong++;
      else
        ot_assert_error (r, 429, "rate_limit_error", "login_locked");
      locked += r->status == 429;
      ot_response_free (r);
    }
  g_assert_cmpuint (wrong, ==, 5);
  g_assert_cmpuint (locked, ==, G_N_ELEMENTS (guesses) - 5);
  {
    g_autoptr(OtResponse) right = sign_in (own, "frank", "correct horse");

    ot_assert_error (right, 429, "rate_limit_error", "login_locked");
  }
  ot_gateway_stop (own);
}

/* A gateway of its own: the address limit would block this test's address
 * for the others. */
static void
test_address_limit (void)
{
  OtGateway *limited = ot_gateway_start (FAST_CONFIG "[limits]\nfailures_per_minute=6\n", FALSE);
  g_autofree char *user_id = register_user (limited, "dave", "correct horse");
  g_autoptr(OtResponse) blocked = NULL;
  g_autoptr(OtResponse) card = NULL;

  for (guint i = 0; i < 6; i++)
    {
      g_autofree char *login_id = g_strdup_printf ("stranger%u", i);
      g_autoptr(OtResponse) r = sign_in (limited, login_id, "wrong horse");

      ot_assert_error (r, 401, "authentication_error", "invalid_login");
    }
  /* Past the limit, even a right password gets 429, and so do the
   * card-holder endpoints from this address. */
  blocked = sign_in (limited, "dave", "correct horse");
  ot_assert_error (blocked, 429, "rate_limit_error", "rate_limited");
  card = ot_request (limited, "POST", "/v1/cards/balance", NULL, NULL,
                     "{\"number\":\"9410000000000000\",\"password\":\"1234\"}");
  ot_assert_error (card, 429, "rate_limit_error", "rate_limited");
  ot_gateway_stop (limited);
}

/* Registrations and sign-ins each cost a password hash, so an address gets
 * kdf_per_minute of them, right or wrong; then 429 with the seconds left. */
static void
test_kdf_address_limit (void)
{
  OtGateway *limited = ot_gateway_start ("[wallet]\npbkdf2_iterations=2000\nkdf_per_minute=4\n",
                                         FALSE);
  g_autofree char *user_id = register_user (limited, "erin", "correct horse");
  g_autofree char *token = login (limited, "erin", "correct horse");
  g_autoptr(OtResponse) wrong = sign_in (limited, "erin", "wrong horse");
  g_autoptr(OtResponse) malformed = NULL;
  g_autoptr(OtResponse) fourth = NULL;
  g_autoptr(OtResponse) blocked = NULL;
  g_autoptr(OtResponse) blocked_login = NULL;
  g_autoptr(OtResponse) me = NULL;
  g_autoptr(OtResponse) health = NULL;
  const char *retry_after;
  guint64 seconds = 0;

  ot_assert_error (wrong, 401, "authentication_error", "invalid_login");
  /* A body refused before any hashing does not count. */
  malformed = wallet (limited, "POST", "/v1/wallet/users", NULL, NULL,
                      "{\"login_id\":\"x\",\"password\":\"short\"}");
  ot_assert_status (malformed, 400);
  fourth = sign_in (limited, "erin", "correct horse");
  ot_assert_status (fourth, 201);

  blocked = wallet (limited, "POST", "/v1/wallet/users", NULL, NULL,
                    "{\"login_id\":\"frank\",\"password\":\"correct horse\","
                    "\"name\":\"Frank\",\"email\":\"frank@example.com\"}");
  ot_assert_error (blocked, 429, "rate_limit_error", "rate_limited");
  retry_after = ot_response_header (blocked, "Retry-After");
  g_assert_nonnull (retry_after);
  g_assert_true (g_ascii_string_to_unsigned (retry_after, 10, 1, 60, &seconds, NULL));
  blocked_login = sign_in (limited, "erin", "correct horse");
  ot_assert_error (blocked_login, 429, "rate_limit_error", "rate_limited");
  g_assert_nonnull (ot_response_header (blocked_login, "Retry-After"));

  /* What needs no hash still works, for this address too. */
  me = wallet (limited, "GET", "/v1/wallet/me", token, NULL, NULL);
  ot_assert_status (me, 200);
  health = ot_request (limited, "GET", "/healthz", NULL, NULL, NULL);
  ot_assert_status (health, 200);
  ot_gateway_stop (limited);
}

/* At full strength, with one worker and two places in line, a flood of
 * registrations gets 503 and Retry-After for all it cannot hold, at once,
 * and the three it holds are answered in turn (the login is the same, so
 * one is created and the others find it taken). */
static void
test_kdf_saturated (void)
{
  OtGateway *busy = ot_gateway_start ("[wallet]\nkdf_workers=1\nkdf_queue=2\n"
                                      "kdf_per_minute=1000\n", FALSE);
  g_autoptr(GPtrArray) answers = ot_request_parallel (busy, 10, "POST", "/v1/wallet/users", NULL,
                                                      NULL,
                                                      "{\"login_id\":\"flood\","
                                                      "\"password\":\"correct horse\","
                                                      "\"name\":\"Flood\","
                                                      "\"email\":\"flood@example.com\"}");
  guint created = 0, taken = 0, refused = 0;
  g_autoptr(OtResponse) after = NULL;

  for (guint i = 0; i < answers->len; i++)
    {
      OtResponse *r = g_ptr_array_index (answers, i);

      if (r->status == 201)
        created++;
      else if (r->status == 409)
        taken++;
      else
        {
          ot_assert_error (r, 503, "api_error", "busy");
          g_assert_cmpstr (ot_response_header (r, "Retry-After"), ==, "1");
          refused++;
        }
    }
  g_test_message ("10 registrations at once: %u created, %u taken, %u refused",
                  created, taken, refused);
  g_assert_cmpuint (created, ==, 1);
  g_assert_cmpuint (created + taken, <=, 3);
  g_assert_cmpuint (refused, >=, 7);
  /* Once the line is empty, hashing is offered again. */
  after = sign_in (busy, "flood", "correct horse");
  ot_assert_status (after, 201);
  ot_gateway_stop (busy);
}

/* The same for sign-ins, whose attempt is first counted on the writer: work
 * being counted holds its place in the line, so a burst is still bounded
 * by kdf_workers + kdf_queue (here 1 + 2) and the rest are refused at once. */
static void
test_kdf_saturated_sign_in (void)
{
  OtGateway *busy = ot_gateway_start ("[wallet]\npbkdf2_iterations=200000\nkdf_workers=1\n"
                                      "kdf_queue=2\nkdf_per_minute=1000\n"
                                      "[limits]\nfailures_per_minute=1000\n", FALSE);
  g_autofree char *user_id = register_user (busy, "burst", "correct horse");
  g_autoptr(GPtrArray) answers = ot_request_parallel (busy, 10, "POST", "/v1/wallet/sessions",
                                                      NULL, NULL,
                                                      "{\"login_id\":\"burst\","
                                                      "\"password\":\"wrong horse\"}");
  guint checked = 0, refused = 0;

  for (guint i = 0; i < answers->len; i++)
    {
      OtResponse *r = g_ptr_array_index (answers, i);

      if (r->status == 401)
        checked++;
      else
        {
          ot_assert_error (r, 503, "api_error", "busy");
          refused++;
        }
    }
  g_test_message ("10 sign-ins at once: %u checked, %u refused", checked, refused);
  g_assert_cmpuint (checked, <=, 3);
  g_assert_cmpuint (refused, >=, 7);
  ot_gateway_stop (busy);
}

#define FLOOD_BODY "{\"login_id\":\"flood\",\"password\":\"correct horse\"," \
                   "\"name\":\"Flood\",\"email\":\"flood@example.com\"}"

/* Counts the answers of @answers by status; asserts every refusal is @code. */
static guint
count_refused (GPtrArray  *answers,
               guint       status,
               const char *code,
               guint      *created)
{
  guint refused = 0;

  *created = 0;
  for (guint i = 0; i < answers->len; i++)
    {
      OtResponse *r = g_ptr_array_index (answers, i);

      if (r->status == 201)
        {
          (*created)++;
          continue;
        }
      ot_assert_error (r, status, "api_error", code);
      refused++;
    }
  return refused;
}

/* A request turned away as busy cost no hash, so it does not spend the
 * address's kdf_per_minute: after a flood that only one hash served, the
 * address still has the rest of its budget. */
static void
test_kdf_busy_not_counted (void)
{
  OtGateway *busy = ot_gateway_start ("[wallet]\nkdf_workers=1\nkdf_queue=0\n"
                                      "kdf_per_minute=3\npbkdf2_iterations=1000000\n", FALSE);
  g_autoptr(GPtrArray) answers = ot_request_parallel (busy, 6, "POST", "/v1/wallet/users", NULL,
                                                      NULL, FLOOD_BODY);
  g_autoptr(OtResponse) second = NULL;
  g_autoptr(OtResponse) third = NULL;
  g_autoptr(OtResponse) fourth = NULL;
  guint created;

  g_assert_cmpuint (count_refused (answers, 503, "busy", &created), >=, 4);
  g_assert_cmpuint (created, ==, 1);
  second = sign_in (busy, "flood", "correct horse");
  ot_assert_status (second, 201);
  third = sign_in (busy, "flood", "correct horse");
  ot_assert_status (third, 201);
  fourth = sign_in (busy, "flood", "correct horse");
  ot_assert_error (fourth, 429, "rate_limit_error", "rate_limited");
  ot_gateway_stop (busy);
}

typedef struct
{
  OtGateway *gateway;
  GPtrArray *answers;
} Flood;

static gpointer
flood_thread (gpointer data)
{
  Flood *flood = data;

  flood->answers = ot_request_parallel (flood->gateway, 6, "POST", "/v1/wallet/users", NULL,
                                        NULL, FLOOD_BODY);
  return NULL;
}

/* SIGTERM while hashes wait in line: the running one finishes and is
 * answered; those waiting get 503 at once instead of each holding the
 * shutdown for a hash (and the gateway exits cleanly, which
 * ot_gateway_terminate asserts). */
static void
test_kdf_queue_at_shutdown (void)
{
  Flood flood = { 0 };
  GThread *thread;
  guint created;

  flood.gateway = ot_gateway_start ("[wallet]\nkdf_workers=1\nkdf_queue=5\n"
                                    "kdf_per_minute=1000\npbkdf2_iterations=2000000\n", FALSE);
  thread = g_thread_new ("flood", flood_thread, &flood);
  g_usleep (200 * 1000);
  ot_gateway_terminate (flood.gateway, SIGTERM);
  g_thread_join (thread);
  g_assert_cmpuint (count_refused (flood.answers, 503, "unavailable", &created), ==, 5);
  g_assert_cmpuint (created, ==, 1);
  g_ptr_array_unref (flood.answers);
  ot_gateway_stop (flood.gateway);
}

static gboolean
user_stored (OtGateway  *gateway,
             const char *login_id)
{
  g_autofree char *path = g_build_filename (ot_gateway_data_dir (gateway), "onepin.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gboolean found;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT 1 FROM wallet_users WHERE login_id = ?", -1,
                                       &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, login_id, -1, SQLITE_STATIC);
  found = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return found;
}

/* A client that hung up while its password was hashed: its answer, which no
 * one will read, is counted out by "request-aborted" when its write fails,
 * and does not hold the stop (ot_gateway_terminate allows 15 s; the drain
 * would wait its 30). */
static void
test_abandoned_at_shutdown (void)
{
  OtGateway *slow = ot_gateway_start ("[wallet]\npbkdf2_iterations=2000000\n"
                                      "kdf_per_minute=1000\n", FALSE);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *request = g_strdup_printf ("POST /v1/wallet/users HTTP/1.1\r\n"
                                              "Host: 127.0.0.1\r\n"
                                              "Content-Type: application/json\r\n"
                                              "Content-Length: %zu\r\n\r\n%s",
                                              strlen (FLOOD_BODY), FLOOD_BODY);
  gint64 start;

  connection = g_socket_client_connect_to_uri (client, ot_gateway_url (slow), 80, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), request,
                             strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  g_usleep (100 * 1000);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  while (!user_stored (slow, "flood"))
    g_usleep (20 * 1000);

  start = g_get_monotonic_time ();
  ot_gateway_terminate (slow, SIGTERM);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  ot_gateway_stop (slow);
}

static void
test_password_change (void)
{
  g_autofree char *login_id = NULL;
  g_autofree char *first = new_user (&login_id);
  g_autofree char *second = login (gw, login_id, "correct horse");
  g_autoptr(OtResponse) wrong = NULL;
  g_autoptr(OtResponse) weak = NULL;
  g_autoptr(OtResponse) changed = NULL;
  g_autoptr(OtResponse) still = NULL;
  g_autoptr(OtResponse) revoked = NULL;
  g_autoptr(OtResponse) old = NULL;
  g_autofree char *third = NULL;

  wrong = wallet (gw, "POST", "/v1/wallet/me/password", first, NULL,
                  "{\"current_password\":\"wrong horse\",\"new_password\":\"new battery\"}");
  ot_assert_error (wrong, 400, "invalid_request_error", "password_incorrect");
  assert_param (wrong, "current_password");
  weak = wallet (gw, "POST", "/v1/wallet/me/password", first, NULL,
                 "{\"current_password\":\"correct horse\",\"new_password\":\"short\"}");
  ot_assert_error (weak, 400, "invalid_request_error", "parameter_invalid");
  assert_param (weak, "new_password");

  changed = wallet (gw, "POST", "/v1/wallet/me/password", first, NULL,
                    "{\"current_password\":\"correct horse\",\"new_password\":\"new battery\"}");
  ot_assert_status (changed, 200);
  assert_absent (changed, "password", "new battery");

  /* The session that changed it stays; the other one is revoked. */
  still = wallet (gw, "GET", "/v1/wallet/me", first, NULL, NULL);
  ot_assert_status (still, 200);
  revoked = wallet (gw, "GET", "/v1/wallet/me", second, NULL, NULL);
  ot_assert_error (revoked, 401, "authentication_error", "unauthorized");
  old = sign_in (gw, login_id, "correct horse");
  ot_assert_error (old, 401, "authentication_error", "invalid_login");
  third = login (gw, login_id, "new battery");
}

#define PASSWORD_PATH "/v1/wallet/me/password"
#define TO_BATTERY "{\"current_password\":\"correct horse\",\"new_password\":\"new battery\"}"
#define TO_CELL "{\"current_password\":\"new battery\",\"new_password\":\"new cell\"}"
#define GUESS "{\"current_password\":\"wrong horse\",\"new_password\":\"new cell\"}"

/* @r is the stored answer of @first, replayed. */
static void
assert_replay_of (OtResponse *r,
                  OtResponse *first)
{
  ot_assert_status (r, first->status);
  g_assert_cmpstr (ot_response_header (r, "Idempotent-Replayed"), ==, "true");
  g_assert_cmpstr (r->body, ==, first->body);
}

/* A password change whose answer was lost: the client cannot tell which
 * password is good, and the same body again would send the old one as
 * current_password, a wrong password once the change went through. With the
 * same Idempotency-Key it gets the first outcome back instead, before any
 * attempt is counted: five such retries do not lock the login, nor does a
 * wrong password's refusal count again. The key is one request's: other
 * parameters get 422 (and count as a wrong password), and it runs once at
 * a time. */
static void
test_password_change_replay (void)
{
  g_autofree char *login_id = NULL;
  g_autofree char *token = new_user (&login_id);
  g_autoptr(OtResponse) changed = wallet (gw, "POST", PASSWORD_PATH, token, "change-1",
                                          TO_BATTERY);
  g_autoptr(OtResponse) reused = NULL;
  g_autoptr(OtResponse) refused = NULL;
  g_autoptr(GPtrArray) together = NULL;
  guint fresh = 0;
  guint waited = 0;

  ot_assert_status (changed, 200);
  g_assert_null (ot_response_header (changed, "Idempotent-Replayed"));
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(OtResponse) again = wallet (gw, "POST", PASSWORD_PATH, token, "change-1",
                                            TO_BATTERY);

      assert_replay_of (again, changed);
    }
  g_free (login (gw, login_id, "new battery"));

  reused = wallet (gw, "POST", PASSWORD_PATH, token, "change-1", TO_CELL);
  ot_assert_error (reused, 422, "idempotency_error", "idempotency_key_reused");

  /* a wrong password, counted once: four more would lock the login */
  refused = wallet (gw, "POST", PASSWORD_PATH, token, "change-2", GUESS);
  ot_assert_error (refused, 400, "invalid_request_error", "password_incorrect");
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(OtResponse) again = wallet (gw, "POST", PASSWORD_PATH, token, "change-2", GUESS);

      assert_replay_of (again, refused);
    }
  g_free (login (gw, login_id, "new battery"));

  /* sent together: one runs, the others wait for it (409) or replay it */
  together = ot_request_parallel (gw, 4, "POST", PASSWORD_PATH, token, "change-3", TO_CELL);
  for (guint i = 0; i < together->len; i++)
    {
      OtResponse *r = g_ptr_array_index (together, i);

      if (r->status == 409)
        ot_assert_error (r, 409, "idempotency_error", "idempotency_in_flight");
      else
        ot_assert_status (r, 200);
      fresh += r->status == 200 && ot_response_header (r, "Idempotent-Replayed") == NULL;
      waited += r->status == 409;
    }
  g_test_message ("four at once: %u answered 409, %u replayed", waited,
                  together->len - 1 - waited);
  g_assert_cmpuint (fresh, ==, 1);
  g_free (login (gw, login_id, "new cell"));

  /* the login locked meanwhile: a retry waits for the lock to pass too,
   * or its answer would tell the right pair from a guess's 422
   * (/wallet/sessions/password-change-replay-guesses) */
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(OtResponse) r = wallet (gw, "POST", PASSWORD_PATH, token, NULL, GUESS);

      ot_assert_error (r, 400, "invalid_request_error", "password_incorrect");
    }
  {
    g_autoptr(OtResponse) locked = wallet (gw, "POST", PASSWORD_PATH, token, "change-4", TO_CELL);
    g_autoptr(OtResponse) again = wallet (gw, "POST", PASSWORD_PATH, token, "change-1",
                                          TO_BATTERY);

    ot_assert_error (locked, 429, "rate_limit_error", "login_locked");
    ot_assert_error (again, 429, "rate_limit_error", "login_locked");
  }
}

/* Other parameters under a change's key carry a guess at the current
 * password that is never checked: each is the 422 of a key reused, and
 * also a failure counted towards the login's lock, so five lock it. Once it
 * is locked, the change's replay is refused too, or its 200 would still
 * tell the pair from a guess's 422. */
static void
test_password_change_replay_guesses (void)
{
  g_autofree char *login_id = NULL;
  g_autofree char *token = new_user (&login_id);
  g_autoptr(OtResponse) changed = wallet (gw, "POST", PASSWORD_PATH, token, "guessed",
                                          TO_BATTERY);
  g_autoptr(OtResponse) signed_in = NULL;
  g_autoptr(OtResponse) replay_locked = NULL;
  g_autoptr(OtResponse) guess_locked = NULL;

  ot_assert_status (changed, 200);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"current_password\":\"correct horse\","
                                               "\"new_password\":\"new guess %u\"}", i);
      g_autoptr(OtResponse) guess = wallet (gw, "POST", PASSWORD_PATH, token, "guessed", body);

      ot_assert_error (guess, 422, "idempotency_error", "idempotency_key_reused");
    }
  signed_in = sign_in (gw, login_id, "new battery");
  ot_assert_error (signed_in, 429, "rate_limit_error", "login_locked");
  replay_locked = wallet (gw, "POST", PASSWORD_PATH, token, "guessed", TO_BATTERY);
  ot_assert_error (replay_locked, 429, "rate_limit_error", "login_locked");
  guess_locked = wallet (gw, "POST", PASSWORD_PATH, token, "guessed", GUESS);
  ot_assert_error (guess_locked, 429, "rate_limit_error", "login_locked");
}

/* Profile */

static void
test_profile (void)
{
  g_autofree char *token = new_user (NULL);
  g_autoptr(OtResponse) sms = NULL;
  g_autoptr(OtResponse) no_phone = NULL;
  g_autoptr(OtResponse) drop = NULL;
  g_autoptr(OtResponse) bad = NULL;
  g_autoptr(OtResponse) me = NULL;
  JsonObject *o;

  sms = wallet (gw, "POST", "/v1/wallet/me", token, NULL,
                "{\"name\":\"Lee Min\",\"email\":\"min@example.org\",\"phone\":\"010-9999-0000\","
                "\"receipt_channel\":\"sms\",\"locale\":\"en\"}");
  ot_assert_status (sms, 200);
  o = ot_response_object (sms);
  g_assert_cmpstr (ot_json_string (o, "name"), ==, "Lee Min");
  g_assert_cmpstr (ot_json_string (o, "email"), ==, "min@example.org");
  g_assert_cmpstr (ot_json_string (o, "phone"), ==, "010-9999-0000");
  g_assert_cmpstr (ot_json_string (o, "receipt_channel"), ==, "sms");
  g_assert_cmpstr (ot_json_string (o, "locale"), ==, "en");

  /* SMS receipts need a phone number. */
  no_phone = wallet (gw, "POST", "/v1/wallet/me", token, NULL, "{\"phone\":\"\"}");
  ot_assert_error (no_phone, 400, "invalid_request_error", "parameter_invalid");
  assert_param (no_phone, "receipt_channel");
  drop = wallet (gw, "POST", "/v1/wallet/me", token, NULL,
                 "{\"phone\":\"\",\"receipt_channel\":\"none\"}");
  ot_assert_status (drop, 200);
  g_assert_true (json_object_get_null_member (ot_response_object (drop), "phone"));
  bad = wallet (gw, "POST", "/v1/wallet/me", token, NULL, "{\"email\":\"not an address\"}");
  ot_assert_error (bad, 400, "invalid_request_error", "parameter_invalid");

  me = wallet (gw, "GET", "/v1/wallet/me", token, NULL, NULL);
  ot_assert_status (me, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (me), "receipt_channel"), ==, "none");
  g_assert_cmpstr (ot_json_string (ot_response_object (me), "name"), ==, "Lee Min");
}

/* The representative card */

static void
assert_in_bin_range (const char *number)
{
  g_autofree char *prefix = g_strndup (number, 6);
  guint64 bin = g_ascii_strtoull (prefix, NULL, 10);

  g_assert_cmpuint (strlen (number), ==, 16);
  g_assert_true (ot_luhn_valid (number));
  g_assert_cmpuint (bin, >=, 942000);
  g_assert_cmpuint (bin, <=, 942999);
}

static void
test_apply_card (void)
{
  g_autofree char *login_id = NULL;
  g_autofree char *token = new_user (&login_id);
  g_autofree char *other = new_user (NULL);
  g_autofree char *later = NULL;
  g_autoptr(OtResponse) first = NULL;
  g_autoptr(OtResponse) replay = NULL;
  g_autoptr(OtResponse) replay_later = NULL;
  g_autoptr(OtResponse) wrong_password = NULL;
  g_autoptr(OtResponse) second = NULL;
  g_autoptr(OtResponse) theirs = NULL;
  g_autoptr(OtResponse) get = NULL;
  g_autoptr(OtResponse) me = NULL;
  g_autoptr(OtResponse) short_password = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  const char *number, *cvc;
  JsonObject *card, *shown;

  short_password = wallet (gw, "POST", "/v1/wallet/card", token, NULL, "{\"password\":\"123\"}");
  ot_assert_error (short_password, 400, "invalid_request_error", "parameter_invalid");

  first = wallet (gw, "POST", "/v1/wallet/card", token, "apply-1", "{\"password\":\"2580\"}");
  ot_assert_status (first, 201);
  card = ot_response_object (first);
  number = ot_json_string (card, "number");
  cvc = ot_json_string (card, "cvc");
  assert_in_bin_range (number);
  g_assert_cmpuint (strlen (cvc), ==, 3);
  g_assert_cmpuint (strspn (cvc, "0123456789"), ==, 3);
  g_assert_cmpstr (ot_json_string (card, "card_last4"), ==, number + 12);
  g_assert_cmpstr (ot_json_string (card, "state"), ==, "active");
  g_assert_cmpint (ot_json_int (card, "balance"), ==, 0);
  g_assert_cmpint (ot_json_int (card, "exp_year"), ==,
                   g_date_time_get_year (now) + 5);
  g_assert_cmpint (ot_json_int (card, "exp_month"), ==, g_date_time_get_month (now));

  /* A replay with the same key shows the same card; it is sealed in the
   * idempotency record. Without a key, a second card is refused. */
  replay = wallet (gw, "POST", "/v1/wallet/card", token, "apply-1", "{\"password\":\"2580\"}");
  ot_assert_status (replay, 201);
  g_assert_cmpstr (replay->body, ==, first->body);
  g_assert_cmpstr (ot_response_header (replay, "Idempotent-Replayed"), ==, "true");
  second = wallet (gw, "POST", "/v1/wallet/card", token, NULL, "{\"password\":\"2580\"}");
  ot_assert_error (second, 409, "invalid_request_error", "card_already_issued");

  /* What the desktop wallet's unfinished application relies on: the key is
   * the user's, not the session's (a later session replays it), and the
   * card password is the body, so another one is refused, showing nothing. */
  later = login (gw, login_id, "correct horse");
  replay_later = wallet (gw, "POST", "/v1/wallet/card", later, "apply-1", "{\"password\":\"2580\"}");
  ot_assert_status (replay_later, 201);
  g_assert_cmpstr (replay_later->body, ==, first->body);
  wrong_password = wallet (gw, "POST", "/v1/wallet/card", later, "apply-1",
                           "{\"password\":\"2581\"}");
  ot_assert_error (wrong_password, 422, "idempotency_error", "idempotency_key_reused");
  assert_absent (wrong_password, "card number", number);

  /* Keys are per user: another user's "apply-1" is their own. */
  theirs = wallet (gw, "POST", "/v1/wallet/card", other, "apply-1", "{\"password\":\"2580\"}");
  ot_assert_status (theirs, 201);
  g_assert_cmpstr (ot_json_string (ot_response_object (theirs), "number"), !=, number);

  /* Afterwards the card shows masked, never with its number or CVC. */
  get = wallet (gw, "GET", "/v1/wallet/card", token, NULL, NULL);
  ot_assert_status (get, 200);
  shown = ot_response_object (get);
  assert_absent (get, "card number", number);
  g_assert_false (json_object_has_member (shown, "cvc"));
  g_assert_false (json_object_has_member (shown, "number"));
  g_assert_cmpstr (ot_json_string (shown, "id"), ==, ot_json_string (card, "id"));
  g_assert_true (g_str_has_suffix (ot_json_string (shown, "masked_number"), number + 12));
  g_assert_cmpint (ot_json_int (shown, "held"), ==, 0);
  g_assert_cmpint (ot_json_int (shown, "points"), ==, 0);
  me = wallet (gw, "GET", "/v1/wallet/me", token, NULL, NULL);
  g_assert_cmpstr (ot_json_string (ot_response_object (me), "card"), ==,
                   ot_json_string (card, "id"));
}

static void
test_card_is_a_onepin_card (void)
{
  g_autofree char *token = new_user (NULL);
  g_autoptr(JsonObject) card = apply_card (token, "2580");
  const char *number = ot_json_string (card, "number");
  g_autofree char *sk = NULL;
  g_autofree char *merchant = ot_create_merchant (gw, "Card Mall", &sk);
  g_autoptr(JsonObject) balance = NULL;
  g_autofree char *wrong = g_strdup_printf ("{\"card_number\":\"%s\",\"password\":\"0000\","
                                            "\"amount\":1000,\"currency\":\"krw\","
                                            "\"order_id\":\"o-1\",\"capture\":true}", number);
  g_autofree char *empty = g_strdup_printf ("{\"card_number\":\"%s\",\"password\":\"2580\","
                                            "\"amount\":1000,\"currency\":\"krw\","
                                            "\"order_id\":\"o-2\",\"capture\":true}", number);
  g_autoptr(OtResponse) declined = NULL;
  g_autoptr(OtResponse) poor = NULL;

  /* The card-holder API knows it by number and password... */
  balance = ot_card_balance (gw, number, "2580");
  g_assert_cmpstr (ot_json_string (balance, "card_id"), ==, ot_json_string (card, "id"));
  g_assert_cmpstr (ot_json_string (balance, "state"), ==, "active");
  g_assert_cmpint (ot_json_int (balance, "balance"), ==, 0);

  /* ...and so does a merchant: wrong password, then too little money. */
  declined = ot_request (gw, "POST", "/v1/payments", sk, NULL, wrong);
  ot_assert_error (declined, 402, "card_error", "invalid_credentials");
  poor = ot_request (gw, "POST", "/v1/payments", sk, NULL, empty);
  ot_assert_error (poor, 402, "card_error", "insufficient_funds");
}

static OtResponse *
card_call (const char *path,
           const char *number,
           const char *password,
           const char *new_password)
{
  g_autofree char *body = NULL;

  if (new_password != NULL)
    body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\",\"new_password\":\"%s\"}",
                            number, password, new_password);
  else
    body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\"}", number, password);
  return ot_request (gw, "POST", path, NULL, NULL, body);
}

static OtResponse *
change_card_password (const char *token,
                      const char *current,
                      const char *new_password)
{
  g_autofree char *body = g_strdup_printf ("{\"current_password\":\"%s\","
                                           "\"new_password\":\"%s\"}", current, new_password);

  return wallet (gw, "POST", "/v1/wallet/card/password", token, NULL, body);
}

/* A replay of the application carries the card's password: another one is
 * the 422 of a key reused, and also a wrong password, counted towards the
 * card's lockout as on any route; so five lock the card. Once it is locked,
 * the replay is refused too, or its 201 would still tell the password from
 * a guess's 422. */
static void
test_apply_card_replay_guesses (void)
{
  g_autofree char *token = new_user (NULL);
  g_autoptr(OtResponse) first = NULL;
  g_autoptr(OtResponse) locked = NULL;
  g_autoptr(OtResponse) replay_locked = NULL;
  g_autoptr(OtResponse) guess_locked = NULL;
  const char *number;

  first = wallet (gw, "POST", "/v1/wallet/card", token, "apply-guess", "{\"password\":\"2580\"}");
  ot_assert_status (first, 201);
  number = ot_json_string (ot_response_object (first), "number");
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"password\":\"000%u\"}", i);
      g_autoptr(OtResponse) guess = wallet (gw, "POST", "/v1/wallet/card", token, "apply-guess",
                                            body);

      ot_assert_error (guess, 422, "idempotency_error", "idempotency_key_reused");
    }
  locked = card_call ("/v1/cards/balance", number, "2580", NULL);
  ot_assert_error (locked, 402, "card_error", "card_locked");
  replay_locked = wallet (gw, "POST", "/v1/wallet/card", token, "apply-guess",
                          "{\"password\":\"2580\"}");
  ot_assert_error (replay_locked, 402, "card_error", "card_locked");
  assert_absent (replay_locked, "card number", number);
  guess_locked = wallet (gw, "POST", "/v1/wallet/card", token, "apply-guess",
                         "{\"password\":\"1234\"}");
  ot_assert_error (guess_locked, 402, "card_error", "card_locked");
}

/* Every mall the card paid at saw its number and password: those do not
 * change its password. Its owner does, with the login's password, and
 * the new one also undoes a lock that guesses at the old one left. A
 * gateway of its own (the helpers' gw for the test's length), so its
 * wrong card passwords do not count against the others' address. */
static void
test_card_password (void)
{
  OtGateway *shared = gw;
  g_autofree char *login_id = NULL;
  g_autofree char *token = NULL;
  g_autoptr(OtResponse) not_issued = NULL;
  g_autoptr(JsonObject) card = NULL;
  g_autoptr(OtResponse) guess = NULL;
  g_autoptr(OtResponse) by_number = NULL;
  g_autoptr(OtResponse) replay = NULL;
  g_autoptr(OtResponse) still = NULL;
  g_autoptr(OtResponse) locked = NULL;
  g_autoptr(OtResponse) anonymous = NULL;
  g_autoptr(OtResponse) short_one = NULL;
  g_autoptr(OtResponse) wrong = NULL;
  g_autoptr(OtResponse) changed = NULL;
  g_autoptr(OtResponse) old = NULL;
  g_autoptr(OtResponse) login_locked = NULL;
  g_autoptr(OtResponse) change_locked = NULL;
  g_autoptr(OtResponse) refused = NULL;
  g_autofree char *key_body = NULL;
  const char *number;

  gw = ot_gateway_start (FAST_CONFIG, FALSE);
  token = new_user (&login_id);
  not_issued = change_card_password (token, "correct horse", "7913");
  ot_assert_error (not_issued, 409, "invalid_request_error", "card_not_issued");
  card = apply_card (token, "2580");
  number = ot_json_string (card, "number");

  /* The password is checked first: without it the 409 would tell whose
   * card a number is. */
  guess = card_call ("/v1/cards/password", number, "9999", "1111");
  ot_assert_error (guess, 402, "card_error", "invalid_credentials");
  key_body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"2580\","
                              "\"new_password\":\"1111\"}", number);
  by_number = ot_request (gw, "POST", "/v1/cards/password", NULL, "wallet-card-pw", key_body);
  ot_assert_error (by_number, 409, "invalid_request_error", "card_managed_by_wallet");
  replay = ot_request (gw, "POST", "/v1/cards/password", NULL, "wallet-card-pw", key_body);
  ot_assert_error (replay, 409, "invalid_request_error", "card_managed_by_wallet");
  g_assert_cmpstr (ot_response_header (replay, "Idempotent-Replayed"), ==, "true");
  still = card_call ("/v1/cards/balance", number, "2580", NULL);
  ot_assert_status (still, 200);
  refused = card_call ("/v1/cards/balance", number, "1111", NULL);
  ot_assert_error (refused, 402, "card_error", "invalid_credentials");

  /* Someone guesses at it until it locks: the right password above
   * started the count over, and "1111" was the first of five. */
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(OtResponse) r = card_call ("/v1/cards/balance", number, "0000", NULL);

      ot_assert_error (r, 402, "card_error", "invalid_credentials");
    }
  locked = card_call ("/v1/cards/balance", number, "2580", NULL);
  ot_assert_error (locked, 402, "card_error", "card_locked");

  anonymous = wallet (gw, "POST", "/v1/wallet/card/password", NULL, NULL,
                      "{\"current_password\":\"correct horse\",\"new_password\":\"7913\"}");
  ot_assert_error (anonymous, 401, "authentication_error", "unauthorized");
  short_one = change_card_password (token, "correct horse", "791");
  ot_assert_error (short_one, 400, "invalid_request_error", "parameter_invalid");
  assert_param (short_one, "new_password");
  wrong = change_card_password (token, "wrong horse", "5555");
  ot_assert_error (wrong, 400, "invalid_request_error", "password_incorrect");
  assert_param (wrong, "current_password");

  changed = change_card_password (token, "correct horse", "7913");
  ot_assert_status (changed, 200);
  assert_absent (changed, "password", "7913");
  assert_absent (changed, "card number", number);
  g_assert_cmpstr (ot_json_string (ot_response_object (changed), "id"), ==,
                   ot_json_string (card, "id"));
  g_assert_cmpstr (ot_json_string (ot_response_object (changed), "state"), ==, "active");
  ot_assert_card_balance (gw, number, "7913", 0, 0);
  old = card_call ("/v1/cards/balance", number, "2580", NULL);
  ot_assert_error (old, 402, "card_error", "invalid_credentials");

  /* Wrong login passwords count towards the login's lockout (the right
   * one above started the count over). */
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(OtResponse) r = change_card_password (token, "wrong horse", "4444");

      ot_assert_error (r, 400, "invalid_request_error", "password_incorrect");
    }
  login_locked = sign_in (gw, login_id, "correct horse");
  ot_assert_error (login_locked, 429, "rate_limit_error", "login_locked");
  change_locked = change_card_password (token, "correct horse", "6666");
  ot_assert_error (change_locked, 429, "rate_limit_error", "login_locked");

  /* None of the refused changes set its password. */
  for (guint i = 0; i < 3; i++)
    {
      const char *refused_passwords[] = { "5555", "4444", "6666" };
      g_autoptr(OtResponse) r = card_call ("/v1/cards/balance", number, refused_passwords[i],
                                           NULL);

      ot_assert_error (r, 402, "card_error", "invalid_credentials");
    }
  ot_assert_card_balance (gw, number, "7913", 0, 0);
  ot_gateway_stop (gw);
  gw = shared;
}

#define CARD_PASSWORD_PATH "/v1/wallet/card/password"
#define CARD_TO_7913 "{\"current_password\":\"correct horse\",\"new_password\":\"7913\"}"

/* A change of the card's password whose answer was lost, sent again under
 * its Idempotency-Key: the first outcome comes back and nothing runs twice
 * (a change made since stays). As for the login's password
 * (/wallet/sessions/password-change-replay-guesses), other parameters under
 * the key carry an unchecked current_password: each is the 422 of a key
 * reused and a failure counted towards the login's lock, and once it is
 * locked the replay waits for the lock too. */
static void
test_card_password_replay (void)
{
  OtGateway *shared = gw;
  g_autofree char *login_id = NULL;
  g_autofree char *token = NULL;
  g_autoptr(JsonObject) card = NULL;
  g_autoptr(OtResponse) changed = NULL;
  g_autoptr(OtResponse) since = NULL;
  g_autoptr(OtResponse) old = NULL;
  g_autoptr(OtResponse) signed_in = NULL;
  g_autoptr(OtResponse) replay_locked = NULL;
  const char *number;

  /* its own gateway: the wrong card password below counts against the address */
  gw = ot_gateway_start (FAST_CONFIG, FALSE);
  token = new_user (&login_id);
  card = apply_card (token, "2580");
  number = ot_json_string (card, "number");

  changed = wallet (gw, "POST", CARD_PASSWORD_PATH, token, "card-pw", CARD_TO_7913);
  ot_assert_status (changed, 200);
  g_assert_null (ot_response_header (changed, "Idempotent-Replayed"));
  since = wallet (gw, "POST", CARD_PASSWORD_PATH, token, "card-pw-since",
                  "{\"current_password\":\"correct horse\",\"new_password\":\"8024\"}");
  ot_assert_status (since, 200);
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(OtResponse) again = wallet (gw, "POST", CARD_PASSWORD_PATH, token, "card-pw",
                                            CARD_TO_7913);

      assert_replay_of (again, changed);
    }
  ot_assert_card_balance (gw, number, "8024", 0, 0);
  old = card_call ("/v1/cards/balance", number, "7913", NULL);
  ot_assert_error (old, 402, "card_error", "invalid_credentials");

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"current_password\":\"correct horse\","
                                               "\"new_password\":\"555%u\"}", i);
      g_autoptr(OtResponse) guess = wallet (gw, "POST", CARD_PASSWORD_PATH, token, "card-pw",
                                            body);

      ot_assert_error (guess, 422, "idempotency_error", "idempotency_key_reused");
    }
  signed_in = sign_in (gw, login_id, "correct horse");
  ot_assert_error (signed_in, 429, "rate_limit_error", "login_locked");
  replay_locked = wallet (gw, "POST", CARD_PASSWORD_PATH, token, "card-pw", CARD_TO_7913);
  ot_assert_error (replay_locked, 429, "rate_limit_error", "login_locked");
  ot_assert_card_balance (gw, number, "8024", 0, 0);
  ot_gateway_stop (gw);
  gw = shared;
}

static void
test_no_card_yet (void)
{
  g_autofree char *token = new_user (NULL);
  g_autoptr(OtResponse) missing = wallet (gw, "GET", "/v1/wallet/card", token, NULL, NULL);

  ot_assert_error (missing, 404, "invalid_request_error", "resource_missing");
}

/* Funding sources */

static void
test_funding_sources (void)
{
  g_autofree char *token = new_user (NULL);
  g_autoptr(OtResponse) card = NULL;
  g_autoptr(OtResponse) bank = NULL;
  g_autoptr(OtResponse) again = NULL;
  g_autoptr(OtResponse) list = NULL;
  g_autoptr(OtResponse) removed = NULL;
  g_autoptr(OtResponse) twice = NULL;
  g_autoptr(OtResponse) after = NULL;
  g_autofree char *number = ot_random_card_number ("4");
  g_autofree char *body = g_strdup_printf ("{\"type\":\"credit_card\",\"credit_card\":"
                                           "{\"number\":\"%s\",\"expiry\":\"12/39\","
                                           "\"holder\":\"KIM FUNDER\"}}", number);
  g_autofree char *card_id = NULL;
  g_autofree char *path = NULL;
  JsonObject *o;
  JsonArray *data;

  card = wallet (gw, "POST", "/v1/wallet/funding-sources", token, "fs-1", body);
  ot_assert_status (card, 201);
  o = ot_response_object (card);
  card_id = g_strdup (ot_json_string (o, "id"));
  g_assert_true (g_str_has_prefix (card_id, "fs_"));
  g_assert_cmpstr (ot_json_string (o, "type"), ==, "credit_card");
  g_assert_cmpstr (ot_json_string (ot_json_object (o, "credit_card"), "last4"), ==, number + 12);
  g_assert_cmpint (ot_json_int (ot_json_object (o, "credit_card"), "exp_month"), ==, 12);
  g_assert_cmpint (ot_json_int (ot_json_object (o, "credit_card"), "exp_year"), ==, 2039);
  assert_absent (card, "funding card number", number);
  assert_absent (card, "card holder", "KIM FUNDER");

  bank = wallet (gw, "POST", "/v1/wallet/funding-sources", token, NULL,
                 "{\"type\":\"bank_account\",\"bank_account\":{\"bank_code\":\"004\","
                 "\"account_number\":\"110-482-937561\",\"holder\":\"Kim Funder\"}}");
  ot_assert_status (bank, 201);
  o = ot_json_object (ot_response_object (bank), "bank_account");
  g_assert_cmpstr (ot_json_string (o, "bank_code"), ==, "004");
  g_assert_cmpstr (ot_json_string (o, "last4"), ==, "7561");
  assert_absent (bank, "account number", "110482937561");
  assert_absent (bank, "account number", "110-482-937561");

  again = wallet (gw, "POST", "/v1/wallet/funding-sources", token, NULL, body);
  ot_assert_error (again, 409, "invalid_request_error", "funding_source_exists");

  list = wallet (gw, "GET", "/v1/wallet/funding-sources", token, NULL, NULL);
  ot_assert_status (list, 200);
  data = ot_json_array (ot_response_object (list), "data");
  g_assert_cmpuint (json_array_get_length (data), ==, 2);
  assert_absent (list, "funding card number", number);
  assert_absent (list, "account number", "110482937561");

  path = g_strconcat ("/v1/wallet/funding-sources/", card_id, NULL);
  removed = wallet (gw, "DELETE", path, token, NULL, NULL);
  ot_assert_status (removed, 200);
  g_assert_true (ot_json_bool (ot_response_object (removed), "deleted"));
  twice = wallet (gw, "DELETE", path, token, NULL, NULL);
  ot_assert_error (twice, 404, "invalid_request_error", "resource_missing");
  after = wallet (gw, "GET", "/v1/wallet/funding-sources", token, NULL, NULL);
  g_assert_cmpuint (json_array_get_length (ot_json_array (ot_response_object (after), "data")),
                    ==, 1);
}

static void
test_funding_refusals (void)
{
  g_autofree char *token = new_user (NULL);
  g_autofree char *other = new_user (NULL);
  g_autofree char *onepin = ot_random_card_number ("9410");
  g_autofree char *wallet_bin = ot_random_card_number ("942500");
  g_autofree char *bad_luhn = g_strdup ("4111111111111112");
  g_autofree char *good = ot_random_card_number ("5");
  const struct
  {
    char       *body;
    const char *param;
    const char *code;
  } cases[] = {
    { g_strdup_printf ("{\"type\":\"credit_card\",\"credit_card\":{\"number\":\"%s\","
                       "\"expiry\":\"12/39\",\"holder\":\"A\"}}", onepin),
      "credit_card.number", "onepin_card_not_allowed" },
    { g_strdup_printf ("{\"type\":\"credit_card\",\"credit_card\":{\"number\":\"%s\","
                       "\"expiry\":\"12/39\",\"holder\":\"A\"}}", wallet_bin),
      "credit_card.number", "onepin_card_not_allowed" },
    { g_strdup_printf ("{\"type\":\"credit_card\",\"credit_card\":{\"number\":\"%s\","
                       "\"expiry\":\"12/39\",\"holder\":\"A\"}}", bad_luhn),
      "credit_card.number", "parameter_invalid" },
    { g_strdup_printf ("{\"type\":\"credit_card\",\"credit_card\":{\"number\":\"%s\","
                       "\"expiry\":\"01/20\",\"holder\":\"A\"}}", good),
      "credit_card.expiry", "parameter_invalid" },
    { g_strdup_printf ("{\"type\":\"credit_card\",\"credit_card\":{\"number\":\"%s\","
                       "\"expiry\":\"13/39\",\"holder\":\"A\"}}", good),
      "credit_card.expiry", "parameter_invalid" },
    { g_strdup_printf ("{\"type\":\"credit_card\",\"credit_card\":{\"number\":\"%s\","
                       "\"expiry\":\"12/39\"}}", good),
      "credit_card.holder", "parameter_missing" },
    { g_strdup_printf ("{\"type\":\"credit_card\",\"credit_card\":{\"number\":\"%s\","
                       "\"expiry\":\"12/39\",\"holder\":\"A\",\"cvc\":\"123\"}}", good),
      "credit_card", "parameter_unknown" },
    { g_strdup ("{\"type\":\"credit_card\"}"), "credit_card", "parameter_missing" },
    { g_strdup ("{\"type\":\"paypal\"}"), "type", "parameter_invalid" },
    { g_strdup ("{\"type\":\"bank_account\",\"bank_account\":{\"bank_code\":\"4\","
                "\"account_number\":\"1234567\",\"holder\":\"A\"}}"),
      "bank_account.bank_code", "parameter_invalid" },
    { g_strdup ("{\"type\":\"bank_account\",\"bank_account\":{\"bank_code\":\"004\","
                "\"account_number\":\"12x4567\",\"holder\":\"A\"}}"),
      "bank_account.account_number", "parameter_invalid" },
  };
  g_autoptr(OtResponse) stranger = NULL;
  g_autoptr(OtResponse) mine = NULL;
  g_autofree char *path = NULL;
  g_autofree char *body = g_strdup_printf ("{\"type\":\"credit_card\",\"credit_card\":"
                                           "{\"number\":\"%s\",\"expiry\":\"12/39\","
                                           "\"holder\":\"A\"}}", good);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(OtResponse) r = wallet (gw, "POST", "/v1/wallet/funding-sources", token, NULL,
                                        cases[i].body);

      ot_assert_error (r, 400, "invalid_request_error", cases[i].code);
      assert_param (r, cases[i].param);
      g_free (cases[i].body);
    }

  /* Another user's source is not found, and cannot be removed. */
  mine = wallet (gw, "POST", "/v1/wallet/funding-sources", token, NULL, body);
  ot_assert_status (mine, 201);
  path = g_strconcat ("/v1/wallet/funding-sources/",
                      ot_json_string (ot_response_object (mine), "id"), NULL);
  stranger = wallet (gw, "DELETE", path, other, NULL, NULL);
  ot_assert_error (stranger, 404, "invalid_request_error", "resource_missing");
}

static OtResponse *
add_bank_account (OtGateway  *gateway,
                  const char *token,
                  const char *bank_code,
                  const char *number)
{
  g_autofree char *body = g_strdup_printf ("{\"type\":\"bank_account\",\"bank_account\":"
                                           "{\"bank_code\":\"%s\",\"account_number\":\"%s\","
                                           "\"holder\":\"Kim Funder\"}}", bank_code, number);

  return wallet (gateway, "POST", "/v1/wallet/funding-sources", token, NULL, body);
}

/* An account number is a bank's own: the same digits at two banks are two
 * accounts, and both register. At the same bank, written either way, it
 * is the same account. */
static void
test_funding_two_banks (void)
{
  g_autofree char *token = new_user (NULL);
  g_autoptr(OtResponse) first = add_bank_account (gw, token, "004", "110-482-937561");
  g_autoptr(OtResponse) other_bank = add_bank_account (gw, token, "088", "110482937561");
  g_autoptr(OtResponse) again = add_bank_account (gw, token, "004", "110482937561");
  g_autoptr(OtResponse) again_other = add_bank_account (gw, token, "088", "110-482-937561");
  g_autoptr(OtResponse) list = NULL;
  JsonArray *data;

  ot_assert_status (first, 201);
  ot_assert_status (other_bank, 201);
  ot_assert_error (again, 409, "invalid_request_error", "funding_source_exists");
  ot_assert_error (again_other, 409, "invalid_request_error", "funding_source_exists");

  list = wallet (gw, "GET", "/v1/wallet/funding-sources", token, NULL, NULL);
  ot_assert_status (list, 200);
  data = ot_json_array (ot_response_object (list), "data");
  g_assert_cmpuint (json_array_get_length (data), ==, 2);
}

/* A funding source's fingerprint as the gateway kept it, by id. */
static GBytes *
stored_fingerprint (sqlite3    *db,
                    const char *id)
{
  sqlite3_stmt *stmt = NULL;
  GBytes *fingerprint;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT fingerprint FROM wallet_funding_sources"
                                       " WHERE id = ?", -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  fingerprint = g_bytes_new (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0));
  sqlite3_finalize (stmt);
  return fingerprint;
}

static void
set_fingerprint (sqlite3    *db,
                 const char *id,
                 GBytes     *fingerprint)
{
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "UPDATE wallet_funding_sources SET fingerprint = ?"
                                       " WHERE id = ?", -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_blob (stmt, 1, g_bytes_get_data (fingerprint, NULL),
                     (int) g_bytes_get_size (fingerprint), SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  g_assert_cmpint (sqlite3_changes (db), ==, 1);
  sqlite3_finalize (stmt);
}

/* What a gateway from before migration 022 kept for a bank account: the
 * keyed hash of the type and the number, without the bank code. */
static GBytes *
fingerprint_before_022 (OtGateway  *gateway,
                        const char *number)
{
  g_autofree char *key_path = g_build_filename (ot_gateway_data_dir (gateway), "secret.key",
                                                NULL);
  g_autofree char *input = g_strconcat ("funding\nbank_account\n", number, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GwKeys) keys = gw_keys_load (key_path, &error);
  guint8 out[32];

  g_assert_no_error (error);
  g_assert_true (onepin_key_hmac (keys->lookup, input, strlen (input), out));
  return g_bytes_new (out, sizeof out);
}

/* Opens the stopped gateway's database, runs @sql, and leaves it open. */
static sqlite3 *
open_database (OtGateway  *gateway,
               const char *sql)
{
  g_autofree char *path = g_build_filename (ot_gateway_data_dir (gateway), "onepin.db", NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  return db;
}

/* Sources registered before 022 keep their fingerprints of the number
 * alone until the gateway starts with 022: it rehashes the live bank
 * accounts (opening their sealed details) in the migration's transaction,
 * so the same account is still refused and the same number at another bank
 * is not. Cards keep theirs; a removed account, whose details are gone,
 * keeps its old one, and so does one whose details do not open (the log
 * names it, not its number), without stopping the start. Run again (its
 * stamp removed), 022 changes nothing. */
static void
test_funding_fingerprints_before_022 (void)
{
  OtGateway *g2 = ot_gateway_start (FAST_CONFIG, FALSE);
  g_autofree char *login_id = unique ("rehash");
  g_autofree char *user_id = register_user (g2, login_id, "correct horse");
  g_autofree char *token = login (g2, login_id, "correct horse");
  g_autofree char *number = ot_random_card_number ("4");
  g_autofree char *card_body = g_strdup_printf ("{\"type\":\"credit_card\",\"credit_card\":"
                                                "{\"number\":\"%s\",\"expiry\":\"12/39\","
                                                "\"holder\":\"KIM FUNDER\"}}", number);
  g_autoptr(OtResponse) account = add_bank_account (g2, token, "004", "110-482-937561");
  g_autoptr(OtResponse) gone = add_bank_account (g2, token, "020", "220-555-000123");
  g_autoptr(OtResponse) broken = add_bank_account (g2, token, "045", "330-777-000456");
  g_autoptr(OtResponse) card = wallet (g2, "POST", "/v1/wallet/funding-sources", token, NULL,
                                       card_body);
  g_autoptr(OtResponse) removed = NULL;
  g_autoptr(OtResponse) same = NULL;
  g_autoptr(OtResponse) other_bank = NULL;
  g_autoptr(OtResponse) same_card = NULL;
  g_autoptr(OtResponse) still_same = NULL;
  g_autoptr(GBytes) old_account = fingerprint_before_022 (g2, "110482937561");
  g_autoptr(GBytes) old_gone = fingerprint_before_022 (g2, "220555000123");
  g_autoptr(GBytes) old_broken = fingerprint_before_022 (g2, "330777000456");
  g_autoptr(GBytes) card_before = NULL;
  g_autoptr(GBytes) rehashed = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autoptr(GBytes) fingerprint = NULL;
  g_autofree char *gone_path = NULL;
  g_autofree char *log = NULL;
  g_autofree char *spoil = NULL;
  g_autofree char *warning = NULL;
  const char *account_id, *gone_id, *broken_id, *card_id;
  sqlite3 *db;

  ot_assert_status (account, 201);
  ot_assert_status (gone, 201);
  ot_assert_status (broken, 201);
  ot_assert_status (card, 201);
  account_id = ot_json_string (ot_response_object (account), "id");
  gone_id = ot_json_string (ot_response_object (gone), "id");
  broken_id = ot_json_string (ot_response_object (broken), "id");
  card_id = ot_json_string (ot_response_object (card), "id");
  gone_path = g_strconcat ("/v1/wallet/funding-sources/", gone_id, NULL);
  removed = wallet (g2, "DELETE", gone_path, token, NULL, NULL);
  ot_assert_status (removed, 200);
  ot_gateway_terminate (g2, SIGTERM);

  /* the rows as a gateway before 022 wrote them, and one whose details no
   * longer open */
  spoil = g_strdup_printf ("DELETE FROM schema_migrations WHERE version = 22;"
                           "UPDATE wallet_funding_sources"
                           " SET details_sealed = zeroblob (length (details_sealed))"
                           " WHERE id = '%s';", broken_id);
  db = open_database (g2, spoil);
  set_fingerprint (db, account_id, old_account);
  set_fingerprint (db, gone_id, old_gone);
  set_fingerprint (db, broken_id, old_broken);
  card_before = stored_fingerprint (db, card_id);
  sqlite3_close (db);

  ot_gateway_restart (g2);
  same = add_bank_account (g2, token, "004", "110482937561");
  ot_assert_error (same, 409, "invalid_request_error", "funding_source_exists");
  other_bank = add_bank_account (g2, token, "088", "110482937561");
  ot_assert_status (other_bank, 201);
  same_card = wallet (g2, "POST", "/v1/wallet/funding-sources", token, NULL, card_body);
  ot_assert_error (same_card, 409, "invalid_request_error", "funding_source_exists");
  ot_gateway_terminate (g2, SIGTERM);

  db = open_database (g2, "SELECT 1");
  rehashed = stored_fingerprint (db, account_id);
  g_assert_false (g_bytes_equal (rehashed, old_account));
  fingerprint = stored_fingerprint (db, gone_id);
  g_assert_true (g_bytes_equal (fingerprint, old_gone));
  g_clear_pointer (&fingerprint, g_bytes_unref);
  fingerprint = stored_fingerprint (db, broken_id);
  g_assert_true (g_bytes_equal (fingerprint, old_broken));
  g_clear_pointer (&fingerprint, g_bytes_unref);
  fingerprint = stored_fingerprint (db, card_id);
  g_assert_true (g_bytes_equal (fingerprint, card_before));
  g_assert_cmpint (sqlite3_exec (db, "DELETE FROM schema_migrations WHERE version = 22;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  g_assert_true (g_file_get_contents (ot_gateway_log_path (g2), &log, NULL, NULL));
  warning = g_strdup_printf ("funding source %s: its details do not open", broken_id);
  g_assert_nonnull (strstr (log, warning));
  g_assert_null (strstr (log, "330777000456"));

  ot_gateway_restart (g2);
  still_same = add_bank_account (g2, token, "004", "110-482-937561");
  ot_assert_error (still_same, 409, "invalid_request_error", "funding_source_exists");
  ot_gateway_terminate (g2, SIGTERM);
  db = open_database (g2, "SELECT 1");
  after = stored_fingerprint (db, account_id);
  g_assert_true (g_bytes_equal (after, rehashed));
  sqlite3_close (db);
  ot_gateway_stop (g2);
}

/* Charges, before a financial system is configured */

static void
test_charge_without_bank (void)
{
  g_autofree char *token = new_user (NULL);
  g_autoptr(OtResponse) small = NULL;
  g_autoptr(OtResponse) unit = NULL;
  g_autoptr(OtResponse) none = NULL;
  g_autoptr(OtResponse) keyless = NULL;

  small = wallet (gw, "POST", "/v1/wallet/charges", token, "c-1",
                  "{\"funding_source_id\":\"fs_x\",\"amount\":5000}");
  ot_assert_error (small, 400, "invalid_request_error", "parameter_invalid");
  assert_param (small, "amount");
  unit = wallet (gw, "POST", "/v1/wallet/charges", token, "c-2",
                 "{\"funding_source_id\":\"fs_x\",\"amount\":15000}");
  ot_assert_error (unit, 400, "invalid_request_error", "parameter_invalid");
  none = wallet (gw, "POST", "/v1/wallet/charges", token, "c-3",
                 "{\"funding_source_id\":\"fs_x\",\"amount\":10000,\"cvc\":\"123\"}");
  ot_assert_error (none, 503, "api_error", "bank_unavailable");
  keyless = wallet (gw, "POST", "/v1/wallet/charges", token, NULL,
                    "{\"funding_source_id\":\"fs_x\",\"amount\":10000,\"cvc\":\"123\"}");
  ot_assert_error (keyless, 400, "invalid_request_error", "parameter_missing");
  assert_param (keyless, "Idempotency-Key");
}

/* History */

static void
test_history_empty (void)
{
  g_autofree char *token = new_user (NULL);
  g_autoptr(OtResponse) before = wallet (gw, "GET", "/v1/wallet/history", token, NULL, NULL);
  g_autoptr(OtResponse) bad = NULL;
  g_autoptr(OtResponse) unknown = NULL;
  g_autoptr(OtResponse) big = NULL;
  g_autoptr(JsonObject) card = NULL;
  g_autoptr(OtResponse) after = NULL;

  ot_assert_status (before, 200);
  g_assert_cmpuint (json_array_get_length (ot_json_array (ot_response_object (before), "data")),
                    ==, 0);
  g_assert_false (ot_json_bool (ot_response_object (before), "has_more"));
  bad = wallet (gw, "GET", "/v1/wallet/history?starting_after=pay_1", token, NULL, NULL);
  ot_assert_error (bad, 400, "invalid_request_error", "parameter_invalid");
  assert_param (bad, "starting_after");
  {
    /* a line id of the old, counting kind is not a cursor any more */
    g_autoptr(OtResponse) counted = wallet (gw, "GET", "/v1/wallet/history?starting_after=ln_5",
                                            token, NULL, NULL);

    ot_assert_error (counted, 400, "invalid_request_error", "parameter_invalid");
    assert_param (counted, "starting_after");
  }
  big = wallet (gw, "GET", "/v1/wallet/history?limit=101", token, NULL, NULL);
  ot_assert_error (big, 400, "invalid_request_error", "parameter_invalid");
  unknown = wallet (gw, "GET", "/v1/wallet/history?page=2", token, NULL, NULL);
  ot_assert_error (unknown, 400, "invalid_request_error", "parameter_unknown");

  card = apply_card (token, "2580");
  after = wallet (gw, "GET", "/v1/wallet/history?limit=5", token, NULL, NULL);
  ot_assert_status (after, 200);
  g_assert_cmpuint (json_array_get_length (ot_json_array (ot_response_object (after), "data")),
                    ==, 0);
}

/* The history takes limit and starting_after, each once with a value; the
 * other GETs take no query parameter. Refused, not ignored, once the
 * session has been checked. */
static void
test_get_query (void)
{
  g_autofree char *token = new_user (NULL);
  const struct { const char *path; const char *code; const char *param; } refused[] = {
    { "/v1/wallet/history?limit", "parameter_invalid", "limit" },
    { "/v1/wallet/history?starting_after", "parameter_invalid", "starting_after" },
    { "/v1/wallet/history?limit=1&limit=5", "parameter_invalid", "limit" },
    { "/v1/wallet/history?limit=5&type=charge", "parameter_unknown", "type" },
    { "/v1/wallet/me?expand=card", "parameter_unknown", "expand" },
    { "/v1/wallet/card?expand=1", "parameter_unknown", "expand" },
    { "/v1/wallet/funding-sources?limit=5", "parameter_unknown", "limit" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(OtResponse) r = wallet (gw, "GET", refused[i].path, token, NULL, NULL);
      g_autoptr(OtResponse) anonymous = wallet (gw, "GET", refused[i].path, NULL, NULL, NULL);

      g_test_message ("GET %s", refused[i].path);
      ot_assert_error (r, 400, "invalid_request_error", refused[i].code);
      assert_param (r, refused[i].param);
      ot_assert_error (anonymous, 401, "authentication_error", "unauthorized");
    }
  {
    g_autoptr(OtResponse) both = wallet (gw, "GET", "/v1/wallet/history?limit=5&starting_after="
                                         "ln_00000000000000000000000000000000", token, NULL, NULL);
    g_autoptr(OtResponse) me = wallet (gw, "GET", "/v1/wallet/me", token, NULL, NULL);

    /* both names taken; the cursor, no line of this user's, is then refused */
    ot_assert_error (both, 400, "invalid_request_error", "parameter_invalid");
    assert_param (both, "starting_after");
    ot_assert_status (me, 200);
  }
  {
    /* a DELETE takes none either, and the session survives the refusal */
    g_autoptr(OtResponse) out = wallet (gw, "DELETE", "/v1/wallet/sessions/current?all=1", token,
                                        NULL, NULL);
    g_autoptr(OtResponse) me = wallet (gw, "GET", "/v1/wallet/me", token, NULL, NULL);

    ot_assert_error (out, 400, "invalid_request_error", "parameter_unknown");
    assert_param (out, "all");
    ot_assert_status (me, 200);
  }
}

/* Secrets at rest */

static gboolean
file_contains (const char *path,
               const char *needle)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  gsize n = strlen (needle);

  if (!g_file_get_contents (path, &data, &len, NULL))
    return FALSE;
  for (gsize i = 0; n > 0 && i + n <= len; i++)
    if (memcmp (data + i, needle, n) == 0)
      return TRUE;
  return FALSE;
}

static void
assert_not_stored (const char *what,
                   const char *secret)
{
  const char *files[] = { "onepin.db", "onepin.db-wal", "gateway.log" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (ot_gateway_data_dir (gw), files[i], NULL);

      if (file_contains (path, secret))
        g_error ("%s holds the %s in clear", files[i], what);
    }
}

static void
test_secrets_at_rest (void)
{
  g_autofree char *login_id = unique ("erin");
  g_autofree char *user_id = register_user (gw, login_id, "Xylophone-Pass-77");
  g_autofree char *token = login (gw, login_id, "Xylophone-Pass-77");
  g_autoptr(JsonObject) card = apply_card (token, "Kx93-card-pw");
  g_autofree char *number = ot_random_card_number ("37");
  g_autofree char *body = g_strdup_printf ("{\"type\":\"credit_card\",\"credit_card\":"
                                           "{\"number\":\"%s\",\"expiry\":\"07/38\","
                                           "\"holder\":\"QUENTIN ZYGMUND\"}}", number);
  g_autoptr(OtResponse) fs = wallet (gw, "POST", "/v1/wallet/funding-sources", token, NULL, body);
  g_autoptr(OtResponse) bank = wallet (gw, "POST", "/v1/wallet/funding-sources", token, NULL,
                                       "{\"type\":\"bank_account\",\"bank_account\":{"
                                       "\"bank_code\":\"088\",\"account_number\":"
                                       "\"9876-5432-1098\",\"holder\":\"Quentin Zygmund\"}}");
  g_autoptr(OtResponse) profile = wallet (gw, "POST", "/v1/wallet/me", token, NULL,
                                          "{\"name\":\"Wilhelmina Quartz\","
                                          "\"email\":\"wilhelmina.quartz@example.net\","
                                          "\"phone\":\"010-7531-8642\"}");
  g_autofree char *cvc_line = g_strdup_printf ("\"cvc\":\"%s\"", ot_json_string (card, "cvc"));

  ot_assert_status (fs, 201);
  ot_assert_status (bank, 201);
  ot_assert_status (profile, 200);

  assert_not_stored ("funding card number", number);
  assert_not_stored ("funding card holder", "QUENTIN ZYGMUND");
  assert_not_stored ("bank account number", "987654321098");
  assert_not_stored ("bank account number", "9876-5432-1098");
  assert_not_stored ("account password", "Xylophone-Pass-77");
  assert_not_stored ("card password", "Kx93-card-pw");
  assert_not_stored ("representative card number", ot_json_string (card, "number"));
  assert_not_stored ("CVC in the card's answer", cvc_line);
  assert_not_stored ("session token", token);
  assert_not_stored ("name", "Wilhelmina Quartz");
  assert_not_stored ("e-mail", "wilhelmina.quartz@example.net");
  assert_not_stored ("phone", "010-7531-8642");
}

/* The slow hash at its default strength runs off the main thread. */

typedef struct
{
  OtGateway *gateway;
  char      *login_id;
  gint64     elapsed;
  guint      status;
} Registration;

static gpointer
register_thread (gpointer data)
{
  Registration *reg = data;
  g_autofree char *body = g_strdup_printf ("{\"login_id\":\"%s\",\"password\":\"correct horse\","
                                           "\"name\":\"Slow\",\"email\":\"slow@example.com\"}",
                                           reg->login_id);
  gint64 start = g_get_monotonic_time ();
  g_autoptr(OtResponse) r = ot_request (reg->gateway, "POST", "/v1/wallet/users", NULL, NULL,
                                        body);

  reg->elapsed = g_get_monotonic_time () - start;
  reg->status = r->status;
  return NULL;
}

static gint64
stored_iterations (OtGateway  *gateway,
                   const char *login_id)
{
  g_autofree char *path = g_build_filename (ot_gateway_data_dir (gateway), "onepin.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 iterations = -1;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT password_iterations FROM wallet_users"
                                           " WHERE login_id = ?", -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, login_id, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    iterations = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return iterations;
}

static void
test_default_strength (void)
{
  OtGateway *strong = ot_gateway_start (NULL, FALSE);
  Registration regs[3] = { { 0 } };
  GThread *threads[3];
  gint64 slowest_health = 0;
  gint64 fastest_registration = G_MAXINT64;

  for (guint i = 0; i < G_N_ELEMENTS (regs); i++)
    {
      regs[i].gateway = strong;
      regs[i].login_id = g_strdup_printf ("strong%u", i);
      threads[i] = g_thread_new ("register", register_thread, &regs[i]);
    }
  /* While three 600,000-iteration hashes run, the gateway still answers. */
  g_usleep (50 * 1000);
  for (guint i = 0; i < 5; i++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr(OtResponse) health = ot_request (strong, "GET", "/healthz", NULL, NULL, NULL);

      ot_assert_status (health, 200);
      slowest_health = MAX (slowest_health, g_get_monotonic_time () - start);
    }
  for (guint i = 0; i < G_N_ELEMENTS (regs); i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpuint (regs[i].status, ==, 201);
      fastest_registration = MIN (fastest_registration, regs[i].elapsed);
      g_assert_cmpint (stored_iterations (strong, regs[i].login_id), ==, 600000);
      g_free (regs[i].login_id);
    }
  g_test_message ("registration at 600,000 iterations: %" G_GINT64_FORMAT " ms; slowest"
                  " /healthz meanwhile: %" G_GINT64_FORMAT " ms",
                  fastest_registration / 1000, slowest_health / 1000);
  g_assert_cmpint (slowest_health * 2, <, fastest_registration);
  ot_gateway_stop (strong);
}

static void
test_audit (void)
{
  json_object_unref (ot_assert_audit_balanced (gw));
}

/* Opened funding details are wiped when they are freed: a reference kept
 * past the free sees only empty strings. */
static void
test_funding_details_wiped (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OnepinKey) key = NULL;
  g_autoptr(GBytes) sealed = NULL;
  const char *json = "{\"number\":\"4242424242424241\",\"holder\":\"Kim\"}";
  GwFundingDetails *details;
  JsonObject *kept;
  guint8 raw[32] = { 7 };

  g_assert_true (onepin_crypto_init (&error));
  key = onepin_key_new_aes (raw, sizeof raw, &error);
  g_assert_no_error (error);
  sealed = gw_wallet_funding_seal (key, "fs_1", "usr_1", json, strlen (json), &error);
  g_assert_no_error (error);
  details = gw_wallet_funding_open (key, "fs_1", "usr_1", sealed, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (details, "number"), ==, "4242424242424241");

  kept = json_object_ref (details);
  gw_wallet_funding_details_free (details);
  g_assert_cmpstr (json_object_get_string_member (kept, "number"), ==, "");
  g_assert_cmpstr (json_object_get_string_member (kept, "holder"), ==, "");
  json_object_unref (kept);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  gw = ot_gateway_start (FAST_CONFIG, FALSE);

  g_test_add_func ("/wallet/register/basic", test_register);
  g_test_add_func ("/wallet/register/fields", test_register_fields);
  g_test_add_func ("/wallet/sessions/login-logout", test_login_logout);
  g_test_add_func ("/wallet/sessions/expiry", test_session_expiry);
  g_test_add_func ("/wallet/sessions/lockout", test_login_lockout);
  g_test_add_func ("/wallet/sessions/lockout-unknown-id", test_lockout_unknown_id);
  g_test_add_func ("/wallet/sessions/lockout-parallel", test_lockout_parallel);
  g_test_add_func ("/wallet/sessions/address-limit", test_address_limit);
  g_test_add_func ("/wallet/sessions/kdf-address-limit", test_kdf_address_limit);
  g_test_add_func ("/wallet/sessions/kdf-saturated", test_kdf_saturated);
  g_test_add_func ("/wallet/sessions/kdf-saturated-sign-in", test_kdf_saturated_sign_in);
  g_test_add_func ("/wallet/sessions/kdf-busy-not-counted", test_kdf_busy_not_counted);
  g_test_add_func ("/wallet/sessions/kdf-queue-at-shutdown", test_kdf_queue_at_shutdown);
  g_test_add_func ("/wallet/sessions/abandoned-at-shutdown", test_abandoned_at_shutdown);
  g_test_add_func ("/wallet/sessions/password-change", test_password_change);
  g_test_add_func ("/wallet/sessions/password-change-replay", test_password_change_replay);
  g_test_add_func ("/wallet/sessions/password-change-replay-guesses",
                   test_password_change_replay_guesses);
  g_test_add_func ("/wallet/profile/update", test_profile);
  g_test_add_func ("/wallet/card/apply", test_apply_card);
  g_test_add_func ("/wallet/card/apply-replay-guesses", test_apply_card_replay_guesses);
  g_test_add_func ("/wallet/card/onepin-card", test_card_is_a_onepin_card);
  g_test_add_func ("/wallet/card/password", test_card_password);
  g_test_add_func ("/wallet/card/password-replay", test_card_password_replay);
  g_test_add_func ("/wallet/card/none-yet", test_no_card_yet);
  g_test_add_func ("/wallet/funding/masked", test_funding_sources);
  g_test_add_func ("/wallet/funding/refusals", test_funding_refusals);
  g_test_add_func ("/wallet/funding/same-number-two-banks", test_funding_two_banks);
  g_test_add_func ("/wallet/funding/fingerprints-before-022", test_funding_fingerprints_before_022);
  g_test_add_func ("/wallet/funding/details-wiped", test_funding_details_wiped);
  g_test_add_func ("/wallet/charges/no-bank", test_charge_without_bank);
  g_test_add_func ("/wallet/history/empty", test_history_empty);
  g_test_add_func ("/wallet/get-query", test_get_query);
  g_test_add_func ("/wallet/secrets/at-rest", test_secrets_at_rest);
  g_test_add_func ("/wallet/secrets/pbkdf2-default-strength", test_default_strength);
  g_test_add_func ("/wallet/audit/balanced", test_audit);

  status = g_test_run ();
  ot_gateway_stop (gw);
  return status;
}
