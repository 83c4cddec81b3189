/* gw-orders.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-orders.h"

#include <string.h>

#include "gw-notify.h"
#include "gw-receipts.h"
#include "gw-wallet.h"
#include "onepin-card.h"
#include "onepin-crypto.h"
#include "onepin-json.h"

#define CALL(txn, fn, ...) ((txn)->funcs->fn ((txn), __VA_ARGS__))
#define NOW(txn) ((txn)->funcs->now (txn))
#define STORE(txn) ((const GwOrdersStoreFuncs *) gw_txn_extension ((txn), "orders"))
#define ORDERS(txn, fn, ...) (STORE (txn)->fn ((txn), __VA_ARGS__))

static const gint64 denominations[] = { 5000, 10000, 20000, 30000, 50000, 100000 };

/* Small helpers */

const char *
gw_funding_method_to_string (GwFundingMethod method)
{
  switch (method)
    {
    case GW_FUNDING_BANK_ACCOUNT: return "bank_account";
    case GW_FUNDING_TRANSFER:     return "transfer";
    case GW_FUNDING_CREDIT_CARD:
    default:                      return "credit_card";
    }
}

gboolean
gw_orders_is_denomination (gint64 value)
{
  for (guint i = 0; i < G_N_ELEMENTS (denominations); i++)
    if (denominations[i] == value)
      return TRUE;
  return FALSE;
}

const char *
gw_orders_bank_name (const char *bank_code)
{
  static const struct { const char *code, *name; } banks[] = {
    { "002", "KDB산업은행" }, { "003", "IBK기업은행" }, { "004", "KB국민은행" },
    { "007", "Sh수협은행" }, { "011", "NH농협은행" }, { "020", "우리은행" },
    { "023", "SC제일은행" }, { "027", "한국씨티은행" }, { "031", "iM뱅크" },
    { "032", "부산은행" }, { "034", "광주은행" }, { "035", "제주은행" },
    { "037", "전북은행" }, { "039", "경남은행" }, { "045", "새마을금고" },
    { "048", "신협" }, { "071", "우체국" }, { "081", "하나은행" },
    { "088", "신한은행" }, { "089", "케이뱅크" }, { "090", "카카오뱅크" },
    { "092", "토스뱅크" }, { "990", "onepin Sandbox Bank" },
  };

  for (guint i = 0; bank_code != NULL && i < G_N_ELEMENTS (banks); i++)
    if (g_str_equal (banks[i].code, bank_code))
      return banks[i].name;
  return NULL;
}

/* Banks word their refusals in their own ways; we answer with a few codes
 * a page can explain, and never echo a code we do not know. */
const char *
gw_orders_decline_code (const char *bank_code)
{
  static const struct { const char *bank, *ours; } codes[] = {
    { "insufficient_funds", "insufficient_funds" },
    { "expired_card", "expired_card" },
    { "incorrect_number", "incorrect_number" },
    { "incorrect_cvc", "incorrect_cvc" },
    { "invalid_cvc", "incorrect_cvc" },
    { "invalid_account", "invalid_account" },
    { "account_invalid", "invalid_account" },
    { "account_closed", "invalid_account" },
    { "no_such_account", "invalid_account" },
    { "account_locked", "account_locked" },
    { "incorrect_password", "incorrect_password" },
    { "invalid_credentials", "incorrect_password" },  /* onepin-bank: account number or password */
  };

  for (guint i = 0; bank_code != NULL && i < G_N_ELEMENTS (codes); i++)
    if (g_str_equal (codes[i].bank, bank_code))
      return codes[i].ours;
  return "do_not_honor";
}

static char *
new_id (const char *prefix)
{
  return onepin_crypto_random_token (prefix, 12);
}

/* A row that must exist was not found, or its lookup failed. */
static gboolean
missing (GError    **error,
         GError     *local,
         const char *what)
{
  if (local == NULL)
    local = g_error_new (GW_STORE_ERROR, GW_STORE_ERROR_NOT_FOUND, "No such %s", what);
  g_propagate_error (error, local);
  return FALSE;
}

static void
outcome_init (GwOrdersOutcome *outcome)
{
  memset (outcome, 0, sizeof *outcome);
}

static gboolean
conflict (GwOrdersOutcome *outcome,
          const char      *code)
{
  outcome->result = GW_ORDERS_CONFLICT;
  outcome->code = code;
  return TRUE;
}

static gboolean
not_found (GwOrdersOutcome *outcome,
           const char      *param)
{
  outcome->result = GW_ORDERS_NOT_FOUND;
  outcome->param = param;
  return TRUE;
}

static gboolean
card_declined (GwOrdersOutcome *outcome,
               GwDecline        reason)
{
  outcome->result = GW_ORDERS_CARD_DECLINED;
  outcome->card.code = GW_RESULT_DECLINED;
  outcome->card.decline = reason;
  outcome->card.credential_failure = reason == GW_DECLINE_INVALID_CREDENTIALS;
  return TRUE;
}

static gboolean
bank_declined (GwOrdersOutcome *outcome,
               GwOrdersResult   result,
               const char      *code)
{
  outcome->result = result;
  g_strlcpy (outcome->bank_decline, code && code[0] ? code : "do_not_honor",
             sizeof outcome->bank_decline);
  return TRUE;
}

/* Approved, but given back: what was paid for could not be issued. */
static gboolean
given_back (GwOrdersOutcome *outcome,
            const char      *code)
{
  return bank_declined (outcome, GW_ORDERS_GIVEN_BACK, code);
}

static gint64
add_years (gint64 when,
           gint   years)
{
  g_autoptr(GDateTime) start = g_date_time_new_from_unix_utc (when);
  g_autoptr(GDateTime) end = start ? g_date_time_add_years (start, years) : NULL;

  return end ? g_date_time_to_unix (end) : when;
}

/* Sealed JSON: personal data and gift details are kept encrypted, bound to
 * the row they belong to. */

static GBytes *
seal_json (const GwOrdersConfig  *config,
           const char            *aad,
           JsonBuilder           *builder,
           GError               **error)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = json_to_string (root, FALSE);
  GBytes *sealed;

  sealed = onepin_key_seal (config->ledger->seal_key, text, strlen (text), aad, strlen (aad),
                            error);
  explicit_bzero (text, strlen (text));
  return sealed;
}

static GBytes *
open_sealed (const GwOrdersConfig  *config,
             const char            *aad,
             GBytes                *sealed,
             GError               **error)
{
  return onepin_key_open (config->ledger->seal_key, g_bytes_get_data (sealed, NULL),
                          g_bytes_get_size (sealed), aad, strlen (aad), error);
}

static JsonObject *
open_json (const GwOrdersConfig  *config,
           const char            *aad,
           GBytes                *sealed,
           GError               **error)
{
  g_autoptr(GBytes) plain = NULL;

  if (sealed == NULL)
    return json_object_new ();
  plain = open_sealed (config, aad, sealed, error);
  if (plain == NULL)
    return NULL;
  return onepin_json_parse_object (g_bytes_get_data (plain, NULL), g_bytes_get_size (plain),
                                   error);
}

