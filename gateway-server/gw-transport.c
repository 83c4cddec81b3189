/* gw-transport.c: e-mail over SMTP and SMS over HTTP, with libcurl
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-transport.h"

#include <curl/curl.h>
#include <string.h>

#include "onepin-crypto.h"
#include "onepin-json.h"

#define CONNECT_TIMEOUT 10
#define SMS_TIMEOUT 30
#define MAX_CONNECTION_AGE 60

G_DEFINE_QUARK (gw-transport-error-quark, gw_transport_error)

struct _GwSmtp
{
  CURL     *curl;
  char     *url;
  char     *from;
  char     *from_name;
  long      use_ssl;
  char     *username;
  char     *password;
  char     *ca_file;
  long      timeout;
};

struct _GwSms
{
  CURL     *curl;
  char     *url;
  char     *authorization;          /* "Authorization: Bearer <key>" */
  char     *ca_file;
};

void
gw_transport_init (void)
{
  static gsize done;

  if (g_once_init_enter (&done))
    {
      curl_global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&done, 1);
    }
}

static void
wipe (char *secret)
{
  if (secret != NULL)
    {
      memset (secret, 0, strlen (secret));
      g_free (secret);
    }
}

/* Lets a stop interrupt a transfer. */
static int
on_progress (void       *user_data,
             curl_off_t  dltotal,
             curl_off_t  dlnow,
             curl_off_t  ultotal,
             curl_off_t  ulnow)
{
  return g_cancellable_is_cancelled (user_data) ? 1 : 0;
}

static size_t
discard (char   *data,
         size_t  size,
         size_t  n,
         void   *user_data)
{
  return size * n;
}

static void
common_options (CURL         *curl,
                GCancellable *cancellable,
                const char   *ca_file,
                long          timeout)
{
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, (long) CONNECT_TIMEOUT);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT, timeout);
  curl_easy_setopt (curl, CURLOPT_MAXAGE_CONN, (long) MAX_CONNECTION_AGE);
  curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt (curl, CURLOPT_XFERINFODATA, cancellable);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, discard);
  if (ca_file != NULL)
    curl_easy_setopt (curl, CURLOPT_CAINFO, ca_file);
}

/* The server cannot be reached, or said nothing within the timeout: the
 * next message would fare no better. */
static gboolean
unreachable (CURLcode rc)
{
  return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
         rc == CURLE_OPERATION_TIMEDOUT;
}

gboolean
gw_transport_error_is_transient (const GError *error)
{
  return g_error_matches (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_TRANSIENT) ||
         g_error_matches (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_UNREACHABLE);
}

static gboolean
curl_failed (GError     **error,
             const char  *what,
             CURLcode     rc,
             long         response,
             gboolean     permanent)
{
  if (rc == CURLE_ABORTED_BY_CALLBACK)
    return g_set_error (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_CANCELLED,
                        "%s: stopped", what), FALSE;
  g_set_error (error, GW_TRANSPORT_ERROR,
               permanent ? GW_TRANSPORT_ERROR_PERMANENT
               : unreachable (rc) ? GW_TRANSPORT_ERROR_UNREACHABLE
               : GW_TRANSPORT_ERROR_TRANSIENT,
               "%s: %s (reply %ld)", what,
               rc == CURLE_OK ? "refused" : curl_easy_strerror (rc), response);
  return FALSE;
}

static CURL *
new_handle (GError **error)
{
  CURL *curl = curl_easy_init ();

  if (curl == NULL)
    g_set_error_literal (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_PERMANENT,
                         "libcurl could not start");
  return curl;
}

/* SMTP */

GwSmtp *
gw_smtp_new (const GwConfig  *config,
             GError         **error)
{
  g_autoptr(GwSmtp) self = NULL;
  const char *starttls;

  if (config->smtp_url == NULL)
    return NULL;
  self = g_new0 (GwSmtp, 1);
  self->url = g_strdup (config->smtp_url);
  self->from = g_strdup (config->smtp_from);
  self->from_name = g_strdup (config->smtp_from_name);
  self->ca_file = g_strdup (config->smtp_ca_file);
  self->timeout = config->smtp_timeout;
  starttls = gw_config_smtp_starttls (config);
  self->use_ssl = g_str_equal (starttls, "required") ? CURLUSESSL_ALL
                : g_str_equal (starttls, "try") ? CURLUSESSL_TRY
                                                : CURLUSESSL_NONE;
  if (config->smtp_username != NULL)
    {
      self->username = g_strdup (config->smtp_username);
      self->password = onepin_password_file_load (config->smtp_password_file, error);
      if (self->password == NULL)
        return g_prefix_error (error, "[smtp] password_file: "), NULL;
    }
  self->curl = new_handle (error);
  return self->curl != NULL ? g_steal_pointer (&self) : NULL;
}

void
gw_smtp_free (GwSmtp *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->curl, curl_easy_cleanup);
  g_free (self->url);
  g_free (self->from);
  g_free (self->from_name);
  g_free (self->username);
  wipe (self->password);
  g_free (self->ca_file);
  g_free (self);
}

