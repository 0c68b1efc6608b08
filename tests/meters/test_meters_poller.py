"""The bus poller against a real pymodbus server, on an injected clock: readings, gaps, faults,
back-off, totals, resets. Driven from the test thread with ``poller.cycle()``."""

from __future__ import annotations

import pytest
from meter_helpers import HOUR_START_MS, FakeTime, meter

from edge.extensions.meters import OFFLINE_KIND, ONLINE_KIND, RESET_KIND, TOTAL_KIND


def test_a_good_poll_publishes_every_reading_as_telemetry(make_sim, make_poller, recorder, transport, sdm120):
    sim = make_sim(meters={1: sdm120}, transport=transport)
    make_poller(sim, [meter("m-0101", 1, sdm120)]).cycle()
    ((device, values),) = recorder.telemetry
    assert device == "m-0101"
    assert values == pytest.approx({r.name: sim.value(1, r.name) for r in sdm120.registers})


def test_a_meter_is_read_in_contiguous_blocks(make_sim, make_poller, sdm120):
    sim = make_sim(meters={1: sdm120})
    poller = make_poller(sim, [meter("m", 1, sdm120)])
    poller.cycle()
    assert poller.counters["requests"] == 2 and sim.requests == 2


def test_water_meter_volume_is_decoded_with_word_order_and_scale(make_sim, make_poller, recorder, water):
    sim = make_sim(meters={3: water}, transport="rtu")
    sim.set_value(3, "total_volume_m3", 70_000.123)
    make_poller(sim, [meter("w", 3, water)]).cycle()
    assert recorder.telemetry[0][1]["total_volume_m3"] == pytest.approx(70_000.123)


def test_the_bus_is_silent_between_requests_and_longer_when_switching_slave(
        make_sim, make_poller, fake_time, sdm120):
    sim = make_sim(meters={1: sdm120, 2: sdm120})
    make_poller(sim, [meter("a", 1, sdm120), meter("b", 2, sdm120)], gap_ms=50, switch_gap_ms=100).cycle()
    # a: block 1, (gap) block 2, (switch) b: block 1, (gap) block 2
    assert fake_time.waits == pytest.approx([0.05, 0.1, 0.05])


def test_a_meter_is_polled_again_after_its_period(make_sim, make_poller, recorder, fake_time, sdm120):
    sim = make_sim(meters={1: sdm120})
    poller = make_poller(sim, [meter("m", 1, sdm120, period_s=10)])
    poller.cycle()
    assert poller.cycle() > 9  # not due yet: nothing read
    fake_time.advance(10)
    poller.cycle()
    assert len(recorder.telemetry) == 2


def test_a_failed_poll_is_retried_at_the_next_cycle_without_going_offline(make_sim, make_poller, recorder, sdm120):
    sim = make_sim(meters={1: sdm120})
    sim.set_fault(1, "silent")
    poller = make_poller(sim, [meter("m", 1, sdm120)], retries=1)
    assert poller.cycle() == 0  # due again at once
    assert recorder.of(OFFLINE_KIND) == [] and poller.counters["timeouts"] == 1


def test_a_meter_is_offline_once_its_retries_are_spent(make_sim, make_poller, recorder, sdm120):
    sim = make_sim(meters={1: sdm120})
    sim.set_fault(1, "silent")
    poller = make_poller(sim, [meter("m", 1, sdm120, unit="0303")], retries=1)
    poller.cycle()
    poller.cycle()
    (offline,) = recorder.of(OFFLINE_KIND)
    assert offline["meter"] == "m" and offline["slave"] == 1 and offline["unit"] == "0303"
    assert offline["failures"] == 2 and "no reply" in offline["error"]


def test_an_offline_meter_backs_off_exponentially_up_to_the_maximum(make_sim, make_poller, fake_time, recorder, sdm120):
    sim = make_sim(meters={1: sdm120})
    sim.set_fault(1, "silent")
    poller = make_poller(sim, [meter("m", 1, sdm120)], retries=0, backoff_min_s=10, backoff_max_s=40)
    delays = []
    for _ in range(4):
        delay = poller.cycle()
        delays.append(round(delay, 3))
        fake_time.advance(delay)
    assert delays == [10, 20, 40, 40]
    assert len(recorder.of(OFFLINE_KIND)) == 1


def test_a_recovered_meter_is_online_again(make_sim, make_poller, fake_time, recorder, sdm120):
    sim = make_sim(meters={1: sdm120})
    sim.set_fault(1, "silent")
    poller = make_poller(sim, [meter("m", 1, sdm120)], retries=0, backoff_min_s=10)
    fake_time.advance(poller.cycle())
    sim.set_fault(1, None)
    poller.cycle()
    (online,) = recorder.of(ONLINE_KIND)
    assert online["meter"] == "m" and online["offline_s"] == pytest.approx(10)
    assert recorder.kinds() == [OFFLINE_KIND, ONLINE_KIND, TOTAL_KIND]
    assert len(recorder.telemetry) == 1


def test_a_dead_meter_costs_the_others_one_timeout_per_cycle(make_sim, make_poller, fake_time, recorder, sdm120):
    sim = make_sim(meters={1: sdm120, 2: sdm120})
    sim.set_fault(1, "silent")
    poller = make_poller(sim, [meter("dead", 1, sdm120), meter("live", 2, sdm120)], retries=10)
    for _ in range(3):
        poller.cycle()
        fake_time.advance(10)
    assert poller.counters["timeouts"] == 3  # one request to the dead meter per cycle, no more
    assert [d for d, _ in recorder.telemetry] == ["live"] * 3


