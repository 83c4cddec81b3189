/* ow-vault.c: the wallet's local store, sealed under a master password
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The master password never seals anything itself. It is the token password
 * of an NSS softoken database opened beside vault.db (SECMOD_OpenUserDB, so
 * the process's own NSS initialisation stays untouched). The token holds one
 * private, sensitive AES-256 key object; softoken keeps it wrapped under a
 * PBKDF2 of the master password, and hands out a handle only after a
 * successful login. That is how Firefox keeps saved logins and card numbers
 * in key4.db. Every value in vault.db is AES-256-GCM sealed under that key,
 * with its kind and id as the associated data.
 */
#include "ow-vault.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secerr.h>

#include "onepin-crypto.h"
#include "onepin-crypto-nss.h"

#define VAULT_DB "vault.db"
#define VAULT_FORMAT 1
#define KEY_NICKNAME "onepin-wallet-vault-key"
#define AAD_PREFIX "onepin-wallet-v1"
#define MAX_NAME_LEN 255

/* A record sealed at creation and opened at every unlock: a key database
 * swapped for another (whose password the attacker knows) unlocks, but
 * cannot open this, so the swap is caught before anything is read. */
#define CHECK_KIND "vault"
#define CHECK_ID "check"
#define CHECK_TEXT "onepin wallet vault"

struct _OwVault
{
  GObject       parent_instance;

  char         *dir;
  char         *db_path;
  sqlite3      *db;
  PK11SlotInfo *slot;
  OnepinKey    *key;          /* NULL while locked */
  gboolean      busy;         /* a create, unlock or password change runs in a thread */
  gboolean      changing;     /* the busy one is a password change */
  gboolean      logout_due;   /* locked during a password change: log out after it */
  gboolean      lock_due;     /* locked during a create or unlock: lock again after it */
};

G_DEFINE_FINAL_TYPE (OwVault, ow_vault, G_TYPE_OBJECT)

G_DEFINE_QUARK (ow-vault-error-quark, ow_vault_error)

enum
{
  PROP_0,
  PROP_LOCKED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_STORED,
  SIGNAL_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- helpers ----------------------------------------------------------- */

static gboolean
set_sqlite_error (GError     **error,
                  sqlite3     *db,
                  const char  *what)
{
  g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_FAILED, "%s: %s", what,
               db != NULL ? sqlite3_errmsg (db) : "out of memory");
  return FALSE;
}

static gboolean
set_nss_error (GError     **error,
               const char  *what)
{
  const char *name = PR_ErrorToName (PORT_GetError ());

  g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_FAILED, "%s: %s", what,
               name != NULL ? name : "unknown NSS error");
  return FALSE;
}

static gboolean
check_name (const char  *name,
            const char  *what,
            GError     **error)
{
  gsize len = name != NULL ? strlen (name) : 0;

  if (len > 0 && len <= MAX_NAME_LEN && g_utf8_validate (name, len, NULL))
    return TRUE;

  g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_FAILED,
               "A record %s must be 1 to %d bytes of UTF-8", what, MAX_NAME_LEN);
  return FALSE;
}

static gboolean
check_unlocked (OwVault  *self,
                GError  **error)
{
  if (self->key != NULL)
    return TRUE;

  g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED,
                       "The vault is locked");
  return FALSE;
}

/* "onepin-wallet-v1" NUL kind NUL id: a record's place is part of what the
 * tag authenticates. */
static GByteArray *
record_aad (const char *kind,
            const char *id)
{
  GByteArray *aad = g_byte_array_new ();

  g_byte_array_append (aad, (const guint8 *) AAD_PREFIX, sizeof AAD_PREFIX);
  g_byte_array_append (aad, (const guint8 *) kind, strlen (kind) + 1);
  g_byte_array_append (aad, (const guint8 *) id, strlen (id));
  return aad;
}

/* ---- the NSS key database --------------------------------------------- */

gboolean
ow_vault_global_init (GError **error)
{
  g_autofree char *iterations = g_strdup_printf ("%d", OW_VAULT_KDF_ITERATIONS);

  /* Softoken reads this when a token password is set; the count is stored
   * with the key database, so unlocking later needs no setting. Environment
   * changes are only safe while the process has one thread. */
  g_setenv ("NSS_MIN_MP_PBE_ITERATION_COUNT", iterations, FALSE);

  return onepin_crypto_init (error);
}

char *
ow_vault_default_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "onepin", NULL);
}

static gboolean
open_slot (OwVault  *self,
           GError  **error)
{
  g_autofree char *spec = NULL;

  if (self->slot != NULL)
    return TRUE;

  if (!onepin_crypto_init (error))
    return FALSE;

  /* The module spec quotes values with ' and has no escape for it. */
  if (strchr (self->dir, '\'') != NULL)
    {
      g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_FAILED,
                           "The vault folder's path must not contain a quote");
      return FALSE;
    }

  spec = g_strdup_printf ("configdir='sql:%s' tokenDescription='onepin wallet' "
                          "flags=passwordRequired,optimizeSpace", self->dir);
  self->slot = SECMOD_OpenUserDB (spec);
  if (self->slot == NULL)
    return set_nss_error (error, "Cannot open the key database");

  return TRUE;
}

/* Logs the token out and leaves nothing of the master password in
 * softoken's cache of derivations, which would otherwise answer the next
 * unlock without the work (and hold what opens the key database). */
static void
logout (PK11SlotInfo *slot)
{
  PK11_Logout (slot);
  onepin_crypto_forget_derived_keys ();
}

static void
close_slot (OwVault *self)
{
  if (self->slot == NULL)
    return;

  logout (self->slot);
  SECMOD_CloseUserDB (self->slot);
  g_clear_pointer (&self->slot, PK11_FreeSlot);
}

