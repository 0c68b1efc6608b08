"""Fixtures for driver tests: mock pins, a fake clock, serial ports carrying real frames."""

from __future__ import annotations

import threading
from typing import Iterator

import pytest
from gpiozero.pins.mock import MockFactory



class FakeClock:
    """A monotonic clock the test moves by hand (seconds)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Collector:
    """A callback that keeps what it is given and lets the test wait for it."""

    def __init__(self) -> None:
        self.items: list[object] = []
        self._cond = threading.Condition()

    def __call__(self, *args: object) -> None:
        with self._cond:
            self.items.append(args[0] if len(args) == 1 else args)
            self._cond.notify_all()

    def wait_count(self, n: int, *, timeout_s: float = 5.0) -> list[object]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= n, timeout_s), \
                f"waited for {n} items, got {self.items}"
            return list(self.items)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def pin_factory() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.close()
