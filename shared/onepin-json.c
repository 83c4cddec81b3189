/* onepin-json.c: strict JSON request parsing on top of json-glib
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-json.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (onepin-json-error-quark, onepin_json_error)

/* ---- strict pre-validation ----------------------------------------------
 *
 * json-glib's parser recurses once per nesting level, so deep input could
 * exhaust the stack before it reports anything. It is also lenient where a
 * payment API must not be: as of 1.6 it accepts comments, single-quoted
 * strings, unknown escapes ("\x41" becomes "x41"), raw control characters
 * in strings, leading zeros and hex numbers, truncates a string at "\u0000"
 * and silently wraps integers outside int64 (99999999999999999999 becomes
 * -1). So the body first goes through this small iterative validator for
 * RFC 8259 grammar, nesting depth and those extras; json-glib then only
 * ever sees input that it parses the way the RFC means it. */

typedef struct
{
  const char *data;
  gsize       len;
  gsize       pos;
  GError    **error;
} Scanner;

static gboolean
scan_fail (Scanner    *s,
           const char *what)
{
  g_set_error (s->error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_SYNTAX,
               "Invalid JSON at byte %" G_GSIZE_FORMAT ": %s", s->pos, what);
  return FALSE;
}

static gboolean
is_json_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
scan_skip_space (Scanner *s)
{
  while (s->pos < s->len && is_json_space (s->data[s->pos]))
    s->pos++;
}

static gboolean
scan_is_digit (Scanner *s)
{
  return s->pos < s->len && g_ascii_isdigit (s->data[s->pos]);
}

/* Reads the four hex digits of a \u escape at the current position. */
static gboolean
scan_hex4 (Scanner *s,
           guint   *out)
{
  *out = 0;
  if (s->len - s->pos < 4)
    return scan_fail (s, "truncated \\u escape");

  for (int i = 0; i < 4; i++)
    {
      int v = g_ascii_xdigit_value (s->data[s->pos + i]);

      if (v < 0)
        return scan_fail (s, "bad \\u escape");
      *out = *out * 16 + (guint) v;
    }
  s->pos += 4;

  return TRUE;
}

/* After "\u": rejects U+0000 (json-glib would cut the string there) and
 * surrogates that do not form a pair (they have no UTF-8 encoding). */
static gboolean
scan_unicode_escape (Scanner *s)
{
  guint cp, low;

  if (!scan_hex4 (s, &cp))
    return FALSE;
  if (cp == 0)
    return scan_fail (s, "\\u0000 is not allowed");
  if (cp >= 0xdc00 && cp <= 0xdfff)
    return scan_fail (s, "unpaired low surrogate");
  if (cp < 0xd800 || cp > 0xdbff)
    return TRUE;

  if (s->len - s->pos < 2 || s->data[s->pos] != '\\' || s->data[s->pos + 1] != 'u')
    return scan_fail (s, "unpaired high surrogate");
  s->pos += 2;
  if (!scan_hex4 (s, &low))
    return FALSE;
  if (low < 0xdc00 || low > 0xdfff)
    return scan_fail (s, "unpaired high surrogate");

  return TRUE;
}

/* A string literal, starting at its opening quote. The body is already
 * known to be valid UTF-8, so only ASCII needs looking at. */
static gboolean
scan_string (Scanner *s)
{
  s->pos++;

  while (s->pos < s->len)
    {
      guchar c = (guchar) s->data[s->pos];

      if (c == '"')
        {
          s->pos++;
          return TRUE;
        }
      if (c < 0x20)
        return scan_fail (s, "control character in string");
      s->pos++;
      if (c != '\\')
        continue;

      if (s->pos == s->len)
        break;
      c = (guchar) s->data[s->pos++];
      if (c == 'u')
        {
          if (!scan_unicode_escape (s))
            return FALSE;
        }
      else if (strchr ("\"\\/bfnrt", c) == NULL || c == '\0')
        {
          s->pos--;
          return scan_fail (s, "bad escape");
        }
    }

  return scan_fail (s, "unterminated string");
}

/* A fraction or exponent must not overflow to infinity, which has no JSON
 * form to serialise back to. */
static gboolean
double_is_finite (const char *text,
                  gsize       n)
{
  g_autofree char *copy = g_strndup (text, n);

  return isfinite (g_ascii_strtod (copy, NULL));
}

