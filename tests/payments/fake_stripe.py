"""A small local fake of the Stripe API, for the real `stripe` SDK to talk HTTP to (STRIPE_API_BASE).

It checks what the SDK really sends (Bearer key, Idempotency-Key, Stripe-Version, form encoding), keeps
idempotent answers like Stripe does (the same key returns the first answer; other params are an error), and
knows a few payment methods:
    pm_card_visa              succeeds
    pm_card_chargeDeclined    is declined (402 card_error)
    pm_card_lost_answer       succeeds, but the first answer is lost (the connection drops without a response)
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


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
                  "status": "succeeded", "last_payment_error": None}
        if pm == "pm_card_chargeDeclined":
            intent["status"] = "requires_payment_method"
            error = {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                     "message": "Your card was declined.", "payment_intent": intent}
            intent["last_payment_error"] = {k: v for k, v in error.items() if k != "payment_intent"}
            self.intents[intent["id"]] = intent
            return 402, {"error": error}
        self.intents[intent["id"]] = intent
        return 200, intent

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

            def do_POST(self):
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
                else:
                    return self._reply(404, {"error": {"type": "invalid_request_error", "message": "unknown"}})
                fake.idempotent[key] = (params, status, body)
                if params.get("payment_method") == "pm_card_lost_answer" and key not in fake.lost_once:
                    fake.lost_once.add(key)
                    self.close_connection = True  # the charge happened; its answer never arrives
                    return None
                return self._reply(status, body)

        return Handler
