"""Simulated meters behind a REAL pymodbus server: Modbus TCP on a free loopback port, or Modbus
RTU over a pty pair (the wire between the node's client and the meters).

Each simulated meter is a slave id holding the register image of a :class:`RegisterMap`
(values set by reading name, encoded with the map's type, word order and scale; unused registers
in between read as 0, as the Eastron meters answer; coils 0..15 and discrete inputs 0..7 exist).
Faults, per slave, switched at any time:

- ``"silent"``: no reply at all (the client times out);
- ``"bad_crc"``: the reply's CRC is corrupted (RTU only; on TCP there is no CRC);
- ``"exception"``: an exception response 2 (illegal data address);
- :meth:`ModbusMeterSim.reset_counters`: the cumulative totals drop to zero (meter replaced).

Usage::

    with ModbusMeterSim(meters={1: load_map("eastron_sdm120")}) as sim:   # TCP
        bus = tcp_bus(sim.host, sim.port)
    with ModbusMeterSim(meters=..., transport="rtu") as sim:
        bus = rtu_bus(sim.device_path)

The server runs an asyncio loop in its own thread; :meth:`close` stops it and joins. ``requests``
counts requests answered (or deliberately not answered).
"""

from __future__ import annotations

import asyncio
import os
import select
import threading
from typing import Any, Mapping, Sequence

from pymodbus import FramerType
from pymodbus.datastore import ModbusServerContext
from pymodbus.datastore.context import ModbusBaseSlaveContext
from pymodbus.exceptions import NoSuchSlaveException
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

from hardware.errors import HardwareError
from hardware.meters import RegisterMap, encode_value
from hardware.sim.pty import PtyPair

__all__ = ["ModbusMeterSim", "FAULTS", "DEFAULT_VALUES"]

FAULTS = (None, "silent", "bad_crc", "exception")

#: Plausible starting values by reading name.
DEFAULT_VALUES: dict[str, float] = {
    "voltage_v": 230.0, "voltage_l2_v": 231.0, "voltage_l3_v": 229.0, "current_a": 4.5,
    "current_l2_a": 3.0, "current_l3_a": 2.0, "active_power_w": 1035.0, "frequency_hz": 50.0,
    "import_energy_kwh": 1234.5, "export_energy_kwh": 0.0, "total_volume_m3": 321.125,
    "flow_m3_h": 0.0,
}


class _MeterImage(ModbusBaseSlaveContext):
    """One slave's registers; wire addresses as is (no pymodbus +1 offset)."""

    def __init__(self, register_map: RegisterMap, lock: threading.Lock) -> None:
        self.map = register_map
        self.lock = lock
        self.words: dict[str, dict[int, int]] = {"i": {}, "h": {}, "c": {}, "d": {}}
        self.values: dict[str, float] = {}
        self.fault: str | None = None
        self.fault_left: int | None = None  # None: until cleared
        for reg in register_map.registers:
            self.set(reg.name, DEFAULT_VALUES.get(reg.name, 0.0))
        self.words["c"] = {a: False for a in range(16)}  # a relay/valve output or two
        self.words["d"] = {a: False for a in range(8)}
        for fn in ("i", "h"):  # fill the gaps: unused registers read as 0
            store = self.words[fn]
            if store:
                for a in range(min(store), max(store) + 1):
                    store.setdefault(a, 0)

    def set(self, name: str, value: float) -> None:
        reg = next((r for r in self.map.registers if r.name == name), None)
        if reg is None:
            raise HardwareError(f"map {self.map.name} has no register {name!r}")
        words = encode_value(value, reg.type, word_order=reg.word_order, scale=reg.scale)
        store = self.words["i" if reg.function == "input" else "h"]
        for i, w in enumerate(words):
            store[reg.address + i] = w
        self.values[name] = value

    def has_fault(self, fault: str) -> bool:
        """Whether this request meets ``fault`` (counts it down); call with the lock held."""
        if self.fault != fault:
            return False
        if self.fault_left is not None:
            self.fault_left -= 1
            if self.fault_left <= 0:
                self.fault, self.fault_left = None, None
        return True

    def reset(self) -> None:  # pymodbus interface
        pass

    def validate(self, fc_as_hex: int, address: int, count: int = 1) -> bool:
        with self.lock:
            if self.has_fault("exception"):
                return False
            store = self.words[self.decode(fc_as_hex)]
            return all(a in store for a in range(address, address + count))

    def getValues(self, fc_as_hex: int, address: int, count: int = 1) -> Sequence[int | bool]:
        with self.lock:
            store = self.words[self.decode(fc_as_hex)]
            return [store.get(a, 0) for a in range(address, address + count)]

    def setValues(self, fc_as_hex: int, address: int, values: Sequence[int | bool]) -> None:
        with self.lock:
            store = self.words[self.decode(fc_as_hex)]
            for i, v in enumerate(values):
                store[address + i] = bool(v) if fc_as_hex in (1, 2, 5, 15) else int(v)


class _Slaves(ModbusServerContext):
    """The server's slaves; a ``silent`` one is reported missing, and the server (with
    ``ignore_missing_slaves``) then does not answer at all."""

    def __init__(self, images: dict[int, _MeterImage], counter: Any, lock: threading.Lock) -> None:
        super().__init__(slaves=images, single=False)
        self._images = images
        self._counter = counter
        self._lock = lock

    def __getitem__(self, slave: int) -> Any:
        self._counter()
        image = self._images.get(slave)
        if image is None:
            raise NoSuchSlaveException(f"no slave {slave}")
        with self._lock:
            if image.has_fault("silent"):
                raise NoSuchSlaveException(f"slave {slave} is silent")
        return image


