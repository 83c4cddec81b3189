/* gw-wallet-store-sqlite.c: the wallet's tables in SQLite
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gw-wallet-store-sqlite.h"

#include <string.h>

#include "gw-store-sqlite-private.h"

#define PREP(txn, sql, error) gw_sqlite_prepare ((txn), (sql), (error))
#define DONE(txn, stmt, error) gw_sqlite_step_done ((txn), (stmt), (error))
#define TEXT(stmt, idx, text) gw_sqlite_bind_text ((stmt), (idx), (text))
#define COPY(dest, stmt, col) gw_sqlite_copy_text ((dest), sizeof (dest), (stmt), (col))
#define BLOB(dest, stmt, col) gw_sqlite_copy_blob ((dest), sizeof (dest), (stmt), (col))

void
gw_wallet_user_clear (GwWalletUser *user)
{
  g_clear_pointer (&user->profile_sealed, g_bytes_unref);
}

void
gw_funding_source_clear (GwFundingSource *source)
{
  g_clear_pointer (&source->details_sealed, g_bytes_unref);
}

void
gw_funding_source_free (GwFundingSource *source)
{
  if (source == NULL)
    return;
  gw_funding_source_clear (source);
  g_free (source);
}

void
gw_wallet_charge_clear (GwWalletCharge *charge)
{
  g_clear_pointer (&charge->reference, g_free);
}

void
gw_wallet_charge_free (GwWalletCharge *charge)
{
  if (charge == NULL)
    return;
  gw_wallet_charge_clear (charge);
  g_free (charge);
}

/* Users */

#define USER_COLUMNS \
  "SELECT id, login_id, password_salt, password_hash, password_iterations, profile_sealed," \
  " receipt_channel, locale, COALESCE(card_id, ''), card_cvc_mac," \
  " created FROM wallet_users "

static void
read_user (sqlite3_stmt *stmt,
           gpointer      data)
{
  GwWalletUser *out = data;

  memset (out, 0, sizeof *out);
  COPY (out->id, stmt, 0);
  COPY (out->login_id, stmt, 1);
  BLOB (out->salt, stmt, 2);
  BLOB (out->hash, stmt, 3);
  out->iterations = sqlite3_column_int64 (stmt, 4);
  out->profile_sealed = gw_sqlite_column_bytes (stmt, 5);
  COPY (out->receipt_channel, stmt, 6);
  COPY (out->locale, stmt, 7);
  COPY (out->card_id, stmt, 8);
  BLOB (out->cvc_mac, stmt, 9);
  out->created = sqlite3_column_int64 (stmt, 10);
}

static gboolean
t_user_insert (GwTxn               *txn,
               const GwWalletUser  *user,
               GError             **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "INSERT INTO wallet_users (id, login_id, password_salt, password_hash, password_iterations,"
    " profile_sealed, receipt_channel, locale, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, user->id);
  TEXT (stmt, 2, user->login_id);
  sqlite3_bind_blob (stmt, 3, user->salt, sizeof user->salt, SQLITE_STATIC);
  sqlite3_bind_blob (stmt, 4, user->hash, sizeof user->hash, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 5, user->iterations);
  gw_sqlite_bind_bytes (stmt, 6, user->profile_sealed);
  TEXT (stmt, 7, user->receipt_channel);
  TEXT (stmt, 8, user->locale);
  sqlite3_bind_int64 (stmt, 9, user->created);
  return DONE (txn, stmt, error);
}

static gboolean
t_user_by_id (GwTxn         *txn,
              const char    *id,
              GwWalletUser  *out,
              GError       **error)
{
  return gw_sqlite_get_by_text (txn, USER_COLUMNS "WHERE id = ?", id, read_user, out, error);
}

static gboolean
t_user_by_login (GwTxn         *txn,
                 const char    *login_id,
                 GwWalletUser  *out,
                 GError       **error)
{
  return gw_sqlite_get_by_text (txn, USER_COLUMNS "WHERE login_id = ?", login_id, read_user, out,
                                error);
}

