"""The round engine as pure logic with an injected clock."""

from __future__ import annotations

from patrol_helpers import (LI, MIN, MONDAY, STRANGER, WANG, engine, local_ms, plan, tap, walk)
from web.patrol import Correction, RoundView, Schedule

START = local_ms(MONDAY, "22:00")
RID = "night:2026-11-23T2200"


def kinds(alarms) -> list[tuple[str, str | None]]:
    return [(a.kind, a.checkpoint) for a in alarms]


def test_a_round_walked_on_time_completes_without_alarms() -> None:
    e, clock, seen = engine()
    raised = walk(e, clock, [("a", 1), ("b", 10), ("c", 19)], start=START)
    view = e.round(RID)
    assert raised == []
    assert (view.state, view.reason) == ("completed", "all 3 check-points visited")
    assert [p.state for p in view.points] == ["ok", "ok", "ok"]
    assert view.guards == ("wang",) and view.closed_at == clock.now
    assert [s.id for s in seen if isinstance(s, RoundView)] == [RID]       # on_close


def test_no_tap_within_the_start_tolerance_raises_not_started() -> None:
    e, clock, seen = engine()
    assert ("not_started", None) not in kinds(e.tick(START + 10 * MIN))
    raised = e.tick(START + 10 * MIN + 2)
    assert kinds(raised) == [("not_started", None)]
    assert raised[0].round_id == RID and raised[0] in seen


def test_a_point_whose_window_passed_is_missed_and_the_round_closes_incomplete() -> None:
    e, clock, _ = engine()
    walk(e, clock, [("a", 1)], start=START)
    raised = e.tick(START + 15 * MIN + 2)                  # b was due at +15
    assert kinds(raised) == [("missed", "b")]
    walk(e, clock, [("c", 20)], start=START)
    e.tick(START + 40 * MIN + 2)                            # closes at +25 +15 grace
    view = e.round(RID)
    assert view.state == "incomplete"
    assert view.reason == "1 of 3 check-points missed: b"
    assert view.missed == ("b",)


def test_a_tap_after_its_window_is_late() -> None:
    e, clock, _ = engine()
    raised = walk(e, clock, [("a", 1), ("b", 16)], start=START)       # b was due at +15
    assert ("late", "b") in kinds(raised)
    assert e.round(RID).points[1].state == "late"


def test_a_tap_within_its_window_is_not_late() -> None:
    e, clock, _ = engine()
    raised = walk(e, clock, [("a", 1), ("b", 15)], start=START)
    assert raised == [] and e.round(RID).points[1].state == "ok"


def test_an_ordered_route_flags_a_point_tapped_out_of_order() -> None:
    e, clock, _ = engine()
    raised = walk(e, clock, [("a", 1), ("c", 5), ("b", 10)], start=START)
    assert ("out_of_order", "b") in kinds(raised)
    assert e.round(RID).points[1].flags == ("out_of_order",)


def test_an_any_order_route_accepts_any_order() -> None:
    e, clock, _ = engine(plan(ordered=False))
    raised = walk(e, clock, [("c", 1), ("a", 5), ("b", 10)], start=START)
    assert raised == []
    assert e.round(RID).state == "completed"


def test_two_points_faster_than_the_walking_time_are_implausible() -> None:
    e, clock, _ = engine()
    raised = walk(e, clock, [("a", 1), ("b", 1.5)], start=START)    # 30 s, walk is 60 s
    assert kinds(raised) == [("implausible", "b")]
    assert raised[0].card == WANG and raised[0].user == "wang"


def test_an_unknown_card_at_a_check_point_is_an_alarm() -> None:
    e, clock, _ = engine()
    raised = walk(e, clock, [("a", 1)], start=START, card=STRANGER)
    assert kinds(raised) == [("unknown_card", "a")]
    assert raised[0].card == STRANGER and raised[0].round_id is None
    assert e.round(RID).visited == 0


def test_a_card_of_someone_not_assigned_does_not_count_for_the_round() -> None:
    e, clock, _ = engine()
    walk(e, clock, [("a", 1)], start=START, card=LI)
    assert e.round(RID).visited == 0 and e.counters["strays"] == 1


