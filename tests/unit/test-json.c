/* test-json.c: unit tests for onepin-json
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-shared.h"

#include <string.h>

static JsonObject *
parse (const char *text,
       GError    **error)
{
  return onepin_json_parse_object (text, strlen (text), error);
}

static void
assert_parse_fails (const char      *data,
                    gsize            len,
                    int              code)
{
  g_autoptr(GError) error = NULL;
  JsonObject *object = onepin_json_parse_object (data, len, &error);

  if (object != NULL)
    g_error ("accepted: %.*s", (int) MIN (len, 200), data);
  g_assert_error (error, ONEPIN_JSON_ERROR, code);
}

static void
assert_rejected (const char *text)
{
  assert_parse_fails (text, strlen (text), ONEPIN_JSON_ERROR_SYNTAX);
}

static void
test_parse_valid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = NULL;
  JsonObject *meta;

  object = parse (" \r\n\t{\"amount\": 5000, \"currency\": \"krw\", \"capture\": true, "
                  "\"meta\": {\"tags\": [1, -2.5e3, \"x\", null, false, {}, []]},"
                  "\"emoji\": \"\\ud83d\\ude00\", \"esc\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"} \n",
                  &error);
  g_assert_no_error (error);
  g_assert_nonnull (object);

  g_assert_cmpint (onepin_json_get_int (object, "amount", -1), ==, 5000);
  g_assert_cmpstr (onepin_json_get_string (object, "currency", NULL), ==, "krw");
  g_assert_true (onepin_json_get_bool (object, "capture", FALSE));
  g_assert_cmpstr (onepin_json_get_string (object, "emoji", NULL), ==, "\xf0\x9f\x98\x80");
  g_assert_cmpstr (onepin_json_get_string (object, "esc", NULL), ==, "\"\\/\b\f\n\r\t");
  meta = json_object_get_object_member (object, "meta");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (meta, "tags")), ==, 7);
}

static void assert_fields (const char *text,
                           int         expected_code,
                           const char *expected_param);

static void
test_parse_int_range (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) max = parse ("{\"a\":9223372036854775807}", &error);
  g_autoptr(JsonObject) min = parse ("{\"a\":-9223372036854775808}", &error);

  g_assert_no_error (error);
  g_assert_cmpint (onepin_json_get_int (max, "a", 0), ==, G_MAXINT64);
  g_assert_cmpint (onepin_json_get_int (min, "a", 0), ==, G_MININT64);

  /* json-glib 1.6 would silently wrap these; they must read as ill-typed
   * (never as a wrapped integer) so the field can be named in the error. */
  assert_fields ("{\"amount\":9223372036854775808,\"currency\":\"krw\"}",
                 ONEPIN_JSON_ERROR_TYPE, "amount");
  assert_fields ("{\"amount\":-9223372036854775809,\"currency\":\"krw\"}",
                 ONEPIN_JSON_ERROR_TYPE, "amount");
  assert_fields ("{\"currency\":\"krw\",\"amount\":99999999999999999999}",
                 ONEPIN_JSON_ERROR_TYPE, "amount");
  assert_rejected ("{\"a\":1e999}");
}

static char *
nest (const char *open,
      const char *inner,
      const char *close,
      guint       depth)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append (out, open);
  g_string_append (out, inner);
  for (guint i = 0; i < depth; i++)
    g_string_append (out, close);
  return g_string_free (out, FALSE);
}

