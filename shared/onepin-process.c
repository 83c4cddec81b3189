/* onepin-process.c: what a process that holds a user's secrets forbids
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onepin-process.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>

G_DEFINE_QUARK (onepin-process-error-quark, onepin_process_error)

gboolean
onepin_process_forbid_dumps (GError **error)
{
  const struct rlimit none = { 0, 0 };

  /* Both: a core limit alone still lets another process of the user attach
   * or read /proc/PID/mem, and a crash handler such as systemd-coredump
   * reads the dump through a pipe whatever RLIMIT_CORE says, unless the
   * process is not dumpable. */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit (RLIMIT_CORE, &none) != 0)
    {
      int saved = errno;

      g_set_error (error, ONEPIN_PROCESS_ERROR, ONEPIN_PROCESS_ERROR_FAILED,
                   "Cannot forbid core dumps: %s", g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}
