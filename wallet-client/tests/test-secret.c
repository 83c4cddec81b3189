/* test-secret.c: wiping what held a secret (ow-secret.h), and the frames
 * that carry the card between the wallet, the host and the browser
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The wipe hook sees every region just before it is zeroed; the tests put
 * a secret somewhere, drop it, and check which copies went through it.
 */
#include <string.h>

#include "onepin-json.h"
#include "ow-secret.h"
#include "ow-test-wiped.h"
#include "wh-frame.h"

#define NUMBER "9410123456789012"

static void
watch (void)
{
  ow_test_wiped_watch (NUMBER);
}

/* How many regions that held NUMBER were wiped; stops watching. */
static guint
seen (void)
{
  return ow_test_wiped_stop ()->len;
}

static gboolean
seen_exactly (const char *text)
{
  return ow_test_wiped_exactly (text, strlen (text));
}

static GBytes *
seen_index (guint i)
{
  return g_ptr_array_index (ow_test_wiped_seen (), i);
}

static gboolean
all_zero (const guint8 *data,
          gsize         len)
{
  for (gsize i = 0; i < len; i++)
    if (data[i] != 0)
      return FALSE;
  return TRUE;
}

static void
test_wipe (void)
{
  char buf[] = "x" NUMBER "y";
  char *s = g_strdup (NUMBER);

  watch ();
  ow_secret_wipe (buf, sizeof buf - 1);
  g_assert_true (all_zero ((const guint8 *) buf, sizeof buf));
  ow_secret_free (s);
  ow_secret_free (NULL);
  ow_secret_wipe (NULL, 4);
  g_assert_cmpuint (seen (), ==, 2);
  g_assert_true (seen_exactly ("x" NUMBER "y"));
  g_assert_true (seen_exactly (NUMBER));
}

static void
test_bytes (void)
{
  GBytes *taken = ow_secret_bytes_new_take (g_strdup ("a" NUMBER), strlen (NUMBER) + 1);
  GBytes *copied = ow_secret_bytes_new (NUMBER "b", strlen (NUMBER) + 1);

  g_assert_cmpmem (g_bytes_get_data (copied, NULL), g_bytes_get_size (copied),
                   NUMBER "b", strlen (NUMBER) + 1);
  watch ();
  g_bytes_ref (taken);
  g_bytes_unref (taken);
  /* not while a reference is left */
  g_assert_cmpuint (ow_test_wiped_seen ()->len, ==, 0);
  g_bytes_unref (taken);
  g_bytes_unref (copied);
  g_assert_cmpuint (seen (), ==, 2);
  g_assert_true (seen_exactly ("a" NUMBER));
  g_assert_true (seen_exactly (NUMBER "b"));
}

static void
test_string (void)
{
  GString *string = g_string_new (NULL);
  char *first;
  gsize size;

  ow_secret_string_append_len (string, NUMBER, strlen (NUMBER));
  first = string->str;
  size = string->allocated_len;
  watch ();
  /* within what is allocated: no new block */
  ow_secret_string_reserve (string, size - string->len - 1);
  g_assert_true (string->str == first);
  g_assert_cmpuint (ow_test_wiped_seen ()->len, ==, 0);
  /* outgrown: the old block is wiped as a whole before it goes */
  for (guint i = 0; i < 64; i++)
    ow_secret_string_append_len (string, "0123456789", 10);
  g_assert_true (string->str != first);
  g_assert_cmpuint (ow_test_wiped_seen ()->len, >=, 1);
  g_assert_cmpuint (g_bytes_get_size (seen_index (0)), ==, size);
  g_assert_true (g_str_has_prefix (string->str, NUMBER "0123456789"));
  g_assert_cmpuint (string->len, ==, strlen (NUMBER) + 640);

  watch ();
  size = string->allocated_len;
  ow_secret_string_free (string);
  ow_secret_string_free (NULL);
  g_assert_cmpuint (seen (), ==, 1);
  g_assert_cmpuint (g_bytes_get_size (seen_index (0)), ==, size);
}

static JsonObject *
tricky_object (void)
{
  g_autoptr(JsonObject) card = json_object_new ();
  g_autoptr(JsonArray) list = json_array_new ();
  JsonObject *object = json_object_new ();

  json_object_set_string_member (card, "number", NUMBER);
  json_object_set_string_member (card, "csc", "123");
  json_object_set_int_member (card, "exp_year", G_MININT64);
  json_array_add_string_element (list, "\x01\x02\"\\\n");
  json_array_add_string_element (list, "\xff\xfe");           /* not UTF-8 */
  json_array_add_double_element (list, -1.5e-300);
  json_array_add_boolean_element (list, FALSE);
  json_array_add_null_element (list);
  json_array_add_string_element (list, "키");
  json_object_set_object_member (object, "card", g_steal_pointer (&card));
  json_object_set_array_member (object, "list", g_steal_pointer (&list));
  json_object_set_string_member (object, "type", "card.response");
  return object;
}

