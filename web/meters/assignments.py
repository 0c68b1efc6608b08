"""Which unit had a meter when (抄表归属历史): the assignment history of the meter registry.

A meter changes unit (an owner's meter re-labelled, a registry mistake corrected) from an
*effective* time: every reading before it belongs to the old unit, every reading from it on to
the new one.  Each assignment is a row ``(meter, unit, from, until, by)``; ``from`` is NULL for
a meter's first unit (it has the meter since its first reading), ``until`` NULL for the unit
that has it now.  A meter registered before this history existed has no row at all until its
first change; a meter with no closed row was never moved, and every per-unit view treats it
exactly as the registry says (one unit for all time).

The rows are written by :class:`web.meters.registry.MeterRegistry` inside its own transactions;
this module keeps the SQL and the rules: an effective time is not in the future and not before
the meter's previous change (equal is allowed: correcting a change made to the wrong unit).
Times are UTC ms.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from ..db import register_schema

__all__ = ["Assignment", "Window", "FOREVER", "MoveRefused", "record_first", "record_move",
           "history_of", "moved_meters", "windows_of", "unit_windows", "current_since",
           "forget", "clip"]

register_schema("meter_assignments", """
CREATE TABLE IF NOT EXISTS meter_assignments (
    id          INTEGER PRIMARY KEY,
    meter_id    TEXT    NOT NULL,
    unit        TEXT    NOT NULL,
    from_ts     INTEGER,                 -- effective from, UTC ms (NULL: since its first reading)
    until_ts    INTEGER,                 -- up to (excluded), UTC ms (NULL: the unit has it now)
    by          TEXT    NOT NULL,        -- who assigned it ('' for a meter registered before)
    recorded_at INTEGER NOT NULL         -- console clock, UTC ms
);
CREATE INDEX IF NOT EXISTS meter_assignments_meter ON meter_assignments(meter_id, id);
CREATE INDEX IF NOT EXISTS meter_assignments_unit ON meter_assignments(unit, meter_id);
CREATE INDEX IF NOT EXISTS meter_assignments_moved ON meter_assignments(meter_id)
    WHERE until_ts IS NOT NULL;
""")

#: A time after every reading (an open-ended window's end), UTC ms.
FOREVER = 2**62
#: ``(start, end)``: UTC ms, end excluded.
Window = tuple[int, int]

_COLS = "meter_id, unit, from_ts, until_ts, by, recorded_at"


@dataclass(frozen=True)
class Assignment:
    """One stretch of a meter in a unit: ``from_ts`` (None: since its first reading),
    ``until_ts`` (None: still there), ``by`` who assigned it, ``recorded_at`` when."""

    meter_id: str
    unit: str
    from_ts: int | None
    until_ts: int | None
    by: str
    recorded_at: int

    @property
    def window(self) -> Window:
        return (self.from_ts if self.from_ts is not None else -FOREVER,
                self.until_ts if self.until_ts is not None else FOREVER)

    @property
    def current(self) -> bool:
        return self.until_ts is None


class MoveRefused(ValueError):
    """The effective time of a unit change is refused: ``code`` is ``effective_future`` or
    ``effective_before_previous`` (then ``previous`` is the previous change, UTC ms);
    ``field``: the form / store field it is about."""

    field = "effective_at"

    def __init__(self, code: str, previous: int | None = None) -> None:
        super().__init__(f"{self.field}: {code}")
        self.code = code
        self.previous = previous


def _row(r: Sequence[object]) -> Assignment:
    return Assignment(str(r[0]), str(r[1]), r[2], r[3], str(r[4]), int(r[5]))  # type: ignore[arg-type]


def record_first(c: sqlite3.Connection, meter_id: str, unit: str, *, by: str, now: int) -> None:
    """A new meter's first unit (any history of a meter with that id is forgotten first)."""
    forget(c, meter_id)
    c.execute(f"INSERT INTO meter_assignments ({_COLS}) VALUES (?, ?, NULL, NULL, ?, ?)",
              (meter_id, unit, by, now))


