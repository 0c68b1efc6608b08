"""Failed log-in limits: at most N failures per minute per account AND per client address.

Once either key has ``max_failures`` failures inside the sliding window, further attempts for
it are refused *before* the password is checked, even a right one, until the oldest failure
leaves the window. Kept in memory (one console process); bounded in the number of keys.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from typing import Callable

__all__ = ["LoginRateLimiter"]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class LoginRateLimiter:
    """Sliding-window counter of failed log-ins.

    ``max_failures``: failures allowed per key inside the window (default 10);
    ``window_ms``: the window (default 60,000 ms); ``clock``: UTC ms (injectable);
    ``max_keys``: keys remembered at most, the least recently failed are forgotten first
    (default 10,000)."""

    def __init__(self, *, max_failures: int = 10, window_ms: int = 60_000,
                 clock: Callable[[], int] | None = None, max_keys: int = 10_000) -> None:
        if max_failures < 1 or window_ms < 1:
            raise ValueError("max_failures and window_ms must be positive")
        self.max_failures = max_failures
        self.window_ms = window_ms
        self._clock = clock or _now_ms
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[int]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, address: str | None) -> tuple[str, str]:
        return f"user:{(username or '').strip().lower()}", f"addr:{address or '?'}"

    def _recent(self, key: str, now: int) -> deque[int] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and now - times[0] >= self.window_ms:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after_s(self, *, username: str, address: str | None) -> int | None:
        """Seconds until an attempt for this account from this address is allowed again
        (rounded up, >= 1), or None if it is allowed now."""
        now = self._clock()
        wait_ms = 0
        with self._lock:
            for key in self._keys(username, address):
                times = self._recent(key, now)
                if times is not None and len(times) >= self.max_failures:
                    # allowed again when enough old failures have left the window
                    oldest_blocking = times[len(times) - self.max_failures]
                    wait_ms = max(wait_ms, oldest_blocking + self.window_ms - now)
        return None if wait_ms <= 0 else max(1, -(-wait_ms // 1000))

    def failed(self, *, username: str, address: str | None) -> None:
        """Count one failed attempt against the account and the address."""
        now = self._clock()
        with self._lock:
            for key in self._keys(username, address):
                times = self._recent(key, now) or deque()
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def reset(self) -> None:
        """Forget every failure (tests, an administrator's request)."""
        with self._lock:
            self._failures.clear()
