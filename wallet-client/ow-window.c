/* ow-window.c: the wallet's main window
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One stack of pages: setup (first run), unlock, account (sign in or
 * register) and main. The window decides which one shows; the pages do
 * their own work and say when they are done. It shows the toasts too, and
 * none that names anything while the wallet is locked.
 */
#include "ow-window.h"

#include <glib/gi18n.h>

#include "ow-account-page.h"
#include "ow-account-window.h"
#include "ow-lines-window.h"
#include "ow-main-page.h"
#include "ow-setup-page.h"
#include "ow-toast-overlay.h"
#include "ow-ui.h"
#include "ow-unlock-page.h"

struct _OwWindow
{
  AdwApplicationWindow  parent_instance;

  OwApplication        *application;

  OwToastOverlay       *toast_overlay;
  AdwWindowTitle       *window_title;
  GtkButton            *lock_button;
  GtkButton            *refresh_button;
  GtkStack             *stack;
  OwSetupPage          *setup_page;
  OwUnlockPage         *unlock_page;
  OwAccountPage        *account_page;
  OwMainPage           *main_page;

  gint64                last_refresh;   /* monotonic µs */

  GPtrArray            *held_toasts;    /* char*: to show after the unlock */
};

/* Coming back to the window after this long refreshes what it shows. */
#define STALE_AFTER (30 * G_USEC_PER_SEC)

G_DEFINE_FINAL_TYPE (OwWindow, ow_window, ADW_TYPE_APPLICATION_WINDOW)

static void
set_action_enabled (OwWindow   *self,
                    const char *name,
                    gboolean    enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);

  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

static void
show_page (OwWindow   *self,
           const char *name)
{
  gboolean unlocked = !ow_vault_is_locked (ow_application_get_vault (self->application));
  gboolean main = g_str_equal (name, "main");
  g_autofree char *login_id = main ? ow_application_dup_login_id (self->application) : NULL;

  gtk_stack_set_visible_child_name (self->stack, name);
  /* else the window's first focusable, the main menu, has the keyboard */
  if (g_str_equal (name, "setup") || g_str_equal (name, "unlock"))
    gtk_widget_grab_focus (gtk_stack_get_visible_child (self->stack));
  gtk_widget_set_visible (GTK_WIDGET (self->lock_button), unlocked);
  gtk_widget_set_visible (GTK_WIDGET (self->refresh_button), main);
  adw_window_title_set_subtitle (self->window_title, login_id != NULL ? login_id : "");
  set_action_enabled (self, "refresh", main);
  set_action_enabled (self, "sign-out", main);
  set_action_enabled (self, "account", main);
  set_action_enabled (self, "lines", main);
}

static void
refresh (OwWindow *self)
{
  self->last_refresh = g_get_monotonic_time ();
  ow_main_page_refresh (self->main_page);
}

static void
show_main (OwWindow *self)
{
  show_page (self, "main");
  refresh (self);
}

/* The balance may have changed elsewhere (a payment at a shop) while the
 * user was in another window. */
static void
on_active_changed (OwWindow *self)
{
  if (gtk_window_is_active (GTK_WINDOW (self)) &&
      g_strcmp0 (gtk_stack_get_visible_child_name (self->stack), "main") == 0 &&
      g_get_monotonic_time () - self->last_refresh > STALE_AFTER)
    refresh (self);
}

/* ---- toasts ------------------------------------------------------------- */

/* Unlocked: what the locked window said goes, and what it held back comes. */
static void
show_held_toasts (OwWindow *self)
{
  ow_toast_overlay_clear (self->toast_overlay);
  for (guint i = 0; i < self->held_toasts->len; i++)
    ow_toast_overlay_add (self->toast_overlay, g_ptr_array_index (self->held_toasts, i));
  g_ptr_array_set_size (self->held_toasts, 0);
}

/* ---- pages --------------------------------------------------------------- */

static void
on_unlocked (OwWindow *self)
{
  if (ow_application_restore_session (self->application))
    show_main (self);
  else
    {
      ow_account_page_reset (self->account_page);
      show_page (self, "account");
    }
  show_held_toasts (self);
}

