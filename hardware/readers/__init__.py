"""Card readers: each turns a wire format into :class:`~hardware.readers.card.CardRead` values."""

from hardware.readers.card import CardRead
from hardware.readers.rdm6300 import (CardFrame, Rdm6300Decoder, Rdm6300Reader, encode_frame,
                                      frame_checksum)
from hardware.readers.repeat import RepeatFilter
from hardware.readers.scanner import ScanLineDecoder, ScannerReader, ScanRead
from hardware.readers.wiegand import (WiegandCard, WiegandDecoder, WiegandFrameError, WiegandKey,
                                      WiegandReader, encode_card, encode_key)

__all__ = ["CardFrame", "CardRead", "Rdm6300Decoder", "Rdm6300Reader", "RepeatFilter",
           "ScanLineDecoder", "ScannerReader", "ScanRead",
           "encode_frame", "frame_checksum",
           "WiegandCard", "WiegandDecoder", "WiegandFrameError", "WiegandKey", "WiegandReader",
           "encode_card", "encode_key"]
