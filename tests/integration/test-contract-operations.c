/* test-contract-operations.c: HTTPS, signals, durability and metrics
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "onepin-test-gateway.h"
#include "onepin-test-process.h"

static OtGateway *gw;   /* HTTPS */

#define PW "ops-pass"

static char *
port_of (OtGateway *g)
{
  const char *url = ot_gateway_url (g);
  const char *colon = strrchr (url, ':');

  g_assert_nonnull (colon);
  return g_strdup (colon + 1);
}

static void
test_https_startup (void)
{
  g_autofree char *url_path = g_build_filename (ot_gateway_data_dir (gw), "gateway.url", NULL);
  g_autofree char *token_path = g_build_filename (ot_gateway_data_dir (gw), "admin.token", NULL);
  g_autofree char *url = NULL;
  g_autofree char *log = NULL;
  g_autofree char *line = NULL;
  GStatBuf st;

  g_assert_true (g_str_has_prefix (ot_gateway_url (gw), "https://127.0.0.1:"));
  g_assert_true (g_file_get_contents (url_path, &url, NULL, NULL));
  g_assert_cmpstr (g_strstrip (url), ==, ot_gateway_url (gw));
  g_assert_cmpint (g_stat (token_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (ot_gateway_log_path (gw), &log, NULL, NULL));
  line = g_strdup_printf ("listening on %s\n", ot_gateway_url (gw));
  g_assert_nonnull (strstr (log, line));
}

static void
keep_result (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Starts a gateway on the test gateway's certificate with the key file
 * @key_name of its data dir, written with @key_mode, which must make it
 * refuse to start; returns its stderr. */
static char *
https_refused (const char *key_name,
               int         key_mode)
{
  g_autofree char *dir = g_dir_make_tmp ("onepin-tls-XXXXXX", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *cert = g_build_filename (dir, "server.pem", NULL);
  g_autofree char *key = g_build_filename (dir, "server.key", NULL);
  g_autofree char *config = g_build_filename (dir, "gateway.conf", NULL);
  g_autofree char *url = g_build_filename (data, "gateway.url", NULL);
  g_autofree char *config_text = g_strdup_printf ("[gateway]\nlisten=127.0.0.1:0\n"
                                                  "[tls]\ncertificate=%s\nkey=%s\n", cert, key);
  g_autofree char *pem = NULL;
  g_autofree char *key_text = NULL;
  char *err = NULL;
  g_autofree char *from_cert = g_build_filename (ot_gateway_data_dir (gw), "server.pem", NULL);
  g_autofree char *from_key = g_build_filename (ot_gateway_data_dir (gw), key_name, NULL);
  const char *argv[] = { g_getenv ("ONEPIN_GATEWAY"), "--data-dir", data, "--config", config,
                         NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  gint64 deadline;

  g_assert_true (g_file_get_contents (from_cert, &pem, NULL, NULL));
  g_assert_true (g_file_get_contents (from_key, &key_text, NULL, NULL));
  g_assert_true (g_file_set_contents_full (cert, pem, -1, G_FILE_SET_CONTENTS_NONE, 0644, NULL));
  g_assert_true (g_file_set_contents_full (key, key_text, -1, G_FILE_SET_CONTENTS_NONE, key_mode,
                                           NULL));
  g_assert_true (g_file_set_contents (config, config_text, -1, NULL));
  proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                           &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, keep_result, &result);
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (10 * 1000), TRUE);
  if (result == NULL)
    {
      /* it started: stop it before failing */
      g_subprocess_send_signal (proc, SIGTERM);
      g_subprocess_wait (proc, NULL, NULL);
      ot_rm_rf (dir);
      g_error ("the gateway started with the key %s, mode %04o", key_name, (guint) key_mode);
    }
  g_assert_true (g_subprocess_communicate_utf8_finish (proc, result, NULL, &err, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), !=, 0);
  g_test_message ("%s", err);
  g_assert_false (g_file_test (url, G_FILE_TEST_EXISTS));
  ot_rm_rf (dir);
  return err;
}

/* The TLS private key is held to the rule of the gateway's own key files:
 * readable by others, it is refused and the gateway does not start. */
static void
test_https_key_mode (void)
{
  g_autofree char *err = https_refused ("server.key", 0644);

  g_assert_nonnull (strstr (err, "0644"));
  g_assert_nonnull (strstr (err, "0600"));
}

/* A key that is not the certificate's (here the CA's) would have every
 * handshake fail: the gateway refuses to start, naming the certificate. */
static void
test_https_key_mismatch (void)
{
  g_autofree char *err = https_refused ("ca.key", 0600);

  g_assert_nonnull (strstr (err, "The TLS key does not serve the certificate"));
  g_assert_nonnull (strstr (err, "server.pem"));
}

static void
test_https_payment (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "TLS Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 10000, PW);
  g_autoptr(OtResponse) h = ot_request (gw, "GET", "/healthz", NULL, NULL, NULL);
  g_autoptr(JsonObject) p = ot_pay (gw, secret, card->number, PW, 3000, FALSE);
  g_autofree char *cap = g_strdup_printf ("/v1/payments/%s/capture", ot_json_string (p, "id"));
  g_autoptr(OtResponse) c = ot_request (gw, "POST", cap, secret, NULL, "{\"amount\": 2000}");
  g_autofree char *rb = g_strdup_printf ("{\"payment\": \"%s\", \"amount\": 500}", ot_json_string (p, "id"));
  g_autoptr(OtResponse) r = ot_request (gw, "POST", "/v1/refunds", secret, NULL, rb);

  ot_assert_status (h, 200);
  ot_assert_status (c, 200);
  ot_assert_status (r, 200);
  ot_assert_card_balance (gw, card->number, PW, 8500, 8500);
  json_object_unref (ot_assert_audit_balanced (gw));
}

static void
test_https_only (void)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *port = port_of (gw);
  const char *req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  char buf[512] = { 0 };
  gssize n;

  g_socket_client_set_timeout (client, 5);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", g_ascii_strtoull (port, NULL, 10),
                                          NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                             req, strlen (req), NULL, NULL, NULL);
  n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)),
                           buf, sizeof buf - 1, NULL, NULL);
  /* no plain-HTTP answer from the API: a closed connection, a TLS alert or
   * at most an HTTP error, never the health document */
  if (n > 0)
    {
      g_test_message ("plain HTTP got %" G_GSSIZE_FORMAT " bytes", n);
      g_assert_null (strstr (buf, "\"ok\""));
      g_assert_false (g_str_has_prefix (buf, "HTTP/1.1 200"));
      g_assert_false (g_str_has_prefix (buf, "HTTP/1.0 200"));
    }
}

