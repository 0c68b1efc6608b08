"""The cabinet extension with its door and slots on a Modbus I/O module: a REAL pymodbus server
(hardware.sim.modbus_io), over TCP and over RTU on a pty pair."""

from __future__ import annotations

import pytest

from cabinet_helpers import CAROL, Recorder, context, modbus_cabinet_table, write_permissions_cache
from edge.cabinet.settings import CabinetSettings
from edge.extensions.cabinet import CabinetExtension
from hardware.sim.modbus_io import ModbusIoSim

SLAVE = 3
# coils: door lock 0, slot solenoids 1..3; inputs: contact 0, key-present 1..3


@pytest.fixture(params=["tcp", "rtu"])
def sim(request):
    with ModbusIoSim(slaves=(SLAVE,), coils=8, inputs=8, transport=request.param) as s:
        for slot in (1, 2, 3):
            s.set_input(SLAVE, slot, True)                 # every key in its slot
        yield s


@pytest.fixture
def cabinet(tmp_path, sim):
    write_permissions_cache(tmp_path / "perm.json")
    settings = CabinetSettings.from_mapping(modbus_cabinet_table(tmp_path, sim, slave=SLAVE), base_dir=tmp_path)
    rec = Recorder()
    ext = CabinetExtension(settings)
    ctx = context(rec)
    ext.open_outputs(ctx)
    ext.start(ctx)
    rec.wait_kind("cabinet.inventory")
    yield ext, rec
    ext.stop()


def test_permitted_card_sets_exactly_its_slot_coils(cabinet, sim):
    ext, rec = cabinet
    ext.present_card(CAROL)
    rec.wait_kind("cabinet.granted")
    assert sim.wait_coil(SLAVE, 2, True) and sim.coil(SLAVE, 0)
    assert not sim.coil(SLAVE, 1) and not sim.coil(SLAVE, 3)


def test_key_taken_from_a_released_slot_on_the_module(cabinet, sim):
    ext, rec = cabinet
    ext.present_card(CAROL)
    rec.wait_kind("cabinet.granted")
    sim.set_input(SLAVE, 2, False)
    assert rec.wait_kind("key.taken")[0]["data"]["key"] == "k2"


def test_door_closing_clears_every_coil(cabinet, sim):
    ext, rec = cabinet
    ext.present_card(CAROL)
    assert sim.wait_coil(SLAVE, 2, True)
    sim.set_input(SLAVE, 0, True)                          # door opens...
    rec.wait_kind("cabinet.door")
    sim.set_input(SLAVE, 0, False)                         # ...and closes
    rec.wait_kind("cabinet.locked")
    assert sim.wait_coil(SLAVE, 2, False) and sim.wait_coil(SLAVE, 0, False)


def test_stop_leaves_every_coil_locked(tmp_path, sim):
    settings = CabinetSettings.from_mapping(modbus_cabinet_table(tmp_path, sim, slave=SLAVE), base_dir=tmp_path)
    write_permissions_cache(tmp_path / "perm.json")
    rec = Recorder()
    ext = CabinetExtension(settings)
    ctx = context(rec)
    ext.open_outputs(ctx)
    ext.start(ctx)
    ext.present_card(CAROL)
    assert sim.wait_coil(SLAVE, 2, True)
    ext.stop()
    assert [sim.coil(SLAVE, a) for a in range(4)] == [False] * 4
