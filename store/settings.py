"""Settings for the store. Everything that differs between machines comes from the environment (docs/api.md)."""

import os
import re
from decimal import Decimal
from email.utils import formataddr
from pathlib import Path

import dj_database_url
import dj_email_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from store import queues

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("STORE_DATA_DIR") or BASE_DIR / ".data")


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")]
# The path the shop is served under ("" = the root): configuration, never the request's SCRIPT_NAME, which a WSGI
# server may take from a header (gunicorn does, from a proxy it trusts) and which every reversed link carries, so
# one request could have put its own prefix into the pages and data every shopper is served from the cache.
FORCE_SCRIPT_NAME = os.environ.get("SCRIPT_NAME", "")

INSTALLED_APPS = [
    "accounts.apps.StoreAdminConfig",  # django.contrib.admin, with the shop's site (sign-in limits, names)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "store.core",
    "inventory",
    "catalog",
    "cart",
    "orders",
    "payments",
    "returns",
    "reviews",
    "recommendations",
    "shipping",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "store.core.loadshed.LoadShedMiddleware",  # the global cap (RATE_LIMITS "global"), before any real work
    "store.core.guard.NulCharacterMiddleware",  # 400 for a NUL character anywhere (PostgreSQL cannot store one)
    # which database a request reads (replicas, read-your-writes), and 503 when the primary is gone
    "store.core.replicas.ReplicaMiddleware",
    "store.core.pagecache.SharedPageMiddleware",  # a stateless visitor's cached page, before the per-visitor work
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "recommendations.middleware.ProductViewMiddleware",  # counts a product view once answered (buffered)
]

ROOT_URLCONF = "store.urls"
WSGI_APPLICATION = "store.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "store.core.context_processors.shop",
                "catalog.context_processors.categories",
                "cart.context_processors.cart_badge",
            ],
        },
    },
]

# ---------------------------------------------------------------- database: one alias, a schema per app
if not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Run through `make run`, `make test` or manage.py, which start the embedded "
        "PostgreSQL when it is unset."
    )
APP_SCHEMAS = ["accounts", "catalog", "inventory", "orders", "payments", "returns", "reviews", "recommendations",
               "shipping", "core"]
DATABASE_SEARCH_PATH = ", ".join(["public", *APP_SCHEMAS])  # public first: Django's own tables stay there
_db = dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True)
_db["ENGINE"] = "store.db.backends.postgresql"
# search_path: every app schema. random_page_cost: the catalogue lives in memory (or on SSD), where an index's
# random reads cost about what sequential ones do; at the default (4, for spinning disks) the planner scans all
# 100,000 products for a common search word instead of using the search index. The similarity threshold: how close
# a word of the shop's lexicon must be to a typo to be tried in its place (transposed letters, "jakcet" for jacket,
# score 0.27; the best three are tried, and only when the words as typed find almost nothing). synchronous_commit
# on, whatever the server's default: a COMMIT returns only once it is durable, since an order and its payment are
# committed before the money moves, and a crash must not lose them after it has.
_db.setdefault("OPTIONS", {})["options"] = (f"-c search_path={DATABASE_SEARCH_PATH.replace(' ', '')} "
                                            "-c random_page_cost=1.1 -c pg_trgm.similarity_threshold=0.2 "
                                            "-c synchronous_commit=on")
_db["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME") or f"test_{_db['NAME']}"}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------- Redis: cache, sessions, Celery broker
REDIS_URL = os.environ.get("REDIS_URL", "")
# (with REDIS_CLUSTER_URLS, below, REDIS_URL is only Celery's broker: not needed when CELERY_BROKER_URL is set)
if not REDIS_URL and not ((os.environ.get("REDIS_CLUSTER_URLS") or os.environ.get("REDIS_CLUSTER_URL"))
                          and os.environ.get("CELERY_BROKER_URL")):
    raise ImproperlyConfigured("REDIS_URL is not set (make run / make test / manage.py start an embedded Redis)")


