/* ow-model.c: what the gateway's wallet API answers, as C structs
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-model.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "ow-client.h"
#include "ow-purchase.h"
#include "onepin-money.h"
#include "ow-secret.h"

/* Reads members of one object; the first problem is kept and later reads
 * return fallbacks, so a parser checks once at its end. */
typedef struct
{
  JsonObject *object;
  const char *what;
  GError     *error;
} Reader;

static JsonNode *
member (Reader      *r,
        const char  *name,
        gboolean     nullable)
{
  JsonNode *node;

  if (r->error != NULL)
    return NULL;

  node = json_object_get_member (r->object, name);
  if (node == NULL || (JSON_NODE_HOLDS_NULL (node) && !nullable))
    {
      g_set_error (&r->error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL,
                   "The gateway's %s has no “%s”", r->what, name);
      return NULL;
    }
  return JSON_NODE_HOLDS_NULL (node) ? NULL : node;
}

static void
wrong_type (Reader     *r,
            const char *name)
{
  g_set_error (&r->error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL,
               "The gateway's %s has a malformed “%s”", r->what, name);
}

static char *
read_string (Reader     *r,
             const char *name,
             gboolean    nullable)
{
  JsonNode *node = member (r, name, nullable);

  if (node == NULL)
    return NULL;
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    {
      wrong_type (r, name);
      return NULL;
    }
  return json_node_dup_string (node);
}

static gint64
read_int (Reader     *r,
          const char *name)
{
  JsonNode *node = member (r, name, FALSE);

  if (node == NULL)
    return 0;
  if (json_node_get_value_type (node) != G_TYPE_INT64)
    {
      wrong_type (r, name);
      return 0;
    }
  return json_node_get_int (node);
}

static JsonObject *
read_object (Reader     *r,
             const char *name,
             gboolean    nullable)
{
  JsonNode *node = member (r, name, nullable);

  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      wrong_type (r, name);
      return NULL;
    }
  return json_node_get_object (node);
}

static JsonArray *
read_array (Reader     *r,
            const char *name)
{
  JsonNode *node = member (r, name, FALSE);

  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      wrong_type (r, name);
      return NULL;
    }
  return json_node_get_array (node);
}

static gboolean
read_bool (Reader     *r,
           const char *name)
{
  JsonNode *node = member (r, name, FALSE);

  if (node == NULL)
    return FALSE;
  if (json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      wrong_type (r, name);
      return FALSE;
    }
  return json_node_get_boolean (node);
}

static gboolean
reader_done (Reader  *r,
             GError **error)
{
  if (r->error == NULL)
    return TRUE;
  g_propagate_error (error, r->error);
  r->error = NULL;
  return FALSE;
}

/* ---- sessions and profiles ---------------------------------------------- */

void
ow_session_free (OwSession *session)
{
  if (session == NULL)
    return;
  g_free (session->id);
  ow_secret_free (session->token);
  g_free (session->user_id);
  g_free (session);
}

OwSession *
ow_session_parse (JsonObject  *object,
                  GError     **error)
{
  Reader r = { object, "session", NULL };
  g_autoptr(OwSession) s = g_new0 (OwSession, 1);

  s->id = read_string (&r, "id", FALSE);
  s->token = read_string (&r, "token", FALSE);
  s->user_id = read_string (&r, "user", FALSE);
  s->created = read_int (&r, "created");
  s->expires_at = read_int (&r, "expires_at");
  if (r.error == NULL && (s->token[0] == '\0' || strlen (s->token) > 512))
    wrong_type (&r, "token");

  return reader_done (&r, error) ? g_steal_pointer (&s) : NULL;
}

void
ow_profile_free (OwProfile *profile)
{
  if (profile == NULL)
    return;
  g_free (profile->id);
  g_free (profile->login_id);
  g_free (profile->name);
  g_free (profile->email);
  g_free (profile->phone);
  g_free (profile->receipt_channel);
  g_free (profile->locale);
  g_free (profile->card_id);
  g_free (profile);
}

