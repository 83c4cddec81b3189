/* test-contract-admin.c: startup, health, authentication and admin endpoints
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "onepin-test-gateway.h"

static OtGateway *gw;

static const gint64 denominations[] = { 5000, 10000, 20000, 30000, 50000, 100000 };

static gint64
audit_cards_total (void)
{
  g_autoptr(JsonObject) a = ot_assert_audit_balanced (gw);

  return ot_json_int (a, "cards_balance_total");
}

static void
test_startup_files (void)
{
  g_autofree char *url_path = g_build_filename (ot_gateway_data_dir (gw), "gateway.url", NULL);
  g_autofree char *token_path = g_build_filename (ot_gateway_data_dir (gw), "admin.token", NULL);
  g_autofree char *url = NULL;
  g_autofree char *token = NULL;
  g_autofree char *log = NULL;
  g_autofree char *line = NULL;
  GStatBuf st;

  g_assert_true (g_str_has_prefix (ot_gateway_url (gw), "http://127.0.0.1:"));

  /* both exactly what they hold: a reader that does not strip still works */
  g_assert_true (g_file_get_contents (url_path, &url, NULL, NULL));
  g_assert_cmpstr (url, ==, ot_gateway_url (gw));

  g_assert_cmpint (g_stat (token_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (token_path, &token, NULL, NULL));
  g_assert_cmpstr (token, ==, ot_gateway_admin_token (gw));
  g_assert_cmpuint (strlen (token), >=, 16);

  g_assert_true (g_file_get_contents (ot_gateway_log_path (gw), &log, NULL, NULL));
  line = g_strdup_printf ("listening on %s\n", ot_gateway_url (gw));
  g_assert_nonnull (strstr (log, line));
}

static void
test_healthz (void)
{
  g_autoptr(OtResponse) r = ot_request (gw, "GET", "/healthz", NULL, NULL, NULL);
  JsonObject *o;

  ot_assert_status (r, 200);
  g_assert_true (g_str_has_prefix (ot_response_header (r, "Content-Type"), "application/json"));
  o = ot_response_object (r);
  g_assert_cmpuint (json_object_get_size (o), ==, 1);
  g_assert_cmpstr (ot_json_string (o, "status"), ==, "ok");
}

/* HEAD is GET without the body; a wrong method is 404 with Allow. */
static void
test_methods (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Methods Mall", &secret);
  g_autoptr(OtResponse) get = ot_request (gw, "GET", "/healthz", NULL, NULL, NULL);
  g_autoptr(OtResponse) head = ot_request (gw, "HEAD", "/healthz", NULL, NULL, NULL);
  g_autoptr(OtResponse) list = ot_request (gw, "HEAD", "/v1/payments", secret, NULL, NULL);
  g_autoptr(OtResponse) anon = ot_request (gw, "HEAD", "/v1/payments", NULL, NULL, NULL);
  g_autoptr(OtResponse) del = ot_request (gw, "DELETE", "/v1/payments", secret, NULL, NULL);
  g_autoptr(OtResponse) post = ot_request (gw, "POST", "/healthz", NULL, NULL, "{}");
  g_autofree char *length = g_strdup_printf ("%" G_GSIZE_FORMAT, get->body_len);

  ot_assert_status (head, 200);
  g_assert_cmpuint (head->body_len, ==, 0);
  g_assert_cmpstr (ot_response_header (head, "Content-Length"), ==, length);
  g_assert_true (g_str_has_prefix (ot_response_header (head, "Content-Type"), "application/json"));
  ot_assert_status (list, 200);
  g_assert_cmpuint (list->body_len, ==, 0);
  ot_assert_status (anon, 401);
  g_assert_cmpuint (anon->body_len, ==, 0);

  ot_assert_error (del, 404, "invalid_request_error", "method_not_allowed");
  g_assert_cmpstr (ot_response_header (del, "Allow"), ==, "POST, GET, HEAD");
  ot_assert_error (post, 404, "invalid_request_error", "method_not_allowed");
  g_assert_cmpstr (ot_response_header (post, "Allow"), ==, "GET, HEAD");
  g_assert_nonnull (mch);
}

