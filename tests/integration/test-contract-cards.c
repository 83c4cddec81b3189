/* test-contract-cards.c: the card-holder endpoints
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "onepin-test-gateway.h"

static OtGateway *gw;

static char *
creds (const char *number,
       const char *password)
{
  return g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\"}", number, password);
}

static OtResponse *
card_post (const char *endpoint,
           const char *body)
{
  g_autofree char *path = g_strconcat ("/v1/cards/", endpoint, NULL);

  return ot_request (gw, "POST", path, NULL, NULL, body);
}

static void
assert_param (OtResponse *r,
              const char *param)
{
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                   ==, param);
}

static void
assert_no_number (OtResponse *r,
                  const char *number)
{
  if (strstr (r->body, number) != NULL)
    g_error ("a response contains the full card number: %s", r->body);
}

static void
test_register (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, NULL);
  g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"s3cret\", "
                                           "\"hint\": \"the usual\"}", card->number);
  g_autoptr(OtResponse) r = card_post ("register", body);
  g_autoptr(OtResponse) again = card_post ("register", body);
  g_autofree char *other = creds (card->number, "different");
  g_autoptr(OtResponse) again2 = card_post ("register", other);
  JsonObject *o;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_assert_cmpstr (ot_json_string (o, "card_id"), ==, card->id);
  g_assert_cmpstr (ot_json_string (o, "card_last4"), ==, card->number + 12);
  g_assert_cmpstr (ot_json_string (o, "state"), ==, "active");
  assert_no_number (r, card->number);

  ot_assert_error (again, 409, "invalid_request_error", "card_already_registered");
  ot_assert_error (again2, 409, "invalid_request_error", "card_already_registered");

  /* the first password stays */
  ot_assert_card_balance (gw, card->number, "s3cret", 10000, 10000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

/* A hint is counted in characters, as the pages' maxlength="100" counts
 * them: 100 Korean syllables (300 bytes) pass, 101 characters do not. */
static void
test_register_hint_length (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, NULL);
  g_autoptr(GString) hint = g_string_new (NULL);
  g_autofree char *too_long = NULL;
  g_autofree char *body = NULL;
  g_autoptr(OtResponse) refused = NULL;
  g_autoptr(OtResponse) r = NULL;

  for (guint i = 0; i < 100; i++)
    g_string_append (hint, "한");
  too_long = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"s3cret\", "
                              "\"hint\": \"%sx\"}", card->number, hint->str);
  refused = card_post ("register", too_long);
  ot_assert_error (refused, 400, "invalid_request_error", "parameter_invalid");
  assert_param (refused, "hint");
  g_assert_nonnull (strstr (refused->body, "100 characters"));

  body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"s3cret\", \"hint\": \"%s\"}",
                          card->number, hint->str);
  r = card_post ("register", body);
  ot_assert_status (r, 200);
}

