/* ow-client.c: the wallet's client of the gateway's wallet API
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-client.h"

#include <string.h>

#include <libsoup/soup.h>

#include "onepin-crypto.h"
#include "onepin-json.h"
#include "ow-secret.h"

#define MAX_ANSWER (1024 * 1024)
#define READ_CHUNK 65536
#define IO_TIMEOUT_SECONDS 30

struct _OwClient
{
  GObject      parent_instance;

  char        *base_url;     /* no trailing slash */
  SoupSession *session;
  char        *token;        /* NULL when signed out */
};

G_DEFINE_FINAL_TYPE (OwClient, ow_client, G_TYPE_OBJECT)

G_DEFINE_QUARK (ow-client-error-quark, ow_client_error)

/* ---- the gateway's error object, carried in a GError -------------------- */

typedef struct
{
  guint  status;
  char  *code;
  char  *decline_code;
  char  *param;
} OwApiErrorPrivate;

static void
ow_api_error_private_init (OwApiErrorPrivate *priv)
{
}

static void
ow_api_error_private_copy (const OwApiErrorPrivate *src,
                           OwApiErrorPrivate       *dest)
{
  dest->status = src->status;
  dest->code = g_strdup (src->code);
  dest->decline_code = g_strdup (src->decline_code);
  dest->param = g_strdup (src->param);
}

static void
ow_api_error_private_clear (OwApiErrorPrivate *priv)
{
  g_clear_pointer (&priv->code, g_free);
  g_clear_pointer (&priv->decline_code, g_free);
  g_clear_pointer (&priv->param, g_free);
}

G_DEFINE_EXTENDED_ERROR (OwApiError, ow_api_error)

/* NULL for an error of another domain (a network error, say), which the
 * generated getter would complain of. */
static OwApiErrorPrivate *
api_error_private (const GError *error)
{
  return error != NULL && error->domain == OW_API_ERROR ? ow_api_error_get_private (error) : NULL;
}

guint
ow_api_error_get_status (const GError *error)
{
  OwApiErrorPrivate *priv = api_error_private (error);

  return priv != NULL ? priv->status : 0;
}

const char *
ow_api_error_get_code (const GError *error)
{
  OwApiErrorPrivate *priv = api_error_private (error);

  return priv != NULL ? priv->code : NULL;
}

const char *
ow_api_error_get_decline_code (const GError *error)
{
  OwApiErrorPrivate *priv = api_error_private (error);

  return priv != NULL ? priv->decline_code : NULL;
}

const char *
ow_api_error_get_param (const GError *error)
{
  OwApiErrorPrivate *priv = api_error_private (error);

  return priv != NULL ? priv->param : NULL;
}

static OwApiError
api_error_for (guint       status,
               const char *code)
{
  switch (status)
    {
    case 400: return OW_API_ERROR_INVALID_REQUEST;
    case 401: return g_strcmp0 (code, "invalid_login") == 0 ? OW_API_ERROR_INVALID_LOGIN
                                                             : OW_API_ERROR_UNAUTHORIZED;
    case 402: return OW_API_ERROR_DECLINED;
    case 404: return OW_API_ERROR_NOT_FOUND;
    case 409: return OW_API_ERROR_CONFLICT;
    case 429: return OW_API_ERROR_RATE_LIMITED;
    case 503: return OW_API_ERROR_UNAVAILABLE;
    default:  return status >= 500 ? OW_API_ERROR_SERVER : OW_API_ERROR_FAILED;
    }
}

/* FALSE when @body is not the contract's error object. */
static gboolean
set_api_error (GError     **error,
               guint        status,
               const char  *body,
               gsize        len)
{
  g_autoptr(JsonObject) root = onepin_json_parse_object (body, len, NULL);
  JsonNode *node = root != NULL ? json_object_get_member (root, "error") : NULL;
  JsonObject *object;
  const char *code;
  const char *message;
  GError *api_error;
  OwApiErrorPrivate *priv;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;

  object = json_node_get_object (node);
  code = onepin_json_get_string (object, "code", NULL);
  message = onepin_json_get_string (object, "message", NULL);
  api_error = g_error_new (OW_API_ERROR, api_error_for (status, code), "%s",
                           message != NULL ? message : "The gateway refused the request");
  priv = ow_api_error_get_private (api_error);
  priv->status = status;
  priv->code = g_strdup (code);
  priv->decline_code = g_strdup (onepin_json_get_string (object, "decline_code", NULL));
  priv->param = g_strdup (onepin_json_get_string (object, "param", NULL));
  g_propagate_error (error, api_error);
  return TRUE;
}