static void
test_auth_admin (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Auth Mall", &secret);
  g_autofree char *wrong = g_strconcat (ot_gateway_admin_token (gw), "x", NULL);
  const char *token = ot_gateway_admin_token (gw);
  g_autofree char *prefix = g_strndup (token, strlen (token) - 1);
  const char *bearers[] = { NULL, "", "nope", wrong, prefix, secret };
  const char *merchant_body = "{\"name\": \"X\"}";
  const char *batch_body = "{\"count\": 1, \"value\": 5000}";
  gint64 before = audit_cards_total ();
  gsize i;

  g_assert_nonnull (mch);   /* a merchant exists, so its key is a real one */
  for (i = 0; i < G_N_ELEMENTS (bearers); i++)
    {
      g_autoptr(OtResponse) a = ot_request (gw, "POST", "/v1/admin/merchants", bearers[i], NULL, merchant_body);
      g_autoptr(OtResponse) b = ot_request (gw, "POST", "/v1/admin/card_batches", bearers[i], NULL, batch_body);
      g_autoptr(OtResponse) c = ot_request (gw, "GET", "/v1/admin/audit", bearers[i], NULL, NULL);

      ot_assert_error (a, 401, "authentication_error", "unauthorized");
      ot_assert_error (b, 401, "authentication_error", "unauthorized");
      ot_assert_error (c, 401, "authentication_error", "unauthorized");
      g_assert_cmpstr (ot_response_header (c, "WWW-Authenticate"), ==, "Bearer realm=\"onepin\"");
    }
  g_assert_cmpint (audit_cards_total (), ==, before);
}

static void
test_auth_merchant (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Auth Mall 2", &secret);
  g_autofree char *wrong = g_strconcat (secret, "x", NULL);
  g_autofree char *card_number = ot_random_card_number ("9410");
  g_autofree char *pay_body = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"abcd\", "
                                               "\"amount\": 100, \"currency\": \"krw\", "
                                               "\"order_id\": \"o1\", \"capture\": true}", card_number);
  const char *bearers[] = { NULL, "", "sk_nope", wrong, ot_gateway_admin_token (gw) };
  gsize i;

  g_assert_nonnull (mch);
  for (i = 0; i < G_N_ELEMENTS (bearers); i++)
    {
      g_autoptr(OtResponse) a = ot_request (gw, "POST", "/v1/payments", bearers[i], NULL, pay_body);
      g_autoptr(OtResponse) b = ot_request (gw, "GET", "/v1/payments", bearers[i], NULL, NULL);
      g_autoptr(OtResponse) c = ot_request (gw, "GET", "/v1/payments/pay_abc", bearers[i], NULL, NULL);
      g_autoptr(OtResponse) d = ot_request (gw, "POST", "/v1/payments/pay_abc/capture", bearers[i], NULL, "{}");
      g_autoptr(OtResponse) e = ot_request (gw, "POST", "/v1/payments/pay_abc/cancel", bearers[i], NULL, "{}");
      g_autoptr(OtResponse) f = ot_request (gw, "POST", "/v1/refunds", bearers[i], NULL, "{\"payment\": \"pay_abc\"}");

      ot_assert_error (a, 401, "authentication_error", "unauthorized");
      ot_assert_error (b, 401, "authentication_error", "unauthorized");
      ot_assert_error (c, 401, "authentication_error", "unauthorized");
      ot_assert_error (d, 401, "authentication_error", "unauthorized");
      ot_assert_error (e, 401, "authentication_error", "unauthorized");
      ot_assert_error (f, 401, "authentication_error", "unauthorized");
    }

  /* the right key works */
  {
    g_autoptr(OtResponse) ok = ot_request (gw, "GET", "/v1/payments", secret, NULL, NULL);

    ot_assert_status (ok, 200);
  }
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_merchant_create (void)
{
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/merchants",
                                        ot_gateway_admin_token (gw), NULL,
                                        "{\"name\": \"Demo Mall\", \"category\": \"shopping\"}");
  g_autoptr(OtResponse) r2 = ot_request (gw, "POST", "/v1/admin/merchants",
                                         ot_gateway_admin_token (gw), NULL,
                                         "{\"name\": \"Demo Mall\"}");
  JsonObject *o, *o2;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_assert_true (g_str_has_prefix (ot_json_string (o, "id"), "mch_"));
  g_assert_cmpstr (ot_json_string (o, "name"), ==, "Demo Mall");
  g_assert_cmpstr (ot_json_string (o, "category"), ==, "shopping");
  g_assert_true (g_str_has_prefix (ot_json_string (o, "secret_key"), "sk_"));
  g_assert_true (g_str_has_prefix (ot_json_string (o, "webhook_secret"), "whsec_"));
  g_assert_cmpuint (strlen (ot_json_string (o, "secret_key")), >=, 3 + 16);
  g_assert_cmpint (ABS (ot_json_int (o, "created") - now), <=, 5);

  /* the same name again is a different merchant with different secrets */
  ot_assert_status (r2, 200);
  o2 = ot_response_object (r2);
  g_assert_cmpstr (ot_json_string (o, "id"), !=, ot_json_string (o2, "id"));
  g_assert_cmpstr (ot_json_string (o, "secret_key"), !=, ot_json_string (o2, "secret_key"));
  g_assert_cmpstr (ot_json_string (o, "webhook_secret"), !=, ot_json_string (o2, "webhook_secret"));

  /* the key authenticates */
  {
    g_autoptr(OtResponse) l = ot_request (gw, "GET", "/v1/payments",
                                          ot_json_string (o, "secret_key"), NULL, NULL);

    ot_assert_status (l, 200);
  }
  json_object_unref (ot_assert_audit_balanced (gw));
}