static gboolean
t_user_by_card (GwTxn         *txn,
                const char    *card_id,
                GwWalletUser  *out,
                GError       **error)
{
  return gw_sqlite_get_by_text (txn, USER_COLUMNS "WHERE card_id = ?", card_id, read_user, out,
                                error);
}

static void
read_attempts (sqlite3_stmt *stmt,
               gpointer      data)
{
  GwWalletAttempts *out = data;

  out->failures = sqlite3_column_int64 (stmt, 0);
  out->locked_until = sqlite3_column_int64 (stmt, 1);
  out->updated = sqlite3_column_int64 (stmt, 2);
}

static gboolean
t_attempts_get (GwTxn             *txn,
                const guint8       login_hash[32],
                GwWalletAttempts  *out,
                GError           **error)
{
  return gw_sqlite_get_by_hash (txn, "SELECT failures, locked_until, updated"
                                " FROM wallet_login_attempts WHERE login_hash = ?",
                                login_hash, read_attempts, out, error);
}

static gboolean
t_attempts_put (GwTxn                   *txn,
                const guint8             login_hash[32],
                const GwWalletAttempts  *attempts,
                GError                 **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "INSERT OR REPLACE INTO wallet_login_attempts (login_hash, failures, locked_until, updated)"
    " VALUES (?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_hash (stmt, 1, login_hash);
  sqlite3_bind_int64 (stmt, 2, attempts->failures);
  sqlite3_bind_int64 (stmt, 3, attempts->locked_until);
  sqlite3_bind_int64 (stmt, 4, attempts->updated);
  return DONE (txn, stmt, error);
}

/* "Stale" is read_attempts' rule in gw-wallet.c: a lock that ran out, or
 * failures a lockout's length old, count as none. */
#define ATTEMPTS_STALE \
  "((locked_until <> 0 AND locked_until <= ?2) OR (locked_until = 0 AND updated + ?3 <= ?2))"

static gboolean
t_attempts_count (GwTxn         *txn,
                  const guint8   login_hash[32],
                  gint64         now,
                  gint64         lockout,
                  gint64         max,
                  GError       **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "INSERT INTO wallet_login_attempts (login_hash, failures, locked_until, updated)"
    " VALUES (?1, 1, 0, ?2) ON CONFLICT (login_hash) DO UPDATE SET"
    " failures = CASE WHEN " ATTEMPTS_STALE " THEN 1 ELSE failures + 1 END,"
    " locked_until = 0, updated = ?2"
    " WHERE " ATTEMPTS_STALE " OR (locked_until = 0 AND failures < ?4)", error);

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_hash (stmt, 1, login_hash);
  sqlite3_bind_int64 (stmt, 2, now);
  sqlite3_bind_int64 (stmt, 3, lockout);
  sqlite3_bind_int64 (stmt, 4, max);
  return gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_CONFLICT,
                               "The login's attempts changed since they were read", error);
}

static gboolean
t_attempts_clear (GwTxn         *txn,
                  const guint8   login_hash[32],
                  GError       **error)
{
  sqlite3_stmt *stmt = PREP (txn, "DELETE FROM wallet_login_attempts WHERE login_hash = ?",
                             error);

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_hash (stmt, 1, login_hash);
  return DONE (txn, stmt, error);
}

/* A few at a time, oldest first: each sign-in pays for a little. */
static gboolean
t_attempts_prune (GwTxn   *txn,
                  gint64   before,
                  gint64   now,
                  GError **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "DELETE FROM wallet_login_attempts WHERE login_hash IN (SELECT login_hash"
    " FROM wallet_login_attempts WHERE updated < ? AND locked_until <= ? ORDER BY updated"
    " LIMIT 16)", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, before);
  sqlite3_bind_int64 (stmt, 2, now);
  return DONE (txn, stmt, error);
}

