/* wh-host.h: the native-messaging host's relay loop
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reads frames from the browser (@in_fd), relays each valid one unchanged
 * to the wallet's socket, and relays the wallet's frames back (@out_fd).
 * Frames it rejects and a wallet it cannot reach are answered with an
 * error message of its own:
 *   {"type":"error","source":"host","error":CODE,"message":TEXT[,"in_reply_to":ID]}
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _WhHost WhHost;

/* @browser is "chromium", "firefox" or "unknown"; @caller the extension's
 * origin or id as the browser passed it. */
WhHost  *wh_host_new   (int          in_fd,
                        int          out_fd,
                        const char  *browser,
                        const char  *caller);
void     wh_host_free  (WhHost      *host);

/* Runs until the browser closes @in_fd. Returns the exit status: 0, or 1
 * if the browser's stream ended inside a frame or @out_fd failed. */
int      wh_host_run   (WhHost      *host);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WhHost, wh_host_free)

G_END_DECLS