def test_a_night_schedule_crosses_midnight_and_belongs_to_the_day_it_starts() -> None:
    night = Schedule.every(id="night", route="r1", start="22:00", end="06:00", every_min=120,
                           weekdays={0})
    assert night.times == ("22:00", "00:00", "02:00", "04:00", "06:00")
    e, clock, _ = engine(plan(schedules=(night,)))
    monday = e.rounds_for_day(MONDAY)
    assert [r.id for r in monday] == ["night:2026-11-23T2200", "night:2026-11-24T0000",
                                      "night:2026-11-24T0200", "night:2026-11-24T0400",
                                      "night:2026-11-24T0600"]
    assert monday[2].start_ms == local_ms(MONDAY, "22:00", 4 * 60)
    assert e.rounds_for_day(MONDAY.replace(day=24)) == []         # Tuesday is not scheduled
    two_am = local_ms(MONDAY, "22:00", 4 * 60)
    walk(e, clock, [("a", 2)], start=two_am)
    assert e.round("night:2026-11-24T0200").visited == 1


def test_overlapping_rounds_each_get_their_own_taps() -> None:
    both = (Schedule(id="s1", route="r1", times=("22:00",), weekdays={0}),
            Schedule(id="s2", route="r1", times=("22:10",), weekdays={0}))
    e, clock, _ = engine(plan(schedules=both))
    walk(e, clock, [("a", 1), ("a", 11), ("b", 12), ("b", 21)], start=START)
    first, second = e.rounds_for_day(MONDAY)
    assert [p.tapped_at for p in first.points][:2] == [START + MIN, START + 12 * MIN]
    assert [p.tapped_at for p in second.points][:2] == [START + 11 * MIN, START + 21 * MIN]


def test_a_late_replayed_tap_corrects_a_closed_round() -> None:
    e, clock, seen = engine()
    walk(e, clock, [("a", 1), ("c", 20)], start=START)
    e.tick(START + 60 * MIN)
    assert e.round(RID).state == "incomplete"
    # the node at b was offline: its tap, made at +9, arrives an hour late
    clock.now = START + 61 * MIN
    raised = e.on_tap(tap("b", START + 9 * MIN))
    view = e.round(RID)
    assert raised == []
    assert (view.state, view.points[1].state) == ("completed", "ok")
    (corr,) = view.corrections
    assert corr.before == ("incomplete", "1 of 3 check-points missed: b")
    assert corr.after == ("completed", "all 3 check-points visited")
    assert corr.withdrawn == (("missed", "b"),) and corr.changes == ("b: missed -> ok",)
    assert any(isinstance(s, Correction) for s in seen)


def test_a_replayed_older_tap_is_read_in_tap_time_order() -> None:
    e, clock, _ = engine()
    walk(e, clock, [("a", 1)], start=START)
    e.tick(START + 16 * MIN)                                   # b missed
    walk(e, clock, [("c", 20)], start=START)
    clock.now = START + 22 * MIN
    raised = e.on_tap(tap("b", START + 10 * MIN))              # made at +10, arrives at +22
    view = e.round(RID)
    assert ("out_of_order", "b") not in kinds(raised)          # a, b, c by tap time
    assert [p.state for p in view.points] == ["ok", "ok", "ok"] and view.state == "completed"
    assert view.corrections[0].changes == ("b: missed -> ok",)


def test_the_first_tap_at_an_adhoc_route_starts_a_round() -> None:
    e, clock, _ = engine(plan(schedules=(), adhoc=True))
    t0 = local_ms(MONDAY, "15:07")
    walk(e, clock, [("a", 0), ("b", 10), ("c", 20)], start=t0)
    (view,) = e.rounds_for_day(MONDAY)
    assert view.adhoc and view.start_ms == t0 and view.state == "completed"


def test_a_duplicate_event_is_applied_once() -> None:
    e, clock, _ = engine()
    clock.now = START + MIN
    t = tap("a", clock.now)
    e.on_tap(t)
    e.on_tap(t)
    assert e.counters["duplicates"] == 1 and e.round(RID).duplicates == 0


def test_the_next_point_and_my_rounds_for_the_patrol_page() -> None:
    e, clock, _ = engine()
    walk(e, clock, [("a", 1)], start=START)
    (mine,) = e.rounds_for_user("wang")
    assert mine.id == RID and mine.next_point.checkpoint == "b"
    assert mine.next_point.due_ms == START + 15 * MIN
    assert e.rounds_for_user("li") == []
    assert [r.id for r in e.open_rounds()] == [RID]
