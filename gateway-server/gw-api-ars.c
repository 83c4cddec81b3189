/* gw-api-ars.c: the ARS menu, driven over HTTP by a mobile operator's IVR
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The IVR opens a session when a call comes in, plays each prompt's text,
 * collects the digits it asks for and posts them with the prompt's step.
 * The menu itself is in gw-ars.c.
 */
#include "gw-api-phone.h"

#include <string.h>

#include "gw-ars.h"

typedef struct
{
  char     merchant_id[40];
  char    *calling_number;
  char     locale[3];
  char    *session_id;
  gint64   step;
  char    *digits;
} ArsData;

static void
ars_data_free (gpointer data)
{
  ArsData *ars = data;

  g_free (ars->calling_number);
  g_free (ars->session_id);
  if (ars->digits != NULL)
    explicit_bzero (ars->digits, strlen (ars->digits));   /* may be a password */
  g_free (ars->digits);
  g_free (ars);
}

static void
render (GString            *out,
        const GwArsSession *session,
        const GwArsPrompt  *prompt)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "id", session->id);
  gw_json_str (out, "object", "ars_session");
  gw_json_str (out, "state", session->state);
  gw_json_str (out, "locale", session->locale);
  gw_json_str (out, "calling_number_last4", session->calling_last4);
  gw_json_int (out, "step", session->step);
  g_string_append (out, ",\"prompt\":{");
  gw_json_str (out, "text", prompt->text);
  gw_json_int (out, "min_digits", prompt->min_digits);
  gw_json_int (out, "max_digits", prompt->max_digits);
  gw_json_str (out, "terminator", prompt->terminator ? "#" : NULL);
  gw_json_bool (out, "secret", prompt->secret);
  g_string_append_c (out, '}');
  gw_json_bool (out, "done", prompt->done);
  gw_json_int (out, "expires_at", session->expires_at);
  g_string_append_c (out, '}');
}

static gboolean
reply (GwCall             *call,
       GwPhoneResult       result,
       const GwArsSession *session,
       const GwArsPrompt  *prompt)
{
  GString *body;

  if (result != GW_PHONE_OK)
    return gw_api_phone_reply_result (call, result, NULL), TRUE;
  body = g_string_sized_new (1024);
  render (body, session, prompt);
  gw_call_ok (call, body);
  call->seal = TRUE;     /* it may read out a card's balance and usage */
  return TRUE;
}

static gboolean
start_apply (GwTxn   *txn,
             GwCall  *call,
             GError **error)
{
  ArsData *data = call->data;
  g_auto(GwArsSession) session = { 0 };
  g_auto(GwArsPrompt) prompt = { 0 };
  GwPhoneResult result;

  if (!gw_ars_start (txn, gw_server_get_ledger_config (call->server), data->merchant_id,
                     data->calling_number, data->locale, &session, &prompt, &result, error))
    return FALSE;
  return reply (call, result, &session, &prompt);
}

void
gw_api_ars_sessions_create (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "calling_number", ONEPIN_JSON_STRING, TRUE },
    { "locale", ONEPIN_JSON_STRING, FALSE },
  };
  static const char *locales[] = { "ko", "en", NULL };
  g_autofree char *calling = NULL;
  const char *locale;
  ArsData *data;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  /* A refusal answers the request, whose body then goes. */
  calling = gw_api_phone_read_calling_number (request);
  if (calling == NULL)
    return;
  locale = onepin_json_get_string (request->body, "locale", "ko");
  if (!g_strv_contains (locales, locale))
    return gw_request_bad_param (request, "locale", "locale must be ko or en.");

  data = g_new0 (ArsData, 1);
  g_strlcpy (data->merchant_id, request->merchant_id, sizeof data->merchant_id);
  data->calling_number = g_steal_pointer (&calling);
  g_strlcpy (data->locale, locale, sizeof data->locale);
  gw_call_submit (gw_call_new (request, start_apply, data, ars_data_free));
}

static gboolean
input_apply (GwTxn   *txn,
             GwCall  *call,
             GError **error)
{
  ArsData *data = call->data;
  g_auto(GwArsSession) session = { 0 };
  g_auto(GwArsPrompt) prompt = { 0 };
  GwPhoneResult result;

  if (!gw_ars_input (txn, gw_server_get_ledger_config (call->server), data->merchant_id,
                     data->session_id, data->step, data->digits, &session, &prompt, &result,
                     error))
    return FALSE;
  /* Counted like a refusal online, and against the caller (below). */
  call->outcome.credential_failure = prompt.credential_failure;
  return reply (call, result, &session, &prompt);
}

