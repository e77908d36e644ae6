"""tests.core.test_limits, run again on a real Redis Cluster (tests/cluster/conftest.py)."""

from tests.core.test_limits import *  # noqa: F403