# Under pytest (which sets PYTEST_VERSION for itself and for every process its tests start) the suite uses Redis
# databases of its own on whatever server REDIS_URL names, never the shop's (its cache, carts and Celery queues): a
# run cannot flush or purge data it did not create. tests/conftest.py refuses to start if they hold any.
TESTING = "PYTEST_VERSION" in os.environ
TEST_REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15"))  # the tests' cache, carts, gates, limits...
TEST_BROKER_DB = TEST_REDIS_DB - 1  # ...and the tests' Celery queues

# ---------------------------------------------------------------- read replicas (docs/design.md, Read replicas)
# DATABASE_REPLICA_URLS="postgres://…,postgres://…": each a streaming replica of DATABASE_URL, an alias replica1,
# replica2 … The router (store/core/replicas.py) sends the catalogue's, reviews' and recommendations' reads of a
# browsing request (GET, not the admin, not right after this visitor wrote) to a replica that answers and lags by
# at most REPLICA_MAX_LAG_MS; everything else, and every write, goes to the primary. Under pytest a replica is a
# TEST MIRROR of the primary and nothing is routed to it: a test's transaction is invisible to another connection
# (tests/core/test_replicas.py runs the shop against a real primary and replica in processes of their own).
DATABASE_REPLICAS = []
for _number, _url in enumerate(filter(None, (u.strip() for u in os.environ.get("DATABASE_REPLICA_URLS", "").split(
        ","))), 1):
    _replica = dj_database_url.parse(_url, conn_max_age=60, conn_health_checks=True)
    _replica.update(ENGINE=_db["ENGINE"], TEST={"MIRROR": "default"},
                    OPTIONS={**_replica.get("OPTIONS", {}), "options": _db["OPTIONS"]["options"], "connect_timeout": 3})
    DATABASES[f"replica{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica{_number}")
if DATABASE_REPLICAS:
    # a primary that is gone must fail fast (then browsing goes on from a replica), not hang in connect()
    _db["OPTIONS"].setdefault("connect_timeout", 3)
if TESTING:
    DATABASE_REPLICAS = []
DATABASE_ROUTERS = ["store.core.replicas.ReplicaRouter"]
REPLICA_MAX_LAG_MS = int(os.environ.get("REPLICA_MAX_LAG_MS", "1000"))


def _redis_db(url: str, db: int, *, replace: bool = False) -> str:
    """The same server, another logical database (cache 0, Celery 1), unless the URL names one itself and
    ``replace`` is off."""
    if url.startswith("unix://"):
        if "db=" not in url:
            return f"{url}{'&' if '?' in url else '?'}db={db}"
        return re.sub(r"(?<=[?&])db=\d*", f"db={db}", url) if replace else url
    base, _, query = url.partition("?")
    scheme, _, path = base.partition("://")
    server, _, named = path.partition("/")
    if named.strip("/") and not replace:
        return url
    return f"{scheme}://{server}/{db}" + (f"?{query}" if query else "")


CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": _redis_db(REDIS_URL, TEST_REDIS_DB, replace=True) if TESTING else _redis_db(REDIS_URL, 0),
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "store"),
        "TIMEOUT": 3600,
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
            # A cache that cannot be reached is a miss, not an error: pages are built from the database and
            # sessions fall back to it. Carts talk to Redis directly and answer 503 instead.
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
# What may be evicted lives apart from what must not: Redis's maxmemory-policy is per server. "default" (REDIS_URL,
# noeviction) keeps carts, sessions, gates, queues, idempotency memos, rate limits and the cache's version counters;
# CACHE_ALIAS (CACHE_REDIS_URL, maxmemory + allkeys-lru) holds whole pages and catalogue data, which are rebuilt
# when missing. Without CACHE_REDIS_URL the cache falls back to database 2 of REDIS_URL's server (the launcher says
# so), where its memory is not bounded apart from the carts: README, Configuration. Under pytest both are the
# tests' own database (above); tests/core/test_cache_memory.py checks the split on servers of its own.
CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL", "")
CACHE_ALIAS = "evictable"
CACHES[CACHE_ALIAS] = {
    **CACHES["default"],
    "LOCATION": (CACHES["default"]["LOCATION"] if TESTING
                 else _redis_db(CACHE_REDIS_URL, 0) if CACHE_REDIS_URL else _redis_db(REDIS_URL, 2)),
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# ---------------------------------------------------------------- Redis Cluster (docs/design.md, Redis Cluster)
# REDIS_CLUSTER_URLS="redis://10.0.0.1:6379,redis://10.0.0.2:6379" (any of its nodes; one is enough): what REDIS_URL
# kept (carts, sessions, gates, the checkout queue, idempotency memos, rate limits, the cache's version counters)
# lives on a Redis Cluster instead, and the evictable cache too unless CACHE_REDIS_URL names a server of its own.
# Celery keeps its own broker (CELERY_BROKER_URL, else REDIS_URL). Never under pytest: tests/cluster/ starts
# clusters of its own and points the caches at them.
REDIS_CLUSTER_URLS = [url.strip() for url in (os.environ.get("REDIS_CLUSTER_URLS")
                                              or os.environ.get("REDIS_CLUSTER_URL", "")).split(",") if url.strip()]
REDIS_CLUSTER = bool(REDIS_CLUSTER_URLS) and not TESTING
if REDIS_CLUSTER:
    from store.core.redis_cluster import cluster_cache

    CACHES["default"] = cluster_cache(REDIS_CLUSTER_URLS, CACHES["default"])
    if not CACHE_REDIS_URL:
        CACHES[CACHE_ALIAS] = cluster_cache(REDIS_CLUSTER_URLS, CACHES[CACHE_ALIAS])


def _celery_broker(url: str, db: int, *, replace: bool = False) -> str:
    if url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://"):].split("?", 1)[0] + f"?virtual_host={db}"
    return _redis_db(url, db, replace=replace)


CELERY_BROKER_URL = (_celery_broker(REDIS_URL, TEST_BROKER_DB, replace=True) if TESTING  # never a real broker
                     else os.environ.get("CELERY_BROKER_URL") or _celery_broker(REDIS_URL, 1))
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queues named by job (store.queues), so each can have workers, and machines, of its own: every task has a route
# (tests/core/test_queues.py), and the launcher's default worker consumes every queue.
CELERY_TASK_DEFAULT_QUEUE = queues.OUTBOX
CELERY_TASK_ROUTES = {
    "orders.tasks.checkout_process": {"queue": queues.CHECKOUT},
    "store.core.tasks.outbox_deliver": {"queue": queues.OUTBOX},  # by default; by topic below
    "store.core.tasks.outbox_relay": {"queue": queues.OUTBOX},
    "inventory.tasks.release_expired_reservations": {"queue": queues.OUTBOX},
    "recommendations.tasks.*": {"queue": queues.RECOMMENDATIONS},  # the rebuild and the minutely lists
    # its signal tasks, should ELASTICSEARCH_DSL_AUTOSYNC ever be turned on
    "django_elasticsearch_dsl.*": {"queue": queues.SEARCH_INDEX},
}
# The outbox delivers an event's subscribers together, in the transaction that marks it delivered (that is what
# keeps each e-mail to once), so an event goes to one queue: the one of its slowest work. A topic not named here
# goes to `outbox`.
OUTBOX_TOPIC_QUEUES = {
    "account.reset_asked": queues.EMAIL,
    "order.paid": queues.EMAIL,  # the receipt; the recommender also learns the order, a few statements
    "order.cancelled": queues.EMAIL,
    "order.refunded": queues.EMAIL,  # likewise learnt by the recommender
    "order.shipped": queues.EMAIL,
    "return.requested": queues.EMAIL,
    "return.approved": queues.EMAIL,
    "return.rejected": queues.EMAIL,
    "return.refunded": queues.EMAIL,
    "catalog.products_changed": queues.SEARCH_INDEX,
}
CELERY_BEAT_SCHEDULE = {
    "outbox-relay": {"task": "store.core.tasks.outbox_relay", "schedule": 15.0},
    "release-expired-reservations": {"task": "inventory.tasks.release_expired_reservations", "schedule": 60.0},
    "recommendations-rebuild": {"task": "recommendations.tasks.recommendations_rebuild",
                                "schedule": crontab(hour=3, minute=30)},
    "recommendations-popular": {"task": "recommendations.tasks.recommendations_popular", "schedule": 60.0},
    "recommendations-views": {"task": "recommendations.tasks.recommendations_views", "schedule": 60.0},
}

# ---------------------------------------------------------------- auth, i18n, static, media
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/account/login/"
LOGIN_REDIRECT_URL = "/account/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or env_bool("STORE_TESTING", False)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Development and tests serve static files straight from the source folders; `make serve` collects them first.
WHITENOISE_USE_FINDERS = DEBUG or env_bool("STORE_TESTING", False)
WHITENOISE_AUTOREFRESH = WHITENOISE_USE_FINDERS
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or DATA_DIR / "media")
# No CDN in front of the shop by default: product images are served by the app (cached by browsers).
SERVE_MEDIA = env_bool("SERVE_MEDIA", DEBUG)  # production: a web server or CDN serves MEDIA_ROOT, unless asked