static void
test_json (void)
{
  g_autoptr(JsonObject) object = tricky_object ();
  g_autoptr(JsonObject) back = NULL;
  JsonObject *card;
  JsonArray *list;
  gsize len;
  g_autoptr(OwSecret) text = ow_secret_json_to_string (object, &len);

  /* the canonical form, in a block of its final size (a bound too small
   * would have failed the check in ow_secret_json_to_string) */
  g_assert_cmpuint (len, ==, strlen (text));
  g_assert_cmpstr (text, ==,
                   "{\"card\":{\"csc\":\"123\",\"exp_year\":-9223372036854775808,"
                   "\"number\":\"" NUMBER "\"},\"list\":[\"\\u0001\\u0002\\\"\\\\\\u000a\","
                   "\"\\ufffd\\ufffd\",-1.5000000000000001e-300,false,null,\"키\"],"
                   "\"type\":\"card.response\"}");
  back = onepin_json_parse_object (text, len, NULL);
  g_assert_nonnull (back);

  /* every string in the tree is zeroed, nested ones too; names stay */
  ow_secret_json_wipe (object);
  card = json_object_get_object_member (object, "card");
  list = json_object_get_array_member (object, "list");
  g_assert_cmpstr (json_object_get_string_member (card, "number"), ==, "");
  g_assert_cmpstr (json_object_get_string_member (card, "csc"), ==, "");
  g_assert_cmpstr (json_array_get_string_element (list, 0), ==, "");
  g_assert_cmpstr (json_array_get_string_element (list, 5), ==, "");
  g_assert_cmpstr (json_object_get_string_member (object, "type"), ==, "");
  g_assert_true (json_object_has_member (card, "number"));
  g_assert_cmpint (json_object_get_int_member (card, "exp_year"), ==, G_MININT64);
}

static void
test_json_builder (void)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  gsize len;
  g_autoptr(OwSecret) text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, NUMBER);
  json_builder_set_member_name (builder, "login_id");
  json_builder_add_string_value (builder, "kim");
  json_builder_end_object (builder);

  watch ();
  text = ow_secret_json_builder_finish (builder, &len);
  g_assert_cmpstr (text, ==, "{\"login_id\":\"kim\",\"password\":\"" NUMBER "\"}");
  g_assert_cmpuint (len, ==, strlen (text));
  /* the builder's own copy went through the wipe */
  g_assert_cmpuint (seen (), ==, 1);
  g_assert_true (seen_exactly (NUMBER));
  root = json_builder_get_root (builder);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "password"), ==, "");
}

/* The frames that carry the wallet's answers (the card) through the host:
 * every copy of their bytes the reader and the encoder make is wiped. */
static void
test_frames (void)
{
  static const char payload[] = "{\"body\":\"{\\\"number\\\":\\\"" NUMBER "\\\"}\"}";
  g_autoptr(WhFrameReader) reader = wh_frame_reader_new ();
  GBytes *frame = wh_frame_encode (payload, strlen (payload), NULL);
  gsize len;
  g_autofree guint8 *data = g_bytes_unref_to_data (g_bytes_ref (frame), &len);
  GBytes *got = NULL;
  JsonObject *message = NULL;

  watch ();
  wh_frame_reader_feed (reader, data, 10);
  wh_frame_reader_feed (reader, data + 10, len - 10);
  g_assert_cmpint (wh_frame_reader_next (reader, &got, &message, NULL), ==, WH_FRAME_MESSAGE);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), payload, strlen (payload));
  /* consumed: the reader's buffer is wiped at once */
  g_assert_cmpuint (ow_test_wiped_seen ()->len, ==, 1);
  g_assert_cmpmem (g_bytes_get_data (seen_index (0), NULL), len, data, len);

  g_bytes_unref (got);
  g_assert_true (seen_exactly (payload));
  ow_secret_json_unref (message);
  g_assert_true (seen_exactly ("{\"number\":\"" NUMBER "\"}"));
  g_bytes_unref (frame);
  g_assert_cmpuint (seen (), ==, 4);

  /* an encoded frame: exactly its bytes */
  g_assert_cmpmem (g_bytes_get_data (seen_index (3), NULL),
                   g_bytes_get_size (seen_index (3)), data, len);

  /* with the next frame's first bytes behind it, consumed is wiped at once
   * all the same, not when the buffer empties */
  got = NULL;
  message = NULL;
  watch ();
  wh_frame_reader_feed (reader, data, len);
  wh_frame_reader_feed (reader, data, 3);
  g_assert_cmpint (wh_frame_reader_next (reader, &got, &message, NULL), ==, WH_FRAME_MESSAGE);
  g_assert_true (ow_test_wiped_exactly (data, len));
  g_bytes_unref (got);
  ow_secret_json_unref (message);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/secret/wipe", test_wipe);
  g_test_add_func ("/secret/bytes", test_bytes);
  g_test_add_func ("/secret/string", test_string);
  g_test_add_func ("/secret/json", test_json);
  g_test_add_func ("/secret/json-builder", test_json_builder);
  g_test_add_func ("/secret/frames", test_frames);
  return g_test_run ();
}
