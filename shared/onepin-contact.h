/* onepin-contact.h: what onepin accepts as a name, an e-mail address, a phone number
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The gateway's rules for a wallet's profile and for the telephone lines
 * that pay with a card, shared so that the desktop wallet refuses in its
 * own forms exactly what the gateway would refuse.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 1 to 100 characters of UTF-8, display-safe (onepin_text_is_display_safe ()):
 * a person's name (a wallet user's, a card or account holder's). */
gboolean onepin_contact_name_valid  (const char *name);
/* An ASCII addr-spec of dot-atoms, local@domain, at most 254 bytes: what
 * the gateway's mailer can send to. */
gboolean onepin_contact_email_valid (const char *address);
/* 7 to 20 bytes of digits and hyphens, at least 7 of them digits, with an
 * optional leading '+'; it starts and ends with a digit (after the '+'). */
gboolean onepin_contact_phone_valid (const char *phone);
/* A calling number, the line a telephone switch says a call comes from:
 * 4 to 20 digits after an optional '+', nothing else. "+82…" (Korea) is
 * the line dialled as "0…". Its national digits (to free), or NULL when
 * @text is not one. */
char    *onepin_contact_calling_number (const char *text);

G_END_DECLS
