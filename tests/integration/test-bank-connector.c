/* test-bank-connector.c: onepin-bank and the gateway's connector to it
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A real onepin-bank process on loopback, driven through GwConnectorBank
 * (the code the gateway runs), plus a libsoup server in this process that
 * receives the bank's deposit callbacks and, for the acquirer's tests,
 * plays onepin's issuer on the card network.
 */
#define _GNU_SOURCE               /* memmem */
#include "gw-connector-bank-private.h"
#include "onepin-shared.h"
#include "onepin-test-bank.h"
#include "onepin-test-process.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXPIRY "12/30"
#define SLOW_SECONDS "4"
#define CONNECTOR_TIMEOUT 1

static OtBank *bank;
static GwConnector *connector;

/* ---- the callback receiver ---------------------------------------------- */

typedef struct
{
  char   *path;
  GBytes *body;
  char   *signature;
  guint   answered;
} Received;

static SoupServer *receiver;
static char *receiver_url;
static GPtrArray *received;           /* of Received* */
static guint fail_next;               /* answer 500 to this many first */

static void
received_free (Received *r)
{
  g_free (r->path);
  g_bytes_unref (r->body);
  g_free (r->signature);
  g_free (r);
}

static void
on_callback (SoupServer        *server,
             SoupServerMessage *msg,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  Received *r = g_new0 (Received, 1);

  r->path = g_strdup (path);
  r->body = g_bytes_new (body->data, body->length);
  r->signature = g_strdup (soup_message_headers_get_one (headers, "Onepin-Bank-Signature"));
  r->answered = fail_next > 0 ? 500 : 200;
  if (fail_next > 0)
    fail_next--;
  g_ptr_array_add (received, r);
  soup_server_message_set_status (msg, r->answered, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "", 0);
}

static void
receiver_start (void)
{
  g_autoptr(GError) error = NULL;
  GSList *uris;

  received = g_ptr_array_new_with_free_func ((GDestroyNotify) received_free);
  receiver = soup_server_new (NULL, NULL);
  soup_server_add_handler (receiver, NULL, on_callback, NULL, NULL);
  soup_server_listen_local (receiver, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (receiver);
  receiver_url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

/* Runs the main loop until @count callbacks arrived (at most @seconds). */
static void
wait_received (guint count,
               guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  while (received->len < count && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (2000), TRUE);
  if (received->len < count)
    g_error ("expected %u callbacks within %u s, got %u", count, seconds, received->len);
}

/* Runs the main loop for @usec microseconds. */
static void
run_for (gint64 usec)
{
  gint64 until = g_get_monotonic_time () + usec;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
}

/* A connector to the bank at @url (the real bank's key files), giving up on
 * each call after @timeout seconds. */
static GwConnector *
connector_to (const char *url,
              guint       timeout)
{
  g_autoptr(GError) error = NULL;
  GwConnector *c = GW_CONNECTOR (gw_connector_bank_new (url, ot_bank_api_key_path (bank),
                                                        ot_bank_callback_secret_path (bank),
                                                        timeout, &error));

  g_assert_no_error (error);
  return c;
}

/* ---- calling the connector synchronously -------------------------------- */

typedef GwChargeResult *(*Finish) (GwConnector   *self,
                                   GAsyncResult  *result,
                                   GError       **error);

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Runs the main loop until @slot is set, at most @seconds. */
static void
wait_slot (GAsyncResult **slot,
           guint          seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  while (*slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  if (*slot == NULL)
    g_error ("the connector's call did not finish within %u s", seconds);
}

static GwChargeResult *
finish_sync (GAsyncResult **slot,
             Finish         finish,
             GError       **error)
{
  GwChargeResult *result;

  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  result = finish (connector, *slot, error);
  g_clear_object (slot);
  return result;
}

static GwChargeResult *
charge (const GwChargeRequest  *request,
        GError                **error)
{
  GAsyncResult *slot = NULL;

  gw_connector_charge_async (connector, request, NULL, on_done, &slot);
  return finish_sync (&slot, gw_connector_charge_finish, error);
}

static GwChargeResult *
query (const char  *key,
       GError     **error)
{
  GAsyncResult *slot = NULL;

  gw_connector_query_async (connector, key, NULL, on_done, &slot);
  return finish_sync (&slot, gw_connector_query_finish, error);
}

static GwChargeResult *
void_charge (const char  *key,
             GError     **error)
{
  GAsyncResult *slot = NULL;

  gw_connector_void_async (connector, key, NULL, on_done, &slot);
  return finish_sync (&slot, gw_connector_void_finish, error);
}

static GwChargeResult *
payout (const GwChargeRequest  *request,
        GError                **error)
{
  GAsyncResult *slot = NULL;

  gw_connector_payout_async (connector, request, NULL, on_done, &slot);
  return finish_sync (&slot, gw_connector_payout_finish, error);
}

static char *
new_key (const char *what)
{
  return g_strdup_printf ("test-%s-%08x%08x", what, g_random_int (), g_random_int ());
}

static GwChargeRequest
card_request (const char *key,
              const char *number,
              gint64      amount)
{
  return (GwChargeRequest) { .method = GW_FUNDING_CREDIT_CARD, .idempotency_key = key,
                             .amount = amount, .currency = "krw",
                             .description = "onepin cards", .card_number = number,
                             .card_expiry = EXPIRY, .card_cvc = "123" };
}

static GwChargeRequest
account_request (const char *key,
                 const char *number,
                 const char *password,
                 gint64      amount)
{
  return (GwChargeRequest) { .method = GW_FUNDING_BANK_ACCOUNT, .idempotency_key = key,
                             .amount = amount, .currency = "krw", .bank_code = OT_BANK_CODE,
                             .account_number = number, .account_password = password };
}

/* Charges and asserts a decline with @code. */
static void
assert_declined (GwChargeRequest  request,
                 const char      *code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) result = charge (&request, &error);
  g_autoptr(GwChargeResult) found = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (result->status, ==, GW_CHARGE_DECLINED);
  g_assert_cmpstr (result->decline_code, ==, code);
  g_assert_nonnull (result->message);
  g_assert_null (strstr (result->message, "4000"));

  /* The bank remembers the decline too. */
  found = query (request.idempotency_key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (found->status, ==, GW_CHARGE_DECLINED);
  g_assert_cmpstr (found->decline_code, ==, code);
}

/* ---- cards -------------------------------------------------------------- */

static void
test_card_approve (void)
{
  g_autofree char *key = new_key ("approve");
  GwChargeRequest request = card_request (key, OT_BANK_CARD_APPROVE, 30000);
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) result = charge (&request, &error);
  g_autoptr(GwChargeResult) found = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (result->status, ==, GW_CHARGE_APPROVED);
  g_assert_true (g_str_has_prefix (result->reference, "ch_"));
  g_assert_null (result->decline_code);
  g_assert_cmpint (result->amount, ==, 30000);

  found = query (key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (found->status, ==, GW_CHARGE_APPROVED);
  g_assert_cmpstr (found->reference, ==, result->reference);
}

static void
test_card_declines (void)
{
  g_autofree char *k1 = new_key ("decline");
  g_autofree char *k2 = new_key ("no-funds");
  g_autofree char *k3 = new_key ("luhn");
  g_autofree char *k4 = new_key ("unknown");
  g_autofree char *k5 = new_key ("expired");
  GwChargeRequest expired = card_request (k5, OT_BANK_CARD_APPROVE, 1000);

  assert_declined (card_request (k1, OT_BANK_CARD_DECLINE, 1000),
                   "card_declined");
  assert_declined (card_request (k2, OT_BANK_CARD_NO_FUNDS, 1000),
                   "insufficient_funds");
  assert_declined (card_request (k3, "4242424242424241", 1000),
                   "incorrect_number");
  assert_declined (card_request (k4, "4111111111111111", 1000),
                   "incorrect_number");
  expired.card_expiry = "01/20";
  assert_declined (expired, "expired_card");
}

/* The bank records the charge, then holds its reply past our timeout. */
static void
test_card_timeout (void)
{
  g_autofree char *key = new_key ("slow");
  GwChargeRequest request = card_request (key, OT_BANK_CARD_SLOW, 20000);
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) result = NULL;
  g_autoptr(GwChargeResult) found = NULL;
  g_autoptr(GwChargeResult) again = NULL;
  gint64 start = g_get_monotonic_time ();

  result = charge (&request, &error);
  g_assert_null (result);
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
  g_clear_error (&error);

  /* The rule: ask before doing anything else. The bank did charge. */
  found = query (key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (found->status, ==, GW_CHARGE_APPROVED);
  g_assert_cmpint (found->amount, ==, 20000);

  /* A retry with the key is answered at once from the first outcome. */
  again = charge (&request, &error);
  g_assert_no_error (error);
  g_assert_cmpint (again->status, ==, GW_CHARGE_APPROVED);
  g_assert_cmpstr (again->reference, ==, found->reference);
}

/* ---- accounts and idempotency ------------------------------------------- */

static void
test_account_debit (void)
{
  g_autofree char *k1 = new_key ("debit");
  g_autofree char *k2 = new_key ("wrong-password");
  g_autofree char *k3 = new_key ("closed");
  g_autofree char *k4 = new_key ("poor");
  g_autofree char *k5 = new_key ("unknown-account");
  GwChargeRequest request = account_request (k1, OT_BANK_ACCOUNT_RICH, OT_BANK_ACCOUNT_PASSWORD,
                                             12000);
  gint64 before = ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH);
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) result = charge (&request, &error);

  g_assert_no_error (error);
  g_assert_cmpint (result->status, ==, GW_CHARGE_APPROVED);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH), ==, before - 12000);

  assert_declined (account_request (k2, OT_BANK_ACCOUNT_RICH, "9999", 1000),
                   "invalid_credentials");
  assert_declined (account_request (k3, OT_BANK_ACCOUNT_CLOSED,
                                                       OT_BANK_ACCOUNT_PASSWORD, 1000),
                   "account_closed");
  assert_declined (account_request (k4, OT_BANK_ACCOUNT_POOR,
                                                       OT_BANK_ACCOUNT_PASSWORD, 50000),
                   "insufficient_funds");
  assert_declined (account_request (k5, "119999999999",
                                                       OT_BANK_ACCOUNT_PASSWORD, 1000),
                   "invalid_credentials");
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH), ==, before - 12000);
}

static void
test_idempotent_repeat (void)
{
  g_autofree char *key = new_key ("repeat");
  GwChargeRequest request = account_request (key, OT_BANK_ACCOUNT_RICH, OT_BANK_ACCOUNT_PASSWORD,
                                             7000);
  gint64 before = ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH);
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) first = charge (&request, &error);
  g_autoptr(GwChargeResult) second = NULL;
  g_autoptr(GwChargeResult) other = NULL;

  g_assert_no_error (error);
  second = charge (&request, &error);
  g_assert_no_error (error);
  g_assert_cmpint (second->status, ==, GW_CHARGE_APPROVED);
  g_assert_cmpstr (second->reference, ==, first->reference);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH), ==, before - 7000);

  /* The same key for another amount is a mistake, and charges nothing
   * more; but what the key did before may have been done, so it is no
   * decline: the caller asks with query. */
  request.amount = 8000;
  other = charge (&request, &error);
  g_assert_null (other);
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH), ==, before - 7000);
}

/* The same key sent many times at once (a retry racing the first try):
 * one debit, and every answer is the first outcome. */
static void
test_idempotent_concurrent (void)
{
  g_autofree char *key = new_key ("concurrent");
  GwChargeRequest request = account_request (key, OT_BANK_ACCOUNT_RICH, OT_BANK_ACCOUNT_PASSWORD,
                                             3000);
  gint64 before = ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH);
  GAsyncResult *slots[8] = { NULL };
  g_autofree char *reference = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (slots); i++)
    gw_connector_charge_async (connector, &request, NULL, on_done, &slots[i]);
  for (guint i = 0; i < G_N_ELEMENTS (slots); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GwChargeResult) result = NULL;

      wait_slot (&slots[i], 10);
      result = gw_connector_charge_finish (connector, slots[i], &error);
      g_clear_object (&slots[i]);
      g_assert_no_error (error);
      g_assert_cmpint (result->status, ==, GW_CHARGE_APPROVED);
      if (reference == NULL)
        reference = g_strdup (result->reference);
      g_assert_cmpstr (result->reference, ==, reference);
    }
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH), ==, before - 3000);
}

static void
test_query_unknown (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) result = query ("never-used-key", &error);

  g_assert_null (result);
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_NOT_FOUND);
}

/* ---- many calls at once ------------------------------------------------- */

/* Runs the main loop until all @n slots are set, at most @seconds; a call
 * that hangs fails the test rather than the suite's timeout. */
static void
wait_slots (GAsyncResult **slots,
            guint          n,
            guint          seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  guint left = n;

  while (left > 0 && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
      left = 0;
      for (guint i = 0; i < n; i++)
        left += slots[i] == NULL;
    }
  if (left > 0)
    g_error ("%u of %u calls to the connector did not finish within %u s", left, n, seconds);
}

/* A look-up first asks for a charge and, on a 404, for a payout, in the
 * same call: every payout's look-up does, and every charge's the bank
 * never got. Twenty at once (what the start-up sweep may ask) all settle,
 * quickly, and not by their deadline: each answered 404 gives its
 * connection back before the call asks again. Two at once used to wait
 * for each other's connection for ever, and every later call behind them. */
static void
test_query_not_found_concurrent (void)
{
  enum { PAID = 4, QUERIES = 20 };
  g_autoptr(GwConnector) c = connector_to (ot_bank_url (bank), 10);
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  GAsyncResult *slots[QUERIES] = { NULL };
  g_autofree char *later_key = new_key ("after-lookups");
  GwChargeRequest later = card_request (later_key, OT_BANK_CARD_APPROVE, 1000);
  g_autoptr(GwChargeResult) charged = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < PAID; i++)
    {
      GwChargeRequest request = { .method = GW_FUNDING_BANK_ACCOUNT, .amount = 1000,
                                  .currency = "krw", .bank_code = OT_BANK_CODE,
                                  .account_number = OT_BANK_ACCOUNT_POOR,
                                  .holder_name = "김철수", .description = "onepin refund" };

      g_ptr_array_add (keys, new_key ("lookup-payout"));
      request.idempotency_key = keys->pdata[i];
      gw_charge_result_free (payout (&request, &error));
      g_assert_no_error (error);
    }
  while (keys->len < QUERIES)
    g_ptr_array_add (keys, new_key ("lookup-unknown"));

  for (guint i = 0; i < QUERIES; i++)
    gw_connector_query_async (c, keys->pdata[i], NULL, on_done, &slots[i]);
  wait_slots (slots, QUERIES, 5);
  for (guint i = 0; i < QUERIES; i++)
    {
      g_autoptr(GwChargeResult) result = gw_connector_query_finish (c, slots[i], &error);

      g_clear_object (&slots[i]);
      if (i < PAID)
        {
          g_assert_no_error (error);
          g_assert_cmpint (result->status, ==, GW_CHARGE_APPROVED);
          g_assert_true (g_str_has_prefix (result->reference, "po_"));
        }
      else
        {
          g_assert_null (result);
          g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_NOT_FOUND);
          g_clear_error (&error);
        }
    }

  /* And the connector goes on working. */
  gw_connector_charge_async (c, &later, NULL, on_done, &slots[0]);
  wait_slots (slots, 1, 5);
  charged = gw_connector_charge_finish (c, slots[0], &error);
  g_clear_object (&slots[0]);
  g_assert_no_error (error);
  g_assert_cmpint (charged->status, ==, GW_CHARGE_APPROVED);
}

/* Charges the slow card @n times at once through @c, into @slots; the
 * bank holds each reply SLOW_SECONDS, and each holds a connection. */
static void
charge_slowly (GwConnector   *c,
               GAsyncResult **slots,
               guint          n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *key = new_key ("slow-many");
      GwChargeRequest request = card_request (key, OT_BANK_CARD_SLOW, 1000);

      gw_connector_charge_async (c, &request, NULL, on_done, &slots[i]);
    }
}

static void
assert_slow_approved (GwConnector   *c,
                      GAsyncResult **slots,
                      guint          n)
{
  wait_slots (slots, n, g_ascii_strtoull (SLOW_SECONDS, NULL, 10) + 5);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GwChargeResult) result = gw_connector_charge_finish (c, slots[i], &error);

      g_clear_object (&slots[i]);
      g_assert_no_error (error);
      g_assert_cmpint (result->status, ==, GW_CHARGE_APPROVED);
    }
}

/* A call holds its connection for as long as the bank takes to answer. A
 * few slow ones (a slow account, a slow card) do not make the others wait
 * behind them: with libsoup's default of two connections a host, a look-up
 * waited here until the slow charges were answered. */
static void
test_slow_calls_hold_up_none (void)
{
  enum { SLOW = 4 };
  g_autoptr(GwConnector) c = connector_to (ot_bank_url (bank), 10);
  g_autofree char *key = new_key ("beside-slow");
  GwChargeRequest request = card_request (key, OT_BANK_CARD_APPROVE, 1000);
  GAsyncResult *slow[SLOW] = { NULL };
  GAsyncResult *quick = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) charged = charge (&request, &error);
  g_autoptr(GwChargeResult) found = NULL;

  g_assert_no_error (error);
  charge_slowly (c, slow, SLOW);
  run_for (G_USEC_PER_SEC / 4);
  gw_connector_query_async (c, key, NULL, on_done, &quick);
  wait_slots (&quick, 1, 2);
  for (guint i = 0; i < SLOW; i++)
    g_assert_null (slow[i]);
  found = gw_connector_query_finish (c, quick, &error);
  g_clear_object (&quick);
  g_assert_no_error (error);
  g_assert_cmpstr (found->reference, ==, charged->reference);

  assert_slow_approved (c, slow, SLOW);
}

/* Every connection busy (slow charges the bank holds), a call waiting for
 * one still ends at its own deadline, UNKNOWN, and is never sent after:
 * libsoup 3.2 leaves a message queued for a connection when its
 * cancellable fires, so the connector must not wait for libsoup there.
 * GLib's timers in seconds may fire up to a second late. */
static void
test_deadline_while_queued (void)
{
  enum { BUSY = GW_CONNECTOR_BANK_CONNECTIONS };
  g_autoptr(GwConnector) c = connector_to (ot_bank_url (bank), 10);
  g_autofree char *key = new_key ("queued");
  GwChargeRequest request = card_request (key, OT_BANK_CARD_APPROVE, 1000);
  GAsyncResult *slow[BUSY] = { NULL };
  GAsyncResult *queued = NULL;
  GAsyncResult *dropped = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  charge_slowly (c, slow, BUSY);
  run_for (G_USEC_PER_SEC / 4);

  /* The caller giving up ends a waiting call as promptly. */
  gw_connector_query_async (c, key, cancellable, on_done, &dropped);
  run_for (G_USEC_PER_SEC / 10);
  g_cancellable_cancel (cancellable);
  wait_slots (&dropped, 1, 1);
  g_assert_null (gw_connector_query_finish (c, dropped, &error));
  g_clear_object (&dropped);
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN);
  g_clear_error (&error);

  gw_connector_bank_set_timeout (GW_CONNECTOR_BANK (c), 1);
  gw_connector_charge_async (c, &request, NULL, on_done, &queued);
  wait_slots (&queued, 1, 3);
  for (guint i = 0; i < BUSY; i++)
    g_assert_null (slow[i]);
  g_assert_null (gw_connector_charge_finish (c, queued, &error));
  g_clear_object (&queued);
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN);
  g_clear_error (&error);

  /* The connections free again, and the charge is still not sent. */
  assert_slow_approved (c, slow, BUSY);
  run_for (G_USEC_PER_SEC / 4);
  g_assert_null (query (key, &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_NOT_FOUND);
}

/* At a stop, the calls holding every connection and the one waiting for a
 * connection all end at once; libsoup's callbacks for them come within
 * the stop's grace (it warns otherwise, which fails the test). */
