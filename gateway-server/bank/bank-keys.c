/* bank-keys.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "bank-keys.h"

#include <string.h>

static OnepinKey *
derive (OnepinKey   *master,
        const char  *label,
        GError     **error)
{
  guint8 raw[32];
  OnepinKey *key;

  onepin_key_hmac (master, label, strlen (label), raw);
  key = onepin_key_new_hmac (raw, sizeof raw, error);
  memset (raw, 0, sizeof raw);
  return key;
}

BankKeys *
bank_keys_load (const char  *master_path,
                const char  *api_key_path,
                const char  *sms_key_path,
                const char  *callback_secret_path,
                GError     **error)
{
  g_autoptr(BankKeys) keys = g_new0 (BankKeys, 1);
  g_autoptr(OnepinKey) master = NULL;
  g_autofree char *callback_secret = NULL;
  guint8 raw[32];

  if (!onepin_key_file_load_or_create (master_path, raw, sizeof raw, error))
    return NULL;
  master = onepin_key_new_hmac (raw, sizeof raw, error);
  memset (raw, 0, sizeof raw);
  if (master == NULL)
    return NULL;

  if (!(keys->lookup = derive (master, "onepin-bank card lookup v1", error)) ||
      !(keys->password = derive (master, "onepin-bank password v1", error)) ||
      !(keys->fingerprint = derive (master, "onepin-bank fingerprint v1", error)) ||
      !(keys->api_key = onepin_secret_file_load_or_create (api_key_path, "bk_", error)) ||
      !(keys->sms_key = onepin_secret_file_load_or_create (sms_key_path, "sms_", error)) ||
      !(callback_secret = onepin_secret_file_load_or_create (callback_secret_path, "whsec_",
                                                             error)))
    return NULL;

  /* The secret's text is the HMAC key, so the gateway, reading the same
   * file, needs no agreement on any encoding. */
  keys->callback = onepin_key_new_hmac ((const guint8 *) callback_secret,
                                        strlen (callback_secret), error);
  memset (callback_secret, 0, strlen (callback_secret));
  if (keys->callback == NULL)
    return NULL;
  return g_steal_pointer (&keys);
}

void
bank_keys_free (BankKeys *keys)
{
  if (keys == NULL)
    return;
  g_clear_pointer (&keys->lookup, onepin_key_free);
  g_clear_pointer (&keys->password, onepin_key_free);
  g_clear_pointer (&keys->fingerprint, onepin_key_free);
  g_clear_pointer (&keys->callback, onepin_key_free);
  g_free (keys->api_key);
  g_free (keys->sms_key);
  g_free (keys);
}

void
bank_keys_card_lookup (const BankKeys *keys,
                       const char     *number,
                       guint8          out[32])
{
  onepin_key_hmac (keys->lookup, number, strlen (number), out);
}

void
bank_keys_password_mac (const BankKeys *keys,
                        const char     *account,
                        const char     *password,
                        guint8          out[32])
{
  g_autofree char *text = g_strconcat (account, "\n", password, NULL);

  onepin_key_hmac (keys->password, text, strlen (text), out);
  memset (text, 0, strlen (text));
}