static void
on_signed_in (OwWindow *self)
{
  show_main (self);
}

/* Heard while the vault is locked, this is a call cut off by the lock (the
 * client forgot its token): the unlock page stays, and the sealed session
 * with it; the first call after the unlock tells whether it still holds. */
static void
on_session_ended (OwWindow *self)
{
  if (ow_vault_is_locked (ow_application_get_vault (self->application)))
    return;
  ow_application_end_session (self->application);
  ow_account_page_reset (self->account_page);
  show_page (self, "account");
  ow_ui_toast (GTK_WIDGET (self), _("Your session has ended. Sign in again."));
}

/* The account window heard the gateway end the session; it has closed. */
static void
on_account_session_ended (OwWindow *self)
{
  if (ow_vault_is_locked (ow_application_get_vault (self->application)))
    return;
  ow_main_page_clear (self->main_page);
  on_session_ended (self);
}

static void
account_activated (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       data)
{
  OwWindow *self = OW_WINDOW (data);
  OwClient *client = ow_application_get_client (self->application, NULL);
  OwAccountWindow *window;

  if (client == NULL)
    return;
  window = ow_account_window_new (client, GTK_WINDOW (self));
  g_signal_connect_object (window, "session-ended", G_CALLBACK (on_account_session_ended), self,
                           G_CONNECT_SWAPPED);
  ow_application_adopt_window (self->application, GTK_WINDOW (window));
  gtk_window_present (GTK_WINDOW (window));
}

/* Telephone Lines…: the card's calling numbers. A 401 there ends the
 * session as the Account window's does. */
static void
lines_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       data)
{
  OwWindow *self = OW_WINDOW (data);
  OwClient *client = ow_application_get_client (self->application, NULL);
  OwLinesWindow *window;

  if (client == NULL)
    return;
  window = ow_lines_window_new (client, GTK_WINDOW (self));
  g_signal_connect_object (window, "session-ended", G_CALLBACK (on_account_session_ended), self,
                           G_CONNECT_SWAPPED);
  ow_application_adopt_window (self->application, GTK_WINDOW (window));
  gtk_window_present (GTK_WINDOW (window));
}

/* Locked: nothing of the account stays on screen until the master
 * password is given again. (The application has closed every other window
 * of ours already.) */
static void
on_vault_locked (OwWindow *self)
{
  if (!ow_vault_is_locked (ow_application_get_vault (self->application)))
    return;

  /* a toast shown before the lock may name a merchant and a sum */
  ow_toast_overlay_clear (self->toast_overlay);

  ow_main_page_clear (self->main_page);
  ow_account_page_reset (self->account_page);
  ow_unlock_page_reset (self->unlock_page);
  show_page (self, "unlock");
}

static void
refresh_activated (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       data)
{
  refresh (OW_WINDOW (data));
}

static void
on_signed_out (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  /* The session is gone here whatever the gateway said; it expires there. */
  ow_client_sign_out_finish (OW_CLIENT (source), result, NULL);
}

static void
on_sign_out_response (AdwMessageDialog *dialog,
                      const char       *response,
                      OwWindow         *self)
{
  OwClient *client;

  if (!g_str_equal (response, "sign-out"))
    return;

  client = ow_application_get_client (self->application, NULL);
  if (client != NULL && ow_client_has_token (client))
    ow_client_sign_out_async (client, NULL, on_signed_out, NULL);
  ow_application_forget_session (self->application);
  ow_main_page_clear (self->main_page);
  ow_account_page_reset (self->account_page);
  show_page (self, "account");
}

