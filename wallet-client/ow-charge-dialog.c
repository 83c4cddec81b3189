/* ow-charge-dialog.c: top up the representative card from a funding source
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-charge-dialog.h"

#include <glib/gi18n.h>

#include "ow-application.h"
#include "ow-funding-dialog.h"
#include "ow-ui.h"

struct _OwChargeDialog
{
  AdwWindow      parent_instance;

  AdwComboRow   *source_row;
  GtkSpinButton *amount_spin;
  GtkEditable   *cvc_row;
  GtkEditable   *account_password_row;
  GtkLabel      *error_label;
  GtkButton     *cancel_button;
  GtkButton     *charge_button;
  GtkSpinner    *spinner;

  OwClient      *client;
  GPtrArray     *sources;
  GCancellable  *cancellable;
  char          *idempotency_key;
  /* The request sent under the key, as sent: what a retry sends again and
   * what the pending record keeps, whatever the fields show meanwhile. */
  char          *sent_source_id;
  gint64         sent_amount;
  gboolean       in_flight;      /* sent, its answer not seen yet */
  gboolean       resuming;       /* the key was sent and its outcome is unknown */
};

/* What the gateway takes, and the field's subtitle says. */
#define AMOUNT_STEP 10000
#define AMOUNT_MIN  10000
#define AMOUNT_MAX  1000000

