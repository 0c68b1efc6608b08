"""One demo node's simulated wires, at the lowest layer only.

- GPIO: a :class:`~hardware.sim.SimFactory` (gpiozero mock pins whose edge ticks the Wiegand
  simulator moves), handed to the node as its pin factory; buttons and contacts are pressed and
  released on it, Wiegand card frames are real pulse trains on its D0/D1 pins;
- serial lines: one pty pair per port name; the node opens the slave side like
  ``/dev/ttyUSB0`` (its config names the pty's path), the demo writes real RDM6300 frames or
  scanner lines into the master side.

The production reader, extension, journal and MQTT code runs above. Everything that drives a wire
takes one lock, so the Wiegand simulator's ticks never interleave two frames. The constructor
does no I/O; :meth:`port` opens a pty pair; :meth:`close` closes them and the pin factory
(idempotent; after the node has stopped).
"""

from __future__ import annotations

import threading
import time

from hardware.readers.serial_reader import SerialReaderBase
from hardware.sim import (PtyPair, Rdm6300Simulator, ScannerSimulator, SimFactory,
                          WiegandSimulator, press, release)

__all__ = ["NodeWiring", "serial_readers", "wait_serial_open"]


class NodeWiring:
    """The simulated wires of node ``node_id`` (see the module note)."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.factory = SimFactory()
        self._ptys: dict[str, PtyPair] = {}
        self._lock = threading.Lock()

    def port(self, name: str) -> str:
        """The device path of serial line ``name`` (a pty pair, opened on first use)."""
        with self._lock:
            pty = self._ptys.get(name)
            if pty is None:
                pty = self._ptys[name] = PtyPair().open()
            return pty.device_path

    # -- what people do -----------------------------------------------------------------------
    def card_em(self, port: str, card_hex: str) -> None:
        """Hold RDM6300 card ``card_hex`` (10 hex digits) to the reader on serial line ``port``."""
        with self._lock:
            Rdm6300Simulator(self._ptys[port].write).present(card_hex)

    def scan(self, port: str, text: str) -> None:
        """Show a QR code (``text``) to the scanner on serial line ``port`` (one CRLF line)."""
        with self._lock:
            ScannerSimulator(self._ptys[port].write).scan(text)

    def card_wiegand(self, d0: int, d1: int, facility: int, number: int) -> None:
        """A 26-bit Wiegand card read on the reader wired to pins ``d0`` / ``d1``."""
        with self._lock:
            WiegandSimulator(self.factory, d0, d1).present_card(facility, number)

    def press(self, pin: int) -> None:
        """Close a switch to ground (a button pressed, a contact opened with pull-up wiring)."""
        with self._lock:
            press(self.factory, pin)

    def release(self, pin: int) -> None:
        with self._lock:
            release(self.factory, pin)

    def tap(self, pin: int, seconds: float = 0.2) -> None:
        """Press, hold ``seconds`` (wall time, longer than any debounce), release."""
        self.press(pin)
        time.sleep(seconds)
        self.release(pin)

    def close(self) -> None:
        """Close the pty pairs and the pin factory. Idempotent."""
        with self._lock:
            for pty in self._ptys.values():
                pty.close()
            self._ptys.clear()
            factory, self.factory = self.factory, None  # type: ignore[assignment]
        if factory is not None:
            factory.close()


def serial_readers(node: object) -> list[SerialReaderBase]:
    """Every serial reader / scanner the node's extensions run (``readers`` maps and
    ``scanner`` attributes)."""
    found: list[SerialReaderBase] = []
    for ext in getattr(node, "extensions", {}).values():
        candidates = list((getattr(ext, "readers", None) or {}).values())
        candidates.append(getattr(ext, "scanner", None))
        found += [c for c in candidates if isinstance(c, SerialReaderBase)]
    return found


def wait_serial_open(node: object, *, timeout_s: float = 10.0) -> bool:
    """Block until every serial reader of ``node`` has opened its port (pyserial flushes the
    input on open, so a frame written earlier would be lost); False on timeout."""
    deadline = time.monotonic() + timeout_s
    for reader in serial_readers(node):
        left = max(0.0, deadline - time.monotonic())
        if not reader.wait_for(lambda c: c.get("reopens", 0) >= 1, timeout_s=left):
            return False
    return True