static gboolean
scan_number (Scanner *s)
{
  gsize start = s->pos;
  gboolean integer = TRUE;

  if (s->data[s->pos] == '-')
    s->pos++;

  if (!scan_is_digit (s))
    return scan_fail (s, "bad number");
  if (s->data[s->pos] == '0')
    {
      s->pos++;
      if (scan_is_digit (s))
        return scan_fail (s, "leading zero in number");
    }
  while (scan_is_digit (s))
    s->pos++;

  if (s->pos < s->len && s->data[s->pos] == '.')
    {
      integer = FALSE;
      s->pos++;
      if (!scan_is_digit (s))
        return scan_fail (s, "bad fraction");
      while (scan_is_digit (s))
        s->pos++;
    }

  if (s->pos < s->len && (s->data[s->pos] == 'e' || s->data[s->pos] == 'E'))
    {
      integer = FALSE;
      s->pos++;
      if (s->pos < s->len && (s->data[s->pos] == '+' || s->data[s->pos] == '-'))
        s->pos++;
      if (!scan_is_digit (s))
        return scan_fail (s, "bad exponent");
      while (scan_is_digit (s))
        s->pos++;
    }

  /* An integer outside int64 is valid JSON all the same: the builder
   * below makes it read as ill-typed. */
  if (!integer && !double_is_finite (s->data + start, s->pos - start))
    return scan_fail (s, "number out of range");

  return TRUE;
}

static gboolean
scan_literal (Scanner *s)
{
  static const char *const literals[] = { "true", "false", "null" };

  for (gsize i = 0; i < G_N_ELEMENTS (literals); i++)
    {
      gsize n = strlen (literals[i]);

      if (s->len - s->pos >= n && memcmp (s->data + s->pos, literals[i], n) == 0)
        {
          s->pos += n;
          return TRUE;
        }
    }

  return scan_fail (s, "unexpected character");
}

typedef enum
{
  WANT_VALUE,
  WANT_VALUE_OR_CLOSE,   /* just after '[' */
  WANT_KEY,
  WANT_KEY_OR_CLOSE,     /* just after '{' */
  WANT_COLON,
  WANT_COMMA_OR_CLOSE,
  WANT_END,
} ScanState;

/* A value at the current position; an opening bracket is pushed on @stack. */
static gboolean
scan_value (Scanner *s,
            char    *stack,
            guint   *depth)
{
  char c = s->data[s->pos];

  if (c == '{' || c == '[')
    {
      if (*depth == ONEPIN_JSON_MAX_DEPTH)
        return scan_fail (s, "nested too deeply");
      stack[(*depth)++] = c;
      s->pos++;
      return TRUE;
    }
  if (c == '"')
    return scan_string (s);
  if (c == '-' || g_ascii_isdigit (c))
    return scan_number (s);

  return scan_literal (s);
}

/* Checks the whole of @data against the JSON grammar without recursion:
 * @stack holds the open containers, so depth is bounded by its size. */
static gboolean
validate_json (const char  *data,
               gsize        len,
               GError     **error)
{
  Scanner s = { data, len, 0, error };
  char stack[ONEPIN_JSON_MAX_DEPTH];
  guint depth = 0;
  ScanState state = WANT_VALUE;

  for (;;)
    {
      gboolean in_object = depth > 0 && stack[depth - 1] == '{';
      guint old_depth = depth;
      char c;

      scan_skip_space (&s);
      if (s.pos == s.len)
        return state == WANT_END ? TRUE : scan_fail (&s, "unexpected end of input");
      c = s.data[s.pos];

      if ((state == WANT_VALUE_OR_CLOSE || state == WANT_KEY_OR_CLOSE ||
           state == WANT_COMMA_OR_CLOSE) && c == (in_object ? '}' : ']'))
        {
          s.pos++;
          depth--;
          state = depth == 0 ? WANT_END : WANT_COMMA_OR_CLOSE;
          continue;
        }

      switch (state)
        {
        case WANT_COMMA_OR_CLOSE:
          if (c != ',')
            return scan_fail (&s, "expected ',' or a closing bracket");
          s.pos++;
          state = in_object ? WANT_KEY : WANT_VALUE;
          break;

        case WANT_KEY:
        case WANT_KEY_OR_CLOSE:
          if (c != '"')
            return scan_fail (&s, "expected a member name");
          if (!scan_string (&s))
            return FALSE;
          state = WANT_COLON;
          break;

        case WANT_COLON:
          if (c != ':')
            return scan_fail (&s, "expected ':'");
          s.pos++;
          state = WANT_VALUE;
          break;

        case WANT_VALUE:
        case WANT_VALUE_OR_CLOSE:
          if (!scan_value (&s, stack, &depth))
            return FALSE;
          if (depth > old_depth)
            state = stack[depth - 1] == '{' ? WANT_KEY_OR_CLOSE : WANT_VALUE_OR_CLOSE;
          else
            state = depth == 0 ? WANT_END : WANT_COMMA_OR_CLOSE;
          break;

        case WANT_END:
        default:
          return scan_fail (&s, "unexpected data after the value");
        }
    }
}

