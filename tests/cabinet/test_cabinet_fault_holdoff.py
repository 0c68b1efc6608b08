"""The hold-off before an I/O fault episode ends: ``cabinet.fault_cleared`` only after
``fault_clear_reads`` good lock + read cycles in a row; until then the cabinet stays locked and
refuses cards and desk releases, and an error restarts the count.

The cabinet's wires are a :class:`StepIO`: each read waits for the test to hand it an outcome
(good, or a Modbus time-out), so every I/O cycle of the worker is counted exactly."""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from cabinet_helpers import CAROL, FakeClock, Recorder, context, write_permissions_cache
from edge.cabinet.errors import CabinetIOError
from edge.cabinet.io import SlotWiring
from edge.cabinet.settings import CabinetSettings
from edge.extensions.cabinet import CabinetExtension
from firmware.probe import wait_until
from hardware.modbus import ModbusTimeout

GOOD = True


class StepIO:
    """Door and slots 1..3 in memory (door closed, every key in). Free-running until
    :meth:`hold`; then each :meth:`read` waits for an outcome from :meth:`push` / :meth:`step`
    (``GOOD``, or an exception to raise). ``energised``: any output ever driven on."""

    description = "step"

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._outcomes: deque[object] = deque()
        self._holding = False
        self.held = 0            # reads that waited for an outcome since hold()
        self.pushed = 0          # outcomes handed over since hold()
        self.energised = False

    def open(self) -> list[str]:
        self.apply(False, frozenset())
        return ["step: locked"]

    def apply(self, door_unlocked: bool, released: frozenset[int]) -> None:
        if door_unlocked or released:
            self.energised = True

    def read(self) -> tuple[bool, dict[int, bool]]:
        with self._cond:
            if self._holding:
                self.held += 1
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._outcomes or not self._holding)
                outcome = self._outcomes.popleft() if self._outcomes else GOOD
                if isinstance(outcome, Exception):
                    raise outcome
        return False, {1: True, 2: True, 3: True}

    def close(self) -> None:
        self.release()

    def hold(self) -> None:
        with self._cond:
            self._holding, self.held, self.pushed = True, 0, 0

    def release(self) -> None:
        """Free-running again (good reads): lets a waiting worker go."""
        with self._cond:
            self._holding = False
            self._cond.notify_all()

    def push(self, outcome: object) -> None:
        """Hand the next read its outcome, without waiting."""
        with self._cond:
            self._outcomes.append(outcome)
            self.pushed += 1
            self._cond.notify_all()

    def step(self, outcome: object, *, timeout_s: float = 5.0) -> None:
        """Hand the next read its outcome and wait until that I/O cycle is over (its events
        emitted: the worker waits in the following read)."""
        self.push(outcome)
        with self._cond:
            assert self._cond.wait_for(lambda: self.held >= self.pushed + 1, timeout_s), \
                f"the worker did not come back to read after outcome {self.pushed}"


def _timeout() -> ModbusTimeout:
    return ModbusTimeout("modbus tcp://10.0.0.20:502 slave 1: read discrete 0+4: no reply")


def _start(tmp_path: Path, *, fault_clear_reads: int = 3, fault_retry_s: float = 0.005,
           clock: FakeClock | None = None) -> tuple[CabinetExtension, Recorder, StepIO]:
    write_permissions_cache(tmp_path / "perm.json")
    settings = CabinetSettings(id="main", door_lock=0, door_contact=0,
                               slots=tuple(SlotWiring(slot=s, lock=s, present=s) for s in (1, 2, 3)),
                               poll_s=0.005, fault_retry_s=fault_retry_s,
                               fault_clear_reads=fault_clear_reads, cache=tmp_path / "perm.json",
                               state=tmp_path / "state.json")
    io, rec = StepIO(), Recorder()
    ext = CabinetExtension(settings, io=io, monotonic=clock or FakeClock())
    ctx = context(rec)
    ext.open_outputs(ctx)
    ext.start(ctx)
    rec.wait_kind("cabinet.inventory")
    io.hold()
    return ext, rec, io


