/* bank-api-payouts.c: payouts to bank accounts, and the sandbox accounts
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A payout to one of the sandbox's own accounts (bank code 990) credits
 * it, so a test can see the money arrive; to any other bank it is accepted
 * as sent. The sandbox pays out of an unlimited float.
 */
#include "bank-server-private.h"

#include <string.h>

static const OnepinJsonField payout_fields[] = {
  { "amount",         ONEPIN_JSON_INT,    TRUE },
  { "currency",       ONEPIN_JSON_STRING, TRUE },
  { "bank_code",      ONEPIN_JSON_STRING, TRUE },
  { "account_number", ONEPIN_JSON_STRING, TRUE },
  { "holder_name",    ONEPIN_JSON_STRING, FALSE },
  { "description",    ONEPIN_JSON_STRING, FALSE },
};

static JsonObject *
render_payout (const BankPayout *p)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "id", p->id);
  json_object_set_string_member (o, "object", "payout");
  json_object_set_string_member (o, "idempotency_key", p->idempotency_key);
  json_object_set_string_member (o, "status", p->status);
  json_object_set_int_member (o, "amount", p->amount);
  json_object_set_string_member (o, "currency", p->currency);
  json_object_set_string_member (o, "bank_code", p->bank_code);
  json_object_set_string_member (o, "account_last4", p->account_last4);
  if (p->holder_name != NULL)
    json_object_set_string_member (o, "holder_name", p->holder_name);
  if (p->description != NULL)
    json_object_set_string_member (o, "description", p->description);
  if (p->decline_code != NULL)
    json_object_set_string_member (o, "decline_code", p->decline_code);
  json_object_set_int_member (o, "created", p->created);
  return o;
}

static gboolean
check_payout (BankRequest *request)
{
  const char *bank_code = onepin_json_get_string (request->body, "bank_code", "");
  const char *holder = onepin_json_get_string (request->body, "holder_name", NULL);
  const char *description = onepin_json_get_string (request->body, "description", NULL);
  gint64 amount = onepin_json_get_int (request->body, "amount", 0);

  if (!bank_check_body (request, payout_fields, G_N_ELEMENTS (payout_fields)))
    return FALSE;
  if (amount < 1 || amount > 1000000000)
    return !bank_reply_bad_param (request, "amount", "amount is an integer from 1 to 1000000000");
  if (!g_str_equal (onepin_json_get_string (request->body, "currency", ""), "krw"))
    return !bank_reply_bad_param (request, "currency",
                                  "The sandbox bank pays Korean won only: currency is \"krw\"");
  if (strlen (bank_code) != 3 || strspn (bank_code, "0123456789") != 3)
    return !bank_reply_bad_param (request, "bank_code", "bank_code is 3 digits");
  if (holder != NULL && g_utf8_strlen (holder, -1) > 64)
    return !bank_reply_bad_param (request, "holder_name", "holder_name is at most 64 characters");
  if (description != NULL && g_utf8_strlen (description, -1) > 200)
    return !bank_reply_bad_param (request, "description",
                                  "description is at most 200 characters");
  return TRUE;
}

/* Credits a sandbox account; sets *@decline when it cannot take money. */
static gboolean
credit_own_account (BankRequest  *request,
                    const char   *number,
                    gint64        amount,
                    const char  **decline,
                    GError      **error)
{
  BankStore *store = bank_server_get_store (request->server);
  g_autoptr(BankAccount) account = bank_store_account_get (store, number, error);
  gboolean done = FALSE;

  if (account == NULL)
    {
      *decline = "account_invalid";
      return error == NULL || *error == NULL;
    }
  if (!g_str_equal (account->state, "open"))
    {
      *decline = "account_closed";
      return TRUE;
    }
  if (!bank_store_account_move (store, number, amount, &done, error))
    return FALSE;
  if (!done)
    return g_set_error (error, BANK_STORE_ERROR, BANK_STORE_ERROR_FAILED,
                        "Cannot credit an account"), FALSE;
  return TRUE;
}

