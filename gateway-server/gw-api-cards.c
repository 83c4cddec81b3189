/* gw-api-cards.c: what a card holder can do with a number and a password
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every one of these goes through the writer, even the reads: a wrong
 * password is counted towards the card's lockout, and that count is a write.
 * The number and password are reduced to keyed hashes before they leave the
 * main thread.
 */
#include "gw-api-wallet-private.h"
#include "gw-orders.h"
#include "gw-notify.h"
#include "gw-phone.h"
#include "gw-receipts.h"
#include "gw-server-private.h"
#include "gw-site.h"
#include "gw-wallet.h"

#include <string.h>

/* A card's hint is e-mailed at most once in this many seconds. */
#define HINT_INTERVAL (10 * 60)

typedef struct
{
  GwCredentials credentials;
  char         *new_password;
  char         *hint;
  char         *locale;          /* register: the language it is registered in */
  guint         limit;
  gint64        starting_after;
  gint64        after_account;   /* the account starting_after's line is on */
  gboolean      hint_throttled;  /* its hint was asked for less than HINT_INTERVAL ago */
} CardData;

static void
card_data_free (gpointer data)
{
  CardData *card = data;

  if (card->new_password != NULL)
    explicit_bzero (card->new_password, strlen (card->new_password));
  g_free (card->new_password);
  explicit_bzero (&card->credentials, sizeof card->credentials);
  g_free (card->hint);
  g_free (card->locale);
  g_free (card);
}

/* Checks the body and derives the credentials; FALSE after replying 400. */
static CardData *
card_data_new (GwRequest             *request,
               const OnepinJsonField *fields,
               gsize                  n_fields)
{
  GwCredentials credentials;
  CardData *card;
  const char *hint;

  gw_ledger_credentials (gw_server_get_ledger_config (request->server),
                         onepin_json_get_string (request->body, "number", ""),
                         onepin_json_get_string (request->body, "password", ""),
                         &credentials);
  /* register and password take keys: a retry is the card's own, refusals
   * of its fields included */
  gw_request_scope_to_card (request, &credentials);
  if (!gw_request_check_body (request, fields, n_fields))
    goto refused;
  hint = onepin_json_get_string (request->body, "hint", NULL);
  if (hint != NULL && !gw_ledger_hint_valid (hint))
    {
      gw_request_bad_param (request, "hint", "hint must be at most 100 characters.");
      goto refused;
    }

  card = g_new0 (CardData, 1);
  card->hint = g_strdup (hint);
  card->credentials = credentials;
  explicit_bzero (&credentials, sizeof credentials);
  return card;

refused:
  explicit_bzero (&credentials, sizeof credentials);
  return NULL;
}

static void
render_card (GString      *body,
             const GwCard *card,
             gint64        now)
{
  gw_json_str (body, "card_id", card->id);
  gw_json_str (body, "card_last4", card->last4);
  gw_json_str (body, "state", gw_card_display_state (card, now));
}

static gboolean
card_state_reply (GwCall       *call,
                  const GwCard *card,
                  gint64        now)
{
  GString *body = g_string_new ("{");

  render_card (body, card, now);
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  return TRUE;
}

/* Register: the "For user" step */

static gboolean
register_apply (GwTxn   *txn,
                GwCall  *call,
                GError **error)
{
  CardData *data = call->data;
  GwCard card;
  GwOrdersOutcome outcome;

  if (!gw_orders_register_card (txn, gw_server_get_ledger_config (call->server),
                                &data->credentials, data->hint, &card, &outcome, error))
    return FALSE;
  if (outcome.result != GW_ORDERS_OK)
    return gw_site_outcome_error (gw_site_get (call->server), call, &outcome), TRUE;
  if (!gw_card_profile_first_locale (txn, gw_server_get_ledger_config (call->server)->seal_key,
                                     card.id, data->locale, error))
    return FALSE;
  return card_state_reply (call, &card, txn->funcs->now (txn));
}

void
gw_api_cards_register (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
    { "hint", ONEPIN_JSON_STRING, FALSE },
    { "locale", ONEPIN_JSON_STRING, FALSE },
  };
  CardData *card = card_data_new (request, fields, G_N_ELEMENTS (fields));
  const char *locale;

  if (card == NULL)
    return;
  if (!gw_ledger_password_valid (onepin_json_get_string (request->body, "password", "")))
    {
      card_data_free (card);
      return gw_request_bad_param (request, "password", "password must be 4 to 64 characters.");
    }
  locale = onepin_json_get_string (request->body, "locale", NULL);
  if (locale != NULL && !g_str_equal (locale, "ko") && !g_str_equal (locale, "en"))
    {
      card_data_free (card);
      return gw_request_bad_param (request, "locale", "locale must be ko or en.");
    }
  card->locale = g_strdup (locale);
  gw_call_submit (gw_call_new (request, register_apply, card, card_data_free));
}

