"""The meters' reading pages on the ``meters`` blueprint: ``/meters/unit/<code>`` (a unit's
meters: latest readings, a daily or monthly consumption chart as SVG, history) and
``/meters/statements`` (the monthly statement, printable, and its CSV export).

A unit's page follows the meters' assignment history: latest totals and live values only for
the meters the unit has now; its charts, period use and reading history only for the time the
unit had each meter (a meter it had before, within the charted time, gets a card of its own)."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..meters.assignments import FOREVER, clip
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


def _cuts(view: str, period: Any, now: int) -> tuple[list[int], list[Any]]:
    """The chart's bar edges (UTC ms) and, monthly, its periods."""
    f = _feature()
    if view == "monthly":
        periods = recent_periods(now, 12, day=f.rules.get().statement_day, tz=f.timezone)
        return [p.start for p in periods] + [periods[-1].end], periods
    return day_starts(period, tz=f.timezone), []


def _chart(meter: Any, view: str, period: Any, now: int, within: Any = None) -> Any:
    f = _feature()
    reg = meter.billed_register
    cuts, periods = _cuts(view, period, now)
    usages = f.readings.series(meter.meter_id, reg, cuts, now=now, within=within)
    if view == "monthly":
        points = [(p.name[2:], u.amount, u.estimated,
                   _("%(a)s to %(b)s", a=_local(p.start), b=_local(p.end)))
                  for p, u in zip(periods, usages)]
        every = 1
    else:
        points = [(_local(t, "%d"), u.amount, u.estimated, _local(t))
                  for t, u in zip(cuts, usages)]
        every = 2
    return bar_chart(points, unit=UNIT_OF_KIND.get(meter.kind, ""), every=every,
                     estimated_text=_("estimated"), missing_text=_("no data")), points


def _moved(windows: Any) -> Any:
    """The windows, or None for a meter the unit has had all along (never moved)."""
    if not windows or windows == [(-FOREVER, FOREVER)]:
        return None
    return windows


@bp.get("/meters/unit/<code>")
@_read
def unit(code: str) -> ResponseReturnValue:
    st = console()
    f = _feature()
    meters = f.registry.of_unit(code)
    windows = f.registry.windows_in(code)
    current = {m.meter_id for m in meters}
    former = sorted((m for mid in windows if mid not in current
                     and (m := f.registry.get(mid)) is not None),
                    key=lambda m: (m.kind, m.meter_id))
    unit_rec = st.services.units.get(code)
    if not meters and not former and unit_rec is None:
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
    cuts, _periods = _cuts(view, period, now)
    for m in meters:
        within = _moved(windows.get(m.meter_id))
        chart, points = _chart(m, view, period, now, within)
        usage = (f.readings.usage(m.meter_id, m.billed_register, period.start, period.end,
                                  now=now) if within is None else
                 f.readings.usage_within(m.meter_id, m.billed_register, period.start,
                                         period.end, within, now=now))
        cards.append({"meter": m, "latest": f.readings.latest(m.meter_id, m.billed_register),
                      "live": f.readings.live(m.meter_id), "state": f.readings.state(m.meter_id),
                      "chart": chart, "points": points, "usage": usage,
                      "since": within[-1][0] if within else None, "until": None})
    for m in former:          # had it before: only what was read while the unit had it
        within = windows[m.meter_id]
        if not clip(within, cuts[0], cuts[-1]):
            continue
        chart, points = _chart(m, view, period, now, within)
        cards.append({"meter": m, "latest": None, "live": None, "state": None, "former": True,
                      "chart": chart, "points": points,
                      "usage": f.readings.usage_within(m.meter_id, m.billed_register,
                                                       period.start, period.end, within, now=now),
                      "since": None, "until": within[-1][1]})
    kept = meters + former
    history = f.readings.history([(m.meter_id, m.billed_register) for m in kept],
                                 before=before, limit=HISTORY_PAGE,
                                 windows={mid: w for mid, w in windows.items()
                                          if _moved(w) is not None})
    prev_period = recent_periods(period.start - 1, 1, day=f.rules.get().statement_day,
                                 tz=f.timezone)[0]
    next_period = recent_periods(period.end, 1, day=f.rules.get().statement_day, tz=f.timezone)[0]
    return render_template("meters/unit.html", code=code, unit=unit_rec, cards=cards, view=view,
                           period=period, prev_period=prev_period,
                           next_period=next_period if next_period.start <= now else None,
                           history=history, history_more=len(history) == HISTORY_PAGE,
                           gap_ms=f.readings.gap_ms,
                           kinds={m.meter_id: m.kind for m in kept},
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
