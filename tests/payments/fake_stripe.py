"""A small local fake of the Stripe API, for the real `stripe` SDK to talk HTTP to (STRIPE_API_BASE).

It checks what the SDK really sends (Bearer key, Idempotency-Key, Stripe-Version, form encoding), keeps
idempotent answers like Stripe does (the same key returns the first answer; other params are an error), and
knows a few payment methods:
    pm_card_visa              succeeds
    pm_card_chargeDeclined    is declined (402 card_error)
    pm_card_lost_answer       succeeds, but the first answer is lost (the connection drops without a response)
    pm_card_threeDSecure      needs the shopper's action (3-D Secure): status requires_action until ``decide``
    pm_card_processing        status processing until ``decide``
and Stripe Checkout: sessions (create, retrieve, expire) with a minimal hosted page at ``/pay/<session id>`` whose
Pay button completes the session (sending ``checkout.session.completed`` to ``webhook_url`` when set, signed with
``webhook_secret``) and redirects to the session's success_url; its Cancel link goes to the cancel_url.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

KEY = "sk_test_fake_key_for_tests"
WEBHOOK_SECRET = "whsec_test_secret"


def _nest(pairs) -> dict:
    """Stripe's form encoding (a[b]=c) back into nested dicts."""
    out: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class FakeStripe:
    def __init__(self, api_key: str):
        self.api_key = api_key
        self.requests: list[dict] = []
        self.intents: dict[str, dict] = {}
        self.refunds: list[dict] = []
        self.idempotent: dict[str, tuple[dict, int, dict]] = {}
        self.lost_once: set[str] = set()
        self.sessions: dict[str, dict] = {}
        self.webhook_url = ""
        self.webhook_secret = ""
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ behaviour
    def create_intent(self, params: dict) -> tuple[int, dict]:
        pm = params.get("payment_method", "")
        intent = {"id": f"pi_{secrets.token_hex(8)}", "object": "payment_intent", "amount": int(params["amount"]),
                  "currency": params["currency"], "metadata": params.get("metadata", {}), "payment_method": pm,
                  "status": {"pm_card_threeDSecure": "requires_action",
                             "pm_card_processing": "processing"}.get(pm, "succeeded"),
                  "last_payment_error": None}
        intent["client_secret"] = f"{intent['id']}_secret_{secrets.token_hex(6)}"
        if pm == "pm_card_chargeDeclined":
            intent["status"] = "requires_payment_method"
            error = {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                     "message": "Your card was declined.", "payment_intent": intent}
            intent["last_payment_error"] = {k: v for k, v in error.items() if k != "payment_intent"}
            self.intents[intent["id"]] = intent
            return 402, {"error": error}
        self.intents[intent["id"]] = intent
        return 200, intent

    def decide(self, intent_id: str, status: str) -> dict:
        """Stripe decides an intent that was waiting (the shopper passed 3-D Secure, the bank answered)."""
        self.intents[intent_id]["status"] = status
        return self.intents[intent_id]

    def search_intents(self, query: str) -> tuple[int, dict]:
        found = re.fullmatch(r"metadata\['(\w+)'\]:'([^']*)'", query or "")
        if not found:
            return 400, {"error": {"type": "invalid_request_error", "message": "this fake searches metadata only"}}
        field, value = found.groups()
        data = [i for i in self.intents.values() if (i.get("metadata") or {}).get(field) == value]
        return 200, {"object": "search_result", "data": data, "has_more": False, "url": "/v1/payment_intents/search"}

    def cancel_intent(self, intent_id: str) -> tuple[int, dict]:
        intent = self.intents.get(intent_id)
        if intent is None:
            return 404, {"error": {"type": "invalid_request_error", "message": "No such payment_intent"}}
        if intent["status"] not in ("requires_payment_method", "requires_action", "requires_confirmation"):
            return 400, {"error": {"type": "invalid_request_error", "code": "payment_intent_unexpected_state",
                                   "message": f"You cannot cancel this PaymentIntent: it is {intent['status']}."}}
        intent["status"] = "canceled"
        return 200, intent

    def create_session(self, params: dict) -> tuple[int, dict]:
        item = params["line_items"]["0"]
        sid = f"cs_test_{secrets.token_hex(12)}"
        session = {"id": sid, "object": "checkout.session", "mode": params["mode"], "status": "open",
                   "payment_status": "unpaid", "amount_total": int(item["price_data"]["unit_amount"]),
                   "currency": item["price_data"]["currency"], "client_reference_id": params.get("client_reference_id"),
                   "customer_email": params.get("customer_email"), "metadata": params.get("metadata", {}),
                   "payment_intent": None, "success_url": params["success_url"], "cancel_url": params["cancel_url"],
                   "expires_at": int(params["expires_at"]), "url": f"{self.url}/pay/{sid}",
                   "intent_metadata": (params.get("payment_intent_data") or {}).get("metadata", {})}
        self.sessions[sid] = session
        return 200, self._public(session)

    @staticmethod
    def _public(session: dict) -> dict:
        return {k: v for k, v in session.items() if k != "intent_metadata"}

    def expire_session(self, sid: str) -> tuple[int, dict]:
        with self.lock:
            session = self.sessions.get(sid)
            if session is None:
                return 404, {"error": {"type": "invalid_request_error", "message": "No such checkout.session"}}
            if session["status"] != "open":
                return 400, {"error": {"type": "invalid_request_error",
                                       "message": f"This Checkout Session is {session['status']}."}}
            session["status"] = "expired"
            return 200, self._public(session)

    def pay_session(self, sid: str) -> dict | None:
        """The shopper pays on the hosted page: an intent succeeds, the session completes, the webhook is sent."""
        with self.lock:
            session = self.sessions.get(sid)
            if session is None or session["status"] != "open":
                return None
            intent = {"id": f"pi_{secrets.token_hex(8)}", "object": "payment_intent",
                      "amount": session["amount_total"], "currency": session["currency"],
                      "metadata": session["intent_metadata"], "payment_method": "pm_card_visa",
                      "status": "succeeded", "last_payment_error": None}
            self.intents[intent["id"]] = intent
            session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
        self.send_event("checkout.session.completed", self._public(session))
        return session

    def send_event(self, kind: str, obj: dict) -> None:
        if not self.webhook_url:
            return
        payload = json.dumps({"id": f"evt_{secrets.token_hex(8)}", "object": "event", "type": kind,
                              "data": {"object": obj}})
        stamp = int(time.time())
        signature = hmac.new(self.webhook_secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
        request = urllib.request.Request(  # noqa: S310 (the test's own local server)
            self.webhook_url, data=payload.encode(), method="POST",
            headers={"Content-Type": "application/json", "Stripe-Signature": f"t={stamp},v1={signature}"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def create_refund(self, params: dict) -> tuple[int, dict]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None:
            return 404, {"error": {"type": "invalid_request_error", "message": "No such payment_intent"}}
        refund = {"id": f"re_{secrets.token_hex(8)}", "object": "refund", "amount": int(params["amount"]),
                  "payment_intent": intent["id"], "status": "succeeded"}
        self.refunds.append(refund)
        return 200, refund

    # ------------------------------------------------------------ HTTP
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, body: dict):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
                self.end_headers()
                self.wfile.write(raw)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    self._reply(401, {"error": {"type": "invalid_request_error", "message": "bad key"}})
                    return False
                return True

            def _page(self, status: int, text: str, location: str = ""):
                raw = text.encode()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                parts = urlsplit(self.path)
                path, query = parts.path, dict(parse_qsl(parts.query))
                if path.startswith("/pay/"):  # the hosted payment page, as a shopper's browser sees it
                    session = fake.sessions.get(path.removeprefix("/pay/"))
                    if session is None or session["status"] != "open":
                        return self._page(404, "<h1>This payment page has expired.</h1>")
                    return self._page(200, (
                        f"<!doctype html><title>Pay</title><h1>Pay {session['amount_total']} "
                        f"{html.escape(session['currency'].upper())}</h1><form method=post>"
                        f"<button type=submit>Pay</button></form>"
                        f"<a href=\"{html.escape(session['cancel_url'])}\">Cancel</a>"))
                fake.requests.append({"path": path, "method": "GET", "headers": dict(self.headers), "params": query})
                if not self._authorised():
                    return None
                if path == "/v1/payment_intents/search":
                    return self._reply(*fake.search_intents(query.get("query", "")))
                if path.startswith("/v1/payment_intents/") and path.count("/") == 3:
                    intent = fake.intents.get(path.rsplit("/", 1)[1])
                    return self._reply(200, intent) if intent else self._reply(
                        404, {"error": {"type": "invalid_request_error", "message": "No such payment_intent"}})
                if path.startswith("/v1/checkout/sessions/") and path.count("/") == 4:
                    session = fake.sessions.get(path.rsplit("/", 1)[1])
                    return self._reply(200, fake._public(session)) if session else self._reply(
                        404, {"error": {"type": "invalid_request_error", "message": "No such checkout.session"}})
                return self._reply(404, {"error": {"type": "invalid_request_error", "message": "unknown"}})

            def do_POST(self):
                if self.path.startswith("/pay/"):  # the shopper presses Pay
                    session = fake.pay_session(self.path.removeprefix("/pay/"))
                    if session is None:
                        return self._page(404, "<h1>This payment page has expired.</h1>")
                    return self._page(303, "", location=session["success_url"])
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(length).decode()
                params = _nest(parse_qsl(form, keep_blank_values=True))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "params": params})
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    return self._reply(401, {"error": {"type": "invalid_request_error", "message": "bad key"}})
                if not self.headers.get("Stripe-Version") or "x-www-form-urlencoded" not in (
                        self.headers.get("Content-Type") or ""):
                    return self._reply(400, {"error": {"type": "invalid_request_error", "message": "bad request"}})
                key = self.headers.get("Idempotency-Key")
                if not key:
                    return self._reply(400, {"error": {"type": "invalid_request_error",
                                                       "message": "this fake wants an Idempotency-Key"}})
                if key in fake.idempotent:
                    first_params, status, body = fake.idempotent[key]
                    if first_params != params:
                        return self._reply(400, {"error": {"type": "idempotency_error",
                                                           "message": "Keys for idempotent requests can only be "
                                                                      "used with the same parameters"}})
                    return self._reply(status, body)
                if self.path == "/v1/payment_intents":
                    status, body = fake.create_intent(params)
                elif self.path == "/v1/refunds":
                    status, body = fake.create_refund(params)
                elif self.path == "/v1/checkout/sessions":
                    status, body = fake.create_session(params)
                elif re.fullmatch(r"/v1/checkout/sessions/\w+/expire", self.path):
                    status, body = fake.expire_session(self.path.split("/")[4])
                elif re.fullmatch(r"/v1/payment_intents/\w+/cancel", self.path):
                    status, body = fake.cancel_intent(self.path.split("/")[3])
                else:
                    return self._reply(404, {"error": {"type": "invalid_request_error", "message": "unknown"}})
                fake.idempotent[key] = (params, status, body)
                if params.get("payment_method") == "pm_card_lost_answer" and key not in fake.lost_once:
                    fake.lost_once.add(key)
                    self.close_connection = True  # the charge happened; its answer never arrives
                    return None
                return self._reply(status, body)

        return Handler