static void
test_shutdown_while_queued (void)
{
  enum { BUSY = GW_CONNECTOR_BANK_CONNECTIONS };
  g_autoptr(GwConnector) c = connector_to (ot_bank_url (bank), 30);
  g_autofree char *key = new_key ("queued-at-stop");
  GwChargeRequest request = card_request (key, OT_BANK_CARD_APPROVE, 1000);
  GAsyncResult *slots[BUSY + 1] = { NULL };
  gint64 start;

  charge_slowly (c, slots, BUSY);
  run_for (G_USEC_PER_SEC / 4);
  gw_connector_charge_async (c, &request, NULL, on_done, &slots[BUSY]);
  run_for (G_USEC_PER_SEC / 10);

  start = g_get_monotonic_time ();
  gw_connector_shutdown (c);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  for (guint i = 0; i <= BUSY; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_nonnull (slots[i]);
      g_assert_null (gw_connector_charge_finish (c, slots[i], &error));
      g_clear_object (&slots[i]);
      g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN);
    }
}

/* ---- the bank down ------------------------------------------------------ */

static void
test_bank_down (void)
{
  g_autofree char *before_key = new_key ("before-down");
  g_autofree char *key = new_key ("down");
  GwChargeRequest before = card_request (before_key, OT_BANK_CARD_APPROVE, 5000);
  GwChargeRequest request = card_request (key, OT_BANK_CARD_APPROVE, 5000);
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) result = charge (&before, &error);
  g_autoptr(GwChargeResult) found = NULL;
  gint64 start;

  g_assert_no_error (error);
  ot_bank_kill (bank);

  start = g_get_monotonic_time ();
  g_assert_null (charge (&request, &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNAVAILABLE);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  g_clear_error (&error);
  g_assert_null (query (key, &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNAVAILABLE);
  g_clear_error (&error);

  /* Back up on the same port and data: nothing of the attempt, all of before. */
  ot_bank_restart (bank);
  g_assert_null (query (key, &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  found = query (before_key, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found->reference, ==, result->reference);
  g_clear_pointer (&result, gw_charge_result_free);
  result = charge (&request, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->status, ==, GW_CHARGE_APPROVED);
}

/* The bank dies after taking the charge, before it answers: the request
 * reached it, so this is unknown, never "unavailable". */
static void
test_connection_cut (void)
{
  g_autofree char *key = new_key ("cut");
  GwChargeRequest request = card_request (key, OT_BANK_CARD_SLOW, 15000);
  g_autoptr(GwConnector) patient = NULL;
  g_autoptr(GAsyncResult) slot = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) result = NULL;

  patient = connector_to (ot_bank_url (bank), 30);
  gw_connector_charge_async (patient, &request, NULL, on_done, &slot);
  run_for (G_USEC_PER_SEC / 2);
  g_assert_null (slot);
  ot_bank_kill (bank);
  while (slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (gw_connector_charge_finish (patient, slot, &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN);
  g_clear_error (&error);

  ot_bank_restart (bank);
  result = query (key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->status, ==, GW_CHARGE_APPROVED);
}

/* ---- a misbehaving bank ------------------------------------------------- */

typedef enum
{
  EVIL_TRICKLE,          /* a status line, then a byte of header every 200 ms, forever */
  EVIL_HUGE,             /* 200 with a 100 MB body, as fast as it goes */
} EvilMode;

typedef struct
{
  GSocket  *listener;
  EvilMode  mode;
  GThread  *thread;
} Evil;

/* One connection, served on a thread of its own with blocking sockets: it
 * reads the request's head, then misbehaves until the client goes away. */
static gpointer
evil_serve (gpointer data)
{
  Evil *evil = data;
  g_autoptr(GSocket) socket = g_socket_accept (evil->listener, NULL, NULL);
  g_autoptr(GString) head = g_string_new (NULL);
  g_autofree char *block = g_strnfill (1024 * 1024, ' ');
  const char *start = evil->mode == EVIL_TRICKLE
                        ? "HTTP/1.1 200 OK\r\n"
                        : "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: 104857600\r\n\r\n{\"id\":\"";

  if (socket == NULL)
    return NULL;
  while (strstr (head->str, "\r\n\r\n") == NULL)
    {
      char buf[1024];
      gssize n = g_socket_receive (socket, buf, sizeof buf, NULL, NULL);

      if (n <= 0)
        return NULL;
      g_string_append_len (head, buf, n);
    }
  if (g_socket_send (socket, start, strlen (start), NULL, NULL) < 0)
    return NULL;
  for (guint i = 0; i < 100; i++)
    {
      if (evil->mode == EVIL_TRICKLE)
        g_usleep (200 * 1000);
      if (g_socket_send (socket, evil->mode == EVIL_TRICKLE ? "X" : block,
                         evil->mode == EVIL_TRICKLE ? 1 : 1024 * 1024, NULL, NULL) < 0)
        break;
    }
  return NULL;
}

static Evil *
evil_start (EvilMode mode)
{
  Evil *evil = g_new0 (Evil, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GError) error = NULL;

  evil->mode = mode;
  evil->listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (evil->listener, address, TRUE, &error));
  g_assert_true (g_socket_listen (evil->listener, &error));
  evil->thread = g_thread_new ("evil-bank", evil_serve, evil);
  return evil;
}

static char *
evil_url (Evil *evil)
{
  g_autoptr(GSocketAddress) address = g_socket_get_local_address (evil->listener, NULL);

  return g_strdup_printf ("http://127.0.0.1:%u",
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
}

static void
evil_stop (Evil *evil)
{
  /* libsoup closes a connection it gave up on from the main loop. */
  run_for (G_USEC_PER_SEC / 2);
  g_socket_close (evil->listener, NULL);
  g_thread_join (evil->thread);
  g_object_unref (evil->listener);
  g_free (evil);
}

/* A connector to @evil, with the real bank's key files. */
static GwConnector *
evil_connector (Evil  *evil,
                guint  timeout)
{
  g_autofree char *url = evil_url (evil);

  return connector_to (url, timeout);
}


/* Charges through a connector to a bank misbehaving in @mode; the outcome
 * must be unknown. Returns how long the call took, in microseconds. */
static gint64
evil_charge (EvilMode mode,
             guint    timeout)
{
  g_autofree char *key = new_key ("evil");
  GwChargeRequest request = card_request (key, OT_BANK_CARD_APPROVE, 1000);
  Evil *evil = evil_start (mode);
  g_autoptr(GwConnector) c = evil_connector (evil, timeout);
  g_autoptr(GAsyncResult) slot = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  gint64 took;

  gw_connector_charge_async (c, &request, NULL, on_done, &slot);
  wait_slot (&slot, timeout + 5);
  took = g_get_monotonic_time () - start;
  g_assert_null (gw_connector_charge_finish (c, slot, &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN);
  g_clear_object (&slot);
  g_clear_object (&c);
  evil_stop (evil);
  return took;
}

/* The timeout bounds the whole call, not each wait for a byte: a bank that
 * keeps the connection busy byte by byte is unknown after it. */
static void
test_trickle_deadline (void)
{
  g_assert_cmpint (evil_charge (EVIL_TRICKLE, 1), <, 3 * G_USEC_PER_SEC);
}

/* A reply far larger than any the bank sends is not read to its end. */
static void
test_huge_reply (void)
{
  gint64 before = ot_peak_kib (0);

  evil_charge (EVIL_HUGE, 10);
  if (ot_peak_kib_meaningful ())
    g_assert_cmpint (ot_peak_kib (0) - before, <, 16 * 1024);
}

/* The caller giving up does not make the outcome known: the request may
 * have reached the bank. */
static void
test_cancelled (void)
{
  g_autofree char *key = new_key ("cancelled");
  GwChargeRequest request = card_request (key, OT_BANK_CARD_SLOW, 2000);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) slot = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) found = NULL;

  gw_connector_charge_async (connector, &request, cancellable, on_done, &slot);
  run_for (G_USEC_PER_SEC / 4);
  g_cancellable_cancel (cancellable);
  wait_slot (&slot, 2);
  g_assert_null (gw_connector_charge_finish (connector, slot, &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN);
  g_clear_error (&error);
  found = query (key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (found->status, ==, GW_CHARGE_APPROVED);
}

/* At a stop, the calls in flight end at once as unknown (the charge may
 * have happened; the caller records that and queries after the restart),
 * and new calls are refused without being sent. */
static void
test_shutdown (void)
{
  g_autofree char *key = new_key ("stop");
  g_autofree char *later_key = new_key ("after-stop");
  GwChargeRequest request = card_request (key, OT_BANK_CARD_SLOW, 3000);
  GwChargeRequest later = card_request (later_key, OT_BANK_CARD_APPROVE, 3000);
  g_autoptr(GwConnector) patient = NULL;
  g_autoptr(GAsyncResult) slot = NULL;
  g_autoptr(GAsyncResult) refused = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) found = NULL;
  gint64 start;

  patient = connector_to (ot_bank_url (bank), 30);
  gw_connector_charge_async (patient, &request, NULL, on_done, &slot);
  run_for (G_USEC_PER_SEC / 2);
  g_assert_null (slot);

  start = g_get_monotonic_time ();
  gw_connector_shutdown (patient);
  g_assert_nonnull (slot);               /* its callback ran before shutdown returned */
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  g_assert_null (gw_connector_charge_finish (patient, slot, &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN);
  g_clear_error (&error);

  gw_connector_charge_async (patient, &later, NULL, on_done, &refused);
  wait_slot (&refused, 1);
  g_assert_null (gw_connector_charge_finish (patient, refused, &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNAVAILABLE);
  g_clear_error (&error);
  g_assert_null (query (later_key, &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* What the caller does after its restart: ask. */
  found = query (key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (found->status, ==, GW_CHARGE_APPROVED);
}

/* ---- void --------------------------------------------------------------- */

static void
test_void (void)
{
  g_autofree char *card_key = new_key ("void-card");
  g_autofree char *debit_key = new_key ("void-debit");
  g_autofree char *declined_key = new_key ("void-declined");
  GwChargeRequest card = card_request (card_key, OT_BANK_CARD_APPROVE, 9000);
  GwChargeRequest debit = account_request (debit_key, OT_BANK_ACCOUNT_RICH,
                                           OT_BANK_ACCOUNT_PASSWORD, 9000);
  GwChargeRequest declined = card_request (declined_key, OT_BANK_CARD_DECLINE, 9000);
  gint64 balance = ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH);
  g_autoptr(GError) error = NULL;
  GwChargeResult *r;

  gw_charge_result_free (charge (&card, &error));
  g_assert_no_error (error);
  r = void_charge (card_key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->status, ==, GW_CHARGE_CANCELED);
  gw_charge_result_free (r);
  /* Twice is once. */
  r = void_charge (card_key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->status, ==, GW_CHARGE_CANCELED);
  gw_charge_result_free (r);
  r = query (card_key, &error);
  g_assert_cmpint (r->status, ==, GW_CHARGE_CANCELED);
  gw_charge_result_free (r);

  /* A voided debit gives the money back. */
  gw_charge_result_free (charge (&debit, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH), ==, balance - 9000);
  r = void_charge (debit_key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->status, ==, GW_CHARGE_CANCELED);
  gw_charge_result_free (r);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_RICH), ==, balance);

  gw_charge_result_free (charge (&declined, &error));
  g_assert_null (void_charge (declined_key, &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (void_charge ("never-charged", &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_NOT_FOUND);
}

/* ---- payouts ------------------------------------------------------------ */

static void
test_payout (void)
{
  g_autofree char *key = new_key ("payout");
  g_autofree char *closed_key = new_key ("payout-closed");
  g_autofree char *other_key = new_key ("payout-other-bank");
  GwChargeRequest request = { .method = GW_FUNDING_BANK_ACCOUNT, .idempotency_key = key,
                              .amount = 7000, .currency = "krw", .bank_code = OT_BANK_CODE,
                              .account_number = "110-000-000002", .holder_name = "김철수",
                              .description = "onepin refund" };
  gint64 before = ot_bank_account_balance (bank, OT_BANK_ACCOUNT_POOR);
  g_autoptr(GError) error = NULL;
  GwChargeResult *r;

  r = payout (&request, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->status, ==, GW_CHARGE_APPROVED);
  g_assert_true (g_str_has_prefix (r->reference, "po_"));
  gw_charge_result_free (r);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_POOR), ==, before + 7000);

  /* Repeated: paid once. Queried: found among the payouts. */
  r = payout (&request, &error);
  g_assert_no_error (error);
  gw_charge_result_free (r);
  g_assert_cmpint (ot_bank_account_balance (bank, OT_BANK_ACCOUNT_POOR), ==, before + 7000);
  r = query (key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->status, ==, GW_CHARGE_APPROVED);
  gw_charge_result_free (r);

  request.idempotency_key = closed_key;
  request.account_number = OT_BANK_ACCOUNT_CLOSED;
  r = payout (&request, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->status, ==, GW_CHARGE_DECLINED);
  g_assert_cmpstr (r->decline_code, ==, "account_closed");
  gw_charge_result_free (r);

  request.idempotency_key = other_key;
  request.bank_code = "004";
  request.account_number = "123456-01-234567";
  r = payout (&request, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->status, ==, GW_CHARGE_APPROVED);
  gw_charge_result_free (r);
}

/* ---- transfers and the deposit callback --------------------------------- */

static OtResponse *
deposit (const char *account,
         gint64      amount)
{
  g_autofree char *path = g_strdup_printf ("/v1/virtual-accounts/%s/deposit", account);
  g_autofree char *body = g_strdup_printf ("{\"amount\": %" G_GINT64_FORMAT
                                           ", \"depositor\": \"홍길동\"}", amount);

  return ot_bank_request (bank, "POST", path, NULL, NULL, body);
}

static void
assert_signature_checks (Received *r)
{
  g_autofree char *secret = NULL;
  g_autoptr(OnepinKey) key = NULL;
  g_autoptr(GBytes) tampered = NULL;
  g_autofree char *old = NULL;
  g_autofree char *forged = NULL;
  g_autoptr(OnepinKey) wrong = NULL;
  gsize len;
  const char *data = g_bytes_get_data (r->body, &len);
  g_autoptr(GString) text = g_string_new_len (data, len);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_assert_true (gw_connector_verify_callback (connector, r->body, r->signature));

  /* One changed byte of the body. */
  text->str[text->len / 2] ^= 1;
  tampered = g_bytes_new (text->str, text->len);
  g_assert_false (gw_connector_verify_callback (connector, tampered, r->signature));

  /* Signed with the right secret, but too long ago (or ahead). */
  g_assert_true (g_file_get_contents (ot_bank_callback_secret_path (bank), &secret, NULL, NULL));
  g_strstrip (secret);
  key = onepin_key_new_hmac ((const guint8 *) secret, strlen (secret), NULL);
  old = onepin_signature_header (key, now - 301, data, len);
  g_assert_false (gw_connector_verify_callback (connector, r->body, old));
  g_clear_pointer (&old, g_free);
  old = onepin_signature_header (key, now + 301, data, len);
  g_assert_false (gw_connector_verify_callback (connector, r->body, old));
  g_clear_pointer (&old, g_free);
  old = onepin_signature_header (key, now - 200, data, len);
  g_assert_true (gw_connector_verify_callback (connector, r->body, old));

  /* Another secret, and headers that are not signatures. */
  wrong = onepin_key_new_hmac ((const guint8 *) "whsec_not-the-bank-secret", 25, NULL);
  forged = onepin_signature_header (wrong, now, data, len);
  g_assert_false (gw_connector_verify_callback (connector, r->body, forged));
  g_assert_false (gw_connector_verify_callback (connector, r->body, ""));
  g_assert_false (gw_connector_verify_callback (connector, r->body, "t=1,v1=zz"));
  g_assert_false (gw_connector_verify_callback (connector, r->body, NULL));
  g_assert_false (gw_connector_verify_callback (connector, r->body,
                                                strchr (r->signature, ',') + 1));
}

static void
test_transfer_deposit (void)
{
  g_autofree char *key = new_key ("transfer");
  GwChargeRequest request = { .method = GW_FUNDING_TRANSFER, .idempotency_key = key,
                              .amount = 50000, .currency = "krw", .holder_name = "홍길동" };
  g_autofree char *callback = g_strconcat (receiver_url, "/v1/bank/deposits", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) pending = NULL;
  g_autoptr(OtResponse) wrong = NULL;
  g_autoptr(OtResponse) paid = NULL;
  g_autoptr(OtResponse) twice = NULL;
  g_autoptr(JsonObject) event = NULL;
  g_autoptr(GBytes) not_event = NULL;
  g_autofree char *event_key = NULL;
  GwChargeResult *r;
  Received *last;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  gw_connector_bank_set_callback_url (GW_CONNECTOR_BANK (connector), callback);
  g_ptr_array_set_size (received, 0);
  fail_next = 1;    /* the first delivery fails: the bank must retry */

  pending = charge (&request, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pending->status, ==, GW_CHARGE_PENDING);
  g_assert_cmpstr (pending->virtual_bank, ==, "onepin Sandbox Bank");
  g_assert_cmpuint (strlen (pending->virtual_account), ==, 14);
  g_assert_cmpint (pending->deposit_deadline, >, now + 3600);
  g_assert_cmpint (pending->amount, ==, 50000);
  r = query (key, &error);
  g_assert_cmpint (r->status, ==, GW_CHARGE_PENDING);
  gw_charge_result_free (r);

  /* The customer must send the exact amount. */
  wrong = deposit (pending->virtual_account, 49999);
  ot_assert_error (wrong, 400, "invalid_request_error", "amount_mismatch");
  paid = deposit (pending->virtual_account, 50000);
  ot_assert_status (paid, 200);
  twice = deposit (pending->virtual_account, 50000);
  ot_assert_error (twice, 409, "invalid_request_error", "virtual_account_paid");

  wait_received (2, 10);
  for (guint i = 0; i < received->len; i++)
    {
      Received *each = received->pdata[i];

      g_assert_cmpstr (each->path, ==, "/v1/bank/deposits");
      g_assert_true (g_bytes_equal (each->body, ((Received *) received->pdata[0])->body));
    }
  last = received->pdata[1];
  g_assert_cmpuint (((Received *) received->pdata[0])->answered, ==, 500);
  g_assert_cmpuint (last->answered, ==, 200);
  assert_signature_checks (last);

  event = onepin_json_parse_object (g_bytes_get_data (last->body, NULL),
                                    g_bytes_get_size (last->body), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ot_json_string (event, "type"), ==, "charge.deposited");
  g_assert_cmpstr (ot_json_string (ot_json_object (event, "data"), "idempotency_key"), ==, key);
  g_assert_cmpstr (ot_json_string (ot_json_object (event, "data"), "status"), ==, "approved");
  g_assert_cmpint (ot_json_int (ot_json_object (event, "data"), "amount"), ==, 50000);

  r = query (key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->status, ==, GW_CHARGE_APPROVED);
  gw_charge_result_free (r);

  /* What the gateway's route reads from it. */
  r = gw_connector_parse_callback (connector, last->body, &event_key, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (event_key, ==, key);
  g_assert_cmpint (r->status, ==, GW_CHARGE_APPROVED);
  g_assert_cmpstr (r->reference, ==, pending->reference);
  g_assert_cmpint (r->amount, ==, 50000);
  gw_charge_result_free (r);
  g_clear_pointer (&event_key, g_free);
  not_event = g_bytes_new_static ("{\"type\": \"charge.deposited\"}", 28);
  g_assert_null (gw_connector_parse_callback (connector, not_event, &event_key, &error));
  g_assert_error (error, GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_INVALID);
  g_assert_null (event_key);

  /* Delivered: no further attempts. */
  g_usleep (1500 * 1000);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (received->len, ==, 2);
}

static void
test_transfer_void (void)
{
  g_autofree char *key = new_key ("transfer-void");
  GwChargeRequest request = { .method = GW_FUNDING_TRANSFER, .idempotency_key = key,
                              .amount = 10000, .currency = "krw" };
  g_autoptr(GError) error = NULL;
  g_autoptr(GwChargeResult) pending = charge (&request, &error);
  g_autoptr(GwChargeResult) canceled = NULL;
  g_autoptr(OtResponse) late = NULL;

  g_assert_no_error (error);
  canceled = void_charge (key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (canceled->status, ==, GW_CHARGE_CANCELED);
  late = deposit (pending->virtual_account, 10000);
  ot_assert_error (late, 409, "invalid_request_error", "virtual_account_closed");
}

/* A virtual account that nobody pays closes at its deadline. */
static void
test_transfer_expires (void)
{
  const char *args[] = { "--deposit-window", "1", NULL };
  OtBank *quick = ot_bank_start (args);
  g_autoptr(OtResponse) created = NULL;
  g_autoptr(OtResponse) late = NULL;
  g_autoptr(OtResponse) found = NULL;
  g_autofree char *path = NULL;
  const char *account;

  created = ot_bank_request (quick, "POST", "/v1/charges", ot_bank_api_key (quick), "va-1",
                             "{\"method\": \"transfer\", \"amount\": 5000, \"currency\": \"krw\"}");
  ot_assert_status (created, 200);
  account = ot_json_string (ot_json_object (ot_response_object (created), "virtual_account"),
                            "account");
  g_usleep (2100 * 1000);
  path = g_strdup_printf ("/v1/virtual-accounts/%s/deposit", account);
  late = ot_bank_request (quick, "POST", path, NULL, NULL, "{\"amount\": 5000}");
  ot_assert_error (late, 409, "invalid_request_error", "virtual_account_closed");
  found = ot_bank_request (quick, "GET", "/v1/charges?idempotency_key=va-1",
                           ot_bank_api_key (quick), NULL, NULL);
  ot_assert_status (found, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (found), "status"), ==, "canceled");
  ot_bank_stop (quick);
}

/* ---- the acquirer, with this process as onepin's issuer ----------------- */

/* A bank whose card network sends onepin's BIN range here: the test plays
 * the issuer, answering each message as the gateway would (fields echoed,
 * 38 and 39 added, signed with the bank's network.secret), at once or, for
 * the message type it is told to hold, when the test says. */
typedef struct
{
  JsonObject        *message;
  SoupServerMessage *msg;
  gboolean           held;      /* paused until issuer_answer () */
  gboolean           answered;
} IssuerCall;

static OtBank *acquirer;
static SoupSession *acquirer_session;
static OnepinKey *issuer_key;
static GPtrArray *issuer_calls;       /* of IssuerCall*, every message, in order */
static const char *issuer_hold;       /* hold messages of this type, or NULL */
static const char *issuer_hold_answer; /* answer those this at once instead, or NULL */

static void
issuer_call_free (IssuerCall *call)
{
  json_object_unref (call->message);
  g_object_unref (call->msg);
  g_free (call);
}

static void
issuer_answer (IssuerCall *call,
               const char *code)
{
  static const char * const echo[] = { "3", "4", "7", "11", "32", "37", "42", "49" };
  g_autoptr(JsonObject) answer = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *body = NULL;
  g_autofree char *signature = NULL;
  const char *mti = onepin_iso_get (call->message, "mti");

  g_assert_false (call->answered);
  json_object_set_string_member (answer, "mti", onepin_iso_response_type (mti));
  for (guint i = 0; i < G_N_ELEMENTS (echo); i++)
    if (onepin_iso_get (call->message, echo[i]) != NULL)
      json_object_set_string_member (answer, echo[i], onepin_iso_get (call->message, echo[i]));
  if (g_str_equal (code, ONEPIN_ISO_APPROVED))
    json_object_set_string_member (answer, "38", "T3ST0K");
  json_object_set_string_member (answer, "39", code);
  node = json_node_init_object (json_node_alloc (), answer);
  body = json_to_string (node, FALSE);
  signature = onepin_signature_header (issuer_key, g_get_real_time () / G_USEC_PER_SEC, body,
                                       strlen (body));
  soup_message_headers_replace (soup_server_message_get_response_headers (call->msg),
                                "Onepin-Signature", signature);
  soup_server_message_set_status (call->msg, 200, NULL);
  soup_server_message_set_response (call->msg, "application/json", SOUP_MEMORY_COPY, body,
                                    strlen (body));
  if (call->held)
    soup_server_message_unpause (call->msg);
  call->answered = TRUE;
}

static void
on_issuer (SoupServer        *server,
           SoupServerMessage *msg,
           const char        *path,
           GHashTable        *query,
           gpointer           user_data)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  const char *signature = soup_message_headers_get_one (
    soup_server_message_get_request_headers (msg), "Onepin-Signature");
  IssuerCall *call = g_new0 (IssuerCall, 1);

  g_assert_true (onepin_signature_verify (issuer_key, signature, body->data, body->length,
                                          g_get_real_time () / G_USEC_PER_SEC,
                                          ONEPIN_SIGNATURE_TOLERANCE));
  call->message = onepin_json_parse_object (body->data, body->length, NULL);
  g_assert_nonnull (call->message);
  call->msg = g_object_ref (msg);
  g_ptr_array_add (issuer_calls, call);
  call->held = issuer_hold != NULL &&
               g_str_equal (onepin_iso_get (call->message, "mti"), issuer_hold);
  if (call->held && issuer_hold_answer != NULL)
    {
      call->held = FALSE;
      issuer_answer (call, issuer_hold_answer);
    }
  else if (call->held)
    soup_server_message_pause (msg);
  else
    issuer_answer (call, ONEPIN_ISO_APPROVED);
}

/* A fresh bank whose issuer is this process, with @env set for it: it
 * waits @timeout seconds for an answer, and sends a capture or refund the
 * mall gave up on again @resend_after seconds after that, until
 * @resend_give_up seconds after its first try (NULL: the default). */
static void
acquirer_start_full (const char         *timeout,
                     const char         *resend_after,
                     const char         *resend_give_up,
                     const char * const *env)
{
  g_autofree char *url = g_strconcat (receiver_url, "/v1/network/messages", NULL);
  const char *args[] = { "--issuer-url", url, "--issuer-timeout", timeout,
                         "--resend-after", resend_after,
                         resend_give_up ? "--resend-give-up" : NULL, resend_give_up, NULL };
  g_autofree char *secret = NULL;

  acquirer = ot_bank_start_with_env (args, env);
  g_assert_true (g_file_get_contents (ot_bank_network_secret_path (acquirer), &secret, NULL,
                                      NULL));
  g_strstrip (secret);
  issuer_key = onepin_key_new_hmac ((const guint8 *) secret, strlen (secret), NULL);
  issuer_calls = g_ptr_array_new_with_free_func ((GDestroyNotify) issuer_call_free);
  issuer_hold = NULL;
  issuer_hold_answer = NULL;
}

static void
acquirer_start_with_env (const char * const *env)
{
  acquirer_start_full ("10", "60", NULL, env);
}

static void
acquirer_start (void)
{
  acquirer_start_with_env (NULL);
}

static void
acquirer_stop (void)
{
  ot_bank_stop (acquirer);
  acquirer = NULL;
  g_clear_pointer (&issuer_key, onepin_key_free);
  g_clear_pointer (&issuer_calls, g_ptr_array_unref);
}

/* Runs the main loop until the issuer got @count messages; returns the last. */
static IssuerCall *
wait_issuer (guint count)
{
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;

  while (issuer_calls->len < count && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  if (issuer_calls->len < count)
    g_error ("expected %u network messages within 15 s, got %u", count, issuer_calls->len);
  return issuer_calls->pdata[count - 1];
}

/* Messages of type @mti the issuer got. */
static guint
issuer_count (const char *mti)
{
  guint n = 0;

  for (guint i = 0; i < issuer_calls->len; i++)
    {
      IssuerCall *call = issuer_calls->pdata[i];

      n += g_str_equal (onepin_iso_get (call->message, "mti"), mti);
    }
  return n;
}

/* The STAN of the last message of type @mti the issuer got. */
static const char *
issuer_last_stan (const char *mti)
{
  for (guint i = issuer_calls->len; i > 0; i--)
    {
      IssuerCall *call = issuer_calls->pdata[i - 1];

      if (g_str_equal (onepin_iso_get (call->message, "mti"), mti))
        return onepin_iso_get (call->message, "11");
    }
  g_error ("the issuer got no message of type %s", mti);
}

/* A request to the acquirer, answered while this process goes on playing
 * the issuer (a blocking call would leave the bank's message unanswered). */
typedef struct
{
  SoupMessage *msg;
  GBytes      *body;
  GError      *error;
  gboolean     done;
} AcquirerCall;

static void
on_acquirer_call (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  AcquirerCall *call = user_data;

  call->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &call->error);
  call->done = TRUE;
}

static AcquirerCall *
bank_call_start (const char *bearer,
                 const char *method,
                 const char *path,
                 const char *key,
                 const char *body)
{
  g_autofree char *uri = g_strconcat (ot_bank_url (acquirer), path, NULL);
  g_autofree char *auth = g_strconcat ("Bearer ", bearer, NULL);
  AcquirerCall *call = g_new0 (AcquirerCall, 1);
  SoupMessageHeaders *headers;

  call->msg = soup_message_new (method, uri);
  headers = soup_message_get_request_headers (call->msg);
  soup_message_headers_replace (headers, "Authorization", auth);
  if (key != NULL)
    soup_message_headers_replace (headers, "Idempotency-Key", key);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (call->msg, "application/json", bytes);
    }
  soup_session_send_and_read_async (acquirer_session, call->msg, G_PRIORITY_DEFAULT, NULL,
                                    on_acquirer_call, call);
  return call;
}

static AcquirerCall *
acquirer_call_start (const char *method,
                     const char *path,
                     const char *key,
                     const char *body)
{
  return bank_call_start (ot_bank_acquirer_key (acquirer), method, path, key, body);
}

static OtResponse *
acquirer_call_finish (AcquirerCall *call)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  OtResponse *r = g_new0 (OtResponse, 1);
  gsize len = 0;
  const char *data;

  while (!call->done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  if (!call->done)
    g_error ("the acquirer did not answer within 30 s");
  g_assert_no_error (call->error);
  data = g_bytes_get_data (call->body, &len);
  r->status = soup_message_get_status (call->msg);
  r->headers = soup_message_headers_ref (soup_message_get_response_headers (call->msg));
  r->body = g_strndup (data, len);
  r->body_len = len;
  r->json = json_from_string (r->body, NULL);
  g_object_unref (call->msg);
  g_bytes_unref (call->body);
  g_free (call);
  return r;
}

static OtResponse *
acquirer_call (const char *method,
               const char *path,
               const char *key,
               const char *body)
{
  return acquirer_call_finish (acquirer_call_start (method, path, key, body));
}

static char *
payment_body (const char *number,
              gint64      amount,
              gboolean    capture)
{
  return g_strdup_printf ("{\"amount\":%" G_GINT64_FORMAT ",\"currency\":\"krw\","
                          "\"capture\":%s,\"card_number\":\"%s\",\"card_expiry\":\"11/31\","
                          "\"card_cvc\":\"123\",\"merchant\":{\"id\":\"plain-shop\","
                          "\"name\":\"Plain Shop\",\"category\":\"5999\"}}",
                          amount, capture ? "true" : "false", number);
}

/* POST @action with @body on payment @id. */
static AcquirerCall *
action_start (const char *id,
              const char *action,
              const char *key,
              const char *body)
{
  g_autofree char *path = g_strdup_printf ("/v1/acquirer/payments/%s/%s", id, action);

  return acquirer_call_start ("POST", path, key, body);
}

static AcquirerCall *
follow_up_start (const char *id,
                 const char *action,
                 const char *key)
{
  return action_start (id, action, key, "{}");
}

static AcquirerCall *
refund_start (const char *id,
              const char *key,
              gint64      amount)
{
  g_autofree char *body = g_strdup_printf ("{\"amount\":%" G_GINT64_FORMAT "}", amount);

  return action_start (id, "refund", key, body);
}

static OtResponse *
payment_get (const char *id)
{
  g_autofree char *path = g_strconcat ("/v1/acquirer/payments/", id, NULL);

  return acquirer_call ("GET", path, NULL, NULL);
}

/* An authorization of a onepin card, approved by the issuer: its id. */
static char *
authorized_payment (gint64 amount)
{
  g_autofree char *number = ot_random_card_number ("9420");
  g_autofree char *body = payment_body (number, amount, FALSE);
  g_autofree char *key = new_key ("auth");
  g_autoptr(OtResponse) r = acquirer_call ("POST", "/v1/acquirer/payments", key, body);

  ot_assert_status (r, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (r), "status"), ==, "authorized");
  return g_strdup (ot_json_string (ot_response_object (r), "id"));
}

/* A capture and a cancel of one authorization at the same time, with keys
 * of their own: whichever the issuer hears of first, the bank's word must
 * be the issuer's. A completion the issuer approved and then a reversal
 * (which undoes it) must not leave the bank saying "captured". */
static void
test_acquirer_capture_cancel_race (void)
{
  g_autofree char *id = NULL;
  g_autofree char *cancel_key = new_key ("cancel");
  AcquirerCall *capture;
  g_autoptr(OtResponse) captured = NULL;
  g_autoptr(OtResponse) cancel = NULL;
  g_autoptr(OtResponse) cancel_again = NULL;
  g_autoptr(OtResponse) final = NULL;
  IssuerCall *completion;

  acquirer_start ();
  id = authorized_payment (12000);
  issuer_hold = ONEPIN_ISO_COMPLETION;
  capture = follow_up_start (id, "capture", "capture-1");
  completion = wait_issuer (2);
  g_assert_cmpstr (onepin_iso_get (completion->message, "mti"), ==, ONEPIN_ISO_COMPLETION);

  /* The completion is with the issuer: the cancel waits its turn. */
  cancel = acquirer_call_finish (follow_up_start (id, "cancel", cancel_key));
  issuer_answer (completion, ONEPIN_ISO_APPROVED);
  captured = acquirer_call_finish (capture);
  ot_assert_status (captured, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (captured), "status"), ==, "captured");
  /* A reversal the cancel queued would go out at once. */
  run_for (500 * 1000);

  final = payment_get (id);
  ot_assert_status (final, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (final), "status"), ==, "captured");
  g_assert_cmpint (ot_json_int (ot_response_object (final), "amount_captured"), ==, 12000);
  g_assert_cmpuint (issuer_count (ONEPIN_ISO_REVERSAL) + issuer_count (ONEPIN_ISO_REVERSAL_ADVICE),
                    ==, 0);
  ot_assert_error (cancel, 409, "invalid_request_error", "payment_in_progress");

  /* That 409 was not kept: the cancel's key now gets what is true now. */
  cancel_again = acquirer_call_finish (follow_up_start (id, "cancel", cancel_key));
  ot_assert_error (cancel_again, 409, "invalid_request_error", "payment_state");
  acquirer_stop ();
}

/* Refunds the issuer was asked for, in all; a message sent again (its
 * STAN and time) counts once, as the issuer answers it once. */
static gint64
issuer_refunds (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gint64 total = 0;

  for (guint i = 0; i < issuer_calls->len; i++)
    {
      IssuerCall *call = issuer_calls->pdata[i];
      char *name = g_strconcat (onepin_iso_get (call->message, "11"), "/",
                                onepin_iso_get (call->message, "7"), NULL);
      gint64 amount = 0;

      if (g_hash_table_add (seen, name) &&
          g_strcmp0 (onepin_iso_get (call->message, "3"), ONEPIN_ISO_REFUND) == 0 &&
          onepin_iso_amount_parse (onepin_iso_get (call->message, "4"), &amount))
        total += amount;
    }
  return total;
}

/* Two partial refunds of one payment at the same time, with keys of their
 * own: one at a time, so the issuer is never asked to refund more than was
 * captured. */
static void
test_acquirer_refund_race (void)
{
  g_autofree char *id = NULL;
  AcquirerCall *first;
  AcquirerCall *second;
  g_autoptr(OtResponse) capture = NULL;
  g_autoptr(OtResponse) refunded = NULL;
  g_autoptr(OtResponse) refused = NULL;
  g_autoptr(OtResponse) final = NULL;
  gint64 deadline;

  acquirer_start ();
  id = authorized_payment (8000);
  capture = acquirer_call_finish (follow_up_start (id, "capture", "capture-1"));
  ot_assert_status (capture, 200);
  issuer_hold = ONEPIN_ISO_FINANCIAL;
  first = refund_start (id, "refund-1", 5000);
  wait_issuer (3);
  second = refund_start (id, "refund-2", 5000);
  /* Until the second is answered, or its message reaches the issuer. */
  deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  while (!second->done && issuer_calls->len < 4 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  g_assert_cmpint (issuer_refunds (), <=, 8000);

  issuer_answer (issuer_calls->pdata[2], ONEPIN_ISO_APPROVED);
  refunded = acquirer_call_finish (first);
  refused = acquirer_call_finish (second);
  ot_assert_status (refunded, 200);
  ot_assert_error (refused, 409, "invalid_request_error", "payment_in_progress");
  final = payment_get (id);
  g_assert_cmpint (ot_json_int (ot_response_object (final), "amount_refunded"), ==, 5000);
  acquirer_stop ();
}

/* @b's database, opened here with @flags. */
static sqlite3 *
open_bank_database (OtBank *b,
                    int     flags)
{
  g_autofree char *path = g_build_filename (ot_bank_data_dir (b), "bank.db", NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, flags, NULL), ==, SQLITE_OK);
  return db;
}

/* Another process holds the bank's database, so the bank's next
 * transaction fails (after its 5 s busy timeout). */
static sqlite3 *
lock_bank_database (OtBank *b)
{
  sqlite3 *db = open_bank_database (b, SQLITE_OPEN_READWRITE);

  g_assert_cmpint (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
  return db;
}

/* Runs @sql on the database of the stopped acquirer bank. */
static void
bank_database_exec (const char *sql)
{
  sqlite3 *db = open_bank_database (acquirer, SQLITE_OPEN_READWRITE);

  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

static void
unlock_bank_database (sqlite3 *db)
{
  g_assert_cmpint (sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

/* The issuer approved a purchase, and the bank's transaction recording
 * that failed: a retry of the key gets an answer (the payment declined and
 * reversed, as a restart would), not a 500 until the bank restarts; and the
 * issuer was asked once. */
static void
test_acquirer_answer_lost (void)
{
  g_autofree char *number = ot_random_card_number ("9420");
  g_autofree char *body = payment_body (number, 15000, TRUE);
  g_autofree char *original = NULL;
  AcquirerCall *pay;
  g_autoptr(OtResponse) failed = NULL;
  g_autoptr(OtResponse) retry = NULL;
  g_autoptr(OtResponse) replay = NULL;
  g_autoptr(OtResponse) other = NULL;
  g_autoptr(OtResponse) final = NULL;
  g_autofree char *other_body = payment_body (number, 15001, TRUE);
  IssuerCall *purchase;
  IssuerCall *reversal;
  JsonObject *error;
  sqlite3 *db;

  acquirer_start ();
  issuer_hold = ONEPIN_ISO_FINANCIAL;
  pay = acquirer_call_start ("POST", "/v1/acquirer/payments", "pay-lost", body);
  purchase = wait_issuer (1);
  db = lock_bank_database (acquirer);
  issuer_answer (purchase, ONEPIN_ISO_APPROVED);
  failed = acquirer_call_finish (pay);
  unlock_bank_database (db);
  ot_assert_error (failed, 500, "api_error", "internal");

  /* Other parameters under the key are refused, and not kept. */
  other = acquirer_call ("POST", "/v1/acquirer/payments", "pay-lost", other_body);
  ot_assert_error (other, 422, "idempotency_error", "idempotency_key_reused");
  retry = acquirer_call ("POST", "/v1/acquirer/payments", "pay-lost", body);
  ot_assert_status (retry, 402);
  error = ot_json_object (ot_response_object (retry), "error");
  g_assert_cmpstr (ot_json_string (error, "decline_code"), ==, "processing_error");
  g_assert_cmpstr (ot_json_string (error, "network_response_code"), ==, "96");
  replay = acquirer_call ("POST", "/v1/acquirer/payments", "pay-lost", body);
  g_assert_cmpstr (replay->body, ==, retry->body);
  g_assert_cmpstr (ot_response_header (replay, "Idempotent-Replayed"), ==, "true");
  final = payment_get (ot_json_string (error, "payment"));
  g_assert_cmpstr (ot_json_string (ot_response_object (final), "status"), ==, "declined");

  /* The approval the bank could not record is reversed at the issuer. */
  reversal = wait_issuer (2);
  g_assert_cmpstr (onepin_iso_get (reversal->message, "mti"), ==, ONEPIN_ISO_REVERSAL_ADVICE);
  original = onepin_iso_original_format (ONEPIN_ISO_FINANCIAL,
                                         onepin_iso_get (purchase->message, "11"),
                                         onepin_iso_get (purchase->message, "7"), "990");
  g_assert_cmpstr (onepin_iso_get (reversal->message, "90"), ==, original);
  g_assert_cmpuint (issuer_count (ONEPIN_ISO_FINANCIAL), ==, 1);
  acquirer_stop ();
}

/* The same for a capture: the issuer approved the completion, the bank
 * could not record it. The payment stays held for that capture (a cancel
 * is refused), and the capture's retry sends the same message again, which
 * the issuer answers as a retransmission. */
static void
test_acquirer_capture_answer_lost (void)
{
  g_autofree char *id = NULL;
  AcquirerCall *capture;
  g_autoptr(OtResponse) failed = NULL;
  g_autoptr(OtResponse) cancel = NULL;
  g_autoptr(OtResponse) retry = NULL;
  IssuerCall *first;
  IssuerCall *second;
  sqlite3 *db;

  acquirer_start ();
  id = authorized_payment (6000);
  issuer_hold = ONEPIN_ISO_COMPLETION;
  capture = follow_up_start (id, "capture", "capture-lost");
  first = wait_issuer (2);
  db = lock_bank_database (acquirer);
  issuer_answer (first, ONEPIN_ISO_APPROVED);
  failed = acquirer_call_finish (capture);
  unlock_bank_database (db);
  ot_assert_error (failed, 500, "api_error", "internal");

  cancel = acquirer_call_finish (follow_up_start (id, "cancel", "cancel-1"));
  ot_assert_error (cancel, 409, "invalid_request_error", "payment_in_progress");
  issuer_hold = NULL;
  retry = acquirer_call_finish (follow_up_start (id, "capture", "capture-lost"));
  ot_assert_status (retry, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (retry), "status"), ==, "captured");
  second = wait_issuer (3);
  g_assert_cmpstr (onepin_iso_get (second->message, "11"), ==,
                   onepin_iso_get (first->message, "11"));
  g_assert_cmpstr (onepin_iso_get (second->message, "7"), ==,
                   onepin_iso_get (first->message, "7"));
  acquirer_stop ();
}

/* ---- captures and refunds the mall gives up on -------------------------- */

#define GIVE_UP_TIMEOUT "1"
#define RESEND_AFTER "1"

static void
assert_same_message (IssuerCall *a,
                     IssuerCall *b)
{
  static const char * const name[] = { "mti", "3", "4", "11", "7", "90" };

  for (guint i = 0; i < G_N_ELEMENTS (name); i++)
    g_assert_cmpstr (onepin_iso_get (a->message, name[i]), ==,
                     onepin_iso_get (b->message, name[i]));
}

/* The issuer holds @call's message (the bank's @sent + 1st) and answers it
 * @code, or never (NULL): the mall is told 503, and does not retry.
 * Returns what the bank sends later on its own: the very same message,
 * held too. */
static IssuerCall *
give_up (AcquirerCall *call,
         guint         sent,
         const char   *code)
{
  IssuerCall *first = wait_issuer (sent + 1);
  g_autoptr(OtResponse) failed = NULL;
  IssuerCall *again;

  if (code != NULL)
    issuer_answer (first, code);
  failed = acquirer_call_finish (call);
  ot_assert_error (failed, 503, "api_error", "issuer_unavailable");
  again = wait_issuer (sent + 2);
  assert_same_message (first, again);
  return again;
}

/* A fresh bank, an authorization of @amount (*@id) and its capture under
 * @key, given up on as give_up () says. */
static IssuerCall *
capture_given_up (gint64       amount,
                  const char  *key,
                  const char  *code,
                  char       **id)
{
  acquirer_start_full (GIVE_UP_TIMEOUT, RESEND_AFTER, NULL, NULL);
  *id = authorized_payment (amount);
  issuer_hold = ONEPIN_ISO_COMPLETION;
  return give_up (follow_up_start (*id, "capture", key), 1, code);
}

static gboolean
in_progress (OtResponse *r)
{
  return r->status == 409 &&
         g_strcmp0 (ot_json_string (ot_json_object (ot_response_object (r), "error"), "code"),
                    "payment_in_progress") == 0;
}

/* POST @action with @body on payment @id under @key, again for as long as
 * another operation holds the payment (a 409 that is not kept), 20 s at
 * most. */
static OtResponse *
call_when_released (const char *id,
                    const char *action,
                    const char *key,
                    const char *body)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  OtResponse *r = acquirer_call_finish (action_start (id, action, key, body));

  while (in_progress (r) && g_get_monotonic_time () < deadline)
    {
      ot_response_free (r);
      run_for (100 * 1000);
      r = acquirer_call_finish (action_start (id, action, key, body));
    }
  return r;
}

/* Until payment @id is @status, 20 s at most. */
static void
wait_status (const char *id,
             const char *status)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(OtResponse) r = payment_get (id);
      const char *now = ot_json_string (ot_response_object (r), "status");

      if (g_str_equal (now, status) || g_get_monotonic_time () > deadline)
        {
          g_assert_cmpstr (now, ==, status);
          return;
        }
      run_for (100 * 1000);
    }
}

/* A late retry of @key on @action: the outcome the bank stored when it
 * settled the message itself, and no message of its type (@mti) to the
 * issuer. */
static OtResponse *
late_retry (const char *id,
            const char *action,
            const char *mti,
            const char *key,
            const char *body,
            guint       status)
{
  guint sent = issuer_count (mti);
  OtResponse *r = acquirer_call_finish (action_start (id, action, key, body));

  ot_assert_status (r, status);
  g_assert_cmpstr (ot_response_header (r, "Idempotent-Replayed"), ==, "true");
  run_for (300 * 1000);
  g_assert_cmpuint (issuer_count (mti), ==, sent);
  return r;
}

/* A capture the issuer did not answer in time, which the mall never
 * retries: the bank sends the same completion itself, holding the payment
 * until the issuer answers; then the payment is captured and free for the
 * next operation, and the capture's key keeps that outcome. */
static void
test_acquirer_capture_given_up (void)
{
  g_autofree char *id = NULL;
  g_autoptr(OtResponse) cancel = NULL;
  g_autoptr(OtResponse) refund = NULL;
  g_autoptr(OtResponse) late = NULL;
  JsonObject *o;
  IssuerCall *again;

  again = capture_given_up (9000, "capture-gone", NULL, &id);
  cancel = acquirer_call_finish (follow_up_start (id, "cancel", "cancel-1"));
  ot_assert_error (cancel, 409, "invalid_request_error", "payment_in_progress");
  issuer_hold = NULL;
  issuer_answer (again, ONEPIN_ISO_APPROVED);

  wait_status (id, "captured");
  refund = acquirer_call_finish (refund_start (id, "refund-1", 2000));
  ot_assert_status (refund, 200);
  o = ot_response_object (refund);
  g_assert_cmpstr (ot_json_string (o, "status"), ==, "captured");
  g_assert_cmpint (ot_json_int (o, "amount_captured"), ==, 9000);
  g_assert_cmpint (ot_json_int (o, "amount_refunded"), ==, 2000);

  /* As it was when the bank settled it, before the refund. */
  late = late_retry (id, "capture", ONEPIN_ISO_COMPLETION, "capture-gone", "{}", 200);
  o = ot_response_object (late);
  g_assert_cmpstr (ot_json_string (o, "status"), ==, "captured");
  g_assert_cmpint (ot_json_int (o, "amount_captured"), ==, 9000);
  g_assert_cmpint (ot_json_int (o, "amount_refunded"), ==, 0);
  acquirer_stop ();
}

/* The same, and the issuer declines the completion: the payment stays
 * authorized, released, so the mall's cancel goes through; the capture's
 * key keeps the decline. */
static void
test_acquirer_capture_given_up_declined (void)
{
  g_autofree char *id = NULL;
  g_autoptr(OtResponse) cancel = NULL;
  g_autoptr(OtResponse) late = NULL;
  JsonObject *error;

  issuer_answer (capture_given_up (7000, "capture-gone", NULL, &id), ONEPIN_ISO_DO_NOT_HONOR);
  issuer_hold = NULL;

  cancel = call_when_released (id, "cancel", "cancel-1", "{}");
  ot_assert_status (cancel, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (cancel), "status"), ==, "canceled");
  late = late_retry (id, "capture", ONEPIN_ISO_COMPLETION, "capture-gone", "{}", 402);
  error = ot_json_object (ot_response_object (late), "error");
  g_assert_cmpstr (ot_json_string (error, "decline_code"), ==, "card_declined");
  acquirer_stop ();
}

/* A refund the issuer did not answer in time, which the mall never
 * retries: the bank sends it again itself; another refund waits for that
 * answer, so the two never come to more than was captured, and the first
 * one's key keeps its outcome. */
static void
test_acquirer_refund_given_up (void)
{
  g_autofree char *id = NULL;
  g_autoptr(OtResponse) capture = NULL;
  g_autoptr(OtResponse) other = NULL;
  g_autoptr(OtResponse) rest = NULL;
  g_autoptr(OtResponse) more = NULL;
  g_autoptr(OtResponse) late = NULL;
  IssuerCall *again;

  acquirer_start_full (GIVE_UP_TIMEOUT, RESEND_AFTER, NULL, NULL);
  id = authorized_payment (9000);
  capture = acquirer_call_finish (follow_up_start (id, "capture", "capture-1"));
  ot_assert_status (capture, 200);
  issuer_hold = ONEPIN_ISO_FINANCIAL;
  again = give_up (refund_start (id, "refund-gone", 4000), 2, NULL);
  other = acquirer_call_finish (refund_start (id, "refund-2", 5000));
  ot_assert_error (other, 409, "invalid_request_error", "payment_in_progress");
  issuer_hold = NULL;
  issuer_answer (again, ONEPIN_ISO_APPROVED);

  rest = call_when_released (id, "refund", "refund-2", "{\"amount\":5000}");
  ot_assert_status (rest, 200);
  g_assert_cmpint (ot_json_int (ot_response_object (rest), "amount_refunded"), ==, 9000);
  more = acquirer_call_finish (refund_start (id, "refund-3", 1));
  ot_assert_error (more, 409, "invalid_request_error", "payment_refunded");
  g_assert_cmpint (issuer_refunds (), ==, 9000);

  late = late_retry (id, "refund", ONEPIN_ISO_FINANCIAL, "refund-gone",
                     "{\"amount\":4000}", 200);
  g_assert_cmpint (ot_json_int (ot_response_object (late), "amount_refunded"), ==, 4000);
  acquirer_stop ();
}

/* SIGKILLs the bank while @call waits for it: @call ends in an error. */
static void
kill_under (AcquirerCall *call)
{
  ot_bank_kill (acquirer);
  while (!call->done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (call->error);
  g_clear_error (&call->error);
  g_object_unref (call->msg);
  g_free (call);
}

/* A stop while a capture waits for the issuer: no 503, no retry. After the
 * restart the bank sends the same completion itself and settles it. */
static void
test_acquirer_capture_cut_by_stop (void)
{
  g_autofree char *id = NULL;
  g_autoptr(OtResponse) cancel = NULL;
  AcquirerCall *capture;
  IssuerCall *first;

  acquirer_start_full (GIVE_UP_TIMEOUT, RESEND_AFTER, NULL, NULL);
  id = authorized_payment (5000);
  issuer_hold = ONEPIN_ISO_COMPLETION;
  capture = follow_up_start (id, "capture", "capture-cut");
  first = wait_issuer (2);
  kill_under (capture);

  issuer_hold = NULL;
  ot_bank_restart (acquirer);
  cancel = call_when_released (id, "cancel", "cancel-1", "{}");
  ot_assert_error (cancel, 409, "invalid_request_error", "payment_state");
  assert_same_message (first, issuer_calls->pdata[2]);
  acquirer_stop ();
}

/* A capture a bank of schema 3 left open: its message stored with no
 * fingerprint and no turn in the advice queue (a v3 bank sent follow-ups
 * only on the mall's retries). The upgrade gives it a turn: the bank sends
 * it, settles the capture and keeps the outcome for the key, which a retry
 * naming the same payment and amount (here left out: all of it) gets,
 * and other parameters do not. */
static void
test_acquirer_capture_from_v3 (void)
{
  g_autofree char *id = NULL;
  g_autoptr(OtResponse) other = NULL;
  g_autoptr(OtResponse) late = NULL;
  g_autoptr(OtResponse) again = NULL;
  AcquirerCall *capture;
  IssuerCall *first;

  acquirer_start_full (GIVE_UP_TIMEOUT, "3600", NULL, NULL);
  id = authorized_payment (4000);
  issuer_hold = ONEPIN_ISO_COMPLETION;
  capture = follow_up_start (id, "capture", "capture-v3");
  first = wait_issuer (2);
  kill_under (capture);

  /* What a bank of schema 3 leaves. */
  bank_database_exec ("UPDATE network_messages SET next_at = NULL "
                      "WHERE request_key IS NOT NULL;"
                      "DROP INDEX network_reconcile;"
                      "ALTER TABLE network_messages DROP COLUMN reconcile;"
                      "ALTER TABLE network_messages DROP COLUMN reconcile_at;"
                      "ALTER TABLE network_messages DROP COLUMN fingerprint;"
                      "DROP TABLE reconciliations;"
                      "PRAGMA user_version = 3;");

  issuer_hold = NULL;
  ot_bank_restart (acquirer);
  wait_status (id, "captured");
  assert_same_message (first, issuer_calls->pdata[2]);

  other = acquirer_call_finish (action_start (id, "capture", "capture-v3",
                                              "{\"amount\":3999}"));
  ot_assert_error (other, 422, "idempotency_error", "idempotency_key_reused");
  late = late_retry (id, "capture", ONEPIN_ISO_COMPLETION, "capture-v3", "{}", 200);
  g_assert_cmpint (ot_json_int (ot_response_object (late), "amount_captured"), ==, 4000);
  again = late_retry (id, "capture", ONEPIN_ISO_COMPLETION, "capture-v3", "{}", 200);
  g_assert_cmpstr (again->body, ==, late->body);
  acquirer_stop ();
}

/* An issuer that is stopping answers 91, one whose store failed 96: it
 * recorded nothing, but an earlier try of the same message it may have
 * applied. A capture so answered is not declined: the mall gets 503, and
 * the bank sends the message again until a real answer settles it. */
static void
test_acquirer_capture_issuer_stopping (void)
{
  g_autofree char *id = NULL;
  g_autoptr(OtResponse) cancel = NULL;
  g_autoptr(OtResponse) late = NULL;
  IssuerCall *second;

  second = capture_given_up (6000, "capture-stopping", ONEPIN_ISO_ISSUER_UNAVAILABLE, &id);
  issuer_answer (second, ONEPIN_ISO_SYSTEM_MALFUNCTION);
  cancel = acquirer_call_finish (follow_up_start (id, "cancel", "cancel-1"));
  ot_assert_error (cancel, 409, "invalid_request_error", "payment_in_progress");
  issuer_hold = NULL;

  wait_status (id, "captured");
  assert_same_message (second, issuer_calls->pdata[3]);
  late = late_retry (id, "capture", ONEPIN_ISO_COMPLETION, "capture-stopping", "{}", 200);
  g_assert_cmpint (ot_json_int (ot_response_object (late), "amount_captured"), ==, 6000);
  acquirer_stop ();
}

/* The same for a reversal: a 91 is no answer, and the reversal goes out
 * again until the issuer takes it. */
static void
test_acquirer_reversal_issuer_stopping (void)
{
  g_autofree char *id = NULL;
  g_autoptr(OtResponse) cancel = NULL;
  IssuerCall *first;

  acquirer_start ();
  id = authorized_payment (3000);
  issuer_hold = ONEPIN_ISO_REVERSAL;
  cancel = acquirer_call_finish (follow_up_start (id, "cancel", "cancel-1"));
  ot_assert_status (cancel, 200);
  first = wait_issuer (2);
  issuer_answer (first, ONEPIN_ISO_ISSUER_UNAVAILABLE);
  issuer_hold = NULL;
  assert_same_message (first, wait_issuer (3));
  run_for (2500 * 1000);
  g_assert_cmpuint (issuer_count (ONEPIN_ISO_REVERSAL), ==, 2);
  acquirer_stop ();
}

/* The payment's "reconciliation" once it awaits one (not one an operator
 * closed before), 20 s at most. */
static JsonObject *
wait_reconciliation (const char *id)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(OtResponse) r = payment_get (id);
      JsonObject *o = ot_response_object (r);
      JsonObject *reconciliation = json_object_has_member (o, "reconciliation")
                                     ? json_object_get_object_member (o, "reconciliation")
                                     : NULL;

      if (reconciliation != NULL &&
          g_strcmp0 (ot_json_string (reconciliation, "status"), "open") == 0)
        return json_object_ref (reconciliation);
      if (g_get_monotonic_time () > deadline)
        g_error ("payment %s got no reconciliation: %s", id, r->body);
      run_for (100 * 1000);
    }
}

/* Lines of the bank's log holding @text. */
static guint
log_lines (const char *text)
{
  g_autofree char *log = NULL;
  guint n = 0;

  g_assert_true (g_file_get_contents (ot_bank_log_path (acquirer), &log, NULL, NULL));
  for (const char *at = strstr (log, text); at != NULL; at = strstr (at + 1, text))
    n++;
  return n;
}

/* An issuer that answers a completion 96 every time (it fails on it, say)
 * is not asked for ever: --resend-give-up seconds after the capture's first
 * try the bank stops, with one warning, and the payment is marked for
 * reconciliation, still held (authorized, a cancel refused): whether the
 * issuer captured is unknown. */
static void
test_acquirer_resend_gives_up (void)
{
  g_autofree char *id = NULL;
  g_autoptr(OtResponse) failed = NULL;
  g_autoptr(OtResponse) cancel = NULL;
  g_autoptr(OtResponse) after = NULL;
  g_autoptr(JsonObject) reconciliation = NULL;
  guint sent;

  acquirer_start_full (GIVE_UP_TIMEOUT, RESEND_AFTER, "4", NULL);
  id = authorized_payment (8000);
  issuer_hold = ONEPIN_ISO_COMPLETION;
  issuer_hold_answer = ONEPIN_ISO_SYSTEM_MALFUNCTION;
  failed = acquirer_call_finish (follow_up_start (id, "capture", "capture-96"));
  ot_assert_error (failed, 503, "api_error", "issuer_unavailable");

  reconciliation = wait_reconciliation (id);
  g_assert_cmpstr (ot_json_string (reconciliation, "reason"), ==, "no_answer");
  g_assert_cmpstr (ot_json_string (reconciliation, "operation"), ==, "capture");
  g_assert_cmpint (ot_json_int (reconciliation, "amount"), ==, 8000);
  sent = issuer_count (ONEPIN_ISO_COMPLETION);
  g_assert_cmpuint (sent, >=, 3);
  run_for (3500 * 1000);
  g_assert_cmpuint (issuer_count (ONEPIN_ISO_COMPLETION), ==, sent);

  after = payment_get (id);
  g_assert_cmpstr (ot_json_string (ot_response_object (after), "status"), ==, "authorized");
  cancel = acquirer_call_finish (follow_up_start (id, "cancel", "cancel-1"));
  ot_assert_error (cancel, 409, "invalid_request_error", "payment_in_progress");
  g_assert_cmpuint (log_lines ("marked for reconciliation"), ==, 1);
  acquirer_stop ();
}

/* The issuer's record of a capture is gone (it keeps it 72 h) and it
 * answers the bank's retransmission 94, a duplicate: it may well have
 * applied the first try. That is no decline: the payment is marked for
 * reconciliation and stays held, and the message is not sent again. */
static void
test_acquirer_resend_duplicate (void)
{
  g_autofree char *id = NULL;
  g_autoptr(OtResponse) after = NULL;
  g_autoptr(OtResponse) retry = NULL;
  g_autoptr(JsonObject) reconciliation = NULL;

  issuer_answer (capture_given_up (5000, "capture-94", NULL, &id), "94");
  issuer_hold = NULL;
  reconciliation = wait_reconciliation (id);
  g_assert_cmpstr (ot_json_string (reconciliation, "reason"), ==, "duplicate");
  run_for (2500 * 1000);
  g_assert_cmpuint (issuer_count (ONEPIN_ISO_COMPLETION), ==, 2);
  after = payment_get (id);
  g_assert_cmpstr (ot_json_string (ot_response_object (after), "status"), ==, "authorized");
  g_assert_cmpint (ot_json_int (ot_response_object (after), "amount_captured"), ==, 0);

  /* Nor when the mall's own retry gets the 94: not a decline, not kept. */
  issuer_hold = ONEPIN_ISO_COMPLETION;
  issuer_hold_answer = "94";
  retry = acquirer_call_finish (follow_up_start (id, "capture", "capture-94"));
  ot_assert_error (retry, 503, "api_error", "reconciliation_required");
  g_assert_cmpuint (log_lines ("marked for reconciliation"), ==, 1);
  acquirer_stop ();
}

/* ---- reconciliations the bank's operator closes ------------------------- */

/* Long enough for a test to close a reconciliation while the issuer holds
 * a retransmission of its message, and answer that in time. */
#define RECONCILE_TIMEOUT "3"
/* The operator's bodies but for the message's "stan": close_body () adds it. */
#define CLOSE_APPROVED \
  "{\"outcome\":\"approved\",\"operator\":\"kim\",\"note\":\"issuer's settlement file\""
#define CLOSE_DECLINED \
  "{\"outcome\":\"declined\",\"operator\":\"lee\",\"note\":\"the issuer, on the phone\""

/* A fresh bank that gives up on a message 1 s after its first try, after
 * one try of its own at least. */
static void
reconcile_start (void)
{
  acquirer_start_full (RECONCILE_TIMEOUT, RESEND_AFTER, "1", NULL);
}

/* POST @body to payment @id's reconciliation under @key (NULL: none), with
 * the key @bearer. */
static OtResponse *
reconcile_as (const char *bearer,
              const char *id,
              const char *key,
              const char *body)
{
  g_autofree char *path = g_strdup_printf ("/v1/acquirer/payments/%s/reconciliation", id);

  return acquirer_call_finish (bank_call_start (bearer, "POST", path, key, body));
}

/* The same, as the bank's operator. */
static OtResponse *
reconcile (const char *id,
           const char *key,
           const char *body)
{
  return reconcile_as (ot_bank_operator_key (acquirer), id, key, body);
}

/* @close (CLOSE_APPROVED or CLOSE_DECLINED) of the message whose STAN is
 * @stan. */
static char *
close_body (const char *close,
            const char *stan)
{
  return g_strdup_printf ("%s,\"stan\":\"%s\"}", close, stan);
}

/* The operator closes @open, the reconciliation payment @id awaits, by its
 * message's STAN, with @close under @key. */
static OtResponse *
reconcile_open (const char *id,
                const char *key,
                const char *close,
                JsonObject *open)
{
  g_autofree char *body = close_body (close, ot_json_string (open, "stan"));

  return reconcile (id, key, body);
}

/* @action with @body under @key on payment @id, whose message (@mti) the
 * issuer answers 96 every time, the mall's try and the bank's: the
 * payment awaits its reconciliation, which this returns. */
static JsonObject *
follow_up_reconciling (const char *id,
                       const char *action,
                       const char *mti,
                       const char *key,
                       const char *body)
{
  g_autoptr(OtResponse) tried = NULL;
  JsonObject *reconciliation;

  issuer_hold = mti;
  issuer_hold_answer = ONEPIN_ISO_SYSTEM_MALFUNCTION;
  tried = acquirer_call_finish (action_start (id, action, key, body));
  if (g_str_equal (action, "cancel"))
    ot_assert_status (tried, 200);
  else
    ot_assert_error (tried, 503, "api_error", "issuer_unavailable");
  reconciliation = wait_reconciliation (id);
  g_assert_cmpstr (ot_json_string (reconciliation, "reason"), ==, "no_answer");
  issuer_hold = NULL;
  issuer_hold_answer = NULL;
  return reconciliation;
}

/* @r's payment, its status and amount captured and refunded. */
static JsonObject *
assert_payment (OtResponse *r,
                const char *status,
                gint64      captured,
                gint64      refunded)
{
  JsonObject *o = ot_response_object (r);

  ot_assert_status (r, 200);
  g_assert_cmpstr (ot_json_string (o, "status"), ==, status);
  g_assert_cmpint (ot_json_int (o, "amount_captured"), ==, captured);
  g_assert_cmpint (ot_json_int (o, "amount_refunded"), ==, refunded);
  return o;
}

/* @r's reconciliation, closed (@status) by the operator with @outcome;
 * the same message as @open. */
static JsonObject *
assert_closed (OtResponse *r,
               JsonObject *open,
               const char *status,
               const char *outcome)
{
  JsonObject *reconciliation = ot_json_object (ot_response_object (r), "reconciliation");

  g_assert_cmpstr (ot_json_string (reconciliation, "status"), ==, status);
  g_assert_cmpstr (ot_json_string (reconciliation, "outcome"), ==, outcome);
  g_assert_cmpstr (ot_json_string (reconciliation, "operation"), ==,
                   ot_json_string (open, "operation"));
  g_assert_cmpstr (ot_json_string (reconciliation, "stan"), ==, ot_json_string (open, "stan"));
  g_assert_cmpint (ot_json_int (reconciliation, "amount"), ==, ot_json_int (open, "amount"));
  g_assert_cmpint (ot_json_int (reconciliation, "closed_at"), >=, ot_json_int (open, "since"));
  return reconciliation;
}

/* The issuer never answered a capture; the bank's operator learns from the
 * issuer that it approved it, and closes the reconciliation so. The
 * payment is captured as the issuer's approval would have captured it,
 * durably, and released: the capture's key keeps that outcome, and a
 * refund goes through, which, unanswered too, is closed approved and
 * counts once. Who closed it, when and why are on the payment. */
static void
test_acquirer_reconcile_approved (void)
{
  g_autofree char *id = NULL;
  g_autoptr(JsonObject) open = NULL;
  g_autoptr(JsonObject) refund_open = NULL;
  g_autoptr(OtResponse) closed = NULL;
  g_autoptr(OtResponse) replay = NULL;
  g_autoptr(OtResponse) after_restart = NULL;
  g_autoptr(OtResponse) as_operator = NULL;
  g_autoptr(OtResponse) late = NULL;
  g_autoptr(OtResponse) refunded = NULL;
  g_autofree char *path = NULL;
  JsonObject *reconciliation;

  reconcile_start ();
  id = authorized_payment (8000);
  open = follow_up_reconciling (id, "capture", ONEPIN_ISO_COMPLETION, "capture-r", "{}");
  g_assert_cmpstr (ot_json_string (open, "operation"), ==, "capture");

  closed = reconcile_open (id, "close-1", CLOSE_APPROVED, open);
  assert_payment (closed, "captured", 8000, 0);
  reconciliation = assert_closed (closed, open, "closed", "approved");
  g_assert_cmpstr (ot_json_string (reconciliation, "operator"), ==, "kim");
  g_assert_cmpstr (ot_json_string (reconciliation, "note"), ==, "issuer's settlement file");
  g_assert_false (json_object_has_member (reconciliation, "issuer_answer"));
  replay = reconcile_open (id, "close-1", CLOSE_APPROVED, open);
  g_assert_cmpstr (replay->body, ==, closed->body);
  g_assert_cmpstr (ot_response_header (replay, "Idempotent-Replayed"), ==, "true");

  /* Committed before the answer: a SIGKILL loses none of it. The operator
   * sees it all; the mall the outcome, but not who closed it or the note. */
  ot_bank_kill (acquirer);
  ot_bank_restart (acquirer);
  path = g_strconcat ("/v1/acquirer/payments/", id, NULL);
  as_operator = acquirer_call_finish (bank_call_start (ot_bank_operator_key (acquirer), "GET",
                                                       path, NULL, NULL));
  g_assert_cmpstr (as_operator->body, ==, closed->body);
  after_restart = payment_get (id);
  assert_payment (after_restart, "captured", 8000, 0);
  reconciliation = assert_closed (after_restart, open, "closed", "approved");
  g_assert_cmpint (ot_json_int (reconciliation, "closed_at"), ==,
                   ot_json_int (ot_json_object (ot_response_object (closed), "reconciliation"),
                                "closed_at"));
  g_assert_false (json_object_has_member (reconciliation, "operator"));
  g_assert_false (json_object_has_member (reconciliation, "note"));
  g_assert_null (strstr (after_restart->body, "kim"));
  g_assert_null (strstr (after_restart->body, "settlement file"));

  late = late_retry (id, "capture", ONEPIN_ISO_COMPLETION, "capture-r", "{}", 200);
  assert_payment (late, "captured", 8000, 0);
  refund_open = follow_up_reconciling (id, "refund", ONEPIN_ISO_FINANCIAL, "refund-r",
                                       "{\"amount\":3000}");
  g_assert_cmpstr (ot_json_string (refund_open, "operation"), ==, "refund");
  refunded = reconcile_open (id, "close-2", CLOSE_APPROVED, refund_open);
  assert_payment (refunded, "captured", 8000, 3000);
  assert_closed (refunded, refund_open, "closed", "approved");
  acquirer_stop ();
}

/* The issuer declined the capture: closed so, the payment stays authorized
 * and is released, so the cancel refused while the capture awaited
 * reconciliation goes through, and the capture's key keeps the decline.
 * The cancel's reversal, never answered either, is closed too. */
static void
test_acquirer_reconcile_declined (void)
{
  g_autofree char *id = NULL;
  g_autoptr(JsonObject) open = NULL;
  g_autoptr(JsonObject) reversal_open = NULL;
  g_autoptr(OtResponse) refused = NULL;
  g_autoptr(OtResponse) closed = NULL;
  g_autoptr(OtResponse) late = NULL;
  g_autoptr(OtResponse) reversed = NULL;
  JsonObject *error;

  reconcile_start ();
  id = authorized_payment (7000);
  open = follow_up_reconciling (id, "capture", ONEPIN_ISO_COMPLETION, "capture-r", "{}");
  refused = acquirer_call_finish (follow_up_start (id, "cancel", "cancel-1"));
  ot_assert_error (refused, 409, "invalid_request_error", "payment_in_progress");

  closed = reconcile_open (id, "close-1", CLOSE_DECLINED, open);
  assert_payment (closed, "authorized", 0, 0);
  assert_closed (closed, open, "closed", "declined");
  late = late_retry (id, "capture", ONEPIN_ISO_COMPLETION, "capture-r", "{}", 402);
  error = ot_json_object (ot_response_object (late), "error");
  g_assert_cmpstr (ot_json_string (error, "decline_code"), ==, "card_declined");

  reversal_open = follow_up_reconciling (id, "cancel", ONEPIN_ISO_REVERSAL, "cancel-1", "{}");
  g_assert_cmpstr (ot_json_string (reversal_open, "operation"), ==, "reversal");
  reversed = reconcile_open (id, "close-2", CLOSE_APPROVED, reversal_open);
  assert_payment (reversed, "canceled", 0, 0);
  assert_closed (reversed, reversal_open, "closed", "approved");
  acquirer_stop ();
}

/* What the operator's endpoint refuses, never with a 5xx, and none of it
 * closing anything: another key, no Idempotency-Key, an unknown payment,
 * bad bodies, nothing awaiting reconciliation, a STAN not the one that
 * awaits it, a key reused for another outcome, and closing twice. */
static void
test_acquirer_reconcile_refused (void)
{
  /* Where another parameter is at fault, a well-formed STAN (of no message
   * here), so that each answer is about that parameter. */
  static const struct
  {
    const char *body;
    const char *code;
    const char *param;
  } bad[] = {
    { "not json", "body_invalid", NULL },
    { "[]", "body_invalid", NULL },
    { "{}", "parameter_missing", "outcome" },
    { "{\"outcome\":\"maybe\",\"operator\":\"kim\",\"note\":\"n\",\"stan\":\"999999\"}",
      "parameter_invalid", "outcome" },
    { "{\"outcome\":true,\"operator\":\"kim\",\"note\":\"n\",\"stan\":\"999999\"}",
      "parameter_invalid", "outcome" },
    { "{\"outcome\":\"approved\",\"note\":\"n\",\"stan\":\"999999\"}",
      "parameter_missing", "operator" },
    { "{\"outcome\":\"approved\",\"operator\":\"kim\",\"stan\":\"999999\"}",
      "parameter_missing", "note" },
    { "{\"outcome\":\"approved\",\"operator\":\"\",\"note\":\"n\",\"stan\":\"999999\"}",
      "parameter_invalid", "operator" },
    { "{\"outcome\":\"approved\",\"operator\":\"kim\",\"note\":\"a\\nb\",\"stan\":\"999999\"}",
      "parameter_invalid", "note" },
    { "{\"outcome\":\"approved\",\"operator\":\"kim\",\"note\":\"n\",\"stan\":\"999999\","
      "\"amount\":1}", "parameter_unknown", NULL },
    { "{\"outcome\":\"approved\",\"operator\":\"kim\",\"note\":\"n\",\"stan\":42}",
      "parameter_invalid", "stan" },
    /* The STAN is required, and six digits. */
    { CLOSE_APPROVED "}", "parameter_missing", "stan" },
    { CLOSE_APPROVED ",\"stan\":null}", "parameter_missing", "stan" },
    { CLOSE_APPROVED ",\"stan\":\"\"}", "parameter_invalid", "stan" },
    { CLOSE_APPROVED ",\"stan\":\"42\"}", "parameter_invalid", "stan" },
    { CLOSE_APPROVED ",\"stan\":\"0000042\"}", "parameter_invalid", "stan" },
    { CLOSE_APPROVED ",\"stan\":\"00004a\"}", "parameter_invalid", "stan" },
    { CLOSE_APPROVED ",\"stan\":\" 00042\"}", "parameter_invalid", "stan" },
    { CLOSE_APPROVED ",\"stan\":[\"000042\"]}", "parameter_invalid", "stan" },
  };
  g_autofree char *id = NULL;
  g_autofree char *fresh = NULL;
  g_autofree char *long_note = NULL;
  g_autofree char *right = NULL;
  g_autoptr(JsonObject) open = NULL;
  g_autoptr(JsonObject) still = NULL;
  g_autoptr(OtResponse) r = NULL;

  reconcile_start ();
  fresh = authorized_payment (1000);
  id = authorized_payment (5000);
  open = follow_up_reconciling (id, "capture", ONEPIN_ISO_COMPLETION, "capture-r", "{}");

  right = close_body (CLOSE_APPROVED, ot_json_string (open, "stan"));
  r = reconcile_as (ot_bank_acquirer_key (acquirer), id, "k-1", right);
  ot_assert_error (r, 401, "authentication_error", "unauthorized");
  g_clear_pointer (&r, ot_response_free);
  r = reconcile (id, NULL, right);
  ot_assert_error (r, 400, "invalid_request_error", "parameter_missing");
  g_clear_pointer (&r, ot_response_free);
  r = reconcile ("ap_nonesuch", "k-2", right);
  ot_assert_error (r, 404, "invalid_request_error", "resource_missing");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *key = g_strdup_printf ("k-bad-%u", i);
      g_autoptr(OtResponse) refused = reconcile (id, key, bad[i].body);
      JsonObject *error;

      g_test_message ("body %s", bad[i].body);
      ot_assert_error (refused, 400, "invalid_request_error", bad[i].code);
      error = ot_json_object (ot_response_object (refused), "error");
      if (bad[i].param == NULL)
        g_assert_false (json_object_has_member (error, "param"));
      else
        g_assert_cmpstr (ot_json_string (error, "param"), ==, bad[i].param);
    }
  long_note = g_strdup_printf ("{\"outcome\":\"approved\",\"operator\":\"kim\","
                               "\"note\":\"%0501d\",\"stan\":\"999999\"}", 0);
  g_clear_pointer (&r, ot_response_free);
  r = reconcile (id, "k-3", long_note);
  ot_assert_error (r, 400, "invalid_request_error", "parameter_invalid");
  g_clear_pointer (&r, ot_response_free);
  r = reconcile (fresh, "k-4", right);
  ot_assert_error (r, 409, "invalid_request_error", "nothing_to_reconcile");
  g_clear_pointer (&r, ot_response_free);
  r = reconcile (id, "k-5", "{\"outcome\":\"approved\",\"operator\":\"kim\",\"note\":\"n\","
                            "\"stan\":\"999999\"}");
  ot_assert_error (r, 409, "invalid_request_error", "reconciliation_mismatch");
  /* It names the STAN that awaits, not the one it was sent. */
  g_assert_nonnull (strstr (r->body, ot_json_string (open, "stan")));
  g_assert_null (strstr (r->body, "999999"));

  still = wait_reconciliation (id);
  g_assert_cmpstr (ot_json_string (still, "stan"), ==, ot_json_string (open, "stan"));
  /* Neither 409 was kept under its key: the operator may try it again. */
  g_clear_pointer (&r, ot_response_free);
  r = reconcile (id, "k-5", right);
  assert_payment (r, "captured", 5000, 0);
  g_clear_pointer (&r, ot_response_free);
  r = reconcile_open (id, "k-5", CLOSE_DECLINED, open);
  ot_assert_error (r, 422, "idempotency_error", "idempotency_key_reused");
  g_clear_pointer (&r, ot_response_free);
  r = reconcile (id, "k-7", right);
  ot_assert_error (r, 409, "invalid_request_error", "nothing_to_reconcile");
  acquirer_stop ();
}

