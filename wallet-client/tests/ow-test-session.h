/* ow-test-session.h: the desktop a wallet under test hears of the screen
 * lock and of sleep from
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * On the test's D-Bus session bus (dbus-run-session), on a thread of its
 * own, since GTK calls the session manager synchronously as the
 * application starts up:
 *   - org.gnome.SessionManager, which GTK 4.8 looks for first and registers
 *     with when the application sets register-session;
 *   - org.gnome.ScreenSaver, whose ActiveChanged GTK 4.8 turns into the
 *     application's screensaver-active (only with a session manager there);
 *   - org.freedesktop.login1, logind's PrepareForSleep and Inhibit (delay
 *     locks on sleep, as pipes whose far end the caller holds). There is no system
 *     bus under the test: starting this points DBUS_SYSTEM_BUS_ADDRESS at
 *     the session bus, so this process's "system bus" is that one.
 * Start it before the application registers.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _OwTestSession OwTestSession;

OwTestSession *ow_test_session_start                  (void);
void           ow_test_session_free                   (OwTestSession *session);
/* Emits ActiveChanged (@active); GetActive answers it from now on. */
void           ow_test_session_set_screensaver_active (OwTestSession *session,
                                                       gboolean       active);
/* Emits logind's PrepareForSleep (@sleeping). */
void           ow_test_session_prepare_for_sleep      (OwTestSession *session,
                                                       gboolean       sleeping);

/* How many of the delay locks handed out are still held. */
guint          ow_test_session_sleep_inhibitors       (OwTestSession *session);

G_END_DECLS
