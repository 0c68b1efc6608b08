"""The meter registry as CSV: export, and import with a per-row report (a bad row never stops
the good ones).

Columns (header row required, order free): ``meter_id``, ``unit``, ``kind`` (electricity /
water; blank: from a built-in map), ``map``, ``node``, ``bus``, ``slave``, ``register`` (blank:
the kind's default), ``note``.  ``meter_id`` and ``unit`` columns are required; a row naming a
unit that is not in the unit registry is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from ..csv_cells import csv_rows, row_cells
from .model import Meter, validate_meter

__all__ = ["COLUMNS", "RowProblem", "ImportPlan", "parse_csv", "export_rows", "MAX_ROWS"]

COLUMNS = ("meter_id", "unit", "kind", "map", "node", "bus", "slave", "register", "note")
#: Most data rows one import takes.
MAX_ROWS = 20_000


@dataclass(frozen=True)
class RowProblem:
    """A refused row: ``row`` (the line number in the file; the header is line 1),
    ``meter_id`` as written, ``field`` (column), ``code`` (:mod:`web.meters.messages`)."""

    row: int
    meter_id: str
    field: str
    code: str


@dataclass
class ImportPlan:
    """What :func:`parse_csv` found: ``meters`` (line, meter) to save, ``problems``."""

    meters: list[tuple[int, Meter]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def refused_rows(self) -> int:
        return len({p.row for p in self.problems})


def parse_csv(text: str, *, unit_exists: Callable[[str], bool]) -> ImportPlan:
    """Validate every row of a meters CSV (``csv.Error`` for a file that is not CSV)."""
    plan = ImportPlan()
    reader, missing = csv_rows(text, required=("meter_id", "unit"))
    if missing:
        plan.problems.append(RowProblem(1, "", missing, "missing_column"))
        return plan
    seen: set[str] = set()
    for n, raw in enumerate(reader):
        line = reader.line_num
        if n >= MAX_ROWS:
            plan.problems.append(RowProblem(line, "", "row", "too_many_rows"))
            break
        row = row_cells(raw)
        mid = row.get("meter_id", "")
        if None in raw:
            plan.problems.append(RowProblem(line, mid, "row", "extra_cells"))
            continue
        if not any(row.values()):
            continue
        meter, errors = validate_meter(row)
        problems = [(f, code) for f, codes in errors.items() for code in codes]
        if meter is not None and not unit_exists(meter.unit):
            problems.append(("unit", "unit_unknown"))
        if meter is not None and not problems and meter.meter_id in seen:
            problems.append(("meter_id", "duplicate_row"))
        if problems or meter is None:
            plan.problems += [RowProblem(line, mid, f, code) for f, code in problems]
            continue
        seen.add(meter.meter_id)
        plan.meters.append((line, meter))
    return plan


def export_rows(meters: Iterable[Meter]) -> Iterator[list[object]]:
    """The header then one row per meter (cells are guarded by the download helper)."""
    yield list(COLUMNS)
    for m in meters:
        yield [m.meter_id, m.unit, m.kind, m.map, m.node, m.bus, m.slave or "",
               m.billed_register, m.note]
