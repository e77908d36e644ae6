"""Shared pieces of the benchmarks: start `make serve` (the production-like store) and, beside it, the bare Django
project of bench/bare/ served by the same server with the same worker configuration; drive load at them over
loopback; read memory figures. Benchmarks print figures; they assert nothing."""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from store.launcher import descendants, gunicorn_command

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
STORE_WSGI, BARE_WSGI = "store.wsgi", "bench.bare.wsgi"
BARE_PATH = "/"  # the bare project's one page


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def data_dir() -> Path:
    """Where the store under test keeps its data (STORE_DATA_DIR, as the launcher reads it), and the logs go."""
    path = Path(os.environ.get("STORE_DATA_DIR") or ROOT / ".data")
    path = path if path.is_absolute() else ROOT / path
    path.mkdir(parents=True, exist_ok=True)
    return path


def hardware() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


@dataclass(frozen=True)
class ServerConfig:
    """A gunicorn configuration to run the store and the bare project under: ``serve`` is `make serve`'s own
    (whatever store.launcher.gunicorn_command gives for this machine and environment); ``sync:N`` is N sync
    workers; ``gthread:NxT`` N gthread workers of T threads. Workers and threads go through the launcher's own
    knobs (WEB_CONCURRENCY, WEB_THREADS); the worker class is swapped in the launcher's command, for both."""

    worker_class: str | None = None
    workers: int | None = None
    threads: int | None = None

    @classmethod
    def parse(cls, text: str) -> ServerConfig:
        text = text.strip()
        if text == "serve":
            return cls()
        kind, _, size = text.partition(":")
        try:
            if kind == "sync":
                return cls("sync", int(size), 1)
            if kind == "gthread":
                workers, _, threads = size.partition("x")
                return cls("gthread", int(workers), int(threads or 1))
        except ValueError:
            pass
        raise ValueError(f"not a server configuration: {text!r} (serve, sync:N or gthread:NxT)")

    @property
    def is_serve(self) -> bool:
        return self.worker_class is None

    def __str__(self) -> str:
        if self.is_serve:
            return "serve"
        return f"sync:{self.workers}" if self.worker_class == "sync" else f"gthread:{self.workers}x{self.threads}"

    def env(self) -> dict[str, str]:
        out = {}
        if self.workers:
            out["WEB_CONCURRENCY"] = str(self.workers)
        if self.threads:
            out["WEB_THREADS"] = str(self.threads)
        return out


def server_command(env: dict, port: int, *, wsgi: str, worker_class: str | None = None) -> list[str]:
    """`make serve`'s gunicorn command (store.launcher.gunicorn_command, used as it is), serving ``wsgi`` instead
    of the store's, with the worker class swapped when asked. Fails if the launcher's command no longer has the
    shape this expects, rather than measuring something else."""
    cmd = gunicorn_command(env, str(port))
    cmd[cmd.index(STORE_WSGI)] = wsgi
    if worker_class:
        if "--worker-class" in cmd:
            cmd[cmd.index("--worker-class") + 1] = worker_class
        else:
            cmd += ["--worker-class", worker_class]
        if worker_class == "sync" and "--threads" in cmd:  # gunicorn runs sync with threads > 1 as gthread
            at = cmd.index("--threads")
            del cmd[at:at + 2]
    return cmd


def describe(cmd: list[str]) -> str:
    """The server configuration part of a gunicorn command line, for the report."""
    keep, out = {"--workers", "--worker-class", "--threads"}, []
    for flag, value in itertools.pairwise(cmd):
        if flag in keep:
            out.append(f"{flag} {value}")
    if "--worker-class" not in cmd:
        out.append("--worker-class sync")
    return " ".join(out)


