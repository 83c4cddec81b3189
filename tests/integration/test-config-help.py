#!/usr/bin/env python3
# test-config-help.py: onepin-gateway --help names every configuration key
# the gateway reads (suite docs).
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The keys are taken from gateway-server/gw-config.c, where each is read
# with (loader, "section", "key"); each must appear in the --help text after
# its [section] and before the next one. A key added to the parser and not
# to the help text fails here. TAP output.

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sections_of(text):
    """{section: the help text from its [section] to the next [...]}."""
    parts = re.split(r"\[([a-z_]+)\]", text)
    out = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        out[name] = out.get(name, "") + body
    return out


def main():
    print("TAP version 13")
    with open(os.path.join(ROOT, "gateway-server", "gw-config.c")) as f:
        source = f.read()
    keys = sorted(set(re.findall(r'\(\s*loader,\s*"([a-z_]+)",\s*"([a-z_0-9]+)"', source)))
    done = subprocess.run([os.environ["ONEPIN_GATEWAY"], "--help"], capture_output=True,
                          text=True, timeout=30)
    sections = sections_of(done.stdout)
    results = [done.returncode == 0 and len(keys) > 40]
    print(f"{'ok' if results[0] else 'not ok'} 1 --help answers, and gw-config.c reads "
          f"{len(keys)} keys")
    for section, key in keys:
        ok = re.search(r"\b" + key + r"\b", sections.get(section, "")) is not None
        results.append(ok)
        print(f"{'ok' if ok else 'not ok'} {len(results)} [{section}] {key}")
    print(f"1..{len(results)}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
