/* onepin-test-gateway.c: run the real onepin-gateway binary for a test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "onepin-test-gateway.h"
#include "onepin-test-process.h"

#include <signal.h>
#include <stdio.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#define OT_START_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define OT_STOP_TIMEOUT_US  (15 * G_USEC_PER_SEC)
#define OT_HTTP_TIMEOUT_S   30

struct _OtGateway
{
  OtProcess    process;        /* .log_path: DIR/gateway.log */
  char        *data_dir;
  char        *config_path;
  char        *ca_path;
  char        *url;
  char        *listen;         /* --listen: "127.0.0.1:0" unless ot_gateway_start_on */
  char        *admin_token;
  gboolean     tls;
  SoupSession *session;
};

static GMutex live_lock;
static GList *live_gateways;   /* of OtGateway*, running or with a data dir */
static gboolean atexit_installed;

/* ---- small helpers ------------------------------------------------------ */

G_GNUC_PRINTF (1, 2) static void
ot_fail (const char *format,
         ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
}

static void
kill_all_at_exit (void)
{
  GList *l;

  g_mutex_lock (&live_lock);
  for (l = live_gateways; l != NULL; l = l->next)
    {
      OtGateway *gw = l->data;

      if (gw->process.proc != NULL && g_subprocess_get_identifier (gw->process.proc) != NULL)
        g_subprocess_force_exit (gw->process.proc);
    }
  g_mutex_unlock (&live_lock);
}

static gboolean
run_quiet (const char * const *argv,
           const char         *cwd,
           GError            **error)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  if (!g_spawn_sync (cwd, (char **) argv, NULL, G_SPAWN_SEARCH_PATH,
                     NULL, NULL, &out, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "%s: %s: ", argv[0], err ? err : "");
      return FALSE;
    }
  return TRUE;
}

/* A CA and a server certificate for 127.0.0.1 / localhost, signed by it. */
gboolean
ot_ipv6_loopback (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);

  return socket != NULL && g_socket_bind (socket, address, FALSE, NULL);
}

void
ot_make_certificates (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *ext = g_build_filename (dir, "server.ext", NULL);
  const char *ca[] = {
    "openssl", "req", "-x509", "-newkey", "ec",
    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", "ca.key", "-out", "ca.pem", "-days", "3",
    "-subj", "/CN=onepin test CA",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    NULL
  };
  const char *csr[] = {
    "openssl", "req", "-new", "-newkey", "ec",
    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", "server.key", "-out", "server.csr",
    "-subj", "/CN=localhost", NULL
  };
  const char *sign[] = {
    "openssl", "x509", "-req", "-in", "server.csr",
    "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", "server.pem", "-days", "3", "-extfile", "server.ext", NULL
  };

  g_file_set_contents (ext,
                       "basicConstraints=CA:FALSE\n"
                       "keyUsage=critical,digitalSignature,keyEncipherment\n"
                       "extendedKeyUsage=serverAuth\n"
                       "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
                       -1, &error);
  g_assert_no_error (error);

  if (!run_quiet (ca, dir, &error) ||
      !run_quiet (csr, dir, &error) ||
      !run_quiet (sign, dir, &error))
    ot_fail ("generating test certificates with openssl failed: %s",
             error->message);
}

static void
make_certificates (OtGateway *gw)
{
  ot_make_certificates (gw->data_dir);
  gw->ca_path = g_build_filename (gw->data_dir, "ca.pem", NULL);
}

