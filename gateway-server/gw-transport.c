/* gw-transport.c: e-mail over SMTP and SMS over HTTP, with libcurl
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-transport.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "onepin-crypto.h"
#include "onepin-json.h"

#define CONNECT_TIMEOUT 10
#define SMS_TIMEOUT 30
#define MAX_CONNECTION_AGE 60
#define DOT_TIMEOUT 600

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
  long      dot_timeout;          /* for the reply to the end of a message */
  curl_socket_t socket;         /* of the connection libcurl keeps, or BAD */
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
      explicit_bzero (secret, strlen (secret));
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
         g_error_matches (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_UNREACHABLE) ||
         g_error_matches (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_REFUSED_US);
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

/* Ends the connection at once, so that libcurl's QUIT on it fails at once
 * instead of waiting for an answer from a server that gives none. */
static void
shut_connection (GwSmtp *self)
{
  if (self->socket != CURL_SOCKET_BAD)
    shutdown (self->socket, SHUT_RDWR);
}

GwSmtp *
gw_smtp_new (const GwConfig  *config,
             GError         **error)
{
  g_autoptr(GwSmtp) self = NULL;
  const char *starttls;

  if (config->smtp_url == NULL)
    return NULL;
  self = g_new0 (GwSmtp, 1);
  self->socket = CURL_SOCKET_BAD;
  self->url = g_strdup (config->smtp_url);
  self->from = g_strdup (config->smtp_from);
  self->from_name = g_strdup (config->smtp_from_name);
  self->ca_file = g_strdup (config->smtp_ca_file);
  self->timeout = config->smtp_timeout;
  /* RFC 5321's ten minutes, but within the claim's lease: past it, another
   * gateway process on the same database may send the message again. */
  self->dot_timeout = CLAMP (config->outbox_lease - config->smtp_timeout, config->smtp_timeout,
                             DOT_TIMEOUT);
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
  /* No QUIT: a server that stopped answering would hold up the stop. */
  shut_connection (self);
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

/* Where an SMTP transaction stands, from the commands libcurl sent: a
 * refusal means something else at each step. */
typedef enum
{
  STAGE_GREETING,
  STAGE_HELLO,
  STAGE_STARTTLS,
  STAGE_AUTH,
  STAGE_MAIL,
  STAGE_RCPT,
  STAGE_DATA,
  STAGE_BODY,
  STAGE_END,              /* the final dot is sent; its reply is awaited */
} Stage;

static const char *const stage_names[] = {
  "greeting", "EHLO", "STARTTLS", "AUTH", "MAIL FROM", "RCPT TO", "DATA", "message",
  "end of message",
};

/* One message under way. */
typedef struct
{
  GwSmtp       *smtp;
  GCancellable *cancellable;
  const char   *data;
  gsize         len;
  gsize         sent;
  Stage         stage;
  gboolean      quitting;
  long          reply;            /* the last reply's code… */
  char          status[12];       /* …and its enhanced status code, or "" */
  gint64        deadline;         /* monotonic */
  gboolean      timed_out;
} Transaction;

static size_t
read_upload (char   *buffer,
             size_t  size,
             size_t  n,
             void   *user_data)
{
  Transaction *t = user_data;
  gsize chunk = MIN (size * n, t->len - t->sent);

  memcpy (buffer, t->data + t->sent, chunk);
  t->sent += chunk;
  /* libcurl sends the final dot after this: the server may take a while to
   * answer it, and resending it after a timeout would duplicate a message
   * the server has probably taken (RFC 5321 §4.5.3.2.6: ten minutes). */
  if (t->sent == t->len && t->stage != STAGE_END)
    {
      t->stage = STAGE_END;
      t->deadline = g_get_monotonic_time () + t->smtp->dot_timeout * G_USEC_PER_SEC;
    }
  return chunk;
}

static void
note_command (Transaction *t,
              const char  *line,
              size_t       len)
{
  static const struct { const char *verb; Stage stage; } verbs[] = {
    { "EHLO", STAGE_HELLO }, { "HELO", STAGE_HELLO }, { "STARTTLS", STAGE_STARTTLS },
    { "AUTH", STAGE_AUTH }, { "MAIL", STAGE_MAIL }, { "RCPT", STAGE_RCPT },
    { "DATA", STAGE_DATA },
  };

  /* libcurl says QUIT after a failure: its reply is not the one that counts. */
  if (len >= 4 && g_ascii_strncasecmp (line, "QUIT", 4) == 0)
    t->quitting = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (len >= strlen (verbs[i].verb) &&
        g_ascii_strncasecmp (line, verbs[i].verb, strlen (verbs[i].verb)) == 0)
      t->stage = verbs[i].stage;
  /* Anything else (AUTH's continuation lines) stays in its stage. */
}

/* A reply line: "250-…" or "550 5.1.1 …"; only the code and enhanced status
 * of the last line are kept, never the text, which may hold an address. */
static void
note_reply (Transaction *t,
            const char  *line,
            size_t       len)
{
  gsize n = 0;

  if (t->quitting || len < 3 || !g_ascii_isdigit (line[0]) || !g_ascii_isdigit (line[1]) ||
      !g_ascii_isdigit (line[2]) || (len > 3 && line[3] == '-'))
    return;
  t->reply = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (t->stage == STAGE_DATA && t->reply == 354)
    t->stage = STAGE_BODY;
  /* RFC 3463: class "." subject "." detail, each of up to three digits. */
  for (gsize i = 4; i < len && n < sizeof t->status - 1 &&
       (g_ascii_isdigit (line[i]) || line[i] == '.'); i++)
    t->status[n++] = line[i];
  t->status[n] = '\0';
  if (n < 5 || t->status[1] != '.' || t->status[0] != line[0])
    t->status[0] = '\0';
}

static int
on_smtp_debug (CURL          *curl,
               curl_infotype  type,
               char          *data,
               size_t         len,
               void          *user_data)
{
  if (type == CURLINFO_HEADER_OUT)
    note_command (user_data, data, len);
  else if (type == CURLINFO_HEADER_IN)
    note_reply (user_data, data, len);
  return 0;
}

/* A stop, or a server that took longer than its time: [smtp] timeout for
 * everything up to the end of the message, dot_timeout for the reply to it. */
static int
on_smtp_progress (void       *user_data,
                  curl_off_t  dltotal,
                  curl_off_t  dlnow,
                  curl_off_t  ultotal,
                  curl_off_t  ulnow)
{
  Transaction *t = user_data;

  if (!t->timed_out && g_get_monotonic_time () < t->deadline)
    return g_cancellable_is_cancelled (t->cancellable) ? 1 : 0;
  t->timed_out = TRUE;
  shut_connection (t->smtp);
  return 1;
}

static int
on_socket (void          *user_data,
           curl_socket_t  socket,
           curlsocktype   purpose)
{
  GwSmtp *self = user_data;

  self->socket = socket;
  return CURL_SOCKOPT_OK;
}

static int
on_close_socket (void          *user_data,
                 curl_socket_t  socket)
{
  GwSmtp *self = user_data;

  if (self->socket == socket)
    self->socket = CURL_SOCKET_BAD;
  return close (socket);
}

/* The server refused this very recipient or message for good (RFC 5321,
 * RFC 3463): at RCPT TO a mailbox unknown or unavailable (550, 551, 553,
 * X.1.x but for the sender's X.1.7 and X.1.8), a mailbox full or disabled
 * (552, X.2.x); after the message, one too big (552, X.3.4) or whose content
 * the server cannot take (X.6.x). A refusal of the sender, of relaying or
 * on policy (X.7.x), or at any other step, is about the server or our
 * configuration: every message would fare the same. */
static gboolean
smtp_permanent (const Transaction *t)
{
  const char *s = t->status;
  int subject = s[0] != '\0' ? atoi (s + 2) : -1;
  const char *detail = s[0] != '\0' ? strchr (s + 2, '.') : NULL;
  int d = detail != NULL ? atoi (detail + 1) : -1;

  if (t->reply < 550 || t->reply > 554 || (t->stage != STAGE_RCPT && t->stage != STAGE_END))
    return FALSE;
  if (subject == 1)
    return d != 7 && d != 8;
  if (subject == 2 || (subject == 3 && d == 4) || subject == 6)
    return TRUE;
  if (subject >= 0)
    return FALSE;
  return t->stage == STAGE_RCPT ? t->reply != 554 : t->reply == 552;
}

static gboolean
smtp_failed (const Transaction  *t,
             CURLcode            rc,
             GError            **error)
{
  const char *stage = stage_names[t->stage];
  const char *sep = t->status[0] != '\0' ? " " : "";

  if (t->timed_out && t->stage == STAGE_END)
    return g_set_error (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_UNREACHABLE,
                        "smtp: Timeout was reached: no reply to the end of the message in "
                        "%ld s; the server may have taken it", t->smtp->dot_timeout), FALSE;
  if (t->timed_out || rc == CURLE_OPERATION_TIMEDOUT)
    return g_set_error (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_UNREACHABLE,
                        "smtp: Timeout was reached (%s)", stage), FALSE;
  if (rc == CURLE_ABORTED_BY_CALLBACK || !t->reply || t->reply < 400)
    return curl_failed (error, "smtp", rc, t->reply, FALSE);
  if (smtp_permanent (t))
    return g_set_error (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_PERMANENT,
                        "smtp: %s refused (reply %ld%s%s)", stage, t->reply, sep, t->status),
           FALSE;
  if (t->reply >= 500 || t->stage < STAGE_MAIL)
    return g_set_error (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_REFUSED_US,
                        "smtp: the server refused us at %s (reply %ld%s%s): check its "
                        "settings and [smtp]", stage, t->reply, sep, t->status), FALSE;
  return g_set_error (error, GW_TRANSPORT_ERROR, GW_TRANSPORT_ERROR_TRANSIENT,
                      "smtp: %s refused for now (reply %ld%s%s)", stage, t->reply, sep,
                      t->status), FALSE;
}

gboolean
gw_smtp_send (GwSmtp        *self,
              const char    *to,
              GBytes        *message,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autofree char *from = g_strdup_printf ("<%s>", self->from);
  g_autofree char *rcpt = g_strdup_printf ("<%s>", to);
  struct curl_slist *recipients;
  Transaction t = { .smtp = self, .cancellable = cancellable, .stage = STAGE_GREETING };
  CURL *curl;
  CURLcode rc;

  if (self->curl == NULL && (self->curl = new_handle (error)) == NULL)
    return FALSE;
  curl = self->curl;
  t.data = g_bytes_get_data (message, &t.len);
  t.deadline = g_get_monotonic_time () + self->timeout * G_USEC_PER_SEC;
  curl_easy_reset (curl);
  /* Our own deadlines (on_smtp_progress) govern; libcurl's are a backstop. */
  common_options (curl, cancellable, self->ca_file, self->timeout + self->dot_timeout + 10);
  curl_easy_setopt (curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, self->dot_timeout + 5);
  curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, on_smtp_progress);
  curl_easy_setopt (curl, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt (curl, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt (curl, CURLOPT_DEBUGFUNCTION, on_smtp_debug);
  curl_easy_setopt (curl, CURLOPT_DEBUGDATA, &t);
  curl_easy_setopt (curl, CURLOPT_SOCKOPTFUNCTION, on_socket);
  curl_easy_setopt (curl, CURLOPT_SOCKOPTDATA, self);
  curl_easy_setopt (curl, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
  curl_easy_setopt (curl, CURLOPT_CLOSESOCKETDATA, self);
  curl_easy_setopt (curl, CURLOPT_URL, self->url);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt (curl, CURLOPT_USE_SSL, self->use_ssl);
  if (self->username != NULL)
    {
      curl_easy_setopt (curl, CURLOPT_USERNAME, self->username);
      curl_easy_setopt (curl, CURLOPT_PASSWORD, self->password);
    }
  recipients = curl_slist_append (NULL, rcpt);
  curl_easy_setopt (curl, CURLOPT_MAIL_FROM, from);
  curl_easy_setopt (curl, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt (curl, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt (curl, CURLOPT_READDATA, &t);
  curl_easy_setopt (curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t) t.len);

  rc = curl_easy_perform (curl);
  curl_slist_free_all (recipients);
  /* No callback may see @t once this returns. */
  curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 1L);
  curl_easy_setopt (curl, CURLOPT_VERBOSE, 0L);
  if (rc == CURLE_OK)
    return TRUE;
  /* libcurl may keep the connection of a failed message (one whose reply to
   * the end of the message failed or never came, 7.88): the next message on
   * it would read replies out of step. The next one starts afresh. */
  shut_connection (self);
  g_clear_pointer (&self->curl, curl_easy_cleanup);
  return smtp_failed (&t, rc, error);
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
