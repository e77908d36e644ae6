"""Learning from events: an incremental update equals a rebuild, a refund undoes a purchase, and orders are
learned from the outbox's events through the real checkout."""

from decimal import Decimal

import pytest

from orders import services as order_services
from recommendations import selectors, services
from recommendations.models import PairCount, ProductCount, Purchase, RecommendationList
from tests.recommendations.helpers import BAGS, TENTS, learn_baskets, pay_for, products, random_baskets

pytestmark = pytest.mark.django_db


def snapshot():
    slugs = list(ProductCount.objects.values_list("product_slug", flat=True))
    return (dict(RecommendationList.objects.exclude(key__startswith="similar:").values_list("key", "items")),
            selectors.lists([], bought=slugs),
            sorted(ProductCount.objects.values_list("product_slug", "category_slug", "orders")),
            sorted(PairCount.objects.values_list("product_slug", "other_slug", "orders")))


def test_incremental_updates_equal_a_rebuild_through_additions_changes_and_refunds():
    tents, bags = products(5, category=TENTS), products(4, category=BAGS, prefix="Ember Bag")
    categories = {**dict.fromkeys(tents, "tents"), **dict.fromkeys(bags, "sleeping")}
    learn_baskets(random_baskets(tents + bags, 60, seed=3), categories)
    learn_baskets([[]] * 10, categories, start=0)  # the first ten orders refunded in full
    learn_baskets(random_baskets(tents + bags, 10, seed=4), categories, start=10)  # ten others changed
    services.popular_refresh()  # (beat, every minute)
    incremental = snapshot()
    assert incremental[0] and incremental[1] and incremental[3], "the test should have lists and pairs to compare"
    services.recommendations_rebuild()
    assert snapshot() == incremental
    assert RecommendationList.objects.filter(key__startswith="similar:").exists()


def test_learning_an_order_twice_changes_nothing_the_second_time():
    tents = products(2)
    categories = dict.fromkeys(tents, "tents")
    learn_baskets([tents], categories)
    before = snapshot()
    learn_baskets([tents], categories)
    assert snapshot() == before


def test_a_paid_order_is_learned_from_its_event_and_a_full_refund_undoes_it():
    tent, bag, other = products(1)[0], products(1, category=BAGS)[0], products(1)[0]
    first = pay_for(tent, bag)
    pay_for(tent, bag)
    pay_for(other, email="someone@example.com")
    assert Purchase.objects.get(order_number=first).products == sorted([tent, bag])
    together = services.product_sections(slug=tent, category="tents")["bought_together"]
    assert [r.card["slug"] for r in together][:1] == [bag]
    assert together[0].reason == "Customers who bought this also bought it"

    order_services.order_refund(number=first, amount=None)
    from store.core import outbox

    outbox.relay_pending()
    assert Purchase.objects.get(order_number=first).products == []
    assert PairCount.objects.get(product_slug=tent, other_slug=bag).orders == 1  # below the minimum support now
    assert f"bought:{tent}" not in selectors.lists([], bought=[tent])


def test_a_partial_refund_that_takes_units_back_removes_only_those_products():
    tent, bag = products(1)[0], products(1, category=BAGS)[0]
    number = pay_for(tent, bag)
    from tests.recommendations.helpers import sku_of

    order_services.order_refund(number=number, amount=Decimal("5.00"), lines={sku_of(bag): 1}, key="part")
    services.order_learn(number=number)  # what the refund's event does
    assert Purchase.objects.get(order_number=number).products == [tent]


def test_evaluate_on_no_history_reports_zeros_rather_than_failing():
    lines = [m.line() for m in services.recommendations_evaluate()]
    assert lines[0] == "popularity: hit-rate@10=0.000 recall@10=0.000 coverage=0.00"
