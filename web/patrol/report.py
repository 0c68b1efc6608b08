"""Patrol reports: rounds per day and guard, completion %, missed check-points; CSV.

Only closed rounds (completed / incomplete) count; rounds still planned or running are shown as
``open``. A round's guard is the first patrol user who tapped in it; a round nobody tapped is
put on its assigned walkers (joined with "+"), or "(unassigned)".
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable

from .engine import RoundEngine
from .rounds import RoundView

__all__ = ["ReportRow", "PatrolReport", "patrol_report", "summarise", "report_csv", "UNASSIGNED"]

UNASSIGNED = "(unassigned)"


@dataclass(frozen=True, kw_only=True)
class ReportRow:
    """One day and guard (``guard="*"`` for a day's or the period's total; ``day=None`` for the
    period). ``completion_pct``: completed / closed rounds * 100 (0.0 with none closed)."""

    day: date | None
    guard: str
    rounds: int
    completed: int
    incomplete: int
    open: int
    points_expected: int
    points_visited: int
    points_missed: int
    points_late: int
    completion_pct: float
    missed_points: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PatrolReport:
    """``rows``: per day and guard, by day then guard; ``days``: per-day totals; ``total``: the
    period; ``missed_by_checkpoint``: check-point id -> times missed, most missed first."""

    start_day: date
    end_day: date
    rows: tuple[ReportRow, ...]
    days: tuple[ReportRow, ...]
    total: ReportRow
    missed_by_checkpoint: dict[str, int] = field(default_factory=dict)


def guard_of(view: RoundView) -> str:
    if view.guards:
        return view.guards[0]
    return "+".join(sorted(view.walkers)) or UNASSIGNED


def summarise(views: Iterable[RoundView], *, day: date | None, guard: str) -> ReportRow:
    """The figures of some rounds."""
    rounds = completed = incomplete = opened = expected = visited = missed = late = 0
    missed_points: list[str] = []
    for v in views:
        rounds += 1
        if v.state == "completed":
            completed += 1
        elif v.state == "incomplete":
            incomplete += 1
        else:
            opened += 1
            continue
        expected += len(v.points)
        visited += v.visited
        missed += len(v.missed)
        missed_points.extend(v.missed)
        late += v.late
    closed = completed + incomplete
    return ReportRow(day=day, guard=guard, rounds=rounds, completed=completed,
                     incomplete=incomplete, open=opened, points_expected=expected,
                     points_visited=visited, points_missed=missed, points_late=late,
                     completion_pct=round(100.0 * completed / closed, 1) if closed else 0.0,
                     missed_points=tuple(sorted(set(missed_points))))


def patrol_report(engine: RoundEngine, start_day: date, end_day: date, *,
                  now: int | None = None) -> PatrolReport:
    """Rounds of the service days ``start_day`` .. ``end_day`` (inclusive)."""
    if end_day < start_day:
        raise ValueError(f"end_day {end_day} is before start_day {start_day}")
    rows: list[ReportRow] = []
    days: list[ReportRow] = []
    every: list[RoundView] = []
    day = start_day
    while day <= end_day:
        views = engine.rounds_for_day(day, now=now)
        every.extend(views)
        by_guard: dict[str, list[RoundView]] = {}
        for v in views:
            by_guard.setdefault(guard_of(v), []).append(v)
        for guard in sorted(by_guard):
            rows.append(summarise(by_guard[guard], day=day, guard=guard))
        days.append(summarise(views, day=day, guard="*"))
        day += timedelta(days=1)
    missed = Counter(cp for v in every if v.state in ("completed", "incomplete") for cp in v.missed)
    return PatrolReport(start_day=start_day, end_day=end_day, rows=tuple(rows), days=tuple(days),
                        total=summarise(every, day=None, guard="*"),
                        missed_by_checkpoint=dict(missed.most_common()))


CSV_COLUMNS = ("day", "guard", "rounds", "completed", "incomplete", "open", "completion_pct",
               "points_expected", "points_visited", "points_missed", "points_late", "missed_points")


def report_csv(report: PatrolReport) -> str:
    """The per-day-and-guard rows, then each day's total and the period's total (guard "*",
    day "total"), as CSV text (header first; missed points joined with spaces)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for row in (*report.rows, *report.days, report.total):
        w.writerow([row.day.isoformat() if row.day else "total", _safe(row.guard), row.rounds,
                    row.completed, row.incomplete, row.open, f"{row.completion_pct:.1f}",
                    row.points_expected, row.points_visited, row.points_missed, row.points_late,
                    " ".join(row.missed_points)])
    return buf.getvalue()


def _safe(text: str) -> str:
    """Neutralise spreadsheet formulas in user-supplied text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
