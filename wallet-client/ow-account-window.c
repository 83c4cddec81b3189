/* ow-account-window.c: the account on the gateway, its profile and sign-in password
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The profile comes from the gateway each time the window opens, and after
 * a save the rows show what the gateway answered. Only the fields the user
 * changed are sent (the receipt setting, changed on the main page, is left
 * alone), and only once they pass the gateway's own rules
 * (onepin-contact.h): a refusal here costs no request.
 *
 * A password change proves the user by the current password. The gateway
 * counts a wrong one against the login: five lock it, sign-in included, for
 * a while. A change ends every other session of the account and keeps this
 * one, so the session sealed in the vault stays good; should the gateway
 * end it after all, the next answer is a 401 and the main window asks for a
 * sign-in.
 *
 * While a save or a change runs, its fields take no typing and the window
 * does not close, so that it can tell how it went. A change whose answer
 * never came may have gone through: the current password may be the old
 * one or the new. Only the same request, under the same Idempotency-Key,
 * can tell (the gateway answers it from what it stored, counting no wrong
 * password), so the rows keep it, untouchable, until the gateway says how
 * it ended. Passwords are wiped from their rows after a change and when
 * the window goes, at once, not when its last reference does: a lock takes
 * it away with a call still running.
 */
#include "ow-account-window.h"

#include <glib/gi18n.h>

#include "ow-toast-overlay.h"
#include "ow-ui.h"

struct _OwAccountWindow
{
  AdwWindow       parent_instance;

  OwToastOverlay *toast_overlay;
  AdwStatusPage  *load_error_page;
  GtkWidget      *form;
  GtkButton      *retry_button;
  GtkSpinner     *retry_spinner;
  GtkLabel       *login_label;
  GtkEditable    *profile_name_row;
  GtkEditable    *profile_email_row;
  GtkEditable    *profile_phone_row;
  GtkLabel       *profile_error_label;
  GtkButton      *save_button;
  GtkSpinner     *save_spinner;
  GtkEditable    *current_password_row;
  GtkEditable    *new_sign_in_password_row;
  GtkEditable    *confirm_sign_in_password_row;
  GtkLabel       *password_error_label;
  GtkButton      *change_button;
  GtkSpinner     *password_spinner;

  OwClient       *client;
  GCancellable   *cancellable;    /* of the profile's calls; cancelled when the window goes */
  OwProfile      *profile;        /* as the gateway last showed it; NULL until loaded */
  gboolean        profile_busy;   /* loading or saving */
  gboolean        saving;
  gboolean        changing;       /* the password: runs to its end, the window gone or not */
  char           *change_key;     /* its Idempotency-Key, kept while its outcome is unknown */
  gboolean        unknown;        /* sent, and no answer came */
  gboolean        gone;           /* off the screen for good */
};

G_DEFINE_FINAL_TYPE (OwAccountWindow, ow_account_window, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_SESSION_ENDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* TRUE when nobody is to hear of @error here: the window went (its calls
 * are cancelled), or the session ended, which the main window handles
 * once this one has closed. Call it before touching any widget. */
static gboolean
passed_on (OwAccountWindow *self,
           const GError    *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return TRUE;
  if (!ow_ui_session_ended (error) || self->gone)
    return FALSE;
  g_signal_emit (self, signals[SIGNAL_SESSION_ENDED], 0);
  gtk_window_destroy (GTK_WINDOW (self));
  return TRUE;
}

static void
show_api_error (GtkLabel     *label,
                const GError *error)
{
  g_autofree char *message = ow_ui_error_message (error);

  ow_ui_show_error (label, message);
}

/* Enter in a password row goes on to the next one. */
static void
on_current_password_activated (OwAccountWindow *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->new_sign_in_password_row));
}

static void
on_new_password_activated (OwAccountWindow *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->confirm_sign_in_password_row));
}

/* ---- the profile -------------------------------------------------------- */

/* A row's text to send, or NULL when it is what the gateway has. Spaces
 * around it go: an address or a number cannot hold them, and a name's are
 * a slip. The stored value is trimmed too before they are compared (an
 * older registration may have kept a name's), so that opening the window
 * never finds an edit nobody made. An empty phone row is "" (remove it),
 * not NULL. */
static char *
changed_value (GtkEditable *row,
               const char  *stored)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (row)));
  g_autofree char *was = g_strstrip (g_strdup (stored != NULL ? stored : ""));

  if (g_str_equal (text, was))
    return NULL;
  return g_steal_pointer (&text);
}

static gboolean
row_changed (GtkEditable *row,
             const char  *stored)
{
  g_autofree char *value = changed_value (row, stored);

  return value != NULL;
}

