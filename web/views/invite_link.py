"""``/v/<token>``: the visitor's phone page for an invite — the ONE console page that needs no
log-in (listed in :data:`web.auth.session.PUBLIC_ENDPOINTS`).

The token is a capability (:mod:`web.visitors.invite_links`): 128 random bits, stored hashed,
made by the desk on the invite's page. The page shows only what the visitor needs at the door:
the QR code, the validity window, the building of the unit and the site — never the unit's
residents or phones, the visitor's own details, or any other invite. It is sent with
``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer``. An unknown, malformed,
revoked, used-up or expired token answers the same 404. Token guessing is limited per client
address with the console's sliding-window limiter (:class:`~web.auth.ratelimit.LoginRateLimiter`,
:data:`GUESSES_PER_MINUTE` unknown tokens a minute, then 429 until the window frees up, even for
a right token)."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from ..auth.ratelimit import LoginRateLimiter
from ..state import console
from .invites import qr_svg

__all__ = ["bp", "GUESSES_PER_MINUTE", "LIMITER_KEY"]

bp = Blueprint("invite_link", __name__)
#: Unknown tokens one client address may try per minute.
GUESSES_PER_MINUTE = 20
#: ``app.extensions`` key of the link limiter.
LIMITER_KEY = "lobbygate.invite_links"


@bp.record_once
def _limiter_for(state: BlueprintSetupState) -> None:
    app: Flask = state.app
    app.extensions[LIMITER_KEY] = LoginRateLimiter(
        max_failures=GUESSES_PER_MINUTE, window_ms=60_000, clock=console(app).clock)


def _private(resp: ResponseReturnValue) -> ResponseReturnValue:
    """Never cached, never leaks the capability URL in a Referer."""
    out = current_app.make_response(resp)
    out.headers["Cache-Control"] = "no-store"
    out.headers["Referrer-Policy"] = "no-referrer"
    out.headers["X-Robots-Tag"] = "noindex, nofollow"
    return out


@bp.get("/v/<token>")
def show(token: str) -> ResponseReturnValue:
    limiter: LoginRateLimiter = current_app.extensions[LIMITER_KEY]
    addr = request.remote_addr or "?"
    # per address only: the limiter's "account" key is the address as well, so one client's
    # guessing never locks out the other visitors' links
    retry = limiter.retry_after_s(username=f"link@{addr}", address=addr)
    if retry is not None:
        resp = _private((render_template("invite_public.html", inv=None, status="slow_down"), 429))
        resp.headers["Retry-After"] = str(retry)           # type: ignore[union-attr]
        return resp
    st = console()
    desk = st.services.visitors
    inv = desk.phone_invite(token)
    if inv is None:
        limiter.failed(username=f"link@{addr}", address=addr)
        return _private((render_template("invite_public.html", inv=None, status="unknown"), 404))
    unit = st.services.units.get(inv.unit)
    state = inv.state(st.clock())
    return _private(render_template("invite_public.html", inv=inv, status=state,
                                    building=unit.building if unit else "",
                                    svg=qr_svg(inv.qr_text, scale=8)))