/* ---- parsing ------------------------------------------------------------ */

static gboolean
set_syntax_error (GError     **error,
                  const char  *what)
{
  g_set_error_literal (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_SYNTAX, what);
  return FALSE;
}

static gboolean
check_body (const char  *data,
            gsize        len,
            GError     **error)
{
  if (data == NULL || len == 0)
    return set_syntax_error (error, "Empty body");
  if (memchr (data, '\0', len) != NULL)
    return set_syntax_error (error, "Body contains a NUL byte");
  if (!g_utf8_validate_len (data, len, NULL))
    return set_syntax_error (error, "Body is not valid UTF-8");
  if (len > G_MAXSSIZE)
    return set_syntax_error (error, "Body too large");

  return validate_json (data, len, error);
}

/* The tree is built by hand from the validated text rather than by
 * JsonParser, which costs several times as much (a GScanner, and a signal
 * per member to catch duplicates). Validation already proved the grammar,
 * the depth, the escapes and the number ranges, so building only decodes;
 * the one refusal left is a member name that appears twice in one object
 * (ambiguous, and a classic way to smuggle a value past one reader but not
 * another: json-glib would keep the last). The nodes are what JsonParser
 * makes: integer literals are G_TYPE_INT64, anything with a fraction or an
 * exponent G_TYPE_DOUBLE. */
typedef struct
{
  const char *pos;
  const char *end;
  GString    *text;         /* a decoded string value, reused */
  gboolean    duplicate;
} Builder;

static JsonNode *build_value (Builder *b);

static void
build_skip_space (Builder *b)
{
  while (b->pos < b->end && is_json_space (*b->pos))
    b->pos++;
}

static guint
build_hex4 (const char *p)
{
  guint value = 0;

  for (int i = 0; i < 4; i++)
    value = value * 16 + (guint) g_ascii_xdigit_value (p[i]);
  return value;
}

/* Clears what a string left in a reused buffer, which may be a secret. */
static void
wipe_text (GString *text)
{
  explicit_bzero (text->str, text->len);
  g_string_truncate (text, 0);
}

