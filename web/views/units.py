"""``/units`` the unit registry (房号 / 住户): the desk reads it (who lives where, whom to call),
an administrator edits it: add, edit, delete, CSV import with a per-row report, CSV export.
Every change is written to the audit log."""

from __future__ import annotations

import csv
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..auth import PAGE_ROLES, roles_required
from ..state import console
from ..units import UnitError, UnitExists, UnitNotFound, parse_unit
from ..units.csv_io import COLUMNS, parse_residents, parse_units_csv, residents_text, export_rows
from ..units.messages import problem_text as unit_problem_text
from ..visitors import actions
from ..visitors.messages import RELATION_LABELS
from .audit_trail import record_action as _record
from .csv_export import csv_download
from .forms import ConfirmForm
from .visitor_forms import UnitForm, UnitImportForm

__all__ = ["bp", "MAX_IMPORT_BYTES", "PAGE_SIZE"]

bp = Blueprint("units", __name__)
_read = roles_required(*PAGE_ROLES["units"])
_edit = roles_required(*PAGE_ROLES["units_edit"])
PAGE_SIZE = 500
MAX_IMPORT_BYTES = 1024 * 1024

_CSV_PROBLEMS = {
    "extra_cells": lambda: _("The row has more cells than the header."),
    "duplicate_row": lambda: _("This unit appears on an earlier row too."),
    "bad_vacant": lambda: _("Vacant: use yes or no."),
    "too_many_rows": lambda: _("Too many rows; the rest of the file was not read."),
}


@bp.get("/units")
@_read
def index() -> ResponseReturnValue:
    store = console().services.units
    q = (request.args.get("q") or "").strip()[:60]
    building = (request.args.get("building") or "").strip()[:12]
    rows = store.search(text=q or None, building=building or None, limit=PAGE_SIZE)
    return render_template("units.html", rows=rows, q=q, building=building,
                           buildings=store.buildings(), total=store.count(),
                           relation_labels=RELATION_LABELS, page_size=PAGE_SIZE)


def _form_page(form: UnitForm, *, code: str | None, errors: list[str] | None = None,
               status: int = 200) -> ResponseReturnValue:
    return render_template("unit_form.html", form=form, code=code, errors=errors or []), status


def _from_form(form: UnitForm) -> tuple[Any, list[str]]:
    try:
        unit = parse_unit({"building": form.building.data or "", "number": form.number.data or "",
                           "vacant": bool(form.vacant.data),
                           "residents": parse_residents(form.residents.data or ""),
                           "note": form.note.data or ""})
    except UnitError as exc:
        return None, [unit_problem_text(p) for p in exc.problems]
    return unit, []


@bp.route("/units/new", methods=["GET", "POST"])
@_edit
def add() -> ResponseReturnValue:
    form = UnitForm()
    if request.method == "GET":
        return _form_page(form, code=None)
    if not form.validate_on_submit():
        return _form_page(form, code=None, status=400)
    unit, errors = _from_form(form)
    if unit is None:
        return _form_page(form, code=None, errors=errors, status=400)
    try:
        console().services.units.save(unit, by=g.user.username, create=True)
    except UnitExists:
        return _form_page(form, code=None, status=400,
                          errors=[_("Unit %(code)s is already registered.", code=unit.code)])
    _record(actions.UNIT_ADD, unit.code, f"{len(unit.residents)} resident(s), "
            f"vacant={'yes' if unit.vacant else 'no'}")
    flash(_("Unit %(code)s added.", code=unit.code), "success")
    return redirect(url_for("units.index"), code=303)


@bp.route("/units/<code>/edit", methods=["GET", "POST"])
@_edit
def edit(code: str) -> ResponseReturnValue:
    current = console().services.units.get(code)
    if current is None:
        abort(404)
    if request.method == "GET":
        form = UnitForm(data={"building": current.building, "number": current.number,
                              "vacant": current.vacant,
                              "residents": residents_text(current.residents),
                              "note": current.note})
        return _form_page(form, code=code)
    form = UnitForm()
    form.building.data, form.number.data = current.building, current.number   # code is fixed
    if not form.validate_on_submit():
        return _form_page(form, code=code, status=400)
    unit, errors = _from_form(form)
    if unit is None:
        return _form_page(form, code=code, errors=errors, status=400)
    try:
        console().services.units.save(unit, by=g.user.username, create=False)
    except UnitNotFound:
        abort(404)
    _record(actions.UNIT_EDIT, code, f"{len(unit.residents)} resident(s), "
            f"vacant={'yes' if unit.vacant else 'no'}")
    flash(_("Unit %(code)s saved.", code=code), "success")
    return redirect(url_for("units.index"), code=303)


@bp.post("/units/<code>/delete")
@_edit
def delete(code: str) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        console().services.units.delete(code)
    except UnitNotFound:
        abort(404)
    _record(actions.UNIT_DELETE, code)
    flash(_("Unit %(code)s deleted.", code=code), "success")
    return redirect(url_for("units.index"), code=303)


@bp.get("/units.csv")
@_edit
def export_csv() -> ResponseReturnValue:
    st = console()
    _record(actions.UNIT_EXPORT, "units.csv", f"{st.services.units.count()} rows")
    return csv_download(export_rows(iter(st.services.units)), name="units", now_ms=st.clock())


def _problem_text(code: Any) -> str:
    if not isinstance(code, str):
        return unit_problem_text(code)
    if code.startswith("missing_column:"):
        return _("The column %(column)s is missing from the header row; nothing was imported.",
                 column=code.split(":", 1)[1])
    make = _CSV_PROBLEMS.get(code)
    return make() if make else code


@bp.route("/units/import", methods=["GET", "POST"])
@_edit
def import_csv() -> ResponseReturnValue:
    form = UnitImportForm()

    def page(report: Any = None, status: int = 200) -> ResponseReturnValue:
        return render_template("unit_import.html", form=form, report=report,
                               columns=COLUMNS), status

    if request.method == "GET":
        return page()
    if not form.validate_on_submit():
        return page(status=400)
    raw = form.file.data.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        form.file.errors = [_("The file is larger than %(kb)d KB.", kb=MAX_IMPORT_BYTES // 1024)]
        return page(status=400)
    try:
        text = raw.decode("utf-8-sig")
        plan = parse_units_csv(text)
    except UnicodeDecodeError:
        form.file.errors = [_("The file is not UTF-8 text; save it as CSV UTF-8.")]
        return page(status=400)
    except csv.Error as exc:
        form.file.errors = [_("The file is not valid CSV: %(problem)s", problem=str(exc))]
        return page(status=400)
    st = console()
    store = st.services.units
    added = sum(1 for _line, u in plan.units if not store.exists(u.code))
    saved = store.upsert_many((u for _line, u in plan.units), by=g.user.username)
    problems = [{"row": p.row, "unit": p.unit, "problem": _problem_text(p.problem)}
                for p in plan.problems]
    report = {"added": added, "updated": saved - added,
              "refused": len({p["row"] for p in problems}), "problems": problems}
    _record(actions.UNIT_IMPORT, "units.csv",
            f"added={added} updated={saved - added} refused={report['refused']}")
    form = UnitImportForm(formdata=None)
    return page(report)
