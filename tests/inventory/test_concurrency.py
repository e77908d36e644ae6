"""Races on real PostgreSQL connections: real threads, barriers to line them up, no sleeps."""

import random

import pytest
from django.db import OperationalError, connection, transaction

from inventory import services
from inventory.types import InsufficientStock
from tests.concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_buyers_for_ten_units_get_exactly_ten_reservations():
    services.stock_levels_ensure(initial_on_hand={"HOT": 10})
    outcomes = race(50, lambda i: services.stock_reserve(reference=f"order-{i}", lines={"HOT": 1}))
    won = [o for o in outcomes if not isinstance(o, Exception)]
    lost = [o for o in outcomes if isinstance(o, Exception)]
    assert len(won) == 10
    assert all(isinstance(e, InsufficientStock) and e.extra["available"] == 0 for e in lost), lost[:3]
    levels = services.stock_levels(sku="HOT")
    assert (levels.on_hand, levels.reserved) == (10, 10)
    assert services.stock_invariant_violations() == []


def test_multi_line_reservations_in_opposite_orders_never_deadlock():
    skus = [f"S{i}" for i in range(6)]
    services.stock_levels_ensure(initial_on_hand=dict.fromkeys(skus, 15))

    def buy(i):
        rng = random.Random(i)
        chosen = rng.sample(skus, 4)
        if i % 2:
            chosen.reverse()  # the caller's order must not matter
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '20s'")  # a deadlock would surface, not hang
            return services.stock_reserve(reference=f"multi-{i}", lines={sku: rng.randint(1, 3) for sku in chosen})

    outcomes = race(40, buy)
    assert not [o for o in outcomes if isinstance(o, OperationalError)], "deadlock or lock timeout"
    assert all(isinstance(o, InsufficientStock) for o in outcomes if isinstance(o, Exception))
    for result in (o for o in outcomes if not isinstance(o, Exception)):
        assert len(result.lines) == 4  # all lines or none
    assert services.stock_invariant_violations() == []


def test_commit_and_release_racing_for_one_reference_count_once():
    services.stock_levels_ensure(initial_on_hand={"X": 10})
    for i in range(10):
        services.stock_reserve(reference=f"r{i}", lines={"X": 1})

    def act(i):
        reference = f"r{i // 4}"  # four threads per reference: two commit, two release
        if i % 2:
            return services.stock_commit(reference=reference)
        return services.stock_release(reference=reference)

    outcomes = race(40, act)
    assert all(not isinstance(o, Exception) or type(o).__name__ == "ReservationReleased" for o in outcomes)
    levels = services.stock_levels(sku="X")
    committed = sum(1 for i in range(10) if services.reservation_get(reference=f"r{i}").state == "committed")
    assert (levels.on_hand, levels.reserved) == (10 - committed, 0)
    assert services.stock_invariant_violations() == []


def test_expiry_sweeps_running_twice_at_once_release_each_reference_once():
    from datetime import timedelta

    from store.core.models import OutboxMessage

    services.stock_levels_ensure(initial_on_hand={"E": 30})
    for i in range(20):
        services.stock_reserve(reference=f"e{i}", lines={"E": 1}, ttl=timedelta(minutes=-1))
    outcomes = race(4, lambda i: services.reservations_release_expired())
    released = [ref for o in outcomes for ref in o]
    assert sorted(released) == sorted(f"e{i}" for i in range(20))
    assert OutboxMessage.objects.filter(topic="reservation.expired").count() == 20
    assert services.stock_levels(sku="E").reserved == 0
    assert services.stock_invariant_violations() == []


def test_the_same_reservation_from_twenty_threads_holds_the_units_once():
    services.stock_levels_ensure(initial_on_hand={"DUP-A": 5, "DUP-B": 5})
    outcomes = race(20, lambda i: services.stock_reserve(reference="order-1", lines={"DUP-A": 2, "DUP-B": 1}))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(1 for o in outcomes if o.changed) == 1
    assert (services.stock_levels(sku="DUP-A").reserved, services.stock_levels(sku="DUP-B").reserved) == (2, 1)
    assert services.stock_invariant_violations() == []