G_DEFINE_FINAL_TYPE (OwChargeDialog, ow_charge_dialog, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_CHARGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static OwFundingSource *
selected_source (OwChargeDialog *self)
{
  guint i = adw_combo_row_get_selected (self->source_row);

  return self->sources != NULL && i < self->sources->len ? g_ptr_array_index (self->sources, i) : NULL;
}

static gboolean
find_source (OwChargeDialog *self,
             const char     *id,
             guint          *index)
{
  for (guint i = 0; self->sources != NULL && i < self->sources->len; i++)
    if (g_strcmp0 (((OwFundingSource *) g_ptr_array_index (self->sources, i))->id, id) == 0)
      {
        *index = i;
        return TRUE;
      }
  return FALSE;
}

/* The fields show the request sent, not what was changed in them since. */
static gboolean
show_sent (OwChargeDialog *self)
{
  guint i;

  if (!find_source (self, self->sent_source_id, &i))
    return FALSE;
  adw_combo_row_set_selected (self->source_row, i);
  gtk_spin_button_set_value (self->amount_spin, (double) self->sent_amount);
  return TRUE;
}

/* Whether a retry of this request could still settle it, so it must keep
 * its key: no answer, an answer we could not read, or a charge the bank has
 * not confirmed. Anything else was definitely not charged. */
static gboolean
outcome_unknown (const GError *error)
{
  return g_error_matches (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_NETWORK) ||
         g_error_matches (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL) ||
         g_strcmp0 (ow_api_error_get_code (error), "charge_pending") == 0 ||
         g_strcmp0 (ow_api_error_get_code (error), "idempotency_in_flight") == 0 ||
         (ow_api_error_get_status (error) >= 500 &&
          g_strcmp0 (ow_api_error_get_code (error), "bank_unavailable") != 0);
}

static void
freeze_fields (OwChargeDialog *self,
               gboolean        source_and_amount,
               gboolean        secret)
{
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  GtkWidget *locked[] = {
    source_and_amount ? GTK_WIDGET (self->source_row) : NULL,
    source_and_amount ? GTK_WIDGET (self->amount_spin) : NULL,
    secret ? GTK_WIDGET (self->cvc_row) : NULL,
    secret ? GTK_WIDGET (self->account_password_row) : NULL,
  };

  /* A text made insensitive while focused never gets its focus-out. */
  for (guint i = 0; focus != NULL && i < G_N_ELEMENTS (locked); i++)
    if (locked[i] != NULL && (focus == locked[i] || gtk_widget_is_ancestor (focus, locked[i])))
      gtk_widget_grab_focus (GTK_WIDGET (self->charge_button));
  gtk_widget_set_sensitive (GTK_WIDGET (self->source_row), !source_and_amount);
  gtk_widget_set_sensitive (GTK_WIDGET (self->amount_spin), !source_and_amount);
  gtk_widget_set_sensitive (GTK_WIDGET (self->cvc_row), !secret);
  gtk_widget_set_sensitive (GTK_WIDGET (self->account_password_row), !secret);
}

/* While a charge is unsettled, only the same request can settle it: the
 * source and amount are fixed, and so is the secret once it was sent
 * (another would make the retry another request, refused with 422). */
static void
lock_request (OwChargeDialog *self,
              gboolean        source_and_amount,
              gboolean        secret)
{
  freeze_fields (self, source_and_amount, secret);
  ow_ui_set_button_label (self->charge_button, source_and_amount ? _("_Try Again") : _("C_harge"));
}

/* Before a request leaves, it goes into the vault: its answer may be lost
 * to a lock, a quit or a crash, and only the same request under the same
 * key settles it. Nothing is sent if it cannot be kept. */
static gboolean
keep_request (OwChargeDialog *self)
{
  OwApplication *app = ow_ui_get_application (GTK_WIDGET (self));
  OwPendingCharge pending = {
    .source_id = self->sent_source_id,
    .amount = self->sent_amount,
    .idempotency_key = self->idempotency_key,
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *message = NULL;

  if (app != NULL && ow_application_save_pending_charge (app, &pending, &error))
    return TRUE;
  reason = error != NULL ? ow_ui_error_message (error) : g_strdup ("");
  /* TRANSLATORS: the reason follows */
  message = g_strdup_printf (_("Nothing was sent: the charge could not be kept in the vault. %s"),
                             reason);
  ow_ui_show_error (self->error_label, message);
  return FALSE;
}

/* Its outcome is known: the next charge is another. */
static void
forget_request (OwChargeDialog *self)
{
  OwApplication *app = ow_ui_get_application (GTK_WIDGET (self));

  self->resuming = FALSE;
  if (app != NULL)
    ow_application_clear_pending_charge (app);
}

static void
on_charge_failed (OwChargeDialog *self,
                  const GError   *error)
{
  g_autofree char *message = NULL;

  if (outcome_unknown (error))
    {
      /* the same request again, not another charge */
      self->resuming = TRUE;
      show_sent (self);
      lock_request (self, TRUE, TRUE);
      message = ow_ui_error_message (error);
    }
  else if (self->resuming &&
           g_strcmp0 (ow_api_error_get_code (error), "idempotency_key_reused") == 0)
    {
      /* a secret other than the first attempt's: still the first charge */
      show_sent (self);
      lock_request (self, TRUE, FALSE);
      message = g_strdup (_("Enter the same security code or password as for the first attempt, "
                            "to learn how that charge ended. You will not be charged twice."));
    }
  else
    {
      forget_request (self);
      g_free (self->idempotency_key);
      self->idempotency_key = ow_client_new_idempotency_key ();
      lock_request (self, FALSE, FALSE);
      message = ow_ui_error_message (error);
    }
  ow_ui_show_error (self->error_label, message);
}

/* A charge out cannot be called back: the dialog stays until its answer
 * (or the client's timeout), so that the user learns how it ended. Only a
 * lock or a quit closes it then (see unrealize). */
static void
set_sending (OwChargeDialog *self,
             gboolean        sending)
{
  self->in_flight = sending;
  ow_ui_set_sending (GTK_WIDGET (self->cancel_button), self->charge_button, self->spinner,
                     sending);
}

static void
on_charged (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(OwChargeDialog) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwCharge) charge = ow_client_charge_finish (OW_CLIENT (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_sending (self, FALSE);
  if (charge == NULL)
    {
      on_charge_failed (self, error);
      return;
    }

  forget_request (self);
  g_signal_emit (self, signals[SIGNAL_CHARGED], 0, charge);
  gtk_window_destroy (GTK_WINDOW (self));
}

/* The amount as the field shows it, or FALSE having said why not. The
 * spin button would round or clamp what was typed, and the charge would
 * be of a sum the user never saw. */
static gboolean
read_amount (OwChargeDialog *self,
             gint64         *amount)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->amount_spin))));
  guint64 value = 0;

  if (text[0] == '\0' ||
      !g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &value, NULL) ||
      value < AMOUNT_MIN || value > AMOUNT_MAX || value % AMOUNT_STEP != 0)
    {
      ow_ui_show_error (self->error_label,
                        text[0] == '\0' ? _("Enter the amount to charge.")
                        : _("The amount must be a whole number of ₩10,000 steps, "
                            "from ₩10,000 to ₩1,000,000."));
      gtk_widget_grab_focus (GTK_WIDGET (self->amount_spin));
      return FALSE;
    }
  /* the adjustment as the text, with nothing to round */
  gtk_spin_button_set_value (self->amount_spin, (double) value);
  *amount = (gint64) value;
  return TRUE;
}

