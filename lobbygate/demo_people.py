"""The demo site's people and their cards: units with residents, the door credentials the
console is seeded with, the guard's patrol card, the key-cabinet staff and the keys they take,
the console users, the visitor desk's watchlist, and cards nobody registered.

Data only (no I/O). Wiegand door cards are ``(facility, number)`` pairs, as the reader sends them;
their card key in a credential is ``w26:<facility>:<number>`` (see :mod:`mqtt_topics.cards`).
RDM6300 cards (patrol check-points, the key cabinet) are 10 hex digits.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DemoUnit", "DemoCard", "UNITS", "CARDS", "UNKNOWN_CARDS", "GUARD_CARD",
           "CABINET_CARDS", "CABINET_HOLDERS", "CABINET_UNKNOWN_CARD", "CabinetHolder", "DemoKey",
           "KEYS", "PATROL_USER", "STAFF_USERS", "WATCHLIST", "card_key"]


@dataclass(frozen=True)
class DemoUnit:
    """A unit (房号) ``building``-``number`` and its residents: (name, phone, relation)."""

    building: str
    number: str
    residents: tuple[tuple[str, str, str], ...] = ()
    vacant: bool = False

    @property
    def code(self) -> str:
        return f"{self.building}-{self.number}"


@dataclass(frozen=True)
class DemoCard:
    """A door credential: ``credential_id``, its holder and unit, the Wiegand card
    (``facility``, ``number``), the doors it opens (door ids, or ``"*"``), ``kind`` and
    ``enabled``."""

    credential_id: str
    holder: str
    unit: str
    facility: int
    number: int
    doors: tuple[str, ...] | str
    kind: str = "resident"
    enabled: bool = True

    @property
    def key(self) -> str:
        return card_key(self.facility, self.number)


def card_key(facility: int, number: int) -> str:
    """The credential card key of a 26-bit Wiegand card."""
    return f"w26:{facility}:{number}"


UNITS: tuple[DemoUnit, ...] = (
    DemoUnit("1", "1201", (("王建国", "138 0013 1201", "owner"), ("李秀英", "139 0013 1201", "household"))),
    DemoUnit("1", "1202", (("张伟", "137 2100 1202", "owner"),)),
    DemoUnit("2", "0801", (("陈静", "186 0021 0801", "tenant"),)),
    DemoUnit("2", "0802", (), vacant=True),
    DemoUnit("2", "1503", (("刘洋", "135 6600 1503", "owner"), ("刘子涵", "", "household"))),
)

CARDS: tuple[DemoCard, ...] = (
    DemoCard("c-1-1201-wang", "王建国", "1-1201", 10, 1001, ("lobby", "gate")),
    DemoCard("c-1-1201-li", "李秀英", "1-1201", 10, 1002, ("lobby",)),
    DemoCard("c-1-1202-zhang", "张伟", "1-1202", 10, 1003, ("lobby", "gate")),
    DemoCard("c-2-0801-chen", "陈静", "2-0801", 10, 1004, ("lobby", "gate")),
    DemoCard("c-2-1503-liu", "刘洋", "2-1503", 10, 1005, ("lobby", "gate"), enabled=False),
    DemoCard("s-guard-zhao", "赵师傅", "", 20, 2001, "*", kind="staff"),
)

#: Wiegand cards nobody registered: (facility, number).
UNKNOWN_CARDS: tuple[tuple[int, int], ...] = ((99, 4242), (7, 31337))

#: The guard's patrol card (RDM6300, 10 hex digits).
GUARD_CARD = "1F00000001"



@dataclass(frozen=True)
class CabinetHolder:
    """Staff who take keys from the desk's cabinet: a credential ``credential_id`` of ``holder``
    with an RDM6300 card ``card`` (10 hex digits; in the credential as ``em:<card>``)."""

    credential_id: str
    holder: str
    card: str
    kind: str = "staff"


#: The desk clerk and the maintenance man: their cards open the key cabinet.
CABINET_HOLDERS: tuple[CabinetHolder, ...] = (
    CabinetHolder("s-desk-sun", "孙前台", "0A00B1C2D3"),
    CabinetHolder("s-maint-li", "李师傅", "0A00B1C2D4"),
)
#: Cards shown at the key cabinet's reader (RDM6300).
CABINET_CARDS: tuple[str, ...] = tuple(h.card for h in CABINET_HOLDERS)
#: An RDM6300 card nobody registered (the cabinet refuses it).
CABINET_UNKNOWN_CARD = "0A00FFEE01"


@dataclass(frozen=True)
class DemoKey:
    """A key in the desk's cabinet: register ``number``, ``label``, ``unit``, ``kind`` (a
    :data:`web.keys.model.KEY_KINDS` value), home ``slot``, ``takers`` (credential ids),
    ``two_person``, ``max_loan_min``; owner-entrusted keys: ``authorised_by`` (the owner),
    ``authorised_days`` (from seeding) and ``borrowers``."""

    number: str
    label: str
    unit: str
    kind: str
    slot: int
    takers: tuple[str, ...]
    two_person: bool = False
    max_loan_min: int = 120
    authorised_by: str = ""
    authorised_days: int = 0
    borrowers: str = ""


KEYS: tuple[DemoKey, ...] = (
    # a vacant unit's key, lent for viewings; short loan time, so one left out goes overdue
    DemoKey("K-101", "2-0802 空置房 入户门", "2-0802", "vacant-unit", 1,
            ("s-desk-sun", "s-maint-li"), max_loan_min=20),
    # an owner's key entrusted to the desk for a repair (业主委托)
    DemoKey("K-102", "1-1202 业主委托 入户门", "1-1202", "owner-entrusted", 2, ("s-maint-li",),
            max_loan_min=240, authorised_by="张伟", authorised_days=14, borrowers="维修工 李师傅"),
    # the plant room's master key: two cards needed
    DemoKey("K-103", "设备房 总钥匙", "", "master", 3, ("s-desk-sun", "s-maint-li"),
            two_person=True, max_loan_min=60),
)

#: The patrol walker: (console user, name); the guard's patrol card is :data:`GUARD_CARD`.
PATROL_USER: tuple[str, str] = ("patrol", "赵师傅")
#: Console users the demo creates besides the admin: (user name, role).
STAFF_USERS: tuple[tuple[str, str], ...] = (("desk", "desk"), ("guard", "guard"),
                                            (PATROL_USER[0], "patrol"))

#: Watchlist entries for the visitor desk: (kind, value, note).
WATCHLIST: tuple[tuple[str, str, str], ...] = (
    ("name", "黄某某", "2026-10 冒充快递员进入大堂 (posed as a courier)"),
    ("plate", "沪A·88888", "多次违规停放消防通道 (parks in the fire lane)"),
)
