"""Random sequences of every inventory operation; after each step the invariants hold and the ledger adds up."""

import contextlib
from datetime import timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from inventory import services
from store.core.exceptions import ApplicationError

SKUS = ["P", "Q", "R"]
REFERENCES = [f"ref-{i}" for i in range(6)]


@pytest.mark.django_db
def test_inventory_state_machine(django_db_blocker):
    class Inventory(RuleBasedStateMachine):
        @initialize()
        def start(self):
            from inventory.models import Reservation, StockLevel, StockMovement

            Reservation.objects.all().delete()
            StockMovement.objects.all().delete()
            StockLevel.objects.all().delete()
            services.stock_levels_ensure(initial_on_hand=dict.fromkeys(SKUS, 3))
            self.shipped = dict.fromkeys(SKUS, 0)

        @rule(reference=st.sampled_from(REFERENCES),
              lines=st.dictionaries(st.sampled_from(SKUS), st.integers(min_value=-1, max_value=4), min_size=1),
              expired=st.booleans())
        def reserve(self, reference, lines, expired):
            with contextlib.suppress(ApplicationError):
                services.stock_reserve(reference=reference, lines=lines,
                                       ttl=timedelta(minutes=-1) if expired else None)

        @rule(reference=st.sampled_from(REFERENCES))
        def commit(self, reference):
            try:
                result = services.stock_commit(reference=reference)
            except ApplicationError:
                return
            if result.changed:
                for line in result.lines:
                    self.shipped[line.sku] += line.quantity

        @rule(reference=st.sampled_from(REFERENCES))
        def release(self, reference):
            with contextlib.suppress(ApplicationError):
                services.stock_release(reference=reference)

        @rule(sku=st.sampled_from(SKUS), quantity=st.integers(min_value=-5, max_value=5))
        def receive(self, sku, quantity):
            with contextlib.suppress(ApplicationError):
                services.stock_receive(sku=sku, quantity=quantity, reason="property test")

        @rule(sku=st.sampled_from(SKUS), on_hand=st.integers(min_value=0, max_value=8))
        def count(self, sku, on_hand):
            with contextlib.suppress(ApplicationError):
                services.stock_set(sku=sku, on_hand=on_hand, reason="stock count")

        @rule()
        def expire(self):
            services.reservations_release_expired()

        @invariant()
        def levels_hold(self):
            assert services.stock_invariant_violations() == []
            for sku in SKUS:
                levels = services.stock_levels(sku=sku)
                assert 0 <= levels.reserved <= levels.on_hand

    Inventory.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                           suppress_health_check=list(HealthCheck))
    Inventory.TestCase().runTest()
