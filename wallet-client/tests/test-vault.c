/* test-vault.c: the wallet's sealed local store
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each test gets a fresh folder. The tamper tests change vault.db with
 * SQLite directly, as someone with the disk (but not the password) could.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "onepin-crypto.h"
#include "ow-pending-card.h"
#include "ow-pending-charge.h"
#include "ow-vault.h"
#include "ow-test-scan.h"
#include "ow-test-wait.h"

#define MASTER "correct horse battery"
#define CARD_NUMBER "9410123456789012"

typedef struct
{
  char    *dir;
  OwVault *vault;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *parent = g_dir_make_tmp ("ow-vault-XXXXXX", &error);

  g_assert_no_error (error);
  /* a folder the vault must create itself */
  f->dir = g_build_filename (parent, "onepin", NULL);
  f->vault = ow_vault_new (f->dir, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *parent = g_path_get_dirname (f->dir);

  g_clear_object (&f->vault);
  ow_test_remove_tree (parent);
  g_free (f->dir);
}

static void
create (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (ow_vault_exists (f->vault));
  g_assert_true (ow_vault_create (f->vault, MASTER, &error));
  g_assert_no_error (error);
  g_assert_true (ow_vault_exists (f->vault));
  g_assert_false (ow_vault_is_locked (f->vault));
}

/* Drops the object and opens the folder again, locked. */
static void
reopen (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&f->vault);
  f->vault = ow_vault_new (f->dir, &error);
  g_assert_no_error (error);
  g_assert_true (ow_vault_exists (f->vault));
  g_assert_true (ow_vault_is_locked (f->vault));
}

static void
store (Fixture    *f,
       const char *kind,
       const char *id,
       const char *value)
{
  g_autoptr(GError) error = NULL;

  gboolean ok = ow_vault_store (f->vault, kind, id, value, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
assert_lookup (Fixture    *f,
               const char *kind,
               const char *id,
               const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwSecret) value = ow_vault_lookup (f->vault, kind, id, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, expected);
}

static void
assert_lookup_fails (Fixture    *f,
                     const char *kind,
                     const char *id,
                     int         code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwSecret) value = ow_vault_lookup (f->vault, kind, id, &error);

  g_assert_null (value);
  g_assert_error (error, OW_VAULT_ERROR, code);
}

/* Unlocks with the master password, which must work. */
static void
unlock_ok (Fixture *f)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  ow_vault_unlock_async (f->vault, MASTER, NULL, ow_test_store_result, &result);
  g_assert_true (ow_vault_unlock_finish (f->vault, ow_test_wait (&result), &error));
  g_assert_no_error (error);
}

static void
assert_mode (const char *path,
             guint       mode)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

