"""``/passes/guard`` (admin, desk, guard): the gate's board — today's valid passes (what may
go out, with the items to check) and the newest gate verdicts. ``passes.js`` listens to
``/live/stream?view=gate`` and, when a verdict was stored, fetches the rows again from
``/passes/guard/verdicts`` (server-rendered); also every :data:`FALLBACK_MS`, and every
:data:`REFRESH_MS` in a browser without server-sent events."""

from __future__ import annotations

import zoneinfo

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from ..auth import PAGE_ROLES, roles_required
from ..passes.days import day_last_minute, day_start, today
from ..state import console
from .passes import labels

__all__ = ["bp", "REFRESH_MS", "FALLBACK_MS", "VERDICT_ROWS"]

bp = Blueprint("passes_guard", __name__)
_guard = roles_required(*PAGE_ROLES["passes_guard"])
#: How often the board asks for new verdicts without server-sent events (ms).
REFRESH_MS = 5_000
#: How often the board asks for new verdicts while it listens to the stream (ms, a fallback).
FALLBACK_MS = 30_000
VERDICT_ROWS = 30


def _today() -> tuple[int, int]:
    tz = zoneinfo.ZoneInfo(console().config.timezone)
    day = today(console().clock(), tz)
    return day_start(day, tz), day_last_minute(day, tz)


@bp.get("/passes/guard")
@_guard
def index() -> ResponseReturnValue:
    st = console()
    start, end = _today()
    return render_template("passes/guard.html", passes=st.services.passes.valid_between(start, end),
                           verdicts=st.services.passes.recent_verdicts(limit=VERDICT_ROWS),
                           refresh_ms=REFRESH_MS, fallback_ms=FALLBACK_MS, now=st.clock(),
                           **labels())


@bp.get("/passes/guard/verdicts")
@_guard
def verdicts() -> ResponseReturnValue:
    st = console()
    return render_template("passes/_verdict_rows.html",
                           verdicts=st.services.passes.recent_verdicts(limit=VERDICT_ROWS),
                           **labels())
