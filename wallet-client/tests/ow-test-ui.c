/* ow-test-ui.c: drive the real wallet window from inside its process
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-test-ui.h"

#include <unistd.h>

static gboolean
showing (GtkWidget *widget)
{
  return gtk_widget_get_mapped (widget) && gtk_widget_is_visible (widget);
}

static GtkWidget *
find_in (GtkWidget  *widget,
         const char *id,
         gboolean    hidden_too)
{
  if (!hidden_too && !gtk_widget_get_visible (widget))
    return NULL;
  if (g_strcmp0 (gtk_buildable_get_buildable_id (GTK_BUILDABLE (widget)), id) == 0 &&
      (hidden_too || showing (widget)))
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_in (child, id, hidden_too);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static GtkWidget *
find_any (const char *id,
          gboolean    hidden_too)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  /* newest first: a dialog's field wins over one behind it */
  for (guint i = g_list_model_get_n_items (toplevels); i > 0; i--)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i - 1);
      GtkWidget *found = find_in (window, id, hidden_too);

      if (found != NULL)
        return found;
    }
  return NULL;
}

GtkWidget *
ow_ui_find (const char *id)
{
  return find_any (id, FALSE);
}

GtkWidget *
ow_ui_find_hidden (const char *id)
{
  return find_any (id, TRUE);
}

GtkWidget *
ow_ui_get (const char *id)
{
  GtkWidget *widget = NULL;
  g_autofree char *what = g_strdup_printf ("the widget “%s” to show", id);

  ow_ui_wait_for ((widget = ow_ui_find (id)) != NULL, 30, what);
  return widget;
}

GtkWindow *
ow_ui_window_of (const char *id)
{
  return GTK_WINDOW (gtk_widget_get_root (ow_ui_get (id)));
}

static void
assert_usable (GtkWidget  *widget,
               const char *id)
{
  g_autofree char *what = g_strdup_printf ("“%s” to become sensitive", id);

  ow_ui_wait_for (gtk_widget_is_sensitive (widget), 30, what);
}

void
ow_ui_type (const char *id,
            const char *text)
{
  GtkWidget *widget = ow_ui_get (id);

  assert_usable (widget, id);
  g_assert_true (GTK_IS_EDITABLE (widget));
  gtk_widget_grab_focus (widget);
  gtk_editable_set_text (GTK_EDITABLE (widget), text);
}

void
ow_ui_click (const char *id)
{
  GtkWidget *widget = ow_ui_get (id);

  assert_usable (widget, id);
  g_test_message ("click %s", id);
  if (!gtk_widget_activate (widget))
    g_error ("“%s” cannot be activated", id);
}

const char *
ow_ui_label (const char *id)
{
  GtkWidget *widget = ow_ui_get (id);

  g_assert_true (GTK_IS_LABEL (widget));
  return gtk_label_get_text (GTK_LABEL (widget));
}

const char *
ow_ui_stack_page (const char *id)
{
  GtkWidget *widget = ow_ui_find (id);

  return widget != NULL && GTK_IS_STACK (widget)
         ? gtk_stack_get_visible_child_name (GTK_STACK (widget)) : NULL;
}

void
ow_ui_spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (2000);
}

void
ow_ui_screenshot (GtkWindow  *window,
                  const char *name)
{
  const char *dir = g_getenv ("ONEPIN_WALLET_SCREENSHOTS");
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *file = NULL;
  g_autofree char *path = NULL;
  int width;
  int height;

  if (dir == NULL)
    return;

  /* let layout and the frame clock settle */
  ow_ui_spin (400);
  width = gtk_widget_get_width (GTK_WIDGET (window));
  height = gtk_widget_get_height (GTK_WIDGET (window));
  g_assert_cmpint (width, >, 0);

  /* A window between two frames has no render node yet; on a loaded
   * machine that can last a while, so wait for the next frames. */
  paintable = gtk_widget_paintable_new (GTK_WIDGET (window));
  for (guint tries = 0; node == NULL && tries < 50; tries++)
    {
      snapshot = gtk_snapshot_new ();
      gdk_paintable_snapshot (paintable, snapshot, width, height);
      node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
      if (node == NULL)
        ow_ui_spin (200);
    }
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));

  g_mkdir_with_parents (dir, 0755);
  file = g_strconcat (name, ".png", NULL);
  path = g_build_filename (dir, file, NULL);
  if (!gdk_texture_save_to_png (texture, path))
    g_error ("cannot save %s", path);
  g_test_message ("screenshot %s", path);
}

