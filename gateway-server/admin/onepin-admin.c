/* onepin-admin: the operator's files, from a running onepin-gateway
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   onepin-admin settle --date 2026-12-01 [--out DIR]
 *       Settles every merchant's payments and refunds of that day (Seoul
 *       time) and writes the day's files: DIR/DATE/MERCHANT-SETTLEMENT.csv
 *       for each merchant, and DIR/DATE/summary.csv.
 *   onepin-admin statement --seller mch_… --month 2026-12 [--out FILE]
 *       A mobile operator's or agent's monthly statement, as CSV.
 *   onepin-admin pool --seller mch_… --value 10000 --count 500 [--kind agent] --out FILE
 *       Makes a pool of inactive card numbers and writes them (with the
 *       scratch secrets of agent cards) to FILE, mode 0600, for printing.
 *
 * It finds the gateway through --data-dir (its gateway.url and admin.token),
 * or --url and --token-file.
 */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  SoupSession *session;
  char        *url;
  char        *token;
} Admin;

static void
admin_clear (Admin *admin)
{
  g_clear_object (&admin->session);
  g_clear_pointer (&admin->url, g_free);
  if (admin->token != NULL)
    memset (admin->token, 0, strlen (admin->token));
  g_clear_pointer (&admin->token, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Admin, admin_clear)

/* Sends a request; returns the body of a 200, or NULL with @error. */
static GBytes *
send (Admin       *admin,
      const char  *method,
      const char  *path,
      const char  *body,
      GError     **error)
{
  g_autofree char *uri = g_strconcat (admin->url, path, NULL);
  g_autofree char *auth = g_strconcat ("Bearer ", admin->token, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);
  GBytes *reply;

  if (msg == NULL)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Bad URL: %s", uri), NULL;
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  if (body != NULL)
    soup_message_set_request_body_from_bytes (msg, "application/json",
                                              g_bytes_new (body, strlen (body)));
  reply = soup_session_send_and_read (admin->session, msg, NULL, error);
  if (reply != NULL && soup_message_get_status (msg) != 200)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s %s: %u %.*s", method, path,
                   soup_message_get_status (msg), (int) MIN (g_bytes_get_size (reply), 400),
                   (const char *) g_bytes_get_data (reply, NULL));
      g_clear_pointer (&reply, g_bytes_unref);
    }
  return reply;
}

