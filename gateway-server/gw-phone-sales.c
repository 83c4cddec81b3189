/* gw-phone-sales.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-phone-sales.h"

#include <string.h>

#include "onepin-card.h"

#define CALL(txn, fn, ...) ((txn)->funcs->fn ((txn), __VA_ARGS__))
#define NOW(txn) ((txn)->funcs->now (txn))
#define PHONE(txn) ((const GwPhoneStoreFuncs *) gw_txn_extension ((txn), "phone"))

static gboolean
record_sale (GwTxn       *txn,
             const char  *sale_id,
             const char  *operator_id,
             const char  *kind,
             const char  *card_id,
             gint64       amount,
             GError     **error)
{
  GwPhoneSale sale = { .amount = amount, .created = NOW (txn) };

  g_strlcpy (sale.id, sale_id, sizeof sale.id);
  g_strlcpy (sale.merchant_id, operator_id, sizeof sale.merchant_id);
  g_strlcpy (sale.kind, kind, sizeof sale.kind);
  g_strlcpy (sale.card_id, card_id, sizeof sale.card_id);
  g_strlcpy (sale.currency, "krw", sizeof sale.currency);
  return PHONE (txn)->sale_insert (txn, &sale, error);
}

/* The operator's receivable account, opened on its first sale. */
static gint64
operator_account (GwTxn       *txn,
                  const char  *operator_id,
                  GError     **error)
{
  GwPhoneOperator op = { .created = NOW (txn) };
  GError *local = NULL;

  if (PHONE (txn)->operator_get (txn, operator_id, &op, &local))
    return op.account_id;
  if (local != NULL)
    return g_propagate_error (error, local), 0;
  g_strlcpy (op.merchant_id, operator_id, sizeof op.merchant_id);
  op.account_id = CALL (txn, account_insert, "issuer_funding", 1, "krw", 0, error);
  if (op.account_id == 0 || !PHONE (txn)->operator_insert (txn, &op, error))
    return 0;
  return op.account_id;
}

/* The operator's receivable is debited, the card credited. */
static gboolean
post_sale (GwTxn       *txn,
           const char  *kind,
           const char  *sale_id,
           const char  *operator_id,
           gint64       card_account,
           gint64       amount,
           GError     **error)
{
  GwLine lines[2] = {
    { .debit = amount },
    { .account_id = card_account, .credit = amount },
  };
  GwEntry entry = {
    .kind = kind, .channel = "mobile", .ref = sale_id, .merchant_id = operator_id,
    .created = NOW (txn), .lines = lines, .n_lines = 2,
  };

  lines[0].account_id = operator_account (txn, operator_id, error);
  return lines[0].account_id != 0 && CALL (txn, entry_post, &entry, error);
}

static gint64
expiry_from (gint64 now,
             gint   years)
{
  g_autoptr(GDateTime) start = g_date_time_new_from_unix_utc (now);
  g_autoptr(GDateTime) end = g_date_time_add_years (start, years);

  return end ? g_date_time_to_unix (end) : now;
}

/* Inserts a card with a fresh number; a number that collides with one
 * issued before (the lookup hash is unique) is drawn again. */
static gboolean
insert_card (GwTxn                *txn,
             const GwLedgerConfig *config,
             GwCard               *card,
             GwIssuedCard         *issued,
             guint8                lookup[32],
             GError              **error)
{
  for (guint attempt = 0; attempt < 8; attempt++)
    {
      g_autofree char *card_id = onepin_crypto_random_token ("card_", 12);
      g_autofree char *number = onepin_card_number_generate (config->bin, error);
      g_autoptr(GBytes) sealed = NULL;
      GError *local = NULL;

      if (number == NULL)
        return FALSE;
      g_strlcpy (card->id, card_id, sizeof card->id);
      onepin_card_number_last4 (number, card->last4);
      onepin_key_hmac (config->lookup_key, number, ONEPIN_CARD_NUMBER_LEN, lookup);
      sealed = onepin_key_seal (config->seal_key, number, ONEPIN_CARD_NUMBER_LEN, card->id,
                                strlen (card->id), error);
      if (sealed == NULL)
        return FALSE;
      if (CALL (txn, card_insert, card, lookup, sealed, NULL, &local))
        {
          g_strlcpy (issued->id, card->id, sizeof issued->id);
          issued->number = g_steal_pointer (&number);
          issued->expires_at = card->expires_at;
          issued->account_id = card->account_id;
          return TRUE;
        }
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_DUPLICATE))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
    }
  return g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                              "Could not draw a unique card number"), FALSE;
}

gboolean
gw_phone_sell_card (GwTxn                *txn,
                    const GwLedgerConfig *config,
                    const char           *operator_id,
                    gint64                value,
                    GwIssuedCard         *issued,
                    guint8                lookup[32],
                    char                  sale_id[40],
                    GError              **error)
{
  g_autofree char *id = onepin_crypto_random_token ("sale_", 12);
  GwCard card = { 0 };

  card.account_id = CALL (txn, account_insert, "card", -1, "krw", GW_CARD_BALANCE_CAP, error);
  if (card.account_id == 0)
    return FALSE;
  card.initial_value = value;
  card.created = NOW (txn);
  card.expires_at = expiry_from (card.created, config->validity_years);
  g_strlcpy (card.state, "sold", sizeof card.state);
  g_strlcpy (card.channel, "mobile", sizeof card.channel);

  g_strlcpy (sale_id, id, 40);
  return insert_card (txn, config, &card, issued, lookup, error) &&
         post_sale (txn, "issue", sale_id, operator_id, card.account_id, value, error) &&
         record_sale (txn, sale_id, operator_id, "purchase", card.id, value, error);
}

gboolean
gw_phone_sell_recharge (GwTxn       *txn,
                        const char  *operator_id,
                        const char  *card_id,
                        gint64       amount,
                        GwCard      *card,
                        GwOutcome   *outcome,
                        GError     **error)
{
  g_autofree char *sale_id = onepin_crypto_random_token ("sale_", 12);
  GError *local = NULL;

  memset (outcome, 0, sizeof *outcome);
  if (!CALL (txn, card_by_id, card_id, card, error))
    return FALSE;
  if (!post_sale (txn, "recharge", sale_id, operator_id, card->account_id, amount, &local))
    {
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_LIMIT))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
      outcome->code = GW_RESULT_DECLINED;
      outcome->decline = GW_DECLINE_BALANCE_LIMIT;
      return TRUE;
    }
  return record_sale (txn, sale_id, operator_id, "recharge", card_id, amount, error) &&
         CALL (txn, card_by_id, card_id, card, error);
}
