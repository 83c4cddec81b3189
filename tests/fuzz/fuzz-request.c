/* fuzz-request.c: libFuzzer harness for the gateway's request parsing
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Feeds untrusted bytes through what every POST body meets: the strict JSON
 * reader, the field checks, the canonical form used for idempotency
 * fingerprints, the payment parameter parser (single and batch item),
 * which derives card credentials from the body, and the wallet's profile
 * and funding-source parsers, the card network's messages, checkout sessions
 * and webhook endpoint URLs. The same bytes are also read as a bank
 * callback: a signature header (the first line) over a body (the rest), as
 * gw_connector_verify_callback () checks it. The telephone module's readers
 * see them too: a rate table, calling numbers and rates.
 */
#include <string.h>

#include "gw-api-checkout.h"
#include "gw-api-phone.h"
#include "gw-api-wallet.h"
#include "gw-foreign.h"
#include "gw-network.h"
#include "gw-server-private.h"
#include "onepin-contact.h"
#include "onepin-iso8583.h"
#include "onepin-signature.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static GwServer *
fuzz_server (void)
{
  static GwServer *server;
  static GwLedgerConfig ledger;
  static GwConfig *config;
  static guint8 raw[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
  guint8 admin[32] = { 0 };

  if (server != NULL)
    return server;
  g_assert (onepin_crypto_init (NULL));
  ledger.lookup_key = onepin_key_new_hmac (raw, sizeof raw, NULL);
  ledger.password_key = onepin_key_new_hmac (raw, sizeof raw, NULL);
  ledger.seal_key = onepin_key_new_aes (raw, sizeof raw, NULL);
  g_strlcpy (ledger.bin, "9410", sizeof ledger.bin);
  config = gw_config_new ();
  /* The parser needs only the ledger's keys: no store, no sockets. */
  server = gw_server_new (config, NULL, &ledger, NULL, ledger.lookup_key, ledger.password_key,
                          admin);
  return server;
}

static void
parse_payment (JsonObject *object,
               gboolean    with_key)
{
  const char *param = NULL, *message = NULL, *code = NULL;
  GwPaymentParams *params;

  params = gw_payment_params_parse (fuzz_server (), object, "mch_fuzz", with_key, &param,
                                    &message, &code);
  if (params != NULL)
    gw_payment_params_free (params);
  else
    g_assert (message != NULL && code != NULL);
}

static void
parse_wallet (JsonObject *object)
{
  static GwWalletConfig config = { .bin_low = "942000", .bin_high = "942999", .card_bin = "9410" };
  const char *param = NULL, *message = NULL, *code = NULL;
  GwFundingInput input;

  fuzz_server ();
  config.ledger = gw_server_get_ledger_config (fuzz_server ());
  for (int creating = 0; creating < 2; creating++)
    if (gw_api_wallet_check_profile (object, creating, &message) != NULL)
      g_assert (message != NULL);
  if (gw_api_wallet_parse_funding (&config, object, 1767225600, &input, &param, &code, &message))
    g_assert (input.number != NULL && strlen (input.number) >= 6 && input.holder != NULL);
  else
    g_assert (code != NULL && message != NULL &&
              (param != NULL || g_str_equal (code, "parameter_unknown")));
  gw_funding_input_clear (&input);
}

/* A card network message, as the issuer endpoint reads it, and as the
 * acquirer reads an answer. */
static void
parse_network (JsonObject *object)
{
  GwNetworkRequest request;
  const char *field = NULL;

  if (gw_network_parse (gw_server_get_ledger_config (fuzz_server ()), object, 1795297530,
                        &request, &field, NULL))
    g_assert (request.mti[0] != '\0' && request.stan[0] != '\0');
  else
    g_assert (field != NULL);
  gw_network_request_clear (&request);
  onepin_iso_check (object, TRUE, NULL, NULL);
}

/* A checkout session's body, as POST /v1/checkout_sessions reads it, and
 * every string in it as a webhook endpoint. */
static void
parse_checkout (JsonObject *object)
{
  g_autofree char *items = NULL;
  const char *code = NULL, *message = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  if (gw_checkout_check_body (object, &items, &code, &message) == NULL)
    g_assert (items != NULL && items[0] == '[');
  else
    g_assert (code != NULL && message != NULL);
  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, &node))
    if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
      gw_checkout_webhook_url_check (json_node_get_string (node), FALSE, FALSE);
}

static void
verify_signature (const guint8 *data,
                  size_t        size)
{
  static OnepinKey *key;
  static const guint8 secret[] = "whsec_fuzz";
  const guint8 *eol = memchr (data, '\n', size);
  gsize header_len = eol ? (gsize) (eol - data) : size;
  g_autofree char *header = g_strndup ((const char *) data, header_len);
  const guint8 *body = eol ? eol + 1 : data + size;

  if (key == NULL)
    key = onepin_key_new_hmac (secret, sizeof secret - 1, NULL);
  /* A forgery the fuzzer finds would be a bug too: nothing here is signed. */
  g_assert (!onepin_signature_verify (key, header, body, size - (body - data), 1700000000,
                                      ONEPIN_SIGNATURE_TOLERANCE));
}

static void
parse_phone (JsonObject   *object,
             const guint8 *data,
             size_t        size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autofree char *param = NULL;
  g_autofree char *number = NULL;
  const char *message = NULL;
  GwPhoneRateTable *table = gw_api_phone_parse_rate_table (object, &param, &message);
  gint64 rate = 0, krw = 0;

  if (table != NULL)
    gw_phone_rate_table_free (table);
  else
    g_assert (message != NULL);
  number = onepin_contact_calling_number (text);
  g_assert (number == NULL || (strlen (number) >= 4 && strlen (number) <= 20));
  if (gw_foreign_parse_rate (text, &rate))
    {
      g_autofree char *back = gw_foreign_format_rate (rate);
      gint64 again = 0;

      /* What the rate prints as reads back as the same rate. */
      g_assert (gw_foreign_parse_rate (back, &again) && again == rate);
      g_assert (gw_foreign_to_krw (1, 2, rate, &krw) && krw >= 1);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *canonical = NULL;
  g_autoptr(GError) error = NULL;

  fuzz_server ();
  verify_signature (data, size);
  {
    g_autoptr(JsonObject) empty = json_object_new ();

    parse_phone (empty, data, size);
  }
  object = onepin_json_parse_object ((const char *) data, size, &error);
  if (object == NULL)
    {
      g_assert (error != NULL && error->domain == ONEPIN_JSON_ERROR);
      return 0;
    }

  node = json_node_init_object (json_node_alloc (), object);
  canonical = onepin_json_canonical (node);
  g_assert (canonical != NULL && canonical[0] == '{');

  parse_payment (object, FALSE);
  parse_payment (object, TRUE);
  parse_wallet (object);
  parse_network (object);
  parse_checkout (object);
  parse_phone (object, data, size);
  return 0;
}
