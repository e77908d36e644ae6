"""What `make run`, `make serve` and `make test` start: services, migrations, sample data, web and Celery.

    python -m store.launcher run     development server (DEBUG on, autoreload), Celery worker and beat
    python -m store.launcher serve   production-like: DEBUG off, gunicorn with workers from the core count
    python -m store.launcher exec -- CMD ...   CMD with the services leased (make test uses it)

Embedded servers are leased only for what DATABASE_URL / REDIS_URL / CACHE_REDIS_URL leave unset (store.embedded).
REPLICAS=N beside the embedded PostgreSQL: N streaming replicas of it, named to the shop by DATABASE_REPLICA_URLS,
stopped when this exits.
Celery workers: one for every queue, or one per group of queues CELERY_QUEUES names (store.queues, docs/operations.md).
Under run and serve, a Celery worker, Celery beat or embedded server that dies is restarted, 1 s, 2 s, 4 s … 30 s
after its death; only the web server's exit ends the shop. Ctrl-C (SIGINT) or SIGTERM stops every process this
started, then gives the lease back (stopping the servers no one else uses).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from store import queues
from store.embedded import POSTGRES, ROOT, EmbeddedServices, cache_fallback_note, servers_needed, services_for

PYTHON = sys.executable


def _say(msg: str) -> None:
    print(f"[store] {msg}", file=sys.stderr, flush=True)


BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0  # seconds before a restart: 1, 2, 4 … 30
BACKOFF_RESET_AFTER = 60.0  # a start that lasted this long was a good one: the next crash waits BACKOFF_FIRST again


class Backoff:
    def __init__(self) -> None:
        self.delay = BACKOFF_FIRST
        self.started_at = time.monotonic()

    def started(self) -> None:
        self.started_at = time.monotonic()

    def next_delay(self) -> float:
        if time.monotonic() - self.started_at >= BACKOFF_RESET_AFTER:
            self.delay = BACKOFF_FIRST
        delay, self.delay = self.delay, min(2 * self.delay, BACKOFF_MAX)
        return delay


class Child:
    """A process the launcher started. The web server is ``essential``: its exit ends the shop; the others restart."""

    def __init__(self, name: str, cmd: list[str], env: dict, *, essential: bool) -> None:
        self.name, self.cmd, self.env, self.essential = name, cmd, env, essential
        self.backoff = Backoff()
        self.start()

    def start(self) -> None:
        self.backoff.started()
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env)

    def failure(self) -> str | None:
        """None while it runs, else how it ended."""
        code = self.proc.poll()
        return None if code is None else f"exited with code {code}"


class EmbeddedServer:
    """An embedded PostgreSQL or Redis: a daemon, not our child, so watched through its pid file."""

    essential = False

    def __init__(self, services: EmbeddedServices, server: str) -> None:
        self.services, self.server, self.name = services, server, f"embedded {server}"
        self.backoff = Backoff()

    def start(self) -> None:
        self.backoff.started()
        self.services.restart(self.server)

    def failure(self) -> str | None:
        return None if self.services.running(self.server) else "is down"


class Supervisor:
    def __init__(self) -> None:
        self.children: list[Child] = []
        self.servers: list[EmbeddedServer] = []
        self.stopping = False

    def start(self, name: str, cmd: list[str], env: dict, *, essential: bool = False) -> None:
        self.children.append(Child(name, cmd, env, essential=essential))

    def watch(self, services: EmbeddedServices, servers: tuple[str, ...]) -> None:
        self.servers = [EmbeddedServer(services, server) for server in servers]

    def wait(self) -> int:
        """Restart what dies, after a backoff, until the essential child exits or we are told to stop; returns the
        exit status to leave with."""
        restart_at: dict[Child | EmbeddedServer, float] = {}
        while not self.stopping:
            for kept in [*self.servers, *self.children]:  # the servers first: the children need them
                if kept in restart_at:
                    if time.monotonic() >= restart_at[kept]:
                        del restart_at[kept]
                        self._restart(kept)
                    continue
                failure = kept.failure()
                if failure is None:
                    continue
                if kept.essential:
                    _say(f"{kept.name} {failure}; stopping the rest")
                    return kept.proc.returncode or 1
                delay = kept.backoff.next_delay()
                _say(f"{kept.name} {failure}; restarting in {delay:g} s")
                restart_at[kept] = time.monotonic() + delay
            time.sleep(0.5)
        return 0

    @staticmethod
    def _restart(kept: Child | EmbeddedServer) -> None:
        try:
            kept.start()
        except Exception as exc:  # still down, so the next round logs it and tries again, later
            _say(f"{kept.name} did not restart: {exc}")

    def stop(self, grace: float = 20) -> None:
        for child in self.children:
            if child.proc.poll() is None:
                child.proc.terminate()
        deadline = time.monotonic() + grace
        for child in self.children:
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _say(f"{child.name} did not stop in time; killing it and its processes")
                for pid in [*descendants(child.proc.pid), child.proc.pid]:  # gunicorn's or Celery's workers too
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                child.proc.wait()


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children first found, deepest last), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _environment(mode: str) -> tuple[dict, EmbeddedServices | None, tuple[str, ...]]:
    """The children's environment, and the embedded services leased with the servers they run."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="store.settings", PYTHONUNBUFFERED="1")
    services = None
    needed = servers_needed(env)
    if needed:
        services = services_for(env.get("STORE_DATA_DIR"))
        _say(f"starting embedded {', '.join(needed)} in {services.data}")
        urls = services.acquire(servers=needed)
        for server in needed:
            env.setdefault(*urls.of(server))
    note = cache_fallback_note(env)
    if note:
        _say(note)
    if mode == "run":
        env.setdefault("DEBUG", "1")
    elif mode == "serve":
        env["DEBUG"] = "0"
        env.setdefault("SECRET_KEY", _local_secret_key(Path(env.get("STORE_DATA_DIR") or ROOT / ".data")))
    elif mode == "exec":
        env.setdefault("SECRET_KEY", "test-only-secret-key")
        env.setdefault("STORE_TESTING", "1")
    return env, services, needed


