/* gw-api-foreign.c: foreign partners, their PINs, switching a balance into
 * one, and foreign sites' charges in their own currencies
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-api-foreign.h"

#include <string.h>

#include "gw-foreign.h"
#include "onepin-money.h"
#include "onepin-text.h"

#define MAX_PINS 10000

static void
render_partner (GString                *out,
                const GwForeignPartner *p)
{
  g_autofree char *rate = gw_foreign_format_rate (p->rate_e6);

  gw_json_str (out, "id", p->id);
  gw_json_str (out, "object", "foreign_partner");
  gw_json_str (out, "name", p->name);
  gw_json_str (out, "currency", p->currency);
  gw_json_str (out, "rate", rate);
  gw_json_str (out, "merchant", p->merchant_id[0] ? p->merchant_id : NULL);
  gw_json_int (out, "available", p->available);
  gw_json_int (out, "created", p->created);
}

static void
reply_result (GwCall          *call,
              GwForeignResult  result,
              const GwOutcome *outcome)
{
  static const struct
  {
    guint       status;
    const char *code;
    const char *param;
    const char *message;
  } errors[] = {
    [GW_FOREIGN_NO_PARTNER] = { 404, "resource_missing", "partner", "No such foreign partner." },
    [GW_FOREIGN_SOLD_OUT] = { 409, "foreign_pins_sold_out", "face_value",
                              "The partner has no PIN of this face value left." },
    [GW_FOREIGN_WRONG_CURRENCY] = { 400, "currency_mismatch", "currency",
                                    "This merchant charges in its partner's currency only." },
    [GW_FOREIGN_TOO_LARGE] = { 400, "amount_too_large", "amount",
                               "The amount is too large to convert or to pay with a card." },
    [GW_FOREIGN_WALLET_CARD] = { 409, "card_managed_by_wallet", NULL,
                                 "A wallet's card is not switched into foreign PINs." },
    [GW_FOREIGN_NO_MERCHANT] = { 404, "resource_missing", "merchant", "No such merchant." },
    [GW_FOREIGN_MERCHANT_TAKEN] = { 409, "merchant_has_foreign_partner", "merchant",
                                    "This merchant is another foreign partner's already." },
  };

  if (result == GW_FOREIGN_DECLINED)
    return gw_call_fail (call, outcome, NULL);
  call->status = errors[result].status;
  call->body = g_string_sized_new (200);
  gw_error_render (call->body, "invalid_request_error", errors[result].code, NULL,
                   errors[result].param, errors[result].message);
}

static gboolean
valid_currency (const char *code)
{
  int exponent = onepin_currency_exponent (code);

  return onepin_currency_is_known (code) && !g_str_equal (code, "krw") && exponent >= 0 &&
         exponent <= 3;
}

/* Partners */

static gboolean
partner_apply (GwTxn   *txn,
               GwCall  *call,
               GError **error)
{
  GwForeignPartner *partner = call->data;
  GwForeignResult result;
  GString *body;

  if (!gw_foreign_create_partner (txn, partner, &result, error))
    return FALSE;
  if (result != GW_FOREIGN_OK)
    return reply_result (call, result, NULL), TRUE;
  body = g_string_new ("{");
  render_partner (body, partner);
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  return TRUE;
}

void
gw_api_foreign_partners_create (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "name", ONEPIN_JSON_STRING, TRUE },
    { "currency", ONEPIN_JSON_STRING, TRUE },
    { "rate", ONEPIN_JSON_STRING, TRUE },
    { "merchant", ONEPIN_JSON_STRING, FALSE },
  };
  g_autofree char *id = NULL;
  const char *name, *currency, *merchant;
  GwForeignPartner *partner;
  gint64 rate;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  name = onepin_json_get_string (request->body, "name", "");
  currency = onepin_json_get_string (request->body, "currency", "");
  merchant = onepin_json_get_string (request->body, "merchant", "");
  if (g_utf8_strlen (name, -1) < 1 || strlen (name) > 255)
    return gw_request_bad_param (request, "name", "name must be 1 to 255 characters.");
  if (!onepin_text_is_display_safe (name, ONEPIN_TEXT_ONE_LINE))
    return gw_request_bad_param (request, "name",
                                 "name must not contain control or invisible formatting characters.");
  if (!valid_currency (currency))
    return gw_request_bad_param (request, "currency",
                                 "currency must be a lowercase ISO 4217 code other than krw.");
  if (!gw_foreign_parse_rate (onepin_json_get_string (request->body, "rate", ""), &rate))
    return gw_request_bad_param (request, "rate",
                                 "rate must be won per unit, a decimal such as \"1350.25\", "
                                 "at most 100000 with 6 decimals.");
  if (strlen (merchant) >= 40)
    return gw_request_bad_param (request, "merchant", "merchant must be a merchant id.");

  partner = g_new0 (GwForeignPartner, 1);
  id = onepin_crypto_random_token ("fp_", 12);
  g_strlcpy (partner->id, id, sizeof partner->id);
  g_strlcpy (partner->name, name, sizeof partner->name);
  g_strlcpy (partner->currency, currency, sizeof partner->currency);
  g_strlcpy (partner->merchant_id, merchant, sizeof partner->merchant_id);
  partner->rate_e6 = rate;
  gw_call_submit (gw_call_new (request, partner_apply, partner, g_free));
}

