/* gw-store-sqlite.c: one writer thread, group commit, WAL
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every write goes through one thread that owns the write connection. It
 * takes everything waiting in its queue, applies it as one transaction (each
 * operation in a savepoint of its own, or a run of repeatable ones in one
 * shared savepoint), commits with synchronous=FULL, and only then hands the
 * completions back to the main context. So a reply is never sent before its
 * effects are durable, and one fsync pays for a whole batch of payments.
 *
 * Reads go through connections of their own (one per thread), which WAL lets
 * run beside the writer without waiting for it.
 */
#include "gw-store-sqlite-private.h"
#include "gw-keys.h"
#include "gw-outbox-store.h"

#include "gw-orders-store-sqlite.h"

#include <sqlite3.h>
#include <string.h>

#include "gw-checkout-store-sqlite.h"
#include "gw-network-store-sqlite.h"
#include "gw-foreign-store.h"
#include "gw-phone-store.h"
#include "gw-settlement-store.h"
#include "gw-wallet.h"
#include "gw-wallet-store-sqlite.h"

#define GW_MAX_BATCH 2048
/* WAL frames (pages) that ask for a checkpoint. A checkpoint copies each
 * page once however often the WAL holds it, so a longer WAL copies the hot
 * pages (balances, the lines-by-account index) fewer times per payment; at
 * 16,000 frames (some 64 MiB) the checkpointer costs a third of what it did
 * at 4,000. */
#define CHECKPOINT_FRAMES 16000
/* How many frames the checkpointer copies while it keeps the writer waiting
 * to start the WAL over, and how long it may wait for it, in steps of 100 µs
 * (below). */
#define CATCH_UP_FRAMES 64
#define CATCH_UP_TRIES 200
/* The writer's wait for the lock, in the same steps: 5 s. */
#define WRITER_TRIES 50000
/* A sync of the database file this short found it nearly clean; after this
 * many longer ones, the restart goes ahead anyway. */
#define CATCH_UP_SYNC_US 1000
#define CATCH_UP_SYNCS 4
#define MIGRATIONS_PATH "/org/onepin/gateway/migrations"

typedef struct
{
  GwStoreApplyFunc  apply;        /* NULL for the shutdown marker */
  GwStoreDoneFunc   done;
  gpointer          data;
  GwStoreOpFlags    flags;
  GError           *error;
} Op;

typedef struct
{
  GwTxn          parent;
  GwStoreSqlite *store;
  sqlite3       *db;
  GHashTable    *stmts;           /* SQL text (by address) -> sqlite3_stmt */
  gint64         now;
  gboolean       read_only;
  gint           serial;          /* of the store a reader connection was opened for */
} SqliteTxn;

struct _GwStoreSqlite
{
  GObject           parent_instance;

  char             *path;
  OnepinKey        *seal_key;
  OnepinKey        *idempotency_key;
  OnepinKey        *lookup_key;       /* for the migrations only */
  GMainContext     *main_context;

  SqliteTxn         writer_txn;
  GThread          *writer;
  GAsyncQueue      *queue;
  gboolean          stopped;
  GPtrArray        *plugged;      /* held back by gw_store_plug (main context only) */

  GwCommitObserver  observer;
  gpointer          observer_data;

  gint              serial;       /* unique in the process, unlike the address */

  /* Checkpoints run on a thread of their own, so the writer never copies
   * pages back into the database file between two batches. */
  GThread          *checkpointer;
  GMutex            checkpoint_lock;
  GCond             checkpoint_cond;
  gboolean          checkpoint_wanted;
  gboolean          checkpoint_stop;
  gint              checkpoint_frames;  /* CHECKPOINT_FRAMES, but for tests */
  gint              wal_frames;         /* the WAL's length after the last commit */
  gint              wal_commits;        /* commits, and those after which the WAL */
  gint              wal_commits_long;   /* was twice what asks for a checkpoint */
  gint              asked_rounds;       /* rounds done that the writer asked for, */
  gint              restart_rounds;     /* and the restart rounds tried */

  GHashTable       *merchant_accounts;  /* writer only: merchant id -> account id */
};

static void gw_store_sqlite_iface_init (GwStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GwStoreSqlite, gw_store_sqlite, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GW_TYPE_STORE, gw_store_sqlite_iface_init))

static const GwTxnFuncs sqlite_txn_funcs;

/* Connections and statements */

static gboolean
set_sqlite_error (GError  **error,
                  sqlite3  *db,
                  int       rc)
{
  int code = GW_STORE_ERROR_FAILED;

  int extended = sqlite3_extended_errcode (db);

  /* A taken key, whether a UNIQUE column or the primary key; a failed CHECK
   * is not a duplicate and stays FAILED. */
  if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY)
    code = GW_STORE_ERROR_DUPLICATE;
  /* SQLite's messages name tables and columns, never bound values. */
  g_set_error (error, GW_STORE_ERROR, code, "sqlite: %s", sqlite3_errmsg (db));
  return FALSE;
}

static gboolean
exec_sql (sqlite3     *db,
          const char  *sql,
          GError     **error)
{
  /* Only for setup and rare statements: the hot ones go through run (). */
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return set_sqlite_error (error, db, rc);
  return TRUE;
}

static sqlite3 *
open_connection (const char  *path,
                 gboolean     read_only,
                 GError     **error)
{
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_NOMUTEX | (read_only ? SQLITE_OPEN_READONLY
                                               : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2 (path, &db, flags, gw_sqlite_vfs ());

  if (rc != SQLITE_OK)
    {
      g_set_error (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                   "Cannot open database: %s", db ? sqlite3_errmsg (db) : "out of memory");
      sqlite3_close (db);
      return NULL;
    }

  sqlite3_busy_timeout (db, 5000);
  sqlite3_extended_result_codes (db, 1);
  if (!exec_sql (db, read_only ? "PRAGMA query_only=ON; PRAGMA cache_size=-16384;"
                               : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                 "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
                                 "PRAGMA foreign_keys=OFF;",
                 error))
    {
      sqlite3_close (db);
      return NULL;
    }

  return db;
}

static void
finalize_stmt (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
txn_init (SqliteTxn     *txn,
          GwStoreSqlite *store,
          sqlite3       *db,
          gboolean       read_only)
{
  txn->parent.funcs = &sqlite_txn_funcs;
  txn->store = store;
  txn->db = db;
  txn->read_only = read_only;
  txn->stmts = g_hash_table_new_full (NULL, NULL, NULL, finalize_stmt);
}

static void
txn_clear (SqliteTxn *txn)
{
  g_clear_pointer (&txn->stmts, g_hash_table_unref);
  g_clear_pointer (&txn->db, sqlite3_close);
}

/* Statements are cached by the address of their SQL text, which is always a
 * string literal, so the lookup costs one pointer hash. */
static sqlite3_stmt *
prep (SqliteTxn   *txn,
      const char  *sql,
      GError     **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (txn->stmts, sql);
  int rc;

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }

  rc = sqlite3_prepare_v3 (txn->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, txn->db, rc);
      return NULL;
    }

  g_hash_table_insert (txn->stmts, (gpointer) sql, stmt);
  return stmt;
}

static gboolean step_done (SqliteTxn *txn, sqlite3_stmt *stmt, GError **error);

/* A statement without parameters, prepared once per connection. */
static gboolean
run (SqliteTxn   *txn,
     const char  *sql,
     GError     **error)
{
  sqlite3_stmt *stmt = prep (txn, sql, error);

  return stmt != NULL && step_done (txn, stmt, error);
}

static void
bind_text (sqlite3_stmt *stmt,
           int           idx,
           const char   *text)
{
  if (text == NULL)
    sqlite3_bind_null (stmt, idx);
  else
    sqlite3_bind_text (stmt, idx, text, -1, SQLITE_STATIC);
}

static void
bind_bytes (sqlite3_stmt *stmt,
            int           idx,
            GBytes       *bytes)
{
  gsize len = 0;
  const void *data;

  if (bytes == NULL)
    {
      sqlite3_bind_null (stmt, idx);
      return;
    }
  data = g_bytes_get_data (bytes, &len);
  sqlite3_bind_blob (stmt, idx, data, (int) len, SQLITE_STATIC);
}

static void
copy_text (char         *dest,
           gsize         size,
           sqlite3_stmt *stmt,
           int           col)
{
  const char *text = (const char *) sqlite3_column_text (stmt, col);

  g_strlcpy (dest, text ? text : "", size);
}

/* Runs a statement that returns no rows. */
static gboolean
step_done (SqliteTxn     *txn,
           sqlite3_stmt  *stmt,
           GError       **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, txn->db, rc);
  return TRUE;
}

/* Steps once; TRUE with a row, FALSE at the end or on error (@error set). */
static gboolean
step_row (SqliteTxn     *txn,
          sqlite3_stmt  *stmt,
          GError       **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    set_sqlite_error (error, txn->db, rc);
  return FALSE;
}

/* Migrations */

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char **) a, *(const char **) b);
}

/* The AAD of a sealed idempotency body: "idempotency\n" and its key's hash,
 * so that a body moved to another key does not open. */
#define IDEMPOTENCY_AAD_LEN (12 + 32)

static void
idempotency_aad (const guint8 key_hash[32],
                 guint8       aad[IDEMPOTENCY_AAD_LEN])
{
  memcpy (aad, "idempotency\n", 12);
  memcpy (aad + 12, key_hash, 32);
}

/* SQL has no key, so the migrations that need one (018 hashes the
 * Idempotency-Key values kept before it, 022 the funding sources' numbers
 * with their bank codes) call these functions, defined on the write
 * connection. They run in the migration's transaction, once. */

/* gw_idempotency_hash (scope, key): the hash the key is kept by now. */
static void
sql_idempotency_hash (sqlite3_context  *ctx,
                      int               argc,
                      sqlite3_value   **argv)
{
  GwStoreSqlite *self = sqlite3_user_data (ctx);
  const char *scope = (const char *) sqlite3_value_text (argv[0]);
  const char *key = (const char *) sqlite3_value_text (argv[1]);
  guint8 hash[32];

  if (scope == NULL || key == NULL)
    {
      sqlite3_result_null (ctx);
      return;
    }
  gw_keys_idempotency_hash (self->idempotency_key, scope, key, hash);
  sqlite3_result_blob (ctx, hash, sizeof hash, SQLITE_TRANSIENT);
}

/* gw_idempotency_reseal (scope, key, body): a body sealed with its scope
 * and key as associated data, sealed again with their hash. One that does
 * not open stays as it was: it did not open before either. */
static void
sql_idempotency_reseal (sqlite3_context  *ctx,
                        int               argc,
                        sqlite3_value   **argv)
{
  GwStoreSqlite *self = sqlite3_user_data (ctx);
  const char *scope = (const char *) sqlite3_value_text (argv[0]);
  const char *key = (const char *) sqlite3_value_text (argv[1]);
  g_autofree char *old_aad = g_strconcat ("idempotency\n", scope, "\n", key, NULL);
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GError) error = NULL;
  guint8 hash[32];
  guint8 aad[IDEMPOTENCY_AAD_LEN];

  plain = onepin_key_open (self->seal_key, sqlite3_value_blob (argv[2]),
                           sqlite3_value_bytes (argv[2]), old_aad, strlen (old_aad), NULL);
  if (plain == NULL)
    {
      g_warning ("an idempotency record's sealed body does not open; it is kept as it was");
      sqlite3_result_value (ctx, argv[2]);
      return;
    }
  gw_keys_idempotency_hash (self->idempotency_key, scope, key, hash);
  idempotency_aad (hash, aad);
  sealed = onepin_key_seal (self->seal_key, g_bytes_get_data (plain, NULL),
                            g_bytes_get_size (plain), aad, sizeof aad, &error);
  if (sealed == NULL)
    {
      sqlite3_result_error (ctx, error->message, -1);
      return;
    }
  sqlite3_result_blob (ctx, g_bytes_get_data (sealed, NULL), (int) g_bytes_get_size (sealed),
                       SQLITE_TRANSIENT);
}

