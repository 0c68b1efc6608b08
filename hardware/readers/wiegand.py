"""Wiegand card readers and keypads on two GPIO inputs (D0, D1).

The wire: both lines idle high; each bit is a low pulse (about 50 µs, 20-100 µs in the field) on
D0 for a 0 or on D1 for a 1, one pulse every 2 ms (0.2-20 ms), most significant bit first. A frame
ends when the lines stay quiet. Formats decoded here:

- 26 bits, H10301: ``P | 8-bit facility | 16-bit card number | P``; the first bit is even parity
  over bits 1-12, the last bit odd parity over bits 13-24;
- 34 bits: ``P | 16-bit facility | 16-bit card number | P``; even parity over bits 1-16, odd
  parity over bits 17-32;
- 4-bit keypad codes: the key itself (0-9, 10 = ``*``, 11 = ``#``);
- 8-bit keypad codes: the key in the low nibble, its complement in the high nibble.

Two layers, as for the RDM6300:

- :class:`WiegandDecoder` (pure, no I/O, no clock of its own) is fed the falling edges with *their
  own* timestamps (µs) and closes a frame when the next edge, or :meth:`~WiegandDecoder.poll`'s
  ``now``, is more than the gap after the frame's last edge. A late Python callback therefore
  never splits or merges frames: only the edges' timestamps count.
- :class:`WiegandReader` claims the two pins from an injected gpiozero pin factory, takes the
  edges from pin-level ``when_changed(ticks, state)`` callbacks (the factory's ticks: hardware
  timestamps from lgpio alerts on a Pi, ``time.monotonic`` under ``MockFactory``) and runs one
  small thread that closes frames on silence and calls ``on_card`` / ``on_key`` / ``on_error``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from gpiozero import GPIOZeroError
from gpiozero.pins import Factory

from hardware.errors import FrameError, HardwareError, PinConfigError
from hardware.readers.card import CardRead

log = logging.getLogger(__name__)

#: Default end-of-frame silence, seconds: longer than the slowest bit interval in the SIA range
#: (20 ms), shorter than the time between two key presses.
DEFAULT_GAP_S = 0.025
#: Default for readers: a complete card frame (26/34 bits, parities right) ends after this many
#: of its own bit intervals of silence; everything else after the gap (see WiegandDecoder).
DEFAULT_EOF_INTERVALS = 2.0
#: A frame longer than this is line noise; the rest of it is dropped (and counted once).
MAX_BITS = 64
#: The reader thread wakes this long after an open frame's end-of-frame deadline (seconds).
WAKE_MARGIN_S = 0.00005
#: Key codes: 0-9 are digits, then these two.
KEY_STAR = 10
KEY_HASH = 11
KEY_CHARS = "0123456789*#"

PinName = int | str


# -- frames and their parts --------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class WiegandCard:
    """A card frame with both parities right.

    - ``bits``: the frame length (26 or 34); ``raw``: the whole frame, parity bits included, as
      an int (bit ``bits-1`` is the first bit received);
    - ``facility``, ``number``: the facility code and card number;
    - ``last_edge_us``: timestamp of the frame's last edge (µs, the decoder's time base);
    - ``closed_us``: the time (same base) at which the frame was recognised as ended.
    """

    bits: int
    raw: int
    facility: int
    number: int
    last_edge_us: int
    closed_us: int

    @property
    def format(self) -> str:
        """``"wiegand26"`` or ``"wiegand34"``."""
        return f"wiegand{self.bits}"

    @property
    def card(self) -> str:
        """The raw frame as upper-case hex, zero-padded to the frame's width (7 or 9 digits)."""
        return f"{self.raw:0{(self.bits + 3) // 4}X}"

    @property
    def bit_string(self) -> str:
        """The frame as ``"0"``/``"1"`` characters, first bit first."""
        return format(self.raw, f"0{self.bits}b")


@dataclass(frozen=True, kw_only=True)
class WiegandKey:
    """A key pressed on a Wiegand keypad: ``key`` 0-9, 10 (``*``) or 11 (``#``); ``bits`` is the
    code's length (4 or 8); times as in :class:`WiegandCard`."""

    key: int
    bits: int
    last_edge_us: int
    closed_us: int

    @property
    def char(self) -> str:
        """The key as printed: ``"0"``-``"9"``, ``"*"``, ``"#"``."""
        return KEY_CHARS[self.key]


