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
from typing import Any, Iterable, Protocol, Sequence

from .rounds import RoundView

__all__ = ["ReportRow", "PatrolReport", "patrol_report", "summarise", "report_csv", "UNASSIGNED", "RoundSource"]

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


class _Figures:
    """Figures of some rounds, added one round (:meth:`add`) or one stored group
    (:meth:`add_group`) at a time."""

    __slots__ = ("rounds", "completed", "incomplete", "opened", "expected", "visited", "missed",
                 "late", "points")

    def __init__(self) -> None:
        self.rounds = self.completed = self.incomplete = self.opened = 0
        self.expected = self.visited = self.missed = self.late = 0
        self.points: Counter[str] = Counter()

    def add(self, v: Any) -> None:
        self.add_group(v.state, 1, v.n_points, v.visited, v.late, v.missed)

    def add_group(self, state: str, count: int, n_points: int, visited: int, late: int,
                  missed: Iterable[str]) -> None:
        self.rounds += count
        if state == "completed":
            self.completed += count
        elif state == "incomplete":
            self.incomplete += count
        else:
            self.opened += count
            return
        self.expected += n_points
        self.visited += visited
        self.late += late
        for cp in missed:
            self.points[cp] += 1
            self.missed += 1

    def merge(self, other: "_Figures") -> None:
        for k in ("rounds", "completed", "incomplete", "opened", "expected", "visited", "missed",
                  "late"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.points.update(other.points)

    def row(self, *, day: date | None, guard: str) -> ReportRow:
        closed = self.completed + self.incomplete
        return ReportRow(day=day, guard=guard, rounds=self.rounds, completed=self.completed,
                         incomplete=self.incomplete, open=self.opened,
                         points_expected=self.expected, points_visited=self.visited,
                         points_missed=self.missed, points_late=self.late,
                         completion_pct=round(100.0 * self.completed / closed, 1) if closed else 0.0,
                         missed_points=tuple(sorted(self.points)))


def summarise(views: Iterable[Any], *, day: date | None, guard: str) -> ReportRow:
    """The figures of some rounds."""
    f = _Figures()
    for v in views:
        f.add(v)
    return f.row(day=day, guard=guard)


class RoundSource(Protocol):
    """Where a report reads rounds: a :class:`RoundEngine`, or the console's patrol service.
    Each round needs ``state``, ``n_points``, ``visited``, ``late``, ``missed``, ``guards`` and
    ``walkers``. A source may also offer ``report_groups(start_day, end_day, now=)`` returning
    ``(views by day, groups)``: the rounds it holds as views, and the others already grouped
    as ``(day, guard, state, count, n_points, visited, late, missed check-point ids)`` (the
    console's round store sums a month in SQL)."""

    def rounds_for_day(self, day: date, *, now: int | None = None) -> Sequence[Any]: ...


def patrol_report(engine: RoundSource, start_day: date, end_day: date, *,
                  now: int | None = None) -> PatrolReport:
    """Rounds of the service days ``start_day`` .. ``end_day`` (inclusive)."""
    if end_day < start_day:
        raise ValueError(f"end_day {end_day} is before start_day {start_day}")
    figures: dict[date, dict[str, _Figures]] = {}
    groups_of = getattr(engine, "report_groups", None)
    if groups_of is not None:
        views_by_day, groups = groups_of(start_day, end_day, now=now)
        for day, guard, state, count, n_points, visited, late, missed in groups:
            figures.setdefault(day, {}).setdefault(guard, _Figures()).add_group(
                state, count, n_points, visited, late, missed)
    else:
        views_by_day, day = {}, start_day
        while day <= end_day:
            views_by_day[day] = engine.rounds_for_day(day, now=now)
            day += timedelta(days=1)
    for day, views in views_by_day.items():
        for v in views:
            figures.setdefault(day, {}).setdefault(guard_of(v), _Figures()).add(v)
    rows: list[ReportRow] = []
    days: list[ReportRow] = []
    total = _Figures()
    day = start_day
    while day <= end_day:
        of_day = _Figures()
        for guard, f in sorted(figures.get(day, {}).items()):
            rows.append(f.row(day=day, guard=guard))
            of_day.merge(f)
        days.append(of_day.row(day=day, guard="*"))
        total.merge(of_day)
        day += timedelta(days=1)
    return PatrolReport(start_day=start_day, end_day=end_day, rows=tuple(rows), days=tuple(days),
                        total=total.row(day=None, guard="*"),
                        missed_by_checkpoint=dict(total.points.most_common()))


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
