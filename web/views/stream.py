"""``/live/stream``: server-sent events for the dashboard and the alarms page.

On connect the client gets a ``sync`` message (the open alarms and latest events, rendered),
then ``event``, ``alarm`` and ``alarm_ack`` messages as the :class:`~web.live.LiveFeed`
delivers them, each carrying server-rendered, escaped HTML rows. A heartbeat comment every
15 s keeps proxies from closing the connection and reveals a client that went away (the
write fails and the stream ends); the stream also ends when the user's log-in ends or the
console shuts down.

``/live/stream?view=patrol`` (the patrol supervisor page, roles of ``patrol_live``) is the
cheap variant: no sync and no rendered rows, only ``patrol`` messages (``{"round": id}`` or
``{"tap": event_id}`` when the round engine changed, ``{"alarm": id}`` when a ``patrol.*``
alarm was raised or acknowledged, ``{"sync": true}`` on each (re)connect), on which the page
fetches its rounds again. ``view=keys`` (the cabinet board, roles of ``key_cabinets``) and
``view=gate`` (the gate board's verdicts, roles of ``passes_guard``) are cheap the same way:
``keys`` messages (``{"cabinet": id}`` after a cabinet event was applied, ``{"loan": id}`` when
the console changed a loan, ``{"register": version}`` after a register change) and ``gate``
messages (``{"verdict": event_id}`` after a gate verdict was stored), each with ``{"sync":
true}`` on (re)connect; the page then fetches its board or verdict rows again. ``view=patrol_me``
(the patrol staff page, roles of ``patrol_me``) sends ``patrol_me`` messages like the ``patrol``
view's, but only about the logged-in user's own rounds (``{"round": id}`` when one closed or was
corrected, ``{"tap": event_id}`` when a tap went into one, ``{"alarm": id}`` when a ``patrol.*``
alarm was raised on one; never another walker's round or alarm), and ``{"sync": true}`` on each
(re)connect; the page then fetches ``/patrol/me/body``. A view's stream is refused (403) to a
role that may not open its page."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Iterator

from flask import (Blueprint, Response, abort, current_app, g, render_template, request,
                   session, stream_with_context, url_for)
from flask.typing import ResponseReturnValue

from ..auth import PAGE_ROLES, can, roles_required
from ..errors import NotFound
from ..security import safe_next
from ..state import console
from .dashboard import DASHBOARD_EVENTS
from .patrol.staff import round_is_mine, tap_is_mine

__all__ = ["bp", "sse", "sse_stream", "CHEAP_VIEWS"]

log = logging.getLogger(__name__)
bp = Blueprint("stream", __name__, url_prefix="/live")
#: Longest wait on the feed before checking for shutdown, seconds.
_POLL_S = 1.0
#: Kind prefix of the alarms the patrol view forwards.
PATROL_ALARMS = "patrol."


def sse(channel: str, payload: dict[str, Any]) -> str:
    """One server-sent event: ``event: <channel>`` and the JSON payload on one data line."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"event: {channel}\ndata: {data}\n\n"