static void
test_parse_depth (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *max_arrays = nest ("[", "1", "]", ONEPIN_JSON_MAX_DEPTH - 1);
  g_autofree char *ok = g_strdup_printf ("{\"a\":%s}", max_arrays);
  g_autofree char *too_deep_arrays = nest ("[", "1", "]", ONEPIN_JSON_MAX_DEPTH);
  g_autofree char *too_deep = g_strdup_printf ("{\"a\":%s}", too_deep_arrays);
  g_autofree char *objects_ok = nest ("{\"a\":", "1", "}", ONEPIN_JSON_MAX_DEPTH);
  g_autofree char *objects_deep = nest ("{\"a\":", "1", "}", ONEPIN_JSON_MAX_DEPTH + 1);
  g_autofree char *huge_open = nest ("[", "", "", 100000);
  g_autofree char *huge_closed = nest ("[", "", "]", 100000);
  g_autofree char *huge_objects = nest ("{\"a\":", "", "", 100000);
  g_autofree char *brackets = nest ("[", "", "", 1000);
  g_autofree char *in_string = g_strdup_printf ("{\"a\":\"\\\"%s\",\"b\":[{}]}", brackets);
  JsonObject *object;

  object = parse (ok, &error);
  g_assert_no_error (error);
  json_object_unref (object);
  object = parse (objects_ok, &error);
  g_assert_no_error (error);
  json_object_unref (object);

  assert_rejected (too_deep);
  assert_rejected (objects_deep);
  assert_rejected (huge_open);
  assert_rejected (huge_closed);
  assert_rejected (huge_objects);

  /* Brackets inside strings (after an escaped quote, too) are not nesting. */
  object = parse (in_string, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (onepin_json_get_string (object, "a", "")), ==, 1001);
  json_object_unref (object);
}

static void
test_parse_encoding (void)
{
  static const char with_nul[] = "{\"a\":\"x\0y\"}";
  static const char trailing_nul[] = "{\"a\":1}\0";

  assert_rejected ("{\"a\":\"\xff\"}");
  assert_rejected ("{\"a\":\"\xc0\xaf\"}");              /* overlong '/' */
  assert_rejected ("{\"a\":\"\xed\xa0\x80\"}");          /* UTF-8 surrogate */
  assert_rejected ("{\"a\":\"\xe2\x82\"}");              /* truncated */
  assert_rejected ("{\"\xfe\":1}");
  assert_parse_fails (with_nul, sizeof with_nul - 1, ONEPIN_JSON_ERROR_SYNTAX);
  assert_parse_fails (trailing_nul, sizeof trailing_nul - 1, ONEPIN_JSON_ERROR_SYNTAX);

  /* Escapes that would smuggle a NUL or lone surrogate past UTF-8 checks. */
  assert_rejected ("{\"a\":\"x\\u0000y\"}");
  assert_rejected ("{\"a\\u0000\":1}");
  assert_rejected ("{\"a\":\"\\ud800\"}");
  assert_rejected ("{\"a\":\"\\ud800x\"}");
  assert_rejected ("{\"a\":\"\\udc00\"}");
  assert_rejected ("{\"a\":\"\\ud800\\u0041\"}");
}

static void
test_parse_not_object (void)
{
  static const char *const roots[] = {
    "[]", "[{\"a\":1}]", "\"x\"", "1", "-1.5", "true", "false", "null", " \n []",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (roots); i++)
    assert_parse_fails (roots[i], strlen (roots[i]), ONEPIN_JSON_ERROR_NOT_OBJECT);

  assert_parse_fails ("", 0, ONEPIN_JSON_ERROR_SYNTAX);
  assert_parse_fails (NULL, 0, ONEPIN_JSON_ERROR_SYNTAX);
  assert_rejected ("   ");
}

