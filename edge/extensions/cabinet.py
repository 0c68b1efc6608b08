"""The ``cabinet`` extension: a key cabinet (钥匙委托管理) on this node.

Wiring (all on the node, whether or not the broker is reachable):

- ``open_outputs``: every slot solenoid and the door lock locked (GPIO relays off, or the I/O
  module's coils written off) before ``node.started`` and any network activity;
- ``start``: the cached ``key-permissions`` snapshot is loaded, the slots and the door are read
  once and reconciled with the persisted last state (``cabinet.inventory``), then one worker
  thread owns the I/O: it polls the inputs every ``poll_s``, runs
  :class:`~edge.cabinet.CabinetMachine` and applies its outputs, and journals the events;
- card readers (RDM6300, the usual reader plumbing) hand cards to the worker, which decides and
  energises the slot solenoids before it journals anything;
- ``sync/key-permissions`` snapshots are parsed, cached on disk (highest version wins) and
  swapped in; the machine's state (presence, loans) is saved after every change;
- the signed command ``cabinet.release`` ``{key, holder, cabinet?, seconds?}`` (the desk's
  assisted loan for a borrower without a card) is handed to the worker, which releases the door
  and that key's slot (``cabinet.remote_release``); a refused release (unknown key, key not in
  its slot, two-person key, ``seconds`` above ``release_s``) is answered ``bad_payload``;
- I/O faults (the Modbus module times out, a bad CRC, an exception response, a GPIO pin that
  fails): ``cabinet.fault`` once per episode, then every output is locked (best effort), the
  session ends (nothing stays released: what cannot be read is unknown), cards are refused
  (``cabinet.denied`` reason ``io_fault``) and releases fail; the I/O is retried (every output
  locked, the inputs read) every ``fault_retry_s``. The episode ends (``cabinet.fault_cleared``)
  only after ``fault_clear_reads`` good cycles in a row: until then the cabinet stays locked and
  refuses exactly as during the fault, and an error restarts the count (and adds to the
  episode's ``errors``), so a module that fails every other request is ONE episode, not an alarm
  per failure with cards let through in between. The inputs read during those cycles reach the
  machine only when the episode ends.
- outputs are written when they change and, every ``output_refresh_s`` (default 5 s, on the
  ``monotonic`` clock), all of them again (:meth:`CabinetIO.refresh`), changed or not: a module
  whose writes fail while its reads still work starts the fault episode above (operation
  ``write``) within that time instead of at the next output change.

Settings: :class:`~edge.cabinet.settings.CabinetSettings` (``[cabinet]``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any, Callable

from hardware.readers import CardRead, Rdm6300Reader
from mqtt_topics import SyncSnapshot

from ..access.cache import CredentialCache
from ..access.errors import AccessError
from ..cabinet.errors import CabinetError, CabinetIOError, KeyPermissionError
from ..cabinet.io import CabinetIO, GpioCabinetIO, ModbusCabinetIO
from ..cabinet.machine import CabinetMachine, Event, ReleaseRefused
from ..cabinet.permissions import DATASET, KeyPermissions, normalise_card
from ..cabinet.settings import CabinetSettings
from ..cabinet.store import CabinetStateStore
from ..config import ReaderSettings
from ..counters import Counters, LatencyWindow
from ..errors import CommandArgumentError
from .base import Extension, NodeContext

__all__ = ["CabinetExtension", "RELEASE_ACTION"]

#: The signed command of a desk-assisted release.
RELEASE_ACTION = "cabinet.release"
_MAX_HOLDER = 64

log = logging.getLogger(__name__)


class CabinetExtension(Extension):
    """One key cabinet (see the module note).

    :param settings: the ``[cabinet]`` settings.
    :param io: the cabinet's wires (default: built from the settings: GPIO with the node's pin
        factory, or the Modbus module).
    :param monotonic: seconds for the machine's timers (default: ``ctx.monotonic``).
    :param fault_retry_s: while the I/O is faulted, retry it this often, s (default: the
        settings' ``fault_retry_s``, 1.0). The episode ends after the settings'
        ``fault_clear_reads`` (default 3) good retries in a row.
    """

    name = "cabinet"

    def __init__(self, settings: CabinetSettings, *, io: CabinetIO | None = None,
                 monotonic: Callable[[], float] | None = None,
                 fault_retry_s: float | None = None) -> None:
        self.settings = settings
        self.fault_retry_s = settings.fault_retry_s if fault_retry_s is None else fault_retry_s
        self.io: CabinetIO | None = io
        self.monotonic = monotonic
        self.machine: CabinetMachine | None = None
        self.cache = CredentialCache(settings.cache, dataset=DATASET)
        self.store = CabinetStateStore(settings.state)
        self.readers: dict[str, Rdm6300Reader] = {}
        #: card frame decoded -> slot outputs applied, ms (bench and health)
        self.decide_latency = LatencyWindow()
        self._ctx: NodeContext | None = None
        self._cond = threading.Condition()
        self._cards: deque[tuple[str, float]] = deque()
        self._calls: deque[tuple[Callable[..., list[Event]], threading.Event]] = deque()
        self._permissions: KeyPermissions | None = None
        self._new_permissions: KeyPermissions | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._io_ok = True
        self._open_error: Exception | None = None
        #: the I/O fault episode in progress: {since (clock s), errors, slots (None: all),
        #: good (good lock + read cycles in a row since the last error)}
        self._fault: dict[str, Any] | None = None
        #: while faulted: when the next I/O retry is due (time.monotonic() s)
        self._retry_at = 0.0
        #: when every output is next written again, changed or not (machine clock s; None: the
        #: first good cycle sets it)
        self._refresh_at: float | None = None
        self._booted = False           # the first good read has been reconciled (power_up)
        self._counters = Counters(["reads", "granted", "denied", "events", "emit_errors",
                                   "io_errors", "faults", "state_errors", "snapshots_applied",
                                   "snapshots_ignored", "snapshot_errors", "cache_errors"])

    # -- lifecycle ------------------------------------------------------------------------------

    def _make_io(self, ctx: NodeContext) -> CabinetIO:
        s = self.settings
        if s.io == "modbus":
            assert s.modbus is not None
            return ModbusCabinetIO(bus_factory=s.modbus.make_bus, slave=s.modbus.slave,
                                   door_lock=int(s.door_lock), door_contact=int(s.door_contact),
                                   slots=s.slots, contact_invert=s.contact_invert,
                                   present_invert=s.present_invert, description=f"cabinet {s.id}")
        return GpioCabinetIO(door_lock=s.door_lock, door_contact=s.door_contact, slots=s.slots,
                             pin_factory=ctx.gpio(), active_high=s.active_high, pull_up=s.pull_up,
                             contact_invert=s.contact_invert, present_invert=s.present_invert)

    def open_outputs(self, ctx: NodeContext) -> list[str]:
        """Every slot solenoid and the door lock: locked."""
        if self.io is None:
            self.io = self._make_io(ctx)
        try:
            return self.io.open()
        except Exception as exc:  # noqa: BLE001 - an absent I/O module must not stop the node
            self._counters.incr("io_errors")
            self._io_ok = False
            self._open_error = exc
            log.error("cabinet %s: could not lock the outputs at start (%s); retrying in the "
                      "worker", self.settings.id, exc)
            return [f"cabinet {self.settings.id}: outputs NOT confirmed locked ({exc})"]

    def start(self, ctx: NodeContext) -> None:
        s = self.settings
        self._ctx = ctx
        self._permissions = self._cached_permissions()
        self.machine = CabinetMachine(
            cabinet=s.id, slots=[w.slot for w in s.slots], permissions=self._permissions,
            clock=self.monotonic or ctx.monotonic, wall=ctx.clock, release_s=s.release_s,
            two_person_window_s=s.two_person_window_s, door_held_s=s.door_held_s,
            wrong_slot_repeat_s=s.wrong_slot_repeat_s)
        ctx.register_sync(DATASET, self._on_snapshot)
        ctx.register_command(RELEASE_ACTION, self._cmd_release)
        if isinstance(self.io, GpioCabinetIO):
            self.io.on_change = self._wake
        self._thread = threading.Thread(target=self._run, name=f"cabinet-{s.id}", daemon=True)
        self._thread.start()
        for r in s.readers:
            serial = ReaderSettings(name=r.name, port=r.port, kind="rdm6300", baud=r.baud)
            self.readers[r.name] = Rdm6300Reader(
                None, name=r.name, on_card=self._card, reopen=lambda serial=serial: ctx.open_serial(serial)
            ).start()
        log.info("cabinet %s: %d slot(s) on %s, %d reader(s), key-permissions v%d (%d cards)",
                 s.id, len(s.slots), s.io, len(self.readers), self._permissions.version,
                 len(self._permissions))

    def _cached_permissions(self) -> KeyPermissions:
        s = self.settings
        try:
            snapshot = self.cache.load()
            if snapshot is not None:
                return KeyPermissions.from_snapshot(snapshot, cabinet=s.id,
                                                    slots=[w.slot for w in s.slots])
        except (AccessError, KeyPermissionError):
            self._counters.incr("cache_errors")
            log.exception("cabinet %s: cached key-permissions unusable; starting with none", s.id)
        log.warning("cabinet %s: no key-permissions yet; every card is unknown until the console "
                    "syncs", s.id)
        return KeyPermissions()

    def stop(self) -> None:
        """Readers off, the worker stopped, every output locked and released. Idempotent."""
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            self._cond.notify_all()
        for reader in self.readers.values():
            _quietly(f"reader {reader.name}", reader.close)
        if self._thread is not None:
            self._thread.join(5)
        if self.io is not None:
            _quietly("cabinet I/O", self.io.close)

    def alive(self) -> bool:
        return self._stopping or self._thread is None or self._thread.is_alive()

    def counters(self) -> Counters:
        return self._counters

    # -- inputs from other threads ---------------------------------------------------------------

    def present_card(self, card: str) -> None:
        """Hand a card to the worker (what the readers do; also for tests and benches)."""
        with self._cond:
            self._cards.append((card, time.monotonic()))
            self._cond.notify_all()

    def _card(self, read: CardRead) -> None:
        self._counters.incr("reads")
        self.present_card(read.card)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- the worker: owns the I/O and the machine -----------------------------------------------

    def _run(self) -> None:
        assert self.machine is not None and self._ctx is not None and self.io is not None
        m, io = self.machine, self.io
        if self._open_error is not None:      # open_outputs failed before the node started
            self._emit(self._fault_began("write", self._open_error))
            self._open_error = None
        while True:
            with self._cond:
                if self._stopping:
                    return
            if self._fault is not None and self._retry_at > time.monotonic():
                self._between_retries()
                continue
            events: list[Event] = []
            operation = "write"
            try:
                if not self._io_ok or self._fault is not None:
                    io.open()           # every output locked (again) before reading
                    self._io_ok = True
                with self._cond:
                    update, self._new_permissions = self._new_permissions, None
                if update is not None:
                    events += m.update(update)
                operation = "read"
                door, present = io.read()
                operation = "write"
                if self._fault is not None:    # locked and read again: one good cycle
                    events += self._fault_good_cycle()
                if self._fault is None:        # (no longer) faulted: the machine runs
                    self._serve(events, door, present)
            except Exception as exc:  # noqa: BLE001 - I/O faults: logged, counted, retried
                self._counters.incr("io_errors")
                self._io_ok = False
                if self._fault is None:
                    log.error("cabinet %s: I/O %s failed: %s", self.settings.id, operation, exc)
                    events += m.io_fault()
                    events += self._fault_began(operation, exc)
                    self._lock_quietly(io)     # later retries lock first (io.open)
                else:                  # still faulted, or a relapse while recovering
                    self._fault["errors"] += 1
                    self._fault["good"] = 0
            if self._fault is not None:
                self._retry_at = time.monotonic() + max(self.settings.poll_s, self.fault_retry_s)
                events += self._refuse_while_faulted()
            if events:                 # state first: what is published is never newer than it
                self._save()
                self._emit(events)
            with self._cond:
                if self._stopping:
                    return
                if self._fault is None and not self._cards and not self._calls \
                        and self._new_permissions is None:
                    self._cond.wait(self.settings.poll_s)

    def _serve(self, events: list[Event], door: bool, present: dict[int, bool]) -> None:
        """One cycle of the machine on a good read: inputs, cards, desk releases, timers, each
        followed by its outputs; appends to ``events`` as it goes (raises on an I/O error)."""
        assert self.machine is not None and self.io is not None
        m, io = self.machine, self.io
        if not self._booted:
            last, loans = self.store.load()
            events += m.power_up(present, door_open=door, last_present=last, loans=loans)
            self._booted = True
        else:
            events += m.door_changed(door)
            for slot, here in present.items():
                events += m.slot_changed(slot, here)
        while True:
            with self._cond:
                if not self._cards:
                    break
                card, at = self._cards.popleft()
            decided = m.card(card)
            io.apply(m.door_unlocked, m.released_slots)
            self.decide_latency.add((time.monotonic() - at) * 1000)
            self._counters.incr("granted" if decided[0]["kind"] == "cabinet.granted" else "denied")
            events += decided
        while True:
            with self._cond:
                if not self._calls:
                    break
                call, done = self._calls.popleft()
            try:                        # answered once the outputs are applied
                events += call()
                io.apply(m.door_unlocked, m.released_slots)
            except Exception as exc:
                call(exc)               # the caller gets the I/O error
                raise
            finally:
                done.set()
        events += m.tick()
        now = m.clock()
        if self._refresh_at is None:
            self._refresh_at = now + self.settings.output_refresh_s
        if now >= self._refresh_at:     # the periodic re-assert: every output, changed or not
            self._refresh_at = now + self.settings.output_refresh_s
            refresh = getattr(io, "refresh", io.apply)   # (an I/O whose apply writes everything)
            refresh(m.door_unlocked, m.released_slots)
        else:
            io.apply(m.door_unlocked, m.released_slots)

    def _between_retries(self) -> None:
        """While faulted, until the next retry is due: refuse cards and releases at once (they
        never start an I/O cycle, so they cannot hurry the episode's end), touch no wire."""
        events = self._refuse_while_faulted()
        if events:
            self._emit(events)
        with self._cond:
            if not self._stopping and not self._cards and not self._calls:
                self._cond.wait(max(0.0, self._retry_at - time.monotonic()))

    # -- I/O fault episodes (worker thread) ------------------------------------------------------

    @property
    def faulted(self) -> bool:
        """True while an I/O fault episode is in progress."""
        return self._fault is not None

    def _fault_began(self, operation: str, exc: Exception) -> list[Event]:
        """Start an episode: ``cabinet.fault`` {cabinet, slots ("all" or slot numbers),
        operation (read|write), reason, error, exception_code?}."""
        assert self.machine is not None
        slots = getattr(exc, "slots", None)
        self._fault = {"since": self.machine.clock(), "errors": 1, "slots": slots, "good": 0}
        self._counters.incr("faults")
        data: dict[str, Any] = {"cabinet": self.settings.id,
                                "slots": "all" if slots is None else list(slots),
                                "operation": operation, "reason": _fault_reason(exc),
                                "error": str(exc)[:300] or type(exc).__name__}
        if getattr(exc, "exception_code", None) is not None:
            data["exception_code"] = exc.exception_code  # type: ignore[attr-defined]
        return [{"kind": "cabinet.fault", "data": data}]

    def _fault_good_cycle(self) -> list[Event]:
        """A good lock + read during the episode: the episode ends after ``fault_clear_reads``
        of them in a row."""
        assert self._fault is not None
        self._fault["good"] += 1
        if self._fault["good"] < self.settings.fault_clear_reads:
            return []
        return self._fault_ended()

    def _fault_ended(self) -> list[Event]:
        """End the episode: ``cabinet.fault_cleared`` {cabinet, slots, errors, fault_s}."""
        assert self.machine is not None and self._fault is not None
        f, self._fault = self._fault, None
        log.info("cabinet %s: I/O works again after %d error(s)", self.settings.id, f["errors"])
        return [{"kind": "cabinet.fault_cleared", "data": {
            "cabinet": self.settings.id, "slots": "all" if f["slots"] is None else list(f["slots"]),
            "errors": f["errors"], "fault_s": round(self.machine.clock() - f["since"], 3)}}]

    def _lock_quietly(self, io: CabinetIO) -> None:
        """Every output locked, best effort (the I/O just failed)."""
        try:
            io.apply(False, frozenset())
        except Exception:  # noqa: BLE001 - counted above; the module's own power-up locks
            pass

    def _refuse_while_faulted(self) -> list[Event]:
        """Cards: ``cabinet.denied`` (reason ``io_fault``); queued calls (desk releases): failed."""
        events: list[Event] = []
        while True:
            with self._cond:
                if not self._cards:
                    break
                card, _ = self._cards.popleft()
            self._counters.incr("denied")
            events.append({"kind": "cabinet.denied", "data": {
                "cabinet": self.settings.id, "card": normalise_card(card), "reason": "io_fault"}})
        while True:
            with self._cond:
                if not self._calls:
                    break
                _, done = self._calls.popleft()
            done.set()                 # never run: the caller reports the I/O fault
        return events

    def _emit(self, events: list[Event]) -> None:
        assert self._ctx is not None
        for event in events:
            try:
                self._ctx.emit(event["kind"], event["data"])
                self._counters.incr("events")
            except Exception:  # noqa: BLE001 - logged loudly, counted; the cabinet keeps working
                self._counters.incr("emit_errors")
                log.exception("cabinet %s: could not journal %s %s", self.settings.id,
                              event["kind"], event["data"])

    def _save(self) -> None:
        assert self.machine is not None
        try:
            self.store.save(self.machine.state())
        except CabinetError:
            self._counters.incr("state_errors")
            log.exception("cabinet %s: state not saved", self.settings.id)

    # -- commands (bridge thread) -----------------------------------------------------------------

    def _cmd_release(self, cmd: Any) -> dict[str, Any]:
        """``cabinet.release`` ``{key, holder, cabinet?, seconds?}``: run on the worker, answered
        once the outputs are applied (or refused: :class:`CommandArgumentError`)."""
        s, args = self.settings, cmd.args
        key, holder, seconds = args.get("key"), args.get("holder"), args.get("seconds")
        if args.get("cabinet") not in (None, s.id):
            raise CommandArgumentError(f"this node's cabinet is {s.id!r}, not {args.get('cabinet')!r}")
        if not isinstance(key, str) or not key:
            raise CommandArgumentError("key is required")
        if not isinstance(holder, str) or not holder.strip() or len(holder) > _MAX_HOLDER:
            raise CommandArgumentError(f"holder is required (at most {_MAX_HOLDER} characters)")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                    or not 0 < seconds <= s.release_s):
            raise CommandArgumentError(f"seconds must be a number in (0, {s.release_s:g}]")
        return self._on_worker(lambda m: m.remote_release(
            key, holder=holder.strip(), by=cmd.issued_by, cmd_id=cmd.cmd_id, seconds=seconds),
            what=f"release of {key}")

    def _on_worker(self, fn: Callable[[CabinetMachine], list[Event]], *, what: str,
                   timeout_s: float = 5.0) -> dict[str, Any]:
        """Run ``fn(machine)`` on the worker thread (which owns the machine and the I/O) and wait
        for it; :class:`ReleaseRefused` becomes :class:`CommandArgumentError`."""
        done = threading.Event()
        box: dict[str, Any] = {}

        def call(failed: Exception | None = None) -> list[Event]:
            if failed is not None:             # the outputs could not be applied
                box.pop("events", None)
                box["error"] = failed
                return []
            try:
                assert self.machine is not None
                box["events"] = fn(self.machine)
                return box["events"]
            except Exception as exc:  # noqa: BLE001 - handed back to the command thread
                box["error"] = exc
                return []

        with self._cond:
            if self._stopping or self._thread is None:
                raise CommandArgumentError(f"cabinet {self.settings.id} is not running")
            self._calls.append((call, done))
            self._cond.notify_all()
        if not done.wait(timeout_s):
            raise CabinetError(f"cabinet {self.settings.id}: the worker did not carry out the {what} "
                               f"within {timeout_s:g} s")
        error = box.get("error")
        if error is None and "events" not in box:
            raise CabinetIOError(f"cabinet {self.settings.id}: I/O fault: the {what} was not "
                                 f"carried out")
        if isinstance(error, ReleaseRefused):
            raise CommandArgumentError(str(error))
        if error is not None:
            raise error
        return {"cabinet": self.settings.id, "events": [e["kind"] for e in box["events"]]}

    # -- key-permissions sync (bridge thread) ---------------------------------------------------

    def _on_snapshot(self, snapshot: SyncSnapshot) -> None:
        s = self.settings
        current = self._permissions.version if self._permissions is not None else None
        if current and snapshot.version <= current:
            self._counters.incr("snapshots_ignored")
            return
        try:
            permissions = KeyPermissions.from_snapshot(snapshot, cabinet=s.id,
                                                       slots=[w.slot for w in s.slots])
        except KeyPermissionError as exc:
            self._counters.incr("snapshot_errors")
            log.error("cabinet %s: key-permissions v%d refused: %s", s.id, snapshot.version, exc)
            return
        try:
            self.cache.offer(snapshot)
        except AccessError:
            self._counters.incr("cache_errors")
            log.exception("cabinet %s: key-permissions v%d not cached (used anyway)", s.id,
                          snapshot.version)
        with self._cond:
            self._permissions = permissions
            self._new_permissions = permissions     # the worker swaps it in
            self._cond.notify_all()
        self._counters.incr("snapshots_applied")
        log.info("cabinet %s: key-permissions v%d: %d keys, %d cards, %d problems", s.id,
                 permissions.version, len(permissions.keys), len(permissions), len(permissions.rejected))


def _fault_reason(exc: Exception) -> str:
    """A word for an I/O error: ``timeout``, ``crc``, ``exception`` (the module answered with
    an exception response), ``modbus`` (refused connection, closed port...), ``gpio`` or
    ``error``. Told by class name so a GPIO node never imports pymodbus."""
    names = {c.__name__ for c in type(exc).__mro__}
    if "ModbusTimeout" in names:
        return "timeout"
    if "ModbusCrcError" in names:
        return "crc"
    if "ModbusError" in names:
        return "exception" if getattr(exc, "exception_code", None) is not None else "modbus"
    if "CabinetIOError" in names:
        return "gpio"
    return "error"


def _quietly(what: str, fn: Any) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - stop() must get through every step
        log.exception("cabinet: stopping %s failed", what)
