"""``/patrol/plan`` (administrators): the patrol plan editors — check-points, routes,
schedules and patrol staff. Every change is audit-logged; the round engine takes the new plan
at once (rounds not started yet are made again from it)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import pgettext
from wtforms import SelectChoice

from ...auth import PAGE_ROLES, roles_required
from ...patrol import Checkpoint, PatrolPlanError, PatrolUser, Route, Schedule
from ...patrol.messages import problem_text as plan_problem_text
from ...state import console
from ..forms import ConfirmForm
from . import PLAN_DELETE, PLAN_SAVE, bp
from .forms import CheckpointForm, PatrolUserForm, RouteForm, ScheduleForm

_admin = roles_required(*PAGE_ROLES["patrol_plan"])
KINDS = ("checkpoint", "route", "schedule", "user")
_FORMS: dict[str, Any] = {"checkpoint": CheckpointForm, "route": RouteForm,
                          "schedule": ScheduleForm, "user": PatrolUserForm}


def _svc() -> Any:
    return console().services.patrol


def _table(kind: str) -> dict[str, Any]:
    plan = _svc().plan
    return {"checkpoint": plan.checkpoints, "route": plan.routes, "schedule": plan.schedules,
            "user": plan.users}[kind]


def _titles() -> dict[str, str]:
    return {"checkpoint": _("Check-point"), "route": _("Route"),
            "schedule": pgettext("patrol", "Schedule"),
            "user": _("Patrol staff")}


@bp.get("/patrol/plan")
@_admin
def plan_index() -> ResponseReturnValue:
    plan = _svc().plan
    return render_template("patrol/plan.html", plan=plan, confirm_form=ConfirmForm())


def _choices(form: Any, kind: str, current: str | None) -> None:
    plan = _svc().plan
    if kind == "schedule":
        form.route.choices = [SelectChoice(r.id, f"{r.name} ({r.id})")
                              for r in plan.routes.values()]
        form.assignees.choices = [SelectChoice(u.user, u.name or u.user)
                                  for u in plan.users.values()]
    elif kind == "user":
        users = [u.username for u in console().users.list() if u.role == "patrol"]
        if current and current not in users:
            users.append(current)
        form.user.choices = [SelectChoice(u) for u in sorted(users)]


def _prefill(item: Any) -> dict[str, Any]:
    if isinstance(item, Route):
        lines = [f"{p.checkpoint} {p.expected_min:g} {p.tolerance_min:g} {p.min_walk_s:g}"
                 for p in item.points]
        return {"id": item.id, "name": item.name, "points": "\n".join(lines),
                "ordered": item.ordered, "start_tolerance_min": item.start_tolerance_min,
                "grace_min": item.grace_min, "adhoc": item.adhoc}
    if isinstance(item, Schedule):
        return {"id": item.id, "route": item.route, "times": " ".join(item.times),
                "weekdays": [str(d) for d in sorted(item.weekdays)],
                "assignees": list(item.assignees), "team": item.team}
    if isinstance(item, PatrolUser):
        return {"user": item.user, "name": item.name, "cards": "\n".join(item.cards),
                "team": item.team}
    assert isinstance(item, Checkpoint)
    return {"id": item.id, "name": item.name, "building": item.building, "floor": item.floor,
            "node": item.node, "reader": item.reader}


def _page(kind: str, form: Any, item_id: str | None, status: int = 200) -> ResponseReturnValue:
    return render_template("patrol/plan_form.html", kind=kind, form=form, item_id=item_id,
                           title=_titles()[kind]), status


@bp.route("/patrol/plan/<kind>/new", methods=["GET", "POST"])
@bp.route("/patrol/plan/<kind>/<item_id>/edit", methods=["GET", "POST"])
@_admin
def plan_edit(kind: str, item_id: str | None = None) -> ResponseReturnValue:
    if kind not in KINDS:
        abort(404)
    current = None
    if item_id is not None:
        current = _table(kind).get(item_id)
        if current is None:
            abort(404)
    form_cls = _FORMS[kind]
    form = form_cls(data=_prefill(current)) if (current and request.method == "GET") \
        else form_cls()
    _choices(form, kind, item_id if kind == "user" else None)
    if request.method == "GET":
        return _page(kind, form, item_id)
    key_field = form.user if kind == "user" else form.id
    if item_id is not None:
        key_field.data = item_id                     # the id is not editable
    if not form.validate_on_submit():
        return _page(kind, form, item_id, 400)
    if item_id is None and key_field.data in _table(kind):
        key_field.errors = [_("%(id)s is already used.", id=key_field.data)]
        return _page(kind, form, item_id, 400)
    st = console()
    try:
        if kind == "schedule":
            item = form.to_item(tz=st.config.timezone, active_from_ms=st.clock())
        else:
            item = form.to_item()
        _svc().save_item(item)
    except PatrolPlanError as exc:
        flash(_("Not saved: %(reason)s", reason=plan_problem_text(exc)), "error")
        return _page(kind, form, item_id, 400)
    st.audit.record(PLAN_SAVE, user=g.user.username, target=f"{kind} {key_field.data}",
                    detail="edit" if item_id else "add", remote_addr=request.remote_addr)
    flash(_("Saved %(what)s %(id)s.", what=_titles()[kind], id=key_field.data), "success")
    return redirect(url_for("patrol.plan_index"), code=303)


@bp.post("/patrol/plan/<kind>/<item_id>/delete")
@_admin
def plan_delete(kind: str, item_id: str) -> ResponseReturnValue:
    if kind not in KINDS or item_id not in _table(kind):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        _svc().delete_item(kind, item_id)
    except PatrolPlanError as exc:
        flash(_("Not deleted: %(reason)s", reason=plan_problem_text(exc)), "error")
        return redirect(url_for("patrol.plan_index"), code=303)
    console().audit.record(PLAN_DELETE, user=g.user.username, target=f"{kind} {item_id}",
                           remote_addr=request.remote_addr)
    flash(_("Deleted %(what)s %(id)s.", what=_titles()[kind], id=item_id), "success")
    return redirect(url_for("patrol.plan_index"), code=303)