/* What json-glib 1.6 accepts but RFC 8259 does not. */
static void
test_parse_strict (void)
{
  static const char *const bad[] = {
    "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "{,}", "{\"a\":[1,]}",
    "{\"a\":[1 2]}", "{\"a\":1}}", "{\"a\":1} x", "{}{}", "{a:1}", "{'a':1}",
    "{\"a\":'x'}", "{/*c*/\"a\":1}", "{\"a\":1}//c", "{\"a\":01}", "{\"a\":-01}",
    "{\"a\":0x10}", "{\"a\":+1}", "{\"a\":.5}", "{\"a\":5.}", "{\"a\":1e}", "{\"a\":-}",
    "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":tru}", "{\"a\":True}", "{\"a\":nul}",
    "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"tab\there\"}",
    "{\"a\":\"new\nline\"}", "{\"a\":\"unterminated}", "{\"a\":\"x\\\"}", "\xef\xbb\xbf{}",
    "{\"a\":1}\f", "{\"a\"\v:1}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_rejected (bad[i]);
}

static void
test_parse_duplicates (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = NULL;

  assert_rejected ("{\"amount\":1,\"amount\":100000}");
  assert_rejected ("{\"a\":{\"b\":1,\"c\":2,\"b\":3}}");
  assert_rejected ("{\"a\":1,\"\\u0061\":2}");

  /* The same name in different objects is fine. */
  object = parse ("{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}]}", &error);
  g_assert_no_error (error);
  g_assert_nonnull (object);
}

/* Valid JSON that onepin refuses on purpose: duplicate names and U+0000. */
static const char *const refused_on_purpose[] = {
  "y_object_duplicated_key.json",
  "y_object_duplicated_key_and_value.json",
  "y_object_escaped_null_in_key.json",
  "y_string_null_escape.json",
  NULL,
};

/* The canonical form of an accepted object must itself parse, to the same
 * canonical form: this exercises the string escaping on odd input. */
static void
assert_canonical_round_trip (JsonObject *object,
                             const char *file)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autofree char *first = onepin_json_canonical (node);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) again = onepin_json_parse_object (first, strlen (first), &error);
  g_autoptr(JsonNode) again_node = NULL;
  g_autofree char *second = NULL;

  if (again == NULL)
    g_error ("%s: canonical form %s does not parse: %s", file, first, error->message);
  again_node = json_node_init_object (json_node_alloc (), again);
  second = onepin_json_canonical (again_node);
  g_assert_cmpstr (first, ==, second);
  g_assert_cmpuint (strlen (first), <=, onepin_json_canonical_bound (node));
}

/* JSONTestSuite's test_parsing: y_ files must parse (or be refused only
 * as non-objects), n_ files must be refused, i_ files may go either way
 * but must not crash. */
static void
test_parse_json_test_suite (void)
{
  const char *corpora = g_getenv ("ONEPIN_CORPORA");
  g_autofree char *dir_path = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  guint n_yes = 0, n_no = 0, n_either = 0;

  if (corpora == NULL)
    {
      g_test_skip ("ONEPIN_CORPORA is not set");
      return;
    }

  dir_path = g_build_filename (corpora, "JSONTestSuite", "test_parsing", NULL);
  dir = g_dir_open (dir_path, 0, &error);
  g_assert_no_error (error);

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      g_autofree char *contents = NULL;
      g_autoptr(GError) parse_error = NULL;
      g_autoptr(JsonObject) object = NULL;
      gsize len;

      if (!g_str_has_suffix (name, ".json"))
        continue;
      g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
      object = onepin_json_parse_object (contents, len, &parse_error);
      g_assert_true ((object == NULL) != (parse_error == NULL));

      if (name[0] == 'n')
        {
          if (object != NULL)
            g_error ("%s was accepted", name);
          n_no++;
        }
      else if (name[0] == 'y' && g_strv_contains (refused_on_purpose, name))
        {
          g_assert_error (parse_error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_SYNTAX);
          n_yes++;
        }
      else if (name[0] == 'y')
        {
          if (parse_error != NULL &&
              !g_error_matches (parse_error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_NOT_OBJECT))
            g_error ("%s was refused: %s", name, parse_error->message);
          n_yes++;
        }
      else
        {
          n_either++;
        }

      if (object != NULL)
        assert_canonical_round_trip (object, name);
    }

  g_test_message ("%u y_, %u n_, %u i_ files", n_yes, n_no, n_either);
  g_assert_cmpuint (n_yes + n_no + n_either, >=, 300);
}

/* The tree is built by hand (not by JsonParser): for every document of the
 * suite that both read, as the value of a member, json-glib's own parser
 * must give the same tree, compared through the canonical form. Where they
 * may differ on purpose: integers outside int64 (json-glib wraps them, we
 * read them as not integers), duplicate names (we refuse them) and what
 * json-glib accepts beyond the RFC (we refuse that first). */
