"""Pruning closed rounds from the engine's memory, and rebuilding them from the tap history when
a late tap arrives for one."""

from __future__ import annotations

from patrol_helpers import MIN, MONDAY, engine, local_ms, tap, walk

START = local_ms(MONDAY, "22:00")
RID = "night:2026-11-23T2200"


def closed_engine(steps, *, history=None):  # type: ignore[no-untyped-def]
    e, clock, seen = engine(history=history)
    walk(e, clock, steps, start=START)
    e.tick(START + 41 * MIN)                                # closes at +40
    return e, clock, seen


def test_prune_forgets_closed_rounds_and_returns_their_views() -> None:
    e, _, _ = closed_engine([("a", 1), ("b", 10), ("c", 20)])
    assert e.prune(START + 40 * MIN) == []                  # not yet past closes_at
    (view,) = e.prune(START + 60 * MIN)
    assert view.id == RID and view.state == "completed"
    assert e.round(RID) is None and e.in_memory() == 0
    assert e.counters["pruned"] == 1


def test_prune_keeps_rounds_still_running() -> None:
    e, clock, _ = engine()
    walk(e, clock, [("a", 1)], start=START)
    assert e.prune(START + 30 * MIN) == []
    assert e.round(RID).state == "running"


def test_a_pruned_day_is_not_made_again_by_a_view_or_a_plan_change() -> None:
    e, clock, seen = closed_engine([("a", 1), ("b", 10), ("c", 20)])
    e.prune(START + 60 * MIN)
    e.set_plan(e.plan, now=START + 60 * MIN)
    assert e.rounds_for_day(MONDAY, now=START + 60 * MIN) == []
    before = len(seen)
    assert e.tick(START + 24 * 60 * MIN) == [] and len(seen) == before    # no alarm flood


def test_a_late_tap_for_a_pruned_round_is_a_stray_without_history() -> None:
    e, _, _ = closed_engine([("a", 1), ("c", 20)])
    e.prune(START + 60 * MIN)
    e.on_tap(tap("b", START + 10 * MIN), now=START + 90 * MIN)
    assert e.counters["strays"] == 1 and e.round(RID) is None


def test_a_late_tap_for_a_pruned_round_rebuilds_it_from_history_and_corrects_it() -> None:
    taps = []
    e, clock, seen = engine(history=lambda lo, hi: [t for t in taps if lo <= t.ts < hi])
    for cp, minutes in (("a", 1), ("c", 20)):
        clock.now = START + minutes * MIN
        t = tap(cp, clock.now)
        taps.append(t)
        e.on_tap(t)
    e.tick(START + 41 * MIN)
    e.prune(START + 60 * MIN)
    late = tap("b", START + 10 * MIN)
    taps.append(late)
    e.on_tap(late, now=START + 90 * MIN)
    view = e.round(RID)
    assert view.state == "completed" and len(view.corrections) == 1
    assert view.corrections[0].before[0] == "incomplete"
    assert e.counters["restored"] == 1
