/* gw-api-profile.c: the card holder's contact details and receipt choice
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * With only the number and password it reads the profile; with any other
 * field it changes those fields and keeps the rest ("" clears one). Like
 * every card-holder route it goes through the writer, since a wrong password
 * counts towards the lockout.
 */
#include "gw-api-profile.h"
#include "gw-api-wallet-private.h"

#include <string.h>

#include "gw-mime.h"
#include "gw-receipts.h"
#include "gw-wallet.h"
#include "onepin-text.h"

#define MAX_NAME_CHARS 64

typedef struct
{
  GwCredentials  credentials;
  gboolean       update;
  char          *name;              /* NULL: keep; "": clear */
  char          *email;
  char          *phone;
  char          *receipts;
  char          *locale;
} ProfileData;

static void
profile_data_free (gpointer data)
{
  ProfileData *profile = data;

  g_free (profile->name);
  g_free (profile->email);
  g_free (profile->phone);
  g_free (profile->receipts);
  g_free (profile->locale);
  g_free (profile);
}

static void
render_profile (GString             *body,
                const GwCard        *card,
                const GwCardProfile *profile)
{
  gw_json_str (body, "object", "card_profile");
  gw_json_str (body, "card_id", card->id);
  gw_json_str (body, "card_last4", card->last4);
  gw_json_str (body, "name", profile->name);
  gw_json_str (body, "email", profile->email);
  gw_json_str (body, "phone", profile->phone);
  gw_json_str (body, "receipts", profile->receipts);
  gw_json_str (body, "locale", profile->locale);
  if (profile->exists)
    gw_json_int (body, "updated", profile->updated);
  else
    gw_json_str (body, "updated", NULL);
}

/* A field the request sets: "" clears it. */
static void
merge (char       **target,
       const char  *value)
{
  if (value == NULL)
    return;
  g_free (*target);
  *target = value[0] != '\0' ? g_strdup (value) : NULL;
}

/* Receipts need somewhere to go; FALSE after setting a 400 answer. */
static gboolean
check_channel (GwCall              *call,
               const GwCardProfile *profile)
{
  const char *message = NULL;

  if (g_str_equal (profile->receipts, "email") && profile->email == NULL)
    message = "receipts \"email\" needs an email address.";
  else if (g_str_equal (profile->receipts, "sms") && profile->phone == NULL)
    message = "receipts \"sms\" needs a phone number.";
  if (message == NULL)
    return TRUE;
  call->status = 400;
  call->body = g_string_new (NULL);
  gw_error_render (call->body, "invalid_request_error", "parameter_invalid", NULL, "receipts",
                   message);
  return FALSE;
}

static gboolean
profile_apply (GwTxn   *txn,
               GwCall  *call,
               GError **error)
{
  ProfileData *data = call->data;
  OnepinKey *seal_key = gw_server_get_ledger_config (call->server)->seal_key;
  g_auto(GwCardProfile) profile = { 0 };
  GwCard card;
  GwOutcome outcome;
  GString *body;
  gboolean wallet_card;

  if (!gw_ledger_authenticate (txn, gw_server_get_ledger_config (call->server),
                               &data->credentials, &card, &outcome, error))
    return FALSE;
  if (outcome.code != GW_RESULT_OK)
    return gw_call_fail (call, &outcome, NULL), TRUE;
  /* A merchant has seen this card's number and password: a wallet's
   * representative card must not show it whom it belongs to. */
  if (!gw_wallet_owns_card (txn, card.id, &wallet_card, error))
    return FALSE;
  if (wallet_card)
    return gw_api_wallet_refuse (call, 409, "invalid_request_error", "card_managed_by_wallet",
                                 NULL, "This card's receipts are set in its wallet."), TRUE;
  if (!gw_card_profile_get (txn, seal_key, card.id, &profile, error))
    return FALSE;

  if (data->update)
    {
      merge (&profile.name, data->name);
      merge (&profile.email, data->email);
      merge (&profile.phone, data->phone);
      if (data->receipts != NULL)
        g_strlcpy (profile.receipts, data->receipts, sizeof profile.receipts);
      if (data->locale != NULL)
        g_strlcpy (profile.locale, data->locale, sizeof profile.locale);
      if (!check_channel (call, &profile))
        return TRUE;
      if (!gw_card_profile_put (txn, seal_key, card.id, &profile, error))
        return FALSE;
      profile.exists = TRUE;
      profile.updated = txn->funcs->now (txn);
    }

  body = g_string_new ("{");
  render_profile (body, &card, &profile);
  gw_json_close (body, '}');
  gw_call_ok (call, body);
  return TRUE;
}

