"""The replica router's rules that need no replica (the real pair: test_replicas.py): which errors say a server is
gone, where reads go outside a browsing request, and the page cache's "changed lately" markers."""

import json

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, IntegrityError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import RequestFactory
from django_redis import get_redis_connection

from catalog.models import Product
from orders.models import Order
from store.core import cache, replicas


def _django_error(cls, cause=None):
    error = cls("boom")
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(("error", "gone"), [
    (_django_error(OperationalError, psycopg.errors.AdminShutdown("terminating connection")), True),
    (_django_error(OperationalError, psycopg.errors.CannotConnectNow("starting up")), True),
    (_django_error(OperationalError, psycopg.OperationalError("connection refused")), True),  # no SQLSTATE
    (_django_error(InterfaceError, psycopg.InterfaceError("connection already closed")), True),
    (_django_error(OperationalError, psycopg.errors.DeadlockDetected("deadlock")), False),
    (_django_error(OperationalError, psycopg.errors.QueryCanceled("statement timeout")), False),
    (_django_error(IntegrityError, psycopg.errors.UniqueViolation("duplicate")), False),
    (ValueError("not a database error"), False),
])
def test_only_errors_that_say_the_server_is_gone_count_as_an_outage(error, gone):
    # a deadlock or a timeout on a server that answers is a failure like any other, never a 503 "come back later"
    assert replicas.unreachable(error) is gone


def test_without_replicas_every_read_and_write_is_the_primarys(settings):
    settings.DATABASE_REPLICAS = []
    router = replicas.ReplicaRouter()
    for model in (Product, Order):
        assert router.db_for_read(model) == router.db_for_write(model) == DEFAULT_DB_ALIAS
    assert router.allow_migrate("replica1", "catalog") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "catalog") is None


def test_outside_a_browsing_request_the_catalogue_is_read_on_the_primary(settings):
    settings.DATABASE_REPLICAS = ["replica1"]  # named, never reached: nothing here may ask it
    assert replicas.ReplicaRouter().db_for_read(Product) == DEFAULT_DB_ALIAS  # a task, a command, the shell


def test_a_write_sets_the_signed_cookie_and_a_read_does_not(settings):
    settings.DATABASE_REPLICAS = ["replica1"]
    middleware = replicas.ReplicaMiddleware(lambda request: HttpResponse("ok"))
    factory = RequestFactory()
    wrote = middleware(factory.post("/api/v1/carts/"))
    assert replicas.COOKIE in wrote.cookies and wrote.cookies[replicas.COOKIE]["httponly"]
    assert replicas.COOKIE not in middleware(factory.get("/admin/")).cookies
    settings.DATABASE_REPLICAS = []
    assert replicas.COOKIE not in middleware(factory.post("/api/v1/carts/")).cookies  # no replicas: no cookie


def test_an_entry_of_a_scope_bumped_lately_is_built_on_the_primary(settings):
    settings.DATABASE_REPLICAS = ["replica1"]
    modes = []

    def build():
        modes.append(replicas._mode.get())
        return len(modes)

    token = replicas._mode.set(replicas.REPLICA)  # as ReplicaMiddleware sets it for a browsing request
    try:
        assert cache.versioned("quiet", ["scope-a"], build, timeout=60) == 1
        cache.bump(["scope-a"])
        ttl = get_redis_connection("default").pttl(cache.cache.make_key("changed:scope-a"))
        assert 0 < ttl <= replicas.fresh_seconds() * 1000
        assert cache.versioned("quiet", ["scope-a"], build, timeout=60) == 2
        assert cache.versioned_many({"many": ("scope-a",)}, lambda keys: {"many": build()}, timeout=60)
    finally:
        replicas._mode.reset(token)
    # before the bump, built where browsing reads (a replica); just after it, from the primary (both ways)
    assert modes == [replicas.REPLICA, replicas.FRESH, replicas.FRESH]


def test_without_replicas_a_bump_leaves_no_marker(settings):
    settings.DATABASE_REPLICAS = []
    cache.bump(["scope-b"])
    assert not get_redis_connection("default").exists(cache.cache.make_key("changed:scope-b"))


def test_what_needs_the_primary_while_it_is_gone_is_told_to_come_back(settings):
    settings.FORCE_SCRIPT_NAME = "/shop"
    api = replicas.unavailable(RequestFactory().post("/api/v1/carts/"))
    assert (api.status_code, api["Retry-After"], api["Cache-Control"]) == (503, "5", "no-store")
    assert json.loads(api.content)["code"] == "unavailable"
    page = replicas.unavailable(RequestFactory().post("/cart/add/"))
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert b'<a href="/shop/">keep browsing</a>' in page.content
