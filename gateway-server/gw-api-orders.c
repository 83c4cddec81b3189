/* gw-api-orders.c: orders, gifts, recharges, balance refunds, payment
 * verification and the bank's deposit callback
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The handlers check shapes and reduce secrets on the main thread; the
 * rules are in gw-orders.c, and the requests that wait for the bank run as
 * flows (gw-site.c). Card numbers, CVCs, account passwords and tokens stay
 * in memory only as long as the request, and are wiped when it ends.
 */
#include "gw-api-orders.h"

#include <string.h>

#include "gw-mime.h"
#include "gw-receipts.h"
#include "gw-site.h"
#include "gw-wallet.h"
#include "onepin-card.h"
#include "onepin-text.h"

#define TOKEN_BYTES 24

/* Checking shapes
 *
 * E-mail addresses are checked with gw_mime_address_valid (), the mailer's
 * own rule: an address taken here must be one the outbox can send to, or
 * the purchase statement, the access codes or a gift's claim link would be
 * given up after the buyer was answered 200. */

/* Display-safe (onepin-text.c), with line feeds where @lines: a gift's
 * names and message are the buyer's words shown to someone else. */
static gboolean
printable (const char *text,
           gboolean    lines)
{
  return onepin_text_is_display_safe (text, lines ? ONEPIN_TEXT_LINES : ONEPIN_TEXT_ONE_LINE);
}

static gboolean
text_ok (const char *text,
         glong       min_chars,
         glong       max_chars)
{
  glong len;

  if (text == NULL)
    return min_chars == 0;
  len = g_utf8_strlen (text, -1);
  return printable (text, FALSE) && len >= min_chars && len <= max_chars;
}

/* Every byte of @text is in @allowed, and there are @min to @max of them. */
static gboolean
chars_ok (const char *text,
          const char *allowed,
          gsize       min,
          gsize       max)
{
  gsize len = text ? strlen (text) : 0;

  return text != NULL && len >= min && len <= max && strspn (text, allowed) == len;
}

#define DIGITS "0123456789"
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_-"

/* A bank account number: 6 to 20 digits, which banks print with dashes. */
static gboolean
account_ok (const char *number)
{
  gsize digits = 0;

  if (!chars_ok (number, DIGITS "-", 6, 30) || number[0] == '-')
    return FALSE;
  for (const char *p = number; *p; p++)
    digits += g_ascii_isdigit (*p);
  return digits >= 6 && digits <= 20;
}

/* The last four digits of an account number account_ok () accepted. */
static void
account_last4 (const char *number,
               char        out[5])
{
  gsize n = 4;

  out[4] = '\0';
  for (const char *p = number + strlen (number); p > number && n > 0; p--)
    if (g_ascii_isdigit (p[-1]))
      out[--n] = p[-1];
}

static const char *
locale_of (JsonObject *object,
           const char *fallback)
{
  return onepin_json_get_string (object, "locale", fallback);
}

static gboolean
locale_ok (const char *locale)
{
  return locale == NULL || g_str_equal (locale, "ko") || g_str_equal (locale, "en");
}

static void
wipe (char *secret)
{
  if (secret != NULL)
    explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

static GwSite *
site_of (GwRequest *request)
{
  return gw_site_get (request->server);
}

static const GwOrdersConfig *
orders_config (GwServer *server)
{
  return gw_site_get_orders_config (gw_site_get (server));
}

static void
reply_read_error (GwRequest    *request,
                  const GError *error)
{
  g_warning ("read failed: %s", error->message);
  gw_request_error (request, 500, "api_error", "internal", NULL, "The read failed.");
}

/* Rendering */

/* Starts member @name, for a value the caller writes. */
static void
member (GString    *out,
        const char *name)
{
  char last = out->len ? out->str[out->len - 1] : 0;

  if (last != '{' && last != '[' && last != 0)
    g_string_append_c (out, ',');
  g_string_append_printf (out, "\"%s\":", name);
}

static void
open_member (GString    *out,
             const char *name,
             char        opener)
{
  member (out, name);
  g_string_append_c (out, opener);
}

/* Whom an order or a charge is shown to. */
typedef enum
{
  FOR_BUYER,
  /* The buyer's details left out, and a void the bank has not confirmed
   * shown as such: money the admins still owe back. */
  FOR_ADMIN,
} Audience;

static const char *
charge_status (const GwChargeRow *charge,
               Audience           audience)
{
  /* "voiding" is our own bookkeeping: for the customer it is given back. */
  if (audience == FOR_BUYER && g_str_equal (charge->status, "voiding"))
    return "voided";
  return charge->status;
}

static void
render_charge (GString           *out,
               const GwChargeRow *charge,
               Audience           audience)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "id", charge->id);
  gw_json_str (out, "object", "charge");
  gw_json_str (out, "method", charge->method);
  gw_json_str (out, "status", charge_status (charge, audience));
  gw_json_int (out, "amount", charge->amount);
  gw_json_str (out, "currency", charge->currency);
  gw_json_optional_str (out, "decline_code", g_str_equal (charge->decline_code, "not_sent")
                                             ? NULL : charge->decline_code);
  if (charge->virtual_account[0] != '\0')
    {
      open_member (out, "virtual_account", '{');
      gw_json_str (out, "bank", charge->virtual_bank);
      gw_json_str (out, "account", charge->virtual_account);
      gw_json_int (out, "amount", charge->amount);
      gw_json_str (out, "currency", charge->currency);
      gw_json_int (out, "deadline", charge->deposit_deadline);
      g_string_append_c (out, '}');
    }
  else
    gw_json_str (out, "virtual_account", NULL);
  /* When the bank booked it after it failed as never seen, and it was
   * voided: for the admins, who may be asked about the money. */
  if (audience == FOR_ADMIN)
    gw_json_optional_int (out, "voided_late", charge->voided_late);
  gw_json_int (out, "created", charge->created);
  g_string_append_c (out, '}');
}

static void
render_order_card (GString           *out,
                   const GwOrderCard *card)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "id", card->row.card_id);
  gw_json_str (out, "card_last4", card->row.last4);
  if (card->number != NULL)
    gw_json_str (out, "number", card->number);
  gw_json_int (out, "denomination", card->row.denomination);
  gw_json_int (out, "expires_at", card->row.expires_at);
  gw_json_str (out, "purpose", card->row.purpose);
  gw_json_optional_str (out, "gift", card->row.gift_id);
  gw_json_optional_str (out, "gift_status", card->row.gift_status);
  g_string_append_c (out, '}');
}

static void
render_buyer (GString       *out,
              const GwBuyer *buyer)
{
  open_member (out, "buyer", '{');
  gw_json_str (out, "name", buyer->name);
  gw_json_str (out, "phone", buyer->phone);
  gw_json_str (out, "email", buyer->email);
  gw_json_str (out, "postal_code", buyer->postal_code);
  gw_json_str (out, "address", buyer->address);
  g_string_append_c (out, '}');
}

/* The order; @token is the access token, in the creating answer and in the
 * answer that redeems an access code (access_tokens) only. */
