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
import time
from dataclasses import dataclass
from typing import Callable

from hardware.errors import FrameError, HardwareError
from hardware.readers.card import CardRead
from hardware.readers.serial_reader import SerialReaderBase
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


class Rdm6300Reader(SerialReaderBase[CardFrame]):
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

    Counters (:attr:`counters`): the decoder's (``frames``, ``checksum_errors``, ``malformed``,
    ``garbage_bytes``) and ``reads`` (reported), ``repeats_suppressed``, ``callback_errors``,
    ``serial_errors``, ``reopens``. The thread, port reopening and back-off live in
    :class:`~hardware.readers.serial_reader.SerialReaderBase`.

    Exceptions raised by the callbacks are logged and counted (``callback_errors``); they never stop
    the thread. Constructing does no I/O; :meth:`start` starts the thread.
    """

    _kind = "reader"
    _thread_prefix = "rdm6300"
    _log = log
    _dropped_text = "bad frame"
    _opened_text = "serial port reopened"
    _stuck_hint = " (a callback blocking?)"

    def __init__(self, port: SerialLike | None, *, name: str,
                 on_card: Callable[[CardRead], None],
                 on_error: Callable[[HardwareError], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 repeat_window_s: float = 0.5,
                 reopen: Callable[[], SerialLike] | None = None,
                 backoff_s: float = 0.1, max_backoff_s: float = 5.0) -> None:
        super().__init__(port, name=name, decoder=Rdm6300Decoder, reported="reads",
                         on_error=on_error, clock=clock, repeat_window_s=repeat_window_s,
                         reopen=reopen, backoff_s=backoff_s, max_backoff_s=max_backoff_s)
        self._on_card = on_card

    def _repeat_key(self, item: CardFrame) -> str:
        return item.card

    def _deliver(self, item: CardFrame, at: float) -> None:
        read = CardRead(reader=self.name, card=item.card, number=item.number,
                        facility=item.version, at=at)
        self._counts["reads"] += 1
        self._call_back(self._on_card, read,
                        "reader %s: on_card callback failed for card %s", self.name, read.card)