static void
test_register_password_length (void)
{
  const struct
  {
    const char *unit;
    guint n;
    gboolean ok;
  } cases[] = {
    { "a", 3, FALSE }, { "a", 4, TRUE }, { "a", 64, TRUE }, { "a", 65, FALSE },
    /* characters, not bytes */
    { "\xea\xb0\x80", 3, FALSE }, { "\xea\xb0\x80", 4, TRUE },
    { "\xea\xb0\x80", 64, TRUE }, { "\xea\xb0\x80", 65, FALSE },
    { "", 0, FALSE },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(OtCard) card = ot_new_card (gw, 5000, NULL);
      g_autofree char *password = ot_repeat (cases[i].unit, cases[i].n);
      g_autofree char *body = creds (card->number, password);
      g_autoptr(OtResponse) r = card_post ("register", body);

      g_test_message ("password: %u x \"%s\"", cases[i].n, cases[i].unit);
      if (cases[i].ok)
        {
          ot_assert_status (r, 200);
          ot_assert_card_balance (gw, card->number, password, 5000, 5000);
        }
      else
        {
          g_autoptr(OtResponse) ok = NULL;
          g_autofree char *good = creds (card->number, "good-pass");

          ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
          assert_param (r, "password");
          /* nothing was registered */
          ok = card_post ("register", good);
          ot_assert_status (ok, 200);
        }
    }
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_register_unknown (void)
{
  g_autofree char *unknown = ot_random_card_number ("9410");
  g_autofree char *b1 = creds (unknown, "abcd1234");
  g_autofree char *b2 = creds ("941000000000000", "abcd1234");
  g_autofree char *b3 = creds ("9410000000000001", "abcd1234");
  g_autoptr(OtResponse) r1 = card_post ("register", b1);
  g_autoptr(OtResponse) r2 = card_post ("register", b2);
  g_autoptr(OtResponse) r3 = card_post ("register", b3);

  g_assert_false (ot_luhn_valid ("9410000000000001"));
  ot_assert_error (r1, 402, "card_error", "invalid_credentials");
  ot_assert_error (r2, 402, "card_error", "invalid_credentials");
  ot_assert_error (r3, 402, "card_error", "invalid_credentials");
  g_assert_cmpstr (r1->body, ==, r2->body);
  g_assert_cmpstr (r1->body, ==, r3->body);
}

static void
test_password_change (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "old-pass");
  g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"old-pass\", "
                                           "\"new_password\": \"new-pass\", \"hint\": \"h\"}",
                                           card->number);
  g_autoptr(OtResponse) r = card_post ("password", body);
  g_autoptr(OtResponse) replay = NULL;
  g_autoptr(OtResponse) old = NULL;
  g_autofree char *old_creds = creds (card->number, "old-pass");
  JsonObject *o;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_assert_cmpstr (ot_json_string (o, "card_id"), ==, card->id);
  g_assert_cmpstr (ot_json_string (o, "card_last4"), ==, card->number + 12);
  g_assert_cmpstr (ot_json_string (o, "state"), ==, "active");
  assert_no_number (r, card->number);

  /* the old password no longer works, anywhere */
  old = card_post ("balance", old_creds);
  ot_assert_error (old, 402, "card_error", "invalid_credentials");
  replay = card_post ("password", body);
  ot_assert_error (replay, 402, "card_error", "invalid_credentials");
  ot_assert_card_balance (gw, card->number, "new-pass", 10000, 10000);

  /* hint is optional */
  {
    g_autofree char *b = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"new-pass\", "
                                          "\"new_password\": \"third-pass\"}", card->number);
    g_autoptr(OtResponse) r2 = card_post ("password", b);

    ot_assert_status (r2, 200);
  }

  /* the new password is checked like a registered one */
  {
    g_autofree char *b = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"third-pass\", "
                                          "\"new_password\": \"abc\"}", card->number);
    g_autofree char *b65 = NULL;
    g_autofree char *long_pw = ot_repeat ("x", 65);
    g_autoptr(OtResponse) r3 = card_post ("password", b);
    g_autoptr(OtResponse) r4 = NULL;

    ot_assert_error (r3, 400, "invalid_request_error", "parameter_invalid");
    assert_param (r3, "new_password");
    b65 = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"third-pass\", "
                           "\"new_password\": \"%s\"}", card->number, long_pw);
    r4 = card_post ("password", b65);
    ot_assert_error (r4, 400, "invalid_request_error", "parameter_invalid");
    assert_param (r4, "new_password");
  }
  {
    g_autofree char *b = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"third-pass\"}",
                                          card->number);
    g_autoptr(OtResponse) r5 = card_post ("password", b);

    ot_assert_error (r5, 400, "invalid_request_error", "parameter_missing");
    assert_param (r5, "new_password");
  }
  ot_assert_card_balance (gw, card->number, "third-pass", 10000, 10000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_balance (void)
{
  g_autoptr(GPtrArray) cards = NULL;
  g_autoptr(OtResponse) issue = ot_request (gw, "POST", "/v1/admin/card_batches",
                                            ot_gateway_admin_token (gw), NULL,
                                            "{\"count\": 1, \"value\": 20000}");
  JsonObject *issued;
  const char *number;
  g_autofree char *body = NULL;
  g_autoptr(OtResponse) r = NULL;
  JsonObject *o;

  ot_assert_status (issue, 200);
  issued = json_array_get_object_element (ot_json_array (ot_response_object (issue), "cards"), 0);
  number = ot_json_string (issued, "number");
  ot_register_card (gw, number, "pw-balance");

  body = creds (number, "pw-balance");
  r = card_post ("balance", body);
  ot_assert_status (r, 200);
  assert_no_number (r, number);
  o = ot_response_object (r);
  g_assert_cmpstr (ot_json_string (o, "card_id"), ==, ot_json_string (issued, "id"));
  g_assert_cmpstr (ot_json_string (o, "card_last4"), ==, number + 12);
  g_assert_cmpstr (ot_json_string (o, "state"), ==, "active");
  g_assert_cmpint (ot_json_int (o, "balance"), ==, 20000);
  g_assert_cmpint (ot_json_int (o, "available"), ==, 20000);
  g_assert_cmpstr (ot_json_string (o, "currency"), ==, "krw");
  g_assert_cmpint (ot_json_int (o, "expires_at"), ==, ot_json_int (issued, "expires_at"));
  g_assert_cmpint (ot_json_int (o, "points"), ==, 0);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_balance_holds (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "pw-holds");
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Holds Mall", &secret);
  g_autoptr(JsonObject) p1 = ot_pay (gw, secret, card->number, "pw-holds", 3000, FALSE);
  g_autoptr(JsonObject) p2 = NULL;
  g_autofree char *cancel = NULL;
  g_autofree char *capture = NULL;

  ot_assert_card_balance (gw, card->number, "pw-holds", 10000, 7000);
  p2 = ot_pay (gw, secret, card->number, "pw-holds", 2000, FALSE);
  ot_assert_card_balance (gw, card->number, "pw-holds", 10000, 5000);

  cancel = g_strdup_printf ("/v1/payments/%s/cancel", ot_json_string (p1, "id"));
  {
    g_autoptr(OtResponse) r = ot_request (gw, "POST", cancel, secret, NULL, NULL);

    ot_assert_status (r, 200);
  }
  ot_assert_card_balance (gw, card->number, "pw-holds", 10000, 8000);

  capture = g_strdup_printf ("/v1/payments/%s/capture", ot_json_string (p2, "id"));
  {
    g_autoptr(OtResponse) r = ot_request (gw, "POST", capture, secret, NULL, NULL);

    ot_assert_status (r, 200);
  }
  ot_assert_card_balance (gw, card->number, "pw-holds", 8000, 8000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static JsonObject *
statement (const char *number,
           const char *password,
           const char *extra)
{
  g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\"%s}",
                                           number, password, extra ? extra : "");
  g_autoptr(OtResponse) r = card_post ("statement", body);

  ot_assert_status (r, 200);
  assert_no_number (r, number);
  return json_object_ref (ot_response_object (r));
}

static void
test_statement (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 50000, "pw-stmt");
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Statement Mall", &secret);
  g_autoptr(GPtrArray) pays = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(JsonObject) hold = NULL;
  g_autoptr(JsonObject) full = NULL;
  g_autoptr(GPtrArray) paged = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autofree char *cursor = NULL;
  JsonObject *summary, *paid;
  JsonArray *lines;
  gboolean more = TRUE;
  guint i, pages = 0;

  for (i = 0; i < 5; i++)
    g_ptr_array_add (pays, ot_pay (gw, secret, card->number, "pw-stmt", 1000, TRUE));
  {
    g_autofree char *body = g_strdup_printf ("{\"payment\": \"%s\", \"amount\": 500}",
                                             ot_json_string (pays->pdata[2], "id"));
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/refunds", secret, NULL, body);

    ot_assert_status (r, 200);
  }
  /* an open authorization is not a line; it shows in available only */
  hold = ot_pay (gw, secret, card->number, "pw-stmt", 2000, FALSE);

  full = statement (card->number, "pw-stmt", NULL);
  summary = ot_json_object (full, "summary");
  g_assert_cmpint (ot_json_int (summary, "initial_amount"), ==, 50000);
  g_assert_cmpint (ot_json_int (summary, "total_recharged"), ==, 0);
  g_assert_cmpint (ot_json_int (summary, "total_refunded"), ==, 500);
  paid = ot_json_object (summary, "total_paid");
  g_assert_cmpint (ot_json_int (paid, "internet"), ==, 5000);
  g_assert_cmpint (ot_json_int (paid, "telephone"), ==, 0);
  g_assert_cmpint (ot_json_int (paid, "telephone_information"), ==, 0);
  g_assert_cmpint (ot_json_int (paid, "prepaid_mobile"), ==, 0);
  g_assert_cmpint (ot_json_int (summary, "balance"), ==, 45500);
  g_assert_cmpint (ot_json_int (summary, "available"), ==, 43500);
  g_assert_cmpstr (ot_json_string (summary, "currency"), ==, "krw");
  g_assert_cmpint (ot_json_int (summary, "expires_at"), >, g_get_real_time () / G_USEC_PER_SEC);
  g_assert_cmpint (ot_json_int (summary, "points"), >=, 0);
  g_assert_false (ot_json_bool (full, "has_more"));

  lines = ot_json_array (full, "data");
  g_assert_cmpuint (json_array_get_length (lines), ==, 7);
  for (i = 0; i < 7; i++)
    {
      JsonObject *l = json_array_get_object_element (lines, i);
      const char *type = ot_json_string (l, "type");

      g_assert_true (g_str_has_prefix (ot_json_string (l, "id"), "ln_"));
      g_assert_cmpstr (ot_json_string (l, "object"), ==, "statement_line");
      if (i + 1 < 7)
        {
          JsonObject *older = json_array_get_object_element (lines, i + 1);

          /* newest first, and each line moves the balance by its amount */
          g_assert_cmpint (ot_json_int (l, "balance_after"), ==,
                           ot_json_int (older, "balance_after") + ot_json_int (l, "amount"));
          g_assert_cmpint (ot_json_int (l, "created"), >=, ot_json_int (older, "created"));
        }
      if (i == 0)
        {
          g_assert_cmpstr (type, ==, "refund");
          g_assert_cmpint (ot_json_int (l, "amount"), ==, 500);
          g_assert_cmpint (ot_json_int (l, "balance_after"), ==, 45500);
          g_assert_cmpstr (ot_json_string (l, "merchant"), ==, mch);
        }
      else if (i < 6)
        {
          g_assert_cmpstr (type, ==, "payment");
          g_assert_cmpint (ot_json_int (l, "amount"), ==, -1000);
          g_assert_cmpstr (ot_json_string (l, "channel"), ==, "internet");
          g_assert_cmpstr (ot_json_string (l, "merchant"), ==, mch);
          g_assert_cmpstr (ot_json_string (l, "payment"), ==,
                           ot_json_string (pays->pdata[5 - i], "id"));
        }
      else
        {
          g_assert_cmpstr (type, ==, "issue");
          g_assert_cmpint (ot_json_int (l, "amount"), ==, 50000);
          g_assert_cmpint (ot_json_int (l, "balance_after"), ==, 50000);
          g_assert_true (json_object_get_null_member (l, "merchant"));
          g_assert_true (json_object_get_null_member (l, "payment"));
        }
    }

  /* pages of 3: 3 + 3 + 1, the same lines in the same order */
  while (more)
    {
      g_autofree char *extra = cursor
        ? g_strdup_printf (", \"limit\": 3, \"starting_after\": \"%s\"", cursor)
        : g_strdup (", \"limit\": 3");
      g_autoptr(JsonObject) page = statement (card->number, "pw-stmt", extra);
      JsonArray *data = ot_json_array (page, "data");
      guint n = json_array_get_length (data);

      pages++;
      g_assert_cmpuint (n, ==, pages < 3 ? 3 : 1);
      more = ot_json_bool (page, "has_more");
      g_assert_true (more == (pages < 3));
      for (i = 0; i < n; i++)
        g_ptr_array_add (paged, json_object_ref (json_array_get_object_element (data, i)));
      g_free (cursor);
      cursor = g_strdup (ot_json_string (json_array_get_object_element (data, n - 1), "id"));
      g_assert_cmpuint (pages, <=, 3);
    }
  g_assert_cmpuint (paged->len, ==, 7);
  for (i = 0; i < 7; i++)
    g_assert_cmpstr (ot_json_string (paged->pdata[i], "id"), ==,
                     ot_json_string (json_array_get_object_element (lines, i), "id"));

  /* Line ids are opaque: nothing in them counts the ledger's lines, and a
   * cursor works only on the card whose statement gave it. */
  {
    g_autoptr(OtCard) other = ot_new_card (gw, 10000, "pw-other");
    g_autoptr(JsonObject) theirs = statement (other->number, "pw-other", NULL);
    const char *their_line = ot_json_string (json_array_get_object_element (ot_json_array (theirs, "data"), 0), "id");
    g_autofree char *flipped = g_strdup (cursor);
    const char *forged[] = { their_line, "ln_1", "ln_00000000000000000000000000000000",
                             "ln_zz", flipped };

    flipped[strlen (flipped) - 1] = flipped[strlen (flipped) - 1] == '0' ? '1' : '0';
    for (i = 0; i < 7; i++)
      {
        const char *id = ot_json_string (json_array_get_object_element (lines, i), "id");

        g_assert_cmpuint (strlen (id), ==, 35);
        g_assert_cmpuint (strspn (id + 3, "0123456789abcdef"), ==, 32);
      }
    for (i = 0; i < G_N_ELEMENTS (forged); i++)
      {
        g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"pw-stmt\", "
                                                 "\"starting_after\": \"%s\"}",
                                                 card->number, forged[i]);
        g_autoptr(OtResponse) r = card_post ("statement", body);

        g_test_message ("starting_after %s", forged[i]);
        ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
        assert_param (r, "starting_after");
      }
  }

  /* limit is 1 to 100 */
  {
    const char *bad[] = { ", \"limit\": 0", ", \"limit\": 101", ", \"limit\": \"3\"" };

    for (i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"pw-stmt\"%s}",
                                                 card->number, bad[i]);
        g_autoptr(OtResponse) r = card_post ("statement", body);

        ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
        assert_param (r, "limit");
      }
  }
  json_object_unref (ot_assert_audit_balanced (gw));

  /* a refund line names the refunded payment */
  g_assert_cmpstr (ot_json_string (json_array_get_object_element (lines, 0), "payment"), ==,
                   ot_json_string (pays->pdata[2], "id"));
}

