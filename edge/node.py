"""The node: journal, outputs, extensions, signed commands, outbox pump and MQTT bridge.

:meth:`Node.start` runs in this order, so a door is safe and every event is on disk before the
network is touched:

1. open the journal;
2. wiring: the pin factory (or the simulation's mock pins and pty ports);
3. outputs created in their declared *safe* state (``Extension.open_outputs``: relays);
4. journal ``node.started`` ``{version, boot_id, safe_outputs}``;
5. start the extensions (readers, inputs, health, simulation activity, ...);
6. only then the network: the outbox pump and the MQTT bridge.

:meth:`Node.stop` undoes it in reverse (after a short drain of the outbox when connected),
leaving every output in its safe state. :meth:`Node.run_forever` adds signals and systemd.
"""

from __future__ import annotations

import logging
import secrets
import signal
import string
import threading
import time
from typing import Any, Callable, Mapping

from mqtt_topics import CommandVerifier, EventEnvelope, SyncSnapshot, Telemetry
from mqtt_topics.commands import MAX_LIFETIME_MS

from . import __version__
from .bridge import MqttBridge
from .commands import CommandDispatcher
from .config import NodeConfig, ReaderSettings
from .counters import CounterRegistry, Counters, LatencyWindow
from .errors import NodeError
from .extensions.base import Extension, NodeContext
from .extensions.cert_expiry import CertExpiryExtension
from .extensions.door import DoorExtension
from .extensions.goods_gate import GoodsGateExtension
from .extensions.health import HealthExtension
from .extensions.inputs import InputsExtension
from .extensions.intercom import IntercomExtension
from .extensions.meters import MetersExtension
from .extensions.patrol import PatrolExtension
from .extensions.reader import ReaderExtension
from .extensions.relays import RelaysExtension
from .extensions.simulation import SimulationExtension
from .journal import EventJournal, utc_ms
from .outbox import OutboxPump
from .systemd import Watchdog, notify

__all__ = ["Node", "new_boot_id", "STARTED_KIND"]

log = logging.getLogger(__name__)

STARTED_KIND = "node.started"
_BOOT_ALPHABET = string.ascii_lowercase + string.digits


def new_boot_id() -> str:
    """A random boot id, ``[a-z0-9]{12}``."""
    return "".join(secrets.choice(_BOOT_ALPHABET) for _ in range(12))


