/* ow-lines-window.c: the telephone lines that pay with the representative card
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A telephone company's switch charges the card for calls from a line
 * registered to it, with no card password: so adding one asks for the
 * password the user signs in with (a wrong one counts towards the login's
 * lock, as in the Account window), and the gateway shows a line by its
 * last four digits only. The number is checked here by the gateway's own
 * rule (onepin-contact.h) after the spaces and dashes people write in it
 * are left out: a refusal here costs no request. A line is removed by its
 * id, never its number.
 *
 * The list comes from the gateway each time the window opens and after
 * every change, so it shows what the gateway has: a new card password or
 * sign-in password removes every line there. A load that fails leaves Try
 * Again under the error, unless it failed for want of a card. Loads can overlap (a change made while the list
 * is on its way, Try Again meanwhile), and the answer to an older one can
 * come last: each load has its own cancellable, and a new load cancels the
 * one before, so only the answer to the last is shown. While a line is
 * being added or removed the window does not close, so that it can tell
 * how it went; the password row is wiped after an addition and when the
 * window goes. A lock takes it away all the same: its calls are cancelled
 * then, and an answer already on its way is not heard (the client has no
 * token by then, and reloading the list would end a session the vault
 * still keeps).
 */
#include "ow-lines-window.h"

#include <glib/gi18n.h>

#include "ow-toast-overlay.h"
#include "ow-ui.h"

struct _OwLinesWindow
{
  AdwWindow       parent_instance;

  OwToastOverlay *toast_overlay;
  GtkListBox     *lines_list;
  GtkSpinner     *lines_spinner;
  GtkLabel       *lines_error_label;
  GtkButton      *lines_retry_button;
  GtkWidget      *add_line_group;
  GtkEditable    *line_number_row;
  GtkEditable    *line_password_row;
  GtkLabel       *line_error_label;
  GtkButton      *add_line_button;
  GtkSpinner     *add_spinner;

  OwClient       *client;
  GCancellable   *cancellable;    /* of every call; cancelled when the window goes */
  GCancellable   *load_cancellable;  /* of the list's load under way, the last asked for */
  gboolean        adding;
  guint           removing;       /* removals under way */
  gboolean        gone;           /* off the screen for good */
};