/* Field checks on the main thread */

static gboolean
valid_name (const char *name)
{
  return g_utf8_strlen (name, -1) <= MAX_NAME_CHARS &&
         onepin_text_is_display_safe (name, ONEPIN_TEXT_ONE_LINE);
}

/* "+82 10-1234-5678" or "010-1234-5678": digits, with spaces and hyphens
 * dropped and an optional leading +, 8 to 15 of them. */
static char *
normalize_phone (const char *phone)
{
  GString *out = g_string_new (NULL);
  guint digits = 0;

  for (const char *p = phone; *p != '\0'; p++)
    {
      if (g_ascii_isdigit (*p))
        g_string_append_c (out, *p), digits++;
      else if (*p == '+' && out->len == 0 && p == phone)
        g_string_append_c (out, '+');
      else if (*p != ' ' && *p != '-')
        return g_string_free (out, TRUE), NULL;
    }
  if (digits < 8 || digits > 15)
    return g_string_free (out, TRUE), NULL;
  return g_string_free (out, FALSE);
}

static gboolean
one_of (const char *value,
        const char *a,
        const char *b,
        const char *c)
{
  return value == NULL || g_strcmp0 (value, a) == 0 || g_strcmp0 (value, b) == 0 ||
         g_strcmp0 (value, c) == 0;
}

/* Fills @data from the body; FALSE after replying 400. */
static gboolean
read_fields (GwRequest   *request,
             ProfileData *data)
{
  JsonObject *body = request->body;
  const char *name = onepin_json_get_string (body, "name", NULL);
  const char *email = onepin_json_get_string (body, "email", NULL);
  const char *phone = onepin_json_get_string (body, "phone", NULL);
  const char *receipts = onepin_json_get_string (body, "receipts", NULL);
  const char *locale = onepin_json_get_string (body, "locale", NULL);

  if (name != NULL && !valid_name (name))
    return gw_request_bad_param (request, "name",
                                 "name must be at most 64 characters, without control or invisible "
                                 "formatting characters."),
           FALSE;
  if (email != NULL && email[0] != '\0' && !gw_mime_address_valid (email))
    return gw_request_bad_param (request, "email",
                                 "email must be an address like name@example.com."), FALSE;
  if (phone != NULL && phone[0] != '\0' && !(data->phone = normalize_phone (phone)))
    return gw_request_bad_param (request, "phone",
                                 "phone must be 8 to 15 digits, optionally with a leading +."),
           FALSE;
  if (!one_of (receipts, "email", "sms", "none"))
    return gw_request_bad_param (request, "receipts",
                                 "receipts must be \"email\", \"sms\" or \"none\"."), FALSE;
  if (!one_of (locale, "ko", "en", NULL))
    return gw_request_bad_param (request, "locale", "locale must be \"ko\" or \"en\"."), FALSE;

  data->update = name || email || phone || receipts || locale;
  data->name = g_strdup (name);
  data->email = g_strdup (email);
  if (phone != NULL && data->phone == NULL)
    data->phone = g_strdup ("");
  data->receipts = g_strdup (receipts);
  data->locale = g_strdup (locale);
  return TRUE;
}

void
gw_api_cards_profile (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "number", ONEPIN_JSON_STRING, TRUE },
    { "password", ONEPIN_JSON_STRING, TRUE },
    { "name", ONEPIN_JSON_STRING, FALSE },
    { "email", ONEPIN_JSON_STRING, FALSE },
    { "phone", ONEPIN_JSON_STRING, FALSE },
    { "receipts", ONEPIN_JSON_STRING, FALSE },
    { "locale", ONEPIN_JSON_STRING, FALSE },
  };
  ProfileData *data;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  data = g_new0 (ProfileData, 1);
  if (!read_fields (request, data))
    {
      profile_data_free (data);
      return;
    }
  gw_ledger_credentials (gw_server_get_ledger_config (request->server),
                         onepin_json_get_string (request->body, "number", ""),
                         onepin_json_get_string (request->body, "password", ""),
                         &data->credentials);
  gw_call_submit (gw_call_new (request, profile_apply, data, profile_data_free));
}
