"""The meters' reading pages on the ``meters`` blueprint: ``/meters/unit/<code>`` (a unit's
meters: latest readings, a daily or monthly consumption chart as SVG, history) and
``/meters/statements`` (the monthly statement, printable, and its CSV export)."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..meters.chart import bar_chart
from ..meters.messages import KIND_LABELS, MARK_LABELS, SOURCE_LABELS
from ..meters.model import UNIT_OF_KIND
from ..meters.periods import day_starts, period_of, recent_periods
from ..meters.statements import build_statement, statement_csv_rows
from ..state import console
from .csv_export import csv_download
from .meters import (HISTORY_PAGE, STATEMENT_EXPORT, _feature, _local, _period_arg, _read,
                     _record, bp)

__all__: list[str] = []


def _chart(meter: Any, view: str, period: Any, now: int) -> Any:
    f = _feature()
    reg = meter.billed_register
    if view == "monthly":
        periods = recent_periods(now, 12, day=f.rules.get().statement_day, tz=f.timezone)
        cuts = [p.start for p in periods] + [periods[-1].end]
        usages = f.readings.series(meter.meter_id, reg, cuts, now=now)
        points = [(p.name[2:], u.amount, u.estimated,
                   _("%(a)s to %(b)s", a=_local(p.start), b=_local(p.end)))
                  for p, u in zip(periods, usages)]
        every = 1
    else:
        cuts = day_starts(period, tz=f.timezone)
        usages = f.readings.series(meter.meter_id, reg, cuts, now=now)
        points = [(_local(t, "%d"), u.amount, u.estimated, _local(t))
                  for t, u in zip(cuts, usages)]
        every = 2
    return bar_chart(points, unit=UNIT_OF_KIND.get(meter.kind, ""), every=every,
                     estimated_text=_("estimated"), missing_text=_("no data")), points


@bp.get("/meters/unit/<code>")
@_read
def unit(code: str) -> ResponseReturnValue:
    st = console()
    f = _feature()
    meters = f.registry.of_unit(code)
    unit_rec = st.services.units.get(code)
    if not meters and unit_rec is None:
        abort(404)
    view = request.args.get("view") or "daily"
    if view not in ("daily", "monthly"):
        abort(400)
    if request.args.get("period"):
        period = _period_arg()
    else:
        period = period_of(st.clock(), day=f.rules.get().statement_day, tz=f.timezone)
    before_text = request.args.get("before") or ""
    before = int(before_text) if before_text.isdigit() and len(before_text) <= 15 else None
    now = st.clock()
    cards = []
    for m in meters:
        chart, points = _chart(m, view, period, now)
        cards.append({"meter": m, "latest": f.readings.latest(m.meter_id, m.billed_register),
                      "live": f.readings.live(m.meter_id), "state": f.readings.state(m.meter_id),
                      "chart": chart, "points": points,
                      "usage": f.readings.usage(m.meter_id, m.billed_register, period.start,
                                                period.end, now=now)})
    history = f.readings.history([(m.meter_id, m.billed_register) for m in meters],
                                 before=before, limit=HISTORY_PAGE)
    prev_period = recent_periods(period.start - 1, 1, day=f.rules.get().statement_day,
                                 tz=f.timezone)[0]
    next_period = recent_periods(period.end, 1, day=f.rules.get().statement_day, tz=f.timezone)[0]
    return render_template("meters/unit.html", code=code, unit=unit_rec, cards=cards, view=view,
                           period=period, prev_period=prev_period,
                           next_period=next_period if next_period.start <= now else None,
                           history=history, history_more=len(history) == HISTORY_PAGE,
                           gap_ms=f.readings.gap_ms,
                           kinds={m.meter_id: m.kind for m in meters},
                           kind_labels=KIND_LABELS, units_of=UNIT_OF_KIND, marks=MARK_LABELS,
                           sources=SOURCE_LABELS, local=_local)


def _statement(period: Any) -> Any:
    st = console()
    f = _feature()
    vacant = {u.code for u in st.services.units.search(vacant=True, limit=1_000_000)}
    return build_statement(period, registry=f.registry, readings=f.readings,
                           vacant_units=vacant, now=st.clock())


@bp.get("/meters/statements")
@_read
def statements() -> ResponseReturnValue:
    period = _period_arg()
    f = _feature()
    statement = _statement(period)
    choices = recent_periods(console().clock(), 13, day=f.rules.get().statement_day,
                             tz=f.timezone)[::-1]
    return render_template("meters/statements.html", statement=statement, period=period,
                           choices=choices, kind_labels=KIND_LABELS, units_of=UNIT_OF_KIND,
                           marks=MARK_LABELS, local=_local)


@bp.get("/meters/statements.csv")
@_read
def statement_csv() -> ResponseReturnValue:
    period = _period_arg()
    statement = _statement(period)
    _record(STATEMENT_EXPORT, period.name, f"{len(statement.rows)} meters")
    return csv_download(statement_csv_rows(statement, fmt=lambda ms: _local(ms, "%Y-%m-%d %H:%M")),
                        name=f"meter-statement-{period.name}", now_ms=console().clock())
