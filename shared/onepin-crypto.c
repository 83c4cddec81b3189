/* onepin-crypto.c: the cryptography onepin needs, all through NSS
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-crypto.h"
#include "onepin-crypto-nss.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secerr.h>
#include <secoid.h>
#include <secport.h>

G_DEFINE_QUARK (onepin-crypto-error-quark, onepin_crypto_error)

/* How many idle HMAC contexts a key keeps. Each holds an open PKCS #11
 * session; a few cover the gateway's threads, more would only hoard them. */
#define HMAC_POOL_MAX 8

/* NSS takes lengths as int or unsigned int; longer inputs are fed in pieces
 * (digests) or refused (one-shot encryption). */
#define NSS_CHUNK_MAX ((gsize) G_MAXINT32)

typedef enum
{
  KEY_HMAC,
  KEY_AES,
} KeyKind;

struct _OnepinKey
{
  KeyKind     kind;
  PK11SymKey *sym;

  /* Idle HMAC contexts, each already bound to @sym. Creating a context
   * opens a session and sets up the key schedule, which is most of the cost
   * of an HMAC over a short message; reusing them keeps the payment hot
   * path cheap. A context is used by one thread at a time: it leaves the
   * pool while in use. */
  GMutex      pool_lock;
  GPtrArray  *pool;
};

static void
set_nss_error (GError     **error,
               int          code,
               const char  *what)
{
  const char *name = PR_ErrorToName (PORT_GetError ());

  g_set_error (error, ONEPIN_CRYPTO_ERROR, code, "%s: %s", what,
               name != NULL ? name : "unknown NSS error");
}

/* Clears secret bytes in a way the compiler may not optimise out. */
static void
wipe (void  *buf,
      gsize  len)
{
  if (buf != NULL && len > 0)
    explicit_bzero (buf, len);
}

/* ---- initialisation ---------------------------------------------------- */

static gboolean init_ok;
static char *init_failure;

gboolean
onepin_crypto_init (GError **error)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      /* Someone else in the process (a library) may have set NSS up
       * already; that serves us just as well. */
      if (NSS_IsInitialized () || NSS_NoDB_Init (NULL) == SECSuccess)
        init_ok = TRUE;
      else
        init_failure = g_strdup (PR_ErrorToName (PORT_GetError ()));
      g_once_init_leave (&once, 1);
    }

  if (!init_ok)
    g_set_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_INIT,
                 "Cannot initialise NSS: %s",
                 init_failure != NULL ? init_failure : "unknown NSS error");
  return init_ok;
}

/* ---- stateless primitives ---------------------------------------------- */

gboolean
onepin_crypto_random (guint8  *buf,
                      gsize    len,
                      GError **error)
{
  if (!onepin_crypto_init (error))
    return FALSE;

  while (len > 0)
    {
      gsize n = MIN (len, NSS_CHUNK_MAX);

      if (PK11_GenerateRandom (buf, (int) n) != SECSuccess)
        {
          set_nss_error (error, ONEPIN_CRYPTO_ERROR_FAILED, "Random generation failed");
          return FALSE;
        }
      buf += n;
      len -= n;
    }

  return TRUE;
}

/* A process whose CSPRNG fails can issue no id or key safely. It stops
 * here, loudly, rather than fall back to anything weaker or hand a NULL to
 * a caller in the middle of a transaction. */
char *
onepin_crypto_random_token (const char *prefix,
                            gsize       nbytes)
{
  static const char hex[] = "0123456789abcdef";
  g_autofree guint8 *raw = g_malloc (MAX (nbytes, 1));
  g_autoptr(GError) error = NULL;
  GString *out;

  if (!onepin_crypto_random (raw, nbytes, &error))
    {
      g_error ("Cannot draw random bytes: %s", error->message);
    }

  out = g_string_sized_new ((prefix != NULL ? strlen (prefix) : 0) + 2 * nbytes);
  if (prefix != NULL)
    g_string_append (out, prefix);
  for (gsize i = 0; i < nbytes; i++)
    {
      g_string_append_c (out, hex[raw[i] >> 4]);
      g_string_append_c (out, hex[raw[i] & 0xf]);
    }

  wipe (raw, nbytes);
  return g_string_free (out, FALSE);
}

