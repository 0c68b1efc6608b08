"""The pass a gate's guard is deciding on: shown green after a good scan, waiting for the guard's
"release" or "deny" button, denied with reason ``timeout`` when neither comes in time.

One pass at a time (one guard, one load of goods): a different pass scanned while one waits
supersedes it (the waiting one is denied, reason ``superseded``). Not thread-safe: the gate
extension holds its own lock around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from mqtt_topics.passes import GoodsPassToken

__all__ = ["Pending", "PendingPass"]


@dataclass(frozen=True)
class Pending:
    """A verified pass waiting for the guard: the ``token``, the event ``data`` built at the scan,
    and the ``deadline`` (monotonic seconds) after which it is denied for ``timeout``."""

    token: GoodsPassToken
    data: dict[str, Any] = field(compare=False)
    deadline: float

    @property
    def pass_id(self) -> str:
        return self.token.pass_id


class PendingPass:
    """At most one :class:`Pending` pass.

    - ``timeout_s``: how long a pass waits for the guard, seconds (the config's
      ``decision_timeout_s``, default 60);
    - ``monotonic``: seconds (default ``time.monotonic``; tests inject their own).
    """

    def __init__(self, *, timeout_s: float = 60.0, monotonic: Callable[[], float]) -> None:
        self.timeout_s = timeout_s
        self._monotonic = monotonic
        self._current: Pending | None = None

    @property
    def current(self) -> Pending | None:
        """The pass waiting for the guard, or None."""
        return self._current

    def offer(self, token: GoodsPassToken, data: dict[str, Any]) -> Pending | None:
        """Make ``token`` the waiting pass (its deadline starts now); returns the pass it
        superseded, if any."""
        previous, self._current = self._current, Pending(token, data,
                                                         self._monotonic() + self.timeout_s)
        return previous

    def take(self) -> Pending | None:
        """Remove and return the waiting pass (the guard pressed a button), or None."""
        current, self._current = self._current, None
        return current

    def expire(self) -> Pending | None:
        """Remove and return the waiting pass if its deadline has passed, else None."""
        if self._current is not None and self._monotonic() >= self._current.deadline:
            return self.take()
        return None

    def seconds_left(self) -> float | None:
        """Seconds until the waiting pass times out (0 when due), None when nothing waits."""
        if self._current is None:
            return None
        return max(0.0, self._current.deadline - self._monotonic())
