"""A shopper's carts as random sequences of what shoppers do, against a plain dictionary model.

One person at a browser adds, updates and removes lines on the cart pages, views the cart, logs in (their guest cart
merges into the one they saved) and out; their other device changes the saved cart through the API; a stranger
tries to; stock changes; time passes (every Redis key of the carts ages, so carts expire as they would). The model
says, per cart token, its owner, its lines and how long it has left, which cart the browser's session holds and which
the shopper has saved. After every step what Redis holds is compared with it (read without refreshing anything), and
the shopper's saved cart is asked of the cart's service; the rules that read a cart (the page, the API, the service)
compare what they are shown too."""

from __future__ import annotations

import json

import hypothesis.strategies as st
import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django_redis import get_redis_connection
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from cart import services
from inventory import services as inventory_services
from tests.factories import make_product

PASSWORD = "pw-for-tests-only"
UNKNOWN = "NO-SUCH-SKU"
DAY = 24 * 3600
SLACK = 3600  # a cart's TTL as Redis reports it may lag the model by the seconds the run takes; an hour covers it
STOCK = [5, 2, 0]  # the three variants' units at the start of each example (the last one sold out)


def cart_key(token: str) -> str:
    return f"cart:t:{token}"  # the key layout documented in cart/redis_store.py


class Carts(RuleBasedStateMachine):
    skus: list[str] = []  # set by the test: the variants of one product
    user_id: int = 0
    username: str = ""

    # ---------------------------------------------------------------- model
    @initialize(earlier=st.none() | st.dictionaries(st.sampled_from([0, 1]), st.integers(min_value=1, max_value=2)))
    def start(self, earlier):
        """A guest at a browser; the shopper may have saved a cart on an earlier visit (``earlier``: its lines)."""
        redis = get_redis_connection("default")
        for key in [*redis.scan_iter("cart:t:*"), *redis.scan_iter("cart:user:*")]:
            redis.delete(key)
        for sku, units in zip(self.skus, STOCK, strict=True):
            inventory_services.stock_set(sku=sku, on_hand=units, reason="cart machine")
        self.redis = redis
        self.available = dict(zip(self.skus, STOCK, strict=True))
        self.carts: dict[str, dict] = {}  # token -> {"owner": user id or None, "lines": {sku: n}, "left": seconds}
        self.dead: set[str] = set()  # tokens of carts that expired or were merged away
        self.saved: str | None = None  # the token the shopper's account points to
        self.browser = Client()
        self.session_token: str | None = None
        self.logged_in = False
        self.device = Client()  # the shopper's other device, signed in (not through the log-in form: no merge)
        self.device.force_login(self._user())
        self.stranger = Client()
        if earlier is not None:
            self.created(services.cart_create(user_id=self.user_id).token, self.user_id)
            for index, quantity in earlier.items():
                services.cart_add(token=self.saved, sku=self.skus[index], quantity=quantity, user_id=self.user_id)
                self.carts[self.saved]["lines"][self.skus[index]] = quantity

    def _user(self):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.get(pk=self.user_id)

    @property
    def uid(self) -> int | None:
        return self.user_id if self.logged_in else None

    def alive(self, token: str | None) -> bool:
        return token is not None and token in self.carts

    def usable(self, token: str | None, uid: int | None) -> bool:
        """The cart exists and is a guest's or this shopper's (anyone else's reads as missing)."""
        return self.alive(token) and self.carts[token]["owner"] in (None, uid)

    def touch(self, token: str) -> None:
        self.carts[token]["left"] = services.OWNED_TTL if self.carts[token]["owner"] else services.GUEST_TTL

    def created(self, token: str, owner: int | None) -> None:
        """A cart the service made (its token is random: the model learns it from where the app put it)."""
        assert token not in self.carts and token not in self.dead, token
        self.carts[token] = {"owner": owner, "lines": {}, "left": 0}
        self.touch(token)
        if owner:
            self.saved = token

    def saved_alive(self) -> str | None:
        return self.saved if self.alive(self.saved) else None

    def write(self, token: str, sku: str, quantity: int, *, mode: str) -> str | None:
        """The service's answer to adding (mode "add") or setting a line of a cart that is usable: the error's code,
        or None when the line changed (and the model with it)."""
        lines = self.carts[token]["lines"]
        if quantity and sku == UNKNOWN:
            self.touch(token)  # the cart is read first: a missing cart is the first thing to report
            return "unknown_sku"
        current = lines.get(sku, 0)
        new = current + quantity if mode == "add" else quantity
        if new > services.MAX_QUANTITY:
            return "invalid_quantity"
        if new > current and new > self.available.get(sku, 0):
            return "insufficient_stock"
        if new:
            lines[sku] = new
        else:
            lines.pop(sku, None)
        self.touch(token)
        return None

    def page_token(self, *, create: bool) -> str | None:
        """cart.views.current_token: the session's cart, else (signed in) the saved one, else a new one if asked."""
        token = self.session_token
        if token is None and self.logged_in:
            token = self.saved_alive()
        return token

    def after_request(self, *, may_create: bool = False, owner: int | None = None) -> None:
        """Learn a cart the request made from the session it put it in."""
        token = self.browser.session.get(services.SESSION_KEY)
        if may_create and token is not None and token not in self.carts:
            self.created(token, owner)
        self.session_token = token

    def visit(self, method: str, path: str, data=None):
        """The browser's request; ``self.said`` is what it told the shopper, then read as a page shows them (so the
        next request starts with none)."""
        response = getattr(self.browser, method)(path, data)
        self.said = [str(m) for m in get_messages(response.wsgi_request)]
        self.browser.cookies.pop("messages", None)
        return response

    # ---------------------------------------------------------------- the browser: pages
    @rule(sku=st.sampled_from([0, 1, 2, UNKNOWN]), quantity=st.sampled_from([1, 1, 2, 3, 0, 99, 100]))
    def page_add(self, sku, quantity):
        sku = self.skus[sku] if isinstance(sku, int) else sku
        response = self.visit("post", "/cart/add/", {"sku": sku, "quantity": str(quantity)})
        assert response.status_code == 302
        if not 1 <= quantity <= services.MAX_QUANTITY:  # the form refuses it before any cart is looked at
            assert self.browser.session.get(services.SESSION_KEY) == self.session_token
            return
        token = self.page_token(create=True)
        if not self.usable(token, self.uid):  # none yet, or expired: the page starts a fresh one
            token = self.session_token = None
            token = self.page_token(create=True)
        if token is None:
            self.after_request(may_create=True, owner=self.uid)
            token = self.session_token
        else:
            self.after_request()
            assert self.session_token == token
        error = self.write(token, sku, quantity, mode="add")
        if error is None:
            assert response["Location"] == "/cart/"
            assert self.said[-1].startswith(f"Added {quantity} × ")

    @rule(sku=st.sampled_from([0, 1, 2, UNKNOWN]), quantity=st.sampled_from([0, 1, 2, 4, 6]), remove=st.booleans())
    def page_change(self, sku, quantity, remove):
        """The cart page's quantity box (0 removes the line) or its remove button."""
        sku = self.skus[sku] if isinstance(sku, int) else sku
        if remove:
            response = self.visit("post", "/cart/remove/", {"sku": sku})
        else:
            response = self.visit("post", "/cart/update/", {"sku": sku, "quantity": str(quantity)})
        assert response.status_code == 302 and response["Location"] == "/cart/"
        token = self.page_token(create=False)
        self.after_request()
        assert self.session_token == token
        if not self.usable(token, self.uid):
            assert "No such cart" in " ".join(self.said)
            return
        error = self.write(token, sku, 0 if remove else quantity, mode="set")
        if error is not None:
            assert self.said, error  # told why, nothing changed

    @rule()
    def page_view(self):
        """The cart page shows the session's cart (or the saved one, signed in); a cart gone is forgotten."""
        response = self.visit("get", "/cart/")
        assert response.status_code == 200
        token = self.page_token(create=False)
        shown = response.context["cart"]
        if not self.usable(token, self.uid):
            assert shown is None
            assert self.browser.session.get(services.SESSION_KEY) is None
            self.session_token = None
            return
        self.after_request()
        assert self.session_token == token
        self.touch(token)
        assert {line.sku: line.quantity for line in shown.lines} == self.carts[token]["lines"]

    @precondition(lambda self: not self.logged_in)
    @rule()
    def log_in(self):
        """The log-in form: the guest cart in the session is folded into the saved one (or becomes it)."""
        guest = self.session_token
        user_token = self.saved_alive()
        response = self.visit("post", "/account/login/", {"username": self.username, "password": PASSWORD,
                                                          "next": "/cart/"})
        assert response.status_code == 302 and response["Location"] == "/cart/"
        self.logged_in = True
        notes: list[str] = []
        if not self.usable(guest, self.user_id) or guest == user_token:
            if user_token is None:
                self.after_request(may_create=True, owner=self.user_id)
                return self.check_notes(notes)
            token = user_token
        elif user_token is None:  # the guest cart becomes the shopper's own
            token = guest
            self.carts[token]["owner"] = self.user_id
            self.touch(token)
            self.saved = token
        else:
            token = user_token
            mine, theirs = self.carts[token]["lines"], self.carts.pop(guest)["lines"]
            self.dead.add(guest)
            moved = 0
            for sku in sorted(theirs):
                cap = min(services.MAX_QUANTITY, max(self.available.get(sku, 0), 0))
                have = mine.get(sku, 0)
                new = min(have + theirs[sku], cap)
                added = new - have if new > have else 0
                if added:
                    mine[sku] = new
                moved += added
                if added < theirs[sku]:
                    notes.append(f": only {added} of your {theirs[sku]} could be added (availability).")
            if moved:
                notes.insert(0, f"We added {moved} item{'s' if moved != 1 else ''} from your earlier visit to "
                                "your cart.")
            self.touch(token)
        self.after_request()
        assert self.session_token == token
        self.check_notes(notes)

    def check_notes(self, notes):
        said = self.said
        assert len(said) == len(notes), (said, notes)
        for message, note in zip(said, notes, strict=True):
            assert message.endswith(note) if note.startswith(":") else message == note

    @precondition(lambda self: self.logged_in)
    @rule()
    def log_out(self):
        response = self.visit("post", "/account/logout/")
        assert response.status_code == 302
        self.logged_in = False
        self.session_token = None  # the session is flushed; the saved cart stays for the next log-in
        assert self.browser.session.get(services.SESSION_KEY) is None

    # ---------------------------------------------------------------- the other device, a stranger: the API
    @precondition(lambda self: self.saved_alive() is not None)
    @rule(sku=st.sampled_from([0, 1, 2, UNKNOWN]), quantity=st.sampled_from([1, 2, 0, 100]))
    def device_adds(self, sku, quantity):
        sku = self.skus[sku] if isinstance(sku, int) else sku
        token = self.saved
        had = sku in self.carts[token]["lines"]
        response = self.device.post(f"/api/v1/carts/{token}/lines/", json.dumps({"sku": sku, "quantity": quantity}),
                                    content_type="application/json")
        if not 1 <= quantity <= services.MAX_QUANTITY:
            assert response.status_code == 400 and response.json()["code"] == "invalid_quantity"
            return
        error = self.write(token, sku, quantity, mode="add")
        if error is None:
            assert response.status_code == (200 if had else 201)
            assert {line["sku"]: line["quantity"] for line in response.json()["lines"]} == \
                self.carts[token]["lines"]
        else:
            assert (response.status_code, response.json()["code"]) == (
                {"unknown_sku": 404, "invalid_quantity": 400, "insufficient_stock": 409}[error], error)

    @precondition(lambda self: self.saved_alive() is not None)
    @rule(sku=st.sampled_from([0, 1, 2]), quantity=st.integers(min_value=0, max_value=3))
    def service_sets(self, sku, quantity):
        """cart_set_quantity on the saved cart, as its owner (0 removes the line)."""
        sku, token = self.skus[sku], self.saved
        error = self.write(token, sku, quantity, mode="set")
        if error is None:
            change = services.cart_set_quantity(token=token, sku=sku, quantity=quantity, user_id=self.user_id)
            assert {line.sku: line.quantity for line in change.cart.lines} == self.carts[token]["lines"]
        else:
            with pytest.raises(services.InsufficientStock):
                services.cart_set_quantity(token=token, sku=sku, quantity=quantity, user_id=self.user_id)

    @precondition(lambda self: self.saved_alive() is not None)
    @rule()
    def service_reads(self):
        """The owner reads the saved cart through the service (with availability as it is now); a stranger with its
        token reads nothing of it through the API and changes nothing (another shopper's cart is a missing one)."""
        token = self.saved
        assert self.stranger.get(f"/api/v1/carts/{token}/").status_code == 404
        response = self.stranger.post(f"/api/v1/carts/{token}/lines/",
                                      json.dumps({"sku": self.skus[0], "quantity": 1}),
                                      content_type="application/json")
        assert response.status_code == 404 and response.json()["code"] == "cart_not_found"
        cart = services.cart_get(token=token, user_id=self.user_id)
        self.touch(token)
        assert cart.owner_id == self.user_id
        assert {line.sku: line.quantity for line in cart.lines} == self.carts[token]["lines"]
        assert all(line.available == max(self.available[line.sku], 0) for line in cart.lines)

    # ---------------------------------------------------------------- the world
    @rule(sku=st.sampled_from([0, 1, 2]), units=st.integers(min_value=0, max_value=4))
    def stock_changes(self, sku, units):
        inventory_services.stock_set(sku=self.skus[sku], on_hand=units, reason="stock count")
        self.available[self.skus[sku]] = units

    @rule(days=st.sampled_from([1, 6, 8, 16, 31]))
    def time_passes(self, days):
        """Every cart key ages by ``days``: one whose time is up is gone, as its TTL would have it."""
        seconds = days * DAY
        for key in [*self.redis.scan_iter("cart:t:*"), *self.redis.scan_iter("cart:user:*")]:
            ttl = self.redis.ttl(key)
            if 0 < ttl <= seconds:
                self.redis.delete(key)
            elif ttl > seconds:
                self.redis.expire(key, ttl - seconds)
        for token in list(self.carts):
            self.carts[token]["left"] -= seconds
            if self.carts[token]["left"] <= 0:
                del self.carts[token]
                self.dead.add(token)

    # ---------------------------------------------------------------- after every step
    @invariant()
    def redis_holds_the_model(self):
        """Every live cart holds exactly its lines and owner, and expires when the model says; every cart the model
        says is gone is gone, and there is no other; the account points to its saved cart while that lives; the
        browser's session names the cart the model says."""
        for token, cart in self.carts.items():
            stored = {key.decode(): value.decode() for key, value in self.redis.hgetall(cart_key(token)).items()}
            assert stored, f"cart {token} is gone: {cart}"
            lines = {field[2:]: int(value.partition(":")[0]) for field, value in stored.items()
                     if field.startswith("l:")}
            assert (stored["owner"], lines) == (str(cart["owner"] or ""), cart["lines"]), token
            assert cart["left"] - SLACK <= self.redis.ttl(cart_key(token)) <= cart["left"], token
        assert {key.decode()[len("cart:t:"):] for key in self.redis.scan_iter("cart:t:*")} == set(self.carts)
        assert all(self.redis.ttl(key) > 0 for key in self.redis.scan_iter("cart:user:*"))  # nothing lives forever
        assert services.cart_for_user(user_id=self.user_id) == self.saved_alive()
        assert self.browser.session.get(services.SESSION_KEY) == self.session_token


@pytest.mark.django_db(transaction=True)
def test_carts_match_a_dictionary_model(django_user_model, _unlimited_and_quick):
    spec = make_product(name="Camp Stool", stock=STOCK)
    user = django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    Carts.skus = [variant.sku for variant in spec.variants]
    Carts.user_id, Carts.username = user.pk, "ada"
    run_state_machine_as_test(Carts, settings=settings(
        max_examples=30, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))


@pytest.fixture
def _unlimited_and_quick(settings):
    settings.RATE_LIMITS = {}  # the machine makes hundreds of requests from one client
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # it logs in dozens of times
