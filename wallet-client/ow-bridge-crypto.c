/* ow-bridge-crypto.c: pairing a browser and authenticating its messages
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-bridge-crypto.h"

#include <string.h>

#include <keyhi.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secoid.h>

#include "onepin-crypto.h"
#include "ow-secret.h"

#define PAIRING_INFO "onepin-wallet pairing v1"
#define MAC_CONTEXT "onepin-wallet-v1"

G_DEFINE_QUARK (ow-bridge-crypto-error-quark, ow_bridge_crypto_error)

struct _OwEcdhKey
{
  SECKEYPrivateKey *private_key;
  SECKEYPublicKey  *public_key;
  SECItem          *params;      /* DER OID of P-256 */
};

static void
set_nss_error (GError     **error,
               int          code,
               const char  *what)
{
  const char *name = PR_ErrorToName (PORT_GetError ());

  g_set_error (error, OW_BRIDGE_CRYPTO_ERROR, code, "%s: %s", what,
               name != NULL ? name : "unknown NSS error");
}

/* The curve's parameters as PKCS #11 wants them: the DER of its OID. */
static SECItem *
p256_params (void)
{
  SECOidData *oid = SECOID_FindOIDByTag (SEC_OID_ANSIX962_EC_PRIME256V1);
  SECItem *params;

  if (oid == NULL)
    return NULL;
  params = SECITEM_AllocItem (NULL, NULL, oid->oid.len + 2);
  if (params == NULL)
    return NULL;
  params->data[0] = SEC_ASN1_OBJECT_ID;
  params->data[1] = (unsigned char) oid->oid.len;
  memcpy (params->data + 2, oid->oid.data, oid->oid.len);
  return params;
}

OwEcdhKey *
ow_ecdh_key_new (GError **error)
{
  g_autoptr(OwEcdhKey) key = g_new0 (OwEcdhKey, 1);
  PK11SlotInfo *slot;

  key->params = p256_params ();
  if (key->params == NULL)
    {
      set_nss_error (error, OW_BRIDGE_CRYPTO_ERROR_FAILED, "P-256 is not available");
      return NULL;
    }
  slot = PK11_GetInternalSlot ();
  if (slot == NULL)
    {
      set_nss_error (error, OW_BRIDGE_CRYPTO_ERROR_FAILED, "no NSS slot");
      return NULL;
    }
  /* A session key, sensitive: it never leaves softoken. */
  key->private_key = PK11_GenerateKeyPair (slot, CKM_EC_KEY_PAIR_GEN, key->params,
                                           &key->public_key, PR_FALSE, PR_TRUE, NULL);
  PK11_FreeSlot (slot);
  if (key->private_key == NULL || key->public_key == NULL ||
      key->public_key->u.ec.publicValue.len != OW_BRIDGE_PUBLIC_KEY_LEN)
    {
      set_nss_error (error, OW_BRIDGE_CRYPTO_ERROR_FAILED, "cannot make a P-256 key");
      return NULL;
    }
  return g_steal_pointer (&key);
}

void
ow_ecdh_key_free (OwEcdhKey *key)
{
  if (key == NULL)
    return;
  if (key->private_key != NULL)
    SECKEY_DestroyPrivateKey (key->private_key);
  if (key->public_key != NULL)
    SECKEY_DestroyPublicKey (key->public_key);
  if (key->params != NULL)
    SECITEM_FreeItem (key->params, PR_TRUE);
  g_free (key);
}

const guint8 *
ow_ecdh_key_get_public (OwEcdhKey *key)
{
  g_return_val_if_fail (key != NULL, NULL);
  return key->public_key->u.ec.publicValue.data;
}

/* The peer's point as a public key NSS can derive with. */
static SECKEYPublicKey *
peer_key (OwEcdhKey    *key,
          const guint8 *point,
          gsize         len)
{
  PLArenaPool *arena = PORT_NewArena (DER_DEFAULT_CHUNKSIZE);
  SECKEYPublicKey *peer;
  SECItem value = { siBuffer, (unsigned char *) point, (unsigned int) len };

  if (arena == NULL)
    return NULL;
  peer = PORT_ArenaZNew (arena, SECKEYPublicKey);
  if (peer == NULL ||
      SECITEM_CopyItem (arena, &peer->u.ec.DEREncodedParams, key->params) != SECSuccess ||
      SECITEM_CopyItem (arena, &peer->u.ec.publicValue, &value) != SECSuccess)
    {
      PORT_FreeArena (arena, PR_FALSE);
      return NULL;
    }
  peer->arena = arena;
  peer->keyType = ecKey;
  peer->pkcs11ID = CK_INVALID_HANDLE;
  peer->u.ec.size = 256;
  peer->u.ec.encoding = ECPoint_Uncompressed;
  return peer;
}

