/* onepin-crypto.h: the cryptography onepin needs, all through NSS
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define ONEPIN_CRYPTO_ERROR (onepin_crypto_error_quark ())

#define ONEPIN_HMAC_LEN 32
#define ONEPIN_AES_KEY_LEN 32
#define ONEPIN_GCM_NONCE_LEN 12
#define ONEPIN_GCM_TAG_LEN 16

typedef enum
{
  ONEPIN_CRYPTO_ERROR_INIT,
  ONEPIN_CRYPTO_ERROR_FAILED,
  ONEPIN_CRYPTO_ERROR_BAD_KEY,
  ONEPIN_CRYPTO_ERROR_AUTH,        /* GCM tag mismatch: tampered or wrong key */
  ONEPIN_CRYPTO_ERROR_KEY_FILE,
} OnepinCryptoError;

/* A symmetric key imported into NSS once and reused; safe to share between threads. */
typedef struct _OnepinKey OnepinKey;

GQuark      onepin_crypto_error_quark      (void);

/* Initialises NSS without a database, once per process. Thread-safe. */
gboolean    onepin_crypto_init             (GError      **error);

gboolean    onepin_crypto_random           (guint8       *buf,
                                            gsize         len,
                                            GError      **error);
/* @prefix followed by 2*@nbytes lowercase hex characters of CSPRNG output.
 * Never NULL: if the CSPRNG fails, the process aborts. */
char       *onepin_crypto_random_token     (const char   *prefix,
                                            gsize         nbytes);
gboolean    onepin_crypto_sha256           (const void   *data,
                                            gsize         len,
                                            guint8        out[32]);
/* Constant-time comparison of two equal-length buffers. */
gboolean    onepin_crypto_equal            (const void   *a,
                                            const void   *b,
                                            gsize         len);
/* Constant-time comparison of two NUL-terminated strings (length may leak). */
gboolean    onepin_crypto_str_equal        (const char   *a,
                                            const char   *b);
/* PBKDF2-HMAC-SHA256. Neither the password nor the result stays in NSS
 * once it returns (see onepin_crypto_forget_derived_keys ()). */
gboolean    onepin_crypto_pbkdf2_sha256    (const char   *password,
                                            const guint8 *salt,
                                            gsize         salt_len,
                                            guint         iterations,
                                            guint8       *out,
                                            gsize         out_len,
                                            GError      **error);
/* Pushes the last PBKDF2 inputs and results out of NSS's softoken, which
 * keeps them (password included) to answer a repeat at once: after a
 * key-database password check, say, or on locking. */
void        onepin_crypto_forget_derived_keys (void);

OnepinKey  *onepin_key_new_hmac            (const guint8 *raw,
                                            gsize         len,
                                            GError      **error);
OnepinKey  *onepin_key_new_aes             (const guint8 *raw,
                                            gsize         len,
                                            GError      **error);
void        onepin_key_free                (OnepinKey    *key);

/* HMAC-SHA256 of @data under an HMAC key. FALSE only for a key of another
 * kind (a bug); if NSS itself fails, the process stops (g_error ()), so a
 * caller holding an HMAC key always gets @out written. */
gboolean    onepin_key_hmac                (OnepinKey    *key,
                                            const void   *data,
                                            gsize         len,
                                            guint8        out[ONEPIN_HMAC_LEN]);
/* AES-256-GCM under an AES key. The sealed form is nonce || ciphertext || tag. */
GBytes     *onepin_key_seal                (OnepinKey    *key,
                                            const void   *plain,
                                            gsize         len,
                                            const void   *aad,
                                            gsize         aad_len,
                                            GError      **error);
GBytes     *onepin_key_open                (OnepinKey    *key,
                                            const void   *sealed,
                                            gsize         len,
                                            const void   *aad,
                                            gsize         aad_len,
                                            GError      **error);

/* One AES-256 block under an AES key (a keyed permutation of 16 bytes): for
 * turning a unique 16-byte value into an opaque one and back, never for
 * messages (those are sealed). */
gboolean    onepin_key_encrypt_block       (OnepinKey    *key,
                                            const guint8  in[16],
                                            guint8        out[16]);
gboolean    onepin_key_decrypt_block       (OnepinKey    *key,
                                            const guint8  in[16],
                                            guint8        out[16]);

/* Reads a key file of exactly @len raw bytes, creating it with fresh random
 * bytes and mode 0600 if it does not exist. Refuses files readable by others. */
gboolean    onepin_key_file_load_or_create (const char   *path,
                                            guint8       *out,
                                            gsize         len,
                                            GError      **error);
/* FALSE (G_FILE_ERROR_NOENT) when @key_file is missing but @data_file,
 * written with it, exists: the key must be restored, not made anew. */
gboolean    onepin_key_file_expected       (const char   *key_file,
                                            const char   *data_file,
                                            GError      **error);

/* A text secret (an API key, a shared callback secret) in a file only its
 * owner may read: @prefix and 32 random bytes in hex, created (mode 0600,
 * atomically) if the file does not exist. Returns it without the newline. */
char       *onepin_secret_file_load_or_create (const char  *path,
                                               const char  *prefix,
                                               GError     **error);
/* The same for a file that must already exist (another program made it). */
char       *onepin_secret_file_load        (const char   *path,
                                            GError      **error);
/* Whether @path is a regular file only its owner may read or write (a TLS
 * private key, say, read by another library). */
gboolean    onepin_private_file_check      (const char   *path,
                                            GError      **error);
/* A password someone else chose (a mail provider's): one line of up to 1024
 * bytes, spaces allowed, without the whitespace around it, in a file that
 * must exist, be the file itself (no symlink) and be private to its owner. */
char       *onepin_password_file_load      (const char   *path,
                                            GError      **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OnepinKey, onepin_key_free)

G_END_DECLS