/* gw_request_key (digest): a recharge's or payout's bare SHA-256 of its
 * request's key, keyed (gw_keys_request_key). NULL stays NULL. */
static void
sql_request_key (sqlite3_context  *ctx,
                 int               argc,
                 sqlite3_value   **argv)
{
  GwStoreSqlite *self = sqlite3_user_data (ctx);
  guint8 out[32];

  if (sqlite3_value_type (argv[0]) != SQLITE_BLOB || sqlite3_value_bytes (argv[0]) != 32)
    {
      sqlite3_result_value (ctx, argv[0]);
      return;
    }
  gw_keys_request_key (self->idempotency_key, sqlite3_value_blob (argv[0]), out);
  sqlite3_result_blob (ctx, out, sizeof out, SQLITE_TRANSIENT);
}

/* gw_funding_fingerprint (id, user_id, type, details_sealed): a funding
 * source's fingerprint as gw_wallet_funding_fingerprint makes it now, from
 * its sealed details. NULL for details that do not open. */
static void
sql_funding_fingerprint (sqlite3_context  *ctx,
                         int               argc,
                         sqlite3_value   **argv)
{
  GwStoreSqlite *self = sqlite3_user_data (ctx);
  const char *id = (const char *) sqlite3_value_text (argv[0]);
  const char *user_id = (const char *) sqlite3_value_text (argv[1]);
  const char *type = (const char *) sqlite3_value_text (argv[2]);
  g_autoptr(GBytes) sealed = NULL;
  guint8 out[32];

  if (id == NULL || user_id == NULL || type == NULL ||
      sqlite3_value_type (argv[3]) != SQLITE_BLOB)
    {
      sqlite3_result_null (ctx);
      return;
    }
  sealed = g_bytes_new (sqlite3_value_blob (argv[3]), sqlite3_value_bytes (argv[3]));
  /* Not the error's message: a parse error may quote the opened text. */
  if (!gw_wallet_funding_fingerprint_sealed (self->seal_key, self->lookup_key, id, user_id, type,
                                             sealed, out, NULL))
    {
      g_warning ("funding source %s: its details do not open; its fingerprint is kept", id);
      sqlite3_result_null (ctx);
      return;
    }
  sqlite3_result_blob (ctx, out, sizeof out, SQLITE_TRANSIENT);
}

/* gw_key_check_value (): what key_check holds for this store's keys
 * (migration 023, gw-store-sqlite-keycheck.c). */
static void
sql_key_check_value (sqlite3_context  *ctx,
                     int               argc,
                     sqlite3_value   **argv)
{
  GwStoreSqlite *self = sqlite3_user_data (ctx);
  guint8 out[32];

  gw_sqlite_key_check_value (self->lookup_key, out);
  sqlite3_result_blob (ctx, out, sizeof out, SQLITE_TRANSIENT);
}

static gboolean
define_key_functions (GwStoreSqlite  *self,
                      sqlite3        *db,
                      GError        **error)
{
  static const struct
  {
    const char *name;
    int         n_args;
    int         flags;
    void      (*func) (sqlite3_context *, int, sqlite3_value **);
  } functions[] = {
    { "gw_idempotency_hash", 2, SQLITE_DETERMINISTIC, sql_idempotency_hash },
    { "gw_idempotency_reseal", 3, 0, sql_idempotency_reseal },   /* a fresh nonce each time */
    { "gw_request_key", 1, SQLITE_DETERMINISTIC, sql_request_key },
    { "gw_funding_fingerprint", 4, SQLITE_DETERMINISTIC, sql_funding_fingerprint },
    { "gw_key_check_value", 0, SQLITE_DETERMINISTIC, sql_key_check_value },
  };

  for (guint i = 0; i < G_N_ELEMENTS (functions); i++)
    {
      /* Direct only: no view, trigger or index of the database can call them. */
      int rc = sqlite3_create_function_v2 (db, functions[i].name, functions[i].n_args,
                                           SQLITE_UTF8 | SQLITE_DIRECTONLY | functions[i].flags,
                                           self, functions[i].func, NULL, NULL, NULL);

      if (rc != SQLITE_OK)
        return set_sqlite_error (error, db, rc);
    }
  return TRUE;
}

/* Whether migration @version was applied already. */
static gboolean
migration_applied (sqlite3 *db,
                   gint64   version)
{
  sqlite3_stmt *stmt = NULL;
  gboolean applied;

  sqlite3_prepare_v2 (db, "SELECT 1 FROM schema_migrations WHERE version = ?", -1, &stmt, NULL);
  sqlite3_bind_int64 (stmt, 1, version);
  applied = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_finalize (stmt);
  return applied;
}

/* A database a newer gateway has migrated holds tables and rows this one
 * does not know of, and would be served half understood, or written in ways
 * the newer one does not expect: refused, before anything is written and
 * before the key check, which a newer version may do otherwise. */
