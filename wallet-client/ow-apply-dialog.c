/* ow-apply-dialog.c: apply for the representative card, finish an
 * application whose answer was lost, or change the card's password
 *
 * An application and a change choose the card's password. A change also
 * asks for the account's password: the card's own is known to every shop it
 * paid at, so it proves nothing, and the user may have forgotten it. An
 * application's Idempotency-Key is sealed in the vault before it is sent
 * (ow-pending-card.h); finishing sends the same request again, under that
 * key and with the card password chosen then, and the gateway answers the
 * number and CVC once more. A change has its key too, kept while its
 * outcome is unknown, so that trying again is the same request. While a
 * request is out the dialog does not close (ow_ui_set_sending): closed,
 * it would take the answer and the key with it, and a card password
 * changed (every telephone line gone with the old one) would go unsaid.
 * Only a lock or a quit takes it away then.
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-apply-dialog.h"

#include <glib/gi18n.h>

#include "ow-application.h"
#include "ow-ui.h"

typedef enum
{
  MODE_APPLY,
  MODE_CHANGE,        /* the card's password, not an application */
  MODE_FINISH,        /* an application sent before, answered again */
} Mode;

struct _OwApplyDialog
{
  AdwWindow     parent_instance;

  GtkLabel     *intro_label;
  GtkEditable  *account_row;
  GtkEditable  *password_row;
  GtkEditable  *confirm_row;
  GtkLabel     *error_label;
  GtkWidget    *cancel_button;
  GtkButton    *apply_button;
  GtkSpinner   *spinner;

  OwClient     *client;
  GCancellable *cancellable;
  char         *idempotency_key;  /* one per application: a retry is the same request */
  Mode          mode;
  gboolean      unknown;          /* a change sent, and no answer came */
  gboolean      sending;
};

