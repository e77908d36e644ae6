"""tests.orders.test_checkout_api (the saga, idempotency memos, the cart emptied), run again on a real Redis Cluster."""

from tests.orders.test_checkout_api import *  # noqa: F403
