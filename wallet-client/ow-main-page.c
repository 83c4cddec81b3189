/* ow-main-page.c: the representative card, funding sources, receipts, history
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Everything shown comes from the gateway on every refresh (on unlock, on
 * sign-in, after every change, and on F5); nothing of it is cached on disk.
 * The vault only keeps what the gateway shows once: the card's full number
 * and CVC, and the funding details as entered; and, until the number is
 * in, the key of the application that asked for it (ow-pending-card.h).
 */
#include "ow-main-page.h"

#include <string.h>

#include <glib/gi18n.h>

#include "ow-apply-dialog.h"
#include "ow-charge-dialog.h"
#include "ow-funding-dialog.h"
#include "ow-ui.h"

#define HISTORY_PAGE 20
#define REVEAL_SECONDS 30

static const char *const receipt_channels[] = { "email", "sms", "none" };

struct _OwMainPage
{
  AdwBin           parent_instance;

  GtkStack        *card_stack;
  GtkSpinner      *card_spinner;
  GtkLabel        *state_label;
  GtkLabel        *number_label;
  GtkLabel        *validity_label;
  GtkLabel        *balance_label;
  GtkLabel        *details_label;
  GtkLabel        *card_error_label;
  GtkButton       *charge_button;
  GtkButton       *card_password_button;
  GtkToggleButton *reveal_button;
  GtkListBox      *finish_list;
  GtkListBox      *funding_list;
  AdwComboRow     *receipt_row;
  GtkListBox      *history_list;
  GtkButton       *more_button;

  GCancellable    *cancellable;   /* of everything under way; replaced by clear */
  OwCard          *card;
  GPtrArray       *sources;       /* OwFundingSource* */
  GHashTable      *removing;      /* ids of the sources whose removal is out */
  char            *receipt_channel;
  char            *history_cursor;
  guint            reveal_source;
  gboolean         setting_receipt; /* the combo changes because we set it */
};

G_DEFINE_FINAL_TYPE (OwMainPage, ow_main_page, ADW_TYPE_BIN)

enum
{
  SIGNAL_SESSION_ENDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static OwClient *
client (OwMainPage *self)
{
  OwApplication *app = ow_ui_get_application (GTK_WIDGET (self));

  return app != NULL ? ow_application_get_client (app, NULL) : NULL;
}

static OwVault *
vault (OwMainPage *self)
{
  return ow_application_get_vault (ow_ui_get_application (GTK_WIDGET (self)));
}

/* FALSE (after saying so) when @error ends the session or the page was
 * cleared meanwhile; the caller then leaves everything as it is. */
static gboolean
still_wanted (OwMainPage   *self,
              const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FALSE;
  if (ow_ui_session_ended (error))
    {
      ow_main_page_clear (self);
      g_signal_emit (self, signals[SIGNAL_SESSION_ENDED], 0);
      return FALSE;
    }
  return TRUE;
}

static void
toast_error (OwMainPage   *self,
             const GError *error)
{
  g_autofree char *message = ow_ui_error_message (error);

  ow_ui_toast (GTK_WIDGET (self), message);
}

static void
remove_all_rows (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

static GtkWidget *
placeholder_row (const char *text)
{
  GtkWidget *row = ow_plain_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), text);
  gtk_widget_add_css_class (row, "dim-label");
  return row;
}

/* ---- the card ----------------------------------------------------------- */

static void
hide_number (OwMainPage *self)
{
  g_clear_handle_id (&self->reveal_source, g_source_remove);
  if (self->card != NULL)
    gtk_label_set_text (self->number_label, self->card->masked_number);
  else
    gtk_label_set_text (self->number_label, "");
  if (gtk_toggle_button_get_active (self->reveal_button))
    gtk_toggle_button_set_active (self->reveal_button, FALSE);
}

