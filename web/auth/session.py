"""Who is asking: the ``before_request`` check that loads the user of every request and sends
anonymous ones to the log-in page, except on an explicit allow-list (log-in page, static
files, language switch).

A session cookie carries the user name and a nonce; the request is accepted only while the
users store still lists that nonce for an active user (log-out, a password change or
disabling the account end it). The JSON API also accepts HTTP Basic credentials, under the
same failed-log-in limits."""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from .. import audit
from .users import User

__all__ = ["init_session", "unauthenticated", "PUBLIC_ENDPOINTS", "wants_json"]

#: Endpoints anyone may reach. ``invite_link.show`` (``GET /v/<token>``) is the one console page
#: without a log-in: a visitor's phone shows an invite's QR code; the 128-bit token in the URL
#: is the capability (stored hashed, rate-limited, 404 once the invite is not usable), see
#: :mod:`web.views.invite_link`. Nothing else may be added here without the same care.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "i18n.set_language", "invite_link.show"})
log = logging.getLogger(__name__)


def wants_json() -> bool:
    """API calls and live streams answer with status codes, not log-in page redirects."""
    path = request.path
    return path.startswith("/api/") or path.startswith("/live/")


def unauthenticated() -> ResponseReturnValue:
    """401 for the API and live streams, else a redirect to the log-in page."""
    if wants_json():
        resp = jsonify(error="login required")
        resp.status_code = 401
        if request.path.startswith("/api/"):
            resp.headers["WWW-Authenticate"] = 'Basic realm="lobbygate", charset="UTF-8"'
        return resp
    target = request.full_path if request.method == "GET" else None
    if target and target.endswith("?"):
        target = target[:-1]
    if target in ("/", None):
        return redirect(url_for("auth.login"))
    return redirect(url_for("auth.login", next=target))


def _basic_auth() -> User | Response | None:
    """The user of an API request's Basic credentials (None if absent), or a 429 response."""
    from ..state import console

    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username:
        return None
    st = console()
    addr = request.remote_addr
    retry = st.limiter.retry_after_s(username=auth.username, address=addr)
    if retry is not None:
        resp = jsonify(error="too many failed log-ins", retry_after_s=retry)
        resp.status_code = 429
        resp.headers["Retry-After"] = str(retry)
        return resp
    user = st.users.authenticate(auth.username, auth.password or "")
    if user is None:
        st.limiter.failed(username=auth.username, address=addr)
        st.audit.record(audit.LOGIN_FAILED, user=None, target=auth.username[:64],
                        detail="api basic", remote_addr=addr)
        return None
    return user


def _load_user() -> ResponseReturnValue | None:
    from ..state import console

    g.user = None
    uid = session.get("uid")
    if uid is not None:
        user = console().users.check_session(uid, session.get("sid"))
        if user is None:
            session.clear()
        else:
            g.user = user
    if g.user is None and request.path.startswith("/api/"):
        found = _basic_auth()
        if found is not None and not hasattr(found, "username"):
            return found  # a 429 response
        g.user = found
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if g.user is None:
        return unauthenticated()
    return None


def init_session(app: Flask) -> None:
    """Install the per-request user check (before every other handler)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _load_user)

    @app.context_processor
    def _user() -> dict[str, object]:
        return {"current_user": g.get("user")}