static void
write_config (OtGateway  *gw,
              const char *config)
{
  g_autoptr(GString) text = g_string_new ("# written by the onepin test harness\n");
  g_autoptr(GError) error = NULL;
  const char *http_threads = g_getenv ("ONEPIN_TEST_HTTP_THREADS");

  /* Suites run a second time with HTTP on I/O threads (tests/integration/
   * meson.build); first, so that a test's own setting wins. */
  if (http_threads != NULL)
    g_string_append_printf (text, "[gateway]\nhttp_threads=%s\n", http_threads);
  if (config != NULL)
    {
      g_string_append (text, config);
      g_string_append_c (text, '\n');
    }
  if (gw->tls)
    {
      g_autofree char *cert = g_build_filename (gw->data_dir, "server.pem", NULL);
      g_autofree char *key = g_build_filename (gw->data_dir, "server.key", NULL);

      g_string_append_printf (text, "\n[tls]\ncertificate=%s\nkey=%s\n",
                              cert, key);
    }

  gw->config_path = g_build_filename (gw->data_dir, "gateway.conf", NULL);
  g_file_set_contents (gw->config_path, text->str, text->len, &error);
  g_assert_no_error (error);
}

static char *
read_trimmed (const char *path)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return g_strstrip (g_steal_pointer (&contents));
}

static void
spawn_and_wait_ready (OtGateway *gw)
{
  const char *argv[] = { g_getenv ("ONEPIN_GATEWAY"), "--data-dir", gw->data_dir,
                         "--listen", gw->listen, "--config", gw->config_path, NULL };
  const char *asan = g_getenv ("ASAN_OPTIONS");
  g_autofree char *no_leaks = g_strconcat ("ASAN_OPTIONS=", asan ? asan : "", asan ? ":" : "",
                                           "detect_leaks=0", NULL);
  const char *env[] = { no_leaks, NULL };
  g_autofree char *token_path = NULL;
  /* "127.0.0.1:0" listens at "http://127.0.0.1:PORT", "[::1]:0" at "http://[::1]:PORT". */
  g_autofree char *host = g_strndup (gw->listen, strlen (gw->listen) - 1);
  g_autofree char *expected = g_strconcat (gw->tls ? "https://" : "http://", host, NULL);

  /* LeakSanitizer's exit-time scan crashes ("Tracer caught signal 11")
   * walking the dynamic TLS of glib-networking's GnuTLS module, which only
   * an HTTPS gateway loads. Every other test runs the same gateway code
   * over HTTP with leak detection on; ASan's other checks stay on here. */
  ot_process_spawn (&gw->process, argv, gw->tls ? env : NULL);
  g_clear_pointer (&gw->url, g_free);
  gw->url = ot_process_wait_listening (&gw->process);
  if (!g_str_has_prefix (gw->url, expected))
    ot_process_fail (&gw->process, "unexpected listening URL \"%s\" (tls: %d)", gw->url,
                     gw->tls);

  token_path = g_build_filename (gw->data_dir, "admin.token", NULL);
  g_clear_pointer (&gw->admin_token, g_free);
  gw->admin_token = read_trimmed (token_path);
  if (gw->admin_token == NULL || *gw->admin_token == '\0')
    ot_process_fail (&gw->process, "%s is missing or empty once the gateway listens",
                     token_path);
}

/* ---- lifecycle ---------------------------------------------------------- */

static OtGateway *
gateway_start (const char *config,
               gboolean    tls,
               const char *listen)
{
  OtGateway *gw = g_new0 (OtGateway, 1);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_str_has_suffix (listen, ":0"));
  gw->tls = tls;
  gw->listen = g_strdup (listen);
  gw->data_dir = g_dir_make_tmp ("onepin-test-XXXXXX", &error);
  g_assert_no_error (error);
  gw->process.name = "onepin-gateway";
  gw->process.log_path = g_build_filename (gw->data_dir, "gateway.log", NULL);

  if (tls)
    make_certificates (gw);
  write_config (gw, config);

  gw->session = soup_session_new_with_options ("timeout", OT_HTTP_TIMEOUT_S,
                                               "max-conns", 128,
                                               "max-conns-per-host", 128,
                                               "user-agent", "onepin-test/1",
                                               NULL);
  if (tls)
    {
      g_autoptr(GTlsDatabase) db = g_tls_file_database_new (gw->ca_path, &error);

      g_assert_no_error (error);
      soup_session_set_tls_database (gw->session, db);
    }

  g_mutex_lock (&live_lock);
  live_gateways = g_list_prepend (live_gateways, gw);
  if (!atexit_installed)
    {
      atexit (kill_all_at_exit);
      atexit_installed = TRUE;
    }
  g_mutex_unlock (&live_lock);

  spawn_and_wait_ready (gw);
  g_test_message ("gateway %s, data dir %s", gw->url, gw->data_dir);
  return gw;
}

