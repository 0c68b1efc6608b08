"""Credentials (who may open which doors, when) and the ``credentials`` snapshot they arrive in.

The console publishes the whole set, retained, on ``sync/credentials`` as a
:class:`~mqtt_topics.SyncSnapshot` whose ``version`` rises by one per change. Its ``data``
(format 1)::

    {
      "format": 1,
      "timezone": "Asia/Shanghai",          # the site's IANA zone (schedules' default), default UTC
      "holidays": ["2025-10-01", ...],      # site-wide holiday dates, added to every schedule
      "schedules": {                        # schedule id -> schedule (see edge.access.schedule)
        "office": {"week": {"mon": ["08:00-18:00"], ...}, "holiday": [], "holidays": []}
      },
      "credentials": [
        {"id": "c-1001",                    # [A-Za-z0-9._:-]{1,64}, unique
         "cards": ["w26:123:4567", "em:0A12345678"],   # card keys, see card_key()
         "holder": "王芳", "unit": "3-2-501",
         "kind": "resident",                # resident | household | tenant | staff | contractor
         "doors": "*" | ["lobby", "gate-north"],       # required; "*" = every door
         # optional, defaults shown:
         "enabled": true,
         "valid_from": null, "valid_until": null,       # UTC ms, or ISO 8601 with an offset
         "schedule": null,                  # a schedule id; null = any time
         "pin": null}                       # PBKDF2 hash from edge.access.pin.hash_pin, never a PIN
      ]
    }

Optional fields may be left out (a 100,000-credential snapshot stays around 10 MB, under the
contract's 16 MiB sync limit). Validity is ``valid_from <= now < valid_until``. A contractor's
credential (renovation worker, 装修出入证) must name its doors (not ``"*"``) and carry a
``valid_until``: one without is rejected.

Card keys name a card the way a reader reports it: ``w26:<facility>:<number>`` and
``w34:<facility>:<number>`` (decimal) for Wiegand 26/34-bit readers, ``em:<10 hex digits>`` for
EM4100 cards on an RDM6300 serial reader (the id the reader sends), ``<format>:<card>`` for any
other reader format. A credential lists every key its card(s) produce on the site's readers.

Loading is forgiving record by record and strict about the whole: a bad credential or schedule is
skipped, logged and listed in :attr:`CredentialSet.rejected` (the rest load); a snapshot of another
dataset or with an unknown ``format`` raises :class:`CredentialDataError`. A card key listed by two
credentials stays with the first one (the second listing is rejected).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator, Literal, Mapping

from hardware.readers.card import CardRead
from mqtt_topics import ContractError, SyncSnapshot, cards
from edge.access.errors import CredentialDataError
from edge.access.pin import check_pin_hash
from edge.access.schedule import WeeklySchedule, load_zone

log = logging.getLogger(__name__)

DATASET = "credentials"
FORMAT = 1
KINDS = ("resident", "household", "tenant", "staff", "contractor")
ALL_DOORS = "*"
#: How many rejected records are logged one by one per load (the rest are summarised).
LOG_REJECTED = 20

_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_DOOR_RE = re.compile(r"[a-z0-9-]{1,32}")

CredentialKind = Literal["resident", "household", "tenant", "staff", "contractor"]


# -- card keys ---------------------------------------------------------------------------------

def card_key(read: CardRead) -> str:
    """The key a credential lists for the card in ``read``: ``w26:123:4567``, ``w34:…:…``,
    ``em:0A12345678`` or ``<format>:<card>`` (see :mod:`mqtt_topics.cards`)."""
    if read.format == "wiegand26":
        return f"{cards.WIEGAND26}:{read.facility}:{read.number}"
    if read.format == "wiegand34":
        return f"{cards.WIEGAND34}:{read.facility}:{read.number}"
    if read.format == "em4100":
        return f"{cards.EM4100}:{read.card.upper()}"
    return f"{read.format}:{read.card}"


def normalize_card(text: str) -> str:
    """The canonical form of a card key (lower-case prefix, decimal numbers without leading
    zeros, upper-case EM hex): :func:`mqtt_topics.cards.normalize_card`, shared with the
    console. Raises :class:`CredentialDataError` for a malformed key."""
    try:
        return cards.normalize_card(text)
    except ContractError as exc:
        raise CredentialDataError(str(exc)) from None


# -- time fields -------------------------------------------------------------------------------

def to_utc_ms(value: datetime | int | str | None, what: str) -> int | None:
    """UTC milliseconds from an aware datetime, an int (already ms), an ISO 8601 string with an
    offset, or None. Raises :class:`CredentialDataError` for naive or malformed times."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise CredentialDataError(f"{what}: not a time: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise CredentialDataError(f"{what}: {value!r} is not ISO 8601") from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise CredentialDataError(f"{what}: naive time {value.isoformat()}; give an offset")
        return round(value.timestamp() * 1000)
    raise CredentialDataError(f"{what}: not a time: {value!r}")