/* Feeds @len bytes to an initialised digest or HMAC context. */
static gboolean
digest_feed (PK11Context *ctx,
             const void  *data,
             gsize        len)
{
  const guint8 *p = data;

  /* PK11_DigestOp refuses a NULL buffer even for length 0; skip it. */
  while (len > 0)
    {
      gsize n = MIN (len, NSS_CHUNK_MAX);

      if (PK11_DigestOp (ctx, p, (unsigned int) n) != SECSuccess)
        return FALSE;
      p += n;
      len -= n;
    }

  return TRUE;
}

gboolean
onepin_crypto_sha256 (const void *data,
                      gsize       len,
                      guint8      out[32])
{
  PK11Context *ctx;
  unsigned int out_len = 0;
  gboolean ok;

  if (!onepin_crypto_init (NULL))
    return FALSE;

  if (len <= NSS_CHUNK_MAX)
    return PK11_HashBuf (SEC_OID_SHA256, out, len > 0 ? data : (const guint8 *) "",
                         (PRInt32) len) == SECSuccess;

  ctx = PK11_CreateDigestContext (SEC_OID_SHA256);
  if (ctx == NULL)
    return FALSE;
  ok = PK11_DigestBegin (ctx) == SECSuccess &&
       digest_feed (ctx, data, len) &&
       PK11_DigestFinal (ctx, out, &out_len, 32) == SECSuccess &&
       out_len == 32;
  PK11_DestroyContext (ctx, PR_TRUE);

  return ok;
}

gboolean
onepin_crypto_equal (const void *a,
                     const void *b,
                     gsize       len)
{
  if (len == 0)
    return TRUE;

  return NSS_SecureMemcmp (a, b, len) == 0;
}

gboolean
onepin_crypto_str_equal (const char *a,
                         const char *b)
{
  gsize len;

  /* A missing secret never matches, not even another missing one. */
  if (a == NULL || b == NULL)
    return FALSE;

  len = strlen (a);
  if (len != strlen (b))
    return FALSE;

  return onepin_crypto_equal (a, b, len);
}

static PK11SymKey *
pbkdf2_key (PK11SlotInfo *slot,
            SECItem      *password,
            SECItem      *salt,
            guint         iterations,
            gsize         out_len)
{
  /* PBKDF2 as a bare KDF: the "cipher" is HMAC-SHA256 too, which makes NSS
   * derive a generic secret of exactly @out_len bytes. */
  SECAlgorithmID *alg = PK11_CreatePBEV2AlgorithmID (SEC_OID_PKCS5_PBKDF2, SEC_OID_HMAC_SHA256,
                                                     SEC_OID_HMAC_SHA256, (int) out_len,
                                                     (int) iterations, salt);
  PK11SymKey *key = NULL;

  if (alg != NULL)
    key = PK11_PBEKeyGen (slot, alg, password, PR_FALSE, NULL);
  if (alg != NULL)
    SECOID_DestroyAlgorithmID (alg, PR_TRUE);
  return key;
}

/* Softoken keeps its last three PBKDF2 derivations, password, salt and
 * result, in a ring it offers no call to empty (lowpbe.c, NSS bug
 * 1606992). Each derivation takes the oldest place, so four of random
 * junk, one iteration each, leave none of ours. */
#define SOFTOKEN_KDF_CACHE 3

void
onepin_crypto_forget_derived_keys (void)
{
  PK11SlotInfo *slot;
  guint8 junk[2][16];

  if (!onepin_crypto_init (NULL) || (slot = PK11_GetInternalSlot ()) == NULL)
    return;
  for (guint i = 0; i <= SOFTOKEN_KDF_CACHE; i++)
    {
      SECItem password = { siBuffer, junk[0], sizeof junk[0] };
      SECItem salt = { siBuffer, junk[1], sizeof junk[1] };
      PK11SymKey *key;

      if (PK11_GenerateRandom (junk[0], sizeof junk) != SECSuccess)
        break;
      key = pbkdf2_key (slot, &password, &salt, 1, 32);
      if (key != NULL)
        PK11_FreeSymKey (key);
    }
  PK11_FreeSlot (slot);
}

