"""The console's one MQTT subscriber: every node message into the stores, nothing lost.

One paho-mqtt client (MQTT 3.1.1, ``clean_session=False``, fixed ``client_id``) subscribes to
the whole site at QoS 1 as the console user, so the broker keeps the session and queues
events while the console is down.  Its Will is a retained ``offline``
:class:`~mqtt_topics.ConsoleStatus` on the console status topic; a retained ``online`` one is
published on every connect.

Durability: the client runs with ``manual_ack=True``.  The network thread only stamps each
message with ``received_at`` and queues it; one writer thread takes the queued messages in
batches (up to ``batch_max``), handles the whole batch in ONE SQLite transaction, commits
(``synchronous=FULL``), and only then sends the PUBACKs.  A console killed at any instant
therefore has either committed a message (and a redelivery is counted as a duplicate, not
stored twice) or not acknowledged it (and the broker redelivers it to the persistent session).
Processing synchronously inside ``on_message`` would also be safe but costs one commit (one
fsync) per message; batching is what sustains thousands of events per second.  PUBACKs are
sent only on the connection the message arrived on (a message from a dropped connection is
redelivered by the broker anyway).

Per message, inside the batch (each in its own savepoint, so one bad message never undoes
the others): events are stored once by ``event_id`` (duplicates counted), the node's seq
gaps updated (``console.seq_gap`` alarm for a new gap), alarm-kind events raise an alarm,
status/Will and ``health`` telemetry update the node (``console.node_offline`` when a node
goes from online to offline, ``console.clock_skew`` once per skew episode), ``cmd_result``
goes to :meth:`~web.commands.CommandSender.on_result`.  Bad input (oversized, not JSON, wrong
schema, topic/payload mismatch, unknown topic) is counted per reason, logged (rate-limited)
and acknowledged so it is not redelivered forever.  After the commit the
:class:`~web.live.LiveFeed` is told.

If the database fails (disk full, locked too long), the batch is retried with back-off and
nothing is acknowledged until it is stored.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import ssl
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from mqtt_topics import (MAX_PAYLOAD_BYTES, CommandResult, ConsoleStatus, ContractError,
                         EventEnvelope, NodeStatus, Telemetry, is_alarm)
from mqtt_topics import topics as T
from mqtt_topics.topics import TopicKind

from .commands import CommandSender
from .errors import StoreError
from .live import LiveFeed
from .stores.alarms import CLOCK_SKEW, NODE_OFFLINE, SEQ_GAP, Alarm, AlarmStore
from .stores.events import EventStore, StoredEvent
from .stores.nodes import HEALTH_DEVICE, NodeInfo, NodeStore

__all__ = ["Ingest", "BrokerSettings", "BAD_INPUT_REASONS", "utc_ms"]

log = logging.getLogger(__name__)

#: Reasons a message is refused (each has a counter ``bad_<reason>``).
BAD_INPUT_REASONS = ("oversized", "not_json", "bad_schema", "topic_mismatch", "wrong_topic")
#: Shortest interval between two log lines for the same bad-input reason (s).
BAD_LOG_INTERVAL_S = 10.0


def utc_ms() -> int:
    """Wall-clock time as integer UTC milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def _version() -> str:
    try:
        return metadata.version("lobbygate")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


@dataclass(frozen=True)
class BrokerSettings:
    """How the console reaches the broker.  ``client_id`` must stay the same across restarts
    (the broker keeps the session under it); ``tls``: connect with TLS, verifying the broker
    against ``ca_file`` (None = the system CAs)."""

    host: str
    port: int
    username: str
    password: str
    client_id: str = "lobbygate-console"
    tls: bool = False
    ca_file: str | None = None
    keepalive_s: int = 30


@dataclass(slots=True)
class _Inbound:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    dup: bool
    mid: int
    received_at: int
    generation: int
    size: int  # bytes received (an oversized payload is not kept in memory)


