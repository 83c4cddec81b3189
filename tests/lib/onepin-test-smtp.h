/* onepin-test-smtp.h: a real SMTP server (aiosmtpd) on loopback for a test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs tests/lib/onepin-smtp-server.py with Debian's python3-aiosmtpd. It
 * saves every message it accepts in a maildir of its own; the messages are
 * read back with Python's email package (onepin-mail-json.py), so a test
 * checks what a mail reader would show. Recipients "reject…@" get 550,
 * "relay…@" 554 5.7.1 (relay access denied); a message to "slow…@" is
 * accepted 1.2 s after its data, one to "flaky…@" refused with 451 after its
 * data the first time. Each message has an X-Connection header: the number
 * of the connection it came on, from 1.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _OtSmtp OtSmtp;

typedef struct
{
  gboolean    tls;               /* offer STARTTLS, with a certificate from a test CA */
  gboolean    require_starttls;
  const char *auth_user;         /* require AUTH with this user and a generated password */
  const char *host;              /* the loopback address to listen on; NULL: 127.0.0.1 */
  gboolean    default_starttls;  /* no [smtp] starttls in the config: the gateway's default */
  const char *refuse;            /* "greeting": 554 to every client; "sender": 553 to MAIL FROM */
} OtSmtpOptions;

/* @options may be NULL: plain SMTP, no AUTH. Picks a free port. */
OtSmtp      *ot_smtp_start          (const OtSmtpOptions *options);
/* Stops the server (SIGTERM, wait); the maildir and the port stay. */
void         ot_smtp_stop           (OtSmtp              *smtp);
/* Starts it again on the same port. */
void         ot_smtp_restart        (OtSmtp              *smtp);
/* Changes OtSmtpOptions.refuse (a static string or NULL) from the next restart. */
void         ot_smtp_set_refuse     (OtSmtp              *smtp,
                                     const char          *refuse);
/* Stops it if running and deletes its files. */
void         ot_smtp_free           (OtSmtp              *smtp);

/* "smtp://127.0.0.1:PORT", or the address of OtSmtpOptions.host */
const char  *ot_smtp_url            (OtSmtp              *smtp);
const char  *ot_smtp_maildir        (OtSmtp              *smtp);
const char  *ot_smtp_ca_path        (OtSmtp              *smtp);
/* A 0600 file holding the AUTH password, or NULL. */
const char  *ot_smtp_password_file  (OtSmtp              *smtp);
/* The [smtp] group for the gateway's config (with starttls, AUTH and CA as set up). */
char        *ot_smtp_gateway_config (OtSmtp              *smtp);

/* How many messages have arrived. */
guint        ot_smtp_count          (OtSmtp              *smtp);
/* Waits (at most @timeout_s) until at least @n messages have arrived and
 * returns all of them, parsed, oldest first (see onepin-mail-json.py for the
 * members); fails the test on timeout. Free with json_array_unref. */
JsonArray   *ot_smtp_wait           (OtSmtp              *smtp,
                                     guint                n,
                                     guint                timeout_s);
/* Parses any files as Internet messages with onepin-mail-json.py. */
JsonArray   *ot_mail_parse_files    (const char * const  *paths);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OtSmtp, ot_smtp_free)

G_END_DECLS