static gboolean
check_not_newer (sqlite3   *db,
                 GError   **error)
{
  g_auto(GStrv) names = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 version = 0, known = 0;

  names = g_resources_enumerate_children (MIGRATIONS_PATH, 0, error);
  if (names == NULL)
    return FALSE;
  for (guint i = 0; names[i] != NULL; i++)
    known = MAX (known, g_ascii_strtoll (names[i], NULL, 10));
  /* A new database has no table yet: nothing to compare. */
  if (sqlite3_prepare_v2 (db, "SELECT MAX(version) FROM schema_migrations", -1, &stmt,
                          NULL) == SQLITE_OK && sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  if (version <= known)
    return TRUE;
  g_set_error (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
               "The database is at schema version %03" G_GINT64_FORMAT ", newer than this "
               "gateway's %03" G_GINT64_FORMAT ": run the gateway that migrated it (or "
               "restore a backup made by this version)", version, known);
  return FALSE;
}

/* Every migration not applied yet, in order. Each one is looked up rather
 * than compared with the highest applied: the modules' numbers were handed
 * out in advance and land in any order, so a database may hold 004 before
 * 003 is written. */
static gboolean
apply_pending (sqlite3   *db,
               gboolean  *applied,
               GError   **error)
{
  g_auto(GStrv) names = NULL;

  names = g_resources_enumerate_children (MIGRATIONS_PATH, 0, error);
  if (names == NULL)
    return FALSE;
  qsort (names, g_strv_length (names), sizeof (char *), compare_names);

  for (guint i = 0; names[i] != NULL; i++)
    {
      gint64 version = g_ascii_strtoll (names[i], NULL, 10);
      g_autofree char *path = g_build_path ("/", MIGRATIONS_PATH, names[i], NULL);
      g_autoptr(GBytes) sql = NULL;
      g_autofree char *stamp = NULL;

      if (migration_applied (db, version))
        continue;
      sql = g_resources_lookup_data (path, 0, error);
      if (sql == NULL)
        return FALSE;
      stamp = g_strdup_printf ("INSERT INTO schema_migrations VALUES (%" G_GINT64_FORMAT
                               ", strftime('%%s','now'));", version);
      if (!exec_sql (db, "BEGIN IMMEDIATE", error))
        return FALSE;
      if (!exec_sql (db, g_bytes_get_data (sql, NULL), error) || !exec_sql (db, stamp, error))
        {
          exec_sql (db, "ROLLBACK", NULL);
          g_prefix_error (error, "Migration %s: ", names[i]);
          return FALSE;
        }
      if (!exec_sql (db, "COMMIT", error))
        return FALSE;
      *applied = TRUE;
      g_info ("applied migration %s", names[i]);
    }

  return TRUE;
}

/* What a migration replaces must not stay readable in the file: 018
 * replaces Idempotency-Key values kept in the clear by their hashes. So
 * the pages it frees are zeroed (secure_delete, for the migrations only:
 * it would cost the write path), and the WAL is copied back and emptied
 * at once, so that the zeroed pages overwrite the old ones in the file. */
static gboolean
apply_migrations (sqlite3  *db,
                  GError  **error)
{
  gboolean applied = FALSE;

  if (!exec_sql (db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)", error) ||
      !exec_sql (db, "PRAGMA secure_delete=ON", error))
    return FALSE;
  if (!apply_pending (db, &applied, error) || !exec_sql (db, "PRAGMA secure_delete=OFF", error))
    return FALSE;
  return !applied || exec_sql (db, "PRAGMA wal_checkpoint(TRUNCATE)", error);
}

/* The checkpointer */

static int
wal_hook (gpointer     user_data,
          sqlite3     *db,
          const char  *name,
          int          frames)
{
  GwStoreSqlite *self = user_data;
  int wanted = g_atomic_int_get (&self->checkpoint_frames);

  g_atomic_int_set (&self->wal_frames, frames);
  g_atomic_int_inc (&self->wal_commits);
  if (frames >= 2 * wanted)
    g_atomic_int_inc (&self->wal_commits_long);
  if (frames >= wanted)
    {
      g_mutex_lock (&self->checkpoint_lock);
      self->checkpoint_wanted = TRUE;
      g_cond_signal (&self->checkpoint_cond);
      g_mutex_unlock (&self->checkpoint_lock);
    }
  return SQLITE_OK;
}

/* A wait for a lock in steps of 100 µs, at most GPOINTER_TO_INT (@data)
 * of them. The writer's (5 s, as before) waits only for the checkpointer's
 * restart round, which holds the lock a moment: SQLite's own handler sleeps
 * 1, 2, 5, 10 ms…, so a pause of 1 ms cost the writer 3. The restart round's
 * waits for the writer's batch and the readers (CATCH_UP_TRIES). */
static int
busy_in_steps (void *data,
               int   count)
{
  if (count >= GPOINTER_TO_INT (data))
    return 0;
  g_usleep (100);
  return 1;
}

/* Syncs what passive rounds wrote to the database file, before the RESTART
 * round that holds the writer off has to. */
static void
sync_database (sqlite3 *db)
{
  sqlite3_file *file = NULL;

  if (sqlite3_file_control (db, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK &&
      file != NULL && file->pMethods != NULL)
    file->pMethods->xSync (file, SQLITE_SYNC_NORMAL);
}

/* A passive checkpoint copies the frames committed when it began; the writer
 * adds more meanwhile, and SQLite starts the WAL over only when a write
 * begins with every frame copied. Under steady load the checkpointer never
 * catches up that way: the WAL grew to 100,000 frames and more, a third of
 * the commits asked for a checkpoint, and each round copied a few frames.
 *
 * So while the WAL is over the threshold, passive rounds follow each other
 * as long as each leaves fewer frames behind the writer than the one before.
 * Once one leaves at most CATCH_UP_FRAMES, the database file is synced
 * (SQLite syncs it only when a round reaches the WAL's end), and again after
 * a round copies what came meanwhile, until a sync finds little to write.
 * Then a RESTART round holds the writer off while it copies and syncs the
 * last few frames, waits for the readers and starts the WAL over: a pause
 * of a millisecond or two. It waits for the writer's batch and the readers
 * in steps of 100 µs, at most 20 ms, and otherwise gives up until the next
 * round. */
static void
checkpoint (GwStoreSqlite *self,
            sqlite3       *db,
            gboolean       wanted)
{
  int left = G_MAXINT;
  int syncs = 0;

  for (;;)
    {
      int log = 0, copied = 0, behind;
      gint64 start;

      /* PASSIVE: copies what it can without waiting for the writer or
       * readers. Only the writer's asking (not the idle timer: with no
       * commits, SQLite starts over by itself) leads on to a restart, and
       * not while a reader keeps frames from being copied: the restart
       * round would hold the writer off waiting for it. */
      if (sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) != SQLITE_OK ||
          !wanted || copied < log || log < g_atomic_int_get (&self->checkpoint_frames))
        return;
      behind = g_atomic_int_get (&self->wal_frames) - copied;
      if (behind >= left)
        return;
      left = behind;
      if (left > CATCH_UP_FRAMES)
        continue;
      start = g_get_monotonic_time ();
      sync_database (db);
      if (g_get_monotonic_time () - start < CATCH_UP_SYNC_US || ++syncs == CATCH_UP_SYNCS)
        break;
      /* what the writer added during the sync is more than before */
      left = G_MAXINT;
    }
  g_atomic_int_inc (&self->restart_rounds);
  sqlite3_busy_handler (db, busy_in_steps, GINT_TO_POINTER (CATCH_UP_TRIES));
  sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
  sqlite3_busy_timeout (db, 5000);
}

static gpointer
checkpointer_main (gpointer user_data)
{
  GwStoreSqlite *self = user_data;
  g_autoptr(GError) error = NULL;
  sqlite3 *db = open_connection (self->path, FALSE, &error);

  if (db == NULL)
    {
      g_warning ("checkpointer: %s", error->message);
      return NULL;
    }

  g_mutex_lock (&self->checkpoint_lock);
  while (!self->checkpoint_stop)
    {
      gint64 deadline = g_get_monotonic_time () + G_USEC_PER_SEC;
      gboolean wanted;

      if (!self->checkpoint_wanted)
        g_cond_wait_until (&self->checkpoint_cond, &self->checkpoint_lock, deadline);
      if (self->checkpoint_stop)
        break;
      wanted = self->checkpoint_wanted;
      self->checkpoint_wanted = FALSE;
      g_mutex_unlock (&self->checkpoint_lock);
      checkpoint (self, db, wanted);
      if (wanted)
        g_atomic_int_inc (&self->asked_rounds);
      g_mutex_lock (&self->checkpoint_lock);
    }
  g_mutex_unlock (&self->checkpoint_lock);

  sqlite3_close (db);
  return NULL;
}

static void
stop_checkpointer (GwStoreSqlite *self)
{
  if (self->checkpointer == NULL)
    return;
  g_mutex_lock (&self->checkpoint_lock);
  self->checkpoint_stop = TRUE;
  g_cond_signal (&self->checkpoint_cond);
  g_mutex_unlock (&self->checkpoint_lock);
  g_thread_join (g_steal_pointer (&self->checkpointer));
}

/* The writer */

static gboolean is_repeatable (Op *op);
static gboolean in_transaction (SqliteTxn *txn);

/* How many times an operation is applied again after another writer changed
 * what it read (GW_STORE_ERROR_CONFLICT) before the conflict is its answer.
 * With SQLite there is no other writer while the batch runs, so this is for
 * a backend shared by several processes, and for the tests. */
#define CONFLICT_RETRIES 3

static gboolean
apply_once (SqliteTxn  *txn,
            Op         *op,
            GError    **error)
{
  if (!run (txn, "SAVEPOINT op", error))
    return FALSE;

  if (op->apply (&txn->parent, op->data, error))
    {
      run (txn, "RELEASE op", NULL);
      return TRUE;
    }

  run (txn, "ROLLBACK TO op", NULL);
  run (txn, "RELEASE op", NULL);
  return FALSE;
}

static void
apply_one (SqliteTxn *txn,
           Op        *op)
{
  GError *error = NULL;

  for (guint attempt = 0; !apply_once (txn, op, &error); attempt++)
    {
      /* Rolled back, it is applied again from fresh reads: only a
       * repeatable operation sets all its outputs afresh. */
      if (!g_error_matches (error, GW_STORE_ERROR, GW_STORE_ERROR_CONFLICT) ||
          !is_repeatable (op) || attempt == CONFLICT_RETRIES || !in_transaction (txn))
        {
          op->error = error ? error : g_error_new_literal (GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                                                           "Operation failed");
          return;
        }
      g_clear_error (&error);
    }
}

/* FALSE once SQLite has rolled the batch's transaction back by itself, as
 * it may after a full disk or an I/O error: from then on a statement would
 * run, and commit, on its own. */
static gboolean
in_transaction (SqliteTxn *txn)
{
  return !sqlite3_get_autocommit (txn->db);
}

static gboolean
is_repeatable (Op *op)
{
  return op->apply != NULL && (op->flags & GW_STORE_OP_REPEATABLE) != 0;
}

/* Applies ops[0..n) (all repeatable) under one savepoint. When one fails,
 * the savepoint is rolled back and each of them applied again in a
 * savepoint of its own, so that only the one that failed is lost. */
static void
apply_run (SqliteTxn  *txn,
           Op        **ops,
           guint       n)
{
  GError *error = NULL;
  guint i;

  if (n == 1 || !run (txn, "SAVEPOINT run", NULL))
    {
      for (i = 0; i < n; i++)
        apply_one (txn, ops[i]);
      return;
    }

  for (i = 0; i < n && ops[i]->apply (&txn->parent, ops[i]->data, &error); i++)
    ;
  if (i == n)
    {
      run (txn, "RELEASE run", NULL);
      return;
    }

  g_clear_error (&error);
  if (!in_transaction (txn))
    return;
  run (txn, "ROLLBACK TO run", NULL);
  run (txn, "RELEASE run", NULL);
  for (i = 0; i < n && in_transaction (txn); i++)
    apply_one (txn, ops[i]);
}

static void
fail_batch (GPtrArray    *batch,
            const GError *error)
{
  for (guint i = 0; i < batch->len; i++)
    {
      Op *op = g_ptr_array_index (batch, i);

      if (op->error == NULL)
        op->error = g_error_copy (error);
    }
}

/* Applies a batch in one transaction. Returns TRUE when it held the shutdown marker. */
static gboolean
run_batch (GwStoreSqlite *self,
           GPtrArray     *batch)
{
  SqliteTxn *txn = &self->writer_txn;
  g_autoptr(GError) error = NULL;
  gboolean stop = FALSE;
  gint64 started = g_get_monotonic_time ();

  txn->now = g_get_real_time () / G_USEC_PER_SEC;

  if (!run (txn, "BEGIN IMMEDIATE", &error))
    {
      fail_batch (batch, error);
      return FALSE;
    }

  for (guint i = 0; i < batch->len; i++)
    stop = stop || ((Op *) g_ptr_array_index (batch, i))->apply == NULL;

  for (guint i = 0; i < batch->len && in_transaction (txn);)
    {
      Op **ops = (Op **) batch->pdata + i;
      guint n = 0;

      while (i + n < batch->len && is_repeatable (ops[n]))
        n++;
      if (n > 0)
        apply_run (txn, ops, n);
      else if (ops[0]->apply != NULL)
        apply_one (txn, ops[0]);
      i += MAX (n, 1);
    }

  /* Nothing of the batch is there, whatever each operation was told. */
  if (!in_transaction (txn))
    {
      error = g_error_new_literal (GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                                   "The batch's transaction was rolled back");
      g_warning ("%s", error->message);
      fail_batch (batch, error);
    }
  else if (!run (txn, "COMMIT", &error))
    {
      run (txn, "ROLLBACK", NULL);
      g_warning ("commit failed: %s", error->message);
      fail_batch (batch, error);
    }

  if (self->observer != NULL)
    self->observer (batch->len, (g_get_monotonic_time () - started) / (gdouble) G_USEC_PER_SEC,
                    self->observer_data);

  return stop;
}

static gboolean
deliver_batch (gpointer user_data)
{
  GPtrArray *batch = user_data;

  for (guint i = 0; i < batch->len; i++)
    {
      Op *op = g_ptr_array_index (batch, i);

      if (op->done != NULL)
        op->done (op->data, op->error);
      g_clear_error (&op->error);
      g_free (op);
    }
  g_ptr_array_unref (batch);

  return G_SOURCE_REMOVE;
}

static gpointer
writer_main (gpointer user_data)
{
  GwStoreSqlite *self = user_data;
  gboolean stop = FALSE;

  while (!stop)
    {
      GPtrArray *batch = g_ptr_array_new ();
      Op *op = g_async_queue_pop (self->queue);

      do
        g_ptr_array_add (batch, op);
      while (batch->len < GW_MAX_BATCH && (op = g_async_queue_try_pop (self->queue)) != NULL);

      stop = run_batch (self, batch);
      g_main_context_invoke (self->main_context, deliver_batch, batch);
    }

  return NULL;
}

/* Answers @op at once: the writer is gone. */
static void
refuse (GwStoreSqlite *self,
        Op            *op)
{
  GPtrArray *batch = g_ptr_array_new ();

  op->error = g_error_new_literal (GW_STORE_ERROR, GW_STORE_ERROR_SHUTTING_DOWN,
                                   "The gateway is shutting down");
  g_ptr_array_add (batch, op);
  g_main_context_invoke (self->main_context, deliver_batch, batch);
}

static void
gw_store_sqlite_submit (GwStore          *store,
                        GwStoreApplyFunc  apply,
                        GwStoreDoneFunc   done,
                        gpointer          data,
                        GwStoreOpFlags    flags)
{
  GwStoreSqlite *self = GW_STORE_SQLITE (store);
  Op *op = g_new0 (Op, 1);

  op->apply = apply;
  op->done = done;
  op->data = data;
  op->flags = flags;

  if (self->stopped)
    refuse (self, op);
  /* Only the thread that plugged holds back; the others (the outbox
   * worker, say) go straight to the queue. */
  else if (g_main_context_is_owner (self->main_context) && self->plugged != NULL)
    g_ptr_array_add (self->plugged, op);
  else
    g_async_queue_push (self->queue, op);
}

/* Plugging is for the main context, where the HTTP handlers run. */
static void
gw_store_sqlite_plug (GwStore *store)
{
  GwStoreSqlite *self = GW_STORE_SQLITE (store);

  g_return_if_fail (self->plugged == NULL);
  g_return_if_fail (g_main_context_is_owner (self->main_context));
  self->plugged = g_ptr_array_new ();
}

/* Everything held back goes into the queue under one lock, so the writer,
 * woken by the first, finds the rest there too. */
static void
gw_store_sqlite_unplug (GwStore *store)
{
  GwStoreSqlite *self = GW_STORE_SQLITE (store);
  g_autoptr(GPtrArray) plugged = g_steal_pointer (&self->plugged);

  g_return_if_fail (plugged != NULL);
  if (self->stopped)
    {
      for (guint i = 0; i < plugged->len; i++)
        refuse (self, g_ptr_array_index (plugged, i));
      return;
    }
  g_async_queue_lock (self->queue);
  for (guint i = 0; i < plugged->len; i++)
    g_async_queue_push_unlocked (self->queue, g_ptr_array_index (plugged, i));
  g_async_queue_unlock (self->queue);
}

static void
gw_store_sqlite_shutdown (GwStore *store)
{
  GwStoreSqlite *self = GW_STORE_SQLITE (store);

  if (self->writer == NULL)
    return;

  self->stopped = TRUE;
  g_async_queue_push (self->queue, g_new0 (Op, 1));
  g_thread_join (g_steal_pointer (&self->writer));
  stop_checkpointer (self);

  /* Deliver what the writer finished last, so every submitter hears back. */
  while (g_main_context_pending (self->main_context))
    g_main_context_iteration (self->main_context, FALSE);

  exec_sql (self->writer_txn.db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL);
}

/* Readers: one connection per thread, kept for the thread's life. */

static void
reader_free (gpointer data)
{
  SqliteTxn *txn = data;

  txn_clear (txn);
  g_free (txn);
}

static GPrivate reader_key = G_PRIVATE_INIT (reader_free);

static gboolean
gw_store_sqlite_read (GwStore          *store,
                      GwStoreApplyFunc  apply,
                      gpointer          data,
                      GError          **error)
{
  GwStoreSqlite *self = GW_STORE_SQLITE (store);
  SqliteTxn *txn = g_private_get (&reader_key);
  gboolean ok;

  /* The thread's connection may be to another store's database, perhaps of
   * a store since freed whose address this one now has. */
  if (txn != NULL && txn->serial != self->serial)
    {
      g_private_replace (&reader_key, NULL);
      txn = NULL;
    }

  if (txn == NULL)
    {
      sqlite3 *db = open_connection (self->path, TRUE, error);

      if (db == NULL)
        return FALSE;
      txn = g_new0 (SqliteTxn, 1);
      txn_init (txn, self, db, TRUE);
      txn->serial = self->serial;
      g_private_set (&reader_key, txn);
    }

  txn->store = self;
  txn->now = g_get_real_time () / G_USEC_PER_SEC;
  if (!run (txn, "BEGIN", error))
    return FALSE;
  ok = apply (&txn->parent, data, error);
  run (txn, "COMMIT", NULL);

  return ok;
}

static void
gw_store_sqlite_iface_init (GwStoreInterface *iface)
{
  iface->submit = gw_store_sqlite_submit;
  iface->read = gw_store_sqlite_read;
  iface->shutdown = gw_store_sqlite_shutdown;
  iface->plug = gw_store_sqlite_plug;
  iface->unplug = gw_store_sqlite_unplug;
}

static void
gw_store_sqlite_finalize (GObject *object)
{
  GwStoreSqlite *self = GW_STORE_SQLITE (object);

  gw_store_sqlite_shutdown (GW_STORE (self));
  txn_clear (&self->writer_txn);
  g_clear_pointer (&self->queue, g_async_queue_unref);
  g_clear_pointer (&self->main_context, g_main_context_unref);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->merchant_accounts, g_hash_table_unref);
  g_mutex_clear (&self->checkpoint_lock);
  g_cond_clear (&self->checkpoint_cond);

  G_OBJECT_CLASS (gw_store_sqlite_parent_class)->finalize (object);
}