static void
show_card (OwMainPage *self)
{
  OwCard *card = self->card;
  g_autofree char *balance = ow_format_money (card->balance, card->currency);
  g_autofree char *available = ow_format_money (card->available, card->currency);
  g_autofree char *validity = g_strdup_printf (_("Valid thru %02d/%02d"), card->exp_month,
                                               card->exp_year % 100);
  g_autofree char *points = g_strdup_printf ("%'" G_GINT64_FORMAT, card->points);
  g_autofree char *details = NULL;
  gboolean active = g_strcmp0 (card->state, "active") == 0;

  if (card->held > 0)
    {
      g_autofree char *held = ow_format_money (card->held, card->currency);

      /* TRANSLATORS: available amount, amount on hold, points */
      details = g_strdup_printf (_("Available %s (%s on hold) · %s points"), available, held, points);
    }
  else
    /* TRANSLATORS: available amount, points */
    details = g_strdup_printf (_("Available %s · %s points"), available, points);

  hide_number (self);
  gtk_label_set_text (self->validity_label, validity);
  gtk_label_set_text (self->balance_label, balance);
  gtk_label_set_text (self->details_label, details);
  gtk_label_set_text (self->state_label, active ? "" : card->state);
  gtk_widget_set_visible (GTK_WIDGET (self->state_label), !active);
  gtk_widget_set_sensitive (GTK_WIDGET (self->charge_button), active);
  /* a lock is what a new password lifts; a closed or expired card has none to change */
  gtk_widget_set_sensitive (GTK_WIDGET (self->card_password_button),
                            g_strcmp0 (card->state, "closed") != 0 &&
                            g_strcmp0 (card->state, "expired") != 0);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->balance_label),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, balance, -1);
  gtk_stack_set_visible_child_name (self->card_stack, "card");
}

/* TRUE when the vault holds the card's number (the ids are not sealed). */
static gboolean
number_stored (OwMainPage *self)
{
  g_auto(GStrv) ids = ow_vault_list (vault (self), OW_VAULT_KIND_CARD, NULL);

  return ids != NULL && g_strv_contains ((const char *const *) ids, self->card->id);
}

/* The card the gateway shows, without its number here, and the key of an
 * application kept: the number can be asked for again. A key kept beside
 * a number stored (a crash between the two) is let go. */
static void
show_finish (OwMainPage *self)
{
  OwApplication *app = ow_ui_get_application (GTK_WIDGET (self));
  g_autoptr(OwSecret) key = app != NULL ? ow_application_dup_pending_card (app) : NULL;
  gboolean stored = number_stored (self);

  if (key != NULL && stored)
    ow_application_clear_pending_card (app);
  gtk_widget_set_visible (GTK_WIDGET (self->finish_list), key != NULL && !stored);
}

static void
on_card (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(OwMainPage) self = data;
  g_autoptr(GError) error = NULL;
  OwCard *card = ow_client_get_card_finish (OW_CLIENT (source), result, &error);

  if (card == NULL && !still_wanted (self, error))
    return;

  g_clear_pointer (&self->card, ow_card_free);
  if (card != NULL)
    {
      self->card = card;
      show_card (self);
      show_finish (self);
    }
  else if (g_error_matches (error, OW_API_ERROR, OW_API_ERROR_NOT_FOUND))
    gtk_stack_set_visible_child_name (self->card_stack, "no-card");
  else
    {
      g_autofree char *message = ow_ui_error_message (error);

      gtk_label_set_text (self->card_error_label, message);
      gtk_stack_set_visible_child_name (self->card_stack, "error");
    }
}

static void
load_card (OwMainPage *self)
{
  OwClient *c = client (self);

  if (c != NULL)
    ow_client_get_card_async (c, self->cancellable, on_card, g_object_ref (self));
}

static gboolean
on_reveal_timeout (gpointer data)
{
  OwMainPage *self = data;

  self->reveal_source = 0;
  hide_number (self);
  return G_SOURCE_REMOVE;
}

/* The full number and CVC are only where the card was applied for: the
 * gateway shows them once, and the vault keeps them sealed. */
