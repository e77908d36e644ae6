"""Shared fixtures: a clean cache per test (real Redis), factories, a staff user."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clean_cache():
    from store.core import nearcache

    cache.clear()
    nearcache.forget_all()  # the flush's invalidation message would say so too, a moment later
    yield
    cache.clear()
    nearcache.forget_all()


@pytest.fixture(autouse=True)
def _steady_rate_limit_windows(monkeypatch):
    """django-ratelimit counts per clock window: a test's few requests must never straddle the end of one (a
    rare, timing-dependent failure otherwise). Its clock stands still for the test; nothing else's does."""
    import types

    import django_ratelimit.core

    now = django_ratelimit.core.time.time()
    monkeypatch.setattr(django_ratelimit.core, "time", types.SimpleNamespace(time=lambda: now))


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (cache invalidation, events) inside a normal test transaction."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client
