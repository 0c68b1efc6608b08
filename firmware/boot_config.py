"""``lobbygate boot-config``: put the node's lines into the Pi's ``config.txt`` and turn the
serial console off in ``cmdline.txt`` (see ``firmware/boot/README.md`` for each line).

The lines go between ``# BEGIN lobbygate`` and ``# END lobbygate``; re-running replaces that
block and changes nothing else.  With a node config, the ``gpio=`` lines follow its
``[[inputs]]`` (pull-up or pull-down) and ``[[relays]]`` (driven to the level of their safe
state from power-on); without one, the defaults of ``firmware/boot/config.txt``."""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path
from typing import Any, Mapping, Sequence

from firmware.files import write_file

BEGIN = "# BEGIN lobbygate"
END = "# END lobbygate"
#: The default pins of firmware/boot/config.txt (see its README).
DEFAULT_GPIO = ("gpio=5,6,13,19,26=ip,pu", "gpio=17,27,22=op,dl")
_CONSOLE = re.compile(r"^console=(serial0|serial1|ttyAMA0|ttyS0),\d+$")
_BCM = re.compile(r"^(?:GPIO|BCM)?(\d{1,2})$")


def bcm_pin(pin: int | str) -> int | None:
    """17, "17", "GPIO17", "BCM17" → 17; other forms (``BOARD11``, ``J8:11``) → None."""
    m = _BCM.match(str(pin).strip().upper())
    return int(m.group(1)) if m and int(m.group(1)) <= 27 else None


def gpio_lines(node_config: Mapping[str, Any] | None) -> list[str]:
    """``gpio=`` lines for a node config mapping (None: the defaults)."""
    if node_config is None:
        return list(DEFAULT_GPIO)
    lines = []
    for i in node_config.get("inputs", []):
        pin = bcm_pin(i["pin"])
        if pin is None:
            lines.append(f"# input {i.get('name')}: pin {i['pin']!r} is not a BCM number; set its pull by hand")
        else:
            lines.append(f"gpio={pin}=ip,{'pu' if i.get('pull_up', True) else 'pd'}")
    for r in node_config.get("relays", []):
        pin = bcm_pin(r["pin"])
        energised = r.get("safe_state", "off") == "on"
        high = energised == bool(r.get("active_high", True))
        if pin is None:
            lines.append(f"# relay {r.get('name')}: pin {r['pin']!r} is not a BCM number; set it by hand")
        else:
            lines.append(f"gpio={pin}=op,{'dh' if high else 'dl'}")
    return lines


def render_block(node_config: Mapping[str, Any] | None = None, *, keep_bluetooth: bool = False) -> str:
    """The marked block for ``config.txt``."""
    return "\n".join([BEGIN, "[all]", "enable_uart=1",
                      "dtoverlay=miniuart-bt" if keep_bluetooth else "dtoverlay=disable-bt",
                      *gpio_lines(node_config), END]) + "\n"


def apply_block(text: str, block: str) -> str:
    """``text`` with its lobbygate block replaced by ``block`` (appended if it has none)."""
    lines = text.splitlines(keepends=True)
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == BEGIN)
        end = next(i for i in range(start, len(lines)) if lines[i].strip() == END)
    except StopIteration:
        sep = "" if not text or text.endswith("\n") else "\n"
        return text + sep + ("\n" if text else "") + block
    return "".join(lines[:start]) + block + "".join(lines[end + 1:])


def strip_serial_console(cmdline: str) -> str:
    """``cmdline.txt`` without ``console=serial0,115200`` (and the like); one line."""
    words = [w for w in cmdline.split() if not _CONSOLE.match(w)]
    return " ".join(words) + "\n"


def default_boot_dir() -> Path:
    """``/boot/firmware`` (Bookworm) if it exists, else ``/boot``."""
    return Path("/boot/firmware") if Path("/boot/firmware/config.txt").exists() else Path("/boot")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="lobbygate boot-config", description=__doc__.split("\n\n")[0])
    p.add_argument("--boot-dir", type=Path, help="directory with config.txt and cmdline.txt "
                                                 "(default /boot/firmware, else /boot)")
    p.add_argument("--node-config", type=Path, help="node.toml whose inputs/relays give the gpio= lines")
    p.add_argument("--keep-bluetooth", action="store_true", help="dtoverlay=miniuart-bt instead of disable-bt")
    p.add_argument("--dry-run", action="store_true", help="print the block, change nothing")
    args = p.parse_args(argv)
    conf = None
    if args.node_config:
        try:
            conf = tomllib.loads(args.node_config.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            print(f"lobbygate boot-config: {args.node_config}: {exc}", file=sys.stderr)
            return 1
    block = render_block(conf, keep_bluetooth=args.keep_bluetooth)
    if args.dry_run:
        sys.stdout.write(block)
        return 0
    boot = args.boot_dir or default_boot_dir()
    changed = []
    for name, edit in (("config.txt", lambda t: apply_block(t, block)),
                       ("cmdline.txt", strip_serial_console)):
        path = boot / name
        if not path.exists():
            if name == "cmdline.txt":
                continue
            path.write_text("")
        if write_file(path, edit(path.read_text()), mode=path.stat().st_mode & 0o7777):
            changed.append(name)
    print(f"{boot}: {', '.join(changed)} changed; reboot to apply" if changed else f"{boot}: up to date")
    return 0
