"""Meter reading (远程抄表): polls the ``[[meters]]`` on each ``[[meter_buses]]`` over Modbus.

One :class:`BusPoller` per bus, each in its own thread with its own Modbus client (created and
opened in that thread, never shared). A poll cycle visits every meter whose period is due, in
config order, reading the map's registers in contiguous blocks (:func:`hardware.meters.plan_blocks`).
The bus is kept silent ``gap_ms`` between two requests and ``switch_gap_ms`` before a request to a
different slave id.

Failures (no reply, a reply with a bad CRC, an exception response): a failed poll ends that
meter's turn at once, with no immediate retry (pymodbus waits out the timeout on a bad CRC too), so
a dead or garbling meter costs the others at most one timeout per cycle. The meter is polled again at the next cycle, up to ``retries`` failed polls in a row; after that it
is *offline* (``meter.offline`` journalled once) and polled with per-meter exponential back-off
(``backoff_min_s`` doubling up to ``backoff_max_s``). The first good poll journals ``meter.online``.

Readings:

- every good poll publishes the values as telemetry (device = meter name), not journalled;
- cumulative totals (registers with ``total = true``) are journalled as ``meter.total`` at the
  first reading, every ``total_interval_s`` and at the first reading of each UTC hour, so billing
  data is never lost;
- a total going backwards (meter replaced or reset) journals ``meter.reset`` and a
  ``meter.total`` with the new baseline (reason ``reset``): it is never a negative consumption.

Counters (group ``meters``): ``polls``, ``requests``, ``timeouts``, ``crc_errors``,
``exception_responses``, ``bus_errors``, ``bad_values``, ``emit_errors``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from hardware.meters import Block, decode_value, plan_blocks
from hardware.modbus import ModbusBus, ModbusCrcError, ModbusError, ModbusTimeout, rtu_bus, tcp_bus

from ..config import MeterBusSettings, MeterSettings
from ..counters import Counters
from .base import Extension, NodeContext

__all__ = ["MetersExtension", "BusPoller", "open_bus", "TOTAL_KIND", "RESET_KIND", "OFFLINE_KIND",
           "ONLINE_KIND"]

log = logging.getLogger(__name__)

TOTAL_KIND = "meter.total"
RESET_KIND = "meter.reset"
OFFLINE_KIND = "meter.offline"
ONLINE_KIND = "meter.online"
HOUR_MS = 3_600_000
COUNTER_NAMES = ("polls", "requests", "timeouts", "crc_errors", "exception_responses", "bus_errors",
                 "bad_values", "emit_errors")

Emit = Callable[[str, Mapping[str, Any]], Any]
Publish = Callable[[str, Mapping[str, Any]], bool]


def open_bus(settings: MeterBusSettings) -> ModbusBus:
    """The real bus for ``settings`` (not opened yet)."""
    if settings.kind == "tcp":
        assert settings.host is not None
        return tcp_bus(settings.host, settings.tcp_port, timeout_s=settings.timeout_s)
    assert settings.port is not None
    return rtu_bus(settings.port, baudrate=settings.baud, parity=settings.parity,
                   stopbits=settings.stop_bits, timeout_s=settings.timeout_s)


@dataclass
class _Meter:
    settings: MeterSettings
    blocks: list[Block]
    next_due: float = 0.0
    failures: int = 0
    offline: bool = False
    offline_since: float = 0.0
    totals: dict[str, float] = field(default_factory=dict)
    last_total_ms: int | None = None


class BusPoller:
    """Polls the meters of one bus.

    :param settings: the bus.
    :param meters: its meters (each with a loaded ``register_map``).
    :param bus_factory: ``(settings) -> ModbusBus`` (default :func:`open_bus`); called by
        :meth:`open`, in the thread that will use the bus.
    :param emit: journal an event (``NodeContext.emit``); ``publish_telemetry`` likewise.
    :param clock: UTC ms (totals, hour boundaries); ``monotonic``: seconds (periods, gaps).
    :param wait: ``wait(seconds) -> stopped``: sleeps (gaps, idle time) and returns True when the
        poller is being stopped; default: waits on the stop event. Tests inject a fake clock here.

    Use :meth:`start` / :meth:`stop` (a thread), or :meth:`open`, :meth:`cycle` and
    :meth:`close` from one thread (tests, bench).
    """

    def __init__(self, settings: MeterBusSettings, meters: Sequence[MeterSettings], *,
                 emit: Emit, publish_telemetry: Publish, clock: Callable[[], int],
                 monotonic: Callable[[], float] = time.monotonic,
                 bus_factory: Callable[[MeterBusSettings], ModbusBus] = open_bus,
                 wait: Callable[[float], bool] | None = None,
                 counters: Counters | None = None) -> None:
        self.settings = settings
        self.meters = [_Meter(m, plan_blocks(m.register_map)) for m in meters]
        self._emit, self._publish = emit, publish_telemetry
        self._clock, self._monotonic = clock, monotonic
        self._bus_factory = bus_factory
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self.counters = counters if counters is not None else Counters(COUNTER_NAMES)
        self.bus: ModbusBus | None = None
        self._last_end: float | None = None
        self._last_slave: int | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def open(self) -> "BusPoller":
        """Create and open the bus in the calling thread."""
        if self.bus is None:
            self.bus = self._bus_factory(self.settings).open()
        return self

    def close(self) -> None:
        """Close the bus. Idempotent."""
        if self.bus is not None:
            bus, self.bus = self.bus, None
            bus.close()

    def start(self) -> "BusPoller":
        """Poll in a thread of its own until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name=f"meters-{self.settings.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread (after at most the request in progress) and close the bus. Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.open()
            while not self._stop.is_set():
                delay = self.cycle()
                if delay > 0 and self._wait(delay):
                    break
        except Exception:  # noqa: BLE001 - logged; alive() then reports the dead thread
            log.exception("meter bus %s: poller failed", self.settings.name)
        finally:
            self.close()

    # -- polling ----------------------------------------------------------------------------------

    def cycle(self) -> float:
        """Poll every due meter once (config order); return seconds until the next is due."""
        for meter in self.meters:
            if self._stop.is_set():
                break
            if self._monotonic() >= meter.next_due:
                self._poll(meter)
        now = self._monotonic()
        return max(0.0, min(m.next_due for m in self.meters) - now) if self.meters else 3600.0

    def _pace(self, slave: int) -> None:
        """Keep the bus silent long enough before the next request."""
        if self._last_end is None:
            return
        gap_ms = self.settings.switch_gap_ms if slave != self._last_slave else self.settings.gap_ms
        due = self._last_end + gap_ms / 1000
        now = self._monotonic()
        if now < due:
            self._wait(due - now)

    def _read(self, block: Block, slave: int) -> list[int]:
        assert self.bus is not None, "open() first"
        self._pace(slave)
        self.counters.incr("requests")
        try:
            if block.function == "input":
                return self.bus.read_input_registers(block.address, block.count, slave=slave)
            return self.bus.read_holding_registers(block.address, block.count, slave=slave)
        finally:
            self._last_end, self._last_slave = self._monotonic(), slave

    def _poll(self, meter: _Meter) -> None:
        s = meter.settings
        started = self._monotonic()
        self.counters.incr("polls")
        values: dict[str, float | int] = {}
        try:
            for block in meter.blocks:
                words = self._read(block, s.slave)
                for reg in block.registers:
                    off = reg.address - block.address
                    value = decode_value(words[off:off + reg.width], reg.type,
                                         word_order=reg.word_order, scale=reg.scale)
                    if isinstance(value, float) and not math.isfinite(value):
                        self.counters.incr("bad_values")
                        log.warning("meter %s: %s is %r, skipped", s.name, reg.name, value)
                        continue
                    values[reg.name] = value
        except ModbusError as exc:
            self._failed(meter, exc)
            return
        self._succeeded(meter, values, started)

    def _failed(self, meter: _Meter, exc: ModbusError) -> None:
        s, bus = meter.settings, self.settings
        if isinstance(exc, ModbusTimeout):
            self.counters.incr("timeouts")
        elif isinstance(exc, ModbusCrcError):
            self.counters.incr("crc_errors")
        elif exc.exception_code is not None:
            self.counters.incr("exception_responses")
        else:
            self.counters.incr("bus_errors")
        meter.failures += 1
        now = self._monotonic()
        over = meter.failures - bus.retries
        if over <= 0:
            meter.next_due = now  # retried at the next cycle
            log.info("meter %s: poll failed (%d/%d): %s", s.name, meter.failures, bus.retries + 1, exc)
            return
        delay = min(bus.backoff_max_s, bus.backoff_min_s * 2 ** min(over - 1, 30))
        meter.next_due = now + delay
        if not meter.offline:
            meter.offline, meter.offline_since = True, now
            log.warning("meter %s (bus %s, slave %d) offline: %s", s.name, bus.name, s.slave, exc)
            self._journal(OFFLINE_KIND, {"meter": s.name, "bus": bus.name, "slave": s.slave,
                                         "unit": s.unit, "error": str(exc)[:200],
                                         "failures": meter.failures})

    def _succeeded(self, meter: _Meter, values: dict[str, float | int], started: float) -> None:
        s, bus = meter.settings, self.settings
        if meter.offline:
            offline_s = round(started - meter.offline_since, 3)
            log.info("meter %s back online after %.1f s", s.name, offline_s)
            self._journal(ONLINE_KIND, {"meter": s.name, "bus": bus.name, "slave": s.slave,
                                        "unit": s.unit, "offline_s": offline_s})
        meter.offline, meter.failures = False, 0
        meter.next_due = started + s.period_s
        self._publish(s.name, values)
        self._totals(meter, values)

    def _totals(self, meter: _Meter, values: Mapping[str, float | int]) -> None:
        s = meter.settings
        totals = {r.name: values[r.name] for r in s.register_map.totals if r.name in values}
        if not totals:
            return
        now_ms = self._clock()
        reason: str | None = None
        for name, value in totals.items():
            previous = meter.totals.get(name)
            if previous is not None and value < previous:
                reason = "reset"
                log.warning("meter %s: %s went back from %s to %s (reset or replaced)",
                            s.name, name, previous, value)
                self._journal(RESET_KIND, {"meter": s.name, "unit": s.unit, "register": name,
                                           "previous": previous, "value": value})
        meter.totals.update(totals)
        last = meter.last_total_ms
        if reason is None:
            if last is None:
                reason = "first"
            elif now_ms // HOUR_MS != last // HOUR_MS:
                reason = "hour"
            elif now_ms - last >= s.total_interval_s * 1000:
                reason = "interval"
        if reason is None:
            return
        meter.last_total_ms = now_ms
        self._journal(TOTAL_KIND, {"meter": s.name, "unit": s.unit, "kind": s.register_map.kind,
                                   "reason": reason, "read_ts": now_ms, "totals": totals})

    def _journal(self, kind: str, data: Mapping[str, Any]) -> None:
        try:
            self._emit(kind, data)
        except Exception:  # noqa: BLE001 - never lose the poller thread; logged loudly
            self.counters.incr("emit_errors")
            log.exception("meters: could not journal %s %s", kind, dict(data))


