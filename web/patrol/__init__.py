"""Patrol rounds (电子巡更) on the console, without Flask: the plan (check-points, routes,
schedules, users), the round engine (live alarms, closing, corrections from replayed taps),
reports with CSV, and SQLite storage.

The console wires it up in :mod:`web.patrol.service` (ingest handler, tick job, alarms, closed
rounds moved to :mod:`web.patrol.round_store`).

Public interface: :class:`RoundEngine` (``on_tap``, ``tick``, ``load``, ``prune``,
``rounds_for_day``, ``rounds_between``, ``rounds_for_user``, ``open_rounds``, ``round``,
``set_plan``), the values
:class:`Tap`, :class:`PatrolAlarm`, :class:`Correction`, :class:`RoundView`, :class:`PointView`,
the plan types, :func:`patrol_report` / :func:`report_csv`, and the stores.
"""

from .engine import RoundEngine
from .model import (DEFAULT_TZ, Checkpoint, PatrolError, PatrolPlan, PatrolPlanError, PatrolUser,
                    Route, RoutePoint, Schedule)
from .report import PatrolReport, ReportRow, patrol_report, report_csv
from .rounds import ALARM_KINDS, TAP_KIND, Correction, PatrolAlarm, PointView, RoundView, Tap

__all__ = ["RoundEngine", "DEFAULT_TZ", "Checkpoint", "PatrolError", "PatrolPlan",
           "PatrolPlanError", "PatrolUser", "Route", "RoutePoint", "Schedule", "PatrolReport",
           "ReportRow", "patrol_report", "report_csv", "ALARM_KINDS", "TAP_KIND", "Correction",
           "PatrolAlarm", "PointView", "RoundView", "Tap"]
