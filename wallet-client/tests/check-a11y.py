#!/usr/bin/python3
# check-a11y.py: every interactive control the wallet shows has an accessible name
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: check-a11y.py PID SCREEN [ABSENT...]
#
# Finds the application with process id PID on the AT-SPI bus, walks every
# object that is visible, and fails (exit 1) if a control a user can operate
# has no name, or a name with a mnemonic's underscore or the same words twice
# (GTK 4.8's for a mnemonic button), listing each with its role and path.
# Prints what it checked.
# It fails too if an object's name holds one of the ABSENT texts (what a
# locked wallet must not show: a merchant, a sum).
# The test that runs it keeps the wallet's main loop turning meanwhile, so
# the wallet answers the AT-SPI calls.

import os
import re
import sys
import time

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi  # noqa: E402

INTERACTIVE = {
    Atspi.Role.PUSH_BUTTON,
    Atspi.Role.TOGGLE_BUTTON,
    Atspi.Role.CHECK_BOX,
    Atspi.Role.RADIO_BUTTON,
    Atspi.Role.MENU_ITEM,
    Atspi.Role.CHECK_MENU_ITEM,
    Atspi.Role.RADIO_MENU_ITEM,
    Atspi.Role.COMBO_BOX,
    Atspi.Role.ENTRY,
    Atspi.Role.PASSWORD_TEXT,
    Atspi.Role.SPIN_BUTTON,
    Atspi.Role.SLIDER,
    Atspi.Role.LINK,
    Atspi.Role.PAGE_TAB,
    Atspi.Role.SWITCH if hasattr(Atspi.Role, "SWITCH") else Atspi.Role.TOGGLE_BUTTON,
}

# GTK 4.8 answers a widget's type name ("GtkImage", "GtkMenuButton") when it
# has no accessible name; that is no name for a person.
TYPE_NAME = re.compile(r"^(Gtk|Adw|Ow)[A-Z][A-Za-z]*$")



def garbled(name):
    """A name as GTK 4.8 makes it for a button with a mnemonic: the label
    with its underscore, then the label's text again ("_Unlock Unlock")."""
    if "_" in name:
        return True
    words = name.split()
    half = len(words) // 2
    return len(words) % 2 == 0 and half > 0 and words[:half] == words[half:]


# Editable text is interactive whatever role a toolkit gives it.
TEXT_ROLES = {Atspi.Role.TEXT, Atspi.Role.ENTRY, Atspi.Role.PASSWORD_TEXT}


# Atspi disposes of an application it thinks has left the bus (on a
# children-changed event naming its root, or its bus name changing owner)
# and then answers "the application no longer exists" for good in this
# process; seen once in CI mid-walk, the wallet still running. A check that
# meets it starts again in a fresh process, twice at most; a wallet that
# really left fails all three.
ATTEMPTS = 3


class Gone(Exception):
    pass


def gone(error):
    # ATSPI_ERROR_APPLICATION_GONE; libatspi keeps its error enum private
    return error.domain == "atspi_error" and error.code == 0


def call(fn, *args):
    """Calls an AT-SPI getter; None if the object went away, Gone if the
    whole application did."""
    try:
        return fn(*args)
    except gi.repository.GLib.Error as error:
        if gone(error):
            raise Gone() from error
        return None


def find_app(pid, deadline):
    while time.monotonic() < deadline:
        desktop = Atspi.get_desktop(0)
        for i in range(desktop.get_child_count()):
            app = desktop.get_child_at_index(i)
            try:
                if app is not None and app.get_process_id() == pid:
                    return app
            except gi.repository.GLib.Error:
                continue
        time.sleep(0.2)
    return None


def describe(node):
    role = call(node.get_role_name)
    if role is None:
        return "?"
    return "%s %r" % (role, call(node.get_name) or "")


def is_interactive(node, role, states):
    if role in INTERACTIVE:
        return True
    return role in TEXT_ROLES and states.contains(Atspi.StateType.EDITABLE)


def walk(node, path, found, counts, absent, depth=0):
    if depth > 60:
        return
    states = call(node.get_state_set)
    role = call(node.get_role)
    if states is None or role is None:
        return
    # GTK 4.8 marks only windows SHOWING, and a stack's pages all VISIBLE,
    # so this checks every page a window holds, shown or not: stricter. What
    # is hidden (not VISIBLE) is checked when a test step makes it visible.
    if depth > 0 and not states.contains(Atspi.StateType.VISIBLE):
        return
    here = path + [describe(node)]
    name = (call(node.get_name) or "").strip()
    for text in absent["texts"]:
        if text in name:
            absent["shown"].append("%r in %s" % (text, " > ".join(here[-4:])))
    if is_interactive(node, role, states):
        counts["controls"] += 1
        if not name or TYPE_NAME.match(name):
            found.append(" > ".join(here[-4:]))
        elif garbled(name):
            counts["garbled"].append(" > ".join(here[-4:]))
    counts["objects"] += 1
    n = call(node.get_child_count) or 0
    for i in range(n):
        child = call(node.get_child_at_index, i)
        if child is not None:
            walk(child, here, found, counts, absent, depth + 1)


def main():
    pid = int(sys.argv[1])
    screen = sys.argv[2] if len(sys.argv) > 2 else "?"
    app = find_app(pid, time.monotonic() + 20)
    if app is None:
        print("%s: no application with pid %d on the AT-SPI bus" % (screen, pid))
        return 1

    found = []
    counts = {"objects": 0, "controls": 0, "garbled": []}
    absent = {"texts": sys.argv[3:], "shown": []}
    try:
        walk(app, [], found, counts, absent)
    except Gone:
        attempt = int(os.environ.get("ONEPIN_A11Y_ATTEMPT", "1"))
        print("%s: the application left the AT-SPI bus during attempt %d"
              % (screen, attempt))
        if attempt >= ATTEMPTS:
            return 1
        sys.stdout.flush()
        os.environ["ONEPIN_A11Y_ATTEMPT"] = str(attempt + 1)
        os.execv(sys.executable, [sys.executable] + sys.argv)
    print("%s: %d objects, %d interactive controls"
          % (screen, counts["objects"], counts["controls"]))
    if counts["controls"] == 0:
        print("%s: no interactive control found: is the window on the bus?" % screen)
        return 1
    for path in found:
        print("%s: no accessible name: %s" % (screen, path))
    for path in counts["garbled"]:
        print("%s: a mnemonic or a doubled text in the name: %s" % (screen, path))
    for where in absent["shown"]:
        print("%s: must not be shown: %s" % (screen, where))
    return 1 if found or counts["garbled"] or absent["shown"] else 0


if __name__ == "__main__":
    sys.exit(main())
