"""``/nodes``: every node's state, last contact, boot, version, journal backlog, error
counters, clock offset (red beyond ``max_clock_skew_s``), client certificate days left (red
under the node's ``cert_warn_days``) and open seq gaps."""

from __future__ import annotations

import math
import numbers
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Mapping

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from ..auth import PAGE_ROLES, roles_required
from ..state import console

__all__ = ["bp", "CertView", "cert_view", "DEFAULT_CERT_WARN_DAYS"]

bp = Blueprint("nodes", __name__)

#: Warning threshold (days) for a node that does not report ``cert_warn_days`` (the node's default).
DEFAULT_CERT_WARN_DAYS = 30
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class CertView:
    """A node's TLS client certificate as the nodes page shows it: ``expires`` (UTC ms, None if
    only the days were reported), ``days_left`` (whole days at the console's clock, negative once
    expired), ``warn_days``; ``flagged``: fewer than ``warn_days`` left; ``expired``."""

    expires: int | None
    days_left: int
    warn_days: int

    @property
    def expired(self) -> bool:
        return self.days_left < 0

    @property
    def flagged(self) -> bool:
        return self.days_left < self.warn_days


def _number(value: Any) -> int | None:
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    return None


def cert_view(figures: Mapping[str, Any], *, now: int) -> CertView | None:
    """The certificate figures of a node's health telemetry (``cert_expires``, ``cert_days_left``,
    ``cert_warn_days``), or None for a node without a client certificate.  Days are counted
    from ``cert_expires`` at the console clock ``now`` (UTC ms), so they keep going down while a
    node whose certificate ran out can no longer report."""
    if not isinstance(figures, Mapping):
        return None
    expires = _number(figures.get("cert_expires"))
    reported = _number(figures.get("cert_days_left"))
    if expires is None and reported is None:
        return None
    days = math.floor((expires - now) / _DAY_MS) if expires is not None else reported
    warn = _number(figures.get("cert_warn_days"))
    return CertView(expires=expires, days_left=int(days),  # type: ignore[arg-type]
                    warn_days=warn if warn and warn > 0 else DEFAULT_CERT_WARN_DAYS)


@bp.get("/nodes")
@roles_required(*PAGE_ROLES["nodes"])
def index() -> ResponseReturnValue:
    st = console()
    gaps: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
    for gap in st.services.events.gaps(open_only=True):
        gaps[gap.node].append(gap)
    now = st.clock()
    nodes = st.services.nodes.list()
    certs = {n.node: c for n in nodes if (c := cert_view(n.counters, now=now)) is not None}
    return render_template("nodes.html", nodes=nodes, gaps=gaps, certs=certs,
                           max_skew_s=st.config.max_clock_skew_s, now=now)
