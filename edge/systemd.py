"""systemd service notifications (``Type=notify``, ``WatchdogSec=``) with the standard library.

:func:`notify` sends one datagram to ``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract
namespace); without that variable it does nothing, so the node runs the same outside systemd.
:class:`Watchdog` sends ``WATCHDOG=1`` every half of ``$WATCHDOG_USEC``, but only while its
health check passes (the node checks that the MQTT network thread, the outbox pump and the device
threads are alive): a wedged node is then restarted by systemd.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Callable, Mapping

__all__ = ["notify", "watchdog_interval_s", "Watchdog"]

log = logging.getLogger(__name__)


def notify(state: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``, ``"STOPPING=1"``, ``"WATCHDOG=1"``,
    ``"STATUS=..."``) to the service manager. Returns True if sent, False without
    ``NOTIFY_SOCKET`` or when sending failed (logged; never raises)."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
        return True
    except OSError as exc:
        log.warning("systemd: notify %r failed: %s", state, exc)
        return False


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """Half of ``$WATCHDOG_USEC`` in seconds (how often to ping), or None when the watchdog is
    off (unset, not a number, or ``$WATCHDOG_PID`` names another process)."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2 / 1_000_000 if value > 0 else None


class Watchdog:
    """Ping the systemd watchdog while ``healthy()`` returns True.

    ``interval_s``: seconds between pings (default: :func:`watchdog_interval_s`); nothing runs
    when it is None. The constructor does no I/O; :meth:`start` starts the thread."""

    def __init__(self, healthy: Callable[[], bool], *, interval_s: float | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self._healthy = healthy
        self._environ = environ
        self.interval_s = interval_s if interval_s is not None else watchdog_interval_s(environ)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pings = 0
        self.missed = 0

    def tick(self) -> bool:
        """One check: ping if healthy. Returns True if a ping was sent."""
        try:
            ok = bool(self._healthy())
        except Exception:  # noqa: BLE001
            log.exception("systemd: health check failed")
            ok = False
        if not ok:
            self.missed += 1
            if self.missed == 1 or self.missed % 10 == 0:
                log.error("systemd: a node thread is dead; withholding the watchdog ping")
            return False
        sent = notify("WATCHDOG=1", environ=self._environ)
        if sent:
            self.pings += 1
        return sent

    def start(self) -> "Watchdog":
        if self.interval_s and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="systemd-watchdog", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        assert self.interval_s
        while not self._stop.wait(self.interval_s):
            self.tick()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