gboolean
onepin_crypto_pbkdf2_sha256 (const char   *password,
                             const guint8 *salt,
                             gsize         salt_len,
                             guint         iterations,
                             guint8       *out,
                             gsize         out_len,
                             GError      **error)
{
  SECItem salt_item = { siBuffer, (unsigned char *) salt, (unsigned int) salt_len };
  SECItem pw_item = { siBuffer, (unsigned char *) password, 0 };
  PK11SlotInfo *slot = NULL;
  PK11SymKey *key = NULL;
  SECItem *value;
  gboolean ok = FALSE;

  if (!onepin_crypto_init (error))
    return FALSE;

  if (password == NULL || salt == NULL || salt_len == 0 || salt_len > G_MAXINT32 ||
      iterations == 0 || iterations > G_MAXINT32 || out_len == 0 || out_len > G_MAXINT32)
    {
      g_set_error_literal (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_FAILED,
                           "Invalid PBKDF2 parameters");
      return FALSE;
    }
  pw_item.len = (unsigned int) strlen (password);

  slot = PK11_GetInternalSlot ();
  if (slot != NULL)
    key = pbkdf2_key (slot, &pw_item, &salt_item, iterations, out_len);

  if (key != NULL && PK11_ExtractKeyValue (key) == SECSuccess &&
      (value = PK11_GetKeyData (key)) != NULL && value->len == out_len)
    {
      memcpy (out, value->data, out_len);
      ok = TRUE;
    }
  else
    {
      set_nss_error (error, ONEPIN_CRYPTO_ERROR_FAILED, "PBKDF2 failed");
    }

  if (key != NULL)
    PK11_FreeSymKey (key);
  if (slot != NULL)
    PK11_FreeSlot (slot);
  onepin_crypto_forget_derived_keys ();

  return ok;
}

/* ---- keys -------------------------------------------------------------- */

/* Takes ownership of @sym. */
static OnepinKey *
key_wrap (KeyKind     kind,
          PK11SymKey *sym)
{
  OnepinKey *key = g_new0 (OnepinKey, 1);

  key->kind = kind;
  key->sym = sym;
  g_mutex_init (&key->pool_lock);
  key->pool = g_ptr_array_new ();

  return key;
}

static OnepinKey *
key_import (KeyKind            kind,
            CK_MECHANISM_TYPE  mech,
            CK_ATTRIBUTE_TYPE  operation,
            const guint8      *raw,
            gsize              len,
            GError           **error)
{
  SECItem item = { siBuffer, (unsigned char *) raw, (unsigned int) len };
  PK11SlotInfo *slot;
  PK11SymKey *sym;

  if (!onepin_crypto_init (error))
    return NULL;

  slot = PK11_GetInternalSlot ();
  if (slot == NULL)
    {
      set_nss_error (error, ONEPIN_CRYPTO_ERROR_FAILED, "No NSS internal slot");
      return NULL;
    }

  /* The key lives in softoken from here on; the caller's copy can be wiped. */
  sym = PK11_ImportSymKey (slot, mech, PK11_OriginUnwrap, operation, &item, NULL);
  PK11_FreeSlot (slot);
  if (sym == NULL)
    {
      set_nss_error (error, ONEPIN_CRYPTO_ERROR_BAD_KEY, "Cannot import key");
      return NULL;
    }

  return key_wrap (kind, sym);
}

OnepinKey *
onepin_key_new_hmac (const guint8  *raw,
                     gsize          len,
                     GError       **error)
{
  /* RFC 2104 allows any length, but an empty key is certainly a bug. */
  if (raw == NULL || len == 0 || len > G_MAXINT32)
    {
      g_set_error_literal (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_BAD_KEY,
                           "An HMAC key must not be empty");
      return NULL;
    }

  return key_import (KEY_HMAC, CKM_SHA256_HMAC, CKA_SIGN, raw, len, error);
}

OnepinKey *
onepin_key_new_aes (const guint8  *raw,
                    gsize          len,
                    GError       **error)
{
  if (raw == NULL || len != ONEPIN_AES_KEY_LEN)
    {
      g_set_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_BAD_KEY,
                   "An AES key must be %d bytes", ONEPIN_AES_KEY_LEN);
      return NULL;
    }

  /* CKA_ENCRYPT is only the operation the import is for; the softoken key
   * object is created with both encrypt and decrypt allowed. */
  return key_import (KEY_AES, CKM_AES_GCM, CKA_ENCRYPT, raw, len, error);
}

