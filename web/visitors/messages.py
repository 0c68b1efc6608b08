"""Translated labels of the intercom desk and visitor pages: validation codes, ID types, visit
and call states, watchlist kinds, unlock refusals."""

from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l

__all__ = ["PROBLEMS", "ID_TYPE_LABELS", "VISIT_STATE_LABELS", "CALL_STATE_LABELS",
           "OUTCOME_LABELS", "CONFIRM_LABELS", "WATCH_KIND_LABELS", "UNLOCK_REFUSALS",
           "INVITE_STATE_LABELS", "RELATION_LABELS", "problem_text"]

PROBLEMS: Mapping[str, Any] = {
    "required": _l("Required."),
    "too_long": _l("Too long."),
    "control": _l("Contains control characters."),
    "bad_id": _l("An ID number is 4 to 30 letters or digits."),
    "bad_id_type": _l("Choose the ID document."),
    "bad_phone": _l("Digits, spaces and dashes (an optional leading +)."),
    "bad_plate": _l("Not a vehicle plate (2 to 10 letters, digits or Chinese characters)."),
    "bad_people": _l("1 to 50 people."),
    "bad_unit": _l("Write the unit as building-number, e.g. A-1201."),
    "unknown_unit": _l("This unit is not in the unit registry."),
    "bad_call": _l("This intercom call is not known."),
    "bad_kind": _l("Choose what to match."),
    "duplicate": _l("This entry is already on the watchlist."),
    "bad_number": _l("Out of range."),
    "before_start": _l("Must be after the start."),
    "in_past": _l("The invite would already have expired."),
    "bad_uses": _l("1 to 255 uses."),
    "bad_time": _l("Not a valid date and time."),
    "bad_name": _l("1 to 64 letters, digits or . _ : -"),
    "unknown_building": _l("No unit of the unit registry is in this building."),
}

ID_TYPE_LABELS: Mapping[str, Any] = {
    "resident_id": _l("Resident ID card"),
    "passport": _l("Passport"),
    "hk_macau_permit": _l("Hong Kong/Macau travel permit"),
    "taiwan_permit": _l("Taiwan travel permit"),
    "driving_licence": _l("Driving licence"),
    "other": _l("Other document"),
}

VISIT_STATE_LABELS: Mapping[str, Any] = {
    "waiting": _l("Waiting for the resident"),
    "confirmed": _l("Resident confirmed"),
    "refused": _l("Refused"),
    "on_site": _l("On site"),
    "left": _l("Left"),
}

CALL_STATE_LABELS: Mapping[str, Any] = {
    "ringing": _l("Ringing"),
    "answered": _l("Answered"),
    "ended": _l("Ended"),
}

OUTCOME_LABELS: Mapping[str, Any] = {
    "timeout": _l("Not answered in time"),
    "no_answer": _l("No answer"),
    "refused": _l("Refused by the resident"),
    "opened": _l("Door opened"),
}

CONFIRM_LABELS: Mapping[str, Any] = {
    "phone": _l("Confirmed by phone"),
    "in_person": _l("Confirmed in person"),
    "invite": _l("Invited by the resident"),
}

WATCH_KIND_LABELS: Mapping[str, Any] = {
    "name": _l("Person's name"),
    "id_tail": _l("ID number (last 4)"),
    "plate": _l("Vehicle plate"),
}

INVITE_STATE_LABELS: Mapping[str, Any] = {
    "valid": _l("Valid now"),
    "not_yet_valid": _l("Not yet valid"),
    "expired": _l("Expired"),
    "used_up": _l("Used up"),
    "revoked": _l("Revoked"),
}

RELATION_LABELS: Mapping[str, Any] = {
    "owner": _l("Owner"),
    "household": _l("Household member"),
    "tenant": _l("Tenant"),
}

UNLOCK_REFUSALS: Mapping[str, Any] = {
    "not_confirmed": _l("The resident has not confirmed this visit yet."),
    "refused": _l("The resident refused this visit."),
    "left": _l("This visitor has already left."),
    "needs_admin": _l("Only an administrator may open the door without the resident's consent."),
    "needs_reason": _l("Write the reason for opening without the resident's consent."),
    "no_node": _l("Choose the door to open."),
    "no_key": _l("The console has no command key for this door's node."),
}


def problem_text(code: str) -> str:
    """The sentence for a validation code (the code itself if unknown)."""
    return str(PROBLEMS.get(code, code))