def _wait_until_up(proc: subprocess.Popen, url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited; see {log}")
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up; see {log}")


def _stop(proc: subprocess.Popen | None, sig: int, grace: float) -> None:
    if proc and proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


_FRONT_CACHE_CONF = """
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    proxy_cache_path {folder}/cache levels=1:2 keys_zone=pages:10m max_size=100m inactive=10m;
    upstream store {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://store;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_cache pages;
            proxy_cache_lock on;
            proxy_cache_use_stale updating;
            proxy_cache_background_update on;
            add_header X-Cache $upstream_cache_status;
        }}
    }}
}}
"""


@contextlib.contextmanager
def front_cache(upstream: int):
    """nginx (Debian's nginx-light) in front of a served store, as a CDN or a cache in front of a shop would be:
    it keeps what the store's own Cache-Control lets a shared cache keep (`s-maxage`, `Vary: Cookie`), and passes
    everything else (carts, checkouts, anything with a cookie) through. Yields its port."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("a front cache needs nginx: apt-get install nginx-light")
    folder = data_dir() / "front-cache"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(_FRONT_CACHE_CONF.format(folder=folder, upstream=upstream, port=port))
    log = folder / "error.log"
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(folder), "-e", str(log)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(proc, f"http://127.0.0.1:{port}/healthz", log, 30)
        yield port
    finally:
        _stop(proc, signal.SIGQUIT, 10)


class ServedStore:
    """`python -m store.launcher serve` (what `make serve` runs) on a free port, with its data in STORE_DATA_DIR."""

    def __init__(self, *, port: int | None = None, extra_env: dict | None = None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PORT": str(self.port), "RATE_LIMITS": "off",
                    "PAYMENTS_TEST_MODE": "1", **(extra_env or {})}  # the test gateway pays for the load
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        self.log_path = data_dir() / "bench-serve.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([PYTHON, "-m", "store.launcher", "serve"], cwd=ROOT, env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_until_up(self.proc, self.base + "/healthz", self.log_path, 600)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        _stop(self.proc, signal.SIGINT, 60)
        self.log.close()

    def processes(self) -> dict[str, list[int]]:
        """pids of the web (gunicorn) and Celery processes this store started."""
        found: dict[str, list[int]] = {"web": [], "celery": []}
        for pid in descendants(self.proc.pid):
            cmd = _cmdline(pid)
            if "gunicorn" in cmd:
                found["web"].append(pid)
            elif "celery" in cmd:
                found["celery"].append(pid)
        return found

    def web_master(self) -> int:
        """The gunicorn master the launcher started."""
        for pid in descendants(self.proc.pid):
            if "gunicorn" in _cmdline(pid) and _ppid(pid) == self.proc.pid:
                return pid
        raise RuntimeError("no gunicorn under the launcher")

    def web_env(self) -> dict[str, str]:
        """The environment the launcher gave its web server (database and Redis URLs, DEBUG off, SECRET_KEY …):
        what a second server of the store, or the bare project beside it, is started with."""
        raw = Path(f"/proc/{self.web_master()}/environ").read_bytes()
        return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)

    def web_command(self) -> list[str]:
        return _cmdline(self.web_master()).split()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by this store's processes, by kind: its web and Celery processes,
        and the embedded PostgreSQL and Redis servers of its data folder (every backend of that PostgreSQL)."""
        used = {kind: sum(_cpu_seconds(pid) for pid in pids) for kind, pids in self.processes().items()}
        folder = data_dir()
        for pid in (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()):
            argv = _cmdline(pid).split()
            if argv and argv[0].endswith("/redis-server") and any(
                    arg.startswith(f"unixsocket:{folder}/run/") for arg in argv):
                used["redis"] = used.get("redis", 0.0) + _cpu_seconds(pid)
            elif argv and argv[0].endswith("/postgres") and f"-D {folder}/pg" in " ".join(argv) + " ":
                used["postgres"] = used.get("postgres", 0.0) + _cpu_seconds(pid) + sum(
                    _cpu_seconds(child) for child in descendants(pid))
        return used  # (an embedded server kept elsewhere, or a server of its own URL, is not counted)

    def peak_rss_mib(self) -> dict[str, float]:
        """Peak resident memory (VmHWM) of the largest web and Celery process."""
        return {kind: _peak_mib(pids) for kind, pids in self.processes().items()}

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=30) as resp:
            return resp.read()

    def get_json(self, path: str):
        return json.loads(self.get(path))


class Gunicorn:
    """A gunicorn started by the harness from `make serve`'s command (server_command): the bare project beside the
    store, or a second server of the store under another configuration, on a free port."""

    def __init__(self, name: str, env: dict, *, wsgi: str, config: ServerConfig, health: str):
        self.name, self.port = name, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**env, **config.env()}
        if wsgi == BARE_WSGI:
            self.env["DJANGO_SETTINGS_MODULE"] = "bench.bare.settings"
        self.cmd = server_command(self.env, self.port, wsgi=wsgi, worker_class=config.worker_class)
        self.health = health
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        self.log_path = data_dir() / f"bench-{self.name}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            _wait_until_up(self.proc, self.base + self.health, self.log_path, 120)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        _stop(self.proc, signal.SIGTERM, 30)
        self.log.close()

    def peak_rss_mib(self) -> float:
        """Peak resident memory (VmHWM) of the largest worker."""
        return _peak_mib(descendants(self.proc.pid))


def bare_project(env: dict, config: ServerConfig = ServerConfig()) -> Gunicorn:
    """The bare project, served as the store's web server is: ``env`` is ServedStore.web_env() (so the launcher's
    WEB_CONCURRENCY, WEB_THREADS … apply alike), ``config`` the same as the store's."""
    return Gunicorn(f"bare-{config}", env, wsgi=BARE_WSGI, config=config, health=BARE_PATH)


def store_server(env: dict, config: ServerConfig) -> Gunicorn:
    """A second web server of the running store (same database, Redis and settings) under ``config``."""
    return Gunicorn(f"store-{config}", env, wsgi=STORE_WSGI, config=config, health="/healthz")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return 0.0


def _peak_mib(pids: list[int]) -> float:
    return max([_vm_hwm_kib(pid) for pid in pids] or [0]) / 1024


def _vm_hwm_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


