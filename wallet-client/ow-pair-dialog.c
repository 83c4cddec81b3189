/* ow-pair-dialog.c: approve and name a browser that asks to pair
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-pair-dialog.h"

#include <glib/gi18n.h>

#include "ow-browser.h"
#include "ow-ui.h"

struct _OwPairDialog
{
  AdwWindow     parent_instance;

  GtkLabel     *intro_label;
  GtkLabel     *code_label;
  GtkEditable  *name_row;
  GtkLabel     *error_label;

  gboolean      decided;
};

G_DEFINE_FINAL_TYPE (OwPairDialog, ow_pair_dialog, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_DECIDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
decide (OwPairDialog *self,
        const char   *name)
{
  if (self->decided)
    return;
  self->decided = TRUE;
  g_signal_emit (self, signals[SIGNAL_DECIDED], 0, name != NULL, name);
}

static void
on_pair (OwPairDialog *self)
{
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (self->name_row)));
  glong len = g_utf8_strlen (name, -1);

  if (len < 1 || len > OW_BROWSER_MAX_NAME)
    {
      ow_ui_show_error (self->error_label, _("Give the browser a name of 1 to 64 characters."));
      gtk_widget_grab_focus (GTK_WIDGET (self->name_row));
      return;
    }
  decide (self, name);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
on_reject (OwPairDialog *self)
{
  decide (self, NULL);
  gtk_window_destroy (GTK_WINDOW (self));
}

static gboolean
ow_pair_dialog_close_request (GtkWindow *window)
{
  decide (OW_PAIR_DIALOG (window), NULL);
  return GTK_WINDOW_CLASS (ow_pair_dialog_parent_class)->close_request (window);
}

static void
ow_pair_dialog_dispose (GObject *object)
{
  OwPairDialog *self = OW_PAIR_DIALOG (object);

  /* destroyed without an answer (the wallet locked, the browser left) */
  decide (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), OW_TYPE_PAIR_DIALOG);

  G_OBJECT_CLASS (ow_pair_dialog_parent_class)->dispose (object);
}

static void
ow_pair_dialog_class_init (OwPairDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ow_pair_dialog_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = ow_pair_dialog_close_request;

  signals[SIGNAL_DECIDED] = g_signal_new ("decided", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                          G_TYPE_BOOLEAN, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/onepin/Wallet/ui/ow-pair-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, OwPairDialog, intro_label);
  gtk_widget_class_bind_template_child (widget_class, OwPairDialog, code_label);
  gtk_widget_class_bind_template_child (widget_class, OwPairDialog, name_row);
  gtk_widget_class_bind_template_child (widget_class, OwPairDialog, error_label);
  gtk_widget_class_bind_template_callback (widget_class, on_pair);
  gtk_widget_class_bind_template_callback (widget_class, on_reject);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ow_pair_dialog_init (OwPairDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  ow_ui_name_controls (GTK_WIDGET (self));
}

OwPairDialog *
ow_pair_dialog_new (const char *code,
                    const char *suggested_name,
                    gboolean    repairing)
{
  OwPairDialog *self = g_object_new (OW_TYPE_PAIR_DIALOG, NULL);

  gtk_label_set_text (self->code_label, code);
  gtk_editable_set_text (self->name_row, suggested_name);
  /* Saying so, not just suggesting the old name: the user should know that
   * the key the browser had stops working, and that this is not a second
   * browser. */
  if (repairing)
    {
      g_autofree char *intro = g_strdup_printf (_("The browser paired as “%s” asks to pair again "
                                                  "with a new key; its old pairing stops working "
                                                  "once you pair. Pair it only if it shows this "
                                                  "code too:"), suggested_name);

      gtk_window_set_title (GTK_WINDOW (self), _("Pair a Browser Again"));
      gtk_label_set_text (self->intro_label, intro);
    }
  return self;
}