static void
test_parse_same_as_json_glib (void)
{
  const char *corpora = g_getenv ("ONEPIN_CORPORA");
  g_autofree char *dir_path = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;
  guint compared = 0;

  if (corpora == NULL)
    {
      g_test_skip ("ONEPIN_CORPORA is not set");
      return;
    }

  dir_path = g_build_filename (corpora, "JSONTestSuite", "test_parsing", NULL);
  dir = g_dir_open (dir_path, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      g_autofree char *contents = NULL;
      g_autofree char *wrapped = NULL;
      g_autofree char *ours = NULL;
      g_autofree char *theirs = NULL;
      g_autoptr(JsonObject) object = NULL;
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(JsonNode) node = NULL;
      gsize len;

      if (!g_str_has_suffix (name, ".json") || g_str_has_prefix (name, "y_number_huge") ||
          g_str_has_prefix (name, "y_number_very_big") ||
          g_str_has_prefix (name, "i_number_"))
        continue;
      g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
      wrapped = g_strdup_printf ("{\"v\":%.*s}", (int) len, contents);
      object = onepin_json_parse_object (wrapped, strlen (wrapped), NULL);
      if (object == NULL || strlen (wrapped) != len + 6 ||
          !json_parser_load_from_data (parser, wrapped, -1, NULL))
        continue;
      node = json_node_init_object (json_node_alloc (), object);
      ours = onepin_json_canonical (node);
      theirs = onepin_json_canonical (json_parser_get_root (parser));
      if (g_strcmp0 (ours, theirs) != 0)
        g_error ("%s: built %s, json-glib %s", name, ours, theirs);
      compared++;
    }
  g_test_message ("%u documents compared", compared);
  g_assert_cmpuint (compared, >=, 90);
}

/* The same for the shapes requests have, escapes and numbers of every kind. */
static void
test_parse_same_as_json_glib_shapes (void)
{
  static const char *const documents[] = {
    "{}",
    "{\"a\":[],\"b\":{},\"c\":\"\",\"d\":null,\"e\":true,\"f\":false}",
    "{\"card_number\":\"9410000012345678\",\"password\":\"p\\\"w\\\\d\",\"amount\":1,"
    "\"currency\":\"krw\",\"order_id\":\"o-1\",\"capture\":true}",
    "{\"esc\":\"\\b\\f\\n\\r\\t\\/\\u0041\\u00e9\\u20ac\\ud83d\\ude00x\"}",
    "{\"raw\":\"\xea\xb0\x80\xf0\x9f\x98\x80 \xc3\xa9\"}",
    "{\"n\":[0,-0,1,-1,9223372036854775807,-9223372036854775808,1.5,-0.25,1e10,1E-5,"
    "2.5e+3,0.1,123456789.123456789,5.0]}",
    "{\"deep\":[[[{\"a\":[{\"b\":[1,[2,[3]]]}]}]]],\"x\":{\"y\":{\"z\":\"\"}}}",
    " \r\n\t{ \"sp\" : [ 1 , 2 ] , \"t\" :\n{ } }\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (documents); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) object = parse (documents[i], &error);
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *ours = NULL;
      g_autofree char *theirs = NULL;

      g_assert_no_error (error);
      g_assert_true (json_parser_load_from_data (parser, documents[i], -1, NULL));
      node = json_node_init_object (json_node_alloc (), object);
      ours = onepin_json_canonical (node);
      theirs = onepin_json_canonical (json_parser_get_root (parser));
      g_assert_cmpstr (ours, ==, theirs);
    }
}

static const OnepinJsonField payment_fields[] = {
  { "amount", ONEPIN_JSON_INT, TRUE },
  { "currency", ONEPIN_JSON_STRING, TRUE },
  { "capture", ONEPIN_JSON_BOOL, FALSE },
  { "items", ONEPIN_JSON_ARRAY, FALSE },
  { "metadata", ONEPIN_JSON_OBJECT, FALSE },
};

