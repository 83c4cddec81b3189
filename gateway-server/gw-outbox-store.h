/* gw-outbox-store.h: the outbox module's primitives: claiming and settling
 * e-mail and SMS messages, and the card holders' receipt contacts
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reached with gw_txn_extension (txn, GW_OUTBOX_STORE); the rules that use
 * them are in gw-outbox.c (delivery) and gw-receipts.c (contacts).
 */
#pragma once

#include "gw-store.h"

G_BEGIN_DECLS

#define GW_OUTBOX_STORE "outbox"

typedef struct
{
  gint64  id;
  char    type[16];                 /* "email" or "sms" */
  char   *payload;                  /* sealed by gw_notify_enqueue () */
  gint64  attempts;                 /* counting the one just claimed */
  gint64  created;
} GwOutboxMessage;

void gw_outbox_message_free (GwOutboxMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GwOutboxMessage, gw_outbox_message_free)

typedef struct
{
  GBytes  *contact_sealed;          /* {"name","email","phone"}, sealed with the card id */
  char     receipts[8];             /* email, sms, none */
  char     locale[4];               /* ko, en */
  gint64   updated;
  char    *merchant_name;           /* receipt_contact () only */
} GwCardContact;

void gw_card_contact_clear (GwCardContact *contact);

typedef struct
{
  /* Claims up to @limit due messages of @type (GwOutboxMessage *, oldest
   * first) and counts their attempt. They are sent one after another,
   * after @queued others: the i-th (from 0) is leased, so that no other
   * worker takes it, until now + (@queued + i + 1) × @lease. Across
   * processes: each lease is a compare-and-set on the attempts and due time
   * the claim read, so a message two processes select at once is claimed
   * (and sent) by one; the other leaves it out of its list. */
  GPtrArray *(*claim)           (GwTxn *txn, const char *type, gint64 lease, guint queued,
                                 guint limit, GError **error);
  /* The earliest next attempt of an undelivered message of @type, or 0. */
  gint64     (*next_due)        (GwTxn *txn, const char *type, GError **error);
  /* The outcome of the claim that counted @attempt (GwOutboxMessage.attempts).
   * A retry or a give-up from a claim that has since been overtaken (its
   * lease ran out and another claim took the message) changes nothing. */
  gboolean   (*delivered)       (GwTxn *txn, gint64 id, GError **error);
  gboolean   (*retry)           (GwTxn *txn, gint64 id, gint64 attempt, gint64 next_attempt,
                                 const char *last_error, GError **error);
  gboolean   (*give_up)         (GwTxn *txn, gint64 id, gint64 attempt, const char *last_error,
                                 GError **error);
  /* Hands back a claimed message that was not sent (its claim counted
   * @attempt): due at @next_attempt, the attempt uncounted; @reason, if not
   * NULL, replaces last_error. */
  gboolean   (*release)         (GwTxn *txn, gint64 id, gint64 attempt, gint64 next_attempt,
                                 const char *reason, GError **error);

  /* FALSE without an error when the card has no contact. */
  gboolean   (*contact_get)     (GwTxn *txn, const char *card_id, GwCardContact *out,
                                 GError **error);
  gboolean   (*contact_put)     (GwTxn *txn, const char *card_id, const GwCardContact *contact,
                                 GError **error);
  /* The card's contact if it wants receipts, with @merchant_id's name: one
   * lookup by primary key on the capture path. FALSE without an error when
   * no receipt is wanted. */
  gboolean   (*receipt_contact) (GwTxn *txn, const char *card_id, const char *merchant_id,
                                 GwCardContact *out, GError **error);
} GwOutboxFuncs;

/* The SQLite implementation, listed in gw-store-sqlite.c's extensions[]. */
extern const GwOutboxFuncs gw_outbox_sqlite_funcs;

G_END_DECLS
