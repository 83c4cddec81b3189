/* test-client.c: the wallet's gateway client against the real gateway
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The connection rules (HTTPS verified, plain HTTP only to loopback, no
 * redirects, bounded answers) and every wallet call, against onepin-gateway
 * started on 127.0.0.1 with a temporary data dir. A few rules need a server
 * that misbehaves; that one is a SoupServer in this process, on loopback.
 */
#include <string.h>

#include <libsoup/soup.h>

#include "onepin-test-bank.h"
#include "onepin-test-gateway.h"
#include "ow-client.h"
#include "ow-test-wait.h"
#include "ow-test-wiped.h"

/* Runs one async client call to completion: SYNC (finish (c, r, &e), start (c, …)). */
#define SYNC(finish_call, start_call)                                   \
  ({                                                                    \
    GAsyncResult *r = NULL;                                             \
    start_call;                                                         \
    ow_test_wait (&r);                                                  \
    __typeof__ (finish_call) v_ = finish_call;                          \
    g_object_unref (r);                                                 \
    v_;                                                                 \
  })
#define CB NULL, ow_test_store_result, &r

static OwClient *
new_client (const char *url,
            const char *ca)
{
  g_autoptr(GError) error = NULL;
  OwClient *client = ow_client_new (url, ca, &error);

  g_assert_no_error (error);
  g_assert_nonnull (client);
  return client;
}

static void
assert_api_error (const GError *error,
                  OwApiError    code,
                  guint         status,
                  const char   *gateway_code,
                  const char   *param)
{
  g_assert_error (error, OW_API_ERROR, (int) code);
  g_assert_cmpuint (ow_api_error_get_status (error), ==, status);
  if (gateway_code != NULL)
    g_assert_cmpstr (ow_api_error_get_code (error), ==, gateway_code);
  if (param != NULL)
    g_assert_cmpstr (ow_api_error_get_param (error), ==, param);
}

/* ---- connection rules --------------------------------------------------- */

static void
test_url_rules (void)
{
  static const struct
  {
    const char *url;
    int         code;       /* -1: accepted */
  } cases[] = {
    { "https://pay.example.com", -1 },
    { "https://pay.example.com:8443/onepin/", -1 },
    { "HTTPS://PAY.EXAMPLE.COM", -1 },
    { "http://127.0.0.1:8080", -1 },
    { "http://127.0.0.1:8080/", -1 },
    { "http://127.12.0.9", -1 },
    { "http://[::1]:8080", -1 },
    { "http://pay.example.com", OW_CLIENT_ERROR_INSECURE_URL },
    { "http://localhost:8080", OW_CLIENT_ERROR_INSECURE_URL },
    { "http://10.0.0.1:8080", OW_CLIENT_ERROR_INSECURE_URL },
    { "http://0.0.0.0:8080", OW_CLIENT_ERROR_INSECURE_URL },
    { "http://[::ffff:127.0.0.1]:8080", OW_CLIENT_ERROR_INSECURE_URL },
    { "http://127.0.0.1.nip.io", OW_CLIENT_ERROR_INSECURE_URL },
    { "http://2130706433", OW_CLIENT_ERROR_INSECURE_URL },
    { "http://0x7f.0.0.1", OW_CLIENT_ERROR_INSECURE_URL },
    { "ftp://127.0.0.1", OW_CLIENT_ERROR_INVALID_URL },
    { "file:///etc/passwd", OW_CLIENT_ERROR_INVALID_URL },
    { "https://user:secret@pay.example.com", OW_CLIENT_ERROR_INVALID_URL },
    { "https://pay.example.com/?x=1", OW_CLIENT_ERROR_INVALID_URL },
    { "https://pay.example.com/#top", OW_CLIENT_ERROR_INVALID_URL },
    { "https://", OW_CLIENT_ERROR_INVALID_URL },
    { "127.0.0.1:8080", OW_CLIENT_ERROR_INVALID_URL },
    { "", OW_CLIENT_ERROR_INVALID_URL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(OwClient) client = ow_client_new (cases[i].url, NULL, &error);

      g_test_message ("%s", cases[i].url);
      if (cases[i].code < 0)
        {
          g_assert_no_error (error);
          g_assert_nonnull (client);
        }
      else
        {
          g_assert_error (error, OW_CLIENT_ERROR, cases[i].code);
          g_assert_null (client);
        }
    }
}

static void
test_http_loopback (void)
{
  OtGateway *gw = ot_gateway_start (NULL, FALSE);
  g_autoptr(OwClient) client = new_client (ot_gateway_url (gw), NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_str_has_prefix (ot_gateway_url (gw), "http://127.0.0.1:"));
  g_assert_true (SYNC (ow_client_ping_finish (client, r, &error), ow_client_ping_async (client, CB)));
  g_assert_no_error (error);
  ot_gateway_stop (gw);

  /* gone: a network error, which has no API error's members (and asking
   * for them is no mistake) */
  g_assert_false (SYNC (ow_client_ping_finish (client, r, &error), ow_client_ping_async (client, CB)));
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_NETWORK);
  g_assert_cmpuint (ow_api_error_get_status (error), ==, 0);
  g_assert_null (ow_api_error_get_code (error));
  g_assert_null (ow_api_error_get_param (error));
}