/* A string literal at its opening quote, decoded into @out. */
static void
build_string (Builder *b,
              GString *out)
{
  const char *p = ++b->pos;

  wipe_text (out);
  while (p < b->end && *p != '"')
    {
      const char *run = p;
      guint cp;

      while (p < b->end && *p != '"' && *p != '\\')
        p++;
      g_string_append_len (out, run, p - run);
      if (p >= b->end || *p == '"')
        break;
      p++;
      switch (*p++)
        {
        case 'b': g_string_append_c (out, '\b'); break;
        case 'f': g_string_append_c (out, '\f'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        case 't': g_string_append_c (out, '\t'); break;
        case 'u':
          cp = build_hex4 (p);
          p += 4;
          if (cp >= 0xd800 && cp <= 0xdbff)   /* validated: a low surrogate follows */
            {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (build_hex4 (p + 2) - 0xdc00);
              p += 6;
            }
          g_string_append_unichar (out, cp);
          break;
        default:        /* '"', '\\' and '/' stand for themselves */
          g_string_append_c (out, p[-1]);
          break;
        }
    }
  b->pos = p + 1;
}

/* An integer literal must fit in int64: json-glib would wrap it. */
static gboolean
integer_fits (const char *digits,
              gsize       n,
              gboolean    negative)
{
  guint64 limit = negative ? (guint64) G_MAXINT64 + 1 : (guint64) G_MAXINT64;
  guint64 value = 0;

  for (gsize i = 0; i < n; i++)
    {
      if (__builtin_mul_overflow (value, 10, &value) ||
          __builtin_add_overflow (value, (guint64) (digits[i] - '0'), &value))
        return FALSE;
    }

  return value <= limit;
}

static gboolean
is_number_char (char c)
{
  return g_ascii_isdigit (c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static JsonNode *
build_number (Builder *b)
{
  const char *start = b->pos;
  gboolean integer = TRUE;
  char small[64];
  g_autofree char *large = NULL;
  const char *text;
  gsize n;

  while (b->pos < b->end && is_number_char (*b->pos))
    {
      if (*b->pos == '.' || *b->pos == 'e' || *b->pos == 'E')
        integer = FALSE;
      b->pos++;
    }
  n = b->pos - start;
  if (n < sizeof small)
    {
      memcpy (small, start, n);
      small[n] = '\0';
      text = small;
    }
  else
    text = large = g_strndup (start, n);

  if (!integer)
    return json_node_init_double (json_node_alloc (), g_ascii_strtod (text, NULL));
  /* An integer outside int64 reads as 0.5, not an integer, so that the
   * member is refused as ill-typed by name rather than the whole body as
   * unreadable (json-glib would have wrapped it into a wrong value). */
  if (!integer_fits (text + (text[0] == '-'), n - (text[0] == '-'), text[0] == '-'))
    return json_node_init_double (json_node_alloc (), 0.5);
  return json_node_init_int (json_node_alloc (), g_ascii_strtoll (text, NULL, 10));
}

static JsonNode *
build_object (Builder *b)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(GString) name = g_string_sized_new (32);

  b->pos++;
  for (;;)
    {
      JsonNode *value;

      build_skip_space (b);
      if (b->pos >= b->end || *b->pos == '}')
        break;
      if (*b->pos == ',')
        {
          b->pos++;
          build_skip_space (b);
        }
      build_string (b, name);
      build_skip_space (b);
      b->pos++;                             /* ':' */
      build_skip_space (b);
      value = build_value (b);
      if (value == NULL)
        return NULL;
      if (json_object_has_member (object, name->str))
        {
          json_node_unref (value);
          b->duplicate = TRUE;
          return NULL;
        }
      json_object_set_member (object, name->str, value);
    }
  b->pos++;
  return json_node_init_object (json_node_alloc (), object);
}

static JsonNode *
build_array (Builder *b)
{
  g_autoptr(JsonArray) array = json_array_new ();

  b->pos++;
  for (;;)
    {
      JsonNode *value;

      build_skip_space (b);
      if (b->pos >= b->end || *b->pos == ']')
        break;
      if (*b->pos == ',')
        {
          b->pos++;
          build_skip_space (b);
        }
      value = build_value (b);
      if (value == NULL)
        return NULL;
      json_array_add_element (array, value);
    }
  b->pos++;
  return json_node_init_array (json_node_alloc (), array);
}

/* Recursive, but validation bounded the depth by ONEPIN_JSON_MAX_DEPTH. */
static JsonNode *
build_value (Builder *b)
{
  switch (*b->pos)
    {
    case '{':
      return build_object (b);
    case '[':
      return build_array (b);
    case '"':
      build_string (b, b->text);
      return json_node_init_string (json_node_alloc (), b->text->str);
    case 't':
      b->pos += 4;
      return json_node_init_boolean (json_node_alloc (), TRUE);
    case 'f':
      b->pos += 5;
      return json_node_init_boolean (json_node_alloc (), FALSE);
    case 'n':
      b->pos += 4;
      return json_node_init_null (json_node_alloc ());
    default:
      return build_number (b);
    }
}

JsonObject *
onepin_json_parse_object (const char  *data,
                          gsize        len,
                          GError     **error)
{
  Builder b = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GString) text = NULL;

  if (!check_body (data, len, error))
    return NULL;

  b.pos = data;
  b.end = data + len;
  /* A decoded string is never longer than the body: the buffer never
   * grows, so no reallocation leaves a copy of a value behind. */
  b.text = text = g_string_sized_new (len);
  build_skip_space (&b);
  /* Valid JSON, so the first non-blank byte tells the root's type. */
  if (*b.pos != '{')
    {
      g_set_error_literal (error, ONEPIN_JSON_ERROR, ONEPIN_JSON_ERROR_NOT_OBJECT,
                           "The body must be a JSON object");
      return NULL;
    }

  root = build_value (&b);
  wipe_text (text);
  if (root == NULL)
    {
      set_syntax_error (error, b.duplicate ? "A member name appears twice in one object"
                                           : "Invalid JSON");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

static void wipe_node (JsonNode *node);

static void
wipe_array (JsonArray *array)
{
  guint n = json_array_get_length (array);

  for (guint i = 0; i < n; i++)
    wipe_node (json_array_get_element (array, i));
}

/* json-glib hands its string out as const, but it is the node's own copy
 * (g_strdup), freed with the node. */
static void
wipe_node (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      onepin_json_object_wipe (json_node_get_object (node));
      break;
    case JSON_NODE_ARRAY:
      wipe_array (json_node_get_array (node));
      break;
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        {
          char *text = (char *) json_node_get_string (node);

          explicit_bzero (text, strlen (text));
        }
      break;
    case JSON_NODE_NULL:
    default:
      break;
    }
}

void
onepin_json_object_wipe (JsonObject *object)
{
  JsonObjectIter iter;
  JsonNode *member;

  g_return_if_fail (object != NULL);

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, NULL, &member))
    wipe_node (member);
}

