/* ow-account-page.c: sign in to the gateway, or register there
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Registering signs in right after, with the same password, so a new user
 * lands on the main view. The session is sealed in the vault before the
 * page says it is done; one the vault cannot keep (it was locked before the
 * answer came) is signed out on the gateway.
 *
 * A registration whose answer was lost (the connection broke after the
 * gateway committed it, and the user or libsoup sent it again) comes back
 * as login_id_taken. So a taken ID is tried once with the password just
 * chosen: if it signs in, the account is the user's. Only once per ID
 * while the form stays, since a wrong password counts as a failed sign-in
 * on somebody else's account; a failure says the ID is taken.
 */
#include "ow-account-page.h"

#include <glib/gi18n.h>

#include "ow-secret.h"
#include "ow-ui.h"

struct _OwAccountPage
{
  AdwBin          parent_instance;

  GtkToggleButton *sign_in_toggle;
  GtkToggleButton *register_toggle;
  GtkStack        *mode_stack;
  GtkEditable     *gateway_row;
  GtkEditable     *login_row;
  GtkEditable     *password_row;
  GtkEditable     *reg_login_row;
  GtkEditable     *reg_name_row;
  GtkEditable     *reg_email_row;
  GtkEditable     *reg_phone_row;
  GtkEditable     *reg_password_row;
  GtkEditable     *reg_confirm_row;
  GtkLabel        *error_label;
  GtkButton       *submit_button;
  GtkSpinner      *spinner;

  char            *login_id;    /* of the sign-in under way */
  OwSecret        *reg_password; /* submitted, for the sign-in after the registration */
  GHashTable      *taken_tried; /* login IDs found taken and tried with the password */
  GError          *taken;       /* the sign-in under way is such a try: the
                                 * registration's answer, to show if it fails */
};

G_DEFINE_FINAL_TYPE (OwAccountPage, ow_account_page, ADW_TYPE_BIN)

enum
{
  SIGNAL_SIGNED_IN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gboolean
registering (OwAccountPage *self)
{
  return gtk_toggle_button_get_active (self->register_toggle);
}

/* While a request is out the form stays as it was sent: the fields are
 * not editable (a text made insensitive while focused never gets its
 * focus-out) and the mode cannot change. */
static void
set_busy (OwAccountPage *self,
          gboolean       busy)
{
  GtkEditable *rows[] = {
    self->gateway_row, self->login_row, self->password_row, self->reg_login_row,
    self->reg_name_row, self->reg_email_row, self->reg_phone_row, self->reg_password_row,
    self->reg_confirm_row,
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    gtk_editable_set_editable (rows[i], !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->sign_in_toggle), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->register_toggle), !busy);
  ow_ui_set_busy (self->submit_button, self->spinner, busy);
  if (!busy)
    g_clear_pointer (&self->reg_password, ow_secret_free);
}

static void
fail (OwAccountPage *self,
      const GError  *error)
{
  g_autofree char *message = ow_ui_error_message (error);

  set_busy (self, FALSE);
  ow_ui_show_error (self->error_label, message);
}

static void
on_signed_in (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(OwAccountPage) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwSession) session = ow_client_sign_in_finish (OW_CLIENT (source), result, &error);
  OwApplication *app = ow_ui_get_application (GTK_WIDGET (self));

  if (session == NULL)
    {
      /* Not the user's account after all (the gateway refused the
       * password): say what the registration found, not that the password
       * is wrong. */
      if (self->taken != NULL && error->domain == OW_API_ERROR)
        fail (self, self->taken);
      else
        fail (self, error);
      return;
    }

  /* Locked while the answer was on its way, or the vault would not take it:
   * a session the wallet does not keep must not stay alive on the gateway.
   * The sign-out forgets the token at once, whatever the gateway says. */
  if (ow_vault_is_locked (ow_application_get_vault (app)) ||
      !ow_application_save_session (app, session, self->login_id, &error))
    {
      ow_client_sign_out_async (OW_CLIENT (source), NULL, NULL, NULL);
      if (error != NULL)
        fail (self, error);
      else
        set_busy (self, FALSE);
      return;
    }

  set_busy (self, FALSE);
  ow_account_page_reset (self);
  g_signal_emit (self, signals[SIGNAL_SIGNED_IN], 0);
}

