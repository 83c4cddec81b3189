/* gw-receipts.h: card holders' contact details, and the payment receipts
 * sent to them
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Rules over the outbox module's card_contacts table: the contact (name,
 * e-mail address, phone number) is sealed with the card id as associated
 * data; the receipt channel and locale are kept in the clear, so a capture
 * finds out with one lookup whether it has a receipt to queue.
 */
#pragma once

#include "gw-store.h"
#include "onepin-crypto.h"

G_BEGIN_DECLS

typedef struct
{
  gboolean exists;
  char    *name;
  char    *email;
  char    *phone;
  char     receipts[8];             /* email, sms, none */
  char     locale[4];               /* ko, en */
  gint64   updated;
} GwCardProfile;

void     gw_card_profile_clear    (GwCardProfile        *profile);

/* Fills @out; out->exists is FALSE (and the defaults are set) when the card
 * has no profile yet. */
gboolean gw_card_profile_get      (GwTxn                *txn,
                                   OnepinKey            *seal_key,
                                   const char           *card_id,
                                   GwCardProfile        *out,
                                   GError              **error);
gboolean gw_card_profile_put      (GwTxn                *txn,
                                   OnepinKey            *seal_key,
                                   const char           *card_id,
                                   const GwCardProfile  *profile,
                                   GError              **error);

/* Makes @locale (NULL: nothing) the language of @card_id's profile when it
 * has none yet: the language its holder registered or claimed it in. */
gboolean gw_card_profile_first_locale (GwTxn                *txn,
                                       OnepinKey            *seal_key,
                                       const char           *card_id,
                                       const char           *locale,
                                       GError              **error);

/* Queues a payment_receipt for @payment (just captured; the card's balance
 * is now @balance_after) if its card holder asked for receipts. Called in
 * the capture's own operation. A contact that cannot be opened is logged
 * and skipped: it never stops a payment. */
gboolean gw_receipts_queue        (GwTxn                *txn,
                                   OnepinKey            *seal_key,
                                   const GwPayment      *payment,
                                   gint64                balance_after,
                                   GError              **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GwCardProfile, gw_card_profile_clear)

G_END_DECLS