OtGateway *
ot_gateway_start (const char *config,
                  gboolean    tls)
{
  return gateway_start (config, tls, "127.0.0.1:0");
}

OtGateway *
ot_gateway_start_on (const char *config,
                     const char *listen)
{
  return gateway_start (config, FALSE, listen);
}

void
ot_gateway_terminate (OtGateway *gw,
                      int        signum)
{
  g_assert_nonnull (gw->process.proc);
  g_subprocess_send_signal (gw->process.proc, signum);
  ot_process_wait_exit (&gw->process, TRUE);
}

void
ot_gateway_stop (OtGateway *gw)
{
  if (gw == NULL)
    return;

  if (gw->process.proc != NULL)
    ot_gateway_terminate (gw, SIGTERM);

  g_mutex_lock (&live_lock);
  live_gateways = g_list_remove (live_gateways, gw);
  g_mutex_unlock (&live_lock);

  soup_session_abort (gw->session);
  g_clear_object (&gw->session);
  ot_rm_rf (gw->data_dir);
  g_free (gw->data_dir);
  g_free (gw->config_path);
  g_free (gw->process.log_path);
  g_free (gw->ca_path);
  g_free (gw->url);
  g_free (gw->listen);
  g_free (gw->admin_token);
  g_free (gw);
}

void
ot_gateway_kill (OtGateway *gw)
{
  g_assert_nonnull (gw->process.proc);
  g_subprocess_force_exit (gw->process.proc);
  ot_process_wait_exit (&gw->process, FALSE);
  soup_session_abort (gw->session);
}

void
ot_gateway_restart (OtGateway *gw)
{
  g_assert_null (gw->process.proc);
  soup_session_abort (gw->session);
  spawn_and_wait_ready (gw);
  g_test_message ("gateway restarted at %s", gw->url);
}

const char *
ot_gateway_url (OtGateway *gw)
{
  return gw->url;
}

const char *
ot_gateway_admin_token (OtGateway *gw)
{
  return gw->admin_token;
}

const char *
ot_gateway_data_dir (OtGateway *gw)
{
  return gw->data_dir;
}

gboolean
ot_gateway_database_holds (OtGateway  *gw,
                           const char *needle)
{
  const char *names[] = { "onepin.db", "onepin.db-wal" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (gw->data_dir, names[i], NULL);
      g_autofree char *data = NULL;
      gsize len = 0;

      if (g_file_get_contents (path, &data, &len, NULL) &&
          memmem (data, len, needle, strlen (needle)) != NULL)
        return TRUE;
    }
  return FALSE;
}

void
ot_gateway_exec_sql (OtGateway  *gw,
                     const char *sql)
{
  g_autofree char *path = g_build_filename (gw->data_dir, "onepin.db", NULL);

  ot_sqlite_exec (path, sql);
}

void
ot_sqlite_exec (const char *path,
                const char *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 10000);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

