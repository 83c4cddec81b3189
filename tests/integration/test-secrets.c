/* test-secrets.c: no secret reaches the gateway's log or data files
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A full scenario (merchant, cards, registration, payments, holds, wrong
 * passwords, a lockout, unknown numbers, a password change, refunds,
 * statements, idempotent replays) while every secret it uses is collected:
 * card numbers (also as "1234 5678 9012 3456" and "1234-5678-9012-3456"),
 * passwords (right and wrong), hints, the merchant's secret key and webhook
 * secret, the admin token. Then the raw bytes of the gateway's log and of
 * every file in its data dir except the key files (admin.token, *.key) are
 * searched for each of them, once while it runs and once after a clean
 * stop. And admin.token and the *.key files must be mode 0600.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "onepin-shared.h"
#include "onepin-test-gateway.h"

typedef struct
{
  char *what;
  char *value;
} Secret;

static GPtrArray *secrets;   /* of Secret* */

static void
secret_free (Secret *s)
{
  g_free (s->what);
  g_free (s->value);
  g_free (s);
}

static void
add_needle (const char *what,
            const char *encoding,
            char       *value)
{
  Secret *s = g_new0 (Secret, 1);

  s->what = encoding != NULL ? g_strdup_printf ("%s, %s", what, encoding) : g_strdup (what);
  s->value = value;
  g_ptr_array_add (secrets, s);
}

/* The secret itself, and as hex (both cases) and as base64, in case it was
 * merely encoded on its way to the disk. */
static void
add_secret (const char *what,
            const char *value)
{
  gsize len;
  GString *hex;
  char *b64;

  g_assert_nonnull (value);
  len = strlen (value);
  g_assert_cmpuint (len, >=, 8);
  add_needle (what, NULL, g_strdup (value));

  hex = g_string_new (NULL);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (hex, "%02x", (guchar) value[i]);
  add_needle (what, "as HEX", g_ascii_strup (hex->str, hex->len));
  add_needle (what, "as hex", g_string_free (hex, FALSE));

  /* only whole groups of three bytes: padding depends on what follows */
  b64 = g_base64_encode ((const guchar *) value, len - len % 3);
  add_needle (what, "as base64", b64);
}

static void
add_card_number (const char *what,
                 const char *number)
{
  g_autofree char *spaced = NULL;
  g_autofree char *dashed = NULL;
  g_autofree char *label = NULL;

  g_assert_cmpuint (strlen (number), ==, 16);
  add_secret (what, number);
  spaced = g_strdup_printf ("%.4s %.4s %.4s %.4s", number, number + 4, number + 8, number + 12);
  dashed = g_strdup_printf ("%.4s-%.4s-%.4s-%.4s", number, number + 4, number + 8, number + 12);
  label = g_strdup_printf ("%s (spaced)", what);
  add_secret (label, spaced);
  g_free (label);
  label = g_strdup_printf ("%s (dashed)", what);
  add_secret (label, dashed);
}

static char *
random_text (const char *prefix,
             guint       len)
{
  static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  GString *s = g_string_new (prefix);

  for (guint i = 0; i < len; i++)
    g_string_append_c (s, alphabet[g_random_int_range (0, sizeof alphabet - 1)]);
  return g_string_free (s, FALSE);
}

/* A Luhn-valid 16-digit number that was not issued (with near certainty). */
static char *
random_card_number (void)
{
  char digits[17];

  for (guint i = 0; i < 15; i++)
    digits[i] = '0' + g_random_int_range (i == 0 ? 1 : 0, 10);
  digits[15] = '\0';
  digits[15] = onepin_card_luhn_check_digit (digits);
  digits[16] = '\0';
  g_assert_true (onepin_card_number_is_valid (digits));
  return g_strdup (digits);
}

static JsonObject *
expect_ok (OtResponse *r)
{
  if (r->status != 200)
    g_error ("expected 200, got %u %s", r->status, r->body);
  g_assert_nonnull (ot_response_object (r));
  return ot_response_object (r);
}

