"""The key cabinet's rules, as a pure state machine: no I/O, no threads, an injected clock.

Inputs are method calls (:meth:`CabinetMachine.card`, :meth:`~CabinetMachine.slot_changed`,
:meth:`~CabinetMachine.door_changed`, :meth:`~CabinetMachine.tick`); each returns the events to
journal as ``[{"kind", "data"}]``. Outputs are two properties the I/O applies:
:attr:`~CabinetMachine.door_unlocked` and :attr:`~CabinetMachine.released_slots`.

Rules:

- *Taking*: a registered card opens a session: the door and exactly the slots holding keys its
  holder may take unlock for ``release_s`` (``cabinet.granted``); the session ends (everything
  re-locks, ``cabinet.locked``) when the time ends or when the door, once opened, closes. An
  unknown card: ``cabinet.denied``.
- *Two-person* keys are released only when a second, different card that may also take that key
  is presented within ``two_person_window_s`` of the first; the loan is the first holder's, the
  second is its ``witness``.
- Removing a key from a released slot: ``key.taken`` (a loan); from a locked slot: ``key.forced``
  (alarm; the key is then out with no holder).
- Inserting the home key of a slot: ``key.returned`` (the loan ends). Inserting into a slot with
  no key of its own, or (readers that identify keys) a key that is not the slot's:
  ``key.wrong_slot`` at once, raised again every ``wrong_slot_repeat_s`` until the key is removed
  (``key.wrong_slot_cleared``); a wrongly filled slot is released while the door is unlocked or
  open so the key can be taken out. A binary key-present switch cannot tell two keys apart: any
  key in an assigned, empty slot counts as that slot's key.
- Door open for ``door_held_s``: ``cabinet.door_held`` (alarm), once per opening.
- *Desk-assisted release* (:meth:`remote_release`, the signed ``cabinet.release`` command): the
  door and the one slot of a present, single-person key unlock for the release time
  (``cabinet.remote_release``); the ``key.taken`` that follows names the borrower the desk gave,
  the operator (``by``) and the ``cmd_id``.
- :meth:`power_up` compares the sensed slots with the last known state (persisted) and reports
  ``cabinet.inventory`` with the differences.

All times are seconds on ``clock`` (monotonic); ``wall`` is UTC ms (loan times). Not thread-safe:
the extension serialises calls.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Mapping

from .errors import CabinetError
from .permissions import KeyPermissions, normalise_card

__all__ = ["CabinetMachine", "Grant", "Loan", "Event", "ReleaseRefused"]


class ReleaseRefused(CabinetError):
    """A desk-assisted release cannot be carried out (unknown key, key not in its slot,
    two-person key); the message says why."""

Event = dict[str, Any]


@dataclass(frozen=True)
class Grant:
    """Why a slot is released: the taking ``holder`` / ``card`` and a two-person ``witness``;
    a desk-assisted release (:meth:`CabinetMachine.remote_release`) has no card but the
    operator ``by`` and the command's ``cmd_id``."""

    holder: str
    card: str | None
    witness: str | None = None
    by: str | None = None
    cmd_id: str | None = None


@dataclass(frozen=True)
class Loan:
    """A key out of the cabinet: ``holder``/``card`` (None when forced or found missing),
    ``taken_ms`` (UTC ms), ``how``: ``"taken"``, ``"forced"`` or ``"missing"``."""

    key: str
    slot: int
    holder: str | None
    card: str | None
    taken_ms: int
    how: str = "taken"
    witness: str | None = None


@dataclass
class _Session:
    card: str
    ends_at: float
    released: dict[int, Grant] = field(default_factory=dict)
    opened: bool = False


@dataclass
class _Pending:
    card: str
    holder: str
    keys: frozenset[str]
    at: float


def _ev(kind: str, **data: Any) -> Event:
    return {"kind": kind, "data": data}


