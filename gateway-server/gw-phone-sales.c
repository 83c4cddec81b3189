/* gw-phone-sales.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-phone-sales.h"
#include "gw-orders.h"

#include <string.h>

#include "onepin-card.h"

#define CALL(txn, fn, ...) ((txn)->funcs->fn ((txn), __VA_ARGS__))
#define NOW(txn) ((txn)->funcs->now (txn))
#define PHONE(txn) ((const GwPhoneStoreFuncs *) gw_txn_extension ((txn), "phone"))

#define SECRET_DIGITS 12

void
gw_pool_number_clear (gpointer data)
{
  GwPoolNumber *number = data;

  if (number->number != NULL)
    explicit_bzero (number->number, strlen (number->number));
  if (number->secret != NULL)
    explicit_bzero (number->secret, strlen (number->secret));
  g_clear_pointer (&number->number, g_free);
  g_clear_pointer (&number->secret, g_free);
}

void
gw_phone_statement_clear (GwPhoneStatement *statement)
{
  g_clear_pointer (&statement->sales, g_array_unref);
}

const char *
gw_phone_seller_category (const char *kind)
{
  return g_strcmp0 (kind, "agent") == 0 ? GW_PHONE_AGENT_CATEGORY : GW_PHONE_OPERATOR_CATEGORY;
}

/* Sellers */