gboolean
bank_api_payouts_create (BankRequest  *request,
                         GError      **error)
{
  g_autoptr(BankPayout) payout = NULL;
  g_autofree char *number = NULL;
  const char *decline = NULL;

  if (!check_payout (request))
    return TRUE;
  number = bank_digits (onepin_json_get_string (request->body, "account_number", NULL), 6, 20);
  if (number == NULL)
    return bank_reply_bad_param (request, "account_number", "account_number is 6 to 20 digits");

  payout = g_new0 (BankPayout, 1);
  payout->id = onepin_crypto_random_token ("po_", 12);
  payout->idempotency_key = g_strdup (request->idempotency_key);
  payout->amount = onepin_json_get_int (request->body, "amount", 0);
  payout->currency = g_strdup ("krw");
  payout->bank_code = g_strdup (onepin_json_get_string (request->body, "bank_code", NULL));
  payout->account_last4 = g_strdup (number + strlen (number) - 4);
  payout->holder_name = g_strdup (onepin_json_get_string (request->body, "holder_name", NULL));
  payout->description = g_strdup (onepin_json_get_string (request->body, "description", NULL));
  payout->created = bank_server_now (request->server);

  if (g_str_equal (payout->bank_code, BANK_CODE) &&
      !credit_own_account (request, number, payout->amount, &decline, error))
    return FALSE;
  payout->status = g_strdup (decline ? "declined" : "paid");
  payout->decline_code = g_strdup (decline);
  if (!bank_store_payout_insert (bank_server_get_store (request->server), payout, error))
    return FALSE;
  if (decline != NULL)
    return bank_reply_decline (request, decline,
                               g_str_equal (decline, "account_closed")
                                 ? "The receiving account is closed."
                                 : "The receiving account does not exist.");
  return bank_reply (request, 200, render_payout (payout));
}

gboolean
bank_api_payouts_find (BankRequest  *request,
                       GError      **error)
{
  const char *key = request->query ? g_hash_table_lookup (request->query, "idempotency_key")
                                   : NULL;
  g_autoptr(BankPayout) payout = NULL;

  if (key == NULL || *key == '\0')
    return bank_reply_error (request, 400, "invalid_request_error", "parameter_missing",
                             "idempotency_key", "Ask for a payout by ?idempotency_key=");
  payout = bank_store_payout_get (bank_server_get_store (request->server), "idempotency_key",
                                  key, error);
  if (payout == NULL)
    return error != NULL && *error != NULL
             ? FALSE
             : bank_reply_error (request, 404, "invalid_request_error", "resource_missing",
                                 "idempotency_key", "No such payout.");
  return bank_reply (request, 200, render_payout (payout));
}

gboolean
bank_api_accounts_get (BankRequest  *request,
                       GError      **error)
{
  g_autofree char *number = bank_digits (request->path_id, 6, 20);
  g_autoptr(BankAccount) account = NULL;
  JsonObject *o;

  if (number != NULL)
    account = bank_store_account_get (bank_server_get_store (request->server), number, error);
  if (account == NULL)
    return error != NULL && *error != NULL
             ? FALSE
             : bank_reply_error (request, 404, "invalid_request_error", "resource_missing", "id",
                                 "No such account.");
  o = json_object_new ();
  json_object_set_string_member (o, "object", "account");
  json_object_set_string_member (o, "bank_code", BANK_CODE);
  json_object_set_string_member (o, "bank_name", BANK_NAME);
  json_object_set_string_member (o, "number", account->number);
  json_object_set_string_member (o, "holder", account->holder);
  json_object_set_int_member (o, "balance", account->balance);
  json_object_set_string_member (o, "currency", "krw");
  json_object_set_string_member (o, "state", account->failures >= 5 ? "locked" : account->state);
  return bank_reply (request, 200, o);
}