G_DEFINE_FINAL_TYPE (OwApplyDialog, ow_apply_dialog, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_APPLIED,
  SIGNAL_CHANGED,
  SIGNAL_UNRECOVERABLE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The answer to an application sent again under its key, refused. TRUE when
 * it is said here. */
static gboolean
refused_replay (OwApplyDialog *self,
                const GError  *error)
{
  const char *code = ow_api_error_get_code (error);

  /* the key's record holds another body: another card password */
  if (g_strcmp0 (code, "idempotency_key_reused") == 0)
    {
      ow_ui_show_error (self->error_label,
                        _("This is not the card password you chose when you applied."));
      ow_ui_clear_editable (self->password_row);
      ow_ui_clear_editable (self->confirm_row);
      gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
      return TRUE;
    }
  if (g_strcmp0 (code, "idempotency_in_flight") == 0)
    {
      ow_ui_show_error (self->error_label,
                        _("onepin is still answering the application. Try again in a moment."));
      return TRUE;
    }
  /* The gateway no longer knows the key (it keeps an answer three days), so
   * it took this for a new application, and the user has a card. */
  if (self->mode == MODE_FINISH && g_strcmp0 (code, "card_already_issued") == 0)
    {
      g_signal_emit (self, signals[SIGNAL_UNRECOVERABLE], 0);
      gtk_window_destroy (GTK_WINDOW (self));
      return TRUE;
    }
  return FALSE;
}

/* While a change's outcome is unknown only the same request may go again:
 * the passwords stay as they were sent. */
static void
set_change_unknown (OwApplyDialog *self,
                    gboolean       unknown)
{
  self->unknown = unknown;
  gtk_editable_set_editable (self->account_row, !unknown);
  gtk_editable_set_editable (self->password_row, !unknown);
  gtk_editable_set_editable (self->confirm_row, !unknown);
  ow_ui_set_button_label (self->apply_button, unknown ? _("_Try Again") : _("C_hange"));
  if (unknown)
    return;
  /* the next change is a new request */
  ow_secret_free (self->idempotency_key);
  self->idempotency_key = ow_client_new_idempotency_key ();
}

static void
set_sending (OwApplyDialog *self,
             gboolean       sending)
{
  self->sending = sending;
  ow_ui_set_sending (self->cancel_button, self->apply_button, self->spinner, sending);
}

static void
on_applied (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(OwApplyDialog) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwCard) card = self->mode == MODE_CHANGE
    ? ow_client_change_card_password_finish (OW_CLIENT (source), result, &error)
    : ow_client_apply_card_finish (OW_CLIENT (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_sending (self, FALSE);
  if (self->mode == MODE_CHANGE)
    set_change_unknown (self,
                        card == NULL && ow_ui_change_outcome_unknown (error, self->unknown));
  if (self->unknown)
    {
      ow_ui_show_error (self->error_label,
                        _("The gateway did not answer, so it is not known whether the card "
                          "password was changed. Choose Try Again to find out: the same request "
                          "goes again."));
      gtk_widget_grab_focus (GTK_WIDGET (self->apply_button));
      return;
    }
  if (card == NULL && self->mode == MODE_CHANGE &&
      g_strcmp0 (ow_api_error_get_param (error), "current_password") == 0)
    {
      /* "the current password", in this dialog, would read as the card's */
      ow_ui_show_error (self->error_label, _("The password you sign in with is wrong."));
      ow_ui_clear_editable (self->account_row);
      gtk_widget_grab_focus (GTK_WIDGET (self->account_row));
      return;
    }
  if (card == NULL && self->mode != MODE_CHANGE && refused_replay (self, error))
    return;
  if (card == NULL)
    {
      g_autofree char *message = ow_ui_error_message (error);

      ow_ui_show_error (self->error_label, message);
      return;
    }

  g_signal_emit (self, signals[self->mode == MODE_CHANGE ? SIGNAL_CHANGED : SIGNAL_APPLIED], 0,
                 card);
  gtk_window_destroy (GTK_WINDOW (self));
}

/* Before an application leaves, its key goes into the vault: its answer
 * may come when the vault is locked, or not at all, and the key is what
 * asks for it again. Nothing is sent if it cannot be kept. */
static gboolean
keep_application (OwApplyDialog *self)
{
  OwApplication *app = ow_ui_get_application (GTK_WIDGET (self));
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *message = NULL;

  if (app != NULL && ow_application_save_pending_card (app, self->idempotency_key, &error))
    return TRUE;
  reason = error != NULL ? ow_ui_error_message (error) : g_strdup ("");
  /* TRANSLATORS: the reason follows */
  message = g_strdup_printf (_("Nothing was sent: the application could not be kept in the "
                               "vault. %s"), reason);
  ow_ui_show_error (self->error_label, message);
  return FALSE;
}

static gboolean
check_chosen_password (OwApplyDialog *self)
{
  const char *password = gtk_editable_get_text (self->password_row);
  glong len = g_utf8_strlen (password, -1);

  if (self->mode != MODE_FINISH)
    return ow_ui_check_new_password (self->password_row, self->confirm_row, 4, 64,
                                     _("The card password needs 4 to 64 characters."),
                                     self->error_label);
  /* the one chosen then: no confirmation, but it had 4 to 64 characters */
  if (len < 4 || len > 64)
    {
      ow_ui_show_error (self->error_label,
                        len == 0 ? _("Enter the card password you chose when you applied.")
                                 : _("Card passwords have 4 to 64 characters."));
      gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
      return FALSE;
    }
  ow_ui_show_error (self->error_label, NULL);
  return TRUE;
}

static void
on_apply (OwApplyDialog *self)
{
  const char *password = gtk_editable_get_text (self->password_row);
  const char *account = gtk_editable_get_text (self->account_row);
  gboolean changing = self->mode == MODE_CHANGE;

  if (!gtk_widget_get_sensitive (GTK_WIDGET (self->apply_button)))
    return;
  if (changing && account[0] == '\0')
    {
      ow_ui_show_error (self->error_label, _("Enter the password you sign in with."));
      gtk_widget_grab_focus (GTK_WIDGET (self->account_row));
      return;
    }
  if (!check_chosen_password (self))
    return;
  /* Every shop the card pays at is given its password. */
  if (changing && g_strcmp0 (account, password) == 0)
    {
      ow_ui_show_error (self->error_label,
                        _("Shops are given the card password: do not use the one you sign in "
                          "with."));
      gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
      return;
    }
  if (self->mode == MODE_APPLY && !keep_application (self))
    return;

  set_sending (self, TRUE);
  if (changing)
    ow_client_change_card_password_async (self->client, account, password,
                                          self->idempotency_key, self->cancellable, on_applied,
                                          g_object_ref (self));
  else
    ow_client_apply_card_async (self->client, password, self->idempotency_key, self->cancellable,
                                on_applied, g_object_ref (self));
}

static gboolean
on_close_request (OwApplyDialog *self)
{
  return self->sending;
}

static void
ow_apply_dialog_dispose (GObject *object)
{
  OwApplyDialog *self = OW_APPLY_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), OW_TYPE_APPLY_DIALOG);

  G_OBJECT_CLASS (ow_apply_dialog_parent_class)->dispose (object);
}

