"""The meters' ingest handler: totals into the journal with segments and gaps, resets, offline
and online states, live values, bad data counted and skipped; the store's statement path agrees
with the pure reference."""

from __future__ import annotations

import random

import pytest

from mqtt_topics import Telemetry
from web.meters import METER_RESET_ALARM
from web.meters.usage import Reading, usage_from_readings

from mc_helpers import H, T0, add_meter, add_unit, meter_event, total


def test_meter_total_is_journaled_per_register(svc) -> None:
    meter_event(svc, "meter.total", {"meter": "e-101", "unit": "A-101", "kind": "electricity",
                                     "reason": "first", "read_ts": T0,
                                     "totals": {"import_energy_kwh": 12.5, "export_energy_kwh": 0.0}},
                ts=T0)
    r = svc.meters.readings
    assert r.latest("e-101", "import_energy_kwh").value == 12.5
    assert r.latest("e-101", "export_energy_kwh").value == 0.0
    assert r.state("e-101").kind == "electricity" and r.state("e-101").state == "online"


def test_the_same_reading_twice_is_stored_once(svc) -> None:
    total(svc, "w-101", 5.0, T0)
    total(svc, "w-101", 5.0, T0)
    assert svc.meters.readings.count() == 1
    assert svc.meters.ingest.counters()["duplicates"] == 1


def test_a_node_reset_starts_a_new_segment_without_a_console_alarm(svc) -> None:
    total(svc, "w-101", 50.0, T0)
    meter_event(svc, "meter.reset", {"meter": "w-101", "unit": "A-101",
                                     "register": "total_volume_m3", "previous": 50.0, "value": 0.2},
                ts=T0 + H)
    total(svc, "w-101", 0.2, T0 + H, reason="reset")
    latest = svc.meters.readings.latest("w-101", "total_volume_m3")
    assert latest.segment == 1
    assert svc.meters.readings.state("w-101").resets == 1
    assert not [a for a in svc.alarms.open() if a.kind == METER_RESET_ALARM]
    # the node's meter.reset is an alarm kind: the ingest raises it (not this handler)


def test_a_total_going_backwards_unannounced_raises_a_console_reset_alarm(svc) -> None:
    total(svc, "w-101", 50.0, T0)
    total(svc, "w-101", 3.0, T0 + H, reason="first")  # node restarted with a new meter
    assert svc.meters.readings.latest("w-101", "total_volume_m3").segment == 1
    (alarm,) = [a for a in svc.alarms.open() if a.kind == METER_RESET_ALARM]
    assert alarm.data["meter"] == "w-101" and alarm.data["value"] == 3.0


def test_a_late_reading_is_slotted_in_and_later_segments_and_gaps_are_fixed(svc) -> None:
    total(svc, "w-101", 10.0, T0)
    total(svc, "w-101", 14.0, T0 + 4 * H)
    total(svc, "w-101", 2.0, T0 + 2 * H)      # late, and lower: a reset happened before it
    rows = svc.meters.readings.history([("w-101", "total_volume_m3")])
    by_ts = {r.ts: r for r in rows}
    assert by_ts[T0 + 2 * H].segment == 1 and by_ts[T0 + 2 * H].gap_before_ms == 2 * H
    assert by_ts[T0 + 4 * H].segment == 1 and by_ts[T0 + 4 * H].gap_before_ms == 2 * H
    assert svc.meters.ingest.counters()["late"] == 1


def test_offline_then_online_updates_the_meter_state(svc) -> None:
    meter_event(svc, "meter.offline", {"meter": "w-101", "bus": "bus-1", "slave": 3,
                                       "unit": "A-101", "error": "timeout", "failures": 3}, ts=T0)
    st = svc.meters.readings.state("w-101")
    assert (st.state, st.offline_since, st.bus, st.slave) == ("offline", T0, "bus-1", 3)
    meter_event(svc, "meter.online", {"meter": "w-101", "bus": "bus-1", "slave": 3,
                                      "unit": "A-101", "offline_s": 60.0}, ts=T0 + 60_000)
    st = svc.meters.readings.state("w-101")
    assert st.state == "online" and st.offline_since is None


