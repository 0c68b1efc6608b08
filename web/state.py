"""What the running console holds: its config, the data services, the users, the audit log,
the log-in limiter and the clock, in one object kept in ``app.extensions["lobbygate"]``."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from flask import Flask, current_app

if TYPE_CHECKING:  # pragma: no cover
    from .audit import AuditLog
    from .auth.ratelimit import LoginRateLimiter
    from .auth.users import UserStore
    from .config import ConsoleConfig
    from .services import ConsoleServices

__all__ = ["ConsoleState", "console", "EXTENSION_KEY"]

EXTENSION_KEY = "lobbygate"
log = logging.getLogger(__name__)


@dataclass(eq=False)
class ConsoleState:
    """The console's parts. ``owns_services``: :func:`web.create_app` built (and started) the
    services, so :meth:`close` stops them; ``stopping`` is set when the console shuts down
    (live streams end); ``clock`` gives UTC ms."""

    config: "ConsoleConfig"
    services: "ConsoleServices"
    users: "UserStore"
    audit: "AuditLog"
    limiter: "LoginRateLimiter"
    clock: Callable[[], int]
    owns_services: bool = False
    stopping: threading.Event = field(default_factory=threading.Event)
    _subscriptions: set = field(default_factory=set)  # type: ignore[type-arg]
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False

    # -- live streams ------------------------------------------------------------------------
    def stream_opened(self, subscription: Any) -> None:
        """A live stream started with its LiveFeed ``subscription`` (closed on shutdown)."""
        with self._lock:
            self._subscriptions.add(subscription)

    def stream_closed(self, subscription: Any) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    @property
    def open_streams(self) -> int:
        """Server-sent-event streams currently open."""
        with self._lock:
            return len(self._subscriptions)

    # -- shutdown ----------------------------------------------------------------------------
    def begin_shutdown(self) -> None:
        """End live streams: their subscriptions are closed, which wakes them at once."""
        self.stopping.set()
        with self._lock:
            subscriptions = list(self._subscriptions)
        for sub in subscriptions:
            sub.close()

    def close(self) -> None:
        """End live streams, stop the services if this console started them, close the users
        store. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.begin_shutdown()
        if self.owns_services:
            try:
                self.services.stop()
            except Exception:  # pragma: no cover - logged, shutdown goes on
                log.exception("stopping the console services failed")
        self.users.close()


def console(app: Flask | None = None) -> ConsoleState:
    """The :class:`ConsoleState` of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION_KEY]