def start_replicas(env: dict, services: EmbeddedServices | None, embedded: tuple[str, ...]) -> int:
    """REPLICAS=N: start N streaming replicas of the embedded PostgreSQL and name them in DATABASE_REPLICA_URLS
    (unless it is set). Returns how many were started (to stop at exit)."""
    wanted = env.get("REPLICAS", "").strip() or "0"
    if not wanted.isdigit() or int(wanted) > 9:
        raise SystemExit(f"[store] REPLICAS={wanted!r}: give a number of replicas from 0 to 9")
    if not int(wanted):
        return 0
    if services is None or POSTGRES not in embedded:
        _say("REPLICAS starts replicas of the embedded PostgreSQL only (DATABASE_URL is set): none started; "
             "name yours in DATABASE_REPLICA_URLS")
        return 0
    urls = [services.start_replica(number) for number in range(1, int(wanted) + 1)]
    env.setdefault("DATABASE_REPLICA_URLS", ",".join(urls))
    _say(f"started {len(urls)} streaming replica(s) of the embedded PostgreSQL")
    return len(urls)


def _local_secret_key(data: Path) -> str:
    """`make serve` on one machine: a random key kept in .data (set SECRET_KEY in a real deployment)."""
    path = data / "secret_key"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _manage(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port``. (gunicorn's --reuse-port workers would otherwise share a
    port with another store of the same user's, splitting its connections, instead of failing to start.)

    SO_REUSEADDR, as every server sets it: the connections a store just stopped leaves in TIME_WAIT do not make the
    port look taken (a restart must just work), while a listening socket still does."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def gunicorn_command(env: dict, port: str) -> list[str]:
    workers = env.get("WEB_CONCURRENCY") or str(2 * (os.cpu_count() or 1) + 1)
    return [PYTHON, "-m", "gunicorn", "store.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", workers, "--worker-class", "gthread", "--threads", env.get("WEB_THREADS") or "4",
            # Linux: a listening socket per worker, so the kernel spreads connections evenly; with one shared
            # socket the first worker to wake accepts a whole burst of keep-alive connections (bench/pages.py saw
            # all 8 of its connections on one worker in some runs, at under half the throughput)
            *(["--reuse-port"] if sys.platform.startswith("linux") else []),
            "--graceful-timeout", "10",  # well inside the supervisor's 20 s to stop
            # gunicorn's control socket is one path per user (~/.gunicorn/gunicorn.ctl) that every store (and the
            # bench's bare project) on the machine would share; the launcher is what controls this server
            "--no-control-socket",
            # no access log unless asked: even one written to /dev/null is formatted, ~1% of a worker's time
            *(["--access-logfile", "-"] if env.get("ACCESS_LOG") else [])]


CELERY = [PYTHON, "-m", "celery", "-A", "store"]


def worker_commands(env: dict) -> list[tuple[tuple[str, ...], list[str]]]:
    """A Celery worker per group of queues CELERY_QUEUES names (store.queues): by default one for every queue,
    since each worker costs ~100 MiB and a 2-core machine gains nothing from more. Each gets its own node name,
    so several run side by side on one host."""
    try:
        groups = queues.worker_groups(env.get("CELERY_QUEUES"))
    except queues.QueueSpecError as exc:
        raise SystemExit(f"[store] {exc}") from None
    return [(group, [*CELERY, "worker", "--loglevel", "WARNING", "--concurrency", "2",
                     "--queues", ",".join(group),
                     "--hostname", f"{'all' if group == queues.QUEUES else '+'.join(group)}@%h"])
            for group in groups]


def beat_command() -> list[str]:
    return [*CELERY, "beat", "--loglevel", "WARNING"]


def processes(mode: str, env: dict, port: str) -> list[tuple[str, list[str], bool]]:
    """What run or serve starts once the database is migrated, in order: (name, command, essential). deploy/systemd/
    has a unit for each (tests/core/test_deploy.py)."""
    started = [("celery worker" if group == queues.QUEUES else f"celery worker ({','.join(group)})", command, False)
               for group, command in worker_commands(env)]
    started.append(("celery beat", beat_command(), False))
    web = [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}"] if mode == "run" else gunicorn_command(env, port)
    started.append(("web", web, True))
    return started


def _serve(mode: str, sup: Supervisor, env: dict) -> None:
    port = env.get("PORT", "8000")
    if not port.isdigit() or not port_free(int(port)):
        raise SystemExit(f"[store] port {port} is not free (another store running?); set PORT to another one")
    started = processes(mode, env, port)  # a wrong CELERY_QUEUES stops here, before anything starts
    _say("applying migrations")
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "seed_catalog", "--if-empty")
    _manage(env, "seed_shipping", "--if-empty")
    if mode == "run":  # a paid sample history (test gateway), so a fresh clone shows its recommendations
        _manage(env, "seed_orders", "--if-empty", "--orders", "500", "--no-deliver")  # the worker learns them
        _manage(env, "recommendations", "rebuild")
        _manage(env, "reviews", "seed", "--if-empty")  # their buyers' reviews, so cards show stars; while none
    else:
        _manage(env, "collectstatic", "--noinput", "-v", "0")
    consumed = {queue for _, command, _ in started if "--queues" in command
                for queue in command[command.index("--queues") + 1].split(",")}
    unconsumed = [queue for queue in queues.QUEUES if queue not in consumed]
    if unconsumed:
        _say(f"no worker here for the queue(s) {', '.join(unconsumed)} (CELERY_QUEUES): run one elsewhere")
    for name, command, essential in started:
        sup.start(name, command, env, essential=essential)
    _say(f"the store is on http://127.0.0.1:{port}/  (Ctrl-C stops everything)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m store.launcher")
    parser.add_argument("mode", choices=["run", "serve", "exec"])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    sup = Supervisor()

    def on_signal(signum, _frame):
        sup.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    env, services, embedded = _environment(args.mode)
    status, replicas = 0, 0
    try:
        replicas = start_replicas(env, services, embedded)
        if args.mode == "exec":
            command = args.command[1:] if args.command[:1] == ["--"] else args.command
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command gets Ctrl-C; we wait for it, then clean up
            status = subprocess.run(command, cwd=ROOT, env=env).returncode
        else:
            _serve(args.mode, sup, env)
            if services is not None:
                sup.watch(services, embedded)
            status = sup.wait()
    except subprocess.CalledProcessError as exc:
        _say(f"{' '.join(map(str, exc.cmd[1:3]))} failed with {exc.returncode}")
        status = exc.returncode
    finally:
        sup.stop()
        for number in range(1, replicas + 1):
            services.stop_replica(number)
        if services is not None and services.release():
            _say("stopped the embedded servers")
    return status


if __name__ == "__main__":
    sys.exit(main())
