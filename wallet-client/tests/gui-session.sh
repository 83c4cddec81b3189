#!/bin/sh
# gui-session.sh PROGRAM [ARGS...]: run a GUI test on an X server and a D-Bus
# session of its own (xvfb-run, dbus-run-session), so the AT-SPI bus and
# registry start for it and stop after it.
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The program's stdout (TAP) stays stdout; everything else in the session
# (the AT-SPI registry says hello on its stdout) goes to stderr, so it
# cannot break the TAP stream.
set -eu
exec 3>&1 1>&2
exec xvfb-run -a -s "-screen 0 1280x1024x24" \
  dbus-run-session -- sh -c 'exec "$@" 1>&3 3>&-' sh "$@"
