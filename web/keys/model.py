"""The key register's values (钥匙登记): a numbered key, who may take it, and its loans.

A :class:`KeyRecord` is one physical key: its ``number`` (the tag, e.g. ``K-001``; also the
key id in the ``key-permissions`` snapshot the cabinet decides from), ``label``, ``unit``,
``kind`` (:data:`KEY_KINDS`), its home ``cabinet`` and ``slot``, who may take it (``takers``,
:func:`parse_takers`), ``two_person``, ``max_loan_min`` and, for owner-entrusted keys
(业主委托), the owner's authorisation: ``authorised_by`` (the owner), ``authorised_until``
(UTC ms; after it nobody takes the key) and ``borrowers`` (whom the owner allows, as written on
the authorisation, e.g. ``维修工 李师傅``).

Takers are tokens (:func:`parse_takers`): ``cred:<credential id>`` (a card holder or a
contractor in the credentials registry), ``role:<credential kind>`` (every enabled credential
of that kind: ``staff``, ``contractor``...), ``user:<console user>`` (the credential whose id
is the user's name: a desk clerk's staff card). A bare token is a credential id.

:func:`validate_key` returns every problem per field as codes (``required``, ``bad_number``,
``bad_kind``, ``bad_slot``, ``bad_taker``, ``bad_minutes``, ``until_required``,
``bad_cabinet``, ``bad_unit``, ``too_long``) that :mod:`web.keys.messages` turns into sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["KeyRecord", "KeyLoan", "KEY_KINDS", "ENTRUSTED", "TAKER_KINDS", "DEFAULT_MAX_LOAN_MIN",
           "MAX_LOAN_MIN", "parse_takers", "validate_key", "NUMBER_RE", "CABINET_RE",
           "SLOT_STATES", "LOAN_STATES", "RESERVED_NUMBERS", "id_last4"]

#: Kinds of key: a vacant unit's (空置房, held for the developer), an owner's entrusted key
#: (业主委托), a common-area key (公共区域), a master key (总钥匙).
KEY_KINDS = ("vacant-unit", "owner-entrusted", "common-area", "master")
ENTRUSTED = "owner-entrusted"
#: Taker token prefixes.
TAKER_KINDS = ("cred", "role", "user")
#: Loan time when a key is not (or no longer) in the register, minutes (24 h).
DEFAULT_MAX_LOAN_MIN = 24 * 60
#: Longest loan time a key may allow, minutes (30 days).
MAX_LOAN_MIN = 30 * 24 * 60
#: Key numbers: the node's key-id rule (``edge/cabinet/permissions.py``), at most 32 characters.
NUMBER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,31}")
CABINET_RE = re.compile(r"[a-z0-9-]{1,32}")
_TOKEN_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_TEXT_LIMIT = 100
#: Numbers that would collide with the register's own pages.
RESERVED_NUMBERS = frozenset({"new", "cabinets", "loans", "reminders"})
#: What the cabinet view shows per slot.
SLOT_STATES = ("present", "out", "wrong", "fault", "empty")
#: A loan's life: ``released`` (the desk released the slot, the key not yet taken), ``out``,
#: ``returned``, ``cancelled`` (a release nobody took).
LOAN_STATES = ("released", "out", "returned", "cancelled")


def parse_takers(text: str | list[str] | tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    """Normalised taker tokens from text (spaces, commas, semicolons, new lines) or a list, and
    the tokens that are not valid. A bare token becomes ``cred:<token>``."""
    items = re.split(r"[\s,;，；]+", text) if isinstance(text, str) else list(text)
    good: list[str] = []
    bad: list[str] = []
    for raw in items:
        tok = str(raw).strip()
        if not tok:
            continue
        kind, sep, rest = tok.partition(":")
        if not sep or kind.lower() not in TAKER_KINDS:
            kind, rest = "cred", tok
        kind = kind.lower()
        if not rest or not _TOKEN_RE.fullmatch(rest):
            bad.append(tok)
            continue
        norm = f"{kind}:{rest}"
        if norm not in good:
            good.append(norm)
    return tuple(good), bad


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyRecord:
    """One key of the register (see the module note). Times are UTC ms."""

    number: str
    label: str = ""
    unit: str = ""
    kind: str = "common-area"
    cabinet: str = ""
    slot: int = 0
    takers: tuple[str, ...] = ()
    two_person: bool = False
    max_loan_min: int = DEFAULT_MAX_LOAN_MIN
    authorised_by: str = ""
    authorised_until: int | None = None
    borrowers: str = ""
    note: str = ""
    updated_at: int = 0
    updated_by: str = ""

    @property
    def entrusted(self) -> bool:
        return self.kind == ENTRUSTED

    def active(self, now_ms: int) -> bool:
        """True if the key may be taken at ``now_ms`` (an entrusted key: until the owner's
        authorisation ends)."""
        return not self.entrusted or (self.authorised_until is not None
                                      and now_ms < self.authorised_until)

    @property
    def takers_text(self) -> str:
        return " ".join(self.takers)


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyLoan:
    """One loan (钥匙借用): ``key`` number, ``holder`` (a credential id, or the borrower the
    desk recorded), ``holder_name``, ``card``, ``witness`` (two-person keys), ``how``
    (``card``/``desk``/``forced``/``missing``), ``state`` (:data:`LOAN_STATES`), times in UTC
    ms (``taken_at``/``returned_at`` node clock, ``due_at`` = taken + the key's maximum loan
    time), ``flags`` (``forced``, ``wrong_slot``), ``overdue_alarm`` (the console alarm raised
    once when overdue), and for desk-assisted loans ``desk_by`` (operator), ``id_last4``,
    ``purpose``, ``cmd_id``."""

    id: int
    key: str
    cabinet: str = ""
    slot: int | None = None
    node: str = ""
    holder: str = ""
    holder_name: str = ""
    card: str | None = None
    witness: str | None = None
    how: str = "card"
    state: str = "out"
    taken_at: int | None = None
    due_at: int | None = None
    returned_at: int | None = None
    returned_by: str | None = None
    flags: tuple[str, ...] = ()
    overdue_alarm: int | None = None
    desk_by: str | None = None
    id_last4: str | None = None
    purpose: str = ""
    cmd_id: str | None = None
    created_at: int = 0
    label: str = field(default="", compare=False)

    def overdue(self, now_ms: int) -> bool:
        return self.state == "out" and self.due_at is not None and self.due_at <= now_ms

    @property
    def who(self) -> str:
        """The borrower as people read it: the name, else the id."""
        return self.holder_name or self.holder or ""


def id_last4(text: str) -> str | None:
    """The last four characters of an ID number typed at the desk (digits or X), or None if
    fewer than four such characters were typed. Only these four are ever stored."""
    chars = [c for c in str(text or "").upper() if c.isdigit() or c == "X"]
    return "".join(chars[-4:]) if len(chars) >= 4 else None


def _text(values: Mapping[str, Any], name: str, err: Any, *, limit: int = _TEXT_LIMIT) -> str:
    text = str(values.get(name) or "").strip()
    if len(text) > limit:
        err(name, "too_long")
    elif any(ord(c) < 32 for c in text):
        err(name, "too_long")
    return text


def validate_key(values: Mapping[str, Any]) -> tuple[KeyRecord | None, dict[str, list[str]]]:
    """A :class:`KeyRecord` from loosely typed ``values`` (``number``, ``label``, ``unit``,
    ``kind``, ``cabinet``, ``slot``, ``takers`` (text or list), ``two_person``,
    ``max_loan_min``, ``authorised_by``, ``authorised_until`` (UTC ms), ``borrowers``, ``note``).
    Returns ``(record, {})`` or ``(None, {field: [codes]})``. The unit is checked against the
    unit registry by the caller."""
    errors: dict[str, list[str]] = {}

    def err(name: str, code: str) -> None:
        errors.setdefault(name, []).append(code)

    number = str(values.get("number") or "").strip()
    if not number:
        err("number", "required")
    elif not NUMBER_RE.fullmatch(number) or number.lower() in RESERVED_NUMBERS:
        err("number", "bad_number")
    kind = str(values.get("kind") or "").strip()
    if kind not in KEY_KINDS:
        err("kind", "bad_kind")
    cabinet = str(values.get("cabinet") or "").strip()
    if not cabinet:
        err("cabinet", "required")
    elif not CABINET_RE.fullmatch(cabinet):
        err("cabinet", "bad_cabinet")
    slot_raw = values.get("slot")
    slot = 0
    try:
        slot = int(str(slot_raw).strip()) if not isinstance(slot_raw, bool) else -1
        if not 1 <= slot <= 999:
            raise ValueError
    except (TypeError, ValueError):
        err("slot", "bad_slot")
    raw_takers = values.get("takers") or ""
    takers, bad = parse_takers(raw_takers)
    if bad:
        err("takers", "bad_taker")
    minutes_raw = values.get("max_loan_min")
    minutes = DEFAULT_MAX_LOAN_MIN
    if minutes_raw not in (None, ""):
        try:
            minutes = int(str(minutes_raw).strip())
            if not 1 <= minutes <= MAX_LOAN_MIN:
                raise ValueError
        except (TypeError, ValueError):
            err("max_loan_min", "bad_minutes")
    until = values.get("authorised_until")
    if until is not None and (isinstance(until, bool) or not isinstance(until, int)):
        err("authorised_until", "bad_time")
        until = None
    if kind == ENTRUSTED and until is None and "authorised_until" not in errors:
        err("authorised_until", "until_required")
    label = _text(values, "label", err)
    unit = _text(values, "unit", err, limit=32)
    authorised_by = _text(values, "authorised_by", err)
    borrowers = _text(values, "borrowers", err, limit=200)
    note = _text(values, "note", err, limit=200)
    if errors:
        return None, errors
    return KeyRecord(number=number, label=label, unit=unit, kind=kind, cabinet=cabinet, slot=slot,
                     takers=takers, two_person=bool(values.get("two_person")),
                     max_loan_min=minutes, authorised_by=authorised_by if kind == ENTRUSTED else "",
                     authorised_until=until if kind == ENTRUSTED else None,
                     borrowers=borrowers if kind == ENTRUSTED else "", note=note), {}
