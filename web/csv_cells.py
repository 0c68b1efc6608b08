"""CSV cells a spreadsheet will not run as formulas: text starting with ``= + - @`` (or a tab /
carriage return) is written with a leading apostrophe (:func:`guard_cell`), and the apostrophe
is taken off again when such a file is imported back (:func:`unguard_cell`). And the reading
side the CSV imports share: :func:`csv_rows` (header checked) and :func:`row_cells`."""

from __future__ import annotations

import csv
import io
from typing import Any, Mapping, Sequence

__all__ = ["FORMULA_START", "guard_cell", "unguard_cell", "csv_rows", "row_cells"]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def guard_cell(value: Any) -> Any:
    """``value`` with a leading apostrophe if it is text starting with one of
    :data:`FORMULA_START`; anything else (numbers, other text) unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def unguard_cell(value: str) -> str:
    """An imported cell without the apostrophe :func:`guard_cell` added (only when a formula
    character follows it, so other text starting with an apostrophe is kept)."""
    return value[1:] if value.startswith("'") and value[1:2] in FORMULA_START else value


def csv_rows(text: str, *, required: Sequence[str]) -> tuple[csv.DictReader, str | None]:
    """A ``csv.DictReader`` over ``text`` (a leading BOM dropped) keyed by the header's names
    trimmed and lower-cased, and the first of the ``required`` columns the header lacks (None
    when all are there: then read the rows). ``csv.Error`` for text that is not CSV."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    reader.fieldnames = header
    return reader, (missing[0] if missing else None)


def row_cells(raw: Mapping[Any, Any]) -> dict[str, str]:
    """A row from :func:`csv_rows` as trimmed, unguarded text by column name (blank for a
    missing cell; the surplus cells of a too-long row, under the key None, left out)."""
    return {k: unguard_cell((v or "").strip()) for k, v in raw.items() if isinstance(k, str)}