G_DEFINE_FINAL_TYPE (OwLinesWindow, ow_lines_window, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_SESSION_ENDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* TRUE when nobody is to hear of the answer (@error, or NULL) here: the
 * window went (its calls are cancelled), or the session ended, which the
 * main window handles once this one has closed. Call it before touching
 * any widget. */
static gboolean
passed_on (OwLinesWindow *self,
           const GError  *error)
{
  if (self->gone || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return TRUE;
  if (!ow_ui_session_ended (error))
    return FALSE;
  g_signal_emit (self, signals[SIGNAL_SESSION_ENDED], 0);
  gtk_window_destroy (GTK_WINDOW (self));
  return TRUE;
}

/* ---- the list ------------------------------------------------------------ */

static void load_lines (OwLinesWindow *self);
static void confirm_removal (GtkButton *button, OwLinesWindow *self);

static GtkWidget *
line_row (OwLinesWindow         *self,
          const OwCallingNumber *line)
{
  GtkWidget *row = ow_plain_action_row_new ();
  GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
  g_autofree char *title = g_strdup_printf ("•••• %s", line->last4);
  g_autofree char *when = ow_ui_format_time (line->created);
  /* TRANSLATORS: when the line was registered */
  g_autofree char *subtitle = g_strdup_printf (_("Added %s"), when);
  /* TRANSLATORS: the last four digits of a telephone number */
  g_autofree char *remove_label = g_strdup_printf (_("Remove the line ending in %s"),
                                                   line->last4);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (remove, "flat");
  gtk_widget_set_tooltip_text (remove, remove_label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  remove_label, -1);
  g_object_set_data_full (G_OBJECT (remove), "line-id", g_strdup (line->id), g_free);
  g_object_set_data_full (G_OBJECT (remove), "line-last4", g_strdup (line->last4), g_free);
  g_signal_connect_object (remove, "clicked", G_CALLBACK (confirm_removal), self, 0);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
  gtk_widget_set_name (row, line->id);
  return row;
}

static void
set_loading (OwLinesWindow *self,
             gboolean       loading)
{
  gtk_spinner_set_spinning (self->lines_spinner, loading);
  gtk_widget_set_visible (GTK_WIDGET (self->lines_spinner), loading);
}

/* Try Again shows only while the last load failed. It stays sensitive
 * while it loads (an insensitive button loses the keyboard focus, and a
 * second press only starts the load over); hidden with the focus on it, it
 * hands the focus on to the list rather than leave the window with none. */
static void
show_retry (OwLinesWindow *self,
            gboolean       shown)
{
  GtkWidget *retry = GTK_WIDGET (self->lines_retry_button);

  if (!shown && gtk_window_get_focus (GTK_WINDOW (self)) == retry &&
      !gtk_widget_child_focus (GTK_WIDGET (self->lines_list), GTK_DIR_TAB_FORWARD))
    gtk_widget_grab_focus (GTK_WIDGET (self->line_number_row));
  gtk_widget_set_visible (retry, shown);
}

static void
show_lines (OwLinesWindow *self,
            GPtrArray     *lines)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->lines_list))) != NULL)
    gtk_list_box_remove (self->lines_list, child);
  if (lines->len == 0)
    {
      GtkWidget *row = ow_plain_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("No lines yet"));
      gtk_widget_add_css_class (row, "dim-label");
      gtk_list_box_append (self->lines_list, row);
      return;
    }
  for (guint i = 0; i < lines->len; i++)
    gtk_list_box_append (self->lines_list, line_row (self, g_ptr_array_index (lines, i)));
}

static void
on_lines_loaded (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_autoptr(OwLinesWindow) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) lines = ow_client_list_calling_numbers_finish (OW_CLIENT (source), result,
                                                                      &error);

  if (passed_on (self, error))
    return;
  set_loading (self, FALSE);
  if (lines == NULL)
    {
      g_autofree char *message = ow_ui_error_message (error);
      /* no card: nothing to add a line to, and a second load would only
       * say so again (the card is applied for in the main window) */
      gboolean no_card = g_strcmp0 (ow_api_error_get_code (error), "card_not_issued") == 0;

      ow_ui_show_error (self->lines_error_label, message);
      show_retry (self, !no_card);
      gtk_widget_set_sensitive (self->add_line_group, !no_card);
      return;
    }
  ow_ui_show_error (self->lines_error_label, NULL);
  gtk_widget_set_sensitive (self->add_line_group, TRUE);
  show_lines (self, lines);
  show_retry (self, FALSE);
}

/* A cancelled load's answer is CANCELLED, whenever it comes (GTask checks
 * the cancellable as the answer is taken): passed_on drops it. */
static void
load_lines (OwLinesWindow *self)
{
  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();
  set_loading (self, TRUE);
  ow_client_list_calling_numbers_async (self->client, self->load_cancellable, on_lines_loaded,
                                        g_object_ref (self));
}

static void
on_retry (OwLinesWindow *self)
{
  load_lines (self);
}

/* ---- removing ------------------------------------------------------------ */

static void
on_removed (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(OwLinesWindow) self = data;
  g_autoptr(GError) error = NULL;
  gboolean removed = ow_client_remove_calling_number_finish (OW_CLIENT (source), result, &error);

  self->removing--;
  if (passed_on (self, error))
    return;
  if (removed)
    ow_toast_overlay_add (self->toast_overlay,
                          _("Line removed. Calls from it are no longer paid with your card."));
  else
    {
      g_autofree char *message = ow_ui_error_message (error);

      ow_toast_overlay_add (self->toast_overlay, message);
    }
  load_lines (self);
}

