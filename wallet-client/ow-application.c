/* ow-application.c: onepin Wallet, the application
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-application.h"

#include <time.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <gio/gunixfdlist.h>

#include "ow-application-private.h"
#include "ow-approval-dialog.h"
#include "ow-browser-service.h"
#include "ow-pending-card.h"
#include "ow-pending-charge.h"
#include "ow-preferences-window.h"
#include "ow-ui.h"
#include "ow-window.h"

#define SESSION_ID "current"

struct _OwApplication
{
  AdwApplication  parent_instance;

  char           *vault_dir;
  OwVault        *vault;
  GError         *vault_error;   /* why there is no @vault */
  GSettings      *settings;
  OwBrowserService *browsers;    /* the browser socket */
  guint           signal_sources[2];

  OwClient       *client;
  char           *client_url;    /* what @client was made for */
  char           *client_ca;

  OwClockFunc     clock;         /* boot_time (), or a test's */
  gint64          last_activity; /* by clock, µs */
  guint           idle_source;
  GDBusConnection *system_bus;   /* for logind's PrepareForSleep; NULL if none */
  guint           sleep_signal;
  int             sleep_inhibitor;      /* logind's delay lock, or -1 */
  gboolean        going_to_sleep;       /* between PrepareForSleep TRUE and FALSE */
  GCancellable   *inhibit_cancellable;  /* the Inhibit call in flight, if any */
  gboolean        demo;          /* app.approve-purchase may show its dialog */
};

G_DEFINE_FINAL_TYPE (OwApplication, ow_application, ADW_TYPE_APPLICATION)

/* ---- idle lock ---------------------------------------------------------- */

static void schedule_idle_lock (OwApplication *self);

/* Microseconds since boot, the time the machine slept included:
 * g_get_monotonic_time () (CLOCK_MONOTONIC) stops during a suspend, so a
 * night with the lid closed would count for nothing. */
static gint64
boot_time (void)
{
  struct timespec now;

  clock_gettime (CLOCK_BOOTTIME, &now);
  return (gint64) now.tv_sec * G_USEC_PER_SEC + now.tv_nsec / 1000;
}

static gint64
idle_limit (OwApplication *self)
{
  return (gint64) g_settings_get_uint (self->settings, "idle-lock-seconds") * G_USEC_PER_SEC;
}

/* Locks if the idle time ran out since the last input; TRUE if it did. A
 * GLib timer counts CLOCK_MONOTONIC and fires late after a sleep, so this
 * is asked on waking up and at the next input too, not only by the timer. */
static gboolean
lock_if_idle (OwApplication *self)
{
  gint64 idle = idle_limit (self);

  if (idle == 0 || self->vault == NULL || ow_vault_is_locked (self->vault) ||
      self->clock () - self->last_activity < idle)
    return FALSE;
  ow_application_lock (self);
  return TRUE;
}

/* When the timer fires, and on waking up: lock, or arm the timer again for
 * what is left (after a sleep, less than it was armed for). */
static void
check_idle (OwApplication *self)
{
  if (!lock_if_idle (self))
    schedule_idle_lock (self);
}

static gboolean
on_idle_timeout (gpointer data)
{
  OwApplication *self = data;

  self->idle_source = 0;
  check_idle (self);
  return G_SOURCE_REMOVE;
}

/* Arms one timer for when the idle time would run out; activity in between
 * only moves last_activity, so pointer motion costs no timer churn. */
static void
schedule_idle_lock (OwApplication *self)
{
  gint64 idle = idle_limit (self);
  gint64 left;

  g_clear_handle_id (&self->idle_source, g_source_remove);
  if (idle == 0 || self->vault == NULL || ow_vault_is_locked (self->vault))
    return;

  left = self->last_activity + idle - self->clock ();
  self->idle_source = g_timeout_add (MAX (left, 0) / 1000 + 1, on_idle_timeout, self);
}

