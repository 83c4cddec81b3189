/* ow-preferences-window.c: the gateway, its CA, the idle lock, paired browsers, the master password
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-preferences-window.h"

#include <glib/gi18n.h>

#include "ow-browser.h"
#include "ow-ui.h"

static const guint idle_choices[] = { 60, 120, 300, 600, 1800, 3600, 0 };

struct _OwPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  GtkEditable          *gateway_row;
  GtkEditable          *ca_row;
  GtkLabel             *gateway_message_label;
  AdwComboRow          *idle_row;
  GtkEditable          *old_password_row;
  GtkEditable          *new_password_row;
  GtkEditable          *confirm_password_row;
  GtkButton            *change_password_button;
  GtkSpinner           *change_spinner;
  AdwPreferencesGroup  *browsers_group;
  GtkWidget            *no_browsers_row;
  GPtrArray            *browser_rows;

  OwApplication        *application;
  GArray               *idle_values;   /* guint seconds, one per combo entry */
  GtkNativeDialog      *chooser;
  gboolean              changing;      /* a master password change is running */

  AdwToast             *toast;         /* the one shown, the window's (weak) */
  gboolean              toast_leaving;
  char                 *next_toast;    /* to show once it has gone */
};

G_DEFINE_FINAL_TYPE (OwPreferencesWindow, ow_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/* One toast at a time, never queued. libadwaita 1.2.2 frees a toast closed
 * (Escape, its button) while it slides in over one leaving, and then ends
 * the slide on the freed memory (ow-toast-overlay.c). So a new message
 * retitles the toast shown, or waits until the one leaving has gone. */
static void toast (OwPreferencesWindow *self,
                   const char          *message);

static void
on_toast_dismissed (OwPreferencesWindow *self)
{
  self->toast_leaving = TRUE;
}

static void
on_toast_gone (gpointer  data,
               GObject  *toast_object)
{
  OwPreferencesWindow *self = data;
  g_autofree char *next = g_steal_pointer (&self->next_toast);

  self->toast = NULL;
  self->toast_leaving = FALSE;
  if (next != NULL)
    toast (self, next);
}

static void
toast (OwPreferencesWindow *self,
       const char          *message)
{
  /* The title is markup: a server's message may hold '&' or '<'. */
  g_autofree char *title = g_markup_escape_text (message, -1);

  if (self->toast != NULL && self->toast_leaving)
    {
      g_free (self->next_toast);
      self->next_toast = g_strdup (message);
      return;
    }
  if (self->toast != NULL)
    {
      adw_toast_set_title (self->toast, title);
      /* the toast shown again: its timeout starts over */
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), g_object_ref (self->toast));
      return;
    }
  self->toast = adw_toast_new (title);
  g_signal_connect_object (self->toast, "dismissed", G_CALLBACK (on_toast_dismissed), self,
                           G_CONNECT_SWAPPED);
  g_object_weak_ref (G_OBJECT (self->toast), on_toast_gone, self);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), self->toast);
}

static void
toast_error (OwPreferencesWindow *self,
             const GError        *error)
{
  g_autofree char *message = ow_ui_error_message (error);

  toast (self, message);
}

/* Under the gateway's rows, where it wraps; in red if it is an error. */
static void
gateway_message (OwPreferencesWindow *self,
                 const char          *message,
                 gboolean             is_error)
{
  if (is_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->gateway_message_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->gateway_message_label), "error");
  ow_ui_show_error (self->gateway_message_label, message);
}

static GSettings *
settings (OwPreferencesWindow *self)
{
  return ow_application_get_settings (self->application);
}

static void
on_gateway_apply (OwPreferencesWindow *self)
{
  g_autofree char *url = g_strstrip (g_strdup (gtk_editable_get_text (self->gateway_row)));
  g_autoptr(GError) error = NULL;

  if (!ow_client_check_url (url, &error))
    {
      g_autofree char *message = ow_ui_error_message (error);

      gateway_message (self, message, TRUE);
      return;
    }
  g_settings_set_string (settings (self), "gateway-url", url);
  gateway_message (self, _("Gateway address saved."), FALSE);
}

