"""The unit registry as text: residents written one per line (the edit form) or separated by
``;`` (a CSV cell), and CSV import/export with a per-row report (a bad row never stops the
good ones; same house style as :mod:`web.access.csv_io`).

A resident is ``name/phone/relation`` (phone and relation optional; relation ``owner``,
``household``, ``tenant`` or 业主 / 家属 / 租户; default owner), e.g. ``王芳/13800000000/业主``.

CSV columns (header row required, order free): ``building``, ``number``, ``vacant`` (yes/no,
1/0, 是/否; blank = no), ``residents``, ``note``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from ..csv_cells import csv_rows, row_cells
from .model import Resident, Unit, UnitError, UnitProblem, parse_unit

__all__ = ["COLUMNS", "MAX_ROWS", "RowProblem", "UnitImportPlan", "parse_residents",
           "residents_text", "parse_units_csv", "export_rows"]

COLUMNS = ("building", "number", "vacant", "residents", "note")
MAX_ROWS = 20_000
_RELATIONS = {"owner": "owner", "业主": "owner", "household": "household", "家属": "household",
              "tenant": "tenant", "租户": "tenant", "": "owner"}
_YES = {"1", "yes", "y", "true", "是", "空置"}
_NO = {"", "0", "no", "n", "false", "否"}


def parse_residents(text: str) -> list[dict[str, str]]:
    """``name/phone/relation`` entries separated by new lines or ``;`` -> the dicts
    :func:`~web.units.model.parse_unit` validates (an unknown relation is passed through so
    validation names it)."""
    out = []
    for part in re.split(r"[;\n；]", text or ""):
        part = part.strip()
        if not part:
            continue
        bits = [b.strip() for b in part.split("/")]
        name = bits[0]
        phone = bits[1] if len(bits) > 1 else ""
        rel = bits[2] if len(bits) > 2 else ""
        out.append({"name": name, "phone": phone,
                    "relation": _RELATIONS.get(rel.lower(), rel) if len(bits) <= 3 else "/".join(bits[2:])})
    return out


def residents_text(residents: Iterable[Resident], sep: str = "\n") -> str:
    """Residents back as text (``sep`` between them)."""
    return sep.join("/".join((r.name, r.phone, r.relation)) for r in residents)


@dataclass(frozen=True)
class RowProblem:
    """A refused row: ``row`` (its line in the file; the header is line 1), ``unit`` as written,
    ``problem`` (a :class:`~web.units.model.UnitProblem` from validation, or a code:
    ``missing_column``, ``extra_cells``, ``duplicate_row``, ``bad_vacant``, ``too_many_rows``)."""

    row: int
    unit: str
    problem: "str | UnitProblem"


@dataclass
class UnitImportPlan:
    """What :func:`parse_units_csv` found: units to save (with their lines) and problems."""

    units: list[tuple[int, Unit]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def parse_units_csv(text: str) -> UnitImportPlan:
    """Validate every row; a missing ``building``/``number`` column is one problem on line 1
    and nothing is imported."""
    plan = UnitImportPlan()
    reader, missing = csv_rows(text, required=("building", "number"))
    if missing:
        plan.problems.append(RowProblem(1, "", f"missing_column:{missing}"))
        return plan
    seen: dict[str, int] = {}
    for n, raw in enumerate(reader):
        line = reader.line_num
        if n >= MAX_ROWS:
            plan.problems.append(RowProblem(line, "", "too_many_rows"))
            break
        row = row_cells(raw)
        shown = f"{row.get('building', '')}-{row.get('number', '')}"
        if None in raw:
            plan.problems.append(RowProblem(line, shown, "extra_cells"))
            continue
        if not any(row.values()):
            continue
        vacant = row.get("vacant", "").lower()
        if vacant not in _YES | _NO:
            plan.problems.append(RowProblem(line, shown, "bad_vacant"))
            continue
        try:
            unit = parse_unit({"building": row.get("building", ""), "number": row.get("number", ""),
                               "vacant": vacant in _YES,
                               "residents": parse_residents(row.get("residents", "")),
                               "note": row.get("note", "")})
        except UnitError as exc:
            for problem in exc.problems:
                plan.problems.append(RowProblem(line, shown, problem))
            continue
        if unit.code in seen:
            plan.problems.append(RowProblem(line, unit.code, "duplicate_row"))
            continue
        seen[unit.code] = line
        plan.units.append((line, unit))
    return plan


def export_rows(units: Iterable[Unit]) -> Iterator[list[Any]]:
    """The header, then one row per unit (cells are neutralised by the download helper)."""
    yield list(COLUMNS)
    for u in units:
        yield [u.building, u.number, "yes" if u.vacant else "no",
               residents_text(u.residents, "; "), u.note]
