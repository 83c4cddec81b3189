/* onepin-text.h: what free text one party may give another to read
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A merchant's name, a gift's message, an item on a checkout page: text
 * that one party sends and the gateway shows to another, on receipts,
 * statements, webhooks, e-mail, SMS, the card site and the wallet.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  ONEPIN_TEXT_ONE_LINE = 0,
  ONEPIN_TEXT_LINES    = 1 << 0,   /* "\n" or "\r\n" allowed: a text area's several lines */
} OnepinTextFlags;

/* Valid UTF-8 with no character that is invisible, hidden or that changes
 * how the text around it is shown: no control, format (bidi overrides,
 * zero-width characters, BOM), line or paragraph separator, private-use or
 * unassigned code point, nor a Hangul filler. A zero width joiner is
 * taken between two emoji only, and tag characters only as a subdivision
 * flag's (🏴 + tags "gbsct" + cancel tag is Scotland's). NULL is not safe; the empty string is. */
gboolean onepin_text_is_display_safe (const char      *text,
                                      OnepinTextFlags  flags);

G_END_DECLS
