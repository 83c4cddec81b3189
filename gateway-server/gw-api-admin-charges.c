/* gw-api-admin-charges.c: GET /v1/admin/charges, every charge sent to the
 * financial system
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The card site's charges (an order's or a recharge's, in the orders store)
 * and the wallet's (in the wallet store) in one list, newest first, for an
 * admin reconciling with the bank. Each store reads a page of its own from
 * the cursor on, in one snapshot; they are merged here. Only what the bank
 * knows a charge by and what became of it is shown: no card or account
 * number, no name, no key.
 */
#include "gw-server-private.h"

#include <string.h>

#include "gw-orders-store.h"
#include "gw-wallet-store.h"

#define ORDERS(txn) ((const GwOrdersStoreFuncs *) gw_txn_extension ((txn), "orders"))
#define WALLET(txn) ((const GwWalletStoreFuncs *) gw_txn_extension ((txn), "wallet"))

/* Both tables' statuses. */
static const char * const statuses[] = {
  "processing", "pending", "approved", "declined", "failed", "canceled", "voiding", "voided",
  "succeeded", NULL
};

static const char * const purposes[] = { "order", "recharge", "wallet", NULL };

typedef struct
{
  const char    *starting_after;
  const char    *purpose;         /* or NULL: all */
  GwChargesPage  page;
  gboolean       cursor_found;
  GPtrArray     *site;            /* GwChargeRow *, newest first */
  GPtrArray     *wallet;          /* GwWalletCharge * */
} ChargesRead;

static void
charges_read_clear (ChargesRead *read)
{
  g_clear_pointer (&read->site, g_ptr_array_unref);
  g_clear_pointer (&read->wallet, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ChargesRead, charges_read_clear)

/* Where @id, a charge of either kind, is: the page starts after it. */
static gboolean
find_cursor (GwTxn        *txn,
             ChargesRead  *read,
             GError      **error)
{
  GwChargeRow site;
  GwWalletCharge wallet = { 0 };
  GError *local = NULL;

  if (ORDERS (txn)->charge_get (txn, read->starting_after, &site, &local))
    {
      read->page.before_created = site.created;
      read->cursor_found = TRUE;
      return TRUE;
    }
  if (local == NULL && WALLET (txn)->charge_get (txn, read->starting_after, &wallet, &local))
    {
      read->page.before_created = wallet.created;
      read->cursor_found = TRUE;
    }
  gw_wallet_charge_clear (&wallet);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

static gboolean
charges_read (GwTxn    *txn,
              gpointer  data,
              GError  **error)
{
  ChargesRead *read = data;
  gboolean site = read->purpose == NULL || !g_str_equal (read->purpose, "wallet");
  gboolean wallet = read->purpose == NULL || g_str_equal (read->purpose, "wallet");

  charges_read_clear (read);     /* from a read tried before, if any */
  read->page.before_created = G_MAXINT64;
  read->page.before_id = "";
  read->page.purpose = site ? read->purpose : NULL;
  read->cursor_found = read->starting_after == NULL;
  if (read->starting_after != NULL)
    {
      if (!find_cursor (txn, read, error))
        return FALSE;
      if (!read->cursor_found)
        return TRUE;
      read->page.before_id = read->starting_after;
    }
  read->site = site ? ORDERS (txn)->charges_page (txn, &read->page, error)
                    : g_ptr_array_new ();
  if (read->site == NULL)
    return FALSE;
  read->wallet = wallet ? WALLET (txn)->charges_page (txn, &read->page, error)
                        : g_ptr_array_new ();
  return read->wallet != NULL;
}

static void
render_site (GString           *out,
             const GwChargeRow *charge)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "id", charge->id);
  gw_json_str (out, "object", "charge");
  gw_json_str (out, "purpose", charge->purpose);
  gw_json_str (out, "owner", charge->owner_id);
  gw_json_str (out, "method", charge->method);
  gw_json_str (out, "funding_source", NULL);
  gw_json_int (out, "amount", charge->amount);
  gw_json_str (out, "currency", charge->currency);
  gw_json_str (out, "status", charge->status);
  /* "not_sent" is the site's own note, as in an order's payment: a failed
   * charge with no code is one the bank never saw. */
  gw_json_optional_str (out, "decline_code", g_str_equal (charge->decline_code, "not_sent")
                                             ? NULL : charge->decline_code);
  gw_json_optional_str (out, "reference", charge->reference);
  gw_json_int (out, "created", charge->created);
  gw_json_int (out, "updated", charge->updated);
  gw_json_optional_int (out, "watch_until", charge->watch_until);
  gw_json_optional_int (out, "voided_late", charge->voided_late);
  g_string_append_c (out, '}');
}

