"""make serve's web server command, its port check, and the supervisor's restarts (tests/core/test_supervision.py
runs the whole launcher)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.conf import settings

from store import launcher
from store.embedded import EmbeddedServices


def test_a_port_in_use_is_not_free():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert not launcher.port_free(port)
    assert launcher.port_free(port)


def test_a_port_left_with_connections_in_time_wait_is_free():
    """Stopping `make run` and starting it again at once: the old server's closed connections linger in TIME_WAIT
    on its port for a minute, and must not make the port look taken."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as every server (runserver, gunicorn) does
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as browser:
            accepted, _ = server.accept()
            accepted.close()  # the server closes first: its side of the connection waits in TIME_WAIT
            assert browser.recv(1) == b""
    assert launcher.port_free(port)


def test_a_port_held_by_reuse_port_listeners_is_not_free():
    # what a running `make serve` holds on Linux: a plain bind must still see the port as taken
    if not hasattr(socket, "SO_REUSEPORT"):
        pytest.skip("no SO_REUSEPORT here")
    with socket.socket() as worker:
        worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        worker.bind(("127.0.0.1", 0))
        worker.listen()
        assert not launcher.port_free(worker.getsockname()[1])


def _launch_exec(tmp_dir, **environ) -> subprocess.CompletedProcess:
    """`python -m store.launcher exec` with this environment, running a command that reports what it was given."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL")}
    env.update(STORE_DATA_DIR=str(tmp_dir), **environ)
    report = ("import json, os; print(json.dumps({k: os.environ.get(k) for k in "
              "('DATABASE_URL', 'REDIS_URL', 'CACHE_REDIS_URL')}))")
    return subprocess.run([sys.executable, "-m", "store.launcher", "exec", "--", sys.executable, "-c", report],
                          cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


def test_the_launcher_starts_only_the_embedded_servers_it_needs():
    folder = settings.DATA_DIR / "launcher-tests" / uuid.uuid4().hex[:8]
    try:
        run = _launch_exec(folder, DATABASE_URL="postgresql://someone@db.example/store")
        assert run.returncode == 0, run.stderr
        given = json.loads(run.stdout)
        assert given["DATABASE_URL"] == "postgresql://someone@db.example/store"
        assert given["REDIS_URL"].startswith("unix://") and given["CACHE_REDIS_URL"].startswith("unix://")
        assert "starting embedded Redis, cache Redis in" in run.stderr
        assert not (EmbeddedServices(folder).pgdata / "PG_VERSION").exists(), "no PostgreSQL made"

        run = _launch_exec(folder, DATABASE_URL="postgresql://someone@db.example/store",
                           REDIS_URL="redis://redis.example:6379")
        assert run.returncode == 0, run.stderr
        assert "starting embedded" not in run.stderr
        assert json.loads(run.stdout)["CACHE_REDIS_URL"] is None
        assert "CACHE_REDIS_URL is unset: the page and data cache share REDIS_URL's server" in run.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(EmbeddedServices(folder)._temp_dir(), ignore_errors=True)


def test_gunicorn_command_follows_the_environment():
    command = launcher.gunicorn_command({"WEB_CONCURRENCY": "3", "WEB_THREADS": "2"}, "8123")
    assert command[command.index("--bind") + 1] == "127.0.0.1:8123"
    assert command[command.index("--workers") + 1] == "3" and command[command.index("--threads") + 1] == "2"
    assert ("--reuse-port" in command) == sys.platform.startswith("linux")
    assert "--access-logfile" not in command
    assert "--access-logfile" in launcher.gunicorn_command({"ACCESS_LOG": "1"}, "8000")


def test_restart_delays_double_up_to_30_s_and_start_over_after_a_minute_up():
    backoff = launcher.Backoff()
    assert [backoff.next_delay() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    backoff.started_at -= launcher.BACKOFF_RESET_AFTER  # as if the last start had lasted a minute
    assert backoff.next_delay() == 1


def test_a_dying_child_is_restarted_and_only_the_essential_childs_exit_ends_the_wait(tmp_path, capsys):
    stop_web = tmp_path / "stop-web"
    sup = launcher.Supervisor()
    sup.start("crasher", [sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ))
    web_code = "import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.05)\nraise SystemExit(4)"
    sup.start("web", [sys.executable, "-c", web_code, str(stop_web)], dict(os.environ), essential=True)
    crasher, web = sup.children
    first = crasher.proc.pid
    status = []
    waiting = threading.Thread(target=lambda: status.append(sup.wait()))
    waiting.start()
    try:
        deadline = time.monotonic() + 10
        while crasher.proc.pid == first:  # restarted 1 s after its death
            assert time.monotonic() < deadline, "the crashing child was not restarted"
            time.sleep(0.05)
        assert web.proc.poll() is None and waiting.is_alive(), "the web server is untouched"
        stop_web.touch()
        waiting.join(timeout=10)
        assert status == [4]
    finally:
        sup.stopping = True
        waiting.join(timeout=10)
        sup.stop(grace=2)
    assert "[store] crasher exited with code 3; restarting in 1 s" in capsys.readouterr().err
