"""The thread machinery shared by the serial readers (RDM6300 cards, line-based scanners).

:class:`SerialReaderBase` owns an injected pyserial-like port and a daemon thread that reads it
(1 byte, then whatever is waiting), feeds a decoder, suppresses repeats of a held card / code and
hands each new item to the subclass. On a port failure it logs, counts (``serial_errors``), backs
off exponentially and retries, closing and reopening the port when given a ``reopen()`` function.
Counters are published as a consistent copy after each chunk and each failure; :meth:`wait_for`
blocks on them. A subclass supplies the decoder and two hooks: :meth:`_repeat_key` and
:meth:`_deliver`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, Callable, ClassVar, Generic, Protocol, Self, TypeVar

from hardware.errors import FrameError, HardwareError, SerialPortError
from hardware.readers.repeat import RepeatFilter
from hardware.serial_port import SerialLike

Item = TypeVar("Item")
Item_co = TypeVar("Item_co", covariant=True)


class SerialDecoder(Protocol[Item_co]):
    """What the reader thread needs of a decoder: incremental :meth:`feed` and :attr:`counters`."""

    @property
    def counters(self) -> dict[str, int]: ...

    def feed(self, data: bytes) -> Sequence[Item_co | FrameError]: ...


class SerialReaderBase(Generic[Item]):
    """Read ``port`` in a daemon thread, decode it with ``decoder`` and hand each new item to
    :meth:`_deliver` (in the thread).

    - ``port``: an open pyserial-like port with a read timeout > 0, or ``None`` if ``reopen`` is
      given. The reader owns it: :meth:`close` closes it.
    - ``name``: the reader's name, in every log line.
    - ``decoder()``: makes the decoder (:class:`SerialDecoder`, owned by the thread); called after
      the arguments above are checked.
    - ``reported``: the name of the counter of items delivered (``"reads"``, ``"scans"``).
    - ``on_error(error)``: called in the thread for each :class:`~hardware.errors.FrameError` and
      with a :class:`~hardware.errors.SerialPortError` when the port fails. Optional.
    - ``clock``: seconds, monotonic; stamps items and drives repeat suppression.
    - ``repeat_window_s``: see :class:`~hardware.readers.repeat.RepeatFilter`.
    - ``reopen()``: optional; returns a freshly opened port. When given, a failed port is closed
      and reopened after the back-off; without it, reads are retried on the same port.
    - ``backoff_s`` / ``max_backoff_s``: wait after a port failure, seconds, doubled per
      consecutive failure up to the maximum.

    Subclasses set :attr:`_kind` (the log / error prefix), :attr:`_thread_prefix`, :attr:`_log`
    and may set :attr:`_dropped_text`, :attr:`_opened_text`, :attr:`_stuck_hint`.
    """

    _kind: ClassVar[str] = "reader"
    _thread_prefix: ClassVar[str] = "serial"
    _log: ClassVar[logging.Logger] = logging.getLogger(__name__)
    _dropped_text: ClassVar[str] = "bad frame"            # log line for a FrameError
    _opened_text: ClassVar[str] = "serial port reopened"  # log line after reopen()
    _stuck_hint: ClassVar[str] = ""                       # appended to "thread did not stop"

    def __init__(self, port: SerialLike | None, *, name: str,
                 decoder: Callable[[], SerialDecoder[Item]],
                 reported: str,
                 on_error: Callable[[HardwareError], None] | None,
                 clock: Callable[[], float],
                 repeat_window_s: float,
                 reopen: Callable[[], SerialLike] | None,
                 backoff_s: float, max_backoff_s: float) -> None:
        kind = self._kind
        if port is None and reopen is None:
            raise HardwareError(f"{kind} {name}: give a port or a reopen() function")
        if getattr(port, "timeout", None) == 0:
            raise SerialPortError(f"{kind} {name}: the port needs a read timeout > 0 s (got 0)")
        if backoff_s <= 0 or max_backoff_s < backoff_s:
            raise HardwareError(f"{kind} {name}: need 0 < backoff_s <= max_backoff_s")
        self.name = name
        self._port = port
        self._on_error = on_error
        self._clock = clock
        self._reopen = reopen
        self._backoff_s, self._max_backoff_s = backoff_s, max_backoff_s
        self._decoder = decoder()
        self._reported = reported
        self._repeats = RepeatFilter(window_s=repeat_window_s)
        self._cond = threading.Condition()
        # the thread updates _counts as it goes and publishes a consistent copy (with the decoder's
        # counters) after each chunk / failure, so readers never see a half-handled chunk
        self._counts = {reported: 0, "repeats_suppressed": 0, "callback_errors": 0,
                        "serial_errors": 0, "reopens": 0}
        self._published = {**self._decoder.counters, **self._counts}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- hooks for subclasses --------------------------------------------------------------------

    def _repeat_key(self, item: Item) -> str:
        """What repeat suppression compares (a card id, a code)."""
        raise NotImplementedError

    def _deliver(self, item: Item, at: float) -> None:
        """Report a new ``item`` decoded at ``at`` (clock seconds): count it in
        ``self._counts[self._reported]`` and call the callback through :meth:`_call_back`."""
        raise NotImplementedError

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the reader thread (idempotent). Raises :class:`HardwareError` after :meth:`close`."""
        with self._cond:
            if self._closed:
                raise HardwareError(f"{self._kind} {self.name} is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run,
                                                name=f"{self._thread_prefix}-{self.name}",
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
                self._log.error("%s %s: thread did not stop within %.1f s" + self._stuck_hint,
                                self._kind, self.name, timeout_s)
        self._close_port()

    def __enter__(self) -> Self:
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
        """A copy of the counters: the decoder's, then the item counter (``reads`` / ``scans``),
        ``repeats_suppressed``, ``callback_errors``, ``serial_errors``, ``reopens``."""
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
        self._log.info("%s %s: %s", self._kind, self.name, self._opened_text)
        return port

    def _port_failed(self, exc: Exception, backoff: float) -> None:
        error = SerialPortError(f"{self._kind} {self.name}: serial port failed: {exc}")
        error.__cause__ = exc
        self._log.warning("%s; retrying in %.2f s", error, backoff)
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
                self._log.warning("%s %s: closing the serial port failed: %s",
                                  self._kind, self.name, exc)

    def _handle(self, data: bytes) -> None:
        for item in self._decoder.feed(data):
            if isinstance(item, FrameError):
                self._log.warning("%s %s: %s (%s) raw=%r",
                                  self._kind, self.name, self._dropped_text, item, item.raw)
                self._notify_error(item)
                continue
            at = self._clock()
            if not self._repeats.accept(self._repeat_key(item), at):
                self._counts["repeats_suppressed"] += 1
                continue
            self._deliver(item, at)
        self._publish()

    def _notify_error(self, error: HardwareError) -> None:
        if self._on_error is not None:
            self._call_back(self._on_error, error, "%s %s: on_error callback failed",
                            self._kind, self.name)

    def _call_back(self, callback: Callable[[Any], None], value: object,
                   failure: str, *args: object) -> None:
        """Call ``callback(value)``; if it raises, log ``failure % args`` with the traceback and
        count ``callback_errors``: a callback never kills the reader."""
        try:
            callback(value)
        except Exception:  # noqa: BLE001 - a callback never kills the reader
            self._log.exception(failure, *args)
            self._counts["callback_errors"] += 1
