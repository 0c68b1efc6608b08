"""A pseudo-terminal pair standing in for a USB-serial adapter.

The driver under test opens :attr:`PtyPair.device_path` (the slave side, e.g. ``/dev/pts/7``) with
:func:`hardware.serial_port.open_serial`, exactly as it opens ``/dev/ttyUSB0`` on a node; the test
or simulator writes the device's bytes into the master side with :meth:`PtyPair.write`.
Closing the pair makes the slave side fail like an unplugged adapter.
"""

from __future__ import annotations

import os
import tty

from hardware.errors import HardwareError


class PtyPair:
    """A raw-mode pty pair. Constructing does nothing; :meth:`open` (or ``with``) creates it."""

    def __init__(self) -> None:
        self._master: int | None = None
        self._slave: int | None = None
        self._path: str | None = None

    def open(self) -> "PtyPair":
        """Create the pair, slave in raw mode (no echo, no line editing, 0x03 is not ^C)."""
        if self._master is not None:
            return self
        master, slave = os.openpty()
        tty.setraw(slave)
        self._master, self._slave, self._path = master, slave, os.ttyname(slave)
        return self

    @property
    def device_path(self) -> str:
        """The slave's path, what a driver opens as its serial port."""
        if self._path is None or self._master is None:
            raise HardwareError("pty pair is not open")
        return self._path

    def write(self, data: bytes) -> None:
        """Send ``data`` to whoever reads the slave side (all of it)."""
        if self._master is None:
            raise HardwareError("pty pair is not open")
        view = memoryview(data)
        while view:
            view = view[os.write(self._master, view):]

    def read(self, size: int = 4096) -> bytes:
        """What the driver wrote to the slave side (blocks until something arrives)."""
        if self._master is None:
            raise HardwareError("pty pair is not open")
        return os.read(self._master, size)

    def close(self) -> None:
        """Close both sides; the driver's reads then fail as on an unplugged adapter. Idempotent."""
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def __enter__(self) -> "PtyPair":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
