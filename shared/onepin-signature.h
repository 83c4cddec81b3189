/* onepin-signature.h: signed HTTP callbacks between onepin's programs
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A callback (onepin-bank telling the gateway a transfer arrived) carries
 * the header
 *
 *     Onepin-Bank-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
 *
 * where the HMAC is over "<t>." followed by the raw body, under a secret the
 * two programs share. The timestamp is signed, so a receiver that refuses
 * old timestamps refuses replays of old callbacks too.
 */
#pragma once

#include "onepin-crypto.h"

G_BEGIN_DECLS

#define ONEPIN_SIGNATURE_TOLERANCE 300   /* seconds either way */

/* The header value for @body sent at @timestamp. */
char       *onepin_signature_header      (OnepinKey    *key,
                                          gint64        timestamp,
                                          const void   *body,
                                          gsize         len);
/* TRUE when @header is well formed, its t is within @tolerance seconds of
 * @now and one of its v1 values is the HMAC of @body (compared in constant
 * time). Unknown fields (a future v2) are ignored. */
gboolean    onepin_signature_verify      (OnepinKey    *key,
                                          const char   *header,
                                          const void   *body,
                                          gsize         len,
                                          gint64        now,
                                          gint64        tolerance);

G_END_DECLS