static gboolean
file_contains (const char *path,
               const char *needle)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  gsize nlen = strlen (needle);
  gsize i;

  if (!g_file_get_contents (path, &contents, &len, NULL) || len < nlen)
    return FALSE;
  for (i = 0; i + nlen <= len; i++)
    if (contents[i] == needle[0] && memcmp (contents + i, needle, nlen) == 0)
      return TRUE;
  return FALSE;
}

static void
scan_dir (const char *dir,
          const char *needle)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        scan_dir (path, needle);
      else if (file_contains (path, needle))
        g_error ("the merchant secret key is stored in clear in %s", path);
    }
}

static void
test_merchant_secret_not_stored (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Secretive Mall", &secret);

  /* the secret key appears in the create response only, and only a keyed
   * hash is stored: the secret's bytes must be nowhere in the data dir */
  g_assert_nonnull (mch);
  g_assert_true (g_str_has_prefix (secret, "sk_"));
  scan_dir (ot_gateway_data_dir (gw), secret);
  scan_dir (ot_gateway_data_dir (gw), secret + 3);
  json_object_unref (ot_assert_audit_balanced (gw));
}

/* Names and categories are shown to others (receipts, statements, webhooks,
 * the card site, the wallet): what hides or turns text around is refused
 * like a control character, and nothing is written. */