static void
test_invalid_credentials_identical (void)
{
  const char *endpoints[] = { "balance", "statement", "password", "payments" };
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Creds Mall", &secret);
  g_autofree char *unknown = ot_random_card_number ("9410");
  gsize e, i;

  for (e = 0; e < G_N_ELEMENTS (endpoints); e++)
    {
      g_autoptr(OtCard) card = ot_new_card (gw, 5000, "right-pw");
      g_autofree char *bad_luhn = g_strdup (card->number);
      const char *numbers[] = { NULL, NULL, NULL, "941012345678901", "94101234567890123",
                                "abcdefghijklmnop", "", "9410 1234 5678 9012" };
      const char *passwords[] = { "wrong-pw", "right-pw", "x", "right-pw", "right-pw",
                                  "right-pw", "right-pw", "right-pw" };
      g_autofree char *first = NULL;

      bad_luhn[15] = bad_luhn[15] == '9' ? '0' : bad_luhn[15] + 1;
      numbers[0] = card->number;
      numbers[1] = unknown;
      numbers[2] = bad_luhn;

      for (i = 0; i < G_N_ELEMENTS (numbers); i++)
        {
          g_autofree char *body = NULL;
          g_autoptr(OtResponse) r = NULL;

          if (g_str_equal (endpoints[e], "payments"))
            {
              body = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"%s\", "
                                      "\"amount\": 100, \"currency\": \"krw\", "
                                      "\"order_id\": \"o\", \"capture\": true}",
                                      numbers[i], passwords[i]);
              r = ot_request (gw, "POST", "/v1/payments", secret, NULL, body);
            }
          else if (g_str_equal (endpoints[e], "password"))
            {
              body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"%s\", "
                                      "\"new_password\": \"another\"}", numbers[i], passwords[i]);
              r = card_post ("password", body);
            }
          else
            {
              body = creds (numbers[i], passwords[i]);
              r = card_post (endpoints[e], body);
            }

          g_test_message ("%s: %s", endpoints[e], body);
          ot_assert_error (r, 402, "card_error", "invalid_credentials");
          if (first == NULL)
            first = g_strdup (r->body);
          else
            g_assert_cmpstr (r->body, ==, first);
        }

      /* one wrong password did not hurt: the card still works, unchanged */
      ot_assert_card_balance (gw, card->number, "right-pw", 5000, 5000);
    }
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_not_active (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, NULL);
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Inactive Mall", &secret);
  g_autofree char *c = creds (card->number, "any-pw");
  g_autofree char *pw = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"any-pw\", "
                                         "\"new_password\": \"another\"}", card->number);
  g_autofree char *pay = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"any-pw\", "
                                          "\"amount\": 100, \"currency\": \"krw\", "
                                          "\"order_id\": \"o\", \"capture\": true}", card->number);
  g_autoptr(OtResponse) r1 = card_post ("balance", c);
  g_autoptr(OtResponse) r2 = card_post ("statement", c);
  g_autoptr(OtResponse) r3 = card_post ("password", pw);
  g_autoptr(OtResponse) r4 = ot_request (gw, "POST", "/v1/payments", secret, NULL, pay);

  ot_assert_error (r1, 402, "card_error", "card_not_active");
  ot_assert_error (r2, 402, "card_error", "card_not_active");
  ot_assert_error (r3, 402, "card_error", "card_not_active");
  ot_assert_error (r4, 402, "card_error", "card_not_active");

  /* the declined payment moved nothing; the card can still be registered */
  ot_register_card (gw, card->number, "now-set");
  ot_assert_card_balance (gw, card->number, "now-set", 10000, 10000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_no_full_number (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 30000, NULL);
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Privacy Mall", &secret);
  g_autofree char *c = creds (card->number, "pw-priv");
  g_autofree char *pay = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"pw-priv\", "
                                          "\"amount\": 1000, \"currency\": \"krw\", "
                                          "\"order_id\": \"o\", \"capture\": false}", card->number);
  g_autoptr(GPtrArray) rs = g_ptr_array_new_with_free_func ((GDestroyNotify) ot_response_free);
  g_autofree char *pid = NULL;
  g_autofree char *path = NULL;
  g_autofree char *refund = NULL;
  guint i;

  g_ptr_array_add (rs, card_post ("register", c));
  g_ptr_array_add (rs, card_post ("balance", c));
  g_ptr_array_add (rs, card_post ("statement", c));
  g_ptr_array_add (rs, ot_request (gw, "POST", "/v1/payments", secret, NULL, pay));
  ot_assert_status ((OtResponse *) rs->pdata[3], 200);
  pid = g_strdup (ot_json_string (ot_response_object (rs->pdata[3]), "id"));
  path = g_strdup_printf ("/v1/payments/%s", pid);
  g_ptr_array_add (rs, ot_request (gw, "GET", path, secret, NULL, NULL));
  g_free (path);
  path = g_strdup_printf ("/v1/payments/%s/capture", pid);
  g_ptr_array_add (rs, ot_request (gw, "POST", path, secret, NULL, "{}"));
  refund = g_strdup_printf ("{\"payment\": \"%s\"}", pid);
  g_ptr_array_add (rs, ot_request (gw, "POST", "/v1/refunds", secret, NULL, refund));
  g_ptr_array_add (rs, ot_request (gw, "GET", "/v1/payments", secret, NULL, NULL));
  g_ptr_array_add (rs, card_post ("statement", c));

  for (i = 0; i < rs->len; i++)
    {
      OtResponse *r = rs->pdata[i];

      ot_assert_status (r, 200);
      assert_no_number (r, card->number);
    }
  ot_assert_card_balance (gw, card->number, "pw-priv", 30000, 30000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_bad_input (void)
{
  const char *endpoints[] = { "register", "password", "balance", "statement" };
  const char *bodies[] = { "[]", "\"x\"", "42", "null", "{", "{}}", "{\"number\": \"\xc3\x28\"}" };
  g_autoptr(OtCard) card = ot_new_card (gw, 5000, "pw-bad");
  gsize e, i;

  for (e = 0; e < G_N_ELEMENTS (endpoints); e++)
    {
      for (i = 0; i < G_N_ELEMENTS (bodies); i++)
        {
          g_autoptr(OtResponse) r = card_post (endpoints[e], bodies[i]);
          g_autofree char *shown = g_strescape (bodies[i], NULL);

          /* Escaped: some bodies are not UTF-8, and TAP output must be. */
          g_test_message ("%s: %s", endpoints[e], shown);
          ot_assert_error (r, 400, "invalid_request_error", "body_invalid");
        }
      {
        g_autofree char *path = g_strconcat ("/v1/cards/", endpoints[e], NULL);
        g_autoptr(OtResponse) r = ot_request (gw, "POST", path, NULL, NULL, NULL);
        g_autoptr(OtResponse) r2 = card_post (endpoints[e], "");

        /* an empty body: a 400 either as no JSON or as missing fields */
        ot_assert_error (r, 400, "invalid_request_error", NULL);
        ot_assert_error (r2, 400, "invalid_request_error", NULL);
      }
      const char *extra = g_str_equal (endpoints[e], "password")
                            ? ", \"new_password\": \"pw-new1\"" : "";
      {
        g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": \"pw-bad\"%s, "
                                                 "\"colour\": 1}", card->number, extra);
        g_autoptr(OtResponse) r = card_post (endpoints[e], body);

        ot_assert_error (r, 400, "invalid_request_error", "parameter_unknown");
        assert_param (r, "colour");
      }
      {
        g_autofree char *body = g_strdup_printf ("{\"number\": 9410123412341234, "
                                                 "\"password\": \"pw-bad\"%s}", extra);
        g_autoptr(OtResponse) r = card_post (endpoints[e], body);

        ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
        assert_param (r, "number");
      }
      {
        g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\", \"password\": 1234%s}",
                                                 card->number, extra);
        g_autoptr(OtResponse) r = card_post (endpoints[e], body);

        ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
        assert_param (r, "password");
      }
      {
        g_autofree char *body = g_strdup_printf ("{\"number\": \"%s\"%s}", card->number, extra);
        g_autoptr(OtResponse) r = card_post (endpoints[e], body);

        ot_assert_error (r, 400, "invalid_request_error", "parameter_missing");
        assert_param (r, "password");
      }
    }
  ot_assert_card_balance (gw, card->number, "pw-bad", 5000, 5000);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_points (void)
{
  g_autoptr(OtCard) card = ot_new_card (gw, 50000, "pw-points");
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Points Mall", &secret);
  g_autoptr(JsonObject) p = ot_pay (gw, secret, card->number, "pw-points", 10000, TRUE);
  g_autoptr(JsonObject) b = ot_card_balance (gw, card->number, "pw-points");
  g_autoptr(JsonObject) s = statement (card->number, "pw-points", NULL);

  /* points_rate=100 points per 10000 paid by default */
  g_assert_cmpint (ot_json_int (b, "points"), ==, 100);
  g_assert_cmpint (ot_json_int (ot_json_object (s, "summary"), "points"), ==, 100);
  json_object_unref (ot_assert_audit_balanced (gw));
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/contract/cards/register", test_register);
  g_test_add_func ("/contract/cards/register/password-length", test_register_password_length);
  g_test_add_func ("/contract/cards/register/hint-length", test_register_hint_length);
  g_test_add_func ("/contract/cards/register/unknown", test_register_unknown);
  g_test_add_func ("/contract/cards/password", test_password_change);
  g_test_add_func ("/contract/cards/balance", test_balance);
  g_test_add_func ("/contract/cards/balance/holds", test_balance_holds);
  g_test_add_func ("/contract/cards/statement", test_statement);
  g_test_add_func ("/contract/cards/invalid-credentials-identical", test_invalid_credentials_identical);
  g_test_add_func ("/contract/cards/not-active", test_not_active);
  g_test_add_func ("/contract/cards/no-full-number", test_no_full_number);
  g_test_add_func ("/contract/cards/bad-input", test_bad_input);
  g_test_add_func ("/contract/cards/points", test_points);

  /* the per-address failure limit is tested in contract-limits; here it
   * must not couple the tests together */
  gw = ot_gateway_start ("[limits]\nfailures_per_minute=100000\n", FALSE);
  ret = g_test_run ();
  ot_gateway_stop (gw);
  return ret;
}
