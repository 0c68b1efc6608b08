"""Helpers for the console data-layer tests: a fake clock, event builders, a node client."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable, Mapping

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from mqtt_topics import EventEnvelope, NodeStatus, make_event_id
from mqtt_topics import topics as T
from web.ingest import BrokerSettings
from web.live import Subscription

SITE = "test-site"
T0 = 1_700_000_000_000
BOOT = "boot-1"
KEY = b"lobby-command-key-0123456789abcdef"


class FakeClock:
    """UTC ms that only moves when a test says so."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now


def envelope(seq: int, *, node: str = "lobby", kind: str = "card.read", ts: int | None = None,
             boot: str = BOOT, data: Mapping[str, Any] | None = None) -> EventEnvelope:
    """An event envelope; ``ts`` defaults to T0 + seq seconds."""
    return EventEnvelope(event_id=make_event_id(node, boot, seq), node=node, kind=kind,
                         ts=T0 + seq * 1000 if ts is None else ts, seq=seq,
                         data=dict(data if data is not None else {"reader": "r1", "card": f"{seq:06d}"}))


class NodeClient:
    """A paho client logged in as a node (broker ACL applies), publishing QoS 1.

    ``will``: set the node's offline status as its Will.  :meth:`drop` closes the socket
    without DISCONNECT, so the broker publishes the Will."""

    def __init__(self, creds: Mapping[str, Any], *, node: str, will: NodeStatus | None = None,
                 site: str = SITE) -> None:
        self.node, self.site = node, site
        self._c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"node-{node}",
                              protocol=mqtt.MQTTv311)
        self._c.username_pw_set(str(creds["username"]), str(creds["password"]))
        self._c.max_inflight_messages_set(100)
        if will is not None:
            self._c.will_set(T.status(site, node), will.to_json(), qos=1, retain=True)
        self._connected = threading.Event()
        self._c.on_connect = lambda *a: self._connected.set()
        self._c.connect(str(creds["host"]), int(creds["port"]), keepalive=30)
        self._c.loop_start()
        if not self._connected.wait(10):
            raise RuntimeError("node client could not connect")
        self._closed = False

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1) -> None:
        """Publish and wait for the broker's PUBACK."""
        info = self._c.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(10)
        assert info.is_published(), f"not acknowledged: {topic}"

    def publish_events(self, envs: Iterable[EventEnvelope]) -> int:
        """Publish many events pipelined (QoS 1), then wait for every PUBACK; returns how many."""
        infos = [self._c.publish(T.event(self.site, e.node, e.kind), e.to_json(), qos=1) for e in envs]
        for info in infos:
            info.wait_for_publish(30)
            assert info.is_published()
        return len(infos)

    def event(self, env: EventEnvelope) -> None:
        self.publish(T.event(self.site, env.node, env.kind), env.to_json())

    def status(self, status: NodeStatus, *, retain: bool = True) -> None:
        self.publish(T.status(self.site, self.node), status.to_json(), retain=retain)

    def drop(self) -> None:
        """Vanish without DISCONNECT (a crash or a pulled cable): the broker sends the Will."""
        self._c.loop_stop()
        sock = self._c.socket()
        if sock is not None:
            sock.close()
        self._closed = True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._c.disconnect()
        self._c.loop_stop()


def broker_settings(broker: Any, client_id: str = "lobbygate-console") -> BrokerSettings:
    """The console's broker settings for a test MosquittoBroker."""
    c = broker.credentials("console")
    return BrokerSettings(host=str(c["host"]), port=int(c["port"]), username="console",
                          password=str(c["password"]), client_id=client_id)


def wait_channel(sub: Subscription, channel: str, pred: Callable[[dict], bool] = lambda p: True,
                 *, timeout_s: float = 10.0) -> dict:
    """The first live update on ``channel`` whose payload satisfies ``pred`` (or fail)."""
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        item = sub.get(timeout_s=left)
        if item is not None and item[0] == channel and pred(item[1]):
            return item[1]
    raise AssertionError(f"no {channel!r} update within {timeout_s} s")


class IngestProcess:
    """``python -m web.ingest_main`` as a child process (so a test can SIGKILL it by PID)."""

    def __init__(self, *, repo: Any, db_path: Any, broker: Any, site: str = SITE) -> None:
        import os
        import sys
        c = broker.credentials("console")
        self.argv = [sys.executable, "-m", "web.ingest_main", "--db", str(db_path), "--host", str(c["host"]),
                     "--port", str(c["port"]), "--site", site, "--username", "console"]
        self.env = dict(os.environ, PYTHONPATH=str(repo), LOBBYGATE_BROKER_PASSWORD=str(c["password"]))
        self.cwd = str(repo)
        self.proc: Any = None
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None
        self.lines: list[str] = []

    def start(self, *, timeout_s: float = 30.0) -> "IngestProcess":
        import subprocess
        self._ready.clear()
        self.lines = []
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout_s):
            self.kill()
            raise RuntimeError("ingest process did not become ready")
        return self

    def _read(self, proc: Any) -> None:
        for line in proc.stdout:
            self.lines.append(line.strip())
            if line.strip() == "ready":
                self._ready.set()

    def kill(self) -> None:
        """SIGKILL by PID (a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def terminate(self) -> dict:
        """SIGTERM by PID and wait; returns the counters the process printed."""
        import json
        import signal
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(20)
        self._reader.join(5)  # it ends at the dead process's end of output, last line read
        return json.loads(self.lines[-1])
