"""tests.orders.test_queue, run again on a real Redis Cluster (tests/cluster/conftest.py)."""

from tests.orders.test_queue import *  # noqa: F403
