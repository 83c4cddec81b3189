/* bank-api-charges.c: card charges, account debits, virtual accounts,
 * queries, voids and the customer's deposit
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "bank-server-private.h"
#include "onepin-card.h"

#include <string.h>

#define MAX_AMOUNT 1000000000          /* one billion won per charge */
#define MAX_TEXT 200
#define MAX_PASSWORD_FAILURES 5

static const OnepinJsonField charge_fields[] = {
  { "method",           ONEPIN_JSON_STRING, TRUE },
  { "amount",           ONEPIN_JSON_INT,    TRUE },
  { "currency",         ONEPIN_JSON_STRING, TRUE },
  { "description",      ONEPIN_JSON_STRING, FALSE },
  { "card_number",      ONEPIN_JSON_STRING, FALSE },
  { "card_expiry",      ONEPIN_JSON_STRING, FALSE },
  { "card_cvc",         ONEPIN_JSON_STRING, FALSE },
  { "bank_code",        ONEPIN_JSON_STRING, FALSE },
  { "account_number",   ONEPIN_JSON_STRING, FALSE },
  { "account_password", ONEPIN_JSON_STRING, FALSE },
  { "holder_name",      ONEPIN_JSON_STRING, FALSE },
  { "callback_url",     ONEPIN_JSON_STRING, FALSE },
};

/* Which of the optional fields each method takes; the others are refused. */
static const char * const card_only[] = { "card_number", "card_expiry", "card_cvc", NULL };
static const char * const account_only[] = { "bank_code", "account_number", "account_password",
                                             NULL };
static const char * const transfer_only[] = { "holder_name", "callback_url", NULL };

/* ---- rendering ---------------------------------------------------------- */

static void
set_optional_string (JsonObject *o,
                     const char *name,
                     const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, name, value);
}

static void
set_optional_time (JsonObject *o,
                   const char *name,
                   gint64      value)
{
  if (value != 0)
    json_object_set_int_member (o, name, value);
}

JsonObject *
bank_charge_render (const BankCharge *c)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "id", c->id);
  json_object_set_string_member (o, "object", "charge");
  json_object_set_string_member (o, "idempotency_key", c->idempotency_key);
  json_object_set_string_member (o, "method", c->method);
  json_object_set_string_member (o, "status", c->status);
  json_object_set_int_member (o, "amount", c->amount);
  json_object_set_string_member (o, "currency", c->currency);
  set_optional_string (o, "description", c->description);
  set_optional_string (o, "decline_code", c->decline_code);
  set_optional_string (o, "card_last4", c->card_last4);
  if (c->account_number != NULL)
    json_object_set_string_member (o, "account_last4",
                                   c->account_number + strlen (c->account_number) - 4);
  if (c->virtual_account != NULL)
    {
      JsonObject *va = json_object_new ();

      json_object_set_string_member (va, "bank_code", BANK_CODE);
      json_object_set_string_member (va, "bank_name", BANK_NAME);
      json_object_set_string_member (va, "account", c->virtual_account);
      json_object_set_int_member (va, "deadline", c->deadline);
      set_optional_string (va, "depositor", c->depositor);
      json_object_set_object_member (o, "virtual_account", va);
    }
  json_object_set_int_member (o, "created", c->created);
  set_optional_time (o, "paid_at", c->paid_at);
  set_optional_time (o, "canceled_at", c->canceled_at);
  return o;
}

/* A virtual account past its deadline is closed the first time anyone
 * looks at it. */
static gboolean
refresh (BankRequest  *request,
         BankCharge   *charge,
         GError      **error)
{
  if (!g_str_equal (charge->status, "pending") ||
      bank_server_now (request->server) <= charge->deadline)
    return TRUE;
  g_free (charge->status);
  charge->status = g_strdup ("canceled");
  charge->decline_code = g_strdup ("expired");
  charge->canceled_at = charge->deadline;
  return bank_store_charge_update (bank_server_get_store (request->server), charge, error);
}

/* ---- checks ------------------------------------------------------------- */