# E-mail: files in DATA_DIR/mail unless EMAIL_URL names a server, e.g. smtp://user:pw@host:587/?tls=True or
# smtps://user:pw@host:465 (dj-email-url's format; console:// prints them).
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = DATA_DIR / "mail"
if os.environ.get("EMAIL_URL"):
    globals().update(dj_email_url.parse(os.environ["EMAIL_URL"]))

# ---------------------------------------------------------------- API
REST_FRAMEWORK = {
    # drf-spectacular's, adding the answers every operation can give (store/core/api.py)
    "DEFAULT_SCHEMA_CLASS": "store.core.api.AutoSchema",
    "EXCEPTION_HANDLER": "store.core.api.exception_handler",
    # The browsable API is a developer's aid: served with DEBUG on; production answers JSON without negotiating.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer",
                                 *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else [])],
    "DEFAULT_PARSER_CLASSES": ["store.core.parsers.JSONParser"],  # the API speaks JSON only (DRF's parser)
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "store API",
    "DESCRIPTION": "The JSON API of the store: catalogue, carts, checkout and orders.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served by the app itself: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# ---------------------------------------------------------------- the shop
STORE_NAME = os.environ.get("STORE_NAME", "Northwind Supply")
# Every e-mail the shop sends comes from its own name and address ("Northwind Supply <shop@…>"), never Django's
# webmaster@localhost; errors mailed to ADMINS too. formataddr quotes a name with a comma or a quote in it.
STORE_EMAIL = os.environ.get("STORE_EMAIL", "shop@localhost")
DEFAULT_FROM_EMAIL = SERVER_EMAIL = formataddr((STORE_NAME, STORE_EMAIL))
STORE_CURRENCY = os.environ.get("STORE_CURRENCY", "USD")
CATALOG_PAGE_SIZE = 24
CATALOG_CACHE_SECONDS = int(os.environ.get("CATALOG_CACHE_SECONDS", "600"))
LOW_STOCK_THRESHOLD = 5
RESERVATION_MINUTES = int(os.environ.get("RESERVATION_MINUTES", "15"))  # how long checkout may hold stock unpaid
# Returns: the days a shopper has to ask, from payment (from shipping once the order is shipped), and the restocking
# fee taken off a return's refund per reason, in percent of the goods: RETURN_RESTOCKING_FEES="changed_mind=10".
RETURN_WINDOW_DAYS = int(os.environ.get("RETURN_WINDOW_DAYS", "30"))
# Reviews: words that hold a review for staff before it is shown (whole words, any case; comma-separated in
# the environment), and whether a shopper's first review waits for staff too.
REVIEWS_HELD_WORDS = [w.strip() for w in os.environ.get(
    "REVIEWS_HELD_WORDS", "viagra,casino,crypto,scam,fuck,shit").split(",") if w.strip()]
REVIEWS_HOLD_FIRST_TIME_AUTHORS = os.environ.get("REVIEWS_HOLD_FIRST_TIME_AUTHORS", "0").lower() in {
    "1", "true", "yes", "on"}


