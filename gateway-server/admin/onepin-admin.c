/* onepin-admin: the operator's files, from a running onepin-gateway
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   onepin-admin settle --date 2026-12-01 [--out DIR]
 *       Settles every merchant's payments and refunds not settled yet, up
 *       to the end of that day (Seoul time): earlier days' late lines too,
 *       see HACKING.md. Writes DIR/DATE/MERCHANT-SETTLEMENT.csv for each of
 *       the day's settlements, and DIR/DATE/summary.csv.
 *       The files are written all or none (temporary names, renamed once
 *       all are written and synced), by one run at a time per day: a run
 *       holds a lock on DIR/DATE, and removes the temporary files that a
 *       run killed before its renames left there.
 *   onepin-admin statement --seller mch_… --month 2026-12 [--out FILE]
 *       A mobile operator's or agent's monthly statement, as CSV.
 *   onepin-admin pool --seller mch_… --value 10000 --count 500 [--kind agent] --out FILE
 *       Makes a pool of inactive card numbers and writes them (with the
 *       scratch secrets of agent cards) to FILE, a new file of mode 0600,
 *       for printing. Numbers and secrets are written as printed: digits
 *       in groups of 4 ("9410 6755 6918 6111", "0123 4567 8901"), which a
 *       spreadsheet keeps as text, where bare digits lose leading zeros or
 *       (past 15 digits) their last digits. The gateway keeps only MACs of
 *       them: FILE is never written over, and a pool whose file could not be
 *       written is fetched again with the same command, a new --out and the
 *       --idempotency-key it printed (the gateway replays the same answer).
 *
 * It finds the gateway through --data-dir (its gateway.url and admin.token),
 * or --url and --token-file. Exit status: 0 done, 2 a usage error or the
 * gateway's refusal of an argument (4xx), 1 any other failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onepin-crypto.h"
#include "onepin-json.h"

#define ADMIN_ERROR (admin_error_quark ())

typedef enum
{
  ADMIN_ERROR_USAGE,    /* a bad argument, found here or refused by the gateway: exit 2 */
  ADMIN_ERROR_FAILED,   /* the gateway or the network failed: exit 1 */
} AdminError;

G_DEFINE_QUARK (onepin-admin-error-quark, admin_error)

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

/* Frees an answer: its text may be a pool's numbers and secrets. The data
 * is ours (read_body), so the const is cast away. */
static void
answer_free (GBytes *answer)
{
  explicit_bzero ((void *) g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
  g_bytes_unref (answer);
}

typedef GBytes Answer;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Answer, answer_free)

/* A JSON tree that may hold numbers and secrets, freed wiped. */
static void
secret_object_free (JsonObject *object)
{
  onepin_json_object_wipe (object);
  json_object_unref (object);
}

typedef JsonObject SecretObject;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SecretObject, secret_object_free)

/* Reads all of @stream. Rather than soup_session_send_and_read (), whose
 * buffer is reallocated as it grows: each buffer this one outgrows is wiped
 * before it is freed, so no copy of a pool's answer is left behind in
 * freed memory by us. */
static GBytes *
read_body (GInputStream  *stream,
           goffset        length,
           GError       **error)
{
  gsize size = length > 0 && length < G_MAXINT32 ? (gsize) length + 1 : 16384;
  gsize len = 0;
  char *buf = g_malloc (size);

  for (;;)
    {
      gssize n;

      if (len == size)
        {
          char *bigger = g_malloc (size * 2);

          memcpy (bigger, buf, len);
          explicit_bzero (buf, size);
          g_free (buf);
          buf = bigger;
          size *= 2;
        }
      n = g_input_stream_read (stream, buf + len, size - len, NULL, error);
      if (n < 0)
        {
          explicit_bzero (buf, size);
          g_free (buf);
          return NULL;
        }
      if (n == 0)
        return g_bytes_new_take (buf, len);
      len += n;
    }
}

/* Sends a request, with @key as its Idempotency-Key if not NULL; returns the
 * body of a 200 (to be freed with answer_free ()), or NULL with @error:
 * ADMIN_ERROR_USAGE for a 4xx (the gateway refused an argument), else a
 * failure. */
