#!/usr/bin/env python3
# affiliated_mall.py: a demo mall affiliated with onepin (claims 1 and 7).
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Its server holds the merchant key; the browser never sees it. A purchase
# opens a checkout session at the gateway (POST /v1/checkout_sessions). The
# checkout page carries the purchase for the onepin browser extension
# (<script type="application/json" id="onepin-checkout">) and offers
# "Pay with onepin" (the wallet) or the hosted payment page. The gateway's
# signed webhook, checked here, marks the order paid; the order page also
# asks the gateway (GET /v1/checkout_sessions/{id}).
#
#   affiliated_mall.py --gateway http://127.0.0.1:8080 --key-file mall.key \
#                      --webhook-secret-file mall.whsec [--listen 127.0.0.1:8082]
#
# The key files hold the merchant's secret key (sk_...) and webhook secret
# (whsec_...), as POST /v1/admin/merchants returned them. It prints
# "listening on http://HOST:PORT" once it serves. Its webhook endpoint is
# its own URL, on this machine: the gateway takes it only with [webhooks]
# allow_private=true (.ci/demo sets it).

import argparse
import hashlib
import hmac
import html
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SIGNATURE_TOLERANCE = 300
PRODUCTS = {
    "tea": ("제주 녹차 Jeju green tea, 100 g", 4000),
    "cup": ("Celadon tea cup", 9000),
    "kettle": ("Cast-iron kettle", 35000),
}
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
          "form-action 'self' {gateway}; "
          "frame-ancestors 'none'; base-uri 'none'")
STYLE = """body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem;border-bottom:1px solid #ccc;text-align:left}
button,.button{display:inline-block;margin:.5rem .5rem 0 0;padding:.6rem 1rem;font-size:1rem}
.onepin{background:#1a5fb4;color:#fff;border:0;border-radius:6px;text-decoration:none}
.paid{color:#26a269;font-weight:700}.waiting{color:#c64600;font-weight:700}"""


class Mall:
    """Orders in memory, the gateway over HTTP."""

    def __init__(self, gateway, key, webhook_secret, own_url):
        self.gateway = gateway.rstrip("/")
        self.key = key
        self.webhook_secret = webhook_secret
        self.own_url = own_url
        self.lock = threading.Lock()
        self.orders = {}            # order id -> dict
        self.events_seen = set()
        self.merchant = None

    def call(self, method, path, body=None, key=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.gateway + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self.key)
        request.add_header("Content-Type", "application/json")
        if key:
            request.add_header("Idempotency-Key", key)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def register_webhook(self):
        status, answer = self.call("POST", "/v1/webhook_endpoint",
                                   {"url": self.own_url + "/webhooks/onepin"})
        if status != 200:
            raise SystemExit(f"cannot set the webhook endpoint: {answer} (one on this "
                             "machine needs the gateway's [webhooks] allow_private=true)")

    def open_order(self, product, quantity):
        name, price = PRODUCTS[product]
        order_id = "D-" + secrets.token_hex(4).upper()
        body = {
            "order_id": order_id, "amount": price * quantity, "currency": "krw",
            "items": [{"name": name, "quantity": quantity, "amount": price}],
            "success_url": f"{self.own_url}/orders/{order_id}?session={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{self.own_url}/",
            "expires_in": 1800,
        }
        # The order id is the idempotency key: a double click opens one session.
        status, session = self.call("POST", "/v1/checkout_sessions", body, key=order_id)
        if status != 200:
            return None
        with self.lock:
            self.orders[order_id] = {"session": session, "paid": False, "events": []}
        return self.orders[order_id]

    def refresh(self, order_id):
        """Asks the gateway, as a mall would before shipping."""
        order = self.orders.get(order_id)
        if order is None:
            return None
        status, session = self.call("GET", "/v1/checkout_sessions/" + order["session"]["id"])
        if status == 200:
            with self.lock:
                order["session"] = session
                order["paid"] = order["paid"] or session["status"] == "complete"
        return order

    def verify(self, header, body):
        """Onepin-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, t "." body)>."""
        fields = {}
        for part in (header or "").split(","):
            name, _, value = part.strip().partition("=")
            fields.setdefault(name, []).append(value)
        try:
            timestamp = int(fields["t"][0])
        except (KeyError, ValueError):
            return False
        if abs(time.time() - timestamp) > SIGNATURE_TOLERANCE:
            return False
        expected = hmac.new(self.webhook_secret.encode(), f"{timestamp}.".encode() + body,
                            hashlib.sha256).hexdigest()
        return any(hmac.compare_digest(expected, v) for v in fields.get("v1", []))

    def take_event(self, event):
        with self.lock:
            if event["id"] in self.events_seen:
                return
            self.events_seen.add(event["id"])
            obj = event.get("data", {}).get("object", {})
            order_id = obj.get("order_id")
            order = self.orders.get(order_id)
            if order is None:
                return
            order["events"].append(event["type"])
            if event["type"] == "checkout.session.completed":
                order["session"] = obj
                order["paid"] = True


# "Pay with onepin" is the wallet extension's: it takes the click first
# (capturing, preventDefault). A click it did not take means there is no
# extension here, which the shopper is told, with the hosted page beside.
CHECKOUT_JS = """'use strict';
document.getElementById('onepin-pay').addEventListener('click', (event) => {
  if (!event.defaultPrevented)
    document.getElementById('onepin-missing').hidden = false;
});
"""


def page(title, body, gateway):
    return (f"<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{html.escape(title)}</title><link rel=\"stylesheet\" href=\"/style.css\">"
            f"</head><body><h1>Onepin Tea House</h1>{body}</body></html>")