# -- a credential ------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True, slots=True)
class Credential:
    """One person's right to open doors.

    - ``credential_id``: unique id (``[A-Za-z0-9._:-]{1,64}``);
    - ``cards``: card keys (see :func:`card_key`); several allowed, normalised on construction;
    - ``holder``, ``unit``: the person and the unit (房号) they belong to;
    - ``kind``: ``resident``, ``household``, ``tenant``, ``staff`` or ``contractor``;
    - ``doors``: door ids it opens, or ``"*"`` for every door;
    - ``enabled``: False blocks it (lost card, moved out) without deleting it;
    - ``valid_from`` / ``valid_until``: UTC ms (an aware datetime is converted), None = open;
      valid while ``valid_from <= now < valid_until``;
    - ``schedule``: a schedule id, None for any time;
    - ``pin_hash``: an encoded hash from :func:`edge.access.pin.hash_pin`, or None.

    Raises :class:`CredentialDataError` for a bad field, and for a contractor credential without
    an end date or with ``doors="*"``.
    """

    credential_id: str
    cards: tuple[str, ...]
    doors: tuple[str, ...] | Literal["*"]
    holder: str = ""
    unit: str = ""
    kind: CredentialKind = "resident"
    enabled: bool = True
    valid_from: int | None = None
    valid_until: int | None = None
    schedule: str | None = None
    pin_hash: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        cid = self.credential_id
        if not isinstance(cid, str) or not _ID_RE.fullmatch(cid):
            raise CredentialDataError(f"credential id {cid!r} is not [A-Za-z0-9._:-]{{1,64}}")
        if isinstance(self.cards, str) or not self.cards:
            raise CredentialDataError(f"credential {cid}: 'cards' must be a non-empty list")
        object.__setattr__(self, "cards", tuple(normalize_card(c) for c in self.cards))
        doors = self.doors
        if doors != ALL_DOORS:
            if isinstance(doors, str):
                raise CredentialDataError(f"credential {cid}: 'doors' is '*' or a list of door ids")
            doors = tuple(doors)
            for d in doors:
                if not isinstance(d, str) or not _DOOR_RE.fullmatch(d):
                    raise CredentialDataError(f"credential {cid}: door id {d!r} is not [a-z0-9-]{{1,32}}")
            object.__setattr__(self, "doors", doors)
        if self.kind not in KINDS:
            raise CredentialDataError(f"credential {cid}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not isinstance(self.enabled, bool):
            raise CredentialDataError(f"credential {cid}: 'enabled' must be true or false")
        for name in ("holder", "unit"):
            if not isinstance(getattr(self, name), str):
                raise CredentialDataError(f"credential {cid}: {name!r} must be a string")
        object.__setattr__(self, "valid_from", to_utc_ms(self.valid_from, f"credential {cid}: valid_from"))
        object.__setattr__(self, "valid_until", to_utc_ms(self.valid_until, f"credential {cid}: valid_until"))
        if self.valid_from is not None and self.valid_until is not None \
                and self.valid_until <= self.valid_from:
            raise CredentialDataError(f"credential {cid}: valid_until is not after valid_from")
        if self.schedule is not None and (not isinstance(self.schedule, str) or not self.schedule):
            raise CredentialDataError(f"credential {cid}: 'schedule' must be a schedule id or null")
        if self.pin_hash is not None:
            try:
                check_pin_hash(self.pin_hash)
            except ValueError as exc:
                raise CredentialDataError(f"credential {cid}: {exc}") from None
        if self.kind == "contractor":
            if self.valid_until is None:
                raise CredentialDataError(f"credential {cid}: a contractor credential needs valid_until")
            if self.doors == ALL_DOORS:
                raise CredentialDataError(f"credential {cid}: a contractor credential must name its doors")

    def opens(self, door_id: str) -> bool:
        """True if the credential lists ``door_id`` (or every door)."""
        return self.doors == ALL_DOORS or door_id in self.doors

    @classmethod
    def from_json_obj(cls, obj: Mapping[str, Any]) -> "Credential":
        """Build from the snapshot's JSON form (module docstring)."""
        if not isinstance(obj, Mapping):
            raise CredentialDataError("credential: must be a JSON object")
        unknown = set(obj) - _JSON_FIELDS
        if unknown:
            raise CredentialDataError(f"credential {obj.get('id')!r}: unknown fields {sorted(unknown)}")
        for required in ("id", "cards", "doors"):
            if required not in obj:
                raise CredentialDataError(f"credential {obj.get('id')!r}: {required!r} is missing")
        return cls(credential_id=obj["id"], cards=obj["cards"], doors=obj["doors"],
                   holder=obj.get("holder", ""), unit=obj.get("unit", ""),
                   kind=obj.get("kind", "resident"), enabled=obj.get("enabled", True),
                   valid_from=obj.get("valid_from"), valid_until=obj.get("valid_until"),
                   schedule=obj.get("schedule"), pin_hash=obj.get("pin"))

    def to_json_obj(self) -> dict[str, Any]:
        """The JSON form, defaults left out."""
        out: dict[str, Any] = {"id": self.credential_id, "cards": list(self.cards),
                               "doors": self.doors if self.doors == ALL_DOORS else list(self.doors),
                               "kind": self.kind}
        if self.holder:
            out["holder"] = self.holder
        if self.unit:
            out["unit"] = self.unit
        if not self.enabled:
            out["enabled"] = False
        for key, value in (("valid_from", self.valid_from), ("valid_until", self.valid_until),
                           ("schedule", self.schedule), ("pin", self.pin_hash)):
            if value is not None:
                out[key] = value
        return out


_JSON_FIELDS = frozenset({"id", "cards", "doors", "holder", "unit", "kind", "enabled",
                          "valid_from", "valid_until", "schedule", "pin"})


# -- the set -----------------------------------------------------------------------------------

class CredentialSet:
    """Every credential of a snapshot, indexed by card key, with the schedules they use.

    - ``credentials``: the credentials (a card listed twice stays with the first);
    - ``schedules``: schedule id -> :class:`WeeklySchedule`;
    - ``version``: the snapshot version it came from (0 for a hand-built set);
    - ``timezone``: the site's IANA zone name;
    - ``rejected``: problems found while building (one sentence each).

    Immutable after construction: a new snapshot builds a new set, swapped in whole, so a lookup
    never sees half an update. :meth:`lookup` is one dict access.
    """

    def __init__(self, credentials: Iterable[Credential] = (), *,
                 schedules: Mapping[str, WeeklySchedule] | None = None, version: int = 0,
                 timezone: str = "UTC", rejected: Iterable[str] = ()) -> None:
        self.version = version
        self.timezone = timezone
        self.schedules: dict[str, WeeklySchedule] = dict(schedules or {})
        self.rejected: list[str] = list(rejected)
        self._by_id: dict[str, Credential] = {}
        self._by_card: dict[str, Credential] = {}
        for cred in credentials:
            if cred.credential_id in self._by_id:
                self.rejected.append(f"credential {cred.credential_id}: duplicate id, later copy skipped")
                continue
            self._by_id[cred.credential_id] = cred
            for card in cred.cards:
                owner = self._by_card.setdefault(card, cred)
                if owner is not cred:
                    self.rejected.append(f"credential {cred.credential_id}: card {card} already "
                                         f"belongs to {owner.credential_id}; not indexed")

    # -- lookups ---------------------------------------------------------------------------------

    def lookup(self, card: str) -> Credential | None:
        """The credential listing card key ``card`` (canonical form, as :func:`card_key`
        gives), or None."""
        return self._by_card.get(card)

    def get(self, credential_id: str) -> Credential | None:
        """The credential with this id, or None."""
        return self._by_id.get(credential_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Credential]:
        return iter(self._by_id.values())

    def __repr__(self) -> str:
        return (f"<CredentialSet v{self.version} {len(self)} credentials, "
                f"{len(self.schedules)} schedules, {len(self.rejected)} rejected>")

    # -- snapshots -------------------------------------------------------------------------------

    @classmethod
    def from_snapshot(cls, snapshot: SyncSnapshot) -> "CredentialSet":
        """Build from a ``credentials`` snapshot. Bad records are skipped and listed in
        ``rejected`` (and logged); raises :class:`CredentialDataError` for another dataset, an
        unknown ``format`` or a malformed top level."""
        if snapshot.dataset != DATASET:
            raise CredentialDataError(f"snapshot of dataset {snapshot.dataset!r}, expected {DATASET!r}")
        return cls.from_json_obj(snapshot.data, version=snapshot.version)

    @classmethod
    def from_json_obj(cls, data: Mapping[str, Any], *, version: int = 0) -> "CredentialSet":
        """Build from the snapshot's ``data`` object (module docstring)."""
        if not isinstance(data, Mapping):
            raise CredentialDataError("credentials snapshot: data must be an object")
        if data.get("format") != FORMAT:
            raise CredentialDataError(f"credentials snapshot: format {data.get('format')!r} "
                                      f"is not supported (this node reads format {FORMAT})")
        tz_name = data.get("timezone", "UTC")
        if not isinstance(tz_name, str):
            raise CredentialDataError("credentials snapshot: 'timezone' must be a string")
        load_zone(tz_name)
        site_holidays = data.get("holidays", [])
        raw_schedules = data.get("schedules", {})
        raw_credentials = data.get("credentials", [])
        if not isinstance(site_holidays, list) or not isinstance(raw_schedules, Mapping) \
                or not isinstance(raw_credentials, list):
            raise CredentialDataError("credentials snapshot: 'holidays' and 'credentials' must be "
                                      "lists, 'schedules' an object")
        rejected: list[str] = []
        schedules: dict[str, WeeklySchedule] = {}
        for sid, obj in raw_schedules.items():
            try:
                schedules[sid] = WeeklySchedule.from_json_obj(
                    sid, obj, default_timezone=tz_name, site_holidays=site_holidays)
            except CredentialDataError as exc:
                rejected.append(str(exc))
        credentials: list[Credential] = []
        for index, obj in enumerate(raw_credentials):
            try:
                cred = Credential.from_json_obj(obj)
            except CredentialDataError as exc:
                rejected.append(f"#{index}: {exc}")
                continue
            if cred.schedule is not None and cred.schedule not in schedules:
                # kept: the decision fails it as outside_schedule (never opens by mistake)
                rejected.append(f"#{index}: credential {cred.credential_id}: unknown schedule "
                                f"{cred.schedule!r}; it will be denied as outside_schedule")
            credentials.append(cred)
        result = cls(credentials, schedules=schedules, version=version, timezone=tz_name,
                     rejected=rejected)
        if result.rejected:
            for line in result.rejected[:LOG_REJECTED]:
                log.warning("credentials v%d: %s", version, line)
            if len(result.rejected) > LOG_REJECTED:
                log.warning("credentials v%d: %d more problems not logged",
                            version, len(result.rejected) - LOG_REJECTED)
        return result

    def to_json_obj(self) -> dict[str, Any]:
        """The snapshot ``data`` object for this set (format 1)."""
        return {"format": FORMAT, "timezone": self.timezone,
                "schedules": {sid: s.to_json_obj() for sid, s in self.schedules.items()},
                "credentials": [c.to_json_obj() for c in self]}

    def to_snapshot(self, *, version: int | None = None, ts: int = 0) -> SyncSnapshot:
        """A ``credentials`` :class:`SyncSnapshot` of this set (for the console, tests, benches)."""
        return SyncSnapshot(dataset=DATASET, version=self.version if version is None else version,
                            ts=ts, data=self.to_json_obj())