static GBytes *
send (Admin       *admin,
      const char  *method,
      const char  *path,
      const char  *body,
      const char  *key,
      GError     **error)
{
  g_autofree char *uri = g_strconcat (admin->url, path, NULL);
  g_autofree char *auth = g_strconcat ("Bearer ", admin->token, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(Answer) reply = NULL;
  guint status;

  if (msg == NULL)
    return g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_USAGE, "Bad URL: %s", admin->url), NULL;
  /* The admin API never redirects; a redirect would take the token to
   * wherever it points, which check_url () never saw. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  if (key != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Idempotency-Key",
                                  key);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  stream = soup_session_send (admin->session, msg, NULL, error);
  if (stream == NULL)
    return NULL;
  reply = read_body (stream, soup_message_headers_get_content_length (
                       soup_message_get_response_headers (msg)), error);
  g_input_stream_close (stream, NULL, NULL);
  if (reply == NULL)
    return NULL;
  status = soup_message_get_status (msg);
  if (status != 200)
    return g_set_error (error, ADMIN_ERROR, status >= 400 && status < 500 && status != 409
                        ? ADMIN_ERROR_USAGE : ADMIN_ERROR_FAILED,
                        "%s %s: %u %.*s", method, path, status,
                        (int) MIN (g_bytes_get_size (reply), 400),
                        (const char *) g_bytes_get_data (reply, NULL)), NULL;
  return g_steal_pointer (&reply);
}

/* A 200 whose body is not what the gateway answers: a gateway gone wrong,
 * or a --url that names some other server. Nothing is written from it. */
static gboolean
odd_answer (GError     **error,
            const char  *method,
            const char  *path,
            const char  *what)
{
  return g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_FAILED,
                      "%s %s: unexpected answer (%s): is the URL the onepin gateway's?", method,
                      path, what), FALSE;
}

/* Checks @fields of @object (other members are let be: a newer gateway may
 * send more). */
static gboolean
check_answer (JsonObject             *object,
              const OnepinJsonField  *fields,
              gsize                   n_fields,
              const char             *method,
              const char             *path,
              GError                **error)
{
  const char *bad = NULL;
  g_autofree char *what = NULL;

  if (onepin_json_check_members (object, fields, n_fields, &bad, NULL))
    return TRUE;
  what = g_strdup_printf ("\"%s\" missing or of the wrong type", bad);
  return odd_answer (error, method, path, what);
}

/* The answer's object, its @fields checked. */
static JsonObject *
send_json (Admin                  *admin,
           const char             *method,
           const char             *path,
           const char             *body,
           const char             *key,
           const OnepinJsonField  *fields,
           gsize                   n_fields,
           GError                **error)
{
  g_autoptr(Answer) reply = send (admin, method, path, body, key, error);
  g_autoptr(SecretObject) object = NULL;

  if (reply == NULL)
    return NULL;
  object = onepin_json_parse_object (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply),
                                     NULL);
  if (object == NULL)
    return odd_answer (error, method, path, "not a JSON object"), NULL;
  if (!check_answer (object, fields, n_fields, method, path, error))
    return NULL;
  return g_steal_pointer (&object);
}

/* An id the gateway makes ("mch_…", "stl_…"): a file name is made of it. */
static gboolean
is_plain_id (const char *id)
{
  gsize len = strlen (id);

  return len > 0 && len <= 64 &&
         strspn (id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == len;
}

/* Each element of @object's "data" is an object of @fields, the first two
 * (ids) plain ids. */
static gboolean
check_list (JsonObject             *object,
            const OnepinJsonField  *fields,
            gsize                   n_fields,
            const char             *method,
            const char             *path,
            GError                **error)
{
  JsonArray *data = json_object_get_array_member (object, "data");

  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonNode *node = json_array_get_element (data, i);
      JsonObject *element;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return odd_answer (error, method, path, "a list element is not an object");
      element = json_node_get_object (node);
      if (!check_answer (element, fields, n_fields, method, path, error))
        return FALSE;
      if (!is_plain_id (json_object_get_string_member (element, fields[0].name)) ||
          !is_plain_id (json_object_get_string_member (element, fields[1].name)))
        return odd_answer (error, method, path, "an id that is not one");
    }
  return TRUE;
}