static char *
pay (OtGateway  *gw,
     const char *sk,
     const char *key,
     const char *number,
     const char *password,
     gint64      amount,
     gboolean    capture,
     guint       expect_status,
     const char *expect_decline)
{
  g_autofree char *body = g_strdup_printf ("{\"card_number\":\"%s\",\"password\":\"%s\","
                                           "\"amount\":%" G_GINT64_FORMAT ",\"currency\":\"krw\","
                                           "\"order_id\":\"order-%s\",\"description\":\"secrets test\","
                                           "\"capture\":%s}",
                                           number, password, amount, key,
                                           capture ? "true" : "false");
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/payments", sk, key, body);

  if (expect_status != 200)
    {
      ot_assert_error (r, expect_status, "card_error", expect_decline);
      return NULL;
    }
  return g_strdup (json_object_get_string_member (expect_ok (r), "id"));
}

static void
card_holder (OtGateway  *gw,
             const char *endpoint,
             const char *body,
             guint       expect_status,
             const char *expect_decline)
{
  g_autoptr(OtResponse) r = ot_request (gw, "POST", endpoint, NULL, NULL, body);

  if (expect_status == 200)
    expect_ok (r);
  else
    ot_assert_error (r, expect_status, "card_error", expect_decline);
}

static gboolean
is_key_file (const char *name)
{
  return g_str_equal (name, "admin.token") || g_str_has_suffix (name, ".key");
}

static gboolean
contains (const char *data,
          gsize       len,
          const char *needle)
{
  gsize n = strlen (needle);
  const char *p = data;
  const char *end = data + len;

  while (n > 0 && (gsize) (end - p) >= n)
    {
      p = memchr (p, needle[0], (end - p) - n + 1);
      if (p == NULL)
        return FALSE;
      if (memcmp (p, needle, n) == 0)
        return TRUE;
      p++;
    }
  return FALSE;
}

/* Searches one file's raw bytes; appends what it finds to @found. */
static void
scan_file (const char *path,
           GString    *found)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &data, &len, &error))
    {
      /* a -shm or -journal file can vanish under us while it runs */
      if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return;
      g_error ("%s: %s", path, error->message);
    }
  for (guint i = 0; i < secrets->len; i++)
    {
      Secret *s = g_ptr_array_index (secrets, i);

      if (contains (data, len, s->value))
        g_string_append_printf (found, "  %s: %s (%s)\n", path, s->what, s->value);
    }
}

static guint
scan_dir (const char *dir_path,
          const char *log_path,
          GString    *found)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  guint n = 0;

  dir = g_dir_open (dir_path, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        n += scan_dir (path, log_path, found);
      else if (g_file_test (path, G_FILE_TEST_IS_REGULAR) && !is_key_file (name)
               && g_strcmp0 (path, log_path) != 0)
        {
          scan_file (path, found);
          n++;
        }
    }
  return n;
}

static void
check_key_modes (const char *dir_path,
                 guint      *n_keys)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;

  dir = g_dir_open (dir_path, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      struct stat st;

      if (lstat (path, &st) != 0)
        g_error ("stat %s: %s", path, g_strerror (errno));
      if (S_ISDIR (st.st_mode))
        check_key_modes (path, n_keys);
      else if (is_key_file (name))
        {
          if ((st.st_mode & 07777) != 0600)
            g_error ("%s has mode %04o, expected 0600", path, st.st_mode & 07777);
          (*n_keys)++;
        }
    }
}

static void
scan_everything (OtGateway  *gw,
                 const char *when)
{
  g_autoptr(GString) found = g_string_new (NULL);
  const char *log_path = ot_gateway_log_path (gw);
  guint n;

  n = scan_dir (ot_gateway_data_dir (gw), log_path, found);
  g_assert_true (g_file_test (log_path, G_FILE_TEST_IS_REGULAR));
  scan_file (log_path, found);
  g_test_message ("%s: %u data files and the log searched for %u secrets", when, n,
                  secrets->len);
  if (found->len > 0)
    g_error ("secrets found %s:\n%s", when, found->str);
}