#ifdef OW_TEST_TLS
static void
test_https_verified (void)
{
  OtGateway *gw = ot_gateway_start (NULL, TRUE);
  const char *url = ot_gateway_url (gw);
  g_autoptr(GError) error = NULL;
  g_autofree char *http_url = NULL;

  g_assert_true (g_str_has_prefix (url, "https://"));

  /* the CA that signed the gateway's certificate, configured */
  {
    g_autoptr(OwClient) client = new_client (url, ot_gateway_ca_path (gw));

    g_assert_true (SYNC (ow_client_ping_finish (client, r, &error), ow_client_ping_async (client, CB)));
    g_assert_no_error (error);
  }

  /* the system's CAs do not know it */
  {
    g_autoptr(OwClient) client = new_client (url, NULL);

    g_assert_false (SYNC (ow_client_ping_finish (client, r, &error), ow_client_ping_async (client, CB)));
    g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_TLS);
    g_clear_error (&error);
  }

  /* nor does another CA file (the system bundle, read as the one CA file) */
  if (g_file_test ("/etc/ssl/certs/ca-certificates.crt", G_FILE_TEST_EXISTS))
    {
      g_autoptr(OwClient) client = new_client (url, "/etc/ssl/certs/ca-certificates.crt");

      g_assert_false (SYNC (ow_client_ping_finish (client, r, &error), ow_client_ping_async (client, CB)));
      g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_TLS);
      g_clear_error (&error);
    }

  /* plain HTTP to the TLS port: the loopback URL is allowed, the answer is not HTTP */
  http_url = g_strdup_printf ("http://%s", url + strlen ("https://"));
  {
    g_autoptr(OwClient) client = new_client (http_url, NULL);

    g_assert_false (SYNC (ow_client_ping_finish (client, r, &error), ow_client_ping_async (client, CB)));
    g_assert_nonnull (error);
    g_clear_error (&error);
  }

  ot_gateway_stop (gw);
}

static void
test_bad_ca_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwClient) client = ow_client_new ("https://pay.example.com", "/nonexistent/ca.pem", &error);

  g_assert_null (client);
  g_assert_nonnull (error);
}
#endif

/* ---- a misbehaving server on loopback ----------------------------------- */

#define ROGUE_TOKEN "ws_rogue_session_token_0123456789"

typedef struct
{
  SoupServer *server;
  char       *url;
  guint       hits;
  guint       followed;      /* requests to /elsewhere */
  char       *last_path;
  char       *last_query;
  char       *last_auth;
  char       *last_body;
} Rogue;

static void
rogue_handler (SoupServer        *server,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           data)
{
  Rogue *rogue = data;
  GUri *uri = soup_server_message_get_uri (msg);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);

  rogue->hits++;
  g_free (rogue->last_path);
  g_free (rogue->last_query);
  g_free (rogue->last_auth);
  g_free (rogue->last_body);
  rogue->last_path = g_strdup (path);
  rogue->last_query = g_strdup (g_uri_get_query (uri));
  rogue->last_auth = g_strdup (soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                             "Authorization"));
  rogue->last_body = g_strndup (body->data, body->length);

  if (g_str_equal (path, "/elsewhere"))
    {
      rogue->followed++;
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                        "{\"status\":\"ok\"}", 15);
    }
  else if (g_str_equal (path, "/healthz") && g_strcmp0 (g_uri_get_query (uri), NULL) == 0 &&
           rogue->hits == 1)
    {
      g_autofree char *target = g_strdup_printf ("%s/elsewhere", rogue->url);

      soup_server_message_set_redirect (msg, 307, target);
    }
  else if (g_str_equal (path, "/v1/wallet/card"))
    {
      /* 2 MiB of a JSON string, declared */
      GString *big = g_string_new ("{\"x\":\"");

      while (big->len < 2 * 1024 * 1024)
        g_string_append (big, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
      g_string_append (big, "\"}");
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE,
                                        big->str, big->len);
      g_string_free (big, FALSE);
    }
  else if (g_str_equal (path, "/v1/wallet/history"))
    {
      /* the same, chunked: no Content-Length to refuse it early */
      soup_message_headers_set_encoding (response, SOUP_ENCODING_CHUNKED);
      soup_server_message_set_status (msg, 200, NULL);
      for (guint i = 0; i < 40; i++)
        {
          char *chunk = g_malloc (65536);

          memset (chunk, ' ', 65536);
          soup_message_body_append (soup_server_message_get_response_body (msg),
                                    SOUP_MEMORY_TAKE, chunk, 65536);
        }
      soup_message_body_complete (soup_server_message_get_response_body (msg));
    }
  else if (g_str_equal (path, "/v1/wallet/sessions"))
    {
      static const char session[] = "{\"id\":\"ses_1\",\"token\":\"" ROGUE_TOKEN "\","
                                    "\"user\":\"usr_1\",\"created\":1,\"expires_at\":2}";

      soup_server_message_set_status (msg, 201, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, session,
                                        strlen (session));
    }
  else if (g_str_equal (path, "/v1/wallet/me"))
    {
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "text/html", SOUP_MEMORY_STATIC, "<html>", 6);
    }
  else if (g_str_equal (path, "/v1/wallet/funding-sources"))
    {
      soup_server_message_set_status (msg, 502, NULL);
      soup_server_message_set_response (msg, "text/html", SOUP_MEMORY_STATIC, "Bad gateway", 11);
    }
  else
    {
      /* everything else: a well-formed answer of the wrong shape */
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                        "{\"id\":42}", 9);
    }
}

