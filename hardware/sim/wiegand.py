"""A Wiegand reader and keypad as seen from the two data lines: real pulse trains on mock pins.

:class:`WiegandSimulator` drives ``drive_low()`` / ``drive_high()`` on the D0/D1 pins of a
``MockFactory``, one low pulse per bit. Nothing here sleeps. On a :class:`SimFactory`, the pins'
edge timestamps come from a :class:`SimTicks` the simulator advances by the pulse widths and
intervals of a real reader, so a test is as fast as the CPU and fully deterministic, yet the
reader sees exactly the edge timing of the wire (50 µs pulses every 2 ms by default, or jittered
across the SIA range). On a plain ``MockFactory`` (monotonic ticks) the pulses go out back to
back and the frame ends after real silence.

Usage::

    factory = SimFactory()
    with WiegandReader(5, 6, name="lobby-in", pin_factory=factory, on_card=...) as reader:
        sim = WiegandSimulator(factory, 5, 6)
        sim.present_card(123, 4567)          # 26 bits, then 100 ms of silence
        sim.press_keys("1234#")              # 8-bit key codes
"""

from __future__ import annotations

import random
import threading

from gpiozero.pins.mock import MockFactory, MockPin, PinState

from hardware.errors import PinConfigError
from hardware.readers.wiegand import encode_card, encode_key

#: Pulse width and interval (start to start) of a typical reader, µs.
PULSE_US = 50
INTERVAL_US = 2_000
#: The SIA timing range readers stay within, µs (for jittered tests).
SIA_PULSE_US = (20, 100)
SIA_INTERVAL_US = (200, 20_000)
#: Silence after each frame or key by default, µs: well over any end-of-frame gap.
IDLE_AFTER_US = 100_000


class SimTicks:
    """A tick source a test or simulator moves by hand: integer nanoseconds, read in seconds
    (as gpiozero's lgpio factory reports its hardware timestamps). Thread-safe."""

    def __init__(self, start_s: float = 1000.0) -> None:
        self._ns = round(start_s * 1_000_000_000)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """The current tick, seconds."""
        with self._lock:
            return self._ns / 1_000_000_000

    def advance_us(self, us: int | float) -> None:
        """Move the ticks ``us`` microseconds (>= 0) forward."""
        if us < 0:
            raise ValueError(f"ticks only move forward, got {us} µs")
        with self._lock:
            self._ns += round(us * 1000)


class SimPin(MockPin):
    """A ``MockPin`` whose edges are stamped with its factory's ticks (``MockPin`` stamps them
    with ``time.monotonic`` whatever the factory says)."""

    def _change_state(self, value: bool) -> bool:
        if self._state != value:
            t = self.factory.ticks()
            self._state = value
            self.states.append(PinState(t - self._last_change, value))
            self._last_change = t
            return True
        return False

    def clear_states(self) -> None:
        self._last_change = self.factory.ticks()
        self.states = [PinState(0.0, self._state)]


class SimFactory(MockFactory):
    """A ``MockFactory`` whose ticks (and so its pins' edge timestamps) are a :class:`SimTicks`
    (``sim_ticks``; a fresh one by default)."""

    def __init__(self, ticks: SimTicks | None = None, *, revision: str | None = None) -> None:
        self.sim_ticks = ticks if ticks is not None else SimTicks()
        super().__init__(revision=revision, pin_class=SimPin)

    def ticks(self) -> float:  # type: ignore[override]  # MockFactory's is a staticmethod
        return self.sim_ticks()

    @staticmethod
    def ticks_diff(later: float, earlier: float) -> float:
        return later - earlier


class WiegandSimulator:
    """Send Wiegand frames on the ``d0``/``d1`` input pins of ``factory``.

    - ``pulse_us``: low-pulse width, µs (default 50), or a ``(low, high)`` range drawn per bit;
    - ``interval_us``: pulse start to next pulse start, µs (default 2,000), or a range;
    - ``idle_after_us``: silence after each frame (default 100,000 µs), so the reader's
      end-of-frame gap passes;
    - ``rng``: the random source for ranges (seed it for a repeatable test; default seed 0).

    Time only moves on a :class:`SimFactory` (through its ``sim_ticks``); on a plain
    ``MockFactory`` the pulses are sent back to back in real time.
    The pins must be inputs (a reader started on them)."""

    def __init__(self, factory: MockFactory, d0: int | str, d1: int | str, *,
                 pulse_us: int | tuple[int, int] = PULSE_US,
                 interval_us: int | tuple[int, int] = INTERVAL_US,
                 idle_after_us: int = IDLE_AFTER_US,
                 rng: random.Random | None = None) -> None:
        self._factory = factory
        self._d0, self._d1 = d0, d1
        self._pulse_us = pulse_us
        self._interval_us = interval_us
        self._idle_after_us = idle_after_us
        self._rng = rng if rng is not None else random.Random(0)
        self._ticks: SimTicks | None = getattr(factory, "sim_ticks", None)

    # -- what a reader sends ---------------------------------------------------------------------

    def present_card(self, facility: int, number: int, *, bits: int = 26) -> str:
        """A card read: the 26-bit (H10301) or 34-bit frame with correct parities, then the idle
        silence. Returns the bits sent."""
        frame = encode_card(facility, number, bits=bits)
        self.send_bits(frame)
        return frame

    def press_keys(self, keys: str, *, bits: int = 8) -> None:
        """Keys pressed one after another (``"0"``-``"9"``, ``"*"``, ``"#"``), each its own 4-bit or
        8-bit frame followed by the idle silence."""
        for key in keys:
            self.send_bits(encode_key(key, bits=bits))

    def send_bits(self, bits: str, *, idle_after: bool = True) -> None:
        """Any bit string (``"0"``/``"1"``, first bit first): corrupted frames, half frames,
        noise. ``idle_after=False`` leaves the lines quiet for only one bit interval, so the
        next call continues the same frame."""
        if any(b not in "01" for b in bits):
            raise ValueError(f"bits must be '0'/'1' characters, got {bits!r}")
        lines = (self._pin(self._d0), self._pin(self._d1))
        rest = 0                                  # µs from the end of a pulse to the next start
        for i, bit in enumerate(bits):
            if i:
                self._advance(rest)
            pulse = self._draw(self._pulse_us)
            rest = max(self._draw(self._interval_us) - pulse, 1)
            pin = lines[int(bit)]
            pin.drive_low()
            self._advance(pulse)
            pin.drive_high()
        if idle_after:
            self.idle(self._idle_after_us)
        elif bits:
            self._advance(rest)

    def idle(self, us: int) -> None:
        """Lines quiet for ``us`` microseconds (only moves :class:`SimTicks`)."""
        self._advance(us)

    # -- internals -------------------------------------------------------------------------------

    def _pin(self, name: int | str) -> MockPin:
        pin = self._factory.pin(name)
        if pin.function != "input":
            raise PinConfigError(f"pin {name} is not an input; start the reader first")
        return pin

    def _draw(self, spec: int | tuple[int, int]) -> int:
        if isinstance(spec, tuple):
            return self._rng.randint(*spec)
        return spec

    def _advance(self, us: int) -> None:
        if self._ticks is not None and us > 0:
            self._ticks.advance_us(us)
