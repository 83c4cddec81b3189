/* bank-api-sms.c: the SMS sink, an SMS provider for development
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Messages are kept, never sent; GET /v1/sms shows them. The texts may
 * carry card numbers, so they are never logged.
 */
#include "bank-server-private.h"

#include <string.h>

#define MAX_SMS_TEXT 2000

static const OnepinJsonField sms_fields[] = {
  { "to",   ONEPIN_JSON_STRING, TRUE },
  { "text", ONEPIN_JSON_STRING, TRUE },
};

/* "+82 10-1234-5678" and "+821012345678" are one recipient. */
static char *
normalize_number (const char *text)
{
  gboolean plus = text != NULL && text[0] == '+';
  g_autofree char *digits = bank_digits (plus ? text + 1 : text, 3, 20);

  if (digits == NULL)
    return NULL;
  return plus ? g_strconcat ("+", digits, NULL) : g_steal_pointer (&digits);
}

static JsonObject *
render_sms (const BankSms *sms,
            gboolean       with_text)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "id", sms->id);
  json_object_set_string_member (o, "object", "sms");
  json_object_set_string_member (o, "to", sms->to);
  if (with_text)
    json_object_set_string_member (o, "text", sms->text);
  json_object_set_int_member (o, "received_at", sms->received_at);
  return o;
}

gboolean
bank_api_sms_create (BankRequest  *request,
                     GError      **error)
{
  const char *text = onepin_json_get_string (request->body, "text", "");
  g_autofree char *to = NULL;
  BankSms sms = { 0 };
  g_autofree char *id = NULL;

  if (!bank_check_body (request, sms_fields, G_N_ELEMENTS (sms_fields)))
    return TRUE;
  to = normalize_number (onepin_json_get_string (request->body, "to", NULL));
  if (to == NULL)
    return bank_reply_bad_param (request, "to", "to is a telephone number of 3 to 20 digits");
  if (*text == '\0' || g_utf8_strlen (text, -1) > MAX_SMS_TEXT)
    return bank_reply_bad_param (request, "text", "text is 1 to 2000 characters");

  id = onepin_crypto_random_token ("sms_", 12);
  sms.id = id;
  sms.to = to;
  sms.text = (char *) text;
  sms.received_at = bank_server_now (request->server);
  if (!bank_store_sms_add (bank_server_get_store (request->server), &sms, error))
    return FALSE;
  return bank_reply (request, 202, render_sms (&sms, FALSE));
}

gboolean
bank_api_sms_list (BankRequest  *request,
                   GError      **error)
{
  const char *to_text = request->query ? g_hash_table_lookup (request->query, "to") : NULL;
  const char *limit_text = request->query ? g_hash_table_lookup (request->query, "limit") : NULL;
  g_autofree char *to = NULL;
  g_autoptr(GPtrArray) list = NULL;
  JsonObject *root;
  JsonArray *data;
  guint64 limit = 100;

  if (to_text != NULL && (to = normalize_number (to_text)) == NULL)
    return bank_reply_bad_param (request, "to", "to is a telephone number of 3 to 20 digits");
  if (limit_text != NULL && !g_ascii_string_to_unsigned (limit_text, 10, 1, 100, &limit, NULL))
    return bank_reply_bad_param (request, "limit", "limit is an integer from 1 to 100");

  list = bank_store_sms_list (bank_server_get_store (request->server), to, limit, error);
  if (list == NULL)
    return FALSE;
  root = json_object_new ();
  data = json_array_new ();
  for (guint i = 0; i < list->len; i++)
    json_array_add_object_element (data, render_sms (list->pdata[i], TRUE));
  json_object_set_string_member (root, "object", "list");
  json_object_set_array_member (root, "data", data);
  return bank_reply (request, 200, root);
}