class ModbusMeterSim:
    """Meters on a simulated bus.

    :param meters: slave id -> :class:`RegisterMap`.
    :param transport: ``"tcp"`` (a loopback port chosen by the OS) or ``"rtu"`` (a pty pair).
    :param baudrate: the RTU server's port speed (a pty does not pace bytes; this only sets the
        RTU inter-frame timing pymodbus expects).
    """

    #: Request classes the server decodes instead of pymodbus' own (subclasses: see modbus_io).
    CUSTOM_PDU: tuple[type, ...] = ()

    def __init__(self, *, meters: Mapping[int, RegisterMap], transport: str = "tcp",
                 baudrate: int = 115200) -> None:
        if transport not in ("tcp", "rtu"):
            raise HardwareError(f"transport must be tcp or rtu, got {transport!r}")
        self.transport = transport
        self.baudrate = baudrate
        self._lock = threading.Lock()
        self._images = {int(s): _MeterImage(m, self._lock) for s, m in meters.items()}
        self._count_lock = threading.Lock()
        self.requests = 0
        self.host = "127.0.0.1"
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._server_side: PtyPair | None = None
        self._client_side: PtyPair | None = None
        self._relay: threading.Thread | None = None
        self._relay_stop: tuple[int, int] | None = None

    # -- control ------------------------------------------------------------------------------

    def set_value(self, slave: int, name: str, value: float) -> None:
        """Set a reading (in its unit, before the map's scale)."""
        with self._lock:
            self._images[slave].set(name, value)

    def value(self, slave: int, name: str) -> float:
        with self._lock:
            return self._images[slave].values[name]

    def set_fault(self, slave: int, fault: str | None, *, times: int | None = None) -> None:
        """One of :data:`FAULTS` (None: behave), for the next ``times`` requests to ``slave``
        (default: until changed)."""
        if fault not in FAULTS:
            raise HardwareError(f"fault must be one of {FAULTS}, got {fault!r}")
        with self._lock:
            self._images[slave].fault = fault
            self._images[slave].fault_left = times if fault is not None else None

    def reset_counters(self, slave: int, value: float = 0.0) -> None:
        """Every cumulative total of ``slave`` jumps to ``value`` (a replaced or reset meter)."""
        with self._lock:
            image = self._images[slave]
            for reg in image.map.totals:
                image.set(reg.name, value)

    @property
    def device_path(self) -> str:
        """RTU: the serial device the client opens."""
        if self._client_side is None:
            raise HardwareError("RTU simulator is not open")
        return self._client_side.device_path

    # -- lifecycle ----------------------------------------------------------------------------

    def open(self) -> "ModbusMeterSim":
        """Start the server (and, for RTU, the pty wire); returns when it listens."""
        if self._thread is not None:
            return self
        if self.transport == "rtu":
            self._server_side = PtyPair().open()
            self._client_side = PtyPair().open()
            r, w = os.pipe()
            self._relay_stop = (r, w)
            self._relay = threading.Thread(target=self._run_relay, name="modbus-sim-wire", daemon=True)
            self._relay.start()
        self._thread = threading.Thread(target=self._run, name=f"modbus-sim-{self.transport}", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            self.close()
            raise HardwareError(f"modbus simulator did not start: {self._error}")
        return self

    def _count(self) -> None:
        with self._count_lock:
            self.requests += 1

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if sending and self.transport == "rtu" and data:
            image = self._images.get(data[0])
            if image is not None:
                with self._lock:
                    corrupt = image.has_fault("bad_crc")
                if corrupt:
                    return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to open()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        context = _Slaves(self._images, self._count, self._lock)
        server: ModbusTcpServer | ModbusSerialServer
        if self.transport == "tcp":
            server = ModbusTcpServer(context, address=(self.host, 0), ignore_missing_slaves=True,
                                     trace_packet=self._trace_packet, custom_pdu=list(self.CUSTOM_PDU))
        else:
            assert self._server_side is not None
            server = ModbusSerialServer(context, framer=FramerType.RTU, port=self._server_side.device_path,
                                        baudrate=self.baudrate, ignore_missing_slaves=True,
                                        trace_packet=self._trace_packet,
                                        custom_pdu=list(self.CUSTOM_PDU))
        await server.serve_forever(background=True)
        if self.transport == "tcp":
            if server.transport is None:
                raise HardwareError("modbus TCP simulator could not listen")
            self.port = server.transport.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.shutdown()

    def _run_relay(self) -> None:
        """Copy bytes both ways between the server's pty and the client's pty (the RS-485 wire)."""
        assert self._server_side is not None and self._client_side is not None and self._relay_stop
        a, b = self._server_side._master, self._client_side._master
        stop_r = self._relay_stop[0]
        assert a is not None and b is not None
        while True:
            try:
                ready, _, _ = select.select([a, b, stop_r], [], [])
            except (OSError, ValueError):
                return
            if stop_r in ready:
                return
            for src, dst in ((a, b), (b, a)):
                if src in ready:
                    try:
                        data = os.read(src, 4096)
                        view = memoryview(data)
                        while view:
                            view = view[os.write(dst, view):]
                    except OSError:
                        continue

    def close(self) -> None:
        """Stop the server and the wire. Idempotent."""
        if self._loop is not None and self._stop is not None and self._thread is not None:
            loop, stop = self._loop, self._stop
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:
                pass
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        if self._relay_stop is not None:
            os.write(self._relay_stop[1], b"x")
            if self._relay is not None:
                self._relay.join(5)
            for fd in self._relay_stop:
                os.close(fd)
            self._relay_stop = None
            self._relay = None
        for pair in (self._server_side, self._client_side):
            if pair is not None:
                pair.close()
        self._server_side = self._client_side = None
        self._loop = None

    def __enter__(self) -> "ModbusMeterSim":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