static void
gw_store_sqlite_class_init (GwStoreSqliteClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gw_store_sqlite_finalize;
}

static void
gw_store_sqlite_init (GwStoreSqlite *self)
{
  static gint last_serial;

  self->serial = g_atomic_int_add (&last_serial, 1) + 1;
  self->queue = g_async_queue_new ();
  self->merchant_accounts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->checkpoint_frames = CHECKPOINT_FRAMES;
}

GwStoreSqlite *
gw_store_sqlite_new (const char  *path,
                     OnepinKey   *seal_key,
                     OnepinKey   *idempotency_key,
                     OnepinKey   *lookup_key,
                     GError     **error)
{
  g_autoptr(GwStoreSqlite) self = g_object_new (GW_TYPE_STORE_SQLITE, NULL);
  static gsize configured;
  sqlite3 *db;

  /* Every connection is used by one thread at a time, and nobody reads
   * SQLite's memory statistics: both would cost a global mutex per call.
   * The page cache skips truncations with nothing to remove
   * (gw-store-sqlite-pcache.c). All this fails harmlessly if SQLite was
   * already initialised. */
  if (g_once_init_enter (&configured))
    {
      sqlite3_config (SQLITE_CONFIG_MULTITHREAD);
      sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0);
      if (!gw_sqlite_pcache_install ())
        g_debug ("SQLite was initialised already: its own page cache is used");
      g_once_init_leave (&configured, 1);
    }

  self->seal_key = seal_key;
  self->idempotency_key = idempotency_key;
  self->lookup_key = lookup_key;
  db = open_connection (path, FALSE, error);
  if (db == NULL)
    return NULL;
  if (!define_key_functions (self, db, error) || !check_not_newer (db, error) ||
      !gw_sqlite_key_check (db, lookup_key, seal_key, error) || !apply_migrations (db, error))
    {
      sqlite3_close (db);
      return NULL;
    }

  self->path = g_strdup (path);
  self->main_context = g_main_context_ref_thread_default ();
  txn_init (&self->writer_txn, self, db, FALSE);
  sqlite3_wal_hook (db, wal_hook, self);    /* replaces the automatic checkpoint */
  sqlite3_busy_handler (db, busy_in_steps, GINT_TO_POINTER (WRITER_TRIES));
  self->checkpointer = g_thread_new ("gw-checkpoint", checkpointer_main, self);
  self->writer = g_thread_new ("gw-writer", writer_main, self);

  return g_steal_pointer (&self);
}

void
gw_store_sqlite_set_commit_observer (GwStoreSqlite    *self,
                                     GwCommitObserver  observer,
                                     gpointer          user_data)
{
  self->observer = observer;
  self->observer_data = user_data;
}

void
gw_store_sqlite_set_checkpoint_frames (GwStoreSqlite *self,
                                       int            frames)
{
  g_atomic_int_set (&self->checkpoint_frames, frames);
}

void
gw_store_sqlite_wal_commits (GwStoreSqlite *self,
                             int           *commits,
                             int           *long_wal)
{
  *commits = g_atomic_int_get (&self->wal_commits);
  *long_wal = g_atomic_int_get (&self->wal_commits_long);
}

void
gw_store_sqlite_checkpoint_rounds (GwStoreSqlite *self,
                                   int           *asked,
                                   int           *restarts)
{
  *asked = g_atomic_int_get (&self->asked_rounds);
  *restarts = g_atomic_int_get (&self->restart_rounds);
}

/* The transaction primitives */

#define TXN(t) ((SqliteTxn *) (t))

static gint64
t_now (GwTxn *t)
{
  return TXN (t)->now;
}

/* The last column tells whether the holder wants payment receipts, so that
 * a capture for a card without a contact (the common case) looks no further. */
#define CARD_COLUMNS \
  "c.id, c.account_id, c.last4, c.state, c.password_mac, c.failures, c.locked_until," \
  " c.points, c.initial_value, c.channel, c.promotional, c.created, c.expires_at," \
  " a.balance, a.held, a.currency," \
  " EXISTS (SELECT 1 FROM card_contacts k WHERE k.card_id = c.id AND k.receipts <> 'none')" \
  " FROM cards c JOIN accounts a ON a.id = c.account_id "

static void
read_card (sqlite3_stmt *stmt,
           GwCard       *out)
{
  int mac_len = sqlite3_column_bytes (stmt, 4);

  memset (out, 0, sizeof *out);
  copy_text (out->id, sizeof out->id, stmt, 0);
  out->account_id = sqlite3_column_int64 (stmt, 1);
  copy_text (out->last4, sizeof out->last4, stmt, 2);
  copy_text (out->state, sizeof out->state, stmt, 3);
  out->has_password = mac_len == 32;
  if (out->has_password)
    memcpy (out->password_mac, sqlite3_column_blob (stmt, 4), 32);
  out->failures = sqlite3_column_int64 (stmt, 5);
  out->locked_until = sqlite3_column_int64 (stmt, 6);
  out->points = sqlite3_column_int64 (stmt, 7);
  out->initial_value = sqlite3_column_int64 (stmt, 8);
  copy_text (out->channel, sizeof out->channel, stmt, 9);
  out->promotional = sqlite3_column_int (stmt, 10);
  out->created = sqlite3_column_int64 (stmt, 11);
  out->expires_at = sqlite3_column_int64 (stmt, 12);
  out->balance = sqlite3_column_int64 (stmt, 13);
  out->held = sqlite3_column_int64 (stmt, 14);
  copy_text (out->currency, sizeof out->currency, stmt, 15);
  out->wants_receipts = sqlite3_column_int (stmt, 16);
}

static gboolean
t_card_by_lookup (GwTxn        *t,
                  const guint8  lookup[32],
                  GwCard       *out,
                  GError      **error)
{
  sqlite3_stmt *stmt = prep (TXN (t), "SELECT " CARD_COLUMNS "WHERE c.lookup = ?", error);
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, lookup, 32, SQLITE_STATIC);
  found = step_row (TXN (t), stmt, error);
  if (found)
    read_card (stmt, out);
  sqlite3_reset (stmt);
  return found;
}

static gboolean
t_card_by_id (GwTxn       *t,
              const char  *id,
              GwCard      *out,
              GError     **error)
{
  sqlite3_stmt *stmt = prep (TXN (t), "SELECT " CARD_COLUMNS "WHERE c.id = ?", error);
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, id);
  found = step_row (TXN (t), stmt, error);
  if (found)
    read_card (stmt, out);
  sqlite3_reset (stmt);
  return found;
}

static gboolean
t_card_lookup (GwTxn       *t,
               const char  *id,
               guint8       out[32],
               GError     **error)
{
  sqlite3_stmt *stmt = prep (TXN (t), "SELECT lookup FROM cards WHERE id = ?", error);
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, id);
  found = step_row (TXN (t), stmt, error) && sqlite3_column_bytes (stmt, 0) == 32;
  if (found)
    memcpy (out, sqlite3_column_blob (stmt, 0), 32);
  sqlite3_reset (stmt);
  return found;
}

static gboolean
t_card_insert (GwTxn         *t,
               const GwCard  *card,
               const guint8   lookup[32],
               GBytes        *number_sealed,
               const char    *batch_id,
               GError       **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "INSERT INTO cards (id, account_id, lookup, number_sealed, last4, state, initial_value,"
    " batch_id, channel, promotional, created, expires_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, card->id);
  sqlite3_bind_int64 (stmt, 2, card->account_id);
  sqlite3_bind_blob (stmt, 3, lookup, 32, SQLITE_STATIC);
  bind_bytes (stmt, 4, number_sealed);
  bind_text (stmt, 5, card->last4);
  bind_text (stmt, 6, card->state);
  sqlite3_bind_int64 (stmt, 7, card->initial_value);
  bind_text (stmt, 8, batch_id);
  bind_text (stmt, 9, card->channel);
  sqlite3_bind_int (stmt, 10, card->promotional);
  sqlite3_bind_int64 (stmt, 11, card->created);
  sqlite3_bind_int64 (stmt, 12, card->expires_at);
  return step_done (TXN (t), stmt, error);
}

