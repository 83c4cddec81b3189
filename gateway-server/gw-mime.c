/* gw-mime.c: Internet messages for the e-mails onepin sends
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-mime.h"

#include <string.h>

#include "onepin-contact.h"

#define LINE_LIMIT 78                 /* RFC 5322's "SHOULD" for header lines */
#define WORD_BYTES 36                 /* UTF-8 bytes per encoded-word: 60 columns */
#define BASE64_LINE 76

G_DEFINE_QUARK (gw-mime-error-quark, gw_mime_error)

/* Addresses */

/* The wallet checks the same rule (onepin-contact.c) before it sends one. */
gboolean
gw_mime_address_valid (const char *address)
{
  return onepin_contact_email_valid (address);
}

/* "left@right" with the grammar of an address, at most 200 bytes. */
static gboolean
message_id_valid (const char *id)
{
  return id != NULL && strlen (id) <= 200 && onepin_contact_email_valid (id);
}

/* Header text */

/* Valid UTF-8 with every control character (CR and LF above all) replaced
 * by a space: header text can never start a header of its own. */
static char *
header_text (const char *value)
{
  char *text = g_utf8_make_valid (value ? value : "", -1);

  for (char *p = text; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = ' ';
  return text;
}

static gboolean
plain_ascii (const char *text,
             gsize       room)
{
  gsize len = strlen (text);

  if (len > room || strstr (text, "=?") != NULL)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if ((guchar) text[i] < 0x20 || (guchar) text[i] > 0x7e)
      return FALSE;
  return TRUE;
}

/* RFC 2047 B-encoded words of at most WORD_BYTES bytes of whole UTF-8
 * characters each, joined by folding whitespace. */
static void
append_encoded_words (GString    *out,
                      const char *text)
{
  const char *p = text;
  gboolean first = TRUE;

  while (*p != '\0')
    {
      const char *end = p;
      g_autofree char *b64 = NULL;

      while (*end != '\0')
        {
          const char *next = g_utf8_next_char (end);

          if (next - p > WORD_BYTES)
            break;
          end = next;
        }
      b64 = g_base64_encode ((const guchar *) p, end - p);
      g_string_append_printf (out, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", b64);
      first = FALSE;
      p = end;
    }
}

void
gw_mime_append_header (GString    *out,
                       const char *name,
                       const char *value)
{
  g_autofree char *text = header_text (value);

  g_string_append_printf (out, "%s: ", name);
  if (plain_ascii (text, LINE_LIMIT - strlen (name) - 2))
    g_string_append (out, text);
  else
    append_encoded_words (out, text);
  g_string_append (out, "\r\n");
}

/* @text as an RFC 5322 quoted-string: '"' and '\\' escaped. */
static char *
quoted_string (const char *text)
{
  GString *quoted = g_string_new ("\"");

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (quoted, '\\');
      g_string_append_c (quoted, *p);
    }
  g_string_append_c (quoted, '"');
  return g_string_free (quoted, FALSE);
}

/* "Name <address>": the name as a quoted-string when it is ASCII and fits
 * (escapes counted) on the header's line, the address on the next one if
 * it does not fit beside it; otherwise the name as encoded-words; the
 * address alone when there is no name. */
static void
append_address_header (GString    *out,
                       const char *header,
                       const char *name,
                       const char *address)
{
  g_autofree char *text = header_text (name);
  g_autofree char *quoted = plain_ascii (text, LINE_LIMIT) ? quoted_string (text) : NULL;
  gsize head = strlen (header) + 2;

  g_string_append_printf (out, "%s: ", header);
  if (text[0] != '\0' && quoted != NULL && head + strlen (quoted) <= LINE_LIMIT)
    {
      g_string_append (out, quoted);
      /* " <address>" after it, or folded onto a line of its own */
      if (head + strlen (quoted) + strlen (address) + 3 <= LINE_LIMIT)
        g_string_append_c (out, ' ');
      else
        g_string_append (out, "\r\n ");
    }
  else if (text[0] != '\0')
    {
      append_encoded_words (out, text);
      g_string_append (out, "\r\n ");
    }
  g_string_append_printf (out, "<%s>\r\n", address);
}

/* RFC 5322 date-time in Korean Standard Time, with English names whatever
 * the process locale. */
static void
append_date (GString *out,
             gint64   unix_seconds)
{
  static const char *days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
  static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  g_autoptr(GTimeZone) kst = g_time_zone_new_offset (9 * 3600);
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (unix_seconds);
  g_autoptr(GDateTime) local = g_date_time_to_timezone (utc, kst);

  g_string_append_printf (out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0900\r\n",
                          days[g_date_time_get_day_of_week (local) - 1],
                          g_date_time_get_day_of_month (local),
                          months[g_date_time_get_month (local) - 1],
                          g_date_time_get_year (local), g_date_time_get_hour (local),
                          g_date_time_get_minute (local), g_date_time_get_second (local));
}

/* Bodies */

/* Text in canonical form (CRLF line ends), then base64 in 76-column lines. */
static void
append_base64_part (GString    *out,
                    const char *boundary,
                    const char *type,
                    const char *body)
{
  g_autoptr(GString) canonical = g_string_sized_new (strlen (body) + 64);
  g_autofree char *b64 = NULL;
  gsize len;

  for (const char *p = body; *p != '\0'; p++)
    {
      if (*p == '\r' && p[1] == '\n')
        continue;
      if (*p == '\r' || *p == '\n')
        g_string_append (canonical, "\r\n");
      else
        g_string_append_c (canonical, *p);
    }

  g_string_append_printf (out, "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
                               "Content-Transfer-Encoding: base64\r\n\r\n", boundary, type);
  b64 = g_base64_encode ((const guchar *) canonical->str, canonical->len);
  len = strlen (b64);
  for (gsize i = 0; i < len; i += BASE64_LINE)
    {
      g_string_append_len (out, b64 + i, MIN (BASE64_LINE, len - i));
      g_string_append (out, "\r\n");
    }
}

/* Base64 never contains "=_", so this boundary cannot occur in a part. It
 * depends only on the content, so a message built twice is the same. */
static char *
make_boundary (const GwMimeMessage *message)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  g_checksum_update (sum, (const guchar *) message->message_id, -1);
  g_checksum_update (sum, (const guchar *) message->text, -1);
  g_checksum_update (sum, (const guchar *) message->html, -1);
  return g_strdup_printf ("=_onepin_%.32s", g_checksum_get_string (sum));
}