static gboolean
check_method_fields (BankRequest *request,
                     const char  *method)
{
  const char * const *all[] = { card_only, account_only, transfer_only };
  const char * const *allowed = g_str_equal (method, "card") ? card_only
                                : g_str_equal (method, "bank_account") ? account_only
                                : transfer_only;

  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    for (guint j = 0; all[i] != allowed && all[i][j] != NULL; j++)
      if (json_object_has_member (request->body, all[i][j]))
        {
          g_autofree char *message = g_strdup_printf ("%s is not a parameter of a %s charge",
                                                      all[i][j], method);

          bank_reply_error (request, 400, "invalid_request_error", "parameter_unknown",
                            all[i][j], message);
          return FALSE;
        }
  return TRUE;
}

static gboolean
check_text (BankRequest *request,
            const char  *name,
            gsize        max)
{
  const char *value = onepin_json_get_string (request->body, name, NULL);
  g_autofree char *message = NULL;

  if (value == NULL || g_utf8_strlen (value, -1) <= (glong) max)
    return TRUE;
  message = g_strdup_printf ("%s is at most %" G_GSIZE_FORMAT " characters", name, max);
  bank_reply_bad_param (request, name, message);
  return FALSE;
}

static gboolean
check_common (BankRequest *request)
{
  const char *method = onepin_json_get_string (request->body, "method", "");
  const char *currency = onepin_json_get_string (request->body, "currency", "");
  gint64 amount = onepin_json_get_int (request->body, "amount", 0);

  if (!bank_check_body (request, charge_fields, G_N_ELEMENTS (charge_fields)))
    return FALSE;
  if (!g_str_equal (method, "card") && !g_str_equal (method, "bank_account") &&
      !g_str_equal (method, "transfer"))
    return !bank_reply_bad_param (request, "method",
                                  "method is one of card, bank_account or transfer");
  if (amount < 1 || amount > MAX_AMOUNT)
    return !bank_reply_bad_param (request, "amount",
                                  "amount is an integer from 1 to 1000000000 (minor units)");
  if (!g_str_equal (currency, "krw"))
    return !bank_reply_bad_param (request, "currency",
                                  "The sandbox bank holds Korean won only: currency is \"krw\"");
  return check_method_fields (request, method) && check_text (request, "description", MAX_TEXT) &&
         check_text (request, "holder_name", 64);
}

/* A declined charge is recorded too, so a query finds what happened. */
static gboolean
decline (BankRequest  *request,
         BankCharge   *charge,
         const char   *code,
         const char   *message,
         GError      **error)
{
  g_free (charge->status);
  charge->status = g_strdup ("declined");
  charge->decline_code = g_strdup (code);
  if (!bank_store_charge_insert (bank_server_get_store (request->server), charge, error))
    return FALSE;
  return bank_reply_decline (request, code, message);
}

static gboolean
approve (BankRequest  *request,
         BankCharge   *charge,
         gboolean      slow,
         GError      **error)
{
  g_free (charge->status);
  charge->status = g_strdup ("approved");
  charge->paid_at = charge->created;
  if (!bank_store_charge_insert (bank_server_get_store (request->server), charge, error))
    return FALSE;
  if (slow)
    request->delay = bank_server_get_config (request->server)->slow_seconds;
  return bank_reply (request, 200, bank_charge_render (charge));
}

int
bank_card_expiry_state (const char *expiry,
                        gint64      now)
{
  g_autoptr(GDateTime) today = g_date_time_new_from_unix_utc (now);
  guint64 month;
  guint64 year;
  char mm[3] = { 0 };

  if (expiry == NULL || strlen (expiry) != 5 || expiry[2] != '/')
    return -1;
  memcpy (mm, expiry, 2);
  if (!g_ascii_string_to_unsigned (mm, 10, 1, 12, &month, NULL) ||
      !g_ascii_string_to_unsigned (expiry + 3, 10, 0, 99, &year, NULL))
    return -1;
  year += 2000;
  if ((gint) year < g_date_time_get_year (today) ||
      ((gint) year == g_date_time_get_year (today) &&
       (gint) month < g_date_time_get_month (today)))
    return 1;
  return 0;
}

