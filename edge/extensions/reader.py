"""Card readers: each ``[[readers]]`` entry becomes a :class:`hardware.readers.Rdm6300Reader`;
each presentation journals ``card.read`` ``{reader, card, number, facility, format}``.

Reader errors (bad checksum, malformed frames, garbage, a failing port) are logged and counted per
reader and reason (``<reader>_<reason>``) and reported as a ``reader.fault`` event
``{reader, error, count}`` at most once per :data:`FAULT_INTERVAL_S` per reader (``count``: faults
since the previous report). The port is opened in the reader's thread and reopened with back-off,
so an unplugged adapter never stops the node.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from hardware.errors import FrameError, HardwareError
from hardware.readers import CardRead, Rdm6300Reader

from ..config import ReaderSettings
from ..counters import Counters
from .base import Extension, NodeContext

log = logging.getLogger(__name__)

CARD_KIND = "card.read"
FAULT_KIND = "reader.fault"
#: Shortest time between two ``reader.fault`` events of one reader, seconds.
FAULT_INTERVAL_S = 60.0


class ReaderExtension(Extension):
    """Run the configured card readers."""

    name = "reader"

    def __init__(self, settings: tuple[ReaderSettings, ...], *,
                 fault_interval_s: float = FAULT_INTERVAL_S) -> None:
        self._settings = settings
        self._fault_interval_s = fault_interval_s
        self.readers: dict[str, Rdm6300Reader] = {}
        self._ctx: NodeContext | None = None
        self._counters = Counters(["reads", "emit_errors"])
        self._lock = threading.Lock()
        self._fault_last: dict[str, float] = {}
        self._fault_pending: dict[str, int] = {}

    def start(self, ctx: NodeContext) -> None:
        self._ctx = ctx
        for s in self._settings:
            reader = Rdm6300Reader(None, name=s.name, on_card=self._card, on_error=self._error_for(s.name),
                                   reopen=lambda s=s: ctx.open_serial(s))
            self.readers[s.name] = reader
            reader.start()
            log.info("reader %s (%s) on %s at %d baud", s.name, s.kind, s.port, s.baud)

    def _card(self, read: CardRead) -> None:
        assert self._ctx is not None
        self._counters.incr("reads")
        try:
            self._ctx.emit(CARD_KIND, {"reader": read.reader, "card": read.card, "number": read.number,
                                       "facility": read.facility, "format": read.format})
        except Exception:  # noqa: BLE001 - never lose the reader thread; this is logged loudly
            self._counters.incr("emit_errors")
            log.exception("reader %s: could not journal card %s", read.reader, read.card)

    def _error_for(self, name: str) -> Callable[[HardwareError], None]:
        def on_error(error: HardwareError) -> None:
            self._error(name, error)
        return on_error

    def _error(self, name: str, error: HardwareError) -> None:
        assert self._ctx is not None
        reason = error.reason if isinstance(error, FrameError) else "serial"
        self._counters.incr(f"{name}_{reason}")
        now = self._ctx.monotonic()
        with self._lock:
            pending = self._fault_pending.get(name, 0) + 1
            last = self._fault_last.get(name)
            due = last is None or now - last >= self._fault_interval_s
            if due:
                self._fault_last[name] = now
                self._fault_pending[name] = 0
            else:
                self._fault_pending[name] = pending
        if due:
            try:
                self._ctx.emit(FAULT_KIND, {"reader": name, "error": str(error)[:200], "count": pending})
            except Exception:  # noqa: BLE001
                self._counters.incr("emit_errors")
                log.exception("reader %s: could not journal %s", name, FAULT_KIND)

    def alive(self) -> bool:
        for reader in self.readers.values():
            thread = getattr(reader, "_thread", None)  # hardware exposes no liveness property yet
            if thread is not None and not thread.is_alive():
                return False
        return True

    def stop(self) -> None:
        for reader in self.readers.values():
            reader.close()

    def counters(self) -> Counters:
        return self._counters