/* ---- field checks ------------------------------------------------------- */

static const OnepinJsonField *
find_field (const OnepinJsonField *fields,
            gsize                  n_fields,
            const char            *name)
{
  for (gsize i = 0; i < n_fields; i++)
    {
      if (strcmp (fields[i].name, name) == 0)
        return &fields[i];
    }
  return NULL;
}

static gboolean
node_has_type (JsonNode       *node,
               OnepinJsonType  type)
{
  switch (type)
    {
    case ONEPIN_JSON_STRING:
      /* Strings come from a validated body without "\u0000", so they are
       * valid UTF-8 without NUL; re-check in case the object was built by
       * hand. */
      return JSON_NODE_HOLDS_VALUE (node) &&
             json_node_get_value_type (node) == G_TYPE_STRING &&
             g_utf8_validate (json_node_get_string (node), -1, NULL);
    case ONEPIN_JSON_INT:
      /* json-glib gives integer literals G_TYPE_INT64 and anything with a
       * fraction or exponent (5.0, 5e0) G_TYPE_DOUBLE. */
      return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
    case ONEPIN_JSON_BOOL:
      return JSON_NODE_HOLDS_VALUE (node) &&
             json_node_get_value_type (node) == G_TYPE_BOOLEAN;
    case ONEPIN_JSON_ARRAY:
      return JSON_NODE_HOLDS_ARRAY (node);
    case ONEPIN_JSON_OBJECT:
      return JSON_NODE_HOLDS_OBJECT (node);
    default:
      return FALSE;
    }
}

static const char *
type_name (OnepinJsonType type)
{
  switch (type)
    {
    case ONEPIN_JSON_STRING:
      return "a string";
    case ONEPIN_JSON_INT:
      return "an integer";
    case ONEPIN_JSON_BOOL:
      return "a boolean";
    case ONEPIN_JSON_ARRAY:
      return "an array";
    case ONEPIN_JSON_OBJECT:
      return "an object";
    default:
      return "of an unknown type";
    }
}

static gboolean
field_fail (const char           **bad_param,
            const char            *name,
            GError               **error,
            OnepinJsonError        code,
            const char            *message)
{
  if (bad_param != NULL)
    *bad_param = name;
  g_set_error_literal (error, ONEPIN_JSON_ERROR, code, message);
  return FALSE;
}

/* Unknown members are reported first, in document order, so the same body
 * always produces the same error. A member whose value is null counts as
 * absent: allowed when optional, MISSING when required. */
gboolean
onepin_json_check_fields (JsonObject             *object,
                          const OnepinJsonField  *fields,
                          gsize                   n_fields,
                          const char            **bad_param,
                          GError                **error)
{
  JsonObjectIter iter;
  const char *name;

  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (fields != NULL || n_fields == 0, FALSE);

  if (bad_param != NULL)
    *bad_param = NULL;

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, NULL))
    {
      if (find_field (fields, n_fields, name) == NULL)
        {
          g_autofree char *message = g_strdup_printf ("Unknown parameter '%s'", name);

          return field_fail (bad_param, name, error, ONEPIN_JSON_ERROR_UNKNOWN_FIELD, message);
        }
    }

  return onepin_json_check_members (object, fields, n_fields, bad_param, error);
}

