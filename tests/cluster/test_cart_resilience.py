"""tests.cart.test_resilience, run again on a real Redis Cluster (tests/cluster/conftest.py)."""

from tests.cart.test_resilience import *  # noqa: F403
