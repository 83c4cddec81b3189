/* gw-store-sqlite-pcache.c: no scan of the whole page cache per commit
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * At the end of every write transaction SQLite asks its page cache to drop
 * the pages past the end of the database (xTruncate). The default cache
 * (pcache1) only remembers the largest page number it has held since the
 * last truncation, and when that is far beyond the limit it walks its whole
 * hash table. When a b-tree page splits among its siblings, SQLite swaps
 * page numbers through the locking page's number, 1 GiB / page size + 1
 * (btree.c, balance_nonroot), so after almost every commit that split an
 * index page, pcache1 walks every page it holds: with the writer's 64 MiB
 * cache, tens of microseconds per commit and a tenth of the writer's time
 * under load, to remove nothing.
 *
 * This cache wraps pcache1 and keeps the bound itself, without the parked
 * locking-page number: every page's number came from xFetch or xRekey, so
 * the largest such number, plus a count of pages sitting on the locking
 * page's number, says for certain when a truncation has nothing to remove.
 * Then it is not passed on; otherwise it is, unchanged. Any doubt (a page
 * left on the locking number, say) only means passing it on.
 */
#include "gw-store-sqlite-private.h"

#include <sqlite3.h>

/* SQLite's PENDING_BYTE, unchanged outside its own test builds. */
#define LOCK_BYTE 0x40000000u

typedef struct
{
  sqlite3_pcache *inner;
  unsigned        lock_key;   /* the locking page's number */
  unsigned        max_key;    /* every page's number is <= this, or lock_key */
  unsigned        parked;     /* pages moved to lock_key and not moved back */
} Cache;

static sqlite3_pcache_methods2 inner_methods;
static guint truncations_passed;
static guint truncations_skipped;
static guint pages_parked;

static int
x_init (void *arg)
{
  return inner_methods.xInit (arg);
}

static void
x_shutdown (void *arg)
{
  inner_methods.xShutdown (arg);
}

static sqlite3_pcache *
x_create (int page_size, int extra_size, int purgeable)
{
  sqlite3_pcache *inner = inner_methods.xCreate (page_size, extra_size, purgeable);
  Cache *cache;

  if (inner == NULL)
    return NULL;
  cache = sqlite3_malloc (sizeof *cache);
  if (cache == NULL)
    {
      inner_methods.xDestroy (inner);
      return NULL;
    }
  cache->inner = inner;
  cache->lock_key = page_size > 0 ? LOCK_BYTE / (unsigned) page_size + 1 : 0;
  cache->max_key = 0;
  cache->parked = 0;
  return (sqlite3_pcache *) cache;
}

static void
x_cachesize (sqlite3_pcache *p, int n)
{
  inner_methods.xCachesize (((Cache *) p)->inner, n);
}

static int
x_pagecount (sqlite3_pcache *p)
{
  return inner_methods.xPagecount (((Cache *) p)->inner);
}

static sqlite3_pcache_page *
x_fetch (sqlite3_pcache *p, unsigned key, int create)
{
  Cache *cache = (Cache *) p;

  /* Counted before the call: a page created and then refused (the pager
   * creates the locking page before it says it is corrupt) still counts. */
  if (create && key > cache->max_key)
    cache->max_key = key;
  return inner_methods.xFetch (cache->inner, key, create);
}

static void
x_unpin (sqlite3_pcache *p, sqlite3_pcache_page *page, int discard)
{
  inner_methods.xUnpin (((Cache *) p)->inner, page, discard);
}

static void
x_rekey (sqlite3_pcache *p, sqlite3_pcache_page *page, unsigned old_key, unsigned new_key)
{
  Cache *cache = (Cache *) p;

  if (new_key == cache->lock_key)
    {
      cache->parked++;
      g_atomic_int_inc (&pages_parked);
    }
  else if (new_key > cache->max_key)
    cache->max_key = new_key;
  if (old_key == cache->lock_key && cache->parked > 0)
    cache->parked--;
  inner_methods.xRekey (cache->inner, page, old_key, new_key);
}

static void
x_truncate (sqlite3_pcache *p, unsigned limit)
{
  Cache *cache = (Cache *) p;

  if (cache->parked == 0 && limit > cache->max_key)
    {
      g_atomic_int_inc (&truncations_skipped);
      return;
    }
  g_atomic_int_inc (&truncations_passed);
  inner_methods.xTruncate (cache->inner, limit);
  cache->max_key = MIN (cache->max_key, limit - 1);
  if (limit <= cache->lock_key)
    cache->parked = 0;
}

static void
x_destroy (sqlite3_pcache *p)
{
  Cache *cache = (Cache *) p;

  inner_methods.xDestroy (cache->inner);
  sqlite3_free (cache);
}

static void
x_shrink (sqlite3_pcache *p)
{
  inner_methods.xShrink (((Cache *) p)->inner);
}

gboolean
gw_sqlite_pcache_install (void)
{
  static const sqlite3_pcache_methods2 methods = {
    .iVersion = 1,
    .xInit = x_init,
    .xShutdown = x_shutdown,
    .xCreate = x_create,
    .xCachesize = x_cachesize,
    .xPagecount = x_pagecount,
    .xFetch = x_fetch,
    .xUnpin = x_unpin,
    .xRekey = x_rekey,
    .xTruncate = x_truncate,
    .xDestroy = x_destroy,
    .xShrink = x_shrink,
  };
  sqlite3_pcache_methods2 ours;

  if (sqlite3_config (SQLITE_CONFIG_GETPCACHE2, &inner_methods) != SQLITE_OK ||
      inner_methods.xTruncate == NULL)
    return FALSE;
  ours = methods;
  ours.pArg = inner_methods.pArg;
  return sqlite3_config (SQLITE_CONFIG_PCACHE2, &ours) == SQLITE_OK;
}

void
gw_sqlite_pcache_counts (guint *passed,
                         guint *skipped,
                         guint *parked)
{
  *passed = g_atomic_int_get (&truncations_passed);
  *skipped = g_atomic_int_get (&truncations_skipped);
  *parked = g_atomic_int_get (&pages_parked);
}
