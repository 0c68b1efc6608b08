"""``/login``, ``/logout`` (POST) and ``/account/password``."""

from __future__ import annotations

from flask import (Blueprint, flash, g, make_response, redirect, render_template, request,
                   session, url_for)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from .. import audit
from ..security import safe_next
from ..state import console
from .access import PAGE_ROLES
from .decorators import login_required, roles_required
from .forms import LoginForm, PasswordChangeForm

__all__ = ["bp"]

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The log-in form. Failed attempts are limited per account and per address: once the
    limit is reached, attempts are refused before the password is even checked."""
    st = console()
    next_url = safe_next(request.values.get("next"), url_for("dashboard.index"))
    if g.get("user") is not None and request.method == "GET":
        return redirect(next_url)
    form = LoginForm()
    status = 200
    error: str | None = None
    if form.validate_on_submit():
        username = form.username.data.strip()
        addr = request.remote_addr
        retry = st.limiter.retry_after_s(username=username, address=addr)
        if retry is not None:
            st.audit.record(audit.LOGIN_REFUSED, user=None, target=username,
                            detail=f"retry after {retry} s", remote_addr=addr)
            error = _("Too many failed log-ins. Wait %(seconds)d seconds and try again.",
                      seconds=retry)
            status = 429
        else:
            user = st.users.authenticate(username, form.password.data)
            if user is None:
                st.limiter.failed(username=username, address=addr)
                st.audit.record(audit.LOGIN_FAILED, user=None, target=username, remote_addr=addr)
                error = _("Wrong user name or password.")
                status = 401
            else:
                session.clear()
                session.permanent = True
                session["uid"] = user.username
                session["sid"] = st.users.start_session(user.username)
                st.audit.record(audit.LOGIN, user=user.username, target=user.username,
                                remote_addr=addr)
                resp = make_response(redirect(next_url, code=303))
                if user.language in st.config.languages:
                    from ..i18n import set_language_cookie
                    set_language_cookie(resp, user.language)
                return resp
    elif request.method == "POST":
        status = 400
    resp = make_response(render_template("login.html", form=form, error=error,
                                         next_url=request.values.get("next", "")), status)
    if status == 429:
        resp.headers["Retry-After"] = str(retry)
    return resp


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """End this log-in: its session nonce is removed, so the old cookie no longer works."""
    st = console()
    user = g.user
    st.users.end_session(user.username, session.get("sid", ""))
    st.audit.record(audit.LOGOUT, user=user.username, target=user.username,
                    remote_addr=request.remote_addr)
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*PAGE_ROLES["account"])
def change_password() -> ResponseReturnValue:
    """A user changes their own password; every other log-in of theirs ends."""
    st = console()
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        user = g.user
        addr = request.remote_addr
        retry = st.limiter.retry_after_s(username=user.username, address=addr)
        if retry is not None:
            form.current.errors.append(
                _("Too many failed log-ins. Wait %(seconds)d seconds and try again.",
                  seconds=retry))
            status = 429
        elif st.users.authenticate(user.username, form.current.data) is None:
            st.limiter.failed(username=user.username, address=addr)
            form.current.errors.append(_("The current password is wrong."))
            status = 400
        else:
            st.users.set_password(user.username, form.new.data)
            session["sid"] = st.users.start_session(user.username)
            st.audit.record(audit.PASSWORD_CHANGE, user=user.username, target=user.username,
                            remote_addr=request.remote_addr)
            flash(_("Your password has been changed. Your other log-ins have ended."), "success")
            return redirect(url_for("dashboard.index"), code=303)
    elif request.method == "POST":
        status = 400
    return render_template("account_password.html", form=form), status
