"""Calendar days of the site's time zone as UTC ms (a pass is valid "today" at the desk's
clock, whatever the server's zone)."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta, timezone

__all__ = ["day_start", "day_last_minute", "parse_day", "format_day", "today"]


def today(now_ms: int, tz: zoneinfo.ZoneInfo) -> date:
    """The site's calendar day at ``now_ms``."""
    return datetime.fromtimestamp(now_ms / 1000, tz=timezone.utc).astimezone(tz).date()


def day_start(day: date, tz: zoneinfo.ZoneInfo) -> int:
    """00:00 of ``day`` in ``tz`` as UTC ms."""
    return int(datetime.combine(day, time(0, 0), tzinfo=tz).timestamp() * 1000)


def day_last_minute(day: date, tz: zoneinfo.ZoneInfo) -> int:
    """23:59 of ``day`` in ``tz`` as UTC ms (a pass's last valid minute that day)."""
    return day_start(day + timedelta(days=1), tz) - 60_000


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` -> date; ValueError otherwise."""
    return datetime.strptime(text.strip()[:10], "%Y-%m-%d").date()


def format_day(day: date) -> str:
    return day.strftime("%Y-%m-%d")