static gboolean
login (PK11SlotInfo  *slot,
       const char    *password,
       GError       **error)
{
  if (PK11_CheckUserPassword (slot, password) == SECSuccess)
    return TRUE;

  if (PORT_GetError () == SEC_ERROR_BAD_PASSWORD)
    g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BAD_PASSWORD,
                         "The master password is wrong");
  else
    set_nss_error (error, "Cannot log in to the key database");
  /* A wrong password may be the right one mistyped. */
  onepin_crypto_forget_derived_keys ();
  return FALSE;
}

static OnepinKey *
find_key (PK11SlotInfo  *slot,
          GError       **error)
{
  PK11SymKey *list = PK11_ListFixedKeysInSlot (slot, (char *) KEY_NICKNAME, NULL);
  OnepinKey *key;

  if (list == NULL)
    {
      g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_TAMPERED,
                           "The key database holds no vault key");
      return NULL;
    }

  key = onepin_key_new_aes_from_nss (list, error);
  while (list != NULL)
    {
      PK11SymKey *next = PK11_GetNextSymKey (list);

      PK11_FreeSymKey (list);
      list = next;
    }
  return key;
}

static OnepinKey *
generate_key (PK11SlotInfo  *slot,
              GError       **error)
{
  static const char key_id[] = KEY_NICKNAME;
  SECItem id = { siBuffer, (unsigned char *) key_id, sizeof key_id - 1 };
  PK11SymKey *sym;
  OnepinKey *key;

  /* A permanent, private (login required), sensitive and unextractable
   * token object: its bytes never leave softoken unwrapped. */
  sym = PK11_TokenKeyGenWithFlags (slot, CKM_AES_KEY_GEN, NULL, 32, &id,
                                   CKF_ENCRYPT | CKF_DECRYPT,
                                   PK11_ATTR_TOKEN | PK11_ATTR_PRIVATE |
                                   PK11_ATTR_SENSITIVE | PK11_ATTR_UNEXTRACTABLE,
                                   NULL);
  if (sym == NULL)
    {
      set_nss_error (error, "Cannot generate the vault key");
      return NULL;
    }

  if (PK11_SetSymKeyNickname (sym, KEY_NICKNAME) != SECSuccess)
    {
      set_nss_error (error, "Cannot name the vault key");
      PK11_FreeSymKey (sym);
      return NULL;
    }

  key = onepin_key_new_aes_from_nss (sym, error);
  PK11_FreeSymKey (sym);
  return key;
}

/* Runs in a worker thread for the async calls: the KDF is slow on purpose. */
static OnepinKey *
create_key (PK11SlotInfo  *slot,
            const char    *password,
            GError       **error)
{
  if (!PK11_NeedUserInit (slot))
    {
      g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_EXISTS,
                           "The key database already has a password");
      return NULL;
    }

  if (PK11_InitPin (slot, "", password) != SECSuccess)
    {
      set_nss_error (error, "Cannot set the master password");
      return NULL;
    }

  if (!login (slot, password, error))
    return NULL;

  return generate_key (slot, error);
}

static OnepinKey *
unlock_key (PK11SlotInfo  *slot,
            const char    *password,
            GError       **error)
{
  OnepinKey *key;

  if (PK11_NeedUserInit (slot))
    {
      g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NO_VAULT,
                           "The key database has no master password");
      return NULL;
    }

  if (!login (slot, password, error))
    return NULL;

  key = find_key (slot, error);
  if (key == NULL)
    logout (slot);
  return key;
}

/* ---- vault.db ----------------------------------------------------------- */

static gboolean
exec_sql (sqlite3     *db,
          const char  *sql,
          GError     **error)
{
  if (sqlite3_exec (db, sql, NULL, NULL, NULL) == SQLITE_OK)
    return TRUE;
  return set_sqlite_error (error, db, "vault.db");
}

/* Opens vault.db as it is: nothing is read or written yet. */
static sqlite3 *
open_file (const char  *path,
           GError     **error)
{
  sqlite3 *db = NULL;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                       NULL) != SQLITE_OK)
    {
      set_sqlite_error (error, db, "Cannot open vault.db");
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 5000);
  return db;
}

/* For a vault.db known to be ours: deleted pages are zeroed, so an old
 * sealed value does not linger. */
static gboolean
set_pragmas (sqlite3  *db,
             GError  **error)
{
  return exec_sql (db, "PRAGMA secure_delete = ON; PRAGMA synchronous = FULL;", error);
}

/* A rollback journal beside vault.db (vault.db-journal) is hot when it is
 * not empty and its first byte is not 0 (and no connection holds the
 * RESERVED lock: nothing is writing the file, which only the wallet
 * itself, holding it open, would be), and SQLite rolls it back before it
 * reads anything: page 1 in the file may then be half written, or all
 * zeros, and what counts is the file as the journal restores it. SQLite
 * itself makes that, on copies of the two files in a folder of our own
 * beside them, so the originals stay as they are until the file is judged
 * ours; the rolled-back copy comes back in memory (sqlite3_serialize). */
/* Our vault holds a few records: a file or journal this large is not one. */
#define MAX_IMAGE_SIZE (64 * 1024 * 1024)

static guint32
read_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static gboolean
get_contents (const char  *path,
              char       **data,
              gsize       *len,
              GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (g_file_get_contents (path, data, len, &local_error))
    return TRUE;
  g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_FAILED, "Cannot read %s: %s", path,
               local_error->message);
  return FALSE;
}

static gboolean
copy_file (const char  *from,
           const char  *to,
           GError     **error)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize len = 0;

  if (!get_contents (from, &data, &len, error))
    return FALSE;
  if (g_file_set_contents_full (to, data, len, G_FILE_SET_CONTENTS_NONE, 0600, &local_error))
    return TRUE;
  g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_FAILED, "Cannot copy %s: %s", from,
               local_error->message);
  return FALSE;
}