/* The text of the object @builder holds, its last member closed. */
static char *
json_text (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = NULL;

  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
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

/* Writes all of @data to @fd and syncs it. */
static gboolean
write_fd (int          fd,
          const char  *data,
          gsize        len,
          GError     **error)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (errno),
                                    g_strerror (errno)), FALSE;
      data += n;
      len -= n;
    }
  if (fsync (fd) != 0)
    return g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (errno),
                                g_strerror (errno)), FALSE;
  return TRUE;
}

/* settle */

static const OnepinJsonField list_fields[] = {
  { "data", ONEPIN_JSON_ARRAY, TRUE },
};

static const OnepinJsonField settlement_fields[] = {
  { "id", ONEPIN_JSON_STRING, TRUE },
  { "merchant", ONEPIN_JSON_STRING, TRUE },
  { "payments", ONEPIN_JSON_INT, TRUE },
  { "captured", ONEPIN_JSON_INT, TRUE },
  { "refunds", ONEPIN_JSON_INT, TRUE },
  { "refunded", ONEPIN_JSON_INT, TRUE },
  { "commission", ONEPIN_JSON_INT, TRUE },
  { "net", ONEPIN_JSON_INT, TRUE },
};

/* A list of settlements, checked. */
static JsonObject *
send_settlements (Admin       *admin,
                  const char  *method,
                  const char  *path,
                  const char  *body,
                  const char  *key,
                  GError     **error)
{
  g_autoptr(JsonObject) list = send_json (admin, method, path, body, key, list_fields,
                                          G_N_ELEMENTS (list_fields), error);

  if (list == NULL ||
      !check_list (list, settlement_fields, G_N_ELEMENTS (settlement_fields), method, path,
                   error))
    return NULL;
  return g_steal_pointer (&list);
}

/* The temporary names: ".NAME.csv.partial-XXXXXX". The word is there so
 * that no operator's own file looks like one (before, ".NAME.csv.XXXXXX"
 * did, and the next run would have removed it). */
#define DAY_TEMP_INFIX ".partial-"
#define DAY_TEMP_SUFFIX ".csv" DAY_TEMP_INFIX

/* A file of the day being written: its temporary name in the same dir, and
 * the name it takes once every file of the day is written. */
typedef struct
{
  char *temp;
  char *path;
} DayFile;

static void
day_file_free (DayFile *file)
{
  if (file->temp != NULL)
    g_unlink (file->temp);
  g_free (file->temp);
  g_free (file->path);
  g_free (file);
}

/* Writes @data (all of it, synced) to a new temporary file beside @path,
 * which is added to @files. */
static gboolean
day_file_write (GPtrArray   *files,
                const char  *path,
                const char  *data,
                gsize        len,
                GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *pattern = g_strdup_printf (".%s" DAY_TEMP_INFIX "XXXXXX", base);
  DayFile *file = g_new0 (DayFile, 1);
  int fd;

  file->path = g_strdup (path);
  file->temp = g_build_filename (dir, pattern, NULL);
  fd = g_mkstemp_full (file->temp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "Cannot create a file in "
                   "%s: %s", dir, g_strerror (errno));
      g_clear_pointer (&file->temp, g_free);
      day_file_free (file);
      return FALSE;
    }
  g_ptr_array_add (files, file);
  if (!write_fd (fd, data, len, error))
    return close (fd), g_prefix_error (error, "Cannot write %s: ", path), FALSE;
  if (close (fd) != 0)
    return g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "Cannot write %s: %s",
                        path, g_strerror (errno)), FALSE;
  return TRUE;
}

/* Renames each of @files into place, and syncs @dir so that the renames
 * last. Only once all are written: a run that fails midway leaves the day's
 * files as they were (day_file_free removes what it wrote). */
static gboolean
day_files_commit (GPtrArray   *files,
                  const char  *dir,
                  GError     **error)
{
  int fd;

  for (guint i = 0; i < files->len; i++)
    {
      DayFile *file = g_ptr_array_index (files, i);

      if (g_rename (file->temp, file->path) != 0)
        return g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                            "Cannot write %s: %s", file->path, g_strerror (errno)), FALSE;
      g_clear_pointer (&file->temp, g_free);
    }
  fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0 || fsync (fd) != 0)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      return g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Cannot sync %s: %s",
                          dir, g_strerror (saved)), FALSE;
    }
  close (fd);
  return TRUE;
}

