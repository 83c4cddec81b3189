/* gw-store-sqlite-vfs.c: the WAL written in one piece per commit
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * SQLite writes each WAL frame as two writes (a 24-byte header, then the
 * page), so a commit of a few dozen pages costs twice as many system calls,
 * each taking the file's locks and walking the page cache on its own. This
 * VFS sits in front of the default one and, for WAL files only, gathers
 * consecutive writes in memory and hands them to the file in one write when
 * SQLite syncs (or reads, truncates, asks the size, or writes elsewhere).
 *
 * Nothing about durability changes: SQLite syncs the WAL at every commit
 * (synchronous=FULL) and that sync writes everything first; no connection
 * reads a frame before the commit that makes it visible, and the writer's
 * own reads of the WAL write the buffer out before they read. A crash loses
 * only what no sync had covered, which nobody was told was committed.
 */
#include "gw-store-sqlite-private.h"

#include <sqlite3.h>
#include <string.h>

#define VFS_NAME "onepin"
#define BUFFER_MAX (4 * 1024 * 1024)

typedef struct
{
  sqlite3_file   base;
  sqlite3_file  *real;           /* the default VFS's file, just after this struct */
  gboolean       gather;         /* a WAL file */
  char          *buffer;
  sqlite3_int64  offset;         /* where buffer[0] goes */
  int            len;
  int            size;
} File;

static sqlite3_vfs *real_vfs;

/* The unix VFS writes at most 128 KiB in one call (it masks the length
 * with 0x1ffff), so the buffer goes in pieces just under that. */
#define WRITE_MAX (0x1ffff & ~4095)

static int
flush (File *file)
{
  int rc = SQLITE_OK;

  for (int done = 0; done < file->len && rc == SQLITE_OK; done += WRITE_MAX)
    rc = file->real->pMethods->xWrite (file->real, file->buffer + done,
                                       MIN (WRITE_MAX, file->len - done), file->offset + done);
  file->len = 0;
  return rc;
}

static int
x_close (sqlite3_file *f)
{
  File *file = (File *) f;
  int rc = flush (file);
  int rc2 = file->real->pMethods->xClose (file->real);

  g_free (file->buffer);
  file->buffer = NULL;
  return rc != SQLITE_OK ? rc : rc2;
}

static int
x_read (sqlite3_file  *f,
        void          *out,
        int            amount,
        sqlite3_int64  offset)
{
  File *file = (File *) f;
  int rc = flush (file);

  return rc != SQLITE_OK ? rc : file->real->pMethods->xRead (file->real, out, amount, offset);
}

static int
x_write (sqlite3_file  *f,
         const void    *data,
         int            amount,
         sqlite3_int64  offset)
{
  File *file = (File *) f;
  int rc;

  if (!file->gather || amount > WRITE_MAX)
    {
      rc = flush (file);
      return rc != SQLITE_OK ? rc : file->real->pMethods->xWrite (file->real, data, amount, offset);
    }

  /* Only a write that continues the buffer joins it. */
  if (file->len > 0 && (offset != file->offset + file->len || file->len + amount > BUFFER_MAX))
    {
      rc = flush (file);
      if (rc != SQLITE_OK)
        return rc;
    }
  if (file->len == 0)
    file->offset = offset;
  if (file->len + amount > file->size)
    {
      file->size = MAX (file->size * 2, MAX (file->len + amount, 64 * 1024));
      file->buffer = g_realloc (file->buffer, file->size);
    }
  memcpy (file->buffer + file->len, data, amount);
  file->len += amount;
  return SQLITE_OK;
}

static int
x_truncate (sqlite3_file  *f,
            sqlite3_int64  size)
{
  File *file = (File *) f;
  int rc = flush (file);

  return rc != SQLITE_OK ? rc : file->real->pMethods->xTruncate (file->real, size);
}

static int
x_sync (sqlite3_file *f,
        int           flags)
{
  File *file = (File *) f;
  int rc = flush (file);

  return rc != SQLITE_OK ? rc : file->real->pMethods->xSync (file->real, flags);
}

static int
x_file_size (sqlite3_file  *f,
             sqlite3_int64 *size)
{
  File *file = (File *) f;
  int rc = flush (file);

  return rc != SQLITE_OK ? rc : file->real->pMethods->xFileSize (file->real, size);
}

static int
x_lock (sqlite3_file *f,
        int           level)
{
  return ((File *) f)->real->pMethods->xLock (((File *) f)->real, level);
}

