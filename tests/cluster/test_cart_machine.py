"""tests.cart.test_cart_machine, run again on a real Redis Cluster (tests/cluster/conftest.py)."""

from tests.cart.test_cart_machine import *  # noqa: F403
from tests.cart.test_cart_machine import _unlimited_and_quick  # noqa: F401