/* Both SET expressions see the count as it was before this statement. */
static gboolean
t_card_auth_failed (GwTxn       *t,
                    const char  *id,
                    gint64       limit,
                    gint64       locked_until,
                    GError     **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "UPDATE cards SET failures = CASE WHEN failures + 1 >= ?2 THEN 0 ELSE failures + 1 END,"
    " locked_until = CASE WHEN failures + 1 >= ?2 THEN ?3 ELSE locked_until END WHERE id = ?1",
    error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, limit);
  sqlite3_bind_int64 (stmt, 3, locked_until);
  return step_done (TXN (t), stmt, error);
}

static gboolean
t_card_auth_reset (GwTxn       *t,
                   const char  *id,
                   GError     **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "UPDATE cards SET failures = 0, locked_until = 0 WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, id);
  return step_done (TXN (t), stmt, error);
}

static gboolean
t_card_lock (GwTxn       *t,
             const char  *id,
             gint64       locked_until,
             GError     **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "UPDATE cards SET locked_until = MAX(locked_until, ?) WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, locked_until);
  bind_text (stmt, 2, id);
  return step_done (TXN (t), stmt, error);
}

static gboolean
t_credential_failure_add (GwTxn   *t,
                          gint64   day,
                          GError **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "INSERT INTO credential_failures (day, count) VALUES (?, 1)"
    " ON CONFLICT (day) DO UPDATE SET count = count + 1", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, day);
  return step_done (TXN (t), stmt, error);
}

static gboolean
t_credential_failures (GwTxn   *t,
                       gint64   day,
                       gint64  *count,
                       GError **error)
{
  sqlite3_stmt *stmt = prep (TXN (t), "SELECT count FROM credential_failures WHERE day = ?",
                             error);
  GError *local = NULL;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, day);
  *count = step_row (TXN (t), stmt, &local) ? sqlite3_column_int64 (stmt, 0) : 0;
  sqlite3_reset (stmt);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return TRUE;
}

static gboolean
t_card_set_password (GwTxn         *t,
                     const char    *id,
                     const guint8   mac[32],
                     GBytes        *hint_sealed,
                     const char    *state,
                     GError       **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "UPDATE cards SET password_mac = ?, hint_sealed = ?, state = ?, failures = 0"
    " WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, mac, 32, SQLITE_STATIC);
  bind_bytes (stmt, 2, hint_sealed);
  bind_text (stmt, 3, state);
  bind_text (stmt, 4, id);
  return step_done (TXN (t), stmt, error);
}

static gboolean
t_card_hint (GwTxn       *t,
             const char  *id,
             GBytes     **out,
             GError     **error)
{
  sqlite3_stmt *stmt = prep (TXN (t), "SELECT hint_sealed FROM cards"
                                      " WHERE id = ? AND hint_sealed IS NOT NULL", error);
  GError *local = NULL;

  *out = NULL;
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, id);
  if (step_row (TXN (t), stmt, &local))
    *out = g_bytes_new (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0));
  sqlite3_reset (stmt);
  if (local != NULL)
    return g_propagate_error (error, local), FALSE;
  return *out != NULL;
}

static gboolean
t_card_add_points (GwTxn       *t,
                   const char  *id,
                   gint64       delta,
                   GError     **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "UPDATE cards SET points = MAX(0, points + ?) WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, delta);
  bind_text (stmt, 2, id);
  return step_done (TXN (t), stmt, error);
}

static gint64
t_account_insert (GwTxn       *t,
                  const char  *kind,
                  int          normal,
                  const char  *currency,
                  gint64       cap,
                  GError     **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "INSERT INTO accounts (kind, normal, currency, cap) VALUES (?, ?, ?, ?)", error);

  if (stmt == NULL)
    return 0;
  bind_text (stmt, 1, kind);
  sqlite3_bind_int (stmt, 2, normal);
  bind_text (stmt, 3, currency);
  if (cap > 0)
    sqlite3_bind_int64 (stmt, 4, cap);
  if (!step_done (TXN (t), stmt, error))
    return 0;
  return sqlite3_last_insert_rowid (TXN (t)->db);
}

/* A hold only moves funds between available and held. One statement serves
 * both ways: it refuses a hold above what is available and a release above
 * what is held; the CHECKs on the table would refuse them too, but the
 * condition lets us tell why. */
static gboolean
adjust_held (GwTxn   *t,
             gint64   account_id,
             gint64   delta,
             GError **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "UPDATE accounts SET held = held + ?1"
    " WHERE id = ?2 AND held + ?1 >= 0 AND balance - held >= ?1", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, delta);
  sqlite3_bind_int64 (stmt, 2, account_id);
  if (!step_done (TXN (t), stmt, error))
    return FALSE;
  if (sqlite3_changes (TXN (t)->db) != 1)
    return g_set_error_literal (error, GW_STORE_ERROR,
                                delta > 0 ? GW_STORE_ERROR_INSUFFICIENT : GW_STORE_ERROR_FAILED,
                                delta > 0 ? "Insufficient funds" : "Release exceeds the hold"),
           FALSE;
  return TRUE;
}

static gboolean
t_account_hold (GwTxn   *t,
                gint64   account_id,
                gint64   amount,
                GError **error)
{
  return adjust_held (t, account_id, amount, error);
}

static gboolean
t_account_release (GwTxn   *t,
                   gint64   account_id,
                   gint64   amount,
                   GError **error)
{
  return adjust_held (t, account_id, -amount, error);
}

/* Moves one account's balance by a line, or back (@undo). The conditions
 * make the database refuse an overdraft or a pass over the cap; no balance
 * read earlier in this process is trusted for that. */
static gboolean
move_balance (SqliteTxn     *txn,
              const GwLine  *line,
              gboolean       undo,
              GError       **error)
{
  sqlite3_stmt *stmt;

  if (undo)
    stmt = prep (txn, "UPDATE accounts SET balance = balance - normal * (?1 - ?2) WHERE id = ?3",
                 error);
  else
    stmt = prep (txn,
      "UPDATE accounts SET balance = balance + normal * (?1 - ?2)"
      " WHERE id = ?3 AND (?4 = 0 OR balance - held >= ?1)"
      " AND (cap IS NULL OR balance + normal * (?1 - ?2) <= cap)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, line->debit);
  sqlite3_bind_int64 (stmt, 2, line->credit);
  sqlite3_bind_int64 (stmt, 3, line->account_id);
  if (!undo)
    sqlite3_bind_int (stmt, 4, line->require_available);
  if (!step_done (txn, stmt, error))
    return FALSE;
  if (sqlite3_changes (txn->db) == 1)
    return TRUE;
  if (undo)
    return g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                                "A journal line could not be undone"), FALSE;
  return g_set_error_literal (error, GW_STORE_ERROR,
                              line->require_available ? GW_STORE_ERROR_INSUFFICIENT
                                                      : GW_STORE_ERROR_LIMIT,
                              line->require_available ? "Insufficient funds"
                                                      : "Balance limit reached"), FALSE;
}

/* Every line's balance first, in order. A line that is refused undoes the
 * ones before it, so the entry is all or nothing without a savepoint of its
 * own (two statements, and the copies of the pages it touches, per entry).
 * If an undo fails too, the error says so and the operation is rolled back
 * whole by its own savepoint. */
static gboolean
move_balances (SqliteTxn      *txn,
               const GwEntry  *entry,
               GError        **error)
{
  for (guint i = 0; i < entry->n_lines; i++)
    {
      GError *refused = NULL;

      if (move_balance (txn, &entry->lines[i], FALSE, &refused))
        continue;
      while (i-- > 0)
        if (!move_balance (txn, &entry->lines[i], TRUE, error))
          return g_clear_error (&refused), FALSE;
      g_propagate_error (error, refused);
      return FALSE;
    }
  return TRUE;
}

/* What the lines after each line move its account by (debits minus
 * credits), for an entry that names an account twice: a line's
 * balance_after is the account's balance once the whole entry is posted,
 * less those later moves. NULL when every account appears once. */
static gint64 *
later_moves (const GwEntry *entry)
{
  g_autoptr(GHashTable) after = NULL;
  gint64 *moves = NULL;

  if (entry->n_lines <= 16)
    {
      for (guint i = 0; i < entry->n_lines; i++)
        for (guint j = i + 1; j < entry->n_lines; j++)
          if (entry->lines[j].account_id == entry->lines[i].account_id)
            {
              if (moves == NULL)
                moves = g_new0 (gint64, entry->n_lines);
              moves[i] += entry->lines[j].debit - entry->lines[j].credit;
            }
      return moves;
    }

  /* A large entry (a batch of cards): from the last line back, with the
   * running sum of each account's lines after the current one. */
  after = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  for (guint i = entry->n_lines; i-- > 0;)
    {
      const GwLine *line = &entry->lines[i];
      gint64 *sum = g_hash_table_lookup (after, &line->account_id);

      if (sum == NULL)
        g_hash_table_insert (after, (gpointer) &line->account_id, sum = g_new0 (gint64, 1));
      else
        {
          if (moves == NULL)
            moves = g_new0 (gint64, entry->n_lines);
          moves[i] = *sum;
        }
      *sum += line->debit - line->credit;
    }
  return moves;
}

static gboolean
insert_line (SqliteTxn     *txn,
             gint64         entry_id,
             const GwLine  *line,
             gint64         later,
             GError       **error)
{
  sqlite3_stmt *stmt = prep (txn,
    "INSERT INTO journal_lines (entry_id, account_id, debit, credit, balance_after)"
    " VALUES (?1, ?2, ?3, ?4, (SELECT balance - normal * ?5 FROM accounts WHERE id = ?2))",
    error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, entry_id);
  sqlite3_bind_int64 (stmt, 2, line->account_id);
  sqlite3_bind_int64 (stmt, 3, line->debit);
  sqlite3_bind_int64 (stmt, 4, line->credit);
  sqlite3_bind_int64 (stmt, 5, later);
  return step_done (txn, stmt, error);
}

static gboolean
entry_is_balanced (const GwEntry *entry)
{
  gint64 debits = 0, credits = 0;

  for (guint i = 0; i < entry->n_lines; i++)
    {
      const GwLine *line = &entry->lines[i];

      if (line->debit < 0 || line->credit < 0 || (line->debit == 0) == (line->credit == 0))
        return FALSE;
      if (__builtin_add_overflow (debits, line->debit, &debits) ||
          __builtin_add_overflow (credits, line->credit, &credits))
        return FALSE;
    }
  return entry->n_lines >= 2 && debits == credits;
}

/* An entry is all or nothing: a refused line undoes the lines before it,
 * while the rest of the operation (a reset failure counter, say) stands.
 * Once the balances have moved, the entry and its lines are only written,
 * which nothing refuses short of an error that fails the operation. */
static gboolean
t_entry_post (GwTxn          *t,
              const GwEntry  *entry,
              GError        **error)
{
  SqliteTxn *txn = TXN (t);
  g_autofree gint64 *later = NULL;
  sqlite3_stmt *stmt;
  gint64 entry_id;

  if (!entry_is_balanced (entry))
    return g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_FAILED,
                                "Unbalanced journal entry refused"), FALSE;
  if (!move_balances (txn, entry, error))
    return FALSE;

  stmt = prep (txn,
    "INSERT INTO journal_entries (kind, channel, ref, merchant_id, description, created,"
    " payment_id) VALUES (?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, entry->kind);
  bind_text (stmt, 2, entry->channel);
  bind_text (stmt, 3, entry->ref);
  bind_text (stmt, 4, entry->merchant_id);
  bind_text (stmt, 5, entry->description);
  sqlite3_bind_int64 (stmt, 6, entry->created);
  bind_text (stmt, 7, entry->payment_id);
  if (!step_done (txn, stmt, error))
    return FALSE;
  entry_id = sqlite3_last_insert_rowid (txn->db);

  later = later_moves (entry);
  for (guint i = 0; i < entry->n_lines; i++)
    if (!insert_line (txn, entry_id, &entry->lines[i], later ? later[i] : 0, error))
      return FALSE;
  return TRUE;
}

