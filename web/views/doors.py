"""The doors board: ``/doors`` (each door's state, live through ``/doors/stream``) and ``POST /doors/<door>/unlock`` (a signed
``door.unlock`` command to the door's node, with the operator's reason in the audit log)."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Iterator

from flask import (Blueprint, Response, abort, current_app, flash, g, redirect, render_template,
                   request, session, stream_with_context, url_for)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from .. import audit
from ..access.doors import door_board, state_after
from ..auth import PAGE_ROLES, roles_required
from ..errors import NotFound
from ..filters import format_ms
from ..labels import DOOR_STATE_LABELS, KIND_LABELS, label
from ..state import console
from .access_forms import UnlockForm
from .stream import sse

__all__ = ["bp"]

bp = Blueprint("doors", __name__)
_DOOR_RE = re.compile(r"^[a-z0-9-]{1,32}$")
_POLL_S = 0.5


@bp.get("/doors")
@roles_required(*PAGE_ROLES["doors"])
def board() -> ResponseReturnValue:
    doors = door_board(console().services.events)
    return render_template("doors.html", doors=doors, unlock_form=UnlockForm())


def _door_message(ev: dict[str, Any]) -> str | None:
    kind, data = ev.get("kind", ""), ev.get("data") or {}
    if not kind.startswith("door.") or not isinstance(data, dict) or not data.get("door"):
        return None
    state = state_after(kind, data)
    return sse("door", {
        "door": str(data["door"]), "node": ev.get("node"), "state": state,
        "state_label": label(DOOR_STATE_LABELS, state) if state else None,
        "event": {"time": format_ms(ev.get("ts")), "kind": label(KIND_LABELS, kind),
                  "holder": str(data.get("holder") or ""), "reason": str(data.get("reason") or "")}})


@bp.get("/doors/stream")
@roles_required(*PAGE_ROLES["doors"])
def stream() -> ResponseReturnValue:
    """Server-sent ``door`` messages: ``{door, node, state, state_label, event}`` for every
    door.* event the console receives."""
    st = console()
    heartbeat_s = float(current_app.config["LIVE_HEARTBEAT_S"])
    username, nonce = g.user.username, session.get("sid")

    def generate() -> Iterator[str]:
        sub = st.services.live.subscribe()
        st.stream_opened(sub)
        try:
            yield "retry: 3000\n\n"
            beat_at = time.monotonic() + heartbeat_s
            while not st.stopping.is_set() and not sub.closed:
                wait = beat_at - time.monotonic()
                if wait <= 0:
                    if nonce is not None and st.users.check_session(username, nonce) is None:
                        return
                    yield ": heartbeat\n\n"
                    beat_at = time.monotonic() + heartbeat_s
                    continue
                item = sub.get(timeout_s=min(wait, _POLL_S))
                if item is None or item[0] != "event":
                    continue
                text = _door_message(item[1])
                if text:
                    yield text
        finally:
            sub.close()
            st.stream_closed(sub)

    resp = Response(stream_with_context(generate()), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp


@bp.post("/doors/<door>/unlock")
@roles_required(*PAGE_ROLES["door_unlock"])
def unlock(door: str) -> ResponseReturnValue:
    st = console()
    if not _DOOR_RE.match(door):
        abort(404)
    form = UnlockForm()
    known = {d.door: d for d in door_board(st.services.events)}
    if door not in known:
        abort(404)
    if not form.validate_on_submit():
        return render_template("doors.html", doors=list(known.values()), unlock_form=form,
                               unlock_door=door), 400
    node = known[door].node
    try:
        env = st.services.commands.send(node, "door.unlock", {"door": door},
                                        issued_by=g.user.username)
    except NotFound:
        flash(_("The console has no command key for node %(node)s.", node=node), "error")
        return redirect(url_for("doors.board"), code=303)
    st.audit.record(audit.DOOR_UNLOCK, user=g.user.username, target=door,
                    detail=json.dumps({"node": node, "cmd_id": env.cmd_id,
                                       "reason": form.reason.data}, ensure_ascii=False),
                    remote_addr=request.remote_addr)
    record = st.services.commands.status(env.cmd_id)
    if record.state == "failed":
        flash(_("The unlock command for %(door)s could not be sent: the console is not "
                "connected to the broker.", door=door), "error")
    else:
        flash(_("Unlock command sent to %(door)s.", door=door), "success")
    return redirect(url_for("doors.board"), code=303)
