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


@pytest.fixture(scope="session", autouse=True)
def _no_tasks_left_queued():
    """Some tests send tasks that no worker here takes (a checkout queued past the in-flight limit), and Redis keeps
    a snapshot between runs: the task queues are emptied before and after the run rather than left to pile up."""
    from store.celery import app

    queues = {app.conf.task_default_queue, *(route["queue"] for route in app.conf.task_routes.values())}

    def purge():
        with app.connection_for_write() as connection:
            for queue in queues:
                connection.default_channel.queue_purge(queue)

    purge()
    yield
    purge()


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


@pytest.fixture
def stripe_api(settings):
    """Stripe configured, talking to a local fake of its API (tests/payments/fake_stripe.py)."""
    from tests.payments.fake_stripe import KEY, WEBHOOK_SECRET, FakeStripe

    with FakeStripe(KEY) as fake:
        settings.STRIPE_SECRET_KEY = KEY
        settings.STRIPE_PUBLISHABLE_KEY = "pk_test_fake_key_for_tests"
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        yield fake
