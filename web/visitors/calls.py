"""Intercom calls as the desk sees them: stored from the panel's ``intercom.*`` events (inside the
ingest's transaction) and moved on by the desk (answered, resident confirmed or refused, no
answer) and by the console's time-out job.

A call's ``key`` is ``node:call_id`` (a panel's call ids are unique per boot of its node).
``state`` is ``ringing`` -> ``answered`` -> ``ended``; ``outcome`` says how it ended
(``timeout``, ``no_answer``, ``refused``, ``opened``); ``confirmed_via`` (``phone`` /
``in_person``) records that the resident agreed, which a visit registered for the call takes
over. The unit the visitor keyed (``unit_raw``, e.g. ``1201``) is matched to the unit registry
(:func:`resolve_unit`) so the desk sees who lives there; a panel an administrator mapped to a
building (:class:`~web.visitors.panels.PanelBuildings`) looks the number up in that building.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from typing import Any, Callable

from ..db import Database, register_schema
from ..errors import NotFound
from ..units import UnitStore

__all__ = ["CallStore", "Call", "resolve_unit", "CALL_STATES", "CALL_OUTCOMES"]

CALL_STATES = ("ringing", "answered", "ended")
CALL_OUTCOMES = ("timeout", "no_answer", "refused", "opened")

register_schema("intercom_calls", """
CREATE TABLE IF NOT EXISTS intercom_calls (
    key           TEXT PRIMARY KEY,         -- node:call_id
    node          TEXT    NOT NULL,
    panel         TEXT    NOT NULL,
    call_id       TEXT    NOT NULL,
    unit_raw      TEXT    NOT NULL,         -- as keyed / wired at the panel
    unit          TEXT,                     -- registry code, NULL if not matched
    via           TEXT    NOT NULL,
    started_at    INTEGER NOT NULL,         -- node clock of the call event, UTC ms
    received_at   INTEGER NOT NULL,         -- console clock, UTC ms
    state         TEXT    NOT NULL,
    outcome       TEXT,
    answered_at   INTEGER,
    answered_by   TEXT,
    confirmed_via TEXT,
    confirmed_by  TEXT,
    ended_at      INTEGER,
    ended_by      TEXT,
    repeats       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS intercom_calls_active ON intercom_calls(received_at)
    WHERE state != 'ended';
CREATE INDEX IF NOT EXISTS intercom_calls_recent ON intercom_calls(received_at);
""")

_COLS = ("key, node, panel, call_id, unit_raw, unit, via, started_at, received_at, state, outcome, "
         "answered_at, answered_by, confirmed_via, confirmed_by, ended_at, ended_by, repeats")


@dataclass(frozen=True)
class Call:
    """One intercom call (see the module docstring); times UTC ms."""

    key: str
    node: str
    panel: str
    call_id: str
    unit_raw: str
    unit: str | None
    via: str
    started_at: int
    received_at: int
    state: str
    outcome: str | None = None
    answered_at: int | None = None
    answered_by: str | None = None
    confirmed_via: str | None = None
    confirmed_by: str | None = None
    ended_at: int | None = None
    ended_by: str | None = None
    repeats: int = 0

    @property
    def active(self) -> bool:
        return self.state != "ended"

    @property
    def unit_label(self) -> str:
        return self.unit or self.unit_raw


def resolve_unit(units: UnitStore, raw: str, *, building: str | None = None) -> str | None:
    """The registry code a panel's unit names: the code itself (``A-1201``); else, for a panel
    in ``building``, that building's unit numbered ``raw``; else the one registered unit whose
    number is ``raw`` (``1201``). None if none (or, without a building, several) match."""
    if units.exists(raw):
        return raw
    conn = units._db.conn()  # noqa: SLF001
    if building is not None:
        row = conn.execute("SELECT code FROM units WHERE building = ? AND number = ?",
                           (building, raw)).fetchone()
        return row[0] if row else None
    rows = conn.execute("SELECT code FROM units WHERE number = ? LIMIT 2", (raw,)).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def _call(r: sqlite3.Row) -> Call:
    return Call(**{k: r[k] for k in r.keys()})


class CallStore:
    """Calls in the console database.  ``clock``: UTC ms.  The constructor does no I/O."""

    def __init__(self, db: Database, *, units: UnitStore, clock: Callable[[], int],
                 panel_building: Callable[[str, str], str | None] | None = None) -> None:
        """``panel_building(node, panel)``: the building a panel stands in, or None (default:
        no panel is mapped)."""
        self._db = db
        self._units = units
        self._clock = clock
        self._panel_building = panel_building or (lambda node, panel: None)

    # -- from the panel's events (ingest transaction) -------------------------------------------

    def on_call(self, node: str, data: dict[str, Any], *, ts: int, received_at: int) -> Call | None:
        """Store a new call from an ``intercom.call`` event; None if it is already stored."""
        call_id, raw = str(data.get("call_id") or ""), str(data.get("unit") or "")
        if not call_id or not raw:
            raise ValueError(f"intercom.call from {node} without call_id/unit: {data!r}")
        key = f"{node}:{call_id}"
        unit = resolve_unit(self._units, raw,
                            building=self._panel_building(node, str(data.get("panel") or "")))
        with self._db.transaction() as c:
            cur = c.execute(
                "INSERT INTO intercom_calls (key, node, panel, call_id, unit_raw, unit, via, "
                "started_at, received_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ringing') "
                "ON CONFLICT(key) DO NOTHING",
                (key, node, str(data.get("panel") or ""), call_id, raw[:32], unit,
                 str(data.get("via") or ""), ts, received_at))
        return self.get(key) if cur.rowcount else None

    def on_node_update(self, node: str, kind: str, data: dict[str, Any], *, ts: int) -> Call | None:
        """Apply ``intercom.answered`` / ``no_answer`` / ``refused`` / ``timeout`` / ``door_opened`` from the
        panel; the call after, or None if it is unknown."""
        call_id = data.get("call_id")
        if not call_id:
            return None
        key = f"{node}:{call_id}"
        repeats = int(data.get("repeats") or 0) if str(data.get("repeats", "0")).isdigit() else 0
        by = str(data.get("by") or "") or None
        with self._db.transaction() as c:
            if kind == "intercom.answered":
                c.execute("UPDATE intercom_calls SET state = 'answered', "
                          "answered_at = COALESCE(answered_at, ?), "
                          "answered_by = COALESCE(answered_by, ?), repeats = repeats + ? "
                          "WHERE key = ? AND state = 'ringing'", (ts, by, repeats, key))
            else:
                outcome = {"intercom.no_answer": "no_answer", "intercom.refused": "refused",
                           "intercom.timeout": "timeout",
                           "intercom.door_opened": "opened"}[kind]
                # the desk's own outcome (refused, no answer) stays; a door opening wins over
                # a time-out the console recorded first
                c.execute("UPDATE intercom_calls SET state = 'ended', "
                          "outcome = CASE WHEN ? = 'opened' AND outcome IN ('timeout', 'no_answer') "
                          "THEN 'opened' ELSE COALESCE(outcome, ?) END, "
                          "ended_at = COALESCE(ended_at, ?), ended_by = COALESCE(ended_by, ?), "
                          "repeats = repeats + ? WHERE key = ?",
                          (outcome, outcome, ts, by, repeats, key))
        return self.get(key)

    # -- the desk -------------------------------------------------------------------------------

    def answer(self, key: str, *, by: str) -> Call:
        """Mark the call answered by ``by`` (only a ringing call changes)."""
        with self._db.transaction() as c:
            self._require(c, key)
            c.execute("UPDATE intercom_calls SET state = 'answered', answered_at = ?, "
                      "answered_by = ? WHERE key = ? AND state = 'ringing'",
                      (self._clock(), by, key))
        return self.require(key)

    def confirm(self, key: str, *, via: str, by: str) -> Call:
        """The resident agreed (``via`` ``phone`` / ``in_person``)."""
        with self._db.transaction() as c:
            self._require(c, key)
            c.execute("UPDATE intercom_calls SET confirmed_via = ?, confirmed_by = ?, "
                      "answered_at = COALESCE(answered_at, ?), "
                      "answered_by = COALESCE(answered_by, ?), "
                      "state = CASE state WHEN 'ringing' THEN 'answered' ELSE state END "
                      "WHERE key = ?", (via, by, self._clock(), by, key))
        return self.require(key)

    def end(self, key: str, *, outcome: str, by: str) -> Call:
        """End the call as ``refused`` or ``no_answer`` by the desk."""
        if outcome not in CALL_OUTCOMES:
            raise ValueError(f"unknown call outcome {outcome!r}")
        with self._db.transaction() as c:
            self._require(c, key)
            c.execute("UPDATE intercom_calls SET state = 'ended', outcome = ?, ended_at = ?, "
                      "ended_by = ?, confirmed_via = CASE WHEN ? = 'refused' THEN NULL "
                      "ELSE confirmed_via END WHERE key = ?",
                      (outcome, self._clock(), by, outcome, key))
        return self.require(key)

    def expire(self, now_ms: int, *, timeout_ms: int) -> list[Call]:
        """End (``timeout``) every call still ringing ``timeout_ms`` after it was received;
        the calls ended."""
        with self._db.transaction() as c:
            rows = c.execute(f"SELECT {_COLS} FROM intercom_calls WHERE state = 'ringing' "
                             "AND received_at <= ?", (now_ms - timeout_ms,)).fetchall()
            c.executemany("UPDATE intercom_calls SET state = 'ended', outcome = 'timeout', "
                          "ended_at = ?, ended_by = 'console' WHERE key = ?",
                          [(now_ms, r["key"]) for r in rows])
        return [replace(_call(r), state="ended", outcome="timeout", ended_at=now_ms,
                        ended_by="console") for r in rows]

    # -- reading --------------------------------------------------------------------------------

    def get(self, key: str) -> Call | None:
        r = self._db.conn().execute(f"SELECT {_COLS} FROM intercom_calls WHERE key = ?",
                                    (key,)).fetchone()
        return _call(r) if r else None

    def require(self, key: str) -> Call:
        call = self.get(key)
        if call is None:
            raise NotFound(f"no intercom call {key!r}")
        return call

    def _require(self, c: sqlite3.Connection, key: str) -> None:
        if c.execute("SELECT 1 FROM intercom_calls WHERE key = ?", (key,)).fetchone() is None:
            raise NotFound(f"no intercom call {key!r}")

    def desk(self, now_ms: int, *, recent_ms: int = 15 * 60_000, limit: int = 50) -> list[Call]:
        """What the desk page lists: calls not ended, and calls ended in the last ``recent_ms``
        (default 15 min), newest first."""
        rows = self._db.conn().execute(
            f"SELECT {_COLS} FROM intercom_calls WHERE state != 'ended' OR received_at >= ? "
            "ORDER BY received_at DESC LIMIT ?", (now_ms - recent_ms, limit)).fetchall()
        return [_call(r) for r in rows]

    def nodes(self) -> list[str]:
        """Nodes that have sent a call (their panels can open the door)."""
        return [r[0] for r in self._db.conn().execute(
            "SELECT DISTINCT node FROM intercom_calls ORDER BY node")]
