/* test-wallet-gui.c: the real wallet window, driven like a user would
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs under `xvfb-run -a dbus-run-session` (meson does that), with the
 * real onepin-gateway on 127.0.0.1 and the wallet's own application object,
 * window and vault in this process, its data in a temporary $HOME. The
 * steps run in order, one user's journey: create the vault, register, apply
 * for the card, add funding sources, charge, see the balance and history,
 * receipts, approve a purchase, lock (by hand, when idle, with the screen
 * saver and before sleep; toasts go with the lock), sign out and back in,
 * change the profile and the password; then a second user's card
 * application, answered while the wallet is locked and finished after. The
 * wallet reaches the gateway through a relay (OtProxy) that can play an
 * unreachable gateway, a lost answer or a slow one. Each screen is saved as a PNG in $ONEPIN_WALLET_SCREENSHOTS and
 * checked over AT-SPI for controls without an accessible name. At the end,
 * every file the wallet wrote is searched for every secret it held.
 */
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "onepin-test-bank.h"
#include "onepin-test-gateway.h"
#include "onepin-test-proxy.h"
#include "ow-application-private.h"
#include "ow-approval-dialog.h"
#include "ow-browser.h"
#include "ow-pair-dialog.h"
#include "ow-pending-card.h"
#include "ow-test-scan.h"
#include "ow-test-session.h"
#include "ow-test-ui.h"
#include "ow-toast-overlay.h"
#include "ow-ui.h"

#define MASTER "correct horse battery staple"
#define NEW_MASTER "a new master password, for a while"
#define LOGIN "hong.gildong"
#define PASSWORD "gateway password 1"
#define NEW_PASSWORD "gateway password 2"
#define CARD_PASSWORD "258013"
#define OTHER_LOGIN "seong.chunhyang"     /* the second user, at the end */
#define OTHER_CARD_PASSWORD "470316"
#define NEW_CARD_PASSWORD "791346"
#define CREDIT_CARD OT_BANK_CARD_APPROVE
#define LOCKOUT_SECONDS 3                 /* the gateway's, after 5 wrong card passwords */
#define BANK_ACCOUNT "110-000-000001"    /* OT_BANK_ACCOUNT_RICH, as people type it */
#define BANK_ACCOUNT_DIGITS OT_BANK_ACCOUNT_RICH
#define LINE "010-5557-8001"              /* telephone lines, as people type them */
#define LINE_DIGITS "01055578001"
#define OTHER_LINE "+82 10 5557 8002"
#define TAKEN_LINE "01055578003"          /* another card's */
#define DEMO_PURCHASE \
  "{\"merchant\":\"Book Mall\",\"order_id\":\"B-7\",\"amount\":35000,\"currency\":\"krw\"}"

static struct
{
  char          *home;
  OtBank        *bank;
  OtGateway     *gw;
  OtProxy       *proxy;      /* the wallet's way to the gateway */
  OwTestSession *session;    /* the screen saver and logind it hears */
  OwApplication *app;
  gint64         slept;      /* µs the machine "slept", for test_clock () */
  char          *card_number;
  char          *card_cvc;
  char          *card_cvc_text;   /* "CVC 123", as the revealed number shows it */
  char          *other_number;  /* the second user's card */
  char          *other_cvc;
  char          *pending_key;   /* its application's Idempotency-Key */
  char          *token;      /* of the current session */
  GPtrArray     *tokens;     /* every session token the wallet held */
} T;

static OwVault *
vault (void)
{
  return ow_application_get_vault (T.app);
}

static const char *
window_page (void)
{
  return ow_ui_stack_page ("stack");
}

#define WAIT_PAGE(name) \
  ow_ui_wait_for (g_strcmp0 (window_page (), name) == 0, 60, "the window to show the " name " page")

static void
wait_label (const char *id,
            const char *text)
{
  g_autofree char *what = g_strdup_printf ("“%s” to read “%s”", id, text);

  ow_ui_wait_for (g_strcmp0 (ow_ui_label (id), text) == 0, 30, what);
}

static gboolean
label_contains (const char *id,
                const char *text)
{
  GtkWidget *label = ow_ui_find (id);

  return label != NULL && strstr (gtk_label_get_text (GTK_LABEL (label)), text) != NULL;
}

/* A row (by its widget name, an API id) in the list @id, or NULL. */
static GtkWidget *
row_named (const char *list_id,
           const char *name)
{
  GtkWidget *list = ow_ui_find (list_id);

  for (GtkWidget *row = list != NULL ? gtk_widget_get_first_child (list) : NULL; row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (g_strcmp0 (gtk_widget_get_name (row), name) == 0)
      return row;
  return NULL;
}

/* The first row of @list_id whose title contains @text. */
static AdwActionRow *
row_titled (const char *list_id,
            const char *text)
{
  GtkWidget *list = ow_ui_find (list_id);

  for (GtkWidget *row = list != NULL ? gtk_widget_get_first_child (list) : NULL; row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (ADW_IS_ACTION_ROW (row) &&
        strstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), text) != NULL)
      return ADW_ACTION_ROW (row);
  return NULL;
}

/* TRUE if a label on the screen under @widget has @text in it. */
static gboolean
shows_text (GtkWidget  *widget,
            const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget) &&
      strstr (gtk_label_get_text (GTK_LABEL (widget)), text) != NULL)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (shows_text (child, text))
      return TRUE;
  return FALSE;
}

/* TRUE if a label on the screen under @widget shows @text whole: in it,
 * and not cut short with an ellipsis. */
static gboolean
shows_whole_text (GtkWidget  *widget,
                  const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget) &&
      strstr (gtk_label_get_text (GTK_LABEL (widget)), text) != NULL &&
      !pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (widget))))
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (shows_whole_text (child, text))
      return TRUE;
  return FALSE;
}

/* Says which widgets under @widget ask for more than @limit pixels wide. */
static void
report_wide (GtkWidget *widget,
             int        depth,
             int        limit)
{
  const char *id = gtk_buildable_get_buildable_id (GTK_BUILDABLE (widget));
  int min = 0;

  gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, &min, NULL, NULL, NULL);
  if (min <= limit)
    return;
  g_test_message ("%*s%s #%s needs %d px %s", depth, "", G_OBJECT_TYPE_NAME (widget),
                  id != NULL ? id : "", min,
                  GTK_IS_LABEL (widget) ? gtk_label_get_text (GTK_LABEL (widget)) : "");
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    report_wide (child, depth + 1, limit);
}

/* @window, set to @width x @height, fits in it (a phone's 360 px, a
 * netbook's 1024 x 600): it asks for no more and is given no more. */
static void
assert_fits (GtkWindow *window,
             int        width,
             int        height)
{
  int old_width, old_height, min = 0;

  gtk_window_get_default_size (window, &old_width, &old_height);
  gtk_window_set_default_size (window, width, height);
  ow_ui_spin (400);
  gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &min, NULL, NULL, NULL);
  if (min > width + 12 || gtk_widget_get_width (GTK_WIDGET (window)) > width + 12)
    {
      report_wide (GTK_WIDGET (window), 0, width);
      g_error ("the window needs %d px and has %d px: more than %d", min,
               gtk_widget_get_width (GTK_WIDGET (window)), width);
    }
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (window)), <=, MAX (height, 480) + 12);
  gtk_window_set_default_size (window, old_width, old_height);
  ow_ui_spin (400);
}

static gboolean
window_shows (const char *text)
{
  return shows_text (GTK_WIDGET (ow_ui_window_of ("stack")), text);
}

static guint
count_list_rows (GtkWidget *list)
{
  guint n = 0;

  for (GtkWidget *row = list != NULL ? gtk_widget_get_first_child (list) : NULL; row != NULL;
       row = gtk_widget_get_next_sibling (row))
    n++;
  return n;
}

static guint
count_rows (const char *list_id)
{
  return count_list_rows (ow_ui_find (list_id));
}

static guint
count_hidden_rows (const char *list_id)
{
  return count_list_rows (ow_ui_find_hidden (list_id));
}

/* Scrolls the page holding @widget to its end, for a screenshot. */
static void
scroll_to_end (GtkWidget *widget)
{
  GtkWidget *scrolled = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW);
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));

  ow_ui_spin (200);
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment) -
                                        gtk_adjustment_get_page_size (adjustment));
}

/* The first button inside @widget, depth first. */
static GtkWidget *
first_button (GtkWidget *widget)
{
  if (GTK_IS_BUTTON (widget))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = first_button (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Enter in the entry row @id, as typed. */
static void
press_enter (const char *id)
{
  GtkEditable *text = gtk_editable_get_delegate (GTK_EDITABLE (ow_ui_get (id)));

  g_assert_true (GTK_IS_TEXT (text));
  g_signal_emit_by_name (text, "activate");
  ow_ui_spin (100);
}

static AdwMessageDialog *
showing_message_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_mapped (GTK_WIDGET (window)))
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

static AdwMessageDialog *
wait_message_dialog (const char *what)
{
  AdwMessageDialog *dialog = NULL;

  ow_ui_wait_for ((dialog = showing_message_dialog ()) != NULL, 10, what);
  return dialog;
}

/* Answers @dialog as its button would, and closes it as the button does
 * (adw_message_dialog_response () alone leaves it on screen). */
static void
respond_and_close (AdwMessageDialog *dialog,
                   const char       *response)
{
  adw_message_dialog_response (dialog, response);
  gtk_window_close (GTK_WINDOW (dialog));
  ow_ui_wait_for (showing_message_dialog () == NULL, 10, "the message dialog to close");
}

static JsonObject *
session_record (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwSecret) text = ow_vault_lookup (vault (), OW_VAULT_KIND_SESSION, "current", &error);
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* GET @path with the session's token, as the gateway sees the account. */
static JsonObject *
gateway_get (const char *path)
{
  g_autoptr(JsonObject) session = session_record ();
  g_autoptr(OtResponse) r = ot_request (T.gw, "GET", path,
                                        json_object_get_string_member (session, "token"),
                                        NULL, NULL);

  ot_assert_status (r, 200);
  return json_object_ref (ot_response_object (r));
}

static void
remember_token (void)
{
  g_autoptr(JsonObject) session = session_record ();

  g_free (T.token);
  T.token = g_strdup (ot_json_string (session, "token"));
  g_ptr_array_add (T.tokens, g_strdup (T.token));
}

/* How many requests to @route the gateway answered with @status (all of
 * them if NULL), from its /metrics. */
static gint64
gateway_answers (const char *route,
                 const char *status)
{
  g_autoptr(OtResponse) r = ot_request (T.gw, "GET", "/metrics", NULL, NULL, NULL);
  g_autofree char *series = g_strdup_printf ("onepin_http_requests_total{route=\"%s\",status=\"",
                                             route);
  g_autofree char *with_status = g_strdup_printf ("%s%s\"} ", series, status != NULL ? status : "");
  g_auto(GStrv) lines = NULL;
  gint64 n = 0;

  ot_assert_status (r, 200);
  lines = g_strsplit (r->body, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], status != NULL ? with_status : series))
      n += g_ascii_strtoll (strrchr (lines[i], ' ') + 1, NULL, 10);
  return n;
}

/* Signs in to the gateway as another device would: the HTTP status, and
 * the session's token in @token when it is 201. */
static guint
gateway_sign_in (const char  *password,
                 char       **token)
{
  g_autofree char *body = g_strdup_printf ("{\"login_id\":\"%s\",\"password\":\"%s\"}",
                                           LOGIN, password);
  g_autoptr(OtResponse) r = ot_request (T.gw, "POST", "/v1/wallet/sessions", NULL, NULL, body);

  if (token != NULL && r->status == 201)
    *token = g_strdup (ot_json_string (ot_response_object (r), "token"));
  return r->status;
}

static gboolean
sensitive (const char *id)
{
  return gtk_widget_get_sensitive (ow_ui_get (id));
}

/* @dialog, its request out, refuses to close: Cancel is insensitive, and
 * Escape (window.close) and the window manager's close do nothing. */
static void
assert_stays_open (GtkWindow  *dialog,
                   const char *field)
{
  g_assert_false (sensitive ("cancel_button"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "window.close", NULL));
  gtk_window_close (dialog);
  ow_ui_spin (300);
  g_assert_nonnull (ow_ui_find (field));
}

static const char *
editable_text (const char *id)
{
  return gtk_editable_get_text (GTK_EDITABLE (ow_ui_get (id)));
}

static gboolean
account_action_enabled (void)
{
  return g_action_group_get_action_enabled (G_ACTION_GROUP (ow_ui_window_of ("stack")),
                                            "account");
}

/* Revokes the wallet's session on the gateway, as if from elsewhere. */
static void
revoke_session (void)
{
  g_autoptr(JsonObject) session = session_record ();
  g_autoptr(OtResponse) r = ot_request (T.gw, "DELETE", "/v1/wallet/sessions/current",
                                        ot_json_string (session, "token"), NULL, NULL);

  ot_assert_status (r, 200);
}

/* From the account page, after a session ended. */
static void
sign_in_again (void)
{
  ow_ui_type ("login_row", LOGIN);
  ow_ui_type ("password_row", PASSWORD);
  ow_ui_click ("submit_button");
  WAIT_PAGE ("main");
  remember_token ();
}

/* ---- the journey -------------------------------------------------------- */

/* A vault.db the wallet cannot read (a newer wallet's) is not opened, and
 * nothing offers to create a vault over it: a window says why and where,
 * and its one way on is Quit, which closes it (and so ends the wallet). An
 * application of its own, beside the journey's (without an id, so nothing
 * of it goes on the session bus), in a folder of its own whose name needs
 * escaping in markup. */
static void
test_unreadable_vault (void)
{
  g_autofree char *dir = g_build_filename (T.home, "newer <wallet> & co", NULL);
  g_autofree char *path = g_build_filename (dir, "vault.db", NULL);
  g_autofree char *keydb = g_build_filename (dir, "key4.db", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(OwApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  GtkWindow *window;
  GtkWidget *status;
  GList *windows;
  sqlite3 *db = NULL;
  gsize before_len, after_len;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "CREATE TABLE records (kind TEXT, id TEXT, sealed BLOB,"
                                 " updated_at INTEGER, added_later TEXT);"
                                 "PRAGMA user_version = 2;", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  g_assert_true (g_file_get_contents (path, &before, &before_len, NULL));

  app = ow_application_new (dir);
  g_application_set_application_id (G_APPLICATION (app), NULL);
  /* without an id GTK has nothing to register with the session manager */
  g_object_set (app, "register-session", FALSE, NULL);
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));

  status = ow_ui_get ("status_page");
  window = GTK_WINDOW (gtk_widget_get_root (status));
  g_assert_true (gtk_window_get_application (window) == GTK_APPLICATION (app));
  g_assert_null (ow_application_get_vault (app));
  g_assert_nonnull (strstr (adw_status_page_get_description (ADW_STATUS_PAGE (status)),
                            "newer version"));
  g_assert_true (shows_text (GTK_WIDGET (window), dir));
  ow_ui_screenshot (window, "00-vault-unreadable");
  ow_ui_check_a11y ("vault unreadable");

  /* activated again (the launcher once more): the same window, no other */
  g_application_activate (G_APPLICATION (app));
  windows = gtk_application_get_windows (GTK_APPLICATION (app));
  g_assert_cmpuint (g_list_length (windows), ==, 1);
  g_assert_true (windows->data == window);

  ow_ui_click ("quit_button");
  ow_ui_wait_for (gtk_application_get_windows (GTK_APPLICATION (app)) == NULL, 10,
                  "the window to close");
  g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
  g_assert_cmpmem (before, before_len, after, after_len);
  g_assert_false (g_file_test (keydb, G_FILE_TEST_EXISTS));
}

static guint
mnemonic_of (const char *button)
{
  return gtk_label_get_mnemonic_keyval (GTK_LABEL (gtk_button_get_child (GTK_BUTTON (ow_ui_get (button)))));
}

/* Whether the keyboard is in @id (an entry row's text is a child of it). */
static gboolean
focus_in (const char *id)
{
  GtkWidget *widget = ow_ui_get (id);
  GtkWidget *focus = gtk_root_get_focus (gtk_widget_get_root (widget));

  return focus != NULL && (focus == widget || gtk_widget_is_ancestor (focus, widget));
}

static void
test_first_run (void)
{
  WAIT_PAGE ("setup");
  g_assert_false (ow_vault_exists (vault ()));
  /* the keyboard starts where the typing does, not on the menu */
  ow_ui_wait_for (focus_in ("password_row"), 10, "the master password to have the focus");
  ow_ui_screenshot (ow_ui_window_of ("stack"), "01-first-run");
  assert_fits (ow_ui_window_of ("stack"), 360, 640);
  ow_ui_check_a11y ("first run");

  /* too short, then two different passwords */
  ow_ui_type ("password_row", "short");
  ow_ui_type ("confirm_row", "short");
  ow_ui_click ("create_button");
  ow_ui_wait_for (label_contains ("error_label", "8"), 10, "the too-short message");
  ow_ui_type ("password_row", MASTER);
  ow_ui_type ("confirm_row", MASTER "!");
  ow_ui_click ("create_button");
  ow_ui_wait_for (label_contains ("error_label", "differ"), 10, "the mismatch message");
  g_assert_false (ow_vault_exists (vault ()));

  ow_ui_type ("confirm_row", MASTER);
  ow_ui_click ("create_button");
  WAIT_PAGE ("account");
  g_assert_true (ow_vault_exists (vault ()));
  g_assert_false (ow_vault_is_locked (vault ()));
}

static void
test_register (void)
{
  ow_ui_screenshot (ow_ui_window_of ("stack"), "02-sign-in");
  ow_ui_check_a11y ("sign in");
  /* one Alt+key, one button */
  g_assert_cmpuint (mnemonic_of ("sign_in_toggle"), !=, mnemonic_of ("submit_button"));
  g_assert_cmpuint (mnemonic_of ("register_toggle"), !=, mnemonic_of ("submit_button"));

  ow_ui_click ("register_toggle");
  ow_ui_wait_for (ow_ui_find ("reg_login_row") != NULL, 10, "the registration form");
  ow_ui_screenshot (ow_ui_window_of ("stack"), "03-register");
  ow_ui_check_a11y ("register");

  ow_ui_type ("reg_login_row", LOGIN);
  ow_ui_type ("reg_name_row", "홍길동");
  ow_ui_type ("reg_email_row", "gildong@example.com");
  ow_ui_type ("reg_phone_row", "010-1234-5678");
  ow_ui_type ("reg_password_row", PASSWORD);
  ow_ui_type ("reg_confirm_row", PASSWORD);

  /* plain HTTP to another host is refused before anything is sent */
  ow_ui_type ("gateway_row", "http://gateway.example.com");
  ow_ui_click ("submit_button");
  ow_ui_wait_for (label_contains ("error_label", "https://"), 10, "the insecure-address message");
  g_assert_cmpstr (window_page (), ==, "account");

  /* an address the gateway would refuse is refused before it is sent */
  ow_ui_type ("gateway_row", ot_proxy_url (T.proxy));
  ow_ui_type ("reg_email_row", "gildong.example.com");
  ow_ui_click ("submit_button");
  ow_ui_wait_for (label_contains ("error_label", "valid e-mail"), 10, "the refusal of the address");
  g_assert_cmpint (gateway_answers ("/v1/wallet/users", NULL), ==, 0);

  /* Sent: the form is frozen until the answer, and the sign-in that follows
   * the registration takes the password submitted, not the field's. */
  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  ow_ui_type ("reg_email_row", "gildong@example.com");
  ow_ui_click ("submit_button");
  ow_ui_wait_for (ot_proxy_held (T.proxy) > 0, 30, "the registration's answer");
  g_assert_false (gtk_editable_get_editable (GTK_EDITABLE (ow_ui_get ("reg_password_row"))));
  g_assert_false (gtk_editable_get_editable (GTK_EDITABLE (ow_ui_get ("reg_login_row"))));
  g_assert_false (sensitive ("sign_in_toggle"));
  gtk_editable_set_text (GTK_EDITABLE (ow_ui_get ("reg_password_row")), "not the password sent");
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  WAIT_PAGE ("main");

  /* the gateway has the account; the session is sealed in the vault */
  {
    g_autoptr(JsonObject) me = gateway_get ("/v1/wallet/me");
    g_autoptr(JsonObject) session = session_record ();

    g_assert_cmpstr (ot_json_string (me, "login_id"), ==, LOGIN);
    g_assert_cmpstr (ot_json_string (me, "name"), ==, "홍길동");
    g_assert_cmpstr (ot_json_string (session, "login_id"), ==, LOGIN);
    g_assert_cmpstr (ot_json_string (session, "gateway"), ==, ot_proxy_url (T.proxy));
    remember_token ();
  }
}