/* ---- URLs --------------------------------------------------------------- */

static gboolean
host_is_loopback_literal (const char *host)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (host);

  return address != NULL && g_inet_address_get_is_loopback (address);
}

gboolean
ow_client_check_url (const char  *url,
                     GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;
  const char *host;
  const char *path;

  if (url != NULL)
    uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  host = uri != NULL ? g_uri_get_host (uri) : NULL;
  path = uri != NULL ? g_uri_get_path (uri) : NULL;

  if (uri == NULL || host == NULL || host[0] == '\0' ||
      g_uri_get_userinfo (uri) != NULL || g_uri_get_query (uri) != NULL ||
      g_uri_get_fragment (uri) != NULL || (path[0] != '\0' && path[0] != '/'))
    {
      g_set_error_literal (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_INVALID_URL,
                           "The gateway address must be an http or https URL of a host, "
                           "with no user name, query or fragment");
      return FALSE;
    }

  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "https") == 0)
    return TRUE;
  if (g_ascii_strcasecmp (scheme, "http") != 0)
    {
      g_set_error_literal (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_INVALID_URL,
                           "The gateway address must start with https://");
      return FALSE;
    }

  /* A name, even "localhost", is whatever the resolver says it is. */
  if (!host_is_loopback_literal (host))
    {
      g_set_error_literal (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_INSECURE_URL,
                           "Plain HTTP is only allowed to this computer (127.0.0.1 or [::1]); "
                           "use https://");
      return FALSE;
    }
  return TRUE;
}

/* ---- the object --------------------------------------------------------- */

static void
ow_client_finalize (GObject *object)
{
  OwClient *self = OW_CLIENT (object);

  ow_client_set_token (self, NULL);
  g_clear_object (&self->session);
  g_free (self->base_url);

  G_OBJECT_CLASS (ow_client_parent_class)->finalize (object);
}

static void
ow_client_class_init (OwClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ow_client_finalize;

  /* Registers the extended error domain before any error is made. */
  (void) ow_api_error_quark ();
}

static void
ow_client_init (OwClient *self)
{
}

OwClient *
ow_client_new (const char  *base_url,
               const char  *ca_file,
               GError     **error)
{
  g_autoptr(OwClient) self = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autofree char *user_agent = g_strdup_printf ("onepin-wallet/%s", ONEPIN_VERSION);

  if (!ow_client_check_url (base_url, error))
    return NULL;

  self = g_object_new (OW_TYPE_CLIENT, NULL);
  self->base_url = g_strdup (base_url);
  while (g_str_has_suffix (self->base_url, "/"))
    self->base_url[strlen (self->base_url) - 1] = '\0';

  self->session = soup_session_new_with_options ("timeout", IO_TIMEOUT_SECONDS,
                                                 "idle-timeout", 60,
                                                 "user-agent", user_agent,
                                                 NULL);

  if (ca_file != NULL && ca_file[0] != '\0')
    {
      g_autoptr(GTlsDatabase) database = g_tls_file_database_new (ca_file, error);

      if (database == NULL)
        return NULL;
      soup_session_set_tls_database (self->session, database);
    }

  /* Loopback traffic never goes through a proxy. */
  uri = g_uri_parse (self->base_url, G_URI_FLAGS_NONE, NULL);
  if (host_is_loopback_literal (g_uri_get_host (uri)))
    soup_session_set_proxy_resolver (self->session, NULL);

  return g_steal_pointer (&self);
}

const char *
ow_client_get_base_url (OwClient *self)
{
  g_return_val_if_fail (OW_IS_CLIENT (self), NULL);
  return self->base_url;
}

void
ow_client_set_token (OwClient   *self,
                     const char *token)
{
  g_return_if_fail (OW_IS_CLIENT (self));

  g_clear_pointer (&self->token, ow_secret_free);
  self->token = g_strdup (token);
}

