"""``/users`` (administrators): add a user, change a role, reset a password, disable or
enable an account. Every change is written to the audit log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from .. import audit
from ..auth import PAGE_ROLES, roles_required
from ..errors import LastAdmin, UserError, UserExists
from ..auth.users import User
from ..state import console
from .audit_trail import record_action as _record
from .forms import ConfirmForm, PasswordResetForm, RoleForm, UserAddForm

__all__ = ["bp"]

bp = Blueprint("users", __name__)
_admin = roles_required(*PAGE_ROLES["users"])


def _page(*, add_form: UserAddForm | None = None, row_errors: dict[str, list[str]] | None = None,
          status: int = 200) -> ResponseReturnValue:
    st = console()
    return render_template("users.html", users=st.users.list(), add_form=add_form or UserAddForm(),
                           role_form=RoleForm(), password_form=PasswordResetForm(),
                           confirm_form=ConfirmForm(), row_errors=row_errors or {}), status


def _target(username: str) -> User:
    user = console().users.get(username)
    if user is None:
        abort(404)
    return user


def _row_failure(username: str, messages: list[str]) -> ResponseReturnValue:
    return _page(row_errors={username: messages}, status=400)


def _user_error(exc: UserError) -> str:
    if isinstance(exc, LastAdmin):
        return _("The console needs at least one active administrator.")
    if isinstance(exc, UserExists):
        return _("A user with this name already exists.")
    return _("The change was refused: %(reason)s", reason=str(exc))


@bp.get("/users")
@_admin
def index() -> ResponseReturnValue:
    return _page()


@bp.post("/users")
@_admin
def add() -> ResponseReturnValue:
    form = UserAddForm()
    if not form.validate_on_submit():
        return _page(add_form=form, status=400)
    try:
        console().users.add(form.username.data, form.password.data, role=form.role.data)
    except UserError as exc:
        form.username.errors = [_user_error(exc)]
        return _page(add_form=form, status=400)
    _record(audit.USER_ADD, form.username.data, f"role={form.role.data}")
    flash(_("User %(name)s added.", name=form.username.data), "success")
    return redirect(url_for("users.index"), code=303)


@bp.post("/users/<username>/role")
@_admin
def set_role(username: str) -> ResponseReturnValue:
    user = _target(username)
    form = RoleForm()
    if not form.validate_on_submit():
        return _row_failure(username, [str(m) for errs in form.errors.values() for m in errs])
    if user.role == form.role.data:
        return redirect(url_for("users.index"), code=303)
    if username == g.user.username:
        return _row_failure(username, [_("You cannot change your own role.")])
    try:
        console().users.set_role(username, form.role.data)
    except UserError as exc:
        return _row_failure(username, [_user_error(exc)])
    _record(audit.USER_ROLE, username, f"{user.role} -> {form.role.data}")
    flash(_("The role of %(name)s was changed.", name=username), "success")
    return redirect(url_for("users.index"), code=303)


@bp.post("/users/<username>/password")
@_admin
def reset_password(username: str) -> ResponseReturnValue:
    _target(username)
    form = PasswordResetForm()
    if not form.validate_on_submit():
        return _row_failure(username, [str(m) for errs in form.errors.values() for m in errs])
    try:
        console().users.set_password(username, form.password.data)
    except UserError as exc:
        return _row_failure(username, [_user_error(exc)])
    _record(audit.USER_PASSWORD, username)
    if username == g.user.username:
        flash(_("Your password was changed; log in again."), "success")
        return redirect(url_for("auth.login"), code=303)
    flash(_("The password of %(name)s was reset; their log-ins have ended.", name=username),
          "success")
    return redirect(url_for("users.index"), code=303)


@bp.post("/users/<username>/disable")
@_admin
def disable(username: str) -> ResponseReturnValue:
    _target(username)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if username == g.user.username:
        return _row_failure(username, [_("You cannot disable your own account.")])
    try:
        console().users.disable(username)
    except UserError as exc:
        return _row_failure(username, [_user_error(exc)])
    _record(audit.USER_DISABLE, username)
    flash(_("User %(name)s disabled.", name=username), "success")
    return redirect(url_for("users.index"), code=303)


@bp.post("/users/<username>/enable")
@_admin
def enable(username: str) -> ResponseReturnValue:
    _target(username)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    console().users.enable(username)
    _record(audit.USER_ENABLE, username)
    flash(_("User %(name)s enabled.", name=username), "success")
    return redirect(url_for("users.index"), code=303)
