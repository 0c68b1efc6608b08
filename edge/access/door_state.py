"""Door supervision: the lock output and the alarms of one door, as a pure state machine.

Inputs (logical levels; the door extension maps the GPIO inputs onto them):

- ``contact``: True while the door is open (door position switch);
- ``rex``: True while the exit button (request to exit) is pressed;
- ``fire``: True while the fire-alarm panel's release contact is active;
- ``tamper``: True while a reader or controller housing is open.

Each input must stay at a new level for ``debounce_s`` (0-0.4 s) before it counts, so contact
bounce and spikes shorter than that are ignored and anything longer than 400 ms always counts.

Behaviour:

- a grant (:meth:`DoorSupervisor.grant`), an exit-button press (if ``rex_unlocks``) or a remote
  ``unlock`` unlocks the door for ``unlock_s``; the lock re-locks as soon as the door closes again
  (``relock_on_close``), so one grant lets one opening through;
- the door opening while locked, with no grant, exit request or release in force, is
  ``door.forced`` (alarm), cleared by ``door.secured`` when it closes;
- a door left open after an authorised opening raises ``door.held_prealarm`` after
  ``held_prealarm_s`` (for the buzzer) and ``door.held`` (alarm) after ``held_alarm_s``;
- the fire input releases the door: ``door.fire_release`` (alarm); in ``follow`` mode it re-locks
  when the input goes inactive, in ``latch`` mode only after :meth:`DoorSupervisor.reset_fire`
  with the input inactive (``door.fire_reset``); no forced/held alarms meanwhile;
- ``hold_open`` / ``release`` (remote commands, with the operator) hold the door unlocked;
- tamper raises ``door.tamper`` (alarm) and ``door.tamper_cleared``.

Every change of state, lock or door position is a ``door.state`` event (``locked``, ``unlocked``, ``open``, ``held``,
``forced``, ``fire``). The supervisor never touches GPIO: :attr:`DoorSupervisor.lock_energised`
says what the strike/maglock relay must do, given the door's declared fail mode:
``fail_secure`` (a strike, locked when unpowered: energised = unlocked) or ``fail_safe`` (a
maglock, unlocked when unpowered: energised = locked). :func:`relay_safe_state` gives the
``safe_state`` for :class:`hardware.gpio.Relay` (the locked state, applied at boot).

Time comes from an injected monotonic clock (seconds). Methods that take an input or command
return the events due, as ``{"kind", "data"}`` dicts, in order; :meth:`DoorSupervisor.tick`
returns those due by time alone, and :meth:`DoorSupervisor.next_deadline` says when to call it.
Timed happenings are processed at the instant they were due, whatever time ``tick`` runs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping

from edge.access.errors import AccessError

log = logging.getLogger(__name__)

FailMode = Literal["fail_safe", "fail_secure"]
FireMode = Literal["follow", "latch"]
INPUTS = ("contact", "rex", "fire", "tamper")
MAX_DEBOUNCE_S = 0.4
Event = dict[str, Any]


def relay_safe_state(fail_mode: FailMode) -> Literal["off", "on"]:
    """The :class:`hardware.gpio.Relay` ``safe_state`` that keeps the door locked: ``"off"`` for
    a fail-secure strike, ``"on"`` for a fail-safe maglock."""
    return "on" if fail_mode == "fail_safe" else "off"


@dataclass(frozen=True, kw_only=True)
class DoorConfig:
    """One door's hardware behaviour.

    - ``door_id``: the door's id; ``fail_mode``: ``"fail_secure"`` (default) or ``"fail_safe"``;
    - ``unlock_s``: seconds a grant / exit request / remote unlock releases the lock (default 5);
    - ``held_prealarm_s`` / ``held_alarm_s``: seconds open after an authorised opening before
      the pre-alarm (default 20; 0 = none) and the ``door.held`` alarm (default 30);
    - ``rex_unlocks``: the exit button also releases the lock (default True); False for doors
      with a mechanical handle, where it only authorises the opening for ``unlock_s``;
    - ``relock_on_close``: re-lock as soon as the door closes after opening (default True);
    - ``fire_mode``: ``"follow"`` (default) or ``"latch"``;
    - ``debounce_s``: seconds an input must be stable (default 0.05, at most 0.4).
    """

    door_id: str
    fail_mode: FailMode = "fail_secure"
    unlock_s: float = 5.0
    held_prealarm_s: float = 20.0
    held_alarm_s: float = 30.0
    rex_unlocks: bool = True
    relock_on_close: bool = True
    fire_mode: FireMode = "follow"
    debounce_s: float = 0.05

    def __post_init__(self) -> None:
        problems = []
        if self.fail_mode not in ("fail_safe", "fail_secure"):
            problems.append(f"fail_mode must be fail_safe or fail_secure, got {self.fail_mode!r}")
        if self.fire_mode not in ("follow", "latch"):
            problems.append(f"fire_mode must be follow or latch, got {self.fire_mode!r}")
        if not self.unlock_s > 0:
            problems.append("unlock_s must be > 0")
        if not self.held_alarm_s > 0 or not 0 <= self.held_prealarm_s < self.held_alarm_s:
            problems.append("need 0 <= held_prealarm_s < held_alarm_s")
        if not 0 <= self.debounce_s <= MAX_DEBOUNCE_S:
            problems.append(f"debounce_s must be 0-{MAX_DEBOUNCE_S} s (longer inputs always count)")
        if problems:
            raise AccessError(f"door {self.door_id}: " + "; ".join(problems))


class DoorSupervisor:
    """The lock output and alarms of one door (see the module docstring).

    - ``config``: the :class:`DoorConfig`;
    - ``clock``: monotonic seconds (default ``time.monotonic``);
    - ``inputs``: the inputs' levels at start (default all False: closed, idle), taken as they
      are without events; a door found open at start counts as an authorised opening.

    Starts locked. Not thread-safe: the door extension serialises calls.
    """

    def __init__(self, config: DoorConfig, *, clock: Callable[[], float] = time.monotonic,
                 inputs: Mapping[str, bool] | None = None) -> None:
        self.config = config
        self._clock = clock
        now = clock()
        self._inputs = {name: False for name in INPUTS}
        for name, value in (inputs or {}).items():
            self._check_input(name)
            self._inputs[name] = bool(value)
        self._pending: dict[str, tuple[bool, float]] = {}     # input -> (level, since)
        self._momentary_until: float | None = None             # grant / REX / remote unlock
        self._shunt_until: float | None = None                 # REX without unlocking
        self._hold = False
        self._hold_until: float | None = None
        self._forced = False
        self._held_stage = 0                                   # 0, 1 = pre-alarm, 2 = alarm
        self._open_since: float | None = now if self._inputs["contact"] else None
        self._held_from: float | None = self._open_since
        self._fire_latched = self._inputs["fire"] and config.fire_mode == "latch"
        self._last_state = self._state_key()
        self.glitches = 0                                      # input changes shorter than debounce

    # -- what the door is doing ------------------------------------------------------------------

    @property
    def door_id(self) -> str:
        return self.config.door_id

    @property
    def unlocked(self) -> bool:
        """True while the lock must be released."""
        return self._fire_active or self._hold or self._momentary_until is not None

    @property
    def lock_energised(self) -> bool:
        """What the lock relay's coil must be now, given the fail mode."""
        return self.unlocked if self.config.fail_mode == "fail_secure" else not self.unlocked

    @property
    def state(self) -> str:
        """``fire``, ``forced``, ``held``, ``open``, ``unlocked`` or ``locked`` (first that
        applies)."""
        if self._fire_active:
            return "fire"
        if self._forced:
            return "forced"
        if self._held_stage == 2:
            return "held"
        if self._inputs["contact"]:
            return "open"
        return "unlocked" if self.unlocked else "locked"

    @property
    def inputs(self) -> dict[str, bool]:
        """The debounced input levels."""
        return dict(self._inputs)

    @property
    def _fire_active(self) -> bool:
        return self._inputs["fire"] or self._fire_latched

    # -- inputs and commands ---------------------------------------------------------------------

    def set_input(self, name: str, active: bool) -> list[Event]:
        """An input's raw level changed (or was re-read); it counts once stable for
        ``debounce_s``. Returns the events due now."""
        self._check_input(name)
        now = self._clock()
        events = self._advance(now)
        active = bool(active)
        pending = self._pending.get(name)
        if active == self._inputs[name]:
            if pending is not None:             # back before the debounce time: a glitch
                del self._pending[name]
                self.glitches += 1
            return events
        if pending is None or pending[0] != active:
            self._pending[name] = (active, now)
        return events + self._advance(now)

    def grant(self) -> list[Event]:
        """Access granted at this door: unlock for ``unlock_s``."""
        now = self._clock()
        events = self._advance(now)
        self._unlock_momentary(now, self.config.unlock_s)
        return events + self._emit_state([])

    def unlock(self, *, seconds: float | None = None, by: str = "", cmd_id: str = "") -> list[Event]:
        """Remote momentary unlock for ``seconds`` (default ``unlock_s``), by operator ``by``."""
        now = self._clock()
        events = self._advance(now)
        seconds = self.config.unlock_s if seconds is None else seconds
        if not seconds > 0:
            raise AccessError(f"door {self.door_id}: unlock needs seconds > 0")
        self._unlock_momentary(now, seconds)
        events.append(self._event("door.remote", action="unlock", seconds=seconds, by=by,
                                  cmd_id=cmd_id))
        return self._emit_state(events)

    def hold_open(self, *, seconds: float | None = None, by: str = "", cmd_id: str = "") -> list[Event]:
        """Hold the door unlocked for ``seconds`` (None: until :meth:`release`), by ``by``."""
        now = self._clock()
        events = self._advance(now)
        if seconds is not None and not seconds > 0:
            raise AccessError(f"door {self.door_id}: hold_open needs seconds > 0 or None")
        self._hold = True
        self._hold_until = None if seconds is None else now + seconds
        self._held_stage = 0
        events.append(self._event("door.remote", action="hold_open", seconds=seconds, by=by,
                                  cmd_id=cmd_id))
        return self._emit_state(events)

    def release(self, *, by: str = "", cmd_id: str = "") -> list[Event]:
        """End a hold-open (and any momentary unlock): lock now (unless fire releases it)."""
        now = self._clock()
        events = self._advance(now)
        self._end_hold(now)
        self._momentary_until = None
        events.append(self._event("door.remote", action="release", seconds=None, by=by,
                                  cmd_id=cmd_id))
        return self._emit_state(events)

    def reset_fire(self) -> list[Event]:
        """Latch mode: re-lock after a fire release once the fire input is inactive. Does nothing
        while it is still active (or in follow mode)."""
        now = self._clock()
        events = self._advance(now)
        if self._fire_latched and not self._inputs["fire"]:
            self._fire_latched = False
            self._after_release_ends(now)
            events.append(self._event("door.fire_reset", mode=self.config.fire_mode))
        return self._emit_state(events)

    def tick(self) -> list[Event]:
        """Process what time has made due: debounced inputs, unlock and hold ends, held alarms."""
        return self._advance(self._clock())

    def next_deadline(self) -> float | None:
        """When (monotonic seconds) :meth:`tick` next has something to do; None if nothing is
        timed."""
        due = self._next_due()
        return due[0] if due else None

    # -- the timed machinery ---------------------------------------------------------------------

    def _next_due(self) -> tuple[float, Callable[[float], list[Event]]] | None:
        cfg = self.config
        candidates: list[tuple[float, int, Callable[[float], list[Event]]]] = []
        for order, (name, (level, since)) in enumerate(sorted(self._pending.items(),
                                                               key=lambda kv: kv[1][1])):
            candidates.append((since + cfg.debounce_s, order,
                               lambda t, n=name, v=level: self._commit(n, v, t)))
        if self._momentary_until is not None:
            candidates.append((self._momentary_until, 10, self._momentary_ends))
        if self._shunt_until is not None:
            candidates.append((self._shunt_until, 11, self._shunt_ends))
        if self._hold_until is not None:
            candidates.append((self._hold_until, 12, self._hold_ends))
        if self._held_from is not None and self._held_applies:
            if self._held_stage == 0 and cfg.held_prealarm_s > 0:
                candidates.append((self._held_from + cfg.held_prealarm_s, 13, self._prealarm))
            elif self._held_stage < 2:
                candidates.append((self._held_from + cfg.held_alarm_s, 14, self._held_alarm))
        if not candidates:
            return None
        t, _, action = min(candidates, key=lambda c: (c[0], c[1]))
        return t, action

    @property
    def _held_applies(self) -> bool:
        return (self._inputs["contact"] and not self._forced and not self._hold
                and not self._fire_active)

    def _advance(self, now: float) -> list[Event]:
        events: list[Event] = []
        while True:
            due = self._next_due()
            if due is None or due[0] > now:
                return events
            t, action = due
            events.extend(self._emit_state(action(t)))

    def _commit(self, name: str, level: bool, t: float) -> list[Event]:
        del self._pending[name]
        self._inputs[name] = level
        handler = getattr(self, f"_on_{name}")
        return handler(level, t)

    def _on_contact(self, is_open: bool, t: float) -> list[Event]:
        if is_open:
            self._open_since = t
            self._held_from = t
            self._held_stage = 0
            authorised = self.unlocked or self._shunt_until is not None
            if not authorised:
                self._forced = True
                return [self._event("door.forced")]
            return []
        events: list[Event] = []
        open_s = round(t - self._open_since, 3) if self._open_since is not None else None
        if self._forced:
            events.append(self._event("door.secured", after="forced", open_s=open_s))
        elif self._held_stage == 2:
            events.append(self._event("door.secured", after="held", open_s=open_s))
        self._forced = False
        self._held_stage = 0
        self._open_since = self._held_from = None
        self._shunt_until = None
        if self.config.relock_on_close and self._momentary_until is not None:
            self._momentary_until = None
        return events

    def _on_rex(self, pressed: bool, t: float) -> list[Event]:
        if not pressed:
            return []
        if self.config.rex_unlocks:
            self._unlock_momentary(t, self.config.unlock_s)
        else:
            self._shunt_until = max(self._shunt_until or t, t + self.config.unlock_s)
        return [self._event("door.exit_request", unlocks=self.config.rex_unlocks)]

    def _on_fire(self, active: bool, t: float) -> list[Event]:
        if active:
            if self._fire_latched and self.config.fire_mode == "latch":
                return []                     # still latched from before: no new release
            self._fire_latched = self.config.fire_mode == "latch"
            self._held_stage = 0
            return [self._event("door.fire_release", mode=self.config.fire_mode)]
        if self.config.fire_mode == "follow":
            self._after_release_ends(t)
            return [self._event("door.fire_reset", mode="follow")]
        return []                             # latch: waits for reset_fire()

    def _on_tamper(self, active: bool, t: float) -> list[Event]:
        return [self._event("door.tamper" if active else "door.tamper_cleared")]

    def _momentary_ends(self, t: float) -> list[Event]:
        self._momentary_until = None
        return []

    def _shunt_ends(self, t: float) -> list[Event]:
        self._shunt_until = None
        return []

    def _hold_ends(self, t: float) -> list[Event]:
        self._end_hold(t)
        return []

    def _prealarm(self, t: float) -> list[Event]:
        self._held_stage = 1
        return [self._event("door.held_prealarm", open_s=round(t - (self._open_since or t), 3))]

    def _held_alarm(self, t: float) -> list[Event]:
        self._held_stage = 2
        return [self._event("door.held", open_s=round(t - (self._open_since or t), 3))]

    # -- helpers ---------------------------------------------------------------------------------

    def _unlock_momentary(self, now: float, seconds: float) -> None:
        end = now + seconds
        if self._momentary_until is None or end > self._momentary_until:
            self._momentary_until = end

    def _end_hold(self, t: float) -> None:
        if self._hold:
            self._hold = False
            self._hold_until = None
            self._after_release_ends(t)

    def _after_release_ends(self, t: float) -> None:
        """A hold or fire release ended: a door still open now starts its held timer afresh."""
        if self._inputs["contact"]:
            self._held_from = t
            self._held_stage = 0

    def _state_key(self) -> tuple[str, bool, bool]:
        return self.state, self.unlocked, self._inputs["contact"]

    def state_event(self) -> Event:
        """The ``door.state`` event for the door as it is now (e.g. at start-up)."""
        return self._event("door.state", state=self.state, locked=not self.unlocked,
                           open=self._inputs["contact"])

    def _emit_state(self, events: list[Event]) -> list[Event]:
        key = self._state_key()
        if key != self._last_state:
            self._last_state = key
            events.append(self.state_event())
        return events

    def _event(self, kind: str, **data: Any) -> Event:
        return {"kind": kind, "data": {"door": self.door_id, **data}}

    def _check_input(self, name: str) -> None:
        if name not in INPUTS:
            raise AccessError(f"door {self.door_id}: unknown input {name!r} (one of {', '.join(INPUTS)})")

    def __repr__(self) -> str:
        return f"<DoorSupervisor {self.door_id} state={self.state} energised={self.lock_energised}>"
