/* bench-floor.c: the least work the gateway's design could do per payment
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The gateway's ratio against bench-empty has a ceiling set by what every
 * payment must do on these two cores, whatever the code around it. This
 * server does that and nothing more, so run-bench can show the ceiling
 * beside the ratio, measured in the same run:
 *
 *  - on the main thread: libsoup reads the request, a JsonParser parses it
 *    (as in bench-empty), and three HMAC-SHA256 through NSS, as the gateway
 *    needs: the API key's keyed hash, the card number's lookup hash and the
 *    password's MAC; then the message is paused and queued;
 *  - on one writer thread, for everything queued, in one transaction
 *    (WAL, synchronous=FULL): the card found by its lookup hash, its
 *    password MAC compared in constant time, one won moved from the card to
 *    the merchant (a conditional update each), the entry and its two lines,
 *    and the idempotency record; after COMMIT the batch goes back to the
 *    main context in one g_main_context_invoke, which answers and unpauses;
 *  - on a checkpointer thread, the WAL copied back and started over, as the
 *    gateway does it.
 *
 * Nothing else the gateway does is here: no field checks, no fingerprint,
 * no idempotency lookup, no payment row, no metrics, no cards' states. The
 * card numbers it knows are 94100000 followed by 00000000 to 00000999 (the
 * request's card_number modulo 1,000 picks one).
 *
 *     bench-floor --data-dir DIR [--listen 127.0.0.1:PORT]
 */
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <sqlite3.h>
#include <string.h>

#include "bench-server.h"
#include "onepin-crypto.h"

#define N_CARDS 1000
#define CARD_BASE "94100000"

static const char ok_body[] = "{\"object\":\"payment\",\"status\":\"captured\",\"amount\":1}";
static const char stored_body[] =
  "{\"object\":\"payment\",\"status\":\"captured\",\"amount\":1,\"currency\":\"krw\"}";

typedef struct
{
  SoupServerMessage *msg;
  char              *idempotency_key;
  guint8             card_hash[ONEPIN_HMAC_LEN];
  guint8             password_mac[ONEPIN_HMAC_LEN];
  guint              status;
} Payment;

typedef enum
{
  STMT_BEGIN,
  STMT_COMMIT,
  STMT_CARD,
  STMT_DEBIT,
  STMT_CREDIT,
  STMT_ENTRY,
  STMT_LINE,
  STMT_IDEMPOTENCY,
  N_STMTS
} Stmt;

static const char *const stmt_sql[N_STMTS] = {
  [STMT_BEGIN] = "BEGIN IMMEDIATE",
  [STMT_COMMIT] = "COMMIT",
  [STMT_CARD] = "SELECT id, password_mac FROM cards WHERE lookup = ?",
  [STMT_DEBIT] = "UPDATE accounts SET balance = balance - 1 WHERE id = ? AND balance >= 1",
  [STMT_CREDIT] = "UPDATE accounts SET balance = balance + 1 WHERE id = 0",
  [STMT_ENTRY] = "INSERT INTO entries (created, memo) VALUES (unixepoch (), ?)",
  [STMT_LINE] = "INSERT INTO lines (entry, account, amount) VALUES (?, ?, ?)",
  [STMT_IDEMPOTENCY] = "INSERT INTO idempotency (key, entry, body) VALUES (?, ?, ?)",
};

static const char schema[] =
  "PRAGMA journal_mode = WAL;"
  "PRAGMA synchronous = FULL;"
  "PRAGMA cache_size = -65536;"
  "PRAGMA wal_autocheckpoint = 0;"     /* the checkpointer thread's, below */
  "CREATE TABLE accounts (id INTEGER PRIMARY KEY,"
  "  balance INTEGER NOT NULL CHECK (balance >= 0));"
  "CREATE TABLE cards (id INTEGER PRIMARY KEY REFERENCES accounts,"
  "  lookup BLOB NOT NULL UNIQUE, password_mac BLOB NOT NULL);"
  "CREATE TABLE entries (id INTEGER PRIMARY KEY, created INTEGER NOT NULL, memo TEXT);"
  "CREATE TABLE lines (entry INTEGER NOT NULL, account INTEGER NOT NULL,"
  "  amount INTEGER NOT NULL);"
  "CREATE INDEX lines_by_account ON lines (account, entry);"
  "CREATE TABLE idempotency (id INTEGER PRIMARY KEY, key TEXT NOT NULL,"
  "  entry INTEGER NOT NULL, body TEXT NOT NULL);"
  "CREATE UNIQUE INDEX idempotency_by_key ON idempotency (key);";

