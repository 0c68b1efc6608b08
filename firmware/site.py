"""A site on the console host: its keys, its CA, its broker accounts and its nodes.

One directory holds everything ``lobbygate provision`` makes, split by who reads it::

    SITE_DIR/site.toml              registry: site id, broker hosts, nodes and their state
    SITE_DIR/site-signing.pub       Ed25519 public key (passes, invites, update bundles)
    SITE_DIR/private/               root only: CA key, node passwords, hardware fragments
    SITE_DIR/broker/                Mosquitto: CA and server cert/key, passwd, acl, conf
    SITE_DIR/console/               the console: signing key, its MQTT password, node HMAC keys
    SITE_DIR/bundles/<node>/ + .tar.gz   what goes onto the node's card

Every operation is idempotent: keys, certificates and passwords are created once and reused;
generated files are rewritten only when their content changes.  Secrets are 0600 in 0700
directories.  ``broker_owner`` / ``console_owner`` (user names, applied when given; needs root)
hand the broker and console directories to the services that read them."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import shutil
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from firmware import node_config as NC
from firmware import pki
from firmware.bundle import BundleFile, write_bundle
from firmware.errors import ProvisionError
from firmware.files import SECRET_MODE, make_dir, write_file
from firmware.mosquitto import password_line, render_acl
from firmware.toml_out import dumps
from mqtt_topics import ContractError
from mqtt_topics import topics as T

#: The broker's TLS port.  Default 8883 (IANA "secure-mqtt").
TLS_PORT = 8883
#: The console's broker user name.
CONSOLE_USER = "console"
#: Host names every server certificate covers (the console connects over loopback).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
#: The console's state directory (its unit's only writable path).
CONSOLE_STATE = "/var/lib/lobbygate"
_UNITS = Path(__file__).with_name("systemd")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _stamp(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def broker_hash(username: str, password: str) -> str:
    """The ``passwd`` line for an account; its salt is derived from the account so the file is
    the same on every run (a new password gives a new salt)."""
    salt = hashlib.sha256(f"lobbygate-passwd:{username}:{password}".encode()).digest()[:12]
    return password_line(username, password, salt=salt)


@dataclass
class NodeRecord:
    """A node in the registry.  ``state``: "active" or "revoked"; times are UTC ISO strings."""

    id: str
    host: str
    state: str = "active"
    created: str = ""
    credentials_issued: str = ""
    revoked: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {"host": self.host, "state": self.state, "created": self.created,
             "credentials_issued": self.credentials_issued}
        if self.revoked:
            d["revoked"] = self.revoked
        return d


@dataclass
class SiteRecord:
    """The registry (``site.toml``)."""

    id: str
    created: str
    broker_hosts: list[str]
    tls_port: int = TLS_PORT
    broker_owner: str = ""
    console_owner: str = ""
    broker_pid_file: str = ""
    nodes: dict[str, NodeRecord] = field(default_factory=dict)

    def to_toml(self) -> str:
        site: dict[str, Any] = {"id": self.id, "created": self.created,
                                "broker_hosts": list(self.broker_hosts), "tls_port": self.tls_port}
        for k in ("broker_owner", "console_owner", "broker_pid_file"):
            if getattr(self, k):
                site[k] = getattr(self, k)
        data: dict[str, Any] = {"site": site}
        if self.nodes:
            data["nodes"] = {n: r.to_dict() for n, r in sorted(self.nodes.items())}
        return dumps(data, header="lobbygate site registry, written by `lobbygate provision`.\n"
                                  "Change it with that command, not by hand.")

    @classmethod
    def from_toml(cls, text: str) -> "SiteRecord":
        data = tomllib.loads(text)
        s = data["site"]
        nodes = {n: NodeRecord(id=n, **r) for n, r in data.get("nodes", {}).items()}
        return cls(id=s["id"], created=s["created"], broker_hosts=list(s["broker_hosts"]),
                   tls_port=int(s.get("tls_port", TLS_PORT)),
                   broker_owner=s.get("broker_owner", ""), console_owner=s.get("console_owner", ""),
                   broker_pid_file=s.get("broker_pid_file", ""), nodes=nodes)

    @property
    def active_nodes(self) -> list[str]:
        return sorted(n for n, r in self.nodes.items() if r.state == "active")


@dataclass(frozen=True)
class ProvisionedNode:
    """What :meth:`Site.add_node` did: the bundle directory and archive, whether the node is new
    and whether its credentials were (re)issued."""

    id: str
    bundle_dir: Path
    archive: Path
    created: bool
    credentials_issued: bool


class Site:
    """The site directory ``root`` (see the module note).

    ``clock``: returns the current UTC time (registry stamps, certificate validity);
    ``broker_owner`` / ``console_owner``: users to own ``broker/`` and ``console/`` (None, the
    default, leaves ownership alone; given to :meth:`init`, they are remembered in the registry
    for later runs).  The constructor does no I/O."""

    def __init__(self, root: Path, *, clock: Callable[[], dt.datetime] = utc_now,
                 broker_owner: str | None = None, console_owner: str | None = None) -> None:
        self.root = Path(root)
        self._clock = clock
        self.broker_owner = broker_owner
        self.console_owner = console_owner

    # -- paths -------------------------------------------------------------------------------
    @property
    def registry_file(self) -> Path:
        return self.root / "site.toml"

    @property
    def signing_public_key(self) -> Path:
        return self.root / "site-signing.pub"

    @property
    def signing_key(self) -> Path:
        """The Ed25519 private key (the console signs passes with it)."""
        return self.root / "console" / "site-signing.key"

    @property
    def ca_key(self) -> Path:
        return self.root / "private" / "ca.key"

    @property
    def ca_cert(self) -> Path:
        return self.root / "broker" / "ca.crt"

    @property
    def broker_dir(self) -> Path:
        return self.root / "broker"

    @property
    def console_dir(self) -> Path:
        return self.root / "console"

    def node_password_file(self, node: str) -> Path:
        return self.root / "private" / "nodes" / f"{node}.password"

    def node_hardware_file(self, node: str) -> Path:
        return self.root / "private" / "nodes" / f"{node}.hardware.toml"

    def command_key_file(self, node: str) -> Path:
        """The node's HMAC command key (hex), read by the console to sign commands."""
        return self.console_dir / "keys" / f"{node}.key"

    @property
    def console_password_file(self) -> Path:
        return self.console_dir / "console.password"

    def bundle_dir(self, node: str) -> Path:
        return self.root / "bundles" / node

    # -- registry ----------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return self.registry_file.exists()

    def load(self) -> SiteRecord:
        """The registry; :class:`ProvisionError` if the site was not initialised.  Adopts the
        owners it records unless this object was given its own."""
        try:
            record = SiteRecord.from_toml(self.registry_file.read_text())
            self.broker_owner = self.broker_owner or record.broker_owner or None
            self.console_owner = self.console_owner or record.console_owner or None
            return record
        except FileNotFoundError as exc:
            raise ProvisionError(f"no site in {self.root}: run `lobbygate provision init` first") from exc
        except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
            raise ProvisionError(f"{self.registry_file} is damaged: {exc}") from exc

    def _save(self, record: SiteRecord) -> None:
        write_file(self.registry_file, record.to_toml(), mode=0o644)

    # -- site --------------------------------------------------------------------------------
    def init(self, *, site_id: str, broker_hosts: Sequence[str] = (),
             tls_port: int | None = None) -> SiteRecord:
        """Create the site, or complete/extend an existing one with the same id.

        ``broker_hosts``: names/addresses nodes use to reach the broker (the first is written
        into node configs); default this machine's host name and ``<hostname>.local``;
        ``tls_port``: the broker's TLS port (default :data:`TLS_PORT`, or as recorded).  The
        server certificate always covers them plus localhost; adding a host re-issues it with
        the same key.  Raises :class:`ProvisionError` for a bad id or a different existing site."""
        try:
            T.check_id(site_id, "site id")
        except ContractError as exc:
            raise ProvisionError(str(exc)) from exc
        now = self._clock()
        if self.exists:
            record = self.load()
            if record.id != site_id:
                raise ProvisionError(f"{self.root} already holds site {record.id!r}, not {site_id!r}")
            record.broker_hosts += [h for h in broker_hosts if h not in record.broker_hosts]
            record.tls_port = tls_port or record.tls_port
        else:
            hosts = list(dict.fromkeys(broker_hosts)) or _default_hosts()
            record = SiteRecord(id=site_id, created=_stamp(now), broker_hosts=hosts,
                                tls_port=tls_port or TLS_PORT)
        record.broker_owner = self.broker_owner or ""
        record.console_owner = self.console_owner or ""
        self._make_dirs()
        self._ensure_signing_key()
        self._ensure_ca(site_id, now)
        self._ensure_server_cert(record, now)
        self._ensure_secret(self.console_password_file, owner=self.console_owner)
        self._ensure_secret(self.console_dir / "session.key", owner=self.console_owner,
                            make=lambda: secrets.token_urlsafe(48))
        self._save(record)
        self._write_shared(record)
        self._write_console_config(record)
        return record

    @property
    def console_config(self) -> Path:
        """The console's ``console.toml`` (written once by :meth:`init`, then the operator's)."""
        return self.console_dir / "console.toml"

    def _write_console_config(self, record: SiteRecord) -> None:
        if self.console_config.exists():
            return
        data = {"include": ["nodes.toml"],
                "console": {"site": record.id, "db": f"{CONSOLE_STATE}/console.sqlite",
                            "users_db": f"{CONSOLE_STATE}/users.json",
                            "secret_key_file": "session.key",
                            "signing_key_file": "site-signing.key",
                            "listen_host": "0.0.0.0", "listen_port": 8080}}
        write_file(self.console_config,
                   dumps(data, header=f"lobbygate console of site {record.id}, first written by "
                                      "`lobbygate provision init`; yours to edit.\n"
                                      "[mqtt] and [nodes.*] come from nodes.toml, which provisioning "
                                      "rewrites."),
                   mode=0o644, owner=self.console_owner)

    def _make_dirs(self) -> None:
        make_dir(self.root, mode=0o755)
        make_dir(self.root / "private", mode=0o700)
        make_dir(self.root / "private" / "nodes", mode=0o700)
        make_dir(self.root / "bundles", mode=0o700)
        make_dir(self.broker_dir, mode=0o700, owner=self.broker_owner)
        make_dir(self.console_dir, mode=0o700, owner=self.console_owner)
        make_dir(self.console_dir / "keys", mode=0o700, owner=self.console_owner)

    def _ensure_signing_key(self) -> None:
        if self.signing_key.exists():
            key = pki.load_signing_key(self.signing_key)
        else:
            key = pki.new_signing_key()
            write_file(self.signing_key, pki.private_pem(key), mode=SECRET_MODE, owner=self.console_owner)
        write_file(self.signing_public_key, pki.public_pem(key))
        write_file(self.console_dir / "site-signing.pub", pki.public_pem(key), owner=self.console_owner)

    def _ensure_ca(self, site_id: str, now: dt.datetime) -> None:
        have_key, have_cert = self.ca_key.exists(), self.ca_cert.exists()
        if have_key and have_cert:
            return
        if have_cert and not have_key:
            raise ProvisionError(f"{self.ca_cert} exists but its key {self.ca_key} is gone: "
                                 "restore it, or start a new site directory")
        key, cert = pki.new_ca(site_id, now=now)
        write_file(self.ca_key, pki.private_pem(key), mode=SECRET_MODE)
        write_file(self.ca_cert, pki.cert_pem(cert), owner=self.broker_owner)

    def _ensure_server_cert(self, record: SiteRecord, now: dt.datetime) -> None:
        key_file, cert_file = self.broker_dir / "server.key", self.broker_dir / "server.crt"
        want = set(record.broker_hosts) | set(LOOPBACK_HOSTS)
        if cert_file.exists() and key_file.exists() and want <= pki.cert_hosts(pki.load_cert(cert_file)):
            return
        key = pki.load_ec_key(key_file) if key_file.exists() else None
        key, cert = pki.new_server_cert(pki.load_ec_key(self.ca_key), pki.load_cert(self.ca_cert),
                                        want, now=now, key=key)
        write_file(key_file, pki.private_pem(key), mode=SECRET_MODE, owner=self.broker_owner)
        write_file(cert_file, pki.cert_pem(cert), owner=self.broker_owner)

    def _ensure_secret(self, path: Path, *, owner: str | None = None, rotate: bool = False,
                       make: Callable[[], str] = lambda: secrets.token_urlsafe(24)) -> tuple[str, bool]:
        """Read a one-line secret, creating (or with ``rotate`` replacing) it; returns
        (secret, whether it was created)."""
        if path.exists() and not rotate:
            value = path.read_text().strip()
            if value:
                write_file(path, value + "\n", mode=SECRET_MODE, owner=owner)  # re-assert mode
                return value, False
        value = make()
        write_file(path, value + "\n", mode=SECRET_MODE, owner=owner)
        return value, True

    # -- nodes -------------------------------------------------------------------------------
    def add_node(self, node_id: str, *, host: str | None = None, rotate: bool = False,
                 hardware: Path | None = None) -> ProvisionedNode:
        """Provision ``node_id`` (idempotent): broker account, HMAC command key, ACL, bundle.

        ``host``: the broker address written into the node's config (default: the site's first
        broker host; it must be covered by the server certificate, see :meth:`init`);
        ``rotate``: issue a new password and command key; ``hardware``: a TOML fragment with the
        node's devices, remembered for later runs.  A revoked node is re-activated with new
        credentials."""
        try:
            T.check_node_id(node_id)
        except ContractError as exc:
            raise ProvisionError(str(exc)) from exc
        record = self.load()
        self._make_dirs()
        now = _stamp(self._clock())
        if host is not None:
            self._check_host(record, host)
        prev = record.nodes.get(node_id)
        created = prev is None
        rotate = rotate or (prev is not None and prev.state == "revoked")
        node = prev or NodeRecord(id=node_id, host=host or record.broker_hosts[0], created=now)
        node.host = host or node.host
        if node.state == "revoked":
            node.state, node.revoked = "active", ""
        password, new_pw = self._ensure_secret(self.node_password_file(node_id), rotate=rotate)
        cmd_key, new_key = self._ensure_secret(self.command_key_file(node_id), rotate=rotate,
                                               owner=self.console_owner,
                                               make=lambda: secrets.token_hex(32))
        issued = new_pw or new_key
        if issued or not node.credentials_issued:
            node.credentials_issued = now
        if hardware is not None:
            NC.load_hardware(hardware)  # validate before keeping it
            write_file(self.node_hardware_file(node_id), Path(hardware).read_bytes(), mode=SECRET_MODE)
        record.nodes[node_id] = node
        self._save(record)
        self._write_shared(record)
        archive = self._write_bundle(record, node, password=password, command_key=cmd_key)
        return ProvisionedNode(node_id, self.bundle_dir(node_id), archive, created, issued)

    def revoke_node(self, node_id: str) -> bool:
        """Remove the node's broker account, command key and bundle; keep it in the registry as
        revoked.  Returns False if it was already revoked; :class:`ProvisionError` if unknown.
        The running broker needs a reload (SIGHUP) to refuse new connections."""
        record = self.load()
        node = record.nodes.get(node_id)
        if node is None:
            raise ProvisionError(f"no node {node_id!r} in site {record.id}")
        if node.state == "revoked":
            return False
        node.state, node.revoked = "revoked", _stamp(self._clock())
        for path in (self.node_password_file(node_id), self.command_key_file(node_id),
                     self.bundle_dir(node_id).with_name(node_id + ".tar.gz")):
            path.unlink(missing_ok=True)
        shutil.rmtree(self.bundle_dir(node_id), ignore_errors=True)
        self._save(record)
        self._write_shared(record)
        return True

    def set_broker_pid_file(self, pid_file: Path | None) -> None:
        """Remember where the broker writes its PID (``lobbygate broker-config`` does this) so
        node changes can reload it."""
        record = self.load()
        record.broker_pid_file = str(pid_file) if pid_file else ""
        self._save(record)

    def _check_host(self, record: SiteRecord, host: str) -> None:
        if host not in set(record.broker_hosts) | set(LOOPBACK_HOSTS):
            raise ProvisionError(
                f"broker host {host!r} is not in the server certificate; add it with "
                f"`lobbygate provision init --dir {self.root} --site {record.id} --broker-host {host}`")

    # -- generated files ---------------------------------------------------------------------
    def _write_shared(self, record: SiteRecord) -> None:
        """passwd and acl for the broker (from every active node), the console's node key list."""
        console_pw = self.console_password_file.read_text().strip()
        lines = [broker_hash(CONSOLE_USER, console_pw)]
        for node in record.active_nodes:
            pw_file = self.node_password_file(node)
            if not pw_file.exists():
                raise ProvisionError(f"node {node} is active but {pw_file} is missing: "
                                     f"run `lobbygate provision node add {node} --rotate`")
            lines.append(broker_hash(node, pw_file.read_text().strip()))
        write_file(self.broker_dir / "passwd", "\n".join(lines) + "\n", mode=SECRET_MODE,
                   owner=self.broker_owner)
        acl = render_acl(record.id, console_user=CONSOLE_USER)
        acl += "# provisioned nodes: " + (", ".join(record.active_nodes) or "none") + "\n"
        write_file(self.broker_dir / "acl", acl, mode=SECRET_MODE, owner=self.broker_owner)
        write_file(self.console_dir / "ca.crt", self.ca_cert.read_bytes(), owner=self.console_owner)
        write_file(self.console_dir / "nodes.toml", self.render_console_nodes(record),
                   owner=self.console_owner)

    def render_console_nodes(self, record: SiteRecord) -> str:
        """The console's ``[mqtt]`` and ``[nodes.<id>]`` sections for this site."""
        data: dict[str, Any] = {
            "mqtt": {"host": "localhost", "port": record.tls_port, "username": CONSOLE_USER,
                     "password_file": str(self.console_password_file.resolve()), "tls": True,
                     "ca_file": str((self.console_dir / "ca.crt").resolve())},
            "nodes": {n: {"command_key_file": str(self.command_key_file(n).resolve())}
                      for n in record.active_nodes},
        }
        return dumps(data, header=f"lobbygate console settings for site {record.id}, rewritten by "
                                  "`lobbygate provision` on every node change;\n"
                                  "console.toml includes it (include = [\"nodes.toml\"]).")

    def _write_bundle(self, record: SiteRecord, node: NodeRecord, *, password: str,
                      command_key: str) -> Path:
        hw_file = self.node_hardware_file(node.id)
        hardware = NC.load_hardware(hw_file) if hw_file.exists() else None
        conf = NC.render_node_config(site=record.id, node=node.id, host=node.host,
                                     port=record.tls_port, hardware=hardware)
        header = (f"lobbygate node {node.id} of site {record.id}, written by `lobbygate provision`.\n"
                  f"Install: sudo firmware/install-node.sh --bundle {node.id}.tar.gz")
        files = {
            NC.CONFIG_FILE: BundleFile.public(dumps(conf, header=header)),
            NC.PASSWORD_FILE: BundleFile.secret(password + "\n"),
            NC.COMMAND_KEY_FILE: BundleFile.secret(command_key + "\n"),
            NC.CA_FILE: BundleFile.public(self.ca_cert.read_bytes()),
            NC.SIGNING_PUBLIC_KEY_FILE: BundleFile.public(self.signing_public_key.read_bytes()),
            NC.UNIT_FILE: BundleFile.public((_UNITS / NC.UNIT_FILE).read_bytes()),
        }
        return write_bundle(self.bundle_dir(node.id), files)

    # -- reading credentials (tests, the console installer) ----------------------------------
    def node_password(self, node: str) -> str:
        try:
            return self.node_password_file(node).read_text().strip()
        except FileNotFoundError as exc:
            raise ProvisionError(f"node {node} has no broker password (revoked or unknown)") from exc

    def console_password(self) -> str:
        return self.console_password_file.read_text().strip()


def _default_hosts() -> list[str]:
    name = socket.gethostname().split(".")[0] or "lobbygate-hub"
    return [f"{name}.local", name]