static void
test_apply_card (void)
{
  g_autoptr(OwSecret) record = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *card;

  ow_ui_wait_for (g_strcmp0 (ow_ui_stack_page ("card_stack"), "no-card") == 0, 30,
                  "the apply-for-a-card view");
  ow_ui_screenshot (ow_ui_window_of ("stack"), "04-no-card");
  ow_ui_check_a11y ("main view without a card");

  ow_ui_click ("apply_button");
  ow_ui_wait_for (ow_ui_find ("confirm_row") != NULL, 10, "the apply dialog");
  ow_ui_screenshot (ow_ui_window_of ("confirm_row"), "05-apply-dialog");
  ow_ui_check_a11y ("apply dialog");

  ow_ui_type ("password_row", CARD_PASSWORD);
  ow_ui_type ("confirm_row", "000000");
  ow_ui_click ("apply_button");
  ow_ui_wait_for (label_contains ("error_label", "differ"), 10, "the mismatch message");
  ow_ui_type ("confirm_row", CARD_PASSWORD);
  ow_ui_click ("apply_button");

  ow_ui_wait_for (g_strcmp0 (ow_ui_stack_page ("card_stack"), "card") == 0, 30, "the card");
  wait_label ("balance_label", "₩0");

  /* the number and CVC, shown once by the gateway, are sealed in the vault */
  {
    g_autoptr(JsonObject) gateway_card = gateway_get ("/v1/wallet/card");
    g_auto(GStrv) ids = ow_vault_list (vault (), OW_VAULT_KIND_CARD, NULL);

    g_assert_cmpuint (g_strv_length (ids), ==, 1);
    g_assert_cmpstr (ids[0], ==, ot_json_string (gateway_card, "id"));
    g_assert_cmpstr (ow_ui_label ("number_label"), ==, ot_json_string (gateway_card, "masked_number"));
    record = ow_vault_lookup (vault (), OW_VAULT_KIND_CARD, ids[0], NULL);
  }
  g_assert_nonnull (record);
  g_assert_true (json_parser_load_from_data (parser, record, -1, NULL));
  card = json_node_get_object (json_parser_get_root (parser));
  T.card_number = g_strdup (ot_json_string (card, "number"));
  T.card_cvc = g_strdup (ot_json_string (card, "cvc"));
  g_assert_true (ot_luhn_valid (T.card_number));

  /* it is a real onepin card with the password given in the dialog */
  ot_assert_card_balance (T.gw, T.card_number, CARD_PASSWORD, 0, 0);
  g_assert_true (g_str_has_suffix (ow_ui_label ("number_label"), T.card_number + 12));

  /* "Show Number" shows it from the vault, and hides it again; by "CVC
   * 123", as the masked number's last four digits may hold the CVC's */
  T.card_cvc_text = g_strdup_printf ("CVC %s", T.card_cvc);
  ow_ui_click ("reveal_button");
  ow_ui_wait_for (label_contains ("number_label", T.card_cvc_text), 10, "the revealed number");
  g_assert_nonnull (strstr (ow_ui_label ("number_label"), T.card_number + 12));
  ow_ui_click ("reveal_button");
  ow_ui_wait_for (!label_contains ("number_label", T.card_cvc_text), 10, "the number to hide");
}

static void
add_funding (const char *action,
             const char *dialog_field)
{
  GtkWidget *page = ow_ui_get ("main_page");

  g_assert_true (gtk_widget_activate_action (page, action, NULL));
  ow_ui_wait_for (ow_ui_find (dialog_field) != NULL, 10, "the funding dialog");
}

static void
add_credit_card (const char *number)
{
  add_funding ("main.add-credit-card", "card_number_row");
  ow_ui_type ("card_number_row", number);
  ow_ui_type ("expiry_row", "12/39");
  ow_ui_type ("card_holder_row", "HONG GILDONG");
  ow_ui_click ("add_button");
}

static void
test_funding_sources (void)
{
  ow_ui_wait_for (row_titled ("funding_list", "No credit card") != NULL, 30, "the empty list");

  add_funding ("main.add-credit-card", "card_number_row");
  /* the keyboard starts in the first field, and Enter goes on to the next */
  ow_ui_wait_for (focus_in ("card_number_row"), 10, "the focus in the card number");
  press_enter ("card_number_row");
  g_assert_true (focus_in ("expiry_row"));
  press_enter ("expiry_row");
  g_assert_true (focus_in ("card_holder_row"));
  ow_ui_screenshot (ow_ui_window_of ("card_number_row"), "06-add-credit-card");
  ow_ui_check_a11y ("add credit card");
  /* a onepin card cannot fund a onepin card */
  ow_ui_type ("card_number_row", T.card_number);
  ow_ui_type ("expiry_row", "12/39");
  ow_ui_type ("card_holder_row", "HONG GILDONG");
  ow_ui_click ("add_button");
  ow_ui_wait_for (label_contains ("error_label", "onepin"), 30, "the refusal of a onepin card");
  /* typed as printed, in groups */
  ow_ui_type ("card_number_row", "4242 4242 4242 4242");
  ow_ui_click ("add_button");
  ow_ui_wait_for (count_rows ("funding_list") == 1 && row_titled ("funding_list", "Credit Card"), 30,
                  "the credit card row");
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (row_titled ("funding_list", "Credit Card")),
                            "4242"));

  add_funding ("main.add-bank-account", "account_number_row");
  ow_ui_wait_for (focus_in ("account_number_row"), 10, "the focus in the account number");
  press_enter ("account_number_row");
  g_assert_true (focus_in ("account_holder_row"));
  ow_ui_check_a11y ("add bank account");
  {
    AdwComboRow *banks = ADW_COMBO_ROW (ow_ui_get ("bank_row"));
    GListModel *names = adw_combo_row_get_model (banks);
    guint sandbox = G_MAXUINT;

    for (guint i = 0; i < g_list_model_get_n_items (names); i++)
      if (strstr (gtk_string_list_get_string (GTK_STRING_LIST (names), i), OT_BANK_CODE) != NULL)
        sandbox = i;
    g_assert_cmpuint (sandbox, !=, G_MAXUINT);
    adw_combo_row_set_selected (banks, sandbox);
  }
  ow_ui_type ("account_number_row", BANK_ACCOUNT);
  ow_ui_type ("account_holder_row", "홍길동");
  ow_ui_screenshot (ow_ui_window_of ("account_number_row"), "07-add-bank-account");
  ow_ui_click ("add_button");
  ow_ui_wait_for (count_rows ("funding_list") == 2, 30, "two funding rows");

  add_credit_card (OT_BANK_CARD_DECLINE);
  ow_ui_wait_for (count_rows ("funding_list") == 3, 30, "three funding rows");

  /* the gateway has them masked; the details as entered are in the vault */
  {
    g_autoptr(JsonObject) list = gateway_get ("/v1/wallet/funding-sources");
    JsonArray *data = ot_json_array (list, "data");
    g_auto(GStrv) ids = ow_vault_list (vault (), OW_VAULT_KIND_FUNDING, NULL);

    g_assert_cmpuint (json_array_get_length (data), ==, 3);
    g_assert_cmpuint (g_strv_length (ids), ==, 3);
    for (guint i = 0; i < 3; i++)
      {
        const char *id = ot_json_string (json_array_get_object_element (data, i), "id");
        g_autoptr(OwSecret) details = ow_vault_lookup (vault (), OW_VAULT_KIND_FUNDING, id, NULL);

        g_assert_nonnull (row_named ("funding_list", id));
        g_assert_nonnull (details);
        g_assert_true (strstr (details, CREDIT_CARD) != NULL ||
                       strstr (details, OT_BANK_CARD_DECLINE) != NULL ||
                       strstr (details, BANK_ACCOUNT_DIGITS) != NULL);
      }
  }

  ow_ui_screenshot (ow_ui_window_of ("stack"), "08-main-with-funding");
  ow_ui_check_a11y ("main view with a card and funding sources");
}

/* Picks the funding source whose label has @last4 in the charge dialog. */
static void
choose_source (const char *last4)
{
  AdwComboRow *sources = ADW_COMBO_ROW (ow_ui_get ("source_row"));
  GListModel *labels = adw_combo_row_get_model (sources);

  for (guint i = 0; i < g_list_model_get_n_items (labels); i++)
    if (strstr (gtk_string_list_get_string (GTK_STRING_LIST (labels), i), last4) != NULL)
      {
        adw_combo_row_set_selected (sources, i);
        return;
      }
  g_error ("no funding source ending %s in the charge dialog", last4);
}

static void
open_charge_dialog (void)
{
  ow_ui_click ("charge_button");
  ow_ui_wait_for (ow_ui_find ("amount_spin") != NULL, 10, "the charge dialog");
}

static void
test_charge (void)
{
  open_charge_dialog ();
  ow_ui_wait_for (focus_in ("source_row"), 10, "the focus in the source");
  ow_ui_screenshot (ow_ui_window_of ("amount_spin"), "09-charge-dialog");
  ow_ui_check_a11y ("charge dialog");
  /* the source's last digits, the part that tells sources apart, in sight */
  choose_source ("4242");
  ow_ui_spin (200);
  g_assert_true (shows_whole_text (GTK_WIDGET (ow_ui_window_of ("amount_spin")), "••4242"));

  /* the card company declines: nothing is charged, and it says so */
  choose_source ("0002");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (ow_ui_get ("amount_spin")), 10000);
  ow_ui_type ("cvc_row", "123");
  ow_ui_click ("charge_button");
  ow_ui_wait_for (label_contains ("error_label", "declined"), 30, "the decline");
  ow_ui_screenshot (ow_ui_window_of ("amount_spin"), "10-charge-declined");

  /* the same dialog, another card: a new request */
  choose_source ("4242");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (ow_ui_get ("amount_spin")), 50000);
  ow_ui_type ("cvc_row", "123");
  ow_ui_click ("charge_button");
  ow_ui_wait_for (ow_ui_find ("amount_spin") == NULL, 30, "the charge to go through");
  wait_label ("balance_label", "₩50,000");
  ow_ui_wait_for (row_titled ("history_list", "••4242") != NULL, 30, "the charge in the history");
  ot_assert_card_balance (T.gw, T.card_number, CARD_PASSWORD, 50000, 50000);

  /* from the bank account, with its password instead of a CVC */
  open_charge_dialog ();
  choose_source ("0001");
  ow_ui_wait_for (ow_ui_find ("account_password_row") != NULL, 10, "the account password field");
  g_assert_null (ow_ui_find ("cvc_row"));
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (ow_ui_get ("amount_spin")), 20000);
  ow_ui_type ("account_password_row", OT_BANK_ACCOUNT_PASSWORD);
  ow_ui_click ("charge_button");
  ow_ui_wait_for (ow_ui_find ("amount_spin") == NULL, 30, "the second charge");
  wait_label ("balance_label", "₩70,000");
  ow_ui_wait_for (row_titled ("history_list", "account ••0001") != NULL, 30, "the second charge row");
  ow_ui_screenshot (ow_ui_window_of ("stack"), "11-charged");
}

/* The main page, with its card, funding sources and history, fits a
 * phone's width and a netbook's screen. */
static void
test_narrow_window (void)
{
  GtkWindow *window = ow_ui_window_of ("stack");

  g_assert_cmpstr (ow_ui_stack_page ("stack"), ==, "main");
  assert_fits (window, 360, 640);
  assert_fits (window, 1024, 600);
}

/* The card company takes the money but its answer is lost (the bank dies
 * while holding it back): the dialog keeps the request as it was sent, a
 * dialog opened again resumes it, a different CVC does not make it another
 * charge, and the retry once the bank is back credits it once. */
static void
test_charge_pending (void)
{
  GtkSpinButton *amount;

  add_credit_card (OT_BANK_CARD_SLOW);
  ow_ui_wait_for (count_rows ("funding_list") == 3, 30, "the slow card's row");

  open_charge_dialog ();
  choose_source ("0119");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (ow_ui_get ("amount_spin")), 30000);
  ow_ui_type ("cvc_row", "123");
  ow_ui_click ("charge_button");
  ow_ui_spin (500);
  ot_bank_kill (T.bank);
  ow_ui_wait_for (label_contains ("error_label", "not confirmed"), 30, "the unknown outcome");
  g_assert_false (sensitive ("source_row"));
  g_assert_false (sensitive ("amount_spin"));
  g_assert_false (sensitive ("cvc_row"));
  ow_ui_screenshot (ow_ui_window_of ("amount_spin"), "12-charge-pending");

  /* closed and opened again: the same charge, its CVC to type again */
  gtk_window_close (ow_ui_window_of ("amount_spin"));
  ow_ui_wait_for (ow_ui_find ("amount_spin") == NULL, 10, "the dialog to close");
  open_charge_dialog ();
  amount = GTK_SPIN_BUTTON (ow_ui_get ("amount_spin"));
  g_assert_nonnull (strstr (gtk_string_list_get_string (
    GTK_STRING_LIST (adw_combo_row_get_model (ADW_COMBO_ROW (ow_ui_get ("source_row")))),
    adw_combo_row_get_selected (ADW_COMBO_ROW (ow_ui_get ("source_row")))), "0119"));
  g_assert_cmpfloat (gtk_spin_button_get_value (amount), ==, 30000);
  g_assert_false (sensitive ("source_row"));
  g_assert_false (sensitive ("amount_spin"));
  g_assert_true (sensitive ("cvc_row"));
  g_assert_true (label_contains ("error_label", "₩30,000"));
  /* the one field left to type in */
  ow_ui_wait_for (focus_in ("cvc_row"), 10, "the focus in the security code");
  ow_ui_check_a11y ("charge dialog resuming a charge");

  /* another CVC is another request (422): still the same charge */
  ot_bank_restart (T.bank);
  ow_ui_type ("cvc_row", "999");
  ow_ui_click ("charge_button");
  ow_ui_wait_for (label_contains ("error_label", "same security code"), 30, "the refused CVC");
  g_assert_false (sensitive ("source_row"));
  g_assert_true (sensitive ("cvc_row"));

  ow_ui_type ("cvc_row", "123");
  ow_ui_click ("charge_button");
  ow_ui_wait_for (ow_ui_find ("amount_spin") == NULL, 30, "the charge to settle");
  wait_label ("balance_label", "₩97,000");
  ot_assert_card_balance (T.gw, T.card_number, CARD_PASSWORD, 97000, 97000);

  /* settled: the next dialog is a new charge */
  open_charge_dialog ();
  g_assert_true (sensitive ("source_row"));
  g_assert_true (sensitive ("amount_spin"));
  g_assert_false (label_contains ("error_label", "not confirmed"));
  gtk_window_close (ow_ui_window_of ("amount_spin"));
  ow_ui_wait_for (ow_ui_find ("amount_spin") == NULL, 10, "the dialog to close");
}

static void
unlock (void)
{
  WAIT_PAGE ("unlock");
  ow_ui_type ("password_row", MASTER);
  ow_ui_click ("unlock_button");
  WAIT_PAGE ("main");
}

static gint64
card_balance (void)
{
  g_autoptr(JsonObject) card = gateway_get ("/v1/wallet/card");

  return ot_json_int (card, "balance");
}

/* The slow card (its bank holds the answer back) among the funding
 * sources, and the sources loaded. */
static void
have_slow_card (void)
{
  ow_ui_wait_for (count_rows ("funding_list") > 0, 30, "the funding sources");
  if (!window_shows ("0119"))
    {
      guint rows = count_rows ("funding_list");

      add_credit_card (OT_BANK_CARD_SLOW);
      ow_ui_wait_for (count_rows ("funding_list") == rows + 1, 30, "the slow card's row");
    }
}

/* The open charge dialog's unsettled charge, once the bank is back: the
 * same request (retried while the gateway still waits on it) until it is
 * settled and the dialog closes. @key: the Idempotency-Key the vault is to
 * keep for it meanwhile, or NULL. */
static void
retry_until_settled (const char *key)
{
  for (guint tries = 0; ow_ui_find ("amount_spin") != NULL; tries++)
    {
      g_assert_cmpuint (tries, <, 10);
      if (key != NULL)
        {
          /* every retry is the same request, and the vault keeps it meanwhile */
          g_autoptr(OwPendingCharge) kept = ow_application_dup_pending_charge (T.app);

          g_assert_nonnull (kept);
          g_assert_cmpstr (kept->idempotency_key, ==, key);
        }
      if (sensitive ("cvc_row"))
        ow_ui_type ("cvc_row", "123");
      ow_ui_click ("charge_button");
      /* a button's click comes a moment after its activation */
      ow_ui_wait_for (ow_ui_find ("amount_spin") == NULL || !sensitive ("charge_button"), 10,
                      "the retry to go out");
      ow_ui_wait_for (ow_ui_find ("amount_spin") == NULL || sensitive ("charge_button"), 60,
                      "the retry's answer");
      g_assert_false (label_contains ("error_label", "same security code"));
    }
}

/* The bank killed as it holds the answer, and back: the charge settled. */
static void
settle_charge (void)
{
  ot_bank_kill (T.bank);
  ot_bank_restart (T.bank);
  retry_until_settled (NULL);
}

/* The charge dialog shows the unsettled charge of @amount, its source and
 * amount fixed. */
static void
assert_resuming (const char *amount)
{
  g_assert_true (label_contains ("error_label", "not confirmed"));
  g_assert_true (label_contains ("error_label", amount));
  g_assert_false (sensitive ("source_row"));
  g_assert_false (sensitive ("amount_spin"));
  g_assert_true (sensitive ("cvc_row"));
}

/* A charge in flight fixes its request: nothing can be edited until the
 * answer, a change made anyway is not what a retry sends, and the fields
 * show the request sent again when its outcome is unknown. */
static void
test_charge_frozen (void)
{
  GtkSpinButton *amount;
  gint64 before;

  have_slow_card ();
  before = card_balance ();
  open_charge_dialog ();
  choose_source ("0119");
  amount = GTK_SPIN_BUTTON (ow_ui_get ("amount_spin"));
  gtk_spin_button_set_value (amount, 30000);
  ow_ui_type ("cvc_row", "123");
  ow_ui_click ("charge_button");
  ow_ui_spin (300);
  g_assert_false (sensitive ("source_row"));
  g_assert_false (sensitive ("amount_spin"));
  g_assert_false (sensitive ("cvc_row"));

  /* changed behind the frozen field's back: still the first request */
  gtk_spin_button_set_value (amount, 50000);
  choose_source ("4242");
  ot_bank_kill (T.bank);
  ow_ui_wait_for (label_contains ("error_label", "not confirmed"), 60, "the unknown outcome");
  ot_bank_restart (T.bank);
  g_assert_cmpfloat (gtk_spin_button_get_value (amount), ==, 30000);
  g_assert_true (strstr (gtk_string_list_get_string (
    GTK_STRING_LIST (adw_combo_row_get_model (ADW_COMBO_ROW (ow_ui_get ("source_row")))),
    adw_combo_row_get_selected (ADW_COMBO_ROW (ow_ui_get ("source_row")))), "0119") != NULL);

  /* the main page keeps the request sent: a dialog opened again resumes it */
  gtk_spin_button_set_value (amount, 50000);
  gtk_window_close (ow_ui_window_of ("amount_spin"));
  ow_ui_wait_for (ow_ui_find ("amount_spin") == NULL, 10, "the dialog to close");
  open_charge_dialog ();
  assert_resuming ("₩30,000");
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (ow_ui_get ("amount_spin"))), ==, 30000);

  settle_charge ();
  g_assert_cmpint (card_balance (), ==, before + 30000);
}

/* A charge out cannot be called back: Cancel and Escape leave the dialog
 * open until its answer, which the main page then shows. The wallet locked
 * while a charge is out: it may have gone through, so the next dialog
 * resumes it (its secret typed again) and the money is charged once. */
