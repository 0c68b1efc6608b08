"""The demo site's people and their cards: units with residents, the door credentials the
console is seeded with, the guard's patrol card, and cards nobody registered.

Data only (no I/O). Wiegand door cards are ``(facility, number)`` pairs, as the reader sends them;
their card key in a credential is ``w26:<facility>:<number>`` (see :mod:`mqtt_topics.cards`).
RDM6300 cards (patrol check-points, the key cabinet) are 10 hex digits.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DemoUnit", "DemoCard", "UNITS", "CARDS", "UNKNOWN_CARDS", "GUARD_CARD",
           "CABINET_CARDS", "card_key"]


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

#: Cards shown at the key cabinet's reader (RDM6300).
CABINET_CARDS: tuple[str, ...] = ("0A00B1C2D3", "0A00B1C2D4")