class WiegandFrameError(FrameError):
    """A Wiegand frame that could not be used (returned by the decoder, not raised).

    ``reason``: ``"parity"`` (a parity bit, or an 8-bit key's complement nibble, is wrong),
    ``"bad_length"`` (a half frame, a frame cut by a reader being unplugged, noise: any length
    other than 4, 8, 26, 34), ``"unknown_key"`` (a valid 4/8-bit code above 11).
    ``bits`` holds the frame as ``"0"``/``"1"`` characters (also in ``raw``, ASCII)."""

    def __init__(self, reason: str, message: str, bits: str) -> None:
        super().__init__(reason, message, bits.encode("ascii"))
        self.bits = bits


WiegandItem = WiegandCard | WiegandKey | WiegandFrameError


def _parity(value: int) -> int:
    return value.bit_count() & 1


def _card_parities(count: int, value: int) -> tuple[bool, bool]:
    """Whether a 26/34-bit frame's leading (even, over P + first half) and trailing (odd, over
    second half + P) parities are right."""
    half = (count - 2) // 2
    return _parity(value >> (half + 1)) == 0, _parity(value & ((1 << (half + 1)) - 1)) == 1


def encode_card(facility: int, number: int, *, bits: int = 26) -> str:
    """The bit string (``"0"``/``"1"``, first bit first) a reader sends for a card: H10301 26-bit
    (facility 0-255, number 0-65535) or 34-bit (facility 0-65535, number 0-65535), parities set.

    Raises :class:`FrameError` (reason ``"malformed"``) for a value out of range or another length."""
    fbits = {26: 8, 34: 16}.get(bits)
    if fbits is None:
        raise FrameError("malformed", f"Wiegand cards are 26 or 34 bits, not {bits}")
    if not 0 <= facility < (1 << fbits) or not 0 <= number < (1 << 16):
        raise FrameError("malformed", f"facility {facility} / number {number} do not fit {bits} bits")
    data = (facility << 16) | number
    half = (bits - 2) // 2
    first, second = data >> half, data & ((1 << half) - 1)
    even = _parity(first)            # makes the first half + P even
    odd = 1 - _parity(second)        # makes the second half + P odd
    return f"{even}{data:0{bits - 2}b}{odd}"


def encode_key(key: int | str, *, bits: int = 8) -> str:
    """The bit string a keypad sends for ``key`` (0-11, or one of ``"0"``-``"9"``, ``"*"``,
    ``"#"``) in 4-bit or 8-bit (complement nibble) mode."""
    code = KEY_CHARS.index(key) if isinstance(key, str) else key
    if not 0 <= code <= 15 or bits not in (4, 8):
        raise FrameError("malformed", f"no {bits}-bit key code for {key!r}")
    if bits == 4:
        return f"{code:04b}"
    return f"{(~code) & 0xF:04b}{code:04b}"


# -- the decoder -----------------------------------------------------------------------------

