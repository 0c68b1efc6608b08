"""A simulated Modbus digital I/O module (relay outputs as coils, opto inputs as discrete
inputs) behind the same REAL pymodbus server as :mod:`hardware.sim.modbus_meter`: Modbus TCP on a
free loopback port, or RTU over a pty pair.

The test (or demo) plays the field side: :meth:`ModbusIoSim.set_input` closes a switch (a key put
in a slot, a door opened); :meth:`ModbusIoSim.coil` / :meth:`ModbusIoSim.wait_coil` see what the
client drove. Faults per slave as for the meters (``silent``, ``bad_crc``, ``exception``).

Usage::

    with ModbusIoSim(slaves=(1,), coils=16, inputs=16) as sim:
        bus = tcp_bus(sim.host, sim.port)
        sim.set_input(1, 3, True)
"""

from __future__ import annotations

import threading
from typing import Iterable

from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import ReadCoilsRequest, ReadDiscreteInputsRequest

from hardware.sim.modbus_meter import ModbusMeterSim, _MeterImage

__all__ = ["ModbusIoSim"]


class _IoImage(_MeterImage):
    """One module: ``coils`` coils and ``inputs`` discrete inputs from address 0, all off."""

    def __init__(self, lock: threading.Condition, coils: int, inputs: int) -> None:  # noqa: D107
        self.lock = lock                                      # no register map: skip the meter's
        self.map = None
        self.values = {}
        self.fault = None
        self.fault_left = None
        self.words = {"i": {}, "h": {}, "c": {a: False for a in range(coils)},
                      "d": {a: False for a in range(inputs)}}

    def setValues(self, fc_as_hex: int, address: int, values: list) -> None:  # type: ignore[override]
        super().setValues(fc_as_hex, address, values)
        with self.lock:
            self.lock.notify_all()


async def _validated_read(request: ReadCoilsRequest, context: "_IoImage") -> ModbusPDU:
    """pymodbus 3.8.6 serves bit reads without ``validate``: check first, so the ``exception``
    fault (and an address past the end) answers with an exception response as a module does."""
    if not context.validate(request.function_code, request.address, request.count):
        return ExceptionResponse(request.function_code, ExceptionResponse.ILLEGAL_ADDRESS)
    return await ReadCoilsRequest.update_datastore(request, context)  # type: ignore[arg-type]


class _ReadCoils(ReadCoilsRequest):
    async def update_datastore(self, context):  # type: ignore[no-untyped-def, override]
        return await _validated_read(self, context)


class _ReadDiscreteInputs(ReadDiscreteInputsRequest):
    async def update_datastore(self, context):  # type: ignore[no-untyped-def, override]
        return await _validated_read(self, context)


class ModbusIoSim(ModbusMeterSim):
    """I/O modules at ``slaves`` (unit ids), each with ``coils`` coils and ``inputs`` discrete
    inputs; ``transport``: ``"tcp"`` or ``"rtu"``. The ``exception`` fault answers reads as
    well as writes with an exception response (illegal data address)."""

    CUSTOM_PDU = (_ReadCoils, _ReadDiscreteInputs)

    def __init__(self, *, slaves: Iterable[int] = (1,), coils: int = 32, inputs: int = 32,
                 transport: str = "tcp", baudrate: int = 115200) -> None:
        super().__init__(meters={}, transport=transport, baudrate=baudrate)
        self._lock = threading.Condition()  # type: ignore[assignment]
        self._images = {int(s): _IoImage(self._lock, coils, inputs) for s in slaves}  # type: ignore[misc]

    def set_input(self, slave: int, address: int, value: bool) -> None:
        """Drive discrete input ``address`` of ``slave`` (True: the contact is closed)."""
        with self._lock:
            self._images[slave].words["d"][address] = bool(value)

    def coil(self, slave: int, address: int) -> bool:
        """What the client last wrote to coil ``address`` of ``slave``."""
        with self._lock:
            return bool(self._images[slave].words["c"][address])

    def wait_coil(self, slave: int, address: int, value: bool, *, timeout_s: float = 5.0) -> bool:
        """Wait until coil ``address`` is ``value``; False on time-out."""
        with self._lock:
            return self._lock.wait_for(  # type: ignore[attr-defined]
                lambda: bool(self._images[slave].words["c"][address]) == value, timeout_s)