void
ow_ui_screenshot_all (const char *name)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);
      g_autofree char *numbered = g_strdup_printf ("%s-%u", name, i);

      if (showing (window) && gtk_widget_get_width (window) > 0)
        ow_ui_screenshot (GTK_WINDOW (window), numbered);
    }
}

typedef struct
{
  gboolean  done;
  gboolean  ok;
  char     *output;
  guint     timeout_id;
} Check;

static gboolean
on_check_timeout (gpointer data)
{
  Check *check = data;

  check->timeout_id = 0;
  return G_SOURCE_REMOVE;
}

static void
on_checked (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Check *check = data;
  g_autoptr(GError) error = NULL;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &check->output,
                                             NULL, &error))
    check->output = g_strdup (error->message);
  check->ok = error == NULL && g_subprocess_get_if_exited (G_SUBPROCESS (source)) &&
              g_subprocess_get_exit_status (G_SUBPROCESS (source)) == 0;
  check->done = TRUE;
}

/* Turns the main loop until the script ends. Each AT-SPI call a checker
 * makes wakes the loop at once: ow_ui_wait_for's 2 ms naps between idle
 * iterations, one or more per call, made a check of 300 objects last 4 s. */
static void
wait_for_check (Check      *check,
                const char *what)
{
  check->timeout_id = g_timeout_add_seconds (120, on_check_timeout, check);
  while (!check->done && check->timeout_id != 0)
    g_main_context_iteration (NULL, TRUE);
  if (!check->done)
    {
      ow_ui_screenshot_all ("failure");
      g_error ("timed out after 120 s waiting for %s", what);
    }
  g_clear_handle_id (&check->timeout_id, g_source_remove);
}

/* Runs the python script named by the variable @script_variable with
 * @args, while the main loop turns, and logs its output line by line after
 * @tag; fails the test with @what if it fails. */
static void
run_script (const char        *script_variable,
            const char *const *args,
            const char        *tag,
            const char        *what)
{
  const char *python = g_getenv ("ONEPIN_PYTHON");
  const char *script = g_getenv (script_variable);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *waiting = g_strconcat ("the end of ", what, NULL);
  Check check = { FALSE, FALSE, NULL, 0 };
  g_auto(GStrv) lines = NULL;

  g_assert_nonnull (script);
  g_strv_builder_add_many (builder, python != NULL ? python : "python3", script, NULL);
  g_strv_builder_addv (builder, (const char **) args);
  argv = g_strv_builder_end (builder);
  process = g_subprocess_newv ((const char *const *) argv,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_checked, &check);
  wait_for_check (&check, waiting);

  lines = g_strsplit (check.output, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0')
      g_test_message ("%s %s", tag, lines[i]);
  if (!check.ok)
    g_error ("%s failed:\n%s", what, check.output);
  g_free (check.output);
}

void
ow_ui_check_a11y (const char *screen)
{
  ow_ui_check_a11y_absent (screen, NULL);
}

void
ow_ui_check_a11y_absent (const char        *screen,
                         const char *const *absent)
{
  g_autofree char *pid = g_strdup_printf ("%d", (int) getpid ());
  g_autofree char *what = g_strdup_printf ("the accessibility check of “%s”", screen);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) args = NULL;

  g_strv_builder_add_many (builder, pid, screen, NULL);
  if (absent != NULL)
    g_strv_builder_addv (builder, (const char **) absent);
  args = g_strv_builder_end (builder);
  ow_ui_spin (300);
  run_script ("ONEPIN_A11Y_CHECK", (const char *const *) args, "a11y", what);
}

void
ow_ui_press_keys (const char *accelerator)
{
  guint keyval = 0;
  GdkModifierType modifiers = 0;
  g_autofree char *keyval_text = NULL;
  g_autofree char *modifiers_text = NULL;
  g_autofree char *what = g_strdup_printf ("pressing %s", accelerator);

  if (!gtk_accelerator_parse (accelerator, &keyval, &modifiers) ||
      (modifiers & ~(GDK_SHIFT_MASK | GDK_CONTROL_MASK | GDK_ALT_MASK)) != 0)
    g_error ("cannot press “%s”", accelerator);
  keyval_text = g_strdup_printf ("%u", keyval);
  modifiers_text = g_strdup_printf ("%u", (guint) modifiers);
  run_script ("ONEPIN_PRESS_KEYS", (const char *const[]) { keyval_text, modifiers_text, NULL },
              "keys", what);
  /* the events come through the X server */
  ow_ui_spin (300);
}
