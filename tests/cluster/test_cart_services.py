"""tests.cart.test_services, run again on a real Redis Cluster (tests/cluster/conftest.py)."""

from tests.cart.test_services import *  # noqa: F403