class WiegandDecoder:
    """Assemble Wiegand bits from timestamped falling edges and decode the frames. Pure.

    - ``gap_us``: a frame ends when no edge came for more than this (µs, default 25,000);
    - ``eof_intervals``: optional; end a *complete card frame* sooner: once the open frame is 26
      or 34 bits with both parities right, it ends after this many of its own longest bit
      interval of silence (at least ``min_gap_us``, default 1,000, never more than ``gap_us``).
      With 2.0 a 1 ms/bit reader's card is recognised 2 ms after its last edge instead of 25 ms.
      Anything else (a frame still short of 26 bits, 27-33 bits, a parity error, 4/8-bit key
      codes) still waits the full ``gap_us``, so a pause inside a frame (a slow reader, edges
      delivered late) never cuts it. The one frame it can cut: a 34-bit frame whose first 26
      bits happen to pass the 26-bit parities, if the reader pauses right after bit 26 for
      longer than ``eof_intervals`` intervals (readers send at a steady rate; the node's edges
      carry their own timestamps). Default None: always the fixed gap;
    - feed edges with :meth:`edge`, in arrival order, with their own timestamps;
    - call :meth:`poll` with the current time (same time base) to close a frame whose silence
      has lasted long enough; :meth:`flush` closes it whatever the time.

    Both return the items closed: :class:`WiegandCard`, :class:`WiegandKey`,
    :class:`WiegandFrameError`. Counters (attributes, and :attr:`counters`): ``frames`` (good card
    frames), ``keys`` (good key codes), ``parity_errors``, ``bad_length`` (half frames and other
    lengths), ``unknown_keys``, ``edges``. Not thread-safe: the reader serialises access.
    """

    def __init__(self, *, gap_us: int = int(DEFAULT_GAP_S * 1_000_000),
                 eof_intervals: float | None = None, min_gap_us: int = 1000) -> None:
        if gap_us <= 0:
            raise ValueError(f"gap must be > 0 µs, got {gap_us}")
        if eof_intervals is not None and (eof_intervals < 1 or not 0 < min_gap_us <= gap_us):
            raise ValueError("eof_intervals must be >= 1 and 0 < min_gap_us <= gap_us")
        self.gap_us = gap_us
        self.eof_intervals = eof_intervals
        self.min_gap_us = min_gap_us
        self._longest_us = 0
        self._value = 0
        self._count = 0
        self._last_us: int | None = None
        self.frames = 0
        self.keys = 0
        self.parity_errors = 0
        self.bad_length = 0
        self.unknown_keys = 0
        self.edges = 0

    @property
    def counters(self) -> dict[str, int]:
        """A copy of the counters."""
        return {"frames": self.frames, "keys": self.keys, "parity_errors": self.parity_errors,
                "bad_length": self.bad_length, "unknown_keys": self.unknown_keys,
                "edges": self.edges}

    @property
    def in_frame(self) -> bool:
        """True while bits have been received and the frame is not closed yet."""
        return self._last_us is not None

    @property
    def last_edge_us(self) -> int | None:
        """The timestamp of the open frame's last edge, None between frames."""
        return self._last_us

    def edge(self, line: int, tick_us: int) -> list[WiegandItem]:
        """A falling edge on D0 (``line`` 0: a 0 bit) or D1 (``line`` 1: a 1 bit) at ``tick_us``.

        If the open frame's last edge is more than the gap before ``tick_us``, that frame is
        closed first and returned; this edge starts the next one."""
        self.edges += 1
        out: list[WiegandItem] = []
        if self._last_us is not None:
            gap = self.current_gap_us
            if tick_us - self._last_us > gap:
                out.append(self._close(self._last_us + gap))
            else:
                self._longest_us = max(self._longest_us, tick_us - self._last_us)
        self._last_us = tick_us
        if self._count < MAX_BITS + 1:     # beyond that, only the length matters (bad_length)
            self._value = (self._value << 1) | (1 if line else 0)
        self._count += 1
        return out

    def poll(self, now_us: int) -> list[WiegandItem]:
        """Close the open frame if its last edge is more than the gap before ``now_us``."""
        if self._last_us is not None and now_us - self._last_us > self.current_gap_us:
            return [self._close(now_us)]
        return []

    @property
    def current_gap_us(self) -> int:
        """The silence (µs) that ends the open frame: ``gap_us``, or less with ``eof_intervals``
        once the open frame is a complete card frame (26 or 34 bits, parities right)."""
        if self.eof_intervals is None or not self.complete_card:
            return self.gap_us
        return min(self.gap_us, max(self.min_gap_us, round(self.eof_intervals * self._longest_us)))

    @property
    def complete_card(self) -> bool:
        """True while the open frame is 26 or 34 bits with both parities right (a card, unless
        more bits follow)."""
        return self._count in (26, 34) and _card_parities(self._count, self._value) == (True, True)

    @property
    def deadline_us(self) -> int | None:
        """The time after which :meth:`poll` closes the open frame (None between frames)."""
        return None if self._last_us is None else self._last_us + self.current_gap_us

    def flush(self, now_us: int | None = None) -> list[WiegandItem]:
        """Close the open frame now, however recent its last edge (e.g. at shutdown)."""
        if self._last_us is None:
            return []
        return [self._close(self._last_us if now_us is None else now_us)]

    def _close(self, closed_us: int) -> WiegandItem:
        count, value, last = self._count, self._value, self._last_us
        assert last is not None
        self._value, self._count, self._last_us, self._longest_us = 0, 0, None, 0
        bits = format(value, f"0{min(count, MAX_BITS + 1)}b") if count else ""
        if count in (26, 34):
            return self._card(count, value, bits, last, closed_us)
        if count in (4, 8):
            return self._key(count, value, bits, last, closed_us)
        self.bad_length += 1
        return WiegandFrameError("bad_length", f"{count}-bit frame (a half frame or noise)", bits)

    def _card(self, count: int, value: int, bits: str, last: int, closed: int) -> WiegandItem:
        data = (value >> 1) & ((1 << (count - 2)) - 1)
        leading_ok, trailing_ok = _card_parities(count, value)
        if not (leading_ok and trailing_ok):
            self.parity_errors += 1
            which = "odd (trailing)" if leading_ok else "even (leading)"
            return WiegandFrameError("parity", f"{count}-bit frame: {which} parity wrong", bits)
        self.frames += 1
        return WiegandCard(bits=count, raw=value, facility=data >> 16, number=data & 0xFFFF,
                           last_edge_us=last, closed_us=closed)

    def _key(self, count: int, value: int, bits: str, last: int, closed: int) -> WiegandItem:
        code = value & 0xF
        if count == 8 and (value >> 4) != (~code & 0xF):
            self.parity_errors += 1
            return WiegandFrameError("parity", "8-bit key code: high nibble is not the complement "
                                     "of the low nibble", bits)
        if code > KEY_HASH:
            self.unknown_keys += 1
            return WiegandFrameError("unknown_key", f"{count}-bit key code {code} is not 0-9, *, #",
                                     bits)
        self.keys += 1
        return WiegandKey(key=code, bits=count, last_edge_us=last, closed_us=closed)


