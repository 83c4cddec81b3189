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
# cannot break the TAP stream. With ONEPIN_XVFB_FBDIR set, Xvfb keeps its
# screen in that directory (Xvfb_screen0, an XWD file) for screenshots of
# other programs' windows.
set -eu
server_args="-screen 0 1280x1024x24"
if [ -n "${ONEPIN_XVFB_FBDIR:-}" ]; then
  mkdir -p "$ONEPIN_XVFB_FBDIR"
  server_args="$server_args -fbdir $ONEPIN_XVFB_FBDIR"
fi
exec 3>&1 1>&2
exec xvfb-run -a -s "$server_args" \
  dbus-run-session -- sh -c 'exec "$@" 1>&3 3>&-' sh "$@"