static gboolean
is_seller (GwTxn       *txn,
           const char  *merchant_id,
           const char  *category,
           gboolean    *yes,
           GError     **error)
{
  GError *local = NULL;

  *yes = PHONE (txn)->merchant_is (txn, merchant_id, category, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

/* The seller's row, with its receivable account opened on first use. */
static gboolean
seller (GwTxn            *txn,
        const char       *merchant_id,
        GwPhoneOperator  *out,
        GError          **error)
{
  GError *local = NULL;

  memset (out, 0, sizeof *out);
  if (PHONE (txn)->operator_get (txn, merchant_id, out, &local))
    return TRUE;
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  g_strlcpy (out->merchant_id, merchant_id, sizeof out->merchant_id);
  out->created = NOW (txn);
  /* Debit-normal, like the issuer's funding: what the seller owes for the
   * cards it sold. */
  out->account_id = CALL (txn, account_insert, "issuer_funding", 1, "krw", 0, error);
  return out->account_id != 0 && PHONE (txn)->operator_insert (txn, out, error);
}

gboolean
gw_phone_set_seller (GwTxn            *txn,
                     const char       *merchant_id,
                     gint64            commission_bps,
                     GwPhoneOperator  *out,
                     GwPhoneResult    *result,
                     GError          **error)
{
  gboolean operator, agent = FALSE;

  *result = GW_PHONE_OK;
  if (!is_seller (txn, merchant_id, GW_PHONE_OPERATOR_CATEGORY, &operator, error) ||
      (!operator && !is_seller (txn, merchant_id, GW_PHONE_AGENT_CATEGORY, &agent, error)))
    return FALSE;
  if (!operator && !agent)
    return *result = GW_PHONE_NOT_A_SELLER, TRUE;
  if (!seller (txn, merchant_id, out, error) ||
      !PHONE (txn)->operator_set_commission (txn, merchant_id, commission_bps, error))
    return FALSE;
  out->commission_bps = commission_bps;
  return TRUE;
}

/* A sale: the seller's receivable debited, the card credited, and the sale
 * recorded with the commission at the seller's rate (rounded down). */
static gboolean
post_sale (GwTxn       *txn,
           const char  *kind,
           const char  *sale_id,
           const char  *seller_id,
           const char  *channel,
           const GwCard *card,
           gint64       amount,
           const char  *pool_id,
           GError     **error)
{
  GwPhoneOperator op;
  GwLine lines[2] = {
    { .debit = amount },
    { .account_id = card->account_id, .credit = amount },
  };
  GwEntry entry = {
    .kind = g_str_equal (kind, "purchase") ? "issue" : "recharge", .channel = channel,
    .ref = sale_id, .merchant_id = seller_id, .created = NOW (txn), .lines = lines, .n_lines = 2,
  };
  GwPhoneSale sale = { .amount = amount, .created = NOW (txn) };

  if (!seller (txn, seller_id, &op, error))
    return FALSE;
  lines[0].account_id = op.account_id;
  if (!CALL (txn, entry_post, &entry, error))
    return FALSE;

  g_strlcpy (sale.id, sale_id, sizeof sale.id);
  g_strlcpy (sale.merchant_id, seller_id, sizeof sale.merchant_id);
  g_strlcpy (sale.kind, kind, sizeof sale.kind);
  g_strlcpy (sale.card_id, card->id, sizeof sale.card_id);
  g_strlcpy (sale.currency, "krw", sizeof sale.currency);
  g_strlcpy (sale.pool_id, pool_id ? pool_id : "", sizeof sale.pool_id);
  sale.commission = amount * op.commission_bps / 10000;   /* <= 10^6 x 10^4: no overflow */
  return PHONE (txn)->sale_insert (txn, &sale, error);
}

/* Cards */

static gint64
expiry_from (gint64 now,
             gint   years)
{
  g_autoptr(GDateTime) start = g_date_time_new_from_unix_utc (now);
  g_autoptr(GDateTime) end = g_date_time_add_years (start, years);

  return end ? g_date_time_to_unix (end) : now;
}

static void
card_init (GwTxn                *txn,
           const GwLedgerConfig *config,
           GwCard               *card,
           gint64                value,
           const char           *channel)
{
  g_autofree char *card_id = onepin_crypto_random_token ("card_", 12);

  memset (card, 0, sizeof *card);
  g_strlcpy (card->id, card_id, sizeof card->id);
  card->initial_value = value;
  card->created = NOW (txn);
  card->expires_at = expiry_from (card->created, config->validity_years);
  g_strlcpy (card->state, "sold", sizeof card->state);
  g_strlcpy (card->channel, channel, sizeof card->channel);
  g_strlcpy (card->currency, "krw", sizeof card->currency);
}

/* Inserts @card under @number, with an account of its own; a number taken
 * by another card comes back as GW_STORE_ERROR_DUPLICATE. */
static gboolean
insert_card (GwTxn                *txn,
             const GwLedgerConfig *config,
             GwCard               *card,
             const char           *number,
             guint8                lookup[32],
             GError              **error)
{
  g_autoptr(GBytes) sealed = NULL;
  GwCard taken;
  GError *local = NULL;

  onepin_card_number_last4 (number, card->last4);
  onepin_key_hmac (config->lookup_key, number, ONEPIN_CARD_NUMBER_LEN, lookup);
  /* Checked first, so that a taken number leaves no account behind. */
  if (CALL (txn, card_by_lookup, lookup, &taken, &local))
    return g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_DUPLICATE,
                                "The number is taken"), FALSE;
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  sealed = onepin_key_seal (config->seal_key, number, ONEPIN_CARD_NUMBER_LEN, card->id,
                            strlen (card->id), error);
  if (sealed == NULL)
    return FALSE;
  card->account_id = CALL (txn, account_insert, "card", -1, "krw", GW_CARD_BALANCE_CAP, error);
  return card->account_id != 0 && CALL (txn, card_insert, card, lookup, sealed, NULL, error);
}

/* A card with a fresh number; one that collides with a card issued before
 * (the lookup hash is unique) is drawn again. */
static gboolean
issue_fresh (GwTxn                *txn,
             const GwLedgerConfig *config,
             GwCard               *card,
             char                **number_out,
             guint8                lookup[32],
             GError              **error)
{
  for (guint attempt = 0; attempt < 8; attempt++)
    {
      g_autofree char *number = onepin_card_number_generate (config->bin, error);
      GError *local = NULL;

      if (number == NULL)
        return FALSE;
      if (insert_card (txn, config, card, number, lookup, &local))
        return *number_out = g_steal_pointer (&number), TRUE;
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_DUPLICATE))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
    }
  return g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                              "Could not draw a unique card number"), FALSE;
}

static char *
pin_aad (const char *pool_id,
         gint64      seq)
{
  return g_strdup_printf ("%s/%" G_GINT64_FORMAT, pool_id, seq);
}

/* Makes the pool number @pin a card. A card issued since the pool was made
 * may have taken the number: then the number is voided and FALSE returned
 * without an error, for the caller to draw another. */