static void
test_no_secrets_at_rest (void)
{
  OtGateway *gw = ot_gateway_start (NULL, FALSE);
  const char *admin = ot_gateway_admin_token (gw);
  g_autoptr(GPtrArray) cards = NULL;
  g_autofree char *sk = NULL;
  g_autofree char *whsec = NULL;
  char *passwords[4];
  g_autofree char *p_card0 = NULL, *p_hold1 = NULL, *p_hold2 = NULL, *p_card3 = NULL;
  g_autofree char *new_password = random_text ("Np", 22);
  guint n_keys = 0;

  secrets = g_ptr_array_new_with_free_func ((GDestroyNotify) secret_free);
  add_secret ("admin token", admin);

  /* the merchant, with its secret key and webhook secret */
  {
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/merchants", admin,
                                          "secrets-merchant",
                                          "{\"name\":\"Secret Mall\",\"category\":\"shopping\"}");
    JsonObject *o = expect_ok (r);

    sk = g_strdup (json_object_get_string_member (o, "secret_key"));
    whsec = g_strdup (json_object_get_string_member (o, "webhook_secret"));
    g_assert_true (g_str_has_prefix (sk, "sk_"));
    g_assert_true (g_str_has_prefix (whsec, "whsec_"));
    add_secret ("merchant secret key", sk);
    add_secret ("webhook secret", whsec);
  }

  /* four cards, registered with passwords and hints */
  cards = ot_issue_cards (gw, 4, 50000);
  g_assert_cmpuint (cards->len, ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      OtCard *card = g_ptr_array_index (cards, i);
      g_autofree char *hint = random_text ("Hint", 20);
      g_autofree char *body = NULL;
      g_autofree char *label = g_strdup_printf ("card %u number", i);

      passwords[i] = random_text ("Pw", 22);
      add_card_number (label, card->number);
      g_free (label);
      label = g_strdup_printf ("card %u password", i);
      add_secret (label, passwords[i]);
      g_free (label);
      label = g_strdup_printf ("card %u hint", i);
      add_secret (label, hint);

      body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\",\"hint\":\"%s\"}",
                              card->number, passwords[i], hint);
      card_holder (gw, "/v1/cards/register", body, 200, NULL);
    }