static void
test_merchant_invisible (void)
{
  const struct
  {
    const char *body;
    const char *param;
  } refused[] = {
    { "{\"name\": \"\\u202ellaM omeD\"}", "name" },                /* right-to-left override */
    { "{\"name\": \"Demo\\u200bMall\"}", "name" },                 /* zero width space */
    { "{\"name\": \"\\ufeffDemo Mall\"}", "name" },                /* byte order mark */
    { "{\"name\": \"\\u2066Demo Mall\\u2069\"}", "name" },         /* isolates */
    { "{\"name\": \"Demo\\u00adMall\"}", "name" },                 /* soft hyphen */
    { "{\"name\": \"Demo\\u2060Mall\"}", "name" },                 /* word joiner */
    { "{\"name\": \"Demo \xe2\x80\xae" "llaM\"}", "name" },        /* U+202E unescaped */
    { "{\"name\": \"\\u3164\"}", "name" },                         /* Hangul filler */
    { "{\"name\": \"Demo\\ue000\"}", "name" },                     /* private use */
    { "{\"name\": \"Demo\\udb40\\udc67\\udb40\\udc7f\"}", "name" },   /* tags, no flag */
    { "{\"name\": \"Demo Mall\", \"category\": \"shop\\u0007\"}", "category" },
    { "{\"name\": \"Demo Mall\", \"category\": \"shop\\nping\"}", "category" },
    { "{\"name\": \"Demo Mall\", \"category\": \"\\u009bshop\"}", "category" },
    { "{\"name\": \"Demo Mall\", \"category\": \"\\u202eshop\"}", "category" },
    { "{\"name\": \"Demo Mall\", \"category\": \"shop\\u200f\"}", "category" },
  };
  const struct
  {
    const char *name;
    const char *category;
  } accepted[] = {
    { "데모 몰", "쇼핑" },
    { "Café Ünïcode", "épicerie" },
    { "🛍️ Shop 👍🏽", "🎁" },
    { "👩‍💻 Dev Mall", NULL },             /* a zero width joiner between emoji */
    { "سوق Mall", "مول" },                 /* right-to-left letters themselves */
    { "\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7\xf3\xa0\x81\xa2\xf3\xa0\x81\xb3\xf3\xa0\x81\xa3"
      "\xf3\xa0\x81\xb4\xf3\xa0\x81\xbf Highland Mall", NULL },  /* Scotland's flag: tags */
  };
  gint64 before = ot_gateway_query_int (gw, "SELECT COUNT(*) FROM merchants");

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/merchants",
                                            ot_gateway_admin_token (gw), NULL, refused[i].body);
      g_autofree char *shown = g_strescape (refused[i].body, NULL);

      g_test_message ("body: %s", shown);
      ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                       ==, refused[i].param);
    }
  g_assert_cmpint (ot_gateway_query_int (gw, "SELECT COUNT(*) FROM merchants"), ==, before);

  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      /* none of them needs escaping in JSON */
      g_autofree char *body = g_strdup_printf ("{\"name\": \"%s\"%s%s%s}", accepted[i].name,
                                               accepted[i].category ? ", \"category\": \"" : "",
                                               accepted[i].category ? accepted[i].category : "",
                                               accepted[i].category ? "\"" : "");
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/merchants",
                                            ot_gateway_admin_token (gw), NULL, body);
      JsonObject *o;

      g_test_message ("name: %s", accepted[i].name);
      ot_assert_status (r, 200);
      o = ot_response_object (r);
      g_assert_cmpstr (ot_json_string (o, "name"), ==, accepted[i].name);
      if (accepted[i].category != NULL)
        g_assert_cmpstr (ot_json_string (o, "category"), ==, accepted[i].category);
    }
  g_assert_cmpint (ot_gateway_query_int (gw, "SELECT COUNT(*) FROM merchants"), ==,
                   before + G_N_ELEMENTS (accepted));
}

