"""Catalogue pages under load, served as production serves them (`make serve`: gunicorn, DEBUG off), against the
separate bare Django project of bench/bare/ (CommonMiddleware only, one fixed page, no database) served by the same
gunicorn command with the same worker configuration, in the same run, alternating: bare, page, bare, page … bare.

    .venv/bin/python bench/pages.py [--seconds 10] [--connections 16] [--rounds N] [--cases product,listing,shopper]
                                    [--configs [serve,sync:2,…]] [--products N]

Cases: product (a cached product page, anonymous), listing (a category page, anonymous), shopper (the product page
for a returning shopper: a session and a cart of one line), and on request home, cart (the shopper's cart page),
api-product, api-listing, reviewed (the best-rated product's page, with its reviews: beside the product case in a
store with sample reviews, and against the bare project, a cached page's cost with and without them). Prints
throughput and p50/p99 of each case with its ratio to the bare project's runs either side of it (median over
--rounds), the peak RSS of a store web worker against a bare project's worker, and the database size per 10,000
products.

--configs runs both under each of a few gunicorn configurations ("serve" is `make serve`'s own; sync:N is N sync
workers, gthread:NxT N workers of T threads), then prints one table and each at its best configuration, so the
configuration for the machine can be chosen by measurement. (A sync worker closes the connection after each answer,
so under sync every request also pays a TCP connect: what clients reaching gunicorn directly would pay; behind a
proxy that pools connections it would not.) Loopback only; bounded by --seconds per run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    BARE_PATH,
    PYTHON,
    ROOT,
    Compared,
    ServedStore,
    ServerConfig,
    bare_project,
    describe,
    hardware,
    load,
    load_tool,
    probe,
    side_by_side,
    store_server,
)

DEFAULT_CASES = "product,listing,shopper"
ALL_CASES = ("product", "listing", "shopper", "home", "cart", "api-product", "api-listing", "reviewed")
SWEEP = "serve,sync:2,sync:3,sync:5,gthread:2x4,gthread:5x4"


def database_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from store.embedded import services_for

    return services_for().urls.database_url


def catalogue_size() -> tuple[int, int]:
    """(products, bytes of the catalog and inventory schemas, indexes and TOAST included)."""
    with psycopg.connect(database_url()) as conn:
        products = conn.execute("SELECT count(*) FROM catalog.catalog_product").fetchone()[0]
        size = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('catalog', 'inventory') AND c.relkind = 'r'"
        ).fetchone()[0]
    return products, size


def returning_shopper(store: ServedStore, slug: str) -> dict[str, str]:
    """A shopper who has been here before: cookies from viewing the product page and adding one unit to the cart
    through its form, with the token the page's JavaScript asks /csrf/ for (a first visit's page carries none; a
    session holding the cart). Returns the Cookie header to send."""
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = browser.open(store.base + f"/p/{slug}/", timeout=30).read().decode()
    variants = store.get_json(f"/api/v1/products/{slug}/")["variants"]
    sku = next(v["sku"] for v in variants if v["available"] > 0)
    field_ = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    token = field_.group(1) if field_ else json.loads(browser.open(store.base + "/csrf/", timeout=30).read())["token"]
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "sku": sku, "quantity": 1}).encode()
    browser.open(urllib.request.Request(store.base + "/cart/add/", data=form,
                                        headers={"Referer": store.base + f"/p/{slug}/"}), timeout=30).read()
    headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in jar)}
    cart = urllib.request.urlopen(urllib.request.Request(store.base + "/cart/", headers=headers), timeout=30)
    if sku not in cart.read().decode():
        raise RuntimeError(f"the returning shopper's cart does not show {sku}: adding to the cart failed")
    return headers


@dataclass
class Case:
    name: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.name} {self.path}"


@dataclass
class Figures:
    """One configuration's results: per case, the Compared of each round; the bare runs; peak RSS."""

    config: ServerConfig
    command: str = ""
    rounds: dict[str, list[Compared]] = field(default_factory=dict)
    rss_store: float = 0.0
    rss_bare: float = 0.0

    def median(self, case: str, what: str) -> float:
        return statistics.median(getattr(c, what) for c in self.rounds[case])

    def median_result(self, case: str, what: str) -> float:
        return statistics.median(getattr(c.result, what) for c in self.rounds[case])

    def spread(self, case: str) -> str:  # how far the rounds' throughput ratios lay apart
        shares = [c.share for c in self.rounds[case]]
        return f"  (rounds {min(shares):.2f}–{max(shares):.2f}×)" if len(shares) > 1 else ""

    def bare_median(self, what: str) -> float:  # the bare runs beside every case of every round
        return statistics.median(getattr(c, what) for runs in self.rounds.values() for c in runs)