OwProfile *
ow_profile_parse (JsonObject  *object,
                  GError     **error)
{
  Reader r = { object, "profile", NULL };
  g_autoptr(OwProfile) p = g_new0 (OwProfile, 1);

  p->id = read_string (&r, "id", FALSE);
  p->login_id = read_string (&r, "login_id", FALSE);
  p->name = read_string (&r, "name", FALSE);
  p->email = read_string (&r, "email", FALSE);
  p->phone = read_string (&r, "phone", TRUE);
  p->receipt_channel = read_string (&r, "receipt_channel", FALSE);
  p->locale = read_string (&r, "locale", FALSE);
  p->card_id = read_string (&r, "card", TRUE);
  p->created = read_int (&r, "created");

  return reader_done (&r, error) ? g_steal_pointer (&p) : NULL;
}

/* ---- the representative card -------------------------------------------- */

void
ow_card_free (OwCard *card)
{
  if (card == NULL)
    return;
  g_free (card->id);
  g_free (card->masked_number);
  g_free (card->last4);
  g_free (card->state);
  g_free (card->currency);
  ow_secret_free (card->number);
  ow_secret_free (card->cvc);
  g_free (card);
}

OwCard *
ow_card_parse (JsonObject  *object,
               GError     **error)
{
  Reader r = { object, "card", NULL };
  g_autoptr(OwCard) c = g_new0 (OwCard, 1);

  c->id = read_string (&r, "id", FALSE);
  c->masked_number = read_string (&r, "masked_number", FALSE);
  c->last4 = read_string (&r, "card_last4", FALSE);
  c->exp_month = (int) read_int (&r, "exp_month");
  c->exp_year = (int) read_int (&r, "exp_year");
  c->state = read_string (&r, "state", FALSE);
  c->balance = read_int (&r, "balance");
  c->held = read_int (&r, "held");
  c->available = read_int (&r, "available");
  c->currency = read_string (&r, "currency", FALSE);
  c->points = read_int (&r, "points");
  c->issued_at = read_int (&r, "issued_at");
  c->expires_at = read_int (&r, "expires_at");
  if (json_object_has_member (object, "number"))
    {
      c->number = read_string (&r, "number", FALSE);
      c->cvc = read_string (&r, "cvc", FALSE);
    }
  if (r.error == NULL && (c->exp_month < 1 || c->exp_month > 12))
    wrong_type (&r, "exp_month");

  return reader_done (&r, error) ? g_steal_pointer (&c) : NULL;
}

/* ---- checkout ----------------------------------------------------------- */

void
ow_checkout_summary_free (OwCheckoutSummary *summary)
{
  if (summary == NULL)
    return;
  g_free (summary->id);
  g_free (summary->status);
  g_free (summary->merchant_id);
  g_free (summary->merchant_name);
  g_free (summary->order_id);
  g_free (summary->currency);
  g_clear_pointer (&summary->items, g_ptr_array_unref);
  g_free (summary->success_url);
  g_free (summary->cancel_url);
  g_free (summary);
}

/* The session's items (unit prices) as an OwPurchase's lines. */
static GPtrArray *
read_checkout_items (Reader *r)
{
  g_autoptr(OwPurchase) lines = ow_purchase_new ("", "", 1, "krw");
  JsonNode *node = json_object_get_member (r->object, "items");

  if (r->error != NULL)
    return NULL;
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) &&
      (!JSON_NODE_HOLDS_ARRAY (node) ||
       !ow_purchase_add_checkout_items (lines, json_node_get_array (node), NULL)))
    {
      wrong_type (r, "items");
      return NULL;
    }
  return g_ptr_array_ref (lines->items);
}

int
ow_uri_port (GUri *uri)
{
  int port = g_uri_get_port (uri);

  if (port > 0)
    return port;
  return g_str_equal (g_uri_get_scheme (uri), "https") ? 443 : 80;
}

/* Whether @url (a session's success or cancel URL) is on @origin. */
static gboolean
on_origin (const char *url,
           const char *origin)
{
  g_autoptr(GUri) x = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;
  g_autoptr(GUri) y = g_uri_parse (origin, G_URI_FLAGS_NONE, NULL);

  if (x == NULL || y == NULL || g_uri_get_host (x) == NULL || g_uri_get_host (y) == NULL)
    return FALSE;
  return g_ascii_strcasecmp (g_uri_get_scheme (x), g_uri_get_scheme (y)) == 0 &&
         g_ascii_strcasecmp (g_uri_get_host (x), g_uri_get_host (y)) == 0 &&
         ow_uri_port (x) == ow_uri_port (y);
}