gint64
ot_gateway_query_int (OtGateway  *gw,
                      const char *sql)
{
  g_autofree char *path = g_build_filename (gw->data_dir, "onepin.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 10000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

const char *
ot_gateway_log_path (OtGateway *gw)
{
  return gw->process.log_path;
}

const char *
ot_gateway_ca_path (OtGateway *gw)
{
  return gw->ca_path;
}

GPid
ot_gateway_pid (OtGateway *gw)
{
  const char *id;

  if (gw->process.proc == NULL)
    return 0;
  id = g_subprocess_get_identifier (gw->process.proc);
  return id != NULL ? (GPid) g_ascii_strtoll (id, NULL, 10) : 0;
}

/* ---- requests ----------------------------------------------------------- */

OtResponse *
ot_http_send (SoupSession  *session,
              const char   *uri,
              const char   *method,
              const char   *bearer,
              const char   *idempotency_key,
              const char   *body,
              gsize         len,
              GError      **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  SoupMessageHeaders *headers;

  msg = soup_message_new (method, uri);
  if (msg == NULL)
    ot_fail ("invalid request URI %s", uri);

  headers = soup_message_get_request_headers (msg);
  if (bearer != NULL)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", bearer, NULL);

      soup_message_headers_replace (headers, "Authorization", auth);
    }
  if (idempotency_key != NULL)
    soup_message_headers_replace (headers, "Idempotency-Key", idempotency_key);
  if (body != NULL)
    {
      g_autoptr(GBytes) req = g_bytes_new (body, len);

      soup_message_set_request_body_from_bytes (msg,
                                                "application/json; charset=utf-8",
                                                req);
    }

  return ot_http_exchange (session, msg, error);
}

OtResponse *
ot_http_exchange (SoupSession  *session,
                  SoupMessage  *msg,
                  GError      **error)
{
  g_autoptr(GBytes) bytes = NULL;
  OtResponse *r;
  gsize size = 0;
  const char *data;

  bytes = soup_session_send_and_read (session, msg, NULL, error);
  if (bytes == NULL)
    return NULL;

  r = g_new0 (OtResponse, 1);
  r->status = soup_message_get_status (msg);
  r->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  data = g_bytes_get_data (bytes, &size);
  r->body = g_malloc (size + 1);
  if (size > 0)
    memcpy (r->body, data, size);
  r->body[size] = '\0';
  r->body_len = size;

  if (size > 0)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (json_parser_load_from_data (parser, r->body, size, NULL) &&
          json_parser_get_root (parser) != NULL)
        r->json = json_node_copy (json_parser_get_root (parser));
    }

  return r;
}

OtResponse *
ot_request_raw (OtGateway  *gw,
                const char *method,
                const char *path,
                const char *bearer,
                const char *idempotency_key,
                const char *body,
                gsize       len)
{
  g_autofree char *uri = g_strconcat (gw->url, path, NULL);
  g_autoptr(GError) error = NULL;
  OtResponse *r = ot_http_send (gw->session, uri, method, bearer, idempotency_key, body, len,
                                &error);

  if (r == NULL)
    {
      g_autofree char *tail = ot_file_tail (gw->process.log_path, 2000);

      ot_fail ("%s %s failed: %s; gateway log %s:\n%s", method, path,
               error->message, gw->process.log_path, tail);
    }
  return r;
}

OtResponse *
ot_request (OtGateway  *gw,
            const char *method,
            const char *path,
            const char *bearer,
            const char *idempotency_key,
            const char *body)
{
  return ot_request_raw (gw, method, path, bearer, idempotency_key,
                         body, body != NULL ? strlen (body) : 0);
}

void
ot_reply_json (SoupServerMessage *msg,
               guint              status,
               const char        *body)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body,
                                    strlen (body));
}

void
ot_response_free (OtResponse *r)
{
  if (r == NULL)
    return;
  g_free (r->body);
  g_clear_pointer (&r->json, json_node_unref);
  g_clear_pointer (&r->headers, soup_message_headers_unref);
  g_free (r);
}

JsonObject *
ot_response_object (OtResponse *r)
{
  if (r->json == NULL || !JSON_NODE_HOLDS_OBJECT (r->json))
    ot_fail ("HTTP %u: the body is not a JSON object: %.2000s",
             r->status, r->body);
  return json_node_get_object (r->json);
}

const char *
ot_response_header (OtResponse *r,
                    const char *name)
{
  return soup_message_headers_get_one (r->headers, name);
}

typedef struct
{
  OtGateway  *gw;
  const char *method;
  const char *bearer;
  const char *key;
  GMutex      lock;
  GCond       cond;
  gboolean    go;
} ParallelShared;

typedef struct
{
  ParallelShared *shared;
  const char     *path;
  const char     *body;
  OtResponse     *response;
} ParallelJob;

