/* ow-secret.h: wiping what held a secret before it is freed
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The wallet's copies of the card number, the CVC, passwords, session
 * tokens and pairing keys are overwritten with zeros (explicit_bzero, which
 * the compiler may not drop) before their memory goes back to the
 * allocator. One place does it, for the wallet and for
 * onepin-wallet-host alike:
 *
 *   - strings (OwSecret) and byte ranges;
 *   - GBytes whose bytes are wiped when the last reference goes, for what
 *     is handed to GIO or libsoup to write;
 *   - GStrings that grow without leaving a copy behind (a realloc would
 *     free the old block as it is);
 *   - JSON: text written once into a buffer of its final size, and the
 *     strings of a JsonObject tree we built or parsed.
 *
 * What json-glib, libsoup, GnuTLS or the kernel copy inside themselves is
 * beyond reach; HACKING.md ("Secrets in memory") lists those copies.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Zeroes @len bytes at @data (NULL-safe). */
void        ow_secret_wipe               (gpointer       data,
                                          gsize          len);
/* Wipes and frees a string that held a secret (NULL-safe). */
void        ow_secret_free               (char          *secret);

/* Bytes that are wiped and freed with the last reference: takes @data
 * (g_malloc'd, @len bytes). */
GBytes     *ow_secret_bytes_new_take     (gpointer       data,
                                          gsize          len);
/* The same, over a copy of @data. */
GBytes     *ow_secret_bytes_new          (gconstpointer  data,
                                          gsize          len);

/* Makes room for @extra more bytes in @string; the block it outgrows is
 * wiped before it is freed. g_string_append* cannot realloc while what it
 * appends fits. */
void        ow_secret_string_reserve     (GString       *string,
                                          gsize          extra);
void        ow_secret_string_append_len  (GString       *string,
                                          const char    *data,
                                          gsize          len);
/* Wipes all of @string's block, then frees it (NULL-safe). */
void        ow_secret_string_free        (GString       *string);

/* @object as compact JSON (members sorted by name), written into one block
 * of a size known beforehand, so that no partial copy is left behind.
 * Free it with ow_secret_free. */
char       *ow_secret_json_to_string     (JsonObject    *object,
                                          gsize         *length);
/* The object @builder built, as ow_secret_json_to_string writes it; then
 * the builder's own copies of its strings are wiped. */
char       *ow_secret_json_builder_finish (JsonBuilder  *builder,
                                          gsize         *length);
/* Zeroes every string value in @object and what it contains (member names
 * are left alone: they are ours, not secrets). For a tree that held a
 * secret, just before the last reference to it is dropped. */
void        ow_secret_json_wipe          (JsonObject    *object);
/* ow_secret_json_wipe, then drops a reference (NULL-safe): for a tree that
 * held a secret and that nobody else holds. */
void        ow_secret_json_unref         (JsonObject    *object);

/* For tests: @hook sees every region just before ow_secret_wipe zeroes
 * it, so that a test can tell which copies of a secret were wiped. NULL
 * removes it. Not thread-safe: set it while no other thread wipes. */
typedef void (*OwSecretWipeHook)         (gconstpointer  data,
                                          gsize          len,
                                          gpointer       user_data);
void        ow_secret_set_wipe_hook      (OwSecretWipeHook hook,
                                          gpointer       user_data);

typedef char OwSecret;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwSecret, ow_secret_free)

typedef GString OwSecretString;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwSecretString, ow_secret_string_free)

typedef JsonObject OwSecretJson;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwSecretJson, ow_secret_json_unref)

G_END_DECLS