typedef struct
{
  const char   *id;
  GwArsSession  session;
  gboolean      found;
} SessionRead;

static gboolean
session_read_apply (GwTxn    *txn,
                    gpointer  user_data,
                    GError  **error)
{
  SessionRead *read = user_data;
  const GwPhoneStoreFuncs *phone = gw_txn_extension (txn, "phone");
  GError *local = NULL;

  read->found = phone->ars_get (txn, read->id, &read->session, &local);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

/* What the session's caller's refusals count against: a keyed hash of the
 * calling number, so that a caller cannot try card numbers and passwords
 * without limit by calling again, and the operator's IVR, one address for
 * all its callers, is not limited as one. NULL when the session has no
 * caller any more (ended, or unknown), where the writer refuses the input
 * before any card is looked at. */
static char *
caller_key (GwRequest *request)
{
  const GwLedgerConfig *config = gw_server_get_ledger_config (request->server);
  g_auto(GwArsSession) session = { 0 };
  SessionRead read = { .id = request->path_id };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) number = NULL;
  g_autoptr(GString) input = g_string_new ("ars-caller\n");
  GString *key;
  guint8 hash[32];
  gboolean ok = gw_store_read (gw_server_get_store (request->server), session_read_apply, &read,
                               &error);

  session = read.session;      /* cleared on every way out */
  if (!ok)
    {
      g_warning ("ARS session read failed: %s", error->message);
      return NULL;
    }
  if (!read.found || session.calling_sealed == NULL)
    return NULL;
  number = onepin_key_open (config->seal_key, g_bytes_get_data (session.calling_sealed, NULL),
                            g_bytes_get_size (session.calling_sealed), session.id,
                            strlen (session.id), &error);
  if (number == NULL)
    {
      g_warning ("ARS calling number unreadable: %s", error->message);
      return NULL;
    }
  g_string_append_len (input, g_bytes_get_data (number, NULL), g_bytes_get_size (number));
  onepin_key_hmac (config->lookup_key, input->str, input->len, hash);
  explicit_bzero (input->str, input->len);
  key = g_string_new ("ars\n");
  for (guint i = 0; i < sizeof hash; i++)
    g_string_append_printf (key, "%02x", hash[i]);
  return g_string_free (key, FALSE);
}

void
gw_api_ars_sessions_input (GwRequest *request)
{
  static const OnepinJsonField fields[] = {
    { "step", ONEPIN_JSON_INT, TRUE },
    { "digits", ONEPIN_JSON_STRING, TRUE },
  };
  g_autofree char *key = NULL;
  g_autofree char *caller = NULL;
  const char *digits;
  gint64 step;
  ArsData *data;

  if (!gw_request_check_body (request, fields, G_N_ELEMENTS (fields)))
    return;
  step = onepin_json_get_int (request->body, "step", 0);
  digits = onepin_json_get_string (request->body, "digits", "");
  if (step < 1 || step > G_MAXINT32)
    return gw_request_bad_param (request, "step", "step must be the prompt's step, from 1.");
  if (strlen (digits) > GW_ARS_MAX_DIGITS || strspn (digits, "0123456789*#") != strlen (digits))
    return gw_request_bad_param (request, "digits",
                                 "digits must be at most 64 of 0-9, * and #.");

  /* A retried step replays its first answer, so a purchase is never made
   * twice. */
  key = g_strdup_printf ("ars-session\n%s\n%" G_GINT64_FORMAT, request->path_id, step);
  gw_request_use_idempotency_key (request, key);

  caller = caller_key (request);
  if (caller != NULL &&
      !gw_request_admit_limited (request, caller, "Too many refused card numbers or passwords "
                                 "from this calling number. Wait a minute."))
    return;

  data = g_new0 (ArsData, 1);
  g_strlcpy (data->merchant_id, request->merchant_id, sizeof data->merchant_id);
  data->session_id = g_strdup (request->path_id);
  data->step = step;
  data->digits = g_strdup (digits);
  gw_call_submit (gw_call_new (request, input_apply, data, ars_data_free));
}
