/* gw-api-checkout.c: checkout sessions, the wallet's checkout, the hosted
 * payment page and merchants' webhook endpoints
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The mall's server opens a session with its merchant key; the shopper
 * pays it from the wallet (POST /v1/wallet/checkout, under the wallet's
 * session, with what the shopper approved and the card password) or on the
 * hosted page (/pay/{id}, card number and password). The mall learns the
 * result from GET /v1/checkout_sessions/{id} and from its webhook.
 */
#include "gw-api-checkout.h"

#include <string.h>

#include "gw-net.h"
#include "gw-pages.h"
#include "gw-wallet-store.h"
#include "onepin-text.h"

#define MAX_ITEMS 100
#define MAX_URL 2048
#define MAX_AMOUNT 1000000
#define DEFAULT_EXPIRY (30 * 60)
#define MIN_EXPIRY 5
#define MAX_EXPIRY (24 * 3600)
#define PAGE_PREFIX "/org/onepin/gateway/checkout/"
#define CHECKOUT(txn) ((const GwCheckoutStoreFuncs *) gw_txn_extension ((txn), "checkout"))
#define WALLET(txn) ((const GwWalletStoreFuncs *) gw_txn_extension ((txn), "wallet"))

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* ---- rendering ---------------------------------------------------------- */

static char *
page_url (GwServer   *server,
          const char *session_id)
{
  const char *base = gw_server_get_config (server)->checkout_page_url;

  if (base == NULL)
    base = gw_server_get_url (server);
  return g_strconcat (base ? base : "", "/pay/", session_id, NULL);
}

void
gw_checkout_render (GString                 *out,
                    GwServer                *server,
                    const GwCheckoutSession *s,
                    const GwPayment         *payment,
                    gint64                   now)
{
  g_autofree char *url = page_url (server, s->id);

  g_string_append_c (out, '{');
  gw_json_str (out, "id", s->id);
  gw_json_str (out, "object", "checkout_session");
  gw_json_str (out, "status", gw_checkout_status (s, now));
  gw_json_str (out, "merchant", s->merchant_id);
  gw_json_str (out, "order_id", s->order_id);
  gw_json_int (out, "amount", s->amount);
  gw_json_str (out, "currency", s->currency);
  gw_json_raw (out, "items", s->items);
  gw_json_str (out, "description", s->description);
  gw_json_str (out, "success_url", s->success_url);
  gw_json_str (out, "cancel_url", s->cancel_url);
  gw_json_bool (out, "capture", s->capture);
  gw_json_str (out, "url", url);
  gw_json_int (out, "expires_at", s->expires_at);
  gw_json_int (out, "created", s->created);
  gw_json_str (out, "paid_with", s->paid_with[0] ? s->paid_with : NULL);
  if (s->completed_at > 0)
    gw_json_int (out, "completed_at", s->completed_at);
  if (payment != NULL)
    {
      gw_json_raw (out, "payment", "");
      gw_render_payment (out, payment);
    }
  else
    gw_json_raw (out, "payment", "null");
  g_string_append_c (out, '}');
}

/* What the shopper, the hosted page and the wallet may see of a session. */
static void
render_public (GString                 *out,
               const GwCheckoutSession *s,
               const char              *merchant_name,
               gint64                   now)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "id", s->id);
  gw_json_str (out, "object", "checkout_session_summary");
  gw_json_str (out, "status", gw_checkout_status (s, now));
  g_string_append (out, ",\"merchant\":{");
  gw_json_str (out, "id", s->merchant_id);
  gw_json_str (out, "name", merchant_name);
  g_string_append_c (out, '}');
  gw_json_str (out, "order_id", s->order_id);
  gw_json_int (out, "amount", s->amount);
  gw_json_str (out, "currency", s->currency);
  gw_json_raw (out, "items", s->items);
  gw_json_str (out, "description", s->description);
  gw_json_str (out, "success_url", s->success_url);
  gw_json_str (out, "cancel_url", s->cancel_url);
  gw_json_int (out, "expires_at", s->expires_at);
  g_string_append_c (out, '}');
}

/* ---- creating ----------------------------------------------------------- */

/* What the shopper reads on the checkout page: see onepin-text.c. */
static gboolean
printable (const char *text)
{
  return onepin_text_is_display_safe (text, ONEPIN_TEXT_ONE_LINE);
}

/* Visible ASCII only: the shopper's browser is sent there, and a space, a
 * line separator or a look-alike letter would read as another address. */
static gboolean
visible_ascii (const char *text)
{
  for (const char *c = text; *c != '\0'; c++)
    if (*c < 0x21 || *c > 0x7e)
      return FALSE;
  return TRUE;
}

