"""GPIO inputs and relay outputs through gpiozero, with the pin factory always injected.

Every device takes ``pin_factory=`` (from :func:`make_pin_factory`): a node builds one factory
from its hardware profile, tests pass a ``gpiozero.pins.mock.MockFactory``. Nothing here touches
gpiozero's global default factory.

Like gpiozero devices (which they wrap), :class:`DigitalInput` and :class:`Relay` claim their pin
when constructed. For a relay that is deliberate: constructing it *is* putting the output into its
declared safe state, which a node does at boot before any network activity.

Pins are named as gpiozero names them: ``17``, ``"GPIO17"``, ``"BCM17"``, ``"BOARD11"``.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from typing import Callable, Literal

from gpiozero import DigitalInputDevice, DigitalOutputDevice, GPIOZeroError
from gpiozero.pins import Factory

from hardware.errors import HardwareError, PinConfigError

log = logging.getLogger(__name__)

PinName = int | str

_REAL_FACTORIES = {
    "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory"),
    "rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory"),
    "native": ("gpiozero.pins.native", "NativeFactory"),
}


def make_pin_factory(kind: str) -> Factory:
    """A gpiozero pin factory: ``"mock"`` (``MockFactory``, for tests and the demo), or one of
    the real ones, ``"lgpio"`` (Raspberry Pi OS bookworm, Pi 5), ``"rpigpio"``, ``"native"``,
    imported only when asked for (they work only on a Raspberry Pi).

    Raises :class:`PinConfigError` for an unknown kind or a factory that cannot start here."""
    kind = kind.strip().lower()
    if kind == "mock":
        from gpiozero.pins.mock import MockFactory
        return MockFactory()
    if kind not in _REAL_FACTORIES:
        raise PinConfigError(f"unknown pin factory {kind!r}; use mock, {', '.join(_REAL_FACTORIES)}")
    module_name, class_name = _REAL_FACTORIES[kind]
    try:
        return getattr(importlib.import_module(module_name), class_name)()
    except Exception as exc:  # noqa: BLE001 - ImportError off a Pi, GPIOZeroError/OSError without /dev/gpio*
        raise PinConfigError(f"pin factory {kind!r} is not available on this machine: {exc}") from exc


class DigitalInput:
    """A debounced on/off input: door contact, exit button, call button, tamper, key-present.

    - ``pin``: gpiozero pin name; ``name``: the input's name, passed to ``on_change`` and logs;
    - ``pin_factory``: the gpiozero factory (required);
    - ``pull_up``: True (default) = internal pull-up, the input is active when pulled low (a switch
      to ground); False = pull-down, active high; None = floating, then ``active_state`` is
      required (True: active when high);
    - ``bounce_s``: debounce time in seconds (default 0.02; None for none);
    - ``on_change(name, active)``: called on every change, in gpiozero's pin thread (synchronously
      under ``MockFactory``); its exceptions are logged and counted (``callback_errors``).

    Claims the pin at construction (see the module note). Raises :class:`PinConfigError` for a bad
    pin or options.
    """

    def __init__(self, pin: PinName, *, name: str, pin_factory: Factory, pull_up: bool | None = True,
                 active_state: bool | None = None, bounce_s: float | None = 0.02,
                 on_change: Callable[[str, bool], None] | None = None) -> None:
        self.name = name
        self._on_change = on_change
        self._counts = {"changes": 0, "callback_errors": 0}
        self._closed = False
        try:
            self._device = DigitalInputDevice(pin, pull_up=pull_up, active_state=active_state,
                                              bounce_time=bounce_s, pin_factory=pin_factory)
        except GPIOZeroError as exc:
            raise PinConfigError(f"input {name} on pin {pin}: {exc}") from exc
        self._device.when_activated = lambda: self._changed(True)
        self._device.when_deactivated = lambda: self._changed(False)

    @property
    def active(self) -> bool:
        """True while the input is in its active state (button pressed, contact closed...)."""
        self._check_open()
        return bool(self._device.is_active)

    @property
    def pin(self) -> str:
        """The pin's name, e.g. ``"GPIO17"``."""
        self._check_open()
        return str(self._device.pin)

    @property
    def counters(self) -> dict[str, int]:
        """A copy of the counters: ``changes``, ``callback_errors``."""
        return dict(self._counts)

    def _changed(self, active: bool) -> None:
        self._counts["changes"] += 1
        if self._on_change is None:
            return
        try:
            self._on_change(self.name, active)
        except Exception:  # noqa: BLE001 - a callback never breaks the input
            self._counts["callback_errors"] += 1
            log.exception("input %s: on_change callback failed", self.name)

    def _check_open(self) -> None:
        if self._closed:
            raise HardwareError(f"input {self.name} is closed")

    def close(self) -> None:
        """Stop calling ``on_change`` and release the pin. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._device.when_activated = None
        self._device.when_deactivated = None
        self._device.close()

    def __enter__(self) -> "DigitalInput":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"pin={self._device.pin}, active={self.active}"
        return f"<DigitalInput {self.name} {state}>"


class Relay:
    """A relay driving a door strike, maglock, gate motor contact or slot solenoid.

    - ``pin``: gpiozero pin name; ``name``: the relay's name for logs;
    - ``pin_factory``: the gpiozero factory (required);
    - ``active_high``: True (default) if a high pin energises the coil (most relay boards with a
      transistor driver); False for active-low boards (many opto-isolated modules);
    - ``safe_state``: the coil state the door must be in at boot, on release and on close:
      ``"off"`` (default: a fail-secure strike, locked when unpowered) or ``"on"`` (a maglock kept
      energised, i.e. locked, while the system runs);
    - ``clock``: seconds, monotonic (default ``time.monotonic``), for pulse deadlines.

    Constructing it claims the pin and drives it straight into the safe state (gpiozero sets the
    level as it switches the pin to output, so there is no glitch). "Actuating" means leaving the
    safe state (unlocking): :meth:`actuate` holds it, :meth:`pulse` does it for a time,
    :meth:`release` goes back. :meth:`energise` drives the coil on whatever the safe state.
    Thread-safe.
    """

    def __init__(self, pin: PinName, *, name: str, pin_factory: Factory, active_high: bool = True,
                 safe_state: Literal["off", "on"] = "off",
                 clock: Callable[[], float] = time.monotonic) -> None:
        if safe_state not in ("off", "on"):
            raise PinConfigError(f"relay {name}: safe_state must be 'off' or 'on', got {safe_state!r}")
        self.name = name
        self.safe_state = safe_state
        self._safe_energised = safe_state == "on"
        self._clock = clock
        self._cond = threading.Condition()
        self._timer: threading.Timer | None = None
        self._generation = 0
        self._deadline: float | None = None
        self._held = False
        self._closed = False
        try:
            self._device = DigitalOutputDevice(pin, active_high=active_high,
                                               initial_value=self._safe_energised,
                                               pin_factory=pin_factory)
        except GPIOZeroError as exc:
            raise PinConfigError(f"relay {name} on pin {pin}: {exc}") from exc

    # -- state ----------------------------------------------------------------------------------

    @property
    def is_energised(self) -> bool:
        """True while the coil is driven."""
        with self._cond:
            self._check_open()
            return bool(self._device.value)

    @property
    def is_safe(self) -> bool:
        """True while the relay is in its declared safe state (always true once closed)."""
        with self._cond:
            return self._closed or bool(self._device.value) == self._safe_energised

    @property
    def pulse_deadline(self) -> float | None:
        """When (on the injected clock, seconds) the running pulse returns the relay to its safe
        state; None if no pulse is running."""
        with self._cond:
            return self._deadline

    @property
    def pin(self) -> str:
        """The pin's name, e.g. ``"GPIO18"``."""
        with self._cond:
            self._check_open()
            return str(self._device.pin)

    # -- commands -------------------------------------------------------------------------------

    def actuate(self) -> None:
        """Leave the safe state and stay out of it until :meth:`release` (e.g. hold a door open
        during a fire alarm). Cancels a running pulse."""
        with self._cond:
            self._check_open()
            self._cancel_pulse()
            self._held = True
            self._drive(not self._safe_energised)

    def energise(self) -> None:
        """Drive the coil on until :meth:`release`. Cancels a running pulse. With ``safe_state="on"``
        this is the safe state itself."""
        with self._cond:
            self._check_open()
            self._cancel_pulse()
            self._held = not self._safe_energised
            self._drive(True)

    def release(self) -> None:
        """Return to the safe state now (cancels a pulse or a hold)."""
        with self._cond:
            self._check_open()
            self._cancel_pulse()
            self._held = False
            self._drive(self._safe_energised)

    def pulse(self, seconds: float) -> None:
        """Leave the safe state for ``seconds`` (> 0) without blocking; a timer thread returns the
        relay to its safe state. A pulse while another runs extends it to whichever ends later
        (it never shortens it). While the relay is held (:meth:`actuate`), the pulse is absorbed:
        it stays held until :meth:`release`."""
        if not seconds > 0:
            raise HardwareError(f"relay {self.name}: pulse length must be > 0 s, got {seconds}")
        with self._cond:
            self._check_open()
            if self._held:
                return
            now = self._clock()
            deadline = now + seconds
            if self._deadline is not None and self._deadline >= deadline:
                return
            self._cancel_pulse()
            self._deadline = deadline
            self._timer = threading.Timer(seconds, self._pulse_ended, args=(self._generation,))
            self._timer.daemon = True
            self._timer.name = f"relay-{self.name}-pulse"
            self._drive(not self._safe_energised)
            self._timer.start()

    def wait_safe(self, *, timeout_s: float) -> bool:
        """Block until the relay is in its safe state (e.g. a pulse has ended); False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._closed or bool(self._device.value) == self._safe_energised, timeout_s)

    def close(self) -> None:
        """Return to the safe state, then release the pin (gpiozero makes it an input again, so
        the relay board's own pull resistor holds the coil). Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._cancel_pulse()
            self._held = False
            self._drive(self._safe_energised)
            self._closed = True
            self._device.close()
            self._cond.notify_all()

    def __enter__(self) -> "Relay":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return f"<Relay {self.name} closed>"
        return (f"<Relay {self.name} pin={self._device.pin} safe_state={self.safe_state} "
                f"energised={bool(self._device.value)}>")

    # -- internals (called with the lock held) ----------------------------------------------------

    def _drive(self, energised: bool) -> None:
        if energised:
            self._device.on()
        else:
            self._device.off()
        self._cond.notify_all()

    def _cancel_pulse(self) -> None:
        self._generation += 1
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _pulse_ended(self, generation: int) -> None:
        with self._cond:
            if self._closed or generation != self._generation:
                return  # cancelled or superseded by a release/hold/longer pulse
            self._timer = None
            self._deadline = None
            self._drive(self._safe_energised)

    def _check_open(self) -> None:
        if self._closed:
            raise HardwareError(f"relay {self.name} is closed")
