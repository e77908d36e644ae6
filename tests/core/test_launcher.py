"""make serve's web server command, its port check, and the supervisor's restarts (tests/core/test_supervision.py
runs the whole launcher)."""

import os
import socket
import sys
import threading
import time

import pytest

from store import launcher


def test_a_port_in_use_is_not_free():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert not launcher.port_free(port)
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