gboolean
ow_client_has_token (OwClient *self)
{
  g_return_val_if_fail (OW_IS_CLIENT (self), FALSE);
  return self->token != NULL;
}

char *
ow_client_new_idempotency_key (void)
{
  return onepin_crypto_random_token ("ow_", 16);
}

/* ---- one call ------------------------------------------------------------ */

typedef gpointer (*ParseFunc) (JsonObject *object, GError **error);

typedef enum
{
  CALL_PUBLIC,        /* no token needed */
  CALL_SESSION,       /* needs the session token */
} CallAuth;

/* Answers carry session tokens, and once the card's number and CVC: they
 * are read into buffers of ours (not GIO's read_bytes, whose blocks we could
 * not wipe), and both are wiped in call_free. */
typedef struct
{
  OwClient     *client;
  SoupMessage  *message;
  GInputStream *stream;
  guint8       *chunk;       /* READ_CHUNK bytes */
  GString      *answer;
  ParseFunc     parse;
  GDestroyNotify free_result;
} Call;

static void
call_free (Call *call)
{
  g_clear_object (&call->message);
  g_clear_object (&call->stream);
  if (call->chunk != NULL)
    ow_secret_wipe (call->chunk, READ_CHUNK);
  g_free (call->chunk);
  g_clear_pointer (&call->answer, ow_secret_string_free);
  g_clear_object (&call->client);
  g_free (call);
}

/* The request body holds passwords. Its text is written once into a block
 * of its own, wiped when libsoup lets go of the bytes; the strings the
 * builder holds are wiped here. */
static GBytes *
body_bytes (JsonBuilder *builder)
{
  gsize len;
  char *text = ow_secret_json_builder_finish (builder, &len);

  return ow_secret_bytes_new_take (text, len);
}

