/* gw-keys.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-keys.h"

#include <string.h>

static OnepinKey *
derive (OnepinKey   *master,
        const char  *label,
        gboolean     aes,
        GError     **error)
{
  guint8 raw[32];
  OnepinKey *key;

  onepin_key_hmac (master, label, strlen (label), raw);
  key = aes ? onepin_key_new_aes (raw, sizeof raw, error)
            : onepin_key_new_hmac (raw, sizeof raw, error);
  explicit_bzero (raw, sizeof raw);
  return key;
}

GwKeys *
gw_keys_load (const char  *path,
              GError     **error)
{
  g_autoptr(GwKeys) keys = g_new0 (GwKeys, 1);
  g_autoptr(OnepinKey) master = NULL;
  guint8 raw[32];

  if (!onepin_key_file_load_or_create (path, raw, sizeof raw, error))
    return NULL;
  master = onepin_key_new_hmac (raw, sizeof raw, error);
  explicit_bzero (raw, sizeof raw);
  if (master == NULL)
    return NULL;

  if (!(keys->lookup = derive (master, "onepin card lookup v1", FALSE, error)) ||
      !(keys->password = derive (master, "onepin card password v1", FALSE, error)) ||
      !(keys->apikey = derive (master, "onepin api key v1", FALSE, error)) ||
      !(keys->seal = derive (master, "onepin seal v1", TRUE, error)) ||
      !(keys->ids = derive (master, "onepin line ids v1", TRUE, error)) ||
      !(keys->idempotency = derive (master, "onepin idempotency key v1", FALSE, error)))
    return NULL;
  return g_steal_pointer (&keys);
}

void
gw_keys_free (GwKeys *keys)
{
  if (keys == NULL)
    return;
  g_clear_pointer (&keys->lookup, onepin_key_free);
  g_clear_pointer (&keys->password, onepin_key_free);
  g_clear_pointer (&keys->apikey, onepin_key_free);
  g_clear_pointer (&keys->seal, onepin_key_free);
  g_clear_pointer (&keys->ids, onepin_key_free);
  g_clear_pointer (&keys->idempotency, onepin_key_free);
  g_free (keys);
}

/* NSS fails an HMAC only when it cannot make a context (or the key is not
 * an HMAC key, a bug): then no hash can be trusted, and an all-zero or
 * uninitialised one would make every scope's key the same, replaying one
 * merchant's answer to another. Stopping is safe: whatever was in flight is
 * retried with its key, and found, after the restart. */
static void
hmac_or_abort (OnepinKey  *key,
               const void *text,
               gsize       len,
               guint8      out[32])
{
  if (!onepin_key_hmac (key, text, len, out))
    g_error ("Cannot compute an HMAC with NSS: stopping, since no idempotency key can be hashed");
}

/* HMAC of @scope, @separator and the first @len bytes of @text. */
static void
hash_scoped (OnepinKey  *key,
             const char *scope,
             char        separator,
             const char *text,
             gsize       len,
             guint8      out[32])
{
  /* A client's key is at most 255 bytes and a scope 47, so it fits on the
   * stack; only the gateway's own keys (gw_request_use_idempotency_key),
   * which hold a path id, may not. */
  char stack[320];
  g_autofree char *heap = NULL;
  gsize scope_len = strlen (scope);
  gsize total = scope_len + 1 + len;
  char *buffer = total <= sizeof stack ? stack : (heap = g_malloc (total));

  memcpy (buffer, scope, scope_len);
  buffer[scope_len] = separator;
  memcpy (buffer + scope_len + 1, text, len);
  hmac_or_abort (key, buffer, total, out);
}

/* The first STEM_BYTES of the hash come from the key without its last
 * STEM_TAIL characters: keys made in sequence (order-1000, order-1001, …)
 * land side by side in the unique index, as they did in clear, instead of
 * one random page each. In batches of 1,000 the random pages cost a quarter
 * of the throughput (40,000 → 28,000 approvals/s). What the file then shows
 * is which keys share all but their last three characters, never what they
 * are. The stem's text is kept apart from a whole key's by its separator. */
#define STEM_TAIL  3
#define STEM_BYTES 8

void
gw_keys_idempotency_hash (OnepinKey  *key,
                          const char *scope,
                          const char *idempotency_key,
                          guint8      out[32])
{
  gsize len = strlen (idempotency_key);
  guint8 stem[32], whole[32];

  hash_scoped (key, scope, '\1', idempotency_key, len > STEM_TAIL ? len - STEM_TAIL : 0, stem);
  hash_scoped (key, scope, '\0', idempotency_key, len, whole);
  memcpy (out, stem, STEM_BYTES);
  memcpy (out + STEM_BYTES, whole, 32 - STEM_BYTES);
}

void
gw_keys_request_key (OnepinKey    *key,
                     const guint8  digest[32],
                     guint8        out[32])
{
  /* It starts with a NUL, where a key's hash starts with its scope (never
   * empty): the two never hash the same text. */
  static const char prefix[] = "\0request";
  guint8 text[sizeof prefix + 32];

  memcpy (text, prefix, sizeof prefix);
  memcpy (text + sizeof prefix, digest, 32);
  hmac_or_abort (key, text, sizeof text, out);
}

/* A text token rather than raw bytes: people paste it into curl. */
char *
gw_admin_token_load (const char  *data_dir,
                     GError     **error)
{
  g_autofree char *path = g_build_filename (data_dir, "admin.token", NULL);

  return onepin_secret_file_load_or_create (path, "adm_", error);
}