static gpointer
parallel_thread (gpointer data)
{
  ParallelJob *job = data;
  ParallelShared *s = job->shared;

  g_mutex_lock (&s->lock);
  while (!s->go)
    g_cond_wait (&s->cond, &s->lock);
  g_mutex_unlock (&s->lock);

  job->response = ot_request (s->gw, s->method, job->path, s->bearer, s->key, job->body);
  return NULL;
}

static GPtrArray *
request_parallel (OtGateway         *gw,
                  guint              n,
                  const char        *method,
                  const char        *path,
                  const char        *bearer,
                  const char        *idempotency_key,
                  const char        *body,
                  const char *const *paths,
                  const char *const *bodies)
{
  ParallelShared s = { gw, method, bearer, idempotency_key };
  g_autofree ParallelJob *jobs = g_new0 (ParallelJob, n);
  g_autofree GThread **threads = g_new0 (GThread *, n);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) ot_response_free);
  guint i;

  g_mutex_init (&s.lock);
  g_cond_init (&s.cond);
  for (i = 0; i < n; i++)
    {
      jobs[i].shared = &s;
      jobs[i].path = paths ? paths[i] : path;
      jobs[i].body = bodies ? bodies[i] : body;
      threads[i] = g_thread_new ("ot-parallel", parallel_thread, &jobs[i]);
    }
  g_usleep (50 * 1000);
  g_mutex_lock (&s.lock);
  s.go = TRUE;
  g_cond_broadcast (&s.cond);
  g_mutex_unlock (&s.lock);

  for (i = 0; i < n; i++)
    {
      g_thread_join (threads[i]);
      g_ptr_array_add (out, jobs[i].response);
    }
  g_mutex_clear (&s.lock);
  g_cond_clear (&s.cond);
  return out;
}

GPtrArray *
ot_request_parallel (OtGateway  *gw,
                     guint       n,
                     const char *method,
                     const char *path,
                     const char *bearer,
                     const char *idempotency_key,
                     const char *body)
{
  return request_parallel (gw, n, method, path, bearer, idempotency_key, body, NULL, NULL);
}

GPtrArray *
ot_request_parallel_each (OtGateway         *gw,
                          const char        *method,
                          const char        *bearer,
                          const char *const *paths,
                          const char *const *bodies)
{
  return request_parallel (gw, g_strv_length ((char **) paths), method, NULL, bearer, NULL,
                           NULL, paths, bodies);
}

/* ---- assertions --------------------------------------------------------- */

static gboolean
type_matches_status (const char *type,
                     guint       status)
{
  if (g_str_equal (type, "invalid_request_error"))
    return status == 400 || status == 404 || status == 409;
  if (g_str_equal (type, "authentication_error"))
    return status == 401;
  if (g_str_equal (type, "card_error"))
    return status == 402;
  if (g_str_equal (type, "idempotency_error"))
    return status == 409 || status == 422;
  if (g_str_equal (type, "rate_limit_error"))
    return status == 429;
  if (g_str_equal (type, "api_error"))
    return status >= 500 && status < 600;
  return FALSE;
}