static void
assert_fields (const char      *text,
               int              expected_code,   /* -1: accepted */
               const char      *expected_param)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = parse (text, &error);
  const char *bad_param = "untouched";
  gboolean ok;

  g_assert_no_error (error);
  ok = onepin_json_check_fields (object, payment_fields, G_N_ELEMENTS (payment_fields),
                                 &bad_param, &error);
  if (expected_code < 0)
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_null (bad_param);
      return;
    }

  g_assert_false (ok);
  g_assert_error (error, ONEPIN_JSON_ERROR, expected_code);
  g_assert_cmpstr (bad_param, ==, expected_param);
}

static void
test_check_fields (void)
{
  assert_fields ("{\"amount\":5000,\"currency\":\"krw\"}", -1, NULL);
  assert_fields ("{\"amount\":-1,\"currency\":\"\",\"capture\":false,\"items\":[],"
                 "\"metadata\":{\"x\":1}}", -1, NULL);
  assert_fields ("{\"amount\":5000,\"currency\":\"krw\",\"capture\":null,\"items\":null,"
                 "\"metadata\":null}", -1, NULL);

  assert_fields ("{\"amount\":5000,\"currency\":\"krw\",\"amout\":1}",
                 ONEPIN_JSON_ERROR_UNKNOWN_FIELD, "amout");
  assert_fields ("{\"zzz\":null,\"amount\":5000}", ONEPIN_JSON_ERROR_UNKNOWN_FIELD, "zzz");

  assert_fields ("{\"amount\":5.0,\"currency\":\"krw\"}", ONEPIN_JSON_ERROR_TYPE, "amount");
  assert_fields ("{\"amount\":5e0,\"currency\":\"krw\"}", ONEPIN_JSON_ERROR_TYPE, "amount");
  assert_fields ("{\"amount\":\"5000\",\"currency\":\"krw\"}", ONEPIN_JSON_ERROR_TYPE, "amount");
  assert_fields ("{\"amount\":true,\"currency\":\"krw\"}", ONEPIN_JSON_ERROR_TYPE, "amount");
  assert_fields ("{\"amount\":[5000],\"currency\":\"krw\"}", ONEPIN_JSON_ERROR_TYPE, "amount");
  assert_fields ("{\"amount\":5000,\"currency\":1}", ONEPIN_JSON_ERROR_TYPE, "currency");
  assert_fields ("{\"amount\":5000,\"currency\":\"krw\",\"capture\":1}",
                 ONEPIN_JSON_ERROR_TYPE, "capture");
  assert_fields ("{\"amount\":5000,\"currency\":\"krw\",\"capture\":\"true\"}",
                 ONEPIN_JSON_ERROR_TYPE, "capture");
  assert_fields ("{\"amount\":5000,\"currency\":\"krw\",\"items\":{}}",
                 ONEPIN_JSON_ERROR_TYPE, "items");
  assert_fields ("{\"amount\":5000,\"currency\":\"krw\",\"metadata\":[]}",
                 ONEPIN_JSON_ERROR_TYPE, "metadata");

  assert_fields ("{\"currency\":\"krw\"}", ONEPIN_JSON_ERROR_MISSING, "amount");
  assert_fields ("{\"amount\":1}", ONEPIN_JSON_ERROR_MISSING, "currency");
  assert_fields ("{\"amount\":null,\"currency\":\"krw\"}", ONEPIN_JSON_ERROR_MISSING, "amount");
  assert_fields ("{}", ONEPIN_JSON_ERROR_MISSING, "amount");
}

