"""The doors board: ``/doors`` (each door's state, live through ``/doors/stream``), the remote
commands ``POST /doors/<door>/unlock``, ``/hold-open`` (``minutes``) and ``/release`` (signed
``door.unlock`` / ``door.hold_open`` / ``door.release`` commands to the door's node, with the
operator's reason in the audit log), and ``GET /doors/commands/<cmd_id>``: what became of one
(pending / ok / failed / expired), polled by ``doors.js`` so the board shows it without reload."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import (Blueprint, abort, flash, g, jsonify, redirect, render_template,
                   url_for)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from .. import audit
from ..access.doors import door_board, state_after
from ..auth import PAGE_ROLES, roles_required
from ..errors import NotFound
from ..filters import format_ms
from ..commands import CommandRecord
from ..access.messages import COMMAND_STATE_LABELS, DOOR_ACTION_LABELS
from ..labels import DOOR_STATE_LABELS, KIND_LABELS, label
from ..state import console
from .access_forms import HoldOpenForm, ReleaseForm, UnlockForm
from .audit_trail import record_action
from .stream import sse, sse_stream

__all__ = ["bp"]

bp = Blueprint("doors", __name__)
_DOOR_RE = re.compile(r"^[a-z0-9-]{1,32}$")
_CMD_RE = re.compile(r"^[A-Za-z0-9]{8,64}$")


#: The door commands the board sends (and shows the results of).
DOOR_ACTIONS = ("door.unlock", "door.hold_open", "door.release")
#: How many recent door commands the board lists.
RECENT_COMMANDS = 8


def _command_view(record: CommandRecord) -> dict[str, Any]:
    return {"cmd_id": record.cmd_id, "state": record.state,
            "state_label": label(COMMAND_STATE_LABELS, record.state),
            "error": record.error or "", "door": str((record.args or {}).get("door") or ""),
            "action": record.action, "action_label": label(DOOR_ACTION_LABELS, record.action),
            "issued_by": record.issued_by, "issued_at": format_ms(record.issued_at, "%m-%d %H:%M:%S")}


def _recent_commands() -> list[dict[str, Any]]:
    records = [r for r in console().services.commands.recent(limit=100)
               if r.action in DOOR_ACTIONS]
    return [_command_view(r) for r in records[:RECENT_COMMANDS]]


def _board_page(doors: list[Any], *, form: UnlockForm | None = None, form_door: str | None = None,
                status: int = 200) -> ResponseReturnValue:
    blank = HoldOpenForm(formdata=None)
    return render_template("doors.html", doors=doors, unlock_form=form or blank,
                           unlock_door=form_door, commands=_recent_commands(),
                           hold_choices=blank.minutes.choices), status


@bp.get("/doors")
@roles_required(*PAGE_ROLES["doors"])
def board() -> ResponseReturnValue:
    return _board_page(door_board(console().services.events))


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
    return sse_stream(lambda channel, payload: _door_message(payload) if channel == "event"
                      else None, name="doors live")


def _send(door: str, form: UnlockForm, *, action: str, args: dict[str, Any],
          audit_action: str, detail: dict[str, Any], sent_text: str) -> ResponseReturnValue:
    """Validate ``form``, sign and send ``action`` to the door's node, audit it with the
    reason, and go back to the board (where the command's result shows up)."""
    st = console()
    if not _DOOR_RE.match(door):
        abort(404)
    known = {d.door: d for d in door_board(st.services.events)}
    if door not in known:
        abort(404)
    if not form.validate_on_submit():
        return _board_page(list(known.values()), form=form, form_door=door, status=400)
    node = known[door].node
    try:
        env = st.services.commands.send(node, action, {"door": door, **args},
                                        issued_by=g.user.username)
    except NotFound:
        flash(_("The console has no command key for node %(node)s.", node=node), "error")
        return redirect(url_for("doors.board"), code=303)
    record_action(audit_action, door, json.dumps({"node": node, "cmd_id": env.cmd_id, **detail,
                                                  "reason": form.reason.data}, ensure_ascii=False))
    record = st.services.commands.status(env.cmd_id)
    if record.state == "failed":
        flash(_("The command for %(door)s could not be sent: the console is not connected to "
                "the broker.", door=door), "error")
    else:
        flash(sent_text, "success")
    return redirect(url_for("doors.board", cmd=env.cmd_id), code=303)


@bp.post("/doors/<door>/unlock")
@roles_required(*PAGE_ROLES["door_unlock"])
def unlock(door: str) -> ResponseReturnValue:
    return _send(door, UnlockForm(), action="door.unlock", args={}, audit_action=audit.DOOR_UNLOCK,
                 detail={}, sent_text=_("Unlock command sent to %(door)s.", door=door))


@bp.post("/doors/<door>/hold-open")
@roles_required(*PAGE_ROLES["door_unlock"])
def hold_open(door: str) -> ResponseReturnValue:
    form = HoldOpenForm()
    minutes = form.minutes.data if isinstance(form.minutes.data, int) else 0
    until = console().clock() + minutes * 60_000
    return _send(door, form, action="door.hold_open", args={"seconds": minutes * 60},
                 audit_action=audit.DOOR_HOLD_OPEN,
                 detail={"minutes": minutes, "until": format_ms(until)},
                 sent_text=_("Hold-open command sent to %(door)s (until %(until)s).", door=door,
                             until=format_ms(until, "%H:%M")))


@bp.post("/doors/<door>/release")
@roles_required(*PAGE_ROLES["door_unlock"])
def release(door: str) -> ResponseReturnValue:
    return _send(door, ReleaseForm(), action="door.release", args={},
                 audit_action=audit.DOOR_RELEASE, detail={},
                 sent_text=_("Release command sent to %(door)s.", door=door))


@bp.get("/doors/commands/<cmd_id>")
@roles_required(*PAGE_ROLES["doors"])
def command_status(cmd_id: str) -> ResponseReturnValue:
    """``{cmd_id, state, state_label, error}`` of a door command (the board polls it until
    the state is no longer ``pending``)."""
    if not _CMD_RE.match(cmd_id):
        abort(404)
    try:
        record = console().services.commands.status(cmd_id)
    except NotFound:
        abort(404)
    if record.action not in DOOR_ACTIONS:
        abort(404)
    resp = jsonify(_command_view(record))
    resp.headers["Cache-Control"] = "no-store"
    return resp