/* The first input after the idle time ran out locks (the timer may not have
 * fired yet, after a sleep) instead of starting the countdown over. */
gboolean
ow_application_note_activity (OwApplication *self)
{
  g_return_val_if_fail (OW_IS_APPLICATION (self), FALSE);

  if (lock_if_idle (self))
    return TRUE;
  self->last_activity = self->clock ();
  if (self->idle_source == 0)
    schedule_idle_lock (self);
  return FALSE;
}

static gboolean
on_window_event (GtkEventControllerLegacy *controller,
                 GdkEvent                 *event,
                 gpointer                  data)
{
  switch (gdk_event_get_event_type (event))
    {
    case GDK_KEY_PRESS:
    case GDK_BUTTON_PRESS:
    case GDK_MOTION_NOTIFY:
    case GDK_SCROLL:
    case GDK_TOUCH_BEGIN:
      /* the input that found the wallet idle does nothing more */
      return ow_application_note_activity (OW_APPLICATION (data)) ? GDK_EVENT_STOP
                                                                  : GDK_EVENT_PROPAGATE;
    default:
      return GDK_EVENT_PROPAGATE;
    }
}

/* gtk_window_destroy () (closing, a lock) unrealizes a window at once,
 * while its dispose waits for its last reference, which a call it made
 * holds until the answer: what was typed goes here, not there. */
static void
on_window_unrealize (GtkWidget *window)
{
  ow_ui_wipe_texts (window);
}

void
ow_application_adopt_window (OwApplication *self,
                             GtkWindow     *window)
{
  GtkEventController *controller;

  g_return_if_fail (OW_IS_APPLICATION (self));

  gtk_window_set_application (window, GTK_APPLICATION (self));
  /* not left open, the application running, once the main window is closed */
  gtk_window_set_destroy_with_parent (window, TRUE);
  g_signal_connect (window, "unrealize", G_CALLBACK (on_window_unrealize), NULL);
  /* a message dialog's buttons too (_Cancel, _Sign Out) */
  ow_ui_name_controls (GTK_WIDGET (window));

  controller = gtk_event_controller_legacy_new ();
  gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
  g_signal_connect_object (controller, "event", G_CALLBACK (on_window_event), self, 0);
  gtk_widget_add_controller (GTK_WIDGET (window), controller);
}

/* Every window of ours but the main one: the application's (all that
 * ow_application_adopt_window saw), and any over one of them (About, a
 * file chooser). */
static GList *
other_windows (OwApplication *self)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  GList *others = NULL;

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);
      gboolean ours = FALSE;

      for (GtkWindow *w = window; w != NULL && !ours; w = gtk_window_get_transient_for (w))
        ours = gtk_window_get_application (w) == GTK_APPLICATION (self);
      if (ours && !OW_IS_WINDOW (window))
        others = g_list_prepend (others, g_object_ref (window));
    }
  return others;
}

/* Locked: every window but the main one goes (the main window shows the
 * unlock page), wiping what was typed in it as it goes, even where a call
 * still running holds it. */
static void
on_vault_locked (OwApplication *self)
{
  self->last_activity = self->clock ();
  schedule_idle_lock (self);
  if (ow_vault_is_locked (self->vault))
    {
      GList *windows = other_windows (self);

      for (GList *l = windows; l != NULL; l = l->next)
        gtk_window_destroy (l->data);
      g_list_free_full (windows, g_object_unref);
    }
}

void
ow_application_set_clock (OwApplication *self,
                          OwClockFunc    clock)
{
  g_return_if_fail (OW_IS_APPLICATION (self));

  self->clock = clock != NULL ? clock : boot_time;
  self->last_activity = self->clock ();
  schedule_idle_lock (self);
}

/* ---- the screen lock and sleep ------------------------------------------ */

/* GTK follows the session's screen saver (register-session is set): the
 * screen locked, so is the wallet. */
