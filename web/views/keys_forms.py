"""Forms of the key-cabinet pages (Flask-WTF: every POST carries a CSRF token). Field rules
live in :func:`web.keys.model.validate_key`; these add lengths."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, IntegerField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..keys.desk import MAX_BORROWER_CHARS, MAX_PURPOSE_CHARS
from ..keys.messages import KEY_KIND_LABELS
from ..keys.model import KEY_KINDS, MAX_LOAN_MIN

__all__ = ["KeyForm", "ReleaseForm"]


def _kind_choices() -> list[SelectChoice]:
    return [SelectChoice(k, KEY_KIND_LABELS[k]) for k in KEY_KINDS]


class KeyForm(FlaskForm):
    number = StringField(_l("Key number"), validators=[
        DataRequired(message=_l("Required.")), Length(max=32, message=_l("Too long."))])
    label = StringField(_l("Label"), validators=[Length(max=100, message=_l("Too long."))])
    unit = StringField(_l("Unit"), validators=[Length(max=32, message=_l("Too long."))])
    kind = SelectField(_l("Kind"), choices=_kind_choices, default="common-area")
    cabinet = StringField(_l("Cabinet"), default="main", validators=[
        DataRequired(message=_l("Required.")), Length(max=32, message=_l("Too long."))])
    slot = IntegerField(_l("Slot"), validators=[
        DataRequired(message=_l("A slot number from 1 to 999.")),
        NumberRange(min=1, max=999, message=_l("A slot number from 1 to 999."))])
    takers = TextAreaField(_l("Who may take it"), validators=[
        Length(max=2000, message=_l("Too long."))])
    two_person = BooleanField(_l("Two-person key (two cards needed)"))
    max_loan_min = IntegerField(_l("Maximum loan time (minutes)"), default=240, validators=[
        Optional(), NumberRange(min=1, max=MAX_LOAN_MIN,
                                message=_l("Minutes from 1 to 43200 (30 days)."))])
    authorised_by = StringField(_l("Authorised by (owner)"), validators=[
        Length(max=100, message=_l("Too long."))])
    authorised_until = StringField(_l("Authorisation ends"), validators=[
        Length(max=40, message=_l("Too long."))])
    borrowers = StringField(_l("Whom the owner allows"), validators=[
        Length(max=200, message=_l("Too long."))])
    note = StringField(_l("Note"), validators=[Length(max=200, message=_l("Too long."))])


class ReleaseForm(FlaskForm):
    borrower = StringField(_l("Borrower's name"), validators=[
        DataRequired(message=_l("The borrower's name is required.")),
        Length(max=MAX_BORROWER_CHARS, message=_l("Too long."))])
    id_number = StringField(_l("ID number (only the last 4 are kept)"), validators=[
        DataRequired(message=_l("Type at least the last four characters of the borrower's ID.")),
        Length(max=40, message=_l("Too long."))])
    purpose = StringField(_l("Purpose"), validators=[
        Length(max=MAX_PURPOSE_CHARS, message=_l("Too long."))])
