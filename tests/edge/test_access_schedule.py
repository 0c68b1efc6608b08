"""WeeklySchedule: interval edges, overnight intervals, holidays, local time through zoneinfo."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from edge.access import CredentialDataError, Interval, WeeklySchedule

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")

# 2025-06-02 is a Monday
MON, FRI, SAT, SUN = date(2025, 6, 2), date(2025, 6, 6), date(2025, 6, 7), date(2025, 6, 8)


def at(d: date, hhmm: str, tz: ZoneInfo = SH, second: int = 0) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(d.year, d.month, d.day, h, m, second, tzinfo=tz)


def office(**kw) -> WeeklySchedule:
    week = {d: ["08:00-12:00", "13:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    return WeeklySchedule("office", week=week, timezone="Asia/Shanghai", **kw)


def test_interval_start_is_inside_end_is_outside() -> None:
    s = office()
    assert not s.allows(at(MON, "07:59", second=59))
    assert s.allows(at(MON, "08:00"))
    assert s.allows(at(MON, "11:59", second=59))
    assert not s.allows(at(MON, "12:00"))


def test_several_intervals_per_day() -> None:
    s = office()
    assert [s.allows(at(MON, t)) for t in ("10:00", "12:30", "13:00", "17:59", "18:00")] == \
        [True, False, True, True, False]


def test_days_without_intervals_are_closed() -> None:
    assert not office().allows(at(SAT, "10:00"))


def test_whole_day_interval_and_midnight_end() -> None:
    s = WeeklySchedule("x", week={"sun": ["00:00-24:00"], "sat": ["20:00-00:00"]})
    assert s.allows(at(SUN, "00:00", timezone.utc)) and s.allows(at(SUN, "23:59", timezone.utc))
    assert s.allows(at(SAT, "23:59", timezone.utc))
    assert not s.allows(at(SAT, "19:59", timezone.utc))
    assert not s.allows(at(MON, "00:00", timezone.utc))   # Sunday's 24:00 is not Monday


def test_overnight_interval_covers_the_next_morning() -> None:
    s = WeeklySchedule("night", week={"fri": ["22:00-06:00"]}, timezone=SH)
    assert not s.allows(at(FRI, "21:59"))
    assert s.allows(at(FRI, "22:00"))
    assert s.allows(at(SAT, "00:00"))
    assert s.allows(at(SAT, "05:59"))
    assert not s.allows(at(SAT, "06:00"))
    assert not s.allows(at(SAT, "22:00"))   # Saturday has no interval of its own


def test_overnight_interval_belongs_to_the_day_it_starts_on_even_into_a_holiday() -> None:
    s = WeeklySchedule("night", week={"fri": ["22:00-06:00"]}, holidays=[SAT], timezone=SH)
    assert s.allows(at(SAT, "05:00"))


def test_overnight_interval_does_not_start_on_a_holiday() -> None:
    s = WeeklySchedule("night", week={"fri": ["22:00-06:00"]}, holidays=[FRI], timezone=SH)
    assert not s.allows(at(FRI, "23:00"))
    assert not s.allows(at(SAT, "01:00"))


def test_holiday_replaces_the_weekday_intervals() -> None:
    s = office(holiday=["10:00-12:00"], holidays=["2025-06-02"])
    assert not s.allows(at(MON, "08:30"))
    assert s.allows(at(MON, "10:00"))
    assert not s.allows(at(MON, "14:00"))
    assert s.allows(at(date(2025, 6, 3), "08:30"))   # the Tuesday is a normal day


def test_holiday_without_intervals_is_closed_all_day() -> None:
    s = office(holidays=[MON])
    assert not any(s.allows(at(MON, f"{h:02d}:00")) for h in range(24))


def test_local_time_is_the_schedule_zone_not_utc() -> None:
    s = office()
    # 00:30 UTC on Monday is 08:30 in Shanghai (UTC+8): open; 08:30 in UTC would be too
    assert s.allows(datetime(2025, 6, 2, 0, 30, tzinfo=timezone.utc))
    # 10:30 UTC is 18:30 in Shanghai: closed, although 10:30 is inside 08:00-12:00
    assert not s.allows(datetime(2025, 6, 2, 10, 30, tzinfo=timezone.utc))
    # 23:59 UTC on Sunday is 07:59 on Monday in Shanghai: closed; 00:00 UTC is 08:00: open
    assert not s.allows(datetime(2025, 6, 1, 23, 59, tzinfo=timezone.utc))
    assert s.allows(datetime(2025, 6, 2, 0, 0, tzinfo=timezone.utc))


def test_accepts_utc_milliseconds() -> None:
    s = office()
    ms = int(at(MON, "09:00").timestamp() * 1000)
    assert s.allows(ms)
    assert not s.allows(ms + 3 * 3600 * 1000)   # 12:00


def test_spring_forward_uses_wall_clock_time() -> None:
    # 2025-03-09 in New York: 02:00 EST jumps to 03:00 EDT
    s = WeeklySchedule("morning", week={"sun": ["08:00-09:00"]}, timezone=NY)
    eight_thirty = datetime(2025, 3, 9, 12, 30, tzinfo=timezone.utc)   # 08:30 EDT (UTC-4)
    assert s.allows(eight_thirty)
    assert not s.allows(eight_thirty + timedelta(hours=1))              # 09:30 EDT
    # the same UTC time a day earlier was 07:30 EST: outside, and Saturday anyway
    assert not s.allows(datetime(2025, 3, 8, 13, 30, tzinfo=timezone.utc))


def test_interval_across_the_skipped_hour() -> None:
    s = WeeklySchedule("night", week={"sat": ["23:00-03:30"]}, timezone=NY)
    # 03:10 EDT on Sunday = 07:10 UTC; 03:40 EDT = 07:40 UTC
    assert s.allows(datetime(2025, 3, 9, 7, 10, tzinfo=timezone.utc))
    assert not s.allows(datetime(2025, 3, 9, 7, 40, tzinfo=timezone.utc))


def test_fall_back_repeated_hour_is_inside_both_times() -> None:
    # 2025-11-02 in New York: 01:00-02:00 happens twice (EDT, then EST)
    s = WeeklySchedule("late", week={"sun": ["01:00-02:00"]}, timezone=NY)
    first = datetime(2025, 11, 2, 5, 30, tzinfo=timezone.utc)    # 01:30 EDT
    second = datetime(2025, 11, 2, 6, 30, tzinfo=timezone.utc)   # 01:30 EST
    assert s.allows(first) and s.allows(second)
    assert not s.allows(datetime(2025, 11, 2, 7, 30, tzinfo=timezone.utc))   # 02:30 EST


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(CredentialDataError):
        office().allows(datetime(2025, 6, 2, 9, 0))


@pytest.mark.parametrize("text", ["8-18", "08:00", "25:00-26:00", "08:60-09:00", "09:00-09:00",
                                  "24:00-01:00", "08:00-24:30"])
def test_bad_intervals_are_refused(text: str) -> None:
    with pytest.raises(CredentialDataError):
        Interval.parse(text)


def test_interval_text_round_trips() -> None:
    assert str(Interval.parse("22:00-06:00")) == "22:00-06:00"
    assert Interval.parse("22:00-06:00").overnight
    assert str(Interval.parse("7:05-24:00")) == "07:05-24:00"


def test_unknown_zone_and_weekday_are_refused() -> None:
    with pytest.raises(CredentialDataError):
        WeeklySchedule("x", week={}, timezone="Mars/Olympus")
    with pytest.raises(CredentialDataError):
        WeeklySchedule("x", week={"funday": ["08:00-09:00"]})


def test_json_form_round_trips_and_merges_site_holidays() -> None:
    obj = {"week": {"mon": ["08:00-18:00"]}, "holiday": ["10:00-11:00"], "holidays": ["2025-06-03"]}
    s = WeeklySchedule.from_json_obj("office", obj, default_timezone="Asia/Shanghai",
                                     site_holidays=["2025-06-02"])
    assert s.holidays == {MON, date(2025, 6, 3)}
    assert s.tz.key == "Asia/Shanghai"
    again = WeeklySchedule.from_json_obj("office", s.to_json_obj())
    assert again.to_json_obj() == s.to_json_obj()


def test_json_with_unknown_fields_is_refused() -> None:
    with pytest.raises(CredentialDataError):
        WeeklySchedule.from_json_obj("x", {"week": {}, "holyday": []})
