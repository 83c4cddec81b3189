#!/usr/bin/python3
# wallet-atspi.py: drives the real onepin-wallet over AT-SPI, for the browser tests
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: wallet-atspi.py PID
#
# Reads one JSON command per line on stdin and answers one JSON line on
# stdout: {"ok": true, ...} or {"ok": false, "error": "..."}. It acts as a
# user would, through the accessibility tree: text goes into an editable
# field found by its accessible name, a button is pressed by its action,
# only when it is showing and sensitive. Windows are found by title.
#
#   {"cmd": "windows"}                               -> {"windows": [titles]}
#   {"cmd": "wait_window", "window": T, "timeout": s}
#   {"cmd": "wait_gone", "window": T, "timeout": s}
#   {"cmd": "wait_button", "window": T, "button": B, "timeout": s}
#   {"cmd": "set_text", "window": T, "near": B, "field": F, "text": X}
#   {"cmd": "click", "window": T, "button": B, "timeout": s}
#   {"cmd": "check", "window": T, "name": N}          (a check box)
#   {"cmd": "labels", "window": T}                    -> {"labels": [texts]}
#   {"cmd": "screenshot", "xwd": FILE, "png": FILE}
#
# Only what is on the screen counts (a stack's other pages are in the tree
# too, without a size). "near" names a button next to the field (a page
# may hold fields of the same name in several parts: the one sharing the
# button's part counts).
# Screenshots convert Xvfb's -fbdir frame buffer (XWD) to PNG.
# It never reads an Action's NActions property: GTK 4.8 leaks on it (see
# toggle), and the wallet's exit is leak-checked under ASan.

import json
import struct
import sys
import time
import zlib

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, GLib  # noqa: E402

BUTTON_ROLES = {Atspi.Role.PUSH_BUTTON}
TEXT_ROLES = {Atspi.Role.TEXT, Atspi.Role.ENTRY, Atspi.Role.PASSWORD_TEXT}


class Failure(Exception):
    pass


