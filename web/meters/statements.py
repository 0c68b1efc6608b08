"""Monthly statements (抄表统计): consumption per unit and meter for a billing period.

One row per registered meter (its billed register): the counter at the period's start and
end, the consumption, and the marks the clerk must see — *estimated* boundary values (no
reading near the boundary: interpolated or the last/first known), *gaps* in the readings,
counter *resets* (the consumption is the sum of the segments), *no data*.

A meter that changed unit during the period (:mod:`web.meters.assignments`) has one row per
unit that had it, each over the part of the period that unit had it: the value at the change
is found like a period boundary (read, interpolated or estimated, and marked so), and the row
is marked *moved in* / *moved out*.  A meter never moved has exactly one row, as always.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from .assignments import Window, clip, windows_of
from .model import UNIT_OF_KIND, Meter
from .periods import Period
from .readings import MarkThresholds, ReadingStore
from .registry import MeterRegistry
from .usage import Usage

__all__ = ["StatementRow", "Statement", "build_statement", "statement_csv_rows", "CSV_COLUMNS"]


@dataclass(frozen=True)
class StatementRow:
    """One meter in a statement."""

    meter: Meter            # with ``unit`` the unit this row is for
    usage: Usage
    vacant: bool = False
    part: Window | None = None   # the part of the period the unit had the meter (None: all)
    moved_in: bool = False       # the unit got the meter during the period (at part[0])
    moved_out: bool = False      # and/or lost it (at part[1])

    @property
    def marks(self) -> list[str]:
        """Codes: ``moved_in``, ``moved_out``, ``estimated_start``, ``estimated_end``,
        ``gaps``, ``resets``, ``no_data``."""
        u = self.usage
        out = []
        if self.moved_in:
            out.append("moved_in")
        if self.moved_out:
            out.append("moved_out")
        if u.no_data:
            out.append("no_data")
        else:
            if u.start.estimated:
                out.append("estimated_start")
            if u.end.estimated:
                out.append("estimated_end")
        if u.gaps:
            out.append("gaps")
        if u.resets:
            out.append("resets")
        return out


@dataclass(frozen=True)
class Statement:
    """A period's rows (by unit, then kind, then meter) and totals by kind; ``thresholds``:
    the estimate tolerance and gap threshold every row was marked with."""

    period: Period
    rows: tuple[StatementRow, ...]
    computed_at: int
    partial: bool  # the period has not ended yet
    thresholds: MarkThresholds = MarkThresholds()

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self.rows:
            if r.usage.amount is not None:
                out[r.meter.kind] = out.get(r.meter.kind, 0.0) + r.usage.amount
        return out

    def by_unit(self) -> Iterator[tuple[str, list[StatementRow]]]:
        unit: str | None = None
        group: list[StatementRow] = []
        for r in self.rows:
            if r.meter.unit != unit and group:
                yield unit or "", group
                group = []
            unit = r.meter.unit
            group.append(r)
        if group:
            yield unit or "", group

    def flagged(self) -> int:
        return sum(1 for r in self.rows if r.marks)


def build_statement(period: Period, *, registry: MeterRegistry, readings: ReadingStore,
                    vacant_units: set[str] | frozenset[str] = frozenset(), now: int,
                    units: Sequence[str] | None = None) -> Statement:
    """The statement of ``period`` for every registered meter (or only the rows of ``units``:
    their meters then, not only now), every row marked with the thresholds in force when it
    starts; a meter moved during the period has a row for each unit over its part."""
    meters = list(registry) if units is None else [m for u in units for m in registry.of_unit(u)]
    th = readings.thresholds()
    moved = registry.moved()
    if units is not None and moved:
        wanted, have = set(units), {m.meter_id for m in meters}
        meters += [m for mid, hist in moved.items() if mid not in have
                   and any(a.unit in wanted for a in hist) and (m := registry.get(mid))]
    rows: list[StatementRow] = []
    for m in meters:
        history = moved.get(m.meter_id)
        if history is None:
            rows.append(StatementRow(m, readings.usage(m.meter_id, m.billed_register,
                                                       period.start, period.end, now=now,
                                                       thresholds=th),
                                     m.unit in vacant_units))
            continue
        for unit in dict.fromkeys(a.unit for a in history):
            if units is not None and unit not in units:
                continue
            for a, b in clip(windows_of(history, unit), period.start, period.end):
                rows.append(StatementRow(
                    m.with_changes(unit=unit),
                    readings.usage(m.meter_id, m.billed_register, a, b, now=now,
                                   thresholds=th),
                    unit in vacant_units, part=(a, b), moved_in=a > period.start,
                    moved_out=b < period.end))
    if moved:
        rows.sort(key=lambda r: (r.meter.unit, r.meter.kind, r.meter.meter_id,
                                 r.part[0] if r.part else 0))
    return Statement(period, tuple(rows), now, partial=now < period.end, thresholds=th)


CSV_COLUMNS = ("period", "period_start", "period_end", "unit", "meter", "kind", "register",
               "quantity_unit", "start_value", "end_value", "consumption", "estimated_start",
               "estimated_end", "gaps", "gap_hours", "resets", "no_data", "vacant", "part_start",
               "part_end")


def _num(v: float | None, digits: int = 3) -> Any:
    return "" if v is None else round(v, digits)


def statement_csv_rows(st: Statement, *, fmt: Any) -> Iterator[list[Any]]:
    """The header then one row per meter; ``fmt(ms)`` formats a time for people."""
    yield list(CSV_COLUMNS)
    for r in st.rows:
        u = r.usage
        yield [st.period.name, fmt(st.period.start), fmt(st.period.end), r.meter.unit,
               r.meter.meter_id, r.meter.kind, r.meter.billed_register,
               UNIT_OF_KIND.get(r.meter.kind, ""), _num(u.start.value_out), _num(u.end.value_in),
               _num(u.amount), "yes" if u.start.estimated and not u.no_data else "no",
               "yes" if u.end.estimated and not u.no_data else "no", len(u.gaps),
               round(sum(g.hours for g in u.gaps), 1), u.resets, "yes" if u.no_data else "no",
               "yes" if r.vacant else "no", fmt(r.part[0]) if r.moved_in else "",
               fmt(r.part[1]) if r.moved_out else ""]
