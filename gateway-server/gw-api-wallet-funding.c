/* gw-api-wallet-funding.c: funding sources and charges of the e-wallet
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A funding source (a credit card, a bank account) is parsed and sealed on
 * the main thread and stored masked. A charge goes in three steps: the
 * writer records it as pending (with the funding details opened for the
 * call), the connector charges the funding source under the charge's id as
 * idempotency key, and the writer settles it: the credit to the card, the
 * client's idempotency record and the message, in one operation. An answer
 * lost on the way is settled by asking the connector before anything else,
 * by the request's retry or by the recovery sweep.
 */
#include "gw-api-wallet-private.h"

#include <string.h>

#include "gw-orders.h"
#include "onepin-card.h"
#include "onepin-contact.h"

#define CHARGE_RECOVERY_BATCH 20

typedef struct
{
  GwWalletState   *state;
  char             user_id[40];
  GwFundingSource  funding;
  char            *source_id;
} FundingOp;

static FundingOp *
funding_op_new (GwRequest *request)
{
  FundingOp *op = g_new0 (FundingOp, 1);

  op->state = gw_api_wallet_state (request->server);
  g_strlcpy (op->user_id, request->user_id, sizeof op->user_id);
  return op;
}

static void
funding_op_free (gpointer data)
{
  FundingOp *op = data;

  gw_funding_source_clear (&op->funding);
  g_free (op->source_id);
  g_free (op);
}

typedef struct
{
  const char *user_id;
  GPtrArray  *list;
} FundingList;

/* Funding sources */

static void
render_funding (GString               *out,
                const GwFundingSource *source)
{
  g_autofree char *mask = gw_api_wallet_masked (source->last4, source->digits);
  gboolean card = g_str_equal (source->type, "credit_card");

  g_string_append_c (out, '{');
  gw_json_str (out, "id", source->id);
  gw_json_str (out, "object", "funding_source");
  gw_json_str (out, "type", source->type);
  g_string_append_printf (out, ",\"%s\":{", source->type);
  if (!card)
    gw_json_str (out, "bank_code", source->bank_code);
  gw_json_str (out, "masked_number", mask);
  gw_json_str (out, "last4", source->last4);
  if (card)
    {
      gw_json_int (out, "exp_month", source->exp_month);
      gw_json_int (out, "exp_year", source->exp_year);
    }
  g_string_append_c (out, '}');
  gw_json_int (out, "created", source->created);
  g_string_append_c (out, '}');
}

void
gw_funding_input_clear (GwFundingInput *input)
{
  g_clear_pointer (&input->type, g_free);
  g_clear_pointer (&input->number, gw_api_wallet_wipe_free);
  g_clear_pointer (&input->bank_code, g_free);
  g_clear_pointer (&input->holder, g_free);
}

/* Digits only, hyphens dropped when @hyphens; NULL for anything else. */
static char *
digits_of (const char *text,
           gboolean    hyphens)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    {
      if (g_ascii_isdigit (*p))
        g_string_append_c (out, *p);
      else if (!(hyphens && *p == '-'))
        {
          gw_api_wallet_wipe (out->str);
          g_string_free (out, TRUE);
          return NULL;
        }
    }
  return g_string_free (out, FALSE);
}

static gboolean
parse_expiry (const char *expiry,
              gint64      now,
              int        *month,
              int        *year)
{
  g_autoptr(GDateTime) today = g_date_time_new_from_unix_utc (now);

  if (strlen (expiry) != 5 || expiry[2] != '/' || !g_ascii_isdigit (expiry[0]) ||
      !g_ascii_isdigit (expiry[1]) || !g_ascii_isdigit (expiry[3]) ||
      !g_ascii_isdigit (expiry[4]))
    return FALSE;
  *month = (expiry[0] - '0') * 10 + (expiry[1] - '0');
  *year = 2000 + (expiry[3] - '0') * 10 + (expiry[4] - '0');
  if (*month < 1 || *month > 12 || today == NULL)
    return FALSE;
  /* Valid through the end of its month. */
  return *year * 12 + *month >= g_date_time_get_year (today) * 12 + g_date_time_get_month (today);
}

#define REFUSE(p, c, m) (*param = (p), *code = (c), *message = (m), FALSE)

/* Checks a nested object whose fields are named @names ("type.field") in
 * errors; an unknown field is reported as @type itself. */
static gboolean
check_nested (JsonObject            *details,
              const char            *type,
              const OnepinJsonField *fields,
              const char * const    *names,
              gsize                  n_fields,
              const char           **param,
              const char           **code,
              const char           **message)
{
  g_autoptr(GError) error = NULL;
  const char *field = NULL;

  if (onepin_json_check_fields (details, fields, n_fields, &field, &error))
    return TRUE;
  *param = type;
  for (gsize i = 0; i < n_fields && field != NULL; i++)
    if (g_str_equal (fields[i].name, field))
      *param = names[i];
  if (g_error_matches (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_UNKNOWN_FIELD))
    return *code = "parameter_unknown", *message = "Unknown parameter.", FALSE;
  if (g_error_matches (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_MISSING))
    return *code = "parameter_missing", *message = "Missing required parameter.", FALSE;
  return *code = "parameter_invalid", *message = "Invalid type for parameter.", FALSE;
}

static gboolean
parse_credit_card (const GwWalletConfig  *config,
                   JsonObject            *details,
                   gint64                 now,
                   GwFundingInput        *out,
                   const char           **param,
                   const char           **code,
                   const char           **message)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
    { "expiry", ONEPIN_JSON_STRING, TRUE },
    { "holder", ONEPIN_JSON_STRING, TRUE },
  };
  static const char * const names[] = {
    "credit_card.number", "credit_card.expiry", "credit_card.holder",
  };
  const char *holder;
  char *number;
  gsize len;

  if (!check_nested (details, "credit_card", fields, names, G_N_ELEMENTS (fields), param, code,
                     message))
    return FALSE;
  number = digits_of (onepin_json_get_string (details, "number", ""), FALSE);
  len = number ? strlen (number) : 0;
  out->number = number;
  if (len < 13 || len > 19 || !onepin_card_luhn_valid (number))
    return REFUSE ("credit_card.number", "parameter_invalid",
                   "credit_card.number must be 13 to 19 digits that pass the Luhn check.");
  if (gw_wallet_is_onepin_number (config, number))
    return REFUSE ("credit_card.number", "onepin_card_not_allowed",
                   "A onepin card cannot fund a wallet. Register a credit card.");
  if (!parse_expiry (onepin_json_get_string (details, "expiry", ""), now, &out->exp_month,
                     &out->exp_year))
    return REFUSE ("credit_card.expiry", "parameter_invalid",
                   "credit_card.expiry must be MM/YY, not in the past.");
  holder = onepin_json_get_string (details, "holder", "");
  if (!onepin_contact_name_valid (holder))
    return REFUSE ("credit_card.holder", "parameter_invalid",
                   "credit_card.holder must be 1 to 100 characters.");
  out->holder = g_strdup (holder);
  return TRUE;
}

