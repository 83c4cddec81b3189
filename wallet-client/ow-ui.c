/* ow-ui.c: small helpers the wallet's widgets share
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-ui.h"

#include <string.h>

#include <glib/gi18n.h>

#include "onepin-contact.h"
#include "ow-window.h"

OwApplication *
ow_ui_get_application (GtkWidget *widget)
{
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkApplication *app = GTK_IS_WINDOW (root) ? gtk_window_get_application (GTK_WINDOW (root)) : NULL;

  if (app == NULL)
    app = GTK_APPLICATION (g_application_get_default ());
  return OW_IS_APPLICATION (app) ? OW_APPLICATION (app) : NULL;
}

gboolean
ow_ui_session_ended (const GError *error)
{
  return g_error_matches (error, OW_API_ERROR, OW_API_ERROR_UNAUTHORIZED) ||
         g_error_matches (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_NOT_SIGNED_IN);
}

const char *
ow_ui_param_message (const char *param)
{
  static const struct
  {
    const char *param;
    const char *message;
  } params[] = {
    { "login_id", N_("Use 4 to 64 letters, digits, or . _ - @ for the login ID.") },
    { "password", N_("The password needs 8 to 128 characters.") },
    { "new_password", N_("The new password needs 8 to 128 characters.") },
    { "name", N_("Enter your name (up to 100 characters).") },
    { "email", N_("Enter a valid e-mail address.") },
    { "phone", N_("Enter a mobile number of digits and dashes, like 010-1234-5678.") },
    { "receipt_channel", N_("Receipts by SMS need a mobile number in your profile.") },
    { "calling_number", N_("Enter a telephone number of 4 to 20 digits, like 010-1234-5678 or "
                           "+82-10-1234-5678.") },
    { "amount", N_("Charge in steps of ₩10,000, from ₩10,000 to ₩1,000,000.") },
    { "cvc", N_("Enter the credit card’s 3- or 4-digit security code.") },
    { "account_password", N_("Enter the bank account’s password.") },
    { "credit_card.number", N_("The card number is not valid.") },
    { "credit_card.expiry", N_("The expiry date is not valid or has passed.") },
    { "credit_card.holder", N_("Enter the name on the card.") },
    { "bank_account.bank_code", N_("Choose a bank.") },
    { "bank_account.account_number", N_("The account number needs 6 to 20 digits.") },
    { "bank_account.holder", N_("Enter the account holder’s name.") },
  };

  for (guint i = 0; param != NULL && i < G_N_ELEMENTS (params); i++)
    if (g_str_equal (param, params[i].param))
      return _(params[i].message);
  return NULL;
}

const char *
ow_ui_profile_fault (const char *name,
                     const char *email,
                     const char *phone)
{
  if (name != NULL && !onepin_contact_name_valid (name))
    return "name";
  if (email != NULL && !onepin_contact_email_valid (email))
    return "email";
  if (phone != NULL && phone[0] != '\0' && !onepin_contact_phone_valid (phone))
    return "phone";
  return NULL;
}

char *
ow_ui_calling_number (const char *text)
{
  g_autoptr(GString) digits = g_string_new (NULL);

  for (const char *p = text != NULL ? text : ""; *p != '\0'; p++)
    if (*p != ' ' && *p != '-')
      g_string_append_c (digits, *p);
  return onepin_contact_calling_number (digits->str);
}

static const char *
code_message (const GError *error)
{
  static const struct
  {
    const char *code;
    const char *message;
  } codes[] = {
    { "invalid_login", N_("Wrong login ID or password.") },
    { "login_locked", N_("Too many wrong passwords. Try again in 30 minutes.") },
    { "rate_limited", N_("Too many attempts. Wait a minute and try again.") },
    { "login_id_taken", N_("That login ID is taken. Choose another one.") },
    { "password_incorrect", N_("The current password is wrong.") },
    { "card_already_issued", N_("You already have a representative card.") },
    { "card_not_issued", N_("Apply for your representative card first.") },
    { "card_not_usable", N_("The representative card cannot be used right now.") },
    { "calling_number_taken", N_("That number is registered to another card. Its holder must "
                                 "remove it first.") },
    { "funding_source_exists", N_("That card or account is already registered.") },
    { "funding_source_limit", N_("You can register at most 10 cards and accounts.") },
    { "onepin_card_not_allowed", N_("A onepin card cannot top up a onepin card.") },
    { "charge_in_progress", N_("Another charge is still running. Wait for it to finish.") },
    { "bank_unavailable", N_("The card company or bank cannot be reached. Nothing was charged.") },
    { "charge_pending", N_("The charge is not confirmed yet. Try again: you will not be charged twice.") },
  };
  const char *code = ow_api_error_get_code (error);
  const char *decline = ow_api_error_get_decline_code (error);

  if (g_strcmp0 (decline, "balance_limit") == 0)
    return _("The card can hold at most ₩1,000,000.");
  if (g_strcmp0 (code, "funding_declined") == 0)
    return g_strcmp0 (decline, "insufficient_funds") == 0
           ? _("The card company or bank declined: not enough funds.")
           : _("The card company or bank declined the charge.");
  if (g_strcmp0 (decline, "invalid_credentials") == 0)
    return _("Wrong card password.");
  /* the card's own lock (five wrong card passwords), not the login's: also
   * the answer to finishing a card application while it holds */
  if (g_strcmp0 (code, "card_locked") == 0 || g_strcmp0 (decline, "card_locked") == 0)
    return _("Too many wrong card passwords: the card is locked for a while. Try again later.");

  for (guint i = 0; code != NULL && i < G_N_ELEMENTS (codes); i++)
    if (g_str_equal (code, codes[i].code))
      return _(codes[i].message);
  return NULL;
}

