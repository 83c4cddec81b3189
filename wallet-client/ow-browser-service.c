/* ow-browser-service.c: what the wallet does for a paired browser
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One Work per call: it keeps the call, the dialog showing for it and what
 * the gateway answered, and ends when the call is answered or the browser
 * goes away (the call's cancellable, which also cancels our requests to
 * the gateway and closes the dialog). A payment the user approved is the
 * exception: it is not the browser's to abort (below).
 */
#include "ow-browser-service.h"

#include <glib/gi18n.h>
#include <string.h>

#include "onepin-json.h"
#include "ow-approval-dialog.h"
#include "ow-pair-dialog.h"
#include "ow-secret.h"
#include "ow-site-dialog.h"
#include "ow-ui.h"
#include "ow-window.h"

struct _OwBrowserService
{
  GObject        parent_instance;

  OwApplication *application;   /* owns us */
  OwBridge      *bridge;
};

G_DEFINE_FINAL_TYPE (OwBrowserService, ow_browser_service, G_TYPE_OBJECT)

typedef struct
{
  OwBrowserService *service;
  OwBridgeCall     *call;
  GtkWindow        *dialog;      /* weak */
  gulong            cancelled_id;
  OwCard           *card;
  OwPurchase       *shown;       /* the purchase as the dialog shows it */
  char             *key;         /* Idempotency-Key of the payment */
} Work;

static void
work_free (Work *work)
{
  g_cancellable_disconnect (ow_bridge_call_get_cancellable (work->call), work->cancelled_id);
  if (work->dialog != NULL)
    g_object_remove_weak_pointer (G_OBJECT (work->dialog), (gpointer *) &work->dialog);
  g_object_unref (work->call);
  g_object_unref (work->service);
  g_clear_pointer (&work->card, ow_card_free);
  g_clear_pointer (&work->shown, ow_purchase_free);
  g_free (work->key);
  g_free (work);
}

static GCancellable *
cancellable (Work *work)
{
  return ow_bridge_call_get_cancellable (work->call);
}

static GtkWindow *
main_window (Work *work)
{
  return ow_application_get_main_window (work->service->application);
}

/* The browser went away: whatever asks the user goes too. */
static void
on_cancelled (GCancellable *cancellable,
              Work         *work)
{
  /* Disconnecting from inside the handler would deadlock; it fires once. */
  work->cancelled_id = 0;
  if (work->dialog != NULL)
    gtk_window_destroy (work->dialog);
}

static void
refuse (Work       *work,
        const char *code,
        const char *message)
{
  ow_bridge_call_refuse (work->call, code, message);
  work_free (work);
}

static void
show_dialog (Work      *work,
             GtkWindow *dialog)
{
  work->dialog = dialog;
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &work->dialog);
  ow_application_adopt_window (work->service->application, dialog);
  gtk_window_set_transient_for (dialog, main_window (work));
  gtk_window_present (dialog);
}

/* @while_locked: what the window may say instead while the wallet is
 * locked (ow_window_toast); @message then waits for the unlock. */
static void
toast_full (Work       *work,
            const char *message,
            const char *while_locked)
{
  GtkWindow *window = main_window (work);

  if (window != NULL)
    ow_ui_toast_full (GTK_WIDGET (window), message, while_locked);
}

static void
toast (Work       *work,
       const char *message)
{
  toast_full (work, message, NULL);
}

/* The signed-in client, or NULL after refusing the call. */
static OwClient *
signed_in_client (Work *work)
{
  OwClient *client = ow_application_get_client (work->service->application, NULL);

  if (client == NULL || !ow_client_has_token (client))
    {
      toast (work, _("A browser is waiting for the wallet: sign in first."));
      refuse (work, "signed_out", "The wallet is not signed in");
      return NULL;
    }
  return client;
}

/* Codes the extension knows for what the gateway said. */
static const char *
error_code (const GError *error)
{
  const char *code = ow_api_error_get_code (error);

  if (ow_ui_session_ended (error))
    return "signed_out";
  if (g_error_matches (error, OW_API_ERROR, OW_API_ERROR_DECLINED))
    return "declined";
  if (g_strcmp0 (code, "checkout_mismatch") == 0)
    return "mismatch";
  if (g_strcmp0 (code, "checkout_session_completed") == 0)
    return "completed";
  if (g_strcmp0 (code, "checkout_session_expired") == 0)
    return "expired";
  if (g_error_matches (error, OW_API_ERROR, OW_API_ERROR_NOT_FOUND))
    return "unknown_checkout";
  return "unavailable";
}

