"""A small TOML writer for the files provisioning generates (the standard library only reads
TOML).  Supports tables, arrays of tables, strings, integers, floats, booleans and arrays of
those scalars; keys keep their insertion order so output is stable."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Mapping

from firmware.errors import FirmwareError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def dumps(data: Mapping[str, Any], *, header: str = "") -> str:
    """TOML text for ``data``; ``header`` is written first as ``#`` comment lines."""
    out: list[str] = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(out, (), data)
    return "\n".join(out).lstrip("\n") + "\n"


def _table(out: list[str], path: tuple[str, ...], data: Mapping[str, Any]) -> None:
    scalars = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_array(v)}
    for k, v in scalars.items():
        out.append(f"{_key(k)} = {_value(v)}")
    for k, v in data.items():
        if _is_table(v):
            sub = path + (k,)
            if not v or any(not _is_table(i) and not _is_table_array(i) for i in v.values()):
                out += ["", f"[{'.'.join(map(_key, sub))}]"]  # else implied by its sub-tables
            _table(out, sub, v)
        elif _is_table_array(v):
            sub = path + (k,)
            for item in v:
                out += ["", f"[[{'.'.join(map(_key, sub))}]]"]
                _table(out, sub, item)


def _is_table(v: Any) -> bool:
    return isinstance(v, Mapping)


def _is_table_array(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and bool(v) and all(isinstance(i, Mapping) for i in v)


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise FirmwareError(f"cannot write {v!r} to TOML")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(i) for i in v) + "]"
    raise FirmwareError(f"cannot write {type(v).__name__} to TOML")