/* The day's directory, opened and locked (flock) for this run alone, or
 * -1. Two runs for one day would rename their files over each other's
 * midway; the second is refused at once rather than left waiting. */
static int
day_dir_lock (const char  *dir,
              GError     **error)
{
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0)
    return g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "Cannot open %s: %s",
                        dir, g_strerror (errno)), -1;
  if (flock (fd, LOCK_EX | LOCK_NB) == 0)
    return fd;
  if (errno == EWOULDBLOCK)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "Another onepin-admin settle is writing "
                 "%s; run this one again once it is done", dir);
  else
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "Cannot lock %s: %s", dir,
                 g_strerror (errno));
  close (fd);
  return -1;
}

/* Whether @name is one of day_file_write's temporary names:
 * ".NAME.csv.partial-XXXXXX", the X's six of g_mkstemp's letters and
 * digits. */
static gboolean
is_day_temp_name (const char *name)
{
  gsize len = strlen (name);
  gsize suffix = strlen (DAY_TEMP_SUFFIX "XXXXXX");

  if (name[0] != '.' || len < suffix + 2 ||
      strncmp (name + len - suffix, DAY_TEMP_SUFFIX, strlen (DAY_TEMP_SUFFIX)) != 0)
    return FALSE;
  for (gsize i = len - 6; i < len; i++)
    if (!g_ascii_isalnum (name[i]))
      return FALSE;
  return TRUE;
}

/* Removes the temporary files a run killed before its renames left in
 * @dir: with the day's lock held, no other run is writing them. */
static void
day_dir_sweep (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;
  guint removed = 0;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      GStatBuf st;

      if (is_day_temp_name (name) && g_lstat (path, &st) == 0 && S_ISREG (st.st_mode) &&
          g_unlink (path) == 0)
        removed++;
    }
  if (removed > 0)
    printf ("Removed %u unfinished file%s of an interrupted run from %s.\n", removed,
            removed == 1 ? "" : "s", dir);
}

/* Writes the day's files for @day's settlements into @dir (locked). */
static gboolean
day_files_write (Admin       *admin,
                 JsonObject  *day,
                 const char  *dir,
                 GError     **error)
{
  g_autofree char *summary_path = g_build_filename (dir, "summary.csv", NULL);
  g_autoptr(GString) summary = g_string_new ("merchant,settlement,payments,captured,refunds,"
                                             "refunded,commission,net\r\n");
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) day_file_free);
  JsonArray *data = json_object_get_array_member (day, "data");

  printf ("%-28s %-30s %10s %10s %10s %10s\n", "merchant", "settlement", "captured", "refunded",
          "commission", "net");
  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonObject *s = json_array_get_object_element (data, i);
      const char *id = json_object_get_string_member (s, "id");
      const char *merchant = json_object_get_string_member (s, "merchant");
      g_autofree char *id_escaped = g_uri_escape_string (id, NULL, FALSE);
      g_autofree char *path = g_strdup_printf ("/v1/admin/settlements/%s?format=csv", id_escaped);
      g_autofree char *name = g_strdup_printf ("%s-%s.csv", merchant, id);
      g_autofree char *file = g_build_filename (dir, name, NULL);
      g_autoptr(Answer) csv = send (admin, "GET", path, NULL, NULL, error);

      if (csv == NULL ||
          !day_file_write (files, file, g_bytes_get_data (csv, NULL), g_bytes_get_size (csv),
                           error))
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
  return day_file_write (files, summary_path, summary->str, summary->len, error) &&
         day_files_commit (files, dir, error);
}