static Rogue *
rogue_start (void)
{
  Rogue *rogue = g_new0 (Rogue, 1);
  g_autoptr(GError) error = NULL;
  GSList *uris;

  rogue->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (rogue->server, NULL, rogue_handler, rogue, NULL);
  soup_server_listen_local (rogue->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (rogue->server);
  rogue->url = g_uri_to_string (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  if (g_str_has_suffix (rogue->url, "/"))
    rogue->url[strlen (rogue->url) - 1] = '\0';
  return rogue;
}

static void
rogue_stop (Rogue *rogue)
{
  soup_server_disconnect (rogue->server);
  g_object_unref (rogue->server);
  g_free (rogue->url);
  g_free (rogue->last_path);
  g_free (rogue->last_query);
  g_free (rogue->last_auth);
  g_free (rogue->last_body);
  g_free (rogue);
}

static void
test_rogue_answers (void)
{
  Rogue *rogue = rogue_start ();
  g_autoptr(OwClient) client = new_client (rogue->url, NULL);
  g_autoptr(GError) error = NULL;
  gpointer result;

  /* a redirect is an error, and is not followed */
  g_assert_false (SYNC (ow_client_ping_finish (client, r, &error), ow_client_ping_async (client, CB)));
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
  g_clear_error (&error);
  g_assert_cmpuint (rogue->followed, ==, 0);

  /* a session call without a token never leaves the process */
  result = SYNC (ow_client_get_card_finish (client, r, &error), ow_client_get_card_async (client, CB));
  g_assert_null (result);
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_NOT_SIGNED_IN);
  g_clear_error (&error);
  g_assert_cmpuint (rogue->hits, ==, 1);

  ow_client_set_token (client, "ws_test_token_value");

  /* answers over 1 MiB, declared or chunked */
  result = SYNC (ow_client_get_card_finish (client, r, &error), ow_client_get_card_async (client, CB));
  g_assert_null (result);
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
  g_clear_error (&error);
  result = SYNC (ow_client_history_finish (client, r, &error), ow_client_history_async (client, 20, NULL, CB));
  g_assert_null (result);
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
  g_clear_error (&error);

  /* not JSON; an error page that is not the error object; the wrong shape */
  result = SYNC (ow_client_get_profile_finish (client, r, &error), ow_client_get_profile_async (client, CB));
  g_assert_null (result);
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
  g_clear_error (&error);
  result = SYNC (ow_client_list_funding_sources_finish (client, r, &error),
                 ow_client_list_funding_sources_async (client, CB));
  g_assert_null (result);
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
  g_clear_error (&error);
  result = SYNC (ow_client_charge_finish (client, r, &error),
                 ow_client_charge_async (client, "fs_1", 10000, "123", NULL, "key-1", CB));
  g_assert_null (result);
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL);
  g_clear_error (&error);

  /* where the secrets went: the token in the header, the CVC in the body,
   * neither in the URL */
  g_assert_cmpstr (rogue->last_path, ==, "/v1/wallet/charges");
  g_assert_null (rogue->last_query);
  g_assert_cmpstr (rogue->last_auth, ==, "Bearer ws_test_token_value");
  g_assert_nonnull (strstr (rogue->last_body, "\"cvc\":\"123\""));

  /* the history cursor is escaped into the query */
  SYNC (ow_client_history_finish (client, r, NULL),
        ow_client_history_async (client, 500, "ln_5&limit=1", CB));
  g_assert_cmpstr (rogue->last_query, ==, "limit=100&starting_after=ln_5%26limit%3D1");

  rogue_stop (rogue);
}

/* Turns the main loop until a wiped region was exactly @text: libsoup lets
 * go of a request's body when it is done with the message. */
static void
wait_wiped (const char *text)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!ow_test_wiped_exactly (text, strlen (text)))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("no copy of %s was wiped within 10 s", text);
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
}

static gboolean
is_read_chunk (const guint8 *data,
               gsize         len)
{
  return len == 65536;
}

static gboolean
is_session_answer (const guint8 *data,
                   gsize         len)
{
  static const char prefix[] = "{\"id\":\"ses_1\",\"token\":";

  return len > strlen (prefix) && memcmp (data, prefix, strlen (prefix)) == 0;
}

