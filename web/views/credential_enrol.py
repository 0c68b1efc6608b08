"""``GET /credentials/enrol/read`` (admin, desk): the JSON the credential form's "read from
reader" button polls (``web/static/enrol.js``); see :mod:`web.access.enrol`.

Without ``after``/``since`` it starts a wait; with them it answers ``waiting``, ``found``
(``card``, ``reader``, ``owner``) or ``expired``. Reading changes nothing, so it is a GET and
needs no CSRF token; the credential is saved (and audited) by the form itself."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from ..access import enrol
from ..auth import PAGE_ROLES, roles_required
from ..state import console

__all__ = ["bp"]

bp = Blueprint("enrol", __name__)


def _bad(message: str) -> ResponseReturnValue:
    return jsonify({"error": message}), 400


def _int_arg(name: str) -> int | None:
    text = request.args.get(name, "")
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise ValueError(name)
    return int(text)


@bp.get("/credentials/enrol/read")
@roles_required(*PAGE_ROLES["credentials"])
def read() -> ResponseReturnValue:
    st = console()
    node = request.args.get("node", "")
    reader = request.args.get("reader", "").strip() or None
    if not enrol.NODE_RE.fullmatch(node):
        return _bad("node must be a node id")
    if reader is not None and not enrol.READER_RE.fullmatch(reader):
        return _bad("reader must be a reader name")
    try:
        after, since = _int_arg("after"), _int_arg("since")
    except ValueError as exc:
        return _bad(f"{exc} must be a whole number")
    now = st.clock()
    db = st.services.db
    if after is None or since is None:
        result = enrol.start(db, now_ms=now)
    elif since > now:
        return _bad("since is in the future")
    else:
        result = enrol.poll(db, node=node, reader=reader, after=after, since=since, now_ms=now)
    resp = jsonify(result.to_dict())
    resp.headers["Cache-Control"] = "no-store"
    return resp
