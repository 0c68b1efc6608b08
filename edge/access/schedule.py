"""Weekly access schedules with holidays, at minute resolution, in the site's time zone.

A :class:`WeeklySchedule` lists, for each weekday, the intervals during which a credential opens
doors, plus the intervals that apply instead on holidays (dates). Rules:

- an interval ``"08:00-18:00"`` covers 08:00 up to, not including, 18:00 local time; ``"24:00"``
  (or ``"00:00"`` as an end) is the end of the day; several intervals per day may overlap;
- an interval whose end is not after its start (``"22:00-06:00"``) runs overnight: it covers
  22:00-24:00 on its own day and 00:00-06:00 on the next, whatever kind of day the next one is
  (the interval belongs to the day it starts on);
- on a date listed in ``holidays``, the holiday intervals replace that weekday's intervals
  (an empty holiday list means: closed all holiday);
- times are local wall-clock times in the schedule's IANA zone (``zoneinfo``): an instant is
  converted to local time and looked up, so DST changes need nothing special. On a spring-forward
  day the skipped hour never happens; on a fall-back day the repeated hour is in the schedule
  both times.

JSON form (inside the ``credentials`` snapshot, see :mod:`edge.access.credentials`)::

    {"week": {"mon": ["08:00-18:00"], "sat": ["09:00-12:00", "14:00-17:00"]},
     "holiday": ["10:00-12:00"], "holidays": ["2025-10-01"], "timezone": "Asia/Shanghai"}

Weekdays not listed have no intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge.access.errors import CredentialDataError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
_HOLIDAY = 7   # index of the holiday day type


def load_zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name; :class:`CredentialDataError` if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise CredentialDataError(f"unknown time zone {name!r}") from exc


def _parse_hhmm(text: str, *, allow_24: bool) -> int:
    hh, sep, mm = text.strip().partition(":")
    if not sep or not (hh.isdigit() and mm.isdigit() and len(mm) == 2 and 1 <= len(hh) <= 2):
        raise CredentialDataError(f"time {text!r} is not HH:MM")
    h, m = int(hh), int(mm)
    if m > 59 or h > 24 or (h == 24 and (m or not allow_24)):
        raise CredentialDataError(f"time {text!r} is out of range")
    return h * 60 + m


@dataclass(frozen=True)
class Interval:
    """A daily interval in minutes after local midnight: ``start`` 0-1439, ``end`` 1-1440.
    ``end <= start`` means it runs overnight into the next day."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < MINUTES_PER_DAY or not 0 < self.end <= MINUTES_PER_DAY:
            raise CredentialDataError(f"interval {self.start}-{self.end}: minutes out of range")
        if self.start == self.end:
            raise CredentialDataError(f"interval {self}: empty (start equals end); "
                                      "use 00:00-24:00 for a whole day")

    @property
    def overnight(self) -> bool:
        """True if the interval runs past midnight."""
        return self.end <= self.start

    @classmethod
    def parse(cls, text: str) -> "Interval":
        """``"HH:MM-HH:MM"`` (e.g. ``"08:00-18:00"``, ``"22:00-06:00"``, ``"00:00-24:00"``)."""
        if not isinstance(text, str) or text.count("-") != 1:
            raise CredentialDataError(f"interval {text!r} is not 'HH:MM-HH:MM'")
        a, b = text.split("-")
        end = _parse_hhmm(b, allow_24=True)
        return cls(_parse_hhmm(a, allow_24=False), end or MINUTES_PER_DAY)  # "-00:00" = midnight

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


def _as_intervals(items: Iterable[Interval | str]) -> tuple[Interval, ...]:
    if isinstance(items, (str, bytes)):
        raise CredentialDataError("intervals must be a list, not a single string")
    return tuple(i if isinstance(i, Interval) else Interval.parse(i) for i in items)


def _as_date(d: date | str) -> date:
    if isinstance(d, datetime):
        raise CredentialDataError(f"holiday {d!r}: give a date, not a datetime")
    if isinstance(d, date):
        return d
    try:
        return date.fromisoformat(d)
    except (TypeError, ValueError):
        raise CredentialDataError(f"holiday {d!r} is not a YYYY-MM-DD date") from None