/* ---- pairing ------------------------------------------------------------ */

/* The browser proved the key and is stored, or nothing was kept. */
static void
on_paired (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  Work *work = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  if (!ow_bridge_call_accept_pairing_finish (OW_BRIDGE_CALL (source), result, &error))
    message = ow_ui_error_message (error);
  else
    /* TRANSLATORS: %s is the name the user gave the browser */
    message = g_strdup_printf (_("“%s” is paired with your wallet."),
                               ow_bridge_call_get_browser_name (work->call));
  /* The lock ended the pairing: the locked window may say so, and there is
   * nothing left to tell after the unlock. */
  if (g_error_matches (error, OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED))
    toast_full (work, NULL, message);
  else
    toast (work, message);
  work_free (work);
}

static void
on_pair_decided (OwPairDialog *dialog,
                 gboolean      approved,
                 const char   *name,
                 Work         *work)
{
  if (!approved)
    {
      refuse (work, "denied", "The user did not pair the browser");
      return;
    }
  ow_bridge_call_accept_pairing_async (work->call, name, on_paired, work);
}

static void
start_pairing (Work *work)
{
  OwPairDialog *dialog = ow_pair_dialog_new (ow_bridge_call_get_code (work->call),
                                             ow_bridge_call_get_browser_name (work->call),
                                             ow_bridge_call_is_repairing (work->call));

  g_signal_connect (dialog, "decided", G_CALLBACK (on_pair_decided), work);
  show_dialog (work, GTK_WINDOW (dialog));
}

/* ---- the card for a form ------------------------------------------------ */

static gboolean
wanted (Work       *work,
        const char *member)
{
  return ow_browser_card_member_wanted (ow_bridge_call_get_fields (work->call), member);
}

static JsonObject *
card_object (Work       *work,
             OwProfile  *profile,
             GError    **error)
{
  OwVault *vault = ow_application_get_vault (work->service->application);
  g_autoptr(OwSecret) record = ow_vault_lookup (vault, OW_VAULT_KIND_CARD, work->card->id, error);
  g_autoptr(OwSecretJson) stored = NULL;   /* the record's number and CVC */
  JsonObject *card;

  if (record == NULL)
    return NULL;
  stored = onepin_json_parse_object (record, strlen (record), error);
  if (stored == NULL)
    return NULL;
  /* only what the form has fields for */
  card = json_object_new ();
  if (wanted (work, "number"))
    json_object_set_string_member (card, "number", onepin_json_get_string (stored, "number", ""));
  if (wanted (work, "csc"))
    json_object_set_string_member (card, "csc", onepin_json_get_string (stored, "cvc", ""));
  if (wanted (work, "exp_month"))
    json_object_set_int_member (card, "exp_month", work->card->exp_month);
  if (wanted (work, "exp_year"))
    json_object_set_int_member (card, "exp_year", work->card->exp_year);
  if (wanted (work, "name"))
    json_object_set_string_member (card, "name", profile->name);
  if (wanted (work, "brand"))
    json_object_set_string_member (card, "brand", "onepin");
  return card;
}

static void
on_profile_for_fill (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  Work *work = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwProfile) profile = ow_client_get_profile_finish (OW_CLIENT (source), result, &error);
  g_autoptr(JsonObject) reply = json_object_new ();
  JsonObject *card;

  if (profile == NULL)
    return refuse (work, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                         ? "gone" : error_code (error), NULL);
  card = card_object (work, profile, &error);
  if (card == NULL && g_error_matches (error, OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED))
    return refuse (work, "locked", "The wallet was locked meanwhile");
  if (card == NULL)
    {
      /* the number is only on the computer that applied for the card */
      toast (work, _("A browser asked for your card, but its number is not on this computer."));
      return refuse (work, "no_card", "The card's number is not in this wallet");
    }
  json_object_set_object_member (reply, "card", card);
  ow_bridge_call_reply (work->call, reply);
  g_message ("browser: gave the card for a form");
  work_free (work);
}

static void
on_card_for_fill (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Work *work = data;
  g_autoptr(GError) error = NULL;

  work->card = ow_client_get_card_finish (OW_CLIENT (source), result, &error);
  if (work->card == NULL)
    return refuse (work, g_error_matches (error, OW_API_ERROR, OW_API_ERROR_NOT_FOUND)
                         ? "no_card" : error_code (error), NULL);
  ow_client_get_profile_async (OW_CLIENT (source), cancellable (work), on_profile_for_fill, work);
}