static char *
api_message (const GError *error)
{
  const char *text = code_message (error);

  if (text == NULL)
    text = ow_ui_param_message (ow_api_error_get_param (error));
  if (text != NULL)
    return g_strdup (text);

  switch (error->code)
    {
    case OW_API_ERROR_UNAUTHORIZED:
      return g_strdup (_("Your session has ended. Sign in again."));
    case OW_API_ERROR_NOT_FOUND:
      return g_strdup (_("That no longer exists on the gateway."));
    case OW_API_ERROR_UNAVAILABLE:
      return g_strdup (_("The gateway is not available right now. Try again later."));
    case OW_API_ERROR_SERVER:
      return g_strdup (_("The gateway had a problem. Try again later."));
    default:
      /* the gateway's own words, which never carry a secret */
      return g_strdup (error->message);
    }
}

static char *
client_message (const GError *error)
{
  switch ((OwClientError) error->code)
    {
    case OW_CLIENT_ERROR_INVALID_URL:
      return g_strdup (_("The gateway address is not a valid https:// address."));
    case OW_CLIENT_ERROR_INSECURE_URL:
      return g_strdup (_("The gateway address must use https://. Plain http:// is only allowed to 127.0.0.1 on this computer."));
    case OW_CLIENT_ERROR_NETWORK:
      return g_strdup (_("Cannot reach the gateway. Check the address and your connection."));
    case OW_CLIENT_ERROR_TLS:
      return g_strdup (_("The gateway’s certificate is not trusted, so the wallet did not connect."));
    case OW_CLIENT_ERROR_PROTOCOL:
      return g_strdup (_("The gateway gave an answer the wallet cannot use."));
    case OW_CLIENT_ERROR_NOT_SIGNED_IN:
    default:
      return g_strdup (_("You are not signed in."));
    }
}

static char *
vault_message (const GError *error)
{
  switch ((OwVaultError) error->code)
    {
    case OW_VAULT_ERROR_BAD_PASSWORD:
      return g_strdup (_("Wrong master password."));
    case OW_VAULT_ERROR_WEAK_PASSWORD:
      return g_strdup_printf (_("The master password needs at least %d characters."),
                              OW_VAULT_MIN_PASSWORD_CHARS);
    case OW_VAULT_ERROR_TAMPERED:
      return g_strdup (_("The wallet’s data was changed outside the wallet and cannot be trusted."));
    case OW_VAULT_ERROR_LOCKED:
      return g_strdup (_("The wallet is locked."));
    case OW_VAULT_ERROR_BUSY:
      return g_strdup (_("The wallet is still busy with the master password. Try again in a moment."));
    case OW_VAULT_ERROR_NEWER:
      return g_strdup (_("The wallet’s vault was written by a newer version of onepin Wallet, "
                         "which this one cannot read. Open it with that version."));
    case OW_VAULT_ERROR_NOT_VAULT:
      return g_strdup (_("The wallet’s vault file is not an onepin Wallet vault."));
    case OW_VAULT_ERROR_NO_CHECK_RECORD:
      return g_strdup (_("The wallet’s vault has lost the record that checks the master "
                         "password, so the wallet cannot open it."));
    case OW_VAULT_ERROR_EXISTS:
    case OW_VAULT_ERROR_NO_VAULT:
    case OW_VAULT_ERROR_NOT_FOUND:
    case OW_VAULT_ERROR_FAILED:
    default:
      return g_strdup_printf (_("The wallet’s vault failed: %s"), error->message);
    }
}