static void
test_charge_closed_in_flight (void)
{
  GtkWindow *dialog;
  gint64 before;
  guint sources;

  have_slow_card ();
  before = card_balance ();
  open_charge_dialog ();
  dialog = ow_ui_window_of ("amount_spin");
  choose_source ("4242");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (ow_ui_get ("amount_spin")), 20000);
  ow_ui_type ("cvc_row", "123");
  g_assert_true (sensitive ("cancel_button"));
  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  ow_ui_click ("charge_button");
  ow_ui_wait_for (!sensitive ("charge_button"), 10, "the charge to go out");
  assert_stays_open (dialog, "amount_spin");
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  ow_ui_wait_for (ow_ui_find ("amount_spin") == NULL, 30, "the charge's answer");
  g_assert_cmpint (card_balance (), ==, before + 20000);
  {
    g_autofree char *balance = ow_format_money (before + 20000, "krw");

    wait_label ("balance_label", balance);
  }
  ow_ui_wait_for (window_shows ("Charged"), 10, "the charge's toast");

  /* locked in flight: the unlocked wallet resumes it, no CVC kept */
  sources = count_rows ("funding_list");
  open_charge_dialog ();
  choose_source ("0119");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (ow_ui_get ("amount_spin")), 40000);
  ow_ui_type ("cvc_row", "123");
  ow_ui_click ("charge_button");
  ow_ui_spin (500);
  ow_vault_lock (vault ());
  ow_ui_wait_for (ow_ui_find ("amount_spin") == NULL, 10, "the lock to close the dialog");
  unlock ();
  ow_ui_wait_for (count_rows ("funding_list") == sources, 30, "the funding sources again");
  open_charge_dialog ();
  assert_resuming ("₩40,000");
  g_assert_cmpstr (editable_text ("cvc_row"), ==, "");
  settle_charge ();
  g_assert_cmpint (card_balance (), ==, before + 60000);
}

/* The row of the funding source ending @last4. */
static GtkWidget *
funding_row_ending (const char *last4)
{
  for (GtkWidget *row = gtk_widget_get_first_child (ow_ui_get ("funding_list")); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (ADW_IS_ACTION_ROW (row) && strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), last4))
      return row;
  return NULL;
}

/* A source removed while a charge runs (here from it; after a lock, from
 * another window): the gateway refuses, and the source stays, its details
 * in the vault, with a message about the removal. */
static void
test_remove_while_charging (void)
{
  GtkWidget *slow;
  g_autofree char *id = NULL;
  g_autoptr(OwSecret) details = NULL;
  gint64 before;

  have_slow_card ();
  before = card_balance ();
  open_charge_dialog ();
  choose_source ("0119");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (ow_ui_get ("amount_spin")), 10000);
  ow_ui_type ("cvc_row", "123");
  ow_ui_click ("charge_button");
  ow_ui_spin (500);

  /* the rows as they are now: the list is rebuilt on every load */
  slow = funding_row_ending ("0119");
  g_assert_nonnull (slow);
  id = g_strdup (gtk_widget_get_name (slow));
  g_assert_true (gtk_widget_activate (first_button (slow)));
  adw_message_dialog_response (wait_message_dialog ("the remove confirmation"), "remove");
  ow_ui_wait_for (window_shows ("Remove the funding source once"), 30, "the refusal");
  g_assert_false (window_shows ("Another charge"));
  details = ow_vault_lookup (vault (), OW_VAULT_KIND_FUNDING, id, NULL);
  g_assert_nonnull (details);
  g_assert_nonnull (row_named ("funding_list", id));

  settle_charge ();
  g_assert_cmpint (card_balance (), ==, before + 10000);
}

/* ---- a charge across a quit ---------------------------------------------
 *
 * The wallet in another process of this program (OW_GUI_CHILD names its
 * part), with this one's home and vault, and an X display, D-Bus session
 * and gateway of this one's: the process really ends, and what it knew is
 * only what it wrote. Its own runtime folder, for its browser socket; not
 * unique on the bus, where this one's application is. */

#define RESTART_AMOUNT 50000

/* A charge of RESTART_AMOUNT from the slow card, its answer held back. */
static void
send_held_charge (void)
{
  unlock ();
  have_slow_card ();
  open_charge_dialog ();
  choose_source ("0119");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (ow_ui_get ("amount_spin")), RESTART_AMOUNT);
  ow_ui_type ("cvc_row", "123");
  ow_ui_click ("charge_button");
  /* at the gateway, whose bank holds its answer back; or, on a machine
   * slow enough (ASan with full stacks), already past the gateway's own
   * wait for the bank: an unknown outcome, which the vault keeps as well */
  ow_ui_spin (500);
  g_assert_nonnull (ow_ui_find ("amount_spin"));
  g_assert_true (!sensitive ("charge_button") || label_contains ("error_label", "not confirmed"));
}

/* The child's parts, in an idle of its g_application_run (): it ends with
 * app.quit, as the menu and Ctrl+Q do (a lock, then the end of the run),
 * or killed at once, as in a crash, with nothing written after the send. */
static gboolean
child_lose_charge (gpointer data)
{
  send_held_charge ();
  g_action_group_activate_action (G_ACTION_GROUP (T.app), "quit", NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
child_crash_charge (gpointer data)
{
  send_held_charge ();
  kill (getpid (), SIGKILL);
  g_assert_not_reached ();
}

static gboolean
child_retry_charge (gpointer data)
{
  g_autoptr(OwPendingCharge) pending = NULL;

  unlock ();
  have_slow_card ();
  /* the request sent before the quit, as it was sent: the same key */
  pending = ow_application_dup_pending_charge (T.app);
  g_assert_nonnull (pending);
  g_assert_cmpint (pending->amount, ==, RESTART_AMOUNT);
  open_charge_dialog ();
  assert_resuming ("₩50,000");
  g_assert_cmpstr (editable_text ("cvc_row"), ==, "");
  /* the bank is the parent's, which restarted it */
  retry_until_settled (pending->idempotency_key);
  /* settled: nothing left to resume */
  g_assert_null (ow_application_dup_pending_charge (T.app));
  g_action_group_activate_action (G_ACTION_GROUP (T.app), "quit", NULL);
  return G_SOURCE_REMOVE;
}

static int
run_child (const char *part)
{
  g_autoptr(GError) error = NULL;
  GSourceFunc steps = g_str_equal (part, "lose-charge") ? child_lose_charge
                      : g_str_equal (part, "crash-charge") ? child_crash_charge
                      : child_retry_charge;
  int status;

  /* stdout is the parent's TAP */
  dup2 (STDERR_FILENO, STDOUT_FILENO);
  if (!ow_vault_global_init (&error))
    g_error ("%s", error->message);
  T.app = ow_application_new (NULL);
  g_application_set_flags (G_APPLICATION (T.app), G_APPLICATION_NON_UNIQUE);
  g_idle_add (steps, NULL);
  status = g_application_run (G_APPLICATION (T.app), 0, NULL);
  g_clear_object (&T.app);
  return status;
}

/* @killed: it is to end by SIGKILL, not exit 0 */
static void
spawn_child (const char *part,
             gboolean    killed)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *self_path = g_file_read_link ("/proc/self/exe", &error);
  g_autofree char *runtime = g_build_filename (T.home, "run-child", NULL);
  g_auto(GStrv) env = g_get_environ ();
  char *argv[] = { self_path, NULL };
  int status = 0;

  g_assert_no_error (error);
  g_mkdir_with_parents (runtime, 0700);
  env = g_environ_setenv (env, "OW_GUI_CHILD", part, TRUE);
  env = g_environ_setenv (env, "XDG_RUNTIME_DIR", runtime, TRUE);
  g_spawn_sync (NULL, argv, env, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  if (killed && WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL)
    return;
  if (!g_spawn_check_wait_status (status, &error) || killed)
    g_error ("the wallet's process (%s) failed: %s", part,
             error != NULL ? error->message : "it was not killed");
}

/* The answer lost, the wallet quit (@part "lose-charge": its process
 * ended) or crashed ("crash-charge") and started again on the same vault:
 * after the unlock its charge dialog resumes the charge under the key it
 * was sent with, and the money moves once. */
static void
charge_across_restart (const char *part)
{
  gint64 before;

  have_slow_card ();
  before = card_balance ();
  /* this process's wallet out of the way, as if it were not running */
  ow_application_lock (T.app);
  WAIT_PAGE ("unlock");

  spawn_child (part, g_str_equal (part, "crash-charge"));
  /* the bank dies holding its answer: the gateway does not know it either */
  ot_bank_kill (T.bank);
  ot_bank_restart (T.bank);
  spawn_child ("retry-charge", FALSE);

  unlock ();
  g_assert_cmpint (card_balance (), ==, before + RESTART_AMOUNT);
  ow_ui_wait_for (count_rows ("funding_list") > 0, 30, "the funding sources");
}

static void
test_charge_survives_restart (void)
{
  charge_across_restart ("lose-charge");
}

static void
test_charge_survives_crash (void)
{
  charge_across_restart ("crash-charge");
}

/* What is charged is what the field shows: an amount off the ₩10,000
 * steps, out of range or missing is refused, not rounded or clamped. */
static void
test_charge_amount (void)
{
  const char *refused[] = { "15000", "", "0", "5000", "1500000", "1010000" };
  gint64 before;

  ow_ui_wait_for (count_rows ("funding_list") > 0, 30, "the funding sources");
  before = card_balance ();
  open_charge_dialog ();
  choose_source ("4242");
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      const char *why = refused[i][0] == '\0' ? "Enter the amount" : "₩10,000 steps";

      gtk_label_set_text (GTK_LABEL (ow_ui_find_hidden ("error_label")), "");
      ow_ui_type ("cvc_row", "123");
      ow_ui_type ("amount_spin", refused[i]);
      ow_ui_click ("charge_button");
      ow_ui_wait_for (label_contains ("error_label", why) || !sensitive ("charge_button") ||
                      ow_ui_find ("amount_spin") == NULL, 10, "the refusal");
      g_assert_true (label_contains ("error_label", why));
      g_assert_cmpstr (editable_text ("amount_spin"), ==, refused[i]);
      g_assert_true (sensitive ("charge_button"));
    }
  g_assert_cmpint (card_balance (), ==, before);

  ow_ui_type ("amount_spin", "20000");
  ow_ui_click ("charge_button");
  ow_ui_wait_for (ow_ui_find ("amount_spin") == NULL, 30, "the charge to go through");
  g_assert_cmpint (card_balance (), ==, before + 20000);
}

static guint
gateway_funding_sources (void)
{
  g_autoptr(JsonObject) list = gateway_get ("/v1/wallet/funding-sources");

  return json_array_get_length (json_object_get_array_member (list, "data"));
}

/* The answer to adding a funding source is lost: it may have been added,
 * so the dialog keeps its key, and adding it again is the same request. */
static void
test_funding_lost_answer (void)
{
  guint sources = gateway_funding_sources ();
  guint dropped = ot_proxy_dropped (T.proxy);

  ot_proxy_set_mode (T.proxy, OT_PROXY_DROP_ANSWERS);
  add_credit_card (OT_BANK_CARD_APPROVE_2);
  /* a button's click comes a moment after its activation */
  ow_ui_wait_for (!sensitive ("add_button"), 10, "the request to go out");
  ow_ui_wait_for (sensitive ("add_button"), 30, "the lost answer");
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  g_assert_cmpuint (ot_proxy_dropped (T.proxy), >, dropped);
  g_assert_cmpuint (gateway_funding_sources (), ==, sources + 1);

  ow_ui_click ("add_button");
  ow_ui_wait_for (ow_ui_find ("card_number_row") == NULL, 30, "the dialog to close");
  g_assert_cmpuint (gateway_funding_sources (), ==, sources + 1);

  /* what else the proxy cut off meanwhile (the main page's calls) comes back */
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.refresh", NULL));
  ow_ui_wait_for (g_strcmp0 (ow_ui_stack_page ("card_stack"), "card") == 0, 30, "the card");
}

/* Cancel and Escape leave the funding dialog open while the source is
 * being added: the list and the vault then have it. */
static void
test_funding_closed_in_flight (void)
{
  guint rows = count_rows ("funding_list");
  GtkWindow *dialog;
  GtkWidget *row;
  g_autoptr(OwSecret) details = NULL;

  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  add_credit_card (OT_BANK_CARD_NO_FUNDS);
  dialog = ow_ui_window_of ("card_number_row");
  ow_ui_wait_for (!sensitive ("add_button"), 10, "the request to go out");
  assert_stays_open (dialog, "card_number_row");
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  ow_ui_wait_for (ow_ui_find ("card_number_row") == NULL, 30, "the dialog to close");
  /* The row itself: the count alone can be met by a refresh the test
   * before left in flight, which lists its own source. */
  ow_ui_wait_for ((row = funding_row_ending ("9995")) != NULL, 30, "the new row");
  g_assert_cmpuint (count_rows ("funding_list"), >=, rows + 1);
  details = ow_vault_lookup (vault (), OW_VAULT_KIND_FUNDING, gtk_widget_get_name (row), NULL);
  g_assert_nonnull (details);
  g_assert_nonnull (strstr (details, OT_BANK_CARD_NO_FUNDS));
}

/* A shop takes a payment with the card; the wallet shows it on refresh,
 * its name as written (not read as markup, where "&" blanks the row). */
static void
test_payment_in_history (void)
{
  g_autofree char *secret_key = NULL;
  g_autofree char *merchant = ot_create_merchant (T.gw, "Book Mall & <i>Tea</i>", &secret_key);
  g_autoptr(JsonObject) payment = ot_pay (T.gw, secret_key, T.card_number, CARD_PASSWORD, 3000, TRUE);
  AdwActionRow *row;

  g_assert_cmpstr (ot_json_string (payment, "status"), ==, "captured");
  g_assert_cmpstr (ot_json_string (payment, "merchant"), ==, merchant);
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.refresh", NULL));
  wait_label ("balance_label", "₩67,000");
  ow_ui_wait_for ((row = row_titled ("history_list", "Book Mall")) != NULL, 30, "the payment row");
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (row), "₩67,000"));
  g_assert_true (shows_text (GTK_WIDGET (row), "Book Mall & <i>Tea</i>"));
  scroll_to_end (ow_ui_get ("history_list"));
  ow_ui_screenshot (ow_ui_window_of ("stack"), "12-history");
  ow_ui_check_a11y ("main view with history");
}

static void
test_remove_funding_source (void)
{
  guint before = count_rows ("funding_list");
  AdwActionRow *declining = NULL;
  GtkWidget *remove;
  AdwMessageDialog *confirm;

  for (GtkWidget *row = gtk_widget_get_first_child (ow_ui_get ("funding_list")); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (ADW_IS_ACTION_ROW (row) && strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), "0002"))
      declining = ADW_ACTION_ROW (row);
  g_assert_nonnull (declining);
  remove = first_button (GTK_WIDGET (declining));
  g_assert_nonnull (remove);
  g_assert_true (gtk_widget_activate (remove));
  confirm = wait_message_dialog ("the remove confirmation");
  ow_ui_check_a11y ("remove confirmation");
  respond_and_close (confirm, "remove");

  ow_ui_wait_for (count_rows ("funding_list") == before - 1, 30, "one row fewer");
  {
    g_auto(GStrv) ids = ow_vault_list (vault (), OW_VAULT_KIND_FUNDING, NULL);
    g_autoptr(JsonObject) list = gateway_get ("/v1/wallet/funding-sources");

    g_assert_cmpuint (g_strv_length (ids), ==, before - 1);
    g_assert_cmpuint (json_array_get_length (ot_json_array (list, "data")), ==, before - 1);
  }
}

/* A row's source id: the row of @list_id whose subtitle holds @digits. */
static char *
source_id_with (const char *list_id,
                const char *digits)
{
  for (GtkWidget *row = gtk_widget_get_first_child (ow_ui_get (list_id)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (ADW_IS_ACTION_ROW (row) &&
        strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), digits) != NULL)
      return g_strdup (gtk_widget_get_name (row));
  return NULL;
}

/* A lock while a removal is out: the gateway removes the source, and its
 * answer reaches a locked wallet, which cannot drop the details then.
 * Unlocked, the gateway's list shows the source gone, and its details go
 * from the vault too (they used to stay there for good). */
static void
test_remove_funding_lock (void)
{
  const char *route = "/v1/wallet/funding-sources/{id}";
  guint before = count_rows ("funding_list");
  gint64 removals = gateway_answers (route, "200");
  g_autofree char *id = NULL;
  AdwMessageDialog *confirm;

  add_credit_card (OT_BANK_CARD_DECLINE);
  ow_ui_wait_for ((id = source_id_with ("funding_list", "0002")) != NULL, 30,
                  "the card to remove");
  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  g_assert_true (gtk_widget_activate (first_button (row_named ("funding_list", id))));
  confirm = wait_message_dialog ("the remove confirmation");
  respond_and_close (confirm, "remove");
  ow_ui_wait_for (gateway_answers (route, "200") > removals, 30, "the gateway's removal");
  ow_ui_wait_for (ot_proxy_held (T.proxy) > 0, 30, "its answer held");
  ow_application_lock (T.app);
  WAIT_PAGE ("unlock");
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  ow_ui_spin (1000);
  unlock ();
  {
    g_autoptr(JsonObject) list = gateway_get ("/v1/wallet/funding-sources");

    g_assert_cmpuint (json_array_get_length (ot_json_array (list, "data")), ==, before);
  }
  ow_ui_wait_for (({
                     g_autoptr(OwSecret) details = ow_vault_lookup (vault (), OW_VAULT_KIND_FUNDING,
                                                                    id, NULL);
                     details == NULL;
                   }), 30, "the removed source's details to leave the vault");
  g_assert_cmpuint (count_rows ("funding_list"), ==, before);
  {
    g_auto(GStrv) marks = ow_vault_list (vault (), OW_VAULT_KIND_REMOVAL, NULL);
    g_auto(GStrv) ids = ow_vault_list (vault (), OW_VAULT_KIND_FUNDING, NULL);

    g_assert_cmpuint (g_strv_length (marks), ==, 0);
    g_assert_cmpuint (g_strv_length (ids), ==, before);
  }
}

static void
test_receipts (void)
{
  AdwComboRow *row = ADW_COMBO_ROW (ow_ui_get ("receipt_row"));

  ow_ui_wait_for (gtk_widget_is_sensitive (GTK_WIDGET (row)), 30, "the receipt setting");
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, 0);   /* e-mail */
  adw_combo_row_set_selected (row, 1);                          /* SMS */
  ow_ui_wait_for (({
                     g_autoptr(JsonObject) me = gateway_get ("/v1/wallet/me");
                     g_strcmp0 (ot_json_string (me, "receipt_channel"), "sms") == 0;
                   }), 30, "the gateway to have SMS receipts");
  ow_ui_wait_for (gtk_widget_is_sensitive (GTK_WIDGET (row)), 30, "the setting to settle");
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, 1);
}

static void
on_decided (OwApprovalDialog *dialog,
            gboolean          approved,
            const char       *password,
            gpointer          data)
{
  char **out = data;

  *out = g_strdup_printf ("%s:%s", approved ? "approved" : "rejected",
                          password != NULL ? password : "-");
}

/* Shops have seen the card's password: a new one takes the account's
 * password, not the old card password. */
