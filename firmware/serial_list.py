"""``lobbygate serial-list``: the serial ports attached, and the stable name each gets.

For every port pyserial sees (``serial.tools.list_ports``): its device, USB ids, serial number
and location, what lobbygate takes it for, and the ``/dev/lobbygate/...`` link the udev rule
gives it, with whether that link exists (i.e. the rule is installed).  Put the link, not
``/dev/ttyUSB0``, into a node's ``[[readers]] port`` or meter bus config."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Sequence

from firmware.adapters import find_kind, stable_name


@dataclass(frozen=True)
class AttachedPort:
    """One serial port and the name the rule gives it (``link`` None: not a known adapter)."""

    device: str
    vid: str
    pid: str
    serial: str
    location: str
    description: str
    role: str
    link: str | None
    link_present: bool


def list_ports(ports: Iterable[Any], *, exists: Callable[[str], bool] = os.path.exists
               ) -> list[AttachedPort]:
    """Describe ``ports`` (pyserial ``ListPortInfo``-like objects); ``exists`` checks a path."""
    out = []
    for p in ports:
        kind = find_kind(p.vid, p.pid)
        link = stable_name(kind, serial=p.serial_number, location=p.location) if kind else None
        out.append(AttachedPort(
            device=p.device, vid=f"{p.vid:04x}" if p.vid is not None else "",
            pid=f"{p.pid:04x}" if p.pid is not None else "", serial=p.serial_number or "",
            location=p.location or "", description=(kind.description if kind else p.description) or "",
            role=kind.role if kind else "", link=f"/dev/{link}" if link else None,
            link_present=bool(link) and exists(f"/dev/{link}")))
    return sorted(out, key=lambda a: a.device)


def _comports() -> list[Any]:
    from serial.tools import list_ports as lp  # pyserial; imported only when listing
    return list(lp.comports())


def main(argv: Sequence[str] | None = None, *, comports: Callable[[], list[Any]] = _comports) -> int:
    p = argparse.ArgumentParser(prog="lobbygate serial-list", description=__doc__.split("\n\n")[0])
    p.add_argument("--all", action="store_true", help="also ports lobbygate does not recognise")
    p.add_argument("--json", action="store_true", help="one JSON array")
    args = p.parse_args(argv)
    ports = [a for a in list_ports(comports()) if args.all or a.link]
    if args.json:
        print(json.dumps([asdict(a) for a in ports], indent=1))
        return 0
    if not ports:
        print("no known USB-RS485 adapter or scanner attached" + ("" if args.all else " (--all lists every port)"))
        return 0
    for a in ports:
        ids = f"{a.vid}:{a.pid}" if a.vid else "-"
        state = ("" if not a.link else " (present)" if a.link_present
                 else " (missing: udev rule not installed or not reloaded)")
        print(f"{a.device:<16} {ids:<10} serial={a.serial or '-':<12} usb={a.location or '-':<10} "
              f"{a.description}")
        print(f"{'':<16} -> {a.link or 'no stable name (unknown adapter)'}{state}")
    return 0
