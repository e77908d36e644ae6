"""Shared pieces of the benchmarks: start `make serve` (the production-like store), drive load at it over
loopback, and read memory figures. Benchmarks print figures; they assert nothing."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
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

from store.launcher import descendants

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class ServedStore:
    """`python -m store.launcher serve` on a free port, with the bench-only bare view switched on."""

    def __init__(self, *, port: int | None = None, extra_env: dict | None = None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PORT": str(self.port), "BENCH_VIEWS": "1", "RATE_LIMITS": "off",
                    "PAYMENTS_TEST_MODE": "1", **(extra_env or {})}  # the test gateway pays for the load
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        self.log = open(ROOT / ".data" / "bench-serve.log", "w")
        self.proc = subprocess.Popen([PYTHON, "-m", "store.launcher", "serve"], cwd=ROOT, env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"make serve exited; see {self.log.name}")
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(self.base + "/healthz", timeout=2).status == 200:
                    return self
            time.sleep(0.5)
        raise RuntimeError("the store did not come up")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()

    def processes(self) -> dict[str, list[int]]:
        """pids of the web (gunicorn) and Celery processes this store started."""
        found: dict[str, list[int]] = {"web": [], "celery": []}
        for pid in descendants(self.proc.pid):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "gunicorn" in cmd:
                found["web"].append(pid)
            elif "celery" in cmd:
                found["celery"].append(pid)
        return found

    def peak_rss_mib(self) -> dict[str, float]:
        """Peak resident memory (VmHWM) of the largest web and Celery process."""
        out = {}
        for kind, pids in self.processes().items():
            peaks = [_vm_hwm_kib(pid) for pid in pids]
            out[kind] = max([p for p in peaks if p] or [0]) / 1024
        return out

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=30) as resp:
            return resp.read()

    def get_json(self, path: str):
        return json.loads(self.get(path))


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


def load(base: str, path: str, *, seconds: float = 10, connections: int = 8) -> LoadResult:
    """Closed-loop load: `connections` keep-alive clients requesting `path` for `seconds` (wrk when installed,
    otherwise Python threads), loopback only, bounded in time."""
    if shutil.which("wrk"):
        return _wrk(base, path, seconds=seconds, connections=connections)
    return _threads(base, path, seconds=seconds, connections=connections)


def _wrk(base: str, path: str, *, seconds: float, connections: int) -> LoadResult:
    script = ROOT / "bench" / "wrk_report.lua"
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{int(seconds)}s", "--timeout", "10s",
         "-s", str(script), base + path],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout
    report = json.loads(out[out.index("{"):out.rindex("}") + 1])
    return LoadResult(path=path, requests=report["requests"], errors=report["errors"],
                      seconds=report["seconds"], p50_ms=report["p50_us"] / 1000, p99_ms=report["p99_us"] / 1000)


def _threads(base: str, path: str, *, seconds: float, connections: int) -> LoadResult:
    host, port = base.removeprefix("http://").split(":")
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
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
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
    """A case's load result beside the bare view's, taken as the mean of the bare runs just before and after it."""

    result: LoadResult
    bare_rps: float
    bare_p50_ms: float

    @property
    def share(self) -> float:  # throughput as a share of the bare view's
        return self.result.rps / self.bare_rps if self.bare_rps else 0.0

    @property
    def p50_ratio(self) -> float:  # p50 latency as a multiple of the bare view's
        return self.result.p50_ms / self.bare_p50_ms if self.bare_p50_ms else float("inf")


def side_by_side(bare: Callable[[], LoadResult], cases: list[Callable[[], LoadResult]]) -> list[Compared]:
    """Run the bare view, then each case followed by the bare view again (bare, A, bare, B, bare), print every run,
    and compare each case with the mean of the bare runs on either side of it: on a machine whose speed drifts
    during a round, a single bare run at the start would favour the cases run soon after it."""
    runs, compared = [bare()], []
    for case in cases:
        result, after = case(), bare()
        before = runs[-1]
        compared.append(Compared(result, (before.rps + after.rps) / 2, (before.p50_ms + after.p50_ms) / 2))
        runs += [result, after]
    print(f"{'path':<48} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs bare':>8}")
    shares = iter(c.share for c in compared)
    for n, r in enumerate(runs):
        ratio = "" if n % 2 == 0 else f"{next(shares):.0%}"
        print(f"{r.path[:48]:<48} {r.rps:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.errors:>7} {ratio:>8}")
    sys.stdout.flush()
    return compared
