"""``lobbygate update``: signed updates with rollback.

    lobbygate update BUNDLE [--root /opt/lobbygate] [--public-key FILE] [--unit UNIT]...
    lobbygate update pack --key SITE_DIR/console/site-signing.key --version V --out FILE WHEEL...
    lobbygate update verify BUNDLE [--public-key FILE]
    lobbygate update status [--root /opt/lobbygate]

``update BUNDLE`` installs the bundle's release beside the running one only if the site key
signed it, switches ``/opt/lobbygate/current`` to it, restarts the unit(s) and rolls back if
they are not healthy within ``--timeout`` seconds."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Sequence

from firmware import pki
from firmware.errors import FirmwareError, UpdateRolledBack
from firmware.releases import (HEALTH_TIMEOUT_S, CommandHealthCheck, ReleaseStore, Updater,
                               VenvInstaller, command_restart, keep_payload)
from firmware.update_bundle import pack_bundle, verify_bundle

DEFAULT_ROOT = Path("/opt/lobbygate")
DEFAULT_PUBLIC_KEY = Path("/etc/lobbygate/site-signing.pub")
DEFAULT_NODE_CONFIG = Path("/etc/lobbygate/node.toml")
DEFAULT_UNIT = "lobbygate-node.service"


def _apply_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lobbygate update", description=__doc__.split("\n\n")[0])
    p.add_argument("bundle", type=Path, help="the signed bundle (.tar)")
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="install root (%(default)s)")
    p.add_argument("--public-key", type=Path, default=DEFAULT_PUBLIC_KEY,
                   help="site Ed25519 public key (%(default)s)")
    p.add_argument("--site", help="refuse bundles signed for another site "
                                  f"(default: [node] site of {DEFAULT_NODE_CONFIG} if present)")
    p.add_argument("--unit", action="append", default=[], metavar="UNIT",
                   help=f"systemd unit to restart and check (repeatable; default {DEFAULT_UNIT})")
    p.add_argument("--restart-cmd", help="command restarting the service (default: systemctl restart UNIT...)")
    p.add_argument("--health-cmd", help="command that exits 0 while healthy "
                                        "(default: systemctl is-active --quiet UNIT...)")
    p.add_argument("--timeout", type=float, default=HEALTH_TIMEOUT_S,
                   help="seconds to become healthy (%(default)s)")
    p.add_argument("--settle", type=float, default=15.0,
                   help="seconds the health command must keep succeeding (%(default)s)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between health checks (%(default)s)")
    p.add_argument("--installer", choices=["venv", "payload-only"], default="venv",
                   help="venv: pip-install into releases/V/venv (default); payload-only: keep the files")
    p.add_argument("--allow-index", action="store_true", help="let pip fetch missing dependencies")
    p.add_argument("--allow-downgrade", action="store_true", help="accept an older version")
    return p


def _pack_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lobbygate update pack", description="build a signed bundle")
    p.add_argument("files", nargs="+", type=Path, help="wheels / sdists to ship")
    p.add_argument("--key", type=Path, required=True, help="site signing key (SITE_DIR/console/site-signing.key)")
    p.add_argument("--version", required=True, help="release version, e.g. 0.2.0")
    p.add_argument("--out", type=Path, required=True, help="bundle file to write")
    p.add_argument("--site", default="", help="bind the bundle to this site id")
    p.add_argument("--requirement", default="", help="what pip installs (default lobbygate==VERSION)")
    return p


def _verify_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lobbygate update verify", description="check a bundle's signature")
    p.add_argument("bundle", type=Path)
    p.add_argument("--public-key", type=Path, default=DEFAULT_PUBLIC_KEY)
    p.add_argument("--site", default="")
    return p


def _status_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lobbygate update status", description="installed releases")
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args[:1] == ["pack"]:
            return _pack(_pack_parser().parse_args(args[1:]))
        if args[:1] == ["verify"]:
            return _verify(_verify_parser().parse_args(args[1:]))
        if args[:1] == ["status"]:
            return _status(_status_parser().parse_args(args[1:]))
        return _apply(_apply_parser().parse_args(args))
    except UpdateRolledBack as exc:
        print(f"lobbygate update: {exc}", file=sys.stderr)
        return 3
    except FirmwareError as exc:
        print(f"lobbygate update: {exc}", file=sys.stderr)
        return 1


def _pack(a: argparse.Namespace) -> int:
    m = pack_bundle(version=a.version, files=a.files, signing_key=pki.load_signing_key(a.key),
                    out=a.out, site=a.site, requirement=a.requirement)
    print(f"wrote {a.out}: {m.package} {m.version}, {len(m.files)} file(s), signed")
    return 0


def _verify(a: argparse.Namespace) -> int:
    m = verify_bundle(a.bundle, public_key=pki.load_public_key(a.public_key), site=a.site)
    print(f"{a.bundle}: signature good; {m.package} {m.version} ({', '.join(f.name for f in m.files)})")
    return 0


def _status(a: argparse.Namespace) -> int:
    store = ReleaseStore(a.root)
    print(f"current: {store.current() or '-'}  previous: {store.previous() or '-'}  "
          f"installed: {', '.join(store.installed()) or '-'}")
    return 0


def _node_site() -> str:
    try:
        return str(tomllib.loads(DEFAULT_NODE_CONFIG.read_text())["node"]["site"])
    except (OSError, tomllib.TOMLDecodeError, KeyError):
        return ""


def _apply(a: argparse.Namespace) -> int:
    units = a.unit or [DEFAULT_UNIT]
    restart_argv = shlex.split(a.restart_cmd) if a.restart_cmd else ["systemctl", "restart", *units]
    health_argv = shlex.split(a.health_cmd) if a.health_cmd else ["systemctl", "is-active", "--quiet", *units]
    updater = Updater(
        ReleaseStore(a.root), public_key=pki.load_public_key(a.public_key),
        install=VenvInstaller(allow_index=a.allow_index) if a.installer == "venv" else keep_payload,
        restart=command_restart(restart_argv),
        health=CommandHealthCheck(health_argv, settle_s=a.settle, interval_s=a.interval),
        health_timeout_s=a.timeout, site=a.site if a.site is not None else _node_site(),
        allow_downgrade=a.allow_downgrade)
    res = updater.apply(a.bundle)
    if res.status == "already-current":
        print(f"{res.version} is already current; nothing to do")
    else:
        print(f"updated to {res.version} (previous {res.previous or '-'} kept for rollback)")
    return 0
