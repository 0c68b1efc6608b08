"""Credentials as CSV: export, and import with a per-row report (a bad row never stops the
good ones).

Columns (header row required, order free, names as :data:`COLUMNS`): ``id``, ``cards``
(space/comma separated card keys), ``holder``, ``unit``, ``kind``, ``doors`` (``*`` or door
ids), ``enabled`` (yes/no, 1/0, true/false, 是/否; blank = yes), ``valid_from`` /
``valid_until`` (``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM`` in the site's time zone, or ISO 8601
with an offset; blank = open), ``schedule``, ``pin`` (4-12 digits, hashed at once; blank keeps
the current PIN; never exported).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Iterator

from ..csv_cells import csv_rows, guard_cell, row_cells
from .model import CredentialRecord, validate
from .pin import check_pin_format, hash_pin

__all__ = ["COLUMNS", "RowProblem", "ImportPlan", "parse_csv", "export_rows", "parse_local_time",
           "format_local_time", "MAX_ROWS"]

COLUMNS = ("id", "cards", "holder", "unit", "kind", "doors", "enabled", "valid_from",
           "valid_until", "schedule", "pin")
#: Most data rows one import takes (the rest are reported, not read).
MAX_ROWS = 20_000
_YES = {"", "1", "yes", "y", "true", "是", "启用"}
_NO = {"0", "no", "n", "false", "否", "停用"}


def parse_local_time(text: str, tz: zoneinfo.ZoneInfo) -> int:
    """UTC ms from ``YYYY-MM-DD[ HH:MM[:SS]]`` / ``YYYY-MM-DDTHH:MM`` in ``tz``, or ISO 8601
    with an offset. Raises ``ValueError``."""
    text = text.strip()
    if len(text) > 40:
        raise ValueError(text)
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M:%S"):
        try:
            return int(datetime.strptime(text, fmt).replace(tzinfo=tz).timestamp() * 1000)
        except ValueError:
            continue
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError(text)
    return int(dt.timestamp() * 1000)


def format_local_time(ms: int | None, tz: zoneinfo.ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``ms`` (UTC) as local text in ``tz``; blank for None."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz).strftime(fmt)


@dataclass(frozen=True)
class RowProblem:
    """A refused row: ``row`` (1 = the first data row's line number in the file, header is
    line 1, so data starts at 2), ``credential_id`` as written, ``field`` (column), ``code``
    (see :mod:`web.access.messages`)."""

    row: int
    credential_id: str
    field: str
    code: str


@dataclass
class ImportPlan:
    """What :func:`parse_csv` found: ``records`` (line, record) to save, ``problems``."""

    records: list[tuple[int, CredentialRecord]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ids: dict[int, str] = field(default_factory=dict)


def parse_csv(text: str, *, timezone: str,
              current_pin: Callable[[str], str | None] = lambda cid: None,
              pin_iterations: int | None = None) -> ImportPlan:
    """Validate every row of a credentials CSV. ``current_pin(id)``: the stored PIN hash of an
    existing credential (kept when the ``pin`` cell is blank). A missing ``id`` / ``cards`` /
    ``doors`` column is one problem on line 1 and nothing is imported."""
    tz = zoneinfo.ZoneInfo(timezone)
    plan = ImportPlan()
    reader, missing = csv_rows(text, required=("id", "cards", "doors"))
    if missing:
        plan.problems.append(RowProblem(1, "", missing, "missing_column"))
        return plan
    seen: dict[str, int] = {}
    for n, raw in enumerate(reader):
        line = reader.line_num
        if n >= MAX_ROWS:
            plan.problems.append(RowProblem(line, "", "row", "too_many_rows"))
            break
        row = row_cells(raw)
        if None in raw:
            plan.problems.append(RowProblem(line, row.get("id", ""), "row", "extra_cells"))
            continue
        if not any(row.values()):
            continue
        cid = row.get("id", "")
        plan.ids[line] = cid
        values: dict[str, object] = {"credential_id": cid, "cards": row.get("cards", ""),
                                     "holder": row.get("holder", ""), "unit": row.get("unit", ""),
                                     "kind": row.get("kind", "") or "resident",
                                     "doors": row.get("doors", ""),
                                     "schedule": row.get("schedule", "")}
        problems: list[tuple[str, str]] = []
        enabled = row.get("enabled", "").lower()
        if enabled in _YES:
            values["enabled"] = True
        elif enabled in _NO:
            values["enabled"] = False
        else:
            problems.append(("enabled", "bad_enabled"))
        for name in ("valid_from", "valid_until"):
            cell = row.get(name, "")
            if cell:
                try:
                    values[name] = parse_local_time(cell, tz)
                except ValueError:
                    problems.append((name, "bad_time"))
        pin = row.get("pin", "")
        if pin:
            try:
                check_pin_format(pin)
            except ValueError:
                problems.append(("pin", "bad_pin"))
        record, errors = validate(values)
        problems += [(f, code) for f, codes in errors.items() for code in codes]
        if cid and cid in seen and not problems:
            problems.append(("credential_id", "duplicate_row"))
        if problems or record is None:
            for f, code in problems:
                plan.problems.append(RowProblem(line, cid, "id" if f == "credential_id" else f, code))
            continue
        seen[cid] = line
        if pin:
            kw = {"iterations": pin_iterations} if pin_iterations else {}
            record = record.with_changes(pin_hash=hash_pin(pin, **kw))
        else:
            record = record.with_changes(pin_hash=current_pin(cid))
        plan.records.append((line, record))
    return plan


def export_rows(records: Iterable[CredentialRecord], *, timezone: str) -> Iterator[list[object]]:
    """The header then one row per credential (PINs are never exported: the column is blank,
    and a blank PIN on import keeps the stored one)."""
    tz = zoneinfo.ZoneInfo(timezone)
    yield list(COLUMNS)
    for r in records:
        yield [guard_cell(v) for v in (
            r.credential_id, r.cards_text, r.holder, r.unit, r.kind, r.doors_text,
            "yes" if r.enabled else "no", format_local_time(r.valid_from, tz),
            format_local_time(r.valid_until, tz), r.schedule or "", "")]