static void
test_change_card_password (void)
{
  g_autofree char *old_body = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"%s\"}",
                                               T.card_number, CARD_PASSWORD);
  g_autoptr(OtResponse) old = NULL;
  g_autoptr(JsonObject) before = ot_card_balance (T.gw, T.card_number, CARD_PASSWORD);
  g_autoptr(JsonObject) after = NULL;
  g_autofree char *raw_answers = NULL;
  g_autofree char *answers = NULL;
  guint dropped;

  /* the toasts of the steps before, which would otherwise go first */
  ow_toast_overlay_clear (OW_TOAST_OVERLAY (ow_ui_get ("toast_overlay")));
  ow_ui_click ("card_password_button");
  ow_ui_wait_for (ow_ui_find ("account_row") != NULL, 10, "the card password dialog");
  ow_ui_screenshot (ow_ui_window_of ("account_row"), "15-card-password-dialog");
  ow_ui_check_a11y ("card password dialog");

  /* not the sign-in password, which every shop would then be given */
  ow_ui_type ("account_row", PASSWORD);
  ow_ui_type ("password_row", PASSWORD);
  ow_ui_type ("confirm_row", PASSWORD);
  ow_ui_click ("apply_button");
  ow_ui_wait_for (label_contains ("error_label", "do not use"), 10, "the refusal of the sign-in password");

  ow_ui_type ("account_row", "not my password");
  ow_ui_type ("password_row", NEW_CARD_PASSWORD);
  ow_ui_type ("confirm_row", NEW_CARD_PASSWORD);
  ow_ui_click ("apply_button");
  ow_ui_wait_for (label_contains ("error_label", "you sign in with is wrong"), 30,
                  "the refusal of a wrong password");
  g_clear_pointer (&before, json_object_unref);
  before = ot_card_balance (T.gw, T.card_number, CARD_PASSWORD);

  /* The answer is lost: the gateway changed the password, and the dialog
   * cannot know. It keeps the request as it was sent, and Try Again sends
   * it under the same Idempotency-Key: the first outcome comes back. */
  dropped = ot_proxy_dropped (T.proxy);
  ot_proxy_set_mode (T.proxy, OT_PROXY_DROP_ANSWERS);
  ow_ui_type ("account_row", PASSWORD);
  ow_ui_click ("apply_button");
  ow_ui_wait_for (label_contains ("error_label", "not known") && sensitive ("apply_button"), 30,
                  "the unknown outcome");
  g_assert_cmpuint (ot_proxy_dropped (T.proxy), >, dropped);
  g_assert_false (gtk_editable_get_editable (GTK_EDITABLE (ow_ui_get ("account_row"))));
  g_assert_false (gtk_editable_get_editable (GTK_EDITABLE (ow_ui_get ("password_row"))));
  g_clear_pointer (&after, json_object_unref);
  after = ot_card_balance (T.gw, T.card_number, NEW_CARD_PASSWORD);

  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  ow_ui_click ("apply_button");
  ow_ui_wait_for (ot_proxy_held (T.proxy) > 0, 30, "the retry's answer");
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  ow_ui_wait_for (ow_ui_find ("account_row") == NULL, 30, "the dialog to close");
  ow_ui_wait_for (window_shows ("card password is changed"), 10, "the toast");
  raw_answers = ot_proxy_dup_answers (T.proxy);
  answers = g_ascii_strdown (raw_answers, -1);
  g_assert_nonnull (strstr (answers, "idempotent-replayed: true"));

  g_clear_pointer (&after, json_object_unref);
  after = ot_card_balance (T.gw, T.card_number, NEW_CARD_PASSWORD);
  g_assert_cmpstr (ot_json_string (after, "card_id"), ==, ot_json_string (before, "card_id"));
  g_assert_cmpint (ot_json_int (after, "balance"), ==, ot_json_int (before, "balance"));
  old = ot_request (T.gw, "POST", "/v1/cards/balance", NULL, NULL, old_body);
  ot_assert_error (old, 402, "card_error", "invalid_credentials");

  /* what else the proxy cut off meanwhile (the main page's calls) comes back */
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.refresh", NULL));
  ow_ui_wait_for (g_strcmp0 (ow_ui_stack_page ("card_stack"), "card") == 0, 30, "the card");
}

/* A card password change out cannot be called back: the dialog stays
 * until its answer (it once closed, and the unknown outcome of a change
 * that went through, its key with it, went unsaid). Back to the card
 * password of before, and then, from another device, to the new one. */
static void
test_change_card_password_closed (void)
{
  GtkWindow *dialog;
  guint dropped = ot_proxy_dropped (T.proxy);

  ow_toast_overlay_clear (OW_TOAST_OVERLAY (ow_ui_get ("toast_overlay")));
  ow_ui_click ("card_password_button");
  ow_ui_wait_for (ow_ui_find ("account_row") != NULL, 10, "the card password dialog");
  dialog = ow_ui_window_of ("account_row");
  ow_ui_type ("account_row", PASSWORD);
  ow_ui_type ("password_row", CARD_PASSWORD);
  ow_ui_type ("confirm_row", CARD_PASSWORD);
  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  ow_ui_click ("apply_button");
  ow_ui_wait_for (ot_proxy_held (T.proxy) > 0, 30, "the gateway's answer to the change");
  assert_stays_open (dialog, "account_row");

  /* the answer is lost: the dialog says so, and may close again */
  ot_proxy_set_mode (T.proxy, OT_PROXY_DROP_ANSWERS);
  ow_ui_wait_for (label_contains ("error_label", "not known") && sensitive ("apply_button"), 30,
                  "the unknown outcome");
  g_assert_cmpuint (ot_proxy_dropped (T.proxy), >, dropped);
  g_assert_true (sensitive ("cancel_button"));
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  ow_ui_click ("apply_button");
  ow_ui_wait_for (ow_ui_find ("account_row") == NULL, 30, "the dialog to close");
  ow_ui_wait_for (window_shows ("card password is changed"), 10, "the toast");
  {
    g_autoptr(JsonObject) balance = ot_card_balance (T.gw, T.card_number, CARD_PASSWORD);
    g_autoptr(JsonObject) session = session_record ();
    g_autoptr(OtResponse) r = ot_request (T.gw, "POST", "/v1/wallet/card/password",
                                          ot_json_string (session, "token"), NULL,
                                          "{\"current_password\":\"" PASSWORD "\","
                                          "\"new_password\":\"" NEW_CARD_PASSWORD "\"}");

    ot_assert_status (r, 200);
  }
}

static OwApprovalDialog *
show_approval (char **decision)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwPurchase) purchase =
    ow_purchase_new_from_json ("{\"merchant\":\"Demo Mall\",\"order_id\":\"A-1001\","
                               "\"amount\":35000,\"currency\":\"krw\",\"items\":["
                               "{\"name\":\"Book: 홍길동전\",\"quantity\":1,\"amount\":20000},"
                               "{\"name\":\"Pens\",\"quantity\":3,\"amount\":15000}]}", &error);
  OwApprovalDialog *dialog;

  g_assert_no_error (error);
  dialog = ow_approval_dialog_new (purchase);
  g_signal_connect (dialog, "decided", G_CALLBACK (on_decided), decision);
  ow_approval_dialog_present (dialog, ow_ui_window_of ("stack"));
  ow_ui_wait_for (ow_ui_find ("merchant_label") != NULL, 10, "the approval dialog");
  return dialog;
}

static void
test_approval_dialog (void)
{
  g_autofree char *decision = NULL;
  OwApprovalDialog *dialog = show_approval (&decision);

  g_assert_cmpstr (ow_ui_label ("merchant_label"), ==, "Demo Mall");
  g_assert_cmpstr (ow_ui_label ("amount_label"), ==, "₩35,000");
  ow_ui_screenshot (GTK_WINDOW (dialog), "11-approval");
  ow_ui_check_a11y ("approval dialog");

  /* too short a password does not decide anything */
  ow_ui_type ("password_row", "12");
  ow_ui_click ("approve_button");
  ow_ui_wait_for (label_contains ("error_label", "4 to 64"), 10, "the password hint");
  g_assert_null (decision);
  ow_ui_type ("password_row", CARD_PASSWORD);
  ow_ui_click ("approve_button");
  ow_ui_wait_for (decision != NULL, 10, "the decision");
  g_assert_cmpstr (decision, ==, "approved:" CARD_PASSWORD);
  g_clear_pointer (&decision, g_free);

  show_approval (&decision);
  ow_ui_click ("reject_button");
  ow_ui_wait_for (decision != NULL, 10, "the rejection");
  g_assert_cmpstr (decision, ==, "rejected:-");
  g_clear_pointer (&decision, g_free);

  /* with the card known, too little available blocks approval */
  dialog = show_approval (&decision);
  {
    OwCard card = { .masked_number = (char *) "•••• •••• •••• 1234", .available = 0,
                    .currency = (char *) "krw" };

    ow_approval_dialog_set_card (dialog, &card);
  }
  g_assert_false (gtk_widget_is_sensitive (ow_ui_get ("approve_button")));
  g_assert_true (label_contains ("error_label", "enough"));
  gtk_window_close (GTK_WINDOW (dialog));
  ow_ui_wait_for (decision != NULL, 10, "the rejection by closing");
  g_assert_cmpstr (decision, ==, "rejected:-");
  g_clear_pointer (&decision, g_free);

  /* The app.approve-purchase action is on the session bus: in a wallet
   * not started as a demonstration it shows nothing (else anyone there
   * could ask for the card password in a real-looking dialog). */
  g_action_group_activate_action (G_ACTION_GROUP (T.app), "approve-purchase",
                                  g_variant_new_string (DEMO_PURCHASE));
  ow_ui_spin (500);
  g_assert_null (ow_ui_find ("merchant_label"));

  /* In a demonstration it shows the real card and what it has available,
   * and says that nothing will be paid. */
  ow_application_set_demo (T.app, TRUE);
  g_action_group_activate_action (G_ACTION_GROUP (T.app), "approve-purchase",
                                  g_variant_new_string (DEMO_PURCHASE));
  ow_ui_wait_for (ow_ui_find ("merchant_label") != NULL, 10, "the approval dialog by action");
  g_assert_true (label_contains ("source_label", "nothing will be paid"));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (ow_ui_get ("card_row"))),
                            "₩67,000"));
  g_assert_true (gtk_widget_is_sensitive (ow_ui_get ("approve_button")));
  dialog = OW_APPROVAL_DIALOG (ow_ui_window_of ("merchant_label"));
  g_signal_connect (dialog, "decided", G_CALLBACK (on_decided), &decision);

  /* locking closes it, as a rejection */
  ow_application_lock (T.app);
  ow_ui_wait_for (decision != NULL, 10, "the rejection by locking");
  g_assert_cmpstr (decision, ==, "rejected:-");
  WAIT_PAGE ("unlock");
  ow_ui_type ("password_row", MASTER);
  ow_ui_click ("unlock_button");
  WAIT_PAGE ("main");
}

static void
test_lock_and_unlock (void)
{
  ow_ui_wait_for (g_strcmp0 (ow_ui_stack_page ("card_stack"), "card") == 0, 30, "the card");
  ow_ui_click ("lock_button");
  WAIT_PAGE ("unlock");
  g_assert_true (ow_vault_is_locked (vault ()));
  /* nothing of the account is left in the window, shown or not */
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (ow_ui_find_hidden ("balance_label"))), ==, "");
  g_assert_cmpuint (count_hidden_rows ("history_list"), ==, 0);
  ow_ui_screenshot (ow_ui_window_of ("stack"), "12-locked");
  ow_ui_check_a11y ("locked");

  ow_ui_type ("password_row", "not the master password");
  ow_ui_click ("unlock_button");
  ow_ui_wait_for (label_contains ("error_label", "Wrong master password"), 30, "the refusal");
  g_assert_true (ow_vault_is_locked (vault ()));

  ow_ui_type ("password_row", MASTER);
  ow_ui_click ("unlock_button");
  WAIT_PAGE ("main");
  ow_ui_wait_for (g_strcmp0 (ow_ui_stack_page ("card_stack"), "card") == 0, 30, "the card again");
  wait_label ("balance_label", "₩67,000");
}

/* A dialog in front, with what was typed in it: Ctrl+L there locks the
 * wallet (the application's accelerators are every window's of ours), the
 * dialog goes, and its fields are wiped at once, even while a call it made
 * still holds it (its last reference goes only with the answer). */
static void
lock_by_keys_in (GtkWindow  *dialog,
                 const char *what)
{
  g_autofree char *gone = g_strdup_printf ("%s to go", what);

  g_assert_true (gtk_window_get_application (dialog) == GTK_APPLICATION (T.app));
  ow_ui_wait_for (gtk_window_is_active (dialog), 10, "the dialog to have the keyboard");
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  ow_ui_press_keys ("<Control>l");
  ow_ui_wait_for (ow_vault_is_locked (vault ()), 10, "Ctrl+L to lock the wallet");
  WAIT_PAGE ("unlock");
  /* gone from the screen; a call it made may still hold it */
  ow_ui_wait_for (dialog == NULL || !gtk_widget_get_visible (GTK_WIDGET (dialog)), 10, gone);
  if (dialog != NULL)
    g_object_remove_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
}

/* Fields held across their window's going, to see that they were wiped. */
static void
hold_rows (GtkWidget         **rows,
           const char *const  *ids)
{
  for (guint i = 0; ids[i] != NULL; i++)
    rows[i] = g_object_ref (ow_ui_get (ids[i]));
}

static void
assert_wiped (GtkWidget         **rows,
              const char *const  *ids)
{
  for (guint i = 0; ids[i] != NULL; i++)
    {
      g_test_message ("%s wiped?", ids[i]);
      g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (rows[i])), ==, "");
      g_clear_object (&rows[i]);
    }
}

/* Every window the wallet shows over the main one is the application's:
 * Ctrl+L works in it, and the lock takes it and wipes what was typed in
 * it. The preferences (the master password, old and new); a funding
 * source being added, the gateway holding the request. The others are
 * checked for being the application's, which is what makes the
 * accelerators theirs. */
static void
test_lock_from_dialogs (void)
{
  const char *const prefs_ids[] = { "old_password_row", "new_password_row",
                                    "confirm_password_row", NULL };
  const char *const funding_ids[] = { "card_number_row", "expiry_row", "card_holder_row", NULL };
  GtkWidget *rows[3];
  GtkWindow *dialog;
  GPid gateway = ot_gateway_pid (T.gw);
  guint sources;

  g_action_group_activate_action (G_ACTION_GROUP (T.app), "preferences", NULL);
  hold_rows (rows, prefs_ids);
  ow_ui_type ("old_password_row", MASTER);
  ow_ui_type ("new_password_row", NEW_MASTER);
  ow_ui_type ("confirm_password_row", NEW_MASTER);
  lock_by_keys_in (ow_ui_window_of ("old_password_row"), "the preferences");
  assert_wiped (rows, prefs_ids);
  unlock ();

  /* not a valid number (Luhn): the gateway refuses it, once it answers */
  ow_ui_wait_for (row_titled ("funding_list", "Credit Card") != NULL, 30, "the funding sources");
  sources = count_rows ("funding_list");
  add_funding ("main.add-credit-card", "card_number_row");
  hold_rows (rows, funding_ids);
  ow_ui_type ("card_number_row", "4242 4242 4242 4241");
  ow_ui_type ("expiry_row", "12/39");
  ow_ui_type ("card_holder_row", "HONG GILDONG");
  dialog = ow_ui_window_of ("card_number_row");
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  g_assert_cmpint (kill (gateway, SIGSTOP), ==, 0);
  ow_ui_click ("add_button");
  ow_ui_wait_for (!sensitive ("add_button"), 10, "the funding source to be sent");
  lock_by_keys_in (dialog, "the funding dialog");
  assert_wiped (rows, funding_ids);
  g_assert_cmpint (kill (gateway, SIGCONT), ==, 0);
  ow_ui_wait_for (dialog == NULL, 30, "the answer to reach the dialog gone");
  unlock ();
  ow_ui_wait_for (count_rows ("funding_list") == sources, 30, "the funding sources, none added");

  /* the others */
  open_charge_dialog ();
  g_assert_true (gtk_window_get_application (ow_ui_window_of ("amount_spin")) ==
                 GTK_APPLICATION (T.app));
  gtk_window_close (ow_ui_window_of ("amount_spin"));
  ow_ui_click ("card_password_button");
  g_assert_true (gtk_window_get_application (ow_ui_window_of ("account_row")) ==
                 GTK_APPLICATION (T.app));
  gtk_window_close (ow_ui_window_of ("account_row"));
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.lines", NULL));
  g_assert_true (gtk_window_get_application (ow_ui_window_of ("line_password_row")) ==
                 GTK_APPLICATION (T.app));
  gtk_window_close (ow_ui_window_of ("line_password_row"));
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.sign-out", NULL));
  dialog = GTK_WINDOW (wait_message_dialog ("the sign-out confirmation"));
  g_assert_true (gtk_window_get_application (dialog) == GTK_APPLICATION (T.app));
  gtk_window_close (dialog);
  ow_ui_wait_for (showing_message_dialog () == NULL && ow_ui_find ("line_password_row") == NULL,
                  10, "the dialogs to close");
}

/* No toast on the screen, not even an empty one sliding away. */
static void
assert_no_toast (void)
{
  GtkWidget *revealer = ow_ui_find_hidden ("toast_revealer");

  g_assert_nonnull (revealer);
  g_assert_false (gtk_revealer_get_child_revealed (GTK_REVEALER (revealer)));
  g_assert_false (gtk_widget_get_mapped (gtk_revealer_get_child (GTK_REVEALER (revealer))));
}

/* A toast names a merchant and a sum. The lock takes away the one showing
 * and those queued behind it, at once (a toast stays 5 s by itself), and one that comes while locked (a payment the user approved
 * finishing after the lock) shows only once the wallet is unlocked. Both
 * on the screen and on the AT-SPI bus. */
static void
test_lock_dismisses_toasts (void)
{
  const char *const before[] = { "Onepin Tea House", "9,000", "Hanok Books", "12,500", NULL };
  const char *const locked[] = { "Pen Shop", "31,000", NULL };
  GtkWidget *page = ow_ui_get ("main_page");

  ow_ui_toast (page, "Paid ₩9,000 to Onepin Tea House.");
  ow_ui_toast (page, "Paid ₩12,500 to Hanok Books.");
  ow_ui_wait_for (window_shows ("Onepin Tea House"), 10, "the toast");

  ow_ui_click ("lock_button");
  WAIT_PAGE ("unlock");
  assert_no_toast ();
  ow_ui_spin (1000);
  for (guint i = 0; before[i] != NULL; i++)
    g_assert_false (window_shows (before[i]));
  ow_ui_screenshot (ow_ui_window_of ("stack"), "12-locked-toasts-gone");
  ow_ui_check_a11y_absent ("locked, toasts shown before", before);

  ow_ui_toast (page, "Paid ₩31,000 to Pen Shop.");
  ow_ui_spin (500);
  for (guint i = 0; locked[i] != NULL; i++)
    g_assert_false (window_shows (locked[i]));
  ow_ui_check_a11y_absent ("locked, a toast while locked", locked);

  ow_ui_type ("password_row", MASTER);
  ow_ui_click ("unlock_button");
  WAIT_PAGE ("main");
  ow_ui_wait_for (window_shows ("Paid ₩31,000 to Pen Shop."), 10, "the toast held for the unlock");
  for (guint i = 0; before[i] != NULL; i++)
    g_assert_false (window_shows (before[i]));
}

/* The lock as a queued toast takes the place of the one before it. With
 * libadwaita 1.2's AdwToastOverlay this freed the toast while its 0.5 s
 * entrance still ran, and the wallet could crash at the entrance's end
 * (the browser suite's lock during a payment did, under load; here the
 * frames fell so that it did not); the window's own toasts go at once,
 * whatever they are doing. */
static void
test_lock_as_toast_comes_up (void)
{
  const char *const gone[] = { "First Shop", "Second Shop", NULL };
  GtkWidget *page = ow_ui_get ("main_page");

  ow_ui_toast (page, "Paid ₩1,000 to First Shop.");
  ow_ui_toast (page, "Paid ₩2,000 to Second Shop.");
  ow_ui_wait_for (window_shows ("First Shop"), 10, "the first toast");
  ow_ui_spin (400);     /* slid in */
  ow_ui_screenshot (ow_ui_window_of ("stack"), "12-toast");
  /* the first goes by itself after 5 s; the second comes up in its place */
  ow_ui_wait_for (window_shows ("Second Shop"), 15, "the second toast");
  ow_ui_click ("lock_button");
  WAIT_PAGE ("unlock");
  assert_no_toast ();   /* at once: no slide to end */
  ow_ui_spin (1500);
  for (guint i = 0; gone[i] != NULL; i++)
    g_assert_false (window_shows (gone[i]));
  ow_ui_check_a11y_absent ("locked as a toast came up", gone);

  ow_ui_type ("password_row", MASTER);
  ow_ui_click ("unlock_button");
  WAIT_PAGE ("main");
  ow_ui_spin (500);
  for (guint i = 0; gone[i] != NULL; i++)
    g_assert_false (window_shows (gone[i]));

  /* closed by the user, and the lock while it slides away */
  ow_ui_toast (page, "Paid ₩3,000 to Third Shop.");
  ow_ui_wait_for (window_shows ("Third Shop"), 10, "the third toast");
  ow_ui_spin (400);
  ow_ui_click ("toast_close_button");
  ow_ui_click ("lock_button");
  WAIT_PAGE ("unlock");
  assert_no_toast ();
  ow_ui_type ("password_row", MASTER);
  ow_ui_click ("unlock_button");
  WAIT_PAGE ("main");
}