static void
add_str (JsonBuilder *builder,
         const char  *name,
         const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
add_int (JsonBuilder *builder,
         const char  *name,
         gint64       value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

static char *
builder_text (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);

  return json_to_string (root, FALSE);
}

static gboolean
notify_email (GwTxn        *txn,
              const char   *to,
              const char   *locale,
              const char   *template,
              JsonBuilder  *data,
              const char   *ref,
              GError      **error)
{
  g_autofree char *text = builder_text (data);
  GwNotification notification = {
    GW_NOTIFY_EMAIL, to, locale, template, text, ref,
  };

  return gw_notify_enqueue (txn, &notification, error);
}

/* Where messages about a recharge or a payout go, sealed into @sealed;
 * NULL there when the request gave no address. */
static gboolean
seal_contact (const GwOrdersConfig  *config,
              const char            *aad,
              const GwContact       *contact,
              GBytes               **sealed,
              GError               **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  *sealed = NULL;
  if (contact == NULL || contact->email == NULL)
    return TRUE;
  json_builder_begin_object (builder);
  add_str (builder, "email", contact->email);
  add_str (builder, "locale", contact->locale ? contact->locale : "ko");
  json_builder_end_object (builder);
  *sealed = seal_json (config, aad, builder, error);
  return *sealed != NULL;
}

/* Buyers */

void
gw_buyer_clear (GwBuyer *buyer)
{
  g_clear_pointer (&buyer->name, g_free);
  g_clear_pointer (&buyer->phone, g_free);
  g_clear_pointer (&buyer->email, g_free);
  g_clear_pointer (&buyer->postal_code, g_free);
  g_clear_pointer (&buyer->address, g_free);
}

static GBytes *
seal_buyer (const GwOrdersConfig  *config,
            const char            *order_id,
            const GwBuyer         *buyer,
            GError               **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  add_str (builder, "name", buyer->name);
  add_str (builder, "phone", buyer->phone);
  add_str (builder, "email", buyer->email);
  add_str (builder, "postal_code", buyer->postal_code);
  add_str (builder, "address", buyer->address);
  json_builder_end_object (builder);
  return seal_json (config, order_id, builder, error);
}

static gboolean
open_buyer (const GwOrdersConfig  *config,
            const GwOrderRow      *row,
            GwBuyer               *buyer,
            GError               **error)
{
  g_autoptr(JsonObject) object = open_json (config, row->id, row->buyer_sealed, error);

  if (object == NULL)
    return FALSE;
  buyer->name = g_strdup (onepin_json_get_string (object, "name", ""));
  buyer->phone = g_strdup (onepin_json_get_string (object, "phone", ""));
  buyer->email = g_strdup (onepin_json_get_string (object, "email", ""));
  buyer->postal_code = g_strdup (onepin_json_get_string (object, "postal_code", ""));
  buyer->address = g_strdup (onepin_json_get_string (object, "address", ""));
  return TRUE;
}

/* Orders */

static void
order_card_clear (gpointer data)
{
  GwOrderCard *card = data;

  if (card->number != NULL)
    explicit_bzero (card->number, strlen (card->number));
  g_clear_pointer (&card->number, g_free);
}

void
gw_order_clear (GwOrder *order)
{
  gw_order_row_clear (&order->row);
  gw_buyer_clear (&order->buyer);
  g_clear_pointer (&order->items, g_array_unref);
  g_clear_pointer (&order->cards, g_array_unref);
}

gboolean
gw_orders_create (GwTxn                *txn,
                  const GwOrdersConfig *config,
                  GwOrder              *order,
                  GError              **error)
{
  GwOrderRow *row = &order->row;

  row->total = 0;
  row->card_count = 0;
  for (guint i = 0; i < order->items->len; i++)
    {
      GwOrderItem *item = &g_array_index (order->items, GwOrderItem, i);

      row->total += item->denomination * item->quantity;
      row->card_count += item->quantity;
    }
  g_strlcpy (row->status, "created", sizeof row->status);
  g_strlcpy (row->currency, "krw", sizeof row->currency);
  row->created = NOW (txn);
  row->buyer_sealed = seal_buyer (config, row->id, &order->buyer, error);
  if (row->buyer_sealed == NULL || !ORDERS (txn, order_insert, row, error))
    return FALSE;

  for (guint i = 0; i < order->items->len; i++)
    if (!ORDERS (txn, order_item_insert, row->id, &g_array_index (order->items, GwOrderItem, i),
                 error))
      return FALSE;
  order->cards = g_array_new (FALSE, TRUE, sizeof (GwOrderCard));
  return TRUE;
}

gboolean
gw_orders_check_token (GwTxn        *txn,
                       const char   *order_id,
                       const guint8  token_hash[32],
                       GError      **error)
{
  GwOrderRow row = { 0 };
  gboolean ok;

  if (!ORDERS (txn, order_get, order_id, &row, error))
    return FALSE;
  ok = onepin_crypto_equal (row.token_hash, token_hash, 32);
  gw_order_row_clear (&row);
  return ok;
}

/* A card's number, opened from its sealed copy. */
static char *
open_card_number (GwTxn                *txn,
                  const GwOrdersConfig *config,
                  const char           *card_id,
                  GError              **error)
{
  g_autoptr(GBytes) sealed = ORDERS (txn, card_number_sealed, card_id, error);
  g_autoptr(GBytes) plain = sealed ? open_sealed (config, card_id, sealed, error) : NULL;

  if (plain == NULL)
    return NULL;
  return g_strndup (g_bytes_get_data (plain, NULL), g_bytes_get_size (plain));
}

static gboolean
load_cards (GwTxn                *txn,
            const GwOrdersConfig *config,
            GwOrder              *order,
            gboolean              numbers,
            GError              **error)
{
  g_autoptr(GArray) rows = ORDERS (txn, order_cards, order->row.id, error);

  if (rows == NULL)
    return FALSE;
  order->cards = g_array_sized_new (FALSE, TRUE, sizeof (GwOrderCard), rows->len);
  g_array_set_clear_func (order->cards, order_card_clear);
  for (guint i = 0; i < rows->len; i++)
    {
      GwOrderCard card = { g_array_index (rows, GwOrderCardRow, i), NULL };

      if (numbers &&
          (card.number = open_card_number (txn, config, card.row.card_id, error)) == NULL)
        return FALSE;
      g_array_append_val (order->cards, card);
    }
  return TRUE;
}

static gboolean
load_order (GwTxn                *txn,
            const GwOrdersConfig *config,
            const char           *order_id,
            gboolean              numbers,
            GwOrder              *order,
            GError              **error)
{
  GError *local = NULL;

  memset (order, 0, sizeof *order);
  if (!ORDERS (txn, order_get, order_id, &order->row, &local))
    return missing (error, local, "order");
  order->items = ORDERS (txn, order_items, order_id, error);
  if (order->items == NULL || !open_buyer (config, &order->row, &order->buyer, error) ||
      !load_cards (txn, config, order, numbers, error))
    return FALSE;
  if (order->row.charge_id[0] != '\0')
    {
      order->has_charge = ORDERS (txn, charge_get, order->row.charge_id, &order->charge, &local);
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
    }
  return TRUE;
}

gboolean
gw_orders_load (GwTxn                *txn,
                const GwOrdersConfig *config,
                const char           *order_id,
                GwOrder              *order,
                GError              **error)
{
  return load_order (txn, config, order_id, FALSE, order, error);
}

static gboolean
is_onepin_card (GwTxn                *txn,
                const GwOrdersConfig *config,
                const GwFundingCheck *funding,
                gboolean             *onepin,
                GError              **error)
{
  GwCard card;
  GError *local = NULL;

  *onepin = FALSE;
  if (funding->method != GW_FUNDING_CREDIT_CARD || !funding->card_well_formed)
    return TRUE;
  *onepin = CALL (txn, card_by_lookup, funding->card_lookup, &card, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

static gboolean
refuse_onepin (GwOrdersOutcome *outcome)
{
  outcome->result = GW_ORDERS_REFUSED;
  outcome->code = "payment_method_not_accepted";
  outcome->param = "credit_card.number";
  return TRUE;
}

static void
charge_init (GwChargeRow           *charge,
             GwTxn                 *txn,
             const char            *purpose,
             const char            *owner_id,
             const GwFundingCheck  *funding,
             gint64                 amount)
{
  g_autofree char *id = new_id ("chg_");

  memset (charge, 0, sizeof *charge);
  g_strlcpy (charge->id, id, sizeof charge->id);
  g_strlcpy (charge->purpose, purpose, sizeof charge->purpose);
  g_strlcpy (charge->owner_id, owner_id, sizeof charge->owner_id);
  g_strlcpy (charge->method, gw_funding_method_to_string (funding->method),
             sizeof charge->method);
  g_strlcpy (charge->currency, "krw", sizeof charge->currency);
  g_strlcpy (charge->status, "processing", sizeof charge->status);
  charge->amount = amount;
  charge->created = charge->updated = NOW (txn);
}

static void
step_set (GwOrdersStep *step,
          GwOrdersNext  next,
          const char   *id)
{
  step->next = next;
  g_strlcpy (step->id, id ? id : "", sizeof step->id);
  step->amount = 0;
  step->booked_late = FALSE;
}

/* Money that must go back: the bank is asked to void @charge. */
static gboolean
void_charge (GwChargeRow  *charge,
             GwOrdersStep *step)
{
  g_strlcpy (charge->status, "voiding", sizeof charge->status);
  step_set (step, GW_ORDERS_NEXT_VOID, charge->id);
  return TRUE;
}

/* Declined, expired (a transfer), or approved for another sum and given
 * back (`do_not_honor`). */
static gboolean
declined_by_bank (const GwChargeRow *charge)
{
  const char *status = charge->status;

  if (g_str_equal (status, "declined") || g_str_equal (status, "canceled"))
    return TRUE;
  return (g_str_equal (status, "voiding") || g_str_equal (status, "voided")) &&
         charge->decline_code[0] != '\0';
}

/* @key made @charge already. Only the same request learns its outcome;
 * any other gets 422, as it would from an idempotency record, not stored:
 * the key stays the first request's. The first request's answer may never
 * have been stored: its tries of an approval that could not be issued were
 * told 409 payment_in_progress, and the sweep or the bank's callback gave
 * the money back. Its retry learns that, and is never charged again (a new
 * key pays the order again). Otherwise (FALSE) the order's state answers,
 * as for any request. */
static gboolean
pay_again (const GwPayKey    *key,
           const char        *order_id,
           const GwChargeRow *charge,
           GwOrdersOutcome   *outcome)
{
  if (!g_str_equal (charge->owner_id, order_id) ||
      !onepin_crypto_equal (charge->fingerprint, key->fingerprint, 32))
    {
      outcome->result = GW_ORDERS_KEY_REUSED;
      outcome->unstored = TRUE;
      return TRUE;
    }
  if (g_str_equal (charge->decline_code, GW_ORDERS_ALLOCATION_FAILED))
    return given_back (outcome, GW_ORDERS_ALLOCATION_FAILED);
  /* The bank's word came after the first answer (the sweep, a callback):
   * the same request gets it, as the answer it would have had. Not stored:
   * a decline may still turn into an approval that pays the order, and a
   * retry then answers from the order. A charge the bank never saw
   * ("failed") leaves the order payable; a void because another charge
   * paid the order has no code, and the order answers. */
  if (declined_by_bank (charge))
    {
      bank_declined (outcome, GW_ORDERS_FUNDING_DECLINED, charge->decline_code);
      outcome->unstored = TRUE;
      return TRUE;
    }
  return FALSE;
}

/* The newest charge @key made, if any, into @charge. */
static gboolean
charge_by_key (GwTxn          *txn,
               const GwPayKey *key,
               GwChargeRow    *charge,
               gboolean       *found,
               GError        **error)
{
  GError *local = NULL;

  *found = key != NULL && ORDERS (txn, charge_by_key, key->key_hash, charge, &local);
  return local ? (g_propagate_error (error, local), FALSE) : TRUE;
}

gboolean
gw_orders_pay_begin (GwTxn                *txn,
                     const GwOrdersConfig *config,
                     const char           *order_id,
                     const GwFundingCheck *funding,
                     const GwPayKey       *key,
                     GwOrdersStep         *step,
                     GwOrdersOutcome      *outcome,
                     GError              **error)
{
  g_auto(GwOrderRow) row = { 0 };
  GwChargeRow charge;
  gboolean onepin;
  gboolean found;
  GError *local = NULL;

  outcome_init (outcome);
  step_set (step, GW_ORDERS_NEXT_ANSWER, NULL);
  if (!ORDERS (txn, order_get, order_id, &row, &local))
    return local ? (g_propagate_error (error, local), FALSE) : not_found (outcome, "id");
  if (!charge_by_key (txn, key, &charge, &found, error))
    return FALSE;
  if (found && pay_again (key, order_id, &charge, outcome))
    return TRUE;

  if (g_str_equal (row.status, "allocated"))
    return row.cards_revealed ? conflict (outcome, "order_already_paid") : TRUE;
  if (g_str_equal (row.status, "pending"))
    return conflict (outcome, "order_payment_pending");
  if (g_str_equal (row.status, "paying"))
    {
      /* A charge whose outcome we never learned (a timeout, a restart):
       * ask the bank about it before anything else. */
      step_set (step, GW_ORDERS_NEXT_QUERY, row.charge_id);
      return TRUE;
    }

  if (!is_onepin_card (txn, config, funding, &onepin, error))
    return FALSE;
  if (onepin)
    return refuse_onepin (outcome);

  charge_init (&charge, txn, "order", row.id, funding, row.total);
  charge.has_key = key != NULL;
  if (key != NULL)
    {
      memcpy (charge.key_hash, key->key_hash, 32);
      memcpy (charge.fingerprint, key->fingerprint, 32);
    }
  g_strlcpy (row.status, "paying", sizeof row.status);
  g_strlcpy (row.charge_id, charge.id, sizeof row.charge_id);
  if (!ORDERS (txn, charge_insert, &charge, error) || !ORDERS (txn, order_update, &row, error))
    return FALSE;
  step_set (step, GW_ORDERS_NEXT_CHARGE, charge.id);
  step->amount = charge.amount;
  return TRUE;
}

static gboolean
reveal_cards (GwTxn                *txn,
              const GwOrdersConfig *config,
              const char           *order_id,
              GwOrder              *order,
              GError              **error)
{
  gw_order_clear (order);
  if (!load_order (txn, config, order_id, TRUE, order, error))
    return FALSE;
  order->row.cards_revealed = TRUE;
  return ORDERS (txn, order_update, &order->row, error);
}

gboolean
gw_orders_pay_answer (GwTxn                *txn,
                      const GwOrdersConfig *config,
                      const char           *order_id,
                      GwOrder              *order,
                      GwOrdersOutcome      *outcome,
                      GError              **error)
{
  const char *status;

  outcome_init (outcome);
  if (!load_order (txn, config, order_id, FALSE, order, error))
    return FALSE;
  status = order->row.status;

  if (g_str_equal (status, "allocated"))
    return order->row.cards_revealed ? conflict (outcome, "order_already_paid")
                                     : reveal_cards (txn, config, order_id, order, error);
  if (g_str_equal (status, "pending"))
    return TRUE;
  if (g_str_equal (status, "paying"))
    return outcome->result = GW_ORDERS_BANK_UNKNOWN, TRUE;
  if (g_str_equal (status, "failed") && order->has_charge &&
      g_str_equal (order->charge.decline_code, GW_ORDERS_ALLOCATION_FAILED))
    return given_back (outcome, GW_ORDERS_ALLOCATION_FAILED);
  if (g_str_equal (status, "failed"))
    return bank_declined (outcome, GW_ORDERS_FUNDING_DECLINED,
                          order->has_charge ? order->charge.decline_code : NULL);
  outcome->result = GW_ORDERS_BANK_UNAVAILABLE;
  return TRUE;
}

gboolean
gw_orders_reveal (GwTxn                *txn,
                  const GwOrdersConfig *config,
                  const char           *order_id,
                  GwOrder              *order,
                  GwOrdersOutcome      *outcome,
                  GError              **error)
{
  outcome_init (outcome);
  if (!load_order (txn, config, order_id, FALSE, order, error))
    return FALSE;
  if (!g_str_equal (order->row.status, "allocated"))
    return conflict (outcome, "order_not_allocated");
  if (order->row.cards_revealed)
    return conflict (outcome, "cards_already_revealed");
  return reveal_cards (txn, config, order_id, order, error);
}

/* Access codes */

/* Digits only, for a phone number however it was typed, and a Korean
 * number in its domestic form: +82 10-…, 82 10… and +82 (0)10-… are
 * 010-…. No domestic number starts with 8. */
static char *
phone_digits (const char *text)
{
  GString *digits = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    if (g_ascii_isdigit (*p))
      g_string_append_c (digits, *p);
  if (g_str_has_prefix (digits->str, "82") && digits->len >= 10)
    {
      g_string_erase (digits, 0, 2);
      if (digits->str[0] != '0')
        g_string_prepend_c (digits, '0');
    }
  return g_string_free (digits, FALSE);
}

static gboolean
contact_matches (const GwBuyer *buyer,
                 const char    *contact)
{
  g_autofree char *typed = g_strstrip (g_strdup (contact));

  if (strchr (typed, '@') != NULL)
    return buyer->email != NULL && g_ascii_strcasecmp (typed, buyer->email) == 0;
  else
    {
      g_autofree char *digits = phone_digits (typed);
      g_autofree char *phone = phone_digits (buyer->phone ? buyer->phone : "");

      return strlen (digits) >= 7 && g_str_equal (digits, phone);
    }
}

gboolean
gw_orders_access_code_send (GwTxn                *txn,
                            const GwOrdersConfig *config,
                            const char           *order_id,
                            const char           *contact,
                            const char           *code,
                            const guint8          code_hash[32],
                            GwOrdersAccess       *result,
                            GError              **error)
{
  g_auto(GwOrderRow) order = { 0 };
  g_auto(GwBuyer) buyer = { 0 };
  g_autoptr(JsonBuilder) data = json_builder_new ();
  GwOrderAccessCodeRow row = { 0 };
  GError *local = NULL;
  gint64 now = NOW (txn);

  *result = GW_ORDERS_ACCESS_MISMATCH;
  if (!ORDERS (txn, order_get, order_id, &order, &local))
    return local ? (g_propagate_error (error, local), FALSE) : TRUE;
  if (!open_buyer (config, &order, &buyer, error))
    return FALSE;
  if (!contact_matches (&buyer, contact))
    return TRUE;

  if (!ORDERS (txn, access_code_get, order_id, &row, &local))
    {
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      g_strlcpy (row.order_id, order_id, sizeof row.order_id);
    }
  if (now - row.window_start >= 3600)
    {
      row.window_start = now;
      row.sent = 0;
    }
  if (row.sent >= GW_ORDERS_ACCESS_CODES_PER_HOUR)
    return *result = GW_ORDERS_ACCESS_TOO_MANY, TRUE;

  /* A new code replaces the last one, and its wrong tries. */
  row.expires_at = now + GW_ORDERS_ACCESS_CODE_LIFETIME;
  json_builder_begin_object (data);
  add_str (data, "order_id", order_id);
  add_str (data, "code", code);
  add_int (data, "expires_at", row.expires_at);
  json_builder_end_object (data);
  if (!ORDERS (txn, access_code_send, order_id, code_hash, row.expires_at, now, 3600,
              GW_ORDERS_ACCESS_CODES_PER_HOUR, error) ||
      !notify_email (txn, buyer.email, order.locale, "order_access_code", data, order_id, error))
    return FALSE;
  *result = GW_ORDERS_ACCESS_SENT;
  return TRUE;
}

gboolean
gw_orders_access_code_redeem (GwTxn                *txn,
                              const GwOrdersConfig *config,
                              const char           *order_id,
                              const guint8          code_hash[32],
                              const guint8          token_hash[32],
                              GwOrder              *order,
                              gboolean             *redeemed,
                              GError              **error)
{
  GwOrderAccessCodeRow row = { 0 };
  GError *local = NULL;

  *redeemed = FALSE;
  if (!ORDERS (txn, access_code_get, order_id, &row, &local))
    return local ? (g_propagate_error (error, local), FALSE) : TRUE;
  if (!row.has_code || row.expires_at <= NOW (txn))
    return TRUE;
  if (!onepin_crypto_equal (row.code_hash, code_hash, 32))
    return ORDERS (txn, access_code_fail, order_id, GW_ORDERS_ACCESS_CODE_ATTEMPTS, error);

  /* Once: the code is gone and the page that held the old token is shut out. */
  if (!ORDERS (txn, access_code_use, order_id, code_hash, error) ||
      !load_order (txn, config, order_id, FALSE, order, error))
    return FALSE;
  /* Numbers are shown once: the new page cannot give the cards whose
   * numbers the old one showed (gw_orders_give). */
  if (order->row.cards_revealed && order->row.reopened_at == 0)
    order->row.reopened_at = NOW (txn);
  if (!ORDERS (txn, order_set_token, order_id, token_hash, order->row.reopened_at, error))
    return FALSE;
  *redeemed = TRUE;
  return TRUE;
}

/* Allocation: the order's cards are issued like batches, one balanced
 * entry per denomination (the issuer's funding debited, each card
 * credited), in the transaction that records the payment. */

static void
issued_clear (gpointer data)
{
  GwIssuedCard *card = data;

  if (card->number != NULL)
    explicit_bzero (card->number, strlen (card->number));
  g_clear_pointer (&card->number, g_free);
}

static gboolean
issue_item (GwTxn                *txn,
            const GwOrdersConfig *config,
            const GwOrderRow     *order,
            const GwOrderItem    *item,
            gint64               *position,
            GError              **error)
{
  g_autofree char *batch_id = new_id ("batch_");
  g_autoptr(GArray) cards = g_array_new (FALSE, TRUE, sizeof (GwIssuedCard));

  g_array_set_clear_func (cards, issued_clear);
  if (!gw_ledger_issue_batch (txn, config->ledger, batch_id, item->quantity, item->denomination,
                              order->currency, "online", cards, error))
    return FALSE;

  for (guint i = 0; i < cards->len; i++)
    {
      GwOrderCardRow card = { 0 };

      g_strlcpy (card.card_id, g_array_index (cards, GwIssuedCard, i).id, sizeof card.card_id);
      card.position = (*position)++;
      card.denomination = item->denomination;
      g_strlcpy (card.purpose, "user", sizeof card.purpose);
      if (!ORDERS (txn, order_card_insert, order->id, &card, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
notify_purchase (GwTxn                *txn,
                 const GwOrdersConfig *config,
                 const char           *order_id,
                 GError              **error)
{
  g_auto(GwOrder) order = { 0 };
  g_autoptr(JsonBuilder) data = json_builder_new ();

  if (!load_order (txn, config, order_id, FALSE, &order, error))
    return FALSE;
  json_builder_begin_object (data);
  add_str (data, "order_id", order.row.id);
  add_str (data, "buyer_name", order.buyer.name);
  add_int (data, "total", order.row.total);
  add_str (data, "currency", order.row.currency);
  add_int (data, "created", order.row.created);
  add_str (data, "paid_by", order.has_charge ? order.charge.method : NULL);
  json_builder_set_member_name (data, "lines");
  json_builder_begin_array (data);
  for (guint i = 0; i < order.items->len; i++)
    {
      GwOrderItem *item = &g_array_index (order.items, GwOrderItem, i);

      json_builder_begin_object (data);
      add_int (data, "denomination", item->denomination);
      add_int (data, "quantity", item->quantity);
      json_builder_end_object (data);
    }
  json_builder_end_array (data);
  json_builder_set_member_name (data, "cards");
  json_builder_begin_array (data);
  for (guint i = 0; i < order.cards->len; i++)
    {
      GwOrderCard *card = &g_array_index (order.cards, GwOrderCard, i);

      json_builder_begin_object (data);
      add_str (data, "last4", card->row.last4);
      add_int (data, "denomination", card->row.denomination);
      json_builder_end_object (data);
    }
  json_builder_end_array (data);
  json_builder_end_object (data);
  return notify_email (txn, order.buyer.email, order.row.locale, "purchase_statement", data,
                       order.row.id, error);
}

static gboolean
allocate (GwTxn                *txn,
          const GwOrdersConfig *config,
          GwOrderRow           *order,
          GError              **error)
{
  g_autoptr(GArray) items = ORDERS (txn, order_items, order->id, error);
  gint64 position = 0;

  if (items == NULL)
    return FALSE;
  for (guint i = 0; i < items->len; i++)
    if (!issue_item (txn, config, order, &g_array_index (items, GwOrderItem, i), &position, error))
      return FALSE;

  g_strlcpy (order->status, "allocated", sizeof order->status);
  order->paid_at = NOW (txn);
  order->cards_revealed = FALSE;
  return ORDERS (txn, order_update, order, error) &&
         notify_purchase (txn, config, order->id, error);
}

/* <public_url>/<page_and_fragment>, whether or not public_url ends in '/'. */
static char *
site_url (const GwOrdersConfig *config,
          const char           *page,
          const char           *fragment)
{
  const char *base = config->public_url ? config->public_url : "";

  return g_strconcat (base, g_str_has_suffix (base, "/") ? "" : "/", page, "#", fragment, NULL);
}

/* An order's transfer instructions also say how to find the order again
 * (the page that waits for the deposit may be closed): its id, and the
 * purchase page's form for it, <public_url>/buy#resume. Nothing secret. A
 * recharge's name the card by its last four digits. */
static gboolean
notify_virtual_account (GwTxn                *txn,
                        const GwOrdersConfig *config,
                        const GwChargeRow    *charge,
                        const char           *to,
                        const char           *locale,
                        const char           *order_id,
                        const char           *card_last4,
                        GError              **error)
{
  g_autoptr(JsonBuilder) data = json_builder_new ();

  if (to == NULL)
    return TRUE;
  json_builder_begin_object (data);
  add_str (data, "bank", charge->virtual_bank);
  add_str (data, "account", charge->virtual_account);
  add_int (data, "amount", charge->amount);
  add_str (data, "currency", charge->currency);
  add_int (data, "deadline", charge->deposit_deadline);
  if (order_id != NULL)
    {
      g_autofree char *url = site_url (config, "buy", "resume");

      add_str (data, "order_id", order_id);
      add_str (data, "order_url", url);
    }
  if (card_last4 != NULL)
    add_str (data, "card_last4", card_last4);
  json_builder_end_object (data);
  return notify_email (txn, to, locale, "virtual_account", data, charge->owner_id, error);
}

/* Money that was taken for something we could not deliver (the cards of
 * an order, a recharge's credit) goes back, marked with @code so that the
 * buyer and the admins can tell it from a decline. */
static void
give_back (GwChargeRow  *charge,
           const char   *code,
           GwOrdersStep *step)
{
  g_strlcpy (charge->decline_code, code, sizeof charge->decline_code);
  void_charge (charge, step);
}

/* What the bank said about an order's charge. Without @deliverable, an
 * approval is given back instead of allocated (the site tried often enough). */
static gboolean
settle_order (GwTxn                *txn,
              const GwOrdersConfig *config,
              GwChargeRow          *charge,
              gboolean              deliverable,
              GwOrdersStep         *step,
              GError              **error)
{
  g_auto(GwOrderRow) order = { 0 };
  g_auto(GwBuyer) buyer = { 0 };
  const char *status = charge->status;

  if (!ORDERS (txn, order_get, charge->owner_id, &order, error))
    return FALSE;

  if (g_str_equal (status, "approved"))
    {
      /* Money for an order that another charge paid already goes back. */
      if (g_str_equal (order.status, "allocated"))
        return void_charge (charge, step);
      g_strlcpy (order.charge_id, charge->id, sizeof order.charge_id);
      if (deliverable)
        return allocate (txn, config, &order, error);
      /* Failed like a decline, so it may be paid again once issuing works. */
      g_warning ("the cards of %s could not be issued; its payment %s is given back",
                 order.id, charge->id);
      give_back (charge, GW_ORDERS_ALLOCATION_FAILED, step);
      g_strlcpy (order.status, "failed", sizeof order.status);
      return ORDERS (txn, order_update, &order, error);
    }

  /* Only the order's latest charge decides its state. */
  if (!g_str_equal (order.charge_id, charge->id) || g_str_equal (order.status, "allocated"))
    return TRUE;
  if (g_str_equal (status, "pending"))
    {
      if (g_str_equal (order.status, "pending"))
        return TRUE;
      g_strlcpy (order.status, "pending", sizeof order.status);
      return ORDERS (txn, order_update, &order, error) &&
             open_buyer (config, &order, &buyer, error) &&
             notify_virtual_account (txn, config, charge, buyer.email, order.locale, order.id, NULL,
                                     error);
    }
  /* Nothing taken: a decline or an expired transfer fails the order; a
   * charge the bank never saw leaves it as it was before, payable. */
  g_strlcpy (order.status, g_str_equal (status, "failed") ? "created" : "failed",
             sizeof order.status);
  return ORDERS (txn, order_update, &order, error);
}

/* Where a message about @card_id goes: the address the request gave, or
 * else the card holder's own (POST /v1/cards/profile), or nowhere. */
static gboolean
open_contact (GwTxn                 *txn,
              const GwOrdersConfig  *config,
              const char            *aad,
              GBytes                *sealed,
              const char            *card_id,
              char                 **email,
              char                 **locale,
              GError               **error)
{
  g_autoptr(JsonObject) object = NULL;
  g_auto(GwCardProfile) profile = { 0 };

  *email = *locale = NULL;
  if (sealed != NULL && g_bytes_get_size (sealed) > 0)
    {
      object = open_json (config, aad, sealed, error);
      if (object == NULL)
        return FALSE;
      *email = g_strdup (onepin_json_get_string (object, "email", NULL));
      *locale = g_strdup (onepin_json_get_string (object, "locale", "ko"));
      return TRUE;
    }
  if (card_id == NULL)
    return TRUE;
  if (!gw_card_profile_get (txn, config->ledger->seal_key, card_id, &profile, error))
    return FALSE;
  if (profile.exists && profile.email != NULL && profile.email[0] != '\0')
    {
      *email = g_strdup (profile.email);
      *locale = g_strdup (profile.locale[0] ? profile.locale : "ko");
    }
  return TRUE;
}

static gboolean
notify_recharge (GwTxn                *txn,
                 const GwOrdersConfig *config,
                 const GwRechargeRow  *recharge,
                 const GwCard         *card,
                 GError              **error)
{
  g_autoptr(JsonBuilder) data = json_builder_new ();
  g_autofree char *email = NULL;
  g_autofree char *locale = NULL;

  if (!open_contact (txn, config, recharge->id, recharge->contact_sealed, recharge->card_id,
                     &email, &locale, error))
    return FALSE;
  if (email == NULL)
    return TRUE;
  json_builder_begin_object (data);
  add_str (data, "card_last4", card->last4);
  add_int (data, "amount", recharge->amount);
  add_int (data, "balance_after", recharge->balance_after);
  add_str (data, "currency", recharge->currency);
  add_int (data, "expires_at", recharge->expires_at);
  add_int (data, "created", recharge->created);
  json_builder_end_object (data);
  return notify_email (txn, email, locale, "recharge", data, recharge->id, error);
}

gboolean
gw_orders_recharged (GwTxn   *txn,
                     GwCard  *card,
                     GError **error)
{
  /* A promotional card's validity runs one more year from each recharge,
   * whatever the channel (the card site, ARS). */
  if (!card->promotional)
    return TRUE;
  card->expires_at = add_years (MAX (card->expires_at, NOW (txn)), 1);
  return ORDERS (txn, card_set_expiry, card->id, card->expires_at, error);
}

/* Credits the card with a paid recharge. The database refuses a credit
 * past the card's cap; the recharge then fails and its charge is voided. */
static gboolean
credit_recharge (GwTxn                *txn,
                 const GwOrdersConfig *config,
                 GwRechargeRow        *recharge,
                 GwChargeRow          *charge,
                 GwOrdersStep         *step,
                 GError              **error)
{
  GwCard card;
  GwLine lines[2] = {
    { .account_id = GW_ACCOUNT_ISSUER_FUNDING, .debit = recharge->amount },
    { .credit = recharge->amount },
  };
  GwEntry entry = {
    .kind = "recharge", .channel = "online", .ref = recharge->id,
    .description = charge->method, .created = NOW (txn), .lines = lines, .n_lines = 2,
  };
  GError *local = NULL;
  const char *refused;

  if (!CALL (txn, card_by_id, recharge->card_id, &card, error))
    return FALSE;
  lines[1].account_id = card.account_id;

  /* A card closed (refunded) or expired while its transfer was pending
   * takes nothing more: the money would be stuck on it. */
  refused = g_str_equal (card.state, "closed") ? "card_not_active"
            : card.expires_at <= NOW (txn) ? "expired_card" : NULL;
  if (refused != NULL || !CALL (txn, entry_post, &entry, &local))
    {
      if (local != NULL && !g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_LIMIT))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
      g_strlcpy (recharge->status, "failed", sizeof recharge->status);
      g_strlcpy (recharge->decline_code, refused ? refused : "balance_limit",
                 sizeof recharge->decline_code);
      void_charge (charge, step);
      return ORDERS (txn, recharge_update, recharge, error);
    }

  if (!gw_orders_recharged (txn, &card, error))
    return FALSE;
  g_strlcpy (recharge->status, "succeeded", sizeof recharge->status);
  recharge->balance_after = card.balance + recharge->amount;
  recharge->expires_at = card.expires_at;
  return ORDERS (txn, recharge_update, recharge, error) &&
         notify_recharge (txn, config, recharge, &card, error);
}

static gboolean
settle_recharge (GwTxn                *txn,
                 const GwOrdersConfig *config,
                 GwChargeRow          *charge,
                 gboolean              deliverable,
                 GwOrdersStep         *step,
                 GError              **error)
{
  g_auto(GwRechargeRow) recharge = { 0 };
  const char *status = charge->status;

  if (!ORDERS (txn, recharge_get, charge->owner_id, &recharge, error))
    return FALSE;
  if (g_str_equal (status, "approved"))
    {
      if (!g_str_equal (recharge.status, "processing") && !g_str_equal (recharge.status, "pending"))
        return void_charge (charge, step);
      if (deliverable)
        return credit_recharge (txn, config, &recharge, charge, step, error);
      g_warning ("%s could not be credited to its card; its payment %s is given back",
                 recharge.id, charge->id);
      give_back (charge, GW_ORDERS_CREDIT_FAILED, step);
      g_strlcpy (recharge.status, "failed", sizeof recharge.status);
      g_strlcpy (recharge.decline_code, GW_ORDERS_CREDIT_FAILED, sizeof recharge.decline_code);
      return ORDERS (txn, recharge_update, &recharge, error);
    }
  if (g_str_equal (status, "pending"))
    {
      g_autofree char *email = NULL;
      g_autofree char *locale = NULL;
      GwCard card;

      if (g_str_equal (recharge.status, "pending"))
        return TRUE;
      g_strlcpy (recharge.status, "pending", sizeof recharge.status);
      return ORDERS (txn, recharge_update, &recharge, error) &&
             open_contact (txn, config, recharge.id, recharge.contact_sealed, recharge.card_id,
                           &email, &locale, error) &&
             CALL (txn, card_by_id, recharge.card_id, &card, error) &&
             notify_virtual_account (txn, config, charge, email, locale, NULL, card.last4, error);
    }
  g_strlcpy (recharge.status, "failed", sizeof recharge.status);
  return ORDERS (txn, recharge_update, &recharge, error);
}

static gboolean
deadline_passed (gint64 deadline,
                 gint64 now)
{
  return deadline > 0 && deadline < now;
}

static gboolean
charge_is_final (const GwChargeRow *charge)
{
  return !g_str_equal (charge->status, "processing") && !g_str_equal (charge->status, "pending");
}

/* Moves the charge to what the bank said. FALSE in @changed when it says
 * nothing new. */
static void
charge_apply_result (GwChargeRow          *charge,
                     const GwChargeResult *result,
                     gint64                now,
                     gboolean             *changed)
{
  const char *status;

  if (result == NULL)
    status = "failed";
  else if (result->status == GW_CHARGE_APPROVED)
    status = "approved";
  else if (result->status == GW_CHARGE_DECLINED)
    status = "declined";
  else if (result->status == GW_CHARGE_PENDING)
    status = "pending";
  else
    status = "canceled";

  *changed = !g_str_equal (charge->status, status);
  g_strlcpy (charge->status, status, sizeof charge->status);
  charge->updated = now;
  if (result == NULL)
    {
      g_strlcpy (charge->decline_code, "not_sent", sizeof charge->decline_code);
      return;
    }
  if (result->reference != NULL)
    g_strlcpy (charge->reference, result->reference, sizeof charge->reference);
  /* An approval after a decline or a try the bank never saw is no decline:
   * given back because another charge paid, it must have no code. */
  if (result->status == GW_CHARGE_APPROVED)
    charge->decline_code[0] = '\0';
  if (result->status == GW_CHARGE_DECLINED)
    g_strlcpy (charge->decline_code, gw_orders_decline_code (result->decline_code),
               sizeof charge->decline_code);
  if (result->status == GW_CHARGE_PENDING)
    {
      g_strlcpy (charge->virtual_bank, result->virtual_bank ? result->virtual_bank : "",
                 sizeof charge->virtual_bank);
      g_strlcpy (charge->virtual_account, result->virtual_account ? result->virtual_account : "",
                 sizeof charge->virtual_account);
      charge->deposit_deadline = result->deposit_deadline;
    }
}

/* What @charge's new state means for the order or recharge it pays. */
static gboolean
settle_owner (GwTxn                *txn,
              const GwOrdersConfig *config,
              GwChargeRow          *charge,
              gboolean              deliverable,
              GwOrdersStep         *step,
              GError              **error)
{
  if (g_str_equal (charge->purpose, "order"))
    return settle_order (txn, config, charge, deliverable, step, error);
  return settle_recharge (txn, config, charge, deliverable, step, error);
}

/* A bank's books can lag its front door: a charge it took may show up in
 * its answers to queries only later. Failing it while it could still be
 * booked would leave the customer charged for nothing, so "never seen"
 * counts only once the charge was sent charge_missing_after ago. Until a
 * charge is settled, its `updated` is when it was last sent (a recharge's
 * retry sends it again under the same id). */
static gboolean
charge_may_still_appear (const GwOrdersConfig *config,
                         const GwChargeRow    *charge,
                         gint64                now)
{
  return now - charge->updated < config->charge_missing_after;
}

/* A charge failed on a query's "never seen": a bank whose books lag longer
 * than charge_missing_after may book it yet. The sweep asks about it until
 * watch_until ([site] charge_watch), ever less often (watch_next), and
 * whatever brings its booking in even after (a deposit callback), it is
 * given back: watch_until stays. */
static gboolean
charge_watched (const GwChargeRow *charge)
{
  return g_str_equal (charge->status, "failed") && charge->watch_until > 0;
}

gint64
gw_orders_watch_next (gint64 now,
                      gint64 started,
                      gint64 watch_until,
                      gint64 sweep_interval)
{
  gint64 gap;

  if (now >= watch_until)
    return 0;
  /* Asked at started + (2^k - 1) intervals, the next gap is the time
   * watched so far plus one interval: twice the last gap. */
  gap = MAX (now - started, 0) + MAX (sweep_interval, 1);
  return MIN (now + MIN (gap, GW_ORDERS_WATCH_GAP_MAX), watch_until);
}

/* Failed as never seen at @now: watched from then on. */
static void
watch_begin (const GwOrdersConfig *config,
             GwChargeRow          *charge,
             gint64                now)
{
  charge->watch_until = config->charge_watch > 0 ? now + config->charge_watch : 0;
  charge->watch_next = gw_orders_watch_next (now, now, charge->watch_until,
                                             config->sweep_interval);
}

/* A watched charge was asked about, and the bank still has no booking of
 * it, or did not answer: the next ask backs off. Its watch began when it
 * failed, its `updated`, which nothing changes while it is watched. */
static gboolean
watch_asked (GwTxn                *txn,
             const GwOrdersConfig *config,
             GwChargeRow          *charge,
             GError              **error)
{
  if (charge->watch_next == 0)        /* asked the last time already */
    return TRUE;
  charge->watch_next = gw_orders_watch_next (NOW (txn), charge->updated, charge->watch_until,
                                             config->sweep_interval);
  return ORDERS (txn, charge_update, charge, error);
}

gboolean
gw_orders_charge_unanswered (GwTxn                *txn,
                             const GwOrdersConfig *config,
                             const char           *charge_id,
                             GError              **error)
{
  GwChargeRow charge;
  GError *local = NULL;

  if (!ORDERS (txn, charge_get, charge_id, &charge, &local))
    {
      if (local == NULL)              /* no such charge: nothing watched */
        return TRUE;
      g_propagate_error (error, local);
      return FALSE;
    }
  if (!charge_watched (&charge))
    return TRUE;
  return watch_asked (txn, config, &charge, error);
}

/* What the bank says at last about a watched charge. Taken after all
 * (approved, or a transfer waiting for its deposit): the customer was told
 * it failed, and its order or recharge was settled so (payable again, and
 * maybe paid since with another charge), so it is never credited: the
 * money goes back whole. A decline or a cancel ends the watch; "never
 * seen" again changes nothing. Without a code, as a void because another
 * charge paid: a retry of its request may pay the order again. */
static gboolean
settle_watched (GwTxn                *txn,
                const GwOrdersConfig *config,
                GwChargeRow          *charge,
                const GwChargeResult *result,
                GwOrdersStep         *step,
                GError              **error)
{
  if (result == NULL)
    return watch_asked (txn, config, charge, error);
  charge->watch_until = 0;
  charge->watch_next = 0;
  if (result->status == GW_CHARGE_APPROVED || result->status == GW_CHARGE_PENDING)
    {
      g_warning ("the bank booked %s after it failed as never seen; giving it back", charge->id);
      if (result->reference != NULL)
        g_strlcpy (charge->reference, result->reference, sizeof charge->reference);
      charge->decline_code[0] = '\0';
      charge->voided_late = NOW (txn);
      charge->updated = NOW (txn);
      void_charge (charge, step);
      step->booked_late = TRUE;
    }
  return ORDERS (txn, charge_update, charge, error);
}

static gboolean
settle_charge (GwTxn                *txn,
               const GwOrdersConfig *config,
               const char           *charge_id,
               const GwChargeResult *result,
               gboolean              not_found,
               gboolean              deliverable,
               GwOrdersStep         *step,
               GError              **error)
{
  GwChargeRow charge;
  GError *local = NULL;
  gboolean changed;
  gboolean approved_late;

  step_set (step, GW_ORDERS_NEXT_ANSWER, NULL);
  if (!ORDERS (txn, charge_get, charge_id, &charge, &local))
    return missing (error, local, "charge");
  if (charge_watched (&charge))
    return settle_watched (txn, config, &charge, result, step, error);

  /* A final charge changes only if money arrives after all (a charge the
   * bank never saw, or declined, approved later): then it is settled like
   * a fresh approval, and given back if its order or recharge no longer
   * wants it. */
  approved_late = result != NULL && result->status == GW_CHARGE_APPROVED &&
                  charge_is_final (&charge) && !g_str_equal (charge.status, "approved") &&
                  !g_str_equal (charge.status, "voiding") && !g_str_equal (charge.status, "voided");
  if (charge_is_final (&charge) && !approved_late)
    return TRUE;
  /* Left as it is, as when the bank cannot say: the sweep asks again. */
  if (result == NULL && not_found && charge_may_still_appear (config, &charge, NOW (txn)))
    return TRUE;

  /* But the bank said this one was canceled (or confirmed our void of it
   * at its deadline, giving back any deposit): an approval now is a stale
   * callback the bank queued before that, resent, or money it should not
   * have taken. Either way it goes back, never into cards or a balance,
   * and stays a decline for a retry with its key (`do_not_honor`, as a
   * canceled charge answers): only a void with no code means that another
   * charge paid. */
  if (approved_late && g_str_equal (charge.status, "canceled"))
    {
      if (charge.decline_code[0] == '\0')
        g_strlcpy (charge.decline_code, "do_not_honor", sizeof charge.decline_code);
      charge.updated = NOW (txn);
      void_charge (&charge, step);
      return ORDERS (txn, charge_update, &charge, error);
    }

  /* An approval of another sum than we asked (a short deposit a bank took,
   * a charge row and a bank charge that disagree) credits nothing: the
   * money goes back whole, and the order or recharge fails as declined. */
  if (result != NULL && result->status == GW_CHARGE_APPROVED &&
      !gw_charge_result_matches (result, charge.amount, charge.currency))
    {
      g_warning ("the bank approved %s for another amount or currency; giving it back",
                 charge.id);
      /* For its order or recharge, a decline: nothing was paid. */
      g_strlcpy (charge.status, "declined", sizeof charge.status);
      g_strlcpy (charge.decline_code, "do_not_honor", sizeof charge.decline_code);
      charge.updated = NOW (txn);
      if (!settle_owner (txn, config, &charge, TRUE, step, error))
        return FALSE;
      void_charge (&charge, step);
      return ORDERS (txn, charge_update, &charge, error);
    }

  /* A transfer still unpaid after its deadline is canceled at the bank. */
  if (result != NULL && result->status == GW_CHARGE_PENDING &&
      deadline_passed (MAX (result->deposit_deadline, charge.deposit_deadline), NOW (txn)))
    {
      step_set (step, GW_ORDERS_NEXT_VOID, charge.id);
      return TRUE;
    }

  charge_apply_result (&charge, result, NOW (txn), &changed);
  /* Trusted now, but still asked about a while: see settle_watched (). */
  if (result == NULL && not_found && changed)
    watch_begin (config, &charge, NOW (txn));
  if (!changed && !approved_late)
    return ORDERS (txn, charge_update, &charge, error);
  if (!settle_owner (txn, config, &charge, deliverable, step, error))
    return FALSE;
  return ORDERS (txn, charge_update, &charge, error);
}

gboolean
gw_orders_settle_charge (GwTxn                *txn,
                         const GwOrdersConfig *config,
                         const char           *charge_id,
                         const GwChargeResult *result,
                         gboolean              not_found,
                         GwOrdersStep         *step,
                         GError              **error)
{
  return settle_charge (txn, config, charge_id, result, not_found, TRUE, step, error);
}

gboolean
gw_orders_settle_undeliverable (GwTxn                *txn,
                                const GwOrdersConfig *config,
                                const char           *charge_id,
                                const GwChargeResult *result,
                                gboolean              not_found,
                                GwOrdersStep         *step,
                                GError              **error)
{
  return settle_charge (txn, config, charge_id, result, not_found, FALSE, step, error);
}

gboolean
gw_orders_charge_voided (GwTxn                *txn,
                         const GwOrdersConfig *config,
                         const char           *charge_id,
                         gboolean              voided,
                         GError              **error)
{
  GwChargeRow charge;
  GwChargeResult canceled = { .status = GW_CHARGE_CANCELED };
  GwOrdersStep step;
  GError *local = NULL;

  if (!ORDERS (txn, charge_get, charge_id, &charge, &local))
    return local ? (g_propagate_error (error, local), FALSE) : TRUE;
  if (!voided)
    {
      /* Stays voiding; the sweep tries again. */
      charge.updated = NOW (txn);
      return ORDERS (txn, charge_update, &charge, error);
    }
  if (g_str_equal (charge.status, "voiding"))
    {
      g_strlcpy (charge.status, "voided", sizeof charge.status);
      charge.updated = NOW (txn);
      return ORDERS (txn, charge_update, &charge, error);
    }
  /* A pending transfer canceled at its deadline. */
  if (g_str_equal (charge.status, "pending") || g_str_equal (charge.status, "processing"))
    return gw_orders_settle_charge (txn, config, charge_id, &canceled, FALSE, &step, error);
  return TRUE;
}

/* Gifts */

void
gw_gift_clear (GwGift *gift)
{
  gw_gift_row_clear (&gift->row);
  g_clear_pointer (&gift->design, g_free);
  g_clear_pointer (&gift->recipient_name, g_free);
  g_clear_pointer (&gift->recipient_email, g_free);
  g_clear_pointer (&gift->sender_name, g_free);
  g_clear_pointer (&gift->message, g_free);
  g_clear_pointer (&gift->font_color, g_free);
  g_clear_pointer (&gift->music, g_free);
  g_clear_pointer (&gift->locale, g_free);
  if (gift->card_number != NULL)
    explicit_bzero (gift->card_number, strlen (gift->card_number));
  g_clear_pointer (&gift->card_number, g_free);
}

static GBytes *
seal_gift (const GwOrdersConfig  *config,
           const char            *gift_id,
           const GwGiftRequest   *request,
           GError               **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  add_str (builder, "design", request->design);
  add_str (builder, "recipient_name", request->recipient_name);
  add_str (builder, "recipient_email", request->recipient_email);
  add_str (builder, "sender_name", request->sender_name);
  add_str (builder, "message", request->message);
  add_str (builder, "font_color", request->font_color);
  add_int (builder, "font_size", request->font_size);
  add_str (builder, "music", request->music);
  add_str (builder, "locale", request->locale);
  json_builder_end_object (builder);
  return seal_json (config, gift_id, builder, error);
}

static gboolean
open_gift (GwTxn                *txn,
           const GwOrdersConfig *config,
           GwGift               *gift,
           GError              **error)
{
  g_autoptr(JsonObject) details = open_json (config, gift->row.id, gift->row.details_sealed,
                                             error);
  GwCard card;

  if (details == NULL || !CALL (txn, card_by_id, gift->row.card_id, &card, error))
    return FALSE;
  gift->design = g_strdup (onepin_json_get_string (details, "design", ""));
  gift->recipient_name = g_strdup (onepin_json_get_string (details, "recipient_name", ""));
  gift->recipient_email = g_strdup (onepin_json_get_string (details, "recipient_email", ""));
  gift->sender_name = g_strdup (onepin_json_get_string (details, "sender_name", ""));
  gift->message = g_strdup (onepin_json_get_string (details, "message", ""));
  gift->font_color = g_strdup (onepin_json_get_string (details, "font_color", "#000000"));
  gift->font_size = onepin_json_get_int (details, "font_size", 10);
  gift->music = g_strdup (onepin_json_get_string (details, "music", "none"));
  gift->locale = g_strdup (onepin_json_get_string (details, "locale", "ko"));
  g_strlcpy (gift->card_last4, card.last4, sizeof gift->card_last4);
  g_strlcpy (gift->currency, card.currency, sizeof gift->currency);
  gift->amount = card.initial_value;
  return TRUE;
}

static gboolean
notify_gift (GwTxn                *txn,
             const GwOrdersConfig *config,
             const GwGift         *gift,
             const char           *claim_token,
             GError              **error)
{
  g_autoptr(JsonBuilder) data = json_builder_new ();
  /* The token rides in the fragment, which browsers never send to a server. */
  g_autofree char *claim_url = site_url (config, "claim", claim_token);

  json_builder_begin_object (data);
  add_str (data, "sender_name", gift->sender_name);
  add_str (data, "recipient_name", gift->recipient_name);
  add_str (data, "message", gift->message);
  add_str (data, "design", gift->design);
  add_str (data, "font_color", gift->font_color);
  add_int (data, "font_size", gift->font_size);
  add_str (data, "music", gift->music);
  add_str (data, "claim_url", claim_url);
  add_int (data, "amount", gift->amount);
  add_str (data, "currency", gift->currency);
  json_builder_end_object (data);
  explicit_bzero (claim_url, strlen (claim_url));
  return notify_email (txn, gift->recipient_email, gift->locale, "gift", data, gift->row.id,
                       error);
}

static const GwOrderCardRow *
find_order_card (GArray     *cards,
                 const char *card_id)
{
  for (guint i = 0; i < cards->len; i++)
    if (g_str_equal (g_array_index (cards, GwOrderCardRow, i).card_id, card_id))
      return &g_array_index (cards, GwOrderCardRow, i);
  return NULL;
}

gboolean
gw_orders_give (GwTxn                *txn,
                const GwOrdersConfig *config,
                const char           *order_id,
                const GwGiftRequest  *request,
                GwGift               *gift,
                GwOrdersOutcome      *outcome,
                GError              **error)
{
  g_auto(GwOrderRow) order = { 0 };
  g_autoptr(GArray) cards = NULL;
  g_autofree char *id = NULL;
  GwCard card;
  GError *local = NULL;

  outcome_init (outcome);
  if (!ORDERS (txn, order_get, order_id, &order, &local))
    return local ? (g_propagate_error (error, local), FALSE) : not_found (outcome, "id");
  if (!g_str_equal (order.status, "allocated"))
    return conflict (outcome, "order_not_allocated");
  cards = ORDERS (txn, order_cards, order_id, error);
  if (cards == NULL)
    return FALSE;
  if (find_order_card (cards, request->card_id) == NULL)
    return not_found (outcome, "card");
  if (ORDERS (txn, gift_by_card, request->card_id, &gift->row, &local))
    return conflict (outcome, "card_already_gifted");
  if (local != NULL || !CALL (txn, card_by_id, request->card_id, &card, &local))
    return missing (error, local, "card");
  /* Once someone set a password, the card is theirs: it cannot be given. */
  if (card.has_password || !g_str_equal (card.state, "sold"))
    return conflict (outcome, "card_already_registered");
  /* Reopened by an access code after its numbers were shown: a gift
   * claimed at the reopener's address would show a number again, to
   * whoever reads the buyer's mail. The buyer registers it with the number
   * they saw. */
  if (order.reopened_at != 0)
    return conflict (outcome, "gift_not_allowed");

  id = new_id ("gift_");
  g_strlcpy (gift->row.id, id, sizeof gift->row.id);
  g_strlcpy (gift->row.card_id, request->card_id, sizeof gift->row.card_id);
  g_strlcpy (gift->row.order_id, order_id, sizeof gift->row.order_id);
  memcpy (gift->row.claim_hash, request->claim_hash, 32);
  g_strlcpy (gift->row.status, "sent", sizeof gift->row.status);
  gift->row.created = NOW (txn);
  gift->row.details_sealed = seal_gift (config, id, request, error);
  return gift->row.details_sealed != NULL &&
         ORDERS (txn, gift_insert, &gift->row, error) &&
         ORDERS (txn, order_card_set_purpose, request->card_id, "gift", error) &&
         open_gift (txn, config, gift, error) &&
         notify_gift (txn, config, gift, request->claim_token, error);
}

gboolean
gw_orders_open_gift (GwTxn                *txn,
                     const GwOrdersConfig *config,
                     const guint8          claim_hash[32],
                     const char           *password,
                     const char           *hint,
                     GwGift               *gift,
                     GwOrdersOutcome      *outcome,
                     GError              **error)
{
  GError *local = NULL;
  GwCredentials credentials;
  GwCard card;
  gboolean ok;

  outcome_init (outcome);
  if (!ORDERS (txn, gift_by_claim, claim_hash, &gift->row, &local))
    return local ? (g_propagate_error (error, local), FALSE) : not_found (outcome, "token");
  if (!open_gift (txn, config, gift, error))
    return FALSE;
  if (password == NULL)
    return TRUE;
  if (!g_str_equal (gift->row.status, "sent"))
    return conflict (outcome, "gift_already_claimed");
  /* A card given before this rule was kept may have had a password set
   * by its giver since: it is no longer a gift to hand over. */
  if (!CALL (txn, card_by_id, gift->row.card_id, &card, &local))
    return missing (error, local, "card");
  if (card.has_password || !g_str_equal (card.state, "sold"))
    return conflict (outcome, "gift_card_registered");

  /* The claim registers the card with the recipient's password, in the
   * same transaction: the number the giver saw is never enough to take
   * the card back, before the claim or after it. */
  gift->card_number = open_card_number (txn, config, gift->row.card_id, error);
  if (gift->card_number == NULL)
    return FALSE;
  gw_ledger_credentials (config->ledger, gift->card_number, password, &credentials);
  ok = gw_ledger_register (txn, config->ledger, &credentials, hint, &card, &outcome->card, error);
  explicit_bzero (&credentials, sizeof credentials);
  if (!ok)
    return FALSE;
  if (outcome->card.code != GW_RESULT_OK)
    return outcome->result = GW_ORDERS_CARD_DECLINED, TRUE;
  if (!ORDERS (txn, gift_set_claimed, gift->row.id, NOW (txn), error))
    return FALSE;
  g_strlcpy (gift->row.status, "claimed", sizeof gift->row.status);
  gift->row.claimed_at = NOW (txn);
  return TRUE;
}

gboolean
gw_orders_register_card (GwTxn                *txn,
                         const GwLedgerConfig *ledger,
                         const GwCredentials  *credentials,
                         const char           *hint,
                         GwCard               *card,
                         GwOrdersOutcome      *outcome,
                         GError              **error)
{
  g_auto(GwGiftRow) gift = { 0 };
  GError *local = NULL;

  outcome_init (outcome);
  /* A registered card gets the ledger's answer (already registered). A
   * claim registers its card, so a claimed gift's card without a password
   * was claimed before claims did (by a gateway older than this rule): its
   * recipient saw the number and registers it here. */
  if (credentials->well_formed &&
      CALL (txn, card_by_lookup, credentials->lookup, card, &local) && !card->has_password &&
      ORDERS (txn, gift_by_card, card->id, &gift, &local) && g_str_equal (gift.status, "sent"))
    return conflict (outcome, "card_gifted");
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  if (!gw_ledger_register (txn, ledger, credentials, hint, card, &outcome->card, error))
    return FALSE;
  if (outcome->card.code != GW_RESULT_OK)
    outcome->result = GW_ORDERS_CARD_DECLINED;
  return TRUE;
}

/* Recharges */

static gboolean
authenticate_card (GwTxn                *txn,
                   const GwOrdersConfig *config,
                   const GwCredentials  *credentials,
                   GwCard               *card,
                   GwOrdersOutcome      *outcome,
                   GError              **error)
{
  if (!gw_ledger_authenticate (txn, config->ledger, credentials, card, &outcome->card, error))
    return FALSE;
  if (outcome->card.code != GW_RESULT_OK)
    outcome->result = GW_ORDERS_CARD_DECLINED;
  return TRUE;
}

/* The request proved the card's password: the card may still be refused,
 * but only for being closed, which gw_ledger_authenticate checks after the
 * password (a card with no password yet is refused before any). */
static gboolean
password_proven (const GwOrdersOutcome *outcome,
                 const GwCard          *card)
{
  if (outcome->result == GW_ORDERS_OK)
    return TRUE;
  return outcome->card.code == GW_RESULT_DECLINED &&
         outcome->card.decline == GW_DECLINE_CARD_NOT_ACTIVE && card->has_password;
}

/* The recharge an earlier request with @key made, if any. Rows made before
 * migration 012 were keyed in the scope "public" that every holder shares,
 * and kept no fingerprint: such a row is taken for this request's only
 * when it is on @card_id, the card whose password the request proved
 * (NULL: none), and is otherwise another holder's business. */
static gboolean
recharge_by_key (GwTxn               *txn,
                 const GwRechargeKey *key,
                 const char          *card_id,
                 GwRechargeRow       *row,
                 gboolean            *found,
                 GError             **error)
{
  GError *local = NULL;

  *found = ORDERS (txn, recharge_by_request, key->request_key, row, &local);
  if (*found || local != NULL || card_id == NULL)
    return local ? (g_propagate_error (error, local), FALSE) : TRUE;
  *found = ORDERS (txn, recharge_by_request, key->legacy_key, row, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  if (*found && (row->has_fingerprint || !g_str_equal (row->card_id, card_id)))
    {
      gw_recharge_row_clear (row);
      *found = FALSE;
    }
  return TRUE;
}

/* What a recharge must pass before anything is charged. */
static gboolean
recharge_check (GwTxn                *txn,
                const GwOrdersConfig *config,
                const GwCard         *card,
                gint64                amount,
                const GwFundingCheck *funding,
                GwOrdersOutcome      *outcome,
                GError              **error)
{
  gboolean onepin;

  if (card->expires_at <= NOW (txn))
    return card_declined (outcome, GW_DECLINE_EXPIRED_CARD);
  if (amount < GW_RECHARGE_UNIT || amount > GW_CARD_BALANCE_CAP || amount % GW_RECHARGE_UNIT)
    return outcome->result = GW_ORDERS_REFUSED, outcome->code = "parameter_invalid",
           outcome->param = "amount", TRUE;
  if (!is_onepin_card (txn, config, funding, &onepin, error))
    return FALSE;
  if (onepin)
    return refuse_onepin (outcome);
  /* Checked here so nobody is charged for a recharge that cannot fit; the
   * database checks the cap again when the card is credited. */
  if (card->balance + amount > GW_CARD_BALANCE_CAP)
    return card_declined (outcome, GW_DECLINE_BALANCE_LIMIT);
  return TRUE;
}

/* The recharge's charge never reached the bank: it was down (or, asked
 * later, had never heard of it), and the answer was 503 bank_unavailable,
 * not stored. */
static gboolean
never_charged (const GwRecharge *recharge)
{
  return g_str_equal (recharge->row.status, "failed") &&
         g_str_equal (recharge->charge.status, "failed");
}

/* Nothing happened the first time, so the same request tries again,
 * checked afresh (@outcome is its card's), under the same charge id: the
 * bank has never seen it, or, if it has after all, answers what it did
 * with it. Either way nothing is charged twice, and the key stays usable. */
static gboolean
recharge_retry (GwTxn                *txn,
                const GwOrdersConfig *config,
                const GwCard         *card,
                const GwFundingCheck *funding,
                GwRecharge           *recharge,
                GwOrdersStep         *step,
                GwOrdersOutcome      *outcome,
                GError              **error)
{
  GwRechargeRow *row = &recharge->row;
  GwChargeRow *charge = &recharge->charge;

  if (outcome->result != GW_ORDERS_OK)
    return TRUE;
  if (!recharge_check (txn, config, card, row->amount, funding, outcome, error))
    return FALSE;
  if (outcome->result != GW_ORDERS_OK)
    return TRUE;

  g_strlcpy (charge->status, "processing", sizeof charge->status);
  charge->decline_code[0] = '\0';
  charge->updated = NOW (txn);
  charge->watch_until = 0;        /* sent again: the bank answers for both sends */
  charge->watch_next = 0;
  g_strlcpy (row->status, "processing", sizeof row->status);
  row->decline_code[0] = '\0';
  g_strlcpy (recharge->card_last4, card->last4, sizeof recharge->card_last4);
  if (!ORDERS (txn, charge_update, charge, error) || !ORDERS (txn, recharge_update, row, error))
    return FALSE;
  step_set (step, GW_ORDERS_NEXT_CHARGE, charge->id);
  step->amount = row->amount;
  return TRUE;
}

/* @key made a recharge already. The card's password comes first, as on any
 * request: a wrong one is refused and counted, so the key tells nobody
 * without the password anything. Then only the same parameters on the same
 * card get that recharge; any other request gets 422, as it would from an
 * idempotency record. Neither refusal is stored: the key stays the first
 * request's, whose outcome its retry must still be able to learn. Sets
 * @anew when the request is to recharge afresh under its key. */
static gboolean
recharge_again (GwTxn                *txn,
                const GwOrdersConfig *config,
                const GwRechargeKey  *key,
                const GwCard         *card,
                const GwFundingCheck *funding,
                GwRecharge           *recharge,
                GwOrdersStep         *step,
                GwOrdersOutcome      *outcome,
                gboolean             *anew,
                GError              **error)
{
  GwRechargeRow *row = &recharge->row;
  GwOrdersOutcome checked = *outcome;
  GError *local = NULL;

  if (!password_proven (outcome, card))
    return outcome->unstored = TRUE, TRUE;
  /* The right password on a card closed since: its recharge is still told. */
  outcome_init (outcome);
  if (!g_str_equal (row->card_id, card->id) ||
      (row->has_fingerprint && !onepin_crypto_equal (row->fingerprint, key->fingerprint, 32)))
    {
      outcome->result = GW_ORDERS_KEY_REUSED;
      outcome->unstored = TRUE;
      return TRUE;
    }
  g_strlcpy (step->owner_id, row->id, sizeof step->owner_id);
  /* The same request again after an unknown outcome: learn that outcome,
   * never charge a second time. */
  if (g_str_equal (row->status, "processing"))
    {
      step_set (step, GW_ORDERS_NEXT_QUERY, row->charge_id);
      return TRUE;
    }
  if (!ORDERS (txn, charge_get, row->charge_id, &recharge->charge, &local))
    return missing (error, local, "charge");
  /* Its charge failed as never seen, then turned up booked after all and
   * was given back (settle_watched ()): nothing was credited, and the
   * client was told only 503, so its retry recharges again, as after any
   * charge the bank never saw. Not under that charge's id, which the bank
   * has voided: a new recharge takes the key over. */
  if (row->has_fingerprint && recharge->charge.voided_late > 0)
    {
      *outcome = checked;
      *anew = TRUE;
      return ORDERS (txn, recharge_release_key, row->id, error);
    }
  /* Rows from before migration 012 have no fingerprint: nothing says this
   * request would charge what theirs recorded, so they are only told. */
  if (!row->has_fingerprint || !never_charged (recharge))
    return TRUE;
  *outcome = checked;
  return recharge_retry (txn, config, card, funding, recharge, step, outcome, error);
}

/* Records a new recharge and its charge, with the request's key and
 * fingerprint, so that a retry finds it and nothing else does. */
static gboolean
recharge_new (GwTxn                *txn,
              const GwOrdersConfig *config,
              const GwCard         *card,
              gint64                amount,
              const GwFundingCheck *funding,
              const GwContact      *contact,
              const GwRechargeKey  *key,
              GwRecharge           *recharge,
              GwOrdersStep         *step,
              GError              **error)
{
  GwRechargeRow *row = &recharge->row;
  g_autofree char *id = new_id ("rch_");

  g_strlcpy (row->id, id, sizeof row->id);
  g_strlcpy (row->card_id, card->id, sizeof row->card_id);
  g_strlcpy (row->currency, card->currency, sizeof row->currency);
  g_strlcpy (row->status, "processing", sizeof row->status);
  row->amount = amount;
  row->created = NOW (txn);
  row->has_request_key = row->has_fingerprint = key != NULL;
  if (key != NULL)
    {
      memcpy (row->request_key, key->request_key, 32);
      memcpy (row->fingerprint, key->fingerprint, 32);
    }
  if (!seal_contact (config, id, contact, &row->contact_sealed, error))
    return FALSE;

  charge_init (&recharge->charge, txn, "recharge", id, funding, amount);
  g_strlcpy (row->charge_id, recharge->charge.id, sizeof row->charge_id);
  g_strlcpy (recharge->card_last4, card->last4, sizeof recharge->card_last4);
  if (!ORDERS (txn, charge_insert, &recharge->charge, error) ||
      !ORDERS (txn, recharge_insert, row, error))
    return FALSE;
  step_set (step, GW_ORDERS_NEXT_CHARGE, recharge->charge.id);
  step->amount = amount;
  g_strlcpy (step->owner_id, row->id, sizeof step->owner_id);
  return TRUE;
}

gboolean
gw_orders_recharge_begin (GwTxn                *txn,
                          const GwOrdersConfig *config,
                          const GwCredentials  *credentials,
                          gint64                amount,
                          const GwFundingCheck *funding,
                          const GwContact      *contact,
                          const GwRechargeKey  *key,
                          GwRecharge           *recharge,
                          GwOrdersStep         *step,
                          GwOrdersOutcome      *outcome,
                          GError              **error)
{
  GwCard card;
  gboolean found = FALSE;
  gboolean anew = FALSE;

  outcome_init (outcome);
  step_set (step, GW_ORDERS_NEXT_ANSWER, NULL);
  if (!authenticate_card (txn, config, credentials, &card, outcome, error))
    return FALSE;
  if (key != NULL &&
      !recharge_by_key (txn, key, password_proven (outcome, &card) ? card.id : NULL,
                        &recharge->row, &found, error))
    return FALSE;
  if (found)
    {
      if (!recharge_again (txn, config, key, &card, funding, recharge, step, outcome, &anew,
                           error))
        return FALSE;
      if (!anew)
        return TRUE;
      /* the key was released: a new recharge, from a clean row */
      gw_recharge_row_clear (&recharge->row);
      memset (&recharge->row, 0, sizeof recharge->row);
      step_set (step, GW_ORDERS_NEXT_ANSWER, NULL);
    }
  if (outcome->result != GW_ORDERS_OK)
    return TRUE;
  if (!recharge_check (txn, config, &card, amount, funding, outcome, error))
    return FALSE;
  if (outcome->result != GW_ORDERS_OK)
    return TRUE;
  return recharge_new (txn, config, &card, amount, funding, contact, key, recharge, step, error);
}

gboolean
gw_orders_recharge_answer (GwTxn           *txn,
                           const char      *recharge_id,
                           GwRecharge      *recharge,
                           GwOrdersOutcome *outcome,
                           GError         **error)
{
  GwCard card;
  const char *status;
  GError *local = NULL;

  outcome_init (outcome);
  gw_recharge_row_clear (&recharge->row);
  if (!ORDERS (txn, recharge_get, recharge_id, &recharge->row, &local) ||
      !ORDERS (txn, charge_get, recharge->row.charge_id, &recharge->charge, &local) ||
      !CALL (txn, card_by_id, recharge->row.card_id, &card, &local))
    return missing (error, local, "recharge");
  g_strlcpy (recharge->card_last4, card.last4, sizeof recharge->card_last4);

  status = recharge->row.status;
  if (g_str_equal (status, "processing"))
    outcome->result = GW_ORDERS_BANK_UNKNOWN;
  else if (g_str_equal (status, "failed"))
    {
      if (g_str_equal (recharge->row.decline_code, "balance_limit"))
        card_declined (outcome, GW_DECLINE_BALANCE_LIMIT);
      else if (g_str_equal (recharge->row.decline_code, "card_not_active"))
        card_declined (outcome, GW_DECLINE_CARD_NOT_ACTIVE);
      else if (g_str_equal (recharge->row.decline_code, GW_ORDERS_CREDIT_FAILED))
        given_back (outcome, GW_ORDERS_CREDIT_FAILED);
      else if (g_str_equal (recharge->charge.status, "failed"))
        outcome->result = GW_ORDERS_BANK_UNAVAILABLE;
      else
        bank_declined (outcome, GW_ORDERS_FUNDING_DECLINED, recharge->charge.decline_code);
    }
  return TRUE;
}

/* Balance refunds: the card is debited to zero and closed in the
 * transaction that records the payout, so nothing can be spent or paid
 * out twice while the bank works. A refused payout puts it all back. */

static gboolean
post_payout_entry (GwTxn             *txn,
                   const char        *kind,
                   const GwPayoutRow *payout,
                   gint64             card_account,
                   GError           **error)
{
  gboolean out = g_str_equal (kind, "payout");
  GwLine lines[2] = {
    { .account_id = out ? card_account : GW_ACCOUNT_ISSUER_FUNDING, .debit = payout->amount,
      .require_available = out },
    { .account_id = out ? GW_ACCOUNT_ISSUER_FUNDING : card_account, .credit = payout->amount },
  };
  GwEntry entry = {
    .kind = kind, .channel = "bank", .ref = payout->id, .created = NOW (txn),
    .lines = lines, .n_lines = 2,
  };

  return CALL (txn, entry_post, &entry, error);
}

/* @key made a payout already. As for recharges (recharge_again), the
 * card's password comes first, and only the same parameters get that
 * payout; neither refusal is stored. *@fresh: it never reached the bank,
 * and the request goes on as new, the key now its. */
static gboolean
payout_again (GwTxn             *txn,
              const GwPayoutKey *key,
              const GwCard      *card,
              GwPayoutRow       *row,
              GwOrdersStep      *step,
              GwOrdersOutcome   *outcome,
              gboolean          *fresh,
              GError           **error)
{
  GwOrdersOutcome checked = *outcome;

  *fresh = FALSE;
  if (!password_proven (outcome, card))
    return outcome->unstored = TRUE, TRUE;
  outcome_init (outcome);
  if (!g_str_equal (row->card_id, card->id) ||
      !onepin_crypto_equal (row->fingerprint, key->fingerprint, 32))
    {
      outcome->result = GW_ORDERS_KEY_REUSED;
      outcome->unstored = TRUE;
      return TRUE;
    }
  if (g_str_equal (row->status, "failed") && g_str_equal (row->decline_code, "not_sent"))
    {
      *outcome = checked;
      *fresh = TRUE;
      if (!ORDERS (txn, payout_release_key, row->id, error))
        return FALSE;
      gw_payout_row_clear (row);
      return TRUE;
    }
  step_set (step, g_str_equal (row->status, "pending") ? GW_ORDERS_NEXT_QUERY
                                                       : GW_ORDERS_NEXT_ANSWER, row->id);
  g_strlcpy (step->owner_id, row->id, sizeof step->owner_id);
  return TRUE;
}

/* Right password on a closed card: a payout may still be under way, or be
 * the one that emptied it. The latter is how a request retried after 503
 * bank_outcome_unknown (never stored) learns that its payout went through
 * once the sweep settled it, rather than card_not_active. *@found: so. */
static gboolean
payout_of_closed_card (GwTxn           *txn,
                       const GwCard    *card,
                       GwPayoutRow     *row,
                       GwOrdersStep    *step,
                       GwOrdersOutcome *outcome,
                       gboolean        *found,
                       GError         **error)
{
  GError *local = NULL;

  *found = FALSE;
  if (outcome->result != GW_ORDERS_CARD_DECLINED ||
      outcome->card.decline != GW_DECLINE_CARD_NOT_ACTIVE || !g_str_equal (card->state, "closed"))
    return TRUE;
  gw_payout_row_clear (row);
  *found = ORDERS (txn, payout_open_for_card, card->id, row, &local) ||
           (local == NULL && ORDERS (txn, payout_paid_for_card, card->id, row, &local));
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  if (*found)
    {
      outcome_init (outcome);
      step_set (step, GW_ORDERS_NEXT_QUERY, row->id);
      g_strlcpy (step->owner_id, row->id, sizeof step->owner_id);
    }
  return TRUE;
}

/* Records a new payout of the card's whole balance, with the request's
 * key and fingerprint, and empties and closes the card. */
static gboolean
payout_new (GwTxn                *txn,
            const GwOrdersConfig *config,
            const GwCard         *card,
            const char           *bank_code,
            const char           *account_last4,
            const GwContact      *contact,
            const GwPayoutKey    *key,
            GwPayout             *payout,
            GwOrdersStep         *step,
            GError              **error)
{
  GwPayoutRow *row = &payout->row;
  g_autofree char *id = new_id ("po_");

  gw_payout_row_clear (row);
  g_strlcpy (row->id, id, sizeof row->id);
  g_strlcpy (row->card_id, card->id, sizeof row->card_id);
  g_strlcpy (row->currency, card->currency, sizeof row->currency);
  g_strlcpy (row->status, "pending", sizeof row->status);
  g_strlcpy (row->bank_code, bank_code, sizeof row->bank_code);
  g_strlcpy (row->account_last4, account_last4, sizeof row->account_last4);
  g_strlcpy (payout->card_last4, card->last4, sizeof payout->card_last4);
  row->amount = card->balance;
  row->created = row->updated = NOW (txn);
  row->has_request_key = key != NULL;
  if (key != NULL)
    {
      memcpy (row->request_key, key->request_key, 32);
      memcpy (row->fingerprint, key->fingerprint, 32);
    }
  if (!seal_contact (config, id, contact, &row->contact_sealed, error))
    return FALSE;

  if (!post_payout_entry (txn, "payout", row, card->account_id, error) ||
      !ORDERS (txn, card_close_empty, card->id, card->state, error) ||
      !ORDERS (txn, payout_insert, row, error))
    return FALSE;
  step_set (step, GW_ORDERS_NEXT_PAYOUT, row->id);
  step->amount = row->amount;
  g_strlcpy (step->owner_id, row->id, sizeof step->owner_id);
  return TRUE;
}

gboolean
gw_orders_payout_begin (GwTxn                *txn,
                        const GwOrdersConfig *config,
                        const GwCredentials  *credentials,
                        const char           *bank_code,
                        const char           *account_last4,
                        const GwContact      *contact,
                        const GwPayoutKey    *key,
                        GwPayout             *payout,
                        GwOrdersStep         *step,
                        GwOrdersOutcome      *outcome,
                        GError              **error)
{
  GwPayoutRow *row = &payout->row;
  GwCard card;
  gboolean found = FALSE;
  GError *local = NULL;

  outcome_init (outcome);
  step_set (step, GW_ORDERS_NEXT_ANSWER, NULL);
  if (!authenticate_card (txn, config, credentials, &card, outcome, error))
    return FALSE;
  if (key != NULL)
    {
      found = ORDERS (txn, payout_by_request, key->request_key, row, &local);
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
    }
  if (found)
    {
      gboolean fresh;

      if (!payout_again (txn, key, &card, row, step, outcome, &fresh, error))
        return FALSE;
      if (!fresh)
        return TRUE;
    }
  if (!payout_of_closed_card (txn, &card, row, step, outcome, &found, error))
    return FALSE;
  if (found || outcome->result != GW_ORDERS_OK)
    return TRUE;
  /* Every mall a wallet's representative card paid has its number and
   * password; its balance came from the wallet's own funding sources and
   * must not leave to an account someone else names. */
  if (!gw_wallet_owns_card (txn, card.id, &found, error))
    return FALSE;
  if (found)
    return conflict (outcome, "card_managed_by_wallet");
  if (card.held > 0)
    return conflict (outcome, "card_has_open_authorizations");
  if (card.balance <= 0)
    return conflict (outcome, "balance_zero");
  return payout_new (txn, config, &card, bank_code, account_last4, contact, key, payout, step,
                     error);
}

static gboolean
notify_refund (GwTxn                *txn,
               const GwOrdersConfig *config,
               const GwPayoutRow    *payout,
               const GwCard         *card,
               GError              **error)
{
  g_autoptr(JsonBuilder) data = json_builder_new ();
  g_autofree char *email = NULL;
  g_autofree char *locale = NULL;
  const char *bank = gw_orders_bank_name (payout->bank_code);

  if (!open_contact (txn, config, payout->id, payout->contact_sealed, payout->card_id, &email,
                     &locale, error))
    return FALSE;
  if (email == NULL)
    return TRUE;
  json_builder_begin_object (data);
  add_str (data, "card_last4", card->last4);
  add_int (data, "amount", payout->amount);
  add_str (data, "currency", payout->currency);
  add_str (data, "bank_name", bank ? bank : payout->bank_code);
  add_str (data, "account_last4", payout->account_last4);
  add_int (data, "created", payout->created);
  json_builder_end_object (data);
  return notify_email (txn, email, locale, "refund", data, payout->id, error);
}

gboolean
gw_orders_payout_settle (GwTxn                *txn,
                         const GwOrdersConfig *config,
                         const char           *payout_id,
                         const GwChargeResult *result,
                         gboolean              not_found,
                         GError              **error)
{
  g_auto(GwPayoutRow) payout = { 0 };
  GwCard card;
  GError *local = NULL;

  if (!ORDERS (txn, payout_get, payout_id, &payout, &local) ||
      !CALL (txn, card_by_id, payout.card_id, &card, &local))
    return missing (error, local, "payout");
  if (!g_str_equal (payout.status, "pending"))
    return TRUE;
  payout.updated = NOW (txn);
  if (result != NULL && result->reference != NULL)
    g_strlcpy (payout.reference, result->reference, sizeof payout.reference);
  if (result != NULL && result->status == GW_CHARGE_PENDING)
    return ORDERS (txn, payout_update, &payout, error);
  /* A bank's books can lag its front door: a payout it took may show up
   * in its answers to queries only later. Putting the money back on the
   * card while it could still be paid would pay it out twice, so "never
   * seen" counts only once the payout is old enough. */
  if (result == NULL && not_found && payout.updated - payout.created < config->payout_missing_after)
    return ORDERS (txn, payout_update, &payout, error);

  /* Paid, but another sum than the card gave up: not "succeeded" (the
   * holder would be told the whole balance went out), and not put back
   * either, since something was paid. It stays pending, the card closed,
   * for an operator to settle with the bank; each look warns again. */
  if (result != NULL && result->status == GW_CHARGE_APPROVED &&
      !gw_charge_result_matches (result, payout.amount, payout.currency))
    {
      g_warning ("the bank paid payout %s out for another amount or currency; "
                 "left pending for an operator", payout.id);
      return ORDERS (txn, payout_update, &payout, error);
    }
  if (result != NULL && result->status == GW_CHARGE_APPROVED)
    {
      g_strlcpy (payout.status, "succeeded", sizeof payout.status);
      return ORDERS (txn, payout_update, &payout, error) &&
             notify_refund (txn, config, &payout, &card, error);
    }

  g_strlcpy (payout.status, "failed", sizeof payout.status);
  g_strlcpy (payout.decline_code, result ? gw_orders_decline_code (result->decline_code)
                                         : "not_sent", sizeof payout.decline_code);
  return ORDERS (txn, payout_update, &payout, error) &&
         post_payout_entry (txn, "payout_reversal", &payout, card.account_id, error) &&
         ORDERS (txn, card_set_state, card.id, card.state, card.has_password ? "active" : "sold",
                 error);
}

gboolean
gw_orders_payout_answer (GwTxn           *txn,
                         const char      *payout_id,
                         GwPayout        *payout,
                         GwOrdersOutcome *outcome,
                         GError         **error)
{
  GwCard card;
  GError *local = NULL;

  outcome_init (outcome);
  gw_payout_row_clear (&payout->row);
  if (!ORDERS (txn, payout_get, payout_id, &payout->row, &local) ||
      !CALL (txn, card_by_id, payout->row.card_id, &card, &local))
    return missing (error, local, "payout");
  g_strlcpy (payout->card_last4, card.last4, sizeof payout->card_last4);
  if (g_str_equal (payout->row.status, "pending"))
    outcome->result = GW_ORDERS_BANK_UNKNOWN;
  else if (g_str_equal (payout->row.status, "failed"))
    {
      if (g_str_equal (payout->row.decline_code, "not_sent"))
        outcome->result = GW_ORDERS_BANK_UNAVAILABLE;
      else
        bank_declined (outcome, GW_ORDERS_PAYOUT_DECLINED, payout->row.decline_code);
    }
  return TRUE;
}

/* Verification of an online payment */

gboolean
gw_orders_verify_payment (GwTxn                *txn,
                          const GwOrdersConfig *config,
                          const GwCredentials  *credentials,
                          const char           *payment_id,
                          GwPayment            *payment,
                          char                **merchant_name,
                          GwOrdersOutcome      *outcome,
                          GError              **error)
{
  GwCard card;
  GError *local = NULL;

  outcome_init (outcome);
  if (!authenticate_card (txn, config, credentials, &card, outcome, error))
    return FALSE;
  if (outcome->result != GW_ORDERS_OK)
    return TRUE;
  /* Another card's payment looks exactly like no payment at all. */
  if (!CALL (txn, payment_get, payment_id, payment, &local) ||
      !g_str_equal (payment->card_id, card.id))
    return local ? (g_propagate_error (error, local), FALSE) : not_found (outcome, "payment");
  *merchant_name = ORDERS (txn, merchant_name, payment->merchant_id, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

gboolean
gw_orders_promote_batch (GwTxn                *txn,
                         const GwOrdersConfig *config,
                         const char           *batch_id,
                         gint64               *expires_at,
                         GError              **error)
{
  *expires_at = add_years (NOW (txn), config->promotional_years);
  return ORDERS (txn, batch_promote, batch_id, *expires_at, error);
}

static void
order_free (gpointer data)
{
  gw_order_clear (data);
  g_free (data);
}

GPtrArray *
gw_orders_list (GwTxn                *txn,
                const GwOrdersConfig *config,
                const char           *starting_after,
                guint                 limit,
                gboolean             *cursor_found,
                GError              **error)
{
  g_autoptr(GPtrArray) orders = g_ptr_array_new_with_free_func (order_free);
  g_autoptr(GPtrArray) rows = NULL;
  g_auto(GwOrderRow) cursor = { 0 };
  GError *local = NULL;

  *cursor_found = starting_after == NULL ||
                  ORDERS (txn, order_get, starting_after, &cursor, &local);
  if (local != NULL)
    return g_propagate_error (error, local), NULL;
  if (!*cursor_found)
    return g_steal_pointer (&orders);
  rows = ORDERS (txn, orders_list, cursor.seq, limit, error);
  if (rows == NULL)
    return NULL;
  for (guint i = 0; i < rows->len; i++)
    {
      GwOrder *order = g_new0 (GwOrder, 1);

      g_ptr_array_add (orders, order);
      if (!load_order (txn, config, ((GwOrderRow *) g_ptr_array_index (rows, i))->id, FALSE,
                       order, error))
        return NULL;
    }
  return g_steal_pointer (&orders);
}

gboolean
gw_orders_find_charge (GwTxn        *txn,
                       const char   *charge_id,
                       GwChargeRow  *charge,
                       GError      **error)
{
  return ORDERS (txn, charge_get, charge_id, charge, error);
}

/* The sweep */

static gboolean
add_work (GArray     *work,
          GPtrArray  *ids,
          GwTxn      *txn,
          gboolean    charges,
          GError    **error)
{
  for (guint i = 0; i < ids->len; i++)
    {
      GwOrdersWork item = { { 0 }, GW_ORDERS_NEXT_QUERY };
      GwChargeRow charge;

      g_strlcpy (item.id, g_ptr_array_index (ids, i), sizeof item.id);
      if (charges)
        {
          if (!ORDERS (txn, charge_get, item.id, &charge, error))
            return FALSE;
          if (g_str_equal (charge.status, "voiding"))
            item.next = GW_ORDERS_NEXT_VOID;
        }
      g_array_append_val (work, item);
    }
  return TRUE;
}

GArray *
gw_orders_sweep (GwTxn   *txn,
                 gint64   before,
                 GError **error)
{
  g_autoptr(GArray) work = g_array_new (FALSE, TRUE, sizeof (GwOrdersWork));
  g_autoptr(GPtrArray) charges = ORDERS (txn, charges_open, before, 200, error);
  g_autoptr(GPtrArray) payouts = charges ? ORDERS (txn, payouts_open, before, 200, error) : NULL;
  g_autoptr(GPtrArray) watched = payouts ? ORDERS (txn, charges_watched, NOW (txn), 200, error)
                                         : NULL;

  if (watched == NULL || !add_work (work, charges, txn, TRUE, error) ||
      !add_work (work, payouts, txn, FALSE, error) || !add_work (work, watched, txn, FALSE, error))
    return NULL;
  return g_steal_pointer (&work);
}
