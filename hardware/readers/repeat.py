"""Repeat suppression for readers that report a held card over and over.

An RDM6300 sends the frame of a card every 50-100 ms for as long as the card stays on the antenna.
:class:`RepeatFilter` turns that stream into one read per presentation: a frame of the same card
within ``window_s`` of that card's previous frame is a repeat; a card is reported again only after
it has been away longer than the window; a different card is reported at once.
"""

from __future__ import annotations


class RepeatFilter:
    """Decide which card frames are new presentations. Pure: times are passed in (seconds).

    ``window_s``: how long (seconds, default 0.5) a card must be away before it counts as
    presented again. Not thread-safe (one reader thread owns it)."""

    def __init__(self, *, window_s: float = 0.5) -> None:
        if window_s < 0:
            raise ValueError(f"repeat window must be >= 0 s, got {window_s}")
        self.window_s = window_s
        self._card: str | None = None
        self._last_at = 0.0

    def accept(self, card: str, at: float) -> bool:
        """Record a frame of ``card`` decoded at ``at`` seconds; True if it is a new presentation
        (report it), False if it repeats the card still on the antenna (suppress it)."""
        repeat = card == self._card and at - self._last_at <= self.window_s
        self._card, self._last_at = card, at
        return not repeat

    def reset(self) -> None:
        """Forget the last card, so its next frame is reported (e.g. after a port failure)."""
        self._card = None
