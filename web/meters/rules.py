"""The meters' adjustable rules: the statement day, the statement's estimate tolerance and gap
threshold, and the anomaly thresholds.

Defaults are the constructor arguments of :class:`MeterRules`; an admin changes them on the
meter settings page (stored as one JSON row in ``meter_settings``, audited by the page).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Callable, Mapping

from ..db import Database, register_schema
from .readings import INDEXED_GAP_MS, MarkThresholds

__all__ = ["MeterRules", "RulesStore", "RULE_LIMITS"]

register_schema("meter_settings", """
CREATE TABLE IF NOT EXISTS meter_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT    NOT NULL
);
""")


@dataclass(frozen=True)
class MeterRules:
    """``statement_day``: billing periods run from this day of a month to the same day of the
    next, 00:00 local time (1..28, default 3); ``leak_hours``: water used in every one of this
    many consecutive hours is a leak (default 6); ``leak_min_m3``: the least use in an hour that
    counts as flow (m³, default 0.001 = 1 litre); ``vacant_window_h``: look-back for use in a
    vacant unit (hours, default 24); ``vacant_min_kwh`` / ``vacant_min_m3``: more than this in
    the window raises the vacant-unit alarm (default 0.5 kWh / 0.02 m³); ``offline_minutes``:
    a meter offline longer than this raises an alarm (default 30);
    ``estimate_tolerance_minutes``: a statement's boundary value with no reading within this
    many minutes of the boundary is marked *estimated* (1..720, default 60);
    ``gap_minutes``: more than this many minutes without a reading is marked a *gap* (longer
    than :data:`~web.meters.readings.INDEXED_GAP_MS`, at most 7 days; default 120)."""

    statement_day: int = 3
    leak_hours: int = 6
    leak_min_m3: float = 0.001
    vacant_window_h: int = 24
    vacant_min_kwh: float = 0.5
    vacant_min_m3: float = 0.02
    offline_minutes: int = 30
    estimate_tolerance_minutes: int = 60
    gap_minutes: int = 120

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(f"{k}: {v}" for k, v in problems.items()))

    def problems(self) -> dict[str, str]:
        out = {}
        for name, (lo, hi) in RULE_LIMITS.items():
            v = getattr(self, name)
            if not lo <= v <= hi:
                out[name] = f"must be {lo}..{hi}, got {v}"
        return out

    @property
    def marks(self) -> MarkThresholds:
        """The statement's estimate tolerance and gap threshold, in ms."""
        return MarkThresholds(tolerance_ms=self.estimate_tolerance_minutes * 60_000,
                              gap_ms=self.gap_minutes * 60_000)


#: Allowed range of each rule (inclusive).
RULE_LIMITS: Mapping[str, tuple[float, float]] = {
    "statement_day": (1, 28), "leak_hours": (1, 72), "leak_min_m3": (0.0001, 10.0),
    "vacant_window_h": (1, 24 * 31), "vacant_min_kwh": (0.0, 10_000.0),
    "vacant_min_m3": (0.0, 10_000.0), "offline_minutes": (1, 7 * 24 * 60),
    "estimate_tolerance_minutes": (1, 12 * 60),
    "gap_minutes": (INDEXED_GAP_MS // 60_000 + 1, 7 * 24 * 60)}


class RulesStore:
    """The rules in force: ``defaults`` until an admin saves others.  The constructor does no
    I/O."""

    def __init__(self, db: Database, *, clock: Callable[[], int],
                 defaults: MeterRules | None = None) -> None:
        self._db = db
        self._clock = clock
        self.defaults = defaults or MeterRules()
        self._cached: MeterRules | None = None
        self._lock = threading.Lock()

    def get(self) -> MeterRules:
        with self._lock:
            if self._cached is not None:
                return self._cached
        r = self._db.conn().execute("SELECT value FROM meter_settings WHERE name = 'rules'").fetchone()
        rules = self.defaults
        if r is not None:
            saved: Mapping[str, Any] = json.loads(r[0])
            known = {f.name for f in fields(MeterRules)}
            try:
                rules = replace(self.defaults, **{k: v for k, v in saved.items() if k in known})
            except (TypeError, ValueError):
                rules = self.defaults
        with self._lock:
            self._cached = rules
        return rules

    def marks(self) -> MarkThresholds:
        """The statement's estimate tolerance and gap threshold in force (ms)."""
        return self.get().marks

    def save(self, rules: MeterRules, *, by: str) -> MeterRules:
        with self._db.transaction() as c:
            c.execute("INSERT INTO meter_settings (name, value, updated_at, updated_by) "
                      "VALUES ('rules', ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                      "value = excluded.value, updated_at = excluded.updated_at, "
                      "updated_by = excluded.updated_by",
                      (json.dumps(asdict(rules), sort_keys=True), self._clock(), by))
        with self._lock:
            self._cached = rules
        return rules
