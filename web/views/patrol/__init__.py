"""Patrol (电子巡更) pages: ``/patrol/me`` (patrol staff, phone-sized: my next round, its next
check-point and deadline, my rounds today; live), ``/patrol/live`` (supervisors: today's rounds live,
patrol alarms acknowledged with a note), ``/patrol/rounds/<id>`` (one round, its corrections),
``/patrol/reports`` (+ ``.csv``: rounds per day and guard, completion %, missed points;
printable) and ``/patrol/plan`` (administrators: check-points, routes, schedules, patrol staff).
"""

from __future__ import annotations

from flask import Blueprint

__all__ = ["bp", "PLAN_SAVE", "PLAN_DELETE", "REPORT_EXPORT"]

bp = Blueprint("patrol", __name__)

#: Audit actions of the patrol pages.
PLAN_SAVE = "patrol.plan_save"
PLAN_DELETE = "patrol.plan_delete"
REPORT_EXPORT = "patrol.report_export"

from . import pages, plan, staff  # noqa: E402,F401 - the routes