static int
x_unlock (sqlite3_file *f,
          int           level)
{
  return ((File *) f)->real->pMethods->xUnlock (((File *) f)->real, level);
}

static int
x_check_reserved_lock (sqlite3_file *f,
                       int          *out)
{
  return ((File *) f)->real->pMethods->xCheckReservedLock (((File *) f)->real, out);
}

static int
x_file_control (sqlite3_file *f,
                int           op,
                void         *arg)
{
  File *file = (File *) f;
  int rc = flush (file);

  return rc != SQLITE_OK ? rc : file->real->pMethods->xFileControl (file->real, op, arg);
}

static int
x_sector_size (sqlite3_file *f)
{
  return ((File *) f)->real->pMethods->xSectorSize (((File *) f)->real);
}

static int
x_device_characteristics (sqlite3_file *f)
{
  return ((File *) f)->real->pMethods->xDeviceCharacteristics (((File *) f)->real);
}

static int
x_shm_map (sqlite3_file   *f,
           int             page,
           int             page_size,
           int             extend,
           void volatile **out)
{
  return ((File *) f)->real->pMethods->xShmMap (((File *) f)->real, page, page_size, extend,
                                                out);
}

static int
x_shm_lock (sqlite3_file *f,
            int           offset,
            int           n,
            int           flags)
{
  return ((File *) f)->real->pMethods->xShmLock (((File *) f)->real, offset, n, flags);
}

static void
x_shm_barrier (sqlite3_file *f)
{
  ((File *) f)->real->pMethods->xShmBarrier (((File *) f)->real);
}

static int
x_shm_unmap (sqlite3_file *f,
             int           delete_flag)
{
  return ((File *) f)->real->pMethods->xShmUnmap (((File *) f)->real, delete_flag);
}

static int
x_fetch (sqlite3_file   *f,
         sqlite3_int64   offset,
         int             amount,
         void          **out)
{
  File *file = (File *) f;
  int rc = flush (file);

  return rc != SQLITE_OK ? rc : file->real->pMethods->xFetch (file->real, offset, amount, out);
}

static int
x_unfetch (sqlite3_file  *f,
           sqlite3_int64  offset,
           void          *page)
{
  return ((File *) f)->real->pMethods->xUnfetch (((File *) f)->real, offset, page);
}

static const sqlite3_io_methods methods = {
  .iVersion = 3,
  .xClose = x_close,
  .xRead = x_read,
  .xWrite = x_write,
  .xTruncate = x_truncate,
  .xSync = x_sync,
  .xFileSize = x_file_size,
  .xLock = x_lock,
  .xUnlock = x_unlock,
  .xCheckReservedLock = x_check_reserved_lock,
  .xFileControl = x_file_control,
  .xSectorSize = x_sector_size,
  .xDeviceCharacteristics = x_device_characteristics,
  .xShmMap = x_shm_map,
  .xShmLock = x_shm_lock,
  .xShmBarrier = x_shm_barrier,
  .xShmUnmap = x_shm_unmap,
  .xFetch = x_fetch,
  .xUnfetch = x_unfetch,
};

static int
x_open (sqlite3_vfs  *vfs,
        const char   *name,
        sqlite3_file *f,
        int           flags,
        int          *out_flags)
{
  File *file = (File *) f;
  int rc;

  memset (file, 0, sizeof *file);
  file->real = (sqlite3_file *) (file + 1);
  rc = real_vfs->xOpen (real_vfs, name, file->real, flags, out_flags);
  if (rc != SQLITE_OK || file->real->pMethods == NULL)
    {
      file->base.pMethods = NULL;
      return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
  /* The default VFS's files have every method of version 3. */
  g_assert (file->real->pMethods->iVersion >= 3);
  file->gather = (flags & SQLITE_OPEN_WAL) != 0;
  file->base.pMethods = &methods;
  return SQLITE_OK;
}

const char *
gw_sqlite_vfs (void)
{
  static sqlite3_vfs vfs;
  static gsize registered;

  if (g_once_init_enter (&registered))
    {
      real_vfs = sqlite3_vfs_find (NULL);
      vfs = *real_vfs;
      vfs.zName = VFS_NAME;
      vfs.szOsFile = sizeof (File) + real_vfs->szOsFile;
      vfs.xOpen = x_open;
      sqlite3_vfs_register (&vfs, 0);
      g_once_init_leave (&registered, 1);
    }
  return VFS_NAME;
}