static void
apply_ca (OwPreferencesWindow *self,
          const char          *path)
{
  g_autoptr(GError) error = NULL;

  if (path[0] != '\0')
    {
      g_autoptr(GTlsDatabase) database = NULL;

      /* A relative path would mean another file in another directory. */
      if (!g_path_is_absolute (path))
        {
          gateway_message (self, _("Give the certificate authority file’s full path, "
                                   "starting with “/”, or choose the file."), TRUE);
          return;
        }
      database = g_tls_file_database_new (path, &error);
      if (database == NULL)
        {
          g_autofree char *message = g_strdup_printf (_("Cannot use that file: %s"), error->message);

          gateway_message (self, message, TRUE);
          return;
        }
    }
  g_settings_set_string (settings (self), "ca-file", path);
  gateway_message (self, path[0] != '\0'
                         ? _("The gateway must now have a certificate from this authority.")
                         : _("The system’s certificate authorities are used."), FALSE);
}

static void
on_ca_apply (OwPreferencesWindow *self)
{
  g_autofree char *path = g_strstrip (g_strdup (gtk_editable_get_text (self->ca_row)));

  apply_ca (self, path);
}

static void
on_chooser_response (GtkNativeDialog     *chooser,
                     int                  response,
                     OwPreferencesWindow *self)
{
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  path = file != NULL ? g_file_get_path (file) : NULL;
  if (path != NULL)
    {
      gtk_editable_set_text (self->ca_row, path);
      apply_ca (self, path);
    }
  g_clear_object (&self->chooser);
}

static void
on_choose_ca (OwPreferencesWindow *self)
{
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  chooser = gtk_file_chooser_native_new (_("Certificate Authority File"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Choose"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("PEM certificates"));
  gtk_file_filter_add_pattern (filter, "*.pem");
  gtk_file_filter_add_pattern (filter, "*.crt");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_chooser_response), self);
  g_clear_object (&self->chooser);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

static char *
idle_label (guint seconds)
{
  if (seconds == 0)
    return g_strdup (_("Never"));
  if (seconds % 3600 == 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u hour", "%u hours", seconds / 3600),
                            seconds / 3600);
  if (seconds % 60 == 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u minute", "%u minutes", seconds / 60),
                            seconds / 60);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u second", "%u seconds", seconds), seconds);
}

static void
fill_idle_row (OwPreferencesWindow *self)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
  guint current = g_settings_get_uint (settings (self), "idle-lock-seconds");
  guint selected = G_MAXUINT;

  g_array_set_size (self->idle_values, 0);
  g_array_append_vals (self->idle_values, idle_choices, G_N_ELEMENTS (idle_choices));
  for (guint i = 0; i < self->idle_values->len && selected == G_MAXUINT; i++)
    if (g_array_index (self->idle_values, guint, i) == current)
      selected = i;
  /* a value set elsewhere (gsettings, tests) stays choosable */
  if (selected == G_MAXUINT)
    {
      selected = self->idle_values->len;
      g_array_append_val (self->idle_values, current);
    }

  for (guint i = 0; i < self->idle_values->len; i++)
    {
      g_autofree char *label = idle_label (g_array_index (self->idle_values, guint, i));

      gtk_string_list_append (labels, label);
    }
  adw_combo_row_set_model (self->idle_row, G_LIST_MODEL (labels));
  adw_combo_row_set_selected (self->idle_row, selected);
}

static void
on_idle_selected (OwPreferencesWindow *self)
{
  guint selected = adw_combo_row_get_selected (self->idle_row);

  if (self->application == NULL || selected >= self->idle_values->len)
    return;
  g_settings_set_uint (settings (self), "idle-lock-seconds",
                       g_array_index (self->idle_values, guint, selected));
}

/* While the change runs, its fields take no typing and its button no
 * click, so it cannot be sent twice, and the window stays open to tell how
 * it went. The fields stay sensitive: one of them may have the focus (Enter
 * in the last one starts the change), and it keeps it. */
static void
set_changing (OwPreferencesWindow *self,
              gboolean             changing)
{
  self->changing = changing;
  gtk_editable_set_editable (self->old_password_row, !changing);
  gtk_editable_set_editable (self->new_password_row, !changing);
  gtk_editable_set_editable (self->confirm_password_row, !changing);
  ow_ui_set_busy (self->change_password_button, self->change_spinner, changing);
}