/* Password change */

static gboolean
password_apply (GwTxn   *txn,
                GwCall  *call,
                GError **error)
{
  CardData *data = call->data;
  const GwLedgerConfig *config = gw_server_get_ledger_config (call->server);
  GwCard card;
  GwOutcome outcome;
  gboolean wallet_card;

  if (!gw_ledger_authenticate_usable (txn, config, &data->credentials, &card, &outcome, error))
    return FALSE;
  if (outcome.code != GW_RESULT_OK)
    return gw_call_fail (call, &outcome, NULL), TRUE;
  /* Every mall it paid at has seen a wallet card's number and password:
   * those must not be enough to take the card from its wallet. */
  if (!gw_wallet_owns_card (txn, card.id, &wallet_card, error))
    return FALSE;
  if (wallet_card)
    return gw_api_wallet_refuse (call, 409, "invalid_request_error", "card_managed_by_wallet",
                                 NULL, "This card's password is changed in its wallet."), TRUE;
  if (!gw_ledger_set_password (txn, config, &card, data->credentials.lookup, data->new_password,
                               data->hint, error) ||
      !gw_phone_forget_calling_numbers (txn, card.id, error))
    return FALSE;
  return card_state_reply (call, &card, txn->funcs->now (txn));
}

void
gw_api_cards_password (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
    { "new_password", ONEPIN_JSON_STRING, TRUE },
    { "hint", ONEPIN_JSON_STRING, FALSE },
  };
  CardData *card = card_data_new (request, fields, G_N_ELEMENTS (fields));
  const char *new_password;

  if (card == NULL)
    return;
  new_password = onepin_json_get_string (request->body, "new_password", "");
  if (!gw_ledger_password_valid (new_password))
    {
      card_data_free (card);
      return gw_request_bad_param (request, "new_password",
                                   "new_password must be 4 to 64 characters.");
    }
  card->new_password = g_strdup (new_password);
  gw_call_submit (gw_call_new (request, password_apply, card, card_data_free));
}

/* Balance */

static void
render_balance (GString      *body,
                const GwCard *card,
                gint64        now)
{
  render_card (body, card, now);
  gw_json_int (body, "balance", card->balance);
  gw_json_int (body, "available", card->balance - card->held);
  gw_json_str (body, "currency", card->currency);
  gw_json_int (body, "expires_at", card->expires_at);
  gw_json_int (body, "points", card->points);
}

static gboolean
balance_apply (GwTxn   *txn,
               GwCall  *call,
               GError **error)
{
  CardData *data = call->data;
  GwCard card;
  GwOutcome outcome;
  GString *body;

  if (!gw_ledger_authenticate (txn, gw_server_get_ledger_config (call->server),
                               &data->credentials, &card, &outcome, error))
    return FALSE;
  if (outcome.code != GW_RESULT_OK)
    return gw_call_fail (call, &outcome, NULL), TRUE;

  body = g_string_new ("{");
  render_balance (body, &card, txn->funcs->now (txn));
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  return TRUE;
}

void
gw_api_cards_balance (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
  };
  CardData *card = card_data_new (request, fields, G_N_ELEMENTS (fields));

  if (card != NULL)
    gw_call_submit (gw_call_new (request, balance_apply, card, card_data_free));
}

/* Password hint: "for recalling the password when forgotten" (FIG. 10E).
 * With the number alone, so the hint never appears in an answer: it goes to
 * the e-mail address of the card's profile, which only someone who knew the
 * password could set. Every number gets the same answer, and every request
 * counts against the address as a wrong password does, so the route is no
 * way to learn whether a number exists or has a hint or an address. */

static gboolean
queue_hint_email (GwTxn        *txn,
                  OnepinKey    *seal_key,
                  const GwCard *card,
                  const char   *hint,
                  GError      **error)
{
  g_auto(GwCardProfile) profile = { 0 };
  g_autoptr(GError) unreadable = NULL;
  g_autoptr(GString) data = g_string_new ("{\"card_last4\":");
  gboolean ok;

  /* Like a receipt: a profile that cannot be opened sends nothing, and the
   * answer stays the one every number gets. */
  if (!gw_card_profile_get (txn, seal_key, card->id, &profile, &unreadable))
    {
      g_warning ("password hint for %s not sent: the card's contact cannot be opened: %s",
                 card->id, unreadable->message);
      return TRUE;
    }
  if (profile.email == NULL)
    return TRUE;
  onepin_json_append_string (data, card->last4);
  g_string_append (data, ",\"hint\":");
  onepin_json_append_string (data, hint);
  g_string_append_c (data, '}');
  ok = gw_notify_enqueue (txn, &(GwNotification) {
                            GW_NOTIFY_EMAIL, profile.email, profile.locale, "password_hint",
                            data->str, card->id },
                          error);
  explicit_bzero (data->str, data->len);
  return ok;
}