OnepinKey *
onepin_key_new_aes_from_nss (PK11SymKey  *sym,
                             GError     **error)
{
  g_return_val_if_fail (sym != NULL, NULL);

  if (PK11_GetSymKeyType (sym) != CKK_AES ||
      PK11_GetKeyLength (sym) != ONEPIN_AES_KEY_LEN)
    {
      g_set_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_BAD_KEY,
                   "An AES key must be %d bytes", ONEPIN_AES_KEY_LEN);
      return NULL;
    }

  return key_wrap (KEY_AES, PK11_ReferenceSymKey (sym));
}

void
onepin_key_free (OnepinKey *key)
{
  if (key == NULL)
    return;

  for (guint i = 0; i < key->pool->len; i++)
    PK11_DestroyContext (g_ptr_array_index (key->pool, i), PR_TRUE);
  g_ptr_array_unref (key->pool);
  g_mutex_clear (&key->pool_lock);
  PK11_FreeSymKey (key->sym);
  g_free (key);
}

static PK11Context *
hmac_context_take (OnepinKey *key)
{
  PK11Context *ctx = NULL;
  SECItem no_params = { siBuffer, NULL, 0 };

  g_mutex_lock (&key->pool_lock);
  if (key->pool->len > 0)
    ctx = g_ptr_array_steal_index_fast (key->pool, key->pool->len - 1);
  g_mutex_unlock (&key->pool_lock);

  if (ctx == NULL)
    ctx = PK11_CreateContextBySymKey (CKM_SHA256_HMAC, CKA_SIGN, key->sym, &no_params);

  return ctx;
}

static void
hmac_context_return (OnepinKey   *key,
                     PK11Context *ctx)
{
  g_mutex_lock (&key->pool_lock);
  if (key->pool->len < HMAC_POOL_MAX)
    {
      g_ptr_array_add (key->pool, ctx);
      ctx = NULL;
    }
  g_mutex_unlock (&key->pool_lock);

  if (ctx != NULL)
    PK11_DestroyContext (ctx, PR_TRUE);
}

/* NSS fails an HMAC under a good key only when it cannot make or run a
 * context (out of memory, a broken token). No hash of this process can be
 * trusted then, and the callers' outputs are lookup keys, MACs and derived
 * keys: an unwritten one could make two cards, scopes or keys collide. So
 * it stops, like g_malloc () out of memory; what was in flight is retried
 * after the restart. */
G_NORETURN static void
hmac_failed (void)
{
  g_error ("NSS cannot compute an HMAC: stopping, since no key or hash can be trusted");
}

gboolean
onepin_key_hmac (OnepinKey  *key,
                 const void *data,
                 gsize       len,
                 guint8      out[ONEPIN_HMAC_LEN])
{
  PK11Context *ctx;
  unsigned int out_len = 0;

  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (key->kind != KEY_HMAC)
    return FALSE;

  ctx = hmac_context_take (key);
  if (ctx == NULL)
    hmac_failed ();

  /* DigestBegin restarts the context, so a pooled one carries nothing over
   * from its previous message. */
  if (PK11_DigestBegin (ctx) != SECSuccess ||
      !digest_feed (ctx, data, len) ||
      PK11_DigestFinal (ctx, out, &out_len, ONEPIN_HMAC_LEN) != SECSuccess ||
      out_len != ONEPIN_HMAC_LEN)
    hmac_failed ();

  hmac_context_return (key, ctx);
  return TRUE;
}

static gboolean
check_aes_key (OnepinKey  *key,
               GError    **error)
{
  if (key != NULL && key->kind == KEY_AES)
    return TRUE;

  g_set_error_literal (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_BAD_KEY,
                       "Not an AES key");
  return FALSE;
}

/* NSS 3.87 defines CK_GCM_PARAMS as the PKCS #11 v3 structure, which has
 * ulIvBits; softoken accepts it (and the older CK_NSS_GCM_PARAMS). */
