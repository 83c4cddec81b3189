/* gw-phone.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-phone.h"

#include <string.h>

#define CALL(txn, fn, ...) ((txn)->funcs->fn ((txn), __VA_ARGS__))
#define NOW(txn) ((txn)->funcs->now (txn))
#define PHONE(txn) ((const GwPhoneStoreFuncs *) gw_txn_extension ((txn), "phone"))

static void
decline (GwOutcome *outcome,
         GwDecline  reason)
{
  outcome->code = GW_RESULT_DECLINED;
  outcome->decline = reason;
  outcome->credential_failure = reason == GW_DECLINE_INVALID_CREDENTIALS;
}

const char *
gw_phone_service_channel (const char *service)
{
  if (g_strcmp0 (service, "mobile") == 0)
    return "prepaid_mobile";
  if (g_strcmp0 (service, "information") == 0)
    return "telephone_information";
  return "telephone";             /* voice calls and voicemail */
}

/* Arithmetic */

static gint64
div_up (gint64 a,
        gint64 b)
{
  return (a + b - 1) / b;
}

gint64
gw_phone_cost (const GwPhoneRate *rate,
               gint64             seconds)
{
  gint64 units;

  if (seconds <= 0)
    return 0;
  /* seconds <= max_call_seconds (a day at most) and per_minute <= 1,000,000:
   * the product stays far below 2^63. */
  units = div_up (seconds, rate->increment);
  return rate->connection_fee + div_up (units * rate->increment * rate->per_minute, 60);
}

gint64
gw_phone_affordable_seconds (const GwPhoneRate *rate,
                             gint64             budget)
{
  gint64 units;

  if (budget < rate->connection_fee)
    return 0;
  if (rate->per_minute == 0)
    return G_MAXINT64;
  /* fee + ceil (units * increment * per_minute / 60) <= budget holds exactly
   * when units * increment * per_minute <= (budget - fee) * 60. */
  units = (budget - rate->connection_fee) * 60 / (rate->increment * rate->per_minute);
  return units * rate->increment;
}

/* The next grant, counted from @billed seconds on, for a call that may cost
 * @budget in all. The end of a grant falls on an increment boundary, so no
 * second already paid for is left unused. */
static gint64
next_grant (const GwPhoneConfig *config,
            const GwPhoneRate   *rate,
            gint64               billed,
            gint64               budget,
            gint64               requested,
            gboolean            *final)
{
  gint64 want = requested > 0 ? MIN (requested, config->quota_seconds) : config->quota_seconds;
  gint64 limit = MIN (gw_phone_affordable_seconds (rate, budget), config->max_call_seconds);
  gint64 target = div_up (billed + want, rate->increment) * rate->increment;

  *final = limit <= target;
  if (limit <= billed)
    return 0;
  return MIN (target, limit) - billed;
}

/* Callers */

void
gw_phone_calling_lookup (const GwLedgerConfig *config,
                         const char           *number,
                         guint8                out[32])
{
  g_autofree char *input = g_strconcat ("calling-number\n", number, NULL);

  /* Domain-separated from card numbers, which use the same key. */
  onepin_key_hmac (config->lookup_key, input, strlen (input), out);
}

static gboolean
find_by_calling_number (GwTxn                *txn,
                        const GwPhoneCaller  *caller,
                        GwCard               *card,
                        GwOutcome            *outcome,
                        GError              **error)
{
  char card_id[40];
  GError *local = NULL;

  if (!PHONE (txn)->calling_number_card (txn, caller->calling_lookup, card_id, &local) &&
      local == NULL)
    return decline (outcome, GW_DECLINE_INVALID_CREDENTIALS), TRUE;
  if (local == NULL && !CALL (txn, card_by_id, card_id, card, &local) && local == NULL)
    return decline (outcome, GW_DECLINE_INVALID_CREDENTIALS), TRUE;
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;

  /* No password was given, but a card locked by someone guessing it, or
   * without one yet, does not pay either. */
  if (card->locked_until > NOW (txn))
    decline (outcome, GW_DECLINE_CARD_LOCKED);
  else if (!card->has_password || g_str_equal (card->state, "closed"))
    decline (outcome, GW_DECLINE_CARD_NOT_ACTIVE);
  return TRUE;
}

