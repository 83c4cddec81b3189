/* onepin-contact.c: what onepin accepts as a name, an e-mail address, a phone number
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-contact.h"

#include <string.h>

#include "onepin-text.h"

#define NAME_MAX_CHARS 100
#define MAX_ADDRESS 254
#define MAX_LOCAL 64
#define MAX_LABEL 63

gboolean
onepin_contact_name_valid (const char *name)
{
  glong len;

  if (!onepin_text_is_display_safe (name, ONEPIN_TEXT_ONE_LINE))
    return FALSE;
  len = g_utf8_strlen (name, -1);
  return len >= 1 && len <= NAME_MAX_CHARS;
}

/* Addresses */

static gboolean
is_atext (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static gboolean
local_part_valid (const char *start,
                  gsize       len)
{
  if (len == 0 || len > MAX_LOCAL || start[0] == '.' || start[len - 1] == '.')
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!(is_atext (start[i]) || (start[i] == '.' && start[i + 1] != '.')))
      return FALSE;
  return TRUE;
}

static gboolean
domain_valid (const char *domain)
{
  gsize label = 0;

  if (*domain == '\0')
    return FALSE;
  for (const char *p = domain;; p++)
    {
      if (*p == '.' || *p == '\0')
        {
          if (label == 0 || p[-1] == '-' || p[-(gssize) label] == '-')
            return FALSE;
          if (*p == '\0')
            return TRUE;
          label = 0;
        }
      else if (g_ascii_isalnum (*p) || *p == '-')
        {
          if (++label > MAX_LABEL)
            return FALSE;
        }
      else
        return FALSE;
    }
}

gboolean
onepin_contact_email_valid (const char *address)
{
  const char *at;

  if (address == NULL || strlen (address) > MAX_ADDRESS)
    return FALSE;
  at = strrchr (address, '@');
  return at != NULL && local_part_valid (address, at - address) && domain_valid (at + 1);
}

/* Phone numbers */

gboolean
onepin_contact_phone_valid (const char *phone)
{
  gsize len = phone != NULL ? strlen (phone) : 0;
  const char *digits;
  gsize count = 0;

  if (len < 7 || len > 20)
    return FALSE;
  digits = phone[0] == '+' ? phone + 1 : phone;
  if (strspn (digits, "0123456789-") != strlen (digits) ||
      !g_ascii_isdigit (digits[0]) || !g_ascii_isdigit (phone[len - 1]))
    return FALSE;
  for (const char *p = digits; *p != '\0'; p++)
    count += g_ascii_isdigit (*p) ? 1 : 0;
  return count >= 7;
}

/* Calling numbers */

static gboolean
all_digits (const char *text,
            gsize       min,
            gsize       max)
{
  gsize len = strlen (text);

  return len >= min && len <= max && strspn (text, "0123456789") == len;
}

char *
onepin_contact_calling_number (const char *text)
{
  if (text == NULL)
    return NULL;
  /* +82 is Korea: "+821012345678" is the line dialled as "01012345678". */
  if (g_str_has_prefix (text, "+82") && all_digits (text + 3, 4, 17))
    return g_strconcat ("0", text + 3, NULL);
  if (text[0] == '+')
    text++;
  return all_digits (text, 4, 20) ? g_strdup (text) : NULL;
}