/* The client's own copies of a password and a session token are wiped
 * before they are freed: the request body (as sent, and the builder's
 * strings), the Authorization header it builds, the answer as read (the
 * read buffer and the whole answer). */
static void
test_secrets_wiped (void)
{
  Rogue *rogue = rogue_start ();
  g_autoptr(OwClient) client = new_client (rogue->url, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(OwSession) session = NULL;

  ow_test_wiped_watch ("tiger lily 42");
  session = SYNC (ow_client_sign_in_finish (client, r, &error),
                  ow_client_sign_in_async (client, "kim", "tiger lily 42", CB));
  g_assert_no_error (error);
  g_assert_cmpstr (rogue->last_body, ==, "{\"login_id\":\"kim\",\"password\":\"tiger lily 42\"}");
  g_assert_true (ow_test_wiped_exactly ("tiger lily 42", 13));
  wait_wiped ("{\"login_id\":\"kim\",\"password\":\"tiger lily 42\"}");
  ow_test_wiped_stop ();
  g_clear_pointer (&session, ow_session_free);

  ow_test_wiped_watch (ROGUE_TOKEN);
  session = SYNC (ow_client_sign_in_finish (client, r, &error),
                  ow_client_sign_in_async (client, "kim", "tiger lily 42", CB));
  g_assert_no_error (error);
  g_assert_cmpstr (session->token, ==, ROGUE_TOKEN);
  g_assert_true (ow_test_wiped_any (is_read_chunk));
  g_assert_true (ow_test_wiped_any (is_session_answer));
  g_assert_true (SYNC (ow_client_sign_out_finish (client, r, &error),
                       ow_client_sign_out_async (client, CB)));
  g_assert_no_error (error);
  g_assert_cmpstr (rogue->last_auth, ==, "Bearer " ROGUE_TOKEN);
  g_assert_true (ow_test_wiped_exactly ("Bearer " ROGUE_TOKEN, strlen ("Bearer " ROGUE_TOKEN)));
  ow_test_wiped_stop ();

  rogue_stop (rogue);
}

/* ---- the wallet API, on the real gateway -------------------------------- */

/* Fast sign-ins: the gateway's PBKDF2 cost is the wallet-api suite's to test. */
#define WALLET_CONFIG "[wallet]\npbkdf2_iterations=2000\n"

typedef struct
{
  OtBank    *bank;       /* NULL: no financial system configured */
  OtGateway *gw;
  OwClient  *client;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  gboolean with_bank = GPOINTER_TO_INT (data);
  g_autofree char *bank_config = NULL;
  g_autofree char *config = NULL;

  if (with_bank)
    {
      f->bank = ot_bank_start (NULL);
      bank_config = ot_bank_gateway_config (f->bank, 5, NULL);
    }
  config = g_strconcat (WALLET_CONFIG, bank_config, NULL);
  f->gw = ot_gateway_start (config, FALSE);
  f->client = new_client (ot_gateway_url (f->gw), NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->client);
  ot_gateway_stop (f->gw);
  if (f->bank != NULL)
    ot_bank_stop (f->bank);
}

static OwProfile *
register_user (Fixture    *f,
               const char *login_id,
               GError    **error)
{
  OwClient *c = f->client;

  return SYNC (ow_client_register_finish (c, r, error),
               ow_client_register_async (c, login_id, "correct horse battery", "김 철수",
                                         "chulsoo@example.com", NULL, "ko", CB));
}

static void
sign_in (Fixture    *f,
         const char *login_id)
{
  g_autoptr(GError) error = NULL;
  OwClient *c = f->client;
  g_autoptr(OwSession) session =
    SYNC (ow_client_sign_in_finish (c, r, &error),
          ow_client_sign_in_async (c, login_id, "correct horse battery", CB));

  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (session->token, "ws_"));
  g_assert_true (ow_client_has_token (c));
}