static gboolean
t_merchant_insert (GwTxn         *t,
                   const char    *id,
                   const char    *name,
                   const char    *category,
                   const guint8   key_hash[32],
                   GBytes        *webhook_sealed,
                   gint64         account_id,
                   gint64         created,
                   GError       **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "INSERT INTO merchants (id, name, category, key_hash, webhook_secret_sealed, account_id,"
    " created) VALUES (?, ?, ?, ?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, id);
  bind_text (stmt, 2, name);
  bind_text (stmt, 3, category);
  sqlite3_bind_blob (stmt, 4, key_hash, 32, SQLITE_STATIC);
  bind_bytes (stmt, 5, webhook_sealed);
  sqlite3_bind_int64 (stmt, 6, account_id);
  sqlite3_bind_int64 (stmt, 7, created);
  return step_done (TXN (t), stmt, error);
}

static gint64
t_merchant_account (GwTxn       *t,
                    const char  *merchant_id,
                    GError     **error)
{
  GHashTable *cache = TXN (t)->read_only ? NULL : TXN (t)->store->merchant_accounts;
  sqlite3_stmt *stmt;
  gint64 account = 0;

  /* A merchant's account never changes once created. */
  if (cache != NULL && (account = GPOINTER_TO_SIZE (g_hash_table_lookup (cache, merchant_id))))
    return account;

  stmt = prep (TXN (t), "SELECT account_id FROM merchants WHERE id = ?", error);
  if (stmt == NULL)
    return 0;
  bind_text (stmt, 1, merchant_id);
  if (step_row (TXN (t), stmt, error))
    account = sqlite3_column_int64 (stmt, 0);
  else if (error == NULL || *error == NULL)
    g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_NOT_FOUND, "No such merchant");
  sqlite3_reset (stmt);
  if (cache != NULL && account != 0)
    g_hash_table_insert (cache, g_strdup (merchant_id), GSIZE_TO_POINTER (account));
  return account;
}

static gboolean
t_batch_insert (GwTxn       *t,
                const char  *id,
                gint64       count,
                gint64       value,
                const char  *currency,
                const char  *channel,
                gint64       created,
                GError     **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "INSERT INTO card_batches (id, count, value, currency, channel, created)"
    " VALUES (?, ?, ?, ?, ?, ?)", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, count);
  sqlite3_bind_int64 (stmt, 3, value);
  bind_text (stmt, 4, currency);
  bind_text (stmt, 5, channel);
  sqlite3_bind_int64 (stmt, 6, created);
  return step_done (TXN (t), stmt, error);
}

static void
bind_payment (sqlite3_stmt    *stmt,
              const GwPayment *p)
{
  bind_text (stmt, 1, p->id);
  bind_text (stmt, 2, p->merchant_id);
  bind_text (stmt, 3, p->card_id);
  bind_text (stmt, 4, p->status);
  sqlite3_bind_int64 (stmt, 5, p->amount);
  sqlite3_bind_int64 (stmt, 6, p->amount_captured);
  sqlite3_bind_int64 (stmt, 7, p->amount_refunded);
  bind_text (stmt, 8, p->currency);
  bind_text (stmt, 9, p->order_id);
  bind_text (stmt, 10, p->description);
  bind_text (stmt, 11, p->channel);
  sqlite3_bind_int64 (stmt, 12, p->created);
  if (p->capture_before > 0)
    sqlite3_bind_int64 (stmt, 13, p->capture_before);
  if (p->canceled_at > 0)
    sqlite3_bind_int64 (stmt, 14, p->canceled_at);
  sqlite3_bind_int64 (stmt, 15, p->points);
}

static gboolean
t_payment_insert (GwTxn            *t,
                  const GwPayment  *payment,
                  GError          **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "INSERT INTO payments (id, merchant_id, card_id, status, amount, amount_captured,"
    " amount_refunded, currency, order_id, description, channel, created, capture_before,"
    " canceled_at, points) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
    " ?14, ?15)", error);

  if (stmt == NULL)
    return FALSE;
  bind_payment (stmt, payment);
  return step_done (TXN (t), stmt, error);
}

/* A compare-and-set on the state the change was decided from: another
 * writer's capture, cancel or refund since the read makes it change no row.
 * Only conditions are added to the one UPDATE, no statement. */
static gboolean
t_payment_update (GwTxn            *t,
                  const GwPayment  *before,
                  const GwPayment  *after,
                  GError          **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "UPDATE payments SET status = ?4, amount_captured = ?6,"
    " amount_refunded = amount_refunded + (?7 - ?18),"
    " capture_before = ?13, canceled_at = ?14, points = ?15 WHERE id = ?1 AND merchant_id = ?2"
    " AND status = ?16 AND amount_captured = ?17 AND amount_refunded = ?18", error);

  if (stmt == NULL)
    return FALSE;
  bind_payment (stmt, after);
  bind_text (stmt, 16, before->status);
  sqlite3_bind_int64 (stmt, 17, before->amount_captured);
  sqlite3_bind_int64 (stmt, 18, before->amount_refunded);
  if (!step_done (TXN (t), stmt, error))
    return FALSE;
  if (sqlite3_changes (TXN (t)->db) != 1)
    return g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_CONFLICT,
                                "The payment changed since it was read"), FALSE;
  return TRUE;
}

static gboolean
t_payment_get (GwTxn       *t,
               const char  *id,
               GwPayment   *out,
               GError     **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "SELECT p.id, p.merchant_id, p.card_id, c.last4, p.status, p.amount, p.amount_captured,"
    " p.amount_refunded, p.currency, p.order_id, p.description, p.channel, p.created,"
    " COALESCE(p.capture_before, 0), COALESCE(p.canceled_at, 0), p.points, p.seq"
    " FROM payments p JOIN cards c ON c.id = p.card_id WHERE p.id = ?", error);
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, id);
  found = step_row (TXN (t), stmt, error);
  if (found)
    {
      const char *description = (const char *) sqlite3_column_text (stmt, 10);

      copy_text (out->id, sizeof out->id, stmt, 0);
      copy_text (out->merchant_id, sizeof out->merchant_id, stmt, 1);
      copy_text (out->card_id, sizeof out->card_id, stmt, 2);
      copy_text (out->card_last4, sizeof out->card_last4, stmt, 3);
      copy_text (out->status, sizeof out->status, stmt, 4);
      out->amount = sqlite3_column_int64 (stmt, 5);
      out->amount_captured = sqlite3_column_int64 (stmt, 6);
      out->amount_refunded = sqlite3_column_int64 (stmt, 7);
      copy_text (out->currency, sizeof out->currency, stmt, 8);
      out->order_id = g_strdup ((const char *) sqlite3_column_text (stmt, 9));
      out->description = g_strdup (description);
      copy_text (out->channel, sizeof out->channel, stmt, 11);
      out->created = sqlite3_column_int64 (stmt, 12);
      out->capture_before = sqlite3_column_int64 (stmt, 13);
      out->canceled_at = sqlite3_column_int64 (stmt, 14);
      out->points = sqlite3_column_int64 (stmt, 15);
      out->seq = sqlite3_column_int64 (stmt, 16);
    }
  sqlite3_reset (stmt);
  return found;
}

static GPtrArray *
t_payments_expiring (GwTxn   *t,
                     gint64   now,
                     guint    limit,
                     GError **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "SELECT id FROM payments WHERE status = 'authorized' AND capture_before < ?"
    " ORDER BY capture_before LIMIT ?", error);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int (stmt, 2, limit);
  while (step_row (TXN (t), stmt, error))
    g_ptr_array_add (ids, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_reset (stmt);
  if (error != NULL && *error != NULL)
    return NULL;
  return g_steal_pointer (&ids);
}

static gboolean
t_payments_next_expiry (GwTxn   *t,
                        gint64  *when,
                        GError **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "SELECT MIN(capture_before) FROM payments WHERE status = 'authorized'", error);

  if (stmt == NULL)
    return FALSE;
  *when = 0;
  if (step_row (TXN (t), stmt, error))
    *when = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return error == NULL || *error == NULL;
}

static gboolean
t_refund_insert (GwTxn       *t,
                 const char  *id,
                 const char  *payment_id,
                 gint64       amount,
                 const char  *currency,
                 gint64       created,
                 GError     **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "INSERT INTO refunds (id, payment_id, amount, currency, created) VALUES (?, ?, ?, ?, ?)",
    error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, id);
  bind_text (stmt, 2, payment_id);
  sqlite3_bind_int64 (stmt, 3, amount);
  bind_text (stmt, 4, currency);
  sqlite3_bind_int64 (stmt, 5, created);
  return step_done (TXN (t), stmt, error);
}

static gboolean
t_idempotency_get (GwTxn                *t,
                   const guint8          key_hash[32],
                   GwIdempotencyRecord  *out,
                   GError              **error)
{
  SqliteTxn *txn = TXN (t);
  sqlite3_stmt *stmt = prep (txn,
    "SELECT fingerprint, status, body, sealed FROM idempotency_keys WHERE key_hash = ?", error);
  const void *body;
  int len;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, key_hash, 32, SQLITE_STATIC);
  if (!step_row (txn, stmt, error))
    {
      sqlite3_reset (stmt);
      return FALSE;
    }

  if (sqlite3_column_bytes (stmt, 0) == 32)
    memcpy (out->fingerprint, sqlite3_column_blob (stmt, 0), 32);
  out->status = sqlite3_column_int (stmt, 1);
  body = sqlite3_column_blob (stmt, 2);
  len = sqlite3_column_bytes (stmt, 2);
  if (sqlite3_column_int (stmt, 3))
    {
      guint8 aad[IDEMPOTENCY_AAD_LEN];

      idempotency_aad (key_hash, aad);
      out->body = onepin_key_open (txn->store->seal_key, body, len, aad, sizeof aad, error);
    }
  else
    out->body = g_bytes_new (body, len);
  sqlite3_reset (stmt);
  return out->body != NULL;
}

static gboolean
t_idempotency_put (GwTxn         *t,
                   const guint8   key_hash[32],
                   const guint8   fingerprint[32],
                   guint          status,
                   const char    *body,
                   gsize          len,
                   gboolean       seal,
                   GError       **error)
{
  SqliteTxn *txn = TXN (t);
  sqlite3_stmt *stmt = prep (txn,
    "INSERT INTO idempotency_keys (key_hash, fingerprint, status, body, sealed, created)"
    " VALUES (?, ?, ?, ?, ?, ?)", error);
  g_autoptr(GBytes) sealed = NULL;

  if (stmt == NULL)
    return FALSE;
  if (seal)
    {
      guint8 aad[IDEMPOTENCY_AAD_LEN];

      idempotency_aad (key_hash, aad);
      sealed = onepin_key_seal (txn->store->seal_key, body, len, aad, sizeof aad, error);
      if (sealed == NULL)
        return FALSE;
    }
  sqlite3_bind_blob (stmt, 1, key_hash, 32, SQLITE_STATIC);
  sqlite3_bind_blob (stmt, 2, fingerprint, 32, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 3, status);
  if (sealed != NULL)
    bind_bytes (stmt, 4, sealed);
  else
    sqlite3_bind_blob (stmt, 4, body, (int) len, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 5, seal);
  sqlite3_bind_int64 (stmt, 6, txn->now);
  return step_done (txn, stmt, error);
}