/* The operator tries to close a capture's reconciliation while the bank
 * is still sending its message (the mall's try answered 96, the bank's
 * own not sent yet), named by the STAN the issuer got: 409
 * nothing_to_reconcile, which passes, so it is not kept under the
 * operator's key. Once the message awaits reconciliation, the same key,
 * the same body, closes it. */
static void
test_acquirer_reconcile_too_early (void)
{
  g_autofree char *id = NULL;
  g_autofree char *body = NULL;
  const char *stan;
  g_autoptr(JsonObject) open = NULL;
  g_autoptr(OtResponse) tried = NULL;
  g_autoptr(OtResponse) early = NULL;
  g_autoptr(OtResponse) closed = NULL;

  reconcile_start ();
  id = authorized_payment (6000);
  issuer_hold = ONEPIN_ISO_COMPLETION;
  issuer_hold_answer = ONEPIN_ISO_SYSTEM_MALFUNCTION;
  tried = acquirer_call_finish (follow_up_start (id, "capture", "capture-r"));
  ot_assert_error (tried, 503, "api_error", "issuer_unavailable");
  stan = issuer_last_stan (ONEPIN_ISO_COMPLETION);
  body = close_body (CLOSE_APPROVED, stan);
  early = reconcile (id, "close-1", body);
  ot_assert_error (early, 409, "invalid_request_error", "nothing_to_reconcile");
  g_assert_null (ot_response_header (early, "Idempotent-Replayed"));

  open = wait_reconciliation (id);
  issuer_hold = NULL;
  issuer_hold_answer = NULL;
  g_assert_cmpstr (ot_json_string (open, "stan"), ==, stan);
  closed = reconcile (id, "close-1", body);
  assert_payment (closed, "captured", 6000, 0);
  assert_closed (closed, open, "closed", "approved");
  g_assert_null (ot_response_header (closed, "Idempotent-Replayed"));
  acquirer_stop ();
}

