/* bank-keys.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "bank-keys.h"

#include <glib/gstdio.h>
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
  explicit_bzero (raw, sizeof raw);
  return key;
}

/* The secret's text is the HMAC key, so the program at the other end,
 * reading the same file, needs no agreement on any encoding. */
static OnepinKey *
secret_key (const char  *secret,
            GError     **error)
{
  return onepin_key_new_hmac ((const guint8 *) secret, strlen (secret), error);
}

static void
wipe (char *secret)
{
  if (secret != NULL)
    explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

static gboolean
same_file (const char *a,
           const char *b)
{
  GStatBuf sa, sb;

  /* Both were just loaded: a stat that fails now leaves the keys' own
   * comparison to tell. */
  return g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

typedef struct
{
  const char *name;
  const char *path;
  const char *text;
} Secret;

/* Each key opens routes of its own, and each secret signs messages of its
 * own: two that were one file, or one text, would give whoever holds the
 * one the other's powers (a mall the operator's, closing reconciliations;
 * the gateway's, charging; or anyone with a bearer key, forging the card
 * network's messages or the deposit callbacks). The error names the
 * secrets and their files, never what they hold. */
static gboolean
check_distinct (const Secret  *secrets,
                gsize          n,
                GError       **error)
{
  for (gsize i = 0; i < n; i++)
    for (gsize j = i + 1; j < n; j++)
      {
        const char *how;
        g_autofree char *one = NULL;
        g_autofree char *other = NULL;

        if (same_file (secrets[i].path, secrets[j].path))
          how = "are the same file";
        else if (onepin_crypto_str_equal (secrets[i].text, secrets[j].text))
          how = "hold the same key";
        else
          continue;
        one = g_filename_display_name (secrets[i].path);
        other = g_filename_display_name (secrets[j].path);
        g_set_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_KEY_FILE,
                     "the %s (%s) and the %s (%s) %s: whoever holds one would have the "
                     "other's powers; give each a key of its own, in a file of its own",
                     secrets[i].name, one, secrets[j].name, other, how);
        return FALSE;
      }
  return TRUE;
}

BankKeys *
bank_keys_load (const BankKeyPaths  *paths,
                GError             **error)
{
  g_autoptr(BankKeys) keys = g_new0 (BankKeys, 1);
  g_autoptr(OnepinKey) master = NULL;
  g_autofree char *callback = NULL;
  g_autofree char *network = NULL;
  guint8 raw[32];
  gboolean ok;

  if (!onepin_key_file_load_or_create (paths->master, raw, sizeof raw, error))
    return NULL;
  master = onepin_key_new_hmac (raw, sizeof raw, error);
  explicit_bzero (raw, sizeof raw);
  if (master == NULL)
    return NULL;

  if (!(keys->lookup = derive (master, "onepin-bank card lookup v1", error)) ||
      !(keys->password = derive (master, "onepin-bank password v1", error)) ||
      !(keys->fingerprint = derive (master, "onepin-bank fingerprint v1", error)) ||
      !(keys->api_key = onepin_secret_file_load_or_create (paths->api_key, "bk_", error)) ||
      !(keys->sms_key = onepin_secret_file_load_or_create (paths->sms_key, "sms_", error)) ||
      !(keys->acquirer_key = onepin_secret_file_load_or_create (paths->acquirer_key, "ak_",
                                                                error)) ||
      !(keys->operator_key = onepin_secret_file_load_or_create (paths->operator_key, "op_",
                                                                error)) ||
      !(callback = onepin_secret_file_load_or_create (paths->callback_secret, "whsec_",
                                                      error)) ||
      !(network = onepin_secret_file_load_or_create (paths->network_secret, "nwsec_", error)))
    {
      wipe (g_steal_pointer (&callback));
      return NULL;
    }

  ok = check_distinct ((const Secret[]) {
                         { "API key", paths->api_key, keys->api_key },
                         { "SMS key", paths->sms_key, keys->sms_key },
                         { "acquirer key", paths->acquirer_key, keys->acquirer_key },
                         { "operator key", paths->operator_key, keys->operator_key },
                         { "callback secret", paths->callback_secret, callback },
                         { "network secret", paths->network_secret, network },
                       }, 6, error) &&
       (keys->callback = secret_key (callback, error)) != NULL &&
       (keys->network = secret_key (network, error)) != NULL;
  wipe (g_steal_pointer (&callback));
  wipe (g_steal_pointer (&network));
  return ok ? g_steal_pointer (&keys) : NULL;
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
  g_clear_pointer (&keys->network, onepin_key_free);
  g_free (keys->api_key);
  g_free (keys->sms_key);
  g_free (keys->acquirer_key);
  g_free (keys->operator_key);
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
  explicit_bzero (text, strlen (text));
}
