from datetime import timedelta

import pytest
from django.utils import timezone

from inventory import services
from inventory.models import Reservation
from inventory.types import (
    InsufficientStock,
    InvalidQuantity,
    ReservationConflict,
    ReservationLine,
    ReservationReleased,
    UnknownReservation,
    UnknownSku,
)
from store.core.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock():
    services.stock_levels_ensure(initial_on_hand={"A": 5, "B": 2, "C": 0})


def levels(sku):
    got = services.stock_levels(sku=sku)
    return got.on_hand, got.reserved, got.available


def test_reserve_holds_units_of_every_line(stock):
    result = services.stock_reserve(reference="R1", lines={"A": 2, "B": 1})
    assert result.changed and result.state == "active"
    assert result.lines == (ReservationLine("A", 2), ReservationLine("B", 1))
    assert levels("A") == (5, 2, 3) and levels("B") == (2, 1, 1)
    assert services.stock_invariant_violations() == []


def test_reserve_is_all_or_nothing_and_names_the_short_sku(stock):
    with pytest.raises(InsufficientStock) as err:
        services.stock_reserve(reference="R1", lines={"A": 1, "B": 3})
    assert err.value.extra == {"sku": "B", "available": 2, "requested": 3}
    assert levels("A") == (5, 0, 5) and levels("B") == (2, 0, 2)
    assert not Reservation.objects.exists()


@pytest.mark.parametrize("lines", [{"A": 0}, {"A": -1}, {"A": 1.5}, {"A": "2"}, {"A": True}, {}])
def test_bad_quantities_are_refused(stock, lines):
    with pytest.raises(InvalidQuantity):
        services.stock_reserve(reference="R1", lines=lines)


def test_unknown_sku_is_refused_and_nothing_is_held(stock):
    with pytest.raises(UnknownSku):
        services.stock_reserve(reference="R1", lines={"A": 1, "NOPE": 1})
    assert levels("A") == (5, 0, 5)


def test_the_same_reservation_twice_is_one_reservation(stock):
    services.stock_reserve(reference="R1", lines=[ReservationLine("A", 1), ReservationLine("A", 1)])
    again = services.stock_reserve(reference="R1", lines={"A": 2})
    assert not again.changed
    assert levels("A") == (5, 2, 3)
    with pytest.raises(ReservationConflict):
        services.stock_reserve(reference="R1", lines={"A": 3})


def test_commit_takes_the_units_off_the_shelf_once(stock):
    services.stock_reserve(reference="R1", lines={"A": 2})
    assert services.stock_commit(reference="R1").changed
    assert levels("A") == (3, 0, 3)
    assert not services.stock_commit(reference="R1").changed
    assert not services.stock_release(reference="R1").changed  # release after commit: a no-op
    assert levels("A") == (3, 0, 3)
    assert services.stock_invariant_violations() == []


def test_release_returns_the_units_once_and_commit_after_release_is_refused(stock):
    services.stock_reserve(reference="R1", lines={"A": 2})
    assert services.stock_release(reference="R1").state == "released"
    assert not services.stock_release(reference="R1").changed
    with pytest.raises(ReservationReleased):
        services.stock_commit(reference="R1")
    assert levels("A") == (5, 0, 5)
    with pytest.raises(UnknownReservation):
        services.stock_release(reference="NEVER")


def test_on_hand_cannot_be_written_off_below_what_is_reserved(stock):
    services.stock_reserve(reference="R1", lines={"A": 4})
    with pytest.raises(services.StockBelowReserved):
        services.stock_receive(sku="A", quantity=-2)
    assert levels("A") == (5, 4, 1)


def test_a_return_goes_back_on_the_shelf_with_its_reference(stock):
    services.stock_reserve(reference="R1", lines={"A": 2})
    services.stock_commit(reference="R1")
    services.stock_return(sku="A", quantity=1, reference="R1", reason="customer return")
    assert levels("A") == (4, 0, 4)
    assert services.stock_invariant_violations() == []


def test_expired_reservations_are_released_and_announced_through_the_outbox(stock):
    services.stock_reserve(reference="OLD", lines={"A": 1, "B": 1}, ttl=timedelta(minutes=-1))
    services.stock_reserve(reference="NEW", lines={"A": 1})
    assert services.reservations_release_expired() == ["OLD"]
    assert levels("A") == (5, 1, 4) and levels("B") == (2, 0, 2)
    message = OutboxMessage.objects.get(topic="reservation.expired")
    assert message.payload == {"reference": "OLD", "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}]}
    assert services.reservations_release_expired() == []  # nothing twice


def test_a_committed_reservation_never_expires(stock):
    services.stock_reserve(reference="PAID", lines={"A": 1}, ttl=timedelta(seconds=1))
    services.stock_commit(reference="PAID")
    assert services.reservations_release_expired(now=timezone.now() + timedelta(hours=1)) == []
    assert levels("A") == (4, 0, 4)


def test_check_finds_reserved_that_no_reservation_explains(stock):
    from inventory.models import StockLevel, StockMovement

    StockLevel.objects.filter(sku="A").update(reserved=1)
    StockMovement.objects.create(sku="A", kind="reservation", reserved_delta=1, reference="GHOST")
    problems = services.stock_invariant_violations()
    assert problems == ["A: reserved=1 but live reservations hold 0"]