/* The operator's closes of a capture, tried too early and retried once a
 * refund of the payment awaits reconciliation in its turn (a 409 is not
 * kept under the key, so a retry is answered afresh): none may close the
 * refund. One without a STAN is refused 400 (and kept: its retry replays
 * it), one naming the capture's is 409 reconciliation_mismatch, whoever
 * closed the capture in between. The close that did is replayed byte for
 * byte; only the refund's own STAN closes the refund. */
static void
test_acquirer_reconcile_stale_retry (void)
{
  g_autofree char *id = NULL;
  g_autofree char *capture_close = NULL;
  g_autoptr(JsonObject) open = NULL;
  g_autoptr(JsonObject) refund_open = NULL;
  g_autoptr(JsonObject) still = NULL;
  g_autoptr(OtResponse) tried = NULL;
  g_autoptr(OtResponse) r = NULL;
  g_autoptr(OtResponse) closed = NULL;
  g_autoptr(OtResponse) replay = NULL;
  g_autoptr(OtResponse) after = NULL;
  g_autoptr(OtResponse) refunded = NULL;

  reconcile_start ();
  id = authorized_payment (9000);
  issuer_hold = ONEPIN_ISO_COMPLETION;
  issuer_hold_answer = ONEPIN_ISO_SYSTEM_MALFUNCTION;
  tried = acquirer_call_finish (follow_up_start (id, "capture", "capture-r"));
  ot_assert_error (tried, 503, "api_error", "issuer_unavailable");
  r = reconcile (id, "stale-1", CLOSE_APPROVED "}");
  ot_assert_error (r, 400, "invalid_request_error", "parameter_missing");
  capture_close = close_body (CLOSE_APPROVED, issuer_last_stan (ONEPIN_ISO_COMPLETION));
  g_clear_pointer (&r, ot_response_free);
  r = reconcile (id, "stale-2", capture_close);
  ot_assert_error (r, 409, "invalid_request_error", "nothing_to_reconcile");

  open = wait_reconciliation (id);
  issuer_hold = NULL;
  issuer_hold_answer = NULL;
  closed = reconcile_open (id, "close-1", CLOSE_APPROVED, open);
  assert_payment (closed, "captured", 9000, 0);
  refund_open = follow_up_reconciling (id, "refund", ONEPIN_ISO_FINANCIAL, "refund-r",
                                       "{\"amount\":2000}");

  g_clear_pointer (&r, ot_response_free);
  r = reconcile (id, "stale-1", CLOSE_APPROVED "}");
  ot_assert_error (r, 400, "invalid_request_error", "parameter_missing");
  g_assert_cmpstr (ot_response_header (r, "Idempotent-Replayed"), ==, "true");
  g_clear_pointer (&r, ot_response_free);
  r = reconcile (id, "stale-2", capture_close);
  ot_assert_error (r, 409, "invalid_request_error", "reconciliation_mismatch");
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (r), "error"), "param"),
                   ==, "stan");
  replay = reconcile (id, "close-1", capture_close);
  g_assert_cmpstr (replay->body, ==, closed->body);
  g_assert_cmpstr (ot_response_header (replay, "Idempotent-Replayed"), ==, "true");

  still = wait_reconciliation (id);
  g_assert_cmpstr (ot_json_string (still, "stan"), ==, ot_json_string (refund_open, "stan"));
  after = payment_get (id);
  assert_payment (after, "captured", 9000, 0);
  refunded = reconcile_open (id, "close-2", CLOSE_APPROVED, refund_open);
  assert_payment (refunded, "captured", 9000, 2000);
  assert_closed (refunded, refund_open, "closed", "approved");
  acquirer_stop ();
}