static void
test_merchant_invalid (void)
{
  const struct
  {
    const char *body;
    const char *code;
    const char *param;
  } cases[] = {
    { "{}", "parameter_missing", "name" },
    { "{\"category\": \"shopping\"}", "parameter_missing", "name" },
    { "{\"name\": 5}", "parameter_invalid", "name" },
    /* null: ill-typed or missing, both are fair; the param is what matters */
    { "{\"name\": null}", NULL, "name" },
    { "{\"name\": \"\"}", "parameter_invalid", "name" },
    /* control characters would forge lines in text receipts and SMS */
    { "{\"name\": \"Demo\\r\\nPaid: 0 KRW\"}", "parameter_invalid", "name" },
    { "{\"name\": \"Demo\\tMall\"}", "parameter_invalid", "name" },
    { "{\"name\": \"Demo\\u007f\"}", "parameter_invalid", "name" },
    { "{\"name\": \"Demo\\u0085Mall\"}", "parameter_invalid", "name" },
    { "{\"name\": \"Demo\\u2028Mall\"}", "parameter_invalid", "name" },
    /* C0 at both ends, a terminal escape, C1; NUL is refused with the
     * body (a 400 all the same), as json-glib would cut the string there */
    { "{\"name\": \"Demo\\u0001Mall\"}", "parameter_invalid", "name" },
    { "{\"name\": \"Demo\\u001fMall\"}", "parameter_invalid", "name" },
    { "{\"name\": \"\\u001b[31mDemo\"}", "parameter_invalid", "name" },
    { "{\"name\": \"Demo\\u009fMall\"}", "parameter_invalid", "name" },
    { "{\"name\": \"Demo\\u0000Mall\"}", NULL, NULL },
    { "{\"name\": \"A\", \"category\": 7}", "parameter_invalid", "category" },
    { "{\"name\": \"A\", \"colour\": \"red\"}", "parameter_unknown", "colour" },
    { "[]", "body_invalid", NULL },
    { "[{\"name\": \"A\"}]", "body_invalid", NULL },
    { "\"name\"", "body_invalid", NULL },
    { "42", "body_invalid", NULL },
    { "null", "body_invalid", NULL },
    /* an empty body is not an object; whether it reads as "{}" with the
     * name missing or as no JSON at all, it is a 400 */
    { "", NULL, NULL },
    { "{", "body_invalid", NULL },
    { "{\"name\": \"A\"} x", "body_invalid", NULL },
    { "{\"name\": \"\xff\xfe\"}", "body_invalid", NULL },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/merchants",
                                            ot_gateway_admin_token (gw), NULL, cases[i].body);
      JsonObject *err;

      {
        /* Escaped: some bodies are not UTF-8, and TAP output must be. */
        g_autofree char *shown = g_strescape (cases[i].body, NULL);

        g_test_message ("body: %s", shown);
      }
      ot_assert_error (r, 400, "invalid_request_error", cases[i].code);
      err = ot_json_object (ot_response_object (r), "error");
      if (cases[i].param != NULL)
        g_assert_cmpstr (ot_json_string (err, "param"), ==, cases[i].param);
      else if (cases[i].code != NULL)
        g_assert_false (json_object_has_member (err, "param"));
    }

  /* no body at all */
  {
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/merchants",
                                          ot_gateway_admin_token (gw), NULL, NULL);

    ot_assert_error (r, 400, "invalid_request_error", NULL);
  }
  /* an embedded NUL */
  {
    static const char nul_body[] = "{\"name\": \"A\0B\"}";
    g_autoptr(OtResponse) r = ot_request_raw (gw, "POST", "/v1/admin/merchants",
                                              ot_gateway_admin_token (gw), NULL,
                                              nul_body, sizeof nul_body - 1);

    g_assert_cmpuint (r->status, ==, 400);
    ot_assert_error (r, 400, "invalid_request_error", NULL);
  }
  /* The name's limit is in characters, as its message says: 255 Hangul
   * syllables (765 bytes) are a name, 256 are not. */
  {
    g_autoptr(GString) name = g_string_new (NULL);
    g_autofree char *body = NULL;
    g_autofree char *longer = NULL;
    g_autoptr(OtResponse) ok = NULL;
    g_autoptr(OtResponse) bad = NULL;

    for (guint i = 0; i < 255; i++)
      g_string_append (name, "가");
    body = g_strdup_printf ("{\"name\": \"%s\"}", name->str);
    longer = g_strdup_printf ("{\"name\": \"%s가\"}", name->str);
    ok = ot_request (gw, "POST", "/v1/admin/merchants", ot_gateway_admin_token (gw), NULL, body);
    bad = ot_request (gw, "POST", "/v1/admin/merchants", ot_gateway_admin_token (gw), NULL, longer);
    ot_assert_status (ok, 200);
    g_assert_cmpstr (ot_json_string (ot_response_object (ok), "name"), ==, name->str);
    ot_assert_error (bad, 400, "invalid_request_error", "parameter_invalid");
  }
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
check_batch (JsonObject *o,
             guint       count,
             gint64      value,
             GHashTable *seen)
{
  JsonArray *cards = ot_json_array (o, "cards");
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint i;

  g_assert_true (g_str_has_prefix (ot_json_string (o, "id"), "batch_"));
  g_assert_cmpuint (json_array_get_length (cards), ==, count);
  for (i = 0; i < count; i++)
    {
      JsonObject *c = json_array_get_object_element (cards, i);
      const char *number = ot_json_string (c, "number");
      gint64 expires = ot_json_int (c, "expires_at");

      g_assert_true (g_str_has_prefix (ot_json_string (c, "id"), "card_"));
      g_assert_cmpuint (strlen (number), ==, 16);
      g_assert_true (ot_luhn_valid (number));
      g_assert_true (g_str_has_prefix (number, "9410"));
      g_assert_cmpint (ot_json_int (c, "balance"), ==, value);
      g_assert_cmpstr (ot_json_string (c, "state"), ==, "sold");
      /* validity_years=5 by default */
      g_assert_cmpint (expires, >, now + 5 * 365 * 86400 - 3 * 86400);
      g_assert_cmpint (expires, <, now + 5 * 366 * 86400 + 3 * 86400);
      if (seen != NULL)
        {
          if (g_hash_table_contains (seen, number))
            g_error ("card number %s issued twice", number);
          g_hash_table_add (seen, g_strdup (number));
        }
    }
}

