"""The meters' anomaly job on an injected clock: leak, use in a vacant unit, meter offline too
long; one alarm per episode, raised again only after the episode ended."""

from __future__ import annotations

from web.meters import LEAK, OFFLINE, VACANT_USE, MeterRules

from mc_helpers import H, T0, add_meter, add_unit, fill_hourly, meter_event, total


def _kinds(svc, kind):  # type: ignore[no-untyped-def]
    return [a for a in svc.alarms.open() if a.kind == kind]


def _check(svc, now):  # type: ignore[no-untyped-def]
    return svc.meters.watch.check(now)


def test_water_flowing_in_every_hour_for_the_leak_window_raises_one_leak_alarm(svc) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, "w-a-101", "A-101", node="meters-a")
    fill_hourly(svc, "w-a-101", T0, 8, 10.0, 0.004)
    _check(svc, T0 + 8 * H + 60_000)
    (alarm,) = _kinds(svc, LEAK)
    assert alarm.data["meter"] == "w-a-101" and alarm.data["unit"] == "A-101"
    assert alarm.data["hours"] == 6 and alarm.node == "meters-a"
    _check(svc, T0 + 8 * H + 10 * 60_000)
    assert len(_kinds(svc, LEAK)) == 1                      # same episode: not again


def test_an_hour_without_flow_is_no_leak(svc) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, "w-a-101", "A-101")
    value = 10.0
    for i in range(9):
        if i and i != 6:                       # no flow from 05:00 to 06:00
            value += 0.004
        total(svc, "w-a-101", round(value, 4), T0 + i * H, reason="hour")
    _check(svc, T0 + 8 * H + 60_000)
    assert _kinds(svc, LEAK) == []


def test_a_leak_is_raised_again_after_the_flow_stopped_and_restarted(svc) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, "w-a-101", "A-101")
    last = fill_hourly(svc, "w-a-101", T0, 6, 10.0, 0.01)
    _check(svc, T0 + 6 * H + 1)
    total(svc, "w-a-101", last, T0 + 7 * H, reason="hour")            # an hour without flow
    _check(svc, T0 + 7 * H + 1)
    assert svc.meters.watch.active() == {}
    fill_hourly(svc, "w-a-101", T0 + 8 * H, 6, last + 0.01, 0.01)
    _check(svc, T0 + 14 * H + 1)
    assert len(_kinds(svc, LEAK)) == 2


def test_the_leak_threshold_ignores_a_dripping_count_below_the_minimum(svc) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, "w-a-101", "A-101")
    svc.meters.rules.save(MeterRules(leak_min_m3=0.01), by="test")
    fill_hourly(svc, "w-a-101", T0, 8, 10.0, 0.002)
    _check(svc, T0 + 8 * H + 1)
    assert _kinds(svc, LEAK) == []


def test_use_in_a_vacant_unit_raises_an_alarm(svc) -> None:
    add_unit(svc, "B-1", vacant=True)
    add_meter(svc, "e-b-1", "B-1", kind="electricity")
    fill_hourly(svc, "e-b-1", T0, 24, 100.0, 0.05, register="import_energy_kwh", kind="electricity")
    _check(svc, T0 + 24 * H)
    (alarm,) = _kinds(svc, VACANT_USE)
    assert alarm.data["unit"] == "B-1" and alarm.data["amount"] == 1.2


def test_the_same_use_in_an_occupied_unit_is_no_alarm(svc) -> None:
    add_unit(svc, "B-1", vacant=False)
    add_meter(svc, "e-b-1", "B-1", kind="electricity")
    fill_hourly(svc, "e-b-1", T0, 24, 100.0, 0.05, register="import_energy_kwh", kind="electricity")
    _check(svc, T0 + 24 * H)
    assert _kinds(svc, VACANT_USE) == []


def test_a_meter_offline_longer_than_the_limit_raises_one_alarm_per_episode(svc) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, "w-a-101", "A-101")
    meter_event(svc, "meter.offline", {"meter": "w-a-101", "bus": "bus-1", "slave": 2,
                                       "unit": "A-101", "error": "no reply", "failures": 3}, ts=T0)
    _check(svc, T0 + 29 * 60_000)
    assert _kinds(svc, OFFLINE) == []
    _check(svc, T0 + 31 * 60_000)
    _check(svc, T0 + 60 * 60_000)
    (alarm,) = _kinds(svc, OFFLINE)
    assert alarm.data["meter"] == "w-a-101" and alarm.data["error"] == "no reply"
    meter_event(svc, "meter.online", {"meter": "w-a-101", "bus": "bus-1", "slave": 2,
                                      "unit": "A-101", "offline_s": 3600}, ts=T0 + 61 * 60_000)
    meter_event(svc, "meter.offline", {"meter": "w-a-101", "bus": "bus-1", "slave": 2,
                                       "unit": "A-101", "error": "no reply", "failures": 3},
                ts=T0 + 70 * 60_000)
    _check(svc, T0 + 120 * 60_000)
    assert len(_kinds(svc, OFFLINE)) == 2


def test_the_anomaly_job_runs_from_the_job_runner_on_its_clock(svc) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, "w-a-101", "A-101")
    fill_hourly(svc, "w-a-101", T0, 8, 10.0, 0.004)
    assert "meters.anomalies" in svc.jobs.run_due(T0 + 8 * H + 1)
    assert len(_kinds(svc, LEAK)) == 1