/* The mall retries @action (@body) under @key on payment @id, whose
 * message awaits reconciliation (@open), and the issuer holds that
 * retransmission (@mti) while the operator closes the reconciliation with
 * @close, answered *@closed; then the issuer answers it 00, late. Returns
 * what the retry got: the operator's outcome, kept under the key. */
static OtResponse *
close_under_retry (const char  *id,
                   JsonObject  *open,
                   const char  *action,
                   const char  *mti,
                   const char  *key,
                   const char  *body,
                   const char  *close,
                   OtResponse **closed)
{
  AcquirerCall *retry;
  IssuerCall *held;
  OtResponse *answered;

  issuer_hold = mti;
  retry = action_start (id, action, key, body);
  held = wait_issuer (issuer_calls->len + 1);
  g_assert_cmpstr (onepin_iso_get (held->message, "11"), ==, ot_json_string (open, "stan"));
  *closed = reconcile_open (id, "close-1", close, open);
  issuer_answer (held, ONEPIN_ISO_APPROVED);
  answered = acquirer_call_finish (retry);
  g_assert_cmpstr (ot_response_header (answered, "Idempotent-Replayed"), ==, "true");
  return answered;
}

/* @after's reconciliation (of @open), closed @status with @outcome, keeps
 * the issuer's late 00, which @agrees or not. */