static void
on_charge (OwChargeDialog *self)
{
  OwFundingSource *source;
  gint64 amount;
  gboolean card;
  guint i;

  if (self->in_flight || !gtk_widget_get_sensitive (GTK_WIDGET (self->charge_button)))
    return;

  /* a retry is the request sent, whatever the fields say */
  if (self->resuming && find_source (self, self->sent_source_id, &i))
    {
      source = g_ptr_array_index (self->sources, i);
      amount = self->sent_amount;
    }
  else
    {
      source = selected_source (self);
      if (source == NULL || !read_amount (self, &amount))
        return;
    }
  card = source->type == OW_FUNDING_CREDIT_CARD;
  if (card && gtk_editable_get_text (self->cvc_row)[0] == '\0')
    {
      ow_ui_show_error (self->error_label, _("Enter the credit card’s 3- or 4-digit security code."));
      gtk_widget_grab_focus (GTK_WIDGET (self->cvc_row));
      return;
    }
  if (!card && gtk_editable_get_text (self->account_password_row)[0] == '\0')
    {
      ow_ui_show_error (self->error_label, _("Enter the bank account’s password."));
      gtk_widget_grab_focus (GTK_WIDGET (self->account_password_row));
      return;
    }

  ow_ui_show_error (self->error_label, NULL);
  if (!self->resuming)
    {
      g_free (self->sent_source_id);
      self->sent_source_id = g_strdup (source->id);
      self->sent_amount = amount;
    }
  if (!keep_request (self))
    return;
  /* sent: nothing of it changes until its answer */
  freeze_fields (self, TRUE, TRUE);
  set_sending (self, TRUE);
  ow_client_charge_async (self->client, source->id, amount,
                          card ? gtk_editable_get_text (self->cvc_row) : NULL,
                          card ? NULL : gtk_editable_get_text (self->account_password_row),
                          self->idempotency_key, self->cancellable, on_charged,
                          g_object_ref (self));
}

static void
on_source_selected (OwChargeDialog *self)
{
  OwFundingSource *source = selected_source (self);
  gboolean card = source == NULL || source->type == OW_FUNDING_CREDIT_CARD;

  gtk_widget_set_visible (GTK_WIDGET (self->cvc_row), card);
  gtk_widget_set_visible (GTK_WIDGET (self->account_password_row), !card);
}

static gboolean
on_close_request (OwChargeDialog *self)
{
  return self->in_flight;
}

/* gtk_window_destroy () (a lock, a quit) unrealizes the dialog at once;
 * the call out keeps a reference until its answer, which is not waited
 * for. Destroyed with a request out, it may have been charged: its record
 * stays in the vault (keep_request), as an unknown outcome's does, and the
 * next dialog resumes it under its key instead of charging again. */
static void
ow_charge_dialog_unrealize (GtkWidget *widget)
{
  OwChargeDialog *self = OW_CHARGE_DIALOG (widget);

  self->in_flight = FALSE;
  g_cancellable_cancel (self->cancellable);

  GTK_WIDGET_CLASS (ow_charge_dialog_parent_class)->unrealize (widget);
}

static void
ow_charge_dialog_dispose (GObject *object)
{
  OwChargeDialog *self = OW_CHARGE_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), OW_TYPE_CHARGE_DIALOG);

  G_OBJECT_CLASS (ow_charge_dialog_parent_class)->dispose (object);
}

static void
ow_charge_dialog_finalize (GObject *object)
{
  OwChargeDialog *self = OW_CHARGE_DIALOG (object);

  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->sources, g_ptr_array_unref);
  g_free (self->idempotency_key);
  g_free (self->sent_source_id);

  G_OBJECT_CLASS (ow_charge_dialog_parent_class)->finalize (object);
}

