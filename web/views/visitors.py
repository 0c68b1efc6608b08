"""``/visitors`` visitor registration (来访登记) and the visit journal; ``/visitors/<id>`` one
visit with its actions (resident confirmed / refused, open the door, check in / out);
``/visitors/watchlist`` the watchlist and the desk's settings.

Only the last 4 characters of an ID number are kept: the number is read from the form, cut by
:func:`web.visitors.model.parse_visit` and never written anywhere (not the database, not the
audit log, not a log line, and the form never echoes it back). Every action is audited."""

from __future__ import annotations

import json
import zoneinfo
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..auth import PAGE_ROLES, can, roles_required
from ..errors import AlreadyDone, NotFound
from ..state import console
from ..visitors import actions
from ..visitors.desk import UnlockRefused
from ..visitors.messages import UNLOCK_REFUSALS, WATCH_KIND_LABELS, problem_text
from ..visitors.model import VisitError
from ..visitors.reports import desk_report
from ..visitors.settings import VisitorSettings
from .audit_trail import record_action as _record
from .forms import ConfirmForm
from .visitor_forms import SettingsForm, UnlockVisitForm, VisitForm, WatchForm

__all__ = ["bp"]

bp = Blueprint("visitors", __name__)
_desk = roles_required(*PAGE_ROLES["visitors"])
_watch = roles_required(*PAGE_ROLES["watchlist"])
_watch_edit = roles_required(*PAGE_ROLES["watchlist_edit"])


def _day_start(now_ms: int) -> int:
    tz = zoneinfo.ZoneInfo(console().config.timezone)
    local = datetime.fromtimestamp(now_ms / 1000, tz)
    return int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)


@bp.get("/visitors")
@_desk
def index() -> ResponseReturnValue:
    st = console()
    q = (request.args.get("q") or "").strip()[:40]
    unit = (request.args.get("unit") or "").strip()[:25]
    days = request.args.get("days", "1")
    span = {"1": 1, "7": 7, "30": 30, "180": 180}.get(days, 1)
    since = _day_start(st.clock()) - (span - 1) * 86_400_000
    rows = st.services.visitors.visits.search(since_ms=since, unit=unit or None, text=q or None)
    report = desk_report(st.services.db, since_ms=since, until_ms=st.clock() + 1,
                         timezone=st.config.timezone)
    return render_template("visitors.html", rows=rows, q=q, unit=unit, days=str(span),
                           report=report)


# -- registration ---------------------------------------------------------------------------------

def _apply(form: VisitForm, errors: dict[str, list[str]]) -> None:
    for name, codes in errors.items():
        fld = getattr(form, name, None)
        if fld is not None:
            fld.errors = list(fld.errors) + [problem_text(c) for c in codes]


@bp.route("/visitors/new", methods=["GET", "POST"])
@_desk
def register() -> ResponseReturnValue:
    st = console()
    desk = st.services.visitors
    if request.method == "GET":
        call_key = (request.args.get("call") or "")[:80]
        call = desk.calls.get(call_key) if call_key else None
        form = VisitForm(data={"unit": (call.unit if call else None) or request.args.get("unit", ""),
                               "call_id": call.key if call else ""})
        return render_template("visit_form.html", form=form, call=call)
    form = VisitForm()
    call = desk.calls.get(form.call_id.data) if form.call_id.data else None
    if not form.validate_on_submit():
        return render_template("visit_form.html", form=form, call=call), 400
    values = {k: getattr(form, k).data for k in ("name", "id_type", "id_number", "phone", "unit",
                                                  "purpose", "plate", "people", "call_id")}
    try:
        reg = desk.register(values, by=g.user.username)
    except VisitError as exc:
        _apply(form, exc.errors)
        return render_template("visit_form.html", form=form, call=call), 400
    finally:
        values.pop("id_number", None)
        form.id_number.data = ""
    v = reg.visit
    _record(actions.VISIT_REGISTER, v.id, json.dumps(
        {"unit": v.unit, "call": v.call_key, "people": v.people,
         "watchlist": [f"{h.kind}:{h.shown}" for h in reg.hits]}, ensure_ascii=False))
    if reg.hits:
        flash(_("Watchlist: this visitor matches %(what)s. Check before letting them in.",
                what="; ".join(f"{WATCH_KIND_LABELS[h.kind]} {h.shown}" + (f" ({h.note})" if h.note else "")
                               for h in reg.hits)), "warning")
    flash(_("Visit registered for unit %(unit)s.", unit=v.unit), "success")
    return redirect(url_for("visitors.show", visit_id=v.id), code=303)