static void
test_idle_lock (void)
{
  GSettings *settings = ow_application_get_settings (T.app);

  g_assert_false (ow_vault_is_locked (vault ()));
  g_settings_set_uint (settings, "idle-lock-seconds", 2);
  ow_ui_wait_for (ow_vault_is_locked (vault ()), 10, "the idle lock");
  WAIT_PAGE ("unlock");
  g_settings_set_uint (settings, "idle-lock-seconds", 0);

  ow_ui_type ("password_row", MASTER);
  ow_ui_click ("unlock_button");
  WAIT_PAGE ("main");
}

/* The session's screen locks: GTK hears the screen saver on the session
 * bus (the application registers with the session), and the wallet locks
 * with it. */
static void
test_screen_lock (void)
{
  g_assert_false (ow_vault_is_locked (vault ()));
  ow_test_session_set_screensaver_active (T.session, TRUE);
  ow_ui_wait_for (ow_vault_is_locked (vault ()), 10, "the lock with the screen's");
  ow_test_session_set_screensaver_active (T.session, FALSE);
  unlock ();
}

static void
count_inhibitors (guint *held)
{
  *held = ow_test_session_sleep_inhibitors (T.session);
}

/* The machine goes to sleep: the wallet holds a delay lock on sleep from
 * logind, PrepareForSleep (true) locks, and only then is the delay lock let
 * go; it is taken again on waking. */
static void
test_sleep_lock (void)
{
  guint held_at_lock = 0;
  gulong handler;

  g_assert_false (ow_vault_is_locked (vault ()));
  ow_ui_wait_for (ow_test_session_sleep_inhibitors (T.session) == 1, 10,
                  "the wallet's delay lock on sleep");
  handler = g_signal_connect_swapped (vault (), "notify::locked",
                                      G_CALLBACK (count_inhibitors), &held_at_lock);
  ow_test_session_prepare_for_sleep (T.session, TRUE);
  ow_ui_wait_for (ow_test_session_sleep_inhibitors (T.session) == 0, 10,
                  "the delay lock let go");
  g_signal_handler_disconnect (vault (), handler);
  /* let go only once locked: logind may put the machine to sleep at once */
  g_assert_true (ow_vault_is_locked (vault ()));
  g_assert_cmpuint (held_at_lock, ==, 1);
  ow_test_session_prepare_for_sleep (T.session, FALSE);
  ow_ui_wait_for (ow_test_session_sleep_inhibitors (T.session) == 1, 10,
                  "the delay lock taken again on waking");
  unlock ();
}

/* CLOCK_BOOTTIME, with the time the test says the machine slept added. */
static gint64
test_clock (void)
{
  struct timespec now;

  clock_gettime (CLOCK_BOOTTIME, &now);
  return (gint64) now.tv_sec * G_USEC_PER_SEC + now.tv_nsec / 1000 + T.slept;
}

/* Idle time counts the time the machine slept, which a GLib timer does
 * not (CLOCK_MONOTONIC stops in a suspend): waking up after more than the
 * idle time locks, and so does the first key pressed after it, before the
 * timer fires. The sleeps are the test clock's. */
static void
test_idle_lock_counts_sleep (void)
{
  GSettings *settings = ow_application_get_settings (T.app);
  int width, height;

  ow_application_set_clock (T.app, test_clock);
  g_settings_set_uint (settings, "idle-lock-seconds", 300);
  ow_ui_spin (500);
  g_assert_false (ow_vault_is_locked (vault ()));

  /* a night with the lid closed; logind says the machine woke up */
  T.slept += (gint64) 8 * 3600 * G_USEC_PER_SEC;
  ow_test_session_prepare_for_sleep (T.session, FALSE);
  ow_ui_wait_for (ow_vault_is_locked (vault ()), 10, "the lock on waking up");
  unlock ();

  /* six minutes asleep, and nobody says so: the next key locks. With no
   * window manager the keys go to the window under the pointer, which
   * Xvfb puts at the middle of its screen: the window, at its own 480 px,
   * is widened to lie under it, as it did when it could not be narrower. */
  gtk_window_get_default_size (ow_ui_window_of ("stack"), &width, &height);
  gtk_window_set_default_size (ow_ui_window_of ("stack"), 800, height);
  ow_ui_spin (400);
  T.slept += (gint64) 360 * G_USEC_PER_SEC;
  ow_ui_press_keys ("Shift_L");
  ow_ui_wait_for (ow_vault_is_locked (vault ()), 10, "the lock at the first key");
  gtk_window_set_default_size (ow_ui_window_of ("stack"), width, height);

  g_settings_set_uint (settings, "idle-lock-seconds", 0);
  ow_application_set_clock (T.app, NULL);
  unlock ();
}

/* A plain-HTTP gateway and a relative CA path are refused, and the
 * reason is shown whole, not cut short as a toast would; nothing is saved. */
static void
check_gateway_refusals (GtkWidget *window)
{
  GSettings *settings = ow_application_get_settings (T.app);
  g_autofree char *url = g_settings_get_string (settings, "gateway-url");
  g_autofree char *ca = g_settings_get_string (settings, "ca-file");
  g_autofree char *ca_after = NULL;
  g_autofree char *url_after = NULL;

  ow_ui_type ("ca_row", "something else entirely");
  g_signal_emit_by_name (ow_ui_get ("ca_row"), "apply");
  ow_ui_wait_for (shows_whole_text (window, "full path"), 10, "the relative path's refusal");
  ca_after = g_settings_get_string (settings, "ca-file");
  g_assert_cmpstr (ca_after, ==, ca);

  ow_ui_type ("gateway_row", "http://gateway.example.com");
  g_signal_emit_by_name (ow_ui_get ("gateway_row"), "apply");
  ow_ui_wait_for (shows_whole_text (window, "127.0.0.1"), 10, "the plain HTTP refusal, whole");
  ow_ui_screenshot (GTK_WINDOW (window), "13-preferences-refused");
  url_after = g_settings_get_string (settings, "gateway-url");
  g_assert_cmpstr (url_after, ==, url);

  ow_ui_type ("ca_row", ca);
  ow_ui_type ("gateway_row", url);
}

static void
test_preferences (void)
{
  GtkWidget *window;

  g_action_group_activate_action (G_ACTION_GROUP (T.app), "preferences", NULL);
  window = ow_ui_get ("idle_row");
  /* Ctrl+, works in the preferences too, and brings up the same window */
  g_action_group_activate_action (G_ACTION_GROUP (T.app), "preferences", NULL);
  ow_ui_spin (200);
  {
    guint n = 0;

    for (GList *l = gtk_application_get_windows (GTK_APPLICATION (T.app)); l != NULL; l = l->next)
      n += g_str_equal (G_OBJECT_TYPE_NAME (l->data), "OwPreferencesWindow");
    g_assert_cmpuint (n, ==, 1);
  }
  ow_ui_screenshot (GTK_WINDOW (gtk_widget_get_root (window)), "13-preferences");
  ow_ui_check_a11y ("preferences");
  check_gateway_refusals (GTK_WIDGET (gtk_widget_get_root (window)));
  gtk_window_close (GTK_WINDOW (gtk_widget_get_root (window)));
  ow_ui_wait_for (ow_ui_find ("idle_row") == NULL, 10, "the preferences to close");
}

/* The action row titled @title under @widget, or NULL. */
static GtkWidget *
action_row_titled (GtkWidget  *widget,
                   const char *title)
{
  if (ADW_IS_ACTION_ROW (widget) &&
      g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), title) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = action_row_titled (c, title);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* A browser paired while the preferences are open shows up in them, and
 * unpairing it is asked first. */
static void
test_preferences_browsers (void)
{
  static const guint8 key[OW_BRIDGE_KEY_LEN] = { 1 };
  g_autoptr(OwBrowser) browser = ow_browser_new ("Test Chromium", "chromium", "test", key);
  g_autofree char *id = g_strdup (browser->id);
  GtkWidget *window;
  GtkWidget *row;

  g_action_group_activate_action (G_ACTION_GROUP (T.app), "preferences", NULL);
  window = GTK_WIDGET (gtk_widget_get_root (ow_ui_get ("idle_row")));
  g_assert_false (shows_text (window, "Test Chromium"));
  /* what the bridge does once a pairing completes */
  g_assert_true (ow_browser_save (vault (), browser, NULL));
  ow_ui_wait_for (shows_text (window, "Test Chromium"), 10, "the paired browser");
  row = action_row_titled (window, "Test Chromium");
  g_assert_nonnull (row);

  /* asked first; Cancel keeps it */
  g_assert_true (gtk_widget_activate (first_button (row)));
  adw_message_dialog_response (wait_message_dialog ("the unpair confirmation"), "cancel");
  ow_ui_spin (300);
  {
    g_autoptr(OwBrowser) kept = ow_browser_load (vault (), id, NULL);

    g_assert_nonnull (kept);
  }
  g_assert_true (shows_text (window, "Test Chromium"));
  g_assert_true (gtk_widget_activate (first_button (row)));
  adw_message_dialog_response (wait_message_dialog ("the unpair confirmation"), "remove");
  ow_ui_wait_for (!shows_text (window, "Test Chromium"), 10, "the browser to go");
  {
    g_autoptr(OwBrowser) gone = ow_browser_load (vault (), id, NULL);

    g_assert_null (gone);
  }
  gtk_window_close (GTK_WINDOW (window));
  ow_ui_wait_for (ow_ui_find ("idle_row") == NULL, 10, "the preferences to close");
}

/* A browser that pairs again is said to: the dialog names the pairing it
 * replaces and tells that its old key stops working (it used to read as a
 * first pairing, the old name only suggested); a first pairing does not. */
static void
test_pair_dialog (void)
{
  OwPairDialog *first = ow_pair_dialog_new ("123 456", "Chromium on Linux", FALSE);
  OwPairDialog *again = ow_pair_dialog_new ("654 321", "Work laptop", TRUE);

  gtk_window_present (GTK_WINDOW (first));
  ow_ui_wait_for (gtk_widget_get_mapped (GTK_WIDGET (first)), 10, "the pair dialog");
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (first)), ==, "Pair a Browser");
  g_assert_true (shows_text (GTK_WIDGET (first), "asks to use this wallet"));
  g_assert_false (shows_text (GTK_WIDGET (first), "again"));
  gtk_window_destroy (GTK_WINDOW (first));

  gtk_window_present (GTK_WINDOW (again));
  ow_ui_wait_for (gtk_widget_get_mapped (GTK_WIDGET (again)), 10, "the pair-again dialog");
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (again)), ==, "Pair a Browser Again");
  g_assert_true (shows_text (GTK_WIDGET (again), "“Work laptop” asks to pair again"));
  g_assert_true (shows_text (GTK_WIDGET (again), "old pairing stops working"));
  g_assert_true (shows_text (GTK_WIDGET (again), "654 321"));
  ow_ui_screenshot (GTK_WINDOW (again), "32-pair-again");
  ow_ui_check_a11y ("pair-again dialog");
  gtk_window_destroy (GTK_WINDOW (again));
}

/* The toasts libadwaita shows under @widget; @toast gets one of them. */
static guint
count_adw_toasts (GtkWidget  *widget,
                  GtkWidget **toast)
{
  guint n = 0;

  if (g_str_equal (G_OBJECT_TYPE_NAME (widget), "AdwToastWidget") && gtk_widget_get_mapped (widget))
    {
      if (toast != NULL)
        *toast = widget;
      return 1;
    }
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    n += count_adw_toasts (c, toast);
  return n;
}

/* Closes @toast with its close button, as a click would. */
static void
close_adw_toast (GtkWidget *toast)
{
  GtkWidget *close = NULL;

  for (GtkWidget *c = gtk_widget_get_first_child (toast); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    if (GTK_IS_BUTTON (c))
      close = c;
  g_assert_nonnull (close);
  gtk_widget_activate (close);
}

/* The preferences show one toast at a time, never queued: a new message
 * retitles it, or waits while it leaves (libadwaita 1.2.2 frees a toast
 * closed as it slides in over one leaving; ow-preferences-window.c). */
static void
test_preferences_toasts (void)
{
  GtkWidget *window;
  GtkWidget *first = NULL;
  GtkWidget *second = NULL;

  g_action_group_activate_action (G_ACTION_GROUP (T.app), "preferences", NULL);
  window = GTK_WIDGET (gtk_widget_get_root (ow_ui_get ("old_password_row")));
  ow_ui_type ("new_password_row", "one new password");
  ow_ui_type ("confirm_password_row", "another new password");
  ow_ui_click ("change_password_button");
  ow_ui_wait_for (shows_text (window, "differ"), 10, "the toast");
  ow_ui_click ("change_password_button");
  ow_ui_click ("change_password_button");
  ow_ui_spin (300);
  g_assert_cmpuint (count_adw_toasts (window, &first), ==, 1);

  /* closed, and a new message while it leaves: that comes once it is gone */
  g_object_add_weak_pointer (G_OBJECT (first), (gpointer *) &first);
  close_adw_toast (first);
  ow_ui_spin (50);
  ow_ui_click ("change_password_button");
  ow_ui_spin (100);
  g_assert_cmpuint (count_adw_toasts (window, NULL), ==, 1);
  ow_ui_wait_for (first == NULL && count_adw_toasts (window, &second) == 1, 10,
                  "the first toast to go and the next to come");
  g_assert_true (shows_text (window, "differ"));
  /* closed as it slides in: nothing left behind, nothing crashes */
  close_adw_toast (second);
  ow_ui_spin (1000);
  g_assert_cmpuint (count_adw_toasts (window, NULL), ==, 0);

  ow_ui_type ("new_password_row", "");
  ow_ui_type ("confirm_password_row", "");
  gtk_window_close (GTK_WINDOW (window));
  ow_ui_wait_for (ow_ui_find ("old_password_row") == NULL, 10, "the preferences to close");
}

typedef struct
{
  gint64 last;
  gint64 longest;
} Ticks;

static gboolean
on_tick (gpointer data)
{
  Ticks *ticks = data;
  gint64 now = g_get_monotonic_time ();

  ticks->longest = MAX (ticks->longest, now - ticks->last);
  ticks->last = now;
  return G_SOURCE_CONTINUE;
}

/* The master password changes in a worker thread: the window keeps
 * drawing and answering meanwhile (the main loop is never held for long),
 * its fields and button take no second request, it will not close until it
 * can tell how it went, and then the new password unlocks the vault. */
static void
test_change_master_password (void)
{
  Ticks ticks = { 0 };
  GtkWindow *window;
  guint ticker;
  gint64 started, took;
  gboolean busy_at_close;

  g_action_group_activate_action (G_ACTION_GROUP (T.app), "preferences", NULL);
  window = GTK_WINDOW (gtk_widget_get_root (ow_ui_get ("old_password_row")));
  ow_ui_type ("old_password_row", MASTER);
  ow_ui_type ("new_password_row", NEW_MASTER);
  ow_ui_type ("confirm_password_row", NEW_MASTER);

  ticks.last = started = g_get_monotonic_time ();
  ticker = g_timeout_add (10, on_tick, &ticks);
  ow_ui_click ("change_password_button");
  /* A button's activation clicks it a moment later, as a press would. */
  ow_ui_wait_for (ow_vault_is_busy (vault ()), 10, "the change to start");
  g_assert_false (gtk_widget_is_sensitive (ow_ui_get ("change_password_button")));
  g_assert_false (gtk_editable_get_editable (GTK_EDITABLE (ow_ui_get ("confirm_password_row"))));
  g_assert_true (gtk_widget_get_visible (ow_ui_find_hidden ("change_spinner")));
  /* Closing while the change runs is refused. */
  busy_at_close = ow_vault_is_busy (vault ());
  gtk_window_close (window);
  ow_ui_spin (50);
  if (busy_at_close)
    g_assert_nonnull (ow_ui_find ("old_password_row"));
  else
    g_test_message ("the change ended before the close; its refusal was not exercised");
  if (ow_vault_is_busy (vault ()))
    ow_ui_screenshot (window, "14-changing-master-password");

  ow_ui_wait_for (!ow_vault_is_busy (vault ()), 60, "the master password change");
  took = g_get_monotonic_time () - started;
  g_source_remove (ticker);
  on_tick (&ticks);
  g_test_message ("changing the master password took %" G_GINT64_FORMAT " ms; the main loop's "
                  "longest pause meanwhile: %" G_GINT64_FORMAT " ms", took / 1000,
                  ticks.longest / 1000);
  g_assert_cmpint (ticks.longest * 2, <, took);
  g_assert_true (gtk_widget_is_sensitive (ow_ui_get ("change_password_button")));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (ow_ui_get ("old_password_row"))), ==, "");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (ow_ui_get ("new_password_row"))), ==, "");
  gtk_window_close (window);
  ow_ui_wait_for (ow_ui_find ("old_password_row") == NULL, 10, "the preferences to close");

  ow_application_lock (T.app);
  WAIT_PAGE ("unlock");
  ow_ui_type ("password_row", MASTER);
  ow_ui_click ("unlock_button");
  ow_ui_wait_for (label_contains ("error_label", "Wrong master password"), 30, "the refusal");
  ow_ui_type ("password_row", NEW_MASTER);
  ow_ui_click ("unlock_button");
  WAIT_PAGE ("main");

  /* Back to the first one, which the tests after this use. */
  g_assert_true (ow_vault_change_password (vault (), NEW_MASTER, MASTER, NULL));
}

/* The session ends on the gateway (here: revoked from outside): the next
 * refresh asks for a sign-in, and the card's number is still in the vault. */
static void
test_session_ended (void)
{
  revoke_session ();
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.refresh", NULL));
  WAIT_PAGE ("account");
  {
    g_auto(GStrv) sessions = ow_vault_list (vault (), OW_VAULT_KIND_SESSION, NULL);
    g_auto(GStrv) cards = ow_vault_list (vault (), OW_VAULT_KIND_CARD, NULL);

    g_assert_cmpuint (g_strv_length (sessions), ==, 0);
    g_assert_cmpuint (g_strv_length (cards), ==, 1);
  }

  sign_in_again ();
  wait_label ("balance_label", "₩67,000");
  ow_ui_click ("reveal_button");
  ow_ui_wait_for (label_contains ("number_label", T.card_cvc_text), 10, "the number, still here");
  ow_ui_click ("reveal_button");
}

/* The token in the gateway's answer to a sign-in, among the answers the
 * relay passed on; NULL until it has passed. */
static char *
answered_token (void)
{
  g_autofree char *answers = ot_proxy_dup_answers (T.proxy);
  const char *start = strstr (answers, "\"token\":\"");
  const char *end;

  if (start == NULL)
    return NULL;
  start += strlen ("\"token\":\"");
  end = strchr (start, '"');
  return end != NULL ? g_strndup (start, end - start) : NULL;
}

/* The wallet is locked while its sign-in's answer is on the way: the
 * session that answer brings is signed out on the gateway, and nothing of
 * it is kept. */
static void
sign_in_after_lock (void)
{
  g_autofree char *token = NULL;

  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  ow_ui_type ("login_row", LOGIN);
  ow_ui_type ("password_row", PASSWORD);
  ow_ui_click ("submit_button");
  ow_ui_wait_for (ot_proxy_held (T.proxy) > 0, 30, "the gateway's answer to the sign-in");
  ow_ui_click ("lock_button");
  WAIT_PAGE ("unlock");
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);

  ow_ui_wait_for ((token = answered_token ()) != NULL, 30, "the answer to reach the wallet");
  g_ptr_array_add (T.tokens, g_strdup (token));
  ow_ui_wait_for (({
                     g_autoptr(OtResponse) r = ot_request (T.gw, "GET", "/v1/wallet/me", token,
                                                           NULL, NULL);
                     r->status == 401;
                   }), 10, "the wallet to sign the late session out");
  g_assert_true (ow_vault_is_locked (vault ()));

  ow_ui_type ("password_row", MASTER);
  ow_ui_click ("unlock_button");
  WAIT_PAGE ("account");
  {
    g_auto(GStrv) sessions = ow_vault_list (vault (), OW_VAULT_KIND_SESSION, NULL);

    g_assert_cmpuint (g_strv_length (sessions), ==, 0);
  }
}