static GString *
render_order (const GwOrder *order,
              Audience       audience,
              const char    *token)
{
  GString *out = g_string_sized_new (512 + (order->cards ? order->cards->len * 200 : 0));

  g_string_append_c (out, '{');
  gw_json_str (out, "id", order->row.id);
  gw_json_str (out, "object", "order");
  gw_json_str (out, "status", order->row.status);
  gw_json_str (out, "currency", order->row.currency);
  gw_json_int (out, "total", order->row.total);
  gw_json_int (out, "card_count", order->row.card_count);
  open_member (out, "items", '[');
  for (guint i = 0; order->items != NULL && i < order->items->len; i++)
    {
      GwOrderItem *item = &g_array_index (order->items, GwOrderItem, i);

      g_string_append (out, i ? ",{" : "{");
      gw_json_int (out, "denomination", item->denomination);
      gw_json_int (out, "quantity", item->quantity);
      gw_json_int (out, "amount", item->denomination * item->quantity);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
  if (audience == FOR_BUYER)
    render_buyer (out, &order->buyer);
  gw_json_str (out, "locale", order->row.locale);
  if (order->has_charge)
    {
      member (out, "payment");
      render_charge (out, &order->charge, audience);
    }
  else
    gw_json_str (out, "payment", NULL);
  open_member (out, "cards", '[');
  for (guint i = 0; order->cards != NULL && i < order->cards->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      render_order_card (out, &g_array_index (order->cards, GwOrderCard, i));
    }
  g_string_append_c (out, ']');
  gw_json_bool (out, "cards_revealed", order->row.cards_revealed);
  gw_json_int (out, "created", order->row.created);
  gw_json_optional_int (out, "paid_at", order->row.paid_at);
  gw_json_optional_int (out, "reopened_at", order->row.reopened_at);
  if (token != NULL)
    gw_json_str (out, "access_token", token);
  g_string_append_c (out, '}');
  return out;
}

static GString *
render_gift (const GwGift *gift,
             gboolean      for_giver)
{
  GString *out = g_string_sized_new (512);

  g_string_append_c (out, '{');
  gw_json_str (out, "id", gift->row.id);
  gw_json_str (out, "object", "gift");
  gw_json_str (out, "status", gift->row.status);
  gw_json_str (out, "card", gift->row.card_id);
  gw_json_str (out, "card_last4", gift->card_last4);
  if (gift->card_number != NULL)
    gw_json_str (out, "card_number", gift->card_number);
  gw_json_int (out, "amount", gift->amount);
  gw_json_str (out, "currency", gift->currency);
  gw_json_str (out, "design", gift->design);
  gw_json_str (out, "recipient_name", gift->recipient_name);
  if (for_giver)
    gw_json_str (out, "recipient_email", gift->recipient_email);
  gw_json_str (out, "sender_name", gift->sender_name);
  gw_json_str (out, "message", gift->message);
  gw_json_str (out, "font_color", gift->font_color);
  gw_json_int (out, "font_size", gift->font_size);
  gw_json_str (out, "music", gift->music);
  gw_json_int (out, "created", gift->row.created);
  gw_json_optional_int (out, "claimed_at", gift->row.claimed_at);
  g_string_append_c (out, '}');
  return out;
}

static GString *
render_recharge (const GwRecharge *recharge)
{
  GString *out = g_string_sized_new (512);

  g_string_append_c (out, '{');
  gw_json_str (out, "id", recharge->row.id);
  gw_json_str (out, "object", "recharge");
  gw_json_str (out, "status", recharge->row.status);
  gw_json_str (out, "card_id", recharge->row.card_id);
  gw_json_str (out, "card_last4", recharge->card_last4);
  gw_json_int (out, "amount", recharge->row.amount);
  gw_json_str (out, "currency", recharge->row.currency);
  gw_json_optional_int (out, "balance_after", recharge->row.balance_after);
  gw_json_optional_int (out, "expires_at", recharge->row.expires_at);
  member (out, "payment");
  render_charge (out, &recharge->charge, FOR_BUYER);
  gw_json_int (out, "created", recharge->row.created);
  g_string_append_c (out, '}');
  return out;
}

static GString *
render_payout (const GwPayout *payout)
{
  GString *out = g_string_sized_new (400);
  const char *bank = gw_orders_bank_name (payout->row.bank_code);

  g_string_append_c (out, '{');
  gw_json_str (out, "id", payout->row.id);
  gw_json_str (out, "object", "balance_refund");
  gw_json_str (out, "status", payout->row.status);
  gw_json_str (out, "card_id", payout->row.card_id);
  gw_json_str (out, "card_last4", payout->card_last4);
  gw_json_int (out, "amount", payout->row.amount);
  gw_json_str (out, "currency", payout->row.currency);
  gw_json_str (out, "bank_code", payout->row.bank_code);
  gw_json_str (out, "bank_name", bank ? bank : payout->row.bank_code);
  gw_json_str (out, "account_last4", payout->row.account_last4);
  gw_json_int (out, "created", payout->row.created);
  g_string_append_c (out, '}');
  return out;
}

/* The money from outside, as a request gives it */

typedef struct
{
  GwFundingCheck  check;
  char           *number;
  char           *expiry;
  char           *cvc;
  char           *bank_code;
  char           *account_number;
  char           *password;
  char           *depositor;
} Funding;

static void
funding_clear (Funding *funding)
{
  wipe (funding->number);
  wipe (funding->expiry);
  wipe (funding->cvc);
  g_free (funding->bank_code);
  wipe (funding->account_number);
  wipe (funding->password);
  g_free (funding->depositor);
  memset (funding, 0, sizeof *funding);
}

static gboolean
expiry_ok (const char *expiry)
{
  return chars_ok (expiry, DIGITS "/", 5, 5) && expiry[2] == '/' &&
         g_ascii_isdigit (expiry[0]) && g_ascii_isdigit (expiry[1]) &&
         ((expiry[0] == '0' && expiry[1] != '0') || (expiry[0] == '1' && expiry[1] <= '2')) &&
         strchr (expiry + 3, '/') == NULL;
}

/* Checks the member @name of @body against @fields, naming a bad field
 * "name.field". FALSE after replying 400. */
static JsonObject *
check_member (GwRequest             *request,
              const char            *name,
              const OnepinJsonField *fields,
              gsize                  n_fields)
{
  JsonObject *object = json_object_get_object_member (request->body, name);
  g_autoptr(GError) error = NULL;
  const char *bad = NULL;

  if (onepin_json_check_fields (object, fields, n_fields, &bad, &error))
    return object;
  gw_request_field_error (request, error, name, bad);
  return NULL;
}

static gboolean
has_member (JsonObject *object,
            const char *name)
{
  return json_object_has_member (object, name) &&
         !json_node_is_null (json_object_get_member (object, name));
}

static gboolean
is_onepin_prefix (GwRequest  *request,
                  const char *number)
{
  const GwConfig *config = gw_site_get_config (site_of (request));
  GwWalletConfig wallet = { gw_server_get_ledger_config (request->server) };

  g_strlcpy (wallet.card_bin, wallet.ledger->bin, sizeof wallet.card_bin);
  g_strlcpy (wallet.bin_low, config->wallet_bin_low, sizeof wallet.bin_low);
  g_strlcpy (wallet.bin_high, config->wallet_bin_high, sizeof wallet.bin_high);
  return gw_wallet_is_onepin_number (&wallet, number);
}

static gboolean
parse_credit_card (GwRequest *request,
                   Funding   *funding)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
    { "expiry", ONEPIN_JSON_STRING, TRUE },
    { "cvc", ONEPIN_JSON_STRING, TRUE },
  };
  JsonObject *card = check_member (request, "credit_card", fields, G_N_ELEMENTS (fields));
  const GwLedgerConfig *ledger = gw_server_get_ledger_config (request->server);
  const char *number;

  if (card == NULL)
    return FALSE;
  number = onepin_json_get_string (card, "number", "");
  if (!chars_ok (number, DIGITS, 12, 19) || !onepin_card_luhn_valid (number))
    return gw_request_bad_param (request, "credit_card.number",
                                 "credit_card.number must be 12 to 19 digits with a valid "
                                 "check digit."), FALSE;
  /* A onepin card never pays for cards or recharges: neither our own prefix
   * nor the wallet's representative cards (and, in the writer, no number we
   * ever issued). */
  if (is_onepin_prefix (request, number))
    return gw_request_error (request, 400, "invalid_request_error", "payment_method_not_accepted",
                             "credit_card.number", "A onepin card cannot pay for cards or "
                             "recharges. Use a credit card, a bank account or a transfer."),
           FALSE;
  if (!expiry_ok (onepin_json_get_string (card, "expiry", "")))
    return gw_request_bad_param (request, "credit_card.expiry",
                                 "credit_card.expiry must be MM/YY."), FALSE;
  if (!chars_ok (onepin_json_get_string (card, "cvc", ""), DIGITS, 3, 4))
    return gw_request_bad_param (request, "credit_card.cvc",
                                 "credit_card.cvc must be 3 or 4 digits."), FALSE;

  funding->number = g_strdup (number);
  funding->expiry = g_strdup (onepin_json_get_string (card, "expiry", ""));
  funding->cvc = g_strdup (onepin_json_get_string (card, "cvc", ""));
  if (strlen (number) == ONEPIN_CARD_NUMBER_LEN)
    {
      GwCredentials credentials;

      gw_ledger_credentials (ledger, number, NULL, &credentials);
      funding->check.card_well_formed = credentials.well_formed;
      memcpy (funding->check.card_lookup, credentials.lookup, 32);
    }
  return TRUE;
}

