"""Translated sentences for the validation codes of :func:`web.access.model.validate`."""

from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l

__all__ = ["PROBLEMS", "FIELD_LABELS", "KIND_LABELS", "COMMAND_STATE_LABELS",
           "DOOR_ACTION_LABELS", "problem_text"]

PROBLEMS: Mapping[str, Any] = {
    "required": _l("Required."),
    "bad_id": _l("1 to 64 characters: letters, digits, '.', '_', ':' or '-'."),
    "bad_card": _l("Not a card number: use w26:FACILITY:NUMBER, w34:FACILITY:NUMBER or em:10 hex digits."),
    "too_many": _l("Too many entries."),
    "bad_door": _l("Door ids are 1 to 32 lower-case letters, digits or '-', or * for every door."),
    "bad_kind": _l("Not a credential kind."),
    "too_long": _l("Too long."),
    "bad_text": _l("Contains control characters."),
    "bad_time": _l("Not a valid date and time."),
    "until_before_from": _l("Must be after the start."),
    "contractor_until": _l("A contractor pass needs an end date."),
    "contractor_doors": _l("A contractor pass must name its doors."),
    "bad_schedule": _l("Not a schedule id."),
    "card_taken": _l("This card already belongs to another credential."),
    "id_taken": _l("A credential with this id already exists."),
    "bad_pin": _l("A PIN is 4 to 12 digits."),
    "bad_enabled": _l("Use yes or no."),
    "missing_column": _l("This column is missing from the header row; nothing was imported."),
    "too_many_rows": _l("Too many rows; the rest of the file was not read."),
    "extra_cells": _l("The row has more cells than the header."),
    "duplicate_row": _l("This id appears on an earlier row too."),
    "unknown_schedule": _l("No schedule has this name; add it under Schedules first."),
    "bad_interval": _l("Write times as HH:MM-HH:MM, e.g. 08:00-12:00 13:30-18:00."),
    "empty_interval": _l("An interval must not start and end at the same minute (00:00-24:00 is the whole day)."),
    "bad_date": _l("Not a date (YYYY-MM-DD)."),
    "schedule_taken": _l("A schedule with this name already exists."),
}

FIELD_LABELS: Mapping[str, Any] = {
    "credential_id": _l("Credential id"),
    "id": _l("Credential id"),                 # the CSV column
    "cards": _l("Card numbers"),
    "holder": _l("Holder"),
    "unit": _l("Unit"),
    "kind": _l("Kind"),
    "doors": _l("Doors"),
    "enabled": _l("Enabled"),
    "valid_from": _l("Valid from"),
    "valid_until": _l("Valid until"),
    "schedule": _l("Schedule"),
    "pin": _l("PIN"),
    "row": _l("Row"),
}

KIND_LABELS: Mapping[str, Any] = {
    "resident": _l("Resident"),
    "household": _l("Household member"),
    "tenant": _l("Tenant"),
    "staff": _l("Staff"),
    "contractor": _l("Contractor (renovation pass)"),
}

#: What became of a remote door command (web.commands states).
COMMAND_STATE_LABELS: Mapping[str, Any] = {
    "pending": _l("Waiting for the node"),
    "ok": _l("Done"),
    "failed": _l("Failed"),
    "expired": _l("Expired (no answer)"),
}

DOOR_ACTION_LABELS: Mapping[str, Any] = {
    "door.unlock": _l("Remote unlock"),
    "door.hold_open": _l("Hold open"),
    "door.release": _l("Release"),
}


def problem_text(code: str) -> str:
    """The sentence for a problem code (the code itself if unknown)."""
    found = PROBLEMS.get(code)
    return str(found) if found is not None else code
