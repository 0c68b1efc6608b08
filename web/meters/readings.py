"""The readings journal (抄表记录): cumulative totals per meter and register, in SQLite.

Fed by the ingest (``meter.total`` events, :mod:`web.meters.ingest`).  Each row carries its
counter ``segment`` (a new one after each reset: a ``reason = "reset"`` total, or a total lower
than the one before it) and ``gap_before_ms`` (time since the reading before it), both set when
the row is written and kept right when a late reading is slotted in between older ones.  So a
statement needs a handful of indexed look-ups per meter, never a scan of its month of readings.

Live values (telemetry) are kept only as the latest per meter (``meter_live``); the meter's
on/offline state and last reset as ``meter_state``.
"""

from __future__ import annotations

import json
import sqlite3
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ..db import Database, register_schema
from .assignments import Window, clip
from .usage import (HOUR_MS, Boundary, Gap, Reading, Usage, boundary_value, combine_usages,
                    no_usage, period_usage)

__all__ = ["ReadingStore", "StoredReading", "MeterState", "INDEXED_GAP_MS", "AddResult",
           "MarkThresholds"]

#: Gaps longer than this are indexed; the gap threshold of a statement must be longer (ms).
INDEXED_GAP_MS = HOUR_MS

register_schema("meter_readings", f"""
CREATE TABLE IF NOT EXISTS meter_readings (
    id            INTEGER PRIMARY KEY,
    meter_id      TEXT    NOT NULL,
    register      TEXT    NOT NULL,
    ts            INTEGER NOT NULL,        -- read at (node clock), UTC ms
    value         REAL    NOT NULL,
    segment       INTEGER NOT NULL,        -- counter run: +1 after each reset
    gap_before_ms INTEGER,                 -- since the reading before (NULL: the first)
    reason        TEXT    NOT NULL,        -- first | interval | hour | reset
    node          TEXT    NOT NULL,
    event_id      TEXT,
    received_at   INTEGER NOT NULL,
    UNIQUE (meter_id, register, ts)
);
CREATE INDEX IF NOT EXISTS meter_readings_gaps ON meter_readings(meter_id, register, ts)
    WHERE gap_before_ms > {INDEXED_GAP_MS};
CREATE TABLE IF NOT EXISTS meter_state (
    meter_id      TEXT PRIMARY KEY,
    node          TEXT    NOT NULL DEFAULT '',
    kind          TEXT    NOT NULL DEFAULT '',
    node_unit     TEXT    NOT NULL DEFAULT '',   -- the unit named in the node's config
    bus           TEXT    NOT NULL DEFAULT '',
    slave         INTEGER NOT NULL DEFAULT 0,
    state         TEXT    NOT NULL DEFAULT 'unknown',   -- online | offline | unknown
    offline_since INTEGER,                        -- UTC ms (node clock)
    offline_error TEXT,
    last_total_ts INTEGER,
    last_seen_at  INTEGER,                        -- console clock, UTC ms
    last_reset_at INTEGER,
    resets        INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meter_live (
    meter_id    TEXT PRIMARY KEY,
    node        TEXT    NOT NULL,
    ts          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    vals        TEXT    NOT NULL
);
""")


@dataclass(frozen=True, slots=True)
class StoredReading:
    """One journal row (``ts``: read at, UTC ms)."""

    meter_id: str
    register: str
    ts: int
    value: float
    segment: int
    gap_before_ms: int | None
    reason: str
    node: str
    received_at: int


@dataclass(frozen=True, slots=True)
class MeterState:
    """What the console last heard of a meter (from its events and telemetry)."""

    meter_id: str
    node: str
    kind: str
    node_unit: str
    bus: str
    slave: int
    state: str
    offline_since: int | None
    offline_error: str | None
    last_total_ts: int | None
    last_seen_at: int | None
    last_reset_at: int | None
    resets: int


@dataclass(frozen=True, slots=True)
class AddResult:
    """What :meth:`ReadingStore.add` did: ``stored`` (False: a duplicate), ``decreased`` (the
    value is below the reading before it), ``late`` (slotted in before newer readings)."""

    stored: bool
    decreased: bool = False
    late: bool = False


