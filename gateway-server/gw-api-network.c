/* gw-api-network.c: POST /v1/network/messages, the issuer endpoint of the
 * card network
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The acquirer (onepin-bank's card network) sends ISO 8583 fields as JSON,
 * signed with the shared network secret in an Onepin-Signature header
 * (onepin-signature.h: t=<unix>,v1=<HMAC-SHA256 of "t." and the body>,
 * 300 s either way). The answer is signed the same way. A message is named
 * by its acquirer, STAN and transmission time: that is its idempotency key,
 * so a retransmission gets the first answer byte for byte and moves no
 * money twice, and the network's own table refuses the name's reuse after
 * the idempotency record is gone.
 */
#include "gw-api-network.h"

#include <string.h>

#include "gw-network.h"
#include "onepin-iso8583.h"
#include "onepin-signature.h"

typedef struct
{
  OnepinKey *key;
} NetworkState;

G_DEFINE_QUARK (gw-api-network-state, network_state)

static void
network_state_free (gpointer data)
{
  NetworkState *state = data;

  g_clear_pointer (&state->key, onepin_key_free);
  g_free (state);
}

gboolean
gw_api_network_start (GwServer  *server,
                      GError   **error)
{
  const GwConfig *config = gw_server_get_config (server);
  g_autofree char *secret = NULL;
  NetworkState *state;

  if (config->network_secret_file == NULL)
    return TRUE;
  secret = onepin_secret_file_load (config->network_secret_file, error);
  if (secret == NULL)
    return g_prefix_error (error, "[network] secret_file: "), FALSE;
  state = g_new0 (NetworkState, 1);
  /* The secret's text is the key, as onepin-bank reads it. */
  state->key = onepin_key_new_hmac ((const guint8 *) secret, strlen (secret), error);
  explicit_bzero (secret, strlen (secret));
  if (state->key == NULL)
    return network_state_free (state), FALSE;
  g_object_set_qdata_full (G_OBJECT (server), network_state_quark (), state, network_state_free);
  return TRUE;
}

static NetworkState *
network_state (GwServer *server)
{
  return g_object_get_qdata (G_OBJECT (server), network_state_quark ());
}

/* ---- answers ------------------------------------------------------------ */

typedef struct
{
  GwNetworkRequest request;
  char            *echo;         /* the fields an answer repeats, as JSON members */
  char             mti[5];       /* the answer's type */
} Message;

static void
message_free (gpointer data)
{
  Message *message = data;

  gw_network_request_clear (&message->request);
  g_free (message->echo);
  g_free (message);
}

/* Fields 3, 4, 7, 11, 32, 37, 41, 42 and 49 come back as they were sent;
 * never the card number. */
static char *
echo_fields (JsonObject *body)
{
  static const char * const fields[] = { "3", "4", "7", "11", "32", "37", "41", "42", "49" };
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      const char *value = onepin_iso_get (body, fields[i]);

      if (value == NULL)
        continue;
      g_string_append_printf (out, ",\"%s\":", fields[i]);
      onepin_json_append_string (out, value);
    }
  return g_string_free (out, FALSE);
}

static GString *
render (const Message *message,
        const char    *code,
        const char    *approval)
{
  GString *body = g_string_sized_new (256);

  g_string_append_printf (body, "{\"mti\":\"%s\"%s", message->mti, message->echo);
  if (approval != NULL && approval[0] != '\0')
    g_string_append_printf (body, ",\"38\":\"%s\"", approval);
  g_string_append_printf (body, ",\"39\":\"%s\"}", code);
  return body;
}

static void
reply_signed (GwRequest *request,
              GString   *body)
{
  NetworkState *state = network_state (request->server);
  g_autofree char *signature = onepin_signature_header (state->key,
                                                        g_get_real_time () / G_USEC_PER_SEC,
                                                        body->str, body->len);

  soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                GW_NETWORK_SIGNATURE_HEADER, signature);
  gw_request_reply (request, 200, body);
}

/* ---- the message -------------------------------------------------------- */

static gboolean
message_apply (GwTxn   *txn,
               GwCall  *call,
               GError **error)
{
  Message *message = call->data;
  GwNetworkAnswer answer;

  if (!gw_network_apply (txn, gw_server_get_ledger_config (call->server), &message->request,
                         &answer, error))
    return FALSE;
  gw_call_ok (call, render (message, answer.response, answer.approval));
  return TRUE;
}

