/* gw-store-sqlite-keycheck.c: the database knows its key file
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every card number in the database is sealed, and every password checked,
 * with keys derived from secret.key, which is not in the database. Started
 * with another key file (a restore that missed it, a wrong path in the
 * config), the gateway would look up no card, refuse every password, count
 * those refusals towards lockouts, and let migrations that re-hash sealed
 * data keep the old hashes. So before anything is written, the key is
 * checked against the database:
 *
 * - key_check holds HMAC(lookup key, "onepin key check v1"), written by
 *   migration 023 itself (gw_key_check_value) so that no database has the
 *   table without the row: equal in constant time, or the start fails; a
 *   missing row fails too;
 * - a database from before 023 is checked by opening sealed data with the
 *   seal key (AES-GCM fails on any other key): one row of every kind of
 *   sealed data it holds (sealed_samples), each of which must open. With
 *   none of them there is nothing sealed the key could have to open, and
 *   023 records the key it starts with.
 *
 * The value tells nothing of the key: it is one MAC of a public text.
 */
#include "gw-store-sqlite-private.h"

#include <string.h>

#define CHECK_TEXT "onepin key check v1"

static gboolean
wrong_key (GError **error)
{
  g_set_error (error, GW_STORE_ERROR, GW_STORE_ERROR_WRONG_KEY,
               "The key file is not the one this database was written with: restore the "
               "database's own secret.key (no card number or password in it can be used "
               "without it)");
  return FALSE;
}

static gboolean
table_exists (sqlite3    *db,
              const char *name)
{
  sqlite3_stmt *stmt = NULL;
  gboolean found = FALSE;

  if (sqlite3_prepare_v2 (db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                          -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
      found = sqlite3_step (stmt) == SQLITE_ROW;
    }
  sqlite3_finalize (stmt);
  return found;
}

/* Runs @sql, which selects at most one row; calls @func on it and sets
 * @found. No row: TRUE without a call. */
static gboolean
select_one (sqlite3     *db,
            const char  *sql,
            gboolean   (*func) (sqlite3_stmt *, OnepinKey *, GError **),
            OnepinKey   *key,
            gboolean    *found,
            GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok = TRUE;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  *found = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW)
    ok = func (stmt, key, error);
  else if (rc != SQLITE_DONE)
    {
      g_set_error (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED, "sqlite: %s",
                   sqlite3_errmsg (db));
      ok = FALSE;
    }
  sqlite3_finalize (stmt);
  return ok;
}

void
gw_sqlite_key_check_value (OnepinKey *lookup_key,
                           guint8     out[32])
{
  onepin_key_hmac (lookup_key, CHECK_TEXT, strlen (CHECK_TEXT), out);
}

static gboolean
compare_check (sqlite3_stmt  *stmt,
               OnepinKey     *lookup_key,
               GError       **error)
{
  guint8 expected[32];
  gboolean same;

  gw_sqlite_key_check_value (lookup_key, expected);
  same = sqlite3_column_bytes (stmt, 0) == sizeof expected &&
         onepin_crypto_equal (sqlite3_column_blob (stmt, 0), expected, sizeof expected);
  return same || wrong_key (error);
}

/* Whether the seal key opens a row of (sealed, associated data). The
 * sealed data is base64 text when @base64. */
static gboolean
opens (sqlite3_stmt *stmt,
       gboolean      base64,
       OnepinKey    *seal_key)
{
  g_autofree guchar *decoded = NULL;
  const guint8 *sealed = sqlite3_column_blob (stmt, 0);
  gsize len = sqlite3_column_bytes (stmt, 0);
  g_autoptr(GBytes) plain = NULL;

  if (base64)
    {
      decoded = g_base64_decode ((const char *) sqlite3_column_text (stmt, 0), &len);
      sealed = decoded;
    }
  /* As a blob: an idempotency record's holds its key hash, bytes that may be NUL. */
  plain = onepin_key_open (seal_key, sealed, len, sqlite3_column_blob (stmt, 1),
                           sqlite3_column_bytes (stmt, 1), NULL);
  if (plain == NULL)
    return FALSE;
  /* the only reference: nobody else reads these bytes */
  explicit_bzero ((gpointer) g_bytes_get_data (plain, NULL), g_bytes_get_size (plain));
  return TRUE;
}

/* Sealed data of a database from before 023, one row of every kind, with
 * its associated data as the sealing code makes it: a card's number and
 * password hint with its id (gw-ledger.c), a merchant's webhook secret with
 * its id, its webhook URL with "webhook-url\n" id (gw-api-checkout.c), a
 * wallet user's profile with "wallet-profile\n" id and a funding source's
 * details with "wallet-funding\n" id "\n" user id (gw-wallet.c), an
 * order's buyer, a gift's details and a recharge's or payout's contact with
 * its id (gw-orders.c), a card's receipt contact with "card_contact\n" card
 * id (gw-receipts.c), a pool PIN with "pool id/seq" (gw-phone-sales.c), a
 * foreign PIN with "foreign/partner id/seq" (gw-foreign.c), an ARS
 * session's calling number with its id (gw-ars.c), a notification's payload
 * in base64 with "outbox\n" type (gw-notify.c: e-mails and SMS; merchant events
 * are not sealed) and a sealed idempotency answer with "idempotency\n" key hash
 * (gw-store-sqlite.c, from 018 on). A table or column a version did not
 * have is skipped. Keyed hashes (API keys, tokens, passwords) cannot be
 * checked without what they hash. */
