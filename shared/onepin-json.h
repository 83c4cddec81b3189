/* onepin-json.h: strict JSON request parsing on top of json-glib
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define ONEPIN_JSON_ERROR (onepin_json_error_quark ())
#define ONEPIN_JSON_MAX_DEPTH 32

typedef enum
{
  ONEPIN_JSON_ERROR_SYNTAX,        /* not JSON, not UTF-8, too deep */
  ONEPIN_JSON_ERROR_NOT_OBJECT,
  ONEPIN_JSON_ERROR_UNKNOWN_FIELD,
  ONEPIN_JSON_ERROR_TYPE,
  ONEPIN_JSON_ERROR_MISSING,
} OnepinJsonError;

typedef enum
{
  ONEPIN_JSON_STRING,
  ONEPIN_JSON_INT,
  ONEPIN_JSON_BOOL,
  ONEPIN_JSON_ARRAY,
  ONEPIN_JSON_OBJECT,
} OnepinJsonType;

typedef struct
{
  const char     *name;
  OnepinJsonType  type;
  gboolean        required;
} OnepinJsonField;

GQuark       onepin_json_error_quark    (void);

/* Parses @data as one JSON object. Rejects invalid UTF-8, embedded NULs,
 * nesting deeper than ONEPIN_JSON_MAX_DEPTH (before json-glib sees it, so
 * deep input cannot exhaust the stack) and anything that is not an object.
 * The only copies of the decoded strings are in the tree: the parser's own
 * buffer is wiped (see onepin_json_object_wipe ()). */
JsonObject  *onepin_json_parse_object   (const char            *data,
                                         gsize                  len,
                                         GError               **error);
/* Overwrites every string value in @object, and in the objects and arrays
 * in it, with zeros, where json-glib keeps it: for a tree that held secrets
 * (a card number, a password), just before its last reference goes. Names
 * are left as they are. */
void         onepin_json_object_wipe    (JsonObject            *object);

/* Checks that @object has only the listed fields, each of its type, and all
 * the required ones. On failure, @bad_param (if not NULL) is set to the name
 * of the offending field (owned by @fields or @object). A string field must
 * be valid UTF-8 without NUL; an int field must be a JSON integer (5.0 is not). */
gboolean     onepin_json_check_fields   (JsonObject            *object,
                                         const OnepinJsonField *fields,
                                         gsize                  n_fields,
                                         const char           **bad_param,
                                         GError               **error);

/* The same checks of the listed fields, but other members are let be: for
 * an answer, which a newer server may give more members than we know. */
gboolean     onepin_json_check_members  (JsonObject            *object,
                                         const OnepinJsonField *fields,
                                         gsize                  n_fields,
                                         const char           **bad_param,
                                         GError               **error);

/* Typed getters that return @fallback when the member is absent or null. */
const char  *onepin_json_get_string     (JsonObject            *object,
                                         const char            *name,
                                         const char            *fallback);
gint64       onepin_json_get_int        (JsonObject            *object,
                                         const char            *name,
                                         gint64                 fallback);
gboolean     onepin_json_get_bool       (JsonObject            *object,
                                         const char            *name,
                                         gboolean               fallback);

/* A canonical serialisation (object members sorted by name, no whitespace),
 * for comparing two requests' parameters. */
char        *onepin_json_canonical      (JsonNode              *node);
/* At least the length of @node's canonical form: a GString of this size
 * takes it without growing, so no reallocation leaves a copy behind. */
gsize        onepin_json_canonical_bound (JsonNode             *node);
/* Appends the canonical form of @object to @out, as if it had no member
 * named @except (when not NULL). */
void         onepin_json_append_canonical_object (GString      *out,
                                                  JsonObject   *object,
                                                  const char   *except);

/* Appends @str to @out as a JSON string literal, quotes included. */
void         onepin_json_append_string  (GString               *out,
                                         const char            *str);
/* Appends @value in decimal, as printf's "%" G_GINT64_FORMAT would, without printf. */
void         onepin_json_append_int     (GString               *out,
                                         gint64                 value);

G_END_DECLS
