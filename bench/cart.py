"""Add-to-cart and view-cart under load, served as production serves them (`make serve`), against the separate bare
Django project (bench/bare/, served by the same gunicorn command) in the same run; then Redis memory per 10,000
carts.

    .venv/bin/python bench/cart.py [--seconds 10] [--connections 8] [--carts 5000]

Needs wrk (apt-get install wrk) for the POST load. Carts are made through the API first; each request adds one
unit to the next cart in turn (so no line reaches the 99 limit). Loopback only, bounded in time.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BARE_PATH, ROOT, LoadResult, ServedStore, bare_project, hardware, load, side_by_side

LUA = """
local tokens = {%(tokens)s}
local n, i = #tokens, 0
local method, suffix, body = "%(method)s", "%(suffix)s", '%(body)s'
request = function()
  i = i + 1
  local headers = {["Content-Type"] = "application/json"}
  return wrk.format(method, "/api/v1/carts/" .. tokens[(i %% n) + 1] .. suffix, headers, body ~= "" and body or nil)
end
""" + (ROOT / "bench" / "wrk_report.lua").read_text().replace("%", "%%")


def wrk_cycle(base: str, tokens: list[str], *, method: str, suffix: str, body: str, seconds: float,
              connections: int, label: str) -> LoadResult:
    script = LUA % {"tokens": ",".join(f'"{t}"' for t in tokens), "method": method, "suffix": suffix,
                    "body": body}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{int(seconds)}s", "--timeout", "10s",
                              "-s", fh.name, base], capture_output=True, text=True, check=True,
                             timeout=seconds + 60).stdout
    finally:
        os.unlink(fh.name)
    report = json.loads(out[out.index("{"):out.rindex("}") + 1])
    return LoadResult(path=label, requests=report["requests"], errors=report["errors"], seconds=report["seconds"],
                      p50_ms=report["p50_us"] / 1000, p99_ms=report["p99_us"] / 1000)


def api(base: str, method: str, path: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def redis_memory_per_10k_carts(skus: list[str], store_env: dict[str, str]) -> str:
    """Make 10,000 carts of len(skus) lines through cart.services in this process, against the running store's
    database and Redis (the URLs its web server was given), and measure Redis's used_memory before and after (the
    carts are deleted afterwards)."""
    for name in ("DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL"):  # the running store holds the lease; we connect
        if store_env.get(name):
            os.environ[name] = store_env[name]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()
    from django_redis import get_redis_connection

    from cart import services as cart_services
    from cart.redis_store import cart_key

    redis = get_redis_connection("default")
    before = redis.info("memory")["used_memory"]
    tokens = []
    for _ in range(10_000):
        token = cart_services.cart_create().token
        for sku in skus:
            cart_services.cart_add(token=token, sku=sku, quantity=1)
        tokens.append(token)
    after = redis.info("memory")["used_memory"]
    for i in range(0, len(tokens), 500):
        redis.delete(*[cart_key(t) for t in tokens[i:i + 500]])
    return f"Redis: {(after - before) / 2**20:.1f} MiB per 10,000 carts of {len(skus)} lines"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--carts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/cart.py needs wrk: apt-get install wrk")
    print(f"# bench/cart.py  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# {hardware()}")
    with ServedStore() as store, bare_project(store.web_env()) as bare:
        products = store.get_json("/api/v1/products/?in_stock=true&sort=newest")["results"]
        stocked = [v["sku"] for p in products for v in store.get_json(f"/api/v1/products/{p['slug']}/")["variants"]
                   if v["available"] >= 30]
        sku = stocked[0]
        tokens = [api(store.base, "POST", "/api/v1/carts/")["token"] for _ in range(args.carts)]
        for token in tokens[:1000]:  # carts to view: one line each
            api(store.base, "POST", f"/api/v1/carts/{token}/lines/", {"sku": sku, "quantity": 1})
        print(f"# {args.carts} carts, SKU {sku}; {args.connections} connections, {args.seconds:.0f} s per case")
        ratios = []
        for round_ in range(1, args.rounds + 1):  # rounds side by side: one slow moment cannot decide the figure
            print(f"round {round_}:")
            add, _view = side_by_side(
                functools.partial(load, bare.base, BARE_PATH, seconds=args.seconds, connections=args.connections,
                                  label="bare project /"),
                [functools.partial(wrk_cycle, store.base, tokens, method="POST", suffix="/lines/",
                                   body=json.dumps({"sku": sku, "quantity": 1}), seconds=args.seconds,
                                   connections=args.connections, label="POST carts/<token>/lines/ (add 1)"),
                 functools.partial(wrk_cycle, store.base, tokens[:1000], method="GET", suffix="/", body="",
                                   seconds=args.seconds, connections=args.connections,
                                   label="GET carts/<token>/ (1 line)")])
            # closed loop: mean latency = connections / throughput, so the throughput ratio is the mean's ratio
            ratios.append((add.p50_ratio, 1 / add.share if add.share else float("inf")))
        p50s, means = sorted(r[0] for r in ratios), sorted(r[1] for r in ratios)
        middle = len(ratios) // 2
        print(f"add-to-cart latency vs the bare project's, median of {len(ratios)} rounds: p50 {p50s[middle]:.1f}x "
              f"(rounds {', '.join(f'{r:.1f}' for r in p50s)}), mean {means[middle]:.1f}x "
              f"(rounds {', '.join(f'{r:.1f}' for r in means)})")
        rss = store.peak_rss_mib()
        print(f"peak RSS: web worker {rss['web']:.0f} MiB, Celery {rss['celery']:.0f} MiB")
        print(redis_memory_per_10k_carts(stocked[:3], store.web_env()))


if __name__ == "__main__":
    main()