static gboolean
parse_bank_account (JsonObject      *details,
                    GwFundingInput  *out,
                    const char     **param,
                    const char     **code,
                    const char     **message)
{
  static const OnepinJsonField fields[] = {
    { "bank_code", ONEPIN_JSON_STRING, TRUE },
    { "account_number", ONEPIN_JSON_STRING, TRUE },
    { "holder", ONEPIN_JSON_STRING, TRUE },
  };
  static const char * const names[] = {
    "bank_account.bank_code", "bank_account.account_number", "bank_account.holder",
  };
  const char *bank_code, *holder;
  char *number;
  gsize len;

  if (!check_nested (details, "bank_account", fields, names, G_N_ELEMENTS (fields), param, code,
                     message))
    return FALSE;
  bank_code = onepin_json_get_string (details, "bank_code", "");
  if (strlen (bank_code) != 3 || strspn (bank_code, "0123456789") != 3)
    return REFUSE ("bank_account.bank_code", "parameter_invalid",
                   "bank_account.bank_code must be 3 digits.");
  out->bank_code = g_strdup (bank_code);
  number = digits_of (onepin_json_get_string (details, "account_number", ""), TRUE);
  len = number ? strlen (number) : 0;
  out->number = number;
  if (len < 6 || len > 20)
    return REFUSE ("bank_account.account_number", "parameter_invalid",
                   "bank_account.account_number must be 6 to 20 digits.");
  holder = onepin_json_get_string (details, "holder", "");
  if (!onepin_contact_name_valid (holder))
    return REFUSE ("bank_account.holder", "parameter_invalid",
                   "bank_account.holder must be 1 to 100 characters.");
  out->holder = g_strdup (holder);
  return TRUE;
}

gboolean
gw_api_wallet_parse_funding (const GwWalletConfig  *config,
                             JsonObject            *body,
                             gint64                 now,
                             GwFundingInput        *out,
                             const char           **param,
                             const char           **code,
                             const char           **message)
{
  static const OnepinJsonField fields[] = {
    { "type", ONEPIN_JSON_STRING, TRUE },
    { "credit_card", ONEPIN_JSON_OBJECT, FALSE },
    { "bank_account", ONEPIN_JSON_OBJECT, FALSE },
  };
  g_autoptr(GError) error = NULL;
  const char *type;
  const char *other;
  JsonObject *details;

  memset (out, 0, sizeof *out);
  if (!onepin_json_check_fields (body, fields, G_N_ELEMENTS (fields), param, &error))
    {
      if (g_error_matches (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_UNKNOWN_FIELD))
        return *param = gw_plain_word (*param), *code = "parameter_unknown",
               *message = "Unknown parameter.", FALSE;
      if (g_error_matches (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_MISSING))
        return *code = "parameter_missing", *message = "Missing required parameter.", FALSE;
      return *code = "parameter_invalid", *message = "Invalid type for parameter.", FALSE;
    }
  type = onepin_json_get_string (body, "type", "");
  if (!gw_api_wallet_one_of (type, "credit_card", "bank_account", NULL))
    return REFUSE ("type", "parameter_invalid", "type must be credit_card or bank_account.");
  other = g_str_equal (type, "credit_card") ? "bank_account" : "credit_card";
  if (json_object_has_member (body, other) && !JSON_NODE_HOLDS_NULL (json_object_get_member (body,
                                                                                           other)))
    return REFUSE (other, "parameter_invalid", "Give only the object that type names.");
  if (!json_object_has_member (body, type) || JSON_NODE_HOLDS_NULL (json_object_get_member (body,
                                                                                          type)))
    return REFUSE (type, "parameter_missing", "Missing required parameter.");

  out->type = g_strdup (type);
  details = json_object_get_object_member (body, type);
  if (g_str_equal (type, "credit_card"))
    return parse_credit_card (config, details, now, out, param, code, message);
  return parse_bank_account (details, out, param, code, message);
}

static GBytes *
seal_funding (const GwWalletConfig  *config,
              const GwFundingSource *source,
              const GwFundingInput  *input,
              GError               **error)
{
  g_autoptr(GString) json = g_string_new ("{\"number\":");
  GBytes *sealed;

  onepin_json_append_string (json, input->number);
  g_string_append (json, ",\"holder\":");
  onepin_json_append_string (json, input->holder);
  if (input->bank_code != NULL)
    {
      g_string_append (json, ",\"bank_code\":");
      onepin_json_append_string (json, input->bank_code);
    }
  else
    g_string_append_printf (json, ",\"expiry\":\"%02d/%02d\"", input->exp_month,
                            input->exp_year % 100);
  g_string_append_c (json, '}');
  sealed = gw_wallet_funding_seal (config->ledger->seal_key, source->id, source->user_id,
                                   json->str, json->len, error);
  gw_api_wallet_wipe (json->str);
  return sealed;
}

static gboolean
add_funding_apply (GwTxn   *txn,
                   GwCall  *call,
                   GError **error)
{
  FundingOp *op = call->data;
  GwWalletResult result;
  GString *body;

  op->funding.created = txn->funcs->now (txn);
  if (!gw_wallet_add_funding (txn, &op->state->config, &op->funding, &result, error))
    return FALSE;
  if (result != GW_WALLET_OK)
    return gw_api_wallet_refuse_result (call, result), TRUE;
  body = g_string_sized_new (300);
  render_funding (body, &op->funding);
  gw_api_wallet_created (call, body);
  return TRUE;
}

void
gw_api_wallet_add_funding (GwRequest *request)
{
  GwWalletState *state = gw_api_wallet_state (request->server);
  GwFundingInput input;
  const char *param = NULL, *code = NULL, *message = NULL;
  g_autofree char *id = onepin_crypto_random_token ("fs_", 12);
  g_autoptr(GError) error = NULL;
  GwFundingSource *source;
  gsize len;
  FundingOp *op;

  if (!gw_api_wallet_parse_funding (&state->config, request->body, gw_api_wallet_now (), &input,
                                    &param, &code, &message))
    {
      gw_funding_input_clear (&input);
      return gw_request_error (request, 400, "invalid_request_error", code, param, message);
    }

  op = funding_op_new (request);
  source = &op->funding;
  len = strlen (input.number);
  g_strlcpy (source->id, id, sizeof source->id);
  g_strlcpy (source->user_id, request->user_id, sizeof source->user_id);
  g_strlcpy (source->type, input.type, sizeof source->type);
  g_strlcpy (source->last4, input.number + len - 4, sizeof source->last4);
  g_strlcpy (source->bank_code, input.bank_code ? input.bank_code : "", sizeof source->bank_code);
  source->digits = len;
  source->exp_month = input.exp_month;
  source->exp_year = input.exp_year;
  gw_wallet_funding_fingerprint (state->config.ledger->lookup_key, input.type, input.number,
                                 input.bank_code, source->fingerprint);
  source->details_sealed = seal_funding (&state->config, source, &input, &error);
  gw_funding_input_clear (&input);
  if (source->details_sealed == NULL)
    {
      funding_op_free (op);
      return gw_api_wallet_read_failed (request, error);
    }
  gw_call_submit (gw_call_new (request, add_funding_apply, op, funding_op_free));
}

