"""Consumption arithmetic on cumulative meter totals — pure functions, no database.

A meter's billed register is a counter that only goes up.  Readings arrive at intervals and at
each hour; when the counter goes *backwards* (meter reset or replaced) a new **segment** starts.
Consumption over a period ``[start, end)`` is the rise of the counter inside each segment the
period touches, summed — never negative.  What happened between the last reading before a reset
and the first one after it is not known and is not counted (the row is marked ``resets``).

The value at a period boundary comes from the readings on either side of it:

- both sides in the same segment: linear interpolation (``interpolated``), *estimated* when
  the nearer of the two is more than ``tolerance_ms`` from the boundary;
- a reset between them: the period that ends there ends at the old segment's last reading, the
  period that begins there begins at the new segment's first reading;
- readings on one side only: that reading's value (the meter was not there yet, or has been
  silent since), estimated when more than ``tolerance_ms`` away;
- no reading at all: no value (the row says *no data*).

A **gap** is a stretch longer than ``gap_ms`` without a reading that overlaps the period; gaps do
not change the total (the counter kept counting) but the clerk sees them.

Times are UTC ms.  :func:`usage_from_readings` does it all from a list of readings (tests, the
reference); :class:`web.meters.store.ReadingStore` feeds :func:`period_usage` from SQL.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

__all__ = ["Reading", "Boundary", "Gap", "Usage", "assign_segments", "boundary_value",
           "period_usage", "usage_from_readings", "find_gaps", "combine_usages", "no_usage",
           "HOUR_MS", "DAY_MS"]

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class Reading:
    """A cumulative total read at ``ts`` (UTC ms).  ``segment``: counter run it belongs to
    (increases by one at each reset); ``reset``: the node said this reading follows a reset."""

    ts: int
    value: float
    segment: int = 0
    reset: bool = False


@dataclass(frozen=True, slots=True)
class Boundary:
    """The counter at a period boundary ``ts``.

    ``value_in`` / ``segment_in``: what a period *ending* here ends at; ``value_out`` /
    ``segment_out``: what a period *starting* here starts at (they differ only across a reset).
    ``source``: ``reading`` (a reading within the tolerance), ``interpolated``, ``last_known``
    (nothing after it), ``first_known`` (nothing before it), ``reset`` or ``none``."""

    ts: int
    value_in: float | None
    value_out: float | None
    segment_in: int | None
    segment_out: int | None
    estimated: bool
    source: str

    @property
    def value(self) -> float | None:
        return self.value_out


@dataclass(frozen=True, slots=True)
class Gap:
    """No reading from ``start`` to ``end`` (UTC ms)."""

    start: int
    end: int

    @property
    def hours(self) -> float:
        return (self.end - self.start) / HOUR_MS


@dataclass(frozen=True)
class Usage:
    """Consumption of one meter over ``[start.ts, end.ts)``.  ``amount``: None when there is no
    data; ``resets``: counter resets inside the period; ``estimated``: a boundary value was not
    read near the boundary."""

    start: Boundary
    end: Boundary
    amount: float | None
    resets: int = 0
    gaps: tuple[Gap, ...] = field(default=())

    @property
    def estimated(self) -> bool:
        return self.start.estimated or self.end.estimated

    @property
    def no_data(self) -> bool:
        return self.amount is None


def assign_segments(readings: Iterable[Reading], *, first_segment: int = 0) -> list[Reading]:
    """The readings in time order with ``segment`` set: a new segment starts at a reading
    flagged ``reset`` or lower than the one before it."""
    out: list[Reading] = []
    seg = first_segment
    prev: Reading | None = None
    for r in sorted(readings, key=lambda x: x.ts):
        if prev is not None and (r.reset or r.value < prev.value):
            seg += 1
        r = Reading(r.ts, r.value, seg, r.reset)
        out.append(r)
        prev = r
    return out


def boundary_value(before: Reading | None, after: Reading | None, at: int, *,
                   tolerance_ms: int = HOUR_MS) -> Boundary:
    """The counter at ``at`` from the last reading at or before it and the first at or after it
    (either may be None); see the module doc for the rules."""
    if before is None and after is None:
        return Boundary(at, None, None, None, None, True, "none")
    if before is None:
        assert after is not None
        return Boundary(at, after.value, after.value, after.segment, after.segment,
                        after.ts - at > tolerance_ms, "first_known")
    if after is None:
        return Boundary(at, before.value, before.value, before.segment, before.segment,
                        at - before.ts > tolerance_ms, "last_known")
    near = min(at - before.ts, after.ts - at)
    if before.segment != after.segment:
        return Boundary(at, before.value, after.value, before.segment, after.segment,
                        near > tolerance_ms, "reset")
    if after.ts == before.ts:
        value = before.value
    else:
        value = before.value + (after.value - before.value) * (at - before.ts) / (after.ts - before.ts)
    estimated = near > tolerance_ms
    return Boundary(at, value, value, before.segment, before.segment, estimated,
                    "interpolated" if estimated else "reading")


def period_usage(start: Boundary, end: Boundary, spans: Mapping[int, tuple[float, float]] = {},
                 gaps: Sequence[Gap] = ()) -> Usage:
    """Consumption between two boundaries.  ``spans``: ``{segment: (first, last)}`` values of
    every segment from ``start.segment_out`` to ``end.segment_in`` (only needed when they
    differ).  Each segment's part is clamped at 0, so the result is never negative."""
    if (start.value_out is None or end.value_in is None or end.source == "first_known"
            or start.source == "last_known"):
        # nothing read inside or around the period: the meter was not there yet, or silent
        return Usage(start, end, None, 0, tuple(gaps))
    s0, s1 = start.segment_out, end.segment_in
    assert s0 is not None and s1 is not None
    base_seg = start.segment_in if start.segment_in is not None else s0
    resets = max(0, s1 - base_seg)
    if s1 <= s0:
        return Usage(start, end, max(0.0, end.value_in - start.value_out), resets, tuple(gaps))
    amount = max(0.0, spans[s0][1] - start.value_out)
    for s in range(s0 + 1, s1):
        if s in spans:
            amount += max(0.0, spans[s][1] - spans[s][0])
    amount += max(0.0, end.value_in - spans[s1][0])
    return Usage(start, end, amount, resets, tuple(gaps))