static gboolean
parse_bank_account (GwRequest *request,
                    Funding   *funding)
{
  static const OnepinJsonField fields[] = {
    { "bank_code", ONEPIN_JSON_STRING, TRUE },
    { "account_number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
  };
  JsonObject *account = check_member (request, "bank_account", fields, G_N_ELEMENTS (fields));

  if (account == NULL)
    return FALSE;
  if (!chars_ok (onepin_json_get_string (account, "bank_code", ""), DIGITS, 3, 3))
    return gw_request_bad_param (request, "bank_account.bank_code",
                                 "bank_account.bank_code must be 3 digits."), FALSE;
  if (!account_ok (onepin_json_get_string (account, "account_number", "")))
    return gw_request_bad_param (request, "bank_account.account_number",
                                 "bank_account.account_number must be 6 to 20 digits."), FALSE;
  if (!text_ok (onepin_json_get_string (account, "password", ""), 4, 64))
    return gw_request_bad_param (request, "bank_account.password",
                                 "bank_account.password must be 4 to 64 characters."), FALSE;
  funding->bank_code = g_strdup (onepin_json_get_string (account, "bank_code", ""));
  funding->account_number = g_strdup (onepin_json_get_string (account, "account_number", ""));
  funding->password = g_strdup (onepin_json_get_string (account, "password", ""));
  return TRUE;
}

static gboolean
parse_transfer (GwRequest *request,
                Funding   *funding)
{
  static const OnepinJsonField fields[] = {
    { "depositor_name", ONEPIN_JSON_STRING, TRUE },
  };
  JsonObject *transfer = check_member (request, "transfer", fields, G_N_ELEMENTS (fields));

  if (transfer == NULL)
    return FALSE;
  if (!text_ok (onepin_json_get_string (transfer, "depositor_name", ""), 1, 100))
    return gw_request_bad_param (request, "transfer.depositor_name",
                                 "transfer.depositor_name must be 1 to 100 characters."), FALSE;
  funding->depositor = g_strdup (onepin_json_get_string (transfer, "depositor_name", ""));
  return TRUE;
}

/* "method" and the member it names; the others must be absent. FALSE after
 * replying 400. */
static gboolean
parse_funding (GwRequest *request,
               Funding   *funding)
{
  static const char *methods[] = { "credit_card", "bank_account", "transfer" };
  const char *method = onepin_json_get_string (request->body, "method", "");
  g_autofree char *message = NULL;
  guint which = G_N_ELEMENTS (methods);

  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    if (g_str_equal (method, methods[i]))
      which = i;
  if (which == G_N_ELEMENTS (methods))
    return gw_request_bad_param (request, "method",
                                 "method must be credit_card, bank_account or transfer."), FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    if (i != which && has_member (request->body, methods[i]))
      {
        message = g_strdup_printf ("%s is not used with method %s.", methods[i], method);
        return gw_request_error (request, 400, "invalid_request_error", "parameter_unknown",
                                 methods[i], message), FALSE;
      }
  if (!has_member (request->body, method))
    {
      message = g_strdup_printf ("Missing parameter: %s", method);
      return gw_request_error (request, 400, "invalid_request_error", "parameter_missing",
                               method, message), FALSE;
    }

  funding->check.method = which == 0 ? GW_FUNDING_CREDIT_CARD
                          : which == 1 ? GW_FUNDING_BANK_ACCOUNT : GW_FUNDING_TRANSFER;
  return which == 0 ? parse_credit_card (request, funding)
         : which == 1 ? parse_bank_account (request, funding) : parse_transfer (request, funding);
}

/* What the connector is sent; the strings stay @funding's. */
static void
funding_request (const Funding   *funding,
                 GwChargeRequest *charge,
                 const char      *description)
{
  charge->method = funding->check.method;
  charge->currency = "krw";
  charge->description = description;
  charge->card_number = funding->number;
  charge->card_expiry = funding->expiry;
  charge->card_cvc = funding->cvc;
  charge->bank_code = funding->bank_code;
  charge->account_number = funding->account_number;
  charge->account_password = funding->password;
  charge->holder_name = funding->depositor;
}

/* Orders: authorization by the order's access token */

typedef struct
{
  const char *order_id;
  guint8      hash[32];
  gboolean    ok;
} TokenCheck;

static gboolean
token_read (GwTxn    *txn,
            gpointer  data,
            GError  **error)
{
  TokenCheck *check = data;
  GError *local = NULL;

  check->ok = gw_orders_check_token (txn, check->order_id, check->hash, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

/* Checks the bearer token against the order in the path and narrows the
 * idempotency scope to the order. FALSE after replying 401 (never stored:
 * the key belongs to whoever holds the token). */
static gboolean
authorize_order (GwRequest *request)
{
  TokenCheck check = { request->path_id, { 0 }, FALSE };
  const char *token = gw_request_bearer (request);
  g_autoptr(GError) error = NULL;

  if (token != NULL && g_str_has_prefix (token, "otk_") && strlen (request->path_id) < 40)
    {
      gw_server_hash_api_key (request->server, token, check.hash);
      if (!gw_store_read (gw_server_get_store (request->server), token_read, &check, &error))
        g_warning ("order token check failed: %s", error->message);
    }
  if (!check.ok)
    {
      g_clear_pointer (&request->idempotency_key, g_free);
      gw_request_error (request, 401, "authentication_error", "unauthorized", NULL,
                        "Missing or invalid order token. Send it as: Authorization: Bearer "
                        "otk_....");
      return FALSE;
    }
  g_snprintf (request->scope, sizeof request->scope, "order:%s", request->path_id);
  return TRUE;
}

/* POST /v1/orders */

typedef struct
{
  GwOrder  order;
  char    *token;
} CreateData;

static void
create_data_free (gpointer data)
{
  CreateData *create = data;

  gw_order_clear (&create->order);
  wipe (create->token);
  g_free (create);
}

static gboolean
create_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  CreateData *create = call->data;

  /* The only copy of the access token: never stored, the route takes no key. */
  if (!gw_orders_create (txn, orders_config (call->server), &create->order, error))
    return FALSE;
  gw_call_ok (call, render_order (&create->order, FOR_BUYER, create->token));
  return TRUE;
}

static gboolean
parse_buyer (GwRequest *request,
             GwBuyer   *buyer)
{
  static const OnepinJsonField fields[] = {
    { "name", ONEPIN_JSON_STRING, TRUE },
    { "phone", ONEPIN_JSON_STRING, TRUE },
    { "email", ONEPIN_JSON_STRING, TRUE },
    { "postal_code", ONEPIN_JSON_STRING, TRUE },
    { "address", ONEPIN_JSON_STRING, TRUE },
  };
  JsonObject *object = check_member (request, "buyer", fields, G_N_ELEMENTS (fields));
  const char *phone;

  if (object == NULL)
    return FALSE;
  phone = onepin_json_get_string (object, "phone", "");
  if (!text_ok (onepin_json_get_string (object, "name", ""), 1, 100))
    return gw_request_bad_param (request, "buyer.name",
                                 "buyer.name must be 1 to 100 characters."), FALSE;
  if (!chars_ok (phone, DIGITS " +()-", 7, 20) || strspn (phone, DIGITS) == 0)
    return gw_request_bad_param (request, "buyer.phone",
                                 "buyer.phone must be 7 to 20 digits, spaces, +, - or ()."),
           FALSE;
  if (!gw_mime_address_valid (onepin_json_get_string (object, "email", "")))
    return gw_request_bad_param (request, "buyer.email",
                                 "buyer.email must be an address like name@example.com."), FALSE;
  if (!chars_ok (onepin_json_get_string (object, "postal_code", ""),
                 DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-", 3, 10))
    return gw_request_bad_param (request, "buyer.postal_code",
                                 "buyer.postal_code must be 3 to 10 letters, digits or -."),
           FALSE;
  if (!text_ok (onepin_json_get_string (object, "address", ""), 1, 300))
    return gw_request_bad_param (request, "buyer.address",
                                 "buyer.address must be 1 to 300 characters."), FALSE;

  buyer->name = g_strdup (onepin_json_get_string (object, "name", ""));
  buyer->phone = g_strdup (phone);
  buyer->email = g_strdup (onepin_json_get_string (object, "email", ""));
  buyer->postal_code = g_strdup (onepin_json_get_string (object, "postal_code", ""));
  buyer->address = g_strdup (onepin_json_get_string (object, "address", ""));
  return TRUE;
}

static gboolean
item_error (GwRequest  *request,
            guint       index,
            const char *field,
            const char *message)
{
  g_autofree char *param = g_strdup_printf ("items[%u]%s%s", index, field ? "." : "",
                                            field ? field : "");

  gw_request_bad_param (request, param, message);
  return FALSE;
}

static gboolean
parse_items (GwRequest *request,
             GArray    *items)
{
  static const OnepinJsonField fields[] = {
    { "denomination", ONEPIN_JSON_INT, TRUE },
    { "quantity", ONEPIN_JSON_INT, TRUE },
  };
  JsonArray *array = json_object_get_array_member (request->body, "items");
  guint n = json_array_get_length (array);
  gint64 total = 0, cards = 0;
  const GwConfig *config = gw_site_get_config (site_of (request));
  g_autofree char *message = NULL;

  if (n < 1 || n > 6)
    return gw_request_bad_param (request, "items", "items must hold 1 to 6 lines."), FALSE;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      GwOrderItem item;

      if (object == NULL || !onepin_json_check_fields (object, fields, 2, NULL, NULL))
        return item_error (request, i, NULL, "Each item is {\"denomination\", \"quantity\"}.");
      item.denomination = onepin_json_get_int (object, "denomination", 0);
      item.quantity = onepin_json_get_int (object, "quantity", 0);
      if (!gw_orders_is_denomination (item.denomination))
        return item_error (request, i, "denomination",
                           "denomination must be 5000, 10000, 20000, 30000, 50000 or 100000.");
      if (item.quantity < 1 || item.quantity > GW_ORDERS_MAX_QUANTITY)
        return item_error (request, i, "quantity", "quantity must be from 1 to 99.");
      for (guint j = 0; j < items->len; j++)
        if (g_array_index (items, GwOrderItem, j).denomination == item.denomination)
          return item_error (request, i, "denomination", "Each denomination may appear once.");
      total += item.denomination * item.quantity;
      cards += item.quantity;
      g_array_append_val (items, item);
    }
  if (total <= GW_ORDERS_MAX_TOTAL && cards <= GW_ORDERS_MAX_CARDS)
    return TRUE;
  message = g_strdup_printf ("An order may hold at most 100 cards and 1,000,000 won. For more, "
                             "contact %s or call %s.", config->site_contact_email,
                             config->site_contact_phone);
  gw_request_error (request, 400, "invalid_request_error", "order_limit_exceeded", "items",
                    message);
  return FALSE;
}

void
gw_api_orders_create (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "buyer", ONEPIN_JSON_OBJECT, TRUE },
    { "items", ONEPIN_JSON_ARRAY, TRUE },
    { "locale", ONEPIN_JSON_STRING, FALSE },
  };
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->msg);
  g_autofree char *id = NULL;
  CreateData *create;
  GwOrder *order;

  /* No key: the answer holds the order's access token, and before the
   * order exists no credential names the caller, so a stored answer would
   * go to anyone sending the same key and body (a buyer's details are no
   * secret). Refused rather than ignored, as a client may count on it: a
   * retry makes another order, which costs nothing unless it is paid, and
   * paying is keyed in the order's scope. Not stored: the route is not
   * keyed. */
  if (soup_message_headers_get_one (headers, "Idempotency-Key") != NULL)
    return gw_request_error (request, 400, "invalid_request_error", "parameter_unknown",
                             "Idempotency-Key",
                             "POST /v1/orders takes no Idempotency-Key: its answer holds the "
                             "order's access token, which is never stored. Send it without "
                             "one; a repeat makes another order, and nothing is charged until "
                             "an order is paid.");
  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  if (!locale_ok (locale_of (request->body, NULL)))
    return gw_request_bad_param (request, "locale", "locale must be ko or en.");

  create = g_new0 (CreateData, 1);
  order = &create->order;
  order->items = g_array_new (FALSE, TRUE, sizeof (GwOrderItem));
  if (!parse_buyer (request, &order->buyer) || !parse_items (request, order->items))
    return create_data_free (create);

  id = onepin_crypto_random_token ("ord_", 12);
  g_strlcpy (order->row.id, id, sizeof order->row.id);
  g_strlcpy (order->row.locale, locale_of (request->body, "ko"), sizeof order->row.locale);
  create->token = onepin_crypto_random_token ("otk_", TOKEN_BYTES);
  gw_server_hash_api_key (request->server, create->token, order->row.token_hash);
  gw_call_submit (gw_call_new (request, create_apply, create, create_data_free));
}

