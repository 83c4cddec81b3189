/* onepin-test-gateway.h: run the real onepin-gateway binary for a test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every test program that needs a gateway starts the real binary on
 * 127.0.0.1:0 (or another loopback address: ot_gateway_start_on) with a
 * fresh temporary data dir, and stops it (SIGTERM, wait, remove the dir)
 * before it exits. The binary's path comes from the ONEPIN_GATEWAY
 * environment variable, which meson sets for every test.
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
/* The same over HTTP, listening on @listen, e.g. "[::1]:0", instead. */
OtGateway   *ot_gateway_start_on         (const char  *config,
                                          const char  *listen);
/* Whether this machine has ::1 to listen on (a container may have none). */
gboolean     ot_ipv6_loopback            (void);
/* SIGTERM, wait for exit, assert it exited 0, delete the data dir. */
void         ot_gateway_stop             (OtGateway   *gw);
/* SIGKILL and reap; the data dir stays, for ot_gateway_restart(). */
void         ot_gateway_kill             (OtGateway   *gw);
/* Start the binary again on the same data dir and config (new port). */
void         ot_gateway_restart          (OtGateway   *gw);
const char  *ot_gateway_url              (OtGateway   *gw);
const char  *ot_gateway_admin_token      (OtGateway   *gw);
const char  *ot_gateway_data_dir         (OtGateway   *gw);
/* Runs @sql on @gw's database behind its back, for what no API does. */
void         ot_gateway_exec_sql         (OtGateway   *gw,
                                          const char  *sql);
/* The same on the SQLite database at @path (another program's). */
void         ot_sqlite_exec              (const char  *path,
                                          const char  *sql);
/* The first column of the first row of @sql ("SELECT COUNT(*) ..."),
 * read from @gw's database behind its back. */
gint64       ot_gateway_query_int        (OtGateway   *gw,
                                          const char  *sql);
/* Whether @needle is in the bytes of the gateway's database or its WAL. */
gboolean     ot_gateway_database_holds   (OtGateway   *gw,
                                          const char  *needle);
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
/* The same against any server (e.g. onepin-bank): NULL and @error when the
 * request got no HTTP answer at all. */
OtResponse  *ot_http_send                (SoupSession *session,
                                          const char  *uri,
                                          const char  *method,
                                          const char  *bearer,
                                          const char  *idempotency_key,
                                          const char  *body,
                                          gsize        len,
                                          GError     **error);
/* Sends @msg as it is (headers and body already set): NULL and @error when
 * it got no HTTP answer at all. */
OtResponse  *ot_http_exchange            (SoupSession *session,
                                          SoupMessage *msg,
                                          GError     **error);
void         ot_response_free            (OtResponse  *r);
/* For servers the tests play (a bank, an SMS gateway): answers @msg with
 * @status and the JSON @body. */
void         ot_reply_json               (SoupServerMessage *msg,
                                          guint        status,
                                          const char  *body);
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

/* ---- Additions ---------------------------------------------------------- */

/* Asserts the status, and shows the body (and the caller's line) if not. */
#define ot_assert_status(r, expected) \
  G_STMT_START { \
    OtResponse *ot_r_ = (r); \
    guint ot_e_ = (expected); \
    if (ot_r_->status != ot_e_) \
      { \
        char *ot_m_ = g_strdup_printf ("expected HTTP %u, got %u: %.2000s", \
                                       ot_e_, ot_r_->status, \
                                       ot_r_->body ? ot_r_->body : ""); \
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, ot_m_); \
        g_free (ot_m_); \
      } \
  } G_STMT_END

/* Writes ca.pem, server.pem and server.key (for 127.0.0.1 and localhost,
 * signed by that CA) into @dir, with openssl. */
void         ot_make_certificates        (const char  *dir);
/* The CA certificate (PEM) the harness trusts, or NULL without TLS. */
const char  *ot_gateway_ca_path          (OtGateway   *gw);
/* Send @signum (SIGTERM, SIGINT), wait (at most 15 s), assert a clean exit 0.
 * The data dir stays, for ot_gateway_restart(). */
void         ot_gateway_terminate        (OtGateway   *gw,
                                          int          signum);
/* Send the same request @n times at once, each from its own thread, released
 * together. Returns the responses (OtResponse*) in an array that frees them. */
GPtrArray   *ot_request_parallel         (OtGateway   *gw,
                                          guint        n,
                                          const char  *method,
                                          const char  *path,
                                          const char  *bearer,
                                          const char  *idempotency_key,
                                          const char  *body);
/* The same, one request for each path of the NULL-terminated @paths with the
 * body of the same index in @bodies, without an Idempotency-Key; the
 * responses are in that order. */
GPtrArray   *ot_request_parallel_each    (OtGateway         *gw,
                                          const char        *method,
                                          const char        *bearer,
                                          const char *const *paths,
                                          const char *const *bodies);
/* The header value, or NULL. */
const char  *ot_response_header          (OtResponse  *r,
                                          const char  *name);

/* Member accessors that assert the member exists with the right type. */
gint64       ot_json_int                 (JsonObject  *object,
                                          const char  *member);
const char  *ot_json_string              (JsonObject  *object,
                                          const char  *member);
gboolean     ot_json_bool                (JsonObject  *object,
                                          const char  *member);
JsonObject  *ot_json_object              (JsonObject  *object,
                                          const char  *member);
JsonArray   *ot_json_array               (JsonObject  *object,
                                          const char  *member);

gboolean     ot_luhn_valid               (const char  *number);
/* A random Luhn-valid 16-digit number starting with @prefix (e.g. "9410"),
 * practically never issued. */
char        *ot_random_card_number       (const char  *prefix);

/* Issue one card of @value; when @password is not NULL also register it. */
OtCard      *ot_new_card                 (OtGateway   *gw,
                                          gint64       value,
                                          const char  *password);
/* POST /v1/cards/balance, asserting 200; returns a new reference. */
JsonObject  *ot_card_balance             (OtGateway   *gw,
                                          const char  *number,
                                          const char  *password);
/* POST /v1/payments (no Idempotency-Key), asserting 200; returns the
 * payment object (a new reference). */
JsonObject  *ot_pay                      (OtGateway   *gw,
                                          const char  *secret_key,
                                          const char  *number,
                                          const char  *password,
                                          gint64       amount,
                                          gboolean     capture);
/* The same with the merchant's @order_id. */
JsonObject  *ot_pay_order                (OtGateway   *gw,
                                          const char  *secret_key,
                                          const char  *number,
                                          const char  *password,
                                          gint64       amount,
                                          gboolean     capture,
                                          const char  *order_id);

/* Asserts the card's balance and available amount (POST /v1/cards/balance). */
void         ot_assert_card_balance      (OtGateway   *gw,
                                          const char  *number,
                                          const char  *password,
                                          gint64       balance,
                                          gint64       available);
/* @n copies of the UTF-8 string @unit. */
char        *ot_repeat                   (const char  *unit,
                                          guint        n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OtResponse, ot_response_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OtCard, ot_card_free)

G_END_DECLS