typedef struct
{
  OnepinKey    *key;
  char         *path;
  sqlite3      *db;
  sqlite3_stmt *stmts[N_STMTS];
  GAsyncQueue  *queue;
  GMainContext *context;

  /* the checkpointer */
  GThread      *checkpointer;
  GMutex        lock;
  GCond         cond;
  gboolean      wanted;
  gboolean      stopping;
  int           wal_frames;
} Floor;

/* As the gateway's: the WAL is copied back from this many frames on. */
#define CHECKPOINT_FRAMES 16000
#define CATCH_UP_FRAMES 64

/* Pushed to the queue to stop the writer. */
static Payment stop_marker;

static void
payment_free (Payment *payment)
{
  g_clear_object (&payment->msg);
  g_free (payment->idempotency_key);
  g_free (payment);
}

static gboolean
hmac_string (Floor      *self,
             const char *text,
             guint8      out[ONEPIN_HMAC_LEN])
{
  return onepin_key_hmac (self->key, text, strlen (text), out);
}

static sqlite3_stmt *
stmt (Floor *self,
      Stmt   which)
{
  return self->stmts[which];
}

/* Resets at once, as the gateway does: a statement left open holds its
 * read of the WAL, which keeps the checkpoints from finishing. */
static gboolean
step_done (sqlite3_stmt *s)
{
  gboolean done = sqlite3_step (s) == SQLITE_DONE;

  sqlite3_reset (s);
  return done;
}

static gboolean
post_line (Floor        *self,
           sqlite3_int64 entry,
           sqlite3_int64 account,
           sqlite3_int64 amount)
{
  sqlite3_stmt *s = stmt (self, STMT_LINE);

  sqlite3_bind_int64 (s, 1, entry);
  sqlite3_bind_int64 (s, 2, account);
  sqlite3_bind_int64 (s, 3, amount);
  return step_done (s);
}

/* The card's account, once its password MAC matched; 0 if it did not. */
static sqlite3_int64
find_card (Floor   *self,
           Payment *payment)
{
  sqlite3_stmt *s = stmt (self, STMT_CARD);
  sqlite3_int64 card = 0;

  sqlite3_bind_blob (s, 1, payment->card_hash, ONEPIN_HMAC_LEN, SQLITE_STATIC);
  if (sqlite3_step (s) == SQLITE_ROW &&
      sqlite3_column_bytes (s, 1) == ONEPIN_HMAC_LEN &&
      onepin_crypto_equal (sqlite3_column_blob (s, 1), payment->password_mac, ONEPIN_HMAC_LEN))
    card = sqlite3_column_int64 (s, 0);
  sqlite3_reset (s);
  return card;
}