class CabinetMachine:
    """One cabinet's state (see the module note).

    :param cabinet: cabinet id (in every event).
    :param slots: the slot numbers.
    :param permissions: the :class:`KeyPermissions` in force (swap with :meth:`update`).
    :param clock: monotonic seconds; :param wall: UTC ms.
    :param release_s: how long door and slots stay unlocked after a card, s (default 30).
    :param two_person_window_s: the second card's window, s (default 30).
    :param door_held_s: door open this long -> ``cabinet.door_held``, s (default 120).
    :param wrong_slot_repeat_s: re-raise ``key.wrong_slot`` this often, s (default 30).
    """

    def __init__(self, *, cabinet: str, slots: Iterable[int], permissions: KeyPermissions,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], int] = lambda: int(time.time() * 1000),
                 release_s: float = 30.0, two_person_window_s: float = 30.0,
                 door_held_s: float = 120.0, wrong_slot_repeat_s: float = 30.0) -> None:
        self.cabinet = cabinet
        self.slots = tuple(sorted(set(slots)))
        self.permissions = permissions
        self.clock, self.wall = clock, wall
        self.release_s = release_s
        self.two_person_window_s = two_person_window_s
        self.door_held_s = door_held_s
        self.wrong_slot_repeat_s = wrong_slot_repeat_s
        self.present: dict[int, bool] = {s: False for s in self.slots}
        self.loans: dict[str, Loan] = {}
        self.door_open = False
        self._session: _Session | None = None
        self._pending: _Pending | None = None
        self._door_opened_at: float | None = None
        self._held_raised = False
        self._wrong: dict[int, list[Any]] = {}    # slot -> [next raise, times raised, key]

    # -- outputs ------------------------------------------------------------------------------

    @property
    def door_unlocked(self) -> bool:
        """True while a session holds the cabinet door unlocked."""
        return self._session is not None

    @property
    def released_slots(self) -> frozenset[int]:
        """The slots whose solenoid is released now."""
        out = set(self._session.released) if self._session is not None else set()
        if self._wrong and (self._session is not None or self.door_open):
            out.update(self._wrong)
        return frozenset(out)

    @property
    def wrong_slots(self) -> frozenset[int]:
        return frozenset(self._wrong)

    def update(self, permissions: KeyPermissions) -> list[Event]:
        """Use a newer permissions snapshot from now on. A slot alarmed as wrong because it had
        no key of its own, and that now is the home of a key, holds that key: the alarm ends
        (``key.wrong_slot_cleared``) and so does that key's loan."""
        self.permissions = permissions
        events: list[Event] = []
        for slot in sorted(self._wrong):
            home = permissions.key_at(slot)
            if home is not None and self._wrong[slot][2] in (None, home.key):
                del self._wrong[slot]
                self.loans.pop(home.key, None)
                events.append(_ev("key.wrong_slot_cleared", cabinet=self.cabinet, slot=slot))
        return events

    # -- power-up -----------------------------------------------------------------------------

    def power_up(self, present: Mapping[int, bool], *, door_open: bool = False,
                 last_present: Mapping[int, bool] | None = None,
                 loans: Iterable[Loan] = ()) -> list[Event]:
        """Take the sensed state as it is; ``last_present``/``loans``: the persisted state (None:
        first boot). Returns ``cabinet.inventory`` ``{cabinet, present, out, differences}``
        (+ ``key.wrong_slot`` for wrongly filled slots)."""
        now = self.clock()
        self.present = {s: bool(present.get(s, False)) for s in self.slots}
        self.door_open = door_open
        self._door_opened_at = now if door_open else None
        self.loans = {loan.key: loan for loan in loans}
        differences = []
        events: list[Event] = []
        for slot in self.slots:
            home = self.permissions.key_at(slot)
            now_in = self.present[slot]
            was = None if last_present is None else last_present.get(slot)
            if was is not None and was != now_in:
                differences.append({"slot": slot, "key": home.key if home else None,
                                    "was": was, "now": now_in})
            if home is None:
                if now_in and self.permissions.keys:   # no permissions yet: nothing is known
                    events.append(self._raise_wrong(slot, None, now))
                continue
            if now_in:
                self.loans.pop(home.key, None)
            elif home.key not in self.loans:
                self.loans[home.key] = Loan(key=home.key, slot=slot, holder=None, card=None,
                                            taken_ms=self.wall(), how="missing")
        inventory = _ev("cabinet.inventory", cabinet=self.cabinet,
                        present=[s for s in self.slots if self.present[s]],
                        out=sorted(self.loans), differences=differences,
                        first_boot=last_present is None)
        return [inventory] + events

    # -- cards --------------------------------------------------------------------------------

    def card(self, card: str) -> list[Event]:
        """A card at the cabinet's reader."""
        card = normalise_card(card)
        now = self.clock()
        holder = self.permissions.holder(card)
        if holder is None:
            return [_ev("cabinet.denied", cabinet=self.cabinet, card=card, reason="unknown_card")]
        self._expire_pending(now)
        released: dict[int, Grant] = {}
        confirmed: list[str] = []
        p = self._pending
        if p is not None and p.card != card:
            for key in sorted(p.keys & holder.keys):
                slot = self._takeable_slot(key)
                if slot is not None:
                    released[slot] = Grant(holder=p.holder, card=p.card, witness=card)
                    confirmed.append(key)
            remaining = p.keys - set(confirmed)
            self._pending = _Pending(p.card, p.holder, remaining, p.at) if remaining else None
        awaiting: list[str] = []
        for key in sorted(holder.keys):
            slot = self._takeable_slot(key)
            if slot is None or slot in released:
                continue
            if self.permissions.keys[key].two_person:
                awaiting.append(key)
            else:
                released[slot] = Grant(holder=holder.holder, card=card)
        if awaiting and not (self._pending is not None and self._pending.card != card):
            self._pending = _Pending(card, holder.holder, frozenset(awaiting), now)
        if self._session is None:
            self._session = _Session(card=card, ends_at=now + self.release_s)
        else:
            self._session.ends_at = now + self.release_s
            self._session.card = card
        self._session.released.update(released)
        return [_ev("cabinet.granted", cabinet=self.cabinet, card=card, holder=holder.holder,
                    slots=sorted(released), keys=sorted(self.permissions.key_at(s).key  # type: ignore[union-attr]
                                                        for s in released),
                    two_person_confirmed=confirmed, awaiting_second=awaiting,
                    seconds=self.release_s)]

    def remote_release(self, key: str, *, holder: str, by: str, cmd_id: str,
                       seconds: float | None = None) -> list[Event]:
        """Release the door and ``key``'s slot for a borrower without a card (the desk's signed
        ``cabinet.release``): ``holder`` the borrower as the desk recorded them, ``by`` the
        operator, ``cmd_id`` the command; ``seconds`` (default ``release_s``). Raises
        :class:`ReleaseRefused` for an unknown key, a key not in its slot or a two-person key."""
        info = self.permissions.keys.get(key)
        if info is None:
            raise ReleaseRefused(f"key {key!r} is not a key of cabinet {self.cabinet}")
        if info.two_person:
            raise ReleaseRefused(f"key {key} is a two-person key: two cards at the cabinet")
        slot = self._takeable_slot(key)
        if slot is None:
            raise ReleaseRefused(f"key {key} is not in its slot {info.slot}")
        now = self.clock()
        seconds = self.release_s if seconds is None else float(seconds)
        if self._session is None:
            self._session = _Session(card="", ends_at=now + seconds)
        else:
            self._session.ends_at = max(self._session.ends_at, now + seconds)
        self._session.released[slot] = Grant(holder=holder, card=None, by=by, cmd_id=cmd_id)
        return [_ev("cabinet.remote_release", cabinet=self.cabinet, key=key, slot=slot,
                    holder=holder, by=by, cmd_id=cmd_id, seconds=seconds)]

    def _takeable_slot(self, key: str) -> int | None:
        info = self.permissions.keys.get(key)
        if info is None or not self.present.get(info.slot) or info.slot in self._wrong:
            return None
        return info.slot

    def _expire_pending(self, now: float) -> None:
        if self._pending is not None and now - self._pending.at > self.two_person_window_s:
            self._pending = None

    # -- sensors ------------------------------------------------------------------------------

    def slot_changed(self, slot: int, present: bool, *, key: str | None = None) -> list[Event]:
        """A slot's key-present input changed; ``key``: the key id if the slot can identify it."""
        if slot not in self.present or self.present[slot] == present:
            return []
        self.present[slot] = present
        now = self.clock()
        home = self.permissions.key_at(slot)
        if present:
            if home is None or (key is not None and key != home.key):
                return [self._raise_wrong(slot, key, now)]
            loan = self.loans.pop(home.key, None)
            return [_ev("key.returned", cabinet=self.cabinet, key=home.key, slot=slot,
                        holder=loan.holder if loan else None, card=loan.card if loan else None,
                        returned_by=(self._session.card or None) if self._session else None,
                        out_s=round((self.wall() - loan.taken_ms) / 1000, 3) if loan else None)]
        if slot in self._wrong:
            del self._wrong[slot]
            return [_ev("key.wrong_slot_cleared", cabinet=self.cabinet, slot=slot)]
        if home is None:
            return []
        grant = self._session.released.get(slot) if self._session is not None else None
        if grant is not None:
            self.loans[home.key] = Loan(key=home.key, slot=slot, holder=grant.holder, card=grant.card,
                                        taken_ms=self.wall(), witness=grant.witness)
            taken = _ev("key.taken", cabinet=self.cabinet, key=home.key, slot=slot,
                        holder=grant.holder, card=grant.card, witness=grant.witness)
            if grant.cmd_id is not None:
                taken["data"].update(by=grant.by, cmd_id=grant.cmd_id)
            return [taken]
        self.loans[home.key] = Loan(key=home.key, slot=slot, holder=None, card=None,
                                    taken_ms=self.wall(), how="forced")
        return [_ev("key.forced", cabinet=self.cabinet, key=home.key, slot=slot)]

    def _raise_wrong(self, slot: int, key: str | None, now: float) -> Event:
        home = self.permissions.key_at(slot)
        entry = self._wrong.setdefault(slot, [now, 0, key])
        entry[0] = now + self.wrong_slot_repeat_s
        entry[1] += 1
        return _ev("key.wrong_slot", cabinet=self.cabinet, slot=slot, key=entry[2],
                   expected=home.key if home else None, times=entry[1])

    def door_changed(self, open_: bool) -> list[Event]:
        """The door contact changed (True: open)."""
        if open_ == self.door_open:
            return []
        self.door_open = open_
        now = self.clock()
        if open_:
            self._door_opened_at, self._held_raised = now, False
            if self._session is not None:
                self._session.opened = True
            return [_ev("cabinet.door", cabinet=self.cabinet, open=True,
                        authorised=self._session is not None)]
        open_s = round(now - self._door_opened_at, 3) if self._door_opened_at is not None else None
        self._door_opened_at = None
        events = [_ev("cabinet.door", cabinet=self.cabinet, open=False, open_s=open_s)]
        if self._session is not None and self._session.opened:
            self._session = None
            events.append(_ev("cabinet.locked", cabinet=self.cabinet, reason="door_closed"))
        return events

    def io_fault(self) -> list[Event]:
        """The cabinet's I/O failed: what cannot be read is unknown, so nothing stays released.
        Ends the session and a pending two-person release (``cabinet.locked`` reason ``fault``
        if a session was open); presence and loans stay as last known."""
        self._pending = None
        if self._session is None:
            return []
        self._session = None
        return [_ev("cabinet.locked", cabinet=self.cabinet, reason="fault")]

    # -- time ---------------------------------------------------------------------------------

    def tick(self) -> list[Event]:
        """Run what is due: session end, two-person window end, held door, wrong-slot repeats."""
        now = self.clock()
        events: list[Event] = []
        if self._session is not None and now >= self._session.ends_at:
            self._session = None
            events.append(_ev("cabinet.locked", cabinet=self.cabinet, reason="time"))
        self._expire_pending(now)
        if self._door_opened_at is not None and not self._held_raised \
                and now - self._door_opened_at >= self.door_held_s:
            self._held_raised = True
            events.append(_ev("cabinet.door_held", cabinet=self.cabinet,
                              open_s=round(now - self._door_opened_at, 3)))
        for slot in sorted(self._wrong):
            if now >= self._wrong[slot][0]:
                events.append(self._raise_wrong(slot, self._wrong[slot][2], now))
        return events

    def next_deadline(self) -> float | None:
        """The next time :meth:`tick` has something to do (clock seconds), or None."""
        times = [entry[0] for entry in self._wrong.values()]
        if self._session is not None:
            times.append(self._session.ends_at)
        if self._pending is not None:
            times.append(self._pending.at + self.two_person_window_s)
        if self._door_opened_at is not None and not self._held_raised:
            times.append(self._door_opened_at + self.door_held_s)
        return min(times) if times else None

    # -- persistence --------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What :class:`~edge.cabinet.store.CabinetStateStore` keeps: ``present``, ``loans``."""
        return {"present": {str(s): p for s, p in self.present.items()},
                "loans": [asdict(loan) for loan in self.loans.values()]}