/* GET /v1/orders/{id} */

typedef struct
{
  const GwOrdersConfig *config;
  const char           *order_id;
  GwOrder               order;
} OrderRead;

static gboolean
order_read (GwTxn    *txn,
            gpointer  data,
            GError  **error)
{
  OrderRead *read = data;

  return gw_orders_load (txn, read->config, read->order_id, &read->order, error);
}

void
gw_api_orders_get (GwRequest *request)
{
  OrderRead read = { orders_config (request->server), request->path_id };
  g_autoptr(GError) error = NULL;

  if (!authorize_order (request))
    return;
  if (!gw_store_read (gw_server_get_store (request->server), order_read, &read, &error))
    {
      gw_order_clear (&read.order);
      return reply_read_error (request, error);
    }
  gw_request_reply (request, 200, render_order (&read.order, FOR_BUYER, NULL));
  gw_order_clear (&read.order);
}

/* POST /v1/orders/{id}/access_codes, POST /v1/orders/{id}/access_tokens:
 * the way back to an order for a buyer whose page (and token) is gone.
 * Card-holder routes: every miss counts against the client address. */

typedef struct
{
  char      order_id[40];
  char     *contact;
  char      code[8];
  guint8    code_hash[32];
  char     *token;
  guint8    token_hash[32];
} AccessData;

static void
access_data_free (gpointer data)
{
  AccessData *access = data;

  g_free (access->contact);
  explicit_bzero (access->code, sizeof access->code);
  wipe (access->token);
  g_free (access);
}

/* For the order in the path; NULL after a 404 for an id no order can have. */
static AccessData *
access_data_new (GwRequest *request)
{
  AccessData *access;

  if (strlen (request->path_id) >= sizeof access->order_id)
    {
      gw_request_error (request, 404, "invalid_request_error", "resource_missing", NULL,
                        "No such order.");
      return NULL;
    }
  access = g_new0 (AccessData, 1);
  g_strlcpy (access->order_id, request->path_id, sizeof access->order_id);
  return access;
}

/* The keyed hash of a code, bound to its order. */
static void
hash_access_code (GwServer   *server,
                  const char *order_id,
                  const char *code,
                  guint8      out[32])
{
  g_autofree char *text = g_strconcat (order_id, "\n", code, NULL);

  gw_server_hash_api_key (server, text, out);
}

/* Six digits, uniform: numbers past the last whole million are drawn again. */
static gboolean
random_code (char     code[8],
             GError **error)
{
  guint32 value;

  do
    if (!onepin_crypto_random ((guint8 *) &value, sizeof value, error))
      return FALSE;
  while (value >= G_MAXUINT32 - G_MAXUINT32 % 1000000);
  g_snprintf (code, 8, "%06u", value % 1000000);
  return TRUE;
}

static gboolean
access_code_apply (GwTxn   *txn,
                   GwCall  *call,
                   GError **error)
{
  AccessData *access = call->data;
  GwOrdersAccess result;
  GString *body;

  if (!gw_orders_access_code_send (txn, orders_config (call->server), access->order_id,
                                   access->contact, access->code, access->code_hash, &result,
                                   error))
    return FALSE;
  /* The same answer whether or not anything was sent, so it tells nobody
   * which orders exist or what their buyers' details are. */
  call->outcome.credential_failure = result == GW_ORDERS_ACCESS_MISMATCH;
  body = g_string_new ("{");
  gw_json_str (body, "object", "order_access_code");
  gw_json_str (body, "order", access->order_id);
  gw_json_int (body, "expires_in", GW_ORDERS_ACCESS_CODE_LIFETIME);
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  call->status = 202;
  return TRUE;
}

void
gw_api_orders_access_codes (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "contact", ONEPIN_JSON_STRING, TRUE },
  };
  const char *contact;
  AccessData *access;
  g_autoptr(GError) error = NULL;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  contact = onepin_json_get_string (request->body, "contact", "");
  if (!text_ok (contact, 3, 254))
    return gw_request_bad_param (request, "contact",
                                 "contact must be the phone number or e-mail address given "
                                 "with the order.");
  if ((access = access_data_new (request)) == NULL)
    return;
  access->contact = g_strdup (contact);
  if (!random_code (access->code, &error))
    {
      access_data_free (access);
      return reply_read_error (request, error);
    }
  hash_access_code (request->server, access->order_id, access->code, access->code_hash);
  gw_call_submit (gw_call_new (request, access_code_apply, access, access_data_free));
}

