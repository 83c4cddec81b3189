/* phone-test-util.c
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE               /* memmem */
#include "phone-test-util.h"

#include <sqlite3.h>
#include <string.h>

#include "onepin-test-bank.h"

static OtBank *bank;
static GHashTable *steps;          /* ARS session id -> its current step */

OtGateway *
pt_start (void)
{
  g_autofree char *key_file = NULL;
  g_autofree char *config = NULL;

  bank = ot_bank_start (NULL);
  key_file = g_build_filename (ot_bank_data_dir (bank), "sms.key", NULL);
  config = g_strdup_printf ("[sms]\nurl=%s/v1/sms\nkey_file=%s\n"
                            "[outbox]\nretry_initial=1\nretry_max=2\nlease=3\npoll_interval=1\n",
                            ot_bank_url (bank), key_file);
  steps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return ot_gateway_start (config, FALSE);
}

void
pt_stop (OtGateway *gw)
{
  ot_gateway_stop (gw);
  g_clear_pointer (&bank, ot_bank_stop);
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

/* "Card number 9410 1234 5678 9012" or "카드번호 9410-1234-5678-9012". */
static char *
number_in (const char *text)
{
  g_autoptr(GRegex) regex = g_regex_new ("([0-9]{4})[ -]([0-9]{4})[ -]([0-9]{4})[ -]([0-9]{4})",
                                         0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  GString *number;

  if (!g_regex_match (regex, text, 0, &match))
    return NULL;
  number = g_string_new (NULL);
  for (int i = 1; i <= 4; i++)
    {
      g_autofree char *part = g_match_info_fetch (match, i);

      g_string_append (number, part);
    }
  return g_string_free (number, FALSE);
}

char *
pt_sms_card_number (OtGateway  *gw,
                    const char *to)
{
  g_autofree char *path = g_strdup_printf ("/v1/sms?to=%s", to);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  char *number = NULL;

  while (number == NULL && g_get_monotonic_time () < deadline)
    {
      g_autoptr(OtResponse) r = ot_bank_request (bank, "GET", path, ot_bank_sms_key (bank), NULL,
                                                 NULL);
      JsonArray *data;

      ot_assert_status (r, 200);
      data = ot_json_array (ot_response_object (r), "data");
      /* Newest first. */
      for (guint i = 0; number == NULL && i < json_array_get_length (data); i++)
        number = number_in (ot_json_string (json_array_get_object_element (data, i), "text"));
      if (number == NULL)
        g_usleep (100 * 1000);
    }
  g_assert_nonnull (number);
  g_assert_true (ot_luhn_valid (number));
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