def measure(config: ServerConfig, store_base: str, bare_base: str, cases: list[Case], args) -> Figures:
    figures = Figures(config)
    bare = functools.partial(load, bare_base, BARE_PATH, seconds=args.seconds, connections=args.connections,
                             label=f"bare project {BARE_PATH}")
    runs = [functools.partial(load, store_base, c.path, headers=c.headers, label=c.label, seconds=args.seconds,
                              connections=args.connections) for c in cases]
    if args.warm:  # as a shop that has been up for a while: every worker's caches filled
        for warm in (bare, *runs):
            warm.func(*warm.args, **{**warm.keywords, "seconds": args.warm})
    for round_ in range(1, args.rounds + 1):  # rounds side by side: one slow moment cannot decide a figure
        print(f"[{config}] round {round_} of {args.rounds}:")
        for case, compared in zip(cases, side_by_side(bare, runs), strict=True):
            figures.rounds.setdefault(case.name, []).append(compared)
    return figures


def report(figures: Figures, cases: list[Case], rounds: int) -> None:
    f = figures
    print(f"[{f.config}] {f.command}; median of {rounds} round(s), each case against the bare runs either side:")
    print(f"  {'case':<10} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}   {'× bare: req/s':>13} {'p50':>6} {'p99':>6}")
    print(f"  {'bare':<10} {f.bare_median('bare_rps'):>8.0f} {f.bare_median('bare_p50_ms'):>7.2f} "
          f"{f.bare_median('bare_p99_ms'):>7.2f}")
    for c in cases:
        print(f"  {c.name:<10} {f.median_result(c.name, 'rps'):>8.0f} {f.median_result(c.name, 'p50_ms'):>7.2f} "
              f"{f.median_result(c.name, 'p99_ms'):>7.2f}   {f.median(c.name, 'share'):>12.2f}× "
              f"{f.median(c.name, 'p50_ratio'):>5.2f}× {f.median(c.name, 'p99_ratio'):>5.2f}×{f.spread(c.name)}")
    ratio = f.rss_store / f.rss_bare if f.rss_bare else float("inf")
    print(f"  peak RSS of a web worker: store {f.rss_store:.0f} MiB, bare project {f.rss_bare:.0f} MiB "
          f"({ratio:.2f}×)")


