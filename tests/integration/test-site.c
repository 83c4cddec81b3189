/* test-site.c: the cyber card site's static pages, as served by the gateway
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Content types, the security headers, revalidation with ETags, the 404
 * page, refusal of every path that is not a plain name, and that the site
 * never answers for the API or /metrics. The browser tests (tests/e2e)
 * cover what the pages do.
 */
#include <string.h>

#include "onepin-test-gateway.h"

static OtGateway *gw;

static void
assert_security_headers (OtResponse *r)
{
  const char *csp = ot_response_header (r, "Content-Security-Policy");

  g_assert_nonnull (csp);
  g_assert_nonnull (strstr (csp, "default-src 'none'"));
  g_assert_nonnull (strstr (csp, "script-src 'self'"));
  g_assert_nonnull (strstr (csp, "frame-ancestors 'none'"));
  g_assert_null (strstr (csp, "unsafe-inline"));
  g_assert_null (strstr (csp, "unsafe-eval"));
  g_assert_cmpstr (ot_response_header (r, "X-Content-Type-Options"), ==, "nosniff");
  g_assert_cmpstr (ot_response_header (r, "Referrer-Policy"), ==, "no-referrer");
  g_assert_cmpstr (ot_response_header (r, "X-Frame-Options"), ==, "DENY");
}

static void
test_content_types (void)
{
  static const struct { const char *path; const char *type; const char *cache; } cases[] = {
    { "/",                         "text/html; charset=utf-8",       "no-cache" },
    { "/index.html",               "text/html; charset=utf-8",       "no-cache" },
    { "/buy",                      "text/html; charset=utf-8",       "no-cache" },
    { "/claim.html",               "text/html; charset=utf-8",       "no-cache" },
    { "/css/site.css",             "text/css; charset=utf-8",        "no-cache" },
    { "/js/site.js",               "text/javascript; charset=utf-8", "no-cache" },
    { "/img/designs/love.svg",     "image/svg+xml",                  "public, max-age=86400" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(OtResponse) r = ot_request (gw, "GET", cases[i].path, NULL, NULL, NULL);

      g_test_message ("GET %s", cases[i].path);
      ot_assert_status (r, 200);
      g_assert_cmpstr (ot_response_header (r, "Content-Type"), ==, cases[i].type);
      g_assert_cmpstr (ot_response_header (r, "Cache-Control"), ==, cases[i].cache);
      g_assert_nonnull (ot_response_header (r, "ETag"));
      g_assert_cmpuint (r->body_len, >, 100);
      assert_security_headers (r);
    }
}

static void
test_clean_urls (void)
{
  g_autoptr(OtResponse) a = ot_request (gw, "GET", "/buy", NULL, NULL, NULL);
  g_autoptr(OtResponse) b = ot_request (gw, "GET", "/buy.html", NULL, NULL, NULL);
  g_autoptr(OtResponse) root = ot_request (gw, "GET", "/", NULL, NULL, NULL);
  g_autoptr(OtResponse) index = ot_request (gw, "GET", "/index.html", NULL, NULL, NULL);

  g_assert_cmpmem (a->body, a->body_len, b->body, b->body_len);
  g_assert_cmpmem (root->body, root->body_len, index->body, index->body_len);
  g_assert_nonnull (strstr (a->body, "/js/buy.js"));
  /* No inline script anywhere: every <script> has a src. */
  g_assert_null (strstr (a->body, "<script>"));
}

/* The API refuses query parameters it does not read; the pages take any
 * (cache busters, campaign tags), bare and repeated ones included. */
static void
test_query_ignored (void)
{
  g_autoptr(OtResponse) plain = ot_request (gw, "GET", "/buy", NULL, NULL, NULL);
  g_autoptr(OtResponse) page = ot_request (gw, "GET", "/buy?utm_source=mail&utm_source&x",
                                           NULL, NULL, NULL);
  g_autoptr(OtResponse) script = ot_request (gw, "GET", "/js/site.js?v=2&v=3", NULL, NULL,
                                             NULL);

  ot_assert_status (page, 200);
  g_assert_cmpmem (page->body, page->body_len, plain->body, plain->body_len);
  ot_assert_status (script, 200);
}

static OtResponse *
get_with (const char *path,
          const char *header,
          const char *value)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (ot_gateway_url (gw), path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(GBytes) body = NULL;
  OtResponse *r = g_new0 (OtResponse, 1);

  soup_message_headers_replace (soup_message_get_request_headers (msg), header, value);
  body = soup_session_send_and_read (session, msg, NULL, NULL);
  r->status = soup_message_get_status (msg);
  r->body = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  r->body_len = g_bytes_get_size (body);
  r->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  return r;
}

static void
test_revalidation (void)
{
  g_autoptr(OtResponse) first = ot_request (gw, "GET", "/js/site.js", NULL, NULL, NULL);
  const char *etag = ot_response_header (first, "ETag");
  g_autofree char *weak = g_strconcat ("W/", etag, NULL);
  g_autofree char *list = g_strconcat ("\"other\", ", etag, NULL);
  g_autoptr(OtResponse) same = get_with ("/js/site.js", "If-None-Match", etag);
  g_autoptr(OtResponse) same_weak = get_with ("/js/site.js", "If-None-Match", weak);
  g_autoptr(OtResponse) in_list = get_with ("/js/site.js", "If-None-Match", list);
  g_autoptr(OtResponse) stale = get_with ("/js/site.js", "If-None-Match", "\"0123\"");
  g_autoptr(OtResponse) other = get_with ("/css/site.css", "If-None-Match", etag);

  g_assert_true (g_str_has_prefix (etag, "\"") && g_str_has_suffix (etag, "\""));
  ot_assert_status (same, 304);
  g_assert_cmpuint (same->body_len, ==, 0);
  g_assert_cmpstr (ot_response_header (same, "ETag"), ==, etag);
  assert_security_headers (same);
  ot_assert_status (same_weak, 304);
  ot_assert_status (in_list, 304);
  ot_assert_status (stale, 200);
  g_assert_cmpmem (stale->body, stale->body_len, first->body, first->body_len);
  ot_assert_status (other, 200);
}

static void
test_head (void)
{
  g_autoptr(OtResponse) get = ot_request (gw, "GET", "/recharge", NULL, NULL, NULL);
  g_autoptr(OtResponse) head = ot_request (gw, "HEAD", "/recharge", NULL, NULL, NULL);
  g_autofree char *length = g_strdup_printf ("%" G_GSIZE_FORMAT, get->body_len);

  ot_assert_status (head, 200);
  g_assert_cmpuint (head->body_len, ==, 0);
  g_assert_cmpstr (ot_response_header (head, "Content-Length"), ==, length);
  g_assert_cmpstr (ot_response_header (head, "ETag"), ==, ot_response_header (get, "ETag"));
}

static void
test_not_found (void)
{
  g_autoptr(OtResponse) r = ot_request (gw, "GET", "/no-such-page", NULL, NULL, NULL);

  ot_assert_status (r, 404);
  g_assert_cmpstr (ot_response_header (r, "Content-Type"), ==, "text/html; charset=utf-8");
  g_assert_cmpstr (ot_response_header (r, "Cache-Control"), ==, "no-store");
  g_assert_nonnull (strstr (r->body, "notfound.heading"));
  assert_security_headers (r);
}

/* Sends @path exactly as written, bypassing any URI normalisation a client
 * library does, and returns the status line's code. */
static guint
raw_status (const char *method,
            const char *path)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GUri) uri = g_uri_parse (ot_gateway_url (gw), G_URI_FLAGS_NONE, NULL);
  g_autofree char *request = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                              "Connection: close\r\n\r\n", method, path);
  char buf[64] = { 0 };
  gsize n = 0;

  g_socket_client_set_timeout (client, 10);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", g_uri_get_port (uri), NULL, NULL);
  g_assert_nonnull (conn);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                                            request, strlen (request), NULL, NULL, NULL));
  g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf,
                           sizeof buf - 1, &n, NULL, NULL);
  if (!g_str_has_prefix (buf, "HTTP/1.1 "))
    return 0;
  return g_ascii_strtoull (buf + 9, NULL, 10);
}