static gboolean
hint_apply (GwTxn   *txn,
            GwCall  *call,
            GError **error)
{
  const GwLedgerConfig *config = gw_server_get_ledger_config (call->server);
  CardData *data = call->data;
  g_autofree char *hint = NULL;
  GString *body;
  GwCard card;

  if (!data->hint_throttled)
    {
      gboolean ok;

      if (!gw_ledger_card_hint (txn, config, &data->credentials, &card, &hint, error))
        return FALSE;
      ok = hint == NULL || hint[0] == '\0' ||
           queue_hint_email (txn, config->seal_key, &card, hint, error);
      if (hint != NULL)
        explicit_bzero (hint, strlen (hint));
      if (!ok)
        return FALSE;
    }

  body = g_string_new ("{");
  gw_json_str (body, "object", "password_hint");
  gw_json_str (body, "status", "requested");
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  call->status = 202;
  return TRUE;
}

/* When each card's hint (by its number's lookup hash) was last asked for:
 * on the main thread, kept with the server; lost on a restart, which only
 * allows one more e-mail. */
static gboolean
hint_recently_asked (GwRequest           *request,
                     const GwCredentials *credentials)
{
  GHashTable *asked = g_object_get_data (G_OBJECT (request->server), "gw-cards-hint-asked");
  gint64 now = g_get_monotonic_time () / G_USEC_PER_SEC;
  g_autofree char *key = g_base64_encode (credentials->lookup, sizeof credentials->lookup);
  gpointer last;

  if (asked == NULL)
    {
      asked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_object_set_data_full (G_OBJECT (request->server), "gw-cards-hint-asked", asked,
                              (GDestroyNotify) g_hash_table_unref);
    }
  if (g_hash_table_lookup_extended (asked, key, NULL, &last) &&
      now - GPOINTER_TO_SIZE (last) < HINT_INTERVAL)
    return TRUE;
  /* Keep it small: forget what is past the interval now and then. */
  if (g_hash_table_size (asked) >= 4096)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, asked);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (now - GPOINTER_TO_SIZE (value) >= HINT_INTERVAL)
          g_hash_table_iter_remove (&iter);
    }
  g_hash_table_replace (asked, g_steal_pointer (&key), GSIZE_TO_POINTER (now));
  return FALSE;
}

void
gw_api_cards_hint (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
  };
  CardData *card = card_data_new (request, fields, G_N_ELEMENTS (fields));
  GwCall *call;

  if (card == NULL)
    return;
  card->hint_throttled = card->credentials.well_formed &&
                         hint_recently_asked (request, &card->credentials);
  call = gw_call_new (request, hint_apply, card, card_data_free);
  call->counts_as_failure = TRUE;
  gw_call_submit (call);
}

/* Statement: the usage inquiry of FIG. 10H and 10I */

static gint64
total (GHashTable *sums,
       const char *kind,
       const char *channel)
{
  GHashTableIter iter;
  gpointer key, value;
  gint64 sum = 0;
  g_autofree char *prefix = g_strconcat (kind, ":", channel, NULL);

  g_hash_table_iter_init (&iter, sums);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (channel != NULL ? g_str_equal (key, prefix) : g_str_has_prefix (key, kind))
      sum += *(gint64 *) value;
  return sum;
}

static void
render_summary (GString      *body,
                const GwCard *card,
                GHashTable   *sums,
                gint64        now)
{
  static const char *channels[] = {
    "internet", "telephone", "telephone_information", "prepaid_mobile", "foreign",
  };

  g_string_append (body, "\"summary\":{");
  gw_json_str (body, "state", gw_card_display_state (card, now));
  gw_json_int (body, "initial_amount", card->initial_value);
  gw_json_int (body, "total_recharged", total (sums, "recharge", NULL));
  gw_json_int (body, "total_refunded", total (sums, "refund", NULL));
  g_string_append (body, ",\"total_paid\":{");
  for (guint i = 0; i < G_N_ELEMENTS (channels); i++)
    gw_json_int (body, channels[i], -total (sums, "payment", channels[i]));
  g_string_append_c (body, '}');
  /* Balance refunds to a bank account, net of payouts the bank refused. */
  gw_json_int (body, "total_paid_out", -total (sums, "payout", NULL));
  gw_json_int (body, "balance", card->balance);
  gw_json_int (body, "available", card->balance - card->held);
  gw_json_str (body, "currency", card->currency);
  gw_json_int (body, "issued_at", card->created);
  gw_json_int (body, "expires_at", card->expires_at);
  gw_json_int (body, "points", card->points);
  g_string_append_c (body, '}');
}

