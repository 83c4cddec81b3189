/* onepin-test-gateway.h: run the real onepin-gateway binary for a test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every test program that needs a gateway starts the real binary on
 * 127.0.0.1:0 with a fresh temporary data dir, and stops it (SIGTERM, wait,
 * remove the dir) before it exits. The binary's path comes from the
 * ONEPIN_GATEWAY environment variable, which meson sets for every test.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _OtGateway OtGateway;

typedef struct
{
  guint       status;
  char       *body;          /* NUL-terminated raw body */
  gsize       body_len;
  JsonNode   *json;          /* NULL unless the body parsed as JSON */
  SoupMessageHeaders *headers;
} OtResponse;

typedef struct
{
  char *id;                  /* card_… */
  char *number;              /* 16 digits */
} OtCard;

/* @config: extra GKeyFile text appended to the gateway's config file, or NULL.
 * @tls: serve HTTPS with a certificate from a CA the harness generates. */
OtGateway   *ot_gateway_start            (const char  *config,
                                          gboolean     tls);
/* SIGTERM, wait for exit, assert it exited 0, delete the data dir. */
void         ot_gateway_stop             (OtGateway   *gw);
/* SIGKILL and reap; the data dir stays, for ot_gateway_restart(). */
void         ot_gateway_kill             (OtGateway   *gw);
/* Start the binary again on the same data dir and config (new port). */
void         ot_gateway_restart          (OtGateway   *gw);
const char  *ot_gateway_url              (OtGateway   *gw);
const char  *ot_gateway_admin_token      (OtGateway   *gw);
const char  *ot_gateway_data_dir         (OtGateway   *gw);
/* The file that collects the gateway's stdout and stderr, across restarts. */
const char  *ot_gateway_log_path         (OtGateway   *gw);
GPid         ot_gateway_pid              (OtGateway   *gw);

/* A blocking request. @bearer, @idempotency_key and @body may be NULL. */
OtResponse  *ot_request                  (OtGateway   *gw,
                                          const char  *method,
                                          const char  *path,
                                          const char  *bearer,
                                          const char  *idempotency_key,
                                          const char  *body);
/* Same, with a raw body of @len bytes (may contain NULs or invalid UTF-8). */
OtResponse  *ot_request_raw              (OtGateway   *gw,
                                          const char  *method,
                                          const char  *path,
                                          const char  *bearer,
                                          const char  *idempotency_key,
                                          const char  *body,
                                          gsize        len);
void         ot_response_free            (OtResponse  *r);
JsonObject  *ot_response_object          (OtResponse  *r);

/* Asserts status, the error object's shape, its type, and (if not NULL) its
 * code, or its decline_code when @type is "card_error". */
void         ot_assert_error             (OtResponse  *r,
                                          guint        status,
                                          const char  *type,
                                          const char  *code);
/* GET /v1/admin/audit and assert "balanced": true; returns the object (owned
 * by the caller, free with json_object_unref). */
JsonObject  *ot_assert_audit_balanced    (OtGateway   *gw);

/* Conveniences over the admin and card-holder API; they assert success. */
char        *ot_create_merchant          (OtGateway   *gw,
                                          const char  *name,
                                          char       **secret_key);
GPtrArray   *ot_issue_cards              (OtGateway   *gw,
                                          guint        count,
                                          gint64       value);   /* of OtCard* */
void         ot_register_card            (OtGateway   *gw,
                                          const char  *number,
                                          const char  *password);
void         ot_card_free                (OtCard      *card);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OtResponse, ot_response_free)

G_END_DECLS
