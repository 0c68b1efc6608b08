"""Errors raised by the drivers (:mod:`hardware`).

Everything here derives from :class:`HardwareError`, which derives from
:class:`mqtt_topics.errors.LobbygateError`, so a caller can catch the drivers' errors as a family
or everything lobbygate raises (as gpiozero does with ``GPIOZeroError``).
"""

from __future__ import annotations

from mqtt_topics.errors import LobbygateError


class HardwareError(LobbygateError):
    """Base of every error the drivers raise on purpose (also: a device used after ``close()``)."""


class ReaderError(HardwareError):
    """A card reader failed or reported something it could not decode."""


class FrameError(ReaderError, ValueError):
    """A reader frame is unusable; the decoder returns these (it does not raise them) and goes on.

    ``reason`` is a short machine-readable word:

    - ``"checksum"``: a complete frame whose XOR checksum does not match its data;
    - ``"malformed"``: a frame cut short by a new start byte, too long, with a non-hex character
      or the wrong length at its end byte;
    - ``"garbage"``: bytes outside any frame (line noise, wrong baud rate).

    ``raw`` holds the offending bytes (for a log line). :func:`~hardware.readers.rdm6300.encode_frame`
    also raises it (reason ``"malformed"``) for a card number that is not 10 hex digits.
    """

    def __init__(self, reason: str, message: str, raw: bytes = b"") -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.raw = bytes(raw)


class PinConfigError(HardwareError):
    """A GPIO pin or pin factory cannot be used as configured: unknown pin name, pin already in
    use, incompatible pull/active-state options, a real pin factory off a Raspberry Pi..."""


class SerialPortError(HardwareError):
    """A serial port could not be opened or stopped working (unplugged USB adapter, wrong path,
    no permission). The message names the port."""