static void
on_reveal_toggled (OwMainPage *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwSecret) record = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(OwSecret) formatted = NULL;
  JsonObject *object;

  if (!gtk_toggle_button_get_active (self->reveal_button) || self->card == NULL)
    {
      hide_number (self);
      return;
    }

  record = ow_vault_lookup (vault (self), OW_VAULT_KIND_CARD, self->card->id, &error);
  if (record == NULL || !json_parser_load_from_data (parser, record, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      if (!g_error_matches (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NOT_FOUND))
        ow_ui_toast (GTK_WIDGET (self), _("The card number could not be read from the vault."));
      else if (gtk_widget_get_visible (GTK_WIDGET (self->finish_list)))
        ow_ui_toast (GTK_WIDGET (self), _("Finish the card application to see the number."));
      else
        ow_ui_toast (GTK_WIDGET (self),
                     _("The full number is only on the computer that applied for the card."));
      gtk_toggle_button_set_active (self->reveal_button, FALSE);
      return;
    }

  object = json_node_get_object (json_parser_get_root (parser));
  {
    const char *n = json_object_get_string_member_with_default (object, "number", "");
    const char *cvc = json_object_get_string_member_with_default (object, "cvc", "");

    /* TRANSLATORS: the card number in groups of four, then the CVC */
    formatted = g_strdup_printf (_("%.4s %.4s %.4s %.4s  CVC %s"), n, n + MIN (strlen (n), 4),
                                 n + MIN (strlen (n), 8), n + MIN (strlen (n), 12), cvc);
  }
  /* the label keeps a copy of its own, which GTK frees as it is */
  gtk_label_set_text (self->number_label, formatted);
  ow_secret_json_wipe (object);
  self->reveal_source = g_timeout_add_seconds (REVEAL_SECONDS, on_reveal_timeout, self);
}

/* The number and CVC, answered once. The dialog wipes them after this; the
 * application's key stays until they are stored, so a vault locked (the
 * answer came after a lock took the dialog away) or failing loses nothing:
 * the main page offers to finish the application. */
static void
on_applied (OwApplyDialog *dialog,
            OwCard        *card,
            OwMainPage    *self)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(OwSecret) text = NULL;
  g_autoptr(GError) error = NULL;

  if (ow_vault_is_locked (vault (self)))
    {
      /* held until the unlock; nothing shows meanwhile */
      ow_ui_toast (GTK_WIDGET (self),
                   _("Your card was issued while the wallet was locked. Finish the application "
                     "to see its number."));
      return;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "number");
  json_builder_add_string_value (builder, card->number);
  json_builder_set_member_name (builder, "cvc");
  json_builder_add_string_value (builder, card->cvc);
  json_builder_end_object (builder);
  text = ow_secret_json_builder_finish (builder, NULL);

  if (!ow_vault_store (vault (self), OW_VAULT_KIND_CARD, card->id, text, &error))
    {
      g_autofree char *reason = ow_ui_error_message (error);
      /* TRANSLATORS: the reason follows */
      g_autofree char *message = g_strdup_printf (_("The card number could not be saved: %s "
                                                    "Finish the application to try again."),
                                                  reason);

      ow_ui_toast (GTK_WIDGET (self), message);
    }
  else
    {
      ow_application_clear_pending_card (ow_ui_get_application (GTK_WIDGET (self)));
      ow_ui_toast (GTK_WIDGET (self), _("Your representative card is ready."));
    }
  ow_main_page_refresh (self);
}

/* Finishing found the gateway without the answer: it keeps one for three
 * days. The card is there (the gateway said so), its number is not. */
static void
on_unrecoverable (OwApplyDialog *dialog,
                  OwMainPage    *self)
{
  OwApplication *app = ow_ui_get_application (GTK_WIDGET (self));
  GtkWidget *message;

  if (app == NULL || ow_vault_is_locked (vault (self)))
    return;
  ow_application_clear_pending_card (app);
  gtk_widget_set_visible (GTK_WIDGET (self->finish_list), FALSE);

  message = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                    _("The Card Number Cannot Be Shown"),
                                    _("onepin keeps the answer to a card application for three "
                                      "days, and this one is no longer there (or the card was "
                                      "applied for from another computer). Your card and its "
                                      "balance are yours, but its number and CVC cannot be shown "
                                      "on this computer."));
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (message), "close", _("_Close"));
  ow_application_adopt_window (app, GTK_WINDOW (message));
  gtk_window_present (GTK_WINDOW (message));
}

static void
on_card_password_changed (OwApplyDialog *dialog,
                          OwCard        *card,
                          OwMainPage    *self)
{
  ow_ui_toast (GTK_WIDGET (self), _("The card password is changed. Give the new one from now on."));
  ow_main_page_refresh (self);
}