static gboolean
t_user_set_password (GwTxn         *txn,
                     const char    *id,
                     const guint8  *salt,
                     const guint8   hash[32],
                     gint64         iterations,
                     GError       **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "UPDATE wallet_users SET password_salt = ?, password_hash = ?, password_iterations = ?"
    " WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, salt, GW_WALLET_SALT_LEN, SQLITE_STATIC);
  sqlite3_bind_blob (stmt, 2, hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, iterations);
  TEXT (stmt, 4, id);
  return DONE (txn, stmt, error);
}

static gboolean
t_user_set_profile (GwTxn       *txn,
                    const char  *id,
                    GBytes      *profile_sealed,
                    const char  *receipt_channel,
                    const char  *locale,
                    GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "UPDATE wallet_users SET profile_sealed = ?, receipt_channel = ?, locale = ? WHERE id = ?",
    error);

  if (stmt == NULL)
    return FALSE;
  gw_sqlite_bind_bytes (stmt, 1, profile_sealed);
  TEXT (stmt, 2, receipt_channel);
  TEXT (stmt, 3, locale);
  TEXT (stmt, 4, id);
  return DONE (txn, stmt, error);
}

static gboolean
t_user_set_card (GwTxn         *txn,
                 const char    *id,
                 const char    *card_id,
                 const guint8   cvc_mac[32],
                 GError       **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "UPDATE wallet_users SET card_id = ?, card_cvc_mac = ? WHERE id = ? AND card_id IS NULL",
    error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, card_id);
  sqlite3_bind_blob (stmt, 2, cvc_mac, 32, SQLITE_STATIC);
  TEXT (stmt, 3, id);
  return gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_DUPLICATE, "The user already has a card",
                               error);
}

/* Sessions */

static gboolean
t_session_insert (GwTxn                  *txn,
                  const GwWalletSession  *session,
                  const guint8            token_hash[32],
                  GError                **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "INSERT INTO wallet_sessions (id, user_id, token_hash, created, expires_at)"
    " VALUES (?, ?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, session->id);
  TEXT (stmt, 2, session->user_id);
  sqlite3_bind_blob (stmt, 3, token_hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, session->created);
  sqlite3_bind_int64 (stmt, 5, session->expires_at);
  return DONE (txn, stmt, error);
}

static void
read_session (sqlite3_stmt *stmt,
              gpointer      data)
{
  GwWalletSession *out = data;

  COPY (out->id, stmt, 0);
  COPY (out->user_id, stmt, 1);
  out->created = sqlite3_column_int64 (stmt, 2);
  out->expires_at = sqlite3_column_int64 (stmt, 3);
}

static gboolean
t_session_by_token (GwTxn            *txn,
                    const guint8      token_hash[32],
                    gint64            now,
                    GwWalletSession  *out,
                    GError          **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "SELECT id, user_id, created, expires_at FROM wallet_sessions"
    " WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, token_hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, now);
  return gw_sqlite_read_one (txn, stmt, read_session, out, error);
}

static gboolean
t_session_revoke (GwTxn       *txn,
                  const char  *id,
                  gint64       now,
                  GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "UPDATE wallet_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now);
  TEXT (stmt, 2, id);
  return DONE (txn, stmt, error);
}

static gint64
t_sessions_revoke_others (GwTxn       *txn,
                          const char  *user_id,
                          const char  *keep_id,
                          gint64       now,
                          GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "UPDATE wallet_sessions SET revoked_at = ?1 WHERE user_id = ?2 AND id <> ?3"
    " AND revoked_at IS NULL AND expires_at > ?1", error);

  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, now);
  TEXT (stmt, 2, user_id);
  TEXT (stmt, 3, keep_id);
  return gw_sqlite_step_changes (txn, stmt, error);
}

