"""In-process fan-out of live updates (for server-sent events and for tests).

The ingest publishes ``("event", event)``, ``("alarm", alarm)`` and ``("node", node)`` after
each committed batch; :class:`~web.stores.alarms.AlarmStore` publishes ``("alarm_ack",
alarm)``.  Each subscriber has its own bounded queue; a slow subscriber loses its *oldest*
updates (counted in :attr:`Subscription.dropped`), never slows the publisher.

Usage::

    with feed.subscribe() as sub:
        while (item := sub.get(timeout_s=15)) is not None:
            channel, payload = item
"""

from __future__ import annotations

import collections
import threading
from typing import Any

__all__ = ["LiveFeed", "Subscription", "CHANNELS"]

#: The channels the console publishes on.
CHANNELS = ("event", "alarm", "alarm_ack", "node")


class Subscription:
    """One subscriber's queue.  Use :meth:`get` in a loop; :meth:`close` (or ``with``) to
    leave the feed.  ``dropped``: updates lost because the queue was full."""

    def __init__(self, feed: "LiveFeed", maxsize: int) -> None:
        self._feed = feed
        self._items: collections.deque[tuple[str, dict[str, Any]]] = collections.deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self.dropped = 0
        self.closed = False

    def _put(self, item: tuple[str, dict[str, Any]]) -> None:
        with self._cond:
            if self.closed:
                return
            if len(self._items) >= self._maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify()

    def get(self, timeout_s: float) -> tuple[str, dict[str, Any]] | None:
        """The next ``(channel, payload)``, or ``None`` after ``timeout_s`` seconds without one
        (or once closed)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self.closed, timeout_s):
                return None
            return self._items.popleft() if self._items else None

    def close(self) -> None:
        """Leave the feed (wakes a blocked :meth:`get`).  Idempotent."""
        with self._cond:
            if self.closed:
                return
            self.closed = True
            self._cond.notify_all()
        self._feed._remove(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LiveFeed:
    """Publish/subscribe inside the console process.  Thread-safe."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        """Hand ``(channel, payload)`` to every current subscriber (never blocks)."""
        with self._lock:
            subs = list(self._subs)
        for s in subs:
            s._put((channel, payload))

    def subscribe(self, *, maxsize: int = 1000) -> Subscription:
        """A new subscription holding at most ``maxsize`` pending updates (default 1000)."""
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        sub = Subscription(self, maxsize)
        with self._lock:
            self._subs.append(sub)
        return sub

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def close(self) -> None:
        """Close every subscription (their blocked :meth:`Subscription.get` return ``None``)."""
        with self._lock:
            subs = list(self._subs)
        for s in subs:
            s.close()

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)
