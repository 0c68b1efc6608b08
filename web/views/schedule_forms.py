"""Forms of the schedules and holidays editor (Flask-WTF: every POST carries a CSRF token).
Interval and date rules live in :mod:`web.access.schedule_model`; these forms bound lengths."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

__all__ = ["ScheduleForm", "HolidayForm", "DAY_FIELDS", "DAY_LABELS"]

_INTERVALS = [Length(max=200, message=_l("Too long."))]


class ScheduleForm(FlaskForm):
    schedule_id = StringField(_l("Schedule name"), validators=[
        DataRequired(message=_l("Required.")), Length(max=64, message=_l("Too long."))])
    description = StringField(_l("Description"), validators=[
        Length(max=100, message=_l("Too long."))])
    mon = StringField(_l("Monday"), validators=_INTERVALS)
    tue = StringField(_l("Tuesday"), validators=_INTERVALS)
    wed = StringField(_l("Wednesday"), validators=_INTERVALS)
    thu = StringField(_l("Thursday"), validators=_INTERVALS)
    fri = StringField(_l("Friday"), validators=_INTERVALS)
    sat = StringField(_l("Saturday"), validators=_INTERVALS)
    sun = StringField(_l("Sunday"), validators=_INTERVALS)
    holiday = StringField(_l("Holidays"), validators=_INTERVALS)


#: The interval fields of :class:`ScheduleForm`, in display order.
DAY_FIELDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")
#: Short weekday headings of the schedules table.
DAY_LABELS = {"mon": _l("Mon"), "tue": _l("Tue"), "wed": _l("Wed"), "thu": _l("Thu"),
              "fri": _l("Fri"), "sat": _l("Sat"), "sun": _l("Sun")}


class HolidayForm(FlaskForm):
    day = StringField(_l("Date"), validators=[DataRequired(message=_l("Required.")),
                                              Length(max=10, message=_l("Too long."))])
    name = StringField(_l("Name"), validators=[Length(max=100, message=_l("Too long."))])
