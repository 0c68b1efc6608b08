"""Words the key pages show: kinds, slot and loan states, how a loan began, flags, and the
sentences for the register's validation codes and the desk release's refusals."""

from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l

__all__ = ["KEY_KIND_LABELS", "SLOT_STATE_LABELS", "LOAN_STATE_LABELS", "HOW_LABELS",
           "FLAG_LABELS", "problem_text", "refusal_text"]

KEY_KIND_LABELS: Mapping[str, Any] = {
    "vacant-unit": _l("Vacant unit"),
    "owner-entrusted": _l("Owner-entrusted"),
    "common-area": _l("Common area"),
    "master": _l("Master key"),
}
SLOT_STATE_LABELS: Mapping[str, Any] = {
    "present": _l("In the cabinet"),
    "out": _l("Out on loan"),
    "wrong": _l("Wrong key in slot"),
    "fault": _l("Fault"),
    "empty": _l("Empty slot"),
}
LOAN_STATE_LABELS: Mapping[str, Any] = {
    "released": _l("Released, not yet taken"),
    "out": _l("Out"),
    "returned": _l("Returned"),
    "cancelled": _l("Cancelled"),
}
HOW_LABELS: Mapping[str, Any] = {
    "card": _l("By card"),
    "desk": _l("Desk-assisted"),
    "forced": _l("Forced out"),
    "missing": _l("Found missing"),
}
FLAG_LABELS: Mapping[str, Any] = {
    "forced": _l("Forced out"),
    "wrong_slot": _l("Returned to a wrong slot"),
    "missing": _l("Found missing"),
}
_PROBLEMS: Mapping[str, Any] = {
    "required": _l("Required."),
    "bad_number": _l("Letters, digits and . _ : - (at most 32), starting with a letter or digit."),
    "bad_kind": _l("Choose a kind."),
    "bad_cabinet": _l("Lower-case letters, digits and dashes (the cabinet id of the node)."),
    "bad_slot": _l("A slot number from 1 to 999."),
    "bad_taker": _l("Use cred:ID, role:KIND or user:NAME, separated by spaces."),
    "bad_minutes": _l("Minutes from 1 to 43200 (30 days)."),
    "bad_time": _l("Not a date and time."),
    "until_required": _l("An entrusted key needs the date the owner's authorisation ends."),
    "too_long": _l("Too long."),
    "unknown_unit": _l("No such unit in the unit register."),
    "number_taken": _l("Another key has this number."),
}
_REFUSALS: Mapping[str, Any] = {
    "unknown_key": _l("No such key."),
    "two_person": _l("A two-person key is released only with two cards at the cabinet."),
    "authorisation_ended": _l("The owner's authorisation for this key has ended."),
    "on_loan": _l("The key is out or already released."),
    "no_cabinet_node": _l("The cabinet has not reported to the console yet."),
    "no_command_key": _l("The console has no command key for the cabinet's node."),
    "bad_borrower": _l("The borrower's name is required."),
    "bad_id": _l("Type at least the last four characters of the borrower's ID."),
}


def problem_text(code: str) -> Any:
    return _PROBLEMS.get(code, code)


def refusal_text(code: str) -> Any:
    return _REFUSALS.get(code, code)
