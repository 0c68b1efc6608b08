"""``/nodes``: every node's state, last contact, boot, version, journal backlog, error
counters, clock offset (red beyond ``max_clock_skew_s``) and open seq gaps."""

from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from ..auth import PAGE_ROLES, roles_required
from ..state import console

__all__ = ["bp"]

bp = Blueprint("nodes", __name__)


@bp.get("/nodes")
@roles_required(*PAGE_ROLES["nodes"])
def index() -> ResponseReturnValue:
    st = console()
    gaps: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
    for gap in st.services.events.gaps(open_only=True):
        gaps[gap.node].append(gap)
    return render_template("nodes.html", nodes=st.services.nodes.list(), gaps=gaps,
                           max_skew_s=st.config.max_clock_skew_s, now=st.clock())
