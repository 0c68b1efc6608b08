"""Health telemetry: every ``health_interval_s`` publish ``Telemetry(device="health")`` with the
node's figures (uptime_s, journal_depth, oldest_unsent_age_s, publish_latency_p50_ms /
publish_latency_p99_ms, dropped_total and every counter). QoS 0, never journalled: a figure
missed while offline is replaced by the next one."""

from __future__ import annotations

import logging
import threading

from ..counters import Counters
from .base import Extension, NodeContext

log = logging.getLogger(__name__)

DEVICE = "health"


class HealthExtension(Extension):
    """Publish the node's health figures periodically. ``interval_s``: seconds (> 0)."""

    name = "health"

    def __init__(self, *, interval_s: float) -> None:
        self.interval_s = interval_s
        self._ctx: NodeContext | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._counters = Counters(["published", "skipped", "errors"])

    def start(self, ctx: NodeContext) -> None:
        self._ctx = ctx
        self._thread = threading.Thread(target=self._run, name="health", daemon=True)
        self._thread.start()

    def publish_now(self) -> bool:
        """Publish the figures now; False if offline (or they could not be gathered)."""
        assert self._ctx is not None
        try:
            figures = {k: v for k, v in self._ctx.health_figures().items() if v is not None}
            ok = self._ctx.publish_telemetry(DEVICE, figures)
        except Exception:  # noqa: BLE001 - health must never stop the node
            self._counters.incr("errors")
            log.exception("health: publishing figures failed")
            return False
        self._counters.incr("published" if ok else "skipped")
        return ok

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.publish_now()

    def alive(self) -> bool:
        return self._thread is None or self._thread.is_alive() or self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def counters(self) -> Counters:
        return self._counters