static gboolean
list_funding_apply (GwTxn    *txn,
                    gpointer  user_data,
                    GError  **error)
{
  FundingList *data = user_data;

  data->list = GW_WALLET_STORE (txn)->funding_list (txn, data->user_id, error);
  return data->list != NULL;
}

void
gw_api_wallet_list_funding (GwRequest *request)
{
  FundingList data = { .user_id = request->user_id };
  g_autoptr(GError) error = NULL;
  GString *body;

  if (!gw_store_read (gw_server_get_store (request->server), list_funding_apply, &data, &error))
    return gw_api_wallet_read_failed (request, error);
  body = g_string_new ("{\"object\":\"list\",\"data\":[");
  for (guint i = 0; i < data.list->len; i++)
    {
      if (i > 0)
        g_string_append_c (body, ',');
      render_funding (body, g_ptr_array_index (data.list, i));
    }
  g_string_append (body, "],\"has_more\":false}");
  g_ptr_array_unref (data.list);
  gw_request_reply (request, 200, body);
}

static gboolean
remove_funding_apply (GwTxn   *txn,
                      GwCall  *call,
                      GError **error)
{
  FundingOp *op = call->data;
  GwWalletResult result;
  GString *body;

  if (!gw_wallet_remove_funding (txn, op->user_id, op->source_id, &result, error))
    return FALSE;
  if (result == GW_WALLET_CHARGE_IN_PROGRESS)
    return gw_api_wallet_refuse_result (call, result), TRUE;
  if (result != GW_WALLET_OK)
    {
      gw_api_wallet_refuse (call, 404, "invalid_request_error", "resource_missing", "id",
                            "No such funding source.");
      return TRUE;
    }
  body = g_string_new ("{");
  gw_json_str (body, "id", op->source_id);
  gw_json_str (body, "object", "funding_source");
  gw_json_bool (body, "deleted", TRUE);
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  return TRUE;
}

void
gw_api_wallet_remove_funding (GwRequest *request)
{
  FundingOp *op = funding_op_new (request);

  op->source_id = g_strdup (request->path_id);
  gw_call_submit (gw_call_new (request, remove_funding_apply, op, funding_op_free));
}


/* Charges */

typedef enum
{
  STEP_ANSWER,                     /* the call's status and body are the answer */
  STEP_CHARGE,                     /* ask the connector to charge */
  STEP_QUERY,                      /* ask the connector what became of it */
} ChargeStep;

typedef struct
{
  GwWalletState  *state;
  GwRequest      *request;         /* NULL when the recovery sweep settles it */
  char            user_id[40];
  gboolean        keyed;           /* it has the client's Idempotency-Key, known by: */
  guint8          key_hash[32];    /* gw_server_hash_idempotency_key (), in the user's scope */
  guint8          fingerprint[32];
  guint8          bare_fingerprint[32];
  gboolean        key_claimed;     /* its key is in flight (gw_server_claim_key) */
  char            funding_source_id[40];
  gint64          amount;
  char           *cvc;
  char           *account_password;

  /* From the writer's first step */
  ChargeStep      step;
  GwWalletCharge  charge;
  char           *number;          /* the funding details, opened for the call */
  char           *expiry;
  char           *bank_code;
  char           *holder;

  /* From the connector */
  gboolean        approved;
  char           *reference;
  char            decline_code[48];
  gboolean        must_void;
  gint64          balance_after;
  gboolean        not_found;       /* a query found no record of it */
  gboolean        may_appear;      /* ... but the bank may still book it */
  gboolean        late_void;       /* failed as never seen, booked after all: voided */

  GDestroyNotify  done;            /* called when the charge is finished with */
  gpointer        done_data;
} Charge;

static void
charge_forget_secrets (Charge *charge)
{
  g_clear_pointer (&charge->cvc, gw_api_wallet_wipe_free);
  g_clear_pointer (&charge->account_password, gw_api_wallet_wipe_free);
  g_clear_pointer (&charge->number, gw_api_wallet_wipe_free);
  g_clear_pointer (&charge->expiry, g_free);
  g_clear_pointer (&charge->bank_code, g_free);
  g_clear_pointer (&charge->holder, g_free);
}

/* The end of a charge's run in this process: the user may charge again. */
static void
charge_free (Charge *charge)
{
  GwWalletState *state = charge->state;
  GDestroyNotify done = charge->done;
  gpointer done_data = charge->done_data;

  g_hash_table_remove (state->charging, charge->user_id);
  if (charge->key_claimed)
    gw_server_release_key (state->server, charge->key_hash);
  charge_forget_secrets (charge);
  gw_wallet_charge_clear (&charge->charge);
  g_free (charge->reference);
  g_free (charge);
  if (done != NULL)
    done (done_data);
}

/* Every call of a charge is unkeyed: the charge holds its key in flight
 * from the claim to charge_free (), and looks up and stores its answers
 * itself. */
static GwCall *
charge_call (Charge      *charge,
             GwCallApply  apply,
             GwCallDone   done)
{
  GwCall *call = g_new0 (GwCall, 1);

  call->server = charge->state->server;
  call->apply = apply;
  call->data = charge;
  call->done = done;
  call->done_data = charge;
  return call;
}

/* Sends @call's answer to the charge's request, if it has one. */
static void
charge_reply (Charge *charge,
              GwCall *call)
{
  GwRequest *request = charge->request;

  charge->request = NULL;
  if (request == NULL)
    return;
  if (call->replayed)
    soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                  "Idempotent-Replayed", "true");
  gw_request_reply (request, call->status, g_steal_pointer (&call->body));
}

static void
charge_reply_error (Charge     *charge,
                    guint       status,
                    const char *code,
                    const char *message)
{
  GwRequest *request = charge->request;

  charge->request = NULL;
  if (request != NULL)
    gw_request_error (request, status, "api_error", code, NULL, message);
}

static void
charge_unavailable (Charge *charge)
{
  charge_reply_error (charge, 503, "bank_unavailable",
                      "The financial system cannot be reached. Nothing was charged; try again.");
}

static void
charge_pending (Charge *charge)
{
  charge_reply_error (charge, 503, "charge_pending",
                      "The charge's outcome is not known yet. Repeat the request with the same "
                      "Idempotency-Key.");
}

/* Step 1, on the writer: replay, resume or record the charge as pending. */

static gboolean
open_funding (const GwWalletConfig   *config,
              const GwFundingSource  *source,
              Charge                 *charge,
              GError                **error)
{
  g_autoptr(GwFundingDetails) details = gw_wallet_funding_open (config->ledger->seal_key,
                                                                source->id, source->user_id,
                                                                source->details_sealed, error);

  if (details == NULL)
    return FALSE;
  charge->number = g_strdup (onepin_json_get_string (details, "number", ""));
  charge->expiry = g_strdup (onepin_json_get_string (details, "expiry", NULL));
  charge->bank_code = g_strdup (onepin_json_get_string (details, "bank_code", NULL));
  charge->holder = g_strdup (onepin_json_get_string (details, "holder", ""));
  return TRUE;
}

/* Records a refusal under the client's key, as call_apply () does for the
 * calls it runs: the same request then gets the same answer. */