def no_usage(start: int, end: int) -> Usage:
    """No data over ``[start, end)`` (nothing to count there)."""
    return Usage(Boundary(start, None, None, None, None, True, "none"),
                 Boundary(end, None, None, None, None, True, "none"), None)


def combine_usages(parts: Sequence[Usage]) -> Usage:
    """Several stretches' consumption as one (in time order): the first one's start, the last
    one's end, the amounts, resets and gaps summed (no data only if no part has data)."""
    if len(parts) == 1:
        return parts[0]
    amounts = [u.amount for u in parts if u.amount is not None]
    return Usage(parts[0].start, parts[-1].end, sum(amounts) if amounts else None,
                 sum(u.resets for u in parts), tuple(g for u in parts for g in u.gaps))


def find_gaps(times: Sequence[int], start: int, end: int, *, gap_ms: int) -> list[Gap]:
    """Stretches longer than ``gap_ms`` between consecutive reading times (sorted) that overlap
    ``[start, end)``; the stretch from the last reading to ``end`` counts too (a silent meter)."""
    gaps: list[Gap] = []
    for a, b in zip(times, times[1:]):
        if b - a > gap_ms and a < end and b > start:
            gaps.append(Gap(a, b))
    if times and times[-1] < end and end - times[-1] > gap_ms:
        gaps.append(Gap(times[-1], end))
    return gaps


def usage_from_readings(readings: Sequence[Reading], start: int, end: int, *,
                        tolerance_ms: int = HOUR_MS, gap_ms: int = 2 * HOUR_MS,
                        now: int | None = None, segmented: bool = False) -> Usage:
    """Consumption over ``[start, end)`` from every reading of one register (any order).
    ``segmented``: the readings already carry their segments (else :func:`assign_segments`);
    ``now``: gaps are not looked for past it (a period still running)."""
    rs = sorted(readings, key=lambda r: r.ts) if segmented else assign_segments(readings)
    times = [r.ts for r in rs]

    def around(at: int) -> tuple[Reading | None, Reading | None]:
        i = bisect_right(times, at)
        j = bisect_left(times, at)
        return (rs[i - 1] if i else None), (rs[j] if j < len(rs) else None)

    b0 = boundary_value(*around(start), start, tolerance_ms=tolerance_ms)
    b1 = boundary_value(*around(end), end, tolerance_ms=tolerance_ms)
    spans: dict[int, tuple[float, float]] = {}
    for r in rs:
        first, _ = spans.get(r.segment, (r.value, r.value))
        spans[r.segment] = (first, r.value)
    gap_end = end if now is None else min(end, now)
    lo = bisect_right(times, start) - 1
    window = times[max(lo, 0):bisect_right(times, gap_end) + 1]
    gaps = find_gaps(window, start, gap_end, gap_ms=gap_ms) if rs else []
    return period_usage(b0, b1, spans, gaps)
