/* onepin-test-process.h: running one of onepin's programs for a test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What onepin-test-gateway.c and onepin-test-bank.c share: the program's
 * stdout and stderr go to a log file, it dies with the test, a test waits
 * for the "listening on URL" line it prints last, and every failure quotes
 * the end of its log.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  const char  *name;             /* "onepin-gateway", for messages */
  char        *log_path;         /* appended to; read for "listening on" */
  GSubprocess *proc;
  goffset      log_start;        /* the log's size when this run started */
} OtProcess;

/* Starts @argv with its output appended to @p->log_path, killed (SIGKILL)
 * when the test process dies. @env: variables to set ("NAME=value"), or
 * NULL. */
void      ot_process_spawn           (OtProcess           *p,
                                      const char * const  *argv,
                                      const char * const  *env);
/* Waits (10 s) for the "listening on URL" line of this run; returns URL. */
char     *ot_process_wait_listening  (OtProcess           *p);
/* Waits (15 s) for the program to end and reaps it; with @clean, it must
 * have exited with status 0. */
void      ot_process_wait_exit       (OtProcess           *p,
                                      gboolean             clean);
/* Fails the test with @format and the end of the log. */
G_GNUC_PRINTF (2, 3) G_GNUC_NORETURN
void      ot_process_fail            (OtProcess           *p,
                                      const char          *format,
                                      ...);
/* The last @max bytes of @path, or "(no log)". */
char     *ot_file_tail               (const char          *path,
                                      gsize                max);
/* Deletes @path and everything below it. */
void      ot_rm_rf                   (const char          *path);
/* The most memory process @pid (0: this one) has held, in KiB (VmHWM). */
gint64    ot_peak_kib                (GPid                 pid);
/* FALSE under AddressSanitizer, whose quarantine keeps freed memory: peak
 * memory then says nothing about what a program holds. */
gboolean  ot_peak_kib_meaningful     (void);
/* For GSubprocessLauncher: the child dies with the test process. */
void      ot_child_setup             (gpointer             user_data);

G_END_DECLS
