"""What a paid checkout costs PostgreSQL, counted: a count is deterministic where a time is not (bench/checkout.py
measures the time). The budget is today's cost; a change that adds a statement to every checkout must say why."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db(transaction=True)

STATEMENTS = 13  # BEGIN and COMMIT included, as CaptureQueriesContext counts them
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def _paid_checkout_statements(client) -> list[str]:
    warm, _ = cart_with(1, stock=5)
    # Each test starts with an empty Redis; the first checkout rebuilds the flash-sale gate from PostgreSQL, which
    # a running shop does once, not per checkout.
    assert checkout(client, body(warm)).status_code == 201
    token, _ = cart_with(2, stock=5)
    with CaptureQueriesContext(connection) as queries:
        assert checkout(client, body(token)).status_code == 201
    return [" ".join(q["sql"].split()) for q in queries.captured_queries]


def test_a_paid_checkout_stays_within_its_statement_budget(client, settings):
    settings.RATE_LIMITS = {}
    statements = _paid_checkout_statements(client)
    work = [s for s in statements if not s.startswith(TRANSACTION_CONTROL)]
    assert len(statements) <= STATEMENTS, "\n".join(statements)
    assert len(work) <= STATEMENTS - 4, "\n".join(work)  # two transactions: BEGIN and COMMIT each
    assert not any(s.startswith("SAVEPOINT") for s in statements)


def test_the_stock_rows_are_locked_only_at_the_end_of_their_transaction(client, settings):
    """A sale's buyers queue on one SKU's row: whoever holds it must be one statement from its COMMIT (the
    reservation then ties the Idempotency-Key to the order; the payment's stock commit is last)."""
    settings.RATE_LIMITS = {}
    statements = _paid_checkout_statements(client)
    stock = [i for i, s in enumerate(statements) if "inventory_stocklevel" in s and "FOR UPDATE" in s]
    assert len(stock) == 2, "\n".join(statements)  # the reservation, and its commit once paid
    for i in stock:
        commit = statements.index("COMMIT", i)
        assert commit - i <= 2, "\n".join(statements[i:commit + 1])