static JsonObject *
send_json (Admin       *admin,
           const char  *method,
           const char  *path,
           const char  *body,
           GError     **error)
{
  g_autoptr(GBytes) reply = send (admin, method, path, body, error);
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (reply == NULL ||
      !json_parser_load_from_data (parser, g_bytes_get_data (reply, NULL),
                                   g_bytes_get_size (reply), error))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Not an object"), NULL;
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static gboolean
write_file (const char  *path,
            GBytes      *data,
            int          mode,
            GError     **error)
{
  return g_file_set_contents_full (path, g_bytes_get_data (data, NULL), g_bytes_get_size (data),
                                   G_FILE_SET_CONTENTS_CONSISTENT, mode, error);
}

/* settle */

static gboolean
settle (Admin       *admin,
        const char  *date,
        const char  *out_dir,
        GError     **error)
{
  g_autofree char *body = g_strdup_printf ("{\"date\": \"%s\"}", date);
  g_autofree char *list_path = g_strdup_printf ("/v1/admin/settlements?date=%s", date);
  g_autofree char *dir = g_build_filename (out_dir, date, NULL);
  g_autofree char *summary_path = g_build_filename (dir, "summary.csv", NULL);
  g_autoptr(JsonObject) run = send_json (admin, "POST", "/v1/admin/settlements", body, error);
  g_autoptr(JsonObject) day = NULL;
  g_autoptr(GString) summary = g_string_new ("merchant,settlement,payments,captured,refunds,"
                                             "refunded,commission,net\r\n");
  g_autoptr(GBytes) summary_bytes = NULL;
  JsonArray *data;

  if (run == NULL)
    return FALSE;
  printf ("Settled %u merchant%s for %s.\n",
          json_array_get_length (json_object_get_array_member (run, "data")),
          json_array_get_length (json_object_get_array_member (run, "data")) == 1 ? "" : "s",
          date);

  /* The day's files hold every settlement of the day, earlier runs too. */
  day = send_json (admin, "GET", list_path, NULL, error);
  if (day == NULL)
    return FALSE;
  if (g_mkdir_with_parents (dir, 0700) != 0)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot create %s", dir), FALSE;
  data = json_object_get_array_member (day, "data");
  printf ("%-28s %-30s %10s %10s %10s %10s\n", "merchant", "settlement", "captured", "refunded",
          "commission", "net");
  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonObject *s = json_array_get_object_element (data, i);
      const char *id = json_object_get_string_member (s, "id");
      const char *merchant = json_object_get_string_member (s, "merchant");
      g_autofree char *path = g_strdup_printf ("/v1/admin/settlements/%s?format=csv", id);
      g_autofree char *name = g_strdup_printf ("%s-%s.csv", merchant, id);
      g_autofree char *file = g_build_filename (dir, name, NULL);
      g_autoptr(GBytes) csv = send (admin, "GET", path, NULL, error);

      if (csv == NULL || !write_file (file, csv, 0600, error))
        return FALSE;
      g_string_append_printf (summary, "%s,%s,%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%"
                              G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%"
                              G_GINT64_FORMAT "\r\n", merchant, id,
                              json_object_get_int_member (s, "payments"),
                              json_object_get_int_member (s, "captured"),
                              json_object_get_int_member (s, "refunds"),
                              json_object_get_int_member (s, "refunded"),
                              json_object_get_int_member (s, "commission"),
                              json_object_get_int_member (s, "net"));
      printf ("%-28s %-30s %10" G_GINT64_FORMAT " %10" G_GINT64_FORMAT " %10" G_GINT64_FORMAT
              " %10" G_GINT64_FORMAT "\n", merchant, id,
              json_object_get_int_member (s, "captured"),
              json_object_get_int_member (s, "refunded"),
              json_object_get_int_member (s, "commission"),
              json_object_get_int_member (s, "net"));
    }
  summary_bytes = g_string_free_to_bytes (g_steal_pointer (&summary));
  if (!write_file (summary_path, summary_bytes, 0600, error))
    return FALSE;
  printf ("Files in %s\n", dir);
  return TRUE;
}

/* statement */

static gboolean
statement (Admin       *admin,
           const char  *seller,
           const char  *month,
           const char  *out,
           GError     **error)
{
  g_autofree char *path = g_strdup_printf ("/v1/admin/phone/statements?seller=%s&month=%s"
                                           "&format=csv", seller, month);
  g_autoptr(GBytes) csv = send (admin, "GET", path, NULL, error);

  if (csv == NULL)
    return FALSE;
  if (out == NULL)
    return fwrite (g_bytes_get_data (csv, NULL), 1, g_bytes_get_size (csv), stdout), TRUE;
  return write_file (out, csv, 0600, error);
}

/* pool */

static gboolean
pool (Admin       *admin,
      const char  *seller,
      const char  *kind,
      gint64       value,
      gint64       count,
      const char  *out,
      GError     **error)
{
  g_autofree char *body = g_strdup_printf ("{\"seller\": \"%s\", \"kind\": \"%s\", \"value\": %"
                                           G_GINT64_FORMAT ", \"count\": %" G_GINT64_FORMAT "}",
                                           seller, kind, value, count);
  g_autoptr(JsonObject) made = NULL;
  g_autoptr(GString) csv = g_string_new ("seq,number,secret,value\r\n");
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) header = g_bytes_new_static (csv->str, csv->len);
  JsonArray *numbers;

  /* The numbers and secrets are in the answer only: a file that cannot be
   * written must be found out before the pool exists, not after. */
  if (!write_file (out, header, 0600, error))
    return FALSE;
  made = send_json (admin, "POST", "/v1/admin/phone/pools", body, error);
  if (made == NULL)
    return FALSE;
  numbers = json_object_get_array_member (made, "numbers");
  for (guint i = 0; i < json_array_get_length (numbers); i++)
    {
      JsonObject *n = json_array_get_object_element (numbers, i);

      g_string_append_printf (csv, "%" G_GINT64_FORMAT ",%s,%s,%" G_GINT64_FORMAT "\r\n",
                              json_object_get_int_member (n, "seq"),
                              json_object_get_string_member (n, "number"),
                              json_object_get_string_member_with_default (n, "secret", ""),
                              value);
    }
  bytes = g_string_free_to_bytes (g_steal_pointer (&csv));
  if (!write_file (out, bytes, 0600, error))
    return FALSE;
  printf ("Pool %s: %u numbers of %" G_GINT64_FORMAT " won for %s, written to %s\n",
          json_object_get_string_member (made, "id"), json_array_get_length (numbers), value,
          seller, out);
  return TRUE;
}