#define NUM(i) (((OtCard *) g_ptr_array_index (cards, (i)))->number)

  /* payments: captured, held then captured in part, held then canceled */
  p_card0 = pay (gw, sk, "sec-pay-0", NUM (0), passwords[0], 5000, TRUE, 200, NULL);
  p_hold1 = pay (gw, sk, "sec-pay-1", NUM (1), passwords[1], 3000, FALSE, 200, NULL);
  p_hold2 = pay (gw, sk, "sec-pay-2", NUM (2), passwords[2], 4000, FALSE, 200, NULL);
  p_card3 = pay (gw, sk, "sec-pay-3", NUM (3), passwords[3], 7000, TRUE, 200, NULL);
  {
    g_autofree char *path = g_strdup_printf ("/v1/payments/%s/capture", p_hold1);
    g_autoptr(OtResponse) r = ot_request (gw, "POST", path, sk, "sec-cap-1", "{\"amount\":1000}");

    expect_ok (r);
  }
  {
    g_autofree char *path = g_strdup_printf ("/v1/payments/%s/cancel", p_hold2);
    g_autoptr(OtResponse) r = ot_request (gw, "POST", path, sk, "sec-cancel-2", "{}");

    expect_ok (r);
  }

  /* an idempotent replay of a payment (its stored request must not hold
   * the number or the password either) */
  {
    g_autofree char *again = pay (gw, sk, "sec-pay-0", NUM (0), passwords[0], 5000, TRUE, 200, NULL);

    g_assert_cmpstr (again, ==, p_card0);
  }

  /* refunds: partial, then the rest */
  {
    g_autofree char *b1 = g_strdup_printf ("{\"payment\":\"%s\",\"amount\":2000}", p_card0);
    g_autofree char *b2 = g_strdup_printf ("{\"payment\":\"%s\"}", p_card3);
    g_autoptr(OtResponse) r1 = ot_request (gw, "POST", "/v1/refunds", sk, "sec-re-0", b1);
    g_autoptr(OtResponse) r2 = ot_request (gw, "POST", "/v1/refunds", sk, "sec-re-3", b2);

    expect_ok (r1);
    expect_ok (r2);
  }

  /* wrong passwords, on payments and card-holder endpoints */
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *wrong = random_text ("Wrong", 18);
      g_autofree char *key = g_strdup_printf ("sec-wrong-%u", i);
      g_autofree char *body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\"}",
                                               NUM (0), wrong);

      add_secret ("a wrong password", wrong);
      g_free (pay (gw, sk, key, NUM (0), wrong, 1000, TRUE, 402, "invalid_credentials"));
      card_holder (gw, "/v1/cards/balance", body, 402, "invalid_credentials");
    }
  /* the right one resets the counter */
  {
    g_autofree char *body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\"}",
                                             NUM (0), passwords[0]);

    card_holder (gw, "/v1/cards/balance", body, 200, NULL);
  }

  /* card 2 locked by five wrong passwords */
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *wrong = random_text ("Lock", 18);
      g_autofree char *key = g_strdup_printf ("sec-lock-%u", i);

      add_secret ("a wrong password", wrong);
      g_free (pay (gw, sk, key, NUM (2), wrong, 1000, TRUE, 402, "invalid_credentials"));
    }
  g_free (pay (gw, sk, "sec-locked", NUM (2), passwords[2], 1000, TRUE, 402, "card_locked"));

  /* unknown, and malformed, numbers */
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *unknown = random_card_number ();
      g_autofree char *pw = random_text ("Unk", 18);
      g_autofree char *key = g_strdup_printf ("sec-unknown-%u", i);
      g_autofree char *body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\"}",
                                               unknown, pw);

      add_card_number ("an unknown card number", unknown);
      add_secret ("a password for an unknown card", pw);
      g_free (pay (gw, sk, key, unknown, pw, 1000, TRUE, 402, "invalid_credentials"));
      card_holder (gw, "/v1/cards/balance", body, 402, "invalid_credentials");
    }
  {
    g_autofree char *bad = g_strdup (NUM (1));

    /* one digit off: fails the Luhn check */
    bad[7] = bad[7] == '9' ? '0' : bad[7] + 1;
    add_card_number ("a malformed card number", bad);
    g_free (pay (gw, sk, "sec-malformed", bad, passwords[1], 1000, TRUE, 402,
                 "invalid_credentials"));
  }

  /* a password change, with a new hint */
  {
    g_autofree char *hint = random_text ("NewHint", 16);
    g_autofree char *body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\","
                                             "\"new_password\":\"%s\",\"hint\":\"%s\"}",
                                             NUM (1), passwords[1], new_password, hint);

    add_secret ("a new password", new_password);
    add_secret ("a new hint", hint);
    card_holder (gw, "/v1/cards/password", body, 200, NULL);
  }

  /* statements and balances */
  {
    g_autofree char *s0 = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\"}",
                                           NUM (0), passwords[0]);
    g_autofree char *s1 = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\",\"limit\":10}",
                                           NUM (1), new_password);
    g_autofree char *s3 = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\"}",
                                           NUM (3), passwords[3]);

    card_holder (gw, "/v1/cards/statement", s0, 200, NULL);
    card_holder (gw, "/v1/cards/statement", s1, 200, NULL);
    card_holder (gw, "/v1/cards/balance", s3, 200, NULL);
  }

  /* a merchant's list, and the audit */
  {
    g_autoptr(OtResponse) r = ot_request (gw, "GET", "/v1/payments?limit=10", sk, NULL, NULL);

    expect_ok (r);
  }
  json_object_unref (ot_assert_audit_balanced (gw));

  /* the metrics are text anyone who can reach them reads: no secret there */
  {
    g_autoptr(OtResponse) r = ot_request (gw, "GET", "/metrics", NULL, NULL, NULL);
    g_autoptr(GString) found = g_string_new (NULL);

    g_assert_cmpuint (r->status, ==, 200);
    for (guint i = 0; i < secrets->len; i++)
      {
        Secret *s = g_ptr_array_index (secrets, i);

        if (contains (r->body, r->body_len, s->value))
          g_string_append_printf (found, "  %s (%s)\n", s->what, s->value);
      }
    if (found->len > 0)
      g_error ("secrets found in GET /metrics:\n%s", found->str);
  }

