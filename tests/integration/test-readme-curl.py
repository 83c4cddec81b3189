#!/usr/bin/env python3
# test-readme-curl.py: the README's "A payment with curl", run as written
# (suite docs).
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A new user follows that section from a fresh gateway to a captured
# payment and its refund. This test takes the section's ```sh block out of
# README.md and runs every command of it with bash and curl against the
# real onepin-gateway (with a real SMTP server on loopback for the
# receipt), in order. The block's placeholders (SK=sk_..., CARD=9410...,
# PAY=pay_...) are what the reader copies from an earlier answer: each is
# set from that answer, and checked to match the placeholder's prefix.
# Then the claims the README makes after the block are checked: the balance
# is 8,000 won, the audit is balanced, a receipt reached me@example.com
# without the card number, and a keyed request repeated returns the first
# answer byte for byte with Idempotent-Replayed: true. TAP output.

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} {name}")
    if not ok and detail:
        for line in str(detail).splitlines():
            print(f"# {line}")
    sys.stdout.flush()


def bail(message):
    print(f"Bail out! {message}")
    sys.exit(1)


def curl_block():
    """The commands of the section's sh block, continuation lines joined."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    match = re.search(r"^## A payment with curl\n(.*?)^```sh\n(.*?)^```", text, re.M | re.S)
    if not match:
        bail("README.md has no ```sh block under '## A payment with curl'")
    joined = match.group(2).replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines()
            if line.strip() and not line.strip().startswith("#")]


class Process:
    def __init__(self, argv, log_path, stdout=None):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=stdout or self.log, stderr=self.log,
                                     text=True, start_new_session=True)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def wait_for(path, what, proc):
    deadline = time.time() + 15
    while time.time() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    bail(f"{what} did not start")


def start(tmp, processes):
    maildir = os.path.join(tmp, "mail")
    # Debian's interpreter, where apt puts python3-aiosmtpd, even when
    # another python3 comes first on PATH.
    python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    smtp = Process([python, os.path.join(ROOT, "tests", "lib", "onepin-smtp-server.py"),
                    "--port", "0", "--maildir", maildir], os.path.join(tmp, "smtp.log"),
                   stdout=subprocess.PIPE)
    processes.append(smtp)
    ready = smtp.proc.stdout.readline().split()
    if len(ready) != 2 or ready[0] != "ready":
        bail("the SMTP server did not start")
    config = os.path.join(tmp, "gateway.conf")
    with open(config, "w") as f:
        f.write(f"[smtp]\nurl=smtp://127.0.0.1:{ready[1]}\nstarttls=none\n")
    data = os.path.join(tmp, "gateway")
    gateway = Process([os.environ["ONEPIN_GATEWAY"], "--data-dir", data, "--listen",
                       "127.0.0.1:0", "--config", config], os.path.join(tmp, "gateway.log"))
    processes.append(gateway)
    wait_for(os.path.join(data, "gateway.url"), "the gateway", gateway.proc)
    with open(os.path.join(data, "gateway.url")) as f:
        url = f.read().strip()
    with open(os.path.join(data, "admin.token")) as f:
        admin = f.read().strip()
    return url, admin, os.path.join(maildir, "new")


def run(command, env):
    """The answer's text and its parsed JSON."""
    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True,
                          timeout=30)
    try:
        return done.stdout, json.loads(done.stdout)
    except ValueError:
        return done.stdout, {"unparsed": done.stdout + done.stderr}


# Which earlier answer each placeholder of the block is copied from.
PLACEHOLDERS = {
    "SK": lambda seen: seen["merchant"]["secret_key"],
    "CARD": lambda seen: seen["batch"]["cards"][0]["number"],
    "PAY": lambda seen: seen["payment"]["id"],
}


def remember(seen, answer):
    if "secret_key" in answer:
        seen["merchant"] = answer
    elif answer.get("object") == "card_batch":
        seen["batch"] = answer
    elif answer.get("object") == "payment" and "payment" not in seen:
        seen["payment"] = answer


