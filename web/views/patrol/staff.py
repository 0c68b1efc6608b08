"""The patrol staff page ``/patrol/me`` (phone-sized: my next round, its next check-point and
deadline, my rounds today), its body alone (``/patrol/me/body``, what ``patrol.js`` fetches)
and the checks ``/live/stream?view=patrol_me`` uses to forward only what is about the
logged-in user's rounds.

"My rounds" are the ones :meth:`~web.patrol.RoundEngine.rounds_for_user` lists: open to
anyone (no walkers), assigned to the user (by name or team), or tapped in by them. A console
user is a patrol walker by name (:class:`~web.patrol.PatrolUser`), a tap theirs by its card.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, render_template
from flask.typing import ResponseReturnValue

from ...auth import PAGE_ROLES, roles_required
from ...patrol import PatrolPlan, RoundView
from ...state import console
from . import bp
from .pages import _names, svc

__all__ = ["round_is_mine", "tap_is_mine"]

_MIN = 60_000


def _context() -> dict[str, Any]:
    now = console().clock()
    rounds = svc().rounds_for_user(g.user.username, now=now)
    upcoming = [r for r in rounds if r.state in ("running", "planned")]
    upcoming.sort(key=lambda r: (r.state != "running", r.start_ms))
    nxt = upcoming[0] if upcoming else None
    return dict(rounds=rounds, nxt=nxt, next_point=nxt.next_point if nxt else None, now=now,
                **_names())


@bp.get("/patrol/me")
@roles_required(*PAGE_ROLES["patrol_me"])
def me() -> ResponseReturnValue:
    return render_template("patrol/me.html", **_context())


@bp.get("/patrol/me/body")
@roles_required(*PAGE_ROLES["patrol_me"])
def me_body() -> ResponseReturnValue:
    """The staff page's next round and rounds today alone: what ``patrol.js`` fetches when the
    user's live stream says one of their rounds changed (and every ``data-patrol-refresh``
    seconds)."""
    resp = current_app.make_response(render_template("patrol/_me_body.html", **_context()))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _on_page(view: RoundView | None, user: str) -> bool:
    """True if ``view`` is one of ``user``'s rounds (see the module note)."""
    return view is not None and (not view.walkers or user in view.walkers
                                 or user in view.guards)


def round_is_mine(round_id: str, user: str) -> bool:
    """True if round ``round_id`` (in memory or stored) is one of ``user``'s rounds."""
    return _on_page(svc().round(round_id), user)


def _may_share(plan: PatrolPlan, user: str, walker: str) -> bool:
    """True if some schedule's rounds are open to both ``user`` and ``walker`` (anyone, or
    both assigned); ad-hoc rounds are their walker's alone."""
    for schedule in plan.schedules.values():
        walkers = plan.walkers(schedule)
        if not walkers or (user in walkers and walker in walkers):
            return True
    return False


def tap_is_mine(event_id: str, user: str) -> bool:
    """True if the applied tap ``event_id`` is ``user``'s (their card), or went into a round
    that is also theirs. The tap journal is read by key; only another walker's tap on a
    schedule both may walk looks for its round (the rounds around the tap's time)."""
    s = svc()
    tap = s.taps.get(event_id)
    if tap is None:
        return False
    plan = s.plan
    walker = plan.user_for_card(tap.card)
    if walker is None:                       # an unknown card joins no round
        return False
    if walker == user:
        return True
    if not _may_share(plan, user, walker):
        return False
    cp = plan.checkpoint_for(checkpoint=tap.checkpoint, node=tap.node, reader=tap.reader)
    routes = [route for route, _ in plan.routes_at(cp)] if cp else []
    if not routes:
        return False
    span = max(r.span_min for r in routes) * _MIN
    early = max(r.start_tolerance_min for r in routes) * _MIN
    for view in s.engine.rounds_between(int(tap.ts - span) - 1, int(tap.ts + early) + 2):
        if any(p.tapped_at == tap.ts and p.card == tap.card for p in view.points):
            return _on_page(view, user)
    return False