# -- one visit ------------------------------------------------------------------------------------

@bp.get("/visitors/<int:visit_id>")
@_desk
def show(visit_id: int) -> ResponseReturnValue:
    svc = console().services
    visit = svc.visitors.visits.get(visit_id)
    if visit is None:
        abort(404)
    call = svc.visitors.calls.get(visit.call_key) if visit.call_key else None
    return render_template("visit.html", v=visit, call=call, unit=svc.units.get(visit.unit),
                           nodes=svc.visitors.unlock_nodes())


def _visit_action(visit_id: int, fn: Any, action: str, detail: str, done: str) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        visit = fn(visit_id)
    except NotFound:
        abort(404)
    except AlreadyDone:
        flash(_("Nothing to change: the visit is already past that step."), "warning")
        return redirect(url_for("visitors.show", visit_id=visit_id), code=303)
    except UnlockRefused as exc:
        flash(str(UNLOCK_REFUSALS.get(exc.code, exc.code)), "error")
        return redirect(url_for("visitors.show", visit_id=visit_id), code=303)
    _record(action, visit_id, f"unit {visit.unit}; {detail}")
    flash(done, "success")
    return redirect(request.form.get("next") == "desk" and url_for("desk.index")
                    or url_for("visitors.show", visit_id=visit_id), code=303)


@bp.post("/visitors/<int:visit_id>/confirm")
@_desk
def confirm(visit_id: int) -> ResponseReturnValue:
    via = request.form.get("via", "")
    if via not in ("phone", "in_person"):
        abort(400)
    desk = console().services.visitors
    return _visit_action(visit_id, lambda i: desk.confirm_visit(i, via=via, by=g.user.username),
                         actions.VISIT_CONFIRM, f"resident confirmed ({via})",
                         _("Resident's consent recorded."))


@bp.post("/visitors/<int:visit_id>/refuse")
@_desk
def refuse(visit_id: int) -> ResponseReturnValue:
    desk = console().services.visitors
    return _visit_action(visit_id, lambda i: desk.refuse_visit(i, by=g.user.username),
                         actions.VISIT_REFUSE, "resident refused",
                         _("Recorded: the resident refused the visit."))


@bp.post("/visitors/<int:visit_id>/check-in")
@_desk
def check_in(visit_id: int) -> ResponseReturnValue:
    desk = console().services.visitors
    return _visit_action(visit_id, lambda i: desk.check_in(i, by=g.user.username,
                                                           role=g.user.role),
                         actions.VISIT_CHECK_IN, "checked in", _("Visitor checked in."))


@bp.post("/visitors/<int:visit_id>/check-out")
@_desk
def check_out(visit_id: int) -> ResponseReturnValue:
    desk = console().services.visitors
    return _visit_action(visit_id, lambda i: desk.check_out(i, by=g.user.username),
                         actions.VISIT_CHECK_OUT, "checked out", _("Visitor checked out."))


