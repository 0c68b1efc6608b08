"""Our Modbus adapter: the one module that imports pymodbus (pinned to 3.8.6 in setup.py).

:class:`ModbusBus` is what the meter poller needs of a bus: open, five requests, close. Requests
take the slave id keyword-only and raise only our errors:

- :class:`ModbusTimeout`: no (complete) reply within the bus timeout;
- :class:`ModbusCrcError`: bytes came back but never a frame with a valid CRC (RTU only);
- :class:`ModbusError` (the base of both): an exception response (``exception_code`` set, e.g.
  2 = illegal data address), a refused connection, a closed port.

:class:`PymodbusBus` implements it with pymodbus' synchronous clients, with pymodbus' own retries
turned off (the poller decides what to retry). A bus object belongs to one thread: one client per
bus, never shared. :func:`tcp_bus` and :func:`rtu_bus` build one (no I/O until
:meth:`PymodbusBus.open`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from pymodbus import FramerType
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from hardware.errors import HardwareError

__all__ = ["ModbusError", "ModbusTimeout", "ModbusCrcError", "ModbusBus", "PymodbusBus",
           "tcp_bus", "rtu_bus"]

log = logging.getLogger(__name__)
# pymodbus logs every timeout at ERROR level; our poller reports them itself.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


class ModbusError(HardwareError):
    """A Modbus request failed. ``exception_code``: the slave's exception code if it answered with
    an exception response (1 illegal function, 2 illegal data address, ...), else None."""

    def __init__(self, message: str, *, exception_code: int | None = None) -> None:
        super().__init__(message)
        self.exception_code = exception_code


class ModbusTimeout(ModbusError):
    """No reply within the bus timeout (a silent, unpowered or disconnected meter)."""


class ModbusCrcError(ModbusError):
    """Bytes came back but no frame with a valid CRC (line noise, two talkers, wrong baud rate)."""


class ModbusBus(Protocol):
    """A Modbus bus (a serial line or a TCP gateway). Addresses are 0-based protocol addresses;
    ``slave`` is the unit id (1..247)."""

    description: str

    def open(self) -> "ModbusBus": ...

    def read_input_registers(self, address: int, count: int, *, slave: int) -> list[int]: ...

    def read_holding_registers(self, address: int, count: int, *, slave: int) -> list[int]: ...

    def read_coils(self, address: int, count: int, *, slave: int) -> list[bool]: ...

    def read_discrete_inputs(self, address: int, count: int, *, slave: int) -> list[bool]: ...

    def write_coil(self, address: int, value: bool, *, slave: int) -> None: ...

    def close(self) -> None: ...


class _RecordingSerialClient(ModbusSerialClient):
    """A serial client that remembers what arrived since the last request, so a reply with a bad
    CRC (which pymodbus silently drops, then times out) can be told from no reply at all."""

    #: How often pymodbus 3.8.6 polls the port for reply bytes, seconds. Its own choice
    #: (max(4 character times, 1 ms), and two polls to see a reply end) adds 2..8 ms per request;
    #: polling faster is safe because a partial reply is kept and completed by the next read.
    POLL_S = 0.0002

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received = bytearray()
        self._recv_interval = self.POLL_S

    def send(self, request: bytes, addr: tuple | None = None) -> int:
        self.received.clear()
        return super().send(request, addr)

    def recv(self, size: int | None) -> bytes:
        data = super().recv(size)
        self.received += data
        return data


class PymodbusBus:
    """A :class:`ModbusBus` over a pymodbus synchronous client. Use :func:`tcp_bus` /
    :func:`rtu_bus`. The constructor does no I/O; :meth:`open` connects (a failed connect is not
    fatal: every request tries again). Not thread-safe by design: one owner thread."""

    def __init__(self, client: ModbusTcpClient | ModbusSerialClient, *, description: str) -> None:
        self._client = client
        self.description = description
        self._closed = False
        self._owner: int | None = None

    def open(self) -> "PymodbusBus":
        """Connect (TCP) or open the port (RTU). Returns self even if the device is absent."""
        self._check()
        if not self._client.connect():
            log.info("modbus %s: not reachable yet", self.description)
        return self

    def _check(self) -> None:
        if self._closed:
            raise ModbusError(f"modbus {self.description}: bus is closed")
        me = threading.get_ident()
        if self._owner is None:
            self._owner = me
        elif self._owner != me:
            raise ModbusError(f"modbus {self.description}: used from two threads")

    def _call(self, what: str, slave: int, fn: Any, *args: Any) -> Any:
        self._check()
        try:
            result = fn(*args, slave=slave)
        except ModbusIOException as exc:
            received = getattr(self._client, "received", b"")
            if received:
                raise ModbusCrcError(f"modbus {self.description} slave {slave}: {what}: "
                                     f"{len(received)} byte(s) but no valid frame") from None
            raise ModbusTimeout(f"modbus {self.description} slave {slave}: {what}: no reply") from None
        except ConnectionException as exc:
            raise ModbusError(f"modbus {self.description} slave {slave}: {what}: cannot connect "
                              f"({exc})") from None
        except ModbusException as exc:
            raise ModbusError(f"modbus {self.description} slave {slave}: {what}: {exc}") from None
        except OSError as exc:
            raise ModbusError(f"modbus {self.description} slave {slave}: {what}: {exc}") from None
        if result.isError():
            code = getattr(result, "exception_code", None)
            raise ModbusError(f"modbus {self.description} slave {slave}: {what}: exception "
                              f"response {code}", exception_code=code)
        return result

    def read_input_registers(self, address: int, count: int, *, slave: int) -> list[int]:
        """FC 4: ``count`` input registers from ``address``."""
        r = self._call(f"read input {address}+{count}", slave,
                       lambda **kw: self._client.read_input_registers(address, count=count, **kw))
        return _registers(r, count, self.description, slave)

    def read_holding_registers(self, address: int, count: int, *, slave: int) -> list[int]:
        """FC 3: ``count`` holding registers from ``address``."""
        r = self._call(f"read holding {address}+{count}", slave,
                       lambda **kw: self._client.read_holding_registers(address, count=count, **kw))
        return _registers(r, count, self.description, slave)

    def read_coils(self, address: int, count: int, *, slave: int) -> list[bool]:
        """FC 1: ``count`` coils from ``address``."""
        r = self._call(f"read coils {address}+{count}", slave,
                       lambda **kw: self._client.read_coils(address, count=count, **kw))
        return [bool(b) for b in r.bits[:count]]

    def read_discrete_inputs(self, address: int, count: int, *, slave: int) -> list[bool]:
        """FC 2: ``count`` discrete inputs from ``address``."""
        r = self._call(f"read discrete {address}+{count}", slave,
                       lambda **kw: self._client.read_discrete_inputs(address, count=count, **kw))
        return [bool(b) for b in r.bits[:count]]

    def write_coil(self, address: int, value: bool, *, slave: int) -> None:
        """FC 5: set one coil."""
        self._call(f"write coil {address}", slave,
                   lambda **kw: self._client.write_coil(address, bool(value), **kw))

    def close(self) -> None:
        """Disconnect / close the port. Idempotent."""
        if not self._closed:
            self._closed = True
            self._client.close()

    def __enter__(self) -> "PymodbusBus":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PymodbusBus {self.description}>"


def _registers(result: Any, count: int, description: str, slave: int) -> list[int]:
    regs = list(result.registers)
    if len(regs) < count:
        raise ModbusError(f"modbus {description} slave {slave}: asked {count} registers, got {len(regs)}")
    return regs[:count]


def tcp_bus(host: str, port: int = 502, *, timeout_s: float = 1.0) -> PymodbusBus:
    """A Modbus TCP gateway at ``host:port``; ``timeout_s``: per request, seconds."""
    client = ModbusTcpClient(host, port=port, timeout=timeout_s, retries=0,
                             reconnect_delay=0.1, reconnect_delay_max=timeout_s)
    return PymodbusBus(client, description=f"tcp://{host}:{port}")


def rtu_bus(port: str, *, baudrate: int = 9600, parity: str = "N", stopbits: int = 1,
            bytesize: int = 8, timeout_s: float = 1.0) -> PymodbusBus:
    """Modbus RTU on serial ``port`` (``/dev/ttyUSB0``, a pty); ``parity`` N/E/O; ``timeout_s``:
    per request, seconds."""
    client = _RecordingSerialClient(port, framer=FramerType.RTU, baudrate=baudrate, parity=parity,
                                    stopbits=stopbits, bytesize=bytesize, timeout=timeout_s,
                                    retries=0)
    return PymodbusBus(client, description=f"rtu:{port}@{baudrate}{parity}{stopbits}")