static void
on_screensaver_active (OwApplication *self)
{
  gboolean active = FALSE;

  g_object_get (self, "screensaver-active", &active, NULL);
  if (active)
    ow_application_lock (self);
}

/* A delay lock: logind holds the sleep back until we close its file (for
 * InhibitDelayMaxSec at most, 5 s by default), so that the lock on
 * PrepareForSleep (TRUE) happens before the machine sleeps, not at the
 * first input after it wakes. */
/* No reference to the application: shutdown cancels the call, and a
 * cancelled one reports so without touching it. */
static void
on_inhibited (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  OwApplication *self = data;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  gint32 handle = -1;
  int fd;

  reply = g_dbus_connection_call_with_unix_fd_list_finish (G_DBUS_CONNECTION (source), &fds,
                                                           result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->inhibit_cancellable);
  if (reply != NULL)
    g_variant_get (reply, "(h)", &handle);
  fd = reply != NULL && fds != NULL ? g_unix_fd_list_get (fds, handle, &error) : -1;
  if (fd < 0)
    {
      g_debug ("No delay lock before sleep: %s", error ? error->message : "no file");
      return;
    }
  /* granted as the sleep began: the vault is locked already, let it go */
  if (self->sleep_inhibitor >= 0 || self->going_to_sleep)
    close (fd);
  else
    self->sleep_inhibitor = fd;
}

static void
take_sleep_inhibitor (OwApplication *self)
{
  if (self->system_bus == NULL || self->sleep_inhibitor >= 0 || self->inhibit_cancellable)
    return;
  self->inhibit_cancellable = g_cancellable_new ();
  g_dbus_connection_call_with_unix_fd_list (self->system_bus, "org.freedesktop.login1",
                                            "/org/freedesktop/login1",
                                            "org.freedesktop.login1.Manager", "Inhibit",
                                            g_variant_new ("(ssss)", "sleep", "onepin-wallet",
                                                           _("Locks the wallet before the computer sleeps"),
                                                           "delay"),
                                            G_VARIANT_TYPE ("(h)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                            NULL, self->inhibit_cancellable, on_inhibited,
                                            self);
}

static void
release_sleep_inhibitor (OwApplication *self)
{
  if (self->sleep_inhibitor >= 0)
    close (self->sleep_inhibitor);
  self->sleep_inhibitor = -1;
}

/* logind's PrepareForSleep: TRUE as the machine goes to sleep, FALSE as it
 * wakes up, when the idle time may have run out meanwhile. The delay lock
 * goes only once the vault is locked, and is taken again on waking. */
static void
on_prepare_for_sleep (GDBusConnection *connection,
                      const char      *sender,
                      const char      *path,
                      const char      *interface,
                      const char      *signal,
                      GVariant        *parameters,
                      gpointer         data)
{
  OwApplication *self = data;
  gboolean sleeping;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
    return;
  g_variant_get (parameters, "(b)", &sleeping);
  self->going_to_sleep = sleeping;
  if (sleeping)
    {
      ow_application_lock (self);
      release_sleep_inhibitor (self);
    }
  else
    {
      check_idle (self);
      take_sleep_inhibitor (self);
    }
}

static void
watch_sleep (OwApplication *self)
{
  g_autoptr(GError) error = NULL;

  self->system_bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &error);
  if (self->system_bus == NULL)
    {
      /* a container, a CI machine: nobody to tell us of sleep */
      g_debug ("No system bus, no lock before sleep: %s", error->message);
      return;
    }
  self->sleep_signal = g_dbus_connection_signal_subscribe (self->system_bus,
                                                           "org.freedesktop.login1",
                                                           "org.freedesktop.login1.Manager",
                                                           "PrepareForSleep",
                                                           "/org/freedesktop/login1", NULL,
                                                           G_DBUS_SIGNAL_FLAGS_NONE,
                                                           on_prepare_for_sleep, self, NULL);
  take_sleep_inhibitor (self);
}