/* Rolls the copy @copy back (its journal beside it) and serializes it. */
static GBytes *
roll_back_copy (const char  *copy,
                GError     **error)
{
  sqlite3 *db = NULL;
  sqlite3_int64 size = 0;
  unsigned char *data = NULL;
  int rc = sqlite3_open_v2 (copy, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);

  /* the first read plays the journal back */
  if (rc == SQLITE_OK)
    rc = sqlite3_exec (db, "PRAGMA schema_version", NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    data = sqlite3_serialize (db, "main", &size, 0);
  if (rc != SQLITE_OK || (data == NULL && size > 0))
    {
      g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NOT_VAULT,
                   "vault.db is not an onepin vault: its journal does not roll back (%s)",
                   db ? sqlite3_errmsg (db) : "out of memory");
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_close (db);
  if (data == NULL)
    return g_bytes_new (NULL, 0);
  return g_bytes_new_with_free_func (data, (gsize) size, sqlite3_free, data);
}

/* vault.db as SQLite reads it, in *image when a hot journal is beside it
 * (NULL when not: the file is read as it is). SQLite deletes a journal
 * beside a file of no bytes, which stays empty. */
static gboolean
read_rolled_back (const char  *path,
                  GBytes     **image,
                  GError     **error)
{
  static const char *const leftovers[] = { "", "-journal", "-wal", "-shm" };
  g_autofree char *journal_path = g_strconcat (path, "-journal", NULL);
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *scratch = g_build_filename (folder, ".check-XXXXXX", NULL);
  g_autofree char *copy = NULL;
  g_autofree char *copy_journal = NULL;
  GStatBuf st, journal_st;
  char first = 0;
  int fd;

  *image = NULL;
  if (g_stat (journal_path, &journal_st) != 0 || journal_st.st_size == 0 ||
      g_stat (path, &st) != 0 || st.st_size == 0)
    return TRUE;
  if (journal_st.st_size > MAX_IMAGE_SIZE || st.st_size > MAX_IMAGE_SIZE)
    {
      g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NOT_VAULT,
                   "%s is not an onepin vault: it or its journal is larger than a vault", path);
      return FALSE;
    }
  fd = g_open (journal_path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || read (fd, &first, 1) != 1 || first == 0)
    {
      if (fd >= 0)
        close (fd);
      return TRUE;
    }
  close (fd);

  if (g_mkdtemp_full (scratch, 0700) == NULL)
    {
      g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_FAILED,
                   "Cannot make a folder beside %s: %s", path, g_strerror (errno));
      return FALSE;
    }
  copy = g_build_filename (scratch, "vault.db", NULL);
  copy_journal = g_strconcat (copy, "-journal", NULL);
  if (copy_file (path, copy, error) && copy_file (journal_path, copy_journal, error))
    *image = roll_back_copy (copy, error);
  for (guint i = 0; i < G_N_ELEMENTS (leftovers); i++)
    {
      g_autofree char *leftover = g_strconcat (copy, leftovers[i], NULL);

      g_unlink (leftover);
    }
  g_rmdir (scratch);
  return *image != NULL;
}

/* The first bytes of vault.db (of @image, the file rolled back, if any),
 * *got of them, read with plain file I/O. */
static gboolean
read_first_bytes (const char  *path,
                  GBytes      *image,
                  guint8      *header,
                  gsize        size,
                  gsize       *got,
                  GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) in = NULL;
  g_autoptr(GError) local_error = NULL;

  if (image != NULL)
    {
      *got = MIN (size, g_bytes_get_size (image));
      /* a file rolled back to no bytes has no data pointer at all */
      if (*got > 0)
        memcpy (header, g_bytes_get_data (image, NULL), *got);
      return TRUE;
    }

  in = g_file_read (file, NULL, &local_error);
  if (in == NULL ||
      !g_input_stream_read_all (G_INPUT_STREAM (in), header, size, got, NULL, &local_error))
    {
      g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_FAILED, "Cannot read %s: %s",
                   path, local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* The version vault.db's header (its first 100 bytes) says; *empty for a
 * file of no bytes. */
static gboolean
read_file_header (const char  *path,
                  GBytes      *image,
                  gboolean    *empty,
                  gint32      *version,
                  gboolean    *rollback_mode,
                  GError     **error)
{
  static const char magic[16] = "SQLite format 3";
  guint8 header[100];
  gsize got = 0;

  if (!read_first_bytes (path, image, header, sizeof header, &got, error))
    return FALSE;

  *empty = got == 0;
  if (*empty)
    return TRUE;
  if (got < sizeof header || memcmp (header, magic, sizeof magic) != 0)
    {
      g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NOT_VAULT,
                   "%s is not an onepin vault", path);
      return FALSE;
    }

  *version = (gint32) read_be32 (header + 60);
  /* the file format's write and read versions: 1 is a rollback journal,
   * 2 a write-ahead log */
  *rollback_mode = header[18] == 1 && header[19] == 1;
  return TRUE;
}

/* Decides from the header alone, before SQLite ever opens vault.db: SQLite
 * replays a write-ahead log it finds beside the file (vault.db-wal), and
 * merges it into the file when it closes, so a file it opened has been
 * changed, and one we refuse must not be. Only version 0 or ours, in
 * rollback-journal mode with no log beside it, is opened (check_format
 * then reads it). Our format never has a log: one beside vault.db, or the
 * file in log mode, means another program wrote it, possibly a newer
 * wallet whose version change is still in the log (the header shows the
 * old one until the log is merged), so at our version it counts as newer.
 * With a hot rollback journal the header judged is @image's, the file as
 * the rollback leaves it (read_rolled_back): what our own interrupted
 * creation left is empty, and a newer wallet's interrupted change of
 * format is ours again. *empty: a file of no bytes (SQLite itself drops a
 * log or a journal beside one). */
