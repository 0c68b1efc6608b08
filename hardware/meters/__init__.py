"""Meter register maps (data files in this directory) and register decoding.

See :mod:`hardware.meters.maps` for the file format and how to add a meter model.
"""

from .decode import TYPES, WORD_ORDERS, decode_value, encode_value, width
from .maps import (MAPS_DIR, Block, MapError, Register, RegisterMap, builtin_maps, load_map,
                   parse_map, plan_blocks)

__all__ = ["TYPES", "WORD_ORDERS", "decode_value", "encode_value", "width", "MAPS_DIR", "Block",
           "MapError", "Register", "RegisterMap", "builtin_maps", "load_map", "parse_map",
           "plan_blocks"]
