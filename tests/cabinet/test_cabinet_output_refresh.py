"""The periodic re-assert of the outputs: every ``output_refresh_s`` (on the extension's
monotonic clock, a :class:`FakeClock` here) the worker writes every coil again, changed or not,
so a Modbus module whose writes fail while its reads still work is a ``cabinet.fault``
(operation ``write``) within that time; between refreshes nothing is written while nothing
changes.

The cabinet's wires are the real :class:`ModbusCabinetIO` on a :class:`CountingBus` (in memory:
counts coil writes, can be made to refuse them); the worker polls every 5 ms of real time, and
the tests wait on the bus's read count, never on time."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator

import pytest

from cabinet_helpers import FakeClock, Recorder, context, write_permissions_cache
from edge.cabinet.io import ModbusCabinetIO, SlotWiring
from edge.cabinet.settings import CabinetSettings
from edge.extensions.cabinet import CabinetExtension
from hardware.modbus import ModbusTimeout

REFRESH_S = 5.0
COILS = 4                                   # door lock (coil 0) + slots 1..3 (coils 1..3)


class CountingBus:
    """A Modbus bus in memory: door closed, every key in (inputs 0..3); ``writes`` counts coil
    writes, ``reads`` input reads; with ``fail_writes`` every coil write times out."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.writes = 0
        self.reads = 0
        self.fail_writes = False

    def open(self) -> "CountingBus":
        return self

    def close(self) -> None:
        pass

    def write_coil(self, address: int, value: bool, *, slave: int) -> None:
        with self._cond:
            if self.fail_writes:
                raise ModbusTimeout(f"modbus test slave {slave}: write coil {address}: no reply")
            self.writes += 1

    def read_discrete_inputs(self, first: int, count: int, *, slave: int) -> list[bool]:
        with self._cond:
            self.reads += 1
            self._cond.notify_all()
        return [False, True, True, True][first:first + count]

    def wait_reads(self, more: int, *, timeout_s: float = 5.0) -> None:
        """Wait until the worker has read the inputs ``more`` times more (whole poll cycles)."""
        with self._cond:
            target = self.reads + more
            assert self._cond.wait_for(lambda: self.reads >= target, timeout_s), \
                f"the worker did not read {more} more times"


@pytest.fixture
def cabinet(tmp_path: Path) -> Iterator[tuple[CabinetExtension, Recorder, CountingBus, FakeClock]]:
    write_permissions_cache(tmp_path / "perm.json")
    slots = tuple(SlotWiring(slot=s, lock=s, present=s) for s in (1, 2, 3))
    settings = CabinetSettings(id="main", io="modbus", door_lock=0, door_contact=0, slots=slots,
                               poll_s=0.005, fault_retry_s=0.005, output_refresh_s=REFRESH_S,
                               cache=tmp_path / "perm.json", state=tmp_path / "state.json")
    bus, clock, rec = CountingBus(), FakeClock(), Recorder()
    io = ModbusCabinetIO(bus_factory=lambda: bus, slave=1, door_lock=0, door_contact=0, slots=slots)
    ext = CabinetExtension(settings, io=io, monotonic=clock)
    ctx = context(rec)
    ext.open_outputs(ctx)
    ext.start(ctx)
    rec.wait_kind("cabinet.inventory")
    bus.wait_reads(2)                       # past the first cycles (the worker's own bus)
    yield ext, rec, bus, clock
    bus.fail_writes = False
    ext.stop()


def test_nothing_is_written_between_refreshes_while_nothing_changes(cabinet):
    ext, rec, bus, clock = cabinet
    before = bus.writes
    clock.advance(REFRESH_S - 0.1)
    bus.wait_reads(20)
    assert bus.writes == before


def test_every_coil_is_written_again_after_output_refresh_s(cabinet):
    ext, rec, bus, clock = cabinet
    bus.wait_reads(2)
    before = bus.writes
    clock.advance(REFRESH_S)
    bus.wait_reads(20)                      # one refresh, then none until the clock moves again
    assert bus.writes == before + COILS


def test_writes_failing_with_reads_fine_are_a_write_fault_after_the_refresh(cabinet):
    ext, rec, bus, clock = cabinet
    bus.fail_writes = True
    bus.wait_reads(20)                      # no output change: no write tried yet
    assert rec.of("cabinet.fault") == [] and not ext.faulted
    clock.advance(REFRESH_S)
    (fault,) = rec.wait_kind("cabinet.fault")
    assert (fault["data"]["operation"], fault["data"]["reason"], fault["data"]["slots"]) == \
        ("write", "timeout", "all")
    assert ext.faulted