static void
present_dialog (OwMainPage    *self,
                OwApplyDialog *dialog)
{
  ow_application_adopt_window (ow_ui_get_application (GTK_WIDGET (self)), GTK_WINDOW (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* An application, or the finishing of one whose key is kept. With no card
 * on the gateway, a key kept is an application that may not have reached
 * it: the ordinary dialog sends it again under that key. */
static void
open_application (OwMainPage *self,
                  gboolean    finishing)
{
  OwClient *c = client (self);
  GtkWindow *parent = GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self)));
  g_autoptr(OwSecret) key = NULL;
  OwApplyDialog *dialog;

  if (c == NULL)
    return;
  key = ow_application_dup_pending_card (ow_ui_get_application (GTK_WIDGET (self)));
  if (finishing && key == NULL)
    {
      ow_main_page_refresh (self);
      return;
    }
  dialog = finishing ? ow_apply_dialog_new_finish (c, key, parent)
                     : ow_apply_dialog_new (c, key, parent);
  g_signal_connect_object (dialog, "applied", G_CALLBACK (on_applied), self, 0);
  g_signal_connect_object (dialog, "unrecoverable", G_CALLBACK (on_unrecoverable), self, 0);
  present_dialog (self, dialog);
}

static void
on_apply_clicked (OwMainPage *self)
{
  open_application (self, FALSE);
}

static void
on_finish_clicked (OwMainPage *self)
{
  open_application (self, TRUE);
}

static void
on_card_password_clicked (OwMainPage *self)
{
  OwClient *c = client (self);
  OwApplyDialog *dialog;

  if (c == NULL)
    return;
  dialog = ow_apply_dialog_new_change (c, GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))));
  g_signal_connect_object (dialog, "changed", G_CALLBACK (on_card_password_changed), self, 0);
  present_dialog (self, dialog);
}

static void
on_charged (OwChargeDialog *dialog,
            OwCharge       *charge,
            OwMainPage     *self)
{
  g_autofree char *amount = ow_format_money (charge->amount, charge->currency);
  g_autofree char *balance = ow_format_money (charge->balance_after, charge->currency);
  /* TRANSLATORS: the amount charged, then the card's new balance */
  g_autofree char *message = g_strdup_printf (_("Charged %s. The balance is %s."), amount, balance);

  ow_ui_toast (GTK_WIDGET (self), message);
  ow_main_page_refresh (self);
}

