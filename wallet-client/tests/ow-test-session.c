/* ow-test-session.c: the desktop a wallet under test hears of the screen
 * lock and of sleep from
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ow-test-session.h"

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <poll.h>
#include <unistd.h>

#define CLIENT_PATH "/org/gnome/SessionManager/Client1"

struct _OwTestSession
{
  GThread         *thread;
  GMainContext    *context;
  GMainLoop       *loop;
  GDBusConnection *bus;
  gint             active;      /* atomic */

  GMutex           lock;
  GCond            cond;
  gboolean         ready;
  GArray          *inhibitors;  /* our ends (int) of the delay locks handed out; under lock */
};

static const char introspection[] =
  "<node>"
  "  <interface name='org.gnome.SessionManager'>"
  "    <method name='RegisterClient'>"
  "      <arg type='s' direction='in'/>"
  "      <arg type='s' direction='in'/>"
  "      <arg type='o' direction='out'/>"
  "    </method>"
  "  </interface>"
  "  <interface name='org.freedesktop.login1.Manager'>"
  "    <method name='Inhibit'>"
  "      <arg type='s' direction='in'/>"
  "      <arg type='s' direction='in'/>"
  "      <arg type='s' direction='in'/>"
  "      <arg type='s' direction='in'/>"
  "      <arg type='h' direction='out'/>"
  "    </method>"
  "  </interface>"
  "  <interface name='org.gnome.ScreenSaver'>"
  "    <method name='GetActive'>"
  "      <arg type='b' direction='out'/>"
  "    </method>"
  "    <signal name='ActiveChanged'>"
  "      <arg type='b'/>"
  "    </signal>"
  "  </interface>"
  "</node>";

/* As logind does: a pipe whose other end the caller holds; the lock is
 * released when every copy of that end is closed. Only delay locks on
 * sleep are asked for. */
static void
inhibit (OwTestSession         *session,
         GVariant              *parameters,
         GDBusMethodInvocation *invocation)
{
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  const char *what = NULL;
  const char *mode = NULL;
  int ends[2];

  g_variant_get (parameters, "(&s&s&s&s)", &what, NULL, NULL, &mode);
  g_assert_cmpstr (what, ==, "sleep");
  g_assert_cmpstr (mode, ==, "delay");
  g_assert_cmpint (pipe (ends), ==, 0);
  g_assert_cmpint (g_unix_fd_list_append (fds, ends[1], NULL), ==, 0);
  close (ends[1]);
  g_mutex_lock (&session->lock);
  g_array_append_val (session->inhibitors, ends[0]);
  g_mutex_unlock (&session->lock);
  g_dbus_method_invocation_return_value_with_unix_fd_list (invocation,
                                                           g_variant_new ("(h)", 0), fds);
}

static void
on_method_call (GDBusConnection       *connection,
                const char            *sender,
                const char            *path,
                const char            *interface,
                const char            *method,
                GVariant              *parameters,
                GDBusMethodInvocation *invocation,
                gpointer               data)
{
  OwTestSession *session = data;

  if (g_str_equal (method, "Inhibit"))
    inhibit (session, parameters, invocation);
  else if (g_str_equal (method, "RegisterClient"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(o)", CLIENT_PATH));
  else
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(b)", g_atomic_int_get (&session->active)));
}

static const GDBusInterfaceVTable vtable = { on_method_call, NULL, NULL, { 0 } };

static void
own (GDBusConnection *bus,
     const char      *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus",
                                                           "/org/freedesktop/DBus",
                                                           "org.freedesktop.DBus", "RequestName",
                                                           g_variant_new ("(su)", name, 4),
                                                           G_VARIANT_TYPE ("(u)"),
                                                           G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                                           &error);
  guint32 outcome;

  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &outcome);
  g_assert_cmpuint (outcome, ==, 1);    /* the primary owner */
}