def parse_restocking_fees(value: str | None) -> dict[str, Decimal]:
    reasons = ("changed_mind", "damaged", "wrong_item", "not_as_described", "arrived_late", "other")
    fees = {}
    for part in filter(None, (piece.strip() for piece in (value or "").split(","))):
        reason, _, percent = (piece.strip() for piece in part.partition("="))
        if reason not in reasons or not re.fullmatch(r"\d{1,2}(\.\d{1,2})?|100", percent):
            raise ImproperlyConfigured(f"RETURN_RESTOCKING_FEES: {part!r} is not REASON=PERCENT (0 to 100) with REASON "
                                       f"one of {', '.join(reasons)}")
        fees[reason] = Decimal(percent)
    return fees


RETURN_RESTOCKING_FEES = parse_restocking_fees(os.environ.get("RETURN_RESTOCKING_FEES"))
RATE_GROUPS = ("cart", "checkout", "cart_account", "checkout_account", "global", "login", "login_account", "signup",
               "signup_email", "password_reset", "password_reset_email", "promo", "promo_account",
               "reviews", "reviews_account", "email_change", "email_change_account")


def parse_rate_limits(value: str | None) -> dict[str, str]:
    """RATE_LIMITS="cart=60/m,checkout=10/m" -> limits over the defaults; "cart=off" disables one, "off" them all.

    cart, checkout: per client (IP address); cart_account, checkout_account: per signed-in account, on top;
    global: the whole shop's requests per window, past which it sheds load with 503 (store/core/loadshed.py);
    login (the shop's and the admin's), signup, password_reset: per client; login_account: per account name tried,
    signup_email, password_reset_email: per e-mail address given (each sends it an e-mail), wherever the requests
    come from; promo, promo_account: promo codes tried on the cart and checkout pages (guessing codes is slow);
    reviews, reviews_account: review writes, helpful votes and reports (API and pages); email_change,
    email_change_account: the account page's e-mail change (each sends a link to an address of the asker's
    choosing, and checks a password), per client and per account."""
    limits = {"cart": "120/m", "checkout": "20/m", "cart_account": "120/m", "checkout_account": "10/m",
              "promo": "10/m", "promo_account": "10/m",
              "reviews": "60/m", "reviews_account": "30/m",
              "login": "10/m", "login_account": "5/m", "signup": "5/m", "signup_email": "3/h", "password_reset": "5/m",
              "password_reset_email": "3/h", "email_change": "5/m", "email_change_account": "5/h"}
    if value is None or not value.strip():
        return limits
    if value.strip().lower() in {"off", "0", "false", "none"}:
        return {}
    for part in value.split(","):
        group, _, rate = (piece.strip() for piece in part.partition("="))
        if group in RATE_GROUPS and rate.lower() == "off":
            limits.pop(group, None)
            continue
        if group not in RATE_GROUPS or not re.fullmatch(r"[1-9][0-9]*/[smhd]", rate):
            raise ImproperlyConfigured(f"RATE_LIMITS: {part.strip()!r} is not GROUP=N/s|m|h|d (or GROUP=off) "
                                       f"with GROUP one of {', '.join(RATE_GROUPS)}")
        limits[group] = rate
    return limits


RATE_LIMITS = parse_rate_limits(os.environ.get("RATE_LIMITS"))
# Behind a reverse proxy: the header it sets with the client's address (e.g. X-Forwarded-For); unset: REMOTE_ADDR.
CLIENT_IP_HEADER = os.environ.get("CLIENT_IP_HEADER", "")
PAGECACHE_SHARED_CONTEXT = "store.layout.shared"
PAGECACHE_PERSONAL_CONTEXT = "store.layout.personal"
# Cached pages are also kept in each web process's memory, exact through Redis's invalidation messages
# (store/core/nearcache.py): this many pages per process (0: off, e.g. on Redis Cluster), and a page's versions
# are re-read from Redis at least every this many seconds (a net for an invalidation connection that dies silently).
PAGECACHE_NEAR_ENTRIES = int(os.environ.get("PAGECACHE_NEAR_ENTRIES", "0" if REDIS_CLUSTER else "1000"))
if REDIS_CLUSTER and PAGECACHE_NEAR_ENTRIES > 0:
    # its invalidations (CLIENT TRACKING … BCAST) come from one server: a cluster's other nodes would not send theirs
    raise ImproperlyConfigured("PAGECACHE_NEAR_ENTRIES must be 0 with REDIS_CLUSTER_URLS (the near cache follows one "
                               "Redis server's invalidations)")
