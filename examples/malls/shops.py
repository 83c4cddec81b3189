#!/usr/bin/env python3
# shops.py: demo malls that know nothing of onepin (claims 6 and 11).
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Four checkout pages take a card like any shop: a plain form, one with the
# number split over four inputs and a <select> expiry, one with React-style
# controlled inputs, and a Korean one. The shop's server sends the card to
# its acquirer, onepin-bank (POST /v1/acquirer/payments with the acquirer
# key); a card in onepin's BIN range goes on over the bank's card network to
# the onepin gateway. The onepin wallet's browser extension fills these
# forms with the representative card.
#
#   shops.py --bank http://127.0.0.1:8081 --acquirer-key-file BANKDIR/acquirer.key \
#            [--listen 127.0.0.1:8083]

import argparse
import html
import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shops")
# Each page is a shop of its own at the acquirer: its id (field 42), name,
# merchant category code and city.
SHOPS = {
    "plain": {"id": "plain-shop", "name": "Plain Shop", "category": "5999", "city": "Seoul",
              "amount": 12000},
    "split": {"id": "split-gear", "name": "Split Gear", "category": "5940", "city": "Busan",
              "amount": 23000},
    "react": {"id": "react-books", "name": "React Books", "category": "5942",
              "city": "Incheon", "amount": 15500},
    "korean": {"id": "hanok-tea", "name": "한옥 찻집", "category": "5814", "city": "전주",
               "amount": 8000},
}
STATIC = {"shop.css": "text/css; charset=utf-8", "controlled.js": "text/javascript; charset=utf-8",
          "submit.js": "text/javascript; charset=utf-8"}
MESSAGES = {
    "insufficient_funds": "The card's balance is too low.",
    "incorrect_cvc": "The security code is wrong.",
    "expired_card": "The card has expired, or the expiry date is wrong.",
    "incorrect_number": "The card number is wrong.",
    "card_locked": "The card is locked.",
    "issuer_unavailable": "The card's issuer did not answer. Nothing was charged.",
}


class Handler(BaseHTTPRequestHandler):
    bank = None
    acquirer_key = None
    server_version = "onepin-demo-shops/1"

    def log_message(self, format, *args):
        sys.stderr.write("shops: " + (format % args) + "\n")

    def send(self, status, body, content_type):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urlsplit(self.path).path.strip("/")
        if path == "":
            links = "".join(f"<li><a href=\"/{name}\">{html.escape(shop['name'])}</a></li>"
                            for name, shop in SHOPS.items())
            return self.send(200, f"<!DOCTYPE html><meta charset=\"utf-8\"><title>Shops</title>"
                                  f"<h1>Demo shops</h1><ul>{links}</ul>",
                             "text/html; charset=utf-8")
        if path in SHOPS:
            with open(os.path.join(HERE, path + ".html"), encoding="utf-8") as f:
                return self.send(200, f.read(), "text/html; charset=utf-8")
        if path in STATIC:
            with open(os.path.join(HERE, path), "rb") as f:
                return self.send(200, f.read(), STATIC[path])
        self.send(404, "not found", "text/plain")

    def do_POST(self):
        path = urlsplit(self.path).path.strip("/")
        if not path.startswith("pay/") or path[4:] not in SHOPS:
            return self.send(404, "{}", "application/json")
        length = int(self.headers.get("Content-Length") or 0)
        try:
            card = json.loads(self.rfile.read(min(length, 65536)))
            status, answer = self.charge(SHOPS[path[4:]], card)
        except (ValueError, KeyError, TypeError):
            status, answer = 400, {"error": {"message": "The card details are incomplete."}}
        self.send(status, json.dumps(answer), "application/json")

    def charge(self, shop, card):
        """The shop's server to its acquirer: the card, once, with a key of its own."""
        order_id = "S-" + secrets.token_hex(4).upper()
        body = {
            "amount": shop["amount"], "currency": "krw", "capture": True,
            "card_number": str(card["number"]), "card_expiry": str(card["expiry"]),
            "card_cvc": str(card["cvc"]), "order_id": order_id,
            "merchant": {k: shop[k] for k in ("id", "name", "category", "city")},
        }
        request = urllib.request.Request(self.bank.rstrip("/") + "/v1/acquirer/payments",
                                         data=json.dumps(body).encode(), method="POST")
        request.add_header("Authorization", "Bearer " + self.acquirer_key)
        request.add_header("Content-Type", "application/json")
        request.add_header("Idempotency-Key", order_id)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payment = json.load(response)
                return 200, {"approved": True, "order_id": order_id,
                             "auth_code": payment.get("auth_code"),
                             "amount": payment["amount"], "card_last4": payment["card_last4"]}
        except urllib.error.HTTPError as error:
            detail = json.load(error).get("error", {})
            code = detail.get("decline_code")
            return (402 if error.code == 402 else 400,
                    {"approved": False, "decline_code": code,
                     "message": MESSAGES.get(code, detail.get("message", "Declined."))})


def main():
    parser = argparse.ArgumentParser(description="Demo shops that take cards through onepin-bank")
    parser.add_argument("--bank", required=True)
    parser.add_argument("--acquirer-key-file", required=True)
    parser.add_argument("--listen", default="127.0.0.1:8083")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    with open(args.acquirer_key_file) as f:
        Handler.acquirer_key = f.read().strip()
    Handler.bank = args.bank
    server = ThreadingHTTPServer((host, int(port)), Handler)
    print(f"listening on http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