static void
fetch_card_for_fill (Work *work)
{
  OwClient *client = signed_in_client (work);

  if (client != NULL)
    ow_client_get_card_async (client, cancellable (work), on_card_for_fill, work);
}

static void
on_site_decided (OwSiteDialog *dialog,
                 gboolean      fill,
                 gboolean      remember,
                 Work         *work)
{
  g_autoptr(GError) error = NULL;

  work->dialog = NULL;
  g_object_remove_weak_pointer (G_OBJECT (dialog), (gpointer *) &work->dialog);
  if (!fill)
    {
      refuse (work, "denied", "The user did not allow this site");
      return;
    }
  if (remember && !ow_bridge_call_remember_site (work->call, &error))
    g_warning ("browser: cannot remember the site: %s", error->message);
  fetch_card_for_fill (work);
}

static void
start_card (Work *work)
{
  OwSiteDialog *dialog;

  if (!ow_bridge_call_needs_confirmation (work->call))
    {
      fetch_card_for_fill (work);
      return;
    }
  dialog = ow_site_dialog_new (ow_bridge_call_get_browser_name (work->call),
                               ow_bridge_call_get_origin (work->call));
  g_signal_connect (dialog, "decided", G_CALLBACK (on_site_decided), work);
  show_dialog (work, GTK_WINDOW (dialog));
}

/* ---- an affiliated mall's purchase -------------------------------------- */

/* The mall's gateway must be the wallet's: the session lives there. */
static gboolean
same_gateway (const char *a,
              const char *b)
{
  g_autoptr(GUri) x = g_uri_parse (a, G_URI_FLAGS_NONE, NULL);
  g_autoptr(GUri) y = g_uri_parse (b, G_URI_FLAGS_NONE, NULL);
  g_autofree char *path_x = NULL;
  g_autofree char *path_y = NULL;

  if (x == NULL || y == NULL || g_uri_get_host (x) == NULL || g_uri_get_host (y) == NULL)
    return FALSE;
  path_x = g_strdup (g_uri_get_path (x));
  path_y = g_strdup (g_uri_get_path (y));
  while (g_str_has_suffix (path_x, "/"))
    path_x[strlen (path_x) - 1] = '\0';
  while (g_str_has_suffix (path_y, "/"))
    path_y[strlen (path_y) - 1] = '\0';
  return g_ascii_strcasecmp (g_uri_get_scheme (x), g_uri_get_scheme (y)) == 0 &&
         g_ascii_strcasecmp (g_uri_get_host (x), g_uri_get_host (y)) == 0 &&
         ow_uri_port (x) == ow_uri_port (y) && g_str_equal (path_x, path_y);
}

/* The page's purchase is the session the gateway holds. */
static gboolean
same_order (const OwPurchase        *page,
            const OwCheckoutSummary *summary)
{
  return g_strcmp0 (page->merchant_id, summary->merchant_id) == 0 &&
         g_strcmp0 (page->order_id, summary->order_id) == 0 &&
         page->amount == summary->amount &&
         g_ascii_strcasecmp (page->currency, summary->currency) == 0;
}

/* What the dialog shows: the session as the gateway holds it, its items
 * too, never the page's words. */
static OwPurchase *
shown_purchase (const OwCheckoutSummary *summary)
{
  OwPurchase *shown = ow_purchase_new (summary->merchant_name, summary->order_id,
                                       summary->amount, summary->currency);

  for (guint i = 0; i < summary->items->len; i++)
    {
      const OwPurchaseItem *item = g_ptr_array_index (summary->items, i);

      ow_purchase_add_item (shown, item->name, item->quantity, item->amount);
    }
  return shown;
}

static JsonObject *
result_object (const OwCheckoutResult *paid)
{
  JsonObject *result = json_object_new ();

  /* The page gets the outcome, never the card's balance or number. */
  json_object_set_string_member (result, "checkout_session", paid->checkout_session);
  json_object_set_string_member (result, "status", paid->status);
  json_object_set_string_member (result, "payment", paid->payment);
  json_object_set_string_member (result, "payment_status", paid->payment_status);
  json_object_set_string_member (result, "order_id", paid->order_id);
  json_object_set_int_member (result, "amount", paid->amount);
  json_object_set_string_member (result, "currency", paid->currency);
  if (paid->success_url != NULL)
    json_object_set_string_member (result, "success_url", paid->success_url);
  else
    json_object_set_null_member (result, "success_url");
  return result;
}

