/* phone-test-util.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE               /* memmem */
#include "phone-test-util.h"

#include <sqlite3.h>
#include <string.h>

#include "gw-keys.h"
#include "gw-notify.h"
#include "onepin-shared.h"

static GwKeys *keys;
static GHashTable *steps;          /* ARS session id -> its current step */

void
pt_init (OtGateway *gw)
{
  g_autofree char *path = g_build_filename (ot_gateway_data_dir (gw), "secret.key", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (onepin_crypto_init (&error));
  keys = gw_keys_load (path, &error);
  g_assert_no_error (error);
  gw_notify_set_key (keys->seal);
  steps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

void
pt_shutdown (void)
{
  g_clear_pointer (&keys, gw_keys_free);
  g_clear_pointer (&steps, g_hash_table_unref);
}

char *
pt_create_merchant (OtGateway   *gw,
                    const char  *name,
                    const char  *category,
                    char       **id)
{
  g_autofree char *body = g_strdup_printf ("{\"name\": \"%s\", \"category\": \"%s\"}", name,
                                           category);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/merchants",
                                        ot_gateway_admin_token (gw), NULL, body);

  ot_assert_status (r, 200);
  if (id != NULL)
    *id = g_strdup (ot_json_string (ot_response_object (r), "id"));
  return g_strdup (ot_json_string (ot_response_object (r), "secret_key"));
}

static sqlite3_stmt *
query_outbox (OtGateway  *gw,
              const char *sql,
              sqlite3   **db)
{
  g_autofree char *path = g_build_filename (ot_gateway_data_dir (gw), "onepin.db", NULL);
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (*db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  return stmt;
}

char *
pt_sms_card_number (OtGateway  *gw,
                    const char *to)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = query_outbox (gw, "SELECT payload FROM outbox WHERE type = 'sms'"
                                         " ORDER BY id DESC", &db);
  char *number = NULL;

  while (number == NULL && sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) open = gw_notify_open ("sms", (const char *) sqlite3_column_text (stmt, 0),
                                               &error);
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *message;

      g_assert_no_error (error);
      g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (open, NULL),
                                                 g_bytes_get_size (open), NULL));
      message = json_node_get_object (json_parser_get_root (parser));
      if (!g_str_equal (ot_json_string (message, "to"), to) ||
          !g_str_equal (ot_json_string (message, "template"), "card_number"))
        continue;
      number = g_strdup (ot_json_string (ot_json_object (message, "data"), "number"));
      g_assert_true (ot_luhn_valid (number));
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  g_assert_nonnull (number);
  return number;
}

gint64
pt_count_sms (OtGateway *gw)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = query_outbox (gw, "SELECT COUNT(*) FROM outbox WHERE type = 'sms'", &db);
  gint64 n;

  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

char *
pt_ars_start (OtGateway  *gw,
              const char *key,
              const char *from,
              const char *locale)
{
  g_autofree char *body = g_strdup_printf ("{\"calling_number\": \"%s\", \"locale\": \"%s\"}",
                                           from, locale);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/ars/sessions", key, NULL, body);
  JsonObject *o;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_hash_table_insert (steps, g_strdup (ot_json_string (o, "id")),
                       GINT_TO_POINTER (ot_json_int (o, "step")));
  return g_strdup (ot_json_string (o, "id"));
}

JsonObject *
pt_ars_press (OtGateway  *gw,
              const char *key,
              const char *id,
              const char *digits)
{
  gint step = GPOINTER_TO_INT (g_hash_table_lookup (steps, id));
  g_autofree char *path = g_strdup_printf ("/v1/ars/sessions/%s/input", id);
  g_autofree char *body = g_strdup_printf ("{\"step\": %d, \"digits\": \"%s\"}", step, digits);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", path, key, NULL, body);
  JsonObject *o;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_hash_table_insert (steps, g_strdup (id), GINT_TO_POINTER (ot_json_int (o, "step")));
  return json_object_ref (o);
}

static void
assert_not_in_file (const char *path,
                    const char *secret)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, NULL))
    return;
  if (memmem (data, len, secret, strlen (secret)) != NULL)
    g_error ("a secret is in %s", path);
}

void
pt_assert_secret_absent (OtGateway  *gw,
                         const char *secret)
{
  g_autoptr(GDir) dir = g_dir_open (ot_gateway_data_dir (gw), 0, NULL);
  const char *name;

  assert_not_in_file (ot_gateway_log_path (gw), secret);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (ot_gateway_data_dir (gw), name, NULL);

      assert_not_in_file (path, secret);
    }
}

char *
pt_this_month (void)
{
  g_autoptr(GTimeZone) tz = g_time_zone_new_offset (9 * 3600);
  g_autoptr(GDateTime) now = g_date_time_new_now (tz);

  return g_date_time_format (now, "%Y-%m");
}
