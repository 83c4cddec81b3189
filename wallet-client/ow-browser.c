/* ow-browser.c: the browsers paired with the wallet, sealed in the vault
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-browser.h"

#include <string.h>

#include "onepin-crypto.h"
#include "onepin-json.h"

#define MAX_ORIGIN 300

OwBrowser *
ow_browser_new (const char   *name,
                const char   *kind,
                const char   *caller,
                const guint8  key[OW_BRIDGE_KEY_LEN])
{
  OwBrowser *browser = g_new0 (OwBrowser, 1);

  browser->id = onepin_crypto_random_token ("br_", 16);
  browser->name = g_strdup (name);
  browser->kind = g_strdup (kind);
  browser->caller = g_strdup (caller);
  memcpy (browser->key, key, OW_BRIDGE_KEY_LEN);
  browser->created = g_get_real_time () / G_USEC_PER_SEC;
  browser->sites = g_ptr_array_new_with_free_func (g_free);
  return browser;
}

void
ow_browser_free (OwBrowser *browser)
{
  if (browser == NULL)
    return;
  ow_secret_wipe (browser->key, sizeof browser->key);
  g_free (browser->id);
  g_free (browser->name);
  g_free (browser->kind);
  g_free (browser->caller);
  g_ptr_array_unref (browser->sites);
  g_free (browser);
}

gboolean
ow_browser_id_valid (const char *id)
{
  if (id == NULL || !g_str_has_prefix (id, "br_") || strlen (id) != 3 + 32)
    return FALSE;
  for (const char *p = id + 3; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return TRUE;
}

/* ---- the record --------------------------------------------------------- */

static char *
serialize (const OwBrowser *browser)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(OwSecret) key = g_base64_encode (browser->key, sizeof browser->key);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, browser->name);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder, browser->kind);
  json_builder_set_member_name (builder, "caller");
  json_builder_add_string_value (builder, browser->caller);
  json_builder_set_member_name (builder, "key");
  json_builder_add_string_value (builder, key);
  json_builder_set_member_name (builder, "created");
  json_builder_add_int_value (builder, browser->created);
  json_builder_set_member_name (builder, "sites");
  json_builder_begin_array (builder);
  for (guint i = 0; i < browser->sites->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (browser->sites, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return ow_secret_json_builder_finish (builder, NULL);
}

static OwBrowser *
parse (const char  *id,
       const char  *text,
       GError     **error)
{
  static const OnepinJsonField fields[] = {
    { "name", ONEPIN_JSON_STRING, TRUE },
    { "kind", ONEPIN_JSON_STRING, TRUE },
    { "caller", ONEPIN_JSON_STRING, TRUE },
    { "key", ONEPIN_JSON_STRING, TRUE },
    { "created", ONEPIN_JSON_INT, TRUE },
    { "sites", ONEPIN_JSON_ARRAY, TRUE },
  };
  g_autoptr(OwSecretJson) object = onepin_json_parse_object (text, strlen (text), NULL);
  g_autoptr(OwBrowser) browser = g_new0 (OwBrowser, 1);
  JsonArray *sites;

  browser->sites = g_ptr_array_new_with_free_func (g_free);
  if (object == NULL || !onepin_json_check_fields (object, fields, G_N_ELEMENTS (fields), NULL, NULL) ||
      !ow_bridge_decode_exact (onepin_json_get_string (object, "key", ""), browser->key,
                               sizeof browser->key))
    {
      g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_TAMPERED,
                   "The record of browser %s is unreadable", id);
      return NULL;
    }
  browser->id = g_strdup (id);
  browser->name = g_strdup (onepin_json_get_string (object, "name", ""));
  browser->kind = g_strdup (onepin_json_get_string (object, "kind", ""));
  browser->caller = g_strdup (onepin_json_get_string (object, "caller", ""));
  browser->created = onepin_json_get_int (object, "created", 0);
  sites = json_object_get_array_member (object, "sites");
  for (guint i = 0; i < json_array_get_length (sites); i++)
    {
      const char *site = json_array_get_string_element (sites, i);

      if (site != NULL && ow_browser_origin_valid (site))
        g_ptr_array_add (browser->sites, g_strdup (site));
    }
  return g_steal_pointer (&browser);
}

OwBrowser *
ow_browser_load (OwVault     *vault,
                 const char  *id,
                 GError     **error)
{
  g_autoptr(OwSecret) text = NULL;

  if (!ow_browser_id_valid (id))
    {
      g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NOT_FOUND, "No such browser");
      return NULL;
    }
  text = ow_vault_lookup (vault, OW_VAULT_KIND_BROWSER, id, error);
  if (text == NULL)
    return NULL;
  return parse (id, text, error);
}

