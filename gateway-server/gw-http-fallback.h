/* gw-http-fallback.h: an error body for requests libsoup refuses itself
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Every message @soup starts reading gets the contract's error object as its
 * response until it has been read whole: libsoup answers a request line or
 * header it cannot parse (400, 501 or 505) with whatever response the message
 * holds, and never reads such a message to the end. */
void gw_http_fallback_attach (SoupServer        *soup);

/* Answers @msg 400 with @json_body and closes its connection, without letting
 * libsoup read on: for a request whose framing is lost (a negative
 * Content-Length, which libsoup would read until the client hangs up). Call
 * it from an early handler; the answer is written from the thread-default
 * main context. */
void gw_http_refuse_and_close (SoupServerMessage *msg,
                               const char        *json_body);

G_END_DECLS