static void
render_line (GString               *body,
             const GwLedgerConfig  *config,
             gint64                 account_id,
             const GwStatementLine *line)
{
  char id[GW_LINE_ID_LEN + 1];

  gw_ledger_line_id (config, account_id, line->id, id);
  g_string_append_c (body, '{');
  gw_json_str (body, "id", id);
  gw_json_str (body, "object", "statement_line");
  gw_json_str (body, "type", line->kind);
  gw_json_str (body, "channel", line->channel[0] ? line->channel : NULL);
  gw_json_int (body, "amount", line->amount);
  gw_json_int (body, "balance_after", line->balance_after);
  gw_json_str (body, "description", line->description);
  gw_json_str (body, "merchant", line->merchant_id[0] ? line->merchant_id : NULL);
  gw_json_str (body, "merchant_name", line->merchant_name);
  gw_json_str (body, "payment", line->payment_id[0] ? line->payment_id : NULL);
  gw_json_str (body, "refund", g_str_has_prefix (line->ref, "re_") ? line->ref : NULL);
  gw_json_int (body, "created", line->created);
  g_string_append_c (body, '}');
}

static gboolean
statement_apply (GwTxn   *txn,
                 GwCall  *call,
                 GError **error)
{
  CardData *data = call->data;
  GwCard card;
  GwOutcome outcome;
  g_autoptr(GArray) lines = NULL;
  g_autoptr(GHashTable) sums = NULL;
  GString *body;
  gboolean has_more;

  /* A closed card's holder still reads its history, the refund included. */
  if (!gw_ledger_authenticate_reader (txn, gw_server_get_ledger_config (call->server),
                                      &data->credentials, &card, &outcome, error))
    return FALSE;
  if (outcome.code != GW_RESULT_OK)
    return gw_call_fail (call, &outcome, NULL), TRUE;
  if (data->after_account != 0 && data->after_account != card.account_id)
    {
      call->status = 400;
      call->body = g_string_new (NULL);
      gw_error_render (call->body, "invalid_request_error", "parameter_invalid", NULL,
                       "starting_after", "starting_after must be a line of this card's statement.");
      return TRUE;
    }

  lines = txn->funcs->statement (txn, card.account_id, data->starting_after, data->limit + 1,
                                 error);
  sums = lines ? txn->funcs->account_totals (txn, card.account_id, error) : NULL;
  if (sums == NULL)
    return FALSE;
  has_more = lines->len > data->limit;

  body = g_string_new ("{\"object\":\"list\",");
  render_summary (body, &card, sums, txn->funcs->now (txn));
  g_string_append (body, ",\"data\":[");
  for (guint i = 0; i < MIN (lines->len, data->limit); i++)
    {
      if (i > 0)
        g_string_append_c (body, ',');
      render_line (body, gw_server_get_ledger_config (call->server), card.account_id,
                   &g_array_index (lines, GwStatementLine, i));
    }
  g_string_append_c (body, ']');
  gw_json_bool (body, "has_more", has_more);
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  return TRUE;
}

void
gw_api_cards_statement (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
    { "limit", ONEPIN_JSON_INT, FALSE },
    { "starting_after", ONEPIN_JSON_STRING, FALSE },
  };
  CardData *card;
  gint64 limit;
  const char *after;
  gint64 line_id = 0, account_id = 0;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  limit = onepin_json_get_int (request->body, "limit", 20);
  after = onepin_json_get_string (request->body, "starting_after", NULL);
  if (limit < 1 || limit > 100)
    return gw_request_bad_param (request, "limit", "limit must be from 1 to 100.");
  if (after != NULL &&
      !gw_ledger_line_id_parse (gw_server_get_ledger_config (request->server), after,
                                &account_id, &line_id))
    return gw_request_bad_param (request, "starting_after",
                                 "starting_after must be a line of this card's statement.");

  card = card_data_new (request, fields, G_N_ELEMENTS (fields));
  if (card == NULL)
    return;
  card->limit = limit;
  card->starting_after = line_id;
  card->after_account = account_id;
  gw_call_submit (gw_call_new (request, statement_apply, card, card_data_free));
}
