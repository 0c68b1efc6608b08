"""Access schedules and holiday dates as the console keeps them, validated the way the node
loads them (``edge/access/schedule.py``; the console may not import the node's code, so the
rules are restated here and a test feeds the console's snapshot to the node's decider).

A schedule has an id (what a credential's ``schedule`` names), a description, for each weekday
the intervals in which it opens doors (``"08:00-12:00"``, minute resolution, several per day,
``"22:00-06:00"`` runs overnight into the next day, ``"00:00-24:00"`` is the whole day), and the
intervals that apply instead on a holiday (none: closed on holidays). Holidays are site-wide
dates, listed once and added to every schedule by the node.

Validation returns problem codes per field (turned into sentences by
:mod:`web.access.messages`) so a form shows them all at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

__all__ = ["DAYS", "AccessSchedule", "Holiday", "parse_intervals", "validate_schedule",
           "validate_holiday", "SCHEDULE_ID_RE", "MAX_INTERVALS", "MAX_DESCRIPTION"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The same pattern :func:`web.access.model.validate` accepts for a credential's schedule.
SCHEDULE_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Most intervals on one day; longest description / holiday name (characters).
MAX_INTERVALS = 12
MAX_DESCRIPTION = 100
_TIME_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_SPLIT_RE = re.compile(r"[\s,;，；、]+")
_DASHES = str.maketrans({"–": "-", "—": "-", "~": "-", "～": "-", "至": "-", "：": ":"})


def _minutes(text: str, *, end: bool) -> int | None:
    m = _TIME_RE.fullmatch(text)
    if not m:
        return None
    h, mi = int(m.group(1)), int(m.group(2))
    if mi > 59 or h > 24 or (h == 24 and (mi or not end)):
        return None
    return h * 60 + mi


def parse_intervals(text: str) -> tuple[tuple[str, ...], list[str]]:
    """The intervals typed in ``text`` (separated by spaces, commas, semicolons or new lines;
    ``8:00-12:00`` or ``08:00～12:00``), in canonical ``HH:MM-HH:MM`` form, and problem codes
    (``bad_interval``, ``empty_interval``, ``too_many``). An end of ``00:00`` means midnight
    (``24:00``); an end before the start runs overnight."""
    out: list[str] = []
    problems: list[str] = []
    items = [p for p in _SPLIT_RE.split((text or "").translate(_DASHES)) if p]
    if len(items) > MAX_INTERVALS:
        return (), ["too_many"]
    for item in items:
        a, sep, b = item.partition("-")
        start = _minutes(a, end=False)
        stop = _minutes(b, end=True) if sep else None
        if start is None or stop is None:
            problems.append("bad_interval")
            continue
        stop = stop or 24 * 60
        if stop == start:
            problems.append("empty_interval")
            continue
        canon = f"{start // 60:02d}:{start % 60:02d}-{stop // 60:02d}:{stop % 60:02d}"
        if canon not in out:
            out.append(canon)
    return tuple(out), sorted(set(problems))


@dataclass(frozen=True, kw_only=True, slots=True)
class AccessSchedule:
    """A named weekly schedule: ``schedule_id``; ``description``; ``week`` (weekday name
    ``"mon"``..``"sun"`` -> canonical intervals; a day left out has none); ``holiday`` (the
    intervals on holidays); ``updated_at`` (UTC ms) / ``updated_by``."""

    schedule_id: str
    description: str = ""
    week: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    holiday: tuple[str, ...] = ()
    updated_at: int = 0
    updated_by: str = ""

    def day(self, name: str) -> tuple[str, ...]:
        """The intervals of weekday ``name`` (``"mon"``...)."""
        return tuple(self.week.get(name, ()))

    def to_json_obj(self) -> dict[str, Any]:
        """The snapshot form the node reads (its ``timezone`` is the site's, its holidays the
        site's list, so neither is repeated here)."""
        return {"week": {d: list(self.week[d]) for d in DAYS if self.week.get(d)},
                "holiday": list(self.holiday)}


@dataclass(frozen=True, kw_only=True, slots=True)
class Holiday:
    """A site-wide holiday date (``day``, ISO ``YYYY-MM-DD``) with a ``name`` (国庆节...)."""

    day: str
    name: str = ""
    updated_at: int = 0
    updated_by: str = ""


def _text(values: Mapping[str, Any], name: str) -> str:
    return str(values.get(name) or "").strip()


def _free_text_problem(text: str) -> str | None:
    """``too_long`` (over :data:`MAX_DESCRIPTION`) or ``bad_text`` (a control character) for a
    description or a name; None if it is fine."""
    if len(text) > MAX_DESCRIPTION:
        return "too_long"
    if any(ord(ch) < 32 for ch in text):
        return "bad_text"
    return None


def validate_schedule(values: Mapping[str, Any]
                      ) -> tuple[AccessSchedule | None, dict[str, list[str]]]:
    """Build a schedule from ``values`` (``schedule_id``, ``description``, one text per weekday
    ``mon``..``sun`` and ``holiday``). Returns ``(schedule, {})`` or ``(None, {field: [codes]})``
    with codes ``required``, ``bad_schedule``, ``too_long``, ``bad_text`` and those of
    :func:`parse_intervals`."""
    errors: dict[str, list[str]] = {}
    sid = _text(values, "schedule_id")
    if not sid:
        errors["schedule_id"] = ["required"]
    elif not SCHEDULE_ID_RE.fullmatch(sid):
        errors["schedule_id"] = ["bad_schedule"]
    description = _text(values, "description")
    if problem := _free_text_problem(description):
        errors["description"] = [problem]
    week: dict[str, tuple[str, ...]] = {}
    holiday: tuple[str, ...] = ()
    for name in (*DAYS, "holiday"):
        intervals, problems = parse_intervals(_text(values, name))
        if problems:
            errors[name] = problems
        elif name == "holiday":
            holiday = intervals
        elif intervals:
            week[name] = intervals
    if errors:
        return None, errors
    return AccessSchedule(schedule_id=sid, description=description, week=week,
                          holiday=holiday), {}


def validate_holiday(values: Mapping[str, Any]) -> tuple[Holiday | None, dict[str, list[str]]]:
    """Build a holiday from ``values`` (``day`` as ``YYYY-MM-DD``, ``name``). Codes:
    ``required``, ``bad_date``, ``too_long``, ``bad_text``."""
    errors: dict[str, list[str]] = {}
    text = _text(values, "day")
    day = ""
    if not text:
        errors["day"] = ["required"]
    else:
        try:
            day = date.fromisoformat(text).isoformat() if len(text) == 10 else ""
        except ValueError:
            day = ""
        if not day:
            errors["day"] = ["bad_date"]
    name = _text(values, "name")
    if problem := _free_text_problem(name):
        errors["name"] = [problem]
    if errors:
        return None, errors
    return Holiday(day=day, name=name), {}
