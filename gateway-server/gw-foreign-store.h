/* gw-foreign-store.h: what foreign partners need from a database
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reached with gw_txn_extension (txn, "foreign").
 */
#pragma once

#include "gw-store.h"

G_BEGIN_DECLS

typedef struct
{
  char    id[40];
  char    name[256];
  char    currency[4];
  gint64  rate_e6;                  /* won per major unit of @currency, x 10^6 */
  gint64  account_id;               /* credited with the won of what is switched over */
  char    merchant_id[40];          /* "" when no site charges inbound */
  gint64  created;
  gint64  available;                /* PINs left, counted by partner_get */
} GwForeignPartner;

typedef struct
{
  char    partner_id[40];
  gint64  seq;
  gint64  face_value;
  GBytes *pin_sealed;
  char    last4[5];
  guint8  lookup[32];               /* HMAC of "foreign", the partner and the PIN */
} GwForeignPin;

void gw_foreign_pin_clear (GwForeignPin *pin);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwForeignPin, gw_foreign_pin_clear)

typedef struct
{
  gboolean  (*partner_insert)      (GwTxn *txn, const GwForeignPartner *partner, GError **error);
  gboolean  (*partner_get)         (GwTxn *txn, const char *id, GwForeignPartner *out,
                                    GError **error);
  gboolean  (*partner_by_merchant) (GwTxn *txn, const char *merchant_id, GwForeignPartner *out,
                                    GError **error);
  gboolean  (*partner_set_rate)    (GwTxn *txn, const char *id, gint64 rate_e6, GError **error);
  /* The next free sequence number of the partner's PINs. */
  gint64    (*pin_next_seq)        (GwTxn *txn, const char *partner_id, GError **error);
  gboolean  (*pin_insert)          (GwTxn *txn, const GwForeignPin *pin, GError **error);
  /* TRUE in *@found when the partner has a PIN with @lookup. */
  gboolean  (*pin_known)           (GwTxn *txn, const char *partner_id, const guint8 lookup[32],
                                    gboolean *found, GError **error);
  /* The oldest unsold PIN of @face_value. */
  gboolean  (*pin_next)            (GwTxn *txn, const char *partner_id, gint64 face_value,
                                    GwForeignPin *out, GError **error);
  /* Marks it sold to the card for @krw, and forgets the PIN itself. */
  gboolean  (*pin_sell)            (GwTxn *txn, const char *partner_id, gint64 seq,
                                    const char *card_id, gint64 krw, GError **error);
  /* Writes the foreign amount, currency and rate onto the journal entry
   * @ref, which must be the newest (just posted in this transaction: the
   * newest entry is found by its primary key, with no index on refs). */
  gboolean  (*entry_annotate)      (GwTxn *txn, const char *ref, gint64 foreign_amount,
                                    const char *currency, gint64 rate_e6, GError **error);
} GwForeignStoreFuncs;

extern const GwForeignStoreFuncs gw_foreign_store_sqlite;

G_END_DECLS