static void
test_sign_out_and_in (void)
{
  gtk_widget_activate_action (ow_ui_get ("stack"), "win.sign-out", NULL);
  ow_ui_check_a11y ("sign-out confirmation");
  adw_message_dialog_response (wait_message_dialog ("the sign-out confirmation"), "sign-out");
  WAIT_PAGE ("account");
  /* the menu's Account… is for a signed-in user */
  g_assert_false (account_action_enabled ());

  /* the session is revoked on the gateway; the vault kept nothing of it */
  ow_ui_wait_for (({
                     g_autoptr(OtResponse) r = ot_request (T.gw, "GET", "/v1/wallet/me", T.token,
                                                           NULL, NULL);
                     r->status == 401;
                   }), 10, "the gateway to revoke the session");
  {
    g_auto(GStrv) cards = ow_vault_list (vault (), OW_VAULT_KIND_CARD, NULL);
    g_auto(GStrv) sessions = ow_vault_list (vault (), OW_VAULT_KIND_SESSION, NULL);

    g_assert_cmpuint (g_strv_length (cards), ==, 0);
    g_assert_cmpuint (g_strv_length (sessions), ==, 0);
  }

  sign_in_after_lock ();

  /* a wrong password, then the right one */
  ow_ui_type ("login_row", LOGIN);
  ow_ui_type ("password_row", "wrong password!");
  ow_ui_click ("submit_button");
  ow_ui_wait_for (label_contains ("error_label", "Wrong login ID or password"), 30, "the refusal");
  ow_ui_type ("password_row", PASSWORD);
  ow_ui_click ("submit_button");
  WAIT_PAGE ("main");
  g_assert_true (account_action_enabled ());
  ow_ui_wait_for (g_strcmp0 (ow_ui_stack_page ("card_stack"), "card") == 0, 30, "the card");
  remember_token ();
  ow_ui_wait_for (count_rows ("funding_list") == 2, 30, "the funding sources");
  wait_label ("balance_label", "₩67,000");
}

/* ---- telephone lines ----------------------------------------------------- */

static gboolean
lines_action_enabled (void)
{
  return g_action_group_get_action_enabled (G_ACTION_GROUP (ow_ui_window_of ("stack")), "lines");
}

/* Opens Telephone Lines… and waits for the list the gateway sent. */
static GtkWindow *
open_lines_window (void)
{
  g_assert_true (lines_action_enabled ());
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.lines", NULL));
  ow_ui_wait_for (ow_ui_find ("lines_list") != NULL && count_rows ("lines_list") > 0 &&
                  !gtk_widget_get_visible (ow_ui_find_hidden ("lines_spinner")), 10,
                  "the lines window and its list");
  return ow_ui_window_of ("lines_list");
}

static void
close_lines_window (GtkWindow *window)
{
  gtk_window_close (window);
  ow_ui_wait_for (ow_ui_find ("lines_list") == NULL, 10, "the lines window to close");
}

/* The card's lines as the gateway has them. */
static JsonArray *
gateway_lines (void)
{
  g_autoptr(JsonObject) list = gateway_get ("/v1/wallet/card/calling_numbers");

  return json_array_ref (ot_json_array (list, "data"));
}

static void
add_line (const char *number,
          const char *password)
{
  ow_ui_type ("line_number_row", number);
  ow_ui_type ("line_password_row", password);
  ow_ui_click ("add_line_button");
}

/* What the window refuses costs no request: the gateway answers nothing
 * more on the route. A wrong password or another card's number is the
 * gateway's refusal, worded for the user. */
static void
lines_refused (void)
{
  gint64 answered = gateway_answers ("/v1/wallet/card/calling_numbers", NULL);
  gint64 refused = gateway_answers ("/v1/wallet/card/calling_numbers", "400");
  gint64 conflicts = gateway_answers ("/v1/wallet/card/calling_numbers", "409");
  g_autoptr(OtCard) other = ot_new_card (T.gw, 10000, "2580");
  g_autofree char *held = g_strdup_printf ("{\"number\":\"%s\",\"password\":\"2580\","
                                           "\"calling_number\":\"%s\"}", other->number,
                                           TAKEN_LINE);
  g_autoptr(OtResponse) r = ot_request (T.gw, "POST", "/v1/cards/calling_numbers", NULL, NULL,
                                        held);
  g_autoptr(JsonArray) lines = NULL;

  ot_assert_status (r, 200);
  add_line ("010-5557-80O1", PASSWORD);
  ow_ui_wait_for (label_contains ("line_error_label", "4 to 20 digits"), 10,
                  "the refusal of a letter");
  add_line ("010", PASSWORD);
  ow_ui_wait_for (label_contains ("line_error_label", "4 to 20 digits") &&
                  g_str_equal (editable_text ("line_number_row"), "010"), 10,
                  "the refusal of three digits");
  add_line (LINE, "");
  ow_ui_wait_for (label_contains ("line_error_label", "Enter the password you sign in with"), 10,
                  "the missing password");
  ow_ui_spin (300);
  g_assert_cmpint (gateway_answers ("/v1/wallet/card/calling_numbers", NULL), ==, answered);

  add_line (LINE, "not my password");
  ow_ui_wait_for (label_contains ("line_error_label", "you sign in with is wrong"), 30,
                  "the refusal of a wrong password");
  g_assert_cmpstr (editable_text ("line_password_row"), ==, "");
  g_assert_cmpstr (editable_text ("line_number_row"), ==, LINE);
  add_line (TAKEN_LINE, PASSWORD);
  ow_ui_wait_for (label_contains ("line_error_label", "registered to another card"), 30,
                  "the refusal of another card's number");
  g_assert_cmpint (gateway_answers ("/v1/wallet/card/calling_numbers", "400"), ==, refused + 1);
  g_assert_cmpint (gateway_answers ("/v1/wallet/card/calling_numbers", "409"), ==, conflicts + 1);
  lines = gateway_lines ();
  g_assert_cmpuint (json_array_get_length (lines), ==, 0);
}

/* The id of the card's line ending in @last4, as the gateway lists it. */
static char *
line_id (const char *last4)
{
  g_autoptr(JsonArray) lines = gateway_lines ();

  for (guint i = 0; i < json_array_get_length (lines); i++)
    {
      JsonObject *line = json_array_get_object_element (lines, i);

      if (g_str_equal (ot_json_string (line, "calling_number_last4"), last4))
        return g_strdup (ot_json_string (line, "id"));
    }
  return NULL;
}

/* The message dialog showing over @parent, or NULL (the sign-out step's,
 * answered by a response only, is still mapped). */
static AdwMessageDialog *
dialog_over (GtkWindow *parent)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_mapped (GTK_WIDGET (window)) &&
          gtk_window_get_transient_for (window) == parent)
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

/* Clicks a line's remove button, and @response in the confirmation, which
 * then closes as a click on its button closes it. */
static void
remove_line (const char *id,
             const char *response)
{
  GtkWidget *row = row_named ("lines_list", id);
  GtkWindow *window = ow_ui_window_of ("lines_list");
  AdwMessageDialog *dialog = NULL;

  g_assert_nonnull (row);
  g_assert_true (gtk_widget_activate (first_button (row)));
  ow_ui_wait_for ((dialog = dialog_over (window)) != NULL, 10, "the remove confirmation");
  adw_message_dialog_response (dialog, response);
  gtk_window_close (GTK_WINDOW (dialog));
  ow_ui_wait_for (dialog_over (window) == NULL, 10, "the confirmation to close");
}

/* Telephone Lines… in the menu: the card's lines by their last four
 * digits; one added with the sign-in password, another, one removed; a new
 * card password leaves none, and the window shows none; a session ended
 * elsewhere closes it and asks for a sign-in; the password row is wiped as
 * it closes. */
static void
test_telephone_lines (void)
{
  const char *const hidden[] = { LINE_DIGITS, "55578001", "55578002", PASSWORD, NULL };
  GtkWindow *window = open_lines_window ();
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autoptr(GtkWidget) password = NULL;

  g_assert_nonnull (row_titled ("lines_list", "No lines yet"));
  ow_ui_screenshot (window, "17-lines-empty");
  ow_ui_check_a11y ("lines window");
  lines_refused ();

  add_line (LINE, PASSWORD);
  ow_ui_wait_for (shows_text (GTK_WIDGET (window), "Line added"), 30, "the line to be added");
  first = line_id ("8001");
  g_assert_nonnull (first);
  ow_ui_wait_for (row_named ("lines_list", first) != NULL, 10, "the line in the list");
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row_named ("lines_list",
                                                                                   first))),
                   ==, "•••• 8001");
  g_assert_cmpstr (editable_text ("line_number_row"), ==, "");
  g_assert_cmpstr (editable_text ("line_password_row"), ==, "");
  g_assert_false (gtk_widget_get_visible (ow_ui_find_hidden ("line_error_label")));
  add_line (OTHER_LINE, PASSWORD);
  ow_ui_wait_for (count_rows ("lines_list") == 2, 30, "the second line");
  second = line_id ("8002");
  g_assert_nonnull (row_named ("lines_list", second));
  g_assert_false (shows_text (GTK_WIDGET (window), "5557"));
  ow_ui_screenshot (window, "18-lines");
  ow_ui_check_a11y_absent ("lines window, two lines", hidden);

  /* cancelled, then removed */
  remove_line (first, "cancel");
  ow_ui_spin (300);
  g_assert_cmpuint (count_rows ("lines_list"), ==, 2);
  remove_line (first, "remove");
  ow_ui_wait_for (count_rows ("lines_list") == 1 && row_named ("lines_list", first) == NULL, 30,
                  "the line to go");
  g_assert_nonnull (row_named ("lines_list", second));
  g_assert_null (line_id ("8001"));
  close_lines_window (window);

  /* a new card password (from another device) takes the lines with it */
  {
    g_autoptr(JsonObject) session = session_record ();
    g_autoptr(OtResponse) r = ot_request (T.gw, "POST", "/v1/wallet/card/password",
                                          ot_json_string (session, "token"), NULL,
                                          "{\"current_password\":\"" PASSWORD "\","
                                          "\"new_password\":\"" NEW_CARD_PASSWORD "\"}");

    ot_assert_status (r, 200);
  }
  window = open_lines_window ();
  g_assert_nonnull (row_titled ("lines_list", "No lines yet"));

  /* the session ends on the gateway while the window is open */
  revoke_session ();
  add_line (LINE, PASSWORD);
  WAIT_PAGE ("account");
  ow_ui_wait_for (ow_ui_find ("lines_list") == NULL, 10, "the lines window to close");
  ow_ui_wait_for (window_shows ("Your session has ended"), 10, "the toast");
  g_assert_false (lines_action_enabled ());
  sign_in_again ();

  window = open_lines_window ();
  password = g_object_ref (ow_ui_get ("line_password_row"));
  ow_ui_type ("line_password_row", PASSWORD);
  close_lines_window (window);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (password)), ==, "");
  g_assert_cmpstr (window_page (), ==, "main");
}

/* Locks while the relay holds the gateway's answer to the lines window's
 * call; then lets it go to the locked wallet, which stays locked, its
 * session kept: unlocked, it is signed in as before. */
static void
lock_with_lines_call_out (void)
{
  ow_ui_wait_for (ot_proxy_held (T.proxy) > 0, 30, "the gateway's answer to the lines window");
  ow_application_lock (T.app);
  WAIT_PAGE ("unlock");
  ow_ui_wait_for (ow_ui_find ("lines_list") == NULL, 10, "the lines window to go");
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  ow_ui_spin (2000);
  g_assert_cmpstr (window_page (), ==, "unlock");
  g_assert_true (ow_vault_is_locked (vault ()));
  unlock ();
  g_assert_true (lines_action_enabled ());
}

/* A lock while a line is being added, then removed: the window goes, and
 * the answer that comes after does nothing (it once reloaded the list with
 * no token, and the main window, told the session had ended, showed the
 * sign-in page over the locked vault). */
static void
test_lines_lock (void)
{
  g_autofree char *id = NULL;

  open_lines_window ();
  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  add_line (LINE, PASSWORD);
  lock_with_lines_call_out ();
  /* the addition reached the gateway before the lock */
  ow_ui_wait_for ((id = line_id ("8001")) != NULL, 10, "the line on the gateway");

  open_lines_window ();
  ow_ui_wait_for (row_named ("lines_list", id) != NULL, 10, "the line in the list");
  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  remove_line (id, "remove");
  lock_with_lines_call_out ();
  ow_ui_wait_for (({ g_autofree char *left = line_id ("8001"); left == NULL; }), 10,
                  "the line to go on the gateway");
}

/* A line added on the gateway (as from another device), as the window adds
 * one: with the session and the sign-in password. Its id. */
static char *
add_line_on_gateway (const char *number)
{
  g_autoptr(JsonObject) session = session_record ();
  g_autofree char *body = g_strdup_printf ("{\"calling_number\":\"%s\","
                                           "\"current_password\":\"" PASSWORD "\"}", number);
  g_autoptr(OtResponse) r = ot_request (T.gw, "POST", "/v1/wallet/card/calling_numbers",
                                        ot_json_string (session, "token"), NULL, body);

  ot_assert_status (r, 200);
  return g_strdup (ot_json_string (ot_response_object (r), "id"));
}

/* No card yet: the window says to apply for one, with nothing to try
 * again (a second load would only say so again) and nothing to add to. */
static void
test_lines_before_card (void)
{
  GtkWindow *window;

  g_assert_true (lines_action_enabled ());
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.lines", NULL));
  ow_ui_wait_for (ow_ui_find ("lines_error_label") != NULL &&
                  !gtk_widget_get_visible (ow_ui_find_hidden ("lines_spinner")), 30,
                  "the lines window's answer");
  window = ow_ui_window_of ("lines_error_label");
  g_assert_true (label_contains ("lines_error_label", "Apply for your representative card"));
  g_assert_null (ow_ui_find ("lines_retry_button"));
  g_assert_false (gtk_widget_is_sensitive (ow_ui_get ("add_line_button")));
  close_lines_window (window);
}

/* The gateway out of reach as the window opens: the list says so and
 * offers Try Again, on the keyboard too (Alt+T), which loads the list once
 * the gateway is back, and goes. */
static void
test_lines_retry (void)
{
  GtkWindow *window;
  GtkWidget *focus;
  g_autofree char *id = NULL;

  ot_proxy_set_mode (T.proxy, OT_PROXY_REFUSE);
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.lines", NULL));
  ow_ui_wait_for (ow_ui_find ("lines_retry_button") != NULL &&
                  !gtk_widget_get_visible (ow_ui_find_hidden ("lines_spinner")), 30,
                  "the failure to load the lines");
  window = ow_ui_window_of ("lines_retry_button");
  g_assert_true (label_contains ("lines_error_label", "Cannot reach the gateway"));
  ow_ui_screenshot (window, "18-lines-unreachable");
  ow_ui_check_a11y ("lines window, the gateway out of reach");

  /* still out of reach: it says so again */
  ow_ui_click ("lines_retry_button");
  ow_ui_wait_for (gtk_widget_get_visible (ow_ui_find_hidden ("lines_spinner")), 10,
                  "the second load");
  ow_ui_wait_for (!gtk_widget_get_visible (ow_ui_find_hidden ("lines_spinner")), 30,
                  "the second failure");
  g_assert_true (label_contains ("lines_error_label", "Cannot reach the gateway"));
  g_assert_nonnull (ow_ui_find ("lines_retry_button"));

  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  id = add_line_on_gateway (LINE_DIGITS);
  ow_ui_wait_for (gtk_window_is_active (window), 10, "the lines window to have the keyboard");
  /* as if tabbed to: hidden, it hands the focus on to the list */
  g_assert_true (gtk_widget_grab_focus (ow_ui_get ("lines_retry_button")));
  ow_ui_press_keys ("<Alt>t");
  ow_ui_wait_for (row_named ("lines_list", id) != NULL, 30, "the list, loaded again");
  g_assert_cmpuint (count_rows ("lines_list"), ==, 1);
  g_assert_null (ow_ui_find ("lines_retry_button"));
  focus = gtk_window_get_focus (window);
  g_assert_true (focus == row_named ("lines_list", id) ||
                 gtk_widget_is_ancestor (focus, row_named ("lines_list", id)));
  g_assert_false (gtk_widget_get_visible (ow_ui_find_hidden ("lines_error_label")));
  g_assert_false (gtk_widget_get_visible (ow_ui_find_hidden ("lines_spinner")));
  remove_line (id, "remove");
  ow_ui_wait_for (row_titled ("lines_list", "No lines yet") != NULL, 30, "the line to go");
  close_lines_window (window);
}

/* Loads overtaking each other: with a line on the gateway, the answer to
 * the list the window asked for as it opened is held in the relay while a line is added, and the list
 * loaded after the addition comes first. The older answer, let go then, is
 * not shown over the newer (it once put back the list without the line).
 * The lines go as they came, and a window closed with its load out takes
 * no harm from the answer. */
static void
test_lines_out_of_order (void)
{
  GtkWindow *window;
  g_autofree char *first = add_line_on_gateway (LINE_DIGITS);
  g_autofree char *second = NULL;

  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.lines", NULL));
  ow_ui_wait_for (ot_proxy_held (T.proxy) > 0, 30, "the answer to the first load");
  ot_proxy_set_mode (T.proxy, OT_PROXY_KEEP_HELD);
  window = ow_ui_window_of ("lines_list");
  add_line (OTHER_LINE, PASSWORD);
  ow_ui_wait_for ((second != NULL || (second = line_id ("8002")) != NULL) &&
                  row_named ("lines_list", second) != NULL, 30,
                  "the list loaded after the addition");
  g_assert_cmpuint (count_rows ("lines_list"), ==, 2);
  g_assert_cmpuint (ot_proxy_held (T.proxy), ==, 1);
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  ow_ui_wait_for (ot_proxy_held (T.proxy) == 0, 10, "the older answer to go");
  ow_ui_spin (1000);
  g_assert_cmpuint (count_rows ("lines_list"), ==, 2);
  g_assert_nonnull (row_named ("lines_list", first));
  g_assert_nonnull (row_named ("lines_list", second));
  g_assert_false (gtk_widget_get_visible (ow_ui_find_hidden ("lines_spinner")));

  remove_line (first, "remove");
  ow_ui_wait_for (count_rows ("lines_list") == 1 && row_named ("lines_list", first) == NULL, 30,
                  "the first line to go");
  remove_line (second, "remove");
  ow_ui_wait_for (row_titled ("lines_list", "No lines yet") != NULL, 30, "the second to go");
  close_lines_window (window);

  /* closed with its list on the way */
  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.lines", NULL));
  ow_ui_wait_for (ot_proxy_held (T.proxy) > 0, 30, "the answer to the load");
  close_lines_window (ow_ui_window_of ("lines_list"));
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  ow_ui_spin (1000);
  g_assert_null (ow_ui_find_hidden ("lines_list"));
  g_assert_cmpstr (window_page (), ==, "main");
  g_assert_true (lines_action_enabled ());
}

/* The profile's fields are checked as the gateway checks them: what it
 * would refuse is not sent. Saved, the gateway has the change and the
 * window shows what it answered. */
