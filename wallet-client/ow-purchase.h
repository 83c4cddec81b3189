/* ow-purchase.h: a purchase waiting for the user's approval
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What an affiliated mall forwards through the browser (issue 5) and the
 * approval dialog shows: merchant, order, amount and items. Without GTK, so
 * its parser can be tested and fuzzed alone.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define OW_PURCHASE_ERROR (ow_purchase_error_quark ())

typedef enum
{
  OW_PURCHASE_ERROR_INVALID,
} OwPurchaseError;

#define OW_PURCHASE_MAX_ITEMS 100

typedef struct
{
  char   *name;
  guint   quantity;
  gint64  amount;       /* the line's total, minor units */
} OwPurchaseItem;

typedef struct
{
  char      *merchant;  /* the name the user sees */
  char      *order_id;  /* the mall's reference */
  gint64     amount;    /* minor units, > 0 */
  char      *currency;  /* lowercase ISO 4217 */
  GPtrArray *items;     /* OwPurchaseItem*, may be empty */

  /* From an affiliated mall's checkout page, else NULL: */
  char      *checkout_session;  /* cs_… */
  char      *merchant_id;       /* mch_…, what the gateway matches */
  char      *gateway;           /* the gateway the mall uses, as a URL */
} OwPurchase;

GQuark       ow_purchase_error_quark    (void);

OwPurchase  *ow_purchase_new            (const char        *merchant,
                                         const char        *order_id,
                                         gint64             amount,
                                         const char        *currency);
void         ow_purchase_add_item       (OwPurchase        *purchase,
                                         const char        *name,
                                         guint              quantity,
                                         gint64             amount);
/* {"merchant": "Demo Mall", "order_id": "17", "amount": 30000,
 *  "currency": "krw", "items": [{"name": "Book", "quantity": 1,
 *  "amount": 30000}]}; strict JSON, unknown members refused. */
OwPurchase  *ow_purchase_new_from_json  (const char        *json,
                                         GError           **error);
/* What an affiliated mall's page carries in <script type="application/json"
 * id="onepin-checkout"> and the extension forwards:
 *   {"checkout_session": "cs_…", "merchant": "mch_…", "merchant_name":
 *    "Tea House", "order_id": "A-1", "amount": 12000, "currency": "krw",
 *    "items": [{"name": "Tea", "quantity": 3, "amount": 4000}],
 *    "gateway": "https://gateway.example"}
 * Item amounts are unit prices here (the line's total is computed); every
 * member but items is required, unknown members are refused. */
OwPurchase  *ow_purchase_new_from_checkout (JsonObject      *object,
                                         GError           **error);
OwPurchase  *ow_purchase_copy           (const OwPurchase  *purchase);
/* A checkout's items as the gateway and malls write them ({name, quantity,
 * amount}, amount the unit price), added to @purchase as its lines. */
gboolean     ow_purchase_add_checkout_items (OwPurchase   *purchase,
                                             JsonArray    *items,
                                             GError      **error);
void         ow_purchase_free           (OwPurchase        *purchase);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwPurchase, ow_purchase_free)

G_END_DECLS