static void
on_password_changed (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(OwPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  set_changing (self, FALSE);
  if (!ow_vault_change_password_finish (OW_VAULT (source), result, &error))
    {
      toast_error (self, error);
      return;
    }

  ow_ui_clear_editable (self->old_password_row);
  ow_ui_clear_editable (self->new_password_row);
  ow_ui_clear_editable (self->confirm_password_row);
  toast (self, _("Master password changed."));
}

/* ---- paired browsers ---------------------------------------------------- */

static void fill_browsers (OwPreferencesWindow *self);

static void
on_remove_browser_response (AdwMessageDialog    *dialog,
                            const char          *response,
                            OwPreferencesWindow *self)
{
  const char *id = g_object_get_data (G_OBJECT (dialog), "browser-id");
  g_autoptr(GError) error = NULL;

  if (!g_str_equal (response, "remove"))
    return;
  /* the list follows the vault's "removed" */
  if (!ow_browser_remove (ow_application_get_vault (self->application), id, &error))
    {
      toast_error (self, error);
      return;
    }
  toast (self, _("The browser is no longer paired."));
}

/* Asked first, as for a funding source: pairing again takes the browser,
 * its code and the wallet together. */
static void
on_remove_browser (GtkButton           *button,
                   OwPreferencesWindow *self)
{
  g_autofree char *body = g_strdup_printf (_("%s can no longer fill in your card. To use it "
                                             "again, pair it again."),
                                           (const char *) g_object_get_data (G_OBJECT (button),
                                                                             "browser-name"));
  GtkWidget *dialog = ow_ui_confirm_new (GTK_WINDOW (self), _("Unpair Browser?"), body,
                                         "remove", _("_Unpair"));

  g_object_set_data_full (G_OBJECT (dialog), "browser-id",
                          g_strdup (g_object_get_data (G_OBJECT (button), "browser-id")), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_remove_browser_response), self, 0);
  ow_application_adopt_window (self->application, GTK_WINDOW (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* A browser paired, renamed or unpaired while the window is open. */
static void
on_vault_changed (OwPreferencesWindow *self,
                  const char          *kind)
{
  if (kind == NULL || g_str_equal (kind, OW_VAULT_KIND_BROWSER))
    fill_browsers (self);
}

static GtkWidget *
browser_row (OwPreferencesWindow *self,
             const OwBrowser     *browser)
{
  GtkWidget *row = ow_plain_action_row_new ();
  GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
  g_autofree char *when = ow_ui_format_time (browser->created);
  g_autofree char *label = NULL;
  g_autofree char *subtitle = NULL;
  const char *kind = g_str_equal (browser->kind, "chromium") ? "Chromium"
                     : g_str_equal (browser->kind, "firefox") ? "Firefox" : _("Browser");

  /* TRANSLATORS: "Chromium · paired 2026-11-21 14:03 · 2 sites filled without asking" */
  subtitle = g_strdup_printf (ngettext ("%s · paired %s · %u site filled without asking",
                                        "%s · paired %s · %u sites filled without asking",
                                        browser->sites->len),
                              kind, when, browser->sites->len);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), browser->name);
  /* a name the user typed, shown as it is */
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);

  /* TRANSLATORS: a button's name for screen readers; %s is the browser's name */
  label = g_strdup_printf (_("Remove %s"), browser->name);
  gtk_widget_set_tooltip_text (remove, label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (remove, "flat");
  g_object_set_data_full (G_OBJECT (remove), "browser-id", g_strdup (browser->id), g_free);
  g_object_set_data_full (G_OBJECT (remove), "browser-name", g_strdup (browser->name), g_free);
  g_signal_connect_object (remove, "clicked", G_CALLBACK (on_remove_browser), self, 0);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
  return row;
}

static void
fill_browsers (OwPreferencesWindow *self)
{
  OwVault *vault = ow_application_get_vault (self->application);
  g_autoptr(GPtrArray) browsers = NULL;

  for (guint i = 0; i < self->browser_rows->len; i++)
    adw_preferences_group_remove (self->browsers_group, g_ptr_array_index (self->browser_rows, i));
  g_ptr_array_set_size (self->browser_rows, 0);

  if (!ow_vault_is_locked (vault))
    browsers = ow_browser_list (vault, NULL);
  for (guint i = 0; browsers != NULL && i < browsers->len; i++)
    {
      GtkWidget *row = browser_row (self, g_ptr_array_index (browsers, i));

      adw_preferences_group_add (self->browsers_group, row);
      g_ptr_array_add (self->browser_rows, row);
    }
  gtk_widget_set_visible (self->no_browsers_row, self->browser_rows->len == 0);
}

static void
on_change_password (OwPreferencesWindow *self)
{
  OwVault *vault = ow_application_get_vault (self->application);
  const char *new_password = gtk_editable_get_text (self->new_password_row);

  if (self->changing)
    return;
  if (g_strcmp0 (new_password, gtk_editable_get_text (self->confirm_password_row)) != 0)
    {
      toast (self, _("The two new passwords differ."));
      return;
    }

  /* The key database re-wraps its key under the new password: a second or
   * so of PBKDF2, in a worker thread. */
  set_changing (self, TRUE);
  ow_vault_change_password_async (vault, gtk_editable_get_text (self->old_password_row),
                                  new_password, NULL, on_password_changed,
                                  g_object_ref (self));
}

static gboolean
on_close_request (OwPreferencesWindow *self)
{
  return self->changing;
}

static void
ow_preferences_window_dispose (GObject *object)
{
  OwPreferencesWindow *self = OW_PREFERENCES_WINDOW (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  /* the toast goes with the window: nothing more to show */
  if (self->toast != NULL)
    g_object_weak_unref (G_OBJECT (self->toast), on_toast_gone, self);
  self->toast = NULL;
  g_clear_pointer (&self->next_toast, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), OW_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (ow_preferences_window_parent_class)->dispose (object);
}

static void
ow_preferences_window_finalize (GObject *object)
{
  OwPreferencesWindow *self = OW_PREFERENCES_WINDOW (object);

  g_array_unref (self->idle_values);
  g_ptr_array_unref (self->browser_rows);
  g_clear_object (&self->application);

  G_OBJECT_CLASS (ow_preferences_window_parent_class)->finalize (object);
}

static void
ow_preferences_window_class_init (OwPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ow_preferences_window_dispose;
  object_class->finalize = ow_preferences_window_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/onepin/Wallet/ui/ow-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, OwPreferencesWindow, gateway_row);
  gtk_widget_class_bind_template_child (widget_class, OwPreferencesWindow, ca_row);
  gtk_widget_class_bind_template_child (widget_class, OwPreferencesWindow, gateway_message_label);
  gtk_widget_class_bind_template_child (widget_class, OwPreferencesWindow, idle_row);
  gtk_widget_class_bind_template_child (widget_class, OwPreferencesWindow, old_password_row);
  gtk_widget_class_bind_template_child (widget_class, OwPreferencesWindow, new_password_row);
  gtk_widget_class_bind_template_child (widget_class, OwPreferencesWindow, confirm_password_row);
  gtk_widget_class_bind_template_child (widget_class, OwPreferencesWindow, change_password_button);
  gtk_widget_class_bind_template_child (widget_class, OwPreferencesWindow, change_spinner);
  gtk_widget_class_bind_template_child (widget_class, OwPreferencesWindow, browsers_group);
  gtk_widget_class_bind_template_child (widget_class, OwPreferencesWindow, no_browsers_row);
  gtk_widget_class_bind_template_callback (widget_class, on_gateway_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_ca_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_ca);
  gtk_widget_class_bind_template_callback (widget_class, on_idle_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_change_password);
  gtk_widget_class_bind_template_callback (widget_class, on_close_request);
}

static void
ow_preferences_window_init (OwPreferencesWindow *self)
{
  self->idle_values = g_array_new (FALSE, FALSE, sizeof (guint));
  self->browser_rows = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  ow_ui_name_controls (GTK_WIDGET (self));
}

OwPreferencesWindow *
ow_preferences_window_new (OwApplication *application)
{
  OwPreferencesWindow *self = g_object_new (OW_TYPE_PREFERENCES_WINDOW, NULL);
  g_autofree char *url = NULL;
  g_autofree char *ca = NULL;

  self->application = g_object_ref (application);
  url = g_settings_get_string (settings (self), "gateway-url");
  ca = g_settings_get_string (settings (self), "ca-file");
  gtk_editable_set_text (self->gateway_row, url);
  gtk_editable_set_text (self->ca_row, ca);
  fill_idle_row (self);
  fill_browsers (self);
  g_signal_connect_object (ow_application_get_vault (application), "stored",
                           G_CALLBACK (on_vault_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (ow_application_get_vault (application), "removed",
                           G_CALLBACK (on_vault_changed), self, G_CONNECT_SWAPPED);
  return self;
}
