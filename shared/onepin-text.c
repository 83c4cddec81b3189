/* onepin-text.c: what free text one party may give another to read
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-text.h"

#define ZERO_WIDTH_JOINER 0x200D
#define EMOJI_PRESENTATION 0xFE0F
#define WAVING_BLACK_FLAG 0x1F3F4
#define CANCEL_TAG 0xE007F

/* What a reader sees must be what was stored. So are refused:
 *
 * - G_UNICODE_CONTROL (C0, DEL, C1): a line break, tab or escape forges
 *   lines in text receipts, SMS and mail, or drives a terminal.
 * - G_UNICODE_FORMAT (Cf): U+202A-202E and U+2066-2069 reverse what
 *   follows them ("\u202Ellam omeD" reads "Demo Mall"), U+200B, U+2060 and
 *   U+FEFF are invisible, U+00AD shows only at a line end, and the tag
 *   characters U+E0020-E007F carry hidden ASCII. None belongs in a name,
 *   but for the tags of a subdivision flag (flag_sequence_end ()).
 * - G_UNICODE_LINE_SEPARATOR, G_UNICODE_PARAGRAPH_SEPARATOR: line breaks.
 * - G_UNICODE_PRIVATE_USE: a glyph of the reader's font, not the writer's
 *   (U+F8FF is an Apple logo on one machine and nothing on another).
 * - G_UNICODE_UNASSIGNED: no glyph anywhere yet, and the noncharacters
 *   (U+FFFE...). GLib's tables decide, so a character newer than them is
 *   refused until GLib knows it.
 * - G_UNICODE_SURROGATE cannot occur: g_utf8_validate () refuses it.
 *
 * Marks (accents, emoji variation selectors, skin tones) and spaces stay:
 * they are visible, and Korean, accented and emoji names need them. */

/* The Hangul fillers are letters (Lo) that draw nothing: the invisible
 * name of choice in Korean, so refused like the format characters. The
 * combining grapheme joiner is a mark that draws nothing either. */
static gboolean
is_invisible_letter (gunichar c)
{
  return c == 0x115F || c == 0x1160 || c == 0x3164 || c == 0xFFA0 || c == 0x034F;
}

/* An emoji ZWJ sequence ("👩‍💻") joins symbols, possibly after a skin tone
 * (Sk) or U+FE0F; between letters the joiner is only an invisible mark. */
static gboolean
joins_emoji (gunichar before,
             gunichar after)
{
  GUnicodeType type = g_unichar_type (before);

  return (type == G_UNICODE_OTHER_SYMBOL || type == G_UNICODE_MODIFIER_SYMBOL ||
          before == EMOJI_PRESENTATION) &&
         g_unichar_type (after) == G_UNICODE_OTHER_SYMBOL;
}

/* A subdivision flag (UTS #51 emoji tag sequence, "🏴 g b s c t CANCEL"
 * is Scotland's) is the black flag, the region and subdivision code as 3
 * to 6 tag digits and lowercase letters, and the cancel tag: shown as the
 * flag, or as the black flag where a font lacks it, so nothing is hidden
 * but the code the flag itself shows. Where @p (at the black flag) starts
 * one, the text after it; NULL otherwise. */
static const char *
flag_sequence_end (const char *p)
{
  guint tags = 0;

  for (p = g_utf8_next_char (p); *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == CANCEL_TAG)
        return tags >= 3 && tags <= 6 ? g_utf8_next_char (p) : NULL;
      if (!(c >= 0xE0030 && c <= 0xE0039) && !(c >= 0xE0061 && c <= 0xE007A))
        return NULL;
      tags++;
    }
  return NULL;
}

static gboolean
char_safe (gunichar        c,
           gunichar        before,
           const char     *next,
           OnepinTextFlags flags)
{
  if (c == '\n')
    return (flags & ONEPIN_TEXT_LINES) != 0;
  /* a form's text area sends its lines ended by CR LF */
  if (c == '\r')
    return (flags & ONEPIN_TEXT_LINES) != 0 && *next == '\n';
  if (c == ZERO_WIDTH_JOINER)
    return *next != '\0' && joins_emoji (before, g_utf8_get_char (next));
  if (is_invisible_letter (c))
    return FALSE;
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_SURROGATE:
      return FALSE;
    default:
      return TRUE;
    }
}

gboolean
onepin_text_is_display_safe (const char      *text,
                             OnepinTextFlags  flags)
{
  gunichar before = 0;

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return FALSE;
  for (const char *p = text; *p != '\0';)
    {
      gunichar c = g_utf8_get_char (p);
      const char *next = g_utf8_next_char (p);

      if (c == WAVING_BLACK_FLAG && g_utf8_get_char (next) >= 0xE0020 &&
          g_utf8_get_char (next) <= CANCEL_TAG)
        next = flag_sequence_end (p);
      else if (!char_safe (c, before, next, flags))
        return FALSE;
      if (next == NULL)
        return FALSE;
      before = c;
      p = next;
    }
  return TRUE;
}