static void
account_profile (GtkWindow *window)
{
  gint64 refused = gateway_answers ("/v1/wallet/me", "400");

  /* Save is on only while a field differs from what the gateway has */
  g_assert_false (sensitive ("save_button"));
  ow_ui_type ("profile_name_row", "홍길순");
  g_assert_true (sensitive ("save_button"));
  ow_ui_type ("profile_name_row", "홍길동 ");
  g_assert_false (sensitive ("save_button"));

  ow_ui_type ("profile_email_row", "gilsun@@example.com");
  ow_ui_click ("save_button");
  ow_ui_wait_for (label_contains ("profile_error_label", "valid e-mail"), 10,
                  "the refusal of the address");
  ow_ui_type ("profile_email_row", "gilsun@example.com");
  ow_ui_type ("profile_phone_row", "010-12");
  ow_ui_click ("save_button");
  ow_ui_wait_for (label_contains ("profile_error_label", "digits and dashes"), 10,
                  "the refusal of the number");
  /* receipts go by SMS (the receipts step): the number must stay */
  ow_ui_type ("profile_phone_row", "");
  ow_ui_click ("save_button");
  ow_ui_wait_for (label_contains ("profile_error_label", "SMS"), 10, "the refusal of no number");
  ow_ui_spin (300);
  g_assert_cmpint (gateway_answers ("/v1/wallet/me", "400"), ==, refused);
  {
    g_autoptr(JsonObject) me = gateway_get ("/v1/wallet/me");

    g_assert_cmpstr (ot_json_string (me, "email"), ==, "gildong@example.com");
  }

  ow_ui_type ("profile_name_row", " 홍길순 ");
  ow_ui_type ("profile_phone_row", "+82-10-9876-5432");
  ow_ui_click ("save_button");
  ow_ui_wait_for (shows_text (GTK_WIDGET (window), "Profile saved"), 30, "the save");
  {
    g_autoptr(JsonObject) me = gateway_get ("/v1/wallet/me");

    g_assert_cmpstr (ot_json_string (me, "name"), ==, "홍길순");
    g_assert_cmpstr (ot_json_string (me, "email"), ==, "gilsun@example.com");
    g_assert_cmpstr (ot_json_string (me, "phone"), ==, "+82-10-9876-5432");
    g_assert_cmpstr (ot_json_string (me, "receipt_channel"), ==, "sms");
  }
  g_assert_cmpstr (editable_text ("profile_name_row"), ==, "홍길순");
  g_assert_cmpstr (editable_text ("profile_phone_row"), ==, "+82-10-9876-5432");
  g_assert_false (sensitive ("save_button"));
  g_assert_false (gtk_widget_get_visible (ow_ui_find_hidden ("profile_error_label")));
  g_assert_cmpint (gateway_answers ("/v1/wallet/me", "400"), ==, refused);
}

static void
change_password (const char *current,
                 const char *chosen,
                 const char *confirm)
{
  ow_ui_type ("current_password_row", current);
  ow_ui_type ("new_sign_in_password_row", chosen);
  ow_ui_type ("confirm_sign_in_password_row", confirm);
  ow_ui_click ("change_button");
}

/* The password rows empty: after a change went through, or (the current
 * one only) after the gateway refused it. */
static gboolean
passwords_cleared (void)
{
  return editable_text ("current_password_row")[0] == '\0' &&
         editable_text ("new_sign_in_password_row")[0] == '\0' &&
         editable_text ("confirm_sign_in_password_row")[0] == '\0';
}

/* A change refused here costs no request; a wrong current password is
 * the gateway's refusal, and changes nothing; the right one changes it,
 * ends the other sessions and keeps the wallet's. */
static void
account_password (GtkWindow *window)
{
  const char *const shown[] = { PASSWORD, NEW_PASSWORD, "not my password", NULL };
  gint64 requests = gateway_answers ("/v1/wallet/me/password", NULL);
  g_autofree char *elsewhere = NULL;

  change_password ("", NEW_PASSWORD, NEW_PASSWORD);
  ow_ui_wait_for (label_contains ("password_error_label", "Enter your current password"), 10,
                  "the missing current password");
  change_password (PASSWORD, NEW_PASSWORD, NEW_PASSWORD "!");
  ow_ui_wait_for (label_contains ("password_error_label", "differ"), 10, "the mismatch");
  change_password (PASSWORD, "short", "short");
  ow_ui_wait_for (label_contains ("password_error_label", "8 to 128"), 10, "the too-short one");
  change_password (PASSWORD, PASSWORD, PASSWORD);
  ow_ui_wait_for (label_contains ("password_error_label", "same as the current"), 10,
                  "the refusal of the same password");
  ow_ui_spin (300);
  g_assert_cmpint (gateway_answers ("/v1/wallet/me/password", NULL), ==, requests);

  change_password ("not my password", NEW_PASSWORD, NEW_PASSWORD);
  ow_ui_wait_for (label_contains ("password_error_label", "The current password is wrong."), 30,
                  "the refusal of a wrong password");
  g_assert_cmpstr (editable_text ("current_password_row"), ==, "");
  g_assert_cmpint (gateway_answers ("/v1/wallet/me/password", NULL), ==, requests + 1);
  ow_ui_screenshot (window, "16-account-wrong-password");
  ow_ui_check_a11y_absent ("account window, a password refused", shown);
  g_assert_cmpuint (gateway_sign_in (NEW_PASSWORD, NULL), ==, 401);
  g_assert_cmpuint (gateway_sign_in (PASSWORD, &elsewhere), ==, 201);

  change_password (PASSWORD, NEW_PASSWORD, NEW_PASSWORD);
  ow_ui_wait_for (shows_text (GTK_WIDGET (window), "Password changed"), 30, "the change");
  g_assert_true (passwords_cleared ());
  g_assert_false (gtk_widget_get_visible (ow_ui_find_hidden ("password_error_label")));
  g_assert_cmpuint (gateway_sign_in (PASSWORD, NULL), ==, 401);
  g_assert_cmpuint (gateway_sign_in (NEW_PASSWORD, NULL), ==, 201);
  {
    g_autoptr(OtResponse) other = ot_request (T.gw, "GET", "/v1/wallet/me", elsewhere, NULL, NULL);
    g_autoptr(JsonObject) me = gateway_get ("/v1/wallet/me");    /* the wallet's session */

    ot_assert_status (other, 401);
    g_assert_cmpstr (ot_json_string (me, "login_id"), ==, LOGIN);
  }

  /* back to the one the steps before used, from the same window */
  change_password (NEW_PASSWORD, PASSWORD, PASSWORD);
  ow_ui_wait_for (passwords_cleared () && sensitive ("change_button"), 30, "the change back");
  g_assert_false (gtk_widget_get_visible (ow_ui_find_hidden ("password_error_label")));
  g_assert_cmpuint (gateway_sign_in (NEW_PASSWORD, NULL), ==, 401);
  g_assert_cmpuint (gateway_sign_in (PASSWORD, NULL), ==, 201);
}

/* The session ends on the gateway (revoked from outside) while the window
 * is open: its next call closes it, and the main window asks for a
 * sign-in, as after any other call. */
static void
account_session_ended (void)
{
  revoke_session ();
  ow_ui_type ("profile_name_row", "홍길동");
  ow_ui_click ("save_button");
  WAIT_PAGE ("account");
  ow_ui_wait_for (ow_ui_find ("login_label") == NULL, 10, "the account window to close");
  ow_ui_wait_for (window_shows ("Your session has ended"), 10, "the toast");
  g_assert_false (account_action_enabled ());
  sign_in_again ();
}

/* The account's name, set on the gateway as another device would. */
static void
set_name (const char *name)
{
  g_autoptr(JsonObject) session = session_record ();
  g_autofree char *body = g_strdup_printf ("{\"name\":\"%s\"}", name);
  g_autoptr(OtResponse) r = ot_request (T.gw, "POST", "/v1/wallet/me",
                                        json_object_get_string_member (session, "token"),
                                        NULL, body);

  ot_assert_status (r, 200);
}

static GtkWindow *
open_account_window (void)
{
  g_assert_true (account_action_enabled ());
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.account", NULL));
  wait_label ("login_label", LOGIN);
  return ow_ui_window_of ("login_label");
}

/* Five wrong passwords in a row lock the login on the gateway for 30
 * minutes: the next attempt is refused, the right password too. This runs
 * last, and no step after it signs in. */
static void
account_locked (void)
{
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *wrong = g_strdup_printf ("wrong password %u", i);

      change_password (wrong, NEW_PASSWORD, NEW_PASSWORD);
      ow_ui_wait_for (editable_text ("current_password_row")[0] == '\0' &&
                      sensitive ("change_button"), 30, "the refusal");
      g_assert_true (label_contains ("password_error_label", "The current password is wrong."));
    }
  change_password (PASSWORD, NEW_PASSWORD, NEW_PASSWORD);
  ow_ui_wait_for (label_contains ("password_error_label", "locked for a while"), 30,
                  "the lock");
  g_assert_cmpuint (gateway_sign_in (PASSWORD, NULL), ==, 429);
}

/* The gateway out of reach as the window opens: it says so, shows no form
 * to fill meanwhile, and offers to try again, which loads the profile once
 * the gateway is back. */
static GtkWindow *
account_load_retry (void)
{
  GtkWindow *window;

  ot_proxy_set_mode (T.proxy, OT_PROXY_REFUSE);
  g_assert_true (gtk_widget_activate_action (ow_ui_get ("stack"), "win.account", NULL));
  ow_ui_wait_for (ow_ui_find ("retry_button") != NULL && sensitive ("retry_button"), 30,
                  "the failure to load the profile");
  window = ow_ui_window_of ("retry_button");
  g_assert_true (shows_text (GTK_WIDGET (window), "Cannot reach the gateway"));
  g_assert_null (ow_ui_find ("profile_name_row"));
  g_assert_null (ow_ui_find ("current_password_row"));
  ow_ui_screenshot (window, "16-account-unreachable");
  ow_ui_check_a11y ("account window, the gateway out of reach");

  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  ow_ui_click ("retry_button");
  wait_label ("login_label", LOGIN);
  g_assert_cmpstr (editable_text ("profile_name_row"), ==, "홍길순");
  g_assert_null (ow_ui_find ("retry_button"));
  g_assert_true (ow_ui_window_of ("login_label") == window);
  return window;
}

/* The answer to a change is lost on its way back (the proxy closes the
 * connection as it comes): the gateway changed the password, and the
 * window cannot know. It says so, keeps the request as it was sent, and
 * Try Again sends it with the same Idempotency-Key: the gateway tells how
 * it ended, and counts no wrong password, though the current password the
 * retry carries is the old one by then. */
static void
account_lost_answer (GtkWindow *window)
{
  const char *const shown[] = { PASSWORD, NEW_PASSWORD, NULL };
  gint64 refused = gateway_answers ("/v1/wallet/me/password", "400");
  guint dropped = ot_proxy_dropped (T.proxy);

  ot_proxy_set_mode (T.proxy, OT_PROXY_DROP_ANSWERS);
  change_password (PASSWORD, NEW_PASSWORD, NEW_PASSWORD);
  ow_ui_wait_for (label_contains ("password_error_label", "not known") &&
                  sensitive ("change_button"), 30, "the unknown outcome");
  g_assert_cmpuint (ot_proxy_dropped (T.proxy), ==, dropped + 1);
  g_assert_cmpuint (gateway_sign_in (NEW_PASSWORD, NULL), ==, 201);
  g_assert_cmpstr (editable_text ("current_password_row"), ==, PASSWORD);
  g_assert_cmpstr (editable_text ("confirm_sign_in_password_row"), ==, NEW_PASSWORD);
  g_assert_false (gtk_editable_get_editable (GTK_EDITABLE (ow_ui_get ("current_password_row"))));
  g_assert_false (gtk_editable_get_editable (GTK_EDITABLE (ow_ui_get ("new_sign_in_password_row"))));
  ow_ui_screenshot (window, "16-account-password-unknown");
  ow_ui_check_a11y_absent ("account window, a change's outcome unknown", shown);

  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  ow_ui_click ("change_button");
  ow_ui_wait_for (shows_text (GTK_WIDGET (window), "Password changed"), 30, "the outcome");
  g_assert_true (passwords_cleared ());
  g_assert_false (gtk_widget_get_visible (ow_ui_find_hidden ("password_error_label")));
  g_assert_cmpint (gateway_answers ("/v1/wallet/me/password", "400"), ==, refused);

  /* back to the first, as a new change */
  change_password (NEW_PASSWORD, PASSWORD, PASSWORD);
  ow_ui_wait_for (passwords_cleared () && sensitive ("change_button"), 30, "the change back");
  g_assert_cmpuint (gateway_sign_in (PASSWORD, NULL), ==, 201);
}

/* The three password rows of the window showing, held for after it goes. */
static void
hold_password_rows (GtkWidget *rows[3])
{
  rows[0] = g_object_ref (ow_ui_get ("current_password_row"));
  rows[1] = g_object_ref (ow_ui_get ("new_sign_in_password_row"));
  rows[2] = g_object_ref (ow_ui_get ("confirm_sign_in_password_row"));
}

static void
assert_rows_wiped (GtkWidget *rows[3])
{
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (rows[i])), ==, "");
      g_clear_object (&rows[i]);
    }
}

/* Ctrl+L with the account window in front locks the wallet, as in the main
 * window: the application's accelerators are the window's too. It goes,
 * and so does what its rows held. */
static void
account_lock_by_keys (GtkWindow *window)
{
  GtkWidget *rows[3];

  hold_password_rows (rows);
  change_password (PASSWORD, NEW_PASSWORD, "");
  ow_ui_wait_for (label_contains ("password_error_label", "differ"), 10, "the mismatch");
  ow_ui_wait_for (gtk_window_is_active (window), 10, "the account window to have the keyboard");
  ow_ui_press_keys ("<Control>l");
  ow_ui_wait_for (ow_vault_is_locked (vault ()), 10, "Ctrl+L to lock the wallet");
  WAIT_PAGE ("unlock");
  ow_ui_wait_for (ow_ui_find ("login_label") == NULL, 10, "the account window to go");
  g_assert_null (ow_ui_find_hidden ("login_label"));
  assert_rows_wiped (rows);
  unlock ();
}

/* Locked while a change waits for its answer (the gateway stopped): the
 * window goes at once, its rows wiped then, not when the answer comes. The
 * change, sent already, runs to its end, and the window says how it went
 * once unlocked: which password is good is for the user to know. */
static void
account_lock_while_changing (void)
{
  GPid gateway = ot_gateway_pid (T.gw);
  gint64 changed = gateway_answers ("/v1/wallet/me/password", "200");
  GtkWidget *rows[3];

  open_account_window ();
  hold_password_rows (rows);
  g_assert_cmpint (kill (gateway, SIGSTOP), ==, 0);
  change_password (PASSWORD, NEW_PASSWORD, NEW_PASSWORD);
  ow_ui_wait_for (!sensitive ("change_button"), 10, "the change to be sent");
  ow_ui_spin (500);
  ow_application_lock (T.app);
  WAIT_PAGE ("unlock");
  g_assert_null (ow_ui_find_hidden ("login_label"));
  assert_rows_wiped (rows);

  g_assert_cmpint (kill (gateway, SIGCONT), ==, 0);
  ow_ui_wait_for (gateway_answers ("/v1/wallet/me/password", "200") == changed + 1, 30,
                  "the gateway to answer the change");
  ow_ui_spin (500);
  g_assert_false (window_shows ("Password changed"));
  unlock ();
  ow_ui_wait_for (window_shows ("Password changed"), 10, "the change's outcome");
  g_assert_cmpuint (gateway_sign_in (NEW_PASSWORD, NULL), ==, 201);

  /* back to the first one, on the gateway */
  {
    g_autoptr(JsonObject) session = session_record ();
    g_autoptr(OtResponse) r = ot_request (T.gw, "POST", "/v1/wallet/me/password",
                                          ot_json_string (session, "token"), NULL,
                                          "{\"current_password\":\"" NEW_PASSWORD "\","
                                          "\"new_password\":\"" PASSWORD "\"}");

    ot_assert_status (r, 200);
  }
}

/* Account… in the menu: the profile and the sign-in password. A password
 * change keeps the wallet signed in; a session ended elsewhere closes the
 * window and asks for a sign-in. A profile that did not load can be loaded
 * again, and a change whose answer was lost can be asked about. Ctrl+L
 * locks from the window too, and a lock takes it away. The window wipes
 * its password rows as it closes. */
static void
test_account (void)
{
  GtkWindow *window;
  g_autoptr(GtkWidget) current = NULL;
  g_autoptr(GtkWidget) chosen = NULL;
  g_autoptr(GtkWidget) confirm = NULL;

  /* a name stored with a space after it is not an edit */
  set_name ("홍길동 ");
  window = open_account_window ();
  ow_ui_wait_for (g_str_equal (editable_text ("profile_name_row"), "홍길동 "), 10,
                  "the stored name");
  g_assert_false (sensitive ("save_button"));
  gtk_window_close (window);
  ow_ui_wait_for (ow_ui_find ("login_label") == NULL, 10, "the account window to close");
  set_name ("홍길동");

  window = open_account_window ();
  g_assert_cmpstr (editable_text ("profile_name_row"), ==, "홍길동");
  g_assert_cmpstr (editable_text ("profile_email_row"), ==, "gildong@example.com");
  g_assert_cmpstr (editable_text ("profile_phone_row"), ==, "010-1234-5678");
  ow_ui_screenshot (window, "16-account");
  ow_ui_check_a11y ("account window");

  account_profile (window);
  account_password (window);
  account_session_ended ();
  window = account_load_retry ();
  account_lost_answer (window);
  account_lock_by_keys (window);
  account_lock_while_changing ();

  window = open_account_window ();
  g_assert_cmpstr (editable_text ("profile_name_row"), ==, "홍길순");
  account_locked ();

  /* Enter goes from row to row; closing wipes all three */
  current = g_object_ref (ow_ui_get ("current_password_row"));
  chosen = g_object_ref (ow_ui_get ("new_sign_in_password_row"));
  confirm = g_object_ref (ow_ui_get ("confirm_sign_in_password_row"));
  ow_ui_type ("current_password_row", NEW_PASSWORD);
  g_signal_emit_by_name (current, "entry-activated");
  g_assert_true (gtk_widget_is_ancestor (gtk_root_get_focus (GTK_ROOT (window)), chosen));
  ow_ui_type ("new_sign_in_password_row", NEW_PASSWORD);
  g_signal_emit_by_name (chosen, "entry-activated");
  g_assert_true (gtk_widget_is_ancestor (gtk_root_get_focus (GTK_ROOT (window)), confirm));
  ow_ui_type ("confirm_sign_in_password_row", NEW_PASSWORD);
  gtk_window_close (window);
  ow_ui_wait_for (ow_ui_find ("login_label") == NULL, 10, "the account window to close");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (current)), ==, "");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (chosen)), ==, "");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (confirm)), ==, "");
  g_assert_cmpstr (window_page (), ==, "main");
}

/* ---- a card application answered while locked ---------------------------- */

static guint
count_vault (const char *kind)
{
  g_auto(GStrv) ids = ow_vault_list (vault (), kind, NULL);

  g_assert_nonnull (ids);
  return g_strv_length (ids);
}

/* The string member @name of the JSON in the relay's answers, or NULL. */
static char *
answered_member (const char *name)
{
  g_autofree char *answers = ot_proxy_dup_answers (T.proxy);
  g_autofree char *start_text = g_strdup_printf ("\"%s\":\"", name);
  const char *start = strstr (answers, start_text);
  const char *end;

  if (start == NULL)
    return NULL;
  start += strlen (start_text);
  end = strchr (start, '"');
  return end != NULL ? g_strndup (start, end - start) : NULL;
}

/* Responds as a click on a button of @dialog would, which closes it too. */
static void
respond (AdwMessageDialog *dialog,
         const char       *response)
{
  g_object_ref (dialog);
  adw_message_dialog_response (dialog, response);
  gtk_window_close (GTK_WINDOW (dialog));
  g_object_unref (dialog);
  ow_ui_wait_for (showing_message_dialog () == NULL, 10, "the message dialog to close");
}

/* The second user registers; the answer is lost (see ow-account-page.c). */
static void
register_other_user (void)
{
  guint dropped = ot_proxy_dropped (T.proxy);
  gint64 users = gateway_answers ("/v1/wallet/users", "201");

  gtk_widget_activate_action (ow_ui_get ("stack"), "win.sign-out", NULL);
  respond (wait_message_dialog ("the sign-out confirmation"), "sign-out");
  WAIT_PAGE ("account");
  ow_ui_click ("register_toggle");
  ow_ui_type ("reg_name_row", "성춘향");
  ow_ui_type ("reg_email_row", "chunhyang@example.com");
  ow_ui_type ("reg_phone_row", "010-2345-6789");
  ow_ui_type ("gateway_row", ot_proxy_url (T.proxy));

  /* an ID taken by someone else (the first user) stays theirs */
  ow_ui_type ("reg_login_row", LOGIN);
  ow_ui_type ("reg_password_row", "not the password sent");
  ow_ui_type ("reg_confirm_row", "not the password sent");
  ow_ui_click ("submit_button");
  ow_ui_wait_for (label_contains ("error_label", "login ID is taken") &&
                  sensitive ("submit_button"), 30, "the ID taken");
  g_assert_cmpstr (window_page (), ==, "account");

  /* The answer is lost: the account is there all the same. Trying again
   * (the user, or libsoup on a kept-alive connection that closed), the ID
   * is taken; the password signs in to it, and the user is in. */
  ow_ui_type ("reg_login_row", OTHER_LOGIN);
  ow_ui_type ("reg_password_row", PASSWORD);
  ow_ui_type ("reg_confirm_row", PASSWORD);
  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  ow_ui_click ("submit_button");
  ow_ui_wait_for (ot_proxy_held (T.proxy) > 0, 30, "the gateway's answer to the registration");
  ot_proxy_set_mode (T.proxy, OT_PROXY_DROP_ANSWERS);
  ow_ui_wait_for (ot_proxy_dropped (T.proxy) > dropped &&
                  (g_str_equal (window_page (), "main") || sensitive ("submit_button")), 30,
                  "the lost answer");
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  if (g_str_equal (window_page (), "account"))
    {
      g_assert_true (label_contains ("error_label", "Cannot reach the gateway"));
      ow_ui_click ("submit_button");
    }
  WAIT_PAGE ("main");
  g_assert_cmpint (gateway_answers ("/v1/wallet/users", "201"), ==, users + 1);
  remember_token ();
  ow_ui_wait_for (g_strcmp0 (ow_ui_stack_page ("card_stack"), "no-card") == 0, 30,
                  "the apply-for-a-card view");
}

