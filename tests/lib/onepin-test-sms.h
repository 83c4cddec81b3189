/* onepin-test-sms.h: an SMS provider on loopback, inside the test process
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A libsoup server on its own thread that speaks the onepin-bank SMS sink's
 * API: POST /v1/sms with "Authorization: Bearer <key>" and {"to", "text"}
 * answers 202 {"id"}; GET /v1/sms?to=… lists what arrived, newest first.
 * It can be told to fail the next requests, as a provider that is down.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _OtSmsSink OtSmsSink;

typedef struct
{
  char *to;
  char *text;
  char *idempotency_key;     /* the request's Idempotency-Key header, or NULL */
} OtSms;

OtSmsSink   *ot_sms_sink_start      (void);
void         ot_sms_sink_free       (OtSmsSink   *sink);
/* "http://127.0.0.1:PORT/v1/sms" */
const char  *ot_sms_sink_url        (OtSmsSink   *sink);
/* A 0600 file with the key the sink expects. */
const char  *ot_sms_sink_key_file   (OtSmsSink   *sink);
/* The [sms] group for the gateway's config. */
char        *ot_sms_sink_config     (OtSmsSink   *sink);
/* The next @n POSTs get @status (e.g. 503) and are not recorded. */
void         ot_sms_sink_fail_next  (OtSmsSink   *sink,
                                     guint        n,
                                     guint        status);
/* POSTs answered so far, recorded or not. */
guint        ot_sms_sink_requests   (OtSmsSink   *sink);
/* Waits (at most @timeout_s) for @n recorded messages; returns a copy of
 * all of them (OtSms *), oldest first. */
GPtrArray   *ot_sms_sink_wait       (OtSmsSink   *sink,
                                     guint        n,
                                     guint        timeout_s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OtSmsSink, ot_sms_sink_free)

G_END_DECLS