static gboolean
settle (Admin       *admin,
        const char  *date,
        const char  *out_dir,
        const char  *key,
        GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *body = NULL;
  g_autofree char *escaped = g_uri_escape_string (date, NULL, FALSE);
  g_autofree char *list_path = g_strdup_printf ("/v1/admin/settlements?date=%s", escaped);
  g_autofree char *dir = g_build_filename (out_dir, date, NULL);
  g_autoptr(JsonObject) run = NULL;
  g_autoptr(JsonObject) day = NULL;
  gboolean ok;
  int fd;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "date");
  json_builder_add_string_value (builder, date);
  body = json_text (builder);
  run = send_settlements (admin, "POST", "/v1/admin/settlements", body, key, error);
  if (run == NULL)
    return FALSE;
  printf ("Settled %u merchant%s for %s.\n",
          json_array_get_length (json_object_get_array_member (run, "data")),
          json_array_get_length (json_object_get_array_member (run, "data")) == 1 ? "" : "s",
          date);

  /* The day's files hold every settlement of the day, earlier runs too. */
  day = send_settlements (admin, "GET", list_path, NULL, NULL, error);
  if (day == NULL)
    return FALSE;
  if (g_mkdir_with_parents (dir, 0700) != 0)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot create %s", dir), FALSE;
  fd = day_dir_lock (dir, error);
  if (fd < 0)
    return FALSE;
  day_dir_sweep (dir);
  ok = day_files_write (admin, day, dir, error);
  close (fd);
  if (ok)
    printf ("Files in %s\n", dir);
  return ok;
}

/* statement */

static gboolean
statement (Admin       *admin,
           const char  *seller,
           const char  *month,
           const char  *out,
           GError     **error)
{
  g_autofree char *seller_escaped = g_uri_escape_string (seller, NULL, FALSE);
  g_autofree char *month_escaped = g_uri_escape_string (month, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("/v1/admin/phone/statements?seller=%s&month=%s"
                                           "&format=csv", seller_escaped, month_escaped);
  g_autoptr(Answer) csv = send (admin, "GET", path, NULL, NULL, error);
  gsize size;

  if (csv == NULL)
    return FALSE;
  if (out != NULL)
    return write_file (out, csv, 0600, error);
  size = g_bytes_get_size (csv);
  if (fwrite (g_bytes_get_data (csv, NULL), 1, size, stdout) != size || fflush (stdout) != 0)
    return g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                        "Cannot write the statement: %s", g_strerror (errno)), FALSE;
  return TRUE;
}

/* pool */

/* @digits in groups of 4, as printed on a card. */
static void
append_grouped (GString    *out,
                const char *digits)
{
  for (gsize i = 0; digits[i] != '\0'; i++)
    {
      if (i > 0 && i % 4 == 0)
        g_string_append_c (out, ' ');
      g_string_append_c (out, digits[i]);
    }
}

static char *
pool_body (const char *seller,
           const char *kind,
           gint64      value,
           gint64      count)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "seller");
  json_builder_add_string_value (builder, seller);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder, kind);
  json_builder_set_member_name (builder, "value");
  json_builder_add_int_value (builder, value);
  json_builder_set_member_name (builder, "count");
  json_builder_add_int_value (builder, count);
  return json_text (builder);
}

static const OnepinJsonField pool_fields[] = {
  { "id", ONEPIN_JSON_STRING, TRUE },
  { "numbers", ONEPIN_JSON_ARRAY, TRUE },
};

static const OnepinJsonField number_fields[] = {
  { "seq", ONEPIN_JSON_INT, TRUE },
  { "number", ONEPIN_JSON_STRING, TRUE },
  { "secret", ONEPIN_JSON_STRING, FALSE },
};

static gboolean
is_digits (const char *text)
{
  return text[0] != '\0' && strspn (text, "0123456789") == strlen (text);
}

/* @made holds @count numbers, each of digits, its secret (if any) too: what
 * is written to the file for printing is nothing else. */
static gboolean
check_pool (JsonObject  *made,
            gint64       count,
            const char  *path,
            GError     **error)
{
  JsonArray *numbers = json_object_get_array_member (made, "numbers");

  if (json_array_get_length (numbers) != count)
    return odd_answer (error, "POST", path, "not as many numbers as asked for");
  for (guint i = 0; i < json_array_get_length (numbers); i++)
    {
      JsonNode *node = json_array_get_element (numbers, i);
      JsonObject *n;
      const char *secret;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return odd_answer (error, "POST", path, "a number is not an object");
      n = json_node_get_object (node);
      if (!check_answer (n, number_fields, G_N_ELEMENTS (number_fields), "POST", path, error))
        return FALSE;
      secret = onepin_json_get_string (n, "secret", NULL);
      if (!is_digits (json_object_get_string_member (n, "number")) ||
          (secret != NULL && !is_digits (secret)))
        return odd_answer (error, "POST", path, "a number or secret not of digits");
    }
  return TRUE;
}

