/* gw-connector.c: the financial system interface
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-connector.h"

G_DEFINE_QUARK (gw-connector-error-quark, gw_connector_error)
G_DEFINE_INTERFACE (GwConnector, gw_connector, G_TYPE_OBJECT)

static void
gw_connector_default_init (GwConnectorInterface *iface)
{
}

void
gw_charge_result_free (GwChargeResult *result)
{
  if (result == NULL)
    return;
  g_free (result->reference);
  g_free (result->decline_code);
  g_free (result->message);
  g_free (result->virtual_bank);
  g_free (result->virtual_account);
  g_free (result->currency);
  g_free (result);
}

/* Whether @result is for @amount in @currency, where it names them. An
 * approval of another sum (a short deposit, a bank and a charge row that
 * disagree) must credit nothing: every caller gives such money back. */
gboolean
gw_charge_result_matches (const GwChargeResult *result,
                          gint64                amount,
                          const char           *currency)
{
  return (result->amount == 0 || result->amount == amount) &&
         (result->currency == NULL || g_str_equal (result->currency, currency));
}

#define IFACE(self) GW_CONNECTOR_GET_IFACE (self)

void
gw_connector_charge_async (GwConnector           *self,
                           const GwChargeRequest *request,
                           GCancellable          *cancellable,
                           GAsyncReadyCallback    callback,
                           gpointer               user_data)
{
  g_return_if_fail (GW_IS_CONNECTOR (self));
  g_return_if_fail (request != NULL && request->idempotency_key != NULL);
  IFACE (self)->charge_async (self, request, cancellable, callback, user_data);
}

GwChargeResult *
gw_connector_charge_finish (GwConnector   *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return IFACE (self)->charge_finish (self, result, error);
}

void
gw_connector_query_async (GwConnector         *self,
                          const char          *idempotency_key,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (GW_IS_CONNECTOR (self));
  g_return_if_fail (idempotency_key != NULL);
  IFACE (self)->query_async (self, idempotency_key, cancellable, callback, user_data);
}

GwChargeResult *
gw_connector_query_finish (GwConnector   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  return IFACE (self)->query_finish (self, result, error);
}

void
gw_connector_void_async (GwConnector         *self,
                         const char          *idempotency_key,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (GW_IS_CONNECTOR (self));
  g_return_if_fail (idempotency_key != NULL);
  IFACE (self)->void_async (self, idempotency_key, cancellable, callback, user_data);
}

GwChargeResult *
gw_connector_void_finish (GwConnector   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  return IFACE (self)->void_finish (self, result, error);
}

void
gw_connector_payout_async (GwConnector           *self,
                           const GwChargeRequest *request,
                           GCancellable          *cancellable,
                           GAsyncReadyCallback    callback,
                           gpointer               user_data)
{
  g_return_if_fail (GW_IS_CONNECTOR (self));
  g_return_if_fail (request != NULL && request->idempotency_key != NULL);
  IFACE (self)->payout_async (self, request, cancellable, callback, user_data);
}

GwChargeResult *
gw_connector_payout_finish (GwConnector   *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return IFACE (self)->payout_finish (self, result, error);
}

gboolean
gw_connector_verify_callback (GwConnector *self,
                              GBytes      *body,
                              const char  *signature)
{
  g_return_val_if_fail (GW_IS_CONNECTOR (self), FALSE);
  if (body == NULL || signature == NULL)
    return FALSE;
  return IFACE (self)->verify_callback (self, body, signature);
}

GwChargeResult *
gw_connector_parse_callback (GwConnector  *self,
                             GBytes       *body,
                             char        **idempotency_key,
                             GError      **error)
{
  g_return_val_if_fail (GW_IS_CONNECTOR (self), NULL);
  g_return_val_if_fail (body != NULL && idempotency_key != NULL, NULL);
  if (IFACE (self)->parse_callback == NULL)
    return g_set_error_literal (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_INVALID,
                                "This connector takes no callbacks"), NULL;
  return IFACE (self)->parse_callback (self, body, idempotency_key, error);
}

void
gw_connector_shutdown (GwConnector *self)
{
  g_return_if_fail (GW_IS_CONNECTOR (self));
  if (IFACE (self)->shutdown != NULL)
    IFACE (self)->shutdown (self);
}
