/* gw-foreign.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-foreign.h"

#include <string.h>

#include "gw-wallet.h"
#include "onepin-money.h"

#define CALL(txn, fn, ...) ((txn)->funcs->fn ((txn), __VA_ARGS__))
#define NOW(txn) ((txn)->funcs->now (txn))
#define STORE(txn) ((const GwForeignStoreFuncs *) gw_txn_extension ((txn), "foreign"))

gboolean
gw_foreign_to_krw (gint64  amount,
                   int     exponent,
                   gint64  rate_e6,
                   gint64 *krw)
{
  gint64 scale = 1000000, product;

  if (amount < 1 || amount > GW_FOREIGN_MAX_AMOUNT || rate_e6 < 1 ||
      rate_e6 > GW_FOREIGN_MAX_RATE_E6 || exponent < 0 || exponent > 3)
    return FALSE;
  for (int i = 0; i < exponent; i++)
    scale *= 10;
  /* Up to 10^8 x 10^11 = 10^19, past 2^63 (about 9.2 x 10^18): checked. */
  if (__builtin_mul_overflow (amount, rate_e6, &product))
    return FALSE;
  *krw = product / scale + (product % scale != 0);
  return TRUE;
}

gboolean
gw_foreign_parse_rate (const char *text,
                       gint64     *rate_e6)
{
  const char *dot = strchr (text, '.');
  gsize whole = dot ? (gsize) (dot - text) : strlen (text);
  gsize decimals = dot ? strlen (dot + 1) : 0;
  gint64 value = 0;

  if (whole < 1 || whole > 6 || (dot && (decimals < 1 || decimals > 6)))
    return FALSE;
  for (const char *p = text; *p; p++)
    {
      if (p == dot)
        continue;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      value = value * 10 + (*p - '0');
    }
  for (gsize i = decimals; i < 6; i++)
    value *= 10;
  *rate_e6 = value;
  return value > 0 && value <= GW_FOREIGN_MAX_RATE_E6;
}

char *
gw_foreign_format_rate (gint64 rate_e6)
{
  char *text = g_strdup_printf ("%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT, rate_e6 / 1000000,
                                rate_e6 % 1000000);
  gsize len = strlen (text);

  while (text[len - 1] == '0')
    text[--len] = '\0';
  if (text[len - 1] == '.')
    text[--len] = '\0';
  return text;
}

/* A partner's merchant must exist and be no other partner's: it is how a
 * foreign site's charge finds its partner (partner_by_merchant). */
static gboolean
check_merchant (GwTxn            *txn,
                const char       *merchant_id,
                GwForeignResult  *result,
                GError          **error)
{
  GwForeignPartner other;
  GError *local = NULL;

  if (CALL (txn, merchant_account, merchant_id, &local) == 0)
    {
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_NOT_FOUND))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
      return *result = GW_FOREIGN_NO_MERCHANT, TRUE;
    }
  if (STORE (txn)->partner_by_merchant (txn, merchant_id, &other, &local))
    return *result = GW_FOREIGN_MERCHANT_TAKEN, TRUE;
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

gboolean
gw_foreign_create_partner (GwTxn             *txn,
                           GwForeignPartner  *partner,
                           GwForeignResult   *result,
                           GError           **error)
{
  *result = GW_FOREIGN_OK;
  if (partner->merchant_id[0] != '\0' &&
      (!check_merchant (txn, partner->merchant_id, result, error) || *result != GW_FOREIGN_OK))
    return *result != GW_FOREIGN_OK;
  /* Credit-normal: the won of the PINs switched over, owed on to the
   * partner's side of the books. */
  partner->account_id = CALL (txn, account_insert, "merchant_payable", -1, "krw", 0, error);
  partner->created = NOW (txn);
  return partner->account_id != 0 && STORE (txn)->partner_insert (txn, partner, error);
}

static char *
pin_aad (const char *partner_id,
         gint64      seq)
{
  return g_strdup_printf ("foreign/%s/%" G_GINT64_FORMAT, partner_id, seq);
}

static void
pin_lookup (const GwLedgerConfig *config,
            const char           *partner_id,
            const char           *pin,
            guint8                out[32])
{
  g_autofree char *text = g_strconcat ("foreign\n", partner_id, "\n", pin, NULL);

  onepin_key_hmac (config->lookup_key, text, strlen (text), out);
  explicit_bzero (text, strlen (text));
}