static void
update_save_button (OwAccountWindow *self)
{
  gboolean edited = self->profile != NULL &&
                    (row_changed (self->profile_name_row, self->profile->name) ||
                     row_changed (self->profile_email_row, self->profile->email) ||
                     row_changed (self->profile_phone_row, self->profile->phone));

  gtk_widget_set_sensitive (GTK_WIDGET (self->save_button), edited && !self->profile_busy);
}

static void
set_profile_busy (OwAccountWindow *self,
                  gboolean         busy)
{
  GtkEditable *rows[] = {
    self->profile_name_row, self->profile_email_row, self->profile_phone_row,
  };

  self->profile_busy = busy;
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    gtk_editable_set_editable (rows[i], !busy && self->profile != NULL);
  ow_ui_set_busy (self->save_button, self->save_spinner, busy);
  update_save_button (self);
}

/* Takes @profile and shows it. */
static void
show_profile (OwAccountWindow *self,
              OwProfile       *profile)
{
  g_clear_pointer (&self->profile, ow_profile_free);
  self->profile = profile;
  gtk_label_set_text (self->login_label, profile->login_id);
  gtk_editable_set_text (self->profile_name_row, profile->name);
  gtk_editable_set_text (self->profile_email_row, profile->email);
  gtk_editable_set_text (self->profile_phone_row, profile->phone != NULL ? profile->phone : "");
}

static GtkEditable *
row_of_param (OwAccountWindow *self,
              const char      *param)
{
  if (g_strcmp0 (param, "name") == 0)
    return self->profile_name_row;
  if (g_strcmp0 (param, "email") == 0)
    return self->profile_email_row;
  /* "phone", and "receipt_channel": SMS receipts need a phone */
  return self->profile_phone_row;
}

/* Not loaded: instead of a form to fill, what went wrong and a way to try
 * again. */
static void
show_load_error (OwAccountWindow *self,
                 const GError    *error)
{
  g_autofree char *message = ow_ui_error_message (error);

  adw_status_page_set_description (self->load_error_page, message);
  gtk_widget_set_visible (self->form, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->load_error_page), TRUE);
}

static void
on_profile_loaded (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  g_autoptr(OwAccountWindow) self = data;
  g_autoptr(GError) error = NULL;
  OwProfile *profile = ow_client_get_profile_finish (OW_CLIENT (source), result, &error);

  if (profile == NULL && passed_on (self, error))
    return;
  ow_ui_set_busy (self->retry_button, self->retry_spinner, FALSE);
  if (profile != NULL)
    {
      show_profile (self, profile);
      gtk_widget_set_visible (GTK_WIDGET (self->load_error_page), FALSE);
      gtk_widget_set_visible (self->form, TRUE);
    }
  else
    show_load_error (self, error);
  set_profile_busy (self, FALSE);
}

static void
load_profile (OwAccountWindow *self)
{
  set_profile_busy (self, TRUE);
  ow_client_get_profile_async (self->client, self->cancellable, on_profile_loaded,
                               g_object_ref (self));
}

static void
on_retry (OwAccountWindow *self)
{
  if (self->profile_busy)
    return;
  ow_ui_set_busy (self->retry_button, self->retry_spinner, TRUE);
  load_profile (self);
}

static void
on_profile_saved (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  g_autoptr(OwAccountWindow) self = data;
  g_autoptr(GError) error = NULL;
  OwProfile *profile = ow_client_update_profile_finish (OW_CLIENT (source), result, &error);

  if (profile == NULL && passed_on (self, error))
    return;
  self->saving = FALSE;
  if (profile != NULL)
    show_profile (self, profile);
  set_profile_busy (self, FALSE);
  if (profile == NULL)
    {
      const char *param = ow_api_error_get_param (error);

      show_api_error (self->profile_error_label, error);
      if (param != NULL)
        gtk_widget_grab_focus (GTK_WIDGET (row_of_param (self, param)));
      return;
    }
  ow_toast_overlay_add (self->toast_overlay, _("Profile saved."));
}

/* The gateway's checks, made here: NULL, or the parameter it would refuse. */
static const char *
profile_fault (OwAccountWindow *self,
               const char      *name,
               const char      *email,
               const char      *phone)
{
  const char *fault = ow_ui_profile_fault (name, email, phone);

  if (fault == NULL && g_strcmp0 (phone, "") == 0 &&
      g_strcmp0 (self->profile->receipt_channel, "sms") == 0)
    return "receipt_channel";
  return fault;
}