/* Applies, and locks with Ctrl+L in the dialog while the relay holds the
 * gateway's answer; then lets it go to the locked wallet. */
static void
apply_and_lock (void)
{
  g_autoptr(JsonObject) session = session_record ();
  GtkWindow *dialog;

  ow_ui_click ("apply_button");
  ow_ui_wait_for (ow_ui_find ("confirm_row") != NULL, 10, "the apply dialog");
  ow_ui_type ("password_row", OTHER_CARD_PASSWORD);
  ow_ui_type ("confirm_row", OTHER_CARD_PASSWORD);
  dialog = ow_ui_window_of ("confirm_row");
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  ot_proxy_set_mode (T.proxy, OT_PROXY_HOLD_ANSWERS);
  ow_ui_click ("apply_button");
  ow_ui_wait_for (ot_proxy_held (T.proxy) > 0, 30, "the gateway's answer to the application");

  /* the key was kept before the request went: the gateway has answered */
  T.pending_key = ow_pending_card_lookup (vault (), ot_json_string (session, "user"),
                                          ot_json_string (session, "gateway"), NULL);
  g_assert_nonnull (T.pending_key);

  lock_by_keys_in (dialog, "the apply dialog");
  ot_proxy_set_mode (T.proxy, OT_PROXY_PASS);
  ow_ui_wait_for ((T.other_cvc = answered_member ("cvc")) != NULL, 30,
                  "the answer to reach the wallet");
  T.other_number = answered_member ("number");
  g_assert_true (ot_luhn_valid (T.other_number));
  ow_ui_wait_for (dialog == NULL, 30, "the answer to reach the dialog gone");
}

/* Nothing of the number, the CVC or an error about them while locked. */
static void
assert_nothing_while_locked (void)
{
  g_autofree char *first_groups = g_strdup_printf ("%.4s %.4s", T.other_number,
                                                   T.other_number + 4);
  g_autofree char *cvc = g_strdup_printf ("CVC %s", T.other_cvc);
  /* nor the toast the unlock shows, nor an error */
  const char *const absent[] = { T.other_number, first_groups, cvc, "issued", "could not", NULL };

  g_assert_true (ow_vault_is_locked (vault ()));
  /* the ids are in the clear: no card record came, the application's stays */
  g_assert_cmpuint (count_vault (OW_VAULT_KIND_CARD), ==, 0);
  g_assert_cmpuint (count_vault (OW_VAULT_KIND_APPLICATION), ==, 1);
  ow_ui_spin (500);
  assert_no_toast ();
  for (guint i = 0; absent[i] != NULL; i++)
    g_assert_false (window_shows (absent[i]));
  ow_ui_check_a11y_absent ("locked, a card application answered", absent);
}

/* After the unlock: the card on the gateway, its number not here, and the
 * application to finish with the card password chosen; a wrong one is the
 * gateway's 422 for the key with another body. */
static void
finish_application (void)
{
  gint64 refused = gateway_answers ("/v1/wallet/card", "422");

  unlock ();
  ow_ui_wait_for (g_strcmp0 (ow_ui_stack_page ("card_stack"), "card") == 0, 30, "the card");
  ow_ui_wait_for (window_shows ("issued while the wallet was locked"), 10,
                  "the toast held for the unlock");
  g_assert_false (window_shows ("could not be saved"));
  g_assert_false (window_shows ("The wallet is locked."));
  g_assert_cmpuint (count_vault (OW_VAULT_KIND_CARD), ==, 0);
  ow_ui_screenshot (ow_ui_window_of ("stack"), "29-application-to-finish");
  ow_ui_check_a11y ("main view with an application to finish");

  ow_ui_click ("finish_button");
  ow_ui_wait_for (ow_ui_find ("password_row") != NULL && ow_ui_find ("confirm_row") == NULL, 10,
                  "the finish dialog");
  ow_ui_screenshot (ow_ui_window_of ("password_row"), "30-finish-dialog");
  ow_ui_check_a11y ("finish dialog");
  ow_ui_type ("password_row", "000000");
  ow_ui_click ("apply_button");
  ow_ui_wait_for (label_contains ("error_label", "not the card password you chose"), 30,
                  "the refusal of another card password");
  g_assert_cmpint (gateway_answers ("/v1/wallet/card", "422"), ==, refused + 1);
  g_assert_cmpstr (editable_text ("password_row"), ==, "");
  g_assert_cmpuint (count_vault (OW_VAULT_KIND_CARD), ==, 0);

  /* wrong again until the card locks (the gateway's lockout here is
   * LOCKOUT_SECONDS): the wallet's own words for it */
  for (guint tries = 0; !label_contains ("error_label", "locked"); tries++)
    {
      g_assert_cmpuint (tries, <, 6);
      gtk_label_set_text (GTK_LABEL (ow_ui_find_hidden ("error_label")), "");
      ow_ui_type ("password_row", "000000");
      ow_ui_click ("apply_button");
      ow_ui_wait_for (gtk_label_get_text (GTK_LABEL (ow_ui_find_hidden ("error_label")))[0] != '\0',
                      30, "the answer to another wrong card password");
      g_test_message ("finish refused: %s", ow_ui_label ("error_label"));
    }
  g_assert_cmpstr (ow_ui_label ("error_label"), ==,
                   "Too many wrong card passwords: the card is locked for a while. Try again later.");
  g_assert_cmpuint (count_vault (OW_VAULT_KIND_CARD), ==, 0);
  ow_ui_spin ((LOCKOUT_SECONDS + 1) * 1000);

  ow_ui_type ("password_row", OTHER_CARD_PASSWORD);
  ow_ui_click ("apply_button");
  ow_ui_wait_for (ow_ui_find ("finish_button") == NULL && count_vault (OW_VAULT_KIND_CARD) == 1,
                  30, "the number stored");
  g_assert_cmpuint (count_vault (OW_VAULT_KIND_APPLICATION), ==, 0);
  ow_ui_wait_for (window_shows ("Your representative card is ready."), 20, "the card ready");
}

static void
assert_number_revealed (void)
{
  g_autoptr(JsonObject) gateway_card = gateway_get ("/v1/wallet/card");
  g_autofree char *shown = g_strdup_printf ("%.4s %.4s %.4s %.4s  CVC %s", T.other_number,
                                            T.other_number + 4, T.other_number + 8,
                                            T.other_number + 12, T.other_cvc);
  g_auto(GStrv) ids = ow_vault_list (vault (), OW_VAULT_KIND_CARD, NULL);

  g_assert_cmpstr (ids[0], ==, ot_json_string (gateway_card, "id"));
  /* the gateway's own card, with the password chosen when applying */
  ot_assert_card_balance (T.gw, T.other_number, OTHER_CARD_PASSWORD, 0, 0);
  ow_ui_click ("reveal_button");
  wait_label ("number_label", shown);
  ow_ui_click ("reveal_button");
  ow_ui_wait_for (!label_contains ("number_label", "CVC"), 10, "the number to hide");
}

/* A kept key the gateway does not know (it keeps an answer three days):
 * sent again, it is a new application, which a user with a card is refused,
 * and the wallet says plainly that the number cannot be shown. */
static void
finish_expired_application (void)
{
  g_autoptr(JsonObject) session = session_record ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) ids = ow_vault_list (vault (), OW_VAULT_KIND_CARD, NULL);
  AdwMessageDialog *message;

  /* as on a computer whose application's answer is three days gone */
  g_assert_true (ow_vault_remove (vault (), OW_VAULT_KIND_CARD, ids[0], &error));
  g_assert_true (ow_pending_card_save (vault (), ot_json_string (session, "user"),
                                       ot_json_string (session, "gateway"),
                                       "an-application-the-gateway-forgot", &error));
  g_assert_no_error (error);
  gtk_widget_activate_action (ow_ui_get ("stack"), "win.refresh", NULL);
  ow_ui_click ("finish_button");
  ow_ui_type ("password_row", OTHER_CARD_PASSWORD);
  ow_ui_click ("apply_button");
  message = wait_message_dialog ("the message that the number cannot be shown");
  g_assert_cmpstr (adw_message_dialog_get_heading (message), ==, "The Card Number Cannot Be Shown");
  ow_ui_screenshot (GTK_WINDOW (message), "31-number-cannot-be-shown");
  ow_ui_check_a11y ("the number cannot be shown");
  g_assert_cmpuint (count_vault (OW_VAULT_KIND_APPLICATION), ==, 0);
  g_assert_cmpuint (count_vault (OW_VAULT_KIND_CARD), ==, 0);
  respond (message, "close");
  g_assert_null (ow_ui_find ("finish_button"));
}

/* A second user applies for their card, and the wallet locks while the
 * answer (the number and CVC, shown once) is on its way: nothing of it is
 * kept or shown while locked, and after the unlock the application is
 * finished with the card password chosen, under the key the wallet kept. */
static void
test_apply_while_locked (void)
{
  register_other_user ();
  apply_and_lock ();
  assert_nothing_while_locked ();
  finish_application ();
  assert_number_revealed ();
  finish_expired_application ();
}

/* Every file under the temporary $HOME (the vault, the key database, the
 * settings keyfile, caches) searched for every secret the wallet held. */
static void
test_no_secrets_on_disk (void)
{
  g_autoptr(OwScan) scan = ow_scan_new ();
  g_autofree char *cvc_record = g_strdup_printf ("\"cvc\":\"%s\"", T.card_cvc);
  g_autofree char *other_cvc_record = g_strdup_printf ("\"cvc\":\"%s\"", T.other_cvc);
  const char *dirs[] = { T.home, NULL };

  ow_application_lock (T.app);
  WAIT_PAGE ("unlock");

  ow_scan_add_secret (scan, "card number", T.card_number);
  ow_scan_add_secret (scan, "card CVC", cvc_record);
  for (guint i = 0; i < T.tokens->len; i++)
    ow_scan_add_secret (scan, "a session token", g_ptr_array_index (T.tokens, i));
  g_assert_cmpuint (T.tokens->len, ==, 7);
  ow_scan_add_secret (scan, "second card number", T.other_number);
  ow_scan_add_secret (scan, "second card CVC", other_cvc_record);
  ow_scan_add_secret (scan, "second card password", OTHER_CARD_PASSWORD);
  ow_scan_add_secret (scan, "card application key", T.pending_key);
  ow_scan_add_secret (scan, "credit card", CREDIT_CARD);
  ow_scan_add_secret (scan, "bank account", BANK_ACCOUNT_DIGITS);
  ow_scan_add_secret (scan, "declining card", OT_BANK_CARD_DECLINE);
  ow_scan_add_secret (scan, "master password", MASTER);
  ow_scan_add_secret (scan, "new master password", NEW_MASTER);
  ow_scan_add_secret (scan, "account password", PASSWORD);
  ow_scan_add_secret (scan, "new account password", NEW_PASSWORD);
  ow_scan_add_secret (scan, "card password", CARD_PASSWORD);
  ow_scan_add_secret (scan, "new card password", NEW_CARD_PASSWORD);
  ow_scan_add_secret (scan, "holder", "HONG GILDONG");
  ow_scan_add_secret (scan, "telephone line", LINE_DIGITS);
  ow_scan_assert_clean (scan, dirs, 3);
}

/* ---- set-up -------------------------------------------------------------- */

static void
isolate_home (void)
{
  g_autoptr(GError) error = NULL;
  const char *subdirs[][2] = {
    { "XDG_DATA_HOME", ".local/share" },
    { "XDG_CONFIG_HOME", ".config" },
    { "XDG_CACHE_HOME", ".cache" },
    { "XDG_STATE_HOME", ".local/state" },
    /* the browser socket too */
    { "XDG_RUNTIME_DIR", "run" },
  };

  T.home = g_dir_make_tmp ("ow-gui-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("HOME", T.home, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *path = g_build_filename (T.home, subdirs[i][1], NULL);

      g_mkdir_with_parents (path, 0700);
      g_setenv (subdirs[i][0], path, TRUE);
    }
  /* the settings are written where the scan looks */
  g_setenv ("GSETTINGS_BACKEND", "keyfile", TRUE);
}

/* What a screen reader says for a button with a mnemonic (ow_ui_name_controls
 * names text buttons by it; check-a11y.py checks the window's). */
static void
test_mnemonic_names (void)
{
  const char *cases[][2] = {
    { "_Unlock", "Unlock" },
    { "Sign _In", "Sign In" },
    { "Change _Password…", "Change Password…" },
    { "지갑 만들기(_C)", "지갑 만들기" },
    { "계정 만들기(_A)…", "계정 만들기…" },
    { "a__b", "a_b" },
    { "Done", "Done" },
    { "_", "" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = ow_ui_without_mnemonic (cases[i][0]);

      g_assert_cmpstr (name, ==, cases[i][1]);
    }
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *bank_config = NULL;
  g_autofree char *config = NULL;
  int status;

  setlocale (LC_ALL, "");
  if (g_getenv ("OW_GUI_CHILD") != NULL)
    return run_child (g_getenv ("OW_GUI_CHILD"));
  g_test_init (&argc, &argv, NULL);
  T.tokens = g_ptr_array_new_with_free_func (g_free);
  isolate_home ();
  if (!ow_vault_global_init (&error))
    g_error ("%s", error->message);

  T.bank = ot_bank_start (NULL);
  bank_config = ot_bank_gateway_config (T.bank, 5, NULL);
  /* fast sign-ins: the gateway's PBKDF2 cost is the wallet-api suite's; and
   * no per-address limit on them (the wallet-api suite tests it): the
   * journey checks passwords faster than a person would, and from one
   * address, and whether a minute of it stays under 30 depends on timing */
  config = g_strdup_printf ("[wallet]\npbkdf2_iterations=2000\nkdf_per_minute=100000\n"
                            "[limits]\nlockout_seconds=%d\n%s", LOCKOUT_SECONDS, bank_config);
  T.gw = ot_gateway_start (config, FALSE);
  T.proxy = ot_proxy_start (ot_gateway_url (T.gw));
  /* before the application registers: GTK looks for it then */
  T.session = ow_test_session_start ();
  T.app = ow_application_new (NULL);
  g_application_register (G_APPLICATION (T.app), NULL, &error);
  g_assert_no_error (error);
  g_settings_set_uint (ow_application_get_settings (T.app), "idle-lock-seconds", 0);
  g_application_activate (G_APPLICATION (T.app));

  g_test_add_func ("/wallet-gui/mnemonic-names", test_mnemonic_names);
  g_test_add_func ("/wallet-gui/unreadable-vault", test_unreadable_vault);
  g_test_add_func ("/wallet-gui/first-run", test_first_run);
  g_test_add_func ("/wallet-gui/register", test_register);
  g_test_add_func ("/wallet-gui/lines-before-card", test_lines_before_card);
  g_test_add_func ("/wallet-gui/apply-card", test_apply_card);
  g_test_add_func ("/wallet-gui/funding-sources", test_funding_sources);
  g_test_add_func ("/wallet-gui/charge", test_charge);
  g_test_add_func ("/wallet-gui/narrow-window", test_narrow_window);
  g_test_add_func ("/wallet-gui/payment-in-history", test_payment_in_history);
  g_test_add_func ("/wallet-gui/remove-funding-source", test_remove_funding_source);
  g_test_add_func ("/wallet-gui/remove-funding-lock", test_remove_funding_lock);
  g_test_add_func ("/wallet-gui/receipts", test_receipts);
  g_test_add_func ("/wallet-gui/approval-dialog", test_approval_dialog);
  g_test_add_func ("/wallet-gui/lock-and-unlock", test_lock_and_unlock);
  g_test_add_func ("/wallet-gui/lock-from-dialogs", test_lock_from_dialogs);
  g_test_add_func ("/wallet-gui/lock-dismisses-toasts", test_lock_dismisses_toasts);
  g_test_add_func ("/wallet-gui/lock-as-a-toast-comes-up", test_lock_as_toast_comes_up);
  g_test_add_func ("/wallet-gui/idle-lock", test_idle_lock);
  g_test_add_func ("/wallet-gui/screen-lock", test_screen_lock);
  g_test_add_func ("/wallet-gui/sleep-lock", test_sleep_lock);
  g_test_add_func ("/wallet-gui/idle-lock-counts-sleep", test_idle_lock_counts_sleep);
  g_test_add_func ("/wallet-gui/preferences", test_preferences);
  g_test_add_func ("/wallet-gui/preferences-browsers", test_preferences_browsers);
  g_test_add_func ("/wallet-gui/pair-dialog", test_pair_dialog);
  g_test_add_func ("/wallet-gui/preferences-toasts", test_preferences_toasts);
  g_test_add_func ("/wallet-gui/change-master-password", test_change_master_password);
  g_test_add_func ("/wallet-gui/session-ended", test_session_ended);
  g_test_add_func ("/wallet-gui/sign-out-and-in", test_sign_out_and_in);
  g_test_add_func ("/wallet-gui/charge-pending", test_charge_pending);
  g_test_add_func ("/wallet-gui/charge-frozen", test_charge_frozen);
  g_test_add_func ("/wallet-gui/charge-closed-in-flight", test_charge_closed_in_flight);
  g_test_add_func ("/wallet-gui/remove-while-charging", test_remove_while_charging);
  g_test_add_func ("/wallet-gui/charge-survives-restart", test_charge_survives_restart);
  g_test_add_func ("/wallet-gui/charge-survives-crash", test_charge_survives_crash);
  g_test_add_func ("/wallet-gui/charge-amount", test_charge_amount);
  g_test_add_func ("/wallet-gui/funding-lost-answer", test_funding_lost_answer);
  g_test_add_func ("/wallet-gui/funding-closed-in-flight", test_funding_closed_in_flight);
  g_test_add_func ("/wallet-gui/change-card-password", test_change_card_password);
  g_test_add_func ("/wallet-gui/change-card-password-closed", test_change_card_password_closed);
  g_test_add_func ("/wallet-gui/telephone-lines", test_telephone_lines);
  g_test_add_func ("/wallet-gui/lines-lock", test_lines_lock);
  g_test_add_func ("/wallet-gui/lines-retry", test_lines_retry);
  g_test_add_func ("/wallet-gui/lines-out-of-order", test_lines_out_of_order);
  g_test_add_func ("/wallet-gui/account", test_account);
  g_test_add_func ("/wallet-gui/apply-while-locked", test_apply_while_locked);
  g_test_add_func ("/wallet-gui/no-secrets-on-disk", test_no_secrets_on_disk);
  status = g_test_run ();

  ow_application_lock (T.app);
  g_application_quit (G_APPLICATION (T.app));
  g_clear_object (&T.app);
  ot_proxy_free (T.proxy);
  ow_test_session_free (T.session);
  ot_gateway_stop (T.gw);
  ot_bank_stop (T.bank);
  ow_test_remove_tree (T.home);
  g_free (T.home);
  g_free (T.card_number);
  g_free (T.card_cvc);
  g_free (T.card_cvc_text);
  g_free (T.other_number);
  g_free (T.other_cvc);
  ow_secret_free (T.pending_key);
  g_free (T.token);
  g_ptr_array_unref (T.tokens);
  return status;
}
