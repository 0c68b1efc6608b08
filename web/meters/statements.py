"""Monthly statements (抄表统计): consumption per unit and meter for a billing period.

One row per registered meter (its billed register): the counter at the period's start and
end, the consumption, and the marks the clerk must see — *estimated* boundary values (no
reading near the boundary: interpolated or the last/first known), *gaps* in the readings,
counter *resets* (the consumption is the sum of the segments), *no data*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from .model import UNIT_OF_KIND, Meter
from .periods import Period
from .readings import MarkThresholds, ReadingStore
from .registry import MeterRegistry
from .usage import Usage

__all__ = ["StatementRow", "Statement", "build_statement", "statement_csv_rows", "CSV_COLUMNS"]


@dataclass(frozen=True)
class StatementRow:
    """One meter in a statement."""

    meter: Meter
    usage: Usage
    vacant: bool = False

    @property
    def marks(self) -> list[str]:
        """Codes: ``estimated_start``, ``estimated_end``, ``gaps``, ``resets``, ``no_data``."""
        u = self.usage
        out = []
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
    """The statement of ``period`` for every registered meter (or only those of ``units``),
    every row marked with the thresholds in force when it starts."""
    meters = list(registry) if units is None else [m for u in units for m in registry.of_unit(u)]
    th = readings.thresholds()
    rows = tuple(StatementRow(m, readings.usage(m.meter_id, m.billed_register, period.start,
                                                period.end, now=now, thresholds=th),
                              m.unit in vacant_units)
                 for m in meters)
    return Statement(period, rows, now, partial=now < period.end, thresholds=th)


CSV_COLUMNS = ("period", "period_start", "period_end", "unit", "meter", "kind", "register",
               "quantity_unit", "start_value", "end_value", "consumption", "estimated_start",
               "estimated_end", "gaps", "gap_hours", "resets", "no_data", "vacant")


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
               "yes" if r.vacant else "no"]
