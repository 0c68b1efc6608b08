"""Reports (rounds per day and guard, completion %, missed points, CSV) and the SQLite stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from patrol_helpers import MIN, MONDAY, engine, local_ms, plan, route, tap, walk
from web.db import Database
from web.patrol import PatrolPlanError, Schedule, patrol_report, report_csv
from web.patrol.store import PatrolPlanStore, PatrolTapStore

TWO = (Schedule(id="night", route="r1", times=("22:00", "00:00"), weekdays={0},
                assignees=("wang",)),)


def two_rounds_one_missed():
    """Round 1 walked fully; round 2 only a, then both closed."""
    e, clock, _ = engine(plan(schedules=TWO))
    walk(e, clock, [("a", 1), ("b", 10), ("c", 20)], start=local_ms(MONDAY, "22:00"))
    walk(e, clock, [("a", 1)], start=local_ms(MONDAY, "22:00", 120))
    e.tick(local_ms(MONDAY, "22:00", 240))
    return e


def test_report_counts_rounds_completion_and_missed_points_per_day_and_guard() -> None:
    report = patrol_report(two_rounds_one_missed(), MONDAY, MONDAY)
    (row,) = report.rows
    assert (row.day, row.guard, row.rounds, row.completed, row.incomplete) == (MONDAY, "wang", 2, 1, 1)
    assert row.completion_pct == 50.0
    assert (row.points_expected, row.points_visited, row.points_missed) == (6, 4, 2)
    assert row.missed_points == ("b", "c")
    assert report.missed_by_checkpoint == {"b": 1, "c": 1}
    assert report.total.completion_pct == 50.0


def test_report_csv_has_a_header_each_row_and_the_totals() -> None:
    text = report_csv(patrol_report(two_rounds_one_missed(), MONDAY, MONDAY))
    lines = text.splitlines()
    assert lines[0].startswith("day,guard,rounds,completed,incomplete,open,completion_pct")
    assert lines[1] == "2026-11-23,wang,2,1,1,0,50.0,6,4,2,0,b c"
    assert lines[-1].startswith("total,*,2,1,1,0,50.0")


def test_rounds_not_yet_closed_are_reported_open_not_incomplete() -> None:
    e, clock, _ = engine(plan(schedules=TWO))
    walk(e, clock, [("a", 1)], start=local_ms(MONDAY, "22:00"))
    (row,) = patrol_report(e, MONDAY, MONDAY).rows
    assert (row.rounds, row.open, row.incomplete, row.completion_pct) == (2, 2, 0, 0.0)


def test_stored_taps_replayed_into_a_new_engine_give_the_same_rounds(tmp_path: Path) -> None:
    with Database(tmp_path / "console.db") as db:
        store = PatrolTapStore(db)
        start = local_ms(MONDAY, "22:00")
        taps = [tap(cp, start + m * MIN) for cp, m in (("a", 1), ("b", 10), ("c", 20))]
        assert all(store.add(t) for t in taps)
        assert not store.add(taps[0])                           # once per event_id
        e, _, seen = engine()
        assert e.load(store.between(start - 60 * MIN, start + 120 * MIN),
                      now=start + 60 * MIN) == 3
        assert e.round("night:2026-11-23T2200").state == "completed"
        assert seen == []                                       # replays raise no callbacks


def test_the_plan_store_keeps_the_plan_and_refuses_a_broken_one(tmp_path: Path) -> None:
    p = plan()
    with Database(tmp_path / "console.db") as db:
        store = PatrolPlanStore(db)
        for item in (*p.checkpoints.values(), *p.users.values(), route(), *p.schedules.values()):
            store.put(item)
        loaded = store.load()
        assert loaded.routes["r1"] == route() and loaded.schedules["night"] == p.schedules["night"]
        with pytest.raises(PatrolPlanError):
            store.delete("checkpoint", "b")                     # route r1 still uses it
        assert "b" in store.load().checkpoints
