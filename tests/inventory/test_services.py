import pytest

from inventory import services
from inventory.types import StockBelowReserved, UnknownSku
from store.core.exceptions import InvalidInput

pytestmark = pytest.mark.django_db


def test_new_skus_start_with_a_receipt_in_the_ledger():
    assert services.stock_levels_ensure(initial_on_hand={"A": 5, "B": 0}) == ["A", "B"]
    assert services.stock_levels_ensure(initial_on_hand={"A": 9}) == []  # idempotent: A keeps its 5
    assert services.stock_levels(sku="A").on_hand == 5
    assert services.stock_invariant_violations() == []


def test_adjust_receive_and_set_keep_levels_equal_to_the_ledger():
    services.stock_levels_ensure(initial_on_hand={"A": 5})
    services.stock_receive(sku="A", quantity=10, reason="delivery")
    services.stock_receive(sku="A", quantity=-3, reason="write-off")
    services.stock_set(sku="A", on_hand=7, reason="count")
    assert services.stock_levels(sku="A").on_hand == 7
    assert services.stock_invariant_violations() == []


def test_on_hand_cannot_go_below_reserved_and_nothing_changes():
    services.stock_levels_ensure(initial_on_hand={"A": 2})
    with pytest.raises(StockBelowReserved):
        services.stock_receive(sku="A", quantity=-3)
    assert services.stock_levels(sku="A").on_hand == 2


def test_unknown_skus_and_negative_starts_are_refused():
    with pytest.raises(UnknownSku):
        services.stock_levels(sku="NOPE")
    with pytest.raises(UnknownSku):
        services.stock_receive(sku="NOPE", quantity=1)
    with pytest.raises(InvalidInput):
        services.stock_levels_ensure(initial_on_hand={"A": -1})


def test_availability_for_many_skus_counts_missing_ones_as_zero():
    services.stock_levels_ensure(initial_on_hand={"A": 4, "B": 0})
    assert services.stock_availability(skus=["A", "B", "C"]) == {"A": 4, "B": 0, "C": 0}
