/* ow-main.c: onepin-wallet's entry point
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <locale.h>

#include <glib/gi18n.h>

#include "onepin-process.h"
#include "ow-application.h"

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwApplication) app = NULL;

  /* Unlocked, the wallet's memory opens the vault: no dump of it. */
  if (!onepin_process_forbid_dumps (&error))
    {
      g_printerr ("onepin-wallet: %s\n", error->message);
      return 1;
    }
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Before GTK starts any thread: it sets an environment variable. */
  if (!ow_vault_global_init (&error))
    {
      g_printerr ("onepin-wallet: %s\n", error->message);
      return 1;
    }

  app = ow_application_new (NULL);
  ow_application_set_demo (app, g_strcmp0 (g_getenv ("ONEPIN_WALLET_DEMO"), "1") == 0);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