static void
sign_in (OwAccountPage *self,
         OwClient      *client,
         const char    *password)
{
  ow_client_sign_in_async (client, self->login_id, password, NULL, on_signed_in,
                           g_object_ref (self));
}

/* A registration answered login_id_taken that may have been this one's
 * own, its first answer lost: see the top of the file. */
static gboolean
try_taken_login (OwAccountPage *self,
                 OwClient      *client,
                 const GError  *error)
{
  if (g_strcmp0 (ow_api_error_get_code (error), "login_id_taken") != 0 ||
      self->reg_password == NULL ||
      !g_hash_table_add (self->taken_tried, g_strdup (self->login_id)))
    return FALSE;
  self->taken = g_error_copy (error);
  sign_in (self, client, self->reg_password);
  g_clear_pointer (&self->reg_password, ow_secret_free);
  return TRUE;
}

static void
on_registered (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  g_autoptr(OwAccountPage) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwProfile) profile = ow_client_register_finish (OW_CLIENT (source), result, &error);

  if (profile == NULL)
    {
      if (!try_taken_login (self, OW_CLIENT (source), error))
        fail (self, error);
      return;
    }

  /* Reset (a lock) while it ran: the password went with the form. The
   * account is there; the user signs in to it. */
  if (self->reg_password == NULL)
    {
      set_busy (self, FALSE);
      return;
    }

  /* the gateway stores login IDs in lowercase */
  g_free (self->login_id);
  self->login_id = g_strdup (profile->login_id);
  sign_in (self, OW_CLIENT (source), self->reg_password);
  /* the sign-in's body has it now */
  g_clear_pointer (&self->reg_password, ow_secret_free);
}

static const char *
user_locale (void)
{
  const char *const *languages = g_get_language_names ();

  return g_str_has_prefix (languages[0], "ko") ? "ko" : "en";
}

/* What the gateway would refuse is refused here, with the same words. */
static gboolean
check_registration (OwAccountPage *self)
{
  const char *fault = ow_ui_profile_fault (gtk_editable_get_text (self->reg_name_row),
                                           gtk_editable_get_text (self->reg_email_row),
                                           gtk_editable_get_text (self->reg_phone_row));

  if (fault != NULL)
    {
      GtkEditable *row = g_str_equal (fault, "name") ? self->reg_name_row
                         : g_str_equal (fault, "email") ? self->reg_email_row
                         : self->reg_phone_row;

      ow_ui_show_error (self->error_label, ow_ui_param_message (fault));
      gtk_widget_grab_focus (GTK_WIDGET (row));
      return FALSE;
    }
  return ow_ui_check_new_password (self->reg_password_row, self->reg_confirm_row,
                                   OW_SIGN_IN_PASSWORD_MIN, OW_SIGN_IN_PASSWORD_MAX,
                                   ow_ui_param_message ("password"), self->error_label);
}

/* The gateway address in the field becomes the setting, if it is allowed. */
static OwClient *
client_for_gateway (OwAccountPage *self,
                    GError       **error)
{
  OwApplication *app = ow_ui_get_application (GTK_WIDGET (self));
  g_autofree char *url = g_strstrip (g_strdup (gtk_editable_get_text (self->gateway_row)));

  if (!ow_client_check_url (url, error))
    return NULL;
  g_settings_set_string (ow_application_get_settings (app), "gateway-url", url);
  return ow_application_get_client (app, error);
}