@dataclass
class LoadResult:
    path: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def load(base: str, path: str, *, seconds: float = 10, connections: int = 16, headers: dict | None = None,
         label: str | None = None, vary: str = "") -> LoadResult:
    """Closed-loop load: `connections` keep-alive clients requesting `path` (with `headers`) for `seconds` (wrk when
    installed, otherwise Python threads), loopback only, bounded in time. With `vary` (a query parameter's name),
    each request adds that parameter with a random amount from 10.00 to 999.99: ~99,000 different pages, so
    nearly every request misses every cache."""
    if shutil.which("wrk"):
        result = _wrk(base, path, seconds=seconds, connections=connections, headers=headers or {}, vary=vary)
    else:
        result = _threads(base, path, seconds=seconds, connections=connections, headers=headers or {}, vary=vary)
    result.path = label or path
    return result


def load_tool() -> str:
    return "wrk" if shutil.which("wrk") else "Python threads (apt-get install wrk for figures worth keeping)"


def probe(base: str, path: str, headers: dict | None = None) -> tuple[int, int]:
    """(status, body bytes) of one GET, redirects not followed: a case that redirects is not the page it names."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, len(resp.read())
    finally:
        conn.close()


_VARY_LUA = """
request = function()
  return wrk.format(nil, string.format("%s%d.%02d", wrk.path, math.random(10, 999), math.random(0, 99)))
end
"""


def _varied(path: str, vary: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{vary}="


def _wrk(base: str, path: str, *, seconds: float, connections: int, headers: dict, vary: str = "") -> LoadResult:
    script = ROOT / "bench" / "wrk_report.lua"
    extra = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    if vary:  # the reporter plus a request() that varies the parameter; wrk.path is `path` with `&vary=` added
        varied = data_dir() / "bench-wrk-varied.lua"
        varied.write_text(script.read_text() + _VARY_LUA)
        script, path = varied, _varied(path, vary)
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s",
         "-s", str(script), *extra, base + path],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout
    report = json.loads(out[out.index("{"):out.rindex("}") + 1])
    return LoadResult(path=path, requests=report["requests"], errors=report["errors"],
                      seconds=report["seconds"], p50_ms=report["p50_us"] / 1000, p99_ms=report["p99_us"] / 1000)


def _threads(base: str, path: str, *, seconds: float, connections: int, headers: dict, vary: str = "") -> LoadResult:
    host, port = base.removeprefix("http://").split(":")
    prefix = _varied(path, vary) if vary else ""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        mine = []
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            try:
                conn.request("GET", f"{prefix}{random.randint(10, 999)}.{random.randint(0, 99):02d}" if vary else path,
                             headers=headers)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
                if resp.will_close:  # a sync worker closes after each answer
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                ok = False
            mine.append(time.perf_counter() - t0)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    return LoadResult(path=path, requests=len(latencies), errors=errors[0], seconds=elapsed,
                      p50_ms=q[49] * 1000, p99_ms=q[98] * 1000)


@dataclass(frozen=True)
class Compared:
    """A case's load result beside the bare project's, taken as the mean of the bare runs just before and after."""

    result: LoadResult
    bare_rps: float
    bare_p50_ms: float
    bare_p99_ms: float

    @property
    def share(self) -> float:  # throughput as a share of the bare project's
        return self.result.rps / self.bare_rps if self.bare_rps else 0.0

    @property
    def p50_ratio(self) -> float:  # p50 latency as a multiple of the bare project's
        return self.result.p50_ms / self.bare_p50_ms if self.bare_p50_ms else float("inf")

    @property
    def p99_ratio(self) -> float:
        return self.result.p99_ms / self.bare_p99_ms if self.bare_p99_ms else float("inf")


def side_by_side(bare: Callable[[], LoadResult], cases: list[Callable[[], LoadResult]]) -> list[Compared]:
    """Run the bare project, then each case followed by the bare project again (bare, A, bare, B, bare), print every
    run, and compare each case with the mean of the bare runs on either side of it: on a machine whose speed drifts
    during a round, a single bare run at the start would favour the cases run soon after it."""
    runs, compared = [bare()], []
    for case in cases:
        result, after = case(), bare()
        before = runs[-1]
        compared.append(Compared(result, (before.rps + after.rps) / 2, (before.p50_ms + after.p50_ms) / 2,
                                 (before.p99_ms + after.p99_ms) / 2))
        runs += [result, after]
    print(f"  {'case':<40} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}   "
          f"{'req/s':>6} {'p50':>6} {'p99':>6}  (× the bare runs either side)")
    rows = iter(compared)
    for n, r in enumerate(runs):
        ratio = ""
        if n % 2:
            c = next(rows)
            ratio = f"{c.share:>5.2f}× {c.p50_ratio:>5.2f}× {c.p99_ratio:>5.2f}×"
        print(f"  {r.path[:40]:<40} {r.rps:>8.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.errors:>6}   {ratio}")
    sys.stdout.flush()
    return compared