static gboolean
charge_refusal_stored (GwTxn   *txn,
                       GwCall  *call,
                       Charge  *charge,
                       GError **error)
{
  charge->step = STEP_ANSWER;
  if (!charge->keyed)
    return TRUE;
  return txn->funcs->idempotency_put (txn, charge->key_hash, charge->fingerprint,
                                      call->status, call->body->str, call->body->len, FALSE,
                                      error);
}

/* The stored answer of an earlier request with the same key, if any. */
static gboolean
charge_replay (GwTxn    *txn,
               GwCall   *call,
               Charge   *charge,
               gboolean *found,
               GError  **error)
{
  GwIdempotencyRecord record = { 0 };
  GError *local = NULL;

  *found = charge->keyed &&
           txn->funcs->idempotency_get (txn, charge->key_hash, &record, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  if (!*found)
    return TRUE;

  charge->step = STEP_ANSWER;
  call->replayed = gw_server_fingerprint_matches (call->server, record.fingerprint,
                                                  charge->fingerprint, charge->bare_fingerprint);
  call->body = g_string_sized_new (256);
  if (call->replayed)
    {
      call->status = record.status;
      g_string_append_len (call->body, g_bytes_get_data (record.body, NULL),
                           g_bytes_get_size (record.body));
    }
  else
    {
      call->status = 422;
      gw_error_render (call->body, "idempotency_error", "idempotency_key_reused", NULL, NULL,
                       "This Idempotency-Key was used with other parameters.");
    }
  g_bytes_unref (record.body);
  return TRUE;
}

static gboolean
charge_check_secrets (GwCall                *call,
                      Charge                *charge,
                      const GwFundingSource *source)
{
  gboolean card = g_str_equal (source->type, "credit_card");

  if (card && charge->cvc == NULL)
    gw_api_wallet_refuse (call, 400, "invalid_request_error", "parameter_missing", "cvc",
                          "A credit card charge needs the card's cvc.");
  else if (!card && charge->account_password == NULL)
    gw_api_wallet_refuse (call, 400, "invalid_request_error", "parameter_missing",
                          "account_password", "A bank account charge needs account_password.");
  else if (card && charge->account_password != NULL)
    gw_api_wallet_refuse (call, 400, "invalid_request_error", "parameter_invalid",
                          "account_password", "account_password is for bank accounts.");
  else if (!card && charge->cvc != NULL)
    gw_api_wallet_refuse (call, 400, "invalid_request_error", "parameter_invalid", "cvc",
                          "cvc is for credit cards.");
  else
    return TRUE;
  return FALSE;
}

/* Checks a new (or retried) charge and opens its funding details; FALSE
 * in @ok means a refusal is in @call. */
static gboolean
charge_prepare (GwTxn    *txn,
                GwCall   *call,
                Charge   *charge,
                gboolean *ok,
                GError  **error)
{
  const GwWalletConfig *config = &charge->state->config;
  GwWalletUser user = { 0 };
  GwFundingSource source = { 0 };
  GwWalletResult result;
  GwCard card;
  GError *local = NULL;
  gboolean fine;

  *ok = FALSE;
  if (!GW_WALLET_STORE (txn)->user_by_id (txn, charge->user_id, &user, &local))
    return local ? (g_propagate_error (error, local), FALSE)
                 : (gw_api_wallet_refuse_result (call, GW_WALLET_NOT_FOUND), TRUE);
  fine = gw_wallet_check_charge (txn, &user, charge->amount, &card, &result, error);
  gw_wallet_user_clear (&user);
  if (!fine)
    return FALSE;
  if (result != GW_WALLET_OK)
    return gw_api_wallet_refuse_result (call, result), TRUE;

  if (!GW_WALLET_STORE (txn)->funding_get (txn, charge->funding_source_id, &source, &local) ||
      !g_str_equal (source.user_id, charge->user_id) || source.removed_at != 0)
    {
      gw_funding_source_clear (&source);
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      gw_api_wallet_refuse (call, 404, "invalid_request_error", "resource_missing",
                            "funding_source_id", "No such funding source.");
      return TRUE;
    }
  if (charge_check_secrets (call, charge, &source))
    *ok = open_funding (config, &source, charge, error);
  g_strlcpy (charge->charge.card_id, card.id, sizeof charge->charge.card_id);
  gw_funding_source_clear (&source);
  return *ok || call->body != NULL;
}

static gboolean
charge_record (GwTxn   *txn,
               Charge  *charge,
               GError **error)
{
  GwWalletCharge *row = &charge->charge;
  g_autofree char *id = onepin_crypto_random_token ("wch_", 12);

  g_strlcpy (row->id, id, sizeof row->id);
  g_strlcpy (row->user_id, charge->user_id, sizeof row->user_id);
  g_strlcpy (row->funding_source_id, charge->funding_source_id, sizeof row->funding_source_id);
  g_strlcpy (row->currency, "krw", sizeof row->currency);
  g_strlcpy (row->status, "pending", sizeof row->status);
  row->amount = charge->amount;
  row->keyed = charge->keyed;
  memcpy (row->key_hash, charge->key_hash, 32);
  memcpy (row->fingerprint, charge->fingerprint, 32);
  row->created = txn->funcs->now (txn);
  row->sent = row->created;
  charge->step = STEP_CHARGE;
  return GW_WALLET_STORE (txn)->charge_insert (txn, row, error);
}

/* The charge of this key failed as never seen, and then turned up booked
 * after all and was given back (charge_settle_watched ()): nothing was
 * credited, and the client was never told otherwise (it had 503), so its
 * retry charges again, as after any failure. Not under the same id, the
 * financial system's key of a charge it has voided: a new charge takes
 * the client's key over, and the old one keeps its record. */
static gboolean
charge_again (GwTxn   *txn,
              GwCall  *call,
              Charge  *charge,
              GError **error)
{
  gboolean ok;

  if (!GW_WALLET_STORE (txn)->charge_release_key (txn, charge->charge.id, error))
    return FALSE;
  gw_wallet_charge_clear (&charge->charge);
  memset (&charge->charge, 0, sizeof charge->charge);
  if (!charge_prepare (txn, call, charge, &ok, error))
    return FALSE;
  if (!ok)
    return charge_refusal_stored (txn, call, charge, error);
  return charge_record (txn, charge, error);
}

/* A charge of this key already exists: a retry after a lost answer or an
 * unreachable financial system. */
static gboolean
charge_resume (GwTxn   *txn,
               GwCall  *call,
               Charge  *charge,
               GError **error)
{
  GwWalletCharge *row = &charge->charge;
  gboolean ok;

  if (!gw_server_fingerprint_matches (call->server, row->fingerprint, charge->fingerprint,
                                      charge->bare_fingerprint))
    {
      call->status = 422;
      call->body = g_string_new (NULL);
      gw_error_render (call->body, "idempotency_error", "idempotency_key_reused", NULL, NULL,
                       "This Idempotency-Key was used with other parameters.");
      charge->step = STEP_ANSWER;
      return TRUE;
    }
  if (g_str_equal (row->status, "pending"))
    {
      charge->step = STEP_QUERY;     /* never charge again before asking */
      return TRUE;
    }
  if (row->voided_late > 0)
    return charge_again (txn, call, charge, error);
  if (!g_str_equal (row->status, "failed"))
    {
      /* Settled, but its answer is no longer kept under the key. */
      call->status = 422;
      call->body = g_string_new (NULL);
      gw_error_render (call->body, "idempotency_error", "idempotency_key_reused", NULL, NULL,
                       "This Idempotency-Key was already used.");
      charge->step = STEP_ANSWER;
      return TRUE;
    }

  /* Nothing happened the first time: charge again, under the same id. */
  if (!charge_prepare (txn, call, charge, &ok, error))
    return FALSE;
  if (!ok)
    return charge_refusal_stored (txn, call, charge, error);
  g_strlcpy (row->status, "pending", sizeof row->status);
  row->settled = 0;
  row->sent = txn->funcs->now (txn);
  row->watch_until = 0;           /* sent again: the system answers for both sends */
  row->watch_next = 0;
  charge->step = STEP_CHARGE;
  return GW_WALLET_STORE (txn)->charge_update (txn, row, error);
}

static gboolean
charge_begin_apply (GwTxn   *txn,
                    GwCall  *call,
                    GError **error)
{
  Charge *charge = call->data;
  GError *local = NULL;
  gboolean found, ok;

  if (!charge_replay (txn, call, charge, &found, error))
    return FALSE;
  if (found)
    return TRUE;
  if (charge->keyed &&
      GW_WALLET_STORE (txn)->charge_by_key (txn, charge->user_id, charge->key_hash,
                                            &charge->charge, &local))
    return charge_resume (txn, call, charge, error);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;

  if (!charge_prepare (txn, call, charge, &ok, error))
    return FALSE;
  if (!ok)
    return charge_refusal_stored (txn, call, charge, error);
  return charge_record (txn, charge, error);
}

/* Step 3, on the writer: settle the charge with the connector's answer. */

static void
render_charge (GString              *out,
               const GwWalletCharge *row,
               const char           *card_last4,
               gint64                balance_after)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "id", row->id);
  gw_json_str (out, "object", "wallet_charge");
  gw_json_str (out, "status", row->status);
  gw_json_int (out, "amount", row->amount);
  gw_json_str (out, "currency", row->currency);
  gw_json_str (out, "funding_source", row->funding_source_id);
  gw_json_str (out, "card_id", row->card_id);
  gw_json_str (out, "card_last4", card_last4);
  gw_json_int (out, "balance_after", balance_after);
  gw_json_int (out, "created", row->created);
  g_string_append_c (out, '}');
}