/* An http(s) URL with a host and no user information. */
static gboolean
url_ok (const char *url)
{
  return url == NULL ||
         (strlen (url) <= MAX_URL && visible_ascii (url) && gw_config_url_ok (url, TRUE));
}

static const char *
check_items (JsonArray   *items,
             gint64       amount,
             const char **code,
             const char **message)
{
  static const OnepinJsonField fields[] = {
    { "name", ONEPIN_JSON_STRING, TRUE },
    { "quantity", ONEPIN_JSON_INT, TRUE },
    { "amount", ONEPIN_JSON_INT, TRUE },
  };
  guint n = json_array_get_length (items);
  gint64 total = 0;

  if (n > MAX_ITEMS)
    return *message = "items holds at most 100 lines.", "items";
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (items, i);
      JsonObject *item = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *name;
      gint64 quantity, price;

      if (item == NULL || !onepin_json_check_fields (item, fields, G_N_ELEMENTS (fields), NULL,
                                                     NULL))
        return *message = "Each item is {\"name\", \"quantity\", \"amount\"}.", "items";
      name = onepin_json_get_string (item, "name", "");
      quantity = onepin_json_get_int (item, "quantity", 0);
      price = onepin_json_get_int (item, "amount", -1);
      if (g_utf8_strlen (name, -1) < 1 || g_utf8_strlen (name, -1) > 200 || !printable (name))
        return *message = "An item's name is 1 to 200 printable characters.", "items";
      if (quantity < 1 || quantity > 10000 || price < 0 || price > MAX_AMOUNT)
        return *message = "An item's quantity is 1 to 10000 and its amount (the unit price) "
                          "0 to 1000000.", "items";
      total += quantity * price;   /* at most 100 × 10^4 × 10^6: no overflow */
    }
  if (n > 0 && total != amount)
    return *code = "items_total_mismatch",
           *message = "The items' quantities times their amounts must add up to amount.",
           "items";
  return NULL;
}

const char *
gw_checkout_check_body (JsonObject   *body,
                        char        **items_out,
                        const char  **code,
                        const char  **message)
{
  static const OnepinJsonField fields[] = {
    { "order_id", ONEPIN_JSON_STRING, TRUE },
    { "amount", ONEPIN_JSON_INT, TRUE },
    { "currency", ONEPIN_JSON_STRING, TRUE },
    { "items", ONEPIN_JSON_ARRAY, FALSE },
    { "description", ONEPIN_JSON_STRING, FALSE },
    { "success_url", ONEPIN_JSON_STRING, FALSE },
    { "cancel_url", ONEPIN_JSON_STRING, FALSE },
    { "expires_in", ONEPIN_JSON_INT, FALSE },
    { "capture", ONEPIN_JSON_BOOL, FALSE },
  };
  g_autoptr(GError) error = NULL;
  const char *param = NULL;
  const char *order_id = onepin_json_get_string (body, "order_id", "");
  const char *description = onepin_json_get_string (body, "description", NULL);
  gint64 amount = onepin_json_get_int (body, "amount", 0);
  gint64 expires_in = onepin_json_get_int (body, "expires_in", DEFAULT_EXPIRY);
  JsonArray *items;

  *code = "parameter_invalid";
  *items_out = NULL;
  if (!onepin_json_check_fields (body, fields, G_N_ELEMENTS (fields), &param, &error))
    {
      *code = g_error_matches (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_UNKNOWN_FIELD)
                ? "parameter_unknown"
                : g_error_matches (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_MISSING)
                ? "parameter_missing" : "parameter_invalid";
      return *message = "A parameter is unknown, missing or of the wrong type.", param;
    }
  if (amount < 1 || amount > MAX_AMOUNT)
    return *message = "amount must be an integer from 1 to 1000000.", "amount";
  if (!onepin_currency_is_known (onepin_json_get_string (body, "currency", "")))
    return *message = "currency must be a lowercase ISO 4217 code such as krw.", "currency";
  if (g_utf8_strlen (order_id, -1) < 1 || g_utf8_strlen (order_id, -1) > 255 ||
      !printable (order_id))
    return *message = "order_id must be 1 to 255 printable characters.", "order_id";
  if (description != NULL && (g_utf8_strlen (description, -1) > 1000 || !printable (description)))
    return *message = "description must be at most 1000 printable characters.", "description";
  if (!url_ok (onepin_json_get_string (body, "success_url", NULL)))
    return *message = "success_url must be an http(s) URL.", "success_url";
  if (!url_ok (onepin_json_get_string (body, "cancel_url", NULL)))
    return *message = "cancel_url must be an http(s) URL.", "cancel_url";
  if (expires_in < MIN_EXPIRY || expires_in > MAX_EXPIRY)
    return *message = "expires_in must be 5 to 86400 seconds.", "expires_in";

  items = json_object_has_member (body, "items") &&
          !json_node_is_null (json_object_get_member (body, "items"))
            ? json_object_get_array_member (body, "items") : NULL;
  if (items != NULL && (param = check_items (items, amount, code, message)) != NULL)
    return param;
  if (items != NULL)
    {
      g_autoptr(JsonNode) node = json_node_init_array (json_node_alloc (), items);

      *items_out = onepin_json_canonical (node);
    }
  else
    *items_out = g_strdup ("[]");
  return NULL;
}