/* After the commit. What was not recorded (the store failed, the gateway
 * is stopping) is answered 96 or 91, so a retransmission tries again;
 * another message under a recorded name is a duplicate. */
static void
message_done (GwCall  *call,
              gpointer user_data)
{
  GwRequest *request = call->request;
  Message *message = call->data;
  GString *body;

  if (call->status == 200)
    body = g_steal_pointer (&call->body);
  else if (call->status == 422)
    body = render (message, GW_NETWORK_DUPLICATE, NULL);
  else if (call->status == 503)
    body = render (message, ONEPIN_ISO_ISSUER_UNAVAILABLE, NULL);
  else if (call->status >= 500)
    body = render (message, ONEPIN_ISO_SYSTEM_MALFUNCTION, NULL);
  else
    {
      gw_request_reply (request, call->status, g_steal_pointer (&call->body));
      call->request = NULL;
      gw_call_free (call);
      return;
    }
  reply_signed (request, body);
  call->request = NULL;
  gw_call_free (call);
}

static gboolean
verified (GwRequest    *request,
          NetworkState *state)
{
  SoupMessageBody *body = soup_server_message_get_request_body (request->msg);
  const char *header = soup_message_headers_get_one (
    soup_server_message_get_request_headers (request->msg), GW_NETWORK_SIGNATURE_HEADER);

  return onepin_signature_verify (state->key, header, body->data, body->length,
                                  g_get_real_time () / G_USEC_PER_SEC,
                                  ONEPIN_SIGNATURE_TOLERANCE);
}

/* A message we cannot read: 30 when we know what type would answer it. */
static void
refuse_format (GwRequest  *request,
               Message    *message,
               const char *field)
{
  const char *mti = onepin_iso_response_type (onepin_iso_get (request->body, "mti"));
  /* A member that is no field of ours is the sender's text (a card number
   * by mistake, say): it is not repeated. */
  const char *shown = field == NULL ? "mti" : onepin_iso_is_field (field) ? field : NULL;
  g_autofree char *text = NULL;

  if (mti == NULL || field == NULL)
    {
      text = shown ? g_strdup_printf ("Not a request of the card network: %s.", shown)
                   : g_strdup ("Not a request of the card network: a member is no field of it.");
      gw_request_error (request, 400, "invalid_request_error", "parameter_invalid", shown, text);
      return;
    }
  g_strlcpy (message->mti, mti, sizeof message->mti);
  reply_signed (request, render (message, ONEPIN_ISO_FORMAT_ERROR, NULL));
}

void
gw_api_network_messages (GwRequest *request)
{
  NetworkState *state = network_state (request->server);
  g_autoptr(GError) error = NULL;
  const char *field = NULL;
  g_autofree char *key = NULL;
  Message *message;
  GwCall *call;

  if (state == NULL)
    return gw_request_error (request, 404, "invalid_request_error", "resource_missing", NULL,
                             "The card network is not configured on this gateway.");
  if (!verified (request, state))
    return gw_request_error (request, 401, "authentication_error", "invalid_signature", NULL,
                             "The message's Onepin-Signature is missing, wrong or stale.");

  message = g_new0 (Message, 1);
  message->echo = echo_fields (request->body);
  if (!gw_network_parse (gw_server_get_ledger_config (request->server), request->body,
                         g_get_real_time () / G_USEC_PER_SEC, &message->request, &field,
                         &error))
    {
      refuse_format (request, message, field);
      message_free (message);
      return;
    }
  g_strlcpy (message->mti, onepin_iso_response_type (message->request.mti), sizeof message->mti);

  /* A message's name on the network is its key; its body holds a card
   * number and CVC, so the fingerprint is keyed. */
  g_snprintf (request->scope, sizeof request->scope, "network:%s", message->request.acquirer);
  key = g_strdup_printf ("%s/%s", message->request.stan, message->request.transmitted);
  gw_request_use_idempotency_key (request, key);
  call = gw_call_new (request, message_apply, message, message_free);
  call->done = message_done;
  gw_call_submit (call);
}