static void
on_charge_clicked (OwMainPage *self)
{
  OwClient *c = client (self);
  g_autoptr(OwPendingCharge) pending = NULL;
  OwChargeDialog *dialog;

  if (c == NULL)
    return;
  if (self->sources == NULL || self->sources->len == 0)
    {
      ow_ui_toast (GTK_WIDGET (self), _("Add a credit card or bank account to charge from first."));
      return;
    }

  /* sent, its outcome unknown (even before a quit): the dialog resumes it */
  pending = ow_application_dup_pending_charge (ow_ui_get_application (GTK_WIDGET (self)));
  dialog = ow_charge_dialog_new (c, self->sources, pending,
                                 GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))));
  g_signal_connect_object (dialog, "charged", G_CALLBACK (on_charged), self, 0);
  ow_application_adopt_window (ow_ui_get_application (GTK_WIDGET (self)), GTK_WINDOW (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- funding sources ---------------------------------------------------- */

static char *
funding_title (const OwFundingSource *source)
{
  const char *bank;

  if (source->type == OW_FUNDING_CREDIT_CARD)
    return g_strdup (_("Credit Card"));

  bank = ow_funding_bank_name (source->bank_code);
  return g_strdup (bank != NULL ? bank : _("Bank Account"));
}

static char *
funding_subtitle (const OwFundingSource *source)
{
  if (source->type == OW_FUNDING_CREDIT_CARD)
    /* TRANSLATORS: masked card number, expiry month and year */
    return g_strdup_printf (_("%s · expires %02d/%02d"), source->masked_number,
                            source->exp_month, source->exp_year % 100);
  return g_strdup (source->masked_number);
}

static void delete_source (OwMainPage *self, const char *id);

static void
on_delete_response (AdwMessageDialog *dialog,
                    const char       *response,
                    OwMainPage       *self)
{
  if (g_str_equal (response, "remove"))
    delete_source (self, g_object_get_data (G_OBJECT (dialog), "source-id"));
}

static void
on_remove_clicked (GtkButton  *button,
                   OwMainPage *self)
{
  const char *id = g_object_get_data (G_OBJECT (button), "source-id");
  const char *title = g_object_get_data (G_OBJECT (button), "source-title");
  g_autofree char *body = g_strdup_printf (_("%s can no longer top up your card. Past charges stay in the history."),
                                           title);
  GtkWidget *dialog = ow_ui_confirm_new (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                         _("Remove Funding Source?"), body,
                                         "remove", _("_Remove"));

  g_object_set_data_full (G_OBJECT (dialog), "source-id", g_strdup (id), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_delete_response), self, 0);
  ow_application_adopt_window (ow_ui_get_application (GTK_WIDGET (self)), GTK_WINDOW (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
}

static GtkWidget *
funding_row (OwMainPage            *self,
             const OwFundingSource *source)
{
  GtkWidget *row = ow_plain_action_row_new ();
  GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
  g_autofree char *title = funding_title (source);
  g_autofree char *subtitle = funding_subtitle (source);
  /* TRANSLATORS: "Remove Credit Card •••• 1111" */
  g_autofree char *remove_label = g_strdup_printf (_("Remove %s %s"), title, source->masked_number);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (remove, "flat");
  gtk_widget_set_tooltip_text (remove, remove_label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  remove_label, -1);
  g_object_set_data_full (G_OBJECT (remove), "source-id", g_strdup (source->id), g_free);
  g_object_set_data_full (G_OBJECT (remove), "source-title",
                          g_strdup_printf ("%s %s", title, source->masked_number), g_free);
  g_signal_connect_object (remove, "clicked", G_CALLBACK (on_remove_clicked), self, 0);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
  gtk_widget_set_name (row, source->id);
  return row;
}

static void
show_sources (OwMainPage *self)
{
  remove_all_rows (self->funding_list);
  if (self->sources == NULL || self->sources->len == 0)
    {
      gtk_list_box_append (self->funding_list,
                           placeholder_row (_("No credit card or bank account yet")));
      return;
    }
  for (guint i = 0; i < self->sources->len; i++)
    gtk_list_box_append (self->funding_list, funding_row (self, g_ptr_array_index (self->sources, i)));
}

static gboolean
source_listed (OwMainPage *self,
               const char *id)
{
  for (guint i = 0; i < self->sources->len; i++)
    if (g_strcmp0 (((OwFundingSource *) g_ptr_array_index (self->sources, i))->id, id) == 0)
      return TRUE;
  return FALSE;
}

/* A removal whose answer never came (a lock cut it off, the wallet was
 * closed) leaves its mark in the vault, and the gateway's list tells how
 * it went: a source no longer listed is gone, and its details go from the
 * vault too; one still listed stays, to charge from. A removal still out
 * is left to its own answer: this list may be older than it. */
static void
settle_removals (OwMainPage *self)
{
  OwVault *v = vault (self);
  g_auto(GStrv) ids = NULL;

  if (v == NULL || ow_vault_is_locked (v))
    return;
  ids = ow_vault_list (v, OW_VAULT_KIND_REMOVAL, NULL);
  for (guint i = 0; ids != NULL && ids[i] != NULL; i++)
    {
      if (g_hash_table_contains (self->removing, ids[i]))
        continue;
      if (!source_listed (self, ids[i]))
        ow_vault_remove (v, OW_VAULT_KIND_FUNDING, ids[i], NULL);
      ow_vault_remove (v, OW_VAULT_KIND_REMOVAL, ids[i], NULL);
    }
}

static void
on_sources (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(OwMainPage) self = data;
  g_autoptr(GError) error = NULL;
  GPtrArray *sources = ow_client_list_funding_sources_finish (OW_CLIENT (source), result, &error);

  if (sources == NULL)
    {
      if (still_wanted (self, error))
        toast_error (self, error);
      return;
    }

  g_clear_pointer (&self->sources, g_ptr_array_unref);
  self->sources = sources;
  settle_removals (self);
  show_sources (self);
}

static void
load_sources (OwMainPage *self)
{
  OwClient *c = client (self);

  if (c != NULL)
    ow_client_list_funding_sources_async (c, self->cancellable, on_sources, g_object_ref (self));
}

/* A removal on its way to the gateway: the source's id, for its vault
 * record. */
typedef struct
{
  OwMainPage *page;
  char       *id;
} Removal;

static void
removal_free (Removal *removal)
{
  g_object_unref (removal->page);
  g_free (removal->id);
  g_free (removal);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Removal, removal_free)

static void
on_deleted (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(Removal) removal = data;
  OwMainPage *self = removal->page;
  g_autoptr(GError) error = NULL;

  g_hash_table_remove (self->removing, removal->id);
  if (!ow_client_delete_funding_source_finish (OW_CLIENT (source), result, &error))
    {
      if (!still_wanted (self, error))
        return;
      /* the gateway's words are about charging; this was a removal */
      if (g_strcmp0 (ow_api_error_get_code (error), "charge_in_progress") == 0)
        ow_ui_toast (GTK_WIDGET (self), _("A charge is still running. Remove the funding source "
                                          "once it has finished."));
      else
        toast_error (self, error);
      return;
    }
  /* Gone at the gateway: its details go from here too. Not before, as the
   * gateway may refuse, and the source stays then, to charge from. */
  if (!ow_vault_is_locked (vault (self)))
    {
      ow_vault_remove (vault (self), OW_VAULT_KIND_FUNDING, removal->id, NULL);
      ow_vault_remove (vault (self), OW_VAULT_KIND_REMOVAL, removal->id, NULL);
    }
  ow_ui_toast (GTK_WIDGET (self), _("Removed."));
  load_sources (self);
}

static void
delete_source (OwMainPage *self,
               const char *id)
{
  OwClient *c = client (self);
  Removal *removal;

  if (c == NULL || id == NULL)
    return;
  /* Its mark outlives a lock or an exit that cuts the answer off
   * (settle_removals). */
  ow_vault_store (vault (self), OW_VAULT_KIND_REMOVAL, id, "funding", NULL);
  g_hash_table_add (self->removing, g_strdup (id));
  removal = g_new0 (Removal, 1);
  removal->page = g_object_ref (self);
  removal->id = g_strdup (id);
  ow_client_delete_funding_source_async (c, id, self->cancellable, on_deleted, removal);
}

static void
on_funding_added (OwFundingDialog *dialog,
                  OwFundingSource *source,
                  const char      *details,
                  OwMainPage      *self)
{
  g_autoptr(GError) error = NULL;

  if (!ow_vault_store (vault (self), OW_VAULT_KIND_FUNDING, source->id, details, &error))
    toast_error (self, error);
  load_sources (self);
}

static void
add_funding (OwMainPage    *self,
             OwFundingType  type)
{
  OwClient *c = client (self);
  OwFundingDialog *dialog;

  if (c == NULL)
    return;
  dialog = ow_funding_dialog_new (c, type, GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))));
  g_signal_connect_object (dialog, "added", G_CALLBACK (on_funding_added), self, 0);
  ow_application_adopt_window (ow_ui_get_application (GTK_WIDGET (self)), GTK_WINDOW (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
add_credit_card_activated (GtkWidget  *widget,
                           const char *action_name,
                           GVariant   *parameter)
{
  add_funding (OW_MAIN_PAGE (widget), OW_FUNDING_CREDIT_CARD);
}

static void
add_bank_account_activated (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *parameter)
{
  add_funding (OW_MAIN_PAGE (widget), OW_FUNDING_BANK_ACCOUNT);
}

/* ---- receipts ----------------------------------------------------------- */

static void
show_receipt_channel (OwMainPage *self)
{
  self->setting_receipt = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (receipt_channels); i++)
    if (g_strcmp0 (self->receipt_channel, receipt_channels[i]) == 0)
      adw_combo_row_set_selected (self->receipt_row, i);
  self->setting_receipt = FALSE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->receipt_row), self->receipt_channel != NULL);
}