static void
test_batches_denominations (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (denominations); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"count\": 3, \"value\": %" G_GINT64_FORMAT
                                               ", \"currency\": \"krw\", \"channel\": \"online\"}",
                                               denominations[i]);
      gint64 before = audit_cards_total ();
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/card_batches",
                                            ot_gateway_admin_token (gw), NULL, body);

      ot_assert_status (r, 200);
      check_batch (ot_response_object (r), 3, denominations[i], seen);
      g_assert_cmpint (audit_cards_total (), ==, before + 3 * denominations[i]);
    }

  /* currency and channel have defaults */
  {
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/card_batches",
                                          ot_gateway_admin_token (gw), NULL,
                                          "{\"count\": 1, \"value\": 5000}");

    ot_assert_status (r, 200);
    check_batch (ot_response_object (r), 1, 5000, seen);
  }
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_batches_bad_value (void)
{
  const char *values[] = { "0", "1", "-5000", "4999", "5001", "15000", "40000",
                           "200000", "1000000", "5000.0", "\"5000\"", "null",
                           "9223372036854775807",
                           /* last: out of int64 range, still one bad field */
                           "99999999999999999999" };
  gint64 before = audit_cards_total ();
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"count\": 1, \"value\": %s, "
                                               "\"currency\": \"krw\", \"channel\": \"online\"}",
                                               values[i]);
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/card_batches",
                                            ot_gateway_admin_token (gw), NULL, body);

      g_test_message ("value: %s", values[i]);
      ot_assert_error (r, 400, "invalid_request_error",
                       g_str_equal (values[i], "null") ? NULL : "parameter_invalid");
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                       ==, "value");
    }
  g_assert_cmpint (audit_cards_total (), ==, before);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_batches_bad_count (void)
{
  const char *counts[] = { "0", "-1", "10001", "100000000", "1.5", "\"3\"", "true" };
  gint64 before = audit_cards_total ();
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"count\": %s, \"value\": 5000}", counts[i]);
      g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/card_batches",
                                            ot_gateway_admin_token (gw), NULL, body);

      g_test_message ("count: %s", counts[i]);
      ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                       ==, "count");
    }

  {
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/card_batches",
                                          ot_gateway_admin_token (gw), NULL, "{\"value\": 5000}");

    ot_assert_error (r, 400, "invalid_request_error", "parameter_missing");
    g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                     ==, "count");
  }
  {
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/card_batches",
                                          ot_gateway_admin_token (gw), NULL,
                                          "{\"count\": 1, \"value\": 5000, \"extra\": 1}");

    ot_assert_error (r, 400, "invalid_request_error", "parameter_unknown");
  }
  {
    g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/card_batches",
                                          ot_gateway_admin_token (gw), NULL,
                                          "{\"count\": 1, \"value\": 5000, \"channel\": \"moon\"}");

    ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
  }
  g_assert_cmpint (audit_cards_total (), ==, before);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_batches_max_count (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gint64 before = audit_cards_total ();
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/card_batches",
                                        ot_gateway_admin_token (gw), NULL,
                                        "{\"count\": 10000, \"value\": 5000}");

  ot_assert_status (r, 200);
  check_batch (ot_response_object (r), 10000, 5000, seen);
  g_assert_cmpuint (g_hash_table_size (seen), ==, 10000);
  g_assert_cmpint (audit_cards_total (), ==, before + 10000 * 5000);
}

