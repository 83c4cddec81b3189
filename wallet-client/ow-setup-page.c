/* ow-setup-page.c: the first-run page: create the vault
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-setup-page.h"

#include <glib/gi18n.h>

#include "ow-ui.h"

struct _OwSetupPage
{
  AdwBin       parent_instance;

  GtkEditable *password_row;
  GtkEditable *confirm_row;
  GtkLabel    *error_label;
  GtkButton   *create_button;
  GtkSpinner  *spinner;
};

G_DEFINE_FINAL_TYPE (OwSetupPage, ow_setup_page, ADW_TYPE_BIN)

enum
{
  SIGNAL_DONE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
on_created (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(OwSetupPage) self = data;
  g_autoptr(GError) error = NULL;

  ow_ui_set_busy (self->create_button, self->spinner, FALSE);
  if (!ow_vault_create_finish (OW_VAULT (source), result, &error))
    {
      g_autofree char *message = ow_ui_error_message (error);

      ow_ui_show_error (self->error_label, message);
      return;
    }

  ow_ui_clear_editable (self->password_row);
  ow_ui_clear_editable (self->confirm_row);
  g_signal_emit (self, signals[SIGNAL_DONE], 0);
}

static void
on_create (OwSetupPage *self)
{
  OwApplication *app = ow_ui_get_application (GTK_WIDGET (self));
  const char *password = gtk_editable_get_text (self->password_row);
  g_autofree char *too_short = g_strdup_printf (_("The master password needs at least %d characters."),
                                                OW_VAULT_MIN_PASSWORD_CHARS);

  if (!ow_ui_check_new_password (self->password_row, self->confirm_row,
                                 OW_VAULT_MIN_PASSWORD_CHARS, G_MAXLONG, too_short,
                                 self->error_label))
    return;

  ow_ui_set_busy (self->create_button, self->spinner, TRUE);
  ow_vault_create_async (ow_application_get_vault (app), password, NULL, on_created,
                         g_object_ref (self));
}

static void
on_password_activated (OwSetupPage *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->confirm_row));
}

/* The page takes the keyboard where the typing starts. */
static gboolean
ow_setup_page_grab_focus (GtkWidget *widget)
{
  return gtk_widget_grab_focus (GTK_WIDGET (OW_SETUP_PAGE (widget)->password_row));
}

static void
ow_setup_page_class_init (OwSetupPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->grab_focus = ow_setup_page_grab_focus;

  signals[SIGNAL_DONE] = g_signal_new ("done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/onepin/Wallet/ui/ow-setup-page.ui");
  gtk_widget_class_bind_template_child (widget_class, OwSetupPage, password_row);
  gtk_widget_class_bind_template_child (widget_class, OwSetupPage, confirm_row);
  gtk_widget_class_bind_template_child (widget_class, OwSetupPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, OwSetupPage, create_button);
  gtk_widget_class_bind_template_child (widget_class, OwSetupPage, spinner);
  gtk_widget_class_bind_template_callback (widget_class, on_create);
  gtk_widget_class_bind_template_callback (widget_class, on_password_activated);
}

static void
ow_setup_page_init (OwSetupPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  ow_ui_name_controls (GTK_WIDGET (self));
}
