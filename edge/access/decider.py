"""Door access decisions: card (and PIN) in, :class:`Decision` out, from the last synced
credentials, in microseconds, with no network and no I/O.

Checks, in order (the first that fails is the reason):

1. ``locked_out``: the reader is locked out after too many denied reads in a row;
2. ``unknown_card``: no credential lists the card;
3. ``disabled``; 4. ``not_yet_valid``; 5. ``expired`` (``valid_from <= now < valid_until``);
6. ``door_not_allowed``: the credential does not name this door;
7. ``outside_schedule``: its schedule does not cover now (an unknown schedule id never does);
8. ``antipassback`` (entry/exit reader pairs): the credential's last passage was in the same
   direction; hard mode denies, soft mode grants with ``alarm=True`` (reason ``antipassback``);
9. card + PIN doors (``require_pin``): the decider answers :class:`PinPending` and waits for the
   PIN from the reader's keypad (:meth:`AccessDecider.key`, ``#`` to submit, ``*`` to start
   over) for ``pin_timeout_s``; a wrong PIN, no PIN in time or no PIN enrolled is ``pin_wrong``;
10. ``granted``.

Every denial except ``locked_out`` counts towards the reader's lock-out; a grant resets it. The
denial that starts a lock-out carries ``lockout_s`` and ``alarm=True``.

Clocks are injected: ``clock`` is wall time (UTC seconds, for validity dates and schedules),
``monotonic`` (seconds) for lock-outs and PIN time-outs.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Literal, Mapping

from hardware.readers.card import CardRead
from edge.access.antipassback import AntiPassback, Direction
from edge.access.credentials import Credential, CredentialSet, card_key
from edge.access.errors import AccessError
from edge.access.lockout import ReaderLockout
from edge.access.pin import MAX_DIGITS, verify_pin
from edge.access.schedule import WeeklySchedule

log = logging.getLogger(__name__)

REASONS = ("granted", "unknown_card", "disabled", "expired", "not_yet_valid", "outside_schedule",
           "door_not_allowed", "antipassback", "pin_wrong", "locked_out")
KEY_STAR = 10
KEY_HASH = 11

AntiPassbackMode = Literal["off", "hard", "soft"]

#: Event kinds a decision produces (see :meth:`Decision.events`).
GRANTED_KIND = "door.granted"
DENIED_KIND = "door.denied"
ANTIPASSBACK_KIND = "door.antipassback"
LOCKOUT_KIND = "door.lockout"


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The outcome of one card (and PIN) at one reader.

    - ``granted``: open the door or not; ``reason``: one of :data:`REASONS` (``"antipassback"``
      with ``granted=True`` is a soft anti-passback violation);
    - ``door``, ``reader``, ``card`` (the card key), ``direction`` (``"in"``/``"out"``/None);
    - ``credential_id``, ``holder``, ``unit``, ``credential_kind``: None for an unknown card;
    - ``alarm``: the desk must be told now (soft anti-passback, a lock-out starting);
    - ``detail``: a short human explanation (``"PIN not entered in time"``...);
    - ``at_ms``: UTC ms of the decision;
    - ``lockout_s``: set on the denial that locked the reader out: for how long (seconds).
    """

    granted: bool
    reason: str
    door: str
    reader: str
    card: str | None
    credential_id: str | None = None
    holder: str | None = None
    unit: str | None = None
    credential_kind: str | None = None
    direction: Direction | None = None
    alarm: bool = False
    detail: str = ""
    at_ms: int = 0
    lockout_s: float | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The ``door.granted`` / ``door.denied`` event data."""
        return {"door": self.door, "reader": self.reader, "direction": self.direction,
                "reason": self.reason, "card": self.card, "credential_id": self.credential_id,
                "holder": self.holder, "unit": self.unit, "credential_kind": self.credential_kind,
                "alarm": self.alarm, "detail": self.detail}

    def events(self) -> list[dict[str, Any]]:
        """The events to journal, as ``{"kind", "data"}`` dicts: ``door.granted`` or
        ``door.denied``, then ``door.antipassback`` (alarm) for a soft violation and
        ``door.lockout`` (alarm) when this denial locked the reader out."""
        out = [{"kind": GRANTED_KIND if self.granted else DENIED_KIND, "data": self.data}]
        if self.granted and self.reason == "antipassback":
            out.append({"kind": ANTIPASSBACK_KIND, "data": {
                "door": self.door, "reader": self.reader, "direction": self.direction,
                "credential_id": self.credential_id, "holder": self.holder, "unit": self.unit}})
        if self.lockout_s is not None:
            out.append({"kind": LOCKOUT_KIND, "data": {
                "door": self.door, "reader": self.reader, "seconds": self.lockout_s,
                "last_card": self.card}})
        return out


@dataclass(frozen=True, kw_only=True)
class PinPending:
    """The card is good so far; the reader waits for its PIN until ``deadline`` (monotonic
    seconds). Show it (LED/beep); no event is due yet."""

    door: str
    reader: str
    card: str
    credential_id: str
    holder: str
    unit: str
    direction: Direction | None
    deadline: float


@dataclass
class _Entry:
    """A PIN being keyed in at a reader."""

    pending: PinPending
    credential: Credential
    soft_violation: bool
    digits: str = ""


class AccessDecider:
    """Decide card reads for one door.

    - ``door_id``: the door this decider guards (credentials name door ids);
    - ``credentials``: the current :class:`CredentialSet` (swap with :meth:`update`);
    - ``schedules``: schedule id -> :class:`WeeklySchedule`; default: the set's own;
    - ``clock``: wall time, UTC seconds (default ``time.time``); ``monotonic``: seconds
      (default ``time.monotonic``);
    - ``antipassback``: ``"off"`` (default), ``"hard"`` (deny) or ``"soft"`` (grant and alarm);
      needs ``readers``;
    - ``readers``: reader name -> ``"in"``/``"out"`` (the entry/exit pair); readers not listed
      have no direction and skip anti-passback;
    - ``lockout_after``: denied reads in a row that lock a reader out (default 5; 0 = never);
      ``lockout_s``: for how long, seconds (default 30);
    - ``require_pin``: card + PIN door (default False); ``pin_timeout_s``: seconds to key the PIN
      in after the card (default 10).

    Thread-safe: readers' threads may call :meth:`present` / :meth:`key` concurrently; PIN hashes
    are checked outside the lock. Raises :class:`AccessError` for bad options.
    """

    def __init__(self, door_id: str, credentials: CredentialSet,
                 schedules: Mapping[str, WeeklySchedule] | None = None, *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 antipassback: AntiPassbackMode = "off",
                 readers: Mapping[str, Direction] | None = None,
                 lockout_after: int = 5, lockout_s: float = 30.0,
                 require_pin: bool = False, pin_timeout_s: float = 10.0) -> None:
        if antipassback not in ("off", "hard", "soft"):
            raise AccessError(f"door {door_id}: antipassback must be off, hard or soft, got {antipassback!r}")
        readers = dict(readers or {})
        bad = {r: d for r, d in readers.items() if d not in ("in", "out")}
        if bad:
            raise AccessError(f"door {door_id}: reader directions must be 'in' or 'out': {bad}")
        if antipassback != "off" and set(readers.values()) != {"in", "out"}:
            raise AccessError(f"door {door_id}: anti-passback needs an 'in' and an 'out' reader")
        if lockout_after < 0 or lockout_s < 0 or pin_timeout_s <= 0:
            raise AccessError(f"door {door_id}: lockout_after, lockout_s >= 0 and pin_timeout_s > 0")
        self.door_id = door_id
        self.antipassback = antipassback
        self.require_pin = require_pin
        self.pin_timeout_s = pin_timeout_s
        self._readers = readers
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._credentials = credentials
        self._schedules = dict(credentials.schedules if schedules is None else schedules)
        self._lockout = ReaderLockout(after=lockout_after, seconds=lockout_s)
        self._apb = AntiPassback()
        self._pins: dict[str, _Entry] = {}
        self._counts: dict[str, int] = {reason: 0 for reason in REASONS}
        self._counts.update(pin_pending=0, keys_ignored=0)

    # -- configuration ---------------------------------------------------------------------------

    @property
    def credentials(self) -> CredentialSet:
        """The credential set decisions use now."""
        return self._credentials

    def update(self, credentials: CredentialSet,
               schedules: Mapping[str, WeeklySchedule] | None = None) -> None:
        """Switch to a new set (and schedules, default the set's own) for the next decisions."""
        new_schedules = dict(credentials.schedules if schedules is None else schedules)
        with self._lock:
            self._credentials = credentials
            self._schedules = new_schedules

    def forgive(self, credential_id: str | None = None) -> None:
        """Clear anti-passback state for one credential (or all), e.g. after a guard let
        someone through by hand."""
        with self._lock:
            self._apb.forgive(credential_id)

    @property
    def counters(self) -> dict[str, int]:
        """Decisions per reason (granted counts plain grants; soft anti-passback grants count
        under ``antipassback``), ``pin_pending`` and ``keys_ignored`` (keys with no card waiting)."""
        with self._lock:
            return dict(self._counts)

    # -- cards -----------------------------------------------------------------------------------

    def present(self, read: CardRead) -> Decision | PinPending:
        """Decide a card read (from any reader driver)."""
        return self.decide(card_key(read), reader=read.reader)

    def decide(self, card: str, *, reader: str) -> Decision | PinPending:
        """Decide card key ``card`` (see :func:`~edge.access.credentials.card_key`) at ``reader``.
        A card at a reader where a PIN was awaited replaces that wait."""
        now_ms = round(self._clock() * 1000)
        now = self._monotonic()
        direction = self._readers.get(reader)
        with self._lock:
            self._pins.pop(reader, None)
            cred = self._credentials.lookup(card)
            base = Decision(granted=False, reason="", door=self.door_id, reader=reader, card=card,
                            direction=direction, at_ms=now_ms,
                            **(_who(cred) if cred is not None else {}))
            if self._lockout.locked(reader, now):
                until = self._lockout.locked_until(reader) or now
                return self._record(replace(base, reason="locked_out",
                                            detail=f"reader locked out for {until - now:.0f} s more"))
            if cred is None:
                return self._deny(base, "unknown_card", now)
            reason, detail = self._check(cred, now_ms)
            if reason:
                return self._deny(replace(base, detail=detail), reason, now)
            soft = False
            if direction is not None and self.antipassback != "off" \
                    and self._apb.violates(cred.credential_id, direction):
                if self.antipassback == "hard":
                    return self._deny(replace(base, detail=f"already {direction}"), "antipassback", now)
                soft = True
            if self.require_pin:
                if cred.pin_hash is None:
                    return self._deny(replace(base, detail="no PIN enrolled"), "pin_wrong", now)
                pending = PinPending(door=self.door_id, reader=reader, card=card,
                                     credential_id=cred.credential_id, holder=cred.holder,
                                     unit=cred.unit, direction=direction,
                                     deadline=now + self.pin_timeout_s)
                self._pins[reader] = _Entry(pending, cred, soft)
                self._counts["pin_pending"] += 1
                return pending
            return self._grant(base, cred, soft, now)

    def _check(self, cred: Credential, now_ms: int) -> tuple[str, str]:
        if not cred.enabled:
            return "disabled", ""
        if cred.valid_from is not None and now_ms < cred.valid_from:
            return "not_yet_valid", ""
        if cred.valid_until is not None and now_ms >= cred.valid_until:
            return "expired", ""
        if not cred.opens(self.door_id):
            return "door_not_allowed", ""
        if cred.schedule is not None:
            schedule = self._schedules.get(cred.schedule)
            if schedule is None:
                return "outside_schedule", f"unknown schedule {cred.schedule}"
            if not schedule.allows(now_ms):
                return "outside_schedule", ""
        return "", ""

    # -- keypad ----------------------------------------------------------------------------------

    def key(self, reader: str, key: int) -> Decision | None:
        """A key from ``reader``'s keypad (0-9, 10 = ``*``, 11 = ``#``). Returns the decision when
        ``#`` completes a PIN (or the wait had already timed out), else None. Keys with no card
        waiting are ignored (counted ``keys_ignored``)."""
        now = self._monotonic()
        with self._lock:
            entry = self._pins.get(reader)
            if entry is None:
                self._counts["keys_ignored"] += 1
                return None
            if now >= entry.pending.deadline:
                del self._pins[reader]
                return self._pin_failed(entry, "PIN not entered in time", now)
            if key == KEY_STAR:
                entry.digits = ""
                return None
            if key != KEY_HASH:
                if not 0 <= key <= 9:
                    self._counts["keys_ignored"] += 1
                    return None
                if len(entry.digits) >= MAX_DIGITS:
                    del self._pins[reader]
                    return self._pin_failed(entry, "too many digits", now)
                entry.digits += str(key)
                return None
            del self._pins[reader]
        ok = verify_pin(entry.digits, entry.credential.pin_hash or "")   # slow: outside the lock
        now = self._monotonic()
        with self._lock:
            if not ok:
                return self._pin_failed(entry, "", now)
            return self._grant(self._base_from(entry), entry.credential, entry.soft_violation, now)

    def expire(self) -> list[Decision]:
        """PIN waits past their deadline, each as a ``pin_wrong`` denial. Call it at
        :meth:`next_deadline` (the door extension's timer)."""
        now = self._monotonic()
        with self._lock:
            late = [r for r, e in self._pins.items() if now >= e.pending.deadline]
            return [self._pin_failed(self._pins.pop(r), "PIN not entered in time", now) for r in late]

    def next_deadline(self) -> float | None:
        """The earliest PIN deadline (monotonic seconds), None if no PIN is awaited."""
        with self._lock:
            return min((e.pending.deadline for e in self._pins.values()), default=None)

    def pending(self, reader: str) -> PinPending | None:
        """The PIN wait at ``reader``, if any."""
        with self._lock:
            entry = self._pins.get(reader)
            return entry.pending if entry else None

    # -- outcomes (lock held) ----------------------------------------------------------------------

    def _base_from(self, entry: _Entry) -> Decision:
        p = entry.pending
        return Decision(granted=False, reason="", door=self.door_id, reader=p.reader, card=p.card,
                        direction=p.direction, at_ms=round(self._clock() * 1000),
                        **_who(entry.credential))

    def _pin_failed(self, entry: _Entry, detail: str, now: float) -> Decision:
        return self._deny(replace(self._base_from(entry), detail=detail), "pin_wrong", now)

    def _grant(self, base: Decision, cred: Credential, soft: bool, now: float) -> Decision:
        direction = base.direction
        if direction is not None and self.antipassback != "off":
            self._apb.passed(cred.credential_id, direction)
        self._lockout.granted(base.reader)
        if soft:
            decision = replace(base, granted=True, reason="antipassback", alarm=True,
                               detail=f"already {direction} (soft anti-passback)")
        else:
            decision = replace(base, granted=True, reason="granted")
        return self._record(decision)

    def _deny(self, base: Decision, reason: str, now: float) -> Decision:
        decision = replace(base, granted=False, reason=reason)
        if self._lockout.denied(base.reader, now):
            decision = replace(decision, alarm=True, lockout_s=self._lockout.seconds)
            log.warning("door %s: reader %s locked out for %.0f s after %d denied reads",
                        self.door_id, base.reader, self._lockout.seconds, self._lockout.after)
        return self._record(decision)

    def _record(self, decision: Decision) -> Decision:
        self._counts[decision.reason] += 1
        return decision

    def __repr__(self) -> str:
        return (f"<AccessDecider door={self.door_id} credentials=v{self._credentials.version} "
                f"antipassback={self.antipassback} require_pin={self.require_pin}>")


def _who(cred: Credential) -> dict[str, Any]:
    return {"credential_id": cred.credential_id, "holder": cred.holder, "unit": cred.unit,
            "credential_kind": cred.kind}
