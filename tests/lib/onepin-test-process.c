/* onepin-test-process.c: running one of onepin's programs for a test
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "onepin-test-process.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define STOP_TIMEOUT_US  (15 * G_USEC_PER_SEC)
#define TAIL_BYTES       4000

void
ot_child_setup (gpointer user_data)
{
  /* The program goes down with the test, even when an assertion aborts it. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () == 1)
    _exit (127);
}

static int
rm_one (const char        *path,
        const struct stat *sb,
        int                flag,
        struct FTW        *ftw)
{
  remove (path);
  return 0;
}

void
ot_rm_rf (const char *path)
{
  if (path != NULL)
    nftw (path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
ot_file_tail (const char *path,
              gsize       max)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return g_strdup ("(no log)");
  return g_strdup (contents + (len > max ? len - max : 0));
}

void
ot_process_fail (OtProcess  *p,
                 const char *format,
                 ...)
{
  g_autofree char *msg = NULL;
  g_autofree char *tail = ot_file_tail (p->log_path, TAIL_BYTES);
  g_autofree char *full = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  full = g_strdup_printf ("%s: %s; log %s:\n%s", p->name, msg, p->log_path, tail);
  g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, full);
  abort ();
}

void
ot_process_spawn (OtProcess          *p,
                  const char * const *argv,
                  const char * const *env)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GError) error = NULL;
  struct stat st;
  int fd;

  if (argv[0] == NULL || !g_file_test (argv[0], G_FILE_TEST_IS_EXECUTABLE))
    g_error ("%s is not an executable: run the tests through meson test", p->name);
  fd = open (p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0 || fstat (fd, &st) != 0)
    g_error ("cannot open %s: %s", p->log_path, g_strerror (errno));
  p->log_start = st.st_size;
  g_subprocess_launcher_take_stdout_fd (launcher, dup (fd));
  g_subprocess_launcher_take_stderr_fd (launcher, fd);
  g_subprocess_launcher_set_child_setup (launcher, ot_child_setup, NULL, NULL);
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      g_autofree char *name = g_strndup (env[i], strcspn (env[i], "="));

      g_subprocess_launcher_setenv (launcher, name, strchr (env[i], '=') + 1, TRUE);
    }
  p->proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  if (p->proc == NULL)
    g_error ("cannot start %s: %s", p->name, error->message);
}

char *
ot_process_wait_listening (OtProcess *p)
{
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_US;

  for (;;)
    {
      g_autofree char *contents = NULL;
      gsize len = 0;
      const char *line;

      if (g_file_get_contents (p->log_path, &contents, &len, NULL) &&
          (goffset) len > p->log_start &&
          (line = strstr (contents + p->log_start, "listening on ")) != NULL &&
          strchr (line, '\n') != NULL)
        {
          line += strlen ("listening on ");
          return g_strstrip (g_strndup (line, strchr (line, '\n') - line));
        }
      if (g_subprocess_get_identifier (p->proc) == NULL)
        {
          g_subprocess_wait (p->proc, NULL, NULL);
          ot_process_fail (p, "exited (wait status %d) before it was listening",
                           g_subprocess_get_status (p->proc));
        }
      if (g_get_monotonic_time () > deadline)
        {
          g_subprocess_force_exit (p->proc);
          g_subprocess_wait (p->proc, NULL, NULL);
          ot_process_fail (p, "did not print \"listening on\" within 10 s");
        }
      g_usleep (10 * 1000);
    }
}

void
ot_process_wait_exit (OtProcess *p,
                      gboolean   clean)
{
  gint64 deadline = g_get_monotonic_time () + STOP_TIMEOUT_US;
  int status;

  while (g_subprocess_get_identifier (p->proc) != NULL)
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_subprocess_force_exit (p->proc);
          g_subprocess_wait (p->proc, NULL, NULL);
          g_clear_object (&p->proc);
          ot_process_fail (p, "did not exit within 15 s");
        }
      g_usleep (10 * 1000);
    }
  g_subprocess_wait (p->proc, NULL, NULL);
  status = g_subprocess_get_status (p->proc);
  g_clear_object (&p->proc);
  if (!clean || (WIFEXITED (status) && WEXITSTATUS (status) == 0))
    return;
  if (WIFSIGNALED (status))
    ot_process_fail (p, "died of signal %d instead of exiting 0", WTERMSIG (status));
  ot_process_fail (p, "exited with status %d instead of 0", WEXITSTATUS (status));
}

gint64
ot_peak_kib (GPid pid)
{
  g_autofree char *path = pid ? g_strdup_printf ("/proc/%d/status", (int) pid)
                              : g_strdup ("/proc/self/status");
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &status, NULL, NULL));
  line = strstr (status, "VmHWM:");
  g_assert_nonnull (line);
  return g_ascii_strtoll (line + strlen ("VmHWM:"), NULL, 10);
}

gboolean
ot_peak_kib_meaningful (void)
{
#if defined(__SANITIZE_ADDRESS__)
  return FALSE;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return FALSE;
#else
  return TRUE;
#endif
#else
  return TRUE;
#endif
}
