"""Forms of the door-access pages (Flask-WTF: every POST carries a CSRF token). Field rules
live in :func:`web.access.model.validate`; these forms add lengths and the PIN."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, PasswordField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ..access.messages import KIND_LABELS
from ..access.model import KINDS

__all__ = ["CredentialForm", "ImportForm", "UnlockForm", "HoldOpenForm", "ReleaseForm",
           "HOLD_MINUTES", "MAX_REASON_CHARS"]

MAX_REASON_CHARS = 200


def _kind_choices() -> list[SelectChoice]:
    return [SelectChoice(k, KIND_LABELS[k]) for k in KINDS]


class CredentialForm(FlaskForm):
    credential_id = StringField(_l("Credential id"), validators=[
        DataRequired(message=_l("Required.")), Length(max=64, message=_l("Too long."))])
    cards = TextAreaField(_l("Card numbers"), validators=[
        DataRequired(message=_l("Required.")), Length(max=1000, message=_l("Too long."))])
    holder = StringField(_l("Holder"), validators=[Length(max=100, message=_l("Too long."))])
    unit = StringField(_l("Unit"), validators=[Length(max=100, message=_l("Too long."))])
    kind = SelectField(_l("Kind"), choices=_kind_choices, default="resident")
    doors = StringField(_l("Doors"), default="*", validators=[
        DataRequired(message=_l("Required.")), Length(max=2000, message=_l("Too long."))])
    enabled = BooleanField(_l("Enabled"), default=True)
    valid_from = StringField(_l("Valid from"), validators=[Length(max=40, message=_l("Too long."))])
    valid_until = StringField(_l("Valid until"), validators=[Length(max=40, message=_l("Too long."))])
    schedule = StringField(_l("Schedule"), validators=[Length(max=64, message=_l("Too long."))])
    pin = PasswordField(_l("PIN"), validators=[
        Optional(), Regexp(r"^[0-9]{4,12}$", message=_l("A PIN is 4 to 12 digits."))])
    clear_pin = BooleanField(_l("Remove the PIN"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(message=_l("Choose a CSV file."))])


class UnlockForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[
        DataRequired(message=_l("Say why the door is opened remotely.")),
        Length(max=MAX_REASON_CHARS, message=_l("At most %(max)d characters.", max=MAX_REASON_CHARS))])


#: Hold-open durations offered on the doors board, minutes (the node refuses more than its
#: ``max_hold_s``, 24 h by default).
HOLD_MINUTES = (15, 30, 60, 120, 240, 480, 720)


def _hold_choices() -> list[SelectChoice]:
    return [SelectChoice(m, _l("%(n)d min", n=m) if m < 60 else _l("%(n)d h", n=m // 60))  # type: ignore[arg-type]
            for m in HOLD_MINUTES]


class HoldOpenForm(UnlockForm):
    """Hold a door open (unlocked) for ``minutes``, with a reason."""

    reason = StringField(_l("Reason"), validators=[
        DataRequired(message=_l("Say why the door is held open.")),
        Length(max=MAX_REASON_CHARS, message=_l("At most %(max)d characters.", max=MAX_REASON_CHARS))])
    minutes = SelectField(_l("For"), choices=_hold_choices, coerce=int, default=60)


class ReleaseForm(UnlockForm):
    """End a hold-open (the door locks again), with a reason."""

    reason = StringField(_l("Reason"), validators=[
        DataRequired(message=_l("Say why the hold-open ends.")),
        Length(max=MAX_REASON_CHARS, message=_l("At most %(max)d characters.", max=MAX_REASON_CHARS))])