static void
on_save (OwAccountWindow *self)
{
  g_autofree char *name = NULL;
  g_autofree char *email = NULL;
  g_autofree char *phone = NULL;
  const char *fault;

  if (!gtk_widget_get_sensitive (GTK_WIDGET (self->save_button)))
    return;

  name = changed_value (self->profile_name_row, self->profile->name);
  email = changed_value (self->profile_email_row, self->profile->email);
  phone = changed_value (self->profile_phone_row, self->profile->phone);
  fault = profile_fault (self, name, email, phone);
  if (fault != NULL)
    {
      ow_ui_show_error (self->profile_error_label, ow_ui_param_message (fault));
      gtk_widget_grab_focus (GTK_WIDGET (row_of_param (self, fault)));
      return;
    }

  ow_ui_show_error (self->profile_error_label, NULL);
  self->saving = TRUE;
  set_profile_busy (self, TRUE);
  ow_client_update_profile_async (self->client, name, email, phone, NULL, NULL,
                                  self->cancellable, on_profile_saved, g_object_ref (self));
}

static void
on_profile_edited (OwAccountWindow *self)
{
  update_save_button (self);
}

/* ---- the password ------------------------------------------------------- */

/* While a change runs, and while its outcome is unknown (only the same
 * request can tell it), its rows take no typing. */
static void
update_password_rows (OwAccountWindow *self)
{
  gboolean editable = !self->changing && !self->unknown;

  gtk_editable_set_editable (self->current_password_row, editable);
  gtk_editable_set_editable (self->new_sign_in_password_row, editable);
  gtk_editable_set_editable (self->confirm_sign_in_password_row, editable);
  ow_ui_set_busy (self->change_button, self->password_spinner, self->changing);
  ow_ui_set_button_label (self->change_button,
                        self->unknown ? _("_Try Again") : _("C_hange Password"));
}

static void
set_changing (OwAccountWindow *self,
              gboolean         changing)
{
  self->changing = changing;
  update_password_rows (self);
}

static void
clear_passwords (OwAccountWindow *self)
{
  ow_ui_clear_editable (self->current_password_row);
  ow_ui_clear_editable (self->new_sign_in_password_row);
  ow_ui_clear_editable (self->confirm_sign_in_password_row);
}

static void
refuse_password (OwAccountWindow *self,
                 GtkEditable     *row,
                 const char      *message)
{
  ow_ui_show_error (self->password_error_label, message);
  gtk_widget_grab_focus (GTK_WIDGET (row));
}

static void
password_refused (OwAccountWindow *self,
                  const GError    *error)
{
  const char *code = ow_api_error_get_code (error);

  /* the gateway's lock is on the login: signing in anywhere waits too */
  if (g_strcmp0 (code, "login_locked") == 0)
    ow_ui_show_error (self->password_error_label,
                      _("Too many wrong passwords. Your account is locked for a while, signing "
                        "in included; try again later."));
  else
    show_api_error (self->password_error_label, error);
  if (g_strcmp0 (code, "password_incorrect") == 0)
    {
      ow_ui_clear_editable (self->current_password_row);
      gtk_widget_grab_focus (GTK_WIDGET (self->current_password_row));
    }
}

/* Whether the change may have gone through all the same. */
static gboolean
outcome_unknown (OwAccountWindow *self,
                 const GError    *error)
{
  return ow_ui_change_outcome_unknown (error, self->unknown);
}

static const char *
changed_message (void)
{
  return _("Password changed. Other devices signed in to your account are signed out; this "
           "wallet stays signed in.");
}

/* The window went (a lock took it) while the change ran: the main window
 * says how it ended, once it shows anything again. */
static void
report_elsewhere (OwAccountWindow *self,
                  const GError    *error)
{
  g_autofree char *message = NULL;

  if (error == NULL)
    message = g_strdup (changed_message ());
  else if (outcome_unknown (self, error))
    message = g_strdup (_("It is not known whether your sign-in password was changed: the "
                          "gateway did not answer. Try the new password first when you next "
                          "sign in."));
  else
    {
      g_autofree char *why = ow_ui_error_message (error);

      /* TRANSLATORS: %s says why, a sentence of its own */
      message = g_strdup_printf (_("Your sign-in password was not changed. %s"), why);
    }
  ow_ui_toast (GTK_WIDGET (self), message);
}

static void
on_password_changed (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  g_autoptr(OwAccountWindow) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwProfile) profile = ow_client_change_password_finish (OW_CLIENT (source), result,
                                                                   &error);

  if (profile == NULL && passed_on (self, error))
    return;
  if (self->gone)
    {
      report_elsewhere (self, error);
      return;
    }
  self->unknown = profile == NULL && outcome_unknown (self, error);
  set_changing (self, FALSE);
  if (self->unknown)
    {
      ow_ui_show_error (self->password_error_label,
                        _("The gateway did not answer, so it is not known whether your password "
                          "was changed. Choose Try Again to find out: the same request goes "
                          "again, and cannot count as a wrong password. If you close this window "
                          "instead, try the new password first when you next sign in."));
      gtk_widget_grab_focus (GTK_WIDGET (self->change_button));
      return;
    }
  g_clear_pointer (&self->change_key, g_free);
  if (profile == NULL)
    {
      password_refused (self, error);
      return;
    }
  clear_passwords (self);
  ow_ui_show_error (self->password_error_label, NULL);
  ow_toast_overlay_add (self->toast_overlay, changed_message ());
}

