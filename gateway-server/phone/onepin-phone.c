/* onepin-phone: a telephone in a terminal, against onepin-gateway
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   onepin-phone ars  --key sk_… --from 01012345678 [--locale ko|en]
 *       Plays the ARS menu as a mobile operator's IVR would: each prompt is
 *       printed, and a line of digits typed on stdin answers it (an empty
 *       line is "nothing pressed"; end of input hangs up).
 *
 *   onepin-phone call --to 0212345678 (--card-stdin | --from 010…)
 *                     [--talk SECONDS] [--service voice|mobile]
 *       Plays a softswitch placing one call: it starts a charging session,
 *       uses every grant in full and reports it, until the caller has talked
 *       --talk seconds or the card can pay for no more, then ends the call.
 *       --card-stdin reads the card number, then its password, from stdin
 *       (asked for, the password unechoed, on a terminal).
 *
 * The gateway's URL comes from --url or ONEPIN_URL (default
 * http://127.0.0.1:8080), the key from ONEPIN_KEY or the first line of
 * --key-file: a merchant key of category mobile_operator for ars,
 * telephone for call. No secret is taken on the command line, where every
 * user of the machine could read it (ps, /proc) and the shell would keep it.
 */
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

typedef struct
{
  SoupSession *session;
  char        *url;
  char        *key;
} Client;

static void
client_clear (Client *client)
{
  g_clear_object (&client->session);
  g_clear_pointer (&client->url, g_free);
  g_clear_pointer (&client->key, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Client, client_clear)

/* POSTs @body (a JsonBuilder's object) and returns the answer's object, or
 * NULL after printing the gateway's error. */
static JsonObject *
post (Client      *client,
      const char  *path,
      JsonBuilder *builder,
      GError     **error)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *body = json_to_string (root, FALSE);
  gsize len = strlen (body);
  g_autofree char *uri = g_strconcat (client->url, path, NULL);
  g_autofree char *auth = g_strconcat ("Bearer ", client->key, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *node;
  JsonObject *object;

  if (msg == NULL)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Bad URL: %s", uri), NULL;
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  soup_message_set_request_body_from_bytes (msg, "application/json",
                                            g_bytes_new_take (g_steal_pointer (&body), len));
  reply = soup_session_send_and_read (client->session, msg, NULL, error);
  if (reply == NULL)
    return NULL;
  if (!json_parser_load_from_data (parser, g_bytes_get_data (reply, NULL),
                                   g_bytes_get_size (reply), error))
    return NULL;
  node = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                "The gateway's answer is not a JSON object"), NULL;
  object = json_node_get_object (node);
  if (soup_message_get_status (msg) != 200)
    {
      JsonObject *err = json_object_get_object_member (object, "error");

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%u %s: %s",
                   soup_message_get_status (msg),
                   err ? json_object_get_string_member_with_default (err, "code", "?") : "?",
                   err ? json_object_get_string_member_with_default (err, "message", "") : "");
      return NULL;
    }
  return json_object_ref (object);
}

/* ARS */

static void
print_prompt (JsonObject *session)
{
  JsonObject *prompt = json_object_get_object_member (session, "prompt");
  gint64 min = json_object_get_int_member (prompt, "min_digits");
  gint64 max = json_object_get_int_member (prompt, "max_digits");
  gboolean hash = json_object_get_string_member_with_default (prompt, "terminator", NULL) != NULL;

  printf ("%s\n", json_object_get_string_member (prompt, "text"));
  if (json_object_get_boolean_member (session, "done"))
    return;
  if (min == max)
    printf ("[%" G_GINT64_FORMAT " digit%s%s]\n", min, min == 1 ? "" : "s",
             hash ? ", then #" : "");
  else
    printf ("[%" G_GINT64_FORMAT " to %" G_GINT64_FORMAT " digits%s]\n", min, max,
             hash ? ", then #" : "");
  printf ("> ");
  fflush (stdout);
}

static char *read_stdin_line (const char *prompt,
                              gboolean    secret);

/* A line of input, without its end and spaces; NULL at the end of input.
 * A @secret (a password) is not echoed on a terminal. */
static char *
read_digits (gboolean secret)
{
  g_autofree char *line = read_stdin_line ("", secret);
  GString *digits;

  if (line == NULL)
    return NULL;
  digits = g_string_new (NULL);
  for (const char *p = line; *p; p++)
    if (!g_ascii_isspace (*p) && *p != '-')
      g_string_append_c (digits, *p);
  explicit_bzero (line, strlen (line));
  return g_string_free (digits, FALSE);
}

