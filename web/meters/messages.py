"""Translated words of the meter pages: validation problems, kinds, statement marks."""

from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l

__all__ = ["PROBLEMS", "FIELD_LABELS", "KIND_LABELS", "MARK_LABELS", "SOURCE_LABELS",
           "problem_text"]

PROBLEMS: Mapping[str, Any] = {
    "required": _l("Required."),
    "bad_meter_id": _l("1 to 32 lower-case letters, digits or '-' (the meter's name on its node)."),
    "bad_unit": _l("A unit is building-number, e.g. A-1201."),
    "unit_unknown": _l("This unit is not in the unit registry."),
    "bad_kind": _l("Use electricity or water."),
    "bad_name": _l("Letters, digits, '_', '.' or '-' only."),
    "map_kind": _l("This register map is for the other kind of meter."),
    "bad_node": _l("Node ids are 1 to 32 lower-case letters, digits or '-'."),
    "bad_slave": _l("A Modbus slave id is 1 to 247."),
    "too_long": _l("Too long."),
    "bad_text": _l("Contains control characters."),
    "id_taken": _l("A meter with this id already exists."),
    "missing_column": _l("This column is missing from the header row; nothing was imported."),
    "too_many_rows": _l("Too many rows; the rest of the file was not read."),
    "extra_cells": _l("The row has more cells than the header."),
    "duplicate_row": _l("This meter id appears on an earlier row too."),
    "bad_time": _l("A date and time, e.g. 2026-01-15 09:30."),
    "effective_future": _l("The unit change cannot take effect in the future."),
    "effective_before_previous": _l("The unit change cannot take effect before the meter's "
                                    "previous unit change."),
}

FIELD_LABELS: Mapping[str, Any] = {
    "meter_id": _l("Meter id"),
    "unit": _l("Unit"),
    "kind": _l("Kind"),
    "map": _l("Register map"),
    "node": _l("Node"),
    "bus": _l("Bus"),
    "slave": _l("Slave id"),
    "register": _l("Billed register"),
    "note": _l("Note"),
    "row": _l("Row"),
    "effective_at": _l("Unit change takes effect"),
}

KIND_LABELS: Mapping[str, Any] = {
    "electricity": _l("Electricity"),
    "water": _l("Water"),
}

MARK_LABELS: Mapping[str, Any] = {
    "moved_in": _l("Moved in"),
    "moved_out": _l("Moved out"),
    "estimated_start": _l("Start estimated"),
    "estimated_end": _l("End estimated"),
    "gaps": _l("Gaps in readings"),
    "resets": _l("Counter reset"),
    "no_data": _l("No data"),
}

#: How a boundary value was found (web.meters.usage.Boundary.source).
SOURCE_LABELS: Mapping[str, Any] = {
    "reading": _l("read"),
    "interpolated": _l("interpolated"),
    "last_known": _l("last known"),
    "first_known": _l("first known"),
    "reset": _l("across a reset"),
    "none": _l("none"),
}


def problem_text(code: str) -> str:
    """The sentence for a problem code (the code itself if unknown)."""
    found = PROBLEMS.get(code)
    return str(found) if found is not None else code
