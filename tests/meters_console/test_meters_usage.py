"""Consumption arithmetic (web.meters.usage / periods): pure functions on fixed readings."""

from __future__ import annotations

import pytest

from web.meters.periods import day_starts, period_named, period_of, recent_periods
from web.meters.usage import HOUR_MS, Reading, assign_segments, boundary_value, usage_from_readings

H = HOUR_MS
T = 1_767_369_600_000  # 2026-01-02 16:00 UTC = 2026-01-03 00:00 Asia/Shanghai


def hourly(start: int, hours: int, first: float, per_hour: float) -> list[Reading]:
    return [Reading(start + i * H, first + i * per_hour) for i in range(hours + 1)]


def test_usage_is_end_minus_start_when_readings_fall_on_the_boundaries() -> None:
    u = usage_from_readings(hourly(T, 48, 100.0, 0.5), T, T + 24 * H)
    assert u.amount == pytest.approx(12.0)
    assert not u.estimated and u.gaps == () and u.resets == 0


def test_a_boundary_between_two_close_readings_is_interpolated_not_estimated() -> None:
    rs = [Reading(T - 10 * 60_000, 100.0), Reading(T + 50 * 60_000, 106.0),
          Reading(T + 24 * H, 130.0)]
    u = usage_from_readings(rs, T, T + 24 * H)
    assert u.start.value_out == pytest.approx(101.0)
    assert u.amount == pytest.approx(29.0)
    assert not u.start.estimated


def test_a_missing_boundary_reading_is_interpolated_and_marked_estimated() -> None:
    rs = [Reading(T - 5 * H, 100.0), Reading(T + 5 * H, 110.0), Reading(T + 24 * H, 120.0)]
    u = usage_from_readings(rs, T, T + 24 * H)
    assert u.start.value_out == pytest.approx(105.0)
    assert u.start.source == "interpolated" and u.start.estimated
    assert u.amount == pytest.approx(15.0)
    assert u.estimated and not u.end.estimated


def test_a_gap_inside_the_period_is_marked_but_the_total_still_counts() -> None:
    rs = hourly(T, 5, 0.0, 1.0) + hourly(T + 15 * H, 9, 20.0, 1.0)
    u = usage_from_readings(rs, T, T + 24 * H)
    assert [(g.start, g.end) for g in u.gaps] == [(T + 5 * H, T + 15 * H)]
    assert u.amount == pytest.approx(29.0)


def test_a_meter_silent_until_the_period_end_has_an_open_gap_and_an_estimated_end() -> None:
    rs = hourly(T, 10, 0.0, 1.0)
    u = usage_from_readings(rs, T, T + 24 * H)
    assert u.end.source == "last_known" and u.end.estimated
    assert [(g.start, g.end) for g in u.gaps] == [(T + 10 * H, T + 24 * H)]
    assert u.amount == pytest.approx(10.0)


def test_a_reset_inside_the_period_sums_the_segments_and_is_never_negative() -> None:
    rs = hourly(T, 10, 500.0, 2.0) + [Reading(T + 11 * H, 0.0, reset=True)] + \
        hourly(T + 12 * H, 12, 1.0, 1.0)
    u = usage_from_readings(rs, T, T + 24 * H)
    # 20 before the reset, 0 -> 13 after it; the hour across the reset is not known
    assert u.amount == pytest.approx(20.0 + 13.0)
    assert u.resets == 1


def test_a_total_going_backwards_without_a_reset_flag_starts_a_new_segment() -> None:
    segs = assign_segments([Reading(1, 10.0), Reading(2, 12.0), Reading(3, 3.0), Reading(4, 4.0)])
    assert [r.segment for r in segs] == [0, 0, 1, 1]
    u = usage_from_readings([Reading(T, 10.0), Reading(T + H, 12.0), Reading(T + 2 * H, 3.0),
                             Reading(T + 3 * H, 4.0)], T, T + 3 * H)
    assert u.amount == pytest.approx(3.0) and u.resets == 1


def test_two_resets_in_one_period_add_three_segments() -> None:
    rs = [Reading(T, 50.0), Reading(T + H, 55.0), Reading(T + 2 * H, 1.0), Reading(T + 3 * H, 4.0),
          Reading(T + 4 * H, 2.0), Reading(T + 5 * H, 9.0)]
    u = usage_from_readings(rs, T, T + 5 * H)
    assert u.amount == pytest.approx(5.0 + 3.0 + 7.0) and u.resets == 2


def test_a_reset_right_at_the_boundary_splits_between_the_two_periods() -> None:
    rs = [Reading(T - 2 * H, 90.0), Reading(T - H, 100.0), Reading(T + H, 0.5, reset=True),
          Reading(T + 24 * H, 10.5)]
    before = usage_from_readings(rs, T - 2 * H, T)
    after = usage_from_readings(rs, T, T + 24 * H)
    assert before.amount == pytest.approx(10.0) and before.resets == 0
    assert after.amount == pytest.approx(10.0) and after.resets == 1
    assert after.start.source == "reset"


def test_no_reading_at_all_is_no_data() -> None:
    assert usage_from_readings([], T, T + H).no_data


def test_a_period_before_the_first_reading_is_no_data() -> None:
    u = usage_from_readings(hourly(T + 30 * H, 3, 0.0, 1.0), T, T + 24 * H)
    assert u.no_data


def test_a_meter_installed_mid_period_counts_from_its_first_reading() -> None:
    u = usage_from_readings(hourly(T + 10 * H, 20, 7.0, 1.0), T, T + 24 * H)
    assert u.amount == pytest.approx(14.0)
    assert u.start.source == "first_known" and u.start.estimated


def test_boundary_with_readings_on_one_side_only_uses_that_value() -> None:
    b = boundary_value(Reading(T - 30 * 60_000, 5.0), None, T, tolerance_ms=H)
    assert b.value_in == 5.0 and not b.estimated and b.source == "last_known"


def test_statement_across_the_year_end_uses_the_3rd_to_the_3rd_in_local_time() -> None:
    p = period_named("2025-12", day=3, tz="Asia/Shanghai")
    assert p.start_local.isoformat() == "2025-12-03T00:00:00+08:00"
    assert p.end_local.isoformat() == "2026-01-03T00:00:00+08:00"
    assert p.end == T
    # hourly readings over 40 days, 0.25 per hour: 31 days of December period
    rs = hourly(p.start - 5 * 24 * H, 40 * 24, 1000.0, 0.25)
    assert usage_from_readings(rs, p.start, p.end).amount == pytest.approx(31 * 24 * 0.25)


def test_february_period_is_28_days_and_the_statement_day_is_configurable() -> None:
    p = period_named("2026-02", day=3)
    assert (p.end - p.start) == 28 * 24 * H
    p1 = period_named("2026-02", day=1, tz="UTC")
    assert p1.start_local.day == 1 and p1.end_local.month == 3


def test_period_of_a_time_before_the_statement_day_is_the_previous_month() -> None:
    assert period_of(T - 1, day=3).name == "2025-12"
    assert period_of(T, day=3).name == "2026-01"
    assert [p.name for p in recent_periods(T, 3)] == ["2025-11", "2025-12", "2026-01"]


def test_day_starts_cover_the_period_with_both_ends() -> None:
    p = period_named("2026-01")
    days = day_starts(p)
    assert days[0] == p.start and days[-1] == p.end and len(days) == 32


def test_a_bad_period_name_is_refused() -> None:
    with pytest.raises(ValueError):
        period_named("2026-13")
    with pytest.raises(ValueError):
        period_named("2026-01", day=29)