static gboolean
issue_from_pin (GwTxn                *txn,
                const GwLedgerConfig *config,
                const GwPhonePin     *pin,
                GwCard               *card,
                char                **number_out,
                guint8                lookup[32],
                GError              **error)
{
  g_autofree char *aad = pin_aad (pin->pool_id, pin->seq);
  g_autoptr(GBytes) number = onepin_key_open (config->seal_key,
                                              g_bytes_get_data (pin->number_sealed, NULL),
                                              g_bytes_get_size (pin->number_sealed), aad,
                                              strlen (aad), error);
  g_autofree char *text = NULL;
  GError *local = NULL;

  if (number == NULL)
    return FALSE;
  text = g_strndup (g_bytes_get_data (number, NULL), g_bytes_get_size (number));
  if (!insert_card (txn, config, card, text, lookup, &local))
    {
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_DUPLICATE))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
      PHONE (txn)->pin_settle (txn, pin->pool_id, pin->seq, "void", NULL, error);
      return FALSE;
    }
  if (!PHONE (txn)->pin_settle (txn, pin->pool_id, pin->seq, "sold", card->id, error))
    return FALSE;
  *number_out = g_steal_pointer (&text);
  return TRUE;
}

/* Draws the operator's next number of @value and makes it a card. */
static gboolean
issue_from_pool (GwTxn                *txn,
                 const GwLedgerConfig *config,
                 const char           *operator_id,
                 gint64                value,
                 GwCard               *card,
                 char                **number,
                 guint8                lookup[32],
                 char                  pool_id[40],
                 gboolean             *sold_out,
                 GError              **error)
{
  for (;;)
    {
      g_auto(GwPhonePin) pin = { 0 };
      GError *local = NULL;

      if (!PHONE (txn)->pin_next (txn, operator_id, "operator", value, &pin, &local))
        {
          if (local != NULL)
            return g_propagate_error (error, local), FALSE;
          return *sold_out = TRUE, TRUE;
        }
      if (issue_from_pin (txn, config, &pin, card, number, lookup, &local))
        return g_strlcpy (pool_id, pin.pool_id, 40), TRUE;
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
    }
}

gboolean
gw_phone_sell_card (GwTxn                *txn,
                    const GwLedgerConfig *config,
                    const char           *operator_id,
                    gint64                value,
                    GwIssuedCard         *issued,
                    guint8                lookup[32],
                    char                  sale_id[40],
                    gboolean             *sold_out,
                    GError              **error)
{
  g_autofree char *id = onepin_crypto_random_token ("sale_", 12);
  char pool_id[40] = "";
  GwCard card;
  GError *local = NULL;
  gboolean pools;

  *sold_out = FALSE;
  card_init (txn, config, &card, value, "mobile");
  pools = PHONE (txn)->pools_exist (txn, operator_id, "operator", &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  if (pools ? !issue_from_pool (txn, config, operator_id, value, &card, &issued->number, lookup,
                                pool_id, sold_out, error)
            : !issue_fresh (txn, config, &card, &issued->number, lookup, error))
    return FALSE;
  if (*sold_out)
    return TRUE;

  g_strlcpy (sale_id, id, 40);
  g_strlcpy (issued->id, card.id, sizeof issued->id);
  issued->expires_at = card.expires_at;
  issued->account_id = card.account_id;
  return post_sale (txn, "purchase", sale_id, operator_id, "mobile", &card, value,
                    pool_id[0] ? pool_id : NULL, error);
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
  /* The card was checked when the caller gave its password; it may have
   * been paid out and closed, or have expired, since. */
  if (g_str_equal (card->state, "closed") || card->expires_at <= NOW (txn))
    {
      outcome->code = GW_RESULT_DECLINED;
      outcome->decline = g_str_equal (card->state, "closed") ? GW_DECLINE_CARD_NOT_ACTIVE
                                                              : GW_DECLINE_EXPIRED_CARD;
      return TRUE;
    }
  if (!post_sale (txn, "recharge", sale_id, operator_id, "mobile", card, amount, NULL, &local))
    {
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_LIMIT))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
      outcome->code = GW_RESULT_DECLINED;
      outcome->decline = GW_DECLINE_BALANCE_LIMIT;
      return TRUE;
    }
  return CALL (txn, card_by_id, card_id, card, error) &&
         gw_orders_recharged (txn, card, error);
}

