"""Forms of the goods-pass pages (Flask-WTF: every POST carries a CSRF token). The desk's
rules live in :func:`web.passes.model.check_draft`; these forms add lengths and choices."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, Form, FormField, IntegerField, RadioField, SelectChoice,
                     SelectField, StringField, TextAreaField)
from wtforms.fields import FieldList
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..passes.messages import AUTH_LABELS, RELATION_LABELS
from ..passes.model import CARRIER_RELATIONS, MAX_ITEMS

__all__ = ["PassForm", "ToolPassForm", "CancelForm", "ITEM_ROWS"]

#: Item lines shown on an empty form.
ITEM_ROWS = 6


def _relations() -> list[SelectChoice]:
    return [SelectChoice(r, RELATION_LABELS[r]) for r in CARRIER_RELATIONS]


def _auths() -> list[SelectChoice]:
    return [SelectChoice(a, AUTH_LABELS[a]) for a in ("in_person", "letter")]


_TOO_LONG = _l("Too long.")


class ItemForm(Form):
    """One item line (no CSRF of its own: it is part of :class:`PassForm`)."""

    description = StringField(_l("Item"), validators=[Length(max=100, message=_TOO_LONG)])
    quantity = IntegerField(_l("Quantity"), validators=[
        Optional(), NumberRange(min=1, max=9999, message=_l("1 to 9999."))])
    large = BooleanField(_l("Large or valuable"))


class PassForm(FlaskForm):
    unit = StringField(_l("Unit"), validators=[
        DataRequired(message=_l("Required.")), Length(max=40, message=_TOO_LONG)])
    carrier_name = StringField(_l("Carrier"), validators=[
        DataRequired(message=_l("Required.")), Length(max=64, message=_TOO_LONG)])
    carrier_relation = SelectField(_l("Relation to the unit"), choices=_relations,
                                   default="owner")
    carrier_id_last4 = StringField(_l("ID number, last 4"), validators=[
        DataRequired(message=_l("Required.")), Length(max=4, message=_TOO_LONG)])
    authorisation = RadioField(_l("Authorised by"), choices=_auths, default="in_person")
    letter_ref = StringField(_l("Letter reference"), validators=[
        Length(max=64, message=_TOO_LONG)])
    letter_scan = FileField(_l("Letter scan (PDF, JPEG or PNG, at most 5 MB)"))
    items = FieldList(FormField(ItemForm), min_entries=ITEM_ROWS, max_entries=MAX_ITEMS)
    vehicle_plate = StringField(_l("Vehicle plate"), validators=[
        Length(max=12, message=_TOO_LONG)])
    valid_from = StringField(_l("Valid from"), validators=[
        DataRequired(message=_l("Required.")), Length(max=10, message=_TOO_LONG)])
    valid_until = StringField(_l("Valid until"), validators=[
        DataRequired(message=_l("Required.")), Length(max=10, message=_TOO_LONG)])
    note = StringField(_l("Note"), validators=[Length(max=200, message=_TOO_LONG)])
    #: problems of the item list as a whole (set by the page)
    item_problems: list[Any] = []


class ToolPassForm(FlaskForm):
    worker = StringField(_l("Worker"), validators=[
        DataRequired(message=_l("Required.")), Length(max=64, message=_TOO_LONG)])
    worker_id_last4 = StringField(_l("ID number, last 4"), validators=[
        DataRequired(message=_l("Required.")), Length(max=4, message=_TOO_LONG)])
    unit = StringField(_l("Unit"), validators=[
        DataRequired(message=_l("Required.")), Length(max=40, message=_TOO_LONG)])
    tools = TextAreaField(_l("Tools, one per line (\"drill x2\")"), validators=[
        DataRequired(message=_l("Required.")), Length(max=1500, message=_TOO_LONG)])


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[
        DataRequired(message=_l("Say why the pass is cancelled.")),
        Length(max=200, message=_l("At most %(max)d characters.", max=200))])