/* A GString of the pool's numbers and secrets, freed wiped. */
static void
secret_string_free (GString *text)
{
  explicit_bzero (text->str, text->allocated_len);
  g_string_free (text, TRUE);
}

typedef GString SecretString;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SecretString, secret_string_free)

/* The room the file's text of @numbers takes at most, so that its GString
 * never grows: a reallocation would leave a copy behind, unwiped. */
static gsize
pool_csv_size (JsonArray *numbers)
{
  gsize size = 64;

  for (guint i = 0; i < json_array_get_length (numbers); i++)
    {
      JsonObject *n = json_array_get_object_element (numbers, i);

      /* seq and value up to 20 digits each, digits grouped take 5/4. */
      size += 48 + 2 * strlen (json_object_get_string_member (n, "number")) +
              2 * strlen (onepin_json_get_string (n, "secret", ""));
    }
  return size;
}

static GString *
pool_csv (JsonObject *made,
          gint64      value)
{
  JsonArray *numbers = json_object_get_array_member (made, "numbers");
  GString *csv = g_string_sized_new (pool_csv_size (numbers));

  g_string_append (csv, "seq,number,secret,value\r\n");
  for (guint i = 0; i < json_array_get_length (numbers); i++)
    {
      JsonObject *n = json_array_get_object_element (numbers, i);

      g_string_append_printf (csv, "%" G_GINT64_FORMAT ",", json_object_get_int_member (n, "seq"));
      append_grouped (csv, json_object_get_string_member (n, "number"));
      g_string_append_c (csv, ',');
      append_grouped (csv, onepin_json_get_string (n, "secret", ""));
      g_string_append_printf (csv, ",%" G_GINT64_FORMAT "\r\n", value);
    }
  return csv;
}

/* The pool's numbers and secrets are in the answer only (the gateway keeps
 * MACs): so @out is a new file, made before the pool, and a pool whose file
 * is lost can be fetched again under the same Idempotency-Key. */
static gboolean
pool (Admin       *admin,
      const char  *seller,
      const char  *kind,
      gint64       value,
      gint64       count,
      const char  *out,
      const char  *key,
      GError     **error)
{
  static const char pool_path[] = "/v1/admin/phone/pools";
  g_autofree char *body = pool_body (seller, kind, value, count);
  g_autoptr(SecretObject) made = NULL;
  g_autoptr(SecretString) csv = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *id;
  int fd;

  fd = g_open (out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST)
    return g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_USAGE,
                        "%s exists: a pool file is never written over (its numbers and "
                        "secrets are nowhere else); give a new --out", out), FALSE;
  if (fd < 0)
    return g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_USAGE, "Cannot create %s: %s", out,
                        g_strerror (errno)), FALSE;

  made = send_json (admin, "POST", pool_path, body, key, pool_fields, G_N_ELEMENTS (pool_fields),
                    &local_error);
  if (made != NULL && !check_pool (made, count, pool_path, &local_error))
    g_clear_pointer (&made, secret_object_free);
  if (made != NULL)
    {
      csv = pool_csv (made, value);
      if (write_fd (fd, csv->str, csv->len, &local_error))
        {
          close (fd);
          printf ("Pool %s: %u numbers of %" G_GINT64_FORMAT " won for %s, written to %s\n",
                  json_object_get_string_member (made, "id"),
                  json_array_get_length (json_object_get_array_member (made, "numbers")), value,
                  seller, out);
          return TRUE;
        }
    }
  close (fd);
  g_unlink (out);
  if (g_error_matches (local_error, ADMIN_ERROR, ADMIN_ERROR_USAGE))
    return g_propagate_error (error, g_steal_pointer (&local_error)), FALSE;

  /* The pool may exist; only this key gets its numbers back. */
  id = made != NULL ? json_object_get_string_member (made, "id") : NULL;
  g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_FAILED,
               "%s%s%s%s\nPool %s%s. Its numbers are fetched again by the same command (same "
               "--seller, --kind, --value and --count) with a new --out and\n"
               "  --idempotency-key %s",
               made != NULL ? "Cannot write " : "", made != NULL ? out : "",
               made != NULL ? ": " : "", local_error->message,
               id != NULL ? id : "", id != NULL ? " was made, but not written"
                                                : "may have been made (no usable answer)", key);
  return FALSE;
}

