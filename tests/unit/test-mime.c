/* test-mime.c: the MIME builder, read back with Python's email package
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gstdio.h>
#include <string.h>

#include "gw-mime.h"
#include "onepin-test-smtp.h"

static char *tmp_dir;

static GwMimeMessage
sample (void)
{
  return (GwMimeMessage) {
    .from_name = "onepin",
    .from_address = "receipts@onepin.test",
    .to_address = "kim@example.com",
    .subject = "[onepin] 결제 영수증",
    .message_id = "onepin.evt_1f.1700000000@onepin.test",
    .date = 1700000000,              /* 2023-11-14 22:13:20 UTC */
    .language = "ko",
    .text = "안녕하세요.\n결제 금액: 12,345원\n",
    .html = "<p>안녕하세요.</p>\n",
  };
}

static GBytes *
build (const GwMimeMessage *message)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes = gw_mime_build (message, &error);

  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  return bytes;
}

/* Writes @bytes to a file and reads it back with onepin-mail-json.py. */
static JsonObject *
parse (GBytes *bytes)
{
  static guint serial;
  g_autofree char *name = g_strdup_printf ("message-%u.eml", serial++);
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
  const char *paths[] = { path, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) parsed = NULL;
  JsonObject *message;

  g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  parsed = ot_mail_parse_files (paths);
  message = json_object_ref (json_array_get_object_element (parsed, 0));
  g_unlink (path);
  return message;
}

static const char *
member (JsonObject *object,
        const char *name)
{
  return json_object_get_string_member_with_default (object, name, NULL);
}

/* Every raw line, headers and bodies, at most @limit bytes. */
static void
assert_lines_within (GBytes *bytes,
                     gsize   limit)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_auto(GStrv) lines = g_strsplit (text, "\r\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_assert_null (strchr (lines[i], '\n'));
      g_assert_null (strchr (lines[i], '\r'));
      if (strlen (lines[i]) > limit)
        g_error ("line %u has %zu bytes: %s", i, strlen (lines[i]), lines[i]);
    }
}

static void
assert_no_defects (JsonObject *parsed)
{
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (parsed, "defects")),
                    ==, 0);
}

static void
test_address (void)
{
  const char *valid[] = {
    "kim@example.com", "a.b.c@d.e", "user+tag@sub.example.co.kr", "x@localhost",
    "o'brien@example.com", "a@b-c.d", "a!#$%&'*+-/=?^_`{|}~@example.com",
  };
  const char *invalid[] = {
    "", "plain", "@example.com", "kim@", "kim@@example.com", ".kim@example.com",
    "kim.@example.com", "ki..m@example.com", "kim@-example.com", "kim@example-.com",
    "kim@exam_ple.com", "kim@example..com", "kim @example.com", "\"kim\"@example.com",
    "kim@example.com\r\nBcc: x@y.z", "kim@example.com,lee@example.com", "<kim@example.com>",
    "김@example.com", "kim@예시.com", "kim@[127.0.0.1]", "kim@example.com.",
  };
  g_autofree char *local65 = g_strnfill (65, 'a');
  g_autofree char *long_local = g_strconcat (local65, "@example.com", NULL);
  g_autofree char *label64 = g_strnfill (64, 'b');
  g_autofree char *long_label = g_strconcat ("a@", label64, ".com", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    if (!gw_mime_address_valid (valid[i]))
      g_error ("\"%s\" should be valid", valid[i]);
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    if (gw_mime_address_valid (invalid[i]))
      g_error ("\"%s\" should be invalid", invalid[i]);
  g_assert_false (gw_mime_address_valid (long_local));
  g_assert_false (gw_mime_address_valid (long_label));
  g_assert_false (gw_mime_address_valid (NULL));
}

static void
test_korean (void)
{
  GwMimeMessage message = sample ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonObject) parsed = NULL;
  g_autoptr(GList) names = NULL;
  const char *raw;

  message.to_name = "김철수";
  bytes = build (&message);
  raw = g_bytes_get_data (bytes, NULL);
  g_assert_nonnull (g_strstr_len (raw, g_bytes_get_size (bytes), "Subject: =?UTF-8?B?"));
  g_assert_nonnull (g_strstr_len (raw, g_bytes_get_size (bytes),
                                  "Date: Wed, 15 Nov 2023 07:13:20 +0900\r\n"));
  g_assert_nonnull (g_strstr_len (raw, g_bytes_get_size (bytes),
                                  "Message-ID: <onepin.evt_1f.1700000000@onepin.test>\r\n"));
  assert_lines_within (bytes, 78);

  parsed = parse (bytes);
  assert_no_defects (parsed);
  g_assert_cmpstr (member (parsed, "subject"), ==, "[onepin] 결제 영수증");
  g_assert_cmpstr (member (parsed, "from"), ==, "onepin <receipts@onepin.test>");
  g_assert_cmpstr (member (parsed, "to"), ==, "김철수 <kim@example.com>");
  g_assert_cmpstr (member (parsed, "text"), ==, message.text);
  g_assert_cmpstr (member (parsed, "html"), ==, message.html);
  g_assert_cmpstr (member (parsed, "content_type"), ==, "multipart/alternative");
  g_assert_false (json_object_get_boolean_member (parsed, "bare_lf"));

  /* Exactly these headers, each once. */
  names = json_object_get_members (json_object_get_object_member (parsed, "headers"));
  g_assert_cmpuint (g_list_length (names), ==, 9);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *expected[] = { "date", "from", "to", "subject", "message-id", "mime-version",
                                 "auto-submitted", "content-language", "content-type" };
      gboolean known = FALSE;

      for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
        known |= g_str_equal (l->data, expected[i]);
      g_assert_true (known);
    }
}

