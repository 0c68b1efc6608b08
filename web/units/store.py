"""The unit registry in the console database (one row per unit, residents as JSON).

Shared by the features that name units: the intercom desk (who to call), visitor registration,
goods passes, the key register and the meters (vacant units).  Writes are audited by the
caller (the pages), as every admin change.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from typing import Callable, Iterable, Iterator

from ..db import Database, Filters, register_schema
from ..errors import AlreadyDone, NotFound
from .model import Resident, Unit

__all__ = ["UnitStore", "UnitExists", "UnitNotFound"]

register_schema("units", """
CREATE TABLE IF NOT EXISTS units (
    code       TEXT PRIMARY KEY,
    building   TEXT    NOT NULL,
    number     TEXT    NOT NULL,
    vacant     INTEGER NOT NULL DEFAULT 0,
    residents  TEXT    NOT NULL DEFAULT '[]',   -- JSON list of {name, phone, relation}
    note       TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    updated_by TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS units_building ON units(building, number);
""")

_COLS = "code, building, number, vacant, residents, note, updated_at, updated_by"


class UnitExists(AlreadyDone):
    """A unit with that code is already registered."""


class UnitNotFound(NotFound):
    """No unit has that code."""


def _row(r: sqlite3.Row) -> Unit:
    residents = tuple(Resident(name=x["name"], phone=x.get("phone", ""),
                               relation=x.get("relation", "owner"))
                      for x in json.loads(r["residents"]))
    return Unit(code=r["code"], building=r["building"], number=r["number"],
                vacant=bool(r["vacant"]), residents=residents, note=r["note"],
                updated_at=r["updated_at"], updated_by=r["updated_by"])


class UnitStore:
    """Units by code.  ``clock``: UTC ms.  The constructor does no I/O."""

    def __init__(self, db: Database, *, clock: Callable[[], int]) -> None:
        self._db = db
        self._clock = clock

    def get(self, code: str) -> Unit | None:
        r = self._db.conn().execute(f"SELECT {_COLS} FROM units WHERE code = ?",
                                    (code,)).fetchone()
        return _row(r) if r else None

    def require(self, code: str) -> Unit:
        """The unit, or :class:`UnitNotFound`."""
        unit = self.get(code)
        if unit is None:
            raise UnitNotFound(f"unit {code!r} is not registered")
        return unit

    def exists(self, code: str) -> bool:
        return self._db.conn().execute("SELECT 1 FROM units WHERE code = ?",
                                       (code,)).fetchone() is not None

    def is_vacant(self, code: str) -> bool:
        """True if ``code`` is registered and marked vacant."""
        r = self._db.conn().execute("SELECT vacant FROM units WHERE code = ?", (code,)).fetchone()
        return bool(r and r[0])

    def search(self, *, text: str | None = None, building: str | None = None,
               vacant: bool | None = None, limit: int = 500) -> list[Unit]:
        """Units ordered by building then number; ``text`` matches the code or a resident's
        name or phone (substring)."""
        f = Filters()
        if building:
            f.add("building = ?", building)
        if vacant is not None:
            f.add("vacant = ?", int(vacant))
        if text:
            f.contains(text, "code", "residents")
        sql = f"SELECT {_COLS} FROM units{f.sql} ORDER BY building, length(number), number LIMIT ?"
        return [_row(r) for r in self._db.conn().execute(sql, (*f.args, limit))]

    def __iter__(self) -> Iterator[Unit]:
        return iter(self.search(limit=1_000_000))

    def count(self) -> int:
        return self._db.conn().execute("SELECT COUNT(*) FROM units").fetchone()[0]

    def buildings(self) -> list[str]:
        return [r[0] for r in self._db.conn().execute(
            "SELECT DISTINCT building FROM units ORDER BY building")]

    def save(self, unit: Unit, *, by: str, create: bool) -> Unit:
        """Insert (``create``: :class:`UnitExists` if taken) or replace (:class:`UnitNotFound`
        if absent) ``unit``; the stored unit."""
        stored = replace(unit, updated_at=self._clock(), updated_by=by)
        with self._db.transaction() as c:
            there = c.execute("SELECT 1 FROM units WHERE code = ?", (unit.code,)).fetchone()
            if create and there:
                raise UnitExists(f"unit {unit.code} is already registered")
            if not create and not there:
                raise UnitNotFound(f"unit {unit.code!r} is not registered")
            self._write(c, stored)
        return stored

    def upsert_many(self, units: Iterable[Unit], *, by: str) -> int:
        """Insert or replace each unit in one transaction (CSV import); how many."""
        n, now = 0, self._clock()
        with self._db.transaction() as c:
            for unit in units:
                self._write(c, replace(unit, updated_at=now, updated_by=by))
                n += 1
        return n

    def set_vacant(self, code: str, vacant: bool, *, by: str) -> None:
        with self._db.transaction() as c:
            cur = c.execute("UPDATE units SET vacant = ?, updated_at = ?, updated_by = ? "
                            "WHERE code = ?", (int(vacant), self._clock(), by, code))
            if cur.rowcount == 0:
                raise UnitNotFound(f"unit {code!r} is not registered")

    def delete(self, code: str) -> None:
        with self._db.transaction() as c:
            if c.execute("DELETE FROM units WHERE code = ?", (code,)).rowcount == 0:
                raise UnitNotFound(f"unit {code!r} is not registered")

    @staticmethod
    def _write(c: sqlite3.Connection, u: Unit) -> None:
        c.execute(f"INSERT INTO units ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT(code) DO UPDATE SET building = excluded.building, "
                  "number = excluded.number, vacant = excluded.vacant, "
                  "residents = excluded.residents, note = excluded.note, "
                  "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                  (u.code, u.building, u.number, int(u.vacant),
                   json.dumps([r.to_json_obj() for r in u.residents], ensure_ascii=False),
                   u.note, u.updated_at, u.updated_by))
