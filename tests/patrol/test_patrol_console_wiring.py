"""The patrol service inside the console services: taps through the ingest's event handler,
the ``patrol.tick`` job raising console alarms on an injected clock, corrections from late taps,
and closed rounds moved from memory to the round store."""

from __future__ import annotations

from pathlib import Path

from patrol_console_helpers import RID, START, make_services, store_plan, tap_event
from patrol_helpers import MIN, MONDAY, STRANGER, Clock
from web.patrol.report import patrol_report
from web.services import ConsoleServices


def patrol_alarms(services: ConsoleServices) -> list[tuple[str, str | None]]:
    return sorted((a.kind, a.data.get("checkpoint")) for a in services.patrol.open_alarms())


def test_the_console_registers_the_tap_handler_and_the_tick_job(services: ConsoleServices) -> None:
    tap_handlers = [h for h in services.event_handlers
                    if getattr(h, "handler", h) == services.patrol.on_event]
    assert tap_handlers and tap_handlers[0].accepts("patrol.tap")
    assert not tap_handlers[0].accepts("door.granted")
    assert "patrol.tick" in services.jobs.names()


def test_a_tap_event_through_the_ingest_handler_starts_the_round(services: ConsoleServices,
                                                                  clock: Clock) -> None:
    clock.now = START + MIN
    tap_event(services, "a", clock.now)
    view = services.patrol.round(RID)
    assert view.state == "running" and view.points[0].state == "ok"
    assert view.guards == ("wang",)
    assert services.patrol.taps.count() == 1


def test_a_redelivered_tap_is_journaled_once(services: ConsoleServices, clock: Clock) -> None:
    clock.now = START + MIN
    ev = tap_event(services, "a", clock.now)
    services.patrol.on_event(ev)
    assert services.patrol.counters["duplicate_taps"] == 1
    assert services.patrol.taps.count() == 1 and services.patrol.round(RID).duplicates == 0


def test_a_tap_without_a_card_is_counted_and_the_event_kept(services: ConsoleServices,
                                                             clock: Clock) -> None:
    ev = tap_event(services, "a", START, data={"reader": "cp-a"})
    assert services.patrol.counters["bad_taps"] == 1
    assert services.events.get(ev.event_id) is not None and services.patrol.taps.count() == 0


def test_the_tick_job_raises_not_started_as_a_console_alarm(services: ConsoleServices) -> None:
    services.jobs.run_due(START + 4 * MIN)
    assert patrol_alarms(services) == []
    services.jobs.run_due(START + 10 * MIN + 5_000)
    assert ("patrol.not_started", None) in patrol_alarms(services)
    (alarm,) = [a for a in services.patrol.open_alarms() if a.kind == "patrol.not_started"]
    assert alarm.data["round"] == RID and alarm.data["route"] == "r1"


def test_the_tick_job_raises_missed_for_a_point_whose_window_passed(services: ConsoleServices,
                                                                      clock: Clock) -> None:
    clock.now = START + MIN
    tap_event(services, "a", clock.now)
    services.jobs.run_due(START + 16 * MIN)
    assert patrol_alarms(services) == [("patrol.missed", "b")]
    assert services.patrol.open_alarms()[0].node == "lobby"


def test_late_out_of_order_and_implausible_taps_raise_console_alarms(services: ConsoleServices,
                                                                      clock: Clock) -> None:
    for cp, minutes in (("a", 1), ("c", 1.5), ("b", 17)):
        clock.now = START + int(minutes * MIN)
        tap_event(services, cp, clock.now)
    kinds = patrol_alarms(services)
    assert ("patrol.implausible", "c") in kinds
    assert ("patrol.out_of_order", "b") in kinds and ("patrol.late", "b") in kinds


def test_an_unknown_card_at_a_check_point_raises_an_alarm(services: ConsoleServices,
                                                          clock: Clock) -> None:
    clock.now = START
    tap_event(services, "b", clock.now, card=STRANGER)
    assert patrol_alarms(services) == [("patrol.unknown_card", "b")]
    assert services.patrol.open_alarms()[0].data["card"] == STRANGER


def test_a_late_tap_corrects_a_closed_round_and_withdraws_its_missed_alarm(
        services: ConsoleServices, clock: Clock) -> None:
    for cp, minutes in (("a", 1), ("c", 20)):
        clock.now = START + minutes * MIN
        tap_event(services, cp, clock.now)
    services.jobs.run_due(START + 41 * MIN)                     # closes at +40
    assert services.patrol.round(RID).state == "incomplete"
    assert patrol_alarms(services) == [("patrol.missed", "b")]
    # b's node was offline: its tap (made at +10) arrives an hour later
    clock.now = START + 100 * MIN
    tap_event(services, "b", START + 10 * MIN, received_at=clock.now)
    view = services.patrol.round(RID)
    assert view.state == "completed"
    (corr,) = view.corrections
    assert corr.before[0] == "incomplete" and corr.after[0] == "completed"
    assert services.patrol.rounds.get(RID).state == "completed"          # stored corrected
    assert patrol_alarms(services) == []                                  # withdrawn
    (acked,) = [a for a in services.alarms.recent() if a.kind == "patrol.missed"]
    assert acked.acknowledged_by == "console" and "withdrawn" in acked.note


def test_closed_rounds_leave_memory_but_stay_in_reports(tmp_path: Path, clock: Clock) -> None:
    s = make_services(tmp_path, clock, retain_ms=60 * MIN)
    try:
        store_plan(s)
        for cp, minutes in (("a", 1), ("b", 10), ("c", 20)):
            clock.now = START + minutes * MIN
            tap_event(s, cp, clock.now)
        s.jobs.run_due(START + 200 * MIN)
        assert s.patrol.engine.round(RID) is None                  # pruned from memory
        assert s.patrol.rounds.get(RID).state == "completed"
        report = patrol_report(s.patrol, MONDAY, MONDAY)
        assert (report.total.rounds, report.total.completed) == (1, 1)
    finally:
        s.stop()


def test_a_late_tap_for_a_pruned_round_rebuilds_and_corrects_it(tmp_path: Path,
                                                                 clock: Clock) -> None:
    s = make_services(tmp_path, clock, retain_ms=60 * MIN)
    try:
        store_plan(s)
        for cp, minutes in (("a", 1), ("c", 20)):
            clock.now = START + minutes * MIN
            tap_event(s, cp, clock.now)
        s.jobs.run_due(START + 41 * MIN)
        s.jobs.run_due(START + 200 * MIN)
        assert s.patrol.engine.round(RID) is None
        clock.now = START + 300 * MIN
        tap_event(s, "b", START + 10 * MIN, received_at=clock.now)
        assert s.patrol.rounds.get(RID).state == "completed"
        assert len(s.patrol.round(RID).corrections) == 1
    finally:
        s.stop()


def test_the_engine_is_rebuilt_from_the_tap_journal_after_a_restart(tmp_path: Path,
                                                                     clock: Clock) -> None:
    s = make_services(tmp_path, clock)
    store_plan(s)
    clock.now = START + MIN
    tap_event(s, "a", clock.now)
    s.stop()
    s2 = make_services(tmp_path, clock)
    try:
        view = s2.patrol.round(RID)
        assert view is not None and view.points[0].state == "ok"
    finally:
        s2.stop()