static guint
apply (Floor   *self,
       Payment *payment)
{
  sqlite3_int64 card = find_card (self, payment);
  sqlite3_int64 entry;
  sqlite3_stmt *s;

  if (card == 0)
    return 402;
  s = stmt (self, STMT_DEBIT);
  sqlite3_bind_int64 (s, 1, card);
  if (!step_done (s) || sqlite3_changes (self->db) != 1)
    return 402;
  if (!step_done (stmt (self, STMT_CREDIT)))
    return 500;
  s = stmt (self, STMT_ENTRY);
  sqlite3_bind_text (s, 1, payment->idempotency_key, -1, SQLITE_STATIC);
  if (!step_done (s))
    return 500;
  entry = sqlite3_last_insert_rowid (self->db);
  if (!post_line (self, entry, card, -1) || !post_line (self, entry, 0, 1))
    return 500;
  s = stmt (self, STMT_IDEMPOTENCY);
  sqlite3_bind_text (s, 1, payment->idempotency_key, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (s, 2, entry);
  sqlite3_bind_text (s, 3, stored_body, -1, SQLITE_STATIC);
  return step_done (s) ? 200 : 409;
}

static gboolean
deliver (gpointer data)
{
  GPtrArray *batch = data;

  for (guint i = 0; i < batch->len; i++)
    {
      Payment *payment = g_ptr_array_index (batch, i);

      soup_server_message_set_status (payment->msg, payment->status, NULL);
      if (payment->status == 200)
        soup_server_message_set_response (payment->msg, "application/json; charset=utf-8",
                                          SOUP_MEMORY_STATIC, ok_body, strlen (ok_body));
      soup_server_message_unpause (payment->msg);
    }
  g_ptr_array_unref (batch);
  return G_SOURCE_REMOVE;
}

/* Applies @batch in one transaction. A decline (402) has written nothing.
 * A payment that fails once it wrote (a key used twice: 409) would leave
 * half of itself behind, and the real gateway's writer rolls it back
 * alone; the floor, whose payments do not fail that way, rolls the whole
 * batch back instead and answers every payment of it 500. */
static void
commit_batch (Floor     *self,
              GPtrArray *batch)
{
  gboolean whole = TRUE;
  gboolean committed;

  if (!step_done (stmt (self, STMT_BEGIN)))
    g_error ("BEGIN: %s", sqlite3_errmsg (self->db));
  for (guint i = 0; whole && i < batch->len; i++)
    {
      Payment *payment = g_ptr_array_index (batch, i);

      payment->status = apply (self, payment);
      whole = payment->status == 200 || payment->status == 402;
    }
  committed = whole && step_done (stmt (self, STMT_COMMIT));
  for (guint i = 0; !committed && i < batch->len; i++)
    ((Payment *) g_ptr_array_index (batch, i))->status = 500;
  if (!committed)
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

static gpointer
writer_run (gpointer data)
{
  Floor *self = data;

  for (;;)
    {
      GPtrArray *batch = g_ptr_array_new_with_free_func ((GDestroyNotify) payment_free);
      Payment *payment = g_async_queue_pop (self->queue);
      gboolean stopping = FALSE;

      do
        {
          if (payment == &stop_marker)
            stopping = TRUE;
          else
            g_ptr_array_add (batch, payment);
        }
      while ((payment = g_async_queue_try_pop (self->queue)) != NULL);

      if (batch->len > 0)
        {
          commit_batch (self, batch);
          g_main_context_invoke (self->context, deliver, g_steal_pointer (&batch));
        }
      g_clear_pointer (&batch, g_ptr_array_unref);
      if (stopping)
        return NULL;
    }
}

/* The checkpointer keeps the writer from copying the WAL back itself, as the
 * gateway's does (gw-store-sqlite.c, with more care for the database file's
 * syncs): passive rounds while each leaves fewer frames behind the writer,
 * then, once at most CATCH_UP_FRAMES are left, a RESTART round that holds the
 * writer off a moment and starts the WAL over. A WAL never started over
 * grows, and each commit's fdatasync then writes the file's new size too. */
static int
wal_hook (gpointer    data,
          sqlite3    *db,
          const char *name,
          int         frames)
{
  Floor *self = data;

  g_atomic_int_set (&self->wal_frames, frames);
  if (frames >= CHECKPOINT_FRAMES)
    {
      g_mutex_lock (&self->lock);
      self->wanted = TRUE;
      g_cond_signal (&self->cond);
      g_mutex_unlock (&self->lock);
    }
  return SQLITE_OK;
}

/* Waits for a lock in steps of 100 µs, at most GPOINTER_TO_INT (@data) of
 * them: the writer for the restart round, the restart round for the
 * writer's batch. */
static int
busy_in_steps (void *data,
               int   count)
{
  if (count >= GPOINTER_TO_INT (data))
    return 0;
  g_usleep (100);
  return 1;
}

static void
checkpoint (Floor   *self,
            sqlite3 *db)
{
  int left = G_MAXINT;

  for (;;)
    {
      int log = 0, copied = 0, behind;

      if (sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) != SQLITE_OK ||
          copied < log)
        return;
      behind = g_atomic_int_get (&self->wal_frames) - copied;
      if (behind >= left)
        return;
      left = behind;
      if (left <= CATCH_UP_FRAMES)
        break;
    }
  sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
}

static gpointer
checkpointer_run (gpointer data)
{
  Floor *self = data;
  sqlite3 *db = NULL;

  /* A connection finds the WAL only once it reads the database. */
  if (sqlite3_open (self->path, &db) != SQLITE_OK ||
      sqlite3_exec (db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK)
    g_error ("checkpointer: %s", sqlite3_errmsg (db));
  sqlite3_busy_handler (db, busy_in_steps, GINT_TO_POINTER (200));
  g_mutex_lock (&self->lock);
  while (!self->stopping)
    {
      if (!self->wanted)
        {
          g_cond_wait (&self->cond, &self->lock);
          continue;
        }
      self->wanted = FALSE;
      g_mutex_unlock (&self->lock);
      checkpoint (self, db);
      g_mutex_lock (&self->lock);
    }
  g_mutex_unlock (&self->lock);
  sqlite3_close (db);
  return NULL;
}

static Payment *
payment_read (Floor             *self,
              SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *key = soup_message_headers_get_one (headers, "Idempotency-Key");
  const char *auth = soup_message_headers_get_one (headers, "Authorization");
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autofree char *card = NULL;
  guint8 api_key_hash[ONEPIN_HMAC_LEN];
  Payment *payment;
  JsonObject *object;
  const char *number;
  const char *password;

  if (key == NULL || auth == NULL || body->length == 0 ||
      !json_parser_load_from_data (parser, body->data, body->length, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  object = json_node_get_object (json_parser_get_root (parser));
  number = json_object_get_string_member_with_default (object, "card_number", NULL);
  password = json_object_get_string_member_with_default (object, "password", NULL);
  if (number == NULL || password == NULL || strlen (number) != 16)
    return NULL;

  payment = g_new0 (Payment, 1);
  card = g_strdup_printf (CARD_BASE "%08u",
                          (guint) (g_ascii_strtoull (number + 8, NULL, 10) % N_CARDS));
  if (!hmac_string (self, auth, api_key_hash) ||
      !hmac_string (self, card, payment->card_hash) ||
      !hmac_string (self, password, payment->password_mac))
    g_error ("HMAC failed");
  payment->idempotency_key = g_strdup (key);
  payment->msg = g_object_ref (msg);
  return payment;
}

static void
handle (SoupServer        *server,
        SoupServerMessage *msg,
        const char        *path,
        GHashTable        *query,
        gpointer           user_data)
{
  Floor *self = user_data;
  Payment *payment = payment_read (self, msg);

  if (payment == NULL)
    {
      soup_server_message_set_status (msg, 400, NULL);
      return;
    }
  soup_server_message_pause (msg);
  g_async_queue_push (self->queue, payment);
}

static void
seed_cards (Floor *self)
{
  sqlite3_stmt *account = NULL;
  sqlite3_stmt *card = NULL;

  sqlite3_exec (self->db, "BEGIN", NULL, NULL, NULL);
  sqlite3_prepare_v2 (self->db, "INSERT INTO accounts (id, balance) VALUES (?, ?)", -1,
                      &account, NULL);
  sqlite3_prepare_v2 (self->db, "INSERT INTO cards (id, lookup, password_mac) VALUES (?, ?, ?)",
                      -1, &card, NULL);
  for (sqlite3_int64 id = 0; id <= N_CARDS; id++)
    {
      g_autofree char *number = NULL;
      guint8 lookup[ONEPIN_HMAC_LEN];
      guint8 mac[ONEPIN_HMAC_LEN];

      sqlite3_reset (account);
      sqlite3_bind_int64 (account, 1, id);
      sqlite3_bind_int64 (account, 2, id == 0 ? 0 : G_GINT64_CONSTANT (1000000000000));
      if (sqlite3_step (account) != SQLITE_DONE)
        g_error ("seed: %s", sqlite3_errmsg (self->db));
      if (id == 0)
        continue;
      number = g_strdup_printf (CARD_BASE "%08u", (guint) (id - 1));
      if (!hmac_string (self, number, lookup) ||
          !hmac_string (self, "bench-password-0000", mac))
        g_error ("HMAC failed");
      sqlite3_reset (card);
      sqlite3_bind_int64 (card, 1, id);
      sqlite3_bind_blob (card, 2, lookup, sizeof lookup, SQLITE_TRANSIENT);
      sqlite3_bind_blob (card, 3, mac, sizeof mac, SQLITE_TRANSIENT);
      if (sqlite3_step (card) != SQLITE_DONE)
        g_error ("seed: %s", sqlite3_errmsg (self->db));
    }
  sqlite3_finalize (account);
  sqlite3_finalize (card);
  sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
}

static void
floor_open (Floor      *self,
            const char *data_dir)
{
  g_autoptr(GError) error = NULL;
  guint8 raw[ONEPIN_HMAC_LEN];

  if (!onepin_crypto_init (&error) || !onepin_crypto_random (raw, sizeof raw, &error) ||
      (self->key = onepin_key_new_hmac (raw, sizeof raw, &error)) == NULL)
    g_error ("NSS: %s", error->message);
  self->path = g_build_filename (data_dir, "floor.db", NULL);
  if (sqlite3_open (self->path, &self->db) != SQLITE_OK ||
      sqlite3_exec (self->db, schema, NULL, NULL, NULL) != SQLITE_OK)
    g_error ("%s: %s", self->path, sqlite3_errmsg (self->db));
  seed_cards (self);
  for (guint i = 0; i < N_STMTS; i++)
    if (sqlite3_prepare_v3 (self->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                            &self->stmts[i], NULL) != SQLITE_OK)
      g_error ("%s: %s", stmt_sql[i], sqlite3_errmsg (self->db));
  self->queue = g_async_queue_new ();
  self->context = g_main_context_default ();
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  sqlite3_busy_handler (self->db, busy_in_steps, GINT_TO_POINTER (50000));
  sqlite3_wal_hook (self->db, wal_hook, self);
  self->checkpointer = g_thread_new ("checkpointer", checkpointer_run, self);
}

static void
floor_close (Floor *self)
{
  g_mutex_lock (&self->lock);
  self->stopping = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
  g_thread_join (self->checkpointer);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  for (guint i = 0; i < N_STMTS; i++)
    sqlite3_finalize (self->stmts[i]);
  sqlite3_close (self->db);
  g_async_queue_unref (self->queue);
  onepin_key_free (self->key);
  g_free (self->path);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *listen = NULL;
  g_autofree char *data_dir = NULL;
  GOptionEntry entries[] = {
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Directory for the database", "DIR" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Address to listen on", "127.0.0.1:PORT" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- benchmark floor server");
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupServer) server = NULL;
  Floor bench = { 0 };
  GThread *writer;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || data_dir == NULL)
    {
      g_printerr ("%s\n", error != NULL ? error->message : "--data-dir is required");
      return 2;
    }

  floor_open (&bench, data_dir);
  writer = g_thread_new ("writer", writer_run, &bench);
  server = soup_server_new ("server-header", "bench-floor", NULL);
  soup_server_add_handler (server, NULL, handle, &bench, NULL);
  bench_server_listen (server, listen);
  bench_server_run ();

  g_async_queue_push (bench.queue, &stop_marker);
  g_thread_join (writer);
  /* The writer's last batches wait in the main context for their answers. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  soup_server_disconnect (server);
  floor_close (&bench);
  return 0;
}
