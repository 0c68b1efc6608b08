"""Periodic console jobs: overdue loans, patrol round ticks, call time-outs, auto check-out,
visit anonymisation, meter anomaly checks.

Each job is ``fn(now_ms)`` with a period in milliseconds of the console's clock.  The
:class:`JobRunner` thread wakes once a second (real time) and runs what is due by the injected
clock; tests skip the thread and call :meth:`JobRunner.run_due` with their own clock.  A job
that raises is logged and counted, and runs again at its next period.

Usage::

    jobs = JobRunner(clock=services.clock)
    jobs.add("keys.overdue", keys.check_overdue, every_ms=60_000)
    jobs.start()            # the console process; tests call jobs.run_due() instead
    ...
    jobs.stop()
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

__all__ = ["JobRunner"]

log = logging.getLogger(__name__)


@dataclass
class _Job:
    name: str
    fn: Callable[[int], object]
    every_ms: int
    next_at: int | None = None
    runs: int = 0
    failures: int = 0


class JobRunner:
    """Runs registered jobs when due.

    :param clock: UTC ms (the console's clock).
    :param wake_s: real seconds between checks of the thread (default 1.0)."""

    def __init__(self, *, clock: Callable[[], int], wake_s: float = 1.0) -> None:
        if wake_s <= 0:
            raise ValueError("wake_s must be > 0")
        self._clock = clock
        self._wake_s = wake_s
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, name: str, fn: Callable[[int], object], *, every_ms: int) -> None:
        """Register ``fn(now_ms)`` to run every ``every_ms`` (first run: the first check).
        Adding a name again replaces the job."""
        if every_ms <= 0:
            raise ValueError(f"job {name}: every_ms must be > 0")
        with self._lock:
            self._jobs[name] = _Job(name=name, fn=fn, every_ms=every_ms)

    def names(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._jobs)

    def counters(self) -> dict[str, dict[str, int]]:
        """``{job: {"runs": n, "failures": n}}``."""
        with self._lock:
            return {j.name: {"runs": j.runs, "failures": j.failures} for j in self._jobs.values()}

    def run_due(self, now_ms: int | None = None) -> list[str]:
        """Run every job due at ``now_ms`` (default: the clock); the names run, in order."""
        now = self._clock() if now_ms is None else now_ms
        with self._lock:
            due = [j for j in self._jobs.values() if j.next_at is None or j.next_at <= now]
            for j in due:
                j.next_at = now + j.every_ms
        ran = []
        for job in due:
            try:
                job.fn(now)
                job.runs += 1
            except Exception:
                job.failures += 1
                log.exception("job %s failed", job.name)
            ran.append(job.name)
        return ran

    def start(self) -> None:
        """Run the jobs in a daemon thread until :meth:`stop`.  Idempotent."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="console-jobs", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            self._stop.wait(self._wake_s)

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Stop the thread (a running job finishes first).  Idempotent."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout_s)