static void
test_accounts (Fixture       *f,
               gconstpointer  data)
{
  OwClient *c = f->client;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwProfile) profile = register_user (f, "chulsoo", &error);
  g_autoptr(OwSession) session = NULL;
  g_autofree char *token = NULL;
  gpointer none;

  g_assert_no_error (error);
  g_assert_cmpstr (profile->login_id, ==, "chulsoo");
  g_assert_cmpstr (profile->name, ==, "김 철수");
  g_assert_cmpstr (profile->receipt_channel, ==, "email");
  g_assert_null (profile->card_id);
  g_clear_pointer (&profile, ow_profile_free);

  /* the same login again; a short password */
  profile = register_user (f, "ChulSoo", &error);
  g_assert_null (profile);
  assert_api_error (error, OW_API_ERROR_CONFLICT, 409, "login_id_taken", NULL);
  g_clear_error (&error);
  profile = SYNC (ow_client_register_finish (c, r, &error),
                  ow_client_register_async (c, "younghee", "short", "Younghee", "y@example.com",
                                            NULL, NULL, CB));
  g_assert_null (profile);
  assert_api_error (error, OW_API_ERROR_INVALID_REQUEST, 400, "parameter_invalid", "password");
  g_clear_error (&error);

  /* a wrong password and an unknown login look the same */
  session = SYNC (ow_client_sign_in_finish (c, r, &error),
                  ow_client_sign_in_async (c, "chulsoo", "not the password", CB));
  g_assert_null (session);
  assert_api_error (error, OW_API_ERROR_INVALID_LOGIN, 401, "invalid_login", NULL);
  g_clear_error (&error);
  g_assert_false (ow_client_has_token (c));

  sign_in (f, "chulsoo");
  profile = SYNC (ow_client_get_profile_finish (c, r, &error), ow_client_get_profile_async (c, CB));
  g_assert_no_error (error);
  g_assert_cmpstr (profile->email, ==, "chulsoo@example.com");
  g_clear_pointer (&profile, ow_profile_free);

  /* receipts by SMS need a phone number */
  profile = SYNC (ow_client_update_profile_finish (c, r, &error),
                  ow_client_update_profile_async (c, NULL, NULL, NULL, "sms", NULL, CB));
  g_assert_null (profile);
  assert_api_error (error, OW_API_ERROR_INVALID_REQUEST, 400, NULL, "receipt_channel");
  g_clear_error (&error);
  profile = SYNC (ow_client_update_profile_finish (c, r, &error),
                  ow_client_update_profile_async (c, NULL, NULL, "010-1234-5678", "sms", "en", CB));
  g_assert_no_error (error);
  g_assert_cmpstr (profile->receipt_channel, ==, "sms");
  g_assert_cmpstr (profile->phone, ==, "010-1234-5678");
  g_assert_cmpstr (profile->locale, ==, "en");
  g_clear_pointer (&profile, ow_profile_free);

  /* signing out revokes the token on the gateway, not only in the client */
  session = SYNC (ow_client_sign_in_finish (c, r, &error),
                  ow_client_sign_in_async (c, "chulsoo", "correct horse battery", CB));
  g_assert_no_error (error);
  token = g_strdup (session->token);
  g_assert_true (SYNC (ow_client_sign_out_finish (c, r, &error), ow_client_sign_out_async (c, CB)));
  g_assert_no_error (error);
  g_assert_false (ow_client_has_token (c));
  none = SYNC (ow_client_get_profile_finish (c, r, &error), ow_client_get_profile_async (c, CB));
  g_assert_null (none);
  g_assert_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_NOT_SIGNED_IN);
  g_clear_error (&error);
  ow_client_set_token (c, token);
  none = SYNC (ow_client_get_profile_finish (c, r, &error), ow_client_get_profile_async (c, CB));
  g_assert_null (none);
  assert_api_error (error, OW_API_ERROR_UNAUTHORIZED, 401, NULL, NULL);
}