/* RFC 2047: every encoded-word is at most 75 characters, and (section 5)
 * holds whole characters, so each one decodes to valid UTF-8 by itself.
 * Returns how many there were. */
static guint
assert_encoded_words (GBytes *bytes)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  const char *end_of_headers = strstr (text, "\r\n\r\n");
  guint n = 0;

  for (const char *p = strstr (text, "=?"), *close; p != NULL && p < end_of_headers;
       p = strstr (close + 2, "=?"))
    {
      const char *b64 = p + strlen ("=?UTF-8?B?");
      g_autofree char *encoded = NULL;
      g_autofree guchar *decoded = NULL;
      gsize len;

      g_assert_true (g_str_has_prefix (p, "=?UTF-8?B?"));
      close = strstr (b64, "?=");
      g_assert_nonnull (close);
      if (close + 2 - p > 75)
        g_error ("an encoded-word of %d characters: %.*s", (int) (close + 2 - p),
                 (int) (close + 2 - p), p);
      encoded = g_strndup (b64, close - b64);
      decoded = g_base64_decode (encoded, &len);
      if (!g_utf8_validate_len ((const char *) decoded, len, NULL))
        g_error ("an encoded-word splits a character: %s", encoded);
      n++;
    }
  return n;
}

static void
test_subject_folding (void)
{
  GwMimeMessage message = sample ();
  g_autofree char *korean = NULL;
  g_autoptr(GString) ascii = g_string_new (NULL);
  const char *subjects[4];

  korean = g_strdup ("[onepin] 선물 카드가 도착했습니다 — 김철수님이 보낸 메시지와 함께, "
                     "생일 축하해요! 🎂 늘 건강하고 행복하세요. 다음에 또 만나요");
  for (guint i = 0; i < 12; i++)
    g_string_append (ascii, "receipt ");
  subjects[0] = korean;
  subjects[1] = ascii->str;                    /* long ASCII: encoded-words too */
  subjects[2] = "Short plain subject";
  subjects[3] = "looks =?UTF-8?B?like?= a word";

  for (guint i = 0; i < G_N_ELEMENTS (subjects); i++)
    {
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(JsonObject) parsed = NULL;

      message.subject = subjects[i];
      bytes = build (&message);
      assert_lines_within (bytes, 78);
      if (i < 2)
        g_assert_cmpuint (assert_encoded_words (bytes), >, 2);
      parsed = parse (bytes);
      assert_no_defects (parsed);
      g_assert_cmpstr (member (parsed, "subject"), ==, subjects[i]);
      if (i == 2)
        g_assert_nonnull (g_strstr_len (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                        "Subject: Short plain subject\r\n"));
    }
}

