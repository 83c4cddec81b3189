/* ow-purchase.c: a purchase waiting for the user's approval
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-purchase.h"

#include <string.h>

#include "onepin-json.h"
#include "onepin-money.h"
#include "onepin-text.h"

#define MAX_TEXT 200          /* characters of a merchant or item name */
#define MAX_ORDER_ID 255
#define MAX_QUANTITY 10000
#define MAX_AMOUNT G_GINT64_CONSTANT (1000000000000)
#define MAX_UNIT_PRICE 1000000
#define MAX_ID 64
#define MAX_URL 2048

G_DEFINE_QUARK (ow-purchase-error-quark, ow_purchase_error)

static void
item_free (OwPurchaseItem *item)
{
  g_free (item->name);
  g_free (item);
}

OwPurchase *
ow_purchase_new (const char *merchant,
                 const char *order_id,
                 gint64      amount,
                 const char *currency)
{
  OwPurchase *purchase = g_new0 (OwPurchase, 1);

  purchase->merchant = g_strdup (merchant);
  purchase->order_id = g_strdup (order_id);
  purchase->amount = amount;
  purchase->currency = g_strdup (currency);
  purchase->items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  return purchase;
}

void
ow_purchase_add_item (OwPurchase *purchase,
                      const char *name,
                      guint       quantity,
                      gint64      amount)
{
  OwPurchaseItem *item = g_new0 (OwPurchaseItem, 1);

  g_return_if_fail (purchase != NULL && name != NULL);

  item->name = g_strdup (name);
  item->quantity = quantity;
  item->amount = amount;
  g_ptr_array_add (purchase->items, item);
}

OwPurchase *
ow_purchase_copy (const OwPurchase *purchase)
{
  OwPurchase *copy;

  g_return_val_if_fail (purchase != NULL, NULL);

  copy = ow_purchase_new (purchase->merchant, purchase->order_id, purchase->amount,
                          purchase->currency);
  copy->checkout_session = g_strdup (purchase->checkout_session);
  copy->merchant_id = g_strdup (purchase->merchant_id);
  copy->gateway = g_strdup (purchase->gateway);
  for (guint i = 0; i < purchase->items->len; i++)
    {
      OwPurchaseItem *item = g_ptr_array_index (purchase->items, i);

      ow_purchase_add_item (copy, item->name, item->quantity, item->amount);
    }
  return copy;
}

void
ow_purchase_free (OwPurchase *purchase)
{
  if (purchase == NULL)
    return;
  g_free (purchase->merchant);
  g_free (purchase->order_id);
  g_free (purchase->currency);
  g_free (purchase->checkout_session);
  g_free (purchase->merchant_id);
  g_free (purchase->gateway);
  g_ptr_array_unref (purchase->items);
  g_free (purchase);
}

static gboolean
invalid (GError     **error,
         const char  *what)
{
  g_set_error (error, OW_PURCHASE_ERROR, OW_PURCHASE_ERROR_INVALID,
               "The purchase's “%s” is missing or invalid", what);
  return FALSE;
}

/* 1 to @max_chars characters, display-safe: the dialog shows the mall's
 * words, so nothing in them may hide or turn the text around. */
static gboolean
check_text (const char *text,
            glong       max_chars)
{
  glong n = text != NULL ? g_utf8_strlen (text, -1) : 0;

  return n >= 1 && n <= max_chars && onepin_text_is_display_safe (text, ONEPIN_TEXT_ONE_LINE);
}

/* An item; with @unit_price its amount is the price of one (a checkout
 * session's), else the line's total. */
static gboolean
parse_item (OwPurchase  *purchase,
            JsonNode    *node,
            gboolean     unit_price,
            GError     **error)
{
  static const OnepinJsonField fields[] = {
    { "name", ONEPIN_JSON_STRING, TRUE },
    { "quantity", ONEPIN_JSON_INT, TRUE },
    { "amount", ONEPIN_JSON_INT, TRUE },
  };
  JsonObject *object;
  const char *name;
  gint64 quantity;
  gint64 amount;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, "items");
  object = json_node_get_object (node);
  if (!onepin_json_check_fields (object, fields, G_N_ELEMENTS (fields), NULL, NULL))
    return invalid (error, "items");

  name = onepin_json_get_string (object, "name", NULL);
  quantity = onepin_json_get_int (object, "quantity", 0);
  amount = onepin_json_get_int (object, "amount", -1);
  if (!check_text (name, MAX_TEXT) || quantity < 1 || quantity > MAX_QUANTITY ||
      amount < 0 || amount > (unit_price ? MAX_UNIT_PRICE : MAX_AMOUNT))
    return invalid (error, "items");

  ow_purchase_add_item (purchase, name, (guint) quantity, unit_price ? amount * quantity : amount);
  return TRUE;
}