class MetersExtension(Extension):
    """The ``meters`` extension: a :class:`BusPoller` thread per configured bus that has meters.

    :param buses: / :param meters: default: ``ctx.config.meter_buses`` / ``ctx.config.meters``.
    :param bus_factory: ``(MeterBusSettings) -> ModbusBus`` (default :func:`open_bus`).
    """

    name = "meters"

    def __init__(self, buses: Sequence[MeterBusSettings] | None = None,
                 meters: Sequence[MeterSettings] | None = None, *,
                 bus_factory: Callable[[MeterBusSettings], ModbusBus] = open_bus) -> None:
        self._buses, self._meters = buses, meters
        self._bus_factory = bus_factory
        self._counters = Counters(COUNTER_NAMES)
        self.pollers: dict[str, BusPoller] = {}

    def start(self, ctx: NodeContext) -> None:
        buses = self._buses if self._buses is not None else ctx.config.meter_buses
        meters = self._meters if self._meters is not None else ctx.config.meters
        for bus in buses:
            mine = [m for m in meters if m.bus == bus.name]
            if not mine:
                continue
            poller = BusPoller(bus, mine, emit=ctx.emit, publish_telemetry=ctx.publish_telemetry,
                               clock=ctx.clock, monotonic=ctx.monotonic,
                               bus_factory=self._bus_factory, counters=self._counters)
            self.pollers[bus.name] = poller
            poller.start()
            log.info("meter bus %s (%s): %d meter(s)", bus.name, bus.kind, len(mine))

    def stop(self) -> None:
        for poller in self.pollers.values():
            poller.stop()

    def alive(self) -> bool:
        return all(p.alive for p in self.pollers.values())

    def counters(self) -> Counters:
        return self._counters