static void
test_card_and_funding (Fixture       *f,
                       gconstpointer  data)
{
  OwClient *c = f->client;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwProfile) profile = register_user (f, "younghee", &error);
  g_autoptr(OwCard) card = NULL;
  g_autoptr(OwCard) again = NULL;
  g_autoptr(OwFundingSource) credit = NULL;
  g_autoptr(OwFundingSource) bank = NULL;
  g_autoptr(GPtrArray) sources = NULL;
  g_autoptr(OwHistoryPage) page = NULL;
  g_autofree char *key = ow_client_new_idempotency_key ();

  g_assert_no_error (error);
  sign_in (f, "younghee");

  card = SYNC (ow_client_get_card_finish (c, r, &error), ow_client_get_card_async (c, CB));
  g_assert_null (card);
  assert_api_error (error, OW_API_ERROR_NOT_FOUND, 404, "resource_missing", NULL);
  g_clear_error (&error);

  /* the one answer with the number and CVC; its replay is the same */
  card = SYNC (ow_client_apply_card_finish (c, r, &error), ow_client_apply_card_async (c, "2580", key, CB));
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (card->number), ==, 16);
  g_assert_true (ot_luhn_valid (card->number));
  g_assert_cmpuint (strlen (card->cvc), ==, 3);
  g_assert_cmpstr (card->last4, ==, card->number + 12);
  g_assert_cmpint (card->balance, ==, 0);
  g_assert_cmpstr (card->state, ==, "active");
  again = SYNC (ow_client_apply_card_finish (c, r, &error), ow_client_apply_card_async (c, "2580", key, CB));
  g_assert_no_error (error);
  g_assert_cmpstr (again->number, ==, card->number);
  g_clear_pointer (&again, ow_card_free);

  /* a second card under another key: one per account */
  again = SYNC (ow_client_apply_card_finish (c, r, &error),
                ow_client_apply_card_async (c, "2580", "another-key", CB));
  g_assert_null (again);
  assert_api_error (error, OW_API_ERROR_CONFLICT, 409, "card_already_issued", NULL);
  g_clear_error (&error);

  /* the card as the main view shows it: masked, fresh */
  again = SYNC (ow_client_get_card_finish (c, r, &error), ow_client_get_card_async (c, CB));
  g_assert_no_error (error);
  g_assert_null (again->number);
  g_assert_null (again->cvc);
  g_assert_true (g_str_has_suffix (again->masked_number, card->last4));
  g_assert_null (strstr (again->masked_number, card->number));
  g_assert_cmpint (again->exp_month, ==, card->exp_month);

  /* it is a onepin card like any other: the card-holder API sees it */
  {
    g_autoptr(JsonObject) balance = ot_card_balance (f->gw, card->number, "2580");

    g_assert_cmpint (ot_json_int (balance, "balance"), ==, 0);
  }

  credit = SYNC (ow_client_add_funding_source_finish (c, r, &error),
                 ow_client_add_credit_card_async (c, "4111111111111111", "12/39", "KIM YOUNGHEE",
                                                  NULL, CB));
  g_assert_no_error (error);
  g_assert_cmpint (credit->type, ==, OW_FUNDING_CREDIT_CARD);
  g_assert_cmpstr (credit->last4, ==, "1111");
  g_assert_null (strstr (credit->masked_number, "411111"));
  g_assert_cmpint (credit->exp_year, ==, 2039);

  bank = SYNC (ow_client_add_funding_source_finish (c, r, &error),
               ow_client_add_bank_account_async (c, "004", "123-456-789012", "김영희", NULL, CB));
  g_assert_no_error (error);
  g_assert_cmpint (bank->type, ==, OW_FUNDING_BANK_ACCOUNT);
  g_assert_cmpstr (bank->last4, ==, "9012");
  g_assert_cmpstr (bank->bank_code, ==, "004");

  /* the card's own number is no funding source */
  {
    g_autoptr(OwFundingSource) own =
      SYNC (ow_client_add_funding_source_finish (c, r, &error),
            ow_client_add_credit_card_async (c, card->number, "12/39", "KIM", NULL, CB));

    g_assert_null (own);
    assert_api_error (error, OW_API_ERROR_INVALID_REQUEST, 400, "onepin_card_not_allowed", NULL);
    g_clear_error (&error);
  }

  sources = SYNC (ow_client_list_funding_sources_finish (c, r, &error),
                  ow_client_list_funding_sources_async (c, CB));
  g_assert_no_error (error);
  g_assert_cmpuint (sources->len, ==, 2);
  g_clear_pointer (&sources, g_ptr_array_unref);

  g_assert_true (SYNC (ow_client_delete_funding_source_finish (c, r, &error),
                       ow_client_delete_funding_source_async (c, bank->id, CB)));
  g_assert_no_error (error);
  g_assert_false (SYNC (ow_client_delete_funding_source_finish (c, r, &error),
                        ow_client_delete_funding_source_async (c, bank->id, CB)));
  assert_api_error (error, OW_API_ERROR_NOT_FOUND, 404, NULL, NULL);
  g_clear_error (&error);
  sources = SYNC (ow_client_list_funding_sources_finish (c, r, &error),
                  ow_client_list_funding_sources_async (c, CB));
  g_assert_no_error (error);
  g_assert_cmpuint (sources->len, ==, 1);

  page = SYNC (ow_client_history_finish (c, r, &error), ow_client_history_async (c, 20, NULL, CB));
  g_assert_no_error (error);
  g_assert_false (page->has_more);

  /* the profile now names the card */
  g_clear_pointer (&profile, ow_profile_free);
  profile = SYNC (ow_client_get_profile_finish (c, r, &error), ow_client_get_profile_async (c, CB));
  g_assert_no_error (error);
  g_assert_cmpstr (profile->card_id, ==, card->id);
}

/* The card's telephone lines: none before the card, the account's password
 * to add one, shown by the last four digits, removed by the id. */