static void
take_profile (OwMainPage *self,
              OwProfile  *profile)
{
  g_free (self->receipt_channel);
  self->receipt_channel = g_strdup (profile->receipt_channel);
  show_receipt_channel (self);
  ow_profile_free (profile);
}

static void
on_profile (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(OwMainPage) self = data;
  g_autoptr(GError) error = NULL;
  OwProfile *profile = ow_client_get_profile_finish (OW_CLIENT (source), result, &error);

  if (profile != NULL)
    take_profile (self, profile);
  else if (still_wanted (self, error))
    toast_error (self, error);
}

static void
on_receipt_updated (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  g_autoptr(OwMainPage) self = data;
  g_autoptr(GError) error = NULL;
  OwProfile *profile = ow_client_update_profile_finish (OW_CLIENT (source), result, &error);

  gtk_widget_set_sensitive (GTK_WIDGET (self->receipt_row), TRUE);
  if (profile == NULL)
    {
      if (!still_wanted (self, error))
        return;
      toast_error (self, error);
      show_receipt_channel (self);    /* back to what the gateway has */
      return;
    }
  take_profile (self, profile);
  ow_ui_toast (GTK_WIDGET (self), _("Receipt setting saved."));
}

static void
on_receipt_selected (OwMainPage *self)
{
  guint selected = adw_combo_row_get_selected (self->receipt_row);
  OwClient *c = client (self);

  if (self->setting_receipt || c == NULL || selected >= G_N_ELEMENTS (receipt_channels) ||
      g_strcmp0 (receipt_channels[selected], self->receipt_channel) == 0)
    return;

  gtk_widget_set_sensitive (GTK_WIDGET (self->receipt_row), FALSE);
  ow_client_update_profile_async (c, NULL, NULL, NULL, receipt_channels[selected], NULL,
                                  self->cancellable, on_receipt_updated, g_object_ref (self));
}

