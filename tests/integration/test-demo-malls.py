#!/usr/bin/env python3
# test-demo-malls.py: the demo malls of examples/malls against a real
# onepin-bank and onepin-gateway (suite malls).
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A wallet user with a funded representative card buys at the four shops
# that know nothing of onepin (their acquirer, onepin-bank, routes the card
# to the gateway), then at the affiliated mall: the checkout page's
# purchase, sent by the wallet with the card password, is matched with the
# mall's session, and the mall's server learns it from the gateway's
# signed webhook. A purchase that does not match is refused. A shopper
# without the wallet pays on the hosted page. TAP output; stdlib only.

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MALLS = os.path.join(ROOT, "examples", "malls")
results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} {name}")
    if not ok and detail:
        for line in str(detail).splitlines():
            print(f"# {line}")
    sys.stdout.flush()


def http(method, url, body=None, bearer=None, key=None, form=False):
    data = None
    request = urllib.request.Request(url, method=method)
    if body is not None:
        if form:
            data = "&".join(f"{k}={v}" for k, v in body.items()).encode()
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        else:
            data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
    if bearer:
        request.add_header("Authorization", "Bearer " + bearer)
    if key:
        request.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(request, data=data, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def http_json(*args, **kwargs):
    status, text = http(*args, **kwargs)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, {"raw": text}


class Process:
    """A program of ours, stopped when the test ends."""

    def __init__(self, argv, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_listening(self):
        deadline = time.time() + 15
        while time.time() < deadline:
            with open(self.log_path) as f:
                match = re.search(r"listening on (http://\S+)", f.read())
            if match:
                return match.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        with open(self.log_path) as f:
            raise SystemExit(f"Bail out! {self.log_path} never listened:\n{f.read()[-2000:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def start(tmp):
    processes = []
    bank_dir = os.path.join(tmp, "bank")
    gw_dir = os.path.join(tmp, "gateway")
    issuer_file = os.path.join(tmp, "issuer.url")
    bank = Process([os.environ["ONEPIN_BANK"], "--data-dir", bank_dir, "--listen", "127.0.0.1:0",
                    "--issuer-url-file", issuer_file, "--issuer-timeout", "5"],
                   os.path.join(tmp, "bank.log"))
    processes.append(bank)
    bank_url = bank.wait_listening()
    config = os.path.join(tmp, "gateway.conf")
    with open(config, "w") as f:
        f.write(f"[wallet]\npbkdf2_iterations=2000\n"
                f"[webhooks]\nretry_base=1\nallow_private=true\n"
                f"[network]\nsecret_file={bank_dir}/network.secret\n"
                f"[bank]\nurl={bank_url}\napi_key_file={bank_dir}/api.key\n"
                f"callback_secret_file={bank_dir}/callback.secret\n")
    gateway = Process([os.environ["ONEPIN_GATEWAY"], "--data-dir", gw_dir, "--listen",
                       "127.0.0.1:0", "--config", config], os.path.join(tmp, "gateway.log"))
    processes.append(gateway)
    gw_url = gateway.wait_listening()
    with open(issuer_file, "w") as f:
        f.write(gw_url + "\n")
    with open(os.path.join(gw_dir, "admin.token")) as f:
        admin = f.read().strip()

    status, merchant = http_json("POST", gw_url + "/v1/admin/merchants",
                                 {"name": "Onepin Tea House", "category": "shopping"}, admin)
    assert status == 200, merchant
    for name, value in (("mall.key", merchant["secret_key"]),
                        ("mall.whsec", merchant["webhook_secret"])):
        path = os.path.join(tmp, name)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(value + "\n")
    mall = Process([sys.executable, os.path.join(MALLS, "affiliated_mall.py"), "--gateway",
                    gw_url, "--key-file", os.path.join(tmp, "mall.key"),
                    "--webhook-secret-file", os.path.join(tmp, "mall.whsec"),
                    "--listen", "127.0.0.1:0"], os.path.join(tmp, "mall.log"))
    processes.append(mall)
    shops = Process([sys.executable, os.path.join(MALLS, "shops.py"), "--bank", bank_url,
                     "--acquirer-key-file", os.path.join(bank_dir, "acquirer.key"),
                     "--listen", "127.0.0.1:0"], os.path.join(tmp, "shops.log"))
    processes.append(shops)
    return processes, gw_url, admin, merchant, mall.wait_listening(), shops.wait_listening()


def new_wallet(gw, login):
    status, _ = http_json("POST", gw + "/v1/wallet/users",
                          {"login_id": login, "password": "correct horse", "name": "Demo Shopper",
                           "email": login + "@wallet.example"})
    assert status == 201
    status, session = http_json("POST", gw + "/v1/wallet/sessions",
                                {"login_id": login, "password": "correct horse"})
    token = session["token"]
    status, card = http_json("POST", gw + "/v1/wallet/card", {"password": "2580"}, token, "apply")
    assert status == 201, card
    status, source = http_json("POST", gw + "/v1/wallet/funding-sources",
                               {"type": "credit_card", "credit_card": {
                                   "number": "4242424242424242", "expiry": "12/30",
                                   "holder": "DEMO SHOPPER"}}, token)
    assert status == 201, source
    status, charge = http_json("POST", gw + "/v1/wallet/charges",
                               {"funding_source_id": source["id"], "amount": 100000,
                                "cvc": "123"}, token, "top-up")
    assert status == 201 and charge["status"] == "succeeded", charge
    expiry = f"{card['exp_month']:02d}/{card['exp_year'] % 100:02d}"
    return token, card["number"], expiry, card["cvc"]


def available(gw, token):
    return http_json("GET", gw + "/v1/wallet/card", bearer=token)[1]["available"]


def checkout_page(mall, product, quantity):
    status, page = http("POST", mall + "/checkout", {"product": product, "quantity": quantity},
                        form=True)
    match = re.search(r'<script type="application/json" id="onepin-checkout">(.*?)</script>',
                      page, re.S)
    return status, json.loads(match.group(1)) if match else None, page


def wait_paid(mall, order_id):
    deadline = time.time() + 30
    state = {}
    while time.time() < deadline:
        state = http_json("GET", f"{mall}/orders/{order_id}.json")[1]
        if state.get("paid") and "checkout.session.completed" in state.get("events", []):
            return state
        time.sleep(0.2)
    return state


def main():
    tmp = tempfile.mkdtemp(prefix="onepin-malls-")
    processes = []
    try:
        processes, gw, admin, merchant, mall, shops = start(tmp)
        token, number, expiry, cvc = new_wallet(gw, "demo-shopper")
        spent = 0

        # The shops that know nothing of onepin, through the card network.
        for shop, amount in (("plain", 12000), ("split", 23000), ("react", 15500),
                             ("korean", 8000)):
            status, page = http("GET", f"{shops}/{shop}")
            tap(status == 200 and ('id="checkout"' in page or 'id="root"' in page),
                f"the {shop} checkout page is served")
            status, answer = http_json("POST", f"{shops}/pay/{shop}",
                                       {"number": number, "expiry": expiry, "cvc": cvc})
            spent += amount
            tap(status == 200 and answer.get("approved") and len(answer.get("auth_code", "")) == 6,
                f"the {shop} shop's acquirer gets the card approved by onepin", answer)
        tap(available(gw, token) == 100000 - spent, "the card paid the four shops",
            available(gw, token))
        wrong_cvc = f"{(int(cvc) + 1) % 1000:03d}"
        status, answer = http_json("POST", f"{shops}/pay/plain",
                                   {"number": number, "expiry": expiry, "cvc": wrong_cvc})
        tap(status == 402 and answer.get("decline_code") == "incorrect_cvc",
            "a wrong CVC is declined at the shop", answer)

        # The affiliated mall: the wallet sends what the page showed.
        status, purchase, page = checkout_page(mall, "tea", 2)
        tap(status == 200 and purchase and purchase["amount"] == 8000 and
            "sk_" not in page, "the checkout page carries the purchase, not the key",
            page[-500:])
        mismatch = dict(purchase, amount=purchase["amount"] - 1)
        status, answer = http_json("POST", gw + "/v1/wallet/checkout",
                                   {"checkout_session": mismatch["checkout_session"],
                                    "merchant": mismatch["merchant"],
                                    "order_id": mismatch["order_id"],
                                    "amount": mismatch["amount"], "currency": "krw",
                                    "password": "2580"}, token)
        tap(status == 409 and answer["error"]["code"] == "checkout_mismatch",
            "a purchase that differs from the mall's is refused", answer)
        status, answer = http_json("POST", gw + "/v1/wallet/checkout",
                                   {"checkout_session": purchase["checkout_session"],
                                    "merchant": purchase["merchant"],
                                    "order_id": purchase["order_id"],
                                    "amount": purchase["amount"],
                                    "currency": purchase["currency"], "password": "2580"},
                                   token, "wallet-tea")
        tap(status == 200 and answer["status"] == "complete", "the wallet pays the session",
            answer)
        state = wait_paid(mall, purchase["order_id"])
        tap(state.get("paid") is True, "the mall's server learns it from the signed webhook",
            state)
        status, page = http("GET", f"{mall}/orders/{purchase['order_id']}")
        tap(status == 200 and 'id="order-state">Paid' in page, "the order page says paid")

        # Without the wallet: the hosted page, with a onepin card number.
        status, batch = http_json("POST", gw + "/v1/admin/card_batches",
                                  {"count": 1, "value": 50000, "currency": "krw",
                                   "channel": "online"}, admin, "batch-1")
        card = batch["cards"][0]["number"]
        http_json("POST", gw + "/v1/cards/register", {"number": card, "password": "7777"})
        status, purchase, page = checkout_page(mall, "kettle", 1)
        session = purchase["checkout_session"]
        status, html = http("GET", f"{gw}/pay/{session}")
        tap(status == 200 and "pay.js" in html, "the hosted page is served")
        status, answer = http_json("POST", f"{gw}/v1/checkout_sessions/{session}/pay",
                                   {"card_number": card, "password": "7777"})
        tap(status == 200 and answer["status"] == "complete", "the hosted page pays", answer)
        state = wait_paid(mall, purchase["order_id"])
        tap(state.get("paid") is True, "the mall hears of the hosted payment too", state)

        status, audit = http_json("GET", gw + "/v1/admin/audit", bearer=admin)
        tap(audit.get("balanced") is True, "the ledger balances", audit)
    finally:
        for process in reversed(processes):
            process.stop()
        subprocess.run(["rm", "-rf", tmp], check=False)
    print(f"1..{len(results)}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
