/* gw-store.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-store.h"

G_DEFINE_QUARK (gw-store-error-quark, gw_store_error)
G_DEFINE_INTERFACE (GwStore, gw_store, G_TYPE_OBJECT)

static void
gw_store_default_init (GwStoreInterface *iface)
{
}

void
gw_store_submit (GwStore          *self,
                 GwStoreApplyFunc  apply,
                 GwStoreDoneFunc   done,
                 gpointer          data)
{
  gw_store_submit_full (self, apply, done, data, GW_STORE_OP_NONE);
}

void
gw_store_submit_full (GwStore          *self,
                      GwStoreApplyFunc  apply,
                      GwStoreDoneFunc   done,
                      gpointer          data,
                      GwStoreOpFlags    flags)
{
  g_return_if_fail (GW_IS_STORE (self));

  GW_STORE_GET_IFACE (self)->submit (self, apply, done, data, flags);
}

gboolean
gw_store_read (GwStore          *self,
               GwStoreApplyFunc  apply,
               gpointer          data,
               GError          **error)
{
  g_return_val_if_fail (GW_IS_STORE (self), FALSE);

  return GW_STORE_GET_IFACE (self)->read (self, apply, data, error);
}

void
gw_store_shutdown (GwStore *self)
{
  g_return_if_fail (GW_IS_STORE (self));

  GW_STORE_GET_IFACE (self)->shutdown (self);
}

void
gw_store_plug (GwStore *self)
{
  g_return_if_fail (GW_IS_STORE (self));

  if (GW_STORE_GET_IFACE (self)->plug != NULL)
    GW_STORE_GET_IFACE (self)->plug (self);
}

void
gw_store_unplug (GwStore *self)
{
  g_return_if_fail (GW_IS_STORE (self));

  if (GW_STORE_GET_IFACE (self)->unplug != NULL)
    GW_STORE_GET_IFACE (self)->unplug (self);
}

void
gw_payment_clear (GwPayment *payment)
{
  g_clear_pointer (&payment->order_id, g_free);
  g_clear_pointer (&payment->description, g_free);
}

void
gw_payment_free (GwPayment *payment)
{
  if (payment == NULL)
    return;
  gw_payment_clear (payment);
  g_free (payment);
}

gconstpointer
gw_txn_extension (GwTxn      *txn,
                  const char *name)
{
  gconstpointer funcs = txn->funcs->extension (txn, name);

  if (funcs == NULL)
    g_error ("The store has no primitives for \"%s\"", name);
  return funcs;
}