static gboolean
t_idempotency_prune (GwTxn   *t,
                     gint64   older_than,
                     GError **error)
{
  /* Records are appended in the order they are written, so the old ones
   * are those before the first that is not old: one scan over what goes,
   * without an index by age. (A record the clock set back stays until a
   * later sweep; none younger than @older_than is ever removed.) */
  sqlite3_stmt *stmt = prep (TXN (t),
    "DELETE FROM idempotency_keys WHERE id < COALESCE("
    " (SELECT id FROM idempotency_keys WHERE created >= ?1 ORDER BY id LIMIT 1),"
    " (SELECT MAX(id) + 1 FROM idempotency_keys))", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, older_than);
  return step_done (TXN (t), stmt, error);
}

/* A merchant's events (payment.*, checkout.*) are there to be sent to its
 * webhook endpoint, which never gets events older than itself
 * (gw-webhooks.c), so without an endpoint now there is nothing to queue.
 * Skipping them spares each payment a row written now and marked skipped
 * later. */
static gboolean
is_merchant_event (const char *type,
                   const char *merchant_id)
{
  return merchant_id != NULL &&
         (g_str_has_prefix (type, "payment.") || g_str_has_prefix (type, "checkout.") ||
          g_str_has_prefix (type, "phone_session."));
}

static gboolean
t_outbox_put (GwTxn       *t,
              const char  *type,
              const char  *merchant_id,
              const char  *payload,
              GError     **error)
{
  sqlite3_stmt *stmt = is_merchant_event (type, merchant_id)
    ? prep (TXN (t), "INSERT INTO outbox (type, merchant_id, payload, created)"
                     " SELECT ?1, ?2, ?3, ?4 WHERE EXISTS"
                     " (SELECT 1 FROM merchant_webhooks WHERE merchant_id = ?2)", error)
    : prep (TXN (t), "INSERT INTO outbox (type, merchant_id, payload, created)"
                     " VALUES (?1, ?2, ?3, ?4)", error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, type);
  bind_text (stmt, 2, merchant_id);
  bind_text (stmt, 3, payload);
  sqlite3_bind_int64 (stmt, 4, TXN (t)->now);
  return step_done (TXN (t), stmt, error);
}

static void
statement_line_clear (gpointer data)
{
  GwStatementLine *line = data;

  g_clear_pointer (&line->description, g_free);
  g_clear_pointer (&line->merchant_name, g_free);
}

static GArray *
t_statement (GwTxn   *t,
             gint64   account_id,
             gint64   starting_after,
             guint    limit,
             GError **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "SELECT l.id, e.kind, COALESCE(e.channel, ''), COALESCE(e.ref, ''),"
    " COALESCE(e.merchant_id, ''), e.description, l.credit - l.debit, l.balance_after, e.created,"
    " COALESCE(e.payment_id, ''), m.name"
    " FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id"
    " LEFT JOIN merchants m ON m.id = e.merchant_id"
    " WHERE l.account_id = ?1 AND (?2 = 0 OR l.id < ?2) ORDER BY l.id DESC LIMIT ?3", error);
  g_autoptr(GArray) lines = g_array_new (FALSE, TRUE, sizeof (GwStatementLine));

  g_array_set_clear_func (lines, statement_line_clear);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, account_id);
  sqlite3_bind_int64 (stmt, 2, starting_after);
  sqlite3_bind_int (stmt, 3, limit);
  while (step_row (TXN (t), stmt, error))
    {
      GwStatementLine line = { 0 };

      line.id = sqlite3_column_int64 (stmt, 0);
      copy_text (line.kind, sizeof line.kind, stmt, 1);
      copy_text (line.channel, sizeof line.channel, stmt, 2);
      copy_text (line.ref, sizeof line.ref, stmt, 3);
      copy_text (line.merchant_id, sizeof line.merchant_id, stmt, 4);
      line.description = g_strdup ((const char *) sqlite3_column_text (stmt, 5));
      line.amount = sqlite3_column_int64 (stmt, 6);
      line.balance_after = sqlite3_column_int64 (stmt, 7);
      line.created = sqlite3_column_int64 (stmt, 8);
      copy_text (line.payment_id, sizeof line.payment_id, stmt, 9);
      line.merchant_name = g_strdup ((const char *) sqlite3_column_text (stmt, 10));
      g_array_append_val (lines, line);
    }
  sqlite3_reset (stmt);
  if (error != NULL && *error != NULL)
    return NULL;
  return g_steal_pointer (&lines);
}

static GHashTable *
t_account_totals (GwTxn   *t,
                  gint64   account_id,
                  GError **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "SELECT e.kind || ':' || COALESCE(e.channel, ''), SUM(l.credit - l.debit)"
    " FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id"
    " WHERE l.account_id = ? GROUP BY 1", error);
  g_autoptr(GHashTable) sums = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, account_id);
  while (step_row (TXN (t), stmt, error))
    g_hash_table_insert (sums, g_strdup ((const char *) sqlite3_column_text (stmt, 0)),
                         g_memdup2 (&(gint64) { sqlite3_column_int64 (stmt, 1) }, sizeof (gint64)));
  sqlite3_reset (stmt);
  if (error != NULL && *error != NULL)
    return NULL;
  return g_steal_pointer (&sums);
}

static GPtrArray *
t_payments_list (GwTxn       *t,
                 const char  *merchant_id,
                 gint64       before_seq,
                 guint        limit,
                 GError     **error)
{
  sqlite3_stmt *stmt = prep (TXN (t),
    "SELECT id FROM payments WHERE merchant_id = ?1 AND (?2 = 0 OR seq < ?2)"
    " ORDER BY seq DESC LIMIT ?3", error);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) payments = g_ptr_array_new_with_free_func ((GDestroyNotify) gw_payment_free);

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, merchant_id);
  sqlite3_bind_int64 (stmt, 2, before_seq);
  sqlite3_bind_int (stmt, 3, limit);
  while (step_row (TXN (t), stmt, error))
    g_ptr_array_add (ids, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_reset (stmt);
  if (error != NULL && *error != NULL)
    return NULL;

  for (guint i = 0; i < ids->len; i++)
    {
      GwPayment *payment = g_new0 (GwPayment, 1);

      g_ptr_array_add (payments, payment);
      if (!t_payment_get (t, g_ptr_array_index (ids, i), payment, error))
        return NULL;
    }
  return g_steal_pointer (&payments);
}

static gboolean
t_merchant_by_key (GwTxn         *t,
                   const guint8   key_hash[32],
                   char           id[40],
                   GError       **error)
{
  sqlite3_stmt *stmt = prep (TXN (t), "SELECT id FROM merchants WHERE key_hash = ?", error);
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, key_hash, 32, SQLITE_STATIC);
  found = step_row (TXN (t), stmt, error);
  if (found)
    copy_text (id, 40, stmt, 0);
  sqlite3_reset (stmt);
  return found;
}

static gint64
query_int (SqliteTxn   *txn,
           const char  *sql,
           GError     **error)
{
  sqlite3_stmt *stmt = prep (txn, sql, error);
  gint64 value = 0;

  if (stmt == NULL)
    return 0;
  if (step_row (txn, stmt, error))
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return value;
}

/* Module tables: each module that keeps data of its own adds its line.
 * @holds, if the module places holds on accounts, selects its open ones as
 * (account_id, amount), for the audit. */
static const struct
{
  const char   *name;
  gconstpointer funcs;
  const char   *holds;
} extensions[] = {
  { "phone", &gw_phone_store_sqlite,
    "SELECT account_id, held FROM phone_sessions WHERE state = 'open' AND held > 0" },
  { "settlement", &gw_settlement_store_sqlite, NULL },
  { "foreign", &gw_foreign_store_sqlite, NULL },
  { GW_OUTBOX_STORE, &gw_outbox_sqlite_funcs, NULL },
  { "wallet", &gw_wallet_store_sqlite, NULL },
  { "orders", &gw_orders_store_sqlite_funcs, NULL },
  { "network", &gw_network_store_sqlite, NULL },
  { "checkout", &gw_checkout_store_sqlite, NULL },
  { NULL, NULL, NULL },
};

typedef struct
{
  char *mismatched;
  char *holds_total;
} AuditSql;

/* The holds the journal does not show: open authorizations, and whatever
 * the modules hold (their @holds queries). Built once, so that the
 * statements are prepared once like every other.
 *
 * An account with holds must cover them; one without may be below zero, as
 * the table allows for everything but cards: a merchant's payable is, when
 * a payment already settled and paid out is refunded. */
static const AuditSql *
audit_sql (void)
{
  static AuditSql sql;
  static gsize done;

  if (g_once_init_enter (&done))
    {
      g_autoptr(GString) holds = g_string_new (
        "SELECT c.account_id AS account_id, p.amount AS amount FROM payments p"
        " JOIN cards c ON c.id = p.card_id"
        " WHERE p.status = 'authorized'");

      for (guint i = 0; extensions[i].name != NULL; i++)
        if (extensions[i].holds != NULL)
          g_string_append_printf (holds, " UNION ALL %s", extensions[i].holds);
      sql.mismatched = g_strdup_printf (
        "SELECT COUNT(*) FROM accounts a"
        " LEFT JOIN (SELECT account_id, SUM(debit) - SUM(credit) AS net FROM journal_lines"
        "            GROUP BY account_id) l ON l.account_id = a.id"
        " LEFT JOIN (SELECT account_id, SUM(amount) AS held FROM (%s)"
        "            GROUP BY account_id) h ON h.account_id = a.id"
        " WHERE a.balance <> a.normal * COALESCE(l.net, 0) OR a.held <> COALESCE(h.held, 0)"
        "    OR (a.held > 0 AND a.balance < a.held)", holds->str);
      sql.holds_total = g_strdup_printf ("SELECT COALESCE(SUM(amount), 0) FROM (%s)",
                                         holds->str);
      g_once_init_leave (&done, 1);
    }
  return &sql;
}

/* Recomputes everything from the journal and compares it with what is stored. */
static gboolean
t_audit (GwTxn    *t,
         GwAudit  *out,
         GError  **error)
{
  SqliteTxn *txn = TXN (t);
  GError *local = NULL;

  out->total_debits = query_int (txn, "SELECT COALESCE(SUM(debit), 0) FROM journal_lines", &local);
  if (local == NULL)
    out->total_credits = query_int (txn, "SELECT COALESCE(SUM(credit), 0) FROM journal_lines",
                                    &local);
  if (local == NULL)
    out->unbalanced_entries = query_int (txn,
      "SELECT COUNT(*) FROM (SELECT entry_id FROM journal_lines GROUP BY entry_id"
      " HAVING SUM(debit) <> SUM(credit))", &local);
  if (local == NULL)
    out->mismatched_accounts = query_int (txn, audit_sql ()->mismatched, &local);
  if (local == NULL)
    out->cards_balance_total = query_int (txn,
      "SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE kind = 'card'", &local);
  if (local == NULL)
    out->pending_holds_total = query_int (txn, audit_sql ()->holds_total, &local);
  if (local == NULL)
    out->accounts_checked = query_int (txn, "SELECT COUNT(*) FROM accounts", &local);
  if (local == NULL)
    out->entries_checked = query_int (txn, "SELECT COUNT(*) FROM journal_entries", &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }

  out->balanced = out->total_debits == out->total_credits && out->unbalanced_entries == 0 &&
                  out->mismatched_accounts == 0;
  return TRUE;
}