void
ot_assert_error (OtResponse *r,
                 guint       status,
                 const char *type,
                 const char *code)
{
  static const char * const allowed[] = {
    "type", "code", "decline_code", "message", "param", NULL
  };
  JsonObject *root;
  JsonObject *err;
  JsonNode *node;
  g_autoptr(GList) members = NULL;
  const char *content_type;
  const char *got_type;
  const char *message;
  GList *l;

  if (r->status != status)
    ot_fail ("expected HTTP %u %s/%s, got %u: %.2000s", status, type,
             code ? code : "*", r->status, r->body);

  content_type = ot_response_header (r, "Content-Type");
  if (content_type == NULL || !g_str_has_prefix (content_type, "application/json"))
    ot_fail ("error response with Content-Type %s", content_type ? content_type : "(none)");

  root = ot_response_object (r);
  if (json_object_get_size (root) != 1 || !json_object_has_member (root, "error"))
    ot_fail ("an error body must be {\"error\": {...}} only: %s", r->body);
  node = json_object_get_member (root, "error");
  if (!JSON_NODE_HOLDS_OBJECT (node))
    ot_fail ("\"error\" is not an object: %s", r->body);
  err = json_node_get_object (node);

  members = json_object_get_members (err);
  for (l = members; l != NULL; l = l->next)
    {
      JsonNode *m = json_object_get_member (err, l->data);

      if (!g_strv_contains (allowed, l->data))
        ot_fail ("unexpected member \"%s\" in the error object: %s",
                 (const char *) l->data, r->body);
      if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_STRING)
        ot_fail ("error member \"%s\" is not a string: %s",
                 (const char *) l->data, r->body);
    }

  if (!json_object_has_member (err, "type"))
    ot_fail ("error object without a type: %s", r->body);
  got_type = json_object_get_string_member (err, "type");
  if (!type_matches_status (got_type, r->status))
    ot_fail ("error type %s does not go with status %u: %s", got_type,
             r->status, r->body);
  if (!g_str_equal (got_type, type))
    ot_fail ("expected error type %s, got %s: %s", type, got_type, r->body);

  message = json_object_has_member (err, "message")
              ? json_object_get_string_member (err, "message") : NULL;
  if (message == NULL || *message == '\0')
    ot_fail ("error object without a message: %s", r->body);

  if (g_str_equal (type, "card_error"))
    {
      const char *decline;

      if (!json_object_has_member (err, "decline_code"))
        ot_fail ("card_error without a decline_code: %s", r->body);
      decline = json_object_get_string_member (err, "decline_code");
      if (code != NULL && g_strcmp0 (decline, code) != 0)
        ot_fail ("expected decline_code %s, got %s: %s", code, decline, r->body);
    }
  else
    {
      if (json_object_has_member (err, "decline_code"))
        ot_fail ("decline_code outside a card_error: %s", r->body);
      if (code != NULL)
        {
          const char *got = json_object_has_member (err, "code")
                              ? json_object_get_string_member (err, "code") : NULL;

          if (g_strcmp0 (got, code) != 0)
            ot_fail ("expected code %s, got %s: %s", code,
                     got ? got : "(none)", r->body);
        }
    }
}

JsonObject *
ot_assert_audit_balanced (OtGateway *gw)
{
  g_autoptr(OtResponse) r = ot_request (gw, "GET", "/v1/admin/audit",
                                        gw->admin_token, NULL, NULL);
  JsonObject *o;
  gint64 debits, credits, cards, holds;

  ot_assert_status (r, 200);
  o = ot_response_object (r);
  if (!ot_json_bool (o, "balanced"))
    ot_fail ("the audit is not balanced: %s", r->body);
  debits = ot_json_int (o, "total_debits");
  credits = ot_json_int (o, "total_credits");
  cards = ot_json_int (o, "cards_balance_total");
  holds = ot_json_int (o, "pending_holds_total");
  if (debits != credits)
    ot_fail ("balanced, yet total_debits != total_credits: %s", r->body);
  if (holds < 0 || cards < 0 || holds > cards)
    ot_fail ("inconsistent audit totals: %s", r->body);

  return json_object_ref (o);
}

/* ---- JSON accessors ----------------------------------------------------- */

static JsonNode *
member_or_fail (JsonObject *object,
                const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  if (node == NULL)
    {
      g_autoptr(JsonNode) root = json_node_init_object (json_node_alloc (), object);
      g_autofree char *text = object ? json_to_string (root, FALSE) : g_strdup ("(null)");

      ot_fail ("missing member \"%s\" in %s", member, text);
    }
  return node;
}

static void
type_fail (JsonObject *object,
           const char *member,
           const char *want)
{
  g_autoptr(JsonNode) root = json_node_init_object (json_node_alloc (), object);
  g_autofree char *text = json_to_string (root, FALSE);

  ot_fail ("member \"%s\" is not %s in %s", member, want, text);
}

gint64
ot_json_int (JsonObject *object,
             const char *member)
{
  JsonNode *node = member_or_fail (object, member);

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    type_fail (object, member, "an integer");
  return json_node_get_int (node);
}

