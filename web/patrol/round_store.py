"""Closed patrol rounds kept in the console database (``patrol_rounds``), so the round engine
can forget them (:meth:`RoundEngine.prune`) and reports still see every round.

Each row holds the round's final :class:`~web.patrol.rounds.RoundView` as JSON (for the round's
page) and the figures a report needs as columns (so a month's report reads no JSON):
:class:`RoundSummary`. Saving a round again (a late tap corrected it) replaces the row.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from ..db import Database, register_schema
from ..errors import StoreError
from .report import guard_of
from .rounds import Correction, PatrolAlarm, PointView, RoundView

__all__ = ["PatrolRoundStore", "RoundSummary", "view_to_doc", "view_from_doc"]

register_schema("patrol_rounds", """
CREATE TABLE IF NOT EXISTS patrol_rounds (
    id TEXT PRIMARY KEY,
    service_day TEXT NOT NULL,          -- YYYY-MM-DD
    start_ms INTEGER NOT NULL,
    route TEXT NOT NULL,
    state TEXT NOT NULL,
    guards TEXT NOT NULL,               -- users who tapped, space-separated, first tapper first
    walkers TEXT NOT NULL,              -- users allowed, space-separated
    guard TEXT NOT NULL,                -- who the report puts it on (report.guard_of)
    n_points INTEGER NOT NULL,
    visited INTEGER NOT NULL,
    late INTEGER NOT NULL,
    missed TEXT NOT NULL,               -- missed check-point ids, space-separated
    corrections INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL                   -- the whole RoundView as JSON
);
CREATE INDEX IF NOT EXISTS patrol_rounds_day ON patrol_rounds (service_day, start_ms);
CREATE INDEX IF NOT EXISTS patrol_rounds_report ON patrol_rounds (service_day, guard, state);
""")


@dataclass(frozen=True, kw_only=True, slots=True)
class RoundSummary:
    """A stored round's figures (what :func:`web.patrol.report.summarise` reads)."""

    id: str
    route: str
    service_day: date
    start_ms: int
    state: str
    guards: tuple[str, ...]
    walkers: frozenset[str]
    n_points: int
    visited: int
    late: int
    missed: tuple[str, ...]
    corrections: int = 0


def _alarm_doc(a: PatrolAlarm) -> dict[str, Any]:
    return {"kind": a.kind, "round_id": a.round_id, "checkpoint": a.checkpoint, "ts": a.ts,
            "raised_at": a.raised_at, "card": a.card, "user": a.user, "detail": a.detail}


def view_to_doc(v: RoundView) -> dict[str, Any]:
    """A JSON-ready dict of a round view."""
    return {
        "id": v.id, "route": v.route, "schedule": v.schedule, "start_ms": v.start_ms,
        "closes_at": v.closes_at, "service_day": v.service_day.isoformat(), "state": v.state,
        "reason": v.reason, "walkers": sorted(v.walkers), "guards": list(v.guards),
        "closed_at": v.closed_at, "duplicates": v.duplicates, "visited": v.visited,
        "late": v.late, "missed": list(v.missed),
        "points": [{"checkpoint": p.checkpoint, "state": p.state, "expected_ms": p.expected_ms,
                    "due_ms": p.due_ms, "tapped_at": p.tapped_at, "card": p.card,
                    "user": p.user, "flags": list(p.flags)} for p in v.points],
        "alarms": [_alarm_doc(a) for a in v.alarms],
        "corrections": [{"round_id": c.round_id, "at": c.at, "tap_event_id": c.tap_event_id,
                         "before": list(c.before), "after": list(c.after),
                         "withdrawn": [list(w) for w in c.withdrawn], "changes": list(c.changes)}
                        for c in v.corrections],
    }


def view_from_doc(d: dict[str, Any]) -> RoundView:
    """The round view of :func:`view_to_doc`'s dict."""
    return RoundView(
        id=d["id"], route=d["route"], schedule=d["schedule"], start_ms=d["start_ms"],
        closes_at=d["closes_at"], service_day=date.fromisoformat(d["service_day"]),
        state=d["state"], reason=d["reason"], walkers=frozenset(d["walkers"]),
        guards=tuple(d["guards"]), closed_at=d["closed_at"], duplicates=d["duplicates"],
        visited=d["visited"], late=d["late"], missed=tuple(d["missed"]),
        points=tuple(PointView(checkpoint=p["checkpoint"], state=p["state"],
                               expected_ms=p["expected_ms"], due_ms=p["due_ms"],
                               tapped_at=p["tapped_at"], card=p["card"], user=p["user"],
                               flags=tuple(p["flags"])) for p in d["points"]),
        alarms=tuple(PatrolAlarm(**a) for a in d["alarms"]),
        corrections=tuple(Correction(round_id=c["round_id"], at=c["at"],
                                     tap_event_id=c["tap_event_id"], before=tuple(c["before"]),
                                     after=tuple(c["after"]),
                                     withdrawn=tuple(tuple(w) for w in c["withdrawn"]),
                                     changes=tuple(c["changes"])) for c in d["corrections"]))