typedef struct
{
  char    partner_id[40];
  gint64  rate_e6;
  gint64  face_value;
  GStrv   pins;
} PartnerOp;

static void
partner_op_free (gpointer data)
{
  PartnerOp *op = data;

  g_strfreev (op->pins);
  g_free (op);
}

static gboolean
partner_reply (GwTxn      *txn,
               GwCall     *call,
               const char *id,
               GError    **error)
{
  const GwForeignStoreFuncs *store = gw_txn_extension (txn, "foreign");
  GwForeignPartner partner;
  GError *local = NULL;
  GString *body;

  if (!store->partner_get (txn, id, &partner, &local))
    {
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      return reply_result (call, GW_FOREIGN_NO_PARTNER, NULL), TRUE;
    }
  body = g_string_new ("{");
  render_partner (body, &partner);
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  return TRUE;
}

static gboolean
rate_apply (GwTxn   *txn,
            GwCall  *call,
            GError **error)
{
  PartnerOp *op = call->data;
  const GwForeignStoreFuncs *store = gw_txn_extension (txn, "foreign");
  GError *local = NULL;

  if (!store->partner_set_rate (txn, op->partner_id, op->rate_e6, &local))
    {
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_NOT_FOUND))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
    }
  return partner_reply (txn, call, op->partner_id, error);
}

void
gw_api_foreign_partners_rate (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "rate", ONEPIN_JSON_STRING, TRUE },
  };
  PartnerOp *op;
  gint64 rate;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  if (!gw_foreign_parse_rate (onepin_json_get_string (request->body, "rate", ""), &rate))
    return gw_request_bad_param (request, "rate",
                                 "rate must be won per unit, a decimal such as \"1350.25\".");
  op = g_new0 (PartnerOp, 1);
  g_strlcpy (op->partner_id, request->path_id, sizeof op->partner_id);
  op->rate_e6 = rate;
  gw_call_submit (gw_call_new (request, rate_apply, op, partner_op_free));
}

static gboolean
pins_apply (GwTxn   *txn,
            GwCall  *call,
            GError **error)
{
  PartnerOp *op = call->data;
  GwForeignResult result;
  guint bad = 0;

  if (!gw_foreign_load_pins (txn, gw_server_get_ledger_config (call->server), op->partner_id,
                             op->face_value, op->pins, &bad, &result, error))
    return FALSE;
  if (result == GW_FOREIGN_PIN_LOADED)
    {
      g_autofree char *param = g_strdup_printf ("pins[%u]", bad);

      call->status = 409;
      call->body = g_string_sized_new (200);
      gw_error_render (call->body, "invalid_request_error", "foreign_pin_already_loaded", NULL,
                       param, "This PIN is in the partner's pool already, or twice in this "
                       "load; nothing was loaded.");
      return TRUE;
    }
  if (result != GW_FOREIGN_OK)
    return reply_result (call, result, NULL), TRUE;
  return partner_reply (txn, call, op->partner_id, error);
}