static gboolean
check_message (const GwMimeMessage  *message,
               GError              **error)
{
  if (!gw_mime_address_valid (message->from_address))
    return g_set_error_literal (error, GW_MIME_ERROR, GW_MIME_ERROR_ADDRESS,
                                "The sender address is not valid"), FALSE;
  if (!gw_mime_address_valid (message->to_address))
    return g_set_error_literal (error, GW_MIME_ERROR, GW_MIME_ERROR_ADDRESS,
                                "The recipient address is not valid"), FALSE;
  if (!message_id_valid (message->message_id))
    return g_set_error_literal (error, GW_MIME_ERROR, GW_MIME_ERROR_MESSAGE_ID,
                                "The Message-ID is not valid"), FALSE;
  if (message->text == NULL || message->html == NULL ||
      !g_utf8_validate (message->text, -1, NULL) || !g_utf8_validate (message->html, -1, NULL))
    return g_set_error_literal (error, GW_MIME_ERROR, GW_MIME_ERROR_BODY,
                                "A body is missing or not UTF-8"), FALSE;
  if (message->language != NULL && (strlen (message->language) > 8 ||
                                    strspn (message->language, "abcdefghijklmnopqrstuvwxyz-") !=
                                    strlen (message->language)))
    return g_set_error_literal (error, GW_MIME_ERROR, GW_MIME_ERROR_BODY,
                                "The language tag is not valid"), FALSE;
  return TRUE;
}

GBytes *
gw_mime_build (const GwMimeMessage  *message,
               GError              **error)
{
  g_autoptr(GString) out = g_string_sized_new (4096);
  g_autofree char *boundary = NULL;

  if (!check_message (message, error))
    return NULL;
  boundary = make_boundary (message);

  append_date (out, message->date);
  append_address_header (out, "From", message->from_name, message->from_address);
  append_address_header (out, "To", message->to_name, message->to_address);
  gw_mime_append_header (out, "Subject", message->subject);
  g_string_append_printf (out, "Message-ID: <%s>\r\n", message->message_id);
  g_string_append (out, "MIME-Version: 1.0\r\n");
  /* RFC 3834: no vacation replies to receipts. */
  g_string_append (out, "Auto-Submitted: auto-generated\r\n");
  if (message->language != NULL)
    g_string_append_printf (out, "Content-Language: %s\r\n", message->language);
  g_string_append_printf (out, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n",
                          boundary);
  g_string_append (out, "This is a message in MIME format.\r\n\r\n");
  append_base64_part (out, boundary, "text/plain", message->text);
  append_base64_part (out, boundary, "text/html", message->html);
  g_string_append_printf (out, "--%s--\r\n", boundary);

  return g_string_free_to_bytes (g_steal_pointer (&out));
}
