"""Visitor desk figures for a period: visits per day and per unit, calls answered / unanswered
and the average time to answer (the issue's "reports")."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime

from ..db import Database

__all__ = ["DeskReport", "desk_report"]


@dataclass(frozen=True)
class DeskReport:
    """``per_day``: ``(YYYY-MM-DD, visits, people)`` oldest first; ``per_unit``: ``(unit,
    visits)`` busiest first (at most 10); call counts; ``avg_answer_s`` (None without answered
    calls): seconds from the call to the desk's answer."""

    per_day: list[tuple[str, int, int]] = field(default_factory=list)
    per_unit: list[tuple[str, int]] = field(default_factory=list)
    calls: int = 0
    answered: int = 0
    unanswered: int = 0
    refused: int = 0
    avg_answer_s: float | None = None


def desk_report(db: Database, *, since_ms: int, until_ms: int, timezone: str) -> DeskReport:
    """Figures for visits registered and calls received in ``[since_ms, until_ms)``."""
    tz = zoneinfo.ZoneInfo(timezone)
    conn = db.conn()
    days: dict[str, list[int]] = {}
    for ts, people in conn.execute("SELECT registered_at, people FROM visits "
                                   "WHERE registered_at >= ? AND registered_at < ?",
                                   (since_ms, until_ms)):
        day = datetime.fromtimestamp(ts / 1000, tz).strftime("%Y-%m-%d")
        entry = days.setdefault(day, [0, 0])
        entry[0] += 1
        entry[1] += people
    per_unit = [(r[0], r[1]) for r in conn.execute(
        "SELECT unit, COUNT(*) AS n FROM visits WHERE registered_at >= ? AND registered_at < ? "
        "GROUP BY unit ORDER BY n DESC, unit LIMIT 10", (since_ms, until_ms))]
    r = conn.execute(
        "SELECT COUNT(*), SUM(answered_at IS NOT NULL), "
        "SUM(answered_at IS NULL AND outcome IN ('timeout', 'no_answer')), "
        "SUM(outcome = 'refused'), "
        "AVG(CASE WHEN answered_at IS NOT NULL THEN MAX(answered_at - received_at, 0) END) "
        "FROM intercom_calls WHERE received_at >= ? AND received_at < ?",
        (since_ms, until_ms)).fetchone()
    return DeskReport(per_day=[(d, v[0], v[1]) for d, v in sorted(days.items())],
                      per_unit=per_unit, calls=r[0] or 0, answered=r[1] or 0,
                      unanswered=r[2] or 0, refused=r[3] or 0,
                      avg_answer_s=round(r[4] / 1000, 1) if r[4] is not None else None)
