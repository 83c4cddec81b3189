/* onepin-contact.h: what onepin accepts as a name, an e-mail address, a phone number
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The gateway's rules for a wallet's profile, shared so that the desktop
 * wallet refuses in its own forms exactly what the gateway would refuse.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 1 to 100 characters of UTF-8, none of them a control character: a
 * person's name (a wallet user's, a card or account holder's). */
gboolean onepin_contact_name_valid  (const char *name);
/* An ASCII addr-spec of dot-atoms, local@domain, at most 254 bytes: what
 * the gateway's mailer can send to. */
gboolean onepin_contact_email_valid (const char *address);
/* 7 to 20 bytes of digits and hyphens, at least 7 of them digits, with an
 * optional leading '+'; it starts and ends with a digit (after the '+'). */
gboolean onepin_contact_phone_valid (const char *phone);

G_END_DECLS
