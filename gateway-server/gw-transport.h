/* gw-transport.h: sending one message: e-mail over SMTP, SMS through an HTTP
 * SMS provider, both with libcurl
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A transport is used by one thread at a time (the outbox worker) and keeps
 * its connection open between messages. Its errors say whether trying again
 * later may help (TRANSIENT: the server is busy or refused us for now;
 * UNREACHABLE: no connection, or no answer in time, which says the server is
 * down for every message; REFUSED_US: the server refused us, not this
 * message (at its greeting, EHLO, AUTH, MAIL FROM, a relay or policy
 * refusal), which a configuration fix may cure, again for every message) or
 * not (PERMANENT: the server refused this very message or address).
 * Error messages carry no address, key or message text.
 */
#pragma once

#include <gio/gio.h>

#include "gw-config.h"

G_BEGIN_DECLS

#define GW_TRANSPORT_ERROR (gw_transport_error_quark ())

typedef enum
{
  GW_TRANSPORT_ERROR_TRANSIENT,
  GW_TRANSPORT_ERROR_PERMANENT,
  GW_TRANSPORT_ERROR_CANCELLED,
  GW_TRANSPORT_ERROR_UNREACHABLE,
  GW_TRANSPORT_ERROR_REFUSED_US,
} GwTransportError;

typedef struct _GwSmtp GwSmtp;
typedef struct _GwSms GwSms;

GQuark      gw_transport_error_quark  (void);
/* TRANSIENT, UNREACHABLE or REFUSED_US: trying again later may help. */
gboolean    gw_transport_error_is_transient (const GError *error);
/* Once, on the main thread, before any transport is used. */
void        gw_transport_init         (void);

/* NULL without an error when [smtp] has no url. Reads the password file. */
GwSmtp     *gw_smtp_new               (const GwConfig  *config,
                                       GError         **error);
void        gw_smtp_free              (GwSmtp          *smtp);
const char *gw_smtp_get_from          (GwSmtp          *smtp);
const char *gw_smtp_get_from_name     (GwSmtp          *smtp);
/* Sends @message (RFC 5322, CRLF) to @to. */
gboolean    gw_smtp_send              (GwSmtp          *smtp,
                                       const char      *to,
                                       GBytes          *message,
                                       GCancellable    *cancellable,
                                       GError         **error);

/* NULL without an error when [sms] has no url. Reads the key file. */
GwSms      *gw_sms_new                (const GwConfig  *config,
                                       GError         **error);
void        gw_sms_free               (GwSms           *sms);
/* POSTs {"to", "text"} with the key as a bearer token and @idempotency_key,
 * so a provider that honours it never sends a retried message twice. */
gboolean    gw_sms_send               (GwSms           *sms,
                                       const char      *to,
                                       const char      *text,
                                       const char      *idempotency_key,
                                       GCancellable    *cancellable,
                                       GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwSmtp, gw_smtp_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwSms, gw_sms_free)

G_END_DECLS