static gboolean
charge_credit (GwTxn          *txn,
               GwCall         *call,
               Charge         *charge,
               GwWalletCharge *row,
               GError        **error)
{
  GwWalletResult result;
  GwCard card;
  GString *body;

  if (!gw_wallet_credit_charge (txn, &charge->state->config, row, &charge->balance_after,
                                &result, error))
    return FALSE;
  if (result == GW_WALLET_BALANCE_LIMIT)
    {
      /* Taken from the funding source but not creditable (a refund raised the
       * card meanwhile): the charge is given back, and said so. */
      g_strlcpy (row->status, "voiding", sizeof row->status);
      charge->must_void = TRUE;
      gw_api_wallet_refuse_result (call, result);
      return TRUE;
    }
  if (result != GW_WALLET_OK)
    return g_set_error_literal (error, GW_WALLET_ERROR, GW_WALLET_ERROR_FAILED,
                                "The charge's card or user is gone"), FALSE;
  if (!txn->funcs->card_by_id (txn, row->card_id, &card, error))
    return FALSE;
  g_strlcpy (row->status, "succeeded", sizeof row->status);
  body = g_string_sized_new (300);
  render_charge (body, row, card.last4, charge->balance_after);
  gw_api_wallet_created (call, body);
  return TRUE;
}

/* The settlement's answer, under the client's key unless something else is
 * stored there already: a request on another route that took the key while
 * no process ran the charge (its claim does not outlive a restart). The
 * card is credited all the same; the key's owner is the first answer. */
static gboolean
charge_remember (GwTxn   *txn,
                 GwCall  *call,
                 Charge  *charge,
                 GError **error)
{
  GwIdempotencyRecord record = { 0 };
  GError *local = NULL;
  gboolean stored;

  if (!charge->keyed)
    return TRUE;
  stored = txn->funcs->idempotency_get (txn, charge->key_hash, &record, &local);
  g_clear_pointer (&record.body, g_bytes_unref);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return stored || gw_idempotency_remember (txn, call, charge->key_hash, charge->fingerprint,
                                            error);
}

/* A charge settled already (by another process of the same database): its
 * stored answer, if it has one. */
static gboolean
charge_settled_before (GwTxn   *txn,
                       GwCall  *call,
                       Charge  *charge,
                       GError **error)
{
  gboolean found;

  if (!charge_replay (txn, call, charge, &found, error))
    return FALSE;
  if (!found)
    return g_set_error_literal (error, GW_WALLET_ERROR, GW_WALLET_ERROR_FAILED,
                                "The charge is not pending"), FALSE;
  return TRUE;
}

/* What the system says at last about a charge failed as never seen and
 * still watched ([site] charge_watch): taken after all, it was taken for
 * nothing (the user was told it failed), so it is voided, never credited.
 * A decline ends the watch. The recovery sweep asks; no request waits. */
static gboolean
charge_settle_watched (GwTxn           *txn,
                       Charge          *charge,
                       GwWalletCharge  *row,
                       GError         **error)
{
  row->watch_until = 0;
  row->watch_next = 0;
  if (charge->approved || charge->must_void)
    {
      g_warning ("the financial system booked charge %s after it failed as never seen; "
                 "giving it back", row->id);
      g_strlcpy (row->status, "voiding", sizeof row->status);
      g_free (row->reference);
      row->reference = g_strdup (charge->reference);
      row->voided_late = txn->funcs->now (txn);
      charge->late_void = TRUE;
    }
  charge->must_void = FALSE;
  return GW_WALLET_STORE (txn)->charge_update (txn, row, error);
}

/* Unkeyed: the key has been in flight since the charge began, and the
 * money taken is credited whatever is stored under it. */
static gboolean
charge_settle_apply (GwTxn   *txn,
                     GwCall  *call,
                     GError **error)
{
  Charge *charge = call->data;
  GwWalletCharge row = { 0 };
  gboolean ok = TRUE;

  if (!GW_WALLET_STORE (txn)->charge_get (txn, charge->charge.id, &row, error))
    return FALSE;
  charge->late_void = FALSE;
  if (g_str_equal (row.status, "failed") && row.watch_until > 0)
    {
      ok = charge_settle_watched (txn, charge, &row, error);
      gw_wallet_charge_clear (&row);
      return ok;
    }
  if (!g_str_equal (row.status, "pending"))
    {
      gw_wallet_charge_clear (&row);
      charge->must_void = FALSE;      /* whoever settled it voids what must go back */
      return charge_settled_before (txn, call, charge, error);
    }
  g_free (row.reference);
  row.reference = g_strdup (charge->reference);
  row.settled = txn->funcs->now (txn);
  if (charge->approved)
    ok = charge_credit (txn, call, charge, &row, error);
  else
    {
      /* Money taken for another sum stays `voiding` until the bank gave
       * it back (the recovery sweep tries again if this void fails). */
      g_strlcpy (row.status, charge->must_void ? "voiding" : "declined", sizeof row.status);
      g_strlcpy (row.decline_code, charge->decline_code, sizeof row.decline_code);
      call->status = 402;
      call->body = g_string_new (NULL);
      gw_error_render (call->body, "card_error", "funding_declined", charge->decline_code, NULL,
                       "The financial system declined the charge.");
    }
  ok = ok && GW_WALLET_STORE (txn)->charge_update (txn, &row, error) &&
       charge_remember (txn, call, charge, error);
  gw_wallet_charge_clear (&row);
  return ok;
}

