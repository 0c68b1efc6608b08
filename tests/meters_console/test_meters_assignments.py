"""A meter's unit over time (the assignment history) at the store level: changes recorded with
their effective time and who, refused effective times, and the statement, the unit windows and
the vacant-unit check following the unit the meter had at each reading."""

from __future__ import annotations

import pytest

from web.meters import VACANT_USE, build_statement
from web.meters.assignments import FOREVER
from web.meters.registry import MoveRefused

from mc_helpers import H, T0, add_meter, add_unit, fill_hourly

DAY = 24 * H
MOVE = T0 + 5 * DAY        # 2026-01-08 00:00 site time


@pytest.fixture
def moved(svc, clock):  # type: ignore[no-untyped-def]
    """w-1 read hourly (0.05 m³/h) from 2 h before T0 to T0 + 10 days, in A-101 until MOVE,
    then in A-102 (moved by "admin" at T0 + 10 days, effective MOVE)."""
    add_unit(svc, "A-101")
    add_unit(svc, "A-102")
    m = add_meter(svc, "w-1", "A-101")
    fill_hourly(svc, "w-1", T0 - 2 * H, 10 * 24 + 2, 100.0, 0.05)
    clock.now = T0 + 10 * DAY
    svc.meters.registry.save(m.with_changes(unit="A-102"), by="admin", create=False,
                             effective_at=MOVE)
    return svc


def _statement(svc, clock, **kw):  # type: ignore[no-untyped-def]
    return build_statement(svc.meters.period("2026-01"), registry=svc.meters.registry,
                           readings=svc.meters.readings, now=clock.now, **kw)


def test_the_history_keeps_both_assignments_with_who_and_when(moved) -> None:
    first, second = moved.meters.registry.history("w-1")
    assert (first.unit, first.from_ts, first.until_ts, first.by) == ("A-101", None, MOVE, "test")
    assert (second.unit, second.from_ts, second.until_ts, second.by) == ("A-102", MOVE, None, "admin")
    assert moved.meters.registry.get("w-1").unit == "A-102"


def test_an_effective_time_in_the_future_is_refused_and_nothing_changes(svc, clock) -> None:
    add_unit(svc, "A-101")
    add_unit(svc, "A-102")
    m = add_meter(svc, "w-1", "A-101")
    with pytest.raises(MoveRefused) as refused:
        svc.meters.registry.save(m.with_changes(unit="A-102"), by="admin", create=False,
                                 effective_at=clock.now + 60_000)
    assert (refused.value.field, refused.value.code) == ("effective_at", "effective_future")
    assert svc.meters.registry.get("w-1").unit == "A-101"
    assert len(svc.meters.registry.history("w-1")) == 1


def test_an_effective_time_before_the_previous_change_is_refused(moved) -> None:
    add_unit(moved, "A-103")
    m = moved.meters.registry.get("w-1")
    with pytest.raises(MoveRefused) as refused:
        moved.meters.registry.save(m.with_changes(unit="A-103"), by="admin", create=False,
                                   effective_at=MOVE - H)
    assert (refused.value.field, refused.value.code, refused.value.previous) == (
        "effective_at", "effective_before_previous", MOVE)
    assert moved.meters.registry.get("w-1").unit == "A-102"


def test_a_meter_registered_before_the_history_gets_its_first_unit_when_moved(svc, clock) -> None:
    add_unit(svc, "A-101")
    add_unit(svc, "A-102")
    m = add_meter(svc, "w-1", "A-101")
    with svc.db.transaction() as c:                 # as a database from before the history
        c.execute("DELETE FROM meter_assignments")
    svc.meters.registry.save(m.with_changes(unit="A-102"), by="admin", create=False)
    first, second = svc.meters.registry.history("w-1")
    assert (first.unit, first.from_ts, first.until_ts, first.by) == ("A-101", None, clock.now, "")
    assert (second.unit, second.from_ts, second.by) == ("A-102", clock.now, "admin")


def test_a_meter_moved_mid_period_is_split_between_the_two_units_in_the_statement(moved, clock) -> None:
    st = _statement(moved, clock)
    rows = {r.meter.unit: r for r in st.rows}
    assert [(r.meter.unit, r.meter.meter_id) for r in st.rows] == [("A-101", "w-1"), ("A-102", "w-1")]
    old, new = rows["A-101"], rows["A-102"]
    assert old.usage.amount == pytest.approx(5 * 24 * 0.05)
    assert new.usage.amount == pytest.approx(5 * 24 * 0.05)
    assert old.part == (st.period.start, MOVE) and new.part == (MOVE, st.period.end)
    assert old.marks == ["moved_out"] and new.marks == ["moved_in"]
    assert [u for u, _ in st.by_unit()] == ["A-101", "A-102"]