@pytest.mark.parametrize("data", [
    {"meter": "W 101", "reason": "hour", "read_ts": T0, "totals": {"v": 1.0}},
    {"meter": "w-101", "reason": "sometimes", "read_ts": T0, "totals": {"v": 1.0}},
    {"meter": "w-101", "reason": "hour", "read_ts": T0, "totals": {"v": -1.0}},
    {"meter": "w-101", "reason": "hour", "read_ts": T0, "totals": {"v": "12"}},
    {"meter": "w-101", "reason": "hour", "read_ts": T0, "totals": {}},
    {"meter": "w-101", "reason": "hour", "read_ts": "yesterday", "totals": {"v": 1.0}},
])
def test_a_malformed_total_is_counted_and_skipped(svc, data) -> None:
    ev = meter_event(svc, "meter.total", data, ts=T0)
    assert svc.meters.readings.count() == 0
    assert svc.meters.ingest.counters()["bad_events"] == 1
    assert svc.events.get(ev.event_id) is not None   # the event itself is kept


def test_telemetry_of_a_known_meter_keeps_only_the_latest_values(svc) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, "e-101", "A-101", kind="electricity")
    ingest = svc.meters.ingest
    with svc.db.transaction():
        ingest.on_telemetry("meters-a", Telemetry("e-101", T0, {"voltage_v": 229.0}), T0)
        ingest.on_telemetry("meters-a", Telemetry("e-101", T0 + 10, {"voltage_v": 231.5}), T0 + 10)
        ingest.on_telemetry("meters-a", Telemetry("door-1", T0, {"x": 1}), T0)
    assert svc.meters.readings.live("e-101") == (T0 + 10, {"voltage_v": 231.5})
    assert svc.meters.readings.live("door-1") is None


def test_the_store_statement_agrees_with_the_reference_on_irregular_readings(svc) -> None:
    rnd = random.Random(7)
    ts, value, readings = T0 - 10 * H, 100.0, []
    while ts < T0 + 40 * 24 * H:
        ts += rnd.choice([15 * 60_000, H, H, 3 * H, 9 * H])
        if rnd.random() < 0.01:
            value = rnd.uniform(0, 5)          # meter replaced
        else:
            value += rnd.uniform(0, 0.4)
        readings.append(Reading(ts, round(value, 3)))
        total(svc, "w-9", round(value, 3), ts)
    store = svc.meters.readings
    for start, end in [(T0, T0 + 31 * 24 * H), (T0 + 3 * H + 7, T0 + 5 * 24 * H), (T0 + 11 * H, T0 + 12 * H)]:
        ref = usage_from_readings(readings, start, end, gap_ms=store.gap_ms, now=T0 + 100 * 24 * H)
        got = store.usage("w-9", "total_volume_m3", start, end, now=T0 + 100 * 24 * H)
        assert got.amount == pytest.approx(ref.amount)
        assert got.resets == ref.resets
        assert got.gaps == ref.gaps
        assert (got.start, got.end) == (ref.start, ref.end)


def test_the_chart_series_agrees_with_one_usage_per_bar(svc) -> None:
    rnd = random.Random(11)
    ts, value = T0 - 30 * H, 10.0
    while ts < T0 + 5 * 24 * H:
        ts += rnd.choice([15 * 60_000, H, 4 * H])
        value = rnd.uniform(0, 1) if rnd.random() < 0.03 else value + rnd.uniform(0, 0.3)
        total(svc, "w-9", round(value, 3), ts)
    store = svc.meters.readings
    cuts = [T0 + k * 6 * H for k in range(22)]
    now = T0 + 4 * 24 * H + 5 * H
    series = store.series("w-9", "total_volume_m3", cuts, now=now)
    for (a, b), got in zip(zip(cuts, cuts[1:]), series):
        if a > now:
            assert got.no_data
            continue
        one = store.usage("w-9", "total_volume_m3", a, b, now=now, with_gaps=False)
        assert (got.amount, got.resets, got.start, got.end) == (
            pytest.approx(one.amount) if one.amount is not None else None, one.resets,
            one.start, one.end)


def test_a_reset_alarm_is_shown_live_only_once_its_batch_commits(svc) -> None:
    total(svc, "w-101", 50.0, T0)
    with svc.live.subscribe() as sub:
        with pytest.raises(RuntimeError):
            with svc.db.transaction():            # the ingest's batch, which then fails
                total(svc, "w-101", 3.0, T0 + H, reason="first")
                raise RuntimeError("batch rolled back")
        assert sub.get(timeout_s=0.05) is None
        total(svc, "w-101", 3.0, T0 + H, reason="first")
        item = sub.get(timeout_s=1)
    assert item is not None and item[0] == "alarm" and item[1]["kind"] == METER_RESET_ALARM
