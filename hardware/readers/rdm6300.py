"""RDM6300 125 kHz EM4100 card reader on a serial port (9600 baud, 8N1).

The module sends one 14-byte frame per card read, and repeats it every 50-100 ms while the card
stays on the antenna::

    0x02 | 10 ASCII hex: version/customer byte + 32-bit card data | 2 ASCII hex: XOR checksum | 0x03

The checksum is the XOR of the 5 data bytes. Two layers:

- :class:`Rdm6300Decoder` parses a byte stream into :class:`CardFrame` objects and
  :class:`~hardware.errors.FrameError` values, with no I/O, whatever the chunking;
- :class:`Rdm6300Reader` runs a thread over an injected pyserial-like port, suppresses the repeats
  of a held card and calls ``on_card`` with a :class:`~hardware.readers.card.CardRead`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from hardware.errors import FrameError, HardwareError, SerialPortError
from hardware.readers.card import CardRead
from hardware.readers.repeat import RepeatFilter
from hardware.serial_port import SerialLike

log = logging.getLogger(__name__)

STX = 0x02
ETX = 0x03
BAUDRATE = 9600
PAYLOAD_CHARS = 12          # 10 data + 2 checksum hex characters between STX and ETX
CARD_CHARS = 10
GARBAGE_REPORT_BYTES = 64   # a run of garbage is reported at the next STX or every this many bytes
_HEX = frozenset(b"0123456789ABCDEFabcdef")


def frame_checksum(card_hex: str) -> int:
    """The RDM6300 checksum of a 10-hex-digit card id: the XOR of its 5 bytes (0-255)."""
    data = _card_bytes(card_hex)
    value = 0
    for b in data:
        value ^= b
    return value


def encode_frame(card_hex: str) -> bytes:
    """The 14-byte frame an RDM6300 sends for ``card_hex`` (10 hex digits, any case).

    Raises :class:`FrameError` (reason ``"malformed"``) if ``card_hex`` is not 10 hex digits."""
    card = card_hex.upper()
    return bytes([STX]) + card.encode("ascii") + b"%02X" % frame_checksum(card) + bytes([ETX])


def _card_bytes(card_hex: str) -> bytes:
    if len(card_hex) != CARD_CHARS or not all(ord(c) in _HEX for c in card_hex):
        raise FrameError("malformed", f"an EM4100 card id is {CARD_CHARS} hex digits, got {card_hex!r}")
    return bytes.fromhex(card_hex)


@dataclass(frozen=True)
class CardFrame:
    """One well-formed frame with a valid checksum; ``card`` is 10 upper-case hex digits."""

    card: str

    @property
    def version(self) -> int:
        """The EM4100 version / customer-id byte (first 2 hex digits)."""
        return int(self.card[:2], 16)

    @property
    def number(self) -> int:
        """The 32-bit card data (last 8 hex digits), the number printed on most cards."""
        return int(self.card[2:], 16)


class Rdm6300Decoder:
    """Incremental RDM6300 frame parser: feed it bytes as they arrive, in any chunks.

    Resynchronises on the start byte 0x02 after garbage, after a frame cut short (a new 0x02 before
    its 0x03) or too long, and after a checksum error. The output for a stream does not depend on how
    it was split into ``feed`` calls. Counters (attributes, and :attr:`counters`): ``frames`` (good
    frames), ``checksum_errors``, ``malformed``, ``garbage_bytes`` (bytes outside any frame).
    Not thread-safe: one reader thread owns it."""

    _IDLE, _FRAME, _SKIP = range(3)

    def __init__(self) -> None:
        self._state = self._IDLE
        self._buf = bytearray()
        self._garbage = bytearray()
        self.frames = 0
        self.checksum_errors = 0
        self.malformed = 0
        self.garbage_bytes = 0

    @property
    def counters(self) -> dict[str, int]:
        """A copy of the counters."""
        return {"frames": self.frames, "checksum_errors": self.checksum_errors,
                "malformed": self.malformed, "garbage_bytes": self.garbage_bytes}

    def feed(self, data: bytes) -> list[CardFrame | FrameError]:
        """Parse ``data``; return the frames completed and the errors found in it, in stream order."""
        out: list[CardFrame | FrameError] = []
        for b in data:
            if b == STX:
                self._flush_garbage(out)
                if self._state == self._FRAME:
                    out.append(self._malformed(
                        f"frame cut short by a new start byte after {len(self._buf)} characters"))
                self._state = self._FRAME
                self._buf.clear()
            elif self._state == self._IDLE:
                self.garbage_bytes += 1
                self._garbage.append(b)
                if len(self._garbage) >= GARBAGE_REPORT_BYTES:
                    self._flush_garbage(out)
            elif self._state == self._SKIP:
                # the rest of a frame already reported as malformed, up to its end byte
                if b == ETX:
                    self._state = self._IDLE
            elif b == ETX:
                out.append(self._finish())
                self._state = self._IDLE
            elif b in _HEX and len(self._buf) < PAYLOAD_CHARS:
                self._buf.append(b)
            else:
                self._buf.append(b)
                why = (f"frame longer than {PAYLOAD_CHARS} characters" if b in _HEX
                       else f"byte 0x{b:02X} is not a hex character")
                out.append(self._malformed(why))
                self._state = self._SKIP
        return out

    def _finish(self) -> CardFrame | FrameError:
        if len(self._buf) != PAYLOAD_CHARS:
            return self._malformed(f"frame of {len(self._buf)} characters, expected {PAYLOAD_CHARS}")
        text = self._buf.decode("ascii").upper()
        card, check = text[:CARD_CHARS], int(text[CARD_CHARS:], 16)
        expected = frame_checksum(card)
        if check != expected:
            self.checksum_errors += 1
            return FrameError("checksum", f"card {card}: checksum {check:02X}, computed {expected:02X}",
                              self._raw(ETX))
        self.frames += 1
        return CardFrame(card)

    def _malformed(self, why: str) -> FrameError:
        self.malformed += 1
        return FrameError("malformed", why, self._raw())

    def _raw(self, end: int | None = None) -> bytes:
        return bytes([STX]) + bytes(self._buf) + (bytes([end]) if end is not None else b"")

    def _flush_garbage(self, out: list[CardFrame | FrameError]) -> None:
        if self._garbage:
            out.append(FrameError("garbage", f"{len(self._garbage)} bytes outside a frame",
                                  bytes(self._garbage)))
            self._garbage.clear()


class Rdm6300Reader:
    """Read cards from an RDM6300 on ``port`` in a daemon thread; call ``on_card`` once per
    presentation.

    - ``port``: an open pyserial-like port (:class:`~hardware.serial_port.SerialLike`, e.g. from
      :func:`~hardware.serial_port.open_serial`) with a read timeout > 0 (0.1 s is right), or
      ``None`` if ``reopen`` is given. The reader owns it: :meth:`close` closes it.
    - ``name``: the reader's name, copied into every :class:`CardRead` and log line.
    - ``on_card(read)``: called in the reader thread for each new presentation.
    - ``on_error(error)``: called in the reader thread for each :class:`~hardware.errors.FrameError`
      (bad checksum, malformed frame, garbage) and with a :class:`~hardware.errors.SerialPortError`
      when the port fails. Optional; every error is logged and counted anyway.
    - ``clock``: seconds, monotonic (default ``time.monotonic``); stamps :attr:`CardRead.at` and
      drives repeat suppression.
    - ``repeat_window_s``: a frame of the same card within this many seconds (default 0.5) of its
      previous frame is a repeat of a held card and is suppressed; a different card is reported
      at once.
    - ``reopen()``: optional; returns a freshly opened port. When given, a port that fails is closed
      and reopened (after the back-off), so an unplugged USB adapter comes back by itself; without
      it, reads are retried on the same port.
    - ``backoff_s`` / ``max_backoff_s``: wait after a port failure, seconds (default 0.1, doubled per
      consecutive failure up to 5.0); the thread never spins on a dead port.

    Exceptions raised by the callbacks are logged and counted (``callback_errors``); they never stop
    the thread. Constructing does no I/O; :meth:`start` starts the thread.
    """

    def __init__(self, port: SerialLike | None, *, name: str,
                 on_card: Callable[[CardRead], None],
                 on_error: Callable[[HardwareError], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 repeat_window_s: float = 0.5,
                 reopen: Callable[[], SerialLike] | None = None,
                 backoff_s: float = 0.1, max_backoff_s: float = 5.0) -> None:
        if port is None and reopen is None:
            raise HardwareError(f"reader {name}: give a port or a reopen() function")
        if getattr(port, "timeout", None) == 0:
            raise SerialPortError(f"reader {name}: the port needs a read timeout > 0 s (got 0)")
        if backoff_s <= 0 or max_backoff_s < backoff_s:
            raise HardwareError(f"reader {name}: need 0 < backoff_s <= max_backoff_s")
        self.name = name
        self._port = port
        self._on_card = on_card
        self._on_error = on_error
        self._clock = clock
        self._reopen = reopen
        self._backoff_s, self._max_backoff_s = backoff_s, max_backoff_s
        self._decoder = Rdm6300Decoder()
        self._repeats = RepeatFilter(window_s=repeat_window_s)
        self._cond = threading.Condition()
        # the thread updates _counts as it goes and publishes a consistent copy (with the decoder's
        # counters) after each chunk / failure, so readers never see a half-handled chunk
        self._counts = {"reads": 0, "repeats_suppressed": 0, "callback_errors": 0,
                        "serial_errors": 0, "reopens": 0}
        self._published = {**self._decoder.counters, **self._counts}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> "Rdm6300Reader":
        """Start the reader thread (idempotent). Raises :class:`HardwareError` after :meth:`close`."""
        with self._cond:
            if self._closed:
                raise HardwareError(f"reader {self.name} is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"rdm6300-{self.name}",
                                                daemon=True)
                self._thread.start()
        return self

    def close(self, *, timeout_s: float = 5.0) -> None:
        """Stop the thread (waiting up to ``timeout_s`` seconds for it) and close the port.
        Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            thread, port = self._thread, self._port
        self._stop.set()
        cancel = getattr(port, "cancel_read", None)
        if cancel is not None:
            try:
                cancel()
            except Exception:  # noqa: BLE001 - a dead port cannot be cancelled; the timeout ends the read
                pass
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                log.error("reader %s: thread did not stop within %.1f s (a callback blocking?)",
                          self.name, timeout_s)
        self._close_port()

    def __enter__(self) -> "Rdm6300Reader":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- observation ----------------------------------------------------------------------------

    @property
    def counters(self) -> dict[str, int]:
        """A copy of the counters: the decoder's (``frames``, ``checksum_errors``, ``malformed``,
        ``garbage_bytes``) and ``reads`` (reported), ``repeats_suppressed``, ``callback_errors``,
        ``serial_errors``, ``reopens``."""
        with self._cond:
            return dict(self._published)

    def wait_for(self, predicate: Callable[[dict[str, int]], bool], *, timeout_s: float = 5.0) -> bool:
        """Block until ``predicate(counters)`` holds (checked after every chunk the thread handles
        and every port failure); False on timeout. For tests, benches and health checks."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(dict(self._published)), timeout_s)

    def _publish(self) -> None:
        with self._cond:
            self._published = {**self._decoder.counters, **self._counts}
            self._cond.notify_all()

    # -- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self._backoff_s
        while not self._stop.is_set():
            try:
                port = self._port if self._port is not None else self._open_port()
                if port is None:
                    break
                data = port.read(1)
                if data and not self._stop.is_set():
                    waiting = port.in_waiting
                    if waiting:
                        data += port.read(waiting)
            except Exception as exc:  # noqa: BLE001 - any port failure: log, count, back off, retry
                if self._stop.is_set():
                    break
                self._port_failed(exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                continue
            backoff = self._backoff_s
            if data:
                self._handle(data)

    def _open_port(self) -> SerialLike | None:
        assert self._reopen is not None
        port = self._reopen()
        with self._cond:
            closed = self._closed
            if not closed:
                self._port = port
        if closed:                # close() ran while we were opening: do not leak the new port
            port.close()
            return None
        self._counts["reopens"] += 1
        self._publish()
        log.info("reader %s: serial port reopened", self.name)
        return port

    def _port_failed(self, exc: Exception, backoff: float) -> None:
        error = SerialPortError(f"reader {self.name}: serial port failed: {exc}")
        error.__cause__ = exc
        log.warning("%s; retrying in %.2f s", error, backoff)
        self._counts["serial_errors"] += 1
        if self._reopen is not None:
            self._close_port()
            self._repeats.reset()
        self._notify_error(error)
        self._publish()

    def _close_port(self) -> None:
        with self._cond:
            port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception as exc:  # noqa: BLE001
                log.warning("reader %s: closing the serial port failed: %s", self.name, exc)

    def _handle(self, data: bytes) -> None:
        for item in self._decoder.feed(data):
            if isinstance(item, FrameError):
                log.warning("reader %s: bad frame (%s) raw=%r", self.name, item, item.raw)
                self._notify_error(item)
                continue
            at = self._clock()
            if not self._repeats.accept(item.card, at):
                self._counts["repeats_suppressed"] += 1
                continue
            read = CardRead(reader=self.name, card=item.card, number=item.number,
                            facility=item.version, at=at)
            self._counts["reads"] += 1
            try:
                self._on_card(read)
            except Exception:  # noqa: BLE001 - a callback never kills the reader
                log.exception("reader %s: on_card callback failed for card %s", self.name, read.card)
                self._counts["callback_errors"] += 1
        self._publish()

    def _notify_error(self, error: HardwareError) -> None:
        if self._on_error is None:
            return
        try:
            self._on_error(error)
        except Exception:  # noqa: BLE001
            log.exception("reader %s: on_error callback failed", self.name)
            self._counts["callback_errors"] += 1