typedef struct
{
  GwCheckoutSession session;
  GwPayment         payment;
  char              merchant_id[40];
  char             *session_id;
  char             *merchant_name;
  gboolean          found;
} CheckoutOp;

static void
checkout_op_free (gpointer data)
{
  CheckoutOp *op = data;

  gw_checkout_session_clear (&op->session);
  gw_payment_clear (&op->payment);
  g_free (op->session_id);
  g_free (op->merchant_name);
  g_free (op);
}

static gboolean
create_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  CheckoutOp *op = call->data;
  GString *body;

  op->session.created = txn->funcs->now (txn);
  op->session.expires_at += op->session.created;
  if (!gw_checkout_create (txn, &op->session, error))
    return FALSE;
  body = g_string_sized_new (1024);
  gw_checkout_render (body, call->server, &op->session, NULL, op->session.created);
  gw_call_ok (call, body);
  return TRUE;
}

void
gw_api_checkout_create (GwRequest *request)
{
  JsonObject *body = request->body;
  const char *code = NULL;
  const char *message = NULL;
  g_autofree char *items = NULL;
  g_autofree char *id = NULL;
  const char *param = gw_checkout_check_body (body, &items, &code, &message);
  CheckoutOp *op;

  /* An unknown member's name is the caller's: only a plain word is echoed. */
  if (param != NULL)
    return gw_request_error (request, 400, "invalid_request_error", code,
                             g_str_equal (code, "parameter_unknown") ? gw_plain_word (param)
                                                                     : param, message);

  op = g_new0 (CheckoutOp, 1);
  id = onepin_crypto_random_token ("cs_", 16);
  g_strlcpy (op->session.id, id, sizeof op->session.id);
  g_strlcpy (op->session.merchant_id, request->merchant_id, sizeof op->session.merchant_id);
  g_strlcpy (op->session.currency, onepin_json_get_string (body, "currency", ""),
             sizeof op->session.currency);
  g_strlcpy (op->session.status, "open", sizeof op->session.status);
  op->session.order_id = g_strdup (onepin_json_get_string (body, "order_id", ""));
  op->session.amount = onepin_json_get_int (body, "amount", 0);
  op->session.items = g_steal_pointer (&items);
  op->session.description = g_strdup (onepin_json_get_string (body, "description", NULL));
  op->session.success_url = g_strdup (onepin_json_get_string (body, "success_url", NULL));
  op->session.cancel_url = g_strdup (onepin_json_get_string (body, "cancel_url", NULL));
  op->session.capture = onepin_json_get_bool (body, "capture", TRUE);
  op->session.expires_at = onepin_json_get_int (body, "expires_in", DEFAULT_EXPIRY);
  gw_call_submit (gw_call_new (request, create_apply, op, checkout_op_free));
}

/* ---- reading ------------------------------------------------------------ */

static gboolean
read_apply (GwTxn    *txn,
            gpointer  data,
            GError  **error)
{
  CheckoutOp *op = data;
  GError *local = NULL;

  op->found = CHECKOUT (txn)->session_get (txn, op->session_id, &op->session, &local) &&
              (op->merchant_id[0] == '\0' ||
               g_str_equal (op->session.merchant_id, op->merchant_id));
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  if (op->found && op->session.payment_id[0] != '\0' &&
      !txn->funcs->payment_get (txn, op->session.payment_id, &op->payment, error))
    return FALSE;
  if (op->found && op->merchant_id[0] == '\0')
    op->merchant_name = WALLET (txn)->merchant_name (txn, op->session.merchant_id, error);
  return error == NULL || *error == NULL;
}