static gconstpointer
t_extension (GwTxn      *t,
             const char *name)
{
  for (guint i = 0; extensions[i].name != NULL; i++)
    if (g_str_equal (extensions[i].name, name))
      return extensions[i].funcs;
  return NULL;
}

/* For the modules' own gw-*-store-sqlite.c files */

sqlite3_stmt *
gw_sqlite_prepare (GwTxn       *t,
                   const char  *sql,
                   GError     **error)
{
  return prep (TXN (t), sql, error);
}

gboolean
gw_sqlite_step_done (GwTxn         *t,
                     sqlite3_stmt  *stmt,
                     GError       **error)
{
  return step_done (TXN (t), stmt, error);
}

gboolean
gw_sqlite_update_one (GwTxn         *t,
                      sqlite3_stmt  *stmt,
                      GError       **error)
{
  if (!step_done (TXN (t), stmt, error))
    return FALSE;
  if (sqlite3_changes (TXN (t)->db) != 1)
    return g_set_error_literal (error, GW_STORE_ERROR, GW_STORE_ERROR_NOT_FOUND,
                                "The row changed underneath"), FALSE;
  return TRUE;
}

gboolean
gw_sqlite_step_row (GwTxn         *t,
                    sqlite3_stmt  *stmt,
                    GError       **error)
{
  return step_row (TXN (t), stmt, error);
}

void
gw_sqlite_bind_text (sqlite3_stmt *stmt,
                     int           idx,
                     const char   *text)
{
  bind_text (stmt, idx, text);
}

void
gw_sqlite_bind_bytes (sqlite3_stmt *stmt,
                      int           idx,
                      GBytes       *bytes)
{
  bind_bytes (stmt, idx, bytes);
}

void
gw_sqlite_copy_text (char         *dest,
                     gsize         size,
                     sqlite3_stmt *stmt,
                     int           col)
{
  copy_text (dest, size, stmt, col);
}

static const GwTxnFuncs sqlite_txn_funcs = {
  .now = t_now,
  .card_by_lookup = t_card_by_lookup,
  .card_by_id = t_card_by_id,
  .card_lookup = t_card_lookup,
  .card_insert = t_card_insert,
  .card_auth_failed = t_card_auth_failed,
  .card_auth_reset = t_card_auth_reset,
  .card_lock = t_card_lock,
  .card_set_password = t_card_set_password,
  .card_hint = t_card_hint,
  .card_add_points = t_card_add_points,
  .credential_failure_add = t_credential_failure_add,
  .credential_failures = t_credential_failures,
  .account_insert = t_account_insert,
  .account_hold = t_account_hold,
  .account_release = t_account_release,
  .entry_post = t_entry_post,
  .merchant_insert = t_merchant_insert,
  .merchant_account = t_merchant_account,
  .batch_insert = t_batch_insert,
  .payment_insert = t_payment_insert,
  .payment_get = t_payment_get,
  .payment_update = t_payment_update,
  .payments_expiring = t_payments_expiring,
  .payments_next_expiry = t_payments_next_expiry,
  .refund_insert = t_refund_insert,
  .idempotency_get = t_idempotency_get,
  .idempotency_put = t_idempotency_put,
  .idempotency_prune = t_idempotency_prune,
  .outbox_put = t_outbox_put,
  .statement = t_statement,
  .account_totals = t_account_totals,
  .payments_list = t_payments_list,
  .merchant_by_key = t_merchant_by_key,
  .audit = t_audit,
  .extension = t_extension,
};

/* Shared helpers of the modules' stores (gw-store-sqlite-private.h) */

void
gw_sqlite_bind_hash (sqlite3_stmt *stmt,
                     int           idx,
                     const guint8 *hash)
{
  if (hash == NULL)
    sqlite3_bind_null (stmt, idx);
  else
    sqlite3_bind_blob (stmt, idx, hash, 32, SQLITE_STATIC);
}

void
gw_sqlite_bind_optional (sqlite3_stmt *stmt,
                         int           idx,
                         const char   *text)
{
  bind_text (stmt, idx, text != NULL && text[0] != '\0' ? text : NULL);
}

void
gw_sqlite_bind_optional_int (sqlite3_stmt *stmt,
                             int           idx,
                             gint64        value)
{
  if (value == 0)
    sqlite3_bind_null (stmt, idx);
  else
    sqlite3_bind_int64 (stmt, idx, value);
}

char *
gw_sqlite_column_strdup (sqlite3_stmt *stmt,
                         int           col)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, col));
}

GBytes *
gw_sqlite_column_bytes (sqlite3_stmt *stmt,
                        int           col)
{
  if (sqlite3_column_type (stmt, col) == SQLITE_NULL)
    return NULL;
  return g_bytes_new (sqlite3_column_blob (stmt, col), sqlite3_column_bytes (stmt, col));
}

gboolean
gw_sqlite_copy_blob (guint8       *dest,
                     gsize         size,
                     sqlite3_stmt *stmt,
                     int           col)
{
  if ((gsize) sqlite3_column_bytes (stmt, col) != size)
    {
      memset (dest, 0, size);
      return FALSE;
    }
  memcpy (dest, sqlite3_column_blob (stmt, col), size);
  return TRUE;
}

gint64
gw_sqlite_step_changes (GwTxn         *t,
                        sqlite3_stmt  *stmt,
                        GError       **error)
{
  if (stmt == NULL || !step_done (TXN (t), stmt, error))
    return -1;
  return sqlite3_changes (TXN (t)->db);
}

gboolean
gw_sqlite_change_one (GwTxn         *t,
                      sqlite3_stmt  *stmt,
                      GwStoreError   code,
                      const char    *message,
                      GError       **error)
{
  gint64 changes = gw_sqlite_step_changes (t, stmt, error);

  if (changes < 0)
    return FALSE;
  if (changes != 1)
    return g_set_error_literal (error, GW_STORE_ERROR, code, message), FALSE;
  return TRUE;
}

gboolean
gw_sqlite_read_one (GwTxn             *t,
                    sqlite3_stmt      *stmt,
                    GwSqliteReadFunc   read,
                    gpointer           out,
                    GError           **error)
{
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  found = step_row (TXN (t), stmt, error);
  if (found && read != NULL)
    read (stmt, out);
  sqlite3_reset (stmt);
  return found;
}

gboolean
gw_sqlite_get_by_text (GwTxn             *t,
                       const char        *sql,
                       const char        *key,
                       GwSqliteReadFunc   read,
                       gpointer           out,
                       GError           **error)
{
  sqlite3_stmt *stmt = prep (TXN (t), sql, error);

  if (stmt != NULL)
    bind_text (stmt, 1, key);
  return gw_sqlite_read_one (t, stmt, read, out, error);
}

gboolean
gw_sqlite_get_by_hash (GwTxn             *t,
                       const char        *sql,
                       const guint8       key[32],
                       GwSqliteReadFunc   read,
                       gpointer           out,
                       GError           **error)
{
  sqlite3_stmt *stmt = prep (TXN (t), sql, error);

  if (stmt != NULL)
    gw_sqlite_bind_hash (stmt, 1, key);
  return gw_sqlite_read_one (t, stmt, read, out, error);
}

void
gw_sqlite_row_int (sqlite3_stmt *stmt,
                   gpointer      out)
{
  *(gint64 *) out = sqlite3_column_int64 (stmt, 0);
}

gint64
gw_sqlite_read_int (GwTxn         *t,
                    sqlite3_stmt  *stmt,
                    GError       **error)
{
  gint64 value = 0;

  gw_sqlite_read_one (t, stmt, gw_sqlite_row_int, &value, error);
  return value;
}

typedef struct
{
  GwSqliteReadFunc  read;
  gsize             size;
  gpointer          rows;
} RowReader;

/* Adds every row of @stmt to @reader->rows with @add, then resets @stmt.
 * On error (a NULL @stmt is one) the rows go, freed with @unref. */
static gpointer
read_rows (GwTxn             *t,
           sqlite3_stmt      *stmt,
           GwSqliteReadFunc   add,
           RowReader         *reader,
           GDestroyNotify     unref,
           GError           **error)
{
  GError *local = NULL;

  if (stmt == NULL)
    {
      unref (reader->rows);
      return NULL;
    }
  while (step_row (TXN (t), stmt, &local))
    add (stmt, reader);
  sqlite3_reset (stmt);
  if (local != NULL)
    {
      g_clear_pointer (&reader->rows, unref);
      g_propagate_error (error, local);
    }
  return reader->rows;
}

static void
add_to_array (sqlite3_stmt *stmt,
              gpointer      data)
{
  RowReader *reader = data;
  GArray *rows = reader->rows;

  g_array_set_size (rows, rows->len + 1);
  reader->read (stmt, rows->data + (gsize) (rows->len - 1) * reader->size);
}

static void
add_to_list (sqlite3_stmt *stmt,
             gpointer      data)
{
  RowReader *reader = data;
  gpointer row = g_malloc0 (reader->size);

  g_ptr_array_add (reader->rows, row);
  reader->read (stmt, row);
}

static void
add_id (sqlite3_stmt *stmt,
        gpointer      data)
{
  RowReader *reader = data;

  g_ptr_array_add (reader->rows, gw_sqlite_column_strdup (stmt, 0));
}

GArray *
gw_sqlite_read_array (GwTxn             *t,
                      sqlite3_stmt      *stmt,
                      guint              size,
                      GwSqliteReadFunc   read,
                      GDestroyNotify     clear,
                      GError           **error)
{
  RowReader reader = { read, size, g_array_new (FALSE, TRUE, size) };

  if (clear != NULL)
    g_array_set_clear_func (reader.rows, clear);
  return read_rows (t, stmt, add_to_array, &reader, (GDestroyNotify) g_array_unref, error);
}

GPtrArray *
gw_sqlite_read_list (GwTxn             *t,
                     sqlite3_stmt      *stmt,
                     gsize              size,
                     GwSqliteReadFunc   read,
                     GDestroyNotify     free_func,
                     GError           **error)
{
  RowReader reader = { read, size, g_ptr_array_new_with_free_func (free_func) };

  return read_rows (t, stmt, add_to_list, &reader, (GDestroyNotify) g_ptr_array_unref, error);
}

GPtrArray *
gw_sqlite_read_ids (GwTxn         *t,
                    sqlite3_stmt  *stmt,
                    GError       **error)
{
  RowReader reader = { NULL, 0, g_ptr_array_new_with_free_func (g_free) };

  return read_rows (t, stmt, add_id, &reader, (GDestroyNotify) g_ptr_array_unref, error);
}

void
gw_sqlite_row_strdup (sqlite3_stmt *stmt,
                      gpointer      out)
{
  *(char **) out = gw_sqlite_column_strdup (stmt, 0);
}

void
gw_sqlite_row_id (sqlite3_stmt *stmt,
                  gpointer      out)
{
  copy_text (out, 40, stmt, 0);
}

char *
gw_sqlite_merchant_name (GwTxn       *t,
                         const char  *merchant_id,
                         GError     **error)
{
  char *name = NULL;

  gw_sqlite_get_by_text (t, "SELECT name FROM merchants WHERE id = ?", merchant_id,
                         gw_sqlite_row_strdup, &name, error);
  return name;
}