/* Hashes every PIN into @lookups (32 bytes each); FALSE in *@fresh, with
 * @bad_pin, when one is the partner's already or comes twice. */
static gboolean
pins_fresh (GwTxn                *txn,
            const GwLedgerConfig *config,
            const char           *partner_id,
            GStrv                 pins,
            guint8               *lookups,
            guint                *bad_pin,
            gboolean             *fresh,
            GError              **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_bytes_hash, g_bytes_equal);
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  *fresh = TRUE;
  for (guint i = 0; pins[i] != NULL && *fresh; i++)
    {
      guint8 *lookup = lookups + 32 * i;
      GBytes *key;
      gboolean known;

      pin_lookup (config, partner_id, pins[i], lookup);
      key = g_bytes_new_static (lookup, 32);
      g_ptr_array_add (keep, key);
      if (!STORE (txn)->pin_known (txn, partner_id, lookup, &known, error))
        return FALSE;
      if (known || !g_hash_table_add (seen, key))
        *fresh = FALSE, *bad_pin = i;
    }
  return TRUE;
}

gboolean
gw_foreign_load_pins (GwTxn                 *txn,
                      const GwLedgerConfig  *config,
                      const char            *partner_id,
                      gint64                 face_value,
                      GStrv                  pins,
                      guint                 *bad_pin,
                      GwForeignResult       *result,
                      GError               **error)
{
  GwForeignPartner partner;
  GError *local = NULL;
  g_autofree guint8 *lookups = g_malloc (32 * (gsize) g_strv_length (pins) + 1);
  gboolean fresh;
  gint64 seq;

  *result = GW_FOREIGN_OK;
  if (!STORE (txn)->partner_get (txn, partner_id, &partner, &local))
    return local ? (g_propagate_error (error, local), FALSE)
                 : (*result = GW_FOREIGN_NO_PARTNER, TRUE);
  if (!pins_fresh (txn, config, partner_id, pins, lookups, bad_pin, &fresh, error))
    return FALSE;
  if (!fresh)
    return *result = GW_FOREIGN_PIN_LOADED, TRUE;
  seq = STORE (txn)->pin_next_seq (txn, partner_id, error);
  if (seq == 0)
    return FALSE;
  for (guint i = 0; pins[i] != NULL; i++, seq++)
    {
      g_auto(GwForeignPin) pin = { .seq = seq, .face_value = face_value };
      g_autofree char *aad = pin_aad (partner_id, seq);
      gsize len = strlen (pins[i]);

      g_strlcpy (pin.partner_id, partner_id, sizeof pin.partner_id);
      g_strlcpy (pin.last4, pins[i] + len - 4, sizeof pin.last4);
      memcpy (pin.lookup, lookups + 32 * i, 32);
      pin.pin_sealed = onepin_key_seal (config->seal_key, pins[i], len, aad, strlen (aad), error);
      if (pin.pin_sealed == NULL || !STORE (txn)->pin_insert (txn, &pin, error))
        return FALSE;
    }
  return TRUE;
}

static void
decline (GwOutcome *outcome,
         GwDecline  reason)
{
  outcome->code = GW_RESULT_DECLINED;
  outcome->decline = reason;
}

