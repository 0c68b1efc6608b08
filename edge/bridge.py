"""The node's MQTT connection (paho-mqtt 2.x, ``CallbackAPIVersion.VERSION2``).

:class:`MqttBridge` owns one paho client and its one network thread (``loop_start``):

- **Will**: a retained ``offline`` :class:`~mqtt_topics.NodeStatus` on the node's status topic.
- **On every (re)connect**: publish a retained ``online`` status, (re)subscribe (QoS 1) to the
  node's ``cmd/+`` and the site's ``sync/+``. When the SUBACK of that subscription arrives the
  bridge is *ready* and calls :attr:`on_ready`: by then paho has re-queued the QoS 1 messages it
  still had in flight (it does that right after ``on_connect``, in the same thread), so the
  outbox pump's new publications always follow them and events leave in ``seq`` order.
- **Reconnect back-off with jitter**: paho's own reconnect loop runs with its delay set to 0 and
  the bridge waits in ``on_pre_connect`` (which paho calls before every connection attempt,
  in the network thread) for ``reconnect_min_s + random() * (d - reconnect_min_s)`` seconds,
  where ``d = min(reconnect_max_s, reconnect_min_s * 2**failures)``. The wait ends early on
  :meth:`stop`. The first attempt after :meth:`start` does not wait.
- **Client id = node id** (stable), with a clean session: when a node restarts while the broker
  still holds its old half-open connection, the broker takes the old session over at once and
  publishes its Will *before* the new connection's ``online`` status, never after it.
- **Callbacks never raise**: each body is wrapped; an exception is logged and counted
  (``callback_errors``).
- **Inbound**: topics are parsed with :func:`mqtt_topics.topics.parse` and payloads with the
  contract's ``from_json``; wrong-topic, oversized, non-JSON and wrong-schema messages are
  logged and counted per reason (``bad_payload_<reason>``); a bad command whose ``cmd_id`` can be
  recovered is handed to :attr:`on_bad_command` so it can be answered and journalled.
"""

from __future__ import annotations

import json
import logging
import random
import re
import ssl
import threading
from typing import Any, Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from mqtt_topics import (MAX_PAYLOAD_BYTES, MAX_SYNC_BYTES, CommandEnvelope, CommandResult,
                         ContractError, NodeStatus, SyncSnapshot, Telemetry)
from mqtt_topics import topics as T
from mqtt_topics.topics import TopicKind

from .config import MqttSettings
from .counters import Counters
from .journal import utc_ms

__all__ = ["MqttBridge", "backoff_delay", "recover_cmd_id", "BAD_PAYLOAD_REASONS"]

log = logging.getLogger(__name__)

#: Reasons an inbound message is refused, each counted as ``bad_payload_<reason>``.
BAD_PAYLOAD_REASONS = ("bad_topic", "oversized", "not_json", "bad_schema")
#: Room in paho's in-flight limit above the outbox window for status and cmd_result messages.
CONTROL_HEADROOM = 16
_CMD_ID_RE = re.compile(rb'"cmd_id"\s*:\s*"([A-Za-z0-9]{8,64})"')


def backoff_delay(failures: int, *, min_s: float, max_s: float, rng: random.Random) -> float:
    """Seconds to wait before reconnect attempt number ``failures`` (1 = the first retry):
    ``min_s + rng.random() * (d - min_s)`` with ``d = min(max_s, min_s * 2**(failures-1))``,
    so always within ``[min_s, max_s]`` and growing exponentially with full jitter above
    ``min_s``."""
    ceiling = min(max_s, min_s * (2 ** max(0, min(failures - 1, 62))))
    return min_s + rng.random() * max(0.0, ceiling - min_s)


def recover_cmd_id(payload: bytes, obj: Any = None) -> str | None:
    """The ``cmd_id`` of a command that could not be parsed, if one can be found: from the
    decoded object, else by a search of the raw bytes (oversized or broken JSON)."""
    if isinstance(obj, dict):
        value = obj.get("cmd_id")
        if isinstance(value, str) and 8 <= len(value) <= 64 and value.isalnum() and value.isascii():
            return value
        return None
    match = _CMD_ID_RE.search(payload)
    return match.group(1).decode("ascii") if match else None


