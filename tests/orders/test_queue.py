"""Past the in-flight limit checkouts queue: 202 with a poll URL and a place in line, then the final answer of
the checkout itself, in arrival order, still idempotent."""

import pytest

from orders import queue as services
from orders.models import Order
from orders.tasks import checkout_process
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def queueing(settings):
    settings.CHECKOUT_QUEUE_AFTER = 0  # every checkout waits in line
    settings.RATE_LIMITS = {}


def ticket_of(response) -> str:
    return response.json()["poll_url"].rstrip("/").rsplit("/", 1)[1]


def test_a_queued_checkout_answers_202_then_its_final_answer(client, queueing):
    token, _sku = cart_with(1, stock=3)
    response = checkout(client, body(token), key="queued-1")
    assert response.status_code == 202
    assert response.json()["status"] == "queued" and response.json()["position"] == 1
    poll = response.json()["poll_url"]
    assert client.get(poll).status_code == 202
    assert checkout_process.apply(args=[ticket_of(response)]).get() == 201  # the worker's turn
    final = client.get(poll)
    assert final.status_code == 201 and final.json()["status"] == "paid"
    assert Order.objects.count() == 1


def test_queued_checkouts_keep_their_arrival_order_and_keys(client, queueing):
    tickets, first_body = [], None
    for n in range(3):
        token, _ = cart_with(1, stock=3)
        data = body(token, email=f"q{n}@example.com")
        first_body = first_body or data
        response = checkout(client, data, key=f"line-{n}")
        assert response.json()["position"] == n + 1
        tickets.append(ticket_of(response))
    again = checkout(client, first_body, key="line-0")  # the same key again: the same place in line
    assert again.status_code == 202 and ticket_of(again) == tickets[0]
    for ticket in tickets:
        checkout_process.apply(args=[ticket])
    assert checkout_process.apply(args=[tickets[0]]).get() == 201  # run twice (a redelivery): the same answer
    assert Order.objects.count() == 3


def test_an_unknown_ticket_is_a_404(client):
    response = client.get("/api/v1/checkout/queue/nope/")
    assert response.status_code == 404 and response.json()["code"] == "ticket_not_found"


def test_under_the_limit_checkouts_run_at_once(client, settings):
    settings.CHECKOUT_QUEUE_AFTER = 5
    token, _ = cart_with()
    assert checkout(client, body(token)).status_code == 201
    assert services.checkout_slot_take() is True  # the slot of the finished checkout was given back
    services.checkout_slot_give()


def test_the_checkout_page_puts_the_shopper_in_line_and_then_shows_the_order(client, queueing):
    import re

    from tests.factories import make_product

    spec = make_product(stock=2)
    client.post("/cart/add/", {"sku": spec.variants[0].sku, "quantity": "1"})
    page = client.get("/checkout/").content.decode()
    data = dict(re.findall(r'name="(idempotency_key|expected_total)" value="([^"]*)"', page))
    data.update({"email": "ada@example.com", "name": "Ada", "line1": "1 Way", "city": "London",
                 "postal_code": "N1 7AA", "country": "GB", "card_number": "4242424242424242"})
    line = client.post("/checkout/", data)["Location"]
    waiting = client.get(line).content.decode()
    assert "You're in line" in waiting and 'http-equiv="refresh"' in waiting
    checkout_process.apply(args=[line.rstrip("/").rsplit("/", 1)[1]])
    assert client.get(line)["Location"].startswith("/orders/")


def test_a_full_line_sheds_load_with_503_and_retry_after(client, queueing, settings):
    settings.CHECKOUT_QUEUE_MAX = 1
    data = body(cart_with()[0])
    first = checkout(client, data, key="first-in-line")
    assert first.status_code == 202
    response = checkout(client, body(cart_with()[0]), key="one-too-many")
    assert response.status_code == 503 and response.json()["code"] == "overloaded"
    assert int(response["Retry-After"]) > 0
    assert checkout(client, data, key="first-in-line").status_code == 202  # already in line
    assert checkout(client, dict(data, email="other@example.com"), key="first-in-line").status_code == 422
    # Another anonymous client (another cart) with the same key is another key: shed like any newcomer.
    assert checkout(client, body(cart_with()[0]), key="first-in-line").status_code == 503


def test_a_queued_checkout_refused_at_the_gate_shows_its_refusal_when_polled(client, queueing):
    from inventory import services as inventory_services

    token, sku = cart_with(1, stock=1)
    inventory_services.flash_sale_start(sku=sku)
    inventory_services.gate_admit(lines={sku: 1})  # another shopper holds the last token
    response = checkout(client, body(token), key="too-late")
    checkout_process.apply(args=[ticket_of(response)])
    final = client.get(response.json()["poll_url"])
    assert final.status_code == 409 and final.json()["code"] == "insufficient_stock"
    assert Order.objects.count() == 0