@bp.post("/visitors/<int:visit_id>/unlock")
@_desk
def unlock(visit_id: int) -> ResponseReturnValue:
    st = console()
    desk = st.services.visitors
    form = UnlockVisitForm()
    back = (url_for("desk.index") if request.form.get("next") == "desk"
            else url_for("visitors.show", visit_id=visit_id))
    if not form.validate_on_submit():
        abort(400)
    reason = (form.reason.data or "").strip() or None
    try:
        done = desk.unlock(visit_id, by=g.user.username, role=g.user.role,
                           node=form.node.data or None, override_reason=reason)
    except NotFound:
        abort(404)
    except UnlockRefused as exc:
        flash(str(UNLOCK_REFUSALS.get(exc.code, exc.code)), "error")
        return redirect(back, code=303)
    _record(actions.VISIT_UNLOCK, visit_id, json.dumps(
        {"unit": done.visit.unit, "node": done.node, "cmd_id": done.command.cmd_id,
         "sent": done.sent, "override": done.override}, ensure_ascii=False))
    if done.sent:
        flash(_("Door opening: command sent to %(node)s.", node=done.node), "success")
    else:
        flash(_("The door command could not be sent: the console is not connected to the "
                "broker."), "error")
    return redirect(back, code=303)


# -- watchlist and settings -----------------------------------------------------------------------

def _watch_page(form: WatchForm | None = None, settings_form: SettingsForm | None = None,
                status: int = 200) -> ResponseReturnValue:
    desk = console().services.visitors
    current = desk.settings.get()
    return render_template(
        "watchlist.html", entries=desk.watchlist.all(), form=form or WatchForm(),
        settings_form=settings_form or SettingsForm(data={
            "call_timeout_s": current.call_timeout_s, "checkout_hour": current.checkout_hour,
            "anonymise_days": current.anonymise_days}),
        can_edit=can(g.user.role, "watchlist_edit")), status


@bp.get("/visitors/watchlist")
@_watch
def watchlist() -> ResponseReturnValue:
    return _watch_page()


@bp.post("/visitors/watchlist")
@_watch_edit
def watch_add() -> ResponseReturnValue:
    form = WatchForm()
    if not form.validate_on_submit():
        return _watch_page(form, status=400)
    try:
        entry = console().services.visitors.watchlist.add(
            form.kind.data, form.value.data, note=form.note.data or "", by=g.user.username)
    except VisitError as exc:
        for name, codes in exc.errors.items():
            fld = getattr(form, name, form.value)
            fld.errors = list(fld.errors) + [problem_text(c) for c in codes]
        return _watch_page(form, status=400)
    _record(actions.WATCH_ADD, entry.id, f"{entry.kind}: {entry.shown}")
    flash(_("Added to the watchlist."), "success")
    return redirect(url_for("visitors.watchlist"), code=303)


@bp.post("/visitors/watchlist/<int:entry_id>/delete")
@_watch_edit
def watch_remove(entry_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        entry = console().services.visitors.watchlist.remove(entry_id)
    except NotFound:
        abort(404)
    _record(actions.WATCH_REMOVE, entry_id, f"{entry.kind}: {entry.shown}")
    flash(_("Removed from the watchlist."), "success")
    return redirect(url_for("visitors.watchlist"), code=303)


@bp.post("/visitors/settings")
@_watch_edit
def settings() -> ResponseReturnValue:
    form = SettingsForm()
    if not form.validate_on_submit():
        return _watch_page(settings_form=form, status=400)
    new = VisitorSettings(call_timeout_s=form.call_timeout_s.data,
                          checkout_hour=form.checkout_hour.data,
                          anonymise_days=form.anonymise_days.data)
    console().services.visitors.settings.save(new)
    _record(actions.VISITOR_SETTINGS, "visitor_settings",
            f"call_timeout_s={new.call_timeout_s} checkout_hour={new.checkout_hour} "
            f"anonymise_days={new.anonymise_days}")
    flash(_("Settings saved."), "success")
    return redirect(url_for("visitors.watchlist"), code=303)


def local_input(ms: int, tz_name: str) -> str:
    """``ms`` as the value of a datetime-local input in the site's zone."""
    return datetime.fromtimestamp(ms / 1000, zoneinfo.ZoneInfo(tz_name)).strftime("%Y-%m-%dT%H:%M")



