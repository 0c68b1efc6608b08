"""``/schedules`` (admin): the access schedules credentials name (weekly intervals at minute
resolution, several per day, and what applies on holidays) and the site's holiday dates. Every
change is audit-logged, raises the ``credentials`` snapshot version and publishes it, so the
door nodes decide from the new times at once."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from .. import audit
from ..access.schedule_model import DAYS, validate_holiday, validate_schedule
from ..access.schedules import ScheduleExists, ScheduleInUse, ScheduleNotFound
from ..auth import PAGE_ROLES, roles_required
from ..state import console
from .audit_trail import record_action as _record
from .credentials import apply_problems as _apply_problems, publish_credentials as _published
from .forms import ConfirmForm
from .schedule_forms import DAY_FIELDS, DAY_LABELS, HolidayForm, ScheduleForm

__all__ = ["bp"]

bp = Blueprint("schedules", __name__)
_admin = roles_required(*PAGE_ROLES["schedules"])


def _index_page(holiday_form: HolidayForm | None = None, status: int = 200) -> ResponseReturnValue:
    svc = console().services
    return render_template("schedules.html", schedules=svc.schedules.list(),
                           usage=svc.schedules.usage(), holidays=svc.schedules.holidays(),
                           holiday_form=holiday_form or HolidayForm(formdata=None),
                           confirm_form=ConfirmForm(), days=DAYS, day_labels=DAY_LABELS,
                           version=svc.credentials.version(),
                           timezone=console().config.timezone), status


@bp.get("/schedules")
@_admin
def index() -> ResponseReturnValue:
    return _index_page()


def _form_page(form: ScheduleForm, *, schedule_id: str | None, status: int = 200
               ) -> ResponseReturnValue:
    return render_template("schedule_form.html", form=form, schedule_id=schedule_id,
                           day_fields=DAY_FIELDS, timezone=console().config.timezone), status


def _save(form: ScheduleForm, *, schedule_id: str | None) -> ResponseReturnValue:
    if not form.validate_on_submit():
        return _form_page(form, schedule_id=schedule_id, status=400)
    values = {name: getattr(form, name).data for name in ("schedule_id", "description", *DAY_FIELDS)}
    schedule, errors = validate_schedule(values)
    if schedule is None:
        _apply_problems(form, errors)
        return _form_page(form, schedule_id=schedule_id, status=400)
    store = console().services.schedules
    try:
        version = store.save(schedule, by=g.user.username, create=schedule_id is None)
    except ScheduleExists:
        _apply_problems(form, {"schedule_id": ["schedule_taken"]})
        return _form_page(form, schedule_id=schedule_id, status=400)
    except ScheduleNotFound:
        abort(404)
    detail = json.dumps({"v": version, **schedule.to_json_obj()}, ensure_ascii=False)
    _record(audit.SCHEDULE_EDIT if schedule_id else audit.SCHEDULE_ADD, schedule.schedule_id,
            detail)
    flash(_("Schedule %(id)s saved.", id=schedule.schedule_id), "success")
    _published()
    return redirect(url_for("schedules.index"), code=303)


@bp.route("/schedules/new", methods=["GET", "POST"])
@_admin
def add() -> ResponseReturnValue:
    form = ScheduleForm()
    if request.method == "GET":
        return _form_page(form, schedule_id=None)
    return _save(form, schedule_id=None)


@bp.route("/schedules/<schedule_id>/edit", methods=["GET", "POST"])
@_admin
def edit(schedule_id: str) -> ResponseReturnValue:
    current = console().services.schedules.get(schedule_id)
    if current is None:
        abort(404)
    if request.method == "GET":
        data: dict[str, Any] = {"schedule_id": current.schedule_id,
                                "description": current.description,
                                "holiday": " ".join(current.holiday)}
        data.update({d: " ".join(current.day(d)) for d in DAYS})
        return _form_page(ScheduleForm(data=data), schedule_id=schedule_id)
    form = ScheduleForm()
    form.schedule_id.data = schedule_id              # the name is not editable
    return _save(form, schedule_id=schedule_id)


@bp.post("/schedules/<schedule_id>/delete")
@_admin
def delete(schedule_id: str) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        version = console().services.schedules.delete(schedule_id, by=g.user.username)
    except ScheduleNotFound:
        abort(404)
    except ScheduleInUse as exc:
        flash(_("Schedule %(id)s is used by %(n)d credential(s); give them another schedule "
                "first.", id=schedule_id, n=exc.count), "error")
        return redirect(url_for("schedules.index"), code=303)
    _record(audit.SCHEDULE_DELETE, schedule_id, f"v{version}")
    flash(_("Schedule %(id)s deleted.", id=schedule_id), "success")
    _published()
    return redirect(url_for("schedules.index"), code=303)


@bp.post("/schedules/holidays")
@_admin
def add_holiday() -> ResponseReturnValue:
    form = HolidayForm()
    if not form.validate_on_submit():
        return _index_page(form, status=400)
    holiday, errors = validate_holiday({"day": form.day.data, "name": form.name.data})
    if holiday is None:
        _apply_problems(form, errors)
        return _index_page(form, status=400)
    version = console().services.schedules.set_holiday(holiday, by=g.user.username)
    _record(audit.HOLIDAY_ADD, holiday.day, f"{holiday.name} v{version}")
    flash(_("Holiday %(day)s saved.", day=holiday.day), "success")
    _published()
    return redirect(url_for("schedules.index"), code=303)


@bp.post("/schedules/holidays/<day>/delete")
@_admin
def delete_holiday(day: str) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        version = console().services.schedules.delete_holiday(day, by=g.user.username)
    except ScheduleNotFound:
        abort(404)
    _record(audit.HOLIDAY_DELETE, day, f"v{version}")
    flash(_("Holiday %(day)s removed.", day=day), "success")
    _published()
    return redirect(url_for("schedules.index"), code=303)