/* Runs @sql (with ?1 = kind, ?2 = id) on vault.db behind the vault's back. */
static void
tamper (Fixture    *f,
        const char *sql,
        const char *kind,
        const char *id)
{
  g_autofree char *path = g_build_filename (f->dir, "vault.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  g_assert_cmpint (sqlite3_changes (db), >=, 1);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

/* Flips the lowest bit of byte @offset of a record's sealed value. */
static void
flip_bit (Fixture    *f,
          const char *kind,
          const char *id,
          int         offset)
{
  g_autofree char *path = g_build_filename (f->dir, "vault.db", NULL);
  g_autofree guint8 *copy = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  int len;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT sealed FROM records WHERE kind = ? AND id = ?",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  len = sqlite3_column_bytes (stmt, 0);
  g_assert_cmpint (len, >, offset);
  copy = g_memdup2 (sqlite3_column_blob (stmt, 0), len);
  sqlite3_finalize (stmt);
  copy[offset] ^= 1;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "UPDATE records SET sealed = ? WHERE kind = ? AND id = ?",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_blob (stmt, 1, copy, len, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, id, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

/* ---- tests -------------------------------------------------------------- */

/* "removed", as "KIND/ID" ("*" for NULL), appended to a GString. */
static void
on_removed (OwVault    *vault,
            const char *kind,
            const char *id,
            GString    *heard)
{
  g_string_append_printf (heard, "%s/%s;", kind != NULL ? kind : "*", id != NULL ? id : "*");
}

static void
test_seal_and_open (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) ids = NULL;
  g_autoptr(GString) heard = g_string_new (NULL);
  g_autofree char *db = g_build_filename (f->dir, "vault.db", NULL);
  g_autofree char *keydb = g_build_filename (f->dir, "key4.db", NULL);
  const char *unicode = "한글 이름 ✓";

  create (f);
  assert_mode (f->dir, 0700);
  assert_mode (db, 0600);
  assert_mode (keydb, 0600);

  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  store (f, OW_VAULT_KIND_ACCOUNT, "profile", unicode);
  store (f, OW_VAULT_KIND_SESSION, "current", "");
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  assert_lookup (f, OW_VAULT_KIND_ACCOUNT, "profile", unicode);
  assert_lookup (f, OW_VAULT_KIND_SESSION, "current", "");

  /* a replaced value; a missing one */
  store (f, OW_VAULT_KIND_CARD, "card_1", "4111111111111111");
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", "4111111111111111");
  assert_lookup_fails (f, OW_VAULT_KIND_CARD, "card_2", OW_VAULT_ERROR_NOT_FOUND);

  /* the same kind and id in another object: what is on disk lasts */
  reopen (f);
  g_assert_true (ow_vault_unlock (f->vault, MASTER, &error));
  g_assert_no_error (error);
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", "4111111111111111");

  store (f, OW_VAULT_KIND_CARD, "card_0", CARD_NUMBER);
  ids = ow_vault_list (f->vault, OW_VAULT_KIND_CARD, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (ids), ==, 2);
  g_assert_cmpstr (ids[0], ==, "card_0");
  g_assert_cmpstr (ids[1], ==, "card_1");

  /* whoever holds a copy hears of each removal: "removed" */
  g_signal_connect (f->vault, "removed", G_CALLBACK (on_removed), heard);
  g_assert_true (ow_vault_remove (f->vault, OW_VAULT_KIND_CARD, "card_0", &error));
  g_assert_no_error (error);
  assert_lookup_fails (f, OW_VAULT_KIND_CARD, "card_0", OW_VAULT_ERROR_NOT_FOUND);

  g_assert_true (ow_vault_clear (f->vault, &error));
  g_assert_no_error (error);
  assert_lookup_fails (f, OW_VAULT_KIND_CARD, "card_1", OW_VAULT_ERROR_NOT_FOUND);
  g_assert_cmpstr (heard->str, ==, OW_VAULT_KIND_CARD "/card_0;*/*;");
  g_signal_handlers_disconnect_by_data (f->vault, heard);
  /* clearing keeps the vault usable with the same password */
  reopen (f);
  g_assert_true (ow_vault_unlock (f->vault, MASTER, &error));
  g_assert_no_error (error);
}

static void
test_create_rules (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (ow_vault_create (f->vault, "short", &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_WEAK_PASSWORD);
  g_clear_error (&error);
  /* eight characters, not eight bytes: seven Hangul syllables are 21 bytes */
  g_assert_false (ow_vault_create (f->vault, "가나다라마바사", &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_WEAK_PASSWORD);
  g_clear_error (&error);
  g_assert_false (ow_vault_exists (f->vault));

  g_assert_false (ow_vault_unlock (f->vault, MASTER, &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NO_VAULT);
  g_clear_error (&error);

  create (f);
  g_assert_false (ow_vault_create (f->vault, MASTER, &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_EXISTS);
  g_clear_error (&error);

  reopen (f);
  g_assert_false (ow_vault_create (f->vault, "another password", &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_true (ow_vault_unlock (f->vault, MASTER, &error));
  g_assert_no_error (error);
}

static void
test_wrong_password (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const char *wrong[] = { "correct horse batter", "correct horse battery ",
                          "CORRECT HORSE BATTERY", "" };

  create (f);
  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  reopen (f);

  for (guint i = 0; i < G_N_ELEMENTS (wrong); i++)
    {
      g_assert_false (ow_vault_unlock (f->vault, wrong[i], &error));
      g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BAD_PASSWORD);
      g_clear_error (&error);
      g_assert_true (ow_vault_is_locked (f->vault));
      /* nothing opens, nothing can be written */
      assert_lookup_fails (f, OW_VAULT_KIND_CARD, "card_1", OW_VAULT_ERROR_LOCKED);
      g_assert_false (ow_vault_store (f->vault, OW_VAULT_KIND_CARD, "card_2", "x", &error));
      g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED);
      g_clear_error (&error);
    }

  g_assert_true (ow_vault_unlock (f->vault, MASTER, &error));
  g_assert_no_error (error);
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
}

static gint64
timed_unlock (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_assert_true (ow_vault_unlock (f->vault, MASTER, &error));
  g_assert_no_error (error);
  return g_get_monotonic_time () - start;
}

/* Softoken answers a repeated password derivation from a cache; after a
 * lock nothing of the master password is left there, so unlocking again
 * costs the whole key derivation again (from the cache: microseconds). */
static void
test_lock_forgets_password (Fixture       *f,
                            gconstpointer  data)
{
  gint64 first;
  gint64 again;

  create (f);
  ow_vault_lock (f->vault);
  /* whatever the creation left, the first unlock does the whole work */
  onepin_crypto_forget_derived_keys ();
  first = timed_unlock (f);
  ow_vault_lock (f->vault);
  again = timed_unlock (f);
  g_test_message ("unlock %" G_GINT64_FORMAT " us, after a lock %" G_GINT64_FORMAT " us",
                  first, again);
  g_assert_cmpint (again, >=, first / 4);
}

static void
test_lock (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  gint notified = 0;

  create (f);
  store (f, OW_VAULT_KIND_SESSION, "current", "ows_0123456789abcdef");
  g_signal_connect_swapped (f->vault, "notify::locked", G_CALLBACK (g_atomic_int_inc), &notified);

  ow_vault_lock (f->vault);
  g_assert_true (ow_vault_is_locked (f->vault));
  g_assert_cmpuint (notified, ==, 1);
  ow_vault_lock (f->vault);
  g_assert_cmpuint (notified, ==, 1);
  assert_lookup_fails (f, OW_VAULT_KIND_SESSION, "current", OW_VAULT_ERROR_LOCKED);

  /* the same object unlocks again, and only with the password */
  g_assert_false (ow_vault_unlock (f->vault, "incorrect horse", &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BAD_PASSWORD);
  g_clear_error (&error);
  g_assert_true (ow_vault_unlock (f->vault, MASTER, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (notified, ==, 2);
  assert_lookup (f, OW_VAULT_KIND_SESSION, "current", "ows_0123456789abcdef");

  /* a wrong password on an open vault is no way to confirm it: it locks */
  g_assert_false (ow_vault_unlock (f->vault, "incorrect horse", &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BAD_PASSWORD);
  g_clear_error (&error);
  g_assert_true (ow_vault_is_locked (f->vault));
  assert_lookup_fails (f, OW_VAULT_KIND_SESSION, "current", OW_VAULT_ERROR_LOCKED);
}

static void
test_tamper (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  create (f);
  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  store (f, OW_VAULT_KIND_CARD, "card_2", "9410000000000001");
  store (f, OW_VAULT_KIND_FUNDING, "fs_1", "{\"number\":\"4111111111111111\"}");
  store (f, OW_VAULT_KIND_SESSION, "current", "ows_a");
  store (f, OW_VAULT_KIND_ACCOUNT, "profile", "{\"name\":\"Kim\"}");

  /* one bit of the ciphertext */
  flip_bit (f, OW_VAULT_KIND_CARD, "card_1", 20);
  assert_lookup_fails (f, OW_VAULT_KIND_CARD, "card_1", OW_VAULT_ERROR_TAMPERED);
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_2", "9410000000000001");

  /* another record's sealed value moved onto this one (same kind) */
  tamper (f, "UPDATE records SET sealed = (SELECT sealed FROM records WHERE id = 'card_2') "
             "WHERE kind = ?1 AND id = ?2",
          OW_VAULT_KIND_CARD, "card_1");
  assert_lookup_fails (f, OW_VAULT_KIND_CARD, "card_1", OW_VAULT_ERROR_TAMPERED);

  /* a record renamed, or given another kind */
  tamper (f, "UPDATE records SET id = 'fs_2' WHERE kind = ?1 AND id = ?2",
          OW_VAULT_KIND_FUNDING, "fs_1");
  assert_lookup_fails (f, OW_VAULT_KIND_FUNDING, "fs_2", OW_VAULT_ERROR_TAMPERED);
  tamper (f, "UPDATE records SET kind = 'account' WHERE kind = ?1 AND id = ?2",
          OW_VAULT_KIND_SESSION, "current");
  assert_lookup_fails (f, OW_VAULT_KIND_ACCOUNT, "current", OW_VAULT_ERROR_TAMPERED);

  /* cut short: no room for the tag, or the tag cut off */
  tamper (f, "UPDATE records SET sealed = substr(sealed, 1, 10) WHERE kind = ?1 AND id = ?2",
          OW_VAULT_KIND_ACCOUNT, "profile");
  assert_lookup_fails (f, OW_VAULT_KIND_ACCOUNT, "profile", OW_VAULT_ERROR_TAMPERED);
  tamper (f, "UPDATE records SET sealed = substr(sealed, 1, length(sealed) - 16) "
             "WHERE kind = ?1 AND id = ?2",
          OW_VAULT_KIND_CARD, "card_2");
  assert_lookup_fails (f, OW_VAULT_KIND_CARD, "card_2", OW_VAULT_ERROR_TAMPERED);

  /* the vault still works for what was not touched */
  store (f, OW_VAULT_KIND_CARD, "card_3", CARD_NUMBER);
  reopen (f);
  g_assert_true (ow_vault_unlock (f->vault, MASTER, &error));
  g_assert_no_error (error);
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_3", CARD_NUMBER);
}

/* A key database swapped for one whose password the attacker knows logs in,
 * but its key opens nothing; unlock says so instead of half-working. */
static void
test_swapped_key_database (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *other_dir = g_strconcat (f->dir, "-other", NULL);
  g_autoptr(OwVault) other = ow_vault_new (other_dir, &error);
  const char *files[] = { "cert9.db", "key4.db" };

  g_assert_no_error (error);
  create (f);
  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  g_clear_object (&f->vault);

  g_assert_true (ow_vault_create (other, "attacker password", &error));
  g_assert_no_error (error);
  g_clear_object (&other);

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *from = g_build_filename (other_dir, files[i], NULL);
      g_autofree char *to = g_build_filename (f->dir, files[i], NULL);
      g_autofree char *contents = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (from, &contents, &len, NULL));
      g_assert_true (g_file_set_contents (to, contents, len, NULL));
    }
  ow_test_remove_tree (other_dir);

  f->vault = ow_vault_new (f->dir, &error);
  g_assert_no_error (error);
  g_assert_false (ow_vault_unlock (f->vault, MASTER, &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BAD_PASSWORD);
  g_clear_error (&error);
  g_assert_false (ow_vault_unlock (f->vault, "attacker password", &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_TAMPERED);
  g_assert_true (ow_vault_is_locked (f->vault));
  assert_lookup_fails (f, OW_VAULT_KIND_CARD, "card_1", OW_VAULT_ERROR_LOCKED);
}

/* Opened again, the vault takes @password and no longer @old, and holds
 * card_1. */
static void
assert_password (Fixture    *f,
                 const char *old,
                 const char *password)
{
  g_autoptr(GError) error = NULL;

  reopen (f);
  g_assert_false (ow_vault_unlock (f->vault, old, &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BAD_PASSWORD);
  g_clear_error (&error);
  g_assert_true (ow_vault_unlock (f->vault, password, &error));
  g_assert_no_error (error);
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
}

/* Opened again, the vault takes "new master pw" and no longer MASTER. */
static void
assert_new_password (Fixture *f)
{
  assert_password (f, MASTER, "new master pw");
}

static void
test_change_password (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  create (f);
  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);

  g_assert_false (ow_vault_change_password (f->vault, "not the password", "new master pw", &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BAD_PASSWORD);
  g_clear_error (&error);
  g_assert_false (ow_vault_change_password (f->vault, MASTER, "short", &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_WEAK_PASSWORD);
  g_clear_error (&error);
  g_assert_true (ow_vault_change_password (f->vault, MASTER, "new master pw", &error));
  g_assert_no_error (error);
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);

  assert_new_password (f);
}

/* The folder opens with no vault in it, and one created there (under
 * another password than MASTER) works. */
static void
assert_starts_over (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&f->vault);
  f->vault = ow_vault_new (f->dir, &error);
  g_assert_no_error (error);
  g_assert_false (ow_vault_exists (f->vault));
  g_assert_false (ow_vault_unlock (f->vault, MASTER, &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NO_VAULT);
  g_clear_error (&error);

  g_assert_true (ow_vault_create (f->vault, "a different one", &error));
  g_assert_no_error (error);
  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  assert_password (f, MASTER, "a different one");
}

/* What a crash between the key database and vault.db leaves is started over. */
static void
test_interrupted_create (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *db = g_build_filename (f->dir, "vault.db", NULL);

  create (f);
  g_clear_object (&f->vault);
  g_assert_cmpint (g_unlink (db), ==, 0);
  assert_starts_over (f);
}

/* Runs @sql on the database at @path (made if missing), as another program
 * would. */
static void
write_db (const char *path,
          const char *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

/* vault.db and what SQLite may keep beside it. */
static const char *const db_files[] = { "vault.db", "vault.db-wal", "vault.db-shm",
                                        "vault.db-journal" };

/* The SHA-256 of each of db_files, NULL for one that is not there. */
static GStrv
checksum_db_files (Fixture *f)
{
  GStrv sums = g_new0 (char *, G_N_ELEMENTS (db_files) + 1);

  for (guint i = 0; i < G_N_ELEMENTS (db_files); i++)
    {
      g_autofree char *path = g_build_filename (f->dir, db_files[i], NULL);
      g_autofree char *data = NULL;
      gsize len;

      /* a hole in the vector ends it for g_strfreev: fill it with "" */
      if (g_file_get_contents (path, &data, &len, NULL))
        sums[i] = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guint8 *) data, len);
      else
        sums[i] = g_strdup ("");
    }
  return sums;
}

/* The folder is refused with @code and a message holding @says, and
 * vault.db and every file beside it are left byte for byte as they were
 * (none made, none removed). */
static void
assert_refused (Fixture    *f,
                int         code,
                const char *says)
{
  g_auto(GStrv) before = NULL;
  g_auto(GStrv) after = NULL;
  g_autoptr(GError) error = NULL;

  g_clear_object (&f->vault);
  before = checksum_db_files (f);
  f->vault = ow_vault_new (f->dir, &error);
  g_assert_null (f->vault);
  g_assert_error (error, OW_VAULT_ERROR, code);
  g_assert_nonnull (strstr (error->message, says));
  after = checksum_db_files (f);
  for (guint i = 0; i < G_N_ELEMENTS (db_files); i++)
    {
      g_test_message ("%s: %s", db_files[i], before[i][0] != '\0' ? before[i] : "absent");
      g_assert_cmpstr (after[i], ==, before[i]);
    }
}

/* A vault.db a newer wallet wrote (user_version 2) is refused, not read or
 * written as ours; back at version 1 it opens as it was. */
static void
test_newer_format (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "vault.db", NULL);

  create (f);
  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  g_clear_object (&f->vault);

  write_db (path, "PRAGMA user_version = 2;");
  assert_refused (f, OW_VAULT_ERROR_NEWER, "newer onepin-wallet");

  write_db (path, "PRAGMA user_version = 1;");
  reopen (f);
  unlock_ok (f);
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
}

/* Runs @sql on vault.db in write-ahead-log mode, as a later wallet might,
 * and leaves the log (and its index) beside it as a crash would: not
 * merged into vault.db. */
static void
write_db_logged (const char *path,
                 const char *sql)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_db_config (db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA journal_mode = WAL;", NULL, NULL, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));
}

/* A newer wallet's vault.db with its write-ahead log beside it: opening it
 * with SQLite would merge the log in. It is refused from its header alone,
 * and vault.db, the log and its index stay as they were: whether the
 * header already says so (the version changed, merged, then more logged),
 * or only the log does (the header still says 1). */
static void
test_newer_format_logged (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "vault.db", NULL);
  const char *sql[] = {
    "PRAGMA user_version = 2; PRAGMA wal_checkpoint (TRUNCATE);"
    " DELETE FROM records WHERE kind = 'card';",
    "PRAGMA user_version = 2;",
  };

  for (guint i = 0; i < G_N_ELEMENTS (sql); i++)
    {
      g_test_message ("vault.db changed with: %s", sql[i]);
      if (i > 0)
        ow_test_remove_tree (f->dir);
      g_clear_object (&f->vault);
      f->vault = ow_vault_new (f->dir, NULL);
      create (f);
      store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
      g_clear_object (&f->vault);

      write_db_logged (path, sql[i]);
      assert_refused (f, OW_VAULT_ERROR_NEWER, "newer onepin-wallet");
    }
}

/* Copies @path and its rollback journal into @dest (a folder) as a crash in
 * the middle of @sql's transaction leaves them: SQLite writes pages into
 * the file before the commit when its cache is this small, and the journal
 * holds what they were. The transaction is then rolled back. */
static void
copy_mid_transaction (const char *path,
                      const char *sql,
                      const char *dest)
{
  const char *filler = "CREATE TABLE filler (b BLOB);"
                       "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                       " WHERE i < 200) INSERT INTO filler SELECT randomblob (500) FROM n;";
  const char *suffix[] = { "", "-journal" };
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA cache_size = 2; BEGIN;", NULL, NULL, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, filler, NULL, NULL, NULL), ==, SQLITE_OK);
  for (guint i = 0; i < G_N_ELEMENTS (suffix); i++)
    {
      g_autofree char *from = g_strconcat (path, suffix[i], NULL);
      g_autofree char *name = g_strconcat ("vault.db", suffix[i], NULL);
      g_autofree char *to = g_build_filename (dest, name, NULL);
      g_autofree char *data = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (from, &data, &len, NULL));
      g_assert_cmpuint (len, >, 0);
      g_assert_true (g_file_set_contents (to, data, len, NULL));
    }
  g_assert_cmpint (sqlite3_exec (db, "ROLLBACK;", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

/* Leaves vault.db and its journal as a crash in the middle of @sql's
 * transaction on it would (copy_mid_transaction). */
static void
crash_mid_transaction (Fixture    *f,
                       const char *sql)
{
  g_autofree char *parent = g_path_get_dirname (f->dir);
  g_autofree char *scratch = g_build_filename (parent, "scratch", NULL);
  g_autofree char *path = g_build_filename (f->dir, "vault.db", NULL);
  const char *names[] = { "vault.db", "vault.db-journal" };

  g_assert_cmpint (g_mkdir_with_parents (scratch, 0700), ==, 0);
  copy_mid_transaction (path, sql, scratch);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *from = g_build_filename (scratch, names[i], NULL);
      g_autofree char *to = g_build_filename (f->dir, names[i], NULL);

      g_assert_cmpint (g_rename (from, to), ==, 0);
    }
}

/* A power loss during the first commit of our own creation: vault.db has
 * pages, page 1 still all zeros, and a hot journal saying the file had
 * none. SQLite rolls that back to an empty file: there is no vault yet,
 * and creating one starts over. */
static void
test_hot_journal_empty (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *parent = g_path_get_dirname (f->dir);
  g_autofree char *scratch = g_build_filename (parent, "scratch.db", NULL);
  g_autofree char *path = g_build_filename (f->dir, "vault.db", NULL);
  g_autofree char *head = NULL;

  create (f);
  g_clear_object (&f->vault);
  g_assert_true (g_file_set_contents (scratch, "", 0, NULL));
  copy_mid_transaction (scratch, "CREATE TABLE records (kind TEXT, id TEXT, sealed BLOB,"
                                 " updated_at INTEGER, PRIMARY KEY (kind, id)) WITHOUT ROWID;"
                                 "PRAGMA user_version = 1;", f->dir);
  g_assert_true (g_file_get_contents (path, &head, NULL, NULL));
  g_assert_cmpint (head[0], ==, '\0');

  assert_starts_over (f);
}

/* A newer wallet that lost power while it changed the format: vault.db's
 * header already says 2, and the journal beside it holds page 1 as it was.
 * The rollback restores our format, so the vault opens as it was. */
static void
test_hot_journal_newer (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "vault.db", NULL);
  g_autofree char *journal = g_build_filename (f->dir, "vault.db-journal", NULL);
  g_autofree char *bytes = NULL;
  gsize len;

  create (f);
  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  g_clear_object (&f->vault);

  crash_mid_transaction (f, "PRAGMA user_version = 2;");
  /* page 1 written before the commit, as the cache could have */
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_assert_cmpuint (len, >, 100);
  bytes[63] = 2;
  g_assert_true (g_file_set_contents (path, bytes, len, NULL));

  reopen (f);
  unlock_ok (f);
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
}

/* Files refused only once rolled back are left as they are, with their
 * journal: another program's database at version 0 in the middle of a
 * transaction, and one of our vaults without its check record. */
static void
test_hot_journal_refused (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "vault.db", NULL);

  g_assert_cmpint (g_mkdir_with_parents (f->dir, 0700), ==, 0);
  write_db (path, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');");
  crash_mid_transaction (f, "INSERT INTO notes VALUES ('more');");
  assert_refused (f, OW_VAULT_ERROR_NOT_VAULT, "is not an onepin vault");
  ow_test_remove_tree (f->dir);

  f->vault = ow_vault_new (f->dir, NULL);
  create (f);
  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  tamper (f, "DELETE FROM records WHERE kind = ?1 AND id = ?2", "vault", "check");
  g_clear_object (&f->vault);
  crash_mid_transaction (f, "DELETE FROM records;");
  assert_refused (f, OW_VAULT_ERROR_NO_CHECK_RECORD, "no check record");
}

/* What creating a vault left when it was not one transaction yet and was
 * interrupted between the table and the check record: version 1, the
 * table, no record. Nothing was ever stored in it, so there is no vault
 * yet, and creating one replaces it. */
static void
test_no_check_record_empty (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "vault.db", NULL);

  /* the key database came first, under the password of that attempt; the
   * table is spelled out as that wallet wrote it, not taken from ours */
  create (f);
  g_clear_object (&f->vault);
  g_assert_cmpint (g_unlink (path), ==, 0);
  write_db (path, "CREATE TABLE records ("
                  "  kind TEXT NOT NULL,"
                  "  id TEXT NOT NULL,"
                  "  sealed BLOB NOT NULL,"
                  "  updated_at INTEGER NOT NULL,"
                  "  PRIMARY KEY (kind, id)"
                  ") WITHOUT ROWID;"
                  "PRAGMA user_version = 1;");

  assert_starts_over (f);
}

/* Records without the check record cannot be told from records sealed
 * under another key database; they are refused, and kept, never started
 * over. */
static void
test_no_check_record_with_records (Fixture       *f,
                                   gconstpointer  data)
{
  create (f);
  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  tamper (f, "DELETE FROM records WHERE kind = ?1 AND id = ?2", "vault", "check");

  assert_refused (f, OW_VAULT_ERROR_NO_CHECK_RECORD, "no check record");
}

/* Files in vault.db's place that are not a vault are refused and left
 * alone, and no key database is made beside them. */
static void
test_not_a_vault (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "vault.db", NULL);
  g_autofree char *keydb = g_build_filename (f->dir, "key4.db", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  const char *sql[] = {
    /* another program's database: version 0 with tables */
    "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');",
    /* one at version 1 without our table, or with another table of its name */
    "PRAGMA user_version = 1; CREATE TABLE notes (body TEXT);",
    "PRAGMA user_version = 1; CREATE TABLE records (kind TEXT, id TEXT);",
    /* no table, but a version no wallet wrote */
    "PRAGMA user_version = -1;",
  };

  g_assert_cmpint (g_mkdir_with_parents (f->dir, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (sql); i++)
    {
      g_test_message ("vault.db made with: %s", sql[i]);
      write_db (path, sql[i]);
      assert_refused (f, OW_VAULT_ERROR_NOT_VAULT, "is not an onepin vault");
      g_assert_cmpint (g_unlink (path), ==, 0);
    }

  /* not SQLite at all */
  for (guint i = 0; i < 64; i++)
    g_string_append (text, "This is a text file, not a database of any kind.\n");
  g_assert_true (g_file_set_contents (path, text->str, text->len, NULL));
  assert_refused (f, OW_VAULT_ERROR_NOT_VAULT, "is not an onepin vault");
  g_assert_false (g_file_test (keydb, G_FILE_TEST_EXISTS));
}

/* An empty vault.db is what a crash during creation leaves (the table and
 * the check record are written in one transaction): there is no vault yet,
 * and creating one starts over. */
static void
test_empty_db (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "vault.db", NULL);

  g_assert_cmpint (g_mkdir_with_parents (f->dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, "", 0, NULL));
  g_clear_object (&f->vault);
  f->vault = ow_vault_new (f->dir, &error);
  g_assert_no_error (error);
  g_assert_false (ow_vault_exists (f->vault));
  g_assert_false (ow_vault_unlock (f->vault, MASTER, &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NO_VAULT);
  g_clear_error (&error);

  create (f);
  assert_mode (path, 0600);
  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  reopen (f);
  unlock_ok (f);
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
}

static void
test_async (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  GAsyncResult *result = NULL;

  ow_vault_create_async (f->vault, "short", NULL, ow_test_store_result, &result);
  g_assert_false (ow_vault_create_finish (f->vault, ow_test_wait (&result), &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_WEAK_PASSWORD);
  g_clear_error (&error);
  g_clear_object (&result);

  ow_vault_create_async (f->vault, MASTER, NULL, ow_test_store_result, &result);
  g_assert_true (ow_vault_create_finish (f->vault, ow_test_wait (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  ow_vault_lock (f->vault);

  ow_vault_unlock_async (f->vault, "wrong horse battery", NULL, ow_test_store_result, &result);
  g_assert_false (ow_vault_unlock_finish (f->vault, ow_test_wait (&result), &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BAD_PASSWORD);
  g_clear_error (&error);
  g_clear_object (&result);
  g_assert_true (ow_vault_is_locked (f->vault));

  unlock_ok (f);
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);

  /* Locked (the auto-lock, say) while an unlock derives its key: the lock
   * wins, and the unlock says so. */
  ow_vault_lock (f->vault);
  ow_vault_unlock_async (f->vault, MASTER, NULL, ow_test_store_result, &result);
  ow_vault_lock (f->vault);
  g_assert_false (ow_vault_unlock_finish (f->vault, ow_test_wait (&result), &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED);
  g_clear_error (&error);
  g_clear_object (&result);
  g_assert_true (ow_vault_is_locked (f->vault));

  /* and a later unlock works */
  unlock_ok (f);
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
}

/* The change runs in a thread: meanwhile the vault is busy (a second change
 * and an unlock are refused, not queued), records still open, and a lock
 * asked for meanwhile holds. */
static void
test_change_password_async (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  GAsyncResult *result = NULL;
  GAsyncResult *second = NULL;
  GAsyncResult *unlock = NULL;

  create (f);
  store (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);

  ow_vault_change_password_async (f->vault, MASTER, "short", NULL, ow_test_store_result, &result);
  g_assert_false (ow_vault_is_busy (f->vault));
  g_assert_false (ow_vault_change_password_finish (f->vault, ow_test_wait (&result), &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_WEAK_PASSWORD);
  g_clear_error (&error);
  g_clear_object (&result);

  ow_vault_change_password_async (f->vault, "not the password", "new master pw", NULL,
                                  ow_test_store_result, &result);
  g_assert_false (ow_vault_change_password_finish (f->vault, ow_test_wait (&result), &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BAD_PASSWORD);
  g_clear_error (&error);
  g_clear_object (&result);
  g_assert_false (ow_vault_is_busy (f->vault));

  ow_vault_change_password_async (f->vault, MASTER, "new master pw", NULL, ow_test_store_result,
                                  &result);
  g_assert_true (ow_vault_is_busy (f->vault));
  ow_vault_change_password_async (f->vault, MASTER, "other master pw", NULL,
                                  ow_test_store_result, &second);
  g_assert_false (ow_vault_change_password_finish (f->vault, ow_test_wait (&second), &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BUSY);
  g_clear_error (&error);
  g_clear_object (&second);
  /* Softoken re-wraps the key meanwhile: reads wait for it, and succeed. */
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  g_usleep (200 * 1000);
  assert_lookup (f, OW_VAULT_KIND_CARD, "card_1", CARD_NUMBER);
  ow_vault_lock (f->vault);
  g_assert_true (ow_vault_is_locked (f->vault));
  ow_vault_unlock_async (f->vault, MASTER, NULL, ow_test_store_result, &unlock);
  g_assert_false (ow_vault_unlock_finish (f->vault, ow_test_wait (&unlock), &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BUSY);
  g_clear_error (&error);
  g_clear_object (&unlock);

  g_assert_true (ow_vault_change_password_finish (f->vault, ow_test_wait (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_false (ow_vault_is_busy (f->vault));
  g_assert_true (ow_vault_is_locked (f->vault));
  assert_lookup_fails (f, OW_VAULT_KIND_CARD, "card_1", OW_VAULT_ERROR_LOCKED);

  assert_new_password (f);
}

/* Every file in the vault's folder, searched for every value stored. */
static void
test_no_plaintext_on_disk (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(OwScan) scan = ow_scan_new ();
  g_autoptr(GError) error = NULL;
  const char *dirs[] = { f->dir, NULL };
  const char *card = "9410555566667777";
  const char *cvc_record = "{\"cvc\":\"739\",\"expiry\":\"12/31\",\"marker\":\"cvc-marker-739\"}";
  const char *token = "ows_5e1c2b0d9a8f7e6d5c4b3a29";
  const char *funding = "{\"number\":\"4242424242424242\",\"holder\":\"HONG GILDONG\"}";
  const char *bank = "{\"bank\":\"088\",\"account\":\"110123456789\"}";

  create (f);
  store (f, OW_VAULT_KIND_CARD, "card_1", card);
  store (f, OW_VAULT_KIND_CARD, "card_1_cvc", cvc_record);
  store (f, OW_VAULT_KIND_SESSION, "current", token);
  store (f, OW_VAULT_KIND_FUNDING, "fs_card", funding);
  store (f, OW_VAULT_KIND_FUNDING, "fs_bank", bank);
  /* a replaced value must not survive in a free page either */
  store (f, OW_VAULT_KIND_SESSION, "current", "ows_second_token_value");
  g_assert_true (ow_vault_change_password (f->vault, MASTER, "the next master", &error));
  g_assert_no_error (error);
  g_clear_object (&f->vault);

  ow_scan_add_secret (scan, "card number", card);
  ow_scan_add_secret (scan, "cvc record", "cvc-marker-739");
  ow_scan_add_secret (scan, "session token", token);
  ow_scan_add_secret (scan, "second session token", "ows_second_token_value");
  ow_scan_add_secret (scan, "funding card", "4242424242424242");
  ow_scan_add_secret (scan, "cardholder", "HONG GILDONG");
  ow_scan_add_secret (scan, "bank account", "110123456789");
  ow_scan_add_secret (scan, "master password", MASTER);
  ow_scan_add_secret (scan, "new master password", "the next master");
  /* vault.db, cert9.db, key4.db at least */
  ow_scan_assert_clean (scan, dirs, 3);
}

static void
assert_no_pending_card (Fixture    *f,
                        const char *user_id,
                        const char *gateway,
                        int         code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwSecret) key = ow_pending_card_lookup (f->vault, user_id, gateway, &error);

  g_assert_null (key);
  g_assert_error (error, OW_VAULT_ERROR, code);
}

/* A card application's Idempotency-Key: the user's on one gateway, kept
 * sealed across a lock and a restart until it is cleared, and never on the
 * disk as it is. */
static void
test_pending_card (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(OwScan) scan = ow_scan_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(OwSecret) key = NULL;
  g_auto(GStrv) ids = NULL;
  const char *dirs[] = { f->dir, NULL };
  const char *gateway = "https://gateway.example";
  const char *first = "idem-8c4f0e2a6b1d9375e0a4c2f8";
  const char *second = "idem-1f3e5d7c9b0a2468ace13579";

  create (f);
  assert_no_pending_card (f, "usr_1", gateway, OW_VAULT_ERROR_NOT_FOUND);
  g_assert_true (ow_pending_card_save (f->vault, "usr_1", gateway, first, &error));
  g_assert_no_error (error);
  /* a later application replaces it */
  g_assert_true (ow_pending_card_save (f->vault, "usr_1", gateway, second, &error));
  g_assert_no_error (error);
  key = ow_pending_card_lookup (f->vault, "usr_1", gateway, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, second);
  g_clear_pointer (&key, ow_secret_free);
  /* another user's, or the same id on another gateway, is not this one */
  assert_no_pending_card (f, "usr_2", gateway, OW_VAULT_ERROR_NOT_FOUND);
  assert_no_pending_card (f, "usr_1", "https://other.example", OW_VAULT_ERROR_NOT_FOUND);
  /* the record's id is the user's; the key is in the sealed value */
  ids = ow_vault_list (f->vault, OW_VAULT_KIND_APPLICATION, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (ids), ==, 1);
  g_assert_cmpstr (ids[0], ==, "usr_1");

  /* locked, it is neither read nor written */
  ow_vault_lock (f->vault);
  assert_no_pending_card (f, "usr_1", gateway, OW_VAULT_ERROR_LOCKED);
  g_assert_false (ow_pending_card_save (f->vault, "usr_1", gateway, first, &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_false (ow_pending_card_clear (f->vault, "usr_1", &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED);
  g_clear_error (&error);

  /* it outlives the process */
  reopen (f);
  ow_scan_add_secret (scan, "first key", first);
  ow_scan_add_secret (scan, "second key", second);
  ow_scan_assert_clean (scan, dirs, 3);
  unlock_ok (f);
  key = ow_pending_card_lookup (f->vault, "usr_1", gateway, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, second);

  g_assert_true (ow_pending_card_clear (f->vault, "usr_1", &error));
  g_assert_no_error (error);
  assert_no_pending_card (f, "usr_1", gateway, OW_VAULT_ERROR_NOT_FOUND);
  g_assert_true (ow_pending_card_clear (f->vault, "usr_1", &error));
  g_assert_no_error (error);
}

static void
assert_no_pending_charge (Fixture    *f,
                          const char *user_id,
                          const char *gateway,
                          int         code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwPendingCharge) pending = ow_pending_charge_lookup (f->vault, user_id, gateway,
                                                                 &error);

  g_assert_null (pending);
  g_assert_error (error, OW_VAULT_ERROR, code);
}

static void
assert_pending_charge (Fixture               *f,
                       const char            *user_id,
                       const char            *gateway,
                       const OwPendingCharge *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwPendingCharge) pending = ow_pending_charge_lookup (f->vault, user_id, gateway,
                                                                 &error);

  g_assert_no_error (error);
  g_assert_nonnull (pending);
  g_assert_cmpstr (pending->source_id, ==, expected->source_id);
  g_assert_cmpint (pending->amount, ==, expected->amount);
  g_assert_cmpstr (pending->idempotency_key, ==, expected->idempotency_key);
}

/* A charge sent whose outcome is unknown: the user's on one gateway, kept
 * sealed across a lock and a restart until it is cleared or the vault is
 * (a sign-out), and its key never on the disk as it is. */
static void
test_pending_charge (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(OwScan) scan = ow_scan_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) ids = NULL;
  const char *dirs[] = { f->dir, NULL };
  const char *gateway = "https://gateway.example";
  const OwPendingCharge first = { "fs_0119", 30000, "idem-5b7d9f1e3a2c4680bdf02468" };
  const OwPendingCharge second = { "fs_4242", 1000000, "idem-9e8d7c6b5a4f3e2d1c0b9a87" };

  create (f);
  assert_no_pending_charge (f, "usr_1", gateway, OW_VAULT_ERROR_NOT_FOUND);
  g_assert_true (ow_pending_charge_save (f->vault, "usr_1", gateway, &first, &error));
  g_assert_no_error (error);
  assert_pending_charge (f, "usr_1", gateway, &first);
  /* a later charge replaces it */
  g_assert_true (ow_pending_charge_save (f->vault, "usr_1", gateway, &second, &error));
  g_assert_no_error (error);
  assert_pending_charge (f, "usr_1", gateway, &second);
  /* another user's, or the same id on another gateway, is not this one */
  assert_no_pending_charge (f, "usr_2", gateway, OW_VAULT_ERROR_NOT_FOUND);
  assert_no_pending_charge (f, "usr_1", "https://other.example", OW_VAULT_ERROR_NOT_FOUND);
  /* the record's id is the user's; the request is in the sealed value */
  ids = ow_vault_list (f->vault, OW_VAULT_KIND_CHARGE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (ids), ==, 1);
  g_assert_cmpstr (ids[0], ==, "usr_1");

  /* locked, it is neither read nor written */
  ow_vault_lock (f->vault);
  assert_no_pending_charge (f, "usr_1", gateway, OW_VAULT_ERROR_LOCKED);
  g_assert_false (ow_pending_charge_save (f->vault, "usr_1", gateway, &first, &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED);
  g_clear_error (&error);
  g_assert_false (ow_pending_charge_clear (f->vault, "usr_1", &error));
  g_assert_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED);
  g_clear_error (&error);

  /* it outlives the process, sealed */
  reopen (f);
  ow_scan_add_secret (scan, "first charge key", first.idempotency_key);
  ow_scan_add_secret (scan, "second charge key", second.idempotency_key);
  ow_scan_assert_clean (scan, dirs, 3);
  unlock_ok (f);
  assert_pending_charge (f, "usr_1", gateway, &second);

  /* settled */
  g_assert_true (ow_pending_charge_clear (f->vault, "usr_1", &error));
  g_assert_no_error (error);
  assert_no_pending_charge (f, "usr_1", gateway, OW_VAULT_ERROR_NOT_FOUND);
  g_assert_true (ow_pending_charge_clear (f->vault, "usr_1", &error));
  g_assert_no_error (error);

  /* a sign-out clears the vault, and the charge with it */
  g_assert_true (ow_pending_charge_save (f->vault, "usr_1", gateway, &first, &error));
  g_assert_no_error (error);
  g_assert_true (ow_vault_clear (f->vault, &error));
  g_assert_no_error (error);
  assert_no_pending_charge (f, "usr_1", gateway, OW_VAULT_ERROR_NOT_FOUND);
}

/* The scan itself finds what is there: a value written in the clear. */
static void
test_scan_finds_plaintext (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(OwScan) scan = ow_scan_new ();
  g_autoptr(GString) found = g_string_new (NULL);
  g_autofree char *path = g_build_filename (f->dir, "leak.txt", NULL);
  const char *text[] = { "x 9410-5555-6666-7777 y", "x 39343130353535353636363637373737 y",
                         "x OTQxMDU1NTU2NjY2Nzc3 y" };

  g_assert_cmpint (g_mkdir_with_parents (f->dir, 0700), ==, 0);
  ow_scan_add_secret (scan, "card number", "9410555566667777");
  for (guint i = 0; i < G_N_ELEMENTS (text); i++)
    {
      g_string_truncate (found, 0);
      g_assert_true (g_file_set_contents (path, text[i], -1, NULL));
      g_assert_cmpuint (ow_scan_dir (scan, f->dir, found), ==, 1);
      g_assert_nonnull (strstr (found->str, "card number"));
    }
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  if (!ow_vault_global_init (&error))
    g_error ("%s", error->message);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/vault/seal-and-open", test_seal_and_open);
  ADD ("/vault/create-rules", test_create_rules);
  ADD ("/vault/wrong-password", test_wrong_password);
  ADD ("/vault/lock", test_lock);
  ADD ("/vault/lock-forgets-password", test_lock_forgets_password);
  ADD ("/vault/tamper", test_tamper);
  ADD ("/vault/swapped-key-database", test_swapped_key_database);
  ADD ("/vault/change-password", test_change_password);
  ADD ("/vault/interrupted-create", test_interrupted_create);
  ADD ("/vault/format/newer", test_newer_format);
  ADD ("/vault/format/not-a-vault", test_not_a_vault);
  ADD ("/vault/format/empty", test_empty_db);
  ADD ("/vault/format/newer-logged", test_newer_format_logged);
  ADD ("/vault/format/no-check-record-empty", test_no_check_record_empty);
  ADD ("/vault/format/no-check-record-with-records", test_no_check_record_with_records);
  ADD ("/vault/format/hot-journal-empty", test_hot_journal_empty);
  ADD ("/vault/format/hot-journal-newer", test_hot_journal_newer);
  ADD ("/vault/format/hot-journal-refused", test_hot_journal_refused);
  ADD ("/vault/async", test_async);
  ADD ("/vault/change-password-async", test_change_password_async);
  ADD ("/vault/no-plaintext-on-disk", test_no_plaintext_on_disk);
  ADD ("/vault/pending-card", test_pending_card);
  ADD ("/vault/pending-charge", test_pending_charge);
  ADD ("/vault/scan-finds-plaintext", test_scan_finds_plaintext);
#undef ADD

  return g_test_run ();
}
