/* ow-approval-dialog.c: approve or reject a purchase with the card password
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-approval-dialog.h"

#include <glib/gi18n.h>

#include "ow-ui.h"

struct _OwApprovalDialog
{
  AdwWindow    parent_instance;

  GtkLabel    *merchant_label;
  GtkLabel    *amount_label;
  GtkLabel    *order_label;
  GtkLabel    *source_label;
  AdwPreferencesGroup *items_group;
  AdwActionRow *card_row;
  GtkEditable *password_row;
  GtkLabel    *error_label;
  GtkButton   *approve_button;

  OwPurchase  *purchase;
  gboolean     decided;
};

G_DEFINE_FINAL_TYPE (OwApprovalDialog, ow_approval_dialog, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_DECIDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
decide (OwApprovalDialog *self,
        gboolean          approved)
{
  g_autoptr(OwSecret) password = NULL;

  if (self->decided)
    return;
  self->decided = TRUE;

  if (approved)
    password = g_strdup (gtk_editable_get_text (self->password_row));
  ow_ui_clear_editable (self->password_row);
  g_signal_emit (self, signals[SIGNAL_DECIDED], 0, approved, password);
}

static void
on_approve (OwApprovalDialog *self)
{
  glong len = g_utf8_strlen (gtk_editable_get_text (self->password_row), -1);

  if (!gtk_widget_get_sensitive (GTK_WIDGET (self->approve_button)))
    return;
  if (len < 4 || len > 64)
    {
      ow_ui_show_error (self->error_label, _("Enter the card password (4 to 64 characters)."));
      gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
      return;
    }

  decide (self, TRUE);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
on_reject (OwApprovalDialog *self)
{
  decide (self, FALSE);
  gtk_window_destroy (GTK_WINDOW (self));
}

static gboolean
ow_approval_dialog_close_request (GtkWindow *window)
{
  decide (OW_APPROVAL_DIALOG (window), FALSE);
  return GTK_WINDOW_CLASS (ow_approval_dialog_parent_class)->close_request (window);
}

static void
ow_approval_dialog_dispose (GObject *object)
{
  OwApprovalDialog *self = OW_APPROVAL_DIALOG (object);

  /* destroyed without an answer (the wallet locked): that is a no */
  if (self->password_row != NULL)
    decide (self, FALSE);
  gtk_widget_dispose_template (GTK_WIDGET (self), OW_TYPE_APPROVAL_DIALOG);

  G_OBJECT_CLASS (ow_approval_dialog_parent_class)->dispose (object);
}

static void
ow_approval_dialog_finalize (GObject *object)
{
  g_clear_pointer (&OW_APPROVAL_DIALOG (object)->purchase, ow_purchase_free);
  G_OBJECT_CLASS (ow_approval_dialog_parent_class)->finalize (object);
}

static void
ow_approval_dialog_class_init (OwApprovalDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = ow_approval_dialog_dispose;
  object_class->finalize = ow_approval_dialog_finalize;
  window_class->close_request = ow_approval_dialog_close_request;

  signals[SIGNAL_DECIDED] = g_signal_new ("decided", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                          G_TYPE_BOOLEAN, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/onepin/Wallet/ui/ow-approval-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, OwApprovalDialog, merchant_label);
  gtk_widget_class_bind_template_child (widget_class, OwApprovalDialog, amount_label);
  gtk_widget_class_bind_template_child (widget_class, OwApprovalDialog, order_label);
  gtk_widget_class_bind_template_child (widget_class, OwApprovalDialog, source_label);
  gtk_widget_class_bind_template_child (widget_class, OwApprovalDialog, items_group);
  gtk_widget_class_bind_template_child (widget_class, OwApprovalDialog, card_row);
  gtk_widget_class_bind_template_child (widget_class, OwApprovalDialog, password_row);
  gtk_widget_class_bind_template_child (widget_class, OwApprovalDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, OwApprovalDialog, approve_button);
  gtk_widget_class_bind_template_callback (widget_class, on_approve);
  gtk_widget_class_bind_template_callback (widget_class, on_reject);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ow_approval_dialog_init (OwApprovalDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  ow_ui_name_controls (GTK_WIDGET (self));
}

static GtkWidget *
item_row (const OwPurchaseItem *item,
          const char           *currency)
{
  GtkWidget *row = ow_plain_action_row_new ();
  g_autofree char *amount = ow_format_money (item->amount, currency);
  /* TRANSLATORS: a quantity of an item, "× 2" */
  g_autofree char *quantity = g_strdup_printf (_("× %u"), item->quantity);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), item->name);
  /* a mall's text, shown as it is: never markup */
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), quantity);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_label_new (amount));
  return row;
}

OwApprovalDialog *
ow_approval_dialog_new (const OwPurchase *purchase)
{
  OwApprovalDialog *self;
  g_autofree char *amount = NULL;
  g_autofree char *order = NULL;

  g_return_val_if_fail (purchase != NULL, NULL);

  self = g_object_new (OW_TYPE_APPROVAL_DIALOG, NULL);
  self->purchase = ow_purchase_copy (purchase);
  amount = ow_format_money (purchase->amount, purchase->currency);
  order = g_strdup_printf (_("Order %s"), purchase->order_id);

  gtk_label_set_text (self->merchant_label, purchase->merchant);
  gtk_label_set_text (self->amount_label, amount);
  gtk_label_set_text (self->order_label, order);
  for (guint i = 0; i < purchase->items->len; i++)
    adw_preferences_group_add (self->items_group,
                               item_row (g_ptr_array_index (purchase->items, i), purchase->currency));
  gtk_widget_set_visible (GTK_WIDGET (self->items_group), purchase->items->len > 0);
  return self;
}

void
ow_approval_dialog_set_card (OwApprovalDialog *self,
                             const OwCard     *card)
{
  g_autofree char *available = NULL;
  g_autofree char *subtitle = NULL;
  gboolean enough;

  g_return_if_fail (OW_IS_APPROVAL_DIALOG (self));
  g_return_if_fail (card != NULL);

  available = ow_format_money (card->available, card->currency);
  subtitle = g_strdup_printf (_("%s · available %s"), card->masked_number, available);
  adw_action_row_set_subtitle (self->card_row, subtitle);

  enough = g_strcmp0 (card->currency, self->purchase->currency) == 0 &&
           card->available >= self->purchase->amount;
  gtk_widget_set_sensitive (GTK_WIDGET (self->approve_button), enough);
  ow_ui_show_error (self->error_label,
                    enough ? NULL : _("The card does not have enough available. Charge it first."));
}

void
ow_approval_dialog_set_source (OwApprovalDialog *self,
                               const char       *source)
{
  g_return_if_fail (OW_IS_APPROVAL_DIALOG (self));

  gtk_label_set_text (self->source_label, source != NULL ? source : "");
  gtk_widget_set_visible (GTK_WIDGET (self->source_label), source != NULL);
}

void
ow_approval_dialog_present (OwApprovalDialog *self,
                            GtkWindow        *parent)
{
  g_return_if_fail (OW_IS_APPROVAL_DIALOG (self));

  gtk_window_set_transient_for (GTK_WINDOW (self), parent);
  gtk_window_present (GTK_WINDOW (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
}
