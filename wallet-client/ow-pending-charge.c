/* ow-pending-charge.c: a top-up sent whose outcome the wallet has not learnt
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-pending-charge.h"

#include <string.h>

#include "onepin-json.h"

OwPendingCharge *
ow_pending_charge_copy (const OwPendingCharge *pending)
{
  OwPendingCharge *copy = g_new0 (OwPendingCharge, 1);

  copy->source_id = g_strdup (pending->source_id);
  copy->amount = pending->amount;
  copy->idempotency_key = g_strdup (pending->idempotency_key);
  return copy;
}

void
ow_pending_charge_free (OwPendingCharge *pending)
{
  if (pending == NULL)
    return;
  g_free (pending->source_id);
  g_free (pending->idempotency_key);
  g_free (pending);
}

gboolean
ow_pending_charge_save (OwVault               *vault,
                        const char            *user_id,
                        const char            *gateway,
                        const OwPendingCharge *pending,
                        GError               **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(OwSecret) text = NULL;

  g_return_val_if_fail (user_id != NULL && gateway != NULL && pending != NULL, FALSE);
  g_return_val_if_fail (pending->source_id != NULL && pending->idempotency_key != NULL, FALSE);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "gateway");
  json_builder_add_string_value (builder, gateway);
  json_builder_set_member_name (builder, "source_id");
  json_builder_add_string_value (builder, pending->source_id);
  json_builder_set_member_name (builder, "amount");
  json_builder_add_int_value (builder, pending->amount);
  json_builder_set_member_name (builder, "idempotency_key");
  json_builder_add_string_value (builder, pending->idempotency_key);
  json_builder_end_object (builder);
  text = ow_secret_json_builder_finish (builder, NULL);
  return ow_vault_store (vault, OW_VAULT_KIND_CHARGE, user_id, text, error);
}

OwPendingCharge *
ow_pending_charge_lookup (OwVault     *vault,
                          const char  *user_id,
                          const char  *gateway,
                          GError     **error)
{
  g_autoptr(OwSecret) text = NULL;
  g_autoptr(OwSecretJson) record = NULL;
  OwPendingCharge found = { 0 };

  g_return_val_if_fail (user_id != NULL && gateway != NULL, NULL);

  text = ow_vault_lookup (vault, OW_VAULT_KIND_CHARGE, user_id, error);
  if (text == NULL)
    return NULL;
  record = onepin_json_parse_object (text, strlen (text), error);
  if (record == NULL)
    return NULL;
  found.source_id = (char *) json_object_get_string_member_with_default (record, "source_id", NULL);
  found.amount = json_object_get_int_member_with_default (record, "amount", 0);
  found.idempotency_key = (char *) json_object_get_string_member_with_default (record,
                                                                               "idempotency_key",
                                                                               NULL);
  /* a user id is the gateway's: another gateway's user by that id is another user */
  if (found.source_id == NULL || found.idempotency_key == NULL || found.amount <= 0 ||
      g_strcmp0 (json_object_get_string_member_with_default (record, "gateway", NULL), gateway) != 0)
    {
      g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NOT_FOUND,
                           "No charge is pending");
      return NULL;
    }
  return ow_pending_charge_copy (&found);
}

gboolean
ow_pending_charge_clear (OwVault     *vault,
                         const char  *user_id,
                         GError     **error)
{
  g_return_val_if_fail (user_id != NULL, FALSE);

  return ow_vault_remove (vault, OW_VAULT_KIND_CHARGE, user_id, error);
}
