"""The visit journal (来访记录): who came, for which unit, confirmed how, when they arrived and
left. Only the ID number's last characters are stored (see :mod:`web.visitors.model`).

A visit is ``waiting`` when registered, ``confirmed`` once the resident agreed (phone, in person,
or an invite), ``refused`` if they did not, ``on_site`` from check-in (door opened, or the desk
checked them in) and ``left`` after check-out (by the desk, or automatically at the configured
hour with ``auto_checkout`` set). Old visits are anonymised: personal fields blanked,
``anonymised_at`` set; units and times stay for the statistics.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Callable

from ..db import Database, Filters, register_schema
from ..errors import AlreadyDone, NotFound
from .model import VisitInput

log = logging.getLogger(__name__)

__all__ = ["VisitStore", "Visit", "VisitNotFound", "VISIT_STATES"]

VISIT_STATES = ("waiting", "confirmed", "refused", "on_site", "left")

register_schema("visits", """
CREATE TABLE IF NOT EXISTS visits (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    id_type         TEXT    NOT NULL,
    id_tail         TEXT    NOT NULL,      -- last 4 characters only, never the number
    phone           TEXT    NOT NULL DEFAULT '',
    unit            TEXT    NOT NULL,
    purpose         TEXT    NOT NULL DEFAULT '',
    plate           TEXT    NOT NULL DEFAULT '',
    people          INTEGER NOT NULL DEFAULT 1,
    registered_at   INTEGER NOT NULL,      -- console clock, UTC ms
    registered_by   TEXT    NOT NULL,
    call_key        TEXT,                  -- node:call_id of the intercom call, if any
    invite_id       TEXT,
    confirmed_via   TEXT,                  -- phone / in_person / invite
    confirmed_by    TEXT,
    confirmed_at    INTEGER,
    refused_at      INTEGER,
    refused_by      TEXT,
    override_reason TEXT,                  -- an administrator let them in unconfirmed
    unlocked_at     INTEGER,
    unlocked_by     TEXT,
    arrived_at      INTEGER,
    left_at         INTEGER,
    left_by         TEXT,
    auto_checkout   INTEGER NOT NULL DEFAULT 0,
    watch_hits      TEXT    NOT NULL DEFAULT '',
    anonymised_at   INTEGER
);
CREATE INDEX IF NOT EXISTS visits_registered ON visits(registered_at);
CREATE INDEX IF NOT EXISTS visits_on_site ON visits(arrived_at) WHERE left_at IS NULL
    AND arrived_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS visits_to_anonymise ON visits(registered_at) WHERE anonymised_at IS NULL;