static void
test_batches_random (void)
{
  g_autoptr(GPtrArray) a = ot_issue_cards (gw, 200, 5000);
  g_autoptr(GPtrArray) b = ot_issue_cards (gw, 200, 5000);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint close_pairs = 0;
  guint digit_counts[10] = { 0 };
  guint i, j;

  for (i = 0; i < a->len + b->len; i++)
    {
      OtCard *c = i < a->len ? a->pdata[i] : b->pdata[i - a->len];

      g_assert_false (g_hash_table_contains (seen, c->number));
      g_hash_table_add (seen, c->number);
      for (j = 4; j < 15; j++)
        digit_counts[c->number[j] - '0']++;
    }

  /* no sequence: neighbours in issue order are not close together */
  for (i = 0; i + 1 < a->len; i++)
    {
      OtCard *x = a->pdata[i], *y = a->pdata[i + 1];
      gint64 nx = g_ascii_strtoll (x->number + 4, NULL, 10) / 10;
      gint64 ny = g_ascii_strtoll (y->number + 4, NULL, 10) / 10;

      if (ABS (nx - ny) < 100000)
        close_pairs++;
    }
  g_assert_cmpuint (close_pairs, <=, 1);

  /* the random digits look uniform: 400 * 11 digits, ~440 each */
  for (j = 0; j < 10; j++)
    {
      g_assert_cmpuint (digit_counts[j], >, 300);
      g_assert_cmpuint (digit_counts[j], <, 600);
    }
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_audit (void)
{
  g_autoptr(JsonObject) a0 = ot_assert_audit_balanced (gw);
  g_autoptr(JsonObject) a1 = NULL;
  g_autoptr(JsonObject) a2 = NULL;
  g_autoptr(JsonObject) a3 = NULL;
  g_autoptr(JsonObject) p = NULL;
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, "pass1234");
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Audit Mall", &secret);
  g_autofree char *path = NULL;

  g_assert_nonnull (mch);
  g_assert_true (json_object_has_member (a0, "accounts_checked"));
  g_assert_true (json_object_has_member (a0, "entries_checked"));

  a1 = ot_assert_audit_balanced (gw);
  g_assert_cmpint (ot_json_int (a1, "cards_balance_total"), ==,
                   ot_json_int (a0, "cards_balance_total") + 10000);
  g_assert_cmpint (ot_json_int (a1, "pending_holds_total"), ==,
                   ot_json_int (a0, "pending_holds_total"));

  p = ot_pay (gw, secret, card->number, "pass1234", 3000, FALSE);
  a2 = ot_assert_audit_balanced (gw);
  g_assert_cmpint (ot_json_int (a2, "cards_balance_total"), ==,
                   ot_json_int (a1, "cards_balance_total"));
  g_assert_cmpint (ot_json_int (a2, "pending_holds_total"), ==,
                   ot_json_int (a1, "pending_holds_total") + 3000);

  path = g_strdup_printf ("/v1/payments/%s/capture", ot_json_string (p, "id"));
  {
    g_autoptr(OtResponse) r = ot_request (gw, "POST", path, secret, NULL, "{}");

    ot_assert_status (r, 200);
  }
  a3 = ot_assert_audit_balanced (gw);
  g_assert_cmpint (ot_json_int (a3, "cards_balance_total"), ==,
                   ot_json_int (a1, "cards_balance_total") - 3000);
  g_assert_cmpint (ot_json_int (a3, "pending_holds_total"), ==,
                   ot_json_int (a1, "pending_holds_total"));
  g_assert_cmpint (ot_json_int (a3, "total_debits"), >, ot_json_int (a0, "total_debits"));
}

/* Every GET under /v1/ takes its own query parameters only: one it does
 * not read is refused, not ignored, once the key has been checked. Outside
 * /v1/ a query string is left alone: probes and browsers add cache busters. */