/* Reads @text, the argument of --@option, as a whole number of at least 1:
 * decimal digits only, no sign, no spaces, no leading zero. GOption's own
 * integers take "010" as 8 and "0x10" as 16; an amount of money or a count
 * of cards is refused rather than read otherwise than the operator wrote it. */
static gboolean
parse_positive (const char  *option,
                const char  *text,
                gint64      *value,
                GError     **error)
{
  guint64 n = 0;

  if (text[0] < '1' || text[0] > '9' || strspn (text, "0123456789") != strlen (text) ||
      !g_ascii_string_to_unsigned (text, 10, 1, G_MAXINT64, &n, NULL))
    return g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_USAGE,
                        "--%s must be a whole number of at least 1, in decimal digits without "
                        "a leading zero, sign or spaces (not \"%s\")", option, text), FALSE;
  *value = (gint64) n;
  return TRUE;
}

/* The admin token goes only where no one on the way reads it: https://, or
 * plain http:// to this computer, named by its address (127.x.x.x or
 * [::1]): a name, even "localhost", is whatever the resolver says it is.
 * As the wallet's ow_client_check_url (). Checked before the token file is
 * read; the message names the host, never the URL's user part. */
static gboolean
check_url (const char  *url,
           GError     **error)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autoptr(GInetAddress) address = NULL;
  const char *host = uri != NULL ? g_uri_get_host (uri) : NULL;

  if (host == NULL || host[0] == '\0' || g_uri_get_userinfo (uri) != NULL ||
      g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    return g_set_error_literal (error, ADMIN_ERROR, ADMIN_ERROR_USAGE,
                                "The gateway's URL must be an https:// (or http:// to "
                                "127.0.0.1) URL of a host, with no user name, query or "
                                "fragment"), FALSE;
  if (g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0)
    return TRUE;
  if (g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") != 0)
    return g_set_error_literal (error, ADMIN_ERROR, ADMIN_ERROR_USAGE,
                                "The gateway's URL must start with https:// (or http:// to "
                                "127.0.0.1)"), FALSE;
  address = g_inet_address_new_from_string (host);
  if (address == NULL || !g_inet_address_get_is_loopback (address))
    return g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_USAGE,
                        "The admin token is sent only over https://, or over plain http:// "
                        "to this computer (127.0.0.1 or [::1]): not to %s", host), FALSE;
  return TRUE;
}

/* Reads the URL and token from --url/--token-file or the data dir. */
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
  g_autoptr(GError) local_error = NULL;

  if (url != NULL)
    admin->url = g_strdup (url);
  else if (url_file == NULL)
    return g_set_error_literal (error, ADMIN_ERROR, ADMIN_ERROR_USAGE,
                                "Give --data-dir, or --url and --token-file"), FALSE;
  else if (g_file_get_contents (url_file, &text, NULL, NULL))
    admin->url = g_strdup (g_strstrip (text));
  else
    return g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_USAGE,
                        "%s has no gateway.url: is it the gateway's data dir, and is the "
                        "gateway running?", data_dir), FALSE;
  if (!check_url (admin->url, error))
    return FALSE;
  /* "http://host:port/" + "/v1/…" would make "//v1/…". */
  while (g_str_has_suffix (admin->url, "/"))
    admin->url[strlen (admin->url) - 1] = '\0';

  if (token_file == NULL && default_token == NULL)
    return g_set_error_literal (error, ADMIN_ERROR, ADMIN_ERROR_USAGE,
                                "Give --token-file with --url"), FALSE;
  if (token_file == NULL && !g_file_test (default_token, G_FILE_TEST_EXISTS))
    return g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_USAGE,
                        "%s has no admin.token: is it the gateway's data dir?", data_dir),
           FALSE;
  /* Read as the gateway reads it: a private file holding the token alone
   * (printable, no space, a final newline allowed). A line break inside
   * would make a header libsoup refuses, and the request would go out
   * without one; the message never shows the file's text. */
  admin->token = onepin_secret_file_load (token_file ? token_file : default_token, &local_error);
  if (admin->token == NULL)
    return g_set_error (error, ADMIN_ERROR, ADMIN_ERROR_USAGE,
                        "%s (the admin token alone, on one line, in a file of mode 0600)",
                        local_error->message), FALSE;
  admin->session = soup_session_new_with_options ("timeout", 120, NULL);
  return TRUE;
}

