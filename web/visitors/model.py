"""Visitor registration values (来访登记), validated; the ID number is cut to its tail here.

A visitor gives a name, an ID document (type and number), a phone, the unit visited, the
purpose, a vehicle plate and how many people come. Only the last :data:`ID_TAIL_CHARS`
characters of the ID number are ever kept: :func:`parse_visit` returns a :class:`VisitInput`
that has no field for the full number, so it cannot reach the database, a log line or the
audit log by accident.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ConsoleError
from ..units.model import check_code

__all__ = ["VisitError", "VisitInput", "ID_TYPES", "ID_TAIL_CHARS", "MAX_PEOPLE", "parse_visit",
           "id_tail", "normalise_plate", "normalise_name", "CONFIRM_VIA"]

#: ID documents a visitor may show.
ID_TYPES = ("resident_id", "passport", "hk_macau_permit", "taiwan_permit", "driving_licence",
            "other")
#: How many trailing characters of an ID number are stored.
ID_TAIL_CHARS = 4
#: Most people one visit registers.
MAX_PEOPLE = 50
#: How a resident confirmed a visit: a phone call, in person at the desk, a signed invite
#: (the resident arranged it beforehand).
CONFIRM_VIA = ("phone", "in_person", "invite")
_ID_RE = re.compile(r"^[0-9A-Za-z]{4,30}$")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{2,22}$")
_PLATE_RE = re.compile(r"^[0-9A-Z\u4e00-\u9fff]{2,10}$")


class VisitError(ConsoleError, ValueError):
    """A registration failed validation; ``errors`` maps a field to its problem codes
    (``required``, ``too_long``, ``control``, ``bad_id``, ``bad_phone``, ``bad_plate``,
    ``bad_people``, ``bad_id_type``, ``bad_unit``, ``unknown_unit``)."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = {k: list(v) for k, v in errors.items()}
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in self.errors.items()))


def id_tail(number: str) -> str:
    """The last :data:`ID_TAIL_CHARS` characters of an ID number, upper case (spaces removed)."""
    return re.sub(r"\s", "", number).upper()[-ID_TAIL_CHARS:]


def normalise_plate(plate: str) -> str:
    """A plate as compared and stored: upper case without spaces, dots and dashes."""
    return re.sub(r"[\s.·\-]", "", plate).upper()


def normalise_name(name: str) -> str:
    """A name as compared with the watchlist: case-folded, inner spaces removed."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", name)).casefold()


@dataclass(frozen=True)
class VisitInput:
    """A validated registration: everything stored about a visitor (``id_tail``, never the
    number). ``call_id``: the intercom call it answers (``node:call``), if any."""

    name: str
    id_type: str
    id_tail: str
    phone: str
    unit: str
    purpose: str
    plate: str
    people: int
    call_id: str | None = None


def _text(values: Mapping[str, Any], key: str, errors: dict[str, list[str]], *, required: bool,
          limit: int) -> str:
    text = str(values.get(key) or "").strip()
    if required and not text:
        errors.setdefault(key, []).append("required")
    elif len(text) > limit:
        errors.setdefault(key, []).append("too_long")
    elif any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
        errors.setdefault(key, []).append("control")
    return text


def parse_visit(values: Mapping[str, Any]) -> VisitInput:
    """A :class:`VisitInput` from form values ``name``, ``id_type``, ``id_number``, ``phone``,
    ``unit``, ``purpose``, ``plate``, ``people`` (1-50, default 1), ``call_id``. Raises
    :class:`VisitError` naming every problem. The problem messages never quote the ID number."""
    errors: dict[str, list[str]] = {}
    name = _text(values, "name", errors, required=True, limit=40)
    id_type = str(values.get("id_type") or "").strip()
    if id_type not in ID_TYPES:
        errors.setdefault("id_type", []).append("bad_id_type")
    number = re.sub(r"\s", "", str(values.get("id_number") or ""))
    if not number:
        errors.setdefault("id_number", []).append("required")
    elif not _ID_RE.match(number):
        errors.setdefault("id_number", []).append("bad_id")
    phone = _text(values, "phone", errors, required=False, limit=24)
    if phone and not _PHONE_RE.match(phone):
        errors.setdefault("phone", []).append("bad_phone")
    unit = _text(values, "unit", errors, required=True, limit=25)
    if unit and "unit" not in errors and check_code(unit):
        errors.setdefault("unit", []).append("bad_unit")
    purpose = _text(values, "purpose", errors, required=False, limit=100)
    plate = normalise_plate(_text(values, "plate", errors, required=False, limit=16))
    if plate and not _PLATE_RE.match(plate):
        errors.setdefault("plate", []).append("bad_plate")
    raw_people = str(values.get("people") or "1").strip()
    people = int(raw_people) if raw_people.isdigit() else 0
    if not 1 <= people <= MAX_PEOPLE:
        errors.setdefault("people", []).append("bad_people")
    call_id = str(values.get("call_id") or "").strip() or None
    if call_id is not None and (len(call_id) > 80 or not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9_.-]+",
                                                                      call_id)):
        errors.setdefault("call_id", []).append("bad_call")
    if errors:
        raise VisitError(errors)
    return VisitInput(name=name, id_type=id_type, id_tail=id_tail(number), phone=phone,
                      unit=unit, purpose=purpose, plate=plate, people=people, call_id=call_id)