def test_a_garbled_reply_is_a_failed_poll_retried_at_the_next_cycle(make_sim, make_poller, recorder, sdm120):
    sim = make_sim(meters={1: sdm120}, transport="rtu")
    sim.set_fault(1, "bad_crc", times=1)
    poller = make_poller(sim, [meter("m", 1, sdm120)], retries=1)
    assert poller.cycle() == 0 and poller.counters["crc_errors"] == 1 and recorder.telemetry == []
    poller.cycle()
    assert len(recorder.telemetry) == 1 and recorder.of(OFFLINE_KIND) == []


def test_an_exception_response_is_a_failed_poll(make_sim, make_poller, recorder, sdm120):
    sim = make_sim(meters={1: sdm120})
    sim.set_fault(1, "exception")
    poller = make_poller(sim, [meter("m", 1, sdm120)], retries=0)
    poller.cycle()
    assert poller.counters["exception_responses"] == 1 and recorder.kinds() == [OFFLINE_KIND]


def test_a_nan_reading_is_skipped_and_counted(make_sim, make_poller, recorder, sdm120):
    sim = make_sim(meters={1: sdm120})
    sim.set_value(1, "voltage_v", float("nan"))
    poller = make_poller(sim, [meter("m", 1, sdm120)])
    poller.cycle()
    assert "voltage_v" not in recorder.telemetry[0][1] and poller.counters["bad_values"] == 1


def test_the_first_reading_journals_the_totals(make_sim, make_poller, recorder, fake_time, water):
    sim = make_sim(meters={1: water})
    make_poller(sim, [meter("w", 1, water, unit="0101")]).cycle()
    (total,) = recorder.of(TOTAL_KIND)
    assert total == {"meter": "w", "unit": "0101", "kind": "water", "reason": "first",
                     "read_ts": fake_time.ms(), "totals": {"total_volume_m3": pytest.approx(321.125)}}


def test_totals_are_journalled_at_the_configured_interval(make_sim, make_poller, recorder, fake_time, sdm120):
    sim = make_sim(meters={1: sdm120})
    poller = make_poller(sim, [meter("m", 1, sdm120, period_s=10, total_interval_s=30)])
    for _ in range(4):  # polls at 0, 10, 20, 30 s
        poller.cycle()
        fake_time.advance(10)
    assert [t["reason"] for t in recorder.of(TOTAL_KIND)] == ["first", "interval"]


def test_totals_are_journalled_at_each_hour_boundary(make_sim, make_poller, recorder, sdm120):
    clock = FakeTime(start_ms=HOUR_START_MS + 3_600_000 - 15_000)  # 15 s before the next hour
    sim = make_sim(meters={1: sdm120})
    poller = make_poller(sim, [meter("m", 1, sdm120, period_s=10)], clock=clock)
    for _ in range(3):  # polls at -15 s, -5 s, +5 s around the hour
        poller.cycle()
        clock.advance(10)
    totals = recorder.of(TOTAL_KIND)
    assert [t["reason"] for t in totals] == ["first", "hour"]
    assert totals[1]["read_ts"] // 3_600_000 == totals[0]["read_ts"] // 3_600_000 + 1


def test_a_counter_going_backwards_is_a_reset_not_negative_consumption(make_sim, make_poller, recorder, fake_time, sdm120):
    sim = make_sim(meters={1: sdm120})
    poller = make_poller(sim, [meter("m", 1, sdm120, unit="0101")])
    poller.cycle()
    sim.reset_counters(1, 0.5)
    fake_time.advance(10)
    poller.cycle()
    resets = recorder.of(RESET_KIND)
    assert resets[0] == {"meter": "m", "unit": "0101", "register": "import_energy_kwh",
                         "previous": 1234.5, "value": 0.5}
    last_total = recorder.of(TOTAL_KIND)[-1]
    assert last_total["reason"] == "reset" and last_total["totals"]["import_energy_kwh"] == 0.5


def test_a_counter_that_grows_is_not_a_reset(make_sim, make_poller, recorder, fake_time, sdm120):
    sim = make_sim(meters={1: sdm120})
    poller = make_poller(sim, [meter("m", 1, sdm120)])
    poller.cycle()
    sim.set_value(1, "import_energy_kwh", 1300.0)
    fake_time.advance(10)
    poller.cycle()
    assert recorder.of(RESET_KIND) == []


def test_a_journal_failure_is_counted_and_polling_goes_on(make_sim, fake_time, sdm120):
    from meter_helpers import bus_for, bus_settings
    from edge.extensions.meters import BusPoller

    def broken_emit(kind, data):
        raise OSError("disk full")

    telemetry = []
    sim = make_sim(meters={1: sdm120})
    poller = BusPoller(bus_settings(sim), [meter("m", 1, sdm120)], emit=broken_emit,
                       publish_telemetry=lambda d, v: telemetry.append(d) or True, clock=fake_time.ms,
                       monotonic=fake_time.monotonic, wait=fake_time.wait,
                       bus_factory=lambda s: bus_for(sim)).open()
    try:
        poller.cycle()
    finally:
        poller.close()
    assert poller.counters["emit_errors"] == 1 and telemetry == ["m"]