/* check_members checks the same, but lets members it was not told of be. */
static void
test_check_members (void)
{
  static const struct { const char *text; int code; const char *param; } cases[] = {
    { "{\"amount\":5000,\"currency\":\"krw\",\"newer\":[1]}", -1, NULL },
    { "{\"amount\":5000,\"currency\":\"krw\",\"capture\":null}", -1, NULL },
    { "{\"amount\":\"5000\",\"currency\":\"krw\"}", ONEPIN_JSON_ERROR_TYPE, "amount" },
    { "{\"amount\":5.0,\"currency\":\"krw\"}", ONEPIN_JSON_ERROR_TYPE, "amount" },
    { "{\"amount\":5000,\"currency\":\"krw\",\"items\":{}}", ONEPIN_JSON_ERROR_TYPE,
      "items" },
    { "{\"other\":1}", ONEPIN_JSON_ERROR_MISSING, "amount" },
    { "{}", ONEPIN_JSON_ERROR_MISSING, "amount" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) object = parse (cases[i].text, &error);
      const char *bad_param = "untouched";
      gboolean ok;

      g_assert_no_error (error);
      ok = onepin_json_check_members (object, payment_fields, G_N_ELEMENTS (payment_fields),
                                      &bad_param, &error);
      g_assert_cmpint (ok, ==, cases[i].code < 0);
      if (ok)
        g_assert_no_error (error);
      else
        g_assert_error (error, ONEPIN_JSON_ERROR, cases[i].code);
      g_assert_cmpstr (bad_param, ==, cases[i].param);
    }
}

/* A hand-built object can hold what no parsed body can: a string that is
 * not UTF-8. check_fields must still refuse it. */
static void
test_check_fields_built (void)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(GError) error = NULL;
  const char *bad_param = NULL;

  json_object_set_int_member (object, "amount", 1);
  json_object_set_string_member (object, "currency", "kr\xff");
  g_assert_false (onepin_json_check_fields (object, payment_fields,
                                            G_N_ELEMENTS (payment_fields), &bad_param, &error));
  g_assert_error (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_TYPE);
  g_assert_cmpstr (bad_param, ==, "currency");
}