/* Pools */

/* A fresh number no card and no pool has: the pins' lookup is unique too. */
static gboolean
add_pin (GwTxn                *txn,
         const GwLedgerConfig *config,
         const GwPhonePool    *pool,
         gint64                seq,
         GwPoolNumber         *out,
         GError              **error)
{
  for (guint attempt = 0; attempt < 8; attempt++)
    {
      g_auto(GwPhonePin) pin = { .seq = seq };
      g_autofree char *number = onepin_card_number_generate (config->bin, error);
      g_autofree char *aad = pin_aad (pool->id, seq);
      g_autofree char *secret = NULL;
      GwCard taken;
      GError *local = NULL;

      if (number == NULL)
        return FALSE;
      g_strlcpy (pin.pool_id, pool->id, sizeof pin.pool_id);
      onepin_key_hmac (config->lookup_key, number, ONEPIN_CARD_NUMBER_LEN, pin.lookup);
      if (CALL (txn, card_by_lookup, pin.lookup, &taken, &local) || local != NULL)
        {
          if (local != NULL)
            return g_propagate_error (error, local), FALSE;
          continue;
        }
      onepin_card_number_last4 (number, pin.last4);
      pin.number_sealed = onepin_key_seal (config->seal_key, number, ONEPIN_CARD_NUMBER_LEN, aad,
                                           strlen (aad), error);
      if (pin.number_sealed == NULL)
        return FALSE;
      if (g_str_equal (pool->kind, "agent"))
        {
          /* The scratch-panel secret becomes the card's first password, so
           * only its MAC is kept; the number alone opens nothing. */
          secret = onepin_card_number_generate ("", error);
          if (secret == NULL)
            return FALSE;
          secret[SECRET_DIGITS] = '\0';
          gw_ledger_password_mac (config, pin.lookup, secret, pin.secret_mac);
          pin.has_secret = TRUE;
        }
      if (!PHONE (txn)->pin_insert (txn, &pin, &local))
        {
          if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_DUPLICATE))
            return g_propagate_error (error, local), FALSE;
          g_clear_error (&local);
          continue;
        }
      out->number = g_steal_pointer (&number);
      out->secret = g_steal_pointer (&secret);
      g_strlcpy (out->last4, pin.last4, sizeof out->last4);
      return TRUE;
    }
  return g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                              "Could not draw a unique card number"), FALSE;
}

gboolean
gw_phone_create_pool (GwTxn                *txn,
                      const GwLedgerConfig *config,
                      const char           *kind,
                      const char           *merchant_id,
                      gint64                value,
                      gint64                count,
                      GwPhonePool          *pool,
                      GArray               *numbers,
                      GwPhoneResult        *result,
                      GError              **error)
{
  g_autofree char *id = onepin_crypto_random_token ("pool_", 12);
  gboolean yes;

  *result = GW_PHONE_OK;
  memset (pool, 0, sizeof *pool);
  if (!is_seller (txn, merchant_id, gw_phone_seller_category (kind), &yes, error))
    return FALSE;
  if (!yes)
    return *result = GW_PHONE_NOT_A_SELLER, TRUE;

  g_strlcpy (pool->id, id, sizeof pool->id);
  g_strlcpy (pool->kind, kind, sizeof pool->kind);
  g_strlcpy (pool->merchant_id, merchant_id, sizeof pool->merchant_id);
  pool->value = value;
  pool->count = pool->available = count;
  pool->created = NOW (txn);
  if (!PHONE (txn)->pool_insert (txn, pool, error))
    return FALSE;
  for (gint64 seq = 1; seq <= count; seq++)
    {
      GwPoolNumber number = { 0 };

      if (!add_pin (txn, config, pool, seq, &number, error))
        return FALSE;
      g_array_append_val (numbers, number);
    }
  return TRUE;
}

/* An agent's number in @lookup, available; FALSE (no error) with @result set
 * otherwise. */