static void
ow_charge_dialog_class_init (OwChargeDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ow_charge_dialog_dispose;
  object_class->finalize = ow_charge_dialog_finalize;
  widget_class->unrealize = ow_charge_dialog_unrealize;

  signals[SIGNAL_CHARGED] = g_signal_new ("charged", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/onepin/Wallet/ui/ow-charge-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, OwChargeDialog, source_row);
  gtk_widget_class_bind_template_child (widget_class, OwChargeDialog, amount_spin);
  gtk_widget_class_bind_template_child (widget_class, OwChargeDialog, cvc_row);
  gtk_widget_class_bind_template_child (widget_class, OwChargeDialog, account_password_row);
  gtk_widget_class_bind_template_child (widget_class, OwChargeDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, OwChargeDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, OwChargeDialog, charge_button);
  gtk_widget_class_bind_template_child (widget_class, OwChargeDialog, spinner);
  gtk_widget_class_bind_template_callback (widget_class, on_charge);
  gtk_widget_class_bind_template_callback (widget_class, on_source_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_close_request);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ow_charge_dialog_init (OwChargeDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  ow_ui_name_controls (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->idempotency_key = ow_client_new_idempotency_key ();
}

static char *
source_label (const OwFundingSource *source)
{
  const char *bank = ow_funding_bank_name (source->bank_code);

  /* The last four digits only, as the history shows them: the full masked
   * number does not fit, and its end is what tells sources apart. */
  if (source->type == OW_FUNDING_CREDIT_CARD)
    return g_strdup_printf (_("Credit card ••%s"), source->last4);
  /* TRANSLATORS: a bank's name, then the last four digits of the account */
  return g_strdup_printf (_("%s ••%s"), bank != NULL ? bank : _("Bank account"), source->last4);
}

/* Opens on the unsettled charge: its source and amount, its key. */
static void
resume (OwChargeDialog        *self,
        const OwPendingCharge *pending)
{
  g_autofree char *amount = ow_format_money (pending->amount, "krw");
  g_autofree char *message = NULL;

  g_free (self->sent_source_id);
  self->sent_source_id = g_strdup (pending->source_id);
  self->sent_amount = pending->amount;
  /* Its source was removed since: the gateway settles it by itself. */
  if (!show_sent (self))
    return;

  g_free (self->idempotency_key);
  self->idempotency_key = g_strdup (pending->idempotency_key);
  self->resuming = TRUE;
  lock_request (self, TRUE, FALSE);
  /* TRANSLATORS: the amount of a charge whose outcome is not known yet */
  message = g_strdup_printf (_("The charge of %s from this source is not confirmed yet. Enter its "
                               "security code or password again to learn how it ended. You will "
                               "not be charged twice."), amount);
  ow_ui_show_error (self->error_label, message);
}

OwChargeDialog *
ow_charge_dialog_new (OwClient              *client,
                      GPtrArray             *sources,
                      const OwPendingCharge *pending,
                      GtkWindow             *parent)
{
  OwChargeDialog *self = g_object_new (OW_TYPE_CHARGE_DIALOG, "transient-for", parent, NULL);
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);

  g_return_val_if_fail (sources != NULL && sources->len > 0, self);

  self->client = g_object_ref (client);
  self->sources = g_ptr_array_ref (sources);
  for (guint i = 0; i < sources->len; i++)
    {
      g_autofree char *label = source_label (g_ptr_array_index (sources, i));

      gtk_string_list_append (labels, label);
    }
  adw_combo_row_set_model (self->source_row, G_LIST_MODEL (labels));
  adw_combo_row_set_selected (self->source_row, 0);
  on_source_selected (self);
  if (pending != NULL)
    resume (self, pending);
  /* the first field that takes input, not the Cancel button: the secret
   * when resuming, the source and amount being fixed */
  if (self->resuming)
    gtk_widget_grab_focus (GTK_WIDGET (gtk_widget_get_visible (GTK_WIDGET (self->cvc_row))
                                       ? self->cvc_row : self->account_password_row));
  else
    gtk_widget_grab_focus (GTK_WIDGET (self->source_row));
  return self;
}
