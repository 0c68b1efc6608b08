"""The meter registry in the console database: meter id -> unit, kind, map, node, bus, slave.

Admins edit it (form, CSV import); the desk reads it.  Writes are audited by the pages.
"""

from __future__ import annotations

import sqlite3
from typing import Callable, Iterable, Iterator

from ..db import Database, like_contains, register_schema
from ..errors import AlreadyDone, NotFound
from .model import Meter

__all__ = ["MeterRegistry", "MeterExists", "MeterNotFound"]

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
        where, args = [], []
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if text:
            like = like_contains(text)
            where.append("(meter_id LIKE ? ESCAPE '\\' OR unit LIKE ? ESCAPE '\\' "
                         "OR node LIKE ? ESCAPE '\\')")
            args += [like, like, like]
        sql = f"SELECT {_COLS} FROM meters"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY unit, kind, meter_id LIMIT ?"
        return [_row(r) for r in self._db.conn().execute(sql, (*args, limit))]

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

    def save(self, meter: Meter, *, by: str, create: bool) -> Meter:
        """Insert (``create``: :class:`MeterExists` if taken) or replace (:class:`MeterNotFound`
        if absent); the stored meter."""
        stored = meter.with_changes(updated_at=self._clock(), updated_by=by)
        with self._db.transaction() as c:
            there = c.execute("SELECT 1 FROM meters WHERE meter_id = ?",
                              (meter.meter_id,)).fetchone()
            if create and there:
                raise MeterExists(f"meter {meter.meter_id} is already registered")
            if not create and not there:
                raise MeterNotFound(f"meter {meter.meter_id!r} is not registered")
            self._write(c, stored)
        return stored

    def import_meters(self, meters: Iterable[Meter], *, by: str) -> tuple[int, int]:
        """Insert or replace each meter in one transaction (CSV import); (added, updated)."""
        added = updated = 0
        now = self._clock()
        with self._db.transaction() as c:
            for m in meters:
                there = c.execute("SELECT 1 FROM meters WHERE meter_id = ?",
                                  (m.meter_id,)).fetchone()
                self._write(c, m.with_changes(updated_at=now, updated_by=by))
                if there:
                    updated += 1
                else:
                    added += 1
        return added, updated

    def delete(self, meter_id: str, *, by: str) -> None:
        """Remove a meter from the registry (its readings stay in the journal)."""
        with self._db.transaction() as c:
            if c.execute("DELETE FROM meters WHERE meter_id = ?", (meter_id,)).rowcount == 0:
                raise MeterNotFound(f"meter {meter_id!r} is not registered")

    @staticmethod
    def _write(c: sqlite3.Connection, m: Meter) -> None:
        c.execute(f"INSERT INTO meters ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT(meter_id) DO UPDATE SET unit = excluded.unit, kind = excluded.kind, "
                  "map = excluded.map, node = excluded.node, bus = excluded.bus, "
                  "slave = excluded.slave, register = excluded.register, note = excluded.note, "
                  "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                  (m.meter_id, m.unit, m.kind, m.map, m.node, m.bus, m.slave, m.billed_register,
                   m.note, m.updated_at, m.updated_by))