static const struct
{
  const char *table;
  const char *sql;
  gboolean    base64;
} sealed_samples[] = {
  { "cards", "SELECT number_sealed, id FROM cards ORDER BY rowid LIMIT 1" },
  { "cards", "SELECT hint_sealed, id FROM cards WHERE hint_sealed IS NOT NULL"
             " ORDER BY rowid LIMIT 1" },
  { "merchants", "SELECT webhook_secret_sealed, id FROM merchants ORDER BY rowid LIMIT 1" },
  { "merchants", "SELECT webhook_secret_previous_sealed, id FROM merchants"
                 " WHERE webhook_secret_previous_sealed IS NOT NULL ORDER BY rowid LIMIT 1" },
  { "merchant_webhooks", "SELECT url_sealed, 'webhook-url' || char(10) || merchant_id"
                         " FROM merchant_webhooks LIMIT 1" },
  { "wallet_users", "SELECT profile_sealed, 'wallet-profile' || char(10) || id"
                    " FROM wallet_users ORDER BY rowid LIMIT 1" },
  { "wallet_funding_sources",
    "SELECT details_sealed, 'wallet-funding' || char(10) || id || char(10) || user_id"
    " FROM wallet_funding_sources WHERE details_sealed IS NOT NULL ORDER BY rowid LIMIT 1" },
  { "orders", "SELECT buyer_sealed, id FROM orders ORDER BY seq LIMIT 1" },
  { "gifts", "SELECT details_sealed, id FROM gifts ORDER BY rowid LIMIT 1" },
  { "recharges", "SELECT contact_sealed, id FROM recharges WHERE contact_sealed IS NOT NULL"
                 " ORDER BY rowid LIMIT 1" },
  { "payouts", "SELECT contact_sealed, id FROM payouts WHERE contact_sealed IS NOT NULL"
               " ORDER BY rowid LIMIT 1" },
  { "card_contacts", "SELECT contact_sealed, 'card_contact' || char(10) || card_id"
                     " FROM card_contacts LIMIT 1" },
  { "phone_pool_pins", "SELECT number_sealed, pool_id || '/' || seq FROM phone_pool_pins LIMIT 1" },
  { "foreign_pins", "SELECT pin_sealed, 'foreign/' || partner_id || '/' || seq"
                    " FROM foreign_pins WHERE pin_sealed IS NOT NULL LIMIT 1" },
  { "ars_sessions", "SELECT calling_sealed, id FROM ars_sessions"
                    " WHERE calling_sealed IS NOT NULL LIMIT 1" },
  { "outbox", "SELECT payload, 'outbox' || char(10) || type FROM outbox"
              " WHERE type IN ('email', 'sms') ORDER BY id LIMIT 1", TRUE },
  { "idempotency_keys", "SELECT body, CAST ('idempotency' || char(10) AS BLOB) || key_hash"
                        " FROM idempotency_keys WHERE sealed = 1 ORDER BY id LIMIT 1" },
};

/* AES-GCM opens nothing under another key, so one sample that opens
 * proves the key right, and samples found that all fail prove it wrong.
 * A kind that fails while another opens (a row damaged, or associated
 * data some older version made otherwise) is only warned about: refusing
 * would keep the database's own key out. */
static gboolean
check_sealed (sqlite3    *db,
              OnepinKey  *seal_key,
              GError    **error)
{
  g_autoptr(GString) failed = g_string_new (NULL);
  guint opened = 0;

  for (guint i = 0; i < G_N_ELEMENTS (sealed_samples); i++)
    {
      sqlite3_stmt *stmt = NULL;

      if (!table_exists (db, sealed_samples[i].table))
        continue;
      if (sqlite3_prepare_v2 (db, sealed_samples[i].sql, -1, &stmt, NULL) == SQLITE_OK &&
          sqlite3_step (stmt) == SQLITE_ROW)
        {
          if (opens (stmt, sealed_samples[i].base64, seal_key))
            opened++;
          else
            g_string_append_printf (failed, " %s", sealed_samples[i].table);
        }
      sqlite3_finalize (stmt);
    }
  if (opened == 0 && failed->len > 0)
    return wrong_key (error);
  if (failed->len > 0)
    g_warning ("Sealed data that the key file did not open, though it opened others:%s",
               failed->str);
  return TRUE;
}

gboolean
gw_sqlite_key_check (sqlite3    *db,
                     OnepinKey  *lookup_key,
                     OnepinKey  *seal_key,
                     GError    **error)
{
  if (table_exists (db, "key_check"))
    {
      gboolean found = FALSE;

      if (!select_one (db, "SELECT mac FROM key_check WHERE id = 1", compare_check, lookup_key,
                       &found, error))
        return FALSE;
      if (!found)
        g_set_error (error, GW_STORE_ERROR, GW_STORE_ERROR_WRONG_KEY,
                     "The database's key check record (key_check) is missing, so its key file "
                     "cannot be checked: restore the database from a backup");
      return found;
    }
  return check_sealed (db, seal_key, error);
}
