/* ow-unlock-page.c: the locked page: unlock the vault
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-unlock-page.h"

#include <glib/gi18n.h>

#include "ow-ui.h"

struct _OwUnlockPage
{
  AdwBin       parent_instance;

  GtkEditable *password_row;
  GtkLabel    *error_label;
  GtkButton   *unlock_button;
  GtkSpinner  *spinner;
};

G_DEFINE_FINAL_TYPE (OwUnlockPage, ow_unlock_page, ADW_TYPE_BIN)

enum
{
  SIGNAL_DONE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
on_unlocked (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(OwUnlockPage) self = data;
  g_autoptr(GError) error = NULL;

  ow_ui_set_busy (self->unlock_button, self->spinner, FALSE);
  if (!ow_vault_unlock_finish (OW_VAULT (source), result, &error))
    {
      g_autofree char *message = ow_ui_error_message (error);

      ow_ui_show_error (self->error_label, message);
      ow_ui_mark_invalid (GTK_WIDGET (self->password_row), message);
      gtk_editable_select_region (self->password_row, 0, -1);
      gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
      return;
    }

  ow_unlock_page_reset (self);
  g_signal_emit (self, signals[SIGNAL_DONE], 0);
}

static void
on_unlock (OwUnlockPage *self)
{
  OwApplication *app = ow_ui_get_application (GTK_WIDGET (self));
  const char *password = gtk_editable_get_text (self->password_row);

  if (password[0] == '\0' || !gtk_widget_get_sensitive (GTK_WIDGET (self->unlock_button)))
    return;

  ow_ui_show_error (self->error_label, NULL);
  ow_ui_mark_invalid (GTK_WIDGET (self->password_row), NULL);
  ow_ui_set_busy (self->unlock_button, self->spinner, TRUE);
  ow_vault_unlock_async (ow_application_get_vault (app), password, NULL, on_unlocked,
                         g_object_ref (self));
}

void
ow_unlock_page_reset (OwUnlockPage *self)
{
  g_return_if_fail (OW_IS_UNLOCK_PAGE (self));

  ow_ui_clear_editable (self->password_row);
  ow_ui_show_error (self->error_label, NULL);
}

/* The page takes the keyboard where the typing starts. */
static gboolean
ow_unlock_page_grab_focus (GtkWidget *widget)
{
  return gtk_widget_grab_focus (GTK_WIDGET (OW_UNLOCK_PAGE (widget)->password_row));
}

static void
ow_unlock_page_class_init (OwUnlockPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->grab_focus = ow_unlock_page_grab_focus;

  signals[SIGNAL_DONE] = g_signal_new ("done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/onepin/Wallet/ui/ow-unlock-page.ui");
  gtk_widget_class_bind_template_child (widget_class, OwUnlockPage, password_row);
  gtk_widget_class_bind_template_child (widget_class, OwUnlockPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, OwUnlockPage, unlock_button);
  gtk_widget_class_bind_template_child (widget_class, OwUnlockPage, spinner);
  gtk_widget_class_bind_template_callback (widget_class, on_unlock);
}

static void
ow_unlock_page_init (OwUnlockPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  ow_ui_name_controls (GTK_WIDGET (self));
}