gboolean
onepin_json_check_members (JsonObject             *object,
                           const OnepinJsonField  *fields,
                           gsize                   n_fields,
                           const char            **bad_param,
                           GError                **error)
{
  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (fields != NULL || n_fields == 0, FALSE);

  if (bad_param != NULL)
    *bad_param = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      JsonNode *node = json_object_get_member (object, fields[i].name);
      g_autofree char *message = NULL;

      if (node == NULL || JSON_NODE_HOLDS_NULL (node))
        {
          if (!fields[i].required)
            continue;
          message = g_strdup_printf ("Missing required parameter '%s'", fields[i].name);
          return field_fail (bad_param, fields[i].name, error, ONEPIN_JSON_ERROR_MISSING,
                             message);
        }

      if (!node_has_type (node, fields[i].type))
        {
          message = g_strdup_printf ("Parameter '%s' must be %s", fields[i].name,
                                     type_name (fields[i].type));
          return field_fail (bad_param, fields[i].name, error, ONEPIN_JSON_ERROR_TYPE,
                             message);
        }
    }

  return TRUE;
}

/* ---- getters ------------------------------------------------------------ */

/* The member's node if it holds a scalar of @gtype, else NULL. */
static JsonNode *
get_value (JsonObject *object,
           const char *name,
           GType       gtype)
{
  JsonNode *node;

  if (object == NULL || name == NULL)
    return NULL;

  node = json_object_get_member (object, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != gtype)
    return NULL;

  return node;
}

const char *
onepin_json_get_string (JsonObject *object,
                        const char *name,
                        const char *fallback)
{
  JsonNode *node = get_value (object, name, G_TYPE_STRING);

  return node != NULL ? json_node_get_string (node) : fallback;
}

gint64
onepin_json_get_int (JsonObject *object,
                     const char *name,
                     gint64      fallback)
{
  JsonNode *node = get_value (object, name, G_TYPE_INT64);

  return node != NULL ? json_node_get_int (node) : fallback;
}

gboolean
onepin_json_get_bool (JsonObject *object,
                      const char *name,
                      gboolean    fallback)
{
  JsonNode *node = get_value (object, name, G_TYPE_BOOLEAN);

  return node != NULL ? json_node_get_boolean (node) : fallback;
}

/* ---- serialisation ------------------------------------------------------ */

static gboolean
needs_escape (guchar c)
{
  return c == '"' || c == '\\' || c < 0x20;
}

/* Copies what needs no escape in one piece: most strings are all of it. */
static void
append_escaped_run (GString    *out,
                    const char *run,
                    gsize       len)
{
  gsize i = 0;

  while (i < len)
    {
      gsize start = i;
      guchar c;

      while (i < len && !needs_escape ((guchar) run[i]))
        i++;
      g_string_append_len (out, run + start, i - start);
      if (i == len)
        break;
      c = (guchar) run[i++];
      if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
        }
    }
}

/* Valid UTF-8 is copied as is; an invalid byte becomes U+FFFD so that the
 * output is always valid JSON. NULL is written as null. */
void
onepin_json_append_string (GString    *out,
                           const char *str)
{
  g_return_if_fail (out != NULL);

  if (str == NULL)
    {
      g_string_append (out, "null");
      return;
    }

  g_string_append_c (out, '"');
  while (*str != '\0')
    {
      const char *end;

      g_utf8_validate (str, -1, &end);
      append_escaped_run (out, str, (gsize) (end - str));
      str = end;
      if (*str != '\0')
        {
          g_string_append (out, "\\ufffd");
          str++;
        }
    }
  g_string_append_c (out, '"');
}

void
onepin_json_append_int (GString *out,
                        gint64   value)
{
  char buf[24];
  char *p = buf + sizeof buf;
  /* Through unsigned arithmetic, so G_MININT64 negates without overflow. */
  guint64 magnitude = value < 0 ? -(guint64) value : (guint64) value;

  g_return_if_fail (out != NULL);

  do
    *--p = (char) ('0' + magnitude % 10);
  while ((magnitude /= 10) != 0);
  if (value < 0)
    *--p = '-';
  g_string_append_len (out, p, buf + sizeof buf - p);
}

