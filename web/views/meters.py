"""``/meters`` (admin edits, desk reads): the meter registry (远程抄表) with CSV import and
export, each unit's meters (latest readings, a consumption chart, history), monthly statements
(printable, CSV) and the settings (admin: statement day, the statement's estimate tolerance and
gap threshold, anomaly thresholds).  Every change is audit-logged."""

from __future__ import annotations

import csv
import zoneinfo
from dataclasses import asdict, fields
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..auth import PAGE_ROLES, roles_required
from ..labels import label
from ..meters import MeterExists, MeterNotFound, MeterRules, validate_meter
from ..meters.csv_io import COLUMNS, export_rows, parse_csv
from ..meters.messages import FIELD_LABELS, KIND_LABELS, problem_text
from ..meters.model import KINDS, KNOWN_MAPS, UNIT_OF_KIND
from ..meters.periods import PERIOD_RE
from ..meters.registry import MoveRefused
from ..meters.rules import RULE_LIMITS
from ..state import console
from .access_forms import ImportForm
from .audit_trail import record_action as _record
from .csv_export import csv_download
from .forms import ConfirmForm
from .meters_forms import MeterForm, RulesForm

__all__ = ["bp", "MAX_IMPORT_BYTES", "HISTORY_PAGE"]

bp = Blueprint("meters", __name__)
_read = roles_required(*PAGE_ROLES["meters"])
_admin = roles_required(*PAGE_ROLES["meters_admin"])
#: Largest CSV the import takes, bytes.
MAX_IMPORT_BYTES = 1024 * 1024
HISTORY_PAGE = 24

METER_ADD, METER_EDIT, METER_DELETE = "meter.add", "meter.edit", "meter.delete"
METER_IMPORT, METER_EXPORT = "meter.import", "meter.export"
STATEMENT_EXPORT, SETTINGS = "meter.statement_export", "meter.settings"


def _feature():  # type: ignore[no-untyped-def]
    return console().services.meters


def _tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(_feature().timezone)


def _local(ms: int, fmt: str = "%Y-%m-%d") -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).astimezone(_tz()).strftime(fmt)


def _period_arg(name: str = "period"):  # type: ignore[no-untyped-def]
    text = (request.args.get(name) or "").strip()
    if text and not PERIOD_RE.match(text):
        abort(400)
    try:
        return _feature().period(text or None)
    except ValueError:
        abort(400)


# -- registry ----------------------------------------------------------------------------------

@bp.get("/meters")
@_read
def index() -> ResponseReturnValue:
    f = _feature()
    q = (request.args.get("q") or "").strip()[:64]
    kind = request.args.get("kind") or ""
    meters = f.registry.search(text=q or None, kind=kind if kind in KINDS else None, limit=1000)
    states = f.readings.states()
    registered = f.registry.ids()
    latest = {m.meter_id: f.readings.latest(m.meter_id, m.billed_register) for m in meters}
    unregistered = sorted((s for mid, s in states.items() if mid not in registered),
                          key=lambda s: s.meter_id)
    return render_template("meters/index.html", meters=meters, states=states, latest=latest,
                           unregistered=unregistered, q=q, kind=kind, kinds=KINDS,
                           kind_labels=KIND_LABELS, units_of=UNIT_OF_KIND,
                           total=f.registry.count(), confirm_form=ConfirmForm())


def _apply(form: MeterForm, errors: dict[str, list[str]]) -> None:
    for name, codes in errors.items():
        fld = getattr(form, name, None)
        if fld is not None:
            fld.errors = list(fld.errors) + [problem_text(c) for c in codes]


def _form_page(form: MeterForm, meter_id: str | None, status: int = 200) -> ResponseReturnValue:
    history = _feature().registry.history(meter_id) if meter_id else []
    return render_template("meters/form.html", form=form, meter_id=meter_id,
                           maps=sorted(KNOWN_MAPS), history=history[::-1],
                           now_local=_local(console().clock(), _TIME_INPUT)), status