class Node:
    """A lobbygate node.

    :param config: a validated :class:`~edge.config.NodeConfig`.
    :param clock: UTC ms (journal timestamps, command expiry, status); default: wall clock.
    :param pin_factory: a gpiozero factory to use instead of ``[gpio] pin_factory`` (tests);
        with simulation on, the simulation uses it instead of making its own ``MockFactory``.
    :param extensions: extra extensions, started after the built-in ones.
    :param drain_s: how long :meth:`stop` waits for the outbox to empty when connected (s).

    The constructor does no I/O. Attributes after :meth:`start`: ``boot_id``, ``journal``,
    ``bridge``, ``pump``, ``dispatcher``, ``extensions`` (by name), ``simulation``,
    ``pin_factory``.

    The node owns the one gpiozero pin factory: the simulation's (simulation on), the injected
    ``pin_factory``, or else one made from ``[gpio] pin_factory`` the first time an extension
    asks for it (:meth:`NodeContext.gpio`); a made one is closed at :meth:`stop`, after every
    extension has stopped.
    """

    def __init__(self, config: NodeConfig, *, clock: Callable[[], int] = utc_ms,
                 pin_factory: Any = None, extensions: list[Extension] | None = None,
                 drain_s: float = 2.0) -> None:
        self.config = config
        self._clock = clock
        self._given_factory = pin_factory
        self._extra = list(extensions or [])
        self.drain_s = drain_s
        self.boot_id: str | None = None
        self.journal: EventJournal | None = None
        self.bridge: MqttBridge | None = None
        self.pump: OutboxPump | None = None
        self.dispatcher: CommandDispatcher | None = None
        self.simulation: SimulationExtension | None = None
        self.extensions: dict[str, Extension] = {}
        self.pin_factory: Any = None
        self.context: NodeContext | None = None
        self.counters = CounterRegistry()
        self.latency = LatencyWindow()
        self._own_counters = self.counters.add("node", Counters(["events", "sync_stale",
                                                                 "sync_handler_errors"]))
        self._sync_handlers: dict[str, list[Callable[[SyncSnapshot], None]]] = {}
        self._sync_versions: dict[str, int] = {}
        self._lock = threading.Lock()
        self._own_factory = False
        self._started_at: float | None = None
        self._state = "new"  # new -> starting -> running -> stopped

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> "Node":
        """Start everything (see the module note). On failure, what was started is stopped
        again and the error re-raised."""
        with self._lock:
            if self._state != "new":
                raise NodeError(f"node {self.config.node_id}: start() in state {self._state}")
            self._state = "starting"
        try:
            self._start()
        except BaseException:
            log.exception("node %s: start failed; cleaning up", self.config.node_id)
            self.stop()
            raise
        with self._lock:
            self._state = "running"
        return self

    def _start(self) -> None:
        cfg = self.config
        self.boot_id = new_boot_id()
        self._started_at = time.monotonic()
        log.info("node %s (site %s) starting, boot %s, lobbygate %s", cfg.node_id, cfg.site,
                 self.boot_id, __version__)
        # 1. the journal
        self.journal = EventJournal(cfg.journal, node=cfg.node_id, capacity=cfg.journal_capacity,
                                    clock=self._clock).open()
        # 2. wiring (a pin factory from [gpio] is made only when an extension asks: _gpio)
        open_port: Callable[[ReaderSettings], Any]
        if cfg.simulation.enabled:
            self.simulation = SimulationExtension(cfg.simulation, readers=cfg.readers,
                                                  inputs=cfg.inputs,
                                                  pin_factory=self._given_factory).open()
            self.pin_factory = self.simulation.pin_factory
            open_port = self.simulation.open_serial
        else:
            if self._given_factory is not None:
                self.pin_factory = self._given_factory
            from hardware.serial_port import open_serial

            def open_port(r: ReaderSettings) -> Any:
                return open_serial(r.port, baudrate=r.baud)
        # the bridge and dispatcher exist (no I/O) so extensions can register commands
        self.bridge = MqttBridge(cfg.mqtt, site=cfg.site, node=cfg.node_id, boot_id=self.boot_id,
                                 version=__version__, clock=self._clock, window=cfg.mqtt.outbox_window)
        self.counters.add("mqtt", self.bridge.counters)
        verifier = CommandVerifier(key=cfg.commands.key, node=cfg.node_id, clock=self._clock,
                                   max_lifetime_ms=MAX_LIFETIME_MS,
                                   skew_ms=int(cfg.clock_skew_s * 1000))
        self.dispatcher = CommandDispatcher(verifier=verifier, publish_result=self.bridge.publish_result,
                                            emit=self.emit, clock=self._clock)
        self.counters.add("commands", self.dispatcher.counters)
        ctx = NodeContext(config=cfg, boot_id=self.boot_id, emit=self.emit,
                          publish_telemetry=self.publish_telemetry,
                          register_command=self.dispatcher.register,
                          register_sync=self.register_sync, open_serial=open_port,
                          pin_factory=self.pin_factory, counters=self.counters,
                          health_figures=self.health_figures, clock=self._clock,
                          pin_factory_source=self._gpio)
        self.context = ctx
        checkpoints = cfg.patrol.checkpoints        # check-point readers send patrol.tap instead
        exts: list[Extension] = [RelaysExtension(cfg.relays), InputsExtension(cfg.inputs),
                                 ReaderExtension(tuple(r for r in cfg.readers if r.name not in checkpoints)),
                                 HealthExtension(interval_s=cfg.health_interval_s)]
        if cfg.mqtt.certfile is not None:           # warn before the client certificate expires
            exts.append(CertExpiryExtension(cfg.mqtt.certfile, warn_days=cfg.mqtt.cert_warn_days))
        if checkpoints:
            exts.append(PatrolExtension(cfg.patrol, cfg.readers))
        if cfg.goods_gate is not None:
            exts.append(GoodsGateExtension(cfg.goods_gate))
        if cfg.door is not None:
            exts.append(DoorExtension(cfg.door))
        if cfg.cabinet is not None:                 # issue 8: the key cabinet
            from .extensions.cabinet import CabinetExtension
            exts.append(CabinetExtension(cfg.cabinet))
        if cfg.intercom is not None:
            exts.append(IntercomExtension(cfg.intercom))
        if cfg.meters:
            exts.append(MetersExtension())
        if self.simulation is not None:
            exts.append(self.simulation)
        exts.extend(self._extra)
        for ext in exts:
            if ext.name in self.extensions:
                raise NodeError(f"two extensions are named {ext.name!r}")
            self.extensions[ext.name] = ext
        # 3. outputs in their safe state
        safe: list[str] = []
        for ext in exts:
            safe.extend(ext.open_outputs(ctx))
        # 4. node.started
        self.emit(STARTED_KIND, {"version": __version__, "boot_id": self.boot_id, "safe_outputs": safe})
        # 5. extensions
        for ext in exts:
            ext.start(ctx)
            c = ext.counters()
            if c is not None:
                self.counters.add(ext.name, c)
        # 6. the network
        self.pump = OutboxPump(self.journal, site=cfg.site, node=cfg.node_id,
                               publish=self.bridge.publish_event, window=cfg.mqtt.outbox_window,
                               clock=self._clock, latency=self.latency)
        self.counters.add("outbox", self.pump.counters)
        b = self.bridge
        b.on_ready = self.pump.connection_ready
        b.on_lost = self.pump.connection_lost
        b.on_ack = self.pump.acknowledged
        b.on_command = self.dispatcher.handle
        b.on_bad_command = lambda cmd_id, action, error: self.dispatcher.refuse(cmd_id, action, error)
        b.on_sync = self._on_sync
        self.pump.start()
        b.start()
        log.info("node %s started: %d reader(s), %d input(s), %d relay(s)%s", cfg.node_id,
                 len(cfg.readers), len(cfg.inputs), len(cfg.relays),
                 ", simulated wires" if self.simulation else "")

    def _gpio(self) -> Any:
        """The node's pin factory, made from ``[gpio] pin_factory`` on first use (the node closes
        it at :meth:`stop`). Called through :meth:`NodeContext.gpio`."""
        with self._lock:
            if self.pin_factory is None:
                from hardware.gpio import make_pin_factory
                self.pin_factory = make_pin_factory(self.config.gpio.pin_factory)
                self._own_factory = True
            return self.pin_factory

    def stop(self) -> None:
        """Drain briefly, stop the network, the extensions (reverse order), put outputs in their
        safe state, close the journal. Idempotent; safe after a failed start."""
        with self._lock:
            if self._state in ("stopped", "new"):
                self._state = "stopped"
                return
            self._state = "stopped"
        if self.pump is not None and self.bridge is not None and self.bridge.ready and self.drain_s > 0:
            self.pump.wait_idle(self.drain_s)
        if self.pump is not None:
            self.pump.pause()
        if self.bridge is not None:
            _quietly("mqtt bridge", self.bridge.stop)
        if self.pump is not None:
            _quietly("outbox pump", self.pump.stop)
        for ext in reversed(list(self.extensions.values())):
            _quietly(f"extension {ext.name}", ext.stop)
        if self.simulation is not None:
            _quietly("simulation wiring", self.simulation.close)
        if self._own_factory and self.pin_factory is not None:
            _quietly("pin factory", self.pin_factory.close)
        if self.journal is not None:
            _quietly("journal", self.journal.close)
        log.info("node %s stopped", self.config.node_id)

    def __enter__(self) -> "Node":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run_forever(self, *, install_signals: bool = True) -> int:
        """Start, tell systemd READY=1, ping its watchdog while healthy, and run until SIGTERM or
        SIGINT; then stop. Returns the process exit code (0)."""
        done = threading.Event()
        if install_signals:
            def on_signal(signum: int, frame: object) -> None:
                log.info("node %s: %s received, stopping", self.config.node_id,
                         signal.Signals(signum).name)
                done.set()
            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
        self.start()
        notify("READY=1")
        notify(f"STATUS=node {self.config.node_id} running, boot {self.boot_id}")
        watchdog = Watchdog(self.healthy).start()
        try:
            while not done.wait(1.0):
                pass
        finally:
            notify("STOPPING=1")
            watchdog.stop()
            self.stop()
        return 0

    # -- what extensions use --------------------------------------------------------------------

    def emit(self, kind: str, data: Mapping[str, Any]) -> EventEnvelope:
        """Journal an event (durable on return) and wake the outbox pump."""
        journal = self.journal
        if journal is None or self.boot_id is None:
            raise NodeError("emit() before start()")
        envelope = journal.append(kind, data, boot_id=self.boot_id)
        self._own_counters.incr("events")
        pump = self.pump
        if pump is not None:
            pump.wake()
        return envelope

    def publish_telemetry(self, device: str, values: Mapping[str, Any]) -> bool:
        """Publish ``Telemetry(device, values)`` at QoS 0 if connected (not journalled)."""
        if self.bridge is None:
            return False
        return self.bridge.publish_telemetry(Telemetry(device=device, ts=self._clock(), values=dict(values)))

    def register_sync(self, dataset: str, handler: Callable[[SyncSnapshot], None]) -> None:
        """Call ``handler(snapshot)`` for each newer version of ``dataset`` received."""
        with self._lock:
            self._sync_handlers.setdefault(dataset, []).append(handler)

    def _on_sync(self, snapshot: SyncSnapshot) -> None:
        with self._lock:
            last = self._sync_versions.get(snapshot.dataset)
            if last is not None and snapshot.version <= last:
                stale = True
            else:
                stale = False
                self._sync_versions[snapshot.dataset] = snapshot.version
            handlers = list(self._sync_handlers.get(snapshot.dataset, ()))
        if stale:
            self._own_counters.incr("sync_stale")
            log.info("sync %s v%d ignored: v%s already seen", snapshot.dataset, snapshot.version, last)
            return
        for handler in handlers:
            try:
                handler(snapshot)
            except Exception:  # noqa: BLE001
                self._own_counters.incr("sync_handler_errors")
                log.exception("sync %s: handler failed", snapshot.dataset)

    # -- health -----------------------------------------------------------------------------------

    def health_figures(self) -> dict[str, Any]:
        """uptime_s, journal_depth, oldest_unsent_age_s, publish_latency_p50_ms / _p99_ms,
        dropped_total, in_flight, every counter (``<group>_<name>``) and each extension's own
        :meth:`~edge.extensions.base.Extension.figures` (``cert_expires``, ``cert_days_left``...)."""
        figures: dict[str, Any] = {}
        if self._started_at is not None:
            figures["uptime_s"] = round(time.monotonic() - self._started_at, 3)
        if self.journal is not None and not self.journal.closed:
            stats = self.journal.stats()
            figures["journal_depth"] = stats.unsent
            figures["journal_capacity"] = stats.capacity
            figures["dropped_total"] = stats.dropped_total
            figures["oldest_unsent_age_s"] = (
                round(max(0, self._clock() - stats.oldest_unsent_ms) / 1000, 3)
                if stats.oldest_unsent_ms is not None else 0)
        p50, p99 = self.latency.quantile(0.50), self.latency.quantile(0.99)
        figures["publish_latency_p50_ms"] = p50
        figures["publish_latency_p99_ms"] = p99
        if self.pump is not None:
            figures["in_flight"] = self.pump.in_flight
            figures["in_flight_peak"] = self.pump.peak_in_flight
        figures.update(self.counters.flat())
        for ext in list(self.extensions.values()):
            try:
                figures.update(ext.figures())
            except Exception:  # noqa: BLE001 - one extension's figures must not stop the rest
                log.exception("health figures of extension %s failed", ext.name)
        return figures

    def healthy(self) -> bool:
        """True while the MQTT network thread, the pump and every extension's threads run."""
        if self.bridge is None or self.pump is None:
            return False
        return self.bridge.network_alive and self.pump.alive and all(
            ext.alive() for ext in self.extensions.values())


def _quietly(what: str, fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - stop() must get through every step
        log.exception("stopping %s failed", what)