static gboolean
access_token_apply (GwTxn   *txn,
                    GwCall  *call,
                    GError **error)
{
  AccessData *access = call->data;
  g_auto(GwOrder) order = { 0 };
  gboolean redeemed;

  if (!gw_orders_access_code_redeem (txn, orders_config (call->server), access->order_id,
                                     access->code_hash, access->token_hash, &order, &redeemed,
                                     error))
    return FALSE;
  if (!redeemed)
    {
      call->outcome.credential_failure = TRUE;
      call->status = 401;
      call->body = g_string_new (NULL);
      gw_error_render (call->body, "authentication_error", "invalid_access_code", NULL, "code",
                       "The code is wrong or no longer valid. Ask for a new one.");
      return TRUE;
    }
  gw_call_ok (call, render_order (&order, FOR_BUYER, access->token));
  return TRUE;
}

void
gw_api_orders_access_tokens (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "code", ONEPIN_JSON_STRING, TRUE },
  };
  const char *code;
  AccessData *access;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  code = onepin_json_get_string (request->body, "code", "");
  if (strlen (code) != 6 || strspn (code, DIGITS) != 6)
    return gw_request_bad_param (request, "code", "code must be the six digits of the e-mail.");
  if ((access = access_data_new (request)) == NULL)
    return;
  hash_access_code (request->server, access->order_id, code, access->code_hash);
  access->token = onepin_crypto_random_token ("otk_", TOKEN_BYTES);
  gw_server_hash_api_key (request->server, access->token, access->token_hash);
  gw_call_submit (gw_call_new (request, access_token_apply, access, access_data_free));
}

/* POST /v1/orders/{id}/pay */

typedef struct
{
  char     order_id[40];
  Funding  funding;
  char    *description;
} PayData;

static void
pay_data_free (gpointer data)
{
  PayData *pay = data;

  funding_clear (&pay->funding);
  g_free (pay->description);
  g_free (pay);
}

/* An answer with the order, or the error its outcome says. */
static gboolean
answer_order (GwCall                *call,
              GwSiteFlow            *flow,
              const GwOrder         *order,
              const GwOrdersOutcome *outcome)
{
  if (outcome->result != GW_ORDERS_OK)
    {
      gw_site_outcome_error (flow->site, call, outcome);
      return TRUE;
    }
  gw_call_ok (call, render_order (order, FOR_BUYER, NULL));
  /* The buyer's details, and the numbers shown once: stored sealed. */
  call->seal = TRUE;
  return TRUE;
}

static gboolean
pay_answer (GwTxn       *txn,
            GwSiteFlow  *flow,
            GwCall      *call,
            GError     **error)
{
  PayData *pay = flow->data;
  g_auto(GwOrder) order = { 0 };
  GwOrdersOutcome outcome;

  if (!gw_orders_pay_answer (txn, orders_config (call->server), pay->order_id, &order, &outcome,
                             error))
    return FALSE;
  return answer_order (call, flow, &order, &outcome);
}

static gboolean
pay_begin (GwTxn       *txn,
           GwSiteFlow  *flow,
           GwCall      *call,
           GError     **error)
{
  PayData *pay = flow->data;
  GwPayKey key;
  GwOrdersOutcome outcome;

  /* The charge keeps the key, for a retry whose answer was never stored. */
  memcpy (key.key_hash, flow->key_hash, 32);
  memcpy (key.fingerprint, flow->fingerprint, 32);
  if (!gw_orders_pay_begin (txn, orders_config (call->server), pay->order_id,
                            &pay->funding.check, flow->keyed ? &key : NULL, &flow->step,
                            &outcome, error))
    return FALSE;
  if (outcome.result != GW_ORDERS_OK)
    gw_site_outcome_error (flow->site, call, &outcome);
  flow->unstored = outcome.unstored;
  flow->charge.amount = flow->step.amount;
  return TRUE;
}

void
gw_api_orders_pay (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "method", ONEPIN_JSON_STRING, TRUE },
    { "credit_card", ONEPIN_JSON_OBJECT, FALSE },
    { "bank_account", ONEPIN_JSON_OBJECT, FALSE },
    { "transfer", ONEPIN_JSON_OBJECT, FALSE },
  };
  PayData *pay;
  GwSiteFlow *flow;

  if (!authorize_order (request) || !gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  pay = g_new0 (PayData, 1);
  if (!parse_funding (request, &pay->funding))
    return pay_data_free (pay);
  g_strlcpy (pay->order_id, request->path_id, sizeof pay->order_id);
  pay->description = g_strdup_printf ("onepin cards %s", pay->order_id);

  flow = gw_site_flow_new (request, pay_begin, pay_answer, pay, pay_data_free);
  g_strlcpy (flow->lock, pay->order_id, sizeof flow->lock);
  funding_request (&pay->funding, &flow->charge, pay->description);
  gw_site_flow_run (flow);
}

/* POST /v1/orders/{id}/reveal */

static gboolean
reveal_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  g_auto(GwOrder) order = { 0 };
  GwOrdersOutcome outcome;
  GwSite *site = gw_site_get (call->server);

  if (!gw_orders_reveal (txn, orders_config (call->server), call->data, &order, &outcome, error))
    return FALSE;
  if (outcome.result != GW_ORDERS_OK)
    return gw_site_outcome_error (site, call, &outcome), TRUE;
  gw_call_ok (call, render_order (&order, FOR_BUYER, NULL));
  call->seal = TRUE;
  return TRUE;
}

void
gw_api_orders_reveal (GwRequest *request)
{
  if (!authorize_order (request))
    return;
  gw_call_submit (gw_call_new (request, reveal_apply, g_strdup (request->path_id), g_free));
}

/* POST /v1/orders/{id}/gifts */

typedef struct
{
  char           order_id[40];
  GwGiftRequest  gift;
  JsonObject    *body;            /* the strings of @gift */
  char          *token;
} GiveData;

static void
give_data_free (gpointer data)
{
  GiveData *give = data;

  g_clear_pointer (&give->body, json_object_unref);
  wipe (give->token);
  g_free (give);
}

static gboolean
give_apply (GwTxn   *txn,
            GwCall  *call,
            GError **error)
{
  GiveData *give = call->data;
  g_auto(GwGift) gift = { 0 };
  GwOrdersOutcome outcome;

  if (!gw_orders_give (txn, orders_config (call->server), give->order_id, &give->gift, &gift,
                       &outcome, error))
    return FALSE;
  if (outcome.result != GW_ORDERS_OK)
    return gw_site_outcome_error (gw_site_get (call->server), call, &outcome), TRUE;
  gw_call_ok (call, render_gift (&gift, TRUE));
  call->seal = TRUE;      /* the recipient's name and address */
  return TRUE;
}

/* FALSE after replying 400. */
static gboolean
check_gift (GwRequest *request)
{
  JsonObject *body = request->body;
  const char *color = onepin_json_get_string (body, "font_color", NULL);
  const char *music = onepin_json_get_string (body, "music", NULL);
  const char *message = onepin_json_get_string (body, "message", "");
  gint64 size = onepin_json_get_int (body, "font_size", 10);

  if (!chars_ok (onepin_json_get_string (body, "design", ""), NAME_CHARS, 1, 32))
    return gw_request_bad_param (request, "design", "design must be 1 to 32 of a-z, 0-9, _ "
                                 "and -."), FALSE;
  if (!text_ok (onepin_json_get_string (body, "recipient_name", ""), 1, 100))
    return gw_request_bad_param (request, "recipient_name",
                                 "recipient_name must be 1 to 100 characters."), FALSE;
  if (!gw_mime_address_valid (onepin_json_get_string (body, "recipient_email", "")))
    return gw_request_bad_param (request, "recipient_email",
                                 "recipient_email must be an address like name@example.com."),
           FALSE;
  if (!text_ok (onepin_json_get_string (body, "sender_name", ""), 1, 100))
    return gw_request_bad_param (request, "sender_name",
                                 "sender_name must be 1 to 100 characters."), FALSE;
  /* A message may have several lines: the page's field is a text area. */
  if (g_utf8_strlen (message, -1) > 500 || !printable (message, TRUE))
    return gw_request_bad_param (request, "message", "message must be at most 500 characters, "
                                 "with no control or invisible formatting character but line "
                                 "breaks."), FALSE;
  if (color != NULL && (!chars_ok (color + (color[0] == '#'), DIGITS "abcdefABCDEF", 6, 6) ||
                        color[0] != '#'))
    return gw_request_bad_param (request, "font_color", "font_color must be #rrggbb."), FALSE;
  if (size != 8 && size != 10 && size != 12)
    return gw_request_bad_param (request, "font_size", "font_size must be 8, 10 or 12."), FALSE;
  if (music != NULL && !chars_ok (music, NAME_CHARS, 1, 32))
    return gw_request_bad_param (request, "music", "music must be none or 1 to 32 of a-z, "
                                 "0-9, _ and -."), FALSE;
  if (!locale_ok (locale_of (body, NULL)))
    return gw_request_bad_param (request, "locale", "locale must be ko or en."), FALSE;
  return TRUE;
}