static void
on_removal_response (AdwMessageDialog *dialog,
                     const char       *response,
                     OwLinesWindow    *self)
{
  if (!g_str_equal (response, "remove"))
    return;
  self->removing++;
  ow_client_remove_calling_number_async (self->client,
                                         g_object_get_data (G_OBJECT (dialog), "line-id"),
                                         self->cancellable, on_removed, g_object_ref (self));
}

static void
confirm_removal (GtkButton     *button,
                 OwLinesWindow *self)
{
  const char *last4 = g_object_get_data (G_OBJECT (button), "line-last4");
  g_autofree char *body = g_strdup_printf (_("Calls from the number ending in %s will no longer "
                                             "be paid with your card. Adding it again takes your "
                                             "sign-in password."), last4);
  GtkWidget *dialog = ow_ui_confirm_new (GTK_WINDOW (self), _("Remove Line?"), body,
                                         "remove", _("_Remove"));

  g_object_set_data_full (G_OBJECT (dialog), "line-id",
                          g_strdup (g_object_get_data (G_OBJECT (button), "line-id")), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_removal_response), self, 0);
  ow_application_adopt_window (ow_ui_get_application (GTK_WIDGET (self)), GTK_WINDOW (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- adding -------------------------------------------------------------- */

static void
set_adding (OwLinesWindow *self,
            gboolean       adding)
{
  self->adding = adding;
  gtk_editable_set_editable (self->line_number_row, !adding);
  gtk_editable_set_editable (self->line_password_row, !adding);
  ow_ui_set_busy (self->add_line_button, self->add_spinner, adding);
}

static void
refuse (OwLinesWindow *self,
        GtkEditable   *row,
        const char    *message)
{
  ow_ui_show_error (self->line_error_label, message);
  gtk_widget_grab_focus (GTK_WIDGET (row));
}

static void
add_refused (OwLinesWindow *self,
             const GError  *error)
{
  const char *code = ow_api_error_get_code (error);
  const char *param = ow_api_error_get_param (error);
  g_autofree char *message = NULL;

  if (g_strcmp0 (param, "current_password") == 0)
    {
      /* "the current password" would read as the card's here */
      ow_ui_clear_editable (self->line_password_row);
      return refuse (self, self->line_password_row,
                     _("The password you sign in with is wrong."));
    }
  /* the gateway's lock is on the login: signing in anywhere waits too */
  if (g_strcmp0 (code, "login_locked") == 0)
    return refuse (self, self->line_password_row,
                   _("Too many wrong passwords. Your account is locked for a while, signing "
                     "in included; try again later."));
  message = ow_ui_error_message (error);
  refuse (self, self->line_number_row, message);
}

static void
on_added (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(OwLinesWindow) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwCallingNumber) line = ow_client_add_calling_number_finish (OW_CLIENT (source),
                                                                         result, &error);
  g_autofree char *message = NULL;

  if (passed_on (self, error))
    return;
  set_adding (self, FALSE);
  if (line == NULL)
    return add_refused (self, error);
  ow_ui_clear_editable (self->line_password_row);
  gtk_editable_set_text (self->line_number_row, "");
  ow_ui_show_error (self->line_error_label, NULL);
  /* TRANSLATORS: the last four digits of the telephone number added */
  message = g_strdup_printf (_("Line added: calls from the number ending in %s are paid with "
                               "your card."), line->last4);
  ow_toast_overlay_add (self->toast_overlay, message);
  load_lines (self);
}

static void
on_add (OwLinesWindow *self)
{
  g_autofree char *number = NULL;
  const char *password = gtk_editable_get_text (self->line_password_row);

  if (self->adding || !gtk_widget_get_sensitive (GTK_WIDGET (self->add_line_button)))
    return;
  number = ow_ui_calling_number (gtk_editable_get_text (self->line_number_row));
  if (number == NULL)
    return refuse (self, self->line_number_row, ow_ui_param_message ("calling_number"));
  if (password[0] == '\0')
    return refuse (self, self->line_password_row, _("Enter the password you sign in with."));

  ow_ui_show_error (self->line_error_label, NULL);
  set_adding (self, TRUE);
  ow_client_add_calling_number_async (self->client, number, password, self->cancellable,
                                      on_added, g_object_ref (self));
}

/* Enter in the number goes on to the password. */
static void
on_number_activated (OwLinesWindow *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->line_password_row));
}

