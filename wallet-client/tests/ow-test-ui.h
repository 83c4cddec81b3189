/* ow-test-ui.h: drive the real wallet window from inside its process
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Widgets are found by the id they have in the .ui files, across every
 * window the application shows. Actions go through the widgets themselves
 * (a button is activated, text is set on an editable) and only when a user
 * could do the same: the widget must be showing and sensitive.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* The first showing widget with buildable id @id in any toplevel, or NULL. */
GtkWidget   *ow_ui_find             (const char   *id);
/* The first widget with that id, shown or not (NULL if none). */
GtkWidget   *ow_ui_find_hidden      (const char   *id);
/* The first showing one, failing the test if there is none within 30 s. */
GtkWidget   *ow_ui_get              (const char   *id);
/* The toplevel showing a widget with that id. */
GtkWindow   *ow_ui_window_of        (const char   *id);

void         ow_ui_type             (const char   *id,
                                     const char   *text);
void         ow_ui_click            (const char   *id);
const char  *ow_ui_label            (const char   *id);
/* The visible child's name of the GtkStack @id. */
const char  *ow_ui_stack_page       (const char   *id);

/* Turns the main loop for @ms milliseconds. */
void         ow_ui_spin             (guint         ms);
/* Turns the main loop until @cond holds; fails after @seconds with @what. */
#define ow_ui_wait_for(cond, seconds, what)                                   \
  G_STMT_START {                                                              \
    gint64 ow_end_ = g_get_monotonic_time () + (gint64) (seconds) * G_USEC_PER_SEC; \
    while (!(cond))                                                           \
      {                                                                       \
        if (g_get_monotonic_time () > ow_end_)                                \
          {                                                                   \
            ow_ui_screenshot_all ("failure");                                 \
            g_error ("timed out after %d s waiting for %s", (int) (seconds), what); \
          }                                                                   \
        if (!g_main_context_iteration (NULL, FALSE))                          \
          g_usleep (2000);                                                    \
      }                                                                       \
  } G_STMT_END

/* Saves @window as PNG @name.png in $ONEPIN_WALLET_SCREENSHOTS. */
void         ow_ui_screenshot       (GtkWindow    *window,
                                     const char   *name);
/* Every showing toplevel, as name-N.png. */
void         ow_ui_screenshot_all   (const char   *name);

/* Runs check-a11y.py on this process over AT-SPI, turning the main loop
 * meanwhile; fails the test if a control has no accessible name. */
void         ow_ui_check_a11y       (const char   *screen);
/* The same, and fails if any name on the bus holds one of @absent
 * (NULL-terminated). */
void         ow_ui_check_a11y_absent (const char        *screen,
                                      const char *const *absent);

/* Presses @accelerator (as gtk_accelerator_parse reads it: "<Control>l";
 * Shift, Control and Alt only) on the keyboard, through the X server and
 * the AT-SPI registry (press-keys.py): it goes to the window with the
 * keyboard focus, through GTK's shortcuts and the application's
 * accelerators, as a person's typing does. */
void         ow_ui_press_keys       (const char   *accelerator);

G_END_DECLS
