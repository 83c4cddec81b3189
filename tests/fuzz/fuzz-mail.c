/* fuzz-mail.c: libFuzzer harness for the templates and the MIME builder
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The input is a template's data object, as anyone could shape it through
 * a name, a gift message or a merchant's name. Every template renders it in
 * both languages, e-mails are built, and the result must hold what the
 * builder promises: CRLF line ends only, no line over 78 bytes, and no
 * header but the builder's own.
 */
#include <string.h>

#include "gw-mime.h"
#include "gw-templates.h"
#include "onepin-json.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static const char *templates[] = {
  "payment_receipt", "recharge", "refund", "purchase_statement", "gift", "virtual_account",
  "card_number", "order_access_code",
};

static void
check_message (GBytes *bytes)
{
  static const char *headers[] = {
    "Date: ", "From: ", "To: ", "Subject: ", "Message-ID: ", "MIME-Version: ",
    "Auto-Submitted: ", "Content-Language: ", "Content-Type: ",
  };
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_auto(GStrv) lines = g_strsplit (text, "\r\n", -1);
  gboolean in_headers = TRUE;

  g_assert_cmpuint (strlen (text), ==, g_bytes_get_size (bytes));
  for (guint i = 0; lines[i] != NULL; i++)
    {
      gboolean known = FALSE;

      g_assert_null (strpbrk (lines[i], "\r\n"));
      g_assert_cmpuint (strlen (lines[i]), <=, 78);
      if (!in_headers)
        continue;
      if (lines[i][0] == '\0')
        {
          in_headers = FALSE;
          continue;
        }
      known = lines[i][0] == ' ';
      for (guint h = 0; h < G_N_ELEMENTS (headers); h++)
        known |= g_str_has_prefix (lines[i], headers[h]);
      g_assert_true (known);
    }
}

static void
render (const char *name,
        const char *locale,
        JsonObject *object)
{
  g_auto(GwEmailContent) content = { 0 };
  g_autofree char *sms = NULL;
  g_autoptr(GBytes) bytes = NULL;
  GwMimeMessage message = {
    .from_name = "onepin", .from_address = "no-reply@onepin.test",
    .to_address = "someone@example.com", .message_id = "fuzz@onepin.test",
    .date = 1700000000, .language = locale,
  };

  sms = gw_template_render_sms (name, locale, object, NULL);
  g_assert_true (sms == NULL || g_utf8_validate (sms, -1, NULL));
  if (!gw_template_render_email (name, locale, object, &content, NULL))
    return;
  message.subject = content.subject;
  message.to_name = onepin_json_get_string (object, "recipient_name", NULL);
  message.text = content.text;
  message.html = content.html;
  bytes = gw_mime_build (&message, NULL);
  g_assert_nonnull (bytes);
  check_message (bytes);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(JsonObject) object = onepin_json_parse_object ((const char *) data, size, NULL);

  if (object == NULL)
    return 0;
  for (guint i = 0; i < G_N_ELEMENTS (templates); i++)
    {
      render (templates[i], "ko", object);
      render (templates[i], "en", object);
    }
  return 0;
}