static gboolean
check_header (const char  *path,
              GBytes      *image,
              gboolean    *empty,
              GError     **error)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  gint32 version = 0;
  gboolean rollback_mode = FALSE;

  if (!read_file_header (path, image, empty, &version, &rollback_mode, error))
    return FALSE;
  if (*empty)
    return TRUE;

  if (version > VAULT_FORMAT)
    g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NEWER,
                 "%s was written by a newer onepin-wallet (format %d; this one reads %d)",
                 path, version, VAULT_FORMAT);
  else if (version != VAULT_FORMAT && version != 0)
    g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NOT_VAULT,
                 "%s is not an onepin vault", path);
  else if (!rollback_mode || g_file_test (wal, G_FILE_TEST_EXISTS))
    {
      if (version == VAULT_FORMAT)
        g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NEWER,
                     "%s has a write-ahead log, which format %d never has: a newer "
                     "onepin-wallet may have changed its format in the log", path, VAULT_FORMAT);
      else
        g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NOT_VAULT,
                     "%s is not an onepin vault", path);
    }
  else
    return TRUE;
  return FALSE;
}

/* vault.db's user_version and how many schema objects it has, as SQLite
 * reads them; a file that is not SQLite at all is not a vault either. */
static gboolean
read_header (sqlite3     *db,
             const char  *path,
             int         *version,
             int         *objects,
             GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db, "SELECT (SELECT user_version FROM pragma_user_version),"
                               " (SELECT count(*) FROM sqlite_master)", -1, &stmt, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      *version = sqlite3_column_int (stmt, 0);
      *objects = sqlite3_column_int (stmt, 1);
    }
  sqlite3_finalize (stmt);

  if (rc == SQLITE_ROW)
    return TRUE;
  if (sqlite3_errcode (db) == SQLITE_NOTADB)
    {
      g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NOT_VAULT,
                   "%s is not an onepin vault", path);
      return FALSE;
    }
  return set_sqlite_error (error, db, "Cannot read vault.db");
}

/* Our table, with the columns this wallet reads and writes. */
static gboolean
has_records_table (sqlite3 *db)
{
  sqlite3_stmt *stmt = NULL;
  gboolean found;

  found = sqlite3_prepare_v2 (db, "SELECT kind, id, sealed, updated_at FROM records",
                              -1, &stmt, NULL) == SQLITE_OK;
  sqlite3_finalize (stmt);
  return found;
}

/* Our vault.db holds its check record. Without it and without any record
 * it is what creating a vault left when that was not one transaction yet
 * and was interrupted before the check record (*empty): nothing was ever
 * stored in it. Records without it are refused, and kept: no password can
 * be checked against them, and they are not ours to drop. */
static gboolean
check_records (sqlite3     *db,
               const char  *path,
               gboolean    *empty,
               GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean has_check = FALSE;
  gboolean has_any = FALSE;
  int rc;

  rc = sqlite3_prepare_v2 (db, "SELECT EXISTS (SELECT 1 FROM records WHERE kind = '"
                               CHECK_KIND "' AND id = '" CHECK_ID "'),"
                               " EXISTS (SELECT 1 FROM records)", -1, &stmt, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      has_check = sqlite3_column_int (stmt, 0);
      has_any = sqlite3_column_int (stmt, 1);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW)
    return set_sqlite_error (error, db, "Cannot read vault.db");

  if (has_check)
    return TRUE;
  if (!has_any)
    {
      *empty = TRUE;
      return TRUE;
    }
  g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NO_CHECK_RECORD,
               "%s has records but no check record, so no master password can be "
               "checked against it", path);
  return FALSE;
}

/* Whether vault.db is ours: VAULT_FORMAT with the records table and its
 * check record (check_records). Version 0 without a single table is what
 * an interrupted creation leaves (*empty): nothing was ever stored in it.
 * Anything else (a newer wallet's vault, another program's file) is
 * refused, and neither read nor written. check_header has passed the file
 * first. */
static gboolean
check_format (sqlite3     *db,
              const char  *path,
              gboolean    *empty,
              GError     **error)
{
  int version = 0;
  int objects = 0;

  *empty = FALSE;
  if (!read_header (db, path, &version, &objects, error))
    return FALSE;

  if (version == VAULT_FORMAT && has_records_table (db))
    return check_records (db, path, empty, error);
  if (version == 0 && objects == 0)
    {
      *empty = TRUE;
      return TRUE;
    }
  if (version > VAULT_FORMAT)
    g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NEWER,
                 "%s was written by a newer onepin-wallet (format %d; this one reads %d)",
                 path, version, VAULT_FORMAT);
  else
    g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NOT_VAULT,
                 "%s is not an onepin vault", path);
  return FALSE;
}

/* A read-only connection to vault.db as SQLite would read it: to @image,
 * the file rolled back in memory, when a hot journal is beside it (a
 * read-only connection to the file itself refuses to read it then, with
 * SQLITE_READONLY_ROLLBACK). Nothing is written through it, so a file
 * check_format refuses is left as it was, journal and all. */
static sqlite3 *
open_read_only (const char  *path,
                GBytes      *image,
                GError     **error)
{
  sqlite3 *db = NULL;
  int rc;

  if (image == NULL)
    rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL);
  else if ((rc = sqlite3_open_v2 (":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                                  NULL)) == SQLITE_OK)
    {
      gsize size = g_bytes_get_size (image);
      unsigned char *copy = sqlite3_malloc64 (MAX (size, 1));

      if (copy == NULL)
        rc = SQLITE_NOMEM;
      else
        {
          memcpy (copy, g_bytes_get_data (image, NULL), size);
          /* frees copy, even when it fails */
          rc = sqlite3_deserialize (db, "main", copy, size, size,
                                    SQLITE_DESERIALIZE_FREEONCLOSE |
                                    SQLITE_DESERIALIZE_READONLY);
        }
    }

  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, "Cannot open vault.db");
      sqlite3_close (db);
      return NULL;
    }
  return db;
}

/* Judges vault.db read-only (check_header, then check_format through
 * open_read_only). *empty: there is no vault yet. */
static gboolean
judge_file (const char  *path,
            gboolean    *empty,
            GError     **error)
{
  g_autoptr(GBytes) image = NULL;
  sqlite3 *db;
  gboolean accepted;

  if (!read_rolled_back (path, &image, error) || !check_header (path, image, empty, error))
    return FALSE;
  if (*empty)
    return TRUE;

  db = open_read_only (path, image, error);
  if (db == NULL)
    return FALSE;
  accepted = check_format (db, path, empty, error);
  sqlite3_close (db);
  return accepted;
}

