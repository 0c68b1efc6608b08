"""The patrol plan editors' forms (Flask-WTF: every POST carries a CSRF token) and their
conversion to plan values. Field checks here are about shape; the plan itself
(:class:`~web.patrol.model.PatrolPlan`) checks that the items hold together."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DecimalField, SelectChoice, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from ...patrol import Checkpoint, PatrolPlanError, PatrolUser, Route, RoutePoint, Schedule

__all__ = ["CheckpointForm", "RouteForm", "ScheduleForm", "PatrolUserForm", "WEEKDAY_CHOICES",
           "parse_points", "parse_cards", "parse_times"]

_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_ID_MSG = _l("Lower-case letters, digits, '-' or '_' (up to 64), starting with a letter or digit.")
_NODE = r"^[a-z0-9-]{1,32}$"
_CARD_RE = re.compile(r"^[0-9A-Fa-f]{8,20}$")
_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
WEEKDAY_CHOICES = [SelectChoice(str(d), day) for d, day in enumerate(
    (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")))]


class CheckpointForm(FlaskForm):
    id = StringField(_l("Check-point id"), validators=[
        DataRequired(message=_l("Enter an id.")), Regexp(_ID, message=_ID_MSG)])
    name = StringField(_l("Name"), validators=[
        DataRequired(message=_l("Enter a name.")), Length(max=100)])
    building = StringField(_l("Building"), validators=[Length(max=50)])
    floor = StringField(_l("Floor"), validators=[Length(max=50)])
    node = StringField(_l("Node"), validators=[
        DataRequired(message=_l("Enter the node id.")),
        Regexp(_NODE, message=_l("A node id: lower-case letters, digits and '-', up to 32."))])
    reader = StringField(_l("Reader"), validators=[
        DataRequired(message=_l("Enter the reader name.")), Length(max=64)])

    def to_item(self) -> Checkpoint:
        return Checkpoint(id=self.id.data, name=self.name.data.strip(),
                          building=(self.building.data or "").strip(),
                          floor=(self.floor.data or "").strip(), node=self.node.data,
                          reader=self.reader.data.strip())


def parse_points(text: str) -> tuple[RoutePoint, ...]:
    """One check-point a line: ``id expected_min [tolerance_min [min_walk_s]]`` (defaults 5 and
    0). Raises ``ValueError`` naming the line."""
    points = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        parts = line.replace(",", " ").split()
        if not parts:
            continue
        if len(parts) < 2 or len(parts) > 4:
            raise ValueError(_("Line %(n)d: write the check-point id, the minutes from the "
                               "start, then optionally the tolerance (min) and the walking "
                               "time (s).", n=n))
        try:
            nums = [float(p) for p in parts[1:]]
        except ValueError:
            raise ValueError(_("Line %(n)d: minutes and seconds must be numbers.", n=n)) from None
        kw: dict[str, Any] = {"checkpoint": parts[0], "expected_min": nums[0]}
        if len(nums) > 1:
            kw["tolerance_min"] = nums[1]
        if len(nums) > 2:
            kw["min_walk_s"] = nums[2]
        try:
            points.append(RoutePoint(**kw))
        except PatrolPlanError as exc:
            raise ValueError(_("Line %(n)d: minutes and seconds must not be negative.", n=n)) from None
    if not points:
        raise ValueError(_("List the check-points, one a line."))
    return tuple(points)


class RouteForm(FlaskForm):
    id = StringField(_l("Route id"), validators=[
        DataRequired(message=_l("Enter an id.")), Regexp(_ID, message=_ID_MSG)])
    name = StringField(_l("Name"), validators=[
        DataRequired(message=_l("Enter a name.")), Length(max=100)])
    points = TextAreaField(_l("Check-points"), validators=[
        DataRequired(message=_l("List the check-points, one a line."))])
    ordered = BooleanField(_l("In this order"), default=True)
    start_tolerance_min = DecimalField(_l("Start tolerance (min)"), default=10, places=None,
                                       validators=[NumberRange(min=0, max=240)])
    grace_min = DecimalField(_l("Grace after the last point (min)"), default=15, places=None,
                             validators=[NumberRange(min=0, max=240)])
    adhoc = BooleanField(_l("A tap at the first point starts an extra round"))

    def validate_points(self, field: Any) -> None:
        try:
            self._points = parse_points(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def to_item(self) -> Route:
        return Route(id=self.id.data, name=self.name.data.strip(), points=self._points,
                     ordered=bool(self.ordered.data),
                     start_tolerance_min=float(self.start_tolerance_min.data),
                     grace_min=float(self.grace_min.data), adhoc=bool(self.adhoc.data))


def parse_times(text: str) -> tuple[str, ...]:
    """Start times separated by spaces or commas ("22:00 00:00 02:00")."""
    times = tuple(t for t in re.split(r"[\s,，]+", text or "") if t)
    for t in times:
        if not _HHMM_RE.match(t):
            raise ValueError(_("%(value)s is not a time HH:MM.", value=t))
    return times


class ScheduleForm(FlaskForm):
    id = StringField(_l("Schedule id"), validators=[
        DataRequired(message=_l("Enter an id.")), Regexp(_ID, message=_ID_MSG)])
    route = SelectField(_l("Route"), choices=[], validators=[
        DataRequired(message=_l("Choose a route."))])
    weekdays = SelectMultipleField(_l("Days"), choices=WEEKDAY_CHOICES, validators=[
        DataRequired(message=_l("Choose at least one day."))])
    times = StringField(_l("Start times"), validators=[Optional(), Length(max=400)])
    every_start = StringField(_l("Every … from"), validators=[Optional(), Regexp(
        _HHMM_RE.pattern, message=_l("A time HH:MM."))])
    every_end = StringField(_l("to"), validators=[Optional(), Regexp(
        _HHMM_RE.pattern, message=_l("A time HH:MM."))])
    every_min = DecimalField(_l("every (min)"), places=None, validators=[
        Optional(), NumberRange(min=5, max=1440)])
    assignees = SelectMultipleField(_l("Patrol staff"), choices=[])
    team = StringField(_l("Team"), validators=[Length(max=50)])

    def validate_times(self, field: Any) -> None:
        every = (self.every_start.data, self.every_end.data, self.every_min.data)
        if field.data and any(every):
            raise ValidationError(_l("Give either start times or a repeat, not both."))
        if not field.data and not all(x not in (None, "") for x in every):
            raise ValidationError(_l("Give start times, or a repeat: from, to and every."))
        try:
            parse_times(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def to_item(self, *, tz: str, active_from_ms: int) -> Schedule:
        kw: dict[str, Any] = {"id": self.id.data, "route": self.route.data,
                              "weekdays": frozenset(int(d) for d in self.weekdays.data),
                              "tz": tz, "assignees": tuple(self.assignees.data or ()),
                              "team": (self.team.data or "").strip(),
                              "active_from_ms": active_from_ms}
        if self.times.data:
            return Schedule(times=parse_times(self.times.data), **kw)
        return Schedule.every(start=self.every_start.data, end=self.every_end.data,
                              every_min=int(self.every_min.data), **kw)


def parse_cards(text: str) -> tuple[str, ...]:
    """Card ids (hex, as the check-point readers report them) separated by spaces, commas or
    lines; ``ValueError`` naming a bad one."""
    cards = tuple(c.upper() for c in re.split(r"[\s,，]+", text or "") if c)
    for c in cards:
        if not _CARD_RE.match(c):
            raise ValueError(_("%(value)s is not a card number (8 to 20 hex digits).", value=c))
    return cards


class PatrolUserForm(FlaskForm):
    user = SelectField(_l("Console user (role patrol)"), choices=[], validators=[
        DataRequired(message=_l("Choose a user."))])
    name = StringField(_l("Display name"), validators=[Length(max=50)])
    cards = TextAreaField(_l("Cards"), validators=[
        DataRequired(message=_l("Enter at least one card number."))])
    team = StringField(_l("Team"), validators=[Length(max=50)])

    def validate_cards(self, field: Any) -> None:
        try:
            parse_cards(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def to_item(self) -> PatrolUser:
        return PatrolUser(user=self.user.data, cards=parse_cards(self.cards.data),
                          name=(self.name.data or "").strip(), team=(self.team.data or "").strip())