CREATE INDEX IF NOT EXISTS visits_call ON visits(call_key);
CREATE INDEX IF NOT EXISTS visits_invite ON visits(invite_id);
""")

_COLS = ("id, name, id_type, id_tail, phone, unit, purpose, plate, people, registered_at, "
         "registered_by, call_key, invite_id, confirmed_via, confirmed_by, confirmed_at, "
         "refused_at, refused_by, override_reason, unlocked_at, unlocked_by, arrived_at, left_at, "
         "left_by, auto_checkout, watch_hits, anonymised_at")


class VisitNotFound(NotFound):
    """No visit has that id."""


@dataclass(frozen=True)
class Visit:
    """One visit (see the module docstring); times UTC ms."""

    id: int
    name: str
    id_type: str
    id_tail: str
    phone: str
    unit: str
    purpose: str
    plate: str
    people: int
    registered_at: int
    registered_by: str
    call_key: str | None = None
    invite_id: str | None = None
    confirmed_via: str | None = None
    confirmed_by: str | None = None
    confirmed_at: int | None = None
    refused_at: int | None = None
    refused_by: str | None = None
    override_reason: str | None = None
    unlocked_at: int | None = None
    unlocked_by: str | None = None
    arrived_at: int | None = None
    left_at: int | None = None
    left_by: str | None = None
    auto_checkout: bool = False
    watch_hits: str = ""
    anonymised_at: int | None = None

    @property
    def state(self) -> str:
        if self.left_at is not None:
            return "left"
        if self.arrived_at is not None:
            return "on_site"
        if self.refused_at is not None:
            return "refused"
        if self.confirmed_via is not None:
            return "confirmed"
        return "waiting"

    @property
    def confirmed(self) -> bool:
        return self.confirmed_via is not None and self.refused_at is None


def _visit(r: sqlite3.Row) -> Visit:
    d = {k: r[k] for k in r.keys()}
    d["auto_checkout"] = bool(d["auto_checkout"])
    return Visit(**d)


class VisitStore:
    """Visits in the console database.  ``clock``: UTC ms.  The constructor does no I/O."""

    def __init__(self, db: Database, *, clock: Callable[[], int]) -> None:
        self._db = db
        self._clock = clock

    def add(self, v: VisitInput, *, by: str, confirmed_via: str | None = None,
            invite_id: str | None = None, watch_hits: str = "", arrived_at: int | None = None,
            call_key: str | None = None) -> Visit:
        """Register a visit; the stored visit."""
        now = self._clock()
        with self._db.transaction() as c:
            cur = c.execute(
                "INSERT INTO visits (name, id_type, id_tail, phone, unit, purpose, plate, people, "
                "registered_at, registered_by, call_key, invite_id, confirmed_via, confirmed_by, "
                "confirmed_at, watch_hits, arrived_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (v.name, v.id_type, v.id_tail, v.phone, v.unit, v.purpose, v.plate, v.people,
                 now, by, call_key or v.call_id, invite_id, confirmed_via,
                 by if confirmed_via else None, now if confirmed_via else None, watch_hits,
                 arrived_at))
        return self.require(int(cur.lastrowid or 0))

    def get(self, visit_id: int) -> Visit | None:
        r = self._db.conn().execute(f"SELECT {_COLS} FROM visits WHERE id = ?",
                                    (visit_id,)).fetchone()
        return _visit(r) if r else None

    def require(self, visit_id: int) -> Visit:
        v = self.get(visit_id)
        if v is None:
            raise VisitNotFound(f"no visit {visit_id}")
        return v

    def _update(self, visit_id: int, sql: str, args: tuple[object, ...], *,
                where: str = "") -> Visit:
        with self._db.transaction() as c:
            if c.execute("SELECT 1 FROM visits WHERE id = ?", (visit_id,)).fetchone() is None:
                raise VisitNotFound(f"no visit {visit_id}")
            cur = c.execute(f"UPDATE visits SET {sql} WHERE id = ?{where}", (*args, visit_id))
            if where and cur.rowcount == 0:
                raise AlreadyDone(f"visit {visit_id}: nothing to change")
        return self.require(visit_id)

    def confirm(self, visit_id: int, *, via: str, by: str) -> Visit:
        return self._update(visit_id, "confirmed_via = ?, confirmed_by = ?, confirmed_at = ?, "
                            "refused_at = NULL, refused_by = NULL", (via, by, self._clock()),
                            where=" AND left_at IS NULL")

    def refuse(self, visit_id: int, *, by: str) -> Visit:
        return self._update(visit_id, "refused_at = ?, refused_by = ?, confirmed_via = NULL",
                            (self._clock(), by), where=" AND arrived_at IS NULL")

    def unlocked(self, visit_id: int, *, by: str, override_reason: str | None = None) -> Visit:
        """The door was opened for the visit: unlocked and checked in (arrival kept if set)."""
        now = self._clock()
        return self._update(visit_id, "unlocked_at = ?, unlocked_by = ?, "
                            "override_reason = COALESCE(?, override_reason), "
                            "arrived_at = COALESCE(arrived_at, ?)",
                            (now, by, override_reason, now), where=" AND left_at IS NULL")

    def check_in(self, visit_id: int, *, at: int | None = None) -> Visit:
        return self._update(visit_id, "arrived_at = ?", (self._clock() if at is None else at,),
                            where=" AND arrived_at IS NULL")

    def check_out(self, visit_id: int, *, by: str) -> Visit:
        return self._update(visit_id, "left_at = ?, left_by = ?", (self._clock(), by),
                            where=" AND arrived_at IS NOT NULL AND left_at IS NULL")

    def link_call_confirmation(self, call_key: str, *, via: str | None, by: str) -> list[int]:
        """Copy a call's confirmation (``via``) or refusal (None) to the visits registered for
        it that are not yet on site; their ids."""
        now = self._clock()
        with self._db.transaction() as c:
            where = "WHERE call_key = ? AND arrived_at IS NULL"
            ids = [r[0] for r in c.execute(f"SELECT id FROM visits {where}", (call_key,))]
            if via is None:
                c.execute(f"UPDATE visits SET refused_at = ?, refused_by = ?, confirmed_via = NULL "
                          f"{where}", (now, by, call_key))
            else:
                c.execute(f"UPDATE visits SET confirmed_via = ?, confirmed_by = ?, confirmed_at = ?, "
                          f"refused_at = NULL {where}", (via, by, now, call_key))
        return ids

    # -- lists ----------------------------------------------------------------------------------

    def on_site(self) -> list[Visit]:
        """Visitors in the building now (arrived, not left), earliest arrival first."""
        rows = self._db.conn().execute(
            f"SELECT {_COLS} FROM visits WHERE arrived_at IS NOT NULL AND left_at IS NULL "
            "ORDER BY arrived_at, id").fetchall()
        return [_visit(r) for r in rows]

    def pending(self, since_ms: int, *, limit: int = 50) -> list[Visit]:
        """Visits registered since ``since_ms`` and not yet on site (waiting, confirmed or
        refused), newest first."""
        rows = self._db.conn().execute(
            f"SELECT {_COLS} FROM visits WHERE arrived_at IS NULL AND registered_at >= ? "
            "ORDER BY id DESC LIMIT ?", (since_ms, limit)).fetchall()
        return [_visit(r) for r in rows]

    def search(self, *, since_ms: int | None = None, until_ms: int | None = None,
               unit: str | None = None, text: str | None = None, limit: int = 200) -> list[Visit]:
        """Visits newest first, filtered by registration time, unit and a text in the name,
        plate or phone."""
        f = Filters()
        if since_ms is not None:
            f.add("registered_at >= ?", since_ms)
        if until_ms is not None:
            f.add("registered_at < ?", until_ms)
        if unit:
            f.add("unit = ?", unit)
        if text:
            f.contains(text, "name", "plate", "phone")
        sql = f"SELECT {_COLS} FROM visits{f.sql} ORDER BY id DESC LIMIT ?"
        return [_visit(r) for r in self._db.conn().execute(sql, (*f.args, limit))]

    def for_invite(self, invite_id: str) -> list[Visit]:
        rows = self._db.conn().execute(f"SELECT {_COLS} FROM visits WHERE invite_id = ? "
                                       "ORDER BY id", (invite_id,)).fetchall()
        return [_visit(r) for r in rows]

    def for_call(self, call_key: str) -> list[Visit]:
        rows = self._db.conn().execute(f"SELECT {_COLS} FROM visits WHERE call_key = ? "
                                       "ORDER BY id", (call_key,)).fetchall()
        return [_visit(r) for r in rows]

    # -- jobs -----------------------------------------------------------------------------------

    def auto_check_out(self, at_ms: int) -> list[int]:
        """Check out (``auto_checkout`` set, ``left_by`` ``auto``) every visit that arrived
        before ``at_ms`` and is still on site, leaving at ``at_ms``; their ids."""
        with self._db.transaction() as c:
            ids = [r[0] for r in c.execute("SELECT id FROM visits WHERE arrived_at IS NOT NULL "
                                           "AND left_at IS NULL AND arrived_at < ?", (at_ms,))]
            c.execute("UPDATE visits SET left_at = ?, left_by = 'auto', auto_checkout = 1 "
                      "WHERE arrived_at IS NOT NULL AND left_at IS NULL AND arrived_at < ?",
                      (at_ms, at_ms))
        return ids

    def anonymise(self, before_ms: int, *, now_ms: int) -> int:
        """Blank the personal fields of visits registered before ``before_ms``; how many.
        Freed space is zeroed (``secure_delete``) and, when something was blanked, the WAL is
        checkpointed and truncated, so the old text lingers in neither the database file nor
        its WAL (a reader holding an old snapshot defers that to the next run: logged)."""
        self._db.conn().execute("PRAGMA secure_delete = ON")
        with self._db.transaction() as c:
            cur = c.execute("UPDATE visits SET name = '', id_tail = '', phone = '', plate = '', "
                            "purpose = '', watch_hits = '', anonymised_at = ? "
                            "WHERE anonymised_at IS NULL AND registered_at < ?", (now_ms, before_ms))
        if cur.rowcount and not self._db.in_transaction() and not self._db.checkpoint():
            log.warning("anonymised %d visit(s); the WAL still holds older pages (a reader was "
                        "busy): the next checkpoint removes them", cur.rowcount)
        return cur.rowcount

    def count(self) -> int:
        return self._db.conn().execute("SELECT COUNT(*) FROM visits").fetchone()[0]
