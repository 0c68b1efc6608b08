"""The live picture of each key cabinet (钥匙柜): every slot's state, kept from the cabinet's
events, and which node hosts each cabinet (learned from its events; the desk's remote release
is sent there).

Slot states (:data:`~web.keys.model.SLOT_STATES`): ``present`` (its key is in), ``out`` (taken
on a loan), ``wrong`` (a key that is not its own is in it: ``key.wrong_slot`` until cleared),
``fault`` (its key was forced out or found missing at power-up), ``empty`` (no key of the
register lives there and none is in it). A slot never reported is shown from the register as
``present`` with ``reported`` False.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..db import Database, register_schema

if TYPE_CHECKING:  # pragma: no cover
    from ..stores.events import StoredEvent
    from .register import KeyRegister

__all__ = ["CabinetBoard", "Cabinet", "Slot", "BOARD_EVENT_KINDS"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS key_cabinets (
    cabinet    TEXT PRIMARY KEY,
    node       TEXT    NOT NULL,
    door_open  INTEGER NOT NULL DEFAULT 0,
    last_ts    INTEGER NOT NULL             -- node clock of the last event, UTC ms
);
CREATE TABLE IF NOT EXISTS key_slots (
    cabinet TEXT    NOT NULL,
    slot    INTEGER NOT NULL,
    state   TEXT    NOT NULL,
    key     TEXT,                          -- the key in a wrong slot, when the cabinet knows it
    since   INTEGER NOT NULL,              -- node clock, UTC ms
    PRIMARY KEY (cabinet, slot)
);
"""
register_schema("key_cabinets", SCHEMA)

#: Event kinds the board follows.
BOARD_EVENT_KINDS = frozenset({"key.taken", "key.returned", "key.forced", "key.wrong_slot",
                               "key.wrong_slot_cleared", "cabinet.inventory", "cabinet.door",
                               "cabinet.granted", "cabinet.remote_release", "cabinet.locked",
                               "cabinet.denied", "cabinet.door_held"})


@dataclass(frozen=True, slots=True)
class Slot:
    """One slot as shown: ``state``, its register ``key`` (number, label, unit), the key in it
    when wrong (``wrong_key``), ``since`` (UTC ms) and whether the cabinet ever ``reported``."""

    slot: int
    state: str
    key: str | None = None
    label: str = ""
    unit: str = ""
    wrong_key: str | None = None
    since: int | None = None
    reported: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"slot": self.slot, "state": self.state, "key": self.key, "label": self.label,
                "unit": self.unit, "wrong_key": self.wrong_key, "since": self.since,
                "reported": self.reported}