static CheckoutOp *
read_session (GwRequest  *request,
              const char *merchant_id)
{
  g_autoptr(GError) error = NULL;
  CheckoutOp *op = g_new0 (CheckoutOp, 1);

  op->session_id = g_strdup (request->path_id);
  g_strlcpy (op->merchant_id, merchant_id ? merchant_id : "", sizeof op->merchant_id);
  if (gw_store_read (gw_server_get_store (request->server), read_apply, op, &error) &&
      op->found)
    return op;
  if (error != NULL)
    {
      g_warning ("checkout read failed: %s", error->message);
      gw_request_error (request, 500, "api_error", "internal", NULL, "The read failed.");
    }
  else
    gw_request_error (request, 404, "invalid_request_error", "resource_missing", "id",
                      "No such checkout session.");
  checkout_op_free (op);
  return NULL;
}

void
gw_api_checkout_get (GwRequest *request)
{
  CheckoutOp *op = read_session (request, request->merchant_id);
  GString *body;

  if (op == NULL)
    return;
  body = g_string_sized_new (1536);
  gw_checkout_render (body, request->server, &op->session,
                      op->payment.id[0] ? &op->payment : NULL, now_seconds ());
  checkout_op_free (op);
  gw_request_reply (request, 200, body);
}

void
gw_api_checkout_public (GwRequest *request)
{
  CheckoutOp *op = read_session (request, NULL);
  GString *body;

  if (op == NULL)
    return;
  body = g_string_sized_new (1024);
  render_public (body, &op->session, op->merchant_name, now_seconds ());
  checkout_op_free (op);
  gw_request_reply (request, 200, body);
}

/* ---- paying ------------------------------------------------------------- */

typedef struct
{
  GwCredentials      credentials;
  char               session_id[48];
  char               user_id[40];    /* the wallet's, or "" on the hosted page */
  char              *password;
  GwCheckoutPurchase approved;
  char               merchant_id[40];
  char              *order_id;
  char               currency[4];
} PayOp;

static void
pay_op_free (gpointer data)
{
  PayOp *op = data;

  if (op->password != NULL)
    explicit_bzero (op->password, strlen (op->password));
  g_free (op->password);
  g_free (op->order_id);
  memset (&op->credentials, 0, sizeof op->credentials);
  g_free (op);
}

static void
refuse (GwCall     *call,
        guint       status,
        const char *code,
        const char *param,
        const char *message)
{
  call->status = status;
  call->body = g_string_new (NULL);
  gw_error_render (call->body, "invalid_request_error", code, NULL, param, message);
}

static void
refuse_result (GwCall           *call,
               GwCheckoutResult  result,
               const GwOutcome  *outcome,
               const char       *mismatch)
{
  g_autofree char *message = NULL;

  switch (result)
    {
    case GW_CHECKOUT_NOT_FOUND:
      return refuse (call, 404, "resource_missing", "checkout_session",
                     "No such checkout session.");
    case GW_CHECKOUT_EXPIRED:
      return refuse (call, 409, "checkout_session_expired", NULL,
                     "The checkout session has expired. Ask the shop for a new one.");
    case GW_CHECKOUT_COMPLETED:
      return refuse (call, 409, "checkout_session_completed", NULL,
                     "The checkout session is already paid.");
    case GW_CHECKOUT_NO_CARD:
      return refuse (call, 409, "card_not_issued", NULL,
                     "Apply for the representative card first.");
    case GW_CHECKOUT_MISMATCH:
      message = g_strdup_printf ("The purchase in the wallet does not match the shop's: "
                                 "%s differs.", mismatch);
      return refuse (call, 409, "checkout_mismatch", mismatch, message);
    case GW_CHECKOUT_DECLINED:
    case GW_CHECKOUT_OK:
    default:
      return gw_call_fail (call, outcome, NULL);
    }
}

static void
render_result (GString                 *out,
               const GwCheckoutSession *session,
               const GwPayment         *payment,
               const GwCard            *card)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "object", "checkout_result");
  gw_json_str (out, "checkout_session", session->id);
  gw_json_str (out, "status", session->status);
  gw_json_str (out, "payment", payment->id);
  gw_json_str (out, "payment_status", payment->status);
  gw_json_str (out, "order_id", session->order_id);
  gw_json_int (out, "amount", payment->amount);
  gw_json_str (out, "currency", payment->currency);
  gw_json_str (out, "card_last4", payment->card_last4);
  if (card != NULL)
    gw_json_int (out, "available", card->balance - card->held);
  if (session->success_url != NULL)
    {
      g_autoptr(GString) url = g_string_new (session->success_url);

      /* Whichever way it was paid, the shop learns which session it was. */
      g_string_replace (url, "{CHECKOUT_SESSION_ID}", session->id, 0);
      gw_json_str (out, "success_url", url->str);
    }
  else
    gw_json_str (out, "success_url", NULL);
  g_string_append_c (out, '}');
}