static int
run_ars (Client      *client,
         const char  *from,
         const char  *locale)
{
  g_autoptr(JsonBuilder) start = json_builder_new ();
  g_autoptr(JsonObject) session = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *input_path = NULL;

  json_builder_begin_object (start);
  json_builder_set_member_name (start, "calling_number");
  json_builder_add_string_value (start, from);
  json_builder_set_member_name (start, "locale");
  json_builder_add_string_value (start, locale);
  json_builder_end_object (start);
  session = post (client, "/v1/ars/sessions", start, &error);
  if (session == NULL)
    {
      g_printerr ("onepin-phone: %s\n", error->message);
      return 1;
    }
  input_path = g_strdup_printf ("/v1/ars/sessions/%s/input",
                                json_object_get_string_member (session, "id"));
  printf ("[call from …%s to the onepin ARS]\n",
           json_object_get_string_member (session, "calling_number_last4"));

  while (!json_object_get_boolean_member (session, "done"))
    {
      g_autoptr(JsonBuilder) input = json_builder_new ();
      g_autofree char *digits = NULL;
      JsonObject *next;

      print_prompt (session);
      digits = read_digits (json_object_get_boolean_member_with_default (
                              json_object_get_object_member (session, "prompt"), "secret",
                              FALSE));
      if (digits == NULL)
        {
          printf ("\n[hung up]\n");
          return 0;
        }
      json_builder_begin_object (input);
      json_builder_set_member_name (input, "step");
      json_builder_add_int_value (input, json_object_get_int_member (session, "step"));
      json_builder_set_member_name (input, "digits");
      json_builder_add_string_value (input, digits);
      json_builder_end_object (input);
      next = post (client, input_path, input, &error);
      if (next == NULL)
        {
          g_printerr ("onepin-phone: %s\n", error->message);
          return 1;
        }
      json_object_unref (session);
      session = next;
    }
  print_prompt (session);
  printf ("[call ended]\n");
  return 0;
}

/* A simulated call */

typedef struct
{
  const char *card;
  const char *password;
  const char *from;
  const char *to;
  const char *service;
  gint64      talk;                 /* 0: as long as the card pays */
} CallOptions;

static JsonObject *
report (Client      *client,
        const char  *id,
        const char  *what,
        gint64       number,
        gint64       used,
        GError     **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *path = g_strdup_printf ("/v1/phone/sessions/%s/%s", id, what);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "request_number");
  json_builder_add_int_value (b, number);
  json_builder_set_member_name (b, "used_seconds");
  json_builder_add_int_value (b, used);
  json_builder_end_object (b);
  return post (client, path, b, error);
}

static JsonObject *
start_call (Client            *client,
            const CallOptions *options,
            GError           **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  if (options->from != NULL)
    {
      json_builder_set_member_name (b, "calling_number");
      json_builder_add_string_value (b, options->from);
    }
  else
    {
      json_builder_set_member_name (b, "card_number");
      json_builder_add_string_value (b, options->card);
      json_builder_set_member_name (b, "password");
      json_builder_add_string_value (b, options->password);
    }
  json_builder_set_member_name (b, "destination");
  json_builder_add_string_value (b, options->to);
  json_builder_set_member_name (b, "service");
  json_builder_add_string_value (b, options->service);
  json_builder_end_object (b);
  return post (client, "/v1/phone/sessions", b, error);
}

static int
run_call (Client            *client,
          const CallOptions *options)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) session = start_call (client, options, &error);
  g_autofree char *id = NULL;
  JsonObject *rate;
  gint64 talked = 0, number = 0;
  gboolean cut = FALSE;

  if (session == NULL)
    {
      g_printerr ("onepin-phone: the call was refused: %s\n", error->message);
      return 1;
    }
  id = g_strdup (json_object_get_string_member (session, "id"));
  rate = json_object_get_object_member (session, "rate");
  printf ("Calling %s (%s, prefix %s): %" G_GINT64_FORMAT " won a minute in %" G_GINT64_FORMAT
           " s units, connection fee %" G_GINT64_FORMAT " won.\n", options->to,
           json_object_get_string_member (rate, "category"),
           json_object_get_string_member (rate, "prefix"),
           json_object_get_int_member (rate, "per_minute"),
           json_object_get_int_member (rate, "increment"),
           json_object_get_int_member (rate, "connection_fee"));

  for (;;)
    {
      gint64 granted = json_object_get_int_member (session, "granted_seconds");
      gboolean final = json_object_get_boolean_member (session, "final_grant");
      gint64 used = options->talk > 0 ? MIN (granted, options->talk - talked) : granted;
      gboolean hang_up = final || (options->talk > 0 && talked + used >= options->talk);
      JsonObject *next;

      printf ("  granted %" G_GINT64_FORMAT " s (%" G_GINT64_FORMAT " won reserved)%s\n",
               granted, json_object_get_int_member (session, "amount_reserved"),
               final ? ", the last the card can pay for" : "");
      talked += used;
      cut = final && used == granted;
      next = report (client, id, hang_up ? "terminate" : "update", ++number, used, &error);
      if (next == NULL)
        {
          g_printerr ("onepin-phone: %s\n", error->message);
          return 1;
        }
      json_object_unref (session);
      session = next;
      printf ("  talked %" G_GINT64_FORMAT " s, %" G_GINT64_FORMAT " won charged so far\n",
               talked, json_object_get_int_member (session, "amount_charged"));
      if (hang_up)
        break;
    }

  printf ("%s after %" G_GINT64_FORMAT " s: %" G_GINT64_FORMAT " won.\n",
           cut ? "The card ran dry; the call was cut" : "Hung up", talked,
           json_object_get_int_member (session, "amount_charged"));
  return 0;
}