static void
assert_late_answer (OtResponse *after,
                    JsonObject *open,
                    const char *status,
                    const char *outcome,
                    gboolean    agrees)
{
  JsonObject *answer = ot_json_object (assert_closed (after, open, status, outcome),
                                       "issuer_answer");

  g_assert_cmpstr (ot_json_string (answer, "response_code"), ==, "00");
  g_assert_true (ot_json_bool (answer, "agrees") == agrees);
}

/* The mall retries a refund that awaits reconciliation, and the issuer
 * holds that retransmission; meanwhile the operator closes it approved.
 * The issuer's answer then agrees, and is not applied again: the refund
 * counts once, the retry gets the operator's outcome, and the
 * reconciliation notes the answer. */
static void
test_acquirer_reconcile_late_agreeing (void)
{
  g_autofree char *id = NULL;
  g_autoptr(JsonObject) open = NULL;
  g_autoptr(OtResponse) capture = NULL;
  g_autoptr(OtResponse) closed = NULL;
  g_autoptr(OtResponse) answered = NULL;
  g_autoptr(OtResponse) after = NULL;

  reconcile_start ();
  id = authorized_payment (10000);
  capture = acquirer_call_finish (follow_up_start (id, "capture", "capture-1"));
  assert_payment (capture, "captured", 10000, 0);
  open = follow_up_reconciling (id, "refund", ONEPIN_ISO_FINANCIAL, "refund-r",
                                "{\"amount\":4000}");
  answered = close_under_retry (id, open, "refund", ONEPIN_ISO_FINANCIAL, "refund-r",
                                "{\"amount\":4000}", CLOSE_APPROVED, &closed);
  assert_payment (closed, "captured", 10000, 4000);
  assert_payment (answered, "captured", 10000, 4000);

  after = payment_get (id);
  assert_payment (after, "captured", 10000, 4000);
  assert_late_answer (after, open, "closed", "approved", TRUE);
  g_assert_cmpuint (log_lines ("agrees with the reconciliation"), ==, 1);
  g_assert_cmpuint (log_lines ("they disagree"), ==, 0);
  acquirer_stop ();
}

/* The same, but the operator closed the capture declined and the issuer's
 * late answer approves it: not applied behind the operator's back (the
 * payment stays authorized, the retry gets the decline), logged as a
 * warning, and kept on the reconciliation, now "disputed". */
static void
test_acquirer_reconcile_late_disagreeing (void)
{
  g_autofree char *id = NULL;
  g_autoptr(JsonObject) open = NULL;
  g_autoptr(OtResponse) closed = NULL;
  g_autoptr(OtResponse) answered = NULL;
  g_autoptr(OtResponse) after = NULL;

  reconcile_start ();
  id = authorized_payment (6000);
  open = follow_up_reconciling (id, "capture", ONEPIN_ISO_COMPLETION, "capture-r", "{}");
  answered = close_under_retry (id, open, "capture", ONEPIN_ISO_COMPLETION, "capture-r", "{}",
                                CLOSE_DECLINED, &closed);
  assert_payment (closed, "authorized", 0, 0);
  ot_assert_error (answered, 402, "card_error", "card_declined");

  after = payment_get (id);
  assert_payment (after, "authorized", 0, 0);
  assert_late_answer (after, open, "disputed", "declined", FALSE);
  g_assert_null (strstr (after->body, "\"note\""));
  g_assert_cmpuint (log_lines ("they disagree"), ==, 1);
  acquirer_stop ();
}

/* The tries of payment @id's capture or refund message so far, and
 * whether the advice queue holds it (*@queued: next_at is set). */
static gint64
message_attempts (const char *id,
                  gboolean   *queued)
{
  sqlite3 *db = open_bank_database (acquirer, SQLITE_OPEN_READONLY);
  sqlite3_stmt *stmt = NULL;
  gint64 attempts;

  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT attempts, next_at IS NOT NULL "
                                       "FROM network_messages WHERE payment_id = ? "
                                       "AND request_key IS NOT NULL", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  attempts = sqlite3_column_int64 (stmt, 0);
  *queued = sqlite3_column_int (stmt, 1) != 0;
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return attempts;
}

/* A capture awaiting reconciliation in a bank of schema 5 (next_at NULL,
 * so like what a bank before schema 4 left open): the upgrade to 6 must
 * not queue it again, or it would be sent for ever, and an answer settle
 * it behind the operator's back. The issuer here would approve it at
 * once. After the upgrade it is not sent, still awaits reconciliation and
 * holds its payment, and the operator closes it. Should such a message
 * be queued all the same (set here by hand), it is still not sent. */
static void
test_acquirer_reconciling_from_v5 (void)
{
  g_autofree char *id = NULL;
  g_autoptr(JsonObject) open = NULL;
  g_autoptr(JsonObject) still = NULL;
  g_autoptr(OtResponse) after = NULL;
  g_autoptr(OtResponse) closed = NULL;
  gint64 attempts;
  gboolean queued = TRUE;
  guint sent;

  reconcile_start ();
  id = authorized_payment (7000);
  open = follow_up_reconciling (id, "capture", ONEPIN_ISO_COMPLETION, "capture-r", "{}");
  sent = issuer_count (ONEPIN_ISO_COMPLETION);
  ot_bank_kill (acquirer);

  /* What a bank of schema 5 leaves. */
  bank_database_exec ("DROP TABLE reconciliations; PRAGMA user_version = 5;");
  attempts = message_attempts (id, &queued);
  g_assert_false (queued);

  ot_bank_restart (acquirer);
  run_for (2500 * 1000);
  g_assert_cmpuint (issuer_count (ONEPIN_ISO_COMPLETION), ==, sent);
  g_assert_cmpint (message_attempts (id, &queued), ==, attempts);
  g_assert_false (queued);
  still = wait_reconciliation (id);
  g_assert_cmpstr (ot_json_string (still, "stan"), ==, ot_json_string (open, "stan"));
  g_assert_cmpstr (ot_json_string (still, "reason"), ==, "no_answer");
  after = payment_get (id);
  assert_payment (after, "authorized", 0, 0);

  /* Queued by mistake (as an earlier schema 6 build's upgrade did): still
   * never sent, since it awaits reconciliation. */
  ot_bank_kill (acquirer);
  bank_database_exec ("UPDATE network_messages SET next_at = 0 WHERE request_key IS NOT NULL;");
  ot_bank_restart (acquirer);
  run_for (2500 * 1000);
  g_assert_cmpuint (issuer_count (ONEPIN_ISO_COMPLETION), ==, sent);
  g_assert_cmpint (message_attempts (id, &queued), ==, attempts);

  closed = reconcile_open (id, "close-1", CLOSE_APPROVED, open);
  assert_payment (closed, "captured", 7000, 0);
  assert_closed (closed, open, "closed", "approved");
  acquirer_stop ();
}

/* ---- card numbers in the bank's memory ---------------------------------- */

/* @digits (16 of them) as a buyer types them, "9420 0012 3456 7897", in a
 * JSON string whose ninth digit is an escape: the raw request holds neither
 * @digits nor that text (*@typed), and the bank's decoded copies hold one or
 * the other. */
static char *
card_number_json (const char  *digits,
                  char       **typed)
{
  *typed = g_strdup_printf ("%.4s %.4s %.4s %.4s", digits, digits + 4, digits + 8, digits + 12);
  return g_strdup_printf ("%.4s %.4s \\u003%c%.3s %.4s", digits, digits + 4, digits[8],
                          digits + 9, digits + 12);
}

/* The number last: it is what the parser decoded last, too. */
static char *
charge_body (const char *number_json)
{
  return g_strdup_printf ("{\"method\":\"card\",\"amount\":1000,\"currency\":\"krw\","
                          "\"card_expiry\":\"12/30\",\"card_cvc\":\"123\","
                          "\"card_number\":\"%s\"}", number_json);
}

/* Every copy of a card number the bank makes (decoding the request, keeping
 * its digits, the card network's message and its bytes) is wiped before it
 * is freed: run under onepin-test-freewatch, which searches every freed
 * block. What libsoup and GIO copy on their own (the raw request as read,
 * the message as GIO hands it to the socket) is out of the bank's reach:
 * the raw request holds neither text watched here, and the rest is named. */
static void
test_card_numbers_wiped (void)
{
  g_autofree char *dir = g_dir_make_tmp ("onepin-freewatch-XXXXXX", NULL);
  g_autofree char *report_path = g_build_filename (dir, "report", NULL);
  g_autofree char *onepin = ot_random_card_number ("9420");
  g_autofree char *onepin_typed = NULL;
  g_autofree char *sandbox_typed = NULL;
  g_autofree char *onepin_json = card_number_json (onepin, &onepin_typed);
  g_autofree char *sandbox_json = card_number_json (OT_BANK_CARD_APPROVE, &sandbox_typed);
  g_autofree char *preload = g_strconcat ("LD_PRELOAD=",
                                          g_getenv ("ONEPIN_TEST_FREEWATCH_MODULE"), NULL);
  g_autofree char *watch = g_strjoin ("|", onepin, onepin_typed, OT_BANK_CARD_APPROVE,
                                      sandbox_typed, NULL);
  g_autofree char *needles = g_strconcat ("ONEPIN_FREEWATCH=", watch, NULL);
  g_autofree char *report_env = g_strconcat ("ONEPIN_FREEWATCH_REPORT=", report_path, NULL);
  const char *env[] = { preload, needles, report_env, NULL };
  g_autofree char *onepin_pay = payment_body (onepin_json, 4000, TRUE);
  g_autofree char *sandbox_pay = payment_body (sandbox_json, 3000, TRUE);
  g_autofree char *charge = charge_body (sandbox_json);
  g_autoptr(OtResponse) paid = NULL;
  g_autoptr(OtResponse) sandbox_paid = NULL;
  g_autoptr(OtResponse) charged = NULL;
  g_autofree char *report = NULL;
  g_auto(GStrv) lines = NULL;
  guint residue = 0;

  if (g_getenv ("ONEPIN_TEST_FREEWATCH_MODULE") == NULL)
    {
      /* A sanitizer build: the normal pass runs this. */
      g_test_skip ("free () belongs to the sanitizer here");
      return;
    }
  acquirer_start_with_env (env);
  paid = acquirer_call ("POST", "/v1/acquirer/payments", "wiped-1", onepin_pay);
  ot_assert_status (paid, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (paid), "network"), ==, "onepin");
  sandbox_paid = acquirer_call ("POST", "/v1/acquirer/payments", "wiped-2", sandbox_pay);
  ot_assert_status (sandbox_paid, 200);
  g_assert_cmpstr (ot_json_string (ot_response_object (sandbox_paid), "network"), ==, "sandbox");
  charged = acquirer_call_finish (bank_call_start (ot_bank_api_key (acquirer), "POST",
                                                   "/v1/charges", "wiped-3", charge));
  ot_assert_status (charged, 200);
  /* What the bank still holds is freed as it stops. */
  acquirer_stop ();

  g_assert_true (g_file_get_contents (report_path, &report, NULL, NULL));
  g_assert_true (g_str_has_prefix (report, "onepin-freewatch: watching 4\n"));
  lines = g_strsplit (report, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (!g_str_has_prefix (lines[i], "onepin-freewatch: secret "))
        continue;
      if (strstr (lines[i], "/libsoup-3.0.so") == NULL &&
          strstr (lines[i], "/libgio-2.0.so") == NULL)
        g_error ("a card number the bank copied was freed unwiped:\n%s", report);
      g_test_message ("out of reach: %s", lines[i]);
      residue++;
    }
  g_test_message ("%u copies freed by libsoup and GIO", residue);
  g_unlink (report_path);
  g_rmdir (dir);
}

/* ---- the bank's own API ------------------------------------------------- */

static void
test_api_errors (void)
{
  const char *card = "{\"method\": \"card\", \"amount\": 1000, \"currency\": \"krw\", "
                     "\"card_number\": \"" OT_BANK_CARD_DECLINE "\", \"card_expiry\": \"12/30\", "
                     "\"card_cvc\": \"123\"}";
  g_autoptr(OtResponse) no_key = ot_bank_request (bank, "POST", "/v1/charges", NULL, "k", card);
  g_autoptr(OtResponse) sms_key = ot_bank_request (bank, "POST", "/v1/charges",
                                                   ot_bank_sms_key (bank), "k", card);
  g_autoptr(OtResponse) no_idem = ot_bank_request (bank, "POST", "/v1/charges",
                                                   ot_bank_api_key (bank), NULL, card);
  g_autoptr(OtResponse) bad = ot_bank_request (bank, "POST", "/v1/charges", ot_bank_api_key (bank),
                                               "bad", "{\"method\": \"card\", \"amount\": 5.0}");
  g_autoptr(OtResponse) unknown = ot_bank_request (bank, "POST", "/v1/charges",
                                                   ot_bank_api_key (bank), "unk",
                                                   "{\"method\": \"card\", \"amount\": 1, "
                                                   "\"currency\": \"krw\", \"pin\": \"1\"}");
  g_autoptr(OtResponse) declined = ot_bank_request (bank, "POST", "/v1/charges",
                                                    ot_bank_api_key (bank), "dec", card);
  g_autoptr(OtResponse) replayed = ot_bank_request (bank, "POST", "/v1/charges",
                                                    ot_bank_api_key (bank), "dec", card);
  g_autoptr(OtResponse) garbage = ot_bank_request (bank, "POST", "/v1/charges",
                                                   ot_bank_api_key (bank), "garbage", "[1,");
  g_autoptr(OtResponse) missing = ot_bank_request (bank, "GET", "/v1/nothing", NULL, NULL, NULL);
  /* A callback URL without a host could never be delivered to. */
  g_autoptr(OtResponse) nowhere = ot_bank_request (bank, "POST", "/v1/charges",
                                                   ot_bank_api_key (bank), "nowhere",
                                                   "{\"method\": \"transfer\", \"amount\": 100, "
                                                   "\"currency\": \"krw\", "
                                                   "\"callback_url\": \"http:///deposits\"}");

  ot_assert_error (no_key, 401, "authentication_error", "unauthorized");
  ot_assert_error (sms_key, 401, "authentication_error", "unauthorized");
  ot_assert_error (no_idem, 400, "invalid_request_error", "parameter_missing");
  ot_assert_error (bad, 400, "invalid_request_error", NULL);
  ot_assert_error (unknown, 400, "invalid_request_error", "parameter_unknown");
  ot_assert_error (declined, 402, "card_error", "card_declined");
  g_assert_cmpstr (declined->body, ==, replayed->body);
  g_assert_cmpstr (ot_response_header (replayed, "Idempotent-Replayed"), ==, "true");
  ot_assert_error (garbage, 400, "invalid_request_error", "body_invalid");
  ot_assert_error (missing, 404, "invalid_request_error", "resource_missing");
  ot_assert_error (nowhere, 400, "invalid_request_error", "parameter_invalid");
}

/* Opens a connection to the bank and sends @head, then @body_len bytes of
 * body (in chunked encoding with @chunked); returns what came back within
 * @seconds, the response's head and as much body as arrived. */