static gboolean
openssl_has_option (const char *option)
{
  const char *argv[] = { "openssl", "s_client", "-help", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     &out, &err, NULL, NULL))
    return FALSE;
  return (out && strstr (out, option)) || (err && strstr (err, option));
}

static int
s_client (OtGateway  *on,
          const char *version,
          char      **output)
{
  g_autofree char *port = port_of (on);
  g_autofree char *connect = g_strdup_printf ("127.0.0.1:%s", port);
  const char *argv[] = { "openssl", "s_client", "-connect", connect, "-servername", "localhost",
                         "-CAfile", ot_gateway_ca_path (on), "-verify_return_error",
                         version, "-cipher", "DEFAULT:@SECLEVEL=0", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_spawn_sync (NULL, (char **) argv, NULL,
                G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL,
                NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  *output = g_strconcat (out ? out : "", err ? err : "", NULL);
  return g_spawn_check_wait_status (status, NULL) ? 0 : 1;
}

/* TLS 1.2 works on @on, and 1.1 and 1.0 are refused. */
static void
assert_tls_floor (OtGateway *on)
{
  g_autofree char *out12 = NULL;
  g_autofree char *out11 = NULL;
  g_autofree char *out10 = NULL;

  /* the control: TLS 1.2 works with the same command line */
  if (s_client (on, "-tls1_2", &out12) != 0)
    g_error ("TLS 1.2 handshake failed:\n%s", out12);
  g_assert_nonnull (strstr (out12, "TLSv1.2"));

  if (s_client (on, "-tls1_1", &out11) == 0 &&
      strstr (out11, "Protocol  : TLSv1.1") != NULL)
    g_error ("the gateway accepted TLS 1.1:\n%s", out11);
  if (s_client (on, "-tls1", &out10) == 0 &&
      strstr (out10, "Protocol  : TLSv1\n") != NULL)
    g_error ("the gateway accepted TLS 1.0:\n%s", out10);
}

static void
test_tls_versions (void)
{
  if (!openssl_has_option ("-tls1_1"))
    {
      g_test_skip ("openssl s_client has no -tls1_1");
      return;
    }
  assert_tls_floor (gw);
}

/* An operator's G_TLS_GNUTLS_PRIORITY is kept, but cannot bring back the
 * versions below TLS 1.2. */
static void
test_tls_versions_inherited (void)
{
  OtGateway *g2 = NULL;

  if (!openssl_has_option ("-tls1_1"))
    {
      g_test_skip ("openssl s_client has no -tls1_1");
      return;
    }
  g_setenv ("G_TLS_GNUTLS_PRIORITY", "NORMAL:+VERS-TLS1.0:+VERS-TLS1.1", TRUE);
  g2 = ot_gateway_start (NULL, TRUE);
  g_unsetenv ("G_TLS_GNUTLS_PRIORITY");
  assert_tls_floor (g2);
  ot_gateway_stop (g2);
}

static gint64
metric_value (const char *text,
              const char *series)
{
  g_autofree char *needle = g_strconcat ("\n", series, " ", NULL);
  const char *p = strstr (text, needle);

  if (p == NULL)
    {
      if (g_str_has_prefix (text, series) && text[strlen (series)] == ' ')
        p = text - 1;
      else
        return -1;
    }
  p += strlen (needle);
  return (gint64) g_ascii_strtod (p, NULL);
}

static char *
get_metrics_of (OtGateway *g)
{
  g_autoptr(OtResponse) r = ot_request (g, "GET", "/metrics", NULL, NULL, NULL);
  const char *ct;

  ot_assert_status (r, 200);
  ct = ot_response_header (r, "Content-Type");
  g_assert_nonnull (ct);
  g_assert_true (g_str_has_prefix (ct, "text/plain"));
  return g_strdup (r->body);
}

static char *
get_metrics (void)
{
  return get_metrics_of (gw);
}

/* Every refused card credential (a wrong password, an unknown number, a
 * malformed one) is counted in the transaction that answers it: each waits
 * for a durable commit alike, so the time of the answer does not tell
 * whether a number exists, and the count survives a crash. */
static void
test_refusals_counted (void)
{
  OtGateway *g2 = ot_gateway_start (NULL, FALSE);
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (g2, "Refusal Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (g2, 5000, PW);
  g_autofree char *unknown = ot_random_card_number ("9410");
  const char *numbers[] = { card->number, unknown, "1234" };
  const char *series = "onepin_credential_failures_today";
  g_autofree char *after = NULL;
  gint64 to_midnight = 86400 - (g_get_real_time () / G_USEC_PER_SEC) % 86400;

  /* The count is by UTC day. */
  if (to_midnight < 20)
    g_usleep ((to_midnight + 1) * G_USEC_PER_SEC);
  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"%s\", "
                                               "\"amount\": 100, \"currency\": \"krw\", "
                                               "\"order_id\": \"r\", \"capture\": true}",
                                               numbers[i], i == 0 ? "wrong-pw" : PW);
      g_autoptr(OtResponse) r = ot_request (g2, "POST", "/v1/payments", secret, NULL, body);
      g_autofree char *text = NULL;

      ot_assert_error (r, 402, "card_error", "invalid_credentials");
      text = get_metrics_of (g2);
      g_assert_cmpint (metric_value (text, series), ==, i + 1);
    }
  ot_gateway_kill (g2);
  ot_gateway_restart (g2);
  after = get_metrics_of (g2);
  g_assert_cmpint (metric_value (after, series), ==, 3);
  ot_gateway_stop (g2);
}

static void
test_metrics (void)
{
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (gw, "Metrics Mall", &secret);
  g_autoptr(OtCard) card = ot_new_card (gw, 5000, PW);
  g_autofree char *before = get_metrics ();
  g_autofree char *after = NULL;
  g_autoptr(JsonObject) p = ot_pay (gw, secret, card->number, PW, 1000, TRUE);
  g_autofree char *body = g_strdup_printf ("{\"card_number\": \"%s\", \"password\": \"" PW "\", "
                                           "\"amount\": 9000, \"currency\": \"krw\", "
                                           "\"order_id\": \"m\", \"capture\": true}", card->number);
  g_autoptr(OtResponse) d = ot_request (gw, "POST", "/v1/payments", secret, NULL, body);
  const char *approved = "onepin_payments_approved_total";
  const char *declined = "onepin_payments_declined_total{code=\"insufficient_funds\"}";
  gint64 a0, a1, d0, d1;

  ot_assert_error (d, 402, "card_error", "insufficient_funds");
  after = get_metrics ();

  a0 = metric_value (before, approved);
  a1 = metric_value (after, approved);
  d0 = metric_value (before, declined);
  d1 = metric_value (after, declined);
  g_assert_cmpint (a1, ==, MAX (a0, 0) + 1);
  g_assert_cmpint (d1, ==, MAX (d0, 0) + 1);

  g_assert_nonnull (strstr (after, "onepin_http_requests_total{"));
  g_assert_nonnull (strstr (after, "route=\"/v1/payments\""));
  g_assert_cmpint (metric_value (after, "onepin_http_requests_total{route=\"/v1/payments\",status=\"200\"}"), >=, 1);
  g_assert_cmpint (metric_value (after, "onepin_http_requests_total{route=\"/v1/payments\",status=\"402\"}"), >=, 1);
  g_assert_nonnull (strstr (after, "# TYPE onepin_commit_batch_size histogram"));
  g_assert_nonnull (strstr (after, "onepin_commit_batch_size_bucket{le=\"+Inf\"}"));
  g_assert_nonnull (strstr (after, "onepin_commit_batch_size_count"));
  g_assert_nonnull (strstr (after, "# TYPE onepin_commit_seconds histogram"));
  g_assert_nonnull (strstr (after, "onepin_commit_seconds_sum"));
  g_assert_cmpint (metric_value (after, "onepin_commit_seconds_count"), >=, 1);
  /* no secrets in metrics */
  g_assert_null (strstr (after, card->number));
  g_assert_null (strstr (after, secret));
  json_object_unref (ot_assert_audit_balanced (gw));
}

static char *gateway_refuses_on (const char *data_dir,
                                 const char *listen,
                                 const char *config);

#define METRICS_TOKEN "mt_metrics-token-for-tests-0123456789"

/* A token file for [gateway] metrics_token_file in a new directory under
 * @dir, holding @text with @mode; returns its path. */
static char *
metrics_token_file (const char *dir,
                    const char *text,
                    int         mode)
{
  char *path = g_build_filename (dir, "metrics.token", NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return path;
}

/* That GET /metrics with @bearer (may be NULL) gets the counters (@allowed)
 * or 401 and nothing of them. */
static void
assert_metrics_read (OtGateway  *g,
                     const char *bearer,
                     gboolean    allowed)
{
  g_autoptr(OtResponse) r = ot_request (g, "GET", "/metrics", bearer, NULL, NULL);

  if (allowed)
    {
      ot_assert_status (r, 200);
      g_assert_nonnull (strstr (r->body, "onepin_http_requests_total"));
      return;
    }
  ot_assert_error (r, 401, "authentication_error", "unauthorized");
  g_assert_null (strstr (r->body, "onepin_"));
  g_assert_cmpstr (ot_response_header (r, "WWW-Authenticate"), ==, "Bearer realm=\"onepin\"");
}

/* A metrics_token_file that is not a secret file (readable by others,
 * missing, too short) stops the start, saying which key, never its text. */
static void
test_metrics_token_refused (void)
{
  static const struct { const char *text; int mode; } bad[] = {
    { METRICS_TOKEN, 0644 },
    { "short", 0600 },
    { "two words and more besides", 0600 },
  };
  g_autofree char *dir = g_dir_make_tmp ("onepin-metrics-XXXXXX", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *config = g_build_filename (dir, "gateway.conf", NULL);

  for (guint i = 0; i <= G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *path = NULL;
      g_autofree char *text = NULL;
      g_autofree char *err = NULL;

      /* The last round names a file that is not there. */
      if (i < G_N_ELEMENTS (bad))
        path = metrics_token_file (dir, bad[i].text, bad[i].mode);
      else
        path = g_build_filename (dir, "missing.token", NULL);
      text = g_strdup_printf ("[gateway]\nmetrics_token_file=%s\n", path);
      g_assert_true (g_file_set_contents (config, text, -1, NULL));
      err = gateway_refuses_on (data, "127.0.0.1:0", config);
      g_test_message ("%s", err);
      g_assert_nonnull (strstr (err, "[gateway] metrics_token_file: "));
      g_assert_null (strstr (err, METRICS_TOKEN));
      g_assert_null (strstr (err, "two words"));
      g_unlink (path);
    }
  ot_rm_rf (dir);
}

/* With a metrics token: this machine still reads the counters without
 * one, and with the right one; a credential sent is checked wherever it
 * comes from, so a wrong one or the admin token gets 401 (another scheme:
 * the unit test, /metrics/may-read).
 * /healthz stays open. Over HTTPS, and with the suite's HTTP threads. */
static void
test_metrics_token (void)
{
  g_autofree char *dir = g_dir_make_tmp ("onepin-metrics-XXXXXX", NULL);
  g_autofree char *path = metrics_token_file (dir, METRICS_TOKEN "\n", 0600);
  g_autofree char *config = g_strdup_printf ("[gateway]\nmetrics_token_file=%s\n"
                                             "access_log=true\n", path);
  OtGateway *g2 = ot_gateway_start (config, TRUE);
  g_autofree char *log = NULL;

  assert_metrics_read (g2, NULL, TRUE);
  assert_metrics_read (g2, METRICS_TOKEN, TRUE);
  assert_metrics_read (g2, "mt_metrics-token-for-tests-012345678", FALSE);
  assert_metrics_read (g2, METRICS_TOKEN "9", FALSE);
  assert_metrics_read (g2, ot_gateway_admin_token (g2), FALSE);
  {
    g_autoptr(OtResponse) healthz = ot_request (g2, "GET", "/healthz", "wrong-token", NULL,
                                                NULL);

    ot_assert_status (healthz, 200);
  }
  /* Without a token configured, a credential sent is wrong too. */
  assert_metrics_read (gw, NULL, TRUE);
  assert_metrics_read (gw, METRICS_TOKEN, FALSE);
  /* IPv6 loopback is this machine too. */
  if (ot_ipv6_loopback ())
    {
      OtGateway *g6 = ot_gateway_start_on (config, "[::1]:0");

      assert_metrics_read (g6, NULL, TRUE);
      assert_metrics_read (g6, METRICS_TOKEN, TRUE);
      assert_metrics_read (g6, "mt_another-token-0123456789", FALSE);
      ot_gateway_stop (g6);
    }
  else
    g_test_message ("no IPv6 loopback: [::1] not tried");
  g_assert_true (g_file_get_contents (ot_gateway_log_path (g2), &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "/metrics"));
  g_assert_null (strstr (log, METRICS_TOKEN));
  ot_gateway_stop (g2);
  ot_rm_rf (dir);
}

static void
test_content_type (void)
{
  g_autoptr(OtResponse) ok = ot_request (gw, "GET", "/healthz", NULL, NULL, NULL);
  g_autoptr(OtResponse) err = ot_request (gw, "GET", "/v1/admin/audit", NULL, NULL, NULL);
  g_autoptr(OtResponse) nf = ot_request (gw, "GET", "/v1/nothing-here", NULL, NULL, NULL);

  g_assert_cmpstr (ot_response_header (ok, "Content-Type"), ==, "application/json; charset=utf-8");
  g_assert_cmpstr (ot_response_header (err, "Content-Type"), ==, "application/json; charset=utf-8");
  ot_assert_error (err, 401, "authentication_error", "unauthorized");
  g_assert_cmpuint (nf->status, ==, 404);
  ot_assert_error (nf, 404, "invalid_request_error", NULL);
}

static void
test_signals_and_durability (void)
{
  OtGateway *g2 = ot_gateway_start (NULL, FALSE);
  g_autofree char *token = g_strdup (ot_gateway_admin_token (g2));
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (g2, "Durable Mall", &secret);
  g_autoptr(GPtrArray) cards = ot_issue_cards (g2, 1, 10000);
  OtCard *card = cards->pdata[0];
  g_autoptr(JsonObject) p1 = NULL;
  g_autoptr(JsonObject) p2 = NULL;
  g_autoptr(JsonObject) p3 = NULL;
  g_autofree char *path1 = NULL;
  g_autofree char *path2 = NULL;
  g_autofree char *path3 = NULL;

  ot_register_card (g2, card->number, PW);
  p1 = ot_pay (g2, secret, card->number, PW, 1000, TRUE);
  path1 = g_strdup_printf ("/v1/payments/%s", ot_json_string (p1, "id"));

  /* SIGTERM: a clean exit 0, nothing acknowledged lost */
  ot_gateway_terminate (g2, SIGTERM);
  ot_gateway_restart (g2);
  g_assert_cmpstr (ot_gateway_admin_token (g2), ==, token);
  {
    g_autoptr(OtResponse) r = ot_request (g2, "GET", path1, secret, NULL, NULL);

    ot_assert_status (r, 200);
    g_assert_cmpstr (ot_json_string (ot_response_object (r), "status"), ==, "captured");
  }
  ot_assert_card_balance (g2, card->number, PW, 9000, 9000);

  /* SIGINT too */
  p2 = ot_pay (g2, secret, card->number, PW, 2000, FALSE);
  path2 = g_strdup_printf ("/v1/payments/%s", ot_json_string (p2, "id"));
  ot_gateway_terminate (g2, SIGINT);
  ot_gateway_restart (g2);
  {
    g_autoptr(OtResponse) r = ot_request (g2, "GET", path2, secret, NULL, NULL);

    ot_assert_status (r, 200);
    g_assert_cmpstr (ot_json_string (ot_response_object (r), "status"), ==, "authorized");
  }
  ot_assert_card_balance (g2, card->number, PW, 9000, 7000);

  /* SIGKILL right after a 200: the effect is durable */
  p3 = ot_pay (g2, secret, card->number, PW, 500, TRUE);
  ot_gateway_kill (g2);
  ot_gateway_restart (g2);
  path3 = g_strdup_printf ("/v1/payments/%s", ot_json_string (p3, "id"));
  {
    g_autoptr(OtResponse) r = ot_request (g2, "GET", path3, secret, NULL, NULL);

    ot_assert_status (r, 200);
  }
  ot_assert_card_balance (g2, card->number, PW, 8500, 6500);
  json_object_unref (ot_assert_audit_balanced (g2));
  ot_gateway_stop (g2);
}

static void
assert_modes (OtGateway         *g2,
              const char *const *expected,
              guint              n_expected)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;
  guint found = 0;

  dir = g_dir_open (ot_gateway_data_dir (g2), 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (ot_gateway_data_dir (g2), name, NULL);
      GStatBuf st;

      if (g_str_equal (name, "gateway.conf") || g_str_equal (name, "gateway.log"))
        continue;
      g_assert_cmpint (g_lstat (path, &st), ==, 0);
      g_test_message ("%s: %o", name, (guint) (st.st_mode & 07777));
      g_assert_true (S_ISREG (st.st_mode));
      g_assert_cmpint (st.st_mode & 07777, ==, 0600);
      found += g_strv_contains ((const char * const *) expected, name);
    }
  g_assert_cmpuint (found, ==, n_expected);
}

/* Every file the gateway makes in its data dir is its owner's alone, whatever
 * the umask it was started with: the database and its WAL and shared memory
 * (card data, sealed or keyed, and every payment), the keys, the token, the
 * URL. gateway.conf and gateway.log are the harness's, not the gateway's. */
static void
test_data_dir_modes (void)
{
  const char *expected[] = { "onepin.db", "onepin.db-wal", "onepin.db-shm", "secret.key",
                             "admin.token", "gateway.url" };
  mode_t umask_before = umask (022);
  OtGateway *g2 = ot_gateway_start (NULL, FALSE);
  g_autofree char *secret = NULL;
  g_autofree char *mch = NULL;
  g_autoptr(OtCard) card = NULL;
  g_autoptr(JsonObject) paid = NULL;

  umask (umask_before);
  mch = ot_create_merchant (g2, "Modes Mall", &secret);
  card = ot_new_card (g2, 10000, PW);
  paid = ot_pay (g2, secret, card->number, PW, 1000, TRUE);
  assert_modes (g2, expected, G_N_ELEMENTS (expected));

  /* A data dir an older version left readable: closed off on start. */
  ot_gateway_terminate (g2, SIGTERM);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *path = g_build_filename (ot_gateway_data_dir (g2), expected[i], NULL);

      if (g_file_test (path, G_FILE_TEST_EXISTS))
        g_assert_cmpint (g_chmod (path, 0644), ==, 0);
    }
  ot_gateway_restart (g2);
  {
    g_autoptr(JsonObject) again = ot_pay (g2, secret, card->number, PW, 1000, TRUE);

    assert_modes (g2, expected, G_N_ELEMENTS (expected));
  }
  ot_gateway_stop (g2);
}

/* Runs the gateway on @data_dir and @listen (with @config, a file, if not
 * NULL), which must make it refuse to start within 10 s; returns its
 * stderr. */
static char *
gateway_refuses_on (const char *data_dir,
                    const char *listen,
                    const char *config)
{
  const char *argv[] = { "timeout", "10", g_getenv ("ONEPIN_GATEWAY"), "--data-dir", data_dir,
                         "--listen", listen, config ? "--config" : NULL, config, NULL };
  g_autoptr(GError) error = NULL;
  char *err = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               NULL, &err, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), !=, 124);   /* it started: it should not have */
  g_assert_cmpint (WEXITSTATUS (status), !=, 0);
  return err;
}

