#!/usr/bin/python3
# check-a11y-bus.py: the wallet stays off the accessibility bus unless asked
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage (in a session of its own, see gui-session.sh): check-a11y-bus.py WALLET
#
# GTK 4.8 sends every key typed into a password field out on the AT-SPI bus
# to any listener, so the real onepin-wallet joins that bus only when GTK_A11Y
# asks for it or the desktop's screen reader is on (ow-main.c). This starts
# the wallet three ways in a fresh HOME and looks for it on the bus: with
# GTK_A11Y=atspi (it must come: the check can see it), with the screen reader
# on in GSettings (it must come), and with neither (it must not). TAP.

import os
import shutil
import subprocess
import sys
import tempfile
import time

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, Gio  # noqa: E402


def on_bus(pid):
    desktop = Atspi.get_desktop(0)
    for i in range(desktop.get_child_count()):
        app = desktop.get_child_at_index(i)
        try:
            if app is not None and app.get_process_id() == pid:
                return True
        except gi.repository.GLib.Error:
            continue
    return False


def run(wallet, home, extra, wait):
    """Starts the wallet; returns (seconds until it was on the bus or None,
    whether it was still running at the end)."""
    env = {k: v for k, v in os.environ.items() if k != "GTK_A11Y"}
    for sub in ("config", "data", "cache", "run"):
        os.makedirs(os.path.join(home, sub), mode=0o700, exist_ok=True)
    env.update(HOME=home,
               XDG_CONFIG_HOME=os.path.join(home, "config"),
               XDG_DATA_HOME=os.path.join(home, "data"),
               XDG_CACHE_HOME=os.path.join(home, "cache"),
               XDG_RUNTIME_DIR=os.path.join(home, "run"),
               GSETTINGS_BACKEND="keyfile")
    env.update(extra)
    log = open(os.path.join(home, "wallet.log"), "w")
    wallet_process = subprocess.Popen([wallet], env=env, stdout=log, stderr=log)
    start = time.monotonic()
    seen = None
    try:
        while time.monotonic() - start < wait:
            if on_bus(wallet_process.pid):
                seen = time.monotonic() - start
                break
            time.sleep(0.2)
        running = wallet_process.poll() is None
    finally:
        wallet_process.terminate()
        try:
            wallet_process.wait(10)
        except subprocess.TimeoutExpired:
            wallet_process.kill()
            wallet_process.wait()
        log.close()
    return seen, running


def screen_reader_on(home):
    directory = os.path.join(home, "config", "glib-2.0", "settings")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "keyfile"), "w") as f:
        f.write("[org/gnome/desktop/a11y/applications]\n"
                "screen-reader-enabled=true\n")


def main():
    wallet = sys.argv[1]
    top = tempfile.mkdtemp(prefix="onepin-a11y-bus-")
    failed = 0
    print("1..3")
    # the registry up before any wallet starts: one that comes first may
    # greet a bus with no registry yet, and never be listed
    for _ in range(50):
        if Atspi.get_desktop(0).get_child_count() >= 0:
            break
        time.sleep(0.1)
    time.sleep(1)
    try:
        home = os.path.join(top, "asked")
        seen, running = run(wallet, home, {"GTK_A11Y": "atspi"}, 30)
        ok = seen is not None and running
        print("%s 1 - with GTK_A11Y=atspi the wallet is on the bus (after %s s)"
              % ("ok" if ok else "not ok", "%.1f" % seen if seen else "-"))
        failed += not ok
        # as long again as it took there, and some, before saying "absent"
        wait = max(8, 3 * (seen or 10) + 3)

        home = os.path.join(top, "reader")
        os.makedirs(home)
        screen_reader_on(home)
        source = Gio.SettingsSchemaSource.get_default()
        if source is None or source.lookup("org.gnome.desktop.a11y.applications", True) is None:
            print("ok 2 # SKIP no org.gnome.desktop.a11y.applications schema")
        else:
            seen, running = run(wallet, home, {}, 30)
            ok = seen is not None and running
            print("%s 2 - with the screen reader on the wallet is on the bus"
                  % ("ok" if ok else "not ok"))
            failed += not ok

        home = os.path.join(top, "default")
        seen, running = run(wallet, home, {}, wait)
        ok = seen is None and running
        print("%s 3 - without either the wallet stays off the bus (%.0f s, %s)"
              % ("ok" if ok else "not ok", wait,
                 "running" if running else "it exited: see its log"))
        if not running:
            with open(os.path.join(home, "wallet.log")) as f:
                sys.stderr.write(f.read())
        failed += not ok
    finally:
        shutil.rmtree(top, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
