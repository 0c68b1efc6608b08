"""Anti-passback for an entry/exit reader pair: a card that went in must come out before it can
go in again (and the other way round), so one card cannot be passed back to let a second
person in.

Each credential's last direction is remembered from its granted reads. A read in the same
direction as the last one is a violation; a credential not seen yet (or forgiven) may go either
way. The state lives in memory: after a restart everyone starts unknown, the lenient side.
"""

from __future__ import annotations

from typing import Literal

Direction = Literal["in", "out"]


class AntiPassback:
    """Last direction per credential id. Pure; not thread-safe (the decider serialises calls)."""

    def __init__(self) -> None:
        self._last: dict[str, Direction] = {}

    def violates(self, credential_id: str, direction: Direction) -> bool:
        """True if going ``direction`` repeats the credential's last direction."""
        return self._last.get(credential_id) == direction

    def passed(self, credential_id: str, direction: Direction) -> None:
        """Record a granted passage."""
        self._last[credential_id] = direction

    def last(self, credential_id: str) -> Direction | None:
        """The credential's last direction, None if unknown."""
        return self._last.get(credential_id)

    def forgive(self, credential_id: str | None = None) -> None:
        """Forget one credential's direction (a guard let them through), or everyone's."""
        if credential_id is None:
            self._last.clear()
        else:
            self._last.pop(credential_id, None)
