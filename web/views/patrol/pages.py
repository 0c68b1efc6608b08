"""The patrol pages people read: supervisor, one round, reports (see the package note; the
staff page is in :mod:`.staff`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ...auth import PAGE_ROLES, roles_required
from ...patrol import ALARM_KINDS, RoundView
from ...patrol.report import CSV_COLUMNS, patrol_report
from ...state import console
from ..csv_export import csv_download
from ..forms import AckForm
from . import REPORT_EXPORT, bp

#: Longest report period, days.
MAX_REPORT_DAYS = 92


def svc() -> Any:
    return console().services.patrol


def _names() -> dict[str, Any]:
    """Look-ups the templates use: check-points and routes by id."""
    plan = svc().plan
    return {"checkpoints": plan.checkpoints, "routes": plan.routes, "users": plan.users}


def _live_rounds(now: int, today: date) -> list[RoundView]:
    s = svc()
    seen: dict[str, RoundView] = {}
    for r in s.engine.open_rounds(now=now):               # a night round begun yesterday
        seen[r.id] = r
    for r in s.engine.rounds_for_day(today, now=now):
        seen.setdefault(r.id, r)
    return sorted(seen.values(), key=lambda r: (r.start_ms, r.id))


def _live_context() -> dict[str, Any]:
    now = console().clock()
    today = svc().today(now)
    rounds = _live_rounds(now, today)
    counts = {k: sum(1 for r in rounds if r.state == k)
              for k in ("planned", "running", "completed", "incomplete")}
    return dict(rounds=rounds, counts=counts, alarms=svc().open_alarms(), ack_form=AckForm(),
                now=now, today=today, alarm_kinds=ALARM_KINDS, **_names())


@bp.get("/patrol/live")
@roles_required(*PAGE_ROLES["patrol_live"])
def live() -> ResponseReturnValue:
    return render_template("patrol/live.html", **_live_context())


@bp.get("/patrol/live/body")
@roles_required(*PAGE_ROLES["patrol_live"])
def live_body() -> ResponseReturnValue:
    """The supervisor page's counts, alarms and rounds alone: what ``patrol.js`` fetches when
    the live feed says a round changed (and every ``data-patrol-refresh`` seconds)."""
    resp = current_app.make_response(render_template("patrol/_live_body.html",
                                                     **_live_context()))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/patrol/rounds/<round_id>")
@roles_required(*PAGE_ROLES["patrol_live"])
def round_page(round_id: str) -> ResponseReturnValue:
    view = svc().round(round_id[:200])
    if view is None:
        abort(404)
    return render_template("patrol/round.html", r=view, now=console().clock(), **_names())


def _period() -> tuple[date, date, list[str]]:
    """``start`` / ``end`` (YYYY-MM-DD) from the query; default: this month up to today."""
    today = svc().today()
    errors: list[str] = []
    start, end = today.replace(day=1), today
    for name in ("start", "end"):
        text = (request.args.get(name) or "").strip()
        if text:
            try:
                value = date.fromisoformat(text[:10])
            except ValueError:
                errors.append(_("%(value)s is not a date YYYY-MM-DD.", value=text[:10]))
                continue
            if name == "start":
                start = value
            else:
                end = value
    if end < start:
        errors.append(_("The end is before the start."))
        start, end = end, start
    if (end - start).days + 1 > MAX_REPORT_DAYS:
        errors.append(_("At most %(n)d days; the period was shortened.", n=MAX_REPORT_DAYS))
        start = end - timedelta(days=MAX_REPORT_DAYS - 1)
    return start, end, errors


@bp.get("/patrol/reports")
@roles_required(*PAGE_ROLES["patrol_reports"])
def reports() -> ResponseReturnValue:
    start, end, errors = _period()
    report = patrol_report(svc(), start, end)
    return render_template("patrol/reports.html", report=report, start=start, end=end,
                           errors=errors, **_names())


@bp.get("/patrol/reports.csv")
@roles_required(*PAGE_ROLES["patrol_reports"])
def reports_csv() -> ResponseReturnValue:
    st = console()
    start, end, _errors = _period()
    report = patrol_report(svc(), start, end)
    st.audit.record(REPORT_EXPORT, user=g.user.username, target=f"{start}..{end}",
                    detail=f"{len(report.rows)} rows", remote_addr=request.remote_addr)

    def rows() -> Any:
        yield CSV_COLUMNS
        for row in (*report.rows, *report.days, report.total):
            yield (row.day.isoformat() if row.day else "total", row.guard, row.rounds,
                   row.completed, row.incomplete, row.open, f"{row.completion_pct:.1f}",
                   row.points_expected, row.points_visited, row.points_missed, row.points_late,
                   " ".join(row.missed_points))

    return csv_download(rows(), name=f"patrol-{start}-{end}", now_ms=st.clock())
