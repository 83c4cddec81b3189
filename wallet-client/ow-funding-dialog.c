/* ow-funding-dialog.c: register a credit card or a bank account
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The gateway checks the details (Luhn, expiry, lengths); the dialog only
 * trims what people type around numbers (spaces, dashes) before sending.
 */
#include "ow-funding-dialog.h"

#include <string.h>

#include <glib/gi18n.h>

#include "ow-ui.h"

static const struct
{
  const char *code;
  const char *name;
} banks[] = {
  { "004", N_("KB Kookmin Bank") },
  { "088", N_("Shinhan Bank") },
  { "020", N_("Woori Bank") },
  { "081", N_("Hana Bank") },
  { "011", N_("NH NongHyup Bank") },
  { "003", N_("IBK Industrial Bank") },
  { "090", N_("KakaoBank") },
  { "092", N_("Toss Bank") },
  { "023", N_("SC First Bank") },
  { "071", N_("Korea Post") },
  { "990", N_("onepin Sandbox Bank") },   /* onepin-bank's test accounts */
};

struct _OwFundingDialog
{
  AdwWindow      parent_instance;

  GtkStack      *type_stack;
  GtkEditable   *card_number_row;
  GtkEditable   *expiry_row;
  GtkEditable   *card_holder_row;
  AdwComboRow   *bank_row;
  GtkEditable   *account_number_row;
  GtkEditable   *account_holder_row;
  GtkLabel      *error_label;
  GtkButton     *cancel_button;
  GtkButton     *add_button;
  GtkSpinner    *spinner;

  OwClient      *client;
  OwFundingType  type;
  GCancellable  *cancellable;
  char          *idempotency_key;
  char          *details;       /* JSON of what was sent; secret */
  gboolean       adding;        /* sent, its answer not seen yet */
};

G_DEFINE_FINAL_TYPE (OwFundingDialog, ow_funding_dialog, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_ADDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

const char *
ow_funding_bank_name (const char *code)
{
  for (guint i = 0; code != NULL && i < G_N_ELEMENTS (banks); i++)
    if (g_str_equal (code, banks[i].code))
      return _(banks[i].name);
  return NULL;
}

/* Digits only: "4111 1111-1111 1111" → "4111111111111111". */
static char *
digits_of (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    if (g_ascii_isdigit (*p))
      g_string_append_c (out, *p);
    else if (*p != ' ' && *p != '-')
      g_string_append_c (out, *p);   /* anything else: let the gateway refuse it */
  return g_string_free (out, FALSE);
}

static void
wipe_details (OwFundingDialog *self)
{
  g_clear_pointer (&self->details, ow_secret_free);
}

/* Whether the source may have been added all the same: no answer, one we
 * could not read, the first request still running, or a server error.
 * The key stays for the same details then, as a charge's does. */
static gboolean
outcome_unknown (const GError *error)
{
  return g_error_matches (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_NETWORK) ||
         g_error_matches (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL) ||
         g_strcmp0 (ow_api_error_get_code (error), "idempotency_in_flight") == 0 ||
         ow_api_error_get_status (error) >= 500;
}

/* The details to send: under the key they were sent with before, or under
 * a new one if they changed (the gateway refuses another body, 422). */
static void
take_details (OwFundingDialog *self,
              char            *details)
{
  if (self->details != NULL && g_strcmp0 (self->details, details) != 0)
    {
      g_free (self->idempotency_key);
      self->idempotency_key = ow_client_new_idempotency_key ();
    }
  wipe_details (self);
  self->details = details;
}

/* The source may be added as soon as the request is out: the dialog stays
 * until its answer (or the client's timeout), so that the list shows it
 * and the vault keeps its details. */
static void
set_adding (OwFundingDialog *self,
            gboolean         adding)
{
  self->adding = adding;
  ow_ui_set_sending (GTK_WIDGET (self->cancel_button), self->add_button, self->spinner, adding);
}

static void
on_added (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(OwFundingDialog) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwFundingSource) added = ow_client_add_funding_source_finish (OW_CLIENT (source),
                                                                          result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_adding (self, FALSE);
  if (added == NULL)
    {
      g_autofree char *message = ow_ui_error_message (error);

      ow_ui_show_error (self->error_label, message);
      /* refused: whatever is sent next is another request */
      if (!outcome_unknown (error))
        {
          g_free (self->idempotency_key);
          self->idempotency_key = ow_client_new_idempotency_key ();
          wipe_details (self);
        }
      return;
    }

  g_signal_emit (self, signals[SIGNAL_ADDED], 0, added, self->details);
  gtk_window_destroy (GTK_WINDOW (self));
}

static char *
details_json (const char *k1,
              const char *v1,
              const char *k2,
              const char *v2,
              const char *holder)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, k1);
  json_builder_add_string_value (builder, v1);
  json_builder_set_member_name (builder, k2);
  json_builder_add_string_value (builder, v2);
  json_builder_set_member_name (builder, "holder");
  json_builder_add_string_value (builder, holder);
  json_builder_end_object (builder);
  return ow_secret_json_builder_finish (builder, NULL);
}