const char *
gw_smtp_get_from (GwSmtp *self)
{
  return self->from;
}

const char *
gw_smtp_get_from_name (GwSmtp *self)
{
  return self->from_name;
}

typedef struct
{
  const char *data;
  gsize       len;
  gsize       sent;
} Upload;

static size_t
read_upload (char   *buffer,
             size_t  size,
             size_t  n,
             void   *user_data)
{
  Upload *upload = user_data;
  gsize chunk = MIN (size * n, upload->len - upload->sent);

  memcpy (buffer, upload->data + upload->sent, chunk);
  upload->sent += chunk;
  return chunk;
}

/* The server refused this message or recipient for good: mailbox unknown
 * or unavailable, bad address syntax, message refused. Anything else (a
 * server down, busy, a failed login) may pass later. */
static gboolean
smtp_permanent (long response)
{
  return response >= 550 && response <= 554;
}

gboolean
gw_smtp_send (GwSmtp        *self,
              const char    *to,
              GBytes        *message,
              GCancellable  *cancellable,
              GError       **error)
{
  CURL *curl = self->curl;
  g_autofree char *from = g_strdup_printf ("<%s>", self->from);
  g_autofree char *rcpt = g_strdup_printf ("<%s>", to);
  struct curl_slist *recipients = curl_slist_append (NULL, rcpt);
  Upload upload = { 0 };
  long response = 0;
  CURLcode rc;

  upload.data = g_bytes_get_data (message, &upload.len);
  curl_easy_reset (curl);
  common_options (curl, cancellable, self->ca_file, self->timeout);
  curl_easy_setopt (curl, CURLOPT_URL, self->url);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt (curl, CURLOPT_USE_SSL, self->use_ssl);
  if (self->username != NULL)
    {
      curl_easy_setopt (curl, CURLOPT_USERNAME, self->username);
      curl_easy_setopt (curl, CURLOPT_PASSWORD, self->password);
    }
  curl_easy_setopt (curl, CURLOPT_MAIL_FROM, from);
  curl_easy_setopt (curl, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt (curl, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt (curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt (curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t) upload.len);

  rc = curl_easy_perform (curl);
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &response);
  curl_slist_free_all (recipients);
  if (rc != CURLE_OK)
    return curl_failed (error, "smtp", rc, response, smtp_permanent (response));
  return TRUE;
}

/* SMS */

GwSms *
gw_sms_new (const GwConfig  *config,
            GError         **error)
{
  g_autoptr(GwSms) self = NULL;
  char *key;

  if (config->sms_url == NULL)
    return NULL;
  self = g_new0 (GwSms, 1);
  self->url = g_strdup (config->sms_url);
  self->ca_file = g_strdup (config->sms_ca_file);
  key = onepin_secret_file_load (config->sms_key_file, error);
  if (key == NULL)
    return g_prefix_error (error, "[sms] key_file: "), NULL;
  self->authorization = g_strconcat ("Authorization: Bearer ", key, NULL);
  wipe (key);
  self->curl = new_handle (error);
  return self->curl != NULL ? g_steal_pointer (&self) : NULL;
}

void
gw_sms_free (GwSms *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->curl, curl_easy_cleanup);
  g_free (self->url);
  wipe (self->authorization);
  g_free (self->ca_file);
  g_free (self);
}

/* A request the provider will refuse again: malformed, an unknown number,
 * a text too long. Authentication, rate limits and server errors may pass. */
static gboolean
http_permanent (long status)
{
  return status == 400 || status == 404 || status == 410 || status == 413 || status == 422;
}

gboolean
gw_sms_send (GwSms         *self,
             const char    *to,
             const char    *text,
             const char    *idempotency_key,
             GCancellable  *cancellable,
             GError       **error)
{
  CURL *curl = self->curl;
  g_autoptr(GString) body = g_string_new ("{\"to\":");
  g_autofree char *key_header = g_strconcat ("Idempotency-Key: ", idempotency_key, NULL);
  struct curl_slist *headers = NULL;
  long status = 0;
  CURLcode rc;

  onepin_json_append_string (body, to);
  g_string_append (body, ",\"text\":");
  onepin_json_append_string (body, text);
  g_string_append_c (body, '}');

  headers = curl_slist_append (headers, self->authorization);
  headers = curl_slist_append (headers, "Content-Type: application/json");
  headers = curl_slist_append (headers, key_header);

  curl_easy_reset (curl);
  common_options (curl, cancellable, self->ca_file, SMS_TIMEOUT);
  curl_easy_setopt (curl, CURLOPT_URL, self->url);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body->str);
  curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE, (long) body->len);

  rc = curl_easy_perform (curl);
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all (headers);
  if (rc != CURLE_OK)
    return curl_failed (error, "sms", rc, status, FALSE);
  if (status < 200 || status > 299)
    return curl_failed (error, "sms", CURLE_OK, status, http_permanent (status));
  return TRUE;
}