/* A session names the mall's own pages: a purchase forwarded from another
 * origin is someone relaying the mall's checkout ("pay for my order"). A
 * session that names none cannot tell the mall's page from a relay, so the
 * wallet takes it from nowhere (the hosted page still pays it). */
gboolean
ow_checkout_summary_is_from (const OwCheckoutSummary *summary,
                             const char              *origin)
{
  return on_origin (summary->success_url, origin) || on_origin (summary->cancel_url, origin);
}

OwCheckoutSummary *
ow_checkout_summary_parse (JsonObject  *object,
                           GError     **error)
{
  Reader r = { object, "checkout session", NULL };
  g_autoptr(OwCheckoutSummary) s = g_new0 (OwCheckoutSummary, 1);
  JsonObject *merchant;

  s->id = read_string (&r, "id", FALSE);
  s->status = read_string (&r, "status", FALSE);
  merchant = read_object (&r, "merchant", FALSE);
  s->order_id = read_string (&r, "order_id", FALSE);
  s->amount = read_int (&r, "amount");
  s->currency = read_string (&r, "currency", FALSE);
  s->expires_at = read_int (&r, "expires_at");
  s->items = read_checkout_items (&r);
  s->success_url = read_string (&r, "success_url", TRUE);
  s->cancel_url = read_string (&r, "cancel_url", TRUE);
  if (merchant != NULL)
    {
      Reader m = { merchant, "checkout session's merchant", NULL };

      s->merchant_id = read_string (&m, "id", FALSE);
      s->merchant_name = read_string (&m, "name", FALSE);
      if (!reader_done (&m, error))
        return NULL;
    }
  return reader_done (&r, error) ? g_steal_pointer (&s) : NULL;
}

void
ow_checkout_result_free (OwCheckoutResult *result)
{
  if (result == NULL)
    return;
  g_free (result->checkout_session);
  g_free (result->status);
  g_free (result->payment);
  g_free (result->payment_status);
  g_free (result->order_id);
  g_free (result->currency);
  g_free (result->card_last4);
  g_free (result->success_url);
  g_free (result);
}

OwCheckoutResult *
ow_checkout_result_parse (JsonObject  *object,
                          GError     **error)
{
  Reader r = { object, "checkout result", NULL };
  g_autoptr(OwCheckoutResult) c = g_new0 (OwCheckoutResult, 1);

  c->checkout_session = read_string (&r, "checkout_session", FALSE);
  c->status = read_string (&r, "status", FALSE);
  c->payment = read_string (&r, "payment", FALSE);
  c->payment_status = read_string (&r, "payment_status", FALSE);
  c->order_id = read_string (&r, "order_id", FALSE);
  c->amount = read_int (&r, "amount");
  c->currency = read_string (&r, "currency", FALSE);
  c->card_last4 = read_string (&r, "card_last4", FALSE);
  c->available = json_object_has_member (object, "available") ? read_int (&r, "available") : -1;
  c->success_url = read_string (&r, "success_url", TRUE);
  return reader_done (&r, error) ? g_steal_pointer (&c) : NULL;
}

/* ---- funding sources ---------------------------------------------------- */

void
ow_funding_source_free (OwFundingSource *source)
{
  if (source == NULL)
    return;
  g_free (source->id);
  g_free (source->masked_number);
  g_free (source->last4);
  g_free (source->bank_code);
  g_free (source);
}

OwFundingSource *
ow_funding_source_parse (JsonObject  *object,
                         GError     **error)
{
  Reader r = { object, "funding source", NULL };
  g_autoptr(OwFundingSource) f = g_new0 (OwFundingSource, 1);
  g_autofree char *type = NULL;
  JsonObject *details = NULL;

  f->id = read_string (&r, "id", FALSE);
  type = read_string (&r, "type", FALSE);
  f->created = read_int (&r, "created");
  if (g_strcmp0 (type, "credit_card") == 0)
    {
      f->type = OW_FUNDING_CREDIT_CARD;
      details = read_object (&r, "credit_card", FALSE);
    }
  else if (g_strcmp0 (type, "bank_account") == 0)
    {
      f->type = OW_FUNDING_BANK_ACCOUNT;
      details = read_object (&r, "bank_account", FALSE);
    }
  else
    wrong_type (&r, "type");

  if (details != NULL)
    {
      Reader d = { details, "funding source details", NULL };

      f->masked_number = read_string (&d, "masked_number", FALSE);
      f->last4 = read_string (&d, "last4", FALSE);
      if (f->type == OW_FUNDING_CREDIT_CARD)
        {
          f->exp_month = (int) read_int (&d, "exp_month");
          f->exp_year = (int) read_int (&d, "exp_year");
        }
      else
        f->bank_code = read_string (&d, "bank_code", FALSE);
      if (d.error != NULL)
        g_propagate_error (&r.error, d.error);
    }

  return reader_done (&r, error) ? g_steal_pointer (&f) : NULL;
}

