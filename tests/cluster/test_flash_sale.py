"""tests.inventory.test_flash_sale, run again on a real Redis Cluster (tests/cluster/conftest.py)."""

from tests.inventory.test_flash_sale import *  # noqa: F403
