"""Forms of the pages (Flask-WTF: every POST form carries a CSRF token) and the event
filter (a GET form, shared by the search page, the CSV export and the JSON API)."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (HiddenField, PasswordField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from ..auth.forms import new_password_validators
from ..auth.users import ROLES
from ..labels import ROLE_LABELS
from ..stores.alarms import MAX_NOTE_CHARS

__all__ = ["AckForm", "UserAddForm", "RoleForm", "PasswordResetForm", "ConfirmForm",
           "EventFilter", "parse_event_filter", "MAX_NOTE_CHARS"]

_USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,31}$"
_NODE_RE = re.compile(r"^[a-z0-9-]{1,32}$")
_KIND_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,139}$")
_CURSOR_RE = re.compile(r"^[0-9]{1,20}\.[0-9]{1,20}$")


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(r, ROLE_LABELS[r]) for r in ROLES]


class AckForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[
        DataRequired(message=_l("Write what was done about the alarm.")),
        Length(max=MAX_NOTE_CHARS, message=_l("The note may have at most %(max)d characters."))])
    next = HiddenField()


class UserAddForm(FlaskForm):
    username = StringField(_l("User name"), validators=[
        DataRequired(message=_l("Enter a user name.")),
        Regexp(_USERNAME_PATTERN, message=_l(
            "2 to 32 characters: lower-case letters, digits, '.', '_' or '-', starting with a "
            "letter or digit."))])
    role = SelectField(_l("Role"), choices=_role_choices, validators=[
        DataRequired(message=_l("Choose a role."))])
    password = PasswordField(_l("Password"), validators=new_password_validators())
    confirm = PasswordField(_l("Password again"), validators=[
        EqualTo("password", message=_l("The two passwords differ."))])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=_role_choices, validators=[
        DataRequired(message=_l("Choose a role."))])


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=new_password_validators())


class ConfirmForm(FlaskForm):
    """A button-only form (disable, enable): just the CSRF token."""


# -- event filter --------------------------------------------------------------------------

@dataclass(frozen=True)
class EventFilter:
    """Validated search filters: ``since_ms`` / ``until_ms`` UTC ms; the raw ``values`` to
    fill the form again; ``errors`` maps a field to its messages."""

    since_ms: int | None = None
    until_ms: int | None = None
    node: str | None = None
    kind: str | None = None
    text: str | None = None
    cursor: str | None = None
    values: Mapping[str, str] | None = None
    errors: Mapping[str, list[Any]] | None = None

    def store_args(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`web.stores.events.EventStore.search`."""
        return {"since_ms": self.since_ms, "until_ms": self.until_ms, "node": self.node,
                "kind": self.kind, "text": self.text}

    def query(self, **extra: Any) -> dict[str, str]:
        """The filter as query parameters (for links: next page, CSV export)."""
        q = {k: v for k, v in (self.values or {}).items() if v and k != "cursor"}
        q.update({k: v for k, v in extra.items() if v})
        return q


def _parse_local(text: str, tz: zoneinfo.ZoneInfo) -> int:
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%d"):
        try:
            dt = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return int(dt.replace(tzinfo=tz).timestamp() * 1000)
    raise ValueError(text)


def parse_event_filter(args: Mapping[str, str], *, timezone: str,
                       times_as_ms: bool = False) -> EventFilter:
    """Validate ``since``, ``until`` (local date-times of the site, or UTC ms with
    ``times_as_ms`` for the API), ``node``, ``kind``, ``q`` (text, <= 100 characters) and
    ``cursor`` from a query string."""
    tz = zoneinfo.ZoneInfo(timezone)
    values = {k: (args.get(k) or "").strip() for k in ("since", "until", "node", "kind", "q", "cursor")}
    errors: dict[str, list[Any]] = {}
    times: dict[str, int | None] = {}
    for name in ("since", "until"):
        raw = values[name]
        times[name] = None
        if not raw:
            continue
        try:
            if times_as_ms:
                if not raw.isdigit() or len(raw) > 15:
                    raise ValueError(raw)
                times[name] = int(raw)
            else:
                times[name] = _parse_local(raw[:40], tz)
        except (ValueError, OverflowError):
            errors[name] = [_l("Not a valid date and time.")]
    if times["since"] is not None and times["until"] is not None and times["until"] <= times["since"]:
        errors.setdefault("until", []).append(_l("Must be after the start."))
    if values["node"] and not _NODE_RE.match(values["node"]):
        errors["node"] = [_l("Not a valid node id.")]
    if values["kind"] and not _KIND_RE.match(values["kind"]):
        errors["kind"] = [_l("Not a valid event kind.")]
    if len(values["q"]) > 100:
        errors["q"] = [_l("At most %(max)d characters.", max=100)]
    if values["cursor"] and not _CURSOR_RE.match(values["cursor"]):
        errors["cursor"] = [_l("Not a valid page link.")]
    if errors:
        return EventFilter(values=values, errors=errors)
    return EventFilter(since_ms=times["since"], until_ms=times["until"],
                       node=values["node"] or None, kind=values["kind"] or None,
                       text=values["q"] or None, cursor=values["cursor"] or None,
                       values=values, errors={})