@dataclass(frozen=True, slots=True)
class MarkThresholds:
    """When a statement marks a value: ``tolerance_ms``, a boundary value read farther than
    this from the boundary is *estimated* (default 1 h: the nodes journal a total at every
    hour, must be >= 0); ``gap_ms``, no reading for longer than this is a *gap* (default 2 h;
    must exceed :data:`INDEXED_GAP_MS`, as only gaps longer than that are indexed).
    ``ValueError`` when out of range."""

    tolerance_ms: int = HOUR_MS
    gap_ms: int = 2 * HOUR_MS

    def __post_init__(self) -> None:
        if self.gap_ms <= INDEXED_GAP_MS:
            raise ValueError(f"gap_ms must be > {INDEXED_GAP_MS}")
        if self.tolerance_ms < 0:
            raise ValueError("tolerance_ms must be >= 0")


_RCOLS = "meter_id, register, ts, value, segment, gap_before_ms, reason, node, received_at"


def _reading(r: sqlite3.Row) -> StoredReading:
    return StoredReading(r["meter_id"], r["register"], r["ts"], r["value"], r["segment"],
                         r["gap_before_ms"], r["reason"], r["node"], r["received_at"])


class ReadingStore:
    """The readings journal, meter states and live values.

    :param thresholds: the :class:`MarkThresholds` in force (estimate tolerance, gap
        threshold), asked once per :meth:`usage`, :meth:`boundary` or :meth:`series` call so
        an admin's change applies from the next call on; default the fixed 1 h / 2 h.
    :param clock: UTC ms (a period still running is cut at "now").

    The constructor does no I/O."""

    def __init__(self, db: Database, *, clock: Callable[[], int],
                 thresholds: Callable[[], MarkThresholds] | None = None) -> None:
        self._db = db
        self._clock = clock
        fixed = MarkThresholds()
        self.thresholds: Callable[[], MarkThresholds] = thresholds or (lambda: fixed)

    @property
    def tolerance_ms(self) -> int:
        """The estimate tolerance in force (ms)."""
        return self.thresholds().tolerance_ms

    @property
    def gap_ms(self) -> int:
        """The gap threshold in force (ms)."""
        return self.thresholds().gap_ms

    # -- writing -----------------------------------------------------------------------------

    def add(self, meter_id: str, register: str, ts: int, value: float, *, reason: str,
            node: str, event_id: str | None = None, received_at: int | None = None) -> AddResult:
        """Journal one total (inside the caller's transaction, or its own)."""
        received = self._clock() if received_at is None else received_at
        reset = reason == "reset"
        with self._db.transaction() as c:
            key = (meter_id, register)
            if c.execute("SELECT 1 FROM meter_readings WHERE meter_id = ? AND register = ? "
                         "AND ts = ?", (*key, ts)).fetchone():
                return AddResult(False)
            prev = c.execute("SELECT ts, value, segment FROM meter_readings WHERE meter_id = ? "
                             "AND register = ? AND ts < ? ORDER BY ts DESC LIMIT 1",
                             (*key, ts)).fetchone()
            later = c.execute("SELECT 1 FROM meter_readings WHERE meter_id = ? AND register = ? "
                              "AND ts > ? LIMIT 1", (*key, ts)).fetchone() is not None
            decreased = prev is not None and value < prev["value"]
            if prev is None:
                segment, gap = 0, None
            else:
                segment = prev["segment"] + (1 if (reset or decreased) else 0)
                gap = ts - prev["ts"]
            c.execute(f"INSERT INTO meter_readings ({_RCOLS}, event_id) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (meter_id, register, ts, float(value), segment, gap, reason, node,
                       received, event_id))
            if later:
                self._renumber(c, meter_id, register, ts if prev is None else prev["ts"])
        return AddResult(True, decreased=decreased, late=later)

    @staticmethod
    def _renumber(c: sqlite3.Connection, meter_id: str, register: str, from_ts: int) -> None:
        """Recompute segments and gaps from the reading at ``from_ts`` on (a late reading)."""
        rows = c.execute("SELECT id, ts, value, segment, gap_before_ms, reason FROM meter_readings "
                         "WHERE meter_id = ? AND register = ? AND ts >= ? ORDER BY ts",
                         (meter_id, register, from_ts)).fetchall()
        prev = rows[0]
        seg = prev["segment"]
        for r in rows[1:]:
            if r["reason"] == "reset" or r["value"] < prev["value"]:
                seg += 1
            gap = r["ts"] - prev["ts"]
            if r["segment"] != seg or r["gap_before_ms"] != gap:
                c.execute("UPDATE meter_readings SET segment = ?, gap_before_ms = ? WHERE id = ?",
                          (seg, gap, r["id"]))
            prev = r

    def note_seen(self, meter_id: str, *, node: str, now: int, **fields: Any) -> None:
        """Create or update the meter's state row (``fields``: ``kind``, ``node_unit``, ``bus``,
        ``slave``, ``state``, ``offline_since``, ``offline_error``, ``last_total_ts``,
        ``last_reset_at``; ``resets_add``: add to the reset count)."""
        resets_add = int(fields.pop("resets_add", 0))
        allowed = {"kind", "node_unit", "bus", "slave", "state", "offline_since",
                   "offline_error", "last_total_ts", "last_reset_at"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown meter state fields {sorted(unknown)}")
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._db.transaction() as c:
            c.execute("INSERT INTO meter_state (meter_id, node, last_seen_at) VALUES (?, ?, ?) "
                      "ON CONFLICT(meter_id) DO UPDATE SET node = excluded.node, "
                      "last_seen_at = excluded.last_seen_at", (meter_id, node, now))
            if sets:
                c.execute(f"UPDATE meter_state SET {sets} WHERE meter_id = ?",
                          (*fields.values(), meter_id))
            if resets_add:
                c.execute("UPDATE meter_state SET resets = resets + ? WHERE meter_id = ?",
                          (resets_add, meter_id))

    def set_live(self, meter_id: str, *, node: str, ts: int, received_at: int,
                 values: Mapping[str, Any]) -> None:
        """Keep ``values`` as the meter's latest live reading (replacing the one before)."""
        with self._db.transaction() as c:
            c.execute("INSERT INTO meter_live (meter_id, node, ts, received_at, vals) "
                      "VALUES (?, ?, ?, ?, ?) ON CONFLICT(meter_id) DO UPDATE SET "
                      "node = excluded.node, ts = excluded.ts, received_at = excluded.received_at, "
                      "vals = excluded.vals WHERE excluded.ts >= meter_live.ts",
                      (meter_id, node, ts, received_at, json.dumps(dict(values), sort_keys=True)))

    # -- reading -----------------------------------------------------------------------------

    def known(self, meter_id: str) -> bool:
        """True if the console has heard of the meter (an event from it)."""
        return self._db.conn().execute("SELECT 1 FROM meter_state WHERE meter_id = ?",
                                       (meter_id,)).fetchone() is not None

    def state(self, meter_id: str) -> MeterState | None:
        r = self._db.conn().execute("SELECT * FROM meter_state WHERE meter_id = ?",
                                    (meter_id,)).fetchone()
        return MeterState(**dict(r)) if r else None

    def states(self) -> dict[str, MeterState]:
        return {r["meter_id"]: MeterState(**dict(r))
                for r in self._db.conn().execute("SELECT * FROM meter_state")}

    def offline(self) -> list[MeterState]:
        """Meters whose last word was ``meter.offline``."""
        return [MeterState(**dict(r)) for r in self._db.conn().execute(
            "SELECT * FROM meter_state WHERE state = 'offline' ORDER BY offline_since")]

    def live(self, meter_id: str) -> tuple[int, dict[str, Any]] | None:
        """``(ts, values)`` of the latest live reading, or None."""
        r = self._db.conn().execute("SELECT ts, vals FROM meter_live WHERE meter_id = ?",
                                    (meter_id,)).fetchone()
        return (r["ts"], json.loads(r["vals"])) if r else None

    def latest(self, meter_id: str, register: str) -> StoredReading | None:
        r = self._db.conn().execute(f"SELECT {_RCOLS} FROM meter_readings WHERE meter_id = ? "
                                    "AND register = ? ORDER BY ts DESC LIMIT 1",
                                    (meter_id, register)).fetchone()
        return _reading(r) if r else None

    def history(self, meter_ids: Sequence[tuple[str, str]], *, before: int | None = None,
                limit: int = 50,
                windows: Mapping[str, Sequence[Window]] | None = None) -> list[StoredReading]:
        """Readings of the ``(meter, register)`` pairs, newest first, older than ``before``;
        ``windows``: only those read inside the meter's ``[from, until)`` stretches (a meter
        missing from it: all its readings)."""
        if not meter_ids:
            return []
        out: list[StoredReading] = []
        for meter_id, register in meter_ids:
            spans = None if windows is None else windows.get(meter_id)
            for lo, hi in [(None, None)] if spans is None else spans:
                sql = f"SELECT {_RCOLS} FROM meter_readings WHERE meter_id = ? AND register = ?"
                args: list[Any] = [meter_id, register]
                if before is not None:
                    sql += " AND ts < ?"
                    args.append(before)
                if lo is not None:
                    sql += " AND ts >= ? AND ts < ?"
                    args += [lo, hi]
                sql += " ORDER BY ts DESC LIMIT ?"
                out += [_reading(r) for r in self._db.conn().execute(sql, (*args, limit))]
        out.sort(key=lambda r: (r.ts, r.meter_id), reverse=True)
        return out[:limit]

    def readings(self, meter_id: str, register: str, start: int, end: int) -> list[Reading]:
        """Every reading in ``[start, end]`` (for tests and exports)."""
        return [Reading(r["ts"], r["value"], r["segment"], r["reason"] == "reset")
                for r in self._db.conn().execute(
                    "SELECT ts, value, segment, reason FROM meter_readings WHERE meter_id = ? "
                    "AND register = ? AND ts BETWEEN ? AND ? ORDER BY ts",
                    (meter_id, register, start, end))]

    def count(self) -> int:
        return self._db.conn().execute("SELECT COUNT(*) FROM meter_readings").fetchone()[0]

    # -- consumption -------------------------------------------------------------------------

    def _side(self, c: sqlite3.Connection, key: tuple[str, str], at: int, before: bool) -> Reading | None:
        if before:
            sql = ("SELECT ts, value, segment FROM meter_readings WHERE meter_id = ? AND "
                   "register = ? AND ts <= ? ORDER BY ts DESC LIMIT 1")
        else:
            sql = ("SELECT ts, value, segment FROM meter_readings WHERE meter_id = ? AND "
                   "register = ? AND ts >= ? ORDER BY ts LIMIT 1")
        r = c.execute(sql, (*key, at)).fetchone()
        return Reading(r[0], r[1], r[2]) if r else None

    def boundary(self, meter_id: str, register: str, at: int, *,
                 thresholds: MarkThresholds | None = None) -> Boundary:
        """The counter at ``at`` (see :func:`web.meters.usage.boundary_value`); ``thresholds``
        default the ones in force."""
        c = self._db.conn()
        key = (meter_id, register)
        tolerance = (thresholds or self.thresholds()).tolerance_ms
        return boundary_value(self._side(c, key, at, True), self._side(c, key, at, False), at,
                              tolerance_ms=tolerance)

    def _spans(self, key: tuple[str, str], b0: Boundary, b1: Boundary) -> dict[int, tuple[float, float]]:
        if (b0.segment_out is None or b1.segment_in is None
                or b1.segment_in <= b0.segment_out):
            return {}
        rows = self._db.conn().execute(
            "SELECT segment, MIN(value), MAX(value) FROM meter_readings WHERE meter_id = ? AND "
            "register = ? AND ts BETWEEN ? AND ? AND segment BETWEEN ? AND ? GROUP BY segment",
            (*key, b0.ts, b1.ts, b0.segment_out, b1.segment_in)).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def _gaps(self, key: tuple[str, str], start: int, gap_end: int, gap_ms: int) -> list[Gap]:
        c = self._db.conn()
        after = self._side(c, key, gap_end, False)
        upper = after.ts if after is not None else gap_end
        rows = c.execute(
            "SELECT ts, gap_before_ms FROM meter_readings INDEXED BY meter_readings_gaps "
            f"WHERE meter_id = ? AND register = ? AND gap_before_ms > {INDEXED_GAP_MS} "
            "AND gap_before_ms > ? AND ts > ? AND ts <= ? ORDER BY ts",
            (*key, gap_ms, start, upper)).fetchall()
        gaps = [Gap(ts - gap, ts) for ts, gap in rows if ts - gap < gap_end]
        if after is None:
            last = self._side(c, key, gap_end, True)
            if last is not None and gap_end - last.ts > gap_ms:
                gaps.append(Gap(last.ts, gap_end))
        return gaps

    def usage(self, meter_id: str, register: str, start: int, end: int, *,
              now: int | None = None, with_gaps: bool = True,
              thresholds: MarkThresholds | None = None) -> Usage:
        """Consumption over ``[start, end)`` (a period still running is cut at ``now``,
        default the clock); ``thresholds`` default the ones in force (a statement passes the
        same ones for every row)."""
        now = self._clock() if now is None else now
        th = thresholds or self.thresholds()
        end_at = min(end, max(now, start))
        key = (meter_id, register)
        b0 = self.boundary(meter_id, register, start, thresholds=th)
        b1 = self.boundary(meter_id, register, end_at, thresholds=th)
        gaps = self._gaps(key, start, end_at, th.gap_ms) if with_gaps else []
        return period_usage(b0, b1, self._spans(key, b0, b1), gaps)

    def usage_within(self, meter_id: str, register: str, start: int, end: int,
                     windows: Sequence[Window], *, now: int | None = None,
                     thresholds: MarkThresholds | None = None) -> Usage:
        """Consumption over the parts of ``[start, end)`` inside ``windows`` (when a unit had
        the meter), summed (:func:`web.meters.usage.combine_usages`); no data if none."""
        th = thresholds or self.thresholds()
        parts = clip(windows, start, end)
        if not parts:
            return no_usage(start, end)
        return combine_usages([self.usage(meter_id, register, a, b, now=now, thresholds=th)
                               for a, b in parts])

    def series(self, meter_id: str, register: str, cuts: Sequence[int], *,
               now: int | None = None, within: Sequence[Window] | None = None) -> list[Usage]:
        """Consumption between consecutive ``cuts`` (UTC ms, ascending): ``len(cuts) - 1``
        usages (chart bars, the leak check), without gaps; a cut past ``now`` is taken at
        ``now``, and a bar starting after ``now`` has no data.  ``within``: count only the
        parts of each bar inside these ``[from, until)`` stretches (a unit's time with the
        meter; a bar outside them has no data).  Three queries in all: the reading before the
        first cut, the readings between, the one after the last."""
        now = self._clock() if now is None else now
        if len(cuts) < 2:
            return []
        tolerance = self.thresholds().tolerance_ms
        c = self._db.conn()
        key = (meter_id, register)
        first, last = cuts[0], min(cuts[-1], max(now, cuts[0]))
        rows = [Reading(r[0], r[1], r[2]) for r in c.execute(
            "SELECT ts, value, segment FROM meter_readings WHERE meter_id = ? AND register = ? "
            "AND ts > ? AND ts < ? ORDER BY ts", (*key, first, last))]
        before = self._side(c, key, first, True)
        after = self._side(c, key, last, False)
        rs = ([before] if before is not None else []) + rows + ([after] if after is not None else [])
        times = [r.ts for r in rs]

        def at(t: int) -> Boundary:
            i, j = bisect_right(times, t), bisect_left(times, t)
            return boundary_value(rs[i - 1] if i else None, rs[j] if j < len(rs) else None, t,
                                  tolerance_ms=tolerance)

        def between(a: int, b: int) -> Usage:
            b0, b1 = at(a), at(min(b, now))
            spans: dict[int, tuple[float, float]] = {}
            if (b0.segment_out is not None and b1.segment_in is not None
                    and b1.segment_in > b0.segment_out):
                for r in rs[bisect_left(times, a):bisect_right(times, b1.ts)]:
                    lo, _ = spans.get(r.segment, (r.value, r.value))
                    spans[r.segment] = (lo, r.value)
            return period_usage(b0, b1, spans)

        out: list[Usage] = []
        for a, b in zip(cuts, cuts[1:]):
            if a > now:
                out.append(no_usage(a, a))
            elif within is None:
                out.append(between(a, b))
            else:
                parts = [(lo, hi) for lo, hi in clip(within, a, b) if lo <= now]
                out.append(combine_usages([between(lo, hi) for lo, hi in parts]) if parts
                           else no_usage(a, b))
        return out