static const char usage_error[] =
  "settle needs --date; statement --seller and --month; pool --seller, --value, --count and "
  "--out";

static const char exit_codes[] =
  "A pool's numbers and secrets are written grouped by 4 digits, to a new file (never over "
  "one).\n"
  "Exit status: 0 done; 2 a usage error, or the gateway refused an argument (4xx);\n"
  "1 any other failure (the gateway, the network, a file or stdout that cannot be written).";

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
  g_autofree char *key = NULL;
  g_autofree char *value_text = NULL;
  g_autofree char *count_text = NULL;
  gint64 value = 0, count = 0;
  GOptionEntry entries[] = {
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir, "The gateway's data dir", "DIR" },
    { "url", 0, 0, G_OPTION_ARG_STRING, &url, "The gateway's URL", "URL" },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file, "The admin token's file", "FILE" },
    { "date", 0, 0, G_OPTION_ARG_STRING, &date, "settle: the day, YYYY-MM-DD", "DATE" },
    { "month", 0, 0, G_OPTION_ARG_STRING, &month, "statement: the month, YYYY-MM", "MONTH" },
    { "seller", 0, 0, G_OPTION_ARG_STRING, &seller, "statement, pool: the seller", "MERCHANT" },
    { "kind", 0, 0, G_OPTION_ARG_STRING, &kind, "pool: operator (default) or agent", "KIND" },
    { "value", 0, 0, G_OPTION_ARG_STRING, &value_text, "pool: the cards' value, in decimal",
      "WON" },
    { "count", 0, 0, G_OPTION_ARG_STRING, &count_text, "pool: how many, in decimal", "N" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Where to write (a dir for settle)", "PATH" },
    { "idempotency-key", 0, 0, G_OPTION_ARG_STRING, &key,
      "pool, settle: the key of an earlier run, to get its answer again", "KEY" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("settle|statement|pool - onepin's "
                                                            "operator files");
  g_autoptr(GError) error = NULL;
  const char *command;
  gboolean ok;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context, exit_codes);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      g_printerr ("onepin-admin: %s\n", error ? error->message : "give settle, statement or pool");
      return 2;
    }
  command = argv[1];
  if ((value_text != NULL && !parse_positive ("value", value_text, &value, &error)) ||
      (count_text != NULL && !parse_positive ("count", count_text, &count, &error)))
    {
      g_printerr ("onepin-admin: %s\n", error->message);
      return 2;
    }
  if (!(g_str_equal (command, "settle") && date != NULL) &&
      !(g_str_equal (command, "statement") && seller != NULL && month != NULL) &&
      !(g_str_equal (command, "pool") && seller != NULL && value > 0 && count > 0 && out))
    {
      g_printerr ("onepin-admin: %s\n", usage_error);
      return 2;
    }
  if (key == NULL)
    key = onepin_crypto_random_token ("admin_", 16);
  if (!connect_admin (&admin, data_dir, url, token_file, &error))
    ok = FALSE;
  else if (g_str_equal (command, "settle"))
    ok = settle (&admin, date, out ? out : ".", key, &error);
  else if (g_str_equal (command, "statement"))
    ok = statement (&admin, seller, month, out, &error);
  else
    ok = pool (&admin, seller, kind ? kind : "operator", value, count, out, key, &error);
  if (ok && fflush (stdout) != 0)
    ok = (g_set_error (&error, ADMIN_ERROR, ADMIN_ERROR_FAILED, "Cannot write to stdout: %s",
                       g_strerror (errno)), FALSE);
  if (!ok)
    {
      g_printerr ("onepin-admin: %s\n", error->message);
      return g_error_matches (error, ADMIN_ERROR, ADMIN_ERROR_USAGE) ? 2 : 1;
    }
  return 0;
}