static char *
gateway_refuses (const char *data_dir)
{
  return gateway_refuses_on (data_dir, "127.0.0.1:0", NULL);
}

/* A second gateway cannot take a port the first listens on, with HTTP
 * threads too (a socket each with SO_REUSEPORT let it share the port and
 * the kernel split the connections between them). */
static void
test_port_taken (void)
{
  OtGateway *first = ot_gateway_start ("[gateway]\nhttp_threads=2\n", FALSE);
  g_autofree char *dir = g_dir_make_tmp ("onepin-second-XXXXXX", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *config = g_build_filename (dir, "gateway.conf", NULL);
  const char *url = ot_gateway_url (first);
  g_autofree char *listen = g_strdup (url + strlen ("http://"));
  g_autofree char *err = NULL;
  g_autoptr(OtResponse) still = NULL;

  g_assert_true (g_file_set_contents (config, "[gateway]\nhttp_threads=2\n", -1, NULL));
  err = gateway_refuses_on (data, listen, config);
  g_assert_nonnull (strstr (err, "Cannot listen on"));
  still = ot_request (first, "GET", "/healthz", NULL, NULL, NULL);
  ot_assert_status (still, 200);
  ot_gateway_stop (first);
  ot_rm_rf (dir);
}

/* Runs the gateway with at most @files open files (prlimit, util-linux)
 * on a fresh data dir for up to 10 s; returns its wait status. */
static int
gateway_with_files (guint   files,
                    char  **err)
{
  g_autofree char *dir = g_dir_make_tmp ("onepin-files-XXXXXX", NULL);
  g_autofree char *nofile = g_strdup_printf ("--nofile=%u:%u", files, files);
  g_autofree char *config = g_build_filename (dir, "gateway.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[gateway]\nhttp_threads=%s\n",
                                           g_getenv ("ONEPIN_TEST_HTTP_THREADS") ?: "0");
  const char *argv[] = { "prlimit", nofile, "timeout", "-s", "TERM", "3",
                         g_getenv ("ONEPIN_GATEWAY"), "--data-dir", dir,
                         "--listen", "127.0.0.1:0", "--config", config, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  int status = 0;

  g_assert_true (g_file_set_contents (config, text, -1, NULL));
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, err, &status, &error));
  g_assert_no_error (error);
  ot_rm_rf (dir);
  return status;
}