static void
add_credit_card (OwFundingDialog *self)
{
  g_autoptr(OwSecret) number = digits_of (gtk_editable_get_text (self->card_number_row));
  g_autofree char *expiry = g_strstrip (g_strdup (gtk_editable_get_text (self->expiry_row)));
  g_autofree char *holder = g_strstrip (g_strdup (gtk_editable_get_text (self->card_holder_row)));

  take_details (self, details_json ("number", number, "expiry", expiry, holder));
  ow_client_add_credit_card_async (self->client, number, expiry, holder, self->idempotency_key,
                                   self->cancellable, on_added, g_object_ref (self));
}

static void
add_bank_account (OwFundingDialog *self)
{
  guint selected = adw_combo_row_get_selected (self->bank_row);
  const char *code = selected < G_N_ELEMENTS (banks) ? banks[selected].code : "";
  g_autoptr(OwSecret) account = digits_of (gtk_editable_get_text (self->account_number_row));
  g_autofree char *holder = g_strstrip (g_strdup (gtk_editable_get_text (self->account_holder_row)));

  take_details (self, details_json ("bank_code", code, "account_number", account, holder));
  ow_client_add_bank_account_async (self->client, code, account, holder, self->idempotency_key,
                                    self->cancellable, on_added, g_object_ref (self));
}

static void
on_add (OwFundingDialog *self)
{
  if (self->adding || !gtk_widget_get_sensitive (GTK_WIDGET (self->add_button)))
    return;

  ow_ui_show_error (self->error_label, NULL);
  set_adding (self, TRUE);
  if (self->type == OW_FUNDING_CREDIT_CARD)
    add_credit_card (self);
  else
    add_bank_account (self);
}

/* Enter in a field goes on to the next one; in the last one it adds. */
static void
on_card_number_activated (OwFundingDialog *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->expiry_row));
}

static void
on_expiry_activated (OwFundingDialog *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->card_holder_row));
}

static void
on_account_number_activated (OwFundingDialog *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->account_holder_row));
}

static gboolean
on_close_request (OwFundingDialog *self)
{
  return self->adding;
}

static void
ow_funding_dialog_dispose (GObject *object)
{
  OwFundingDialog *self = OW_FUNDING_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), OW_TYPE_FUNDING_DIALOG);

  G_OBJECT_CLASS (ow_funding_dialog_parent_class)->dispose (object);
}

static void
ow_funding_dialog_finalize (GObject *object)
{
  OwFundingDialog *self = OW_FUNDING_DIALOG (object);

  wipe_details (self);
  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_free (self->idempotency_key);

  G_OBJECT_CLASS (ow_funding_dialog_parent_class)->finalize (object);
}

static void
ow_funding_dialog_class_init (OwFundingDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ow_funding_dialog_dispose;
  object_class->finalize = ow_funding_dialog_finalize;

  signals[SIGNAL_ADDED] = g_signal_new ("added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                        G_TYPE_POINTER, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/onepin/Wallet/ui/ow-funding-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, OwFundingDialog, type_stack);
  gtk_widget_class_bind_template_child (widget_class, OwFundingDialog, card_number_row);
  gtk_widget_class_bind_template_child (widget_class, OwFundingDialog, expiry_row);
  gtk_widget_class_bind_template_child (widget_class, OwFundingDialog, card_holder_row);
  gtk_widget_class_bind_template_child (widget_class, OwFundingDialog, bank_row);
  gtk_widget_class_bind_template_child (widget_class, OwFundingDialog, account_number_row);
  gtk_widget_class_bind_template_child (widget_class, OwFundingDialog, account_holder_row);
  gtk_widget_class_bind_template_child (widget_class, OwFundingDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, OwFundingDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, OwFundingDialog, add_button);
  gtk_widget_class_bind_template_child (widget_class, OwFundingDialog, spinner);
  gtk_widget_class_bind_template_callback (widget_class, on_add);
  gtk_widget_class_bind_template_callback (widget_class, on_card_number_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_expiry_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_account_number_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_close_request);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ow_funding_dialog_init (OwFundingDialog *self)
{
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->idempotency_key = ow_client_new_idempotency_key ();

  for (guint i = 0; i < G_N_ELEMENTS (banks); i++)
    {
      g_autofree char *label = g_strdup_printf ("%s (%s)", _(banks[i].name), banks[i].code);

      gtk_string_list_append (names, label);
    }
  adw_combo_row_set_model (self->bank_row, G_LIST_MODEL (names));
}

OwFundingDialog *
ow_funding_dialog_new (OwClient      *client,
                       OwFundingType  type,
                       GtkWindow     *parent)
{
  OwFundingDialog *self = g_object_new (OW_TYPE_FUNDING_DIALOG, "transient-for", parent, NULL);
  gboolean card = type == OW_FUNDING_CREDIT_CARD;

  self->client = g_object_ref (client);
  self->type = type;
  gtk_stack_set_visible_child_name (self->type_stack, card ? "credit-card" : "bank-account");
  gtk_window_set_title (GTK_WINDOW (self), card ? _("Add Credit Card") : _("Add Bank Account"));
  /* the first field to type in, not the Cancel button */
  gtk_widget_grab_focus (GTK_WIDGET (card ? self->card_number_row : self->account_number_row));
  return self;
}
