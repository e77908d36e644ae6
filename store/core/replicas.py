"""Read replicas: which database each read goes to, and what the shop does when a database server goes away.

A database router (settings.DATABASE_ROUTERS, Django's documented mechanism) reads the mode ReplicaMiddleware set
for the request:

- ``REPLICA``: a browsing request (GET or HEAD, not the admin, no write by this visitor in the last moments). The
  catalogue's, reviews' and recommendations' reads go to a replica that answers and lags by at most
  REPLICA_MAX_LAG_MS; every other app's reads to the primary.
- ``FRESH``: a browsing request of a visitor who has just written (a signed cookie set by their write), and
  whatever rebuilds a cached entry soon after a change to it (store.core.cache): every read on the primary, so an
  edit never seems to disappear and a page cached at the new versions is never built from a replica that has not
  replayed the change yet.
- ``PRIMARY``: everything else: every write, the admin, Celery tasks, commands, the shell.

Whatever the mode, a read inside a transaction on the primary stays on the primary, and every write goes there.

Servers that fail: a replica that cannot be reached, or lags too far, is left alone for a moment and its reads go to
the primary. When the primary cannot be reached, a browsing request is run again with every read on a replica
(stale by a moment, which beats an error), and whatever needs the primary (a cart write that checks stock, the
checkout, the admin, signing in) answers 503 with Retry-After and a page that says so; each process tries the primary
again every DOWN_S, so everything resumes, without a restart, when it is back.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
import sys
import threading
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.templatetags.static import static
from django.utils.html import escape

logger = logging.getLogger(__name__)

REPLICA_APPS = frozenset({"catalog", "reviews", "recommendations"})  # what browsing reads; none of it is money
PRIMARY, FRESH, REPLICA = "primary", "fresh", "replica"
CHECK_S = 0.25  # a replica's lag, once read, is trusted this long by this process
DOWN_S = 1.0  # a server that failed is left alone this long before it is tried again
RETRY_AFTER_S = 5
COOKIE, SALT = "store_wrote", "store.core.replicas"
ADMIN_PREFIX = "/admin/"
# Milliseconds the replica is behind: 0 when it has replayed all it has received (or is not a standby any more);
# else the age of the last transaction it replayed, an upper bound (a replica that stopped hearing from its primary
# also reads 0, which is what browsing during an outage of the primary needs).
LAG_SQL = """SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000, 1e9) END"""

_mode: contextvars.ContextVar[str] = contextvars.ContextVar("store_reads", default=PRIMARY)


def fresh_seconds() -> float:
    """How long after a write its writer's reads, and rebuilds of what it changed, stay on the primary: longer than a
    usable replica can be behind (REPLICA_MAX_LAG_MS, as last read, CHECK_S ago at most), with a second to spare."""
    return settings.REPLICA_MAX_LAG_MS / 1000 + CHECK_S + 1


class _Servers:
    """What this process knows of the servers: when each was last found unreachable, each replica's last lag."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_until: dict[str, float] = {}
        self._lag: dict[str, tuple[float, float]] = {}  # replica -> (its lag in ms, when read)
        self._checking: set[str] = set()
        self._turn = itertools.count()

    def down(self, alias: str) -> bool:
        return time.monotonic() < self._down_until.get(alias, 0.0)

    def mark_down(self, alias: str) -> None:
        self._down_until[alias] = time.monotonic() + DOWN_S
        self._lag.pop(alias, None)

    def mark_up(self, alias: str) -> None:
        self._down_until.pop(alias, None)

    def replica(self, *, any_lag: bool = False) -> str | None:
        """A replica to read from (in turn), or None: none answers within the lag bound. ``any_lag``: whatever its
        lag (the primary is down, so there is nothing fresher to read)."""
        aliases = settings.DATABASE_REPLICAS
        bound = float("inf") if any_lag else settings.REPLICA_MAX_LAG_MS
        start = next(self._turn) % len(aliases)
        for alias in aliases[start:] + aliases[:start]:
            lag = self._lag_of(alias)
            if lag is not None and lag <= bound:
                return alias
        return None

    def _lag_of(self, alias: str) -> float | None:
        """The replica's lag as last read (read again if CHECK_S old), None if it does not answer."""
        if self.down(alias):
            return None
        lag, read_at = self._lag.get(alias, (float("inf"), -CHECK_S))
        if time.monotonic() - read_at < CHECK_S:
            return lag
        with self._lock:  # one thread reads the lag; the others go on with the last reading meanwhile
            if alias in self._checking:
                return lag
            self._checking.add(alias)
        try:
            return self._check(alias)
        finally:
            with self._lock:
                self._checking.discard(alias)

    def _check(self, alias: str) -> float | None:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute(LAG_SQL)
                lag_ms = float(cursor.fetchone()[0])
        except Exception:  # any failure to answer: read the primary instead, for a while
            logger.warning("replica %s does not answer; reading the primary for %g s", alias, DOWN_S, exc_info=True)
            self.mark_down(alias)
            _close(alias)
            return None
        if lag_ms > settings.REPLICA_MAX_LAG_MS:
            logger.info("replica %s is %.0f ms behind; reading the primary", alias, lag_ms)
        self._lag[alias] = (lag_ms, time.monotonic())
        return lag_ms


servers = _Servers()


def _close(alias: str) -> None:
    with contextlib.suppress(Exception):  # a connection that broke may fail to close too
        connections[alias].close()