static void
return_error (GTask  *task,
              GError *error)
{
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
finish_answer (GTask *task)
{
  Call *call = g_task_get_task_data (task);
  guint status = soup_message_get_status (call->message);
  const char *body = call->answer->str;
  gsize len = call->answer->len;
  GError *error = NULL;
  /* tokens, the card's number: the result has copies of its own */
  g_autoptr(OwSecretJson) object = NULL;
  gpointer result;

  if (status >= 300 && status < 400)
    {
      return_error (task, g_error_new (OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL,
                                       "The gateway answered with a redirect (HTTP %u), "
                                       "which the wallet does not follow", status));
      return;
    }
  if (status < 200 || status >= 300)
    {
      if (!set_api_error (&error, status, body, len))
        error = g_error_new (OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL,
                             "The gateway answered HTTP %u", status);
      return_error (task, error);
      return;
    }

  object = onepin_json_parse_object (body, len, NULL);
  if (object == NULL)
    {
      return_error (task, g_error_new_literal (OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL,
                                               "The gateway's answer is not a JSON object"));
      return;
    }

  if (call->parse == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  result = call->parse (object, &error);
  if (result == NULL)
    {
      return_error (task, error);
      return;
    }

  g_task_return_pointer (task, result, call->free_result);
  g_object_unref (task);
}

static void read_more (GTask *task);

static void
on_read (GObject      *source,
         GAsyncResult *res,
         gpointer      data)
{
  GTask *task = data;
  Call *call = g_task_get_task_data (task);
  GError *error = NULL;
  gssize len = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);

  if (len < 0)
    {
      return_error (task, g_error_new (OW_CLIENT_ERROR, OW_CLIENT_ERROR_NETWORK,
                                       "The connection to the gateway broke: %s",
                                       error->message));
      g_error_free (error);
      return;
    }

  if (len == 0)
    return finish_answer (task);

  if (call->answer->len + (gsize) len > MAX_ANSWER)
    {
      return_error (task, g_error_new_literal (OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL,
                                               "The gateway's answer is too large"));
      return;
    }

  ow_secret_string_append_len (call->answer, (const char *) call->chunk, (gsize) len);
  read_more (task);
}

static void
read_more (GTask *task)
{
  Call *call = g_task_get_task_data (task);

  g_input_stream_read_async (call->stream, call->chunk, READ_CHUNK, G_PRIORITY_DEFAULT,
                             g_task_get_cancellable (task), on_read, task);
}

static GError *
transport_error (GError *error)
{
  GError *mapped;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;

  if (error->domain == G_TLS_ERROR)
    mapped = g_error_new (OW_CLIENT_ERROR, OW_CLIENT_ERROR_TLS,
                          "The gateway's certificate is not trusted: %s", error->message);
  else
    mapped = g_error_new (OW_CLIENT_ERROR, OW_CLIENT_ERROR_NETWORK,
                          "Cannot reach the gateway: %s", error->message);
  g_error_free (error);
  return mapped;
}

static void
on_sent (GObject      *source,
         GAsyncResult *res,
         gpointer      data)
{
  GTask *task = data;
  Call *call = g_task_get_task_data (task);
  GError *error = NULL;
  goffset declared;

  call->stream = soup_session_send_finish (SOUP_SESSION (source), res, &error);
  if (call->stream == NULL)
    {
      return_error (task, transport_error (error));
      return;
    }

  declared = soup_message_headers_get_content_length (soup_message_get_response_headers (call->message));
  if (declared > MAX_ANSWER)
    {
      return_error (task, g_error_new_literal (OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL,
                                               "The gateway's answer is too large"));
      return;
    }

  call->chunk = g_malloc (READ_CHUNK);
  call->answer = g_string_sized_new ((gsize) MAX (declared, 0));
  read_more (task);
}

static void
start_call (OwClient            *self,
            const char          *method,
            const char          *path,
            JsonBuilder         *body,
            const char          *idempotency_key,
            CallAuth             auth,
            ParseFunc            parse,
            GDestroyNotify       free_result,
            gpointer             source_tag,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *url = g_strconcat (self->base_url, path, NULL);
  Call *call = g_new0 (Call, 1);
  SoupMessageHeaders *headers;

  g_task_set_source_tag (task, source_tag);
  call->client = g_object_ref (self);
  call->parse = parse;
  call->free_result = free_result;
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);

  if (auth == CALL_SESSION && self->token == NULL)
    {
      return_error (task, g_error_new_literal (OW_CLIENT_ERROR, OW_CLIENT_ERROR_NOT_SIGNED_IN,
                                               "Not signed in to the gateway"));
      return;
    }

  call->message = soup_message_new (method, url);
  if (call->message == NULL)
    {
      return_error (task, g_error_new_literal (OW_CLIENT_ERROR, OW_CLIENT_ERROR_INVALID_URL,
                                               "Cannot make a request URL"));
      return;
    }

  /* A redirect could lead from https to http, or to another host. */
  soup_message_add_flags (call->message, SOUP_MESSAGE_NO_REDIRECT);
  headers = soup_message_get_request_headers (call->message);
  soup_message_headers_replace (headers, "Accept", "application/json");
  if (auth == CALL_SESSION)
    {
      /* libsoup keeps a copy of its own in the headers, freed unwiped. */
      g_autoptr(OwSecret) bearer = g_strconcat ("Bearer ", self->token, NULL);

      soup_message_headers_replace (headers, "Authorization", bearer);
    }
  if (idempotency_key != NULL)
    soup_message_headers_replace (headers, "Idempotency-Key", idempotency_key);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = body_bytes (body);

      soup_message_set_request_body_from_bytes (call->message, "application/json", bytes);
    }

  soup_session_send_async (self->session, call->message, G_PRIORITY_DEFAULT,
                           cancellable, on_sent, task);
}