static void charge_void (Charge *charge);

static void
charge_settle_done (GwCall  *call,
                    gpointer data)
{
  Charge *charge = data;
  /* Unless the commit failed: then the charge is still pending. */
  gboolean must_void = charge->must_void && call->status == 402;
  gboolean late_void = charge->late_void && call->status < 500;

  charge_reply (charge, call);
  gw_call_free (call);
  if (late_void)
    gw_metrics_late_charge_voided (gw_server_get_metrics (charge->state->server));
  if (must_void || late_void)
    return charge_void (charge);
  charge_free (charge);
}

static void
charge_settle (Charge *charge)
{
  charge_forget_secrets (charge);
  gw_call_submit (charge_call (charge, charge_settle_apply, charge_settle_done));
}

/* A bank's books can lag its front door: a charge it took may show up in
 * its answers to queries only later. Failing it while it could still be
 * booked would leave the user charged for nothing, so "never seen" counts
 * only once the charge was last sent [site] charge_missing_after ago (a
 * charge that failed may be sent again by charge_resume ()). */
static gboolean
charge_may_still_appear (Charge               *charge,
                         const GwWalletCharge *row,
                         gint64                now)
{
  gint64 missing_after = gw_server_get_config (charge->state->server)->site_charge_missing_after;

  return charge->not_found && now - row->sent < missing_after;
}

/* Nothing was charged (the system never got it): the charge may be tried
 * again under the same key. */
static gboolean
charge_failed_apply (GwTxn   *txn,
                     GwCall  *call,
                     GError **error)
{
  Charge *charge = call->data;
  GwWalletCharge row = { 0 };
  gint64 now = txn->funcs->now (txn);
  gboolean ok = TRUE;

  if (!GW_WALLET_STORE (txn)->charge_get (txn, charge->charge.id, &row, error))
    return error == NULL || *error == NULL;
  charge->may_appear = g_str_equal (row.status, "pending") &&
                       charge_may_still_appear (charge, &row, now);
  if (g_str_equal (row.status, "pending") && !charge->may_appear)
    {
      const GwConfig *config = gw_server_get_config (charge->state->server);
      gint64 watch = config->site_charge_watch;

      g_strlcpy (row.status, "failed", sizeof row.status);
      row.settled = now;
      /* Never seen, but still asked about a while: charge_settle_watched (). */
      row.watch_until = charge->not_found && watch > 0 ? now + watch : 0;
      row.watch_next = gw_orders_watch_next (now, now, row.watch_until,
                                             config->wallet_recovery_interval);
      ok = GW_WALLET_STORE (txn)->charge_update (txn, &row, error);
    }
  gw_wallet_charge_clear (&row);
  return ok;
}

static void
charge_failed_done (GwCall  *call,
                    gpointer data)
{
  Charge *charge = data;

  gw_call_free (call);
  /* Still pending: for a retry or the recovery sweep, as when the system
   * cannot say. */
  if (charge->may_appear)
    charge_pending (charge);
  else
    charge_unavailable (charge);
  charge_free (charge);
}

static void
charge_mark_failed (Charge *charge)
{
  charge_forget_secrets (charge);
  gw_call_submit (charge_call (charge, charge_failed_apply, charge_failed_done));
}

/* Whether @row failed as never seen and is still watched: the recovery
 * sweep asks about it (charge_settle_watched ()). */
static gboolean
charge_watched (const GwWalletCharge *row)
{
  return g_str_equal (row->status, "failed") && row->watch_until > 0;
}

/* A watched charge asked about, still not booked or not answered for: the
 * next ask backs off (gw_orders_watch_next ()). Its watch began when it
 * failed (`settled`), which nothing changes while it is watched. */
static gboolean
charge_watch_asked_apply (GwTxn   *txn,
                          GwCall  *call,
                          GError **error)
{
  Charge *charge = call->data;
  GwWalletCharge row = { 0 };
  gint64 interval = gw_server_get_config (charge->state->server)->wallet_recovery_interval;
  gboolean ok = TRUE;

  if (!GW_WALLET_STORE (txn)->charge_get (txn, charge->charge.id, &row, error))
    return error == NULL || *error == NULL;
  if (charge_watched (&row) && row.watch_next > 0)
    {
      row.watch_next = gw_orders_watch_next (txn->funcs->now (txn), row.settled,
                                             row.watch_until, interval);
      ok = GW_WALLET_STORE (txn)->charge_update (txn, &row, error);
    }
  gw_wallet_charge_clear (&row);
  return ok;
}

static void
charge_watch_asked_done (GwCall  *call,
                         gpointer data)
{
  gw_call_free (call);
  charge_free (data);
}

static void
charge_watch_asked (Charge *charge)
{
  charge_forget_secrets (charge);
  gw_call_submit (charge_call (charge, charge_watch_asked_apply, charge_watch_asked_done));
}

/* Step 2: the connector */

static void charge_query (Charge *charge);

static void
charge_answer (Charge               *charge,
               const GwChargeResult *result,
               const GError         *error,
               gboolean              queried)
{
  if (result != NULL && result->status == GW_CHARGE_APPROVED)
    {
      charge->reference = g_strdup (result->reference);
      charge->approved = gw_charge_result_matches (result, charge->charge.amount,
                                                   charge->charge.currency);
      if (!charge->approved)
        {
          /* An approval of another sum credits nothing, as for orders: the
           * money goes back whole, and the client gets a decline. */
          g_warning ("the bank approved charge %s for another amount or currency; giving it back",
                     charge->charge.id);
          g_strlcpy (charge->decline_code, "do_not_honor", sizeof charge->decline_code);
          charge->must_void = TRUE;
        }
      return charge_settle (charge);
    }
  if (result != NULL && (result->status == GW_CHARGE_DECLINED ||
                         result->status == GW_CHARGE_CANCELED))
    {
      const char *code = result->decline_code ? result->decline_code : "declined";

      /* The system's code goes into our error object: only [a-z_]. */
      g_strlcpy (charge->decline_code,
                 strspn (code, "abcdefghijklmnopqrstuvwxyz_") == strlen (code) &&
                 strlen (code) < sizeof charge->decline_code ? code : "declined",
                 sizeof charge->decline_code);
      charge->reference = g_strdup (result->reference);
      return charge_settle (charge);
    }
  if (g_error_matches (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_INVALID))
    {
      g_strlcpy (charge->decline_code, "invalid_details", sizeof charge->decline_code);
      return charge_settle (charge);
    }
  /* Watched, and still never seen, or no answer: asked all the same. */
  if (queried && charge_watched (&charge->charge))
    return charge_watch_asked (charge);
  /* Nothing happened: the charge never reached the system, or the system
   * never saw its key (for a young charge, not yet: charge_failed_apply).
   * An unreachable system asked by a query tells nothing. */
  charge->not_found = queried && g_error_matches (error, GW_CONNECTOR_ERROR,
                                                  GW_CONNECTOR_ERROR_NOT_FOUND);
  if ((!queried && g_error_matches (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNAVAILABLE)) ||
      charge->not_found)
    return charge_mark_failed (charge);
  if (!queried)
    return charge_query (charge);

  /* Still unknown: it stays pending, for a retry or the recovery sweep. */
  if (error != NULL)
    g_info ("charge %s still pending: %s", charge->charge.id, error->message);
  charge_pending (charge);
  charge_free (charge);
}