gboolean
ow_browser_save (OwVault          *vault,
                 const OwBrowser  *browser,
                 GError          **error)
{
  g_autoptr(OwSecret) text = serialize (browser);

  return ow_vault_store (vault, OW_VAULT_KIND_BROWSER, browser->id, text, error);
}

gboolean
ow_browser_remove (OwVault     *vault,
                   const char  *id,
                   GError     **error)
{
  return ow_vault_remove (vault, OW_VAULT_KIND_BROWSER, id, error);
}

static int
by_created (gconstpointer a,
            gconstpointer b)
{
  const OwBrowser *x = *(OwBrowser * const *) a;
  const OwBrowser *y = *(OwBrowser * const *) b;

  return x->created < y->created ? -1 : x->created > y->created ? 1 : g_strcmp0 (x->id, y->id);
}

GPtrArray *
ow_browser_list (OwVault  *vault,
                 GError  **error)
{
  g_auto(GStrv) ids = ow_vault_list (vault, OW_VAULT_KIND_BROWSER, error);
  g_autoptr(GPtrArray) browsers = NULL;

  if (ids == NULL)
    return NULL;
  browsers = g_ptr_array_new_with_free_func ((GDestroyNotify) ow_browser_free);
  for (guint i = 0; ids[i] != NULL; i++)
    {
      OwBrowser *browser = ow_browser_load (vault, ids[i], error);

      if (browser == NULL)
        return NULL;
      g_ptr_array_add (browsers, browser);
    }
  g_ptr_array_sort (browsers, by_created);
  return g_steal_pointer (&browsers);
}

/* ---- sites -------------------------------------------------------------- */

gboolean
ow_browser_has_site (const OwBrowser *browser,
                     const char      *origin)
{
  for (guint i = 0; origin != NULL && i < browser->sites->len; i++)
    if (g_str_equal (g_ptr_array_index (browser->sites, i), origin))
      return TRUE;
  return FALSE;
}

gboolean
ow_browser_set_site (OwBrowser  *browser,
                     const char *origin,
                     gboolean    allowed)
{
  for (guint i = 0; i < browser->sites->len; i++)
    if (g_str_equal (g_ptr_array_index (browser->sites, i), origin))
      {
        if (!allowed)
          g_ptr_array_remove_index (browser->sites, i);
        return TRUE;
      }
  if (!allowed)
    return TRUE;
  if (browser->sites->len >= OW_BROWSER_MAX_SITES)
    return FALSE;
  g_ptr_array_add (browser->sites, g_strdup (origin));
  return TRUE;
}

static gboolean
host_is_local (const char *host)
{
  return g_ascii_strcasecmp (host, "localhost") == 0 || g_str_equal (host, "::1") ||
         (g_hostname_is_ip_address (host) && g_str_has_prefix (host, "127."));
}

gboolean
ow_browser_origin_valid (const char *origin)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;
  const char *host;

  if (origin == NULL || strlen (origin) > MAX_ORIGIN)
    return FALSE;
  for (const char *p = origin; *p != '\0'; p++)
    if (*p <= ' ' || *p > '~')
      return FALSE;
  uri = g_uri_parse (origin, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL)
    return FALSE;
  scheme = g_uri_get_scheme (uri);
  host = g_uri_get_host (uri);
  if (host == NULL || *host == '\0' || g_uri_get_userinfo (uri) != NULL ||
      *g_uri_get_path (uri) != '\0' || g_uri_get_query (uri) != NULL ||
      g_uri_get_fragment (uri) != NULL)
    return FALSE;
  if (g_str_equal (scheme, "https"))
    return TRUE;
  return g_str_equal (scheme, "http") && host_is_local (host);
}

/* Which field types each member of a card reply fills. */
static const struct
{
  const char *member;
  const char *types[4];
} card_members[] = {
  { "number", { "cc-number" } },
  { "csc", { "cc-csc" } },
  { "name", { "cc-name" } },
  { "exp_month", { "cc-exp", "cc-exp-month" } },
  { "exp_year", { "cc-exp", "cc-exp-year" } },
  { "brand", { "cc-type" } },
};

gboolean
ow_browser_card_member_wanted (const char * const *fields,
                               const char         *member)
{
  g_return_val_if_fail (member != NULL, FALSE);

  if (fields == NULL)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (card_members); i++)
    {
      if (!g_str_equal (card_members[i].member, member))
        continue;
      for (gsize j = 0; j < G_N_ELEMENTS (card_members[i].types); j++)
        if (card_members[i].types[j] != NULL &&
            g_strv_contains (fields, card_members[i].types[j]))
          return TRUE;
      return FALSE;
    }
  return FALSE;
}
