"""Forms of the intercom desk, visitor, invite, watchlist and unit pages (Flask-WTF: every
POST carries a CSRF token). Field rules live in :mod:`web.visitors.model` and
:mod:`web.units.model`; these forms add lengths and choices."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, HiddenField, IntegerField, SelectChoice, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..visitors.messages import ID_TYPE_LABELS, WATCH_KIND_LABELS
from ..visitors.model import ID_TYPES
from ..visitors.watchlist import WATCH_KINDS

__all__ = ["VisitForm", "UnlockVisitForm", "InviteForm", "WatchForm", "SettingsForm",
           "UnitForm", "UnitImportForm"]


def _id_type_choices() -> list[SelectChoice]:
    return [SelectChoice(t, ID_TYPE_LABELS[t]) for t in ID_TYPES]


def _watch_choices() -> list[SelectChoice]:
    return [SelectChoice(k, WATCH_KIND_LABELS[k]) for k in WATCH_KINDS]


class VisitForm(FlaskForm):
    """A registration. ``id_number`` is read once and cut to its tail; the page never echoes
    it back (see the template)."""

    name = StringField(_l("Visitor's name"), validators=[Length(max=40, message=_l("Too long."))])
    id_type = SelectField(_l("ID document"), choices=_id_type_choices, default="resident_id")
    id_number = StringField(_l("ID number"), validators=[Length(max=40, message=_l("Too long."))])
    phone = StringField(_l("Phone"), validators=[Length(max=24, message=_l("Too long."))])
    unit = StringField(_l("Unit visited"), validators=[Length(max=25, message=_l("Too long."))])
    purpose = StringField(_l("Purpose of the visit"), validators=[Length(max=100, message=_l("Too long."))])
    plate = StringField(_l("Vehicle plate"), validators=[Length(max=16, message=_l("Too long."))])
    people = IntegerField(_l("Number of people"), default=1, validators=[
        Optional(), NumberRange(min=1, max=50, message=_l("1 to 50 people."))])
    call_id = HiddenField()


class UnlockVisitForm(FlaskForm):
    node = SelectField(_l("Door"), choices=[], validate_choice=False)
    reason = StringField(_l("Override reason"), validators=[
        Length(max=200, message=_l("At most %(max)d characters.", max=200))])


class InviteForm(FlaskForm):
    name = StringField(_l("Visitor's name"), validators=[
        DataRequired(message=_l("Required.")), Length(max=40, message=_l("Too long."))])
    phone = StringField(_l("Phone"), validators=[Length(max=24, message=_l("Too long."))])
    unit = StringField(_l("Unit visited"), validators=[
        DataRequired(message=_l("Required.")), Length(max=25, message=_l("Too long."))])
    purpose = StringField(_l("Purpose of the visit"), validators=[Length(max=100, message=_l("Too long."))])
    valid_from = StringField(_l("Valid from"), validators=[
        DataRequired(message=_l("Required.")), Length(max=40, message=_l("Too long."))])
    valid_until = StringField(_l("Valid until"), validators=[
        DataRequired(message=_l("Required.")), Length(max=40, message=_l("Too long."))])
    uses = IntegerField(_l("Door openings"), default=1, validators=[
        NumberRange(min=1, max=255, message=_l("1 to 255 uses."))])


class WatchForm(FlaskForm):
    kind = SelectField(_l("Match on"), choices=_watch_choices, default="name")
    value = StringField(_l("Value"), validators=[
        DataRequired(message=_l("Required.")), Length(max=40, message=_l("Too long."))])
    note = StringField(_l("Note for the desk"), validators=[
        Length(max=200, message=_l("Too long."))])


class SettingsForm(FlaskForm):
    call_timeout_s = IntegerField(_l("Call time-out (seconds)"), validators=[
        NumberRange(min=10, max=3600, message=_l("Out of range."))])
    checkout_hour = IntegerField(_l("Automatic check-out hour (0-23, -1 off)"), validators=[
        NumberRange(min=-1, max=23, message=_l("Out of range."))])
    anonymise_days = IntegerField(_l("Anonymise visits after (days)"), validators=[
        NumberRange(min=1, max=3650, message=_l("Out of range."))])


class UnitForm(FlaskForm):
    building = StringField(_l("Building"), validators=[Length(max=12, message=_l("Too long."))])
    number = StringField(_l("Unit number"), validators=[Length(max=12, message=_l("Too long."))])
    vacant = BooleanField(_l("Vacant unit"))
    residents = TextAreaField(_l("Residents"), validators=[
        Length(max=4000, message=_l("Too long."))])
    note = StringField(_l("Note"), validators=[Length(max=200, message=_l("Too long."))])


class UnitImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(message=_l("Choose a CSV file."))])
