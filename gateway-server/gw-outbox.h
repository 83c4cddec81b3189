/* gw-outbox.h: the delivery worker for queued e-mail and SMS messages
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A thread of its own claims due "email" and "sms" rows of the outbox
 * through the store's writer, renders and sends them, and then, through the
 * writer again, marks each delivered or schedules its next attempt
 * (exponential backoff up to a cap). See HACKING.md, "The outbox".
 */
#pragma once

#include "gw-config.h"
#include "gw-store.h"

G_BEGIN_DECLS

typedef struct _GwOutbox GwOutbox;

/* Reads the [smtp], [sms] and [outbox] settings and their secret files.
 * Completions of its store operations run on the caller's thread-default
 * main context, which must be the store's. */
GwOutbox *gw_outbox_new    (const GwConfig  *config,
                            GwStore         *store,
                            GError         **error);
/* Starts the worker thread; does nothing when neither e-mail nor SMS is
 * configured. */
void      gw_outbox_start  (GwOutbox        *outbox);
/* Sends nothing new from now on, and starts the few seconds a message being
 * sent has to finish; returns at once. */
void      gw_outbox_stop_begin (GwOutbox    *outbox);
/* Begins the stop if that was not done, waits for the message being sent
 * (until the grace ends), records its outcome, and joins the thread. Call
 * before shutting the store down. */
void      gw_outbox_stop   (GwOutbox        *outbox);
void      gw_outbox_free   (GwOutbox        *outbox);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwOutbox, gw_outbox_free)

G_END_DECLS