static void
ow_apply_dialog_finalize (GObject *object)
{
  OwApplyDialog *self = OW_APPLY_DIALOG (object);

  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  ow_secret_free (self->idempotency_key);

  G_OBJECT_CLASS (ow_apply_dialog_parent_class)->finalize (object);
}

static void
ow_apply_dialog_class_init (OwApplyDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ow_apply_dialog_dispose;
  object_class->finalize = ow_apply_dialog_finalize;

  signals[SIGNAL_APPLIED] = g_signal_new ("applied", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_UNRECOVERABLE] = g_signal_new ("unrecoverable", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/onepin/Wallet/ui/ow-apply-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, OwApplyDialog, intro_label);
  gtk_widget_class_bind_template_child (widget_class, OwApplyDialog, account_row);
  gtk_widget_class_bind_template_child (widget_class, OwApplyDialog, password_row);
  gtk_widget_class_bind_template_child (widget_class, OwApplyDialog, confirm_row);
  gtk_widget_class_bind_template_child (widget_class, OwApplyDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, OwApplyDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, OwApplyDialog, apply_button);
  gtk_widget_class_bind_template_child (widget_class, OwApplyDialog, spinner);
  gtk_widget_class_bind_template_callback (widget_class, on_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_close_request);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ow_apply_dialog_init (OwApplyDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  ow_ui_name_controls (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

static OwApplyDialog *
new_dialog (OwClient   *client,
            Mode        mode,
            const char *idempotency_key,
            GtkWindow  *parent)
{
  OwApplyDialog *self = g_object_new (OW_TYPE_APPLY_DIALOG, "transient-for", parent, NULL);

  self->client = g_object_ref (client);
  self->mode = mode;
  self->idempotency_key = idempotency_key != NULL ? g_strdup (idempotency_key)
                                                  : ow_client_new_idempotency_key ();
  return self;
}

/* An application; under @idempotency_key when one sent before got no answer
 * and the gateway shows no card (it may not have reached it), else a new key. */
OwApplyDialog *
ow_apply_dialog_new (OwClient   *client,
                     const char *idempotency_key,
                     GtkWindow  *parent)
{
  OwApplyDialog *self = new_dialog (client, MODE_APPLY, idempotency_key, parent);

  if (idempotency_key != NULL)
    gtk_label_set_text (self->intro_label,
                        _("Your last application got no answer. Enter the card password you "
                          "chose then: if that application reached onepin, this finishes it; "
                          "if not, this applies with it. Use 4 to 64 characters, and not your "
                          "master password."));
  return self;
}

/* The same dialog for a new password of the card applied for: "changed"
 * instead of "applied", with the card as the gateway shows it (no number). */
OwApplyDialog *
ow_apply_dialog_new_change (OwClient  *client,
                            GtkWindow *parent)
{
  OwApplyDialog *self = new_dialog (client, MODE_CHANGE, NULL, parent);

  gtk_window_set_title (GTK_WINDOW (self), _("Change Card Password"));
  gtk_label_set_text (self->intro_label,
                      _("Choose a new card password, 4 to 64 characters, and not the password "
                        "you sign in with. Shops that saw the old one can no longer use it. The "
                        "password you sign in with proves the card is yours."));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->password_row), _("New Card Password"));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->confirm_row),
                                 _("Confirm New Card Password"));
  gtk_widget_set_visible (GTK_WIDGET (self->account_row), TRUE);
  ow_ui_set_button_label (self->apply_button, _("C_hange"));
  return self;
}

/* The application sent under @idempotency_key, whose card the gateway shows
 * but whose number never reached the vault: "applied" with the number and
 * CVC answered again, or "unrecoverable" when the gateway no longer has
 * that answer. */
OwApplyDialog *
ow_apply_dialog_new_finish (OwClient   *client,
                            const char *idempotency_key,
                            GtkWindow  *parent)
{
  OwApplyDialog *self;

  g_return_val_if_fail (idempotency_key != NULL, NULL);

  self = new_dialog (client, MODE_FINISH, idempotency_key, parent);
  gtk_window_set_title (GTK_WINDOW (self), _("Finish Card Application"));
  gtk_label_set_text (self->intro_label,
                      _("Your card was issued, but its number did not reach this computer. Enter "
                        "the card password you chose when you applied, and onepin shows the "
                        "number and CVC once more."));
  gtk_widget_set_visible (GTK_WIDGET (self->confirm_row), FALSE);
  g_signal_connect_swapped (self->password_row, "entry-activated", G_CALLBACK (on_apply), self);
  ow_ui_set_button_label (self->apply_button, _("_Finish"));
  return self;
}