@pytest.fixture
def started(tmp_path) -> Iterator[list]:  # type: ignore[no-untyped-def]
    """Call ``started[0](**kwargs)`` (see ``_start``); stopped after the test."""
    running: list[tuple[CabinetExtension, Recorder, StepIO]] = []

    def start(**kwargs):  # type: ignore[no-untyped-def]
        running.append(_start(tmp_path, **kwargs))
        return running[-1]

    yield [start]
    for ext, _, io in running:
        io.release()
        ext.stop()


def test_module_failing_every_other_read_is_one_fault_and_refuses_cards_throughout(started):
    ext, rec, io = started[0]()
    for _ in range(5):
        ext.present_card(CAROL)
        io.step(_timeout())
        ext.present_card(CAROL)
        io.step(GOOD)
    assert len(rec.of("cabinet.fault")) == 1
    assert rec.of("cabinet.fault_cleared") == []
    assert [e["data"]["reason"] for e in rec.of("cabinet.denied")] == ["io_fault"] * 10
    assert rec.of("cabinet.granted") == [] and not io.energised and ext.faulted


def test_fault_clears_only_after_fault_clear_reads_good_cycles(started):
    clock = FakeClock()
    ext, rec, io = started[0](fault_clear_reads=4, clock=clock)
    io.step(_timeout())
    for _ in range(3):                          # N - 1 good cycles: still the episode
        clock.advance(1.0)
        io.step(GOOD)
    assert rec.of("cabinet.fault_cleared") == [] and ext.faulted
    clock.advance(1.0)
    io.step(GOOD)                               # the N-th
    (cleared,) = rec.of("cabinet.fault_cleared")
    assert cleared["data"] == {"cabinet": "main", "slots": "all", "errors": 1, "fault_s": 4.0}
    assert not ext.faulted


def test_card_while_recovering_is_refused(started):
    ext, rec, io = started[0](fault_clear_reads=3)
    io.step(_timeout())
    io.step(GOOD)
    ext.present_card(CAROL)
    io.step(GOOD)
    assert [e["data"]["reason"] for e in rec.of("cabinet.denied")] == ["io_fault"]
    assert rec.of("cabinet.granted") == [] and not io.energised


def test_desk_release_while_recovering_fails(started):
    ext, rec, io = started[0](fault_clear_reads=3)
    io.step(_timeout())
    io.step(GOOD)
    with ThreadPoolExecutor(1) as pool:
        release = pool.submit(ext._on_worker, lambda m: m.remote_release(
            "k2", holder="x", by="desk1", cmd_id="c1"), what="release of k2")
        assert wait_until(lambda: len(ext._calls) == 1)
        io.step(GOOD)
        with pytest.raises(CabinetIOError, match="I/O fault"):
            release.result(5)
    assert rec.of("cabinet.remote_release") == [] and not io.energised


def test_failure_while_recovering_restarts_the_count(started):
    ext, rec, io = started[0](fault_clear_reads=3)
    io.step(_timeout())
    io.step(GOOD)
    io.step(GOOD)
    io.step(_timeout())                         # 2 of 3 good: the count starts again
    io.step(GOOD)
    io.step(GOOD)
    assert rec.of("cabinet.fault_cleared") == [] and ext.faulted
    io.step(GOOD)
    (cleared,) = rec.of("cabinet.fault_cleared")
    assert cleared["data"]["errors"] == 2
    assert len(rec.of("cabinet.fault")) == 1


def test_card_during_a_fault_is_refused_without_an_early_io_retry(started):
    ext, rec, io = started[0](fault_retry_s=600)
    io.push(_timeout())
    rec.wait_kind("cabinet.fault")
    ext.present_card(CAROL)
    assert rec.wait_kind("cabinet.denied")[0]["data"]["reason"] == "io_fault"
    assert io.held == 1                         # no retry before fault_retry_s: no read since
