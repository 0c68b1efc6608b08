"""The meter registry in the console database: meter id -> unit, kind, map, node, bus, slave.

Admins edit it (form, CSV import); the desk reads it.  Writes are audited by the pages.
A change of a meter's unit is recorded in the assignment history
(:mod:`web.meters.assignments`) with its effective time, in the same transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, NamedTuple

from ..db import Database, Filters, register_schema
from ..errors import AlreadyDone, NotFound
from . import assignments as hist
from .assignments import Assignment, MoveRefused
from .model import Meter

__all__ = ["MeterRegistry", "MeterExists", "MeterNotFound", "Move", "ImportResult", "MoveRefused"]

register_schema("meters", """
CREATE TABLE IF NOT EXISTS meters (
    meter_id   TEXT PRIMARY KEY,
    unit       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    map        TEXT    NOT NULL DEFAULT '',
    node       TEXT    NOT NULL DEFAULT '',
    bus        TEXT    NOT NULL DEFAULT '',
    slave      INTEGER NOT NULL DEFAULT 0,
    register   TEXT    NOT NULL,
    note       TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    updated_by TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS meters_unit ON meters(unit, kind, meter_id);
""")

_COLS = "meter_id, unit, kind, map, node, bus, slave, register, note, updated_at, updated_by"


class MeterExists(AlreadyDone):
    """A meter with that id is already registered."""


class MeterNotFound(NotFound):
    """No meter has that id."""


@dataclass(frozen=True)
class Move:
    """A recorded change of unit: ``meter_id`` from ``old_unit`` to ``new_unit`` at ``at``
    (effective, UTC ms)."""

    meter_id: str
    old_unit: str
    new_unit: str
    at: int


class ImportResult(NamedTuple):
    """What :meth:`MeterRegistry.import_meters` did: meters ``added``, ``updated``, and the
    unit changes among the updates (``moved``, effective at the import)."""

    added: int
    updated: int
    moved: tuple[Move, ...]


def _row(r: sqlite3.Row) -> Meter:
    return Meter(meter_id=r["meter_id"], unit=r["unit"], kind=r["kind"], map=r["map"],
                 node=r["node"], bus=r["bus"], slave=r["slave"], register=r["register"],
                 note=r["note"], updated_at=r["updated_at"], updated_by=r["updated_by"])


class MeterRegistry:
    """Meters by id.  ``clock``: UTC ms.  The constructor does no I/O."""

    def __init__(self, db: Database, *, clock: Callable[[], int]) -> None:
        self._db = db
        self._clock = clock

    def get(self, meter_id: str) -> Meter | None:
        r = self._db.conn().execute(f"SELECT {_COLS} FROM meters WHERE meter_id = ?",
                                    (meter_id,)).fetchone()
        return _row(r) if r else None

    def require(self, meter_id: str) -> Meter:
        m = self.get(meter_id)
        if m is None:
            raise MeterNotFound(f"meter {meter_id!r} is not registered")
        return m

    def of_unit(self, unit: str) -> list[Meter]:
        """The unit's meters, electricity first."""
        return [_row(r) for r in self._db.conn().execute(
            f"SELECT {_COLS} FROM meters WHERE unit = ? ORDER BY kind, meter_id", (unit,))]

    def search(self, *, text: str | None = None, kind: str | None = None,
               limit: int = 500) -> list[Meter]:
        """Meters ordered by unit then id; ``text`` matches the id, unit or node (substring)."""
        f = Filters()
        if kind:
            f.add("kind = ?", kind)
        if text:
            f.contains(text, "meter_id", "unit", "node")
        sql = f"SELECT {_COLS} FROM meters{f.sql} ORDER BY unit, kind, meter_id LIMIT ?"
        return [_row(r) for r in self._db.conn().execute(sql, (*f.args, limit))]

    def __iter__(self) -> Iterator[Meter]:
        return iter(self.search(limit=10_000_000))

    def count(self) -> int:
        return self._db.conn().execute("SELECT COUNT(*) FROM meters").fetchone()[0]

    def ids(self) -> set[str]:
        """Every registered meter id."""
        return {r[0] for r in self._db.conn().execute("SELECT meter_id FROM meters")}

    def units(self) -> list[str]:
        """Units that have at least one meter, sorted."""
        return [r[0] for r in self._db.conn().execute(
            "SELECT DISTINCT unit FROM meters ORDER BY unit")]

    def save(self, meter: Meter, *, by: str, create: bool,
             effective_at: int | None = None) -> Meter:
        """Insert (``create``: :class:`MeterExists` if taken) or replace (:class:`MeterNotFound`
        if absent); the stored meter.  A new unit is recorded in the assignment history from
        ``effective_at`` (UTC ms, default now; :class:`MoveRefused` if it is in the future or
        before the meter's previous change); ``effective_at`` is ignored when the unit stays."""
        now = self._clock()
        stored = meter.with_changes(updated_at=now, updated_by=by)
        with self._db.transaction() as c:
            there = c.execute("SELECT unit FROM meters WHERE meter_id = ?",
                              (meter.meter_id,)).fetchone()
            if create and there:
                raise MeterExists(f"meter {meter.meter_id} is already registered")
            if not create and not there:
                raise MeterNotFound(f"meter {meter.meter_id!r} is not registered")
            if create:
                hist.record_first(c, meter.meter_id, meter.unit, by=by, now=now)
            elif there[0] != meter.unit:
                hist.record_move(c, meter.meter_id, there[0], meter.unit, by=by, now=now,
                                 at=now if effective_at is None else effective_at)
            self._write(c, stored)
        return stored

    def import_meters(self, meters: Iterable[Meter], *, by: str) -> ImportResult:
        """Insert or replace each meter in one transaction (CSV import); a changed unit is
        recorded effective now (or at the meter's previous change, should that be later: a
        clock set back)."""
        added = updated = 0
        moved: list[Move] = []
        now = self._clock()
        with self._db.transaction() as c:
            for m in meters:
                there = c.execute("SELECT unit FROM meters WHERE meter_id = ?",
                                  (m.meter_id,)).fetchone()
                if there is None:
                    hist.record_first(c, m.meter_id, m.unit, by=by, now=now)
                elif there[0] != m.unit:
                    at = now
                    try:
                        hist.check_effective(c, m.meter_id, now, now=now)
                    except MoveRefused as refused:
                        at = refused.previous if refused.previous is not None else now
                    hist.record_move(c, m.meter_id, there[0], m.unit, at=at, by=by,
                                     now=max(now, at))
                    moved.append(Move(m.meter_id, there[0], m.unit, at))
                self._write(c, m.with_changes(updated_at=now, updated_by=by))
                if there:
                    updated += 1
                else:
                    added += 1
        return ImportResult(added, updated, tuple(moved))

    def delete(self, meter_id: str, *, by: str) -> None:
        """Remove a meter from the registry (its readings stay in the journal, its assignment
        history goes: registered again, it starts afresh)."""
        with self._db.transaction() as c:
            if c.execute("DELETE FROM meters WHERE meter_id = ?", (meter_id,)).rowcount == 0:
                raise MeterNotFound(f"meter {meter_id!r} is not registered")
            hist.forget(c, meter_id)

    # -- assignment history ------------------------------------------------------------------

    def history(self, meter_id: str) -> list[Assignment]:
        """The meter's units over time, oldest first (empty for a meter registered before the
        history was kept and never moved since)."""
        return hist.history_of(self._db.conn(), meter_id)

    def moved(self) -> dict[str, list[Assignment]]:
        """The assignments of every meter that changed unit, by meter."""
        return hist.moved_meters(self._db.conn())

    def windows_in(self, unit: str) -> dict[str, list[hist.Window]]:
        """``{meter: [(from, until)]}``: when ``unit`` had each meter it ever had (UTC ms,
        open ends as ±:data:`~web.meters.assignments.FOREVER`), registered meters only."""
        out = {m.meter_id: [(-hist.FOREVER, hist.FOREVER)] for m in self.of_unit(unit)}
        moved = self.moved()
        for mid in list(out):
            if mid in moved:
                out[mid] = hist.windows_of(moved[mid], unit)
        registered = self.ids()
        for mid, windows in hist.unit_windows(self._db.conn(), unit).items():
            if mid in registered and mid in moved:
                out[mid] = windows
        return out

    def current_since(self) -> dict[str, int]:
        """``{meter: effective time}`` of the moved meters: since when their unit has them."""
        return dict(hist.current_since(self._db.conn()))

    @staticmethod
    def _write(c: sqlite3.Connection, m: Meter) -> None:
        c.execute(f"INSERT INTO meters ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT(meter_id) DO UPDATE SET unit = excluded.unit, kind = excluded.kind, "
                  "map = excluded.map, node = excluded.node, bus = excluded.bus, "
                  "slave = excluded.slave, register = excluded.register, note = excluded.note, "
                  "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                  (m.meter_id, m.unit, m.kind, m.map, m.node, m.bus, m.slave, m.billed_register,
                   m.note, m.updated_at, m.updated_by))
