/* ow-secret.c: wiping what held a secret before it is freed
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-secret.h"

#include <string.h>

#include "onepin-json.h"

static OwSecretWipeHook wipe_hook;
static gpointer wipe_hook_data;

void
ow_secret_set_wipe_hook (OwSecretWipeHook hook,
                         gpointer         user_data)
{
  wipe_hook = hook;
  wipe_hook_data = user_data;
}

void
ow_secret_wipe (gpointer data,
                gsize    len)
{
  if (data == NULL || len == 0)
    return;
  if (wipe_hook != NULL)
    wipe_hook (data, len, wipe_hook_data);
  /* memset on memory about to be freed is a dead store the compiler may
   * remove; explicit_bzero is not. */
  explicit_bzero (data, len);
}

void
ow_secret_free (char *secret)
{
  if (secret == NULL)
    return;
  ow_secret_wipe (secret, strlen (secret));
  g_free (secret);
}

/* ---- GBytes ------------------------------------------------------------- */

typedef struct
{
  gpointer data;
  gsize    len;
} Region;

static void
region_free (gpointer data)
{
  Region *region = data;

  ow_secret_wipe (region->data, region->len);
  g_free (region->data);
  g_free (region);
}

GBytes *
ow_secret_bytes_new_take (gpointer data,
                          gsize    len)
{
  Region *region = g_new (Region, 1);

  region->data = data;
  region->len = len;
  return g_bytes_new_with_free_func (data, len, region_free, region);
}

GBytes *
ow_secret_bytes_new (gconstpointer data,
                     gsize         len)
{
  return ow_secret_bytes_new_take (g_memdup2 (data, len), len);
}

/* ---- GString ------------------------------------------------------------ */

void
ow_secret_string_reserve (GString *string,
                          gsize    extra)
{
  gsize needed;
  gsize size;
  char *block;

  g_return_if_fail (string != NULL);
  g_return_if_fail (extra <= G_MAXSIZE - string->len - 1);

  needed = string->len + extra + 1;
  if (needed <= string->allocated_len)
    return;
  /* Grown by hand: g_string's realloc would free the old block unwiped. */
  size = MAX (string->allocated_len, 64);
  while (size < needed)
    size = size <= G_MAXSIZE / 2 ? size * 2 : needed;
  block = g_malloc (size);
  memcpy (block, string->str, string->len + 1);
  ow_secret_wipe (string->str, string->allocated_len);
  g_free (string->str);
  string->str = block;
  string->allocated_len = size;
}

void
ow_secret_string_append_len (GString    *string,
                             const char *data,
                             gsize       len)
{
  ow_secret_string_reserve (string, len);
  g_string_append_len (string, data, (gssize) len);
}

void
ow_secret_string_free (GString *string)
{
  if (string == NULL)
    return;
  ow_secret_wipe (string->str, string->allocated_len);
  g_string_free (string, TRUE);
}

/* ---- JSON --------------------------------------------------------------- */

/* What onepin_json_append_string can write for @s: quotes, and at most six
 * bytes (\u00XX, or \ufffd for an invalid byte) per byte. */
static gsize
string_bound (const char *s)
{
  return s != NULL ? 2 + 6 * strlen (s) : 4;
}

static gsize node_bound (JsonNode *node);

static gsize
object_bound (JsonObject *object)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;
  gsize bound = 2;

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, &member))
    bound += string_bound (name) + 1 + node_bound (member) + 1;
  return bound;
}

static gsize
array_bound (JsonArray *array)
{
  gsize bound = 2;

  for (guint i = 0; i < json_array_get_length (array); i++)
    bound += node_bound (json_array_get_element (array, i)) + 1;
  return bound;
}

/* An upper bound of the canonical text of @node. */
static gsize
node_bound (JsonNode *node)
{
  GType type;

  switch (node != NULL ? json_node_get_node_type (node) : JSON_NODE_NULL)
    {
    case JSON_NODE_OBJECT:
      return object_bound (json_node_get_object (node));
    case JSON_NODE_ARRAY:
      return array_bound (json_node_get_array (node));
    case JSON_NODE_VALUE:
      type = json_node_get_value_type (node);
      if (type == G_TYPE_STRING)
        return string_bound (json_node_get_string (node));
      /* a number or a boolean: no longer than a double's shortest form
       * with ".0" */
      return G_ASCII_DTOSTR_BUF_SIZE + 2;
    case JSON_NODE_NULL:
    default:
      return 4;
    }
}

char *
ow_secret_json_to_string (JsonObject *object,
                          gsize      *length)
{
  GString *text;
  char *block;

  g_return_val_if_fail (object != NULL, NULL);

  /* Sized once: appending within the bound never reallocates, so the text
   * exists in this block only. */
  text = g_string_sized_new (object_bound (object));
  block = text->str;
  onepin_json_append_canonical_object (text, object, NULL);
  /* a bound too small would have left a partial copy behind */
  g_warn_if_fail (text->str == block);
  if (length != NULL)
    *length = text->len;
  return g_string_free (text, FALSE);
}

char *
ow_secret_json_builder_finish (JsonBuilder *builder,
                               gsize       *length)
{
  /* a new node, but the same object as the builder's */
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  JsonObject *object;
  char *text;

  g_return_val_if_fail (root != NULL && JSON_NODE_HOLDS_OBJECT (root), NULL);

  object = json_node_get_object (root);
  text = ow_secret_json_to_string (object, length);
  ow_secret_json_wipe (object);
  return text;
}

static void wipe_node (JsonNode *node);

void
ow_secret_json_wipe (JsonObject *object)
{
  JsonObjectIter iter;
  JsonNode *member;

  if (object == NULL)
    return;
  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, NULL, &member))
    wipe_node (member);
}

void
ow_secret_json_unref (JsonObject *object)
{
  if (object == NULL)
    return;
  ow_secret_json_wipe (object);
  json_object_unref (object);
}

static void
wipe_node (JsonNode *node)
{
  JsonArray *array;

  switch (node != NULL ? json_node_get_node_type (node) : JSON_NODE_NULL)
    {
    case JSON_NODE_OBJECT:
      ow_secret_json_wipe (json_node_get_object (node));
      break;
    case JSON_NODE_ARRAY:
      array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        wipe_node (json_array_get_element (array, i));
      break;
    case JSON_NODE_VALUE:
      /* json-glib hands out its own copy as const; it is a g_strdup of ours
       * that it frees as it is, and nothing reads it after this. */
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        {
          char *s = (char *) json_node_get_string (node);

          ow_secret_wipe (s, s != NULL ? strlen (s) : 0);
        }
      break;
    case JSON_NODE_NULL:
    default:
      break;
    }
}
