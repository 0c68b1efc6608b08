"""Turning Modbus registers (16-bit words) into numbers, and back (for the simulator).

A value spans one word (``int16``, ``uint16``) or two (``int32``, ``uint32``, ``float32``, IEEE-754
single precision). Bytes inside a word are always big-endian (the Modbus rule); the *word order*
of two-word values varies by maker: ``"big"`` puts the high word first (ABCD, Eastron), ``"little"``
the low word first (CDAB, many water meters). The decoded value is multiplied by ``scale``.
"""

from __future__ import annotations

import math
import struct
from typing import Sequence

from hardware.errors import HardwareError

__all__ = ["TYPES", "WORD_ORDERS", "width", "decode_value", "encode_value"]

#: type name -> (words, struct format of the big-endian bytes)
TYPES: dict[str, tuple[int, str]] = {
    "int16": (1, ">h"),
    "uint16": (1, ">H"),
    "int32": (2, ">i"),
    "uint32": (2, ">I"),
    "float32": (2, ">f"),
}
WORD_ORDERS = ("big", "little")


def width(type_name: str) -> int:
    """How many 16-bit registers a value of ``type_name`` takes."""
    try:
        return TYPES[type_name][0]
    except KeyError:
        raise HardwareError(f"unknown register type {type_name!r}") from None


def decode_value(words: Sequence[int], type_name: str, *, word_order: str = "big",
                 scale: float = 1.0) -> float | int:
    """Decode the first :func:`width` words of ``words`` (each 0..65535).

    Returns an ``int`` for integer types with ``scale == 1``, else a ``float`` (``value * scale``).
    A float32 NaN or infinity is returned as is; the caller decides what to do with it."""
    n, fmt = TYPES.get(type_name, (0, ""))
    if not n:
        raise HardwareError(f"unknown register type {type_name!r}")
    if len(words) < n:
        raise HardwareError(f"{type_name} needs {n} register(s), got {len(words)}")
    ws = list(words[:n])
    if word_order == "little":
        ws.reverse()
    elif word_order != "big":
        raise HardwareError(f"word order must be 'big' or 'little', got {word_order!r}")
    raw = b"".join(int(w & 0xFFFF).to_bytes(2, "big") for w in ws)
    value = struct.unpack(fmt, raw)[0]
    if scale == 1 and type_name != "float32":
        return int(value)
    return float(value) * scale


def encode_value(value: float, type_name: str, *, word_order: str = "big",
                 scale: float = 1.0) -> list[int]:
    """The registers a device would hold for ``value`` (the inverse of :func:`decode_value`;
    integer types are rounded to the nearest step of ``scale``)."""
    n, fmt = TYPES.get(type_name, (0, ""))
    if not n:
        raise HardwareError(f"unknown register type {type_name!r}")
    raw_value: float | int = value / scale
    if type_name != "float32":
        if not math.isfinite(raw_value):
            raise HardwareError(f"{type_name} cannot hold {value!r}")
        raw_value = int(round(raw_value))
    try:
        raw = struct.pack(fmt, raw_value)
    except struct.error as exc:
        raise HardwareError(f"{type_name} cannot hold {value!r}: {exc}") from None
    ws = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]
    if word_order == "little":
        ws.reverse()
    return ws