static gboolean
pay_apply (GwTxn   *txn,
           GwCall  *call,
           GError **error)
{
  PayOp *op = call->data;
  const GwLedgerConfig *ledger = gw_server_get_ledger_config (call->server);
  GwCheckoutSession session = { 0 };
  GwPayment payment = { 0 };
  GwOutcome outcome = { 0 };
  GwCheckoutResult result = GW_CHECKOUT_OK;
  const char *mismatch = NULL;
  gboolean wallet = op->user_id[0] != '\0';
  GwCard card;
  gboolean ok = TRUE;

  call->is_payment = TRUE;
  if (wallet)
    ok = gw_checkout_wallet_credentials (txn, ledger, op->user_id, op->password,
                                         &op->credentials, &result, error);
  if (ok && result == GW_CHECKOUT_OK)
    ok = gw_checkout_pay (txn, ledger, op->session_id, wallet ? &op->approved : NULL,
                          &op->credentials, wallet ? "wallet" : "card", &session, &payment,
                          &outcome, &result, &mismatch, error);
  if (ok && result != GW_CHECKOUT_OK)
    refuse_result (call, result, &outcome, mismatch);
  /* Only the wallet's answer shows the card (its balance after). */
  else if (ok && (!wallet || (ok = txn->funcs->card_by_id (txn, payment.card_id, &card, error))))
    {
      GString *body = g_string_sized_new (512);

      render_result (body, &session, &payment, wallet ? &card : NULL);
      gw_call_ok (call, body);
    }
  gw_checkout_session_clear (&session);
  gw_payment_clear (&payment);
  return ok;
}

/* POST /v1/checkout_sessions/{id}/pay: the hosted page. */
void
gw_api_checkout_pay (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "card_number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
  };
  PayOp *op = g_new0 (PayOp, 1);

  g_strlcpy (op->session_id, request->path_id, sizeof op->session_id);
  gw_ledger_credentials (gw_server_get_ledger_config (request->server),
                         onepin_json_get_string (request->body, "card_number", ""),
                         onepin_json_get_string (request->body, "password", ""),
                         &op->credentials);
  /* A retry of a payment whose answer was lost is the card's own,
   * refusals of its fields included. */
  gw_request_scope_to_card (request, &op->credentials);
  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return pay_op_free (op);
  gw_call_submit (gw_call_new (request, pay_apply, op, pay_op_free));
}

/* What the shopper approved must be a purchase the create route would
 * take, checked whole rather than cut to fit: "krw-anything" is no "krw". */
static const char *
check_approved (JsonObject  *body,
                const char **message)
{
  const char *merchant = onepin_json_get_string (body, "merchant", "");
  const char *order_id = onepin_json_get_string (body, "order_id", "");
  gint64 amount = onepin_json_get_int (body, "amount", 0);

  if (strlen (merchant) < 1 || strlen (merchant) >= G_SIZEOF_MEMBER (PayOp, merchant_id) ||
      !visible_ascii (merchant))
    return *message = "merchant must be a merchant id.", "merchant";
  if (g_utf8_strlen (order_id, -1) < 1 || g_utf8_strlen (order_id, -1) > 255 ||
      !printable (order_id))
    return *message = "order_id must be 1 to 255 printable characters.", "order_id";
  if (amount < 1 || amount > MAX_AMOUNT)
    return *message = "amount must be an integer from 1 to 1000000.", "amount";
  if (!onepin_currency_is_known (onepin_json_get_string (body, "currency", "")))
    return *message = "currency must be a lowercase ISO 4217 code such as krw.", "currency";
  return NULL;
}

/* POST /v1/wallet/checkout: what the shopper approved in the wallet. */
void
gw_api_checkout_wallet (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "checkout_session", ONEPIN_JSON_STRING, TRUE },
    { "merchant", ONEPIN_JSON_STRING, TRUE },
    { "order_id", ONEPIN_JSON_STRING, TRUE },
    { "amount", ONEPIN_JSON_INT, TRUE },
    { "currency", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
  };
  JsonObject *body = request->body;
  const char *session_id;
  const char *password;
  const char *param;
  const char *message = NULL;
  PayOp *op;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  session_id = onepin_json_get_string (body, "checkout_session", "");
  password = onepin_json_get_string (body, "password", "");
  if (strlen (session_id) >= sizeof op->session_id || !g_str_has_prefix (session_id, "cs_"))
    return gw_request_bad_param (request, "checkout_session", "Not a checkout session id.");
  if ((param = check_approved (body, &message)) != NULL)
    return gw_request_bad_param (request, param, message);
  if (g_utf8_strlen (password, -1) < 4 || g_utf8_strlen (password, -1) > 64)
    return gw_request_bad_param (request, "password", "A card password is 4 to 64 characters.");

  op = g_new0 (PayOp, 1);
  g_strlcpy (op->session_id, session_id, sizeof op->session_id);
  g_strlcpy (op->user_id, request->user_id, sizeof op->user_id);
  g_strlcpy (op->merchant_id, onepin_json_get_string (body, "merchant", ""),
             sizeof op->merchant_id);
  g_strlcpy (op->currency, onepin_json_get_string (body, "currency", ""), sizeof op->currency);
  op->order_id = g_strdup (onepin_json_get_string (body, "order_id", ""));
  op->password = g_strdup (password);
  op->approved = (GwCheckoutPurchase) {
    .merchant_id = op->merchant_id, .order_id = op->order_id,
    .amount = onepin_json_get_int (body, "amount", 0), .currency = op->currency,
  };
  gw_call_submit (gw_call_new (request, pay_apply, op, pay_op_free));
}