const char *
ot_json_string (JsonObject *object,
                const char *member)
{
  JsonNode *node = member_or_fail (object, member);

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    type_fail (object, member, "a string");
  return json_node_get_string (node);
}

gboolean
ot_json_bool (JsonObject *object,
              const char *member)
{
  JsonNode *node = member_or_fail (object, member);

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    type_fail (object, member, "a boolean");
  return json_node_get_boolean (node);
}

JsonObject *
ot_json_object (JsonObject *object,
                const char *member)
{
  JsonNode *node = member_or_fail (object, member);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    type_fail (object, member, "an object");
  return json_node_get_object (node);
}

JsonArray *
ot_json_array (JsonObject *object,
               const char *member)
{
  JsonNode *node = member_or_fail (object, member);

  if (!JSON_NODE_HOLDS_ARRAY (node))
    type_fail (object, member, "an array");
  return json_node_get_array (node);
}

/* ---- card numbers ------------------------------------------------------- */

gboolean
ot_luhn_valid (const char *number)
{
  gsize len = strlen (number);
  guint sum = 0;
  gsize i;

  if (len == 0)
    return FALSE;
  for (i = 0; i < len; i++)
    {
      char c = number[len - 1 - i];
      guint d;

      if (!g_ascii_isdigit (c))
        return FALSE;
      d = c - '0';
      if (i % 2 == 1)
        {
          d *= 2;
          if (d > 9)
            d -= 9;
        }
      sum += d;
    }
  return sum % 10 == 0;
}

char *
ot_random_card_number (const char *prefix)
{
  char digits[17] = { 0 };
  gsize plen = strlen (prefix);
  guint sum = 0;
  gsize i;

  g_assert_cmpuint (plen, <, 16);
  memcpy (digits, prefix, plen);
  for (i = plen; i < 15; i++)
    digits[i] = '0' + g_random_int_range (0, 10);

  /* the check digit is position 0 from the right; the payload's last digit
   * (position 1) is doubled */
  for (i = 0; i < 15; i++)
    {
      guint d = digits[14 - i] - '0';

      if (i % 2 == 0)
        {
          d *= 2;
          if (d > 9)
            d -= 9;
        }
      sum += d;
    }
  digits[15] = '0' + (10 - sum % 10) % 10;
  g_assert_true (ot_luhn_valid (digits));
  return g_strdup (digits);
}

/* ---- conveniences ------------------------------------------------------- */

char *
ot_create_merchant (OtGateway  *gw,
                    const char *name,
                    char      **secret_key)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;
  g_autoptr(OtResponse) r = NULL;
  JsonObject *o;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "category");
  json_builder_add_string_value (b, "shopping");
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  body = json_to_string (root, FALSE);

  r = ot_request (gw, "POST", "/v1/admin/merchants", gw->admin_token, NULL, body);
  ot_assert_status (r, 200);
  o = ot_response_object (r);
  if (secret_key != NULL)
    *secret_key = g_strdup (ot_json_string (o, "secret_key"));
  return g_strdup (ot_json_string (o, "id"));
}

GPtrArray *
ot_issue_cards (OtGateway *gw,
                guint      count,
                gint64     value)
{
  g_autofree char *body = g_strdup_printf ("{\"count\": %u, \"value\": %" G_GINT64_FORMAT
                                           ", \"currency\": \"krw\", \"channel\": \"online\"}",
                                           count, value);
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/admin/card_batches",
                                        gw->admin_token, NULL, body);
  GPtrArray *cards = g_ptr_array_new_with_free_func ((GDestroyNotify) ot_card_free);
  JsonArray *array;
  guint i;

  ot_assert_status (r, 200);
  array = ot_json_array (ot_response_object (r), "cards");
  g_assert_cmpuint (json_array_get_length (array), ==, count);
  for (i = 0; i < count; i++)
    {
      JsonObject *c = json_array_get_object_element (array, i);
      OtCard *card = g_new0 (OtCard, 1);

      g_assert_nonnull (c);
      card->id = g_strdup (ot_json_string (c, "id"));
      card->number = g_strdup (ot_json_string (c, "number"));
      g_ptr_array_add (cards, card);
    }
  return cards;
}