def test_the_value_at_a_move_far_from_any_reading_is_estimated_and_marked(svc, clock) -> None:
    add_unit(svc, "A-101")
    add_unit(svc, "A-102")
    m = add_meter(svc, "w-1", "A-101")
    fill_hourly(svc, "w-1", T0 - 2 * H, 2, 100.0, 0.5)        # until T0 (101.0)
    fill_hourly(svc, "w-1", T0 + 6 * DAY, 2, 121.0, 0.5)      # from MOVE + 1 day (121.0)
    clock.now = T0 + 7 * DAY
    svc.meters.registry.save(m.with_changes(unit="A-102"), by="admin", create=False,
                             effective_at=MOVE)
    rows = {r.meter.unit: r for r in _statement(svc, clock).rows}
    assert rows["A-101"].marks[:2] == ["moved_out", "estimated_end"]
    assert rows["A-102"].marks[:2] == ["moved_in", "estimated_start"]
    assert rows["A-101"].usage.end.source == "interpolated"
    assert rows["A-101"].usage.amount == pytest.approx(20.0 * 5 / 6)   # 101 -> 121 over 6 days
    assert rows["A-101"].usage.amount + rows["A-102"].usage.amount == pytest.approx(21.0)


def test_a_statement_of_the_old_unit_only_keeps_its_part_of_a_moved_meter(moved, clock) -> None:
    (row,) = _statement(moved, clock, units=["A-101"]).rows
    assert row.meter.unit == "A-101" and row.usage.amount == pytest.approx(6.0)


def test_a_meter_never_moved_has_one_unmarked_row_over_the_whole_period(svc, clock) -> None:
    add_unit(svc, "A-101")
    add_meter(svc, "w-1", "A-101")
    fill_hourly(svc, "w-1", T0 - 2 * H, 10 * 24 + 2, 100.0, 0.05)
    clock.now = T0 + 10 * DAY
    (row,) = _statement(svc, clock).rows
    assert (row.part, row.marks, row.moved_in, row.moved_out) == (None, [], False, False)
    assert row.usage == svc.meters.readings.usage("w-1", "total_volume_m3", row.usage.start.ts,
                                                  svc.meters.period("2026-01").end, now=clock.now)


def test_unit_windows_say_when_each_unit_had_the_meter(moved) -> None:
    reg = moved.meters.registry
    assert reg.windows_in("A-101") == {"w-1": [(-FOREVER, MOVE)]}
    assert reg.windows_in("A-102") == {"w-1": [(MOVE, FOREVER)]}


def test_the_reading_history_of_a_unit_keeps_only_its_time_with_the_meter(moved) -> None:
    rd = moved.meters.readings
    old = rd.history([("w-1", "total_volume_m3")], limit=1000,
                     windows=moved.meters.registry.windows_in("A-101"))
    new = rd.history([("w-1", "total_volume_m3")], limit=1000,
                     windows=moved.meters.registry.windows_in("A-102"))
    assert max(r.ts for r in old) == MOVE - H and min(r.ts for r in new) == MOVE
    assert len(old) + len(new) == rd.count()


def test_csv_import_with_a_changed_unit_records_a_change_at_import_time(svc, clock) -> None:
    add_unit(svc, "A-101")
    add_unit(svc, "A-102")
    m = add_meter(svc, "w-1", "A-101")
    clock.now = T0 + 3 * DAY
    result = svc.meters.registry.import_meters([m.with_changes(unit="A-102")], by="admin")
    assert (result.added, result.updated, [mv.at for mv in result.moved]) == (0, 1, [clock.now])
    assert [(a.unit, a.from_ts, a.until_ts) for a in svc.meters.registry.history("w-1")] == [
        ("A-101", None, clock.now), ("A-102", clock.now, None)]


def test_vacant_use_counts_only_since_the_vacant_unit_has_the_meter(svc, clock) -> None:
    add_unit(svc, "A-101")
    add_unit(svc, "A-102", vacant=True)
    m = add_meter(svc, "w-1", "A-101")
    fill_hourly(svc, "w-1", T0, 24, 10.0, 0.01)              # 0.24 m³ over the day in A-101
    clock.now = T0 + 24 * H
    svc.meters.registry.save(m.with_changes(unit="A-102"), by="admin", create=False,
                             effective_at=T0 + 23 * H)       # vacant unit: 0.01 m³ since
    assert [a for a in svc.meters.watch.check(clock.now) if a.kind == VACANT_USE] == []


def test_vacant_use_after_the_move_still_raises_the_alarm_for_the_new_unit(svc, clock) -> None:
    add_unit(svc, "A-101")
    add_unit(svc, "A-102", vacant=True)
    m = add_meter(svc, "w-1", "A-101")
    fill_hourly(svc, "w-1", T0, 24, 10.0, 0.01)
    clock.now = T0 + 24 * H
    svc.meters.registry.save(m.with_changes(unit="A-102"), by="admin", create=False,
                             effective_at=T0 + 12 * H)       # 0.12 m³ since: above 0.02
    (alarm,) = [a for a in svc.meters.watch.check(clock.now) if a.kind == VACANT_USE]
    assert alarm.data["unit"] == "A-102" and alarm.data["amount"] == pytest.approx(0.12)
