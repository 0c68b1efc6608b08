"""The ``intercom`` extension: a visitor calls a unit at the lobby panel and the desk answers.

The panel (``[intercom]``, :class:`~edge.config.IntercomSettings`):

- **call buttons**, one per unit (GPIO inputs), and/or a **Wiegand keypad** where the visitor keys
  a unit number and ``#`` (``*`` clears; keys older than ``keypad_timeout_s`` are forgotten). A call
  is journaled as ``intercom.call`` ``{panel, call_id, unit, via: button|keypad}``. Pressing again
  for a unit whose call is still ringing, or within ``call_window_s`` of its call, is not a new
  call: it is counted (``collapsed``) and the count rides in ``repeats`` of that call's next event.
- a call not answered within ``answer_timeout_s`` (node's monotonic clock) ends as
  ``intercom.timeout``.
- signed commands from the desk (the operator is the command's ``issued_by``):
  ``intercom.answer`` ``{call_id}`` -> ``intercom.answered``; ``intercom.no_answer``
  ``{call_id}`` -> ``intercom.no_answer``; ``intercom.refused`` ``{call_id}`` (the resident said
  no) -> ``intercom.refused``; ``intercom.open`` ``{call_id?, seconds?}`` pulses the
  door strike relay -> ``intercom.door_opened`` (access). Answering or refusing a call that is not
  ringing/answered is ``bad_payload``; unsigned or forged commands are refused by the dispatcher.
- the **emergency/help button** (紧急求助) raises ``intercom.emergency``, an alarm that stays at
  the desk until acknowledged; presses within ``emergency_window_s`` of the last alarm are counted
  into the next one's ``repeats``.
- **panel outputs** show the state (:attr:`IntercomExtension.panel_state`): ``calling`` (LED on,
  ring of ``ring_s`` on the buzzer), ``answered`` (LED on, quiet), ``opening`` (buzzer and LED for
  the strike pulse), ``no_answer`` (LED off, a 2 s beep), ``refused`` (LED off, three short
  beeps: :data:`REFUSED_BEEPS`, timed on the node's monotonic clock by the timeout thread),
  ``idle`` (LED off).

Events are journaled before anything else is done with them, so a call made while the broker is
down reaches the console when it is back. Bad keypad input is logged and counted, never fatal.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from hardware.errors import HardwareError
from hardware.gpio import DigitalInput, Relay
from hardware.readers import CardRead, WiegandReader
from hardware.readers.scanner import ScannerReader, ScanRead
from hardware.readers.wiegand import KEY_HASH, KEY_STAR
from mqtt_topics import CommandEnvelope, ContractError, SyncSnapshot
from mqtt_topics.invites import REVOCATIONS_DATASET, parse_invite_revocations

from ..config import IntercomSettings, ReaderSettings
from ..counters import Counters
from ..errors import CommandArgumentError
from .base import Extension, NodeContext
from .intercom_invites import InviteDoor, InviteLedger

__all__ = ["IntercomExtension", "KeypadEntry", "Call", "CALL_KIND", "ANSWERED_KIND",
           "NO_ANSWER_KIND", "REFUSED_KIND", "TIMEOUT_KIND", "DOOR_OPENED_KIND", "EMERGENCY_KIND",
           "REFUSED_BEEPS"]

log = logging.getLogger(__name__)

CALL_KIND = "intercom.call"
ANSWERED_KIND = "intercom.answered"
NO_ANSWER_KIND = "intercom.no_answer"
REFUSED_KIND = "intercom.refused"
TIMEOUT_KIND = "intercom.timeout"
DOOR_OPENED_KIND = "intercom.door_opened"
EMERGENCY_KIND = "intercom.emergency"
INVITE_ADMITTED_KIND = "intercom.invite_admitted"
INVITE_REFUSED_KIND = "intercom.invite_refused"
INVITE_FORGED_KIND = "intercom.invite_forged"
#: The "nobody answered" beep, seconds.
NO_ANSWER_BEEP_S = 2.0
#: The "resident refused" pattern: (beep s, pause s) three times, distinct from the one long
#: "no answer" beep and the single 0.5 s error beep.
REFUSED_BEEPS: tuple[tuple[float, float], ...] = ((0.2, 0.2), (0.2, 0.2), (0.2, 0.0))
#: Ended calls remembered (so a late ``intercom.open`` still names the unit), at most.
_ENDED_KEPT = 64


@dataclass
class Call:
    """One call at the panel. ``started``: monotonic seconds; ``state``: ``calling`` |
    ``answered`` | ``ended``; ``repeats``: presses collapsed into it and not yet reported."""

    call_id: str
    unit: str
    via: str
    started: float
    state: str = "calling"
    repeats: int = 0


class KeypadEntry:
    """Keys -> unit numbers. Pure: times (seconds) are passed in; not thread-safe (one reader
    thread feeds it). ``max_digits``: longest number; ``timeout_s``: a key arriving this long
    after the previous one starts a new entry."""

    def __init__(self, *, max_digits: int = 6, timeout_s: float = 10.0) -> None:
        self.max_digits = max_digits
        self.timeout_s = timeout_s
        self.digits = ""
        self._last: float | None = None

    def feed(self, key: int, at: float) -> str | None:
        """Take one key (0-9, :data:`KEY_STAR`, :data:`KEY_HASH`); return the unit keyed when it
        is ``#`` after at least one digit, else None. Raises ``ValueError`` for too many digits
        (the entry is cleared)."""
        if self._last is not None and at - self._last > self.timeout_s:
            self.digits = ""
        self._last = at
        if key == KEY_STAR:
            self.digits = ""
            return None
        if key == KEY_HASH:
            unit, self.digits = self.digits, ""
            return unit or None
        if not 0 <= key <= 9:
            raise ValueError(f"unknown key code {key}")
        if len(self.digits) >= self.max_digits:
            self.digits = ""
            raise ValueError(f"more than {self.max_digits} digits keyed")
        self.digits += str(key)
        return None


class IntercomExtension(Extension):
    """One intercom panel (see the module docstring).

    ``monotonic``: seconds, for call windows and timeouts (default: the node's
    ``ctx.monotonic``; tests replace it); ``tick_s``: how often (wall seconds) the timeout
    thread looks for unanswered calls. Attributes after :meth:`open_outputs` / :meth:`start`:
    ``led``/``buzzer``/``door`` (:class:`Relay` or None), ``buttons`` (unit -> input),
    ``emergency`` (input or None), ``keypad`` (:class:`WiegandReader` or None),
    ``panel_state``, ``calls`` (call id -> :class:`Call`, active and recently ended)."""

    name = "intercom"

    def __init__(self, settings: IntercomSettings, *, monotonic: Callable[[], float] | None = None,
                 tick_s: float = 0.05) -> None:
        self.settings = settings
        self.monotonic = monotonic
        self.tick_s = tick_s
        self.led: Relay | None = None
        self.buzzer: Relay | None = None
        self.door: Relay | None = None
        self.buttons: dict[str, DigitalInput] = {}
        self.emergency: DigitalInput | None = None
        self.keypad: WiegandReader | None = None
        self.scanner: ScannerReader | None = None
        self.invites: InviteDoor | None = None
        self.entry = KeypadEntry(max_digits=settings.keypad_max_digits,
                                 timeout_s=settings.keypad_timeout_s)
        self.panel_state = "idle"
        self.calls: dict[str, Call] = {}
        self._last_call: dict[str, Call] = {}          # unit -> its latest call
        self._last_emergency: float | None = None
        self._emergency_repeats = 0
        self._ids = itertools.count(1)
        self._ctx: NodeContext | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._beeps: list[tuple[float, bool]] = []     # (monotonic s, buzzer on) still to do
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._counters = Counters(["presses", "calls", "collapsed", "keys", "keypad_errors",
                                   "unknown_units", "cards_ignored", "answered", "no_answer", "refused",
                                   "timeouts", "doors_opened", "emergencies",
                                   "emergency_collapsed", "emit_errors", "output_errors",
                                   "invites_admitted", "invites_refused", "invites_forged",
                                   "scanner_errors", "snapshot_errors", "snapshots_applied"])

    # -- lifecycle ------------------------------------------------------------------------------

    def open_outputs(self, ctx: NodeContext) -> list[str]:
        """The LED and buzzer (off) and the door strike relay (its safe state)."""
        s = self.settings
        out = []
        for attr, pin in (("led", s.led_pin), ("buzzer", s.buzzer_pin)):
            if pin is not None and getattr(self, attr) is None:
                setattr(self, attr, Relay(pin, name=f"{s.name}-{attr}", pin_factory=ctx.gpio(),
                                          active_high=s.active_high, safe_state="off"))
                out.append(f"intercom {s.name} {attr}: off")
        if s.door_pin is not None and self.door is None:
            self.door = Relay(s.door_pin, name=f"{s.name}-door", pin_factory=ctx.gpio(),
                              active_high=s.door_active_high,
                              safe_state=s.door_safe_state)  # type: ignore[arg-type]
            out.append(f"intercom {s.name} door: {s.door_safe_state}")
        return out

    def start(self, ctx: NodeContext) -> None:
        s = self.settings
        self._ctx = ctx
        if self.monotonic is None:
            self.monotonic = ctx.monotonic
        for action, handler in (("intercom.answer", self._answer),
                                ("intercom.no_answer", self._no_answer),
                                ("intercom.refused", self._refused),
                                ("intercom.open", self._open)):
            ctx.register_command(action, handler)
        bounce = s.bounce_ms / 1000 if s.bounce_ms else None
        for unit, pin in s.buttons.items():
            self.buttons[unit] = DigitalInput(
                pin, name=unit, pin_factory=ctx.gpio(), pull_up=s.pull_up, bounce_s=bounce,
                on_change=lambda name, active: active and self.press(name, via="button"))
        if s.emergency_pin is not None:
            self.emergency = DigitalInput(
                s.emergency_pin, name=f"{s.name}-emergency", pin_factory=ctx.gpio(),
                pull_up=s.pull_up, bounce_s=bounce,
                on_change=lambda name, active: active and self.help_pressed())
        if s.keypad_d0 is not None and s.keypad_d1 is not None:
            self.keypad = WiegandReader(s.keypad_d0, s.keypad_d1, name=f"{s.name}-keypad",
                                        pin_factory=ctx.gpio(), on_card=self._card,
                                        on_key=self._key, on_error=self._keypad_error,
                                        clock=ctx.monotonic).start()
        if s.scanner_port:
            self._start_invites(ctx)
        self._thread = threading.Thread(target=self._run, name=f"intercom-{s.name}", daemon=True)
        self._thread.start()
        log.info("intercom %s: %d call button(s)%s%s%s", s.name, len(self.buttons),
                 ", keypad" if self.keypad else "", ", help button" if self.emergency else "",
                 ", door relay" if self.door else "")

    def stop(self) -> None:
        """Inputs and keypad released, outputs back to safe, timeout thread ended. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.keypad is not None:
            _quietly("keypad", self.keypad.close)
        if self.scanner is not None:
            _quietly("scanner", self.scanner.close)
        if self.invites is not None:
            _quietly("invite ledger", self.invites.ledger.close)
        for item in [*self.buttons.values(), self.emergency, self.led, self.buzzer, self.door]:
            if item is not None:
                _quietly(item.name, item.close)

    def alive(self) -> bool:
        return self._thread is None or self._thread.is_alive() or self._stop.is_set()

    def counters(self) -> Counters:
        return self._counters

    # -- calls ------------------------------------------------------------------------------------

    def press(self, unit: str, *, via: str) -> Call | None:
        """A visitor asks for ``unit`` (``via`` ``"button"`` or ``"keypad"``): journal a new
        ``intercom.call`` and ring, or count the press into the unit's current call. Returns
        the new call, or None when collapsed (or not journaled)."""
        self._counters.incr("presses")
        now = self._now()
        with self._lock:
            last = self._last_call.get(unit)
            if last is not None and (last.state == "calling"
                                     or now - last.started < self.settings.call_window_s):
                last.repeats += 1
                self._counters.incr("collapsed")
                log.debug("intercom %s: unit %s pressed again, collapsed into %s",
                          self.settings.name, unit, last.call_id)
                return None
            assert self._ctx is not None
            call = Call(call_id=f"{self._ctx.boot_id}-{next(self._ids)}", unit=unit, via=via,
                        started=now)
            if not self._emit(CALL_KIND, {"panel": self.settings.name, "call_id": call.call_id,
                                          "unit": unit, "via": via}):
                return None
            self._counters.incr("calls")
            self.calls[call.call_id] = call
            self._last_call[unit] = call
            self._show("calling")
        log.info("intercom %s: call %s to unit %s (%s)", self.settings.name, call.call_id, unit, via)
        return call

    def check_timeouts(self, now: float | None = None) -> list[Call]:
        """End every call ringing for ``answer_timeout_s`` or more (``intercom.timeout``);
        returns them. Called by the timeout thread; ``now`` defaults to :attr:`monotonic`."""
        now = self._now() if now is None else now
        ended = []
        with self._lock:
            for call in list(self.calls.values()):
                if call.state == "calling" and now - call.started >= self.settings.answer_timeout_s:
                    self._end(call)
                    self._counters.incr("timeouts")
                    self._emit(TIMEOUT_KIND, {**self._about(call), "after_s": round(now - call.started, 1)})
                    ended.append(call)
            if ended and not any(c.state != "ended" for c in self.calls.values()):
                self._show("no_answer")
        for call in ended:
            log.info("intercom %s: call %s to unit %s not answered in %.0f s", self.settings.name,
                     call.call_id, call.unit, self.settings.answer_timeout_s)
        return ended

    def help_pressed(self) -> bool:
        """The emergency/help button: journal ``intercom.emergency`` unless one was raised less
        than ``emergency_window_s`` ago (then counted). True if an alarm was journaled."""
        now = self._now()
        with self._lock:
            last = self._last_emergency
            if last is not None and now - last < self.settings.emergency_window_s:
                self._emergency_repeats += 1
                self._counters.incr("emergency_collapsed")
                return False
            ok = self._emit(EMERGENCY_KIND, {"panel": self.settings.name,
                                             "repeats": self._emergency_repeats})
            if ok:
                self._last_emergency = now
                self._emergency_repeats = 0
                self._counters.incr("emergencies")
        log.warning("intercom %s: EMERGENCY button pressed", self.settings.name)
        return ok

    # -- commands (bridge thread) ------------------------------------------------------------------

    def _answer(self, env: CommandEnvelope) -> Mapping[str, Any]:
        with self._lock:
            call = self._call(env, states=("calling",))
            call.state = "answered"
            self._counters.incr("answered")
            self._emit(ANSWERED_KIND, {**self._about(call), "by": env.issued_by, "cmd_id": env.cmd_id,
                                       "wait_s": round(self._now() - call.started, 1)}, raising=True)
            self._show("answered")
        return {"call_id": call.call_id, "unit": call.unit}

    def _no_answer(self, env: CommandEnvelope) -> Mapping[str, Any]:
        return self._end_by_desk(env, NO_ANSWER_KIND, "no_answer")

    def _refused(self, env: CommandEnvelope) -> Mapping[str, Any]:
        """The resident refused the visitor: end the call, ``intercom.refused``, refused beeps."""
        result = self._end_by_desk(env, REFUSED_KIND, "refused")
        log.info("intercom %s: call %s to unit %s refused by the resident (desk %s)",
                 self.settings.name, result["call_id"], result["unit"], env.issued_by)
        return result

    def _end_by_desk(self, env: CommandEnvelope, kind: str, outcome: str) -> Mapping[str, Any]:
        """End the ringing/answered call the desk's command names: count ``outcome``, emit
        ``kind`` naming the operator, show panel state ``outcome``."""
        with self._lock:
            call = self._call(env, states=("calling", "answered"))
            self._end(call)
            self._counters.incr(outcome)
            self._emit(kind, {**self._about(call), "by": env.issued_by, "cmd_id": env.cmd_id},
                       raising=True)
            self._show(outcome)
        return {"call_id": call.call_id, "unit": call.unit}

    def _open(self, env: CommandEnvelope) -> Mapping[str, Any]:
        s = self.settings
        if self.door is None:
            raise CommandArgumentError(f"intercom {s.name} has no door relay (door_pin)")
        seconds = env.args.get("seconds", s.door_pulse_s)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 60:
            raise CommandArgumentError(f"seconds must be a number in (0, 60], got {seconds!r}")
        call_id = env.args.get("call_id")
        if call_id is not None and not isinstance(call_id, str):
            raise CommandArgumentError(f"call_id must be a string, got {call_id!r}")
        with self._lock:
            call = self.calls.get(call_id) if call_id else None
            self.door.pulse(float(seconds))
            self._counters.incr("doors_opened")
            if call is not None:
                self._end(call)
            self._emit(DOOR_OPENED_KIND, {"panel": s.name, "call_id": call_id,
                                          "unit": call.unit if call else None, "by": env.issued_by,
                                          "cmd_id": env.cmd_id, "seconds": float(seconds)}, raising=True)
            self._show("opening", seconds=float(seconds))
        log.info("intercom %s: door opened for %.1f s by %s (call %s)", s.name, seconds,
                 env.issued_by, call_id)
        return {"call_id": call_id, "seconds": seconds}

    def _call(self, env: CommandEnvelope, *, states: tuple[str, ...]) -> Call:
        call_id = env.args.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise CommandArgumentError(f"call_id (a string) is required, got {call_id!r}")
        call = self.calls.get(call_id)
        if call is None:
            raise CommandArgumentError(f"no call {call_id!r} at panel {self.settings.name}")
        if call.state not in states:
            raise CommandArgumentError(f"call {call_id} is {call.state}, not {' or '.join(states)}")
        return call

    # -- keypad (reader thread) ----------------------------------------------------------------------

    def _key(self, reader: str, key: int) -> None:
        self._counters.incr("keys")
        try:
            unit = self.entry.feed(key, self._now())
        except ValueError as exc:
            self._counters.incr("keypad_errors")
            log.warning("intercom %s: keypad entry dropped: %s", self.settings.name, exc)
            self._beep_error()
            return
        if unit is None:
            return
        allowed = self.settings.keypad_units
        if allowed and unit not in allowed:
            self._counters.incr("unknown_units")
            log.warning("intercom %s: unit %r keyed is not a known unit", self.settings.name, unit)
            self._beep_error()
            return
        self.press(unit, via="keypad")

    def _card(self, read: CardRead) -> None:
        self._counters.incr("cards_ignored")
        log.info("intercom %s: a card on the keypad's reader is ignored", self.settings.name)

    def _keypad_error(self, error: HardwareError) -> None:
        self._counters.incr("keypad_errors")

    # -- visitor invites (scanner thread; revocations: bridge thread) ------------------------------

    def _start_invites(self, ctx: NodeContext) -> None:
        s = self.settings
        assert s.scanner_port and s.invite_ledger is not None
        self.invites = InviteDoor(s.public_key, site=ctx.site,
                                  ledger=InviteLedger(s.invite_ledger).open())
        ctx.register_sync(REVOCATIONS_DATASET, self._on_revocations)
        port = ReaderSettings(name=f"{s.name}-scanner", port=s.scanner_port, kind="scanner",
                              baud=s.scanner_baud)
        self.scanner = ScannerReader(None, name=port.name, on_scan=self.scan,
                                     on_error=lambda e: self._counters.incr("scanner_errors"),
                                     clock=ctx.monotonic, repeat_window_s=s.scanner_repeat_s,
                                     reopen=lambda: ctx.open_serial(port)).start()

    def scan(self, read: ScanRead) -> str:
        """A code scanned at the door: admit (door pulse, ``intercom.invite_admitted``) or
        refuse (``intercom.invite_refused``; a bad signature is ``intercom.invite_forged``, an
        alarm). Returns the verdict's reason."""
        assert self._ctx is not None and self.invites is not None
        s = self.settings
        verdict = self.invites.decide(read.code, self._ctx.clock())
        data: dict[str, Any] = {"panel": s.name, "reason": verdict.reason, "invite_id": None, "unit": None}
        if verdict.token is not None:
            data.update(invite_id=verdict.token.invite_id, unit=verdict.token.unit)
        if verdict.admitted:
            assert self.door is not None and verdict.token is not None
            try:
                self.door.pulse(s.door_pulse_s)
            except HardwareError:
                self._counters.incr("output_errors")
                log.exception("intercom %s: door relay failed for invite %s", s.name, data["invite_id"])
            self._show("opening", seconds=s.door_pulse_s)
            kind = INVITE_ADMITTED_KIND
            data.update(use=verdict.use, uses=verdict.token.uses, seconds=s.door_pulse_s)
            self._counters.incr("invites_admitted")
        else:
            kind = INVITE_FORGED_KIND if verdict.reason == "bad_signature" else INVITE_REFUSED_KIND
            data["detail"] = verdict.detail
            self._counters.incr("invites_forged" if kind == INVITE_FORGED_KIND else "invites_refused")
            self._beep_error()
        log.info("intercom %s: invite %s %s", s.name, data["invite_id"], verdict.reason)
        self._emit(kind, data)
        return verdict.reason

    def _on_revocations(self, snapshot: SyncSnapshot) -> None:
        assert self.invites is not None
        try:
            revoked = parse_invite_revocations(snapshot)
            applied = self.invites.ledger.apply_revocations(snapshot.version, revoked)
        except (ContractError, sqlite3.Error):
            self._counters.incr("snapshot_errors")
            log.exception("intercom %s: invite revocations v%d refused", self.settings.name,
                          snapshot.version)
            return
        if applied:
            self._counters.incr("snapshots_applied")
            log.info("intercom %s: invite revocations v%d: %d revoked", self.settings.name,
                     snapshot.version, len(revoked))

    # -- helpers ------------------------------------------------------------------------------------

    def _now(self) -> float:
        assert self.monotonic is not None
        return self.monotonic()

    def _about(self, call: Call) -> dict[str, Any]:
        """The fields every event about ``call`` carries; hands over its collapsed presses."""
        repeats, call.repeats = call.repeats, 0
        return {"panel": self.settings.name, "call_id": call.call_id, "unit": call.unit,
                "via": call.via, "repeats": repeats}

    def _end(self, call: Call) -> None:
        call.state = "ended"
        ended = [c for c in self.calls.values() if c.state == "ended"]
        for old in ended[:-_ENDED_KEPT]:
            del self.calls[old.call_id]

    def _emit(self, kind: str, data: dict[str, Any], *, raising: bool = False) -> bool:
        assert self._ctx is not None
        try:
            self._ctx.emit(kind, data)
            return True
        except Exception:  # noqa: BLE001 - logged loudly and counted; the panel keeps working
            self._counters.incr("emit_errors")
            log.exception("intercom %s: could not journal %s %s", self.settings.name, kind, data)
            if raising:
                raise
            return False

    def _show(self, state: str, *, seconds: float = 0.0) -> None:
        self.panel_state = state
        led, buzzer = self.led, self.buzzer
        self._beeps = []
        try:
            if state == "calling":
                led and led.energise()
                buzzer and buzzer.pulse(self.settings.ring_s)
            elif state == "answered":
                led and led.energise()
                buzzer and buzzer.release()
            elif state == "opening":
                if led is not None:
                    led.release()
                    led.pulse(seconds)
                buzzer and buzzer.pulse(seconds)
            elif state == "no_answer":
                led and led.release()
                buzzer and buzzer.pulse(NO_ANSWER_BEEP_S)
            elif state == "refused":
                led and led.release()
                if buzzer is not None:
                    at = self._now()
                    for on_s, off_s in REFUSED_BEEPS:
                        self._beeps += [(at, True), (at + on_s, False)]
                        at += on_s + off_s
                    self.play_beeps()
            else:
                led and led.release()
        except HardwareError:  # closed while stopping, or a pin fault: never blocks a call
            self._counters.incr("output_errors")
            log.exception("intercom %s: panel outputs failed", self.settings.name)

    def play_beeps(self, *, at: float | None = None) -> None:
        """Drive the buzzer through the beep pattern steps due at ``at`` (monotonic s, default
        :attr:`monotonic`); called by the timeout thread every ``tick_s``."""
        now = self._now() if at is None else at
        with self._lock:
            buzzer = self.buzzer
            while self._beeps and self._beeps[0][0] <= now:
                _, on = self._beeps.pop(0)
                if buzzer is None:
                    continue
                try:
                    if on:
                        buzzer.energise()
                    else:
                        buzzer.release()
                except HardwareError:
                    self._counters.incr("output_errors")
                    log.exception("intercom %s: buzzer failed", self.settings.name)
                    self._beeps = []

    def _beep_error(self) -> None:
        if self.buzzer is not None:
            try:
                self.buzzer.pulse(0.5)
            except HardwareError:
                self._counters.incr("output_errors")

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.check_timeouts()
                self.play_beeps()
            except Exception:  # noqa: BLE001 - the thread keeps watching
                log.exception("intercom %s: timeout check failed", self.settings.name)


def _quietly(what: str, fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - stop() must get through every step
        log.exception("intercom: stopping %s failed", what)