class ReplicaRouter:
    """settings.DATABASE_ROUTERS: reads by the request's mode (above); writes and migrations on the primary."""

    def db_for_read(self, model, **hints):
        mode = _mode.get()
        if mode == PRIMARY or not settings.DATABASE_REPLICAS:
            return DEFAULT_DB_ALIAS
        primary_down = servers.down(DEFAULT_DB_ALIAS)
        if not primary_down and (mode == FRESH or model._meta.app_label not in REPLICA_APPS
                                 or connections[DEFAULT_DB_ALIAS].in_atomic_block):
            return DEFAULT_DB_ALIAS
        return servers.replica(any_lag=primary_down) or DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS  # also for a row read from a replica: it is saved where it lives

    def allow_relation(self, obj1, obj2, **hints):
        return True  # a replica holds the primary's rows: one database, read in two places

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return None if db == DEFAULT_DB_ALIAS else False


@contextlib.contextmanager
def fresh_reads(needed: bool = True):
    """Reads inside go to the primary (unless it is down) where they would have gone to a replica: for what is
    built from data changed a moment ago and kept (a cached page), which a replica may not have replayed yet."""
    if not needed or _mode.get() != REPLICA:
        yield
        return
    token = _mode.set(FRESH)
    try:
        yield
    finally:
        _mode.reset(token)


def _browsing(request) -> bool:
    return request.method in ("GET", "HEAD") and not request.path_info.startswith(ADMIN_PREFIX)


def _wrote_lately(request) -> bool:
    return request.get_signed_cookie(COOKIE, default=None, salt=SALT, max_age=fresh_seconds()) is not None


def unreachable(exc: BaseException | None) -> bool:
    """Whether ``exc`` says a database server cannot be reached (gone, shutting down, starting, the connection cut),
    as opposed to a statement failing on a server that answers."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    # None: the client's own failure to connect or to keep the connection; 08: connection exceptions; 57P01-03:
    # the server is shutting down (fast or crash) or not yet accepting connections
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in {"57P01", "57P02", "57P03"}


class ReplicaMiddleware:
    """Sets the request's read mode; after a write, the cookie that keeps its writer's reads on the primary; and when
    a server fails under a request, runs a browsing request again elsewhere or answers 503 (see the module's doc)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        replicas = bool(settings.DATABASE_REPLICAS)
        mode = PRIMARY
        if replicas and _browsing(request):
            mode = FRESH if _wrote_lately(request) else REPLICA
        elif replicas and request.path_info.startswith(ADMIN_PREFIX) and servers.down(DEFAULT_DB_ALIAS):
            return unavailable(request)  # staff get the page at once (its sign-in form would only fail)
        token = _mode.set(mode)
        try:
            response = self.get_response(request)
        finally:
            _mode.reset(token)
        primary = connections[DEFAULT_DB_ALIAS]
        if servers.down(DEFAULT_DB_ALIAS) and primary.connection is not None and not primary.errors_occurred:
            servers.mark_up(DEFAULT_DB_ALIAS)  # this request used it: back before its DOWN_S is over
        if replicas and request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            response.set_signed_cookie(COOKIE, "1", salt=SALT, max_age=int(fresh_seconds()) + 1, httponly=True,
                                       samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
        return response

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        failed = [alias for alias in settings.DATABASE_REPLICAS if connections[alias].errors_occurred]
        for alias in failed:  # a replica that broke under a read (it died, or cancelled the read to replay)
            logger.warning("replica %s failed under %s; reading the primary for %g s", alias, request.path, DOWN_S)
            servers.mark_down(alias)
            _close(alias)
        primary_gone = connections[DEFAULT_DB_ALIAS].errors_occurred and unreachable(exception)
        if primary_gone:
            logger.warning("the primary database cannot be reached (%s)", exception)
            servers.mark_down(DEFAULT_DB_ALIAS)
            _close(DEFAULT_DB_ALIAS)
        if not (failed or primary_gone):
            return None  # a statement that failed on a server that answers: an error like any other
        if _browsing(request) and settings.DATABASE_REPLICAS and not getattr(request, "store_read_again", False):
            request.store_read_again = True  # once: a second failure is answered below (server_error)
            token = _mode.set(REPLICA if primary_gone else _mode.get())
            try:
                match = request.resolver_match
                return match.func(request, *match.args, **match.kwargs)
            finally:
                _mode.reset(token)
        return unavailable(request) if primary_gone else None


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport"
content="width=device-width, initial-scale=1"><title>One moment · {name}</title><link rel="stylesheet"
href="{css}"></head><body><main class="container error-page"><h1>We cannot take changes right now</h1>
<p>Part of the shop is out of reach for a moment, so carts, checkout, accounts and orders have to wait. Nothing you
did was lost or charged. Please try again in a few seconds.</p><p>The catalogue is still here:
<a href="{home}">keep browsing</a>.</p></main></body></html>"""


def unavailable(request) -> HttpResponse:
    """503 with Retry-After: what needs the primary while it cannot be reached. A page of its own, rendered without
    the context processors (they may need the database)."""
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"code": "unavailable", "retry_after": RETRY_AFTER_S,
                                 "message": "The shop cannot take changes right now; please try again shortly."},
                                status=503)
    else:
        response = HttpResponse(_PAGE.format(name=escape(settings.STORE_NAME), css=static("css/store.css"),
                                             home=escape(f"{settings.FORCE_SCRIPT_NAME or ''}/")),
                                status=503)
    response["Retry-After"] = str(RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response


def handling_unreachable() -> bool:
    """For the 500 handler: whether the exception being handled says a database server cannot be reached (raised
    outside a view, e.g. saving the session, or by a browsing request run again)."""
    if not unreachable(sys.exc_info()[1]):
        return False
    if connections[DEFAULT_DB_ALIAS].errors_occurred:
        servers.mark_down(DEFAULT_DB_ALIAS)
    return True