static gboolean
connect_admin (Admin       *admin,
               const char  *data_dir,
               const char  *url,
               const char  *token_file,
               GError     **error)
{
  g_autofree char *url_file = data_dir ? g_build_filename (data_dir, "gateway.url", NULL) : NULL;
  g_autofree char *default_token = data_dir ? g_build_filename (data_dir, "admin.token", NULL)
                                            : NULL;
  g_autofree char *text = NULL;

  if (url != NULL)
    admin->url = g_strdup (url);
  else if (url_file != NULL && g_file_get_contents (url_file, &text, NULL, NULL))
    admin->url = g_strdup (g_strstrip (text));
  else
    return g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                "Give --data-dir, or --url and --token-file"), FALSE;
  if (!g_file_get_contents (token_file ? token_file : default_token ? default_token : "",
                            &admin->token, NULL, error))
    return FALSE;
  g_strstrip (admin->token);
  admin->session = soup_session_new_with_options ("timeout", 120, NULL);
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_auto(Admin) admin = { 0 };
  g_autofree char *data_dir = NULL;
  g_autofree char *url = NULL;
  g_autofree char *token_file = NULL;
  g_autofree char *date = NULL;
  g_autofree char *month = NULL;
  g_autofree char *seller = NULL;
  g_autofree char *kind = NULL;
  g_autofree char *out = NULL;
  gint64 value = 0, count = 0;
  GOptionEntry entries[] = {
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir, "The gateway's data dir", "DIR" },
    { "url", 0, 0, G_OPTION_ARG_STRING, &url, "The gateway's URL", "URL" },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file, "The admin token's file", "FILE" },
    { "date", 0, 0, G_OPTION_ARG_STRING, &date, "settle: the day, YYYY-MM-DD", "DATE" },
    { "month", 0, 0, G_OPTION_ARG_STRING, &month, "statement: the month, YYYY-MM", "MONTH" },
    { "seller", 0, 0, G_OPTION_ARG_STRING, &seller, "statement, pool: the seller", "MERCHANT" },
    { "kind", 0, 0, G_OPTION_ARG_STRING, &kind, "pool: operator (default) or agent", "KIND" },
    { "value", 0, 0, G_OPTION_ARG_INT64, &value, "pool: the cards' value", "WON" },
    { "count", 0, 0, G_OPTION_ARG_INT64, &count, "pool: how many", "N" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Where to write (a dir for settle)", "PATH" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("settle|statement|pool - onepin's "
                                                            "operator files");
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      g_printerr ("onepin-admin: %s\n", error ? error->message : "give settle, statement or pool");
      return 2;
    }
  if (!connect_admin (&admin, data_dir, url, token_file, &error))
    {
      g_printerr ("onepin-admin: %s\n", error->message);
      return 2;
    }

  if (g_str_equal (argv[1], "settle") && date != NULL)
    ok = settle (&admin, date, out ? out : ".", &error);
  else if (g_str_equal (argv[1], "statement") && seller != NULL && month != NULL)
    ok = statement (&admin, seller, month, out, &error);
  else if (g_str_equal (argv[1], "pool") && seller != NULL && value > 0 && count > 0 && out)
    ok = pool (&admin, seller, kind ? kind : "operator", value, count, out, &error);
  else
    {
      g_printerr ("onepin-admin: settle needs --date; statement --seller and --month; pool "
                  "--seller, --value, --count and --out\n");
      return 2;
    }
  if (!ok)
    {
      g_printerr ("onepin-admin: %s\n", error->message);
      return 1;
    }
  return 0;
}