static gboolean
t_sessions_prune (GwTxn   *txn,
                  gint64   expired_before,
                  GError **error)
{
  sqlite3_stmt *stmt = PREP (txn, "DELETE FROM wallet_sessions WHERE expires_at < ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, expired_before);
  return DONE (txn, stmt, error);
}

/* Funding sources */

#define FUNDING_COLUMNS \
  "SELECT id, user_id, type, fingerprint, details_sealed, last4, digits," \
  " COALESCE(exp_month, 0), COALESCE(exp_year, 0), COALESCE(bank_code, ''), created," \
  " COALESCE(removed_at, 0) FROM wallet_funding_sources "

static void
read_funding (sqlite3_stmt *stmt,
              gpointer      data)
{
  GwFundingSource *out = data;

  memset (out, 0, sizeof *out);
  COPY (out->id, stmt, 0);
  COPY (out->user_id, stmt, 1);
  COPY (out->type, stmt, 2);
  BLOB (out->fingerprint, stmt, 3);
  out->details_sealed = gw_sqlite_column_bytes (stmt, 4);
  COPY (out->last4, stmt, 5);
  out->digits = sqlite3_column_int (stmt, 6);
  out->exp_month = sqlite3_column_int (stmt, 7);
  out->exp_year = sqlite3_column_int (stmt, 8);
  COPY (out->bank_code, stmt, 9);
  out->created = sqlite3_column_int64 (stmt, 10);
  out->removed_at = sqlite3_column_int64 (stmt, 11);
}

static gboolean
t_funding_insert (GwTxn                  *txn,
                  const GwFundingSource  *source,
                  GError                **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "INSERT INTO wallet_funding_sources (id, user_id, type, fingerprint, details_sealed, last4,"
    " digits, exp_month, exp_year, bank_code, created)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, ''), ?)", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, source->id);
  TEXT (stmt, 2, source->user_id);
  TEXT (stmt, 3, source->type);
  sqlite3_bind_blob (stmt, 4, source->fingerprint, 32, SQLITE_STATIC);
  gw_sqlite_bind_bytes (stmt, 5, source->details_sealed);
  TEXT (stmt, 6, source->last4);
  sqlite3_bind_int (stmt, 7, source->digits);
  sqlite3_bind_int (stmt, 8, source->exp_month);
  sqlite3_bind_int (stmt, 9, source->exp_year);
  TEXT (stmt, 10, source->bank_code);
  sqlite3_bind_int64 (stmt, 11, source->created);
  return DONE (txn, stmt, error);
}

static gboolean
t_funding_get (GwTxn            *txn,
               const char       *id,
               GwFundingSource  *out,
               GError          **error)
{
  return gw_sqlite_get_by_text (txn, FUNDING_COLUMNS "WHERE id = ?", id, read_funding, out, error);
}

static GPtrArray *
t_funding_list (GwTxn       *txn,
                const char  *user_id,
                GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    FUNDING_COLUMNS "WHERE user_id = ? AND removed_at IS NULL ORDER BY seq DESC", error);

  if (stmt == NULL)
    return NULL;
  TEXT (stmt, 1, user_id);
  return gw_sqlite_read_list (txn, stmt, sizeof (GwFundingSource), read_funding,
                              (GDestroyNotify) gw_funding_source_free, error);
}

static gboolean
t_funding_remove (GwTxn       *txn,
                  const char  *id,
                  gint64       now,
                  GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "UPDATE wallet_funding_sources SET removed_at = ?, details_sealed = NULL"
    " WHERE id = ? AND removed_at IS NULL", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now);
  TEXT (stmt, 2, id);
  return DONE (txn, stmt, error);
}

/* Charges */

#define CHARGE_COLUMNS \
  "SELECT id, user_id, funding_source_id, card_id, amount, currency, status, key_hash," \
  " fingerprint, reference, COALESCE(decline_code, ''), created, COALESCE(settled, 0)," \
  " COALESCE(sent, created), COALESCE(watch_until, 0), COALESCE(voided_late, 0)," \
  " COALESCE(watch_next, 0) FROM wallet_charges "