void
gw_api_orders_give (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "card", ONEPIN_JSON_STRING, TRUE },
    { "design", ONEPIN_JSON_STRING, TRUE },
    { "recipient_name", ONEPIN_JSON_STRING, TRUE },
    { "recipient_email", ONEPIN_JSON_STRING, TRUE },
    { "sender_name", ONEPIN_JSON_STRING, TRUE },
    { "message", ONEPIN_JSON_STRING, FALSE },
    { "font_color", ONEPIN_JSON_STRING, FALSE },
    { "font_size", ONEPIN_JSON_INT, FALSE },
    { "music", ONEPIN_JSON_STRING, FALSE },
    { "locale", ONEPIN_JSON_STRING, FALSE },
  };
  GiveData *give;
  JsonObject *body;

  if (!authorize_order (request) ||
      !gw_request_check_body (request, fields, G_N_ELEMENTS (fields)) || !check_gift (request))
    return;

  give = g_new0 (GiveData, 1);
  body = give->body = json_object_ref (request->body);
  g_strlcpy (give->order_id, request->path_id, sizeof give->order_id);
  give->token = onepin_crypto_random_token ("gct_", 32);
  give->gift = (GwGiftRequest) {
    .card_id = onepin_json_get_string (body, "card", ""),
    .design = onepin_json_get_string (body, "design", ""),
    .recipient_name = onepin_json_get_string (body, "recipient_name", ""),
    .recipient_email = onepin_json_get_string (body, "recipient_email", ""),
    .sender_name = onepin_json_get_string (body, "sender_name", ""),
    .message = onepin_json_get_string (body, "message", ""),
    .font_color = onepin_json_get_string (body, "font_color", "#000000"),
    .font_size = onepin_json_get_int (body, "font_size", 10),
    .music = onepin_json_get_string (body, "music", "none"),
    .locale = locale_of (body, NULL),
    .claim_token = give->token,
  };
  gw_server_hash_api_key (request->server, give->token, give->gift.claim_hash);
  gw_call_submit (gw_call_new (request, give_apply, give, give_data_free));
}

/* POST /v1/gifts/preview and /v1/gifts/claim */

typedef struct
{
  guint8    hash[32];
  char     *password;           /* a claim's: the card is registered with it */
  char     *hint;
  char     *locale;             /* a claim's: the card's first profile language */
} OpenData;

static void
open_data_free (gpointer data)
{
  OpenData *open = data;

  wipe (open->password);
  wipe (open->hint);
  g_free (open->locale);
  g_free (open);
}

static gboolean
open_apply (GwTxn   *txn,
            GwCall  *call,
            GError **error)
{
  OpenData *open = call->data;
  g_auto(GwGift) gift = { 0 };
  GwOrdersOutcome outcome;

  if (!gw_orders_open_gift (txn, orders_config (call->server), open->hash, open->password,
                            open->hint, &gift, &outcome, error))
    return FALSE;
  if (outcome.result != GW_ORDERS_OK)
    return gw_site_outcome_error (gw_site_get (call->server), call, &outcome), TRUE;
  if (!gw_card_profile_first_locale (txn, gw_server_get_ledger_config (call->server)->seal_key,
                                     gift.row.card_id, open->locale, error))
    return FALSE;
  gw_call_ok (call, render_gift (&gift, FALSE));
  call->seal = TRUE;      /* names and message; a claim's card number */
  return TRUE;
}

/* FALSE after replying 400. */
static gboolean
check_claim (GwRequest *request,
             OpenData  *open)
{
  const char *password = onepin_json_get_string (request->body, "password", "");
  const char *hint = onepin_json_get_string (request->body, "hint", NULL);
  const char *locale = onepin_json_get_string (request->body, "locale", NULL);

  if (!gw_ledger_password_valid (password))
    return gw_request_bad_param (request, "password", "password must be 4 to 64 characters."),
           FALSE;
  if (hint != NULL && !gw_ledger_hint_valid (hint))
    return gw_request_bad_param (request, "hint", "hint must be at most 100 characters."), FALSE;
  if (locale != NULL && !g_str_equal (locale, "ko") && !g_str_equal (locale, "en"))
    return gw_request_bad_param (request, "locale", "locale must be ko or en."), FALSE;
  open->password = g_strdup (password);
  open->hint = g_strdup (hint);
  open->locale = g_strdup (locale);
  return TRUE;
}

static void
open_gift (GwRequest *request,
           gboolean   claim)
{
  static const OnepinJsonField fields[] = {
    { "token", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
    { "hint", ONEPIN_JSON_STRING, FALSE },
    { "locale", ONEPIN_JSON_STRING, FALSE },
  };
  const char *token = onepin_json_get_string (request->body, "token", "");
  gboolean well_formed = chars_ok (token, "abcdefghijklmnopqrstuvwxyz0123456789_", 1, 128);
  OpenData *open = g_new0 (OpenData, 1);

  /* A claim's key is the gift's: its claim token is the only credential
   * there is, so only the same token with the same key gets the first
   * answer (the card number) back. Anyone else who has the link gets 409
   * gift_already_claimed. Tokens no gift can have share one scope, whose
   * answers are refusals, the same for anyone. */
  if (well_formed)
    {
      gw_server_hash_api_key (request->server, token, open->hash);
      gw_request_scope_to_hash (request, "gift", open->hash);
    }
  else
    g_strlcpy (request->scope, "gift:malformed", sizeof request->scope);

  /* A preview takes the token only. */
  if (!gw_request_check_body (request, fields, claim ? G_N_ELEMENTS (fields) : 1))
    return open_data_free (open);
  if (!well_formed)
    {
      open_data_free (open);
      return gw_request_bad_param (request, "token", "token must be the claim link's token.");
    }
  if (claim && !check_claim (request, open))
    return open_data_free (open);
  gw_call_submit (gw_call_new (request, open_apply, open, open_data_free));
}

void
gw_api_gifts_preview (GwRequest *request)
{
  open_gift (request, FALSE);
}

void
gw_api_gifts_claim (GwRequest *request)
{
  open_gift (request, TRUE);
}

/* POST /v1/cards/recharge */

typedef struct
{
  GwCredentials  credentials;
  gint64         amount;
  Funding        funding;
  char          *email;
  char          *locale;
  gboolean       keyed;
  GwRechargeKey  key;
  char           recharge_id[40];
  char          *description;
} RechargeData;

static void
recharge_data_free (gpointer data)
{
  RechargeData *recharge = data;

  funding_clear (&recharge->funding);
  g_free (recharge->email);
  g_free (recharge->locale);
  g_free (recharge->description);
  explicit_bzero (&recharge->credentials, sizeof recharge->credentials);
  g_free (recharge);
}

static gboolean
recharge_answer (GwTxn       *txn,
                 GwSiteFlow  *flow,
                 GwCall      *call,
                 GError     **error)
{
  RechargeData *data = flow->data;
  GwRecharge recharge = { 0 };
  GwOrdersOutcome outcome;

  if (!gw_orders_recharge_answer (txn, data->recharge_id, &recharge, &outcome, error))
    return gw_recharge_row_clear (&recharge.row), FALSE;
  if (outcome.result != GW_ORDERS_OK)
    gw_site_outcome_error (flow->site, call, &outcome);
  else
    gw_call_ok (call, render_recharge (&recharge));
  gw_recharge_row_clear (&recharge.row);
  return TRUE;
}

static gboolean
recharge_begin (GwTxn       *txn,
                GwSiteFlow  *flow,
                GwCall      *call,
                GError     **error)
{
  RechargeData *data = flow->data;
  GwRecharge recharge = { 0 };
  GwContact contact = { data->email, data->locale };
  GwOrdersOutcome outcome;
  gboolean ok;

  ok = gw_orders_recharge_begin (txn, orders_config (call->server), &data->credentials,
                                 data->amount, &data->funding.check, &contact,
                                 data->keyed ? &data->key : NULL, &recharge, &flow->step,
                                 &outcome, error);
  gw_recharge_row_clear (&recharge.row);
  if (!ok)
    return FALSE;
  if (outcome.result != GW_ORDERS_OK)
    gw_site_outcome_error (flow->site, call, &outcome);
  flow->unstored = outcome.unstored;
  g_strlcpy (data->recharge_id, flow->step.owner_id, sizeof data->recharge_id);
  flow->charge.amount = data->amount;
  return TRUE;
}

static gboolean
parse_contact (GwRequest  *request,
               char      **email,
               char      **locale)
{
  const char *address = onepin_json_get_string (request->body, "email", NULL);

  if (address != NULL && !gw_mime_address_valid (address))
    return gw_request_bad_param (request, "email",
                                 "email must be an address like name@example.com."), FALSE;
  if (!locale_ok (locale_of (request->body, NULL)))
    return gw_request_bad_param (request, "locale", "locale must be ko or en."), FALSE;
  *email = g_strdup (address);
  *locale = g_strdup (locale_of (request->body, "ko"));
  return TRUE;
}

/* Checks the fields of a recharge but its funding and contact; FALSE after
 * replying 400. */
static gboolean
recharge_fields_ok (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
    { "amount", ONEPIN_JSON_INT, TRUE },
    { "currency", ONEPIN_JSON_STRING, FALSE },
    { "method", ONEPIN_JSON_STRING, TRUE },
    { "credit_card", ONEPIN_JSON_OBJECT, FALSE },
    { "bank_account", ONEPIN_JSON_OBJECT, FALSE },
    { "transfer", ONEPIN_JSON_OBJECT, FALSE },
    { "email", ONEPIN_JSON_STRING, FALSE },
    { "locale", ONEPIN_JSON_STRING, FALSE },
  };
  gint64 amount;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return FALSE;
  amount = onepin_json_get_int (request->body, "amount", 0);
  if (amount < GW_RECHARGE_UNIT || amount > GW_CARD_BALANCE_CAP || amount % GW_RECHARGE_UNIT)
    return gw_request_bad_param (request, "amount", "amount must be a multiple of 10,000 from "
                                 "10,000 to 1,000,000."), FALSE;
  if (!g_str_equal (onepin_json_get_string (request->body, "currency", "krw"), "krw"))
    return gw_request_bad_param (request, "currency", "Cards are recharged in krw only."), FALSE;
  return TRUE;
}