/* ---- the three methods -------------------------------------------------- */

static gboolean
charge_card (BankRequest  *request,
             BankCharge   *charge,
             GError      **error)
{
  BankStore *store = bank_server_get_store (request->server);
  g_autoptr(BankSecret) number = bank_digits (onepin_json_get_string (request->body,
                                                                      "card_number", NULL),
                                              12, 19);
  const char *cvc = onepin_json_get_string (request->body, "card_cvc", "");
  int expiry = bank_card_expiry_state (onepin_json_get_string (request->body, "card_expiry", NULL),
                             charge->created);
  g_autoptr(BankCard) card = NULL;
  gboolean done = FALSE;

  if (number == NULL)
    return bank_reply_bad_param (request, "card_number", "card_number is 12 to 19 digits");
  if (expiry < 0)
    return bank_reply_bad_param (request, "card_expiry", "card_expiry is \"MM/YY\"");
  if ((strlen (cvc) != 3 && strlen (cvc) != 4) || strspn (cvc, "0123456789") != strlen (cvc))
    return bank_reply_bad_param (request, "card_cvc", "card_cvc is 3 or 4 digits");

  charge->card_last4 = g_strdup (number + strlen (number) - 4);
  if (!onepin_card_luhn_valid (number))
    return decline (request, charge, "incorrect_number", "The card number is incorrect.", error);
  bank_keys_card_lookup (bank_server_get_keys (request->server), number, charge->card_lookup);
  charge->has_card = TRUE;
  card = bank_store_card_get (store, charge->card_lookup, error);
  if (card == NULL)
    return error != NULL && *error != NULL
             ? FALSE
             : decline (request, charge, "incorrect_number", "The card number is incorrect.",
                        error);
  if (expiry > 0)
    return decline (request, charge, "expired_card", "The card has expired.", error);
  if (g_str_equal (card->behaviour, "decline"))
    return decline (request, charge, "card_declined", "The card company declined the charge.",
                    error);
  /* A bank that takes another sum than asked: the gateway must credit
   * nothing and give it back. */
  if (g_str_equal (card->behaviour, "short"))
    charge->amount = MAX (charge->amount / 2, 1);
  if (!bank_store_card_use (store, charge->card_lookup, charge->amount, &done, error))
    return FALSE;
  if (!done)
    return decline (request, charge, "insufficient_funds",
                    "The card's available credit is too low for this amount.", error);
  return approve (request, charge, g_str_equal (card->behaviour, "slow"), error);
}

/* Wrong passwords count per account; the fifth in a row locks it. */
static gboolean
check_password (BankRequest  *request,
                BankAccount  *account,
                const char   *password,
                gboolean     *ok,
                GError      **error)
{
  BankStore *store = bank_server_get_store (request->server);
  guint8 mac[32];

  bank_keys_password_mac (bank_server_get_keys (request->server), account->number, password,
                          mac);
  *ok = onepin_crypto_equal (mac, account->password_mac, 32);
  if (*ok && account->failures == 0)
    return TRUE;
  return bank_store_account_failures (store, account->number, *ok ? 0 : account->failures + 1,
                                      error);
}