static void
on_submit (OwAccountPage *self)
{
  g_autoptr(GError) error = NULL;
  OwClient *client;

  if (!gtk_widget_get_sensitive (GTK_WIDGET (self->submit_button)))
    return;
  if (registering (self) && !check_registration (self))
    return;

  client = client_for_gateway (self, &error);
  if (client == NULL)
    {
      fail (self, error);
      gtk_widget_grab_focus (GTK_WIDGET (self->gateway_row));
      return;
    }

  ow_ui_show_error (self->error_label, NULL);
  set_busy (self, TRUE);
  g_clear_error (&self->taken);
  g_free (self->login_id);

  if (!registering (self))
    {
      self->login_id = g_strstrip (g_strdup (gtk_editable_get_text (self->login_row)));
      sign_in (self, client, gtk_editable_get_text (self->password_row));
      return;
    }

  self->login_id = g_strstrip (g_strdup (gtk_editable_get_text (self->reg_login_row)));
  self->reg_password = g_strdup (gtk_editable_get_text (self->reg_password_row));
  ow_client_register_async (client, self->login_id, self->reg_password,
                            gtk_editable_get_text (self->reg_name_row),
                            gtk_editable_get_text (self->reg_email_row),
                            gtk_editable_get_text (self->reg_phone_row),
                            user_locale (), NULL, on_registered, g_object_ref (self));
}

static void
on_login_activated (OwAccountPage *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
}

static void
on_mode_toggled (OwAccountPage *self)
{
  gboolean reg = registering (self);

  gtk_stack_set_visible_child_name (self->mode_stack, reg ? "register" : "sign-in");
  ow_ui_set_button_label (self->submit_button, reg ? _("_Create Account") : _("Sign _In"));
  ow_ui_show_error (self->error_label, NULL);
}

void
ow_account_page_reset (OwAccountPage *self)
{
  OwApplication *app = ow_ui_get_application (GTK_WIDGET (self));
  GtkEditable *secrets[] = { self->password_row, self->reg_password_row, self->reg_confirm_row };

  g_return_if_fail (OW_IS_ACCOUNT_PAGE (self));

  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    ow_ui_clear_editable (secrets[i]);
  g_clear_pointer (&self->reg_password, ow_secret_free);
  g_hash_table_remove_all (self->taken_tried);
  /* someone coming back most likely has an account */
  gtk_toggle_button_set_active (self->sign_in_toggle, TRUE);
  ow_ui_show_error (self->error_label, NULL);
  if (app != NULL)
    {
      g_autofree char *url = g_settings_get_string (ow_application_get_settings (app), "gateway-url");

      gtk_editable_set_text (self->gateway_row, url);
    }
}

static void
ow_account_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (ow_account_page_parent_class)->map (widget);
  ow_account_page_reset (OW_ACCOUNT_PAGE (widget));
}

static void
ow_account_page_finalize (GObject *object)
{
  g_free (OW_ACCOUNT_PAGE (object)->login_id);
  ow_secret_free (OW_ACCOUNT_PAGE (object)->reg_password);
  g_clear_error (&OW_ACCOUNT_PAGE (object)->taken);
  g_hash_table_unref (OW_ACCOUNT_PAGE (object)->taken_tried);
  G_OBJECT_CLASS (ow_account_page_parent_class)->finalize (object);
}

static void
ow_account_page_class_init (OwAccountPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = ow_account_page_finalize;
  widget_class->map = ow_account_page_map;

  signals[SIGNAL_SIGNED_IN] = g_signal_new ("signed-in", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/onepin/Wallet/ui/ow-account-page.ui");
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, sign_in_toggle);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, register_toggle);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, mode_stack);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, gateway_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, login_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, password_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, reg_login_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, reg_name_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, reg_email_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, reg_phone_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, reg_password_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, reg_confirm_row);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, submit_button);
  gtk_widget_class_bind_template_child (widget_class, OwAccountPage, spinner);
  gtk_widget_class_bind_template_callback (widget_class, on_submit);
  gtk_widget_class_bind_template_callback (widget_class, on_login_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_mode_toggled);
}

static void
ow_account_page_init (OwAccountPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  ow_ui_name_controls (GTK_WIDGET (self));
  self->taken_tried = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}
