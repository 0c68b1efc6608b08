"""Line-based serial QR / barcode scanners (the usual USB-CDC or TTL scanner in "serial mode").

The scanner sends each code it reads as one line of text followed by a terminator: CR, LF or CRLF
depending on its setup. It repeats the line while a code stays in front of it (continuous mode).
Two layers, as for the RDM6300:

- :class:`ScanLineDecoder` splits a byte stream into lines (``str``) and
  :class:`~hardware.errors.FrameError` values, with no I/O, whatever the chunking. Reasons:
  ``"overlong"`` (more than ``max_line`` bytes before a terminator: the rest up to the next
  terminator is dropped too) and ``"garbage"`` (a line that is not UTF-8 text, or holds control
  characters: line noise, a wrong baud rate). Empty lines are skipped silently.
- :class:`ScannerReader` runs a thread over an injected pyserial-like port, suppresses a code
  repeated within ``repeat_window_s`` (:class:`~hardware.readers.repeat.RepeatFilter`) and calls
  ``on_scan`` with a :class:`ScanRead`.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from dataclasses import dataclass
from typing import Callable, Literal

from hardware.errors import FrameError, HardwareError
from hardware.readers.serial_reader import SerialReaderBase
from hardware.serial_port import SerialLike

log = logging.getLogger(__name__)

CR, LF = 0x0D, 0x0A
#: Longest line accepted by default, bytes (a goods-pass QR is about 140).
MAX_LINE_BYTES = 512
Terminator = Literal["any", "cr", "lf", "crlf"]
TERMINATORS = ("any", "cr", "lf", "crlf")


@dataclass(frozen=True)
class ScanRead:
    """One code read: ``reader`` (the scanner's name), ``code`` (the line, without its
    terminator), ``at`` (the reader's clock, seconds)."""

    reader: str
    code: str
    at: float


class ScanLineDecoder:
    """Incremental line splitter for scanner output.

    - ``terminator``: ``"any"`` (default: CR, LF or CRLF each end a line; an LF right after a CR is
      part of the same CRLF, even across chunks), ``"cr"`` (CR ends a line, LF bytes are ignored),
      ``"lf"`` or ``"crlf"`` (LF ends a line, CR bytes are ignored);
    - ``max_line``: longest line in bytes (default 512).

    Counters (attributes and :attr:`counters`): ``lines``, ``overlong``, ``garbage``. Not
    thread-safe: one reader thread owns it."""

    def __init__(self, *, terminator: Terminator = "any", max_line: int = MAX_LINE_BYTES) -> None:
        if terminator not in TERMINATORS:
            raise HardwareError(f"scanner: terminator must be one of {', '.join(TERMINATORS)}, "
                                f"got {terminator!r}")
        if max_line < 1:
            raise HardwareError(f"scanner: max_line must be >= 1 byte, got {max_line}")
        self.terminator = terminator
        self.max_line = max_line
        self._ends = {"any": (CR, LF), "cr": (CR,), "lf": (LF,), "crlf": (LF,)}[terminator]
        self._ignored = {"any": (), "cr": (LF,), "lf": (CR,), "crlf": (CR,)}[terminator]
        self._buf = bytearray()
        self._skipping = False      # dropping the rest of an over-long line
        self._after_cr = False      # "any": the previous byte ended a line with CR
        self.lines = 0
        self.overlong = 0
        self.garbage = 0

    @property
    def counters(self) -> dict[str, int]:
        """A copy of the counters."""
        return {"lines": self.lines, "overlong": self.overlong, "garbage": self.garbage}

    def feed(self, data: bytes) -> list[str | FrameError]:
        """Split ``data``; return the complete lines and errors found, in stream order."""
        out: list[str | FrameError] = []
        for b in data:
            after_cr, self._after_cr = self._after_cr, False
            if b in self._ends:
                if b == LF and after_cr:
                    continue                         # the LF of a CRLF
                self._after_cr = b == CR and self.terminator == "any"
                self._end_line(out)
            elif b in self._ignored:
                continue
            elif self._skipping:
                continue
            elif len(self._buf) >= self.max_line:
                self.overlong += 1
                out.append(FrameError("overlong", f"line longer than {self.max_line} bytes",
                                      bytes(self._buf[:64])))
                self._buf.clear()
                self._skipping = True
            else:
                self._buf.append(b)
        return out

    def _end_line(self, out: list[str | FrameError]) -> None:
        if self._skipping:
            self._skipping = False
            return
        raw = bytes(self._buf)
        self._buf.clear()
        if not raw:
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or any(unicodedata.category(c) in ("Cc", "Cs") for c in text):
            self.garbage += 1
            out.append(FrameError("garbage", f"a {len(raw)}-byte line that is not text", raw[:64]))
            return
        self.lines += 1
        out.append(text)


class ScannerReader(SerialReaderBase[str]):
    """Read codes from a line-based scanner on ``port`` in a daemon thread; call ``on_scan``
    once per presentation.

    - ``port``: an open pyserial-like port with a read timeout > 0 (0.1 s is right), or ``None``
      if ``reopen`` is given. The reader owns it: :meth:`close` closes it.
    - ``name``: the scanner's name (in every :class:`ScanRead` and log line).
    - ``on_scan(read)``: called in the reader thread for each new presentation.
    - ``on_error(error)``: called in the reader thread for each
      :class:`~hardware.errors.FrameError` (``overlong``, ``garbage``) and with a
      :class:`~hardware.errors.SerialPortError` when the port fails. Optional; errors are
      logged and counted anyway.
    - ``terminator`` / ``max_line``: as for :class:`ScanLineDecoder` (default ``"any"``, 512).
    - ``clock``: seconds, monotonic (default ``time.monotonic``).
    - ``repeat_window_s``: the same code again within this many seconds (default 2.0) of its
      previous line is a repeat of a code still in front of the scanner and is suppressed.
    - ``reopen()``, ``backoff_s`` / ``max_backoff_s``: a failed port is closed and reopened
      after a back-off (seconds, default 0.1 doubling up to 5.0).

    Counters (:attr:`counters`): the decoder's (``lines``, ``overlong``, ``garbage``) and
    ``scans`` (reported), ``repeats_suppressed``, ``callback_errors``, ``serial_errors``,
    ``reopens``. :attr:`alive` is True while the thread runs (or before :meth:`start` / after
    :meth:`close`). The thread, port reopening and back-off live in
    :class:`~hardware.readers.serial_reader.SerialReaderBase`.

    Exceptions raised by the callbacks are logged and counted (``callback_errors``); they never
    stop the thread. Constructing does no I/O; :meth:`start` starts the thread."""

    _kind = "scanner"
    _thread_prefix = "scanner"
    _log = log
    _dropped_text = "line dropped"
    _opened_text = "serial port opened"
    _stuck_hint = ""

    def __init__(self, port: SerialLike | None, *, name: str,
                 on_scan: Callable[[ScanRead], None],
                 on_error: Callable[[HardwareError], None] | None = None,
                 terminator: Terminator = "any", max_line: int = MAX_LINE_BYTES,
                 clock: Callable[[], float] = time.monotonic,
                 repeat_window_s: float = 2.0,
                 reopen: Callable[[], SerialLike] | None = None,
                 backoff_s: float = 0.1, max_backoff_s: float = 5.0) -> None:
        super().__init__(port, name=name, reported="scans",
                         decoder=lambda: ScanLineDecoder(terminator=terminator, max_line=max_line),
                         on_error=on_error, clock=clock, repeat_window_s=repeat_window_s,
                         reopen=reopen, backoff_s=backoff_s, max_backoff_s=max_backoff_s)
        self._on_scan = on_scan

    def _repeat_key(self, item: str) -> str:
        return item

    def _deliver(self, item: str, at: float) -> None:
        self._counts["scans"] += 1
        self._call_back(self._on_scan, ScanRead(reader=self.name, code=item, at=at),
                        "scanner %s: on_scan callback failed", self.name)