static void
test_only_plain_names (void)
{
  static const char *refused[] = {
    "/../gateway.url", "/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/.hidden",
    "/js/.site.js", "//index.html", "/index.html%00", "/index.html%2f", "/js/", "/img/designs",
    "/migrations/001_ledger.sql", "/index.html.bak", "/site.gresource.xml", "/meson.build",
    "/js/site.js;x", "/js/site%20.js", "/index.html~",
  };
  /* libsoup resolves dot segments (RFC 3986, 5.2.4) before we see the path,
   * so they can never climb above the site's root. */
  static const char *resolved[] = { "/js/../index.html", "/%2e%2e/index.html", "/js/./site.js" };

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      guint status = raw_status ("GET", refused[i]);

      g_test_message ("GET %s -> %u", refused[i], status);
      g_assert_true (status == 404 || status == 400);
    }
  for (guint i = 0; i < G_N_ELEMENTS (resolved); i++)
    g_assert_cmpuint (raw_status ("GET", resolved[i]), ==, 200);
}

static void
test_api_not_shadowed (void)
{
  g_autoptr(OtResponse) v1 = ot_request (gw, "GET", "/v1/index.html", NULL, NULL, NULL);
  g_autoptr(OtResponse) bare = ot_request (gw, "GET", "/v1", NULL, NULL, NULL);
  g_autoptr(OtResponse) metrics = ot_request (gw, "GET", "/metrics", NULL, NULL, NULL);
  g_autoptr(OtResponse) health = ot_request (gw, "GET", "/healthz", NULL, NULL, NULL);
  g_autoptr(OtResponse) post = ot_request (gw, "POST", "/", NULL, NULL, "{}");
  g_autoptr(OtResponse) audit = ot_request (gw, "GET", "/v1/admin/audit", NULL, NULL, NULL);

  ot_assert_error (v1, 404, "invalid_request_error", "resource_missing");
  ot_assert_error (bare, 404, "invalid_request_error", "resource_missing");
  ot_assert_status (metrics, 200);
  g_assert_true (g_str_has_prefix (ot_response_header (metrics, "Content-Type"), "text/plain"));
  g_assert_nonnull (strstr (metrics->body, "onepin_http_requests_total{route=\"site\""));
  ot_assert_status (health, 200);
  g_assert_cmpstr (health->body, ==, "{\"status\":\"ok\"}");
  ot_assert_error (post, 404, "invalid_request_error", "resource_missing");
  ot_assert_error (audit, 401, "authentication_error", "unauthorized");
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  gw = ot_gateway_start (NULL, FALSE);

  g_test_add_func ("/site/content-types", test_content_types);
  g_test_add_func ("/site/clean-urls", test_clean_urls);
  g_test_add_func ("/site/query-ignored", test_query_ignored);
  g_test_add_func ("/site/revalidation", test_revalidation);
  g_test_add_func ("/site/head", test_head);
  g_test_add_func ("/site/not-found", test_not_found);
  g_test_add_func ("/site/only-plain-names", test_only_plain_names);
  g_test_add_func ("/site/api-not-shadowed", test_api_not_shadowed);

  status = g_test_run ();
  ot_gateway_stop (gw);
  return status;
}