static void
gcm_params_init (CK_GCM_PARAMS *params,
                 SECItem       *item,
                 const guint8  *nonce,
                 const void    *aad,
                 gsize          aad_len)
{
  memset (params, 0, sizeof *params);
  params->pIv = (CK_BYTE_PTR) nonce;
  params->ulIvLen = ONEPIN_GCM_NONCE_LEN;
  params->ulIvBits = ONEPIN_GCM_NONCE_LEN * 8;
  params->pAAD = aad_len > 0 ? (CK_BYTE_PTR) aad : NULL;
  params->ulAADLen = aad_len;
  params->ulTagBits = ONEPIN_GCM_TAG_LEN * 8;

  item->type = siBuffer;
  item->data = (unsigned char *) params;
  item->len = sizeof *params;
}

/* Leaves room for the nonce and tag within NSS's unsigned int lengths. */
#define SEAL_MAX_LEN ((gsize) G_MAXINT32)

static gboolean
crypt_block (OnepinKey    *key,
             gboolean      encrypt,
             const guint8  in[16],
             guint8        out[16])
{
  unsigned int out_len = 0;
  SECStatus rv;

  g_return_val_if_fail (key != NULL && in != NULL && out != NULL, FALSE);

  if (key->kind != KEY_AES)
    return FALSE;
  /* ECB of exactly one block is AES itself: no chaining, no padding. */
  rv = encrypt ? PK11_Encrypt (key->sym, CKM_AES_ECB, NULL, out, &out_len, 16, in, 16)
               : PK11_Decrypt (key->sym, CKM_AES_ECB, NULL, out, &out_len, 16, in, 16);
  return rv == SECSuccess && out_len == 16;
}

gboolean
onepin_key_encrypt_block (OnepinKey    *key,
                          const guint8  in[16],
                          guint8        out[16])
{
  return crypt_block (key, TRUE, in, out);
}

gboolean
onepin_key_decrypt_block (OnepinKey    *key,
                          const guint8  in[16],
                          guint8        out[16])
{
  return crypt_block (key, FALSE, in, out);
}

GBytes *
onepin_key_seal (OnepinKey   *key,
                 const void  *plain,
                 gsize        len,
                 const void  *aad,
                 gsize        aad_len,
                 GError     **error)
{
  CK_GCM_PARAMS params;
  SECItem param_item;
  gsize sealed_len = ONEPIN_GCM_NONCE_LEN + len + ONEPIN_GCM_TAG_LEN;
  g_autofree guint8 *sealed = NULL;
  unsigned int out_len = 0;

  if (!check_aes_key (key, error))
    return NULL;
  if (len > SEAL_MAX_LEN || aad_len > SEAL_MAX_LEN)
    {
      g_set_error_literal (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_FAILED,
                           "Message too long to seal");
      return NULL;
    }

  sealed = g_malloc (sealed_len);

  /* A fresh random 96-bit nonce per message: with a key used for well under
   * 2^32 messages the chance of a repeat is negligible. */
  if (!onepin_crypto_random (sealed, ONEPIN_GCM_NONCE_LEN, error))
    return NULL;

  gcm_params_init (&params, &param_item, sealed, aad, aad_len);
  if (PK11_Encrypt (key->sym, CKM_AES_GCM, &param_item,
                    sealed + ONEPIN_GCM_NONCE_LEN, &out_len,
                    (unsigned int) (len + ONEPIN_GCM_TAG_LEN),
                    len > 0 ? plain : (const guint8 *) "", (unsigned int) len) != SECSuccess ||
      out_len != len + ONEPIN_GCM_TAG_LEN)
    {
      set_nss_error (error, ONEPIN_CRYPTO_ERROR_FAILED, "Encryption failed");
      return NULL;
    }

  return g_bytes_new_take (g_steal_pointer (&sealed), sealed_len);
}

