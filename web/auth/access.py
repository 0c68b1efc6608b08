"""Who may open what: one table of pages and the roles allowed on each.

Views declare ``@roles_required(*PAGE_ROLES["events"])``; the navigation bar and the templates
ask :func:`can` so a user only sees links they may follow. Later features add their pages here.
"""

from __future__ import annotations

from typing import Mapping

from .users import ROLES

__all__ = ["ROLES", "PAGE_ROLES", "can"]

_ALL = frozenset(ROLES)

#: page name -> roles allowed. admin: everything; desk (前台): dashboard, events, alarms,
#: nodes; guard (门岗): dashboard, alarms, events; patrol (巡更): dashboard only.
PAGE_ROLES: Mapping[str, frozenset[str]] = {
    "dashboard": _ALL,
    "account": _ALL,                       # own password
    "events": frozenset({"admin", "desk", "guard"}),
    "alarms": frozenset({"admin", "desk", "guard"}),
    "nodes": frozenset({"admin", "desk"}),
    "users": frozenset({"admin"}),
    "audit": frozenset({"admin"}),
    # door access (issue 4): desk and admin manage cards and open doors remotely; the guard
    # watches the doors and reads the access log.
    "credentials": frozenset({"admin", "desk"}),
    "access_log": frozenset({"admin", "desk", "guard"}),
    "doors": frozenset({"admin", "desk", "guard"}),
    "door_unlock": frozenset({"admin", "desk"}),
}


def can(role: str | None, page: str) -> bool:
    """True if ``role`` may open ``page`` (unknown pages: nobody)."""
    return role is not None and role in PAGE_ROLES.get(page, frozenset())
