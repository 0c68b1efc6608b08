"""Our Modbus adapter against a real pymodbus server, over TCP and RTU on a pty pair."""

from __future__ import annotations

import threading

import pytest
from meter_helpers import bus_for

from hardware.errors import HardwareError
from hardware.meters import decode_value, plan_blocks
from hardware.modbus import ModbusCrcError, ModbusError, ModbusTimeout


@pytest.mark.parametrize("map_name", ["eastron_sdm120", "eastron_sdm630", "water_generic"])
def test_every_builtin_map_decodes_what_the_meter_holds(make_sim, transport, map_name):
    from hardware.meters import load_map
    m = load_map(map_name)
    sim = make_sim(meters={7: m}, transport=transport)
    with bus_for(sim) as bus:
        got = {}
        for block in plan_blocks(m):
            read = bus.read_input_registers if block.function == "input" else bus.read_holding_registers
            words = read(block.address, block.count, slave=7)
            for r in block.registers:
                off = r.address - block.address
                got[r.name] = decode_value(words[off:], r.type, word_order=r.word_order, scale=r.scale)
    assert got == pytest.approx({r.name: sim.value(7, r.name) for r in m.registers})


def test_a_silent_slave_is_a_timeout(make_sim, transport, sdm120):
    sim = make_sim(meters={1: sdm120}, transport=transport)
    sim.set_fault(1, "silent")
    with bus_for(sim) as bus, pytest.raises(ModbusTimeout):
        bus.read_input_registers(0, 2, slave=1)


def test_a_reply_with_a_bad_crc_is_a_crc_error(make_sim, sdm120):
    sim = make_sim(meters={1: sdm120}, transport="rtu")
    sim.set_fault(1, "bad_crc")
    with bus_for(sim) as bus, pytest.raises(ModbusCrcError):
        bus.read_input_registers(0, 2, slave=1)


def test_an_exception_response_carries_its_code(make_sim, transport, sdm120):
    sim = make_sim(meters={1: sdm120}, transport=transport)
    sim.set_fault(1, "exception")
    with bus_for(sim) as bus, pytest.raises(ModbusError) as info:
        bus.read_input_registers(0, 2, slave=1)
    assert info.value.exception_code == 2 and not isinstance(info.value, ModbusTimeout)


def test_the_bus_works_again_after_a_fault(make_sim, transport, sdm120):
    sim = make_sim(meters={1: sdm120}, transport=transport)
    with bus_for(sim) as bus:
        sim.set_fault(1, "silent")
        with pytest.raises(ModbusTimeout):
            bus.read_input_registers(0, 2, slave=1)
        sim.set_fault(1, None)
        assert decode_value(bus.read_input_registers(0, 2, slave=1), "float32") == 230.0


def test_coils_and_discrete_inputs(make_sim, sdm120):
    sim = make_sim(meters={1: sdm120})
    with bus_for(sim) as bus:
        bus.write_coil(3, True, slave=1)
        assert bus.read_coils(3, 1, slave=1) == [True]
        assert bus.read_discrete_inputs(0, 3, slave=1) == [False, False, False]


def test_our_errors_are_hardware_errors():
    assert issubclass(ModbusTimeout, HardwareError) and issubclass(ModbusCrcError, ModbusError)


def test_a_closed_bus_refuses_requests(make_sim, sdm120):
    sim = make_sim(meters={1: sdm120})
    bus = bus_for(sim).open()
    bus.close()
    bus.close()
    with pytest.raises(ModbusError, match="closed"):
        bus.read_input_registers(0, 2, slave=1)


def test_a_bus_refuses_a_second_thread(make_sim, sdm120):
    sim = make_sim(meters={1: sdm120})
    with bus_for(sim) as bus:
        errors: list[BaseException] = []

        def other() -> None:
            try:
                bus.read_input_registers(0, 2, slave=1)
            except ModbusError as exc:
                errors.append(exc)

        t = threading.Thread(target=other)
        t.start()
        t.join(5)
    assert errors and "two threads" in str(errors[0])


def test_no_gateway_is_a_modbus_error_not_a_crash():
    from hardware.modbus import tcp_bus
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with tcp_bus("127.0.0.1", port, timeout_s=0.2) as bus, pytest.raises(ModbusError):
        bus.read_input_registers(0, 2, slave=1)
