"""Meter anomalies as console alarms, checked by a periodic job (``meters.anomalies``).

- ``console.meter_leak``: a water meter counted at least ``leak_min_m3`` in each of the last
  ``leak_hours`` complete hours (water never stopped running: a leak or a tap left open);
- ``console.meter_vacant_use``: more than ``vacant_min_kwh`` / ``vacant_min_m3`` used over the
  last ``vacant_window_h`` hours in a unit marked vacant (空置房), by the unit that has the
  meter now and only since it has it (a meter moved in from an occupied unit an hour ago is
  judged on that hour);
- ``console.meter_offline``: a meter offline (``meter.offline``) for longer than
  ``offline_minutes``.

(A counter reset is raised at once: the node's ``meter.reset`` event is an alarm, and the
ingest raises ``console.meter_reset`` when it sees a total go backwards unannounced.)

Each condition raises one alarm per episode: it is raised when the condition starts and may be
raised again only after it has ended (an hour without flow, use below the threshold, the meter
back online).  Thresholds: :class:`web.meters.rules.MeterRules`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..db import Database, register_schema
from .readings import ReadingStore
from .registry import MeterRegistry
from .rules import MeterRules
from .usage import HOUR_MS

if TYPE_CHECKING:  # pragma: no cover
    from ..live import LiveFeed
    from ..stores.alarms import AlarmStore
    from ..units import UnitStore

__all__ = ["MeterWatch", "LEAK", "VACANT_USE", "OFFLINE", "ANOMALY_KINDS"]

log = logging.getLogger(__name__)

LEAK = "console.meter_leak"
VACANT_USE = "console.meter_vacant_use"
OFFLINE = "console.meter_offline"
ANOMALY_KINDS = (LEAK, VACANT_USE, OFFLINE)

register_schema("meter_anomalies", """
CREATE TABLE IF NOT EXISTS meter_anomalies (
    meter_id  TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    episode   TEXT    NOT NULL,      -- what identifies the episode (e.g. offline since)
    raised_at INTEGER NOT NULL,
    alarm_id  INTEGER NOT NULL,
    PRIMARY KEY (meter_id, kind)
);
""")


class MeterWatch:
    """Checks the anomalies; ``check(now_ms)`` is the job.  ``rules()``: the thresholds in
    force.  The constructor does no I/O."""

    def __init__(self, db: Database, *, registry: MeterRegistry, readings: ReadingStore,
                 units: "UnitStore", alarms: "AlarmStore", rules: Callable[[], MeterRules],
                 live: "LiveFeed | None" = None) -> None:
        self._db = db
        self._registry = registry
        self._readings = readings
        self._units = units
        self._alarms = alarms
        self._rules = rules
        self._live = live

    def check(self, now: int) -> list[Any]:
        """Run every check at ``now`` (UTC ms); the alarms raised."""
        rules = self._rules()
        raised: list[Any] = []
        active: dict[tuple[str, str], str] = {
            (r[0], r[1]): r[2] for r in self._db.conn().execute(
                "SELECT meter_id, kind, episode FROM meter_anomalies")}
        meters = list(self._registry)
        vacant = {u.code for u in self._units.search(vacant=True, limit=1_000_000)}
        found: dict[tuple[str, str], tuple[str, dict[str, Any], str]] = {}  # episode, data, node
        # offline
        limit_ms = rules.offline_minutes * 60_000
        units = {m.meter_id: m.unit for m in meters}
        for st in self._readings.offline():
            if st.offline_since is not None and now - st.offline_since > limit_ms:
                found[(st.meter_id, OFFLINE)] = (str(st.offline_since), {
                    "meter": st.meter_id, "unit": units.get(st.meter_id, st.node_unit),
                    "offline_since": st.offline_since, "error": st.offline_error or "",
                    "offline_minutes": round((now - st.offline_since) / 60_000)}, st.node)
        # leaks
        last_hour = now - now % HOUR_MS
        cuts = [last_hour - k * HOUR_MS for k in range(rules.leak_hours, -1, -1)]
        for m in meters:
            if m.kind != "water":
                continue
            hours = self._readings.series(m.meter_id, m.billed_register, cuts, now=now)
            if hours and all(u.amount is not None and not u.estimated
                             and u.amount >= rules.leak_min_m3 for u in hours):
                found[(m.meter_id, LEAK)] = ("flow", {
                    "meter": m.meter_id, "unit": m.unit, "hours": rules.leak_hours,
                    "since": cuts[0], "m3": round(sum(u.amount or 0 for u in hours), 3),
                    "min_m3_per_hour": round(min(u.amount or 0 for u in hours), 4)}, m.node)
        # vacant units: only what was used since the unit has the meter
        start = now - rules.vacant_window_h * HOUR_MS
        since = self._registry.current_since()
        for m in meters:
            if m.unit not in vacant:
                continue
            threshold = rules.vacant_min_m3 if m.kind == "water" else rules.vacant_min_kwh
            u = self._readings.usage(m.meter_id, m.billed_register,
                                     min(max(start, since.get(m.meter_id, start)), now), now,
                                     now=now, with_gaps=False)
            if u.amount is not None and u.amount > threshold:
                found[(m.meter_id, VACANT_USE)] = ("vacant", {
                    "meter": m.meter_id, "unit": m.unit, "kind": m.kind,
                    "amount": round(u.amount, 3), "window_h": rules.vacant_window_h,
                    "threshold": threshold}, m.node)
        with self._db.transaction() as c:
            for key, episode in active.items():
                now_episode = found.get(key)
                if now_episode is None or now_episode[0] != episode:
                    c.execute("DELETE FROM meter_anomalies WHERE meter_id = ? AND kind = ?", key)
            for (meter_id, kind), (episode, data, node) in found.items():
                if active.get((meter_id, kind)) == episode:
                    continue
                alarm = self._alarms.raise_console(kind, node=node or None, data=data, now=now)
                c.execute("INSERT OR REPLACE INTO meter_anomalies (meter_id, kind, episode, "
                          "raised_at, alarm_id) VALUES (?, ?, ?, ?, ?)",
                          (meter_id, kind, episode, now, alarm.id))
                raised.append(alarm)
        for alarm in raised:
            log.warning("meters: %s %s", alarm.kind, alarm.data)
            if self._live is not None:   # once committed (the job may run in a transaction)
                self._alarms.announce(alarm, self._live)
        return raised

    def active(self) -> Mapping[tuple[str, str], int]:
        """``{(meter, kind): alarm id}`` of the episodes in progress."""
        return {(r[0], r[1]): r[2] for r in self._db.conn().execute(
            "SELECT meter_id, kind, alarm_id FROM meter_anomalies")}
