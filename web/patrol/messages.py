"""Translated sentences for the patrol plan's validation problems
(:class:`web.patrol.model.PatrolPlanError` ``code`` and ``params``), as
:mod:`web.access.messages` does for credentials."""

from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from .model import PatrolPlanError

__all__ = ["PROBLEMS", "WHAT_LABELS", "problem_text"]

#: the ``what`` of ``bad_id`` / ``duplicate``
WHAT_LABELS: Mapping[str, Any] = {
    "check-point": _l("Check-point"),
    "route": _l("Route"),
    "schedule": lazy_pgettext("patrol", "Schedule"),
    "patrol user": _l("Patrol staff"),
}

PROBLEMS: Mapping[str, Any] = {
    "bad_id": _l("%(what)s id: lower-case letters, digits, '_' or '-' (at most 64); got %(value)s."),
    "no_reader": _l("Check-point %(id)s: the node and the reader are required."),
    "negative_point": _l("Check-point %(checkpoint)s in the route: minutes and seconds must not be negative."),
    "no_points": _l("Route %(id)s needs at least one check-point."),
    "point_twice": _l("Route %(id)s lists check-point %(checkpoint)s twice."),
    "negative_route": _l("Route %(id)s: the tolerances must not be negative."),
    "bad_time": _l("A start time is HH:MM (00:00 to 23:59); got %(value)s."),
    "no_times": _l("Schedule %(id)s needs at least one start time."),
    "bad_weekdays": _l("Schedule %(id)s: choose at least one day of the week."),
    "bad_tz": _l("Schedule %(id)s: unknown time zone %(value)s."),
    "times_overflow": _l("Schedule %(id)s: the start times must fit in 24 hours."),
    "bad_every": _l("Schedule %(id)s: the repeat must be at least one minute."),
    "no_user": _l("Patrol staff need a console user."),
    "reader_taken": _l("Check-point %(id)s: reader %(reader)s is already check-point %(other)s."),
    "unknown_checkpoint": _l("Route %(id)s uses check-point %(checkpoint)s, which does not exist."),
    "card_taken": _l("Card %(card)s belongs to both %(other)s and %(user)s."),
    "unknown_route": _l("Schedule %(id)s uses route %(route)s, which does not exist."),
    "not_patrol_user": _l("Schedule %(id)s: %(user)s is not patrol staff."),
    "duplicate": _l("%(what)s %(id)s is defined twice."),
}


def problem_text(exc: PatrolPlanError) -> str:
    """The sentence for ``exc`` in the request's language (its English text if it has no
    known code)."""
    template = PROBLEMS.get(getattr(exc, "code", ""))
    if template is None:
        return str(exc)
    params = {k: (str(WHAT_LABELS.get(v, v)) if k == "what" else
                  repr(v) if k == "value" else v) for k, v in exc.params.items()}
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(exc)
