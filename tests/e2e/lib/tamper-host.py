#!/usr/bin/python3
# tamper-host.py: stands between Chromium and onepin-wallet-host, for the tests
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The native-messaging manifest of the test's browser profile names this
# script; it runs the real host ($ONEPIN_WALLET_HOST) with the browser's
# arguments. Without $ONEPIN_TAMPER_FILE, or while that file is missing, it
# simply becomes the host (exec). Otherwise the file says what to do to the
# browser's authenticated requests on their way, as someone able to write
# on the pipe could:
#
#   tamper   change the request's body (the origin of a card request, the
#            amount of a purchase) and keep its MAC
#   record   pass requests unchanged and keep the last one in FILE.frame
#   replay   send the kept request instead of the browser's new one
#
# The wallet's answers pass unchanged.

import json
import os
import struct
import subprocess
import sys
import threading

HOST = os.environ["ONEPIN_WALLET_HOST"]
CONTROL = os.environ.get("ONEPIN_TAMPER_FILE")


def mode():
    try:
        with open(CONTROL) as f:
            return f.read().strip()
    except (OSError, TypeError):
        return None


def read_exact(stream, n):
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def frame(payload):
    return struct.pack("=I", len(payload)) + payload


def tamper(message):
    body = json.loads(message["body"])
    if body.get("type") == "card.request":
        body["origin"] = "https://evil.example"
    elif body.get("type") == "checkout.request":
        body["purchase"]["amount"] = 1
    message["body"] = json.dumps(body)
    return message


def change(payload, how):
    message = json.loads(payload)
    if message.get("type") != "request":
        return payload
    if how == "tamper":
        return json.dumps(tamper(message)).encode()
    kept = CONTROL + ".frame"
    if how == "record":
        with open(kept, "wb") as f:
            f.write(payload)
    elif how == "replay" and os.path.exists(kept):
        with open(kept, "rb") as f:
            return f.read()
    return payload


def pump(source, sink):
    while True:
        data = source.read1(65536) if hasattr(source, "read1") else source.read(65536)
        if not data:
            break
        sink.write(data)
        sink.flush()


def main():
    how = mode()
    if how is None:
        os.execv(HOST, [HOST] + sys.argv[1:])
    child = subprocess.Popen([HOST] + sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    answers = threading.Thread(target=pump, args=(child.stdout, sys.stdout.buffer), daemon=True)
    answers.start()
    stdin = sys.stdin.buffer
    while True:
        header = read_exact(stdin, 4)
        if header is None:
            break
        payload = read_exact(stdin, struct.unpack("=I", header)[0])
        if payload is None:
            break
        child.stdin.write(frame(change(payload, how)))
        child.stdin.flush()
    child.stdin.close()
    status = child.wait()
    answers.join(5)
    sys.exit(status)


if __name__ == "__main__":
    main()