gboolean
ow_ecdh_key_agree (OwEcdhKey     *key,
                   const guint8  *peer,
                   gsize          peer_len,
                   guint8         shared[32],
                   GError       **error)
{
  SECKEYPublicKey *public_key;
  PK11SymKey *secret;
  SECItem *value;
  gboolean ok = FALSE;

  g_return_val_if_fail (key != NULL, FALSE);

  if (peer == NULL || peer_len != OW_BRIDGE_PUBLIC_KEY_LEN || peer[0] != 0x04)
    {
      g_set_error_literal (error, OW_BRIDGE_CRYPTO_ERROR, OW_BRIDGE_CRYPTO_ERROR_BAD_KEY,
                           "the public key is not an uncompressed P-256 point");
      return FALSE;
    }
  public_key = peer_key (key, peer, peer_len);
  if (public_key == NULL)
    {
      set_nss_error (error, OW_BRIDGE_CRYPTO_ERROR_FAILED, "out of memory");
      return FALSE;
    }
  /* softoken checks that the point is on the curve before deriving. */
  secret = PK11_PubDeriveWithKDF (key->private_key, public_key, PR_FALSE, NULL, NULL,
                                  CKM_ECDH1_DERIVE, CKM_SHA256_HMAC, CKA_DERIVE, 32,
                                  CKD_NULL, NULL, NULL);
  SECKEY_DestroyPublicKey (public_key);
  if (secret == NULL)
    {
      set_nss_error (error, OW_BRIDGE_CRYPTO_ERROR_BAD_KEY, "ECDH refused the public key");
      return FALSE;
    }
  if (PK11_ExtractKeyValue (secret) == SECSuccess &&
      (value = PK11_GetKeyData (secret)) != NULL && value->len == 32)
    {
      memcpy (shared, value->data, 32);
      ok = TRUE;
    }
  else
    {
      set_nss_error (error, OW_BRIDGE_CRYPTO_ERROR_FAILED, "cannot read the ECDH secret");
    }
  PK11_FreeSymKey (secret);
  return ok;
}

/* ---- HKDF and the pairing ----------------------------------------------- */

static gboolean
hmac (const guint8 *key,
      gsize         key_len,
      const guint8 *data,
      gsize         len,
      guint8        out[32])
{
  g_autoptr(OnepinKey) k = onepin_key_new_hmac (key, key_len, NULL);

  return k != NULL && onepin_key_hmac (k, data, len, out);
}

gboolean
ow_bridge_hkdf (const guint8 *salt,
                gsize         salt_len,
                const guint8 *ikm,
                gsize         ikm_len,
                const guint8 *info,
                gsize         info_len,
                guint8       *out,
                gsize         out_len)
{
  static const guint8 zeros[32] = { 0 };
  guint8 prk[32];
  guint8 block[32];
  g_autoptr(GByteArray) input = g_byte_array_new ();
  gboolean ok = TRUE;

  g_return_val_if_fail (out_len <= 255 * 32, FALSE);

  if (salt == NULL || salt_len == 0)
    {
      salt = zeros;
      salt_len = sizeof zeros;
    }
  if (!hmac (salt, salt_len, ikm, ikm_len, prk))
    return FALSE;

  for (guint8 counter = 1; ok && out_len > 0; counter++)
    {
      gsize n = MIN (out_len, sizeof block);

      /* T(i) = HMAC (PRK, T(i-1) ‖ info ‖ i) */
      if (counter > 1)
        g_byte_array_append (input, block, sizeof block);
      g_byte_array_append (input, info, (guint) info_len);
      g_byte_array_append (input, &counter, 1);
      ok = hmac (prk, sizeof prk, input->data, input->len, block);
      /* From the second round on it holds T(1), the key itself. */
      ow_secret_wipe (input->data, input->len);
      g_byte_array_set_size (input, 0);
      memcpy (out, block, n);
      out += n;
      out_len -= n;
    }
  ow_secret_wipe (prk, sizeof prk);
  ow_secret_wipe (block, sizeof block);
  return ok;
}

gboolean
ow_bridge_pairing_derive (const guint8   shared[32],
                          const guint8   nonce_browser[OW_BRIDGE_NONCE_LEN],
                          const guint8   nonce_wallet[OW_BRIDGE_NONCE_LEN],
                          const guint8   public_browser[OW_BRIDGE_PUBLIC_KEY_LEN],
                          const guint8   public_wallet[OW_BRIDGE_PUBLIC_KEY_LEN],
                          guint8         key[OW_BRIDGE_KEY_LEN],
                          char         **code)
{
  guint8 salt[2 * OW_BRIDGE_NONCE_LEN];
  guint8 info[sizeof PAIRING_INFO - 1 + 2 * OW_BRIDGE_PUBLIC_KEY_LEN];
  guint8 okm[OW_BRIDGE_KEY_LEN + 4];
  guint32 number;

  memcpy (salt, nonce_browser, OW_BRIDGE_NONCE_LEN);
  memcpy (salt + OW_BRIDGE_NONCE_LEN, nonce_wallet, OW_BRIDGE_NONCE_LEN);
  memcpy (info, PAIRING_INFO, sizeof PAIRING_INFO - 1);
  memcpy (info + sizeof PAIRING_INFO - 1, public_browser, OW_BRIDGE_PUBLIC_KEY_LEN);
  memcpy (info + sizeof PAIRING_INFO - 1 + OW_BRIDGE_PUBLIC_KEY_LEN, public_wallet,
          OW_BRIDGE_PUBLIC_KEY_LEN);

  if (!ow_bridge_hkdf (salt, sizeof salt, shared, 32, info, sizeof info, okm, sizeof okm))
    return FALSE;
  memcpy (key, okm, OW_BRIDGE_KEY_LEN);
  number = ((guint32) okm[32] << 24 | (guint32) okm[33] << 16 |
            (guint32) okm[34] << 8 | (guint32) okm[35]) % 1000000;
  *code = g_strdup_printf ("%03u %03u", number / 1000, number % 1000);
  ow_secret_wipe (okm, sizeof okm);
  return TRUE;
}

