"""Forms of the meter pages (Flask-WTF: every POST carries a CSRF token). Field rules live in
:func:`web.meters.model.validate_meter` and :class:`web.meters.rules.MeterRules`."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.widgets import DateTimeLocalInput

from ..meters.messages import KIND_LABELS
from ..meters.model import KINDS
from ..meters.readings import INDEXED_GAP_MS
from ..meters.rules import RULE_LIMITS

__all__ = ["MeterForm", "RulesForm", "WholeField"]


def _kind_choices() -> list[SelectChoice]:
    return [SelectChoice(k, KIND_LABELS[k]) for k in KINDS]


def _too_long() -> Length:
    return Length(max=64, message=_l("Too long."))


class MeterForm(FlaskForm):
    meter_id = StringField(_l("Meter id"), validators=[DataRequired(message=_l("Required.")),
                                                       Length(max=32, message=_l("Too long."))])
    unit = StringField(_l("Unit"), validators=[DataRequired(message=_l("Required.")),
                                               Length(max=32, message=_l("Too long."))])
    kind = SelectField(_l("Kind"), choices=_kind_choices, default="electricity")
    map = StringField(_l("Register map"), validators=[_too_long()])
    node = StringField(_l("Node"), validators=[_too_long()])
    bus = StringField(_l("Bus"), validators=[_too_long()])
    slave = StringField(_l("Slave id"), validators=[Length(max=4, message=_l("Too long."))])
    register = StringField(_l("Billed register"), validators=[_too_long()])
    note = StringField(_l("Note"), validators=[Length(max=200, message=_l("Too long."))])
    #: Edit only: when a new unit takes the meter over, site time (blank: now).
    effective_at = StringField(_l("Unit change takes effect"), widget=DateTimeLocalInput(),
                               validators=[Length(max=20, message=_l("Too long."))])


def _range(name: str) -> NumberRange:
    lo, hi = RULE_LIMITS[name]
    return NumberRange(min=lo, max=hi, message=_l("Between %(min)s and %(max)s.", min=lo, max=hi))


def _req() -> InputRequired:
    return InputRequired(message=_l("Required."))


class WholeField(IntegerField):
    """An integer field whose "not a number" error is translated; left blank, its data is None
    (``InputRequired`` says so)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist and not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a whole number.")) from None


def _tolerance_range() -> NumberRange:
    lo, hi = RULE_LIMITS["estimate_tolerance_minutes"]
    return NumberRange(min=lo, max=hi, message=_l(
        "From %(min)s to %(max)s minutes (%(hours)s hours).", min=lo, max=hi, hours=hi // 60))


def _gap_range() -> NumberRange:
    lo, hi = RULE_LIMITS["gap_minutes"]
    return NumberRange(min=lo, max=hi, message=_l(
        "Longer than %(floor)s minutes and at most %(max)s minutes (%(days)s days).",
        floor=INDEXED_GAP_MS // 60_000, max=hi, days=hi // (24 * 60)))


class RulesForm(FlaskForm):
    statement_day = WholeField(_l("Statement day of the month"),
                               validators=[_req(), _range("statement_day")])
    estimate_tolerance_minutes = WholeField(
        _l("Statement: estimated without a reading within (minutes)"),
        validators=[_req(), _tolerance_range()])
    gap_minutes = WholeField(_l("Statement: a gap after (minutes) without a reading"),
                             validators=[_req(), _gap_range()])
    leak_hours = WholeField(_l("Leak: hours of continuous flow"),
                            validators=[_req(), _range("leak_hours")])
    leak_min_m3 = DecimalField(_l("Leak: least flow per hour (m³)"), places=4,
                               validators=[_req(), _range("leak_min_m3")])
    vacant_window_h = WholeField(_l("Vacant unit: look-back (hours)"),
                                 validators=[_req(), _range("vacant_window_h")])
    vacant_min_kwh = DecimalField(_l("Vacant unit: electricity above (kWh)"), places=3,
                                  validators=[_req(), _range("vacant_min_kwh")])
    vacant_min_m3 = DecimalField(_l("Vacant unit: water above (m³)"), places=3,
                                 validators=[_req(), _range("vacant_min_m3")])
    offline_minutes = WholeField(_l("Meter offline longer than (minutes)"),
                                 validators=[_req(), _range("offline_minutes")])
