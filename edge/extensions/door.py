"""The ``door`` extension: card readers + access decisions + lock relay + door supervision, and
the ``sync/credentials`` snapshot they decide from.

Wiring (all on the node, whether or not the broker is reachable):

- readers (Wiegand on two GPIO inputs, or RDM6300 serial) -> :class:`~edge.access.AccessDecider`
  -> on a grant :meth:`~edge.access.DoorSupervisor.grant` -> the lock relay, *then* the events
  (``door.granted`` / ``door.denied`` ...) are journalled: the door opens before the disk is
  touched;
- a Wiegand reader's keypad keys go to the decider's PIN entry (card + PIN doors);
- door contact, exit button, fire release and tamper inputs -> the supervisor (it debounces);
- one timer thread runs the supervisor's and the decider's deadlines (unlock ends, held
  alarms, PIN time-outs);
- the lock relay is created in its locked state (``open_outputs``: before ``node.started`` and
  before any network activity); ``stop`` puts it back there;
- ``sync/credentials`` snapshots are parsed, cached on disk (:class:`~edge.access.CredentialCache`,
  highest version wins) and swapped in; at start the cached copy is used, so a reboot without
  network keeps the door working;
- signed commands ``door.unlock`` ``{seconds?}``, ``door.hold_open`` ``{seconds? | until_ms?}``
  and ``door.release`` ``{}`` (each recorded as ``door.remote`` with the operator).

One door per node (the commands are per node). Settings: :class:`DoorSettings`, built in code or
from a ``[door]`` table with :meth:`DoorSettings.from_mapping`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

from hardware.gpio import DigitalInput, Relay
from hardware.readers import CardRead, Rdm6300Reader, WiegandReader
from hardware.readers.wiegand import DEFAULT_EOF_INTERVALS
from mqtt_topics import CommandEnvelope, SyncSnapshot

from ..access import (AccessDecider, AccessError, CredentialCache, CredentialDataError,
                      CredentialSet, Decision, DoorConfig, DoorSupervisor, PinPending,
                      relay_safe_state)
from ..access.credentials import DATASET
from ..config import ReaderSettings
from ..counters import Counters, LatencyWindow
from ..errors import CommandArgumentError, ConfigError
from .base import Extension, NodeContext

log = logging.getLogger(__name__)

PinName = int | str
UNLOCK_ACTION = "door.unlock"
HOLD_ACTION = "door.hold_open"
RELEASE_ACTION = "door.release"
INPUT_NAMES = ("contact", "rex", "fire", "tamper")


# -- settings ----------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class DoorReaderSettings:
    """One reader at the door.

    - ``name``: reader name (in every decision event); ``kind``: ``"wiegand"`` or ``"rdm6300"``;
    - ``d0`` / ``d1``: the Wiegand data pins; ``gap_s`` (default 0.025) / ``eof_intervals``
      (default 2.0; 0 turns it off, so every frame waits ``gap_s``): its framing (see
      :class:`hardware.readers.WiegandReader`);
    - ``port`` / ``baud``: the RDM6300 serial port;
    - ``direction``: ``"in"``, ``"out"`` or None (anti-passback pairs)."""

    name: str
    kind: Literal["wiegand", "rdm6300"] = "wiegand"
    d0: PinName | None = None
    d1: PinName | None = None
    gap_s: float = 0.025
    eof_intervals: float = DEFAULT_EOF_INTERVALS
    port: str | None = None
    baud: int = 9600
    direction: Literal["in", "out"] | None = None


@dataclass(frozen=True, kw_only=True)
class DoorInputSettings:
    """A supervised input: ``pin``; ``pull_up`` (default True: active when pulled low);
    ``invert``: the logical level is the opposite of gpiozero's ``active`` (e.g. a door contact
    that closes to ground while the door is *closed*: ``invert=True`` makes "open" the
    logical True)."""

    pin: PinName
    pull_up: bool = True
    invert: bool = False


@dataclass(frozen=True, kw_only=True)
class DoorOutputSettings:
    """A relay output: ``pin``; ``active_high`` (default True)."""

    pin: PinName
    active_high: bool = True


@dataclass(frozen=True, kw_only=True)
class DoorSettings:
    """Everything about the door on this node.

    - ``door``: the :class:`~edge.access.DoorConfig` (id, fail mode, times, fire mode, debounce);
    - ``lock``: the strike/maglock relay; ``buzzer``, ``led``: optional feedback outputs;
    - ``readers``: the readers; ``inputs``: ``contact``, ``rex``, ``fire``, ``tamper`` (any may
      be left out);
    - ``cache_path``: where the credentials snapshot is cached;
    - ``antipassback``, ``lockout_after``, ``lockout_s``, ``require_pin``, ``pin_timeout_s``:
      as for :class:`~edge.access.AccessDecider`;
    - ``max_unlock_s`` / ``max_hold_s``: the longest remote unlock / hold-open accepted, seconds.
    """

    door: DoorConfig
    lock: DoorOutputSettings
    cache_path: Path
    readers: tuple[DoorReaderSettings, ...] = ()
    inputs: Mapping[str, DoorInputSettings] = field(default_factory=dict)
    buzzer: DoorOutputSettings | None = None
    led: DoorOutputSettings | None = None
    antipassback: Literal["off", "hard", "soft"] = "off"
    lockout_after: int = 5
    lockout_s: float = 30.0
    require_pin: bool = False
    pin_timeout_s: float = 10.0
    max_unlock_s: float = 60.0
    max_hold_s: float = 24 * 3600.0

    def __post_init__(self) -> None:
        problems = []
        for name in self.inputs:
            if name not in INPUT_NAMES:
                problems.append(f"door.inputs.{name}: unknown input (one of {', '.join(INPUT_NAMES)})")
        names = [r.name for r in self.readers]
        if len(set(names)) != len(names):
            problems.append("door.readers: reader names must be unique")
        for r in self.readers:
            if r.kind == "wiegand" and (r.d0 is None or r.d1 is None):
                problems.append(f"door.readers.{r.name}: a Wiegand reader needs d0 and d1")
            elif r.kind == "rdm6300" and not r.port:
                problems.append(f"door.readers.{r.name}: an RDM6300 reader needs a port")
            elif r.kind not in ("wiegand", "rdm6300"):
                problems.append(f"door.readers.{r.name}: kind must be wiegand or rdm6300")
            if r.kind == "wiegand" and not r.gap_s > 0:
                problems.append(f"door.readers.{r.name}: gap_s must be > 0 seconds")
            if r.kind == "wiegand" and r.eof_intervals and r.eof_intervals < 1:
                problems.append(f"door.readers.{r.name}: eof_intervals must be 0 (off) or >= 1")
        if not self.max_unlock_s > 0 or not self.max_hold_s > 0:
            problems.append("door: max_unlock_s and max_hold_s must be > 0")
        if problems:
            raise ConfigError(problems)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base_dir: Path = Path(".")) -> "DoorSettings":
        """Build from a ``[door]`` TOML table::

            [door]
            id = "lobby"                 # door id (credentials name door ids)
            fail_mode = "fail_secure"    # or "fail_safe" (maglock)
            unlock_s = 5
            cache = "credentials.json"   # relative to base_dir
            lock = {pin = 22}
            inputs = {contact = {pin = 17, invert = true}, rex = {pin = 27}}
            readers = [{name = "lobby-in", kind = "wiegand", d0 = 5, d1 = 6, direction = "in"}]

        plus any :class:`DoorConfig` / :class:`DoorSettings` option by name. Raises
        :class:`ConfigError` naming the problems."""
        d = dict(data)
        try:
            door_keys = {"fail_mode", "unlock_s", "held_prealarm_s", "held_alarm_s", "rex_unlocks",
                         "relock_on_close", "fire_mode", "debounce_s"}
            door = DoorConfig(door_id=d.pop("id"), **{k: d.pop(k) for k in list(d) if k in door_keys})
            cache = Path(d.pop("cache", "credentials.json"))
            out = {k: DoorOutputSettings(**d.pop(k)) for k in ("lock", "buzzer", "led") if k in d}
            inputs = {k: DoorInputSettings(**v) for k, v in d.pop("inputs", {}).items()}
            readers = tuple(DoorReaderSettings(**r) for r in d.pop("readers", []))
            return cls(door=door, cache_path=cache if cache.is_absolute() else base_dir / cache,
                       readers=readers, inputs=inputs, **out, **d)
        except ConfigError:
            raise
        except (KeyError, TypeError, ValueError, AccessError) as exc:
            raise ConfigError([f"door: {exc}"]) from None


# -- the extension -------------------------------------------------------------------------------

class DoorExtension(Extension):
    """One door (see the module docstring)."""

    name = "door"

    def __init__(self, settings: DoorSettings) -> None:
        self.settings = settings
        self.lock_relay: Relay | None = None
        self.buzzer: Relay | None = None
        self.led: Relay | None = None
        self.inputs: dict[str, DigitalInput] = {}
        self.readers: dict[str, WiegandReader | Rdm6300Reader] = {}
        self.decider: AccessDecider | None = None
        self.supervisor: DoorSupervisor | None = None
        self.cache = CredentialCache(settings.cache_path)
        self._version: int | None = None         # the snapshot version in use, None before any
        #: card read -> lock relay changed, ms (for health and benches)
        self.decide_latency = LatencyWindow()
        self._ctx: NodeContext | None = None
        self._lock = threading.RLock()           # serialises the supervisor and the outputs
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._counters = Counters(["reads", "granted", "denied", "pin_pending", "keys",
                                   "snapshots_applied", "snapshots_ignored", "snapshot_errors",
                                   "cache_errors", "emit_errors", "reader_errors"])

    # -- lifecycle ------------------------------------------------------------------------------

    def open_outputs(self, ctx: NodeContext) -> list[str]:
        """The lock relay (and buzzer/LED) in their locked / off state."""
        s = self.settings
        factory = ctx.gpio()
        safe = relay_safe_state(s.door.fail_mode)
        self.lock_relay = Relay(s.lock.pin, name=f"{s.door.door_id}-lock", pin_factory=factory,
                                active_high=s.lock.active_high, safe_state=safe)
        out = [f"door {s.door.door_id} lock ({s.door.fail_mode}): {safe}"]
        for attr in ("buzzer", "led"):
            o: DoorOutputSettings | None = getattr(s, attr)
            if o is not None:
                setattr(self, attr, Relay(o.pin, name=f"{s.door.door_id}-{attr}", pin_factory=factory,
                                          active_high=o.active_high, safe_state="off"))
                out.append(f"door {s.door.door_id} {attr}: off")
        return out

    def start(self, ctx: NodeContext) -> None:
        s = self.settings
        self._ctx = ctx
        factory = ctx.gpio()
        self.decider = AccessDecider(
            s.door.door_id, self._cached_credentials(), clock=lambda: ctx.clock() / 1000,
            monotonic=ctx.monotonic, antipassback=s.antipassback,
            readers={r.name: r.direction for r in s.readers if r.direction},
            lockout_after=s.lockout_after, lockout_s=s.lockout_s, require_pin=s.require_pin,
            pin_timeout_s=s.pin_timeout_s)
        with self._lock:
            for name, i in s.inputs.items():
                self.inputs[name] = DigitalInput(i.pin, name=name, pin_factory=factory,
                                                 pull_up=i.pull_up, bounce_s=None,
                                                 on_change=self._input_changed)
            levels = {name: dev.active != s.inputs[name].invert for name, dev in self.inputs.items()}
            self.supervisor = DoorSupervisor(s.door, clock=ctx.monotonic, inputs=levels)
            self._apply_outputs()
        self._emit([self.supervisor.state_event()])
        ctx.register_sync(DATASET, self._on_snapshot)
        ctx.register_command(UNLOCK_ACTION, self._cmd_unlock)
        ctx.register_command(HOLD_ACTION, self._cmd_hold_open)
        ctx.register_command(RELEASE_ACTION, self._cmd_release)
        self._thread = threading.Thread(target=self._run, name=f"door-{s.door.door_id}", daemon=True)
        self._thread.start()
        for r in s.readers:
            self.readers[r.name] = self._make_reader(r, factory, ctx).start()
        log.info("door %s: %d reader(s), %d input(s), credentials v%d (%d)", s.door.door_id,
                 len(self.readers), len(self.inputs), self.decider.credentials.version,
                 len(self.decider.credentials))

    def _make_reader(self, r: DoorReaderSettings, factory: Any,
                     ctx: NodeContext) -> WiegandReader | Rdm6300Reader:
        if r.kind == "wiegand":
            return WiegandReader(r.d0, r.d1, name=r.name, pin_factory=factory, on_card=self._card,
                                 on_key=self._key, on_error=self._reader_error(r.name),
                                 gap_s=r.gap_s, eof_intervals=r.eof_intervals or None)
        serial = ReaderSettings(name=r.name, port=r.port or "", kind="rdm6300", baud=r.baud)
        return Rdm6300Reader(None, name=r.name, on_card=self._card,
                             on_error=self._reader_error(r.name),
                             reopen=lambda: ctx.open_serial(serial))

    def _cached_credentials(self) -> CredentialSet:
        try:
            snapshot = self.cache.load()
        except AccessError:
            self._counters.incr("cache_errors")
            log.exception("door %s: credential cache unreadable; starting with none",
                          self.settings.door.door_id)
            return CredentialSet()
        if snapshot is None:
            log.warning("door %s: no cached credentials; every card is unknown until the console "
                        "syncs", self.settings.door.door_id)
            return CredentialSet()
        try:
            credentials = CredentialSet.from_snapshot(snapshot)
            self._version = credentials.version
            return credentials
        except CredentialDataError:
            self._counters.incr("snapshot_errors")
            log.exception("door %s: cached credentials unusable", self.settings.door.door_id)
            return CredentialSet()

    def stop(self) -> None:
        """Readers and inputs off, the timer stopped, outputs back to locked / off. Idempotent."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            self._wake.notify_all()
        for reader in self.readers.values():
            _quietly(f"reader {reader.name}", reader.close)
        if self._thread is not None:
            self._thread.join(5)
        for device in self.inputs.values():
            _quietly(f"input {device.name}", device.close)
        for relay in (self.lock_relay, self.buzzer, self.led):
            if relay is not None:
                _quietly(f"relay {relay.name}", relay.close)

    def alive(self) -> bool:
        if self._stopping:
            return True
        if self._thread is not None and not self._thread.is_alive():
            return False
        for reader in self.readers.values():
            thread = getattr(reader, "_thread", None)   # the readers expose no liveness property
            if thread is not None and not thread.is_alive():
                return False
        return True

    def counters(self) -> Counters:
        return self._counters

    # -- cards and keys (reader threads) ----------------------------------------------------------

    def _card(self, read: CardRead) -> None:
        assert self.decider is not None
        self._counters.incr("reads")
        started = time.monotonic()  # the decision itself counts in decide_latency
        self._settle(self.decider.present(read), started=started)

    def _key(self, reader: str, key: int) -> None:
        assert self.decider is not None
        self._counters.incr("keys")
        started = time.monotonic()
        result = self.decider.key(reader, key)
        if result is not None:
            self._settle(result, started=started)

    def _settle(self, result: Decision | PinPending, *, started: float) -> None:
        assert self.supervisor is not None
        if isinstance(result, PinPending):
            self._counters.incr("pin_pending")
            self._pulse(self.led, 0.3)
            with self._lock:
                self._wake.notify_all()              # a PIN deadline to watch
            return
        with self._lock:
            door_events = self.supervisor.grant() if result.granted else []
            self._apply_outputs()
            self._wake.notify_all()
        self.decide_latency.add((time.monotonic() - started) * 1000)
        self._counters.incr("granted" if result.granted else "denied")
        if result.granted:
            self._pulse(self.led, self.settings.door.unlock_s)
            self._pulse(self.buzzer, 0.1)
        else:
            self._pulse(self.buzzer, 0.6)
        self._emit(result.events() + door_events)

    def _reader_error(self, reader: str) -> Callable[[Exception], None]:
        """Reader health: every bad frame counted as ``<reader>_<reason>`` (``parity``,
        ``bad_length``, ``unknown_key``, ``checksum``, ``malformed``, ``garbage``, ``serial``)
        and in ``reader_errors``; the reader logs it."""
        def on_error(error: Exception) -> None:
            self._counters.incr("reader_errors")
            self._counters.incr(f"{reader}_{getattr(error, 'reason', 'serial')}")
        return on_error

    # -- inputs (GPIO threads) ------------------------------------------------------------------

    def _input_changed(self, name: str, active: bool) -> None:
        logical = active != self.settings.inputs[name].invert
        with self._lock:
            if self.supervisor is None or self._stopping:
                return
            events = self.supervisor.set_input(name, logical)
            self._apply_outputs()
            self._wake.notify_all()
        self._emit(events)

    # -- timer thread -----------------------------------------------------------------------------

    def _next_deadline(self) -> float | None:
        assert self.supervisor is not None and self.decider is not None
        deadlines = [d for d in (self.supervisor.next_deadline(), self.decider.next_deadline())
                     if d is not None]
        return min(deadlines) if deadlines else None

    def _run(self) -> None:
        assert self._ctx is not None and self.supervisor is not None and self.decider is not None
        while True:
            with self._lock:
                if self._stopping:
                    return
                deadline = self._next_deadline()
                timeout = None if deadline is None else max(0.0, deadline - self._ctx.monotonic())
                if timeout is None or timeout > 0:
                    self._wake.wait(timeout)
                if self._stopping:
                    return
                events = self.supervisor.tick()
                self._apply_outputs()
            decisions = self.decider.expire()
            for decision in decisions:
                self._counters.incr("denied")
                self._pulse(self.buzzer, 0.6)
                events += decision.events()
            self._emit(events)

    # -- outputs ----------------------------------------------------------------------------------

    def _apply_outputs(self) -> None:
        """Drive the lock relay from the supervisor (lock held)."""
        assert self.supervisor is not None and self.lock_relay is not None
        if self._stopping:
            return
        if self.supervisor.unlocked:
            self.lock_relay.actuate()
        else:
            self.lock_relay.release()

    def _pulse(self, relay: Relay | None, seconds: float) -> None:
        if relay is None or self._stopping:
            return
        try:
            relay.pulse(seconds)
        except Exception:  # noqa: BLE001 - feedback never blocks a decision
            log.exception("door %s: feedback output %s failed", self.settings.door.door_id, relay.name)

    # -- events -----------------------------------------------------------------------------------

    def _emit(self, events: list[dict[str, Any]]) -> None:
        assert self._ctx is not None
        for event in events:
            try:
                self._ctx.emit(event["kind"], event["data"])
            except Exception:  # noqa: BLE001 - logged loudly and counted; the door keeps working
                self._counters.incr("emit_errors")
                log.exception("door %s: could not journal %s %s", self.settings.door.door_id,
                              event["kind"], event["data"])

    # -- credentials sync (bridge thread) -------------------------------------------------------------

    def _on_snapshot(self, snapshot: SyncSnapshot) -> None:
        assert self.decider is not None
        door = self.settings.door.door_id
        current = self._version
        if current is not None and snapshot.version <= current:
            self._counters.incr("snapshots_ignored")
            log.info("door %s: credentials v%d ignored, v%d in use", door, snapshot.version, current)
            return
        try:
            credentials = CredentialSet.from_snapshot(snapshot)
        except CredentialDataError as exc:
            self._counters.incr("snapshot_errors")
            log.error("door %s: credentials v%d refused, keeping v%s: %s", door, snapshot.version,
                      current, exc)
            return
        try:
            self.cache.offer(snapshot)
        except AccessError:
            self._counters.incr("cache_errors")
            log.exception("door %s: credentials v%d not cached (used anyway)", door, snapshot.version)
        self.decider.update(credentials)
        self._version = credentials.version
        self._counters.incr("snapshots_applied")
        log.info("door %s: credentials v%d in use: %d credentials, %d problems", door,
                 credentials.version, len(credentials), len(credentials.rejected))

    # -- commands (bridge thread) -------------------------------------------------------------------

    def _seconds_arg(self, cmd: CommandEnvelope, limit: float, *, required: bool) -> float | None:
        value = cmd.args.get("seconds")
        if value is None and "until_ms" in cmd.args:
            until = cmd.args["until_ms"]
            if isinstance(until, bool) or not isinstance(until, int):
                raise CommandArgumentError(f"until_ms must be UTC ms, got {until!r}")
            assert self._ctx is not None
            value = (until - self._ctx.clock()) / 1000
            if value <= 0:
                raise CommandArgumentError("until_ms is in the past")
        if value is None:
            if required:
                raise CommandArgumentError("seconds is required")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value <= 0:
            raise CommandArgumentError(f"seconds must be a number > 0, got {value!r}")
        if value > limit:
            raise CommandArgumentError(f"{value:g} s is longer than the {limit:g} s allowed")
        return float(value)

    def _check_door_arg(self, cmd: CommandEnvelope) -> None:
        door = cmd.args.get("door")
        if door is not None and door != self.settings.door.door_id:
            raise CommandArgumentError(f"this node's door is {self.settings.door.door_id!r}, not {door!r}")

    def _command(self, cmd: CommandEnvelope, action: str, seconds: float | None) -> dict[str, Any]:
        assert self.supervisor is not None
        with self._lock:
            if action == "unlock":
                events = self.supervisor.unlock(seconds=seconds, by=cmd.issued_by, cmd_id=cmd.cmd_id)
            elif action == "hold_open":
                events = self.supervisor.hold_open(seconds=seconds, by=cmd.issued_by, cmd_id=cmd.cmd_id)
            else:
                events = self.supervisor.release(by=cmd.issued_by, cmd_id=cmd.cmd_id)
            self._apply_outputs()
            self._wake.notify_all()
            state = self.supervisor.state
        self._emit(events)
        return {"door": self.settings.door.door_id, "action": action, "state": state}

    def _cmd_unlock(self, cmd: CommandEnvelope) -> dict[str, Any]:
        self._check_door_arg(cmd)
        return self._command(cmd, "unlock", self._seconds_arg(cmd, self.settings.max_unlock_s,
                                                              required=False))

    def _cmd_hold_open(self, cmd: CommandEnvelope) -> dict[str, Any]:
        self._check_door_arg(cmd)
        return self._command(cmd, "hold_open", self._seconds_arg(cmd, self.settings.max_hold_s,
                                                                 required=True))

    def _cmd_release(self, cmd: CommandEnvelope) -> dict[str, Any]:
        self._check_door_arg(cmd)
        return self._command(cmd, "release", None)


def _quietly(what: str, fn: Any) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - stop() must get through every step
        log.exception("door: stopping %s failed", what)
