"""A line-based QR / barcode scanner as seen from its serial line: writes the real lines.

``write`` is where the bytes go: ``PtyPair.write`` (the driver opens the pty's slave), or the
``write`` of a ``loop://`` port the driver reads. Nothing here sleeps: a code held in front of the
scanner is ``repeats`` identical lines back to back.
"""

from __future__ import annotations

from typing import Callable

#: What each terminator setting of a scanner sends after a code.
LINE_ENDS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}


class ScannerSimulator:
    """Speak a serial scanner's output into ``write(bytes)``; ``terminator``: ``"cr"``, ``"lf"``
    or ``"crlf"`` (default)."""

    def __init__(self, write: Callable[[bytes], object], *, terminator: str = "crlf") -> None:
        if terminator not in LINE_ENDS:
            raise ValueError(f"terminator must be one of {', '.join(LINE_ENDS)}, got {terminator!r}")
        self._write = write
        self.end = LINE_ENDS[terminator]

    def scan(self, code: str, *, repeats: int = 1) -> None:
        """A code read ``repeats`` (>= 1) times in a row (continuous mode), one write each."""
        line = code.encode("utf-8") + self.end
        for _ in range(max(1, repeats)):
            self._write(line)

    def scan_in_pieces(self, code: str, size: int) -> None:
        """One code written ``size`` bytes at a time (a slow USB-serial bridge)."""
        line = code.encode("utf-8") + self.end
        for i in range(0, len(line), max(1, size)):
            self._write(line[i:i + size])

    def garbage(self, data: bytes) -> None:
        """Raw bytes (line noise, a wrong baud rate), written as they are."""
        self._write(bytes(data))

    def overlong(self, length: int) -> None:
        """A ``length``-character line (a misconfigured scanner, a code glued to the next)."""
        self._write(b"A" * length + self.end)