static gpointer
finish_pointer (OwClient      *self,
                GAsyncResult  *result,
                gpointer       source_tag,
                GError       **error)
{
  g_return_val_if_fail (OW_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
finish_boolean (OwClient      *self,
                GAsyncResult  *result,
                gpointer       source_tag,
                GError       **error)
{
  g_return_val_if_fail (OW_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
add_string (JsonBuilder *builder,
            const char  *name,
            const char  *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

/* ---- the calls ---------------------------------------------------------- */

void
ow_client_ping_async (OwClient            *self,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_return_if_fail (OW_IS_CLIENT (self));

  start_call (self, "GET", "/healthz", NULL, NULL, CALL_PUBLIC, NULL, NULL,
              ow_client_ping_async, cancellable, callback, user_data);
}

gboolean
ow_client_ping_finish (OwClient      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  return finish_boolean (self, result, ow_client_ping_async, error);
}

void
ow_client_register_async (OwClient            *self,
                          const char          *login_id,
                          const char          *password,
                          const char          *name,
                          const char          *email,
                          const char          *phone,
                          const char          *locale,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(JsonBuilder) body = json_builder_new ();

  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (login_id != NULL && password != NULL && name != NULL && email != NULL);

  json_builder_begin_object (body);
  add_string (body, "login_id", login_id);
  add_string (body, "password", password);
  add_string (body, "name", name);
  add_string (body, "email", email);
  add_string (body, "phone", phone != NULL && phone[0] != '\0' ? phone : NULL);
  add_string (body, "locale", locale);
  json_builder_end_object (body);

  start_call (self, "POST", "/v1/wallet/users", body, NULL, CALL_PUBLIC,
              (ParseFunc) ow_profile_parse, (GDestroyNotify) ow_profile_free,
              ow_client_register_async, cancellable, callback, user_data);
}

OwProfile *
ow_client_register_finish (OwClient      *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  return finish_pointer (self, result, ow_client_register_async, error);
}

void
ow_client_sign_in_async (OwClient            *self,
                         const char          *login_id,
                         const char          *password,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(JsonBuilder) body = json_builder_new ();

  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (login_id != NULL && password != NULL);

  json_builder_begin_object (body);
  add_string (body, "login_id", login_id);
  add_string (body, "password", password);
  json_builder_end_object (body);

  start_call (self, "POST", "/v1/wallet/sessions", body, NULL, CALL_PUBLIC,
              (ParseFunc) ow_session_parse, (GDestroyNotify) ow_session_free,
              ow_client_sign_in_async, cancellable, callback, user_data);
}

OwSession *
ow_client_sign_in_finish (OwClient      *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  OwSession *session = finish_pointer (self, result, ow_client_sign_in_async, error);

  if (session != NULL)
    ow_client_set_token (self, session->token);
  return session;
}

void
ow_client_sign_out_async (OwClient            *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (OW_IS_CLIENT (self));

  start_call (self, "DELETE", "/v1/wallet/sessions/current", NULL, NULL, CALL_SESSION,
              NULL, NULL, ow_client_sign_out_async, cancellable, callback, user_data);
  /* The request already holds the header; from here on the token is gone. */
  ow_client_set_token (self, NULL);
}

gboolean
ow_client_sign_out_finish (OwClient      *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  return finish_boolean (self, result, ow_client_sign_out_async, error);
}

void
ow_client_get_profile_async (OwClient            *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (OW_IS_CLIENT (self));

  start_call (self, "GET", "/v1/wallet/me", NULL, NULL, CALL_SESSION,
              (ParseFunc) ow_profile_parse, (GDestroyNotify) ow_profile_free,
              ow_client_get_profile_async, cancellable, callback, user_data);
}

OwProfile *
ow_client_get_profile_finish (OwClient      *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  return finish_pointer (self, result, ow_client_get_profile_async, error);
}

void
ow_client_update_profile_async (OwClient            *self,
                                const char          *name,
                                const char          *email,
                                const char          *phone,
                                const char          *receipt_channel,
                                const char          *locale,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(JsonBuilder) body = json_builder_new ();

  g_return_if_fail (OW_IS_CLIENT (self));

  json_builder_begin_object (body);
  add_string (body, "name", name);
  add_string (body, "email", email);
  add_string (body, "phone", phone);
  add_string (body, "receipt_channel", receipt_channel);
  add_string (body, "locale", locale);
  json_builder_end_object (body);

  start_call (self, "POST", "/v1/wallet/me", body, NULL, CALL_SESSION,
              (ParseFunc) ow_profile_parse, (GDestroyNotify) ow_profile_free,
              ow_client_update_profile_async, cancellable, callback, user_data);
}

OwProfile *
ow_client_update_profile_finish (OwClient      *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return finish_pointer (self, result, ow_client_update_profile_async, error);
}

/* Both changes prove the user by the account's password. */
static void
start_password_change (OwClient            *self,
                       const char          *path,
                       const char          *current_password,
                       const char          *new_password,
                       const char          *idempotency_key,
                       ParseFunc            parse,
                       GDestroyNotify       free_func,
                       gpointer             source_tag,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(JsonBuilder) body = json_builder_new ();

  json_builder_begin_object (body);
  add_string (body, "current_password", current_password);
  add_string (body, "new_password", new_password);
  json_builder_end_object (body);

  start_call (self, "POST", path, body, idempotency_key, CALL_SESSION, parse, free_func,
              source_tag, cancellable, callback, user_data);
}

void
ow_client_change_password_async (OwClient            *self,
                                 const char          *current_password,
                                 const char          *new_password,
                                 const char          *idempotency_key,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (current_password != NULL && new_password != NULL);

  start_password_change (self, "/v1/wallet/me/password", current_password, new_password,
                         idempotency_key, (ParseFunc) ow_profile_parse,
                         (GDestroyNotify) ow_profile_free, ow_client_change_password_async,
                         cancellable, callback, user_data);
}

OwProfile *
ow_client_change_password_finish (OwClient      *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  return finish_pointer (self, result, ow_client_change_password_async, error);
}

void
ow_client_apply_card_async (OwClient            *self,
                            const char          *card_password,
                            const char          *idempotency_key,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(JsonBuilder) body = json_builder_new ();

  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (card_password != NULL);

  json_builder_begin_object (body);
  add_string (body, "password", card_password);
  json_builder_end_object (body);

  start_call (self, "POST", "/v1/wallet/card", body, idempotency_key, CALL_SESSION,
              (ParseFunc) ow_card_parse, (GDestroyNotify) ow_card_free,
              ow_client_apply_card_async, cancellable, callback, user_data);
}

OwCard *
ow_client_apply_card_finish (OwClient      *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return finish_pointer (self, result, ow_client_apply_card_async, error);
}

void
ow_client_change_card_password_async (OwClient            *self,
                                      const char          *account_password,
                                      const char          *new_card_password,
                                      const char          *idempotency_key,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (account_password != NULL && new_card_password != NULL);

  start_password_change (self, "/v1/wallet/card/password", account_password, new_card_password,
                         idempotency_key, (ParseFunc) ow_card_parse, (GDestroyNotify) ow_card_free,
                         ow_client_change_card_password_async, cancellable, callback, user_data);
}

OwCard *
ow_client_change_card_password_finish (OwClient      *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  return finish_pointer (self, result, ow_client_change_card_password_async, error);
}

void
ow_client_get_card_async (OwClient            *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (OW_IS_CLIENT (self));

  start_call (self, "GET", "/v1/wallet/card", NULL, NULL, CALL_SESSION,
              (ParseFunc) ow_card_parse, (GDestroyNotify) ow_card_free,
              ow_client_get_card_async, cancellable, callback, user_data);
}

OwCard *
ow_client_get_card_finish (OwClient      *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  return finish_pointer (self, result, ow_client_get_card_async, error);
}

static void
add_funding_source (OwClient            *self,
                    const char          *type,
                    const char          *k1,
                    const char          *v1,
                    const char          *k2,
                    const char          *v2,
                    const char          *holder,
                    const char          *idempotency_key,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(JsonBuilder) body = json_builder_new ();

  json_builder_begin_object (body);
  add_string (body, "type", type);
  json_builder_set_member_name (body, type);
  json_builder_begin_object (body);
  add_string (body, k1, v1);
  add_string (body, k2, v2);
  add_string (body, "holder", holder);
  json_builder_end_object (body);
  json_builder_end_object (body);

  start_call (self, "POST", "/v1/wallet/funding-sources", body, idempotency_key, CALL_SESSION,
              (ParseFunc) ow_funding_source_parse, (GDestroyNotify) ow_funding_source_free,
              ow_client_add_funding_source_finish, cancellable, callback, user_data);
}

void
ow_client_add_credit_card_async (OwClient            *self,
                                 const char          *number,
                                 const char          *expiry,
                                 const char          *holder,
                                 const char          *idempotency_key,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (number != NULL && expiry != NULL && holder != NULL);

  add_funding_source (self, "credit_card", "number", number, "expiry", expiry, holder,
                      idempotency_key, cancellable, callback, user_data);
}

void
ow_client_add_bank_account_async (OwClient            *self,
                                  const char          *bank_code,
                                  const char          *account_number,
                                  const char          *holder,
                                  const char          *idempotency_key,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (bank_code != NULL && account_number != NULL && holder != NULL);

  add_funding_source (self, "bank_account", "bank_code", bank_code,
                      "account_number", account_number, holder,
                      idempotency_key, cancellable, callback, user_data);
}

OwFundingSource *
ow_client_add_funding_source_finish (OwClient      *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  return finish_pointer (self, result, ow_client_add_funding_source_finish, error);
}

void
ow_client_list_funding_sources_async (OwClient            *self,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_return_if_fail (OW_IS_CLIENT (self));

  start_call (self, "GET", "/v1/wallet/funding-sources", NULL, NULL, CALL_SESSION,
              (ParseFunc) ow_funding_sources_parse, (GDestroyNotify) g_ptr_array_unref,
              ow_client_list_funding_sources_async, cancellable, callback, user_data);
}

GPtrArray *
ow_client_list_funding_sources_finish (OwClient      *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  return finish_pointer (self, result, ow_client_list_funding_sources_async, error);
}

/* DELETE @collection/@id: a gateway id, never a secret, since a URL ends
 * up in logs. */
static void
delete_by_id (OwClient            *self,
              const char          *collection,
              const char          *id,
              gpointer             source_tag,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  g_autofree char *escaped = g_uri_escape_string (id, NULL, FALSE);
  g_autofree char *path = g_strconcat (collection, "/", escaped, NULL);

  start_call (self, "DELETE", path, NULL, NULL, CALL_SESSION, NULL, NULL, source_tag,
              cancellable, callback, user_data);
}

void
ow_client_delete_funding_source_async (OwClient            *self,
                                       const char          *id,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (id != NULL);

  delete_by_id (self, "/v1/wallet/funding-sources", id, ow_client_delete_funding_source_async,
                cancellable, callback, user_data);
}

gboolean
ow_client_delete_funding_source_finish (OwClient      *self,
                                        GAsyncResult  *result,
                                        GError       **error)
{
  return finish_boolean (self, result, ow_client_delete_funding_source_async, error);
}

void
ow_client_list_calling_numbers_async (OwClient            *self,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_return_if_fail (OW_IS_CLIENT (self));

  start_call (self, "GET", "/v1/wallet/card/calling_numbers", NULL, NULL, CALL_SESSION,
              (ParseFunc) ow_calling_numbers_parse, (GDestroyNotify) g_ptr_array_unref,
              ow_client_list_calling_numbers_async, cancellable, callback, user_data);
}

GPtrArray *
ow_client_list_calling_numbers_finish (OwClient      *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  return finish_pointer (self, result, ow_client_list_calling_numbers_async, error);
}

void
ow_client_add_calling_number_async (OwClient            *self,
                                    const char          *calling_number,
                                    const char          *account_password,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(JsonBuilder) body = json_builder_new ();

  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (calling_number != NULL && account_password != NULL);

  json_builder_begin_object (body);
  add_string (body, "calling_number", calling_number);
  add_string (body, "current_password", account_password);
  json_builder_end_object (body);

  start_call (self, "POST", "/v1/wallet/card/calling_numbers", body, NULL, CALL_SESSION,
              (ParseFunc) ow_calling_number_parse, (GDestroyNotify) ow_calling_number_free,
              ow_client_add_calling_number_async, cancellable, callback, user_data);
}

OwCallingNumber *
ow_client_add_calling_number_finish (OwClient      *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  return finish_pointer (self, result, ow_client_add_calling_number_async, error);
}

void
ow_client_remove_calling_number_async (OwClient            *self,
                                       const char          *id,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (id != NULL);

  /* the line's id, never its number */
  delete_by_id (self, "/v1/wallet/card/calling_numbers", id,
                ow_client_remove_calling_number_async, cancellable, callback, user_data);
}

gboolean
ow_client_remove_calling_number_finish (OwClient      *self,
                                        GAsyncResult  *result,
                                        GError       **error)
{
  return finish_boolean (self, result, ow_client_remove_calling_number_async, error);
}

void
ow_client_charge_async (OwClient            *self,
                        const char          *funding_source_id,
                        gint64               amount,
                        const char          *cvc,
                        const char          *account_password,
                        const char          *idempotency_key,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(JsonBuilder) body = json_builder_new ();

  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (funding_source_id != NULL);
  g_return_if_fail (idempotency_key != NULL);

  json_builder_begin_object (body);
  add_string (body, "funding_source_id", funding_source_id);
  json_builder_set_member_name (body, "amount");
  json_builder_add_int_value (body, amount);
  add_string (body, "currency", "krw");
  add_string (body, "cvc", cvc);
  add_string (body, "account_password", account_password);
  json_builder_end_object (body);

  start_call (self, "POST", "/v1/wallet/charges", body, idempotency_key, CALL_SESSION,
              (ParseFunc) ow_charge_parse, (GDestroyNotify) ow_charge_free,
              ow_client_charge_async, cancellable, callback, user_data);
}

OwCharge *
ow_client_charge_finish (OwClient      *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  return finish_pointer (self, result, ow_client_charge_async, error);
}

void
ow_client_history_async (OwClient            *self,
                         guint                limit,
                         const char          *starting_after,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GString) path = g_string_new ("/v1/wallet/history");

  g_return_if_fail (OW_IS_CLIENT (self));

  g_string_append_printf (path, "?limit=%u", CLAMP (limit, 1, 100));
  if (starting_after != NULL)
    {
      g_string_append (path, "&starting_after=");
      g_string_append_uri_escaped (path, starting_after, NULL, FALSE);
    }

  start_call (self, "GET", path->str, NULL, NULL, CALL_SESSION,
              (ParseFunc) ow_history_page_parse, (GDestroyNotify) ow_history_page_free,
              ow_client_history_async, cancellable, callback, user_data);
}

OwHistoryPage *
ow_client_history_finish (OwClient      *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  return finish_pointer (self, result, ow_client_history_async, error);
}

void
ow_client_get_checkout_summary_async (OwClient            *self,
                                      const char          *checkout_session,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (checkout_session != NULL);

  escaped = g_uri_escape_string (checkout_session, NULL, FALSE);
  path = g_strdup_printf ("/v1/checkout_sessions/%s/public", escaped);
  start_call (self, "GET", path, NULL, NULL, CALL_PUBLIC,
              (ParseFunc) ow_checkout_summary_parse, (GDestroyNotify) ow_checkout_summary_free,
              ow_client_get_checkout_summary_async, cancellable, callback, user_data);
}

OwCheckoutSummary *
ow_client_get_checkout_summary_finish (OwClient      *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  return finish_pointer (self, result, ow_client_get_checkout_summary_async, error);
}

void
ow_client_wallet_checkout_async (OwClient            *self,
                                 const OwPurchase    *purchase,
                                 const char          *card_password,
                                 const char          *idempotency_key,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(JsonBuilder) body = json_builder_new ();

  g_return_if_fail (OW_IS_CLIENT (self));
  g_return_if_fail (purchase != NULL && purchase->checkout_session != NULL &&
                    purchase->merchant_id != NULL);
  g_return_if_fail (card_password != NULL && idempotency_key != NULL);

  json_builder_begin_object (body);
  add_string (body, "checkout_session", purchase->checkout_session);
  add_string (body, "merchant", purchase->merchant_id);
  add_string (body, "order_id", purchase->order_id);
  json_builder_set_member_name (body, "amount");
  json_builder_add_int_value (body, purchase->amount);
  add_string (body, "currency", purchase->currency);
  add_string (body, "password", card_password);
  json_builder_end_object (body);

  start_call (self, "POST", "/v1/wallet/checkout", body, idempotency_key, CALL_SESSION,
              (ParseFunc) ow_checkout_result_parse, (GDestroyNotify) ow_checkout_result_free,
              ow_client_wallet_checkout_async, cancellable, callback, user_data);
}

OwCheckoutResult *
ow_client_wallet_checkout_finish (OwClient      *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  return finish_pointer (self, result, ow_client_wallet_checkout_async, error);
}
