"""Translated words of the goods-pass pages: problems (codes of
:func:`web.passes.model.check_draft`), relations, authorisations, states, flags, verdicts."""

from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l

__all__ = ["PROBLEMS", "RELATION_LABELS", "AUTH_LABELS", "STATE_LABELS", "FLAG_LABELS",
           "VERDICT_LABELS", "REASON_LABELS", "KIND_LABELS", "problem_text"]

PROBLEMS: Mapping[str, Any] = {
    "required": _l("Required."),
    "too_long": _l("Too long."),
    "bad_text": _l("Contains control characters."),
    "bad_kind": _l("Not a pass kind."),
    "unknown_unit": _l("This unit is not in the unit registry."),
    "unit_too_long": _l("This unit code is too long for a pass (at most 32 bytes)."),
    "bad_last4": _l("The last 4 characters of the ID number: digits, the last may be X."),
    "bad_relation": _l("Choose who carries the goods."),
    "bad_authorisation": _l("Choose how the owner authorised the pass."),
    "not_resident": _l("Not registered in this unit as owner or household member; "
                       "anyone else needs the owner's authorisation letter."),
    "letter_required": _l("Only the owner or a registered household member may apply in person; "
                          "this carrier needs the owner's written authorisation (授权委托书)."),
    "letter_ref_required": _l("Give the authorisation letter's reference."),
    "no_items": _l("List at least one item."),
    "too_many_items": _l("Too many item lines."),
    "item_description": _l("Every item line with a quantity needs a description."),
    "item_quantity": _l("Quantities are 1 to 9999 (9999 items in total)."),
    "bad_plate": _l("Not a vehicle plate."),
    "bad_time": _l("Not a valid date."),
    "until_before_from": _l("Must be after the start."),
    "too_long_window": _l("A pass is valid for at most 366 days."),
    "until_past": _l("This validity has already ended."),
    "scan_type": _l("The scan must be a PDF, JPEG or PNG file."),
    "scan_empty": _l("The scan file is empty."),
    "scan_too_large": _l("The scan is larger than 5 MB."),
    "scan_without_letter": _l("A scan belongs to an authorisation letter: choose that first."),
}

RELATION_LABELS: Mapping[str, Any] = {
    "owner": _l("Owner"), "household": _l("Household member"), "tenant": _l("Tenant"),
    "helper": _l("Domestic helper"), "mover": _l("Mover"), "other": _l("Other"),
    "worker": _l("Renovation worker"),
}
AUTH_LABELS: Mapping[str, Any] = {
    "in_person": _l("Owner in person"), "letter": _l("Authorisation letter"),
    "desk": _l("Cleared by the desk"),
}
STATE_LABELS: Mapping[str, Any] = {
    "issued": _l("Issued"), "released": _l("Released"), "cancelled": _l("Cancelled"),
    "expired": _l("Expired"),
}
KIND_LABELS: Mapping[str, Any] = {"goods": _l("Goods pass"), "tools": _l("Tool pass")}
FLAG_LABELS: Mapping[str, Any] = {
    "unused": _l("Never used"), "open": _l("Not used yet"),
    "unknown": _l("Unknown to the console"), "double_use": _l("Used twice"),
    "released_cancelled": _l("Released after cancel"),
}
VERDICT_LABELS: Mapping[str, Any] = {
    "released": _l("Released"), "denied": _l("Denied"), "rejected": _l("Rejected"),
}
REASON_LABELS: Mapping[str, Any] = {
    "forged": _l("Forged"), "expired": _l("Expired"), "not_yet_valid": _l("Not yet valid"),
    "revoked": _l("Cancelled"), "already_used": _l("Already used"),
    "unreadable": _l("Unreadable"), "guard": _l("Guard denied"), "timeout": _l("No decision"),
    "superseded": _l("Another pass scanned"), "ledger_error": _l("Gate fault"),
}


def problem_text(code: str) -> Any:
    """The sentence for a problem code (the code itself if unknown)."""
    return PROBLEMS.get(code, code)
