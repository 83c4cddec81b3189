/* gw-pages.c: the cyber card site's static pages, served from a GResource
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The pages, scripts and images in gateway-server/site/ are compiled into
 * the binary (site.gresource.xml), so a running gateway always serves the
 * pages that match its API. Every answer carries a strict Content Security
 * Policy (scripts only from our own files, nothing inline), and an ETag so
 * that a browser revalidates cheaply instead of caching stale pages.
 */
#include "gw-pages.h"

#include <string.h>

#define PAGES_PREFIX "/org/onepin/gateway/site"
#define MAX_PATH 128

/* default-src 'none' and then only what the pages use: our own scripts,
 * styles, images and API. No inline script or style element, no framing. */
#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " \
            "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; " \
            "frame-ancestors 'none'; base-uri 'none'"

typedef struct
{
  const char *extension;
  const char *content_type;
  const char *cache_control;
} PageType;

/* Pages, scripts and styles change together with the binary, so the
 * browser revalidates them (a 304 costs no body); images may be kept a day. */
static const PageType types[] = {
  { ".html", "text/html; charset=utf-8",          "no-cache" },
  { ".css",  "text/css; charset=utf-8",           "no-cache" },
  { ".js",   "text/javascript; charset=utf-8",    "no-cache" },
  { ".json", "application/json; charset=utf-8",   "no-cache" },
  { ".svg",  "image/svg+xml",                     "public, max-age=86400" },
  { ".txt",  "text/plain; charset=utf-8",         "no-cache" },
};

gboolean
gw_pages_claims (const char *method,
                const char *path)
{
  if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD"))
    return FALSE;
  return path[0] == '/' && !g_str_equal (path, "/v1") && !g_str_has_prefix (path, "/v1/");
}

static const PageType *
page_type (const char *resource)
{
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (g_str_has_suffix (resource, types[i].extension))
      return &types[i];
  return NULL;
}

/* Maps a request path to a resource name, or NULL. Only plain names are
 * accepted: no "..", no hidden files, no escapes, nothing but [A-Za-z0-9._-/].
 * "/" is the site map, and "/buy" is "/buy.html". */
static char *
resource_path (const char *path)
{
  const char *last;
  gsize len = strlen (path);

  if (g_str_equal (path, "/"))
    return g_strdup (PAGES_PREFIX "/index.html");
  if (len > MAX_PATH || strstr (path, "//") != NULL || strstr (path, "/.") != NULL ||
      path[len - 1] == '/')
    return NULL;
  for (const char *p = path; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-' && *p != '/')
      return NULL;
  last = strrchr (path, '/');
  if (strchr (last, '.') == NULL)
    return g_strconcat (PAGES_PREFIX, path, ".html", NULL);
  return g_strconcat (PAGES_PREFIX, path, NULL);
}

void
gw_pages_set_headers (SoupMessageHeaders *headers,
                      const char         *policy,
                      gboolean            https)
{
  soup_message_headers_replace (headers, "Content-Security-Policy", policy);
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (headers, "Referrer-Policy", "no-referrer");
  soup_message_headers_replace (headers, "X-Frame-Options", "DENY");
  soup_message_headers_replace (headers, "Cross-Origin-Opener-Policy", "same-origin");
  soup_message_headers_replace (headers, "Cross-Origin-Resource-Policy", "same-origin");
  soup_message_headers_replace (headers, "Permissions-Policy",
                                "camera=(), microphone=(), geolocation=(), payment=()");
  if (https)
    soup_message_headers_replace (headers, "Strict-Transport-Security", "max-age=31536000");
}

/* Whether If-None-Match lists @etag (weak or strong) or is "*". */
static gboolean
etag_matches (SoupMessageHeaders *request_headers,
              const char         *etag)
{
  const char *header = soup_message_headers_get_list (request_headers, "If-None-Match");
  g_auto(GStrv) tags = NULL;

  if (header == NULL)
    return FALSE;
  tags = g_strsplit (header, ",", -1);
  for (guint i = 0; tags[i] != NULL; i++)
    {
      const char *tag = g_strstrip (tags[i]);

      if (g_str_has_prefix (tag, "W/"))
        tag += 2;
      if (g_str_equal (tag, "*") || g_str_equal (tag, etag))
        return TRUE;
    }
  return FALSE;
}

static void
set_body (SoupServerMessage *msg,
          const char        *content_type,
          GBytes            *bytes)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (headers, "Content-Type", content_type);
  soup_message_headers_set_content_length (headers, g_bytes_get_size (bytes));
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), bytes);
}

static guint
serve_not_found (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autoptr(GBytes) page = g_resources_lookup_data (PAGES_PREFIX "/404.html",
                                                    G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);

  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_server_message_set_status (msg, 404, NULL);
  if (page != NULL)
    set_body (msg, "text/html; charset=utf-8", page);
  return 404;
}

guint
gw_pages_serve (SoupServerMessage *msg,
               const char        *path,
               gboolean           https)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autofree char *resource = resource_path (path);
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *etag = NULL;
  const PageType *type;

  gw_pages_set_headers (headers, CSP, https);
  type = resource ? page_type (resource) : NULL;
  if (type != NULL)
    bytes = g_resources_lookup_data (resource, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (bytes == NULL)
    return serve_not_found (msg);

  /* The content's hash: it changes exactly when the binary's copy does. */
  digest = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
  etag = g_strdup_printf ("\"%.32s\"", digest);
  soup_message_headers_replace (headers, "ETag", etag);
  soup_message_headers_replace (headers, "Cache-Control", type->cache_control);

  if (etag_matches (soup_server_message_get_request_headers (msg), etag))
    {
      soup_server_message_set_status (msg, 304, NULL);
      return 304;
    }
  soup_server_message_set_status (msg, 200, NULL);
  set_body (msg, type->content_type, bytes);
  return 200;
}
