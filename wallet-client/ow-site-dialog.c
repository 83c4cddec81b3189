/* ow-site-dialog.c: may a browser fill the card on a site?
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-site-dialog.h"

#include <glib/gi18n.h>

#include "ow-ui.h"

struct _OwSiteDialog
{
  AdwWindow       parent_instance;

  GtkLabel       *question_label;
  GtkLabel       *origin_label;
  GtkCheckButton *remember_check;

  gboolean        decided;
};

G_DEFINE_FINAL_TYPE (OwSiteDialog, ow_site_dialog, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_DECIDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
decide (OwSiteDialog *self,
        gboolean      fill)
{
  if (self->decided)
    return;
  self->decided = TRUE;
  g_signal_emit (self, signals[SIGNAL_DECIDED], 0, fill,
                 fill && gtk_check_button_get_active (self->remember_check));
}

static void
on_fill (OwSiteDialog *self)
{
  decide (self, TRUE);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
on_deny (OwSiteDialog *self)
{
  decide (self, FALSE);
  gtk_window_destroy (GTK_WINDOW (self));
}

static gboolean
ow_site_dialog_close_request (GtkWindow *window)
{
  decide (OW_SITE_DIALOG (window), FALSE);
  return GTK_WINDOW_CLASS (ow_site_dialog_parent_class)->close_request (window);
}

static void
ow_site_dialog_dispose (GObject *object)
{
  OwSiteDialog *self = OW_SITE_DIALOG (object);

  if (self->remember_check != NULL)
    decide (self, FALSE);
  gtk_widget_dispose_template (GTK_WIDGET (self), OW_TYPE_SITE_DIALOG);

  G_OBJECT_CLASS (ow_site_dialog_parent_class)->dispose (object);
}

static void
ow_site_dialog_class_init (OwSiteDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ow_site_dialog_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = ow_site_dialog_close_request;

  signals[SIGNAL_DECIDED] = g_signal_new ("decided", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                          G_TYPE_BOOLEAN, G_TYPE_BOOLEAN);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/onepin/Wallet/ui/ow-site-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, OwSiteDialog, question_label);
  gtk_widget_class_bind_template_child (widget_class, OwSiteDialog, origin_label);
  gtk_widget_class_bind_template_child (widget_class, OwSiteDialog, remember_check);
  gtk_widget_class_bind_template_callback (widget_class, on_fill);
  gtk_widget_class_bind_template_callback (widget_class, on_deny);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ow_site_dialog_init (OwSiteDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  ow_ui_name_controls (GTK_WIDGET (self));
}

OwSiteDialog *
ow_site_dialog_new (const char *browser_name,
                    const char *origin)
{
  OwSiteDialog *self = g_object_new (OW_TYPE_SITE_DIALOG, NULL);
  /* TRANSLATORS: %s is the name the user gave a paired browser */
  g_autofree char *question = g_strdup_printf (_("“%s” asks for your card, to fill a form on"),
                                               browser_name);

  gtk_label_set_text (self->question_label, question);
  gtk_label_set_text (self->origin_label, origin);
  return self;
}
