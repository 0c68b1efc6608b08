"""Log-in and own-password forms (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from .users import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS

__all__ = ["LoginForm", "PasswordChangeForm", "new_password_validators"]


def new_password_validators() -> list:  # type: ignore[type-arg]
    return [DataRequired(message=_l("Enter a password.")),
            Length(min=MIN_PASSWORD_CHARS, max=MAX_PASSWORD_CHARS,
                   message=_l("A password needs %(min)d to %(max)d characters."))]


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[
        DataRequired(message=_l("Enter your user name.")),
        Length(max=64, message=_l("That user name is too long."))])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(message=_l("Enter your password.")),
        Length(max=MAX_PASSWORD_CHARS, message=_l("That password is too long."))])


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[
        DataRequired(message=_l("Enter your current password.")),
        Length(max=MAX_PASSWORD_CHARS, message=_l("That password is too long."))])
    new = PasswordField(_l("New password"), validators=new_password_validators())
    confirm = PasswordField(_l("New password again"), validators=[
        EqualTo("new", message=_l("The two passwords differ."))])