static void
read_charge (sqlite3_stmt *stmt,
             gpointer      data)
{
  GwWalletCharge *out = data;

  memset (out, 0, sizeof *out);
  COPY (out->id, stmt, 0);
  COPY (out->user_id, stmt, 1);
  COPY (out->funding_source_id, stmt, 2);
  COPY (out->card_id, stmt, 3);
  out->amount = sqlite3_column_int64 (stmt, 4);
  COPY (out->currency, stmt, 5);
  COPY (out->status, stmt, 6);
  out->keyed = gw_sqlite_copy_blob (out->key_hash, 32, stmt, 7);
  BLOB (out->fingerprint, stmt, 8);
  out->reference = gw_sqlite_column_strdup (stmt, 9);
  COPY (out->decline_code, stmt, 10);
  out->created = sqlite3_column_int64 (stmt, 11);
  out->settled = sqlite3_column_int64 (stmt, 12);
  out->sent = sqlite3_column_int64 (stmt, 13);
  out->watch_until = sqlite3_column_int64 (stmt, 14);
  out->voided_late = sqlite3_column_int64 (stmt, 15);
  out->watch_next = sqlite3_column_int64 (stmt, 16);
  g_strlcpy (out->read_status, out->status, sizeof out->read_status);
}

static gboolean
t_charge_insert (GwTxn           *txn,
                 GwWalletCharge  *charge,
                 GError         **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "INSERT INTO wallet_charges (id, user_id, funding_source_id, card_id, amount, currency,"
    " status, key_hash, fingerprint, created, sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, charge->id);
  TEXT (stmt, 2, charge->user_id);
  TEXT (stmt, 3, charge->funding_source_id);
  TEXT (stmt, 4, charge->card_id);
  sqlite3_bind_int64 (stmt, 5, charge->amount);
  TEXT (stmt, 6, charge->currency);
  TEXT (stmt, 7, charge->status);
  gw_sqlite_bind_hash (stmt, 8, charge->keyed ? charge->key_hash : NULL);
  sqlite3_bind_blob (stmt, 9, charge->fingerprint, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 10, charge->created);
  sqlite3_bind_int64 (stmt, 11, charge->sent);
  if (!DONE (txn, stmt, error))
    return FALSE;
  g_strlcpy (charge->read_status, charge->status, sizeof charge->read_status);
  return TRUE;
}

static gboolean
t_charge_release_key (GwTxn       *txn,
                      const char  *id,
                      GError     **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "UPDATE wallet_charges SET key_hash = NULL, fingerprint = NULL WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, id);
  return DONE (txn, stmt, error);
}

static gboolean
t_charge_get (GwTxn           *txn,
              const char      *id,
              GwWalletCharge  *out,
              GError         **error)
{
  return gw_sqlite_get_by_text (txn, CHARGE_COLUMNS "WHERE id = ?", id, read_charge, out, error);
}

static gboolean
t_charge_by_key (GwTxn           *txn,
                 const char      *user_id,
                 const guint8     key_hash[32],
                 GwWalletCharge  *out,
                 GError         **error)
{
  sqlite3_stmt *stmt = PREP (txn, CHARGE_COLUMNS "WHERE user_id = ? AND key_hash = ?", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, user_id);
  gw_sqlite_bind_hash (stmt, 2, key_hash);
  return gw_sqlite_read_one (txn, stmt, read_charge, out, error);
}

static gint64
t_charges_pending_from (GwTxn       *txn,
                        const char  *source_id,
                        GError     **error)
{
  /* Through the partial index of open charges: a handful of rows. */
  sqlite3_stmt *stmt = PREP (txn,
    "SELECT count(*) FROM wallet_charges INDEXED BY wallet_charges_open"
    " WHERE status IN ('pending', 'voiding') AND status = 'pending' AND funding_source_id = ?",
    error);

  if (stmt == NULL)
    return 0;
  TEXT (stmt, 1, source_id);
  return gw_sqlite_read_int (txn, stmt, error);
}

