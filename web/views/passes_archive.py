"""``/passes/archive`` (admin, desk): the ten-day archive report — passes issued or released in
a period (default: the last ten days), printable and as CSV, with passes issued but never used,
released at a gate but unknown to the console, used twice or released after a cancel flagged."""

from __future__ import annotations

import zoneinfo
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..auth import PAGE_ROLES, roles_required
from ..filters import format_ms
from ..passes.archive import FLAGS, build_archive, csv_rows, iter_archive
from ..passes.days import day_start, format_day, parse_day, today
from ..passes.messages import FLAG_LABELS
from ..state import console
from .csv_export import csv_download
from .passes import labels

__all__ = ["bp", "AUDIT_EXPORT", "PERIOD_DAYS", "MAX_DAYS"]

bp = Blueprint("passes_archive", __name__)
_manage = roles_required(*PAGE_ROLES["passes"])
AUDIT_EXPORT = "goods_pass.export"
#: Default period: security hands its copies back every ten days.
PERIOD_DAYS = 10
#: Longest period one report covers (days).
MAX_DAYS = 400


def _period() -> tuple[date, date, dict[str, str]]:
    tz = zoneinfo.ZoneInfo(console().config.timezone)
    last = today(console().clock(), tz)
    first = last - timedelta(days=PERIOD_DAYS - 1)
    errors: dict[str, str] = {}
    for name in ("since", "until"):
        raw = (request.args.get(name) or "").strip()
        if not raw:
            continue
        try:
            day = parse_day(raw)
        except ValueError:
            errors[name] = _("Not a valid date.")
            continue
        if name == "since":
            first = day
        else:
            last = day
    if not errors and last < first:
        errors["until"] = _("Must be after the start.")
    elif not errors and (last - first).days >= MAX_DAYS:
        errors["until"] = _("At most %(n)d days.", n=MAX_DAYS)
    return first, last, errors


def _bounds(first: date, last: date) -> tuple[int, int]:
    tz = zoneinfo.ZoneInfo(console().config.timezone)
    return day_start(first, tz), day_start(last + timedelta(days=1), tz)


@bp.get("/passes/archive")
@_manage
def report() -> ResponseReturnValue:
    st = console()
    first, last, errors = _period()
    rep = None
    if not errors:
        since, until = _bounds(first, last)
        rep = build_archive(st.services.passes, since, until, st.clock())
    return render_template("passes/archive.html", report=rep, errors=errors,
                           since=format_day(first), until=format_day(last), flags=FLAGS,
                           flag_labels=FLAG_LABELS, now=st.clock(), **labels()), \
        (400 if errors else 200)


@bp.get("/passes/archive.csv")
@_manage
def export_csv() -> ResponseReturnValue:
    st = console()
    first, last, errors = _period()
    if errors:
        return report()
    since, until = _bounds(first, last)
    now = st.clock()
    st.audit.record(AUDIT_EXPORT, user=g.user.username, target="passes-archive.csv",
                    detail=f"{format_day(first)}..{format_day(last)}",
                    remote_addr=request.remote_addr)

    def fmt(ms: Any) -> str:
        return format_ms(ms, "%Y-%m-%d %H:%M")

    rows = csv_rows(iter_archive(st.services.passes, since, until, now), fmt=fmt, now_ms=now)
    return csv_download(rows, name="passes-archive", now_ms=now)