/* The hash a recharge or payout keeps of the request's key: the HMAC of
 * the SHA-256 of @kind, @scope and the key, which is what rows made before
 * migration 018 kept, and what it keyed. */
static void
request_key_hash (GwRequest  *request,
                  const char *kind,
                  const char *scope,
                  guint8      out[32])
{
  g_autofree char *all = g_strconcat (kind, "\n", scope, "\n", request->idempotency_key, NULL);

  onepin_crypto_sha256 (all, strlen (all), out);
  gw_server_key_request_key (request->server, out);
}

/* What the recharge keeps of the request's key: its hash in the request's
 * scope (the card), its hash in "public" (where rows made before migration
 * 012 have it), and the request's fingerprint. */
static void
recharge_key (GwRequest     *request,
              GwRechargeKey *key)
{
  request_key_hash (request, "recharge", request->scope, key->request_key);
  request_key_hash (request, "recharge", "public", key->legacy_key);
  memcpy (key->fingerprint, request->fingerprint, 32);
}

void
gw_api_cards_recharge (GwRequest *request)
{
  RechargeData *data = g_new0 (RechargeData, 1);
  GwSiteFlow *flow;

  gw_ledger_credentials (gw_server_get_ledger_config (request->server),
                         onepin_json_get_string (request->body, "number", ""),
                         onepin_json_get_string (request->body, "password", ""),
                         &data->credentials);
  /* A keyed retry is the card's own, refusals of its fields included: the
   * key's scope is the card, so holders never share keys, and a replay is
   * checked against the card's password (gw_idempotency_check_holder). */
  gw_request_scope_to_card (request, &data->credentials);
  if (!recharge_fields_ok (request) || !parse_contact (request, &data->email, &data->locale) ||
      !parse_funding (request, &data->funding))
    return recharge_data_free (data);
  data->amount = onepin_json_get_int (request->body, "amount", 0);
  data->keyed = request->idempotency_key != NULL;
  if (data->keyed)
    recharge_key (request, &data->key);
  data->description = g_strdup ("onepin card recharge");

  flow = gw_site_flow_new (request, recharge_begin, recharge_answer, data, recharge_data_free);
  funding_request (&data->funding, &flow->charge, data->description);
  gw_site_flow_run (flow);
}

/* POST /v1/cards/refund */

typedef struct
{
  GwCredentials  credentials;
  char          *bank_code;
  char          *account_number;
  char          *holder;
  char          *email;
  char          *locale;
  gboolean       keyed;
  GwPayoutKey    key;
  char           payout_id[40];
} RefundData;

static void
refund_data_free (gpointer data)
{
  RefundData *refund = data;

  g_free (refund->bank_code);
  wipe (refund->account_number);
  g_free (refund->holder);
  g_free (refund->email);
  g_free (refund->locale);
  explicit_bzero (&refund->credentials, sizeof refund->credentials);
  g_free (refund);
}

static gboolean
refund_answer (GwTxn       *txn,
               GwSiteFlow  *flow,
               GwCall      *call,
               GError     **error)
{
  RefundData *data = flow->data;
  GwPayout payout = { 0 };
  GwOrdersOutcome outcome;

  if (!gw_orders_payout_answer (txn, data->payout_id, &payout, &outcome, error))
    return gw_payout_row_clear (&payout.row), FALSE;
  if (outcome.result != GW_ORDERS_OK)
    gw_site_outcome_error (flow->site, call, &outcome);
  else
    gw_call_ok (call, render_payout (&payout));
  gw_payout_row_clear (&payout.row);
  return TRUE;
}

static gboolean
refund_begin (GwTxn       *txn,
              GwSiteFlow  *flow,
              GwCall      *call,
              GError     **error)
{
  RefundData *data = flow->data;
  GwPayout payout = { 0 };
  GwContact contact = { data->email, data->locale };
  GwOrdersOutcome outcome;
  char last4[5];
  gboolean ok;

  account_last4 (data->account_number, last4);
  ok = gw_orders_payout_begin (txn, orders_config (call->server), &data->credentials,
                               data->bank_code, last4, &contact, data->keyed ? &data->key : NULL,
                               &payout, &flow->step, &outcome, error);
  gw_payout_row_clear (&payout.row);
  if (!ok)
    return FALSE;
  flow->unstored = outcome.unstored;
  if (outcome.result != GW_ORDERS_OK)
    gw_site_outcome_error (flow->site, call, &outcome);
  g_strlcpy (data->payout_id, flow->step.owner_id, sizeof data->payout_id);
  flow->charge.amount = flow->step.amount;
  return TRUE;
}

/* Checks the fields of a balance refund; FALSE after replying 400. */
static gboolean
refund_fields_ok (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
    { "bank_code", ONEPIN_JSON_STRING, TRUE },
    { "account_number", ONEPIN_JSON_STRING, TRUE },
    { "account_holder", ONEPIN_JSON_STRING, TRUE },
    { "email", ONEPIN_JSON_STRING, FALSE },
    { "locale", ONEPIN_JSON_STRING, FALSE },
  };
  JsonObject *body = request->body;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return FALSE;
  if (!chars_ok (onepin_json_get_string (body, "bank_code", ""), DIGITS, 3, 3))
    return gw_request_bad_param (request, "bank_code", "bank_code must be 3 digits."), FALSE;
  if (!account_ok (onepin_json_get_string (body, "account_number", "")))
    return gw_request_bad_param (request, "account_number",
                                 "account_number must be 6 to 20 digits."), FALSE;
  if (!text_ok (onepin_json_get_string (body, "account_holder", ""), 1, 100))
    return gw_request_bad_param (request, "account_holder",
                                 "account_holder must be 1 to 100 characters."), FALSE;
  return TRUE;
}