static char *
raw_exchange (const char *head,
              gsize       body_len,
              gboolean    chunked,
              guint       seconds)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) answer = g_string_new (NULL);
  g_autoptr(GUri) uri = g_uri_parse (ot_bank_url (bank), G_URI_FLAGS_NONE, NULL);
  g_autofree char *block = g_strnfill (1024 * 1024, ' ');
  GOutputStream *out;
  GSocket *socket;
  gint64 deadline;

  connection = g_socket_client_connect_to_host (client, g_uri_get_host (uri),
                                                g_uri_get_port (uri), NULL, &error);
  g_assert_no_error (error);
  out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_assert_true (g_output_stream_write_all (out, head, strlen (head), NULL, NULL, &error));
  for (gsize sent = 0; sent < body_len; sent += 1024 * 1024)
    {
      gsize n = MIN (body_len - sent, 1024 * 1024);
      g_autofree char *size = g_strdup_printf ("%" G_GSIZE_MODIFIER "x\r\n", n);

      if (chunked)
        g_output_stream_write_all (out, size, strlen (size), NULL, NULL, &error);
      g_output_stream_write_all (out, block, n, NULL, NULL, &error);
      if (chunked)
        g_output_stream_write_all (out, "\r\n", 2, NULL, NULL, &error);
      g_assert_no_error (error);
    }
  if (chunked)
    g_assert_true (g_output_stream_write_all (out, "0\r\n\r\n", 5, NULL, NULL, &error));

  socket = g_socket_connection_get_socket (connection);
  g_socket_set_blocking (socket, FALSE);
  deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline && strstr (answer->str, "\r\n\r\n{") == NULL)
    {
      char buf[4096];
      gssize n = g_socket_receive (socket, buf, sizeof buf, NULL, NULL);

      if (n == 0)
        break;
      if (n > 0)
        g_string_append_len (answer, buf, n);
      else
        g_usleep (10000);
    }
  g_usleep (100000);
  while (TRUE)
    {
      char buf[4096];
      gssize n = g_socket_receive (socket, buf, sizeof buf, NULL, NULL);

      if (n <= 0)
        break;
      g_string_append_len (answer, buf, n);
    }
  return g_string_free (g_steal_pointer (&answer), FALSE);
}

static void
assert_too_large (const char *answer)
{
  if (!g_str_has_prefix (answer, "HTTP/1.1 413 ") ||
      strstr (answer, "\"code\":\"body_too_large\"") == NULL)
    g_error ("expected a 413 body_too_large, got: %.300s", answer);
}

/* A body larger than the bank takes is refused, and never held in memory
 * on its way in: declared too long, of unknown length, or waiting for
 * "100 Continue" (answered at once, before any body). */
static void
test_api_body_limits (void)
{
  const gsize body_len = 48 * 1024 * 1024;
  g_autofree char *declared = g_strdup_printf ("POST /v1/charges HTTP/1.1\r\nHost: bank\r\n"
                                               "Authorization: Bearer %s\r\n"
                                               "Idempotency-Key: huge\r\n"
                                               "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n",
                                               ot_bank_api_key (bank), body_len);
  g_autofree char *chunked = g_strdup_printf ("POST /v1/sms HTTP/1.1\r\nHost: bank\r\n"
                                              "Authorization: Bearer %s\r\n"
                                              "Transfer-Encoding: chunked\r\n\r\n",
                                              ot_bank_sms_key (bank));
  g_autofree char *waiting = g_strdup_printf ("POST /v1/charges HTTP/1.1\r\nHost: bank\r\n"
                                              "Authorization: Bearer %s\r\n"
                                              "Idempotency-Key: waits\r\nExpect: 100-continue\r\n"
                                              "Content-Length: 10000000000\r\n\r\n",
                                              ot_bank_api_key (bank));
  g_autofree char *negative = g_strdup_printf ("POST /v1/sms HTTP/1.1\r\nHost: bank\r\n"
                                               "Authorization: Bearer %s\r\n"
                                               "Content-Length: -5\r\n\r\n{}",
                                               ot_bank_sms_key (bank));
  g_autofree char *spaces = g_strnfill (70 * 1024, ' ');
  gint64 before = ot_peak_kib (ot_bank_pid (bank));
  g_autofree char *answer = NULL;
  g_autoptr(OtResponse) big = NULL;

  answer = raw_exchange (declared, body_len, FALSE, 20);
  assert_too_large (answer);
  g_clear_pointer (&answer, g_free);
  answer = raw_exchange (chunked, body_len, TRUE, 20);
  assert_too_large (answer);
  g_clear_pointer (&answer, g_free);
  if (ot_peak_kib_meaningful ())
    g_assert_cmpint (ot_peak_kib (ot_bank_pid (bank)) - before, <, 16 * 1024);

  answer = raw_exchange (waiting, 0, FALSE, 3);
  assert_too_large (answer);
  g_clear_pointer (&answer, g_free);
  /* libsoup would read a negative length as no body at all. */
  answer = raw_exchange (negative, 0, FALSE, 3);
  if (!g_str_has_prefix (answer, "HTTP/1.1 400 ") || !strstr (answer, "\"body_invalid\""))
    g_error ("expected a 400 body_invalid, got: %.300s", answer);
  big = ot_bank_request (bank, "POST", "/v1/sms", ot_bank_sms_key (bank), NULL, spaces);
  ot_assert_status (big, 413);
  g_assert_cmpstr (ot_json_string (ot_json_object (ot_response_object (big), "error"), "code"),
                   ==, "body_too_large");
}

/* None of @texts (NULL-terminated) is in the bank's database, its
 * write-ahead log or its log. memmem (), not g_strstr_len (), which stops
 * at the first NUL: the database's 17th byte. */
static void
assert_bank_keeps_none (const char * const *texts)
{
  const char *files[] = { "bank.db", "bank.db-wal", "bank.log" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (ot_bank_data_dir (bank), files[i], NULL);
      g_autofree char *contents = NULL;
      gsize len = 0;

      if (!g_file_get_contents (path, &contents, &len, NULL))
        continue;
      for (guint j = 0; texts[j] != NULL; j++)
        if (memmem (contents, len, texts[j], strlen (texts[j])) != NULL)
          g_error ("%s holds %s", files[i], texts[j]);
    }
}

/* The bank keeps no card number or password, in its files or its log. */
static void
test_no_secrets_kept (void)
{
  assert_bank_keeps_none ((const char *[]) { OT_BANK_CARD_APPROVE, OT_BANK_CARD_SLOW,
                                             "\"account_password\"", NULL });
}

/* Neither a card-like number, nor a second one as its value. */
#define SECRET_NAME  "4556737586899855"
#define SECRET_VALUE "4929503810245672"
#define SECRET_MEMBER "\"" SECRET_NAME "\": \"" SECRET_VALUE "\""
#define MERCHANT "\"merchant\": {\"id\": \"echo-shop\", \"name\": \"Echo Shop\", " \
                 "\"category\": \"5999\""

/* A sandbox card's payment at the acquirer, authorized or captured. */
static char *
sandbox_payment (gboolean capture)
{
  g_autofree char *key = new_key ("echo-pay");
  g_autofree char *body = g_strdup_printf ("{\"amount\": 1000, \"currency\": \"krw\", "
                                           "\"capture\": %s, \"card_number\": \""
                                           OT_BANK_CARD_APPROVE "\", \"card_expiry\": \""
                                           EXPIRY "\", \"card_cvc\": \"123\", " MERCHANT "}}",
                                           capture ? "true" : "false");
  g_autoptr(OtResponse) r = ot_bank_request (bank, "POST", "/v1/acquirer/payments",
                                             ot_bank_acquirer_key (bank), key, body);

  ot_assert_status (r, 200);
  return g_strdup (ot_json_string (ot_response_object (r), "id"));
}

/* A member the bank does not know is the client's own: a card number or a
 * password sent under a wrong name, or as the name. Every route refuses it
 * without repeating either, in the answer (nor its replay: the answer is
 * kept under the key), its log or its files. Only a member of a known
 * object is placed, by that object's name. */
static void
test_unknown_member_not_echoed (void)
{
  g_autofree char *authorized = sandbox_payment (FALSE);
  g_autofree char *captured = sandbox_payment (TRUE);
  g_autofree char *capture = g_strdup_printf ("/v1/acquirer/payments/%s/capture", authorized);
  g_autofree char *cancel = g_strdup_printf ("/v1/acquirer/payments/%s/cancel", authorized);
  g_autofree char *refund = g_strdup_printf ("/v1/acquirer/payments/%s/refund", captured);
  g_autofree char *reconcile = g_strdup_printf ("/v1/acquirer/payments/%s/reconciliation",
                                                authorized);
  const struct
  {
    const char *path;
    const char *bearer;
    const char *body;
    const char *param;
  } cases[] = {
    { "/v1/charges", ot_bank_api_key (bank),
      "{\"method\": \"card\", \"amount\": 1000, \"currency\": \"krw\", " SECRET_MEMBER "}" },
    { "/v1/charges", ot_bank_api_key (bank), "{" SECRET_MEMBER ", \"method\": 1}" },
    { "/v1/charges/void", ot_bank_api_key (bank), "{" SECRET_MEMBER "}" },
    { "/v1/virtual-accounts/79900000000000/deposit", NULL,
      "{\"amount\": 1000, " SECRET_MEMBER "}" },
    { "/v1/payouts", ot_bank_api_key (bank),
      "{\"amount\": 1000, \"currency\": \"krw\", \"bank_code\": \"990\", "
      "\"account_number\": \"" OT_BANK_ACCOUNT_POOR "\", " SECRET_MEMBER "}" },
    { "/v1/sms", ot_bank_sms_key (bank), "{\"to\": \"01012345678\", \"text\": \"x\", "
      SECRET_MEMBER "}" },
    { "/v1/acquirer/payments", ot_bank_acquirer_key (bank),
      "{\"amount\": 1000, \"currency\": \"krw\", \"card_number\": \"" OT_BANK_CARD_APPROVE
      "\", \"card_expiry\": \"" EXPIRY "\", \"card_cvc\": \"123\", " MERCHANT "}, "
      SECRET_MEMBER "}" },
    { "/v1/acquirer/payments", ot_bank_acquirer_key (bank),
      "{\"amount\": 1000, \"currency\": \"krw\", \"card_number\": \"" OT_BANK_CARD_APPROVE
      "\", \"card_expiry\": \"" EXPIRY "\", \"card_cvc\": \"123\", " MERCHANT ", "
      SECRET_MEMBER "}}", "merchant" },
    { capture, ot_bank_acquirer_key (bank), "{" SECRET_MEMBER "}" },
    { cancel, ot_bank_acquirer_key (bank), "{" SECRET_MEMBER "}" },
    { refund, ot_bank_acquirer_key (bank), "{\"amount\": 1, " SECRET_MEMBER "}" },
    { reconcile, ot_bank_operator_key (bank),
      "{\"outcome\": \"approved\", \"operator\": \"kim\", \"note\": \"n\", "
      "\"stan\": \"000001\", " SECRET_MEMBER "}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *key = new_key ("echo");
      g_autoptr(OtResponse) r = ot_bank_request (bank, "POST", cases[i].path, cases[i].bearer,
                                                 key, cases[i].body);
      g_autoptr(OtResponse) again = ot_bank_request (bank, "POST", cases[i].path,
                                                     cases[i].bearer, key, cases[i].body);
      JsonObject *error;

      g_test_message ("%s %s", cases[i].path, cases[i].body);
      ot_assert_error (r, 400, "invalid_request_error", "parameter_unknown");
      error = ot_json_object (ot_response_object (r), "error");
      if (cases[i].param == NULL)
        g_assert_false (json_object_has_member (error, "param"));
      else
        g_assert_cmpstr (ot_json_string (error, "param"), ==, cases[i].param);
      g_assert_cmpstr (again->body, ==, r->body);
      if (strstr (r->body, SECRET_NAME) != NULL || strstr (r->body, SECRET_VALUE) != NULL)
        g_error ("the bank repeated what it was sent: %s", r->body);
    }
  assert_bank_keeps_none ((const char *[]) { SECRET_NAME, SECRET_VALUE, NULL });
}

/* A charge's callback URL is the request's: a deposit's callback that
 * cannot be delivered is logged without it (GIO's error names the host).
 * On a bank of its own, which would go on trying. */
static void
test_callback_host_not_logged (void)
{
  OtBank *own = ot_bank_start (NULL);
  g_autoptr(OtResponse) pending = ot_bank_request (own, "POST", "/v1/charges",
                                                   ot_bank_api_key (own), "echo-transfer",
                                                   "{\"method\": \"transfer\", "
                                                   "\"amount\": 100, \"currency\": \"krw\", "
                                                   "\"callback_url\": \"http://" SECRET_NAME
                                                   ".invalid/deposits\"}");
  g_autofree char *path = NULL;
  g_autoptr(OtResponse) paid = NULL;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  g_autofree char *log = NULL;

  ot_assert_status (pending, 200);
  path = g_strdup_printf ("/v1/virtual-accounts/%s/deposit",
                          ot_json_string (ot_json_object (ot_response_object (pending),
                                                          "virtual_account"), "account"));
  paid = ot_bank_request (own, "POST", path, NULL, NULL, "{\"amount\": 100}");
  ot_assert_status (paid, 200);
  do
    {
      g_clear_pointer (&log, g_free);
      g_usleep (100 * 1000);
      g_assert_true (g_file_get_contents (ot_bank_log_path (own), &log, NULL, NULL));
    }
  while (strstr (log, "attempt 1 failed") == NULL && g_get_monotonic_time () < deadline);
  g_test_message ("%s", log);
  g_assert_nonnull (strstr (log, "attempt 1 failed"));
  g_assert_null (strstr (log, SECRET_NAME));
  ot_bank_stop (own);
}

/* A bank that repeats in its errors what it was sent, as onepin-bank did
 * with an unknown member's name; its 422's code is no code at all. */
static void
on_echoing_bank (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  gboolean get = g_str_equal (soup_server_message_get_method (msg), "GET");
  guint status = get ? 404 : g_str_has_suffix (path, "/void") ? 422 : 400;
  char *body = g_strdup_printf ("{\"error\": {\"type\": \"%s\", \"code\": \"%s\", "
                                "\"message\": \"Unknown parameter: " SECRET_NAME "\", "
                                "\"param\": \"" SECRET_NAME "\"}}",
                                status == 422 ? "idempotency_error" : "invalid_request_error",
                                status == 422 ? SECRET_VALUE : "parameter_unknown");

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, body,
                                    strlen (body));
}

/* The connector's errors, which its callers log, take the bank's code
 * (when it is one) and never its message or param. */
static void
test_connector_repeats_no_echo (void)
{
  g_autofree char *url = g_strconcat (receiver_url, "/echoing-bank", NULL);
  g_autoptr(GwConnector) c = NULL;
  GwChargeRequest request = card_request ("echo-charge", OT_BANK_CARD_APPROVE, 1000);
  const struct
  {
    const char *op;
    GQuark      domain;
    gint        code;
    const char *says;
  } expected[] = {
    { "charge", GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_INVALID, "parameter_unknown" },
    { "query", GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_NOT_FOUND, "parameter_unknown" },
    { "void", GW_CONNECTOR_ERROR, GW_CONNECTOR_ERROR_UNKNOWN, "no error code" },
  };

  soup_server_add_handler (receiver, "/echoing-bank", on_echoing_bank, NULL, NULL);
  c = connector_to (url, 5);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(GAsyncResult) slot = NULL;
      g_autoptr(GwChargeResult) result = NULL;
      g_autoptr(GError) error = NULL;

      if (i == 0)
        gw_connector_charge_async (c, &request, NULL, on_done, &slot);
      else if (i == 1)
        gw_connector_query_async (c, "echo-charge", NULL, on_done, &slot);
      else
        gw_connector_void_async (c, "echo-charge", NULL, on_done, &slot);
      wait_slot (&slot, 10);
      result = i == 0 ? gw_connector_charge_finish (c, slot, &error)
               : i == 1 ? gw_connector_query_finish (c, slot, &error)
               : gw_connector_void_finish (c, slot, &error);
      g_test_message ("%s: %s", expected[i].op, error ? error->message : "no error");
      g_assert_null (result);
      g_assert_error (error, expected[i].domain, expected[i].code);
      g_assert_nonnull (strstr (error->message, expected[i].says));
      g_assert_null (strstr (error->message, SECRET_NAME));
      g_assert_null (strstr (error->message, SECRET_VALUE));
    }
  soup_server_remove_handler (receiver, "/echoing-bank");
}

/* ---- the gateway's [bank] configuration ---------------------------------- */

/* Runs the gateway with @config, which must make it refuse to start (within
 * 10 s); returns its exit status and stderr. */
static int
gateway_refuses (const char  *config,
                 char       **err)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("onepin-gwcfg-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "gateway.conf", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  const char *argv[] = { "timeout", "10", g_getenv ("ONEPIN_GATEWAY"), "--data-dir", data,
                         "--listen", "127.0.0.1:0", "--config", path, NULL };
  int status = 0;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, config, -1, &error));
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               NULL, err, &status, &error));
  g_assert_no_error (error);
  g_unlink (path);
  g_rmdir (dir);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), !=, 124);   /* it started: it should not have */
  return WEXITSTATUS (status);
}