static gpointer
session_main (gpointer data)
{
  OwTestSession *session = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (introspection, &error);
  g_autofree char *address = NULL;
  guint objects[3];

  g_assert_no_error (error);
  g_main_context_push_thread_default (session->context);
  address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  session->bus = g_dbus_connection_new_for_address_sync (address,
                                                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                         G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                         NULL, NULL, &error);
  g_assert_no_error (error);
  objects[0] = g_dbus_connection_register_object (session->bus, "/org/gnome/SessionManager",
                                                  node->interfaces[0], &vtable, session, NULL,
                                                  &error);
  g_assert_no_error (error);
  objects[1] = g_dbus_connection_register_object (session->bus, "/org/freedesktop/login1",
                                                  node->interfaces[1], &vtable, session, NULL,
                                                  &error);
  g_assert_no_error (error);
  objects[2] = g_dbus_connection_register_object (session->bus, "/org/gnome/ScreenSaver",
                                                  node->interfaces[2], &vtable, session, NULL,
                                                  &error);
  g_assert_no_error (error);
  own (session->bus, "org.gnome.SessionManager");
  own (session->bus, "org.gnome.ScreenSaver");
  own (session->bus, "org.freedesktop.login1");

  g_mutex_lock (&session->lock);
  session->ready = TRUE;
  g_cond_broadcast (&session->cond);
  g_mutex_unlock (&session->lock);

  g_main_loop_run (session->loop);
  for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
    g_dbus_connection_unregister_object (session->bus, objects[i]);
  g_dbus_connection_close_sync (session->bus, NULL, NULL);
  g_clear_object (&session->bus);
  g_main_context_pop_thread_default (session->context);
  return NULL;
}

OwTestSession *
ow_test_session_start (void)
{
  OwTestSession *session = g_new0 (OwTestSession, 1);

  g_assert_nonnull (g_getenv ("DBUS_SESSION_BUS_ADDRESS"));
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", g_getenv ("DBUS_SESSION_BUS_ADDRESS"), TRUE);
  g_mutex_init (&session->lock);
  g_cond_init (&session->cond);
  session->inhibitors = g_array_new (FALSE, FALSE, sizeof (int));
  session->context = g_main_context_new ();
  session->loop = g_main_loop_new (session->context, FALSE);
  session->thread = g_thread_new ("ow-test-session", session_main, session);
  g_mutex_lock (&session->lock);
  while (!session->ready)
    g_cond_wait (&session->cond, &session->lock);
  g_mutex_unlock (&session->lock);
  return session;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
ow_test_session_free (OwTestSession *session)
{
  if (session == NULL)
    return;
  g_main_context_invoke (session->context, quit_loop, session->loop);
  g_thread_join (session->thread);
  g_main_loop_unref (session->loop);
  g_main_context_unref (session->context);
  for (guint i = 0; i < session->inhibitors->len; i++)
    close (g_array_index (session->inhibitors, int, i));
  g_array_unref (session->inhibitors);
  g_mutex_clear (&session->lock);
  g_cond_clear (&session->cond);
  g_free (session);
}

static void
emit (OwTestSession *session,
      const char    *path,
      const char    *interface,
      const char    *signal,
      gboolean       value)
{
  g_autoptr(GError) error = NULL;

  g_dbus_connection_emit_signal (session->bus, NULL, path, interface, signal,
                                 g_variant_new ("(b)", value), &error);
  g_assert_no_error (error);
}

void
ow_test_session_set_screensaver_active (OwTestSession *session,
                                        gboolean       active)
{
  g_atomic_int_set (&session->active, active);
  emit (session, "/org/gnome/ScreenSaver", "org.gnome.ScreenSaver", "ActiveChanged", active);
}

void
ow_test_session_prepare_for_sleep (OwTestSession *session,
                                   gboolean       sleeping)
{
  emit (session, "/org/freedesktop/login1", "org.freedesktop.login1.Manager", "PrepareForSleep",
        sleeping);
}

guint
ow_test_session_sleep_inhibitors (OwTestSession *session)
{
  guint held = 0;

  g_mutex_lock (&session->lock);
  for (guint i = 0; i < session->inhibitors->len; i++)
    {
      /* nothing is ever written: readable means the last writer closed */
      struct pollfd end = { .fd = g_array_index (session->inhibitors, int, i), .events = POLLIN };

      if (poll (&end, 1, 0) == 0)
        held++;
    }
  g_mutex_unlock (&session->lock);
  return held;
}
