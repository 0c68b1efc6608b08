"""Patrol storage in the console database (:class:`web.db.Database`): the tap journal
(``patrol_taps``, one row per ``event_id``) and the plan (``patrol_plan``: check-points,
routes, schedules and users as JSON documents). The engine itself keeps no storage: at start
the console builds the plan with :meth:`PatrolPlanStore.load` and replays
:meth:`PatrolTapStore.between` into :meth:`RoundEngine.load`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from typing import Any, Literal

from ..db import Database, register_schema
from ..errors import StoreError
from .model import Checkpoint, PatrolPlan, PatrolUser, Route, RoutePoint, Schedule
from .rounds import Tap

__all__ = ["PatrolTapStore", "PatrolPlanStore", "PlanKind"]

register_schema("patrol", """
CREATE TABLE IF NOT EXISTS patrol_taps (
    event_id TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    reader TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    card TEXT NOT NULL,
    ts INTEGER NOT NULL,
    collapsed INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER
);
CREATE INDEX IF NOT EXISTS patrol_taps_ts ON patrol_taps (ts);
CREATE TABLE IF NOT EXISTS patrol_plan (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
""")

PlanKind = Literal["checkpoint", "route", "schedule", "user"]


class PatrolTapStore:
    """The tap journal."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, tap: Tap) -> bool:
        """Store a tap once; False if its ``event_id`` is already stored."""
        try:
            with self._db.transaction() as c:
                cur = c.execute(
                    "INSERT OR IGNORE INTO patrol_taps (event_id, node, reader, checkpoint, card, ts,"
                    " collapsed, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (tap.event_id, tap.node, tap.reader, tap.checkpoint, tap.card, tap.ts,
                     tap.collapsed, tap.received_at))
                return cur.rowcount == 1
        except sqlite3.Error as exc:
            raise StoreError(f"patrol taps: cannot store {tap.event_id}: {exc}") from exc

    def between(self, since_ms: int, until_ms: int) -> list[Tap]:
        """Taps with ``since_ms <= ts < until_ms``, oldest first."""
        rows = self._db.conn().execute(
            "SELECT * FROM patrol_taps WHERE ts >= ? AND ts < ? ORDER BY ts, event_id",
            (since_ms, until_ms)).fetchall()
        return [_tap(r) for r in rows]

    def get(self, event_id: str) -> Tap | None:
        """The journaled tap with ``event_id``, or None."""
        r = self._db.conn().execute("SELECT * FROM patrol_taps WHERE event_id = ?",
                                    (event_id,)).fetchone()
        return _tap(r) if r is not None else None

    def count(self) -> int:
        return int(self._db.conn().execute("SELECT COUNT(*) FROM patrol_taps").fetchone()[0])


def _tap(r: sqlite3.Row) -> Tap:
    return Tap(event_id=r["event_id"], node=r["node"], reader=r["reader"],
               checkpoint=r["checkpoint"], card=r["card"], ts=r["ts"],
               collapsed=r["collapsed"], received_at=r["received_at"])


def _to_doc(item: Checkpoint | Route | Schedule | PatrolUser) -> dict[str, Any]:
    if isinstance(item, Route):
        return {"id": item.id, "name": item.name, "ordered": item.ordered,
                "start_tolerance_min": item.start_tolerance_min, "grace_min": item.grace_min,
                "adhoc": item.adhoc, "points": [asdict(p) for p in item.points]}
    if isinstance(item, Schedule):
        return {"id": item.id, "route": item.route, "times": list(item.times),
                "weekdays": sorted(item.weekdays), "tz": item.tz,
                "assignees": list(item.assignees), "team": item.team,
                "active_from_ms": item.active_from_ms}
    return asdict(item)


def _from_doc(kind: str, d: dict[str, Any]) -> Checkpoint | Route | Schedule | PatrolUser:
    if kind == "checkpoint":
        return Checkpoint(**d)
    if kind == "route":
        d = dict(d)
        d["points"] = tuple(RoutePoint(**p) for p in d["points"])
        return Route(**d)
    if kind == "schedule":
        d = dict(d)
        d["weekdays"] = frozenset(d["weekdays"])
        d["times"] = tuple(d["times"])
        d["assignees"] = tuple(d["assignees"])
        return Schedule(**d)
    d = dict(d)
    d["cards"] = tuple(d["cards"])
    return PatrolUser(**d)


_KIND_OF = {Checkpoint: "checkpoint", Route: "route", Schedule: "schedule", PatrolUser: "user"}


class PatrolPlanStore:
    """Check-points, routes, schedules and users. :meth:`put` checks the whole plan still holds
    together (raising :class:`~web.patrol.model.PatrolPlanError`) before it writes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def load(self) -> PatrolPlan:
        """The stored plan."""
        items: dict[str, list] = {"checkpoint": [], "route": [], "schedule": [], "user": []}
        for r in self._db.conn().execute("SELECT kind, doc FROM patrol_plan ORDER BY kind, id"):
            items[r["kind"]].append(_from_doc(r["kind"], json.loads(r["doc"])))
        return PatrolPlan(checkpoints=items["checkpoint"], routes=items["route"],
                          schedules=items["schedule"], users=items["user"])

    def put(self, item: Checkpoint | Route | Schedule | PatrolUser) -> PatrolPlan:
        """Add or replace one item; returns the new plan."""
        kind = _KIND_OF[type(item)]
        key = item.user if isinstance(item, PatrolUser) else item.id
        with self._db.transaction() as c:
            c.execute("INSERT OR REPLACE INTO patrol_plan (kind, id, doc) VALUES (?, ?, ?)",
                      (kind, key, json.dumps(_to_doc(item), ensure_ascii=False)))
            return self.load()               # raises (and rolls back) if the plan breaks

    def delete(self, kind: PlanKind, item_id: str) -> PatrolPlan:
        """Remove one item; returns the new plan (raises if something still refers to it)."""
        with self._db.transaction() as c:
            c.execute("DELETE FROM patrol_plan WHERE kind = ? AND id = ?", (kind, item_id))
            return self.load()
