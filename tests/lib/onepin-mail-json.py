#!/usr/bin/python3
# onepin-mail-json.py FILE...: parses Internet messages with Python's email
# package and prints what the tests check, as one JSON array:
#   file, headers {name: [raw values]}, subject (decoded), from, to,
#   message_id, date, content_type, text, html (decoded parts, their CRLF
#   line ends shown as \n, as a mail reader does),
#   part_types, charsets, encodings, max_line (longest raw line, in bytes,
#   without CRLF), bare_lf (a LF not after CR), defects.
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later

import email
import email.policy
import json
import sys


def content(part):
    return part.get_content().replace("\r\n", "\n") if part is not None else None


def describe(path):
    with open(path, "rb") as f:
        raw = f.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    headers = {}
    for name, value in msg.raw_items():
        headers.setdefault(name.lower(), []).append(str(value))
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    parts = [p for p in msg.walk() if not p.is_multipart()]
    defects = [type(d).__name__ for p in msg.walk() for d in p.defects]
    defects += [type(d).__name__ for d in msg.defects if type(d).__name__ not in defects]
    lines = raw.split(b"\r\n")
    return {
        "file": path,
        "headers": headers,
        "subject": str(msg["subject"]) if msg["subject"] is not None else None,
        "from": str(msg["from"]),
        "to": str(msg["to"]),
        "message_id": str(msg["message-id"]),
        "date": str(msg["date"]),
        "content_type": msg.get_content_type(),
        "text": content(plain),
        "html": content(html),
        "part_types": [p.get_content_type() for p in parts],
        "charsets": [p.get_content_charset() for p in parts],
        "encodings": [p.get("content-transfer-encoding", "") for p in parts],
        "max_line": max(len(line) for line in lines),
        "bare_lf": any(b"\n" in line for line in lines),
        "defects": defects,
    }


print(json.dumps([describe(p) for p in sys.argv[1:]], ensure_ascii=False))
