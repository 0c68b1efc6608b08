"""Counters and a latency window, the figures the health telemetry reports.

Every part of the node owns a :class:`Counters` (``mqtt``, ``outbox``, ``commands``, one per
extension); :class:`CounterRegistry` flattens them into ``<group>_<name>`` figures.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Iterable, Mapping


class Counters:
    """A thread-safe set of named integer counters (all start at 0)."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = {n: 0 for n in names}

    def incr(self, name: str, n: int = 1) -> int:
        """Add ``n`` (default 1) to ``name``; returns the new value."""
        with self._lock:
            value = self._values.get(name, 0) + n
            self._values[name] = value
            return value

    def get(self, name: str) -> int:
        with self._lock:
            return self._values.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._values)

    def __getitem__(self, name: str) -> int:
        return self.get(name)

    def __repr__(self) -> str:
        return f"<Counters {self.snapshot()}>"


class CounterRegistry:
    """Named groups of counters; :meth:`flat` gives ``{"<group>_<name>": value}``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, Counters] = {}

    def group(self, name: str) -> Counters:
        """The group ``name``, created on first use."""
        with self._lock:
            return self._groups.setdefault(name, Counters())

    def add(self, name: str, counters: Counters) -> Counters:
        """Register an existing :class:`Counters` under ``name``."""
        with self._lock:
            self._groups[name] = counters
            return counters

    def flat(self) -> dict[str, int]:
        with self._lock:
            groups = dict(self._groups)
        out: dict[str, int] = {}
        for gname, counters in groups.items():
            for name, value in counters.snapshot().items():
                out[f"{gname}_{name}".replace(".", "_").replace("-", "_")] = value
        return out

    def groups(self) -> Mapping[str, Counters]:
        with self._lock:
            return dict(self._groups)


class LatencyWindow:
    """The last ``size`` (default 2048) latency samples in ms; quantiles on demand."""

    def __init__(self, size: int = 2048) -> None:
        self._lock = threading.Lock()
        self._samples: deque[float] = deque(maxlen=size)
        self.count = 0

    def add(self, ms: float) -> None:
        with self._lock:
            self._samples.append(float(ms))
            self.count += 1

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1) of the window, ms; None when empty (nearest rank)."""
        with self._lock:
            if not self._samples:
                return None
            ordered = sorted(self._samples)
        return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered))))]
