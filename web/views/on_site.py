"""``/on-site`` who is in the building now (在场访客): every visitor checked in and not checked
out, earliest first, with unit, people and arrival time, printable for an evacuation roll call.
The page follows changes live (``/on-site/stream`` says when to fetch ``/on-site/rows``).
Guards read it too."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from ..auth import PAGE_ROLES, roles_required
from ..state import console
from .stream import sse, sse_stream

__all__ = ["bp"]

bp = Blueprint("on_site", __name__)
_read = roles_required(*PAGE_ROLES["on_site"])


def _context() -> dict[str, Any]:
    st = console()
    visits = st.services.visitors.visits.on_site()
    return {"visits": visits, "people": sum(v.people for v in visits), "now": st.clock()}


@bp.get("/on-site")
@_read
def index() -> ResponseReturnValue:
    return render_template("on_site.html", **_context())


@bp.get("/on-site/rows")
@_read
def rows() -> ResponseReturnValue:
    return render_template("_on_site_rows.html", **_context())


def _message(channel: str, payload: dict[str, Any]) -> str | None:
    if channel == "desk" and payload.get("visit") is not None:
        return sse("changed", {"visit": payload["visit"]})
    if channel == "event" and payload.get("kind") == "intercom.invite_admitted":
        return sse("changed", {})
    return None


@bp.get("/on-site/stream")
@_read
def stream() -> ResponseReturnValue:
    return sse_stream(_message, name="on-site live")