gboolean
ow_bridge_pairing_commit (const guint8 public_wallet[OW_BRIDGE_PUBLIC_KEY_LEN],
                          const guint8 nonce_wallet[OW_BRIDGE_NONCE_LEN],
                          guint8       commitment[OW_BRIDGE_COMMITMENT_LEN])
{
  guint8 input[OW_BRIDGE_PUBLIC_KEY_LEN + OW_BRIDGE_NONCE_LEN];

  memcpy (input, public_wallet, OW_BRIDGE_PUBLIC_KEY_LEN);
  memcpy (input + OW_BRIDGE_PUBLIC_KEY_LEN, nonce_wallet, OW_BRIDGE_NONCE_LEN);
  return onepin_crypto_sha256 (input, sizeof input, commitment);
}

gboolean
ow_bridge_pairing_commit_verify (const guint8  public_wallet[OW_BRIDGE_PUBLIC_KEY_LEN],
                                 const guint8  nonce_wallet[OW_BRIDGE_NONCE_LEN],
                                 const char   *commitment_base64)
{
  guint8 expected[OW_BRIDGE_COMMITMENT_LEN];
  guint8 given[OW_BRIDGE_COMMITMENT_LEN];

  if (!ow_bridge_decode_exact (commitment_base64, given, sizeof given) ||
      !ow_bridge_pairing_commit (public_wallet, nonce_wallet, expected))
    return FALSE;
  return onepin_crypto_equal (expected, given, sizeof given);
}

/* ---- message authentication --------------------------------------------- */

gboolean
ow_bridge_mac (const guint8  key[OW_BRIDGE_KEY_LEN],
               const char   *direction,
               const char   *browser,
               const char   *nonce_browser,
               const char   *nonce_wallet,
               gint64        seq,
               const char   *body,
               guint8        mac[OW_BRIDGE_MAC_LEN])
{
  /* The body may be a card's reply: sized once, so that no outgrown block
   * is freed with part of it, and wiped as it goes. */
  g_autoptr(OwSecretString) input = g_string_new (MAC_CONTEXT);

  g_return_val_if_fail (direction != NULL && browser != NULL && body != NULL, FALSE);
  g_return_val_if_fail (nonce_browser != NULL && nonce_wallet != NULL, FALSE);

  g_string_append_printf (input, "\n%s\n%s\n%s\n%s\n%" G_GINT64_FORMAT "\n",
                          direction, browser, nonce_browser, nonce_wallet, seq);
  ow_secret_string_append_len (input, body, strlen (body));
  return hmac (key, OW_BRIDGE_KEY_LEN, (const guint8 *) input->str, input->len, mac);
}

gboolean
ow_bridge_mac_verify (const guint8  key[OW_BRIDGE_KEY_LEN],
                      const char   *direction,
                      const char   *browser,
                      const char   *nonce_browser,
                      const char   *nonce_wallet,
                      gint64        seq,
                      const char   *body,
                      const char   *mac_base64)
{
  guint8 expected[OW_BRIDGE_MAC_LEN];
  guint8 given[OW_BRIDGE_MAC_LEN];

  if (!ow_bridge_decode_exact (mac_base64, given, sizeof given) ||
      !ow_bridge_mac (key, direction, browser, nonce_browser, nonce_wallet, seq, body, expected))
    return FALSE;
  return onepin_crypto_equal (expected, given, sizeof given);
}

gboolean
ow_bridge_decode_exact (const char *text,
                        guint8     *out,
                        gsize       len)
{
  g_autofree guchar *bytes = NULL;
  g_autoptr(OwSecret) again = NULL;     /* a browser's key, spelled out again */
  gsize n = 0;
  gboolean ok;

  if (text == NULL || strlen (text) != 4 * ((len + 2) / 3))
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=')
      return FALSE;
  bytes = g_base64_decode (text, &n);
  /* only the one spelling of these bytes */
  ok = n == len && strcmp ((again = g_base64_encode (bytes, n)), text) == 0;
  if (ok)
    memcpy (out, bytes, len);
  ow_secret_wipe (bytes, n);
  return ok;
}
