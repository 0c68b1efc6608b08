"""An RDM6300 module as seen from its serial line: writes the real frames.

``write`` is where the bytes go: ``PtyPair.write`` (the reader opens the pty's slave), or the
``write`` of a ``loop://`` port the reader reads. Nothing here sleeps: a held card is ``repeats``
frames back to back, and tests move an injected clock to model time between frames.
"""

from __future__ import annotations

from typing import Callable

from hardware.readers.rdm6300 import ETX, STX, encode_frame, frame_checksum


class Rdm6300Simulator:
    """Speak the RDM6300 wire format into ``write(bytes)``."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write

    def present(self, card_hex: str, *, repeats: int = 1) -> None:
        """A card on the antenna: ``repeats`` (>= 1) identical frames, one write each."""
        frame = encode_frame(card_hex)
        for _ in range(max(1, repeats)):
            self._write(frame)

    def garbage(self, data: bytes) -> None:
        """Raw bytes outside any frame (line noise, power-up junk)."""
        self._write(bytes(data))

    def truncated(self, card_hex: str) -> None:
        """The start of a frame cut off after 6 characters, no end byte (a card pulled away)."""
        self._write(encode_frame(card_hex)[:7])

    def bad_checksum(self, card_hex: str) -> None:
        """A complete frame whose checksum is wrong (bits flipped on the line)."""
        wrong = frame_checksum(card_hex) ^ 0xFF
        self._write(bytes([STX]) + card_hex.upper().encode("ascii") + b"%02X" % wrong + bytes([ETX]))