static gboolean
t_charge_update (GwTxn           *txn,
                 GwWalletCharge  *charge,
                 GError         **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "UPDATE wallet_charges SET status = ?, reference = ?, decline_code = NULLIF(?, ''),"
    " settled = NULLIF(?, 0), sent = ?, watch_until = NULLIF(?, 0), voided_late = NULLIF(?, 0),"
    " watch_next = NULLIF(?, 0) WHERE id = ? AND status = ?", error);

  if (stmt == NULL)
    return FALSE;
  TEXT (stmt, 1, charge->status);
  TEXT (stmt, 2, charge->reference);
  TEXT (stmt, 3, charge->decline_code);
  sqlite3_bind_int64 (stmt, 4, charge->settled);
  sqlite3_bind_int64 (stmt, 5, charge->sent);
  sqlite3_bind_int64 (stmt, 6, charge->watch_until);
  sqlite3_bind_int64 (stmt, 7, charge->voided_late);
  sqlite3_bind_int64 (stmt, 8, charge->watch_next);
  TEXT (stmt, 9, charge->id);
  TEXT (stmt, 10, charge->read_status);
  if (!gw_sqlite_change_one (txn, stmt, GW_STORE_ERROR_CONFLICT,
                             "The charge changed since it was read", error))
    return FALSE;
  g_strlcpy (charge->read_status, charge->status, sizeof charge->read_status);
  return TRUE;
}

static GPtrArray *
t_charges_open (GwTxn   *txn,
                gint64   pending_before,
                guint    limit,
                GError **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "SELECT id FROM wallet_charges WHERE (status = 'pending' AND created < ?1)"
    " OR status = 'voiding' ORDER BY created LIMIT ?2", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, pending_before);
  sqlite3_bind_int (stmt, 2, limit);
  return gw_sqlite_read_ids (txn, stmt, error);
}

static GPtrArray *
t_charges_watched (GwTxn   *txn,
                   gint64   now,
                   guint    limit,
                   GError **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "SELECT id FROM wallet_charges INDEXED BY wallet_charges_watch_next"
    " WHERE watch_next IS NOT NULL AND status = 'failed' AND watch_next <= ?"
    " ORDER BY watch_next LIMIT ?", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int (stmt, 2, limit);
  return gw_sqlite_read_ids (txn, stmt, error);
}

/* As the orders store's: the cursor a row value, walked from in
 * wallet_charges_by_created (migration 030). */
#define CHARGES_PAGE_WHERE \
  "(created, id) < (?1, ?2) AND (?3 IS NULL OR status = ?3)" \
  " ORDER BY created DESC, id DESC LIMIT ?4"

static GPtrArray *
t_charges_page (GwTxn                *txn,
                const GwChargesPage  *page,
                GError              **error)
{
  sqlite3_stmt *stmt = PREP (txn, page->voided_late
    ? CHARGE_COLUMNS "INDEXED BY wallet_charges_voided_late WHERE voided_late IS NOT NULL"
      " AND " CHARGES_PAGE_WHERE
    : CHARGE_COLUMNS "INDEXED BY wallet_charges_by_created WHERE " CHARGES_PAGE_WHERE,
    error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, page->before_created);
  TEXT (stmt, 2, page->before_id);
  TEXT (stmt, 3, page->status);
  sqlite3_bind_int (stmt, 4, page->limit);
  return gw_sqlite_read_list (txn, stmt, sizeof (GwWalletCharge), read_charge,
                              (GDestroyNotify) gw_wallet_charge_free, error);
}

/* History */