/* Nothing a caller puts in a header's text makes a header of its own. */
static void
test_header_injection (void)
{
  GwMimeMessage message = sample ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonObject) parsed = NULL;
  JsonObject *headers;

  message.subject = "Hello\r\nBcc: evil@example.com\nX-Evil: 1";
  message.from_name = "Evil\" <evil@example.com>\r\nBcc: evil@example.com";
  message.to_name = "Lee\r\n\r\nbody";
  bytes = build (&message);
  assert_lines_within (bytes, 78);
  parsed = parse (bytes);
  assert_no_defects (parsed);
  headers = json_object_get_object_member (parsed, "headers");
  g_assert_false (json_object_has_member (headers, "bcc"));
  g_assert_false (json_object_has_member (headers, "x-evil"));
  g_assert_cmpstr (member (parsed, "subject"), ==, "Hello  Bcc: evil@example.com X-Evil: 1");
  g_assert_cmpstr (member (parsed, "to"), ==, "Lee    body <kim@example.com>");
  g_assert_nonnull (strstr (member (parsed, "from"), "<receipts@onepin.test>"));
  g_assert_cmpstr (member (parsed, "text"), ==, message.text);
}

static void
test_refusals (void)
{
  const char *addresses[] = {
    "kim@example.com\r\nBcc: evil@example.com", "kim@example.com>", "", "a@b.com, c@d.com",
  };
  const char *ids[] = { "no-at-sign", "a@b>\r\nBcc: x@y.z", "a b@c.d", "" };

  for (guint i = 0; i < G_N_ELEMENTS (addresses); i++)
    {
      GwMimeMessage message = sample ();
      g_autoptr(GError) error = NULL;

      message.to_address = addresses[i];
      g_assert_null (gw_mime_build (&message, &error));
      g_assert_error (error, GW_MIME_ERROR, GW_MIME_ERROR_ADDRESS);
      g_clear_error (&error);
      message = sample ();
      message.from_address = addresses[i];
      g_assert_null (gw_mime_build (&message, &error));
      g_assert_error (error, GW_MIME_ERROR, GW_MIME_ERROR_ADDRESS);
    }
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      GwMimeMessage message = sample ();
      g_autoptr(GError) error = NULL;

      message.message_id = ids[i];
      g_assert_null (gw_mime_build (&message, &error));
      g_assert_error (error, GW_MIME_ERROR, GW_MIME_ERROR_MESSAGE_ID);
    }
  {
    GwMimeMessage message = sample ();
    g_autoptr(GError) error = NULL;

    message.text = "bad \xff byte";
    g_assert_null (gw_mime_build (&message, &error));
    g_assert_error (error, GW_MIME_ERROR, GW_MIME_ERROR_BODY);
  }
}

/* Long lines, lone dots, CR and LF in any mix: base64 keeps every line
 * short and the text comes back with its line breaks. */
static void
test_bodies (void)
{
  GwMimeMessage message = sample ();
  g_autofree char *long_line = g_strnfill (5000, 'x');
  g_autofree char *text = g_strconcat ("first\r\n.\n", long_line, "\rlast line\n", NULL);
  g_autofree char *html = g_strconcat ("<p>", long_line, "</p>\r\n.\r\n", NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) again = NULL;
  g_autoptr(JsonObject) parsed = NULL;
  g_autofree char *expected = g_strconcat ("first\n.\n", long_line, "\nlast line\n", NULL);

  message.text = text;
  message.html = html;
  message.language = NULL;
  bytes = build (&message);
  assert_lines_within (bytes, 78);
  parsed = parse (bytes);
  assert_no_defects (parsed);
  g_assert_cmpstr (member (parsed, "text"), ==, expected);
  g_assert_nonnull (strstr (member (parsed, "html"), long_line));
  g_assert_false (json_object_has_member (json_object_get_object_member (parsed, "headers"),
                                          "content-language"));

  /* Built twice, the same bytes (the boundary comes from the content). */
  again = build (&message);
  g_assert_true (g_bytes_equal (bytes, again));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("onepin-mime-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/mime/address", test_address);
  g_test_add_func ("/mime/korean", test_korean);
  g_test_add_func ("/mime/subject-folding", test_subject_folding);
  g_test_add_func ("/mime/header-injection", test_header_injection);
  g_test_add_func ("/mime/refusals", test_refusals);
  g_test_add_func ("/mime/bodies", test_bodies);

  status = g_test_run ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
