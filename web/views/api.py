"""``/api/v1/``: a small JSON API for scripts and the demo self-check, behind the same log-in
and roles as the pages (a session cookie, or HTTP Basic credentials under the same failed-log-in
limits). Times are UTC ms.

- ``GET /api/v1/events?since=&until=&node=&kind=&q=&cursor=&limit=`` ->
  ``{"items": [...], "has_more": bool, "next_cursor": str|null}``
- ``GET /api/v1/events/<event_id>`` -> the event
- ``GET /api/v1/nodes`` -> ``{"items": [...]}`` with each node's open seq gaps
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from ..auth import PAGE_ROLES, roles_required
from ..errors import BadCursor
from ..state import console
from .forms import parse_event_filter

__all__ = ["bp", "MAX_LIMIT"]

MAX_LIMIT = 500
bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _bad(errors: dict[str, list[str]]) -> ResponseReturnValue:
    resp = jsonify(error="invalid parameters",
                   errors={k: [str(m) for m in v] for k, v in errors.items()})
    resp.status_code = 400
    return resp


@bp.get("/events")
@roles_required(*PAGE_ROLES["events"])
def events() -> ResponseReturnValue:
    st = console()
    filt = parse_event_filter(request.args, timezone=st.config.timezone, times_as_ms=True)
    errors = dict(filt.errors or {})
    raw_limit = request.args.get("limit", "50")
    limit = int(raw_limit) if raw_limit.isdigit() and len(raw_limit) < 6 else 0
    if not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = [f"must be an integer in 1..{MAX_LIMIT}"]
    if errors:
        return _bad(errors)
    try:
        page = st.services.events.search(**filt.store_args(), cursor=filt.cursor, limit=limit)
    except BadCursor:
        return _bad({"cursor": ["not a cursor this API handed out"]})
    return jsonify(items=[ev.to_dict() for ev in page.items], has_more=page.has_more,
                   next_cursor=page.next_cursor)


@bp.get("/events/<path:event_id>")
@roles_required(*PAGE_ROLES["events"])
def event(event_id: str) -> ResponseReturnValue:
    ev = console().services.events.get(event_id)
    if ev is None:
        abort(404)
    return jsonify(ev.to_dict())


@bp.get("/nodes")
@roles_required(*PAGE_ROLES["nodes"])
def nodes() -> ResponseReturnValue:
    services = console().services
    gaps: dict[str, list] = {}  # type: ignore[type-arg]
    for gap in services.events.gaps(open_only=True):
        gaps.setdefault(gap.node, []).append(gap.to_dict())
    return jsonify(items=[{**n.to_dict(), "gaps": gaps.get(n.node, [])}
                          for n in services.nodes.list()])
