/* ow-pending-card.c: an application for the representative card whose
 * number the vault does not hold yet
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-pending-card.h"

#include <string.h>

#include "onepin-json.h"

gboolean
ow_pending_card_save (OwVault     *vault,
                      const char  *user_id,
                      const char  *gateway,
                      const char  *idempotency_key,
                      GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(OwSecret) text = NULL;

  g_return_val_if_fail (user_id != NULL && gateway != NULL && idempotency_key != NULL, FALSE);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "gateway");
  json_builder_add_string_value (builder, gateway);
  json_builder_set_member_name (builder, "idempotency_key");
  json_builder_add_string_value (builder, idempotency_key);
  json_builder_end_object (builder);
  text = ow_secret_json_builder_finish (builder, NULL);
  return ow_vault_store (vault, OW_VAULT_KIND_APPLICATION, user_id, text, error);
}

char *
ow_pending_card_lookup (OwVault     *vault,
                        const char  *user_id,
                        const char  *gateway,
                        GError     **error)
{
  g_autoptr(OwSecret) text = NULL;
  g_autoptr(OwSecretJson) record = NULL;
  const char *key;

  g_return_val_if_fail (user_id != NULL && gateway != NULL, NULL);

  text = ow_vault_lookup (vault, OW_VAULT_KIND_APPLICATION, user_id, error);
  if (text == NULL)
    return NULL;
  record = onepin_json_parse_object (text, strlen (text), error);
  if (record == NULL)
    return NULL;
  key = json_object_get_string_member_with_default (record, "idempotency_key", NULL);
  /* a user id is the gateway's: another gateway's user by that id is another user */
  if (key == NULL ||
      g_strcmp0 (json_object_get_string_member_with_default (record, "gateway", NULL), gateway) != 0)
    {
      g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NOT_FOUND,
                           "No card application is pending");
      return NULL;
    }
  return g_strdup (key);
}

gboolean
ow_pending_card_clear (OwVault     *vault,
                       const char  *user_id,
                       GError     **error)
{
  g_return_val_if_fail (user_id != NULL, FALSE);

  return ow_vault_remove (vault, OW_VAULT_KIND_APPLICATION, user_id, error);
}