void
gw_api_foreign_pins_load (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "face_value", ONEPIN_JSON_INT, TRUE },
    { "pins", ONEPIN_JSON_ARRAY, TRUE },
  };
  JsonArray *array;
  PartnerOp *op;
  gint64 face;
  guint n;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  face = onepin_json_get_int (request->body, "face_value", 0);
  array = json_object_get_array_member (request->body, "pins");
  n = json_array_get_length (array);
  if (face < 1 || face > GW_FOREIGN_MAX_AMOUNT)
    return gw_request_bad_param (request, "face_value",
                                 "face_value must be from 1 to 100000000 minor units.");
  if (n < 1 || n > MAX_PINS)
    return gw_request_bad_param (request, "pins", "pins must hold 1 to 10000 PINs.");

  op = g_new0 (PartnerOp, 1);
  op->pins = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      const char *pin = JSON_NODE_HOLDS_VALUE (node) &&
                        json_node_get_value_type (node) == G_TYPE_STRING
                        ? json_node_get_string (node) : NULL;
      gsize len = pin ? strlen (pin) : 0;

      if (len < 4 || len > 64 || strspn (pin, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "abcdefghijklmnopqrstuvwxyz-") != len)
        {
          g_autofree char *param = g_strdup_printf ("pins[%u]", i);

          partner_op_free (op);
          return gw_request_bad_param (request, param,
                                       "A PIN is 4 to 64 letters, digits or hyphens.");
        }
      op->pins[i] = g_strdup (pin);
    }
  g_strlcpy (op->partner_id, request->path_id, sizeof op->partner_id);
  op->face_value = face;
  gw_call_submit (gw_call_new (request, pins_apply, op, partner_op_free));
}

typedef struct
{
  const char       *id;
  GwForeignPartner  partner;
  gboolean          found;
} PartnerRead;

static gboolean
partner_read_apply (GwTxn    *txn,
                    gpointer  user_data,
                    GError  **error)
{
  PartnerRead *read = user_data;
  const GwForeignStoreFuncs *store = gw_txn_extension (txn, "foreign");
  GError *local = NULL;

  read->found = store->partner_get (txn, read->id, &read->partner, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

void
gw_api_foreign_partners_get (GwRequest *request)
{
  PartnerRead read = { .id = request->path_id };
  g_autoptr(GError) error = NULL;
  GString *body;

  if (!gw_store_read (gw_server_get_store (request->server), partner_read_apply, &read, &error))
    {
      g_warning ("partner read failed: %s", error->message);
      return gw_request_error (request, 500, "api_error", "internal", NULL, "The read failed.");
    }
  if (!read.found)
    return gw_request_error (request, 404, "invalid_request_error", "resource_missing", "id",
                             "No such foreign partner.");
  body = g_string_new ("{");
  render_partner (body, &read.partner);
  gw_json_close (body, '}');
  gw_request_reply (request, 200, body);
}

/* A card holder's switch-over */

typedef struct
{
  GwCredentials credentials;
  char          partner_id[40];
  gint64        face_value;
} SwitchData;

static gboolean
switch_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  SwitchData *data = call->data;
  GwForeignPartner partner;
  GwForeignResult result;
  GwOutcome outcome;
  GwCard card;
  g_autofree char *pin = NULL;
  g_autofree char *rate = NULL;
  char last4[5];
  gint64 krw;
  GString *body;

  if (!gw_foreign_switch (txn, gw_server_get_ledger_config (call->server), &data->credentials,
                          data->partner_id, data->face_value, &partner, &card, &pin, last4, &krw,
                          &result, &outcome, error))
    return FALSE;
  if (result != GW_FOREIGN_OK)
    return reply_result (call, result, &outcome), TRUE;

  rate = gw_foreign_format_rate (partner.rate_e6);
  body = g_string_new ("{");
  gw_json_str (body, "object", "foreign_pin");
  gw_json_str (body, "partner", partner.id);
  gw_json_str (body, "partner_name", partner.name);
  gw_json_str (body, "pin", pin);
  gw_json_str (body, "pin_last4", last4);
  gw_json_int (body, "face_value", data->face_value);
  gw_json_str (body, "currency", partner.currency);
  gw_json_str (body, "rate", rate);
  gw_json_int (body, "amount", krw);
  gw_json_str (body, "amount_currency", "krw");
  gw_json_str (body, "card_id", card.id);
  gw_json_str (body, "card_last4", card.last4);
  gw_json_int (body, "balance", card.balance);
  gw_json_int (body, "created", txn->funcs->now (txn));
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  call->seal = TRUE;     /* the PIN, shown only here */
  explicit_bzero (pin, strlen (pin));
  return TRUE;
}

void
gw_api_foreign_switch (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
    { "partner", ONEPIN_JSON_STRING, TRUE },
    { "face_value", ONEPIN_JSON_INT, TRUE },
  };
  g_autofree SwitchData *data = g_new0 (SwitchData, 1);
  const char *partner;
  gint64 face;

  gw_ledger_credentials (gw_server_get_ledger_config (request->server),
                         onepin_json_get_string (request->body, "number", ""),
                         onepin_json_get_string (request->body, "password", ""),
                         &data->credentials);
  /* A keyed retry is the card's own, refusals of its fields included: the
   * key's scope is the card. */
  gw_request_scope_to_card (request, &data->credentials);
  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  partner = onepin_json_get_string (request->body, "partner", "");
  face = onepin_json_get_int (request->body, "face_value", 0);
  if (strlen (partner) < 1 || strlen (partner) >= 40)
    return gw_request_bad_param (request, "partner", "partner must be a partner id.");
  if (face < 1 || face > GW_FOREIGN_MAX_AMOUNT)
    return gw_request_bad_param (request, "face_value",
                                 "face_value must be from 1 to 100000000 minor units.");
  g_strlcpy (data->partner_id, partner, sizeof data->partner_id);
  data->face_value = face;
  gw_call_submit (gw_call_new (request, switch_apply, g_steal_pointer (&data), g_free));
}