char *
ow_ui_error_message (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain == OW_API_ERROR)
    return api_message (error);
  if (error->domain == OW_CLIENT_ERROR)
    return client_message (error);
  if (error->domain == OW_VAULT_ERROR)
    return vault_message (error);
  return g_strdup (error->message);
}

/* No answer, one we could not read, or the first request still running
 * (409); and while the outcome is already unknown, a retry refused before
 * the gateway looked its key up (429 rate_limited, 5xx) tells nothing
 * either. */
gboolean
ow_ui_change_outcome_unknown (const GError *error,
                              gboolean      unknown_before)
{
  const char *code = ow_api_error_get_code (error);

  if (g_error_matches (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_NETWORK) ||
      g_error_matches (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL) ||
      g_strcmp0 (code, "idempotency_in_flight") == 0)
    return TRUE;
  return unknown_before &&
         (ow_api_error_get_status (error) >= 500 || g_strcmp0 (code, "rate_limited") == 0);
}

void
ow_ui_toast_full (GtkWidget  *widget,
                  const char *message,
                  const char *while_locked)
{
  GtkRoot *root = gtk_widget_get_root (widget);

  if (GTK_IS_WINDOW (root) && gtk_window_get_transient_for (GTK_WINDOW (root)) != NULL)
    root = GTK_ROOT (gtk_window_get_transient_for (GTK_WINDOW (root)));
  if (OW_IS_WINDOW (root))
    ow_window_toast (OW_WINDOW (root), message, while_locked);
}

void
ow_ui_toast (GtkWidget  *widget,
             const char *message)
{
  ow_ui_toast_full (widget, message, NULL);
}

GtkWidget *
ow_plain_action_row_new (void)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  return row;
}

char *
ow_ui_format_time (gint64 unix_seconds)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (unix_seconds);
  g_autoptr(GDateTime) local = utc != NULL ? g_date_time_to_local (utc) : NULL;

  return local != NULL ? g_date_time_format (local, "%Y-%m-%d %H:%M") : g_strdup ("");
}

void
ow_ui_show_error (GtkLabel   *label,
                  const char *message)
{
  gtk_label_set_text (label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), message != NULL);
  /* The labels have the alert role (in their .ui), but GTK 4.8 sends no
   * event when one appears: a screen reader finds it, it does not say it.
   * What it says is a change on the field that has the focus: see
   * ow_ui_mark_invalid. */
  if (message != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (label),
                                    GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, message, -1);
}

/* An entry row's accessible object on the bus is the GtkText inside it. */
static GtkAccessible *
field_accessible (GtkWidget *field)
{
  GtkEditable *delegate = GTK_IS_EDITABLE (field) ? gtk_editable_get_delegate (GTK_EDITABLE (field)) : NULL;

  return GTK_ACCESSIBLE (delegate != NULL ? GTK_WIDGET (delegate) : field);
}

void
ow_ui_mark_invalid (GtkWidget  *field,
                    const char *message)
{
  GtkAccessible *accessible = field_accessible (field);

  if (message == NULL)
    {
      gtk_accessible_reset_state (accessible, GTK_ACCESSIBLE_STATE_INVALID);
      gtk_accessible_reset_property (accessible, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
      return;
    }
  gtk_accessible_update_state (accessible, GTK_ACCESSIBLE_STATE_INVALID, GTK_ACCESSIBLE_INVALID_TRUE, -1);
  gtk_accessible_update_property (accessible, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, message, -1);
}

void
ow_ui_clear_editable (GtkEditable *editable)
{
  /* GtkText keeps its buffer; overwrite before letting go of the text */
  const char *text = gtk_editable_get_text (editable);
  gsize len = text != NULL ? strlen (text) : 0;

  if (len > 0)
    {
      g_autofree char *blank = g_strnfill (len, ' ');

      gtk_editable_set_text (editable, blank);
    }
  gtk_editable_set_text (editable, "");
}

/* GtkText is what holds the typed text of every entry and entry row, a
 * password's too. */
void
ow_ui_wipe_texts (GtkWidget *widget)
{
  if (GTK_IS_TEXT (widget))
    ow_ui_clear_editable (GTK_EDITABLE (widget));
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    ow_ui_wipe_texts (child);
}

gboolean
ow_ui_check_new_password (GtkEditable *password,
                          GtkEditable *confirm,
                          glong        min,
                          glong        max,
                          const char  *too_short_or_long,
                          GtkLabel    *error_label)
{
  const char *text = gtk_editable_get_text (password);
  glong len = g_utf8_strlen (text, -1);

  ow_ui_mark_invalid (GTK_WIDGET (password), NULL);
  ow_ui_mark_invalid (GTK_WIDGET (confirm), NULL);
  if (len < min || len > max)
    {
      ow_ui_show_error (error_label, too_short_or_long);
      ow_ui_mark_invalid (GTK_WIDGET (password), too_short_or_long);
      gtk_widget_grab_focus (GTK_WIDGET (password));
      return FALSE;
    }
  if (g_strcmp0 (text, gtk_editable_get_text (confirm)) != 0)
    {
      ow_ui_show_error (error_label, _("The two passwords differ."));
      ow_ui_mark_invalid (GTK_WIDGET (confirm), _("The two passwords differ."));
      gtk_widget_grab_focus (GTK_WIDGET (confirm));
      return FALSE;
    }
  ow_ui_show_error (error_label, NULL);
  return TRUE;
}

GtkWidget *
ow_ui_confirm_new (GtkWindow  *parent,
                   const char *heading,
                   const char *body,
                   const char *response,
                   const char *label)
{
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent, heading, body));

  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), response, label, NULL);
  adw_message_dialog_set_response_appearance (dialog, response, ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  return GTK_WIDGET (dialog);
}