static void
test_getters (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = parse ("{\"s\":\"x\",\"i\":7,\"b\":false,\"n\":null,"
                                        "\"d\":7.0}", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (onepin_json_get_string (object, "s", "fb"), ==, "x");
  g_assert_cmpstr (onepin_json_get_string (object, "n", "fb"), ==, "fb");
  g_assert_cmpstr (onepin_json_get_string (object, "absent", "fb"), ==, "fb");
  g_assert_cmpstr (onepin_json_get_string (object, "i", NULL), ==, NULL);
  g_assert_cmpint (onepin_json_get_int (object, "i", -1), ==, 7);
  g_assert_cmpint (onepin_json_get_int (object, "d", -1), ==, -1);
  g_assert_cmpint (onepin_json_get_int (object, "n", -1), ==, -1);
  g_assert_cmpint (onepin_json_get_int (object, "b", -1), ==, -1);
  g_assert_false (onepin_json_get_bool (object, "b", TRUE));
  g_assert_true (onepin_json_get_bool (object, "n", TRUE));
  g_assert_true (onepin_json_get_bool (object, "i", TRUE));
}

static char *
canonical_of (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = parse (text, &error);
  g_autoptr(JsonNode) node = NULL;

  g_assert_no_error (error);
  node = json_node_init_object (json_node_alloc (), object);
  return onepin_json_canonical (node);
}

static void
test_canonical (void)
{
  g_autofree char *a = canonical_of ("{\"b\": 1, \"a\": {\"d\": [true, null, \"x\", 2.5, 5.0],"
                                     " \"c\": -0}, \"B\": false, \"\": \"e\"}");
  g_autofree char *b = canonical_of ("{\"\":\"e\",\"B\":false,\"a\":{\"c\":0,"
                                     "\"d\":[true,null,\"x\",2.5,5.0]},\"b\":1}");
  g_autofree char *c = canonical_of ("{\"a\":[2,1]}");
  g_autofree char *d = canonical_of ("{\"a\":[1,2]}");
  g_autofree char *e = canonical_of ("{\"a\":5}");
  g_autofree char *f = canonical_of ("{\"a\":5.0}");
  g_autofree char *g = canonical_of ("{\"s\":\"q\\\"b\\\\s\\/n\\nt\\tc\\u0001\\u001f"
                                     "\\u00e9\\u20ac\"}");

  g_assert_cmpstr (a, ==, "{\"\":\"e\",\"B\":false,\"a\":{\"c\":0,"
                          "\"d\":[true,null,\"x\",2.5,5.0]},\"b\":1}");
  g_assert_cmpstr (a, ==, b);
  /* Array order is significant; integer and float are not the same. */
  g_assert_cmpstr (c, !=, d);
  g_assert_cmpstr (e, ==, "{\"a\":5}");
  g_assert_cmpstr (f, ==, "{\"a\":5.0}");
  g_assert_cmpstr (g, ==, "{\"s\":\"q\\\"b\\\\s/n\\u000at\\u0009c\\u0001\\u001f"
                          "\xc3\xa9\xe2\x82\xac\"}");
}

/* Appended after what is there, with one member left out if asked, and
 * with more members than fit the sort's array on the stack. */
static void
test_canonical_object (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = parse ("{\"z\":1,\"key\":\"k\",\"a\":{\"key\":2}}", &error);
  g_autoptr(GString) out = g_string_new ("POST \n");
  g_autoptr(GString) all = g_string_new (NULL);
  g_autoptr(GString) wide = g_string_new (NULL);
  g_autoptr(JsonObject) many = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *expected = NULL;

  g_assert_no_error (error);
  onepin_json_append_canonical_object (out, object, "key");
  g_assert_cmpstr (out->str, ==, "POST \n{\"a\":{\"key\":2},\"z\":1}");
  onepin_json_append_canonical_object (all, object, NULL);
  g_assert_cmpstr (all->str, ==, "{\"a\":{\"key\":2},\"key\":\"k\",\"z\":1}");

  for (int i = 39; i >= 0; i--)
    {
      g_autofree char *name = g_strdup_printf ("m%02d", i);

      json_object_set_int_member (many, name, i);
    }
  onepin_json_append_canonical_object (wide, many, "m07");
  node = json_node_init_object (json_node_alloc (), many);
  json_object_remove_member (many, "m07");
  expected = onepin_json_canonical (node);
  g_assert_cmpstr (wide->str, ==, expected);
  g_assert_true (g_str_has_prefix (wide->str, "{\"m00\":0,\"m01\":1,"));
  g_assert_null (strstr (wide->str, "m07"));
}

static void
assert_append (const char *in,
               const char *expected)
{
  g_autoptr(GString) out = g_string_new ("x");

  onepin_json_append_string (out, in);
  g_assert_cmpstr (out->str, ==, expected);
}

static void
test_append_string (void)
{
  assert_append ("", "x\"\"");
  assert_append ("plain", "x\"plain\"");
  assert_append ("a\"b\\c", "x\"a\\\"b\\\\c\"");
  assert_append ("\x01\n\x1f\x7f", "x\"\\u0001\\u000a\\u001f\x7f\"");
  assert_append ("\xed\x95\x9c\xea\xb8\x80 \xf0\x9f\x98\x80", "x\"\xed\x95\x9c\xea\xb8\x80 "
                 "\xf0\x9f\x98\x80\"");
  assert_append ("a\xff" "b\xc3", "x\"a\\ufffdb\\ufffd\"");
  assert_append (NULL, "xnull");
  assert_append ("\"\"ab\\", "x\"\\\"\\\"ab\\\\\"");
  assert_append ("end\x02", "x\"end\\u0002\"");
}

static void
test_append_int (void)
{
  const gint64 values[] = { 0, 1, -1, 9, 10, -10, 1234567890, G_MAXINT64, G_MININT64,
                            G_MININT64 + 1 };

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr(GString) out = g_string_new ("[");
      g_autofree char *expected = g_strdup_printf ("[%" G_GINT64_FORMAT, values[i]);

      onepin_json_append_int (out, values[i]);
      g_assert_cmpstr (out->str, ==, expected);
    }
}