#: How the effective time is written in the form (site time; ``datetime-local``).
_TIME_INPUT = "%Y-%m-%dT%H:%M"


def _parse_local(text: str) -> int | None:
    """UTC ms of a site-time ``YYYY-MM-DD HH:MM`` (or ``T`` between), None if malformed."""
    try:
        naive = datetime.strptime(text.strip().replace("T", " "), "%Y-%m-%d %H:%M")
    except ValueError:
        return None
    return int(naive.replace(tzinfo=_tz()).timestamp() * 1000)


def _save(form: MeterForm, meter_id: str | None, current: Any = None) -> ResponseReturnValue:
    if not form.validate_on_submit():
        return _form_page(form, meter_id, 400)
    values = {name: getattr(form, name).data for name in
              ("meter_id", "unit", "kind", "map", "node", "bus", "slave", "register", "note")}
    meter, errors = validate_meter(values)
    if meter is not None and not console().services.units.exists(meter.unit):
        errors = {"unit": ["unit_unknown"]}
    effective_text = (form.effective_at.data or "").strip() if meter_id else ""
    moved = current is not None and meter is not None and current.unit != meter.unit
    effective = None
    if moved and effective_text:
        effective = _parse_local(effective_text)
        if effective is None:
            errors.setdefault("effective_at", []).append("bad_time")
    if meter is None or errors:
        _apply(form, errors)
        return _form_page(form, meter_id, 400)
    try:
        _feature().registry.save(meter, by=g.user.username, create=meter_id is None,
                                 effective_at=effective)
    except MeterExists:
        _apply(form, {"meter_id": ["id_taken"]})
        return _form_page(form, meter_id, 400)
    except MeterNotFound:
        abort(404)
    except MoveRefused as refused:
        _apply(form, {"effective_at": [refused.code]})
        if refused.previous is not None:
            form.effective_at.errors.append(_("Its previous change took effect %(t)s.",
                                              t=_local(refused.previous, "%Y-%m-%d %H:%M")))
        return _form_page(form, meter_id, 400)
    detail = (f"unit={meter.unit} kind={meter.kind} node={meter.node} bus={meter.bus} "
              f"slave={meter.slave} register={meter.billed_register}")
    if moved:
        at = effective if effective is not None else console().clock()
        detail += f" moved_from={current.unit} effective={_local(at, '%Y-%m-%d %H:%M')}"
    _record(METER_ADD if meter_id is None else METER_EDIT, meter.meter_id, detail)
    flash(_("Meter %(id)s saved.", id=meter.meter_id), "success")
    return redirect(url_for("meters.index"), code=303)


@bp.route("/meters/new", methods=["GET", "POST"])
@_admin
def add() -> ResponseReturnValue:
    form = MeterForm()
    if request.method == "GET":
        form.unit.data = (request.args.get("unit") or "")[:32]
        form.meter_id.data = (request.args.get("meter") or "")[:32]
        form.node.data = (request.args.get("node") or "")[:32]
        if request.args.get("kind") in KINDS:
            form.kind.data = request.args["kind"]
        return _form_page(form, None)
    return _save(form, None)


@bp.route("/meters/<meter_id>/edit", methods=["GET", "POST"])
@_admin
def edit(meter_id: str) -> ResponseReturnValue:
    current = _feature().registry.get(meter_id)
    if current is None:
        abort(404)
    if request.method == "GET":
        form = MeterForm(data={"meter_id": current.meter_id, "unit": current.unit,
                               "kind": current.kind, "map": current.map, "node": current.node,
                               "bus": current.bus, "slave": str(current.slave or ""),
                               "register": current.register, "note": current.note})
        return _form_page(form, meter_id)
    form = MeterForm()
    form.meter_id.data = meter_id                       # the id is not editable
    return _save(form, meter_id, current)