def check_effective(c: sqlite3.Connection, meter_id: str, at: int, *, now: int) -> None:
    """:class:`MoveRefused` unless ``at`` may be the effective time of the meter's next change."""
    if at > now:
        raise MoveRefused("effective_future")
    r = c.execute("SELECT from_ts FROM meter_assignments WHERE meter_id = ? AND until_ts IS NULL "
                  "ORDER BY id DESC LIMIT 1", (meter_id,)).fetchone()
    if r is not None and r[0] is not None and at < r[0]:
        raise MoveRefused("effective_before_previous", previous=r[0])


def record_move(c: sqlite3.Connection, meter_id: str, old_unit: str, new_unit: str, *, at: int,
                by: str, now: int) -> None:
    """Close the meter's assignment to ``old_unit`` at ``at`` and open one to ``new_unit``
    (:class:`MoveRefused` for an effective time in the future or before the previous change).
    A meter registered before the history existed gets its first row (``by`` '') here."""
    check_effective(c, meter_id, at, now=now)
    updated = c.execute("UPDATE meter_assignments SET until_ts = ? WHERE meter_id = ? AND "
                        "until_ts IS NULL", (at, meter_id)).rowcount
    if updated == 0:
        c.execute(f"INSERT INTO meter_assignments ({_COLS}) VALUES (?, ?, NULL, ?, '', ?)",
                  (meter_id, old_unit, at, now))
    c.execute(f"INSERT INTO meter_assignments ({_COLS}) VALUES (?, ?, ?, NULL, ?, ?)",
              (meter_id, new_unit, at, by, now))


def forget(c: sqlite3.Connection, meter_id: str) -> None:
    """Drop the meter's history (it left the registry)."""
    c.execute("DELETE FROM meter_assignments WHERE meter_id = ?", (meter_id,))


def history_of(c: sqlite3.Connection, meter_id: str) -> list[Assignment]:
    """The meter's assignments, oldest first."""
    return [_row(r) for r in c.execute(
        f"SELECT {_COLS} FROM meter_assignments WHERE meter_id = ? ORDER BY id", (meter_id,))]


def moved_meters(c: sqlite3.Connection) -> dict[str, list[Assignment]]:
    """Every assignment of the meters that ever changed unit, by meter, oldest first (a meter
    not in it has had its registry unit all along)."""
    out: dict[str, list[Assignment]] = {}
    for r in c.execute(f"SELECT {_COLS} FROM meter_assignments WHERE meter_id IN "
                       "(SELECT meter_id FROM meter_assignments WHERE until_ts IS NOT NULL) "
                       "ORDER BY meter_id, id"):
        a = _row(r)
        out.setdefault(a.meter_id, []).append(a)
    return out


def windows_of(assignments: Iterable[Assignment], unit: str) -> list[Window]:
    """When ``unit`` had the meter, from its ``assignments`` (empty stretches left out)."""
    return [a.window for a in assignments if a.unit == unit and a.window[0] < a.window[1]]


def unit_windows(c: sqlite3.Connection, unit: str) -> dict[str, list[Window]]:
    """``{meter: windows}`` of the meters ``unit`` had at some time per the history (meters
    never moved have no rows to find: the caller adds the registry's)."""
    out: dict[str, list[Window]] = {}
    for r in c.execute(f"SELECT {_COLS} FROM meter_assignments WHERE unit = ? ORDER BY meter_id, id",
                       (unit,)):
        a = _row(r)
        if a.window[0] < a.window[1]:
            out.setdefault(a.meter_id, []).append(a.window)
    return out


def current_since(c: sqlite3.Connection) -> Mapping[str, int]:
    """``{meter: effective time}`` of the meters whose unit changed: since when the unit that
    has it now has it."""
    return {r[0]: r[1] for r in c.execute(
        "SELECT meter_id, from_ts FROM meter_assignments WHERE until_ts IS NULL AND from_ts IS "
        "NOT NULL")}


def clip(windows: Sequence[Window], start: int, end: int) -> list[Window]:
    """The parts of ``[start, end)`` inside ``windows`` (non-empty, in order)."""
    out = []
    for a, b in windows:
        lo, hi = max(a, start), min(b, end)
        if lo < hi:
            out.append((lo, hi))
    return sorted(out)