/* Opens vault.db if the folder holds one of ours. With none, or an empty
 * one (judge_file), self->db stays NULL: there is no vault yet. Only a
 * file judged ours is opened read-write, which rolls back a hot journal
 * beside it; check_format reads it again as rolled back. */
static gboolean
open_existing_db (OwVault  *self,
                  GError  **error)
{
  sqlite3 *db;
  gboolean empty;

  if (!g_file_test (self->db_path, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!judge_file (self->db_path, &empty, error))
    return FALSE;
  if (empty)
    return TRUE;

  db = open_file (self->db_path, error);
  if (db == NULL)
    return FALSE;
  if (!check_format (db, self->db_path, &empty, error) || (!empty && !set_pragmas (db, error)))
    {
      sqlite3_close (db);
      return FALSE;
    }

  if (empty)
    sqlite3_close (db);
  else
    self->db = db;
  return TRUE;
}

/* Creates vault.db and leaves its transaction open: finish_create seals the
 * check record into it and commits, so a crash leaves an empty file, never
 * a vault without its check record. */
static gboolean
create_db (OwVault  *self,
           GError  **error)
{
  sqlite3 *db;
  /* SQLite would create it 0644; its journal copies the file's mode. */
  int fd = g_open (self->db_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, OW_VAULT_ERROR,
                   saved_errno == EEXIST ? OW_VAULT_ERROR_EXISTS : OW_VAULT_ERROR_FAILED,
                   "Cannot create vault.db: %s", g_strerror (saved_errno));
      return FALSE;
    }
  close (fd);

  db = open_file (self->db_path, error);
  if (db == NULL)
    return FALSE;
  if (!set_pragmas (db, error) ||
      !exec_sql (db,
                 "BEGIN;"
                 "CREATE TABLE records ("
                 "  kind TEXT NOT NULL,"
                 "  id TEXT NOT NULL,"
                 "  sealed BLOB NOT NULL,"
                 "  updated_at INTEGER NOT NULL,"
                 "  PRIMARY KEY (kind, id)"
                 ") WITHOUT ROWID;"
                 "PRAGMA user_version = " G_STRINGIFY (VAULT_FORMAT) ";", error))
    {
      sqlite3_close (db);
      return FALSE;
    }

  self->db = db;
  return TRUE;
}

static sqlite3_stmt *
prepare (OwVault     *self,
         const char  *sql,
         GError     **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_sqlite_error (error, self->db, "vault.db");
      return NULL;
    }
  return stmt;
}

static gboolean
store_record (OwVault     *self,
              const char  *kind,
              const char  *id,
              const char  *plain,
              GError     **error)
{
  g_autoptr(GByteArray) aad = record_aad (kind, id);
  g_autoptr(GBytes) sealed = NULL;
  sqlite3_stmt *stmt;
  gsize len;
  const void *data;
  int rc;

  sealed = onepin_key_seal (self->key, plain, strlen (plain), aad->data, aad->len, error);
  if (sealed == NULL)
    return FALSE;

  stmt = prepare (self,
                  "INSERT INTO records (kind, id, sealed, updated_at) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT (kind, id) DO UPDATE SET sealed = excluded.sealed, "
                  "updated_at = excluded.updated_at", error);
  if (stmt == NULL)
    return FALSE;

  data = g_bytes_get_data (sealed, &len);
  sqlite3_bind_text (stmt, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_STATIC);
  sqlite3_bind_blob (stmt, 3, data, (int) len, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, g_get_real_time () / G_USEC_PER_SEC);
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);

  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, self->db, "Cannot store the record");
  return TRUE;
}

