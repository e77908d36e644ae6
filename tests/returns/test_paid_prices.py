"""A return refunds what the shopper paid for the units (issue 17: "unit price paid"), now that orders carry promo
discounts and tax (issue 22): a line's share of the discount comes off, its tax goes back when it was added on top.
It refunded the catalogue price: half the goods of a half-price order took back all the money paid."""

from decimal import Decimal

import pytest

from orders.models import Order, PromoCode
from returns import services
from returns.types import ReturnRequest
from shipping import services as shipping_services
from shipping.models import TaxRate
from tests.orders.helpers import body, cart_with, checkout
from tests.returns.helpers import refunded

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATE_LIMITS = {}


def bought(client, quantity, **extra):
    token, sku = cart_with(quantity, stock=5, price="10.00")
    answer = checkout(client, body(token, **extra))
    assert answer.status_code == 201, answer.content
    return answer.json(), sku


def returned_and_refunded(order, sku, units):
    ret = services.return_request(order_number=order["number"], token=order["access_token"],
                                  request=ReturnRequest(lines={sku: units}, reason="other")).number
    services.return_approve(number=ret)
    services.return_receive(number=ret)
    return services.return_refund(number=ret)


def test_a_discounted_unit_refunds_its_discounted_price(client):
    PromoCode.objects.create(code="HALF", kind="percent", value=Decimal("50"))
    order, sku = bought(client, 2, promo_code="HALF")
    assert (order["discount"], order["total"]) == ("10.00", "10.00")
    first = returned_and_refunded(order, sku, 1)
    assert first.refund_amount == Decimal("5.00") and first.lines[0].unit_price == Decimal("5.00")
    assert Order.objects.get(number=order["number"]).status == "partially_refunded"
    assert returned_and_refunded(order, sku, 1).refund_amount == Decimal("5.00")
    assert refunded(order["number"]) == Decimal("10.00")


def test_tax_added_on_top_goes_back_with_the_unit(client):
    TaxRate.objects.create(country="GB", name="VAT", rate=Decimal("20"))
    shipping_services.shipping_invalidate()
    order, sku = bought(client, 2)
    assert (order["tax"], order["total"]) == ("4.00", "24.00")
    assert returned_and_refunded(order, sku, 1).refund_amount == Decimal("12.00")
    assert returned_and_refunded(order, sku, 1).refund_amount == Decimal("12.00")
    assert refunded(order["number"]) == Decimal("24.00")


def test_tax_held_in_the_prices_is_not_added_again(client):
    TaxRate.objects.create(country="GB", name="VAT", rate=Decimal("20"), prices_include_tax=True)
    shipping_services.shipping_invalidate()
    order, sku = bought(client, 2)
    assert order["total"] == "20.00"
    assert returned_and_refunded(order, sku, 2).refund_amount == Decimal("20.00")


def test_in_a_currency_without_decimals_the_refund_is_whole_units_and_recorded_as_sent(client, settings,
                                                                                        stripe_api):
    """10% of 999 yen is 99.90: the refund was 899.10 yen, which Stripe was sent as 899 while 899.10 was recorded
    (the order's money left to refund drifting from Stripe's). The fee is taken to the whole yen."""
    settings.STORE_CURRENCY = "JPY"
    settings.RETURN_RESTOCKING_FEES = {"changed_mind": Decimal("10")}
    token, sku = cart_with(1, stock=5, price="999.00")
    answer = checkout(client, body(token, payment={"method": "stripe", "payment_method": "pm_card_visa"}))
    assert answer.status_code == 201, answer.content
    order = answer.json()
    ret = services.return_request(order_number=order["number"], token=order["access_token"],
                                  request=ReturnRequest(lines={sku: 1}, reason="changed_mind")).number
    services.return_approve(number=ret)
    services.return_receive(number=ret)
    done = services.return_refund(number=ret)
    sent = [r for r in stripe_api.requests if r["path"] == "/v1/refunds"]
    assert len(sent) == 1 and sent[0]["params"]["amount"] == "899"
    assert (done.refund_amount, done.fee) == (Decimal("899.00"), Decimal("100.00"))
    assert refunded(order["number"]) == Decimal("899.00")


def test_every_unit_of_a_line_returned_refunds_exactly_what_the_line_cost(client):
    """25.00 paid for three units is not 8.33 each: one at a time or all at once, the three refunds add up to the
    25.00 paid (a unit price rounded once and multiplied gave back 24.99, or 12.00 of 11.99 below)."""
    PromoCode.objects.create(code="FIVE", kind="amount", value=Decimal("5.00"))
    order, sku = bought(client, 3, promo_code="FIVE")
    assert order["total"] == "25.00"
    singles = [returned_and_refunded(order, sku, 1).refund_amount for _ in range(3)]
    assert sum(singles) == Decimal("25.00") and set(singles) <= {Decimal("8.33"), Decimal("8.34")}
    assert refunded(order["number"]) == Decimal("25.00")
    order, sku = bought(client, 3, promo_code="FIVE")
    assert returned_and_refunded(order, sku, 3).refund_amount == Decimal("25.00")


def test_the_tax_of_a_whole_line_returned_is_the_tax_it_took(client):
    shipping_services.shipping_seed_defaults()  # (standard: 4.95, its VAT 0.99: more is left on the order)
    TaxRate.objects.create(country="GB", name="VAT", rate=Decimal("20"))
    shipping_services.shipping_invalidate()
    token, sku = cart_with(3, stock=5, price="3.33")
    order = checkout(client, body(token)).json()
    assert (order["subtotal"], order["tax"], order["total"]) == ("9.99", "2.99", "17.93")  # 2.00 on the line
    assert returned_and_refunded(order, sku, 3).refund_amount == Decimal("11.99")
