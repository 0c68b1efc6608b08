"""``/``: the duty dashboard: open alarms (until acknowledged with a note) and the latest
events, both kept up to date live through ``/live/stream``."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from ..auth import PAGE_ROLES, roles_required
from ..state import console

__all__ = ["bp", "DASHBOARD_EVENTS"]

#: Latest events shown on the dashboard.
DASHBOARD_EVENTS = 50

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@roles_required(*PAGE_ROLES["dashboard"])
def index() -> ResponseReturnValue:
    services = console().services
    return render_template("dashboard.html",
                           events=services.events.search(limit=DASHBOARD_EVENTS).items,
                           alarms=services.alarms.open(), max_events=DASHBOARD_EVENTS)
