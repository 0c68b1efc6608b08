"""hardware: drivers turning GPIO, serial and Modbus signals into typed readings (layer 2).

Every driver takes its dependency injected (``pin_factory=``, a serial port object); simulators
speaking the real wire formats live in :mod:`hardware.sim`.
"""

from hardware.errors import (FrameError, HardwareError, PinConfigError, ReaderError,
                             SerialPortError)
from hardware.gpio import DigitalInput, Relay, make_pin_factory
from hardware.readers import (CardFrame, CardRead, Rdm6300Decoder, Rdm6300Reader, RepeatFilter,
                              encode_frame, frame_checksum)
from hardware.serial_port import SerialLike, open_serial

__all__ = [
    "HardwareError", "ReaderError", "FrameError", "PinConfigError", "SerialPortError",
    "DigitalInput", "Relay", "make_pin_factory",
    "CardFrame", "CardRead", "Rdm6300Decoder", "Rdm6300Reader", "RepeatFilter",
    "encode_frame", "frame_checksum",
    "SerialLike", "open_serial",
]