static char *
open_record (OwVault     *self,
             const char  *kind,
             const char  *id,
             GError     **error)
{
  g_autoptr(GByteArray) aad = record_aad (kind, id);
  g_autoptr(GError) local_error = NULL;
  GBytes *plain = NULL;
  sqlite3_stmt *stmt;
  gsize len = 0;
  char *text;
  int rc;

  stmt = prepare (self, "SELECT sealed FROM records WHERE kind = ? AND id = ?", error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_text (stmt, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    plain = onepin_key_open (self->key, sqlite3_column_blob (stmt, 0),
                             (gsize) sqlite3_column_bytes (stmt, 0),
                             aad->data, aad->len, &local_error);
  else if (rc == SQLITE_DONE)
    g_set_error (&local_error, OW_VAULT_ERROR, OW_VAULT_ERROR_NOT_FOUND,
                 "No %s record “%s”", kind, id);
  else
    set_sqlite_error (&local_error, self->db, "Cannot read the record");
  sqlite3_finalize (stmt);

  if (plain == NULL)
    {
      if (g_error_matches (local_error, ONEPIN_CRYPTO_ERROR, ONEPIN_CRYPTO_ERROR_AUTH))
        g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_TAMPERED,
                     "The %s record “%s” was altered or is not from this vault", kind, id);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  /* A copy with a terminating NUL; the GBytes' copy is wiped before freeing. */
  {
    guint8 *data = g_bytes_unref_to_data (plain, &len);

    text = g_malloc0 (len + 1);
    if (len > 0)
      {
        memcpy (text, data, len);
        ow_secret_wipe (data, len);
      }
    g_free (data);
  }

  if (memchr (text, '\0', len) != NULL || !g_utf8_validate (text, len, NULL))
    {
      ow_secret_free (text);
      g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_TAMPERED,
                   "The %s record “%s” is not text", kind, id);
      return NULL;
    }
  return text;
}

/* ---- GObject ------------------------------------------------------------ */

static void
ow_vault_dispose (GObject *object)
{
  OwVault *self = OW_VAULT (object);

  g_clear_pointer (&self->key, onepin_key_free);
  close_slot (self);
  g_clear_pointer (&self->db, sqlite3_close);

  G_OBJECT_CLASS (ow_vault_parent_class)->dispose (object);
}

static void
ow_vault_finalize (GObject *object)
{
  OwVault *self = OW_VAULT (object);

  g_free (self->dir);
  g_free (self->db_path);

  G_OBJECT_CLASS (ow_vault_parent_class)->finalize (object);
}

static void
ow_vault_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  OwVault *self = OW_VAULT (object);

  switch (prop_id)
    {
    case PROP_LOCKED:
      g_value_set_boolean (value, ow_vault_is_locked (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ow_vault_class_init (OwVaultClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ow_vault_dispose;
  object_class->finalize = ow_vault_finalize;
  object_class->get_property = ow_vault_get_property;

  properties[PROP_LOCKED] =
    g_param_spec_boolean ("locked", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* void stored (OwVault *vault, const char *kind, const char *id): a
   * record added or replaced by ow_vault_store (). */
  signals[SIGNAL_STORED] = g_signal_new ("stored", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING,
                                         G_TYPE_STRING);
  /* void removed (OwVault *vault, const char *kind, const char *id): both
   * NULL when every record went (ow_vault_clear). */
  signals[SIGNAL_REMOVED] = g_signal_new ("removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING,
                                          G_TYPE_STRING);
}

static void
ow_vault_init (OwVault *self)
{
}

OwVault *
ow_vault_new (const char  *dir,
              GError     **error)
{
  g_autoptr(OwVault) self = NULL;

  g_return_val_if_fail (dir != NULL && g_path_is_absolute (dir), NULL);

  self = g_object_new (OW_TYPE_VAULT, NULL);
  self->dir = g_strdup (dir);
  self->db_path = g_build_filename (dir, VAULT_DB, NULL);

  if (!open_existing_db (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

const char *
ow_vault_get_dir (OwVault *self)
{
  g_return_val_if_fail (OW_IS_VAULT (self), NULL);
  return self->dir;
}

gboolean
ow_vault_exists (OwVault *self)
{
  g_return_val_if_fail (OW_IS_VAULT (self), FALSE);
  return self->db != NULL;
}

gboolean
ow_vault_is_busy (OwVault *self)
{
  g_return_val_if_fail (OW_IS_VAULT (self), FALSE);

  return self->busy;
}

gboolean
ow_vault_is_locked (OwVault *self)
{
  g_return_val_if_fail (OW_IS_VAULT (self), TRUE);
  return self->key == NULL;
}

static void
set_key (OwVault   *self,
         OnepinKey *key)
{
  gboolean was_locked = self->key == NULL;

  g_clear_pointer (&self->key, onepin_key_free);
  self->key = key;
  if (was_locked != (key == NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOCKED]);
}

void
ow_vault_lock (OwVault *self)
{
  g_return_if_fail (OW_IS_VAULT (self));

  /* A password change in its thread needs the token logged in to the end;
   * the key is forgotten now all the same, so nothing opens meanwhile. */
  if (self->changing)
    self->logout_due = TRUE;
  else if (self->busy)
    self->lock_due = TRUE;
  else if (self->slot != NULL)
    logout (self->slot);
  set_key (self, NULL);
}

/* ---- create and unlock ------------------------------------------------- */

typedef OnepinKey *(*KeyFunc) (PK11SlotInfo *slot, const char *password, GError **error);

typedef struct
{
  PK11SlotInfo *slot;
  char         *password;
  KeyFunc       func;
} KeyJob;

static void
key_job_free (KeyJob *job)
{
  g_clear_pointer (&job->slot, PK11_FreeSlot);
  ow_secret_free (job->password);
  g_free (job);
}

static void
key_job_run (GTask        *task,
             gpointer      source,
             gpointer      data,
             GCancellable *cancellable)
{
  KeyJob *job = data;
  GError *error = NULL;
  OnepinKey *key = job->func (job->slot, job->password, &error);

  if (key == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, key, (GDestroyNotify) onepin_key_free);
}

static gboolean
check_password_strength (const char  *password,
                         GError     **error)
{
  if (password != NULL && g_utf8_validate (password, -1, NULL) &&
      g_utf8_strlen (password, -1) >= OW_VAULT_MIN_PASSWORD_CHARS)
    return TRUE;

  g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_WEAK_PASSWORD,
               "The master password needs at least %d characters",
               OW_VAULT_MIN_PASSWORD_CHARS);
  return FALSE;
}

/* A key database without vault.db, or with an empty one (no bytes, no
 * table, or the table without a record: check_header, check_format), is
 * what an interrupted creation leaves; nothing was ever sealed under it,
 * so it goes, and vault.db with it. */
static gboolean
prepare_create (OwVault  *self,
                GError  **error)
{
  static const char *const leftovers[] = { "cert9.db", "key4.db", "pkcs11.txt",
                                           VAULT_DB, VAULT_DB "-journal", VAULT_DB "-wal",
                                           VAULT_DB "-shm" };

  /* vault.db may have come since ow_vault_new: look at it again. */
  if (self->db == NULL && !open_existing_db (self, error))
    return FALSE;
  if (self->db != NULL)
    {
      g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_EXISTS,
                           "A vault already exists here");
      return FALSE;
    }

  if (g_mkdir_with_parents (self->dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_FAILED,
                   "Cannot create the vault folder: %s", g_strerror (saved_errno));
      return FALSE;
    }

  close_slot (self);
  for (guint i = 0; i < G_N_ELEMENTS (leftovers); i++)
    {
      g_autofree char *path = g_build_filename (self->dir, leftovers[i], NULL);

      if (g_unlink (path) != 0 && errno != ENOENT)
        {
          int saved_errno = errno;

          g_set_error (error, OW_VAULT_ERROR, OW_VAULT_ERROR_FAILED,
                       "Cannot remove %s: %s", leftovers[i], g_strerror (saved_errno));
          return FALSE;
        }
    }

  return open_slot (self, error);
}

static gboolean
finish_create (OwVault    *self,
               OnepinKey  *key,
               GError    **error)
{
  if (key == NULL)
    return FALSE;

  set_key (self, key);
  /* Refused, vault.db is not ours to remove (it came meanwhile); failed
   * after, it is empty: no vault yet, either way. */
  if (!create_db (self, error))
    {
      ow_vault_lock (self);
      return FALSE;
    }
  if (store_record (self, CHECK_KIND, CHECK_ID, CHECK_TEXT, error) &&
      exec_sql (self->db, "COMMIT", error))
    return TRUE;

  ow_vault_lock (self);
  g_clear_pointer (&self->db, sqlite3_close);
  g_unlink (self->db_path);
  return FALSE;
}

static gboolean
finish_unlock (OwVault    *self,
               OnepinKey  *key,
               GError    **error)
{
  g_autoptr(OwSecret) check = NULL;

  /* A failed attempt leaves the vault locked, even if it was not. */
  if (key == NULL)
    {
      ow_vault_lock (self);
      return FALSE;
    }

  set_key (self, key);
  check = open_record (self, CHECK_KIND, CHECK_ID, error);
  if (check != NULL && strcmp (check, CHECK_TEXT) == 0)
    return TRUE;

  if (check != NULL)
    g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_TAMPERED,
                         "The vault's check record is wrong");
  ow_vault_lock (self);
  return FALSE;
}

static gboolean
prepare_unlock (OwVault  *self,
                GError  **error)
{
  if (self->db == NULL)
    {
      g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_NO_VAULT,
                           "There is no vault here yet");
      return FALSE;
    }
  return open_slot (self, error);
}

gboolean
ow_vault_create (OwVault     *self,
                 const char  *master_password,
                 GError     **error)
{
  g_return_val_if_fail (OW_IS_VAULT (self), FALSE);
  g_return_val_if_fail (!self->busy, FALSE);

  if (!check_password_strength (master_password, error) || !prepare_create (self, error))
    return FALSE;

  return finish_create (self, create_key (self->slot, master_password, error), error);
}

gboolean
ow_vault_unlock (OwVault     *self,
                 const char  *master_password,
                 GError     **error)
{
  g_return_val_if_fail (OW_IS_VAULT (self), FALSE);
  g_return_val_if_fail (master_password != NULL, FALSE);
  g_return_val_if_fail (!self->busy, FALSE);

  if (!prepare_unlock (self, error))
    return FALSE;

  return finish_unlock (self, unlock_key (self->slot, master_password, error), error);
}

typedef gboolean (*FinishFunc) (OwVault *self, OnepinKey *key, GError **error);

/* One job at a time: a master password change may still be running when
 * the unlock page is used, say. */
static gboolean
check_not_busy (OwVault  *self,
                GError  **error)
{
  if (!self->busy)
    return TRUE;
  g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BUSY,
                       "The vault is busy; try again when it is done");
  return FALSE;
}

/* Reports @prepare_error if set; otherwise runs @func in a worker thread. */
static void
start_key_job (OwVault             *self,
               GError              *prepare_error,
               KeyFunc              func,
               const char          *password,
               gpointer             tag,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  KeyJob *job;

  g_task_set_source_tag (task, tag);
  if (prepare_error != NULL)
    {
      g_task_return_error (task, prepare_error);
      return;
    }

  job = g_new0 (KeyJob, 1);
  job->slot = PK11_ReferenceSlot (self->slot);
  job->password = g_strdup (password);
  job->func = func;
  self->busy = TRUE;

  g_task_set_task_data (task, job, (GDestroyNotify) key_job_free);
  g_task_run_in_thread (task, key_job_run);
}

static gboolean
finish_key_job (OwVault       *self,
                GAsyncResult  *result,
                FinishFunc     finish,
                GError       **error)
{
  gboolean ok;

  /* An error from before the thread: there is no key job to finish. */
  if (g_task_get_task_data (G_TASK (result)) == NULL)
    return g_task_propagate_boolean (G_TASK (result), error);

  self->busy = FALSE;
  ok = finish (self, g_task_propagate_pointer (G_TASK (result), error), error);
  /* Locked while the key was being derived: the lock wins. A created vault
   * stays created, only locked; an unlock did not happen. */
  if (self->lock_due)
    {
      self->lock_due = FALSE;
      ow_vault_lock (self);
      if (ok && finish == finish_unlock)
        return g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_LOCKED,
                                    "The vault was locked while it was being opened"), FALSE;
    }
  return ok;
}

void
ow_vault_create_async (OwVault             *self,
                       const char          *master_password,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  GError *error = NULL;

  g_return_if_fail (OW_IS_VAULT (self));

  if (check_not_busy (self, &error) && check_password_strength (master_password, &error))
    prepare_create (self, &error);
  start_key_job (self, error, create_key, master_password, ow_vault_create_async,
                 cancellable, callback, user_data);
}

gboolean
ow_vault_create_finish (OwVault       *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (OW_IS_VAULT (self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, ow_vault_create_async), FALSE);

  return finish_key_job (self, result, finish_create, error);
}

void
ow_vault_unlock_async (OwVault             *self,
                       const char          *master_password,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  GError *error = NULL;

  g_return_if_fail (OW_IS_VAULT (self));
  g_return_if_fail (master_password != NULL);

  if (check_not_busy (self, &error))
    prepare_unlock (self, &error);
  start_key_job (self, error, unlock_key, master_password, ow_vault_unlock_async,
                 cancellable, callback, user_data);
}

gboolean
ow_vault_unlock_finish (OwVault       *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (OW_IS_VAULT (self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, ow_vault_unlock_async), FALSE);

  return finish_key_job (self, result, finish_unlock, error);
}

/* Any thread: the KDF runs for the old password and for the new one.
 * PK11_ChangePW checks the old one itself. A PK11_CheckUserPassword first
 * would log the token out and in again, and a record opened meanwhile (the
 * main thread's, during the async change) would find the key unusable. */
static gboolean
change_password (PK11SlotInfo  *slot,
                 const char    *old_password,
                 const char    *new_password,
                 GError       **error)
{
  if (PK11_ChangePW (slot, old_password, new_password) == SECSuccess)
    return TRUE;
  if (PORT_GetError () == SEC_ERROR_BAD_PASSWORD)
    {
      g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_BAD_PASSWORD,
                           "The master password is wrong");
      return FALSE;
    }
  return set_nss_error (error, "Cannot change the master password");
}

gboolean
ow_vault_change_password (OwVault     *self,
                          const char  *old_password,
                          const char  *new_password,
                          GError     **error)
{
  g_return_val_if_fail (OW_IS_VAULT (self), FALSE);
  g_return_val_if_fail (old_password != NULL, FALSE);
  g_return_val_if_fail (!self->busy, FALSE);

  if (!check_unlocked (self, error) || !check_password_strength (new_password, error))
    return FALSE;
  return change_password (self->slot, old_password, new_password, error);
}

typedef struct
{
  PK11SlotInfo *slot;
  char         *old_password;
  char         *new_password;
} ChangeJob;

static void
change_job_free (ChangeJob *job)
{
  g_clear_pointer (&job->slot, PK11_FreeSlot);
  ow_secret_free (job->old_password);
  ow_secret_free (job->new_password);
  g_free (job);
}

static void
change_job_run (GTask        *task,
                gpointer      source,
                gpointer      data,
                GCancellable *cancellable)
{
  ChangeJob *job = data;
  GError *error = NULL;

  if (change_password (job->slot, job->old_password, job->new_password, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
ow_vault_change_password_async (OwVault             *self,
                                const char          *old_password,
                                const char          *new_password,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  ChangeJob *job;

  g_return_if_fail (OW_IS_VAULT (self));
  g_return_if_fail (old_password != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ow_vault_change_password_async);
  /* The change is done once started: its outcome is reported, never cancelled. */
  g_task_set_check_cancellable (task, FALSE);
  if (!check_not_busy (self, &error) || !check_unlocked (self, &error) ||
      !check_password_strength (new_password, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  job = g_new0 (ChangeJob, 1);
  job->slot = PK11_ReferenceSlot (self->slot);
  job->old_password = g_strdup (old_password);
  job->new_password = g_strdup (new_password);
  self->busy = TRUE;
  self->changing = TRUE;
  g_task_set_task_data (task, job, (GDestroyNotify) change_job_free);
  g_task_run_in_thread (task, change_job_run);
}

gboolean
ow_vault_change_password_finish (OwVault       *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (OW_IS_VAULT (self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, ow_vault_change_password_async),
                        FALSE);

  /* A refusal from before the thread: nothing ran, nothing to undo. */
  if (g_task_get_task_data (G_TASK (result)) != NULL)
    {
      self->busy = FALSE;
      self->changing = FALSE;
      if (self->logout_due)
        {
          self->logout_due = FALSE;
          if (self->key == NULL && self->slot != NULL)
            logout (self->slot);
        }
    }
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- records ------------------------------------------------------------ */

gboolean
ow_vault_store (OwVault     *self,
                const char  *kind,
                const char  *id,
                const char  *secret,
                GError     **error)
{
  g_return_val_if_fail (OW_IS_VAULT (self), FALSE);
  g_return_val_if_fail (secret != NULL, FALSE);
  g_return_val_if_fail (g_strcmp0 (kind, CHECK_KIND) != 0, FALSE);

  if (!check_name (kind, "kind", error) || !check_name (id, "id", error) ||
      !check_unlocked (self, error))
    return FALSE;

  if (!g_utf8_validate (secret, -1, NULL))
    {
      g_set_error_literal (error, OW_VAULT_ERROR, OW_VAULT_ERROR_FAILED,
                           "A record must be UTF-8 text");
      return FALSE;
    }

  if (!store_record (self, kind, id, secret, error))
    return FALSE;
  g_signal_emit (self, signals[SIGNAL_STORED], 0, kind, id);
  return TRUE;
}

char *
ow_vault_lookup (OwVault     *self,
                 const char  *kind,
                 const char  *id,
                 GError     **error)
{
  g_return_val_if_fail (OW_IS_VAULT (self), NULL);

  if (!check_name (kind, "kind", error) || !check_name (id, "id", error) ||
      !check_unlocked (self, error))
    return NULL;

  return open_record (self, kind, id, error);
}

gboolean
ow_vault_remove (OwVault     *self,
                 const char  *kind,
                 const char  *id,
                 GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (OW_IS_VAULT (self), FALSE);
  g_return_val_if_fail (g_strcmp0 (kind, CHECK_KIND) != 0, FALSE);

  if (!check_name (kind, "kind", error) || !check_name (id, "id", error) ||
      !check_unlocked (self, error))
    return FALSE;

  stmt = prepare (self, "DELETE FROM records WHERE kind = ? AND id = ?", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);

  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, self->db, "Cannot remove the record");
  g_signal_emit (self, signals[SIGNAL_REMOVED], 0, kind, id);
  return TRUE;
}

GStrv
ow_vault_list (OwVault     *self,
               const char  *kind,
               GError     **error)
{
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (OW_IS_VAULT (self), NULL);

  if (!check_name (kind, "kind", error))
    return NULL;
  if (self->db == NULL)
    return g_strv_builder_end (ids);

  stmt = prepare (self, "SELECT id FROM records WHERE kind = ? ORDER BY id", error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_text (stmt, 1, kind, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_strv_builder_add (ids, (const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);

  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, self->db, "Cannot list records");
      return NULL;
    }
  return g_strv_builder_end (ids);
}

gboolean
ow_vault_clear (OwVault  *self,
                GError  **error)
{
  g_return_val_if_fail (OW_IS_VAULT (self), FALSE);

  if (!check_unlocked (self, error) ||
      !exec_sql (self->db, "DELETE FROM records WHERE kind <> '" CHECK_KIND "'", error))
    return FALSE;
  g_signal_emit (self, signals[SIGNAL_REMOVED], 0, NULL, NULL);
  return TRUE;
}