static gboolean
agent_pin (GwTxn          *txn,
           const char     *agent_id,
           const guint8    lookup[32],
           GwPhonePin     *pin,
           GwPhoneResult  *result,
           GError        **error)
{
  GError *local = NULL;

  *result = GW_PHONE_OK;
  if (!PHONE (txn)->pin_by_lookup (txn, lookup, pin, &local) ||
      !g_str_equal (pin->kind, "agent") || !g_str_equal (pin->merchant_id, agent_id))
    {
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      *result = GW_PHONE_NUMBER_NOT_FOUND;
      return FALSE;
    }
  if (!g_str_equal (pin->state, "available"))
    {
      *result = GW_PHONE_NUMBER_USED;
      return FALSE;
    }
  return TRUE;
}

gboolean
gw_phone_activate_card (GwTxn                *txn,
                        const GwLedgerConfig *config,
                        const char           *agent_id,
                        const guint8          lookup[32],
                        GwCard               *card,
                        char                  sale_id[40],
                        GwPhoneResult        *result,
                        GError              **error)
{
  g_autofree char *id = onepin_crypto_random_token ("sale_", 12);
  g_auto(GwPhonePin) pin = { 0 };
  g_autofree char *number = NULL;
  guint8 card_lookup[32];
  GError *local = NULL;

  if (!agent_pin (txn, agent_id, lookup, &pin, result, &local))
    return local == NULL ? TRUE : (g_propagate_error (error, local), FALSE);
  card_init (txn, config, card, pin.value, "agent");
  if (!issue_from_pin (txn, config, &pin, card, &number, card_lookup, &local))
    {
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      return *result = GW_PHONE_NUMBER_USED, TRUE;    /* taken by a card since: voided */
    }
  g_strlcpy (sale_id, id, 40);
  if (!CALL (txn, card_set_password, card->id, pin.secret_mac, NULL, "active", error))
    return FALSE;
  g_strlcpy (card->state, "active", sizeof card->state);
  return post_sale (txn, "purchase", sale_id, agent_id, "agent", card, pin.value, pin.pool_id,
                    error) &&
         CALL (txn, card_by_id, card->id, card, error);
}

gboolean
gw_phone_void_number (GwTxn          *txn,
                      const char     *agent_id,
                      const guint8    lookup[32],
                      GwPhonePin     *pin,
                      GwPhoneResult  *result,
                      GError        **error)
{
  GError *local = NULL;

  if (!agent_pin (txn, agent_id, lookup, pin, result, &local))
    return local == NULL ? TRUE : (g_propagate_error (error, local), FALSE);
  if (!PHONE (txn)->pin_settle (txn, pin->pool_id, pin->seq, "void", NULL, error))
    return FALSE;
  g_strlcpy (pin->state, "void", sizeof pin->state);
  return TRUE;
}

/* Statements */

gboolean
gw_phone_seller_statement (GwTxn             *txn,
                           const char        *merchant_id,
                           gint64             from,
                           gint64             to,
                           GwPhoneStatement  *statement,
                           GwPhoneResult     *result,
                           GError           **error)
{
  GwPhoneOperator op = { 0 };
  GError *local = NULL;

  *result = GW_PHONE_OK;
  memset (statement, 0, sizeof *statement);
  statement->from = from;
  statement->to = to;
  if (!PHONE (txn)->operator_get (txn, merchant_id, &op, &local))
    {
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      return *result = GW_PHONE_NOT_A_SELLER, TRUE;
    }
  statement->commission_bps = op.commission_bps;
  statement->sales = PHONE (txn)->sales_between (txn, merchant_id, from, to, error);
  if (statement->sales == NULL ||
      !PHONE (txn)->account_flow (txn, op.account_id, from, to, &statement->ledger_debits,
                                  &statement->ledger_credits, error))
    return FALSE;

  for (guint i = 0; i < statement->sales->len; i++)
    {
      const GwPhoneSale *sale = &g_array_index (statement->sales, GwPhoneSale, i);

      if (g_str_equal (sale->kind, "purchase"))
        statement->cards_sold++, statement->cards_value += sale->amount;
      else
        statement->recharges++, statement->recharges_value += sale->amount;
      statement->commission += sale->commission;
    }
  return TRUE;
}
