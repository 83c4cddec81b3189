/* gw-api-admin.c: merchants, card batches and the ledger audit
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-server-private.h"

#include <string.h>

#include "gw-site.h"
#include "onepin-text.h"

static const gint64 denominations[] = { 5000, 10000, 20000, 30000, 50000, 100000 };

/* Merchants */

typedef struct
{
  char    id[40];
  char   *name;
  char   *category;
  char   *secret_key;
  char   *webhook_secret;
  guint8  key_hash[32];
} MerchantData;

static void
merchant_data_free (gpointer data)
{
  MerchantData *merchant = data;

  g_free (merchant->name);
  g_free (merchant->category);
  g_free (merchant->secret_key);
  g_free (merchant->webhook_secret);
  g_free (merchant);
}

static gboolean
merchant_apply (GwTxn   *txn,
                GwCall  *call,
                GError **error)
{
  MerchantData *merchant = call->data;
  GString *body;

  if (!gw_ledger_create_merchant (txn, gw_server_get_ledger_config (call->server), merchant->id,
                                  merchant->name, merchant->category, merchant->key_hash,
                                  merchant->webhook_secret, error))
    return FALSE;

  body = g_string_new ("{");
  gw_json_str (body, "id", merchant->id);
  gw_json_str (body, "object", "merchant");
  gw_json_str (body, "name", merchant->name);
  gw_json_str (body, "category", merchant->category);
  gw_json_str (body, "secret_key", merchant->secret_key);
  gw_json_str (body, "webhook_secret", merchant->webhook_secret);
  gw_json_int (body, "created", txn->funcs->now (txn));
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  call->seal = TRUE;     /* the only copy of the secret key */
  return TRUE;
}

void
gw_api_admin_merchants (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "name", ONEPIN_JSON_STRING, TRUE },
    { "category", ONEPIN_JSON_STRING, FALSE },
  };
  MerchantData *merchant;
  const char *name, *category;
  g_autofree char *id = NULL;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  name = onepin_json_get_string (request->body, "name", NULL);
  category = onepin_json_get_string (request->body, "category", NULL);
  if (g_utf8_strlen (name, -1) < 1 || g_utf8_strlen (name, -1) > 255)
    return gw_request_bad_param (request, "name", "name must be 1 to 255 characters.");
  /* Both go as they are into receipts, statements, SMS, mail, webhooks and
   * the pages that card holders read: a line break would forge lines of its
   * own, a bidi override would show another merchant's name. */
  if (!onepin_text_is_display_safe (name, ONEPIN_TEXT_ONE_LINE))
    return gw_request_bad_param (request, "name",
                                 "name must not contain line breaks, control characters or "
                                 "invisible or bidirectional formatting characters.");
  if (category != NULL && strlen (category) > 64)
    return gw_request_bad_param (request, "category", "category must be at most 64 bytes.");
  if (category != NULL && !onepin_text_is_display_safe (category, ONEPIN_TEXT_ONE_LINE))
    return gw_request_bad_param (request, "category",
                                 "category must not contain line breaks, control characters or "
                                 "invisible or bidirectional formatting characters.");

  merchant = g_new0 (MerchantData, 1);
  id = onepin_crypto_random_token ("mch_", 12);
  g_strlcpy (merchant->id, id, sizeof merchant->id);
  merchant->name = g_strdup (name);
  merchant->category = g_strdup (category);
  merchant->secret_key = onepin_crypto_random_token ("sk_", 24);
  merchant->webhook_secret = onepin_crypto_random_token ("whsec_", 24);
  gw_server_hash_api_key (request->server, merchant->secret_key, merchant->key_hash);

  gw_call_submit (gw_call_new (request, merchant_apply, merchant, merchant_data_free));
}

/* Card batches */

typedef struct
{
  char    id[40];
  gint64  count;
  gint64  value;
  char    currency[4];
  char    channel[16];
  gboolean promotional;
} BatchData;

static void
issued_clear (gpointer data)
{
  GwIssuedCard *card = data;

  if (card->number != NULL)
    explicit_bzero (card->number, strlen (card->number));
  g_clear_pointer (&card->number, g_free);
}

static GString *
render_batch (const BatchData *batch,
              GArray          *cards,
              gint64           created)
{
  GString *body = g_string_sized_new (128 + cards->len * 140);

  g_string_append_c (body, '{');
  gw_json_str (body, "id", batch->id);
  gw_json_str (body, "object", "card_batch");
  gw_json_int (body, "count", batch->count);
  gw_json_int (body, "value", batch->value);
  gw_json_str (body, "currency", batch->currency);
  gw_json_str (body, "channel", batch->channel);
  if (batch->promotional)
    gw_json_bool (body, "promotional", TRUE);
  gw_json_int (body, "created", created);
  g_string_append (body, ",\"cards\":[");
  for (guint i = 0; i < cards->len; i++)
    {
      GwIssuedCard *card = &g_array_index (cards, GwIssuedCard, i);

      if (i > 0)
        g_string_append_c (body, ',');
      g_string_append_c (body, '{');
      gw_json_str (body, "id", card->id);
      gw_json_str (body, "number", card->number);
      gw_json_int (body, "balance", batch->value);
      gw_json_str (body, "currency", batch->currency);
      gw_json_str (body, "state", "sold");
      gw_json_int (body, "expires_at", card->expires_at);
      gw_json_close (body, '}');
    }
  g_string_append (body, "]}");
  return body;
}

