/* onepin-test-proxy.h: a TCP relay to the gateway that can lose its way
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A client under test talks to the gateway through it, on a loopback port
 * of its own. It runs on a thread of its own, so it relays while the test
 * blocks. Told to, it plays a gateway
 * nobody reaches, or a connection that drops after the request arrived and
 * before its answer came back: what a client cannot tell from each other,
 * and whose outcome it does not know. Or it holds the answers for as long
 * as the test likes, letting later ones overtake them if it likes.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _OtProxy OtProxy;

typedef enum
{
  OT_PROXY_PASS,           /* every byte, both ways */
  OT_PROXY_REFUSE,         /* a connection closes as it opens, or as a request comes on one
                            * open before: nothing reaches the gateway */
  OT_PROXY_DROP_ANSWERS,   /* requests reach the gateway, and the connection closes as the
                            * first byte of the answer comes back */
  OT_PROXY_HOLD_ANSWERS,   /* requests reach the gateway, and the answers wait in the relay
                            * until the mode changes: a slow answer */
  OT_PROXY_KEEP_HELD,      /* the answers held so far go on waiting, and every other byte
                            * passes: a slow answer that later ones overtake */
} OtProxyMode;

/* Relays to @target_url ("http://127.0.0.1:PORT"), in OT_PROXY_PASS. */
OtProxy     *ot_proxy_start       (const char  *target_url);
void         ot_proxy_free        (OtProxy     *proxy);
/* "http://127.0.0.1:PORT", its own. */
const char  *ot_proxy_url         (OtProxy     *proxy);
/* For the connections opened from now on, and the bytes relayed from now
 * on on those already open. */
void         ot_proxy_set_mode    (OtProxy     *proxy,
                                   OtProxyMode  mode);
/* Answers cut off so far (OT_PROXY_DROP_ANSWERS). */
guint        ot_proxy_dropped     (OtProxy     *proxy);
/* Answers waiting in the relay now (OT_PROXY_HOLD_ANSWERS). */
guint        ot_proxy_held        (OtProxy     *proxy);
/* The bytes of the answers relayed since the mode was last set to
 * OT_PROXY_HOLD_ANSWERS (those held, once they went on, included), as a
 * string; "" before that. */
char        *ot_proxy_dup_answers (OtProxy     *proxy);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OtProxy, ot_proxy_free)

G_END_DECLS