/* Too few open files is a clear refusal to start, never an abort halfway
 * (GLib's wake-up pipes and the listener's socket pair used to end the
 * process with SIGTRAP at some limits); at the least it asks for, it runs
 * until stopped. */
static void
test_few_files (void)
{
  const guint refused[] = { 8, 10, 12, 16, 24, 32, 48, 63 };

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *err = NULL;
      int status = gateway_with_files (refused[i], &err);

      g_test_message ("limit %u: status %d", refused[i], status);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 1);
      g_assert_nonnull (strstr (err, "the open-file limit is"));
      g_assert_nonnull (strstr (err, "needs at least 64"));
    }

  {
    g_autofree char *err = NULL;
    int status = gateway_with_files (64, &err);

    /* timeout(1) stopped it after 3 s with SIGTERM: a clean exit, 124 */
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, 124);
    g_assert_nonnull (strstr (err, "open files: 64"));
    g_assert_null (strstr (err, "level=error"));
  }
}

static void
write_key (const char *path,
           guint8      fill)
{
  guint8 key[32];
  g_autoptr(GError) error = NULL;

  memset (key, fill, sizeof key);
  g_assert_true (g_file_set_contents_full (path, (const char *) key, sizeof key,
                                           G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
  g_assert_no_error (error);
}

static char *
file_checksum (const char *dir,
               const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, NULL))
    return g_strdup ("absent");
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

static void
database_exec (const char *data_dir,
               const char *sql)
{
  g_autofree char *path = g_build_filename (data_dir, "onepin.db", NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

/* As a database from before migration 023 is. */
static void
forget_key_check (const char *data_dir)
{
  database_exec (data_dir, "DROP TABLE key_check; DELETE FROM schema_migrations WHERE version = 23");
}

static void
assert_wrong_key (const char *data_dir)
{
  g_autofree char *err = gateway_refuses (data_dir);

  g_assert_nonnull (strstr (err, "not the one this database was written with"));
}

/* The database refuses a key file that is not its own, and a missing one is
 * not replaced by a new one. */
static void
test_key_file (void)
{
  OtGateway *g2 = ot_gateway_start (NULL, FALSE);
  const char *dir = ot_gateway_data_dir (g2);
  g_autofree char *key_path = g_build_filename (dir, "secret.key", NULL);
  g_autofree char *saved = g_build_filename (dir, "secret.key.saved", NULL);
  g_autofree char *secret = NULL;
  g_autofree char *mch = NULL;
  g_autofree char *db_sum = NULL;
  g_autoptr(OtCard) card = NULL;

  mch = ot_create_merchant (g2, "Key Mall", &secret);
  card = ot_new_card (g2, 10000, PW);
  ot_gateway_terminate (g2, SIGTERM);
  db_sum = file_checksum (dir, "onepin.db");
  g_assert_cmpint (g_rename (key_path, saved), ==, 0);

  /* Missing: refused, and no new key file is made. */
  {
    g_autofree char *err = gateway_refuses (dir);

    g_assert_nonnull (strstr (err, "is missing, but the database"));
    g_assert_false (g_file_test (key_path, G_FILE_TEST_EXISTS));
  }

  /* A FIFO in its place: refused at once (opening it used to wait for a
   * writer for ever). */
  g_assert_cmpint (mkfifo (key_path, 0600), ==, 0);
  {
    g_autofree char *err = gateway_refuses (dir);

    g_assert_nonnull (strstr (err, "not a regular file"));
  }
  g_assert_cmpint (g_unlink (key_path), ==, 0);

  /* Another key: refused by the recorded check value, the database unchanged. */
  write_key (key_path, 0x5a);
  assert_wrong_key (dir);
  {
    g_autofree char *after = file_checksum (dir, "onepin.db");

    g_assert_cmpstr (after, ==, db_sum);
  }

  /* A database from before 023: a card's sealed number decides. */
  forget_key_check (dir);
  assert_wrong_key (dir);

  /* Its own key: it starts, 023 records the value, and it pays; the value
   * then refuses another key, and a removed row refuses every key. */
  g_assert_cmpint (g_rename (saved, key_path), ==, 0);
  ot_gateway_restart (g2);
  {
    g_autoptr(JsonObject) paid = ot_pay (g2, secret, card->number, PW, 1000, TRUE);
  }
  ot_gateway_terminate (g2, SIGTERM);
  g_assert_cmpint (g_rename (key_path, saved), ==, 0);
  write_key (key_path, 0x5a);
  assert_wrong_key (dir);
  g_assert_cmpint (g_rename (saved, key_path), ==, 0);
  database_exec (dir, "DELETE FROM key_check");
  {
    g_autofree char *err = gateway_refuses (dir);

    g_assert_nonnull (strstr (err, "key check record (key_check) is missing"));
  }
  ot_gateway_stop (g2);
}

/* Stops @g2, makes its database one from before 023, and checks that it
 * refuses another key and starts again with its own; then stops it. */
static void
refuses_other_key (OtGateway *g2)
{
  const char *dir = ot_gateway_data_dir (g2);
  g_autofree char *key_path = g_build_filename (dir, "secret.key", NULL);
  g_autofree char *saved = g_build_filename (dir, "secret.key.saved", NULL);

  ot_gateway_terminate (g2, SIGTERM);
  forget_key_check (dir);
  g_assert_cmpint (g_rename (key_path, saved), ==, 0);
  write_key (key_path, 0x5a);
  assert_wrong_key (dir);
  g_assert_cmpint (g_rename (saved, key_path), ==, 0);
  ot_gateway_restart (g2);
  ot_gateway_stop (g2);
}

/* A database from before 023 with merchants and no card yet: a merchant's
 * sealed webhook secret decides. */
static void
test_key_file_no_cards (void)
{
  OtGateway *g2 = ot_gateway_start (NULL, FALSE);
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (g2, "Cardless Mall", &secret);

  refuses_other_key (g2);
}

/* A database from before 023 with neither cards nor merchants: a wallet
 * user's sealed profile, or an order's sealed buyer, decides as well, or
 * 023 would record the wrong key's value and refuse the right one after. */
static void
refuses_other_key_with (const char *path,
                        const char *body)
{
  OtGateway *g2 = ot_gateway_start ("[wallet]\npbkdf2_iterations=1000\n", FALSE);
  g_autoptr(OtResponse) r = ot_request (g2, "POST", path, NULL, NULL, body);

  g_assert_cmpuint (r->status, <, 300);
  refuses_other_key (g2);
}

/* With access_log on, one line per request names the method, the route
 * pattern, the status and the time taken, and never the path itself. */
static void
test_access_log (void)
{
  OtGateway *gw = ot_gateway_start ("[gateway]\naccess_log=true\n", FALSE);
  g_autoptr(OtResponse) missing = NULL;
  g_autofree char *log = NULL;
  const char *line;

  missing = ot_request (gw, "GET", "/v1/payments/pay_secretish", NULL, NULL, NULL);
  ot_assert_status (missing, 401);
  g_assert_true (g_file_get_contents (ot_gateway_log_path (gw), &log, NULL, NULL));
  line = strstr (log, "msg=request method=GET route=/v1/payments/{id} status=401 duration_us=");
  g_assert_nonnull (line);
  g_assert_null (strstr (log, "pay_secretish"));
  ot_gateway_stop (gw);
}

static void
test_key_file_other_sealed (void)
{
  refuses_other_key_with ("/v1/wallet/users",
                     "{\"login_id\":\"sealed-only\",\"password\":\"correct horse\","
                     "\"name\":\"Kim Sealed\",\"email\":\"ks@wallet.example\"}");
  refuses_other_key_with ("/v1/orders",
                     "{\"buyer\":{\"name\":\"Hong\",\"phone\":\"010-1234-5678\","
                     "\"email\":\"hong@example.com\",\"postal_code\":\"04524\","
                     "\"address\":\"Seoul\"},\"items\":[{\"denomination\":5000,"
                     "\"quantity\":1}]}");
}

/* A database from before 023 with one kind of sealed data its key does not
 * open (a damaged row) and another it does: the key that opens anything is
 * the database's own, so it starts; another key opens nothing and is
 * refused still. */
static void
test_key_file_one_kind_unreadable (void)
{
  OtGateway *g2 = ot_gateway_start ("[wallet]\npbkdf2_iterations=1000\n", FALSE);
  const char *dir = ot_gateway_data_dir (g2);
  g_autofree char *secret = NULL;
  g_autofree char *mch = ot_create_merchant (g2, "Damaged Mall", &secret);
  g_autoptr(OtResponse) r = ot_request (g2, "POST", "/v1/wallet/users", NULL, NULL,
                                        "{\"login_id\":\"damaged-one\",\"password\":"
                                        "\"correct horse\",\"name\":\"Kim Damaged\","
                                        "\"email\":\"kd@wallet.example\"}");

  ot_assert_status (r, 201);
  ot_gateway_terminate (g2, SIGTERM);
  database_exec (dir, "UPDATE wallet_users SET profile_sealed = zeroblob (64)");
  forget_key_check (dir);
  ot_gateway_restart (g2);
  refuses_other_key (g2);
}

/* A database a newer gateway migrated is refused, naming both versions, and
 * left as it was. */
static void
test_database_newer (void)
{
  OtGateway *g2 = ot_gateway_start (NULL, FALSE);
  const char *dir = ot_gateway_data_dir (g2);
  g_autofree char *err = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  ot_gateway_terminate (g2, SIGTERM);
  database_exec (dir, "INSERT INTO schema_migrations VALUES (999, 0)");
  before = file_checksum (dir, "onepin.db");
  err = gateway_refuses (dir);
  g_assert_nonnull (strstr (err, "schema version 999, newer than this gateway's 0"));
  after = file_checksum (dir, "onepin.db");
  g_assert_cmpstr (after, ==, before);
  database_exec (dir, "DELETE FROM schema_migrations WHERE version = 999");
  ot_gateway_restart (g2);
  ot_gateway_stop (g2);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/contract/operations/https/startup", test_https_startup);
  g_test_add_func ("/contract/operations/https/payment", test_https_payment);
  g_test_add_func ("/contract/operations/https/key-mode", test_https_key_mode);
  g_test_add_func ("/contract/operations/https/key-mismatch", test_https_key_mismatch);
  g_test_add_func ("/contract/operations/https/only", test_https_only);
  g_test_add_func ("/contract/operations/https/tls-versions", test_tls_versions);
  g_test_add_func ("/contract/operations/https/tls-versions-inherited",
                   test_tls_versions_inherited);
  g_test_add_func ("/contract/operations/metrics", test_metrics);
  g_test_add_func ("/contract/operations/metrics-token", test_metrics_token);
  g_test_add_func ("/contract/operations/metrics-token-refused", test_metrics_token_refused);
  g_test_add_func ("/contract/operations/refusals-counted", test_refusals_counted);
  g_test_add_func ("/contract/operations/content-type", test_content_type);
  g_test_add_func ("/contract/operations/signals-and-durability", test_signals_and_durability);
  g_test_add_func ("/contract/operations/data-dir-modes", test_data_dir_modes);
  g_test_add_func ("/contract/operations/access-log", test_access_log);
  g_test_add_func ("/contract/operations/port-taken", test_port_taken);
  g_test_add_func ("/contract/operations/few-files", test_few_files);
  g_test_add_func ("/contract/operations/key-file", test_key_file);
  g_test_add_func ("/contract/operations/key-file-no-cards", test_key_file_no_cards);
  g_test_add_func ("/contract/operations/key-file-other-sealed", test_key_file_other_sealed);
  g_test_add_func ("/contract/operations/key-file-one-kind-unreadable",
                   test_key_file_one_kind_unreadable);
  g_test_add_func ("/contract/operations/database-newer", test_database_newer);

  gw = ot_gateway_start (NULL, TRUE);
  ret = g_test_run ();
  ot_gateway_stop (gw);
  return ret;
}