PAGECACHE_NEAR_SECONDS = float(os.environ.get("PAGECACHE_NEAR_SECONDS", "10"))
# Whole pages are cached (store/core/pagecache.py) unless PAGE_CACHE=0; `make run` (DEBUG) renders every page, so a
# template edit shows at once. Cached entries are keyed by the deployed code: RELEASE if set (e.g. a git commit),
# else a hash of the code and templates taken at start.
PAGECACHE_ENABLED = env_bool("PAGE_CACHE", not DEBUG)
RELEASE = os.environ.get("RELEASE", "")
# How long an HTTP cache or CDN in front may keep the page every stateless visitor gets (Cache-Control s-maxage;
# the store's own copies are exact and need no such limit). 0: none may keep it.
PAGECACHE_SHARED_SECONDS = int(os.environ.get("PAGECACHE_SHARED_SECONDS", "10"))
# Those stateless pages carry no CSRF token: a form sent without JavaScript gets a page that asks to confirm it.
CSRF_FAILURE_VIEW = "store.core.views.csrf_failure"
STORE_URL = os.environ.get("STORE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}").rstrip("/")
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")  # unset: Stripe's own; tests point it at a local fake
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_TIMEOUT_S = float(os.environ.get("STRIPE_TIMEOUT_S", "20"))  # then the charge is "no answer" (settled later)
# The test gateway takes no money: it works under `make run` and the tests, and in production only when asked.
PAYMENTS_TEST_MODE = env_bool("PAYMENTS_TEST_MODE", DEBUG or env_bool("STORE_TESTING", False))
# Past this many checkouts in flight at once, new ones queue (202 + poll URL) on the `checkout` Celery queue.
CHECKOUT_QUEUE_AFTER = int(os.environ["CHECKOUT_QUEUE_AFTER"]) if os.environ.get("CHECKOUT_QUEUE_AFTER") else None
# The longest the line may grow; past it, checkouts are refused at once with 503 + Retry-After.
CHECKOUT_QUEUE_MAX = int(os.environ["CHECKOUT_QUEUE_MAX"]) if os.environ.get("CHECKOUT_QUEUE_MAX") else 5000
# Search: PostgreSQL by default; Elasticsearch when ELASTICSEARCH_URL is set (catalog/documents.py).
ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL", "")
if ELASTICSEARCH_URL:  # only then: the package and its client cost each process ~25 MiB and half a second to import
    # after our apps: catalog's `search_index` command (docs/api.md) takes precedence over this package's own
    INSTALLED_APPS.append("django_elasticsearch_dsl")
ELASTICSEARCH_INDEX = os.environ.get("ELASTICSEARCH_INDEX", "store-products")
ELASTICSEARCH_DSL = {"default": {"hosts": ELASTICSEARCH_URL or "http://127.0.0.1:9200"}}
ELASTICSEARCH_DSL_AUTOSYNC = False  # indexing follows the outbox (Celery), never a request
ELASTICSEARCH_DSL_AUTO_REFRESH = False

# ---------------------------------------------------------------- security
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("HTTPS", False):
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    # Browsers then refuse plain HTTP for the shop for this long (a year by default; HSTS_SECONDS=300 to try it out).
    SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", True)
# Behind a proxy that terminates TLS: the header it sets to say the request came over HTTPS (e.g.
# X-Forwarded-Proto). Only then is the header trusted: set anywhere else, any client could claim HTTPS.
if os.environ.get("PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + os.environ["PROXY_SSL_HEADER"].upper().replace("-", "_"), "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {"django.server": {"level": "INFO"}},
}
