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
    "door_unlock": frozenset({"admin", "desk"}),       # also hold-open / release
    "schedules": frozenset({"admin"}),                # access schedules and holiday dates
    # intercom desk and visitors (issue 6): desk and admin; guards read the on-site list
    # (evacuation); the unit registry is edited by admin, read by the desk
    "desk": frozenset({"admin", "desk"}),
    "visitors": frozenset({"admin", "desk"}),
    "visit_override": frozenset({"admin"}),           # unlock without the resident's consent
    "on_site": frozenset({"admin", "desk", "guard"}),
    "invites": frozenset({"admin", "desk"}),
    "watchlist": frozenset({"admin", "desk"}),
    "watchlist_edit": frozenset({"admin"}),
    "units": frozenset({"admin", "desk"}),
    "units_edit": frozenset({"admin"}),
    "intercom_panels": frozenset({"admin"}),          # panel -> building for keyed unit numbers
    # goods passes (issue 7): the desk issues, cancels, prints and archives; the guard sees
    # today's valid passes, a pass's page and the gate verdicts
    "passes": frozenset({"admin", "desk"}),
    "passes_guard": frozenset({"admin", "desk", "guard"}),
    # key cabinet (issue 8): admins keep the key register; the desk reads it, lends keys
    # (desk-assisted release), follows loans and reminders; guards watch the cabinets
    "keys": frozenset({"admin", "desk"}),
    "keys_admin": frozenset({"admin"}),
    "key_release": frozenset({"admin", "desk"}),
    "key_loans": frozenset({"admin", "desk"}),
    "key_cabinets": frozenset({"admin", "desk", "guard"}),
    # patrol (issue 9): staff see their own rounds (phone page); desk and guard supervise
    # rounds live and read reports; the administrator edits the plan.
    "patrol_me": frozenset({"patrol", "admin"}),
    "patrol_live": frozenset({"admin", "desk", "guard"}),
    "patrol_reports": frozenset({"admin", "desk", "guard"}),
    "patrol_plan": frozenset({"admin"}),
    # meter reading (issue 10): the desk reads meters, unit pages and statements; the
    # administrator edits the meter registry and the anomaly thresholds.
    "meters": frozenset({"admin", "desk"}),
    "meters_admin": frozenset({"admin"}),
}


def can(role: str | None, page: str) -> bool:
    """True if ``role`` may open ``page`` (unknown pages: nobody)."""
    return role is not None and role in PAGE_ROLES.get(page, frozenset())