# -- the reader ------------------------------------------------------------------------------

class WiegandReader:
    """A Wiegand reader (and/or keypad) on two GPIO inputs; calls back once per frame.

    - ``d0_pin``, ``d1_pin``: gpiozero pin names of the DATA0 / DATA1 lines (through a 5 V to
      3.3 V level shifter on a Pi); the pins get the internal pull-up, falling edges only;
    - ``name``: the reader's name, copied into every :class:`CardRead` and log line;
    - ``pin_factory``: the gpiozero factory (required); edges are timestamped with its ticks;
    - ``on_card(read)``: a :class:`CardRead` with ``format`` ``"wiegand26"``/``"wiegand34"``,
      ``facility``, ``number`` and ``card`` (the raw frame as hex);
    - ``on_key(reader_name, key)``: a keypad key, 0-9, 10 (``*``), 11 (``#``); optional;
    - ``on_error(error)``: each :class:`WiegandFrameError` (parity, bad length, unknown key);
      optional, errors are logged and counted anyway;
    - ``gap_s``: end-of-frame silence, seconds (default 0.025), measured between the edges'
      own timestamps and against the factory's ticks;
    - ``eof_intervals``: a complete card frame (26 or 34 bits, parities right) ends after this
      many of its own bit intervals of silence (default 2.0: 2 ms after the last edge at 1 ms
      per bit); key codes, short or odd frames still wait ``gap_s``; None: always ``gap_s``
      (see :class:`WiegandDecoder`);
    - ``poll_s``: while a frame is open, the longest the thread waits (seconds, wall time)
      before checking the silence again (default ``gap_s / 5``); with real ticks it wakes at the
      frame's deadline;
    - ``clock``: seconds, monotonic (default ``time.monotonic``), stamps :attr:`CardRead.at`.

    Callbacks run in the reader's own thread (never in the GPIO alert thread), in frame order;
    their exceptions are logged and counted (``callback_errors``). Constructing does no I/O:
    :meth:`start` claims the pins (raising :class:`PinConfigError` if they are in use or invalid)
    and starts the thread; :meth:`close` releases them. Context manager: ``with`` starts and closes.
    """

    def __init__(self, d0_pin: PinName, d1_pin: PinName, *, name: str, pin_factory: Factory,
                 on_card: Callable[[CardRead], None],
                 on_key: Callable[[str, int], None] | None = None,
                 on_error: Callable[[WiegandFrameError], None] | None = None,
                 gap_s: float = DEFAULT_GAP_S,
                 eof_intervals: float | None = DEFAULT_EOF_INTERVALS,
                 poll_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not gap_s > 0:
            raise HardwareError(f"reader {name}: gap_s must be > 0, got {gap_s}")
        self.name = name
        self._pins_wanted = (d0_pin, d1_pin)
        self._factory = pin_factory
        self._on_card, self._on_key, self._on_error = on_card, on_key, on_error
        self._poll_s = poll_s if poll_s is not None else max(gap_s / 5, 0.001)
        self._clock = clock
        try:
            self._decoder = WiegandDecoder(gap_us=round(gap_s * 1_000_000),
                                           eof_intervals=eof_intervals)
        except ValueError as exc:
            raise HardwareError(f"reader {name}: {exc}") from None
        self._cond = threading.Condition()
        self._pending: deque[WiegandItem] = deque()
        self._pins: list = []
        self._thread: threading.Thread | None = None
        self._stop = False
        self._closed = False
        self._counts = {"reads": 0, "callback_errors": 0}
        # a consistent copy, published after each batch is delivered: a waiter that sees a frame
        # counted knows its callback has run
        self._published = {**self._decoder.counters, **self._counts}
        # edge ticks -> a µs time line: accumulate ticks_diff from the previous tick, so a tick
        # counter that wraps (pigpio: 32-bit µs) stays monotonic here
        self._tick_ref: object | None = None
        self._tick_ref_us = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> "WiegandReader":
        """Claim the pins and start the thread (idempotent). Raises :class:`PinConfigError`."""
        with self._cond:
            if self._closed:
                raise HardwareError(f"reader {self.name} is closed")
            if self._thread is not None:
                return self
            self._thread = threading.Thread(target=self._run, name=f"wiegand-{self.name}",
                                            daemon=True)
        # pins are claimed without the lock held: an edge callback takes the lock, and a GPIO
        # driver may wait for its callback thread when edge detection is switched off
        try:
            self._claim_pins()
        except PinConfigError:
            self._release_pins()
            with self._cond:
                self._thread = None
            raise
        with self._cond:
            closed = self._closed
        if closed:                               # close() ran meanwhile: give the pins back
            self._release_pins()
            raise HardwareError(f"reader {self.name} was closed while starting")
        self._thread.start()
        return self

    def _claim_pins(self) -> None:
        d0, d1 = self._pins_wanted
        try:
            self._factory.reserve_pins(self, d0, d1)
        except GPIOZeroError as exc:
            raise PinConfigError(f"reader {self.name} on pins {d0}/{d1}: {exc}") from exc
        try:
            for line, name in enumerate((d0, d1)):
                pin = self._factory.pin(name)
                self._pins.append(pin)
                pin.function = "input"
                pin.pull = "up"
                pin.bounce = None
                pin.edges = "falling"
                pin.when_changed = self._edge_d0 if line == 0 else self._edge_d1
        except (GPIOZeroError, ValueError) as exc:
            raise PinConfigError(f"reader {self.name} on pins {d0}/{d1}: {exc}") from exc

    def _release_pins(self) -> None:
        """Switch edge detection off and give the pins back (never with ``_cond`` held)."""
        for pin in self._pins:
            try:
                pin.when_changed = None
                pin.close()
            except Exception as exc:  # noqa: BLE001 - releasing must go on for the other pin
                log.warning("reader %s: releasing pin %s failed: %s", self.name, pin, exc)
        self._pins.clear()
        self._factory.release_pins(self, *self._pins_wanted)

    def close(self, *, timeout_s: float = 5.0) -> None:
        """Stop the edge callbacks and the thread (delivering frames already closed; a frame
        still arriving is dropped), release the pins. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._stop = True                    # edges arriving from now on are ignored
            self._cond.notify_all()
            thread = self._thread
        self._release_pins()
        if thread is not None and thread.is_alive():
            thread.join(timeout_s)
            if thread.is_alive():
                log.error("reader %s: thread did not stop within %.1f s (a callback blocking?)",
                          self.name, timeout_s)

    def __enter__(self) -> "WiegandReader":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conflicts_with(self, other: object) -> bool:
        """gpiozero's pin reservation hook: nothing else may share our pins."""
        return True

    # -- observation ----------------------------------------------------------------------------

    @property
    def counters(self) -> dict[str, int]:
        """A copy of the counters as of the last batch delivered: the decoder's (``frames``,
        ``keys``, ``parity_errors``, ``bad_length``, ``unknown_keys``, ``edges``) and ``reads``
        (cards reported), ``callback_errors``."""
        with self._cond:
            return dict(self._published)

    def wait_for(self, predicate: Callable[[dict[str, int]], bool], *, timeout_s: float = 5.0) -> bool:
        """Block until ``predicate(counters)`` holds (checked after every batch delivered, so the
        callbacks for what the counters show have run); False on timeout. For tests, benches and
        health checks."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(dict(self._published)), timeout_s)

    # -- edges (GPIO alert thread, or the caller's thread under MockFactory) ----------------------

    def _edge_d0(self, ticks: object, state: object) -> None:
        self._edge(0, ticks, state)

    def _edge_d1(self, ticks: object, state: object) -> None:
        self._edge(1, ticks, state)

    def _edge(self, line: int, ticks: object, state: object) -> None:
        if state:        # a rising edge slipped through (some drivers report both): not a bit
            return
        with self._cond:
            if self._stop:
                return
            before = self._decoder.deadline_us
            closed = self._decoder.edge(line, self._ticks_to_us(ticks))
            if closed:
                self._pending.extend(closed)
            after = self._decoder.deadline_us
            # wake the thread for a new frame, a closed one, or a deadline that moved earlier
            # (the frame just became a complete card: eof_intervals)
            if closed or before is None or (after is not None and after < before):
                self._cond.notify_all()

    def _ticks_to_us(self, ticks: object) -> int:
        if self._tick_ref is None:
            self._tick_ref = ticks
            return 0
        delta_s = self._factory.ticks_diff(ticks, self._tick_ref)
        self._tick_ref = ticks
        self._tick_ref_us += round(delta_s * 1_000_000)
        return self._tick_ref_us

    def _now_us(self) -> int:
        if self._tick_ref is None:
            return 0
        return self._tick_ref_us + round(
            self._factory.ticks_diff(self._factory.ticks(), self._tick_ref) * 1_000_000)

    # -- the thread -----------------------------------------------------------------------------

    def _wait_s(self) -> float:
        """Until :data:`WAKE_MARGIN_S` after the open frame's deadline, at most ``poll_s`` (lock
        held). Woken before the deadline (a wait can end a little early), the thread waits
        again for what is left, never a fixed slice: that slice (formerly 0.5 ms, plus a
        0.2 ms margin) was up to ~0.7 bit intervals of the end-of-frame wait at 1 ms/bit."""
        deadline = self._decoder.deadline_us
        if deadline is None:
            return self._poll_s
        remaining_s = (deadline - self._now_us()) / 1_000_000
        return min(self._poll_s, max(remaining_s + WAKE_MARGIN_S, WAKE_MARGIN_S))

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and not self._pending and not self._decoder.in_frame:
                    self._cond.wait()
                if not self._pending and not self._stop:
                    self._cond.wait(self._wait_s())     # a frame is open: look again shortly
                if self._decoder.in_frame and not self._stop:
                    self._pending.extend(self._decoder.poll(self._now_us()))
                batch = list(self._pending)
                self._pending.clear()
                decoded = self._decoder.counters   # exactly what this batch brings
                stop = self._stop
            for item in batch:
                self._deliver(item)
            if batch:
                with self._cond:
                    self._published = {**decoded, **self._counts}
                    self._cond.notify_all()
            if stop:
                return

    def _deliver(self, item: WiegandItem) -> None:
        if isinstance(item, WiegandFrameError):
            log.warning("reader %s: bad frame (%s) bits=%s", self.name, item, item.bits)
            if self._on_error is not None:
                self._call(self._on_error, item)
            return
        if isinstance(item, WiegandKey):
            if self._on_key is not None:
                self._call(self._on_key, self.name, item.key)
            return
        read = CardRead(reader=self.name, card=item.card, number=item.number,
                        facility=item.facility, at=self._clock(), format=item.format)
        with self._cond:
            self._counts["reads"] += 1
        self._call(self._on_card, read)

    def _call(self, fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a callback never kills the reader
            log.exception("reader %s: callback %r failed", self.name, fn)
            with self._cond:
                self._counts["callback_errors"] += 1

    def __repr__(self) -> str:
        d0, d1 = self._pins_wanted
        state = "closed" if self._closed else ("running" if self._thread else "not started")
        return f"<WiegandReader {self.name} d0={d0} d1={d1} {state}>"