@dataclass(frozen=True, slots=True)
class Cabinet:
    """A cabinet: its ``node`` (None until it reported), ``door_open``, ``slots``."""

    cabinet: str
    node: str | None
    door_open: bool
    last_ts: int | None
    slots: tuple[Slot, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.slots:
            out[s.state] = out.get(s.state, 0) + 1
        return out


class CabinetBoard:
    """Slot states in ``db`` (opened by the caller); ``register`` gives the slots' keys.
    The constructor does no I/O."""

    def __init__(self, db: Database, *, register: "KeyRegister",
                 clock: Callable[[], int]) -> None:
        self._db = db
        self._register = register
        self._clock = clock

    # -- ingest ---------------------------------------------------------------------------
    def on_event(self, ev: "StoredEvent") -> None:
        """Apply one stored event (ingest handler; joins the ingest's transaction)."""
        if ev.kind not in BOARD_EVENT_KINDS or not isinstance(ev.data, dict):
            return
        d = ev.data
        cabinet = d.get("cabinet")
        if not isinstance(cabinet, str) or not cabinet:
            raise ValueError(f"{ev.kind} {ev.event_id} names no cabinet")
        with self._db.transaction() as c:
            c.execute("INSERT INTO key_cabinets (cabinet, node, last_ts) VALUES (?, ?, ?) "
                      "ON CONFLICT(cabinet) DO UPDATE SET node = excluded.node, "
                      "last_ts = max(last_ts, excluded.last_ts)", (cabinet, ev.node, ev.ts))
            slot = d.get("slot")
            if ev.kind in ("key.taken",):
                self._set(c, cabinet, slot, "out", ev.ts)
            elif ev.kind == "key.forced":
                self._set(c, cabinet, slot, "fault", ev.ts)
            elif ev.kind == "key.returned":
                self._set(c, cabinet, slot, "present", ev.ts)
            elif ev.kind == "key.wrong_slot":
                self._set(c, cabinet, slot, "wrong", ev.ts, key=d.get("key"))
            elif ev.kind == "key.wrong_slot_cleared":
                home = self._home(c, cabinet, slot)
                self._set(c, cabinet, slot, "out" if home else "empty", ev.ts)
            elif ev.kind == "cabinet.door":
                c.execute("UPDATE key_cabinets SET door_open = ? WHERE cabinet = ?",
                          (int(bool(d.get("open"))), cabinet))
            elif ev.kind == "cabinet.inventory":
                self._inventory(c, cabinet, d, ev.ts)

    @staticmethod
    def _home(c: sqlite3.Connection, cabinet: str, slot: Any) -> str | None:
        r = c.execute("SELECT number FROM key_register WHERE cabinet = ? AND slot = ?",
                      (cabinet, slot)).fetchone()
        return r[0] if r else None

    @staticmethod
    def _set(c: sqlite3.Connection, cabinet: str, slot: Any, state: str, ts: int,
             key: Any = None) -> None:
        if isinstance(slot, bool) or not isinstance(slot, int):
            raise ValueError(f"slot {slot!r} is not a slot number")
        c.execute("INSERT INTO key_slots (cabinet, slot, state, key, since) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT(cabinet, slot) DO UPDATE SET state = excluded.state, "
                  "key = excluded.key, since = excluded.since",
                  (cabinet, slot, state, key if isinstance(key, str) else None, ts))

    def _inventory(self, c: sqlite3.Connection, cabinet: str, d: dict[str, Any], ts: int) -> None:
        present = {s for s in d.get("present") or [] if isinstance(s, int)}
        out = {k for k in d.get("out") or [] if isinstance(k, str)}
        on_loan = {r[0] for r in c.execute("SELECT key FROM key_loans WHERE state = 'out' AND "
                                           "how IN ('card', 'desk')")}
        homes = {r[0]: r[1] for r in c.execute("SELECT slot, number FROM key_register WHERE "
                                               "cabinet = ?", (cabinet,))}
        for slot in sorted(set(homes) | present):
            key = homes.get(slot)
            if slot in present:
                state = "present" if key else "wrong"
            elif key in out and key in on_loan:
                state = "out"
            elif key is not None:
                state = "fault"
            else:
                state = "empty"
            self._set(c, cabinet, slot, state, ts)

    # -- reads ----------------------------------------------------------------------------
    def node_of(self, cabinet: str) -> str | None:
        r = self._db.conn().execute("SELECT node FROM key_cabinets WHERE cabinet = ?",
                                    (cabinet,)).fetchone()
        return r[0] if r else None

    def board(self) -> list[Cabinet]:
        """Every cabinet of the register or that reported, its slots by number."""
        c = self._db.conn()
        keys: dict[str, dict[int, Any]] = {}
        for rec in self._register:
            keys.setdefault(rec.cabinet, {})[rec.slot] = rec
        states: dict[str, dict[int, sqlite3.Row]] = {}
        for r in c.execute("SELECT cabinet, slot, state, key, since FROM key_slots"):
            states.setdefault(r["cabinet"], {})[r["slot"]] = r
        cabs = {r["cabinet"]: r for r in c.execute("SELECT cabinet, node, door_open, last_ts "
                                                   "FROM key_cabinets")}
        out: list[Cabinet] = []
        for name in sorted(set(keys) | set(states) | set(cabs)):
            slots = []
            reg, seen = keys.get(name, {}), states.get(name, {})
            for n in sorted(set(reg) | set(seen)):
                rec, st = reg.get(n), seen.get(n)
                state = st["state"] if st is not None else ("present" if rec else "empty")
                slots.append(Slot(slot=n, state=state, key=rec.number if rec else None,
                                  label=rec.label if rec else "", unit=rec.unit if rec else "",
                                  wrong_key=st["key"] if st is not None else None,
                                  since=st["since"] if st is not None else None,
                                  reported=st is not None))
            cab = cabs.get(name)
            out.append(Cabinet(cabinet=name, node=cab["node"] if cab else None,
                               door_open=bool(cab["door_open"]) if cab else False,
                               last_ts=cab["last_ts"] if cab else None, slots=tuple(slots)))
        return out