static void
test_gateway_config (void)
{
  g_autofree char *good = ot_bank_gateway_config (bank, 5, "/v1/bank/deposits");
  g_autofree char *no_files = g_strdup_printf ("[bank]\nurl=%s\n", ot_bank_url (bank));
  g_autofree char *missing = g_strdup_printf ("[bank]\nurl=%s\napi_key_file=/nonexistent/key\n"
                                              "callback_secret_file=%s\n", ot_bank_url (bank),
                                              ot_bank_callback_secret_path (bank));
  g_autofree char *timeout = g_strconcat (good, "timeout=0\n", NULL);
  g_autofree char *log = NULL;
  g_autofree char *err = NULL;
  OtGateway *gw;

  gw = ot_gateway_start (good, FALSE);
  g_assert_true (g_file_get_contents (ot_gateway_log_path (gw), &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "financial system: onepin-bank at"));
  g_assert_null (strstr (log, ot_bank_api_key (bank)));
  ot_gateway_stop (gw);

  g_assert_cmpint (gateway_refuses (no_files, &err), ==, 2);
  g_assert_nonnull (strstr (err, "api_key_file"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (gateway_refuses (missing, &err), ==, 1);
  g_assert_nonnull (strstr (err, "/nonexistent/key"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (gateway_refuses ("[bank]\nurl=ftp://bank\napi_key_file=a\n"
                                    "callback_secret_file=b\n", &err), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (gateway_refuses (timeout, &err), ==, 2);
}

/* SMS texts carry whole card numbers and every request the bearer key: the
 * [sms] url is held to the [bank] url's rule. */
static void
test_gateway_sms_url (void)
{
  g_autofree char *key_file = g_build_filename (ot_bank_data_dir (bank), "sms.key", NULL);
  g_autofree char *remote = g_strdup_printf ("[sms]\nurl=http://sms.example.com/send\n"
                                             "key_file=%s\n", key_file);
  g_autofree char *allowed = g_strconcat (remote, "allow_http=true\n", NULL);
  g_autofree char *https = g_strdup_printf ("[sms]\nurl=https://sms.example.com/send\n"
                                            "key_file=%s\n", key_file);
  g_autofree char *loopback = g_strdup_printf ("[sms]\nurl=%s/v1/sms\nkey_file=%s\n",
                                               ot_bank_url (bank), key_file);
  const char *started[] = { allowed, https, loopback };
  g_autofree char *with_user = g_strdup_printf ("[sms]\nurl=https://u:Pw-9f3k@sms.example.com/"
                                                "send\nkey_file=%s\n", key_file);
  g_autofree char *err = NULL;

  g_assert_cmpint (gateway_refuses (remote, &err), ==, 2);
  g_assert_nonnull (strstr (err, "[sms] url must be an https URL"));
  g_clear_pointer (&err, g_free);
  /* The refusal does not repeat the URL, nor the password in it. */
  g_assert_cmpint (gateway_refuses (with_user, &err), ==, 2);
  g_assert_nonnull (strstr (err, "[sms] url must be an https URL"));
  g_assert_null (strstr (err, "Pw-9f3k"));
  g_assert_null (strstr (err, "sms.example.com"));
  for (guint i = 0; i < G_N_ELEMENTS (started); i++)
    {
      g_test_message ("%s", started[i]);
      ot_gateway_stop (ot_gateway_start (started[i], FALSE));
    }
}

/* ---- the SMS sink ------------------------------------------------------- */

static void
test_sms (void)
{
  const char *sms_key = ot_bank_sms_key (bank);
  g_autoptr(OtResponse) first = ot_bank_request (bank, "POST", "/v1/sms", sms_key, NULL,
                                                 "{\"to\": \"010-1234-5678\", "
                                                 "\"text\": \"[onepin] 첫 번째\"}");
  g_autoptr(OtResponse) second = ot_bank_request (bank, "POST", "/v1/sms", sms_key, "sms-2",
                                                  "{\"to\": \"01012345678\", "
                                                  "\"text\": \"[onepin] second\"}");
  g_autoptr(OtResponse) repeat = ot_bank_request (bank, "POST", "/v1/sms", sms_key, "sms-2",
                                                  "{\"to\": \"01012345678\", "
                                                  "\"text\": \"[onepin] second\"}");
  g_autoptr(OtResponse) other = ot_bank_request (bank, "POST", "/v1/sms", sms_key, NULL,
                                                 "{\"to\": \"010-9999-0000\", "
                                                 "\"text\": \"someone else\"}");
  g_autoptr(OtResponse) list = ot_bank_request (bank, "GET", "/v1/sms?to=010-1234-5678",
                                                sms_key, NULL, NULL);
  g_autoptr(OtResponse) api_key = ot_bank_request (bank, "GET", "/v1/sms?to=01012345678",
                                                   ot_bank_api_key (bank), NULL, NULL);
  g_autoptr(OtResponse) bad = ot_bank_request (bank, "POST", "/v1/sms", sms_key, NULL,
                                               "{\"to\": \"call me\", \"text\": \"x\"}");
  JsonArray *data;
  JsonObject *newest;

  ot_assert_status (first, 202);
  g_assert_true (g_str_has_prefix (ot_json_string (ot_response_object (first), "id"), "sms_"));
  ot_assert_status (second, 202);
  g_assert_cmpstr (second->body, ==, repeat->body);
  ot_assert_status (other, 202);
  ot_assert_status (list, 200);
  data = ot_json_array (ot_response_object (list), "data");
  g_assert_cmpuint (json_array_get_length (data), ==, 2);
  newest = json_array_get_object_element (data, 0);
  g_assert_cmpstr (ot_json_string (newest, "text"), ==, "[onepin] second");
  g_assert_cmpstr (ot_json_string (newest, "to"), ==, "01012345678");
  g_assert_cmpstr (ot_json_string (json_array_get_object_element (data, 1), "text"), ==,
                   "[onepin] 첫 번째");
  ot_assert_error (api_key, 401, "authentication_error", "unauthorized");
  ot_assert_error (bad, 400, "invalid_request_error", "parameter_invalid");
}

/* What proves a request never left: a failure to connect, never an error
 * while its reply was read (the bank may have acted by then). */
static void
test_transport_errors (void)
{
  static const struct
  {
    GQuark   domain;
    gint     code;
    gboolean reading;
    gboolean never_sent;
  } cases[] = {
    { 0, G_IO_ERROR_CONNECTION_REFUSED, FALSE, TRUE },
    { 0, G_IO_ERROR_HOST_UNREACHABLE, FALSE, TRUE },
    { 1, G_TLS_ERROR_BAD_CERTIFICATE, FALSE, TRUE },
    { 1, G_TLS_ERROR_HANDSHAKE, FALSE, TRUE },
    { 1, G_TLS_ERROR_EOF, FALSE, FALSE },
    { 1, G_TLS_ERROR_MISC, FALSE, FALSE },
    { 1, G_TLS_ERROR_EOF, TRUE, FALSE },
    { 1, G_TLS_ERROR_BAD_CERTIFICATE, TRUE, FALSE },
    { 0, G_IO_ERROR_CONNECTION_REFUSED, TRUE, FALSE },
    { 0, G_IO_ERROR_CONNECTION_CLOSED, FALSE, FALSE },
    { 0, G_IO_ERROR_TIMED_OUT, FALSE, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = g_error_new_literal (cases[i].domain ? G_TLS_ERROR : G_IO_ERROR,
                                                     cases[i].code, "test");

      g_test_message ("case %u", i);
      g_assert_true (gw_connector_bank_never_sent (error, cases[i].reading) ==
                     cases[i].never_sent);
    }
}

/* The bank's own URLs are checked alike: an issuer URL without a host is
 * refused at start. */
static void
test_issuer_url_checked (void)
{
  g_autofree char *dir = g_dir_make_tmp ("onepin-bank-url-XXXXXX", NULL);
  /* timeout(1): a bank that took the URL would serve on and on. */
  const char *argv[] = { "timeout", "10", g_getenv ("ONEPIN_BANK"), "--data-dir", dir,
                         "--listen", "127.0.0.1:0", "--issuer-url", "http://", NULL };
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_nonnull (argv[2]);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                               NULL, NULL, &err, &status, &error));
  g_assert_no_error (error);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "--issuer-url"));
  ot_rm_rf (dir);
}

/* Runs a bank on @dir with the options @args (NULL-terminated), which
 * must make it refuse to start within 10 s; returns its stderr. */
static char *
bank_refuses (const char         *dir,
              const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *url = g_build_filename (dir, "bank.url", NULL);
  g_autoptr(GError) error = NULL;
  char *err = NULL;
  int status = 0;

  g_assert_nonnull (g_getenv ("ONEPIN_BANK"));
  /* timeout(1): a bank that took the options would serve on and on. */
  g_ptr_array_add (argv, (char *) "timeout");
  g_ptr_array_add (argv, (char *) "10");
  g_ptr_array_add (argv, (char *) g_getenv ("ONEPIN_BANK"));
  g_ptr_array_add (argv, (char *) "--data-dir");
  g_ptr_array_add (argv, (char *) dir);
  g_ptr_array_add (argv, (char *) "--listen");
  g_ptr_array_add (argv, (char *) "127.0.0.1:0");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s", err);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), !=, 0);
  g_assert_cmpint (WEXITSTATUS (status), !=, 124);   /* it started: it should not have */
  g_assert_false (g_file_test (url, G_FILE_TEST_EXISTS));
  return err;
}

/* @err names the keys @one and @other, and says how they are the same;
 * and shows none of the bank's secrets in @dir. */
static void
assert_keys_refused (const char *err,
                     const char *dir,
                     const char *one,
                     const char *other,
                     const char *how)
{
  static const char * const files[] = {
    "api.key", "sms.key", "acquirer.key", "operator.key", "callback.secret",
    "network.secret",
  };

  g_assert_nonnull (strstr (err, "cannot start"));
  g_assert_nonnull (strstr (err, one));
  g_assert_nonnull (strstr (err, other));
  g_assert_nonnull (strstr (err, how));
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (dir, files[i], NULL);
      g_autofree char *secret = NULL;

      if (!g_file_get_contents (path, &secret, NULL, NULL))
        continue;
      g_strstrip (secret);
      g_assert_null (strstr (err, secret));
      /* Nor the random part alone. */
      g_assert_null (strstr (err, strchr (secret, '_') + 1));
    }
}

/* Each of the bank's keys opens routes of its own: an operator key that
 * is the acquirer key's file (by its path, or a hard link to it), or that
 * holds the same key (a copy), would let every mall close
 * reconciliations; an acquirer key that is the API key would let them
 * charge as the gateway. The bank refuses to start, naming the two keys
 * and never what they hold. The first refusal is of a first start: the
 * files did not exist, and the one the bank created is the two keys'. */
/* Every file of the bank's data dir is its owner's alone, whatever the
 * umask it was started with: bank.db holds the accounts' balances and
 * their card numbers' hashes, and SQLite gives the -wal and -shm the
 * database's mode. */
static void
test_data_dir_modes (void)
{
  mode_t umask_before = umask (022);
  OtBank *b2 = ot_bank_start (NULL);
  g_autoptr(GDir) dir = NULL;
  const char *name;
  guint databases = 0;

  umask (umask_before);
  dir = g_dir_open (ot_bank_data_dir (b2), 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (ot_bank_data_dir (b2), name, NULL);
      GStatBuf st;

      /* The test's own log of the bank's output. */
      if (g_str_equal (name, "bank.log"))
        continue;
      g_assert_cmpint (g_lstat (path, &st), ==, 0);
      g_test_message ("%s: %o", name, (guint) (st.st_mode & 07777));
      g_assert_true (S_ISREG (st.st_mode));
      g_assert_cmpint (st.st_mode & 07777, ==, 0600);
      databases += g_str_has_prefix (name, "bank.db");
    }
  g_assert_cmpuint (databases, >=, 2);
  ot_bank_stop (b2);
}

static void
test_keys_distinct (void)
{
  g_autofree char *dir = g_dir_make_tmp ("onepin-bank-keys-XXXXXX", NULL);
  g_autofree char *acquirer_key = g_build_filename (dir, "acquirer.key", NULL);
  g_autofree char *api_key = g_build_filename (dir, "api.key", NULL);
  g_autofree char *hard_link = g_build_filename (dir, "link.key", NULL);
  g_autofree char *copy = g_build_filename (dir, "copy.key", NULL);
  g_autofree char *secret = NULL;
  g_autofree char *err = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;

  err = bank_refuses (dir, (const char *[]) { "--operator-key-file", acquirer_key, NULL });
  assert_keys_refused (err, dir, "acquirer key", "operator key", "same file");
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (link (acquirer_key, hard_link), ==, 0);
  err = bank_refuses (dir, (const char *[]) { "--operator-key-file", hard_link, NULL });
  assert_keys_refused (err, dir, "acquirer key", "operator key", "same file");
  g_clear_pointer (&err, g_free);

  g_assert_true (g_file_get_contents (acquirer_key, &secret, &len, &error));
  g_assert_true (g_file_set_contents_full (copy, secret, len, G_FILE_SET_CONTENTS_NONE, 0600,
                                           &error));
  g_assert_no_error (error);
  err = bank_refuses (dir, (const char *[]) { "--operator-key-file", copy, NULL });
  assert_keys_refused (err, dir, "acquirer key", "operator key", "same key");
  g_clear_pointer (&err, g_free);

  err = bank_refuses (dir, (const char *[]) { "--acquirer-key-file", api_key, NULL });
  assert_keys_refused (err, dir, "API key", "acquirer key", "same file");
  g_clear_pointer (&err, g_free);

  /* the signing secrets too: a mall holding the acquirer key must not sign
   * the network's messages, nor the gateway's API key the callbacks */
  err = bank_refuses (dir, (const char *[]) { "--network-secret-file", acquirer_key, NULL });
  assert_keys_refused (err, dir, "acquirer key", "network secret", "same file");
  g_clear_pointer (&err, g_free);

  g_clear_pointer (&secret, g_free);
  g_assert_true (g_file_get_contents (api_key, &secret, &len, &error));
  g_assert_true (g_file_set_contents_full (copy, secret, len, G_FILE_SET_CONTENTS_NONE, 0600,
                                           &error));
  g_assert_no_error (error);
  err = bank_refuses (dir, (const char *[]) { "--callback-secret-file", copy, NULL });
  assert_keys_refused (err, dir, "API key", "callback secret", "same key");
  ot_rm_rf (dir);
}

/* bank.key is what finds the cards and checks the passwords in bank.db:
 * missing, it is not made anew; another one is refused, by the value the
 * database recorded, and by the first test card in a database from before
 * that record. bank.db is left as it was. */
static void
test_key_file (void)
{
  OtBank *b2 = ot_bank_start (NULL);
  g_autofree char *dir = g_strdup (ot_bank_data_dir (b2));
  g_autofree char *key = g_build_filename (dir, "bank.key", NULL);
  g_autofree char *saved = g_build_filename (dir, "bank.key.saved", NULL);
  g_autofree char *db = g_build_filename (dir, "bank.db", NULL);
  g_autofree char *url = g_build_filename (dir, "bank.url", NULL);
  g_autofree char *other = g_malloc (32);
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;

  ot_bank_kill (b2);
  /* The killed bank's own; a refusal must not write one. */
  g_unlink (url);
  g_assert_cmpint (g_rename (key, saved), ==, 0);
  err = bank_refuses (dir, (const char *[]) { NULL });
  g_assert_nonnull (strstr (err, "is missing, but the database"));
  g_assert_false (g_file_test (key, G_FILE_TEST_EXISTS));
  g_clear_pointer (&err, g_free);

  memset (other, 0x5a, 32);
  g_assert_true (g_file_set_contents_full (key, other, 32, G_FILE_SET_CONTENTS_NONE, 0600,
                                           &error));
  g_assert_no_error (error);
  err = bank_refuses (dir, (const char *[]) { NULL });
  g_assert_nonnull (strstr (err, "not the one this database was written with"));
  g_clear_pointer (&err, g_free);

  /* From before the record: the first test card decides. */
  ot_sqlite_exec (db, "DELETE FROM meta WHERE name = 'key_check'");
  err = bank_refuses (dir, (const char *[]) { NULL });
  g_assert_nonnull (strstr (err, "not the one this database was written with"));

  /* Its own key: it starts again (and records the value again). */
  g_assert_cmpint (g_rename (saved, key), ==, 0);
  ot_bank_restart (b2);
  ot_bank_stop (b2);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *default_callback = NULL;
  const char *args[] = { "--slow-seconds", SLOW_SECONDS, "--callback-url", NULL, NULL };
  int status;

  g_test_init (&argc, &argv, NULL);
  g_assert_true (onepin_crypto_init (NULL));
  receiver_start ();
  soup_server_add_handler (receiver, "/v1/network/messages", on_issuer, NULL, NULL);
  default_callback = g_strconcat (receiver_url, "/default", NULL);
  args[3] = default_callback;
  bank = ot_bank_start (args);
  connector = connector_to (ot_bank_url (bank), CONNECTOR_TIMEOUT);
  acquirer_session = soup_session_new_with_options ("timeout", 30, NULL);

  g_test_add_func ("/bank/transport-errors", test_transport_errors);
  g_test_add_func ("/bank/issuer-url-checked", test_issuer_url_checked);
  g_test_add_func ("/bank/keys-distinct", test_keys_distinct);
  g_test_add_func ("/bank/key-file", test_key_file);
  g_test_add_func ("/bank/data-dir-modes", test_data_dir_modes);
  g_test_add_func ("/bank/card/approve", test_card_approve);
  g_test_add_func ("/bank/card/declines", test_card_declines);
  g_test_add_func ("/bank/card/timeout-then-query", test_card_timeout);
  g_test_add_func ("/bank/account/debit", test_account_debit);
  g_test_add_func ("/bank/idempotent-repeat", test_idempotent_repeat);
  g_test_add_func ("/bank/idempotent-concurrent", test_idempotent_concurrent);
  g_test_add_func ("/bank/query-unknown", test_query_unknown);
  g_test_add_func ("/bank/query-not-found-concurrent", test_query_not_found_concurrent);
  g_test_add_func ("/bank/slow-calls-hold-up-none", test_slow_calls_hold_up_none);
  g_test_add_func ("/bank/deadline-while-queued", test_deadline_while_queued);
  g_test_add_func ("/bank/shutdown-while-queued", test_shutdown_while_queued);
  g_test_add_func ("/bank/down", test_bank_down);
  g_test_add_func ("/bank/connection-cut", test_connection_cut);
  g_test_add_func ("/bank/trickle-deadline", test_trickle_deadline);
  g_test_add_func ("/bank/huge-reply", test_huge_reply);
  g_test_add_func ("/bank/cancelled", test_cancelled);
  g_test_add_func ("/bank/shutdown", test_shutdown);
  g_test_add_func ("/bank/void", test_void);
  g_test_add_func ("/bank/payout", test_payout);
  g_test_add_func ("/bank/transfer/deposit-callback", test_transfer_deposit);
  g_test_add_func ("/bank/transfer/void", test_transfer_void);
  g_test_add_func ("/bank/transfer/expires", test_transfer_expires);
  g_test_add_func ("/bank/acquirer/capture-cancel-race", test_acquirer_capture_cancel_race);
  g_test_add_func ("/bank/acquirer/refund-race", test_acquirer_refund_race);
  g_test_add_func ("/bank/acquirer/answer-lost", test_acquirer_answer_lost);
  g_test_add_func ("/bank/acquirer/capture-answer-lost", test_acquirer_capture_answer_lost);
  g_test_add_func ("/bank/acquirer/capture-given-up", test_acquirer_capture_given_up);
  g_test_add_func ("/bank/acquirer/capture-given-up-declined",
                   test_acquirer_capture_given_up_declined);
  g_test_add_func ("/bank/acquirer/refund-given-up", test_acquirer_refund_given_up);
  g_test_add_func ("/bank/acquirer/capture-cut-by-stop", test_acquirer_capture_cut_by_stop);
  g_test_add_func ("/bank/acquirer/capture-from-v3", test_acquirer_capture_from_v3);
  g_test_add_func ("/bank/acquirer/reconciling-from-v5", test_acquirer_reconciling_from_v5);
  g_test_add_func ("/bank/acquirer/resend-gives-up", test_acquirer_resend_gives_up);
  g_test_add_func ("/bank/acquirer/resend-duplicate", test_acquirer_resend_duplicate);
  g_test_add_func ("/bank/acquirer/reconcile-approved", test_acquirer_reconcile_approved);
  g_test_add_func ("/bank/acquirer/reconcile-declined", test_acquirer_reconcile_declined);
  g_test_add_func ("/bank/acquirer/reconcile-refused", test_acquirer_reconcile_refused);
  g_test_add_func ("/bank/acquirer/reconcile-too-early", test_acquirer_reconcile_too_early);
  g_test_add_func ("/bank/acquirer/reconcile-stale-retry", test_acquirer_reconcile_stale_retry);
  g_test_add_func ("/bank/acquirer/reconcile-late-agreeing",
                   test_acquirer_reconcile_late_agreeing);
  g_test_add_func ("/bank/acquirer/reconcile-late-disagreeing",
                   test_acquirer_reconcile_late_disagreeing);
  g_test_add_func ("/bank/acquirer/capture-issuer-stopping",
                   test_acquirer_capture_issuer_stopping);
  g_test_add_func ("/bank/acquirer/reversal-issuer-stopping",
                   test_acquirer_reversal_issuer_stopping);
  g_test_add_func ("/bank/api/errors", test_api_errors);
  g_test_add_func ("/bank/api/body-limits", test_api_body_limits);
  g_test_add_func ("/bank/sms", test_sms);
  g_test_add_func ("/bank/gateway/config", test_gateway_config);
  g_test_add_func ("/bank/gateway/sms-url", test_gateway_sms_url);
  g_test_add_func ("/bank/secrets/card-numbers-wiped", test_card_numbers_wiped);
  g_test_add_func ("/bank/secrets/unknown-member-not-echoed", test_unknown_member_not_echoed);
  g_test_add_func ("/bank/secrets/callback-host-not-logged", test_callback_host_not_logged);
  g_test_add_func ("/bank/secrets/connector-repeats-no-echo", test_connector_repeats_no_echo);
  /* Last, after every test put card numbers and passwords through. */
  g_test_add_func ("/bank/secrets/none-kept", test_no_secrets_kept);
  status = g_test_run ();

  g_clear_object (&connector);
  g_clear_object (&acquirer_session);
  ot_bank_stop (bank);
  g_clear_object (&receiver);
  g_clear_pointer (&received, g_ptr_array_unref);
  g_free (receiver_url);
  return status;
}