/* ---- history ------------------------------------------------------------ */

static char *
transaction_title (const OwTransaction *t)
{
  if (g_str_equal (t->type, "charge"))
    return t->funding_last4 != NULL
           ? g_strdup_printf (t->funding_type == OW_FUNDING_BANK_ACCOUNT
                              ? _("Charge from account ••%s") : _("Charge from card ••%s"),
                              t->funding_last4)
           : g_strdup (_("Charge"));
  if (g_str_equal (t->type, "payment"))
    return g_strdup (t->merchant_name != NULL ? t->merchant_name : _("Payment"));
  if (g_str_equal (t->type, "refund"))
    return t->merchant_name != NULL ? g_strdup_printf (_("Refund from %s"), t->merchant_name)
                                    : g_strdup (_("Refund"));
  if (g_str_equal (t->type, "recharge"))
    return g_strdup (_("Recharge"));
  if (g_str_equal (t->type, "issue"))
    return g_strdup (_("Card issued"));
  return g_strdup (t->type);
}

static GtkWidget *
transaction_row (const OwTransaction *t)
{
  GtkWidget *row = ow_plain_action_row_new ();
  GtkWidget *amount_label;
  g_autofree char *title = transaction_title (t);
  g_autofree char *when = ow_ui_format_time (t->created);
  g_autofree char *balance = ow_format_money (t->balance_after, t->currency);
  g_autofree char *amount = ow_format_money (t->amount, t->currency);
  g_autofree char *signed_amount = t->amount > 0 ? g_strconcat ("+", amount, NULL) : g_strdup (amount);
  /* TRANSLATORS: date and time, then the balance after the transaction */
  g_autofree char *subtitle = g_strdup_printf (_("%s · balance %s"), when, balance);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  amount_label = gtk_label_new (signed_amount);
  gtk_widget_add_css_class (amount_label, t->amount > 0 ? "ow-amount-in" : "ow-amount-out");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), amount_label);
  gtk_widget_set_name (row, t->id);
  return row;
}

static void
on_history (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(OwMainPage) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwHistoryPage) page = ow_client_history_finish (OW_CLIENT (source), result, &error);
  gboolean first = self->history_cursor == NULL;

  gtk_widget_set_sensitive (GTK_WIDGET (self->more_button), TRUE);
  if (page == NULL)
    {
      if (still_wanted (self, error))
        toast_error (self, error);
      return;
    }

  if (first)
    remove_all_rows (self->history_list);
  for (guint i = 0; i < page->items->len; i++)
    gtk_list_box_append (self->history_list, transaction_row (g_ptr_array_index (page->items, i)));
  if (first && page->items->len == 0)
    gtk_list_box_append (self->history_list, placeholder_row (_("No transactions yet")));

  g_free (self->history_cursor);
  self->history_cursor = page->items->len > 0
    ? g_strdup (((OwTransaction *) g_ptr_array_index (page->items, page->items->len - 1))->id)
    : NULL;
  gtk_widget_set_visible (GTK_WIDGET (self->more_button), page->has_more);
}

static void
load_history (OwMainPage *self)
{
  OwClient *c = client (self);

  if (c == NULL)
    return;
  gtk_widget_set_sensitive (GTK_WIDGET (self->more_button), FALSE);
  ow_client_history_async (c, HISTORY_PAGE, self->history_cursor, self->cancellable,
                           on_history, g_object_ref (self));
}

static void
on_more_clicked (OwMainPage *self)
{
  load_history (self);
}

/* ---- the page ----------------------------------------------------------- */

static void
reset_cancellable (OwMainPage *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
}

