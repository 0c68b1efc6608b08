"""The patrol service and the ingest's batch transaction: a tap reaches the engine, and its
alarms the screens, only once the batch commits; rounds whose deadlines passed while the console
was down raise their alarms on restart (those of the last 24 h, each once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from patrol_console_helpers import RID, START, make_services, tap_event
from patrol_helpers import MIN, MONDAY, STRANGER, Clock
from web.patrol.service import CATCH_UP_MS
from web.services import ConsoleServices


def patrol_alarms(services: ConsoleServices) -> list[tuple[str, str | None]]:
    return sorted((a.kind, a.data.get("checkpoint")) for a in services.alarms.recent(1000)
                  if a.kind.startswith("patrol."))


def the_round(services: ConsoleServices):  # type: ignore[no-untyped-def]
    """The Monday 22:00 round as the pages see it (made if the engine had not yet)."""
    (view,) = [r for r in services.patrol.rounds_for_day(MONDAY) if r.id == RID]
    return view


def restart(tmp_path: Path, clock: Clock, old: ConsoleServices, at: int) -> ConsoleServices:
    """Stop ``old``, move the clock to ``at`` (the outage), start the console again and let
    its jobs run once."""
    old.stop()
    clock.now = at
    s = make_services(tmp_path, clock)
    s.jobs.run_due(at)
    return s


def test_a_tap_in_a_rolled_back_batch_leaves_the_engine_as_it_was(services: ConsoleServices,
                                                                   clock: Clock) -> None:
    clock.now = START + MIN
    with pytest.raises(RuntimeError):
        with services.db.transaction():              # the ingest's batch, which then fails
            tap_event(services, "a", clock.now)
            raise RuntimeError("batch rolled back")
    view = the_round(services)
    assert services.patrol.taps.count() == 0
    assert view.points[0].state != "ok" and view.guards == ()


def test_a_tap_in_a_batch_reaches_the_engine_when_the_batch_commits(services: ConsoleServices,
                                                                    clock: Clock) -> None:
    clock.now = START + MIN
    with services.db.transaction():
        tap_event(services, "a", clock.now)
        assert the_round(services).guards == ()              # not before the commit
    assert the_round(services).guards == ("wang",)


def test_an_alarm_of_a_rolled_back_tap_never_reaches_the_screens(services: ConsoleServices,
                                                                 clock: Clock) -> None:
    clock.now = START
    with services.live.subscribe() as sub:
        with pytest.raises(RuntimeError):
            with services.db.transaction():
                tap_event(services, "b", clock.now, card=STRANGER)
                raise RuntimeError("batch rolled back")
        assert sub.get(timeout_s=0.05) is None
    assert patrol_alarms(services) == []


def test_rounds_that_closed_while_the_console_was_down_raise_their_alarms_on_restart(
        tmp_path: Path, services: ConsoleServices, clock: Clock) -> None:
    clock.now = START + MIN
    tap_event(services, "a", clock.now)
    s2 = restart(tmp_path, clock, services, START + 60 * MIN)   # the round closed at +40
    try:
        assert s2.patrol.round(RID).state == "incomplete"
        assert patrol_alarms(s2) == [("patrol.missed", "b"), ("patrol.missed", "c")]
        assert s2.patrol.counters["caught_up_alarms"] == 2
    finally:
        s2.stop()


def test_alarms_raised_before_the_outage_are_not_raised_again(tmp_path: Path,
                                                              services: ConsoleServices,
                                                              clock: Clock) -> None:
    clock.now = START + MIN
    tap_event(services, "a", clock.now)
    services.jobs.run_due(START + 16 * MIN)                      # b missed, raised live
    assert patrol_alarms(services) == [("patrol.missed", "b")]
    s2 = restart(tmp_path, clock, services, START + 60 * MIN)
    s3 = restart(tmp_path, clock, s2, START + 61 * MIN)          # and once more
    try:
        assert patrol_alarms(s3) == [("patrol.missed", "b"), ("patrol.missed", "c")]
    finally:
        s3.stop()


def test_rounds_that_ended_more_than_a_day_before_the_restart_raise_nothing(
        tmp_path: Path, services: ConsoleServices, clock: Clock) -> None:
    clock.now = START + MIN
    tap_event(services, "a", clock.now)
    s2 = restart(tmp_path, clock, services, START + 40 * MIN + CATCH_UP_MS)
    try:
        assert s2.patrol.round(RID).state == "incomplete"       # replayed, shown missed...
        assert patrol_alarms(s2) == []                          # ...but no stale alarms
    finally:
        s2.stop()


def test_an_outage_alarm_a_late_tap_disproved_before_the_first_tick_is_not_raised(
        tmp_path: Path, services: ConsoleServices, clock: Clock) -> None:
    clock.now = START + MIN
    tap_event(services, "a", clock.now)
    services.stop()
    clock.now = START + 60 * MIN                          # closed at +40: b and c missed...
    s2 = make_services(tmp_path, clock)
    try:
        for cp, minutes in (("b", 10), ("c", 20)):       # ...but their node was offline
            tap_event(s2, cp, START + minutes * MIN, received_at=clock.now)
        s2.jobs.run_due(clock.now)
        assert the_round(s2).state == "completed"
        assert patrol_alarms(s2) == []
    finally:
        s2.stop()
