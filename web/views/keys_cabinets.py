"""``/keys/cabinets`` the live picture of every key cabinet: each slot present / out / wrong /
fault / empty, the cabinet door, the node. ``keys.js`` (no inline script under the console's
CSP) listens to ``/live/stream?view=keys`` and, when a cabinet event was applied or a loan or
the register changed, fetches ``/keys/cabinets.json`` to update the page in place; it also
fetches every :data:`FALLBACK_MS` (overdue loans become overdue without a message), and every
:data:`POLL_MS` in a browser without server-sent events."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template
from flask.typing import ResponseReturnValue

from ..auth import PAGE_ROLES, roles_required
from ..filters import format_ms
from ..keys.cabinets import Cabinet
from ..keys.messages import SLOT_STATE_LABELS
from ..labels import label
from ..state import console

__all__ = ["bp", "board_json", "POLL_MS", "FALLBACK_MS"]

bp = Blueprint("key_cabinets", __name__)
_view = roles_required(*PAGE_ROLES["key_cabinets"])
#: How often the page asks for the board without server-sent events, ms.
POLL_MS = 2000
#: How often the page asks for the board while it listens to the stream, ms (a fallback).
FALLBACK_MS = 30_000


def _board() -> tuple[list[Cabinet], dict[str, dict[str, Any]]]:
    st = console()
    keys = st.services.keys
    cabinets = keys.board.board()
    out_by_key = {loan.key: loan for loan in keys.loans.out_now()}
    loans = {c.cabinet: {s.key: out_by_key[s.key] for s in c.slots if s.key in out_by_key}
             for c in cabinets}
    return cabinets, loans


def board_json(cabinets: list[Cabinet], loans: dict[str, dict[str, Any]], now: int) -> dict[str, Any]:
    """The board as the page's script reads it."""
    out = []
    for c in cabinets:
        node = console().services.nodes.get(c.node) if c.node else None
        slots = []
        for s in c.slots:
            d = s.to_dict()
            d["state_label"] = label(SLOT_STATE_LABELS, s.state)
            loan = loans.get(c.cabinet, {}).get(s.key)
            d["who"] = loan.who if loan is not None else ""
            d["overdue"] = bool(loan is not None and loan.overdue(now))
            slots.append(d)
        out.append({"cabinet": c.cabinet, "node": c.node, "door_open": c.door_open,
                    "node_state": node.state if node is not None else None,
                    "last": format_ms(c.last_ts), "counts": c.counts(), "slots": slots})
    return {"cabinets": out, "at": format_ms(now)}


@bp.get("/keys/cabinets")
@_view
def board() -> ResponseReturnValue:
    cabinets, loans = _board()
    now = console().clock()
    return render_template("key_cabinets.html", cabinets=cabinets, loans=loans, now=now,
                           state_labels=SLOT_STATE_LABELS, poll_ms=POLL_MS,
                           fallback_ms=FALLBACK_MS)


@bp.get("/keys/cabinets.json")
@_view
def board_data() -> ResponseReturnValue:
    cabinets, loans = _board()
    resp = jsonify(board_json(cabinets, loans, console().clock()))
    resp.headers["Cache-Control"] = "no-store"
    return resp
