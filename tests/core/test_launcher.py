"""make serve's web server command and its port check."""

import socket
import sys

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