class PatrolRoundStore:
    """Closed rounds. Only ``completed`` / ``incomplete`` rounds are stored."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, views: Iterable[RoundView]) -> int:
        """Store (or replace) closed rounds; open ones are skipped. Returns the rows written."""
        rows = [(v.id, v.service_day.isoformat(), v.start_ms, v.route, v.state, " ".join(v.guards),
                 " ".join(sorted(v.walkers)), guard_of(v), len(v.points), v.visited, v.late,
                 " ".join(v.missed),
                 len(v.corrections), json.dumps(view_to_doc(v), ensure_ascii=False))
                for v in views if v.state in ("completed", "incomplete")]
        if not rows:
            return 0
        try:
            with self._db.transaction() as c:
                c.executemany("INSERT OR REPLACE INTO patrol_rounds (id, service_day, start_ms,"
                              " route, state, guards, walkers, guard, n_points, visited, late,"
                              " missed, corrections, doc)"
                              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              rows)
        except sqlite3.Error as exc:
            raise StoreError(f"patrol rounds: cannot store {len(rows)} rounds: {exc}") from exc
        return len(rows)

    def summaries(self, day: date) -> list[RoundSummary]:
        """The stored rounds of service day ``day``, by start time."""
        rows = self._db.conn().execute(
            "SELECT id, route, service_day, start_ms, state, guards, walkers, n_points, visited,"
            " late, missed, corrections FROM patrol_rounds WHERE service_day = ?"
            " ORDER BY start_ms, id", (day.isoformat(),)).fetchall()
        return [RoundSummary(id=r[0], route=r[1], service_day=date.fromisoformat(r[2]),
                             start_ms=r[3], state=r[4], guards=tuple(r[5].split()),
                             walkers=frozenset(r[6].split()), n_points=r[7], visited=r[8],
                             late=r[9], missed=tuple(r[10].split()), corrections=r[11])
                for r in rows]

    def groups(self, start_day: date, end_day: date, *, excluding: Iterable[str] = ()
               ) -> list[tuple[date, str, str, int, int, int, int, list[str]]]:
        """Stored rounds of service days ``start_day`` .. ``end_day`` summed per day, guard and
        state, leaving out the ids in ``excluding`` (rounds the caller has as views):
        ``(day, guard, state, rounds, points, visited, late, missed check-point ids)``."""
        skip = list(excluding)
        c = self._db.conn()
        c.execute("CREATE TEMP TABLE IF NOT EXISTS patrol_report_skip (id TEXT PRIMARY KEY)")
        c.execute("DELETE FROM patrol_report_skip")
        c.executemany("INSERT OR IGNORE INTO patrol_report_skip (id) VALUES (?)",
                      [(i,) for i in skip])
        rows = c.execute(
            "SELECT service_day, guard, state, COUNT(*), SUM(n_points), SUM(visited), SUM(late),"
            " group_concat(NULLIF(missed, ''), ' ') FROM patrol_rounds"
            " WHERE service_day BETWEEN ? AND ? AND id NOT IN (SELECT id FROM patrol_report_skip)"
            " GROUP BY service_day, guard, state",
            (start_day.isoformat(), end_day.isoformat())).fetchall()
        return [(date.fromisoformat(r[0]), r[1], r[2], r[3], r[4], r[5], r[6],
                 (r[7] or "").split()) for r in rows]

    def get(self, round_id: str) -> RoundView | None:
        """One stored round, or None."""
        r = self._db.conn().execute("SELECT doc FROM patrol_rounds WHERE id = ?",
                                    (round_id,)).fetchone()
        return view_from_doc(json.loads(r[0])) if r is not None else None

    def count(self) -> int:
        return int(self._db.conn().execute("SELECT COUNT(*) FROM patrol_rounds").fetchone()[0])