static gboolean
charge_account (BankRequest  *request,
                BankCharge   *charge,
                GError      **error)
{
  BankStore *store = bank_server_get_store (request->server);
  const char *bank_code = onepin_json_get_string (request->body, "bank_code", BANK_CODE);
  const char *password = onepin_json_get_string (request->body, "account_password", NULL);
  g_autofree char *number = bank_digits (onepin_json_get_string (request->body, "account_number",
                                                                 NULL), 6, 20);
  g_autoptr(BankAccount) account = NULL;
  gboolean ok = FALSE;

  if (!g_str_equal (bank_code, BANK_CODE))
    return bank_reply_bad_param (request, "bank_code",
                                 "The sandbox debits its own accounts only (bank_code \""
                                 BANK_CODE "\")");
  if (number == NULL)
    return bank_reply_bad_param (request, "account_number", "account_number is 6 to 20 digits");
  if (password == NULL || *password == '\0' || strlen (password) > 64)
    return bank_reply_bad_param (request, "account_password",
                                 "account_password is 1 to 64 characters");

  account = bank_store_account_get (store, number, error);
  if (account == NULL)
    return error != NULL && *error != NULL
             ? FALSE
             : decline (request, charge, "invalid_credentials",
                        "The account number or password is incorrect.", error);
  charge->account_number = g_strdup (number);
  if (account->failures >= MAX_PASSWORD_FAILURES)
    return decline (request, charge, "account_locked",
                    "The account is locked after too many wrong passwords.", error);
  if (!check_password (request, account, password, &ok, error))
    return FALSE;
  if (!ok)
    return decline (request, charge, "invalid_credentials",
                    "The account number or password is incorrect.", error);
  if (!g_str_equal (account->state, "open"))
    return decline (request, charge, "account_closed", "The account is closed.", error);
  if (!bank_store_account_move (store, number, -charge->amount, &ok, error))
    return FALSE;
  if (!ok)
    return decline (request, charge, "insufficient_funds",
                    "The account's balance is too low for this amount.", error);
  return approve (request, charge, g_str_equal (account->behaviour, "slow"), error);
}

static char *
new_virtual_account (BankStore  *store,
                     GError    **error)
{
  for (int attempt = 0; attempt < 8; attempt++)
    {
      g_autofree char *token = onepin_crypto_random_token (NULL, 10);
      g_autoptr(BankCharge) taken = NULL;
      char number[15] = "7990";

      /* Ten decimal digits from twenty hex ones: each hex digit mod 10. */
      for (int i = 0; i < 10; i++)
        number[4 + i] = '0' + g_ascii_xdigit_value (token[2 * i]) % 10;
      taken = bank_store_charge_get (store, "virtual_account", number, error);
      if (taken == NULL && (error == NULL || *error == NULL))
        return g_strdup (number);
      if (error != NULL && *error != NULL)
        return NULL;
    }
  g_set_error_literal (error, BANK_STORE_ERROR, BANK_STORE_ERROR_CONFLICT,
                       "No free virtual account number");
  return NULL;
}

static gboolean
charge_transfer (BankRequest  *request,
                 BankCharge   *charge,
                 GError      **error)
{
  BankServer *server = request->server;
  const char *callback_url = onepin_json_get_string (request->body, "callback_url", NULL);

  if (callback_url != NULL && (strlen (callback_url) > 2000 || !bank_url_valid (callback_url)))
    return bank_reply_bad_param (request, "callback_url", "callback_url is an http(s) URL");

  charge->virtual_account = new_virtual_account (bank_server_get_store (server), error);
  if (charge->virtual_account == NULL)
    return FALSE;
  charge->depositor = g_strdup (onepin_json_get_string (request->body, "holder_name", NULL));
  charge->callback_url = g_strdup (callback_url);
  charge->deadline = charge->created + bank_server_get_config (server)->deposit_window;
  if (!bank_store_charge_insert (bank_server_get_store (server), charge, error))
    return FALSE;
  return bank_reply (request, 200, bank_charge_render (charge));
}

gboolean
bank_api_charges_create (BankRequest  *request,
                         GError      **error)
{
  g_autoptr(BankCharge) charge = NULL;
  const char *method;

  if (!check_common (request))
    return TRUE;

  method = onepin_json_get_string (request->body, "method", "");
  charge = g_new0 (BankCharge, 1);
  charge->id = onepin_crypto_random_token ("ch_", 12);
  charge->idempotency_key = g_strdup (request->idempotency_key);
  charge->method = g_strdup (method);
  charge->status = g_strdup ("pending");
  charge->amount = onepin_json_get_int (request->body, "amount", 0);
  charge->currency = g_strdup ("krw");
  charge->description = g_strdup (onepin_json_get_string (request->body, "description", NULL));
  charge->created = bank_server_now (request->server);

  if (g_str_equal (method, "card"))
    return charge_card (request, charge, error);
  if (g_str_equal (method, "bank_account"))
    return charge_account (request, charge, error);
  return charge_transfer (request, charge, error);
}