/* A line of stdin without its newline, or NULL at its end. On a terminal
 * @prompt is shown first, and a @secret is not echoed. */
static char *
read_stdin_line (const char *prompt,
                 gboolean    secret)
{
  gboolean tty = isatty (STDIN_FILENO);
  struct termios saved, quiet;
  char line[256];
  char *read;

  if (tty)
    g_printerr ("%s", prompt);
  if (tty && secret && tcgetattr (STDIN_FILENO, &saved) == 0)
    {
      quiet = saved;
      quiet.c_lflag &= ~ECHO;
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
    }
  else
    secret = FALSE;
  read = fgets (line, sizeof line, stdin);
  if (secret)
    {
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
      g_printerr ("\n");
    }
  if (read == NULL)
    return NULL;
  line[strcspn (line, "\r\n")] = '\0';
  read = g_strdup (line);
  explicit_bzero (line, sizeof line);
  return read;
}

static char *
read_key (const char  *key_file,
          GError     **error)
{
  g_autofree char *contents = NULL;

  if (key_file == NULL)
    return g_strdup (g_getenv ("ONEPIN_KEY"));
  if (!g_file_get_contents (key_file, &contents, NULL, error))
    return NULL;
  contents[strcspn (contents, "\r\n")] = '\0';
  return g_strdup (contents);
}

int
main (int   argc,
      char *argv[])
{
  g_auto(Client) client = { 0 };
  g_autofree char *url = NULL;
  g_autofree char *key_file = NULL;
  g_autofree char *from = NULL;
  g_autofree char *locale = NULL;
  g_autofree char *card = NULL;
  g_autofree char *password = NULL;
  g_autofree char *to = NULL;
  g_autofree char *service = NULL;
  gboolean card_stdin = FALSE;
  gint64 talk = 0;
  GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &url, "The gateway (default $ONEPIN_URL)", "URL" },
    { "key-file", 0, 0, G_OPTION_ARG_FILENAME, &key_file,
      "A file holding the operator's or switch's key (default: $ONEPIN_KEY)", "FILE" },
    { "from", 0, 0, G_OPTION_ARG_STRING, &from, "The calling number", "NUMBER" },
    { "locale", 0, 0, G_OPTION_ARG_STRING, &locale, "ars: ko (default) or en", "LOCALE" },
    { "card-stdin", 0, 0, G_OPTION_ARG_NONE, &card_stdin,
      "call: read the card number, then its password, from stdin", NULL },
    { "to", 0, 0, G_OPTION_ARG_STRING, &to, "call: the number dialled", "NUMBER" },
    { "talk", 0, 0, G_OPTION_ARG_INT64, &talk, "call: seconds to talk (default: until cut)",
      "SECONDS" },
    { "service", 0, 0, G_OPTION_ARG_STRING, &service, "call: voice (default) or mobile",
      "SERVICE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("ars|call - a telephone for onepin");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("onepin-phone: %s\n", error->message);
      return 2;
    }
  client.url = g_strdup (url ? url : g_getenv ("ONEPIN_URL") ? g_getenv ("ONEPIN_URL")
                                                               : "http://127.0.0.1:8080");
  client.key = read_key (key_file, &error);
  client.session = soup_session_new_with_options ("timeout", 30, NULL);
  if (error != NULL)
    {
      g_printerr ("onepin-phone: %s\n", error->message);
      return 2;
    }
  if (talk < 0)
    {
      g_printerr ("onepin-phone: --talk takes the seconds to talk, 0 or more\n");
      return 2;
    }
  if (argc != 2 || client.key == NULL || client.key[0] == '\0')
    {
      g_printerr ("onepin-phone: give ars or call, and the key in ONEPIN_KEY or --key-file "
                  "(see --help)\n");
      return 2;
    }
  if (card_stdin)
    {
      card = read_stdin_line ("Card number: ", FALSE);
      password = card != NULL ? read_stdin_line ("Card password: ", TRUE) : NULL;
    }

  if (g_str_equal (argv[1], "ars") && from != NULL)
    return run_ars (&client, from, locale ? locale : "ko");
  if (g_str_equal (argv[1], "call") && to != NULL &&
      (from != NULL || (card != NULL && password != NULL)))
    return run_call (&client, &(CallOptions) {
                       card, password, from, to, service ? service : "voice", talk });
  g_printerr ("onepin-phone: ars needs --from; call needs --to and --card-stdin (the number "
              "and the password on stdin), or --from\n");
  return 2;
}
