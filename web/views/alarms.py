"""``/alarms``: open alarms (acknowledge each with a note) and the recent ones;
``/alarms/<id>``: one alarm; ``POST /alarms/<id>/ack``: acknowledge it. The acknowledgement
reaches every other open dashboard live (the store publishes ``alarm_ack``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from .. import audit
from ..auth import PAGE_ROLES, roles_required
from ..errors import AlreadyDone, NotFound
from ..security import safe_next
from ..state import console
from ..stores.alarms import Alarm
from .forms import AckForm

__all__ = ["bp", "RECENT_ALARMS"]

RECENT_ALARMS = 100
bp = Blueprint("alarms", __name__)


def _get(alarm_id: int) -> Alarm:
    try:
        return console().services.alarms.get(alarm_id)
    except NotFound:
        abort(404)


@bp.get("/alarms")
@roles_required(*PAGE_ROLES["alarms"])
def index() -> ResponseReturnValue:
    alarms = console().services.alarms
    recent = [a for a in alarms.recent(RECENT_ALARMS) if not a.is_open]
    return render_template("alarms.html", open_alarms=alarms.open(), recent=recent)


@bp.get("/alarms/<int:alarm_id>")
@roles_required(*PAGE_ROLES["alarms"])
def show(alarm_id: int) -> ResponseReturnValue:
    return render_template("alarm.html", alarm=_get(alarm_id), form=AckForm())


@bp.post("/alarms/<int:alarm_id>/ack")
@roles_required(*PAGE_ROLES["alarms"])
def acknowledge(alarm_id: int) -> ResponseReturnValue:
    st = console()
    alarm = _get(alarm_id)
    form = AckForm()
    referrer = urlsplit(request.referrer or "").path or None
    back = safe_next(form.next.data or referrer, url_for("alarms.index"))
    if not form.validate_on_submit():
        return render_template("alarm.html", alarm=alarm, form=form), 400
    try:
        st.services.alarms.acknowledge(alarm_id, user=g.user.username, note=form.note.data,
                                       now=st.clock())
    except AlreadyDone:
        done = st.services.alarms.get(alarm_id)
        flash(_("This alarm was already acknowledged by %(user)s.",
                user=done.acknowledged_by or "?"), "warning")
        return redirect(back, code=303)
    except ValueError:
        form.note.errors = [_("Write what was done about the alarm.")]
        return render_template("alarm.html", alarm=alarm, form=form), 400
    st.audit.record(audit.ALARM_ACK, user=g.user.username, target=f"alarm {alarm_id}",
                    detail=f"{alarm.kind} {alarm.node or ''}: {form.note.data.strip()}",
                    remote_addr=request.remote_addr)
    flash(_("Alarm acknowledged."), "success")
    return redirect(back, code=303)
