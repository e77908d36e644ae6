"""`make serve` keeps the shop's own processes up: a killed Celery worker or embedded server comes back, the web
never goes down with it, and Ctrl-C still stops everything, restarted processes included."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from store.embedded import ROOT, EmbeddedServices
from store.launcher import descendants

pytestmark = pytest.mark.slow


def _until(condition, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
    return result


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def _running(pid: int) -> bool:
    """Not gone and not a zombie (nobody may have reaped it yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


class Launched:
    """`python -m store.launcher serve` on its own data folder (so its own embedded servers) and a free port."""

    def __init__(self, folder: Path):
        self.services = EmbeddedServices(folder)
        self.folder = folder
        self.log_path = folder / "launcher.log"
        folder.mkdir(parents=True)
        self.proc = None

    def launch(self) -> None:
        """Start it on a port the OS has just found free. Between that and the store's own bind another program may
        take the port (nothing can hold it for a process we do not write); the store then stops at once, saying so,
        and ``start`` tries another."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
        env.update(STORE_DATA_DIR=str(self.folder), PORT=str(self.port), WEB_CONCURRENCY="1", WEB_THREADS="2")
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "store.launcher", "serve"], cwd=ROOT, env=env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, attempts: int = 3) -> None:
        """Launch until it answers, or has stopped for another reason than a port taken meanwhile."""
        for _ in range(attempts):
            self.launch()
            _until(lambda: self.health() == 200 or self.proc.poll() is not None, "the store to answer", 60)
            if self.proc.poll() is None or "is not free" not in self.log():
                return

    def health(self) -> int | None:
        """/healthz's status, or None when nothing answers."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=3) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None

    def celery_worker(self) -> int | None:
        """The Celery worker the launcher started (its pool processes are that worker's children, not ours)."""
        for pid in descendants(self.proc.pid):
            with contextlib.suppress(OSError, IndexError):
                ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                if ppid == self.proc.pid and "celery" in _cmdline(pid) and " worker " in _cmdline(pid):
                    return pid
        return None

    def log(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
def launched():
    # inside the test data folder, like test_embedded's servers: reachable by the unprivileged PostgreSQL user
    folder = settings.DATA_DIR / "supervision-tests" / uuid.uuid4().hex[:8]
    store = Launched(folder)
    try:
        store.start()
        yield store
    finally:
        if store.proc is not None and store.proc.poll() is None:
            os.killpg(store.proc.pid, signal.SIGKILL)
            store.proc.wait()
        with store.services._locked():
            store.services._stop_redis()
            store.services._stop_postgres()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(store.services._temp_dir(), ignore_errors=True)


def test_killed_worker_and_embedded_servers_come_back_and_the_web_stays_up(launched):
    assert launched.proc.poll() is None and launched.health() == 200, launched.log()
    answers = []  # /healthz's status at every poll from here on

    def until(condition, what: str, timeout: float = 15):
        def asking_the_web_too():
            answers.append(launched.health())
            return condition()
        return _until(asking_the_web_too, what, timeout)

    worker = launched.celery_worker()
    os.kill(worker, signal.SIGKILL)
    new_worker = until(lambda: launched.celery_worker() if launched.celery_worker() != worker else None,
                       "a new Celery worker")
    until(lambda: descendants(new_worker), "the new worker's pool processes", 30)
    assert set(answers) == {200}, "the web answered, healthy, all along"
    assert "[store] celery worker exited with code -9; restarting in 1 s" in launched.log()

    for server, pid_of in (("Redis", launched.services._redis_pid), ("PostgreSQL", launched.services._postgres_pid)):
        killed = pid_of()
        os.kill(killed, signal.SIGKILL)
        until(lambda pid_of=pid_of, killed=killed: pid_of() not in (None, killed), f"embedded {server} back")
        until(lambda: answers[-1] == 200, f"/healthz to be 200 again after {server}'s restart")
        assert f"[store] embedded {server} is down; restarting in 1 s" in launched.log()
    assert None not in answers, "the web answered all along (503 while a server was down)"
    assert launched.proc.poll() is None, "the web server's exit is what stops the store, nothing else"

    started = [*descendants(launched.proc.pid), launched.services._redis_pid(), launched.services._postgres_pid()]
    os.kill(launched.proc.pid, signal.SIGINT)  # to the launcher alone: it stops its children itself
    launched.proc.wait(timeout=30)
    still_running = [f"{pid} {_cmdline(pid)}" for pid in started if _running(pid)]
    assert not still_running, "Ctrl-C stops everything, the restarted worker and servers included"