/* All that a locked window says of a payment the user approved, whatever
 * its outcome: no merchant, no sum. The details follow the unlock. */
static const char *
paid_while_locked (void)
{
  return _("A payment finished while the wallet was locked.");
}

static void
on_paid (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  Work *work = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwCheckoutResult) paid = ow_client_wallet_checkout_finish (OW_CLIENT (source), result,
                                                                       &error);
  g_autoptr(JsonObject) reply = json_object_new ();
  g_autofree char *amount = NULL;
  g_autofree char *message = NULL;
  GtkWindow *window = main_window (work);

  if (paid == NULL)
    {
      const char *code = error_code (error);

      message = ow_ui_error_message (error);
      toast_full (work, message, paid_while_locked ());
      g_message ("browser: the purchase was not paid: %s", code);
      if (ow_api_error_get_decline_code (error) != NULL)
        {
          json_object_set_string_member (reply, "error", code);
          json_object_set_string_member (reply, "decline_code", ow_api_error_get_decline_code (error));
          json_object_set_string_member (reply, "message", message);
          ow_bridge_call_reply (work->call, reply);
          work_free (work);
          return;
        }
      refuse (work, code, message);
      return;
    }

  amount = ow_format_money (paid->amount, paid->currency);
  /* TRANSLATORS: "Paid ₩13,000 to Onepin Tea House." */
  message = g_strdup_printf (_("Paid %s to %s."), amount, work->shown->merchant);
  toast_full (work, message, paid_while_locked ());
  /* Locked meanwhile, the action is off and the unlock refreshes instead. */
  if (window != NULL)
    gtk_widget_activate_action (GTK_WIDGET (window), "win.refresh", NULL);
  json_object_set_object_member (reply, "result", result_object (paid));
  ow_bridge_call_reply (work->call, reply);
  g_message ("browser: paid an affiliated mall's purchase");
  work_free (work);
}

static void
on_approval_decided (OwApprovalDialog *dialog,
                     gboolean          approved,
                     const char       *card_password,
                     Work             *work)
{
  OwClient *client;

  work->dialog = NULL;
  g_object_remove_weak_pointer (G_OBJECT (dialog), (gpointer *) &work->dialog);
  if (!approved)
    {
      refuse (work, "rejected", "The user rejected the purchase");
      return;
    }
  client = signed_in_client (work);
  if (client == NULL)
    return;
  /* What the user approved, with the ids the gateway matches on. Not on
   * the call's cancellable: the browser going away (or its key wiped by a
   * lock) must not abort a request that may have reached the gateway
   * already, leaving the card charged and the wallet silent. The payment
   * runs to its end and the wallet reports its outcome; the browser, if
   * gone, hears nothing more (the call's answer goes nowhere). */
  ow_client_wallet_checkout_async (client, ow_bridge_call_get_purchase (work->call), card_password,
                                   work->key, NULL, on_paid, work);
}

static void
on_card_for_checkout (GObject      *source,
                      GAsyncResult *result,
                      gpointer      data)
{
  Work *work = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *from = NULL;
  OwApprovalDialog *dialog;

  work->card = ow_client_get_card_finish (OW_CLIENT (source), result, &error);
  if (work->card == NULL)
    return refuse (work, g_error_matches (error, OW_API_ERROR, OW_API_ERROR_NOT_FOUND)
                         ? "no_card" : error_code (error), NULL);

  dialog = ow_approval_dialog_new (work->shown);
  ow_approval_dialog_set_card (dialog, work->card);
  /* TRANSLATORS: "Forwarded by Work laptop from https://mall.example" */
  from = g_strdup_printf (_("Forwarded by %s from %s"),
                          ow_bridge_call_get_browser_name (work->call),
                          ow_bridge_call_get_origin (work->call));
  ow_approval_dialog_set_source (dialog, from);
  g_signal_connect (dialog, "decided", G_CALLBACK (on_approval_decided), work);
  show_dialog (work, GTK_WINDOW (dialog));
  g_message ("browser: asking to approve a purchase");
}