void
gw_api_cards_refund (GwRequest *request)
{
  JsonObject *body = request->body;
  RefundData *data = g_new0 (RefundData, 1);
  GwSiteFlow *flow;

  gw_ledger_credentials (gw_server_get_ledger_config (request->server),
                         onepin_json_get_string (body, "number", ""),
                         onepin_json_get_string (body, "password", ""), &data->credentials);
  /* A keyed retry is the card's own, refusals of its fields included: the
   * key's scope is the card, so a replay is checked against its password
   * (gw_idempotency_check_holder) and holders never share keys. */
  gw_request_scope_to_card (request, &data->credentials);
  if (!refund_fields_ok (request) || !parse_contact (request, &data->email, &data->locale))
    return refund_data_free (data);
  data->bank_code = g_strdup (onepin_json_get_string (body, "bank_code", ""));
  data->account_number = g_strdup (onepin_json_get_string (body, "account_number", ""));
  data->holder = g_strdup (onepin_json_get_string (body, "account_holder", ""));
  data->keyed = request->idempotency_key != NULL;
  if (data->keyed)
    {
      request_key_hash (request, "payout", request->scope, data->key.request_key);
      memcpy (data->key.fingerprint, request->fingerprint, 32);
    }

  flow = gw_site_flow_new (request, refund_begin, refund_answer, data, refund_data_free);
  flow->charge = (GwChargeRequest) {
    .method = GW_FUNDING_BANK_ACCOUNT, .currency = "krw", .description = "onepin balance refund",
    .bank_code = data->bank_code, .account_number = data->account_number,
    .holder_name = data->holder,
  };
  gw_site_flow_run (flow);
}

/* POST /v1/cards/verify_payment */

typedef struct
{
  GwCredentials  credentials;
  char          *payment_id;
} VerifyData;

static void
verify_data_free (gpointer data)
{
  VerifyData *verify = data;

  g_free (verify->payment_id);
  g_free (verify);
}

static GString *
render_verification (const GwPayment *payment,
                     const char      *merchant_name)
{
  GString *out = g_string_sized_new (400);

  g_string_append_c (out, '{');
  gw_json_str (out, "object", "payment_verification");
  gw_json_bool (out, "verified", TRUE);
  gw_json_str (out, "payment", payment->id);
  gw_json_str (out, "status", payment->status);
  gw_json_int (out, "amount", payment->amount);
  gw_json_int (out, "amount_captured", payment->amount_captured);
  gw_json_int (out, "amount_refunded", payment->amount_refunded);
  gw_json_str (out, "currency", payment->currency);
  gw_json_str (out, "merchant", payment->merchant_id);
  gw_json_str (out, "merchant_name", merchant_name);
  gw_json_str (out, "order_id", payment->order_id);
  gw_json_str (out, "card_last4", payment->card_last4);
  gw_json_int (out, "created", payment->created);
  g_string_append_c (out, '}');
  return out;
}

static gboolean
verify_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  VerifyData *data = call->data;
  GwPayment payment = { 0 };
  g_autofree char *merchant_name = NULL;
  GwOrdersOutcome outcome;
  gboolean ok;

  ok = gw_orders_verify_payment (txn, orders_config (call->server), &data->credentials,
                                 data->payment_id, &payment, &merchant_name, &outcome, error);
  if (ok && outcome.result != GW_ORDERS_OK)
    gw_site_outcome_error (gw_site_get (call->server), call, &outcome);
  else if (ok)
    gw_call_ok (call, render_verification (&payment, merchant_name));
  gw_payment_clear (&payment);
  return ok;
}

void
gw_api_cards_verify_payment (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
    { "payment", ONEPIN_JSON_STRING, TRUE },
  };
  VerifyData *data;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  data = g_new0 (VerifyData, 1);
  data->payment_id = g_strdup (onepin_json_get_string (request->body, "payment", ""));
  gw_ledger_credentials (gw_server_get_ledger_config (request->server),
                         onepin_json_get_string (request->body, "number", ""),
                         onepin_json_get_string (request->body, "password", ""),
                         &data->credentials);
  gw_call_submit (gw_call_new (request, verify_apply, data, verify_data_free));
}

/* POST /v1/bank/callbacks/deposit */

#define SIGNATURE_HEADER "Onepin-Bank-Signature"

typedef struct
{
  const char  *charge_id;
  GwChargeRow  charge;
  gboolean     found;
} ChargeRead;

static gboolean
charge_read (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  ChargeRead *read = data;
  GError *local = NULL;

  read->found = gw_orders_find_charge (txn, read->charge_id, &read->charge, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

void
gw_api_bank_deposit (GwRequest *request)
{
  GwSite *site = site_of (request);
  GwConnector *connector = gw_site_get_connector (site);
  SoupMessageBody *raw = soup_server_message_get_request_body (request->msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->msg);
  const char *signature = soup_message_headers_get_one (headers, SIGNATURE_HEADER);
  g_autoptr(GBytes) body = g_bytes_new (raw->data, raw->length);
  g_autofree char *charge_id = NULL;
  g_autoptr(GwChargeResult) result = NULL;
  ChargeRead read = { NULL };
  g_autoptr(GError) error = NULL;

  if (connector == NULL)
    return gw_request_error (request, 503, "api_error", "bank_unavailable", NULL,
                             "No bank is configured.");
  /* Not a byte is believed before the signature verifies. */
  if (!gw_connector_verify_callback (connector, body, signature))
    return gw_request_error (request, 401, "authentication_error", "unauthorized", NULL,
                             "The callback's signature does not verify.");
  result = gw_connector_parse_callback (connector, body, &charge_id, &error);
  if (result == NULL || charge_id == NULL || !g_str_has_prefix (charge_id, "chg_") ||
      strlen (charge_id) >= 40)
    return gw_request_error (request, 400, "invalid_request_error", "parameter_invalid", NULL,
                             "The callback does not name one of our charges.");
  read.charge_id = charge_id;
  if (!gw_store_read (gw_server_get_store (request->server), charge_read, &read, &error))
    return reply_read_error (request, error);
  if (!read.found)
    return gw_request_error (request, 404, "invalid_request_error", "resource_missing", NULL,
                             "No such charge.");
  gw_site_deposit_reported (site, request, charge_id, g_steal_pointer (&result));
}

/* GET /v1/admin/orders */

typedef struct
{
  const GwOrdersConfig *config;
  const char           *starting_after;
  guint                 limit;
  gboolean              cursor_found;
  GPtrArray            *orders;         /* GwOrder* */
} ListRead;

static gboolean
list_read (GwTxn    *txn,
           gpointer  data,
           GError  **error)
{
  ListRead *list = data;

  list->orders = gw_orders_list (txn, list->config, list->starting_after, list->limit + 1,
                                 &list->cursor_found, error);
  return list->orders != NULL;
}

void
gw_api_admin_orders (GwRequest *request)
{
  ListRead list = { orders_config (request->server) };
  g_autoptr(GError) error = NULL;
  GString *body;

  if (!gw_request_limit (request, 10, &list.limit))
    return;
  list.starting_after = request->query ? g_hash_table_lookup (request->query, "starting_after")
                                       : NULL;
  if (!gw_store_read (gw_server_get_store (request->server), list_read, &list, &error))
    {
      g_clear_pointer (&list.orders, g_ptr_array_unref);
      return reply_read_error (request, error);
    }
  if (list.starting_after != NULL && !list.cursor_found)
    {
      g_ptr_array_unref (list.orders);
      return gw_request_bad_param (request, "starting_after",
                                   "starting_after must be an order id.");
    }

  body = g_string_new ("{\"object\":\"list\",\"data\":[");
  for (guint i = 0; i < MIN (list.orders->len, list.limit); i++)
    {
      g_autoptr(GString) order = render_order (g_ptr_array_index (list.orders, i), FOR_ADMIN,
                                               NULL);

      if (i > 0)
        g_string_append_c (body, ',');
      g_string_append_len (body, order->str, order->len);
    }
  g_string_append_c (body, ']');
  gw_json_bool (body, "has_more", list.orders->len > list.limit);
  g_string_append_c (body, '}');
  g_ptr_array_unref (list.orders);
  gw_request_reply (request, 200, body);
}
