"""Patrol check-points (电子巡更): a ``[[readers]]`` entry listed in ``[patrol] readers`` is a
check-point; a card presented there is a ``patrol.tap`` event instead of a ``card.read``.

- ``patrol.tap`` ``{checkpoint, reader, card, collapsed}``: the envelope's ``ts`` is the node's
  clock at the tap, so a tap journaled while the broker is unreachable and replayed later still
  tells the console when it happened.
- Repeat taps of the same card at the same check-point within ``collapse_s`` seconds of the last
  *sent* tap are not sent: they are counted, and the count rides in ``collapsed`` of the next tap
  sent for that card at that check-point (and in the ``collapsed`` counter).
- Each tap (sent or collapsed) gets a short confirm pulse on the buzzer and LED relays
  (``confirm_s``), after the tap is journaled: a beep means "recorded".
- Reader faults are reported as for any reader (``reader.fault``, see :mod:`.reader`).

The reader plumbing (port opened in the reader's thread, reopened with back-off; fault counting)
is :class:`~edge.extensions.reader.ReaderExtension`'s; this class only changes what a card
presentation becomes. The node builds it from ``[patrol]`` (:class:`edge.config.PatrolSettings`)
and leaves the check-point readers out of the plain reader extension.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from hardware.gpio import Relay
from hardware.readers import CardRead

from ..config import PatrolSettings, ReaderSettings
from ..counters import Counters
from .base import NodeContext
from .reader import ReaderExtension

log = logging.getLogger(__name__)

TAP_KIND = "patrol.tap"


class TapCollapser:
    """Decide which taps are sent. Pure: times are passed in (seconds, monotonic).

    ``window_s`` (>= 0): a tap of a card at a check-point within this many seconds of that card's
    last *sent* tap there is collapsed. Thread-safe."""

    def __init__(self, *, window_s: float) -> None:
        if window_s < 0:
            raise ValueError(f"collapse window must be >= 0 s, got {window_s}")
        self.window_s = window_s
        self._last: dict[tuple[str, str], float] = {}
        self._pending: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def offer(self, checkpoint: str, card: str, at: float) -> int | None:
        """Record a tap; return None if it is collapsed, else how many taps of this card at this
        check-point were collapsed since the previous sent one (0 or more)."""
        key = (checkpoint, card)
        with self._lock:
            last = self._last.get(key)
            if last is not None and at - last < self.window_s:
                self._pending[key] = self._pending.get(key, 0) + 1
                return None
            self._last[key] = at
            if len(self._last) > 10_000:     # bound memory: forget taps older than the window
                self._last = {k: t for k, t in self._last.items() if at - t < self.window_s}
            return self._pending.pop(key, 0)


class PatrolExtension(ReaderExtension):
    """The check-point readers of one node, with their confirm outputs (see the module note).

    ``settings``: the ``[patrol]`` section; ``readers``: the node's ``[[readers]]`` (those not
    named in ``settings.checkpoints`` are left alone); ``monotonic``: seconds, the collapse
    window's clock (default: the node's ``ctx.monotonic``; tests replace it)."""

    name = "patrol"

    def __init__(self, settings: PatrolSettings, readers: tuple[ReaderSettings, ...], *,
                 fault_interval_s: float | None = None,
                 monotonic: Callable[[], float] | None = None) -> None:
        chosen = tuple(r for r in readers if r.name in settings.checkpoints)
        if fault_interval_s is None:
            super().__init__(chosen)
        else:
            super().__init__(chosen, fault_interval_s=fault_interval_s)
        self.settings = settings
        self.monotonic = monotonic
        self.collapser = TapCollapser(window_s=settings.collapse_s)
        self.buzzer: Relay | None = None
        self.led: Relay | None = None
        self._counters = Counters(["reads", "taps", "collapsed", "emit_errors", "feedback_errors"])

    def open_outputs(self, ctx: NodeContext) -> list[str]:
        """The buzzer and LED relays, off."""
        s = self.settings
        out = []
        for attr, pin in (("buzzer", s.buzzer_pin), ("led", s.led_pin)):
            if pin is not None and getattr(self, attr) is None:
                setattr(self, attr, Relay(pin, name=f"patrol-{attr}", pin_factory=ctx.gpio(),
                                          active_high=s.active_high, safe_state="off"))
                out.append(f"patrol {attr}: off")
        return out

    def _card(self, read: CardRead) -> None:
        """A card at a check-point reader: collapse or journal ``patrol.tap``, then confirm."""
        assert self._ctx is not None
        self._counters.incr("reads")
        checkpoint = self.settings.checkpoints.get(read.reader, read.reader)
        collapsed = self.collapser.offer(checkpoint, read.card,
                                         (self.monotonic or self._ctx.monotonic)())
        if collapsed is None:
            self._counters.incr("collapsed")
            log.debug("patrol %s: card %s again within %.0f s, collapsed", checkpoint, read.card,
                      self.settings.collapse_s)
        else:
            try:
                self._ctx.emit(TAP_KIND, {"checkpoint": checkpoint, "reader": read.reader,
                                          "card": read.card, "collapsed": collapsed})
            except Exception:  # noqa: BLE001 - keep the reader thread; no beep: the guard retaps
                self._counters.incr("emit_errors")
                log.exception("patrol %s: could not journal the tap of %s", checkpoint, read.card)
                return
            self._counters.incr("taps")
        self._confirm()

    def _confirm(self) -> None:
        for relay in (self.buzzer, self.led):
            if relay is None:
                continue
            try:
                relay.pulse(self.settings.confirm_s)
            except Exception:  # noqa: BLE001 - feedback never loses a tap
                self._counters.incr("feedback_errors")
                log.exception("patrol: confirm output %s failed", relay.name)

    def stop(self) -> None:
        """Readers closed, buzzer and LED off and released. Idempotent."""
        super().stop()
        for attr in ("buzzer", "led"):
            relay: Relay | None = getattr(self, attr)
            if relay is not None:
                try:
                    relay.close()
                except Exception:  # noqa: BLE001
                    log.exception("patrol: closing %s failed", relay.name)

