"""Card keys: how a credential names a card, the same on the node and the console.

A card key names a card the way a reader reports it:

- ``w26:<facility>:<number>``: Wiegand 26-bit (decimal; facility 0-255, number 0-65535);
- ``w34:<facility>:<number>``: Wiegand 34-bit (decimal; facility and number 0-65535);
- ``em:<10 hex digits>``: EM4100 on an RDM6300 serial reader (the id the reader sends);
- ``<format>:<card>``: any other reader format (format ``[a-z][a-z0-9]{0,15}``, a letter
  first so ``123:4567`` (a Wiegand key missing its prefix) is refused; card 1-64 printable
  ASCII characters, no spaces).

:func:`normalize_card` gives the canonical form both sides compare: lower-case prefix, decimal
numbers without leading zeros, upper-case EM hex. Standard library only.
"""

from __future__ import annotations

import re

from .errors import ContractError

__all__ = ["WIEGAND26", "WIEGAND34", "EM4100", "normalize_card"]

#: Card-key prefixes of the formats with a fixed shape.
WIEGAND26 = "w26"
WIEGAND34 = "w34"
EM4100 = "em"
#: Largest facility code + 1 per Wiegand prefix; card numbers are below ``_NUMBER_LIMIT``.
_FACILITY_LIMIT = {WIEGAND26: 256, WIEGAND34: 65536}
_NUMBER_LIMIT = 65536
_EM_DIGITS = 10
_GENERIC_CARD_RE = re.compile(r"([a-z][a-z0-9]{0,15}):([!-~]{1,64})")
_HEX = frozenset("0123456789ABCDEF")


def normalize_card(text: str) -> str:
    """The canonical form of card key ``text`` (surrounding spaces ignored).

    Raises :class:`~mqtt_topics.errors.ContractError` (a ``ValueError``) for a malformed key.
    """
    if not isinstance(text, str):
        raise ContractError(f"card {text!r} is not a string")
    key = text.strip()
    prefix, _, rest = key.partition(":")
    prefix = prefix.lower()
    if prefix in _FACILITY_LIMIT:
        fac, sep, num = rest.partition(":")
        if not (sep and fac.isascii() and fac.isdigit() and num.isascii() and num.isdigit()):
            raise ContractError(f"card {text!r} is not {prefix}:<facility>:<number>")
        f, n = int(fac), int(num)
        if f >= _FACILITY_LIMIT[prefix] or n >= _NUMBER_LIMIT:
            raise ContractError(f"card {text!r}: facility or number too large for {prefix}")
        return f"{prefix}:{f}:{n}"
    if prefix == EM4100:
        hexpart = rest.upper()
        if len(hexpart) != _EM_DIGITS or not set(hexpart) <= _HEX:
            raise ContractError(f"card {text!r} is not em:<10 hex digits>")
        return f"{EM4100}:{hexpart}"
    m = _GENERIC_CARD_RE.fullmatch(f"{prefix}:{rest}")
    if not m:
        raise ContractError(f"card {text!r} is not a card key (w26:F:N, w34:F:N, em:HEX, "
                            "format:card)")
    return f"{m.group(1)}:{m.group(2)}"