class MqttBridge:
    """The MQTT side of a node.

    :param settings: broker connection settings (:class:`~edge.config.MqttSettings`).
    :param site: site id; :param node: node id (also the MQTT client id).
    :param boot_id: this boot's id, in every status message.
    :param version: the software version reported in status messages.
    :param clock: UTC ms (default: wall clock) for status/telemetry timestamps.
    :param window: the outbox window; paho's ``max_inflight_messages`` is set to
        ``window + CONTROL_HEADROOM`` so events never queue inside paho.
    :param rng: random source for the reconnect jitter (injected for tests).

    Hooks (attributes, set before :meth:`start`; each is called in the network thread and must
    not block for long): ``on_ready()``, ``on_lost()``, ``on_ack(mid, ok)``,
    ``on_command(action, envelope)``, ``on_bad_command(cmd_id, action, detail)``,
    ``on_sync(snapshot)``.
    """

    def __init__(self, settings: MqttSettings, *, site: str, node: str, boot_id: str,
                 version: str, clock: Callable[[], int] = utc_ms, window: int = 100,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.site, self.node, self.boot_id, self.version = site, node, boot_id, version
        self._clock = clock
        self._rng = rng or random.Random()
        self.window = window
        self.status_topic = T.status(site, node)
        self.command_filter = T.node_commands_filter(site, node)
        self.sync_filter = T.sync_filter(site)
        self._cmd_prefix = self.command_filter[:-1]  # ".../{node}/cmd/"
        self.counters = Counters(["connects", "connect_failures", "disconnects", "callback_errors",
                                  "messages_in", "commands_in", "sync_in", "publish_errors",
                                  "telemetry_dropped", "subscribe_refused"]
                                 + [f"bad_payload_{r}" for r in BAD_PAYLOAD_REASONS])
        self.on_ready: Callable[[], None] | None = None
        self.on_lost: Callable[[], None] | None = None
        self.on_ack: Callable[[int, bool], None] | None = None
        self.on_command: Callable[[str, CommandEnvelope], None] | None = None
        self.on_bad_command: Callable[[str | None, str | None, str], None] | None = None
        self.on_sync: Callable[[SyncSnapshot], None] | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._connected = False
        self._ready = False
        self._sub_mid: int | None = None
        self._failures = 0
        self._attempts = 0
        self._client: mqtt.Client | None = None
        self._started = False
        self._stopped = False

    # -- lifecycle ----------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        protocol = mqtt.MQTTv5 if s.protocol == "5" else mqtt.MQTTv311
        kwargs: dict[str, Any] = {"client_id": self.node, "protocol": protocol}
        if protocol == mqtt.MQTTv311:
            kwargs["clean_session"] = True
        client = mqtt.Client(CallbackAPIVersion.VERSION2, **kwargs)
        client.suppress_exceptions = True
        client.username_pw_set(s.username, s.password or None)
        if s.tls:
            client.tls_set(ca_certs=str(s.ca_file) if s.ca_file else None,
                           certfile=str(s.certfile) if s.certfile else None,
                           keyfile=str(s.keyfile) if s.keyfile else None,
                           cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.max_inflight_messages_set(self.window + CONTROL_HEADROOM)
        client.max_queued_messages_set(0)  # unlimited: the journal bounds what is outstanding
        client.reconnect_delay_set(min_delay=0, max_delay=0)  # the jittered wait is ours
        self._set_will(client)
        client.on_pre_connect = self._guard("pre_connect", self._handle_pre_connect)
        client.on_connect = self._guard("connect", self._handle_connect)
        client.on_connect_fail = self._guard("connect_fail", self._handle_connect_fail)
        client.on_disconnect = self._guard("disconnect", self._handle_disconnect)
        client.on_subscribe = self._guard("subscribe", self._handle_subscribe)
        client.on_publish = self._guard("publish", self._handle_publish)
        client.on_message = self._guard("message", self._handle_message)
        return client

    def _set_will(self, client: mqtt.Client) -> None:
        will = NodeStatus(state="offline", boot_id=self.boot_id, ts=self._clock(), version=self.version)
        client.will_set(self.status_topic, will.to_json(), qos=1, retain=True)

    def start(self) -> "MqttBridge":
        """Start the network thread; it connects (and reconnects) in the background."""
        with self._cond:
            if self._started:
                return self
            self._started = True
        self._client = self._make_client()
        s = self.settings
        self._client.connect_async(s.host, s.port, keepalive=s.keepalive_s)
        self._client.loop_start()
        log.info("mqtt: connecting to %s:%d as %s (MQTT %s%s)", s.host, s.port, s.username,
                 s.protocol, (", TLS" + (", client certificate" if s.certfile else "")) if s.tls else "")
        return self

    def stop(self, *, timeout_s: float = 2.0) -> None:
        """Publish the retained ``offline`` status (waiting up to ``timeout_s`` for its PUBACK
        when connected), disconnect cleanly (no Will) and stop the network thread. Idempotent."""
        with self._cond:
            if self._stopped or not self._started:
                self._stopped = True
                return
            self._stopped = True
            connected = self._connected
        client = self._client
        assert client is not None
        if connected:
            try:
                info = client.publish(self.status_topic, self._status("offline"), qos=1, retain=True)
                info.wait_for_publish(timeout=timeout_s)
            except (RuntimeError, ValueError) as exc:
                log.warning("mqtt: offline status not acknowledged: %s", exc)
        self._stop.set()
        client.disconnect()
        client.loop_stop()
        with self._cond:
            self._connected = self._ready = False
            self._cond.notify_all()
        log.info("mqtt: stopped")

    # -- state --------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True between CONNACK and the loss of the connection."""
        with self._cond:
            return self._connected

    @property
    def ready(self) -> bool:
        """True once the connect-time subscription is acknowledged (see the module note)."""
        with self._cond:
            return self._ready

    def wait_ready(self, timeout_s: float) -> bool:
        """Block until :attr:`ready` (True) or ``timeout_s`` seconds pass (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._ready, timeout_s)

    @property
    def network_alive(self) -> bool:
        """True while paho's network thread runs (for the systemd watchdog)."""
        thread = getattr(self._client, "_thread", None)  # paho keeps its loop_start thread here
        return bool(thread is not None and thread.is_alive())

    # -- publishing ---------------------------------------------------------------------------

    def publish_event(self, topic: str, payload: bytes) -> int | None:
        """Publish an event (QoS 1, not retained); return paho's message id, or None if paho
        did not take the message (it then must be published again later). Called by the pump."""
        client = self._client
        if client is None:
            return None
        try:
            info = client.publish(topic, payload, qos=1)
        except (ValueError, RuntimeError) as exc:
            self.counters.incr("publish_errors")
            log.error("mqtt: publish to %s failed: %s", topic, exc)
            return None
        if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            return info.mid  # NO_CONN: paho keeps a QoS 1 message and sends it on reconnect
        self.counters.incr("publish_errors")
        log.warning("mqtt: paho refused event on %s: %s", topic, mqtt.error_string(info.rc))
        return None

    def publish_result(self, result: CommandResult) -> bool:
        """Publish a command result on ``cmd_result`` (QoS 1, not journalled)."""
        return self._publish(T.command_result(self.site, self.node), result.to_json(), qos=1)

    def publish_telemetry(self, telemetry: Telemetry) -> bool:
        """Publish telemetry (QoS 0) if connected; dropped (and counted) otherwise."""
        if not self.connected:
            self.counters.incr("telemetry_dropped")
            return False
        return self._publish(T.telemetry(self.site, self.node, telemetry.device),
                             telemetry.to_json(), qos=0)

    def _publish(self, topic: str, payload: bytes, *, qos: int, retain: bool = False) -> bool:
        client = self._client
        if client is None:
            return False
        try:
            info = client.publish(topic, payload, qos=qos, retain=retain)
        except (ValueError, RuntimeError) as exc:
            self.counters.incr("publish_errors")
            log.error("mqtt: publish to %s failed: %s", topic, exc)
            return False
        return info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)

    def _status(self, state: str) -> bytes:
        return NodeStatus(state=state, boot_id=self.boot_id, ts=self._clock(),
                          version=self.version).to_json()

    # -- paho callbacks (network thread) --------------------------------------------------------

    def _guard(self, name: str, fn: Callable[..., None]) -> Callable[..., None]:
        def wrapped(*args: Any) -> None:
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - a callback must never take the network thread down
                self.counters.incr("callback_errors")
                log.exception("mqtt: on_%s callback failed", name)
        wrapped.__name__ = f"on_{name}"
        return wrapped

    def _handle_pre_connect(self, client: mqtt.Client, userdata: Any) -> None:
        self._attempts += 1
        if self._attempts > 1:
            delay = backoff_delay(max(1, self._failures), min_s=self.settings.reconnect_min_s,
                                  max_s=self.settings.reconnect_max_s, rng=self._rng)
            log.debug("mqtt: reconnecting in %.2f s (attempt %d)", delay, self._attempts)
            self._stop.wait(delay)
        self._set_will(client)

    def _handle_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                        properties: Any) -> None:
        if reason.is_failure:
            self._failures += 1
            self.counters.incr("connect_failures")
            log.error("mqtt: broker refused the connection: %s", reason)
            return
        self._failures = 0
        self.counters.incr("connects")
        with self._cond:
            self._connected = True
            self._ready = False
        client.publish(self.status_topic, self._status("online"), qos=1, retain=True)
        rc, mid = client.subscribe([(self.command_filter, 1), (self.sync_filter, 1)])
        log.info("mqtt: connected to %s:%d", self.settings.host, self.settings.port)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            log.warning("mqtt: subscribe failed at once: %s", mqtt.error_string(rc))
            self._become_ready()
            return
        with self._cond:
            self._sub_mid = mid

    def _handle_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: list,
                          properties: Any) -> None:
        with self._cond:
            ours = mid == self._sub_mid
        if not ours:
            return
        refused = [str(rc) for rc in reason_codes if rc.is_failure]
        if refused:
            self.counters.incr("subscribe_refused")
            log.error("mqtt: broker refused subscriptions %s / %s: %s (check the broker ACL)",
                      self.command_filter, self.sync_filter, refused)
        self._become_ready()

    def _become_ready(self) -> None:
        with self._cond:
            if not self._connected:
                return
            self._ready = True
            self._cond.notify_all()
        if self.on_ready:
            self.on_ready()

    def _handle_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._failures += 1
        self.counters.incr("connect_failures")
        if self._failures == 1 or self._failures % 10 == 0:
            log.warning("mqtt: cannot reach %s:%d (failed attempts: %d)", self.settings.host,
                        self.settings.port, self._failures)

    def _handle_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                           properties: Any) -> None:
        if self.on_lost:
            self.on_lost()  # first, so that once `connected` reads False the pump has stopped
        with self._cond:
            was = self._connected
            self._connected = self._ready = False
            self._sub_mid = None
            self._cond.notify_all()
        if was:
            self.counters.incr("disconnects")
            if not self._stop.is_set():
                self._failures = max(self._failures, 1)
                log.warning("mqtt: connection lost (%s); reconnecting", reason)

    def _handle_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any,
                        properties: Any) -> None:
        if self.on_ack:
            self.on_ack(mid, not reason.is_failure)

    def _handle_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.counters.incr("messages_in")
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = repr(msg._topic)  # noqa: SLF001 - only for the log line
            self._bad(None, "bad_topic", topic, "topic is not UTF-8", b"")
            return
        self.handle_inbound(topic, bytes(msg.payload), retained=bool(msg.retain))

    # -- inbound ------------------------------------------------------------------------------

    def handle_inbound(self, topic: str, payload: bytes, *, retained: bool = False) -> None:
        """Classify and parse one inbound message and hand it on (see the class note)."""
        is_cmd_topic = topic.startswith(self._cmd_prefix)
        try:
            parsed = T.parse(topic)
        except ContractError as exc:
            self._bad(is_cmd_topic, "bad_topic", topic, str(exc), payload)
            return
        if parsed.kind is TopicKind.COMMAND and parsed.node == self.node and parsed.site == self.site:
            self._command(topic, parsed.name or "", payload)
        elif parsed.kind is TopicKind.SYNC and parsed.site == self.site:
            self._sync(topic, payload, retained)
        else:
            self._bad(False, "bad_topic", topic, f"not a topic this node reads ({parsed.kind.value})",
                      payload)

    def _command(self, topic: str, action: str, payload: bytes) -> None:
        self.counters.incr("commands_in")
        if len(payload) > MAX_PAYLOAD_BYTES:
            self._bad(True, "oversized", topic,
                      f"{len(payload)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit", payload,
                      action=action)
            return
        try:
            obj = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            self._bad(True, "not_json", topic, f"not UTF-8 JSON ({exc})", payload, action=action)
            return
        try:
            envelope = CommandEnvelope.from_json(payload)
        except ContractError as exc:
            self._bad(True, "bad_schema", topic, str(exc), payload, action=action, obj=obj)
            return
        if self.on_command:
            self.on_command(action, envelope)

    def _sync(self, topic: str, payload: bytes, retained: bool) -> None:
        if not payload:
            log.info("mqtt: sync topic %s cleared", topic)
            return
        self.counters.incr("sync_in")
        if len(payload) > MAX_SYNC_BYTES:
            self._bad(False, "oversized", topic, f"{len(payload)} bytes, over {MAX_SYNC_BYTES}", payload)
            return
        try:
            json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            self._bad(False, "not_json", topic, f"not UTF-8 JSON ({exc})", payload)
            return
        try:
            snapshot = SyncSnapshot.from_json(payload)
        except ContractError as exc:
            self._bad(False, "bad_schema", topic, str(exc), payload)
            return
        if self.on_sync:
            self.on_sync(snapshot)

    def _bad(self, command: bool | None, reason: str, topic: str, detail: str, payload: bytes,
             *, action: str | None = None, obj: Any = None) -> None:
        self.counters.incr(f"bad_payload_{reason}")
        log.warning("mqtt: refused message on %s: %s: %s", topic, reason, detail)
        if not command:
            return
        cmd_id = recover_cmd_id(payload, obj)
        if cmd_id is None:
            log.warning("mqtt: no cmd_id in the refused command on %s; nothing to answer", topic)
            return
        if action is None:
            tail = topic[len(self._cmd_prefix):]
            action = tail if tail else None
        if self.on_bad_command:
            self.on_bad_command(cmd_id, action, f"bad_payload: {reason}: {detail}")