GBytes *
onepin_key_open (OnepinKey   *key,
                 const void  *sealed,
                 gsize        len,
                 const void  *aad,
                 gsize        aad_len,
                 GError     **error)
{
  CK_GCM_PARAMS params;
  SECItem param_item;
  const guint8 *in = sealed;
  gsize body_len;
  guint8 *plain;
  unsigned int out_len = 0;

  if (!check_aes_key (key, error))
    return NULL;

  /* Too short to hold a nonce and a tag: as unauthenticated as a bad tag. */
  if (sealed == NULL || len < ONEPIN_GCM_NONCE_LEN + ONEPIN_GCM_TAG_LEN ||
      len > SEAL_MAX_LEN || aad_len > SEAL_MAX_LEN)
    {
      g_set_error_literal (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_AUTH,
                           "Sealed data is malformed");
      return NULL;
    }

  body_len = len - ONEPIN_GCM_NONCE_LEN;
  /* Softoken wants room for ciphertext plus tag even though it writes only
   * the plaintext; +1 keeps the allocation non-empty. */
  plain = g_malloc (body_len + 1);

  gcm_params_init (&params, &param_item, in, aad, aad_len);
  if (PK11_Decrypt (key->sym, CKM_AES_GCM, &param_item, plain, &out_len,
                    (unsigned int) body_len, in + ONEPIN_GCM_NONCE_LEN,
                    (unsigned int) body_len) != SECSuccess)
    {
      int code = PORT_GetError () == SEC_ERROR_BAD_DATA ? ONEPIN_CRYPTO_ERROR_AUTH
                                                        : ONEPIN_CRYPTO_ERROR_FAILED;

      wipe (plain, body_len);
      g_free (plain);
      if (code == ONEPIN_CRYPTO_ERROR_AUTH)
        g_set_error_literal (error, ONEPIN_CRYPTO_ERROR, code,
                             "Sealed data failed authentication");
      else
        set_nss_error (error, code, "Decryption failed");
      return NULL;
    }

  return g_bytes_new_take (plain, out_len);
}

/* ---- key files --------------------------------------------------------- */

static gboolean
set_key_file_error (GError     **error,
                    const char  *path,
                    const char  *what,
                    int          saved_errno)
{
  g_autofree char *display = g_filename_display_name (path);

  /* Key files are opened with O_NOFOLLOW: ELOOP is a link in their place,
   * which "Too many levels of symbolic links" would not make clear. */
  if (saved_errno == ELOOP)
    g_set_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_KEY_FILE,
                 "Key file %s: must be a regular file, not a symbolic link", display);
  else if (saved_errno != 0)
    g_set_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_KEY_FILE,
                 "Key file %s: %s: %s", display, what, g_strerror (saved_errno));
  else
    g_set_error (error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_KEY_FILE,
                 "Key file %s: %s", display, what);
  return FALSE;
}

static gboolean
read_exactly (int     fd,
              guint8 *out,
              gsize   len)
{
  while (len > 0)
    {
      ssize_t n = read (fd, out, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      out += n;
      len -= (gsize) n;
    }

  return TRUE;
}

static gboolean
write_all (int           fd,
           const guint8 *buf,
           gsize         len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      buf += n;
      len -= (gsize) n;
    }

  return TRUE;
}

/* Reads the key from an open file after checking it is a regular file that
 * only its owner can read and that it has the expected size. */
static gboolean
key_file_check (int          fd,
                const char  *path,
                struct stat *st,
                GError     **error)
{
  if (fstat (fd, st) != 0)
    return set_key_file_error (error, path, "cannot stat", errno);
  if (!S_ISREG (st->st_mode))
    return set_key_file_error (error, path, "not a regular file", 0);
  if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      g_autofree char *what = g_strdup_printf ("mode %04o gives group or others access; "
                                               "it must be 0600",
                                               (unsigned int) (st->st_mode & 07777));
      return set_key_file_error (error, path, what, 0);
    }
  return TRUE;
}

static gboolean
key_file_read (int          fd,
               const char  *path,
               guint8      *out,
               gsize        len,
               GError     **error)
{
  struct stat st;

  if (!key_file_check (fd, path, &st, error))
    return FALSE;
  if (st.st_size < 0 || (guint64) st.st_size != len)
    {
      g_autofree char *what = g_strdup_printf ("size is %" G_GINT64_FORMAT " bytes, "
                                               "expected %" G_GSIZE_FORMAT,
                                               (gint64) st.st_size, len);
      return set_key_file_error (error, path, what, 0);
    }
  if (!read_exactly (fd, out, len))
    {
      int saved_errno = errno;

      wipe (out, len);
      return set_key_file_error (error, path, "cannot read", saved_errno);
    }

  return TRUE;
}

