"""Billing periods (抄表周期): "the 3rd to the 3rd" by default, in the site's time zone.

A period is named by the month it starts in (``"2026-01"``) and runs from ``day`` of that month
at 00:00 local time to ``day`` of the next month at 00:00, so the run on the 3rd of February
counts 3 January 00:00 → 3 February 00:00.  ``day`` is 1..28 (every month has it).
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = ["Period", "period_of", "period_named", "recent_periods", "day_starts", "PERIOD_RE"]

PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """``name`` (``YYYY-MM``), ``start`` / ``end`` (UTC ms, end excluded), ``start_local`` /
    ``end_local`` (dates as the clerk reads them)."""

    name: str
    start: int
    end: int
    start_local: datetime
    end_local: datetime


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def period_named(name: str, *, day: int = 3, tz: str = "Asia/Shanghai") -> Period:
    """The period ``YYYY-MM``; ``ValueError`` for a malformed name or day."""
    m = PERIOD_RE.match(name or "")
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1970 < int(m.group(1)) < 2200:
        raise ValueError(f"a period is YYYY-MM, got {name!r}")
    if not 1 <= day <= 28:
        raise ValueError(f"the statement day is 1..28, got {day}")
    zone = zoneinfo.ZoneInfo(tz)
    y, mo = int(m.group(1)), int(m.group(2))
    ny, nm = _next_month(y, mo)
    a = datetime(y, mo, day, tzinfo=zone)
    b = datetime(ny, nm, day, tzinfo=zone)
    return Period(f"{y:04d}-{mo:02d}", _ms(a), _ms(b), a, b)


def period_of(ts_ms: int, *, day: int = 3, tz: str = "Asia/Shanghai") -> Period:
    """The period that contains ``ts_ms``."""
    local = datetime.fromtimestamp(ts_ms / 1000, timezone.utc).astimezone(zoneinfo.ZoneInfo(tz))
    y, mo = local.year, local.month
    if local.day < day:
        y, mo = (y - 1, 12) if mo == 1 else (y, mo - 1)
    return period_named(f"{y:04d}-{mo:02d}", day=day, tz=tz)


def recent_periods(ts_ms: int, count: int, *, day: int = 3, tz: str = "Asia/Shanghai") -> list[Period]:
    """The ``count`` periods ending with the one containing ``ts_ms``, oldest first."""
    out = [period_of(ts_ms, day=day, tz=tz)]
    while len(out) < count:
        out.append(period_of(out[-1].start - 1, day=day, tz=tz))
    return out[::-1]


def day_starts(period: Period, *, tz: str = "Asia/Shanghai") -> list[int]:
    """Local midnights from the period's start to its end, both included (UTC ms)."""
    zone = zoneinfo.ZoneInfo(tz)
    out, d = [], period.start_local.date()
    while True:
        ms = _ms(datetime(d.year, d.month, d.day, tzinfo=zone))
        out.append(ms)
        if ms >= period.end:
            return out
        d += timedelta(days=1)
