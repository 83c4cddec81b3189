/* ow-bridge-crypto.h: pairing a browser and authenticating its messages
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The extension and the wallet agree on a key once, at pairing, by ECDH on
 * P-256 (WebCrypto on one side, NSS on the other), and check it by a
 * six-digit code the user compares; the wallet commits to its key before it
 * sees the browser's, so it cannot choose one that makes the codes match
 * another pairing's. Every later message carries an
 * HMAC-SHA256 under that key over both sides' nonces of the connection, a
 * sequence number and the message's body (HACKING.md, "Pairing and message
 * authentication"). Nothing here needs GTK or a socket.
 */
#pragma once

#include "onepin-crypto.h"

G_BEGIN_DECLS

#define OW_BRIDGE_CRYPTO_ERROR (ow_bridge_crypto_error_quark ())

typedef enum
{
  OW_BRIDGE_CRYPTO_ERROR_FAILED,
  OW_BRIDGE_CRYPTO_ERROR_BAD_KEY,   /* a public key that is not a P-256 point */
} OwBridgeCryptoError;

#define OW_BRIDGE_PUBLIC_KEY_LEN 65   /* an uncompressed P-256 point */
#define OW_BRIDGE_NONCE_LEN 16
#define OW_BRIDGE_KEY_LEN 32
#define OW_BRIDGE_MAC_LEN 32
#define OW_BRIDGE_COMMITMENT_LEN 32

/* Directions, as they enter the MAC. */
#define OW_BRIDGE_TO_WALLET "b2w"
#define OW_BRIDGE_TO_BROWSER "w2b"

typedef struct _OwEcdhKey OwEcdhKey;

GQuark      ow_bridge_crypto_error_quark  (void);

/* A fresh P-256 key pair in NSS's internal slot (needs NSS initialised). */
OwEcdhKey  *ow_ecdh_key_new               (GError        **error);
void        ow_ecdh_key_free              (OwEcdhKey      *key);
/* The uncompressed public point (0x04 ‖ x ‖ y). */
const guint8 *ow_ecdh_key_get_public      (OwEcdhKey      *key);
/* ECDH with @peer (65 bytes, uncompressed): the shared x coordinate. NSS
 * refuses a point that is not on the curve. */
gboolean    ow_ecdh_key_agree             (OwEcdhKey      *key,
                                           const guint8   *peer,
                                           gsize           peer_len,
                                           guint8          shared[32],
                                           GError        **error);

/* RFC 5869 with SHA-256; @out_len at most 255 × 32. */
gboolean    ow_bridge_hkdf                (const guint8   *salt,
                                           gsize           salt_len,
                                           const guint8   *ikm,
                                           gsize           ikm_len,
                                           const guint8   *info,
                                           gsize           info_len,
                                           guint8         *out,
                                           gsize           out_len);

/* The pairing's key and code from the ECDH secret and the transcript:
 * HKDF (salt = nonce_browser ‖ nonce_wallet, ikm = @shared,
 * info = "onepin-wallet pairing v1" ‖ public_browser ‖ public_wallet),
 * 36 bytes: the key, then a big-endian 32-bit number whose value mod
 * 1,000,000 is the code, written "123 456" (free it). */
gboolean    ow_bridge_pairing_derive      (const guint8    shared[32],
                                           const guint8    nonce_browser[OW_BRIDGE_NONCE_LEN],
                                           const guint8    nonce_wallet[OW_BRIDGE_NONCE_LEN],
                                           const guint8    public_browser[OW_BRIDGE_PUBLIC_KEY_LEN],
                                           const guint8    public_wallet[OW_BRIDGE_PUBLIC_KEY_LEN],
                                           guint8          key[OW_BRIDGE_KEY_LEN],
                                           char          **code);

/* The wallet's commitment to its pairing key, sent before it sees the
 * browser's: SHA-256 (public_wallet ‖ nonce_wallet). A wallet that could
 * choose its key after seeing the browser's could try keys until the codes
 * match; its key must match what it committed to. */
gboolean    ow_bridge_pairing_commit      (const guint8    public_wallet[OW_BRIDGE_PUBLIC_KEY_LEN],
                                           const guint8    nonce_wallet[OW_BRIDGE_NONCE_LEN],
                                           guint8          commitment[OW_BRIDGE_COMMITMENT_LEN]);
/* Checks a base64 commitment against the key the wallet then sent, in
 * constant time. */
gboolean    ow_bridge_pairing_commit_verify (const guint8  public_wallet[OW_BRIDGE_PUBLIC_KEY_LEN],
                                           const guint8    nonce_wallet[OW_BRIDGE_NONCE_LEN],
                                           const char     *commitment_base64);

/* HMAC-SHA256 under @key of
 *   "onepin-wallet-v1\n" dir "\n" browser "\n" nonce_b "\n" nonce_w "\n" seq "\n" body
 * where the nonces are as sent (base64) and @seq is in decimal. */
gboolean    ow_bridge_mac                 (const guint8    key[OW_BRIDGE_KEY_LEN],
                                           const char     *direction,
                                           const char     *browser,
                                           const char     *nonce_browser,
                                           const char     *nonce_wallet,
                                           gint64          seq,
                                           const char     *body,
                                           guint8          mac[OW_BRIDGE_MAC_LEN]);

/* Checks a base64 MAC against the one computed, in constant time. */
gboolean    ow_bridge_mac_verify          (const guint8    key[OW_BRIDGE_KEY_LEN],
                                           const char     *direction,
                                           const char     *browser,
                                           const char     *nonce_browser,
                                           const char     *nonce_wallet,
                                           gint64          seq,
                                           const char     *body,
                                           const char     *mac_base64);

/* Strict base64 of exactly @len bytes into @out; FALSE otherwise. */
gboolean    ow_bridge_decode_exact        (const char     *text,
                                           guint8         *out,
                                           gsize           len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwEcdhKey, ow_ecdh_key_free)

G_END_DECLS