#undef NUM

  /* the key files are private */
  {
    g_autofree char *token_path = g_build_filename (ot_gateway_data_dir (gw), "admin.token", NULL);

    g_assert_true (g_file_test (token_path, G_FILE_TEST_IS_REGULAR));
  }
  check_key_modes (ot_gateway_data_dir (gw), &n_keys);
  g_assert_cmpuint (n_keys, >=, 1);
  g_test_message ("%u key files, all mode 0600", n_keys);

  /* nothing at rest while it runs (the WAL holds the latest pages) ... */
  scan_everything (gw, "while running");

  /* ... nor after a clean stop */
  ot_gateway_terminate (gw, SIGTERM);
  scan_everything (gw, "after SIGTERM");
  check_key_modes (ot_gateway_data_dir (gw), &n_keys);

  for (guint i = 0; i < 4; i++)
    g_free (passwords[i]);
  g_clear_pointer (&secrets, g_ptr_array_unref);
  ot_gateway_stop (gw);
}

/* Idempotency-Key values, as a merchant might make them up, and each
 * request's answer, replayed. */

static char *
distinctive_key (const char *what)
{
  g_autofree char *tail = random_text ("", 10);
  char *key = g_strdup_printf ("%s/ORD-%s/jane.doe@example.com", what, tail);

  add_secret ("an Idempotency-Key", key);
  return key;
}

static void
assert_replayed (OtResponse *first,
                 OtResponse *again)
{
  g_assert_cmpuint (again->status, ==, first->status);
  g_assert_cmpstr (again->body, ==, first->body);
  g_assert_cmpstr (ot_response_header (again, "Idempotent-Replayed"), ==, "true");
}

/* Sends the request twice: the second answer is the first one replayed. */
static OtResponse *
keyed_twice (OtGateway  *gw,
             const char *path,
             const char *bearer,
             const char *key,
             const char *body,
             guint       expect_status)
{
  OtResponse *first = ot_request (gw, "POST", path, bearer, key, body);
  g_autoptr(OtResponse) again = ot_request (gw, "POST", path, bearer, key, body);

  ot_assert_status (first, expect_status);
  assert_replayed (first, again);
  return first;
}

/* The database keeps a keyed hash of each Idempotency-Key, never the key:
 * merchants' keys hold order numbers and customers' details. Keys of every
 * kind of keyed request (a merchant's, the admin's, a card holder's, batch
 * items', refusals') are searched for in the data dir and the log, while
 * the replays, the 422 and the replay after a restart still work. */