def walk(commands, env, seen):
    """Runs the block; returns the answers of the curl commands in order."""
    answers = []
    for command in commands:
        assignment = re.match(r"^(\w+)=(\S*)", command)
        if assignment and assignment.group(1) in ("URL", "ADMIN"):
            continue        # this test's gateway, set in env
        if assignment:
            name, placeholder = assignment.group(1), assignment.group(2)
            value = PLACEHOLDERS[name](seen)
            prefix = placeholder.rstrip(".")
            tap(value.startswith(prefix), f"{name} is copied from an earlier answer",
                f"{name}: the README shows {placeholder!r}, the answer holds {value[:4]}…")
            env[name] = value
            continue
        text, answer = run(command, env)
        remember(seen, answer)
        seen.setdefault("texts", {})[command] = text
        answers.append((command, answer))
    return answers


def check_answers(answers):
    failed = [(c, a) for c, a in answers if "error" in a or "unparsed" in a]
    tap(not failed, f"all {len(answers)} curl commands answered without an error",
        "\n".join(f"{c[:80]}\n  -> {json.dumps(a)[:300]}" for c, a in failed))
    by_prefix = {}
    for command, answer in answers:
        path = re.search(r"\$URL(/\S*?)[\s\"']", command + " ")
        by_prefix.setdefault(path.group(1) if path else command, answer)
    balance = by_prefix.get("/v1/cards/balance", {})
    tap(balance.get("balance") == 8000 and balance.get("available") == 8000,
        "the balance is then 8,000 won", json.dumps(balance))
    audit = by_prefix.get("/v1/admin/audit", {})
    tap(audit.get("balanced") is True, "the audit answers balanced: true", json.dumps(audit))


def check_receipt(maildir, number):
    deadline = time.time() + 20
    mails = []
    while time.time() < deadline:
        mails = [os.path.join(maildir, n) for n in os.listdir(maildir)] if os.path.isdir(maildir) else []
        texts = [open(p, errors="replace").read() for p in mails]
        if any("me@example.com" in t for t in texts):
            break
        time.sleep(0.2)
    texts = [open(p, errors="replace").read() for p in mails]
    to_me = [t for t in texts if "X-Envelope-To: me@example.com" in t]
    tap(bool(to_me), "the capture sent a receipt to me@example.com", f"{len(mails)} mails")
    tap(not any(number in t for t in texts), "no e-mail holds the card number")


def check_replay(commands, env, seen):
    keyed = [c for c in commands if c.startswith("curl") and "Idempotency-Key: refund" in c]
    if not keyed:
        return tap(False, "the block has a keyed refund to repeat")
    first = seen.get("texts", {}).get(keyed[0], "")
    done = subprocess.run(["bash", "-c", keyed[0].replace("curl -s", "curl -s -i", 1)],
                          env=env, capture_output=True, text=True, timeout=30)
    head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
    tap("idempotent-replayed: true" in head.lower() and first != "" and body == first,
        "repeating the keyed refund returns its answer byte for byte, Idempotent-Replayed: true",
        f"{head}\nfirst: {first}\nagain: {body}")


def main():
    print("TAP version 13")
    commands = curl_block()
    processes = []
    with tempfile.TemporaryDirectory(prefix="onepin-readme-") as tmp:
        try:
            url, admin, maildir = start(tmp, processes)
            env = dict(os.environ, URL=url, ADMIN=admin)
            seen = {}
            answers = walk(commands, env, seen)
            check_answers(answers)
            check_receipt(maildir, env.get("CARD", "no card"))
            check_replay(commands, env, seen)
            status, _ = subprocess.getstatusoutput(f"curl -s -o /dev/null {url}/healthz")
            tap(status == 0, "the gateway is still up")
        finally:
            for process in reversed(processes):
                process.stop()
    print(f"1..{len(results)}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
