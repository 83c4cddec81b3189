/* gw-mime.h: Internet messages (RFC 5322, MIME) for the e-mails onepin sends
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A message is multipart/alternative with a text/plain and a text/html part,
 * both UTF-8 in base64 (so no line is longer than 76 characters, whatever
 * the text). Non-ASCII header text (a Korean subject, a display name) becomes
 * RFC 2047 encoded-words. Nothing a caller passes can add a header: control
 * characters in header text are replaced, and addresses and the Message-ID
 * are checked against a strict grammar.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GW_MIME_ERROR (gw_mime_error_quark ())

typedef enum
{
  GW_MIME_ERROR_ADDRESS,
  GW_MIME_ERROR_MESSAGE_ID,
  GW_MIME_ERROR_BODY,
} GwMimeError;

typedef struct
{
  const char *from_name;        /* may be NULL */
  const char *from_address;
  const char *to_name;          /* may be NULL */
  const char *to_address;
  const char *subject;
  const char *message_id;       /* "left@right", without the angle brackets */
  gint64      date;             /* unix seconds; shown in Korean time (+0900) */
  const char *language;         /* Content-Language, e.g. "ko"; may be NULL */
  const char *text;             /* UTF-8; lines end in \n or \r\n */
  const char *html;             /* UTF-8 */
} GwMimeMessage;

GQuark   gw_mime_error_quark    (void);

/* An ASCII addr-spec of dot-atoms, local@domain, at most 254 bytes: what
 * onepin accepts as an e-mail address (onepin_contact_email_valid). */
gboolean gw_mime_address_valid  (const char           *address);
/* Appends "@name: " and @value, folded into RFC 2047 encoded-words (UTF-8,
 * base64) when @value is not short plain ASCII; each line ends in CRLF. */
void     gw_mime_append_header  (GString              *out,
                                 const char           *name,
                                 const char           *value);
/* The whole message with CRLF line ends, ready for SMTP DATA. */
GBytes  *gw_mime_build          (const GwMimeMessage  *message,
                                 GError              **error);

G_END_DECLS