static void
charge_charged (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) answer = gw_connector_charge_finish (GW_CONNECTOR (source), result,
                                                                 &error);

  charge_answer (data, answer, error, FALSE);
}

static void
charge_queried (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) answer = gw_connector_query_finish (GW_CONNECTOR (source), result,
                                                                &error);

  charge_answer (data, answer, error, TRUE);
}

static void
charge_query (Charge *charge)
{
  GwConnector *connector = gw_server_get_connector (charge->state->server);

  charge_forget_secrets (charge);
  gw_connector_query_async (connector, charge->charge.id, NULL, charge_queried, charge);
}

static void
charge_send (Charge *charge)
{
  GwConnector *connector = gw_server_get_connector (charge->state->server);
  gboolean card = charge->cvc != NULL;
  GwChargeRequest request = {
    .method = card ? GW_FUNDING_CREDIT_CARD : GW_FUNDING_BANK_ACCOUNT,
    .idempotency_key = charge->charge.id,
    .amount = charge->amount,
    .currency = "krw",
    .description = "onepin wallet charge",
    .card_number = card ? charge->number : NULL,
    .card_expiry = charge->expiry,
    .card_cvc = charge->cvc,
    .bank_code = charge->bank_code,
    .account_number = card ? NULL : charge->number,
    .account_password = charge->account_password,
    .holder_name = charge->holder,
  };

  /* The connector copies what it sends; the secrets go as soon as it answers. */
  gw_connector_charge_async (connector, &request, NULL, charge_charged, charge);
}

static void
charge_begin_done (GwCall  *call,
                   gpointer data)
{
  Charge *charge = data;

  if (call->status != 0 || charge->step == STEP_ANSWER)
    {
      charge_reply (charge, call);
      gw_call_free (call);
      return charge_free (charge);
    }
  gw_call_free (call);
  if (charge->step == STEP_QUERY)
    charge_query (charge);
  else
    charge_send (charge);
}

/* Voiding: a charge approved but refused by the card's cap, or approved
 * for another sum than asked. */

static gboolean
charge_voided_apply (GwTxn   *txn,
                     GwCall  *call,
                     GError **error)
{
  Charge *charge = call->data;
  GwWalletCharge row = { 0 };
  gboolean ok;

  if (!GW_WALLET_STORE (txn)->charge_get (txn, charge->charge.id, &row, error))
    return error == NULL || *error == NULL;
  g_strlcpy (row.status, "voided", sizeof row.status);
  ok = GW_WALLET_STORE (txn)->charge_update (txn, &row, error);
  gw_wallet_charge_clear (&row);
  return ok;
}

static void
charge_voided_done (GwCall  *call,
                    gpointer data)
{
  gw_call_free (call);
  charge_free (data);
}

static void
charge_void_answered (GObject      *source,
                      GAsyncResult *result,
                      gpointer      data)
{
  Charge *charge = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) answer = gw_connector_void_finish (GW_CONNECTOR (source), result,
                                                               &error);

  if (answer == NULL)
    {
      /* It stays "voiding"; the recovery sweep tries again. */
      g_warning ("void of charge %s failed: %s", charge->charge.id, error->message);
      return charge_free (charge);
    }
  gw_call_submit (charge_call (charge, charge_voided_apply, charge_voided_done));
}

static void
charge_void (Charge *charge)
{
  GwConnector *connector = gw_server_get_connector (charge->state->server);

  gw_connector_void_async (connector, charge->charge.id, NULL, charge_void_answered, charge);
}

/* POST /v1/wallet/charges */

static const char *
check_charge_body (JsonObject  *body,
                   const char **message)
{
  gint64 amount = onepin_json_get_int (body, "amount", 0);
  const char *currency = onepin_json_get_string (body, "currency", "krw");
  const char *cvc = onepin_json_get_string (body, "cvc", NULL);
  const char *password = onepin_json_get_string (body, "account_password", NULL);
  gsize cvc_len = cvc ? strlen (cvc) : 0;

  if (amount < GW_WALLET_CHARGE_UNIT || amount > GW_CARD_BALANCE_CAP ||
      amount % GW_WALLET_CHARGE_UNIT != 0)
    return *message = "amount must be 10,000 to 1,000,000 won in 10,000-won units.", "amount";
  if (!g_str_equal (currency, "krw"))
    return *message = "currency must be krw.", "currency";
  if (cvc != NULL && (cvc_len < 3 || cvc_len > 4 || strspn (cvc, "0123456789") != cvc_len))
    return *message = "cvc must be 3 or 4 digits.", "cvc";
  if (password != NULL && !gw_api_wallet_length_between (password, 1, 64))
    return *message = "account_password must be 1 to 64 characters.", "account_password";
  return NULL;
}

/* A 409 that passes once the running charge ends. It is never stored
 * under the key: a retry must get the final answer, and under the running
 * charge's own key the 409 would be what that charge's settlement (a keyed
 * call) found and replayed, so the card would never be credited with the
 * money taken. */
static void
charge_busy (GwRequest  *request,
             const char *type,
             const char *code,
             const char *message)
{
  g_clear_pointer (&request->idempotency_key, g_free);
  gw_request_error (request, 409, type, code, NULL, message);
}

/* One charge per user at a time, and one request per key (@key_hash, the
 * request's, in the user's scope) for as long as the charge runs: a request
 * on any route with the same key gets 409 meanwhile, so nothing else can be
 * stored where the charge's answer goes. FALSE after replying 409. */
static gboolean
charge_claim (GwWalletState *state,
              GwRequest     *request,
              const guint8   key_hash[32])
{
  if (!gw_server_claim_key (state->server, key_hash))
    {
      charge_busy (request, "idempotency_error", "idempotency_in_flight",
                   "A request with this Idempotency-Key is still in progress.");
      return FALSE;
    }
  if (g_hash_table_contains (state->charging, request->user_id))
    {
      gw_server_release_key (state->server, key_hash);
      charge_busy (request, "invalid_request_error", "charge_in_progress",
                   "Another charge of this wallet is in progress. Try again shortly.");
      return FALSE;
    }
  g_hash_table_add (state->charging, g_strdup (request->user_id));
  return TRUE;
}

