/* onepin-test-wallet.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-test-wallet.h"

void
ot_wallet_free (OtWallet *w)
{
  if (w == NULL)
    return;
  g_free (w->login_id);
  g_free (w->user_id);
  g_free (w->token);
  g_free (w->email);
  g_free (w->phone);
  g_free (w->card_id);
  g_free (w->number);
  g_free (w->cvc);
  g_free (w->expiry);
  g_free (w->expiry_yymm);
  g_free (w);
}

OtWallet *
ot_wallet_new (OtGateway  *gw,
               const char *receipt_channel)
{
  static guint serial;
  OtWallet *w = g_new0 (OtWallet, 1);
  g_autofree char *body = NULL;
  g_autoptr(OtResponse) user = NULL;
  g_autoptr(OtResponse) session = NULL;
  g_autoptr(OtResponse) card = NULL;
  JsonObject *o;

  serial++;
  w->login_id = g_strdup_printf ("shopper%u-%04x", serial, g_random_int_range (0, 0xffff));
  w->email = g_strdup_printf ("%s@wallet.example", w->login_id);
  w->phone = g_strdup_printf ("010-5555-%04u", serial % 10000);
  body = g_strdup_printf ("{\"login_id\":\"%s\",\"password\":\"correct horse\","
                          "\"name\":\"Shopper %u\",\"email\":\"%s\",\"phone\":\"%s\","
                          "\"receipt_channel\":\"%s\"}", w->login_id, serial, w->email,
                          w->phone, receipt_channel);
  user = ot_request (gw, "POST", "/v1/wallet/users", NULL, NULL, body);
  ot_assert_status (user, 201);
  w->user_id = g_strdup (ot_json_string (ot_response_object (user), "id"));

  g_free (body);
  body = g_strdup_printf ("{\"login_id\":\"%s\",\"password\":\"correct horse\"}", w->login_id);
  session = ot_request (gw, "POST", "/v1/wallet/sessions", NULL, NULL, body);
  ot_assert_status (session, 201);
  w->token = g_strdup (ot_json_string (ot_response_object (session), "token"));

  card = ot_request (gw, "POST", "/v1/wallet/card", w->token, NULL,
                     "{\"password\":\"" OT_WALLET_CARD_PASSWORD "\"}");
  ot_assert_status (card, 201);
  o = ot_response_object (card);
  w->card_id = g_strdup (ot_json_string (o, "id"));
  w->number = g_strdup (ot_json_string (o, "number"));
  w->cvc = g_strdup (ot_json_string (o, "cvc"));
  w->expiry = g_strdup_printf ("%02d/%02d", (int) ot_json_int (o, "exp_month"),
                               (int) (ot_json_int (o, "exp_year") % 100));
  w->expiry_yymm = g_strdup_printf ("%02d%02d", (int) (ot_json_int (o, "exp_year") % 100),
                                    (int) ot_json_int (o, "exp_month"));
  return w;
}

void
ot_wallet_fund (OtGateway *gw,
                OtWallet  *w,
                gint64     amount)
{
  g_autoptr(OtResponse) source = NULL;
  g_autoptr(OtResponse) charge = NULL;
  g_autofree char *body = NULL;
  g_autofree char *key = g_strdup_printf ("fund-%s-%u", w->user_id, g_random_int ());

  source = ot_request (gw, "POST", "/v1/wallet/funding-sources", w->token, NULL,
                       "{\"type\":\"credit_card\",\"credit_card\":{\"number\":"
                       "\"4242424242424242\",\"expiry\":\"12/30\",\"holder\":\"TEST HOLDER\"}}");
  if (source->status != 409)
    ot_assert_status (source, 201);
  if (source->status == 201)
    body = g_strdup_printf ("{\"funding_source_id\":\"%s\",\"amount\":%" G_GINT64_FORMAT
                            ",\"cvc\":\"123\"}",
                            ot_json_string (ot_response_object (source), "id"), amount);
  else
    {
      g_autoptr(OtResponse) list = ot_request (gw, "GET", "/v1/wallet/funding-sources",
                                               w->token, NULL, NULL);
      JsonArray *data = ot_json_array (ot_response_object (list), "data");

      body = g_strdup_printf ("{\"funding_source_id\":\"%s\",\"amount\":%" G_GINT64_FORMAT
                              ",\"cvc\":\"123\"}",
                              ot_json_string (json_array_get_object_element (data, 0), "id"),
                              amount);
    }
  charge = ot_request (gw, "POST", "/v1/wallet/charges", w->token, key, body);
  ot_assert_status (charge, 201);
  g_assert_cmpstr (ot_json_string (ot_response_object (charge), "status"), ==, "succeeded");
}

void
ot_wallet_balance (OtGateway *gw,
                   OtWallet  *w,
                   gint64    *balance,
                   gint64    *available)
{
  g_autoptr(OtResponse) card = ot_request (gw, "GET", "/v1/wallet/card", w->token, NULL, NULL);

  ot_assert_status (card, 200);
  *balance = ot_json_int (ot_response_object (card), "balance");
  *available = ot_json_int (ot_response_object (card), "available");
}
