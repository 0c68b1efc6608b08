"""The meters' ingest handlers: ``meter.*`` events into the readings journal and the meter
states, meter telemetry into the latest live values.

Run by the console's ingest inside its batch transaction (``services.event_handlers`` /
``services.telemetry_handlers``).  A malformed event is logged and counted (``bad_events``)
and skipped — the event itself is already stored in the event journal, so nothing is lost.

Event data (node side: :mod:`edge.extensions.meters`):

- ``meter.total`` ``{meter, unit, kind, reason (first|interval|hour|reset), read_ts,
  totals {register: value}}``: one journal row per register;
- ``meter.reset`` ``{meter, unit, register, previous, value}``: counted on the meter (the
  event is already an alarm: its kind is an alarm kind);
- ``meter.offline`` ``{meter, bus, slave, unit, error, failures}`` / ``meter.online``
  ``{meter, bus, slave, unit, offline_s}``: the meter's state.

A total lower than the one before it *without* a node ``reset`` (e.g. a meter swapped while its
node was down) starts a new segment too and raises the console alarm ``console.meter_reset``.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from typing import TYPE_CHECKING, Any, Mapping

from .readings import ReadingStore
from .registry import MeterRegistry

if TYPE_CHECKING:  # pragma: no cover
    from mqtt_topics import Telemetry

    from ..live import LiveFeed
    from ..stores.alarms import AlarmStore
    from ..stores.events import StoredEvent

__all__ = ["MeterIngest", "METER_RESET_ALARM", "TOTAL", "RESET", "OFFLINE", "ONLINE"]

log = logging.getLogger(__name__)

TOTAL, RESET, OFFLINE, ONLINE = "meter.total", "meter.reset", "meter.offline", "meter.online"
#: A total went backwards without the node saying so.
METER_RESET_ALARM = "console.meter_reset"
_ID_RE = re.compile(r"^[a-z0-9-]{1,32}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_REASONS = ("first", "interval", "hour", "reset")
#: Totals read more than this far from the event's own time are refused (ms; a broken clock).
MAX_READ_SKEW_MS = 7 * 24 * 3_600_000


class BadMeterData(ValueError):
    """A meter event whose data does not follow the contract."""


def _meter(data: Mapping[str, Any]) -> str:
    meter = data.get("meter")
    if not isinstance(meter, str) or not _ID_RE.match(meter):
        raise BadMeterData(f"meter must be [a-z0-9-]{{1,32}}, got {meter!r}")
    return meter


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadMeterData(f"{what} must be a finite number, got {value!r}")
    return float(value)


class MeterIngest:
    """Handlers for the ingest.  ``live``: new console alarms are published on it.
    ``counters()``: ``totals``, ``readings``, ``duplicates``, ``late``, ``resets``,
    ``detected_resets``, ``offline``, ``online``, ``live``, ``bad_events``."""

    def __init__(self, *, readings: ReadingStore, registry: MeterRegistry, alarms: "AlarmStore",
                 live: "LiveFeed | None" = None) -> None:
        self._readings = readings
        self._registry = registry
        self._alarms = alarms
        self._live = live
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + n

    def counters(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counters)

    # -- events ------------------------------------------------------------------------------

    def on_event(self, ev: "StoredEvent") -> None:
        """``handler(stored_event)`` for :class:`web.ingest.Ingest`."""
        if not ev.kind.startswith("meter."):
            return
        try:
            if ev.kind == TOTAL:
                self._total(ev)
            elif ev.kind == RESET:
                meter = _meter(ev.data)
                self._readings.note_seen(meter, node=ev.node, now=ev.received_at,
                                         last_reset_at=ev.ts, resets_add=1)
                self._count("resets")
            elif ev.kind == OFFLINE:
                self._offline(ev)
            elif ev.kind == ONLINE:
                meter = _meter(ev.data)
                self._readings.note_seen(meter, node=ev.node, now=ev.received_at, state="online",
                                         offline_since=None, offline_error=None)
                self._count("online")
        except BadMeterData as exc:
            self._count("bad_events")
            log.warning("meters: %s %s refused: %s", ev.kind, ev.event_id, exc)

    def _total(self, ev: "StoredEvent") -> None:
        d = ev.data
        meter = _meter(d)
        reason = d.get("reason")
        if reason not in _REASONS:
            raise BadMeterData(f"reason must be one of {_REASONS}, got {reason!r}")
        read_ts = d.get("read_ts", ev.ts)
        if isinstance(read_ts, bool) or not isinstance(read_ts, int) or read_ts <= 0:
            raise BadMeterData(f"read_ts must be UTC ms, got {read_ts!r}")
        if abs(read_ts - ev.ts) > MAX_READ_SKEW_MS:
            raise BadMeterData(f"read_ts {read_ts} is far from the event time {ev.ts}")
        totals = d.get("totals")
        if not isinstance(totals, Mapping) or not totals:
            raise BadMeterData("totals must be a non-empty object")
        checked: dict[str, float] = {}
        for name, value in totals.items():
            if not isinstance(name, str) or not _NAME_RE.match(name):
                raise BadMeterData(f"bad register name {name!r}")
            v = _number(value, f"totals.{name}")
            if v < 0:
                raise BadMeterData(f"totals.{name} must be >= 0, got {v}")
            checked[name] = v
        kind = d.get("kind") if d.get("kind") in ("water", "electricity") else ""
        fields: dict[str, Any] = {"last_total_ts": read_ts, "state": "online",
                                  "offline_since": None, "offline_error": None}
        if kind:
            fields["kind"] = kind
        if isinstance(d.get("unit"), str):
            fields["node_unit"] = d["unit"][:32]
        self._readings.note_seen(meter, node=ev.node, now=ev.received_at, **fields)
        self._count("totals")
        for name, value in checked.items():
            res = self._readings.add(meter, name, read_ts, value, reason=reason, node=ev.node,
                                     event_id=ev.event_id, received_at=ev.received_at)
            if not res.stored:
                self._count("duplicates")
                continue
            self._count("readings")
            if res.late:
                self._count("late")
            if res.decreased and reason != "reset":
                self._count("detected_resets")
                self._readings.note_seen(meter, node=ev.node, now=ev.received_at,
                                         last_reset_at=read_ts, resets_add=1)
                registered = self._registry.get(meter)
                alarm = self._alarms.raise_console(
                    METER_RESET_ALARM, node=ev.node, now=ev.received_at,
                    data={"meter": meter, "register": name, "value": value, "read_ts": read_ts,
                          "unit": registered.unit if registered else d.get("unit", "")})
                if self._live is not None:   # once the ingest's batch has committed
                    self._alarms.announce(alarm, self._live)

    def _offline(self, ev: "StoredEvent") -> None:
        d = ev.data
        meter = _meter(d)
        fields: dict[str, Any] = {"state": "offline", "offline_since": ev.ts,
                                  "offline_error": str(d.get("error") or "")[:200]}
        if isinstance(d.get("bus"), str):
            fields["bus"] = d["bus"][:64]
        if isinstance(d.get("slave"), int) and not isinstance(d.get("slave"), bool):
            fields["slave"] = d["slave"]
        before = self._readings.state(meter)
        if before is not None and before.state == "offline" and before.offline_since is not None:
            fields["offline_since"] = min(before.offline_since, ev.ts)  # the same episode
        self._readings.note_seen(meter, node=ev.node, now=ev.received_at, **fields)
        self._count("offline")

    # -- telemetry ---------------------------------------------------------------------------

    def on_telemetry(self, node: str, tel: "Telemetry", received_at: int) -> None:
        """``handler(node, telemetry, received_at)``: keep the latest values of known meters."""
        device = tel.device
        if not _ID_RE.match(device):
            return
        if self._registry.get(device) is None and not self._readings.known(device):
            return
        values = {k: v for k, v in tel.values.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool)}
        self._readings.set_live(device, node=node, ts=tel.ts, received_at=received_at,
                                values=values)
        self._count("live")
