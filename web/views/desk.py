"""``/desk`` the front desk's intercom page (前台对讲): incoming calls appear live with the unit's
residents and phones from the unit registry; the desk answers, records the resident's consent
(by phone / in person) or refusal, registers the visitor and opens the door. Emergency-button
alarms (紧急求助) sit at the top in red until acknowledged on the alarm page.

``/desk/stream`` (server-sent events): ``call`` ``{key, html, ringing}``, ``visit`` ``{id,
html, on_site}`` (``html`` empty when the visit left the desk's list), ``emergency`` ``{id,
html}``, ``alarm_ack`` ``{id}``; every ``html`` is rendered and escaped by the server.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..auth import PAGE_ROLES, roles_required
from ..errors import NotFound
from ..state import console
from ..visitors import actions
from ..visitors.calls import Call
from ..visitors.desk import DAY_MS
from .forms import ConfirmForm
from .stream import sse, sse_stream

__all__ = ["bp", "EMERGENCY_KINDS"]

bp = Blueprint("desk", __name__)
_desk = roles_required(*PAGE_ROLES["desk"])
#: Alarm kinds shown in the desk page's red banner.
EMERGENCY_KINDS = ("intercom.emergency", "intercom.invite_forged")
_CALL_KINDS = ("intercom.call", "intercom.answered", "intercom.no_answer", "intercom.refused",
               "intercom.timeout", "intercom.door_opened")


def _desk_visits(now: int) -> list[Any]:
    return console().services.visitors.visits.pending(now - DAY_MS)


def _emergencies() -> list[Any]:
    return [a for a in console().services.alarms.open() if a.kind in EMERGENCY_KINDS]


def call_html(call: Call) -> str:
    svc = console().services
    unit = svc.units.get(call.unit) if call.unit else None
    # a number the registry does not know: name the building the panel is mapped to (now)
    building = None if unit else svc.visitors.panels.building_for(call.node, call.panel)
    visits = svc.visitors.visits.for_call(call.key)
    return render_template("_desk_call.html", call=call, unit=unit, building=building,
                           visits=visits)


def visit_html(visit: Any, *, nodes: list[str] | None = None) -> str:
    """A waiting visit's card; ``nodes``: the doors it may be let in at (default: looked up)."""
    if nodes is None:
        nodes = console().services.visitors.unlock_nodes()
    return render_template("_desk_visit.html", v=visit, nodes=nodes)


def emergency_html(alarm: Any) -> str:
    return render_template("_desk_emergency.html", alarm=alarm)


@bp.get("/desk")
@_desk
def index() -> ResponseReturnValue:
    st = console()
    now = st.clock()
    svc = st.services
    calls = svc.visitors.calls.desk(now)
    nodes = svc.visitors.unlock_nodes()
    return render_template("desk.html", calls_html=[call_html(c) for c in calls],
                           visits_html=[visit_html(v, nodes=nodes) for v in _desk_visits(now)],
                           emergencies_html=[emergency_html(a) for a in _emergencies()],
                           on_site=len(svc.visitors.visits.on_site()))


# -- live -----------------------------------------------------------------------------------------

def _message(channel: str, payload: dict[str, Any]) -> str | None:
    svc = console().services
    if channel == "event":
        kind, data = payload.get("kind"), payload.get("data") or {}
        if kind in _CALL_KINDS and isinstance(data, dict) and data.get("call_id"):
            return _call_message(f"{payload.get('node')}:{data['call_id']}")
        if kind == "intercom.invite_admitted" and isinstance(data, dict) and data.get("invite_id"):
            visits = svc.visitors.visits.for_invite(str(data["invite_id"]))
            if visits:
                return _visit_message(visits[-1].id)
        return None
    if channel == "desk":
        if payload.get("call"):
            found = _call_message(str(payload["call"]))
            if found is not None:
                return found
        if payload.get("visit") is not None:
            return _visit_message(int(payload["visit"]))
        return None
    if channel == "alarm" and payload.get("kind") in EMERGENCY_KINDS:
        try:
            alarm = svc.alarms.get(int(payload["id"]))
        except (NotFound, KeyError, TypeError, ValueError):
            return None
        return sse("emergency", {"id": alarm.id, "html": emergency_html(alarm)}) if alarm.is_open else None
    if channel == "alarm_ack" and payload.get("id") is not None:
        return sse("alarm_ack", {"id": payload["id"]})
    return None