/* ---- the vault, the client and the session ------------------------------ */

OwVault *
ow_application_get_vault (OwApplication *self)
{
  g_return_val_if_fail (OW_IS_APPLICATION (self), NULL);
  return self->vault;
}

GSettings *
ow_application_get_settings (OwApplication *self)
{
  g_return_val_if_fail (OW_IS_APPLICATION (self), NULL);
  return self->settings;
}

OwClient *
ow_application_get_client (OwApplication  *self,
                           GError        **error)
{
  g_autofree char *url = NULL;
  g_autofree char *ca = NULL;
  OwClient *client;

  g_return_val_if_fail (OW_IS_APPLICATION (self), NULL);

  url = g_strstrip (g_settings_get_string (self->settings, "gateway-url"));
  ca = g_strstrip (g_settings_get_string (self->settings, "ca-file"));
  if (self->client != NULL && g_strcmp0 (url, self->client_url) == 0 &&
      g_strcmp0 (ca, self->client_ca) == 0)
    return self->client;

  /* Another gateway: the session of the old one means nothing there. */
  client = ow_client_new (url, ca, error);
  if (client == NULL)
    return NULL;

  g_clear_object (&self->client);
  self->client = client;
  g_free (self->client_url);
  g_free (self->client_ca);
  self->client_url = g_steal_pointer (&url);
  self->client_ca = g_steal_pointer (&ca);
  return self->client;
}

gboolean
ow_application_save_session (OwApplication  *self,
                             OwSession      *session,
                             const char     *login_id,
                             GError        **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(OwSecret) text = NULL;

  g_return_val_if_fail (OW_IS_APPLICATION (self), FALSE);
  g_return_val_if_fail (session != NULL && login_id != NULL, FALSE);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "token");
  json_builder_add_string_value (builder, session->token);
  json_builder_set_member_name (builder, "user");
  json_builder_add_string_value (builder, session->user_id);
  json_builder_set_member_name (builder, "login_id");
  json_builder_add_string_value (builder, login_id);
  json_builder_set_member_name (builder, "gateway");
  json_builder_add_string_value (builder, self->client_url != NULL ? self->client_url : "");
  json_builder_set_member_name (builder, "expires_at");
  json_builder_add_int_value (builder, session->expires_at);
  json_builder_end_object (builder);

  text = ow_secret_json_builder_finish (builder, NULL);
  return ow_vault_store (self->vault, OW_VAULT_KIND_SESSION, SESSION_ID, text, error);
}