gboolean
gw_foreign_switch (GwTxn                 *txn,
                   const GwLedgerConfig  *config,
                   const GwCredentials   *credentials,
                   const char            *partner_id,
                   gint64                 face_value,
                   GwForeignPartner      *partner,
                   GwCard                *card,
                   char                 **pin_text,
                   char                   pin_last4[5],
                   gint64                *krw,
                   GwForeignResult       *result,
                   GwOutcome             *outcome,
                   GError               **error)
{
  g_autofree char *ref = onepin_crypto_random_token ("fx_", 12);
  g_autofree char *aad = NULL;
  g_autofree char *description = NULL;
  g_auto(GwForeignPin) pin = { 0 };
  g_autoptr(GBytes) opened = NULL;
  GError *local = NULL;
  gboolean wallet_card;
  GwLine lines[2];
  GwEntry entry = { .kind = "payment", .channel = "foreign", .ref = ref, .lines = lines,
                    .n_lines = 2 };

  *result = GW_FOREIGN_OK;
  memset (outcome, 0, sizeof *outcome);
  if (!STORE (txn)->partner_get (txn, partner_id, partner, &local))
    return local ? (g_propagate_error (error, local), FALSE)
                 : (*result = GW_FOREIGN_NO_PARTNER, TRUE);
  if (!gw_ledger_authenticate_usable (txn, config, credentials, card, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return *result = GW_FOREIGN_DECLINED, TRUE;
  /* Every mall a wallet's card paid has seen its number and password:
   * those must not pay the wallet's money out as a PIN to whoever sends
   * them. Checked after the password, which still counts when wrong. */
  if (!gw_wallet_owns_card (txn, card->id, &wallet_card, error))
    return FALSE;
  if (wallet_card)
    return *result = GW_FOREIGN_WALLET_CARD, TRUE;
  if (!gw_foreign_to_krw (face_value, onepin_currency_exponent (partner->currency),
                          partner->rate_e6, krw))
    return *result = GW_FOREIGN_TOO_LARGE, TRUE;
  if (!STORE (txn)->pin_next (txn, partner_id, face_value, &pin, &local))
    return local ? (g_propagate_error (error, local), FALSE)
                 : (*result = GW_FOREIGN_SOLD_OUT, TRUE);

  /* The debit and the allocation commit together, or not at all. */
  description = g_strdup_printf ("%s PIN, %" G_GINT64_FORMAT " %s", partner->name, face_value,
                                 partner->currency);
  entry.description = description;
  entry.created = NOW (txn);
  lines[0] = (GwLine) { .account_id = card->account_id, .debit = *krw, .require_available = TRUE };
  lines[1] = (GwLine) { .account_id = partner->account_id, .credit = *krw };
  if (!CALL (txn, entry_post, &entry, &local))
    {
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_INSUFFICIENT))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
      decline (outcome, GW_DECLINE_INSUFFICIENT_FUNDS);
      return *result = GW_FOREIGN_DECLINED, TRUE;
    }
  if (!STORE (txn)->entry_annotate (txn, ref, face_value, partner->currency, partner->rate_e6,
                                    error))
    return FALSE;

  aad = pin_aad (partner_id, pin.seq);
  opened = onepin_key_open (config->seal_key, g_bytes_get_data (pin.pin_sealed, NULL),
                            g_bytes_get_size (pin.pin_sealed), aad, strlen (aad), error);
  if (opened == NULL ||
      !STORE (txn)->pin_sell (txn, partner_id, pin.seq, card->id, *krw, error) ||
      !CALL (txn, card_by_id, card->id, card, error))
    return FALSE;
  *pin_text = g_strndup (g_bytes_get_data (opened, NULL), g_bytes_get_size (opened));
  g_strlcpy (pin_last4, pin.last4, 5);
  return TRUE;
}

gboolean
gw_foreign_charge (GwTxn                 *txn,
                   const GwLedgerConfig  *config,
                   const GwCredentials   *credentials,
                   const GwPayRequest    *request,
                   gint64                 foreign_amount,
                   const char            *foreign_currency,
                   GwForeignPartner      *partner,
                   GwPayment             *payment,
                   GwForeignResult       *result,
                   GwOutcome             *outcome,
                   GError               **error)
{
  GwPayRequest krw_request = *request;
  GError *local = NULL;

  *result = GW_FOREIGN_OK;
  memset (outcome, 0, sizeof *outcome);
  if (!STORE (txn)->partner_by_merchant (txn, request->merchant_id, partner, &local))
    return local ? (g_propagate_error (error, local), FALSE)
                 : (*result = GW_FOREIGN_NO_PARTNER, TRUE);
  if (!g_str_equal (partner->currency, foreign_currency))
    return *result = GW_FOREIGN_WRONG_CURRENCY, TRUE;
  if (!gw_foreign_to_krw (foreign_amount, onepin_currency_exponent (foreign_currency),
                          partner->rate_e6, &krw_request.amount) ||
      krw_request.amount > GW_CARD_BALANCE_CAP)
    return *result = GW_FOREIGN_TOO_LARGE, TRUE;

  krw_request.currency = "krw";
  krw_request.capture = TRUE;
  if (!gw_ledger_pay (txn, config, credentials, &krw_request, payment, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return *result = GW_FOREIGN_DECLINED, TRUE;
  /* The capture's entry is the newest: its ref is the payment id. */
  return STORE (txn)->entry_annotate (txn, payment->id, foreign_amount, foreign_currency,
                                      partner->rate_e6, error);
}
