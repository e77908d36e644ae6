"""tests.cart.test_api, run again on a real Redis Cluster (tests/cluster/conftest.py)."""

from tests.cart.test_api import *  # noqa: F403