/* ---- expiring ----------------------------------------------------------- */

static gboolean
expire_apply (GwTxn   *txn,
              GwCall  *call,
              GError **error)
{
  CheckoutOp *op = call->data;
  GwCheckoutResult result;
  GString *body;

  if (!gw_checkout_expire (txn, op->merchant_id, op->session_id, &op->session, &result, error))
    return FALSE;
  if (result == GW_CHECKOUT_NOT_FOUND || result == GW_CHECKOUT_COMPLETED)
    {
      refuse_result (call, result, NULL, NULL);
      return TRUE;
    }
  body = g_string_sized_new (1024);
  gw_checkout_render (body, call->server, &op->session, NULL, txn->funcs->now (txn));
  gw_call_ok (call, body);
  return TRUE;
}

void
gw_api_checkout_expire (GwRequest *request)
{
  CheckoutOp *op;

  if (!gw_request_check_body (request, NULL, 0))
    return;
  op = g_new0 (CheckoutOp, 1);
  op->session_id = g_strdup (request->path_id);
  g_strlcpy (op->merchant_id, request->merchant_id, sizeof op->merchant_id);
  gw_call_submit (gw_call_new (request, expire_apply, op, checkout_op_free));
}

/* ---- webhook endpoints -------------------------------------------------- */

const char *
gw_checkout_webhook_url_check (const char *url,
                               gboolean    allow_http,
                               gboolean    allow_private)
{
  g_autoptr(GUri) uri = NULL;

  if (url == NULL || strlen (url) > MAX_URL || !printable (url) ||
      !gw_config_url_ok (url, allow_http))
    return allow_http ? "url must be an http(s) URL with a host and no user information."
           : allow_private ? "url must be an https URL (plain http only to this machine)."
           : "url must be an https URL with a host and no user information.";
  /* GUri takes hosts a resolver would not ("a b", "a\b", "-a"), reads
   * as another ("127.1") or that hide what they name ("%6c%6fcalhost"):
   * only a plain name or address literal is judged below, and tried. */
  if (!gw_net_url_authority_ok (url))
    return "url's host must be a DNS name or an IP address, and its port 1 to 65535.";
  if (allow_private)
    return NULL;
  /* The gateway would POST there itself, so not to itself or its network
   * (a name is checked again at each try, on the address it reached). */
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (!gw_net_host_may_be_public (g_uri_get_host (uri)))
    return "url must name a public host, not this machine or a private network.";
  return NULL;
}

static char *
url_aad (const char *merchant_id)
{
  return g_strconcat ("webhook-url\n", merchant_id, NULL);
}

typedef struct
{
  char     merchant_id[40];
  char    *url;
  gboolean remove;
  GBytes  *url_sealed;
  gint64   created;
  gint64   updated;
  gboolean found;
} EndpointOp;

static void
endpoint_op_free (gpointer data)
{
  EndpointOp *op = data;

  g_free (op->url);
  g_clear_pointer (&op->url_sealed, g_bytes_unref);
  g_free (op);
}

static GString *
render_endpoint (const char *url,
                 gint64      created,
                 gint64      updated)
{
  GString *body = g_string_new ("{");

  gw_json_str (body, "object", "webhook_endpoint");
  gw_json_str (body, "url", url);
  gw_json_int (body, "created", created);
  gw_json_int (body, "updated", updated);
  gw_json_close (body, '}');
  return body;
}

