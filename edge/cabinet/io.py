"""The cabinet's wires: a door lock + door contact and, per slot, a solenoid lock + key-present
input, on GPIO (:class:`GpioCabinetIO`) or on a Modbus RTU/TCP I/O module (coils + discrete
inputs, :class:`ModbusCabinetIO`).

Both have the same small interface: :meth:`open` (every output locked: called first, before
anything else), :meth:`apply` (door unlocked?, released slots; may skip outputs already in that
state), :meth:`refresh` (the same, but every output written again, changed or not: the periodic
re-assert that finds a module which stopped taking writes), :meth:`read` (door open?, slot ->
key present), :meth:`close` (everything locked again, idempotent). A released slot / unlocked
door is an *energised* output: fail-secure solenoids, locked when unpowered.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol

from .errors import CabinetIOError

__all__ = ["CabinetIO", "SlotWiring", "GpioCabinetIO", "ModbusCabinetIO"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlotWiring:
    """Slot ``slot``: its ``lock`` output and ``present`` input (GPIO pin names, or coil and
    discrete-input addresses on a Modbus module)."""

    slot: int
    lock: int | str
    present: int | str


class CabinetIO(Protocol):
    description: str

    def open(self) -> list[str]: ...

    def apply(self, door_unlocked: bool, released: frozenset[int]) -> None: ...

    def refresh(self, door_unlocked: bool, released: frozenset[int]) -> None: ...

    def read(self) -> tuple[bool, dict[int, bool]]: ...

    def close(self) -> None: ...


class GpioCabinetIO:
    """Door and slots on GPIO through :mod:`hardware.gpio`.

    ``door_lock`` / ``door_contact``: pins; ``slots``: :class:`SlotWiring` with pins;
    ``pin_factory``: the gpiozero factory; ``active_high``: outputs; ``pull_up``: inputs (default
    True: active when pulled low); ``contact_invert`` (default False: an *active* contact means
    the door is open); ``present_invert`` (default False: an active switch means a key is in)."""

    def __init__(self, *, door_lock: int | str, door_contact: int | str, slots: Iterable[SlotWiring],
                 pin_factory: Any, active_high: bool = True, pull_up: bool = True,
                 contact_invert: bool = False, present_invert: bool = False) -> None:
        self.door_lock, self.door_contact = door_lock, door_contact
        self.slots = tuple(slots)
        self.factory = pin_factory
        self.active_high, self.pull_up = active_high, pull_up
        self.contact_invert, self.present_invert = contact_invert, present_invert
        self.description = "gpio"
        self.lock_relay: Any = None
        self.slot_relays: dict[int, Any] = {}
        self.contact: Any = None
        self.present_inputs: dict[int, Any] = {}
        self.on_change: Callable[[], None] | None = None

    def open(self) -> list[str]:
        from hardware.gpio import DigitalInput, Relay
        if self.lock_relay is not None:     # opened before: a retry after an I/O fault
            self.apply(False, frozenset())
            return [f"cabinet slot {s.slot} solenoid: locked" for s in self.slots] + \
                ["cabinet door: locked"]
        for s in self.slots:       # slot solenoids first: locked before anything else
            self.slot_relays[s.slot] = Relay(s.lock, name=f"slot-{s.slot}", pin_factory=self.factory,
                                             active_high=self.active_high, safe_state="off")
        self.lock_relay = Relay(self.door_lock, name="cabinet-door", pin_factory=self.factory,
                                active_high=self.active_high, safe_state="off")
        self.contact = DigitalInput(self.door_contact, name="cabinet-contact", pin_factory=self.factory,
                                    pull_up=self.pull_up, bounce_s=None, on_change=self._changed)
        for s in self.slots:
            self.present_inputs[s.slot] = DigitalInput(s.present, name=f"slot-{s.slot}-present",
                                                       pin_factory=self.factory, pull_up=self.pull_up,
                                                       bounce_s=None, on_change=self._changed)
        return [f"cabinet slot {s.slot} solenoid: locked" for s in self.slots] + ["cabinet door: locked"]

    def _changed(self, name: str, active: bool) -> None:
        if self.on_change is not None:
            self.on_change()

    def apply(self, door_unlocked: bool, released: frozenset[int]) -> None:
        """Drive every output; a slot whose relay fails does not stop the others. Raises
        :class:`~edge.cabinet.errors.CabinetIOError` naming the failed slots (None: the door)."""
        failed: list[int] = []
        for slot, relay in self.slot_relays.items():
            try:
                relay.actuate() if slot in released else relay.release()
            except Exception:  # noqa: BLE001 - named in the CabinetIOError below
                failed.append(slot)
        try:
            self.lock_relay.actuate() if door_unlocked else self.lock_relay.release()
        except Exception as exc:
            raise CabinetIOError(f"cabinet door lock: {exc}") from exc
        if failed:
            raise CabinetIOError(f"slot solenoid(s) {failed} could not be driven", slots=failed)

    def refresh(self, door_unlocked: bool, released: frozenset[int]) -> None:
        """Drive every output again: :meth:`apply` already drives every pin on each call."""
        self.apply(door_unlocked, released)

    def read(self) -> tuple[bool, dict[int, bool]]:
        """Door open?, slot -> key present. Raises :class:`~edge.cabinet.errors.CabinetIOError`
        naming the slots whose input could not be read (None: the door contact)."""
        try:
            door = self.contact.active != self.contact_invert
        except Exception as exc:
            raise CabinetIOError(f"cabinet door contact: {exc}") from exc
        present: dict[int, bool] = {}
        failed: list[int] = []
        for slot, i in self.present_inputs.items():
            try:
                present[slot] = i.active != self.present_invert
            except Exception:  # noqa: BLE001 - named in the CabinetIOError below
                failed.append(slot)
        if failed:
            raise CabinetIOError(f"key-present input(s) of slot(s) {failed} could not be read",
                                 slots=failed)
        return door, present

    def close(self) -> None:
        for relay in [*self.slot_relays.values(), self.lock_relay]:
            if relay is not None:
                relay.close()
        for device in [self.contact, *self.present_inputs.values()]:
            if device is not None:
                device.close()
        self.slot_relays, self.present_inputs = {}, {}
        self.lock_relay = self.contact = None


class ModbusCabinetIO:
    """Door and slots on a Modbus I/O module: outputs are coils, inputs discrete inputs.

    ``bus_factory()``: makes a :class:`hardware.modbus.ModbusBus` (not opened). A pymodbus bus
    belongs to one thread, so this keeps one bus per calling thread: the first call from a new
    thread closes the old bus and opens a fresh one. ``slave``: the module's unit id. Coils are
    written only when they change (all of them after an error, and on :meth:`refresh`). Inputs
    are read in one request spanning the lowest to the highest address used. Raises :class:`hardware.modbus.ModbusError`."""

    def __init__(self, *, bus_factory: Callable[[], Any], slave: int, door_lock: int,
                 door_contact: int, slots: Iterable[SlotWiring], contact_invert: bool = False,
                 present_invert: bool = False, description: str = "modbus") -> None:
        self.bus_factory = bus_factory
        self.slave = slave
        self.door_lock, self.door_contact = int(door_lock), int(door_contact)
        self.slots = tuple(slots)
        self.contact_invert, self.present_invert = contact_invert, present_invert
        self.description = description
        self._bus: Any = None
        self._bus_thread: int | None = None
        self._written: dict[int, bool] = {}
        addresses = [self.door_contact] + [int(s.present) for s in self.slots]
        self._first_input = min(addresses)
        self._input_count = max(addresses) - self._first_input + 1

    def _get_bus(self) -> Any:
        me = threading.get_ident()
        if self._bus is None or self._bus_thread != me:
            if self._bus is not None:
                self._bus.close()
            self._bus = self.bus_factory().open()
            self._bus_thread = me
            self._written = {}
        return self._bus

    def _coils(self, door_unlocked: bool, released: frozenset[int]) -> dict[int, bool]:
        coils = {int(s.lock): s.slot in released for s in self.slots}
        coils[self.door_lock] = door_unlocked
        return coils

    def open(self) -> list[str]:
        """Write every coil off (all of them, whatever was written before: also a retry's proof
        that the module takes writes again)."""
        self._written = {}
        self.apply(False, frozenset())
        return [f"cabinet slot {s.slot} solenoid (coil {s.lock}): locked" for s in self.slots] + \
            [f"cabinet door (coil {self.door_lock}): locked"]

    def apply(self, door_unlocked: bool, released: frozenset[int]) -> None:
        bus = self._get_bus()
        try:
            for address, value in self._coils(door_unlocked, released).items():
                if self._written.get(address) != value:
                    bus.write_coil(address, value, slave=self.slave)
                    self._written[address] = value
        except Exception:
            self._written = {}
            raise

    def refresh(self, door_unlocked: bool, released: frozenset[int]) -> None:
        """Write every coil again, changed or not (one write per coil)."""
        self._written = {}
        self.apply(door_unlocked, released)

    def read(self) -> tuple[bool, dict[int, bool]]:
        bits = self._get_bus().read_discrete_inputs(self._first_input, self._input_count, slave=self.slave)
        at = lambda a: bool(bits[int(a) - self._first_input])  # noqa: E731
        return (at(self.door_contact) != self.contact_invert,
                {s.slot: at(s.present) != self.present_invert for s in self.slots})

    def close(self) -> None:
        """Lock everything (best effort) and close the bus. Idempotent."""
        if self._bus_thread is None and self._bus is None:
            return
        try:
            self._written = {}
            self.apply(False, frozenset())
        except Exception:  # noqa: BLE001 - the module may be gone; its own power-up locks
            log.exception("cabinet %s: could not lock the coils on close", self.description)
        if self._bus is not None:
            self._bus.close()
        self._bus = None
        self._bus_thread = None