static void
on_summary (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Work *work = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(OwCheckoutSummary) summary =
    ow_client_get_checkout_summary_finish (OW_CLIENT (source), result, &error);

  if (summary == NULL)
    return refuse (work, error_code (error), NULL);
  if (g_str_equal (summary->status, "complete"))
    return refuse (work, "completed", "This order is paid already");
  if (!g_str_equal (summary->status, "open"))
    return refuse (work, "expired", "This checkout has expired");

  if (!same_order (ow_bridge_call_get_purchase (work->call), summary))
    return refuse (work, "mismatch", "The purchase on the page is not the shop's order");
  if (!ow_checkout_summary_is_from (summary, ow_bridge_call_get_origin (work->call)))
    {
      toast (work, _("A page that is not the shop’s own asked to pay for the shop’s order."));
      return refuse (work, "wrong_origin", "The page is not on the shop's site");
    }

  work->shown = shown_purchase (summary);
  ow_client_get_card_async (OW_CLIENT (source), cancellable (work), on_card_for_checkout, work);
}

static void
start_checkout (Work *work)
{
  const OwPurchase *purchase = ow_bridge_call_get_purchase (work->call);
  OwClient *client = signed_in_client (work);

  if (client == NULL)
    return;
  if (!same_gateway (purchase->gateway, ow_client_get_base_url (client)))
    {
      toast (work, _("A mall asked to be paid through another gateway than the wallet’s."));
      refuse (work, "wrong_gateway", "The mall uses another gateway than the wallet");
      return;
    }
  work->key = ow_client_new_idempotency_key ();
  ow_client_get_checkout_summary_async (client, purchase->checkout_session, cancellable (work),
                                        on_summary, work);
}

/* ---- the bridge --------------------------------------------------------- */

/* A listed site had the card with no dialog. Whoever holds the browser's
 * key (any process of the user that reads its profile) can claim such a
 * site: this toast is how the user learns of a fill they did not make. */
static void
on_card_released (OwBridge         *bridge,
                  OwBridgeCall     *call,
                  OwBrowserService *self)
{
  GtkWindow *window = ow_application_get_main_window (self->application);
  g_autofree char *message = NULL;

  /* TRANSLATORS: "Card filled on https://shop.example by “Work laptop”." */
  message = g_strdup_printf (_("Card filled on %s by “%s”."), ow_bridge_call_get_origin (call),
                             ow_bridge_call_get_browser_name (call));
  if (window != NULL)
    ow_ui_toast (GTK_WIDGET (window), message);
  g_message ("browser: filled a listed site without asking");
}

static void
on_call (OwBridge         *bridge,
         OwBridgeCall     *call,
         OwBrowserService *self)
{
  Work *work = g_new0 (Work, 1);

  work->service = g_object_ref (self);
  work->call = g_object_ref (call);
  work->cancelled_id = g_cancellable_connect (ow_bridge_call_get_cancellable (call),
                                              G_CALLBACK (on_cancelled), work, NULL);
  switch (ow_bridge_call_get_kind (call))
    {
    case OW_BRIDGE_CALL_PAIR:
      start_pairing (work);
      break;
    case OW_BRIDGE_CALL_CARD:
      start_card (work);
      break;
    case OW_BRIDGE_CALL_CHECKOUT:
    default:
      start_checkout (work);
      break;
    }
}

static void
ow_browser_service_dispose (GObject *object)
{
  OwBrowserService *self = OW_BROWSER_SERVICE (object);

  if (self->bridge != NULL)
    ow_bridge_close (self->bridge);
  g_clear_object (&self->bridge);

  G_OBJECT_CLASS (ow_browser_service_parent_class)->dispose (object);
}

static void
ow_browser_service_class_init (OwBrowserServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = ow_browser_service_dispose;
}

static void
ow_browser_service_init (OwBrowserService *self)
{
}

OwBrowserService *
ow_browser_service_new (OwApplication *application)
{
  OwBrowserService *self = g_object_new (OW_TYPE_BROWSER_SERVICE, NULL);
  g_autoptr(GError) error = NULL;

  self->application = application;
  self->bridge = ow_bridge_new (ow_application_get_vault (application));
  g_signal_connect_object (self->bridge, "call", G_CALLBACK (on_call), self, 0);
  g_signal_connect_object (self->bridge, "card-released", G_CALLBACK (on_card_released), self, 0);
  if (!ow_bridge_listen (self->bridge, NULL, &error))
    g_message ("Browsers cannot reach the wallet: %s", error->message);
  return self;
}

OwBridge *
ow_browser_service_get_bridge (OwBrowserService *self)
{
  g_return_val_if_fail (OW_IS_BROWSER_SERVICE (self), NULL);
  return self->bridge;
}

void
ow_browser_service_stop (OwBrowserService *self)
{
  g_return_if_fail (OW_IS_BROWSER_SERVICE (self));
  ow_bridge_close (self->bridge);
}