class WeeklySchedule:
    """When a credential may open doors, week by week.

    - ``schedule_id``: the id credentials refer to;
    - ``week``: weekday (0 = Monday ... 6 = Sunday, or ``"mon"`` ... ``"sun"``) -> intervals
      (:class:`Interval` or ``"HH:MM-HH:MM"`` strings); missing days have none;
    - ``holiday``: the intervals that apply on holidays instead of the weekday's (default none);
    - ``holidays``: the dates (``date`` or ``"YYYY-MM-DD"``) that are holidays;
    - ``timezone``: IANA zone name or ``ZoneInfo`` (default ``"UTC"``): the site's local time.

    Immutable; :meth:`allows` is a couple of bit tests after the local-time conversion.
    Raises :class:`CredentialDataError` for bad intervals, dates or zone.
    """

    def __init__(self, schedule_id: str, *, week: Mapping[int | str, Sequence[Interval | str]],
                 holiday: Sequence[Interval | str] = (), holidays: Iterable[date | str] = (),
                 timezone: str | ZoneInfo = "UTC") -> None:
        self.schedule_id = schedule_id
        self.tz = timezone if isinstance(timezone, ZoneInfo) else load_zone(timezone)
        days: list[tuple[Interval, ...]] = [()] * 8
        for key, items in week.items():
            index = DAY_NAMES.index(key) if isinstance(key, str) and key in DAY_NAMES else key
            if not isinstance(index, int) or not 0 <= index <= 6:
                raise CredentialDataError(f"schedule {schedule_id}: unknown weekday {key!r}")
            days[index] = _as_intervals(items)
        days[_HOLIDAY] = _as_intervals(holiday)
        self.days: tuple[tuple[Interval, ...], ...] = tuple(days)
        self.holidays: frozenset[date] = frozenset(_as_date(d) for d in holidays)
        # per day type: minutes covered on the day itself, and minutes of the next day covered
        # by its overnight intervals, as 1440-bit masks
        self._same: list[int] = []
        self._spill: list[int] = []
        for intervals in self.days:
            same = spill = 0
            for iv in intervals:
                if iv.overnight:
                    same |= ((1 << (MINUTES_PER_DAY - iv.start)) - 1) << iv.start
                    spill |= (1 << iv.end) - 1
                else:
                    same |= ((1 << (iv.end - iv.start)) - 1) << iv.start
            self._same.append(same)
            self._spill.append(spill)

    def _day_type(self, d: date) -> int:
        return _HOLIDAY if d in self.holidays else d.weekday()

    def local(self, at: datetime | int | float) -> datetime:
        """``at`` (an aware datetime, or UTC milliseconds) in the schedule's local time."""
        if isinstance(at, datetime):
            if at.tzinfo is None:
                raise CredentialDataError("schedule: naive datetime; give an aware one or UTC ms")
            return at.astimezone(self.tz)
        return datetime.fromtimestamp(at / 1000, tz=timezone.utc).astimezone(self.tz)

    def allows(self, at: datetime | int | float) -> bool:
        """True if ``at`` (an aware datetime, or UTC milliseconds) falls in the schedule."""
        local = self.local(at)
        minute = local.hour * 60 + local.minute
        today = local.date()
        if (self._same[self._day_type(today)] >> minute) & 1:
            return True
        return bool((self._spill[self._day_type(today - timedelta(days=1))] >> minute) & 1)

    # -- JSON ------------------------------------------------------------------------------------

    @classmethod
    def from_json_obj(cls, schedule_id: str, obj: Mapping[str, Any], *,
                      default_timezone: str = "UTC",
                      site_holidays: Iterable[date | str] = ()) -> "WeeklySchedule":
        """Build from the snapshot's JSON form (module docstring); ``site_holidays`` are added to
        the schedule's own ``holidays``; ``timezone`` defaults to ``default_timezone``."""
        if not isinstance(obj, Mapping):
            raise CredentialDataError(f"schedule {schedule_id}: must be an object")
        unknown = set(obj) - {"week", "holiday", "holidays", "timezone"}
        if unknown:
            raise CredentialDataError(f"schedule {schedule_id}: unknown fields {sorted(unknown)}")
        week = obj.get("week", {})
        if not isinstance(week, Mapping):
            raise CredentialDataError(f"schedule {schedule_id}: 'week' must be an object")
        own = obj.get("holidays", [])
        if not isinstance(own, list):
            raise CredentialDataError(f"schedule {schedule_id}: 'holidays' must be a list")
        try:
            return cls(schedule_id, week=week, holiday=obj.get("holiday", []),
                       holidays=[*site_holidays, *own],
                       timezone=obj.get("timezone", default_timezone))
        except CredentialDataError as exc:
            raise CredentialDataError(f"schedule {schedule_id}: {exc}") from None

    def to_json_obj(self) -> dict[str, Any]:
        """The JSON form (all holidays listed in the schedule itself)."""
        return {"week": {DAY_NAMES[i]: [str(iv) for iv in self.days[i]]
                         for i in range(7) if self.days[i]},
                "holiday": [str(iv) for iv in self.days[_HOLIDAY]],
                "holidays": sorted(d.isoformat() for d in self.holidays),
                "timezone": self.tz.key}

    def __repr__(self) -> str:
        return f"<WeeklySchedule {self.schedule_id} tz={self.tz.key}>"