OwPurchase *
ow_purchase_new_from_json (const char  *json,
                           GError     **error)
{
  static const OnepinJsonField fields[] = {
    { "merchant", ONEPIN_JSON_STRING, TRUE },
    { "order_id", ONEPIN_JSON_STRING, TRUE },
    { "amount", ONEPIN_JSON_INT, TRUE },
    { "currency", ONEPIN_JSON_STRING, TRUE },
    { "items", ONEPIN_JSON_ARRAY, FALSE },
  };
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(OwPurchase) purchase = NULL;
  const char *bad = NULL;
  const char *merchant;
  const char *order_id;
  const char *currency;
  gint64 amount;
  JsonArray *items;

  g_return_val_if_fail (json != NULL, NULL);

  object = onepin_json_parse_object (json, strlen (json), error);
  if (object == NULL)
    return NULL;
  if (!onepin_json_check_fields (object, fields, G_N_ELEMENTS (fields), &bad, NULL))
    {
      invalid (error, bad != NULL ? bad : "body");
      return NULL;
    }

  merchant = onepin_json_get_string (object, "merchant", NULL);
  order_id = onepin_json_get_string (object, "order_id", NULL);
  currency = onepin_json_get_string (object, "currency", NULL);
  amount = onepin_json_get_int (object, "amount", 0);
  items = json_object_get_member (object, "items") != NULL &&
          JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "items"))
          ? json_object_get_array_member (object, "items") : NULL;

  if (!check_text (merchant, MAX_TEXT))
    bad = "merchant";
  else if (!check_text (order_id, MAX_ORDER_ID))
    bad = "order_id";
  else if (!onepin_currency_is_known (currency))
    bad = "currency";
  else if (amount < 1 || amount > MAX_AMOUNT)
    bad = "amount";
  else if (items != NULL && json_array_get_length (items) > OW_PURCHASE_MAX_ITEMS)
    bad = "items";
  if (bad != NULL)
    {
      invalid (error, bad);
      return NULL;
    }

  purchase = ow_purchase_new (merchant, order_id, amount, currency);
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    if (!parse_item (purchase, json_array_get_element (items, i), FALSE, error))
      return NULL;

  return g_steal_pointer (&purchase);
}

/* ---- an affiliated mall's checkout -------------------------------------- */

/* @prefix then 1 to MAX_ID letters, digits or underscores. */
static gboolean
check_id (const char *id,
          const char *prefix)
{
  gsize len = id != NULL ? strlen (id) : 0;

  if (!g_str_has_prefix (id != NULL ? id : "", prefix) || len <= strlen (prefix) || len > MAX_ID)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  return TRUE;
}

static gboolean
check_gateway (const char *url)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;

  if (url == NULL || strlen (url) > MAX_URL)
    return FALSE;
  for (const char *p = url; *p != '\0'; p++)
    if (*p <= ' ' || *p > '~')
      return FALSE;
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      g_uri_get_userinfo (uri) != NULL)
    return FALSE;
  scheme = g_uri_get_scheme (uri);
  return g_str_equal (scheme, "https") || g_str_equal (scheme, "http");
}

OwPurchase *
ow_purchase_new_from_checkout (JsonObject  *object,
                               GError     **error)
{
  static const OnepinJsonField fields[] = {
    { "checkout_session", ONEPIN_JSON_STRING, TRUE },
    { "merchant", ONEPIN_JSON_STRING, TRUE },
    { "merchant_name", ONEPIN_JSON_STRING, TRUE },
    { "order_id", ONEPIN_JSON_STRING, TRUE },
    { "amount", ONEPIN_JSON_INT, TRUE },
    { "currency", ONEPIN_JSON_STRING, TRUE },
    { "items", ONEPIN_JSON_ARRAY, FALSE },
    { "gateway", ONEPIN_JSON_STRING, TRUE },
  };
  g_autoptr(OwPurchase) purchase = NULL;
  const char *bad = NULL;
  const char *session;
  const char *merchant_id;
  const char *name;
  const char *order_id;
  const char *currency;
  const char *gateway;
  gint64 amount;
  JsonNode *node;
  JsonArray *items = NULL;

  g_return_val_if_fail (object != NULL, NULL);

  if (!onepin_json_check_fields (object, fields, G_N_ELEMENTS (fields), &bad, NULL))
    {
      invalid (error, bad != NULL ? bad : "body");
      return NULL;
    }
  session = onepin_json_get_string (object, "checkout_session", NULL);
  merchant_id = onepin_json_get_string (object, "merchant", NULL);
  name = onepin_json_get_string (object, "merchant_name", NULL);
  order_id = onepin_json_get_string (object, "order_id", NULL);
  currency = onepin_json_get_string (object, "currency", NULL);
  gateway = onepin_json_get_string (object, "gateway", NULL);
  amount = onepin_json_get_int (object, "amount", 0);
  node = json_object_get_member (object, "items");
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    items = json_node_get_array (node);

  if (!check_id (session, "cs_"))
    bad = "checkout_session";
  else if (!check_id (merchant_id, "mch_"))
    bad = "merchant";
  else if (!check_text (name, MAX_TEXT))
    bad = "merchant_name";
  else if (!check_text (order_id, MAX_ORDER_ID))
    bad = "order_id";
  else if (!onepin_currency_is_known (currency))
    bad = "currency";
  else if (amount < 1 || amount > MAX_AMOUNT)
    bad = "amount";
  else if (!check_gateway (gateway))
    bad = "gateway";
  else if (items != NULL && json_array_get_length (items) > OW_PURCHASE_MAX_ITEMS)
    bad = "items";
  if (bad != NULL)
    {
      invalid (error, bad);
      return NULL;
    }

  purchase = ow_purchase_new (name, order_id, amount, currency);
  purchase->checkout_session = g_strdup (session);
  purchase->merchant_id = g_strdup (merchant_id);
  purchase->gateway = g_strdup (gateway);
  if (items != NULL && !ow_purchase_add_checkout_items (purchase, items, error))
    return NULL;
  return g_steal_pointer (&purchase);
}

gboolean
ow_purchase_add_checkout_items (OwPurchase  *purchase,
                                JsonArray   *items,
                                GError     **error)
{
  if (json_array_get_length (items) > OW_PURCHASE_MAX_ITEMS)
    return invalid (error, "items");
  for (guint i = 0; i < json_array_get_length (items); i++)
    if (!parse_item (purchase, json_array_get_element (items, i), TRUE, error))
      return FALSE;
  return TRUE;
}