static gboolean
endpoint_apply (GwTxn   *txn,
                GwCall  *call,
                GError **error)
{
  EndpointOp *op = call->data;
  gint64 now = txn->funcs->now (txn);
  g_autoptr(GBytes) stored = NULL;

  if (op->remove)
    {
      if (!CHECKOUT (txn)->webhook_delete (txn, op->merchant_id, error))
        return FALSE;
      gw_call_ok (call, g_string_new ("{\"object\":\"webhook_endpoint\",\"deleted\":true}"));
      return TRUE;
    }
  if (!CHECKOUT (txn)->webhook_put (txn, op->merchant_id, op->url_sealed, now, error) ||
      !CHECKOUT (txn)->webhook_get (txn, op->merchant_id, &stored, &op->created, &op->updated,
                                    error))
    return FALSE;
  gw_call_ok (call, render_endpoint (op->url, op->created, op->updated));
  return TRUE;
}

void
gw_api_webhook_endpoint_set (GwRequest *request)
{
  static const OnepinJsonField fields[] = { { "url", ONEPIN_JSON_STRING, TRUE } };
  const GwLedgerConfig *ledger = gw_server_get_ledger_config (request->server);
  const GwConfig *config = gw_server_get_config (request->server);
  const char *url;
  const char *problem;
  g_autofree char *aad = url_aad (request->merchant_id);
  g_autoptr(GError) error = NULL;
  EndpointOp *op;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  url = onepin_json_get_string (request->body, "url", "");
  problem = gw_checkout_webhook_url_check (url, config->webhooks_allow_http,
                                           config->webhooks_allow_private);
  if (problem != NULL)
    return gw_request_bad_param (request, "url", problem);
  op = g_new0 (EndpointOp, 1);
  g_strlcpy (op->merchant_id, request->merchant_id, sizeof op->merchant_id);
  op->url = g_strdup (url);
  op->url_sealed = onepin_key_seal (ledger->seal_key, url, strlen (url), aad, strlen (aad),
                                    &error);
  if (op->url_sealed == NULL)
    {
      endpoint_op_free (op);
      g_warning ("sealing a webhook URL failed: %s", error->message);
      return gw_request_error (request, 500, "api_error", "internal", NULL, "Sealing failed.");
    }
  gw_call_submit (gw_call_new (request, endpoint_apply, op, endpoint_op_free));
}

void
gw_api_webhook_endpoint_delete (GwRequest *request)
{
  EndpointOp *op = g_new0 (EndpointOp, 1);

  op->remove = TRUE;
  g_strlcpy (op->merchant_id, request->merchant_id, sizeof op->merchant_id);
  gw_call_submit (gw_call_new (request, endpoint_apply, op, endpoint_op_free));
}

