#!/usr/bin/python3
# press-keys.py: a key press with modifiers, as the keyboard would send it
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: press-keys.py KEYVAL MODIFIERS
#
# KEYVAL is an X keysym (GDK's keyval), MODIFIERS an X modifier mask (GDK's
# Shift, Control and Alt bits are X's). The AT-SPI registry makes the
# events with XTest, so they reach the window that has the keyboard focus
# through the X server, as a person's typing does, and go through GTK's
# shortcuts and accelerators. The test that runs it keeps the wallet's main
# loop turning meanwhile.

import sys

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi  # noqa: E402


def main():
    keyval = int(sys.argv[1])
    modifiers = int(sys.argv[2])
    synth = Atspi.KeySynthType
    if modifiers:
        Atspi.generate_keyboard_event(modifiers, None, synth.LOCKMODIFIERS)
    try:
        Atspi.generate_keyboard_event(keyval, None, synth.SYM)
    finally:
        if modifiers:
            Atspi.generate_keyboard_event(modifiers, None, synth.UNLOCKMODIFIERS)
    print("pressed keyval 0x%x with modifiers 0x%x" % (keyval, modifiers))


if __name__ == "__main__":
    main()
