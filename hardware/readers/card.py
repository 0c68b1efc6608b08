"""What every card reader reports: one :class:`CardRead` per card presented."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class CardRead:
    """A card presented to a reader (after repeat suppression).

    - ``reader``: the reader's name (e.g. ``"lobby-in"``);
    - ``card``: the full card id as upper-case hex (10 digits for EM4100: version byte + 32 bits);
    - ``number``: the card number as printed on most EM4100 cards and fobs (the last 8 hex digits,
      i.e. the 32-bit data, as an int; printed as 10 decimal digits);
    - ``facility``: the EM4100 version / customer-id byte (the first 2 hex digits), which some
      systems call the facility code;
    - ``at``: when the frame was decoded, in seconds on the reader's injected clock
      (``time.monotonic`` by default);
    - ``format``: the wire/card format, ``"em4100"`` for RDM6300 readers.
    """

    reader: str
    card: str
    number: int
    facility: int
    at: float
    format: str = "em4100"
