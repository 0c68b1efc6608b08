"""The unit registry's values: a unit (房号) and its residents, validated.

A unit's ``code`` is how every feature names it (``"A-1201"``: building, a dash, the door
number, as on the intercom panel, the goods pass and the key tag).  Residents carry the phone
the desk calls to confirm a visitor; ``vacant`` (空置房) marks a unit nobody lives in, which
the meters' anomaly check and the key register read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ConsoleError

__all__ = ["Unit", "Resident", "UnitError", "UnitProblem", "RELATIONS", "MAX_RESIDENTS",
           "unit_code", "parse_unit", "check_code"]

#: How a resident relates to the unit.
RELATIONS = ("owner", "household", "tenant")
#: Most residents one unit lists.
MAX_RESIDENTS = 20
_CODE_RE = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff]{1,12}-[0-9A-Za-z]{1,12}$")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{2,22}$")


@dataclass(frozen=True)
class UnitProblem:
    """One validation problem: ``field`` (``building``, ``number``, ``residents``, ``note``,
    ``name``, ``phone``, ``relation``), ``code`` (``required``, ``too_long``, ``control_chars``,
    ``bad_code``, ``bad_phone``, ``bad_relation``, ``bad_resident``, ``not_a_list``,
    ``too_many``), ``resident`` (1-based, for a resident's field; 0 otherwise) and ``params``
    (``limit``, ``value``). ``str()`` is the English sentence (logs, the command line); pages
    show :func:`web.units.messages.problem_text`."""

    field: str
    code: str
    resident: int = 0
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    def __str__(self) -> str:
        where = f"residents[{self.resident - 1}].{self.field}" if self.resident else self.field
        value, limit = self.param("value"), self.param("limit")
        text = {
            "required": "required",
            "too_long": f"at most {limit} characters",
            "control_chars": "control characters are not allowed",
            "bad_code": ("unit must be building-number, letters/digits (building may be "
                         f"Chinese), e.g. A-1201; got {value!r}"),
            "bad_phone": f"digits, spaces and dashes (optional leading +), got {value!r}",
            "bad_relation": f"one of {', '.join(RELATIONS)}, got {value!r}",
            "bad_resident": "must be an object with name, phone, relation",
            "not_a_list": "must be a list",
            "too_many": f"at most {limit}",
        }.get(self.code, self.code)
        return text if self.code == "bad_code" else f"{where}: {text}"


class UnitError(ConsoleError, ValueError):
    """A unit or resident failed validation; ``problems`` lists every problem
    (:class:`UnitProblem`), ``errors`` the same as English sentences."""

    def __init__(self, problems: list[UnitProblem]) -> None:
        self.problems = list(problems)
        self.errors = [str(p) for p in self.problems]
        super().__init__("; ".join(self.errors))


def unit_code(building: str, number: str) -> str:
    """The code of unit ``number`` in ``building`` (``"A", "1201"`` -> ``"A-1201"``)."""
    return f"{building.strip()}-{number.strip()}"


def check_code(code: object) -> str | None:
    """None if ``code`` is a valid unit code, else the problem (a sentence)."""
    if not isinstance(code, str) or not _CODE_RE.match(code):
        return str(UnitProblem("unit", "bad_code", params=(("value", code),)))
    return None


def _text(value: Any, what: str, errors: list[UnitProblem], *, required: bool, limit: int,
          resident: int = 0) -> str:
    text = str(value or "").strip()
    if required and not text:
        errors.append(UnitProblem(what, "required", resident))
    elif len(text) > limit:
        errors.append(UnitProblem(what, "too_long", resident, (("limit", limit),)))
    elif any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
        errors.append(UnitProblem(what, "control_chars", resident))
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


def _resident(raw: Any, i: int, errors: list[UnitProblem]) -> Resident | None:
    n = i + 1
    if not isinstance(raw, Mapping):
        errors.append(UnitProblem("residents", "bad_resident", n))
        return None
    name = _text(raw.get("name"), "name", errors, required=True, limit=64, resident=n)
    phone = _text(raw.get("phone"), "phone", errors, required=False, limit=24, resident=n)
    if phone and not _PHONE_RE.match(phone):
        errors.append(UnitProblem("phone", "bad_phone", n, (("value", phone),)))
    relation = str(raw.get("relation") or "owner").strip()
    if relation not in RELATIONS:
        errors.append(UnitProblem("relation", "bad_relation", n, (("value", relation),)))
    return Resident(name=name, phone=phone, relation=relation)


def parse_unit(values: Mapping[str, Any]) -> Unit:
    """A :class:`Unit` from form/CSV/JSON values: ``building``, ``number``, ``vacant`` (bool or
    "1"/"yes"/"true"/"on"), ``residents`` (a list of ``{name, phone, relation}``), ``note``.
    Raises :class:`UnitError` listing every problem."""
    errors: list[UnitProblem] = []
    building = _text(values.get("building"), "building", errors, required=True, limit=12)
    number = _text(values.get("number"), "number", errors, required=True, limit=12)
    code = unit_code(building, number)
    if building and number:
        if check_code(code):
            errors.append(UnitProblem("unit", "bad_code", params=(("value", code),)))
    vacant_raw = values.get("vacant", False)
    vacant = (vacant_raw if isinstance(vacant_raw, bool)
              else str(vacant_raw).strip().lower() in ("1", "yes", "true", "on", "y", "是"))
    raw_residents = values.get("residents") or []
    residents: list[Resident] = []
    if not isinstance(raw_residents, (list, tuple)):
        errors.append(UnitProblem("residents", "not_a_list"))
    elif len(raw_residents) > MAX_RESIDENTS:
        errors.append(UnitProblem("residents", "too_many", params=(("limit", MAX_RESIDENTS),)))
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