static void
history_item_clear (gpointer data)
{
  GwWalletHistoryItem *item = data;

  g_clear_pointer (&item->merchant_name, g_free);
  g_clear_pointer (&item->description, g_free);
}

static void
read_history_item (sqlite3_stmt *stmt,
                   gpointer      data)
{
  GwWalletHistoryItem *item = data;

  item->id = sqlite3_column_int64 (stmt, 0);
  COPY (item->kind, stmt, 1);
  COPY (item->channel, stmt, 2);
  COPY (item->ref, stmt, 3);
  COPY (item->payment_id, stmt, 4);
  COPY (item->merchant_id, stmt, 5);
  item->merchant_name = gw_sqlite_column_strdup (stmt, 6);
  item->description = gw_sqlite_column_strdup (stmt, 7);
  item->amount = sqlite3_column_int64 (stmt, 8);
  item->balance_after = sqlite3_column_int64 (stmt, 9);
  item->created = sqlite3_column_int64 (stmt, 10);
  COPY (item->funding_id, stmt, 11);
  COPY (item->funding_type, stmt, 12);
  COPY (item->funding_last4, stmt, 13);
}

static GArray *
t_history (GwTxn   *txn,
           gint64   account_id,
           gint64   starting_after,
           guint    limit,
           GError **error)
{
  sqlite3_stmt *stmt = PREP (txn,
    "SELECT l.id, e.kind, COALESCE(e.channel, ''), COALESCE(e.ref, ''),"
    " COALESCE(e.payment_id, ''), COALESCE(e.merchant_id, ''), m.name, e.description,"
    " l.credit - l.debit, l.balance_after, e.created,"
    " COALESCE(f.id, ''), COALESCE(f.type, ''), COALESCE(f.last4, '')"
    " FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id"
    " LEFT JOIN merchants m ON m.id = e.merchant_id"
    " LEFT JOIN wallet_charges c ON c.id = e.ref AND e.kind = 'recharge'"
    " LEFT JOIN wallet_funding_sources f ON f.id = c.funding_source_id"
    " WHERE l.account_id = ?1 AND (?2 = 0 OR l.id < ?2) ORDER BY l.id DESC LIMIT ?3", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, account_id);
  sqlite3_bind_int64 (stmt, 2, starting_after);
  sqlite3_bind_int (stmt, 3, limit);
  return gw_sqlite_read_array (txn, stmt, sizeof (GwWalletHistoryItem), read_history_item,
                               history_item_clear, error);
}

const GwWalletStoreFuncs gw_wallet_store_sqlite = {
  .user_insert = t_user_insert,
  .user_by_id = t_user_by_id,
  .user_by_login = t_user_by_login,
  .user_by_card = t_user_by_card,
  .user_set_password = t_user_set_password,
  .user_set_profile = t_user_set_profile,
  .user_set_card = t_user_set_card,
  .attempts_get = t_attempts_get,
  .attempts_put = t_attempts_put,
  .attempts_count = t_attempts_count,
  .attempts_clear = t_attempts_clear,
  .attempts_prune = t_attempts_prune,
  .session_insert = t_session_insert,
  .session_by_token = t_session_by_token,
  .session_revoke = t_session_revoke,
  .sessions_revoke_others = t_sessions_revoke_others,
  .sessions_prune = t_sessions_prune,
  .funding_insert = t_funding_insert,
  .funding_get = t_funding_get,
  .funding_list = t_funding_list,
  .funding_remove = t_funding_remove,
  .charge_insert = t_charge_insert,
  .charge_get = t_charge_get,
  .charge_by_key = t_charge_by_key,
  .charge_update = t_charge_update,
  .charge_release_key = t_charge_release_key,
  .charges_pending_from = t_charges_pending_from,
  .charges_open = t_charges_open,
  .charges_watched = t_charges_watched,
  .charges_page = t_charges_page,
  .history = t_history,
  .merchant_name = gw_sqlite_merchant_name,
};
