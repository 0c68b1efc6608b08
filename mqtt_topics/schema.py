"""A TOML configuration schema written as data, and the engine that checks a file against it.

The node (``edge/config.py``, ``node.toml``) and the console (``web/config.py``,
``console.toml``) both describe their settings as a ``{section name: Section}`` mapping of
:class:`Key` objects and validate with :func:`validate_table`, which reports every problem as
``path: sentence`` into a list so an operator fixes them all in one go.

Value types are a registry (:data:`BASE_TYPES`: ``"str"``, ``"path"``, ``"int"``, ``"float"``,
``"bool"``, ``"list[str]"``); a caller adds its own by passing ``types={**BASE_TYPES, "pin":
ValueType(...)}``. Standard library only: this sits in the bottom layer both sides import.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from .errors import ContractError

__all__ = ["Key", "Section", "ValueType", "BASE_TYPES", "coerce", "validate_table", "show",
           "unknown", "read_secret", "load_toml", "contract_check", "check_nonempty",
           "check_hex_key"]

#: An error-sentence check: returns a sentence for a bad value, None for a good one.
Check = Callable[[Any], str | None]

_HEX_RE = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


# -- the schema, as data ------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    """One setting.

    ``type``: a name in the validator's type registry (:data:`BASE_TYPES`: ``"str"``,
    ``"int"``, ``"float"`` (an int is accepted), ``"bool"``, ``"path"`` (a string, made absolute
    against the config's directory), ``"list[str]"`` (returned as a tuple); callers may add
    more, e.g. the node's ``"pin"``); ``required``; ``default`` (used when absent and not
    required); ``choices``; ``min`` / ``max`` (inclusive, numbers); ``check``: a function that
    returns an error sentence for a bad value or None; ``doc``: one line for the sample/docs."""

    type: str
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] = ()
    min: float | None = None
    max: float | None = None
    check: Check | None = None
    doc: str = ""


@dataclass(frozen=True, kw_only=True)
class Section:
    """A ``[table]``; with ``array`` an ``[[array of tables]]``; with ``per_id`` a family of
    ``[section.<id>]`` tables (how a section is walked is up to the caller)."""

    keys: Mapping[str, Key]
    array: bool = False
    required: bool = False
    per_id: bool = False
    doc: str = ""


@dataclass(frozen=True)
class ValueType:
    """A value type a :class:`Key` may name: ``word`` completes "must be ..." in the error
    (``"an integer"``); ``accepts(value)`` says whether a decoded TOML value is one."""

    word: str
    accepts: Callable[[Any], bool]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


#: The built-in value types; extend with ``{**BASE_TYPES, "name": ValueType(...)}``.
BASE_TYPES: Mapping[str, ValueType] = MappingProxyType({
    "str": ValueType("a string", lambda v: isinstance(v, str)),
    "int": ValueType("an integer", _is_int),
    "float": ValueType("a number",
                       lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    "bool": ValueType("true or false", lambda v: isinstance(v, bool)),
    "path": ValueType("a path string", lambda v: isinstance(v, str) and bool(v)),
    "list[str]": ValueType("a list of strings",
                           lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)),
})


# -- validation ----------------------------------------------------------------------------------

def show(value: Any) -> str:
    """A value as an error sentence names it: ``true``, ``a table``, ``a list``, else repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return f"a {'table' if isinstance(value, dict) else 'list'}"
    return repr(value)


def unknown(path: str, name: str, known: Iterable[str], what: str = "key") -> str:
    """``path: unknown <what>``, with the nearest known name as a hint when there is one."""
    near = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return f"{path}: unknown {what}{hint}"


def coerce(key: Key, value: Any, base_dir: Path, *,
           types: Mapping[str, ValueType] = BASE_TYPES) -> tuple[Any, str | None]:
    """``(value converted, None)`` or ``(None, error sentence)``: type (from ``types``),
    finiteness of floats, paths made absolute against ``base_dir``, choices, min/max, check."""
    t = key.type
    kind = types[t]
    if not kind.accepts(value):
        return None, f"must be {kind.word}, got {show(value)}"
    if t == "float":
        value = float(value)
        if not math.isfinite(value):
            return None, f"must be a finite number, got {value}"
    if t == "path":
        p = Path(os.path.expanduser(value))
        value = p if p.is_absolute() else (base_dir / p)
    if key.choices and value not in key.choices:
        return None, f"must be one of {', '.join(str(c) for c in key.choices)}, got {show(value)}"
    if key.min is not None and value < key.min:
        return None, f"must be >= {key.min:g}, got {value}"
    if key.max is not None and value > key.max:
        return None, f"must be <= {key.max:g}, got {value}"
    if key.check is not None:
        problem = key.check(value)
        if problem:
            return None, problem
    if t == "list[str]":
        value = tuple(value)
    return value, None


def validate_table(prefix: str, table: Any, section: Section, base_dir: Path, errors: list[str],
                   *, types: Mapping[str, ValueType] = BASE_TYPES) -> dict[str, Any]:
    """Every key of ``section`` -> its converted value (the default when absent, None when bad);
    each problem is appended to ``errors`` as ``prefix.key: sentence``."""
    if not isinstance(table, dict):
        errors.append(f"{prefix}: must be a table, got {show(table)}")
        return {k: None for k in section.keys}
    out: dict[str, Any] = {}
    for name in table:
        if name not in section.keys:
            errors.append(unknown(f"{prefix}.{name}", name, section.keys))
    for name, key in section.keys.items():
        path = f"{prefix}.{name}"
        if name not in table:
            if key.required:
                errors.append(f"{path}: required")
            out[name] = key.default
            continue
        value, problem = coerce(key, table[name], base_dir, types=types)
        if problem:
            errors.append(f"{path}: {problem}")
        out[name] = value
    return out


# -- files ---------------------------------------------------------------------------------------

def read_secret(path: Path | None, where: str, errors: list[str], *,
                catch: tuple[type[Exception], ...] = (OSError, UnicodeDecodeError)) -> str | None:
    """The first line of a secret file, or None with ``where: ...`` appended to ``errors`` when
    it cannot be read (an exception in ``catch``) or is empty. ``path`` None: None."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except catch as exc:
        reason = getattr(exc, "strerror", None) or exc
        errors.append(f"{where}: cannot read {path}: {reason}")
        return None
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not line:
        errors.append(f"{where}: {path} is empty")
        return None
    return line


def load_toml(path: Path, error: Callable[[list[str]], Exception]) -> dict[str, Any]:
    """A TOML file decoded; raise ``error([sentence])`` when it cannot be read or parsed."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise error([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise error([f"{path}: not valid TOML: {exc}"]) from None


# -- checks --------------------------------------------------------------------------------------

def contract_check(check: Callable[[str], object]) -> Check:
    """An error-sentence check from a contract check that raises :class:`ContractError`
    (e.g. ``contract_check(topics.check_node_id)``)."""

    def sentence(v: str) -> str | None:
        try:
            check(v)
        except ContractError as exc:
            return str(exc)
        return None

    return sentence


def check_nonempty(v: str) -> str | None:
    """Not empty nor only white space."""
    return None if v.strip() else "must not be empty"


def check_hex_key(v: str, min_bytes: int) -> str | None:
    """An even number of hex digits making at least ``min_bytes`` bytes."""
    if not _HEX_RE.match(v):
        return "must be an even number of hex digits"
    if len(v) // 2 < min_bytes:
        return f"must be at least {min_bytes} bytes ({2 * min_bytes} hex digits), got {len(v) // 2}"
    return None
