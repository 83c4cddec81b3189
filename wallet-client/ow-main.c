/* ow-main.c: onepin-wallet's entry point
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include <glib/gi18n.h>

#include "onepin-process.h"
#include "ow-application.h"

/* GTK 4.8 sends every key typed into a password field out on the
 * accessibility bus (object:text-changed:insert with the character), where
 * any program of the user can listen. So the wallet joins that bus only for
 * a screen reader: when the desktop says one is on, or when GTK_A11Y asks
 * for it. putenv() of a buffer rewritten in place, not setenv(): reading
 * GSettings may start GDBus's thread, and the environment is then left
 * as it is (no new entry, no reallocation). */
static char gtk_a11y_env[] = "GTK_A11Y=none\0";

static gboolean
screen_reader_enabled (void)
{
  const char *id = "org.gnome.desktop.a11y.applications";
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GSettings) settings = NULL;

  /* no GNOME schemas installed: no desktop to say so */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, id, TRUE);
  if (schema == NULL || !g_settings_schema_has_key (schema, "screen-reader-enabled"))
    return FALSE;
  settings = g_settings_new_full (schema, NULL, NULL);
  return g_settings_get_boolean (settings, "screen-reader-enabled");
}

static void
choose_accessibility (void)
{
  if (g_getenv ("GTK_A11Y") != NULL)
    return;
  putenv (gtk_a11y_env);
  if (screen_reader_enabled ())
    memcpy (gtk_a11y_env + strlen ("GTK_A11Y="), "atspi", sizeof "atspi");
}

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
  choose_accessibility ();

  app = ow_application_new (NULL);
  ow_application_set_demo (app, g_strcmp0 (g_getenv ("ONEPIN_WALLET_DEMO"), "1") == 0);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