static void
append_double (GString *out,
               double   value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* Infinity and NaN have no JSON form; validated input never has them. */
  if (!isfinite (value))
    {
      g_string_append (out, "null");
      return;
    }

  /* Shortest round-trip form, with ".0" kept on whole numbers so that 5.0
   * never canonicalises to the same text as the integer 5. */
  g_ascii_dtostr (buf, sizeof buf, value);
  g_string_append (out, buf);
  if (strpbrk (buf, ".eE") == NULL)
    g_string_append (out, ".0");
}

static void
append_value (GString  *out,
              JsonNode *node)
{
  GType type = json_node_get_value_type (node);

  if (type == G_TYPE_INT64)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
  else if (type == G_TYPE_DOUBLE)
    append_double (out, json_node_get_double (node));
  else if (type == G_TYPE_BOOLEAN)
    g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
  else if (type == G_TYPE_STRING)
    onepin_json_append_string (out, json_node_get_string (node));
  else
    g_string_append (out, "null");
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

static void append_node (GString  *out,
                         JsonNode *node);

/* Members in name order; @except, if not NULL, is left out. The names are
 * sorted in an array on the stack for the usual small objects. */
static void
append_object (GString    *out,
               JsonObject *object,
               const char *except)
{
  const char *small[16];
  g_autofree const char **large = NULL;
  const char **names = small;
  guint size = json_object_get_size (object);
  guint n = 0;
  JsonObjectIter iter;
  const char *name;

  if (size > G_N_ELEMENTS (small))
    names = large = g_new (const char *, size);
  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, NULL))
    if (except == NULL || strcmp (name, except) != 0)
      names[n++] = name;
  qsort (names, n, sizeof *names, compare_names);

  g_string_append_c (out, '{');
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      onepin_json_append_string (out, names[i]);
      g_string_append_c (out, ':');
      append_node (out, json_object_get_member (object, names[i]));
    }
  g_string_append_c (out, '}');
}

static void
append_array (GString   *out,
              JsonArray *array)
{
  guint n = json_array_get_length (array);

  g_string_append_c (out, '[');
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      append_node (out, json_array_get_element (array, i));
    }
  g_string_append_c (out, ']');
}

/* Recursive, but parsed trees are at most ONEPIN_JSON_MAX_DEPTH deep. */
static void
append_node (GString  *out,
             JsonNode *node)
{
  switch (node != NULL ? json_node_get_node_type (node) : JSON_NODE_NULL)
    {
    case JSON_NODE_OBJECT:
      append_object (out, json_node_get_object (node), NULL);
      break;
    case JSON_NODE_ARRAY:
      append_array (out, json_node_get_array (node));
      break;
    case JSON_NODE_VALUE:
      append_value (out, node);
      break;
    case JSON_NODE_NULL:
    default:
      g_string_append (out, "null");
      break;
    }
}

/* A string's byte takes at most six ("\u001f", "\ufffd"), plus the quotes. */
static gsize
string_bound (const char *str)
{
  return 2 + 6 * (str != NULL ? strlen (str) : 1);
}

static gsize
value_bound (JsonNode *node)
{
  GType type = json_node_get_value_type (node);

  if (type == G_TYPE_STRING)
    return string_bound (json_node_get_string (node));
  if (type == G_TYPE_DOUBLE)
    return G_ASCII_DTOSTR_BUF_SIZE + 2;       /* and ".0" */
  return 21;                                  /* G_MININT64, "false", "null" */
}

gsize
onepin_json_canonical_bound (JsonNode *node)
{
  gsize n = 2;

  switch (node != NULL ? json_node_get_node_type (node) : JSON_NODE_NULL)
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &member))
          n += string_bound (name) + 2 + onepin_json_canonical_bound (member);
        return n;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          n += 1 + onepin_json_canonical_bound (json_array_get_element (array, i));
        return n;
      }
    case JSON_NODE_VALUE:
      return value_bound (node);
    case JSON_NODE_NULL:
    default:
      return 4;
    }
}

char *
onepin_json_canonical (JsonNode *node)
{
  GString *out = g_string_new (NULL);

  append_node (out, node);
  return g_string_free (out, FALSE);
}

void
onepin_json_append_canonical_object (GString    *out,
                                     JsonObject *object,
                                     const char *except)
{
  g_return_if_fail (out != NULL && object != NULL);

  append_object (out, object, except);
}
