"""Opening serial ports (pyserial) for the readers and scanners.

Drivers never open ports themselves: they take a port object (see :class:`SerialLike`), so a test
passes ``loop://`` or the slave side of a pty pair and a node passes ``/dev/ttyAMA0`` or
``/dev/ttyUSB0``; :func:`open_serial` is the one place that opens either.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import serial

from hardware.errors import SerialPortError


@runtime_checkable
class SerialLike(Protocol):
    """What a driver needs of a port: a pyserial ``Serial`` (or ``serial_for_url``) object.

    ``read(size)`` must return within the port's read timeout (seconds, > 0) with what arrived;
    ``cancel_read()`` is optional and, when present, is used to interrupt a pending read."""

    def read(self, size: int = 1) -> bytes: ...

    @property
    def in_waiting(self) -> int: ...

    def close(self) -> None: ...


def open_serial(url_or_path: str, *, baudrate: int = 9600, timeout_s: float = 0.1) -> serial.SerialBase:
    """Open ``url_or_path`` at ``baudrate`` baud, 8 data bits, no parity, 1 stop bit (8N1).

    ``url_or_path`` is a device path (``/dev/ttyUSB0``, a pty slave) or a pyserial URL
    (``loop://``, ``rfc2217://host:port``, ``socket://host:port``). ``timeout_s`` is the read
    timeout in seconds (default 0.1 s): a reader thread wakes at least this often to notice that it
    is being closed. Raises :class:`SerialPortError` naming the port if it cannot be opened."""
    if timeout_s is not None and timeout_s <= 0:
        raise SerialPortError(f"serial port {url_or_path!r}: read timeout must be > 0 s, got {timeout_s}")
    try:
        return serial.serial_for_url(url_or_path, baudrate=baudrate, bytesize=serial.EIGHTBITS,
                                     parity=serial.PARITY_NONE, stopbits=serial.STOPBITS_ONE,
                                     timeout=timeout_s)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise SerialPortError(f"cannot open serial port {url_or_path!r} at {baudrate} baud: {exc}") from exc