void
gw_api_wallet_charge (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "funding_source_id", ONEPIN_JSON_STRING, TRUE },
    { "amount", ONEPIN_JSON_INT, TRUE },
    { "currency", ONEPIN_JSON_STRING, FALSE },
    { "cvc", ONEPIN_JSON_STRING, FALSE },
    { "account_password", ONEPIN_JSON_STRING, FALSE },
  };
  GwWalletState *state = gw_api_wallet_state (request->server);
  const char *message = NULL;
  const char *param;
  guint8 key_hash[32];
  Charge *charge;
  GwCall *call;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  if ((param = check_charge_body (request->body, &message)) != NULL)
    return gw_request_bad_param (request, param, message);
  /* Without a key, a charge whose answer was lost could only be repeated as
   * a new one: the money would be taken twice. */
  if (request->idempotency_key == NULL)
    return gw_request_error (request, 400, "invalid_request_error", "parameter_missing",
                             "Idempotency-Key", "A charge needs an Idempotency-Key header.");
  if (gw_server_get_connector (request->server) == NULL)
    return gw_request_error (request, 503, "api_error", "bank_unavailable", NULL,
                             "No financial system is configured. Nothing was charged.");
  gw_server_hash_idempotency_key (request->server, request->scope, request->idempotency_key,
                                  key_hash);
  if (!charge_claim (state, request, key_hash))
    return;

  charge = g_new0 (Charge, 1);
  charge->state = state;
  charge->request = request;
  charge->keyed = charge->key_claimed = TRUE;
  memcpy (charge->key_hash, key_hash, 32);
  g_strlcpy (charge->user_id, request->user_id, sizeof charge->user_id);
  memcpy (charge->fingerprint, request->fingerprint, 32);
  memcpy (charge->bare_fingerprint, request->bare_fingerprint, 32);
  g_strlcpy (charge->funding_source_id,
             onepin_json_get_string (request->body, "funding_source_id", ""),
             sizeof charge->funding_source_id);
  charge->amount = onepin_json_get_int (request->body, "amount", 0);
  charge->cvc = g_strdup (onepin_json_get_string (request->body, "cvc", NULL));
  charge->account_password = g_strdup (onepin_json_get_string (request->body, "account_password",
                                                               NULL));
  /* The first step's own answers (replays, refusals) are recorded by hand:
   * its call carries no key, since a pending charge has no answer yet. */
  call = charge_call (charge, charge_begin_apply, charge_begin_done);
  gw_call_submit (call);
}

/* The recovery sweep: charges whose answer was lost and nobody retried. */

typedef struct
{
  GwWalletState *state;
  gint64         age;              /* seconds a charge must be pending */
  GPtrArray     *charges;          /* GwWalletCharge * still to settle */
} Recovery;

static void recovery_next (Recovery *recovery);

static gboolean
recovery_read_apply (GwTxn    *txn,
                     gpointer  data,
                     GError  **error)
{
  Recovery *recovery = data;
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GPtrArray) watched = NULL;

  /* A charge running in this process is skipped (state->charging); the
   * age leaves one running in another process to its own request. */
  ids = GW_WALLET_STORE (txn)->charges_open (txn, txn->funcs->now (txn) - recovery->age,
                                             CHARGE_RECOVERY_BATCH, error);
  if (ids == NULL)
    return FALSE;
  /* And those failed as never seen, still watched in case the system
   * books them late (charge_settle_watched ()). */
  watched = GW_WALLET_STORE (txn)->charges_watched (txn, txn->funcs->now (txn),
                                                    CHARGE_RECOVERY_BATCH, error);
  if (watched == NULL)
    return FALSE;
  g_ptr_array_extend_and_steal (ids, g_steal_pointer (&watched));
  for (guint i = 0; i < ids->len; i++)
    {
      GwWalletCharge *row = g_new0 (GwWalletCharge, 1);

      g_ptr_array_add (recovery->charges, row);
      if (!GW_WALLET_STORE (txn)->charge_get (txn, g_ptr_array_index (ids, i), row, error) &&
          error != NULL && *error != NULL)
        return FALSE;
    }
  return TRUE;
}

/* Charges reach this (and recovery_next) from their last callback. */
static void
recovery_charge_finished (gpointer data)
{
  recovery_next (data);
}

static void
recovery_finish (Recovery *recovery)
{
  recovery->state->recovering = FALSE;
  g_ptr_array_unref (recovery->charges);
  g_free (recovery);
}

static void
recovery_next (Recovery *recovery)
{
  GwWalletState *state = recovery->state;

  while (recovery->charges->len > 0)
    {
      GwWalletCharge *row = g_ptr_array_steal_index (recovery->charges, 0);
      Charge *charge;

      /* A request with the charge's key in flight: the next round. */
      if (gw_server_is_draining (state->server) || row->id[0] == '\0' ||
          g_hash_table_contains (state->charging, row->user_id) ||
          (row->keyed && !gw_server_claim_key (state->server, row->key_hash)))
        {
          gw_wallet_charge_free (row);
          continue;
        }
      charge = g_new0 (Charge, 1);
      charge->state = state;
      charge->done = recovery_charge_finished;
      charge->done_data = recovery;
      g_strlcpy (charge->user_id, row->user_id, sizeof charge->user_id);
      charge->keyed = row->keyed;
      memcpy (charge->key_hash, row->key_hash, 32);
      memcpy (charge->fingerprint, row->fingerprint, 32);
      charge->charge = *row;
      g_free (row);                   /* its strings now belong to the charge */
      charge->amount = charge->charge.amount;
      g_hash_table_add (state->charging, g_strdup (charge->user_id));
      charge->key_claimed = charge->keyed;
      if (g_str_equal (charge->charge.status, "voiding"))
        return charge_void (charge);
      return charge_query (charge);
    }
  recovery_finish (recovery);
}

static gboolean
recovery_tick (gpointer data)
{
  GwWalletState *state = data;
  g_autoptr(GError) error = NULL;
  Recovery *recovery;

  if (state->recovering || gw_server_is_draining (state->server) ||
      gw_server_get_connector (state->server) == NULL)
    return G_SOURCE_CONTINUE;

  recovery = g_new0 (Recovery, 1);
  recovery->state = state;
  recovery->age = gw_server_get_config (state->server)->wallet_recovery_interval;
  recovery->charges = g_ptr_array_new_with_free_func ((GDestroyNotify) gw_wallet_charge_free);
  if (!gw_store_read (gw_server_get_store (state->server), recovery_read_apply, recovery, &error))
    {
      g_warning ("reading open charges failed: %s", error->message);
      recovery_finish (recovery);
      return G_SOURCE_CONTINUE;
    }
  state->recovering = TRUE;
  recovery_next (recovery);
  return G_SOURCE_CONTINUE;
}

void
gw_api_wallet_start_recovery (GwServer *server)
{
  GwWalletState *state = gw_api_wallet_state (server);
  guint interval = gw_server_get_config (server)->wallet_recovery_interval;

  if (state->recovery_source == 0)
    state->recovery_source = g_timeout_add_seconds (interval, recovery_tick, state);
}