/* ---- the window ---------------------------------------------------------- */

static gboolean
on_close_request (OwLinesWindow *self)
{
  return self->adding || self->removing > 0;
}

/* gtk_window_destroy () (a lock, a quit) takes the window off the screen
 * for good, while a call still running keeps a reference until its answer:
 * the calls end here, not with the last reference. */
static void
ow_lines_window_unrealize (GtkWidget *widget)
{
  OwLinesWindow *self = OW_LINES_WINDOW (widget);

  self->gone = TRUE;
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->load_cancellable);

  GTK_WIDGET_CLASS (ow_lines_window_parent_class)->unrealize (widget);
}

static void
ow_lines_window_dispose (GObject *object)
{
  OwLinesWindow *self = OW_LINES_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->load_cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), OW_TYPE_LINES_WINDOW);

  G_OBJECT_CLASS (ow_lines_window_parent_class)->dispose (object);
}

static void
ow_lines_window_finalize (GObject *object)
{
  OwLinesWindow *self = OW_LINES_WINDOW (object);

  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->load_cancellable);

  G_OBJECT_CLASS (ow_lines_window_parent_class)->finalize (object);
}

static void
ow_lines_window_class_init (OwLinesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ow_lines_window_dispose;
  object_class->finalize = ow_lines_window_finalize;
  widget_class->unrealize = ow_lines_window_unrealize;

  signals[SIGNAL_SESSION_ENDED] = g_signal_new ("session-ended", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 0);

  g_type_ensure (OW_TYPE_TOAST_OVERLAY);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/onepin/Wallet/ui/ow-lines-window.ui");
  gtk_widget_class_bind_template_child_full (widget_class, "lines_toast_overlay", FALSE,
                                             G_STRUCT_OFFSET (OwLinesWindow, toast_overlay));
  gtk_widget_class_bind_template_child (widget_class, OwLinesWindow, lines_list);
  gtk_widget_class_bind_template_child (widget_class, OwLinesWindow, lines_spinner);
  gtk_widget_class_bind_template_child (widget_class, OwLinesWindow, lines_error_label);
  gtk_widget_class_bind_template_child (widget_class, OwLinesWindow, lines_retry_button);
  gtk_widget_class_bind_template_child (widget_class, OwLinesWindow, add_line_group);
  gtk_widget_class_bind_template_child (widget_class, OwLinesWindow, line_number_row);
  gtk_widget_class_bind_template_child (widget_class, OwLinesWindow, line_password_row);
  gtk_widget_class_bind_template_child (widget_class, OwLinesWindow, line_error_label);
  gtk_widget_class_bind_template_child (widget_class, OwLinesWindow, add_line_button);
  gtk_widget_class_bind_template_child (widget_class, OwLinesWindow, add_spinner);
  gtk_widget_class_bind_template_callback (widget_class, on_add);
  gtk_widget_class_bind_template_callback (widget_class, on_retry);
  gtk_widget_class_bind_template_callback (widget_class, on_number_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_close_request);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ow_lines_window_init (OwLinesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  ow_ui_name_controls (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

OwLinesWindow *
ow_lines_window_new (OwClient  *client,
                     GtkWindow *parent)
{
  OwLinesWindow *self = g_object_new (OW_TYPE_LINES_WINDOW, "transient-for", parent, NULL);

  self->client = g_object_ref (client);
  load_lines (self);
  return self;
}
