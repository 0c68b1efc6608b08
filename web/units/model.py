"""The unit registry's values: a unit (房号) and its residents, validated.

A unit's ``code`` is how every feature names it (``"A-1201"``: building, a dash, the door
number, as on the intercom panel, the goods pass and the key tag).  Residents carry the phone
the desk calls to confirm a visitor; ``vacant`` (空置房) marks a unit nobody lives in, which
the meters' anomaly check and the key register read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import ConsoleError

__all__ = ["Unit", "Resident", "UnitError", "RELATIONS", "MAX_RESIDENTS", "unit_code",
           "parse_unit", "check_code"]

#: How a resident relates to the unit.
RELATIONS = ("owner", "household", "tenant")
#: Most residents one unit lists.
MAX_RESIDENTS = 20
_CODE_RE = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff]{1,12}-[0-9A-Za-z]{1,12}$")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{2,22}$")


class UnitError(ConsoleError, ValueError):
    """A unit or resident failed validation; ``errors`` lists every problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def unit_code(building: str, number: str) -> str:
    """The code of unit ``number`` in ``building`` (``"A", "1201"`` -> ``"A-1201"``)."""
    return f"{building.strip()}-{number.strip()}"


def check_code(code: object) -> str | None:
    """None if ``code`` is a valid unit code, else the problem (a sentence)."""
    if not isinstance(code, str) or not _CODE_RE.match(code):
        return ("unit must be building-number, letters/digits (building may be Chinese), e.g. "
                f"A-1201; got {code!r}")
    return None


def _text(value: Any, what: str, errors: list[str], *, required: bool, limit: int) -> str:
    text = str(value or "").strip()
    if required and not text:
        errors.append(f"{what}: required")
    elif len(text) > limit:
        errors.append(f"{what}: at most {limit} characters")
    elif any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
        errors.append(f"{what}: control characters are not allowed")
    return text


@dataclass(frozen=True)
class Resident:
    """A person living in (or owning) a unit: ``name``, ``phone`` (digits, spaces, dashes, an
    optional leading +), ``relation`` (one of :data:`RELATIONS`)."""

    name: str
    phone: str = ""
    relation: str = "owner"

    def to_json_obj(self) -> dict[str, str]:
        return {"name": self.name, "phone": self.phone, "relation": self.relation}


@dataclass(frozen=True)
class Unit:
    """One unit: ``code`` (``building-number``), ``building``, ``number``, ``vacant``,
    ``residents`` (owner first by convention), ``note``; ``updated_at`` (UTC ms) and
    ``updated_by`` are set by the store."""

    code: str
    building: str
    number: str
    vacant: bool = False
    residents: tuple[Resident, ...] = ()
    note: str = ""
    updated_at: int = 0
    updated_by: str = ""

    @property
    def owners(self) -> tuple[Resident, ...]:
        return tuple(r for r in self.residents if r.relation == "owner")

    def names(self) -> list[str]:
        return [r.name for r in self.residents]

    def to_json_obj(self) -> dict[str, Any]:
        return {"code": self.code, "building": self.building, "number": self.number,
                "vacant": self.vacant, "residents": [r.to_json_obj() for r in self.residents],
                "note": self.note}


def _resident(raw: Any, i: int, errors: list[str]) -> Resident | None:
    if not isinstance(raw, Mapping):
        errors.append(f"residents[{i}]: must be an object with name, phone, relation")
        return None
    where = f"residents[{i}]"
    name = _text(raw.get("name"), f"{where}.name", errors, required=True, limit=64)
    phone = _text(raw.get("phone"), f"{where}.phone", errors, required=False, limit=24)
    if phone and not _PHONE_RE.match(phone):
        errors.append(f"{where}.phone: digits, spaces and dashes (optional leading +), got {phone!r}")
    relation = str(raw.get("relation") or "owner").strip()
    if relation not in RELATIONS:
        errors.append(f"{where}.relation: one of {', '.join(RELATIONS)}, got {relation!r}")
    return Resident(name=name, phone=phone, relation=relation)


def parse_unit(values: Mapping[str, Any]) -> Unit:
    """A :class:`Unit` from form/CSV/JSON values: ``building``, ``number``, ``vacant`` (bool or
    "1"/"yes"/"true"/"on"), ``residents`` (a list of ``{name, phone, relation}``), ``note``.
    Raises :class:`UnitError` listing every problem."""
    errors: list[str] = []
    building = _text(values.get("building"), "building", errors, required=True, limit=12)
    number = _text(values.get("number"), "number", errors, required=True, limit=12)
    code = unit_code(building, number)
    if building and number:
        problem = check_code(code)
        if problem:
            errors.append(problem)
    vacant_raw = values.get("vacant", False)
    vacant = (vacant_raw if isinstance(vacant_raw, bool)
              else str(vacant_raw).strip().lower() in ("1", "yes", "true", "on", "y", "是"))
    raw_residents = values.get("residents") or []
    residents: list[Resident] = []
    if not isinstance(raw_residents, (list, tuple)):
        errors.append("residents: must be a list")
    elif len(raw_residents) > MAX_RESIDENTS:
        errors.append(f"residents: at most {MAX_RESIDENTS}")
    else:
        for i, raw in enumerate(raw_residents):
            r = _resident(raw, i, errors)
            if r is not None:
                residents.append(r)
    note = _text(values.get("note"), "note", errors, required=False, limit=200)
    if errors:
        raise UnitError(errors)
    return Unit(code=code, building=building, number=number, vacant=vacant,
                residents=tuple(residents), note=note)