static void
test_idempotency_keys_at_rest (void)
{
  OtGateway *gw = ot_gateway_start (NULL, FALSE);
  const char *admin = ot_gateway_admin_token (gw);
  g_autofree char *k_merchant = NULL, *k_register = NULL, *k_pay = NULL, *k_hold = NULL;
  g_autofree char *k_capture = NULL, *k_refund = NULL, *k_refused = NULL, *k_item = NULL;
  g_autofree char *sk = NULL, *pay_body = NULL, *hold_body = NULL, *batch = NULL;
  g_autofree char *path = NULL, *refund_body = NULL;
  g_autoptr(OtResponse) merchant = NULL, reg = NULL, pay = NULL, hold = NULL, reused = NULL;
  g_autoptr(OtResponse) capture = NULL, refund = NULL, refused = NULL, items = NULL;
  g_autoptr(OtResponse) items_again = NULL, after_restart = NULL;
  g_autoptr(OtCard) card = NULL;
  g_autoptr(OtCard) fresh = NULL;
  JsonObject *item;

  secrets = g_ptr_array_new_with_free_func ((GDestroyNotify) secret_free);
  k_merchant = distinctive_key ("merchant");
  k_register = distinctive_key ("register");
  k_pay = distinctive_key ("pay");
  k_hold = distinctive_key ("hold");
  k_capture = distinctive_key ("capture");
  k_refund = distinctive_key ("refund");
  k_refused = distinctive_key ("refused");
  k_item = distinctive_key ("batch-item");

  merchant = keyed_twice (gw, "/v1/admin/merchants", admin, k_merchant,
                          "{\"name\":\"Key Mall\",\"category\":\"shopping\"}", 200);
  sk = g_strdup (ot_json_string (ot_response_object (merchant), "secret_key"));
  card = ot_new_card (gw, 50000, "key-pass-1");
  fresh = ot_new_card (gw, 10000, NULL);
  {
    g_autofree char *body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"key-pass-2\"}",
                                             fresh->number);

    reg = keyed_twice (gw, "/v1/cards/register", NULL, k_register, body, 200);
  }

  pay_body = g_strdup_printf ("{\"card_number\":\"%s\",\"password\":\"key-pass-1\","
                              "\"amount\":5000,\"currency\":\"krw\",\"order_id\":\"o1\","
                              "\"capture\":true}", card->number);
  pay = keyed_twice (gw, "/v1/payments", sk, k_pay, pay_body, 200);
  {
    g_autofree char *other = g_strdup_printf ("{\"card_number\":\"%s\",\"password\":"
                                              "\"key-pass-1\",\"amount\":5001,\"currency\":"
                                              "\"krw\",\"order_id\":\"o1\",\"capture\":true}",
                                              card->number);

    reused = ot_request (gw, "POST", "/v1/payments", sk, k_pay, other);
    ot_assert_error (reused, 422, "idempotency_error", "idempotency_key_reused");
  }
  hold_body = g_strdup_printf ("{\"card_number\":\"%s\",\"password\":\"key-pass-1\","
                               "\"amount\":3000,\"currency\":\"krw\",\"order_id\":\"o2\","
                               "\"capture\":false}", card->number);
  hold = keyed_twice (gw, "/v1/payments", sk, k_hold, hold_body, 200);
  path = g_strdup_printf ("/v1/payments/%s/capture",
                          ot_json_string (ot_response_object (hold), "id"));
  capture = keyed_twice (gw, path, sk, k_capture, "{\"amount\":1000}", 200);
  refund_body = g_strdup_printf ("{\"payment\":\"%s\",\"amount\":2000}",
                                 ot_json_string (ot_response_object (pay), "id"));
  refund = keyed_twice (gw, "/v1/refunds", sk, k_refund, refund_body, 200);
  /* A refusal is kept under its key too. */
  refused = keyed_twice (gw, "/v1/payments", sk, k_refused, "{\"amount\":-1}", 400);

  batch = g_strdup_printf ("{\"payments\":[{\"idempotency_key\":\"%s\",\"card_number\":"
                           "\"%s\",\"password\":\"key-pass-1\",\"amount\":1000,"
                           "\"currency\":\"krw\",\"order_id\":\"o3\",\"capture\":true}]}",
                           k_item, card->number);
  items = ot_request (gw, "POST", "/v1/payments/batch", sk, NULL, batch);
  items_again = ot_request (gw, "POST", "/v1/payments/batch", sk, NULL, batch);
  ot_assert_status (items, 200);
  ot_assert_status (items_again, 200);
  item = json_array_get_object_element (ot_json_array (ot_response_object (items_again), "data"),
                                        0);
  g_assert_true (ot_json_bool (item, "replayed"));
  ot_assert_card_balance (gw, card->number, "key-pass-1", 50000 - 5000 + 2000 - 1000 - 1000,
                          50000 - 5000 + 2000 - 1000 - 1000);

  scan_everything (gw, "while running");
  ot_gateway_terminate (gw, SIGTERM);
  scan_everything (gw, "after SIGTERM");

  ot_gateway_restart (gw);
  after_restart = ot_request (gw, "POST", "/v1/payments", sk, k_pay, pay_body);
  assert_replayed (pay, after_restart);

  g_clear_pointer (&secrets, g_ptr_array_unref);
  ot_gateway_stop (gw);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/secrets/at-rest", test_no_secrets_at_rest);
  g_test_add_func ("/secrets/idempotency-keys", test_idempotency_keys_at_rest);

  return g_test_run ();
}
