"""Reader lock-out: after ``after`` denied reads in a row at a reader, every read there is
refused for ``seconds`` (someone trying cards, a cloned-card scanner)."""

from __future__ import annotations


class ReaderLockout:
    """Consecutive-denial counter and lock-out deadline per reader. Pure: times (seconds,
    monotonic) are passed in. ``after`` = 0 disables lock-out. Not thread-safe (the decider
    serialises calls)."""

    def __init__(self, *, after: int = 5, seconds: float = 30.0) -> None:
        if after < 0 or seconds < 0:
            raise ValueError("lock-out: 'after' and 'seconds' must be >= 0")
        self.after = after
        self.seconds = seconds
        self._denied: dict[str, int] = {}
        self._until: dict[str, float] = {}

    def locked(self, reader: str, now: float) -> bool:
        """True while ``reader`` is locked out; an expired lock-out is cleared (counter at 0)."""
        until = self._until.get(reader)
        if until is None:
            return False
        if now < until:
            return True
        del self._until[reader]
        self._denied.pop(reader, None)
        return False

    def locked_until(self, reader: str) -> float | None:
        """When the reader's current lock-out ends (monotonic seconds), None if not locked."""
        return self._until.get(reader)

    def denied(self, reader: str, now: float) -> bool:
        """Record a denied read; True if it starts a lock-out."""
        if not self.after:
            return False
        count = self._denied.get(reader, 0) + 1
        if count >= self.after:
            self._denied[reader] = 0
            self._until[reader] = now + self.seconds
            return True
        self._denied[reader] = count
        return False

    def granted(self, reader: str) -> None:
        """Record a granted read: the run of denials is broken."""
        self._denied.pop(reader, None)

    def denied_in_a_row(self, reader: str) -> int:
        """Denied reads in a row at ``reader`` since its last grant or lock-out."""
        return self._denied.get(reader, 0)
