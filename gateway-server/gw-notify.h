/* gw-notify.h: e-mail and SMS messages, written to the outbox in the same
 * transaction as the money movement they report
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A module queues a message from inside its store operation; the delivery
 * worker (gw-outbox.c) renders the template and sends it after the commit,
 * with retries, so a message is sent if and only if its transaction
 * committed. Templates and their data fields are listed in HACKING.md.
 */
#pragma once

#include "gw-store.h"
#include "onepin-crypto.h"

G_BEGIN_DECLS

typedef enum
{
  GW_NOTIFY_EMAIL,
  GW_NOTIFY_SMS,
} GwNotifyChannel;

typedef struct
{
  GwNotifyChannel  channel;
  const char      *to;          /* an e-mail address, or a phone number in E.164 or 010-… form */
  const char      *locale;      /* "ko" or "en"; NULL means "ko" */
  const char      *template;    /* "purchase_statement", "gift", "recharge", "refund", "payment_receipt", … */
  const char      *data;        /* a JSON object: the template's fields; may hold secrets */
  const char      *ref;         /* what it reports (order, payment, …), for the logs */
} GwNotification;

/* Queues @notification in @txn. The payload is sealed, since it may carry a
 * card number or a claim link. */
gboolean gw_notify_enqueue  (GwTxn                 *txn,
                             const GwNotification  *notification,
                             GError               **error);

/* The key that seals queued payloads; set once at startup, before any enqueue. */
void     gw_notify_set_key  (OnepinKey             *seal_key);
/* Calls @wakeup (on the writer thread) with the message's type ("email",
 * "sms") after each message is queued, so the delivery worker looks for it:
 * anything it submits to the store then runs after the queueing transaction
 * ended. NULL stops the calls. */
void     gw_notify_set_wakeup (void                (*wakeup) (const char *type,
                                                               gpointer    user_data),
                               gpointer              user_data);
/* Opens a payload gw_notify_enqueue () wrote to the outbox as @type. */
GBytes  *gw_notify_open     (const char            *type,
                             const char            *payload,
                             GError               **error);

G_END_DECLS
