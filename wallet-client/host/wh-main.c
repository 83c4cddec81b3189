/* wh-main.c: onepin-wallet-host, the browsers' native-messaging host
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Chromium starts it as `onepin-wallet-host chrome-extension://ID/
 * [--parent-window=N]`, Firefox as `onepin-wallet-host MANIFEST-PATH
 * EXTENSION-ID`. stdout carries frames only; diagnostics go to stderr,
 * which the browser logs.
 */
#include <signal.h>
#include <unistd.h>

#include "onepin-process.h"
#include "wh-host.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(WhHost) host = NULL;
  g_autoptr(GError) error = NULL;
  const char *browser = "unknown";
  const char *caller = "";

  g_set_prgname ("onepin-wallet-host");
  /* stdout is the browser's channel: every log line goes to stderr. */
  g_log_writer_default_set_use_stderr (TRUE);
  /* A closed pipe is an error to handle, not a signal to die of. */
  signal (SIGPIPE, SIG_IGN);
  /* Card numbers pass through on their way to the browser: no dump. */
  if (!onepin_process_forbid_dumps (&error))
    {
      g_printerr ("onepin-wallet-host: %s\n", error->message);
      return 1;
    }

  if (argc >= 2 && g_str_has_prefix (argv[1], "chrome-extension://"))
    {
      browser = "chromium";
      caller = argv[1];
    }
  else if (argc >= 3 && argv[2][0] != '-')
    {
      browser = "firefox";
      caller = argv[2];
    }

  host = wh_host_new (STDIN_FILENO, STDOUT_FILENO, browser, caller);
  return wh_host_run (host);
}