/* fsync()s the directory holding @path so a new entry survives a crash. */
static void
sync_parent_dir (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
}

typedef enum
{
  CREATE_DONE,
  CREATE_EXISTS,   /* someone else created it meanwhile */
  CREATE_FAILED,   /* @error is set */
} CreateResult;

/* Writes @buf to a private temporary file and then link()s it into place.
 * link() never replaces an existing file, so of two processes racing to
 * create the key only one wins and the other loads the winner's key; and no
 * one ever sees a half-written key file, even after a crash. */
static CreateResult
key_file_create_with (const char    *path,
                      const guint8  *buf,
                      gsize          len,
                      GError       **error)
{
  g_autofree char *tmp_path = g_strdup_printf ("%s.XXXXXX", path);
  CreateResult result = CREATE_FAILED;
  int fd;

  /* g_mkstemp_full opens with O_CREAT | O_EXCL, here with mode 0600. */
  fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      set_key_file_error (error, path, "cannot create", errno);
      return CREATE_FAILED;
    }

  if (!write_all (fd, buf, len) || fsync (fd) != 0)
    {
      set_key_file_error (error, path, "cannot write", errno);
      goto out;
    }

  if (link (tmp_path, path) != 0)
    {
      if (errno == EEXIST)
        result = CREATE_EXISTS;
      else
        set_key_file_error (error, path, "cannot create", errno);
      goto out;
    }

  sync_parent_dir (path);
  result = CREATE_DONE;

out:
  close (fd);
  g_unlink (tmp_path);
  return result;
}

static CreateResult
key_file_create (const char  *path,
                 gsize        len,
                 GError     **error)
{
  g_autofree guint8 *buf = g_malloc (len);
  CreateResult result = CREATE_FAILED;

  if (onepin_crypto_random (buf, len, error))
    result = key_file_create_with (path, buf, len, error);
  wipe (buf, len);
  return result;
}

gboolean
onepin_key_file_load_or_create (const char  *path,
                                guint8      *out,
                                gsize        len,
                                GError     **error)
{
  g_autofree char *dir = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (out != NULL && len > 0, FALSE);

  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    return set_key_file_error (error, path, "cannot create its directory", errno);

  /* Two rounds at most: after creating the file (or losing the race to
   * create it) it is read back like any existing one. Opened without
   * blocking, so that a FIFO put there is refused as not a regular file
   * rather than wait for a writer for ever (reads of a regular file are
   * the same either way). */
  for (int attempt = 0; attempt < 2; attempt++)
    {
      int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

      if (fd >= 0)
        {
          gboolean ok = key_file_read (fd, path, out, len, error);

          close (fd);
          return ok;
        }
      if (errno != ENOENT)
        return set_key_file_error (error, path, "cannot open", errno);

      if (key_file_create (path, len, error) == CREATE_FAILED)
        return FALSE;
    }

  return set_key_file_error (error, path, "vanished right after being created", 0);
}

/* Data sealed, hashed or MACed under a key is useless without it, and a
 * key file made anew would fail against it anyway, and be left where the
 * operator is about to restore the real one. */
gboolean
onepin_key_file_expected (const char  *key_file,
                          const char  *data_file,
                          GError     **error)
{
  g_return_val_if_fail (key_file != NULL && data_file != NULL, FALSE);

  if (g_file_test (key_file, G_FILE_TEST_EXISTS) || !g_file_test (data_file, G_FILE_TEST_EXISTS))
    return TRUE;
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
               "The key file %s is missing, but the database %s exists: restore the key file "
               "it was written with (no card number or password in it can be used without it)",
               key_file, data_file);
  return FALSE;
}

/* ---- text secrets ------------------------------------------------------ */

#define SECRET_FILE_MAX 1024
#define SECRET_MIN_LEN  16

/* The text of a private file of @min to SECRET_FILE_MAX bytes, without the
 * whitespace around it; @what says what it should hold. */