def _call_message(key: str) -> str | None:
    call = console().services.visitors.calls.get(key)
    if call is None:
        return None
    return sse("call", {"key": call.key, "html": call_html(call), "ringing": call.state == "ringing"})


def _visit_message(visit_id: int) -> str | None:
    svc = console().services
    visit = svc.visitors.visits.get(visit_id)
    if visit is None:
        return None
    listed = visit.arrived_at is None and visit.registered_at >= console().clock() - DAY_MS
    return sse("visit", {"id": visit.id, "html": visit_html(visit) if listed else "",
                         "on_site": len(svc.visitors.visits.on_site())})


@bp.get("/desk/stream")
@_desk
def stream() -> ResponseReturnValue:
    return sse_stream(_message, name="desk live")


# -- call actions ---------------------------------------------------------------------------------

def _call_action(key: str, do: Callable[[str], Call], action: str, detail: str,
                 done: str) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        call = do(key)
    except NotFound:
        abort(404)
    console().audit.record(action, user=g.user.username, target=key,
                           detail=f"unit {call.unit_label}; {detail}",
                           remote_addr=request.remote_addr)
    flash(done, "success")
    return redirect(url_for("desk.index"), code=303)


@bp.post("/desk/calls/<key>/answer")
@_desk
def answer(key: str) -> ResponseReturnValue:
    desk = console().services.visitors
    return _call_action(key, lambda k: desk.answer_call(k, by=g.user.username),
                        actions.CALL_ANSWER, "answered", _("Call answered."))


@bp.post("/desk/calls/<key>/confirm")
@_desk
def confirm(key: str) -> ResponseReturnValue:
    via = request.form.get("via", "")
    if via not in ("phone", "in_person"):
        abort(400)
    desk = console().services.visitors
    return _call_action(key, lambda k: desk.confirm_call(k, via=via, by=g.user.username),
                        actions.CALL_CONFIRM, f"resident confirmed ({via})",
                        _("Resident's consent recorded."))


@bp.post("/desk/calls/<key>/refuse")
@_desk
def refuse(key: str) -> ResponseReturnValue:
    desk = console().services.visitors
    return _call_action(key, lambda k: desk.end_call(k, outcome="refused", by=g.user.username),
                        actions.CALL_REFUSE, "resident refused",
                        _("Recorded: the resident refused the visit."))


@bp.post("/desk/calls/<key>/no-answer")
@_desk
def no_answer(key: str) -> ResponseReturnValue:
    desk = console().services.visitors
    return _call_action(key, lambda k: desk.end_call(k, outcome="no_answer", by=g.user.username),
                        actions.CALL_NO_ANSWER, "no answer",
                        _("Recorded: nobody answered. Ask the visitor to arrange a time with "
                          "the resident."))


# -- labels for the desk and visitor templates ----------------------------------------------------

def _register_labels() -> None:
    from ..visitors import messages as m

    for name, table in (("call_state_label", m.CALL_STATE_LABELS),
                        ("call_outcome_label", m.OUTCOME_LABELS),
                        ("confirm_label", m.CONFIRM_LABELS),
                        ("visit_state_label", m.VISIT_STATE_LABELS),
                        ("id_type_label", m.ID_TYPE_LABELS),
                        ("relation_label", m.RELATION_LABELS),
                        ("watch_kind_label", m.WATCH_KIND_LABELS)):
        bp.add_app_template_filter(lambda v, t=table: str(t.get(v, v or "")), name)

    def watch_hits(text: str) -> str:
        """Stored hits ``kind:value (note); ...`` with the kinds in the user's language."""
        out = []
        for hit in (text or "").split("; "):
            kind, _sep, rest = hit.partition(":")
            out.append(f"{m.WATCH_KIND_LABELS[kind]} {rest}" if kind in m.WATCH_KIND_LABELS else hit)
        return "; ".join(out)

    bp.add_app_template_filter(watch_hits, "watch_hits")


_register_labels()
