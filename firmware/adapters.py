"""USB serial adapters lobbygate knows, and the stable names its udev rule gives them.

One table (:data:`ADAPTERS`) produces both ``firmware/udev/99-lobbygate.rules``
(:func:`render_rules`; a test keeps the shipped file identical) and the names
``lobbygate serial-list`` predicts (:func:`stable_name`), so the two cannot disagree.

Names: ``/dev/lobbygate/<role>-<chip>-<serial>``, e.g. ``rs485-ftdi-A10K1234``; an adapter with
no serial number (most CH340s) is named by the USB port it is plugged into instead,
``rs485-ch340-port1.2``, stable as long as it stays in that port.  Multi-port chips add
``-if<NN>`` (the USB interface number)."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Directory under /dev holding the links.
LINK_DIR = "lobbygate"


@dataclass(frozen=True)
class AdapterKind:
    """A USB vendor (and product, None = any of the vendor's) and the name given to it.

    ``role``: "rs485" (meter bus, USB-RS485 dongles) or "scanner" (QR/barcode scanners in USB
    CDC-serial mode); ``chip``: short name in the link; ``multi_port``: add the interface number."""

    vendor_id: str
    product_id: str | None
    role: str
    chip: str
    description: str
    multi_port: bool = False


ADAPTERS: tuple[AdapterKind, ...] = (
    AdapterKind("0403", "6001", "rs485", "ftdi", "FTDI FT232R USB-RS485"),
    AdapterKind("0403", "6015", "rs485", "ftdi", "FTDI FT-X (FT230X/FT231X) USB-RS485"),
    AdapterKind("0403", "6014", "rs485", "ftdi", "FTDI FT232H USB-RS485"),
    AdapterKind("0403", "6010", "rs485", "ft2232", "FTDI FT2232 dual USB-RS485", multi_port=True),
    AdapterKind("0403", "6011", "rs485", "ft4232", "FTDI FT4232 quad USB-RS485", multi_port=True),
    AdapterKind("1a86", "7523", "rs485", "ch340", "WCH CH340 USB-RS485"),
    AdapterKind("1a86", "5523", "rs485", "ch341", "WCH CH341 USB-RS485"),
    AdapterKind("1a86", "55d4", "rs485", "ch9102", "WCH CH9102 USB-RS485"),
    AdapterKind("10c4", "ea60", "rs485", "cp210x", "Silicon Labs CP2102/CP2104 USB-RS485"),
    AdapterKind("10c4", "ea70", "rs485", "cp2105", "Silicon Labs CP2105 dual USB-RS485", multi_port=True),
    AdapterKind("067b", "2303", "rs485", "pl2303", "Prolific PL2303 USB-RS485"),
    AdapterKind("0c2e", None, "scanner", "honeywell", "Honeywell/Metrologic scanner (USB serial)"),
    AdapterKind("05e0", None, "scanner", "zebra", "Zebra/Symbol scanner (USB CDC)"),
    AdapterKind("05f9", None, "scanner", "datalogic", "Datalogic scanner (USB-COM)"),
    AdapterKind("1eab", None, "scanner", "newland", "Newland scanner (USB CDC)"),
)

_WS = re.compile(r"\s+")
_BAD = re.compile(r"[^0-9A-Za-z#+\-.:=@_]")


def udev_safe(text: str) -> str:
    """``text`` as udev's ``usb_id`` writes ``ID_SERIAL_SHORT``: whitespace runs become one
    ``_``, characters outside ``0-9A-Za-z#+-.:=@_`` become ``_``."""
    return _BAD.sub("_", _WS.sub("_", text.strip()))


def find_kind(vid: int | None, pid: int | None) -> AdapterKind | None:
    """The table entry for a USB vendor/product id, or None."""
    if vid is None:
        return None
    v, p = f"{vid:04x}", f"{pid or 0:04x}"
    exact = [a for a in ADAPTERS if a.vendor_id == v and a.product_id == p]
    return (exact or [a for a in ADAPTERS if a.vendor_id == v and a.product_id is None] or [None])[0]


def usb_devpath(location: str | None) -> tuple[str | None, str | None]:
    """pyserial's ``location`` (``"1-1.2:1.0"``: bus-ports:config.interface) → the USB device
    path udev calls ``devpath`` (``"1.2"``) and the interface number (``"00"``)."""
    if not location or "-" not in location:
        return None, None
    ports, _, conf = location.partition("-")[2].partition(":")
    iface = conf.partition(".")[2]
    return (ports or None), (f"{int(iface):02d}" if iface.isdigit() else None)


def stable_name(kind: AdapterKind, *, serial: str | None, location: str | None) -> str | None:
    """The link (``"lobbygate/rs485-ftdi-A10K1234"``) the rule gives a port, None if it can give
    none (no serial number and no USB location)."""
    devpath, iface = usb_devpath(location)
    ident = udev_safe(serial) if serial and serial.strip() else (f"port{devpath}" if devpath else None)
    if ident is None:
        return None
    name = f"{LINK_DIR}/{kind.role}-{kind.chip}-{ident}"
    if kind.multi_port:
        name += f"-if{iface or '00'}"
    return name


def render_rules() -> str:
    """The text of ``99-lobbygate.rules``."""
    lines = [
        "# lobbygate: stable names for USB-RS485 adapters and USB-serial scanners.",
        "# Generated from firmware/adapters.py (python -m firmware.adapters); do not edit by hand.",
        "# /dev/lobbygate/<role>-<chip>-<serial number>, or -port<USB port path> for adapters",
        "# without a serial number; multi-port chips add -if<interface>.  List them with",
        "# `lobbygate serial-list`.  Install: /etc/udev/rules.d/99-lobbygate.rules, then",
        "# `udevadm control --reload && udevadm trigger --subsystem-match=tty`.",
        'ACTION=="remove", GOTO="lobbygate_end"',
        'SUBSYSTEM!="tty", GOTO="lobbygate_end"',
        'IMPORT{builtin}="usb_id"',
        'ENV{ID_VENDOR_ID}!="?*", GOTO="lobbygate_end"',
        'ENV{ID_SERIAL_SHORT}=="?*", ENV{LOBBYGATE_ID}="$env{ID_SERIAL_SHORT}"',
        'ENV{ID_SERIAL_SHORT}!="?*", ATTRS{devpath}=="?*", ENV{LOBBYGATE_ID}="port$attr{devpath}"',
        'ENV{LOBBYGATE_ID}!="?*", GOTO="lobbygate_end"',
        "",
    ]
    for a in ADAPTERS:
        match = f'ENV{{ID_VENDOR_ID}}=="{a.vendor_id}", '
        if a.product_id:
            match += f'ENV{{ID_MODEL_ID}}=="{a.product_id}", '
        link = f"{LINK_DIR}/{a.role}-{a.chip}-$env{{LOBBYGATE_ID}}"
        if a.multi_port:
            link += "-if$env{ID_USB_INTERFACE_NUM}"
        lines += [f"# {a.description}",
                  f'{match}SYMLINK+="{link}", GROUP="dialout", MODE="0660"']
    lines += ["", 'LABEL="lobbygate_end"']
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # regenerate the shipped rules file
    from pathlib import Path

    target = Path(__file__).with_name("udev") / "99-lobbygate.rules"
    target.write_text(render_rules())
    print(f"wrote {target}")
