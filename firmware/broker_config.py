"""``lobbygate broker-config``: render the site's ``mosquitto.conf``.

Two TLS listeners (the site CA, the broker's certificate and key, TLS 1.2 minimum) on every
interface: the password listener (``tls_port``, default 8883) for the console and password
nodes, and the client-certificate listener (``cert_port``, default 8884) with
``require_certificate true``, ``use_identity_as_username true`` (the certificate's CN, the node
id, is the user name) and the site CRL as ``crlfile``.  Also ``allow_anonymous false``, the
password file and ACL that ``lobbygate provision`` maintains, ``set_tcp_nodelay true`` and
persistence on.  Optionally a plain listener bound to loopback only, for a console on the same
host that prefers it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from firmware.errors import FirmwareError
from firmware.files import write_file
from firmware.mosquitto import TlsListener, render_conf
from firmware.site import Site

#: Default site directory on the console host.
DEFAULT_SITE_DIR = Path("/etc/lobbygate/site")
#: Debian's Mosquitto persistence directory and PID file.
DEFAULT_DATA_DIR = Path("/var/lib/mosquitto")
DEFAULT_PID_FILE = Path("/run/mosquitto/mosquitto.pid")


def render_site_conf(site: Site, *, data_dir: Path = DEFAULT_DATA_DIR, bind: str = "",
                     tls_version: str = "tlsv1.2", loopback_port: int | None = None,
                     run_as: str | None = "mosquitto", pid_file: Path | None = DEFAULT_PID_FILE,
                     log_file: Path | None = None) -> str:
    """The site's ``mosquitto.conf`` text (paths are absolute).

    ``bind``: address of the TLS listeners, "" (default) = all; ``loopback_port``: also a plain
    listener on 127.0.0.1 (default none); ``run_as``: user Mosquitto drops to (default
    ``mosquitto``); ``pid_file``: where it writes its PID; ``log_file``: None = stderr (journald).
    Writes the site's CRL first if it is missing or stale (the configuration names it)."""
    record = site.load()
    site.ensure_crl(record)
    b = site.broker_dir.resolve()
    common = dict(cafile=b / "ca.crt", certfile=b / "server.crt", keyfile=b / "server.key",
                  bind=bind, tls_version=tls_version)
    passwords = TlsListener(port=record.tls_port, **common)
    certs = TlsListener(port=record.cert_port, require_certificate=True,
                        use_identity_as_username=True, crlfile=site.crl_file.resolve(), **common)
    return render_conf(port=loopback_port, bind="127.0.0.1", password_file=b / "passwd",
                       acl_file=b / "acl", data_dir=Path(data_dir), persistence=True,
                       log_file=log_file, tls=[passwords, certs], run_as=run_as, pid_file=pid_file)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lobbygate broker-config", description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, default=DEFAULT_SITE_DIR, help="site directory (%(default)s)")
    p.add_argument("--out", type=Path, help="file to write (default: DIR/broker/mosquitto.conf; - for stdout)")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="persistence directory (%(default)s)")
    p.add_argument("--bind", default="", help="TLS listeners' address (default: all interfaces)")
    p.add_argument("--tls-version", default="tlsv1.2", choices=["tlsv1.2", "tlsv1.3"],
                   help="minimum TLS version (%(default)s)")
    p.add_argument("--loopback-port", type=int, help="also a plain listener on 127.0.0.1:PORT")
    p.add_argument("--run-as", default="mosquitto", help="user the broker drops to (%(default)s)")
    p.add_argument("--pid-file", type=Path, default=DEFAULT_PID_FILE,
                   help="broker PID file, remembered so provisioning can reload it (%(default)s)")
    p.add_argument("--log-file", type=Path, help="log file (default: stderr, i.e. the journal)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    site = Site(args.dir)
    try:
        text = render_site_conf(site, data_dir=args.data_dir, bind=args.bind,
                                tls_version=args.tls_version, loopback_port=args.loopback_port,
                                run_as=args.run_as or None, pid_file=args.pid_file,
                                log_file=args.log_file)
        if str(args.out) == "-":
            sys.stdout.write(text)
            return 0
        out = args.out or site.broker_dir / "mosquitto.conf"
        write_file(out, text, mode=0o644)
        site.set_broker_pid_file(args.pid_file)
    except FirmwareError as exc:
        print(f"lobbygate broker-config: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0