/* ---- reading ------------------------------------------------------------ */

static gboolean
reply_charge (BankRequest  *request,
              BankCharge   *charge,
              const char   *param,
              GError      **error)
{
  if (charge == NULL)
    {
      if (error != NULL && *error != NULL)
        return FALSE;
      return bank_reply_error (request, 404, "invalid_request_error", "resource_missing", param,
                               "No such charge.");
    }
  if (!refresh (request, charge, error))
    return FALSE;
  return bank_reply (request, 200, bank_charge_render (charge));
}

gboolean
bank_api_charges_get (BankRequest  *request,
                      GError      **error)
{
  g_autoptr(BankCharge) charge = bank_store_charge_get (bank_server_get_store (request->server),
                                                        "id", request->path_id, error);

  return reply_charge (request, charge, "id", error);
}

gboolean
bank_api_charges_find (BankRequest  *request,
                       GError      **error)
{
  const char *key = request->query ? g_hash_table_lookup (request->query, "idempotency_key")
                                   : NULL;
  g_autoptr(BankCharge) charge = NULL;

  if (key == NULL || *key == '\0')
    return bank_reply_error (request, 400, "invalid_request_error", "parameter_missing",
                             "idempotency_key", "Ask for a charge by ?idempotency_key=");
  charge = bank_store_charge_get (bank_server_get_store (request->server), "idempotency_key", key,
                                  error);
  return reply_charge (request, charge, "idempotency_key", error);
}

/* ---- void --------------------------------------------------------------- */

static const OnepinJsonField void_fields[] = {
  { "idempotency_key", ONEPIN_JSON_STRING, FALSE },
  { "charge",          ONEPIN_JSON_STRING, FALSE },
};

/* Gives an approved charge's money back to where it came from. */
static gboolean
reverse (BankRequest  *request,
         BankCharge   *charge,
         GError      **error)
{
  BankStore *store = bank_server_get_store (request->server);
  gboolean done = TRUE;

  if (charge->has_card && !bank_store_card_use (store, charge->card_lookup, -charge->amount,
                                                &done, error))
    return FALSE;
  if (charge->account_number != NULL &&
      !bank_store_account_move (store, charge->account_number, charge->amount, &done, error))
    return FALSE;
  if (!done)
    return g_set_error (error, BANK_STORE_ERROR, BANK_STORE_ERROR_FAILED,
                        "Cannot reverse charge %s", charge->id), FALSE;
  /* A transfer's money goes back to the depositor, outside this bank. */
  return TRUE;
}

gboolean
bank_api_charges_void (BankRequest  *request,
                       GError      **error)
{
  BankStore *store = bank_server_get_store (request->server);
  const char *key = onepin_json_get_string (request->body, "idempotency_key", NULL);
  const char *id = onepin_json_get_string (request->body, "charge", NULL);
  g_autoptr(BankCharge) charge = NULL;

  if (!bank_check_body (request, void_fields, G_N_ELEMENTS (void_fields)))
    return TRUE;
  if ((key == NULL) == (id == NULL))
    return bank_reply_bad_param (request, key ? "charge" : "idempotency_key",
                                 "Name the charge by exactly one of idempotency_key or charge");
  charge = bank_store_charge_get (store, key ? "idempotency_key" : "id", key ? key : id, error);
  if (charge == NULL)
    return reply_charge (request, NULL, key ? "idempotency_key" : "charge", error);
  if (!refresh (request, charge, error))
    return FALSE;

  if (g_str_equal (charge->status, "declined"))
    return bank_reply_error (request, 409, "invalid_request_error", "charge_declined", NULL,
                             "The charge was declined and took nothing; there is nothing to void.");
  if (g_str_equal (charge->status, "canceled"))
    return bank_reply (request, 200, bank_charge_render (charge));
  if (g_str_equal (charge->status, "approved") && !reverse (request, charge, error))
    return FALSE;

  g_free (charge->status);
  charge->status = g_strdup ("canceled");
  charge->canceled_at = bank_server_now (request->server);
  if (!bank_store_charge_update (store, charge, error))
    return FALSE;
  return bank_reply (request, 200, bank_charge_render (charge));
}

