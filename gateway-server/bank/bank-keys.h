/* bank-keys.h: onepin-bank's keys and secrets
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * bank.key (32 raw bytes) is the bank's own master key: card numbers are
 * looked up by its HMAC and account passwords are checked against a MAC
 * under it, so neither is in the database. The API key, the SMS key and the
 * callback secret are text files the gateway and the tests read too; the
 * acquirer key is the malls', the operator key the bank's own staff's.
 * The network secret signs the card network's messages between acquirer
 * and issuer. bank_keys_load () refuses two of those six (four bearer keys,
 * two signing secrets) that are one file or one text: whoever held one
 * would have the other's powers.
 */
#pragma once

#include "onepin-crypto.h"

G_BEGIN_DECLS

typedef struct
{
  OnepinKey *lookup;          /* card number -> row */
  OnepinKey *password;        /* account password MAC */
  OnepinKey *fingerprint;     /* idempotency fingerprints of requests */
  OnepinKey *callback;        /* signs deposit callbacks */
  OnepinKey *network;         /* signs card network messages both ways */
  char      *api_key;
  char      *sms_key;
  char      *acquirer_key;    /* the malls' key for /v1/acquirer/… */
  char      *operator_key;    /* the bank's own staff: closing reconciliations */
} BankKeys;

typedef struct
{
  const char *master;
  const char *api_key;
  const char *sms_key;
  const char *callback_secret;
  const char *acquirer_key;
  const char *operator_key;
  const char *network_secret;
} BankKeyPaths;

BankKeys *bank_keys_load          (const BankKeyPaths *paths,
                                   GError         **error);
void      bank_keys_free          (BankKeys        *keys);

void      bank_keys_card_lookup   (const BankKeys  *keys,
                                   const char      *number,
                                   guint8           out[32]);
void      bank_keys_password_mac  (const BankKeys  *keys,
                                   const char      *account,
                                   const char      *password,
                                   guint8           out[32]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BankKeys, bank_keys_free)

G_END_DECLS
