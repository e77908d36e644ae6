"""Product views: counted per visitor with a session, buffered in the web process and handed to Redis in batches,
then learned by Celery into co-view lists that lead "Similar items"."""

from importlib import import_module

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client
from django_redis import get_redis_connection

from recommendations import services
from recommendations.models import CoViewCount
from tests.recommendations.helpers import products

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_buffer():
    """Views other tests' page loads left in this process's buffer would reach Redis at the first flush here, after
    the suite's own cleaning: they are sent now and dropped with every view pending in Redis."""
    services.product_views_flush()
    redis = get_redis_connection("default")
    stale = list(redis.scan_iter(match=caches["default"].make_key("recs:views:*")))
    if stale:
        redis.delete(*stale)


def visitor(name: str) -> Client:
    """A visitor with a session (a shopper who has put something in a cart, say)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session["name"] = name
    session.save()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client


def test_views_of_visitors_become_co_views_that_lead_similar_items():
    a, b, c = products(3)
    for n in range(2):
        shopper = visitor(f"visitor-{n}")
        for slug in (a, b, b):  # b reloaded: one view of it
            assert shopper.get(f"/p/{slug}/").status_code == 200
    visitor("visitor-9").get(f"/p/{c}/")
    services.product_views_flush()  # (what a second's wait or a full batch sends)
    assert services.views_learn() == 7
    assert CoViewCount.objects.get(product_slug=a, other_slug=b).views == 2
    assert not CoViewCount.objects.filter(product_slug=a, other_slug=c).exists()
    first = Client().get(f"/api/v1/products/{a}/recommendations/?kind=similar").json()["results"][0]
    assert (first["slug"], first["reason"]) == (b, "Shoppers who viewed this also viewed it")
    assert services.views_learn() == 0  # nothing twice


def test_a_visitor_without_a_session_is_not_counted():
    a = products(1)[0]
    Client().get(f"/p/{a}/")
    assert services.product_views_flush() == 0


def test_views_wait_in_the_process_until_a_batch_is_full(monkeypatch):
    monkeypatch.setattr(services, "VIEW_BATCH", 3)
    monkeypatch.setattr(services, "VIEW_FLUSH_SECONDS", 3600)
    a = products(1)[0]
    shopper = visitor("batch")
    redis = get_redis_connection("default")
    pending = services._views_key("pending")
    shopper.get(f"/p/{a}/")
    shopper.get(f"/p/{a}/")
    assert not redis.exists(pending)
    shopper.get(f"/p/{a}/")
    assert redis.scard(pending) == 1


def test_the_rebuild_keeps_the_co_view_lists():
    a, b = products(2)
    for n in range(2):
        shopper = visitor(f"v{n}")
        shopper.get(f"/p/{a}/")
        shopper.get(f"/p/{b}/")
    services.product_views_flush()
    services.views_learn()
    services.recommendations_rebuild()
    from recommendations import selectors

    assert selectors.lists([f"viewed:{a}"])[f"viewed:{a}"][0][0] == b