static void
test_get_query (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Query Mall", &secret);
  const char *admin = ot_gateway_admin_token (gw);
  /* The wallet's GETs are in test-wallet.c. */
  const struct { const char *path; const char *bearer; } routes[] = {
    { "/v1/admin/audit", admin },
    { "/v1/admin/orders", admin },
    { "/v1/admin/charges", admin },
    { "/v1/admin/phone/rate_tables", admin },
    { "/v1/admin/phone/rate_tables/rt_x", admin },
    { "/v1/admin/phone/pools/pool_x", admin },
    { "/v1/admin/phone/statements", admin },
    { "/v1/admin/settlements", admin },
    { "/v1/admin/settlements/stl_x", admin },
    { "/v1/admin/foreign/partners/fp_x", admin },
    { "/v1/payments", secret },
    { "/v1/payments/pay_x", secret },
    { "/v1/phone/sessions/ps_x", secret },
    { "/v1/phone/statement", secret },
    { "/v1/settlements", secret },
    { "/v1/settlements/stl_x", secret },
    { "/v1/checkout_sessions/cs_x", secret },
    { "/v1/webhook_endpoint", secret },
    /* no key at the door: public, or the order's own token, which the
     * order's routes check after the query string */
    { "/v1/checkout_sessions/cs_x/public", NULL },
    { "/v1/orders/ord_x", NULL },
  };

  g_assert_nonnull (mch);
  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      g_autofree char *path = g_strconcat (routes[i].path, "?expand=1", NULL);
      g_autoptr(OtResponse) r = ot_request (gw, "GET", path, routes[i].bearer, NULL, NULL);

      g_test_message ("GET %s", path);
      ot_assert_error (r, 400, "invalid_request_error", "parameter_unknown");
      g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                       ==, "expand");
      if (routes[i].bearer != NULL)
        {
          g_autoptr(OtResponse) anonymous = ot_request (gw, "GET", path, NULL, NULL, NULL);

          ot_assert_error (anonymous, 401, "authentication_error", "unauthorized");
        }
    }
  {
    g_autoptr(OtResponse) head = ot_request (gw, "HEAD", "/v1/admin/audit?expand=1", admin, NULL,
                                             NULL);
    g_autoptr(OtResponse) healthz = ot_request (gw, "GET", "/healthz?probe=1&probe", NULL, NULL,
                                                NULL);
    g_autoptr(OtResponse) metrics = ot_request (gw, "GET", "/metrics?t=1&t=2", NULL, NULL, NULL);

    ot_assert_status (head, 400);
    g_assert_cmpuint (head->body_len, ==, 0);
    ot_assert_status (healthz, 200);
    ot_assert_status (metrics, 200);
  }
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/contract/admin/startup-files", test_startup_files);
  g_test_add_func ("/contract/admin/healthz", test_healthz);
  g_test_add_func ("/contract/admin/methods", test_methods);
  g_test_add_func ("/contract/admin/auth/admin-endpoints", test_auth_admin);
  g_test_add_func ("/contract/admin/auth/merchant-endpoints", test_auth_merchant);
  g_test_add_func ("/contract/admin/merchants/create", test_merchant_create);
  g_test_add_func ("/contract/admin/merchants/secret-not-stored", test_merchant_secret_not_stored);
  g_test_add_func ("/contract/admin/merchants/invalid", test_merchant_invalid);
  g_test_add_func ("/contract/admin/merchants/invisible", test_merchant_invisible);
  g_test_add_func ("/contract/admin/card-batches/denominations", test_batches_denominations);
  g_test_add_func ("/contract/admin/card-batches/bad-value", test_batches_bad_value);
  g_test_add_func ("/contract/admin/card-batches/bad-count", test_batches_bad_count);
  g_test_add_func ("/contract/admin/card-batches/max-count", test_batches_max_count);
  g_test_add_func ("/contract/admin/card-batches/random", test_batches_random);
  g_test_add_func ("/contract/admin/audit", test_audit);
  g_test_add_func ("/contract/admin/get-query", test_get_query);

  gw = ot_gateway_start (NULL, FALSE);
  ret = g_test_run ();
  ot_gateway_stop (gw);
  return ret;
}