typedef gpointer (*ItemParse) (JsonObject *object, GError **error);

/* A list object's "data", each item parsed by @parse. */
static GPtrArray *
parse_list (JsonObject      *object,
            const char      *what,
            ItemParse        parse,
            GDestroyNotify   free_item,
            GError         **error)
{
  Reader r = { object, what, NULL };
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (free_item);
  JsonArray *data = read_array (&r, "data");

  if (!reader_done (&r, error))
    return NULL;

  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonNode *node = json_array_get_element (data, i);
      gpointer item;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL,
                       "The gateway's %s holds a non-object", what);
          return NULL;
        }
      item = parse (json_node_get_object (node), error);
      if (item == NULL)
        return NULL;
      g_ptr_array_add (list, item);
    }
  return g_steal_pointer (&list);
}

GPtrArray *
ow_funding_sources_parse (JsonObject  *object,
                          GError     **error)
{
  return parse_list (object, "funding source list", (ItemParse) ow_funding_source_parse,
                     (GDestroyNotify) ow_funding_source_free, error);
}

/* ---- calling numbers ---------------------------------------------------- */

void
ow_calling_number_free (OwCallingNumber *line)
{
  if (line == NULL)
    return;
  g_free (line->id);
  g_free (line->last4);
  g_free (line);
}

OwCallingNumber *
ow_calling_number_parse (JsonObject  *object,
                         GError     **error)
{
  Reader r = { object, "calling number", NULL };
  g_autoptr(OwCallingNumber) line = g_new0 (OwCallingNumber, 1);

  line->id = read_string (&r, "id", FALSE);
  line->last4 = read_string (&r, "calling_number_last4", FALSE);
  line->registered = read_bool (&r, "registered");
  /* only the list says when */
  line->created = json_object_has_member (object, "created") ? read_int (&r, "created") : 0;
  return reader_done (&r, error) ? g_steal_pointer (&line) : NULL;
}

GPtrArray *
ow_calling_numbers_parse (JsonObject  *object,
                          GError     **error)
{
  return parse_list (object, "calling number list", (ItemParse) ow_calling_number_parse,
                     (GDestroyNotify) ow_calling_number_free, error);
}

/* ---- charges and history ------------------------------------------------ */

void
ow_charge_free (OwCharge *charge)
{
  if (charge == NULL)
    return;
  g_free (charge->id);
  g_free (charge->status);
  g_free (charge->currency);
  g_free (charge->funding_source);
  g_free (charge->card_id);
  g_free (charge->card_last4);
  g_free (charge);
}

OwCharge *
ow_charge_parse (JsonObject  *object,
                 GError     **error)
{
  Reader r = { object, "charge", NULL };
  g_autoptr(OwCharge) c = g_new0 (OwCharge, 1);

  c->id = read_string (&r, "id", FALSE);
  c->status = read_string (&r, "status", FALSE);
  c->amount = read_int (&r, "amount");
  c->currency = read_string (&r, "currency", FALSE);
  c->funding_source = read_string (&r, "funding_source", FALSE);
  c->card_id = read_string (&r, "card_id", FALSE);
  c->card_last4 = read_string (&r, "card_last4", FALSE);
  c->balance_after = read_int (&r, "balance_after");
  c->created = read_int (&r, "created");

  return reader_done (&r, error) ? g_steal_pointer (&c) : NULL;
}

void
ow_transaction_free (OwTransaction *t)
{
  if (t == NULL)
    return;
  g_free (t->id);
  g_free (t->type);
  g_free (t->currency);
  g_free (t->description);
  g_free (t->merchant_name);
  g_free (t->funding_last4);
  g_free (t);
}