@bp.post("/meters/<meter_id>/delete")
@_admin
def delete(meter_id: str) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        _feature().registry.delete(meter_id, by=g.user.username)
    except MeterNotFound:
        abort(404)
    _record(METER_DELETE, meter_id)
    flash(_("Meter %(id)s removed from the registry; its readings are kept.", id=meter_id),
          "success")
    return redirect(url_for("meters.index"), code=303)


@bp.get("/meters.csv")
@_read
def export_csv() -> ResponseReturnValue:
    f = _feature()
    _record(METER_EXPORT, "meters.csv", f"{f.registry.count()} rows")
    return csv_download(export_rows(iter(f.registry)), name="meters", now_ms=console().clock())


def _import_page(form: ImportForm, report: Any, status: int = 200) -> ResponseReturnValue:
    return render_template("meters/import.html", form=form, report=report, columns=COLUMNS), status


@bp.route("/meters/import", methods=["GET", "POST"])
@_admin
def import_csv() -> ResponseReturnValue:
    form = ImportForm()
    if request.method == "GET":
        return _import_page(form, None)
    if not form.validate_on_submit():
        return _import_page(form, None, 400)
    raw = form.file.data.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        form.file.errors = [_("The file is larger than %(kb)d KB.", kb=MAX_IMPORT_BYTES // 1024)]
        return _import_page(form, None, 400)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        form.file.errors = [_("The file is not UTF-8 text; save it as CSV UTF-8.")]
        return _import_page(form, None, 400)
    units = console().services.units
    try:
        plan = parse_csv(text, unit_exists=units.exists)
    except csv.Error as exc:
        form.file.errors = [_("The file is not valid CSV: %(problem)s", problem=str(exc))]
        return _import_page(form, None, 400)
    added, updated, moved = _feature().registry.import_meters((m for _, m in plan.meters),
                                                              by=g.user.username)
    for mv in moved:
        _record(METER_EDIT, mv.meter_id, f"unit={mv.new_unit} moved_from={mv.old_unit} "
                f"effective={_local(mv.at, '%Y-%m-%d %H:%M')} (import)")
    problems = [{"row": p.row, "id": p.meter_id, "field": label(FIELD_LABELS, p.field),
                 "problem": problem_text(p.code)} for p in plan.problems]
    report = {"added": added, "updated": updated, "refused": plan.refused_rows,
              "problems": problems, "moved": len(moved)}
    _record(METER_IMPORT, "meters.csv", f"added={added} updated={updated} refused={plan.refused_rows}"
            + (f" moved={len(moved)}" if moved else ""))
    return _import_page(ImportForm(formdata=None), report)


# -- settings ----------------------------------------------------------------------------------

@bp.route("/meters/settings", methods=["GET", "POST"])
@_admin
def settings() -> ResponseReturnValue:
    store = _feature().rules
    current = store.get()
    if request.method == "GET":
        form = RulesForm(data=asdict(current))
        return _settings_page(form, store.defaults)
    form = RulesForm()
    if not form.validate_on_submit():
        return _settings_page(form, store.defaults, 400)
    values = {f.name: getattr(form, f.name).data for f in fields(MeterRules)}
    rules = MeterRules(**{k: float(v) if isinstance(v, Decimal) else v for k, v in values.items()})
    store.save(rules, by=g.user.username)
    changed = {k: v for k, v in asdict(rules).items() if getattr(current, k) != v}
    _record(SETTINGS, "meters", " ".join(f"{k}={v}" for k, v in changed.items()) or "unchanged")
    flash(_("Meter settings saved."), "success")
    return redirect(url_for("meters.settings"), code=303)


def _settings_page(form: RulesForm, defaults: MeterRules, status: int = 200) -> ResponseReturnValue:
    return render_template("meters/settings.html", form=form, defaults=defaults,
                           limits=RULE_LIMITS), status


from . import meters_reports  # noqa: E402,F401  (the unit page and statements on this blueprint)