static gboolean
endpoint_read (GwTxn    *txn,
               gpointer  data,
               GError  **error)
{
  EndpointOp *op = data;
  GError *local = NULL;

  op->found = CHECKOUT (txn)->webhook_get (txn, op->merchant_id, &op->url_sealed, &op->created,
                                           &op->updated, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

void
gw_api_webhook_endpoint_get (GwRequest *request)
{
  const GwLedgerConfig *ledger = gw_server_get_ledger_config (request->server);
  g_autofree char *aad = url_aad (request->merchant_id);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) url = NULL;
  g_autofree char *text = NULL;
  EndpointOp op = { 0 };

  g_strlcpy (op.merchant_id, request->merchant_id, sizeof op.merchant_id);
  if (!gw_store_read (gw_server_get_store (request->server), endpoint_read, &op, &error))
    {
      g_warning ("webhook endpoint read failed: %s", error->message);
      return gw_request_error (request, 500, "api_error", "internal", NULL, "The read failed.");
    }
  if (!op.found)
    return gw_request_error (request, 404, "invalid_request_error", "resource_missing", NULL,
                             "No webhook endpoint is set.");
  url = onepin_key_open (ledger->seal_key, g_bytes_get_data (op.url_sealed, NULL),
                         g_bytes_get_size (op.url_sealed), aad, strlen (aad), &error);
  g_bytes_unref (op.url_sealed);
  if (url == NULL)
    return gw_request_error (request, 500, "api_error", "internal", NULL,
                             "The endpoint does not open.");
  text = g_strndup (g_bytes_get_data (url, NULL), g_bytes_get_size (url));
  gw_request_reply (request, 200, render_endpoint (text, op.created, op.updated));
}

/* ---- the webhook secret ------------------------------------------------- */

/* How long the replaced secret keeps signing beside the new one: the
 * merchant's endpoints switch over meanwhile, and its events arrive signed
 * with both (two v1 values). */
#define SECRET_GRACE (24 * 3600)
#define MAX_SECRET_GRACE (7 * 24 * 3600)

typedef struct
{
  char     merchant_id[40];
  char    *secret;
  GBytes  *secret_sealed;
  gint64   expires_in;
} SecretRoll;

static void
secret_roll_free (gpointer data)
{
  SecretRoll *roll = data;

  explicit_bzero (roll->secret, strlen (roll->secret));
  g_free (roll->secret);
  g_clear_pointer (&roll->secret_sealed, g_bytes_unref);
  g_free (roll);
}

static gboolean
secret_roll_apply (GwTxn   *txn,
                   GwCall  *call,
                   GError **error)
{
  SecretRoll *roll = call->data;
  gint64 now = txn->funcs->now (txn);
  gint64 expires = now + roll->expires_in;
  GString *body;

  /* The merchant authenticated, so it exists. */
  if (!CHECKOUT (txn)->webhook_secret_roll (txn, roll->merchant_id, roll->secret_sealed,
                                            expires, now, error))
    return FALSE;
  body = g_string_new ("{");
  gw_json_str (body, "object", "webhook_secret");
  gw_json_str (body, "secret", roll->secret);
  gw_json_int (body, "created", now);
  if (roll->expires_in > 0)
    gw_json_int (body, "previous_expires_at", expires);
  else
    gw_json_raw (body, "previous_expires_at", "null");
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  call->seal = TRUE;     /* the only copy of the new secret */
  return TRUE;
}

/* POST /v1/webhook_secret/roll: a new secret, shown once; the old one signs
 * beside it for expires_in seconds (0: it ends now). */
void
gw_api_webhook_secret_roll (GwRequest *request)
{
  static const OnepinJsonField fields[] = { { "expires_in", ONEPIN_JSON_INT, FALSE } };
  const GwLedgerConfig *ledger = gw_server_get_ledger_config (request->server);
  g_autoptr(GError) error = NULL;
  SecretRoll *roll;
  gint64 expires_in;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  expires_in = onepin_json_get_int (request->body, "expires_in", SECRET_GRACE);
  if (expires_in < 0 || expires_in > MAX_SECRET_GRACE)
    return gw_request_bad_param (request, "expires_in",
                                 "expires_in must be 0 to 604800 seconds (7 days).");
  roll = g_new0 (SecretRoll, 1);
  g_strlcpy (roll->merchant_id, request->merchant_id, sizeof roll->merchant_id);
  roll->expires_in = expires_in;
  roll->secret = onepin_crypto_random_token ("whsec_", 24);
  /* Sealed as at the merchant's creation (gw_ledger_create_merchant). */
  roll->secret_sealed = onepin_key_seal (ledger->seal_key, roll->secret, strlen (roll->secret),
                                         roll->merchant_id, strlen (roll->merchant_id), &error);
  if (roll->secret_sealed == NULL)
    {
      secret_roll_free (roll);
      g_warning ("sealing a webhook secret failed: %s", error->message);
      return gw_request_error (request, 500, "api_error", "internal", NULL, "Sealing failed.");
    }
  gw_call_submit (gw_call_new (request, secret_roll_apply, roll, secret_roll_free));
}

/* ---- the hosted page ---------------------------------------------------- */

/* Nothing on the page comes from anywhere but here, and no other page may
 * frame it. */
#define PAGE_POLICY "default-src 'none'; script-src 'self'; style-src 'self'; " \
                    "img-src 'self'; connect-src 'self'; form-action 'none'; " \
                    "frame-ancestors 'none'; base-uri 'none'"

static void
reply_resource (GwRequest  *request,
                const char *name,
                const char *content_type)
{
  g_autofree char *path = g_strconcat (PAGE_PREFIX, name, NULL);
  g_autoptr(GBytes) bytes = g_resources_lookup_data (path, 0, NULL);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (request->msg);

  if (bytes == NULL)
    return gw_request_error (request, 404, "invalid_request_error", "resource_missing", NULL,
                             "Unrecognized request URL.");
  gw_pages_set_headers (headers, PAGE_POLICY,
                        gw_server_get_config (request->server)->tls_certificate != NULL);
  gw_request_reply_text (request, content_type,
                         g_string_new_len (g_bytes_get_data (bytes, NULL),
                                           g_bytes_get_size (bytes)));
}

/* GET /pay/{id}: one page for every session; its script reads the id from
 * the path and asks /v1/checkout_sessions/{id}/public. */
void
gw_api_checkout_page (GwRequest *request)
{
  reply_resource (request, "pay.html", "text/html; charset=utf-8");
}

void
gw_api_checkout_asset (GwRequest *request)
{
  if (g_str_equal (request->path_id, "pay.js"))
    return reply_resource (request, "pay.js", "text/javascript; charset=utf-8");
  if (g_str_equal (request->path_id, "pay.css"))
    return reply_resource (request, "pay.css", "text/css; charset=utf-8");
  gw_request_error (request, 404, "invalid_request_error", "resource_missing", NULL,
                    "Unrecognized request URL.");
}
