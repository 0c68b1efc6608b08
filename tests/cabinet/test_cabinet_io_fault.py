"""I/O faults of a cabinet on a Modbus I/O module (a REAL pymodbus server, hardware.sim.modbus_io,
made to fail): one ``cabinet.fault`` per episode, everything locked, cards refused, and
``cabinet.fault_cleared`` once the module has answered ``fault_clear_reads`` cycles in a row (the
default 3 here; the hold-off itself, cycle by cycle: test_cabinet_fault_holdoff.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory, MockPin

from cabinet_helpers import (CAROL, FakeClock, Recorder, context, kinds, machine,
                             modbus_cabinet_table, write_permissions_cache)
from edge.cabinet.errors import CabinetIOError
from edge.cabinet.io import SlotWiring
from edge.cabinet.settings import CabinetSettings
from edge.extensions.cabinet import CabinetExtension
from firmware.probe import wait_until
from hardware.sim.modbus_io import ModbusIoSim

SLAVE = 3
# coils: door lock 0, slot solenoids 1..3; inputs: contact 0, key-present 1..3


def _sim(transport: str) -> ModbusIoSim:
    s = ModbusIoSim(slaves=(SLAVE,), coils=8, inputs=8, transport=transport).open()
    for slot in (1, 2, 3):
        s.set_input(SLAVE, slot, True)                     # every key in its slot
    return s


@pytest.fixture
def sim():
    s = _sim("tcp")
    yield s
    s.close()


def _start(tmp_path: Path, sim: ModbusIoSim) -> tuple[CabinetExtension, Recorder]:
    write_permissions_cache(tmp_path / "perm.json")
    table = modbus_cabinet_table(tmp_path, sim, slave=SLAVE, timeout_s=0.1, fault_retry_s=0.02)
    settings = CabinetSettings.from_mapping(table, base_dir=tmp_path)
    rec = Recorder()
    ext = CabinetExtension(settings)
    ctx = context(rec)
    ext.open_outputs(ctx)
    ext.start(ctx)
    return ext, rec


@pytest.fixture
def cabinet(tmp_path, sim):
    ext, rec = _start(tmp_path, sim)
    rec.wait_kind("cabinet.inventory")
    yield ext, rec
    ext.stop()


def test_exception_response_raises_one_fault_for_all_slots(cabinet, sim):
    ext, rec = cabinet
    sim.set_fault(SLAVE, "exception")
    (fault,) = rec.wait_kind("cabinet.fault")
    assert wait_until(lambda: ext.counters().get("io_errors") >= 5)
    assert len(rec.of("cabinet.fault")) == 1
    d = fault["data"]
    assert (d["cabinet"], d["slots"], d["reason"], d["operation"]) == ("main", "all", "exception", "read")
    assert d["exception_code"] and "exception response" in d["error"]


def test_fault_clears_once_the_module_answers_again(cabinet, sim):
    ext, rec = cabinet
    sim.set_fault(SLAVE, "exception")
    rec.wait_kind("cabinet.fault")
    assert wait_until(lambda: ext.counters().get("io_errors") >= 2)
    sim.set_fault(SLAVE, None)
    cleared = rec.wait_kind("cabinet.fault_cleared")[0]["data"]
    assert set(cleared) == {"cabinet", "slots", "errors", "fault_s"}
    assert (cleared["cabinet"], cleared["slots"]) == ("main", "all")
    assert cleared["errors"] >= 2 and cleared["fault_s"] >= 0
    assert not ext.faulted and ext.counters().get("faults") == 1


def test_a_second_episode_raises_a_second_fault(cabinet, sim):
    ext, rec = cabinet
    for episode in (1, 2):
        sim.set_fault(SLAVE, "exception")
        rec.wait_kind("cabinet.fault", count=episode)
        sim.set_fault(SLAVE, None)
        rec.wait_kind("cabinet.fault_cleared", count=episode)
    assert ext.counters().get("faults") == 2


def test_silent_module_is_a_timeout_fault(cabinet, sim):
    ext, rec = cabinet
    sim.set_fault(SLAVE, "silent")
    assert rec.wait_kind("cabinet.fault")[0]["data"]["reason"] == "timeout"


def test_stopped_module_is_a_fault(tmp_path):
    s = _sim("tcp")
    ext, rec = _start(tmp_path, s)
    try:
        rec.wait_kind("cabinet.inventory")
        s.close()
        d = rec.wait_kind("cabinet.fault")[0]["data"]
        assert d["slots"] == "all" and d["reason"] in ("modbus", "timeout") and d["error"]
    finally:
        ext.stop()


def test_bad_crc_on_rtu_is_a_crc_fault_and_clears(tmp_path):
    s = _sim("rtu")
    ext, rec = _start(tmp_path, s)
    try:
        rec.wait_kind("cabinet.inventory")
        s.set_fault(SLAVE, "bad_crc")
        assert rec.wait_kind("cabinet.fault")[0]["data"]["reason"] == "crc"
        s.set_fault(SLAVE, None)
        rec.wait_kind("cabinet.fault_cleared")
    finally:
        ext.stop()
        s.close()


def test_open_session_ends_on_a_fault_and_its_slot_stays_locked_after_recovery(cabinet, sim):
    ext, rec = cabinet
    ext.present_card(CAROL)
    assert sim.wait_coil(SLAVE, 2, True)
    sim.set_fault(SLAVE, "exception")
    rec.wait_kind("cabinet.fault")
    assert [e["data"]["reason"] for e in rec.of("cabinet.locked")] == ["fault"]
    sim.set_fault(SLAVE, None)
    rec.wait_kind("cabinet.fault_cleared")
    assert sim.wait_coil(SLAVE, 2, False) and sim.wait_coil(SLAVE, 0, False)


def test_card_during_a_fault_is_refused_and_releases_nothing_after_recovery(cabinet, sim):
    ext, rec = cabinet
    sim.set_fault(SLAVE, "exception")
    rec.wait_kind("cabinet.fault")
    ext.present_card(CAROL)
    denied = rec.wait_kind("cabinet.denied")[0]["data"]
    assert (denied["card"], denied["reason"]) == (CAROL, "io_fault")
    sim.set_fault(SLAVE, None)
    rec.wait_kind("cabinet.fault_cleared")
    assert rec.of("cabinet.granted") == []
    assert not sim.coil(SLAVE, 2) and not sim.coil(SLAVE, 0)


def test_key_lifted_during_a_fault_is_reported_forced_after_recovery(cabinet, sim):
    ext, rec = cabinet
    sim.set_fault(SLAVE, "exception")
    rec.wait_kind("cabinet.fault")
    sim.set_input(SLAVE, 1, False)
    sim.set_fault(SLAVE, None)
    forced = rec.wait_kind("key.forced")[0]["data"]
    assert forced["key"] == "k1"
    kinds = [e["kind"] for e in rec.events]
    assert kinds.index("cabinet.fault_cleared") < kinds.index("key.forced")


def test_desk_release_during_a_fault_fails_and_nothing_unlocks(cabinet, sim):
    ext, rec = cabinet
    sim.set_fault(SLAVE, "exception")
    rec.wait_kind("cabinet.fault")
    with pytest.raises(CabinetIOError, match="I/O fault"):
        ext._on_worker(lambda m: m.remote_release("k2", holder="x", by="desk1", cmd_id="c1"),
                       what="release of k2")
    assert rec.of("cabinet.remote_release") == []


def test_fault_before_start_is_reported_once_the_node_runs(tmp_path):
    s = _sim("tcp")
    s.set_fault(SLAVE, "exception")
    ext, rec = _start(tmp_path, s)
    try:
        assert rec.wait_kind("cabinet.fault")[0]["data"]["operation"] == "write"
        s.set_fault(SLAVE, None)
        rec.wait_kind("cabinet.fault_cleared")
        rec.wait_kind("cabinet.inventory")
        assert len(rec.of("cabinet.fault")) == 1
    finally:
        ext.stop()
        s.close()


# -- slots on GPIO: a pin that fails (gpiozero MockFactory with a failing pin class) -----------

GPIO_SLOTS = {1: (12, 13), 2: (16, 19)}


class _FailingPin(MockPin):
    """A mock pin whose level cannot be read while ``broken`` (a dead GPIO expander line)."""

    broken = False

    def _get_state(self):  # type: ignore[no-untyped-def]
        if self.broken:
            raise OSError(f"GPIO{self._info.name}: input/output error")
        return super()._get_state()


@pytest.fixture
def gpio_cabinet(tmp_path):
    factory = MockFactory(pin_class=_FailingPin)
    write_permissions_cache(tmp_path / "perm.json")
    settings = CabinetSettings(id="main", door_lock=5, door_contact=6,
                               slots=tuple(SlotWiring(slot=s, lock=lock, present=present)
                                           for s, (lock, present) in GPIO_SLOTS.items()),
                               poll_s=0.005, fault_retry_s=0.01, cache=tmp_path / "perm.json",
                               state=tmp_path / "state.json")
    rec = Recorder()
    ext = CabinetExtension(settings)
    ctx = context(rec, factory)
    ext.open_outputs(ctx)
    for _, present in GPIO_SLOTS.values():
        factory.pin(present).drive_low()                   # both keys in
    ext.start(ctx)
    rec.wait_kind("cabinet.inventory")
    yield ext, rec, factory
    ext.stop()
    factory.close()


def test_unreadable_gpio_input_faults_only_its_slot_and_clears(gpio_cabinet):
    ext, rec, factory = gpio_cabinet
    pin = factory.pin(GPIO_SLOTS[2][1])
    pin.broken = True
    d = rec.wait_kind("cabinet.fault")[0]["data"]
    assert (d["slots"], d["operation"], d["reason"]) == ([2], "read", "gpio")
    pin.broken = False
    assert rec.wait_kind("cabinet.fault_cleared")[0]["data"]["slots"] == [2]
    assert rec.of("key.forced") == []


def test_machine_io_fault_ends_the_session_and_releases_nothing():
    m = machine(FakeClock())
    m.card(CAROL)
    assert m.released_slots == {2} and m.door_unlocked
    assert kinds(m.io_fault()) == ["cabinet.locked"]
    assert m.released_slots == frozenset() and not m.door_unlocked
    assert m.io_fault() == []