static JsonObject *
load_session (OwApplication *self)
{
  g_autoptr(OwSecret) text = ow_vault_lookup (self->vault, OW_VAULT_KIND_SESSION, SESSION_ID, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (text == NULL || !json_parser_load_from_data (parser, text, -1, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return json_object_ref (json_node_get_object (root));
}

gboolean
ow_application_restore_session (OwApplication *self)
{
  g_autoptr(OwSecretJson) session = load_session (self);
  OwClient *client = ow_application_get_client (self, NULL);
  const char *token;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (session == NULL || client == NULL)
    return FALSE;

  token = json_object_get_string_member_with_default (session, "token", NULL);
  if (token == NULL ||
      g_strcmp0 (json_object_get_string_member_with_default (session, "gateway", ""),
                 self->client_url) != 0 ||
      json_object_get_int_member_with_default (session, "expires_at", 0) <= now)
    return FALSE;

  ow_client_set_token (client, token);
  return TRUE;
}

char *
ow_application_dup_login_id (OwApplication *self)
{
  g_autoptr(OwSecretJson) session = load_session (self);

  if (session == NULL)
    return NULL;
  return g_strdup (json_object_get_string_member_with_default (session, "login_id", NULL));
}

/* The session's user and the gateway it is for: the pending card's and
 * charge's records are theirs. FALSE without a session (or locked). */
static gboolean
session_user (OwApplication  *self,
              char          **user_id,
              char          **gateway,
              GError        **error)
{
  g_autoptr(OwSecretJson) session = ow_vault_is_locked (self->vault) ? NULL : load_session (self);
  const char *user = NULL;
  const char *url = NULL;

  if (session != NULL)
    {
      user = json_object_get_string_member_with_default (session, "user", NULL);
      url = json_object_get_string_member_with_default (session, "gateway", NULL);
    }
  if (user == NULL || url == NULL)
    {
      g_set_error_literal (error, OW_VAULT_ERROR,
                           ow_vault_is_locked (self->vault) ? OW_VAULT_ERROR_LOCKED
                                                            : OW_VAULT_ERROR_NOT_FOUND,
                           "No session to keep a card application for");
      return FALSE;
    }
  *user_id = g_strdup (user);
  *gateway = g_strdup (url);
  return TRUE;
}

gboolean
ow_application_save_pending_card (OwApplication  *self,
                                  const char     *idempotency_key,
                                  GError        **error)
{
  g_autofree char *user_id = NULL;
  g_autofree char *gateway = NULL;

  g_return_val_if_fail (OW_IS_APPLICATION (self), FALSE);
  g_return_val_if_fail (idempotency_key != NULL, FALSE);

  return session_user (self, &user_id, &gateway, error) &&
         ow_pending_card_save (self->vault, user_id, gateway, idempotency_key, error);
}

char *
ow_application_dup_pending_card (OwApplication *self)
{
  g_autofree char *user_id = NULL;
  g_autofree char *gateway = NULL;

  g_return_val_if_fail (OW_IS_APPLICATION (self), NULL);

  if (!session_user (self, &user_id, &gateway, NULL))
    return NULL;
  return ow_pending_card_lookup (self->vault, user_id, gateway, NULL);
}

void
ow_application_clear_pending_card (OwApplication *self)
{
  g_autofree char *user_id = NULL;
  g_autofree char *gateway = NULL;

  g_return_if_fail (OW_IS_APPLICATION (self));

  if (session_user (self, &user_id, &gateway, NULL))
    ow_pending_card_clear (self->vault, user_id, NULL);
}

gboolean
ow_application_save_pending_charge (OwApplication          *self,
                                    const OwPendingCharge  *pending,
                                    GError                **error)
{
  g_autofree char *user_id = NULL;
  g_autofree char *gateway = NULL;

  g_return_val_if_fail (OW_IS_APPLICATION (self), FALSE);
  g_return_val_if_fail (pending != NULL, FALSE);

  return session_user (self, &user_id, &gateway, error) &&
         ow_pending_charge_save (self->vault, user_id, gateway, pending, error);
}

OwPendingCharge *
ow_application_dup_pending_charge (OwApplication *self)
{
  g_autofree char *user_id = NULL;
  g_autofree char *gateway = NULL;

  g_return_val_if_fail (OW_IS_APPLICATION (self), NULL);

  if (!session_user (self, &user_id, &gateway, NULL))
    return NULL;
  return ow_pending_charge_lookup (self->vault, user_id, gateway, NULL);
}

void
ow_application_clear_pending_charge (OwApplication *self)
{
  g_autofree char *user_id = NULL;
  g_autofree char *gateway = NULL;

  g_return_if_fail (OW_IS_APPLICATION (self));

  if (session_user (self, &user_id, &gateway, NULL))
    ow_pending_charge_clear (self->vault, user_id, NULL);
}

void
ow_application_end_session (OwApplication *self)
{
  g_return_if_fail (OW_IS_APPLICATION (self));

  if (self->client != NULL)
    ow_client_set_token (self->client, NULL);
  if (!ow_vault_is_locked (self->vault))
    ow_vault_remove (self->vault, OW_VAULT_KIND_SESSION, SESSION_ID, NULL);
}

void
ow_application_forget_session (OwApplication *self)
{
  g_return_if_fail (OW_IS_APPLICATION (self));

  if (self->client != NULL)
    ow_client_set_token (self->client, NULL);
  if (!ow_vault_is_locked (self->vault))
    ow_vault_clear (self->vault, NULL);
}

void
ow_application_lock (OwApplication *self)
{
  g_return_if_fail (OW_IS_APPLICATION (self));

  if (self->client != NULL)
    ow_client_set_token (self->client, NULL);
  /* On notify::locked the other windows go, and the main one clears what
   * it shows. */
  if (self->vault != NULL)
    ow_vault_lock (self->vault);
}

/* ---- actions ------------------------------------------------------------ */

GtkWindow *
ow_application_get_main_window (OwApplication *self)
{
  GList *windows;

  g_return_val_if_fail (OW_IS_APPLICATION (self), NULL);

  windows = gtk_application_get_windows (GTK_APPLICATION (self));
  for (GList *l = windows; l != NULL; l = l->next)
    if (OW_IS_WINDOW (l->data))
      return l->data;
  return NULL;
}

static GtkWindow *
main_window (OwApplication *self)
{
  return ow_application_get_main_window (self);
}

static void
lock_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       data)
{
  ow_application_lock (OW_APPLICATION (data));
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       data)
{
  OwApplication *self = data;

  ow_application_lock (self);
  g_application_quit (G_APPLICATION (self));
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       data)
{
  OwApplication *self = data;
  const char *developers[] = { "The onepin developers", NULL };

  adw_show_about_window (main_window (self),
                         "application-name", _("onepin Wallet"),
                         "application-icon", OW_APPLICATION_ID,
                         "developer-name", _("The onepin developers"),
                         "version", ONEPIN_VERSION,
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "developers", developers,
                         /* TRANSLATORS: your names, one per line */
                         "translator-credits", _("translator-credits"),
                         NULL);
}

static void
preferences_activated (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       data)
{
  OwApplication *self = data;
  OwPreferencesWindow *prefs;

  /* Ctrl+, works in every window of ours, the preferences too */
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (OW_IS_PREFERENCES_WINDOW (l->data))
      {
        gtk_window_present (l->data);
        return;
      }

  prefs = ow_preferences_window_new (self);
  gtk_window_set_transient_for (GTK_WINDOW (prefs), main_window (self));
  ow_application_adopt_window (self, GTK_WINDOW (prefs));
  gtk_window_present (GTK_WINDOW (prefs));
}

/* Shows the approval dialog for a purchase given as JSON, to try it out,
 * in a wallet started as a demonstration only; the browser integration
 * calls the C API directly. Nothing is paid: the dialog says so, and the
 * outcome is logged (never the password). */
static void
on_approval_decided (OwApprovalDialog *dialog,
                     gboolean          approved,
                     const char       *card_password,
                     gpointer          data)
{
  g_message ("approval: %s", approved ? "approved" : "rejected");
}

static void
approve_purchase_activated (GSimpleAction *action,
                            GVariant      *parameter,
                            gpointer       data)
{
  OwApplication *self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwPurchase) purchase = ow_purchase_new_from_json (g_variant_get_string (parameter, NULL),
                                                             &error);
  OwApprovalDialog *dialog;
  GtkWindow *window;

  if (!self->demo)
    {
      g_message ("approve-purchase: ignored, the wallet was not started with ONEPIN_WALLET_DEMO=1");
      return;
    }
  if (purchase == NULL)
    {
      g_warning ("approve-purchase: %s", error->message);
      return;
    }

  g_application_activate (G_APPLICATION (self));
  if (ow_vault_is_locked (self->vault))
    {
      g_message ("approval: locked");
      return;
    }

  window = main_window (self);
  dialog = ow_approval_dialog_new (purchase);
  if (ow_window_get_card (OW_WINDOW (window)) != NULL)
    ow_approval_dialog_set_card (dialog, ow_window_get_card (OW_WINDOW (window)));
  ow_approval_dialog_set_source (dialog, _("A demonstration: nothing will be paid."));
  g_signal_connect (dialog, "decided", G_CALLBACK (on_approval_decided), self);
  ow_application_adopt_window (self, GTK_WINDOW (dialog));
  ow_approval_dialog_present (dialog, window);
}

/* SIGTERM (the session ending) and SIGINT: quit as the menu does, locking
 * the vault and removing the browser socket. */
static gboolean
on_quit_signal (gpointer data)
{
  OwApplication *self = data;

  ow_application_lock (self);
  g_application_quit (G_APPLICATION (self));
  return G_SOURCE_CONTINUE;
}

static const GActionEntry app_actions[] = {
  { "quit", quit_activated, NULL, NULL, NULL, { 0 } },
  { "about", about_activated, NULL, NULL, NULL, { 0 } },
};

/* Only with a vault open. */
static const GActionEntry vault_actions[] = {
  { "lock", lock_activated, NULL, NULL, NULL, { 0 } },
  { "preferences", preferences_activated, NULL, NULL, NULL, { 0 } },
  { "approve-purchase", approve_purchase_activated, "s", NULL, NULL, { 0 } },
};

/* ---- a vault that does not open ------------------------------------------ */

/* Says why the vault did not open and where it is, and offers nothing but
 * Quit (closing the application's only window): whatever is in the folder
 * (a newer wallet's vault, another program's file) stays as it is, and no
 * vault is created over it. */
static GtkWindow *
vault_error_window (OwApplication *self)
{
  g_autoptr(GtkBuilder) builder =
    gtk_builder_new_from_resource ("/org/onepin/Wallet/ui/ow-vault-error-window.ui");
  g_autofree char *dir = self->vault_dir != NULL ? g_strdup (self->vault_dir)
                                                 : ow_vault_default_dir ();
  g_autofree char *reason = ow_ui_error_message (self->vault_error);
  g_autofree char *text = NULL;
  g_autofree char *markup = NULL;
  GtkWindow *window = GTK_WINDOW (gtk_builder_get_object (builder, "window"));

  /* TRANSLATORS: the first %s is why, a sentence; the second a folder */
  text = g_strdup_printf (_("%s\n\nThe wallet left everything in %s as it was."), reason, dir);
  /* the status page's description is markup, and a folder may hold a '<' */
  markup = g_markup_escape_text (text, -1);
  adw_status_page_set_description (ADW_STATUS_PAGE (gtk_builder_get_object (builder,
                                                                             "status_page")),
                                   markup);
  gtk_window_set_application (window, GTK_APPLICATION (self));
  ow_ui_name_controls (GTK_WIDGET (window));
  return window;
}

/* ---- GApplication ------------------------------------------------------- */

static void
ow_application_startup (GApplication *app)
{
  OwApplication *self = OW_APPLICATION (app);
  g_autofree char *dir = self->vault_dir != NULL ? g_strdup (self->vault_dir)
                                                 : ow_vault_default_dir ();
  static const char *lock_accels[] = { "<primary>l", NULL };
  static const char *quit_accels[] = { "<primary>q", NULL };
  static const char *prefs_accels[] = { "<primary>comma", NULL };
  static const char *refresh_accels[] = { "F5", "<primary>r", NULL };

  G_APPLICATION_CLASS (ow_application_parent_class)->startup (app);

  self->settings = g_settings_new (OW_APPLICATION_ID);
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);

  /* activate () says why; nothing else starts, and nothing touches the folder. */
  self->vault = ow_vault_new (dir, &self->vault_error);
  if (self->vault == NULL)
    {
      g_message ("vault: %s", self->vault_error->message);
      return;
    }

  g_signal_connect_object (self->settings, "changed::idle-lock-seconds",
                           G_CALLBACK (schedule_idle_lock), self, G_CONNECT_SWAPPED);
  g_signal_connect (self, "notify::screensaver-active", G_CALLBACK (on_screensaver_active), NULL);
  watch_sleep (self);

  /* Browsers reach the wallet while it runs; the primary instance only. */
  self->browsers = ow_browser_service_new (self);
  /* After the bridge's: a browser whose question a lock takes away hears
   * "locked" from it, not the "no" of the dialog going. */
  g_signal_connect_object (self->vault, "notify::locked", G_CALLBACK (on_vault_locked),
                           self, G_CONNECT_SWAPPED);
  self->signal_sources[0] = g_unix_signal_add (SIGTERM, on_quit_signal, self);
  self->signal_sources[1] = g_unix_signal_add (SIGINT, on_quit_signal, self);

  g_action_map_add_action_entries (G_ACTION_MAP (self), vault_actions,
                                   G_N_ELEMENTS (vault_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.lock", lock_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", prefs_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.refresh", refresh_accels);
}

static void
ow_application_activate (GApplication *app)
{
  OwApplication *self = OW_APPLICATION (app);
  GtkWindow *window;

  if (self->vault == NULL)
    {
      window = gtk_application_get_active_window (GTK_APPLICATION (self));
      gtk_window_present (window != NULL ? window : vault_error_window (self));
      return;
    }

  window = main_window (self);
  if (window == NULL)
    {
      window = GTK_WINDOW (ow_window_new (self));
      ow_application_adopt_window (self, window);
    }
  gtk_window_present (window);
}

static void
ow_application_shutdown (GApplication *app)
{
  OwApplication *self = OW_APPLICATION (app);

  g_clear_handle_id (&self->idle_source, g_source_remove);
  if (self->sleep_signal != 0)
    g_dbus_connection_signal_unsubscribe (self->system_bus, self->sleep_signal);
  self->sleep_signal = 0;
  g_cancellable_cancel (self->inhibit_cancellable);
  g_clear_object (&self->inhibit_cancellable);
  g_clear_handle_id (&self->signal_sources[0], g_source_remove);
  g_clear_handle_id (&self->signal_sources[1], g_source_remove);
  if (self->browsers != NULL)
    ow_browser_service_stop (self->browsers);
  if (self->vault != NULL)
    ow_application_lock (self);
  release_sleep_inhibitor (self);

  G_APPLICATION_CLASS (ow_application_parent_class)->shutdown (app);
}

static void
ow_application_finalize (GObject *object)
{
  OwApplication *self = OW_APPLICATION (object);

  g_clear_object (&self->browsers);
  g_clear_object (&self->system_bus);
  g_clear_object (&self->client);
  g_clear_object (&self->vault);
  g_clear_error (&self->vault_error);
  g_clear_object (&self->settings);
  g_free (self->client_url);
  g_free (self->client_ca);
  g_free (self->vault_dir);

  G_OBJECT_CLASS (ow_application_parent_class)->finalize (object);
}

static void
ow_application_class_init (OwApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = ow_application_finalize;
  app_class->startup = ow_application_startup;
  app_class->activate = ow_application_activate;
  app_class->shutdown = ow_application_shutdown;
}

static void
ow_application_init (OwApplication *self)
{
  self->clock = boot_time;
  self->last_activity = self->clock ();
  self->sleep_inhibitor = -1;
}

void
ow_application_set_demo (OwApplication *self,
                         gboolean       demo)
{
  g_return_if_fail (OW_IS_APPLICATION (self));
  self->demo = demo;
}

OwApplication *
ow_application_new (const char *vault_dir)
{
  OwApplication *self = g_object_new (OW_TYPE_APPLICATION,
                                      "application-id", OW_APPLICATION_ID,
                                      "flags", G_APPLICATION_DEFAULT_FLAGS,
                                      "resource-base-path", "/org/onepin/Wallet",
                                      /* GTK then follows the screen saver */
                                      "register-session", TRUE,
                                      NULL);

  self->vault_dir = g_strdup (vault_dir);
  return self;
}