@dataclass
class _Effects:
    """What a batch did, applied only once its transaction has committed."""

    counts: dict[str, int] = field(default_factory=dict)
    events: list[StoredEvent] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    results: int = 0
    seen: dict[str, int] = field(default_factory=dict)  # node -> latest received_at (events)
    bad: list[tuple[str, str, str]] = field(default_factory=list)  # (reason, topic, detail)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


class Ingest:
    """The console's MQTT subscriber and its writer thread.

    :param site: the site id.
    :param broker: where and how to connect.
    :param events, nodes, alarms: the stores it feeds (sharing one database).
    :param live: told about every stored event, raised alarm and changed node.
    :param commands: gets ``cmd_result`` messages (None: they are counted and dropped).
    :param clock: UTC ms now, stamps ``received_at`` (injected in tests).
    :param batch_max: most messages handled per transaction (default 500).
    :param max_pending: most received messages waiting for the writer (default 10,000); when
        reached, the network thread waits, so TCP flow control holds the rest at the broker
        (which keeps them for the session anyway) instead of the console's memory.
    :param clock_settle_ms: after each (re)connect, status/health messages are not used as
        clock samples for this long (default 30,000 ms): they may be the backlog the broker
        queued while the console was away, whose ``ts`` is old rather than skewed.
    :param event_handlers: called as ``handler(event)`` for every newly stored event, inside
        the batch transaction (feature stores: visits, patrol check-ins...); one wrapped with
        :func:`web.handlers.for_kinds` only for the kinds it names.  A handler that
        raises has its own writes undone and is counted (``handler_errors``); the event stays.
        What a handler makes visible outside the database (live-feed publishes, alarms on the
        screens, in-memory state) it defers with ``db.after_commit(callback)``
        (:meth:`~web.db.Database.after_commit`): run after the batch commits, just after the
        ingest's own PUBACKs and live publishes of the batch; dropped if the batch rolls back
        (it is then retried) or the handler fails.
    :param telemetry_handlers: called as ``handler(node, telemetry, received_at)`` for every
        telemetry message, inside the batch transaction (meter readings...), likewise.

    The constructor does no I/O; :meth:`start` connects (and keeps reconnecting), :meth:`stop`
    drains, says offline and disconnects."""

    def __init__(self, *, site: str, broker: BrokerSettings, events: EventStore, nodes: NodeStore,
                 alarms: AlarmStore, live: LiveFeed, commands: CommandSender | None,
                 clock: Callable[[], int] = utc_ms, batch_max: int = 500, max_pending: int = 10_000,
                 clock_settle_ms: int = 30_000,
                 event_handlers: Sequence[Callable[[StoredEvent], None]] = (),
                 telemetry_handlers: Sequence[Callable[[str, Telemetry, int], None]] = (),
                 connect_handlers: Sequence[Callable[[], None]] = ()) -> None:
        T.check_id(site, "site")
        if batch_max < 1 or max_pending < 1:
            raise ValueError("batch_max and max_pending must be >= 1")
        self.site = site
        self.broker = broker
        self.events, self.nodes, self.alarms, self.live = events, nodes, alarms, live
        self.commands = commands
        self._db = events.db  # the stores share one database
        self._clock = clock
        self._batch_max = batch_max
        self._settle_ms = clock_settle_ms
        # (handler, its kind filter or None), looked up once (web.handlers.for_kinds)
        self._event_handlers = tuple((h, getattr(h, "accepts", None)) for h in event_handlers)
        self._connect_handlers = tuple(connect_handlers)
        self._telemetry_handlers = tuple(telemetry_handlers)
        self._version = _version()
        self._queue: queue.Queue[_Inbound | None] = queue.Queue(maxsize=max_pending)
        self._counters: dict[str, int] = {}
        self._counters_lock = threading.Lock()
        self._ack_lock = threading.Lock()  # generation changes vs. sending PUBACKs
        self._generation = 0
        self._connected_at: int | None = None
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._client: mqtt.Client | None = None
        self._writer: threading.Thread | None = None
        self._bad_logged: dict[str, tuple[float, int]] = {}
        self._started = False
        self._stopped = False

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer thread and connect (in the background; paho keeps reconnecting
        with back-off 1..30 s).  Use :meth:`wait_connected` to wait for the subscription."""
        if self._started:
            return
        self._started = True
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.broker.client_id,
                             clean_session=False, protocol=mqtt.MQTTv311, manual_ack=True)
        client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set(ca_certs=self.broker.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.will_set(T.console_status(self.site), self._console_status("offline"), qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client
        self._writer = threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True)
        self._writer.start()
        client.connect_async(self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s)
        client.loop_start()

    def wait_connected(self, timeout_s: float) -> bool:
        """True once connected and subscribed (False after ``timeout_s`` seconds)."""
        return self._connected.wait(timeout_s)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Store and acknowledge what has been received, publish the retained ``offline``
        status, disconnect.  Idempotent."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        # the writer stores what is queued, then exits; a writer retrying a failing database
        # gives up (nothing acked: the broker redelivers); nothing new is queued from now on
        self._stopping.set()
        try:
            self._queue.put_nowait(None)  # wake an idle writer (a busy one finds the queue empty)
        except queue.Full:
            pass
        if self._writer is not None:
            self._writer.join(timeout_s)
        client = self._client
        if client is not None:
            if self._connected.is_set():
                info = client.publish(T.console_status(self.site), self._console_status("offline"),
                                      qos=1, retain=True)
                try:
                    info.wait_for_publish(timeout=min(timeout_s, 5.0))
                except (RuntimeError, ValueError):
                    pass
            client.disconnect()
            client.loop_stop()
        self._connected.clear()

    def __enter__(self) -> "Ingest":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- publishing --------------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Publish through the console's connection; True if handed to the connected client
        (False while disconnected: nothing is queued for later)."""
        client = self._client
        if client is None or not self._connected.is_set():
            return False
        info = client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _console_status(self, state: str) -> bytes:
        return ConsoleStatus(state=state, ts=self._clock(), version=self._version).to_json()

    # -- counters ----------------------------------------------------------------------------
    @property
    def counters(self) -> dict[str, int]:
        """A copy of the counters: ``received``, ``events_stored``, ``duplicates``,
        ``status``, ``health``, ``telemetry``, ``cmd_results``, ``ignored``, ``bad_<reason>``
        (see :data:`BAD_INPUT_REASONS`), ``internal_errors``, ``db_errors``, ``batches``,
        ``connects``, ``disconnects``, ``connect_failures``."""
        with self._counters_lock:
            return dict(self._counters)

    def _count(self, name: str, n: int = 1) -> None:
        with self._counters_lock:
            self._counters[name] = self._counters.get(name, 0) + n

    # -- paho callbacks (network thread; they never raise) -------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any,
                    props: Any = None) -> None:
        try:
            if rc.is_failure:
                log.error("broker refused the console connection: %s", rc)
                self._count("connect_refused")
                return
            with self._ack_lock:
                self._generation += 1
                self._connected_at = self._clock()
            self._count("connects")
            log.info("connected to %s:%s (session present: %s)", self.broker.host, self.broker.port,
                     getattr(flags, "session_present", None))
            client.subscribe(T.site_filter(self.site), qos=1)
            client.publish(T.console_status(self.site), self._console_status("online"), qos=1,
                           retain=True)
        except Exception:  # noqa: BLE001 - a callback must never raise into paho
            log.exception("ingest: on_connect failed")
            self._count("internal_errors")

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, rcs: Any,
                      props: Any = None) -> None:
        try:
            if any(getattr(r, "is_failure", False) for r in rcs):
                log.error("broker refused the console subscription: %s", rcs)
                self._count("subscribe_refused")
                return
            self._connected.set()
            for handler in self._connect_handlers:   # e.g. republish retained sync snapshots
                handler()
        except Exception:  # noqa: BLE001
            log.exception("ingest: on_subscribe failed")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any,
                       props: Any = None) -> None:
        try:
            self._connected.clear()
            with self._ack_lock:
                self._generation += 1  # PUBACKs for that connection's messages are void now
            if not self._stopped:
                self._count("disconnects")
                log.warning("disconnected from the broker (%s); reconnecting", rc)
        except Exception:  # noqa: BLE001
            log.exception("ingest: on_disconnect failed")

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        """The broker could not be reached (DNS, refused, TLS): counted, and logged on the
        first failure and then every 10th, so an outage is visible but not a flood."""
        try:
            self._count("connect_failures")
            n = self.counters.get("connect_failures", 0)
            if n == 1 or n % 10 == 0:
                log.warning("cannot connect to the broker at %s:%s (failure %d); retrying",
                            self.broker.host, self.broker.port, n)
        except Exception:  # noqa: BLE001
            log.exception("ingest: on_connect_fail failed")

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            try:
                topic = msg.topic
            except UnicodeDecodeError:
                topic = bytes(msg._topic).decode("utf-8", "replace")  # counted as wrong_topic
            size = len(msg.payload)
            payload = bytes(msg.payload) if size <= MAX_PAYLOAD_BYTES else b""
            item = _Inbound(topic, payload, msg.qos, bool(msg.retain), bool(msg.dup),
                            msg.mid, self._clock(), self._generation, size)
            while not self._stopping.is_set():  # unacked if dropped here: redelivered later
                try:
                    self._queue.put(item, timeout=0.5)  # full: hold the network thread
                    return
                except queue.Full:
                    self._count("backpressure_waits")
        except Exception:  # noqa: BLE001 - never raise into paho; unacked: redelivered later
            log.exception("ingest: could not queue a message")
            self._count("internal_errors")

    # -- writer thread ---------------------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                item = None
            if item is None:
                if self._stopping.is_set() and self._queue.empty():
                    return  # stopping and everything queued is stored
                continue
            batch = [item]
            while len(batch) < self._batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is not None:
                    batch.append(nxt)
            if not self._commit_batch(batch):
                return  # stopping while the database fails: nothing acked, broker redelivers

    def _commit_batch(self, batch: list[_Inbound]) -> bool:
        delay = 0.1
        while True:
            fx = _Effects()
            try:
                with self._db.transaction():
                    # the first after-commit callback: PUBACKs, counters and the batch's
                    # events/alarms/nodes go live before anything the feature handlers defer
                    self._db.after_commit(lambda fx=fx: self._after_commit(batch, fx))
                    for item in batch:
                        self._handle(item, fx)
                    for node, at in fx.seen.items():  # once per node per batch, not per event
                        self.nodes.seen(node, received_at=at)
                break
            except (sqlite3.Error, StoreError) as exc:
                self._count("db_errors")
                log.error("ingest: storing a batch of %d messages failed (%s); retrying in %.1f s",
                          len(batch), exc, delay)
                if self._stopping.wait(delay):
                    return False
                delay = min(delay * 2, 5.0)
        return True

    def _after_commit(self, batch: list[_Inbound], fx: _Effects) -> None:
        with self._ack_lock:
            client, gen = self._client, self._generation
            if client is not None:
                for item in batch:
                    if item.qos > 0 and item.generation == gen:
                        client.ack(item.mid, item.qos)
        fx.count("received", len(batch))
        fx.count("batches")
        with self._counters_lock:
            for k, v in fx.counts.items():
                self._counters[k] = self._counters.get(k, 0) + v
        for reason, topic, detail in fx.bad:
            self._log_bad(reason, topic, detail)
        if fx.results and self.commands is not None:
            self.commands.notify()
        for ev in fx.events:
            self.live.publish("event", ev.to_dict())
        for alarm in fx.alarms:
            self.live.publish("alarm", alarm.to_dict())
        for info in fx.nodes.values():
            self.live.publish("node", info.to_dict())

    def _log_bad(self, reason: str, topic: str, detail: str) -> None:
        now = time.monotonic()
        last, suppressed = self._bad_logged.get(reason, (0.0, 0))
        if now - last < BAD_LOG_INTERVAL_S and last:
            self._bad_logged[reason] = (last, suppressed + 1)
            return
        more = f" ({suppressed} more since the last report)" if suppressed else ""
        log.warning("ingest: refused message on %r: %s: %s%s", topic[:200], reason, detail[:300], more)
        self._bad_logged[reason] = (now, 0)

    # -- one message ---------------------------------------------------------------------------
    def _handle(self, item: _Inbound, fx: _Effects) -> None:
        try:
            with self._db.savepoint("msg"):
                self._dispatch(item, fx)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError) as exc:
            log.exception("ingest: internal error on %r", item.topic[:200])
            fx.count("internal_errors")
            fx.bad.append(("internal_error", item.topic, repr(exc)))
        except sqlite3.Error:
            raise  # the database itself failed (I/O, locked, full): retry the whole batch
        except Exception as exc:  # noqa: BLE001 - a bug on one message must not stop the others
            log.exception("ingest: internal error on %r", item.topic[:200])
            fx.count("internal_errors")
            fx.bad.append(("internal_error", item.topic, repr(exc)))

    def _bad(self, fx: _Effects, reason: str, item: _Inbound, detail: str) -> None:
        fx.count(f"bad_{reason}")
        fx.bad.append((reason, item.topic, detail))

    def _dispatch(self, item: _Inbound, fx: _Effects) -> None:
        try:
            t = T.parse(item.topic)
        except ContractError as exc:
            return self._bad(fx, "wrong_topic", item, str(exc))
        if t.site != self.site:
            return self._bad(fx, "wrong_topic", item, f"site {t.site!r} is not {self.site!r}")
        if t.kind in (TopicKind.CONSOLE_STATUS, TopicKind.SYNC, TopicKind.COMMAND):
            fx.count("ignored")  # the console's own publications
            return
        if item.size > MAX_PAYLOAD_BYTES:
            return self._bad(fx, "oversized", item, f"{item.size} bytes > {MAX_PAYLOAD_BYTES}")
        node = t.node or ""
        try:
            if t.kind is TopicKind.EVENT:
                env = EventEnvelope.from_json(item.payload)
                if env.node != node or env.kind != t.name:
                    return self._bad(fx, "topic_mismatch", item,
                                     f"envelope node/kind {env.node}/{env.kind} on {node}/{t.name}")
                self._on_event(env, item, fx)
            elif t.kind is TopicKind.STATUS:
                self._on_status(node, NodeStatus.from_json(item.payload), item, fx)
            elif t.kind is TopicKind.TELEMETRY:
                tel = Telemetry.from_json(item.payload)
                if tel.device != t.name:
                    return self._bad(fx, "topic_mismatch", item,
                                     f"telemetry device {tel.device} on {t.name}")
                self._on_telemetry(node, tel, item, fx)
            elif t.kind is TopicKind.COMMAND_RESULT:
                result = CommandResult.from_json(item.payload)
                fx.count("cmd_results")
                if not item.retain:
                    self.nodes.seen(node, received_at=item.received_at)
                if self.commands is not None and self.commands.on_result(node, result):
                    fx.results += 1
        except ContractError as exc:
            self._bad(fx, _payload_reason(item.payload), item, str(exc))

    def _on_event(self, env: EventEnvelope, item: _Inbound, fx: _Effects) -> None:
        rec = self.events.record(env, received_at=item.received_at)
        if rec.event is None:
            fx.count("duplicates")
            return
        ev = rec.event
        fx.count("events_stored")
        fx.events.append(ev)
        fx.seen[ev.node] = max(fx.seen.get(ev.node, 0), item.received_at)
        if rec.new_gap is not None:
            g = rec.new_gap
            fx.count("seq_gaps")
            fx.alarms.append(self.alarms.raise_console(
                SEQ_GAP, node=ev.node, now=item.received_at,
                data={"from_seq": g.from_seq, "to_seq": g.to_seq, "missing": g.missing,
                      "boot_id": g.boot_id, "revealed_by": ev.event_id}))
        if is_alarm(ev.kind):
            fx.alarms.append(self.alarms.raise_for_event(ev))
        for handler, accepts in self._event_handlers:
            if accepts is not None and not accepts(ev.kind):
                continue
            self._run_handler(handler, (ev,), item, fx)

    def _clock_sample_ok(self, item: _Inbound) -> bool:
        if item.retain or item.dup:
            return False
        since = self._connected_at
        return since is None or item.received_at - since >= self._settle_ms

    def _on_status(self, node: str, status: NodeStatus, item: _Inbound, fx: _Effects) -> None:
        fx.count("status")
        before = self.nodes.get(node)
        info = self.nodes.update_status(node, status, received_at=item.received_at,
                                        retained=not self._clock_sample_ok(item))
        if status.state == "offline" and before is not None and before.state == "online":
            fx.alarms.append(self.alarms.raise_console(
                NODE_OFFLINE, node=node, now=item.received_at,
                data={"boot_id": status.boot_id, "last_seen_ms": before.last_seen_ms,
                      "version": status.version}))
        self._clock_alarm(before, info, item, fx)
        fx.nodes[node] = info

    def _on_telemetry(self, node: str, tel: Telemetry, item: _Inbound, fx: _Effects) -> None:
        if tel.device == HEALTH_DEVICE:
            fx.count("health")
            before = self.nodes.get(node)
            info = self.nodes.update_health(node, tel, received_at=item.received_at,
                                            retained=not self._clock_sample_ok(item))
            self._clock_alarm(before, info, item, fx)
            fx.nodes[node] = info
        else:
            fx.count("telemetry")
            if not item.retain:
                self.nodes.seen(node, received_at=item.received_at)
        for handler in self._telemetry_handlers:
            self._run_handler(handler, (node, tel, item.received_at), item, fx)

    def _run_handler(self, handler: Callable[..., None], args: tuple[Any, ...], item: _Inbound,
                     fx: _Effects) -> None:
        """A feature handler in its own savepoint: its bug undoes its own writes only, never the
        stored event.  A failing database still fails (and retries) the whole batch."""
        try:
            with self._db.savepoint("handler"):
                handler(*args)
        except sqlite3.Error as exc:
            if not isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError,
                                    sqlite3.InterfaceError)):
                raise
            self._handler_failed(handler, item, fx, exc)
        except Exception as exc:  # noqa: BLE001
            self._handler_failed(handler, item, fx, exc)

    def _handler_failed(self, handler: Callable[..., None], item: _Inbound, fx: _Effects,
                        exc: BaseException) -> None:
        log.error("ingest: handler %s failed on %r: %r", getattr(handler, "__qualname__", handler),
                  item.topic[:200], exc, exc_info=exc)
        fx.count("handler_errors")

    def _clock_alarm(self, before: NodeInfo | None, after: NodeInfo, item: _Inbound,
                     fx: _Effects) -> None:
        if after.clock_flagged and not (before is not None and before.clock_flagged):
            fx.alarms.append(self.alarms.raise_console(
                CLOCK_SKEW, node=after.node, now=item.received_at,
                data={"clock_offset_ms": after.clock_offset_ms,
                      "max_clock_skew_ms": self.nodes.max_clock_skew_ms}))


def _payload_reason(payload: bytes) -> str:
    """Why a payload that failed validation failed: ``not_json`` or ``bad_schema``."""
    try:
        obj = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "not_json"
    del obj
    return "bad_schema"