/* The bound holds where the canonical form grows most: six bytes for each
 * control character or invalid byte, the longest integers and doubles. */
static void
test_canonical_bound (void)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonArray) array = json_array_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;

  json_object_set_string_member (object, "\x01\x02", "\x01\xff\xfe\"\\\x1f");
  json_object_set_int_member (object, "min", G_MININT64);
  json_object_set_double_member (object, "tiny", -2.2250738585072014e-308);
  json_object_set_double_member (object, "whole", 1e15);
  json_object_set_null_member (object, "null");
  json_object_set_boolean_member (object, "no", FALSE);
  json_array_add_string_element (array, "\x7f\x80");
  json_array_add_int_element (array, G_MAXINT64);
  json_object_set_array_member (object, "list", json_array_ref (array));
  json_object_set_object_member (object, "empty", json_object_new ());
  node = json_node_init_object (json_node_alloc (), object);
  text = onepin_json_canonical (node);
  g_assert_cmpuint (strlen (text), <=, onepin_json_canonical_bound (node));
}

/* Every string value is zeroed where the tree keeps it; names stay. */
static void
test_object_wipe (void)
{
  const char *body = "{\"card_number\":\"9420 0012 3456 7897\",\"n\":1,"
                     "\"merchant\":{\"id\":\"m-1\",\"tags\":[\"a\",\"secret\",2]}}";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = onepin_json_parse_object (body, strlen (body), &error);
  JsonObject *merchant;
  JsonArray *tags;
  const char *number;
  const char *secret;

  g_assert_no_error (error);
  merchant = json_object_get_object_member (object, "merchant");
  tags = json_object_get_array_member (merchant, "tags");
  number = json_object_get_string_member (object, "card_number");
  secret = json_array_get_string_element (tags, 1);
  onepin_json_object_wipe (object);

  for (guint i = 0; i < strlen ("9420 0012 3456 7897"); i++)
    g_assert_cmpint (number[i], ==, 0);
  for (guint i = 0; i < strlen ("secret"); i++)
    g_assert_cmpint (secret[i], ==, 0);
  g_assert_cmpstr (json_object_get_string_member (merchant, "id"), ==, "");
  g_assert_cmpint (json_object_get_int_member (object, "n"), ==, 1);
  g_assert_cmpint (json_array_get_int_element (tags, 2), ==, 2);
  g_assert_true (json_object_has_member (object, "card_number"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/json/parse/valid", test_parse_valid);
  g_test_add_func ("/json/parse/int-range", test_parse_int_range);
  g_test_add_func ("/json/parse/depth", test_parse_depth);
  g_test_add_func ("/json/parse/encoding", test_parse_encoding);
  g_test_add_func ("/json/parse/not-object", test_parse_not_object);
  g_test_add_func ("/json/parse/strict", test_parse_strict);
  g_test_add_func ("/json/parse/duplicates", test_parse_duplicates);
  g_test_add_func ("/json/parse/json-test-suite", test_parse_json_test_suite);
  g_test_add_func ("/json/parse/same-as-json-glib", test_parse_same_as_json_glib);
  g_test_add_func ("/json/parse/same-as-json-glib/shapes", test_parse_same_as_json_glib_shapes);
  g_test_add_func ("/json/check-fields", test_check_fields);
  g_test_add_func ("/json/check-fields/built", test_check_fields_built);
  g_test_add_func ("/json/check-members", test_check_members);
  g_test_add_func ("/json/getters", test_getters);
  g_test_add_func ("/json/canonical", test_canonical);
  g_test_add_func ("/json/canonical/object", test_canonical_object);
  g_test_add_func ("/json/canonical/bound", test_canonical_bound);
  g_test_add_func ("/json/object-wipe", test_object_wipe);
  g_test_add_func ("/json/append-string", test_append_string);
  g_test_add_func ("/json/append-int", test_append_int);

  return g_test_run ();
}