static void
on_change_password (OwAccountWindow *self)
{
  const char *current = gtk_editable_get_text (self->current_password_row);
  const char *chosen = gtk_editable_get_text (self->new_sign_in_password_row);

  if (self->changing)
    return;
  if (current[0] == '\0')
    {
      refuse_password (self, self->current_password_row, _("Enter your current password."));
      return;
    }
  if (!ow_ui_check_new_password (self->new_sign_in_password_row,
                                 self->confirm_sign_in_password_row,
                                 OW_SIGN_IN_PASSWORD_MIN, OW_SIGN_IN_PASSWORD_MAX,
                                 ow_ui_param_message ("new_password"),
                                 self->password_error_label))
    return;
  if (g_str_equal (current, chosen))
    {
      refuse_password (self, self->new_sign_in_password_row,
                       _("The new password is the same as the current one."));
      return;
    }

  /* a new change, or the one whose outcome is unknown, as it was sent */
  if (self->change_key == NULL)
    self->change_key = ow_client_new_idempotency_key ();
  set_changing (self, TRUE);
  /* not cancelled when the window goes: its outcome is the user's to know */
  ow_client_change_password_async (self->client, current, chosen, self->change_key, NULL,
                                   on_password_changed, g_object_ref (self));
}

/* ---- the window --------------------------------------------------------- */

static gboolean
on_close_request (OwAccountWindow *self)
{
  return self->saving || self->changing;
}

/* gtk_window_destroy () takes the window off the screen for good, and a
 * call still running keeps a reference until its answer: the profile's
 * calls end here, not with the last reference. (The application wipes
 * the rows then, as in every window of ours.) */
static void
ow_account_window_unrealize (GtkWidget *widget)
{
  OwAccountWindow *self = OW_ACCOUNT_WINDOW (widget);

  self->gone = TRUE;
  g_cancellable_cancel (self->cancellable);

  GTK_WIDGET_CLASS (ow_account_window_parent_class)->unrealize (widget);
}

static void
ow_account_window_dispose (GObject *object)
{
  OwAccountWindow *self = OW_ACCOUNT_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), OW_TYPE_ACCOUNT_WINDOW);

  G_OBJECT_CLASS (ow_account_window_parent_class)->dispose (object);
}

static void
ow_account_window_finalize (GObject *object)
{
  OwAccountWindow *self = OW_ACCOUNT_WINDOW (object);

  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->profile, ow_profile_free);
  g_free (self->change_key);

  G_OBJECT_CLASS (ow_account_window_parent_class)->finalize (object);
}

static void
ow_account_window_class_init (OwAccountWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ow_account_window_dispose;
  object_class->finalize = ow_account_window_finalize;
  widget_class->unrealize = ow_account_window_unrealize;

  signals[SIGNAL_SESSION_ENDED] = g_signal_new ("session-ended", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 0);

  g_type_ensure (OW_TYPE_TOAST_OVERLAY);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/onepin/Wallet/ui/ow-account-window.ui");
  gtk_widget_class_bind_template_child_full (widget_class, "account_toast_overlay", FALSE,
                                             G_STRUCT_OFFSET (OwAccountWindow, toast_overlay));
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, load_error_page);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, form);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, retry_button);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, retry_spinner);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, login_label);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, profile_name_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, profile_email_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, profile_phone_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, profile_error_label);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, save_button);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, save_spinner);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, current_password_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow,
                                        new_sign_in_password_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow,
                                        confirm_sign_in_password_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, password_error_label);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, change_button);
  gtk_widget_class_bind_template_child (widget_class, OwAccountWindow, password_spinner);
  gtk_widget_class_bind_template_callback (widget_class, on_retry);
  gtk_widget_class_bind_template_callback (widget_class, on_save);
  gtk_widget_class_bind_template_callback (widget_class, on_profile_edited);
  gtk_widget_class_bind_template_callback (widget_class, on_change_password);
  gtk_widget_class_bind_template_callback (widget_class, on_current_password_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_new_password_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_close_request);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ow_account_window_init (OwAccountWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  ow_ui_name_controls (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

OwAccountWindow *
ow_account_window_new (OwClient  *client,
                       GtkWindow *parent)
{
  OwAccountWindow *self = g_object_new (OW_TYPE_ACCOUNT_WINDOW, "transient-for", parent, NULL);

  self->client = g_object_ref (client);
  load_profile (self);
  return self;
}