static OwTransaction *
transaction_parse (JsonObject  *object,
                   GError     **error)
{
  Reader r = { object, "history line", NULL };
  g_autoptr(OwTransaction) t = g_new0 (OwTransaction, 1);
  JsonObject *merchant;
  JsonObject *source;

  t->id = read_string (&r, "id", FALSE);
  t->type = read_string (&r, "type", FALSE);
  t->amount = read_int (&r, "amount");
  t->balance_after = read_int (&r, "balance_after");
  t->currency = read_string (&r, "currency", FALSE);
  t->description = read_string (&r, "description", TRUE);
  t->created = read_int (&r, "created");

  merchant = read_object (&r, "merchant", TRUE);
  if (merchant != NULL)
    {
      Reader m = { merchant, "history line's merchant", NULL };

      t->merchant_name = read_string (&m, "name", FALSE);
      if (m.error != NULL)
        g_propagate_error (&r.error, m.error);
    }

  source = read_object (&r, "funding_source", TRUE);
  if (source != NULL)
    {
      Reader s = { source, "history line's funding source", NULL };
      g_autofree char *type = read_string (&s, "type", FALSE);

      t->funding_last4 = read_string (&s, "last4", FALSE);
      t->funding_type = g_strcmp0 (type, "bank_account") == 0 ? OW_FUNDING_BANK_ACCOUNT
                                                              : OW_FUNDING_CREDIT_CARD;
      if (s.error != NULL)
        g_propagate_error (&r.error, s.error);
    }

  return reader_done (&r, error) ? g_steal_pointer (&t) : NULL;
}

void
ow_history_page_free (OwHistoryPage *page)
{
  if (page == NULL)
    return;
  g_ptr_array_unref (page->items);
  g_free (page);
}

OwHistoryPage *
ow_history_page_parse (JsonObject  *object,
                       GError     **error)
{
  Reader r = { object, "history", NULL };
  g_autoptr(OwHistoryPage) page = g_new0 (OwHistoryPage, 1);
  JsonArray *data = read_array (&r, "data");

  page->items = g_ptr_array_new_with_free_func ((GDestroyNotify) ow_transaction_free);
  page->has_more = read_bool (&r, "has_more");
  if (!reader_done (&r, error))
    return NULL;

  for (guint i = 0; i < json_array_get_length (data); i++)
    {
      JsonNode *node = json_array_get_element (data, i);
      OwTransaction *t;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error_literal (error, OW_CLIENT_ERROR, OW_CLIENT_ERROR_PROTOCOL,
                               "The gateway's history holds a non-object");
          return NULL;
        }
      t = transaction_parse (json_node_get_object (node), error);
      if (t == NULL)
        return NULL;
      g_ptr_array_add (page->items, t);
    }
  return g_steal_pointer (&page);
}

/* ---- display ------------------------------------------------------------ */

/* Groups the digits of @value by three with @separator. */
static void
append_grouped (GString    *out,
                guint64     value,
                const char *separator)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, value);
  gsize len = strlen (digits);

  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append (out, separator);
      g_string_append_c (out, digits[i]);
    }
}

char *
ow_format_money (gint64      amount,
                 const char *currency)
{
  g_autoptr(GString) number = g_string_new (NULL);
  int exponent = currency != NULL ? onepin_currency_exponent (currency) : -1;
  /* G_MININT64 has no positive counterpart in gint64 */
  guint64 magnitude = amount < 0 ? (guint64) -(amount + 1) + 1 : (guint64) amount;
  guint64 scale = 1;

  for (int i = 0; i < MAX (exponent, 0); i++)
    scale *= 10;

  append_grouped (number, magnitude / scale, ",");
  if (exponent > 0)
    g_string_append_printf (number, ".%0*" G_GUINT64_FORMAT, exponent, magnitude % scale);

  if (g_strcmp0 (currency, "krw") == 0)
    /* TRANSLATORS: an amount of Korean won; %s is the number, "10,000" */
    return g_strdup_printf (amount < 0 ? _("−₩%s") : _("₩%s"), number->str);

  {
    g_autofree char *code = g_ascii_strup (currency != NULL ? currency : "", -1);

    return g_strdup_printf ("%s%s %s", amount < 0 ? "−" : "", code, number->str);
  }
}