void
ow_ui_set_busy (GtkButton  *button,
                GtkSpinner *spinner,
                gboolean    busy)
{
  gtk_widget_set_sensitive (GTK_WIDGET (button), !busy);
  if (spinner != NULL)
    {
      gtk_spinner_set_spinning (spinner, busy);
      gtk_widget_set_visible (GTK_WIDGET (spinner), busy);
    }
}

void
ow_ui_set_sending (GtkWidget  *cancel_button,
                   GtkButton  *button,
                   GtkSpinner *spinner,
                   gboolean    sending)
{
  gtk_widget_set_sensitive (cancel_button, !sending);
  ow_ui_set_busy (button, spinner, sending);
}

/* What libadwaita 1.2's unnamed controls are for: icon-only buttons by
 * their icon, and the search entry of a preferences window. */
static const char *
control_name (GtkWidget *widget)
{
  GtkWidget *child = GTK_IS_BUTTON (widget) ? gtk_button_get_child (GTK_BUTTON (widget)) : NULL;
  const char *icon = GTK_IS_IMAGE (child) ? gtk_image_get_icon_name (GTK_IMAGE (child)) : NULL;

  if (GTK_IS_SEARCH_ENTRY (widget))
    return _("Search");
  if (icon == NULL)
    return NULL;
  if (g_str_has_prefix (icon, "view-reveal") || g_str_has_prefix (icon, "view-conceal"))
    return _("Show or hide the password");
  if (g_str_equal (icon, "window-close-symbolic"))
    return _("Dismiss");
  return NULL;
}

/* "_Unlock" as a person reads it: "Unlock"; "지갑 만들기(_C)": "지갑 만들기";
 * "__" is an underscore. */
char *
ow_ui_without_mnemonic (const char *label)
{
  GString *text = g_string_new (NULL);
  const char *open = strstr (label, "(_");
  const char *after = NULL;

  /* the CJK way: the key in brackets after the text, dropped whole */
  if (open != NULL && open[2] != '\0' && *g_utf8_next_char (open + 2) == ')')
    after = g_utf8_next_char (open + 2) + 1;

  for (const char *p = label; *p != '\0'; p++)
    {
      if (p == open && after != NULL)
        p = after;
      if (*p == '_')
        p++;
      if (*p == '\0')
        break;
      g_string_append_c (text, *p);
    }
  return g_strstrip (g_string_free (text, FALSE));
}

/* GTK 4.8 names a button with a mnemonic twice over: its label property,
 * underscore and all, then the text of the label it is labelled by
 * ("_Unlock Unlock"). One name, and no relation to add the second. */
static void
name_text_button (GtkButton *button)
{
  const char *label = gtk_button_get_label (button);
  g_autofree char *name = NULL;

  if (label == NULL || !GTK_IS_LABEL (gtk_button_get_child (button)))
    return;
  name = gtk_button_get_use_underline (button) ? ow_ui_without_mnemonic (label) : g_strdup (label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  gtk_accessible_reset_relation (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
}

void
ow_ui_set_button_label (GtkButton  *button,
                        const char *label)
{
  gtk_button_set_label (button, label);
  name_text_button (button);
}

void
ow_ui_name_controls (GtkWidget *root)
{
  const char *name = control_name (root);

  if (name != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  else if (GTK_IS_BUTTON (root))
    name_text_button (GTK_BUTTON (root));

  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    ow_ui_name_controls (child);
}