static void
test_calling_numbers (Fixture       *f,
                      gconstpointer  data)
{
  OwClient *c = f->client;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwProfile) profile = register_user (f, "minsu", &error);
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(OwCallingNumber) line = NULL;
  g_autoptr(OwCard) card = NULL;
  OwCallingNumber *listed;

  g_assert_no_error (error);
  sign_in (f, "minsu");
  lines = SYNC (ow_client_list_calling_numbers_finish (c, r, &error),
                ow_client_list_calling_numbers_async (c, CB));
  g_assert_null (lines);
  assert_api_error (error, OW_API_ERROR_CONFLICT, 409, "card_not_issued", NULL);
  g_clear_error (&error);
  card = SYNC (ow_client_apply_card_finish (c, r, &error),
               ow_client_apply_card_async (c, "2580", NULL, CB));
  g_assert_no_error (error);

  line = SYNC (ow_client_add_calling_number_finish (c, r, &error),
               ow_client_add_calling_number_async (c, "01055566677", "not the password", CB));
  g_assert_null (line);
  assert_api_error (error, OW_API_ERROR_INVALID_REQUEST, 400, "password_incorrect",
                    "current_password");
  g_clear_error (&error);
  line = SYNC (ow_client_add_calling_number_finish (c, r, &error),
               ow_client_add_calling_number_async (c, "010-5556-6677", "correct horse battery",
                                                   CB));
  g_assert_null (line);
  assert_api_error (error, OW_API_ERROR_INVALID_REQUEST, 400, "parameter_invalid",
                    "calling_number");
  g_clear_error (&error);
  line = SYNC (ow_client_add_calling_number_finish (c, r, &error),
               ow_client_add_calling_number_async (c, "+821055566677", "correct horse battery",
                                                   CB));
  g_assert_no_error (error);
  g_assert_cmpstr (line->last4, ==, "6677");
  g_assert_true (line->registered);
  g_assert_true (g_str_has_prefix (line->id, "cn_"));

  lines = SYNC (ow_client_list_calling_numbers_finish (c, r, &error),
                ow_client_list_calling_numbers_async (c, CB));
  g_assert_no_error (error);
  g_assert_cmpuint (lines->len, ==, 1);
  listed = g_ptr_array_index (lines, 0);
  g_assert_cmpstr (listed->id, ==, line->id);
  g_assert_cmpint (listed->created, >, 0);

  g_assert_true (SYNC (ow_client_remove_calling_number_finish (c, r, &error),
                       ow_client_remove_calling_number_async (c, line->id, CB)));
  g_assert_no_error (error);
  g_assert_false (SYNC (ow_client_remove_calling_number_finish (c, r, &error),
                        ow_client_remove_calling_number_async (c, line->id, CB)));
  assert_api_error (error, OW_API_ERROR_NOT_FOUND, 404, "resource_missing", "id");
  g_clear_error (&error);
  g_clear_pointer (&lines, g_ptr_array_unref);
  lines = SYNC (ow_client_list_calling_numbers_finish (c, r, &error),
                ow_client_list_calling_numbers_async (c, CB));
  g_assert_no_error (error);
  g_assert_cmpuint (lines->len, ==, 0);
}

/* Without a financial system configured a charge is refused as unavailable,
 * and nothing moves. */
static void
test_charge_without_bank (Fixture       *f,
                          gconstpointer  data)
{
  OwClient *c = f->client;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwProfile) profile = register_user (f, "minsu", &error);
  g_autofree char *key = ow_client_new_idempotency_key ();
  g_autoptr(OwCard) card = NULL;
  g_autoptr(OwFundingSource) credit = NULL;
  g_autoptr(OwCharge) charge = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (profile->login_id, ==, "minsu");
  sign_in (f, "minsu");
  card = SYNC (ow_client_apply_card_finish (c, r, &error), ow_client_apply_card_async (c, "2580", key, CB));
  g_assert_no_error (error);
  credit = SYNC (ow_client_add_funding_source_finish (c, r, &error),
                 ow_client_add_credit_card_async (c, "4111111111111111", "12/39", "MINSU", NULL, CB));
  g_assert_no_error (error);

  /* an amount off the 10,000-won steps */
  charge = SYNC (ow_client_charge_finish (c, r, &error),
                 ow_client_charge_async (c, credit->id, 15000, "123", NULL, "charge-1", CB));
  g_assert_null (charge);
  assert_api_error (error, OW_API_ERROR_INVALID_REQUEST, 400, NULL, "amount");
  g_clear_error (&error);

  charge = SYNC (ow_client_charge_finish (c, r, &error),
                 ow_client_charge_async (c, credit->id, 50000, "123", NULL, "charge-2", CB));
  g_assert_null (charge);
  assert_api_error (error, OW_API_ERROR_UNAVAILABLE, 503, "bank_unavailable", NULL);
  g_clear_error (&error);

  g_clear_pointer (&card, ow_card_free);
  card = SYNC (ow_client_get_card_finish (c, r, &error), ow_client_get_card_async (c, CB));
  g_assert_no_error (error);
  g_assert_cmpint (card->balance, ==, 0);
}

static OwCharge *
charge (Fixture    *f,
        const char *source,
        gint64      amount,
        const char *cvc,
        const char *account_password,
        const char *key,
        GError    **error)
{
  OwClient *c = f->client;

  return SYNC (ow_client_charge_finish (c, r, error),
               ow_client_charge_async (c, source, amount, cvc, account_password, key, CB));
}

/* Charges through the real onepin-bank: approved, replayed, declined, from a
 * bank account; the card's balance and history follow. */