def script_json(value):
    """JSON that stays inside its <script> element."""
    return (json.dumps(value, ensure_ascii=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def won(amount):
    return f"{amount:,}원"


class Handler(BaseHTTPRequestHandler):
    mall = None
    server_version = "onepin-demo-mall/1"

    def log_message(self, format, *args):
        sys.stderr.write("mall: " + (format % args) + "\n")

    def send(self, status, body, content_type="text/html; charset=utf-8", location=None):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", POLICY.format(gateway=self.mall.gateway))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/":
            return self.shop()
        if url.path == "/style.css":
            return self.send(200, STYLE, "text/css; charset=utf-8")
        if url.path == "/checkout.js":
            return self.send(200, CHECKOUT_JS, "text/javascript; charset=utf-8")
        if url.path.startswith("/orders/") and url.path.endswith(".json"):
            order = self.mall.refresh(url.path[len("/orders/"):-len(".json")])
            if order is None:
                return self.send(404, "{}", "application/json")
            return self.send(200, json.dumps({"paid": order["paid"], "events": order["events"],
                                              "status": order["session"]["status"]}),
                             "application/json")
        if url.path.startswith("/orders/"):
            return self.order(url.path[len("/orders/"):])
        self.send(404, page("Not found", "<p>Not found.</p>", self.mall.gateway))

    def do_POST(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20))
        if url.path == "/checkout":
            return self.checkout(parse_qs(body.decode(errors="replace")))
        if url.path == "/webhooks/onepin":
            if not self.mall.verify(self.headers.get("Onepin-Signature"), body):
                return self.send(400, "{\"error\":\"bad signature\"}", "application/json")
            self.mall.take_event(json.loads(body))
            return self.send(200, "{}", "application/json")
        self.send(404, "{}", "application/json")

    def shop(self):
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{won(price)}</td><td>"
            f"<form method=\"post\" action=\"/checkout\"><input type=\"hidden\" name=\"product\" "
            f"value=\"{key}\"><input type=\"number\" name=\"quantity\" value=\"1\" min=\"1\" "
            f"max=\"9\" aria-label=\"quantity\"><button type=\"submit\">Buy</button></form>"
            f"</td></tr>" for key, (name, price) in PRODUCTS.items())
        self.send(200, page("Onepin Tea House", f"<table>{rows}</table>", self.mall.gateway))

    def checkout(self, form):
        product = (form.get("product") or [""])[0]
        try:
            quantity = int((form.get("quantity") or ["1"])[0])
        except ValueError:
            quantity = 0
        if product not in PRODUCTS or not 1 <= quantity <= 9:
            return self.send(400, page("Bad order", "<p>No such product.</p>", self.mall.gateway))
        order = self.mall.open_order(product, quantity)
        if order is None:
            return self.send(502, page("Unavailable", "<p>Payment is unavailable.</p>",
                                       self.mall.gateway))
        session = order["session"]
        # What the onepin extension forwards to the wallet: no secret in it.
        purchase = {
            "checkout_session": session["id"], "merchant": session["merchant"],
            "merchant_name": "Onepin Tea House", "order_id": session["order_id"],
            "amount": session["amount"], "currency": session["currency"],
            "items": session["items"], "gateway": self.mall.gateway,
        }
        items = "".join(f"<tr><td>{html.escape(i['name'])}</td><td>{i['quantity']}</td>"
                        f"<td>{won(i['amount'] * i['quantity'])}</td></tr>"
                        for i in session["items"])
        body = (f"<h2>Order {html.escape(session['order_id'])}</h2><table>{items}</table>"
                f"<p>Total <strong>{won(session['amount'])}</strong></p>"
                f"<script type=\"application/json\" id=\"onepin-checkout\">"
                f"{script_json(purchase)}</script>"
                f"<button type=\"button\" class=\"onepin\" id=\"onepin-pay\" "
                f"data-onepin-checkout=\"{html.escape(session['id'])}\">Pay with onepin</button>"
                f"<a class=\"button\" href=\"{html.escape(session['url'])}\">"
                f"Pay with a onepin card number</a>"
                f"<p id=\"onepin-missing\" role=\"status\" hidden>\"Pay with onepin\" needs the "
                f"onepin wallet extension in this browser (see README.md, \"Shopping with the "
                f"representative card\"). Without it, use \"Pay with a onepin card number\": "
                f"onepin's own payment page takes a card number and its password.</p>"
                f"<script src=\"/checkout.js\"></script>"
                f"<p><a href=\"/orders/{html.escape(session['order_id'])}\">Order status</a></p>")
        self.send(200, page("Checkout", body, self.mall.gateway))

    def order(self, order_id):
        order = self.mall.refresh(order_id)
        if order is None:
            return self.send(404, page("Not found", "<p>No such order.</p>", self.mall.gateway))
        state = ("<p class=\"paid\" id=\"order-state\">Paid</p>" if order["paid"] else
                 "<p class=\"waiting\" id=\"order-state\">Waiting for payment</p>")
        events = "".join(f"<li>{html.escape(e)}</li>" for e in order["events"])
        self.send(200, page("Order", f"<h2>Order {html.escape(order_id)}</h2>{state}"
                                     f"<h3>Webhooks received</h3><ul id=\"events\">{events}</ul>",
                            self.mall.gateway))


def main():
    parser = argparse.ArgumentParser(description="A demo mall affiliated with onepin")
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--webhook-secret-file", required=True)
    parser.add_argument("--listen", default="127.0.0.1:8082")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    with open(args.key_file) as f:
        key = f.read().strip()
    with open(args.webhook_secret_file) as f:
        secret = f.read().strip()
    server = ThreadingHTTPServer((host, int(port)), Handler)
    own_url = f"http://{host}:{server.server_address[1]}"
    Handler.mall = Mall(args.gateway, key, secret, own_url)
    Handler.mall.register_webhook()
    print(f"listening on {own_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