gboolean
gw_phone_find_card (GwTxn                *txn,
                    const GwLedgerConfig *config,
                    const GwPhoneCaller  *caller,
                    GwCard               *card,
                    GwOutcome            *outcome,
                    GError              **error)
{
  memset (outcome, 0, sizeof *outcome);
  if (caller->by_calling_number)
    {
      if (!find_by_calling_number (txn, caller, card, outcome, error))
        return FALSE;
    }
  else if (!gw_ledger_authenticate (txn, config, &caller->credentials, card, outcome, error))
    return FALSE;

  if (outcome->code == GW_RESULT_OK && card->expires_at <= NOW (txn))
    decline (outcome, GW_DECLINE_EXPIRED_CARD);
  return TRUE;
}

/* The caller's card, declined unless it pays in the rate table's @currency. */
static gboolean
find_paying_card (GwTxn                *txn,
                  const GwLedgerConfig *ledger,
                  const GwPhoneCaller  *caller,
                  const char           *currency,
                  GwCard               *card,
                  GwOutcome            *outcome,
                  GError              **error)
{
  if (!gw_phone_find_card (txn, ledger, caller, card, outcome, error))
    return FALSE;
  if (outcome->code == GW_RESULT_OK && !g_str_equal (card->currency, currency))
    decline (outcome, GW_DECLINE_CURRENCY_MISMATCH);
  return TRUE;
}

/* Rate tables */

gboolean
gw_phone_load_rate_table (GwTxn             *txn,
                          GwPhoneRateTable  *table,
                          GError           **error)
{
  table->created = NOW (txn);
  return PHONE (txn)->rate_table_insert (txn, table, error);
}