static void
sign_out_activated (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       data)
{
  OwWindow *self = OW_WINDOW (data);
  GtkWidget *dialog = ow_ui_confirm_new (GTK_WINDOW (self), _("Sign Out?"),
                                         _("The card number and funding details kept on "
                                           "this computer are removed. They stay on your "
                                           "account."),
                                         "sign-out", _("_Sign Out"));

  g_signal_connect (dialog, "response", G_CALLBACK (on_sign_out_response), self);
  ow_application_adopt_window (self->application, GTK_WINDOW (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* After "application" is set, which g_object_new does only after
 * constructed(). */
static void
setup (OwWindow *self)
{
  OwVault *vault;
  GSettings *settings;

  self->application = OW_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  vault = ow_application_get_vault (self->application);
  settings = ow_application_get_settings (self->application);

  g_settings_bind (settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_object (vault, "notify::locked", G_CALLBACK (on_vault_locked), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_swapped (self, "notify::is-active", G_CALLBACK (on_active_changed), self);

  if (!ow_vault_is_locked (vault))
    on_unlocked (self);
  else
    show_page (self, ow_vault_exists (vault) ? "unlock" : "setup");
}

static void
ow_window_finalize (GObject *object)
{
  OwWindow *self = OW_WINDOW (object);

  g_ptr_array_unref (self->held_toasts);

  G_OBJECT_CLASS (ow_window_parent_class)->finalize (object);
}

static void
ow_window_class_init (OwWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = ow_window_finalize;

  g_type_ensure (OW_TYPE_SETUP_PAGE);
  g_type_ensure (OW_TYPE_UNLOCK_PAGE);
  g_type_ensure (OW_TYPE_ACCOUNT_PAGE);
  g_type_ensure (OW_TYPE_MAIN_PAGE);
  g_type_ensure (OW_TYPE_TOAST_OVERLAY);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/onepin/Wallet/ui/ow-window.ui");
  gtk_widget_class_bind_template_child (widget_class, OwWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, OwWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, OwWindow, lock_button);
  gtk_widget_class_bind_template_child (widget_class, OwWindow, refresh_button);
  gtk_widget_class_bind_template_child (widget_class, OwWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, OwWindow, setup_page);
  gtk_widget_class_bind_template_child (widget_class, OwWindow, unlock_page);
  gtk_widget_class_bind_template_child (widget_class, OwWindow, account_page);
  gtk_widget_class_bind_template_child (widget_class, OwWindow, main_page);
  gtk_widget_class_bind_template_callback (widget_class, on_unlocked);
  gtk_widget_class_bind_template_callback (widget_class, on_signed_in);
  gtk_widget_class_bind_template_callback (widget_class, on_session_ended);
}

static const GActionEntry win_actions[] = {
  { "refresh", refresh_activated, NULL, NULL, NULL, { 0 } },
  { "sign-out", sign_out_activated, NULL, NULL, NULL, { 0 } },
  { "account", account_activated, NULL, NULL, NULL, { 0 } },
  { "lines", lines_activated, NULL, NULL, NULL, { 0 } },
};

static void
ow_window_init (OwWindow *self)
{
  self->held_toasts = g_ptr_array_new_with_free_func (g_free);
  gtk_widget_init_template (GTK_WIDGET (self));
  ow_ui_name_controls (GTK_WIDGET (self));
  g_action_map_add_action_entries (G_ACTION_MAP (self), win_actions, G_N_ELEMENTS (win_actions), self);
}

OwWindow *
ow_window_new (OwApplication *application)
{
  OwWindow *self = g_object_new (OW_TYPE_WINDOW, "application", application, NULL);

  setup (self);
  return self;
}

const OwCard *
ow_window_get_card (OwWindow *self)
{
  g_return_val_if_fail (OW_IS_WINDOW (self), NULL);
  return ow_main_page_get_card (self->main_page);
}

void
ow_window_toast (OwWindow   *self,
                 const char *message,
                 const char *while_locked)
{
  g_return_if_fail (OW_IS_WINDOW (self));

  if (!ow_vault_is_locked (ow_application_get_vault (self->application)))
    {
      if (message != NULL)
        ow_toast_overlay_add (self->toast_overlay, message);
      return;
    }
  if (while_locked != NULL)
    ow_toast_overlay_add (self->toast_overlay, while_locked);
  if (message != NULL)
    g_ptr_array_add (self->held_toasts, g_strdup (message));
}
