"""systemd notifications (edge.systemd): READY/WATCHDOG datagrams, abstract sockets, no-op."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Iterator

import pytest

from edge.systemd import Watchdog, notify, watchdog_interval_s
from edge_helpers import NodeProcess, config_dict, write_config
from firmware.mosquitto import MosquittoBroker


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify.sock")
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def test_notify_without_notify_socket_does_nothing() -> None:
    assert notify("READY=1", environ={}) is False


def test_notify_sends_the_state_to_a_path_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    assert notify("READY=1", environ={"NOTIFY_SOCKET": path}) is True
    assert sock.recv(256) == b"READY=1"


def test_notify_reaches_an_abstract_namespace_socket() -> None:
    name = f"lobbygate-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert notify("STOPPING=1", environ={"NOTIFY_SOCKET": "@" + name}) is True
        assert sock.recv(256) == b"STOPPING=1"


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert watchdog_interval_s({"WATCHDOG_USEC": "20000000"}) == 10.0
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}) is None


def test_watchdog_pings_only_while_healthy(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    healthy = [True]
    dog = Watchdog(lambda: healthy[0], interval_s=10, environ={"NOTIFY_SOCKET": path})
    assert dog.tick() is True
    assert sock.recv(256) == b"WATCHDOG=1"
    healthy[0] = False
    assert dog.tick() is False
    sock.setblocking(False)
    with pytest.raises(BlockingIOError):
        sock.recv(256)
    assert (dog.pings, dog.missed) == (1, 1)



def datagrams_until(sock: socket.socket, wanted: bytes, *, limit: int = 20) -> list[bytes]:
    """Receive (each within the socket timeout) until ``wanted`` arrives; return all seen."""
    seen: list[bytes] = []
    while wanted not in seen and len(seen) < limit:
        seen.append(sock.recv(256))
    return seen


def test_node_process_tells_systemd_it_is_ready_pings_and_says_when_stopping(
        broker: MosquittoBroker, tmp_path: Path, listener: tuple[socket.socket, str],
        node_processes: list[NodeProcess]) -> None:
    sock, path = listener
    config = write_config(tmp_path / "node.toml", config_dict(broker, tmp_path))
    proc = NodeProcess(config, tmp_path / "node.log",
                       env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"}).start()
    node_processes.append(proc)
    first = datagrams_until(sock, b"WATCHDOG=1")
    assert first[0] == b"READY=1" and first[-1] == b"WATCHDOG=1", (first, proc.log())
    assert proc.terminate() == 0, proc.log()
    assert datagrams_until(sock, b"STOPPING=1")[-1] == b"STOPPING=1"