/* A foreign site's charge */

typedef struct
{
  GwCredentials credentials;
  char          merchant_id[40];
  char          currency[4];
  gint64        amount;
  char         *order_id;
  char         *description;
} ChargeData;

static void
charge_data_free (gpointer data)
{
  ChargeData *charge = data;

  g_free (charge->order_id);
  g_free (charge->description);
  g_free (charge);
}

static gboolean
charge_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  ChargeData *data = call->data;
  GwPayRequest request = {
    .merchant_id = data->merchant_id, .order_id = data->order_id,
    .description = data->description, .channel = "internet",
  };
  GwPayment payment = { 0 };
  GwForeignPartner partner;
  GwForeignResult result;
  GwOutcome outcome;
  g_autofree char *rate = NULL;
  GString *body;
  gboolean ok;

  ok = gw_foreign_charge (txn, gw_server_get_ledger_config (call->server), &data->credentials,
                          &request, data->amount, data->currency, &partner, &payment, &result,
                          &outcome, error);
  if (ok && result != GW_FOREIGN_OK)
    reply_result (call, result, &outcome);
  else if (ok)
    {
      rate = gw_foreign_format_rate (partner.rate_e6);
      body = g_string_sized_new (512);
      gw_render_payment (body, &payment);
      g_string_truncate (body, body->len - 1);
      gw_json_int (body, "original_amount", data->amount);
      gw_json_str (body, "original_currency", data->currency);
      gw_json_str (body, "fx_rate", rate);
      gw_json_close (body, '}');
      gw_call_ok (call, body);
      call->is_payment = TRUE;
    }
  gw_payment_clear (&payment);
  return ok;
}

void
gw_api_foreign_payments_create (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "card_number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
    { "amount", ONEPIN_JSON_INT, TRUE },
    { "currency", ONEPIN_JSON_STRING, TRUE },
    { "order_id", ONEPIN_JSON_STRING, TRUE },
    { "description", ONEPIN_JSON_STRING, FALSE },
  };
  const char *currency, *order, *description;
  ChargeData *data;
  gint64 amount;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  amount = onepin_json_get_int (request->body, "amount", 0);
  currency = onepin_json_get_string (request->body, "currency", "");
  order = onepin_json_get_string (request->body, "order_id", "");
  description = onepin_json_get_string (request->body, "description", NULL);
  if (amount < 1 || amount > GW_FOREIGN_MAX_AMOUNT)
    return gw_request_bad_param (request, "amount",
                                 "amount must be from 1 to 100000000 minor units.");
  if (!valid_currency (currency))
    return gw_request_bad_param (request, "currency",
                                 "currency must be a lowercase ISO 4217 code other than krw.");
  if (strlen (order) < 1 || strlen (order) > 255)
    return gw_request_bad_param (request, "order_id", "order_id must be 1 to 255 bytes.");
  if (description != NULL && (strlen (description) > 1000 ||
                              !onepin_text_is_display_safe (description, ONEPIN_TEXT_ONE_LINE)))
    return gw_request_bad_param (request, "description",
                                 "description must be at most 1000 bytes, without control or "
                                 "invisible formatting characters.");

  data = g_new0 (ChargeData, 1);
  gw_ledger_credentials (gw_server_get_ledger_config (request->server),
                         onepin_json_get_string (request->body, "card_number", ""),
                         onepin_json_get_string (request->body, "password", ""),
                         &data->credentials);
  g_strlcpy (data->merchant_id, request->merchant_id, sizeof data->merchant_id);
  g_strlcpy (data->currency, currency, sizeof data->currency);
  data->amount = amount;
  data->order_id = g_strdup (order);
  data->description = g_strdup (description);
  gw_call_submit (gw_call_new (request, charge_apply, data, charge_data_free));
}