def sse_stream(message: Callable[[str, dict[str, Any]], str | None], *,
               first: Callable[[], str] | None = None, poll_s: float = 0.5,
               name: str = "live") -> ResponseReturnValue:
    """A server-sent-event response for the logged-in user: ``retry: 3000``, then ``first()``
    (if given), then ``message(channel, payload)`` for each update from the live feed (None or
    "": skipped; one that raises is logged as ``<name> update`` and skipped), with a heartbeat
    comment every ``LIVE_HEARTBEAT_S`` seconds. It ends when the user's log-in ends (checked
    at each heartbeat) or the console shuts down (checked at least every ``poll_s`` seconds,
    default 0.5)."""
    st = console()
    heartbeat_s = float(current_app.config["LIVE_HEARTBEAT_S"])
    username, nonce = g.user.username, session.get("sid")

    def generate() -> Iterator[str]:
        sub = st.services.live.subscribe()
        st.stream_opened(sub)
        try:
            yield "retry: 3000\n\n"
            if first is not None:
                yield first()
            beat_at = time.monotonic() + heartbeat_s
            while not st.stopping.is_set() and not sub.closed:
                wait = beat_at - time.monotonic()
                if wait <= 0:
                    if nonce is not None and st.users.check_session(username, nonce) is None:
                        return  # logged out elsewhere, password changed, disabled
                    yield ": heartbeat\n\n"
                    beat_at = time.monotonic() + heartbeat_s
                    continue
                item = sub.get(timeout_s=min(wait, poll_s))
                if item is None:
                    continue
                try:
                    text = message(item[0], item[1])
                except Exception:  # a broken update must not end every page's stream
                    log.exception("%s update %s could not be rendered", name, item[0])
                    continue
                if text:
                    yield text
        finally:
            sub.close()
            st.stream_closed(sub)

    resp = Response(stream_with_context(generate()), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp


def _alarm_html(alarm: Any, next_url: str) -> str:
    return render_template("_alarm_row.html", alarm=alarm, next_url=next_url,
                           can_ack=can(g.user.role, "alarms"))


def _event_html(ev: Any) -> str:
    return render_template("_event_row.html", ev=ev)


def _message(channel: str, payload: dict[str, Any], next_url: str) -> str | None:
    """The SSE text for one live update, or None if this stream does not show it."""
    services = console().services
    if channel == "event" and payload.get("event_id"):
        ev = services.events.get(payload["event_id"])
        return sse("event", {"id": ev.event_id, "html": _event_html(ev)}) if ev else None
    if channel == "alarm" and payload.get("id") is not None:
        try:
            alarm = services.alarms.get(int(payload["id"]))
        except (NotFound, TypeError, ValueError):  # gone, or not an alarm id
            return None
        if not alarm.is_open:
            return None
        return sse("alarm", {"id": alarm.id, "html": _alarm_html(alarm, next_url)})
    if channel == "alarm_ack" and payload.get("id") is not None:
        return sse("alarm_ack", {"id": payload["id"], "by": payload.get("acknowledged_by")})
    return None


def _patrol_message(channel: str, payload: dict[str, Any]) -> str | None:
    """The ``patrol`` view's SSE text for one live update: ids only, nothing rendered."""
    if channel == "patrol":
        return sse("patrol", {k: str(payload[k])[:200] for k in ("round", "tap") if payload.get(k)})
    if channel in ("alarm", "alarm_ack") and str(payload.get("kind", "")).startswith(PATROL_ALARMS):
        return sse("patrol", {"alarm": payload.get("id")})
    return None


def _patrol_me_message(channel: str, payload: dict[str, Any]) -> str | None:
    """The ``patrol_me`` view's SSE text for one live update: only what is about one of the
    logged-in user's rounds (:mod:`.patrol.staff`), ids only. A ``round`` looks the round up
    by id, a ``tap`` the journaled tap by id (and its round only when another walker tapped on
    a schedule both may walk); a raised ``patrol.*`` alarm carries its round."""
    user = g.user.username
    if channel == "patrol":
        if payload.get("round"):
            round_id = str(payload["round"])[:200]
            return sse("patrol_me", {"round": round_id}) if round_is_mine(round_id, user) else None
        if payload.get("tap"):
            event_id = str(payload["tap"])[:200]
            return sse("patrol_me", {"tap": event_id}) if tap_is_mine(event_id, user) else None
        return None
    if channel == "alarm" and str(payload.get("kind", "")).startswith(PATROL_ALARMS):
        data = payload.get("data")
        round_id = data.get("round") if isinstance(data, dict) else None
        if round_id and round_is_mine(str(round_id)[:200], user):
            return sse("patrol_me", {"alarm": payload.get("id")})
    return None


#: Turns one live update ``(channel, payload)`` into a stream's SSE text (None: not shown).
Message = Callable[[str, dict[str, Any]], str | None]


def _ids_message(channel: str, fields: tuple[str, ...]) -> Message:
    """A cheap view's message maker: only ``channel`` updates, only ``fields`` (as short
    strings), nothing rendered."""
    def message(ch: str, payload: dict[str, Any]) -> str | None:
        if ch != channel:
            return None
        return sse(channel, {k: str(payload[k])[:200] for k in fields
                             if payload.get(k) is not None})
    return message


#: The cheap views: ``?view=`` -> (the page whose roles may open it, its message maker).
CHEAP_VIEWS: dict[str, tuple[str, Message]] = {
    "patrol": ("patrol_live", _patrol_message),
    "patrol_me": ("patrol_me", _patrol_me_message),
    "keys": ("key_cabinets", _ids_message("keys", ("cabinet", "loan", "register"))),
    "gate": ("passes_guard", _ids_message("gate", ("verdict",))),
}


def _sync(next_url: str) -> str:
    services = console().services
    events = services.events.search(limit=DASHBOARD_EVENTS).items
    alarms = services.alarms.open()
    return sse("sync", {
        "events_html": "".join(_event_html(ev) for ev in events),
        "alarms": [{"id": a.id, "html": _alarm_html(a, next_url)} for a in alarms],
    })


@bp.get("/stream")
@roles_required(*PAGE_ROLES["dashboard"])
def live_stream() -> ResponseReturnValue:
    next_url = safe_next(request.args.get("next"), url_for("dashboard.index"))
    view = request.args.get("view", "")
    if view in CHEAP_VIEWS:
        page, message = CHEAP_VIEWS[view]
        if not can(g.user.role, page):
            abort(403)
        return sse_stream(message, first=lambda: sse(view, {"sync": True}), poll_s=_POLL_S,
                          name=f"{view} live")
    return sse_stream(lambda channel, payload: _message(channel, payload, next_url),
                      first=lambda: _sync(next_url), poll_s=_POLL_S)
