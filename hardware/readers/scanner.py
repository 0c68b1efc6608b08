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
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Callable, Literal

from hardware.errors import FrameError, HardwareError, SerialPortError
from hardware.readers.repeat import RepeatFilter
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


class ScannerReader:
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

    Exceptions raised by the callbacks are logged and counted (``callback_errors``); they never
    stop the thread. Constructing does no I/O; :meth:`start` starts the thread."""

    def __init__(self, port: SerialLike | None, *, name: str,
                 on_scan: Callable[[ScanRead], None],
                 on_error: Callable[[HardwareError], None] | None = None,
                 terminator: Terminator = "any", max_line: int = MAX_LINE_BYTES,
                 clock: Callable[[], float] = time.monotonic,
                 repeat_window_s: float = 2.0,
                 reopen: Callable[[], SerialLike] | None = None,
                 backoff_s: float = 0.1, max_backoff_s: float = 5.0) -> None:
        if port is None and reopen is None:
            raise HardwareError(f"scanner {name}: give a port or a reopen() function")
        if getattr(port, "timeout", None) == 0:
            raise SerialPortError(f"scanner {name}: the port needs a read timeout > 0 s (got 0)")
        if backoff_s <= 0 or max_backoff_s < backoff_s:
            raise HardwareError(f"scanner {name}: need 0 < backoff_s <= max_backoff_s")
        self.name = name
        self._port = port
        self._on_scan = on_scan
        self._on_error = on_error
        self._clock = clock
        self._reopen = reopen
        self._backoff_s, self._max_backoff_s = backoff_s, max_backoff_s
        self._decoder = ScanLineDecoder(terminator=terminator, max_line=max_line)
        self._repeats = RepeatFilter(window_s=repeat_window_s)
        self._cond = threading.Condition()
        self._counts = {"scans": 0, "repeats_suppressed": 0, "callback_errors": 0,
                        "serial_errors": 0, "reopens": 0}
        self._published = {**self._decoder.counters, **self._counts}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> "ScannerReader":
        """Start the reader thread (idempotent). Raises :class:`HardwareError` after :meth:`close`."""
        with self._cond:
            if self._closed:
                raise HardwareError(f"scanner {self.name} is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"scanner-{self.name}",
                                                daemon=True)
                self._thread.start()
        return self

    def close(self, *, timeout_s: float = 5.0) -> None:
        """Stop the thread (waiting up to ``timeout_s`` seconds) and close the port. Idempotent."""
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
                log.error("scanner %s: thread did not stop within %.1f s", self.name, timeout_s)
        self._close_port()

    def __enter__(self) -> "ScannerReader":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        """True while the thread runs (or before :meth:`start` / after :meth:`close`)."""
        thread = self._thread
        return self._closed or thread is None or thread.is_alive()

    # -- observation ----------------------------------------------------------------------------

    @property
    def counters(self) -> dict[str, int]:
        """A copy of the counters: the decoder's (``lines``, ``overlong``, ``garbage``) and
        ``scans`` (reported), ``repeats_suppressed``, ``callback_errors``, ``serial_errors``,
        ``reopens``."""
        with self._cond:
            return dict(self._published)

    def wait_for(self, predicate: Callable[[dict[str, int]], bool], *, timeout_s: float = 5.0) -> bool:
        """Block until ``predicate(counters)`` holds (checked after every chunk handled and every
        port failure); False on timeout."""
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
        if closed:
            port.close()
            return None
        self._counts["reopens"] += 1
        self._publish()
        log.info("scanner %s: serial port opened", self.name)
        return port

    def _port_failed(self, exc: Exception, backoff: float) -> None:
        error = SerialPortError(f"scanner {self.name}: serial port failed: {exc}")
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
                log.warning("scanner %s: closing the serial port failed: %s", self.name, exc)

    def _handle(self, data: bytes) -> None:
        for item in self._decoder.feed(data):
            if isinstance(item, FrameError):
                log.warning("scanner %s: line dropped (%s) raw=%r", self.name, item, item.raw)
                self._notify_error(item)
                continue
            at = self._clock()
            if not self._repeats.accept(item, at):
                self._counts["repeats_suppressed"] += 1
                continue
            self._counts["scans"] += 1
            try:
                self._on_scan(ScanRead(reader=self.name, code=item, at=at))
            except Exception:  # noqa: BLE001 - a callback never kills the reader
                log.exception("scanner %s: on_scan callback failed", self.name)
                self._counts["callback_errors"] += 1
        self._publish()

    def _notify_error(self, error: HardwareError) -> None:
        if self._on_error is None:
            return
        try:
            self._on_error(error)
        except Exception:  # noqa: BLE001
            log.exception("scanner %s: on_error callback failed", self.name)
            self._counts["callback_errors"] += 1
