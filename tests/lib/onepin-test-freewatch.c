/* onepin-test-freewatch.c: an LD_PRELOAD module that reports secrets left
 * in the memory a program gives back
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * ONEPIN_FREEWATCH holds one or more strings, separated by "|". Every block
 * handed to free () is searched for them before it goes back to the
 * allocator; realloc () here always moves, so that the copy a growing
 * buffer leaves behind is searched too. A block that still holds one is
 * reported, to the file ONEPIN_FREEWATCH_REPORT (appended to), as
 *
 *     onepin-freewatch: secret N freed by LIBRARY
 *
 * followed by the backtrace. LIBRARY is where the first frame outside libc,
 * GLib and GObject lies: whose buffer it was (g_free () and g_string_free ()
 * only carry out someone else's decision). The report starts with
 * "onepin-freewatch: watching N", so a test knows the module was loaded.
 * Every block is cleared once searched, so that what one owner left in it
 * is never reported again as the next owner's. It cannot see what never
 * goes through free (): the stack, or memory still held at exit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX_NEEDLES 8
#define MAX_FRAMES 32

void __libc_free (void *ptr);

static char text[1024];
static const char *needles[MAX_NEEDLES];
static size_t lengths[MAX_NEEDLES];
static int n_needles;
static int report_fd = -1;
static __thread int inside;

static void
say (const char *line,
     int         len)
{
  if (len > 0 && write (report_fd, line, (size_t) len) < 0)
    return;
}

/* Reads the environment once, as the module loads, without allocating. */
__attribute__ ((constructor)) static void
load_needles (void)
{
  const char *value = getenv ("ONEPIN_FREEWATCH");
  const char *path = getenv ("ONEPIN_FREEWATCH_REPORT");
  char line[64];
  char *p = text;

  if (path == NULL ||
      (report_fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
    return;
  if (value == NULL || strlen (value) >= sizeof text)
    return;
  strcpy (text, value);
  while (*p != '\0' && n_needles < MAX_NEEDLES)
    {
      char *bar = strchr (p, '|');

      if (bar != NULL)
        *bar = '\0';
      needles[n_needles] = p;
      lengths[n_needles] = strlen (p);
      n_needles += lengths[n_needles] > 0;
      if (bar == NULL)
        break;
      p = bar + 1;
    }
  say (line, snprintf (line, sizeof line, "onepin-freewatch: watching %d\n", n_needles));
}

static int
is_infrastructure (const char *path)
{
  return strstr (path, "/libc.so") != NULL || strstr (path, "/libglib-2.0.so") != NULL ||
         strstr (path, "/libgobject-2.0.so") != NULL ||
         strstr (path, "onepin-test-freewatch") != NULL;
}

static void
report (int needle)
{
  void *frames[MAX_FRAMES];
  int n = backtrace (frames, MAX_FRAMES);
  const char *owner = "?";
  char line[512];
  int len;

  for (int i = 0; i < n; i++)
    {
      Dl_info info;

      if (dladdr (frames[i], &info) != 0 && info.dli_fname != NULL &&
          !is_infrastructure (info.dli_fname))
        {
          owner = info.dli_fname;
          break;
        }
    }
  len = snprintf (line, sizeof line, "onepin-freewatch: secret %d freed by %s\n", needle,
                  owner);
  say (line, MIN (len, (int) sizeof line - 1));
  backtrace_symbols_fd (frames, n, report_fd);
}

static void
search_and_clear (void *block)
{
  size_t size = malloc_usable_size (block);

  for (int i = 0; i < n_needles; i++)
    if (memmem (block, size, needles[i], lengths[i]) != NULL)
      report (i);
  explicit_bzero (block, size);
}

void
free (void *ptr)
{
  if (ptr != NULL && !inside && n_needles > 0)
    {
      inside = 1;
      search_and_clear (ptr);
      inside = 0;
    }
  __libc_free (ptr);
}

void *
realloc (void  *ptr,
         size_t size)
{
  void *moved;
  size_t old;

  if (ptr == NULL)
    return malloc (size);
  if (size == 0)
    {
      free (ptr);
      return NULL;
    }
  moved = malloc (size);
  if (moved == NULL)
    return NULL;
  old = malloc_usable_size (ptr);
  memcpy (moved, ptr, old < size ? old : size);
  free (ptr);
  return moved;
}