def table(all_figures: list[Figures], cases: list[Case]) -> None:
    print("\nconfigurations side by side (medians; req/s, p99 ms; × = throughput against the bare project under "
          "the same configuration):")
    head = f"  {'config':<12} {'bare':>14}" + "".join(f" {c.name:>22}" for c in cases) + f" {'RSS store/bare':>16}"
    print(head)
    for f in all_figures:
        row = f"  {f.config!s:<12} {f.bare_median('bare_rps'):>7.0f} {f.bare_median('bare_p99_ms'):>6.1f}"
        for c in cases:
            row += (f" {f.median_result(c.name, 'rps'):>7.0f} {f.median_result(c.name, 'p99_ms'):>6.1f} "
                    f"{f.median(c.name, 'share'):>6.2f}×")
        row += f" {f.rss_store:>7.0f}/{f.rss_bare:<4.0f}MiB"
        print(row)
    best_bare = max(all_figures, key=lambda f: f.bare_median("bare_rps"))
    print(f"each at its best: bare project {best_bare.bare_median('bare_rps'):.0f} req/s under {best_bare.config}")
    for c in cases:
        best = max(all_figures, key=lambda f, name=c.name: f.median_result(name, "rps"))
        rps = best.median_result(c.name, "rps")
        print(f"  {c.name:<10} {rps:>7.0f} req/s under {best.config!s:<12} = "
              f"{rps / best_bare.bare_median('bare_rps'):.2f}× the bare project at its best")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="per run (default 10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--warm", type=float, default=1, help="seconds of load per case before measuring")
    parser.add_argument("--cases", default=DEFAULT_CASES, help=f"comma-separated, of {', '.join(ALL_CASES)}")
    parser.add_argument("--configs", nargs="?", const=SWEEP, default="serve",
                        help=f"server configurations to compare (the flag alone: {SWEEP})")
    parser.add_argument("--products", type=int, default=0, help="seed up to N products first")
    args = parser.parse_args()
    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    if unknown := set(names) - set(ALL_CASES):
        parser.error(f"unknown cases: {', '.join(sorted(unknown))} (known: {', '.join(ALL_CASES)})")
    try:
        configs = [ServerConfig.parse(c) for c in args.configs.split(",") if c.strip()]
    except ValueError as exc:
        parser.error(str(exc))

    if args.products:
        subprocess.run([PYTHON, "manage.py", "seed_catalog", "--products", str(args.products)], cwd=ROOT, check=True)

    print(f"# bench/pages.py  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# {hardware()}")
    with ServedStore() as store:
        listing = store.get_json("/api/v1/products/?sort=newest")
        slug = listing["results"][0]["slug"]
        category = store.get_json("/api/v1/categories/")[0]["slug"]
        rated = max(store.get_json("/api/v1/products/?sort=rating")["results"],  # the most reviewed of a page
                    key=lambda p: p["rating"]["count"])
        shopper = returning_shopper(store, slug) if {"shopper", "cart"} & set(names) else {}
        known = {"product": Case("product", f"/p/{slug}/"), "listing": Case("listing", f"/c/{category}/"),
                 "shopper": Case("shopper", f"/p/{slug}/", shopper), "home": Case("home", "/"),
                 "cart": Case("cart", "/cart/", shopper),
                 "api-product": Case("api-product", f"/api/v1/products/{slug}/"),
                 "api-listing": Case("api-listing", f"/api/v1/products/?category={category}"),
                 "reviewed": Case("reviewed", f"/p/{rated['slug']}/")}
        cases = [known[n] for n in names]
        env = store.web_env()
        if "reviewed" in names:
            print(f"# reviewed: /p/{rated['slug']}/, {rated['rating']['count']} reviews, average "
                  f"{rated['rating']['average']}; product: /p/{slug}/, {listing['results'][0]['rating']['count']}")
        print(f"# {listing['count']} products; {args.connections} connections, {args.seconds:g} s per run, "
              f"{args.rounds} round(s); load by {load_tool()}")
        print(f"# make serve's web server: {describe(store.web_command())}")
        all_figures = []
        for config in configs:
            with bare_project(env, config) as bare, (
                    contextlib.nullcontext(store) if config.is_serve else store_server(env, config)) as web:
                sizes = {"bare": probe(bare.base, BARE_PATH)} | {c.name: probe(web.base, c.path, c.headers)
                                                                for c in cases}
                if bad := {name: status for name, (status, _) in sizes.items() if status != 200}:
                    raise SystemExit(f"not 200, so not the page it names: {bad}")
                print(f"[{config}] {describe(bare.cmd)}; page bytes: "
                      + ", ".join(f"{name} {size:,}" for name, (_, size) in sizes.items()))
                figures = measure(config, web.base, bare.base, cases, args)
                figures.command = describe(bare.cmd)
                figures.rss_store = store.peak_rss_mib()["web"] if config.is_serve else web.peak_rss_mib()
                figures.rss_bare = bare.peak_rss_mib()
                report(figures, cases, args.rounds)
                all_figures.append(figures)
        if len(all_figures) > 1:
            table(all_figures, cases)
        products, size = catalogue_size()  # while the store (and its embedded database) is up
    if products:
        print(f"database: {size / 2**20:.1f} MiB for {products} products (catalog + inventory) = "
              f"{size / products * 10_000 / 2**20:.1f} MiB per 10,000 products")


if __name__ == "__main__":
    main()