/* ---- the customer's deposit --------------------------------------------- */

static const OnepinJsonField deposit_fields[] = {
  { "amount",    ONEPIN_JSON_INT,    TRUE },
  { "depositor", ONEPIN_JSON_STRING, FALSE },
};

static gboolean
queue_callback (BankRequest  *request,
                BankCharge   *charge,
                GError      **error)
{
  const char *url = charge->callback_url ? charge->callback_url
                                         : bank_server_get_config (request->server)->callback_url;
  g_autoptr(JsonObject) event = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *body = NULL;
  g_autofree char *id = onepin_crypto_random_token ("evt_", 12);
  gint64 now = bank_server_now (request->server);

  if (url == NULL)
    {
      g_message ("deposit into a virtual account with no callback URL: nobody is told");
      return TRUE;
    }
  json_object_set_string_member (event, "id", id);
  json_object_set_string_member (event, "object", "event");
  json_object_set_string_member (event, "type", "charge.deposited");
  json_object_set_int_member (event, "created", now);
  json_object_set_object_member (event, "data", bank_charge_render (charge));
  node = json_node_init_object (json_node_alloc (), event);
  body = json_to_string (node, FALSE);
  request->callbacks_added = TRUE;
  return bank_store_callback_add (bank_server_get_store (request->server), charge->id, url, body,
                                  now, error);
}

gboolean
bank_api_deposit (BankRequest  *request,
                  GError      **error)
{
  BankStore *store = bank_server_get_store (request->server);
  g_autofree char *number = bank_digits (request->path_id, 6, 20);
  g_autoptr(BankCharge) charge = NULL;
  g_autofree char *message = NULL;
  gint64 amount;

  if (!bank_check_body (request, deposit_fields, G_N_ELEMENTS (deposit_fields)) ||
      !check_text (request, "depositor", 64))
    return TRUE;
  if (number != NULL)
    charge = bank_store_charge_get (store, "virtual_account", number, error);
  if (charge == NULL)
    return error != NULL && *error != NULL
             ? FALSE
             : bank_reply_error (request, 404, "invalid_request_error", "resource_missing", NULL,
                                 "No such virtual account.");
  if (!refresh (request, charge, error))
    return FALSE;
  if (g_str_equal (charge->status, "approved"))
    return bank_reply_error (request, 409, "invalid_request_error", "virtual_account_paid", NULL,
                             "This virtual account has already been paid.");
  if (!g_str_equal (charge->status, "pending"))
    return bank_reply_error (request, 409, "invalid_request_error", "virtual_account_closed", NULL,
                             "This virtual account is closed (canceled or past its deadline).");
  amount = onepin_json_get_int (request->body, "amount", 0);
  if (amount != charge->amount)
    {
      message = g_strdup_printf ("The deposit must be exactly %" G_GINT64_FORMAT " %s",
                                 charge->amount, charge->currency);
      return bank_reply_error (request, 400, "invalid_request_error", "amount_mismatch", "amount",
                               message);
    }

  g_free (charge->status);
  charge->status = g_strdup ("approved");
  charge->paid_at = bank_server_now (request->server);
  if (json_object_has_member (request->body, "depositor"))
    {
      g_free (charge->depositor);
      charge->depositor = g_strdup (onepin_json_get_string (request->body, "depositor", NULL));
    }
  if (!bank_store_charge_update (store, charge, error) ||
      !queue_callback (request, charge, error))
    return FALSE;
  return bank_reply (request, 200, bank_charge_render (charge));
}
