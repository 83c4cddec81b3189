/* gw-receipts.c: card holders' contact details and payment receipts
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-receipts.h"

#include <string.h>

#include "gw-notify.h"
#include "gw-outbox-store.h"
#include "onepin-json.h"

void
gw_card_profile_clear (GwCardProfile *profile)
{
  g_clear_pointer (&profile->name, g_free);
  g_clear_pointer (&profile->email, g_free);
  g_clear_pointer (&profile->phone, g_free);
}

static char *
contact_aad (const char *card_id)
{
  return g_strconcat ("card_contact\n", card_id, NULL);
}

static char *
member_dup (JsonObject *object,
            const char *name)
{
  const char *value = onepin_json_get_string (object, name, NULL);

  return value != NULL && value[0] != '\0' ? g_strdup (value) : NULL;
}

/* Opens the sealed contact into @profile's name, email and phone. */
static gboolean
open_contact (OnepinKey      *seal_key,
              const char     *card_id,
              GBytes         *sealed,
              GwCardProfile  *profile,
              GError        **error)
{
  g_autofree char *aad = contact_aad (card_id);
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(JsonObject) contact = NULL;
  gsize len;
  const char *text;

  plain = onepin_key_open (seal_key, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed),
                           aad, strlen (aad), error);
  if (plain == NULL)
    return FALSE;
  text = g_bytes_get_data (plain, &len);
  contact = onepin_json_parse_object (text, len, error);
  if (contact == NULL)
    return FALSE;
  profile->name = member_dup (contact, "name");
  profile->email = member_dup (contact, "email");
  profile->phone = member_dup (contact, "phone");
  return TRUE;
}

gboolean
gw_card_profile_get (GwTxn          *txn,
                     OnepinKey      *seal_key,
                     const char     *card_id,
                     GwCardProfile  *out,
                     GError        **error)
{
  const GwOutboxFuncs *outbox = gw_txn_extension (txn, GW_OUTBOX_STORE);
  GwCardContact contact = { 0 };
  GError *local = NULL;
  gboolean ok;

  memset (out, 0, sizeof *out);
  g_strlcpy (out->receipts, "none", sizeof out->receipts);
  g_strlcpy (out->locale, "ko", sizeof out->locale);
  if (!outbox->contact_get (txn, card_id, &contact, &local))
    return local == NULL || (g_propagate_error (error, local), FALSE);

  out->exists = TRUE;
  g_strlcpy (out->receipts, contact.receipts, sizeof out->receipts);
  g_strlcpy (out->locale, contact.locale, sizeof out->locale);
  out->updated = contact.updated;
  ok = open_contact (seal_key, card_id, contact.contact_sealed, out, error);
  gw_card_contact_clear (&contact);
  return ok;
}

gboolean
gw_card_profile_put (GwTxn                *txn,
                     OnepinKey            *seal_key,
                     const char           *card_id,
                     const GwCardProfile  *profile,
                     GError              **error)
{
  const GwOutboxFuncs *outbox = gw_txn_extension (txn, GW_OUTBOX_STORE);
  g_autoptr(GString) json = g_string_new ("{\"name\":");
  g_autofree char *aad = contact_aad (card_id);
  GwCardContact contact = { 0 };
  gboolean ok;

  onepin_json_append_string (json, profile->name);
  g_string_append (json, ",\"email\":");
  onepin_json_append_string (json, profile->email);
  g_string_append (json, ",\"phone\":");
  onepin_json_append_string (json, profile->phone);
  g_string_append_c (json, '}');

  contact.contact_sealed = onepin_key_seal (seal_key, json->str, json->len, aad, strlen (aad),
                                            error);
  if (contact.contact_sealed == NULL)
    return FALSE;
  g_strlcpy (contact.receipts, profile->receipts, sizeof contact.receipts);
  g_strlcpy (contact.locale, profile->locale, sizeof contact.locale);
  contact.updated = txn->funcs->now (txn);
  ok = outbox->contact_put (txn, card_id, &contact, error);
  gw_card_contact_clear (&contact);
  return ok;
}

gboolean
gw_card_profile_first_locale (GwTxn       *txn,
                              OnepinKey   *seal_key,
                              const char  *card_id,
                              const char  *locale,
                              GError     **error)
{
  g_auto(GwCardProfile) profile = { 0 };

  if (locale == NULL)
    return TRUE;
  if (!gw_card_profile_get (txn, seal_key, card_id, &profile, error))
    return FALSE;
  if (profile.exists)
    return TRUE;
  g_strlcpy (profile.locale, locale, sizeof profile.locale);
  return gw_card_profile_put (txn, seal_key, card_id, &profile, error);
}

static char *
receipt_data (const GwPayment *payment,
              const char      *merchant_name,
              gint64           balance_after,
              gint64           now)
{
  g_autoptr(GString) data = g_string_new ("{\"merchant_name\":");

  onepin_json_append_string (data, merchant_name);
  g_string_append_printf (data, ",\"amount\":%" G_GINT64_FORMAT ",\"currency\":",
                          payment->amount_captured);
  onepin_json_append_string (data, payment->currency);
  g_string_append_printf (data, ",\"balance_after\":%" G_GINT64_FORMAT ",\"card_last4\":",
                          balance_after);
  onepin_json_append_string (data, payment->card_last4);
  g_string_append_printf (data, ",\"created\":%" G_GINT64_FORMAT ",\"payment_id\":", now);
  onepin_json_append_string (data, payment->id);
  g_string_append_c (data, '}');
  return g_string_free (g_steal_pointer (&data), FALSE);
}

gboolean
gw_receipts_queue (GwTxn            *txn,
                   OnepinKey        *seal_key,
                   const GwPayment  *payment,
                   gint64            balance_after,
                   GError          **error)
{
  const GwOutboxFuncs *outbox = gw_txn_extension (txn, GW_OUTBOX_STORE);
  g_auto(GwCardProfile) profile = { 0 };
  g_autoptr(GError) unreadable = NULL;
  g_autofree char *data = NULL;
  GwCardContact contact = { 0 };
  GError *local = NULL;
  gboolean by_email;
  const char *to;
  gboolean ok;

  if (!outbox->receipt_contact (txn, payment->card_id, payment->merchant_id, &contact, &local))
    return local == NULL || (g_propagate_error (error, local), FALSE);

  by_email = g_str_equal (contact.receipts, "email");
  if (!open_contact (seal_key, payment->card_id, contact.contact_sealed, &profile, &unreadable))
    {
      g_warning ("receipt for %s skipped: the card's contact cannot be opened: %s", payment->id,
                 unreadable->message);
      gw_card_contact_clear (&contact);
      return TRUE;
    }
  to = by_email ? profile.email : profile.phone;
  data = receipt_data (payment, contact.merchant_name, balance_after, txn->funcs->now (txn));
  ok = to == NULL ||
       gw_notify_enqueue (txn, &(GwNotification) {
                            by_email ? GW_NOTIFY_EMAIL : GW_NOTIFY_SMS, to, contact.locale,
                            "payment_receipt", data, payment->id },
                          error);
  gw_card_contact_clear (&contact);
  return ok;
}
