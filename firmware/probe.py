"""A watching MQTT client for tests, benches and ``lobbygate demo --check``.

:class:`MqttProbe` connects as a read-only observer (or any account), subscribes to a filter
and keeps every message; :meth:`wait_for` blocks on a condition variable until a predicate
holds over the messages seen, with a timeout (never a sleep loop)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from mqtt_topics import LobbygateError


@dataclass(frozen=True)
class Message:
    """One received message."""

    topic: str
    payload: bytes
    retain: bool
    qos: int


class MqttProbe:
    """Subscribe to ``topic_filter`` on ``host:port`` as ``username``; keep all messages.

    ``protocol``: ``mqtt.MQTTv311`` (default) or ``mqtt.MQTTv5``; ``ca_file``: connect over TLS,
    trusting this CA (default None: plain TCP)."""

    def __init__(self, *, host: str, port: int, username: str, password: str,
                 topic_filter: str, qos: int = 1, protocol: int = mqtt.MQTTv311,
                 client_id: str = "", ca_file: str | None = None) -> None:
        self._host, self._port, self._filter, self._qos = host, port, topic_filter, qos
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=protocol)
        self._client.username_pw_set(username, password)
        if ca_file:  # TLS, verifying the broker against the site CA
            self._client.tls_set(ca_certs=str(ca_file))
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._cond = threading.Condition()
        self.messages: list[Message] = []
        self.connect_rc: object = None
        self.subscribe_rcs: list[object] = []
        self._subscribed = False
        self._closed = False

    def _on_connect(self, client, userdata, flags, rc, props=None) -> None:
        with self._cond:
            self.connect_rc = rc
            self._cond.notify_all()
        if not rc.is_failure:
            client.subscribe(self._filter, qos=self._qos)

    def _on_subscribe(self, client, userdata, mid, rcs, props=None) -> None:
        with self._cond:
            self.subscribe_rcs = list(rcs)
            self._subscribed = True
            self._cond.notify_all()

    def _on_message(self, client, userdata, msg) -> None:
        with self._cond:
            self.messages.append(Message(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos))
            self._cond.notify_all()

    def start(self, *, timeout_s: float = 10.0) -> "MqttProbe":
        """Connect, subscribe and return once the subscription is acknowledged."""
        self._client.connect(self._host, self._port, keepalive=30)
        self._client.loop_start()
        with self._cond:
            if not self._cond.wait_for(lambda: self._subscribed or (
                    self.connect_rc is not None and self.connect_rc.is_failure), timeout_s):
                raise LobbygateError("probe: no SUBACK in time")
        if self.connect_rc.is_failure:
            raise LobbygateError(f"probe: connect refused: {self.connect_rc}")
        return self

    def wait_for(self, predicate: Callable[[list[Message]], bool], *, timeout_s: float = 10.0) -> bool:
        """Block until ``predicate(messages)`` is true; return False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.messages), timeout_s)

    def wait_count(self, n: int, *, topic_contains: str = "", timeout_s: float = 10.0) -> list[Message]:
        """Wait for at least ``n`` messages whose topic contains ``topic_contains``; return them."""
        pick = lambda ms: [m for m in ms if topic_contains in m.topic]  # noqa: E731
        self.wait_for(lambda ms: len(pick(ms)) >= n, timeout_s=timeout_s)
        with self._cond:
            return pick(self.messages)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False,
                timeout_s: float = 5.0) -> bool:
        """Publish and wait for the broker's acknowledgement; False if it was not sent in time."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        try:
            info.wait_for_publish(timeout=timeout_s)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    def close(self) -> None:
        """Disconnect and stop the network thread.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> "MqttProbe":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_until(predicate: Callable[[], bool], *, timeout_s: float = 10.0, interval_s: float = 0.01) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` passes, for state that has no event to
    wait on (a file, another process).  Returns the last result."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)
