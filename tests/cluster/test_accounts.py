"""tests.accounts.test_views (sign-in folds the guest cart into the saved one), run again on a real Redis Cluster."""

from tests.accounts.test_views import *  # noqa: F403