static void
render_wallet (GString              *out,
               const GwWalletCharge *charge)
{
  g_string_append_c (out, '{');
  gw_json_str (out, "id", charge->id);
  gw_json_str (out, "object", "charge");
  gw_json_str (out, "purpose", "wallet");
  /* The representative card it credits: the user stays unnamed. */
  gw_json_str (out, "owner", charge->card_id);
  gw_json_str (out, "method", NULL);
  gw_json_str (out, "funding_source", charge->funding_source_id);
  gw_json_int (out, "amount", charge->amount);
  gw_json_str (out, "currency", charge->currency);
  gw_json_str (out, "status", charge->status);
  gw_json_optional_str (out, "decline_code", charge->decline_code);
  gw_json_optional_str (out, "reference", charge->reference);
  gw_json_int (out, "created", charge->created);
  gw_json_optional_int (out, "updated", charge->settled);
  gw_json_optional_int (out, "watch_until", charge->watch_until);
  gw_json_optional_int (out, "voided_late", charge->voided_late);
  g_string_append_c (out, '}');
}

/* Whether (@created_a, @id_a) comes before (@created_b, @id_b), newest first. */
static gboolean
newer (gint64      created_a,
       const char *id_a,
       gint64      created_b,
       const char *id_b)
{
  return created_a > created_b || (created_a == created_b && strcmp (id_a, id_b) > 0);
}

/* Both pages merged, the first @limit of them; whether there are more. */
static gboolean
render_merged (GString           *out,
               const ChargesRead *read,
               guint              limit)
{
  guint i = 0, j = 0;

  for (guint n = 0; n < limit && (i < read->site->len || j < read->wallet->len); n++)
    {
      const GwChargeRow *site = i < read->site->len ? read->site->pdata[i] : NULL;
      const GwWalletCharge *wallet = j < read->wallet->len ? read->wallet->pdata[j] : NULL;

      if (n > 0)
        g_string_append_c (out, ',');
      if (wallet == NULL ||
          (site != NULL && newer (site->created, site->id, wallet->created, wallet->id)))
        render_site (out, site), i++;
      else
        render_wallet (out, wallet), j++;
    }
  return i < read->site->len || j < read->wallet->len;
}

/* Whether @value, if given, is one of @allowed; 400 naming @param and
 * @allowed if not. */
static gboolean
one_of (GwRequest          *request,
        const char         *param,
        const char         *value,
        const char * const *allowed)
{
  g_autofree char *list = NULL;
  g_autofree char *message = NULL;

  if (value == NULL || g_strv_contains (allowed, value))
    return TRUE;
  list = g_strjoinv (", ", (char **) allowed);
  message = g_strdup_printf ("%s must be one of %s.", param, list);
  gw_request_bad_param (request, param, message);
  return FALSE;
}

void
gw_api_admin_charges (GwRequest *request)
{
  g_auto(ChargesRead) read = { 0 };
  g_autoptr(GError) error = NULL;
  const char *status = NULL;
  const char *voided_late = NULL;
  guint limit;
  gboolean more;
  GString *body;

  if (!gw_request_limit (request, 10, &limit))
    return;
  if (request->query != NULL)
    {
      read.starting_after = g_hash_table_lookup (request->query, "starting_after");
      read.purpose = g_hash_table_lookup (request->query, "purpose");
      status = g_hash_table_lookup (request->query, "status");
      voided_late = g_hash_table_lookup (request->query, "voided_late");
    }
  if (!one_of (request, "status", status, statuses) ||
      !one_of (request, "purpose", read.purpose, purposes))
    return;
  if (voided_late != NULL && !g_str_equal (voided_late, "true"))
    return gw_request_bad_param (request, "voided_late", "voided_late can only be true.");
  read.page.status = status;
  read.page.voided_late = voided_late != NULL;
  read.page.limit = limit + 1;
  if (!gw_store_read (gw_server_get_store (request->server), charges_read, &read, &error))
    {
      g_warning ("read failed: %s", error->message);
      return gw_request_error (request, 500, "api_error", "internal", NULL, "The read failed.");
    }
  if (!read.cursor_found)
    return gw_request_bad_param (request, "starting_after",
                                 "starting_after must be a charge id.");

  body = g_string_new ("{\"object\":\"list\",\"data\":[");
  more = render_merged (body, &read, limit);
  g_string_append_c (body, ']');
  gw_json_bool (body, "has_more", more);
  g_string_append_c (body, '}');
  gw_request_reply (request, 200, body);
}
