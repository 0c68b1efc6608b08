"""Translated sentences for the unit registry's validation problems
(:class:`web.units.model.UnitProblem`), as :mod:`web.access.messages` does for credentials."""

from __future__ import annotations

from typing import Any, Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .model import RELATIONS, UnitProblem

__all__ = ["FIELD_LABELS", "PROBLEMS", "problem_text"]

FIELD_LABELS: Mapping[str, Any] = {
    "building": _l("Building"),
    "number": _l("Unit number"),
    "unit": _l("Unit"),
    "residents": _l("Residents"),
    "note": _l("Note"),
    "name": _l("Name of the resident"),
    "phone": _l("Phone"),
    "relation": _l("Relation"),
}

#: code -> sentence; ``%(limit)s`` and ``%(value)s`` are filled in from the problem.
PROBLEMS: Mapping[str, Any] = {
    "required": _l("Required."),
    "too_long": _l("At most %(limit)s characters."),
    "control_chars": _l("Contains control characters."),
    "bad_code": _l("A unit is building-number in letters or digits (the building may be in "
                   "Chinese), e.g. A-1201; got %(value)s."),
    "bad_phone": _l("Digits, spaces and dashes only (an optional leading +); got %(value)s."),
    "bad_relation": _l("Must be one of %(choices)s; got %(value)s."),
    "bad_resident": _l("Give a name, a phone and a relation."),
    "not_a_list": _l("Must be a list."),
    "too_many": _l("At most %(limit)s."),
}


def problem_text(problem: UnitProblem | str) -> str:
    """The sentence shown for ``problem`` in the request's language: field (and resident)
    first, then what is wrong. Plain strings are returned as they are."""
    if not isinstance(problem, UnitProblem):
        return str(problem)
    from ..visitors.messages import RELATION_LABELS

    template = PROBLEMS.get(problem.code)
    if template is None:
        return str(problem)
    value = problem.param("value")
    text = str(template) % {"limit": problem.param("limit", ""),
                            "value": repr(value) if value is not None else "",
                            "choices": "、".join(str(RELATION_LABELS.get(r, r))
                                                for r in RELATIONS)}
    if problem.code == "bad_code":
        return text
    field = str(FIELD_LABELS.get(problem.field, problem.field))
    if problem.resident:
        return _("Resident %(n)d, %(field)s: %(problem)s", n=problem.resident, field=field,
                 problem=text)
    return _("%(field)s: %(problem)s", field=field, problem=text)
