/* test-sqlite-pcache.c: the page cache in front of SQLite's own
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * gw-store-sqlite-pcache.c lets a truncation through only when a page
 * could be past the limit. These tests check both halves: commits whose
 * index pages split (and so swap page numbers through the locking page's
 * number) truncate nothing, and a rollback that must drop the pages it
 * grew still drops them, so the database stays whole.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "gw-store-sqlite-private.h"

typedef struct
{
  char    *dir;
  sqlite3 *db;
} Fixture;

static void
exec (sqlite3    *db,
      const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

static gint64
query_int (sqlite3    *db,
           const char *sql)
{
  sqlite3_stmt *stmt;
  gint64 value;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}

static void
assert_whole (sqlite3 *db)
{
  sqlite3_stmt *stmt;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
  sqlite3_finalize (stmt);
}

/* n rows with random keys, so that index pages split anywhere. */
static void
insert_random (sqlite3 *db,
               int      n,
               int      tag)
{
  sqlite3_stmt *stmt;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "INSERT INTO t (k, tag) VALUES (randomblob(16), ?)",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  for (int i = 0; i < n; i++)
    {
      sqlite3_bind_int (stmt, 1, tag);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
      sqlite3_reset (stmt);
    }
  sqlite3_finalize (stmt);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = NULL;

  f->dir = g_dir_make_tmp ("onepin-pcache-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  path = g_build_filename (f->dir, "test.db", NULL);
  g_assert_cmpint (sqlite3_open (path, &f->db), ==, SQLITE_OK);
  /* the writer's settings: a large cache, so that a scan of it would cost */
  exec (f->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-65536;"
               "CREATE TABLE t (id INTEGER PRIMARY KEY, k BLOB NOT NULL, tag INTEGER NOT NULL);"
               "CREATE INDEX t_by_k ON t (k);");
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *wal = g_build_filename (f->dir, "test.db-wal", NULL);
  g_autofree char *shm = g_build_filename (f->dir, "test.db-shm", NULL);
  g_autofree char *path = g_build_filename (f->dir, "test.db", NULL);

  g_assert_cmpint (sqlite3_close (f->db), ==, SQLITE_OK);
  g_unlink (wal);
  g_unlink (shm);
  g_unlink (path);
  g_rmdir (f->dir);
  g_free (f->dir);
}

/* Thousands of small commits of random keys: pages split among their
 * siblings and swap numbers through the locking page's number, and yet no
 * commit's truncation reaches SQLite's cache (which would walk all of it). */
static void
test_splits_truncate_nothing (Fixture       *f,
                              gconstpointer  data)
{
  guint passed0, skipped0, parked0, passed, skipped, parked;

  gw_sqlite_pcache_counts (&passed0, &skipped0, &parked0);
  for (int i = 0; i < 2000; i++)
    {
      exec (f->db, "BEGIN IMMEDIATE");
      insert_random (f->db, 10, 1);
      exec (f->db, "COMMIT");
    }
  gw_sqlite_pcache_counts (&passed, &skipped, &parked);

  g_assert_cmpuint (parked - parked0, >, 0);       /* the swaps happened */
  g_assert_cmpuint (skipped - skipped0, >=, 2000); /* one per commit at least */
  g_assert_cmpuint (passed - passed0, ==, 0);
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM t"), ==, 20000);
  assert_whole (f->db);
}

/* A transaction that grew the file by many pages is rolled back: those
 * pages must leave the cache, or the next growth would find their old
 * contents. Then the same again, committed. */
static void
test_rollback_truncates (Fixture       *f,
                         gconstpointer  data)
{
  guint passed0, skipped0, parked0, passed, skipped, parked;
  gint64 pages;

  exec (f->db, "BEGIN IMMEDIATE");
  insert_random (f->db, 5000, 1);
  exec (f->db, "COMMIT");
  pages = query_int (f->db, "PRAGMA page_count");

  gw_sqlite_pcache_counts (&passed0, &skipped0, &parked0);
  exec (f->db, "BEGIN IMMEDIATE");
  insert_random (f->db, 20000, 2);
  g_assert_cmpint (query_int (f->db, "PRAGMA page_count"), >, pages + 100);
  exec (f->db, "ROLLBACK");
  gw_sqlite_pcache_counts (&passed, &skipped, &parked);
  g_assert_cmpuint (passed - passed0, >, 0);
  g_assert_cmpint (query_int (f->db, "PRAGMA page_count"), ==, pages);

  exec (f->db, "BEGIN IMMEDIATE");
  insert_random (f->db, 20000, 3);
  exec (f->db, "COMMIT");
  exec (f->db, "BEGIN IMMEDIATE");
  insert_random (f->db, 10, 4);
  exec (f->db, "ROLLBACK");

  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM t WHERE tag = 1"), ==, 5000);
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM t WHERE tag = 2"), ==, 0);
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM t WHERE tag = 3"), ==, 20000);
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM t WHERE tag = 4"), ==, 0);
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM t INDEXED BY t_by_k WHERE k > x''"),
                   ==, 25000);
  assert_whole (f->db);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* before anything initialises SQLite */
  g_assert_true (gw_sqlite_pcache_install ());

  g_test_add ("/sqlite-pcache/splits-truncate-nothing", Fixture, NULL,
              fixture_set_up, test_splits_truncate_nothing, fixture_tear_down);
  g_test_add ("/sqlite-pcache/rollback-truncates", Fixture, NULL,
              fixture_set_up, test_rollback_truncates, fixture_tear_down);
  return g_test_run ();
}
