/* onepin-signature.c: signed HTTP callbacks between onepin's programs
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-signature.h"

#include <string.h>

#define MAX_HEADER 1024

static void
signature_compute (OnepinKey  *key,
                   gint64      timestamp,
                   const void *body,
                   gsize       len,
                   guint8      mac[ONEPIN_HMAC_LEN])
{
  g_autoptr(GByteArray) signed_text = g_byte_array_sized_new (len + 24);
  char prefix[32];
  int n = g_snprintf (prefix, sizeof prefix, "%" G_GINT64_FORMAT ".", timestamp);

  g_byte_array_append (signed_text, (const guint8 *) prefix, n);
  if (len > 0)
    g_byte_array_append (signed_text, body, len);
  onepin_key_hmac (key, signed_text->data, signed_text->len, mac);
  /* A body may carry a card number: the copy goes as the caller's does. */
  explicit_bzero (signed_text->data, signed_text->len);
}

char *
onepin_signature_header (OnepinKey  *key,
                         gint64      timestamp,
                         const void *body,
                         gsize       len)
{
  guint8 mac[ONEPIN_HMAC_LEN];
  GString *out = g_string_sized_new (96);

  signature_compute (key, timestamp, body, len, mac);
  g_string_append_printf (out, "t=%" G_GINT64_FORMAT ",v1=", timestamp);
  for (gsize i = 0; i < sizeof mac; i++)
    g_string_append_printf (out, "%02x", mac[i]);
  return g_string_free (out, FALSE);
}

static gboolean
parse_hex (const char *text,
           guint8      out[ONEPIN_HMAC_LEN])
{
  if (strlen (text) != 2 * ONEPIN_HMAC_LEN)
    return FALSE;
  for (gsize i = 0; i < ONEPIN_HMAC_LEN; i++)
    {
      int hi = g_ascii_xdigit_value (text[2 * i]);
      int lo = g_ascii_xdigit_value (text[2 * i + 1]);

      if (hi < 0 || lo < 0)
        return FALSE;
      out[i] = (guint8) (hi << 4 | lo);
    }
  return TRUE;
}

gboolean
onepin_signature_verify (OnepinKey  *key,
                         const char *header,
                         const void *body,
                         gsize       len,
                         gint64      now,
                         gint64      tolerance)
{
  g_auto(GStrv) fields = NULL;
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func (g_free);
  guint8 expected[ONEPIN_HMAC_LEN];
  gint64 timestamp = 0;
  gboolean have_time = FALSE;
  gboolean match = FALSE;

  if (key == NULL || header == NULL || strlen (header) > MAX_HEADER)
    return FALSE;

  fields = g_strsplit (header, ",", 16);
  for (guint i = 0; fields[i] != NULL; i++)
    {
      const char *field = g_strstrip (fields[i]);

      if (g_str_has_prefix (field, "t="))
        {
          if (have_time ||
              !g_ascii_string_to_signed (field + 2, 10, 0, G_MAXINT64, &timestamp, NULL))
            return FALSE;
          have_time = TRUE;
        }
      else if (g_str_has_prefix (field, "v1="))
        {
          guint8 *mac = g_malloc (ONEPIN_HMAC_LEN);

          g_ptr_array_add (candidates, mac);
          if (!parse_hex (field + 3, mac))
            return FALSE;
        }
    }

  if (!have_time || candidates->len == 0)
    return FALSE;
  if (timestamp < now - tolerance || timestamp > now + tolerance)
    return FALSE;

  signature_compute (key, timestamp, body, len, expected);
  /* Every candidate is compared, so the time taken says nothing about
   * which one (if any) matched. */
  for (guint i = 0; i < candidates->len; i++)
    match |= onepin_crypto_equal (candidates->pdata[i], expected, ONEPIN_HMAC_LEN);
  return match;
}
