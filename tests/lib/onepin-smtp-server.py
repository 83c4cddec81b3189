#!/usr/bin/python3
# onepin-smtp-server.py: a real SMTP server (aiosmtpd) on loopback, for the
# tests and the demo. Every accepted message is written, as received, to
# MAILDIR/new/<arrival>.eml (through MAILDIR/tmp, so a reader never sees half
# a file), with a few trace headers in front: X-Envelope-From, X-Envelope-To,
# X-Starttls (yes/no), X-Auth-Login and X-Connection (the connection's
# number, from 1).
#
# Recipients whose local part starts with "reject" get 550 (a permanent
# refusal); "busy" gets 451 (a temporary one); "relay" gets 554 5.7.1 (relay
# access denied, about us, not the recipient); a message to "slow" takes
# SLOW_SECONDS to be accepted; one to "flaky" gets 451 after its data the
# first time. --refuse=greeting answers every connection with 554 (a client
# the server will not serve); --refuse=sender refuses MAIL FROM with 553.
# Once bound it prints
# "ready PORT" on stdout. SIGTERM stops it.
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later

import argparse
import asyncio
import itertools
import os
import signal
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult


SLOW_SECONDS = 1.2


class MaildirHandler:
    def __init__(self, path, refuse=None):
        self.path = path
        self.refuse = refuse
        self.serial = itertools.count()
        self.connections = {}
        self.flaky_seen = set()
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(path, sub), exist_ok=True)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.connections.setdefault(session.peer, len(self.connections) + 1)
        if self.refuse == "sender":
            return "553 5.7.1 Sender address rejected: not owned by user"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        if local.startswith("relay"):
            return "554 5.7.1 Relay access denied"
        if local.startswith("busy"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(rcpt.startswith("slow") for rcpt in envelope.rcpt_tos):
            await asyncio.sleep(SLOW_SECONDS)
        flaky = [rcpt for rcpt in envelope.rcpt_tos
                 if rcpt.startswith("flaky") and rcpt not in self.flaky_seen]
        if flaky:
            self.flaky_seen.update(flaky)
            return "451 4.3.0 Try again later"
        login = session.auth_data if session.authenticated else ""
        trace = (f"X-Envelope-From: {envelope.mail_from}\r\n"
                 f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
                 f"X-Starttls: {'yes' if session.ssl else 'no'}\r\n"
                 f"X-Auth-Login: {login}\r\n"
                 f"X-Connection: {self.connections.get(session.peer, 0)}\r\n").encode()
        name = f"{time.time_ns():020d}.{next(self.serial):06d}.eml"
        tmp = os.path.join(self.path, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(trace + envelope.original_content)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.path, "new", name))
        return "250 2.0.0 Message accepted for delivery"


def authenticator_for(user, password_file):
    with open(password_file) as f:
        password = f.read().strip()

    def authenticate(server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode()
        ok = login == user and auth_data.password.decode() == password
        return AuthResult(success=ok, auth_data=login if ok else None)

    return authenticate


async def refuse_greeting(reader, writer):
    writer.write(b"554 5.7.1 No SMTP service for this client\r\n")
    try:
        while (line := await reader.readline()) and not line.upper().startswith(b"QUIT"):
            writer.write(b"503 5.5.1 Bad sequence of commands\r\n")
        writer.write(b"221 2.0.0 Bye\r\n")
        await writer.drain()
    except ConnectionError:
        pass
    writer.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--require-starttls", action="store_true")
    parser.add_argument("--auth-user")
    parser.add_argument("--auth-password-file")
    parser.add_argument("--refuse", choices=("greeting", "sender"))
    args = parser.parse_args()

    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    handler = MaildirHandler(args.maildir, args.refuse)
    options = dict(hostname="onepin-test-smtp", tls_context=context,
                   require_starttls=args.require_starttls, decode_data=False)
    if args.auth_user:
        options.update(authenticator=authenticator_for(args.auth_user, args.auth_password_file),
                       auth_required=True, auth_require_tls=context is not None)

    loop = asyncio.new_event_loop()
    if args.refuse == "greeting":
        server = loop.run_until_complete(
            asyncio.start_server(refuse_greeting, args.host, args.port))
    else:
        server = loop.run_until_complete(
            loop.create_server(lambda: SMTP(handler, loop=loop, **options), args.host, args.port))
    port = server.sockets[0].getsockname()[1]
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    print(f"ready {port}", flush=True)
    loop.run_forever()
    server.close()


if __name__ == "__main__":
    sys.exit(main())