static char *
text_file_read (int          fd,
                const char  *path,
                gsize        min,
                const char  *what,
                GError     **error)
{
  g_autofree char *buf = g_malloc0 (SECRET_FILE_MAX + 1);
  struct stat st;

  if (!key_file_check (fd, path, &st, error))
    return NULL;
  if (st.st_size < (off_t) min || st.st_size > SECRET_FILE_MAX)
    return set_key_file_error (error, path, what, 0), NULL;
  if (!read_exactly (fd, (guint8 *) buf, (gsize) st.st_size))
    {
      set_key_file_error (error, path, "cannot read", errno);
      wipe (buf, SECRET_FILE_MAX);
      return NULL;
    }
  g_strstrip (buf);
  return g_steal_pointer (&buf);
}

/* Opens @path itself (never through a symlink) and reads it as above. */
static char *
text_file_open (const char  *path,
                gsize        min,
                const char  *what,
                gboolean    *missing,
                GError     **error)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  char *text;

  *missing = fd < 0 && errno == ENOENT;
  if (fd < 0)
    return set_key_file_error (error, path, "cannot open", errno), NULL;
  text = text_file_read (fd, path, min, what, error);
  close (fd);
  return text;
}

#define SECRET_RULE "a secret is 16 to 1024 printable characters"

static char *
secret_file_open (const char  *path,
                  gboolean    *missing,
                  GError     **error)
{
  g_autofree char *buf = text_file_open (path, SECRET_MIN_LEN, SECRET_RULE, missing, error);
  gsize len;

  if (buf == NULL)
    return NULL;
  len = strlen (buf);
  for (gsize i = 0; i < len; i++)
    if (buf[i] <= 0x20 || buf[i] > 0x7e)
      len = 0;
  if (len < SECRET_MIN_LEN)
    {
      wipe (buf, SECRET_FILE_MAX);
      return set_key_file_error (error, path, SECRET_RULE, 0), NULL;
    }
  return g_steal_pointer (&buf);
}

char *
onepin_password_file_load (const char  *path,
                           GError     **error)
{
  g_autofree char *buf = NULL;
  gboolean missing;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);
  buf = text_file_open (path, 1, "a password file holds one line", &missing, error);
  if (buf == NULL)
    return NULL;
  len = strlen (buf);
  for (gsize i = 0; i < len; i++)
    if ((guchar) buf[i] < 0x20 || buf[i] == 0x7f)
      len = 0;
  if (len == 0)
    {
      wipe (buf, SECRET_FILE_MAX);
      return set_key_file_error (error, path, "a password file holds one line", 0), NULL;
    }
  return g_steal_pointer (&buf);
}

gboolean
onepin_private_file_check (const char  *path,
                           GError     **error)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  gboolean ok;

  g_return_val_if_fail (path != NULL, FALSE);
  if (fd < 0)
    return set_key_file_error (error, path, "cannot open", errno);
  ok = key_file_check (fd, path, &st, error);
  close (fd);
  return ok;
}

char *
onepin_secret_file_load (const char  *path,
                         GError     **error)
{
  gboolean missing;

  g_return_val_if_fail (path != NULL, NULL);
  return secret_file_open (path, &missing, error);
}

char *
onepin_secret_file_load_or_create (const char  *path,
                                   const char  *prefix,
                                   GError     **error)
{
  g_autofree char *dir = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    return set_key_file_error (error, path, "cannot create its directory", errno), NULL;

  for (int attempt = 0; attempt < 2; attempt++)
    {
      g_autoptr(GError) local = NULL;
      g_autofree char *fresh = NULL;
      gboolean missing;
      char *secret = secret_file_open (path, &missing, &local);

      if (secret != NULL || !missing)
        {
          if (local != NULL)
            g_propagate_error (error, g_steal_pointer (&local));
          return secret;
        }
      /* The token alone, no newline: it is pasted or read into a header
       * as it stands. */
      fresh = onepin_crypto_random_token (prefix, 32);
      if (key_file_create_with (path, (const guint8 *) fresh, strlen (fresh), error) ==
          CREATE_FAILED)
        {
          wipe (fresh, strlen (fresh));
          return NULL;
        }
      wipe (fresh, strlen (fresh));
    }

  return set_key_file_error (error, path, "vanished right after being created", 0), NULL;
}