void
ow_main_page_refresh (OwMainPage *self)
{
  OwClient *c;

  g_return_if_fail (OW_IS_MAIN_PAGE (self));

  c = client (self);
  /* An answer that comes after a lock (a charge, a card) asks for one: the
   * client has no token then, and the 401 would end the session and show
   * the sign-in page over the lock. The unlock refreshes. */
  if (c == NULL || ow_vault_is_locked (vault (self)))
    return;

  reset_cancellable (self);
  if (self->card == NULL)
    gtk_stack_set_visible_child_name (self->card_stack, "loading");
  g_clear_pointer (&self->history_cursor, g_free);

  load_card (self);
  load_sources (self);
  load_history (self);
  ow_client_get_profile_async (c, self->cancellable, on_profile, g_object_ref (self));
}

void
ow_main_page_clear (OwMainPage *self)
{
  g_return_if_fail (OW_IS_MAIN_PAGE (self));

  reset_cancellable (self);
  g_clear_pointer (&self->card, ow_card_free);
  g_clear_pointer (&self->sources, g_ptr_array_unref);
  g_clear_pointer (&self->receipt_channel, g_free);
  g_clear_pointer (&self->history_cursor, g_free);
  /* The unsettled charge stays (it holds no secret): the unlocked wallet
   * resumes it rather than charging the same money again. */

  hide_number (self);
  gtk_widget_set_visible (GTK_WIDGET (self->finish_list), FALSE);
  gtk_label_set_text (self->validity_label, "");
  gtk_label_set_text (self->balance_label, "");
  gtk_label_set_text (self->details_label, "");
  remove_all_rows (self->funding_list);
  remove_all_rows (self->history_list);
  gtk_widget_set_visible (GTK_WIDGET (self->more_button), FALSE);
  show_receipt_channel (self);
  gtk_stack_set_visible_child_name (self->card_stack, "loading");
}

const OwCard *
ow_main_page_get_card (OwMainPage *self)
{
  g_return_val_if_fail (OW_IS_MAIN_PAGE (self), NULL);
  return self->card;
}

static void
ow_main_page_dispose (GObject *object)
{
  OwMainPage *self = OW_MAIN_PAGE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->reveal_source, g_source_remove);

  G_OBJECT_CLASS (ow_main_page_parent_class)->dispose (object);
}

static void
ow_main_page_finalize (GObject *object)
{
  OwMainPage *self = OW_MAIN_PAGE (object);

  g_clear_pointer (&self->card, ow_card_free);
  g_clear_pointer (&self->sources, g_ptr_array_unref);
  g_clear_pointer (&self->removing, g_hash_table_unref);
  g_free (self->receipt_channel);
  g_free (self->history_cursor);

  G_OBJECT_CLASS (ow_main_page_parent_class)->finalize (object);
}

static void
ow_main_page_class_init (OwMainPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ow_main_page_dispose;
  object_class->finalize = ow_main_page_finalize;

  signals[SIGNAL_SESSION_ENDED] = g_signal_new ("session-ended", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/onepin/Wallet/ui/ow-main-page.ui");
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, card_stack);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, card_spinner);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, state_label);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, number_label);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, validity_label);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, balance_label);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, details_label);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, card_error_label);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, charge_button);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, card_password_button);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, reveal_button);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, finish_list);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, funding_list);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, receipt_row);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, history_list);
  gtk_widget_class_bind_template_child (widget_class, OwMainPage, more_button);
  gtk_widget_class_bind_template_callback (widget_class, on_apply_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_finish_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_charge_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_card_password_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_reveal_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_receipt_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_more_clicked);

  gtk_widget_class_install_action (widget_class, "main.add-credit-card", NULL,
                                   add_credit_card_activated);
  gtk_widget_class_install_action (widget_class, "main.add-bank-account", NULL,
                                   add_bank_account_activated);
}

static void
ow_main_page_init (OwMainPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->removing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gtk_spinner_start (self->card_spinner);
  /* The flow box only wraps the card's buttons: Tab goes to each button,
   * not first to the cell holding it. */
  gtk_widget_set_focusable (gtk_widget_get_parent (GTK_WIDGET (self->charge_button)), FALSE);
  gtk_widget_set_focusable (gtk_widget_get_parent (GTK_WIDGET (self->reveal_button)), FALSE);
  gtk_widget_set_focusable (gtk_widget_get_parent (GTK_WIDGET (self->card_password_button)), FALSE);
}
