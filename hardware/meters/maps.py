"""Register maps: what a meter model holds where, as data files (``hardware/meters/*.toml``).

Adding a meter model
--------------------
1. Copy the closest file here (``eastron_sdm120.toml`` for an electricity meter,
   ``water_generic.toml`` for a water meter) to ``<maker>_<model>.toml`` (lower case, ``_``); the
   file name without ``.toml`` is the map's name in a node config (``[[meters]] map = "..."``).
   A map may also live anywhere else and be named by its path.
2. ``[meter]``: ``model`` (text), ``kind`` (``"electricity"`` or ``"water"``), optional
   ``word_order`` (default for its registers: ``"big"`` = high word first, ``"little"``),
   ``max_block`` (most registers per request, 1..125, default 40) and ``max_gap`` (unused
   registers a block may read across to save a request, default 0 = strictly contiguous; only
   raise it if the meter answers reads of the registers in between).
3. One ``[[registers]]`` per value: ``name`` (a reading name ending in its unit, e.g.
   ``voltage_v``, ``import_energy_kwh``), ``address`` (0-based protocol address, as in
   ``0x0048``; the "30073" of a data sheet is address 72), ``function`` (``"input"`` = FC 4 or
   ``"holding"`` = FC 3), ``type`` (``int16``, ``uint16``, ``int32``, ``uint32``, ``float32``),
   optional ``word_order``, ``scale`` (multiplier, default 1), ``unit`` (text) and ``total``
   (``true`` for a cumulative counter: journalled as ``meter.total`` and watched for resets).
4. Check it: ``python -m hardware.meters path/to/file.toml`` prints every problem at once,
   then run ``pytest tests/meters`` (every built-in map is decoded against the simulator).

:func:`load_map` reads and validates one map, raising :class:`MapError` listing every problem.
:func:`plan_blocks` groups a map's registers into the fewest contiguous reads.
"""

from __future__ import annotations

import math
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from hardware.errors import HardwareError

from .decode import TYPES, WORD_ORDERS

__all__ = ["MapError", "Register", "RegisterMap", "Block", "MAPS_DIR", "builtin_maps", "load_map",
           "parse_map", "plan_blocks"]

MAPS_DIR = Path(__file__).resolve().parent
KINDS = ("electricity", "water")
FUNCTIONS = ("input", "holding")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_METER_KEYS = {"model", "kind", "word_order", "max_block", "max_gap"}
_REGISTER_KEYS = {"name", "address", "function", "type", "word_order", "scale", "unit", "total"}


class MapError(HardwareError):
    """A register map is unusable; ``errors`` lists every problem (``registers[2].type: ...``)."""

    def __init__(self, source: str, errors: list[str]) -> None:
        super().__init__(f"register map {source}: " + "; ".join(errors))
        self.source = source
        self.errors = list(errors)


@dataclass(frozen=True)
class Register:
    """One value: ``address`` (0-based), ``function`` (``input``/``holding``), ``type``,
    ``word_order``, ``scale`` (multiplier), ``unit``, ``total`` (a cumulative counter)."""

    name: str
    address: int
    function: str
    type: str
    word_order: str = "big"
    scale: float = 1.0
    unit: str = ""
    total: bool = False

    @property
    def width(self) -> int:
        """Registers taken (1 or 2)."""
        return TYPES[self.type][0]

    @property
    def end(self) -> int:
        """One past the last address."""
        return self.address + self.width


@dataclass(frozen=True)
class RegisterMap:
    """A validated map. ``name``: file stem; ``registers`` in file order."""

    name: str
    model: str
    kind: str
    registers: tuple[Register, ...]
    max_block: int = 40
    max_gap: int = 0

    @property
    def totals(self) -> tuple[Register, ...]:
        return tuple(r for r in self.registers if r.total)


@dataclass(frozen=True)
class Block:
    """One read request: ``count`` registers from ``address`` with ``function``, covering
    ``registers``."""

    function: str
    address: int
    count: int
    registers: tuple[Register, ...]


def builtin_maps() -> list[str]:
    """Names of the maps shipped in this package."""
    return sorted(p.stem for p in MAPS_DIR.glob("*.toml"))


def _resolve(name_or_path: str | Path, base_dir: Path | None) -> Path:
    text = str(name_or_path)
    if "/" not in text and not text.endswith(".toml"):
        return MAPS_DIR / f"{text}.toml"
    p = Path(text).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    return p