/* Looks up the switch and the active rate table; FALSE only on error. */
static gboolean
check_switch (GwTxn             *txn,
              const char        *merchant_id,
              GwPhoneRateTable  *table,
              GwPhoneResult     *result,
              GError           **error)
{
  const GwPhoneStoreFuncs *phone = PHONE (txn);
  GError *local = NULL;

  *result = GW_PHONE_OK;
  if (!phone->merchant_is (txn, merchant_id, "telephone", &local))
    *result = GW_PHONE_NOT_A_SWITCH;
  else if (!phone->rate_table_active (txn, table, &local))
    *result = GW_PHONE_NO_RATE_TABLE;
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

/* Money */

/* Debits the card and credits the switch's payable account, as a payment
 * in the service's channel. An overdraft comes back as
 * GW_STORE_ERROR_INSUFFICIENT. */
static gboolean
debit_card (GwTxn       *txn,
            const char  *merchant_id,
            gint64       card_account,
            gint64       amount,
            const char  *channel,
            const char  *ref,
            const char  *description,
            GError     **error)
{
  GwLine lines[2] = {
    { .account_id = card_account, .debit = amount, .require_available = TRUE },
    { .credit = amount },
  };
  GwEntry entry = {
    .kind = "payment", .channel = channel, .ref = ref, .merchant_id = merchant_id,
    .description = description, .created = NOW (txn), .lines = lines, .n_lines = 2,
  };

  lines[1].account_id = CALL (txn, merchant_account, merchant_id, error);
  return lines[1].account_id != 0 && CALL (txn, entry_post, &entry, error);
}

static char *
call_description (const GwPhoneSession *session)
{
  return g_strdup_printf ("%s %s (%s)",
                          g_str_equal (session->service, "mobile") ? "Mobile call" : "Call",
                          session->destination, session->rate.category);
}

/* Debits what the call has cost so far beyond what was already debited. */
static gboolean
charge_to (GwTxn          *txn,
           GwPhoneSession *session,
           gint64          billed,
           GError        **error)
{
  gint64 total = gw_phone_cost (&session->rate, billed);
  g_autofree char *description = NULL;

  session->billed = billed;
  if (total <= session->charged)
    return TRUE;
  description = call_description (session);
  if (!debit_card (txn, session->merchant_id, session->account_id, total - session->charged,
                   session->channel, session->id, description, error))
    return FALSE;
  session->charged = total;
  return TRUE;
}

/* Reserves the next grant on the card; the session's own hold has been
 * released first, so its budget is what it has paid plus what the card
 * has available now. */
static gboolean
reserve_next (GwTxn               *txn,
              const GwPhoneConfig *config,
              GwPhoneSession      *session,
              gint64               available,
              gint64               requested,
              GError             **error)
{
  gint64 grant = next_grant (config, &session->rate, session->billed,
                             session->charged + available, requested, &session->final);
  gint64 hold = gw_phone_cost (&session->rate, session->billed + grant) - session->charged;

  if (hold > 0 && !CALL (txn, account_hold, session->account_id, hold, error))
    return FALSE;
  session->held = hold;
  session->last_grant = grant;
  session->granted = session->billed + grant;
  session->updated = NOW (txn);
  session->expires_at = session->updated + grant + config->session_grace;
  return TRUE;
}

static gboolean
notify_ended (GwTxn                *txn,
              const GwPhoneSession *session,
              GError              **error)
{
  /* The event's data.object as it goes to the merchant's webhook: the
   * session's closing figures, named as in the PhoneSession object. */
  g_autofree char *payload =
    g_strdup_printf ("{\"id\":\"%s\",\"object\":\"phone_session\",\"status\":\"%s\","
                     "\"used_seconds\":%" G_GINT64_FORMAT ",\"billed_seconds\":%" G_GINT64_FORMAT
                     ",\"amount_charged\":%" G_GINT64_FORMAT ",\"currency\":\"%s\"}",
                     session->id, session->state, session->reported, session->billed,
                     session->charged, session->currency);

  return CALL (txn, outbox_put, "phone_session.ended", session->merchant_id, payload, error);
}

/* Sessions */

static void
session_init (GwPhoneSession   *session,
              const char       *merchant_id,
              const GwCard     *card,
              const GwPhoneStart *start,
              const GwPhoneRateTable *table,
              gint64            now)
{
  g_autofree char *id = onepin_crypto_random_token ("cs_", 12);

  g_strlcpy (session->id, id, sizeof session->id);
  g_strlcpy (session->merchant_id, merchant_id, sizeof session->merchant_id);
  g_strlcpy (session->card_id, card->id, sizeof session->card_id);
  g_strlcpy (session->card_last4, card->last4, sizeof session->card_last4);
  session->account_id = card->account_id;
  g_strlcpy (session->service, start->service, sizeof session->service);
  g_strlcpy (session->channel, gw_phone_service_channel (start->service),
             sizeof session->channel);
  g_strlcpy (session->destination, start->destination, sizeof session->destination);
  g_strlcpy (session->rate_table_id, table->id, sizeof session->rate_table_id);
  g_strlcpy (session->currency, table->currency, sizeof session->currency);
  g_strlcpy (session->state, "open", sizeof session->state);
  session->created = now;
}

gboolean
gw_phone_session_start (GwTxn                *txn,
                        const GwLedgerConfig *ledger,
                        const GwPhoneConfig  *config,
                        const char           *merchant_id,
                        const GwPhoneCaller  *caller,
                        const GwPhoneStart   *start,
                        GwPhoneSession       *session,
                        GwPhoneResult        *result,
                        GwOutcome            *outcome,
                        GError              **error)
{
  g_auto(GwPhoneRateTable) table = { 0 };
  GwPhoneRate rate = { 0 };
  GwCard card;
  GError *local = NULL;

  memset (session, 0, sizeof *session);
  memset (outcome, 0, sizeof *outcome);
  if (!check_switch (txn, merchant_id, &table, result, error))
    return FALSE;
  if (*result != GW_PHONE_OK)
    return TRUE;
  if (!PHONE (txn)->rate_lookup (txn, table.id, start->destination, &rate, &local))
    {
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      return *result = GW_PHONE_NOT_RATED, TRUE;
    }
  gw_phone_rate_clear (&rate);    /* the description is not needed */

  if (!find_paying_card (txn, ledger, caller, table.currency, &card, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return *result = GW_PHONE_DECLINED, TRUE;

  session_init (session, merchant_id, &card, start, &table, NOW (txn));
  session->rate = rate;
  if (!reserve_next (txn, config, session, card.balance - card.held, start->requested_seconds,
                     &local))
    {
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_INSUFFICIENT))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
      session->last_grant = 0;
    }
  if (session->last_grant == 0)
    {
      decline (outcome, GW_DECLINE_INSUFFICIENT_FUNDS);
      return *result = GW_PHONE_DECLINED, TRUE;
    }
  return PHONE (txn)->session_insert (txn, session, error);
}

static gboolean
end_session (GwTxn          *txn,
             GwPhoneSession *session,
             const char     *state,
             GError        **error)
{
  g_strlcpy (session->state, state, sizeof session->state);
  session->held = 0;
  session->last_grant = 0;
  session->granted = session->billed;
  session->updated = NOW (txn);
  session->ended_at = session->updated;
  session->expires_at = session->updated;
  return PHONE (txn)->session_update (txn, session, error) && notify_ended (txn, session, error);
}

gboolean
gw_phone_session_report (GwTxn                *txn,
                         const GwPhoneConfig  *config,
                         const char           *merchant_id,
                         const char           *session_id,
                         const GwPhoneReport  *report,
                         GwPhoneSession       *session,
                         GwPhoneResult        *result,
                         GError              **error)
{
  GError *local = NULL;
  GwCard card;

  *result = GW_PHONE_OK;
  if (!PHONE (txn)->session_get (txn, session_id, session, &local) ||
      !g_str_equal (session->merchant_id, merchant_id))
    {
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      return *result = GW_PHONE_SESSION_NOT_FOUND, TRUE;
    }
  if (!g_str_equal (session->state, "open"))
    return *result = GW_PHONE_SESSION_ENDED, TRUE;
  if (report->request_number <= session->request_number)
    return *result = GW_PHONE_STALE_REQUEST, TRUE;

  /* The reservation is released, then the seconds used are debited from
   * it: a switch that used more than it was granted is billed for the
   * grant only, so a call never costs more than was reserved. */
  if (session->held > 0 && !CALL (txn, account_release, session->account_id, session->held, error))
    return FALSE;
  session->held = 0;
  session->request_number = report->request_number;
  session->reported = MIN (session->reported + report->used_seconds, G_MAXINT32);
  if (!charge_to (txn, session, MIN (session->reported, session->granted), error))
    return FALSE;

  if (report->terminate)
    return end_session (txn, session, "terminated", error);

  if (!CALL (txn, card_by_id, session->card_id, &card, error))
    return FALSE;
  return reserve_next (txn, config, session, card.balance - card.held,
                       report->requested_seconds, error) &&
         PHONE (txn)->session_update (txn, session, error);
}

gint
gw_phone_expire_sessions (GwTxn   *txn,
                          GError **error)
{
  const GwPhoneStoreFuncs *phone = PHONE (txn);
  g_autoptr(GPtrArray) ids = phone->sessions_expiring (txn, NOW (txn), 500, error);

  if (ids == NULL)
    return -1;
  for (guint i = 0; i < ids->len; i++)
    {
      GwPhoneSession session;

      if (!phone->session_get (txn, g_ptr_array_index (ids, i), &session, error))
        return -1;
      if (session.held > 0 &&
          !CALL (txn, account_release, session.account_id, session.held, error))
        return -1;
      if (!end_session (txn, &session, "expired", error))
        return -1;
    }
  return ids->len;
}

/* Per-use services */

gboolean
gw_phone_charge_event (GwTxn                *txn,
                       const GwLedgerConfig *ledger,
                       const char           *merchant_id,
                       const GwPhoneCaller  *caller,
                       const char           *service,
                       gint64                quantity,
                       GwPhoneEvent         *event,
                       GwCard               *card,
                       GwPhoneResult        *result,
                       GwOutcome            *outcome,
                       GError              **error)
{
  g_auto(GwPhoneRateTable) table = { 0 };
  g_autofree char *id = onepin_crypto_random_token ("ce_", 12);
  g_autofree char *description = NULL;
  GError *local = NULL;
  gint64 price = 0;

  memset (event, 0, sizeof *event);
  memset (outcome, 0, sizeof *outcome);
  if (!check_switch (txn, merchant_id, &table, result, error))
    return FALSE;
  if (*result != GW_PHONE_OK)
    return TRUE;
  if (!PHONE (txn)->service_price (txn, table.id, service, &price, &local))
    {
      if (local != NULL)
        return g_propagate_error (error, local), FALSE;
      return *result = GW_PHONE_SERVICE_NOT_RATED, TRUE;
    }

  if (!find_paying_card (txn, ledger, caller, table.currency, card, outcome, error))
    return FALSE;
  if (outcome->code != GW_RESULT_OK)
    return *result = GW_PHONE_DECLINED, TRUE;

  g_strlcpy (event->id, id, sizeof event->id);
  g_strlcpy (event->merchant_id, merchant_id, sizeof event->merchant_id);
  g_strlcpy (event->card_id, card->id, sizeof event->card_id);
  g_strlcpy (event->service, service, sizeof event->service);
  g_strlcpy (event->currency, card->currency, sizeof event->currency);
  event->quantity = quantity;
  event->amount = price * quantity;     /* both bounded by the handler: no overflow */
  event->created = NOW (txn);
  description = g_strdup_printf ("%s × %" G_GINT64_FORMAT, service, quantity);

  if (!debit_card (txn, merchant_id, card->account_id, event->amount,
                   gw_phone_service_channel (service), event->id, description, &local))
    {
      if (!g_error_matches (local, GW_STORE_ERROR, GW_STORE_ERROR_INSUFFICIENT))
        return g_propagate_error (error, local), FALSE;
      g_clear_error (&local);
      decline (outcome, GW_DECLINE_INSUFFICIENT_FUNDS);
      return *result = GW_PHONE_DECLINED, TRUE;
    }
  return PHONE (txn)->event_insert (txn, event, error) &&
         CALL (txn, card_by_id, card->id, card, error);
}

/* Calling numbers */

static gboolean
owner_gone (GwTxn       *txn,
            const char  *card_id,
            gboolean    *gone,
            GError     **error)
{
  GwCard owner;

  if (!CALL (txn, card_by_id, card_id, &owner, error))
    return FALSE;
  *gone = g_str_equal (owner.state, "closed") || owner.expires_at <= NOW (txn);
  return TRUE;
}

gboolean
gw_phone_register_calling_number (GwTxn          *txn,
                                  const GwCard   *card,
                                  const guint8    lookup[32],
                                  const char     *last4,
                                  gboolean        remove,
                                  GwPhoneResult  *result,
                                  GError        **error)
{
  const GwPhoneStoreFuncs *phone = PHONE (txn);
  char owner[40];
  GError *local = NULL;

  *result = GW_PHONE_OK;
  if (remove)
    {
      if (!phone->calling_number_delete (txn, lookup, card->id, &local))
        {
          if (local != NULL)
            return g_propagate_error (error, local), FALSE;
          *result = GW_PHONE_NUMBER_NOT_FOUND;
        }
      return TRUE;
    }

  if (phone->calling_number_card (txn, lookup, owner, &local))
    {
      gboolean gone;

      if (g_str_equal (owner, card->id))
        return TRUE;
      /* A line stays with a card until that card is closed or expired
       * (nobody could remove it then: removing needs the card to pass). */
      if (!owner_gone (txn, owner, &gone, error))
        return FALSE;
      if (!gone)
        return *result = GW_PHONE_NUMBER_TAKEN, TRUE;
      if (!phone->calling_number_delete (txn, lookup, owner, &local) && local != NULL)
        return g_propagate_error (error, local), FALSE;
    }
  else if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return phone->calling_number_put (txn, lookup, card->id, last4, error);
}

/* Whoever knew the old password could have registered a line, which pays
 * with no password at all: a new password leaves none behind. */
gboolean
gw_phone_forget_calling_numbers (GwTxn       *txn,
                                 const char  *card_id,
                                 GError     **error)
{
  return PHONE (txn)->calling_numbers_forget (txn, card_id, error);
}

GArray *
gw_phone_calling_numbers (GwTxn       *txn,
                          const char  *card_id,
                          GError     **error)
{
  return PHONE (txn)->calling_numbers_of_card (txn, card_id, error);
}

void
gw_phone_calling_number_id (const GwLedgerConfig *config,
                            const char           *card_id,
                            const guint8          lookup[32],
                            char                  out[GW_PHONE_LINE_ID_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";
  g_autoptr(GString) input = g_string_new ("calling-number-id\n");
  guint8 mac[32] = { 0 };

  /* Domain-separated from the numbers' own hashes, under the same key. */
  g_string_append (input, card_id);
  g_string_append_c (input, '\n');
  g_string_append_len (input, (const char *) lookup, 32);
  onepin_key_hmac (config->lookup_key, input->str, input->len, mac);
  memcpy (out, "cn_", 3);
  for (guint i = 0; i < (GW_PHONE_LINE_ID_LEN - 3) / 2; i++)
    {
      out[3 + 2 * i] = hex[mac[i] >> 4];
      out[4 + 2 * i] = hex[mac[i] & 0xf];
    }
  out[GW_PHONE_LINE_ID_LEN] = '\0';
}

/* The card holds a few lines at most: each one's id is made and compared. */
gboolean
gw_phone_remove_calling_number_id (GwTxn                *txn,
                                   const GwLedgerConfig *config,
                                   const GwCard         *card,
                                   const char           *id,
                                   GwPhoneCallingNumber *removed,
                                   GwPhoneResult        *result,
                                   GError              **error)
{
  g_autoptr(GArray) lines = gw_phone_calling_numbers (txn, card->id, error);

  if (lines == NULL)
    return FALSE;
  *result = GW_PHONE_NUMBER_NOT_FOUND;
  for (guint i = 0; i < lines->len; i++)
    {
      const GwPhoneCallingNumber *line = &g_array_index (lines, GwPhoneCallingNumber, i);
      char line_id[GW_PHONE_LINE_ID_LEN + 1];

      gw_phone_calling_number_id (config, card->id, line->lookup, line_id);
      if (!g_str_equal (line_id, id))
        continue;
      *removed = *line;
      return gw_phone_register_calling_number (txn, card, line->lookup, line->last4, TRUE,
                                               result, error);
    }
  return TRUE;
}