def find_app(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desktop = Atspi.get_desktop(0)
        for i in range(desktop.get_child_count()):
            app = desktop.get_child_at_index(i)
            try:
                if app is not None and app.get_process_id() == pid:
                    return app
            except GLib.Error:
                continue
        time.sleep(0.2)
    raise Failure("no application with pid %d on the AT-SPI bus" % pid)


def children(node):
    try:
        n = node.get_child_count()
    except GLib.Error:
        return
    for i in range(n):
        try:
            child = node.get_child_at_index(i)
        except GLib.Error:
            continue
        if child is not None:
            yield child


def visible(node):
    try:
        return node.get_state_set().contains(Atspi.StateType.VISIBLE)
    except GLib.Error:
        return False


def showing(node):
    """GTK 4.8 marks only windows SHOWING, and every page of a stack
    VISIBLE; the pages not shown have no size."""
    if not visible(node):
        return False
    try:
        if "Component" not in node.get_interfaces():
            return True     # a stack's page object: no geometry of its own
        extents = node.get_extents(Atspi.CoordType.WINDOW)
    except GLib.Error:
        return False
    return extents.width > 0 and extents.height > 0


def walk(node, depth=0):
    """Every node under @node that is on the screen, depth first."""
    if depth > 0 and not showing(node):
        return
    yield node
    if depth < 60:
        for child in children(node):
            yield from walk(child, depth + 1)


def name_of(node):
    try:
        return (node.get_name() or "").strip()
    except GLib.Error:
        return ""


def button_named(node, label):
    """The wallet names a button by its text ("Pair"); GTK 4.8 alone would
    say "_Pair Pair" for a button with a mnemonic."""
    name = name_of(node).replace("_", "")
    return name == label or name == label + " " + label


def windows(app):
    found = []
    for window in children(app):
        try:
            if window.get_state_set().contains(Atspi.StateType.SHOWING) or visible(window):
                found.append(window)
        except GLib.Error:
            continue
    return found


def window(app, title, timeout=0):
    deadline = time.monotonic() + timeout
    while True:
        for w in windows(app):
            if title is None or name_of(w) == title:
                return w
        if time.monotonic() >= deadline:
            raise Failure("no window %r (there are: %s)" % (title, [name_of(w) for w in windows(app)]))
        time.sleep(0.1)


def find(root, match):
    for node in walk(root):
        try:
            if match(node):
                return node
        except GLib.Error:
            continue
    return None


def button(app, title, label, timeout):
    """The button, once it is there and sensitive."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            w = window(app, title)
            # a toggle button that is down is not the one to press
            b = find(w, lambda n: n.get_role() in BUTTON_ROLES and button_named(n, label) and
                     not n.get_state_set().contains(Atspi.StateType.PRESSED))
            if b is not None and b.get_state_set().contains(Atspi.StateType.SENSITIVE):
                return b
        except Failure:
            pass
        if time.monotonic() >= deadline:
            raise Failure("no sensitive button %r in window %r" % (label, title))
        time.sleep(0.1)


def field(app, title, near, label):
    w = window(app, title, 10)
    is_field = (lambda n: n.get_role() in TEXT_ROLES and name_of(n) == label and
                n.get_state_set().contains(Atspi.StateType.EDITABLE))
    scope = button(app, title, near, 10) if near else w
    while scope is not None:
        found = find(scope, is_field)
        if found is not None:
            return found
        scope = scope.get_parent()
    raise Failure("no field %r in window %r" % (label, title))


# the wallet's errors and toasts are labels with the alert role
LABEL_ROLES = {Atspi.Role.LABEL, Atspi.Role.ALERT}


def labels(app, title):
    w = window(app, title, 10)
    return [name_of(n) for n in walk(w)
            if n.get_role() in LABEL_ROLES and name_of(n) and not name_of(n).startswith("Gtk")]


# ---- screenshots ------------------------------------------------------------

def png(width, height, rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def xwd_to_png(xwd_path, png_path):
    with open(xwd_path, "rb") as f:
        data = f.read()
    endian = ">"
    if struct.unpack(">I", data[:4])[0] > 0xFFFF:
        endian = "<"
    header = struct.unpack(endian + "25I", data[:100])
    header_size, width, height = header[0], header[4], header[5]
    byte_order, bits_per_pixel, bytes_per_line = header[7], header[11], header[12]
    ncolors = header[19]
    if bits_per_pixel != 32:
        raise Failure("screenshots need a 24-bit Xvfb screen (bpp %d)" % bits_per_pixel)
    start = header_size + ncolors * 12
    rows = []
    for y in range(height):
        line = data[start + y * bytes_per_line:start + y * bytes_per_line + width * 4]
        if byte_order == 0:      # LSBFirst: B G R x
            b, g, r = line[0::4], line[1::4], line[2::4]
        else:                    # MSBFirst: x R G B
            r, g, b = line[1::4], line[2::4], line[3::4]
        row = bytearray(width * 3)
        row[0::3], row[1::3], row[2::3] = r, g, b
        rows.append(bytes(row))
    with open(png_path, "wb") as f:
        f.write(png(width, height, rows))


# ---- the loop ---------------------------------------------------------------

def toggle(node, mnemonic):
    """GTK 4.8 gives a check button no action: its mnemonic, Alt and the
    letter, in the window that has the focus (the dialog just presented).

    The action is tried without asking for NActions first: GTK 4.8 answers
    that property of a widget with no action of its own (a check button)
    without freeing the list of actions it made (gtkatspiaction.c,
    widget_handle_get_property), and LeakSanitizer fails the wallet's exit.
    DoAction frees it, and says "No action with index 0" when there is none."""
    try:
        if Atspi.Action.do_action(node, 0):
            return
    except GLib.Error:
        pass
    if not mnemonic:
        raise Failure("%r has no action and no mnemonic was given" % name_of(node))
    alt = 1 << 3     # Mod1
    Atspi.generate_keyboard_event(alt, None, Atspi.KeySynthType.LOCKMODIFIERS)
    try:
        Atspi.generate_keyboard_event(ord(mnemonic), None, Atspi.KeySynthType.SYM)
    finally:
        Atspi.generate_keyboard_event(alt, None, Atspi.KeySynthType.UNLOCKMODIFIERS)
    deadline = time.monotonic() + 5
    while not node.get_state_set().contains(Atspi.StateType.CHECKED):
        if time.monotonic() >= deadline:
            raise Failure("%r did not become checked" % name_of(node))
        time.sleep(0.1)


def run(app, command):
    cmd = command["cmd"]
    title = command.get("window")
    timeout = command.get("timeout", 15)
    if cmd == "windows":
        return {"windows": [name_of(w) for w in windows(app)]}
    if cmd == "wait_window":
        window(app, title, timeout)
        return {}
    if cmd == "wait_gone":
        deadline = time.monotonic() + timeout
        while any(name_of(w) == title for w in windows(app)):
            if time.monotonic() >= deadline:
                raise Failure("window %r is still there" % title)
            time.sleep(0.1)
        return {}
    if cmd == "wait_button":
        button(app, title, command["button"], timeout)
        return {}
    if cmd == "set_text":
        node = field(app, title, command.get("near"), command["field"])
        if not Atspi.EditableText.set_text_contents(node, command["text"]):
            raise Failure("could not set the text of %r" % command["field"])
        return {}
    if cmd == "click":
        node = button(app, title, command["button"], timeout)
        if not Atspi.Action.do_action(node, 0):
            raise Failure("could not press %r" % command["button"])
        return {}
    if cmd == "check":
        w = window(app, title, timeout)
        node = find(w, lambda n: n.get_role() == Atspi.Role.CHECK_BOX and
                    name_of(n).replace("_", "").startswith(command["name"]))
        if node is None:
            raise Failure("no check box %r" % command["name"])
        if not node.get_state_set().contains(Atspi.StateType.CHECKED):
            toggle(node, command.get("mnemonic"))
        return {}
    if cmd == "labels":
        return {"labels": labels(app, title)}
    if cmd == "screenshot":
        xwd_to_png(command["xwd"], command["png"])
        return {}
    raise Failure("unknown command %r" % cmd)


def main():
    app = find_app(int(sys.argv[1]), 30)
    print(json.dumps({"ok": True, "ready": True}), flush=True)
    for line in sys.stdin:
        try:
            answer = run(app, json.loads(line))
            answer["ok"] = True
        except (Failure, GLib.Error, KeyError, OSError) as e:
            answer = {"ok": False, "error": str(e)}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