def load_map(name_or_path: str | Path, *, base_dir: str | Path | None = None) -> RegisterMap:
    """Load a built-in map by name (``"eastron_sdm120"``) or a file by path (relative paths
    against ``base_dir``). Raises :class:`MapError` with every problem found."""
    path = _resolve(name_or_path, Path(base_dir) if base_dir is not None else None)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        known = ", ".join(builtin_maps())
        raise MapError(str(name_or_path), [f"no such map ({path}); built-in maps: {known}"]) from None
    except OSError as exc:
        raise MapError(str(name_or_path), [f"cannot read {path}: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise MapError(str(name_or_path), [f"not valid TOML: {exc}"]) from None
    return parse_map(data, name=path.stem, source=str(path))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_map(data: Mapping[str, Any], *, name: str, source: str | None = None) -> RegisterMap:
    """Validate a decoded map document; raise :class:`MapError` listing every problem."""
    errors: list[str] = []
    meter = data.get("meter")
    for key in data:
        if key not in ("meter", "registers"):
            errors.append(f"{key}: unknown section (expected [meter] and [[registers]])")
    if not isinstance(meter, dict):
        errors.append("meter: required table [meter] is missing")
        meter = {}
    for key in meter:
        if key not in _METER_KEYS:
            errors.append(f"meter.{key}: unknown key")
    model = meter.get("model")
    if not isinstance(model, str) or not model.strip():
        errors.append("meter.model: required, a non-empty string")
    kind = meter.get("kind")
    if kind not in KINDS:
        errors.append(f"meter.kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    default_order = meter.get("word_order", "big")
    if default_order not in WORD_ORDERS:
        errors.append(f"meter.word_order: must be big or little, got {default_order!r}")
        default_order = "big"
    max_block = meter.get("max_block", 40)
    if not _is_int(max_block) or not 1 <= max_block <= 125:
        errors.append(f"meter.max_block: must be an integer 1..125, got {max_block!r}")
        max_block = 40
    max_gap = meter.get("max_gap", 0)
    if not _is_int(max_gap) or not 0 <= max_gap <= 100:
        errors.append(f"meter.max_gap: must be an integer 0..100, got {max_gap!r}")
        max_gap = 0

    raw_regs = data.get("registers")
    if not isinstance(raw_regs, list) or not raw_regs:
        errors.append("registers: at least one [[registers]] table is required")
        raw_regs = []
    regs: list[Register] = []
    names: dict[str, int] = {}
    for i, r in enumerate(raw_regs):
        where = f"registers[{i}]"
        if not isinstance(r, dict):
            errors.append(f"{where}: must be a table")
            continue
        bad = len(errors)
        for key in r:
            if key not in _REGISTER_KEYS:
                errors.append(f"{where}.{key}: unknown key")
        rname = r.get("name")
        if not isinstance(rname, str) or not _NAME_RE.match(rname):
            errors.append(f"{where}.name: must match [a-z][a-z0-9_]{{0,47}}, got {rname!r}")
        elif rname in names:
            errors.append(f"{where}.name: {rname!r} is already used by registers[{names[rname]}]")
        else:
            names[rname] = i
        address = r.get("address")
        if not _is_int(address) or not 0 <= address <= 0xFFFF:
            errors.append(f"{where}.address: must be an integer 0..65535, got {address!r}")
        function = r.get("function")
        if function not in FUNCTIONS:
            errors.append(f"{where}.function: must be input or holding, got {function!r}")
        rtype = r.get("type")
        if rtype not in TYPES:
            errors.append(f"{where}.type: must be one of {', '.join(TYPES)}, got {rtype!r}")
        elif _is_int(address) and address + TYPES[rtype][0] > 0x10000:
            errors.append(f"{where}.address: {rtype} at {address} runs past 65535")
        order = r.get("word_order", default_order)
        if order not in WORD_ORDERS:
            errors.append(f"{where}.word_order: must be big or little, got {order!r}")
        scale = r.get("scale", 1.0)
        if (not isinstance(scale, (int, float)) or isinstance(scale, bool)
                or not math.isfinite(scale) or scale == 0):
            errors.append(f"{where}.scale: must be a finite non-zero number, got {scale!r}")
        unit = r.get("unit", "")
        if not isinstance(unit, str):
            errors.append(f"{where}.unit: must be a string, got {unit!r}")
        total = r.get("total", False)
        if not isinstance(total, bool):
            errors.append(f"{where}.total: must be true or false, got {total!r}")
        if len(errors) == bad:
            regs.append(Register(name=rname, address=address, function=function, type=rtype,
                                 word_order=order, scale=float(scale), unit=unit, total=total))
    # overlapping registers (same function)
    by_fn: dict[str, list[Register]] = {}
    for reg in regs:
        by_fn.setdefault(reg.function, []).append(reg)
    for fn, group in by_fn.items():
        group.sort(key=lambda g: g.address)
        for a, b in zip(group, group[1:]):
            if b.address < a.end:
                errors.append(f"registers: {b.name!r} ({fn} {b.address}) overlaps {a.name!r} "
                              f"({fn} {a.address}..{a.end - 1})")
    if errors:
        raise MapError(source or name, errors)
    return RegisterMap(name=name, model=model.strip(), kind=kind, registers=tuple(regs),
                       max_block=max_block, max_gap=max_gap)


def plan_blocks(register_map: RegisterMap) -> list[Block]:
    """Group the registers into the fewest reads: per function, sorted by address, a block grows
    while the next register starts at most ``max_gap`` registers after its end and the block stays
    within ``max_block`` registers. Input-register blocks come first, then holding ones."""
    blocks: list[Block] = []
    for fn in FUNCTIONS:
        regs = sorted((r for r in register_map.registers if r.function == fn), key=lambda r: r.address)
        current: list[Register] = []
        for reg in regs:
            if current:
                start = current[0].address
                end = max(r.end for r in current)
                if reg.address - end <= register_map.max_gap and reg.end - start <= register_map.max_block:
                    current.append(reg)
                    continue
                blocks.append(_block(fn, current))
            current = [reg]
        if current:
            blocks.append(_block(fn, current))
    return blocks


def _block(fn: str, regs: list[Register]) -> Block:
    start = regs[0].address
    return Block(function=fn, address=start, count=max(r.end for r in regs) - start, registers=tuple(regs))


def main(argv: list[str] | None = None) -> int:
    """``python -m hardware.meters FILE_OR_NAME...``: check maps, print problems."""
    args = sys.argv[1:] if argv is None else argv
    status = 0
    for arg in args or builtin_maps():
        try:
            m = load_map(arg)
        except MapError as exc:
            status = 1
            print(f"{arg}: {len(exc.errors)} problem(s)")
            for e in exc.errors:
                print(f"  {e}")
            continue
        blocks = plan_blocks(m)
        print(f"{arg}: ok ({m.model}, {len(m.registers)} registers, {len(blocks)} read(s))")
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
