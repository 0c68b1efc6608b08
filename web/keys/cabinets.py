"""The live picture of each key cabinet (钥匙柜): every slot's state, kept from the cabinet's
events, and which node hosts each cabinet (learned from its events; the desk's remote release
is sent there).

Slot states (:data:`~web.keys.model.SLOT_STATES`): ``present`` (its key is in), ``out`` (taken
on a loan), ``wrong`` (a key that is not its own is in it: ``key.wrong_slot`` until cleared),
``fault`` (its key was forced out or found missing at power-up, or the cabinet's I/O failed:
``cabinet.fault`` until ``cabinet.fault_cleared``, shown over the slot's own state, which is
kept), ``empty`` (no key of the
register lives there and none is in it). A slot never reported is shown from the register as
``present`` with ``reported`` False.

Each applied event is announced as ``("keys", {"cabinet": id})`` on the live feed once the
ingest's transaction commits (the board's page then fetches the board again).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..db import Database, register_schema

if TYPE_CHECKING:  # pragma: no cover
    from ..live import LiveFeed
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
CREATE TABLE IF NOT EXISTS key_cabinet_faults (   -- an I/O fault episode in progress
    cabinet TEXT PRIMARY KEY,
    slots   TEXT    NOT NULL,              -- "all" or slot numbers, comma separated
    reason  TEXT    NOT NULL,
    error   TEXT    NOT NULL,
    since   INTEGER NOT NULL               -- node clock, UTC ms
);
"""
register_schema("key_cabinets", SCHEMA)

#: Event kinds the board follows.
BOARD_EVENT_KINDS = frozenset({"key.taken", "key.returned", "key.forced", "key.wrong_slot",
                               "key.wrong_slot_cleared", "cabinet.inventory", "cabinet.door",
                               "cabinet.granted", "cabinet.remote_release", "cabinet.locked",
                               "cabinet.denied", "cabinet.door_held", "cabinet.fault",
                               "cabinet.fault_cleared"})


@dataclass(frozen=True, slots=True)
class Slot:
    """One slot as shown: ``state``, its register ``key`` (number, label, unit), the key in it
    when wrong (``wrong_key``), ``since`` (UTC ms), whether the cabinet ever ``reported``, and
    ``io_fault``: the reason word while the cabinet's I/O for this slot is failing (its
    ``state`` is then ``fault``)."""

    slot: int
    state: str
    key: str | None = None
    label: str = ""
    unit: str = ""
    wrong_key: str | None = None
    since: int | None = None
    reported: bool = False
    io_fault: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"slot": self.slot, "state": self.state, "key": self.key, "label": self.label,
                "unit": self.unit, "wrong_key": self.wrong_key, "since": self.since,
                "reported": self.reported, "io_fault": self.io_fault}


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
    """Slot states in ``db`` (opened by the caller); ``register`` gives the slots' keys;
    ``live`` (may be None) is told ``("keys", {"cabinet": id})`` after each applied event
    commits. The constructor does no I/O."""

    def __init__(self, db: Database, *, register: "KeyRegister",
                 clock: Callable[[], int], live: "LiveFeed | None" = None) -> None:
        self._db = db
        self._register = register
        self._clock = clock
        self._live = live

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
            elif ev.kind == "cabinet.fault":
                self._fault(c, cabinet, d, ev.ts)
            elif ev.kind == "cabinet.fault_cleared":
                c.execute("DELETE FROM key_cabinet_faults WHERE cabinet = ? AND since <= ?",
                          (cabinet, ev.ts))
            live = self._live
            if live is not None:      # once committed; dropped with the writes if rolled back
                self._db.after_commit(lambda: live.publish("keys", {"cabinet": cabinet}))

    @staticmethod
    def _fault(c: sqlite3.Connection, cabinet: str, d: dict[str, Any], ts: int) -> None:
        """``cabinet.fault``: the slots named (or all) show ``fault`` until cleared; a repeat
        keeps the episode's start."""
        slots = d.get("slots")
        if slots == "all":
            text = "all"
        elif isinstance(slots, list) and slots and all(
                isinstance(s, int) and not isinstance(s, bool) for s in slots):
            text = ",".join(str(s) for s in sorted(set(slots)))
        else:
            raise ValueError(f"cabinet.fault slots {slots!r} is neither \"all\" nor slot numbers")
        reason = d.get("reason") if isinstance(d.get("reason"), str) else "error"
        error = d.get("error") if isinstance(d.get("error"), str) else ""
        c.execute("INSERT INTO key_cabinet_faults (cabinet, slots, reason, error, since) "
                  "VALUES (?, ?, ?, ?, ?) ON CONFLICT(cabinet) DO UPDATE SET "
                  "slots = excluded.slots, reason = excluded.reason, error = excluded.error, "
                  "since = min(since, excluded.since)", (cabinet, text, reason[:40], error[:300], ts))

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
        faults = {r["cabinet"]: r for r in c.execute("SELECT cabinet, slots, reason FROM "
                                                     "key_cabinet_faults")}
        out: list[Cabinet] = []
        for name in sorted(set(keys) | set(states) | set(cabs)):
            slots = []
            reg, seen = keys.get(name, {}), states.get(name, {})
            fault = faults.get(name)
            faulted = _fault_slots(fault["slots"]) if fault is not None else frozenset()
            for n in sorted(set(reg) | set(seen)):
                rec, st = reg.get(n), seen.get(n)
                state = st["state"] if st is not None else ("present" if rec else "empty")
                io_fault = fault["reason"] if fault is not None and (
                    faulted is None or n in faulted) else None
                slots.append(Slot(slot=n, state="fault" if io_fault else state,
                                  key=rec.number if rec else None,
                                  label=rec.label if rec else "", unit=rec.unit if rec else "",
                                  wrong_key=st["key"] if st is not None else None,
                                  since=st["since"] if st is not None else None,
                                  reported=st is not None, io_fault=io_fault))
            cab = cabs.get(name)
            out.append(Cabinet(cabinet=name, node=cab["node"] if cab else None,
                               door_open=bool(cab["door_open"]) if cab else False,
                               last_ts=cab["last_ts"] if cab else None, slots=tuple(slots)))
        return out


def _fault_slots(text: str) -> frozenset[int] | None:
    """The slots a stored fault covers; None: all of them."""
    if text == "all":
        return None
    return frozenset(int(s) for s in text.split(",") if s)
