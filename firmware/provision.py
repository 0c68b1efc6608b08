"""``lobbygate provision``: create the site and its nodes on the console host.

    lobbygate provision init --dir SITE_DIR --site ID [--broker-host HOST]...
    lobbygate provision node add ID --dir SITE_DIR [--host HOST] [--hardware FILE] [--rotate]
                                   [--auth password|cert]
    lobbygate provision node revoke ID --dir SITE_DIR
    lobbygate provision node list --dir SITE_DIR

Every command is idempotent.  After a node change the broker is told to reload (SIGHUP to the
PID in its PID file: the one ``lobbygate broker-config`` recorded, or ``--broker-pid-file``)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Sequence

from firmware.broker_config import DEFAULT_SITE_DIR
from firmware.errors import FirmwareError, ProvisionError
from firmware.site import Site


def reload_broker(pid_file: Path) -> int | None:
    """SIGHUP the broker whose PID is in ``pid_file``; returns the PID, or None if the file is
    missing (broker not running).  :class:`ProvisionError` if the file is bad or the PID gone."""
    try:
        text = Path(pid_file).read_text().strip()
    except FileNotFoundError:
        return None
    try:
        pid = int(text)
        os.kill(pid, signal.SIGHUP)
    except ValueError as exc:
        raise ProvisionError(f"{pid_file}: not a PID: {text!r}") from exc
    except ProcessLookupError as exc:
        raise ProvisionError(f"{pid_file}: no process {text} (stale PID file?)") from exc
    return pid


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lobbygate provision", description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", type=Path, default=DEFAULT_SITE_DIR, help="site directory (%(default)s)")
    sub = p.add_subparsers(dest="what", required=True)

    init = sub.add_parser("init", parents=[common], help="create the site (keys, CA, broker certificate)")
    init.add_argument("--site", required=True, help="site id, [a-z0-9-]{1,32}")
    init.add_argument("--broker-host", action="append", default=[], metavar="HOST",
                      help="name or address nodes use to reach the broker (repeatable; the first "
                           "goes into node configs)")
    init.add_argument("--tls-port", type=int, help="broker TLS port (default 8883)")
    init.add_argument("--cert-port", type=int,
                      help="broker TLS port for client-certificate nodes (default 8884)")
    init.add_argument("--broker-owner", help="user owning DIR/broker (e.g. mosquitto; needs root)")
    init.add_argument("--console-owner", help="user owning DIR/console (e.g. lobbygate; needs root)")

    node = sub.add_parser("node", help="add, revoke or list nodes")
    nsub = node.add_subparsers(dest="action", required=True)
    reload_opts = argparse.ArgumentParser(add_help=False)
    reload_opts.add_argument("--broker-pid-file", type=Path,
                             help="reload the broker with this PID file (default: as recorded by broker-config)")
    reload_opts.add_argument("--no-reload", action="store_true", help="do not signal the broker")
    add = nsub.add_parser("add", parents=[common, reload_opts], help="provision a node (idempotent)")
    add.add_argument("id", help="node id, [a-z0-9-]{1,32}")
    add.add_argument("--host", help="broker host written into the node's config")
    add.add_argument("--hardware", type=Path, help="TOML fragment: [gpio], [[readers]], [[inputs]], [[relays]]...")
    add.add_argument("--rotate", action="store_true",
                     help="issue a new password (or client certificate) and command key")
    add.add_argument("--auth", choices=["password", "cert"],
                     help="broker authentication: a random password (default for a new node) or "
                          "a client certificate from the site CA (CN = node id, 2 years); "
                          "default: as before")
    rev = nsub.add_parser("revoke", parents=[common, reload_opts], help="remove a node's broker access")
    rev.add_argument("id")
    nsub.add_parser("list", parents=[common], help="list nodes")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except FirmwareError as exc:
        print(f"lobbygate provision: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.what == "init":
        site = Site(args.dir, broker_owner=args.broker_owner, console_owner=args.console_owner)
        rec = site.init(site_id=args.site, broker_hosts=args.broker_host, tls_port=args.tls_port,
                        cert_port=args.cert_port)
        print(f"site {rec.id} in {args.dir}: broker hosts {', '.join(rec.broker_hosts)}, "
              f"TLS port {rec.tls_port}, client-certificate port {rec.cert_port}")
        print(f"signing public key: {site.signing_public_key}")
        return 0
    site = Site(args.dir)
    if args.action == "list":
        rec = site.load()
        for n in sorted(rec.nodes.values(), key=lambda r: r.id):
            print(f"{n.id:<32} {n.state:<8} auth={n.auth} host={n.host} "
                  f"credentials={n.credentials_issued}"
                  + (f" cert_expires={n.cert_expires}" if n.cert_expires else "")
                  + (f" revoked={n.revoked}" if n.revoked else ""))
        return 0
    if args.action == "add":
        res = site.add_node(args.id, host=args.host, rotate=args.rotate, hardware=args.hardware,
                            auth=args.auth)
        what = "created" if res.created else ("credentials re-issued" if res.credentials_issued else "unchanged")
        print(f"node {res.id}: {what}; bundle {res.archive}")
        changed = res.created or res.credentials_issued
    else:
        changed = site.revoke_node(args.id)
        print(f"node {args.id}: {'revoked' if changed else 'already revoked'}")
    if changed and not args.no_reload:
        recorded = site.load().broker_pid_file
        pid_file = args.broker_pid_file or (Path(recorded) if recorded else None)
        pid = reload_broker(pid_file) if pid_file else None
        print(f"broker (pid {pid}) reloaded" if pid else
              "broker not reloaded (no PID file): reload it, e.g. `systemctl reload mosquitto`")
    return 0