static void
test_charge_with_bank (Fixture       *f,
                       gconstpointer  data)
{
  OwClient *c = f->client;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwProfile) profile = register_user (f, "jiwoo", &error);
  g_autofree char *key = ow_client_new_idempotency_key ();
  g_autoptr(OwCard) card = NULL;
  g_autoptr(OwFundingSource) credit = NULL;
  g_autoptr(OwFundingSource) declining = NULL;
  g_autoptr(OwFundingSource) account = NULL;
  g_autoptr(OwCharge) first = NULL;
  g_autoptr(OwCharge) replay = NULL;
  g_autoptr(OwCharge) none = NULL;
  g_autoptr(OwCharge) from_account = NULL;
  g_autoptr(OwHistoryPage) page = NULL;
  gint64 rich_before;

  g_assert_no_error (error);
  g_assert_cmpstr (profile->login_id, ==, "jiwoo");
  sign_in (f, "jiwoo");
  card = SYNC (ow_client_apply_card_finish (c, r, &error), ow_client_apply_card_async (c, "2580", key, CB));
  g_assert_no_error (error);
  credit = SYNC (ow_client_add_funding_source_finish (c, r, &error),
                 ow_client_add_credit_card_async (c, OT_BANK_CARD_APPROVE, "12/39", "JIWOO", NULL, CB));
  g_assert_no_error (error);
  declining = SYNC (ow_client_add_funding_source_finish (c, r, &error),
                    ow_client_add_credit_card_async (c, OT_BANK_CARD_DECLINE, "12/39", "JIWOO", NULL, CB));
  g_assert_no_error (error);
  account = SYNC (ow_client_add_funding_source_finish (c, r, &error),
                  ow_client_add_bank_account_async (c, OT_BANK_CODE, OT_BANK_ACCOUNT_RICH, "JIWOO", NULL, CB));
  g_assert_no_error (error);

  first = charge (f, credit->id, 50000, "123", NULL, "charge-a", &error);
  g_assert_no_error (error);
  g_assert_cmpint (first->amount, ==, 50000);
  g_assert_cmpint (first->balance_after, ==, 50000);
  g_assert_cmpstr (first->card_id, ==, card->id);

  /* the same key again is the same charge, not a second one */
  replay = charge (f, credit->id, 50000, "123", NULL, "charge-a", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (replay->id, ==, first->id);
  ot_assert_card_balance (f->gw, card->number, "2580", 50000, 50000);

  none = charge (f, declining->id, 10000, "123", NULL, "charge-b", &error);
  g_assert_null (none);
  assert_api_error (error, OW_API_ERROR_DECLINED, 402, "funding_declined", NULL);
  g_assert_cmpstr (ow_api_error_get_decline_code (error), ==, "card_declined");
  g_clear_error (&error);

  rich_before = ot_bank_account_balance (f->bank, OT_BANK_ACCOUNT_RICH);
  from_account = charge (f, account->id, 20000, NULL, OT_BANK_ACCOUNT_PASSWORD, "charge-c", &error);
  g_assert_no_error (error);
  g_assert_cmpint (from_account->balance_after, ==, 70000);
  g_assert_cmpint (ot_bank_account_balance (f->bank, OT_BANK_ACCOUNT_RICH), ==, rich_before - 20000);

  page = SYNC (ow_client_history_finish (c, r, &error), ow_client_history_async (c, 1, NULL, CB));
  g_assert_no_error (error);
  g_assert_cmpuint (page->items->len, ==, 1);
  g_assert_true (page->has_more);
  {
    OwTransaction *newest = g_ptr_array_index (page->items, 0);
    g_autoptr(OwHistoryPage) next = NULL;

    g_assert_cmpstr (newest->type, ==, "charge");
    g_assert_cmpint (newest->amount, ==, 20000);
    g_assert_cmpint (newest->funding_type, ==, OW_FUNDING_BANK_ACCOUNT);
    g_assert_cmpstr (newest->funding_last4, ==, "0001");
    next = SYNC (ow_client_history_finish (c, r, &error),
                 ow_client_history_async (c, 10, newest->id, CB));
    g_assert_no_error (error);
    g_assert_cmpuint (next->items->len, ==, 1);
    g_assert_false (next->has_more);
    g_assert_cmpint (((OwTransaction *) g_ptr_array_index (next->items, 0))->amount, ==, 50000);
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#ifdef OW_TEST_TLS
  /* A program of its own: LeakSanitizer's exit-time scan crashes on the
   * dynamic TLS of glib-networking's GnuTLS module, so sanitizer builds run
   * this one without leak detection (ASan's other checks stay on). */
  g_test_add_func ("/client/https-verified", test_https_verified);
  g_test_add_func ("/client/bad-ca-file", test_bad_ca_file);
  return g_test_run ();
#endif

  g_test_add_func ("/client/url-rules", test_url_rules);
  g_test_add_func ("/client/http-loopback", test_http_loopback);
  g_test_add_func ("/client/rogue-answers", test_rogue_answers);
  g_test_add_func ("/client/secrets-wiped", test_secrets_wiped);
  g_test_add ("/client/accounts", Fixture, NULL, fixture_set_up, test_accounts, fixture_tear_down);
  g_test_add ("/client/card-and-funding", Fixture, NULL, fixture_set_up, test_card_and_funding,
              fixture_tear_down);
  g_test_add ("/client/calling-numbers", Fixture, NULL, fixture_set_up, test_calling_numbers,
              fixture_tear_down);
  g_test_add ("/client/charge-without-bank", Fixture, NULL, fixture_set_up,
              test_charge_without_bank, fixture_tear_down);
  g_test_add ("/client/charge-with-bank", Fixture, GINT_TO_POINTER (TRUE), fixture_set_up,
              test_charge_with_bank, fixture_tear_down);

  return g_test_run ();
}