void
ot_register_card (OtGateway  *gw,
                  const char *number,
                  const char *password)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;
  g_autoptr(OtResponse) r = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "number");
  json_builder_add_string_value (b, number);
  json_builder_set_member_name (b, "password");
  json_builder_add_string_value (b, password);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  body = json_to_string (root, FALSE);

  r = ot_request (gw, "POST", "/v1/cards/register", NULL, NULL, body);
  ot_assert_status (r, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (r), "state"), ==, "active");
}

void
ot_card_free (OtCard *card)
{
  if (card == NULL)
    return;
  g_free (card->id);
  g_free (card->number);
  g_free (card);
}

OtCard *
ot_new_card (OtGateway  *gw,
             gint64      value,
             const char *password)
{
  g_autoptr(GPtrArray) cards = ot_issue_cards (gw, 1, value);
  OtCard *card = g_ptr_array_steal_index (cards, 0);

  if (password != NULL)
    ot_register_card (gw, card->number, password);
  return card;
}

JsonObject *
ot_card_balance (OtGateway  *gw,
                 const char *number,
                 const char *password)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;
  g_autoptr(OtResponse) r = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "number");
  json_builder_add_string_value (b, number);
  json_builder_set_member_name (b, "password");
  json_builder_add_string_value (b, password);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  body = json_to_string (root, FALSE);

  r = ot_request (gw, "POST", "/v1/cards/balance", NULL, NULL, body);
  ot_assert_status (r, 200);
  return json_object_ref (ot_response_object (r));
}

JsonObject *
ot_pay (OtGateway  *gw,
        const char *secret_key,
        const char *number,
        const char *password,
        gint64      amount,
        gboolean    capture)
{
  g_autofree char *order = g_strdup_printf ("order-%08x", g_random_int ());

  return ot_pay_order (gw, secret_key, number, password, amount, capture, order);
}

JsonObject *
ot_pay_order (OtGateway  *gw,
              const char *secret_key,
              const char *number,
              const char *password,
              gint64      amount,
              gboolean    capture,
              const char *order_id)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;
  g_autoptr(OtResponse) r = NULL;
  JsonObject *o;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "card_number");
  json_builder_add_string_value (b, number);
  json_builder_set_member_name (b, "password");
  json_builder_add_string_value (b, password);
  json_builder_set_member_name (b, "amount");
  json_builder_add_int_value (b, amount);
  json_builder_set_member_name (b, "currency");
  json_builder_add_string_value (b, "krw");
  json_builder_set_member_name (b, "order_id");
  json_builder_add_string_value (b, order_id);
  json_builder_set_member_name (b, "capture");
  json_builder_add_boolean_value (b, capture);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  body = json_to_string (root, FALSE);

  r = ot_request (gw, "POST", "/v1/payments", secret_key, NULL, body);
  ot_assert_status (r, 200);
  o = ot_response_object (r);
  g_assert_cmpstr (ot_json_string (o, "status"), ==, capture ? "captured" : "authorized");
  return json_object_ref (o);
}

void
ot_assert_card_balance (OtGateway  *gw,
                        const char *number,
                        const char *password,
                        gint64      balance,
                        gint64      available)
{
  g_autoptr(JsonObject) o = ot_card_balance (gw, number, password);
  gint64 got_balance = ot_json_int (o, "balance");
  gint64 got_available = ot_json_int (o, "available");

  if (got_balance != balance || got_available != available)
    ot_fail ("card ...%s: expected balance %" G_GINT64_FORMAT " available %"
             G_GINT64_FORMAT ", got balance %" G_GINT64_FORMAT " available %"
             G_GINT64_FORMAT, number + strlen (number) - MIN (strlen (number), 4),
             balance, available, got_balance, got_available);
}

char *
ot_repeat (const char *unit,
           guint       n)
{
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < n; i++)
    g_string_append (s, unit);
  return g_string_free (s, FALSE);
}