static gboolean
batch_apply (GwTxn   *txn,
             GwCall  *call,
             GError **error)
{
  BatchData *batch = call->data;
  g_autoptr(GArray) cards = g_array_sized_new (FALSE, TRUE, sizeof (GwIssuedCard), batch->count);

  g_array_set_clear_func (cards, issued_clear);
  if (!gw_ledger_issue_batch (txn, gw_server_get_ledger_config (call->server), batch->id,
                              batch->count, batch->value, batch->currency, batch->channel, cards,
                              error))
    return FALSE;
  if (batch->promotional)
    {
      gint64 expires_at;

      /* The card site's rule: valid a short while, and a year more at each recharge. */
      if (!gw_orders_promote_batch (txn, gw_site_get_orders_config (gw_site_get (call->server)),
                                    batch->id, &expires_at, error))
        return FALSE;
      for (guint i = 0; i < cards->len; i++)
        g_array_index (cards, GwIssuedCard, i).expires_at = expires_at;
    }

  gw_call_ok (call, render_batch (batch, cards, txn->funcs->now (txn)));
  call->seal = TRUE;     /* full card numbers */
  return TRUE;
}

gboolean
gw_is_denomination (gint64 value)
{
  for (guint i = 0; i < G_N_ELEMENTS (denominations); i++)
    if (denominations[i] == value)
      return TRUE;
  return FALSE;
}

void
gw_api_admin_card_batches (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "count", ONEPIN_JSON_INT, TRUE },
    { "value", ONEPIN_JSON_INT, TRUE },
    { "currency", ONEPIN_JSON_STRING, FALSE },
    { "channel", ONEPIN_JSON_STRING, FALSE },
    { "promotional", ONEPIN_JSON_BOOL, FALSE },
  };
  static const char *channels[] = { "online", "offline", "agent", "mobile", NULL };
  BatchData *batch;
  g_autofree char *id = NULL;
  gint64 count, value;
  const char *currency, *channel;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  count = onepin_json_get_int (request->body, "count", 0);
  value = onepin_json_get_int (request->body, "value", 0);
  currency = onepin_json_get_string (request->body, "currency", "krw");
  channel = onepin_json_get_string (request->body, "channel", "online");

  if (count < 1 || count > 10000)
    return gw_request_bad_param (request, "count", "count must be from 1 to 10000.");
  if (!gw_is_denomination (value))
    return gw_request_bad_param (request, "value",
                                 "value must be one of 5000, 10000, 20000, 30000, 50000, 100000.");
  if (!g_str_equal (currency, "krw"))
    return gw_request_bad_param (request, "currency", "Cards are issued in krw only.");
  if (!g_strv_contains (channels, channel))
    return gw_request_bad_param (request, "channel",
                                 "channel must be online, offline, agent or mobile.");

  batch = g_new0 (BatchData, 1);
  id = onepin_crypto_random_token ("batch_", 12);
  g_strlcpy (batch->id, id, sizeof batch->id);
  batch->count = count;
  batch->value = value;
  g_strlcpy (batch->currency, currency, sizeof batch->currency);
  g_strlcpy (batch->channel, channel, sizeof batch->channel);
  batch->promotional = onepin_json_get_bool (request->body, "promotional", FALSE);

  gw_call_submit (gw_call_new (request, batch_apply, batch, g_free));
}

/* Audit: a full scan, so it runs on a worker thread with its own read
 * connection and holds up neither the main loop nor the writer. */

static gboolean
audit_apply (GwTxn    *txn,
             gpointer  data,
             GError  **error)
{
  return txn->funcs->audit (txn, data, error);
}

static void
audit_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  GwRequest *request = task_data;
  GwAudit *audit = g_new0 (GwAudit, 1);
  GError *error = NULL;

  if (gw_store_read (gw_server_get_store (request->server), audit_apply, audit, &error))
    g_task_return_pointer (task, audit, g_free);
  else
    {
      g_free (audit);
      g_task_return_error (task, error);
    }
}

static void
audit_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GwRequest *request = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree GwAudit *audit = g_task_propagate_pointer (G_TASK (result), &error);
  GString *body;

  if (audit == NULL)
    {
      g_warning ("audit failed: %s", error->message);
      return gw_request_error (request, 500, "api_error", "internal", NULL, "The audit failed.");
    }

  body = g_string_new ("{");
  gw_json_bool (body, "balanced", audit->balanced);
  gw_json_int (body, "total_debits", audit->total_debits);
  gw_json_int (body, "total_credits", audit->total_credits);
  gw_json_int (body, "cards_balance_total", audit->cards_balance_total);
  gw_json_int (body, "pending_holds_total", audit->pending_holds_total);
  gw_json_int (body, "unbalanced_entries", audit->unbalanced_entries);
  gw_json_int (body, "mismatched_accounts", audit->mismatched_accounts);
  gw_json_int (body, "accounts_checked", audit->accounts_checked);
  gw_json_int (body, "entries_checked", audit->entries_checked);
  gw_json_close (body, '}');
  gw_request_reply (request, 200, body);
}

void
gw_api_admin_audit (GwRequest *request)
{
  g_autoptr(GTask) task = g_task_new (NULL, NULL, audit_done, request);

  g_task_set_task_data (task, request, NULL);
  g_task_run_in_thread (task, audit_thread);
}
